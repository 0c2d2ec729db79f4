//! The nova-rs server: the part that `server.py` is in the seed.
//!
//! It serves the application a paste.deploy file describes, as the seed's
//! `loadapp('config:configure.ini', 'main')` and `make_server` do, in the
//! order a reader of `main.rs` sees:
//!
//! 1. [`load`] reads the file once and calls every factory nova-server has
//!    ([`registry`]; [`BUILTIN_CONFIG`] is the seed's file): each checks its
//!    keys and describes what it builds, so a bad file is one
//!    [`ConfigError`](nova_paste::ConfigError) and nothing has been opened;
//! 2. the stores the plan names are opened with nova-store's
//!    [`Stores`](nova_store::Stores);
//! 3. [`AppPlan::build`] builds the [`Pipeline`] over them;
//! 4. [`Server`] serves it over HTTP/1.1 and HTTP/2 with hyper on a
//!    multi-threaded tokio runtime, behind the [`Edge`], which reads each
//!    body (bounded) so the pipeline sees plain bytes, turns a panic no
//!    `faultwrap` filter caught into a 500 `computeFault` for that request
//!    alone, and writes one access-log line per request;
//! 5. after serving, the stores are closed.
//!
//! ```no_run
//! use nova_server::{load, ConfigSource, Overrides, Server, ServerConfig};
//! use nova_store::Stores;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let loaded = load(&ConfigSource::Builtin, "main", &Overrides::default())?;
//! let stores = Stores::open(loaded.app.stores().iter().cloned()).await?;
//! let pipeline = loaded.app.build(&stores)?;
//! let server = Server::bind(&ServerConfig::default(), pipeline).await?; // 127.0.0.1:8000
//! println!("serving on {}", server.local_addr());
//! server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await;
//! stores.close().await?;
//! # Ok(()) }
//! ```

mod access_log;
mod app_plan;
mod config;
mod connection;
mod control_plane;
mod edge;
mod factories;
mod log_clock;
mod log_format;
mod log_writer;
mod oversize;
mod pipeline;
mod server;
mod server_section;

use std::sync::Arc;

use nova_auth::{AuthFilter, Tokens};
use nova_controller::{InstanceController, InstanceStore};
use nova_router::{instance_routes, RoutesMiddleware};

pub use app_plan::{AppPlan, BuildError};
pub use config::{
    load, load_with, ConfigSource, LoadedConfig, BUILTIN_CONFIG, BUILTIN_CONFIG_NAME,
};
pub use edge::{Edge, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES};
pub use factories::{registry, Overrides};
pub use log_clock::LogClock;
pub use log_format::LogFormat;
pub use log_writer::{PerThreadWriter, ThreadHandle};
pub use pipeline::Pipeline;
pub use server::{
    RunningServer, Server, ServerConfig, ServerError, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
};
pub use server_section::ServerSection;

/// The seed's pipeline, `pipeline = auth instance`, composed by hand: the
/// token filter, then the router, then the instance controller over `store`.
/// [`BUILTIN_CONFIG`] builds the same from the seed's file.
pub fn instance_pipeline(store: Arc<dyn InstanceStore>, tokens: Tokens) -> Pipeline {
    Pipeline::from_service(Arc::new(AuthFilter::new(
        RoutesMiddleware::new(instance_routes(), InstanceController::new(store)),
        tokens,
    )))
}
