//! The log of recent requests (`GET /control/requests`): what a test
//! reads to see which calls its client made, in which order, at which
//! microversion, and how they were answered.
//!
//! [`RecordRequests`] is the filter that writes it, placed in front of an
//! API (before its token filter, so that refused requests are seen too);
//! [`RequestLog`] is a bounded ring shared by every API's filter and the
//! control app. A record holds no header and no body: nothing a client
//! authenticates with is ever kept.
//!
//! The caller's project is known only after the token filter, which runs
//! below this one: the filter hands a [`CallerSlot`] down the request, and
//! [`ControlHooks`](crate::ControlHooks), placed after the token filter,
//! fills it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Method, Uri};
use nova_controller::Timestamp;
use nova_router::{
    NovaService, OriginalUri, Request, RequestId, Response, ResponseFuture, Service,
};
use serde::Serialize;

/// The response header the microversion is echoed in.
const API_VERSION_HEADER: HeaderName = HeaderName::from_static("openstack-api-version");
/// The response header the request id is answered in.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-openstack-request-id");

/// One request as the log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// When it arrived, RFC 3339 in UTC with microseconds
    /// (`2026-11-29T09:00:00.000000Z`), on the system's clock.
    pub time: String,
    /// The API it was sent to, as the filter was named (`compute`,
    /// `identity`).
    pub service: String,
    /// The HTTP method.
    pub method: String,
    /// The path as the client sent it, without the query string.
    pub path: String,
    /// The raw query string, if any. OpenStack APIs never carry a token
    /// in it.
    pub query: Option<String>,
    /// The answer's status.
    pub status: u16,
    /// The microversion the answer was given at (`2.95` from
    /// `OpenStack-API-Version: compute 2.95`), if it says.
    pub microversion: Option<String>,
    /// The project the request acted for, if a token named one.
    pub project_id: Option<String>,
    /// The answer's `x-openstack-request-id`, if any.
    pub request_id: Option<String>,
    /// From the request's arrival at the filter to its answer.
    pub latency_ms: f64,
}

/// The most recent requests, at most a fixed number, oldest dropped
/// first. Clones share one log.
///
/// ```
/// use nova_control::{RecordedRequest, RequestLog};
///
/// let log = RequestLog::new(2);
/// for path in ["/a", "/b", "/c"] {
///     log.record(RecordedRequest {
///         time: "2026-11-29T09:00:00.000000Z".into(),
///         service: "compute".into(),
///         method: "GET".into(),
///         path: path.into(),
///         query: None,
///         status: 200,
///         microversion: None,
///         project_id: None,
///         request_id: None,
///         latency_ms: 0.1,
///     });
/// }
/// let paths: Vec<String> = log.last(10).into_iter().map(|r| r.path).collect();
/// assert_eq!(paths, ["/b", "/c"]);
/// ```
#[derive(Debug, Clone)]
pub struct RequestLog {
    ring: Arc<Mutex<Ring>>,
}

#[derive(Debug)]
struct Ring {
    capacity: usize,
    entries: VecDeque<Entry>,
}

/// One request as the ring keeps it.
#[derive(Debug, Clone)]
enum Entry {
    /// Given whole ([`RequestLog::record`]).
    Given(RecordedRequest),
    /// Seen by the filter: what it had at hand, kept as it was (shared
    /// bytes, no text copied) and written out only when the log is read,
    /// since every request pays for recording and few logs are read.
    Seen(Seen),
}

#[derive(Debug, Clone)]
struct Seen {
    time: Timestamp,
    service: Arc<str>,
    method: Method,
    uri: Uri,
    status: u16,
    api_version: Option<HeaderValue>,
    project_id: Option<String>,
    request_id: Option<HeaderValue>,
    latency: Duration,
}

impl Entry {
    fn recorded(&self) -> RecordedRequest {
        let seen = match self {
            Entry::Given(request) => return request.clone(),
            Entry::Seen(seen) => seen,
        };
        let text = |value: &HeaderValue| value.to_str().ok().map(str::to_owned);
        RecordedRequest {
            time: seen.time.to_string(),
            service: seen.service.to_string(),
            method: seen.method.as_str().to_owned(),
            path: seen.uri.path().to_owned(),
            query: seen.uri.query().map(str::to_owned),
            status: seen.status,
            microversion: seen
                .api_version
                .as_ref()
                .and_then(|value| value.to_str().ok())
                .and_then(microversion),
            project_id: seen.project_id.clone(),
            request_id: seen.request_id.as_ref().and_then(text),
            latency_ms: seen.latency.as_secs_f64() * 1000.0,
        }
    }
}

impl RequestLog {
    /// How many requests a log keeps unless configured otherwise.
    pub const DEFAULT_CAPACITY: usize = 1000;

    /// A log keeping the last `capacity` requests (none if 0).
    pub fn new(capacity: usize) -> Self {
        RequestLog {
            ring: Arc::new(Mutex::new(Ring {
                capacity,
                // Grown as requests come: a large capacity costs nothing
                // until it is used.
                entries: VecDeque::new(),
            })),
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // Nothing under the lock can stop half-way: a poisoned lock still
        // guards a whole ring.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many requests it keeps at most.
    pub fn capacity(&self) -> usize {
        self.ring().capacity
    }

    /// Keeps `request`, dropping the oldest if the log is full.
    pub fn record(&self, request: RecordedRequest) {
        self.push(Entry::Given(request));
    }

    fn push(&self, entry: Entry) {
        let dropped = {
            let mut ring = self.ring();
            if ring.capacity == 0 {
                return;
            }
            let dropped = if ring.entries.len() >= ring.capacity {
                ring.entries.pop_front()
            } else {
                None
            };
            ring.entries.push_back(entry);
            dropped
        };
        // Freed after the lock is let go: other requests wait on it.
        drop(dropped);
    }

    /// The last `n` requests kept, oldest first.
    pub fn last(&self, n: usize) -> Vec<RecordedRequest> {
        let kept: Vec<Entry> = {
            let ring = self.ring();
            let skip = ring.entries.len().saturating_sub(n);
            ring.entries.iter().skip(skip).cloned().collect()
        };
        kept.iter().map(Entry::recorded).collect()
    }
}

/// Where the caller's project is written for [`RecordRequests`] by a layer
/// below it: [`RecordRequests`] puts an empty slot in the request's
/// extensions, [`ControlHooks`](crate::ControlHooks) fills it once the
/// token filter has named the caller. Written once; clones share it.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<String>>);

impl CallerSlot {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// The slot a [`RecordRequests`] filter put on `req`, if one did.
    pub fn of(req: &Request) -> Option<&CallerSlot> {
        req.extensions().get::<CallerSlot>()
    }

    /// Records the caller's project; a second fill is ignored, since the
    /// first layer to know the caller knew it.
    pub fn fill(&self, project_id: &str) {
        let _ = self.0.set(project_id.to_owned());
    }

    /// The project filled in, if any.
    pub fn project_id(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// The filter that records each request in a [`RequestLog`]; see the
/// module documentation.
#[derive(Debug)]
pub struct RecordRequests<S> {
    inner: Arc<S>,
    log: RequestLog,
    service: Arc<str>,
}

impl<S> Clone for RecordRequests<S> {
    fn clone(&self) -> Self {
        RecordRequests {
            inner: self.inner.clone(),
            log: self.log.clone(),
            service: self.service.clone(),
        }
    }
}

impl<S> RecordRequests<S> {
    /// Records the requests `inner` answers in `log` under the name
    /// `service`.
    pub fn new(inner: S, log: RequestLog, service: &str) -> Self {
        RecordRequests {
            inner: Arc::new(inner),
            log,
            service: Arc::from(service),
        }
    }
}

impl<S: NovaService> Service<Request> for RecordRequests<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let time = Timestamp::now();
        // Clones of parsed URIs and standard methods share their bytes.
        let uri = OriginalUri::of(&req).clone();
        let method = req.method().clone();
        // The request_id filter sits outside this one: it named the
        // request, and puts the header on the answer only after this
        // filter has recorded it.
        let request_id = RequestId::of(&req).and_then(|id| HeaderValue::from_str(id.as_str()).ok());
        let slot = CallerSlot::new();
        req.extensions_mut().insert(slot.clone());
        let answer = self.inner.call(req);
        let log = self.log.clone();
        let service = self.service.clone();
        Box::pin(async move {
            let response = answer.await?;
            let headers = response.headers();
            let request_id = request_id.or_else(|| headers.get(&REQUEST_ID_HEADER).cloned());
            log.push(Entry::Seen(Seen {
                time,
                service,
                method,
                uri,
                status: response.status().as_u16(),
                api_version: headers.get(&API_VERSION_HEADER).cloned(),
                project_id: slot.project_id().map(str::to_owned),
                request_id,
                latency: started.elapsed(),
            }));
            Ok(response)
        })
    }
}

/// The version of `OpenStack-API-Version: compute 2.95`: `2.95`.
fn microversion(header: &str) -> Option<String> {
    let mut words = header.split_whitespace();
    let _service = words.next()?;
    words.next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::service_fn;

    fn recorded(path: &str) -> RecordedRequest {
        RecordedRequest {
            time: Timestamp::now().to_string(),
            service: "compute".to_owned(),
            method: "GET".to_owned(),
            path: path.to_owned(),
            query: None,
            status: 200,
            microversion: None,
            project_id: None,
            request_id: None,
            latency_ms: 0.0,
        }
    }

    fn paths(log: &RequestLog, n: usize) -> Vec<String> {
        log.last(n).into_iter().map(|r| r.path).collect()
    }

    #[test]
    fn the_log_keeps_only_its_capacity_and_answers_oldest_first() {
        let log = RequestLog::new(3);
        for n in 0..10 {
            log.record(recorded(&format!("/{n}")));
        }
        assert_eq!(paths(&log, 100), ["/7", "/8", "/9"]);
        assert_eq!(paths(&log, 2), ["/8", "/9"]);
        assert!(paths(&log, 0).is_empty());
        let clone = log.clone();
        clone.record(recorded("/10"));
        assert_eq!(paths(&log, 1), ["/10"], "clones share one log");
        let none = RequestLog::new(0);
        none.record(recorded("/x"));
        assert!(none.last(5).is_empty());
    }

    /// An API answering as the compute API does, behind a token filter
    /// that names project `demo` for token `t-demo`.
    fn api() -> impl NovaService {
        service_fn(|req: Request| async move {
            if let Some(slot) = CallerSlot::of(&req) {
                if req
                    .headers()
                    .get("x-auth-token")
                    .is_some_and(|t| t == "t-demo")
                {
                    slot.fill("demo");
                }
            }
            let mut response = http::Response::new(Bytes::from_static(b"{}"));
            *response.status_mut() = http::StatusCode::ACCEPTED;
            let headers = response.headers_mut();
            headers.insert("openstack-api-version", "compute 2.95".parse().unwrap());
            headers.insert("x-openstack-request-id", "req-1".parse().unwrap());
            headers.insert("x-subject-token", "secret-subject".parse().unwrap());
            response
        })
    }

    #[tokio::test]
    async fn a_request_is_recorded_with_its_answer_and_caller() {
        let log = RequestLog::new(10);
        let filter = RecordRequests::new(api(), log.clone(), "compute");
        let req = http::Request::post("/v2.1/servers/abc/action?x=1&y=2")
            .header("x-auth-token", "t-demo")
            .body(Bytes::from_static(br#"{"reboot": {"type": "SOFT"}}"#))
            .unwrap();
        let response = filter.call(req).await.unwrap();
        assert_eq!(response.status(), 202);
        let [entry] = log.last(5).try_into().unwrap();
        assert_eq!(entry.service, "compute");
        assert_eq!(entry.method, "POST");
        assert_eq!(entry.path, "/v2.1/servers/abc/action");
        assert_eq!(entry.query.as_deref(), Some("x=1&y=2"));
        assert_eq!(entry.status, 202);
        assert_eq!(entry.microversion.as_deref(), Some("2.95"));
        assert_eq!(entry.project_id.as_deref(), Some("demo"));
        assert_eq!(entry.request_id.as_deref(), Some("req-1"));
        assert!(entry.latency_ms >= 0.0);
        assert!(entry.time.parse::<Timestamp>().is_ok(), "{}", entry.time);
    }

    #[tokio::test]
    async fn the_log_never_holds_a_header_or_a_body() {
        let log = RequestLog::new(10);
        let filter = RecordRequests::new(api(), log.clone(), "identity");
        let req = http::Request::post("/v3/auth/tokens")
            .header("x-auth-token", "secret-auth")
            .header("authorization", "Basic secret-basic")
            .header("cookie", "secret-cookie")
            .body(Bytes::from_static(br#"{"password": "secret-password"}"#))
            .unwrap();
        filter.call(req).await.unwrap();
        let text = serde_json::to_string(&log.last(10)).unwrap();
        assert!(!text.contains("secret"), "{text}");
        let entry = &log.last(1)[0];
        assert_eq!(entry.project_id, None, "an unknown caller is null");
        assert_eq!(entry.query, None);
    }

    #[test]
    fn the_microversion_is_the_headers_version() {
        assert_eq!(microversion("compute 2.95").as_deref(), Some("2.95"));
        assert_eq!(microversion("compute"), None);
        assert_eq!(microversion(""), None);
    }
}
