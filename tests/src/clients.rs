//! The real OpenStack clients (python-openstackclient, openstacksdk), pinned,
//! in the virtual environment that `NOVA_TEST_OPENSTACK_VENV` names
//! (`cargo xtask test` installs it and sets the variable).
//!
//! Without the variable the client tests say so and pass locally; when
//! `CI=true` they fail instead, so CI can never skip them silently.
//!
//! [`Clients`] is what a user of the clients has: a `clouds.yaml` naming
//! a nova-server (the README's, [`clouds_yaml`]), or an openrc for one
//! user of its identity service ([`Clients::openrc`]), and the `openstack`
//! CLI and Python to run against it, every command bounded in time so that
//! a `--wait` for a state the server never reaches fails the test instead
//! of hanging it.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{api_paste_with, repo_file};

/// The variable naming the clients' virtual environment.
pub const VENV_VARIABLE: &str = "NOVA_TEST_OPENSTACK_VENV";

/// The name of the cloud in [`clouds_yaml`], what `OS_CLOUD` names.
pub const CLOUD: &str = "nova-rs";

/// Every user's password in the shipped `api-paste.ini`'s identity
/// service.
pub const PASSWORD: &str = "open-sesame";

/// The longest one client command may take. `--wait` polls every 5
/// seconds; a command that takes longer than this is waiting for
/// something the server will not do.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(90);

/// The clients' virtual environment; `None` (after saying so) when the
/// variable is not set on a developer's machine. Panics when it is not set
/// in CI.
#[allow(clippy::print_stderr)] // the test output is where a skipped run is reported
pub fn venv() -> Option<PathBuf> {
    match std::env::var(VENV_VARIABLE) {
        Ok(venv) if !venv.is_empty() => Some(PathBuf::from(venv)),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{VENV_VARIABLE} is not set, and CI=true: the client tests must run in CI")
        }
        _ => {
            eprintln!("{VENV_VARIABLE} is not set: client test not run (cargo xtask test runs it)");
            None
        }
    }
}

/// The environment's Python, which can `import openstack`; `None` as for
/// [`venv`].
pub fn python() -> Option<PathBuf> {
    venv().map(|venv| venv.join("bin/python"))
}

/// The README's shared-token `clouds.yaml` for a nova-server at `addr`
/// serving the shipped `api-paste.ini`, its identity service unused:
///
/// - `admin_token` sends the token as `X-Auth-Token` to whatever endpoint
///   a service resolves to, with no catalog to look it up in;
/// - `compute_endpoint_override` and `image_endpoint_override` name the
///   compute API and the image service (openstacksdk reads each one's
///   version document there);
/// - `identity_api_version: 3` with an `identity_endpoint_override` (the
///   identity service's v3): `openstack server list` insists
///   on an identity v3 proxy before it lists anything (it uses it only for
///   `--project` and `--user`), and without both keys the SDK discovers
///   the compute API's `v2.1` at the auth endpoint and builds a v2 proxy.
pub fn clouds_yaml(addr: SocketAddr) -> String {
    format!(
        "clouds:
  {CLOUD}:
    auth_type: admin_token
    auth:
      endpoint: http://{addr}/v2.1
      token: open-sesame
    compute_endpoint_override: http://{addr}/v2.1
    image_endpoint_override: http://{addr}/image
    identity_api_version: 3
    identity_endpoint_override: http://{addr}/identity/v3
"
    )
}

/// The keys of the compute app that the client scenarios change in the
/// shipped `api-paste.ini`: builds, reboots and resizes of a fifth of a
/// second (long enough that a client sees `BUILD` first, short enough
/// that `--wait`'s first 5-second poll finds them done), and no quota,
/// so a scenario can create 120 servers at once.
pub const QUICK_CLOUD: &[(&str, &str)] = &[
    ("build_seconds", "0.2"),
    ("reboot_seconds", "0.2"),
    ("resize_seconds", "0.2"),
    ("rebuild_seconds", "0.2"),
    ("delete_seconds", "0"),
    ("action_seconds", "0"),
    ("quota_instances", "-1"),
    ("quota_cores", "-1"),
    ("quota_ram", "-1"),
];

/// Writes the shipped `etc/nova-rs/api-paste.ini` into `dir` with the
/// compute app's keys set to [`QUICK_CLOUD`]'s values, and returns its
/// path. Everything else (the pipelines, the token filter, the image
/// service) is the shipped file's.
pub fn quick_cloud_config(dir: &Path) -> PathBuf {
    api_paste_with(dir, QUICK_CLOUD)
}

/// The clients, configured for one nova-server: a private directory, the
/// commands' working directory, and every command run with the clients'
/// `OS_*` variables, no other `OS_*` variable of the caller's, and
/// [`COMMAND_LIMIT`].
///
/// Its commands block: call them from `tokio::task::spawn_blocking` when
/// the server runs on the same runtime.
#[derive(Debug)]
pub struct Clients {
    venv: PathBuf,
    dir: tempfile::TempDir,
    /// The `OS_*` variables every command is run with.
    environment: Vec<(&'static str, String)>,
}

impl Clients {
    /// The clients of `venv`, configured for the nova-server at `addr` by
    /// the README's `clouds.yaml`: `OS_CLIENT_CONFIG_FILE` names it and
    /// `OS_CLOUD` is [`CLOUD`].
    pub fn new(venv: PathBuf, addr: SocketAddr) -> Self {
        let dir = private_dir(&clouds_yaml(addr));
        let config = dir.path().join("clouds.yaml").display().to_string();
        let environment = vec![
            ("OS_CLIENT_CONFIG_FILE", config),
            ("OS_CLOUD", CLOUD.to_owned()),
        ];
        Clients {
            venv,
            dir,
            environment,
        }
    }

    /// The clients of `venv` as `user` of project `project`, both in the
    /// domain `Default`, with `password`, authenticating with the identity
    /// service of the nova-server at `addr` (`/identity`, where the shipped
    /// `api-paste.ini` mounts it) and finding the services in its catalog:
    /// the variables of a devstack openrc. `OS_CLIENT_CONFIG_FILE` names an
    /// empty `clouds.yaml`, so that a developer's own clouds play no part.
    pub fn openrc(
        venv: PathBuf,
        addr: SocketAddr,
        user: &str,
        project: &str,
        password: &str,
    ) -> Self {
        let dir = private_dir("clouds: {}\n");
        let config = dir.path().join("clouds.yaml").display().to_string();
        let environment = vec![
            ("OS_CLIENT_CONFIG_FILE", config),
            ("OS_AUTH_URL", format!("http://{addr}/identity/v3")),
            ("OS_USERNAME", user.to_owned()),
            ("OS_PASSWORD", password.to_owned()),
            ("OS_PROJECT_NAME", project.to_owned()),
            ("OS_USER_DOMAIN_NAME", "Default".to_owned()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".to_owned()),
            ("OS_IDENTITY_API_VERSION", "3".to_owned()),
            ("OS_REGION_NAME", "RegionOne".to_owned()),
        ];
        Clients {
            venv,
            dir,
            environment,
        }
    }

    /// The private directory, the commands' working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A command of the virtual environment (`openstack`, `python`) with
    /// the clients' environment.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.venv.join("bin").join(program));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("OS_") {
                command.env_remove(name);
            }
        }
        command.envs(
            self.environment
                .iter()
                .map(|(name, value)| (*name, value.as_str())),
        );
        command.current_dir(self.dir());
        command
    }

    /// Runs `openstack ARGS`, and returns what it printed; panics, with
    /// the command and everything it printed, unless it exits 0 within
    /// [`COMMAND_LIMIT`].
    pub fn openstack(&self, args: &[&str]) -> String {
        let mut command = self.command("openstack");
        command.args(args);
        succeeded(
            &format!("openstack {}", args.join(" ")),
            run_bounded(command),
        )
    }

    /// Runs `openstack ARGS` (which should include `-f json`), and returns
    /// what it printed, parsed.
    pub fn openstack_json(&self, args: &[&str]) -> serde_json::Value {
        let stdout = self.openstack(args);
        serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!(
                "openstack {} printed no JSON ({error}):\n{stdout}",
                args.join(" ")
            )
        })
    }

    /// Runs `openstack ARGS`, which should fail, and returns what it
    /// printed to standard error; panics, with the command and everything
    /// it printed, if it exits 0 (or does not finish within
    /// [`COMMAND_LIMIT`]).
    pub fn openstack_fails(&self, args: &[&str]) -> String {
        let mut command = self.command("openstack");
        command.args(args);
        let output = run_bounded(command);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            !output.status.success(),
            "openstack {} succeeded\n--- stdout\n{}\n--- stderr\n{stderr}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout)
        );
        stderr
    }

    /// Runs the Python script `script` (a path from the repository's root)
    /// with `args`, and returns the one JSON document it printed.
    pub fn python_json(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let mut command = self.command("python");
        command.arg(repo_file(script)).args(args);
        let stdout = succeeded(
            &format!("{script} {}", args.join(" ")),
            run_bounded(command),
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|error| panic!("{script} printed no JSON ({error}):\n{stdout}"))
    }
}

/// A new private directory holding `clouds.yaml` with `config`.
fn private_dir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("temporary dir: {error}"));
    let path = dir.path().join("clouds.yaml");
    std::fs::write(&path, config)
        .unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
    dir
}

/// The standard output of a command that exited 0; panics otherwise.
fn succeeded(what: &str, output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what}: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// Runs `command` to its end, or kills it after [`COMMAND_LIMIT`] and
/// panics with what it had printed.
pub fn run_bounded(mut command: Command) -> Output {
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("start {what}: {error}"));
    // Read both pipes as the command writes, so that a full pipe never
    // stops it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => break None,
            Err(error) => panic!("wait for {what}: {error}"),
        }
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        panic!(
            "{what} did not finish within {COMMAND_LIMIT:?}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}
