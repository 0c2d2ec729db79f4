//! Pipelines built from paste.deploy files, over real TCP: the seed's own
//! `configure.ini` (copied verbatim into `tests/config/`) behaves as the
//! built-in default, and the shipped `api-paste.ini` serves the version
//! document, the health check and the authenticated API with request ids on
//! every response.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nova_router::{service_fn, Request};
use nova_tests::{assert_fault, repo_file, status_and_json, TestServer};
use reqwest::header::{ALLOW, CONTENT_TYPE, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Every UUID in a value replaced by `<uuid>` and every timestamp by
/// `<time>`, so two servers' answers compare equal.
fn without_ids(value: Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("created_at") => Value::Object(
            map.into_iter()
                .map(|(key, value)| match key.as_str() {
                    "created_at" | "updated_at" => (key, Value::String("<time>".into())),
                    _ => (key, without_ids(value)),
                })
                .collect(),
        ),
        Value::String(text) if Uuid::try_parse(&text).is_ok() => Value::String("<uuid>".into()),
        Value::String(text) => Value::String(match text.rsplit_once('/') {
            Some((head, tail)) if Uuid::try_parse(tail).is_ok() => format!("{head}/<uuid>"),
            _ => text,
        }),
        Value::Array(items) => Value::Array(items.into_iter().map(without_ids).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, without_ids(value)))
                .collect(),
        ),
        other => other,
    }
}

/// What a client sees of one answer, ids masked.
async fn observe(response: reqwest::Response) -> Value {
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let seen = json!({
        "content_type": header(CONTENT_TYPE),
        "allow": header(ALLOW),
        "location": header(LOCATION).map(Value::String).map(without_ids),
        "request_id": header(reqwest::header::HeaderName::from_static("x-openstack-request-id")).is_some(),
    });
    let (status, body) = status_and_json(response).await;
    json!({"status": status, "headers": seen, "body": without_ids(body)})
}

/// The seed's walk-through and every kind of refusal, as a client sees them.
async fn session(server: &TestServer) -> Vec<Value> {
    let mut seen = Vec::new();
    let get = server
        .request(Method::GET, "/instances")
        .send()
        .await
        .unwrap();
    seen.push(observe(get).await);
    let anonymous = server
        .client
        .get(server.url("/instances"))
        .send()
        .await
        .unwrap();
    seen.push(observe(anonymous).await);
    let created = server
        .request(Method::POST, "/instances")
        .form(&[("name", "demo_one")])
        .send()
        .await
        .unwrap();
    let location = created.headers()[LOCATION].to_str().unwrap().to_owned();
    seen.push(observe(created).await);
    let shown = server.request(Method::GET, &location).send().await.unwrap();
    seen.push(observe(shown).await);
    let renamed = server
        .request(Method::PUT, &location)
        .json(&json!({"instance": {"name": "demo_two"}}))
        .send()
        .await
        .unwrap();
    seen.push(observe(renamed).await);
    let deleted = server
        .request(Method::DELETE, &location)
        .send()
        .await
        .unwrap();
    seen.push(observe(deleted).await);
    let missing = server.request(Method::GET, "/nope").send().await.unwrap();
    seen.push(observe(missing).await);
    let wrong_method = server
        .request(Method::PUT, "/instances")
        .send()
        .await
        .unwrap();
    seen.push(observe(wrong_method).await);
    let head = server
        .request(Method::HEAD, "/instances")
        .send()
        .await
        .unwrap();
    seen.push(observe(head).await);
    let bad = server
        .request(Method::POST, "/instances")
        .form(&[("name", "")])
        .send()
        .await
        .unwrap();
    seen.push(observe(bad).await);
    // Declared too large, never sent: the answer must not wait for it.
    let oversize = server
        .raw(
            b"POST /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 300000\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
    let status_line = oversize.lines().next().unwrap_or_default().to_owned();
    seen.push(json!({"oversize": status_line}));
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_configure_ini_verbatim_behaves_as_the_builtin_default() {
    let seed_file = repo_file("tests/config/configure.ini");
    let text = std::fs::read_to_string(&seed_file).unwrap();
    assert!(text.starts_with("[pipeline:main]\npipeline = auth instance\n"));

    let builtin = TestServer::start().await;
    let from_seed = TestServer::start_config(&seed_file).await;
    let expected = session(&builtin).await;
    let actual = session(&from_seed).await;
    assert_eq!(actual, expected);
    // And the session is what the README promises, not merely the same.
    assert_eq!(expected[0]["status"], 200);
    assert_eq!(
        expected[0]["body"]["instances"].as_array().unwrap().len(),
        3
    );
    assert_eq!(expected[1]["status"], 403);
    assert_eq!(expected[2]["headers"]["location"], "/instances/<uuid>");
    assert_eq!(expected[7]["headers"]["allow"], "GET, HEAD, POST");
    assert_eq!(expected[10]["oversize"], "HTTP/1.1 413 Payload Too Large");
    assert!(expected
        .iter()
        .all(|seen| seen["headers"]["request_id"] != true));
    builtin.stop().await;
    from_seed.stop().await;
}

fn request_id(response: &reqwest::Response) -> String {
    let id = response.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()["x-compute-request-id"], id.as_str());
    let uuid = id.strip_prefix("req-").expect("req- prefix");
    assert_eq!(Uuid::parse_str(uuid).unwrap().get_version_num(), 4);
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_paste_file_serves_versions_healthcheck_and_the_authenticated_api_with_request_ids()
{
    let server = TestServer::start_config(&repo_file("etc/nova-rs/api-paste.ini")).await;
    let mut ids = Vec::new();

    // GET /: the version document, without a token.
    let response = server.client.get(server.url("/")).send().await.unwrap();
    ids.push(request_id(&response));
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    // v2.0 first, as Nova sorts them; then v2.1.
    assert_eq!(body["versions"][0]["id"], "v2.0");
    assert_eq!(body["versions"][1]["id"], "v2.1");
    assert_eq!(
        body["versions"][1]["links"][0]["href"],
        format!("http://{}/v2.1/", server.addr())
    );

    // GET /healthcheck, without a token.
    let response = server
        .client
        .get(server.url("/healthcheck"))
        .send()
        .await
        .unwrap();
    ids.push(request_id(&response));
    let (status, body) = status_and_json(response).await;
    assert_eq!(
        (status, body),
        (200, json!({"detailed": false, "reasons": ["OK"]}))
    );

    // The API wants a token: keystonemiddleware's 401, naming the
    // identity service.
    let response = server
        .client
        .get(server.url("/v2.1/instances"))
        .send()
        .await
        .unwrap();
    ids.push(request_id(&response));
    assert_eq!(
        response.headers()["www-authenticate"],
        format!("Keystone uri=\"http://{}/identity\"", server.addr()).as_str()
    );
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["title"], "Unauthorized");

    let response = server
        .request(Method::GET, "/v2.1/instances")
        .send()
        .await
        .unwrap();
    ids.push(request_id(&response));
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["instances"].as_array().unwrap().len(), 3);

    // The Location of a new instance keeps the mount point, and works.
    let response = server
        .request(Method::POST, "/v2.1/instances")
        .form(&[("name", "demo_one")])
        .send()
        .await
        .unwrap();
    ids.push(request_id(&response));
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(response.status(), 201);
    assert!(location.starts_with("/v2.1/instances/"), "{location}");
    let response = server.request(Method::GET, &location).send().await.unwrap();
    ids.push(request_id(&response));
    let (status, body) = status_and_json(response).await;
    assert_eq!(
        (status, &body["instance"]["name"]),
        (200, &json!("demo_one"))
    );

    // Refusals carry ids too: unknown paths, the size limit (whether the
    // body was read or refused unread), bad input.
    let response = server.request(Method::GET, "/nope").send().await.unwrap();
    ids.push(request_id(&response));
    assert_eq!(response.status(), 404);
    let response = server
        .request(Method::POST, "/v2.1/instances")
        .form(&[("name", "x".repeat(200 * 1024))])
        .send()
        .await;
    if let Ok(response) = response {
        ids.push(request_id(&response));
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 413);
        assert_fault(&body, "overLimit", 413);
    }
    let answer = server
        .raw(
            b"POST /v2.1/instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 300000\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    assert!(answer.contains("x-openstack-request-id: req-"), "{answer}");
    let response = server
        .request(Method::POST, "/v2.1/instances")
        .form(&[("name", "")])
        .send()
        .await
        .unwrap();
    ids.push(request_id(&response));
    assert_eq!(response.status(), 400);

    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "every response has its own id");

    // Nothing of the refused requests was stored.
    let response = server
        .request(Method::GET, "/v2.1/instances")
        .send()
        .await
        .unwrap();
    let (_, body) = status_and_json(response).await;
    assert_eq!(body["instances"].as_array().unwrap().len(), 4);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_below_faultwrap_is_a_500_with_a_request_id_and_the_server_keeps_serving() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("faultwrap-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("api.ini");
    std::fs::write(
        &file,
        "[pipeline:main]\npipeline = request_id faultwrap boom\n\
         [filter:request_id]\nuse = egg:nova-rs#request_id\n\
         [filter:faultwrap]\nuse = egg:nova-rs#faultwrap\n\
         [app:boom]\nuse = boom\n",
    )
    .unwrap();
    let mut registry = nova_server::registry(&nova_server::Overrides::default());
    registry.add_app("boom", |_config| {
        Ok(nova_server::AppPlan::app(Arc::new(service_fn(
            |req: Request| async move {
                if req.uri().path() == "/boom" {
                    panic!("handler exploded");
                }
                http::Response::new(Bytes::from_static(b"{}"))
            },
        ))))
    });
    let server = TestServer::start_config_with(&file, &registry).await;
    for _ in 0..3 {
        let response = server.client.get(server.url("/boom")).send().await.unwrap();
        request_id(&response);
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 500);
        assert_fault(&body, "computeFault", 500);
        let fine = server.client.get(server.url("/fine")).send().await.unwrap();
        assert_eq!(fine.status(), 200);
    }
    server.stop().await;
}
