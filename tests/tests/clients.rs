//! The real openstacksdk against nova-rs over TCP, with the shipped
//! `api-paste.ini` and the README's `clouds.yaml`: what a user's script
//! sees of version discovery and microversion negotiation, of a server's
//! life through the cloud layer (`create_server`, `wait_for_server`,
//! `delete_server`) and the proxy layer, and of a listing of 120 servers
//! paged 50 at a time. One server serves every step.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use nova_tests::clients::{self, Clients};
use nova_tests::{status_and_json, TestServer, CIRROS};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn openstacksdk_discovers_negotiates_builds_waits_deletes_and_pages() {
    let Some(venv) = clients::venv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_config(&clients::quick_cloud_config(dir.path())).await;
    let (status, document) =
        status_and_json(server.client.get(server.url("/v2.1")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{document}");
    let newest = document["version"]["version"].as_str().unwrap().to_owned();
    // keystoneauth reads every version document without a token, as
    // Nova and Glance serve them.
    let (status, versions) = status_and_json(
        server
            .client
            .get(server.url("/image"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 300, "GET /image without a token: {versions}");
    let endpoint = format!("http://{}/v2.1", server.addr());
    let sdk = Clients::new(venv, server.addr());
    let seen = tokio::task::spawn_blocking(move || {
        // Discovery first, while the store holds the seed's three alone.
        let discovery = sdk.python_json("tests/clients/discovery.py", &[]);
        let compute = sdk.python_json("tests/clients/compute.py", &[]);
        (discovery, compute)
    })
    .await;
    let (discovery, compute) = match seen {
        Ok(seen) => seen,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };
    the_sdk_reads_the_newest_microversion_and_negotiates_it(&discovery, &endpoint, &newest);
    a_version_above_the_newest_is_refused(&compute, &newest);
    the_cloud_layer_builds_finds_waits_for_and_deletes_a_server(&compute);
    the_proxy_layer_reboots_and_stops_and_waits(&compute);
    a_hundred_and_twenty_servers_come_back_once_each_fifty_at_a_time(&compute, &endpoint);
    server.stop().await;
}

/// `"2.100"` as the SDK's `(2, 100)`.
fn as_pair(version: &str) -> Value {
    let (major, minor) = version.split_once('.').unwrap();
    json!([major.parse::<u64>().unwrap(), minor.parse::<u64>().unwrap()])
}

fn the_sdk_reads_the_newest_microversion_and_negotiates_it(
    seen: &Value,
    endpoint: &str,
    newest: &str,
) {
    assert_eq!(seen["api_version"], json!([2, 1]), "{seen}");
    assert_eq!(seen["min_microversion"], json!([2, 1]));
    assert_eq!(seen["max_microversion"], as_pair(newest));
    assert_eq!(seen["url"], format!("{endpoint}/"));
    for asked in ["2.1", "2.5"] {
        let served = &seen[format!("get {asked}")];
        assert_eq!(served["status"], 200, "{seen}");
        assert_eq!(served["sent"], format!("compute {asked}"));
        assert_eq!(served["echoed"], format!("compute {asked}"));
        let names: Vec<&str> = served["body"]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["inst-0", "inst-1", "inst-2"], "{seen}");
    }
}

fn a_version_above_the_newest_is_refused(seen: &Value, newest: &str) {
    let refused = &seen["above newest"];
    let (major, minor) = newest.split_once('.').unwrap();
    let above = format!("{major}.{}", minor.parse::<u64>().unwrap() + 1);
    assert_eq!(refused["asked"], above.as_str());
    assert_eq!(refused["status"], 406, "{refused}");
    assert_eq!(
        refused["body"]["computeFault"]["message"],
        format!(
            "Version {above} is not supported by the API. Minimum is 2.1 and maximum is {newest}."
        )
    );
}

fn the_cloud_layer_builds_finds_waits_for_and_deletes_a_server(seen: &Value) {
    let created = &seen["create_server"];
    assert_eq!(created["name"], "sdk-one", "{created}");
    assert_eq!(created["status"], "ACTIVE", "{created}");
    assert_eq!(created["flavor"], "m1.tiny", "{created}");
    assert_eq!(created["image"], CIRROS, "{created}");
    // No network named: the SDK asks for `auto`, which is `private`.
    let private = created["addresses"]["private"].as_array().unwrap();
    assert_eq!(private.len(), 1, "{created}");
    assert_eq!(private[0]["version"], 4);
    assert_eq!(private[0]["OS-EXT-IPS:type"], "fixed");
    assert!(private[0]["addr"].as_str().unwrap().starts_with("10.0."));
    // BUILD at the first poll, ACTIVE at the second, 5 seconds later.
    let took = seen["create_server seconds"].as_f64().unwrap();
    assert!(took < 30.0, "create_server took {took} s");

    let listed: Vec<&Value> = seen["list_servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "sdk-one")
        .collect();
    assert_eq!(listed, [created], "{seen}");
    assert_eq!(seen["list_servers"].as_array().unwrap().len(), 4);
    assert_eq!(&seen["get_server by name"], created);
    assert_eq!(&seen["get_server by id"], created);
    assert_eq!(&seen["wait_for_server"], created);

    assert_eq!(seen["delete_server"], true);
    assert_eq!(seen["get_server after delete"], Value::Null);
    assert_eq!(seen["delete_server again"], false);
}

fn the_proxy_layer_reboots_and_stops_and_waits(seen: &Value) {
    let reboot = &seen["reboot"];
    assert_eq!(reboot["then"], "ACTIVE", "{reboot}");
    // A reboot takes 0.2 s in the test's cloud.
    if reboot["seconds after"].as_f64().unwrap() < 0.2 {
        assert_eq!(reboot["right after"], "REBOOT", "{reboot}");
    }
    assert_eq!(seen["stop"], json!({"status": "SHUTOFF", "power_state": 4}));
}

fn a_hundred_and_twenty_servers_come_back_once_each_fifty_at_a_time(seen: &Value, endpoint: &str) {
    let paged = &seen["paged"];
    let servers = paged["servers"].as_array().unwrap();
    let names: Vec<&str> = servers
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let pages: Vec<&Value> = servers
        .iter()
        .filter(|s| s["name"].as_str().unwrap().starts_with("page-"))
        .collect();
    // Nova names the servers of one request NAME-1 to NAME-N.
    let page_names: BTreeSet<String> = pages
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = (1..=120).map(|i| format!("page-{i}")).collect();
    assert_eq!(page_names, expected, "{names:?}");
    assert_eq!(pages.len(), 120, "a server listed twice: {names:?}");
    assert_eq!(
        servers.len(),
        123,
        "the seed's three and the 120: {names:?}"
    );
    let ids: BTreeSet<&str> = servers.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 123, "an id listed twice");
    assert!(ids.contains(paged["first id"].as_str().unwrap()));
    // One request made them: one reservation, launch indexes 0 to 119.
    let reservations: BTreeSet<&str> = pages
        .iter()
        .map(|s| s["reservation_id"].as_str().unwrap())
        .collect();
    assert_eq!(reservations.len(), 1, "{reservations:?}");
    let indexes: BTreeSet<u64> = pages
        .iter()
        .map(|s| s["launch_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..120).collect());

    // 50, 50, 23: each full page links to the next, after its last
    // server; the last page links nowhere. (The SDK then asks once more
    // after the last server, as it does whenever a limit was given, and
    // gets an empty page.)
    let requests = paged["requests"].as_array().unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| r["ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 50, 23, 0], "{requests:?}");
    assert_eq!(
        requests[0]["url"],
        format!("{endpoint}/servers/detail?limit=50")
    );
    for (page, next) in requests.iter().zip(&requests[1..]) {
        assert_eq!(page["status"], 200, "{page}");
        let ids = page["ids"].as_array().unwrap();
        if ids.len() < 50 {
            assert_eq!(page["links"], Value::Null, "{page}");
            continue;
        }
        let last = ids.last().unwrap().as_str().unwrap();
        assert_eq!(
            page["links"],
            json!([{
                "rel": "next",
                "href": format!("{endpoint}/servers/detail?limit=50&marker={last}"),
            }]),
            "{page}"
        );
        // The SDK followed the link.
        assert_eq!(
            next["url"],
            format!("{endpoint}/servers/detail?limit=50&marker={last}"),
            "{next}"
        );
    }
}
