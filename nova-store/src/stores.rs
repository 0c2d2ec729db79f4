//! The stores of one configuration: asked for by the instance apps of a
//! paste.deploy file, opened once per distinct URL before serving, handed to
//! the controllers, and closed together after serving.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use nova_controller::{InstanceStore, StoreError};

use crate::{open_seeding, OpenError, StoreUrl};

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
/// A clone shares the same stores (it costs one `Arc` per store); closing
/// any clone closes them for all.
///
/// ```
/// use std::sync::Arc;
/// use nova_controller::InstanceStore;
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
/// // After serving: everything written is committed and the file released.
/// stores.close().await.unwrap();
/// # });
/// ```
#[derive(Clone)]
pub struct Stores {
    /// Each store under its resolved URL, in the order first asked for. A
    /// configuration names a handful of stores, so a list searched from the
    /// front is all the index needed.
    open: Vec<(StoreUrl, Arc<dyn InstanceStore>)>,
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
            async move { open_seeding(&url, seed).await }
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
        Opening: Future<Output = Result<Arc<dyn InstanceStore>, OpenError>>,
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
    pub fn get(&self, url: &StoreUrl) -> Option<Arc<dyn InstanceStore>> {
        let url = url.clone().resolved();
        self.open
            .iter()
            .find(|(open, _)| *open == url)
            .map(|(_, store)| store.clone())
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
    /// releases its files and connections (see [`InstanceStore::close`]).
    /// Every store is closed even when one fails; the error lists each
    /// failure.
    pub async fn close(self) -> Result<(), CloseErrors> {
        let mut failures = Vec::new();
        for (url, store) in self.open {
            if let Err(error) = store.close().await {
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
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    use nova_controller::{Change, IfMatch, Instance, StoreFuture};
    use uuid::Uuid;

    use super::*;

    fn url(text: &str) -> StoreUrl {
        text.parse().unwrap()
    }

    fn sqlite(path: &Path) -> StoreUrl {
        StoreUrl::Sqlite(path.to_path_buf())
    }

    fn request(url: StoreUrl, seed: bool) -> StoreRequest {
        StoreRequest { url, seed }
    }

    /// A store that only records being closed, and closes as it is told.
    struct Watched {
        closed: AtomicBool,
        close_fails: bool,
    }

    impl Watched {
        fn new(close_fails: bool) -> Arc<Self> {
            Arc::new(Watched {
                closed: AtomicBool::new(false),
                close_fails,
            })
        }
    }

    fn boom<T: Send + 'static>() -> StoreFuture<'static, T> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable {
            reason: "boom".to_owned(),
        })))
    }

    impl InstanceStore for Watched {
        fn list(&self) -> StoreFuture<'_, Vec<Instance>> {
            boom()
        }
        fn insert(&self, _: Instance) -> StoreFuture<'_, ()> {
            boom()
        }
        fn get(&self, _: Uuid) -> StoreFuture<'_, Option<Instance>> {
            boom()
        }
        fn rename(&self, _: Uuid, _: String, _: IfMatch) -> StoreFuture<'_, Change<Instance>> {
            boom()
        }
        fn delete(&self, _: Uuid, _: IfMatch) -> StoreFuture<'_, Change<()>> {
            boom()
        }
        fn close(&self) -> StoreFuture<'_, ()> {
            self.closed.store(true, Ordering::SeqCst);
            if self.close_fails {
                boom()
            } else {
                Box::pin(std::future::ready(Ok(())))
            }
        }
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn one_file_spelled_relatively_and_absolutely_is_opened_once() {
        // Relative paths resolve against the working directory, so the
        // file has to be below it (a `..` is kept by resolving, and would
        // name the file differently).
        let here = std::env::current_dir().unwrap();
        let dir = tempfile::tempdir_in(&here).unwrap();
        let name = dir.path().file_name().unwrap().to_str().unwrap();
        let spellings = [
            url(&format!("sqlite:{name}/nova.db")),
            url(&format!("sqlite:./{name}/nova.db")),
            sqlite(&dir.path().join("nova.db")),
        ];
        let stores = Stores::open(spellings.iter().map(|url| request(url.clone(), true)))
            .await
            .unwrap();
        assert_eq!(stores.len(), 1, "{stores:?}");
        assert_eq!(
            stores.urls().collect::<Vec<_>>(),
            [&sqlite(&dir.path().join("nova.db"))]
        );
        let first = stores.get(&spellings[0]).unwrap();
        for spelling in &spellings {
            assert!(
                Arc::ptr_eq(&first, &stores.get(spelling).unwrap()),
                "{spelling}"
            );
        }
        assert_eq!(first.list().await.unwrap().len(), 3);
        stores.close().await.unwrap();
    }

    #[tokio::test]
    async fn memory_named_twice_is_one_store_seeded_as_the_first_request_says() {
        let stores = Stores::open([
            request(StoreUrl::Memory, false),
            request(url("memory"), true),
        ])
        .await
        .unwrap();
        assert_eq!(stores.len(), 1);
        let store = stores.get(&url("memory:")).unwrap();
        assert!(Arc::ptr_eq(&store, &stores.get(&StoreUrl::Memory).unwrap()));
        assert_eq!(store.list().await.unwrap(), []);
        stores.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_store_not_asked_for_is_not_there() {
        let stores = Stores::open([request(StoreUrl::Memory, true)])
            .await
            .unwrap();
        assert!(stores.get(&url("sqlite:elsewhere.db")).is_none());
        let none = Stores::open([]).await.unwrap();
        assert!(none.is_empty());
        none.close().await.unwrap();
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_store_that_cannot_be_opened_fails_the_lot_and_closes_the_ones_opened() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_database = dir.path().join("notes.txt");
        std::fs::write(
            &not_a_database,
            "these are not the instances you are looking for\n",
        )
        .unwrap();
        let missing_dir = dir.path().join("no-such-dir").join("nova.db");
        for (n, broken) in [missing_dir, not_a_database].into_iter().enumerate() {
            let first = dir.path().join(format!("first-{n}.db"));
            let result = Stores::open([
                request(sqlite(&first), true),
                request(sqlite(&broken), true),
            ])
            .await;
            match result {
                Err(OpenError::Sqlite { path, .. }) => assert_eq!(path, broken),
                other => panic!("{broken:?}: {other:?}"),
            }
            // Closed, not just dropped: its WAL was folded back into the
            // file and removed before the error was returned.
            let wal = format!("{}-wal", first.display());
            assert!(!Path::new(&wal).exists(), "{wal} is still there");
            let reopened = crate::open(&sqlite(&first)).await.unwrap();
            assert_eq!(reopened.list().await.unwrap().len(), 3);
            reopened.close().await.unwrap();
        }
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn the_stores_opened_before_a_failure_are_closed_even_if_one_cannot_be() {
        let fine = Watched::new(false);
        let stuck = Watched::new(true);
        let opened = [fine.clone(), stuck.clone()];
        let result = Stores::open_with(
            [
                request(url("sqlite:a.db"), true),
                request(url("sqlite:b.db"), true),
                request(url("sqlite:c.db"), true),
            ],
            |url, _| {
                let store: Result<Arc<dyn InstanceStore>, OpenError> =
                    match url.to_string().rsplit('/').next() {
                        Some("a.db") => Ok(opened[0].clone()),
                        Some("b.db") => Ok(opened[1].clone()),
                        _ => Err(OpenError::DriverNotBuilt("c")),
                    };
                std::future::ready(store)
            },
        )
        .await;
        assert!(matches!(result, Err(OpenError::DriverNotBuilt("c"))));
        assert!(fine.closed.load(Ordering::SeqCst));
        assert!(stuck.closed.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn close_closes_every_store_and_reports_each_that_failed() {
        let stuck = Watched::new(true);
        let fine = Watched::new(false);
        let secret = url("postgres://nova:s3cret@db/nova");
        let stores = Stores {
            open: vec![
                (secret.clone(), stuck.clone()),
                (StoreUrl::Memory, fine.clone()),
                (url("sqlite:/x.db"), Watched::new(true)),
            ],
        };
        assert!(!format!("{stores:?}").contains("s3cret"), "{stores:?}");
        let failures = stores.close().await.unwrap_err();
        assert!(stuck.closed.load(Ordering::SeqCst) && fine.closed.load(Ordering::SeqCst));
        let lines: Vec<String> = failures.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "closing postgres://nova:***@db/nova failed: the instance store is unavailable: boom",
                "closing sqlite:/x.db failed: the instance store is unavailable: boom",
            ]
        );
        assert_eq!(failures.to_string(), lines.join("; "));
        assert_eq!(failures.failures()[0].url, secret);
        assert!(matches!(
            failures.failures()[1].error,
            StoreError::Unavailable { .. }
        ));
    }

    #[test]
    fn check_says_which_drivers_this_build_has_without_opening_anything() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nova.db");
        assert!(StoreUrl::Memory.check().is_ok());
        let sqlite_check = sqlite(&file).check();
        #[cfg(feature = "sqlite")]
        assert!(sqlite_check.is_ok(), "{sqlite_check:?}");
        #[cfg(not(feature = "sqlite"))]
        assert!(
            matches!(sqlite_check, Err(OpenError::DriverNotBuilt("sqlite"))),
            "{sqlite_check:?}"
        );
        assert!(!file.exists());
        let postgres_check = url("postgres://nova:s3cret@127.0.0.1:1/nova").check();
        #[cfg(feature = "postgres")]
        assert!(postgres_check.is_ok(), "{postgres_check:?}");
        #[cfg(not(feature = "postgres"))]
        assert!(
            matches!(postgres_check, Err(OpenError::DriverNotBuilt("postgres"))),
            "{postgres_check:?}"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn check_refuses_a_postgres_url_the_driver_cannot_read_without_showing_the_password() {
        let refused = url("postgres://nova:s3cret@db:port/nova").check();
        match refused {
            Err(error @ OpenError::Postgres { .. }) => {
                let message = error.to_string();
                assert!(
                    message.contains("postgres://nova:***@db:port/nova"),
                    "{message}"
                );
                assert!(!message.contains("s3cret"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn a_driver_not_built_is_refused_before_any_store_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nova.db");
        let result = Stores::open([
            request(sqlite(&file), true),
            request(url("postgres://nova@db/nova"), true),
        ])
        .await;
        assert!(matches!(result, Err(OpenError::DriverNotBuilt("postgres"))));
        assert!(!file.exists(), "the SQLite file was created");
    }

    #[test]
    fn opening_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        let opening = Stores::open(Vec::<StoreRequest>::new());
        assert_send(&opening);
        let closing = Stores { open: Vec::new() }.close();
        assert_send(&closing);
    }
}
