//! Keystone's error body, the one shape every error answer of the
//! identity API takes: `{"error": {"code", "title", "message"}}`, the
//! title the status's reason phrase. Built here and nowhere else.

use http::header::{HeaderValue, ALLOW, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use nova_router::{json_response, Response};
use serde_json::json;

/// Keystone's message for every failed authentication: it says no more,
/// so a caller cannot tell an unknown user from a wrong password.
pub(crate) const UNAUTHORIZED_MESSAGE: &str = "The request you have made requires authentication.";

/// An error answer of the identity API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400: the request is malformed.
    BadRequest(String),
    /// 401: authentication failed or is missing; the reason is only logged.
    Unauthorized(&'static str),
    /// 403: the caller may not do this.
    Forbidden(String),
    /// 404: no such thing.
    NotFound(String),
    /// 405, with the methods that are allowed.
    MethodNotAllowed(Vec<Method>),
    /// 503: the token store could not be reached (the reason is logged
    /// where it happened).
    Unavailable,
}

impl ApiError {
    /// Keystone's `ValidationError` for a missing attribute.
    pub(crate) fn expecting(attribute: &str, target: &str) -> Self {
        ApiError::BadRequest(format!(
            "Expecting to find {attribute} in {target}. The server could not comply with the \
             request since it is either malformed or otherwise incorrect. The client is assumed \
             to be in error."
        ))
    }

    /// Keystone's `ForbiddenAction` for a policy rule.
    pub(crate) fn forbidden_action(action: &str) -> Self {
        ApiError::Forbidden(format!(
            "You are not authorized to perform the requested action: {action}."
        ))
    }

    /// The response; `identity_url` (where the service is) goes into a
    /// 401's `WWW-Authenticate` header, as Keystone's does.
    pub(crate) fn into_response(self, identity_url: &str) -> Response {
        let (status, message) = match &self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            ApiError::Unauthorized(reason) => {
                tracing::info!(reason, "authentication failed");
                (StatusCode::UNAUTHORIZED, UNAUTHORIZED_MESSAGE.to_owned())
            }
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, message.clone()),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, message.clone()),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "The method is not allowed for the requested URL.".to_owned(),
            ),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.".to_owned(),
            ),
        };
        let body = json!({"error": {
            "code": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "message": message,
        }});
        let mut response = json_response(status, &body);
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized(_) => {
                if let Ok(value) =
                    HeaderValue::from_str(&format!("Keystone uri=\"{identity_url}\""))
                {
                    headers.insert(WWW_AUTHENTICATE, value);
                }
            }
            ApiError::MethodNotAllowed(allowed) => {
                let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                if let Ok(value) = HeaderValue::from_str(&list.join(", ")) {
                    headers.insert(ALLOW, value);
                }
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_keystones_body_with_code_title_and_message() {
        let response = ApiError::Unauthorized("wrong password").into_response("http://h/identity");
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Keystone uri=\"http://h/identity\""
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": 401, "title": "Unauthorized", "message": UNAUTHORIZED_MESSAGE}})
        );
        let response =
            ApiError::MethodNotAllowed(vec![Method::GET, Method::HEAD]).into_response("");
        assert_eq!(response.headers()[ALLOW], "GET, HEAD");
    }
}
