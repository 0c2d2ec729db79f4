//! Tests of the `server_actions` module, beside it: each action through
//! the routed compute API in memory, on a clock the tests move. The
//! [`Harness`] here serves the other server sub-resources' tests too.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_TYPE};
use http::Method;
use nova_router::{compute_routes, ApiVersion, RequestContext, RoutesMiddleware, Service};
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;
use crate::state::Lifecycle;
use crate::test_client::{error_after, fail, stuck, ScriptedInjector, A_YEAR};
use crate::{
    Clock, Cloud, ImageStore, ManualClock, MemoryServerStore, Network, Port, ServerStore,
    DEFAULT_PROJECT,
};

/// The compute API over an empty memory store on a manual clock.
pub(crate) struct Harness {
    app: RoutesMiddleware<ComputeApi>,
    pub(crate) store: Arc<MemoryServerStore>,
    pub(crate) clock: ManualClock,
}

/// One request to send: `post("/servers/x/action", body).at(2, 73)`.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    method: Method,
    path: String,
    body: Option<Bytes>,
    content_type: &'static str,
    version: Option<ApiVersion>,
    context: Option<RequestContext>,
}

impl Ask {
    fn new(method: Method, path: &str, body: Option<Bytes>) -> Self {
        Ask {
            method,
            path: path.to_owned(),
            body,
            content_type: "application/json",
            version: None,
            context: None,
        }
    }

    /// At microversion `2.minor`.
    pub(crate) fn at(mut self, minor: u16) -> Self {
        self.version = Some(ApiVersion::new(2, minor));
        self
    }

    /// As a member (not an admin) of `project`.
    pub(crate) fn member_of(mut self, project: &str) -> Self {
        self.context = Some(RequestContext {
            user_id: "user".to_owned(),
            project_id: project.to_owned(),
            roles: vec!["member".to_owned()],
        });
        self
    }

    /// As a reader (read-only, not a member) of `project`.
    pub(crate) fn reader_of(mut self, project: &str) -> Self {
        self.context = Some(RequestContext {
            user_id: "reader".to_owned(),
            project_id: project.to_owned(),
            roles: vec!["reader".to_owned()],
        });
        self
    }

    /// With exactly these roles (none: a token whose roles Nova's
    /// defaults do not know).
    pub(crate) fn with_roles(mut self, roles: &[&str]) -> Self {
        if let Some(context) = self.context.as_mut() {
            context.roles = roles.iter().map(|&role| role.to_owned()).collect();
        }
        self
    }

    /// As an admin scoped to `project`.
    pub(crate) fn admin_of(mut self, project: &str) -> Self {
        self.context = Some(RequestContext {
            user_id: "admin".to_owned(),
            project_id: project.to_owned(),
            roles: vec!["admin".to_owned()],
        });
        self
    }

    /// With this `Content-Type`.
    pub(crate) fn typed(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }
}

pub(crate) fn get(path: &str) -> Ask {
    Ask::new(Method::GET, path, None)
}

pub(crate) fn delete(path: &str) -> Ask {
    Ask::new(Method::DELETE, path, None)
}

pub(crate) fn post(path: &str, body: Value) -> Ask {
    Ask::new(Method::POST, path, Some(Bytes::from(body.to_string())))
}

pub(crate) fn put(path: &str, body: Value) -> Ask {
    Ask::new(Method::PUT, path, Some(Bytes::from(body.to_string())))
}

/// A PUT with no body (`PUT /servers/{id}/tags/{tag}`).
pub(crate) fn put_empty(path: &str) -> Ask {
    Ask::new(Method::PUT, path, None)
}

/// A POST with this body, as sent.
pub(crate) fn post_raw(path: &str, body: &str) -> Ask {
    Ask::new(Method::POST, path, Some(Bytes::from(body.to_owned())))
}

/// An answer: status, body (`null` when empty) and headers.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) headers: HeaderMap,
}

impl Answer {
    /// The fault message of an error answer.
    pub(crate) fn message(&self) -> &str {
        self.body
            .as_object()
            .and_then(|fault| fault.values().next())
            .and_then(|fault| fault["message"].as_str())
            .unwrap_or("")
    }
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_cloud(Cloud::default())
    }

    pub(crate) fn with_cloud(cloud: Cloud) -> Self {
        Self::asking(cloud, None)
    }

    /// The default cloud, asking `injector` about each server event.
    pub(crate) fn with_injector(injector: Arc<ScriptedInjector>) -> Self {
        Self::asking(Cloud::default(), Some(injector))
    }

    fn asking(cloud: Cloud, injector: Option<Arc<ScriptedInjector>>) -> Self {
        let store = Arc::new(MemoryServerStore::new());
        let clock = ManualClock::starting_now();
        let mut api = ComputeApi::with_clock(store.clone(), cloud, Arc::new(clock.clone()));
        if let Some(injector) = injector {
            api = api.with_injector(injector);
        }
        Harness {
            app: RoutesMiddleware::new(compute_routes(), api),
            store,
            clock,
        }
    }

    /// A server of the default project in `vm` with `power`, built from
    /// cirros as an m1.tiny with one address on `private`.
    pub(crate) async fn server(&self, vm: &str, power: u8) -> Uuid {
        self.server_of(DEFAULT_PROJECT, vm, power).await
    }

    /// As [`Harness::server`], in `project`.
    pub(crate) async fn server_of(&self, project: &str, vm: &str, power: u8) -> Uuid {
        let now = self.clock.now();
        let id = Uuid::new_v4();
        let cloud = Cloud::default();
        let details = ServerDetails {
            user_id: "user".to_owned(),
            image_id: Image::CIRROS_ID.to_string(),
            flavor: cloud.flavors[0].snapshot(),
            lifecycle: Some(Lifecycle::settled(State::settled(vm, power))),
            ports: vec![Port {
                id: Uuid::new_v4().to_string(),
                network_id: Network::PRIVATE_ID.to_string(),
                network_name: "private".to_owned(),
                address: "10.0.0.5".to_owned(),
                ip_version: 4,
                mac_address: "fa:16:3e:00:00:05".to_owned(),
                tag: None,
            }],
            hostname: "web".to_owned(),
            launched_at: (vm != vm_state::BUILDING).then_some(now),
            ..ServerDetails::default()
        };
        let server = Server {
            id,
            name: "web".to_owned(),
            created_at: now,
            updated_at: now,
            version: 1,
            project_id: project.to_owned(),
            deleted_at: None,
            details: Some(std::sync::Arc::new(details)),
        };
        self.store.create_servers(vec![server]).await.unwrap();
        id
    }

    /// The stored server.
    pub(crate) async fn stored(&self, id: Uuid) -> Server {
        self.store.server(id).await.unwrap().unwrap()
    }

    /// The stored server's compute fields.
    pub(crate) async fn details(&self, id: Uuid) -> ServerDetails {
        ServerDetails::clone(&self.stored(id).await.details.unwrap())
    }

    /// The server's state now.
    pub(crate) async fn state(&self, id: Uuid) -> State {
        self.details(id)
            .await
            .lifecycle()
            .at(self.clock.now())
            .clone()
    }

    /// The server's status now.
    pub(crate) async fn status(&self, id: Uuid) -> &'static str {
        self.state(id).await.status()
    }

    /// Moves the clock `seconds` on.
    pub(crate) fn advance(&self, seconds: i64) {
        self.clock.advance_micros(seconds * 1_000_000);
    }

    /// Changes the stored server's compute fields directly.
    pub(crate) async fn edit(
        &self,
        id: Uuid,
        edit: impl FnOnce(&mut ServerDetails) + Send + 'static,
    ) {
        self.store
            .update_server(
                id,
                IfMatch::Any,
                Box::new(move |server: &mut Server| {
                    if let Some(details) = server.details.as_mut() {
                        edit(std::sync::Arc::make_mut(details));
                    }
                    Ok(())
                }),
            )
            .await
            .unwrap();
    }

    pub(crate) async fn send(&self, ask: Ask) -> Answer {
        let mut request = http::Request::builder().method(ask.method).uri(&ask.path);
        if ask.body.is_some() {
            request = request.header(CONTENT_TYPE, ask.content_type);
        }
        let mut request = request.body(ask.body.unwrap_or_default()).unwrap();
        if let Some(version) = ask.version {
            request.extensions_mut().insert(version);
        }
        if let Some(context) = ask.context {
            request.extensions_mut().insert(context);
        }
        let response = self.app.call(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        Answer {
            status: parts.status.as_u16(),
            body,
            headers: parts.headers,
        }
    }

    /// `POST /servers/{id}/action` with `body` at microversion 2.1.
    async fn act(&self, id: Uuid, body: Value) -> Answer {
        self.send(post(&format!("/servers/{id}/action"), body))
            .await
    }

    /// The actions recorded for the server, oldest first.
    pub(crate) async fn recorded(&self, id: Uuid) -> Vec<String> {
        let details = self.details(id).await;
        details.actions.iter().map(|a| a.action.clone()).collect()
    }
}

// ---- which action a body names ---------------------------------------------

#[tokio::test]
async fn a_body_names_exactly_one_action_as_novas_wsgi_reads_it() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let path = format!("/servers/{id}/action");
    let table: [(&str, u16, &str); 9] = [
        ("", 400, "Malformed request body"),
        ("{", 400, "Malformed request body"),
        ("{}", 400, "Malformed request body"),
        (
            r#"{"pause": null, "unpause": null}"#,
            400,
            "Malformed request body",
        ),
        ("[]", 400, "Malformed request body"),
        ("[1]", 404, "The resource could not be found."),
        (r#""ab""#, 400, "Malformed request body"),
        ("5", 404, "The resource could not be found."),
        (r#"{"fly": {}}"#, 400, "There is no such action: fly"),
    ];
    for (body, status, message) in table {
        let answer = h.send(post_raw(&path, body)).await;
        assert_eq!(
            (answer.status, answer.message()),
            (status, message),
            "{body:?}"
        );
    }
    let xml = h
        .send(post(&path, json!({"pause": null})).typed("application/xml"))
        .await;
    assert_eq!(
        (xml.status, xml.message()),
        (415, "Unsupported Content-Type")
    );
    assert!(h.recorded(id).await.is_empty(), "nothing was done");
}

#[tokio::test]
async fn an_unknown_action_is_refused_before_the_server_is_looked_up() {
    let h = Harness::new();
    let missing = Uuid::new_v4();
    let answer = h
        .send(post(
            &format!("/servers/{missing}/action"),
            json!({"fly": 1}),
        ))
        .await;
    assert_eq!(
        (answer.status, answer.message()),
        (400, "There is no such action: fly")
    );
    let answer = h.act(missing, json!({"os-stop": null})).await;
    assert_eq!(
        (answer.status, answer.message()),
        (
            404,
            format!("Instance {missing} could not be found.").as_str()
        )
    );
}

#[tokio::test]
async fn a_body_that_fails_its_schema_is_refused_in_novas_words() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.act(id, json!({"reboot": {"type": "SOFT", "x": 1}})).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.message(),
        "Invalid input for field/attribute reboot. Value: {'type': 'SOFT', 'x': 1}. \
         Additional properties are not allowed ('x' was unexpected)"
    );
    assert_eq!(h.status(id).await, "ACTIVE");
}

// ---- power and pause -------------------------------------------------------

#[tokio::test]
async fn stop_and_start_power_a_server_off_and_on() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.act(id, json!({"os-stop": null})).await;
    assert_eq!((answer.status, &answer.body), (202, &Value::Null));
    let state = h.state(id).await;
    assert_eq!(
        (state.status(), state.power_state),
        ("SHUTOFF", power_state::SHUTDOWN)
    );

    let again = h.act(id, json!({"os-stop": null})).await;
    assert_eq!(
        (again.status, again.message()),
        (
            409,
            format!("Cannot 'stop' instance {id} while it is in vm_state stopped").as_str()
        )
    );
    assert_eq!(
        h.details(id).await.actions.len(),
        1,
        "a refused stop is not recorded"
    );

    assert_eq!(h.act(id, json!({"os-start": null})).await.status, 202);
    let state = h.state(id).await;
    assert_eq!(
        (state.status(), state.power_state),
        ("ACTIVE", power_state::RUNNING)
    );
    let again = h.act(id, json!({"os-start": {}})).await;
    assert_eq!(
        again.message(),
        format!("Cannot 'start' instance {id} while it is in vm_state active")
    );
    assert_eq!(h.recorded(id).await, ["stop", "start"]);
}

#[tokio::test]
async fn a_server_in_error_can_be_stopped_only_once_it_has_launched() {
    let h = Harness::new();
    let id = h.server(vm_state::ERROR, power_state::NOSTATE).await;
    h.edit(id, |details| details.launched_at = None).await;
    let answer = h.act(id, json!({"os-stop": null})).await;
    assert_eq!(
        (answer.status, answer.message()),
        (
            409,
            format!("Cannot 'stop' instance {id} while it is in launched_at None").as_str()
        )
    );
    let now = h.clock.now();
    h.edit(id, move |details| details.launched_at = Some(now))
        .await;
    assert_eq!(h.act(id, json!({"os-stop": null})).await.status, 202);
    assert_eq!(h.status(id).await, "SHUTOFF");
}

#[tokio::test]
async fn pause_suspend_and_back_show_novas_power_states() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(h.act(id, json!({"pause": null})).await.status, 202);
    let state = h.state(id).await;
    assert_eq!(
        (state.status(), state.power_state),
        ("PAUSED", power_state::PAUSED)
    );
    let refused = h.act(id, json!({"suspend": null})).await;
    assert_eq!(
        (refused.status, refused.message()),
        (
            409,
            format!("Cannot 'suspend' instance {id} while it is in vm_state paused").as_str()
        )
    );
    assert_eq!(h.act(id, json!({"unpause": null})).await.status, 202);
    assert_eq!(h.status(id).await, "ACTIVE");
    assert_eq!(h.act(id, json!({"suspend": null})).await.status, 202);
    let state = h.state(id).await;
    assert_eq!(
        (state.status(), state.power_state),
        ("SUSPENDED", power_state::SUSPENDED)
    );
    let refused = h.act(id, json!({"unpause": null})).await;
    assert_eq!(
        refused.message(),
        format!("Cannot 'unpause' instance {id} while it is in vm_state suspended")
    );
    assert_eq!(h.act(id, json!({"resume": null})).await.status, 202);
    assert_eq!(h.status(id).await, "ACTIVE");
    assert_eq!(
        h.recorded(id).await,
        ["pause", "unpause", "suspend", "resume"]
    );
}

#[tokio::test]
async fn a_transition_that_takes_time_ends_when_the_clock_passes_it() {
    let mut cloud = Cloud::default();
    cloud.durations.action = std::time::Duration::from_secs(5);
    let h = Harness::with_cloud(cloud);
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(h.act(id, json!({"os-stop": null})).await.status, 202);
    let state = h.state(id).await;
    assert_eq!(
        (state.status(), state.task_state.as_deref()),
        ("ACTIVE", Some(task_state::POWERING_OFF))
    );
    let busy = h.act(id, json!({"pause": null})).await;
    assert_eq!(
        busy.message(),
        format!("Cannot 'pause' instance {id} while it is in task_state powering-off")
    );
    h.advance(5);
    assert_eq!(h.status(id).await, "SHUTOFF");
}

// ---- reboot ------------------------------------------------------------------

#[tokio::test]
async fn a_soft_reboot_runs_for_the_reboot_duration_and_a_hard_one_may_interrupt_it() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(
        h.act(id, json!({"reboot": {"type": "soft"}})).await.status,
        202
    );
    assert_eq!(h.status(id).await, "REBOOT");
    let again = h.act(id, json!({"reboot": {"type": "SOFT"}})).await;
    assert_eq!(
        (again.status, again.message()),
        (
            409,
            format!("Cannot 'reboot' instance {id} while it is in task_state rebooting").as_str()
        )
    );
    assert_eq!(
        h.act(id, json!({"reboot": {"type": "HARD"}})).await.status,
        202
    );
    assert_eq!(h.status(id).await, "HARD_REBOOT");
    h.advance(1);
    assert_eq!(h.status(id).await, "ACTIVE");
    assert_eq!(h.recorded(id).await, ["reboot", "reboot"]);
}

#[tokio::test]
async fn a_hard_reboot_starts_a_stopped_server_and_a_soft_one_does_not() {
    let h = Harness::new();
    let id = h.server(vm_state::STOPPED, power_state::SHUTDOWN).await;
    let soft = h.act(id, json!({"reboot": {"type": "SOFT"}})).await;
    assert_eq!(
        soft.message(),
        format!("Cannot 'reboot' instance {id} while it is in vm_state stopped")
    );
    assert_eq!(
        h.act(id, json!({"reboot": {"type": "Hard"}})).await.status,
        202
    );
    h.advance(1);
    let state = h.state(id).await;
    assert_eq!(
        (state.status(), state.power_state),
        ("ACTIVE", power_state::RUNNING)
    );
}

// ---- locks -------------------------------------------------------------------

#[tokio::test]
async fn a_lock_stops_its_owner_but_not_an_admin() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let path = format!("/servers/{id}/action");
    let lock = h
        .send(post(&path, json!({"lock": null})).member_of("p1"))
        .await;
    assert_eq!((lock.status, &lock.body), (202, &Value::Null));
    let taken = h.details(id).await.lock.unwrap();
    assert_eq!((taken.locked_by.as_str(), taken.reason), ("owner", None));

    let stop = h
        .send(post(&path, json!({"os-stop": null})).member_of("p1"))
        .await;
    assert_eq!(
        (stop.status, stop.message()),
        (409, format!("Instance {id} is locked").as_str())
    );
    let password = json!({"changePassword": {"adminPass": "x"}});
    let change = h.send(post(&path, password).member_of("p1")).await;
    assert_eq!(
        (change.status, change.message()),
        (
            409,
            format!("Instance {id} is in an invalid state for 'changePassword'").as_str()
        ),
        "changePassword answers a lock as the invalid state it is"
    );
    let image = json!({"createImage": {"name": "snap"}});
    let snapshot = h.send(post(&path, image).member_of("p1").at(45)).await;
    assert_eq!(snapshot.status, 202, "a snapshot is not stopped by a lock");

    let stop = h
        .send(post(&path, json!({"os-stop": null})).admin_of("other"))
        .await;
    assert_eq!(stop.status, 202, "an admin is not stopped by a lock");
    assert_eq!(h.recorded(id).await, ["lock", "createImage", "stop"]);
}

#[tokio::test]
async fn locking_again_as_the_owner_changes_nothing() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let path = format!("/servers/{id}/action");
    let reason = json!({"lock": {"locked_reason": "maintenance"}});
    assert_eq!(
        h.send(post(&path, reason).member_of("p1").at(73))
            .await
            .status,
        202
    );
    let version = h.stored(id).await.version;
    let again = json!({"lock": {"locked_reason": "other"}});
    assert_eq!(
        h.send(post(&path, again).member_of("p1").at(73))
            .await
            .status,
        202
    );
    assert_eq!(h.stored(id).await.version, version);
    let taken = h.details(id).await.lock.unwrap();
    assert_eq!(taken.reason.as_deref(), Some("maintenance"));
    assert_eq!(h.recorded(id).await, ["lock"]);
}

#[tokio::test]
async fn a_lock_reason_is_taken_from_2_73_only() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let path = format!("/servers/{id}/action");
    let reason = json!({"lock": {"locked_reason": "why"}});
    assert_eq!(h.send(post(&path, reason.clone()).at(72)).await.status, 202);
    assert_eq!(h.details(id).await.lock.unwrap().reason, None);
    assert_eq!(h.act(id, json!({"unlock": null})).await.status, 202);
    assert_eq!(h.send(post(&path, reason).at(73)).await.status, 202);
    assert_eq!(
        h.details(id).await.lock.unwrap().reason.as_deref(),
        Some("why")
    );
    let bad = h
        .send(post(&path, json!({"lock": {"locked_reason": ""}})).at(73))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad
        .message()
        .starts_with("Invalid input for field/attribute locked_reason."));
}

#[tokio::test]
async fn an_admins_lock_is_the_admins_to_lift() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let path = format!("/servers/{id}/action");
    assert_eq!(
        h.send(post(&path, json!({"lock": {}})).admin_of("ops"))
            .await
            .status,
        202
    );
    assert_eq!(h.details(id).await.lock.unwrap().locked_by, "admin");
    let unlock = h
        .send(post(&path, json!({"unlock": null})).member_of("p1"))
        .await;
    assert_eq!(
        (unlock.status, unlock.message()),
        (
            403,
            "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed."
        )
    );
    let unlock = h
        .send(post(&path, json!({"unlock": null})).admin_of("ops"))
        .await;
    assert_eq!(unlock.status, 202);
    assert_eq!(h.details(id).await.lock, None);
    assert_eq!(h.recorded(id).await, ["lock", "unlock"]);
}

#[tokio::test]
async fn another_projects_server_cannot_be_acted_on() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let path = format!("/servers/{id}/action");
    for body in [
        json!({"lock": null}),
        json!({"os-stop": null}),
        json!({"unlock": null}),
    ] {
        let answer = h.send(post(&path, body).member_of("p2")).await;
        assert_eq!(answer.status, 404);
    }
    assert!(h.recorded(id).await.is_empty());
}

// ---- resize ------------------------------------------------------------------

#[tokio::test]
async fn a_resize_waits_for_confirmation_and_a_confirm_keeps_the_new_flavor() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.act(id, json!({"resize": {"flavorRef": 2}})).await;
    assert_eq!((answer.status, &answer.body), (202, &Value::Null));
    assert_eq!(h.status(id).await, "RESIZE");
    let early = h.act(id, json!({"confirmResize": null})).await;
    assert_eq!(
        early.message(),
        format!("Cannot 'confirmResize' instance {id} while it is in vm_state active")
    );
    h.advance(1);
    assert_eq!(h.status(id).await, "VERIFY_RESIZE");
    let details = h.details(id).await;
    assert_eq!(
        (
            details.flavor.id.as_str(),
            details.old_flavor.unwrap().id.as_str()
        ),
        ("2", "1")
    );

    let confirm = h.act(id, json!({"confirmResize": null})).await;
    assert_eq!((confirm.status, &confirm.body), (204, &Value::Null));
    assert_eq!(h.status(id).await, "ACTIVE");
    let details = h.details(id).await;
    assert_eq!(
        (details.flavor.id.as_str(), details.old_flavor),
        ("2", None)
    );
    let events: Vec<&str> = details.actions[0]
        .events
        .iter()
        .map(|e| e.event.as_str())
        .collect();
    assert_eq!(
        events,
        [
            "conductor_migrate_server",
            "compute_prep_resize",
            "compute_resize_instance",
            "compute_finish_resize"
        ]
    );
    assert_eq!(h.recorded(id).await, ["resize", "confirmResize"]);
}

#[tokio::test]
async fn a_revert_puts_the_old_flavor_back_and_a_stopped_server_stays_stopped() {
    let h = Harness::new();
    let id = h.server(vm_state::STOPPED, power_state::SHUTDOWN).await;
    assert_eq!(
        h.act(id, json!({"resize": {"flavorRef": "3"}}))
            .await
            .status,
        202
    );
    h.advance(1);
    assert_eq!(h.status(id).await, "VERIFY_RESIZE");
    let revert = h.act(id, json!({"revertResize": null})).await;
    assert_eq!((revert.status, &revert.body), (202, &Value::Null));
    let state = h.state(id).await;
    assert_eq!(
        (state.status(), state.power_state),
        ("SHUTOFF", power_state::SHUTDOWN)
    );
    let details = h.details(id).await;
    assert_eq!(
        (details.flavor.id.as_str(), details.old_flavor),
        ("1", None)
    );
    let again = h.act(id, json!({"revertResize": null})).await;
    assert_eq!(
        (again.status, again.message()),
        (
            409,
            format!("Cannot 'revertResize' instance {id} while it is in vm_state stopped").as_str()
        )
    );
}

#[tokio::test]
async fn a_resize_needs_another_flavor_that_exists() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let table = [
        (
            json!({"resize": {"flavorRef": "1"}}),
            400,
            "When resizing, instances must change flavor!",
        ),
        (
            json!({"resize": {"flavorRef": "42"}}),
            400,
            "Flavor 42 could not be found.",
        ),
        (
            json!({"resize": {"flavorRef": 42}}),
            400,
            "Flavor 42 could not be found.",
        ),
    ];
    for (body, status, message) in table {
        let answer = h.act(id, body.clone()).await;
        assert_eq!(
            (answer.status, answer.message()),
            (status, message),
            "{body}"
        );
    }
    let missing = h.act(id, json!({"resize": {}})).await;
    assert_eq!(
        missing.message(),
        "Invalid input for field/attribute resize. Value: {}. 'flavorRef' is a required property"
    );
    let paused = h.server(vm_state::PAUSED, power_state::PAUSED).await;
    let answer = h.act(paused, json!({"resize": {"flavorRef": "2"}})).await;
    assert_eq!(
        answer.message(),
        format!("Cannot 'resize' instance {paused} while it is in vm_state paused")
    );
    assert!(h.recorded(id).await.is_empty());
}

#[tokio::test]
async fn a_flavor_too_small_for_the_image_is_refused() {
    let mut cloud = Cloud::default();
    cloud.images[0].min_ram = 1024;
    let h = Harness::with_cloud(cloud);
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    h.edit(id, |details| {
        details.flavor = Cloud::default().flavors[1].snapshot()
    })
    .await;
    let answer = h.act(id, json!({"resize": {"flavorRef": "1"}})).await;
    assert_eq!(
        (answer.status, answer.message()),
        (400, "Flavor's memory is too small for requested image.")
    );
}

#[tokio::test]
async fn a_resize_up_must_fit_the_projects_quota_and_a_resize_down_need_not() {
    let mut cloud = Cloud::default();
    cloud.quota.cores = 1;
    let h = Harness::with_cloud(cloud);
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.act(id, json!({"resize": {"flavorRef": "3"}})).await;
    assert_eq!(
        (answer.status, answer.message()),
        (
            403,
            "Quota exceeded for cores: Requested 1, but already used 1 of 1 cores"
        )
    );
    let stopped = h.server(vm_state::STOPPED, power_state::SHUTDOWN).await;
    let answer = h.act(stopped, json!({"resize": {"flavorRef": "3"}})).await;
    assert_eq!(answer.status, 403);
    let locked = h
        .server_of("p1", vm_state::PAUSED, power_state::PAUSED)
        .await;
    let answer = h
        .send(
            post(
                &format!("/servers/{locked}/action"),
                json!({"resize": {"flavorRef": "3"}}),
            )
            .member_of("p1"),
        )
        .await;
    assert_eq!(
        answer.status, 409,
        "the state is checked before the quota, as in Nova"
    );
    assert!(h.recorded(id).await.is_empty());

    h.edit(id, |details| {
        details.flavor = Cloud::default().flavors[2].snapshot()
    })
    .await;
    let down = h.act(id, json!({"resize": {"flavorRef": "1"}})).await;
    assert_eq!(down.status, 202, "a resize down adds nothing to count");
}

// ---- rebuild -----------------------------------------------------------------

#[tokio::test]
async fn a_rebuild_answers_the_server_with_its_password_and_location() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let body = json!({"rebuild": {
        "imageRef": Image::CIRROS_ID.to_string(),
        "name": "rebuilt",
        "adminPass": "seekr3t",
        "metadata": {"meta_var": "meta_val"},
        "accessIPv4": "1.2.3.4",
    }});
    let answer = h.act(id, body).await;
    assert_eq!(answer.status, 202);
    let server = &answer.body["server"];
    assert_eq!(server["adminPass"], "seekr3t");
    assert_eq!(server["name"], "rebuilt");
    assert_eq!(server["status"], "REBUILD");
    assert_eq!(server["metadata"], json!({"meta_var": "meta_val"}));
    assert_eq!(server["accessIPv4"], "1.2.3.4");
    assert_eq!(server.get("user_data"), None, "user_data only from 2.57");
    assert_eq!(server.get("key_name"), None, "key_name only from 2.54");
    let location = answer.headers["location"].to_str().unwrap();
    assert!(location.ends_with(&format!("/servers/{id}")), "{location}");
    h.advance(1);
    assert_eq!(h.status(id).await, "ACTIVE");
    assert_eq!(h.recorded(id).await, ["rebuild"]);
}

#[tokio::test]
async fn a_rebuild_sets_what_its_microversion_offers() {
    let h = Harness::new();
    let id = h.server(vm_state::STOPPED, power_state::SHUTDOWN).await;
    // The key pair must be the caller's (the shared token's user).
    let key = crate::Keypair {
        id: 0,
        user_id: crate::DEFAULT_USER.to_owned(),
        name: "new-key".to_owned(),
        kind: crate::KeypairType::Ssh,
        public_key: String::new(),
        fingerprint: String::new(),
        created_at: h.clock.now(),
    };
    crate::KeypairStore::create_keypair(h.store.as_ref(), key, -1)
        .await
        .unwrap();
    let body = json!({"rebuild": {
        "imageRef": Image::CIRROS_ID.to_string(),
        "key_name": "new-key",
        "description": "rebuilt",
        "user_data": "ZWNobyAiaGVsbG8gd29ybGQi",
    }});
    let answer = h
        .send(post(&format!("/servers/{id}/action"), body).at(57))
        .await;
    assert_eq!(answer.status, 202);
    let server = &answer.body["server"];
    assert_eq!(server["user_data"], "ZWNobyAiaGVsbG8gd29ybGQi");
    assert_eq!(server["key_name"], "new-key");
    assert_eq!(server["description"], "rebuilt");
    let password = server["adminPass"].as_str().unwrap();
    assert_eq!(password.len(), 12, "a generated password, as Nova's");
    h.advance(1);
    assert_eq!(
        h.status(id).await,
        "SHUTOFF",
        "a stopped server stays stopped"
    );
}

#[tokio::test]
async fn a_rebuild_needs_a_known_image_and_a_rebuildable_state() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let unknown = json!({"rebuild": {"imageRef": Uuid::new_v4().to_string()}});
    let answer = h.act(id, unknown).await;
    assert_eq!(
        (answer.status, answer.message()),
        (400, "Cannot find image for rebuild")
    );
    let early = json!({"rebuild": {"imageRef": Image::CIRROS_ID.to_string(), "description": "d"}});
    let answer = h.act(id, early).await;
    assert_eq!(answer.status, 400, "description arrives with 2.19");
    let paused = h.server(vm_state::PAUSED, power_state::PAUSED).await;
    let answer = h
        .act(
            paused,
            json!({"rebuild": {"imageRef": Image::CIRROS_ID.to_string()}}),
        )
        .await;
    assert_eq!(
        (answer.status, answer.message()),
        (
            409,
            format!("Cannot 'rebuild' instance {paused} while it is in vm_state paused").as_str()
        )
    );
    assert!(h.recorded(id).await.is_empty());
}

#[tokio::test]
async fn a_rebuild_past_the_metadata_quota_is_forbidden() {
    let mut cloud = Cloud::default();
    cloud.quota.metadata_items = 1;
    let h = Harness::with_cloud(cloud);
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let body = json!({"rebuild": {
        "imageRef": Image::CIRROS_ID.to_string(),
        "metadata": {"a": "1", "b": "2"},
    }});
    let answer = h.act(id, body).await;
    assert_eq!(
        (answer.status, answer.message()),
        (403, "Maximum number of metadata items exceeds 1")
    );
}

// ---- createImage and changePassword ----------------------------------------------

#[tokio::test]
async fn create_image_names_the_image_in_a_header_before_2_45_and_a_body_from_it() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let path = format!("/servers/{id}/action");
    let body = json!({"createImage": {"name": "snap", "metadata": {"k": "v"}}});
    let old = h.send(post(&path, body.clone()).at(44)).await;
    assert_eq!((old.status, &old.body), (202, &Value::Null));
    let location = old.headers["location"].to_str().unwrap();
    let image_id = location.rsplit('/').next().unwrap();
    assert!(Uuid::try_parse(image_id).is_ok(), "{location}");

    let new = h.send(post(&path, body).at(45)).await;
    assert_eq!(new.status, 202);
    assert!(new.headers.get("location").is_none());
    assert!(Uuid::try_parse(new.body["image_id"].as_str().unwrap()).is_ok());
    assert_eq!(h.status(id).await, "ACTIVE");
    assert_eq!(h.recorded(id).await, ["createImage", "createImage"]);
}

#[tokio::test]
async fn create_image_counts_its_properties_against_the_quota_before_2_39() {
    let mut cloud = Cloud::default();
    cloud.quota.metadata_items = 1;
    let h = Harness::with_cloud(cloud);
    let id = h.server(vm_state::SUSPENDED, power_state::SUSPENDED).await;
    let path = format!("/servers/{id}/action");
    let body = json!({"createImage": {"name": "snap", "metadata": {"a": "1", "b": "2"}}});
    let old = h.send(post(&path, body.clone()).at(38)).await;
    assert_eq!(
        (old.status, old.message()),
        (403, "Image metadata limit exceeded")
    );
    assert_eq!(h.send(post(&path, body).at(39)).await.status, 202);
    assert_eq!(h.status(id).await, "SUSPENDED");
}

#[tokio::test]
async fn create_image_needs_a_built_server_and_a_name() {
    let h = Harness::new();
    let id = h.server(vm_state::BUILDING, power_state::NOSTATE).await;
    let answer = h.act(id, json!({"createImage": {"name": "snap"}})).await;
    assert_eq!(
        (answer.status, answer.message()),
        (
            409,
            format!("Cannot 'createImage' instance {id} while it is in vm_state building").as_str()
        )
    );
    let answer = h.act(id, json!({"createImage": {}})).await;
    assert_eq!(answer.status, 400);
}

/// A harness whose actions (a snapshot among them) take two seconds.
fn slow_snapshots() -> Harness {
    let mut cloud = Cloud::default();
    cloud.durations.action = std::time::Duration::from_secs(2);
    Harness::with_cloud(cloud)
}

/// `createImage` of `id` named `name` at 2.45; the image's id.
async fn snapshot(h: &Harness, id: Uuid, name: &str, ask: fn(Ask) -> Ask) -> Uuid {
    let body = json!({"createImage": {"name": name, "metadata": {"k": "v"}}});
    let answer = h
        .send(ask(post(&format!("/servers/{id}/action"), body).at(45)))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    Uuid::try_parse(answer.body["image_id"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn create_image_stores_the_snapshot_nova_makes_of_the_server() {
    let h = slow_snapshots();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let now = h.clock.now();
    let image_id = snapshot(&h, id, "snap", |ask| ask).await;
    let image = h.store.image(image_id).await.unwrap().unwrap();
    let cloud = Cloud::default();
    assert_eq!(
        image,
        Image {
            id: image_id,
            name: "snap".to_owned(),
            disk_format: "qcow2".to_owned(),
            container_format: "bare".to_owned(),
            size: Image::cirros().size,
            // The flavor's root disk, m1.tiny's; cirros asks for none.
            min_disk: 1,
            min_ram: 0,
            properties: [
                ("base_image_ref", Image::CIRROS_ID.to_string()),
                ("image_type", "snapshot".to_owned()),
                ("instance_uuid", id.to_string()),
                ("k", "v".to_owned()),
                ("user_id", cloud.default_user.clone()),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
            owner: DEFAULT_PROJECT.to_owned(),
            created_at: now,
            active_at: now.plus_micros(2_000_000),
            visibility: Visibility::Private,
            protected: false,
            members: Vec::new(),
        }
    );
    assert_eq!(image.status_at(now), ImageStatus::Queued);
    assert_eq!(
        h.state(id).await.task_state.as_deref(),
        Some(task_state::IMAGE_SNAPSHOT)
    );
    h.advance(2);
    assert_eq!(image.status_at(h.clock.now()), ImageStatus::Active);
    assert_eq!(h.state(id).await.task_state, None);
}

#[tokio::test]
async fn a_snapshot_inherits_the_image_of_its_server_and_keeps_the_first_base() {
    let mut cloud = Cloud::default();
    let mut ubuntu = Image::named("ubuntu");
    ubuntu.min_disk = 3;
    ubuntu.min_ram = 256;
    ubuntu
        .properties
        .insert("os_distro".into(), "ubuntu".into());
    ubuntu
        .properties
        .insert("img_signature".into(), "not inherited".into());
    cloud.images.push(ubuntu.clone());
    let h = Harness::with_cloud(cloud);
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    h.edit(id, move |details| details.image_id = ubuntu.id.to_string())
        .await;
    let first = snapshot(&h, id, "first", |ask| ask).await;
    let first = h.store.image(first).await.unwrap().unwrap();
    assert_eq!((first.min_disk, first.min_ram), (3, 256));
    assert_eq!(first.properties["os_distro"], "ubuntu");
    assert!(!first.properties.contains_key("img_signature"));
    // A server rebuilt from the snapshot snapshots to the first base.
    h.edit(id, move |details| details.image_id = first.id.to_string())
        .await;
    let second = snapshot(&h, id, "second", |ask| ask).await;
    let second = h.store.image(second).await.unwrap().unwrap();
    assert_eq!(
        second.properties["base_image_ref"],
        Image::named("ubuntu").id.to_string()
    );
    assert_eq!(second.properties["os_distro"], "ubuntu");
}

#[tokio::test]
async fn an_admins_snapshot_of_another_projects_server_is_shared_with_it() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let image_id = snapshot(&h, id, "by-admin", |ask| ask.admin_of("ops")).await;
    let image = h.store.image(image_id).await.unwrap().unwrap();
    assert_eq!(
        (
            image.owner.as_str(),
            image.visibility,
            image.members.clone()
        ),
        ("ops", Visibility::Shared, vec!["p1".to_owned()])
    );
    assert!(image.visible_to("p1") && !image.visible_to("p2"));
    let own = snapshot(&h, id, "by-owner", |ask| ask.member_of("p1")).await;
    let own = h.store.image(own).await.unwrap().unwrap();
    assert_eq!(
        (own.owner.as_str(), own.visibility),
        ("p1", Visibility::Private)
    );
}

#[tokio::test]
async fn servers_are_built_and_rebuilt_from_a_snapshot_once_it_is_active() {
    let h = slow_snapshots();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let image = snapshot(&h, id, "snap", |ask| ask.member_of("p1")).await;
    let create = || {
        post(
            "/servers",
            json!({"server": {"name": "from-snap", "imageRef": image, "flavorRef": "1"}}),
        )
    };
    let rebuild = |server: Uuid| {
        post(
            &format!("/servers/{server}/action"),
            json!({"rebuild": {"imageRef": image}}),
        )
    };
    let not_active = format!("Image {image} is not active.");
    let answer = h.send(create().member_of("p1")).await;
    assert_eq!(
        (answer.status, answer.message()),
        (400, not_active.as_str())
    );
    h.advance(2);
    let answer = h.send(rebuild(id).member_of("p1")).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["server"]["image"]["id"], image.to_string());
    let answer = h.send(create().member_of("p1")).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let built: Uuid = answer.body["server"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(h.details(built).await.image_id, image.to_string());
    // Another project cannot see the snapshot, so cannot use it.
    let answer = h.send(create().member_of("p2")).await;
    assert_eq!(
        (answer.status, answer.message()),
        (400, "Can not find requested image")
    );
    let theirs = h
        .server_of("p2", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let answer = h.send(rebuild(theirs).member_of("p2")).await;
    assert_eq!(
        (answer.status, answer.message()),
        (400, "Cannot find image for rebuild")
    );
}

#[tokio::test]
async fn a_snapshot_needs_a_flavor_with_the_disk_of_the_server_it_was_taken_from() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    h.edit(id, |details| {
        details.flavor = Cloud::default().flavors[1].snapshot()
    })
    .await;
    let image = snapshot(&h, id, "big", |ask| ask).await;
    let answer = h
        .send(post(
            "/servers",
            json!({"server": {"name": "small", "imageRef": image, "flavorRef": "1"}}),
        ))
        .await;
    assert_eq!(
        (answer.status, answer.message()),
        (
            400,
            "Flavor's disk is smaller than the minimum size specified in image metadata. \
             Flavor disk is 1073741824 bytes, minimum size is 21474836480 bytes."
        )
    );
    let answer = h
        .send(post(
            "/servers",
            json!({"server": {"name": "same", "imageRef": image, "flavorRef": "2"}}),
        ))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
}

#[tokio::test]
async fn change_password_needs_an_active_server() {
    let h = Harness::new();
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h
        .act(id, json!({"changePassword": {"adminPass": "n3w"}}))
        .await;
    assert_eq!((answer.status, &answer.body), (202, &Value::Null));
    let missing = h.act(id, json!({"changePassword": {}})).await;
    assert_eq!(
        missing.message(),
        "Invalid input for field/attribute changePassword. Value: {}. 'adminPass' is a required property"
    );
    let stopped = h.server(vm_state::STOPPED, power_state::SHUTDOWN).await;
    let answer = h
        .act(stopped, json!({"changePassword": {"adminPass": "n3w"}}))
        .await;
    assert_eq!(
        answer.message(),
        format!("Cannot 'changePassword' instance {stopped} while it is in vm_state stopped")
    );
    assert_eq!(h.recorded(id).await, ["changePassword"]);
}

// ---- what is recorded ------------------------------------------------------------

#[tokio::test]
async fn an_action_is_recorded_with_its_caller_and_its_events_finish_with_the_transition() {
    let h = Harness::new();
    let id = h
        .server_of("p1", vm_state::ACTIVE, power_state::RUNNING)
        .await;
    let start = h.clock.now();
    let answer = h
        .send(
            post(
                &format!("/servers/{id}/action"),
                json!({"reboot": {"type": "SOFT"}}),
            )
            .member_of("p1"),
        )
        .await;
    assert_eq!(answer.status, 202);
    let action = h.details(id).await.actions.remove(0);
    assert_eq!(
        (
            action.action.as_str(),
            action.user_id.as_str(),
            action.project_id.as_str()
        ),
        ("reboot", "user", "p1")
    );
    assert_eq!(action.start_time, Some(start));
    let event = &action.events[0];
    assert_eq!(event.event, "compute_reboot_instance");
    assert_eq!(event.finish_time, Some(start.plus_micros(1_000_000)));
    assert_eq!(action.updated_at, event.finish_time);
}

#[test]
fn generated_passwords_have_a_character_of_each_group() {
    for _ in 0..50 {
        let password = generate_password();
        assert_eq!(password.len(), 12);
        assert!(password.chars().any(|c| c.is_ascii_digit()), "{password}");
        assert!(
            password.chars().any(|c| c.is_ascii_uppercase()),
            "{password}"
        );
        assert!(
            password.chars().any(|c| c.is_ascii_lowercase()),
            "{password}"
        );
        assert!(!password.contains(['0', '1', 'O', 'I', 'l']), "{password}");
    }
}

// ---- injected misbehaviour -------------------------------------------------

/// `Injection::Take` of `seconds`.
fn take(seconds: u64) -> crate::Injection {
    crate::Injection::Take(Duration::from_secs(seconds))
}

#[tokio::test]
async fn an_action_the_injector_fails_is_answered_with_its_fault_and_changes_nothing() {
    let injector = ScriptedInjector::answering(
        ServerEventKind::Action,
        fail(500, "computeFault", "hypervisor gone", None),
    );
    let h = Harness::with_injector(injector.clone());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.act(id, json!({"os-stop": null})).await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.body,
        json!({"computeFault": {"code": 500, "message": "hypervisor gone"}})
    );
    assert_eq!(h.status(id).await, "ACTIVE");
    assert!(h.recorded(id).await.is_empty());
    let asked = injector.asked();
    assert_eq!(injector.kinds_asked(), [ServerEventKind::Action]);
    assert_eq!(asked[0].action.as_deref(), Some("os-stop"));
    assert_eq!(asked[0].server_id, Some(id));
    assert_eq!(asked[0].server_name, "web");
    assert_eq!(asked[0].project_id, DEFAULT_PROJECT);

    injector.answer(
        ServerEventKind::Action,
        fail(429, "overLimit", "too many reboots", Some(60)),
    );
    let answer = h.act(id, json!({"reboot": {"type": "SOFT"}})).await;
    assert_eq!((answer.status, answer.message()), (429, "too many reboots"));
    assert_eq!(answer.headers["retry-after"], "60");
    assert_eq!(h.status(id).await, "ACTIVE");
}

#[tokio::test]
async fn an_action_nova_refuses_is_refused_without_asking_the_injector() {
    let injector = ScriptedInjector::answering(
        ServerEventKind::Action,
        fail(500, "computeFault", "boom", None),
    );
    let h = Harness::with_injector(injector.clone());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.act(id, json!({"os-start": null})).await;
    assert_eq!(answer.status, 409, "{}", answer.message());
    assert!(injector.asked().is_empty());
}

#[tokio::test]
async fn an_action_that_errors_ends_in_error_with_its_fault_and_a_hard_reboot_recovers() {
    let injector =
        ScriptedInjector::answering(ServerEventKind::Action, error_after(5, "reboot failed"));
    let h = Harness::with_injector(injector.clone());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let answer = h.act(id, json!({"reboot": {"type": "SOFT"}})).await;
    assert_eq!(answer.status, 202);
    assert_eq!(h.status(id).await, "REBOOT");
    h.advance(5);
    let shown = h.send(get(&format!("/servers/{id}"))).await;
    let server = &shown.body["server"];
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["fault"]["code"], 500);
    assert_eq!(server["fault"]["message"], "reboot failed");
    assert_eq!(
        server["fault"]["created"],
        h.clock.now().to_seconds_string()
    );
    let details = h.details(id).await;
    let action = details.actions.last().unwrap();
    assert_eq!(action.message.as_deref(), Some("Error"));
    assert_eq!(action.events[0].result.as_deref(), Some("Error"));

    // A server that had launched may be hard rebooted out of ERROR; the
    // fault is kept, as Nova keeps it, and no longer shown.
    injector.forget(ServerEventKind::Action);
    let answer = h.act(id, json!({"reboot": {"type": "HARD"}})).await;
    assert_eq!(answer.status, 202, "{}", answer.message());
    h.advance(1);
    let shown = h.send(get(&format!("/servers/{id}"))).await;
    assert_eq!(shown.body["server"]["status"], "ACTIVE");
    assert!(shown.body["server"].get("fault").is_none());
}

#[tokio::test]
async fn an_action_that_takes_ten_minutes_is_under_way_until_then() {
    let injector = ScriptedInjector::answering(ServerEventKind::Action, take(600));
    let h = Harness::with_injector(injector);
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(h.act(id, json!({"os-stop": null})).await.status, 202);
    h.advance(599);
    let state = h.state(id).await;
    assert_eq!(state.task_state.as_deref(), Some(task_state::POWERING_OFF));
    assert_eq!(state.status(), "ACTIVE");
    h.advance(1);
    assert_eq!(h.status(id).await, "SHUTOFF");
}

#[tokio::test]
async fn a_stuck_action_keeps_its_task_state_until_a_hard_reboot_replaces_it() {
    let injector = ScriptedInjector::answering(ServerEventKind::Action, stuck("b-7"));
    let h = Harness::with_injector(injector.clone());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(
        h.act(id, json!({"reboot": {"type": "SOFT"}})).await.status,
        202
    );
    h.advance(A_YEAR);
    assert_eq!(h.status(id).await, "REBOOT");
    assert_eq!(h.details(id).await.stuck_by.as_deref(), Some("b-7"));
    // Other actions wait for the task, as in Nova.
    injector.forget(ServerEventKind::Action);
    assert_eq!(h.act(id, json!({"os-stop": null})).await.status, 409);
    // A hard reboot interrupts a soft one: nothing holds the server then.
    assert_eq!(
        h.act(id, json!({"reboot": {"type": "HARD"}})).await.status,
        202
    );
    assert_eq!(h.details(id).await.stuck_by, None);
    h.advance(1);
    assert_eq!(h.status(id).await, "ACTIVE");
}

#[tokio::test]
async fn a_failure_still_to_come_goes_with_the_action_that_replaces_it() {
    let injector =
        ScriptedInjector::answering(ServerEventKind::Action, error_after(60, "reboot failed"));
    let h = Harness::with_injector(injector.clone());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(
        h.act(id, json!({"reboot": {"type": "SOFT"}})).await.status,
        202
    );
    h.advance(10);
    injector.forget(ServerEventKind::Action);
    assert_eq!(
        h.act(id, json!({"reboot": {"type": "HARD"}})).await.status,
        202
    );
    assert_eq!(h.details(id).await.fault, None);
    h.advance(60);
    assert_eq!(h.status(id).await, "ACTIVE");
}

#[tokio::test]
async fn lock_and_unlock_are_instant_so_only_a_fail_applies_to_them() {
    let injector = ScriptedInjector::answering(ServerEventKind::Action, stuck("b-8"));
    let h = Harness::with_injector(injector.clone());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    assert_eq!(h.act(id, json!({"lock": null})).await.status, 202);
    let details = h.details(id).await;
    assert!(details.lock.is_some());
    assert_eq!(details.stuck_by, None);
    injector.answer(ServerEventKind::Action, error_after(0, "no"));
    assert_eq!(h.act(id, json!({"unlock": null})).await.status, 202);
    let details = h.details(id).await;
    assert!(details.lock.is_none());
    assert_eq!(details.fault, None);
    assert_eq!(h.status(id).await, "ACTIVE");
    let actions: Vec<Option<String>> = injector.asked().into_iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        [Some("lock".to_owned()), Some("unlock".to_owned())]
    );

    injector.answer(
        ServerEventKind::Action,
        fail(500, "computeFault", "no locks today", None),
    );
    let answer = h.act(id, json!({"lock": null})).await;
    assert_eq!((answer.status, answer.message()), (500, "no locks today"));
    assert!(h.details(id).await.lock.is_none());
}

#[tokio::test]
async fn a_snapshot_the_injector_shapes_makes_its_image_active_when_the_snapshot_ends_well() {
    let injector = ScriptedInjector::answering(ServerEventKind::Action, take(600));
    let h = Harness::with_injector(injector.clone());
    let id = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let image_id = snapshot(&h, id, "slow", |ask| ask).await;
    h.advance(599);
    let image = h.store.image(image_id).await.unwrap().unwrap();
    assert_ne!(image.status_at(h.clock.now()), ImageStatus::Active);
    h.advance(1);
    assert_eq!(image.status_at(h.clock.now()), ImageStatus::Active);
    assert_eq!(h.status(id).await, "ACTIVE");

    injector.answer(ServerEventKind::Action, error_after(5, "upload failed"));
    let other = h.server(vm_state::ACTIVE, power_state::RUNNING).await;
    let image_id = snapshot(&h, other, "broken", |ask| ask).await;
    h.advance(A_YEAR);
    let image = h.store.image(image_id).await.unwrap().unwrap();
    assert_ne!(image.status_at(h.clock.now()), ImageStatus::Active);
    assert_eq!(h.status(other).await, "ERROR");
}
