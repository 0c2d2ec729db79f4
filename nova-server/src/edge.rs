//! The edge between hyper and the pipeline: body collection, panic
//! containment and the access log.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH};
use http::StatusCode;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use nova_router::{Fault, Request, Response, SharedService};

/// Nova's default `max_request_body_size`: 112 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 114_688;

/// Adapts a [`SharedService`] to hyper: reads the body, calls the pipeline,
/// contains panics and logs the request.
#[derive(Clone)]
pub struct Edge {
    pipeline: SharedService,
    max_body_bytes: usize,
    draining: Arc<AtomicBool>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// Serves `pipeline`, refusing bodies over `max_body_bytes` with 413.
    pub fn new(pipeline: SharedService, max_body_bytes: usize) -> Self {
        Edge {
            pipeline,
            max_body_bytes,
            draining: Arc::default(),
        }
    }

    /// From now on, every HTTP/1 answer (from this edge and its clones)
    /// carries `Connection: close`, so clients stop reusing connections of a
    /// server that is shutting down. HTTP/2 has GOAWAY for that instead.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
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
            Err(fault) => fault.into_response(),
        };
        // The token is a header and never logged; the query string may carry
        // user data, so only the path is.
        tracing::info!(
            target: "nova::access",
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            latency_us = started.elapsed().as_micros() as u64,
            "request"
        );
        let mut response = response;
        if http1 && self.draining.load(Ordering::SeqCst) {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        Ok(response.map(Full::new))
    }

    async fn read_body(&self, req: http::Request<Incoming>) -> Result<Request, Fault> {
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body_bytes as u64) {
            return Err(self.too_large());
        }
        let (parts, body) = req.into_parts();
        match Limited::new(body, self.max_body_bytes).collect().await {
            Ok(collected) => Ok(Request::from_parts(parts, collected.to_bytes())),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(self.too_large())
            }
            Err(error) => Err(Fault::bad_request(format!(
                "the request body could not be read: {error}"
            ))),
        }
    }

    fn too_large(&self) -> Fault {
        Fault::payload_too_large(format!(
            "the request body is larger than the limit of {} bytes",
            self.max_body_bytes
        ))
    }

    async fn call_pipeline(&self, req: Request) -> Response {
        let pipeline = self.pipeline.clone();
        // The call itself may panic as well as the future it returns, so
        // both happen inside the guarded future.
        let guarded = AssertUnwindSafe(async move { pipeline.call(req).await }).catch_unwind();
        match guarded.await {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                tracing::error!(reason = %reason, "a handler panicked; answering 500");
                Fault::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed to handle the request",
                )
                .into_response()
            }
        }
    }
}
