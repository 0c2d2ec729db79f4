//! The instance actions controller: Nova's `instance_actions.py` for
//! `GET /servers/{id}/os-instance-actions` (what was done to a server,
//! newest first; from 2.58 a page of it, filtered by when each action was
//! last updated) and `GET …/os-instance-actions/{request_id}` (one
//! action with its events, as far as the caller may see them).
//!
//! From 2.21 a deleted server's actions stay readable.

use http::StatusCode;
use nova_controller::Timestamp;
use nova_router::Response;
use serde_json::{json, Value};

use crate::api::{json, Call};
use crate::lookup::{details_of, find_server, project_of, server_id, visible_to};
use crate::pagination::{collection_links, limit_and_marker};
use crate::policy::{self, Rule};
use crate::schemas::instance_actions::check_index_query;
use crate::schemas::query::check_none;
use crate::views::instance_actions::{self as view, updated_at};
use crate::{ComputeApi, ComputeError, InstanceAction, Server};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => index(api, &call).await,
        "show" => show(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!(
            "instance_actions.{other}"
        ))),
    }
}

/// The call's server, if `rule` lets the caller read its actions: before
/// 2.21 as every controller finds it; from 2.21 deleted ones too (Nova's
/// `read_deleted='yes'`), still only the caller's own unless an admin.
async fn server(api: &ComputeApi, call: &Call, rule: Rule) -> Result<Server, ComputeError> {
    let raw_id = call.param("server_id");
    if !call.at_least(2, 21) {
        return find_server(api, call, raw_id, rule).await;
    }
    match api.store.server(server_id(raw_id)?).await? {
        Some(server) if visible_to(api, call, &server) => {
            policy::authorize(call, rule, project_of(api, &server))?;
            Ok(server)
        }
        _ => Err(ComputeError::instance_not_found(raw_id)),
    }
}

/// The server's actions, newest first (Nova orders by creation, then by
/// id: the later recorded of two at the same instant comes first).
fn newest_first(actions: &[InstanceAction]) -> Vec<&InstanceAction> {
    let mut sorted: Vec<(usize, &InstanceAction)> = actions.iter().enumerate().collect();
    sorted.sort_by(|(a_index, a), (b_index, b)| {
        b.start_time.cmp(&a.start_time).then(b_index.cmp(a_index))
    });
    sorted.into_iter().map(|(_, action)| action).collect()
}

/// A `changes-since` or `changes-before` value: ISO 8601, with a zone or
/// (as Nova's `parse_isotime` takes it) without one, meaning UTC.
fn instant(text: &str) -> Option<Timestamp> {
    text.parse()
        .ok()
        .or_else(|| format!("{text}Z").parse().ok())
}

/// What a 2.58 listing asks: the page size, the marker and the window of
/// update times.
#[derive(Debug)]
struct Page {
    limit: usize,
    marker: Option<String>,
    since: Option<Timestamp>,
    before: Option<Timestamp>,
}

impl Page {
    fn of(api: &ComputeApi, call: &Call) -> Result<Page, ComputeError> {
        let since = call.query_last("changes-since").and_then(instant);
        let before = call.query_last("changes-before").and_then(instant);
        if let (Some(since), Some(before)) = (since, before) {
            if before < since {
                return Err(ComputeError::BadRequest(
                    "The value of changes-since must be less than or equal to changes-before."
                        .to_owned(),
                ));
            }
        }
        let (limit, marker) = limit_and_marker(&call.query, api.cloud.max_limit);
        Ok(Page {
            limit,
            marker,
            since,
            before,
        })
    }
}

async fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_index_query(call)?;
    let server = server(api, call, Rule::InstanceActionsList).await?;
    let now = api.clock.now();
    let details = details_of(api, &server);
    let mut actions = newest_first(&details.actions);
    let paged = call.at_least(2, 58);
    if paged {
        let page = Page::of(api, call)?;
        // An empty page is answered before the marker is looked up.
        if page.limit == 0 {
            actions.clear();
        }
        if let Some(marker) = page.marker.as_ref().filter(|_| page.limit > 0) {
            let Some(at) = actions.iter().position(|a| a.request_id == *marker) else {
                // Nova looks the marker up, finds nothing, and names what
                // it found.
                return Err(ComputeError::BadRequest(
                    "Marker None could not be found.".to_owned(),
                ));
            };
            actions.drain(..=at);
        }
        actions.retain(|action| {
            let updated = updated_at(action, now);
            page.since
                .is_none_or(|since| updated.is_some_and(|u| u >= since))
                && page
                    .before
                    .is_none_or(|before| updated.is_some_and(|u| u <= before))
        });
        actions.truncate(page.limit);
    }
    let id = server.id.to_string();
    let listed: Vec<Value> = actions
        .iter()
        .map(|action| view::action(call, &id, action, now))
        .collect();
    let mut body = json!({ "instanceActions": listed });
    if paged {
        let last = actions.last().map(|action| action.request_id.as_str());
        let collection = format!("servers/{id}/os-instance-actions");
        let max = api.cloud.max_limit;
        if let Some(links) =
            collection_links(call, &call.query, max, listed.len(), last, &collection)
        {
            body["links"] = links;
        }
    }
    Ok(json(StatusCode::OK, &body))
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    let server = server(api, call, Rule::InstanceActionsShow).await?;
    let request_id = call.param("id");
    let details = details_of(api, &server);
    let Some(action) = newest_first(&details.actions)
        .into_iter()
        .find(|action| action.request_id == request_id)
    else {
        return Err(ComputeError::NotFound(format!(
            "Action {request_id} not found"
        )));
    };
    let body = view::action_with_events(
        call,
        &server.id.to_string(),
        project_of(api, &server),
        action,
        api.clock.now(),
    );
    Ok(json(StatusCode::OK, &json!({ "instanceAction": body })))
}

#[cfg(test)]
mod tests;
