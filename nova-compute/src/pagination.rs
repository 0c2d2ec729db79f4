//! Paging a listing the way Nova's `common.py` does: the page size and
//! marker a request asks for (`get_limit_and_marker`) and the `next` link
//! of a full page (`ViewBuilder._get_collection_links`, `_get_next_link`).
//!
//! Both read the query parameters as the controller sees them after its
//! query schema ran: before 2.75 Nova strips parameters its schema does not
//! name from the request, so they are not repeated in a `next` link.

use serde_json::{json, Value};

use crate::api::Call;

/// The last value of `name` among `params`, as webob's `MultiDict.get`.
pub(crate) fn last<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A limit the query schema let through (digits only): its value, a
/// number too large for `usize` being as good as infinite.
fn limit_value(text: &str) -> usize {
    text.trim().parse::<usize>().unwrap_or(usize::MAX)
}

/// Nova's `get_limit_and_marker`: the page size (`limit`, at most
/// `max_limit`, which is also the default) and the marker.
pub(crate) fn limit_and_marker(
    params: &[(String, String)],
    max_limit: usize,
) -> (usize, Option<String>) {
    let limit = last(params, "limit").map_or(max_limit, limit_value);
    (
        limit.min(max_limit),
        last(params, "marker").map(str::to_owned),
    )
}

/// Nova's `_get_collection_links`: `[{"rel": "next", "href": …}]` when a
/// page of `page_len` items is full (as many as `limit` asked, capped at
/// `max_limit`), the next page starting after `last_id`; `None` when it
/// is not.
pub(crate) fn collection_links(
    call: &Call,
    params: &[(String, String)],
    max_limit: usize,
    page_len: usize,
    last_id: Option<&str>,
    collection: &str,
) -> Option<Value> {
    let max_items = last(params, "limit")
        .map_or(max_limit, limit_value)
        .min(max_limit);
    let last_id = last_id?;
    if max_items == 0 || page_len != max_items {
        return None;
    }
    Some(json!([{
        "rel": "next",
        "href": next_link(call, params, collection, last_id),
    }]))
}

/// Nova's `_get_next_link`: the collection's URL with the request's
/// parameters sorted, one value each (the last), and `marker` set to
/// `marker`.
pub(crate) fn next_link(
    call: &Call,
    params: &[(String, String)],
    collection: &str,
    marker: &str,
) -> String {
    // `OrderedDict(sorted(params.items()))`: sorted by name then value,
    // a repeated name kept where it first sorts, with its last value.
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for (key, value) in sorted {
        match pairs.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        }
    }
    match pairs.iter_mut().find(|(k, _)| *k == "marker") {
        Some(pair) => pair.1 = marker,
        None => pairs.push(("marker", marker)),
    }
    format!(
        "{}?{}",
        call.collection_link(collection),
        urlencode(pairs.into_iter())
    )
}

/// Python's `urlencode` of `pairs`: `name=value` joined with `&`, each
/// side through [`quote_plus`].
pub(crate) fn urlencode<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .map(|(key, value)| format!("{}={}", quote_plus(key), quote_plus(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Python's `quote_plus`: letters, digits and `_.-~` as they are, a space
/// as `+`, every other byte of the UTF-8 text as `%XX`.
pub(crate) fn quote_plus(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                quoted.push(char::from(byte));
            }
            b' ' => quoted.push('+'),
            other => quoted.push_str(&format!("%{other:02X}")),
        }
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn quote_plus_escapes_as_python_does() {
        assert_eq!(quote_plus("a b/c~d*e"), "a+b%2Fc~d%2Ae");
        assert_eq!(quote_plus("é"), "%C3%A9");
        assert_eq!(
            urlencode([("sort key", "x&y"), ("m", "=")].into_iter()),
            "sort+key=x%26y&m=%3D"
        );
    }

    #[test]
    fn the_page_size_is_capped_at_the_maximum_and_defaults_to_it() {
        assert_eq!(limit_and_marker(&pairs(&[]), 1000), (1000, None));
        assert_eq!(
            limit_and_marker(
                &pairs(&[("limit", "5"), ("limit", "2"), ("marker", "m")]),
                1000
            ),
            (2, Some("m".to_owned()))
        );
        assert_eq!(
            limit_and_marker(&pairs(&[("limit", "99999999999999999999999")]), 1000),
            (1000, None)
        );
        assert_eq!(limit_and_marker(&pairs(&[("limit", "0")]), 1000).0, 0);
    }
}
