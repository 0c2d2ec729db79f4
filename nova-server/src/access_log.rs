//! The access log: one line for every request the server answered, written
//! by the edge whatever part of the pipeline (or the edge itself) answered.
//!
//! The line goes to the tracing target `nova::access` at level INFO with the
//! method, the path the client sent (never the query string, which may
//! carry user data, nor any header, which may carry a token), the status,
//! the latency in microseconds from the request's arrival, and the request
//! id a `request_id` filter gave it, when there is one. The program's log
//! format ([`LogFormat`](crate::LogFormat)) writes this line without the
//! general formatter's cost.

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use nova_filters::OPENSTACK_REQUEST_ID;

/// The tracing target of the access log's lines.
pub(crate) const ACCESS_LOG_TARGET: &str = "nova::access";

/// Writes the access-log line of one request, given its answer's headers.
pub(crate) fn log_request(
    method: &Method,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    latency: Duration,
) {
    let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    // An absent id (no request_id filter) leaves the field out of the line.
    let request_id = headers
        .get(OPENSTACK_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(tracing::field::display);
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        method = %method,
        path = %path,
        status = status.as_u16(),
        latency_us,
        request_id,
        "request"
    );
}
