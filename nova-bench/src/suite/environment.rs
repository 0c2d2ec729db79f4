//! What a run ran on, for the report's preamble: the machine, the build,
//! the CPU pinning, whether nova-server takes `--store`, and the load
//! average at the start and the end.

use std::fs;
use std::process::Command;

use super::config::SuiteConfig;
use crate::process;

/// The preamble's lines on the machine, the build, the pinning and the
/// store flag, with the load average at the start.
pub(super) fn describe_run(config: &SuiteConfig, has_store_flag: bool) -> Vec<String> {
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
    let load = load_average();
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
            load
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

/// The preamble's line on the load average once the suite has run.
pub(super) fn describe_load_at_end() -> String {
    format!(
        "load average at the end: {} (the 1-minute figure counts the suite's own server and load generator, about 2 while a workload runs)",
        load_average()
    )
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
fn load_average() -> String {
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    load.join(" ")
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
