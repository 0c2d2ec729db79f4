//! The compute API v2.1 over real TCP, against the shipped
//! `etc/nova-rs/api-paste.ini` (a copy with quick builds and actions, its
//! store in memory): for each endpoint, what a client sees when it works
//! and when it does not, in Nova's statuses, fault kinds and words.
//!
//! One server, where every operation ends at once, serves every step of
//! the main test; each step works in a project of its own
//! (`/v2.1/{project_id}/…`, which the shared token acts for), so no step
//! sees another's servers. Three more tests start their own server: one
//! where builds, reboots, resizes and rebuilds take half a second, to see
//! them under way; one with a quota of two instances; and one checking
//! corner cases where Nova's answer is easy to get wrong, each check
//! naming the Nova code it follows; should one differ, its message lists
//! every difference.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use nova_tests::{api_paste_with, assert_fault, send, status_and_json, Answer, TestServer, CIRROS};
use reqwest::header::{ETAG, IF_MATCH, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// The project the shared token acts for without a project in the URL.
const DEFAULT_PROJECT: &str = "6e6f76612d72732d64656661756c7400";

/// In the transitions test, builds, reboots, resizes and rebuilds take
/// this long: long enough to be seen under way on a loaded machine, short
/// enough to wait for.
const TRANSITION: Duration = Duration::from_millis(500);

/// The compute app's keys making builds, reboots, resizes and rebuilds
/// take `seconds`, and everything else happen at once.
fn durations(seconds: &'static str) -> [(&'static str, &'static str); 6] {
    [
        ("build_seconds", seconds),
        ("reboot_seconds", seconds),
        ("resize_seconds", seconds),
        ("rebuild_seconds", seconds),
        ("delete_seconds", "0"),
        ("action_seconds", "0"),
    ]
}

/// Every endpoint, on a server where every operation ends at once.
#[tokio::test(flavor = "multi_thread")]
async fn the_compute_api_answers_every_endpoint_as_nova_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), &durations("0"));
    let server = TestServer::start_config(&config).await;
    create_answers_202_with_a_location_and_a_password(&server).await;
    create_refuses_bad_requests_in_novas_words(&server).await;
    listings_page_with_limit_marker_and_next_links(&server).await;
    listings_filter_by_name_status_and_changes_since(&server).await;
    show_gives_each_microversion_its_shape(&server).await;
    update_renames_and_refuses_unknown_fields(&server).await;
    if_match_on_update_refuses_a_stale_etag(&server).await;
    delete_answers_204_then_the_server_is_not_found(&server).await;
    actions_change_state_and_refuse_the_wrong_state_with_409(&server).await;
    resize_rebuild_image_and_password_actions_are_accepted(&server).await;
    instance_actions_list_what_was_done_by_request_id(&server).await;
    metadata_is_read_merged_replaced_and_deleted(&server).await;
    ips_list_the_addresses_by_network(&server).await;
    flavors_are_listed_shown_and_their_extra_specs_read(&server).await;
    the_images_proxy_answers_until_2_36(&server).await;
    the_image_service_lists_and_shows_images(&server).await;
    a_snapshot_is_an_image_to_build_from_until_it_is_deleted(&server).await;
    limits_show_the_quota_and_what_the_project_uses(&server).await;
    an_unserved_microversion_is_406(&server).await;
    projects_in_the_url_see_only_their_own_servers(&server).await;
    instances_and_servers_are_the_same_records(&server).await;
    server.stop().await;
}

/// What a client sees while a build, a reboot, a resize and a rebuild are
/// under way, and once each has ended at its stored instant.
#[tokio::test(flavor = "multi_thread")]
async fn servers_show_each_operation_under_way_until_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), &durations("0.5"));
    let server = TestServer::start_config(&config).await;
    a_building_server_refuses_all_but_delete_until_it_is_active(&server).await;
    reboots_resizes_and_rebuilds_take_their_time(&server).await;
    server.stop().await;
}

/// With `quota_instances = 2`, a project's third server is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_over_the_instance_quota_is_403_and_a_delete_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), &[("quota_instances", "2")]);
    let server = TestServer::start_config(&config).await;
    let base = project_base();
    let first = create_id(&server, &base, "q-1").await;
    create_id(&server, &base, "q-2").await;
    let answer = send(
        &server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(create_body("q-3")),
    )
    .await;
    assert_eq!(
        answer.fault("forbidden", 403),
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    );
    // Three at once where two fit: refused, naming the count asked for.
    let other = project_base();
    let mut body = create_body("many");
    body["server"]["min_count"] = json!(3);
    let answer = send(
        &server,
        Method::POST,
        &format!("{other}/servers"),
        None,
        Some(body),
    )
    .await;
    assert_eq!(
        answer.fault("forbidden", 403),
        "Quota exceeded for instances: Requested 3, but already used 0 of 2 instances"
    );
    assert_eq!(
        names(&server, &other, "servers").await,
        Vec::<String>::new()
    );
    let limits = get(&server, &format!("{base}/limits")).await;
    assert_eq!(limits.body["limits"]["absolute"]["totalInstancesUsed"], 2);
    assert_eq!(limits.body["limits"]["absolute"]["maxTotalInstances"], 2);
    // A deleted server no longer counts.
    let deleted = send(
        &server,
        Method::DELETE,
        &format!("{base}/servers/{first}"),
        None,
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    create_id(&server, &base, "q-3").await;
    server.stop().await;
}

/// Corner cases where Nova's answer is easy to get wrong: each check
/// names the Nova code it follows and returns what this server answered
/// if it differs, and the test lists every difference it finds.
#[tokio::test(flavor = "multi_thread")]
async fn corner_cases_are_answered_as_nova_answers_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(
        dir.path(),
        &[("quota_instances", "2"), ("build_seconds", "0")],
    );
    let server = TestServer::start_config(&config).await;
    let mut wrong = Vec::new();
    for (what, outcome) in [
        (
            "unknown flavorRef",
            unknown_flavor_is_flavor_not_found(&server).await,
        ),
        (
            "no imageRef",
            no_image_ref_is_missing_image_ref(&server).await,
        ),
        (
            "no server key",
            no_server_key_is_a_required_property(&server).await,
        ),
        (
            "schema error value",
            schema_errors_show_the_body_in_its_order(&server).await,
        ),
        (
            "max_count over quota",
            max_count_over_quota_creates_what_fits(&server).await,
        ),
        (
            "createImage's image",
            a_snapshot_can_be_shown(&server).await,
        ),
        (
            "description before 2.19",
            description_before_2_19_is_the_name(&server).await,
        ),
        ("next link query", next_links_sort_the_query(&server).await),
    ] {
        if let Err(message) = outcome {
            wrong.push(format!("{what}: {message}"));
        }
    }
    server.stop().await;
    assert!(wrong.is_empty(), "differs from Nova:\n{}", wrong.join("\n"));
}

// ---- the client -------------------------------------------------------------

async fn get(server: &TestServer, path: &str) -> Answer {
    send(server, Method::GET, path, None, None).await
}

async fn get_at(server: &TestServer, path: &str, version: &str) -> Answer {
    send(server, Method::GET, path, Some(version), None).await
}

/// `/v2.1/{a fresh project id}`: Keystone's ids are 32 hex digits.
fn project_base() -> String {
    format!("/v2.1/{}", Uuid::new_v4().simple())
}

fn create_body(name: &str) -> Value {
    json!({"server": {"name": name, "imageRef": CIRROS, "flavorRef": "1"}})
}

/// Creates a server under `base`; its 202 answer.
async fn create(server: &TestServer, base: &str, name: &str) -> Answer {
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(create_body(name)),
    )
    .await;
    assert_eq!(answer.status, 202, "create {name}: {}", answer.body);
    answer
}

async fn create_id(server: &TestServer, base: &str, name: &str) -> String {
    id_of(&create(server, base, name).await)
}

fn id_of(answer: &Answer) -> String {
    answer.body["server"]["id"].as_str().unwrap().to_owned()
}

/// Creates a server and waits until it is `ACTIVE`.
async fn active_server(server: &TestServer, base: &str, name: &str) -> String {
    let id = create_id(server, base, name).await;
    wait_for_status(server, base, &id, "ACTIVE").await;
    id
}

async fn show(server: &TestServer, base: &str, id: &str) -> Value {
    let answer = get(server, &format!("{base}/servers/{id}")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["server"].clone()
}

async fn status_of(server: &TestServer, base: &str, id: &str) -> String {
    show(server, base, id).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls the server until its status is `status` (transitions here take a
/// fraction of a second); the server's view then.
async fn wait_for_status(server: &TestServer, base: &str, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = show(server, base, id).await;
        if shown["status"] == status {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "{id} is still {} after 10 s, not {status}",
            shown["status"]
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// `POST …/servers/{id}/action` with `body`.
async fn action(server: &TestServer, base: &str, id: &str, body: Value) -> Answer {
    send(
        server,
        Method::POST,
        &format!("{base}/servers/{id}/action"),
        None,
        Some(body),
    )
    .await
}

/// Sends the action `body` and asserts it is accepted: answered `expected`
/// (202, or 204 for `confirmResize`).
async fn accepted(server: &TestServer, base: &str, id: &str, body: Value, expected: u16) -> Answer {
    let answer = action(server, base, id, body.clone()).await;
    assert_eq!(answer.status, expected, "{body}: {}", answer.body);
    answer
}

/// The names of a listing (`servers`, `servers/detail?…`), in order.
async fn names(server: &TestServer, base: &str, listing: &str) -> Vec<String> {
    let answer = get(server, &format!("{base}/{listing}")).await;
    assert_eq!(answer.status, 200, "{listing}: {}", answer.body);
    answer.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// Nova's 409 for an action in the wrong state.
fn invalid_state(action: &str, id: &str, attr: &str, state: &str) -> String {
    format!("Cannot '{action}' instance {id} while it is in {attr} {state}")
}

// ---- servers ------------------------------------------------------------------

async fn create_answers_202_with_a_location_and_a_password(server: &TestServer) {
    let base = project_base();
    let answer = create(server, &base, "web-1").await;
    let id = id_of(&answer);
    assert!(Uuid::try_parse(&id).is_ok(), "{id}");
    let self_link = format!("http://{}{base}/servers/{id}", server.addr());
    assert_eq!(answer.header("location"), self_link);
    answer.request_id();
    let created = &answer.body["server"];
    assert_eq!(
        keys(created),
        [
            "OS-DCF:diskConfig",
            "adminPass",
            "id",
            "links",
            "security_groups"
        ]
    );
    let password = created["adminPass"].as_str().unwrap();
    assert_eq!(password.chars().count(), 12, "{password}");
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    let project = base.trim_start_matches("/v2.1/");
    assert_eq!(
        created["links"],
        json!([
            {"rel": "self", "href": self_link},
            {"rel": "bookmark", "href": format!("http://{}/{project}/servers/{id}", server.addr())},
        ])
    );
    assert_eq!(created["security_groups"], json!([{"name": "default"}]));
    assert_eq!(created["OS-DCF:diskConfig"], "MANUAL");

    // Built at once here: active, running, with an address.
    let active = show(server, &base, &id).await;
    assert_eq!(active["status"], "ACTIVE");
    assert_eq!(active["OS-EXT-STS:vm_state"], "active");
    assert_eq!(active["OS-EXT-STS:task_state"], Value::Null);
    assert_eq!(active["OS-EXT-STS:power_state"], 1);
    assert_eq!(active["tenant_id"], project);
    assert_eq!(active["name"], "web-1");
    assert!(active["OS-SRV-USG:launched_at"].is_string());
    assert_eq!(active["addresses"]["private"][0]["version"], 4);

    // Two at once: `NAME-1`, `NAME-2`, and only the first is answered.
    let mut body = create_body("pair");
    body["server"]["min_count"] = json!(2);
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(body),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let mut listed = names(server, &base, "servers").await;
    listed.sort();
    assert_eq!(listed, ["pair-1", "pair-2", "web-1"]);
    // A reservation id instead of the server, when asked for.
    let mut body = create_body("reserved");
    body["server"]["return_reservation_id"] = json!(true);
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(body),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(keys(&answer.body), ["reservation_id"]);
    assert!(answer.body["reservation_id"]
        .as_str()
        .unwrap()
        .starts_with("r-"));
}

async fn create_refuses_bad_requests_in_novas_words(server: &TestServer) {
    let base = project_base();
    let path = format!("{base}/servers");
    let post = |body: Value, version: Option<&'static str>| {
        let path = path.clone();
        async move { send(server, Method::POST, &path, version, Some(body)).await }
    };
    let mut body = create_body("x");
    body["server"]["imageRef"] = json!("00000000-0000-4000-8000-000000000000");
    assert_eq!(
        post(body, None).await.fault("badRequest", 400),
        "Can not find requested image"
    );
    assert_eq!(
        post(json!({"server": {"flavorRef": "1"}}), None)
            .await
            .fault("badRequest", 400),
        "Invalid input for field/attribute server. Value: {'flavorRef': '1'}. 'name' is a required property"
    );
    assert_eq!(
        post(json!({"server": {"name": " padded ", "flavorRef": "1"}}), None)
            .await
            .fault("badRequest", 400),
        "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."
    );
    let mut body = create_body("x");
    body["server"]["min_count"] = json!(3);
    body["server"]["max_count"] = json!(2);
    assert_eq!(
        post(body, None).await.fault("badRequest", 400),
        "min_count must be <= max_count"
    );
    // From 2.37 a create must say which networks; the value Nova repeats
    // is checked in `corner_cases_are_answered_as_nova_answers_them`.
    let message = post(create_body("x"), Some("2.37"))
        .await
        .fault("badRequest", 400);
    assert!(
        message.starts_with("Invalid input for field/attribute server. Value: {")
            && message.ends_with("}. 'networks' is a required property"),
        "{message}"
    );
    let mut body = create_body("x");
    body["server"]["networks"] = json!("auto");
    assert_eq!(post(body, Some("2.37")).await.status, 202);
    let answer = server
        .request(Method::POST, &path)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(answer).await;
    assert_eq!(status, 400);
    assert_eq!(
        assert_fault(&body, "badRequest", 400),
        "Malformed request body"
    );
    let answer = server
        .request(Method::POST, &path)
        .header("Content-Type", "text/xml")
        .body("<server/>")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(answer).await;
    assert_eq!(status, 415);
    assert_eq!(
        assert_fault(&body, "badMediaType", 415),
        "Unsupported Content-Type"
    );
    // Only the one 2.37 create above was stored.
    assert_eq!(names(server, &base, "servers").await, ["x"]);
}

async fn listings_page_with_limit_marker_and_next_links(server: &TestServer) {
    let base = project_base();
    let mut ids = Vec::new();
    for name in ["page-a", "page-b", "page-c"] {
        ids.push(create_id(server, &base, name).await);
    }
    // Newest first.
    assert_eq!(
        names(server, &base, "servers").await,
        ["page-c", "page-b", "page-a"]
    );
    let project_url = format!("http://{}{base}", server.addr());
    for collection in ["servers", "servers/detail"] {
        let first = get(server, &format!("{base}/{collection}?limit=2")).await;
        assert_eq!(first.status, 200);
        let page: Vec<&str> = first.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(page, [ids[2].as_str(), ids[1].as_str()], "{collection}");
        let next = format!("{project_url}/{collection}?limit=2&marker={}", ids[1]);
        assert_eq!(
            first.body["servers_links"],
            json!([{"rel": "next", "href": next}]),
            "{collection}"
        );
        let second = server
            .client
            .get(&next)
            .header("X-Auth-Token", nova_tests::TOKEN)
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(second).await;
        assert_eq!(status, 200);
        assert_eq!(body["servers"].as_array().unwrap().len(), 1);
        assert_eq!(body["servers"][0]["id"], ids[0].as_str());
        assert_eq!(body.get("servers_links"), None, "the last page has no next");
    }
    // A page of exactly what is left still links on; the page after is
    // empty and does not.
    let answer = get(server, &format!("{base}/servers?limit=1&marker={}", ids[1])).await;
    assert_eq!(answer.body["servers"][0]["name"], "page-a");
    assert!(answer.body["servers_links"].is_array());
    let answer = get(server, &format!("{base}/servers?marker={}", ids[0])).await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"servers": []}))
    );

    for (query, message) in [
        (
            "marker=00000000-0000-4000-8000-000000000000".to_owned(),
            "marker [00000000-0000-4000-8000-000000000000] not found".to_owned(),
        ),
        (
            "limit=ten".to_owned(),
            "Invalid input for query parameters limit. Value: ten. 'ten' does not match '^[0-9]*$'"
                .to_owned(),
        ),
        (
            "limit=-1".to_owned(),
            "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"
                .to_owned(),
        ),
    ] {
        for collection in ["servers", "servers/detail"] {
            let answer = get(server, &format!("{base}/{collection}?{query}")).await;
            assert_eq!(
                answer.fault("badRequest", 400),
                message,
                "{collection}?{query}"
            );
        }
    }
}

async fn listings_filter_by_name_status_and_changes_since(server: &TestServer) {
    let base = project_base();
    // The project is new: whatever changed since long ago is its own.
    let since = "2000-01-01T00:00:00Z";
    let web_a = active_server(server, &base, "web-a").await;
    active_server(server, &base, "web-b").await;
    let db = active_server(server, &base, "db-1").await;

    // `name` is a regular expression, searched for anywhere in the name.
    assert_eq!(
        names(server, &base, "servers?name=%5Eweb-%5Bab%5D%24").await,
        ["web-b", "web-a"]
    );
    assert_eq!(names(server, &base, "servers?name=b-b").await, ["web-b"]);
    assert_eq!(
        names(server, &base, "servers/detail?name=1").await,
        ["db-1"]
    );
    assert_eq!(
        names(server, &base, "servers?name=nothing").await,
        Vec::<String>::new()
    );

    accepted(server, &base, &web_a, json!({"os-stop": null}), 202).await;
    assert_eq!(
        names(server, &base, "servers?status=SHUTOFF").await,
        ["web-a"]
    );
    assert_eq!(
        names(server, &base, "servers/detail?status=ACTIVE").await,
        ["db-1", "web-b"]
    );
    assert_eq!(
        names(server, &base, "servers?status=ACTIVE&status=SHUTOFF").await,
        ["db-1", "web-b", "web-a"]
    );
    // An unknown status lists nothing until 2.38, and is refused from it.
    assert_eq!(
        names(server, &base, "servers?status=bogus").await,
        Vec::<String>::new()
    );
    let answer = get_at(server, &format!("{base}/servers?status=bogus"), "2.38").await;
    assert_eq!(answer.fault("badRequest", 400), "Invalid status value");
    let answer = get_at(
        server,
        &format!("{base}/servers/detail?status=bogus"),
        "2.38",
    )
    .await;
    assert_eq!(answer.fault("badRequest", 400), "Invalid status value");

    // A deleted server is gone from listings, but changes-since shows it,
    // DELETED, with the others changed since.
    let deleted = send(
        server,
        Method::DELETE,
        &format!("{base}/servers/{db}"),
        None,
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(names(server, &base, "servers").await, ["web-b", "web-a"]);
    let answer = get(
        server,
        &format!("{base}/servers/detail?changes-since={since}"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let statuses: Vec<(String, String)> = answer.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("db-1".to_owned(), "DELETED".to_owned())),
        "{statuses:?}"
    );
    assert!(statuses.contains(&("web-a".to_owned(), "SHUTOFF".to_owned())));
    assert!(statuses.contains(&("web-b".to_owned(), "ACTIVE".to_owned())));
    assert_eq!(statuses.len(), 3);
    let mut listed = names(server, &base, &format!("servers?changes-since={since}")).await;
    listed.sort();
    assert_eq!(listed, ["db-1", "web-a", "web-b"]);
    // Nothing changed after now.
    let later = "2999-01-01T00:00:00Z";
    assert_eq!(
        names(server, &base, &format!("servers?changes-since={later}")).await,
        Vec::<String>::new()
    );
    let answer = get(server, &format!("{base}/servers?changes-since=yesterday")).await;
    assert_eq!(
        answer.fault("badRequest", 400),
        "Invalid input for query parameters changes-since. Value: yesterday. 'yesterday' is not a 'date-time'"
    );
}

async fn show_gives_each_microversion_its_shape(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "shape").await;
    let path = format!("{base}/servers/{id}");
    let v21 = get(server, &path).await;
    assert_eq!(v21.status, 200);
    assert_eq!(v21.header("openstack-api-version"), "compute 2.1");
    let shown = &v21.body["server"];
    // Nova's 2.1 view of an active server, as an admin sees it (the shared
    // token has every right).
    assert_eq!(
        keys(shown),
        [
            "OS-DCF:diskConfig",
            "OS-EXT-AZ:availability_zone",
            "OS-EXT-SRV-ATTR:host",
            "OS-EXT-SRV-ATTR:hypervisor_hostname",
            "OS-EXT-SRV-ATTR:instance_name",
            "OS-EXT-STS:power_state",
            "OS-EXT-STS:task_state",
            "OS-EXT-STS:vm_state",
            "OS-SRV-USG:launched_at",
            "OS-SRV-USG:terminated_at",
            "accessIPv4",
            "accessIPv6",
            "addresses",
            "config_drive",
            "created",
            "flavor",
            "hostId",
            "id",
            "image",
            "key_name",
            "links",
            "metadata",
            "name",
            "os-extended-volumes:volumes_attached",
            "progress",
            "security_groups",
            "status",
            "tenant_id",
            "updated",
            "user_id",
        ]
    );
    let host = format!("http://{}", server.addr());
    let project = base.trim_start_matches("/v2.1/");
    assert_eq!(
        shown["flavor"],
        json!({"id": "1", "links": [{"rel": "bookmark", "href": format!("{host}/{project}/flavors/1")}]})
    );
    assert_eq!(
        shown["image"],
        json!({"id": CIRROS, "links": [{"rel": "bookmark", "href": format!("{host}/{project}/images/{CIRROS}")}]})
    );
    assert_eq!(shown["OS-EXT-AZ:availability_zone"], "nova");
    assert_eq!(shown["progress"], 0);
    let mac = shown["addresses"]["private"][0]["OS-EXT-IPS-MAC:mac_addr"]
        .as_str()
        .unwrap();
    assert!(mac.starts_with("fa:16:3e:"), "{mac}");
    assert_eq!(shown["addresses"]["private"][0]["OS-EXT-IPS:type"], "fixed");

    let v247 = get_at(server, &path, "2.47").await;
    assert_eq!(v247.header("openstack-api-version"), "compute 2.47");
    let shown47 = &v247.body["server"];
    assert_eq!(
        shown47["flavor"],
        json!({
            "vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 0,
            "original_name": "m1.tiny", "extra_specs": {},
        })
    );
    let added: Vec<String> = keys(shown47)
        .into_iter()
        .filter(|key| shown.get(key).is_none())
        .collect();
    assert_eq!(
        added,
        [
            "OS-EXT-SRV-ATTR:hostname",
            "OS-EXT-SRV-ATTR:kernel_id",
            "OS-EXT-SRV-ATTR:launch_index",
            "OS-EXT-SRV-ATTR:ramdisk_id",
            "OS-EXT-SRV-ATTR:reservation_id",
            "OS-EXT-SRV-ATTR:root_device_name",
            "OS-EXT-SRV-ATTR:user_data",
            "description",
            "host_status",
            "locked",
            "tags",
        ]
    );
    assert_eq!(shown47["locked"], false);
    assert_eq!(shown47["tags"], json!([]));
    assert_eq!(shown47["OS-EXT-SRV-ATTR:hostname"], "shape");

    let v2100 = get_at(server, &path, "2.100").await;
    let shown100 = &v2100.body["server"];
    let added: Vec<String> = keys(shown100)
        .into_iter()
        .filter(|key| shown47.get(key).is_none())
        .collect();
    assert_eq!(
        added,
        [
            "locked_reason",
            "pinned_availability_zone",
            "scheduler_hints",
            "server_groups",
            "trusted_image_certificates",
        ]
    );
    assert_eq!(shown100["image"]["properties"], json!({}));
    assert_eq!(shown100["scheduler_hints"], json!({}));
    assert_eq!(shown100["pinned_availability_zone"], Value::Null);
    assert_eq!(shown100["flavor"], shown47["flavor"]);
    let latest = get_at(server, &path, "latest").await;
    assert_eq!(latest.header("openstack-api-version"), "compute 2.100");
    assert_eq!(latest.body, v2100.body);

    // Unknown and malformed ids are not found, in Nova's words.
    for missing in ["00000000-0000-4000-8000-000000000000", "not-a-uuid"] {
        let answer = get(server, &format!("{base}/servers/{missing}")).await;
        assert_eq!(
            answer.fault("itemNotFound", 404),
            format!("Instance {missing} could not be found.")
        );
    }
}

async fn update_renames_and_refuses_unknown_fields(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "before").await;
    let path = format!("{base}/servers/{id}");
    let answer = send(
        server,
        Method::PUT,
        &path,
        None,
        Some(json!({"server": {"name": "after", "accessIPv4": "192.0.2.7"}})),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["server"]["name"], "after");
    assert_eq!(answer.body["server"]["accessIPv4"], "192.0.2.7");
    assert_eq!(answer.body["server"]["status"], "ACTIVE");
    let shown = show(server, &base, &id).await;
    assert_eq!(
        (&shown["name"], &shown["accessIPv4"]),
        (&json!("after"), &json!("192.0.2.7"))
    );
    // 2.19 sets a description.
    let answer = send(
        server,
        Method::PUT,
        &path,
        Some("2.19"),
        Some(json!({"server": {"description": "the web tier"}})),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["server"]["description"], "the web tier");

    let answer = send(
        server,
        Method::PUT,
        &path,
        None,
        Some(json!({"server": {"bogus": "x"}})),
    )
    .await;
    assert_eq!(
        answer.fault("badRequest", 400),
        "Invalid input for field/attribute server. Value: {'bogus': 'x'}. Additional properties are not allowed ('bogus' was unexpected)"
    );
    // Before 2.19 there is no description to set.
    let answer = send(
        server,
        Method::PUT,
        &path,
        None,
        Some(json!({"server": {"description": "x"}})),
    )
    .await;
    assert_eq!(
        answer.fault("badRequest", 400),
        "Invalid input for field/attribute server. Value: {'description': 'x'}. Additional properties are not allowed ('description' was unexpected)"
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    let answer = send(
        server,
        Method::PUT,
        &format!("{base}/servers/{missing}"),
        None,
        Some(json!({"server": {"name": "x"}})),
    )
    .await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        format!("Instance {missing} could not be found.")
    );
    assert_eq!(show(server, &base, &id).await["name"], "after");
}

/// Not Nova's (it has no ETags on servers): nova-rs's optimistic
/// concurrency on the same records as the seed's instances.
async fn if_match_on_update_refuses_a_stale_etag(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "tagged").await;
    let path = format!("{base}/servers/{id}");
    let shown = get(server, &path).await;
    let etag = shown.header("etag").to_owned();
    let rename = |name: &str, if_match: &str| {
        server
            .request(Method::PUT, &path)
            .header(IF_MATCH, if_match)
            .json(&json!({"server": {"name": name}}))
            .send()
    };
    let response = rename("first", &etag).await.unwrap();
    assert_eq!(response.status(), 200);
    let fresh = response.headers()[ETAG].to_str().unwrap().to_owned();
    assert_ne!(fresh, etag);
    let response = rename("lost", &etag).await.unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 412);
    assert_eq!(
        assert_fault(&body, "preconditionFailed", 412),
        format!("server {id} has changed: its ETag is now {fresh}, which If-Match does not name")
    );
    assert_eq!(show(server, &base, &id).await["name"], "first");
    assert_eq!(get(server, &path).await.header("etag"), fresh);
    let response = rename("second", &fresh).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(show(server, &base, &id).await["name"], "second");
    // An action changes the record too, so it moves the tag on.
    let before = get(server, &path).await.header("etag").to_owned();
    accepted(server, &base, &id, json!({"pause": null}), 202).await;
    let response = rename("third", &before).await.unwrap();
    assert_eq!(response.status(), 412);
}

async fn delete_answers_204_then_the_server_is_not_found(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "doomed").await;
    let path = format!("{base}/servers/{id}");
    let response = server.request(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    let not_found = format!("Instance {id} could not be found.");
    assert_eq!(
        get(server, &path).await.fault("itemNotFound", 404),
        not_found
    );
    let again = send(server, Method::DELETE, &path, None, None).await;
    assert_eq!(again.fault("itemNotFound", 404), not_found);
    let answer = action(server, &base, &id, json!({"os-start": null})).await;
    assert_eq!(answer.fault("itemNotFound", 404), not_found);
    let answer = get(server, &format!("{path}/metadata")).await;
    assert_eq!(answer.fault("itemNotFound", 404), not_found);
    assert_eq!(names(server, &base, "servers").await, Vec::<String>::new());
}

// ---- operations under way ----------------------------------------------------------

/// Asserts that what was just read was read before the operation begun at
/// `began` could have ended, so that it shows the operation under way.
fn read_in_time(began: Instant, what: &str) {
    assert!(
        began.elapsed() < TRANSITION,
        "{what} was read {:?} after the operation began, later than its end: this machine stalled too long for the test",
        began.elapsed()
    );
}

async fn a_building_server_refuses_all_but_delete_until_it_is_active(server: &TestServer) {
    let base = project_base();
    let began = Instant::now();
    let id = create_id(server, &base, "young").await;
    let building = show(server, &base, &id).await;
    assert_eq!(
        (
            &building["status"],
            &building["OS-EXT-STS:vm_state"],
            &building["OS-EXT-STS:task_state"],
            &building["OS-EXT-STS:power_state"],
            &building["addresses"],
            &building["OS-SRV-USG:launched_at"],
        ),
        (
            &json!("BUILD"),
            &json!("building"),
            &json!("spawning"),
            &json!(0),
            &json!({}),
            &Value::Null
        )
    );
    let ips = get(server, &format!("{base}/servers/{id}/ips")).await;
    assert_eq!(
        ips.body,
        json!({"addresses": {}}),
        "no address before the build ends"
    );
    for (body, name) in [
        (json!({"reboot": {"type": "SOFT"}}), "reboot"),
        (json!({"os-stop": null}), "stop"),
        (json!({"resize": {"flavorRef": "2"}}), "resize"),
        (json!({"createImage": {"name": "too-early"}}), "createImage"),
    ] {
        let answer = action(server, &base, &id, body).await;
        assert_eq!(
            answer.fault("conflictingRequest", 409),
            invalid_state(name, &id, "vm_state", "building")
        );
    }
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers/{id}/metadata"),
        None,
        Some(json!({"metadata": {"a": "1"}})),
    )
    .await;
    assert_eq!(
        answer.fault("conflictingRequest", 409),
        invalid_state("update metadata", &id, "vm_state", "building")
    );
    read_in_time(began, "the building server");

    // The build ends at its instant, without anything else asked.
    let active = wait_for_status(server, &base, &id, "ACTIVE").await;
    assert!(began.elapsed() >= TRANSITION, "{:?}", began.elapsed());
    assert_eq!(active["OS-EXT-STS:vm_state"], "active");
    assert_eq!(active["OS-EXT-STS:task_state"], Value::Null);
    assert_eq!(active["OS-EXT-STS:power_state"], 1);
    assert!(active["OS-SRV-USG:launched_at"].is_string());
    assert_eq!(active["addresses"]["private"][0]["version"], 4);
    accepted(server, &base, &id, json!({"os-stop": null}), 202).await;

    // A server may be deleted while it builds.
    let short_lived = create_id(server, &base, "short-lived").await;
    let path = format!("{base}/servers/{short_lived}");
    let deleted = send(server, Method::DELETE, &path, None, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        get(server, &path).await.fault("itemNotFound", 404),
        format!("Instance {short_lived} could not be found.")
    );
}

async fn reboots_resizes_and_rebuilds_take_their_time(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "patient").await;
    let path = format!("{base}/servers/{id}");
    let under_way = |shown: &Value| {
        (
            shown["status"].as_str().unwrap_or_default().to_owned(),
            shown["OS-EXT-STS:task_state"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let pair = |status: &str, task: &str| (status.to_owned(), task.to_owned());

    // A soft reboot, during which nothing else may start.
    let began = Instant::now();
    accepted(server, &base, &id, json!({"reboot": {"type": "SOFT"}}), 202).await;
    let shown = show(server, &base, &id).await;
    let answer = action(server, &base, &id, json!({"os-stop": null})).await;
    read_in_time(began, "the rebooting server");
    assert_eq!(under_way(&shown), pair("REBOOT", "rebooting"));
    assert_eq!(
        answer.fault("conflictingRequest", 409),
        invalid_state("stop", &id, "task_state", "rebooting")
    );
    wait_for_status(server, &base, &id, "ACTIVE").await;

    // A hard reboot of an active server, and of a stopped one, which shows
    // SHUTOFF meanwhile: Nova's state map has no HARD_REBOOT for stopped.
    let began = Instant::now();
    accepted(server, &base, &id, json!({"reboot": {"type": "HARD"}}), 202).await;
    let shown = show(server, &base, &id).await;
    read_in_time(began, "the hard-rebooting server");
    assert_eq!(under_way(&shown), pair("HARD_REBOOT", "rebooting_hard"));
    wait_for_status(server, &base, &id, "ACTIVE").await;
    accepted(server, &base, &id, json!({"os-stop": null}), 202).await;
    let began = Instant::now();
    accepted(server, &base, &id, json!({"reboot": {"type": "HARD"}}), 202).await;
    let shown = show(server, &base, &id).await;
    read_in_time(began, "the stopped server rebooting");
    assert_eq!(under_way(&shown), pair("SHUTOFF", "rebooting_hard"));
    wait_for_status(server, &base, &id, "ACTIVE").await;

    // A resize, which cannot be confirmed before it has finished.
    let began = Instant::now();
    accepted(
        server,
        &base,
        &id,
        json!({"resize": {"flavorRef": "2"}}),
        202,
    )
    .await;
    let shown = show(server, &base, &id).await;
    let answer = action(server, &base, &id, json!({"confirmResize": null})).await;
    read_in_time(began, "the resizing server");
    assert_eq!(under_way(&shown), pair("RESIZE", "resize_prep"));
    assert_eq!(
        answer.fault("conflictingRequest", 409),
        invalid_state("confirmResize", &id, "vm_state", "active")
    );
    wait_for_status(server, &base, &id, "VERIFY_RESIZE").await;
    accepted(server, &base, &id, json!({"confirmResize": null}), 204).await;
    assert_eq!(status_of(server, &base, &id).await, "ACTIVE");

    // A rebuild answers the server as it starts rebuilding.
    let began = Instant::now();
    let answer = accepted(
        server,
        &base,
        &id,
        json!({"rebuild": {"imageRef": CIRROS}}),
        202,
    )
    .await;
    let shown = get_at(server, &path, "2.47").await.body["server"].clone();
    read_in_time(began, "the rebuilding server");
    assert_eq!(answer.body["server"]["status"], "REBUILD");
    assert_eq!(under_way(&shown), pair("REBUILD", "rebuilding"));
    assert_eq!(shown["flavor"]["original_name"], "m1.small");
    wait_for_status(server, &base, &id, "ACTIVE").await;
}

// ---- actions ------------------------------------------------------------------

async fn actions_change_state_and_refuse_the_wrong_state_with_409(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "acting").await;
    for kind in ["SOFT", "HARD"] {
        accepted(server, &base, &id, json!({"reboot": {"type": kind}}), 202).await;
        assert_eq!(status_of(server, &base, &id).await, "ACTIVE");
    }

    // Each action and its opposite, then the same one again, which the
    // state it left refuses.
    let table = [
        ("os-stop", "SHUTOFF", "stop", "stopped"),
        ("os-start", "ACTIVE", "start", "active"),
        ("pause", "PAUSED", "pause", "paused"),
        ("unpause", "ACTIVE", "unpause", "active"),
        ("suspend", "SUSPENDED", "suspend", "suspended"),
        ("resume", "ACTIVE", "resume", "active"),
    ];
    for (key, status, name, vm_state) in table {
        accepted(server, &base, &id, json!({ key: null }), 202).await;
        let shown = show(server, &base, &id).await;
        assert_eq!(shown["status"], status, "after {key}");
        assert_eq!(shown["OS-EXT-STS:vm_state"], vm_state, "after {key}");
        let again = action(server, &base, &id, json!({ key: null })).await;
        assert_eq!(
            again.fault("conflictingRequest", 409),
            invalid_state(name, &id, "vm_state", vm_state),
            "{key} twice"
        );
    }
    // Pausing a stopped server names the state it is in.
    accepted(server, &base, &id, json!({"os-stop": null}), 202).await;
    for (key, name) in [
        ("pause", "pause"),
        ("suspend", "suspend"),
        ("reboot", "reboot"),
    ] {
        let body = if key == "reboot" {
            json!({"reboot": {"type": "SOFT"}})
        } else {
            json!({ key: null })
        };
        let answer = action(server, &base, &id, body).await;
        assert_eq!(
            answer.fault("conflictingRequest", 409),
            invalid_state(name, &id, "vm_state", "stopped")
        );
    }
    // A hard reboot brings a stopped server back.
    accepted(server, &base, &id, json!({"reboot": {"type": "HARD"}}), 202).await;
    assert_eq!(status_of(server, &base, &id).await, "ACTIVE");

    // lock and unlock, seen from 2.9.
    let path = format!("{base}/servers/{id}");
    accepted(server, &base, &id, json!({"lock": null}), 202).await;
    assert_eq!(
        get_at(server, &path, "2.9").await.body["server"]["locked"],
        true
    );
    accepted(server, &base, &id, json!({"unlock": null}), 202).await;
    assert_eq!(
        get_at(server, &path, "2.9").await.body["server"]["locked"],
        false
    );
    let answer = send(
        server,
        Method::POST,
        &format!("{path}/action"),
        Some("2.73"),
        Some(json!({"lock": {"locked_reason": "maintenance"}})),
    )
    .await;
    assert_eq!(answer.status, 202);
    let shown = get_at(server, &path, "2.73").await;
    assert_eq!(
        (
            &shown.body["server"]["locked"],
            &shown.body["server"]["locked_reason"]
        ),
        (&json!(true), &json!("maintenance"))
    );
    let locked = get_at(server, &format!("{base}/servers?locked=true"), "2.73").await;
    assert_eq!(locked.body["servers"][0]["id"], id.as_str());
    accepted(server, &base, &id, json!({"unlock": null}), 202).await;

    // An action nobody knows, and bodies that name no action.
    let answer = action(server, &base, &id, json!({"frobnicate": null})).await;
    assert_eq!(
        answer.fault("badRequest", 400),
        "There is no such action: frobnicate"
    );
    let answer = action(server, &base, &id, json!({"pause": null, "unpause": null})).await;
    assert_eq!(answer.fault("badRequest", 400), "Malformed request body");
    let answer = action(server, &base, &id, json!({"reboot": {"type": "GENTLE"}})).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let missing = "00000000-0000-4000-8000-000000000000";
    let answer = action(server, &base, missing, json!({"pause": null})).await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        format!("Instance {missing} could not be found.")
    );
    assert_eq!(status_of(server, &base, &id).await, "ACTIVE");
}

async fn resize_rebuild_image_and_password_actions_are_accepted(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "grower").await;
    let path = format!("{base}/servers/{id}");
    let flavor_at_247 = |body: &Value| body["server"]["flavor"]["original_name"].clone();

    // resize, then confirm: the new flavor stays.
    accepted(
        server,
        &base,
        &id,
        json!({"resize": {"flavorRef": "2"}}),
        202,
    )
    .await;
    assert_eq!(status_of(server, &base, &id).await, "VERIFY_RESIZE");
    let answer = action(server, &base, &id, json!({"resize": {"flavorRef": "3"}})).await;
    assert_eq!(
        answer.fault("conflictingRequest", 409),
        invalid_state("resize", &id, "vm_state", "resized")
    );
    accepted(server, &base, &id, json!({"confirmResize": null}), 204).await;
    let shown = wait_for_status(server, &base, &id, "ACTIVE").await;
    assert_eq!(shown["flavor"]["id"], "2");
    assert_eq!(
        flavor_at_247(&get_at(server, &path, "2.47").await.body),
        "m1.small"
    );
    let answer = action(server, &base, &id, json!({"confirmResize": null})).await;
    assert_eq!(
        answer.fault("conflictingRequest", 409),
        invalid_state("confirmResize", &id, "vm_state", "active")
    );
    let answer = action(server, &base, &id, json!({"revertResize": null})).await;
    assert_eq!(
        answer.fault("conflictingRequest", 409),
        invalid_state("revertResize", &id, "vm_state", "active")
    );

    // resize, then revert: the old flavor is back.
    accepted(
        server,
        &base,
        &id,
        json!({"resize": {"flavorRef": "3"}}),
        202,
    )
    .await;
    wait_for_status(server, &base, &id, "VERIFY_RESIZE").await;
    assert_eq!(show(server, &base, &id).await["flavor"]["id"], "3");
    accepted(server, &base, &id, json!({"revertResize": null}), 202).await;
    let shown = wait_for_status(server, &base, &id, "ACTIVE").await;
    assert_eq!(shown["flavor"]["id"], "2");
    for (flavor, message) in [
        (
            "2",
            "When resizing, instances must change flavor!".to_owned(),
        ),
        ("42", "Flavor 42 could not be found.".to_owned()),
    ] {
        let answer = action(server, &base, &id, json!({"resize": {"flavorRef": flavor}})).await;
        assert_eq!(answer.fault("badRequest", 400), message);
    }

    // rebuild answers the server, with a new password, and takes a while.
    let answer = accepted(
        server,
        &base,
        &id,
        json!({"rebuild": {"imageRef": CIRROS, "name": "rebuilt", "adminPass": "n3w-pass"}}),
        202,
    )
    .await;
    assert_eq!(
        answer.header("location"),
        format!("http://{}{path}", server.addr())
    );
    let rebuilt = &answer.body["server"];
    assert_eq!(rebuilt["id"], id.as_str());
    assert_eq!(rebuilt["name"], "rebuilt");
    assert_eq!(rebuilt["adminPass"], "n3w-pass");
    // Rebuilt at once here; the transitions test sees REBUILD.
    assert_eq!(rebuilt["status"], "ACTIVE");
    assert_eq!(rebuilt["image"]["id"], CIRROS);
    let answer = action(
        server,
        &base,
        &id,
        json!({"rebuild": {"imageRef": "00000000-0000-4000-8000-000000000000"}}),
    )
    .await;
    assert_eq!(
        answer.fault("badRequest", 400),
        "Cannot find image for rebuild"
    );

    // createImage: the image named by Location until 2.45, in the body from.
    let answer = accepted(
        server,
        &base,
        &id,
        json!({"createImage": {"name": "snap"}}),
        202,
    )
    .await;
    let location = answer.header("location").to_owned();
    let image_id = location.rsplit('/').next().unwrap();
    assert!(Uuid::try_parse(image_id).is_ok(), "{location}");
    assert_eq!(answer.body, Value::Null);
    let answer = send(
        server,
        Method::POST,
        &format!("{path}/action"),
        Some("2.45"),
        Some(json!({"createImage": {"name": "snap-2"}})),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(keys(&answer.body), ["image_id"]);
    assert!(answer.headers.get(LOCATION).is_none());

    // changePassword.
    accepted(
        server,
        &base,
        &id,
        json!({"changePassword": {"adminPass": "s3cret"}}),
        202,
    )
    .await;
    assert_eq!(status_of(server, &base, &id).await, "ACTIVE");
    accepted(server, &base, &id, json!({"os-stop": null}), 202).await;
    let answer = action(
        server,
        &base,
        &id,
        json!({"changePassword": {"adminPass": "x"}}),
    )
    .await;
    assert_eq!(
        answer.fault("conflictingRequest", 409),
        invalid_state("changePassword", &id, "vm_state", "stopped")
    );
}

async fn instance_actions_list_what_was_done_by_request_id(server: &TestServer) {
    let base = project_base();
    let created = create(server, &base, "recorded").await;
    let id = id_of(&created);
    wait_for_status(server, &base, &id, "ACTIVE").await;
    let stop = accepted(server, &base, &id, json!({"os-stop": null}), 202).await;
    let start = accepted(server, &base, &id, json!({"os-start": null}), 202).await;
    // A refused action is not recorded.
    assert_eq!(
        action(server, &base, &id, json!({"os-start": null}))
            .await
            .status,
        409
    );
    let path = format!("{base}/servers/{id}/os-instance-actions");
    let answer = get(server, &path).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let listed: Vec<(String, String)> = answer.body["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["instance_uuid"], id.as_str());
            assert_eq!(a["project_id"], base.trim_start_matches("/v2.1/"));
            (
                a["action"].as_str().unwrap().to_owned(),
                a["request_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("start".to_owned(), start.request_id()),
            ("stop".to_owned(), stop.request_id()),
            ("create".to_owned(), created.request_id()),
        ]
    );
    let one = get(server, &format!("{path}/{}", stop.request_id())).await;
    assert_eq!(one.status, 200, "{}", one.body);
    let action = &one.body["instanceAction"];
    assert_eq!(action["action"], "stop");
    assert_eq!(action["request_id"], stop.request_id().as_str());
    assert_eq!(action["events"][0]["event"], "compute_stop_instance");
    assert_eq!(action["events"][0]["result"], "Success");
    let answer = get(
        server,
        &format!("{path}/req-00000000-0000-4000-8000-000000000000"),
    )
    .await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        "Action req-00000000-0000-4000-8000-000000000000 not found"
    );

    // Once deleted, the server's actions are readable from 2.21 only.
    let deleted = send(
        server,
        Method::DELETE,
        &format!("{base}/servers/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    let answer = get(server, &path).await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        format!("Instance {id} could not be found.")
    );
    let answer = get_at(server, &path, "2.21").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["instanceActions"][0]["action"], "delete");
    assert_eq!(
        answer.body["instanceActions"][0]["request_id"],
        deleted.request_id().as_str()
    );
}

// ---- sub-resources ---------------------------------------------------------------

async fn metadata_is_read_merged_replaced_and_deleted(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "with-metadata").await;
    let all = format!("{base}/servers/{id}/metadata");
    let item = |key: &str| format!("{all}/{key}");
    let answer = get(server, &all).await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"metadata": {}}))
    );

    let answer = send(
        server,
        Method::POST,
        &all,
        None,
        Some(json!({"metadata": {"a": "1", "b": "2"}})),
    )
    .await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"metadata": {"a": "1", "b": "2"}}))
    );
    let answer = send(
        server,
        Method::POST,
        &all,
        None,
        Some(json!({"metadata": {"b": "3", "c": "4"}})),
    )
    .await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"metadata": {"a": "1", "b": "3", "c": "4"}})),
        "POST merges"
    );
    let answer = send(
        server,
        Method::PUT,
        &all,
        None,
        Some(json!({"metadata": {"d": "5"}})),
    )
    .await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"metadata": {"d": "5"}})),
        "PUT replaces"
    );
    let answer = send(
        server,
        Method::PUT,
        &item("e"),
        None,
        Some(json!({"meta": {"e": "6"}})),
    )
    .await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"meta": {"e": "6"}}))
    );
    let answer = send(
        server,
        Method::PUT,
        &item("e"),
        None,
        Some(json!({"meta": {"f": "6"}})),
    )
    .await;
    assert_eq!(
        answer.fault("badRequest", 400),
        "Request body and URI mismatch"
    );
    let answer = get(server, &item("e")).await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"meta": {"e": "6"}}))
    );
    assert_eq!(
        show(server, &base, &id).await["metadata"],
        json!({"d": "5", "e": "6"})
    );

    let response = server
        .request(Method::DELETE, &item("d"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    for (method, path) in [(Method::GET, item("d")), (Method::DELETE, item("d"))] {
        let answer = send(server, method, &path, None, None).await;
        assert_eq!(
            answer.fault("itemNotFound", 404),
            "Metadata item was not found"
        );
    }
    let answer = get(server, &all).await;
    assert_eq!(answer.body, json!({"metadata": {"e": "6"}}));

    let answer = send(
        server,
        Method::POST,
        &all,
        None,
        Some(json!({"meta": {"a": "1"}})),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
}

async fn ips_list_the_addresses_by_network(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "addressed").await;
    let shown = show(server, &base, &id).await;
    let address = shown["addresses"]["private"][0]["addr"].clone();
    assert!(address.as_str().unwrap().starts_with("10.0."), "{address}");
    let plain = json!([{"version": 4, "addr": address}]);
    let answer = get(server, &format!("{base}/servers/{id}/ips")).await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"addresses": {"private": plain}}))
    );
    let answer = get(server, &format!("{base}/servers/{id}/ips/private")).await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"private": plain}))
    );
    let answer = get(server, &format!("{base}/servers/{id}/ips/public")).await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        "Instance is not a member of specified network"
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    let answer = get(server, &format!("{base}/servers/{missing}/ips")).await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        format!("Instance {missing} could not be found.")
    );
}

// ---- flavors, images, limits -------------------------------------------------------

async fn flavors_are_listed_shown_and_their_extra_specs_read(server: &TestServer) {
    let host = format!("http://{}", server.addr());
    let answer = get(server, "/v2.1/flavors").await;
    assert_eq!(answer.status, 200);
    let listed: Vec<(&str, &str)> = answer.body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("1", "m1.tiny"),
            ("2", "m1.small"),
            ("3", "m1.medium"),
            ("4", "m1.large"),
            ("5", "m1.xlarge"),
        ]
    );
    assert_eq!(
        answer.body["flavors"][0]["links"],
        json!([
            {"rel": "self", "href": format!("{host}/v2.1/flavors/1")},
            {"rel": "bookmark", "href": format!("{host}/flavors/1")},
        ])
    );
    let detail = get(server, "/v2.1/flavors/detail?limit=2").await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["flavors"].as_array().unwrap().len(), 2);
    assert_eq!(
        detail.body["flavors_links"],
        json!([{"rel": "next", "href": format!("{host}/v2.1/flavors/detail?limit=2&marker=2")}])
    );
    let small = &detail.body["flavors"][1];
    assert_eq!(
        (
            &small["name"],
            &small["vcpus"],
            &small["ram"],
            &small["disk"],
            &small["swap"],
            &small["OS-FLV-EXT-DATA:ephemeral"],
            &small["os-flavor-access:is_public"],
            &small["OS-FLV-DISABLED:disabled"],
        ),
        (
            &json!("m1.small"),
            &json!(1),
            &json!(2048),
            &json!(20),
            &json!(""),
            &json!(0),
            &json!(true),
            &json!(false)
        )
    );
    let shown = get(server, "/v2.1/flavors/3").await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["flavor"]["name"], "m1.medium");
    let shown = get_at(server, "/v2.1/flavors/3", "2.61").await;
    assert_eq!(shown.body["flavor"]["extra_specs"], json!({}));
    let answer = get(server, "/v2.1/flavors/42").await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        "Flavor 42 could not be found."
    );
    let answer = get(server, "/v2.1/flavors/1/os-extra_specs").await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"extra_specs": {}}))
    );
    let answer = get(server, "/v2.1/flavors/1/os-extra_specs/hw:cpu_policy").await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        "Flavor 1 has no extra specs with key hw:cpu_policy."
    );
    let answer = get(server, "/v2.1/flavors/42/os-extra_specs").await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        "Flavor 42 could not be found."
    );
    let answer = get(server, "/v2.1/flavors?minRam=4096").await;
    assert_eq!(answer.body["flavors"].as_array().unwrap().len(), 3);
}

/// The entry of `id` in a listing's `images`.
fn listed_image(body: &Value, id: &str) -> Value {
    body["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|image| image["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} is not listed: {body}"))
}

async fn the_images_proxy_answers_until_2_36(server: &TestServer) {
    let host = format!("http://{}", server.addr());
    // The shared token is an admin, who sees every project's snapshots
    // too (the steps before took some): cirros is the configured image.
    let answer = get(server, "/v2.1/images").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        json!({"images": [listed_image(&answer.body, CIRROS)]}),
        json!({"images": [{
            "id": CIRROS,
            "name": "cirros",
            "links": [
                {"rel": "self", "href": format!("{host}/v2.1/images/{CIRROS}")},
                {"rel": "bookmark", "href": format!("{host}/images/{CIRROS}")},
                {"rel": "alternate", "type": "application/vnd.openstack.image",
                 "href": format!("{host}/image/images/{CIRROS}")},
            ],
        }]})
    );
    let detail = get(server, "/v2.1/images/detail").await;
    let cirros = listed_image(&detail.body, CIRROS);
    assert_eq!(cirros["status"], "ACTIVE");
    let shown = get(server, &format!("/v2.1/images/{CIRROS}")).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["image"], cirros);
    assert_eq!(shown.body["image"]["progress"], 100);
    let answer = get(server, "/v2.1/images?name=nothing").await;
    assert_eq!(answer.body, json!({"images": []}));
    let answer = get(server, "/v2.1/images/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(answer.fault("itemNotFound", 404), "Image not found.");
    for path in ["/v2.1/images".to_owned(), format!("/v2.1/images/{CIRROS}")] {
        let answer = get_at(server, &path, "2.36").await;
        assert_eq!(
            answer.fault("itemNotFound", 404),
            "The resource could not be found.",
            "{path}"
        );
        assert_eq!(get_at(server, &path, "2.35").await.status, 200, "{path}");
    }
}

async fn the_image_service_lists_and_shows_images(server: &TestServer) {
    let answer = get(server, "/image/v2/images?name=cirros").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let images = answer.body["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["id"], CIRROS);
    assert_eq!(images[0]["status"], "active");
    assert_eq!(images[0]["visibility"], "public");
    assert_eq!(answer.body["first"], "/v2/images?name=cirros");
    let answer = get(server, "/image/v2/images?name=nothing").await;
    assert_eq!(answer.body["images"], json!([]));
    let shown = get(server, &format!("/image/v2/images/{CIRROS}")).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body, images[0]);
    let missing = "00000000-0000-4000-8000-000000000000";
    let answer = get(server, &format!("/image/v2/images/{missing}")).await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        format!("No image found with ID {missing}")
    );
    let response = server
        .client
        .get(server.url("/image/v2/images"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "the image service wants a token too, behind Keystone's filter"
    );
}

async fn a_snapshot_is_an_image_to_build_from_until_it_is_deleted(server: &TestServer) {
    let base = project_base();
    let project = base.rsplit('/').next().unwrap().to_owned();
    let id = active_server(server, &base, "snapped").await;
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers/{id}/action"),
        Some("2.45"),
        Some(json!({"createImage": {"name": "golden", "metadata": {"tier": "web"}}})),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let image = answer.body["image_id"].as_str().unwrap().to_owned();

    // Glance lists it as its project's (the shared token, an admin, sees
    // it whatever the project).
    let listed = get(server, &format!("/image/v2/images?owner={project}")).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let images = listed.body["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{}", listed.body);
    let snapshot = &images[0];
    for (key, value) in [
        ("id", json!(image)),
        ("name", json!("golden")),
        ("status", json!("active")),
        ("visibility", json!("private")),
        ("owner", json!(project)),
        ("protected", json!(false)),
        ("instance_uuid", json!(id)),
        ("image_type", json!("snapshot")),
        ("base_image_ref", json!(CIRROS)),
        ("tier", json!("web")),
        ("min_disk", json!(1)),
    ] {
        assert_eq!(snapshot[key], value, "{key}: {snapshot}");
    }
    let shown = get(server, &format!("/image/v2/images/{image}")).await;
    assert_eq!(&shown.body, snapshot);
    let proxied = get(server, &format!("{base}/images/{image}")).await;
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    assert_eq!(proxied.body["image"]["server"]["id"], id.as_str());
    assert_eq!(proxied.body["image"]["status"], "ACTIVE");

    // A server is built from it.
    let mut body = create_body("from-golden");
    body["server"]["imageRef"] = json!(image);
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(body),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let built = id_of(&answer);
    assert_eq!(
        show(server, &base, &built).await["image"]["id"],
        image.as_str()
    );

    // Deleted through the image service, it is gone from both.
    let cirros = send(
        server,
        Method::DELETE,
        &format!("/image/v2/images/{CIRROS}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        cirros.fault("forbidden", 403),
        format!("Image {CIRROS} is protected and cannot be deleted.")
    );
    let deleted = send(
        server,
        Method::DELETE,
        &format!("/image/v2/images/{image}"),
        None,
        None,
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let answer = get(server, &format!("/image/v2/images/{image}")).await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        format!("No image found with ID {image}")
    );
    let answer = get(server, &format!("{base}/images/{image}")).await;
    assert_eq!(answer.fault("itemNotFound", 404), "Image not found.");
    let mut body = create_body("from-nothing");
    body["server"]["imageRef"] = json!(image);
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(body),
    )
    .await;
    assert_eq!(
        answer.fault("badRequest", 400),
        "Can not find requested image"
    );
}

async fn limits_show_the_quota_and_what_the_project_uses(server: &TestServer) {
    let base = project_base();
    let absolute = |answer: &Answer| answer.body["limits"]["absolute"].clone();
    let answer = get(server, &format!("{base}/limits")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["limits"]["rate"], json!([]));
    let limits = absolute(&answer);
    assert_eq!(
        (
            &limits["maxTotalInstances"],
            &limits["maxTotalCores"],
            &limits["maxTotalRAMSize"],
            &limits["maxServerMeta"],
            &limits["totalInstancesUsed"],
            &limits["totalCoresUsed"],
            &limits["totalRAMUsed"],
        ),
        (
            &json!(10),
            &json!(20),
            &json!(51200),
            &json!(128),
            &json!(0),
            &json!(0),
            &json!(0)
        )
    );
    assert_eq!(limits["maxSecurityGroups"], -1);
    assert_eq!(limits["maxPersonality"], 5);
    create_id(server, &base, "counted-1").await;
    let second = create_id(server, &base, "counted-2").await;
    wait_for_status(server, &base, &second, "ACTIVE").await;
    accepted(
        server,
        &base,
        &second,
        json!({"resize": {"flavorRef": "2"}}),
        202,
    )
    .await;
    wait_for_status(server, &base, &second, "VERIFY_RESIZE").await;
    let limits = absolute(&get(server, &format!("{base}/limits")).await);
    assert_eq!(
        (
            &limits["totalInstancesUsed"],
            &limits["totalCoresUsed"],
            &limits["totalRAMUsed"]
        ),
        (&json!(2), &json!(2), &json!(512 + 2048))
    );
    // Later microversions drop the network, image metadata and
    // personality limits.
    let limits = absolute(&get_at(server, &format!("{base}/limits"), "2.57").await);
    for gone in [
        "maxSecurityGroups",
        "maxSecurityGroupRules",
        "maxTotalFloatingIps",
        "totalFloatingIpsUsed",
        "totalSecurityGroupsUsed",
        "maxImageMeta",
        "maxPersonality",
        "maxPersonalitySize",
    ] {
        assert_eq!(limits.get(gone), None, "{gone} at 2.57");
    }
    assert_eq!(limits["totalInstancesUsed"], 2);
}

async fn an_unserved_microversion_is_406(server: &TestServer) {
    for path in ["/v2.1/servers", "/v2.1/flavors", "/v2.1/limits"] {
        let answer = get_at(server, path, "2.101").await;
        assert_eq!(
            answer.fault("computeFault", 406),
            "Version 2.101 is not supported by the API. Minimum is 2.1 and maximum is 2.100."
        );
    }
    let base = project_base();
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        Some("2.101"),
        Some(create_body("never")),
    )
    .await;
    assert_eq!(answer.status, 406);
    assert_eq!(names(server, &base, "servers").await, Vec::<String>::new());
}

// ---- projects and the seed's instances ------------------------------------------------

async fn projects_in_the_url_see_only_their_own_servers(server: &TestServer) {
    let (one, two) = (project_base(), project_base());
    let in_one = create_id(server, &one, "one's").await;
    let in_two = create_id(server, &two, "two's").await;
    assert_eq!(names(server, &one, "servers").await, ["one's"]);
    assert_eq!(names(server, &two, "servers/detail").await, ["two's"]);
    let default: Vec<String> = names(server, "/v2.1", "servers").await;
    assert!(
        !default.iter().any(|n| n == "one's" || n == "two's"),
        "{default:?}"
    );
    assert_eq!(
        show(server, &one, &in_one).await["tenant_id"],
        one.trim_start_matches("/v2.1/")
    );
    assert_eq!(
        show(server, &two, &in_two).await["tenant_id"],
        two.trim_start_matches("/v2.1/")
    );
    let usage = |base: String| async move {
        get(server, &format!("{base}/limits")).await.body["limits"]["absolute"]
            ["totalInstancesUsed"]
            .clone()
    };
    assert_eq!(usage(one.clone()).await, 1);
    assert_eq!(usage(two.clone()).await, 1);
    // A project id must be hex, as Keystone's are.
    let answer = get(server, "/v2.1/not-a-project/servers").await;
    assert_eq!(answer.status, 404, "{}", answer.body);
}

async fn instances_and_servers_are_the_same_records(server: &TestServer) {
    let base = "/v2.1";
    // Created through the seed's API: a server of the default project,
    // active, on the first flavor and image.
    let response = server
        .request(Method::POST, "/v2.1/instances")
        .form(&[("name", "from-instances")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 201, "{body}");
    let seeded = body["instance"]["id"].as_str().unwrap().to_owned();
    let shown = show(server, base, &seeded).await;
    assert_eq!(
        (
            &shown["name"],
            &shown["status"],
            &shown["tenant_id"],
            &shown["flavor"]["id"],
            &shown["image"]["id"]
        ),
        (
            &json!("from-instances"),
            &json!("ACTIVE"),
            &json!(DEFAULT_PROJECT),
            &json!("1"),
            &json!(CIRROS)
        )
    );
    assert!(names(server, base, "servers")
        .await
        .contains(&"from-instances".to_owned()));
    accepted(server, base, &seeded, json!({"os-stop": null}), 202).await;
    assert_eq!(status_of(server, base, &seeded).await, "SHUTOFF");

    // Created through the compute API: an instance with the same name and
    // version.
    let created = create(server, base, "from-servers").await;
    let id = id_of(&created);
    let instance = get(server, &format!("/v2.1/instances/{id}")).await;
    assert_eq!(instance.status, 200, "{}", instance.body);
    assert_eq!(instance.body["instance"]["name"], "from-servers");
    assert_eq!(instance.header("etag"), created.header("etag"));
    assert!(server_names_of_instances(server)
        .await
        .contains(&"from-servers".to_owned()));
    // Renamed either way, seen both ways.
    let answer = send(
        server,
        Method::PUT,
        &format!("{base}/servers/{id}"),
        None,
        Some(json!({"server": {"name": "renamed-by-servers"}})),
    )
    .await;
    assert_eq!(answer.status, 200);
    let instance = get(server, &format!("/v2.1/instances/{id}")).await;
    assert_eq!(instance.body["instance"]["name"], "renamed-by-servers");
    assert_eq!(instance.header("etag"), answer.header("etag"));
    let response = server
        .request(Method::PUT, &format!("/v2.1/instances/{id}"))
        .json(&json!({"instance": {"name": "renamed-by-instances"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        show(server, base, &id).await["name"],
        "renamed-by-instances"
    );

    // Deleted through the compute API: gone from the seed's API at once.
    let deleted = send(
        server,
        Method::DELETE,
        &format!("{base}/servers/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    let instance = get(server, &format!("/v2.1/instances/{id}")).await;
    assert_eq!(instance.status, 404, "{}", instance.body);
    assert_fault(&instance.body, "itemNotFound", 404);
    assert!(!server_names_of_instances(server)
        .await
        .contains(&"renamed-by-instances".to_owned()));
    // Deleted through the seed's API: gone from the compute API.
    let response = server
        .request(Method::DELETE, &format!("/v2.1/instances/{seeded}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let answer = get(server, &format!("{base}/servers/{seeded}")).await;
    assert_eq!(
        answer.fault("itemNotFound", 404),
        format!("Instance {seeded} could not be found.")
    );
    assert!(!names(server, base, "servers")
        .await
        .contains(&"from-instances".to_owned()));
}

async fn server_names_of_instances(server: &TestServer) -> Vec<String> {
    let answer = get(server, "/v2.1/instances").await;
    assert_eq!(answer.status, 200);
    answer.body["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

// ---- corner cases, as Nova answers them --------------------------------------------
//
// Each check returns `Err` with what this server answered, should it
// differ from Nova's answer. They run on a server with `quota_instances =
// 2` and instant builds.

type Check = Result<(), String>;

/// `Ok` if `got` (a status and a fault message) is what Nova answers.
fn expect(what: &str, got: (u16, String), want: (u16, String)) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: Nova answers {want:?}, this server {got:?}"
        ))
    }
}

/// The status and the fault message of an answer.
fn fault_of(answer: Answer) -> (u16, String) {
    let message = answer
        .body
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|f| f["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    (answer.status, message)
}

/// Nova's `servers.py` `create` has answered an unknown flavor with
/// `FlavorNotFound`'s own words since 2016 (commit 2de2c99460, "Flavor:
/// correct confusing error message about flavorRef"); "Invalid flavorRef
/// provided." is the older text.
async fn unknown_flavor_is_flavor_not_found(server: &TestServer) -> Check {
    let mut body = create_body("x");
    body["server"]["flavorRef"] = json!("42");
    let answer = send(
        server,
        Method::POST,
        &format!("{}/servers", project_base()),
        None,
        Some(body),
    )
    .await;
    expect(
        "POST /servers flavorRef 42",
        fault_of(answer),
        (400, "Flavor 42 could not be found.".to_owned()),
    )
}

/// Nova's `_image_from_req_data`: no `imageRef` (or an empty one) and no
/// block devices is 400 `Missing imageRef attribute`.
async fn no_image_ref_is_missing_image_ref(server: &TestServer) -> Check {
    let body = json!({"server": {"name": "x", "flavorRef": "1"}});
    let answer = send(
        server,
        Method::POST,
        &format!("{}/servers", project_base()),
        None,
        Some(body),
    )
    .await;
    expect(
        "POST /servers without imageRef",
        fault_of(answer),
        (400, "Missing imageRef attribute".to_owned()),
    )
}

/// jsonschema reports a schema's errors in the schema's key order:
/// Nova's `create` schema says `required` before `additionalProperties`.
async fn no_server_key_is_a_required_property(server: &TestServer) -> Check {
    let answer = send(
        server,
        Method::POST,
        &format!("{}/servers", project_base()),
        None,
        Some(json!({"serv": {}})),
    )
    .await;
    expect(
        "POST /servers {\"serv\": {}}",
        fault_of(answer),
        (400, "'server' is a required property".to_owned()),
    )
}

/// Nova repeats the offending value as Python's `repr` of the parsed
/// body, whose keys keep the order the client sent them in.
async fn schema_errors_show_the_body_in_its_order(server: &TestServer) -> Check {
    let body =
        format!(r#"{{"server": {{"name": "x", "imageRef": "{CIRROS}", "flavorRef": "1"}}}}"#);
    let response = server
        .request_at(Method::POST, &format!("{}/servers", project_base()), "2.37")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    let message = body["badRequest"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    expect(
        "POST /servers at 2.37 without networks",
        (status, message),
        (
            400,
            format!(
                "Invalid input for field/attribute server. Value: {{'name': 'x', 'imageRef': '{CIRROS}', 'flavorRef': '1'}}. 'networks' is a required property"
            ),
        ),
    )
}

/// Nova's `check_num_instances_quota`: when `max_count` is over the quota
/// but `min_count` fits, as many servers as fit are created.
async fn max_count_over_quota_creates_what_fits(server: &TestServer) -> Check {
    let base = project_base();
    let mut body = create_body("fit");
    body["server"]["max_count"] = json!(3);
    let answer = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(body),
    )
    .await;
    if answer.status != 202 {
        return Err(format!(
            "POST /servers max_count 3 with room for 2: Nova answers 202 and creates fit-1 and fit-2, this server {:?}",
            fault_of(answer)
        ));
    }
    let mut listed = names(server, &base, "servers").await;
    listed.sort();
    if listed != ["fit-1", "fit-2"] {
        return Err(format!("max_count 3 with room for 2 created {listed:?}"));
    }
    // With one server left to fit and two asked at least, Nova names the
    // range asked for.
    let other = project_base();
    create_id(server, &other, "first").await;
    let mut body = create_body("more");
    body["server"]["min_count"] = json!(2);
    body["server"]["max_count"] = json!(3);
    let answer = send(
        server,
        Method::POST,
        &format!("{other}/servers"),
        None,
        Some(body),
    )
    .await;
    expect(
        "POST /servers min_count 2 max_count 3 with room for 1",
        fault_of(answer),
        (
            403,
            "Quota exceeded for instances: Requested 2-3, but already used 1 of 2 instances"
                .to_owned(),
        ),
    )
}

/// Nova's `createImage` makes the snapshot in the image service at once
/// (queued, then saving): the image the answer names can be shown, through
/// the compute API's images proxy and the image service.
async fn a_snapshot_can_be_shown(server: &TestServer) -> Check {
    let base = project_base();
    let id = create_id(server, &base, "snapped").await;
    let answer = action(server, &base, &id, json!({"createImage": {"name": "snap"}})).await;
    if answer.status != 202 {
        return Err(format!("createImage answered {}", answer.status));
    }
    let location = answer.header("location").to_owned();
    let image = location.rsplit('/').next().unwrap_or_default().to_owned();
    let proxy = get(server, &format!("/v2.1/images/{image}")).await;
    let glance = get(server, &format!("/image/v2/images/{image}")).await;
    let got = (
        proxy.status,
        glance.status,
        proxy.body["image"]["name"].clone(),
    );
    if got == (200, 200, json!("snap")) {
        Ok(())
    } else {
        Err(format!(
            "GET /v2.1/images/{image} and /image/v2/images/{image} after createImage: Nova answers 200 with the image named snap, this server {} and {}",
            proxy.status, glance.status
        ))
    }
}

/// Nova's `create` before 2.19 stores the name as the description
/// (`description = name`), which 2.19 shows.
async fn description_before_2_19_is_the_name(server: &TestServer) -> Check {
    let base = project_base();
    let id = create_id(server, &base, "described").await;
    let shown = get_at(server, &format!("{base}/servers/{id}"), "2.19").await;
    let description = shown.body["server"]["description"].clone();
    if description == "described" {
        Ok(())
    } else {
        Err(format!(
            "GET /servers/{{id}} at 2.19 of a server created at 2.1: Nova shows description \"described\", this server {description}"
        ))
    }
}

/// Nova's `_get_next_link` rebuilds the query from
/// `OrderedDict(sorted(request.params.items()))` and then sets `marker`.
async fn next_links_sort_the_query(server: &TestServer) -> Check {
    let base = project_base();
    create_id(server, &base, "lnk-1").await;
    let last = create_id(server, &base, "lnk-2").await;
    let answer = get(server, &format!("{base}/servers?name=lnk&limit=1")).await;
    let href = answer.body["servers_links"][0]["href"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let want = format!(
        "http://{}{base}/servers?limit=1&name=lnk&marker={last}",
        server.addr()
    );
    if href == want {
        Ok(())
    } else {
        Err(format!(
            "next link of GET /servers?name=lnk&limit=1: Nova answers {want}, this server {href}"
        ))
    }
}
