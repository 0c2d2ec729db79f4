//! The controller's errors, and the one place they become HTTP faults.

use std::borrow::Cow;

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
    /// The store failed. Its `Display` (the driver's words) is for the log;
    /// the client gets [`client_message`](ControllerError::client_message).
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

    /// The message the client is answered with.
    ///
    /// A 4xx says what was wrong with the request, in this error's own words
    /// (its `Display`). A 5xx says only which part of the server failed, in
    /// fixed words of ours: a store's error carries the database driver's
    /// text (paths, host names, SQL), which belongs in the log line of the
    /// request, never in a response.
    pub fn client_message(&self) -> Cow<'static, str> {
        match self {
            ControllerError::Store(StoreError::Unavailable { .. }) => {
                Cow::Borrowed("the instance store cannot be reached")
            }
            ControllerError::Store(StoreError::DuplicateId { .. } | StoreError::Corrupt { .. }) => {
                Cow::Borrowed("the instance store failed")
            }
            // Our own words about our own route table: nothing in them
            // comes from a driver or from the client.
            ControllerError::NotRouted
            | ControllerError::UnknownAction(_)
            | ControllerError::MissingInstanceId(_)
            | ControllerError::InstanceNotFound(_)
            | ControllerError::PreconditionFailed { .. }
            | ControllerError::Body(_)
            | ControllerError::Name(_) => Cow::Owned(self.to_string()),
        }
    }
}

impl From<ControllerError> for Fault {
    /// The fault the client sees: [`ControllerError::status`] and
    /// [`ControllerError::client_message`].
    fn from(error: ControllerError) -> Self {
        Fault::new(error.status(), error.client_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_faults_are_in_our_words_and_client_faults_in_the_errors() {
        let drivers_words = "database disk image is malformed";
        let table = [
            (
                ControllerError::Store(StoreError::Unavailable {
                    reason: drivers_words.to_owned(),
                }),
                503,
                "the instance store cannot be reached",
            ),
            (
                ControllerError::Store(StoreError::Corrupt {
                    reason: drivers_words.to_owned(),
                }),
                500,
                "the instance store failed",
            ),
            (
                ControllerError::NotRouted,
                500,
                "the request was not routed",
            ),
            (
                ControllerError::UnknownAction("reboot".to_owned()),
                500,
                "the controller has no action \"reboot\"",
            ),
            (
                ControllerError::MissingInstanceId("show".to_owned()),
                500,
                "the route for action \"show\" has no instance_id parameter",
            ),
            (
                ControllerError::InstanceNotFound("x".to_owned()),
                404,
                "instance x could not be found",
            ),
            (
                ControllerError::Name(NameError::Empty),
                400,
                "invalid name: name must not be empty",
            ),
        ];
        for (error, status, message) in table {
            let fault = Fault::from(error.clone());
            assert_eq!(fault.status(), status, "{error}");
            assert_eq!(fault.message(), message, "{error}");
            assert!(!fault.message().contains(drivers_words));
            if fault.status().is_client_error() {
                assert_eq!(fault.message(), error.to_string());
            }
        }
    }
}
