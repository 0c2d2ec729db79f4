//! The control filter's tests: what `api` and `identity.token` behaviours
//! do to a request, the caller's project handed to the request log, and the
//! controlled clock kept current.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use nova_controller::StoreFuture;
use nova_router::service_fn;
use serde_json::{json, Value};

use super::*;
use crate::test_support::{add, Unreachable, UNREACHABLE_REASON};
use crate::{Behavior, MemoryControl};

/// An API that counts its calls and answers 200 `inner`.
fn counted() -> (Arc<AtomicUsize>, impl NovaService) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let api = service_fn(move |_req: Request| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { http::Response::new(Bytes::from_static(b"inner")) }
    });
    (calls, api)
}

fn request(method: Method, path: &str, project: Option<&str>) -> Request {
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .body(Bytes::new())
        .unwrap();
    if let Some(project) = project {
        req.extensions_mut().insert(RequestContext {
            user_id: "u".to_owned(),
            project_id: project.to_owned(),
            roles: vec!["member".to_owned()],
        });
    }
    req
}

fn body(response: &Response) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[tokio::test]
async fn an_api_failure_answers_a_nova_fault_without_calling_the_api() {
    let store = Arc::new(MemoryControl::new());
    add(
        &*store,
        r#"{"event": "api", "match": {"method": "post", "path": "/servers/{id}/action",
            "project": "demo"},
            "behavior": {"fail": {"status": 429, "message": "slow down", "retry_after": 7}},
            "times": 1}"#,
    )
    .await;
    let (calls, api) = counted();
    let filter = ControlHooks::new(api, store, Event::Api, None);
    let misses = [
        request(Method::GET, "/servers/abc/action", Some("demo")),
        request(Method::POST, "/servers/abc/action", Some("alt_demo")),
        request(Method::POST, "/servers/abc/action", None),
        request(Method::POST, "/servers/abc", Some("demo")),
    ];
    for miss in misses {
        assert_eq!(filter.call(miss).await.unwrap().status(), 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let hit = request(Method::POST, "/servers/abc/action/", Some("demo"));
    let response = filter.call(hit).await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(
        body(&response),
        json!({"overLimit": {"code": 429, "message": "slow down"}})
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4, "the API was not asked");
    let again = request(Method::POST, "/servers/abc/action", Some("demo"));
    assert_eq!(
        filter.call(again).await.unwrap().status(),
        200,
        "fired once"
    );
}

#[tokio::test]
async fn behind_a_project_id_the_path_is_the_routed_one_and_the_project_that_segment() {
    let store = Arc::new(MemoryControl::new());
    add(
        &*store,
        r#"{"event": "api", "match": {"path": "/servers/detail", "project": "6f70656e"},
            "behavior": {"fail": {"status": 503}}}"#,
    )
    .await;
    let (calls, api) = counted();
    let filter = ControlHooks::new(api, store, Event::Api, None);
    for miss in [
        request(Method::GET, "/6f70656e/servers", None),
        request(Method::GET, "/0a0a/servers/detail", None),
        request(Method::GET, "/6f70656e/servers/detail", Some("alt")),
        request(Method::GET, "/servers/detail", None),
        request(Method::GET, "/6F70656E/servers/detail", None),
    ] {
        let path = miss.uri().path().to_owned();
        assert_eq!(filter.call(miss).await.unwrap().status(), 200, "{path}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    for hit in [
        request(Method::GET, "/6f70656e/servers/detail", None),
        request(Method::GET, "/servers/detail", Some("6f70656e")),
        request(Method::GET, "/6f70656e/servers/detail", Some("6f70656e")),
    ] {
        let path = hit.uri().path().to_owned();
        assert_eq!(filter.call(hit).await.unwrap().status(), 503, "{path}");
    }
}

#[test]
fn a_leading_project_id_is_split_off_as_the_router_does() {
    let table = [
        ("/6f70656e/servers", (Some("6f70656e"), "/servers")),
        (
            "/ab-12/servers/x/action",
            (Some("ab-12"), "/servers/x/action"),
        ),
        ("/6f70656e", (None, "/6f70656e")),
        ("/6f70656e/", (None, "/6f70656e/")),
        ("/servers/abc", (None, "/servers/abc")),
        ("/flavors", (None, "/flavors")),
        ("/", (None, "/")),
        ("", (None, "")),
    ];
    for (path, expected) in table {
        assert_eq!(split_project_id(path), expected, "{path}");
    }
}

#[tokio::test]
async fn an_api_failure_may_name_its_fault_kind() {
    let store = Arc::new(MemoryControl::new());
    add(
        &*store,
        r#"{"event": "api", "behavior": {"fail": {"status": 500, "kind": "internalError"}}}"#,
    )
    .await;
    let (_, api) = counted();
    let filter = ControlHooks::new(api, store, Event::Api, None);
    let response = filter
        .call(request(Method::GET, "/flavors", None))
        .await
        .unwrap();
    assert_eq!(
        body(&response),
        json!({"internalError": {"code": 500, "message": "Injected failure"}})
    );
    assert!(response.headers().get("retry-after").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_delay_holds_the_request_then_the_api_answers() {
    let store = Arc::new(MemoryControl::new());
    add(
        &*store,
        r#"{"event": "api", "match": {"path": "/servers/detail"},
            "behavior": {"delay": {"ms": 2500}}}"#,
    )
    .await;
    let (calls, api) = counted();
    let filter = ControlHooks::new(api, store, Event::Api, None);
    let started = tokio::time::Instant::now();
    let response = filter
        .call(request(Method::GET, "/servers/detail", None))
        .await
        .unwrap();
    assert_eq!(response.body().as_ref(), b"inner");
    assert!(started.elapsed() >= Duration::from_millis(2500));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let started = tokio::time::Instant::now();
    filter
        .call(request(Method::GET, "/flavors", None))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[tokio::test]
async fn a_token_failure_answers_in_keystones_shape_and_only_token_requests_are_the_event() {
    let store = Arc::new(MemoryControl::new());
    add(
        &*store,
        r#"{"event": "identity.token",
            "behavior": {"fail": {"status": 500, "message": "keystone is down"}}}"#,
    )
    .await;
    let (calls, api) = counted();
    let filter = ControlHooks::new(api, store, Event::IdentityToken, None);
    for other in [
        request(Method::GET, "/v3/auth/tokens", None),
        request(Method::DELETE, "/v3/auth/tokens", None),
        request(Method::POST, "/v3/users", None),
        request(Method::GET, "/v3", None),
    ] {
        assert_eq!(filter.call(other).await.unwrap().status(), 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let response = filter
        .call(request(Method::POST, "/v3/auth/tokens", None))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(
        body(&response),
        json!({"error": {"code": 500, "message": "keystone is down",
            "title": "Internal Server Error"}})
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_token_behavior_can_match_on_the_path_and_fail_with_any_status() {
    let store = Arc::new(MemoryControl::new());
    add(
        &*store,
        r#"{"event": "identity.token", "match": {"path": "/v3/auth/tokens"},
            "behavior": {"fail": {"status": 401, "message": "no", "retry_after": 1}}}"#,
    )
    .await;
    let (_, api) = counted();
    let filter = ControlHooks::new(api, store, Event::IdentityToken, None);
    let response = filter
        .call(request(Method::POST, "/v3/auth/tokens", None))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(body(&response)["error"]["title"], "Unauthorized");
}

#[tokio::test]
async fn the_callers_project_is_written_into_the_slot_when_a_token_named_it() {
    let store = Arc::new(MemoryControl::new());
    let (_, api) = counted();
    let filter = ControlHooks::new(api, store, Event::Api, None);
    let slot = CallerSlot::new();
    let mut req = request(Method::GET, "/servers", Some("demo"));
    req.extensions_mut().insert(slot.clone());
    filter.call(req).await.unwrap();
    assert_eq!(slot.project_id(), Some("demo"));
    let shared_token = CallerSlot::new();
    let mut req = request(Method::GET, "/servers", None);
    req.extensions_mut().insert(shared_token.clone());
    filter.call(req).await.unwrap();
    assert_eq!(shared_token.project_id(), None);
}

/// A memory store that says it is shared, as a PostgreSQL one is.
#[derive(Debug, Default)]
struct Shared(MemoryControl);

impl ControlStore for Shared {
    fn add_behavior(&self, behavior: Behavior) -> StoreFuture<'_, ()> {
        self.0.add_behavior(behavior)
    }
    fn behaviors(&self) -> StoreFuture<'_, Vec<Behavior>> {
        self.0.behaviors()
    }
    fn remove_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        self.0.remove_behavior(id)
    }
    fn remove_behaviors(&self) -> StoreFuture<'_, Vec<String>> {
        self.0.remove_behaviors()
    }
    fn fire_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        self.0.fire_behavior(id)
    }
    fn clock_offset(&self) -> StoreFuture<'_, i64> {
        self.0.clock_offset()
    }
    fn advance_clock(&self, micros: i64) -> StoreFuture<'_, i64> {
        self.0.advance_clock(micros)
    }
    fn is_shared(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_shared_stores_clock_offset_is_read_before_the_api_answers() {
    let store = Arc::new(Shared::default());
    // Another process moved the clock.
    store.advance_clock(90_000_000).await.unwrap();
    let clock = ControlledClock::new(0);
    let (_, api) = counted();
    let filter = ControlHooks::new(api, store.clone(), Event::Api, Some(clock.clone()));
    filter
        .call(request(Method::GET, "/servers", None))
        .await
        .unwrap();
    assert_eq!(clock.offset(), 90_000_000);

    // A store of its own is read at the first request (the clock was
    // moved before a restart), and not again.
    let own = Arc::new(MemoryControl::new());
    own.advance_clock(5).await.unwrap();
    let clock = ControlledClock::new(0);
    let (_, api) = counted();
    let filter = ControlHooks::new(api, own.clone(), Event::Api, Some(clock.clone()));
    for _ in 0..2 {
        filter
            .call(request(Method::GET, "/servers", None))
            .await
            .unwrap();
        assert_eq!(clock.offset(), 5);
        own.advance_clock(7).await.unwrap();
    }
}

#[tokio::test]
async fn a_store_failure_is_a_503_in_the_apis_shape_without_the_stores_words() {
    let (calls, api) = counted();
    let filter = ControlHooks::new(
        api,
        Arc::new(Unreachable),
        Event::Api,
        Some(ControlledClock::new(0)),
    );
    let response = filter
        .call(request(Method::GET, "/servers", None))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(body(&response)["serviceUnavailable"]["message"].is_string());
    let text = std::str::from_utf8(response.body()).unwrap();
    assert!(!text.contains(UNREACHABLE_REASON), "{text}");

    let (_, identity) = counted();
    let filter = ControlHooks::new(identity, Arc::new(Unreachable), Event::IdentityToken, None);
    let response = filter
        .call(request(Method::POST, "/v3/auth/tokens", None))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(body(&response)["error"]["title"], "Service Unavailable");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
