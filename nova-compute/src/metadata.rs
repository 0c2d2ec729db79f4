//! The server metadata controller: Nova's `server_metadata.py` for
//! `/servers/{id}/metadata` (the whole set: read, merge with `POST`,
//! replace with `PUT`) and `/servers/{id}/metadata/{key}` (one item:
//! read, set, delete).
//!
//! A change is refused as Nova's compute API refuses it: 409 while the
//! server is locked (for all but admins) or in a vm_state other than
//! active, paused, suspended or stopped; 403 past the `metadata_items`
//! quota. The check and the change are one atomic step.

use std::collections::BTreeMap;

use http::StatusCode;
use nova_controller::IfMatch;
use nova_router::Response;
use serde_json::{json, Value};

use crate::api::{empty, json, Call};
use crate::lookup::{change_server, details_of, find_server};
use crate::policy::{self, Rule};
use crate::schemas::metadata::{check_item, check_set};
use crate::schemas::query::check_none;
use crate::server_actions::{
    check_lock, check_metadata_quota, check_state, metadata_items_allowed, Allowed, LockRule,
};
use crate::state::vm_state;
use crate::{ComputeApi, ComputeError};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => index(api, &call).await,
        "show" => show(api, &call).await,
        "create" => change_set(api, &call, Merge::Into, Rule::MetadataCreate).await,
        "update_all" => change_set(api, &call, Merge::Replace, Rule::MetadataUpdateAll).await,
        "update" => update(api, &call).await,
        "delete" => delete(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("metadata.{other}"))),
    }
}

/// The states Nova's `update_instance_metadata` and
/// `delete_instance_metadata` allow: any task under way.
const ALLOWED: Allowed = Allowed {
    vm: Some(&[
        vm_state::ACTIVE,
        vm_state::PAUSED,
        vm_state::SUSPENDED,
        vm_state::STOPPED,
    ]),
    task: None,
};

/// The names Nova's 409s give the two changes.
const UPDATE: &str = "update metadata";
const DELETE: &str = "delete metadata";

fn item_not_found() -> ComputeError {
    ComputeError::NotFound("Metadata item was not found".to_owned())
}

async fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    let server = find_server(api, call, call.param("server_id"), Rule::MetadataIndex).await?;
    let metadata = details_of(api, &server).into_owned().metadata;
    Ok(json(StatusCode::OK, &json!({ "metadata": metadata })))
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    let server = find_server(api, call, call.param("server_id"), Rule::MetadataShow).await?;
    let key = call.param("id");
    let details = details_of(api, &server);
    let value = details.metadata.get(key).ok_or_else(item_not_found)?;
    Ok(json(StatusCode::OK, &json!({ "meta": { key: value } })))
}

/// How a new set of items meets the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    /// `POST`: the new items over the old.
    Into,
    /// `PUT`: the new items instead of the old.
    Replace,
}

/// The body, `null` when there is none: Nova checks an empty body against
/// the schema as `None` (`None is not of type 'object'`).
fn body_of(call: &Call) -> Result<Value, ComputeError> {
    Ok(call.json_body()?.unwrap_or(Value::Null))
}

/// The string items of a body's object (the schema has made sure every
/// value is a string).
fn items(object: &Value) -> BTreeMap<String, String> {
    object
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Applies `change` to the metadata of the call's server, if `rule` lets
/// the caller, Nova's `update_instance_metadata`'s way (lock, then state,
/// then quota), and returns the metadata it leaves. `action` is [`UPDATE`]
/// or [`DELETE`].
async fn change_metadata<F>(
    api: &ComputeApi,
    call: &Call,
    rule: Rule,
    action: &'static str,
    change: F,
) -> Result<BTreeMap<String, String>, ComputeError>
where
    F: FnOnce(&mut BTreeMap<String, String>) -> Result<(), ComputeError> + Send + 'static,
{
    let is_admin = policy::is_admin(call);
    let raw_id = call.param("server_id").to_owned();
    // Only an update counts against the quota.
    let allowed = if action == UPDATE {
        metadata_items_allowed(api, call).await?
    } else {
        -1
    };
    let server = change_server(
        api,
        call,
        call.param("server_id"),
        IfMatch::Any,
        rule,
        move |server, details, now| {
            check_lock(LockRule::Refuse, is_admin, server, details, action, &raw_id)?;
            // Nova names the server by its own id when an update is
            // refused, by the URL's when a delete is; only an update
            // counts against the quota.
            let updating = action == UPDATE;
            let named = if updating {
                server.id.to_string()
            } else {
                raw_id
            };
            check_state(details, now, ALLOWED, action, &named)?;
            let mut metadata = details.metadata.clone();
            change(&mut metadata)?;
            if updating {
                check_metadata_quota(allowed, metadata.len())?;
            }
            details.metadata = metadata;
            Ok(())
        },
    )
    .await?;
    Ok(details_of(api, &server).into_owned().metadata)
}

async fn change_set(
    api: &ComputeApi,
    call: &Call,
    merge: Merge,
    rule: Rule,
) -> Result<Response, ComputeError> {
    let body = body_of(call)?;
    check_set(&body)?;
    let new = items(&body["metadata"]);
    let metadata = change_metadata(api, call, rule, UPDATE, move |metadata| {
        if merge == Merge::Replace {
            metadata.clear();
        }
        metadata.extend(new);
        Ok(())
    })
    .await?;
    // 200, not 201: kept for compatibility (Nova's note on `create`).
    Ok(json(StatusCode::OK, &json!({ "metadata": metadata })))
}

async fn update(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let body = body_of(call)?;
    check_item(&body)?;
    find_server(api, call, call.param("server_id"), Rule::MetadataUpdate).await?;
    let key = call.param("id").to_owned();
    let item = items(&body["meta"]);
    if !item.contains_key(&key) {
        return Err(ComputeError::BadRequest(
            "Request body and URI mismatch".to_owned(),
        ));
    }
    let new = item.clone();
    change_metadata(api, call, Rule::MetadataUpdate, UPDATE, move |metadata| {
        metadata.extend(new);
        Ok(())
    })
    .await?;
    Ok(json(StatusCode::OK, &json!({ "meta": item })))
}

async fn delete(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let server = find_server(api, call, call.param("server_id"), Rule::MetadataDelete).await?;
    let key = call.param("id").to_owned();
    if !details_of(api, &server).metadata.contains_key(&key) {
        return Err(item_not_found());
    }
    change_metadata(api, call, Rule::MetadataDelete, DELETE, move |metadata| {
        metadata.remove(&key).map(|_| ()).ok_or_else(item_not_found)
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests;
