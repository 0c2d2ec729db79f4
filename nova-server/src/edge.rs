//! The edge between hyper and the pipeline: bounded body collection, a
//! last-resort panic guard, and the access log for requests no
//! `request_log` filter logged.
//!
//! The edge reads each body whole before the pipeline runs, but never more
//! than its hard cap, so no client can make the server hold more memory than
//! that per request. A body whose `Content-Length` is over the cap is not
//! read at all; one without a length (chunked) is read until it passes the
//! cap. What happens to such a request depends on the pipeline:
//! - a pipeline loaded from a file ([`Edge::loaded`]) gets it, with an empty
//!   body and the [`OversizeBody`] marker, so its filters handle it like any
//!   request they refuse (a `sizelimit` answers it 413 with the request's
//!   id and log line); the loader guards every application, so none ever
//!   handles the empty body;
//! - any other pipeline ([`Edge::new`]) cannot be trusted to know the
//!   marker, so the edge answers 413 `overLimit` itself.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH};
use http::request::Parts;
use http::StatusCode;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use nova_filters::{log_access, AccessLogged, FaultWrap};
use nova_paste::LoadedApp;
use nova_router::{Fault, OversizeBody, Request, Service, SharedService};

/// Nova's default `max_request_body_size`: 112 KiB, the edge's default cap.
pub const DEFAULT_MAX_BODY_BYTES: usize = nova_filters::DEFAULT_MAX_REQUEST_BODY_SIZE;

/// Adapts a [`SharedService`] to hyper: reads the body, calls the pipeline,
/// contains panics and logs requests the pipeline did not.
#[derive(Clone)]
pub struct Edge {
    pipeline: SharedService,
    max_body_bytes: usize,
    body_read_timeout: Duration,
    delegate_oversize: bool,
    draining: Arc<AtomicBool>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("delegate_oversize", &self.delegate_oversize)
            .finish_non_exhaustive()
    }
}

/// Why a body was not handed to the pipeline.
enum Unread {
    /// Over the cap: the request's head, to refuse it with.
    TooLarge(Parts),
    /// The client's body broke off or was malformed.
    Broken(Fault),
}

impl Edge {
    /// Serves any `pipeline`, answering bodies over `max_body_bytes` with
    /// 413 itself.
    pub fn new(pipeline: SharedService, max_body_bytes: usize) -> Self {
        Edge {
            // Only the last resort: a `faultwrap` filter in the pipeline
            // turns a panic into a 500 that still gets its request id and
            // log line.
            pipeline: Arc::new(FaultWrap::new(pipeline)),
            max_body_bytes,
            body_read_timeout: crate::DEFAULT_BODY_READ_TIMEOUT,
            delegate_oversize: false,
            draining: Arc::default(),
        }
    }

    /// From now on, every HTTP/1 answer (from this edge and its clones)
    /// carries `Connection: close`, so clients stop reusing connections of a
    /// server that is shutting down. HTTP/2 has GOAWAY for that instead.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Answers 408 when a request body takes longer than `timeout` to arrive.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Serves an application loaded from a file. The cap is the larger of
    /// `max_body_bytes` and the largest size limit in the file, so every
    /// `sizelimit` filter sees every body it would accept; bodies over the
    /// cap go down the pipeline marked [`OversizeBody`].
    pub fn loaded(app: &LoadedApp, max_body_bytes: usize) -> Self {
        let cap = app
            .max_body_size()
            .map_or(max_body_bytes, |declared| declared.max(max_body_bytes));
        Edge {
            delegate_oversize: true,
            ..Edge::new(app.service().clone(), cap)
        }
    }

    /// The most bytes of a body this edge reads.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Handles one request from hyper.
    pub async fn handle(
        &self,
        req: http::Request<Incoming>,
    ) -> Result<http::Response<Full<Bytes>>, Infallible> {
        let started = Instant::now();
        let method = req.method().clone();
        let http1 = req.version() < http::Version::HTTP_2;
        let path = req.uri().path().to_owned();
        let response = match self.read_body(req).await {
            Ok(req) => self.call_pipeline(req).await,
            Err(Unread::TooLarge(parts)) if self.delegate_oversize => {
                let mut req = Request::from_parts(parts, Bytes::new());
                req.extensions_mut().insert(OversizeBody {
                    limit: self.max_body_bytes,
                });
                self.call_pipeline(req).await
            }
            Err(Unread::TooLarge(_)) => OversizeBody::fault(self.max_body_bytes).into_response(),
            Err(Unread::Broken(fault)) => fault.into_response(),
        };
        if response.extensions().get::<AccessLogged>().is_none() {
            log_access(&method, &path, response.status(), started.elapsed());
        }
        let mut response = response;
        if http1 && self.draining.load(Ordering::SeqCst) {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        Ok(response.map(Full::new))
    }

    async fn read_body(&self, req: http::Request<Incoming>) -> Result<Request, Unread> {
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let (parts, body) = req.into_parts();
        if declared.is_some_and(|length| length > self.max_body_bytes as u64) {
            return Err(Unread::TooLarge(parts));
        }
        let collect = Limited::new(body, self.max_body_bytes).collect();
        let Ok(collected) = tokio::time::timeout(self.body_read_timeout, collect).await else {
            return Err(Unread::Broken(Fault::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} seconds",
                    self.body_read_timeout.as_secs_f64()
                ),
            )));
        };
        match collected {
            Ok(collected) => Ok(Request::from_parts(parts, collected.to_bytes())),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(Unread::TooLarge(parts))
            }
            Err(error) => Err(Unread::Broken(Fault::bad_request(format!(
                "the request body could not be read: {error}"
            )))),
        }
    }

    async fn call_pipeline(&self, req: Request) -> nova_router::Response {
        match self.pipeline.call(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}
