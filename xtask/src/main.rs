//! `cargo xtask`: the project's own commands, in Rust so they run wherever
//! cargo does.
//!
//! - `cargo xtask test`: formatting, clippy, each library crate checked on
//!   its own, the documentation (broken links fail), every test in the
//!   workspace, then schemathesis against a live server. This is what CI
//!   runs.
//! - `cargo xtask fuzz [--time SECONDS]`: every cargo-fuzz target in `fuzz/`
//!   for that long each (default 60).
//! - `cargo xtask bench [--quick] [--save] [--connections N] [--only WORDS]`:
//!   builds in release mode, runs the router micro-benchmarks (criterion),
//!   then the `nova-bench` suite against the real `nova-server` binary and a
//!   bare hyper baseline, in interleaved rounds, and prints the report of
//!   medians with the targets; `--save` writes it to
//!   `bench/results/YYYY-MM-DD.md`. `cargo xtask bench --profile WORKLOAD
//!   [--quick]` runs one workload under `perf record -g` instead.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod fuzz;
mod postgres;
mod python_tools;
mod schemathesis;
mod tidy;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The crates others may reuse; each must build without the rest of the
/// workspace's features switched on.
const LIBRARY_CRATES: [&str; 9] = [
    "nova-router",
    "nova-auth",
    "nova-controller",
    "nova-compute",
    "nova-identity",
    "nova-paste",
    "nova-filters",
    "nova-store",
    "nova-control",
];

/// The OpenStack clients the end-to-end tests drive, as users install them.
const OPENSTACK_CLIENTS: &[&str] = &["python-openstackclient==10.5.0", "openstacksdk==4.22.0"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("fuzz") => fuzz::run(&workspace_root(), &args[1..]),
        Some("bench") => bench::run(&workspace_root(), &args[1..]),
        Some("help" | "--help" | "-h") | None => {
            println!("usage: cargo xtask test");
            println!("       cargo xtask fuzz [--time SECONDS]");
            println!(
                "       cargo xtask bench [--quick] [--save] [--connections N] [--only WORDS]"
            );
            println!("       cargo xtask bench --profile WORKLOAD[@sqlite] [--quick]");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command {other:?}; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> Result<(), String> {
    let root = workspace_root();
    cargo(&root, &["fmt", "--all", "--", "--check"])?;
    cargo(
        &root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            // Lints the router micro-benchmarks too, which need criterion.
            "--features",
            "nova-router/bench",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    for krate in LIBRARY_CRATES {
        cargo(&root, &["check", "--package", krate, "--all-targets"])?;
    }
    // Each store driver builds without the other.
    cargo(
        &root,
        &[
            "check",
            "--package",
            "nova-store",
            "--no-default-features",
            "--features",
            "postgres",
        ],
    )?;
    // A broken intra-doc link is a failure, as a warning anywhere else is.
    cargo_with_env(
        &root,
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // The real OpenStack clients the end-to-end tests drive.
    let clients = python_tools::venv(&root, "openstack", OPENSTACK_CLIENTS)?;
    let clients = clients.display().to_string();
    postgres::cargo_with_postgres(
        &root,
        &["test", "--workspace"],
        &[("NOVA_TEST_OPENSTACK_VENV", clients.as_str())],
    )?;
    schemathesis::run(&root)?;
    Ok(())
}

pub(crate) fn cargo(root: &Path, args: &[&str]) -> Result<(), String> {
    cargo_with_env(root, args, &[])
}

/// Runs cargo with `args` and the environment variables `vars` set.
pub(crate) fn cargo_with_env(
    root: &Path,
    args: &[&str],
    vars: &[(&str, &str)],
) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let shown: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
    println!("xtask: {}cargo {}", shown.concat(), args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .envs(vars.iter().copied())
        .current_dir(root)
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}
