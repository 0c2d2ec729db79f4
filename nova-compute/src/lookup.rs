//! Finding and changing one server the way every server controller must:
//! only the caller's project's (an admin's: any), not once its deletion
//! has run, with an instance created through the seed's API given its
//! compute fields, and only if the controller's policy rule lets the
//! caller act on it; and recording what was done in `os-instance-actions`.

use std::borrow::Cow;
use std::sync::Arc;

use nova_controller::{IfMatch, Timestamp};
use uuid::Uuid;

use crate::api::Call;
use crate::policy::{self, Credentials, Rule};
use crate::state::vm_state;
use crate::{
    ActionEvent, ComputeApi, ComputeError, InstanceAction, Server, ServerDetails, ServerUpdate,
};

/// The server id of a path, or Nova's 404 for one that cannot name a
/// server (only the canonical hyphenated UUID does).
pub(crate) fn server_id(raw: &str) -> Result<Uuid, ComputeError> {
    match Uuid::try_parse(raw) {
        Ok(id) if raw.len() == 36 => Ok(id),
        _ => Err(ComputeError::instance_not_found(raw)),
    }
}

/// The compute fields of `server`: its own, or for an instance created
/// through the seed's API the defaults (the cloud's first flavor and
/// image, active since created). Borrowed where the server has its own,
/// so reading a field copies nothing.
pub(crate) fn details_of<'a>(api: &ComputeApi, server: &'a Server) -> Cow<'a, ServerDetails> {
    match &server.details {
        Some(details) => Cow::Borrowed(details),
        None => Cow::Owned({
            let flavor = api
                .cloud
                .flavors
                .first()
                .map(|f| f.snapshot())
                .unwrap_or_default();
            let image = api
                .cloud
                .images
                .first()
                .map(|i| i.id.to_string())
                .unwrap_or_default();
            let mut details = ServerDetails::for_instance(&server.instance(), flavor, &image);
            details.user_id = api.cloud.default_user.clone();
            // Nova gives every instance a reservation id; one created
            // through the seed's API gets one made from its id.
            details.reservation_id = format!("r-{}", &server.id.simple().to_string()[..8]);
            details.availability_zone = api.cloud.availability_zone.clone();
            details
        }),
    }
}

/// The compute fields of `server` as [`details_of`], shared rather than
/// borrowed: a count is bumped where the server has its own.
pub(crate) fn shared_details(api: &ComputeApi, server: &Server) -> Arc<ServerDetails> {
    match &server.details {
        Some(details) => Arc::clone(details),
        None => Arc::new(details_of(api, server).into_owned()),
    }
}

/// The project that owns `server`: an instance created through the seed's
/// API belongs to the default project.
pub(crate) fn project_of<'a>(api: &'a ComputeApi, server: &'a Server) -> &'a str {
    if server.project_id.is_empty() {
        &api.cloud.default_project
    } else {
        &server.project_id
    }
}

/// Whether `server` no longer exists at `now`: deleted, and its deletion
/// has run.
pub(crate) fn is_gone(api: &ComputeApi, server: &Server, now: Timestamp) -> bool {
    server.deleted_at.is_some()
        && details_of(api, server).lifecycle().at(now).vm_state == vm_state::DELETED
}

/// When `server` last changed as of `now`: its stored `updated_at`, or
/// the end of a transition that has ended since (Nova writes
/// `updated_at` when a build or a reboot finishes; here that instant was
/// stored in advance).
pub(crate) fn last_changed(server: &Server, details: &ServerDetails, now: Timestamp) -> Timestamp {
    let ended = details
        .lifecycle
        .as_ref()
        .and_then(|life| life.settles_at())
        .filter(|until| *until <= now);
    match ended {
        Some(until) if until > server.updated_at => until,
        _ => server.updated_at,
    }
}

/// Whether the caller may see `server`: its project's, or any for an admin.
pub(crate) fn visible_to(api: &ComputeApi, call: &Call, server: &Server) -> bool {
    policy::is_admin(call) || project_of(api, server) == call.project_id
}

/// The server `raw_id` names, if the caller may see it and it still exists
/// (else 404), and `rule` lets the caller act on it (else 403), checked in
/// that order as Nova looks the server up before it asks the policy.
pub(crate) async fn find_server(
    api: &ComputeApi,
    call: &Call,
    raw_id: &str,
    rule: Rule,
) -> Result<Server, ComputeError> {
    let id = server_id(raw_id)?;
    let now = api.clock.now();
    match api.store.server(id).await? {
        Some(server) if visible_to(api, call, &server) && !is_gone(api, &server, now) => {
            policy::authorize(call, rule, project_of(api, &server))?;
            Ok(server)
        }
        _ => Err(ComputeError::instance_not_found(raw_id)),
    }
}

/// Changes the server `raw_id` names, atomically: `change` gets the server
/// as stored at that moment, its compute fields (materialised for an
/// instance created through the seed's API) and the time, and may refuse
/// with an error; the server's `updated_at` is set to that time. The same
/// visibility and `rule` as [`find_server`] are checked in the same step,
/// before `change`.
pub(crate) async fn change_server<F>(
    api: &ComputeApi,
    call: &Call,
    raw_id: &str,
    if_match: IfMatch,
    rule: Rule,
    change: F,
) -> Result<Server, ComputeError>
where
    F: FnOnce(&mut Server, &mut ServerDetails, Timestamp) -> Result<(), ComputeError>
        + Send
        + 'static,
{
    let id = server_id(raw_id)?;
    let now = api.clock.now();
    let inner = api.clone();
    let credentials = Credentials::of(call);
    let missing = ComputeError::instance_not_found(raw_id);
    let missing_fault = nova_router::Fault::from(missing.clone());
    let outcome = api
        .store
        .update_server(
            id,
            if_match,
            Box::new(move |server: &mut Server| {
                let project = project_of(&inner, server);
                let visible = credentials.is_admin() || project == credentials.project_id();
                if !visible || is_gone(&inner, server, now) {
                    return Err(missing_fault);
                }
                credentials
                    .authorize(rule, project)
                    .map_err(nova_router::Fault::from)?;
                let mut details = details_of(&inner, server).into_owned();
                if let Some(life) = details.lifecycle.as_mut() {
                    life.settle(now);
                }
                change(server, &mut details, now).map_err(nova_router::Fault::from)?;
                server.details = Some(std::sync::Arc::new(details));
                server.updated_at = now;
                Ok(())
            }),
        )
        .await?;
    match outcome {
        ServerUpdate::Applied(server) => Ok(server),
        ServerUpdate::NotFound => Err(missing),
        ServerUpdate::VersionMismatch { current } => {
            Err(ComputeError::PreconditionFailed { id, current })
        }
        ServerUpdate::Refused(fault) => Err(ComputeError::Fault(fault)),
    }
}

/// Records `action` (Nova's `instance_actions`: `create`, `reboot`,
/// `stop`, …) as done by the request `request_id` of `user_id` in
/// `project_id` at `now`, with one successful event. Takes owned-able
/// parts rather than the [`Call`] so a change closure can hold them.
pub(crate) fn record_action(
    details: &mut ServerDetails,
    request_id: &str,
    user_id: &str,
    project_id: &str,
    action: &str,
    event: &str,
    now: Timestamp,
) {
    details.actions.push(InstanceAction {
        action: action.to_owned(),
        request_id: request_id.to_owned(),
        user_id: user_id.to_owned(),
        project_id: project_id.to_owned(),
        start_time: Some(now),
        updated_at: Some(now),
        message: None,
        events: vec![ActionEvent {
            event: event.to_owned(),
            start_time: Some(now),
            finish_time: Some(now),
            result: Some("Success".to_owned()),
        }],
    });
}

/// Nova's `InstanceMappingNotFound`: what the controllers that look up an
/// instance mapping first (`server_tags.py`) answer for an id no server
/// ever had.
fn no_mapping(raw_id: &str) -> ComputeError {
    ComputeError::NotFound(format!("Instance {raw_id} has no mapping to a cell."))
}

/// Whether `server`, stored under `raw_id`, may be acted on under `rule` at
/// `now`, as Nova's mapping-first controllers check (see
/// [`find_mapped_server`]).
fn check_mapped(
    api: &ComputeApi,
    credentials: &Credentials,
    server: &Server,
    raw_id: &str,
    rule: Rule,
    now: Timestamp,
) -> Result<(), ComputeError> {
    credentials.authorize(rule, project_of(api, server))?;
    if is_gone(api, server, now) {
        return Err(ComputeError::instance_not_found(raw_id));
    }
    Ok(())
}

/// The server `raw_id` names, found as the controllers that look up the
/// instance's cell mapping before anything else find it (Nova's
/// `server_tags.py`): 404 `Instance {id} has no mapping to a cell.` if no
/// server ever had the id; then `rule`, its target the server's project,
/// so another project's server is 403 to a caller who is not an admin
/// (not 404, as [`find_server`] answers); then 404 `Instance {id} could
/// not be found.` once its deletion has run.
pub(crate) async fn find_mapped_server(
    api: &ComputeApi,
    call: &Call,
    raw_id: &str,
    rule: Rule,
) -> Result<Server, ComputeError> {
    let id = server_id(raw_id).map_err(|_| no_mapping(raw_id))?;
    let now = api.clock.now();
    let server = api
        .store
        .server(id)
        .await?
        .ok_or_else(|| no_mapping(raw_id))?;
    check_mapped(api, &Credentials::of(call), &server, raw_id, rule, now)?;
    Ok(server)
}

/// Changes the server `raw_id` names, atomically, found as
/// [`find_mapped_server`] finds it in the same step, for a change Nova
/// keeps apart from the instance's row (its tags): the server's
/// `updated` time stays what it was. `change` gets the compute fields
/// (materialised for an instance created through the seed's API) and the
/// time, and may refuse with an error; then nothing is changed.
pub(crate) async fn change_mapped_server<F>(
    api: &ComputeApi,
    call: &Call,
    raw_id: &str,
    rule: Rule,
    change: F,
) -> Result<Server, ComputeError>
where
    F: FnOnce(&mut ServerDetails, Timestamp) -> Result<(), ComputeError> + Send + 'static,
{
    let id = server_id(raw_id).map_err(|_| no_mapping(raw_id))?;
    let now = api.clock.now();
    let inner = api.clone();
    let credentials = Credentials::of(call);
    let raw = raw_id.to_owned();
    let outcome = api
        .store
        .update_server(
            id,
            IfMatch::Any,
            Box::new(move |server: &mut Server| {
                check_mapped(&inner, &credentials, server, &raw, rule, now)
                    .map_err(nova_router::Fault::from)?;
                // Neither the lifecycle is settled nor `updated_at` set:
                // both would move the `updated` time a client sees.
                let mut details = details_of(&inner, server).into_owned();
                change(&mut details, now).map_err(nova_router::Fault::from)?;
                server.details = Some(std::sync::Arc::new(details));
                Ok(())
            }),
        )
        .await?;
    match outcome {
        ServerUpdate::Applied(server) => Ok(server),
        ServerUpdate::NotFound => Err(no_mapping(raw_id)),
        ServerUpdate::VersionMismatch { current } => {
            Err(ComputeError::PreconditionFailed { id, current })
        }
        ServerUpdate::Refused(fault) => Err(ComputeError::Fault(fault)),
    }
}
