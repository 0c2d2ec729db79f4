//! A panic as a fault: what a stage answers when something below it
//! panicked, so that one panicking request costs that request a 500
//! `computeFault` and never its connection or the server.
//!
//! Nova's `faultwrap` filter places this inside a pipeline (nova-filters'
//! `FaultWrap`), where the 500 still passes through the filters in front of
//! it; a server places it at its edge as the last resort.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::{Fault, NovaService, Request, Response};

/// The message a client sees; the panic's own message goes to the log only.
pub const PANIC_MESSAGE: &str = "the server failed to handle the request";

/// Calls `service` with `req`; a panic in the call or in the future it
/// returns is logged and answered 500 `computeFault` with [`PANIC_MESSAGE`].
///
/// The service is called at once and the future returned owns what it
/// needs, so a caller need not keep the service (or a counted reference to
/// it) alive while the answer is awaited.
///
/// ```
/// use nova_router::{call_catching_panics, service_fn, Request};
///
/// let app = service_fn(|_req: Request| async { panic!("broken") });
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let req = http::Request::get("/").body(Default::default()).unwrap();
/// assert_eq!(call_catching_panics(&app, req).await.status(), 500);
/// # });
/// ```
pub fn call_catching_panics<S: NovaService + ?Sized>(
    service: &S,
    req: Request,
) -> impl Future<Output = Response> + Send + 'static {
    // The call itself may panic as well as the future it returns.
    let called = std::panic::catch_unwind(AssertUnwindSafe(|| service.call(req)));
    async move {
        let future = match called {
            Ok(future) => future,
            Err(panic) => return panic_response(&*panic),
        };
        match AssertUnwindSafe(future).catch_unwind().await {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(panic) => panic_response(&*panic),
        }
    }
}

/// Logs a panic and answers it.
fn panic_response(panic: &(dyn Any + Send)) -> Response {
    tracing::error!(reason = %reason(panic), "a handler panicked; answering 500");
    Fault::internal(PANIC_MESSAGE).into_response()
}

/// The text of a panic's payload.
fn reason(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{service_fn, ResponseFuture, Service};
    use bytes::Bytes;

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
        let lazy = service_fn(|req: Request| async move {
            if req.uri().path() == "/boom" {
                panic!("lazy {}", 1);
            }
            http::Response::new(Bytes::from_static(b"fine"))
        });
        let get = |path: &str| http::Request::get(path).body(Bytes::new()).unwrap();
        for response in [
            call_catching_panics(&lazy, get("/boom")).await,
            call_catching_panics(&PanicsEagerly, get("/")).await,
        ] {
            assert_eq!(response.status(), 500);
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["computeFault"]["message"], PANIC_MESSAGE);
        }
        let fine = call_catching_panics(&lazy, get("/")).await;
        assert_eq!(fine.body().as_ref(), b"fine");
    }

    #[test]
    fn the_reason_is_read_from_str_and_string_payloads() {
        assert_eq!(reason(&"static"), "static");
        assert_eq!(reason(&"owned".to_owned()), "owned");
        assert_eq!(reason(&42), "unknown panic");
    }
}
