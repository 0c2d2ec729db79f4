//! Nova's standard filters for nova-rs pipelines, and the versions app.
//!
//! Real Nova's `api-paste.ini` puts the same filters in front of every API:
//! a request id, fault wrapping, a body size limit, then authentication and
//! the API itself; a version document answers at `/` and oslo's health check
//! at `/healthcheck`. Each is here as a small
//! [`NovaService`](nova_router::NovaService) that wraps another, usable by
//! hand in any service built on nova-router's `Service` seam (nova-server
//! registers them by name for paste.deploy files):
//!
//! | type | Nova's filter | what it does |
//! |---|---|---|
//! | [`RequestIdFilter`] | `request_id` | `x-openstack-request-id` and `x-compute-request-id: req-<uuid>` on every response; the request's log lines carry the id |
//! | [`FaultWrap`] | `faultwrap` | a panic below becomes a 500 `computeFault` |
//! | [`SizeLimit`] | `sizelimit` | bodies over `max_request_body_size` (112 KiB) are 413 `overLimit` |
//! | [`Healthcheck`], [`HealthcheckFilter`] | `healthcheck` | `GET /healthcheck` is 200, no authentication |
//! | [`Microversions`] | (Nova's `wsgi.Resource`) | reads `OpenStack-API-Version`, 400/406 for a bad or unserved microversion, hands on an `ApiVersion` and echoes it |
//! | [`Versions`] | `versions` | Nova's list of versions at `GET /` |
//! | [`VersionDocument`] | `versions_v2` | the v2.1 version document at `GET /v2.1` (v2.0's at `GET /v2`, behind [`LegacyV2Compatible`]) |
//! | [`LegacyV2Compatible`] | `legacy_v2_compatible` | marks requests as the legacy v2.0 API's, for the version document |
//!
//! # Using them in another service
//!
//! ```
//! use nova_filters::{FaultWrap, RequestIdFilter, SizeLimit};
//! use nova_router::{service_fn, Request, Service};
//!
//! let app = service_fn(|_req: Request| async { http::Response::new("hello".into()) });
//! let pipeline = RequestIdFilter::new(FaultWrap::new(SizeLimit::new(app, 1024)));
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let req = http::Request::post("/").body(vec![0u8; 2048].into()).unwrap();
//! let res = pipeline.call(req).await.unwrap();
//! assert_eq!(res.status(), 413);
//! assert!(res.headers()["x-openstack-request-id"].to_str().unwrap().starts_with("req-"));
//! # });
//! ```

mod fault_wrap;
mod healthcheck;
#[cfg(test)]
mod log_capture;
mod microversion;
mod request_id;
mod size_limit;
mod versions;

pub use fault_wrap::FaultWrap;
pub use healthcheck::{Healthcheck, HealthcheckFilter, DEFAULT_HEALTHCHECK_PATH};
pub use microversion::{Microversions, NOVA_API_VERSION, OPENSTACK_API_VERSION};
pub use request_id::{RequestId, RequestIdFilter, COMPUTE_REQUEST_ID, OPENSTACK_REQUEST_ID};
pub use size_limit::{SizeLimit, DEFAULT_MAX_REQUEST_BODY_SIZE};
pub use versions::{LegacyV2, LegacyV2Compatible, VersionDocument, Versions, DEFAULT_API_PATH};
