//! The compute API's fault injector ([`BehaviorInjector`]): at each
//! server event the compute API asks it what is to happen, and it answers
//! from the stored behaviours, or from the server's own
//! [`nova-rs:behavior` metadata](crate::METADATA_TRIGGER_KEY).
//!
//! | effect | answer to the compute API |
//! |---|---|
//! | `fail` | [`Injection::Fail`]: the request is answered with the fault, nothing changes |
//! | `error` | [`Injection::Error`]: the server goes to `ERROR` after the given time |
//! | `build` | [`Injection::Take`]: the build, action or delete takes the given time |
//! | `stuck` | [`Injection::Stuck`]: the server stays in its task state |
//! | `delay` | the answer comes later, then the ordinary outcome |

use std::sync::Arc;
use std::time::Duration;

use nova_compute::{FaultInjector, Injection, ServerEvent, ServerEventKind};
use nova_controller::StoreFuture;

use crate::error::injected_fault;
use crate::metadata_trigger::{parse_metadata_trigger, METADATA_TRIGGER_KEY};
use crate::store::fire_first_match;
use crate::{ControlStore, Effect, Event, Facts};

/// Answers the compute API's questions about server events from a
/// [`ControlStore`]'s behaviours: the first behaviour (in the order they
/// were registered) that is active and matches the event fires, once.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::Arc;
/// use nova_compute::{FaultInjector, Injection, ServerEvent, ServerEventKind};
/// use nova_control::{BehaviorInjector, ControlStore, MemoryControl, NewBehavior};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryControl::new());
/// let body = br#"{"event": "server.create", "behavior": {"fail": {"status": 500}}}"#;
/// let behavior = NewBehavior::from_json(body).unwrap().validate().unwrap();
/// store.add_behavior(behavior).await.unwrap();
///
/// let injector = BehaviorInjector::new(store);
/// let metadata = BTreeMap::new();
/// let event = ServerEvent {
///     kind: ServerEventKind::Create,
///     project_id: "demo",
///     server_id: None,
///     server_name: "web-1",
///     metadata: &metadata,
///     action: None,
/// };
/// let answer = injector.server_event(event).await.unwrap();
/// assert!(matches!(answer, Some(Injection::Fail(fault)) if fault.kind == "computeFault"));
/// # });
/// ```
#[derive(Clone)]
pub struct BehaviorInjector {
    store: Arc<dyn ControlStore>,
}

impl std::fmt::Debug for BehaviorInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BehaviorInjector").finish_non_exhaustive()
    }
}

impl BehaviorInjector {
    /// The injector over `store`'s behaviours.
    pub fn new(store: Arc<dyn ControlStore>) -> Self {
        BehaviorInjector { store }
    }

    async fn decide(
        &self,
        event: ServerEvent<'_>,
    ) -> Result<Option<Injection>, nova_controller::StoreError> {
        let kind = event_of(event.kind);
        if matches!(kind, Event::ServerCreate | Event::ServerBuild) {
            if let Some(value) = event.metadata.get(METADATA_TRIGGER_KEY) {
                // The server's own word decides its create and build; a
                // value for the other event, or none we read, is the
                // ordinary outcome (see the metadata trigger's rules).
                return Ok(parse_metadata_trigger(value)
                    .ok()
                    .filter(|trigger| trigger.event() == kind)
                    .map(|trigger| trigger.injection()));
            }
        }
        let facts = Facts {
            event: kind,
            project: Some(event.project_id),
            server_name: Some(event.server_name),
            metadata: Some(event.metadata),
            action: event.action,
            method: None,
            path: None,
        };
        let Some(behavior) = fire_first_match(&*self.store, &facts).await? else {
            return Ok(None);
        };
        let injection = match behavior.effect {
            Effect::Fail(fail) => Injection::Fail(injected_fault(fail)),
            Effect::Error(error) => Injection::Error {
                after: seconds(error.after_seconds),
                message: error.message,
            },
            Effect::Build(build) => Injection::Take(seconds(build.seconds)),
            Effect::Stuck(_) => Injection::Stuck {
                behavior_id: behavior.id,
            },
            Effect::Delay(delay) => {
                tokio::time::sleep(Duration::from_millis(delay.ms)).await;
                return Ok(None);
            }
        };
        Ok(Some(injection))
    }
}

impl FaultInjector for BehaviorInjector {
    fn server_event<'a>(&'a self, event: ServerEvent<'a>) -> StoreFuture<'a, Option<Injection>> {
        Box::pin(self.decide(event))
    }
}

/// The behaviours' event for the compute API's.
fn event_of(kind: ServerEventKind) -> Event {
    match kind {
        ServerEventKind::Create => Event::ServerCreate,
        ServerEventKind::Build => Event::ServerBuild,
        ServerEventKind::Delete => Event::ServerDelete,
        ServerEventKind::Action => Event::ServerAction,
    }
}

/// A stored number of seconds as a duration; validation kept it finite
/// and in range, and a record written outside nova-rs that is not counts
/// as none.
fn seconds(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests;
