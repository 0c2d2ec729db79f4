//! `faultwrap`: Nova's `FaultWrapper`. A panic anywhere below becomes a 500
//! `computeFault` for that request alone; the connection and the server go
//! on serving.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use nova_router::{Fault, NovaService, Request, Response, ResponseFuture, Service};

/// The message a client sees; the panic's own message goes to the log only.
const MESSAGE: &str = "the server failed to handle the request";

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

/// The text of a panic's payload.
fn reason(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

impl<S: NovaService> Service<Request> for FaultWrap<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let inner = self.inner.clone();
        // The call itself may panic as well as the future it returns, so
        // both happen inside the guarded future.
        let guarded = AssertUnwindSafe(async move { inner.call(req).await }).catch_unwind();
        Box::pin(async move {
            match guarded.await {
                Ok(result) => result,
                Err(panic) => {
                    tracing::error!(reason = %reason(&*panic), "a handler panicked; answering 500");
                    Ok(Fault::internal(MESSAGE).into_response())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::{service_fn, ResponseFuture};

    /// Panics in `call` itself, before returning a future.
    struct PanicsEagerly;

    impl Service<Request> for PanicsEagerly {
        type Response = Response;
        type Error = std::convert::Infallible;
        type Future = ResponseFuture;
        fn call(&self, _req: Request) -> Self::Future {
            panic!("eager")
        }
    }

    #[tokio::test]
    async fn a_panic_in_the_call_or_its_future_is_a_500_compute_fault() {
        let lazy = FaultWrap::new(service_fn(|req: Request| async move {
            if req.uri().path() == "/boom" {
                panic!("lazy {}", 1);
            }
            http::Response::new(Bytes::from_static(b"fine"))
        }));
        let eager = FaultWrap::new(PanicsEagerly);
        for response in [
            lazy.call(http::Request::get("/boom").body(Bytes::new()).unwrap())
                .await,
            eager
                .call(http::Request::get("/").body(Bytes::new()).unwrap())
                .await,
        ] {
            let response = response.unwrap();
            assert_eq!(response.status(), 500);
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["computeFault"]["message"], MESSAGE);
        }
        let fine = lazy
            .call(http::Request::get("/").body(Bytes::new()).unwrap())
            .await;
        assert_eq!(fine.unwrap().body().as_ref(), b"fine");
    }

    #[test]
    fn the_reason_is_read_from_str_and_string_payloads() {
        assert_eq!(reason(&"static"), "static");
        assert_eq!(reason(&"owned".to_owned()), "owned");
        assert_eq!(reason(&42), "unknown panic");
    }
}
