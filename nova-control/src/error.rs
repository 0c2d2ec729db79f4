//! The control crate's error answers, built here and nowhere else: Nova's
//! fault body for the control API and for faults injected in front of the
//! compute API, Keystone's error body for faults injected in front of the
//! identity service. A store's own words go to the log, never to a client.

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Method, StatusCode};
use nova_compute::{ComputeError, InjectedFault};
use nova_controller::StoreError;
use nova_router::{json_response, method_not_allowed, Fault, Response};
use serde_json::json;

use crate::Fail;

/// What a client is told when a store failed: no more, since the driver's
/// text (paths, hosts, SQL) is for the log.
pub(crate) const UNAVAILABLE_MESSAGE: &str =
    "The control state cannot be reached just now; try again later.";

/// Keystone's words for a failure of its own backend.
const KEYSTONE_UNAVAILABLE_MESSAGE: &str = "The service is temporarily unavailable.";

/// Nova's fault kind for `status` (`computeFault` for 500), as the
/// compute API names it.
fn nova_kind(status: u16) -> String {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Fault::new(status, "").kind().into_owned()
}

/// The fault a `fail` behaviour answers with, its kind Nova's for the
/// status unless the behaviour names one.
pub(crate) fn injected_fault(fail: Fail) -> InjectedFault {
    InjectedFault {
        kind: fail.kind.unwrap_or_else(|| nova_kind(fail.status)),
        status: fail.status,
        message: fail.message,
        retry_after: fail.retry_after,
    }
}

/// Why the control API (or one of its hooks) answers other than with
/// success.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ControlError {
    /// 400 `badRequest`, in these words.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthorized`: no control token, or the wrong one.
    #[error("The control API needs its token in X-Auth-Token.")]
    Unauthorized,
    /// 403 `forbidden`, in these words.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `itemNotFound`, in these words.
    #[error("{0}")]
    NotFound(String),
    /// 405 `badMethod`, naming the methods the path takes.
    #[error("method {method} is not allowed here")]
    MethodNotAllowed {
        /// The request's method.
        method: Method,
        /// The path's methods.
        allowed: Vec<Method>,
    },
    /// 409 `conflictingRequest`, in these words.
    #[error("{0}")]
    Conflict(String),
    /// 503 `serviceUnavailable`: a store failed; its reason is logged.
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

impl ControlError {
    /// The Nova fault answering this error; a store's failure is logged
    /// here, as it is answered.
    pub(crate) fn into_response(self) -> Response {
        let (status, message) = match self {
            ControlError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ControlError::Unauthorized => (StatusCode::UNAUTHORIZED, self.to_string()),
            ControlError::Forbidden(message) => (StatusCode::FORBIDDEN, message),
            ControlError::NotFound(message) => (StatusCode::NOT_FOUND, message),
            ControlError::MethodNotAllowed { method, allowed } => {
                return method_not_allowed(&method, &allowed);
            }
            ControlError::Conflict(message) => (StatusCode::CONFLICT, message),
            ControlError::Unavailable(error) => {
                tracing::error!(%error, "the control store failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE_MESSAGE.to_owned(),
                )
            }
        };
        Fault::new(status, message).into_response()
    }
}

/// The answer to a compute request a behaviour fails: the compute API's
/// own answer to an injected fault (its kind, its `Retry-After`), so that
/// a fault injected in front of the API and one injected inside it read
/// alike.
pub(crate) fn injected_fault_response(fault: InjectedFault) -> Response {
    ComputeError::Injected(fault).into_response()
}

/// Keystone's error body, `{"error": {"code", "message", "title"}}`, the
/// title the status's reason phrase; with `Retry-After` if given.
pub(crate) fn keystone_error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|status| status.is_client_error() || status.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {
        "code": status.as_u16(),
        "message": message,
        "title": status.canonical_reason().unwrap_or("Error"),
    }});
    let mut response = json_response(status, &body);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The identity service's answer when the control store failed, in
/// Keystone's shape; the reason is logged.
pub(crate) fn keystone_unavailable(error: &StoreError) -> Response {
    tracing::error!(%error, "the control store failed");
    keystone_error(503, KEYSTONE_UNAVAILABLE_MESSAGE, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn a_store_failure_reaches_the_client_in_our_words_only() {
        let reason = "connection refused at db.internal:5432".to_owned();
        let response = ControlError::from(StoreError::Unavailable { reason }).into_response();
        assert_eq!(response.status(), 503);
        let text = std::str::from_utf8(response.body()).unwrap();
        assert!(!text.contains("db.internal"), "{text}");
        assert_eq!(
            body(&response)["serviceUnavailable"]["message"],
            UNAVAILABLE_MESSAGE
        );
        let keystone = keystone_unavailable(&StoreError::Corrupt {
            reason: "row 7".to_owned(),
        });
        assert_eq!(
            body(&keystone),
            json!({"error": {"code": 503, "message": KEYSTONE_UNAVAILABLE_MESSAGE,
                "title": "Service Unavailable"}})
        );
    }

    #[test]
    fn the_unauthorized_answer_says_where_the_token_goes() {
        let response = ControlError::Unauthorized.into_response();
        assert_eq!(
            body(&response),
            json!({"unauthorized": {"code": 401,
                "message": "The control API needs its token in X-Auth-Token."}})
        );
    }

    #[test]
    fn nova_kinds_are_the_compute_apis() {
        for (status, kind) in [
            (500, "computeFault"),
            (429, "overLimit"),
            (502, "badGateway"),
        ] {
            assert_eq!(nova_kind(status), kind);
        }
    }
}
