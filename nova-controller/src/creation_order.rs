//! Records in the order they were created, found by id: the layout both
//! in-memory stores keep (the seed's instances here, servers in
//! nova-compute).

use std::collections::HashMap;

use uuid::Uuid;

/// A record a [`CreationOrder`] holds: it knows its own id.
pub trait Keyed {
    /// The record's id.
    fn key(&self) -> Uuid;
}

/// Records in creation order with a lookup by id.
///
/// A flat vector with a map from id to slot costs far less memory per
/// record than an ordered map. A removed record leaves a gap until most
/// slots are empty; then the gaps are closed, keeping the order,
/// amortised over the removals that made them.
///
/// ```
/// use nova_controller::{CreationOrder, Instance};
///
/// let mut order = CreationOrder::default();
/// let (a, b) = (Instance::new("a"), Instance::new("b"));
/// assert!(order.insert(a.clone()) && order.insert(b.clone()));
/// assert!(!order.insert(a.clone()), "an id is held once");
/// order.remove(&a.id);
/// assert_eq!(order.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["b"]);
/// ```
#[derive(Debug)]
pub struct CreationOrder<T> {
    slots: Vec<Option<T>>,
    slot_of: HashMap<Uuid, usize>,
}

impl<T> Default for CreationOrder<T> {
    fn default() -> Self {
        CreationOrder {
            slots: Vec::new(),
            slot_of: HashMap::new(),
        }
    }
}

impl<T: Keyed> CreationOrder<T> {
    /// Adds `record` last; `false`, changing nothing, if its id is held.
    pub fn insert(&mut self, record: T) -> bool {
        let key = record.key();
        if self.slot_of.contains_key(&key) {
            return false;
        }
        self.slot_of.insert(key, self.slots.len());
        self.slots.push(Some(record));
        true
    }

    /// Whether a record has this id.
    pub fn contains(&self, id: &Uuid) -> bool {
        self.slot_of.contains_key(id)
    }

    /// The record with this id.
    pub fn get(&self, id: &Uuid) -> Option<&T> {
        self.slots.get(*self.slot_of.get(id)?)?.as_ref()
    }

    /// The record with this id, to change in place (not its id).
    pub fn get_mut(&mut self, id: &Uuid) -> Option<&mut T> {
        let slot = *self.slot_of.get(id)?;
        self.slots.get_mut(slot)?.as_mut()
    }

    /// Removes the record with this id, if there is one.
    pub fn remove(&mut self, id: &Uuid) {
        if let Some(slot) = self.slot_of.remove(id) {
            if let Some(entry) = self.slots.get_mut(slot) {
                *entry = None;
            }
        }
        if self.slots.len() > 64 && self.slots.len() > 2 * self.slot_of.len() {
            self.slots.retain(Option::is_some);
            for (slot, record) in self.slots.iter().enumerate() {
                if let Some(record) = record {
                    self.slot_of.insert(record.key(), slot);
                }
            }
        }
    }

    /// Every record, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }
}
