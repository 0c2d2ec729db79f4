//! Where the identity service keeps what every process serving it must
//! share and what must outlive a restart: the Fernet keys tokens are
//! sealed with (when the configuration names none) and the revoked
//! tokens. Keystone keeps the first on disk and the second in its
//! database; a [`TokenStore`] is that seam, so nova-store can keep both in
//! the same SQLite file or PostgreSQL database as the servers, and two
//! processes on one database accept each other's tokens and see each
//! other's revocations.
//!
//! The methods return boxed futures, as `dyn` traits must: a store on a
//! database waits for it; [`MemoryTokenStore`] has nothing to wait for.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;

use crate::token::TokenKeys;

/// The future a [`TokenStore`] method returns.
pub type TokenStoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, TokenStoreError>> + Send + 'a>>;

/// The store could not be read or written. Its message is for the log
/// (it may name a database's words), never for a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token store failed: {0}")]
pub struct TokenStoreError(pub String);

/// A new random Fernet key, base64url-encoded (32 bytes): what a
/// [`TokenStore`] that has no key keeps as its first, so that a store
/// outside this crate makes the same kind of key [`MemoryTokenStore`]
/// does.
pub fn generate_token_key() -> String {
    TokenKeys::generate_key()
}

/// Keeps the token keys and the revoked tokens.
pub trait TokenStore: Send + Sync + 'static {
    /// The Fernet keys (base64url, 32 bytes each), the one that seals new
    /// tokens first. A store that has none creates one, keeps it and
    /// answers it, so that every process asking gets the same key, even
    /// two asking at once.
    fn token_keys(&self) -> TokenStoreFuture<'_, Vec<String>>;

    /// Revokes the token whose audit id is `audit_id`. It expires at
    /// `expires_at`: after that the entry may be forgotten, since the
    /// token is refused anyway.
    fn revoke_token<'a>(
        &'a self,
        audit_id: &'a str,
        expires_at: Timestamp,
    ) -> TokenStoreFuture<'a, ()>;

    /// Whether the token whose audit id is `audit_id` was revoked.
    fn is_token_revoked<'a>(&'a self, audit_id: &'a str) -> TokenStoreFuture<'a, bool>;

    /// Forgets the revocations of tokens that have expired by `now`.
    fn forget_expired_revocations(&self, now: Timestamp) -> TokenStoreFuture<'_, ()>;
}

/// A [`TokenStore`] in memory: one random key, made when first asked
/// for, and the revocations, all gone when the process stops.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    key: Mutex<Option<String>>,
    revoked: Mutex<HashMap<String, Timestamp>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn revoked(&self) -> MutexGuard<'_, HashMap<String, Timestamp>> {
        // A panic elsewhere cannot leave a map of plain entries half
        // written, so a poisoned lock's contents are still good.
        self.revoked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl TokenStore for MemoryTokenStore {
    fn token_keys(&self) -> TokenStoreFuture<'_, Vec<String>> {
        let mut key = self
            .key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = key.get_or_insert_with(TokenKeys::generate_key).clone();
        Box::pin(std::future::ready(Ok(vec![key])))
    }

    fn revoke_token<'a>(
        &'a self,
        audit_id: &'a str,
        expires_at: Timestamp,
    ) -> TokenStoreFuture<'a, ()> {
        self.revoked().insert(audit_id.to_owned(), expires_at);
        Box::pin(std::future::ready(Ok(())))
    }

    fn is_token_revoked<'a>(&'a self, audit_id: &'a str) -> TokenStoreFuture<'a, bool> {
        let revoked = self.revoked().contains_key(audit_id);
        Box::pin(std::future::ready(Ok(revoked)))
    }

    fn forget_expired_revocations(&self, now: Timestamp) -> TokenStoreFuture<'_, ()> {
        self.revoked().retain(|_, expires_at| *expires_at > now);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[tokio::test]
    async fn the_memory_store_keeps_one_key_and_forgets_only_expired_revocations() {
        let store = MemoryTokenStore::new();
        let keys = store.token_keys().await.unwrap();
        assert_eq!(keys.len(), 1);
        assert!(TokenKeys::new(&keys).is_some(), "a valid Fernet key");
        assert_eq!(
            store.token_keys().await.unwrap(),
            keys,
            "the same key again"
        );

        store.revoke_token("a", at(100)).await.unwrap();
        store.revoke_token("b", at(200)).await.unwrap();
        assert!(store.is_token_revoked("a").await.unwrap());
        assert!(!store.is_token_revoked("c").await.unwrap());
        store.forget_expired_revocations(at(150)).await.unwrap();
        assert!(!store.is_token_revoked("a").await.unwrap());
        assert!(store.is_token_revoked("b").await.unwrap());
    }
}
