//! The compute API's workloads: the configuration their servers get (the
//! shipped `etc/nova-rs/api-paste.ini`, changed only where a benchmark
//! must), the token a row sends (the shared one, or one its identity
//! service issues), seeding servers through the API, and capturing
//! nova-server's answers for the baseline to send back.

use std::fs;
use std::path::PathBuf;

use super::config::SuiteConfig;
use super::launch::{launch_for, TOKEN};
use super::workloads::{Api, Credential, Store, Workload, KEYSTONE_SERVER_SHOW, SERVERS};
use crate::baseline::CapturedAnswers;
use crate::load::{self, Ids, Mix, Op, Target};
use crate::process::ServerProcess;
use crate::BenchError;

/// The configuration nova-rs ships, read when the bench is built.
const SHIPPED_API_PASTE: &str = include_str!("../../../etc/nova-rs/api-paste.ini");

/// The section of the compute API's application in that file.
const COMPUTE_APP_SECTION: &str = "app:osapi_compute_app_v21";

/// The password of the shipped configuration's users: its default, which
/// the file leaves unchanged.
const PASSWORD: &str = "open-sesame";

/// What the bench changes in that section, and why:
/// - `build_seconds = 0`: a new server is `ACTIVE` at once, so the servers
///   shown and listed are the ones a cloud mostly serves;
/// - quotas of ten million instances and cores and ten billion MiB: Nova's
///   defaults (10 instances) would refuse the seeding and `server-create`
///   after a few requests. They stay finite, so every create still counts
///   the project's usage as a real deployment's does.
const BENCH_KEYS: [(&str, &str); 4] = [
    ("build_seconds", "0"),
    ("quota_instances", "10000000"),
    ("quota_cores", "10000000"),
    ("quota_ram", "10000000000"),
];

/// How the compute rows are set up, for the report's preamble.
fn describe(config: &SuiteConfig) -> String {
    let keys: Vec<String> = BENCH_KEYS
        .iter()
        .map(|(key, value)| format!("`{key} = {value}`"))
        .collect();
    format!(
        "compute API rows (`server-…`, `servers-…`): nova-server --config {}, the shipped etc/nova-rs/api-paste.ini with {} in [{COMPUTE_APP_SECTION}]; token `{TOKEN}` (the shared static token: let through without validation, as the admin of a default project), `OpenStack-API-Version: {}` (what openstacksdk sends for servers); {} servers seeded through `POST /v2.1/servers` with `min_count` = `max_count` = {} (flavor 1, cirros, the default network) before `server-show` and `servers-detail-N`; `{KEYSTONE_SERVER_SHOW}` is `server-show` with, for the seeding and every request, a Fernet token the server's identity service issued once it started (`POST /identity/v3/auth/tokens`, password, user admin scoped to project admin), which the token filter validates on each request (decryption, expiry, a revocation lookup in the store), so its servers are admin's project's and, an admin, it is shown the same fields as the shared token; `server-create` posts `{{\"server\": {{\"name\": \"b\", \"flavorRef\": \"1\", \"imageRef\": <cirros>, \"networks\": \"none\"}}}}`; `servers-detail-N` rows and their baselines use at most 8 connections; their baseline rows answer the bodies nova-server gave the same requests earlier in this run (memory store, same seeding)",
        config_path(config).display(),
        keys.join(", "),
        load::COMPUTE_VERSION,
        SERVERS,
        load::SERVER_BATCH,
    )
}

/// Gets the compute API's rows among `selected` ready to run: writes
/// their configuration and captures the answers their baselines send.
/// Returns the preamble's line on them, if any is selected.
pub(super) fn prepare(
    config: &SuiteConfig,
    selected: &[Workload],
) -> Result<Option<String>, BenchError> {
    if !selected.iter().any(|w| w.api == Api::Compute) {
        return Ok(None);
    }
    write_config(config)?;
    // Each operation once, in the table's order: `server-create` last, so
    // the listings captured before it hold the seeded servers only.
    let mut ops = Vec::new();
    for workload in selected {
        if let (Api::Compute, Store::Baseline, Some(op)) =
            (workload.api, workload.store, workload.mix.only_op())
        {
            if !ops.contains(&op) {
                ops.push(op);
            }
        }
    }
    if !ops.is_empty() {
        eprintln!("bench: capturing nova-server's compute API answers for the baseline");
        capture_answers(config, &ops)?;
    }
    Ok(Some(describe(config)))
}

/// Where the compute rows' configuration is written.
pub(super) fn config_path(config: &SuiteConfig) -> PathBuf {
    config.work_dir.join("compute-api-paste.ini")
}

/// Where the answers captured for the baseline are written.
pub(super) fn answers_dir(config: &SuiteConfig) -> PathBuf {
    config.work_dir.join("compute-answers")
}

/// Writes the compute rows' configuration to [`config_path`].
fn write_config(config: &SuiteConfig) -> Result<PathBuf, BenchError> {
    let text = with_keys(SHIPPED_API_PASTE, COMPUTE_APP_SECTION, &BENCH_KEYS)?;
    let path = config_path(config);
    fs::write(&path, text).map_err(|e| BenchError::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

/// `ini` with each of `keys` set in `[section]`: a line that sets the key
/// there is replaced, a key the section does not set is added after its
/// header. Everything else is left as it is, comments included.
fn with_keys(ini: &str, section: &str, keys: &[(&str, &str)]) -> Result<String, BenchError> {
    let header = format!("[{section}]");
    let mut out = Vec::new();
    let mut inside = false;
    let mut found = false;
    for line in ini.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            inside = trimmed == header;
            if inside {
                found = true;
                out.push(line.to_owned());
                // Added first; a line below that sets one of them is then
                // replaced instead, so each key is set exactly once.
                for (key, value) in keys {
                    out.push(format!("{key} = {value}"));
                }
                continue;
            }
        }
        let sets = |key: &str| {
            trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(['=', ':']))
        };
        if inside && keys.iter().any(|(key, _)| sets(key)) {
            continue;
        }
        out.push(line.to_owned());
    }
    if !found {
        return Err(BenchError::Usage(format!(
            "the shipped api-paste.ini has no [{section}] section to configure"
        )));
    }
    let mut text = out.join("\n");
    text.push('\n');
    Ok(text)
}

/// `target` sending the token `credential` names: for a Keystone user, one
/// the server's identity service issues now (a server with the memory
/// store makes its Fernet key when it starts, so a token is good for that
/// server only).
pub(super) async fn authenticate(
    target: Target,
    credential: Credential,
) -> Result<Target, BenchError> {
    match credential {
        Credential::SharedToken => target.with_token(TOKEN),
        Credential::Keystone(user) => {
            let token = target.issue_token(user, PASSWORD).await?;
            target.with_token(&token)
        }
    }
}

/// The cloud's image, the target that boots it, and `servers` servers
/// seeded on it; returns their paths.
pub(super) async fn seed(target: Target, servers: u64) -> Result<(Target, Ids), BenchError> {
    let image = target.image_id().await?;
    let target = target.with_image(&image);
    if servers == 0 {
        return Ok((target, Ids::default()));
    }
    target.seed_servers(servers).await?;
    let ids = target.server_paths().await?;
    if (ids.len() as u64) < servers {
        return Err(BenchError::Populate(format!(
            "seeded {servers} servers but the listing shows {}",
            ids.len()
        )));
    }
    Ok((target, ids))
}

/// Starts a memory-store compute server (this build takes `--store`),
/// seeds it as the compute rows' servers are, and keeps its answer to each compute workload's request
/// in [`answers_dir`] for the baseline rows.
fn capture_answers(config: &SuiteConfig, ops: &[Op]) -> Result<(), BenchError> {
    let workload = Workload {
        name: "capture",
        api: Api::Compute,
        store: Store::Memory,
        credential: Credential::SharedToken,
        instances: SERVERS,
        mix: Mix::only(Op::ServerShow),
        rust_log: None,
        compared_with: "baseline",
        max_connections: None,
    };
    let launch = launch_for(config, &workload, true, 97)?;
    let server = ServerProcess::start(&launch, &config.work_dir.join("capture.log"))?;
    let target = Target::new(server.addr(), TOKEN)?;
    let captured = load::block_on(async {
        let (target, ids) = seed(target, SERVERS).await?;
        let mut captured = CapturedAnswers::default();
        for op in ops {
            captured.insert(*op, target.answer_body(*op, &ids).await?);
        }
        Ok::<_, BenchError>(captured)
    })??;
    server.stop()?;
    let dir = answers_dir(config);
    if dir.exists() {
        fs::remove_dir_all(&dir)
            .map_err(|e| BenchError::io(format!("removing {}", dir.display()), e))?;
    }
    captured.write_to(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_changes_only_its_keys_in_the_compute_apps_section() {
        let text = with_keys(SHIPPED_API_PASTE, COMPUTE_APP_SECTION, &BENCH_KEYS).unwrap();
        let section = |text: &str| -> Vec<String> {
            let start = text.find(&format!("[{COMPUTE_APP_SECTION}]")).unwrap();
            let rest = &text[start..];
            let end = rest[1..].find("\n[").map_or(rest.len(), |at| at + 1);
            rest[..end].lines().map(str::to_owned).collect()
        };
        let changed = section(&text);
        for (key, value) in BENCH_KEYS {
            let lines: Vec<&String> = changed
                .iter()
                .filter(|line| line.starts_with(&format!("{key} ")))
                .collect();
            assert_eq!(lines, [&format!("{key} = {value}")], "{key}");
        }
        // Every other line of the file is the shipped one, in order.
        let bench_line = |line: &str| BENCH_KEYS.iter().any(|(k, _)| line.starts_with(k));
        let kept: Vec<&str> = text.lines().filter(|l| !bench_line(l)).collect();
        let shipped: Vec<&str> = SHIPPED_API_PASTE
            .lines()
            .filter(|l| !bench_line(l))
            .collect();
        assert_eq!(kept, shipped);
    }

    #[test]
    fn a_file_without_the_section_is_refused() {
        let error = with_keys("[app:other]\nkey = 1\n", "app:x", &BENCH_KEYS).unwrap_err();
        assert!(error.to_string().contains("[app:x]"), "{error}");
    }

    #[test]
    fn keys_set_with_a_colon_or_no_spaces_are_replaced_too() {
        let text = with_keys(
            "[a]\nbuild_seconds:5\nquota_cores=1\nother = 2\n[b]\nbuild_seconds = 9\n",
            "a",
            &BENCH_KEYS[..2],
        )
        .unwrap();
        assert_eq!(
            text,
            "[a]\nbuild_seconds = 0\nquota_instances = 10000000\nquota_cores=1\nother = 2\n[b]\nbuild_seconds = 9\n"
        );
    }
}
