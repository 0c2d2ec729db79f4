//! The request schemas of key pairs (Nova's `schemas/keypairs.py`): the
//! create body at each microversion that changed it, and the query of the
//! reads and the delete.
//!
//! | from | create body | query |
//! |---|---|---|
//! | 2.1 | `name` (letters, digits, `_`, `-`, space), `public_key` | anything |
//! | 2.2 | `type` (`ssh` or `x509`) | |
//! | 2.10 | `user_id` | `user_id` |
//! | 2.35 | | `limit`, `marker` on the listing |
//! | 2.75 | | nothing else |
//! | 2.92 | `public_key` required; names may also hold `@` and `.` | |

use std::sync::OnceLock;

use nova_router::ApiVersion;
use serde_json::{json, Value};

use super::parameter_types::name;
use super::query::{compiled, query_object};
use super::Schema;
use crate::api::Call;
use crate::ComputeError;

/// Nova's `keypair_name_special_chars` (and, from 2.92,
/// `keypair_name_special_chars_v292`): a valid name of the characters
/// the pattern allows.
fn keypair_name(v292: bool) -> Value {
    let pattern = if v292 {
        r"^[_\-\@\. a-zA-Z0-9]+$"
    } else {
        r"^[_\- a-zA-Z0-9]+$"
    };
    json!({"allOf": [
        name(),
        {"type": "string", "pattern": pattern, "minLength": 1, "maxLength": 255},
    ]})
}

/// The create body at the microversion whose schema `minor` names (1, 2,
/// 10 or 92).
fn create(minor: u16) -> Value {
    let mut properties = json!({
        "name": keypair_name(minor >= 92),
        "public_key": {"type": "string"},
    });
    if minor >= 2 {
        properties["type"] = json!({"type": "string", "enum": ["ssh", "x509"]});
    }
    if minor >= 10 {
        properties["user_id"] = json!({"type": "string"});
    }
    let required = if minor >= 92 {
        json!(["name", "public_key"])
    } else {
        json!(["name"])
    };
    json!({
        "type": "object",
        "properties": {
            "keypair": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            },
        },
        "required": ["keypair"],
        "additionalProperties": false,
    })
}

/// Checks a create body at the call's microversion.
pub(crate) fn check_create(call: &Call, body: &Value) -> Result<(), ComputeError> {
    static V21: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V22: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V210: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V292: OnceLock<Result<Schema, String>> = OnceLock::new();
    let schema = if call.at_least(2, 92) {
        compiled(&V292, || create(92))?
    } else if call.at_least(2, 10) {
        compiled(&V210, || create(10))?
    } else if call.at_least(2, 2) {
        compiled(&V22, || create(2))?
    } else {
        compiled(&V21, || create(1))?
    };
    schema.check_body(body)
}

/// The query schema of a read or delete: `user_id` from 2.10, `limit` and
/// `marker` from 2.35 when `paged`, anything else until 2.75.
fn query(version: ApiVersion, paged: bool) -> Value {
    let mut properties = json!({});
    if version >= ApiVersion::new(2, 10) {
        properties["user_id"] = json!({"type": "array", "items": {"type": "string"}});
    }
    if paged && version >= ApiVersion::new(2, 35) {
        properties["limit"] = json!({"type": "array", "items":
            {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1}});
        properties["marker"] = json!({"type": "array", "items": {"type": "string"}});
    }
    json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": version < ApiVersion::new(2, 75),
    })
}

/// Checks the query of the listing (`paged`) or of a show or delete.
pub(crate) fn check_query(call: &Call, paged: bool) -> Result<(), ComputeError> {
    // One cell per schema Nova has: (2.1, 2.10, 2.35, 2.75) × listing or not.
    static CELLS: [[OnceLock<Result<Schema, String>>; 4]; 2] = [
        [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ],
        [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ],
    ];
    let steps = [(2, 1), (2, 10), (2, 35), (2, 75)];
    let step = steps
        .iter()
        .rposition(|&(major, minor)| call.at_least(major, minor))
        .unwrap_or(0);
    let (major, minor) = steps[step];
    let version = ApiVersion::new(major, minor);
    let cell = &CELLS[usize::from(paged)][step];
    let schema = match cell.get_or_init(|| Schema::new(&query(version, paged))) {
        Ok(schema) => schema,
        Err(error) => {
            return Err(ComputeError::Fault(nova_router::Fault::internal(format!(
                "a request schema does not compile: {error}"
            ))))
        }
    };
    schema.check_query(&query_object(call))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(minor: u16, body: Value) -> String {
        match Schema::new(&create(minor)).unwrap().check_body(&body) {
            Err(ComputeError::BadRequest(message)) => message,
            other => panic!("{body} gave {other:?}"),
        }
    }

    fn accepted(minor: u16, body: Value) -> bool {
        Schema::new(&create(minor))
            .unwrap()
            .check_body(&body)
            .is_ok()
    }

    #[test]
    fn names_follow_novas_pattern_and_292_adds_at_signs_and_dots() {
        assert!(accepted(1, json!({"keypair": {"name": "my key_1-a"}})));
        assert!(!accepted(
            1,
            json!({"keypair": {"name": "me@host.example"}})
        ));
        assert!(accepted(
            92,
            json!({"keypair": {"name": "me@host.example", "public_key": "k"}})
        ));
        assert_eq!(
            refused(1, json!({"keypair": {"name": "a/b"}})),
            r"Invalid input for field/attribute name. Value: a/b. 'a/b' does not match '^[_\- a-zA-Z0-9]+$'"
        );
        assert!(!accepted(1, json!({"keypair": {"name": ""}})));
        assert!(!accepted(1, json!({"keypair": {"name": "x".repeat(256)}})));
    }

    #[test]
    fn fields_arrive_with_their_microversions() {
        let typed = json!({"keypair": {"name": "k", "type": "x509"}});
        assert_eq!(
            refused(1, typed.clone()),
            "Invalid input for field/attribute keypair. Value: {'name': 'k', 'type': 'x509'}. Additional properties are not allowed ('type' was unexpected)"
        );
        assert!(accepted(2, typed));
        assert!(!accepted(
            2,
            json!({"keypair": {"name": "k", "type": "rsa"}})
        ));
        let for_user = json!({"keypair": {"name": "k", "user_id": "u"}});
        assert!(!accepted(2, for_user.clone()));
        assert!(accepted(10, for_user));
        assert_eq!(
            refused(92, json!({"keypair": {"name": "k"}})),
            "Invalid input for field/attribute keypair. Value: {'name': 'k'}. 'public_key' is a required property"
        );
    }
}
