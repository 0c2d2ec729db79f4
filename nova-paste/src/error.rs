//! Why a configuration could not be loaded: one error, naming the file, the
//! line and the section where the problem is.

use std::fmt;

pub use crate::ini::InterpolationError;

/// A configuration that cannot be loaded, and where.
///
/// Its `Display` is the one line an operator needs:
/// `FILE:LINE: [SECTION] WHAT`, for example
/// `etc/api-paste.ini:12: [pipeline:main] no app section named "instanse" (…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(String),
    /// The file is not valid INI.
    #[error("{0}")]
    Syntax(String),
    /// A name refers to a section that does not exist.
    #[error("{0}")]
    MissingSection(String),
    /// A name refers to a section of the wrong kind, such as a filter where
    /// an app is needed (the last element of a pipeline).
    #[error("{0}")]
    WrongKind(String),
    /// No factory is registered under a reference.
    #[error("{0}")]
    UnknownFactory(String),
    /// Sections refer to each other in a loop.
    #[error("sections refer to each other in a loop: {0}")]
    Cycle(String),
    /// A `%(name)s` reference could not be expanded.
    #[error(transparent)]
    Interpolation(#[from] InterpolationError),
    /// A key the section's factory does not know.
    #[error("unknown key {key:?} for {factory}")]
    UnknownKey {
        /// The key.
        key: String,
        /// The factory the section uses.
        factory: String,
    },
    /// A key whose value the factory cannot use.
    #[error("{key}: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A section that is wrong as a whole: a pipeline without `pipeline`,
    /// a filter-app without `next`, two factories given.
    #[error("{0}")]
    Invalid(String),
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
        Some(&self.kind)
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
    /// Loading another section (from a composite) failed; the error points
    /// at that section.
    #[error(transparent)]
    Load(Box<ConfigError>),
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

impl From<ConfigError> for FactoryError {
    fn from(error: ConfigError) -> Self {
        FactoryError::Load(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ConfigErrorKind::Read("no such file".to_owned()),
        );
        assert_eq!(
            error.to_string(),
            "gone.ini: cannot read the file: no such file"
        );
    }
}
