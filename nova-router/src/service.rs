//! The one service trait every stage of the pipeline implements.
//!
//! It is hyper's [`Service`] (`fn call(&self, req) -> Future`) with the types
//! fixed: a request whose body has already been read into [`Bytes`], a response
//! with a [`Bytes`] body, [`Infallible`] as the error (every failure is a
//! response, usually a [`Fault`](crate::Fault)) and a boxed `Send` future. A
//! pipeline assembled at run time is therefore a [`SharedService`], an `Arc<dyn
//! NovaService>` that clones cheaply and that hyper's blanket impls already make
//! a `Service` itself.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

pub use hyper::service::Service;

/// A request as the pipeline sees it: the body is read (and bounded) by the
/// server before the first filter runs, so filters and tests handle plain bytes.
pub type Request = http::Request<Bytes>;

/// A response as the pipeline produces it.
pub type Response = http::Response<Bytes>;

/// The future every pipeline stage returns.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// A stage of the pipeline: hyper's [`Service`] with nova-rs's request,
/// response, error and future types.
///
/// It is implemented for every type that implements [`Service`] with those
/// types and is `Send + Sync + 'static`, so it never needs implementing by hand.
pub trait NovaService:
    Service<Request, Response = Response, Error = Infallible, Future = ResponseFuture>
    + Send
    + Sync
    + 'static
{
}

impl<T> NovaService for T where
    T: Service<Request, Response = Response, Error = Infallible, Future = ResponseFuture>
        + Send
        + Sync
        + 'static
{
}

/// A type-erased pipeline (or part of one), cheap to clone and share between
/// connections.
pub type SharedService = Arc<dyn NovaService>;

/// Wraps an already computed response as a [`ResponseFuture`].
pub fn ready(response: Response) -> ResponseFuture {
    Box::pin(std::future::ready(Ok(response)))
}

/// A [`NovaService`] made from an async function, see [`service_fn`].
#[derive(Clone)]
pub struct FnService<F> {
    function: F,
}

impl<F> std::fmt::Debug for FnService<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnService").finish_non_exhaustive()
    }
}

/// Makes a [`NovaService`] from an async function of the request.
///
/// Handy for tests and for small applications behind a [`RoutesMiddleware`](crate::RoutesMiddleware).
pub fn service_fn<F, Fut>(function: F) -> FnService<F>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    FnService { function }
}

impl<F, Fut> Service<Request> for FnService<F>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let response = (self.function)(req);
        Box::pin(async move { Ok(response.await) })
    }
}
