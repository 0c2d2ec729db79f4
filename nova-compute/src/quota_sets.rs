//! The quota sets controller: Nova's `quota_sets.py` for
//! `/os-quota-sets/{project_id}` (show; update and delete, admins only),
//! its `/detail` (limits with what is in use) and its `/defaults`, over
//! the store's [`QuotaStore`](crate::QuotaStore) and the configured
//! defaults.
//!
//! A limit set here replaces the configured default for that project
//! (or, with `user_id`, for that user in it) wherever a quota is checked
//! or shown: server create, resize, key pair create, `GET /limits`.
//! `DELETE` returns the project to the defaults.
//!
//! | from | change |
//! |---|---|
//! | 2.1 | every resource, the network ones (`fixed_ips`, `floating_ips`, `security_groups`, `security_group_rules`) unlimited |
//! | 2.36 | no network resources |
//! | 2.57 | no `injected_files`, `injected_file_content_bytes`, `injected_file_path_bytes` |
//! | 2.75 | unknown query parameters refused |
//!
//! Nova also asks Keystone whether the project exists
//! (`identity.verify_project_id`); nova-rs's compute API does not know
//! the identity service's projects, so any project id is taken.

use http::StatusCode;
use nova_router::Response;
use serde_json::Value;

use crate::api::{empty, json, Call};
use crate::policy::{self, Rule};
use crate::quota::{default_limits, resolve, usage_for, Limits, Usage, RESOURCES};
use crate::schemas::quota_sets::{check_query, check_update};
use crate::views::quota_sets as view;
use crate::{ComputeApi, ComputeError, QuotaLimit};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "show" => show(api, &call).await,
        "detail" => detail(api, &call).await,
        "defaults" => defaults(api, &call).await,
        "update" => update(api, &call).await,
        "delete" => delete(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("quota_sets.{other}"))),
    }
}

/// The first `user_id` of the query (Nova's `parse_qs(…)['user_id'][0]`),
/// if any: `show`, `update` and `delete` read it so.
fn first_user(call: &Call) -> Option<String> {
    call.query_all("user_id").next().map(str::to_owned)
}

/// The stored limits of `project_id` and what they resolve to for it, or
/// for `user` in it.
async fn limits_of(
    api: &ComputeApi,
    project_id: &str,
    user: Option<&str>,
) -> Result<(Vec<QuotaLimit>, Limits), ComputeError> {
    let stored = api.store.quota_limits(project_id.to_owned()).await?;
    let limits = resolve(&default_limits(&api.cloud.quota), &stored, user);
    Ok((stored, limits))
}

/// What is in use of `resource`, as Nova's `_get_usages` counts it: the
/// servers' instances, cores and memory; never key pairs or server group
/// members (per user, "always zero" there); nothing else is counted.
fn in_use(used: &Usage, resource: &str) -> i64 {
    match resource {
        "instances" => used.instances,
        "cores" => used.cores,
        "ram" => used.ram,
        "server_groups" => used.server_groups,
        _ => 0,
    }
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_query(call)?;
    let id = call.param("id");
    policy::authorize(call, Rule::QuotaSetsShow, id)?;
    let user = first_user(call);
    let (_, limits) = limits_of(api, id, user.as_deref()).await?;
    Ok(json(StatusCode::OK, &view::limits(call, Some(id), &limits)))
}

async fn detail(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_query(call)?;
    let id = call.param("id");
    policy::authorize(call, Rule::QuotaSetsDetail, id)?;
    // `req.GET.get('user_id')`: the last one, unlike the other actions.
    let user = call.query_last("user_id").map(str::to_owned);
    let (_, limits) = limits_of(api, id, user.as_deref()).await?;
    let used = usage_for(api, id, user.as_deref()).await?;
    let body = view::detail(call, id, &limits, |resource| in_use(&used, resource));
    Ok(json(StatusCode::OK, &body))
}

async fn defaults(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    // Nova's `defaults_query` takes anything, at every microversion.
    let id = call.param("id");
    policy::authorize(call, Rule::QuotaSetsDefaults, id)?;
    let limits = default_limits(&api.cloud.quota);
    Ok(json(StatusCode::OK, &view::limits(call, Some(id), &limits)))
}

/// Nova's `_validate_quota_limit`: `-1` is infinite on either side.
fn check_limit(resource: &str, limit: i64, minimum: i64, maximum: i64) -> Result<(), ComputeError> {
    let infinite = |value: i64| {
        if value == -1 {
            i128::MAX
        } else {
            i128::from(value)
        }
    };
    if infinite(limit) < infinite(minimum) {
        return Err(ComputeError::BadRequest(format!(
            "Quota limit {limit} for {resource} must be greater than or equal to already used and reserved {minimum}."
        )));
    }
    if infinite(limit) > infinite(maximum) {
        return Err(ComputeError::BadRequest(format!(
            "Quota limit {limit} for {resource} must be less than or equal to {maximum}."
        )));
    }
    Ok(())
}

/// Nova's `_sub_quota_values` and `_sum_quota_values`: an unlimited
/// (`-1` or below) operand makes the result unlimited.
fn unlimited_or(a: i64, b: i64, combine: fn(i64, i64) -> i64) -> i64 {
    if a <= -1 || b <= -1 {
        -1
    } else {
        combine(a, b)
    }
}

/// Nova's `get_settable_quotas`: each resource's (minimum, maximum) for
/// the project, or for `user` in it. A project's limit must cover what
/// is in use and what its users' own limits add up to; a user's must
/// cover what the user uses, and stay within what the project has not
/// given its other users.
async fn settable(
    api: &ComputeApi,
    project_id: &str,
    user: Option<&str>,
) -> Result<Vec<(&'static str, i64, i64)>, ComputeError> {
    let (stored, project) = limits_of(api, project_id, None).await?;
    let used = usage_for(api, project_id, user).await?;
    let mut ranges = Vec::with_capacity(RESOURCES.len());
    for resource in RESOURCES {
        let limit = project.get(resource).copied().unwrap_or(-1);
        let given: i64 = stored
            .iter()
            .filter(|l| l.user_id.is_some() && l.resource == resource)
            .map(|l| l.hard_limit)
            .sum();
        let remains = limit.saturating_sub(given);
        let in_use = in_use(&used, resource);
        ranges.push(match user {
            None => {
                let minimum = unlimited_or(limit, remains, i64::saturating_sub).max(in_use);
                (resource, minimum, -1)
            }
            Some(user) => {
                let own = stored
                    .iter()
                    .find(|l| l.user_id.as_deref() == Some(user) && l.resource == resource)
                    .map_or(0, |l| l.hard_limit);
                (
                    resource,
                    in_use,
                    unlimited_or(remains, own, i64::saturating_add),
                )
            }
        });
    }
    Ok(ranges)
}

/// A limit the update schema let through: an integer, or a string of one.
fn limit_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

async fn update(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let body = call.json_body()?.unwrap_or(Value::Null);
    check_update(call, &body)?;
    check_query(call)?;
    let id = call.param("id");
    policy::authorize(call, Rule::QuotaSetsUpdate, id)?;
    let user = first_user(call);
    let empty_set = serde_json::Map::new();
    let quota_set = body["quota_set"].as_object().unwrap_or(&empty_set);
    let force = quota_set.get("force").is_some_and(|force| match force {
        Value::Bool(b) => *b,
        Value::String(s) => {
            ["1", "t", "true", "on", "y", "yes"].contains(&s.to_lowercase().as_str())
        }
        _ => false,
    });
    let ranges = if force {
        Vec::new()
    } else {
        settable(api, id, user.as_deref()).await?
    };
    // Every value is checked before any is stored, as Nova's two passes.
    let mut valid = Vec::new();
    for (resource, value) in quota_set.iter().filter(|(key, _)| *key != "force") {
        let Some(limit) = limit_value(value) else {
            continue;
        };
        if let Some((_, minimum, maximum)) = ranges.iter().find(|(r, _, _)| r == resource) {
            check_limit(resource, limit, *minimum, *maximum)?;
        }
        valid.push((resource.clone(), limit));
    }
    if !valid.is_empty() {
        api.store
            .set_quota_limits(id.to_owned(), user.clone(), valid)
            .await?;
    }
    let (_, limits) = limits_of(api, id, user.as_deref()).await?;
    // Nova leaves `id` out of an update's answer.
    Ok(json(StatusCode::OK, &view::limits(call, None, &limits)))
}

async fn delete(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_query(call)?;
    let id = call.param("id");
    policy::authorize(call, Rule::QuotaSetsDelete, id)?;
    api.store
        .delete_quota_limits(id.to_owned(), first_user(call))
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

#[cfg(test)]
mod tests;
