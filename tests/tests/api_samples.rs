//! Nova's API samples against nova-rs, as a table: for every response
//! sample in `tests/api_samples/` (Nova's `doc/api_samples/`, copied; see
//! its README), the same request is sent at the microversion of the
//! sample's directory (`vX.Y/`, else 2.1) to the shipped
//! `api-paste.ini` over TCP, and the keys of the answer are compared with
//! the sample's, recursively; values are not compared.
//!
//! Every sample file is either requested ([`request_for`]) or skipped
//! with a reason; a new file with neither fails the test. Keys that are
//! data rather than shape (network names under `addresses`, metadata
//! keys, host names) are not compared ([`DATA_KEYED`]). Known differences
//! are listed in [`KNOWN`], each with why; any other difference fails the
//! test, listing them all.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nova_tests::{api_paste_with, repo_file, status_and_json, TestServer, CIRROS, INSTANT_CLOUD};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Nova's own sample public key (`keypairs-import-post-req.json`).
const PUBLIC_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttDCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova";

/// Objects whose keys are data (names the user or the cloud chose), not
/// shape: their keys are not compared, their values' shapes are (each
/// value against the sample's first).
const DATA_KEYED: &[&str] = &[
    "addresses",
    "metadata",
    "meta",
    "extra_specs",
    "hosts",
    "hosts.*",
    "properties",
    "scheduler_hints",
];

/// Fields only an admin sees (the `os-extended-server-attributes` and
/// `host_status` rules). Nova generated some samples as a project member
/// (every `servers/v2.90`+ one, the tags ones): where a sample has none of
/// them, nova-rs's answer to the shared token, an admin, may have them.
const ADMIN_ONLY: &[&str] = &[
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:instance_name",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:hostname",
    "OS-EXT-SRV-ATTR:kernel_id",
    "OS-EXT-SRV-ATTR:launch_index",
    "OS-EXT-SRV-ATTR:ramdisk_id",
    "OS-EXT-SRV-ATTR:reservation_id",
    "OS-EXT-SRV-ATTR:root_device_name",
    "OS-EXT-SRV-ATTR:user_data",
    "host_status",
];

/// Known differences between a sample's keys and nova-rs's answer, each
/// `(sample, difference, why)`; a difference reads `+path` (only nova-rs
/// has it) or `-path` (only the sample has it).
const KNOWN: &[(&str, &str, &str)] = &[(
    "images/image-get-resp.json",
    "-image.OS-DCF:diskConfig",
    "Nova shows it only for an image with the `auto_disk_config` property, which the sample's has and cirros has not",
)];

/// How a sample is requested: method, path (with `{server}`, `{base}`,
/// `{request_id}`, `{project}` filled in), body.
struct Ask {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn get(path: &str) -> Ask {
    Ask {
        method: Method::GET,
        path: path.to_owned(),
        body: None,
    }
}

fn with(method: Method, path: &str, body: Value) -> Ask {
    Ask {
        method,
        path: path.to_owned(),
        body: Some(body),
    }
}

/// `(major, minor)` of a `vX.Y` directory name.
fn version_of(dir: &str) -> Option<(u16, u16)> {
    let (major, minor) = dir.strip_prefix('v')?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The request that answers `file` of `resource` at `version`, or why the
/// sample is skipped.
fn request_for(resource: &str, file: &str, version: (u16, u16)) -> Result<Ask, &'static str> {
    let at_least = |minor: u16| version >= (2, minor);
    let create = || {
        let mut server = json!({"name": "sampled", "imageRef": CIRROS, "flavorRef": "1"});
        if at_least(37) {
            server["networks"] = json!("auto");
        }
        with(Method::POST, "{base}/servers", json!({ "server": server }))
    };
    let keypair_name = || format!("kp-{}", Uuid::new_v4().simple());
    Ok(match (resource, file) {
        ("servers", _) if version == (2, 69) => {
            return Err("2.69's samples show servers in a cell that is down: nova-rs has one cell, never down")
        }
        ("servers", "server-get-resp.json") => get("{base}/servers/{server}"),
        ("servers", "servers-details-resp.json") => get("{base}/servers/detail"),
        ("servers", "servers-list-resp.json") => get("{base}/servers"),
        ("servers", "servers-list-status-resp.json") => get("{base}/servers?status=active"),
        ("servers", "servers-details-with-changes-before.json") => {
            get("{base}/servers/detail?changes-before=2100-01-01T00:00:00Z")
        }
        ("servers", "servers-list-with-changes-before.json") => {
            get("{base}/servers?changes-before=2100-01-01T00:00:00Z")
        }
        ("servers", "server-create-resp.json") => create(),
        ("servers", "server-update-resp.json" | "server-put-resp.json") => with(
            Method::PUT,
            "{base}/servers/{server}",
            json!({"server": {"name": "renamed"}}),
        ),
        ("servers", "server-action-rebuild-resp.json") => with(
            Method::POST,
            "{base}/servers/{server}/action",
            json!({"rebuild": {"imageRef": CIRROS}}),
        ),
        ("servers", "server-action-create-image-resp.json") => with(
            Method::POST,
            "{base}/servers/{server}/action",
            json!({"createImage": {"name": "snap"}}),
        ),
        ("servers", "server-get-down-cell-resp.json") => {
            return Err("a server in a cell that is down: nova-rs has one cell, never down")
        }
        ("servers", "server-groups-post-resp.json") => {
            return Err("server groups are not served")
        }
        ("flavors", "flavor-get-resp.json") => get("{base}/flavors/1"),
        ("flavors", "flavors-detail-resp.json") => get("{base}/flavors/detail"),
        ("flavors", "flavors-list-resp.json") => get("{base}/flavors"),
        ("images", "image-get-resp.json") => get(&format!("{{base}}/images/{CIRROS}")),
        ("images", "images-details-get-resp.json") => get("{base}/images/detail"),
        ("images", "images-list-get-resp.json") => get("{base}/images"),
        ("images", _) => return Err("image metadata (`/images/{id}/metadata`) is not served"),
        ("limits", "limit-get-resp.json") => get("{base}/limits"),
        ("server-ips", "server-ips-resp.json") => get("{base}/servers/{server}/ips"),
        ("server-ips", "server-ips-network-resp.json") => {
            get("{base}/servers/{server}/ips/private")
        }
        ("server-metadata", "server-metadata-all-resp.json") => {
            get("{base}/servers/{server}/metadata")
        }
        ("server-metadata", "server-metadata-resp.json") => {
            get("{base}/servers/{server}/metadata/foo")
        }
        ("os-instance-actions", "instance-actions-list-resp.json") => {
            get("{base}/servers/{server}/os-instance-actions")
        }
        ("os-instance-actions", "instance-actions-list-with-limit-resp.json") => {
            get("{base}/servers/{server}/os-instance-actions?limit=1")
        }
        ("os-instance-actions", "instance-actions-list-with-marker-resp.json") => {
            get("{base}/servers/{server}/os-instance-actions?marker={request_id}")
        }
        ("os-instance-actions", "instance-actions-list-with-changes-before.json") => {
            get("{base}/servers/{server}/os-instance-actions?changes-before=2100-01-01T00:00:00Z")
        }
        ("os-instance-actions", "instance-action-get-resp.json") => {
            get("{base}/servers/{server}/os-instance-actions/{request_id}")
        }
        ("os-instance-actions", "instance-action-get-non-admin-resp.json") => {
            return Err("a non-admin caller's view: the shared token is an admin (the unit tests cover what a non-admin sees)")
        }
        ("versions", "versions-get-resp.json") => get("/"),
        ("versions", "v2-version-get-resp.json") => get("/v2"),
        ("versions", "v21-version-get-resp.json") => get("/v2.1"),
        ("os-server-tags", "server-tags-index-resp.json") => get("{base}/servers/{server}/tags"),
        ("os-server-tags", "server-tags-put-all-resp.json") => with(
            Method::PUT,
            "{base}/servers/{server}/tags",
            json!({"tags": ["tag1", "tag2"]}),
        ),
        ("os-server-tags", "server-tags-show-details-resp.json") => {
            get("{base}/servers/{server}")
        }
        ("os-server-tags", "servers-tags-details-resp.json") => get("{base}/servers/detail"),
        ("os-availability-zone", "availability-zone-list-resp.json") => {
            get("{base}/os-availability-zone")
        }
        ("os-availability-zone", "availability-zone-detail-resp.json") => {
            get("{base}/os-availability-zone/detail")
        }
        ("os-server-password", "get-password-resp.json") => {
            get("{base}/servers/{server}/os-server-password")
        }
        ("os-keypairs", "keypairs-get-resp.json") => get("{base}/os-keypairs/{keypair}"),
        ("os-keypairs", "keypairs-list-resp.json") => get("{base}/os-keypairs"),
        ("os-keypairs", "keypairs-post-resp.json") => with(
            Method::POST,
            "{base}/os-keypairs",
            json!({"keypair": {"name": keypair_name()}}),
        ),
        ("os-keypairs", "keypairs-import-post-resp.json") => with(
            Method::POST,
            "{base}/os-keypairs",
            json!({"keypair": {"name": keypair_name(), "public_key": PUBLIC_KEY}}),
        ),
        ("os-keypairs", "keypairs-list-user1-resp.json" | "keypairs-list-user2-resp.json") => {
            return Err("another user's key pairs: the shared token acts as one user")
        }
        ("os-quota-sets", "quotas-show-get-resp.json") => get("{base}/os-quota-sets/{project}"),
        ("os-quota-sets", "quotas-show-detail-get-resp.json") => {
            get("{base}/os-quota-sets/{project}/detail")
        }
        ("os-quota-sets", "quotas-show-defaults-get-resp.json") => {
            get("{base}/os-quota-sets/{project}/defaults")
        }
        ("os-quota-sets", "quotas-update-post-resp.json") => with(
            Method::PUT,
            "{base}/os-quota-sets/{project}",
            json!({"quota_set": {"instances": 45}}),
        ),
        ("os-quota-sets", "quotas-update-force-post-resp.json") => with(
            Method::PUT,
            "{base}/os-quota-sets/{project}",
            json!({"quota_set": {"instances": 45, "force": true}}),
        ),
        ("os-quota-sets", "user-quotas-show-get-resp.json" | "user-quotas-update-post-resp.json") => {
            return Err("per-user quotas are not served")
        }
        _ => return Err(""),
    })
}

/// Every sample file under `dir`: (resource, version, file name, path).
fn samples(dir: &Path) -> Vec<(String, (u16, u16), String, PathBuf)> {
    let mut found = Vec::new();
    for resource in std::fs::read_dir(dir).unwrap() {
        let resource = resource.unwrap().path();
        if !resource.is_dir() {
            continue;
        }
        let name = resource.file_name().unwrap().to_str().unwrap().to_owned();
        let mut stack = vec![(resource, (2, 1))];
        while let Some((at, version)) = stack.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                let file = path.file_name().unwrap().to_str().unwrap().to_owned();
                if path.is_dir() {
                    stack.push((path, version_of(&file).unwrap()));
                } else if file.ends_with(".json") {
                    found.push((name.clone(), version, file, path));
                }
            }
        }
    }
    found.sort();
    found
}

/// The differences of `got`'s keys from `want`'s under `path`: `+p` for a
/// key only nova-rs answers, `-p` for one only the sample has.
fn differences(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (want, got) {
        (Value::Object(want), Value::Object(got)) => {
            let data = DATA_KEYED
                .iter()
                .any(|k| path == *k || path.ends_with(&format!(".{k}")));
            if data {
                if let (Some(w), Some(g)) = (want.values().next(), got.values().next()) {
                    differences(&join("*"), w, g, out);
                }
                return;
            }
            for (key, value) in want {
                match got.get(key) {
                    Some(other) => differences(&join(key), value, other, out),
                    None => out.push(format!("-{}", join(key))),
                }
            }
            for key in got.keys().filter(|key| !want.contains_key(*key)) {
                out.push(format!("+{}", join(key)));
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if let (Some(w), Some(g)) = (want.first(), got.first()) {
                differences(&format!("{path}[]"), w, g, out);
            }
        }
        _ => {}
    }
}

/// Creates a server under `base` with metadata `foo`, a tag and two
/// recorded actions, active; its id and the request id of its creation.
async fn prepared_server(server: &TestServer, base: &str) -> (String, String) {
    let body = json!({"server": {"name": "sampled", "imageRef": CIRROS, "flavorRef": "1",
        "metadata": {"foo": "bar"}}});
    let response = server
        .request(Method::POST, &format!("{base}/servers"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-compute-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, created) = status_and_json(response).await;
    assert_eq!(status, 202, "{created}");
    let id = created["server"]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, shown) = status_and_json(
            server
                .request(Method::GET, &format!("{base}/servers/{id}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        if shown["server"]["status"] == "ACTIVE" {
            break;
        }
        assert!(Instant::now() < deadline, "never active: {shown}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (method, path) in [
        (Method::PUT, format!("{base}/servers/{id}/tags/tag1")),
        (Method::POST, format!("{base}/servers/{id}/action")),
    ] {
        let mut request = server.request_at(method.clone(), &path, "2.26");
        if method == Method::POST {
            request = request.json(&json!({"reboot": {"type": "SOFT"}}));
        }
        let status = request.send().await.unwrap().status();
        assert!(status.is_success(), "{path}: {status}");
    }
    (id, request_id)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_served_sample_has_the_keys_nova_answers_with() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), INSTANT_CLOUD);
    let server = TestServer::start_config(&config).await;
    let project = Uuid::new_v4().simple().to_string();
    let base = format!("/v2.1/{project}");
    let (server_id, request_id) = prepared_server(&server, &base).await;
    let keypair = format!("kp-{}", Uuid::new_v4().simple());
    let made = server
        .request(Method::POST, &format!("{base}/os-keypairs"))
        .json(&json!({"keypair": {"name": keypair}}))
        .send()
        .await
        .unwrap()
        .status();
    assert!(made.is_success(), "key pair: {made}");

    // Samples of microversions past the advertised maximum are skipped.
    let (_, versions) =
        status_and_json(server.client.get(server.url("/")).send().await.unwrap()).await;
    let maximum = versions["versions"][1]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let maximum = version_of(&format!("v{maximum}")).unwrap();
    let mut unexpected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unmapped = Vec::new();
    let mut compared = 0;
    let mut used_known = BTreeSet::new();
    for (resource, version, file, path) in samples(&repo_file("tests/api_samples")) {
        let sample = format!(
            "{resource}/{}{file}",
            if version == (2, 1) {
                String::new()
            } else {
                format!("v{}.{}/", version.0, version.1)
            }
        );
        if version > maximum {
            continue;
        }
        let ask = match request_for(&resource, &file, version) {
            Ok(ask) => ask,
            Err("") => {
                unmapped.push(sample);
                continue;
            }
            Err(_skipped) => continue,
        };
        let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // A sample of a listing's first page has its `next` link.
        let paged = want
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k.ends_with("_links")));
        let path_and_query = match (paged, ask.path.contains('?')) {
            (true, false) => format!("{}?limit=1", ask.path),
            (true, true) => format!("{}&limit=1", ask.path),
            (false, _) => ask.path.clone(),
        };
        let url = path_and_query
            .replace("{base}", &base)
            .replace("{server}", &server_id)
            .replace("{request_id}", &request_id)
            .replace("{project}", &project)
            .replace("{keypair}", &keypair);
        let mut request = server.request_at(
            ask.method.clone(),
            &url,
            &format!("{}.{}", version.0, version.1),
        );
        if let Some(body) = &ask.body {
            request = request.json(body);
        }
        let (status, got) = status_and_json(request.send().await.unwrap()).await;
        if !(200..300).contains(&status) {
            let refused = format!("{} {url} answered {status}: {got}", ask.method);
            unexpected.insert(sample, vec![refused]);
            continue;
        }
        let mut found = Vec::new();
        differences("", &want, &got, &mut found);
        let members = !ADMIN_ONLY
            .iter()
            .filter(|key| **key != "OS-EXT-SRV-ATTR:hostname")
            .any(|key| want.to_string().contains(&format!("\"{key}\"")));
        if members {
            found.retain(|difference| {
                !(difference.starts_with('+')
                    && ADMIN_ONLY
                        .iter()
                        .any(|key| difference.ends_with(&format!(".{key}"))))
            });
        }
        found.retain(|difference| {
            let known = KNOWN.iter().position(|(pattern, known, _)| {
                (*pattern == "*" || *pattern == sample) && known == difference
            });
            if let Some(index) = known {
                used_known.insert(index);
            }
            known.is_none()
        });
        if !found.is_empty() {
            unexpected.insert(sample, found);
        }
        compared += 1;
    }
    server.stop().await;
    assert!(
        unmapped.is_empty(),
        "samples with no request and no skip reason: {unmapped:#?}"
    );
    assert!(compared > 100, "only {compared} samples compared");
    assert!(
        unexpected.is_empty(),
        "keys that differ from Nova's samples: {unexpected:#?}"
    );
    let stale: Vec<&str> = (0..KNOWN.len())
        .filter(|index| !used_known.contains(index))
        .map(|index| KNOWN[index].1)
        .collect();
    assert!(
        stale.is_empty(),
        "known differences no longer seen: {stale:?}"
    );
}
