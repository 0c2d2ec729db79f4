//! Named factories, and the configuration each one is called with.
//!
//! A paste.deploy file names the code that builds each section:
//! `paste.app_factory = routers:app_factory`, `use = egg:Paste#urlmap`,
//! `use = call:nova.api.openstack.urlmap:urlmap_factory`. Python imports that
//! code; nova-rs looks the reference up in a [`Registry`] instead, which the
//! program embedding the loader fills: with its own factories under their
//! own names, and with aliases so that references written for Python
//! (`routers:app_factory`) find them.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use nova_router::SharedService;

use crate::loader::CompositeLoader;
use crate::FactoryError;

/// Builds an application from its configuration (`paste.app_factory`).
pub type AppFactory =
    Arc<dyn Fn(&FactoryConfig) -> Result<SharedService, FactoryError> + Send + Sync>;

/// Wraps an application in a filter (`paste.filter_factory`): called with the
/// filter's configuration and the application it wraps.
pub type FilterFactory =
    Arc<dyn Fn(&FactoryConfig, SharedService) -> Result<SharedService, FactoryError> + Send + Sync>;

/// Builds an application out of other sections (`paste.composite_factory`),
/// loading them by name through the [`CompositeLoader`].
pub type CompositeFactory = Arc<
    dyn Fn(&mut CompositeLoader<'_>, &FactoryConfig) -> Result<SharedService, FactoryError>
        + Send
        + Sync,
>;

/// One registered factory.
#[derive(Clone)]
pub enum Factory {
    /// An application factory.
    App(AppFactory),
    /// A filter factory.
    Filter(FilterFactory),
    /// A composite factory.
    Composite(CompositeFactory),
}

impl Factory {
    /// "app", "filter" or "composite".
    pub fn kind(&self) -> &'static str {
        match self {
            Factory::App(_) => "app",
            Factory::Filter(_) => "filter",
            Factory::Composite(_) => "composite",
        }
    }
}

impl fmt::Debug for Factory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Factory::{}", self.kind())
    }
}

/// The distribution names under which `egg:DIST#NAME` finds a factory by its
/// registered name.
const OWN_DISTRIBUTIONS: [&str; 2] = ["nova-rs", "nova_rs"];

/// Factories by name, plus aliases.
///
/// A reference is looked up as follows:
/// - `egg:DIST#NAME` (`egg:DIST` means `egg:DIST#main`): an alias of the
///   whole reference, else, for `DIST` = `nova-rs`, the factory `NAME`;
/// - `call:MODULE:FUNCTION`: as `MODULE:FUNCTION`;
/// - anything else (`routers:app_factory`, `urlmap`): an alias, else a
///   factory of that name.
///
/// [`Registry::new`] knows paste's own `urlmap` composite (also as
/// `egg:Paste#urlmap` and `call:paste.urlmap:urlmap_factory`).
#[derive(Clone, Default)]
pub struct Registry {
    factories: BTreeMap<String, Factory>,
    aliases: BTreeMap<String, String>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("factories", &self.factories.keys().collect::<Vec<_>>())
            .field("aliases", &self.aliases)
            .finish()
    }
}

impl Registry {
    /// A registry with paste's `urlmap` composite.
    pub fn new() -> Self {
        let mut registry = Self::empty();
        registry
            .add_composite("urlmap", crate::urlmap::urlmap_factory)
            .alias("egg:Paste#urlmap", "urlmap")
            .alias("paste.urlmap:urlmap_factory", "urlmap")
            .alias("nova.api.openstack.urlmap:urlmap_factory", "urlmap");
        registry
    }

    /// A registry with no factories at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Registers an application factory under `name`, replacing any other.
    pub fn add_app<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(&FactoryConfig) -> Result<SharedService, FactoryError> + Send + Sync + 'static,
    {
        self.factories
            .insert(name.into(), Factory::App(Arc::new(factory)));
        self
    }

    /// Registers a filter factory under `name`, replacing any other.
    pub fn add_filter<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(&FactoryConfig, SharedService) -> Result<SharedService, FactoryError>
            + Send
            + Sync
            + 'static,
    {
        self.factories
            .insert(name.into(), Factory::Filter(Arc::new(factory)));
        self
    }

    /// Registers a composite factory under `name`, replacing any other.
    pub fn add_composite<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(&mut CompositeLoader<'_>, &FactoryConfig) -> Result<SharedService, FactoryError>
            + Send
            + Sync
            + 'static,
    {
        self.factories
            .insert(name.into(), Factory::Composite(Arc::new(factory)));
        self
    }

    /// Makes `reference` (for example `routers:app_factory` or
    /// `egg:Paste#urlmap`) find the factory registered as `name`.
    pub fn alias(&mut self, reference: impl Into<String>, name: impl Into<String>) -> &mut Self {
        self.aliases.insert(reference.into(), name.into());
        self
    }

    /// The factory `reference` finds, with its registered name.
    pub fn resolve(&self, reference: &str) -> Option<(&str, &Factory)> {
        let name = if let Some(alias) = self.aliases.get(reference) {
            alias.as_str()
        } else if let Some(egg) = reference.strip_prefix("egg:") {
            let (distribution, name) = egg.split_once('#').unwrap_or((egg, "main"));
            if !OWN_DISTRIBUTIONS
                .iter()
                .any(|own| own.eq_ignore_ascii_case(distribution))
            {
                return None;
            }
            name
        } else if let Some(call) = reference.strip_prefix("call:") {
            return self.resolve(call);
        } else {
            reference
        };
        self.factories
            .get_key_value(name)
            .map(|(name, factory)| (name.as_str(), factory))
    }

    /// The registered names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }
}

/// Where a setting was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: Arc<str>,
    /// The section, `DEFAULT` for `[DEFAULT]`.
    pub section: String,
    /// The line, from 1.
    pub line: usize,
}

/// A value from the file, already interpolated, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value.
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

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
    global: BTreeMap<String, Setting>,
    local: Vec<(String, Setting)>,
    used: RefCell<BTreeSet<String>>,
    max_body_size: Cell<Option<usize>>,
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
            max_body_size: Cell::new(None),
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

    /// Tells the loader that the application built here reads request
    /// bodies of up to `bytes` (a size limit filter does), so the server
    /// must read at least that much before refusing a body.
    pub fn declare_max_body_size(&self, bytes: usize) {
        let largest = self.max_body_size.get().map_or(bytes, |n| n.max(bytes));
        self.max_body_size.set(Some(largest));
    }

    pub(crate) fn declared_max_body_size(&self) -> Option<usize> {
        self.max_body_size.get()
    }

    /// The first key of the section no getter has read.
    pub(crate) fn unread_key(&self) -> Option<&(String, Setting)> {
        let used = self.used.borrow();
        self.local.iter().find(|(key, _)| !used.contains(key))
    }

    /// Where `key` was written: in the section, else in the global
    /// configuration.
    pub(crate) fn origin_of(&self, key: &str) -> Option<&Origin> {
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

    fn app(_: &FactoryConfig) -> Result<SharedService, FactoryError> {
        Err(FactoryError::Invalid("test".to_owned()))
    }

    #[test]
    fn references_resolve_by_name_alias_egg_and_call() {
        let mut registry = Registry::new();
        registry
            .add_app("instance", app)
            .alias("routers:app_factory", "instance");
        for reference in [
            "instance",
            "routers:app_factory",
            "call:routers:app_factory",
            "egg:nova-rs#instance",
            "egg:nova_rs#instance",
        ] {
            let (name, factory) = registry.resolve(reference).unwrap();
            assert_eq!((name, factory.kind()), ("instance", "app"), "{reference}");
        }
        for reference in [
            "egg:Paste#urlmap",
            "urlmap",
            "call:paste.urlmap:urlmap_factory",
        ] {
            assert_eq!(registry.resolve(reference).unwrap().0, "urlmap");
        }
        for reference in [
            "routers:nothing",
            "egg:Other#instance",
            "egg:nova-rs#nothing",
            "",
        ] {
            assert!(registry.resolve(reference).is_none(), "{reference}");
        }
    }

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
