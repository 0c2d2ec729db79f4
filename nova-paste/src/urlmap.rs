//! Paste's URL map composite (`use = egg:Paste#urlmap`), the part that is
//! about the file: reading the `/prefix = app` keys and `not_found_app`, and
//! loading each application they name.
//!
//! What a URL map does with requests is not the loader's business: the
//! program says how to build one from the loaded parts, a [`UrlMapSpec`],
//! when it registers the composite with [`Registry::add_urlmap`].

use std::fmt;

use crate::{CompositeLoader, FactoryConfig, FactoryError, Registry};

/// What a `urlmap` composite section asks for: each application built,
/// with the path prefix it is mounted at.
pub struct UrlMapSpec<S> {
    /// The `/prefix = app` entries, in file order: the prefix as written
    /// and the application built for it. Every prefix starts with `/`, and
    /// no two are the same once trailing slashes are dropped.
    pub mounts: Vec<(String, S)>,
    /// The application for paths no prefix matches: the section's
    /// `not_found_app`, else the global configuration's.
    pub not_found: Option<S>,
}

impl<S> fmt::Debug for UrlMapSpec<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlMapSpec")
            .field(
                "mounts",
                &self.mounts.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("not_found", &self.not_found.is_some())
            .finish()
    }
}

impl<S: 'static> Registry<S> {
    /// Registers paste's URL map composite as `urlmap`, also found as
    /// `egg:Paste#urlmap`, `paste.urlmap:urlmap_factory` and
    /// `nova.api.openstack.urlmap:urlmap_factory` (with or without `call:`).
    ///
    /// The composite reads its section's `/prefix = app` keys and
    /// `not_found_app`, loads the applications they name and calls `build`
    /// with them. A key that is neither, a prefix given twice (trailing
    /// slashes aside) and a map with no prefix at all are errors reported
    /// against the section, before `build` is called; an error `build`
    /// returns is reported as any factory's.
    ///
    /// ```
    /// use nova_paste::{Config, Registry};
    ///
    /// let mut registry = Registry::new();
    /// registry
    ///     .add_app("page", |config| Ok(config.get("title").unwrap_or("?").to_owned()))
    ///     .add_urlmap(|spec| {
    ///         let mounts: Vec<String> =
    ///             spec.mounts.into_iter().map(|(prefix, app)| format!("{prefix}={app}")).collect();
    ///         Ok(mounts.join(" "))
    ///     });
    /// let text = "[composite:main]\nuse = egg:Paste#urlmap\n/ = home\n/docs = docs\n\
    ///             [app:home]\nuse = page\ntitle = Home\n[app:docs]\nuse = page\ntitle = Docs\n";
    /// let config = Config::from_text("site.ini", std::path::Path::new("."), text)?;
    /// assert_eq!(config.load_app(&registry, "main")?, "/=Home /docs=Docs");
    /// # Ok::<(), nova_paste::ConfigError>(())
    /// ```
    pub fn add_urlmap<F>(&mut self, build: F) -> &mut Self
    where
        F: Fn(UrlMapSpec<S>) -> Result<S, FactoryError> + Send + Sync + 'static,
    {
        self.add_composite(
            "urlmap",
            move |loader: &mut dyn CompositeLoader<S>, config: &FactoryConfig| {
                build(load_spec(loader, config)?)
            },
        )
        .alias("egg:Paste#urlmap", "urlmap")
        .alias("paste.urlmap:urlmap_factory", "urlmap")
        .alias("nova.api.openstack.urlmap:urlmap_factory", "urlmap")
    }
}

/// Loads the applications a `urlmap` section names.
fn load_spec<S>(
    loader: &mut dyn CompositeLoader<S>,
    config: &FactoryConfig,
) -> Result<UrlMapSpec<S>, FactoryError> {
    let global_not_found = config.global().get("not_found_app").map(|v| v.to_string());
    let mut mounts: Vec<(String, S)> = Vec::new();
    let mut not_found = None;
    for (key, value) in config.local_entries() {
        if key == "not_found_app" {
            not_found = Some(loader.load_app(key, value.trim())?);
            continue;
        }
        if !key.starts_with('/') {
            return Err(FactoryError::bad_value(
                key,
                "a URL map key is a path starting with / (or not_found_app)",
            ));
        }
        let app = loader.load_app(key, value.trim())?;
        // `/v2` and `/v2/` are one mount point, as a URL map matches them.
        let normalized = key.trim_end_matches('/');
        if mounts
            .iter()
            .any(|(prefix, _)| prefix.trim_end_matches('/') == normalized)
        {
            return Err(FactoryError::bad_value(
                key,
                format_args!("the prefix {key:?} is mapped twice"),
            ));
        }
        mounts.push((key.to_owned(), app));
    }
    if not_found.is_none() {
        if let Some(name) = global_not_found {
            not_found = Some(loader.load_app("not_found_app", name.trim())?);
        }
    }
    if mounts.is_empty() {
        return Err(FactoryError::Invalid(
            "a URL map needs at least one `/path = app` entry".to_owned(),
        ));
    }
    Ok(UrlMapSpec { mounts, not_found })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads every part as its name, or refuses the names in `failing`.
    struct Names {
        failing: &'static [&'static str],
    }

    impl CompositeLoader<String> for Names {
        fn load_app(&mut self, _key: &str, name: &str) -> Result<String, FactoryError> {
            if self.failing.contains(&name) {
                return Err(FactoryError::Invalid(format!("{name} fails")));
            }
            Ok(name.to_owned())
        }
    }

    fn spec(pairs: &[(&'static str, &'static str)]) -> Result<UrlMapSpec<String>, FactoryError> {
        let config = FactoryConfig::from_pairs("urlmap", pairs.iter().copied());
        load_spec(&mut Names { failing: &[] }, &config)
    }

    #[test]
    fn mounts_keep_file_order_and_prefixes_as_written() {
        let spec = spec(&[("/v2.1/", "api"), ("/", "root"), ("not_found_app", "lost")]).unwrap();
        assert_eq!(
            spec.mounts,
            [
                ("/v2.1/".to_owned(), "api".to_owned()),
                ("/".to_owned(), "root".to_owned())
            ]
        );
        assert_eq!(spec.not_found.as_deref(), Some("lost"));
    }

    #[test]
    fn keys_that_are_no_path_twice_the_same_or_none_are_refused() {
        let table: [(&[(&str, &str)], FactoryError); 3] = [
            (
                &[("v2", "api")],
                FactoryError::bad_value(
                    "v2",
                    "a URL map key is a path starting with / (or not_found_app)",
                ),
            ),
            (
                &[("/v2", "a"), ("/v2/", "b")],
                FactoryError::bad_value("/v2/", "the prefix \"/v2/\" is mapped twice"),
            ),
            (
                &[("not_found_app", "lost")],
                FactoryError::Invalid("a URL map needs at least one `/path = app` entry".into()),
            ),
        ];
        for (pairs, error) in table {
            assert_eq!(spec(pairs).unwrap_err(), error, "{pairs:?}");
        }
    }

    #[test]
    fn a_part_that_fails_fails_the_map() {
        let config = FactoryConfig::from_pairs("urlmap", [("/", "root"), ("/x", "broken")]);
        let error = load_spec(
            &mut Names {
                failing: &["broken"],
            },
            &config,
        )
        .unwrap_err();
        assert_eq!(error, FactoryError::Invalid("broken fails".to_owned()));
    }
}
