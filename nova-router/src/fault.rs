//! Nova's fault body, the one shape every error response in nova-rs takes.
//!
//! `{"<kind>": {"code": <status>, "message": "<what was wrong>"}}`, with the
//! kind names Nova's `wsgi.Fault` uses. Every crate builds its error responses
//! through [`Fault`], so the shape is written down exactly once.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;
use serde::Serialize;

use crate::Response;

/// The `Content-Type` of every body nova-rs writes.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// An error answer: a status and a message for the client.
///
/// ```
/// use nova_router::Fault;
///
/// let response = Fault::not_found("instance abc could not be found").into_response();
/// assert_eq!(response.status(), 404);
/// assert_eq!(
///     response.body().as_ref(),
///     br#"{"itemNotFound":{"code":404,"message":"instance abc could not be found"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    status: StatusCode,
    message: String,
}

impl Fault {
    /// A fault with any status; prefer the named constructors.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Fault {
            status,
            message: message.into(),
        }
    }

    /// 400 `badRequest`: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404 `itemNotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 413 `overLimit`.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// 415 `badMediaType`.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
    }

    /// 500 `computeFault`: something went wrong on the server's side.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 503 `serviceUnavailable`.
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// The HTTP status of this fault.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message shown to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The key of the fault body: Nova's own name where Nova has one, otherwise
    /// the reason phrase in lowerCamel case (412: `preconditionFailed`).
    pub fn kind(&self) -> Cow<'static, str> {
        kind_of(self.status)
    }

    /// The JSON response for this fault.
    pub fn into_response(self) -> Response {
        let kind = self.kind();
        let body = serde_json::json!({
            kind: { "code": self.status.as_u16(), "message": self.message }
        });
        json_response(self.status, &body)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind(),
            self.message
        )
    }
}

impl From<Fault> for Response {
    fn from(fault: Fault) -> Self {
        fault.into_response()
    }
}

/// Nova's names, from `nova.api.openstack.wsgi.Fault._fault_names`; 500 is
/// `computeFault` there by default.
fn kind_of(status: StatusCode) -> Cow<'static, str> {
    let nova_name = match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        // Nova has no name of its own for 406 (an unsupported
        // microversion), so its default applies.
        406 | 500 => "computeFault",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => return Cow::Owned(lower_camel_reason(status)),
    };
    Cow::Borrowed(nova_name)
}

fn lower_camel_reason(status: StatusCode) -> String {
    let reason = status.canonical_reason().unwrap_or("Unknown Status");
    // "I'm a teapot" is one word "Im", not "I" and "m".
    let reason = reason.replace('\'', "");
    let mut kind = String::with_capacity(reason.len());
    for (index, word) in reason
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .enumerate()
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if index == 0 {
                kind.push(first.to_ascii_lowercase());
            } else {
                kind.push(first.to_ascii_uppercase());
            }
            kind.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    kind
}

/// The 405 `badMethod` answer to `method` where only `allowed` are, with the
/// `Allow` header listing them.
///
/// ```
/// use http::Method;
///
/// let response = nova_router::method_not_allowed(&Method::PUT, &[Method::GET, Method::HEAD]);
/// assert_eq!(response.status(), 405);
/// assert_eq!(response.headers()["allow"], "GET, HEAD");
/// ```
pub fn method_not_allowed(method: &http::Method, allowed: &[http::Method]) -> Response {
    let list = allowed
        .iter()
        .map(http::Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = Fault::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed here; allowed: {list}"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&list) {
        response.headers_mut().insert(http::header::ALLOW, value);
    }
    response
}

/// A JSON response with the given status.
///
/// Serialising the value cannot fail for the plain data nova-rs answers with;
/// should it ever, the client gets a 500 fault rather than a broken body.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let (status, body) = match serde_json::to_vec(value) {
        Ok(body) => (status, body),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"computeFault":{"code":500,"message":"the response could not be serialised"}}"#
                .to_vec(),
        ),
    };
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nova_names_are_used_where_nova_has_them() {
        let table = [
            (400, "badRequest"),
            (403, "forbidden"),
            (404, "itemNotFound"),
            (405, "badMethod"),
            (409, "conflictingRequest"),
            (413, "overLimit"),
            (415, "badMediaType"),
            (500, "computeFault"),
            (503, "serviceUnavailable"),
        ];
        for (code, kind) in table {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(Fault::new(status, "x").kind(), kind, "status {code}");
        }
    }

    #[test]
    fn other_statuses_are_named_after_their_reason_phrase() {
        let table = [
            (412, "preconditionFailed"),
            (408, "requestTimeout"),
            (431, "requestHeaderFieldsTooLarge"),
            (502, "badGateway"),
            (418, "imATeapot"),
        ];
        for (code, kind) in table {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(Fault::new(status, "x").kind(), kind, "status {code}");
        }
    }

    #[test]
    fn a_fault_response_is_json_with_code_and_message() {
        let response = Fault::new(StatusCode::PRECONDITION_FAILED, "etag \"3\" does not match")
            .into_response();
        assert_eq!(response.status(), 412);
        assert_eq!(response.headers()[CONTENT_TYPE], JSON_CONTENT_TYPE);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"preconditionFailed": {"code": 412, "message": "etag \"3\" does not match"}})
        );
    }
}
