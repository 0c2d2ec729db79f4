//! The PostgreSQL server the store tests run against.
//!
//! When `NOVA_TEST_POSTGRES_URL` already names one, the tests use it. Else
//! `cargo xtask test` runs them under `scripts/with-postgres.sh`, which starts
//! a throw-away cluster on 127.0.0.1 and removes it afterwards, installing
//! Debian's `postgresql` package first where it is missing and this is a root
//! shell with apt (as on the project's machines and in CI). Elsewhere the
//! PostgreSQL tests say they did not run.

use std::path::Path;
use std::process::Command;

const URL_VARIABLE: &str = "NOVA_TEST_POSTGRES_URL";

/// Runs `cargo ARGS`, with the environment variables `vars` set, with a
/// PostgreSQL server for the tests when one can be had.
pub(crate) fn cargo_with_postgres(
    root: &Path,
    args: &[&str],
    vars: &[(&str, &str)],
) -> Result<(), String> {
    if std::env::var_os(URL_VARIABLE).is_some_and(|url| !url.is_empty()) {
        return crate::cargo_with_env(root, args, vars);
    }
    if !server_installed() && !install_server() {
        println!(
            "xtask: PostgreSQL is not installed and cannot be installed here; its tests will say they did not run"
        );
        return crate::cargo_with_env(root, args, vars);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("xtask: scripts/with-postgres.sh cargo {}", args.join(" "));
    let status = Command::new(root.join("scripts/with-postgres.sh"))
        .arg(cargo)
        .args(args)
        .envs(vars.iter().copied())
        .current_dir(root)
        .status()
        .map_err(|error| format!("cannot run scripts/with-postgres.sh: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn server_installed() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .flatten()
                .any(|version| version.path().join("bin/initdb").exists())
        })
        .unwrap_or(false)
}

fn install_server() -> bool {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    let has_apt = Path::new("/usr/bin/apt-get").exists();
    if !is_root || !has_apt {
        return false;
    }
    println!("xtask: installing PostgreSQL (apt-get install postgresql) for the store tests");
    let updated = Command::new("apt-get")
        .args(["update", "-qq"])
        .status()
        .is_ok_and(|status| status.success());
    updated
        && Command::new("apt-get")
            .args(["install", "-y", "-qq", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success())
        && server_installed()
}
