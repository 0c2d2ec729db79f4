//! The real `openstack` CLI (python-openstackclient, pinned) against the
//! live nova-server with the shipped `api-paste.ini` and the README's
//! `clouds.yaml`: a user's day with servers, flavors, images and limits,
//! every command exiting 0 and printing what the user expects. One server
//! serves the whole scenario.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use nova_tests::clients::{self, Clients};
use nova_tests::TestServer;
use serde_json::{json, Value};

/// The seed's three instances, servers like any other.
const SEEDS: [&str; 3] = ["inst-0", "inst-1", "inst-2"];

#[tokio::test(flavor = "multi_thread")]
async fn the_openstack_cli_manages_servers_flavors_images_and_limits() {
    let Some(venv) = clients::venv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_config(&clients::quick_cloud_config(dir.path())).await;
    let cli = Clients::new(venv, server.addr());
    let scenario = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        flavors_and_images_are_devstacks(&cli);
        let (a, b) = two_servers_are_built_and_listed(&cli);
        a_server_is_renamed_and_its_properties_set_and_unset(&cli, &a);
        a_server_reboots_stops_starts_pauses_and_unpauses(&cli, &a);
        a_server_is_resized_and_the_resize_confirmed(&cli, &a);
        the_absolute_limits_count_what_the_servers_use(&cli);
        the_actions_are_recorded_as_server_events(&cli, &a);
        servers_are_deleted_and_gone(&cli, &a, &b);
        started.elapsed()
    })
    .await;
    match scenario {
        Ok(took) => assert!(took < Duration::from_secs(600), "took {took:?}"),
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
    server.stop().await;
}

fn flavors_and_images_are_devstacks(cli: &Clients) {
    let flavors = cli.openstack_json(&["flavor", "list", "-f", "json"]);
    let seen: Vec<Value> = flavors
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            json!([
                f["ID"],
                f["Name"],
                f["VCPUs"],
                f["RAM"],
                f["Disk"],
                f["Is Public"]
            ])
        })
        .collect();
    assert_eq!(
        seen,
        [
            json!(["1", "m1.tiny", 1, 512, 1, true]),
            json!(["2", "m1.small", 1, 2048, 20, true]),
            json!(["3", "m1.medium", 2, 4096, 40, true]),
            json!(["4", "m1.large", 4, 8192, 80, true]),
            json!(["5", "m1.xlarge", 8, 16384, 160, true]),
        ],
        "{flavors}"
    );
    let tiny = cli.openstack_json(&["flavor", "show", "m1.tiny", "-f", "json"]);
    for (field, value) in [
        ("id", json!("1")),
        ("name", json!("m1.tiny")),
        ("vcpus", json!(1)),
        ("ram", json!(512)),
        ("disk", json!(1)),
        ("swap", json!(0)),
        ("OS-FLV-EXT-DATA:ephemeral", json!(0)),
        ("OS-FLV-DISABLED:disabled", json!(false)),
        ("os-flavor-access:is_public", json!(true)),
        ("properties", json!({})),
    ] {
        assert_eq!(tiny[field], value, "{field}: {tiny}");
    }
    let images = cli.openstack_json(&["image", "list", "-f", "json"]);
    let images = images.as_array().unwrap();
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0]["Name"], "cirros");
    assert_eq!(images[0]["Status"], "active");
}

/// `server create --wait` for a server without a network and one on the
/// network `auto` picks; returns their ids.
fn two_servers_are_built_and_listed(cli: &Clients) -> (String, String) {
    let image_id = cli.openstack(&["image", "show", "cirros", "-f", "value", "-c", "id"]);
    let image_id = image_id.trim();
    let mut ids = Vec::new();
    // `--network none` would look for a Neutron network named `none`:
    // `--no-network` and `--nic auto` are what ask Nova for none and auto.
    for (name, network) in [("vm-a", "--no-network"), ("vm-b", "--auto-network")] {
        let created = cli.openstack_json(&[
            "server", "create", "--flavor", "m1.tiny", "--image", "cirros", network, "--wait",
            "-f", "json", name,
        ]);
        assert_eq!(created["name"], name, "{created}");
        assert_eq!(created["status"], "ACTIVE", "{created}");
        assert_eq!(created["OS-EXT-STS:vm_state"], "active", "{created}");
        assert_eq!(created["OS-EXT-STS:power_state"], 1, "{created}");
        assert_eq!(created["flavor"]["original_name"], "m1.tiny", "{created}");
        assert_eq!(
            created["image"],
            format!("cirros ({image_id})"),
            "{created}"
        );
        assert!(created["adminPass"].as_str().is_some_and(|p| !p.is_empty()));
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let (a, b) = (ids[0].clone(), ids[1].clone());

    let listed = cli.openstack_json(&["server", "list", "-f", "json"]);
    let listed = listed.as_array().unwrap();
    // Newest first, as Nova lists them.
    let names: Vec<&str> = listed.iter().map(|s| s["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["vm-b", "vm-a", "inst-2", "inst-1", "inst-0"]);
    for server in listed {
        assert_eq!(server["Status"], "ACTIVE", "{server}");
        assert_eq!(server["Image"], "cirros", "{server}");
        assert_eq!(server["Flavor"], "m1.tiny", "{server}");
    }
    assert_eq!(listed[0]["ID"], b.as_str());
    assert_eq!(listed[1]["ID"], a.as_str());
    assert_eq!(
        listed[1]["Networks"],
        json!({}),
        "no network: {}",
        listed[1]
    );
    let addresses = listed[0]["Networks"]["private"].as_array().unwrap();
    assert_eq!(addresses.len(), 1, "{}", listed[0]);
    assert!(addresses[0].as_str().unwrap().starts_with("10.0."));

    let long = cli.openstack_json(&["server", "list", "--long", "-f", "json"]);
    let long = long.as_array().unwrap();
    assert_eq!(long.len(), 5, "{long:?}");
    for server in long {
        assert_eq!(server["Status"], "ACTIVE", "{server}");
        assert_eq!(server["Task State"], Value::Null, "{server}");
        assert_eq!(server["Power State"], 1, "{server}");
        assert_eq!(server["Image Name"], "cirros", "{server}");
        assert_eq!(server["Image ID"], image_id, "{server}");
        assert_eq!(server["Flavor"], "m1.tiny", "{server}");
        assert_eq!(server["Availability Zone"], "nova", "{server}");
        assert_eq!(server["Properties"], json!({}), "{server}");
    }

    let shown = cli.openstack_json(&["server", "show", "vm-a", "-f", "json"]);
    assert_eq!(shown["id"], a.as_str(), "{shown}");
    assert_eq!(shown["status"], "ACTIVE", "{shown}");
    assert_eq!(shown["addresses"], json!({}), "{shown}");
    assert_eq!(shown["OS-EXT-AZ:availability_zone"], "nova", "{shown}");
    assert_eq!(shown["flavor"]["ram"], 512, "{shown}");
    assert_eq!(shown["properties"], json!({}), "{shown}");
    (a, b)
}

fn a_server_is_renamed_and_its_properties_set_and_unset(cli: &Clients, id: &str) {
    assert_eq!(
        cli.openstack(&["server", "set", "--name", "vm-a2", "vm-a"]),
        ""
    );
    let name = cli.openstack(&["server", "show", id, "-f", "value", "-c", "name"]);
    assert_eq!(name.trim(), "vm-a2");
    cli.openstack(&[
        "server",
        "set",
        "--property",
        "color=blue",
        "--property",
        "size=big",
        "vm-a2",
    ]);
    let shown = cli.openstack_json(&["server", "show", "vm-a2", "-f", "json"]);
    assert_eq!(shown["id"], id);
    assert_eq!(
        shown["properties"],
        json!({"color": "blue", "size": "big"}),
        "{shown}"
    );
    cli.openstack(&["server", "unset", "--property", "size", "vm-a2"]);
    let shown = cli.openstack_json(&["server", "show", "vm-a2", "-f", "json", "-c", "properties"]);
    assert_eq!(shown["properties"], json!({"color": "blue"}), "{shown}");
}

fn a_server_reboots_stops_starts_pauses_and_unpauses(cli: &Clients, id: &str) {
    cli.openstack(&["server", "reboot", "--wait", id]);
    assert_eq!(status(cli, id), "ACTIVE");
    for (action, reached, power_state) in [
        ("stop", "SHUTOFF", 4),
        ("start", "ACTIVE", 1),
        ("pause", "PAUSED", 3),
        ("unpause", "ACTIVE", 1),
    ] {
        assert_eq!(cli.openstack(&["server", action, id]), "", "{action}");
        wait_for_status(cli, id, reached);
        let shown = cli.openstack_json(&["server", "show", id, "-f", "json"]);
        assert_eq!(
            shown["OS-EXT-STS:power_state"], power_state,
            "{action}: {shown}"
        );
        assert_eq!(
            shown["OS-EXT-STS:task_state"],
            Value::Null,
            "{action}: {shown}"
        );
    }
}

fn a_server_is_resized_and_the_resize_confirmed(cli: &Clients, id: &str) {
    cli.openstack(&["server", "resize", "--flavor", "m1.small", "--wait", id]);
    let shown = cli.openstack_json(&["server", "show", id, "-f", "json"]);
    assert_eq!(shown["status"], "VERIFY_RESIZE", "{shown}");
    assert_eq!(shown["flavor"]["original_name"], "m1.small", "{shown}");
    assert_eq!(shown["flavor"]["ram"], 2048, "{shown}");
    cli.openstack(&["server", "resize", "confirm", id]);
    wait_for_status(cli, id, "ACTIVE");
    let listed = cli.openstack_json(&["server", "list", "--name", "^vm-a2$", "-f", "json"]);
    assert_eq!(listed[0]["Flavor"], "m1.small", "{listed}");
}

/// The seed's three servers and `vm-b` are `m1.tiny` (1 VCPU, 512 MiB),
/// `vm-a2` now `m1.small` (1 VCPU, 2048 MiB); the test's cloud sets no
/// quota.
fn the_absolute_limits_count_what_the_servers_use(cli: &Clients) {
    let limits = cli.openstack_json(&["limits", "show", "--absolute", "-f", "json"]);
    let value = |name: &str| {
        limits
            .as_array()
            .unwrap()
            .iter()
            .find(|limit| limit["Name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {limits}"))["Value"]
            .clone()
    };
    assert_eq!(value("total_instances_used"), 5);
    assert_eq!(value("total_cores_used"), 5);
    assert_eq!(value("total_ram_used"), 4 * 512 + 2048);
    assert_eq!(value("max_total_instances"), -1);
    assert_eq!(value("max_total_cores"), -1);
    assert_eq!(value("max_total_ram_size"), -1);
    assert_eq!(value("max_server_meta"), 128);
    assert_eq!(value("max_total_keypairs"), 100);
}

fn the_actions_are_recorded_as_server_events(cli: &Clients, id: &str) {
    let events = cli.openstack_json(&["server", "event", "list", id, "-f", "json"]);
    let mut actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            assert_eq!(event["Server ID"], id, "{event}");
            event["Action"].as_str().unwrap()
        })
        .collect();
    actions.sort_unstable();
    let mut expected = [
        "create",
        "reboot",
        "stop",
        "start",
        "pause",
        "unpause",
        "resize",
        "confirmResize",
    ];
    expected.sort_unstable();
    assert_eq!(actions, expected, "{events}");
}

fn servers_are_deleted_and_gone(cli: &Clients, a: &str, b: &str) {
    assert_eq!(cli.openstack(&["server", "delete", "--wait", a, b]), "");
    let names = cli.openstack(&["server", "list", "-f", "value", "-c", "Name"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort_unstable();
    assert_eq!(names, SEEDS);
}

fn status(cli: &Clients, id: &str) -> String {
    cli.openstack(&["server", "show", id, "-f", "value", "-c", "status"])
        .trim()
        .to_owned()
}

/// Polls `server show` until the server is `wanted`, at most 20 times.
fn wait_for_status(cli: &Clients, id: &str, wanted: &str) {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let now = status(cli, id);
        if now == wanted {
            return;
        }
        seen.push(now);
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{id} never became {wanted}: {seen:?}");
}
