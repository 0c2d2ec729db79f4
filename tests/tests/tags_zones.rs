//! Server tags, availability zones, the server password and request ids
//! over real TCP, against the shipped `etc/nova-rs/api-paste.ini` (a copy
//! whose builds and actions end at once, its store in memory): what a
//! client sees, in Nova's statuses, fault kinds and words.
//!
//! One server serves every step; each step works in a project of its own
//! (`/v2.1/{project_id}/…`, which the shared token acts for, as an admin),
//! so no step sees another's servers.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use nova_tests::{api_paste_with, assert_fault, send, Answer, TestServer, CIRROS, INSTANT_CLOUD};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn tags_zones_and_passwords_answer_as_nova_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with(dir.path(), INSTANT_CLOUD);
    let server = TestServer::start_config(&config).await;
    one_tag_is_added_checked_listed_and_removed(&server).await;
    the_whole_set_of_tags_is_replaced_and_filters_the_listing(&server).await;
    tags_are_refused_past_novas_limits_and_before_2_26(&server).await;
    a_stopped_or_locked_server_takes_tags_and_a_deleted_one_has_none(&server).await;
    zones_are_listed_and_a_create_is_checked_against_them(&server).await;
    the_password_is_empty_until_set_and_is_cleared(&server).await;
    every_answer_carries_its_request_id_and_actions_record_it(&server).await;
    server.stop().await;
}

/// `/v2.1/{a fresh project id}`.
fn project_base() -> String {
    format!("/v2.1/{}", Uuid::new_v4().simple())
}

/// Creates a server under `base` at `version` with `extra` fields and
/// waits until it is active; its id.
async fn active_server(server: &TestServer, base: &str, version: &str, extra: Value) -> String {
    let mut body = json!({"server": {"name": "tagged", "imageRef": CIRROS, "flavorRef": "1"}});
    if let (Some(fields), Value::Object(more)) = (body["server"].as_object_mut(), extra) {
        fields.extend(more);
    }
    let path = format!("{base}/servers");
    let created = send(server, Method::POST, &path, Some(version), Some(body)).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["server"]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = send(server, Method::GET, &format!("{path}/{id}"), None, None).await;
        if shown.body["server"]["status"] == "ACTIVE" {
            return id;
        }
        assert!(Instant::now() < deadline, "never active: {}", shown.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn one_tag_is_added_checked_listed_and_removed(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "2.26", json!({})).await;
    let tags = format!("{base}/servers/{id}/tags");
    let before = send(
        server,
        Method::GET,
        &format!("{base}/servers/{id}"),
        None,
        None,
    )
    .await;

    let added = send(
        server,
        Method::PUT,
        &format!("{tags}/web"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!((added.status, &added.body), (201, &Value::Null));
    assert_eq!(added.header("location"), server.url(&format!("{tags}/web")));
    let again = send(
        server,
        Method::PUT,
        &format!("{tags}/web"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(again.status, 204);
    let spaced = send(
        server,
        Method::PUT,
        &format!("{tags}/two%20words"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(spaced.status, 201);
    assert!(spaced.header("location").ends_with("/tags/two%20words"));

    let has = send(
        server,
        Method::GET,
        &format!("{tags}/web"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!((has.status, &has.body), (204, &Value::Null));
    let lacks = send(
        server,
        Method::GET,
        &format!("{tags}/db"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(
        assert_fault(&lacks.body, "itemNotFound", 404),
        format!("Server {id} has no tag 'db'")
    );
    let listed = send(server, Method::GET, &tags, Some("2.26"), None).await;
    assert_eq!(
        (listed.status, &listed.body),
        (200, &json!({"tags": ["web", "two words"]}))
    );
    // The server shows its tags from 2.26, and a tag change is no change
    // to the server's `updated` time.
    let shown = send(
        server,
        Method::GET,
        &format!("{base}/servers/{id}"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(shown.body["server"]["tags"], json!(["web", "two words"]));
    assert_eq!(
        shown.body["server"]["updated"],
        before.body["server"]["updated"]
    );
    let old = send(
        server,
        Method::GET,
        &format!("{base}/servers/{id}"),
        Some("2.25"),
        None,
    )
    .await;
    assert!(old.body["server"].get("tags").is_none());

    let removed = send(
        server,
        Method::DELETE,
        &format!("{tags}/web"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(removed.status, 204);
    let gone = send(
        server,
        Method::DELETE,
        &format!("{tags}/web"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(
        assert_fault(&gone.body, "itemNotFound", 404),
        format!("Instance {id} has no tag 'web'")
    );
    let unknown = Uuid::new_v4();
    let missing = send(
        server,
        Method::GET,
        &format!("{base}/servers/{unknown}/tags"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(
        assert_fault(&missing.body, "itemNotFound", 404),
        format!("Instance {unknown} has no mapping to a cell.")
    );
}

async fn the_whole_set_of_tags_is_replaced_and_filters_the_listing(server: &TestServer) {
    let base = project_base();
    let tagged = active_server(
        server,
        &base,
        "2.52",
        json!({"tags": ["a"], "networks": "none"}),
    )
    .await;
    let plain = active_server(server, &base, "2.26", json!({})).await;
    let tags = format!("{base}/servers/{tagged}/tags");
    let set = send(
        server,
        Method::PUT,
        &tags,
        Some("2.26"),
        Some(json!({"tags": ["prod", "web", "prod"]})),
    )
    .await;
    assert_eq!(
        (set.status, &set.body),
        (200, &json!({"tags": ["prod", "web"]}))
    );
    let ids = |answer: &Answer| -> Vec<String> {
        answer.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let listing = format!("{base}/servers");
    for (query, expected) in [
        ("tags=prod,web", vec![tagged.clone()]),
        ("not-tags=prod", vec![plain.clone()]),
        ("tags-any=a,web", vec![tagged.clone()]),
    ] {
        let answer = send(
            server,
            Method::GET,
            &format!("{listing}?{query}"),
            Some("2.26"),
            None,
        )
        .await;
        assert_eq!(ids(&answer), expected, "{query}");
    }
    let cleared = send(server, Method::DELETE, &tags, Some("2.26"), None).await;
    assert_eq!((cleared.status, &cleared.body), (204, &Value::Null));
    let listed = send(server, Method::GET, &tags, Some("2.26"), None).await;
    assert_eq!(listed.body, json!({"tags": []}));
}

async fn tags_are_refused_past_novas_limits_and_before_2_26(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "2.26", json!({})).await;
    let tags = format!("{base}/servers/{id}/tags");
    let old = send(server, Method::GET, &tags, Some("2.25"), None).await;
    assert_eq!(
        assert_fault(&old.body, "itemNotFound", 404),
        "The resource could not be found."
    );
    let long = "x".repeat(61);
    let refused = send(
        server,
        Method::PUT,
        &format!("{tags}/{long}"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(
        assert_fault(&refused.body, "badRequest", 400),
        format!("Tag '{long}' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: '{long}' is too long")
    );
    let comma = send(
        server,
        Method::PUT,
        &format!("{tags}/a,b"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(comma.status, 400);
    let fifty: Vec<String> = (0..50).map(|n| format!("t{n}")).collect();
    let full = send(
        server,
        Method::PUT,
        &tags,
        Some("2.26"),
        Some(json!({ "tags": fifty })),
    )
    .await;
    assert_eq!(full.status, 200);
    let over = send(
        server,
        Method::PUT,
        &format!("{tags}/t50"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(
        assert_fault(&over.body, "badRequest", 400),
        "The number of tags exceeded the per-server limit 50"
    );
    let many: Vec<String> = (0..51).map(|n| format!("t{n}")).collect();
    let too_many = send(
        server,
        Method::PUT,
        &tags,
        Some("2.26"),
        Some(json!({ "tags": many })),
    )
    .await;
    assert_eq!(too_many.status, 400, "{}", too_many.body);
    let body = send(
        server,
        Method::PUT,
        &format!("{tags}/t1"),
        Some("2.26"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        assert_fault(&body.body, "badRequest", 400),
        "{} is not of type 'null'"
    );
}

async fn a_stopped_or_locked_server_takes_tags_and_a_deleted_one_has_none(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "2.26", json!({})).await;
    // A stopped server takes tags, and a locked one too: Nova checks no
    // lock for tags.
    let path = format!("{base}/servers/{id}");
    let act = format!("{path}/action");
    let action = |body: Value| send(server, Method::POST, &act, None, Some(body));
    assert_eq!(action(json!({"os-stop": null})).await.status, 202);
    assert_eq!(action(json!({"lock": null})).await.status, 202);
    let added = send(
        server,
        Method::PUT,
        &format!("{path}/tags/stopped"),
        Some("2.26"),
        None,
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    // Deleted: no tags to read.
    assert_eq!(action(json!({"unlock": null})).await.status, 202);
    assert_eq!(
        send(server, Method::DELETE, &path, None, None).await.status,
        204
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let read = send(
            server,
            Method::GET,
            &format!("{path}/tags"),
            Some("2.26"),
            None,
        )
        .await;
        if read.status == 404 {
            assert_eq!(
                assert_fault(&read.body, "itemNotFound", 404),
                format!("Instance {id} could not be found.")
            );
            break;
        }
        assert!(Instant::now() < deadline, "never gone: {}", read.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn zones_are_listed_and_a_create_is_checked_against_them(server: &TestServer) {
    let listed = send(
        server,
        Method::GET,
        "/v2.1/os-availability-zone",
        None,
        None,
    )
    .await;
    assert_eq!(
        (listed.status, &listed.body),
        (
            200,
            &json!({"availabilityZoneInfo": [
                {"zoneName": "nova", "zoneState": {"available": true}, "hosts": null},
            ]})
        )
    );
    // The shared token is an admin: it sees the detail.
    let detail = send(
        server,
        Method::GET,
        "/v2.1/os-availability-zone/detail",
        None,
        None,
    )
    .await;
    assert_eq!(detail.status, 200);
    let zones = detail.body["availabilityZoneInfo"].as_array().unwrap();
    assert_eq!(zones[0]["zoneName"], "internal");
    assert_eq!(zones[1]["zoneName"], "nova");
    assert_eq!(
        zones[1]["hosts"]["nova-rs"]["nova-compute"]["available"],
        true
    );

    let base = project_base();
    let body = |zone: &str| json!({"server": {"name": "z", "imageRef": CIRROS, "flavorRef": "1", "availability_zone": zone}});
    let path = format!("{base}/servers");
    let elsewhere = send(server, Method::POST, &path, None, Some(body("elsewhere"))).await;
    assert_eq!(
        assert_fault(&elsewhere.body, "badRequest", 400),
        "The requested availability zone is not available"
    );
    let unparsable = send(server, Method::POST, &path, None, Some(body("a:b:c:d"))).await;
    assert_eq!(
        assert_fault(&unparsable.body, "badRequest", 400),
        "Invalid input received: Unable to parse availability_zone"
    );
    // From 2.37 a create names its networks.
    let mut pinned = body("nova:nova-rs");
    pinned["server"]["networks"] = json!("none");
    let forced = send(server, Method::POST, &path, Some("2.96"), Some(pinned)).await;
    assert_eq!(forced.status, 202, "{}", forced.body);
    let id = forced.body["server"]["id"].as_str().unwrap();
    let shown = send(
        server,
        Method::GET,
        &format!("{path}/{id}"),
        Some("2.96"),
        None,
    )
    .await;
    assert_eq!(shown.body["server"]["OS-EXT-AZ:availability_zone"], "nova");
    assert_eq!(shown.body["server"]["pinned_availability_zone"], "nova");
}

async fn the_password_is_empty_until_set_and_is_cleared(server: &TestServer) {
    let base = project_base();
    let id = active_server(server, &base, "2.1", json!({})).await;
    let path = format!("{base}/servers/{id}/os-server-password");
    let shown = send(server, Method::GET, &path, None, None).await;
    assert_eq!((shown.status, &shown.body), (200, &json!({"password": ""})));
    let cleared = send(server, Method::DELETE, &path, None, None).await;
    assert_eq!((cleared.status, &cleared.body), (204, &Value::Null));
    let unknown = format!("{base}/servers/{}/os-server-password", Uuid::new_v4());
    let missing = send(server, Method::GET, &unknown, None, None).await;
    assert_eq!(missing.status, 404);
}

async fn every_answer_carries_its_request_id_and_actions_record_it(server: &TestServer) {
    let base = project_base();
    let body = json!({"server": {"name": "ids", "imageRef": CIRROS, "flavorRef": "1"}});
    let created = send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(body),
    )
    .await;
    let id = created.body["server"]["id"].as_str().unwrap().to_owned();
    let paths = [
        (Method::GET, format!("{base}/servers/{id}")),
        (Method::GET, format!("{base}/servers/{}", Uuid::new_v4())),
        (Method::GET, "/v2.1/os-availability-zone".to_owned()),
        (Method::PATCH, format!("{base}/servers")),
        (Method::GET, "/v2.1/no-such-thing".to_owned()),
        (Method::GET, "/v2.1/".to_owned()),
        (Method::GET, "/v2".to_owned()),
    ];
    let mut seen = vec![created.header("x-compute-request-id").to_owned()];
    for (method, path) in paths {
        let answer = send(server, method.clone(), &path, None, None).await;
        let compute = answer.header("x-compute-request-id");
        assert!(compute.starts_with("req-"), "{method} {path}: {compute}");
        assert_eq!(
            compute,
            answer.header("x-openstack-request-id"),
            "{method} {path}"
        );
        seen.push(compute.to_owned());
    }
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "one id per request");
    // The create's action is recorded under the id its answer carried.
    let actions = send(
        server,
        Method::GET,
        &format!("{base}/servers/{id}/os-instance-actions"),
        None,
        None,
    )
    .await;
    assert_eq!(
        actions.body["instanceActions"][0]["request_id"],
        created.header("x-compute-request-id")
    );
    let one = send(
        server,
        Method::GET,
        &format!(
            "{base}/servers/{id}/os-instance-actions/{}",
            created.header("x-compute-request-id")
        ),
        None,
        None,
    )
    .await;
    assert_eq!(one.body["instanceAction"]["action"], "create");
}
