//! The real OpenStack clients (python-openstackclient, openstacksdk), pinned,
//! in the virtual environment that `NOVA_TEST_OPENSTACK_VENV` names
//! (`cargo xtask test` installs it and sets the variable).
//!
//! Without the variable the client tests say so and pass locally; when
//! `CI=true` they fail instead, so CI can never skip them silently.

use std::path::PathBuf;

/// The variable naming the clients' virtual environment.
pub const VENV_VARIABLE: &str = "NOVA_TEST_OPENSTACK_VENV";

/// The environment's Python, which can `import openstack`; `None` (after
/// saying so) when the variable is not set on a developer's machine.
/// Panics when it is not set in CI.
#[allow(clippy::print_stderr)] // the test output is where a skipped run is reported
pub fn python() -> Option<PathBuf> {
    match std::env::var(VENV_VARIABLE) {
        Ok(venv) if !venv.is_empty() => Some(PathBuf::from(venv).join("bin/python")),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{VENV_VARIABLE} is not set, and CI=true: the client tests must run in CI")
        }
        _ => {
            eprintln!("{VENV_VARIABLE} is not set: client test not run (cargo xtask test runs it)");
            None
        }
    }
}
