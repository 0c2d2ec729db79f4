//! The instance controller of nova-rs: the part of the pipeline that
//! `controllers.py` is in the seed.
//!
//! [`InstanceController`] is the application at the end of the pipeline. It
//! reads the [`RoutingArgs`](nova_router::RoutingArgs) the router stored on the
//! request and dispatches on the action: `index`, `create`, `show`, `update`
//! or `delete`. It never parses the path itself. Instances live behind the
//! [`InstanceStore`] trait; [`MemoryStore`] is the in-memory store, seeded with
//! `inst-0`, `inst-1` and `inst-2` as the seed's dict is. [`OpenApiApp`]
//! serves the API's OpenAPI document beside it.
//!
//! Unlike the seed, every bad input gets a 4xx Nova fault and changes nothing:
//! a missing, empty, blank or over-long `name`, a body that does not parse, a
//! content type other than form or JSON, an unknown id.
//!
//! # Using it in another service
//!
//! ```
//! use std::sync::Arc;
//! use nova_controller::{InstanceController, MemoryStore};
//! use nova_router::{instance_routes, RoutesMiddleware, Service};
//!
//! let controller = InstanceController::new(Arc::new(MemoryStore::seeded()));
//! let api = RoutesMiddleware::new(instance_routes(), controller);
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let create = http::Request::post("/instances")
//!     .header("content-type", "application/json")
//!     .body(r#"{"instance": {"name": "web-1"}}"#.into())
//!     .unwrap();
//! let response = api.call(create).await.unwrap();
//! assert_eq!(response.status(), 201);
//!
//! let list = http::Request::get("/instances").body(Default::default()).unwrap();
//! let body = api.call(list).await.unwrap().into_body();
//! let listing: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(listing["instances"].as_array().unwrap().len(), 4);
//! # });
//! ```

mod controller;
mod creation_order;
mod error;
mod openapi;
mod params;
mod preconditions;
mod store;
mod timestamp;

pub use controller::InstanceController;
pub use creation_order::{CreationOrder, Keyed};
pub use error::{ControllerError, NameError, RequestBodyError};
pub use openapi::{OpenApiApp, OpenApiError, OPENAPI_DOCUMENT};
pub use params::{validate_name, MAX_NAME_CHARS};
pub use store::{
    Change, IfMatch, Instance, InstanceStore, MemoryStore, StoreError, StoreFuture, SEED_NAMES,
};
pub use timestamp::{Timestamp, TimestampError};
