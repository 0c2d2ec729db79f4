//! Python tools the checks drive, from PyPI, pinned, each in a virtual
//! environment of its own under `target/xtask/`, so a fresh machine needs
//! only Python 3 and a second run installs nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A virtual environment under `target/xtask/NAME-venv` holding exactly
/// `pins` (`package==version` each); installed on first use and again
/// whenever the pins change. Returns the environment's folder.
pub(crate) fn venv(root: &Path, name: &str, pins: &[&str]) -> Result<PathBuf, String> {
    let venv = root.join(format!("target/xtask/{name}-venv"));
    let marker = venv.join("installed.txt");
    let wanted = pins.join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(venv);
    }
    println!(
        "xtask: installing {} into {}",
        pins.join(" "),
        venv.display()
    );
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(pins))?;
    std::fs::write(&marker, wanted).map_err(|error| error.to_string())?;
    Ok(venv)
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}
