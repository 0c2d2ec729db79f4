//! The schemathesis step of `cargo xtask test`: each API document checked
//! against a live nova-server by generated requests, stateful
//! link-following included. Two runs, one per document:
//!
//! - the seed's instance API, as the built-in configuration serves it
//!   (SQLite on a fresh file: what a user runs), with every check
//!   schemathesis has;
//! - the compute API, as `etc/nova-rs/api-paste.ini` serves it below
//!   `/v2.1`, at the microversion its document describes, with the checks
//!   that hold whatever the input: no 5xx, and statuses, content types,
//!   headers and bodies as the document says. Whether a schema-valid
//!   request is accepted depends on data no schema states (a flavor that
//!   exists, a marker that is listed), so that check stays with the seed's
//!   run. This run is bounded by time, not by examples;
//! - the control API, as the same file serves it at `/control` with its
//!   clock controlled (so a clock move is answered, not refused), with
//!   the compute run's checks: whether a schema-valid behaviour is
//!   accepted depends on rules across its fields (which effects an event
//!   takes) that the schema does not state.
//!
//! schemathesis comes from PyPI, pinned, into a virtual environment under
//! `target/` (see `python_tools`), so a fresh machine needs only Python 3.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The schemathesis release the checks were written against.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Generated cases per operation and phase for the seed's run: enough to
/// find what a user's odd input finds, few enough for a CI run of about a
/// minute.
const MAX_EXAMPLES: &str = "100";

/// The compute API's run: every phase runs again and again with this many
/// cases per operation until [`COMPUTE_SECONDS`] are spent.
const COMPUTE_MAX_EXAMPLES: &str = "50";

/// How long the compute API's run takes, whatever the machine: about
/// 14,000 generated requests and 450 stateful scenarios on two cores.
const COMPUTE_SECONDS: &str = "90";

/// The checks of the compute API's run.
const COMPUTE_CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance";

/// Generated cases per operation and phase for the control API's run.
const CONTROL_MAX_EXAMPLES: &str = "50";

/// The section of `api-paste.ini` that configures the control app.
const CONTROL_SECTION: &str = "[app:control_app]";

/// The section of `api-paste.ini` that configures the compute app.
const COMPUTE_SECTION: &str = "[app:osapi_compute_app_v21]";

/// What the compute app is run with instead of the shipped file's values:
/// operations that take a few hundredths of a second, so generated
/// servers are built (and seen building) within a scenario; quotas with
/// room for the thousands of servers a run creates (the instance quota
/// still bounds `max_count`); pages of 20, so listings page.
const COMPUTE_SETTINGS: &[(&str, &str)] = &[
    ("build_seconds", "0.05"),
    ("reboot_seconds", "0.05"),
    ("resize_seconds", "0.05"),
    ("rebuild_seconds", "0.05"),
    ("delete_seconds", "0"),
    ("action_seconds", "0"),
    ("quota_instances", "1000"),
    ("quota_cores", "-1"),
    ("quota_ram", "-1"),
    ("max_limit", "20"),
];

/// schemathesis's settings for the compute API's run: most generated
/// flavor and image references name ones the cloud has, so creates,
/// resizes and rebuilds get past the lookup to what follows it.
const COMPUTE_SCHEMATHESIS_TOML: &str = r#"# Written by `cargo xtask test` (xtask/src/schemathesis.rs).
[dictionaries.flavors]
values = ["1", "2", "3", "4", "5"]

[dictionaries.images]
values = ["840dd654-a43f-8980-b114-836ff26c51fa"]

[parameters]
"body.server.flavorRef" = { dictionary = "flavors", probability = 0.9 }
"body.server.imageRef" = { dictionary = "images", probability = 0.9 }
"body.resize.flavorRef" = { dictionary = "flavors", probability = 0.9 }
"body.rebuild.imageRef" = { dictionary = "images", probability = 0.9 }
"#;

pub(crate) fn run(root: &Path) -> Result<(), String> {
    let st = install(root)?;
    crate::cargo(root, &["build", "--package", "nova-server"])?;
    let binary = root.join("target/debug/nova-server");
    // Every run, whatever the others find: each report is worth reading.
    let seed = timed("the instance API", || run_seed(root, &st, &binary));
    let compute = timed("the compute API", || run_compute(root, &st, &binary));
    let control = timed("the control API", || run_control(root, &st, &binary));
    let failures: Vec<String> = [seed, compute, control]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

fn timed(what: &str, run: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let start = Instant::now();
    let result = run();
    println!(
        "xtask: schemathesis against {what} took {} s",
        start.elapsed().as_secs()
    );
    result
}

/// The seed's instance API with the built-in configuration.
fn run_seed(root: &Path, st: &Path, binary: &Path) -> Result<(), String> {
    // The default store, SQLite, on a fresh file: what a user runs.
    let database = root.join("target/xtask/schemathesis.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    let store = format!("sqlite:{}", database.display());
    let server = LiveServer::start(binary, None, &store)?;
    // The document as the server serves it, at the path a user finds it.
    let document = format!("{}/openapi.json", server.url);
    println!("xtask: schemathesis against {}", server.url);
    let status = Command::new(st)
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
        status => Err(format!(
            "schemathesis found problems in the instance API ({status})"
        )),
    }
}

/// The compute API as the shipped `api-paste.ini` serves it, with
/// [`COMPUTE_SETTINGS`], its servers in memory.
fn run_compute(root: &Path, st: &Path, binary: &Path) -> Result<(), String> {
    let shipped = root.join("etc/nova-rs/api-paste.ini");
    let text = std::fs::read_to_string(&shipped)
        .map_err(|error| format!("cannot read {}: {error}", shipped.display()))?;
    let text = with_settings(&text, COMPUTE_SECTION, COMPUTE_SETTINGS)
        .map_err(|error| format!("{}: {error}", shipped.display()))?;
    let config = root.join("target/xtask/schemathesis-compute.ini");
    let settings = root.join("target/xtask/schemathesis-compute.toml");
    for (path, text) in [
        (&config, text.as_str()),
        (&settings, COMPUTE_SCHEMATHESIS_TOML),
    ] {
        std::fs::write(path, text)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    let server = LiveServer::start(binary, Some(&config), "memory:")?;
    let document = format!("{}/openapi.json", server.url);
    let api = format!("{}/v2.1", server.url);
    println!("xtask: schemathesis against {api}");
    let status = Command::new(st)
        .arg("--config-file")
        .arg(&settings)
        .arg("run")
        .arg(&document)
        .args(["--url", &api])
        .args(["--checks", COMPUTE_CHECKS])
        .args(["--header", "X-Auth-Token: open-sesame"])
        // The newest microversion, the one the document describes.
        .args(["--header", "OpenStack-API-Version: compute latest"])
        .args(["--max-examples", COMPUTE_MAX_EXAMPLES])
        .args(["--max-time", COMPUTE_SECONDS])
        .args(["--request-timeout", "10"])
        .arg("--no-color")
        .current_dir(root)
        .status()
        .map_err(|error| format!("cannot run schemathesis: {error}"));
    server.stop();
    match status? {
        status if status.success() => Ok(()),
        status => Err(format!(
            "schemathesis found problems in the compute API ({status})"
        )),
    }
}

/// The control API as the shipped `api-paste.ini` serves it, on a
/// controlled clock, its store in memory.
fn run_control(root: &Path, st: &Path, binary: &Path) -> Result<(), String> {
    let shipped = root.join("etc/nova-rs/api-paste.ini");
    let text = std::fs::read_to_string(&shipped)
        .map_err(|error| format!("cannot read {}: {error}", shipped.display()))?;
    let text = with_settings(&text, CONTROL_SECTION, &[("clock", "controlled")])
        .map_err(|error| format!("{}: {error}", shipped.display()))?;
    let config = root.join("target/xtask/schemathesis-control.ini");
    std::fs::write(&config, text)
        .map_err(|error| format!("cannot write {}: {error}", config.display()))?;
    let server = LiveServer::start(binary, Some(&config), "memory:")?;
    let document = format!("{}/control/openapi.json", server.url);
    let api = format!("{}/control", server.url);
    println!("xtask: schemathesis against {api}");
    let status = Command::new(st)
        .arg("run")
        .arg(&document)
        .args(["--url", &api])
        .args(["--checks", COMPUTE_CHECKS])
        .args(["--header", "X-Auth-Token: open-sesame"])
        .args(["--max-examples", CONTROL_MAX_EXAMPLES])
        .args(["--request-timeout", "10"])
        .arg("--no-color")
        .current_dir(root)
        .status()
        .map_err(|error| format!("cannot run schemathesis: {error}"));
    server.stop();
    match status? {
        status if status.success() => Ok(()),
        status => Err(format!(
            "schemathesis found problems in the control API ({status})"
        )),
    }
}

/// `text`, an INI file, with each of `settings` set in `section`: a key
/// the section has is replaced where it stands, any other is added at the
/// section's top. A missing section is an error, so renaming it in the
/// shipped file cannot silently drop the settings.
fn with_settings(text: &str, section: &str, settings: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut current = "";
    let mut found = false;
    let mut pending: Vec<&(&str, &str)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = trimmed;
            if current == section {
                found = true;
                out.push_str(line);
                out.push('\n');
                // Keys the section lacks go first; the rest replace theirs.
                pending = settings.iter().collect();
                let has = |key: &str| section_keys(text, section).any(|existing| existing == key);
                for (key, value) in settings.iter().filter(|(key, _)| !has(key)) {
                    out.push_str(&format!("{key} = {value}\n"));
                }
                continue;
            }
        } else if current == section {
            if let Some((key, _)) = trimmed.split_once('=') {
                if let Some((key, value)) = pending.iter().find(|(k, _)| *k == key.trim()) {
                    out.push_str(&format!("{key} = {value}\n"));
                    continue;
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if found {
        Ok(out)
    } else {
        Err(format!("no section {section}"))
    }
}

/// The keys set in `section` of `text`.
fn section_keys<'a>(text: &'a str, section: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let mut current = "";
    text.lines().filter_map(move |line| {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = trimmed;
            return None;
        }
        if current != section || trimmed.starts_with('#') || trimmed.starts_with(';') {
            return None;
        }
        trimmed.split_once('=').map(|(key, _)| key.trim())
    })
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
    /// The server with `config` (the built-in configuration if `None`)
    /// and `store`.
    fn start(binary: &Path, config: Option<&Path>, store: &str) -> Result<Self, String> {
        let mut command = Command::new(binary);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_replace_a_sections_keys_and_add_the_missing_ones() {
        let text =
            "[app:a]\nbuild_seconds = 1\n# build_seconds = 9\n\n[app:b]\nbuild_seconds = 1\n";
        let changed = with_settings(
            text,
            "[app:a]",
            &[("build_seconds", "0"), ("max_limit", "20")],
        )
        .unwrap();
        assert_eq!(
            changed,
            "[app:a]\nmax_limit = 20\nbuild_seconds = 0\n# build_seconds = 9\n\n[app:b]\nbuild_seconds = 1\n"
        );
        assert_eq!(
            with_settings(text, "[app:c]", &[]),
            Err("no section [app:c]".to_owned())
        );
    }

    #[test]
    fn the_shipped_file_has_the_control_section() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join("etc/nova-rs/api-paste.ini")).unwrap();
        let changed = with_settings(&text, CONTROL_SECTION, &[("clock", "controlled")]).unwrap();
        let clocks: Vec<&str> = section_keys(&changed, CONTROL_SECTION)
            .filter(|key| *key == "clock")
            .collect();
        assert_eq!(clocks, ["clock"]);
        assert!(changed.contains("clock = controlled"));
    }

    #[test]
    fn the_shipped_file_has_the_compute_section() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join("etc/nova-rs/api-paste.ini")).unwrap();
        let changed = with_settings(&text, COMPUTE_SECTION, COMPUTE_SETTINGS).unwrap();
        let keys: Vec<&str> = section_keys(&changed, COMPUTE_SECTION).collect();
        for (key, _) in COMPUTE_SETTINGS {
            assert_eq!(keys.iter().filter(|k| *k == key).count(), 1, "{key}");
        }
    }
}
