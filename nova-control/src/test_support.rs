//! What the unit tests of several modules share: registering a behaviour
//! from its wire text, a control store that cannot be reached, and a
//! stored server in a given state.

use std::collections::BTreeMap;
use std::sync::Arc;

use nova_compute::state::{Lifecycle, State};
use nova_compute::{Server, ServerDetails};
use nova_controller::{StoreError, StoreFuture, Timestamp};
use uuid::Uuid;

use crate::{Behavior, ControlStore, NewBehavior};

/// Checks `body` as `POST /control/behaviors` would and stores it.
pub(crate) async fn add(store: &dyn ControlStore, body: &str) -> Behavior {
    let behavior = NewBehavior::from_json(body.as_bytes())
        .unwrap()
        .validate()
        .unwrap();
    store.add_behavior(behavior.clone()).await.unwrap();
    behavior
}

/// A control store that cannot be reached.
#[derive(Debug)]
pub(crate) struct Unreachable;

pub(crate) const UNREACHABLE_REASON: &str = "connection refused at db.internal:5432";

fn unreachable<T: Send + 'static>() -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(Err(StoreError::Unavailable {
        reason: UNREACHABLE_REASON.to_owned(),
    })))
}

impl ControlStore for Unreachable {
    fn add_behavior(&self, _: Behavior) -> StoreFuture<'_, ()> {
        unreachable()
    }
    fn behaviors(&self) -> StoreFuture<'_, Vec<Behavior>> {
        unreachable()
    }
    fn remove_behavior(&self, _: String) -> StoreFuture<'_, bool> {
        unreachable()
    }
    fn remove_behaviors(&self) -> StoreFuture<'_, Vec<String>> {
        unreachable()
    }
    fn fire_behavior(&self, _: String) -> StoreFuture<'_, bool> {
        unreachable()
    }
    fn clock_offset(&self) -> StoreFuture<'_, i64> {
        unreachable()
    }
    fn advance_clock(&self, _: i64) -> StoreFuture<'_, i64> {
        unreachable()
    }
    fn is_shared(&self) -> bool {
        true
    }
}

/// The instant `seconds` after the Unix epoch.
pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(seconds * 1_000_000).unwrap()
}

/// A server of project `demo` created at second 100, with `lifecycle`.
pub(crate) fn server(name: &str, lifecycle: Lifecycle) -> Server {
    Server {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        created_at: at(100),
        updated_at: at(100),
        version: 1,
        project_id: "demo".to_owned(),
        deleted_at: None,
        details: Some(Arc::new(ServerDetails {
            lifecycle: Some(lifecycle),
            metadata: BTreeMap::new(),
            ..ServerDetails::default()
        })),
    }
}

/// `server` held in `task` by the behaviour `stuck_by`, its transition to
/// `then` ending at a far instant no test reaches.
pub(crate) fn stuck(mut server: Server, task: &str, then: State, stuck_by: &str) -> Server {
    let mut details = server.details.as_deref().cloned().unwrap_or_default();
    let mut lifecycle = details.lifecycle();
    lifecycle.begin(at(100), task, at(100_000_000_000), then);
    details.lifecycle = Some(lifecycle);
    details.stuck_by = Some(stuck_by.to_owned());
    server.details = Some(Arc::new(details));
    server
}
