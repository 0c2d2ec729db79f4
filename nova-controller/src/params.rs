//! Reading `name` from a request: a form body, a JSON body or the query string.
//!
//! The seed reads `req.params['name']`, which is the query string and a form
//! body merged; nova-rs also reads JSON, both flat (`{"name": …}`) and in
//! Nova's envelope (`{"instance": {"name": …}}`).

use std::borrow::Cow;

use http::header::CONTENT_TYPE;
use nova_router::Request;
use percent_encoding::percent_decode;
use serde_json::Value;

use crate::{ControllerError, NameError, RequestBodyError};

/// The most characters (Unicode scalar values) a name may have, as in Nova.
pub const MAX_NAME_CHARS: usize = 255;

/// Checks a name as the API does before anything is stored.
///
/// ```
/// use nova_controller::{validate_name, NameError};
///
/// assert_eq!(validate_name("web-1"), Ok(()));
/// assert_eq!(validate_name("   "), Err(NameError::Blank));
/// assert!(matches!(validate_name(&"x".repeat(256)), Err(NameError::TooLong { .. })));
/// ```
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.trim().is_empty() {
        return Err(NameError::Blank);
    }
    let length = name.chars().count();
    if length > MAX_NAME_CHARS {
        return Err(NameError::TooLong {
            length,
            max: MAX_NAME_CHARS,
        });
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    if name.trim() != name {
        return Err(NameError::SurroundingWhitespace);
    }
    Ok(())
}

/// The validated `name` of a create or update request.
pub(crate) fn instance_name(req: &Request) -> Result<String, ControllerError> {
    let from_body = name_from_body(req)?;
    let from_query = match req.uri().query() {
        Some(query) => name_from_form(query.as_bytes(), false)?,
        None => None,
    };
    let name = match (from_body, from_query) {
        (Some(_), Some(_)) => return Err(NameError::Repeated.into()),
        (Some(name), None) | (None, Some(name)) => name,
        (None, None) => return Err(NameError::Missing.into()),
    };
    validate_name(&name)?;
    Ok(name)
}

fn name_from_body(req: &Request) -> Result<Option<String>, ControllerError> {
    let body = req.body();
    // An empty body says nothing, whatever its declared type.
    if body.is_empty() {
        return Ok(None);
    }
    let Some(content_type) = req.headers().get(CONTENT_TYPE) else {
        return Err(RequestBodyError::MissingContentType.into());
    };
    let content_type = content_type.to_str().map_err(|_| {
        RequestBodyError::UnsupportedMediaType(
            String::from_utf8_lossy(content_type.as_bytes()).into_owned(),
        )
    })?;
    let mut parts = content_type.split(';');
    let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    for parameter in parts {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let value = value.trim().trim_matches('"');
        if key.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
            return Err(RequestBodyError::UnsupportedMediaType(content_type.to_owned()).into());
        }
    }
    match media_type.as_str() {
        "application/x-www-form-urlencoded" => name_from_form(body, true),
        "application/json" => name_from_json(body),
        _ => Err(RequestBodyError::UnsupportedMediaType(content_type.to_owned()).into()),
    }
}

/// Reads `name` from `application/x-www-form-urlencoded` text. Decoding is
/// strict: text that is not UTF-8 once decoded is an error, not replaced.
/// In a body every field must be `name`; a query string may carry others.
fn name_from_form(text: &[u8], is_body: bool) -> Result<Option<String>, ControllerError> {
    let mut name = None;
    for pair in text.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let key = decode_form_component(key)?;
        if key != "name" {
            if is_body {
                return Err(RequestBodyError::UnexpectedField(key.into_owned()).into());
            }
            continue;
        }
        if name.is_some() {
            return Err(NameError::Repeated.into());
        }
        name = Some(decode_form_component(value)?.into_owned());
    }
    Ok(name)
}

fn decode_form_component(raw: &[u8]) -> Result<Cow<'_, str>, ControllerError> {
    let not_utf8 = |_| -> ControllerError {
        RequestBodyError::Malformed("form data is not valid UTF-8 once decoded".to_owned()).into()
    };
    // Most components (the key `name`, a plain name) have nothing to
    // decode: they are read in place.
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(not_utf8);
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let decoded: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|error| not_utf8(error.utf8_error()))
}

fn name_from_json(body: &[u8]) -> Result<Option<String>, ControllerError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| RequestBodyError::Malformed(format!("invalid JSON: {error}")))?;
    let Value::Object(mut object) = value else {
        return Err(
            RequestBodyError::Malformed("the JSON body must be an object".to_owned()).into(),
        );
    };
    // Nova's envelope, {"instance": {...}}, or the fields directly.
    let mut fields = match object.remove("instance") {
        Some(Value::Object(inner)) => {
            if let Some(extra) = object.keys().next() {
                return Err(RequestBodyError::UnexpectedField(extra.clone()).into());
            }
            inner
        }
        Some(_) => {
            return Err(
                RequestBodyError::Malformed("\"instance\" must be an object".to_owned()).into(),
            )
        }
        None => object,
    };
    let name = fields.remove("name");
    if let Some(extra) = fields.keys().next() {
        return Err(RequestBodyError::UnexpectedField(extra.clone()).into());
    }
    match name {
        None => Ok(None),
        Some(Value::String(name)) => Ok(Some(name)),
        Some(_) => Err(NameError::NotAString.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn request(uri: &str, content_type: Option<&str>, body: &'static [u8]) -> Request {
        let mut builder = http::Request::post(uri);
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder.body(Bytes::from_static(body)).unwrap()
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn a_name_is_read_from_every_accepted_place() {
        let table: [(&str, Option<&str>, &[u8], &str); 8] = [
            ("/instances", FORM, b"name=demo_one", "demo_one"),
            ("/instances", FORM, b"name=demo+one%21", "demo one!"),
            ("/instances?name=from%20query", None, b"", "from query"),
            ("/instances?other=1&name=q", None, b"", "q"),
            ("/instances", JSON, br#"{"name": "flat"}"#, "flat"),
            (
                "/instances",
                JSON,
                br#"{"instance": {"name": "wrapped"}}"#,
                "wrapped",
            ),
            (
                "/instances",
                Some("application/json; charset=UTF-8"),
                br#"{"name":"cs"}"#,
                "cs",
            ),
            (
                "/instances",
                FORM,
                "name=%E5%AE%9E%E4%BE%8B".as_bytes(),
                "实例",
            ),
        ];
        for (uri, content_type, body, expected) in table {
            let got = instance_name(&request(uri, content_type, body));
            assert_eq!(
                got,
                Ok(expected.to_owned()),
                "{uri} {content_type:?} {body:?}"
            );
        }
    }

    #[test]
    fn bad_names_and_bodies_are_refused_with_the_reason() {
        use ControllerError as E;
        let long = format!("name={}", "x".repeat(256));
        let long: &'static [u8] = Box::leak(long.into_bytes().into_boxed_slice());
        let table: [(&str, Option<&str>, &[u8], ControllerError); 17] = [
            ("/instances", None, b"", E::Name(NameError::Missing)),
            (
                "/instances",
                FORM,
                b"nam=x",
                E::Body(RequestBodyError::UnexpectedField("nam".into())),
            ),
            ("/instances", FORM, b"name=", E::Name(NameError::Empty)),
            ("/instances", FORM, b"name=+++", E::Name(NameError::Blank)),
            (
                "/instances",
                FORM,
                b"name=%20x",
                E::Name(NameError::SurroundingWhitespace),
            ),
            (
                "/instances",
                FORM,
                long,
                E::Name(NameError::TooLong {
                    length: 256,
                    max: 255,
                }),
            ),
            (
                "/instances",
                FORM,
                b"name=a%00b",
                E::Name(NameError::ControlCharacter),
            ),
            (
                "/instances",
                FORM,
                b"name=%FF",
                E::Body(RequestBodyError::Malformed(
                    "form data is not valid UTF-8 once decoded".into(),
                )),
            ),
            (
                "/instances",
                FORM,
                b"name=a&name=b",
                E::Name(NameError::Repeated),
            ),
            (
                "/instances?name=a",
                FORM,
                b"name=b",
                E::Name(NameError::Repeated),
            ),
            (
                "/instances",
                JSON,
                br#"{"name": 5}"#,
                E::Name(NameError::NotAString),
            ),
            (
                "/instances",
                JSON,
                br#"{"name": "x", "flavor": "m1"}"#,
                E::Body(RequestBodyError::UnexpectedField("flavor".into())),
            ),
            (
                "/instances",
                JSON,
                br#"{"instance": "x"}"#,
                E::Body(RequestBodyError::Malformed(
                    "\"instance\" must be an object".into(),
                )),
            ),
            (
                "/instances",
                JSON,
                b"[1]",
                E::Body(RequestBodyError::Malformed(
                    "the JSON body must be an object".into(),
                )),
            ),
            (
                "/instances",
                Some("text/plain"),
                b"name=x",
                E::Body(RequestBodyError::UnsupportedMediaType("text/plain".into())),
            ),
            (
                "/instances",
                None,
                b"name=x",
                E::Body(RequestBodyError::MissingContentType),
            ),
            (
                "/instances",
                Some("application/json; charset=latin1"),
                br#"{"name":"x"}"#,
                E::Body(RequestBodyError::UnsupportedMediaType(
                    "application/json; charset=latin1".into(),
                )),
            ),
        ];
        for (uri, content_type, body, expected) in table {
            let got = instance_name(&request(uri, content_type, body));
            assert_eq!(got, Err(expected), "{uri} {content_type:?} {body:?}");
        }
    }

    #[test]
    fn broken_json_is_a_malformed_body() {
        let got = instance_name(&request("/instances", JSON, b"{\"name\": "));
        assert!(
            matches!(got, Err(ControllerError::Body(RequestBodyError::Malformed(ref m))) if m.starts_with("invalid JSON")),
            "{got:?}"
        );
    }

    #[test]
    fn names_at_the_length_limit_are_accepted() {
        assert_eq!(validate_name(&"é".repeat(MAX_NAME_CHARS)), Ok(()));
        assert_eq!(validate_name("a b"), Ok(()));
    }
}
