//! The compute API's errors, and the one place they become Nova faults
//! ([`ComputeError::into_response`]).

use std::borrow::Cow;

use http::header::RETRY_AFTER;
use http::StatusCode;
use nova_controller::StoreError;
use nova_router::{json_response, Fault, Response};

use crate::InjectedFault;

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
    /// What a [`FaultInjector`](crate::FaultInjector) asked the request to
    /// be answered with ([`Injection::Fail`](crate::Injection)): its own
    /// status, fault kind and `Retry-After`.
    #[error("{}", .0.message)]
    Injected(InjectedFault),
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
            ComputeError::Injected(fault) => injected_status(fault),
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

    /// The answer to the client: Nova's fault body for the error's status
    /// ([`Fault`]), or for an injected fault the body with the kind it
    /// names and its `Retry-After`.
    pub fn into_response(self) -> Response {
        match self {
            ComputeError::Injected(fault) => {
                let status = injected_status(&fault);
                let body = serde_json::json!({
                    fault.kind.as_str(): {"code": status.as_u16(), "message": fault.message}
                });
                let mut response = json_response(status, &body);
                if let Some(seconds) = fault.retry_after {
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, http::HeaderValue::from(seconds));
                }
                response
            }
            other => Fault::from(other).into_response(),
        }
    }
}

/// An injected fault's status; one outside 400 to 599 (which the injector
/// should never give) is answered as 500, so that an error stays an error.
fn injected_status(fault: &InjectedFault) -> StatusCode {
    StatusCode::from_u16(fault.status)
        .ok()
        .filter(|status| status.is_client_error() || status.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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

    #[test]
    fn an_injected_fault_is_answered_with_its_own_kind_and_retry_after() {
        let injected = |status, retry_after| {
            ComputeError::Injected(InjectedFault {
                status,
                kind: "overLimit".to_owned(),
                message: "slow down".to_owned(),
                retry_after,
            })
            .into_response()
        };
        let response = injected(429, Some(7));
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[RETRY_AFTER], "7");
        assert_eq!(
            response.body().as_ref(),
            br#"{"overLimit":{"code":429,"message":"slow down"}}"#
        );
        // A status that is no error is not answered as a success.
        let response = injected(200, None);
        assert_eq!(response.status(), 500);
        assert!(response.headers().get(RETRY_AFTER).is_none());
    }
}
