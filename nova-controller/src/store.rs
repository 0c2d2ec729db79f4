//! Where instances live: the [`InstanceStore`] trait and the in-memory store.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use serde::Serialize;
use uuid::Uuid;

use crate::Timestamp;

/// One virtual machine record, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// Its id, a UUID v4 given when it was created.
    pub id: Uuid,
    /// Its name, validated by [`validate_name`](crate::validate_name).
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed (its creation time until it is renamed).
    pub updated_at: Timestamp,
    /// 1 when created, one more at each change; the API shows it as the
    /// `ETag`, not in the body.
    #[serde(skip)]
    pub version: u64,
}

impl Instance {
    /// A new instance named `name` with a fresh UUID v4, created now, at
    /// version 1.
    pub fn new(name: impl Into<String>) -> Self {
        let now = Timestamp::now();
        Instance {
            id: Uuid::new_v4(),
            name: name.into(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// This instance renamed at `now`: the new name, `updated_at` set and the
    /// version one higher. Every store renames through this, so they agree.
    pub fn renamed(&self, name: String, now: Timestamp) -> Self {
        Instance {
            name,
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// The names a new store is seeded with, as the seed's controller does.
pub const SEED_NAMES: [&str; 3] = ["inst-0", "inst-1", "inst-2"];

/// What a change requires of the instance's current version: HTTP's
/// `If-Match`, checked by the store in the same atomic step as the change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IfMatch {
    /// Any version will do: no `If-Match` (the last write wins), or
    /// `If-Match: *`.
    #[default]
    Any,
    /// The current version must be one of these; an empty list matches none.
    Versions(Vec<u64>),
}

impl IfMatch {
    /// Whether an instance at `version` satisfies the condition.
    pub fn matches(&self, version: u64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(versions) => versions.contains(&version),
        }
    }
}

/// The outcome of a conditional change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    /// The change was made (and committed, for a durable store).
    Applied(T),
    /// No instance has this id; nothing was changed.
    NotFound,
    /// The instance exists but its version did not satisfy the [`IfMatch`];
    /// nothing was changed.
    VersionMismatch {
        /// The version it has.
        current: u64,
    },
}

/// Why a store could not do what was asked.
///
/// Its `Display` carries the driver's own words and is for the log; the
/// controller answers the client with words of its own
/// ([`ControllerError::client_message`](crate::ControllerError::client_message)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing storage cannot be reached or written just now; the request
    /// may succeed if repeated later. Nothing was changed.
    #[error("the instance store is unavailable: {reason}")]
    Unavailable {
        /// What went wrong, in the driver's words: for the log, never for
        /// the client.
        reason: String,
    },
    /// An instance with this id exists already.
    #[error("an instance with id {id} exists already")]
    DuplicateId {
        /// The id.
        id: Uuid,
    },
    /// The store holds a record it cannot read back (a bad id, timestamp or
    /// version); someone changed it outside nova-rs.
    #[error("the instance store holds an unreadable record: {reason}")]
    Corrupt {
        /// What could not be read.
        reason: String,
    },
}

/// The future a store operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Storage for instances.
///
/// Every method is atomic: it either happens entirely or, on error, not at
/// all; once a changing method's future answers `Ok`, the change is
/// committed as durably as the store promises. Methods return boxed futures
/// so that `dyn InstanceStore` works and a store can be chosen at run time.
pub trait InstanceStore: Send + Sync + 'static {
    /// Every instance, in the order they were created.
    fn list(&self) -> StoreFuture<'_, Vec<Instance>>;

    /// Stores a new instance, as given.
    fn insert(&self, instance: Instance) -> StoreFuture<'_, ()>;

    /// The instance with this id, if there is one.
    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Instance>>;

    /// Renames the instance with this id (see [`Instance::renamed`]) if its
    /// version satisfies `if_match`, checked and changed in one atomic step.
    fn rename(
        &self,
        id: Uuid,
        name: String,
        if_match: IfMatch,
    ) -> StoreFuture<'_, Change<Instance>>;

    /// Deletes the instance with this id if its version satisfies
    /// `if_match`, checked and deleted in one atomic step.
    fn delete(&self, id: Uuid, if_match: IfMatch) -> StoreFuture<'_, Change<()>>;

    /// A number that is different after every committed change, for callers
    /// that keep something derived from [`list`](Self::list) (the
    /// controller keeps the serialised listing) and want to know, without
    /// listing, whether it still holds.
    ///
    /// The promise: read the generation *before* calling `list`; while a
    /// later call answers the same number, the store's contents are what
    /// that `list` answered (or newer, if a change committed in between;
    /// then the number has moved on too). `None` means the store cannot
    /// tell, typically because other processes change the same data; then
    /// nothing derived from a listing may be reused. The default is `None`.
    fn generation(&self) -> Option<u64> {
        None
    }

    /// Finishes the changes already asked for, commits them and releases the
    /// backing storage; later calls answer [`StoreError::Unavailable`]. The
    /// default does nothing, which suits a store with nothing to flush.
    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Instances in memory, gone when the process stops: the seed's dict, with
/// creation order kept for listings.
///
/// ```
/// use nova_controller::{InstanceStore, MemoryStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::seeded();
/// let names: Vec<String> = store.list().await.unwrap().into_iter().map(|i| i.name).collect();
/// assert_eq!(names, ["inst-0", "inst-1", "inst-2"]);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<MemoryState>,
    /// Bumped under the write lock by every change; see
    /// [`InstanceStore::generation`].
    generation: AtomicU64,
}

impl crate::Keyed for Instance {
    fn key(&self) -> Uuid {
        self.id
    }
}

/// Instances in creation order, by id.
type MemoryState = crate::CreationOrder<Instance>;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding the seed's three instances, with fresh ids.
    pub fn seeded() -> Self {
        let store = Self::new();
        {
            let mut state = store.write();
            for name in SEED_NAMES {
                state.insert(Instance::new(name));
            }
        }
        store
    }

    // A panic while the lock was held cannot leave the maps half-updated:
    // each operation changes them only after every check has passed. So a
    // poisoned lock is safe to keep using, and one failed request must not
    // make the store unusable for every later one.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, MemoryState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, MemoryState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a change. Called with the write lock held, after the change:
    /// a reader who sees the new number and then takes the read lock sees
    /// the change.
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }
}

impl InstanceStore for MemoryStore {
    fn list(&self) -> StoreFuture<'_, Vec<Instance>> {
        let instances = self.read().iter().cloned().collect();
        Box::pin(std::future::ready(Ok(instances)))
    }

    fn insert(&self, instance: Instance) -> StoreFuture<'_, ()> {
        let id = instance.id;
        let mut state = self.write();
        let result = if state.insert(instance) {
            self.changed();
            Ok(())
        } else {
            Err(StoreError::DuplicateId { id })
        };
        Box::pin(std::future::ready(result))
    }

    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Instance>> {
        let found = self.read().get(&id).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn rename(
        &self,
        id: Uuid,
        name: String,
        if_match: IfMatch,
    ) -> StoreFuture<'_, Change<Instance>> {
        // Checked and changed under one write lock: atomic.
        let mut state = self.write();
        let outcome = match state.get_mut(&id) {
            None => Change::NotFound,
            Some(instance) if !if_match.matches(instance.version) => Change::VersionMismatch {
                current: instance.version,
            },
            Some(instance) => {
                *instance = instance.renamed(name, Timestamp::now());
                let renamed = instance.clone();
                self.changed();
                Change::Applied(renamed)
            }
        };
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn delete(&self, id: Uuid, if_match: IfMatch) -> StoreFuture<'_, Change<()>> {
        let mut state = self.write();
        let outcome = match state.get_mut(&id).map(|instance| instance.version) {
            None => Change::NotFound,
            Some(current) if !if_match.matches(current) => Change::VersionMismatch { current },
            Some(_) => {
                state.remove(&id);
                self.changed();
                Change::Applied(())
            }
        };
        Box::pin(std::future::ready(Ok(outcome)))
    }

    /// The memory store is this process's alone: it always knows.
    fn generation(&self) -> Option<u64> {
        Some(self.generation.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str) -> Instance {
        Instance::new(name)
    }

    // Deleting most instances compacts the slots; order and lookups must
    // survive it.
    #[tokio::test]
    async fn deleting_most_instances_keeps_the_rest_in_order_and_findable() {
        let store = MemoryStore::new();
        let all: Vec<Instance> = (0..300).map(|n| instance(&format!("vm-{n}"))).collect();
        for i in &all {
            store.insert(i.clone()).await.unwrap();
        }
        for (n, i) in all.iter().enumerate() {
            if n % 7 != 0 {
                assert_eq!(
                    store.delete(i.id, IfMatch::Any).await.unwrap(),
                    Change::Applied(())
                );
            }
        }
        let kept: Vec<&Instance> = all.iter().step_by(7).collect();
        let listed = store.list().await.unwrap();
        assert_eq!(listed.iter().collect::<Vec<_>>(), kept);
        for i in &kept {
            assert_eq!(store.get(i.id).await.unwrap().as_ref(), Some(*i));
            let renamed = store
                .rename(i.id, format!("{}-x", i.name), IfMatch::Any)
                .await
                .unwrap();
            assert!(matches!(renamed, Change::Applied(_)));
        }
        assert_eq!(store.get(all[1].id).await.unwrap(), None);
        let late = instance("late");
        store.insert(late.clone()).await.unwrap();
        assert_eq!(
            store.list().await.unwrap().last(),
            Some(&store.get(late.id).await.unwrap().unwrap())
        );
    }

    #[tokio::test]
    async fn listing_keeps_creation_order_across_deletes_and_renames() {
        let store = MemoryStore::new();
        let (a, b, c) = (instance("a"), instance("b"), instance("c"));
        for i in [&a, &b, &c] {
            store.insert(i.clone()).await.unwrap();
        }
        assert_eq!(
            store.delete(b.id, IfMatch::Any).await.unwrap(),
            Change::Applied(())
        );
        store
            .rename(a.id, "a2".to_owned(), IfMatch::Any)
            .await
            .unwrap();
        store.insert(b.clone()).await.unwrap();
        let names: Vec<String> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, ["a2", "c", "b"]);
    }

    #[tokio::test]
    async fn unknown_ids_are_reported_not_invented() {
        let store = MemoryStore::seeded();
        let id = Uuid::new_v4();
        assert_eq!(store.get(id).await.unwrap(), None);
        assert_eq!(
            store
                .rename(id, "x".to_owned(), IfMatch::Any)
                .await
                .unwrap(),
            Change::NotFound
        );
        assert_eq!(
            store.delete(id, IfMatch::Any).await.unwrap(),
            Change::NotFound
        );
        assert_eq!(store.list().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_duplicate_id_is_refused_and_changes_nothing() {
        let store = MemoryStore::new();
        let first = instance("first");
        store.insert(first.clone()).await.unwrap();
        let clash = Instance {
            id: first.id,
            ..Instance::new("second")
        };
        assert_eq!(
            store.insert(clash).await,
            Err(StoreError::DuplicateId { id: first.id })
        );
        assert_eq!(store.list().await.unwrap(), vec![first]);
    }

    #[tokio::test]
    async fn a_rename_bumps_the_version_and_updated_at_but_keeps_created_at() {
        let store = MemoryStore::new();
        let first = instance("first");
        store.insert(first.clone()).await.unwrap();
        let Change::Applied(renamed) = store
            .rename(first.id, "second".to_owned(), IfMatch::Versions(vec![1]))
            .await
            .unwrap()
        else {
            panic!("rename at the current version is applied");
        };
        assert_eq!((renamed.name.as_str(), renamed.version), ("second", 2));
        assert_eq!(renamed.created_at, first.created_at);
        assert!(renamed.updated_at >= first.updated_at);
        assert_eq!(store.get(first.id).await.unwrap(), Some(renamed));
    }

    #[tokio::test]
    async fn a_stale_version_changes_nothing_and_reports_the_current_one() {
        let store = MemoryStore::new();
        let first = instance("first");
        store.insert(first.clone()).await.unwrap();
        store
            .rename(first.id, "second".to_owned(), IfMatch::Any)
            .await
            .unwrap();
        let stale = IfMatch::Versions(vec![1]);
        assert_eq!(
            store
                .rename(first.id, "third".to_owned(), stale.clone())
                .await
                .unwrap(),
            Change::VersionMismatch { current: 2 }
        );
        assert_eq!(
            store.delete(first.id, stale).await.unwrap(),
            Change::VersionMismatch { current: 2 }
        );
        assert_eq!(
            store
                .delete(first.id, IfMatch::Versions(vec![]))
                .await
                .unwrap(),
            Change::VersionMismatch { current: 2 }
        );
        let kept = store.get(first.id).await.unwrap().unwrap();
        assert_eq!((kept.name.as_str(), kept.version), ("second", 2));
        assert_eq!(
            store
                .delete(first.id, IfMatch::Versions(vec![7, 2]))
                .await
                .unwrap(),
            Change::Applied(())
        );
    }
}
