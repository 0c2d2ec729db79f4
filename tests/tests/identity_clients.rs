//! The real clients (python-openstackclient and openstacksdk, pinned) with
//! password authentication against the identity service of the shipped
//! `api-paste.ini`, as devstack's users demo, alt_demo and admin, each
//! with an openrc of their own: tokens and the service catalog, a server
//! that only its own project sees, admin's view of every project, and the
//! refusals a user meets (another project's server, Nova's policy, a wrong
//! password, a revoked token). One server serves the whole scenario.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nova_tests::clients::{self, Clients, PASSWORD};
use nova_tests::{status_and_json, TestServer};
use serde_json::{json, Value};
use tokio::runtime::Handle;

/// What `openstack token issue` told demo.
#[derive(Debug)]
struct Token {
    id: String,
    project_id: String,
    user_id: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn users_authenticate_with_passwords_and_see_only_their_projects_servers() {
    let Some(venv) = clients::venv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_config(&clients::quick_cloud_config(dir.path())).await;
    let addr = server.addr();
    // devstack's users, each in the project of the same name.
    let openrc =
        |user: &str, password: &str| Clients::openrc(venv.clone(), addr, user, user, password);
    let demo = openrc("demo", PASSWORD);
    let alt_demo = openrc("alt_demo", PASSWORD);
    let admin = openrc("admin", PASSWORD);
    let wrong_password = openrc("demo", "not-the-password");
    let http = server.client.clone();
    let runtime = Handle::current();
    let scenario = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let token = a_token_and_the_catalog_are_keystones(&demo, &admin, addr);
        let id = demo_builds_lists_and_shows_a_server(&demo, &token);
        alt_demo_neither_lists_nor_shows_demos_server(&alt_demo, &id);
        only_admin_lists_every_projects_servers(&admin, &demo, &id, &token);
        a_wrong_password_is_refused(&wrong_password);
        a_revoked_token_is_refused(&demo, &token, &runtime, &http, addr, &id);
        the_sdk_with_a_password_sees_its_own_projects_servers(&demo, &alt_demo, &id, &token);
        demo_keeps_key_pairs_tags_zones_and_a_quota(&demo, &alt_demo, &admin);
        demo_deletes_the_server(&demo, &id);
        started.elapsed()
    })
    .await;
    match scenario {
        Ok(took) => assert!(took < Duration::from_secs(300), "took {took:?}"),
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
    server.stop().await;
}

/// `token issue` and `catalog list` as demo, `project list` as admin;
/// returns demo's token.
fn a_token_and_the_catalog_are_keystones(
    demo: &Clients,
    admin: &Clients,
    addr: SocketAddr,
) -> Token {
    let issued = demo.openstack_json(&["token", "issue", "-f", "json"]);
    let fields: BTreeSet<&str> = issued
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["expires", "id", "project_id", "user_id"]),
        "{issued}"
    );
    // Keystone's ISO 8601 in UTC, `2026-12-02T14:01:10+0000`; the SDK
    // below checks how far ahead it is.
    let expires = issued["expires"].as_str().unwrap();
    assert_eq!(expires.len(), 24, "{issued}");
    assert_eq!(&expires[10..11], "T", "{issued}");
    assert!(expires.ends_with("+0000"), "{issued}");
    let token = Token {
        id: issued["id"].as_str().unwrap().to_owned(),
        project_id: issued["project_id"].as_str().unwrap().to_owned(),
        user_id: issued["user_id"].as_str().unwrap().to_owned(),
    };
    // A Fernet token: its version byte, 0x80, base64url-encoded.
    assert!(token.id.starts_with("gAAAAA"), "{issued}");
    assert_ne!(token.project_id, token.user_id, "{issued}");

    let catalog = demo.openstack_json(&["catalog", "list", "-f", "json"]);
    let mut endpoints = Vec::new();
    for service in catalog.as_array().unwrap() {
        for endpoint in service["Endpoints"].as_array().unwrap() {
            endpoints.push(json!([
                service["Name"],
                service["Type"],
                endpoint["interface"],
                endpoint["region"],
                endpoint["url"],
            ]));
        }
    }
    let mut expected = Vec::new();
    for (name, kind, path) in [
        ("nova", "compute", "/v2.1"),
        ("keystone", "identity", "/identity"),
        ("glance", "image", "/image"),
    ] {
        for interface in ["public", "internal", "admin"] {
            let url = format!("http://{addr}{path}");
            expected.push(json!([name, kind, interface, "RegionOne", url]));
        }
    }
    assert_eq!(endpoints, expected, "{catalog}");

    let projects = admin.openstack_json(&["project", "list", "-f", "json"]);
    let projects: Vec<(&str, &str)> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["Name"].as_str().unwrap(), p["ID"].as_str().unwrap()))
        .collect();
    let names: BTreeSet<&str> = projects.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, BTreeSet::from(["admin", "alt_demo", "demo"]));
    assert!(
        projects.contains(&("demo", token.project_id.as_str())),
        "demo's token is scoped to {}: {projects:?}",
        token.project_id
    );
    token
}

/// `server create --wait`, `server list` and `server show` as demo;
/// returns the server's id.
fn demo_builds_lists_and_shows_a_server(demo: &Clients, token: &Token) -> String {
    let created = demo.openstack_json(&[
        "server",
        "create",
        "--flavor",
        "m1.tiny",
        "--image",
        "cirros",
        "--no-network",
        "--wait",
        "-f",
        "json",
        "demo-1",
    ]);
    assert_eq!(created["name"], "demo-1", "{created}");
    assert_eq!(created["status"], "ACTIVE", "{created}");
    assert_eq!(
        created["project_id"],
        token.project_id.as_str(),
        "{created}"
    );
    assert_eq!(created["user_id"], token.user_id.as_str(), "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // demo's project holds this server alone: the seed's are another
    // project's.
    let listed = demo.openstack_json(&["server", "list", "-f", "json"]);
    assert_eq!(
        server_names_and_ids(&listed),
        [("demo-1".to_owned(), id.clone())],
        "{listed}"
    );
    assert_eq!(listed[0]["Status"], "ACTIVE", "{listed}");

    let shown = demo.openstack_json(&["server", "show", "demo-1", "-f", "json"]);
    assert_eq!(shown["id"], id.as_str(), "{shown}");
    assert_eq!(shown["status"], "ACTIVE", "{shown}");
    assert_eq!(shown["project_id"], token.project_id.as_str(), "{shown}");
    id
}

fn alt_demo_neither_lists_nor_shows_demos_server(alt_demo: &Clients, id: &str) {
    let listed = alt_demo.openstack_json(&["server", "list", "-f", "json"]);
    assert_eq!(listed, json!([]), "alt_demo's project has no servers");
    // Nova answers 404 for another project's server, and OSC (looking it
    // up by id, then by name) says it found none.
    let error = alt_demo.openstack_fails(&["server", "show", id]);
    assert!(
        error.contains(&format!("No Server found for {id}")),
        "{error}"
    );
}

fn only_admin_lists_every_projects_servers(
    admin: &Clients,
    demo: &Clients,
    id: &str,
    token: &Token,
) {
    // Without --all-projects admin sees its own project's, as in Nova.
    let own = admin.openstack_json(&["server", "list", "-f", "json"]);
    assert_eq!(own, json!([]), "admin's project has no servers");

    let every = admin.openstack_json(&[
        "server",
        "list",
        "--all-projects",
        "-c",
        "ID",
        "-c",
        "Name",
        "-c",
        "Project ID",
        "-f",
        "json",
    ]);
    let every = every.as_array().unwrap();
    let names: Vec<&str> = every.iter().map(|s| s["Name"].as_str().unwrap()).collect();
    // Newest first.
    assert_eq!(names, ["demo-1", "inst-2", "inst-1", "inst-0"], "{every:?}");
    assert_eq!(every[0]["ID"], id, "{every:?}");
    assert_eq!(every[0]["Project ID"], token.project_id.as_str());
    for seed in &every[1..] {
        assert_ne!(seed["Project ID"], token.project_id.as_str(), "{seed}");
        assert_eq!(seed["Project ID"], every[1]["Project ID"], "{seed}");
    }

    let error = demo.openstack_fails(&["server", "list", "--all-projects"]);
    assert!(error.contains("403"), "{error}");
    assert!(
        error.contains(
            "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed."
        ),
        "{error}"
    );
}

fn a_wrong_password_is_refused(wrong_password: &Clients) {
    let error = wrong_password.openstack_fails(&["server", "list"]);
    assert!(
        error.contains("The request you have made requires authentication. (HTTP 401)"),
        "{error}"
    );
}

/// demo revokes the token of `token issue`: the compute API and the image
/// service refuse it after, as keystonemiddleware does; a second
/// revocation finds no token.
fn a_revoked_token_is_refused(
    demo: &Clients,
    token: &Token,
    runtime: &Handle,
    http: &reqwest::Client,
    addr: SocketAddr,
    id: &str,
) {
    let servers = format!("http://{addr}/v2.1/servers");
    let images = format!("http://{addr}/image/v2/images");
    let (status, _, before) = get(runtime, http, &servers, &token.id);
    assert_eq!(status, 200, "before revocation: {before}");
    assert_eq!(before["servers"][0]["id"], id, "{before}");

    assert_eq!(demo.openstack(&["token", "revoke", &token.id]), "");
    for url in [&servers, &images] {
        let (status, challenge, body) = get(runtime, http, url, &token.id);
        assert_eq!(status, 401, "GET {url}: {body}");
        assert_eq!(
            body,
            json!({"error": {
                "code": 401,
                "title": "Unauthorized",
                "message": "The request you have made requires authentication.",
            }}),
            "GET {url}"
        );
        assert_eq!(
            challenge.as_deref(),
            Some(format!("Keystone uri=\"http://{addr}/identity\"").as_str()),
            "GET {url}"
        );
    }

    let error = demo.openstack_fails(&["token", "revoke", &token.id]);
    assert!(
        error.contains(&format!("Could not find token: {}. (HTTP 404)", token.id)),
        "{error}"
    );
}

/// `GET url` with `token`: the status, `WWW-Authenticate` and the body.
fn get(
    runtime: &Handle,
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> (u16, Option<String>, Value) {
    runtime.block_on(async {
        let response = http
            .get(url)
            .header("X-Auth-Token", token)
            .send()
            .await
            .unwrap();
        let challenge = response
            .headers()
            .get("WWW-Authenticate")
            .map(|value| value.to_str().unwrap().to_owned());
        let (status, body) = status_and_json(response).await;
        (status, challenge, body)
    })
}

/// tests/clients/identity.py as demo and as alt_demo, each creating and
/// deleting a server of their own.
fn the_sdk_with_a_password_sees_its_own_projects_servers(
    demo: &Clients,
    alt_demo: &Clients,
    id: &str,
    token: &Token,
) {
    let seen = demo.python_json("tests/clients/identity.py", &[id]);
    assert_eq!(seen["project_id"], token.project_id.as_str(), "{seen}");
    assert_eq!(seen["user_id"], token.user_id.as_str(), "{seen}");
    assert_eq!(seen["roles"], json!(["member", "reader"]), "{seen}");
    // token_expiration = 3600 in the shipped file.
    let expires_in = seen["expires in"].as_f64().unwrap();
    assert!((3500.0..=3600.0).contains(&expires_in), "{seen}");
    assert_eq!(seen["found"], json!({ id: true }), "{seen}");
    let own = json!({"id": id, "name": "demo-1", "project_id": token.project_id});
    assert_eq!(seen["listed"], json!([own]), "{seen}");
    let created = &seen["created"];
    assert_eq!(created["name"], "sdk-demo", "{seen}");
    assert_eq!(created["status"], "ACTIVE", "{seen}");
    assert_eq!(created["project_id"], token.project_id.as_str(), "{seen}");
    assert_eq!(created["user_id"], token.user_id.as_str(), "{seen}");
    let new = json!({"id": created["id"], "name": "sdk-demo", "project_id": token.project_id});
    assert_eq!(seen["listed with it"], json!([new, own]), "{seen}");
    assert_eq!(seen["listed after delete"], json!([own]), "{seen}");

    let seen = alt_demo.python_json("tests/clients/identity.py", &[id]);
    let project = seen["project_id"].as_str().unwrap();
    assert_ne!(project, token.project_id, "{seen}");
    assert_ne!(seen["user_id"], token.user_id.as_str(), "{seen}");
    assert_eq!(seen["roles"], json!(["member", "reader"]), "{seen}");
    assert_eq!(seen["found"], json!({ id: false }), "{seen}");
    assert_eq!(seen["listed"], json!([]), "{seen}");
    let created = &seen["created"];
    assert_eq!(created["name"], "sdk-alt_demo", "{seen}");
    assert_eq!(created["status"], "ACTIVE", "{seen}");
    assert_eq!(created["project_id"], project, "{seen}");
    let new = json!({"id": created["id"], "name": "sdk-alt_demo", "project_id": project});
    assert_eq!(seen["listed with it"], json!([new]), "{seen}");
    assert_eq!(seen["listed after delete"], json!([]), "{seen}");
}

/// Nova's key pair sample (`doc/api_samples/os-keypairs`), whose
/// fingerprint Nova gives as [`SAMPLE_FINGERPRINT`].
const SAMPLE_PUBLIC_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttDCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova";
const SAMPLE_FINGERPRINT: &str = "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c";

/// demo's key pairs (one generated, one imported), a server built with
/// one and tagged, the zones, and demo's quota as admin sets it; each as
/// the `openstack` CLI shows it.
fn demo_keeps_key_pairs_tags_zones_and_a_quota(
    demo: &Clients,
    alt_demo: &Clients,
    admin: &Clients,
) {
    let private = demo.openstack(&["keypair", "create", "generated"]);
    assert!(private.contains("PRIVATE KEY-----"), "{private}");
    let key_file = demo.dir().join("sample.pub");
    std::fs::write(&key_file, format!("{SAMPLE_PUBLIC_KEY}\n")).unwrap();
    let imported = demo.openstack_json(&[
        "keypair",
        "create",
        "--public-key",
        key_file.to_str().unwrap(),
        "imported",
        "-f",
        "json",
    ]);
    assert_eq!(imported["fingerprint"], SAMPLE_FINGERPRINT, "{imported}");
    let listed = demo.openstack_json(&["keypair", "list", "-f", "json"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["generated", "imported"], "{listed}");
    // Key pairs are each user's own.
    let theirs = alt_demo.openstack_json(&["keypair", "list", "-f", "json"]);
    assert_eq!(theirs, json!([]), "alt_demo's key pairs");

    let created = demo.openstack_json(&[
        "server",
        "create",
        "--flavor",
        "m1.tiny",
        "--image",
        "cirros",
        "--no-network",
        "--key-name",
        "imported",
        "--wait",
        "keyed",
        "-f",
        "json",
    ]);
    assert_eq!(created["key_name"], "imported", "{created}");
    assert_eq!(created["status"], "ACTIVE", "{created}");
    let refused = demo.openstack_fails(&[
        "server",
        "create",
        "--flavor",
        "m1.tiny",
        "--image",
        "cirros",
        "--no-network",
        "--key-name",
        "missing",
        "unkeyed",
    ]);
    assert!(refused.contains("Invalid key_name provided."), "{refused}");

    demo.openstack(&["server", "set", "--tag", "web", "keyed"]);
    let tagged = demo.openstack(&[
        "server", "list", "--tags", "web", "-f", "value", "-c", "Name",
    ]);
    assert_eq!(tagged, "keyed\n");
    demo.openstack(&["server", "unset", "--tag", "web", "keyed"]);
    let tagged = demo.openstack(&[
        "server", "list", "--tags", "web", "-f", "value", "-c", "Name",
    ]);
    assert_eq!(tagged, "");

    // A member sees the zone servers go to; an admin also sees Nova's
    // `internal` zone of its services.
    let zones = demo.openstack_json(&["availability", "zone", "list", "-f", "json"]);
    assert_eq!(
        zones,
        json!([{"Zone Name": "nova", "Zone Status": "available"}]),
        "{zones}"
    );
    let zones = admin.openstack_json(&["availability", "zone", "list", "-f", "json"]);
    let names: Vec<&Value> = zones
        .as_array()
        .unwrap()
        .iter()
        .map(|z| &z["Zone Name"])
        .collect();
    assert_eq!(names, [&json!("internal"), &json!("nova")], "{zones}");

    // The quick cloud has no instance quota; admin gives demo one.
    let limit = |quota: &Value, resource: &str| {
        quota
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["Resource"] == resource)
            .map(|row| row["Limit"].clone())
    };
    let quota = demo.openstack_json(&["quota", "show", "-f", "json"]);
    assert_eq!(limit(&quota, "instances"), Some(json!(-1)), "{quota}");
    assert_eq!(limit(&quota, "key-pairs"), Some(json!(100)), "{quota}");
    admin.openstack(&["quota", "set", "--instances", "5", "--cores", "8", "demo"]);
    let quota = demo.openstack_json(&["quota", "show", "-f", "json"]);
    assert_eq!(limit(&quota, "instances"), Some(json!(5)), "{quota}");
    assert_eq!(limit(&quota, "cores"), Some(json!(8)), "{quota}");

    demo.openstack(&["server", "delete", "--wait", "keyed"]);
    demo.openstack(&["keypair", "delete", "generated", "imported"]);
    let listed = demo.openstack_json(&["keypair", "list", "-f", "json"]);
    assert_eq!(listed, json!([]), "demo's key pairs are deleted");
}

fn demo_deletes_the_server(demo: &Clients, id: &str) {
    assert_eq!(demo.openstack(&["server", "delete", "--wait", id]), "");
    let listed = demo.openstack_json(&["server", "list", "-f", "json"]);
    assert_eq!(listed, json!([]), "demo's server is gone");
}

/// The (Name, ID) pairs of a `server list -f json`.
fn server_names_and_ids(listed: &Value) -> Vec<(String, String)> {
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Name"].as_str().unwrap().to_owned(),
                s["ID"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
