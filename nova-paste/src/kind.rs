//! The kinds of things a paste.deploy file names: sections by their header
//! prefix, factories by what they build, and what a reference must name
//! where it is written.
//!
//! They are their own module because both the loader and its errors speak
//! of them: an error says "a filter is needed here" with the same value the
//! loader decided that with.

use std::fmt;

/// What a reference must name where it is written: paste.deploy's object
/// types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectType {
    /// Something that serves on its own: an app, composite, pipeline or
    /// filter-app (the last element of a pipeline, `next =`, a URL map
    /// entry, [`Config::load_app`](crate::Config::load_app)'s name).
    App,
    /// A filter (the other elements of a pipeline, `filter-with =`).
    Filter,
}

impl ObjectType {
    /// The keys that name a factory explicitly, as paste's egg protocols;
    /// the first is the one to suggest.
    pub(crate) fn protocols(self) -> &'static [&'static str] {
        match self {
            ObjectType::App => &[
                "paste.app_factory",
                "paste.composite_factory",
                "paste.composit_factory",
            ],
            ObjectType::Filter => &["paste.filter_factory", "paste.filter_app_factory"],
        }
    }
}

/// Written as the loader's messages need it: "a filter is needed here".
impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectType::App => "an app, composite, pipeline or filter-app",
            ObjectType::Filter => "a filter",
        })
    }
}

/// The kind of a section, from the prefix of its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SectionKind {
    /// `[app:NAME]` (or `[application:NAME]`).
    App,
    /// `[composite:NAME]` (or paste's old spelling `[composit:NAME]`).
    Composite,
    /// `[pipeline:NAME]`.
    Pipeline,
    /// `[filter-app:NAME]`.
    FilterApp,
    /// `[filter:NAME]`.
    Filter,
    /// `[server:NAME]`.
    Server,
}

impl SectionKind {
    /// The kind and name of a section header; `None` for sections
    /// paste.deploy does not read (such as logging's `[loggers]`), which
    /// are ignored.
    pub(crate) fn of_header(header: &str) -> Option<(SectionKind, &str)> {
        let (prefix, name) = header.split_once(':')?;
        let kind = match prefix.trim() {
            "app" | "application" => SectionKind::App,
            "composite" | "composit" => SectionKind::Composite,
            "pipeline" => SectionKind::Pipeline,
            "filter-app" => SectionKind::FilterApp,
            "filter" => SectionKind::Filter,
            "server" => SectionKind::Server,
            _ => return None,
        };
        Some((kind, name.trim()))
    }

    /// Whether a section of this kind can stand where `wanted` is needed.
    pub(crate) fn satisfies(self, wanted: ObjectType) -> bool {
        match wanted {
            ObjectType::App => matches!(
                self,
                SectionKind::App
                    | SectionKind::Composite
                    | SectionKind::Pipeline
                    | SectionKind::FilterApp
            ),
            ObjectType::Filter => self == SectionKind::Filter,
        }
    }
}

/// Written as the loader's messages need it: "\"main\" is a filter".
impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SectionKind::App => "an app",
            SectionKind::Composite => "a composite",
            SectionKind::Pipeline => "a pipeline",
            SectionKind::FilterApp => "a filter-app",
            SectionKind::Filter => "a filter",
            SectionKind::Server => "a server",
        })
    }
}

/// What a registered factory builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactoryKind {
    /// An application, from its configuration (`paste.app_factory`).
    App,
    /// A filter around an application (`paste.filter_factory`).
    Filter,
    /// An application made of other sections (`paste.composite_factory`).
    Composite,
}

/// "app", "filter" or "composite".
impl fmt::Display for FactoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FactoryKind::App => "app",
            FactoryKind::Filter => "filter",
            FactoryKind::Composite => "composite",
        })
    }
}
