//! The server tags controller: Nova's `server_tags.py` (2.26) for
//! `/servers/{id}/tags` (the whole set: read, replace with `PUT`, remove
//! with `DELETE`) and `/servers/{id}/tags/{tag}` (one tag: `GET` tells
//! whether the server has it, `PUT` adds it, `DELETE` removes it).
//!
//! Below 2.26 every route answers as a method that does not exist, 404.
//! Nova looks up the server's cell mapping, then asks the policy with the
//! server's project as the target, so another project's server is 403
//! here, not 404 as elsewhere ([`find_mapped_server`]). A change is
//! refused with 409 unless the server is active, paused, suspended or
//! stopped (Nova's `_check_instance_in_valid_state`; a lock does not stop
//! it). A server has at most 50 tags of 1–60 characters, none with `/` or
//! `,`.
//!
//! Nova keeps tags in their own table, so a change to them leaves the
//! server's `updated` time as it was; each check and its change are one
//! atomic step of the store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::header::LOCATION;
use http::StatusCode;
use nova_router::Response;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use crate::api::{empty, json, set_header, Call};
use crate::lookup::{change_mapped_server, details_of, find_mapped_server};
use crate::policy::Rule;
use crate::schemas::query::check_none;
use crate::schemas::server_tags::{check_path_tag, check_update, check_update_all, MAX_TAG_COUNT};
use crate::server_actions::{check_state, Allowed};
use crate::state::vm_state;
use crate::{ComputeApi, ComputeError, ServerDetails};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    // Nova's VersionNotFoundForAPIMethod: webob's bare HTTPNotFound.
    if !call.at_least(2, 26) {
        return Err(ComputeError::NotFound(
            "The resource could not be found.".to_owned(),
        ));
    }
    match method {
        "index" => index(api, &call).await,
        "show" => show(api, &call).await,
        "update" => update(api, &call).await,
        "update_all" => update_all(api, &call).await,
        "delete" => delete(api, &call).await,
        "delete_all" => delete_all(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("server_tags.{other}"))),
    }
}

/// The vm_states Nova's `_check_instance_in_valid_state` allows, any task
/// under way.
const ALLOWED: Allowed = Allowed {
    vm: Some(&[
        vm_state::ACTIVE,
        vm_state::PAUSED,
        vm_state::SUSPENDED,
        vm_state::STOPPED,
    ]),
    task: None,
};

/// `{"tags": [...]}`.
fn tags_body(details: &ServerDetails) -> Value {
    json!({ "tags": details.tags })
}

async fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    let server =
        find_mapped_server(api, call, call.param("server_id"), Rule::ServerTagsIndex).await?;
    Ok(json(StatusCode::OK, &tags_body(&details_of(api, &server))))
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    let raw_id = call.param("server_id");
    let server = find_mapped_server(api, call, raw_id, Rule::ServerTagsShow).await?;
    let tag = call.param("id");
    if details_of(api, &server).tags.iter().any(|t| t == tag) {
        Ok(empty(StatusCode::NO_CONTENT))
    } else {
        Err(ComputeError::NotFound(format!(
            "Server {raw_id} has no tag '{tag}'"
        )))
    }
}

async fn update(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_update(&call.json_body()?.unwrap_or(Value::Null))?;
    let raw_id = call.param("server_id").to_owned();
    let tag = call.param("id").to_owned();
    let (named, new) = (raw_id.clone(), tag.clone());
    // Whether the tag was new (201) or there already (204, nothing
    // changed), as the atomic step found it.
    let added = Arc::new(AtomicBool::new(false));
    let outcome = added.clone();
    change_mapped_server(
        api,
        call,
        &raw_id,
        Rule::ServerTagsUpdate,
        move |details, now| {
            // Nova's order: the state, then the tag's own validity, then the
            // count (so a full server refuses even a tag it has), then
            // whether it is there already.
            check_state(details, now, ALLOWED, "update tag", &named)?;
            check_path_tag(&new)?;
            if details.tags.len() >= MAX_TAG_COUNT {
                return Err(ComputeError::BadRequest(format!(
                    "The number of tags exceeded the per-server limit {MAX_TAG_COUNT}"
                )));
            }
            if !details.tags.contains(&new) {
                details.tags.push(new);
                outcome.store(true, Ordering::Relaxed);
            }
            Ok(())
        },
    )
    .await?;
    if !added.load(Ordering::Relaxed) {
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    let mut response = empty(StatusCode::CREATED);
    let location = format!(
        "{}/tags/{}",
        call.self_link("servers", &raw_id),
        utf8_percent_encode(&tag, PATH_SEGMENT)
    );
    set_header(&mut response, LOCATION, &location);
    Ok(response)
}

async fn update_all(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let body = call.json_body()?.unwrap_or(Value::Null);
    check_update_all(&body)?;
    let tags = distinct_tags(body["tags"].as_array().map_or(&[], Vec::as_slice));
    let raw_id = call.param("server_id").to_owned();
    let named = raw_id.clone();
    let server = change_mapped_server(
        api,
        call,
        &raw_id,
        Rule::ServerTagsUpdateAll,
        move |details, now| {
            check_state(details, now, ALLOWED, "update tags", &named)?;
            details.tags = tags;
            Ok(())
        },
    )
    .await?;
    Ok(json(StatusCode::OK, &tags_body(&details_of(api, &server))))
}

async fn delete(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let raw_id = call.param("server_id").to_owned();
    let tag = call.param("id").to_owned();
    let named = raw_id.clone();
    change_mapped_server(
        api,
        call,
        &raw_id,
        Rule::ServerTagsDelete,
        move |details, now| {
            check_state(details, now, ALLOWED, "delete tag", &named)?;
            let before = details.tags.len();
            details.tags.retain(|t| *t != tag);
            if details.tags.len() == before {
                // Nova's InstanceTagNotFound.
                return Err(ComputeError::NotFound(format!(
                    "Instance {named} has no tag '{tag}'"
                )));
            }
            Ok(())
        },
    )
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn delete_all(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let raw_id = call.param("server_id").to_owned();
    let named = raw_id.clone();
    change_mapped_server(
        api,
        call,
        &raw_id,
        Rule::ServerTagsDeleteAll,
        move |details, now| {
            check_state(details, now, ALLOWED, "delete tags", &named)?;
            details.tags.clear();
            Ok(())
        },
    )
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// What a path segment of a URL percent-encodes: every byte but the
/// unreserved characters and the sub-delimiters (a tag holds no `,`), so
/// that any tag (spaces, non-ASCII text) makes a `Location` that is a valid
/// header and names it back.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b';');

/// The tags of a request's list, each once, in the order first given: a
/// server's tags are a set in Nova (`instance_tag_set`).
pub(crate) fn distinct_tags(given: &[Value]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(given.len());
    for tag in given.iter().filter_map(Value::as_str) {
        if !tags.iter().any(|kept| kept == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

#[cfg(test)]
mod tests;
