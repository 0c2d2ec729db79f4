//! Tests of the `stores` module, beside it: they reach its private items.

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
