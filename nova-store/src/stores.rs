//! The stores of one configuration: asked for by the instance apps of a
//! paste.deploy file, opened once per distinct URL before serving, handed to
//! the controllers (and each one's token store to the identity service, its
//! control store to the control API), and closed together after serving.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use nova_compute::ServerStore;
use nova_control::ControlStore;
use nova_controller::StoreError;
use nova_identity::TokenStore;

use crate::{open_store, OpenError, OpenStore, StoreUrl};

/// One store a configuration asks for: an instance app's `store` and `seed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRequest {
    /// Where the instances are kept.
    pub url: StoreUrl,
    /// Whether a store that opening creates gets the seed's three instances.
    /// A store that exists already is never seeded.
    pub seed: bool,
}

/// The open stores of a configuration, one per distinct URL.
///
/// Two URLs are the same store when they are equal after
/// [`StoreUrl::resolved`]: `sqlite:nova.db`, `sqlite:./nova.db` and
/// `sqlite:/srv/nova/nova.db` (run from `/srv/nova`) are one file, opened
/// once, so two instance apps naming it share one writer and one set of
/// instances. `memory:` is one store, however often it is named.
///
/// Each store also keeps the identity service's token keys and revoked
/// tokens: [`Stores::token_store`] hands out the [`TokenStore`] on the
/// same database, so identity services sharing a database share their
/// keys and revocations. Likewise the control API's behaviours and clock:
/// [`Stores::control_store`] hands out the [`ControlStore`] on the same
/// database.
///
/// A clone shares the same stores (it costs three `Arc`s per store); closing
/// any clone closes them for all.
///
/// ```
/// use std::sync::Arc;
/// use nova_identity::TokenStore;
/// use nova_store::{StoreRequest, StoreUrl, Stores};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let file: StoreUrl = format!("sqlite:{}", dir.path().join("nova.db").display()).parse().unwrap();
/// let memory: StoreUrl = "memory:".parse().unwrap();
/// let stores = Stores::open([
///     StoreRequest { url: file.clone(), seed: true },
///     StoreRequest { url: memory.clone(), seed: false },
///     StoreRequest { url: file.clone(), seed: false }, // the same file: opened once
/// ])
/// .await
/// .unwrap();
/// assert_eq!(stores.len(), 2);
///
/// // Each instance app gets the store its URL names.
/// let durable = stores.get(&file).unwrap();
/// assert_eq!(durable.list().await.unwrap().len(), 3); // the first request seeded it
/// assert!(stores.get(&memory).unwrap().list().await.unwrap().is_empty());
/// assert!(Arc::ptr_eq(&durable, &stores.get(&file).unwrap()));
///
/// // The identity service gets the token store in the same file.
/// let tokens = stores.token_store(&file).unwrap();
/// let keys = tokens.token_keys().await.unwrap(); // made on first asking
/// assert_eq!(tokens.token_keys().await.unwrap(), keys);
///
/// // The control API gets the behaviours and clock in the same file.
/// let control = stores.control_store(&file).unwrap();
/// assert_eq!(control.advance_clock(1_000_000).await.unwrap(), 1_000_000);
///
/// // After serving: everything written is committed and the file released.
/// stores.close().await.unwrap();
/// # });
/// ```
#[derive(Clone)]
pub struct Stores {
    /// Each store under its resolved URL, in the order first asked for. A
    /// configuration names a handful of stores, so a list searched from the
    /// front is all the index needed.
    open: Vec<(StoreUrl, OpenStore)>,
}

impl fmt::Debug for Stores {
    /// The URLs only, passwords hidden (see [`StoreUrl`]'s `Display`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("urls", &self.urls().collect::<Vec<_>>())
            .finish()
    }
}

impl Stores {
    /// Opens the store of every distinct URL in `requests`, each once, and
    /// logs where instances are kept.
    ///
    /// When several requests name one store, the first of them decides
    /// `seed`; the later ones share what it opened. Every URL is
    /// [checked](StoreUrl::check) before any store is opened, so a URL this
    /// build cannot open leaves no file or connection behind. If a store then
    /// fails to open, the ones opened before it are closed and its
    /// [`OpenError`] is returned: all the stores are opened, or none stays
    /// open.
    pub async fn open(
        requests: impl IntoIterator<Item = StoreRequest>,
    ) -> Result<Stores, OpenError> {
        Self::open_with(requests, |url, seed| {
            let url = url.clone();
            async move { open_store(&url, seed).await }
        })
        .await
    }

    /// [`Stores::open`] with the function that opens one store handed in,
    /// so tests can watch what happens to stores opened before a failure.
    async fn open_with<F, Opening>(
        requests: impl IntoIterator<Item = StoreRequest>,
        open_one: F,
    ) -> Result<Stores, OpenError>
    where
        F: Fn(&StoreUrl, bool) -> Opening,
        Opening: Future<Output = Result<OpenStore, OpenError>>,
    {
        let mut wanted: Vec<StoreRequest> = Vec::new();
        for StoreRequest { url, seed } in requests {
            let url = url.resolved();
            if !wanted.iter().any(|request| request.url == url) {
                wanted.push(StoreRequest { url, seed });
            }
        }
        for request in &wanted {
            request.url.check()?;
        }
        let mut stores = Stores {
            open: Vec::with_capacity(wanted.len()),
        };
        for StoreRequest { url, seed } in wanted {
            match open_one(&url, seed).await {
                Ok(store) => {
                    tracing::info!("instances are kept in {url}");
                    stores.open.push((url, store));
                }
                Err(error) => {
                    // The open error is what the caller reports; a store
                    // that also fails to close can only be logged.
                    if let Err(failures) = stores.close().await {
                        for failure in failures {
                            tracing::warn!(%failure, "while giving up opening the instance stores");
                        }
                    }
                    return Err(error);
                }
            }
        }
        Ok(stores)
    }

    /// The store `url` names, if it was opened; `url` is resolved as
    /// [`Stores::open`] resolves the requests, so any spelling of an opened
    /// store finds it.
    pub fn get(&self, url: &StoreUrl) -> Option<Arc<dyn ServerStore>> {
        self.find(url).map(|store| store.servers.clone())
    }

    /// The token store of the store `url` names, if it was opened (found
    /// as [`Stores::get`] finds it): on the same database, through the same
    /// connections, as that store's servers; for `memory:`, a
    /// [`MemoryTokenStore`](nova_identity::MemoryTokenStore) that lives as
    /// long as the memory store. A durable one is closed with its store
    /// ([`Stores::close`]): after that it refuses every change.
    pub fn token_store(&self, url: &StoreUrl) -> Option<Arc<dyn TokenStore>> {
        self.find(url).map(|store| store.tokens.clone())
    }

    /// The control store of the store `url` names, if it was opened (found
    /// as [`Stores::get`] finds it): the control API's behaviours and
    /// controlled clock, on the same database, through the same
    /// connections, as that store's servers; for `memory:`, a
    /// [`MemoryControl`](nova_control::MemoryControl) that lives as long as
    /// the memory store, one for every app naming it. A durable one is
    /// closed with its store ([`Stores::close`]): after that it refuses
    /// every change.
    pub fn control_store(&self, url: &StoreUrl) -> Option<Arc<dyn ControlStore>> {
        self.find(url).map(|store| store.control.clone())
    }

    fn find(&self, url: &StoreUrl) -> Option<&OpenStore> {
        let url = url.clone().resolved();
        self.open
            .iter()
            .find(|(open, _)| *open == url)
            .map(|(_, store)| store)
    }

    /// The resolved URL of every open store, in the order first asked for.
    pub fn urls(&self) -> impl ExactSizeIterator<Item = &StoreUrl> + '_ {
        self.open.iter().map(|(url, _)| url)
    }

    /// How many stores are open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether no store is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Closes every store: finishes and commits what was asked of it,
    /// releases its files and connections (see
    /// [`InstanceStore::close`](nova_controller::InstanceStore::close)).
    /// Every store is closed even when one fails; the error lists each
    /// failure.
    pub async fn close(self) -> Result<(), CloseErrors> {
        let mut failures = Vec::new();
        // A durable store's token and control stores are the same object
        // as its servers, so closing the servers closes them; the memory
        // ones have nothing to close.
        for (url, store) in self.open {
            if let Err(error) = store.servers.close().await {
                failures.push(CloseError { url, error });
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(CloseErrors(failures))
        }
    }
}

/// One store that [`Stores::close`] could not close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("closing {url} failed: {error}")]
#[non_exhaustive]
pub struct CloseError {
    /// The store, as resolved; its `Display` hides any password.
    pub url: StoreUrl,
    /// What the store said.
    pub error: StoreError,
}

/// Every store that [`Stores::close`] could not close, at least one; iterate
/// it to report one line per store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct CloseErrors(Vec<CloseError>);

impl CloseErrors {
    /// The failures, in the order the stores were opened.
    pub fn failures(&self) -> &[CloseError] {
        &self.0
    }

    /// Each failure, in the order the stores were opened.
    pub fn iter(&self) -> std::slice::Iter<'_, CloseError> {
        self.0.iter()
    }
}

impl IntoIterator for CloseErrors {
    type Item = CloseError;
    type IntoIter = std::vec::IntoIter<CloseError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a CloseErrors {
    type Item = &'a CloseError;
    type IntoIter = std::slice::Iter<'a, CloseError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests;
