//! From a paste.deploy file to what the server needs: the application plan
//! and `[server:main]`, read and checked once.

use std::path::PathBuf;

use nova_paste::{Config, ConfigError, Registry};

use crate::factories::{registry, Overrides};
use crate::server_section::{self, ServerSection};
use crate::AppPlan;

/// The built-in configuration, `etc/nova-rs/configure.ini`: the seed's file
/// and its address.
pub const BUILTIN_CONFIG: &str = include_str!("../../etc/nova-rs/configure.ini");

/// The name errors in the built-in configuration are reported under.
pub const BUILTIN_CONFIG_NAME: &str = "<built-in configure.ini>";

/// Which file to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// [`BUILTIN_CONFIG`].
    Builtin,
    /// A file on disk.
    File(PathBuf),
}

/// A file read and checked whole: the application to serve and the
/// server's own section.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The application, waiting for its stores.
    pub app: AppPlan,
    /// `[server:main]`, if the file has one (else all `None`).
    pub server: ServerSection,
}

/// Reads `source` and plans the application `name` with the
/// [`registry`](crate::registry)'s factories and `overrides`, and reads
/// `[server:main]`. Nothing is opened: a file either loads whole or is one
/// [`ConfigError`].
pub fn load(
    source: &ConfigSource,
    name: &str,
    overrides: &Overrides,
) -> Result<LoadedConfig, ConfigError> {
    load_with(source, name, &registry(overrides))
}

/// As [`load`], with any registry (for example [`registry`]'s with an
/// embedding program's own factories added).
pub fn load_with(
    source: &ConfigSource,
    name: &str,
    registry: &Registry<AppPlan>,
) -> Result<LoadedConfig, ConfigError> {
    let config = match source {
        ConfigSource::Builtin => {
            let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            Config::from_text(BUILTIN_CONFIG_NAME, &here, BUILTIN_CONFIG)?
        }
        ConfigSource::File(path) => Config::open(path)?,
    };
    let app = config.load_app(registry, name)?;
    let server = config
        .load_server("main", server_section::read)?
        .unwrap_or_default();
    Ok(LoadedConfig { app, server })
}
