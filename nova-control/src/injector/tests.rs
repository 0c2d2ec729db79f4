//! The injector's tests: which behaviour fires for a server event, how
//! often, and what the compute API is told to do; the metadata trigger.

use std::collections::BTreeMap;

use nova_compute::InjectedFault;
use nova_controller::StoreError;

use super::*;
use crate::test_support::add;
use crate::{Behavior, MemoryControl, METADATA_STUCK_ID};

async fn fired(store: &dyn ControlStore, id: &str) -> u64 {
    let behaviors = store.behaviors().await.unwrap();
    behaviors.iter().find(|b| b.id == id).unwrap().fired
}

/// A server event for `web-1` of project `demo`.
struct Case<'a> {
    kind: ServerEventKind,
    name: &'a str,
    project: &'a str,
    metadata: BTreeMap<String, String>,
    action: Option<&'a str>,
}

impl<'a> Case<'a> {
    fn new(kind: ServerEventKind) -> Self {
        Case {
            kind,
            name: "web-1",
            project: "demo",
            metadata: BTreeMap::new(),
            action: None,
        }
    }

    fn named(mut self, name: &'a str) -> Self {
        self.name = name;
        self
    }

    fn in_project(mut self, project: &'a str) -> Self {
        self.project = project;
        self
    }

    fn with_metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.insert(key.to_owned(), value.to_owned());
        self
    }

    fn action(mut self, action: &'a str) -> Self {
        self.action = Some(action);
        self
    }

    async fn ask(&self, injector: &BehaviorInjector) -> Option<Injection> {
        self.try_ask(injector).await.unwrap()
    }

    async fn try_ask(&self, injector: &BehaviorInjector) -> Result<Option<Injection>, StoreError> {
        injector
            .server_event(ServerEvent {
                kind: self.kind,
                project_id: self.project,
                server_id: None,
                server_name: self.name,
                metadata: &self.metadata,
                action: self.action,
            })
            .await
    }
}

fn setup() -> (Arc<MemoryControl>, BehaviorInjector) {
    let store = Arc::new(MemoryControl::new());
    let injector = BehaviorInjector::new(store.clone());
    (store, injector)
}

#[tokio::test]
async fn a_behavior_for_two_times_fires_twice_then_expires() {
    let (store, injector) = setup();
    let behavior = add(
        &*store,
        r#"{"event": "server.create", "behavior": {"fail": {"status": 500, "message": "boom"}},
            "times": 2}"#,
    )
    .await;
    let create = Case::new(ServerEventKind::Create);
    let expected = Some(Injection::Fail(InjectedFault {
        status: 500,
        kind: "computeFault".to_owned(),
        message: "boom".to_owned(),
        retry_after: None,
    }));
    assert_eq!(create.ask(&injector).await, expected);
    assert_eq!(create.ask(&injector).await, expected);
    assert_eq!(create.ask(&injector).await, None);
    assert_eq!(fired(&*store, &behavior.id).await, 2);
    let listed = store.behaviors().await.unwrap();
    assert!(!listed[0].is_active(), "kept, but expired");
}

#[tokio::test]
async fn a_behavior_without_times_fires_until_removed() {
    let (store, injector) = setup();
    let behavior = add(
        &*store,
        r#"{"event": "server.delete", "behavior": {"build": {"seconds": 30}}}"#,
    )
    .await;
    let delete = Case::new(ServerEventKind::Delete);
    for _ in 0..5 {
        assert_eq!(
            delete.ask(&injector).await,
            Some(Injection::Take(Duration::from_secs(30)))
        );
    }
    store.remove_behavior(behavior.id).await.unwrap();
    assert_eq!(delete.ask(&injector).await, None);
}

#[tokio::test]
async fn only_behaviors_whose_every_criterion_holds_fire() {
    let (store, injector) = setup();
    let behavior = add(
        &*store,
        r#"{"event": "server.action",
            "match": {"name": "^db-", "metadata": {"tier": "gold"}, "project": "demo",
                      "action": "reboot"},
            "behavior": {"error": {"after_seconds": 2, "message": "reboot broke it"}}}"#,
    )
    .await;
    let matching = || {
        Case::new(ServerEventKind::Action)
            .named("db-1")
            .with_metadata("tier", "gold")
            .with_metadata("other", "x")
            .action("reboot")
    };
    let misses = [
        matching().named("web-db-1"),
        matching().in_project("alt_demo"),
        matching().action("os-stop"),
        matching().with_metadata("tier", "silver"),
        Case::new(ServerEventKind::Action)
            .named("db-1")
            .action("reboot"),
        Case {
            kind: ServerEventKind::Delete,
            ..matching()
        },
    ];
    for miss in &misses {
        assert_eq!(miss.ask(&injector).await, None, "{:?}", miss.kind);
    }
    assert_eq!(fired(&*store, &behavior.id).await, 0, "misses never count");
    assert_eq!(
        matching().ask(&injector).await,
        Some(Injection::Error {
            after: Duration::from_secs(2),
            message: "reboot broke it".to_owned()
        })
    );
}

#[tokio::test]
async fn the_first_active_match_in_registration_order_fires() {
    let (store, injector) = setup();
    let first = add(
        &*store,
        r#"{"event": "server.build", "behavior": {"build": {"seconds": 1}}, "times": 1}"#,
    )
    .await;
    let second = add(
        &*store,
        r#"{"event": "server.build", "behavior": {"stuck": {}}}"#,
    )
    .await;
    let build = Case::new(ServerEventKind::Build);
    assert_eq!(
        build.ask(&injector).await,
        Some(Injection::Take(Duration::from_secs(1)))
    );
    assert_eq!(
        build.ask(&injector).await,
        Some(Injection::Stuck {
            behavior_id: second.id.clone()
        }),
        "the first expired; the stuck server is held by the second's id"
    );
    assert_eq!(fired(&*store, &first.id).await, 1);
    assert_eq!(fired(&*store, &second.id).await, 1);
}

/// A store whose listing is a snapshot taken before another process
/// fired: what a process sees when it loses the race for a last firing.
#[derive(Debug)]
struct StaleListing {
    inner: MemoryControl,
    snapshot: Vec<Behavior>,
}

impl ControlStore for StaleListing {
    fn add_behavior(&self, behavior: Behavior) -> StoreFuture<'_, ()> {
        self.inner.add_behavior(behavior)
    }
    fn behaviors(&self) -> StoreFuture<'_, Vec<Behavior>> {
        Box::pin(std::future::ready(Ok(self.snapshot.clone())))
    }
    fn remove_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        self.inner.remove_behavior(id)
    }
    fn remove_behaviors(&self) -> StoreFuture<'_, Vec<String>> {
        self.inner.remove_behaviors()
    }
    fn fire_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        self.inner.fire_behavior(id)
    }
    fn clock_offset(&self) -> StoreFuture<'_, i64> {
        self.inner.clock_offset()
    }
    fn advance_clock(&self, micros: i64) -> StoreFuture<'_, i64> {
        self.inner.advance_clock(micros)
    }
}

#[tokio::test]
async fn losing_the_race_for_a_last_firing_moves_on_to_the_next_match() {
    let inner = MemoryControl::new();
    let once = add(
        &inner,
        r#"{"event": "server.create", "behavior": {"fail": {"status": 503}}, "times": 1}"#,
    )
    .await;
    let fallback = add(
        &inner,
        r#"{"event": "server.create", "behavior": {"fail": {"status": 409, "kind": "conflictingRequest", "retry_after": 3}}}"#,
    )
    .await;
    let snapshot = inner.behaviors().await.unwrap();
    // Another process takes the one firing after this one listed.
    assert!(inner.fire_behavior(once.id.clone()).await.unwrap());
    let store = Arc::new(StaleListing { inner, snapshot });
    let injector = BehaviorInjector::new(store.clone());
    let answer = Case::new(ServerEventKind::Create).ask(&injector).await;
    assert_eq!(
        answer,
        Some(Injection::Fail(InjectedFault {
            status: 409,
            kind: "conflictingRequest".to_owned(),
            message: "Injected failure".to_owned(),
            retry_after: Some(3),
        }))
    );
    assert_eq!(
        fired(&store.inner, &once.id).await,
        1,
        "never past its times"
    );
    assert_eq!(fired(&store.inner, &fallback.id).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_delay_answers_the_ordinary_outcome_later() {
    let (store, injector) = setup();
    let behavior = add(
        &*store,
        r#"{"event": "server.action", "behavior": {"delay": {"ms": 1500}}, "times": 1}"#,
    )
    .await;
    let action = Case::new(ServerEventKind::Action).action("reboot");
    let started = tokio::time::Instant::now();
    assert_eq!(action.ask(&injector).await, None);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(fired(&*store, &behavior.id).await, 1);
    let started = tokio::time::Instant::now();
    assert_eq!(action.ask(&injector).await, None);
    assert!(started.elapsed() < Duration::from_millis(1500), "expired");
}

#[tokio::test]
async fn a_servers_metadata_decides_its_build_and_no_stored_behavior_is_asked() {
    let (store, injector) = setup();
    let stored = add(
        &*store,
        r#"{"event": "server.build", "behavior": {"build": {"seconds": 99}}}"#,
    )
    .await;
    let build =
        |value: &str| Case::new(ServerEventKind::Build).with_metadata(METADATA_TRIGGER_KEY, value);
    let table = [
        (
            "error",
            Some(Injection::Error {
                after: Duration::ZERO,
                message: "Injected error (nova-rs:behavior metadata)".to_owned(),
            }),
        ),
        (
            "error-after:4",
            Some(Injection::Error {
                after: Duration::from_secs(4),
                message: "Injected error (nova-rs:behavior metadata)".to_owned(),
            }),
        ),
        ("build:7", Some(Injection::Take(Duration::from_secs(7)))),
        (
            "stuck",
            Some(Injection::Stuck {
                behavior_id: METADATA_STUCK_ID.to_owned(),
            }),
        ),
        ("fail:500", None),
        ("nonsense", None),
    ];
    for (value, expected) in table {
        assert_eq!(build(value).ask(&injector).await, expected, "{value}");
    }
    assert_eq!(fired(&*store, &stored.id).await, 0);
    assert_eq!(
        Case::new(ServerEventKind::Build).ask(&injector).await,
        Some(Injection::Take(Duration::from_secs(99))),
        "without the key the stored behaviour applies"
    );
}

#[tokio::test]
async fn a_servers_metadata_can_fail_its_create_and_leaves_deletes_to_behaviors() {
    let (store, injector) = setup();
    let create =
        |value: &str| Case::new(ServerEventKind::Create).with_metadata(METADATA_TRIGGER_KEY, value);
    assert_eq!(
        create("fail:429").ask(&injector).await,
        Some(Injection::Fail(InjectedFault {
            status: 429,
            kind: "overLimit".to_owned(),
            message: "Injected failure (nova-rs:behavior metadata)".to_owned(),
            retry_after: None,
        }))
    );
    let stored = add(
        &*store,
        r#"{"event": "server.create", "behavior": {"fail": {"status": 500}}}"#,
    )
    .await;
    assert_eq!(create("build:5").ask(&injector).await, None);
    assert_eq!(create("fail:1").ask(&injector).await, None);
    assert_eq!(fired(&*store, &stored.id).await, 0);
    add(
        &*store,
        r#"{"event": "server.delete", "behavior": {"stuck": {}}}"#,
    )
    .await;
    let delete = Case::new(ServerEventKind::Delete).with_metadata(METADATA_TRIGGER_KEY, "fail:500");
    assert!(matches!(
        delete.ask(&injector).await,
        Some(Injection::Stuck { .. })
    ));
}

#[tokio::test]
async fn a_store_failure_is_the_compute_apis_to_answer() {
    let injector = BehaviorInjector::new(Arc::new(crate::test_support::Unreachable));
    let answer = Case::new(ServerEventKind::Create).try_ask(&injector).await;
    assert!(matches!(answer, Err(StoreError::Unavailable { .. })));
}
