//! Changing a stored server's state by decree: [`force_state`] puts a
//! server in the state a test names (`POST /control/servers/{id}/state`),
//! and [`release_stuck`] lets the servers a removed behaviour held go on
//! to where they were going.
//!
//! Both write the server through its [`ServerStore`], in one atomic step
//! each, so the compute API of every process on the store sees the change.

use std::sync::Arc;

use http::StatusCode;
use nova_compute::state::{power_state, states_for_status, task_state, vm_state, Lifecycle, State};
use nova_compute::{Server, ServerDetails, ServerFault, ServerScope, ServerStore, ServerUpdate};
use nova_controller::{IfMatch, StoreError, Timestamp};
use nova_router::Fault;
use serde::Deserialize;
use uuid::Uuid;

/// The fault message of a server forced into `ERROR` without one.
pub const DEFAULT_FORCED_FAULT_MESSAGE: &str = "Forced into ERROR by the control API";

/// The longest fault message, as Nova's `instance_faults.message` column.
const MAX_FAULT_MESSAGE_CHARS: usize = 255;

/// Every task state a server may be forced into: Nova's.
const TASK_STATES: [&str; 17] = [
    task_state::SPAWNING,
    task_state::REBOOTING,
    task_state::REBOOTING_HARD,
    task_state::POWERING_OFF,
    task_state::POWERING_ON,
    task_state::PAUSING,
    task_state::UNPAUSING,
    task_state::SUSPENDING,
    task_state::RESUMING,
    task_state::REBUILDING,
    task_state::RESIZE_PREP,
    task_state::RESIZE_FINISH,
    task_state::RESIZE_REVERTING,
    task_state::RESIZE_CONFIRMING,
    task_state::UPDATING_PASSWORD,
    task_state::IMAGE_SNAPSHOT,
    task_state::DELETING,
];

/// The statuses a server may be forced into, for the error message.
const STATUSES: &str = "ACTIVE, BUILD, ERROR, HARD_REBOOT, PASSWORD, PAUSED, REBOOT, REBUILD, \
                        RESIZE, REVERT_RESIZE, SHUTOFF, SUSPENDED or VERIFY_RESIZE";

/// The body of `POST /control/servers/{id}/state`.
///
/// ```json
/// {"status": "ERROR", "task_state": null, "fault": {"code": 500, "message": "disk on fire"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcedState {
    /// The status the server is to show, in any case (`ERROR`, `active`):
    /// the vm_state is Nova's for it, with no task unless the status only
    /// exists with one (`REBOOT` is active and `rebooting`).
    pub status: String,
    /// The task state to show instead, one of Nova's task states; it must
    /// still show `status` (`ACTIVE` with `powering-off` does, `ACTIVE`
    /// with `rebooting` is `REBOOT`).
    #[serde(default)]
    pub task_state: Option<String>,
    /// The fault to show, for `ERROR` only; one with
    /// [`DEFAULT_FORCED_FAULT_MESSAGE`] if not given.
    #[serde(default)]
    pub fault: Option<ForcedFault>,
}

/// The `fault` of a [`ForcedState`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcedFault {
    /// The fault's code, 400 to 599; 500 if not given.
    #[serde(default = "ForcedFault::default_code")]
    pub code: u16,
    /// The fault's message, at most 255 characters.
    #[serde(default = "ForcedFault::default_message")]
    pub message: String,
}

impl ForcedFault {
    fn default_code() -> u16 {
        500
    }

    fn default_message() -> String {
        DEFAULT_FORCED_FAULT_MESSAGE.to_owned()
    }
}

impl ForcedState {
    /// Reads a `POST /control/servers/{id}/state` body; it is checked
    /// whole by [`force_state`].
    pub fn from_json(body: &[u8]) -> Result<ForcedState, ForceError> {
        let malformed = |error: serde_json::Error| ForceError::Malformed(error.to_string());
        let value: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
        // serde reads a struct from an array too; a client never means
        // `"fault": [500, "x"]`.
        match value.get("fault") {
            None | Some(serde_json::Value::Null | serde_json::Value::Object(_)) => {}
            Some(_) => {
                return Err(ForceError::Malformed(
                    "fault must be a JSON object".to_owned(),
                ))
            }
        }
        serde_json::from_value(value).map_err(malformed)
    }

    /// The state the request names, and the fault to show with it; checks
    /// every value.
    fn resolve(&self) -> Result<(State, Option<ForcedFault>), ForceError> {
        let status = self.status.to_ascii_uppercase();
        let states = states_for_status(&status);
        // The state with no task if the status has one, else the first of
        // Nova's: REBOOT exists only as active and rebooting.
        let Some((vm, default_task)) = states
            .iter()
            .find(|(_, task)| task.is_none())
            .or_else(|| states.first())
            .copied()
            .filter(|(vm, _)| *vm != vm_state::DELETED)
        else {
            return Err(ForceError::UnknownStatus(self.status.clone()));
        };
        let task = match &self.task_state {
            Some(task) => Some(
                TASK_STATES
                    .iter()
                    .find(|known| **known == task)
                    .copied()
                    .ok_or_else(|| ForceError::UnknownTaskState(task.clone()))?,
            ),
            None => default_task,
        };
        let shown = nova_compute::state::status_from_state(vm, task);
        if shown != status {
            return Err(ForceError::TaskStateHidesStatus {
                task_state: task.unwrap_or_default().to_owned(),
                shown,
                status,
            });
        }
        let fault = match (&self.fault, vm) {
            (None, vm_state::ERROR) => Some(ForcedFault {
                code: ForcedFault::default_code(),
                message: ForcedFault::default_message(),
            }),
            (Some(fault), vm_state::ERROR) => {
                if !(400..=599).contains(&fault.code) {
                    return Err(ForceError::BadFault(format!(
                        "fault.code must be 400 to 599; got {}",
                        fault.code
                    )));
                }
                if fault.message.chars().count() > MAX_FAULT_MESSAGE_CHARS {
                    return Err(ForceError::BadFault(format!(
                        "fault.message must be at most {MAX_FAULT_MESSAGE_CHARS} characters"
                    )));
                }
                Some(fault.clone())
            }
            (Some(_), _) => {
                return Err(ForceError::BadFault(
                    "a fault is only for status ERROR".to_owned(),
                ))
            }
            (None, _) => None,
        };
        let state = State {
            vm_state: vm.to_owned(),
            task_state: task.map(str::to_owned),
            power_state: power_of(vm),
        };
        Ok((state, fault))
    }
}

/// The power state a server forced into `vm` shows.
fn power_of(vm: &str) -> u8 {
    match vm {
        vm_state::ACTIVE | vm_state::RESIZED => power_state::RUNNING,
        vm_state::STOPPED => power_state::SHUTDOWN,
        vm_state::PAUSED => power_state::PAUSED,
        vm_state::SUSPENDED => power_state::SUSPENDED,
        _ => power_state::NOSTATE,
    }
}

/// Why a state could not be forced; the message is the client's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForceError {
    /// The body is not a forced state (bad JSON, an unknown key, a wrong
    /// type).
    #[error("Invalid state: {0}")]
    Malformed(String),
    /// A status no server can be forced into.
    #[error("Invalid state: status {0:?} is not one nova-rs can force; use {STATUSES}")]
    UnknownStatus(String),
    /// A task state that is not Nova's.
    #[error("Invalid state: task_state {0:?} is not one of Nova's task states")]
    UnknownTaskState(String),
    /// A task state that would show another status.
    #[error("Invalid state: task_state {task_state:?} shows the server as {shown}, not {status}")]
    TaskStateHidesStatus {
        /// The task state.
        task_state: String,
        /// The status it would show.
        shown: &'static str,
        /// The status asked for.
        status: String,
    },
    /// A fault where there is none to show, or out of range.
    #[error("Invalid state: {0}")]
    BadFault(String),
    /// No server has this id, or it was deleted.
    #[error("Instance {0} could not be found.")]
    NotFound(Uuid),
    /// The server was created through the seed's `/instances` and has no
    /// compute API state to force.
    #[error("Instance {0} has no compute API state: it was created through /instances")]
    NoComputeState(Uuid),
    /// The store failed; its words are for the log.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts the server `id` in the state `request` names, as of `clock_now`:
/// a settled state (nothing under way, no behaviour holding it), the
/// fault set for `ERROR` and cleared otherwise, `updated_at` now. The
/// server as stored afterwards.
pub async fn force_state(
    store: &dyn ServerStore,
    clock_now: Timestamp,
    id: Uuid,
    request: ForcedState,
) -> Result<Server, ForceError> {
    let (state, fault) = request.resolve()?;
    let change = Box::new(move |server: &mut Server| {
        if server.deleted_at.is_some() {
            return Err(Fault::not_found(""));
        }
        let Some(details) = &server.details else {
            return Err(Fault::bad_request(""));
        };
        let mut details = ServerDetails::clone(details);
        details.lifecycle = Some(Lifecycle::settled(state));
        details.stuck_by = None;
        details.fault = fault.map(|fault| ServerFault {
            code: fault.code,
            message: fault.message,
            details: None,
            created: Some(clock_now),
        });
        server.details = Some(Arc::new(details));
        server.updated_at = clock_now;
        Ok(())
    });
    match store.update_server(id, IfMatch::Any, change).await? {
        ServerUpdate::Applied(server) => Ok(server),
        // The change refuses with 404 for a deleted server and 400 for one
        // without details, and nothing else.
        ServerUpdate::Refused(fault) if fault.status() == StatusCode::BAD_REQUEST => {
            Err(ForceError::NoComputeState(id))
        }
        _ => Err(ForceError::NotFound(id)),
    }
}

/// Lets go of every server (of every project, deleting ones included)
/// that a behaviour with one of `behavior_ids` holds: its transition ends
/// at `now`, so it shows at once the state it was going to, and no
/// behaviour holds it any more. How many servers were let go.
pub async fn release_stuck(
    store: &dyn ServerStore,
    now: Timestamp,
    behavior_ids: &[String],
) -> Result<usize, StoreError> {
    if behavior_ids.is_empty() {
        return Ok(0);
    }
    let held_by_one = |details: &ServerDetails| {
        details
            .stuck_by
            .as_ref()
            .is_some_and(|holder| behavior_ids.contains(holder))
    };
    let mut held = Vec::new();
    let mut visit = |server: &Server| {
        if server.details.as_deref().is_some_and(held_by_one) {
            held.push(server.id);
        }
    };
    let scope = ServerScope {
        projects: None,
        include_deleted: true,
    };
    store.visit_servers(scope, &mut visit).await?;
    let mut released = 0;
    for id in held {
        let ids = behavior_ids.to_vec();
        let change = Box::new(move |server: &mut Server| {
            let Some(details) = &server.details else {
                return Err(Fault::not_found(""));
            };
            // Forced or released since it was listed: nothing to do, and
            // nothing written.
            if !details.stuck_by.as_ref().is_some_and(|id| ids.contains(id)) {
                return Err(Fault::not_found(""));
            }
            let mut details = ServerDetails::clone(details);
            details.stuck_by = None;
            if let Some(lifecycle) = details.lifecycle.as_mut() {
                if let Some(transition) = lifecycle.transition.as_mut() {
                    transition.until = transition.until.min(now);
                }
            }
            server.details = Some(Arc::new(details));
            server.updated_at = now;
            Ok(())
        });
        if let ServerUpdate::Applied(_) = store.update_server(id, IfMatch::Any, change).await? {
            released += 1;
        }
    }
    Ok(released)
}

#[cfg(test)]
mod tests;
