//! `nova-server`: serves the nova-rs instance API.
//!
//! `cargo run -p nova-server` listens on 127.0.0.1:8000 and accepts the token
//! `open-sesame`, as the seed does; `--help` lists the options.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nova_auth::Tokens;
use nova_server::{
    instance_pipeline, Server, ServerConfig, StoreUrl, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_STORE_URL,
};
use tracing_subscriber::EnvFilter;

/// Serves the nova-rs instance API.
#[derive(Debug, Parser)]
#[command(name = "nova-server", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// A token the auth filter accepts; repeat it, or separate several with
    /// commas, to accept more than one. Defaults to the seed's `open-sesame`.
    #[arg(
        long = "token",
        value_name = "TOKEN",
        env = "NOVA_AUTH_TOKENS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    tokens: Vec<String>,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Seconds to let requests in flight finish after SIGTERM or SIGINT.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    shutdown_grace: u64,

    /// Where instances are kept: `memory:`, `sqlite:PATH` or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    #[arg(
        long,
        value_name = "URL",
        env = "NOVA_STORE",
        hide_env_values = true,
        default_value = DEFAULT_STORE_URL
    )]
    store: StoreUrl,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let tokens = if args.tokens.is_empty() {
        Tokens::default()
    } else {
        match Tokens::new(&args.tokens) {
            Ok(tokens) => tokens,
            Err(error) => {
                tracing::error!("invalid --token: {error}");
                return ExitCode::from(2);
            }
        }
    };
    let config = ServerConfig {
        listen: args.listen,
        tokens,
        max_body_bytes: args.max_body_bytes,
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let store_url = args.store.resolved();
    runtime.block_on(async {
        let store = match nova_server::open_store(&store_url).await {
            Ok(store) => store,
            Err(error) => {
                tracing::error!("{error}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!("instances are kept in {store_url}");
        let pipeline = instance_pipeline(store.clone(), config.tokens.clone());
        let server = match Server::bind_pipeline(&config, pipeline).await {
            Ok(server) => server,
            Err(error) => {
                tracing::error!("{error}");
                return ExitCode::FAILURE;
            }
        };
        let signal = shutdown_signal();
        tracing::info!("listening on http://{}", server.local_addr());
        server.run_until(signal).await;
        // Requests in flight have finished (or the grace period is over):
        // commit what they wrote and release the store.
        if let Err(error) = store.close().await {
            tracing::error!("closing the store failed: {error}");
            return ExitCode::FAILURE;
        }
        tracing::info!("stopped");
        ExitCode::SUCCESS
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called, not when the future is first polled, so a signal that
/// arrives right after the listening line is logged still stops the server
/// gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let listen = |kind: tokio::signal::unix::SignalKind, name: &'static str| {
        let signal = tokio::signal::unix::signal(kind);
        async move {
            match signal {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::error!("cannot listen for {name}: {error}");
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    #[cfg(unix)]
    let (interrupt, terminate) = (
        listen(tokio::signal::unix::SignalKind::interrupt(), "SIGINT"),
        listen(tokio::signal::unix::SignalKind::terminate(), "SIGTERM"),
    );
    #[cfg(not(unix))]
    let (interrupt, terminate) = (
        async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!("cannot listen for Ctrl-C: {error}");
                std::future::pending::<()>().await;
            }
        },
        std::future::pending::<()>(),
    );
    async move {
        tokio::select! {
            () = interrupt => tracing::info!("received SIGINT"),
            () = terminate => tracing::info!("received SIGTERM"),
        }
    }
}
