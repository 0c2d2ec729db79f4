//! `nova-bench`: the benchmark suite and the baseline server.
//!
//! `cargo xtask bench` builds this in release mode and runs
//! `nova-bench suite`; `nova-bench baseline` is the bare hyper server the
//! suite starts as its baseline. Run by hand, `nova-bench suite --help` lists
//! the options.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};
use std::time::Duration;

use nova_bench::baseline::CapturedAnswers;
use nova_bench::load::{self, Mix, Op, Plan, Target};
use nova_bench::suite::{self, SuiteConfig};
use nova_bench::BenchError;

/// Benchmarks nova-server against a bare hyper server.
#[derive(Debug, Parser)]
#[command(name = "nova-bench", about)]
struct Args {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Runs every workload in interleaved rounds and prints the report of
    /// medians, with the targets, as Markdown.
    Suite {
        /// The nova-server binary to measure (a release build).
        #[arg(long, value_name = "PATH")]
        server: PathBuf,
        /// Pin every server to these CPUs (`taskset -c` list).
        #[arg(long, value_name = "LIST")]
        server_cpus: Option<String>,
        /// Concurrent keep-alive connections per workload.
        #[arg(long, value_name = "N", default_value_t = 64)]
        connections: usize,
        /// Brief runs, to prove the suite works.
        #[arg(long)]
        quick: bool,
        /// Write the report to DIR/YYYY-MM-DD.md (full runs only).
        #[arg(long, value_name = "DIR")]
        save: Option<PathBuf>,
        /// criterion's output directory, to quote the router results.
        #[arg(long, value_name = "DIR")]
        criterion_dir: Option<PathBuf>,
        /// Where server logs and SQLite files go during the run.
        #[arg(long, value_name = "DIR", default_value = "target/bench")]
        work_dir: PathBuf,
        /// Run only the workloads whose names contain one of these words
        /// (comma-separated; `server` is the compute API's), with their
        /// baselines; the scale run only if one is `scale`.
        #[arg(long, value_name = "WORDS", value_delimiter = ',')]
        only: Vec<String>,
        /// Instead of the suite, run this one workload (`show`, or
        /// `show@sqlite` for its SQLite row) with `perf record -g` attached
        /// to its server, and print the top of `perf report`.
        #[arg(long, value_name = "WORKLOAD")]
        profile: Option<String>,
    },
    /// Loads a server that is already running with one workload and prints
    /// what it measured: for profiling a server by hand (`perf record -p`).
    Drive {
        /// The server's address.
        #[arg(long, value_name = "ADDR")]
        addr: SocketAddr,
        /// show, index, create, update or forbidden (the seed's instance
        /// API), or server-show, servers-detail-N (N per page) or
        /// server-create (the compute API: start the server with the
        /// configuration the suite writes, target/bench/compute-api-paste.ini).
        #[arg(long, value_name = "OP", default_value = "show")]
        op: String,
        /// Create instances (servers, for the compute API) until the server
        /// lists this many first.
        #[arg(long, value_name = "N", default_value_t = 10_000)]
        instances: u64,
        /// Seconds to measure (after one second of warm-up).
        #[arg(long, value_name = "S", default_value_t = 10)]
        seconds: u64,
        /// Concurrent keep-alive connections.
        #[arg(long, value_name = "N", default_value_t = 64)]
        connections: usize,
        /// Send a token the server's identity service issues to this user
        /// (password open-sesame, scoped to the user's project of the same
        /// name, as `server-show, keystone token` does with admin) instead
        /// of the shared token; the compute API only.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// Serves the baseline: a fixed `show`-sized JSON answer after a token
    /// check, on hyper alone.
    Baseline {
        /// Address to listen on; it is logged as `listening on http://ADDR`.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// The token to accept.
        #[arg(long, value_name = "TOKEN", default_value = "open-sesame")]
        token: String,
        /// Answer the compute API's requests with the bodies in this
        /// directory (`OP.json`, as the suite captures them).
        #[arg(long, value_name = "DIR")]
        answers: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let result = match Args::parse().command {
        Commands::Suite {
            server,
            server_cpus,
            connections,
            quick,
            save,
            criterion_dir,
            work_dir,
            only,
            profile,
        } => run_suite(
            SuiteConfig {
                server,
                baseline: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("nova-bench")),
                server_cpus,
                connections,
                quick,
                work_dir,
                criterion_dir,
                only,
            },
            save,
            profile.as_deref(),
        ),
        Commands::Drive {
            addr,
            op,
            instances,
            seconds,
            connections,
            user,
        } => drive(addr, &op, instances, seconds, connections, user.as_deref()),
        Commands::Baseline {
            listen,
            token,
            answers,
        } => baseline(listen, &token, answers.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nova-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run_suite(
    config: SuiteConfig,
    save: Option<PathBuf>,
    profile: Option<&str>,
) -> Result<(), BenchError> {
    if save.is_some() && config.quick {
        return Err(BenchError::Usage(
            "--save records full runs only; drop --quick".to_owned(),
        ));
    }
    if save.is_some() && !config.only.is_empty() {
        return Err(BenchError::Usage(
            "--save records full runs only; drop --only".to_owned(),
        ));
    }
    if config.connections == 0 {
        return Err(BenchError::Usage(
            "--connections must be at least 1".to_owned(),
        ));
    }
    if let Some(workload) = profile {
        if save.is_some() || !config.only.is_empty() {
            return Err(BenchError::Usage(
                "--profile runs one workload; drop --save and --only".to_owned(),
            ));
        }
        println!("{}", suite::profile(&config, workload)?);
        return Ok(());
    }
    let report = suite::run(&config)?;
    let date = today();
    let text = report.to_markdown(&date);
    println!("{text}");
    if let Some(dir) = save {
        std::fs::create_dir_all(&dir).map_err(|e| BenchError::Io {
            what: format!("creating {}", dir.display()),
            source: e,
        })?;
        // A second full run on the same day gets a file of its own
        // (`DATE-2.md`, …): a saved run is a record, never overwritten.
        let path = (1..)
            .map(|n| match n {
                1 => dir.join(format!("{date}.md")),
                n => dir.join(format!("{date}-{n}.md")),
            })
            .find(|path| !path.exists())
            .unwrap_or_else(|| dir.join(format!("{date}.md")));
        std::fs::write(&path, &text).map_err(|e| BenchError::Io {
            what: format!("writing {}", path.display()),
            source: e,
        })?;
        eprintln!("bench: saved {}", path.display());
    }
    if report.has_errors() {
        eprintln!("bench: some requests failed; see the errors column");
    }
    Ok(())
}

/// Today's date in UTC, `YYYY-MM-DD`.
fn today() -> String {
    Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|date| !date.is_empty())
        .unwrap_or_else(|| "undated".to_owned())
}

fn drive(
    addr: SocketAddr,
    op: &str,
    instances: u64,
    seconds: u64,
    connections: usize,
    user: Option<&str>,
) -> Result<(), BenchError> {
    let op =
        Op::from_name(op).ok_or_else(|| BenchError::Usage(format!("unknown workload {op:?}")))?;
    if user.is_some() && !op.is_compute() {
        return Err(BenchError::Usage(
            "--user needs a compute API workload (server-…, servers-…)".to_owned(),
        ));
    }
    let target = Target::new(addr, "open-sesame")?;
    let plan = Plan {
        connections: connections.max(1),
        warm_up: Duration::from_secs(1),
        measure: Duration::from_secs(seconds),
    };
    let outcome = load::block_on(async {
        let (target, ids) = if op.is_compute() {
            let target = match user {
                Some(user) => {
                    let token = target.issue_token(user, "open-sesame").await?;
                    target.with_token(&token)?
                }
                None => target,
            };
            let image = target.image_id().await?;
            let target = target.with_image(&image);
            let existing = target.server_paths().await?.len() as u64;
            target
                .seed_servers(instances.saturating_sub(existing))
                .await?;
            let ids = target.server_paths().await?;
            eprintln!("nova-bench: {} servers; measuring", ids.len());
            let ids = if ids.is_empty() {
                load::made_up_server_ids(1_000)
            } else {
                ids
            };
            (target, ids)
        } else {
            let existing = if instances == 0 {
                0
            } else {
                target.instance_count().await?
            };
            let ids = target
                .populate(
                    instances.saturating_sub(existing),
                    existing,
                    plan.connections,
                )
                .await?;
            let ids = if ids.is_empty() {
                load::made_up_ids(1_000)
            } else {
                ids
            };
            eprintln!(
                "nova-bench: {} instances; measuring",
                existing.max(instances)
            );
            (target, ids)
        };
        Ok::<_, BenchError>(target.run(&plan, &Mix::only(op), &ids).await)
    })??;
    println!(
        "{:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, errors {}",
        outcome.per_second(),
        outcome.latency_us(0.5),
        outcome.latency_us(0.99),
        outcome.latency_us(0.999),
        outcome.error_summary()
    );
    Ok(())
}

fn baseline(listen: SocketAddr, token: &str, answers: Option<&Path>) -> Result<(), BenchError> {
    let token = http::HeaderValue::from_str(token)
        .map_err(|_| BenchError::Usage("the token is not a valid header value".to_owned()))?;
    let captured = match answers {
        Some(dir) => CapturedAnswers::read_from(dir)?,
        None => CapturedAnswers::default(),
    };
    // Multi-threaded, as nova-server's runtime is: pinned to one CPU it has
    // one worker, as nova-server has.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::Io {
            what: "starting the runtime".to_owned(),
            source: e,
        })?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| BenchError::Io {
                what: format!("listening on {listen}"),
                source: e,
            })?;
        let addr = listener.local_addr().map_err(|e| BenchError::Io {
            what: "reading the bound address".to_owned(),
            source: e,
        })?;
        eprintln!(
            "nova-bench baseline listening on http://{addr} ({} captured compute answers)",
            captured.len()
        );
        nova_bench::baseline::serve_with(listener, token, captured).await;
        Ok(())
    })
}
