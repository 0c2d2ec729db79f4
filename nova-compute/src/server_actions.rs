//! `POST /servers/{id}/action`: the server actions of Nova's `servers.py`
//! (`reboot`, `resize`, `confirmResize`, `revertResize`, `rebuild`,
//! `createImage`, `os-start`, `os-stop`), `pause_server.py`,
//! `suspend_server.py`, `lock_server.py` and `admin_password.py`
//! (`changePassword`).
//!
//! Nova's `wsgi` picks the action from the body's one key; its schema is
//! checked before the server is looked up; the compute API's
//! `check_instance_lock` and `check_instance_state` then decide, in the
//! same atomic step as the change ([`change_server`]), whether the server
//! may do it now. An accepted action starts a transition that ends by
//! itself at a stored instant ([`Lifecycle::begin`](crate::state::Lifecycle))
//! and is recorded in `os-instance-actions`, its compute events finishing
//! when the transition does.
//!
//! With a [`FaultInjector`](crate::FaultInjector), each action is asked
//! about once those checks pass (`ServerEventKind::Action`, the body's
//! key as its name): `Fail` answers the request with its fault and
//! changes nothing; `Take`, `Error` and `Stuck` shape the action's
//! transition. `lock` and `unlock` are instant, with no task state to
//! shape: of their injections only `Fail` applies, the others are ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use http::header::LOCATION;
use http::StatusCode;
use nova_controller::{IfMatch, Timestamp};
use nova_router::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::api::{empty, json, set_header, Call};
use crate::course::Course;
use crate::image_catalog::{any_image, find_image, Viewer};
use crate::lookup::{change_server, details_of, find_server, project_of, record_action};
use crate::policy::{self, Credentials, Rule};
use crate::quota::check_quota;
use crate::schemas::server_actions::check_action;
use crate::state::{never, power_state, task_state, vm_state, State};
use crate::views::servers::{self as view, Parts};
use crate::{
    ComputeApi, ComputeError, Durations, FlavorSnapshot, Image, ImageStatus, Lock, Server,
    ServerDetails, ServerEvent, ServerEventKind, Visibility,
};

/// The actions this controller knows, by the body key that names them.
const ACTIONS: &[&str] = &[
    "reboot",
    "resize",
    "confirmResize",
    "revertResize",
    "rebuild",
    "createImage",
    "os-start",
    "os-stop",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "lock",
    "unlock",
    "changePassword",
];

pub(crate) async fn dispatch(api: &ComputeApi, call: Call) -> Result<Response, ComputeError> {
    let (action, body) = action_of(&call)?;
    if !ACTIONS.contains(&action.as_str()) {
        return Err(ComputeError::BadRequest(format!(
            "There is no such action: {action}"
        )));
    }
    check_action(&action, call.version, &body)?;
    let value = body.get(&action).cloned().unwrap_or(Value::Null);
    match action.as_str() {
        "reboot" => reboot(api, &call, &value).await,
        "resize" => resize(api, &call, &value).await,
        "confirmResize" => confirm_resize(api, &call).await,
        "revertResize" => revert_resize(api, &call).await,
        "rebuild" => rebuild(api, &call, value).await,
        "createImage" => create_image(api, &call, &value).await,
        "os-start" => perform(api, &call, &START).await,
        "os-stop" => perform(api, &call, &STOP).await,
        "pause" => perform(api, &call, &PAUSE).await,
        "unpause" => perform(api, &call, &UNPAUSE).await,
        "suspend" => perform(api, &call, &SUSPEND).await,
        "resume" => perform(api, &call, &RESUME).await,
        "lock" => lock(api, &call, &value).await,
        "unlock" => unlock(api, &call).await,
        "changePassword" => perform(api, &call, &CHANGE_PASSWORD).await,
        other => Err(ComputeError::UnknownAction(format!(
            "servers.action {other}"
        ))),
    }
}

/// The action a body names, and the body, as Nova's `action_peek` finds
/// it: the one key of a JSON object. Any other number of keys (or of
/// elements, or of characters: Python's `len`) is a malformed body; a
/// list or text of one has no keys, and a number, a boolean or `null` no
/// length, which Nova answers with its bare 404.
fn action_of(call: &Call) -> Result<(String, Value), ComputeError> {
    let body = call.required_json_body()?;
    let malformed = || ComputeError::BadRequest("Malformed request body".to_owned());
    match &body {
        Value::Object(map) if map.len() == 1 => {
            let action = map.keys().next().cloned().unwrap_or_default();
            Ok((action, body))
        }
        Value::Object(_) => Err(malformed()),
        Value::Array(items) if items.len() != 1 => Err(malformed()),
        Value::String(text) if text.chars().count() != 1 => Err(malformed()),
        _ => Err(ComputeError::NotFound(
            "The resource could not be found.".to_owned(),
        )),
    }
}

// ---- what the compute API checks -----------------------------------------

/// What an action does to a locked server for a caller who is not an
/// admin (Nova's `check_instance_lock`, and how each controller answers
/// the `InstanceIsLocked` it raises).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockRule {
    /// 409 `Instance {id} is locked`.
    Refuse,
    /// 409 `Instance {id} is in an invalid state for '{action}'`: the
    /// controller has no handler of its own for a lock and answers it as
    /// the invalid state it derives from (`changePassword`).
    RefuseAsInvalidState,
    /// Locks do not stop it (`createImage`: a lock guards against change
    /// and deletion, a snapshot is neither).
    Ignore,
}

/// The states an operation is allowed in: Nova's `check_instance_state`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Allowed {
    /// The vm_states; `None` for any.
    pub vm: Option<&'static [&'static str]>,
    /// The task_states (`None` in the list for no task under way);
    /// `None` for any.
    pub task: Option<&'static [Option<&'static str>]>,
}

/// Nova's default `task_state=(None,)`: nothing may be under way.
pub(crate) const IDLE: Option<&[Option<&str>]> = Some(&[None]);

/// Nova's `task_states.ALLOW_REBOOT`, the task states a hard reboot
/// interrupts (those we have of them).
const ALLOW_REBOOT: &[Option<&str>] = &[
    None,
    Some(task_state::REBOOTING),
    Some(task_state::RESUMING),
    Some(task_state::REBOOTING_HARD),
    Some(task_state::UNPAUSING),
    Some(task_state::PAUSING),
    Some(task_state::SUSPENDING),
];

/// Refuses a change to a locked server as `rule` says; admins are never
/// refused.
pub(crate) fn check_lock(
    rule: LockRule,
    is_admin: bool,
    server: &Server,
    details: &ServerDetails,
    action: &str,
    raw_id: &str,
) -> Result<(), ComputeError> {
    if details.lock.is_none() || is_admin {
        return Ok(());
    }
    match rule {
        LockRule::Refuse => Err(ComputeError::Conflict(format!(
            "Instance {} is locked",
            server.id
        ))),
        LockRule::RefuseAsInvalidState => Err(ComputeError::Conflict(format!(
            "Instance {raw_id} is in an invalid state for '{action}'"
        ))),
        LockRule::Ignore => Ok(()),
    }
}

/// The server's state at `now` if `allowed` allows it, else Nova's 409
/// naming the first thing that is wrong: `Cannot '{action}' instance {id}
/// while it is in vm_state stopped` (then task_state, then launched_at,
/// as `check_instance_state` checks them).
///
/// Nova also wants the server to have been launched once; a server is
/// taken as launched if it has a launch time or is anywhere but in
/// `ERROR` (one that never built).
pub(crate) fn check_state(
    details: &ServerDetails,
    now: Timestamp,
    allowed: Allowed,
    action: &str,
    raw_id: &str,
) -> Result<State, ComputeError> {
    let state = details.lifecycle().at(now).clone();
    let refuse = |attr: &str, value: &str| {
        ComputeError::Conflict(format!(
            "Cannot '{action}' instance {raw_id} while it is in {attr} {value}"
        ))
    };
    if let Some(vm) = allowed.vm {
        if !vm.contains(&state.vm_state.as_str()) {
            return Err(refuse("vm_state", &state.vm_state));
        }
    }
    if let Some(task) = allowed.task {
        if !task.contains(&state.task_state.as_deref()) {
            return Err(refuse(
                "task_state",
                state.task_state.as_deref().unwrap_or("None"),
            ));
        }
    }
    if details.launched_at.is_none() && state.vm_state == vm_state::ERROR {
        return Err(refuse("launched_at", "None"));
    }
    Ok(state)
}

/// Who made the call, owned, for a change closure to check and record.
#[derive(Debug, Clone)]
struct Caller {
    request_id: String,
    user_id: String,
    project_id: String,
    credentials: Credentials,
}

impl Caller {
    fn of(call: &Call) -> Self {
        Caller {
            request_id: call.request_id.clone(),
            user_id: call.user_id.clone(),
            project_id: call.project_id.clone(),
            credentials: Credentials::of(call),
        }
    }

    /// Records `action` started at `now` with `events` (in the order they
    /// happen), each finishing at `until`, when the transition does.
    fn record(
        &self,
        details: &mut ServerDetails,
        action: &str,
        events: &[&str],
        now: Timestamp,
        until: Timestamp,
    ) {
        let Some((first, rest)) = events.split_first() else {
            return;
        };
        record_action(
            details,
            &self.request_id,
            &self.user_id,
            &self.project_id,
            action,
            first,
            now,
        );
        if let Some(recorded) = details.actions.last_mut() {
            if let Some(template) = recorded.events.first().cloned() {
                for event in rest {
                    let mut more = template.clone();
                    more.event = (*event).to_owned();
                    recorded.events.push(more);
                }
            }
            for event in &mut recorded.events {
                event.finish_time = Some(until);
            }
            recorded.updated_at = Some(until);
        }
    }
}

fn accepted() -> Response {
    empty(StatusCode::ACCEPTED)
}

fn same_power(state: &State, vm: &str) -> State {
    State::settled(vm, state.power_state)
}

fn running(_: &State) -> State {
    State::settled(vm_state::ACTIVE, power_state::RUNNING)
}

/// Back to what the server was before a resize: stopped if it was
/// powered off, else active.
fn as_before_resize(state: &State) -> State {
    if state.power_state == power_state::SHUTDOWN {
        State::settled(vm_state::STOPPED, power_state::SHUTDOWN)
    } else {
        State::settled(vm_state::ACTIVE, power_state::RUNNING)
    }
}

// ---- the actions ----------------------------------------------------------

/// What an action is to the compute API: the policy rule that lets a
/// caller do it, the lock and states it is allowed in, the transition it
/// starts and what it records. Actions with checks or changes of their
/// own add them ([`transition`]).
#[derive(Debug)]
struct Operation {
    /// The body's key that asks for it (`os-stop`), as the injector is
    /// told.
    key: &'static str,
    /// The rule Nova's controller asks once it has found the server.
    rule: Rule,
    /// The name Nova's 409 uses.
    name: &'static str,
    /// The instance action recorded.
    record: &'static str,
    /// Its compute events, in the order they happen.
    events: &'static [&'static str],
    lock: LockRule,
    allowed: Allowed,
    /// The task state while it runs.
    doing: &'static str,
    /// The state it ends in, from the state it started from.
    then: fn(&State) -> State,
    takes: fn(&Durations) -> Duration,
}

fn action_time(durations: &Durations) -> Duration {
    durations.action
}

const START: Operation = Operation {
    key: "os-start",
    rule: Rule::ServersStart,
    name: "start",
    record: "start",
    events: &["compute_start_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::STOPPED]),
        task: IDLE,
    },
    doing: task_state::POWERING_ON,
    then: running,
    takes: action_time,
};

const STOP: Operation = Operation {
    key: "os-stop",
    rule: Rule::ServersStop,
    name: "stop",
    record: "stop",
    events: &["compute_stop_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::ACTIVE, vm_state::ERROR]),
        task: IDLE,
    },
    doing: task_state::POWERING_OFF,
    then: |_| State::settled(vm_state::STOPPED, power_state::SHUTDOWN),
    takes: action_time,
};

const PAUSE: Operation = Operation {
    key: "pause",
    rule: Rule::PauseServer,
    name: "pause",
    record: "pause",
    events: &["compute_pause_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::ACTIVE]),
        task: IDLE,
    },
    doing: task_state::PAUSING,
    then: |_| State::settled(vm_state::PAUSED, power_state::PAUSED),
    takes: action_time,
};

const UNPAUSE: Operation = Operation {
    key: "unpause",
    rule: Rule::UnpauseServer,
    name: "unpause",
    record: "unpause",
    events: &["compute_unpause_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::PAUSED]),
        task: IDLE,
    },
    doing: task_state::UNPAUSING,
    then: running,
    takes: action_time,
};

const SUSPEND: Operation = Operation {
    key: "suspend",
    rule: Rule::SuspendServer,
    name: "suspend",
    record: "suspend",
    events: &["compute_suspend_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::ACTIVE]),
        task: IDLE,
    },
    doing: task_state::SUSPENDING,
    then: |_| State::settled(vm_state::SUSPENDED, power_state::SUSPENDED),
    takes: action_time,
};

const RESUME: Operation = Operation {
    key: "resume",
    rule: Rule::ResumeServer,
    name: "resume",
    record: "resume",
    events: &["compute_resume_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::SUSPENDED]),
        task: IDLE,
    },
    doing: task_state::RESUMING,
    then: running,
    takes: action_time,
};

const SOFT_REBOOT: Operation = Operation {
    key: "reboot",
    rule: Rule::ServersReboot,
    name: "reboot",
    record: "reboot",
    events: &["compute_reboot_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::ACTIVE]),
        task: IDLE,
    },
    doing: task_state::REBOOTING,
    then: running,
    takes: |durations| durations.reboot,
};

const HARD_REBOOT: Operation = Operation {
    allowed: Allowed {
        vm: Some(&[
            vm_state::ACTIVE,
            vm_state::STOPPED,
            vm_state::PAUSED,
            vm_state::SUSPENDED,
            vm_state::ERROR,
        ]),
        task: Some(ALLOW_REBOOT),
    },
    doing: task_state::REBOOTING_HARD,
    ..SOFT_REBOOT
};

const CHANGE_PASSWORD: Operation = Operation {
    key: "changePassword",
    rule: Rule::AdminPassword,
    name: "changePassword",
    record: "changePassword",
    events: &["compute_set_admin_password"],
    lock: LockRule::RefuseAsInvalidState,
    allowed: Allowed {
        vm: Some(&[vm_state::ACTIVE]),
        task: IDLE,
    },
    doing: task_state::UPDATING_PASSWORD,
    then: |state| same_power(state, vm_state::ACTIVE),
    takes: action_time,
};

const CREATE_IMAGE: Operation = Operation {
    key: "createImage",
    rule: Rule::ServersCreateImage,
    name: "createImage",
    record: "createImage",
    events: &["compute_snapshot_instance"],
    lock: LockRule::Ignore,
    allowed: Allowed {
        vm: Some(&[
            vm_state::ACTIVE,
            vm_state::STOPPED,
            vm_state::PAUSED,
            vm_state::SUSPENDED,
        ]),
        task: IDLE,
    },
    doing: task_state::IMAGE_SNAPSHOT,
    then: |state| same_power(state, &state.vm_state),
    takes: action_time,
};

impl Operation {
    /// Nova's `check_instance_lock` and `check_instance_state` for this
    /// action: the server's state at `now` if it may.
    fn guard(
        &self,
        caller: &Caller,
        raw_id: &str,
        server: &Server,
        details: &ServerDetails,
        now: Timestamp,
    ) -> Result<State, ComputeError> {
        check_lock(
            self.lock,
            caller.credentials.is_admin(),
            server,
            details,
            self.name,
            raw_id,
        )?;
        check_state(details, now, self.allowed, self.name, raw_id)
    }

    /// [`Operation::guard`] on the server as it is now, for an action with a
    /// check that cannot run inside the atomic change (a quota, which
    /// reads other servers) but must come after these, as in Nova.
    async fn precheck(&self, api: &ComputeApi, call: &Call) -> Result<ServerDetails, ComputeError> {
        let server = find_server(api, call, call.param("id"), self.rule).await?;
        let details = details_of(api, &server);
        self.guard(
            &Caller::of(call),
            call.param("id"),
            &server,
            &details,
            api.clock.now(),
        )?;
        Ok(details.into_owned())
    }
}

/// Applies `spec` to the server of the call, with `more` run after the
/// checks (for its own checks and changes) in the same step, as the
/// injector (if any) shapes it.
async fn transition<F>(
    api: &ComputeApi,
    call: &Call,
    spec: &'static Operation,
    more: F,
) -> Result<Server, ComputeError>
where
    F: FnOnce(&mut Server, &mut ServerDetails, &State) -> Result<(), ComputeError> + Send + 'static,
{
    let course = ask_operation(api, call, spec).await?;
    transition_as(api, call, spec, course, more).await
}

/// [`transition`] on the course the injector has set.
async fn transition_as<F>(
    api: &ComputeApi,
    call: &Call,
    spec: &'static Operation,
    course: Course,
    more: F,
) -> Result<Server, ComputeError>
where
    F: FnOnce(&mut Server, &mut ServerDetails, &State) -> Result<(), ComputeError> + Send + 'static,
{
    let caller = Caller::of(call);
    let raw_id = call.param("id").to_owned();
    let durations = api.cloud.durations;
    change_server(
        api,
        call,
        call.param("id"),
        IfMatch::Any,
        spec.rule,
        move |server, details, now| {
            let state = spec.guard(&caller, &raw_id, server, details, now)?;
            more(server, details, &state)?;
            let ending = crate::course::begin(
                details,
                now,
                spec.doing,
                (spec.takes)(&durations),
                (spec.then)(&state),
                &course,
            );
            caller.record(details, spec.record, spec.events, now, ending.until);
            crate::course::record_ending(details, &ending);
            Ok(())
        },
    )
    .await
}

/// The injector's course for `spec` on the call's server, asked once the
/// server is found and `spec`'s lock and state checks pass on it as it is
/// now (they run again in the atomic change): a request Nova would refuse
/// is refused, not failed by an injection. Nothing is read without an
/// injector.
async fn ask_operation(
    api: &ComputeApi,
    call: &Call,
    spec: &'static Operation,
) -> Result<Course, ComputeError> {
    if api.injector.is_none() {
        return Ok(Course::Ordinary);
    }
    let server = find_server(api, call, call.param("id"), spec.rule).await?;
    let details = details_of(api, &server);
    spec.guard(
        &Caller::of(call),
        call.param("id"),
        &server,
        &details,
        api.clock.now(),
    )?;
    ask_about(api, &server, &details, spec.key).await
}

/// The injector's course for the action `key` on `server`, found and
/// checked by the caller.
async fn ask_about(
    api: &ComputeApi,
    server: &Server,
    details: &ServerDetails,
    key: &str,
) -> Result<Course, ComputeError> {
    let event = ServerEvent {
        kind: ServerEventKind::Action,
        project_id: project_of(api, server),
        server_id: Some(server.id),
        server_name: &server.name,
        metadata: &details.metadata,
        action: Some(key),
    };
    crate::course::ask(api, event).await
}

async fn perform(
    api: &ComputeApi,
    call: &Call,
    spec: &'static Operation,
) -> Result<Response, ComputeError> {
    transition(api, call, spec, |_, _, _| Ok(())).await?;
    Ok(accepted())
}

async fn reboot(api: &ComputeApi, call: &Call, value: &Value) -> Result<Response, ComputeError> {
    let hard = value["type"]
        .as_str()
        .is_some_and(|kind| kind.eq_ignore_ascii_case("hard"));
    let spec = if hard { &HARD_REBOOT } else { &SOFT_REBOOT };
    perform(api, call, spec).await
}

// ---- resize ---------------------------------------------------------------

const RESIZE: Operation = Operation {
    key: "resize",
    rule: Rule::ServersResize,
    name: "resize",
    record: "resize",
    events: &[
        "conductor_migrate_server",
        "compute_prep_resize",
        "compute_resize_instance",
        "compute_finish_resize",
    ],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::ACTIVE, vm_state::STOPPED]),
        task: IDLE,
    },
    doing: task_state::RESIZE_PREP,
    then: |state| same_power(state, vm_state::RESIZED),
    takes: |durations| durations.resize,
};

const CONFIRM_RESIZE: Operation = Operation {
    key: "confirmResize",
    rule: Rule::ServersConfirmResize,
    name: "confirmResize",
    record: "confirmResize",
    events: &["compute_confirm_resize"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::RESIZED]),
        task: IDLE,
    },
    doing: task_state::RESIZE_CONFIRMING,
    then: as_before_resize,
    takes: action_time,
};

const REVERT_RESIZE: Operation = Operation {
    key: "revertResize",
    rule: Rule::ServersRevertResize,
    name: "revertResize",
    record: "revertResize",
    events: &["compute_revert_resize", "compute_finish_revert_resize"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::RESIZED]),
        task: IDLE,
    },
    doing: task_state::RESIZE_REVERTING,
    then: as_before_resize,
    takes: action_time,
};

/// Nova's `_validate_flavor_image`'s first check: a server is built or
/// rebuilt only from an `active` image (a snapshot still being taken is
/// not).
pub(crate) fn check_image_active(image: &Image, now: Timestamp) -> Result<(), ComputeError> {
    if image.status_at(now) == ImageStatus::Active {
        Ok(())
    } else {
        Err(ComputeError::BadRequest(format!(
            "Image {} is not active.",
            image.id
        )))
    }
}

/// Nova's `_validate_flavor_image_nostatus` for the checks that apply
/// here: the image's minimum memory and disk, and its size, against the
/// flavor (a flavor with no root disk is not checked for disk, as Nova's).
pub(crate) fn check_flavor_fits(
    flavor: &FlavorSnapshot,
    image: &Image,
) -> Result<(), ComputeError> {
    const GIB: u64 = 1 << 30;
    if flavor.ram < image.min_ram {
        return Err(ComputeError::BadRequest(
            "Flavor's memory is too small for requested image.".to_owned(),
        ));
    }
    let disk = flavor.disk.saturating_mul(GIB);
    if disk != 0 && image.size > disk {
        return Err(ComputeError::BadRequest(format!(
            "Flavor's disk is too small for requested image. Flavor disk is {disk} bytes, image is {} bytes.",
            image.size
        )));
    }
    let min_disk = image.min_disk.saturating_mul(GIB);
    if disk != 0 && min_disk > disk {
        return Err(ComputeError::BadRequest(format!(
            "Flavor's disk is smaller than the minimum size specified in image metadata. \
             Flavor disk is {disk} bytes, minimum size is {min_disk} bytes."
        )));
    }
    Ok(())
}

/// The image the server runs, configured or a snapshot, whoever may see
/// it (Nova keeps a copy of it in the server); `None` once it is gone.
async fn image_of(
    api: &ComputeApi,
    details: &ServerDetails,
) -> Result<Option<Image>, ComputeError> {
    let Ok(id) = Uuid::try_parse(&details.image_id) else {
        return Ok(None);
    };
    Ok(any_image(&api.cloud, api.store.as_ref(), id).await?)
}

/// The flavor `flavor_id` names if the server may be resized to it:
/// Nova's checks in its order (the flavor exists, is another, keeps a
/// root disk if the server has one, and fits `image`, the server's, if
/// it is still there).
fn resize_target(
    api: &ComputeApi,
    details: &ServerDetails,
    flavor_id: &str,
    image: Option<&Image>,
) -> Result<FlavorSnapshot, ComputeError> {
    let Some(new) = api.cloud.flavor(flavor_id).map(|flavor| flavor.snapshot()) else {
        return Err(ComputeError::BadRequest(format!(
            "Flavor {flavor_id} could not be found."
        )));
    };
    if new.id == details.flavor.id {
        return Err(ComputeError::BadRequest(
            "When resizing, instances must change flavor!".to_owned(),
        ));
    }
    if new.disk == 0 && details.flavor.disk != 0 {
        return Err(ComputeError::BadRequest(
            "Server disk was unable to be resized because: Resize to zero disk flavor is not allowed."
                .to_owned(),
        ));
    }
    if let Some(image) = image.filter(|image| image.id.to_string() == details.image_id) {
        check_flavor_fits(&new, image)?;
    }
    Ok(new)
}

/// Nova's `_check_quota_for_upsize`: the project's cores and memory must
/// have room for what `to` adds over `from`.
async fn check_upsize_quota(
    api: &ComputeApi,
    call: &Call,
    from: &FlavorSnapshot,
    to: &FlavorSnapshot,
) -> Result<(), ComputeError> {
    let cores = i64::from(to.vcpus) - i64::from(from.vcpus);
    let ram =
        i64::try_from(to.ram).unwrap_or(i64::MAX) - i64::try_from(from.ram).unwrap_or(i64::MAX);
    if cores <= 0 && ram <= 0 {
        return Ok(());
    }
    check_quota(api, call, 0, cores.max(0), ram.max(0)).await
}

async fn resize(api: &ComputeApi, call: &Call, value: &Value) -> Result<Response, ComputeError> {
    // Nova takes `str(flavorRef)` as the flavor's id, a link unresolved.
    let flavor_id = match &value["flavorRef"] {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    };
    let details = RESIZE.precheck(api, call).await?;
    // Read before the atomic step, which cannot wait on the store: the
    // step checks the fit only if the server still runs this image.
    let image = image_of(api, &details).await?;
    let new = resize_target(api, &details, &flavor_id, image.as_ref())?;
    check_upsize_quota(api, call, &details.flavor, &new).await?;
    let inner = api.clone();
    transition(api, call, &RESIZE, move |_, details, _| {
        let new = resize_target(&inner, details, &flavor_id, image.as_ref())?;
        // The server holds its new flavor from the start: one flavor
        // field, no timer to swap it when the resize finishes.
        details.old_flavor = Some(std::mem::replace(&mut details.flavor, new));
        Ok(())
    })
    .await?;
    Ok(accepted())
}

/// Nova's `MigrationNotFound` answer: a resized server without the flavor
/// it had before.
fn not_resized() -> ComputeError {
    ComputeError::BadRequest("Instance has not been resized.".to_owned())
}

async fn confirm_resize(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    transition(api, call, &CONFIRM_RESIZE, |_, details, _| {
        details
            .old_flavor
            .take()
            .map(|_| ())
            .ok_or_else(not_resized)
    })
    .await?;
    // 204, not 202: kept for compatibility (Nova's note on `_confirm_resize`).
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn revert_resize(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    // Reverting a downsize may go over the quota.
    let details = REVERT_RESIZE.precheck(api, call).await?;
    let old = details.old_flavor.as_ref().ok_or_else(not_resized)?;
    check_upsize_quota(api, call, &details.flavor, old).await?;
    transition(api, call, &REVERT_RESIZE, |_, details, _| {
        let old = details.old_flavor.take().ok_or_else(not_resized)?;
        details.flavor = old;
        Ok(())
    })
    .await?;
    Ok(accepted())
}

// ---- rebuild --------------------------------------------------------------

const REBUILD: Operation = Operation {
    key: "rebuild",
    rule: Rule::ServersRebuild,
    name: "rebuild",
    record: "rebuild",
    events: &["compute_rebuild_instance"],
    lock: LockRule::Refuse,
    allowed: Allowed {
        vm: Some(&[vm_state::ACTIVE, vm_state::STOPPED, vm_state::ERROR]),
        task: IDLE,
    },
    doing: task_state::REBUILDING,
    then: |state| {
        if state.vm_state == vm_state::STOPPED {
            State::settled(vm_state::STOPPED, power_state::SHUTDOWN)
        } else {
            State::settled(vm_state::ACTIVE, power_state::RUNNING)
        }
    },
    takes: |durations| durations.rebuild,
};

/// How many metadata items the caller may give a server: the
/// `metadata_items` limit in effect for the caller's project and user (a
/// limit set through `os-quota-sets`, else the configured one), `-1` for
/// no limit. Read before an atomic change, which cannot wait on the store.
pub(crate) async fn metadata_items_allowed(
    api: &ComputeApi,
    call: &Call,
) -> Result<i64, ComputeError> {
    let quota = crate::quota::caller_quota(api, call).await?;
    Ok(quota.effective().metadata_items)
}

/// Whether `items` metadata items are more than `allowed` (`-1`: no
/// limit) lets a server have.
pub(crate) fn over_metadata_quota(allowed: i64, items: usize) -> bool {
    allowed >= 0 && i64::try_from(items).unwrap_or(i64::MAX) > allowed
}

/// Nova's `MetadataLimitExceeded` for `items` items over `allowed`,
/// answered 403.
pub(crate) fn check_metadata_quota(allowed: i64, items: usize) -> Result<(), ComputeError> {
    if over_metadata_quota(allowed, items) {
        return Err(ComputeError::Forbidden(format!(
            "Maximum number of metadata items exceeds {allowed}"
        )));
    }
    Ok(())
}

async fn rebuild(api: &ComputeApi, call: &Call, fields: Value) -> Result<Response, ComputeError> {
    // Nova asks `rebuild:trusted_certs` (for null too, which unsets them)
    // after `rebuild` and before the lock and state checks, which the
    // atomic step below makes together: asked here, of the server as it
    // is now, the order holds.
    if call.at_least(2, 63) && fields.get("trusted_image_certificates").is_some() {
        let server = find_server(api, call, call.param("id"), REBUILD.rule).await?;
        policy::authorize(
            call,
            Rule::ServersRebuildTrustedCerts,
            project_of(api, &server),
        )?;
    }
    let image_ref = fields["imageRef"].as_str().unwrap_or_default().to_owned();
    let password = fields["adminPass"]
        .as_str()
        .map_or_else(generate_password, str::to_owned);
    let image = match Uuid::try_parse(&image_ref) {
        Ok(id) => find_image(&api.cloud, api.store.as_ref(), &Viewer::of(call), id).await?,
        Err(_) => None,
    };
    let now = api.clock.now();
    // What the microversion lets a rebuild set besides 2.1's fields.
    let key_names = call.at_least(2, 54);
    // Nova reads the key pair of the caller (not of the server's owner:
    // users own keys, projects own servers) before the rebuild.
    let new_key_name = match fields.get("key_name").and_then(Value::as_str) {
        Some(name) if key_names => {
            // Nova finds the server (404) before it reads the key pair
            // (400): an unknown server is not found, whatever its key.
            find_server(api, call, call.param("id"), REBUILD.rule).await?;
            Some(crate::keypairs::key_of_caller(api, call, name).await?.name)
        }
        _ => None,
    };
    let user_data = call.at_least(2, 57);
    let certificates = call.at_least(2, 63);
    let hostnames = call.at_least(2, 90);
    let metadata_allowed = match fields.get("metadata") {
        Some(_) => metadata_items_allowed(api, call).await?,
        None => -1,
    };
    let server = transition(api, call, &REBUILD, move |server, details, _| {
        let Some(image) = image else {
            return Err(ComputeError::BadRequest(
                "Cannot find image for rebuild".to_owned(),
            ));
        };
        let metadata = fields.get("metadata").and_then(Value::as_object);
        if let Some(metadata) = metadata {
            check_metadata_quota(metadata_allowed, metadata.len())?;
        }
        check_image_active(&image, now)?;
        check_flavor_fits(&details.flavor, &image)?;
        details.image_id = image_ref;
        // Nova's `_reset_image_metadata`: the new image's properties
        // replace the old image's.
        details.image_properties = crate::image_properties::standard_properties(&image);
        if let Some(name) = fields.get("name").and_then(Value::as_str) {
            server.name = name.trim().to_owned();
        }
        if let Some(description) = fields.get("description") {
            details.description = description.as_str().map(str::to_owned);
        }
        if let Some(metadata) = metadata {
            details.metadata = metadata
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect();
        }
        if let Some(ip) = fields.get("accessIPv4").and_then(Value::as_str) {
            details.access_ipv4 = ip.to_owned();
        }
        if let Some(ip) = fields.get("accessIPv6").and_then(Value::as_str) {
            details.access_ipv6 = ip.to_owned();
        }
        if let (true, Some(key_name)) = (key_names, fields.get("key_name")) {
            details.key_name = key_name.as_str().and(new_key_name.clone());
        }
        if let (true, Some(data)) = (user_data, fields.get("user_data")) {
            details.user_data = data.as_str().map(str::to_owned);
        }
        if let (true, Some(ids)) = (certificates, fields.get("trusted_image_certificates")) {
            details.trusted_image_certificates = ids.as_array().map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
        }
        if let (true, Some(hostname)) = (hostnames, fields.get("hostname").and_then(Value::as_str))
        {
            details.hostname = hostname.to_owned();
        }
        Ok(())
    })
    .await?;
    let mut body = view::show(api, call, &server, api.clock.now(), Parts::rebuild(call));
    // `[api] enable_instance_password` is on by default.
    body["adminPass"] = json!(password);
    if user_data {
        let details = details_of(api, &server);
        body["user_data"] = json!(details.user_data);
    }
    let mut response = json(StatusCode::ACCEPTED, &crate::api::wrapped("server", body));
    set_header(
        &mut response,
        LOCATION,
        &call.self_link("servers", &server.id.to_string()),
    );
    Ok(response)
}

/// A password like Nova's `generate_password`: 12 characters, at least
/// one from each of its groups, none that look alike.
pub(crate) fn generate_password() -> String {
    const GROUPS: [&[u8]; 3] = [
        b"23456789",
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
    ];
    // A v4 UUID's bytes are random but for the version and variant bits
    // in bytes 6 and 8; two of them give 28 random bytes.
    let random: Vec<u8> = [Uuid::new_v4(), Uuid::new_v4()]
        .iter()
        .flat_map(|id| {
            id.as_bytes()
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != 6 && *index != 8)
                .map(|(_, byte)| *byte)
                .collect::<Vec<u8>>()
        })
        .collect();
    let all: Vec<u8> = GROUPS.concat();
    let mut password: Vec<u8> = GROUPS
        .iter()
        .zip(&random)
        .map(|(group, byte)| group[usize::from(*byte) % group.len()])
        .collect();
    password.extend(
        random[3..12]
            .iter()
            .map(|byte| all[usize::from(*byte) % all.len()]),
    );
    // Where the three sure characters go, from the remaining randomness.
    let length = password.len();
    for (index, byte) in random[12..24].iter().enumerate() {
        password.swap(index, usize::from(*byte) % length);
    }
    String::from_utf8_lossy(&password).into_owned()
}

// ---- createImage ----------------------------------------------------------

async fn create_image(
    api: &ComputeApi,
    call: &Call,
    value: &Value,
) -> Result<Response, ComputeError> {
    let metadata: BTreeMap<String, String> = value
        .get("metadata")
        .and_then(Value::as_object)
        .map(|metadata| {
            metadata
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    // Until 2.39 the image's properties count against the metadata quota,
    // checked once Nova has found the server and asked `create_image`.
    if !call.at_least(2, 39)
        && over_metadata_quota(metadata_items_allowed(api, call).await?, metadata.len())
    {
        find_server(api, call, call.param("id"), CREATE_IMAGE.rule).await?;
        return Err(ComputeError::Forbidden(
            "Image metadata limit exceeded".to_owned(),
        ));
    }
    // Nova's `normalize_name`.
    let name = value["name"].as_str().unwrap_or_default().trim().to_owned();
    let image_id = Uuid::new_v4();
    // The server's state is checked and its snapshot task started in one
    // atomic step, then the image is stored: the image exists, `queued`,
    // before the answer names it, and is `active` when the task ends.
    let course = ask_operation(api, call, &CREATE_IMAGE).await?;
    let server = transition_as(api, call, &CREATE_IMAGE, course.clone(), |_, _, _| Ok(())).await?;
    let details = details_of(api, &server);
    let base = image_of(api, &details).await?;
    // The image's data is all there when the snapshot task ends well; a
    // snapshot that fails or is held never uploads it, so the image stays
    // `saving` (Nova would delete it; nova-rs keeps no deleted images).
    let at = server.updated_at;
    let ready = course
        .ending(at, (CREATE_IMAGE.takes)(&api.cloud.durations))
        .succeeds_at()
        .unwrap_or_else(never);
    let taken = Taken {
        id: image_id,
        name,
        metadata,
        at,
        ready,
    };
    let image = snapshot(api, call, &server, &details, base.as_ref(), taken);
    api.store.create_image(image).await?;
    if call.at_least(2, 45) {
        return Ok(json(StatusCode::ACCEPTED, &json!({ "image_id": image_id })));
    }
    // Before 2.45 the image is named by the `Location` header alone. Its
    // last segment is the id (all clients read); the link is to the
    // image through the compute API's images proxy.
    let mut response = accepted();
    set_header(
        &mut response,
        LOCATION,
        &call.self_link("images", &image_id.to_string()),
    );
    Ok(response)
}

/// What a `createImage` request asked for, and when.
struct Taken {
    id: Uuid,
    name: String,
    metadata: BTreeMap<String, String>,
    /// When the snapshot began.
    at: Timestamp,
    /// When its data is all there.
    ready: Timestamp,
}

/// Image properties a snapshot does not inherit from the server's image
/// (Nova's `NON_INHERITABLE_IMAGE_PROPERTIES`), and the namespace
/// reserved to the image service (`NON_INHERITABLE_IMAGE_NAMESPACES`).
const NON_INHERITABLE: &[&str] = &[
    "cinder_encryption_key_id",
    "cinder_encryption_key_deletion_policy",
    "img_signature",
    "img_signature_hash_method",
    "img_signature_key_type",
    "img_signature_certificate_uuid",
];

/// The image a `createImage` of `server` records, as Nova's
/// `create_image` and `initialize_instance_snapshot_metadata` make it
/// from the server's copy of its image (`base`, if it is still there):
/// its inheritable properties, `base_image_ref` (the first image of a
/// chain of snapshots), `instance_uuid`, `user_id` and `image_type:
/// snapshot`, then the request's metadata over them; `min_ram` from the
/// image and `min_disk` at least the flavor's disk; owned by the caller's
/// project, private, or shared with the server's project when the caller
/// is of another (an admin's snapshot). Its data, as big as the image's,
/// is all there when the snapshot task ends.
fn snapshot(
    api: &ComputeApi,
    call: &Call,
    server: &Server,
    details: &ServerDetails,
    base: Option<&Image>,
    taken: Taken,
) -> Image {
    let mut properties: BTreeMap<String, String> = base
        .map(|image| image.properties.clone())
        .unwrap_or_default();
    properties
        .retain(|key, _| !NON_INHERITABLE.contains(&key.as_str()) && !key.starts_with("os_glance"));
    properties
        .entry("base_image_ref".to_owned())
        .or_insert_with(|| details.image_id.clone());
    for (key, value) in [
        ("instance_uuid", server.id.to_string()),
        ("user_id", call.user_id.clone()),
        ("image_type", "snapshot".to_owned()),
    ] {
        properties.insert(key.to_owned(), value);
    }
    properties.extend(taken.metadata);
    let flavor_disk = details.flavor.disk;
    let min_disk = match base {
        Some(image) if image.disk_format == "vhd" => flavor_disk,
        Some(image) => image.min_disk.max(flavor_disk),
        None => flavor_disk,
    };
    let owner_project = project_of(api, server);
    let (visibility, members) = if owner_project == call.project_id {
        (Visibility::Private, Vec::new())
    } else {
        (Visibility::Shared, vec![owner_project.to_owned()])
    };
    Image {
        id: taken.id,
        name: taken.name,
        // What the upload sets: libvirt's snapshot of a qcow2 disk.
        disk_format: "qcow2".to_owned(),
        container_format: "bare".to_owned(),
        size: base.map_or(0, |image| image.size),
        min_disk,
        min_ram: base.map_or(0, |image| image.min_ram),
        properties,
        owner: call.project_id.clone(),
        created_at: taken.at,
        active_at: taken.ready,
        visibility,
        protected: false,
        members,
    }
}

// ---- lock and unlock ------------------------------------------------------

/// Who a lock is taken by, as Nova's `locked_by`: the server's owner (a
/// caller in its project) or an admin from elsewhere.
fn locked_by(api: &ComputeApi, server: &Server, project_id: &str) -> &'static str {
    if project_of(api, server) == project_id {
        "owner"
    } else {
        "admin"
    }
}

async fn lock(api: &ComputeApi, call: &Call, value: &Value) -> Result<Response, ComputeError> {
    let reason = if call.at_least(2, 73) {
        value
            .get("locked_reason")
            .and_then(Value::as_str)
            .map(str::to_owned)
    } else {
        None
    };
    // The owner locking a locked server changes nothing: not even a write.
    let server = find_server(api, call, call.param("id"), Rule::LockServer).await?;
    let details = details_of(api, &server);
    if details.lock.is_some() && locked_by(api, &server, &call.project_id) == "owner" {
        return Ok(accepted());
    }
    // A lock is instant, with no task state to shape: of an injection only
    // `Fail` applies.
    ask_about(api, &server, &details, "lock").await?;
    let caller = Caller::of(call);
    let inner = api.clone();
    change_server(
        api,
        call,
        call.param("id"),
        IfMatch::Any,
        Rule::LockServer,
        move |server, details, now| {
            let by = locked_by(&inner, server, &caller.project_id);
            if details.lock.is_some() && by == "owner" {
                return Ok(());
            }
            // A lock without a reason keeps the one already given.
            let reason =
                reason.or_else(|| details.lock.as_ref().and_then(|lock| lock.reason.clone()));
            details.lock = Some(Lock {
                locked_by: by.to_owned(),
                reason,
            });
            caller.record(details, "lock", &["api_lock"], now, now);
            Ok(())
        },
    )
    .await?;
    Ok(accepted())
}

async fn unlock(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    // As a lock, instant: of an injection only `Fail` applies.
    if api.injector.is_some() {
        let server = find_server(api, call, call.param("id"), Rule::UnlockServer).await?;
        ask_about(api, &server, &details_of(api, &server), "unlock").await?;
    }
    let caller = Caller::of(call);
    let inner = api.clone();
    change_server(
        api,
        call,
        call.param("id"),
        IfMatch::Any,
        Rule::UnlockServer,
        move |server, details, now| {
            let expected = locked_by(&inner, server, &caller.project_id);
            let taken_by = details.lock.as_ref().map(|lock| lock.locked_by.as_str());
            if taken_by.is_some_and(|by| by != expected) {
                // A lock the other kind of caller took: Nova's
                // `unlock_override`, asked of the server's project.
                caller
                    .credentials
                    .authorize(Rule::UnlockOverride, project_of(&inner, server))?;
            }
            details.lock = None;
            caller.record(details, "unlock", &["api_unlock"], now, now);
            Ok(())
        },
    )
    .await?;
    Ok(accepted())
}

#[cfg(test)]
pub(crate) mod tests;
