//! The edge between hyper and the pipeline: the one place that owns what is
//! about the connection rather than the API: the body cap, the body read
//! timeout, the last-resort panic guard, the access log and, at shutdown,
//! `Connection: close`.
//!
//! The edge reads each body whole before the pipeline runs, but never more
//! than its cap, so no client can make the server hold more memory than
//! that per request. A body whose `Content-Length` is over the cap is not
//! read at all; one without a length (chunked) is read until it passes the
//! cap. Such a request goes down the pipeline with an empty body, marked
//! (see the `oversize` module), so the filters in front answer it as any
//! request they refuse, with their request id; no application acts on it,
//! which the [`Pipeline`] type guarantees.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH};
use http::StatusCode;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use nova_router::{call_catching_panics, Fault, Request, SharedService};

use crate::access_log::log_request;
use crate::oversize::OversizeBody;
use crate::Pipeline;

/// Nova's default `max_request_body_size`: 112 KiB, the edge's default cap.
pub const DEFAULT_MAX_BODY_BYTES: usize = nova_filters::DEFAULT_MAX_REQUEST_BODY_SIZE;

/// Default for the body read timeout ([`Edge::with_body_read_timeout`]).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Adapts a [`Pipeline`] to hyper: reads the body, calls the pipeline,
/// contains panics and logs every request.
#[derive(Clone)]
pub struct Edge {
    pipeline: SharedService,
    max_body_bytes: usize,
    body_read_timeout: Duration,
    draining: Arc<AtomicBool>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("body_read_timeout", &self.body_read_timeout)
            .finish_non_exhaustive()
    }
}

/// Why a body was not read.
enum Unread {
    /// Over the cap: the request's head, to send down marked.
    TooLarge(http::request::Parts),
    /// The client's body broke off, was malformed or too slow.
    Broken(Fault),
}

impl Edge {
    /// Serves `pipeline`, reading bodies of up to `max_body_bytes`.
    pub fn new(pipeline: Pipeline, max_body_bytes: usize) -> Self {
        Edge {
            pipeline: pipeline.service().clone(),
            max_body_bytes,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            draining: Arc::default(),
        }
    }

    /// Answers 408 when a request body takes longer than `timeout` to arrive.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// From now on, every HTTP/1 answer (from this edge and its clones)
    /// carries `Connection: close`, so clients stop reusing connections of a
    /// server that is shutting down. HTTP/2 has GOAWAY for that instead.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
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
        // For the log line. A clone shares the bytes hyper parsed rather
        // than copying the path.
        let uri = req.uri().clone();
        // A connection whose request body was left unread cannot carry
        // another request: hyper closes it after the answer.
        let mut body_left_unread = false;
        let mut response = match self.read_body(req).await {
            Ok(req) => call_catching_panics(&*self.pipeline, req).await,
            Err(Unread::TooLarge(parts)) => {
                body_left_unread = true;
                let mut req = Request::from_parts(parts, Bytes::new());
                req.extensions_mut().insert(OversizeBody {
                    limit: self.max_body_bytes,
                });
                call_catching_panics(&*self.pipeline, req).await
            }
            Err(Unread::Broken(fault)) => {
                body_left_unread = true;
                fault.into_response()
            }
        };
        log_request(
            &method,
            uri.path(),
            response.status(),
            response.headers(),
            started.elapsed(),
        );
        // Saying so tells the client not to send its next request on this
        // connection, which would be lost when it closes.
        if http1 && (body_left_unread || self.draining.load(Ordering::SeqCst)) {
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
        // Most requests have no body (GET, DELETE) or one that arrived with
        // the head; neither needs the timer, whose setting up and tearing
        // down are a visible part of a small request's cost.
        if body.is_end_stream() {
            return Ok(Request::from_parts(parts, Bytes::new()));
        }
        let mut collect = std::pin::pin!(Limited::new(body, self.max_body_bytes).collect());
        let collected = match collect.as_mut().now_or_never() {
            Some(collected) => collected,
            None => {
                let Ok(collected) = tokio::time::timeout(self.body_read_timeout, collect).await
                else {
                    return Err(Unread::Broken(Fault::new(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "the request body did not arrive within {} seconds",
                            self.body_read_timeout.as_secs_f64()
                        ),
                    )));
                };
                collected
            }
        };
        match collected {
            Ok(collected) => Ok(Request::from_parts(parts, collected.to_bytes())),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(Unread::TooLarge(parts))
            }
            Err(error) => {
                // hyper's words stay in the log; the client gets ours.
                tracing::debug!(%error, "a request body broke off");
                Err(Unread::Broken(Fault::bad_request(
                    "the request body could not be read",
                )))
            }
        }
    }
}
