//! Bodies the edge refused to read, and the guard that keeps them from any
//! application.
//!
//! The edge reads each request body before the pipeline runs, up to the
//! server's body cap. A body over the cap is never read whole; the request
//! still travels down the pipeline, with an empty body and the
//! [`OversizeBody`] marker, so that the filters in front (the request id, a
//! `sizelimit` with its own message, fault wrapping, the token check) treat
//! it as any other request they refuse. Every application the server serves
//! sits behind [`RefuseOversizeBody`] (see [`Pipeline`](crate::Pipeline)),
//! which answers 413 `overLimit` instead of letting it act on an empty body.
//! Only the edge writes the marker and only the guard reads it.

use nova_router::{ready, Fault, NovaService, Request, Response, ResponseFuture, Service};

/// Marks a request whose body the edge did not read because it is larger
/// than `limit` bytes; the request's body is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OversizeBody {
    /// The largest body the edge reads, in bytes.
    pub(crate) limit: usize,
}

impl OversizeBody {
    /// The 413 `overLimit` fault for a body over the cap.
    pub(crate) fn fault(self) -> Fault {
        Fault::payload_too_large(format!(
            "the request body is larger than the limit of {} bytes",
            self.limit
        ))
    }
}

/// Answers 413 `overLimit` for a request marked [`OversizeBody`] and passes
/// every other request to the application it guards.
#[derive(Debug, Clone)]
pub(crate) struct RefuseOversizeBody<S> {
    inner: S,
}

impl<S> RefuseOversizeBody<S> {
    /// Guards `inner`.
    pub(crate) fn new(inner: S) -> Self {
        RefuseOversizeBody { inner }
    }
}

impl<S: NovaService> Service<Request> for RefuseOversizeBody<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        match req.extensions().get::<OversizeBody>() {
            Some(marker) => ready(marker.fault().into_response()),
            None => self.inner.call(req),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::service_fn;

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
