//! How each workload's server is started: the program, its arguments and
//! environment, the compute API's configuration or the captured answers
//! where the row speaks that API, and a fresh SQLite file where the row
//! asks for one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::compute::{answers_dir, config_path};
use super::config::SuiteConfig;
use super::workloads::{Api, Store, Workload};
use crate::process::Launch;
use crate::BenchError;

/// The token every server in the suite accepts: nova-server's default.
pub(super) const TOKEN: &str = "open-sesame";

/// Whether this nova-server build takes `--store`; without it the SQLite
/// rows cannot run.
pub(super) fn supports_store_flag(server: &Path) -> bool {
    Command::new(server)
        .arg("--help")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("--store"))
        .unwrap_or(false)
}

/// How to start the server for `workload`, the `index`-th of the run (the
/// index names its SQLite file).
pub(super) fn launch_for(
    config: &SuiteConfig,
    workload: &Workload,
    has_store_flag: bool,
    index: usize,
) -> Result<Launch, BenchError> {
    let mut launch = match workload.store {
        Store::Baseline => {
            let mut args: Vec<String> =
                vec!["baseline".into(), "--listen".into(), "127.0.0.1:0".into()];
            if workload.api == Api::Compute {
                args.push("--answers".into());
                args.push(answers_dir(config).display().to_string());
            }
            Launch {
                program: config.baseline.clone(),
                args,
                env: Vec::new(),
                cpus: config.server_cpus.clone(),
            }
        }
        Store::Memory | Store::Sqlite => {
            let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
            if workload.api == Api::Compute {
                args.push("--config".into());
                args.push(config_path(config).display().to_string());
            }
            if has_store_flag {
                let store = if workload.store == Store::Sqlite {
                    sqlite_store(config, index)?
                } else {
                    "memory:".to_owned()
                };
                args.extend(["--store".to_owned(), store]);
            }
            Launch {
                program: config.server.clone(),
                args,
                env: vec![
                    (
                        "RUST_LOG".into(),
                        workload.rust_log.unwrap_or("info").into(),
                    ),
                    ("NOVA_AUTH_TOKENS".into(), TOKEN.into()),
                ],
                cpus: config.server_cpus.clone(),
            }
        }
    };
    launch.env.push(("NO_COLOR".into(), "1".into()));
    Ok(launch)
}

/// A fresh SQLite file for one workload.
fn sqlite_store(config: &SuiteConfig, index: usize) -> Result<String, BenchError> {
    let path = config.work_dir.join(format!("workload-{index}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            fs::remove_file(&file)
                .map_err(|e| BenchError::io(format!("removing {}", file.display()), e))?;
        }
    }
    Ok(format!("sqlite:{}", path.display()))
}
