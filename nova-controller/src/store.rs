//! Where instances live: the [`InstanceStore`] trait and the in-memory store.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{PoisonError, RwLock};

use serde::Serialize;
use uuid::Uuid;

/// One virtual machine record, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// Its id, a UUID v4 given when it was created.
    pub id: Uuid,
    /// Its name, validated by [`validate_name`](crate::validate_name).
    pub name: String,
}

/// The names a new store is seeded with, as the seed's controller does.
pub const SEED_NAMES: [&str; 3] = ["inst-0", "inst-1", "inst-2"];

/// Why a store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing storage cannot be reached or written just now; the request
    /// may succeed if repeated later. Nothing was changed.
    #[error("the instance store is unavailable: {reason}")]
    Unavailable {
        /// What went wrong, for the log and the client.
        reason: String,
    },
    /// An instance with this id exists already.
    #[error("an instance with id {id} exists already")]
    DuplicateId {
        /// The id.
        id: Uuid,
    },
}

/// The future a store operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Storage for instances.
///
/// Every method is atomic: it either happens entirely or, on error, not at
/// all. Methods return boxed futures so that `dyn InstanceStore` works and a
/// store can be chosen at run time.
pub trait InstanceStore: Send + Sync + 'static {
    /// Every instance, in the order they were created.
    fn list(&self) -> StoreFuture<'_, Vec<Instance>>;

    /// Stores a new instance.
    fn insert(&self, instance: Instance) -> StoreFuture<'_, ()>;

    /// The instance with this id, if there is one.
    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Instance>>;

    /// Renames the instance with this id; `None` if there is none.
    fn rename(&self, id: Uuid, name: String) -> StoreFuture<'_, Option<Instance>>;

    /// Deletes the instance with this id; `false` if there was none.
    fn delete(&self, id: Uuid) -> StoreFuture<'_, bool>;
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
}

#[derive(Debug, Default)]
struct MemoryState {
    /// Creation sequence number -> instance; iteration is creation order.
    by_sequence: BTreeMap<u64, Instance>,
    /// Instance id -> its creation sequence number.
    sequence_of: HashMap<Uuid, u64>,
    next_sequence: u64,
}

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
                state.insert(Instance {
                    id: Uuid::new_v4(),
                    name: name.to_owned(),
                });
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
}

impl MemoryState {
    fn insert(&mut self, instance: Instance) -> bool {
        if self.sequence_of.contains_key(&instance.id) {
            return false;
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.sequence_of.insert(instance.id, sequence);
        self.by_sequence.insert(sequence, instance);
        true
    }

    fn get_mut(&mut self, id: &Uuid) -> Option<&mut Instance> {
        let sequence = self.sequence_of.get(id)?;
        self.by_sequence.get_mut(sequence)
    }
}

impl InstanceStore for MemoryStore {
    fn list(&self) -> StoreFuture<'_, Vec<Instance>> {
        let instances = self.read().by_sequence.values().cloned().collect();
        Box::pin(std::future::ready(Ok(instances)))
    }

    fn insert(&self, instance: Instance) -> StoreFuture<'_, ()> {
        let id = instance.id;
        let result = if self.write().insert(instance) {
            Ok(())
        } else {
            Err(StoreError::DuplicateId { id })
        };
        Box::pin(std::future::ready(result))
    }

    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Instance>> {
        let state = self.read();
        let found = state
            .sequence_of
            .get(&id)
            .and_then(|sequence| state.by_sequence.get(sequence))
            .cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn rename(&self, id: Uuid, name: String) -> StoreFuture<'_, Option<Instance>> {
        let renamed = self.write().get_mut(&id).map(|instance| {
            instance.name = name;
            instance.clone()
        });
        Box::pin(std::future::ready(Ok(renamed)))
    }

    fn delete(&self, id: Uuid) -> StoreFuture<'_, bool> {
        let mut state = self.write();
        let deleted = match state.sequence_of.remove(&id) {
            Some(sequence) => state.by_sequence.remove(&sequence).is_some(),
            None => false,
        };
        Box::pin(std::future::ready(Ok(deleted)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str) -> Instance {
        Instance {
            id: Uuid::new_v4(),
            name: name.to_owned(),
        }
    }

    #[tokio::test]
    async fn listing_keeps_creation_order_across_deletes_and_renames() {
        let store = MemoryStore::new();
        let (a, b, c) = (instance("a"), instance("b"), instance("c"));
        for i in [&a, &b, &c] {
            store.insert(i.clone()).await.unwrap();
        }
        assert!(store.delete(b.id).await.unwrap());
        store.rename(a.id, "a2".to_owned()).await.unwrap();
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
        assert_eq!(store.rename(id, "x".to_owned()).await.unwrap(), None);
        assert!(!store.delete(id).await.unwrap());
        assert_eq!(store.list().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_duplicate_id_is_refused_and_changes_nothing() {
        let store = MemoryStore::new();
        let first = instance("first");
        store.insert(first.clone()).await.unwrap();
        let clash = Instance {
            id: first.id,
            name: "second".to_owned(),
        };
        assert_eq!(
            store.insert(clash).await,
            Err(StoreError::DuplicateId { id: first.id })
        );
        assert_eq!(store.list().await.unwrap(), vec![first]);
    }
}
