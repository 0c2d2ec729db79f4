//! HTTP's conditional requests for instances: reading `If-Match` into
//! the [`IfMatch`] a store checks, and `If-None-Match` against a version
//! (RFC 9110, section 13).

use http::header::{HeaderMap, IF_MATCH, IF_NONE_MATCH};

use crate::IfMatch;

impl IfMatch {
    /// What a request's `If-Match` header lines ask: [`IfMatch::Any`]
    /// without one or with `*`, else the strong tags they name (a weak tag
    /// never matches, RFC 9110, 13.1.1).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if_match(headers)
    }
}

/// The entity tags of every `name` header line, or `None` if one of them is
/// `*`. Weak tags (`W/"7"`) are returned with `weak` set; anything that is
/// not one of our tags cannot match and is left out.
fn entity_tags(headers: &HeaderMap, name: http::header::HeaderName) -> Option<Vec<(bool, u64)>> {
    let mut tags = Vec::new();
    for value in headers.get_all(name) {
        // A value that is not text cannot name any of our tags.
        let Ok(value) = value.to_str() else { continue };
        for tag in value.split(',').map(str::trim) {
            if tag == "*" {
                return None;
            }
            let (weak, tag) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            let version = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|t| t.parse::<u64>().ok());
            if let Some(version) = version {
                tags.push((weak, version));
            }
        }
    }
    Some(tags)
}

/// What `If-Match` asks of the version. It uses the strong comparison, so a
/// weak tag never matches (RFC 9110, 13.1.1).
fn if_match(headers: &HeaderMap) -> IfMatch {
    if !headers.contains_key(IF_MATCH) {
        return IfMatch::Any;
    }
    match entity_tags(headers, IF_MATCH) {
        None => IfMatch::Any,
        Some(tags) => IfMatch::Versions(
            tags.into_iter()
                .filter(|(weak, _)| !weak)
                .map(|(_, version)| version)
                .collect(),
        ),
    }
}

/// Whether `If-None-Match` matches `version`, by the weak comparison
/// (RFC 9110, 13.1.2).
pub(crate) fn none_match(headers: &HeaderMap, version: u64) -> bool {
    if !headers.contains_key(IF_NONE_MATCH) {
        return false;
    }
    match entity_tags(headers, IF_NONE_MATCH) {
        None => true,
        Some(tags) => tags.iter().any(|(_, tag)| *tag == version),
    }
}
