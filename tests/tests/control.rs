//! The control API for tests over real TCP, against the shipped
//! `etc/nova-rs/api-paste.ini` on a controlled clock: behaviours make
//! creates, builds, deletes, actions, compute requests and token requests
//! misbehave as asked, a moved clock ends builds and expires tokens, a
//! server's state can be forced, and the request log shows what clients
//! sent, never a token.
//!
//! One server serves every step of the main test, in order (they share
//! the clock); each step works in a project of its own
//! (`/v2.1/{project_id}/…`, which the shared token acts for) and matches
//! its behaviours on that project, so no step fires another's.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use nova_server::{registry, Overrides};
use nova_tests::{
    api_paste_with_sections, assert_fault, send, status_and_json, Answer, TestServer, CIRROS, TOKEN,
};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const CONTROL_APP: &str = "[app:control_app]";
const COMPUTE_APP: &str = "[app:osapi_compute_app_v21]";

/// Builds of one second, everything else at once, on a controlled clock.
fn controlled_config(dir: &std::path::Path) -> std::path::PathBuf {
    api_paste_with_sections(
        dir,
        &[
            (
                COMPUTE_APP,
                &[
                    ("build_seconds", "1"),
                    ("reboot_seconds", "0"),
                    ("delete_seconds", "0"),
                    ("action_seconds", "0"),
                ],
            ),
            (CONTROL_APP, &[("clock", "controlled")]),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_control_api_makes_the_cloud_misbehave_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_config(&controlled_config(dir.path())).await;
    the_control_api_wants_its_token_and_documents_itself(&server).await;
    a_create_fails_as_often_as_asked_then_succeeds(&server).await;
    behaviours_are_checked_whole_when_registered(&server).await;
    a_compute_request_fails_with_retry_after_or_answers_late(&server).await;
    a_build_ends_in_error_once_the_clock_passes_its_instant(&server).await;
    a_long_build_ends_when_the_clock_is_moved(&server).await;
    a_stuck_build_waits_for_its_behaviour_to_go(&server).await;
    server_metadata_asks_for_a_failure_without_the_control_api(&server).await;
    a_delete_fails_twice_then_works(&server).await;
    an_action_can_fail_or_leave_the_server_in_error(&server).await;
    a_servers_state_can_be_forced(&server).await;
    tokens_expire_by_the_moved_clock_and_token_requests_can_fail(&server).await;
    the_request_log_shows_what_clients_sent_and_no_token(&server).await;
    server.stop().await;
}

/// `/v2.1/{a fresh project id}` and that id.
fn project() -> (String, String) {
    let id = Uuid::new_v4().simple().to_string();
    (format!("/v2.1/{id}"), id)
}

/// A control API request with the control token.
async fn control(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> Answer {
    send(server, method, &format!("/control{path}"), None, body).await
}

/// Registers `behavior`; the id it was given.
async fn behave(server: &TestServer, behavior: Value) -> String {
    let added = control(server, Method::POST, "/behaviors", Some(behavior.clone())).await;
    assert_eq!(added.status, 201, "{}", added.body);
    let shown = &added.body["behavior"];
    for key in ["event", "match", "behavior"] {
        if let Some(given) = behavior.get(key) {
            assert!(
                shows(&shown[key], given),
                "{key}: {given} shown as {}",
                shown[key]
            );
        }
    }
    assert_eq!(shown["fired"], 0);
    shown["id"].as_str().unwrap().to_owned()
}

/// Whether `shown` holds everything `given` does (defaults may be added;
/// numbers compare by value, `5` as `5.0`).
fn shows(shown: &Value, given: &Value) -> bool {
    match (shown, given) {
        (Value::Object(shown), Value::Object(given)) => given
            .iter()
            .all(|(key, value)| shown.get(key).is_some_and(|have| shows(have, value))),
        (Value::Number(shown), Value::Number(given)) => shown.as_f64() == given.as_f64(),
        _ => shown == given,
    }
}

/// The behaviour `id` as listed.
async fn listed(server: &TestServer, id: &str) -> Value {
    let all = control(server, Method::GET, "/behaviors", None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    all.body["behaviors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|behavior| behavior["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn advance(server: &TestServer, seconds: f64) -> Value {
    let moved = control(
        server,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": seconds})),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    moved.body["clock"].clone()
}

async fn create(server: &TestServer, base: &str, name: &str, extra: Value) -> Answer {
    let mut body = json!({"server": {"name": name, "imageRef": CIRROS, "flavorRef": "1"}});
    if let (Some(fields), Value::Object(more)) = (body["server"].as_object_mut(), extra) {
        fields.extend(more);
    }
    send(
        server,
        Method::POST,
        &format!("{base}/servers"),
        None,
        Some(body),
    )
    .await
}

/// Creates a server and answers its id.
async fn created(server: &TestServer, base: &str, name: &str, extra: Value) -> String {
    let answer = create(server, base, name, extra).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    answer.body["server"]["id"].as_str().unwrap().to_owned()
}

async fn show(server: &TestServer, base: &str, id: &str) -> Value {
    let shown = send(
        server,
        Method::GET,
        &format!("{base}/servers/{id}"),
        Some("2.96"),
        None,
    )
    .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    shown.body["server"].clone()
}

async fn the_control_api_wants_its_token_and_documents_itself(server: &TestServer) {
    for token in [None, Some("not-the-token")] {
        let mut request = server.client.get(server.url("/control/behaviors"));
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        let (status, body) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!(status, 401, "{body}");
        assert_fault(&body, "unauthorized", 401);
    }
    // Its document needs no token, and names every route.
    let (status, document) = status_and_json(
        server
            .client
            .get(server.url("/control/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    for path in [
        "/behaviors",
        "/behaviors/{behavior_id}",
        "/clock",
        "/clock/advance",
        "/servers/{server_id}/state",
        "/requests",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} documented");
    }
    let clock = control(server, Method::GET, "/clock", None).await;
    assert_eq!(clock.status, 200, "{}", clock.body);
    assert_eq!(clock.body["clock"]["mode"], "controlled");
}

async fn a_create_fails_as_often_as_asked_then_succeeds(server: &TestServer) {
    let (base, project) = project();
    // The issue's example, kept to this step's project.
    let id = behave(
        server,
        json!({"event": "server.create", "match": {"name": "^db-", "project": project},
               "behavior": {"fail": {"status": 500, "message": "injected"}}, "times": 2}),
    )
    .await;
    for _ in 0..2 {
        let failed = create(server, &base, "db-1", json!({})).await;
        assert_eq!(failed.fault("computeFault", 500), "injected");
    }
    // Another name never matched; the third db- create works.
    created(server, &base, "web-1", json!({})).await;
    created(server, &base, "db-1", json!({})).await;
    let listed = listed(server, &id).await;
    assert_eq!(listed["fired"], 2);
    assert_eq!(listed["times"], 2);
    assert_eq!(listed["active"], false);
    let servers = send(server, Method::GET, &format!("{base}/servers"), None, None).await;
    let mut names: Vec<_> = servers.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["db-1", "web-1"], "failed creates left nothing");
    // Metadata criteria: every pair given must be the server's.
    behave(
        server,
        json!({"event": "server.create", "match": {"metadata": {"tier": "db", "zone": "a"}, "project": project},
               "behavior": {"fail": {"status": 503, "message": "no db servers today"}}}),
    )
    .await;
    let half = create(server, &base, "m-1", json!({"metadata": {"tier": "db"}})).await;
    assert_eq!(half.status, 202, "{}", half.body);
    let both = json!({"metadata": {"tier": "db", "zone": "a", "more": "x"}});
    let refused = create(server, &base, "m-2", both).await;
    assert_eq!(
        refused.fault("serviceUnavailable", 503),
        "no db servers today"
    );
    // One behaviour shown and removed by id.
    let one = control(server, Method::GET, &format!("/behaviors/{id}"), None).await;
    assert_eq!(one.body["behavior"]["id"], id.as_str());
    let removed = control(server, Method::DELETE, &format!("/behaviors/{id}"), None).await;
    assert_eq!(removed.status, 204);
    let again = control(server, Method::DELETE, &format!("/behaviors/{id}"), None).await;
    again.fault("itemNotFound", 404);
}

async fn behaviours_are_checked_whole_when_registered(server: &TestServer) {
    let refused = [
        json!({"event": "server.explode", "behavior": {"stuck": {}}}),
        json!({"event": "api", "behavior": {"error": {}}}),
        json!({"event": "server.build", "behavior": {"fail": {"status": 500}}}),
        json!({"event": "server.create", "behavior": {"fail": {"status": 200}}}),
        json!({"event": "server.create", "match": {"name": "("}, "behavior": {"stuck": {}}}),
        json!({"event": "server.create", "match": {"method": "GET"}, "behavior": {"stuck": {}}}),
        json!({"event": "api", "behavior": {"delay": {"ms": 10_000_000}}}),
        json!({"event": "api", "behavior": {"delay": {"ms": 1}}, "times": 0}),
        json!({"event": "api", "behavior": {"delay": {"ms": 1}, "fail": {"status": 500}}}),
        json!({"event": "api", "behavior": {"delay": {"ms": 1}}, "surprise": true}),
    ];
    for body in refused {
        let answer = control(server, Method::POST, "/behaviors", Some(body.clone())).await;
        let message = answer.fault("badRequest", 400);
        assert!(message.starts_with("Invalid behavior"), "{body}: {message}");
    }
    let not_json = server
        .request(Method::POST, "/control/behaviors")
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(not_json).await;
    assert_eq!(status, 400, "{body}");
}

async fn a_compute_request_fails_with_retry_after_or_answers_late(server: &TestServer) {
    let (base, project) = project();
    let limited = behave(
        server,
        json!({"event": "api",
               "match": {"method": "GET", "path": "/servers/detail", "project": project},
               "behavior": {"fail": {"status": 429, "message": "slow down", "retry_after": 7}},
               "times": 1}),
    )
    .await;
    let answer = send(
        server,
        Method::GET,
        &format!("{base}/servers/detail"),
        None,
        None,
    )
    .await;
    assert_eq!(answer.fault("overLimit", 429), "slow down");
    assert_eq!(answer.header("retry-after"), "7");
    // Once only; other paths never.
    let answer = send(
        server,
        Method::GET,
        &format!("{base}/servers/detail"),
        None,
        None,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(listed(server, &limited).await["fired"], 1);

    behave(
        server,
        json!({"event": "api", "match": {"path": "/flavors", "project": project},
               "behavior": {"delay": {"ms": 300}}}),
    )
    .await;
    let began = Instant::now();
    let answer = send(server, Method::GET, &format!("{base}/flavors"), None, None).await;
    assert_eq!(answer.status, 200);
    assert!(
        began.elapsed() >= Duration::from_millis(300),
        "{:?}",
        began.elapsed()
    );
}

async fn a_build_ends_in_error_once_the_clock_passes_its_instant(server: &TestServer) {
    let (base, project) = project();
    behave(
        server,
        json!({"event": "server.build", "match": {"project": project},
               "behavior": {"error": {"after_seconds": 5, "message": "No valid host was found."}},
               "times": 1}),
    )
    .await;
    let id = created(server, &base, "doomed", json!({})).await;
    let building = show(server, &base, &id).await;
    assert_eq!(building["status"], "BUILD");
    assert!(building.get("fault").is_none(), "{building}");
    advance(server, 5.0).await;
    let failed = show(server, &base, &id).await;
    assert_eq!(failed["status"], "ERROR");
    assert_eq!(failed["fault"]["code"], 500);
    assert_eq!(failed["fault"]["message"], "No valid host was found.");
    assert!(failed["fault"]["created"].is_string(), "{failed}");
    // The behaviour fired once: the next build is an ordinary one.
    let next = created(server, &base, "fine", json!({})).await;
    advance(server, 1.0).await;
    assert_eq!(show(server, &base, &next).await["status"], "ACTIVE");
}

async fn a_long_build_ends_when_the_clock_is_moved(server: &TestServer) {
    let (base, project) = project();
    behave(
        server,
        json!({"event": "server.build", "match": {"project": project},
               "behavior": {"build": {"seconds": 600}}}),
    )
    .await;
    let id = created(server, &base, "slow", json!({})).await;
    advance(server, 590.0).await;
    assert_eq!(show(server, &base, &id).await["status"], "BUILD");
    advance(server, 11.0).await;
    let built = show(server, &base, &id).await;
    assert_eq!(built["status"], "ACTIVE", "{built}");
}

async fn a_stuck_build_waits_for_its_behaviour_to_go(server: &TestServer) {
    let (base, project) = project();
    let stuck = behave(
        server,
        json!({"event": "server.build", "match": {"project": project},
               "behavior": {"stuck": {}}, "times": 1}),
    )
    .await;
    let id = created(server, &base, "stuck", json!({})).await;
    advance(server, 365.0 * 86_400.0).await;
    let shown = show(server, &base, &id).await;
    assert_eq!(shown["status"], "BUILD");
    assert_eq!(shown["OS-EXT-STS:task_state"], "spawning");
    let removed = control(server, Method::DELETE, &format!("/behaviors/{stuck}"), None).await;
    assert_eq!(removed.status, 204);
    assert_eq!(show(server, &base, &id).await["status"], "ACTIVE");
}

async fn server_metadata_asks_for_a_failure_without_the_control_api(server: &TestServer) {
    let (base, _) = project();
    let errored = created(
        server,
        &base,
        "meta-error",
        json!({"metadata": {"nova-rs:behavior": "error"}}),
    )
    .await;
    let shown = show(server, &base, &errored).await;
    assert_eq!(shown["status"], "ERROR", "{shown}");
    assert_eq!(shown["fault"]["code"], 500);
    let slow = created(
        server,
        &base,
        "meta-slow",
        json!({"metadata": {"nova-rs:behavior": "build:120"}}),
    )
    .await;
    advance(server, 60.0).await;
    assert_eq!(show(server, &base, &slow).await["status"], "BUILD");
    advance(server, 61.0).await;
    assert_eq!(show(server, &base, &slow).await["status"], "ACTIVE");
    let refused = create(
        server,
        &base,
        "meta-fail",
        json!({"metadata": {"nova-rs:behavior": "fail:503"}}),
    )
    .await;
    refused.fault("serviceUnavailable", 503);
}

async fn a_delete_fails_twice_then_works(server: &TestServer) {
    let (base, project) = project();
    let id = created(server, &base, "sticky", json!({})).await;
    advance(server, 1.0).await;
    behave(
        server,
        json!({"event": "server.delete", "match": {"project": project},
               "behavior": {"fail": {"status": 500, "message": "delete failed"}}, "times": 2}),
    )
    .await;
    let path = format!("{base}/servers/{id}");
    for _ in 0..2 {
        let answer = send(server, Method::DELETE, &path, None, None).await;
        assert_eq!(answer.fault("computeFault", 500), "delete failed");
        assert_eq!(show(server, &base, &id).await["status"], "ACTIVE");
    }
    let answer = send(server, Method::DELETE, &path, None, None).await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    let gone = send(server, Method::GET, &path, None, None).await;
    gone.fault("itemNotFound", 404);
}

async fn an_action_can_fail_or_leave_the_server_in_error(server: &TestServer) {
    let (base, project) = project();
    let id = created(server, &base, "acting", json!({})).await;
    advance(server, 1.0).await;
    let action = format!("{base}/servers/{id}/action");
    behave(
        server,
        json!({"event": "server.action", "match": {"action": "os-stop", "project": project},
               "behavior": {"fail": {"status": 409, "message": "not now"}}, "times": 1}),
    )
    .await;
    let stop = send(
        server,
        Method::POST,
        &action,
        None,
        Some(json!({"os-stop": null})),
    )
    .await;
    assert_eq!(stop.fault("conflictingRequest", 409), "not now");
    assert_eq!(show(server, &base, &id).await["status"], "ACTIVE");
    behave(
        server,
        json!({"event": "server.action", "match": {"action": "reboot", "project": project},
               "behavior": {"error": {"message": "reboot failed"}}, "times": 1}),
    )
    .await;
    let reboot = send(
        server,
        Method::POST,
        &action,
        None,
        Some(json!({"reboot": {"type": "SOFT"}})),
    )
    .await;
    assert_eq!(reboot.status, 202, "{}", reboot.body);
    let failed = show(server, &base, &id).await;
    assert_eq!(failed["status"], "ERROR", "{failed}");
    assert_eq!(failed["fault"]["message"], "reboot failed");
}

async fn a_servers_state_can_be_forced(server: &TestServer) {
    let (base, _) = project();
    let id = created(server, &base, "forced", json!({})).await;
    advance(server, 1.0).await;
    let forced = control(
        server,
        Method::POST,
        &format!("/servers/{id}/state"),
        Some(json!({"status": "SHUTOFF"})),
    )
    .await;
    assert_eq!(forced.status, 200, "{}", forced.body);
    assert_eq!(forced.body["server"]["status"], "SHUTOFF");
    let shown = show(server, &base, &id).await;
    assert_eq!(shown["status"], "SHUTOFF");
    assert_eq!(shown["OS-EXT-STS:vm_state"], "stopped");
    let forced = control(
        server,
        Method::POST,
        &format!("/servers/{id}/state"),
        Some(json!({"status": "ERROR", "task_state": "rebooting"})),
    )
    .await;
    assert_eq!(forced.status, 200, "{}", forced.body);
    let shown = show(server, &base, &id).await;
    assert_eq!(shown["status"], "ERROR");
    assert_eq!(shown["OS-EXT-STS:task_state"], "rebooting");
    let unknown = control(
        server,
        Method::POST,
        &format!("/servers/{}/state", Uuid::new_v4()),
        Some(json!({"status": "ACTIVE"})),
    )
    .await;
    unknown.fault("itemNotFound", 404);
    let bad = control(
        server,
        Method::POST,
        &format!("/servers/{id}/state"),
        Some(json!({"status": "EXPLODED"})),
    )
    .await;
    bad.fault("badRequest", 400);
}

async fn issue_token(server: &TestServer) -> reqwest::Response {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"id": "default"}, "password": "open-sesame"}}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}});
    server
        .client
        .post(server.url("/identity/v3/auth/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn tokens_expire_by_the_moved_clock_and_token_requests_can_fail(server: &TestServer) {
    let issued = issue_token(server).await;
    assert_eq!(issued.status(), 201);
    let token = issued
        .headers()
        .get("x-subject-token")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let with_token = || {
        server
            .client
            .get(server.url("/v2.1/servers"))
            .header("X-Auth-Token", &token)
            .send()
    };
    assert_eq!(with_token().await.unwrap().status(), 200);
    // The shipped lifetime is an hour.
    advance(server, 3601.0).await;
    assert_eq!(with_token().await.unwrap().status(), 401);

    behave(
        server,
        json!({"event": "identity.token", "behavior": {"fail": {"status": 503, "message": "keystone is down"}},
               "times": 1}),
    )
    .await;
    let (status, body) = status_and_json(issue_token(server).await).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], 503);
    assert_eq!(body["error"]["message"], "keystone is down");
    assert_eq!(body["error"]["title"], "Service Unavailable");
    assert_eq!(issue_token(server).await.status(), 201);
}

async fn the_request_log_shows_what_clients_sent_and_no_token(server: &TestServer) {
    let issued = issue_token(server).await;
    assert_eq!(issued.status(), 201);
    let token = issued.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, token_body) = status_and_json(issued).await;
    let project_id = token_body["token"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = server
        .client
        .get(server.url("/v2.1/servers/detail?limit=3"))
        .header("X-Auth-Token", &token)
        .header("OpenStack-API-Version", "compute 2.79")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let request_id = listed.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let log = control(server, Method::GET, "/requests?limit=5", None).await;
    assert_eq!(log.status, 200, "{}", log.body);
    let requests = log.body["requests"].as_array().unwrap();
    assert!(requests.len() <= 5);
    let entry = requests
        .iter()
        .find(|entry| entry["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("{request_id} not in {}", log.body));
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], "/v2.1/servers/detail");
    assert_eq!(entry["query"], "limit=3");
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["microversion"], "2.79");
    assert_eq!(entry["service"], "compute");
    assert_eq!(entry["project_id"], project_id.as_str());
    assert!(entry["latency_ms"].is_number(), "{entry}");
    // The token request is there too, and neither token anywhere.
    let everything = control(server, Method::GET, "/requests?limit=1000", None).await;
    let all = everything.body["requests"].as_array().unwrap();
    assert!(all.len() > 20, "{} requests", all.len());
    assert!(all
        .iter()
        .any(|entry| entry["service"] == "identity" && entry["status"] == 201));
    let text = everything.body.to_string();
    assert!(!text.contains(TOKEN), "the shared token was recorded");
    assert!(!text.contains(&token), "a Keystone token was recorded");
    let bad = control(server, Method::GET, "/requests?limit=0", None).await;
    bad.fault("badRequest", 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_clock_cannot_be_moved() {
    let dir = tempfile::tempdir().unwrap();
    let config = api_paste_with_sections(dir.path(), &[]);
    let server = TestServer::start_config(&config).await;
    let clock = control(&server, Method::GET, "/clock", None).await;
    assert_eq!(clock.body["clock"]["mode"], "real");
    let moved = control(
        &server,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 10})),
    )
    .await;
    let message = moved.fault("conflictingRequest", 409);
    assert!(message.contains("clock = controlled"), "{message}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn behaviours_and_the_clock_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = controlled_config(dir.path());
    let store = format!("sqlite:{}", dir.path().join("nova.db").display());
    let on_disk = || {
        registry(&Overrides {
            store: Some(store.clone()),
            ..Overrides::default()
        })
    };
    let first = TestServer::start_config_with(&config, &on_disk()).await;
    let id = behave(
        &first,
        json!({"event": "server.create", "behavior": {"fail": {"status": 500}}, "times": 2}),
    )
    .await;
    let (base, _) = project();
    create(&first, &base, "x", json!({}))
        .await
        .fault("computeFault", 500);
    let moved = advance(&first, 86_400.0).await;
    first.stop().await;

    let second = TestServer::start_config_with(&config, &on_disk()).await;
    let kept = listed(&second, &id).await;
    assert_eq!(kept["fired"], 1);
    assert_eq!(kept["times"], 2);
    let clock = control(&second, Method::GET, "/clock", None).await;
    assert!(
        clock.body["clock"]["offset_seconds"].as_f64().unwrap()
            >= moved["offset_seconds"].as_f64().unwrap(),
        "{} then {}",
        moved,
        clock.body
    );
    create(&second, &base, "x", json!({}))
        .await
        .fault("computeFault", 500);
    // The compute API reads the moved clock too: a day ahead.
    let id = created(&second, &base, "y", json!({})).await;
    let shown = show(&second, &base, &id).await;
    let created_at: jiff::Timestamp = shown["created"].as_str().unwrap().parse().unwrap();
    let ahead = created_at.duration_since(jiff::Timestamp::now());
    assert!(
        ahead.as_secs() > 86_000,
        "created {created_at}, {ahead:?} ahead"
    );
    second.stop().await;
}

/// Two processes on one PostgreSQL database (where
/// `NOVA_TEST_POSTGRES_URL` names a server, as in CI): a behaviour
/// registered through one fires in the other, its count is shared, and
/// the clock one moves is the other's.
#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_postgres_share_behaviours_and_the_clock() {
    let Some(server_url) = nova_tests::postgres::server_url() else {
        return;
    };
    let database = nova_tests::postgres::fresh_database(&server_url).await;
    let dir = tempfile::tempdir().unwrap();
    let config = controlled_config(dir.path());
    let shared = registry(&Overrides {
        store: Some(database),
        ..Overrides::default()
    });
    let a = TestServer::start_config_with(&config, &shared).await;
    let b = TestServer::start_config_with(&config, &shared).await;
    let (base, project) = project();
    let id = behave(
        &a,
        json!({"event": "server.create", "match": {"project": project},
               "behavior": {"fail": {"status": 503}}, "times": 1}),
    )
    .await;
    create(&b, &base, "one", json!({}))
        .await
        .fault("serviceUnavailable", 503);
    // Fired once, in B: spent for A too.
    created(&a, &base, "two", json!({})).await;
    assert_eq!(listed(&a, &id).await["fired"], 1);
    assert_eq!(listed(&b, &id).await["active"], false);

    let building = created(&a, &base, "three", json!({})).await;
    assert_eq!(show(&b, &base, &building).await["status"], "BUILD");
    let moved = advance(&a, 3600.0).await;
    let on_b = control(&b, Method::GET, "/clock", None).await;
    assert!(
        on_b.body["clock"]["offset_seconds"].as_f64().unwrap()
            >= moved["offset_seconds"].as_f64().unwrap()
    );
    assert_eq!(show(&b, &base, &building).await["status"], "ACTIVE");
    a.stop().await;
    b.stop().await;
}
