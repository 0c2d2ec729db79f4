//! `nova-server`: serves the nova-rs instance API.
//!
//! `cargo run -p nova-server` serves the built-in configuration, the seed's
//! `configure.ini`: 127.0.0.1:8000, token `open-sesame`. `--config FILE`
//! serves a paste.deploy file instead; `--help` lists the options.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nova_auth::Tokens;
use nova_server::{
    load, ConfigSource, LoadedConfig, LogFormat, Overrides, PerThreadWriter, Server, ServerConfig,
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_LISTEN,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
};
use nova_store::{Stores, DEFAULT_STORE_URL};
use tracing_subscriber::EnvFilter;

/// Serves the nova-rs instance API.
#[derive(Debug, Parser)]
// Users read this in `--help`; the package description is for developers.
#[command(
    name = "nova-server",
    version,
    about = "Serves nova-rs, the API layer of OpenStack Nova, from a paste.deploy pipeline \
             (without --config: the seed's instance API on 127.0.0.1:8000, token open-sesame)"
)]
struct Args {
    /// The paste.deploy file to build the pipeline from; without it, the
    /// built-in one (the seed's configure.ini).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// The application in the file to serve: [app:NAME], [pipeline:NAME],
    /// [composite:NAME] or [filter-app:NAME].
    #[arg(long, value_name = "NAME", default_value = "main")]
    name: String,

    /// Address to listen on (port 0 picks a free port); overrides the
    /// file's [server:main]. Default 127.0.0.1:8000.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,

    /// A token the auth filter accepts; repeat it, or separate several with
    /// commas, to accept more than one. Replaces the file's `tokens`; with
    /// neither, the seed's `open-sesame` is accepted.
    #[arg(
        long = "token",
        value_name = "TOKEN",
        env = "NOVA_AUTH_TOKENS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    tokens: Vec<String>,

    /// The most bytes of a request body the server reads; larger bodies get
    /// 413. Overrides the file's [server:main] max_body_bytes. Default
    /// 114688 (Nova's 112 KiB).
    #[arg(long, value_name = "BYTES",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_body_bytes: Option<usize>,

    /// Seconds to let requests in flight finish after SIGTERM or SIGINT.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    shutdown_grace: u64,

    /// Seconds a client may take to send a request's headers.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,

    /// Seconds a keep-alive connection may sit idle between requests.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,

    /// Seconds a client may take to send a request body; slower ones get 408.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_BODY_READ_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    body_read_timeout: u64,

    /// Largest request head (request line and headers) in bytes, at least 8192.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(8192..))]
    max_header_bytes: usize,

    /// Most connections served at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: usize,

    /// Where instances are kept: `memory:`, `sqlite:PATH` or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`. Replaces the `store`
    /// of every instance app in the configuration; without it, sections
    /// without a `store` use `sqlite:nova.db` in the working directory.
    #[arg(long, value_name = "URL", env = "NOVA_STORE", hide_env_values = true)]
    store: Option<String>,
}

/// The log writer's buffer: see `main`.
const LOG_BUFFER_BYTES: usize = 64 * 1024;

fn main() -> ExitCode {
    let args = Args::parse();
    // Log lines (one per request in the access log) are handed to a thread
    // that writes them, so no request waits on stderr; it writes them in
    // batches and flushes after each. Lines are never dropped: when the
    // queue is full, logging waits. The guard flushes what is queued when
    // main returns, so it lives until then. A batch under load is many
    // lines; a buffer of 64 KiB writes it in one system call where the
    // default 8 KiB took several.
    let (writer, _flush_at_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("nova-log")
        .finish(std::io::BufWriter::with_capacity(
            LOG_BUFFER_BYTES,
            std::io::stderr(),
        ));
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(PerThreadWriter::new(writer))
        .with_ansi(std::io::stderr().is_terminal())
        .event_format(LogFormat::default())
        .init();

    // Load and check the file: every section and key, nothing opened. A
    // bad file or flag is one message and exit status 2.
    let overrides = match overrides(&args) {
        Ok(overrides) => overrides,
        Err(error) => {
            tracing::error!("invalid --token: {error}");
            return ExitCode::from(2);
        }
    };
    let source = match &args.config {
        Some(path) => ConfigSource::File(path.clone()),
        None => ConfigSource::Builtin,
    };
    let loaded = match load(&source, &args.name, &overrides) {
        Ok(loaded) => loaded,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = loaded.app.check() {
        tracing::error!("{error}");
        return ExitCode::from(2);
    }
    let config = server_config(&args, &loaded);

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
    runtime.block_on(async {
        // Open the stores the file names (exit 1 if one cannot be).
        let stores = match Stores::open(loaded.app.stores().iter().cloned()).await {
            Ok(stores) => stores,
            Err(error) => {
                tracing::error!("{error}");
                return ExitCode::FAILURE;
            }
        };
        // Build the pipeline and serve it.
        let served = serve(&config, &loaded, &stores).await;
        // Requests in flight have finished (or the grace period is over):
        // commit what they wrote and release the stores.
        let closed = match stores.close().await {
            Ok(()) => true,
            Err(failures) => {
                tracing::error!("{failures}");
                false
            }
        };
        if served && closed {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

/// What the command line puts in place of the file's settings.
fn overrides(args: &Args) -> Result<Overrides, nova_auth::TokenError> {
    let tokens = if args.tokens.is_empty() {
        None
    } else {
        Some(Tokens::new(&args.tokens)?)
    };
    Ok(Overrides {
        tokens,
        store: args.store.clone(),
        default_store: DEFAULT_STORE_URL.to_owned(),
    })
}

/// The socket and the edge's limits: flags first, then `[server:main]`,
/// then the defaults.
fn server_config(args: &Args, loaded: &LoadedConfig) -> ServerConfig {
    ServerConfig {
        listen: args
            .listen
            .or(loaded.server.listen)
            .unwrap_or(DEFAULT_LISTEN),
        max_body_bytes: args
            .max_body_bytes
            .or(loaded.server.max_body_bytes)
            .unwrap_or(DEFAULT_MAX_BODY_BYTES),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        body_read_timeout: Duration::from_secs(args.body_read_timeout),
        max_header_bytes: args.max_header_bytes,
        max_connections: args.max_connections,
    }
}

/// Builds the pipeline over `stores` and serves it until SIGINT or SIGTERM;
/// false if it could not start.
async fn serve(config: &ServerConfig, loaded: &LoadedConfig, stores: &Stores) -> bool {
    let pipeline = match loaded.app.build(stores) {
        Ok(pipeline) => pipeline,
        Err(error) => {
            tracing::error!("{error}");
            return false;
        }
    };
    let shutdown = shutdown_signal();
    let server = match Server::bind(config, pipeline).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!("{error}");
            return false;
        }
    };
    tracing::info!("listening on http://{}", server.local_addr());
    server.run_until(shutdown).await;
    true
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed
/// when this is called, not when the future is first polled, so a signal
/// that arrives right after the "listening" line is not lost (its default
/// action would kill the process). Call it inside the runtime.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &'static str| {
            let stream = signal(kind)
                .map_err(|error| tracing::error!("cannot listen for {name}: {error}"))
                .ok();
            async move {
                match stream {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        };
        (
            listen(SignalKind::interrupt(), "SIGINT"),
            listen(SignalKind::terminate(), "SIGTERM"),
        )
    };
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
