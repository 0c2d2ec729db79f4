//! paste.deploy for nova-rs: the part of `server.py` that is
//! `loadapp('config:configure.ini', 'main')`.
//!
//! A [`Config`] is an INI file read with Python `ConfigParser`'s rules as
//! paste.deploy uses them (continuation lines, `#`/`;` comments, keys that
//! keep their case, `%(name)s` interpolation from the section and
//! `[DEFAULT]`, `%(here)s` for the file's folder). [`Config::load_app`]
//! builds an application from it by paste.deploy's rules:
//!
//! | section | meaning |
//! |---|---|
//! | `[app:NAME]` | an application: `paste.app_factory = REF` or `use = …` |
//! | `[filter:NAME]` | a filter: `paste.filter_factory = REF` or `use = …` |
//! | `[pipeline:NAME]` | `pipeline = filter … app`: the filters wrap the app, first outermost |
//! | `[composite:NAME]` | an application made of others, as `use = egg:Paste#urlmap` with `/prefix = app` keys |
//! | `[filter-app:NAME]` | a filter (`use`/`paste.filter_factory`) wrapping `next = app` |
//! | `[server:NAME]` | read by the program itself, see [`Config::load_server`] |
//! | `[DEFAULT]` | global configuration, passed to every factory |
//!
//! In any app or filter section: `use = NAME` reuses another section (its
//! settings, overridden by this one's), `use = config:OTHER.ini#NAME` one in
//! another file, `use = egg:DIST#NAME` or `use = call:MODULE:FUNCTION` a
//! factory; `set KEY = VALUE` overrides a global key for this section and
//! everything below it, `get KEY = GLOBAL` copies a global key into the
//! local ones; `filter-with = FILTER` wraps an app in a filter.
//!
//! Factories are looked up by reference in a [`Registry`] that the embedding
//! program fills. Each is called with a [`FactoryConfig`]: its section's
//! keys, falling back to the global ones. Every key of a section must be read
//! by its factory: an unknown key is an error, like any other problem in the
//! file, reported as one [`ConfigError`] naming the file, the line and the
//! section. Nothing is built unless everything is.
//!
//! See [`Config`] for an example.

mod error;
mod ini;
mod loader;
mod registry;
mod urlmap;

pub use error::{ConfigError, ConfigErrorKind, FactoryError, InterpolationError};
pub use loader::{CompositeLoader, Config, LoadedApp};
pub use registry::{
    AppFactory, CompositeFactory, Factory, FactoryConfig, FilterFactory, Origin, Registry, Setting,
};
pub use urlmap::UrlMap;
