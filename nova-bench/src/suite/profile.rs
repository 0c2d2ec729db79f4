//! `--profile WORKLOAD`: one workload row's server, started and populated
//! as the suite does it, under `perf record -g` while the load generator
//! runs the workload; then the top of `perf report` and where the
//! recording is, to dig further.
//!
//! The names in a profile are only as good as the binary: `cargo xtask
//! bench --profile` builds the workspace's `profiling` cargo profile (the
//! release build with debug information) with frame pointers, so that
//! `perf record -g` can walk the stacks.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::compute;
use super::config::SuiteConfig;
use super::launch::{launch_for, supports_store_flag};
use super::measure::RowServer;
use super::units::{seconds, thousands};
use super::workloads::{workloads, Api, Store, Workload};
use crate::BenchError;

/// How many lines of `perf report` the profile shows.
const TOP_LINES: usize = 40;

/// The `perf report` options the profile shows the top of: the functions
/// that spent the samples themselves (not their callees), one per line.
const REPORT_OPTIONS: [&str; 6] = [
    "--no-children",
    "--stdio",
    "--percent-limit",
    "1",
    "-g",
    "none",
];

/// Profiles the workload `which` names (`NAME`, or `NAME@STORE` for a row
/// on another store than the table's first with that name: `show@sqlite`)
/// and returns the report as Markdown.
pub fn profile(config: &SuiteConfig, which: &str) -> Result<String, BenchError> {
    let (index, workload) = find_workload(which)?;
    check_perf()?;
    let has_store_flag = supports_store_flag(&config.server);
    if !has_store_flag && (workload.store == Store::Sqlite || workload.api == Api::Compute) {
        return Err(BenchError::Usage(format!(
            "{which} needs a nova-server with --store; {} has none",
            config.server.display()
        )));
    }
    fs::create_dir_all(&config.work_dir)
        .map_err(|e| BenchError::io(format!("creating {}", config.work_dir.display()), e))?;
    if workload.api == Api::Compute {
        compute::prepare(config, std::slice::from_ref(&workload))?;
    }
    let label = format!("{} ({})", workload.name, workload.store.label());
    eprintln!("bench: profiling {label}: starting and populating its server");
    let launch = launch_for(config, &workload, has_store_flag, index)?;
    let server = RowServer::start(config, &launch, &workload, index)?;
    let plan = config.profile_plan_for(&workload);
    let data = config
        .work_dir
        .join(format!("perf-{}.data", file_stem(&workload)));
    let pid = server.pid();
    eprintln!(
        "bench: profiling {label}: {} of warm-up, then {} under perf record -g -p {pid}",
        seconds(plan.warm_up),
        seconds(plan.measure)
    );
    let (round, perf) = server.measure_with(&plan, async {
        // The warm-up stays out of the recording, as it stays out of
        // the figures.
        tokio::time::sleep(plan.warm_up).await;
        record(pid, &data, plan.measure)
    })?;
    let recorded = finish(perf?, pid)?;
    server.stop()?;
    let top = report(&data)?;

    let mut out = format!("# nova-rs profile: {label}\n\n");
    out.push_str(&format!(
        "- server: {} (pid {pid}){}; load: {} connections, {} of warm-up, then {} recorded with `perf record -g -p {pid}`\n",
        config.server.display(),
        config
            .server_cpus
            .as_deref()
            .map(|cpus| format!(", pinned to CPU {cpus}"))
            .unwrap_or_default(),
        plan.connections,
        seconds(plan.warm_up),
        seconds(plan.measure),
    ));
    out.push_str(&format!(
        "- while recorded: {} req/s, server CPU {:.1} µs per request, errors {} (perf's sampling adds to both, and it runs beside the load generator: compare the suite's figures, not these)\n",
        thousands(round.outcome.per_second().round() as u64),
        round.cpu_us_per_request(),
        round.outcome.error_summary()
    ));
    out.push_str(&format!(
        "- perf.data: {} ({recorded}); call graphs: `perf report -i {} --no-children`\n",
        data.display(),
        data.display()
    ));
    out.push_str(&format!(
        "\n## `perf report {}` (top {TOP_LINES} lines)\n\n```text\n{top}\n```\n",
        REPORT_OPTIONS.join(" ")
    ));
    Ok(out)
}

/// The table's row `which` names, and its place in the table.
fn find_workload(which: &str) -> Result<(usize, Workload), BenchError> {
    let (name, store) = match which.rsplit_once('@') {
        Some((name, store)) => (name, Some(store)),
        None => (which, None),
    };
    let found = workloads()
        .into_iter()
        .enumerate()
        .find(|(_, w)| w.name == name && store.is_none_or(|store| w.store.label() == store));
    found.ok_or_else(|| {
        let mut names: Vec<String> = Vec::new();
        for w in workloads() {
            let named = match w.store {
                Store::Sqlite => format!("{:?}", format!("{}@sqlite", w.name)),
                _ => format!("{:?}", w.name),
            };
            if !names.contains(&named) {
                names.push(named);
            }
        }
        BenchError::Usage(format!(
            "no workload {which:?} to profile; the workloads: {}",
            names.join(" ")
        ))
    })
}

/// `perf-show-sqlite` for `show` on SQLite: a file name for its recording.
fn file_stem(workload: &Workload) -> String {
    let mut stem = String::new();
    for word in workload
        .name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .chain([workload.store.label()])
        .filter(|word| !word.is_empty() && *word != "-")
    {
        if !stem.is_empty() {
            stem.push('-');
        }
        stem.push_str(word);
    }
    stem
}

/// Whether `perf` is there and may attach to a process of this user.
fn check_perf() -> Result<(), BenchError> {
    match Command::new("perf").arg("--version").output() {
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(BenchError::Profiler(
                "perf is not installed (no `perf` on PATH); --profile needs Linux perf (Debian: apt-get install linux-perf; Fedora: dnf install perf)".to_owned(),
            ));
        }
        Err(error) => {
            return Err(BenchError::Profiler(format!("cannot run perf: {error}")));
        }
        Ok(out) if !out.status.success() => {
            return Err(BenchError::Profiler(format!(
                "`perf --version` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(_) => {}
    }
    let paranoid = fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|text| text.trim().parse().ok());
    let root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| effective_uid(&text))
        == Some(0);
    perf_permitted(paranoid, root).map_err(BenchError::Profiler)
}

/// Whether `perf_event_paranoid` lets this user sample its own processes:
/// 2 or less does (user space only at 2), above that (Debian's 3) only
/// root may. An unreadable setting is left to perf to refuse.
fn perf_permitted(paranoid: Option<i32>, root: bool) -> Result<(), String> {
    match paranoid {
        Some(level) if level > 2 && !root => Err(format!(
            "perf may not attach to a process here: kernel.perf_event_paranoid is {level}, and a user other than root needs 2 or less (`sudo sysctl kernel.perf_event_paranoid=2`)"
        )),
        _ => Ok(()),
    }
}

/// The effective user id from a `/proc/self/status` text (the second
/// figure of its `Uid:` line).
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Starts `perf record -g` on process `pid`, writing to `data`, for `time`.
fn record(pid: u32, data: &Path, time: Duration) -> Result<Child, BenchError> {
    Command::new("perf")
        .args(["record", "-g", "-p", &pid.to_string(), "-o"])
        .arg(data)
        .args(["--", "sleep", &time.as_secs_f64().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BenchError::Profiler(format!("cannot start perf record: {e}")))
}

/// Waits for `perf record` to finish; returns what it says it wrote.
fn finish(perf: Child, pid: u32) -> Result<String, BenchError> {
    let out = perf
        .wait_with_output()
        .map_err(|e| BenchError::Profiler(format!("waiting for perf record: {e}")))?;
    let said = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let paranoid = fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
            .map(|text| text.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        return Err(BenchError::Profiler(format!(
            "perf record -g -p {pid} failed ({}; kernel.perf_event_paranoid is {paranoid}): {}",
            out.status,
            said.trim()
        )));
    }
    // `[ perf record: Captured and wrote 1.234 MB perf.data (5678 samples) ]`
    Ok(said
        .lines()
        .find_map(|line| line.split_once("Captured and wrote "))
        .map(|(_, rest)| {
            let (size, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let unit = rest.split_whitespace().next().unwrap_or_default();
            let samples = rest
                .split_once('(')
                .and_then(|(_, samples)| samples.split_once(')'))
                .map(|(samples, _)| format!(", {samples}"))
                .unwrap_or_default();
            format!("{size} {unit}{samples}")
        })
        .unwrap_or_else(|| "written".to_owned()))
}

/// The top of `perf report` on `data`.
fn report(data: &Path) -> Result<String, BenchError> {
    let out = Command::new("perf")
        .arg("report")
        .arg("-i")
        .arg(data)
        .args(REPORT_OPTIONS)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BenchError::Profiler(format!("cannot run perf report: {e}")))?;
    if !out.status.success() {
        return Err(BenchError::Profiler(format!(
            "perf report -i {} failed ({}): {}",
            data.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(top_of_report(
        &String::from_utf8_lossy(&out.stdout),
        TOP_LINES,
    ))
}

/// The sample count, event and column heads of a `perf report --stdio`
/// text, then its first `lines` lines of figures (its other comments and
/// blank lines left out).
fn top_of_report(text: &str, lines: usize) -> String {
    let header = text.lines().filter(|line| {
        ["# Samples:", "# Event count", "# Overhead"]
            .iter()
            .any(|head| line.starts_with(head))
    });
    let body = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .take(lines);
    // perf pads the last column of its heads to the widest symbol.
    header
        .chain(body)
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_is_named_alone_or_with_its_store() {
        let found = |which: &str| find_workload(which).map(|(_, w)| (w.name, w.store));
        assert_eq!(found("show").unwrap(), ("show", Store::Memory));
        assert_eq!(found("show@sqlite").unwrap(), ("show", Store::Sqlite));
        assert_eq!(found("show@memory").unwrap(), ("show", Store::Memory));
        assert_eq!(found("forbidden").unwrap(), ("forbidden", Store::Memory));
        assert_eq!(
            found("server-show, keystone token@sqlite").unwrap(),
            ("server-show, keystone token", Store::Sqlite)
        );
        assert_eq!(found("baseline").unwrap(), ("baseline", Store::Baseline));
        let Err(BenchError::Usage(message)) = found("shows") else {
            panic!("an unknown name is refused");
        };
        assert!(
            message.contains(r#""show, no access log" "index""#),
            "{message}"
        );
        assert!(message.contains(r#""show@sqlite""#), "{message}");
        assert!(found("forbidden@sqlite").is_err());
    }

    #[test]
    fn a_recording_is_named_after_its_row() {
        let stem = |which: &str| file_stem(&find_workload(which).unwrap().1);
        assert_eq!(stem("show@sqlite"), "show-sqlite");
        assert_eq!(
            stem("server-show, keystone token"),
            "server-show-keystone-token-memory"
        );
        assert_eq!(stem("baseline"), "baseline");
    }

    #[test]
    fn perf_may_attach_at_paranoia_2_or_as_root() {
        assert!(perf_permitted(Some(-1), false).is_ok());
        assert!(perf_permitted(Some(2), false).is_ok());
        assert!(perf_permitted(Some(3), true).is_ok());
        assert!(perf_permitted(None, false).is_ok());
        let refused = perf_permitted(Some(3), false).unwrap_err();
        assert!(refused.contains("perf_event_paranoid is 3"), "{refused}");
    }

    #[test]
    fn the_effective_uid_is_the_second_figure_of_the_uid_line() {
        let status = "Name:\tnova-bench\nUid:\t1000\t0\t1000\t1000\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn the_top_of_a_report_keeps_its_sample_count_and_its_first_lines_of_figures() {
        let text = "# To display the perf.data header info, please use --header/--header-only options.\n#\n# Samples: 12K of event 'cpu-clock:pppH'\n# Event count (approx.): 3000000000\n#\n# Overhead  Command  Shared Object  Symbol     \n#\n    12.00%  nova-server  nova-server  [.] a\n     8.00%  nova-server  libc.so.6    [.] b\n     2.00%  nova-server  [kernel]     [k] c\n\n\n#\n# (Tip: …)\n#\n";
        assert_eq!(
            top_of_report(text, 2),
            "# Samples: 12K of event 'cpu-clock:pppH'\n# Event count (approx.): 3000000000\n# Overhead  Command  Shared Object  Symbol\n    12.00%  nova-server  nova-server  [.] a\n     8.00%  nova-server  libc.so.6    [.] b"
        );
    }
}
