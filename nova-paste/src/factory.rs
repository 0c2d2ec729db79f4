//! What a factory is: the three kinds paste.deploy knows (app, filter,
//! composite), the configuration each is called with, and the loader a
//! composite loads its parts through.
//!
//! Factories build values of a type `S` the embedding program chooses: an
//! HTTP service, a description of the pipeline, anything. The loader never
//! looks inside an `S`; it only hands the one a factory built to the filter
//! or composite that needs it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::kind::FactoryKind;
use crate::{ConfigError, ConfigErrorKind, FactoryError};

/// Builds an application from its configuration (`paste.app_factory`).
pub type AppFactory<S> = Arc<dyn Fn(&FactoryConfig) -> Result<S, FactoryError> + Send + Sync>;

/// Wraps an application in a filter (`paste.filter_factory`): called with the
/// filter's configuration and the application it wraps.
pub type FilterFactory<S> = Arc<dyn Fn(&FactoryConfig, S) -> Result<S, FactoryError> + Send + Sync>;

/// Builds an application out of other sections (`paste.composite_factory`),
/// loading them by name through the [`CompositeLoader`].
pub type CompositeFactory<S> = Arc<
    dyn Fn(&mut dyn CompositeLoader<S>, &FactoryConfig) -> Result<S, FactoryError> + Send + Sync,
>;

/// One registered factory.
pub enum Factory<S> {
    /// An application factory.
    App(AppFactory<S>),
    /// A filter factory.
    Filter(FilterFactory<S>),
    /// A composite factory.
    Composite(CompositeFactory<S>),
}

impl<S> Factory<S> {
    /// What the factory builds.
    pub fn kind(&self) -> FactoryKind {
        match self {
            Factory::App(_) => FactoryKind::App,
            Factory::Filter(_) => FactoryKind::Filter,
            Factory::Composite(_) => FactoryKind::Composite,
        }
    }
}

// By hand: a derive would ask `S: Clone`, which cloning the `Arc`s does not
// need.
impl<S> Clone for Factory<S> {
    fn clone(&self) -> Self {
        match self {
            Factory::App(factory) => Factory::App(factory.clone()),
            Factory::Filter(factory) => Factory::Filter(factory.clone()),
            Factory::Composite(factory) => Factory::Composite(factory.clone()),
        }
    }
}

impl<S> fmt::Debug for Factory<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Factory::{}", self.kind())
    }
}

/// What a composite factory loads its parts with: paste's `loader.get_app`.
///
/// The loader implements it while it builds a composite; a test of a
/// composite factory may implement it with a stand-in.
pub trait CompositeLoader<S> {
    /// Builds the application `name` (a section name or a `config:`,
    /// `egg:` or `call:` reference), written as the value of `key` in the
    /// composite's section, with the composite's global configuration.
    ///
    /// When it fails, the composite should return the error as it got it:
    /// the loader's [`FactoryError::PartFailed`] stands for an error that
    /// points at the part, which the loader reports instead.
    fn load_app(&mut self, key: &str, name: &str) -> Result<S, FactoryError>;
}

/// Where a setting was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: Arc<str>,
    /// The section, `DEFAULT` for `[DEFAULT]`; empty outside any section
    /// (the name a program asks the loader for).
    pub section: String,
    /// The line, from 1; 0 for values no line holds (`here`, `__file__`).
    pub line: usize,
}

impl Origin {
    /// `kind`, reported at this place.
    pub(crate) fn error(&self, kind: ConfigErrorKind) -> ConfigError {
        let section = (!self.section.is_empty()).then(|| self.section.clone());
        let line = (self.line > 0).then_some(self.line);
        ConfigError::new(&*self.file, line, section, kind)
    }
}

/// A value from the file, already interpolated, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value.
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

/// Global configuration: key to setting.
pub(crate) type Global = BTreeMap<String, Setting>;

/// A section's own keys, in file order.
pub(crate) type Local = Vec<(String, Setting)>;

/// What a factory is called with: paste's `global_conf` (`[DEFAULT]`, the
/// loader's `here` and `__file__`, and every `set KEY = VALUE` on the way
/// down) and `local_conf` (the section's own keys).
///
/// The typed getters read a key from the section and, as oslo's middleware
/// factories do, fall back to the global configuration. The loader checks
/// after the factory returns that every key of the section was read, so a
/// misspelt key is an error naming its line rather than a silently ignored
/// setting.
#[derive(Debug)]
pub struct FactoryConfig {
    factory: String,
    global: Global,
    local: Local,
    used: RefCell<BTreeSet<String>>,
}

impl FactoryConfig {
    /// A configuration for the factory named `factory` (used in messages).
    /// The loader builds these; tests of factories may too.
    pub fn new(
        factory: impl Into<String>,
        global: BTreeMap<String, Setting>,
        local: Vec<(String, Setting)>,
    ) -> Self {
        FactoryConfig {
            factory: factory.into(),
            global,
            local,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// A configuration from plain `(key, value)` pairs, all local, as if
    /// written in a file named `test.ini`: for testing factories.
    pub fn from_pairs<'a>(
        factory: &str,
        local: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let origin = |line| Origin {
            file: Arc::from("test.ini"),
            section: format!("test:{factory}"),
            line,
        };
        let local = local
            .into_iter()
            .enumerate()
            .map(|(index, (key, value))| {
                let setting = Setting {
                    value: value.to_owned(),
                    origin: origin(index + 2),
                };
                (key.to_owned(), setting)
            })
            .collect();
        Self::new(factory, BTreeMap::new(), local)
    }

    /// The name of the factory being called.
    pub fn factory(&self) -> &str {
        &self.factory
    }

    /// The section's own value of `key`, marking it read.
    pub fn local(&self, key: &str) -> Option<&str> {
        let found = self.local.iter().find(|(k, _)| k == key)?;
        self.used.borrow_mut().insert(key.to_owned());
        Some(&found.1.value)
    }

    /// `key` from the section, else from the global configuration.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.local(key)
            .or_else(|| self.global.get(key).map(|setting| setting.value.as_str()))
    }

    /// `key` parsed as a `T`; an unparsable value is a [`FactoryError`]
    /// naming the key.
    pub fn parse<T>(&self, key: &str) -> Result<Option<T>, FactoryError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(key) {
            None => Ok(None),
            Some(raw) => raw.trim().parse::<T>().map(Some).map_err(|error| {
                FactoryError::bad_value(key, format_args!("{raw:?} is not valid: {error}"))
            }),
        }
    }

    /// `key` as a boolean, spelt as `ConfigParser.getboolean` accepts it:
    /// `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, in any case.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, FactoryError> {
        let Some(raw) = self.get(key) else {
            return Ok(None);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Some(true)),
            "false" | "no" | "off" | "0" => Ok(Some(false)),
            _ => Err(FactoryError::bad_value(
                key,
                format_args!("{raw:?} is not a boolean (use true or false)"),
            )),
        }
    }

    /// `key` as a list separated by commas and/or white space, empty items
    /// dropped (`a, b` and `a b` are both `[a, b]`).
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|raw| {
            raw.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// Every key of the section with its value, in file order, marking all
    /// of them read: for factories whose keys are data, as a URL map's paths.
    pub fn local_entries(&self) -> Vec<(&str, &str)> {
        let mut used = self.used.borrow_mut();
        self.local
            .iter()
            .map(|(key, setting)| {
                used.insert(key.clone());
                (key.as_str(), setting.value.as_str())
            })
            .collect()
    }

    /// The global configuration, key to value.
    pub fn global(&self) -> BTreeMap<&str, &str> {
        self.global
            .iter()
            .map(|(key, setting)| (key.as_str(), setting.value.as_str()))
            .collect()
    }

    /// `error`, which the factory returned, as a [`ConfigError`]: a bad
    /// value at the line of its key (in the section, else in the global
    /// configuration), anything else at `section`, the section's header.
    /// `part` is the error a composite's part failed with, kept by the
    /// loader for [`FactoryError::PartFailed`].
    pub(crate) fn refused(
        &self,
        section: &Origin,
        error: FactoryError,
        part: Option<ConfigError>,
    ) -> ConfigError {
        match error {
            FactoryError::BadValue { key, message } => self
                .origin_of(&key)
                .unwrap_or(section)
                .error(ConfigErrorKind::BadValue { key, message }),
            FactoryError::Invalid(message) => section.error(ConfigErrorKind::Invalid(message)),
            // Without a kept error, a factory returned a `PartFailed` it
            // did not get from this loader: report it as it reads.
            FactoryError::PartFailed => part.unwrap_or_else(|| {
                section.error(ConfigErrorKind::Invalid(
                    FactoryError::PartFailed.to_string(),
                ))
            }),
        }
    }

    /// An error for the first key of the section no getter has read.
    pub(crate) fn check_all_read(&self) -> Result<(), ConfigError> {
        match self.unread_key() {
            Some((key, setting)) => Err(setting.origin.error(ConfigErrorKind::UnknownKey {
                key: key.clone(),
                factory: self.factory.clone(),
            })),
            None => Ok(()),
        }
    }

    /// The first key of the section no getter has read.
    fn unread_key(&self) -> Option<&(String, Setting)> {
        let used = self.used.borrow();
        self.local.iter().find(|(key, _)| !used.contains(key))
    }

    /// Where `key` was written: in the section, else in the global
    /// configuration.
    fn origin_of(&self, key: &str) -> Option<&Origin> {
        self.local
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, setting)| &setting.origin)
            .or_else(|| self.global.get(key).map(|setting| &setting.origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters_parse_or_say_which_key_is_wrong() {
        let config = FactoryConfig::from_pairs(
            "t",
            [
                ("size", "12"),
                ("flag", "Yes"),
                ("list", "a, b c,,d"),
                ("bad", "x"),
            ],
        );
        assert_eq!(config.parse::<usize>("size").unwrap(), Some(12));
        assert_eq!(config.bool("flag").unwrap(), Some(true));
        assert_eq!(config.list("list").unwrap(), ["a", "b", "c", "d"]);
        assert_eq!(config.parse::<usize>("missing").unwrap(), None);
        let error = config.parse::<usize>("bad").unwrap_err();
        assert!(
            error.to_string().starts_with("bad: \"x\" is not valid"),
            "{error}"
        );
        let error = config.bool("bad").unwrap_err();
        assert!(error.to_string().contains("not a boolean"), "{error}");
    }

    #[test]
    fn keys_nobody_read_are_reported_in_file_order() {
        let config = FactoryConfig::from_pairs("t", [("a", "1"), ("b", "2"), ("c", "3")]);
        config.local("b");
        assert_eq!(config.unread_key().unwrap().0, "a");
        config.local("a");
        assert_eq!(config.unread_key().unwrap().0, "c");
        config.local_entries();
        assert!(config.unread_key().is_none());
    }
}
