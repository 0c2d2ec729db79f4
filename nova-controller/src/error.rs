//! The controller's errors, and the one place they become HTTP faults.

use http::StatusCode;
use nova_router::Fault;

use crate::StoreError;

/// Why a `name` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// No `name` was given.
    #[error("name is required")]
    Missing,
    /// `name` was given more than once, in one place or in two.
    #[error("name was given more than once")]
    Repeated,
    /// `name` is the empty string.
    #[error("name must not be empty")]
    Empty,
    /// `name` is only white space.
    #[error("name must not be only white space")]
    Blank,
    /// `name` starts or ends with white space (Nova refuses these too).
    #[error("name must not start or end with white space")]
    SurroundingWhitespace,
    /// `name` has more characters than allowed.
    #[error("name is {length} characters long; at most {max} are allowed")]
    TooLong {
        /// Its length in characters.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// `name` contains a control character such as NUL or a line break.
    #[error("name must not contain control characters")]
    ControlCharacter,
    /// `name` is in JSON but not a string.
    #[error("name must be a string")]
    NotAString,
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestBodyError {
    /// The body has a content type the controller does not read.
    #[error("content type {0:?} is not supported; use application/json or application/x-www-form-urlencoded")]
    UnsupportedMediaType(String),
    /// A body was sent without a `Content-Type`.
    #[error("a request body needs a Content-Type: application/json or application/x-www-form-urlencoded")]
    MissingContentType,
    /// The body (or query string) is not valid for its content type.
    #[error("the request body could not be parsed: {0}")]
    Malformed(String),
    /// The body has a field the API does not know, which would otherwise be
    /// silently dropped.
    #[error("unexpected field {0:?}; only name is accepted")]
    UnexpectedField(String),
}

/// Everything that can go wrong handling one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControllerError {
    /// The request reached the controller without routing arguments: the
    /// controller was not placed behind a router.
    #[error("the request was not routed")]
    NotRouted,
    /// The route's action is not one the controller has.
    #[error("the controller has no action {0:?}")]
    UnknownAction(String),
    /// The route has no `instance_id` parameter though the action needs one.
    #[error("the route for action {0:?} has no instance_id parameter")]
    MissingInstanceId(String),
    /// No instance has this id (or the id is not a UUID, so none could).
    #[error("instance {0} could not be found")]
    InstanceNotFound(String),
    /// The instance's version does not satisfy the request's `If-Match`.
    #[error(
        "instance {id} has changed: its ETag is now \"{current}\", which If-Match does not name"
    )]
    PreconditionFailed {
        /// The instance.
        id: uuid::Uuid,
        /// Its current version.
        current: u64,
    },
    /// The body could not be read.
    #[error(transparent)]
    Body(#[from] RequestBodyError),
    /// The name is not acceptable.
    #[error("invalid name: {0}")]
    Name(#[from] NameError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ControllerError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ControllerError::NotRouted
            | ControllerError::UnknownAction(_)
            | ControllerError::MissingInstanceId(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ControllerError::InstanceNotFound(_) => StatusCode::NOT_FOUND,
            ControllerError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ControllerError::Body(
                RequestBodyError::UnsupportedMediaType(_) | RequestBodyError::MissingContentType,
            ) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ControllerError::Body(_) | ControllerError::Name(_) => StatusCode::BAD_REQUEST,
            ControllerError::Store(StoreError::Unavailable { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            // The id is a fresh UUID v4, so a clash means a broken generator
            // or store: the client did nothing wrong.
            ControllerError::Store(StoreError::DuplicateId { .. } | StoreError::Corrupt { .. }) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<ControllerError> for Fault {
    fn from(error: ControllerError) -> Self {
        Fault::new(error.status(), error.to_string())
    }
}
