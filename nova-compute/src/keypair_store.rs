//! Where key pairs live: the [`KeypairStore`] trait, which every
//! [`ServerStore`](crate::ServerStore) also implements, and the in-memory
//! table [`MemoryServerStore`](crate::MemoryServerStore) keeps them in
//! (which answers the trait by asking that table).
//! The keypairs controller (`keypairs`) and server create's `key_name`
//! check read it.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use nova_controller::StoreFuture;

use crate::Keypair;

/// The outcome of [`KeypairStore::create_keypair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeypairCreate {
    /// Stored; the key pair as stored, with its id.
    Created(Keypair),
    /// The user already has a key pair of that name (Nova's
    /// `KeyPairExists`); nothing was stored.
    Exists,
    /// The user already has as many key pairs as the limit allows (Nova's
    /// `KeypairLimitExceeded`); nothing was stored.
    OverQuota,
}

/// Storage for users' key pairs, kept by the same stores as the servers
/// whose `key_name` names them.
///
/// Every method is atomic and, once its future answers `Ok`, committed as
/// durably as the store promises, as for
/// [`InstanceStore`](nova_controller::InstanceStore).
pub trait KeypairStore: Send + Sync + 'static {
    /// Stores `keypair` under a new id unless its user already has one of
    /// its name, or already has `limit` key pairs (`limit` below zero is
    /// unlimited): the count and the insert are one atomic step, so two
    /// concurrent creates cannot both pass the last free place.
    fn create_keypair(&self, keypair: Keypair, limit: i64) -> StoreFuture<'_, KeypairCreate>;

    /// The key pair of `user_id` named `name`.
    fn keypair(&self, user_id: String, name: String) -> StoreFuture<'_, Option<Keypair>>;

    /// Every key pair of `user_id`, ordered by name (byte order), as Nova
    /// pages them.
    fn keypairs(&self, user_id: String) -> StoreFuture<'_, Vec<Keypair>>;

    /// Deletes the key pair of `user_id` named `name`; whether there was
    /// one.
    fn delete_keypair(&self, user_id: String, name: String) -> StoreFuture<'_, bool>;
}

/// Key pairs in memory: by user, then by name.
#[derive(Debug, Default)]
pub(crate) struct MemoryKeypairs {
    state: RwLock<KeypairTable>,
}

#[derive(Debug, Default)]
struct KeypairTable {
    by_user: BTreeMap<String, BTreeMap<String, Keypair>>,
    /// The last id given.
    last_id: i64,
}

fn ready<T: Send + 'static>(value: T) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl KeypairStore for MemoryKeypairs {
    fn create_keypair(&self, mut keypair: Keypair, limit: i64) -> StoreFuture<'_, KeypairCreate> {
        // Nothing under the lock can stop half-way: a poisoned lock still
        // guards a whole table.
        let mut table = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let next_id = table.last_id + 1;
        let mine = table.by_user.entry(keypair.user_id.clone()).or_default();
        let outcome = if mine.contains_key(&keypair.name) {
            KeypairCreate::Exists
        } else if limit >= 0 && i64::try_from(mine.len()).unwrap_or(i64::MAX) >= limit {
            KeypairCreate::OverQuota
        } else {
            keypair.id = next_id;
            mine.insert(keypair.name.clone(), keypair.clone());
            table.last_id = next_id;
            KeypairCreate::Created(keypair)
        };
        ready(outcome)
    }

    fn keypair(&self, user_id: String, name: String) -> StoreFuture<'_, Option<Keypair>> {
        let table = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let found = table
            .by_user
            .get(&user_id)
            .and_then(|mine| mine.get(&name))
            .cloned();
        ready(found)
    }

    fn keypairs(&self, user_id: String) -> StoreFuture<'_, Vec<Keypair>> {
        let table = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let found = table
            .by_user
            .get(&user_id)
            .map(|mine| mine.values().cloned().collect())
            .unwrap_or_default();
        ready(found)
    }

    fn delete_keypair(&self, user_id: String, name: String) -> StoreFuture<'_, bool> {
        let mut table = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let deleted = table
            .by_user
            .get_mut(&user_id)
            .is_some_and(|mine| mine.remove(&name).is_some());
        ready(deleted)
    }
}
