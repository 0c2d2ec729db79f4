//! Forced states' tests: what a server shows after its state is forced or
//! its stuck transition released.

use nova_compute::MemoryServerStore;
use nova_controller::{Instance, InstanceStore};

use super::*;
use crate::test_support::{at, server, stuck};

fn active() -> Lifecycle {
    Lifecycle::settled(State::settled(vm_state::ACTIVE, power_state::RUNNING))
}

fn forced(body: &str) -> ForcedState {
    ForcedState::from_json(body.as_bytes()).unwrap()
}

fn details(server: &Server) -> &ServerDetails {
    server.details.as_deref().unwrap()
}

/// The status, task state and power state `server` shows at `now`.
fn shown(server: &Server, now: Timestamp) -> (&'static str, Option<String>, u8) {
    let lifecycle = details(server).lifecycle();
    let state = lifecycle.at(now).clone();
    (state.status(), state.task_state, state.power_state)
}

async fn stored(servers: Vec<Server>) -> MemoryServerStore {
    let store = MemoryServerStore::new();
    store.create_servers(servers).await.unwrap();
    store
}

#[tokio::test]
async fn a_building_server_forced_into_error_shows_it_with_the_default_fault() {
    let building = stuck(
        server("web-1", active()),
        task_state::SPAWNING,
        State::settled(vm_state::ACTIVE, power_state::RUNNING),
        "b-1",
    );
    let id = building.id;
    let store = stored(vec![building]).await;
    let server = force_state(&store, at(500), id, forced(r#"{"status": "ERROR"}"#))
        .await
        .unwrap();
    assert_eq!(
        shown(&server, at(500)),
        ("ERROR", None, power_state::NOSTATE)
    );
    let details = details(&server);
    assert_eq!(details.lifecycle.as_ref().unwrap().transition, None);
    assert_eq!(details.stuck_by, None);
    assert_eq!(
        details.fault,
        Some(ServerFault {
            code: 500,
            message: DEFAULT_FORCED_FAULT_MESSAGE.to_owned(),
            details: None,
            created: Some(at(500)),
        })
    );
    assert_eq!(server.updated_at, at(500));
    assert_eq!(store.server(id).await.unwrap(), Some(server), "stored");
}

#[tokio::test]
async fn a_forced_state_shows_novas_vm_task_and_power_state_for_its_status() {
    let table = [
        (
            r#"{"status": "active"}"#,
            ("ACTIVE", None, power_state::RUNNING),
        ),
        (
            r#"{"status": "ACTIVE", "task_state": "powering-off"}"#,
            ("ACTIVE", Some("powering-off"), power_state::RUNNING),
        ),
        (
            r#"{"status": "SHUTOFF"}"#,
            ("SHUTOFF", None, power_state::SHUTDOWN),
        ),
        (
            r#"{"status": "PAUSED"}"#,
            ("PAUSED", None, power_state::PAUSED),
        ),
        (
            r#"{"status": "SUSPENDED", "task_state": null}"#,
            ("SUSPENDED", None, power_state::SUSPENDED),
        ),
        (
            r#"{"status": "VERIFY_RESIZE"}"#,
            ("VERIFY_RESIZE", None, power_state::RUNNING),
        ),
        (
            r#"{"status": "BUILD"}"#,
            ("BUILD", None, power_state::NOSTATE),
        ),
        (
            r#"{"status": "BUILD", "task_state": "spawning"}"#,
            ("BUILD", Some("spawning"), power_state::NOSTATE),
        ),
        (
            r#"{"status": "REBOOT"}"#,
            ("REBOOT", Some("rebooting"), power_state::RUNNING),
        ),
        (
            r#"{"status": "error", "fault": {"message": "disk on fire"}}"#,
            ("ERROR", None, power_state::NOSTATE),
        ),
    ];
    for (body, (status, task, power)) in table {
        let original = server("web-1", active());
        let id = original.id;
        let store = stored(vec![original]).await;
        let server = force_state(&store, at(500), id, forced(body))
            .await
            .unwrap();
        assert_eq!(
            shown(&server, at(500)),
            (status, task.map(str::to_owned), power),
            "{body}"
        );
        let fault = details(&server).fault.as_ref();
        assert_eq!(fault.is_some(), status == "ERROR", "{body}");
    }
}

#[tokio::test]
async fn forcing_a_server_out_of_error_clears_its_fault() {
    let original = server("web-1", active());
    let id = original.id;
    let store = stored(vec![original]).await;
    let body = r#"{"status": "ERROR", "fault": {"code": 503, "message": "host gone"}}"#;
    let server = force_state(&store, at(200), id, forced(body))
        .await
        .unwrap();
    let fault = details(&server).fault.clone().unwrap();
    assert_eq!((fault.code, fault.message.as_str()), (503, "host gone"));
    let server = force_state(&store, at(300), id, forced(r#"{"status": "ACTIVE"}"#))
        .await
        .unwrap();
    assert_eq!(details(&server).fault, None);
    assert_eq!(server.version, 3);
}

#[tokio::test]
async fn bad_states_are_refused_and_change_nothing() {
    let original = server("web-1", active());
    let id = original.id;
    let store = stored(vec![original.clone()]).await;
    type IsExpected = fn(&ForceError) -> bool;
    let table: [(&str, IsExpected); 7] = [
        (r#"{"status": "DELETED"}"#, |e| {
            matches!(e, ForceError::UnknownStatus(_))
        }),
        (r#"{"status": "MELTED"}"#, |e| {
            matches!(e, ForceError::UnknownStatus(_))
        }),
        (r#"{"status": "UNKNOWN"}"#, |e| {
            matches!(e, ForceError::UnknownStatus(_))
        }),
        (r#"{"status": "ACTIVE", "task_state": "napping"}"#, |e| {
            matches!(e, ForceError::UnknownTaskState(_))
        }),
        (r#"{"status": "ACTIVE", "task_state": "rebooting"}"#, |e| {
            matches!(
                e,
                ForceError::TaskStateHidesStatus {
                    shown: "REBOOT",
                    ..
                }
            )
        }),
        (r#"{"status": "ACTIVE", "fault": {"message": "x"}}"#, |e| {
            matches!(e, ForceError::BadFault(_))
        }),
        (r#"{"status": "ERROR", "fault": {"code": 200}}"#, |e| {
            matches!(e, ForceError::BadFault(_))
        }),
    ];
    for (body, expected) in table {
        let error = force_state(&store, at(500), id, forced(body))
            .await
            .unwrap_err();
        assert!(expected(&error), "{body}: {error:?}");
        assert!(error.to_string().starts_with("Invalid state: "), "{error}");
    }
    let long = format!(
        r#"{{"status": "ERROR", "fault": {{"message": "{}"}}}}"#,
        "x".repeat(256)
    );
    assert!(matches!(
        force_state(&store, at(500), id, forced(&long)).await,
        Err(ForceError::BadFault(_))
    ));
    assert_eq!(store.server(id).await.unwrap(), Some(original));
    for body in [
        r#"{"status": "ACTIVE", "vm_state": "active"}"#,
        r#"{}"#,
        "[]",
        "nope",
        r#"{"status": "ERROR", "fault": [500, "x"]}"#,
    ] {
        assert!(
            matches!(
                ForcedState::from_json(body.as_bytes()),
                Err(ForceError::Malformed(_))
            ),
            "{body}"
        );
    }
}

#[tokio::test]
async fn unknown_deleted_and_seed_servers_cannot_be_forced() {
    let mut deleted = server("gone", active());
    deleted.deleted_at = Some(at(150));
    let deleted_id = deleted.id;
    let store = stored(vec![deleted]).await;
    let seed = Instance::new("inst-9");
    let seed_id = seed.id;
    store.insert(seed).await.unwrap();
    let active = || forced(r#"{"status": "ACTIVE"}"#);
    let unknown = Uuid::new_v4();
    assert_eq!(
        force_state(&store, at(500), unknown, active()).await,
        Err(ForceError::NotFound(unknown))
    );
    assert_eq!(
        force_state(&store, at(500), deleted_id, active()).await,
        Err(ForceError::NotFound(deleted_id))
    );
    assert_eq!(
        force_state(&store, at(500), seed_id, active()).await,
        Err(ForceError::NoComputeState(seed_id))
    );
}

#[tokio::test]
async fn releasing_a_behavior_lets_the_servers_it_held_go_where_they_were_going() {
    let rebooting = stuck(
        server("a", active()),
        task_state::REBOOTING,
        State::settled(vm_state::ACTIVE, power_state::RUNNING),
        "b-1",
    );
    let mut deleting = stuck(
        server("b", active()),
        task_state::DELETING,
        State::settled(vm_state::DELETED, power_state::NOSTATE),
        "b-1",
    );
    deleting.deleted_at = Some(at(120));
    deleting.project_id = "alt_demo".to_owned();
    let other = stuck(
        server("c", active()),
        task_state::POWERING_OFF,
        State::settled(vm_state::STOPPED, power_state::SHUTDOWN),
        "b-2",
    );
    let plain = server("d", active());
    let ids = [rebooting.id, deleting.id, other.id, plain.id];
    let store = stored(vec![rebooting, deleting, other, plain.clone()]).await;
    let now = at(1_000);
    let released = release_stuck(&store, now, &["b-1".to_owned(), "b-9".to_owned()])
        .await
        .unwrap();
    assert_eq!(released, 2);
    let read = |id| {
        let store = &store;
        async move { store.server(id).await.unwrap().unwrap() }
    };
    let rebooting = read(ids[0]).await;
    assert_eq!(
        shown(&rebooting, now),
        ("ACTIVE", None, power_state::RUNNING)
    );
    assert_eq!(
        shown(&rebooting, at(999)).1.as_deref(),
        Some(task_state::REBOOTING),
        "it was still rebooting until now"
    );
    assert_eq!(details(&rebooting).stuck_by, None);
    assert_eq!(rebooting.updated_at, now);
    let deleting = read(ids[1]).await;
    assert_eq!(shown(&deleting, now).0, "DELETED");
    let other = read(ids[2]).await;
    assert_eq!(shown(&other, now).0, "ACTIVE", "held by another behaviour");
    assert_eq!(details(&other).stuck_by.as_deref(), Some("b-2"));
    assert_eq!(read(ids[3]).await, plain, "never held: untouched");
    assert_eq!(
        release_stuck(&store, now, &["b-1".to_owned()])
            .await
            .unwrap(),
        0,
        "released once"
    );
    assert_eq!(release_stuck(&store, now, &[]).await.unwrap(), 0);
}
