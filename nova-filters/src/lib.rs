//! Nova's standard filters for nova-rs pipelines, and the versions app.
//!
//! Real Nova's `api-paste.ini` puts the same filters in front of every API:
//! a request id, fault wrapping, a body size limit, a request log, then
//! authentication and the API itself; a version document answers at `/` and
//! oslo's health check at `/healthcheck`. Each is here as a small
//! [`NovaService`](nova_router::NovaService) that wraps another, usable by
//! hand or, through [`register`], by name in a paste.deploy file:
//!
//! | name | what it does |
//! |---|---|
//! | [`request_id`](RequestIdFilter) | `x-openstack-request-id` and `x-compute-request-id: req-<uuid>` on every response; the request's log lines carry the id |
//! | [`faultwrap`](FaultWrap) | a panic below becomes a 500 `computeFault` |
//! | [`sizelimit`](SizeLimit) | bodies over `max_request_body_size` (112 KiB) are 413 `overLimit` |
//! | [`request_log`](RequestLog) | one access-log line per request |
//! | [`healthcheck`](Healthcheck) | `GET /healthcheck` is 200, no authentication |
//! | [`versions`](Versions) | Nova's version document at `GET /` |
//!
//! # Using them in another service
//!
//! ```
//! use nova_filters::{FaultWrap, RequestIdFilter, RequestLog, SizeLimit};
//! use nova_router::{service_fn, Request, Service};
//!
//! let app = service_fn(|_req: Request| async { http::Response::new("hello".into()) });
//! let pipeline = RequestIdFilter::new(FaultWrap::new(SizeLimit::new(RequestLog::new(app), 1024)));
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let req = http::Request::post("/").body(vec![0u8; 2048].into()).unwrap();
//! let res = pipeline.call(req).await.unwrap();
//! assert_eq!(res.status(), 413);
//! assert!(res.headers()["x-openstack-request-id"].to_str().unwrap().starts_with("req-"));
//! # });
//! ```

mod factories;
mod fault_wrap;
mod healthcheck;
#[cfg(test)]
mod log_capture;
mod request_id;
mod request_log;
mod size_limit;
mod versions;

pub use factories::register;
pub use fault_wrap::FaultWrap;
pub use healthcheck::{Healthcheck, HealthcheckFilter, DEFAULT_HEALTHCHECK_PATH};
pub use request_id::{RequestId, RequestIdFilter, COMPUTE_REQUEST_ID, OPENSTACK_REQUEST_ID};
pub use request_log::{log_access, AccessLogged, RequestLog};
pub use size_limit::{SizeLimit, DEFAULT_MAX_REQUEST_BODY_SIZE};
pub use versions::{Versions, DEFAULT_API_PATH};
