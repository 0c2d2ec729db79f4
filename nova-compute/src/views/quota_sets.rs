//! Quota set bodies (Nova's `QuotaSetsController._format_quota_set`):
//! `id` (when shown) and each resource the microversion serves, by name,
//! with its limit, or with `in_use`, `limit` and `reserved` for `detail`.

use serde_json::{json, Map, Value};

use crate::api::Call;
use crate::quota::{Limits, RESOURCES};
use crate::schemas::quota_sets::served;

/// `{"quota_set": {"id"?, resource: limit, …}}`.
pub(crate) fn limits(call: &Call, id: Option<&str>, limits: &Limits) -> Value {
    build(call, id, |resource| {
        json!(limits.get(resource).copied().unwrap_or(-1))
    })
}

/// `{"quota_set": {"id", resource: {"in_use", "limit", "reserved"}, …}}`;
/// nothing is ever reserved (Nova's `get_reserved`, 0 since Queens).
pub(crate) fn detail(
    call: &Call,
    id: &str,
    limits: &Limits,
    in_use: impl Fn(&str) -> i64,
) -> Value {
    build(call, Some(id), |resource| {
        json!({
            "limit": limits.get(resource).copied().unwrap_or(-1),
            "in_use": in_use(resource),
            "reserved": 0,
        })
    })
}

fn build(call: &Call, id: Option<&str>, value: impl Fn(&str) -> Value) -> Value {
    let mut set = Map::new();
    if let Some(id) = id {
        set.insert("id".to_owned(), json!(id));
    }
    for resource in RESOURCES.iter().filter(|r| served(call, r)) {
        set.insert((*resource).to_owned(), value(resource));
    }
    json!({"quota_set": set})
}
