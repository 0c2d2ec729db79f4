//! The request schemas of quota sets (Nova's `schemas/quota_sets.py`):
//! the update body, whose resources shrink with the microversion, and the
//! `user_id` query of the reads and changes.
//!
//! | from | update body |
//! |---|---|
//! | 2.1 | every resource, each an integer from -1 to 2147483647 (or a string of one), and `force` |
//! | 2.36 | no `fixed_ips`, `floating_ips`, `security_groups`, `security_group_rules` |
//! | 2.57 | no `injected_files`, `injected_file_content_bytes`, `injected_file_path_bytes` |
//!
//! Queries take `user_id`, and anything else until 2.75 (the defaults
//! query, anything at every microversion, as Nova's decorator has it).

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::parameter_types::boolean;
use super::query::{compiled, query_object};
use super::Schema;
use crate::api::Call;
use crate::quota::RESOURCES;
use crate::ComputeError;

/// The resources 2.36 removed from the API.
pub(crate) const NETWORK_RESOURCES: [&str; 4] = [
    "fixed_ips",
    "floating_ips",
    "security_group_rules",
    "security_groups",
];

/// The resources 2.57 removed from the API.
pub(crate) const PERSONALITY_RESOURCES: [&str; 3] = [
    "injected_file_content_bytes",
    "injected_file_path_bytes",
    "injected_files",
];

/// Whether the API shows or takes `resource` at the call's microversion
/// (Nova's `_get_filtered_quotas`).
pub(crate) fn served(call: &Call, resource: &str) -> bool {
    !(call.at_least(2, 36) && NETWORK_RESOURCES.contains(&resource)
        || call.at_least(2, 57) && PERSONALITY_RESOURCES.contains(&resource))
}

/// Nova's `_common_quota`.
fn limit() -> Value {
    json!({"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1, "maximum": 0x7FFF_FFFF})
}

/// The update body with the resources `keep` lets through.
fn update(keep: fn(&str) -> bool) -> Value {
    let mut properties: Map<String, Value> = RESOURCES
        .iter()
        .filter(|resource| keep(resource))
        .map(|&resource| (resource.to_owned(), limit()))
        .collect();
    properties.insert("force".to_owned(), boolean());
    json!({
        "type": "object",
        "properties": {
            "quota_set": {
                "type": "object",
                "properties": properties,
                "additionalProperties": false,
            },
        },
        "required": ["quota_set"],
        "additionalProperties": false,
    })
}

/// Checks an update body at the call's microversion.
pub(crate) fn check_update(call: &Call, body: &Value) -> Result<(), ComputeError> {
    static V21: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V236: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V257: OnceLock<Result<Schema, String>> = OnceLock::new();
    let schema = if call.at_least(2, 57) {
        compiled(&V257, || {
            update(|r| !NETWORK_RESOURCES.contains(&r) && !PERSONALITY_RESOURCES.contains(&r))
        })?
    } else if call.at_least(2, 36) {
        compiled(&V236, || update(|r| !NETWORK_RESOURCES.contains(&r)))?
    } else {
        compiled(&V21, || update(|_| true))?
    };
    schema.check_body(body)
}

/// `user_id`, with other parameters if `open`.
fn user_query(open: bool) -> Value {
    json!({
        "type": "object",
        "properties": {"user_id": {"type": "array", "items": {"type": "string"}}},
        "additionalProperties": open,
    })
}

/// Checks the query of `show`, `detail`, `update` and `delete`:
/// `user_id`, and from 2.75 nothing else.
pub(crate) fn check_query(call: &Call) -> Result<(), ComputeError> {
    static V21: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V275: OnceLock<Result<Schema, String>> = OnceLock::new();
    let schema = if call.at_least(2, 75) {
        compiled(&V275, || user_query(false))?
    } else {
        compiled(&V21, || user_query(true))?
    };
    schema.check_query(&query_object(call))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(keep: fn(&str) -> bool, body: Value) -> Result<(), ComputeError> {
        Schema::new(&update(keep)).unwrap().check_body(&body)
    }

    #[test]
    fn limits_are_whole_numbers_from_minus_one_and_force_a_boolean() {
        let all = |_: &str| true;
        assert!(check(
            all,
            json!({"quota_set": {"cores": 45, "ram": "-1", "force": "True"}})
        )
        .is_ok());
        assert_eq!(
            check(all, json!({"quota_set": {"cores": -2}})),
            Err(ComputeError::BadRequest(
                "Invalid input for field/attribute cores. Value: -2. -2 is less than the minimum of -1".to_owned()
            ))
        );
        // Nova bounds numbers written as strings too (schemathesis stored
        // a quota of "-702765072551" before this).
        assert_eq!(
            check(all, json!({"quota_set": {"ram": "-702765072551"}})),
            Err(ComputeError::BadRequest(
                "Invalid input for field/attribute ram. Value: -702765072551. -702765072551 is less than the minimum of -1".to_owned()
            ))
        );
        assert_eq!(
            check(all, json!({"quota_set": {"ram": "2147483648"}})),
            Err(ComputeError::BadRequest(
                "Invalid input for field/attribute ram. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647".to_owned()
            ))
        );
        assert!(check(all, json!({"quota_set": {"ram": "2147483647"}})).is_ok());
        assert!(check(all, json!({"quota_set": {"cores": "many"}})).is_err());
        assert!(check(all, json!({"quota_set": {"cores": 2_147_483_648_i64}})).is_err());
        assert!(check(all, json!({"quota_set": {"force": "maybe"}})).is_err());
        assert!(check(all, json!({"quota_set": {"networks": 1}})).is_err());
        assert!(check(all, json!({})).is_err());
    }

    #[test]
    fn network_and_personality_resources_leave_with_236_and_257() {
        let v236 = |r: &str| !NETWORK_RESOURCES.contains(&r);
        assert!(check(|_| true, json!({"quota_set": {"floating_ips": 1}})).is_ok());
        assert_eq!(
            check(v236, json!({"quota_set": {"floating_ips": 1}})),
            Err(ComputeError::BadRequest(
                "Invalid input for field/attribute quota_set. Value: {'floating_ips': 1}. Additional properties are not allowed ('floating_ips' was unexpected)".to_owned()
            ))
        );
        assert!(check(v236, json!({"quota_set": {"injected_files": 1}})).is_ok());
    }
}
