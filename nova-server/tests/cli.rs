//! The `nova-server` binary as a user runs it: flags, the listening line,
//! the access log and shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Running {
    child: Child,
    addr: String,
    log: mpsc::Receiver<String>,
    /// What it logged up to its listening line.
    early: Vec<String>,
    /// The working directory, where the default store `nova.db` goes.
    _dir: tempfile::TempDir,
}

fn start(args: &[&str]) -> Running {
    start_in(tempfile::tempdir().expect("tempdir"), args)
}

fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nova-server"))
        .current_dir(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("NOVA_AUTH_TOKENS")
        .env_remove("NOVA_STORE")
        .env("RUST_LOG", "info")
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
    let mut early = Vec::new();
    let addr = loop {
        let line = log
            .recv_timeout(Duration::from_secs(30))
            .expect("nova-server prints where it listens");
        if let Some((_, addr)) = line.split_once("listening on http://") {
            break addr.trim().to_owned();
        }
        early.push(line);
    };
    Running {
        child,
        addr,
        log,
        early,
        _dir: dir,
    }
}

fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn terminate(running: Running) -> (std::process::ExitStatus, Vec<String>) {
    let (exit, lines, _) = terminate_keeping_dir(running);
    (exit, lines)
}

fn terminate_keeping_dir(
    mut running: Running,
) -> (std::process::ExitStatus, Vec<String>, tempfile::TempDir) {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let exit = running.child.wait().expect("wait");
    let mut lines = running.early;
    lines.extend(running.log.try_iter());
    (exit, lines, running._dir)
}

#[test]
fn the_binary_serves_the_api_logs_each_request_without_the_token_and_exits_0_on_sigterm() {
    let running = start(&[]);
    let answer = http(
        &running.addr,
        "GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("\"name\":\"inst-0\""), "{answer}");
    let answer = http(
        &running.addr,
        "GET /instances HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden"), "{answer}");

    let (exit, log) = terminate(running);
    assert!(exit.success(), "exit status {exit:?}");
    let access: Vec<&String> = log.iter().filter(|l| l.contains("nova::access")).collect();
    assert_eq!(access.len(), 2, "{log:#?}");
    assert!(access[0].contains("method=GET") && access[0].contains("path=/instances"));
    assert!(access[0].contains("status=200") && access[0].contains("latency_us="));
    assert!(access[1].contains("status=403"));
    assert!(log.iter().all(|l| !l.contains("open-sesame")), "{log:#?}");
}

#[test]
fn configured_tokens_replace_the_default() {
    let running = start(&["--token", "alpha,beta"]);
    for (token, expected) in [("alpha", "200"), ("beta", "200"), ("open-sesame", "403")] {
        let answer = http(
            &running.addr,
            &format!("GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\nConnection: close\r\n\r\n"),
        );
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {expected}")),
            "{token}: {answer}"
        );
    }
    let (exit, log) = terminate(running);
    assert!(exit.success());
    assert!(log
        .iter()
        .all(|l| !l.contains("alpha") && !l.contains("beta")));
}

#[test]
fn bad_flags_are_refused_with_exit_status_2() {
    for args in [
        &["--listen", "not-an-address"][..],
        &["--token", "has space"][..],
        &["--no-such-flag"][..],
        &["--store", "mysql://db/nova"][..],
        &["--store", "sqlite:"][..],
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = Command::new(env!("CARGO_BIN_EXE_nova-server"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("run nova-server");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?} prints why");
    }
}

#[test]
fn an_address_in_use_is_reported_and_exits_non_zero() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_nova-server"))
        .current_dir(dir.path())
        .args(["--listen", &addr])
        .output()
        .expect("run nova-server");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn the_default_store_is_nova_db_in_the_working_directory_and_keeps_instances_across_restarts() {
    let running = start(&[]);
    let created = http(
        &running.addr,
        "POST /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\nConnection: close\r\n\r\nname=kept",
    );
    assert!(created.starts_with("HTTP/1.1 201 Created"), "{created}");
    assert!(created.contains("etag: \"1\""), "{created}");
    let (exit, log, dir) = terminate_keeping_dir(running);
    assert!(exit.success());
    let path = dir.path().canonicalize().expect("dir").join("nova.db");
    assert!(path.is_file());
    let announced = format!("instances are kept in sqlite:{}", path.display());
    assert!(
        log.iter().any(|l| l.contains(&announced)),
        "{announced} in {log:#?}"
    );

    let running = start_in(dir, &[]);
    let listed = http(
        &running.addr,
        "GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nConnection: close\r\n\r\n",
    );
    assert!(listed.contains("\"name\":\"kept\""), "{listed}");
    assert_eq!(
        listed.matches("\"name\":\"inst-0\"").count(),
        1,
        "not seeded again: {listed}"
    );
    let (exit, log) = terminate(running);
    assert!(exit.success());
    assert!(
        !log.iter()
            .any(|l| l.contains("created a new instance store")),
        "{log:#?}"
    );
}

#[test]
fn the_memory_store_forgets_at_exit() {
    let running = start(&["--store", "memory:"]);
    let (exit, log, dir) = terminate_keeping_dir(running);
    assert!(exit.success());
    assert!(
        log.iter()
            .any(|l| l.contains("instances are kept in memory:")),
        "{log:#?}"
    );
    assert!(!dir.path().join("nova.db").exists());
}

#[test]
fn a_store_that_cannot_be_opened_is_reported_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("not-sqlite.db"),
        "this is not a database, just text ".repeat(100),
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_nova-server"))
        .current_dir(dir.path())
        .args(["--listen", "127.0.0.1:0", "--store", "sqlite:not-sqlite.db"])
        .output()
        .expect("run nova-server");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open the SQLite store /"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not-sqlite.db: file is not a database"),
        "{stderr}"
    );
}
