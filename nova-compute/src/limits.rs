//! The limits controller: Nova's `limits.py` (`GET /limits`) with its
//! view (`views/limits.py`): the project's quota as absolute limits, with
//! what it uses, and no rate limits.
//!
//! Which limits are shown depends on the microversion:
//!
//! | from | change |
//! |---|---|
//! | 2.1 | every limit, the network ones (`maxSecurityGroups`, `maxSecurityGroupRules`, `maxTotalFloatingIps` and their usage) unlimited and unused, as with Neutron |
//! | 2.36 | no network limits (the network proxy APIs are gone) |
//! | 2.39 | no `maxImageMeta` (the image metadata proxy is gone) |
//! | 2.57 | no `maxPersonality`, `maxPersonalitySize` (personality is gone) |
//!
//! An admin may ask for another project's limits with `tenant_id`.

use std::sync::OnceLock;

use http::StatusCode;
use nova_router::{ApiVersion, Response};
use serde_json::{json, Map, Value};

use crate::api::{json, Call};
use crate::policy::{self, Rule};
use crate::quota::{as_quota, effective_limits, usage, Usage};
use crate::schemas::query::{compiled, query_object};
use crate::schemas::Schema;
use crate::{ComputeApi, ComputeError, Quota};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => index(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("limits.{other}"))),
    }
}

/// Nova's `schemas/limits.py` `index_query`: `tenant_id`; other
/// parameters refused from 2.75.
fn index_query(version: ApiVersion) -> Value {
    json!({
        "type": "object",
        "properties": {"tenant_id": {"type": "array", "items": {"type": "string"}}},
        "additionalProperties": version < ApiVersion::new(2, 75),
    })
}

async fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    static V21: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V275: OnceLock<Result<Schema, String>> = OnceLock::new();
    let schema = if call.at_least(2, 75) {
        compiled(&V275, || index_query(ApiVersion::new(2, 75)))?
    } else {
        compiled(&V21, || index_query(ApiVersion::new(2, 1)))?
    };
    schema.check_query(&query_object(call))?;
    policy::authorize(call, Rule::Limits, &call.project_id)?;
    let project_id = match call.query_last("tenant_id") {
        None => call.project_id.as_str(),
        Some(other) => {
            // Nova asks the rule of the caller's own project, whichever
            // project is named: naming one's own is refused alike.
            policy::authorize(call, Rule::LimitsOtherProject, &call.project_id)?;
            other
        }
    };
    let used = usage(api, project_id).await?;
    // The project's limits (Nova's `get_project_quotas`): the defaults
    // with what the quota sets API stored for it over them.
    let quota = as_quota(&effective_limits(api, project_id, None).await?);
    Ok(json(StatusCode::OK, &build(call, &quota, &used)))
}

/// `{"limits": {"rate": [], "absolute": {...}}}` of `quota` and `used`
/// at the call's microversion, as Nova's `ViewBuilder.build`.
fn build(call: &Call, quota: &Quota, used: &Usage) -> Value {
    let network = !call.at_least(2, 36);
    let image_meta = !call.at_least(2, 39);
    let personality = !call.at_least(2, 57);
    // Nova's quotas for the network resources, unlimited with Neutron.
    let unlimited = -1;
    let limits: [(&str, i64, bool); 13] = [
        ("maxTotalRAMSize", quota.ram, true),
        ("maxTotalInstances", quota.instances, true),
        ("maxTotalCores", quota.cores, true),
        ("maxTotalKeypairs", quota.key_pairs, true),
        ("maxTotalFloatingIps", unlimited, network),
        ("maxServerMeta", quota.metadata_items, true),
        ("maxImageMeta", quota.metadata_items, image_meta),
        ("maxPersonality", quota.injected_files, personality),
        (
            "maxPersonalitySize",
            quota.injected_file_content_bytes,
            personality,
        ),
        ("maxSecurityGroups", unlimited, network),
        ("maxSecurityGroupRules", unlimited, network),
        ("maxServerGroups", quota.server_groups, true),
        ("maxServerGroupMembers", quota.server_group_members, true),
    ];
    let usage: [(&str, i64, bool); 6] = [
        ("totalRAMUsed", used.ram, true),
        ("totalCoresUsed", used.cores, true),
        ("totalInstancesUsed", used.instances, true),
        ("totalFloatingIpsUsed", 0, network),
        ("totalSecurityGroupsUsed", 0, network),
        ("totalServerGroupsUsed", used.server_groups, true),
    ];
    let absolute: Map<String, Value> = limits
        .iter()
        .chain(usage.iter())
        .filter(|(_, _, shown)| *shown)
        .map(|(name, value, _)| ((*name).to_owned(), json!(value)))
        .collect();
    json!({"limits": {"rate": [], "absolute": absolute}})
}

#[cfg(test)]
mod tests;
