//! The request schemas of a server's metadata (Nova's
//! `schemas/server_metadata.py`): a whole set for `POST` and `PUT
//! /servers/{id}/metadata`, exactly one item for `PUT …/metadata/{key}`.
//! Its reads take no query parameters from 2.102 ([`super::query`]).

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::parameter_types::metadata;
use super::Schema;
use crate::ComputeError;

/// `{"metadata": {...}}`: Nova's `create` and `update_all`.
fn set() -> Value {
    json!({
        "type": "object",
        "properties": {"metadata": metadata()},
        "required": ["metadata"],
        "additionalProperties": false,
    })
}

/// `{"meta": {key: value}}`: Nova's `update`, one item exactly.
fn item() -> Value {
    let mut meta = metadata();
    meta["minProperties"] = json!(1);
    meta["maxProperties"] = json!(1);
    json!({
        "type": "object",
        "properties": {"meta": meta},
        "required": ["meta"],
        "additionalProperties": false,
    })
}

/// Checks the body of `POST` or `PUT /servers/{id}/metadata`.
pub(crate) fn check_set(body: &Value) -> Result<(), ComputeError> {
    static CELL: OnceLock<Result<Schema, String>> = OnceLock::new();
    super::query::compiled(&CELL, set)?.check_body(body)
}

/// Checks the body of `PUT /servers/{id}/metadata/{key}`.
pub(crate) fn check_item(body: &Value) -> Result<(), ComputeError> {
    static CELL: OnceLock<Result<Schema, String>> = OnceLock::new();
    super::query::compiled(&CELL, item)?.check_body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(check: fn(&Value) -> Result<(), ComputeError>, body: Value) -> String {
        match check(&body) {
            Err(ComputeError::BadRequest(message)) => message,
            other => panic!("{body} gave {other:?}"),
        }
    }

    #[test]
    fn a_set_takes_string_values_under_novas_key_pattern() {
        assert!(check_set(&json!({"metadata": {}})).is_ok());
        assert!(check_set(&json!({"metadata": {"a-b_c:d. e": ""}})).is_ok());
        assert_eq!(
            refused(check_set, json!({"metadata": {"k": 1}})),
            "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"
        );
        assert!(check_set(&json!({"metadata": {"k": "v".repeat(256)}})).is_err());
        assert!(check_set(&json!({"metadata": {"bad/key": "v"}})).is_err());
        assert!(check_set(&json!({"meta": {}})).is_err());
        assert!(check_set(&json!({"metadata": {"k".repeat(256): "v"}})).is_err());
    }

    #[test]
    fn an_item_is_exactly_one_pair() {
        assert!(check_item(&json!({"meta": {"k": "v"}})).is_ok());
        let two = refused(check_item, json!({"meta": {"a": "1", "b": "2"}}));
        assert!(
            two.starts_with(
                "Invalid input for field/attribute meta. Value: {'a': '1', 'b': '2'}. "
            ),
            "{two}"
        );
        assert!(check_item(&json!({"meta": {}})).is_err());
    }
}
