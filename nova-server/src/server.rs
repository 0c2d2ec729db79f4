//! Listening, accepting and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use nova_auth::Tokens;
use nova_controller::MemoryStore;
use nova_router::SharedService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{instance_pipeline, Edge, DEFAULT_MAX_BODY_BYTES};

/// How long, at shutdown, kept-alive connections may still bring a request
/// (answered with `Connection: close`) before idle ones are closed.
const DRAIN_LINGER: Duration = Duration::from_millis(500);

/// The seed's address, `make_server('localhost', 8000, …)`.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8000));

/// How the server listens and what it accepts.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The tokens the auth filter accepts.
    pub tokens: Tokens,
    /// Request bodies larger than this are answered 413 without being read whole.
    pub max_body_bytes: usize,
    /// How long shutdown waits for requests in flight before closing their
    /// connections.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN,
            tokens: Tokens::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
}

/// A bound, not yet serving, server.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    edge: Edge,
    shutdown_grace: Duration,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the seed's pipeline over a new seeded in-memory store.
    pub async fn bind(config: &ServerConfig) -> Result<Self, ServerError> {
        let pipeline = instance_pipeline(Arc::new(MemoryStore::seeded()), config.tokens.clone());
        Self::bind_pipeline(config, pipeline).await
    }

    /// Binds any pipeline, with `config`'s address and limits (its tokens are
    /// not used: authentication is part of the pipeline).
    pub async fn bind_pipeline(
        config: &ServerConfig,
        pipeline: SharedService,
    ) -> Result<Self, ServerError> {
        let bind_error = |source| ServerError::Bind {
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Server {
            listener,
            local_addr,
            edge: Edge::new(pipeline, config.max_body_bytes),
            shutdown_grace: config.shutdown_grace,
        })
    }

    /// The address actually listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `signal` completes, then stops accepting, lets requests
    /// in flight finish within the grace period and returns.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        let Server {
            listener,
            edge,
            shutdown_grace,
            ..
        } = self;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // A timer enables hyper's header read timeout (30 s by default), so a
        // client that never finishes its headers cannot hold a task forever.
        builder.http1().timer(TokioTimer::new());
        builder.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();
        let serve = |stream: tokio::net::TcpStream, peer: SocketAddr| {
            // Responses are small and latency matters more than packet count.
            let _ = stream.set_nodelay(true);
            let edge = edge.clone();
            let service = hyper::service::service_fn(move |req| {
                let edge = edge.clone();
                async move { edge.handle(req).await }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection.into_owned());
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        };
        tokio::pin!(signal);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => serve(stream, peer),
                    Err(error) => {
                        // Usually out of file descriptors: wait for some to be
                        // freed instead of spinning or exiting.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut signal => break,
            }
        }
        let deadline = tokio::time::Instant::now() + shutdown_grace;
        // Connections the kernel has already accepted would be reset when the
        // listener closes: serve them too.
        while let Some(Ok((stream, peer))) = listener.accept().now_or_never() {
            serve(stream, peer);
        }
        drop(listener);
        tracing::info!("shutting down: no new connections, waiting for requests in flight");
        // From now on each HTTP/1 answer says `Connection: close`. A client
        // may have sent its next request on a kept-alive connection just
        // now; closing that connection at once would lose the request, so
        // for a short while such requests are still answered, each telling
        // its client to close, before idle connections are closed.
        edge.start_draining();
        let linger_until = (tokio::time::Instant::now() + DRAIN_LINGER).min(deadline);
        while graceful.count() > 0 && tokio::time::Instant::now() < linger_until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!(grace = ?shutdown_grace, "grace period over; closing remaining connections");
            }
        }
    }

    /// Serves in a background task on the current tokio runtime; the returned
    /// handle stops it.
    pub fn spawn(self) -> RunningServer {
        let local_addr = self.local_addr;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.run_until(async {
            let _ = stopped.await;
        }));
        RunningServer {
            local_addr,
            stop,
            task,
        }
    }
}

/// A server serving in the background, see [`Server::spawn`].
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Its base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting, waits for requests in flight (within the grace
    /// period) and returns once the server has stopped.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the server task failed");
        }
    }
}
