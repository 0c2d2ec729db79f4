//! paste.deploy in Rust: the loader behind Python's
//! `loadapp('config:api-paste.ini', 'main')`, for any program that wants
//! paste.deploy's files and semantics. In nova-rs it is the part of
//! `server.py` that builds the API pipeline.
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
//! What an application is, is the program's choice: the loader builds a
//! value of any type `S` (an HTTP service, a handler, a description) with
//! factories the program registers in a [`Registry<S>`] under the names
//! files use. Each factory is called with a [`FactoryConfig`]: its
//! section's keys, falling back to the global ones. Every key of a section
//! must be read by its factory: an unknown key is an error, like any other
//! problem in the file, reported as one [`ConfigError`] naming the file, the
//! line and the section. Nothing is built unless everything is. Paste's URL
//! map is there once the program says how to build one from its parts
//! ([`Registry::add_urlmap`]).
//!
//! # Loading a file with your own factories
//!
//! Here an application is a `String` describing what was built, so the
//! example shows the order filters wrap in and the settings each factory
//! got.
//!
//! ```
//! use std::path::Path;
//! use nova_paste::{Config, Registry};
//!
//! let mut registry: Registry<String> = Registry::new();
//! registry
//!     .add_app("greeter", |config| {
//!         let greeting = config.get("greeting").unwrap_or("hello");
//!         Ok(format!("greeter({greeting})"))
//!     })
//!     .add_filter("shout", |config, inner| {
//!         let times: usize = config.parse("times")?.unwrap_or(1);
//!         Ok(format!("shout*{times}({inner})"))
//!     })
//!     .add_urlmap(|spec| {
//!         let mounts: Vec<String> = spec
//!             .mounts
//!             .into_iter()
//!             .map(|(prefix, app)| format!("{prefix} -> {app}"))
//!             .collect();
//!         Ok(format!("urlmap[{}]", mounts.join(", ")))
//!     })
//!     // References written for Python find the Rust factories.
//!     .alias("greetings:app_factory", "greeter")
//!     .add_distribution("example");
//!
//! let text = "\
//! [DEFAULT]
//! word = bonjour
//!
//! [composite:main]
//! use = egg:Paste#urlmap
//! / = home
//! /greet = greet
//!
//! [pipeline:greet]
//! pipeline = shout hello
//!
//! [filter:shout]
//! use = egg:example#shout
//! times = 2
//!
//! [app:hello]
//! paste.app_factory = greetings:app_factory
//! greeting = %(word)s from %(here)s
//!
//! [app:home]
//! use = hello
//! greeting = welcome
//! ";
//! let config = Config::from_text("site.ini", Path::new("/srv/site"), text)?;
//! assert_eq!(
//!     config.load_app(&registry, "main")?,
//!     "urlmap[/ -> greeter(welcome), /greet -> shout*2(greeter(bonjour from /srv/site))]"
//! );
//!
//! // A misspelt key is refused, with its line.
//! let config = Config::from_text("site.ini", Path::new("/srv/site"), &text.replace("times", "tims"))?;
//! let error = config.load_app(&registry, "main").unwrap_err();
//! assert_eq!(error.to_string(), "site.ini:14: [filter:shout] unknown key \"tims\" for shout");
//! # Ok::<(), nova_paste::ConfigError>(())
//! ```

// The modules form a layered graph, each using only modules below it:
// `config` (the entry point) uses `build`, which uses `plan` (which uses
// `file` and `registry`); `urlmap` adds to `registry`; all of them use
// `factory`, which uses `error` and `kind`; `ini` is the parser at the
// bottom.
mod build;
mod config;
mod error;
mod factory;
mod file;
mod ini;
mod kind;
mod plan;
mod registry;
mod urlmap;

pub use config::Config;
pub use error::{ConfigError, ConfigErrorKind, FactoryError, InterpolationError};
pub use factory::{
    AppFactory, CompositeFactory, CompositeLoader, Factory, FactoryConfig, FilterFactory, Origin,
    Setting,
};
pub use kind::{FactoryKind, ObjectType, SectionKind};
pub use registry::Registry;
pub use urlmap::UrlMapSpec;
