//! Nova's fault body, the one shape every error response in nova-rs takes.
//!
//! `{"<kind>": {"code": <status>, "message": "<what was wrong>"}}`, with the
//! kind names Nova's `wsgi.Fault` uses. Every crate builds its error responses
//! through [`Fault`], so the shape is written down exactly once.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

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
        json_response(self.status, &self)
    }
}

/// `{"<kind>": {"code": <status>, "message": "<message>"}}`, written
/// straight to the output rather than built as a `serde_json::Value` first.
impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Detail<'a> {
            code: u16,
            message: &'a str,
        }
        let mut body = serializer.serialize_map(Some(1))?;
        body.serialize_entry(
            &self.kind(),
            &Detail {
                code: self.status.as_u16(),
                message: &self.message,
            },
        )?;
        body.end()
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

/// How many headers a response's map has room for from the start.
const RESPONSE_HEADERS: usize = 10;

/// A JSON response with the given status.
///
/// Serialising the value cannot fail for the plain data nova-rs answers with;
/// should it ever, the client gets a 500 fault rather than a broken body.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    // Room for a typical single-resource answer, so that one is written
    // without growing the buffer (serde_json's own start is 128 bytes).
    let mut body = Vec::with_capacity(512);
    let (status, body) = match serde_json::to_writer(&mut body, value) {
        Ok(()) => (status, body),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"computeFault":{"code":500,"message":"the response could not be serialised"}}"#
                .to_vec(),
        ),
    };
    serialized_json_response(status, Bytes::from(body))
}

/// A JSON response with the given status and a body serialised earlier (a
/// listing kept while nothing changes, a fault that never changes).
///
/// ```
/// use bytes::Bytes;
/// use http::StatusCode;
///
/// let response = nova_router::serialized_json_response(StatusCode::OK, Bytes::from_static(b"{}"));
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
pub fn serialized_json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    // Room for the headers the filters on the way out add (request ids,
    // microversion, `Vary`), so that the map is not grown and rehashed.
    *response.headers_mut() = http::HeaderMap::with_capacity(RESPONSE_HEADERS);
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
    fn a_fault_body_is_the_kind_then_code_and_message_escaped_as_json() {
        let response = Fault::new(StatusCode::IM_A_TEAPOT, "say \"hi\"\n").into_response();
        assert_eq!(
            std::str::from_utf8(response.body()).unwrap(),
            r#"{"imATeapot":{"code":418,"message":"say \"hi\"\n"}}"#
        );
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
