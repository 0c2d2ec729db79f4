//! Calling the compute API in memory as a client would, for the tests of
//! the flavors, images, limits and quota modules: a request at a
//! microversion, as a caller, answered with its status and JSON body.
//! Also a scripted [`FaultInjector`] for the tests of injected
//! misbehaviour ([`ScriptedInjector`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use nova_controller::Timestamp;
use nova_router::{
    compute_routes, ApiVersion, RequestContext, RoutesMiddleware, RoutingArgs, Service,
};
use serde_json::Value;
use uuid::Uuid;

use crate::api::Call;
use crate::state::{power_state, task_state, vm_state, Lifecycle, State};
use crate::{
    Clock, Cloud, ComputeApi, FaultInjector, Flavor, InjectedFault, Injection, ManualClock,
    MemoryServerStore, Server, ServerDetails, ServerEvent, ServerEventKind,
};

/// The compute API over an empty memory store, with a clock that stands
/// still.
pub(crate) struct TestClient {
    pub(crate) api: ComputeApi,
    app: RoutesMiddleware<ComputeApi>,
    pub(crate) clock: ManualClock,
}

/// A member (not an admin) of `project`.
pub(crate) fn member(project: &str) -> RequestContext {
    RequestContext {
        user_id: "u-member".to_owned(),
        project_id: project.to_owned(),
        roles: vec!["member".to_owned(), "reader".to_owned()],
    }
}

/// An admin of `project`.
pub(crate) fn admin(project: &str) -> RequestContext {
    RequestContext {
        user_id: "u-admin".to_owned(),
        project_id: project.to_owned(),
        roles: vec!["admin".to_owned()],
    }
}

/// The keys of a JSON object, sorted.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

impl TestClient {
    pub(crate) fn new(cloud: Cloud) -> Self {
        let clock = ManualClock::starting_now();
        let store = Arc::new(MemoryServerStore::new());
        let api = ComputeApi::with_clock(store, cloud, Arc::new(clock.clone()));
        TestClient {
            app: RoutesMiddleware::new(compute_routes(), api.clone()),
            api,
            clock,
        }
    }

    /// `GET path` at `version` with the shared token (an admin of the
    /// default project).
    pub(crate) async fn get(&self, path: &str, version: &str) -> (u16, Value) {
        self.get_as(path, version, None).await
    }

    /// `GET path` at `version` as `caller` (the shared token if `None`).
    pub(crate) async fn get_as(
        &self,
        path: &str,
        version: &str,
        caller: Option<RequestContext>,
    ) -> (u16, Value) {
        let mut req = http::Request::get(path)
            .header("host", "nova.test")
            .body(Bytes::new())
            .unwrap();
        req.extensions_mut()
            .insert(version.parse::<ApiVersion>().unwrap());
        if let Some(caller) = caller {
            req.extensions_mut().insert(caller);
        }
        let response = self.app.call(req).await.unwrap();
        let status = response.status().as_u16();
        let body = if response.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(response.body()).unwrap()
        };
        (status, body)
    }

    /// A call of a member of `project`, as a controller gets it.
    pub(crate) fn call_as(&self, project: &str) -> Call {
        Call {
            version: ApiVersion::DEFAULT,
            project_id: project.to_owned(),
            user_id: "u-member".to_owned(),
            roles: vec!["member".to_owned(), "reader".to_owned()],
            request_id: "req-test".to_owned(),
            args: RoutingArgs::default(),
            method: http::Method::POST,
            query: Vec::new(),
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
            application_url: "http://nova.test".to_owned(),
            host_url: "http://nova.test".to_owned(),
            url_project_id: None,
        }
    }

    /// Stores an active server of `project` with `flavor`.
    pub(crate) async fn add_server(&self, project: &str, flavor: &Flavor) -> Server {
        let now = self.clock.now();
        let server = Server {
            id: Uuid::new_v4(),
            name: "s".to_owned(),
            created_at: now,
            updated_at: now,
            version: 1,
            project_id: project.to_owned(),
            deleted_at: None,
            details: Some(std::sync::Arc::new(ServerDetails {
                flavor: flavor.snapshot(),
                lifecycle: Some(Lifecycle::settled(State::settled(
                    vm_state::ACTIVE,
                    power_state::RUNNING,
                ))),
                ..ServerDetails::default()
            })),
        };
        self.api
            .store()
            .create_servers(vec![server.clone()])
            .await
            .unwrap();
        server
    }

    /// Stores a server of `project` with `flavor` deleted now, its
    /// deletion running for `seconds`.
    pub(crate) async fn add_deleting_server(&self, project: &str, flavor: &Flavor, seconds: i64) {
        let now = self.clock.now();
        let mut server = self.add_server(project, flavor).await;
        let mut details = server.details.take().unwrap_or_default();
        let edited = std::sync::Arc::make_mut(&mut details);
        let mut life = edited.lifecycle();
        life.begin(
            now,
            task_state::DELETING,
            now.plus_micros(seconds * 1_000_000),
            State::settled(vm_state::DELETED, power_state::NOSTATE),
        );
        edited.lifecycle = Some(life);
        let deleted: Option<Timestamp> = Some(now);
        self.api
            .store()
            .update_server(
                server.id,
                nova_controller::IfMatch::Any,
                Box::new(move |s: &mut Server| {
                    s.deleted_at = deleted;
                    s.details = Some(details);
                    Ok(())
                }),
            )
            .await
            .unwrap();
    }
}

/// What a [`ScriptedInjector`] was told about one server event, owned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Asked {
    pub(crate) kind: ServerEventKind,
    pub(crate) project_id: String,
    pub(crate) server_id: Option<Uuid>,
    pub(crate) server_name: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) action: Option<String>,
}

/// An injector that answers each kind of server event as a test scripted
/// it (nothing for a kind not scripted), for every server and action, and
/// remembers every event it was asked about.
#[derive(Debug, Default)]
pub(crate) struct ScriptedInjector {
    answers: Mutex<Vec<(ServerEventKind, Injection)>>,
    asked: Mutex<Vec<Asked>>,
}

impl ScriptedInjector {
    /// One that answers nothing until scripted.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// One that answers `kind` with `injection`.
    pub(crate) fn answering(kind: ServerEventKind, injection: Injection) -> Arc<Self> {
        let injector = Self::new();
        injector.answer(kind, injection);
        injector
    }

    /// From now on answers `kind` with `injection`.
    pub(crate) fn answer(&self, kind: ServerEventKind, injection: Injection) {
        let mut answers = self.answers.lock().unwrap();
        answers.retain(|(scripted, _)| *scripted != kind);
        answers.push((kind, injection));
    }

    /// From now on answers `kind` with nothing.
    pub(crate) fn forget(&self, kind: ServerEventKind) {
        self.answers
            .lock()
            .unwrap()
            .retain(|(scripted, _)| *scripted != kind);
    }

    /// Every event asked about so far, in order.
    pub(crate) fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }

    /// The kinds of the events asked about so far, in order.
    pub(crate) fn kinds_asked(&self) -> Vec<ServerEventKind> {
        self.asked().iter().map(|asked| asked.kind).collect()
    }
}

impl FaultInjector for ScriptedInjector {
    fn server_event<'a>(
        &'a self,
        event: ServerEvent<'a>,
    ) -> nova_controller::StoreFuture<'a, Option<Injection>> {
        self.asked.lock().unwrap().push(Asked {
            kind: event.kind,
            project_id: event.project_id.to_owned(),
            server_id: event.server_id,
            server_name: event.server_name.to_owned(),
            metadata: event.metadata.clone(),
            action: event.action.map(str::to_owned),
        });
        let answer = self
            .answers
            .lock()
            .unwrap()
            .iter()
            .find(|(kind, _)| *kind == event.kind)
            .map(|(_, injection)| injection.clone());
        Box::pin(async move { Ok(answer) })
    }
}

/// `Injection::Fail` with this status, kind and message.
pub(crate) fn fail(status: u16, kind: &str, message: &str, retry_after: Option<u64>) -> Injection {
    Injection::Fail(InjectedFault {
        status,
        kind: kind.to_owned(),
        message: message.to_owned(),
        retry_after,
    })
}

/// `Injection::Error` after `seconds` with `message`.
pub(crate) fn error_after(seconds: u64, message: &str) -> Injection {
    Injection::Error {
        after: Duration::from_secs(seconds),
        message: message.to_owned(),
    }
}

/// `Injection::Stuck` held by behaviour `id`.
pub(crate) fn stuck(id: &str) -> Injection {
    Injection::Stuck {
        behavior_id: id.to_owned(),
    }
}

/// Seconds in a (non-leap) year, for moving a clock "for good".
pub(crate) const A_YEAR: i64 = 365 * 86_400;
