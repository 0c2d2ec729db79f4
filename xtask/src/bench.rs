//! `cargo xtask bench`: the release build, the router micro-benchmarks and
//! the `nova-bench` suite, pinned to separate CPUs where the machine allows.
//!
//! `--only WORDS` (comma-separated) runs only the workloads whose names
//! contain one of the words, with their baselines, the scale run only if
//! one is `scale`, and no micro-benchmarks: `--only server` is the compute
//! API's workloads.
//!
//! `--profile WORKLOAD` (`show`, `show@sqlite`, …) runs that one workload
//! instead, with `perf record -g` attached to its server, on the
//! `profiling` cargo profile (release with debug information, in
//! `target/profiling`) built with frame pointers so perf can walk the
//! stacks; the release build the suite measures is left as it is.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cargo;

/// Where `--save` writes, relative to the workspace root.
const RESULTS_DIR: &str = "bench/results";

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut quick = false;
    let mut save = false;
    let mut connections = "64".to_owned();
    let mut only = None;
    let mut profile = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--save" => save = true,
            "--connections" => {
                connections = rest
                    .next()
                    .filter(|n| n.parse::<usize>().is_ok_and(|n| n > 0))
                    .ok_or("--connections needs a positive number")?
                    .clone();
            }
            "--only" => {
                only = Some(
                    rest.next()
                        .filter(|words| !words.is_empty())
                        .ok_or(
                            "--only needs workload names, e.g. --only server or --only show,scale",
                        )?
                        .clone(),
                );
            }
            "--profile" => {
                profile = Some(
                    rest.next()
                        .filter(|workload| !workload.is_empty())
                        .ok_or("--profile needs a workload, e.g. --profile show or --profile show@sqlite")?
                        .clone(),
                );
            }
            other => return Err(format!("unknown bench option {other:?}")),
        }
    }
    if quick && save {
        return Err("--save records full runs only; drop --quick".to_owned());
    }
    if only.is_some() && save {
        return Err("--save records full runs only; drop --only".to_owned());
    }
    if let Some(workload) = &profile {
        if save || only.is_some() {
            return Err("--profile runs one workload; drop --save and --only".to_owned());
        }
        return run_profile(root, workload, quick, &connections);
    }
    // One build for everything, so that the servers and the micro-benchmarks
    // share one feature resolution and no dependency is compiled twice. The
    // bench profile is the release profile (it inherits it unchanged).
    let packages = [
        "--package",
        "nova-server",
        "--package",
        "nova-bench",
        "--package",
        "nova-router",
        "--features",
        "nova-router/bench",
    ];
    let mut build = vec!["build", "--profile", "bench", "--bins", "--benches"];
    build.extend_from_slice(&packages);
    cargo(root, &build)?;

    // Micro-benchmarks first, unpinned: they are single-threaded and short.
    // A run of chosen workloads (--only) leaves them out, and the report
    // then quotes none rather than an earlier run's.
    if only.is_none() {
        let mut criterion = vec!["bench"];
        criterion.extend_from_slice(&packages);
        criterion.extend_from_slice(&["--bench", "matching", "--", "--noplot"]);
        if quick {
            criterion.extend_from_slice(&["--warm-up-time", "0.2", "--measurement-time", "0.5"]);
        } else {
            criterion.extend_from_slice(&["--warm-up-time", "1", "--measurement-time", "3"]);
        }
        cargo(root, &criterion)?;
    }

    let criterion_dir = target_dir(root).join("criterion");
    let mut command = suite_command(root, &target_dir(root).join("release"), &connections);
    if quick {
        command.arg("--quick");
    }
    if save {
        command.arg("--save").arg(root.join(RESULTS_DIR));
    }
    match &only {
        Some(words) => command.arg("--only").arg(words),
        None => command.arg("--criterion-dir").arg(&criterion_dir),
    };
    run_suite(command)
}

/// `--profile WORKLOAD`: the profiling build, then `nova-bench suite
/// --profile`, pinned as the suite is.
fn run_profile(root: &Path, workload: &str, quick: bool, connections: &str) -> Result<(), String> {
    // Before a build of several minutes, the one thing it needs.
    if !Command::new("perf")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
    {
        return Err(
            "--profile needs Linux perf, and `perf --version` does not run here (Debian: apt-get install linux-perf)"
                .to_owned(),
        );
    }
    // Frame pointers in every crate of this build only: `perf record -g`
    // walks the stacks by them. The build has a directory of its own, so
    // the release build keeps its flags.
    let rustflags = match env::var("RUSTFLAGS") {
        Ok(flags) if !flags.trim().is_empty() => format!("{flags} -C force-frame-pointers=yes"),
        _ => "-C force-frame-pointers=yes".to_owned(),
    };
    crate::cargo_with_env(
        root,
        &[
            "build",
            "--profile",
            "profiling",
            "--bins",
            "--package",
            "nova-server",
            "--package",
            "nova-bench",
        ],
        &[("RUSTFLAGS", &rustflags)],
    )?;
    let mut command = suite_command(root, &target_dir(root).join("profiling"), connections);
    command.arg("--profile").arg(workload);
    if quick {
        command.arg("--quick");
    }
    run_suite(command)
}

/// `nova-bench suite` from `bin`, measuring `bin`'s nova-server over
/// `connections` connections; on a machine with two or more CPUs the
/// servers get CPU 0 and the load generator CPU 1, so neither steals the
/// other's time.
fn suite_command(root: &Path, bin: &Path, connections: &str) -> Command {
    let suite = bin.join("nova-bench");
    let mut command = match pinning() {
        Some((server_cpus, load_cpus)) => {
            let mut command = Command::new("taskset");
            command.args(["-c", load_cpus]).arg(&suite).arg("suite");
            command.args(["--server-cpus", server_cpus]);
            command
        }
        None => {
            let mut command = Command::new(&suite);
            command.arg("suite");
            command
        }
    };
    command
        .arg("--server")
        .arg(bin.join("nova-server"))
        .arg("--connections")
        .arg(connections)
        .arg("--work-dir")
        .arg(target_dir(root).join("bench"))
        .current_dir(root);
    command
}

fn run_suite(mut command: Command) -> Result<(), String> {
    println!("xtask: {command:?}");
    let status = command
        .status()
        .map_err(|error| format!("cannot run nova-bench: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the benchmark suite failed ({status})"))
    }
}

/// CPUs for (servers, load generator), when `taskset` works and there are
/// at least two.
fn pinning() -> Option<(&'static str, &'static str)> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let taskset = Command::new("taskset")
        .args(["-c", "0", "true"])
        .status()
        .is_ok_and(|status| status.success());
    (cpus >= 2 && taskset).then_some(("0", "1"))
}

fn target_dir(root: &Path) -> PathBuf {
    // A relative CARGO_TARGET_DIR is relative to where cargo runs, the root.
    env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"))
}
