//! The schemathesis step of `cargo xtask test`: the API document checked
//! against a live nova-server by generated requests, stateful link-following
//! included, with every check schemathesis has.
//!
//! schemathesis comes from PyPI, pinned, into a virtual environment under
//! `target/` (see `python_tools`), so a fresh machine needs only Python 3.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The schemathesis release the checks were written against.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Generated cases per operation and phase: enough to find what a user's
/// odd input finds, few enough for a CI run of about a minute.
const MAX_EXAMPLES: &str = "100";

pub(crate) fn run(root: &Path) -> Result<(), String> {
    let st = install(root)?;
    crate::cargo(root, &["build", "--package", "nova-server"])?;
    // The default store, SQLite, on a fresh file: what a user runs.
    let database = root.join("target/xtask/schemathesis.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    let store = format!("sqlite:{}", database.display());
    let server = LiveServer::start(&root.join("target/debug/nova-server"), &store)?;
    // The document as the server serves it, at the path a user finds it.
    let document = format!("{}/openapi.json", server.url);
    println!("xtask: schemathesis against {}", server.url);
    let status = Command::new(&st)
        .arg("run")
        .arg(&document)
        .args(["--url", &server.url])
        .args(["--checks", "all"])
        .args(["--header", "X-Auth-Token: open-sesame"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--request-timeout", "10"])
        .arg("--no-color")
        // schemathesis.toml, at the root, holds the settings of its checks.
        .current_dir(root)
        .status()
        .map_err(|error| format!("cannot run schemathesis: {error}"));
    server.stop();
    match status? {
        status if status.success() => Ok(()),
        status => Err(format!("schemathesis found problems ({status})")),
    }
}

fn install(root: &Path) -> Result<PathBuf, String> {
    let venv = crate::python_tools::venv(root, "schemathesis", &[SCHEMATHESIS])?;
    Ok(venv.join("bin/st"))
}

/// nova-server on an ephemeral loopback port, stopped by [`LiveServer::stop`].
struct LiveServer {
    child: Child,
    url: String,
}

impl LiveServer {
    fn start(binary: &Path, store: &str) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--store", store])
            .env("RUST_LOG", "warn,nova_server=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("nova-server has no stderr")?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Keep draining after the address is known so the server
                // never blocks on a full pipe.
                let _ = sender.send(line);
            }
        });
        loop {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some((_, addr)) = line.split_once("listening on ") {
                        let url = addr.trim().to_owned();
                        return Ok(LiveServer { child, url });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    return Err("nova-server did not say where it listens".to_owned());
                }
            }
        }
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
