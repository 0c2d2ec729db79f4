//! Bodies the server refused to read.
//!
//! The server reads each request body before the pipeline runs, up to a hard
//! cap, so that no client can make it hold an arbitrary amount of memory. A
//! body over the cap is never read whole. The request still travels down the
//! pipeline, with an empty body and the [`OversizeBody`] marker, so that the
//! filters in front (request id, request log, fault wrapping, a size limit
//! filter with its own message) treat it as any other request they refuse;
//! whatever application it reaches is guarded by [`RefuseOversizeBody`],
//! which answers 413 `overLimit` instead of letting it handle an empty body.

use crate::{ready, Fault, NovaService, Request, Response, ResponseFuture, Service};

/// Marks a request whose body the server did not read because it is larger
/// than `limit` bytes; the request's body is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OversizeBody {
    /// The largest body the server reads, in bytes.
    pub limit: usize,
}

impl OversizeBody {
    /// The 413 `overLimit` fault for a body over `limit` bytes.
    pub fn fault(limit: usize) -> Fault {
        Fault::payload_too_large(format!(
            "the request body is larger than the limit of {limit} bytes"
        ))
    }
}

/// Answers 413 `overLimit` for a request marked [`OversizeBody`] and passes
/// every other request to the application it guards.
#[derive(Debug, Clone)]
pub struct RefuseOversizeBody<S> {
    inner: S,
}

impl<S> RefuseOversizeBody<S> {
    /// Guards `inner`.
    pub fn new(inner: S) -> Self {
        RefuseOversizeBody { inner }
    }
}

impl<S: NovaService> Service<Request> for RefuseOversizeBody<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        match req.extensions().get::<OversizeBody>() {
            Some(marker) => ready(OversizeBody::fault(marker.limit).into_response()),
            None => self.inner.call(req),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_fn;
    use bytes::Bytes;

    #[tokio::test]
    async fn a_marked_request_never_reaches_the_application() {
        let guarded = RefuseOversizeBody::new(service_fn(|_req: Request| async {
            http::Response::new(Bytes::from_static(b"handled"))
        }));
        let mut req = http::Request::post("/instances")
            .body(Bytes::new())
            .unwrap();
        req.extensions_mut().insert(OversizeBody { limit: 10 });
        let response = guarded.call(req).await.unwrap();
        assert_eq!(response.status(), 413);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body["overLimit"]["message"],
            "the request body is larger than the limit of 10 bytes"
        );

        let req = http::Request::post("/instances")
            .body(Bytes::new())
            .unwrap();
        let response = guarded.call(req).await.unwrap();
        assert_eq!(response.body().as_ref(), b"handled");
    }
}
