//! `faultwrap`: Nova's `FaultWrapper`. A panic anywhere below becomes a 500
//! `computeFault` for that request alone, answered from inside the pipeline
//! so the filters in front (a request id, say) still see it; the connection
//! and the server go on serving.

use std::sync::Arc;

use nova_router::{call_catching_panics, NovaService, Request, Response, ResponseFuture, Service};

/// The filter; see the module documentation.
#[derive(Debug)]
pub struct FaultWrap<S> {
    inner: Arc<S>,
}

impl<S> Clone for FaultWrap<S> {
    fn clone(&self) -> Self {
        FaultWrap {
            inner: self.inner.clone(),
        }
    }
}

impl<S> FaultWrap<S> {
    /// Contains the panics of `inner`.
    pub fn new(inner: S) -> Self {
        FaultWrap {
            inner: Arc::new(inner),
        }
    }
}

impl<S: NovaService> Service<Request> for FaultWrap<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let answer = call_catching_panics(&*self.inner, req);
        Box::pin(async move { Ok(answer.await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::{service_fn, PANIC_MESSAGE};

    #[tokio::test]
    async fn a_panic_below_is_a_500_compute_fault_and_the_next_request_is_served() {
        let filter = FaultWrap::new(service_fn(|req: Request| async move {
            if req.uri().path() == "/boom" {
                panic!("handler exploded");
            }
            http::Response::new(Bytes::from_static(b"fine"))
        }));
        let get = |path: &str| http::Request::get(path).body(Bytes::new()).unwrap();
        let response = filter.call(get("/boom")).await.unwrap();
        assert_eq!(response.status(), 500);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["computeFault"]["message"], PANIC_MESSAGE);
        let fine = filter.call(get("/")).await.unwrap();
        assert_eq!(fine.body().as_ref(), b"fine");
    }
}
