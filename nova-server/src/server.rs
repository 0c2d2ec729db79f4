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
use nova_router::PeerAddr;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::connection::{Activity, ConnectionLimits, TimedIo};
use crate::{Edge, Pipeline, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES};

/// How long, at shutdown, kept-alive connections may still bring a request
/// (answered with `Connection: close`) before idle ones are closed.
const DRAIN_LINGER: Duration = Duration::from_millis(500);

/// The seed's address, `make_server('localhost', 8000, …)`.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8000));

/// Default for [`ServerConfig::header_read_timeout`], as hyper's own.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`ServerConfig::idle_timeout`], as nginx's `keepalive_timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Default for [`ServerConfig::max_header_bytes`].
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;
/// Default for [`ServerConfig::max_connections`]: well under the usual
/// open-file limits, counting one descriptor per connection.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The smallest read buffer hyper accepts.
const MIN_HEADER_BUFFER: usize = 8 * 1024;

/// How the server listens and what it accepts: the socket and the edge's
/// limits, nothing about the application it serves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The most bytes of a request body the server reads; a larger body is
    /// answered 413 without being read whole (see [`Edge`]).
    pub max_body_bytes: usize,
    /// How long shutdown waits for requests in flight before closing their
    /// connections.
    pub shutdown_grace: Duration,
    /// How long a client may take from the first byte of a request to the
    /// end of its headers; slower clients are disconnected.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// How long a client may take to send a request body once its headers
    /// are in; slower ones get 408.
    pub body_read_timeout: Duration,
    /// The largest request head (request line and headers) accepted, in
    /// bytes (at least 8 KiB); HTTP/1 clients sending more get 431.
    pub max_header_bytes: usize,
    /// At most this many connections are served at once; further clients
    /// wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: Duration::from_secs(30),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
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
    limits: ConnectionLimits,
    max_header_bytes: usize,
    max_connections: usize,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `config`'s address to serve `pipeline` with `config`'s limits.
    pub async fn bind(config: &ServerConfig, pipeline: Pipeline) -> Result<Self, ServerError> {
        let edge = Edge::new(pipeline, config.max_body_bytes)
            .with_body_read_timeout(config.body_read_timeout);
        Self::bind_edge(config, edge).await
    }

    async fn bind_edge(config: &ServerConfig, edge: Edge) -> Result<Self, ServerError> {
        let bind_error = |source| ServerError::Bind {
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Server {
            listener,
            local_addr,
            edge,
            shutdown_grace: config.shutdown_grace,
            limits: ConnectionLimits {
                header_read_timeout: config.header_read_timeout,
                idle_timeout: config.idle_timeout,
            },
            max_header_bytes: config.max_header_bytes,
            // Zero would never accept anyone; one is the least that works.
            max_connections: config.max_connections.max(1),
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
            limits,
            max_header_bytes,
            max_connections,
            ..
        } = self;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // TimedIo enforces the header and idle timeouts for both protocols,
        // so hyper's own HTTP/1 header timer (which would also cut idle
        // keep-alive connections at the header timeout) is switched off.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            // hyper's read buffer bounds the request head; it panics below
            // 8 KiB, so smaller settings are raised to that.
            .max_buf_size(max_header_bytes.max(MIN_HEADER_BUFFER));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(max_header_bytes).unwrap_or(u32::MAX));
        let connection_slots = Arc::new(Semaphore::new(max_connections));
        let graceful = GracefulShutdown::new();
        let serve = |stream: tokio::net::TcpStream,
                     peer: SocketAddr,
                     slot: Option<OwnedSemaphorePermit>| {
            // Responses are small and latency matters more than packet count.
            let _ = stream.set_nodelay(true);
            let activity = Arc::new(Activity::default());
            let io = TimedIo::new(stream, activity.clone(), limits);
            let edge = edge.clone();
            let service = hyper::service::service_fn(move |mut req: http::Request<_>| {
                // For apps that serve only callers on this machine (the
                // control API).
                req.extensions_mut().insert(PeerAddr(peer));
                let edge = edge.clone();
                let in_flight = activity.begin();
                async move {
                    let response = edge.handle(req).await;
                    drop(in_flight);
                    response
                }
            });
            let connection = builder.serve_connection(TokioIo::new(io), service);
            let connection = graceful.watch(connection.into_owned());
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                drop(slot);
            });
        };
        tokio::pin!(signal);
        loop {
            let slot = tokio::select! {
                slot = connection_slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
                () = &mut signal => break,
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => serve(stream, peer, Some(slot)),
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
        // listener closes: serve them too, past the connection limit if need
        // be, since they are few and the server is about to stop.
        while let Some(Ok((stream, peer))) = listener.accept().now_or_never() {
            serve(stream, peer, None);
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
