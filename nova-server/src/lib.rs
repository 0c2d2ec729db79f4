//! The nova-rs server: the part that `server.py` is in the seed.
//!
//! It wires the pipeline, the token filter in front of the router in front of
//! the instance controller ([`instance_pipeline`]), and serves any
//! [`SharedService`] over HTTP/1.1 and HTTP/2 with hyper on a multi-threaded
//! tokio runtime ([`Server`]). The server is also the pipeline's edge: it reads
//! each request body (bounded, 413 beyond the limit) so the pipeline sees plain
//! bytes, turns a panic in a handler into a 500 `computeFault` for that
//! request alone, and writes one access-log line per request through
//! `tracing`.
//!
//! ```no_run
//! use nova_server::{Server, ServerConfig};
//!
//! # async fn run() -> Result<(), nova_server::ServerError> {
//! let config = ServerConfig::default(); // 127.0.0.1:8000, token open-sesame
//! let server = Server::bind(&config).await?;
//! println!("serving on {}", server.local_addr());
//! server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await;
//! # Ok(()) }
//! ```

mod edge;
mod server;

use std::sync::Arc;

use nova_auth::{AuthFilter, Tokens};
use nova_controller::{InstanceController, InstanceStore};
use nova_router::{instance_routes, RoutesMiddleware, SharedService};

pub use edge::{Edge, DEFAULT_MAX_BODY_BYTES};
pub use server::{RunningServer, Server, ServerConfig, ServerError, DEFAULT_LISTEN};

// Where instances are kept: chosen by a URL (`--store`), opened by
// nova-store, closed by whoever opened it once serving has stopped.
pub use nova_store::{open as open_store, OpenError, StoreUrl, DEFAULT_STORE_URL};

/// The seed's pipeline, `pipeline = auth instance`: the token filter, then the
/// router, then the instance controller over `store`.
pub fn instance_pipeline(store: Arc<dyn InstanceStore>, tokens: Tokens) -> SharedService {
    Arc::new(AuthFilter::new(
        RoutesMiddleware::new(instance_routes(), InstanceController::new(store)),
        tokens,
    ))
}
