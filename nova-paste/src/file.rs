//! One parsed paste.deploy file: its sections, the values paste.deploy adds
//! to its `[DEFAULT]` (`here`, `__file__`), and a section's settings as a
//! factory gets them, interpolated and split into global and local keys.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::factory::{Global, Local};
use crate::ini::{Entry, Ini, Scope, Section, DEFAULT_SECTION};
use crate::{ConfigError, ConfigErrorKind, Origin, Setting};

/// One parsed file and the values paste.deploy adds to its `[DEFAULT]`.
#[derive(Debug)]
pub(crate) struct File {
    /// The name errors give it.
    pub(crate) name: Arc<str>,
    /// Its folder, which `%(here)s` and relative `config:` references use.
    pub(crate) here: PathBuf,
    pub(crate) ini: Ini,
    builtins: BTreeMap<String, String>,
}

/// Why [`File::read`] failed.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The file could not be read.
    Io(io::Error),
    /// It is not valid INI; the error points into it.
    Syntax(ConfigError),
}

impl File {
    /// Parses `text` as the file called `name`, at `path_for_file`
    /// (`__file__`) in the folder `here`.
    pub(crate) fn parse(
        name: Arc<str>,
        path_for_file: &Path,
        here: &Path,
        text: &str,
    ) -> Result<File, ConfigError> {
        let ini = Ini::parse(text).map_err(|error| {
            ConfigError::new(
                &*name,
                Some(error.line),
                error.section,
                ConfigErrorKind::Syntax(error.message),
            )
        })?;
        let builtins = BTreeMap::from([
            ("here".to_owned(), here.display().to_string()),
            ("__file__".to_owned(), path_for_file.display().to_string()),
        ]);
        Ok(File {
            name,
            here: here.to_path_buf(),
            ini,
            builtins,
        })
    }

    /// Reads and parses the file at `path`, naming it `shown_as` in errors.
    pub(crate) fn read(path: &Path, shown_as: &str) -> Result<File, ReadFailure> {
        let text = std::fs::read_to_string(path).map_err(ReadFailure::Io)?;
        // `here` must not depend on the working directory at the time a
        // factory reads it, so it is absolute whenever that can be known.
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let here = absolute
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        File::parse(Arc::from(shown_as), &absolute, &here, &text).map_err(ReadFailure::Syntax)
    }

    /// The place `line` of `section` in this file.
    pub(crate) fn origin(&self, section: &str, line: usize) -> Origin {
        Origin {
            file: self.name.clone(),
            section: section.to_owned(),
            line,
        }
    }

    /// A section's global configuration (the file's `[DEFAULT]`, what was
    /// `inherited`, its own `set` keys) and its local keys (with `get` keys
    /// resolved), interpolated.
    pub(crate) fn settings(
        &self,
        section: &Section,
        inherited: &Global,
    ) -> Result<(Global, Local), ConfigError> {
        let mut global = self.defaults()?;
        global.extend(inherited.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut local = Vec::new();
        let mut gets = Vec::new();
        for (key, setting) in self.interpolated(section)? {
            if let Some(name) = key.strip_prefix("set ") {
                global.insert(name.trim().to_owned(), setting);
            } else if let Some(name) = key.strip_prefix("get ") {
                gets.push((name.trim().to_owned(), setting));
            } else if self.is_default_key(&key) {
                // paste.deploy would silently pass the [DEFAULT] value
                // instead of this one: refuse rather than mislead.
                return Err(setting
                    .origin
                    .error(ConfigErrorKind::ShadowedByDefault { key }));
            } else {
                local.push((key, setting));
            }
        }
        for (name, setting) in gets {
            let Some(value) = global.get(&setting.value) else {
                return Err(setting.origin.error(ConfigErrorKind::MissingGlobal {
                    key: name,
                    global: setting.value,
                }));
            };
            let value = value.value.clone();
            local.push((
                name,
                Setting {
                    value,
                    origin: setting.origin,
                },
            ));
        }
        Ok((global, local))
    }

    /// `[DEFAULT]` with `here` and `__file__`, interpolated.
    fn defaults(&self) -> Result<Global, ConfigError> {
        let mut global: Global = self
            .builtins
            .iter()
            .map(|(key, value)| {
                let setting = Setting {
                    value: value.clone(),
                    origin: self.origin(DEFAULT_SECTION, 0),
                };
                (key.clone(), setting)
            })
            .collect();
        let scope = Scope::new(&self.builtins, &self.ini.defaults, None);
        for entry in &self.ini.defaults {
            let origin = self.origin(DEFAULT_SECTION, entry.line);
            let value = scope
                .interpolate(&entry.key, &entry.value)
                .map_err(|error| origin.error(error.into()))?;
            global.insert(entry.key.clone(), Setting { value, origin });
        }
        Ok(global)
    }

    /// A section's entries, interpolated, in file order.
    fn interpolated(&self, section: &Section) -> Result<Local, ConfigError> {
        let scope = Scope::new(&self.builtins, &self.ini.defaults, Some(section));
        section
            .entries
            .iter()
            .map(|Entry { key, value, line }| {
                let origin = self.origin(&section.name, *line);
                let value = scope
                    .interpolate(key, value)
                    .map_err(|error| origin.error(error.into()))?;
                Ok((key.clone(), Setting { value, origin }))
            })
            .collect()
    }

    fn is_default_key(&self, key: &str) -> bool {
        self.builtins.contains_key(key) || self.ini.defaults.iter().any(|e| e.key == key)
    }
}
