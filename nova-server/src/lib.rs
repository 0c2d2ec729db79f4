//! The nova-rs server: the part that `server.py` is in the seed.
//!
//! It builds the pipeline from a paste.deploy file, as the seed's
//! `loadapp('config:configure.ini', 'main')` does ([`load`], with every
//! factory nova-rs has in [`registry`]; [`BUILTIN_CONFIG`] is the seed's
//! file), and serves it over HTTP/1.1 and HTTP/2 with hyper on a
//! multi-threaded tokio runtime ([`Server`]). The server is also the
//! pipeline's edge: it reads each request body, bounded, so the pipeline
//! sees plain bytes; it turns a panic that no `faultwrap` filter caught into
//! a 500 `computeFault` for that request alone; and it writes the
//! access-log line of every request no `request_log` filter logged, so the
//! seed's `auth instance` pipeline logs one line per request too.
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

mod connection;
mod edge;
mod log_clock;
mod server;
mod wiring;

use std::sync::Arc;

use nova_auth::{AuthFilter, Tokens};
use nova_controller::{InstanceController, InstanceStore};
use nova_router::{instance_routes, RoutesMiddleware, SharedService};

pub use edge::{Edge, DEFAULT_MAX_BODY_BYTES};
pub use log_clock::LogClock;
pub use server::{
    RunningServer, Server, ServerConfig, ServerError, DEFAULT_BODY_READ_TIMEOUT,
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
};
pub use wiring::{
    load, load_with, memory_store_opener, registry, store_opener, store_url_checker, ConfigSource,
    Loaded, OpenedStores, StoreOpener, StoreSettings, Wiring, BUILTIN_CONFIG, BUILTIN_CONFIG_NAME,
};

// Where instances are kept: chosen by a URL (`--store` or the instance
// app's `store =` key), opened by nova-store, closed by whoever opened it
// once serving has stopped.
pub use nova_store::{open as open_store, OpenError, StoreUrl, DEFAULT_STORE_URL};

/// The seed's pipeline, `pipeline = auth instance`, composed by hand: the
/// token filter, then the router, then the instance controller over `store`.
/// [`BUILTIN_CONFIG`] builds the same from the seed's file.
pub fn instance_pipeline(store: Arc<dyn InstanceStore>, tokens: Tokens) -> SharedService {
    Arc::new(AuthFilter::new(
        RoutesMiddleware::new(instance_routes(), InstanceController::new(store)),
        tokens,
    ))
}
