//! Why a configuration could not be loaded: one error, naming the file, the
//! line and the section where the problem is, and what a factory says when
//! it refuses its configuration.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::ini::InterpolationError;
use crate::kind::{FactoryKind, ObjectType, SectionKind};

/// A configuration that cannot be loaded, and where.
///
/// Its `Display` is the one line an operator needs:
/// `FILE:LINE: [SECTION] WHAT`, for example
/// `etc/api-paste.ini:12: [pipeline:main] no section [app:instanse] in …`.
/// Its `source()` is what caused the problem when that is another error
/// (the [`io::Error`] of a file that cannot be read, an
/// [`InterpolationError`], the syntax error of a file a `config:` reference
/// names), never the [`kind`](Self::kind), whose text `Display` already
/// shows.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file, as given (or the built-in file's name).
    pub file: String,
    /// The line the problem is on, from 1, when it is on one.
    pub line: Option<usize>,
    /// The section the problem is in, when it is in one.
    pub section: Option<String>,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What is wrong with a configuration.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A file could not be read: the one opened, or one a `config:`
    /// reference names.
    #[error("cannot read the file: {}{source}", referenced_as(.reference.as_deref(), .path))]
    Read {
        /// The file, as opened (for a reference, joined to the folder of
        /// the file it is written in).
        path: PathBuf,
        /// The `config:FILE` reference that names the file, without its
        /// `#section`, when it is not the file opened.
        reference: Option<Arc<str>>,
        /// Why it could not be read.
        source: Arc<io::Error>,
    },
    /// A file a `config:` reference names is not valid INI.
    #[error("cannot read the file: {reference} ({}): {source}", .source.file)]
    BadReferencedFile {
        /// The `config:FILE` reference, without its `#section`.
        reference: String,
        /// The syntax error, pointing into that file (its `file` is the
        /// path, joined to the folder of the file the reference is in).
        source: Box<ConfigError>,
    },
    /// The file is not valid INI.
    #[error("{0}")]
    Syntax(String),
    /// A name refers to a section that does not exist.
    #[error("{}", missing_section(.name, *.wanted, .file))]
    MissingSection {
        /// The name.
        name: String,
        /// What it must name.
        wanted: ObjectType,
        /// The file the section was looked for in.
        file: Arc<str>,
    },
    /// A name fits more than one section, such as `[app:x]` and
    /// `[pipeline:x]`.
    #[error("{name:?} is ambiguous: it names {}", bracketed(.sections, " and "))]
    AmbiguousName {
        /// The name.
        name: String,
        /// The headers of the sections it fits, in file order.
        sections: Vec<String>,
    },
    /// A name refers to a section of the wrong kind, such as a filter where
    /// an app is needed (the last element of a pipeline).
    #[error(
        "{:?} is {found} ([{section}] on line {line}), but {wanted} is needed here{}",
        header_name(.section),
        last_element_hint(*.found, *.wanted)
    )]
    WrongKind {
        /// The kind of section the name refers to.
        found: SectionKind,
        /// That section's header, such as `filter:auth`; the name is the
        /// part after the colon.
        section: String,
        /// That section's line.
        line: usize,
        /// What it must name.
        wanted: ObjectType,
    },
    /// A reference starts with a scheme other than `config:`, `egg:` and
    /// `call:`.
    #[error("{reference:?} uses the unknown scheme {scheme:?} (known: config:, egg:, call:)")]
    UnknownScheme {
        /// The reference.
        reference: String,
        /// Its scheme, without the colon.
        scheme: String,
    },
    /// No factory is registered under a reference.
    #[error("no factory is registered as {reference:?} (registered: {})", .registered.join(", "))]
    UnknownFactory {
        /// The reference.
        reference: String,
        /// The names that are registered, in order.
        registered: Vec<String>,
    },
    /// A reference finds a factory of the wrong kind, such as a filter
    /// factory for an app section.
    #[error("{reference:?} is a {found} factory, but {wanted} is needed here")]
    WrongFactoryKind {
        /// The reference.
        reference: String,
        /// What the factory builds.
        found: FactoryKind,
        /// What is needed.
        wanted: ObjectType,
    },
    /// A `paste.*_factory` key names a factory of another kind, such as
    /// `paste.composite_factory` an app factory.
    #[error(
        "{key} names {factory:?}, which is a {found} factory, not a{} {expected} factory",
        if *.expected == FactoryKind::App { "n" } else { "" }
    )]
    WrongProtocol {
        /// The key.
        key: &'static str,
        /// The factory's registered name.
        factory: String,
        /// What the factory builds.
        found: FactoryKind,
        /// What the key promises.
        expected: FactoryKind,
    },
    /// Sections refer to each other in a loop.
    #[error("sections refer to each other in a loop: {}", bracketed(.sections, " -> "))]
    Cycle {
        /// The headers of the sections on the loop, from the first one
        /// entered back to it again.
        sections: Vec<String>,
    },
    /// A `%(name)s` reference could not be expanded.
    #[error("{0}")]
    Interpolation(#[from] InterpolationError),
    /// A section sets a key `[DEFAULT]` sets too; paste.deploy would pass
    /// the `[DEFAULT]` value instead.
    #[error("{key:?} is also set in [DEFAULT], which paste.deploy gives precedence; write `set {key} = …` to change it for this section")]
    ShadowedByDefault {
        /// The key.
        key: String,
    },
    /// `get KEY = GLOBAL` names a key the global configuration does not
    /// have.
    #[error("`get {key}` names {global:?}, which is not in the global configuration")]
    MissingGlobal {
        /// The local key.
        key: String,
        /// The global key it names.
        global: String,
    },
    /// `filter-with` on a filter section.
    #[error("filter-with is only allowed on app, composite and pipeline sections")]
    FilterWithOnFilter,
    /// A pipeline section without `pipeline`.
    #[error("a pipeline section needs a `pipeline = filter … app` key")]
    MissingPipeline,
    /// A key in a pipeline section other than `pipeline`, `set`, `get` and
    /// `filter-with`.
    #[error("a pipeline section takes only `pipeline` (and set/get/filter-with), not {key:?}")]
    ExtraPipelineKey {
        /// The key.
        key: String,
    },
    /// `pipeline =` with nothing after it.
    #[error("the pipeline is empty")]
    EmptyPipeline,
    /// A filter-app section without `next`.
    #[error("a filter-app section needs a `next = app` key")]
    MissingNext,
    /// A section that `use`s a pipeline or filter-app and adds keys, which
    /// those take none of.
    #[error("{key:?} cannot be added to {name:?}: it is a pipeline or filter-app, which takes no settings")]
    ExtraUseKey {
        /// The first key added.
        key: String,
        /// The name `use` gives.
        name: String,
    },
    /// A section that names no factory.
    #[error("no factory: give `use = …` or `{} = …`", .wanted.protocols()[0])]
    MissingFactory {
        /// What the section must build.
        wanted: ObjectType,
    },
    /// A section that names more than one factory.
    #[error("more than one factory is given (use and/or paste.*_factory)")]
    SeveralFactories,
    /// A key the section's factory does not know.
    #[error("unknown key {key:?} for {factory}")]
    UnknownKey {
        /// The key.
        key: String,
        /// The factory the section uses.
        factory: String,
    },
    /// A key whose value the factory cannot use ([`FactoryError::BadValue`]).
    #[error("{key}: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A section its factory cannot use as a whole
    /// ([`FactoryError::Invalid`]).
    #[error("{0}")]
    Invalid(String),
}

/// `config:FILE (PATH): ` before the cause, for a file a reference names.
fn referenced_as(reference: Option<&str>, path: &Path) -> String {
    reference
        .map(|reference| format!("{reference} ({}): ", path.display()))
        .unwrap_or_default()
}

fn missing_section(name: &str, wanted: ObjectType, file: &str) -> String {
    match wanted {
        ObjectType::App => format!(
            "no section [app:{name}], [pipeline:{name}], [composite:{name}] or [filter-app:{name}] in {file}"
        ),
        ObjectType::Filter => format!("no section [filter:{name}] in {file}"),
    }
}

fn bracketed(sections: &[String], separator: &str) -> String {
    sections
        .iter()
        .map(|section| format!("[{section}]"))
        .collect::<Vec<_>>()
        .join(separator)
}

/// The name in a section header: `auth` in `filter:auth`.
fn header_name(header: &str) -> &str {
    header
        .split_once(':')
        .map_or(header, |(_, name)| name.trim())
}

fn last_element_hint(found: SectionKind, wanted: ObjectType) -> &'static str {
    if wanted == ObjectType::App && found == SectionKind::Filter {
        " (the last element of a pipeline must be an app)"
    } else {
        ""
    }
}

impl ConfigError {
    /// An error at `line` of `section` in `file`.
    pub fn new(
        file: impl Into<String>,
        line: Option<usize>,
        section: Option<String>,
        kind: ConfigErrorKind,
    ) -> Self {
        ConfigError {
            file: file.into(),
            line,
            section,
            kind,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ":")?;
        if let Some(section) = &self.section {
            write!(f, " [{section}]")?;
        }
        write!(f, " {}", self.kind)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The causes themselves, not the `Arc` or `Box` they are kept in,
        // so that a caller can downcast to `io::Error`.
        match &self.kind {
            ConfigErrorKind::Read { source, .. } => Some(&**source),
            ConfigErrorKind::BadReferencedFile { source, .. } => Some(&**source),
            ConfigErrorKind::Interpolation(error) => Some(error),
            _ => None,
        }
    }
}

/// Why a factory refused its configuration. The loader turns it into a
/// [`ConfigError`] that points at the key's line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FactoryError {
    /// A key's value cannot be used.
    #[error("{key}: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong with its value, lowercase, no full stop.
        message: String,
    },
    /// The section as a whole cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// A section a composite loads through its
    /// [`CompositeLoader`](crate::CompositeLoader) could not be loaded. A
    /// composite factory returns it as it got it; the loader then reports
    /// the error of that section, which it kept. Only the loader makes it.
    #[non_exhaustive]
    #[error("a section this composite loads cannot be loaded")]
    PartFailed,
}

impl FactoryError {
    /// `key`'s value cannot be used, because of `message`.
    pub fn bad_value(key: impl Into<String>, message: impl fmt::Display) -> Self {
        FactoryError::BadValue {
            key: key.into(),
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn the_message_names_file_line_and_section() {
        let error = ConfigError::new(
            "etc/x.ini",
            Some(4),
            Some("filter:auth".to_owned()),
            ConfigErrorKind::BadValue {
                key: "tokens".to_owned(),
                message: "token 1 is empty".to_owned(),
            },
        );
        assert_eq!(
            error.to_string(),
            "etc/x.ini:4: [filter:auth] tokens: token 1 is empty"
        );
        let error = ConfigError::new(
            "gone.ini",
            None,
            None,
            ConfigErrorKind::Read {
                path: PathBuf::from("gone.ini"),
                reference: None,
                source: Arc::new(io::Error::other("no such file")),
            },
        );
        assert_eq!(
            error.to_string(),
            "gone.ini: cannot read the file: no such file"
        );
    }

    #[test]
    fn the_source_is_the_cause_not_the_kind_already_shown() {
        let error = ConfigError::new(
            "gone.ini",
            None,
            None,
            ConfigErrorKind::Read {
                path: PathBuf::from("gone.ini"),
                reference: None,
                source: Arc::new(io::Error::new(io::ErrorKind::NotFound, "gone")),
            },
        );
        let source = error.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(source.map(io::Error::kind), Some(io::ErrorKind::NotFound));

        let error = ConfigError::new("x.ini", Some(1), None, ConfigErrorKind::EmptyPipeline);
        assert!(error.source().is_none());
    }
}
