//! `cargo xtask fuzz --time N`: runs every cargo-fuzz target for N seconds.
//!
//! cargo-fuzz needs nightly-only compiler flags (sanitizer coverage). This
//! machine has one stable toolchain and no other can be fetched, so the
//! targets are built with `RUSTC_BOOTSTRAP=1`, which lets a stable compiler
//! accept those flags. cargo-fuzz itself is installed from crates.io when it
//! is missing.

use std::path::Path;
use std::process::Command;

/// Every target in `fuzz/fuzz_targets`, with its committed seeds.
const TARGETS: [&str; 3] = ["router_match", "request_body", "paste_config"];

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let seconds = match args {
        [flag, value] if flag == "--time" => value
            .parse::<u64>()
            .map_err(|_| format!("--time takes whole seconds, not {value:?}"))?,
        [] => 60,
        _ => return Err("usage: cargo xtask fuzz [--time SECONDS]".to_owned()),
    };
    ensure_cargo_fuzz(root)?;
    let fuzz_dir = root.join("fuzz");
    for target in TARGETS {
        if !fuzz_dir.join(format!("fuzz_targets/{target}.rs")).exists() {
            continue;
        }
        let corpus = format!("corpus/{target}");
        let seeds = format!("seeds/{target}");
        std::fs::create_dir_all(fuzz_dir.join(&corpus)).map_err(|e| e.to_string())?;
        println!("xtask: fuzzing {target} for {seconds} s");
        // New inputs go to corpus/ (ignored by git); seeds/ is read only.
        let status = Command::new(cargo())
            .args(["fuzz", "run", target, &corpus, &seeds, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1")
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&fuzz_dir)
            .status()
            .map_err(|error| format!("cannot run cargo fuzz: {error}"))?;
        if !status.success() {
            return Err(format!(
                "fuzz target {target} failed ({status}); the input is in fuzz/artifacts/{target}/"
            ));
        }
    }
    Ok(())
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn ensure_cargo_fuzz(root: &Path) -> Result<(), String> {
    let installed = Command::new(cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if installed {
        return Ok(());
    }
    crate::cargo(root, &["install", "cargo-fuzz", "--locked"])
}
