//! URL mapping for nova-rs: the part of the pipeline that `routers.py` is in the seed.
//!
//! A [`Mapper`] holds routes connected as `routes.Mapper.connect` does: a path
//! template such as `/instances/{instance_id}`, an action name and the methods it
//! answers. [`RoutesMiddleware`] wraps an inner service; for each request it
//! matches the path and method, stores the result as [`RoutingArgs`] in the
//! request's extensions (standing in for WSGI's `wsgiorg.routing_args`) and calls
//! the inner service. A path nothing matches is answered 404, a known path with
//! another method 405 with an `Allow` header, and `HEAD` wherever `GET` is routed.
//!
//! [`UrlMap`] is the other half of URL mapping, paste's `urlmap`: it sends
//! each request to the application mounted at the longest matching path
//! prefix and records the prefix as [`ScriptName`] (and the URI the client
//! sent as [`OriginalUri`]), as WSGI's `SCRIPT_NAME`.
//!
//! This crate is also the lowest layer of the workspace: it defines the one
//! service trait the pipeline is built from ([`NovaService`], hyper's
//! [`Service`] with the request, response and error types fixed) and [`Fault`],
//! the Nova fault body every error response uses, and [`ApiVersion`], the
//! microversion a request asked for, as one layer parsed it.
//!
//! # Using it in another service
//!
//! ```
//! use http::{Method, StatusCode};
//! use nova_router::{service_fn, Mapper, Request, RoutesMiddleware, RoutingArgs, Service};
//!
//! let mut mapper = Mapper::new();
//! mapper.connect("/volumes/{volume_id}", "show", &[Method::GET]).unwrap();
//!
//! // The application reads what the router matched; it never parses the path.
//! let app = service_fn(|req: Request| async move {
//!     let args = req.extensions().get::<RoutingArgs>().cloned().unwrap_or_default();
//!     let body = format!("{} {}", args.action(), args.param("volume_id").unwrap_or(""));
//!     http::Response::new(body.into())
//! });
//! let router = RoutesMiddleware::new(mapper, app);
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let req = http::Request::get("/volumes/vol%201").body(Default::default()).unwrap();
//! let res = router.call(req).await.unwrap();
//! assert_eq!(res.body().as_ref(), b"show vol 1");
//!
//! let req = http::Request::delete("/volumes/v1").body(Default::default()).unwrap();
//! let res = router.call(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
//! assert_eq!(res.headers()["allow"], "GET, HEAD");
//! # });
//! ```

mod api_version;
mod context;
mod error;
mod fault;
mod mapper;
mod middleware;
mod mount;
mod panic;
mod peer;
mod request_id;
mod routes;
mod routing_args;
mod service;
mod urlmap;

pub use api_version::{ApiVersion, ApiVersionRange, MalformedApiVersion};
pub use context::RequestContext;
pub use error::{MapperError, MatchError};
pub use fault::{
    json_response, method_not_allowed, serialized_json_response, Fault, JSON_CONTENT_TYPE,
};
pub use mapper::Mapper;
pub use middleware::RoutesMiddleware;
pub use mount::{OriginalUri, ScriptName};
pub use panic::{call_catching_panics, PANIC_MESSAGE};
pub use peer::PeerAddr;
pub use request_id::RequestId;
pub use routes::{compute_routes, instance_routes};
pub use routing_args::RoutingArgs;
pub use service::{
    ready, service_fn, FnService, NovaService, Request, Response, ResponseFuture, Service,
    SharedService,
};
pub use urlmap::{MountError, UrlMap};
