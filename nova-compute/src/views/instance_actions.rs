//! The instance action views: Nova's `instance_actions.py` formatting
//! (`_format_action`, `_format_event`); its `next` link is
//! [`crate::pagination`]'s. What an action shows is a function of the stored
//! record, the microversion, the caller and the time: an event whose
//! step is still under way at that time shows no finish and no result
//! yet, as Nova's does until the compute host reports back.

use nova_controller::Timestamp;
use serde_json::{json, Map, Value};

use crate::api::Call;
use crate::policy::{self, Rule};
use crate::views::servers::HOST;
use crate::{ActionEvent, InstanceAction};

/// Nova's database times as its JSON shows them: ISO 8601 in UTC without
/// a zone, always with microseconds (`2018-04-25T01:26:29.262877`).
pub(crate) fn time(at: Timestamp) -> String {
    let text = at.to_string();
    text.trim_end_matches('Z').to_owned()
}

fn optional_time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |at| json!(time(at)))
}

/// When `action` was last updated as seen at `now`: its stored
/// `updated_at` once that has come, else the last of its events to have
/// finished by then, else its start.
pub(crate) fn updated_at(action: &InstanceAction, now: Timestamp) -> Option<Timestamp> {
    match action.updated_at {
        Some(updated) if updated <= now => Some(updated),
        _ => action
            .events
            .iter()
            .filter_map(|event| event.finish_time.filter(|finish| *finish <= now))
            .max()
            .or(action.start_time),
    }
}

/// Which parts of an action's events a caller sees: Nova's policies
/// `os-instance-actions:events` and `:events:details` (both admin by
/// default) and the microversions that widen them.
#[derive(Debug, Clone, Copy)]
struct EventParts {
    /// Events at all: admins always, everyone from 2.51.
    events: bool,
    /// `traceback`: admins.
    traceback: bool,
    /// `host`: admins from 2.62.
    host: bool,
    /// `hostId`: everyone from 2.62.
    host_id: bool,
    /// `details`: admins from 2.84.
    details: bool,
}

impl EventParts {
    /// What `call`'s caller sees of a server of `server_project`.
    fn of(call: &Call, server_project: &str) -> Self {
        let all = policy::allows(call, Rule::InstanceActionsEvents, server_project);
        let events = all || call.at_least(2, 51);
        EventParts {
            events,
            traceback: all,
            host: all && call.at_least(2, 62),
            host_id: call.at_least(2, 62),
            details: events
                && call.at_least(2, 84)
                && policy::allows(call, Rule::InstanceActionsEventsDetails, server_project),
        }
    }
}

/// One action without its events, with the keys of the microversion
/// (`updated_at` from 2.58).
pub(crate) fn action(
    call: &Call,
    server_id: &str,
    action: &InstanceAction,
    now: Timestamp,
) -> Value {
    let mut view = Map::new();
    view.insert("action".into(), json!(action.action));
    view.insert("instance_uuid".into(), json!(server_id));
    view.insert("request_id".into(), json!(action.request_id));
    view.insert("user_id".into(), json!(action.user_id));
    view.insert("project_id".into(), json!(action.project_id));
    view.insert("start_time".into(), optional_time(action.start_time));
    // Nova writes the message when a step fails; one recorded in advance
    // for a failure still to come is not there yet.
    let message = action
        .message
        .as_ref()
        .filter(|_| action.updated_at.is_none_or(|updated| updated <= now));
    view.insert("message".into(), json!(message));
    if call.at_least(2, 58) {
        view.insert("updated_at".into(), optional_time(updated_at(action, now)));
    }
    Value::Object(view)
}

/// One action with its events, newest first, as far as `parts` lets the
/// caller see them; `server_project` stands in for an action recorded
/// without a project when hashing the host id, as Nova's does.
pub(crate) fn action_with_events(
    call: &Call,
    server_id: &str,
    server_project: &str,
    recorded: &InstanceAction,
    now: Timestamp,
) -> Value {
    let mut view = action(call, server_id, recorded, now);
    let parts = EventParts::of(call, server_project);
    if parts.events {
        let project = if recorded.project_id.is_empty() {
            server_project
        } else {
            &recorded.project_id
        };
        let events: Vec<Value> = recorded
            .events
            .iter()
            .rev()
            .map(|e| event(e, project, parts, now))
            .collect();
        view["events"] = json!(events);
    }
    view
}

fn event(event: &ActionEvent, project: &str, parts: EventParts, now: Timestamp) -> Value {
    let finished = event.finish_time.filter(|finish| *finish <= now);
    let mut view = json!({
        "event": event.event,
        "start_time": optional_time(event.start_time),
        "finish_time": optional_time(finished),
        "result": if finished.is_some() { json!(event.result) } else { Value::Null },
    });
    if parts.traceback {
        view["traceback"] = Value::Null;
    }
    if parts.host {
        view["host"] = json!(HOST);
    }
    if parts.host_id {
        view["hostId"] = json!(host_id(project));
    }
    if parts.details {
        view["details"] = Value::Null;
    }
    view
}

/// Nova's `utils.generate_hostid`: SHA-224 of the project id and the host.
fn host_id(project: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha224::digest(format!("{project}{HOST}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
