//! Tests of the `controller` module, beside it: they reach its private items.

use super::*;
use crate::{MemoryStore, StoreError, StoreFuture};
use http::header::CONTENT_TYPE;
use http::Method;
use serde_json::{json, Value};

struct Harness {
    controller: InstanceController,
}

impl Harness {
    fn new() -> Self {
        Self::over(Arc::new(MemoryStore::seeded()))
    }

    fn over(store: Arc<dyn InstanceStore>) -> Self {
        Harness {
            controller: InstanceController::new(store),
        }
    }

    async fn call(
        &self,
        action: &str,
        id: Option<&str>,
        method: Method,
        form: Option<&str>,
    ) -> (StatusCode, Value) {
        let params = id
            .map(|id| vec![("instance_id".to_owned(), id.to_owned())])
            .unwrap_or_default();
        let mut builder = http::Request::builder().method(method).uri("/");
        if form.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let mut req = builder
            .body(Bytes::from(form.unwrap_or_default().to_owned()))
            .unwrap();
        req.extensions_mut()
            .insert(RoutingArgs::new(action, params));
        let response = self.controller.call(req).await.unwrap();
        let status = response.status();
        let body = if response.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(response.body()).unwrap()
        };
        (status, body)
    }

    async fn names(&self) -> Vec<String> {
        let (_, body) = self.call("index", None, Method::GET, None).await;
        body["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn a_new_controller_lists_the_three_seed_instances() {
    let harness = Harness::new();
    assert_eq!(harness.names().await, ["inst-0", "inst-1", "inst-2"]);
}

#[tokio::test]
async fn create_show_update_delete_round_trip() {
    let harness = Harness::new();
    let (status, created) = harness
        .call("create", None, Method::POST, Some("name=demo_one"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 4);

    let (status, shown) = harness.call("show", Some(&id), Method::GET, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        shown,
        json!({"instance": {
            "id": id,
            "name": "demo_one",
            "created_at": created["instance"]["created_at"],
            "updated_at": created["instance"]["updated_at"],
        }})
    );

    let (status, updated) = harness
        .call("update", Some(&id), Method::PUT, Some("name=renamed"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["instance"]["name"], "renamed");
    assert_eq!(
        harness.names().await,
        ["inst-0", "inst-1", "inst-2", "renamed"]
    );

    let (status, body) = harness
        .call("delete", Some(&id), Method::DELETE, None)
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = harness.call("show", Some(&id), Method::GET, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["itemNotFound"]["code"], 404);
}

#[tokio::test]
async fn the_location_of_a_new_instance_keeps_the_mount_point() {
    let harness = Harness::new();
    for (mount, expected_prefix) in [(None, "/instances/"), (Some("/v2.1"), "/v2.1/instances/")] {
        let mut req = http::Request::post("/instances")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Bytes::from_static(b"name=web"))
            .unwrap();
        req.extensions_mut()
            .insert(RoutingArgs::new("create", vec![]));
        if let Some(mount) = mount {
            req.extensions_mut().insert(ScriptName::new(mount));
        }
        let response = harness.controller.call(req).await.unwrap();
        let location = response.headers()[LOCATION].to_str().unwrap();
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        let id = body["instance"]["id"].as_str().unwrap();
        assert_eq!(location, format!("{expected_prefix}{id}"));
    }
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_not_found_for_every_action() {
    let harness = Harness::new();
    let unknown = Uuid::new_v4().to_string();
    let simple = Uuid::new_v4().simple().to_string();
    for id in [unknown.as_str(), "not-a-uuid", simple.as_str(), ""] {
        for (action, method, form) in [
            ("show", Method::GET, None),
            ("update", Method::PUT, Some("name=x")),
            ("delete", Method::DELETE, None),
        ] {
            let (status, body) = harness.call(action, Some(id), method, form).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{action} {id}");
            assert_eq!(body["itemNotFound"]["code"], 404);
        }
    }
    assert_eq!(harness.names().await.len(), 3);
}

#[tokio::test]
async fn a_bad_name_on_update_changes_nothing() {
    let harness = Harness::new();
    let (_, listing) = harness.call("index", None, Method::GET, None).await;
    let id = listing["instances"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = harness
        .call("update", Some(&id), Method::PUT, Some("name="))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["badRequest"]["message"],
        "invalid name: name must not be empty"
    );
    assert_eq!(harness.names().await, ["inst-0", "inst-1", "inst-2"]);
}

#[tokio::test]
async fn a_request_without_routing_args_is_a_server_fault() {
    let harness = Harness::new();
    let req = http::Request::get("/instances").body(Bytes::new()).unwrap();
    let response = harness.controller.call(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        body["computeFault"]["message"],
        "the request was not routed"
    );
}

#[tokio::test]
async fn every_routed_action_is_one_the_controller_has() {
    let harness = Harness::new();
    for (_, _, action) in nova_router::instance_routes().routes() {
        let (status, _) = harness.call(action, Some("x"), Method::GET, None).await;
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{action}");
    }
    let (status, _) = harness.call("reboot", None, Method::POST, None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// A store every operation of which fails with the same error.
struct Failing(StoreError);

impl Failing {
    fn fail<T: Send + 'static>(&self) -> StoreFuture<'static, T> {
        Box::pin(std::future::ready(Err(self.0.clone())))
    }
}

impl InstanceStore for Failing {
    fn list(&self) -> StoreFuture<'_, Vec<Instance>> {
        self.fail()
    }
    fn insert(&self, _: Instance) -> StoreFuture<'_, ()> {
        self.fail()
    }
    fn get(&self, _: Uuid) -> StoreFuture<'_, Option<Instance>> {
        self.fail()
    }
    fn rename(&self, _: Uuid, _: String, _: IfMatch) -> StoreFuture<'_, Change<Instance>> {
        self.fail()
    }
    fn delete(&self, _: Uuid, _: IfMatch) -> StoreFuture<'_, Change<()>> {
        self.fail()
    }
}

thread_local! {
    /// What this thread has logged since it last took its log.
    static LOGGED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes log lines into the logging thread's own [`LOGGED`] buffer.
struct ThisThreadsLog;

impl std::io::Write for ThisThreadsLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGGED.with(|logged| logged.borrow_mut().extend_from_slice(bytes));
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing this thread's log lines (a current-thread test
/// runtime runs the controller on it) and returns what it logged
/// since. One global subscriber, set once for the test binary, writes
/// each line to the buffer of the thread that logged it: a subscriber
/// set for one thread only would race with tests on other threads
/// that reach the same log call sites first, and lose lines.
fn take_log() -> String {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| ThisThreadsLog)
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    let bytes = LOGGED.with(|logged| std::mem::take(&mut *logged.borrow_mut()));
    String::from_utf8_lossy(&bytes).into_owned()
}

// The driver's words (a path, an SQL error) used to be the 503's
// message; they go to the log now, and the client gets ours.
#[tokio::test]
async fn a_store_failure_is_answered_in_our_words_and_logged_in_the_drivers() {
    let drivers_words = "disk I/O error writing /var/lib/nova/nova.db-wal";
    let id = Uuid::new_v4();
    let table = [
        (
            StoreError::Unavailable {
                reason: drivers_words.to_owned(),
            },
            drivers_words.to_owned(),
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceUnavailable",
            "the instance store cannot be reached",
        ),
        (
            StoreError::Corrupt {
                reason: drivers_words.to_owned(),
            },
            drivers_words.to_owned(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "computeFault",
            "the instance store failed",
        ),
        (
            StoreError::DuplicateId { id },
            id.to_string(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "computeFault",
            "the instance store failed",
        ),
    ];
    for (error, secret, status, kind, message) in table {
        take_log();
        let harness = Harness::over(Arc::new(Failing(error.clone())));
        let some_id = Uuid::new_v4().to_string();
        for (action, method, form) in [
            ("index", Method::GET, None),
            ("create", Method::POST, Some("name=web")),
            ("show", Method::GET, None),
            ("update", Method::PUT, Some("name=web")),
            ("delete", Method::DELETE, None),
        ] {
            let (got, body) = harness.call(action, Some(&some_id), method, form).await;
            assert_eq!(got, status, "{action}: {body}");
            assert_eq!(
                body,
                json!({ kind: { "code": status.as_u16(), "message": message } }),
                "{action}"
            );
            assert!(!body.to_string().contains(&secret), "{action}: {body}");
        }
        let log = take_log();
        let logged = log.lines().filter(|line| line.contains("ERROR")).count();
        assert_eq!(logged, 5, "one error line per request: {log}");
        assert!(log.contains(&error.to_string()), "{log}");
    }
}

#[test]
fn an_etag_is_the_version_in_quotes() {
    for (version, tag) in [
        (0, "\"0\""),
        (1, "\"1\""),
        (42, "\"42\""),
        (u64::MAX, "\"18446744073709551615\""),
    ] {
        assert_eq!(etag(version), tag);
    }
}
