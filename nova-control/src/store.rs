//! Where behaviours and the controlled clock live: the [`ControlStore`]
//! trait, which every nova-rs store implements beside its servers (so a
//! behaviour outlives a restart and every process on one PostgreSQL sees
//! the same ones), and [`MemoryControl`], the in-memory one.

use std::sync::{PoisonError, RwLock};

use nova_controller::{StoreError, StoreFuture};

use crate::{Behavior, Facts, Matcher};

/// Storage for the control API's state.
///
/// Every method is atomic and, once its future answers `Ok`, committed as
/// durably as the store promises, as for
/// [`InstanceStore`](nova_controller::InstanceStore).
pub trait ControlStore: Send + Sync + 'static {
    /// Stores a new behaviour, after every one stored before it.
    fn add_behavior(&self, behavior: Behavior) -> StoreFuture<'_, ()>;

    /// Every stored behaviour, expired ones too, in the order they were
    /// added.
    fn behaviors(&self) -> StoreFuture<'_, Vec<Behavior>>;

    /// Removes the behaviour with this id; whether there was one.
    fn remove_behavior(&self, id: String) -> StoreFuture<'_, bool>;

    /// Removes every behaviour; the ids removed.
    fn remove_behaviors(&self) -> StoreFuture<'_, Vec<String>>;

    /// Counts one firing of the behaviour with this id, if it is still
    /// there and has firings left, in one atomic step: of two processes
    /// racing for a behaviour's last firing, one wins. Whether it fired.
    fn fire_behavior(&self, id: String) -> StoreFuture<'_, bool>;

    /// How far the controlled clock has been moved ahead of the system's,
    /// in microseconds (0 if it never was).
    fn clock_offset(&self) -> StoreFuture<'_, i64>;

    /// Moves the controlled clock `micros` further ahead, in one atomic
    /// step; the new offset.
    fn advance_clock(&self, micros: i64) -> StoreFuture<'_, i64>;

    /// Whether other processes may change this state behind this one's
    /// back (a shared database): then readers must not keep copies.
    fn is_shared(&self) -> bool {
        false
    }
}

/// The behaviour that fires for `facts`: the first, in the order they were
/// added, that is active and matches, counted as fired once.
///
/// The list read may be stale by the time a behaviour fires (another
/// process took its last firing in between): the store's atomic
/// [`ControlStore::fire_behavior`] then says no, and the next match is
/// tried, so a behaviour never fires more than its `times`.
pub(crate) async fn fire_first_match(
    store: &dyn ControlStore,
    facts: &Facts<'_>,
) -> Result<Option<Behavior>, StoreError> {
    for behavior in store.behaviors().await? {
        // The event first: a matcher compiles the behaviour's name
        // pattern, which a request of another event has no use for.
        let matches = behavior.event == facts.event
            && behavior.is_active()
            && Matcher::new(&behavior).is_some_and(|matcher| matcher.matches(facts));
        if matches && store.fire_behavior(behavior.id.clone()).await? {
            return Ok(Some(behavior));
        }
    }
    Ok(None)
}

/// The control state in memory, gone with the process.
#[derive(Debug, Default)]
pub struct MemoryControl {
    state: RwLock<ControlTable>,
}

#[derive(Debug, Default)]
struct ControlTable {
    behaviors: Vec<Behavior>,
    clock_offset: i64,
}

impl MemoryControl {
    /// An empty one.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ControlTable> {
        // Nothing under the lock can stop half-way: a poisoned lock still
        // guards a whole table.
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn ready<T: Send + 'static>(value: T) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl ControlStore for MemoryControl {
    fn add_behavior(&self, behavior: Behavior) -> StoreFuture<'_, ()> {
        self.write().behaviors.push(behavior);
        ready(())
    }

    fn behaviors(&self) -> StoreFuture<'_, Vec<Behavior>> {
        let table = self.state.read().unwrap_or_else(PoisonError::into_inner);
        ready(table.behaviors.clone())
    }

    fn remove_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        let mut table = self.write();
        let before = table.behaviors.len();
        table.behaviors.retain(|behavior| behavior.id != id);
        ready(table.behaviors.len() != before)
    }

    fn remove_behaviors(&self) -> StoreFuture<'_, Vec<String>> {
        let removed = std::mem::take(&mut self.write().behaviors);
        ready(removed.into_iter().map(|behavior| behavior.id).collect())
    }

    fn fire_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        let mut table = self.write();
        let fired = match table.behaviors.iter_mut().find(|b| b.id == id) {
            Some(behavior) if behavior.is_active() => {
                behavior.fired += 1;
                true
            }
            _ => false,
        };
        ready(fired)
    }

    fn clock_offset(&self) -> StoreFuture<'_, i64> {
        let table = self.state.read().unwrap_or_else(PoisonError::into_inner);
        ready(table.clock_offset)
    }

    fn advance_clock(&self, micros: i64) -> StoreFuture<'_, i64> {
        let mut table = self.write();
        table.clock_offset = table.clock_offset.saturating_add(micros);
        ready(table.clock_offset)
    }
}
