//! The `nova-server` binary as a user runs it: flags, configuration files,
//! the listening line, the access log and shutdown on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

mod support;

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

/// Starts the binary in `dir` on an ephemeral port.
fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Running {
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    spawn_in(dir, &all)
}

/// Starts the binary with exactly `args` (no `--listen` added).
fn spawn(args: &[&str]) -> Running {
    spawn_in(tempfile::tempdir().expect("tempdir"), args)
}

fn spawn_in(dir: tempfile::TempDir, args: &[&str]) -> Running {
    let (child, log) = support::spawn_logged(
        Command::new(env!("CARGO_BIN_EXE_nova-server"))
            .current_dir(dir.path())
            .args(args),
    );
    let (addr, early) = support::listening_address(&log);
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

/// A file of the repository, by its path from the repository's root.
fn repo_file(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

/// Writes `text` to a fresh file for test `name`.
fn config_file(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-configs");
    std::fs::create_dir_all(&dir).expect("create dir");
    let path = dir.join(format!("{name}.ini"));
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn the_binary_serves_the_api_logs_each_request_without_the_token_and_exits_0_on_sigterm() {
    // The built-in default, and the seed's own file copied verbatim.
    let seed = repo_file("tests/config/configure.ini");
    for args in [&[][..], &["--config", seed.as_str()][..]] {
        serves_the_seeds_api_and_logs_each_request(args);
    }
}

fn serves_the_seeds_api_and_logs_each_request(args: &[&str]) {
    let running = start(args);
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
    // No request_id filter in the seed's pipeline: no id field at all.
    assert!(access.iter().all(|l| !l.contains("request_id")), "{log:#?}");
    assert!(log.iter().all(|l| !l.contains("open-sesame")), "{log:#?}");
}

#[test]
fn the_api_paste_file_serves_every_part_and_its_log_lines_carry_the_request_id() {
    let running = start(&["--config", &repo_file("etc/nova-rs/api-paste.ini")]);
    for (request, status) in [
        ("GET / HTTP/1.1\r\nHost: x\r\n", "200"),
        ("GET /healthcheck HTTP/1.1\r\nHost: x\r\n", "200"),
        // The compute pipeline's token filter is Keystone's: no token is
        // its 401.
        ("GET /v2.1/instances HTTP/1.1\r\nHost: x\r\n", "401"),
        (
            "GET /v2.1/instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\n",
            "200",
        ),
        // The control API, with its own token (the same default).
        (
            "GET /control/behaviors HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\n",
            "200",
        ),
    ] {
        let answer = http(
            &running.addr,
            &format!("{request}Connection: close\r\n\r\n"),
        );
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(answer.contains("x-openstack-request-id: req-"), "{answer}");
    }
    let answer = http(
        &running.addr,
        "GET /v2.1/instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nConnection: close\r\n\r\n",
    );
    let id = answer
        .lines()
        .find_map(|line| line.strip_prefix("x-openstack-request-id: "))
        .expect("a request id")
        .trim()
        .to_owned();
    let (exit, log) = terminate(running);
    assert!(exit.success());
    let access: Vec<&String> = log.iter().filter(|l| l.contains("nova::access")).collect();
    // The edge logs every request, whichever pipeline of the URL map
    // answered it (the health check has no request_log filter), and no
    // line holds a token, the control API's included.
    assert_eq!(access.len(), 6, "{log:#?}");
    assert!(log.iter().all(|l| !l.contains("open-sesame")), "{log:#?}");
    let line = access
        .iter()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("no log line carries {id}: {log:#?}"));
    assert!(
        line.contains("path=/v2.1/instances") && line.contains("status=200"),
        "{line}"
    );
    assert!(line.contains(&format!("request_id={id}")), "{line}");
}

#[test]
fn the_server_section_gives_the_address_and_listen_overrides_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let file = config_file(
        "server-section",
        &format!("[app:main]\nuse = instance\n[server:main]\nuse = egg:Paste#http\nhost = 127.0.0.1\nport = {port}\n"),
    );
    let file = file.display().to_string();
    let running = spawn(&["--config", &file]);
    assert_eq!(running.addr, format!("127.0.0.1:{port}"));
    assert!(terminate(running).0.success());
    let running = spawn(&["--config", &file, "--listen", "127.0.0.1:0"]);
    assert_ne!(running.addr, format!("127.0.0.1:{port}"));
    assert!(terminate(running).0.success());
}

#[test]
fn tokens_come_from_the_file_unless_given_on_the_command_line() {
    let file = config_file(
        "tokens",
        "[pipeline:main]\npipeline = auth instance\n[filter:auth]\nuse = auth\ntokens = alpha, gamma\n[app:instance]\nuse = instance\n",
    );
    let file = file.display().to_string();
    for (args, accepted, refused) in [
        (
            vec!["--config", file.as_str()],
            ["alpha", "gamma"],
            ["open-sesame", "beta"],
        ),
        (
            vec!["--config", file.as_str(), "--token", "beta,open-sesame"],
            ["beta", "open-sesame"],
            ["alpha", "gamma"],
        ),
    ] {
        let running = start(&args);
        for (token, expected) in accepted
            .iter()
            .map(|t| (t, "200"))
            .chain(refused.iter().map(|t| (t, "403")))
        {
            let answer = http(
                &running.addr,
                &format!("GET /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\nConnection: close\r\n\r\n"),
            );
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {expected}")),
                "{args:?} {token}: {answer}"
            );
        }
        assert!(terminate(running).0.success());
    }
}

/// Each bad file: exit status 2, one line naming the file, the line, the
/// section and the problem, and nothing listening.
#[test]
fn a_bad_config_file_is_one_message_and_exit_status_2() {
    let cases: [(&str, &str, &str); 9] = [
        (
            "unknown-section",
            "[pipeline:main]\npipeline = auth instanse\n[filter:auth]\nuse = auth\n",
            ":2: [pipeline:main] no section [app:instanse]",
        ),
        (
            "unknown-factory",
            "[app:main]\npaste.app_factory = routers:app_factry\n",
            ":2: [app:main] no factory is registered as \"routers:app_factry\"",
        ),
        (
            "cycle",
            "[pipeline:main]\npipeline = auth main\n[filter:auth]\nuse = auth\n",
            ":2: [pipeline:main] sections refer to each other in a loop: [pipeline:main] -> [pipeline:main]",
        ),
        (
            "last-not-app",
            "[pipeline:main]\npipeline = instance auth\n[filter:auth]\nuse = auth\n[app:instance]\nuse = instance\n",
            ":2: [pipeline:main] \"auth\" is a filter ([filter:auth] on line 3), but an app",
        ),
        (
            "interpolation",
            "[app:main]\nuse = instance\nstore = %(store_url)s\n",
            ":3: [app:main] interpolation of \"store\" refers to \"store_url\"",
        ),
        (
            "unknown-key",
            "[app:main]\nuse = instance\nstorage = memory:\n",
            ":3: [app:main] unknown key \"storage\" for instance",
        ),
        (
            "ill-typed-key",
            "[app:main]\nuse = instance\nseed = sometimes\n",
            ":3: [app:main] seed: \"sometimes\" is not a boolean",
        ),
        (
            "bad-port",
            "[app:main]\nuse = instance\n[server:main]\nport = http\n",
            ":4: [server:main] port: \"http\" is not valid",
        ),
        (
            "syntax",
            "[app:main]\nuse = instance\n  \njust some words\n",
            ":4: [app:main] expected `key = value`",
        ),
    ];
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-file.ini");
    let mut runs: Vec<(PathBuf, String)> = cases
        .iter()
        .map(|(name, text, says)| {
            let file = config_file(name, text);
            let expected = format!("{}{says}", file.display());
            (file, expected)
        })
        .collect();
    runs.push((
        missing.clone(),
        format!("{}: cannot read the file", missing.display()),
    ));
    for (file, expected) in runs {
        let output = Command::new(env!("CARGO_BIN_EXE_nova-server"))
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&file)
            .env("RUST_LOG", "info")
            .output()
            .expect("run nova-server");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one message: {stderr}");
        assert!(
            lines[0].contains(&expected),
            "expected {expected:?} in {stderr}"
        );
    }
    // A name the file does not have.
    let file = config_file("other-name", "[app:main]\nuse = instance\n");
    let output = Command::new(env!("CARGO_BIN_EXE_nova-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--name",
            "osapi_compute",
            "--config",
        ])
        .arg(&file)
        .output()
        .expect("run nova-server");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no section [app:osapi_compute]"),
        "{stderr}"
    );
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
        &["--idle-timeout", "0"][..],
        &["--max-header-bytes", "100"][..],
        &["--max-connections", "-1"][..],
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

#[test]
fn help_says_what_the_server_serves_and_lists_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_nova-server"))
        .arg("--help")
        .output()
        .expect("run nova-server --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.starts_with("Serves nova-rs, the API layer of OpenStack Nova"),
        "{help}"
    );
    for flag in [
        "--config",
        "--name",
        "--listen",
        "--token",
        "--max-body-bytes",
        "--store",
        "--shutdown-grace",
    ] {
        assert!(help.contains(flag), "{flag} missing from: {help}");
    }
}

/// A form POST of `name=` and `bytes` letters, with its length declared.
fn create_of(bytes: usize) -> String {
    let body = format!("name={}", "x".repeat(bytes));
    format!(
        "POST /instances HTTP/1.1\r\nHost: x\r\nX-Auth-Token: open-sesame\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn the_body_cap_comes_from_the_flag_or_server_main_and_a_sizelimit_does_not_raise_it() {
    // A sizelimit far above the edge's cap. A 200 KiB name is too long
    // (at most 255 characters): a body that reaches the controller is 400,
    // one the edge's cap refuses is 413.
    let pipeline = "[pipeline:main]\npipeline = sizelimit instance\n\
                    [filter:sizelimit]\nuse = sizelimit\nmax_request_body_size = 1000000\n\
                    [app:instance]\nuse = instance\nstore = memory:\n";
    let big = 200 * 1024;
    let plain = config_file("cap-default", pipeline);
    let raised = config_file(
        "cap-server-main",
        &format!("{pipeline}[server:main]\nmax_body_bytes = 300000\n"),
    );
    for (file, flags, status) in [
        (&plain, &[][..], "413"),
        (&raised, &[][..], "400"),
        (&plain, &["--max-body-bytes", "300000"][..], "400"),
        (&raised, &["--max-body-bytes", "1000"][..], "413"),
    ] {
        let mut args = vec!["--config", file.to_str().expect("utf-8 path")];
        args.extend_from_slice(flags);
        let running = start(&args);
        let answer = http(&running.addr, &create_of(big));
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{file:?} {flags:?}: {answer}"
        );
        assert!(terminate(running).0.success());
    }
}
