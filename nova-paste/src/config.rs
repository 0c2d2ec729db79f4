//! The loader's entry point: a parsed file, from which a program loads an
//! application by name (paste's `loadapp`) or reads a server section.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::build::Builder;
use crate::file::{File, ReadFailure};
use crate::kind::SectionKind;
use crate::plan::Planner;
use crate::{ConfigError, ConfigErrorKind, FactoryConfig, FactoryError, Registry};

/// A parsed paste.deploy file, ready to build applications from.
///
/// Parsing checks only the INI syntax; [`Config::load_app`] checks the rest
/// for the application it is asked for. See the [crate](crate) docs for an
/// example.
#[derive(Debug, Clone)]
pub struct Config {
    root: Arc<File>,
}

impl Config {
    /// Reads and parses the file at `path`. Errors name it as given.
    pub fn open(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let root = File::read(path, &shown).map_err(|failure| match failure {
            ReadFailure::Io(error) => ConfigError::new(
                shown.as_str(),
                None,
                None,
                ConfigErrorKind::Read {
                    path: path.to_path_buf(),
                    reference: None,
                    source: Arc::new(error),
                },
            ),
            ReadFailure::Syntax(error) => error,
        })?;
        Ok(Config {
            root: Arc::new(root),
        })
    }

    /// Parses `text` as if it were a file called `name` in the folder `here`
    /// (what `%(here)s` and relative `config:` references use).
    pub fn from_text(name: &str, here: &Path, text: &str) -> Result<Config, ConfigError> {
        let root = File::parse(Arc::from(name), &here.join(name), here, text)?;
        Ok(Config {
            root: Arc::new(root),
        })
    }

    /// The file's name, as given.
    pub fn name(&self) -> &str {
        &self.root.name
    }

    /// Builds the application `name` (paste's `loadapp('config:FILE', name)`):
    /// the `[app:NAME]`, `[pipeline:NAME]`, `[composite:NAME]` or
    /// `[filter-app:NAME]` section, with the factories of `registry`.
    ///
    /// Everything the application needs is resolved before the first
    /// factory is called; a failure anywhere is one [`ConfigError`], and
    /// nothing half-built is returned.
    pub fn load_app<S>(&self, registry: &Registry<S>, name: &str) -> Result<S, ConfigError> {
        let mut planner = Planner::new(registry);
        let at = self.root.origin("", 0);
        let plan = planner.resolve_app(&self.root, name, &BTreeMap::new(), &at)?;
        Builder::new(planner).build_app(&plan)
    }

    /// Reads `[server:NAME]` with `read`, which gets its keys (and
    /// `[DEFAULT]` as global configuration) and must read every key it
    /// accepts; `None` if the file has no such section.
    pub fn load_server<T>(
        &self,
        name: &str,
        read: impl FnOnce(&FactoryConfig) -> Result<T, FactoryError>,
    ) -> Result<Option<T>, ConfigError> {
        let file = &self.root;
        let Some(section) = file.ini.sections.iter().find(|section| {
            matches!(SectionKind::of_header(&section.name), Some((SectionKind::Server, n)) if n == name)
        }) else {
            return Ok(None);
        };
        let (global, local) = file.settings(section, &BTreeMap::new())?;
        let config = FactoryConfig::new(format!("server {name}"), global, local);
        let origin = file.origin(&section.name, section.line);
        let value = read(&config).map_err(|error| config.refused(&origin, error, None))?;
        config.check_all_read()?;
        Ok(Some(value))
    }
}
