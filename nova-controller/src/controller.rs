//! The controller: `Controller.__call__` and its five actions.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use http::StatusCode;
use nova_router::{
    json_response, Fault, Request, Response, ResponseFuture, RoutingArgs, ScriptName, Service,
};
use serde::Serialize;
use uuid::Uuid;

use crate::params::instance_name;
use crate::{Change, ControllerError, IfMatch, Instance, InstanceStore};

/// The instance API's application: dispatches on the routed action.
///
/// | action | answer |
/// |---|---|
/// | `index` | 200 `{"instances": [{"id", "name"}, …]}`, in creation order |
/// | `create` | 201 `{"instance": {…}}` with `Location: {mount}/instances/{id}` |
/// | `show` | 200 `{"instance": {…}}` |
/// | `update` | 200 `{"instance": {…}}` with the new name |
/// | `delete` | 204, empty body |
///
/// An unknown or malformed id is 404 `itemNotFound`; see
/// [`ControllerError`] for the rest.
///
/// Answers about one instance carry a strong `ETag` made of its version
/// (`"1"` when created, one more at each change). `update` and `delete` honour
/// `If-Match` (412 `preconditionFailed` and no change when it does not match;
/// `*` matches any existing instance; without it the last write wins), and
/// `show` honours `If-None-Match` (304 when it matches).
///
/// The serialised `index` answer is kept and sent again while the store's
/// [`generation`](InstanceStore::generation) says nothing has changed, so
/// an unchanged listing is not serialised anew for every request; a store
/// that cannot tell (PostgreSQL) is listed every time.
#[derive(Clone)]
pub struct InstanceController {
    store: Arc<dyn InstanceStore>,
    listing: Arc<ListingCache>,
}

/// The last serialised listing and the store generation it was read at.
#[derive(Default)]
struct ListingCache {
    kept: Mutex<Option<(u64, Bytes)>>,
}

impl ListingCache {
    fn get(&self, generation: u64) -> Option<Bytes> {
        match &*self.kept.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((kept, body)) if *kept == generation => Some(body.clone()),
            _ => None,
        }
    }

    /// Keeps `body`, read at `generation`, unless a listing read at a later
    /// generation is kept already.
    fn keep(&self, generation: u64, body: Bytes) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.as_ref().is_none_or(|(older, _)| *older < generation) {
            *kept = Some((generation, body));
        }
    }
}

impl std::fmt::Debug for InstanceController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceController").finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct OneInstance<'a> {
    instance: &'a Instance,
}

#[derive(Serialize)]
struct InstanceList<'a> {
    instances: &'a [Instance],
}

impl InstanceController {
    /// A controller over `store`.
    pub fn new(store: Arc<dyn InstanceStore>) -> Self {
        InstanceController {
            store,
            listing: Arc::default(),
        }
    }

    /// The store this controller works on.
    pub fn store(&self) -> &Arc<dyn InstanceStore> {
        &self.store
    }

    /// The `index` answer: the kept one if the store has not changed since
    /// it was serialised, else a fresh one (kept for next time when the
    /// store can tell).
    async fn index(
        store: &dyn InstanceStore,
        listing: &ListingCache,
    ) -> Result<Response, ControllerError> {
        // Read before listing: see InstanceStore::generation.
        let generation = store.generation();
        if let Some(body) = generation.and_then(|generation| listing.get(generation)) {
            return Ok(json_body(StatusCode::OK, body));
        }
        let instances = store.list().await?;
        let response = json_response(
            StatusCode::OK,
            &InstanceList {
                instances: &instances,
            },
        );
        if let (Some(generation), true) = (generation, response.status() == StatusCode::OK) {
            listing.keep(generation, response.body().clone());
        }
        Ok(response)
    }

    async fn dispatch(
        store: Arc<dyn InstanceStore>,
        listing: Arc<ListingCache>,
        req: Request,
    ) -> Result<Response, ControllerError> {
        let args = req
            .extensions()
            .get::<RoutingArgs>()
            .ok_or(ControllerError::NotRouted)?;
        match args.action() {
            "index" => Self::index(&*store, &listing).await,
            "create" => {
                let name = instance_name(&req)?;
                let instance = Instance::new(name);
                store.insert(instance.clone()).await?;
                let mut response = one_instance(StatusCode::CREATED, &instance);
                // Under a URL map the API is mounted below a prefix, which
                // the client needs to reach the new instance.
                let location = format!("{}/instances/{}", ScriptName::of(&req), instance.id);
                if let Ok(location) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(LOCATION, location);
                }
                Ok(response)
            }
            "show" => {
                let id = instance_id(args)?;
                let instance = store.get(id).await?.ok_or_else(|| not_found(args))?;
                if none_match(req.headers(), instance.version) {
                    let mut response = Response::new(Bytes::new());
                    *response.status_mut() = StatusCode::NOT_MODIFIED;
                    response.headers_mut().insert(ETAG, etag(instance.version));
                    return Ok(response);
                }
                Ok(one_instance(StatusCode::OK, &instance))
            }
            "update" => {
                let id = instance_id(args)?;
                let name = instance_name(&req)?;
                let if_match = if_match(req.headers());
                match store.rename(id, name, if_match).await? {
                    Change::Applied(instance) => Ok(one_instance(StatusCode::OK, &instance)),
                    Change::NotFound => Err(not_found(args)),
                    Change::VersionMismatch { current } => {
                        Err(ControllerError::PreconditionFailed { id, current })
                    }
                }
            }
            "delete" => {
                let id = instance_id(args)?;
                match store.delete(id, if_match(req.headers())).await? {
                    Change::Applied(()) => {}
                    Change::NotFound => return Err(not_found(args)),
                    Change::VersionMismatch { current } => {
                        return Err(ControllerError::PreconditionFailed { id, current })
                    }
                }
                let mut response = Response::new(Bytes::new());
                *response.status_mut() = StatusCode::NO_CONTENT;
                Ok(response)
            }
            other => Err(ControllerError::UnknownAction(other.to_owned())),
        }
    }
}

/// A JSON answer with a body serialised earlier.
fn json_body(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(nova_router::JSON_CONTENT_TYPE),
    );
    response
}

/// `{"instance": {…}}` with the instance's `ETag`.
fn one_instance(status: StatusCode, instance: &Instance) -> Response {
    let mut response = json_response(status, &OneInstance { instance });
    response.headers_mut().insert(ETAG, etag(instance.version));
    response
}

/// The strong entity tag of a version: `"7"`.
fn etag(version: u64) -> HeaderValue {
    // Digits and quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The entity tags of every `name` header line, or `None` if one of them is
/// `*`. Weak tags (`W/"7"`) are returned with `weak` set; anything that is
/// not one of our tags cannot match and is left out.
fn entity_tags(headers: &HeaderMap, name: http::header::HeaderName) -> Option<Vec<(bool, u64)>> {
    let mut tags = Vec::new();
    for value in headers.get_all(name) {
        // A value that is not text cannot name any of our tags.
        let Ok(value) = value.to_str() else { continue };
        for tag in value.split(',').map(str::trim) {
            if tag == "*" {
                return None;
            }
            let (weak, tag) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            let version = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|t| t.parse::<u64>().ok());
            if let Some(version) = version {
                tags.push((weak, version));
            }
        }
    }
    Some(tags)
}

/// What `If-Match` asks of the version. It uses the strong comparison, so a
/// weak tag never matches (RFC 9110, 13.1.1).
fn if_match(headers: &HeaderMap) -> IfMatch {
    if !headers.contains_key(IF_MATCH) {
        return IfMatch::Any;
    }
    match entity_tags(headers, IF_MATCH) {
        None => IfMatch::Any,
        Some(tags) => IfMatch::Versions(
            tags.into_iter()
                .filter(|(weak, _)| !weak)
                .map(|(_, version)| version)
                .collect(),
        ),
    }
}

/// Whether `If-None-Match` matches `version`, by the weak comparison
/// (RFC 9110, 13.1.2).
fn none_match(headers: &HeaderMap, version: u64) -> bool {
    if !headers.contains_key(IF_NONE_MATCH) {
        return false;
    }
    match entity_tags(headers, IF_NONE_MATCH) {
        None => true,
        Some(tags) => tags.iter().any(|(_, tag)| *tag == version),
    }
}

/// The instance id of the route, as a UUID. Only the canonical hyphenated
/// form names an instance; anything else cannot, so it is "not found".
fn instance_id(args: &RoutingArgs) -> Result<Uuid, ControllerError> {
    let raw = args
        .param("instance_id")
        .ok_or_else(|| ControllerError::MissingInstanceId(args.action().to_owned()))?;
    match Uuid::try_parse(raw) {
        Ok(id) if raw.len() == 36 => Ok(id),
        _ => Err(ControllerError::InstanceNotFound(raw.to_owned())),
    }
}

fn not_found(args: &RoutingArgs) -> ControllerError {
    ControllerError::InstanceNotFound(args.param("instance_id").unwrap_or_default().to_owned())
}

impl Service<Request> for InstanceController {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let store = self.store.clone();
        let listing = self.listing.clone();
        Box::pin(async move {
            Ok(match Self::dispatch(store, listing, req).await {
                Ok(response) => response,
                Err(error) => {
                    // A 5xx tells the client only our fixed words (see
                    // ControllerError::client_message); the whole error,
                    // the driver's reason included, goes to this request's
                    // log line, where the operator can act on it.
                    if error.status().is_server_error() {
                        tracing::error!(%error, "answering {}", error.status());
                    }
                    Fault::from(error).into_response()
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
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
        for (mount, expected_prefix) in [(None, "/instances/"), (Some("/v2.1"), "/v2.1/instances/")]
        {
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
}
