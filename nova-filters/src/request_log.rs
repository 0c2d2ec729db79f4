//! `request_log`: Nova's `RequestLog`, one access-log line per request.
//!
//! The line goes to the tracing target `nova::access` at level INFO with the
//! method, the path the client sent (before any URL map stripped a prefix;
//! never the query string, which may carry user data, nor any header, which
//! may carry a token), the status and the latency in microseconds. Placed
//! below `request_id`, the line is inside that request's span and so carries
//! its id. The response is marked [`AccessLogged`], so the server's edge,
//! which logs requests no filter logged, does not log it twice.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use nova_router::{NovaService, OriginalUri, Request, Response, ResponseFuture, Service};

/// Marks a response whose request was logged by [`RequestLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessLogged;

/// Writes the access-log line for one request.
pub fn log_access(method: &Method, path: &str, status: StatusCode, latency: Duration) {
    tracing::info!(
        target: "nova::access",
        method = %method,
        path = %path,
        status = status.as_u16(),
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
}

/// The filter; see the module documentation.
#[derive(Debug, Clone)]
pub struct RequestLog<S> {
    inner: S,
}

impl<S> RequestLog<S> {
    /// Logs every request passed to `inner`.
    pub fn new(inner: S) -> Self {
        RequestLog { inner }
    }
}

impl<S: NovaService> Service<Request> for RequestLog<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let started = Instant::now();
        let method = req.method().clone();
        let path = OriginalUri::of(&req).path().to_owned();
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            log_access(&method, &path, response.status(), started.elapsed());
            response.extensions_mut().insert(AccessLogged);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::service_fn;

    #[tokio::test]
    async fn one_line_per_request_with_the_original_path_and_no_query_or_token() {
        let (captured, _guard) = crate::log_capture::capture();
        let filter = RequestLog::new(service_fn(|_req: Request| async {
            let mut response = http::Response::new(Bytes::new());
            *response.status_mut() = StatusCode::CREATED;
            response
        }));
        let mut req = http::Request::post("/instances?name=secret-name")
            .header("x-auth-token", "s3cret")
            .body(Bytes::new())
            .unwrap();
        req.extensions_mut().insert(OriginalUri(
            "/v2.1/instances?name=secret-name".parse().unwrap(),
        ));
        let response = filter.call(req).await.unwrap();
        assert!(response.extensions().get::<AccessLogged>().is_some());
        let log = captured.text();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 1, "{log}");
        let line = lines[0];
        assert!(line.contains("nova::access"), "{line}");
        assert!(
            line.contains("method=POST path=/v2.1/instances status=201 latency_us="),
            "{line}"
        );
        assert!(!line.contains("secret"), "{line}");
    }
}
