//! The control API as an application ([`ControlApp`]), relative to
//! wherever it is mounted (`/control` in the shipped configuration).
//! Its OpenAPI document is [`CONTROL_OPENAPI_DOCUMENT`].
//!
//! | route | answer |
//! |---|---|
//! | `POST /behaviors` | 201 `{"behavior": {…, "active": true}}`, 400 for a bad behaviour |
//! | `GET /behaviors` | 200 `{"behaviors": […]}`, expired ones too, in registration order |
//! | `GET /behaviors/{id}` | 200 `{"behavior": {…}}`, 404 if none |
//! | `DELETE /behaviors/{id}` | 204, 404 if none; the servers it held go on |
//! | `DELETE /behaviors` | 204; every held server goes on, those held by their metadata too |
//! | `GET /clock` | 200 `{"clock": {"mode", "now", "offset_seconds"}}` |
//! | `POST /clock/advance` | 200 the moved clock, for `{"seconds": N}` (0 < N ≤ ten years); 409 on the system's clock |
//! | `POST /servers/{id}/state` | 200 `{"server": {"id", "status", "vm_state", "task_state", "power_state"}}` ([`force_state`]) |
//! | `GET /requests?limit=N` | 200 `{"requests": […]}`, the last N (50 by default, at most 1000) oldest first |
//!
//! Every request needs the control token in `X-Auth-Token` (401
//! otherwise): it is a different secret from any cloud user's, since
//! whoever holds it can break the cloud for everyone. For the same reason
//! only callers on this machine are served (403 for others) unless
//! [`ControlApp::allow_remote`] says otherwise. Errors are Nova faults; a
//! store's failure is a 503 whose reason is logged, not shown.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, LOCATION};
use http::{HeaderName, Method, StatusCode};
use nova_compute::{Clock, Server, ServerStore};
use nova_controller::Timestamp;
use nova_router::{
    json_response, Mapper, MatchError, PeerAddr, Request, Response, ResponseFuture, RoutingArgs,
    ScriptName, Service,
};
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::ControlError;
use crate::metadata_trigger::METADATA_STUCK_ID;
use crate::{
    force_state, release_stuck, Behavior, ControlClock, ControlStore, ForceError, ForcedState,
    NewBehavior, RequestLog,
};

/// The control API's OpenAPI 3.1 document: every route of [`ControlApp`],
/// relative to where it is mounted, with each body's schema and every
/// status it answers.
pub const CONTROL_OPENAPI_DOCUMENT: &str = include_str!("../openapi.json");

/// The header the control token travels in.
pub const CONTROL_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-auth-token");

/// The furthest one `POST /clock/advance` moves the clock: ten years, in
/// seconds. Far enough for any expiry a test waits for, near enough that
/// no sequence of moves a test makes runs off the end of time.
pub const MAX_CLOCK_ADVANCE_SECONDS: f64 = 10.0 * 365.25 * 86_400.0;

/// How many requests `GET /requests` shows without a `limit`.
pub const DEFAULT_REQUESTS_LIMIT: usize = 50;

/// The largest `limit` of `GET /requests`.
pub const MAX_REQUESTS_LIMIT: usize = 1000;

/// The control API; see the module documentation for its routes. Cheap to
/// clone; clones share everything.
///
/// ```
/// use std::sync::Arc;
/// use nova_compute::MemoryServerStore;
/// use nova_control::{ControlApp, ControlClock, ControlledClock, MemoryControl, RequestLog};
/// use nova_router::Service;
///
/// let app = ControlApp::new(
///     Arc::new(MemoryControl::new()),
///     Arc::new(MemoryServerStore::new()),
///     ControlClock::Controlled(ControlledClock::new(0)),
///     RequestLog::new(100),
///     "control-secret".to_owned(),
/// );
/// let advance = http::Request::post("/clock/advance")
///     .header("x-auth-token", "control-secret")
///     .body(r#"{"seconds": 3600}"#.into())
///     .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let response = app.call(advance).await.unwrap();
/// assert_eq!(response.status(), 200);
/// let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
/// assert_eq!(body["clock"]["offset_seconds"], 3600.0);
/// # });
/// ```
#[derive(Clone)]
pub struct ControlApp {
    inner: Arc<Inner>,
    allow_remote: bool,
}

struct Inner {
    store: Arc<dyn ControlStore>,
    servers: Arc<dyn ServerStore>,
    clock: ControlClock,
    log: RequestLog,
    token: String,
    mapper: Mapper,
}

impl std::fmt::Debug for ControlApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("ControlApp")
            .field("clock", &self.inner.clock)
            .field("allow_remote", &self.allow_remote)
            .field("log", &self.inner.log)
            .finish_non_exhaustive()
    }
}

/// The routes: (template, action, method), one table read top to bottom.
const ROUTES: [(&str, &str, Method); 9] = [
    ("/behaviors", "create_behavior", Method::POST),
    ("/behaviors", "list_behaviors", Method::GET),
    ("/behaviors", "delete_behaviors", Method::DELETE),
    ("/behaviors/{behavior_id}", "show_behavior", Method::GET),
    (
        "/behaviors/{behavior_id}",
        "delete_behavior",
        Method::DELETE,
    ),
    ("/clock", "show_clock", Method::GET),
    ("/clock/advance", "advance_clock", Method::POST),
    ("/servers/{server_id}/state", "force_state", Method::POST),
    ("/requests", "list_requests", Method::GET),
];

impl ControlApp {
    /// The control API over the behaviours and clock offset in `store`,
    /// the servers in `servers` (whose states it forces and releases), the
    /// clock the cloud reads, and the request log; it answers only
    /// requests carrying `token` (none if `token` is empty), and only
    /// from this machine.
    pub fn new(
        store: Arc<dyn ControlStore>,
        servers: Arc<dyn ServerStore>,
        clock: ControlClock,
        log: RequestLog,
        token: String,
    ) -> Self {
        let mut mapper = Mapper::new();
        for (template, action, method) in ROUTES {
            // A fixed table: a failure is a bug in this file.
            if let Err(error) = mapper.connect(template, action, &[method]) {
                unreachable!("the control API's routes are valid: {error}");
            }
        }
        ControlApp {
            inner: Arc::new(Inner {
                store,
                servers,
                clock,
                log,
                token,
                mapper,
            }),
            allow_remote: false,
        }
    }

    /// The same app, serving callers off this machine too if `allow`;
    /// by default a request that came through a socket from any address
    /// but a loopback one is refused with 403. A request that came through
    /// no socket (an in-process caller) is always served.
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Whether the app serves `req`'s caller: one on this machine, or
    /// anyone if allowed.
    fn serves_caller(&self, req: &Request) -> bool {
        self.allow_remote
            || PeerAddr::of(req).is_none_or(|peer| peer.ip().to_canonical().is_loopback())
    }

    /// Whether `req` carries the control token, compared in constant time
    /// so that how long the answer takes tells nothing of the token's
    /// bytes (only, as for any comparison, whether the lengths differ).
    fn authorized(&self, req: &Request) -> bool {
        let expected = self.inner.token.as_bytes();
        req.headers()
            .get(CONTROL_TOKEN_HEADER)
            .is_some_and(|given| {
                !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected))
            })
    }

    async fn respond(&self, req: &Request) -> Result<Response, ControlError> {
        if !self.serves_caller(req) {
            return Err(ControlError::Forbidden(
                "The control API serves only callers on this machine: set allow_remote = true in \
                 the control app's section to serve others."
                    .to_owned(),
            ));
        }
        if !self.authorized(req) {
            return Err(ControlError::Unauthorized);
        }
        let args = self
            .inner
            .mapper
            .recognize(req.method(), req.uri().path())
            .map_err(|error| match error {
                MatchError::MethodNotAllowed { allowed } => ControlError::MethodNotAllowed {
                    method: req.method().clone(),
                    allowed,
                },
                _ => ControlError::NotFound("The resource could not be found.".to_owned()),
            })?;
        let call = Call {
            app: &self.inner,
            req,
            args: &args,
        };
        match args.action() {
            "create_behavior" => call.create_behavior().await,
            "list_behaviors" => call.list_behaviors().await,
            "delete_behaviors" => call.delete_behaviors().await,
            "show_behavior" => call.show_behavior().await,
            "delete_behavior" => call.delete_behavior().await,
            "show_clock" => call.show_clock().await,
            "advance_clock" => call.advance_clock().await,
            "force_state" => call.force_state().await,
            "list_requests" => call.list_requests(),
            _ => Err(ControlError::NotFound(
                "The resource could not be found.".to_owned(),
            )),
        }
    }
}

impl Service<Request> for ControlApp {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let app = self.clone();
        Box::pin(async move {
            let mut response = app
                .respond(&req)
                .await
                .unwrap_or_else(ControlError::into_response);
            if req.method() == Method::HEAD {
                *response.body_mut() = Bytes::new();
            }
            Ok(response)
        })
    }
}

/// One request being answered.
struct Call<'a> {
    app: &'a Inner,
    req: &'a Request,
    args: &'a RoutingArgs,
}

/// `POST /clock/advance`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

impl Call<'_> {
    fn param(&self, name: &str) -> &str {
        self.args.param(name).unwrap_or_default()
    }

    /// The body, which must be a JSON object.
    fn object_body(&self) -> Result<&[u8], ControlError> {
        match serde_json::from_slice::<Value>(self.req.body()) {
            Ok(Value::Object(_)) => Ok(self.req.body()),
            _ => Err(ControlError::BadRequest(
                "The request body must be a JSON object.".to_owned(),
            )),
        }
    }

    /// The time the cloud reads now. The controlled clock is brought up
    /// to the store's offset first: another process on a shared store may
    /// have moved it.
    async fn now(&self) -> Result<Timestamp, ControlError> {
        if let ControlClock::Controlled(clock) = &self.app.clock {
            clock.set_offset(self.app.store.clock_offset().await?);
        }
        Ok(self.app.clock.now())
    }

    async fn create_behavior(&self) -> Result<Response, ControlError> {
        let body = self.object_body()?;
        let behavior = NewBehavior::from_json(body)
            .and_then(NewBehavior::validate)
            .map_err(|error| ControlError::BadRequest(error.to_string()))?;
        self.app.store.add_behavior(behavior.clone()).await?;
        let mut response = json_response(
            StatusCode::CREATED,
            &json!({"behavior": behavior_view(&behavior)}),
        );
        let location = format!("{}/behaviors/{}", ScriptName::of(self.req), behavior.id);
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(LOCATION, value);
        }
        Ok(response)
    }

    async fn list_behaviors(&self) -> Result<Response, ControlError> {
        let behaviors = self.app.store.behaviors().await?;
        let views: Vec<Value> = behaviors.iter().map(behavior_view).collect();
        Ok(json_response(StatusCode::OK, &json!({"behaviors": views})))
    }

    async fn show_behavior(&self) -> Result<Response, ControlError> {
        let id = self.param("behavior_id");
        let behaviors = self.app.store.behaviors().await?;
        let behavior = behaviors
            .iter()
            .find(|behavior| behavior.id == id)
            .ok_or_else(|| behavior_not_found(id))?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"behavior": behavior_view(behavior)}),
        ))
    }

    async fn delete_behavior(&self) -> Result<Response, ControlError> {
        let id = self.param("behavior_id").to_owned();
        let removed = self.app.store.remove_behavior(id.clone()).await?;
        // Released even when it was already gone: a delete whose release
        // failed half-way is finished by asking again.
        self.release(vec![id.clone()]).await?;
        if !removed {
            return Err(behavior_not_found(&id));
        }
        Ok(no_content())
    }

    async fn delete_behaviors(&self) -> Result<Response, ControlError> {
        let mut ids = self.app.store.remove_behaviors().await?;
        // No behaviour is left to hold anything, the servers' own
        // metadata included: a test's clean-up leaves nothing stuck.
        ids.push(METADATA_STUCK_ID.to_owned());
        self.release(ids).await?;
        Ok(no_content())
    }

    async fn release(&self, ids: Vec<String>) -> Result<(), ControlError> {
        let now = self.now().await?;
        let released = release_stuck(&*self.app.servers, now, &ids).await?;
        if released > 0 {
            tracing::info!(released, "servers held by removed behaviours released");
        }
        Ok(())
    }

    async fn show_clock(&self) -> Result<Response, ControlError> {
        let now = self.now().await?;
        Ok(self.clock_view(now))
    }

    fn clock_view(&self, now: Timestamp) -> Response {
        let (mode, offset) = match &self.app.clock {
            ControlClock::Real => ("real", 0),
            ControlClock::Controlled(clock) => ("controlled", clock.offset()),
        };
        json_response(
            StatusCode::OK,
            &json!({"clock": {
                "mode": mode,
                "now": now.to_string(),
                "offset_seconds": offset as f64 / 1_000_000.0,
            }}),
        )
    }

    async fn advance_clock(&self) -> Result<Response, ControlError> {
        let ControlClock::Controlled(clock) = &self.app.clock else {
            return Err(ControlError::Conflict(
                "The clock is the system's: set clock = controlled in the control app's section \
                 to move it."
                    .to_owned(),
            ));
        };
        let body = self.object_body()?;
        let advance: Advance = serde_json::from_slice(body)
            .map_err(|error| ControlError::BadRequest(format!("Invalid clock advance: {error}")))?;
        let seconds = advance.seconds;
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_CLOCK_ADVANCE_SECONDS) {
            return Err(ControlError::BadRequest(format!(
                "Invalid clock advance: seconds must be more than 0 and at most \
                 {MAX_CLOCK_ADVANCE_SECONDS} (ten years); got {seconds}"
            )));
        }
        // In range, so the product fits an i64 many times over.
        let micros = (seconds * 1_000_000.0).round() as i64;
        let offset = self.app.store.advance_clock(micros).await?;
        clock.set_offset(offset);
        tracing::info!(seconds, offset_micros = offset, "controlled clock advanced");
        Ok(self.clock_view(clock.now()))
    }

    async fn force_state(&self) -> Result<Response, ControlError> {
        let raw_id = self.param("server_id");
        let not_found = || ControlError::NotFound(format!("Instance {raw_id} could not be found."));
        let id = Uuid::parse_str(raw_id).map_err(|_| not_found())?;
        let body = self.object_body()?;
        let request = ForcedState::from_json(body).map_err(force_error)?;
        let now = self.now().await?;
        let server = force_state(&*self.app.servers, now, id, request)
            .await
            .map_err(force_error)?;
        tracing::info!(server = %id, "server state forced");
        Ok(json_response(
            StatusCode::OK,
            &json!({"server": forced_view(&server, now)}),
        ))
    }

    fn list_requests(&self) -> Result<Response, ControlError> {
        let limit = requests_limit(self.req.uri().query())?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"requests": self.app.log.last(limit)}),
        ))
    }
}

/// A behaviour as the control API shows it: its wire shape and whether it
/// may still fire.
fn behavior_view(behavior: &Behavior) -> Value {
    let mut view = serde_json::to_value(behavior).unwrap_or_else(|_| json!({}));
    if let Value::Object(fields) = &mut view {
        fields.insert("active".to_owned(), Value::Bool(behavior.is_active()));
    }
    view
}

fn behavior_not_found(id: &str) -> ControlError {
    ControlError::NotFound(format!("Behavior {id} could not be found."))
}

fn no_content() -> Response {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// The server's state as `POST /servers/{id}/state` answers it.
fn forced_view(server: &Server, now: Timestamp) -> Value {
    let lifecycle = server
        .details
        .as_deref()
        .map(|details| details.lifecycle())
        .unwrap_or_else(|| nova_compute::ServerDetails::default().lifecycle());
    let state = lifecycle.at(now);
    json!({
        "id": server.id,
        "status": state.status(),
        "vm_state": state.vm_state,
        "task_state": state.task_state,
        "power_state": state.power_state,
    })
}

/// The answer to a state that could not be forced.
fn force_error(error: ForceError) -> ControlError {
    match error {
        ForceError::NotFound(_) => ControlError::NotFound(error.to_string()),
        ForceError::Store(error) => ControlError::Unavailable(error),
        ForceError::Malformed(_)
        | ForceError::UnknownStatus(_)
        | ForceError::UnknownTaskState(_)
        | ForceError::TaskStateHidesStatus { .. }
        | ForceError::BadFault(_)
        | ForceError::NoComputeState(_) => ControlError::BadRequest(error.to_string()),
    }
}

/// The `limit` of `GET /requests`: 1 to [`MAX_REQUESTS_LIMIT`], by
/// default [`DEFAULT_REQUESTS_LIMIT`]. Other parameters are ignored.
fn requests_limit(query: Option<&str>) -> Result<usize, ControlError> {
    let given = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == "limit")
        .map(|(_, value)| value);
    let Some(text) = given else {
        return Ok(DEFAULT_REQUESTS_LIMIT);
    };
    text.parse::<usize>()
        .ok()
        .filter(|limit| (1..=MAX_REQUESTS_LIMIT).contains(limit))
        .ok_or_else(|| {
            ControlError::BadRequest(format!(
                "limit must be a whole number from 1 to {MAX_REQUESTS_LIMIT}; got {text:?}"
            ))
        })
}

#[cfg(test)]
mod tests;
