//! Shared by the binary's integration tests: nova-server started as a child
//! process with its log lines on a channel, and its listening address read
//! from them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Spawns `command` (a nova-server invocation) with the variables that
/// would change its tokens or store removed, logging at `info` unless it
/// sets `RUST_LOG`, and its standard error read line by line into the
/// returned channel.
pub(crate) fn spawn_logged(command: &mut Command) -> (Child, mpsc::Receiver<String>) {
    // A test may ask for more: info unless it set a level itself.
    if !command.get_envs().any(|(name, _)| name == "RUST_LOG") {
        command.env("RUST_LOG", "info");
    }
    let mut child = command
        .env_remove("NOVA_AUTH_TOKENS")
        .env_remove("NOVA_STORE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nova-server");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (child, log)
}

/// Reads log lines until the listening line; returns the address it names
/// (`host:port`) and the lines logged before it.
pub(crate) fn listening_address(log: &mpsc::Receiver<String>) -> (String, Vec<String>) {
    let mut early = Vec::new();
    loop {
        let line = log
            .recv_timeout(Duration::from_secs(30))
            .expect("nova-server prints where it listens");
        if let Some((_, addr)) = line.split_once("listening on http://") {
            return (addr.trim().to_owned(), early);
        }
        early.push(line);
    }
}
