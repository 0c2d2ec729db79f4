//! The compute API's errors, and the one place they become Nova faults.

use std::borrow::Cow;

use http::StatusCode;
use nova_controller::StoreError;
use nova_router::Fault;

/// Everything that can go wrong handling one compute request.
///
/// Client errors carry Nova's own words (`Instance X could not be
/// found.`); the variant decides the status and the fault's kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComputeError {
    /// 400 `badRequest`: the request is malformed or fails the schema.
    #[error("{0}")]
    BadRequest(String),
    /// 403 `forbidden`: a quota is exceeded, or another refusal in
    /// Nova's own words.
    #[error("{0}")]
    Forbidden(String),
    /// 403 `forbidden`: the policy rule of this name
    /// ([`Rule::name`](crate::policy::Rule::name)) does not let the caller
    /// do it (Nova's `PolicyNotAuthorized`, in its words).
    #[error("Policy doesn't allow {0} to be performed.")]
    PolicyNotAuthorized(&'static str),
    /// 404 `itemNotFound`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `conflictingRequest`: not allowed in the resource's state.
    #[error("{0}")]
    Conflict(String),
    /// 412: the server's version does not satisfy `If-Match`.
    #[error(
        "server {id} has changed: its ETag is now \"{current}\", which If-Match does not name"
    )]
    PreconditionFailed {
        /// The server.
        id: uuid::Uuid,
        /// Its current version.
        current: u64,
    },
    /// 415 `badMediaType`: a body that is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Any other fault, whole: what a change refused with.
    #[error("{}", .0.message())]
    Fault(Fault),
    /// The request was not routed to a known `controller.action`.
    #[error("the compute API has no action {0:?}")]
    UnknownAction(String),
    /// The store failed. Its `Display` is for the log; the client gets
    /// [`client_message`](ComputeError::client_message).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ComputeError {
    /// Nova's `InstanceNotFound`: `Instance {id} could not be found.`
    pub fn instance_not_found(id: &str) -> Self {
        ComputeError::NotFound(format!("Instance {id} could not be found."))
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ComputeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ComputeError::Forbidden(_) | ComputeError::PolicyNotAuthorized(_) => {
                StatusCode::FORBIDDEN
            }
            ComputeError::NotFound(_) => StatusCode::NOT_FOUND,
            ComputeError::Conflict(_) => StatusCode::CONFLICT,
            ComputeError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ComputeError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ComputeError::Fault(fault) => fault.status(),
            ComputeError::UnknownAction(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ComputeError::Store(StoreError::Unavailable { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            ComputeError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message the client is answered with: a client error's own
    /// words; for a store's failure, fixed words of ours, since the
    /// driver's text (paths, hosts, SQL) belongs in the log only.
    pub fn client_message(&self) -> Cow<'static, str> {
        match self {
            ComputeError::Store(StoreError::Unavailable { .. }) => {
                Cow::Borrowed("the server store cannot be reached")
            }
            ComputeError::Store(_) => Cow::Borrowed("the server store failed"),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl From<ComputeError> for Fault {
    fn from(error: ComputeError) -> Self {
        match error {
            ComputeError::Fault(fault) => fault,
            other => Fault::new(other.status(), other.client_message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_reach_the_client_in_our_words_only() {
        let reason = "disk I/O error at /var/lib/nova.db".to_owned();
        let fault = Fault::from(ComputeError::Store(StoreError::Unavailable { reason }));
        assert_eq!(fault.status(), 503);
        assert_eq!(fault.message(), "the server store cannot be reached");
        let fault = Fault::from(ComputeError::instance_not_found("abc"));
        assert_eq!(
            (fault.status().as_u16(), fault.message()),
            (404, "Instance abc could not be found.")
        );
        let fault = Fault::from(ComputeError::Conflict("no".into()));
        assert_eq!(fault.kind(), "conflictingRequest");
    }
}
