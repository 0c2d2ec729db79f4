//! The control app's tests: each endpoint's answers, success and refusal,
//! as a test client sees them.

use nova_compute::state::{power_state, task_state, vm_state, Lifecycle, State};
use nova_compute::MemoryServerStore;

use super::*;
use crate::test_support::{server, stuck, Unreachable, UNREACHABLE_REASON};
use crate::{ControlledClock, MemoryControl, RecordedRequest};

const TOKEN: &str = "control-secret";

struct Harness {
    store: Arc<MemoryControl>,
    servers: Arc<MemoryServerStore>,
    clock: ControlledClock,
    log: RequestLog,
    app: ControlApp,
}

fn harness() -> Harness {
    let store = Arc::new(MemoryControl::new());
    let servers = Arc::new(MemoryServerStore::new());
    let clock = ControlledClock::new(0);
    let log = RequestLog::new(100);
    let app = ControlApp::new(
        store.clone(),
        servers.clone(),
        ControlClock::Controlled(clock.clone()),
        log.clone(),
        TOKEN.to_owned(),
    );
    Harness {
        store,
        servers,
        clock,
        log,
        app,
    }
}

fn request(method: Method, path: &str, body: &str) -> Request {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("x-auth-token", TOKEN)
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

async fn send(app: &ControlApp, method: Method, path: &str, body: &str) -> (u16, Value) {
    let response = app.call(request(method, path, body)).await.unwrap();
    let status = response.status().as_u16();
    let value = if response.body().is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(response.body()).unwrap()
    };
    (status, value)
}

const FAIL_TWICE: &str = r#"{"event": "server.create", "match": {"name": "^db-"},
    "behavior": {"fail": {"status": 500, "message": "injected"}}, "times": 2}"#;

#[tokio::test]
async fn every_request_needs_the_control_token() {
    let h = harness();
    let unauthorized = json!({"unauthorized": {"code": 401,
        "message": "The control API needs its token in X-Auth-Token."}});
    for token in [None, Some("wrong"), Some(""), Some("control-secret2")] {
        for path in ["/behaviors", "/nowhere"] {
            let mut builder = http::Request::get(path);
            if let Some(token) = token {
                builder = builder.header("x-auth-token", token);
            }
            let response = h
                .app
                .call(builder.body(Bytes::new()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{token:?} {path}");
            let body: Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body, unauthorized);
        }
    }
    let open = ControlApp::new(
        h.store.clone(),
        h.servers.clone(),
        ControlClock::Real,
        h.log.clone(),
        String::new(),
    );
    let empty = http::Request::get("/behaviors")
        .header("x-auth-token", "")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        open.call(empty).await.unwrap().status(),
        401,
        "an empty token opens nothing"
    );
    assert!(!format!("{:?}", h.app).contains(TOKEN), "never shown");
}

#[tokio::test]
async fn only_callers_on_this_machine_are_served_unless_remote_ones_are_allowed() {
    let h = harness();
    let from = |address: &str| {
        let mut req = request(Method::GET, "/clock", "");
        req.extensions_mut()
            .insert(PeerAddr(address.parse().unwrap()));
        req
    };
    for local in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
        let response = h.app.call(from(local)).await.unwrap();
        assert_eq!(response.status(), 200, "{local}");
    }
    let response = h.app.call(from("192.0.2.7:5000")).await.unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    let message = body["forbidden"]["message"].as_str().unwrap();
    assert!(message.contains("allow_remote = true"), "{message}");
    let open = h.app.clone().allow_remote(true);
    assert_eq!(
        open.call(from("192.0.2.7:5000")).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_behavior_is_created_listed_shown_and_deleted() {
    let h = harness();
    let create = h
        .app
        .call(request(Method::POST, "/behaviors", FAIL_TWICE))
        .await
        .unwrap();
    assert_eq!(create.status(), 201);
    let created: Value = serde_json::from_slice(create.body()).unwrap();
    let behavior = &created["behavior"];
    let id = behavior["id"].as_str().unwrap().to_owned();
    assert_eq!(create.headers()["location"], format!("/behaviors/{id}"));
    assert_eq!(
        *behavior,
        json!({"id": id, "event": "server.create", "match": {"name": "^db-"},
            "behavior": {"fail": {"status": 500, "message": "injected"}},
            "times": 2, "fired": 0, "active": true})
    );
    let (status, listed) = send(&h.app, Method::GET, "/behaviors", "").await;
    assert_eq!(
        (status, listed["behaviors"].clone()),
        (200, json!([behavior]))
    );

    // Fired out: still listed, no longer active.
    h.store.fire_behavior(id.clone()).await.unwrap();
    h.store.fire_behavior(id.clone()).await.unwrap();
    let (status, shown) = send(&h.app, Method::GET, &format!("/behaviors/{id}"), "").await;
    assert_eq!(status, 200);
    assert_eq!(shown["behavior"]["fired"], 2);
    assert_eq!(shown["behavior"]["active"], false);

    let path = format!("/behaviors/{id}");
    assert_eq!(
        send(&h.app, Method::DELETE, &path, "").await,
        (204, Value::Null)
    );
    let (status, body) = send(&h.app, Method::GET, &path, "").await;
    assert_eq!(status, 404);
    assert_eq!(
        body["itemNotFound"]["message"],
        format!("Behavior {id} could not be found.")
    );
    assert_eq!(send(&h.app, Method::DELETE, &path, "").await.0, 404);
}

#[tokio::test]
async fn a_bad_behavior_is_a_400_with_the_reason() {
    let h = harness();
    let table = [
        (
            r#"{"event": "server.build", "behavior": {"fail": {"status": 500}}}"#,
            "Invalid behavior: event server.build cannot have behavior fail; it takes error, build or stuck",
        ),
        (
            r#"{"event": "api", "match": {"name": "x"}, "behavior": {"delay": {"ms": 1}}}"#,
            "Invalid behavior: event api cannot match on name",
        ),
        ("[1, 2]", "The request body must be a JSON object."),
        ("not json", "The request body must be a JSON object."),
        ("", "The request body must be a JSON object."),
    ];
    for (body, message) in table {
        let (status, answer) = send(&h.app, Method::POST, "/behaviors", body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["badRequest"]["message"], message, "{body}");
    }
    let (_, answer) = send(
        &h.app,
        Method::POST,
        "/behaviors",
        r#"{"event": "server.nap"}"#,
    )
    .await;
    let message = answer["badRequest"]["message"].as_str().unwrap();
    assert!(message.starts_with("Invalid behavior: "), "{message}");
    assert!(h.store.behaviors().await.unwrap().is_empty());
}

#[tokio::test]
async fn deleting_behaviors_releases_the_servers_they_held() {
    let h = harness();
    let (_, created) = send(
        &h.app,
        Method::POST,
        "/behaviors",
        r#"{"event": "server.build", "behavior": {"stuck": {}}}"#,
    )
    .await;
    let id = created["behavior"]["id"].as_str().unwrap().to_owned();
    let building = |name: &str, holder: &str| {
        stuck(
            server(
                name,
                Lifecycle::settled(State::settled(vm_state::BUILDING, 0)),
            ),
            task_state::SPAWNING,
            State::settled(vm_state::ACTIVE, power_state::RUNNING),
            holder,
        )
    };
    let held = building("a", &id);
    let by_metadata = building("b", METADATA_STUCK_ID);
    let ids = [held.id, by_metadata.id];
    h.servers
        .create_servers(vec![held, by_metadata])
        .await
        .unwrap();
    let status_of = |id| {
        let servers = h.servers.clone();
        let clock = h.clock.clone();
        async move {
            let server = servers.server(id).await.unwrap().unwrap();
            let lifecycle = server.details.as_deref().unwrap().lifecycle();
            lifecycle.at(clock.now()).status()
        }
    };
    assert_eq!(status_of(ids[0]).await, "BUILD");

    let path = format!("/behaviors/{id}");
    assert_eq!(send(&h.app, Method::DELETE, &path, "").await.0, 204);
    assert_eq!(status_of(ids[0]).await, "ACTIVE");
    assert_eq!(status_of(ids[1]).await, "BUILD", "held by its metadata");

    assert_eq!(send(&h.app, Method::DELETE, "/behaviors", "").await.0, 204);
    assert_eq!(status_of(ids[1]).await, "ACTIVE");
    assert!(h.store.behaviors().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_controlled_clock_is_shown_and_moved() {
    let h = harness();
    let (status, shown) = send(&h.app, Method::GET, "/clock", "").await;
    assert_eq!(status, 200);
    assert_eq!(shown["clock"]["mode"], "controlled");
    assert_eq!(shown["clock"]["offset_seconds"], 0.0);
    let now = shown["clock"]["now"].as_str().unwrap();
    assert_eq!(now.len(), 27, "microseconds and Z: {now}");
    assert!(now.ends_with('Z') && now.parse::<Timestamp>().is_ok());

    let before = h.clock.now();
    let (status, moved) = send(
        &h.app,
        Method::POST,
        "/clock/advance",
        r#"{"seconds": 1.5}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(moved["clock"]["offset_seconds"], 1.5);
    assert_eq!(h.clock.offset(), 1_500_000);
    assert_eq!(h.store.clock_offset().await.unwrap(), 1_500_000);
    let shown_now: Timestamp = moved["clock"]["now"].as_str().unwrap().parse().unwrap();
    assert!(shown_now.unix_micros() - before.unix_micros() >= 1_500_000);

    // Another process on a shared store moved it further: read back.
    h.store.advance_clock(1_000_000).await.unwrap();
    let (_, shown) = send(&h.app, Method::GET, "/clock", "").await;
    assert_eq!(shown["clock"]["offset_seconds"], 2.5);
}

#[tokio::test]
async fn a_clock_advance_must_be_a_positive_number_up_to_ten_years() {
    let h = harness();
    for body in [
        r#"{"seconds": 0}"#,
        r#"{"seconds": -5}"#,
        r#"{"seconds": 315576001}"#,
        r#"{"seconds": "60"}"#,
        r#"{"seconds": 60, "also": 1}"#,
        r#"{}"#,
        "60",
    ] {
        let (status, answer) = send(&h.app, Method::POST, "/clock/advance", body).await;
        assert_eq!(status, 400, "{body}");
        assert!(answer["badRequest"]["message"].is_string(), "{body}");
    }
    assert_eq!(h.clock.offset(), 0);
    let (status, _) = send(
        &h.app,
        Method::POST,
        "/clock/advance",
        r#"{"seconds": 315576000}"#,
    )
    .await;
    assert_eq!(status, 200, "ten years is the limit");
}

#[tokio::test]
async fn the_systems_clock_is_shown_but_cannot_be_moved() {
    let h = harness();
    let real = ControlApp::new(
        h.store.clone(),
        h.servers.clone(),
        ControlClock::Real,
        h.log.clone(),
        TOKEN.to_owned(),
    );
    let (status, shown) = send(&real, Method::GET, "/clock", "").await;
    assert_eq!(status, 200);
    assert_eq!(shown["clock"]["mode"], "real");
    assert_eq!(shown["clock"]["offset_seconds"], 0.0);
    let (status, answer) = send(&real, Method::POST, "/clock/advance", r#"{"seconds": 60}"#).await;
    assert_eq!(status, 409);
    assert_eq!(
        answer,
        json!({"conflictingRequest": {"code": 409, "message":
            "The clock is the system's: set clock = controlled in the control app's section to move it."}})
    );
    assert_eq!(h.store.clock_offset().await.unwrap(), 0);
}

#[tokio::test]
async fn a_servers_state_is_forced_and_shown() {
    let h = harness();
    let web = server(
        "web-1",
        Lifecycle::settled(State::settled(vm_state::ACTIVE, power_state::RUNNING)),
    );
    let id = web.id;
    h.servers.create_servers(vec![web]).await.unwrap();
    let path = format!("/servers/{id}/state");
    let (status, answer) = send(
        &h.app,
        Method::POST,
        &path,
        r#"{"status": "SHUTOFF", "task_state": "powering-on"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"server": {"id": id, "status": "SHUTOFF", "vm_state": "stopped",
            "task_state": "powering-on", "power_state": 4}})
    );
    let (status, answer) = send(&h.app, Method::POST, &path, r#"{"status": "ASLEEP"}"#).await;
    assert_eq!(status, 400);
    assert!(answer["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("ASLEEP"));
    let (status, _) = send(&h.app, Method::POST, &path, "[]").await;
    assert_eq!(status, 400);
    for missing in [
        format!("/servers/{}/state", Uuid::new_v4()),
        "/servers/web-1/state".to_owned(),
    ] {
        let (status, answer) = send(&h.app, Method::POST, &missing, r#"{"status": "ERROR"}"#).await;
        assert_eq!(status, 404, "{missing}");
        assert!(answer["itemNotFound"]["message"]
            .as_str()
            .unwrap()
            .ends_with("could not be found."));
    }
}

fn recorded(n: usize) -> RecordedRequest {
    RecordedRequest {
        time: Timestamp::now().to_string(),
        service: "compute".to_owned(),
        method: "GET".to_owned(),
        path: format!("/v2.1/servers/{n}"),
        query: None,
        status: 200,
        microversion: Some("2.95".to_owned()),
        project_id: Some("demo".to_owned()),
        request_id: Some(format!("req-{n}")),
        latency_ms: 1.25,
    }
}

#[tokio::test]
async fn the_request_log_is_listed_oldest_first_up_to_a_limit() {
    let h = harness();
    for n in 0..60 {
        h.log.record(recorded(n));
    }
    let (status, answer) = send(&h.app, Method::GET, "/requests", "").await;
    assert_eq!(status, 200);
    let requests = answer["requests"].as_array().unwrap();
    assert_eq!(requests.len(), DEFAULT_REQUESTS_LIMIT);
    assert_eq!(requests[0]["path"], "/v2.1/servers/10");
    assert_eq!(requests[49]["path"], "/v2.1/servers/59");
    let (_, answer) = send(&h.app, Method::GET, "/requests?limit=2&x=y", "").await;
    let got = answer["requests"].as_array().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1],
        json!({"time": got[1]["time"], "service": "compute", "method": "GET",
            "path": "/v2.1/servers/59", "query": null, "status": 200, "microversion": "2.95",
            "project_id": "demo", "request_id": "req-59", "latency_ms": 1.25})
    );
    for bad in ["0", "1001", "ten", "-1", ""] {
        let (status, answer) =
            send(&h.app, Method::GET, &format!("/requests?limit={bad}"), "").await;
        assert_eq!(status, 400, "{bad}");
        assert!(answer["badRequest"]["message"].is_string());
    }
    let (_, answer) = send(&h.app, Method::GET, "/requests?limit=1000", "").await;
    assert_eq!(answer["requests"].as_array().unwrap().len(), 60);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let h = harness();
    for path in ["/", "/behaviors/a/b", "/servers/x", "/clocks"] {
        let (status, answer) = send(&h.app, Method::GET, path, "").await;
        assert_eq!(status, 404, "{path}");
        assert!(answer["itemNotFound"].is_object());
    }
    let response = h
        .app
        .call(request(Method::PUT, "/clock", "{}"))
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert!(body["badMethod"].is_object());
    let head = h
        .app
        .call(request(Method::HEAD, "/clock", ""))
        .await
        .unwrap();
    assert_eq!((head.status(), head.body().len()), (StatusCode::OK, 0));
}

#[tokio::test]
async fn a_store_failure_is_a_503_without_the_stores_words() {
    let app = ControlApp::new(
        Arc::new(Unreachable),
        Arc::new(MemoryServerStore::new()),
        ControlClock::Controlled(ControlledClock::new(0)),
        RequestLog::new(10),
        TOKEN.to_owned(),
    );
    for (method, path, body) in [
        (Method::GET, "/behaviors", ""),
        (Method::POST, "/behaviors", FAIL_TWICE),
        (Method::DELETE, "/behaviors", ""),
        (Method::GET, "/clock", ""),
        (Method::POST, "/clock/advance", r#"{"seconds": 1}"#),
    ] {
        let response = app.call(request(method.clone(), path, body)).await.unwrap();
        assert_eq!(response.status(), 503, "{method} {path}");
        let text = std::str::from_utf8(response.body()).unwrap();
        assert!(text.contains("serviceUnavailable"), "{text}");
        assert!(!text.contains(UNREACHABLE_REASON), "{text}");
    }
}

#[test]
fn the_openapi_document_describes_every_route_and_nothing_else() {
    let document: Value = serde_json::from_str(CONTROL_OPENAPI_DOCUMENT).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let h = harness();
    let mut served = Vec::new();
    for (template, method, _) in h.app.inner.mapper.routes() {
        let operation = &document["paths"][template][method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not described"
        );
        let responses = operation["responses"].as_object().unwrap();
        for status in ["401", "403", "503"] {
            assert!(
                responses.contains_key(status) || (status == "503" && template == "/requests"),
                "{method} {template} lacks {status}"
            );
        }
        served.push((template.to_owned(), method.as_str().to_lowercase()));
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method == "parameters" {
                continue;
            }
            assert!(
                served.contains(&(path.clone(), method.clone())),
                "{method} {path} is described but not served"
            );
        }
    }
}
