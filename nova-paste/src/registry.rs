//! Named factories, and how a reference in a file finds one.
//!
//! A paste.deploy file names the code that builds each section:
//! `paste.app_factory = routers:app_factory`, `use = egg:Paste#urlmap`,
//! `use = call:nova.api.openstack.urlmap:urlmap_factory`. Python imports that
//! code; here the reference is looked up in a [`Registry`] instead, which the
//! program embedding the loader fills: with its own factories under their
//! own names, and with aliases so that references written for Python
//! (`routers:app_factory`) find them. Paste's own URL map is registered by
//! [`Registry::add_urlmap`], next to the code that reads it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::{CompositeLoader, Factory, FactoryConfig, FactoryError};

/// Factories by name, plus aliases.
///
/// A reference is looked up as follows:
/// - `egg:DIST#NAME` (`egg:DIST` means `egg:DIST#main`): an alias of the
///   whole reference, else, if `DIST` is one of the registry's own
///   distributions ([`Registry::add_distribution`]), the factory `NAME`;
/// - `call:MODULE:FUNCTION`: as `MODULE:FUNCTION`;
/// - anything else (`routers:app_factory`, `urlmap`): an alias, else a
///   factory of that name.
///
/// [`Registry::new`] is empty: paste's `urlmap` composite is there once
/// [`Registry::add_urlmap`] says how to build one.
pub struct Registry<S> {
    factories: BTreeMap<String, Factory<S>>,
    aliases: BTreeMap<String, String>,
    /// Normalised as by [`distribution_key`].
    distributions: BTreeSet<String>,
}

impl<S> fmt::Debug for Registry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("factories", &self.factories)
            .field("aliases", &self.aliases)
            .field("distributions", &self.distributions)
            .finish()
    }
}

// By hand: derives would ask `S: Clone` and `S: Default`, which the maps of
// shared factories do not need.
impl<S> Clone for Registry<S> {
    fn clone(&self) -> Self {
        Registry {
            factories: self.factories.clone(),
            aliases: self.aliases.clone(),
            distributions: self.distributions.clone(),
        }
    }
}

impl<S> Default for Registry<S> {
    fn default() -> Self {
        Registry {
            factories: BTreeMap::new(),
            aliases: BTreeMap::new(),
            distributions: BTreeSet::new(),
        }
    }
}

/// A distribution name as pip compares them (PEP 503): case and runs of
/// `-`, `_` and `.` do not matter, so `nova_rs` is `nova-rs`.
fn distribution_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !key.ends_with('-') {
                key.push('-');
            }
        } else {
            key.push(c.to_ascii_lowercase());
        }
    }
    key
}

impl<S> Registry<S> {
    /// A registry with no factories at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an application factory under `name`, replacing any other.
    pub fn add_app<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(&FactoryConfig) -> Result<S, FactoryError> + Send + Sync + 'static,
    {
        self.factories
            .insert(name.into(), Factory::App(Arc::new(factory)));
        self
    }

    /// Registers a filter factory under `name`, replacing any other.
    pub fn add_filter<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(&FactoryConfig, S) -> Result<S, FactoryError> + Send + Sync + 'static,
    {
        self.factories
            .insert(name.into(), Factory::Filter(Arc::new(factory)));
        self
    }

    /// Registers a composite factory under `name`, replacing any other.
    pub fn add_composite<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(&mut dyn CompositeLoader<S>, &FactoryConfig) -> Result<S, FactoryError>
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

    /// Makes `egg:NAME#FACTORY` (and `egg:NAME`, which means
    /// `egg:NAME#main`) find the factory registered as `FACTORY`: `NAME` is
    /// a distribution the registered factories stand for, such as the
    /// program's own. Names compare as pip compares them, ignoring case and
    /// the difference between `-`, `_` and `.`.
    pub fn add_distribution(&mut self, name: &str) -> &mut Self {
        self.distributions.insert(distribution_key(name));
        self
    }

    /// The factory `reference` finds, with its registered name.
    pub fn resolve(&self, reference: &str) -> Option<(&str, &Factory<S>)> {
        let name = if let Some(alias) = self.aliases.get(reference) {
            alias.as_str()
        } else if let Some(egg) = reference.strip_prefix("egg:") {
            let (distribution, name) = egg.split_once('#').unwrap_or((egg, "main"));
            if !self.distributions.contains(&distribution_key(distribution)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FactoryKind;

    fn app(_: &FactoryConfig) -> Result<String, FactoryError> {
        Err(FactoryError::Invalid("test".to_owned()))
    }

    #[test]
    fn references_resolve_by_name_alias_egg_and_call() {
        let mut registry = Registry::new();
        registry
            .add_urlmap(|_| Ok(String::new()))
            .add_distribution("nova-rs")
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
            assert_eq!(
                (name, factory.kind()),
                ("instance", FactoryKind::App),
                "{reference}"
            );
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
    fn distributions_compare_as_pip_compares_them() {
        let mut registry = Registry::new();
        registry.add_distribution("My_Dist").add_app("main", app);
        for reference in ["egg:my-dist", "egg:MY.DIST#main", "egg:my__dist#main"] {
            assert!(registry.resolve(reference).is_some(), "{reference}");
        }
        assert!(registry.resolve("egg:mydist").is_none());
    }

    #[test]
    fn a_new_registry_knows_no_factory() {
        let registry = Registry::<String>::new();
        assert_eq!(registry.names().count(), 0);
        assert!(registry.resolve("egg:Paste#urlmap").is_none());
    }
}
