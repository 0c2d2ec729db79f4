//! The benchmark suite behind `cargo xtask bench`: which workloads run on
//! which server, the scale runs, and the Markdown report with the targets.
//!
//! Every workload gets a server process of its own, started fresh and
//! populated through the API, so its peak memory and its figures depend on
//! nothing that ran before it. The baseline runs first, on the same CPUs,
//! with the same connections and times.

// The suite is a long command-line run: it reports progress on stderr.
#![allow(clippy::print_stderr)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::load::{self, made_up_ids, Ids, Mix, Op, Outcome, Plan, Target};
use crate::process::{self, Launch, ServerProcess};
use crate::BenchError;

/// The token every server in the suite accepts: nova-server's default.
const TOKEN: &str = "open-sesame";
/// Instances a `show`, `update` or `mixed` workload runs over.
const SHOW_INSTANCES: u64 = 10_000;
use crate::baseline::INDEX_INSTANCES;
/// The bytes of each benchmark instance's name, `bench-NNNNNNN`.
const NAME_BYTES: u64 = 13;

/// What to run and where.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The nova-server binary (a release build).
    pub server: PathBuf,
    /// The program serving the baseline: this crate's `nova-bench` binary,
    /// run as `nova-bench baseline`.
    pub baseline: PathBuf,
    /// `taskset -c` CPU list for every server, if pinning.
    pub server_cpus: Option<String>,
    /// Concurrent connections per workload.
    pub connections: usize,
    /// Brief runs (for CI): short times and a smaller scale run.
    pub quick: bool,
    /// Where server logs and SQLite files go while the suite runs.
    pub work_dir: PathBuf,
    /// criterion's output directory, whose router results the report quotes.
    pub criterion_dir: Option<PathBuf>,
}

impl SuiteConfig {
    fn plan(&self) -> Plan {
        let (warm_up, measure) = if self.quick {
            (Duration::from_millis(500), Duration::from_secs(2))
        } else {
            (Duration::from_secs(2), Duration::from_secs(10))
        };
        Plan {
            connections: self.connections,
            warm_up,
            measure,
        }
    }

    /// The scale run's rounds per point and the time measured in each.
    fn scale_rounds(&self) -> (usize, Plan) {
        let plan = self.plan();
        if self.quick {
            (
                2,
                Plan {
                    warm_up: Duration::from_millis(300),
                    measure: Duration::from_secs(1),
                    ..plan
                },
            )
        } else {
            (
                5,
                Plan {
                    warm_up: Duration::from_secs(1),
                    measure: Duration::from_secs(4),
                    ..plan
                },
            )
        }
    }

    fn scale_instances(&self) -> u64 {
        if self.quick {
            100_000
        } else {
            1_000_000
        }
    }
}

/// Which server a workload runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    /// The bare hyper server.
    Baseline,
    /// nova-server with its in-memory store.
    Memory,
    /// nova-server with a SQLite file.
    Sqlite,
}

impl Store {
    fn label(self) -> &'static str {
        match self {
            Store::Baseline => "-",
            Store::Memory => "memory",
            Store::Sqlite => "sqlite",
        }
    }
}

/// One row of the workload table, as specified.
#[derive(Debug, Clone)]
struct Workload {
    name: &'static str,
    store: Store,
    instances: u64,
    mix: Mix,
    /// Log filter for the server, when not its default.
    rust_log: Option<&'static str>,
}

fn workloads() -> Vec<Workload> {
    let row = |name, store, instances, mix| Workload {
        name,
        store,
        instances,
        mix,
        rust_log: None,
    };
    let mixed = || Mix::weighted(&[(Op::Show, 90), (Op::Create, 5), (Op::Update, 5)]);
    vec![
        row("baseline", Store::Baseline, 0, Mix::only(Op::Show)),
        row(
            "baseline, index-sized body",
            Store::Baseline,
            0,
            Mix::only(Op::Index),
        ),
        row("show", Store::Memory, SHOW_INSTANCES, Mix::only(Op::Show)),
        Workload {
            // Not a target: shows what the access log costs.
            rust_log: Some("info,nova::access=off"),
            ..row(
                "show, no access log",
                Store::Memory,
                SHOW_INSTANCES,
                Mix::only(Op::Show),
            )
        },
        row(
            "index",
            Store::Memory,
            INDEX_INSTANCES,
            Mix::only(Op::Index),
        ),
        row("create", Store::Memory, 0, Mix::only(Op::Create)),
        row(
            "update",
            Store::Memory,
            SHOW_INSTANCES,
            Mix::only(Op::Update),
        ),
        row("forbidden", Store::Memory, 0, Mix::only(Op::Forbidden)),
        row("mixed", Store::Memory, SHOW_INSTANCES, mixed()),
        row("create", Store::Sqlite, 0, Mix::only(Op::Create)),
        row(
            "update",
            Store::Sqlite,
            SHOW_INSTANCES,
            Mix::only(Op::Update),
        ),
        row("mixed", Store::Sqlite, SHOW_INSTANCES, mixed()),
    ]
}

/// A measured workload.
#[derive(Debug, Clone)]
struct Measured {
    outcome: Outcome,
    peak_rss: u64,
    server_cpu: f64,
    load_cpu: f64,
}

impl Measured {
    fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu * 1e6 / self.outcome.per_second().max(f64::EPSILON)
    }
}

#[derive(Debug, Clone)]
enum RowResult {
    Measured(Box<Measured>),
    NotAvailable(String),
}

#[derive(Debug, Clone)]
struct Row {
    workload: Workload,
    result: RowResult,
}

/// One point of the scale run: a server holding `instances`, measured in
/// several rounds that alternate with the other point's.
#[derive(Debug, Clone)]
struct ScalePoint {
    instances: u64,
    rss: u64,
    bytes_per_instance: f64,
    rounds: Vec<Outcome>,
}

impl ScalePoint {
    /// The median over the rounds of `figure`.
    fn median(&self, figure: impl Fn(&Outcome) -> f64) -> f64 {
        median(self.rounds.iter().map(figure).collect())
    }

    fn p99(&self) -> f64 {
        self.median(|o| o.latency_us(0.99))
    }

    fn per_second(&self) -> f64 {
        self.median(Outcome::per_second)
    }

    fn errors(&self) -> u64 {
        self.rounds.iter().map(Outcome::errors).sum()
    }
}

/// The median of `values` (the mean of the middle two for an even count);
/// 0 for none.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// One criterion result.
#[derive(Debug, Clone)]
struct MicroResult {
    id: String,
    mean_ns: f64,
}

/// Everything one run measured, ready to print.
#[derive(Debug, Clone)]
pub struct Report {
    preamble: Vec<String>,
    rows: Vec<Row>,
    scale: Vec<ScalePoint>,
    scale_note: Option<String>,
    router: Vec<MicroResult>,
    plan: Plan,
}

/// Runs the whole suite, printing progress on standard error.
pub fn run(config: &SuiteConfig) -> Result<Report, BenchError> {
    fs::create_dir_all(&config.work_dir)
        .map_err(|e| BenchError::io(format!("creating {}", config.work_dir.display()), e))?;
    let has_store_flag = supports_store_flag(&config.server);
    let plan = config.plan();
    let mut preamble = describe_run(config, has_store_flag);
    preamble.push(format!(
        "method: {} keep-alive HTTP/1.1 connections, each with one request in flight (closed loop); {} warm-up then {} measured per workload; a fresh server per workload, populated through the API; nova-server logs every request (access log on, to a file) unless the row says otherwise",
        plan.connections,
        seconds(plan.warm_up),
        seconds(plan.measure)
    ));

    let mut rows = Vec::new();
    for (index, workload) in workloads().into_iter().enumerate() {
        let result = if workload.store == Store::Sqlite && !has_store_flag {
            RowResult::NotAvailable("n/a (no --store in this build)".to_owned())
        } else {
            eprintln!(
                "bench: {} ({}), {} instances",
                workload.name,
                workload.store.label(),
                workload.instances
            );
            let launch = launch_for(config, &workload, has_store_flag, index)?;
            RowResult::Measured(Box::new(measure_workload(
                config, &launch, &workload, index,
            )?))
        };
        rows.push(Row { workload, result });
    }

    eprintln!("bench: scale");
    let (scale, scale_note) = measure_scale(config, has_store_flag)?;
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    preamble.push(format!(
        "load average at the end: {} (the 1-minute figure counts the suite's own server and load generator, about 2 while a workload runs)",
        load.join(" ")
    ));
    let router = config
        .criterion_dir
        .as_deref()
        .map(read_criterion)
        .unwrap_or_default();
    Ok(Report {
        preamble,
        rows,
        scale,
        scale_note,
        router,
        plan,
    })
}

fn supports_store_flag(server: &Path) -> bool {
    Command::new(server)
        .arg("--help")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("--store"))
        .unwrap_or(false)
}

fn launch_for(
    config: &SuiteConfig,
    workload: &Workload,
    has_store_flag: bool,
    index: usize,
) -> Result<Launch, BenchError> {
    let mut launch = match workload.store {
        Store::Baseline => Launch {
            program: config.baseline.clone(),
            args: vec!["baseline".into(), "--listen".into(), "127.0.0.1:0".into()],
            env: Vec::new(),
            cpus: config.server_cpus.clone(),
        },
        Store::Memory | Store::Sqlite => {
            let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
            if has_store_flag {
                let store = if workload.store == Store::Sqlite {
                    sqlite_store(config, index)?
                } else {
                    "memory:".to_owned()
                };
                args.extend(["--store".to_owned(), store]);
            }
            Launch {
                program: config.server.clone(),
                args,
                env: vec![
                    (
                        "RUST_LOG".into(),
                        workload.rust_log.unwrap_or("info").into(),
                    ),
                    ("NOVA_AUTH_TOKENS".into(), TOKEN.into()),
                ],
                cpus: config.server_cpus.clone(),
            }
        }
    };
    launch.env.push(("NO_COLOR".into(), "1".into()));
    Ok(launch)
}

/// A fresh SQLite file for one workload.
fn sqlite_store(config: &SuiteConfig, index: usize) -> Result<String, BenchError> {
    let path = config.work_dir.join(format!("workload-{index}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            fs::remove_file(&file)
                .map_err(|e| BenchError::io(format!("removing {}", file.display()), e))?;
        }
    }
    Ok(format!("sqlite:{}", path.display()))
}

fn measure_workload(
    config: &SuiteConfig,
    launch: &Launch,
    workload: &Workload,
    index: usize,
) -> Result<Measured, BenchError> {
    let log = config.work_dir.join(format!("workload-{index}.log"));
    let server = ServerProcess::start(launch, &log)?;
    let target = Target::new(server.addr(), TOKEN)?;
    let plan = config.plan();
    let measured = load::block_on(async {
        let ids = if workload.instances > 0 {
            populate_to(&target, workload.instances, config.connections).await?
        } else {
            made_up_ids(1_000)
        };
        let (outcome, cpu) = run_sampling_cpu(&target, &plan, &workload.mix, &ids, &server).await;
        let (server_cpu, load_cpu) = cpu?;
        Ok::<_, BenchError>(Measured {
            outcome,
            peak_rss: server.memory_bytes("VmHWM")?,
            server_cpu,
            load_cpu,
        })
    })??;
    server.stop()?;
    Ok(measured)
}

/// Creates instances until the server lists `instances`; returns the ids
/// created (the server's own, if it starts with some, are not among them).
async fn populate_to(
    target: &Target,
    instances: u64,
    connections: usize,
) -> Result<Ids, BenchError> {
    let existing = target.instance_count().await?;
    let missing = instances.saturating_sub(existing);
    let started = Instant::now();
    let ids = target.populate(missing, existing, connections).await?;
    if missing >= 100_000 {
        eprintln!(
            "bench: created {missing} instances in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ids)
}

/// Runs the load and samples CPU time (server and load generator) at the
/// start and end of the measured time; the shares are of one core.
async fn run_sampling_cpu(
    target: &Target,
    plan: &Plan,
    mix: &Mix,
    ids: &Ids,
    server: &ServerProcess,
) -> (Outcome, Result<(f64, f64), BenchError>) {
    let sample = || -> Result<(Duration, Duration), BenchError> {
        Ok((server.cpu_time()?, process::cpu_time_of("/proc/self/stat")?))
    };
    let sampler = async {
        tokio::time::sleep(plan.warm_up).await;
        let before = sample()?;
        tokio::time::sleep(plan.measure).await;
        let after = sample()?;
        let share = |a: Duration, b: Duration| {
            a.saturating_sub(b).as_secs_f64() / plan.measure.as_secs_f64().max(f64::EPSILON)
        };
        Ok((share(after.0, before.0), share(after.1, before.1)))
    };
    tokio::join!(target.run(plan, mix, ids), sampler)
}

fn measure_scale(
    config: &SuiteConfig,
    has_store_flag: bool,
) -> Result<(Vec<ScalePoint>, Option<String>), BenchError> {
    let workload = Workload {
        name: "scale",
        store: Store::Memory,
        instances: 0,
        mix: Mix::only(Op::Show),
        rust_log: None,
    };
    // One server per point, both kept running, so the points can be
    // measured in alternation: whatever else the machine does then weighs
    // on both alike, and the median of the rounds drops a disturbed one.
    let sizes = [SHOW_INSTANCES, config.scale_instances()];
    let mut servers = Vec::new();
    for (slot, instances) in sizes.into_iter().enumerate() {
        let launch = launch_for(config, &workload, has_store_flag, 98 + slot)?;
        let log = config.work_dir.join(format!("scale-{slot}.log"));
        let server = ServerProcess::start(&launch, &log)?;
        let target = Target::new(server.addr(), TOKEN)?;
        servers.push((instances, server, target));
    }
    let (rounds, round_plan) = config.scale_rounds();
    let points = load::block_on(async {
        let mut points = Vec::new();
        let mut id_sets = Vec::new();
        for (instances, server, target) in &servers {
            // Open every connection and let the allocator settle before the
            // reference reading, so the delta is the instances alone.
            let warm = Plan {
                measure: Duration::ZERO,
                ..round_plan
            };
            target
                .run(&warm, &Mix::only(Op::Index), &Ids::default())
                .await;
            let reference = server.memory_bytes("VmRSS")?;
            let start_count = target.instance_count().await?;
            let ids = populate_to(target, *instances, config.connections).await?;
            let rss = server.memory_bytes("VmRSS")?;
            let created = instances.saturating_sub(start_count).max(1);
            points.push(ScalePoint {
                instances: *instances,
                rss,
                bytes_per_instance: rss.saturating_sub(reference) as f64 / created as f64
                    - NAME_BYTES as f64,
                rounds: Vec::new(),
            });
            id_sets.push(ids);
        }
        // Rounds in the order small, large, large, small, small, …, so a
        // drift in the machine's load favours neither point.
        for round in 0..rounds {
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for slot in order {
                let (_, _, target) = &servers[slot];
                let outcome = target
                    .run(&round_plan, &Mix::only(Op::Show), &id_sets[slot])
                    .await;
                points[slot].rounds.push(outcome);
            }
        }
        Ok::<_, BenchError>(points)
    })??;
    for (_, server, _) in servers {
        server.stop()?;
    }
    let mut note = format!(
        "`show` latency: {rounds} rounds of {} (after {} of warm-up) per point, alternating between the two servers; the table gives the median over the rounds",
        seconds(round_plan.measure),
        seconds(round_plan.warm_up)
    );
    if config.quick {
        note.push_str(&format!(
            "; --quick: the large point has {} instances, not 1,000,000",
            thousands(config.scale_instances())
        ));
    }
    Ok((points, Some(note)))
}

fn describe_run(config: &SuiteConfig, has_store_flag: bool) -> Vec<String> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| process::status_kib(&text, "MemTotal"))
        .map(|kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".to_owned());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty =
        !command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let rustc = command_output("rustc", &["--version"]);
    let pinning = match (&config.server_cpus, process::own_cpus()) {
        (Some(server), Some(own)) => {
            format!("servers pinned to CPU {server} with taskset; load generator runs on CPU {own}")
        }
        (None, Some(own)) => {
            format!("none (taskset unavailable or one CPU); everything may run on CPUs {own}")
        }
        (_, None) => "unknown".to_owned(),
    };
    vec![
        format!(
            "machine: {cpus} CPUs ({model}), {memory} memory, Linux {}; load average at start {}",
            kernel.trim(),
            load.join(" ")
        ),
        format!(
            "build: nova-rs {}{}, {}, release profile",
            if commit.is_empty() {
                "unknown commit"
            } else {
                &commit
            },
            if dirty {
                " with uncommitted changes"
            } else {
                ""
            },
            rustc
        ),
        format!("pinning: {pinning}"),
        format!(
            "nova-server --store: {}",
            if has_store_flag {
                "supported; memory rows run with `--store memory:`, SQLite rows with a fresh file each"
            } else {
                "not in this build; memory rows use its built-in store, SQLite rows are n/a"
            }
        ),
    ]
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Reads criterion's `*/new/benchmark.json` and `estimates.json` for the
/// router groups.
fn read_criterion(dir: &Path) -> Vec<MicroResult> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|name| name == "new") {
                if let Some(result) = read_criterion_result(&path) {
                    found.push(result);
                }
            } else {
                stack.push(path);
            }
        }
    }
    found.sort_by_key(|result| natural_key(&result.id));
    found
}

fn read_criterion_result(new: &Path) -> Option<MicroResult> {
    let read = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&fs::read_to_string(new.join(name)).ok()?).ok()
    };
    let benchmark = read("benchmark.json")?;
    let id = benchmark["full_id"].as_str()?.to_owned();
    if !id.starts_with("router") {
        return None;
    }
    let mean_ns = read("estimates.json")?["mean"]["point_estimate"].as_f64()?;
    Some(MicroResult { id, mean_ns })
}

/// Sorts `a/5` before `a/50` before `a/500`.
fn natural_key(id: &str) -> (String, u64) {
    match id.rsplit_once('/') {
        Some((head, tail)) => (head.to_owned(), tail.parse().unwrap_or(u64::MAX)),
        None => (id.to_owned(), 0),
    }
}

impl Report {
    /// The report as Markdown: what ran where, the workload table, the scale
    /// table, the router micro-benchmarks and the targets.
    pub fn to_markdown(&self, date: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# nova-rs benchmark, {date}\n");
        for line in &self.preamble {
            let _ = writeln!(out, "- {line}");
        }
        let baseline = self.baseline_rate();

        let _ = writeln!(out, "\n## Workloads\n");
        let _ = writeln!(
            out,
            "| workload | store | instances | req/s | × baseline | p50 µs | p99 µs | p99.9 µs | server peak RSS | errors | server CPU | server CPU µs/req | load CPU | body bytes |"
        );
        let _ = writeln!(
            out,
            "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|"
        );
        for row in &self.rows {
            let w = &row.workload;
            let instances = if w.instances == 0 {
                "-".to_owned()
            } else {
                thousands(w.instances)
            };
            match &row.result {
                RowResult::NotAvailable(why) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {instances} | {why} | | | | | | | | | | |",
                        w.name,
                        w.store.label()
                    );
                }
                RowResult::Measured(m) => {
                    let o = &m.outcome;
                    // index answers are 850 times larger than show's: they
                    // are compared with the baseline serving a body that size.
                    let base = if w.name == "index" {
                        self.rate_of("baseline, index-sized body")
                    } else {
                        baseline
                    };
                    let ratio = base
                        .filter(|_| w.store != Store::Baseline)
                        .map(|b| format!("{:.2}", o.per_second() / b))
                        .unwrap_or_else(|| "1.00".to_owned());
                    let _ = writeln!(
                        out,
                        "| {} | {} | {instances} | {} | {ratio} | {} | {} | {} | {} | {} | {:.0} % | {:.1} | {:.0} % | {} |",
                        w.name,
                        w.store.label(),
                        thousands(o.per_second().round() as u64),
                        micros(o.latency_us(0.5)),
                        micros(o.latency_us(0.99)),
                        micros(o.latency_us(0.999)),
                        mebibytes(m.peak_rss),
                        o.error_summary(),
                        m.server_cpu * 100.0,
                        m.cpu_us_per_request(),
                        m.load_cpu * 100.0,
                        thousands(o.mean_body_bytes()),
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "\nreq/s counts every measured request; errors are answers with another status than the workload expects (by status) or requests that got no answer. CPU is the share of one core used during the measured time; server CPU µs/req is the server's CPU time per request, the cost figure that holds even when other processes share the cores (compare the load average above)."
        );

        let _ = writeln!(out, "\n## Scale: memory store, `show` over random ids\n");
        let _ = writeln!(
            out,
            "| instances | server RSS | bytes per instance beyond its name | show req/s | show p99 µs | p99 change |"
        );
        let _ = writeln!(out, "|--:|--:|--:|--:|--:|--:|");
        let first_p99 = self.scale.first().map(ScalePoint::p99);
        for point in &self.scale {
            let p99 = point.p99();
            let change = first_p99
                .filter(|first| *first > 0.0)
                .map(|first| format!("{:+.0} %", (p99 / first - 1.0) * 100.0))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {change} |",
                thousands(point.instances),
                mebibytes(point.rss),
                point.bytes_per_instance,
                thousands(point.per_second().round() as u64),
                micros(p99),
            );
        }
        for point in &self.scale {
            let p99s: Vec<String> = point
                .rounds
                .iter()
                .map(|o| micros(o.latency_us(0.99)))
                .collect();
            let _ = writeln!(
                out,
                "\n{} instances, `show` p99 µs by round: {}.",
                thousands(point.instances),
                p99s.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\nBytes per instance: (resident memory now − resident memory of the same server before any instance was created, with its connections open) / instances created, minus the {NAME_BYTES} bytes of each name. Each point is a server process of its own."
        );
        if let Some(note) = &self.scale_note {
            let _ = writeln!(out, "\n{note}.");
        }

        if !self.router.is_empty() {
            let _ = writeln!(
                out,
                "\n## Router: `Mapper::recognize` (criterion, mean time per call)\n"
            );
            let _ = writeln!(out, "| benchmark | routes | time |");
            let _ = writeln!(out, "|---|--:|--:|");
            for result in &self.router {
                let (name, routes) = result.id.rsplit_once('/').unwrap_or((&result.id, ""));
                let _ = writeln!(out, "| {name} | {routes} | {:.0} ns |", result.mean_ns);
            }
        }

        let _ = writeln!(out, "\n## Targets\n");
        for line in self.targets() {
            let _ = writeln!(out, "- {line}");
        }
        out
    }

    fn measured(&self, name: &str, store: Store) -> Option<&Measured> {
        self.rows.iter().find_map(|row| match &row.result {
            RowResult::Measured(m) if row.workload.name == name && row.workload.store == store => {
                Some(&**m)
            }
            _ => None,
        })
    }

    fn baseline_rate(&self) -> Option<f64> {
        self.rate_of("baseline")
    }

    fn rate_of(&self, baseline: &str) -> Option<f64> {
        self.measured(baseline, Store::Baseline)
            .map(|m| m.outcome.per_second())
    }

    fn targets(&self) -> Vec<String> {
        let verdict = |met: bool| if met { "met" } else { "**missed**" };
        // A ratio of requests per second means something only when each
        // side was limited by its own work: by a server using its whole
        // core, or by the load generator using its. When neither was, other
        // processes took the CPUs, differently for each row.
        let caveat = |rows: [&Measured; 2]| {
            let starved = rows.iter().any(|m| m.server_cpu < 0.9 && m.load_cpu < 0.9);
            if starved {
                "; caution: in one of the two rows neither the server nor the load generator used 90 % of its core, so other processes shared the CPUs and this req/s ratio is not reliable; the CPU-time ratio is"
            } else {
                ""
            }
        };
        let mut lines = Vec::new();
        let baseline = self.baseline_rate();
        for name in ["show", "forbidden"] {
            let base = self.measured("baseline", Store::Baseline);
            if let (Some(m), Some(b), Some(base)) =
                (self.measured(name, Store::Memory), baseline, base)
            {
                let ratio = m.outcome.per_second() / b;
                lines.push(format!(
                    "`{name}` at ≥ 90 % of the baseline's req/s: {:.0} % — {} (by server CPU time per request, {:.1} µs against the baseline's {:.1} µs: {:.0} %{})",
                    ratio * 100.0,
                    verdict(ratio >= 0.9),
                    m.cpu_us_per_request(),
                    base.cpu_us_per_request(),
                    base.cpu_us_per_request() / m.cpu_us_per_request().max(f64::EPSILON) * 100.0,
                    caveat([m, base])
                ));
            }
        }
        if let (Some(index), Some(base)) = (
            self.measured("index", Store::Memory),
            self.measured("baseline, index-sized body", Store::Baseline),
        ) {
            let ratio = index.outcome.per_second() / base.outcome.per_second().max(f64::EPSILON);
            lines.push(format!(
                "`index` with {} instances near the limit: {:.0} % of the baseline serving a body of the same size ({} bytes) — {} (server CPU {:.1} µs per request against the baseline's {:.1} µs{})",
                thousands(INDEX_INSTANCES),
                ratio * 100.0,
                thousands(index.outcome.mean_body_bytes()),
                verdict(ratio >= 0.9),
                index.cpu_us_per_request(),
                base.cpu_us_per_request(),
                caveat([index, base])
            ));
        }
        match (
            self.measured("create", Store::Sqlite),
            self.measured("create", Store::Memory),
        ) {
            (Some(sqlite), Some(memory)) => {
                let ratio = sqlite.outcome.per_second() / memory.outcome.per_second().max(1.0);
                lines.push(format!(
                    "SQLite `create` at ≥ 25 % of memory `create`: {:.0} % — {}",
                    ratio * 100.0,
                    verdict(ratio >= 0.25)
                ));
            }
            _ => lines.push(
                "SQLite `create` at ≥ 25 % of memory `create`: n/a (no --store in this build)"
                    .to_owned(),
            ),
        }
        if let [small, .., large] = self.scale.as_slice() {
            let (p_small, p_large) = (small.p99(), large.p99());
            let change = p_large / p_small.max(f64::EPSILON) - 1.0;
            lines.push(format!(
                "`show` p99 at {} instances within 20 % of its p99 at {} (medians over the alternating rounds): {} µs vs {} µs, {:+.0} % — {}",
                thousands(large.instances),
                thousands(small.instances),
                micros(p_large),
                micros(p_small),
                change * 100.0,
                verdict(change <= 0.2)
            ));
            lines.push(format!(
                "under 200 bytes of resident memory per instance beyond its name (memory store, {} instances): {:.0} bytes — {}",
                thousands(large.instances),
                large.bytes_per_instance,
                verdict(large.bytes_per_instance < 200.0)
            ));
        }
        lines
    }

    /// How long each workload was measured.
    pub fn measured_time(&self) -> Duration {
        self.plan.measure
    }

    /// Whether any workload had errors (the table shows which).
    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|row| match &row.result {
            RowResult::Measured(m) => m.outcome.errors() > 0,
            RowResult::NotAvailable(_) => false,
        }) || self.scale.iter().any(|p| p.errors() > 0)
    }
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// `1234567` as `1,234,567`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn micros(us: f64) -> String {
    thousands(us.round() as u64)
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn router_results_sort_by_route_count_as_a_number() {
        let mut ids = ["router/hit/500", "router/hit/5", "router/hit/50"];
        ids.sort_by_key(|id| natural_key(id));
        assert_eq!(ids, ["router/hit/5", "router/hit/50", "router/hit/500"]);
    }

    #[test]
    fn a_median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn sqlite_rows_say_they_were_not_run_when_the_server_has_no_store_flag() {
        let report = Report {
            preamble: vec![],
            rows: workloads()
                .into_iter()
                .filter(|w| w.store == Store::Sqlite)
                .map(|workload| Row {
                    workload,
                    result: RowResult::NotAvailable("n/a (no --store in this build)".into()),
                })
                .collect(),
            scale: vec![],
            scale_note: None,
            router: vec![],
            plan: Plan {
                connections: 1,
                warm_up: Duration::ZERO,
                measure: Duration::ZERO,
            },
        };
        let text = report.to_markdown("2026-01-01");
        assert_eq!(text.matches("n/a (no --store in this build)").count(), 4);
        assert!(text.contains("| create | sqlite | - | n/a"));
        assert!(text.contains("| mixed | sqlite | 10,000 | n/a"));
    }
}
