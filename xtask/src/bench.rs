//! `cargo xtask bench`: the release build, the router micro-benchmarks and
//! the `nova-bench` suite, pinned to separate CPUs where the machine allows.
//!
//! `--only WORDS` (comma-separated) runs only the workloads whose names
//! contain one of the words, with their baselines, the scale run only if
//! one is `scale`, and no micro-benchmarks: `--only server` is the compute
//! API's workloads.

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
            other => return Err(format!("unknown bench option {other:?}")),
        }
    }
    if quick && save {
        return Err("--save records full runs only; drop --quick".to_owned());
    }
    if only.is_some() && save {
        return Err("--save records full runs only; drop --only".to_owned());
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

    let release = target_dir(root).join("release");
    let server = release.join("nova-server");
    let suite = release.join("nova-bench");
    let criterion_dir = target_dir(root).join("criterion");
    let mut command = match pinning() {
        // On a machine with two or more CPUs the servers get CPU 0 and the
        // load generator CPU 1, so neither steals the other's time.
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
        .arg(&server)
        .arg("--connections")
        .arg(&connections)
        .arg("--work-dir")
        .arg(target_dir(root).join("bench"))
        .current_dir(root);
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
