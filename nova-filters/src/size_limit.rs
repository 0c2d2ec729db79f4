//! `sizelimit`: oslo's `RequestBodySizeLimiter`. A request whose body is
//! larger than `max_request_body_size` (112 KiB by default, as Nova's) is
//! answered 413 `overLimit` and goes no further.
//!
//! The filter refuses a request when its declared `Content-Length` is over
//! the limit or when the body it was handed is. A server that stops reading
//! bodies at a cap of its own (nova-server's edge does) still sends the
//! `Content-Length` of a body it did not read, so such a request is refused
//! here with this filter's message whenever the client declared its length.

use http::header::CONTENT_LENGTH;
use nova_router::{ready, Fault, NovaService, Request, Response, ResponseFuture, Service};

/// Nova's default `max_request_body_size`: 112 KiB.
pub const DEFAULT_MAX_REQUEST_BODY_SIZE: usize = 114_688;

/// The filter; see the module documentation.
#[derive(Debug, Clone)]
pub struct SizeLimit<S> {
    inner: S,
    limit: usize,
}

impl<S> SizeLimit<S> {
    /// Refuses bodies over `limit` bytes before they reach `inner`.
    pub fn new(inner: S, limit: usize) -> Self {
        SizeLimit { inner, limit }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    fn too_large(&self, req: &Request) -> bool {
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        declared.is_some_and(|length| length > self.limit as u64) || req.body().len() > self.limit
    }
}

impl<S: NovaService> Service<Request> for SizeLimit<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        if self.too_large(&req) {
            return ready(
                Fault::payload_too_large(format!(
                    "the request body is larger than the limit of {} bytes",
                    self.limit
                ))
                .into_response(),
            );
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::service_fn;

    fn limited(limit: usize) -> SizeLimit<impl NovaService> {
        SizeLimit::new(
            service_fn(|_req: Request| async { http::Response::new(Bytes::from_static(b"in")) }),
            limit,
        )
    }

    async fn status(filter: &SizeLimit<impl NovaService>, req: Request) -> u16 {
        filter.call(req).await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn bodies_up_to_the_limit_pass_and_larger_ones_are_413() {
        let filter = limited(10);
        let at_limit = http::Request::post("/")
            .body(Bytes::from(vec![b'x'; 10]))
            .unwrap();
        assert_eq!(status(&filter, at_limit).await, 200);
        let over = http::Request::post("/")
            .body(Bytes::from(vec![b'x'; 11]))
            .unwrap();
        let response = filter.call(over).await.unwrap();
        assert_eq!(response.status(), 413);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body["overLimit"]["message"],
            "the request body is larger than the limit of 10 bytes"
        );
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_enough_to_refuse() {
        let filter = limited(10);
        let declared = http::Request::post("/")
            .header(CONTENT_LENGTH, "11")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(status(&filter, declared).await, 413);
    }

    #[test]
    fn the_default_is_novas_112_kib() {
        assert_eq!(DEFAULT_MAX_REQUEST_BODY_SIZE, 112 * 1024);
    }
}
