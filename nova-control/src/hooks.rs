//! The filter that lets behaviours act on whole requests to an API
//! ([`ControlHooks`]): `api` behaviours in front of the compute API,
//! `identity.token` behaviours in front of the identity service's token
//! requests.
//!
//! It sits after the API's token filter, so that it knows the caller:
//! besides firing behaviours it writes the caller's project into the
//! [`CallerSlot`] the request log's filter handed down, and it brings a
//! controlled clock up to date with a shared store before the API reads
//! the time.
//!
//! In front of the compute API a behaviour sees the path as the API
//! routes it: every route is also served behind a project id
//! (`/v2.1/{project_id}/servers`, Nova's `ProjectMapper`), and that
//! leading segment is taken off, so `/servers/{server_id}` matches both
//! forms. The project is the token's, else that segment's (the project
//! a shared token acts for).
//!
//! | effect | what the filter does |
//! |---|---|
//! | `fail` | answers at once, without calling the API: a Nova fault (`{kind: {code, message}}`) in front of the compute API, Keystone's `{"error": {code, message, title}}` in front of the identity service; `Retry-After` if asked |
//! | `delay` | waits, then lets the API answer |

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use nova_controller::StoreError;
use nova_router::{NovaService, Request, RequestContext, Response, ResponseFuture, Service};

use crate::error::{
    injected_fault, injected_fault_response, keystone_error, keystone_unavailable, ControlError,
};
use crate::store::fire_first_match;
use crate::{CallerSlot, ControlStore, ControlledClock, Effect, Event, Facts};

/// The filter; see the module documentation.
///
/// ```
/// use std::sync::Arc;
/// use nova_control::{ControlHooks, ControlStore, Event, MemoryControl, NewBehavior};
/// use nova_router::{service_fn, Request, Service};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryControl::new());
/// let body = br#"{"event": "api", "match": {"method": "GET", "path": "/flavors"},
///     "behavior": {"fail": {"status": 503, "retry_after": 5}}, "times": 1}"#;
/// store.add_behavior(NewBehavior::from_json(body).unwrap().validate().unwrap()).await.unwrap();
///
/// let api = service_fn(|_req: Request| async { http::Response::new("flavors".into()) });
/// let filter = ControlHooks::new(api, store, Event::Api, None);
/// let get = || http::Request::get("/flavors").body(Default::default()).unwrap();
/// let refused = filter.call(get()).await.unwrap();
/// assert_eq!(refused.status(), 503);
/// assert_eq!(refused.headers()["retry-after"], "5");
/// assert_eq!(filter.call(get()).await.unwrap().status(), 200);
/// # });
/// ```
pub struct ControlHooks<S> {
    inner: Arc<S>,
    store: Arc<dyn ControlStore>,
    event: Event,
    clock: Option<ControlledClock>,
}

impl<S> Clone for ControlHooks<S> {
    fn clone(&self) -> Self {
        ControlHooks {
            inner: self.inner.clone(),
            store: self.store.clone(),
            event: self.event,
            clock: self.clock.clone(),
        }
    }
}

impl<S> std::fmt::Debug for ControlHooks<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlHooks")
            .field("event", &self.event)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// What the filter decided before the API is asked.
enum Decision {
    /// Let the API answer.
    Pass,
    /// Answer this instead.
    Answer(Response),
}

impl<S> ControlHooks<S> {
    /// Fires `event`'s behaviours (from `store`) on the requests to
    /// `inner`: [`Event::Api`] for the compute API, [`Event::IdentityToken`]
    /// for the identity service, whose token requests (`POST …/auth/tokens`)
    /// alone are the event. A server event fires nothing here (those are the
    /// [`BehaviorInjector`](crate::BehaviorInjector)'s). With `clock`, the
    /// controlled clock the API reads is set to a shared store's offset at
    /// each request.
    pub fn new(
        inner: S,
        store: Arc<dyn ControlStore>,
        event: Event,
        clock: Option<ControlledClock>,
    ) -> Self {
        ControlHooks {
            inner: Arc::new(inner),
            store,
            event,
            clock,
        }
    }

    async fn decide(&self, req: &Request) -> Result<Decision, StoreError> {
        if let Some(clock) = &self.clock {
            // A store of its own is only moved through this process, which
            // set the clock as it moved it, once its offset has been read
            // at the first request; a shared one may have been moved by
            // another process at any time.
            if self.store.is_shared() || !clock.is_loaded() {
                clock.set_offset(self.store.clock_offset().await?);
            }
        }
        let caller = RequestContext::of(req);
        if let (Some(slot), Some(caller)) = (CallerSlot::of(req), caller) {
            slot.fill(&caller.project_id);
        }
        let path = req.uri().path();
        let facts = match self.event {
            Event::Api => {
                let (path_project, routed) = split_project_id(path);
                Facts {
                    event: Event::Api,
                    project: caller
                        .map(|caller| caller.project_id.as_str())
                        .or(path_project),
                    server_name: None,
                    metadata: None,
                    action: None,
                    method: Some(req.method().as_str()),
                    path: Some(routed),
                }
            }
            Event::IdentityToken if is_token_request(req) => Facts {
                event: Event::IdentityToken,
                project: None,
                server_name: None,
                metadata: None,
                action: None,
                method: Some(req.method().as_str()),
                path: Some(path),
            },
            _ => return Ok(Decision::Pass),
        };
        let Some(behavior) = fire_first_match(&*self.store, &facts).await? else {
            return Ok(Decision::Pass);
        };
        match behavior.effect {
            Effect::Fail(fail) if self.event == Event::IdentityToken => Ok(Decision::Answer(
                keystone_error(fail.status, &fail.message, fail.retry_after),
            )),
            Effect::Fail(fail) => Ok(Decision::Answer(injected_fault_response(injected_fault(
                fail,
            )))),
            Effect::Delay(delay) => {
                tokio::time::sleep(Duration::from_millis(delay.ms)).await;
                Ok(Decision::Pass)
            }
            // Validation keeps the other effects from request events; a
            // record written outside nova-rs that has one changes nothing
            // a request could show.
            Effect::Error(_) | Effect::Build(_) | Effect::Stuck(_) => Ok(Decision::Pass),
        }
    }
}

/// The project id a compute path starts with, if it does, and the path
/// the API routes: the router's rule, a first segment of lowercase hex
/// digits and dashes with more path after it (no route of the compute
/// API starts with such a segment).
fn split_project_id(path: &str) -> (Option<&str>, &str) {
    let split = path.strip_prefix('/').and_then(|rest| {
        let end = rest.find('/')?;
        let (project, tail) = rest.split_at(end);
        let is_project_id = !project.is_empty()
            && project
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'));
        (is_project_id && tail.len() > 1).then_some((project, tail))
    });
    match split {
        Some((project, tail)) => (Some(project), tail),
        None => (None, path),
    }
}

/// Whether `req` asks the identity service for a token.
fn is_token_request(req: &Request) -> bool {
    req.method() == Method::POST
        && req
            .uri()
            .path()
            .trim_end_matches('/')
            .ends_with("/auth/tokens")
}

impl<S: NovaService> Service<Request> for ControlHooks<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let hooks = self.clone();
        Box::pin(async move {
            match hooks.decide(&req).await {
                Ok(Decision::Pass) => hooks.inner.call(req).await,
                Ok(Decision::Answer(response)) => Ok(response),
                Err(error) if hooks.event == Event::IdentityToken => {
                    Ok(keystone_unavailable(&error))
                }
                Err(error) => Ok(ControlError::from(error).into_response()),
            }
        })
    }
}

#[cfg(test)]
mod tests;
