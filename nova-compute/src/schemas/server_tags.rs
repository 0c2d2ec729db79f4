//! The request schemas of a server's tags (Nova's
//! `schemas/server_tags.py`): the whole set for `PUT
//! /servers/{id}/tags`, no body for `PUT …/tags/{tag}`, and the check
//! Nova makes of a tag named in the path. Its reads take no query
//! parameters from 2.102 ([`super::query`]).

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::parameter_types::tag;
use super::Schema;
use crate::ComputeError;

/// How many tags a server may have: Nova's `instance.MAX_TAG_COUNT`.
pub(crate) const MAX_TAG_COUNT: usize = 50;

/// `{"tags": [...]}`: Nova's `update_all`.
fn update_all() -> Value {
    json!({
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": tag(), "maxItems": MAX_TAG_COUNT},
        },
        "required": ["tags"],
        "additionalProperties": false,
    })
}

/// No body: Nova's `update` (`"type": "null"`).
fn update() -> Value {
    json!({"type": "null"})
}

/// Checks the body of `PUT /servers/{id}/tags`.
pub(crate) fn check_update_all(body: &Value) -> Result<(), ComputeError> {
    static CELL: OnceLock<Result<Schema, String>> = OnceLock::new();
    super::query::compiled(&CELL, update_all)?.check_body(body)
}

/// Checks the body of `PUT /servers/{id}/tags/{tag}` (`null` for none).
pub(crate) fn check_update(body: &Value) -> Result<(), ComputeError> {
    static CELL: OnceLock<Result<Schema, String>> = OnceLock::new();
    super::query::compiled(&CELL, update)?.check_body(body)
}

/// Checks a tag named in the path of `PUT /servers/{id}/tags/{tag}`, as
/// Nova validates it against `parameter_types.tag` in the controller:
/// 400 `Tag '{tag}' is invalid. It must be a non empty string without
/// characters '/' and ','. Validation error message: {jsonschema's}`.
pub(crate) fn check_path_tag(name: &str) -> Result<(), ComputeError> {
    static CELL: OnceLock<Result<Schema, String>> = OnceLock::new();
    // At the schema's root the check answers jsonschema's bare message.
    super::query::compiled(&CELL, tag)?
        .check_body(&Value::String(name.to_owned()))
        .map_err(|error| {
            ComputeError::BadRequest(format!(
                "Tag '{name}' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: {error}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<(), ComputeError>) -> String {
        match result {
            Err(ComputeError::BadRequest(message)) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_set_holds_at_most_fifty_tags_of_sixty_characters_without_commas_or_slashes() {
        assert!(check_update_all(&json!({"tags": []})).is_ok());
        let fifty: Vec<String> = (0..50).map(|n| format!("t{n}")).collect();
        assert!(check_update_all(&json!({ "tags": fifty })).is_ok());
        let many: Vec<String> = (0..51).map(|n| format!("t{n}")).collect();
        assert!(refused(check_update_all(&json!({ "tags": many }))).ends_with("is too long"));
        assert!(check_update_all(&json!({"tags": ["x".repeat(60)]})).is_ok());
        assert!(check_update_all(&json!({"tags": ["x".repeat(61)]})).is_err());
        assert_eq!(
            refused(check_update_all(&json!({"tags": ["a,b"]}))),
            "Invalid input for field/attribute 0. Value: a,b. 'a,b' does not match '^[^,/]*$'"
        );
        assert!(check_update_all(&json!({"tags": [""]})).is_err());
        assert!(check_update_all(&json!({})).is_err());
        assert!(check_update_all(&json!({"tags": [], "x": 1})).is_err());
    }

    #[test]
    fn one_tag_is_put_with_no_body_and_a_valid_name() {
        assert!(check_update(&Value::Null).is_ok());
        assert!(check_update(&json!({})).is_err());
        assert!(check_path_tag("web").is_ok());
        assert_eq!(
            refused(check_path_tag("a/b")),
            "Tag 'a/b' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: 'a/b' does not match '^[^,/]*$'"
        );
        assert!(refused(check_path_tag(&"x".repeat(61))).ends_with("is too long"));
    }
}
