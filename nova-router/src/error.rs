//! Why the router said no: [`MapperError`] when a route is connected,
//! [`MatchError`] when a request is matched.

use http::Method;

/// Why a route could not be connected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapperError {
    /// The template does not start with `/`.
    #[error("route template {template:?} must start with '/'")]
    NotAbsolute {
        /// The template as given.
        template: String,
    },
    /// A segment is malformed: an unclosed or empty `{}`, a parameter that is
    /// not a whole segment, or a character the matcher would misread.
    #[error("route template {template:?} has an invalid segment {segment:?}")]
    InvalidSegment {
        /// The template as given.
        template: String,
        /// The offending segment.
        segment: String,
    },
    /// The same parameter name appears twice in one template.
    #[error("route template {template:?} names parameter {name:?} twice")]
    RepeatedParameter {
        /// The template as given.
        template: String,
        /// The repeated name.
        name: String,
    },
    /// Another template matches some of the same paths and neither is more
    /// specific (same paths with other parameter names, or overlapping
    /// templates such as `/a/{x}` and `/{y}/b`), so which route answers
    /// would depend on connection order.
    #[error("route template {template:?} conflicts with {existing:?}")]
    ConflictingTemplate {
        /// The template being connected.
        template: String,
        /// The template already connected.
        existing: String,
    },
    /// This template and method are already connected to an action.
    #[error("{method} {template} is already connected to action {existing_action:?}")]
    DuplicateRoute {
        /// The template.
        template: String,
        /// The method.
        method: Method,
        /// The action it is connected to already.
        existing_action: String,
    },
    /// No methods were given; a route must answer at least one.
    #[error("route template {template:?} was connected without methods")]
    NoMethods {
        /// The template as given.
        template: String,
    },
}

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// No template matches the path.
    #[error("no route matches the path")]
    NotFound,
    /// A template matches the path but not the method.
    #[error("method not allowed; allowed: {allowed:?}")]
    MethodNotAllowed {
        /// The methods that would match, `HEAD` included wherever `GET` is.
        allowed: Vec<Method>,
    },
    /// A path parameter does not decode to UTF-8 text.
    #[error("path parameter {name:?} is not valid UTF-8 once percent-decoded")]
    InvalidParameterEncoding {
        /// The parameter's name.
        name: String,
    },
}
