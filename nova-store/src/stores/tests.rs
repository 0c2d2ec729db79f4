//! Tests of the `stores` module, beside it: they reach its private items.
//! Then the compute API's side of every store [`crate::open`] makes,
//! memory, SQLite and PostgreSQL: one suite run against each, and each
//! durable store's upgrade from the seed's schema and its handling of a
//! damaged details document. Then the identity service's token store of
//! each: a suite, and PostgreSQL shared by two processes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use nova_compute::{
    FlavorSnapshot, Image, ImageScope, ImageStore, Keypair, KeypairCreate, KeypairStore,
    KeypairType, QuotaLimit, QuotaStore, Server, ServerChange, ServerDetails, ServerScope,
    ServerUpdate, Visibility,
};
use nova_control::{Behavior, ControlStore, MemoryControl, NewBehavior};
use nova_controller::{Change, IfMatch, Instance, InstanceStore, StoreFuture, Timestamp};
use nova_identity::{MemoryTokenStore, TokenStore};
use nova_router::Fault;
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

/// `store` as [`Stores`] keeps it, with token and control stores of its
/// own.
fn opened(store: Arc<Watched>) -> OpenStore {
    OpenStore {
        servers: store,
        tokens: Arc::new(MemoryTokenStore::new()),
        control: Arc::new(MemoryControl::new()),
    }
}

impl ServerStore for Watched {
    fn create_servers(&self, _: Vec<Server>) -> StoreFuture<'_, ()> {
        boom()
    }
    fn server(&self, _: Uuid) -> StoreFuture<'_, Option<Server>> {
        boom()
    }
    fn servers(&self, _: ServerScope) -> StoreFuture<'_, Vec<Server>> {
        boom()
    }
    fn update_server(&self, _: Uuid, _: IfMatch, _: ServerChange) -> StoreFuture<'_, ServerUpdate> {
        boom()
    }
}

impl ImageStore for Watched {
    fn create_image(&self, _: Image) -> StoreFuture<'_, ()> {
        boom()
    }
    fn image(&self, _: Uuid) -> StoreFuture<'_, Option<Image>> {
        boom()
    }
    fn images(&self, _: ImageScope) -> StoreFuture<'_, Vec<Image>> {
        boom()
    }
    fn delete_image(&self, _: Uuid) -> StoreFuture<'_, bool> {
        boom()
    }
}

impl KeypairStore for Watched {
    fn create_keypair(&self, _: Keypair, _: i64) -> StoreFuture<'_, KeypairCreate> {
        boom()
    }
    fn keypair(&self, _: String, _: String) -> StoreFuture<'_, Option<Keypair>> {
        boom()
    }
    fn keypairs(&self, _: String) -> StoreFuture<'_, Vec<Keypair>> {
        boom()
    }
    fn delete_keypair(&self, _: String, _: String) -> StoreFuture<'_, bool> {
        boom()
    }
}

impl QuotaStore for Watched {
    fn quota_limits(&self, _: String) -> StoreFuture<'_, Vec<QuotaLimit>> {
        boom()
    }
    fn set_quota_limits(
        &self,
        _: String,
        _: Option<String>,
        _: Vec<(String, i64)>,
    ) -> StoreFuture<'_, ()> {
        boom()
    }
    fn delete_quota_limits(&self, _: String, _: Option<String>) -> StoreFuture<'_, ()> {
        boom()
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
    let watched = [fine.clone(), stuck.clone()];
    let result = Stores::open_with(
        [
            request(url("sqlite:a.db"), true),
            request(url("sqlite:b.db"), true),
            request(url("sqlite:c.db"), true),
        ],
        |url, _| {
            let store = match url.to_string().rsplit('/').next() {
                Some("a.db") => Ok(opened(watched[0].clone())),
                Some("b.db") => Ok(opened(watched[1].clone())),
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
            (secret.clone(), opened(stuck.clone())),
            (StoreUrl::Memory, opened(fine.clone())),
            (url("sqlite:/x.db"), opened(Watched::new(true))),
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

// ---- the compute API's side of every store ----

#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

/// Where one test keeps its store, removed with it.
struct Location {
    url: StoreUrl,
    _dir: Option<tempfile::TempDir>,
}

impl Location {
    /// A new, empty location; `None` when PostgreSQL is not configured on
    /// a developer's machine.
    async fn new(backend: Backend) -> Option<Location> {
        Some(match backend {
            Backend::Memory => Location {
                url: StoreUrl::Memory,
                _dir: None,
            },
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Location {
                    url: sqlite(&dir.path().join("nova.db")),
                    _dir: Some(dir),
                }
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => Location {
                url: StoreUrl::Postgres(test_postgres::fresh_database().await?),
                _dir: None,
            },
        })
    }

    async fn open(&self) -> Arc<dyn ServerStore> {
        crate::open(&self.url).await.unwrap()
    }
}

/// A server as the compute API creates one: in a project, with details.
fn new_server(name: &str, project: &str) -> Server {
    let instance = Instance::new(name);
    let flavor = FlavorSnapshot {
        id: "1".to_owned(),
        name: "m1.tiny".to_owned(),
        vcpus: 1,
        ram: 512,
        disk: 1,
        ..FlavorSnapshot::default()
    };
    let mut details = ServerDetails::for_instance(&instance, flavor, "cirros");
    details.user_id = "alice".to_owned();
    details.metadata.insert("role".to_owned(), "web".to_owned());
    details.tags = vec!["a".to_owned(), "b".to_owned()];
    Server {
        project_id: project.to_owned(),
        details: Some(std::sync::Arc::new(details)),
        ..Server::from_instance(instance)
    }
}

fn change(apply: impl FnOnce(&mut Server) + Send + 'static) -> ServerChange {
    Box::new(move |server| {
        apply(server);
        Ok(())
    })
}

fn applied(update: ServerUpdate) -> Server {
    match update {
        ServerUpdate::Applied(server) => server,
        other => panic!("not applied: {other:?}"),
    }
}

fn names(servers: &[Server]) -> Vec<&str> {
    servers.iter().map(|s| s.name.as_str()).collect()
}

fn scope(projects: Option<&[&str]>, include_deleted: bool) -> ServerScope {
    ServerScope {
        projects: projects.map(|p| p.iter().map(|&p| p.to_owned()).collect()),
        include_deleted,
    }
}

async fn the_seeds_instances_are_servers_without_details(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let servers = store.servers(ServerScope::default()).await.unwrap();
    assert_eq!(names(&servers), ["inst-0", "inst-1", "inst-2"]);
    let instances = store.list().await.unwrap();
    for (server, instance) in servers.iter().zip(&instances) {
        assert_eq!(&server.instance(), instance);
        assert_eq!(
            (
                server.project_id.as_str(),
                server.deleted_at,
                &server.details
            ),
            ("", None, &None)
        );
    }
    // One created through the seed's API is a server too.
    let created = Instance::new("seeded-later");
    store.insert(created.clone()).await.unwrap();
    let found = store.server(created.id).await.unwrap();
    assert_eq!(found, Some(Server::from_instance(created)));
    store.close().await.unwrap();
}

async fn a_server_reads_back_as_it_was_created_and_changed(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let web = new_server("web", "p1");
    store.create_servers(vec![web.clone()]).await.unwrap();
    assert_eq!(store.server(web.id).await.unwrap().as_ref(), Some(&web));
    let later = web.created_at.plus_micros(1_500_000);
    let changed = applied(
        store
            .update_server(
                web.id,
                IfMatch::Versions(vec![1]),
                change(move |s| {
                    s.name = "web-2".to_owned();
                    s.updated_at = later;
                    let details =
                        std::sync::Arc::make_mut(s.details.get_or_insert_with(Default::default));
                    details
                        .metadata
                        .insert("tier".to_owned(), "front".to_owned());
                    details.description = Some("the front end".to_owned());
                }),
            )
            .await
            .unwrap(),
    );
    assert_eq!((changed.version, changed.updated_at), (2, later));
    assert_eq!(store.server(web.id).await.unwrap().as_ref(), Some(&changed));
    // The seed's API sees the same row.
    assert_eq!(store.get(web.id).await.unwrap(), Some(changed.instance()));
    store.close().await.unwrap();
    if location.url != StoreUrl::Memory {
        let reopened = location.open().await;
        assert_eq!(reopened.server(web.id).await.unwrap(), Some(changed));
        reopened.close().await.unwrap();
    }
}

async fn the_seeds_api_does_not_see_a_server_deleted_through_the_compute_api(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let (kept, gone) = (new_server("kept", "p1"), new_server("gone", "p1"));
    store
        .create_servers(vec![kept.clone(), gone.clone()])
        .await
        .unwrap();
    let now = Timestamp::now();
    let deleted = applied(
        store
            .update_server(
                gone.id,
                IfMatch::Any,
                change(move |s| s.deleted_at = Some(now)),
            )
            .await
            .unwrap(),
    );
    let listed: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(listed, ["inst-0", "inst-1", "inst-2", "kept"]);
    assert_eq!(store.get(gone.id).await.unwrap(), None);
    assert_eq!(
        store
            .rename(gone.id, "back".to_owned(), IfMatch::Any)
            .await
            .unwrap(),
        Change::NotFound
    );
    assert_eq!(
        store.delete(gone.id, IfMatch::Any).await.unwrap(),
        Change::NotFound
    );
    // Its id stays taken, and the compute API still has it.
    let again = Instance {
        id: gone.id,
        ..Instance::new("again")
    };
    assert_eq!(
        store.insert(again).await,
        Err(StoreError::DuplicateId { id: gone.id })
    );
    assert_eq!(store.server(gone.id).await.unwrap(), Some(deleted.clone()));
    let p1 = Some(&["p1"][..]);
    assert_eq!(
        names(&store.servers(scope(p1, false)).await.unwrap()),
        ["kept"]
    );
    assert_eq!(
        store.servers(scope(p1, true)).await.unwrap(),
        [kept.clone(), deleted]
    );
    // The seed's API deletes what it sees, for good.
    assert_eq!(
        store.delete(kept.id, IfMatch::Any).await.unwrap(),
        Change::Applied(())
    );
    assert_eq!(store.server(kept.id).await.unwrap(), None);
    store.close().await.unwrap();
}

type ScopeCase = (
    Option<&'static [&'static str]>,
    bool,
    &'static [&'static str],
);

async fn servers_are_listed_by_scope_in_creation_order(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let servers = vec![
        new_server("a1", "a"),
        new_server("b1", "b"),
        new_server("a2", "a"),
        new_server("c1", "c"),
    ];
    store.create_servers(servers.clone()).await.unwrap();
    let now = Timestamp::now();
    applied(
        store
            .update_server(
                servers[2].id,
                IfMatch::Any,
                change(move |s| s.deleted_at = Some(now)),
            )
            .await
            .unwrap(),
    );
    // (projects, include_deleted, the names listed)
    let table: [ScopeCase; 7] = [
        (
            None,
            false,
            &["inst-0", "inst-1", "inst-2", "a1", "b1", "c1"],
        ),
        (
            None,
            true,
            &["inst-0", "inst-1", "inst-2", "a1", "b1", "a2", "c1"],
        ),
        (Some(&["a"]), false, &["a1"]),
        (Some(&["a"]), true, &["a1", "a2"]),
        (Some(&["c", "b"]), false, &["b1", "c1"]),
        (Some(&[""]), false, &["inst-0", "inst-1", "inst-2"]),
        (Some(&[]), true, &[]),
    ];
    for (projects, include_deleted, expected) in table {
        let found = store
            .servers(scope(projects, include_deleted))
            .await
            .unwrap();
        assert_eq!(names(&found), expected, "{projects:?} {include_deleted}");
        // A visit sees the same servers, in the same order.
        let mut visited = Vec::new();
        let mut visit = |server: &Server| visited.push(server.clone());
        store
            .visit_servers(scope(projects, include_deleted), &mut visit)
            .await
            .unwrap();
        assert_eq!(visited, found, "visited {projects:?} {include_deleted}");
    }
    store.close().await.unwrap();
}

async fn creating_servers_is_all_or_nothing(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let a = new_server("a", "p");
    store.create_servers(vec![a.clone()]).await.unwrap();
    let b = new_server("b", "p");
    let clash = Server {
        name: "a-again".to_owned(),
        ..a.clone()
    };
    assert_eq!(
        store.create_servers(vec![b.clone(), clash]).await,
        Err(StoreError::DuplicateId { id: a.id })
    );
    assert_eq!(store.server(b.id).await.unwrap(), None);
    assert_eq!(store.server(a.id).await.unwrap(), Some(a));
    store.create_servers(vec![b.clone()]).await.unwrap();
    assert_eq!(store.server(b.id).await.unwrap(), Some(b));
    store.close().await.unwrap();
}

async fn a_refused_or_stale_change_changes_nothing(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let a = new_server("a", "p");
    store.create_servers(vec![a.clone()]).await.unwrap();
    let refused = store
        .update_server(
            a.id,
            IfMatch::Any,
            Box::new(|s| {
                s.name = "changed".to_owned();
                s.deleted_at = Some(Timestamp::now());
                Err(Fault::bad_request("not now"))
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        refused,
        ServerUpdate::Refused(Fault::bad_request("not now"))
    );
    let stale = store
        .update_server(
            a.id,
            IfMatch::Versions(vec![2]),
            change(|s| s.name = "x".into()),
        )
        .await
        .unwrap();
    assert_eq!(stale, ServerUpdate::VersionMismatch { current: 1 });
    let unknown = store
        .update_server(Uuid::new_v4(), IfMatch::Any, change(|_| {}))
        .await
        .unwrap();
    assert_eq!(unknown, ServerUpdate::NotFound);
    assert_eq!(store.server(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.get(a.id).await.unwrap(), Some(a.instance()));
    store.close().await.unwrap();
}

async fn concurrent_changes_each_apply_to_the_row_as_stored(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let counted = new_server("counted", "p");
    store.create_servers(vec![counted.clone()]).await.unwrap();
    let id = counted.id;
    // Each change reads the count and writes it plus one: a change that
    // saw a stale row would lose another's increment.
    let increments: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let increment = change(|s| {
                    let details =
                        std::sync::Arc::make_mut(s.details.get_or_insert_with(Default::default));
                    let count: u32 = details
                        .metadata
                        .get("count")
                        .map_or(0, |n| n.parse().unwrap());
                    details
                        .metadata
                        .insert("count".to_owned(), (count + 1).to_string());
                });
                applied(
                    store
                        .update_server(id, IfMatch::Any, increment)
                        .await
                        .unwrap(),
                )
                .version
            })
        })
        .collect();
    let renames: Vec<_> = (0..10)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .rename(id, format!("renamed-{n}"), IfMatch::Any)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in increments {
        versions.push(task.await.unwrap());
    }
    for task in renames {
        match task.await.unwrap() {
            Change::Applied(instance) => versions.push(instance.version),
            other => panic!("{other:?}"),
        }
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=51).collect::<Vec<u64>>(),
        "every version once"
    );
    let after = store.server(id).await.unwrap().unwrap();
    assert_eq!(after.version, 51);
    let details = after.details.unwrap();
    assert_eq!(details.metadata["count"], "40");
    assert_eq!(details.metadata["role"], "web", "the rest is kept");
    store.close().await.unwrap();
}

async fn the_generation_moves_on_at_every_server_change(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let Some(start) = store.generation() else {
        // PostgreSQL is shared with other processes: it never claims to know.
        assert!(
            matches!(location.url, StoreUrl::Postgres(_)),
            "{} cannot tell",
            location.url
        );
        store.close().await.unwrap();
        return;
    };
    let a = new_server("a", "p");
    store.create_servers(vec![a.clone()]).await.unwrap();
    let created = store.generation().unwrap();
    assert_ne!(created, start);
    let now = Timestamp::now();
    applied(
        store
            .update_server(
                a.id,
                IfMatch::Any,
                change(move |s| s.deleted_at = Some(now)),
            )
            .await
            .unwrap(),
    );
    assert_ne!(store.generation().unwrap(), created);
    store.close().await.unwrap();
}

/// A snapshot of `owner`'s, as `createImage` stores one: private, or
/// shared with `members`.
fn new_image(name: &str, owner: &str, members: &[&str]) -> Image {
    let now = Timestamp::now();
    let mut image = Image::named(name);
    image.id = Uuid::new_v4();
    image.owner = owner.to_owned();
    image.created_at = now;
    image.active_at = now.plus_micros(2_000_000);
    image.protected = false;
    image.members = members.iter().map(|&m| m.to_owned()).collect();
    image.visibility = if members.is_empty() {
        Visibility::Private
    } else {
        Visibility::Shared
    };
    image
        .properties
        .insert("image_type".to_owned(), "snapshot".to_owned());
    image
}

fn image_names(images: &[Image]) -> Vec<&str> {
    images.iter().map(|i| i.name.as_str()).collect()
}

async fn images_read_back_and_are_listed_to_the_projects_that_may_see_them(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    assert!(store
        .images(ImageScope::default())
        .await
        .unwrap()
        .is_empty());
    let images = [
        new_image("p1-own", "p1", &[]),
        new_image("p1-shared", "p1", &["p2"]),
        new_image("p2-own", "p2", &[]),
    ];
    for image in &images {
        store.create_image(image.clone()).await.unwrap();
    }
    for image in &images {
        assert_eq!(store.image(image.id).await.unwrap().as_ref(), Some(image));
    }
    assert_eq!(store.image(Uuid::new_v4()).await.unwrap(), None);
    // (the project looking, the names listed)
    let table: [(Option<&str>, &[&str]); 4] = [
        (None, &["p1-own", "p1-shared", "p2-own"]),
        (Some("p1"), &["p1-own", "p1-shared"]),
        (Some("p2"), &["p1-shared", "p2-own"]),
        (Some("p3"), &[]),
    ];
    for (project, expected) in table {
        let scope = ImageScope {
            project: project.map(str::to_owned),
        };
        let found = store.images(scope).await.unwrap();
        assert_eq!(image_names(&found), expected, "{project:?}");
    }
    let clash = Image {
        name: "again".to_owned(),
        ..images[0].clone()
    };
    assert_eq!(
        store.create_image(clash).await,
        Err(StoreError::DuplicateId { id: images[0].id })
    );
    assert!(store.delete_image(images[0].id).await.unwrap());
    assert!(!store.delete_image(images[0].id).await.unwrap());
    assert_eq!(store.image(images[0].id).await.unwrap(), None);
    // Images are not servers, and servers not images.
    assert_eq!(store.server(images[1].id).await.unwrap(), None);
    assert_eq!(store.list().await.unwrap().len(), 3);
    store.close().await.unwrap();
    if location.url != StoreUrl::Memory {
        let reopened = location.open().await;
        let kept = reopened.images(ImageScope::default()).await.unwrap();
        assert_eq!(kept, images[1..]);
        reopened.close().await.unwrap();
    }
}

async fn concurrent_images_are_all_kept(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let image = new_image(&format!("snap-{n}"), "p", &[]);
                store.create_image(image.clone()).await.unwrap();
                image.id
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    let listed = store.images(ImageScope::default()).await.unwrap();
    assert_eq!(listed.len(), 40);
    for id in ids {
        assert!(listed.iter().any(|image| image.id == id), "{id}");
    }
    store.close().await.unwrap();
}

fn new_keypair(user: &str, name: &str) -> Keypair {
    Keypair {
        id: 0,
        user_id: user.to_owned(),
        name: name.to_owned(),
        kind: KeypairType::Ssh,
        public_key: format!("ssh-ed25519 AAAA {name}"),
        fingerprint: "00:11".to_owned(),
        created_at: Timestamp::from_unix_micros(1_800_000_000_123_456).unwrap(),
    }
}

fn created(outcome: KeypairCreate) -> Keypair {
    match outcome {
        KeypairCreate::Created(keypair) => keypair,
        other => panic!("not created: {other:?}"),
    }
}

fn keypair_names(keypairs: &[Keypair]) -> Vec<&str> {
    keypairs.iter().map(|k| k.name.as_str()).collect()
}

async fn keypairs_are_per_user_named_once_and_held_to_a_limit(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let b = created(
        store
            .create_keypair(new_keypair("u1", "b"), 3)
            .await
            .unwrap(),
    );
    let a = created(
        store
            .create_keypair(new_keypair("u1", "a"), 3)
            .await
            .unwrap(),
    );
    assert!(a.id > 0 && b.id > 0 && a.id != b.id);
    assert_eq!(
        Keypair { id: 0, ..a.clone() },
        new_keypair("u1", "a"),
        "stored as given, with an id"
    );
    // Another user may use the same name; the same user may not.
    created(
        store
            .create_keypair(new_keypair("u2", "a"), 3)
            .await
            .unwrap(),
    );
    assert_eq!(
        store
            .create_keypair(new_keypair("u1", "a"), 3)
            .await
            .unwrap(),
        KeypairCreate::Exists
    );
    created(
        store
            .create_keypair(new_keypair("u1", "c"), 3)
            .await
            .unwrap(),
    );
    assert_eq!(
        store
            .create_keypair(new_keypair("u1", "d"), 3)
            .await
            .unwrap(),
        KeypairCreate::OverQuota
    );
    created(
        store
            .create_keypair(new_keypair("u1", "d"), -1)
            .await
            .unwrap(),
    );
    let mine = store.keypairs("u1".into()).await.unwrap();
    assert_eq!(
        keypair_names(&mine),
        ["a", "b", "c", "d"],
        "ordered by name"
    );
    assert_eq!(
        store.keypair("u1".into(), "a".into()).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.keypair("u3".into(), "a".into()).await.unwrap(), None);
    assert!(store.delete_keypair("u1".into(), "a".into()).await.unwrap());
    assert!(!store.delete_keypair("u1".into(), "a".into()).await.unwrap());
    assert_eq!(store.keypair("u1".into(), "a".into()).await.unwrap(), None);
    assert_eq!(store.keypairs("u2".into()).await.unwrap().len(), 1);
    store.close().await.unwrap();
    if !matches!(backend, Backend::Memory) {
        // Durable: the same rows after a reopen.
        let store = location.open().await;
        let kept = store.keypairs("u1".into()).await.unwrap();
        assert_eq!(keypair_names(&kept), ["b", "c", "d"]);
        assert_eq!(kept[0], b);
        store.close().await.unwrap();
    }
}

async fn concurrent_keypair_creates_never_pass_the_limit(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_keypair(new_keypair("u", &format!("k{n:02}")), 7)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut kept = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), KeypairCreate::Created(_)) {
            kept += 1;
        }
    }
    assert_eq!(kept, 7);
    assert_eq!(store.keypairs("u".into()).await.unwrap().len(), 7);
    store.close().await.unwrap();
}

fn sorted_limits(mut limits: Vec<QuotaLimit>) -> Vec<(Option<String>, String, i64)> {
    limits.sort_by(|a, b| (&a.user_id, &a.resource).cmp(&(&b.user_id, &b.resource)));
    limits
        .into_iter()
        .map(|l| (l.user_id, l.resource, l.hard_limit))
        .collect()
}

async fn quota_limits_are_set_replaced_and_deleted_per_project_and_user(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let store = location.open().await;
    let set = |user: Option<&str>, limits: &[(&str, i64)]| {
        let limits = limits.iter().map(|(r, l)| ((*r).to_owned(), *l)).collect();
        store.set_quota_limits("p1".into(), user.map(str::to_owned), limits)
    };
    set(None, &[("cores", 40), ("instances", 5)]).await.unwrap();
    set(None, &[("cores", 45)]).await.unwrap();
    set(Some("u1"), &[("instances", 2), ("ram", -1)])
        .await
        .unwrap();
    store
        .set_quota_limits("p2".into(), None, vec![("cores".into(), 1)])
        .await
        .unwrap();
    let expected = vec![
        (None, "cores".to_owned(), 45),
        (None, "instances".to_owned(), 5),
        (Some("u1".to_owned()), "instances".to_owned(), 2),
        (Some("u1".to_owned()), "ram".to_owned(), -1),
    ];
    assert_eq!(
        sorted_limits(store.quota_limits("p1".into()).await.unwrap()),
        expected
    );
    store.close().await.unwrap();
    let store = if matches!(backend, Backend::Memory) {
        store
    } else {
        // Durable: the same limits after a reopen.
        let store = location.open().await;
        assert_eq!(
            sorted_limits(store.quota_limits("p1".into()).await.unwrap()),
            expected
        );
        store
    };
    store
        .delete_quota_limits("p1".into(), Some("u1".into()))
        .await
        .unwrap();
    assert_eq!(
        sorted_limits(store.quota_limits("p1".into()).await.unwrap()),
        expected[..2].to_vec()
    );
    store
        .set_quota_limits("p1".into(), Some("u2".into()), vec![("cores".into(), 3)])
        .await
        .unwrap();
    // A project's delete takes its users' limits too, and only its own.
    store.delete_quota_limits("p1".into(), None).await.unwrap();
    assert!(store.quota_limits("p1".into()).await.unwrap().is_empty());
    assert_eq!(store.quota_limits("p2".into()).await.unwrap().len(), 1);
    store.close().await.unwrap();
}

/// One test per backend for each suite function, in a module per backend.
macro_rules! suite {
    ($memory:ident, $sqlite:ident, $postgres:ident: $($test:ident),* $(,)?) => {
        mod $memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(super::Backend::Memory).await;
                }
            )*
        }
        #[cfg(feature = "sqlite")]
        mod $sqlite {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(super::Backend::Sqlite).await;
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod $postgres {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

suite!(
    memory_servers, sqlite_servers, postgres_servers:
    the_seeds_instances_are_servers_without_details,
    a_server_reads_back_as_it_was_created_and_changed,
    the_seeds_api_does_not_see_a_server_deleted_through_the_compute_api,
    servers_are_listed_by_scope_in_creation_order,
    creating_servers_is_all_or_nothing,
    a_refused_or_stale_change_changes_nothing,
    concurrent_changes_each_apply_to_the_row_as_stored,
    the_generation_moves_on_at_every_server_change,
    images_read_back_and_are_listed_to_the_projects_that_may_see_them,
    concurrent_images_are_all_kept,
    keypairs_are_per_user_named_once_and_held_to_a_limit,
    concurrent_keypair_creates_never_pass_the_limit,
    quota_limits_are_set_replaced_and_deleted_per_project_and_user,
);

// ---- upgrades and damage, per durable store ----

/// What a store upgraded from version 1 must show of the instance that
/// version wrote: the seed's instance, as a server without details.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_upgraded(url: &StoreUrl, old: &Instance) {
    let store = crate::open(url).await.unwrap();
    assert_eq!(
        store.list().await.unwrap(),
        std::slice::from_ref(old),
        "not seeded again"
    );
    assert_eq!(
        store.servers(scope(None, true)).await.unwrap(),
        [Server::from_instance(old.clone())]
    );
    // The upgraded rows take the compute API's changes.
    let now = Timestamp::now();
    let changed = applied(
        store
            .update_server(
                old.id,
                IfMatch::Versions(vec![4]),
                change(move |s| s.deleted_at = Some(now)),
            )
            .await
            .unwrap(),
    );
    assert_eq!(changed.version, 5);
    assert!(store.list().await.unwrap().is_empty());
    // And it keeps images.
    let image = new_image("snap", "p", &[]);
    store.create_image(image.clone()).await.unwrap();
    assert_eq!(store.image(image.id).await.unwrap(), Some(image));
    store.close().await.unwrap();
}

/// What a store must answer once the details document of `id` is not
/// JSON: the compute API's reads and changes of it are `Corrupt`, and the
/// store goes on working.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_corrupt(store: Arc<dyn ServerStore>, id: Uuid) {
    let corrupt = |result: Result<_, StoreError>| match result {
        Err(StoreError::Corrupt { reason }) => assert!(reason.contains("details"), "{reason}"),
        other => panic!("{other:?}"),
    };
    corrupt(store.server(id).await.map(drop));
    corrupt(store.servers(ServerScope::default()).await.map(drop));
    corrupt(
        store
            .visit_servers(ServerScope::default(), &mut |_: &Server| {})
            .await,
    );
    corrupt(
        store
            .update_server(id, IfMatch::Any, change(|s| s.name = "x".into()))
            .await
            .map(drop),
    );
    // The seed's columns are readable, so its API still is.
    assert_eq!(store.get(id).await.unwrap().unwrap().name, "damaged");
    let fine = new_server("fine", "p");
    store.create_servers(vec![fine.clone()]).await.unwrap();
    assert_eq!(store.server(fine.id).await.unwrap(), Some(fine));
    store.close().await.unwrap();
}

/// What a store must answer once the document of the image `id` is not
/// JSON: reading it, or a listing holding it, is `Corrupt`, and the store
/// goes on keeping servers and other images.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_image_corrupt(store: Arc<dyn ServerStore>, id: Uuid) {
    let corrupt = |result: Result<(), StoreError>| match result {
        Err(StoreError::Corrupt { reason }) => {
            assert!(reason.contains(&format!("image {id}")), "{reason}");
        }
        other => panic!("{other:?}"),
    };
    corrupt(store.image(id).await.map(drop));
    corrupt(store.images(ImageScope::default()).await.map(drop));
    // Another project's listing does not read it, so does not fail.
    let elsewhere = ImageScope {
        project: Some("elsewhere".to_owned()),
    };
    assert_eq!(store.images(elsewhere).await.unwrap(), []);
    let fine = new_image("fine", "p", &[]);
    store.create_image(fine.clone()).await.unwrap();
    assert_eq!(store.image(fine.id).await.unwrap(), Some(fine));
    assert!(store.delete_image(id).await.unwrap());
    assert_eq!(store.images(ImageScope::default()).await.unwrap().len(), 1);
    store.close().await.unwrap();
}

/// A server as version 2 stored it, with its details document.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn version_2_server() -> (Server, String) {
    let server = new_server("v2", "p");
    let details = serde_json::to_string(server.details.as_deref().unwrap()).unwrap();
    (server, details)
}

/// What a store upgraded from version 2 must show: the server that
/// version wrote, unchanged, and a place for images.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_upgraded_from_version_2(url: &StoreUrl, old: &Server) {
    let store = crate::open(url).await.unwrap();
    assert_eq!(store.server(old.id).await.unwrap().as_ref(), Some(old));
    assert_eq!(store.list().await.unwrap(), [old.instance()], "not seeded");
    assert!(store
        .images(ImageScope::default())
        .await
        .unwrap()
        .is_empty());
    let image = new_image("snap", "p", &[]);
    store.create_image(image.clone()).await.unwrap();
    store.close().await.unwrap();
    let reopened = crate::open(url).await.unwrap();
    assert_eq!(reopened.image(image.id).await.unwrap(), Some(image));
    reopened.close().await.unwrap();
}

/// An instance as version 1 stored it: already renamed thrice.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn old_instance() -> Instance {
    let created = Timestamp::from_unix_micros(1_795_942_800_123_456).unwrap();
    Instance {
        name: "old".to_owned(),
        created_at: created,
        updated_at: created.plus_micros(7),
        version: 4,
        ..Instance::new("old")
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_version_1_sqlite_file_opens_with_its_instances_as_servers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let old = old_instance();
    {
        // The schema version 1 wrote, by hand.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE instances (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at_us INTEGER NOT NULL,
                    updated_at_us INTEGER NOT NULL,
                    version INTEGER NOT NULL
                );
                PRAGMA user_version = 1;",
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO instances (id, name, created_at_us, updated_at_us, version)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    old.id.to_string(),
                    old.name,
                    old.created_at.unix_micros(),
                    old.updated_at.unix_micros(),
                    4
                ],
            )
            .unwrap();
    }
    assert_upgraded(&sqlite(&path), &old).await;
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, crate::SCHEMA_VERSION);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_damaged_details_document_in_sqlite_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let store = crate::open(&sqlite(&path)).await.unwrap();
    let damaged = new_server("damaged", "p");
    store.create_servers(vec![damaged.clone()]).await.unwrap();
    // Damaged while no store has the file open: an open store owns it and
    // answers reads from what it committed.
    store.close().await.unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute(
            "UPDATE instances SET details = '{\"metadata\": [' WHERE id = ?1",
            [damaged.id.to_string()],
        )
        .unwrap();
    drop(connection);
    assert_corrupt(crate::open(&sqlite(&path)).await.unwrap(), damaged.id).await;
}

/// What reading one row answers, through each read: `Ok` with what it
/// finds, or the word a `Corrupt` reason carries.
#[cfg(feature = "sqlite")]
#[derive(Debug, PartialEq)]
struct Reads {
    get: Result<bool, &'static str>,
    list: Result<usize, &'static str>,
    server: Result<bool, &'static str>,
    servers: Result<usize, &'static str>,
    servers_with_deleted: Result<usize, &'static str>,
}

// A SQLite store answers reads from the rows it read at open; a row
// damaged outside nova-rs must answer each read as the query on the file
// did: the reads that select it fail with Corrupt, the others go on.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_sqlite_row_damaged_outside_nova_rs_answers_each_read_as_the_file_does() {
    fn word(reason: &str) -> &'static str {
        ["bad id", "bad created_at", "bad deleted_at", "bad details"]
            .into_iter()
            .find(|word| reason.contains(word))
            .unwrap_or("another reason")
    }
    fn read<T>(result: Result<T, StoreError>) -> Result<T, &'static str> {
        result.map_err(|error| match error {
            StoreError::Corrupt { reason } => word(&reason),
            other => panic!("{other:?}"),
        })
    }
    let too_late = i64::MAX;
    // (damage, what each read answers); the store also holds one good row.
    let table = [
        (
            "UPDATE instances SET id = 'not-a-uuid' WHERE id = ?1".to_owned(),
            Reads {
                get: Ok(false),
                list: Err("bad id"),
                server: Ok(false),
                servers: Err("bad id"),
                servers_with_deleted: Err("bad id"),
            },
        ),
        (
            format!("UPDATE instances SET created_at_us = {too_late} WHERE id = ?1"),
            Reads {
                get: Err("bad created_at"),
                list: Err("bad created_at"),
                server: Err("bad created_at"),
                servers: Err("bad created_at"),
                servers_with_deleted: Err("bad created_at"),
            },
        ),
        (
            format!("UPDATE instances SET deleted_at_us = {too_late} WHERE id = ?1"),
            Reads {
                get: Ok(false),
                list: Ok(1),
                server: Err("bad deleted_at"),
                servers: Ok(1),
                servers_with_deleted: Err("bad deleted_at"),
            },
        ),
        (
            "UPDATE instances SET details = '[' WHERE id = ?1".to_owned(),
            Reads {
                get: Ok(true),
                list: Ok(2),
                server: Err("bad details"),
                servers: Err("bad details"),
                servers_with_deleted: Err("bad details"),
            },
        ),
    ];
    for (damage, expected) in table {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nova.db");
        let url = sqlite(&path);
        let store = Stores::open([request(url.clone(), false)]).await.unwrap();
        let servers = store.get(&url).unwrap();
        let (damaged, good) = (new_server("damaged", "p"), new_server("good", "p"));
        servers
            .create_servers(vec![damaged.clone(), good.clone()])
            .await
            .unwrap();
        store.close().await.unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute(&damage, [damaged.id.to_string()])
            .unwrap();
        drop(connection);

        let store = crate::open(&url).await.unwrap();
        let reads = Reads {
            get: read(store.get(damaged.id).await).map(|found| found.is_some()),
            list: read(store.list().await).map(|found| found.len()),
            server: read(store.server(damaged.id).await).map(|found| found.is_some()),
            servers: read(store.servers(scope(None, false)).await).map(|found| found.len()),
            servers_with_deleted: read(store.servers(scope(None, true)).await)
                .map(|found| found.len()),
        };
        assert_eq!(reads, expected, "{damage}");
        // The good row reads, and the store takes changes.
        assert_eq!(store.server(good.id).await.unwrap(), Some(good.clone()));
        let other = new_server("other", "q");
        store.create_servers(vec![other.clone()]).await.unwrap();
        let in_q = store.servers(scope(Some(&["q"]), true)).await.unwrap();
        assert_eq!(in_q, [other]);
        store.close().await.unwrap();
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_version_2_sqlite_file_opens_with_its_servers_and_takes_images() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let (old, details) = version_2_server();
    {
        // The schema version 2 wrote, by hand.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE instances (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at_us INTEGER NOT NULL,
                    updated_at_us INTEGER NOT NULL,
                    version INTEGER NOT NULL
                );
                ALTER TABLE instances ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
                ALTER TABLE instances ADD COLUMN deleted_at_us INTEGER;
                ALTER TABLE instances ADD COLUMN details TEXT;
                PRAGMA user_version = 2;",
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO instances
                     (id, name, created_at_us, updated_at_us, version, project_id, details)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
                rusqlite::params![
                    old.id.to_string(),
                    old.name,
                    old.created_at.unix_micros(),
                    old.updated_at.unix_micros(),
                    old.project_id,
                    details,
                ],
            )
            .unwrap();
    }
    assert_upgraded_from_version_2(&sqlite(&path), &old).await;
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, crate::SCHEMA_VERSION);
}

/// What a store upgraded from version 4 must show: its server as it was,
/// and key pairs and quota limits kept from then on.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_upgraded_from_version_4(url: &StoreUrl, old: &Server) {
    let store = crate::open(url).await.unwrap();
    assert_eq!(store.server(old.id).await.unwrap().as_ref(), Some(old));
    created(
        store
            .create_keypair(new_keypair("u", "k"), -1)
            .await
            .unwrap(),
    );
    store
        .set_quota_limits("p".into(), None, vec![("cores".into(), 4)])
        .await
        .unwrap();
    store.close().await.unwrap();
    let store = crate::open(url).await.unwrap();
    assert_eq!(store.keypairs("u".into()).await.unwrap().len(), 1);
    assert_eq!(store.quota_limits("p".into()).await.unwrap().len(), 1);
    store.close().await.unwrap();
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_version_4_sqlite_file_opens_with_its_servers_and_keeps_keypairs_and_quotas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let old = new_server("kept", "p");
    {
        let store = crate::open(&sqlite(&path)).await.unwrap();
        store.create_servers(vec![old.clone()]).await.unwrap();
        store.close().await.unwrap();
    }
    {
        // Versions 5 and 6 only added tables: without them, and so
        // marked, the file is what version 4 wrote.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "DROP TABLE keypairs; DROP TABLE quotas;
                 DROP TABLE behaviors; DROP TABLE control_clock;
                 PRAGMA user_version = 4;",
            )
            .unwrap();
    }
    assert_upgraded_from_version_4(&sqlite(&path), &old).await;
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, crate::SCHEMA_VERSION);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_damaged_image_document_in_sqlite_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let store = crate::open(&sqlite(&path)).await.unwrap();
    let damaged = new_image("damaged", "p", &[]);
    store.create_image(damaged.clone()).await.unwrap();
    // Damaged while no store has the file open, as above.
    store.close().await.unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute(
            "UPDATE images SET document = '{\"name\": [' WHERE id = ?1",
            [damaged.id.to_string()],
        )
        .unwrap();
    drop(connection);
    assert_image_corrupt(crate::open(&sqlite(&path)).await.unwrap(), damaged.id).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_version_1_postgres_database_opens_with_its_instances_as_servers() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let old = old_instance();
    test_postgres::execute(
        &url,
        &format!(
            "CREATE TABLE nova_schema (version integer NOT NULL);
             INSERT INTO nova_schema (version) VALUES (1);
             CREATE TABLE instances (
                 seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 id uuid NOT NULL UNIQUE,
                 name text NOT NULL,
                 created_at timestamptz NOT NULL,
                 updated_at timestamptz NOT NULL,
                 version bigint NOT NULL
             );
             INSERT INTO instances (id, name, created_at, updated_at, version)
             VALUES ('{}', '{}', '{}', '{}', 4);",
            old.id, old.name, old.created_at, old.updated_at
        ),
    )
    .await;
    assert_upgraded(&StoreUrl::Postgres(url.clone()), &old).await;
    test_postgres::execute(
        &url,
        &format!(
            "DO $$ BEGIN
                 IF (SELECT max(version) FROM nova_schema) <> {} THEN
                     RAISE EXCEPTION 'not upgraded';
                 END IF;
             END $$;",
            crate::SCHEMA_VERSION
        ),
    )
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_damaged_details_document_in_postgres_is_corrupt() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let store = crate::open(&StoreUrl::Postgres(url.clone())).await.unwrap();
    let damaged = new_server("damaged", "p");
    store.create_servers(vec![damaged.clone()]).await.unwrap();
    test_postgres::execute(
        &url,
        &format!(
            "UPDATE instances SET details = '{{\"metadata\": [' WHERE id = '{}'",
            damaged.id
        ),
    )
    .await;
    assert_corrupt(store, damaged.id).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_version_2_postgres_database_opens_with_its_servers_and_takes_images() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let (old, details) = version_2_server();
    test_postgres::execute(
        &url,
        &format!(
            "CREATE TABLE nova_schema (version integer NOT NULL);
             INSERT INTO nova_schema (version) VALUES (2);
             CREATE TABLE instances (
                 seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 id uuid NOT NULL UNIQUE,
                 name text NOT NULL,
                 created_at timestamptz NOT NULL,
                 updated_at timestamptz NOT NULL,
                 version bigint NOT NULL
             );
             ALTER TABLE instances
                 ADD COLUMN project_id text NOT NULL DEFAULT '',
                 ADD COLUMN deleted_at timestamptz,
                 ADD COLUMN details text;
             INSERT INTO instances (id, name, created_at, updated_at, version, project_id, details)
             VALUES ('{}', '{}', '{}', '{}', 1, '{}', '{}');",
            old.id,
            old.name,
            old.created_at,
            old.updated_at,
            old.project_id,
            details.replace('\'', "''"),
        ),
    )
    .await;
    assert_upgraded_from_version_2(&StoreUrl::Postgres(url.clone()), &old).await;
    test_postgres::execute(
        &url,
        &format!(
            "DO $$ BEGIN
                 IF (SELECT max(version) FROM nova_schema) <> {} THEN
                     RAISE EXCEPTION 'not upgraded';
                 END IF;
             END $$;",
            crate::SCHEMA_VERSION
        ),
    )
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_version_4_postgres_database_opens_with_its_servers_and_keeps_keypairs_and_quotas() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let store_url = StoreUrl::Postgres(url.clone());
    let old = new_server("kept", "p");
    {
        let store = crate::open(&store_url).await.unwrap();
        store.create_servers(vec![old.clone()]).await.unwrap();
        store.close().await.unwrap();
    }
    // Versions 5 and 6 only added tables: without them, and so marked,
    // the database is what version 4 wrote.
    test_postgres::execute(
        &url,
        "DROP TABLE keypairs; DROP TABLE quotas;
         DROP TABLE behaviors; DROP TABLE control_clock;
         UPDATE nova_schema SET version = 4;",
    )
    .await;
    assert_upgraded_from_version_4(&store_url, &old).await;
    test_postgres::execute(
        &url,
        &format!(
            "DO $$ BEGIN
                 IF (SELECT max(version) FROM nova_schema) <> {} THEN
                     RAISE EXCEPTION 'not upgraded';
                 END IF;
             END $$;",
            crate::SCHEMA_VERSION
        ),
    )
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_damaged_image_document_in_postgres_is_corrupt() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let store = crate::open(&StoreUrl::Postgres(url.clone())).await.unwrap();
    let damaged = new_image("damaged", "p", &[]);
    store.create_image(damaged.clone()).await.unwrap();
    test_postgres::execute(
        &url,
        &format!(
            "UPDATE images SET document = '{{\"name\": [' WHERE id = '{}'",
            damaged.id
        ),
    )
    .await;
    assert_image_corrupt(store, damaged.id).await;
}

// ---- the identity service's token store ----

/// The store `url` names opened as a configuration opens it, and its
/// token store.
async fn open_tokens(url: &StoreUrl) -> (Stores, Arc<dyn TokenStore>) {
    let stores = Stores::open([request(url.clone(), true)]).await.unwrap();
    let tokens = stores.token_store(url).unwrap();
    (stores, tokens)
}

fn at(second: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(second).unwrap()
}

async fn the_token_key_is_made_once_and_kept(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let (stores, tokens) = open_tokens(&location.url).await;
    // Asked at once by many requests of a new store: one key for all.
    let askers: Vec<_> = (0..8)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token_keys().await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for asker in askers {
        answers.push(asker.await.unwrap());
    }
    let keys = answers[0].clone();
    assert_eq!(keys.len(), 1);
    // 32 bytes in base64url with its padding, as Fernet writes a key.
    assert_eq!((keys[0].len(), keys[0].ends_with('=')), (44, true));
    assert!(answers.iter().all(|answer| *answer == keys), "{answers:?}");
    assert_eq!(tokens.token_keys().await.unwrap(), keys, "asked again");
    stores.close().await.unwrap();
    if location.url != StoreUrl::Memory {
        let (reopened, tokens) = open_tokens(&location.url).await;
        assert_eq!(tokens.token_keys().await.unwrap(), keys, "reopened");
        reopened.close().await.unwrap();
    }
}

async fn revocations_are_kept_until_their_tokens_have_expired(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let durable = location.url != StoreUrl::Memory;
    let (stores, tokens) = open_tokens(&location.url).await;
    tokens
        .revoke_token("expires-at-100", at(100))
        .await
        .unwrap();
    let half_past_150 = jiff::Timestamp::from_millisecond(150_500).unwrap();
    tokens
        .revoke_token("expires-at-150.5", half_past_150)
        .await
        .unwrap();
    tokens
        .revoke_token("expires-at-200", at(200))
        .await
        .unwrap();
    tokens.revoke_token("revoked-twice", at(100)).await.unwrap();
    tokens.revoke_token("revoked-twice", at(300)).await.unwrap();
    if durable {
        // An earlier expiry does not cut a revocation short.
        tokens.revoke_token("revoked-twice", at(120)).await.unwrap();
    }
    assert!(tokens.is_token_revoked("expires-at-100").await.unwrap());
    assert!(!tokens.is_token_revoked("never-revoked").await.unwrap());
    // Stores keeping whole seconds must not forget a token expiring at
    // 150.5 at 150.2.
    let just_after_150 = jiff::Timestamp::from_millisecond(150_200).unwrap();
    tokens
        .forget_expired_revocations(just_after_150)
        .await
        .unwrap();
    // (audit id, still revoked)
    let table = [
        ("expires-at-100", false),
        ("expires-at-150.5", true),
        ("expires-at-200", true),
        ("revoked-twice", true),
    ];
    for (audit_id, revoked) in table {
        assert_eq!(
            tokens.is_token_revoked(audit_id).await.unwrap(),
            revoked,
            "{audit_id}"
        );
    }
    stores.close().await.unwrap();
    if durable {
        let (reopened, tokens) = open_tokens(&location.url).await;
        assert!(tokens.is_token_revoked("expires-at-200").await.unwrap());
        assert!(!tokens.is_token_revoked("expires-at-100").await.unwrap());
        tokens.forget_expired_revocations(at(250)).await.unwrap();
        assert!(!tokens.is_token_revoked("expires-at-200").await.unwrap());
        assert!(tokens.is_token_revoked("revoked-twice").await.unwrap());
        reopened.close().await.unwrap();
    }
}

suite!(
    memory_tokens, sqlite_tokens, postgres_tokens:
    the_token_key_is_made_once_and_kept,
    revocations_are_kept_until_their_tokens_have_expired,
);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_token_store_of_a_url_is_that_of_the_store_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let file = sqlite(&dir.path().join("nova.db"));
    let stores = Stores::open([request(file.clone(), true), request(url("memory"), true)])
        .await
        .unwrap();
    let durable = stores.token_store(&file).unwrap();
    // The very store that keeps the file's servers: one writer, one set
    // of connections.
    let servers = stores.get(&file).unwrap();
    assert_eq!(
        Arc::as_ptr(&durable).cast::<()>(),
        Arc::as_ptr(&servers).cast::<()>()
    );
    let memory = stores.token_store(&StoreUrl::Memory).unwrap();
    assert!(Arc::ptr_eq(
        &memory,
        &stores.token_store(&url("memory:")).unwrap()
    ));
    assert!(stores.token_store(&url("sqlite:elsewhere.db")).is_none());
    // Two stores: two keys, two sets of revocations.
    let memory_keys = memory.token_keys().await.unwrap();
    assert_ne!(durable.token_keys().await.unwrap(), memory_keys);
    durable.revoke_token("in-the-file", at(100)).await.unwrap();
    assert!(!memory.is_token_revoked("in-the-file").await.unwrap());
    stores.close().await.unwrap();
    // Closed with its store.
    assert!(durable.revoke_token("late", at(100)).await.is_err());
    // Another memory store is another key.
    let again = Stores::open([request(StoreUrl::Memory, true)])
        .await
        .unwrap();
    let other = again.token_store(&StoreUrl::Memory).unwrap();
    assert_ne!(other.token_keys().await.unwrap(), memory_keys);
    again.close().await.unwrap();
}

/// Two processes starting at once on one new database: each opens the
/// store and asks for the keys at the same time, and both get the same
/// single key. Answers both processes' stores, still open.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_two_processes_share_one_key(url: &StoreUrl) -> [(Stores, Arc<dyn TokenStore>); 2] {
    let (first, second) = tokio::join!(open_tokens(url), open_tokens(url));
    let (first_keys, second_keys) = tokio::join!(first.1.token_keys(), second.1.token_keys());
    let keys = first_keys.unwrap();
    assert_eq!(keys.len(), 1, "one key kept");
    assert_eq!(second_keys.unwrap(), keys);
    [first, second]
}

// One SQLite file is for one process: each store answers reads from the
// rows it committed, so two processes on one file would not see each
// other's revocations. Even so, a second process started on the file by
// mistake does not make a key of its own: the first key is kept under the
// file's write lock.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread")]
async fn two_processes_starting_at_once_on_one_sqlite_file_share_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&dir.path().join("nova.db"));
    for (stores, _) in assert_two_processes_share_one_key(&url).await {
        stores.close().await.unwrap();
    }
}

/// Processes sharing a PostgreSQL database share one key, and a
/// revocation through one is seen by the other at once.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn two_processes_starting_at_once_on_one_postgres_database_share_one_key() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let [(first_stores, first), (second_stores, second)] =
        assert_two_processes_share_one_key(&StoreUrl::Postgres(url)).await;
    first.revoke_token("revoked-by-one", at(200)).await.unwrap();
    assert!(second.is_token_revoked("revoked-by-one").await.unwrap());
    second.forget_expired_revocations(at(300)).await.unwrap();
    assert!(!first.is_token_revoked("revoked-by-one").await.unwrap());
    first_stores.close().await.unwrap();
    second_stores.close().await.unwrap();
}

/// A server and an image as version 3 stored them, with their documents.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn version_3_rows() -> (Server, String, Image, String) {
    let (server, details) = version_2_server();
    let image = new_image("v3-snap", "p", &[]);
    let document = serde_json::to_string(&image).unwrap();
    (server, details, image, document)
}

/// What a store upgraded from version 3 must show: what that version
/// wrote, unchanged, and a token store that keeps its key and
/// revocations.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_upgraded_from_version_3(url: &StoreUrl, old: &Server, image: &Image) {
    let (stores, tokens) = open_tokens(url).await;
    let store = stores.get(url).unwrap();
    assert_eq!(store.server(old.id).await.unwrap().as_ref(), Some(old));
    assert_eq!(store.list().await.unwrap(), [old.instance()], "not seeded");
    assert_eq!(store.image(image.id).await.unwrap().as_ref(), Some(image));
    let keys = tokens.token_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    tokens
        .revoke_token("after-the-upgrade", at(4_000_000_000))
        .await
        .unwrap();
    stores.close().await.unwrap();
    let (reopened, tokens) = open_tokens(url).await;
    assert_eq!(tokens.token_keys().await.unwrap(), keys);
    assert!(tokens.is_token_revoked("after-the-upgrade").await.unwrap());
    reopened.close().await.unwrap();
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_version_3_sqlite_file_opens_with_its_servers_and_images_and_keeps_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let (old, details, image, document) = version_3_rows();
    {
        // The schema version 3 wrote, by hand.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE instances (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at_us INTEGER NOT NULL,
                    updated_at_us INTEGER NOT NULL,
                    version INTEGER NOT NULL
                );
                ALTER TABLE instances ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
                ALTER TABLE instances ADD COLUMN deleted_at_us INTEGER;
                ALTER TABLE instances ADD COLUMN details TEXT;
                CREATE TABLE images (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    owner TEXT NOT NULL,
                    visibility TEXT NOT NULL,
                    document TEXT NOT NULL
                );
                CREATE INDEX images_by_owner ON images (owner);
                PRAGMA user_version = 3;",
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO instances
                     (id, name, created_at_us, updated_at_us, version, project_id, details)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
                rusqlite::params![
                    old.id.to_string(),
                    old.name,
                    old.created_at.unix_micros(),
                    old.updated_at.unix_micros(),
                    old.project_id,
                    details,
                ],
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO images (id, owner, visibility, document) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    image.id.to_string(),
                    image.owner,
                    image.visibility.as_str(),
                    document,
                ],
            )
            .unwrap();
    }
    assert_upgraded_from_version_3(&sqlite(&path), &old, &image).await;
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, crate::SCHEMA_VERSION);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_version_3_postgres_database_opens_with_its_servers_and_images_and_keeps_tokens() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let (old, details, image, document) = version_3_rows();
    test_postgres::execute(
        &url,
        &format!(
            "CREATE TABLE nova_schema (version integer NOT NULL);
             INSERT INTO nova_schema (version) VALUES (3);
             CREATE TABLE instances (
                 seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 id uuid NOT NULL UNIQUE,
                 name text NOT NULL,
                 created_at timestamptz NOT NULL,
                 updated_at timestamptz NOT NULL,
                 version bigint NOT NULL
             );
             ALTER TABLE instances
                 ADD COLUMN project_id text NOT NULL DEFAULT '',
                 ADD COLUMN deleted_at timestamptz,
                 ADD COLUMN details text;
             CREATE TABLE images (
                 seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 id uuid NOT NULL UNIQUE,
                 owner text NOT NULL,
                 visibility text NOT NULL,
                 document text NOT NULL
             );
             CREATE INDEX images_by_owner ON images (owner);
             INSERT INTO instances (id, name, created_at, updated_at, version, project_id, details)
             VALUES ('{}', '{}', '{}', '{}', 1, '{}', '{}');
             INSERT INTO images (id, owner, visibility, document)
             VALUES ('{}', '{}', '{}', '{}');",
            old.id,
            old.name,
            old.created_at,
            old.updated_at,
            old.project_id,
            details.replace('\'', "''"),
            image.id,
            image.owner,
            image.visibility.as_str(),
            document.replace('\'', "''"),
        ),
    )
    .await;
    assert_upgraded_from_version_3(&StoreUrl::Postgres(url.clone()), &old, &image).await;
    test_postgres::execute(
        &url,
        &format!(
            "DO $$ BEGIN
                 IF (SELECT max(version) FROM nova_schema) <> {} THEN
                     RAISE EXCEPTION 'not upgraded';
                 END IF;
             END $$;",
            crate::SCHEMA_VERSION
        ),
    )
    .await;
}

// ---- the control API's store ----

/// The store `url` names opened as a configuration opens it, and its
/// control store.
async fn open_control(url: &StoreUrl) -> (Stores, Arc<dyn ControlStore>) {
    let stores = Stores::open([request(url.clone(), true)]).await.unwrap();
    let control = stores.control_store(url).unwrap();
    (stores, control)
}

/// A behaviour as the control API makes one from `body`, with `times`.
fn new_behavior(body: &str, times: Option<u64>) -> Behavior {
    let mut behavior = NewBehavior::from_json(body.as_bytes())
        .unwrap()
        .validate()
        .unwrap();
    behavior.times = times;
    behavior
}

/// Behaviours of every kind of criteria and of several effects, so that
/// a durable store's document is seen to keep each: the first may fire
/// twice, the second until removed, the third once.
fn three_behaviors() -> [Behavior; 3] {
    [
        new_behavior(
            r#"{"event": "server.create",
                "match": {"name": "^db-", "metadata": {"tier": "db"}, "project": "p"},
                "behavior": {"fail": {"status": 503, "message": "nope", "retry_after": 2}}}"#,
            Some(2),
        ),
        new_behavior(
            r#"{"event": "api", "match": {"method": "GET", "path": "/servers/{id}"},
                "behavior": {"delay": {"ms": 250}}}"#,
            None,
        ),
        new_behavior(
            r#"{"event": "server.build", "behavior": {"error": {"after_seconds": 1.5}}}"#,
            Some(1),
        ),
    ]
}

fn behavior_ids(behaviors: &[Behavior]) -> Vec<&str> {
    behaviors.iter().map(|b| b.id.as_str()).collect()
}

/// A durable store's control store after a close and reopen; a memory
/// one as it was (closing it changes nothing).
async fn reopened_control(
    location: &Location,
    (stores, control): (Stores, Arc<dyn ControlStore>),
) -> (Stores, Arc<dyn ControlStore>) {
    if location.url == StoreUrl::Memory {
        return (stores, control);
    }
    stores.close().await.unwrap();
    open_control(&location.url).await
}

async fn behaviors_are_listed_in_the_order_added_and_removed_one_or_all(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let (stores, control) = open_control(&location.url).await;
    assert!(control.behaviors().await.unwrap().is_empty());
    let [a, b, c] = three_behaviors();
    for behavior in [&a, &b, &c] {
        control.add_behavior(behavior.clone()).await.unwrap();
    }
    assert_eq!(
        control.behaviors().await.unwrap(),
        [a.clone(), b.clone(), c.clone()]
    );
    assert!(control.remove_behavior(b.id.clone()).await.unwrap());
    assert!(
        !control.remove_behavior(b.id.clone()).await.unwrap(),
        "gone"
    );
    let unknown = Uuid::new_v4().to_string();
    assert!(!control.remove_behavior(unknown).await.unwrap());
    let d = new_behavior(
        r#"{"event": "server.delete", "behavior": {"stuck": {}}}"#,
        None,
    );
    control.add_behavior(d.clone()).await.unwrap();
    let kept = [a, c, d];
    assert_eq!(control.behaviors().await.unwrap(), kept);
    // Durable: the same behaviours, in the same order, after a reopen.
    let (stores, control) = reopened_control(&location, (stores, control)).await;
    assert_eq!(control.behaviors().await.unwrap(), kept);
    assert_eq!(
        control.remove_behaviors().await.unwrap(),
        behavior_ids(&kept)
    );
    assert!(control.behaviors().await.unwrap().is_empty());
    assert!(control.remove_behaviors().await.unwrap().is_empty());
    let (stores, control) = reopened_control(&location, (stores, control)).await;
    assert!(control.behaviors().await.unwrap().is_empty());
    stores.close().await.unwrap();
}

async fn a_behavior_fires_its_times_and_then_no_more(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let (stores, control) = open_control(&location.url).await;
    let [twice, forever, _] = three_behaviors();
    control.add_behavior(twice.clone()).await.unwrap();
    control.add_behavior(forever.clone()).await.unwrap();
    let fire = |behavior: &Behavior| control.fire_behavior(behavior.id.clone());
    assert!(fire(&twice).await.unwrap());
    assert!(fire(&twice).await.unwrap());
    assert!(!fire(&twice).await.unwrap(), "its two firings are spent");
    assert!(!fire(&twice).await.unwrap());
    for _ in 0..50 {
        assert!(fire(&forever).await.unwrap(), "times: None never expires");
    }
    let unknown = Uuid::new_v4().to_string();
    assert!(!control.fire_behavior(unknown).await.unwrap());
    let counts = |listed: Vec<Behavior>| -> Vec<(u64, bool)> {
        listed.iter().map(|b| (b.fired, b.is_active())).collect()
    };
    assert_eq!(
        counts(control.behaviors().await.unwrap()),
        [(2, false), (50, true)]
    );
    // Durable: the counts after a reopen, and an expired behaviour stays
    // expired.
    let (stores, control) = reopened_control(&location, (stores, control)).await;
    assert_eq!(
        counts(control.behaviors().await.unwrap()),
        [(2, false), (50, true)]
    );
    assert!(!control.fire_behavior(twice.id.clone()).await.unwrap());
    assert!(control.fire_behavior(forever.id.clone()).await.unwrap());
    assert_eq!(control.behaviors().await.unwrap()[1].fired, 51);
    // A removed behaviour fires no more.
    assert!(control.remove_behavior(forever.id.clone()).await.unwrap());
    assert!(!control.fire_behavior(forever.id.clone()).await.unwrap());
    stores.close().await.unwrap();
}

async fn concurrent_firings_fire_exactly_the_times_a_behavior_has(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let (stores, control) = open_control(&location.url).await;
    let [_, forever, _] = three_behaviors();
    let seven = Behavior {
        times: Some(7),
        ..new_behavior(
            r#"{"event": "api", "behavior": {"delay": {"ms": 1}}}"#,
            None,
        )
    };
    control.add_behavior(seven.clone()).await.unwrap();
    control.add_behavior(forever.clone()).await.unwrap();
    // Twenty requests race for seven firings, and twenty more fire one
    // without a limit: none may be lost or counted twice.
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let control = control.clone();
            let id = if n % 2 == 0 {
                seven.id.clone()
            } else {
                forever.id.clone()
            };
            tokio::spawn(async move { (n % 2 == 0, control.fire_behavior(id).await.unwrap()) })
        })
        .collect();
    let (mut limited, mut unlimited) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (true, true) => limited += 1,
            (false, true) => unlimited += 1,
            (_, false) => {}
        }
    }
    assert_eq!((limited, unlimited), (7, 20));
    let fired: Vec<u64> = control
        .behaviors()
        .await
        .unwrap()
        .iter()
        .map(|b| b.fired)
        .collect();
    assert_eq!(fired, [7, 20]);
    stores.close().await.unwrap();
}

async fn the_controlled_clock_moves_by_the_sum_of_its_advances(backend: Backend) {
    let Some(location) = Location::new(backend).await else {
        return;
    };
    let (stores, control) = open_control(&location.url).await;
    assert_eq!(
        control.is_shared(),
        matches!(location.url, StoreUrl::Postgres(_)),
        "only a shared database changes behind a process's back"
    );
    assert_eq!(control.clock_offset().await.unwrap(), 0, "never moved");
    assert_eq!(control.advance_clock(1_000_000).await.unwrap(), 1_000_000);
    assert_eq!(control.advance_clock(-250).await.unwrap(), 999_750);
    assert_eq!(control.clock_offset().await.unwrap(), 999_750);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let control = control.clone();
            tokio::spawn(async move { control.advance_clock(1).await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers.sort_unstable();
    let expected: Vec<i64> = (999_751..=999_760).collect();
    assert_eq!(answers, expected, "each advance saw the ones before it");
    let (stores, control) = reopened_control(&location, (stores, control)).await;
    assert_eq!(control.clock_offset().await.unwrap(), 999_760);
    // As far as an i64 goes, either way, and no further.
    let table = [
        (i64::MAX, i64::MAX),
        (1, i64::MAX),
        (i64::MIN, -1),
        (i64::MIN, i64::MIN),
        (-1, i64::MIN),
        (5, i64::MIN + 5),
    ];
    for (micros, offset) in table {
        assert_eq!(
            control.advance_clock(micros).await.unwrap(),
            offset,
            "{micros}"
        );
    }
    assert_eq!(control.clock_offset().await.unwrap(), i64::MIN + 5);
    stores.close().await.unwrap();
}

suite!(
    memory_control, sqlite_control, postgres_control:
    behaviors_are_listed_in_the_order_added_and_removed_one_or_all,
    a_behavior_fires_its_times_and_then_no_more,
    concurrent_firings_fire_exactly_the_times_a_behavior_has,
    the_controlled_clock_moves_by_the_sum_of_its_advances,
);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_control_store_of_a_url_is_that_of_the_store_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let file = sqlite(&dir.path().join("nova.db"));
    let stores = Stores::open([request(file.clone(), true), request(url("memory"), true)])
        .await
        .unwrap();
    let durable = stores.control_store(&file).unwrap();
    // The very store that keeps the file's servers: one writer.
    let servers = stores.get(&file).unwrap();
    assert_eq!(
        Arc::as_ptr(&durable).cast::<()>(),
        Arc::as_ptr(&servers).cast::<()>()
    );
    // Every app naming memory: shares one.
    let memory = stores.control_store(&StoreUrl::Memory).unwrap();
    assert!(Arc::ptr_eq(
        &memory,
        &stores.control_store(&url("memory:")).unwrap()
    ));
    assert!(stores.control_store(&url("sqlite:elsewhere.db")).is_none());
    let [a, b, _] = three_behaviors();
    durable.add_behavior(a.clone()).await.unwrap();
    memory.add_behavior(b.clone()).await.unwrap();
    assert_eq!(durable.behaviors().await.unwrap(), std::slice::from_ref(&a));
    assert_eq!(memory.behaviors().await.unwrap(), [b]);
    // An id is stored once.
    assert!(matches!(
        durable.add_behavior(a.clone()).await,
        Err(StoreError::DuplicateId { id }) if id.to_string() == a.id
    ));
    stores.close().await.unwrap();
    // Closed with its store.
    assert!(durable.advance_clock(1).await.is_err());
    // Another memory store is another control store.
    let again = Stores::open([request(StoreUrl::Memory, true)])
        .await
        .unwrap();
    let other = again.control_store(&StoreUrl::Memory).unwrap();
    assert!(other.behaviors().await.unwrap().is_empty());
    again.close().await.unwrap();
}

/// Processes sharing a PostgreSQL database share the behaviours, race
/// for the same last firings and move one clock.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn processes_on_one_postgres_database_share_behaviors_and_the_clock() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let url = StoreUrl::Postgres(url);
    let ((first_stores, first), (second_stores, second)) =
        tokio::join!(open_control(&url), open_control(&url));
    let seven = new_behavior(
        r#"{"event": "api", "behavior": {"fail": {"status": 500}}}"#,
        Some(7),
    );
    first.add_behavior(seven.clone()).await.unwrap();
    assert_eq!(
        second.behaviors().await.unwrap(),
        std::slice::from_ref(&seven)
    );
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let control = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let id = seven.id.clone();
            tokio::spawn(async move { control.fire_behavior(id).await.unwrap() })
        })
        .collect();
    let mut fired = 0;
    for task in tasks {
        if task.await.unwrap() {
            fired += 1;
        }
    }
    assert_eq!(fired, 7);
    assert_eq!(first.behaviors().await.unwrap()[0].fired, 7);
    first.advance_clock(10).await.unwrap();
    assert_eq!(second.advance_clock(5).await.unwrap(), 15);
    assert_eq!(first.clock_offset().await.unwrap(), 15);
    assert_eq!(second.remove_behaviors().await.unwrap(), [seven.id]);
    assert!(first.behaviors().await.unwrap().is_empty());
    first_stores.close().await.unwrap();
    second_stores.close().await.unwrap();
}

/// What a control store must answer once the document of the behaviour
/// `id` is not JSON: listing is `Corrupt`, naming it, and removing it
/// (which needs only its id) mends the store.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_behavior_corrupt(stores: Stores, control: Arc<dyn ControlStore>, id: &str) {
    match control.behaviors().await {
        Err(StoreError::Corrupt { reason }) => {
            assert!(reason.contains(&format!("behavior {id}")), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // The clock is no part of it.
    assert_eq!(control.advance_clock(3).await.unwrap(), 3);
    assert!(control.remove_behavior(id.to_owned()).await.unwrap());
    assert!(control.behaviors().await.unwrap().is_empty());
    stores.close().await.unwrap();
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_damaged_behavior_document_in_sqlite_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&dir.path().join("nova.db"));
    let (stores, control) = open_control(&url).await;
    let [damaged, ..] = three_behaviors();
    control.add_behavior(damaged.clone()).await.unwrap();
    // Damaged while no store has the file open, as above.
    stores.close().await.unwrap();
    let connection = rusqlite::Connection::open(dir.path().join("nova.db")).unwrap();
    connection
        .execute(
            "UPDATE behaviors SET document = '{\"event\": [' WHERE id = ?1",
            [&damaged.id],
        )
        .unwrap();
    drop(connection);
    let (stores, control) = open_control(&url).await;
    assert_behavior_corrupt(stores, control, &damaged.id).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_damaged_behavior_document_in_postgres_is_corrupt() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let (stores, control) = open_control(&StoreUrl::Postgres(url.clone())).await;
    let [damaged, ..] = three_behaviors();
    control.add_behavior(damaged.clone()).await.unwrap();
    test_postgres::execute(
        &url,
        &format!(
            "UPDATE behaviors SET document = '{{\"event\": [' WHERE id = '{}'",
            damaged.id
        ),
    )
    .await;
    assert_behavior_corrupt(stores, control, &damaged.id).await;
}

/// What a store upgraded from version 5 must show: what that version
/// wrote (a server, a key pair, a quota limit), unchanged, and a control
/// store that keeps behaviours and the clock from then on.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn assert_upgraded_from_version_5(url: &StoreUrl, old: &Server, keypair: &Keypair) {
    let (stores, control) = open_control(url).await;
    let store = stores.get(url).unwrap();
    assert_eq!(store.server(old.id).await.unwrap().as_ref(), Some(old));
    assert_eq!(store.list().await.unwrap(), [old.instance()], "not seeded");
    assert_eq!(
        store.keypairs(keypair.user_id.clone()).await.unwrap(),
        std::slice::from_ref(keypair)
    );
    assert_eq!(
        sorted_limits(store.quota_limits("p".into()).await.unwrap()),
        [(None, "cores".to_owned(), 4)]
    );
    assert!(control.behaviors().await.unwrap().is_empty());
    assert_eq!(control.clock_offset().await.unwrap(), 0);
    let [behavior, ..] = three_behaviors();
    control.add_behavior(behavior.clone()).await.unwrap();
    assert!(control.fire_behavior(behavior.id.clone()).await.unwrap());
    control.advance_clock(5_000_000).await.unwrap();
    stores.close().await.unwrap();
    let (reopened, control) = open_control(url).await;
    assert_eq!(
        control.behaviors().await.unwrap(),
        [Behavior {
            fired: 1,
            ..behavior
        }]
    );
    assert_eq!(control.clock_offset().await.unwrap(), 5_000_000);
    reopened.close().await.unwrap();
}

/// The schema version 5 wrote to a SQLite file, frozen here: what the
/// upgrade to version 6 must start from, whatever later versions do.
#[cfg(feature = "sqlite")]
const SQLITE_VERSION_5: &str = "
    CREATE TABLE instances (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        updated_at_us INTEGER NOT NULL,
        version INTEGER NOT NULL
    );
    ALTER TABLE instances ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE instances ADD COLUMN deleted_at_us INTEGER;
    ALTER TABLE instances ADD COLUMN details TEXT;
    CREATE TABLE images (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        visibility TEXT NOT NULL,
        document TEXT NOT NULL
    );
    CREATE INDEX images_by_owner ON images (owner);
    CREATE TABLE token_keys (
        position INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        created_at_us INTEGER NOT NULL
    );
    CREATE TABLE revoked_tokens (
        audit_id TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
    CREATE TABLE keypairs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        UNIQUE (user_id, name)
    );
    CREATE TABLE quotas (
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL DEFAULT '',
        resource TEXT NOT NULL,
        hard_limit INTEGER NOT NULL,
        PRIMARY KEY (project_id, user_id, resource)
    );
    PRAGMA user_version = 5;
";

/// The schema version 5 wrote to a PostgreSQL database, frozen here as
/// [`SQLITE_VERSION_5`] is.
#[cfg(feature = "postgres")]
const POSTGRES_VERSION_5: &str = "
    CREATE TABLE nova_schema (version integer NOT NULL);
    INSERT INTO nova_schema (version) VALUES (5);
    CREATE TABLE instances (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        name text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version bigint NOT NULL
    );
    ALTER TABLE instances
        ADD COLUMN project_id text NOT NULL DEFAULT '',
        ADD COLUMN deleted_at timestamptz,
        ADD COLUMN details text;
    CREATE TABLE images (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        owner text NOT NULL,
        visibility text NOT NULL,
        document text NOT NULL
    );
    CREATE INDEX images_by_owner ON images (owner);
    CREATE TABLE token_keys (
        position integer PRIMARY KEY,
        key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE revoked_tokens (
        audit_id text PRIMARY KEY,
        expires_at bigint NOT NULL
    );
    CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
    CREATE TABLE keypairs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id text NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        public_key text NOT NULL,
        fingerprint text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (user_id, name)
    );
    CREATE TABLE quotas (
        project_id text NOT NULL,
        user_id text NOT NULL DEFAULT '',
        resource text NOT NULL,
        hard_limit bigint NOT NULL,
        PRIMARY KEY (project_id, user_id, resource)
    );
";

/// A key pair as version 5 stored it, the first of its table.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn version_5_keypair() -> Keypair {
    Keypair {
        id: 1,
        ..new_keypair("u", "old-key")
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_version_5_sqlite_file_opens_with_what_it_kept_and_keeps_behaviors_and_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let (old, details) = version_2_server();
    let keypair = version_5_keypair();
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection.execute_batch(SQLITE_VERSION_5).unwrap();
        connection
            .execute(
                "INSERT INTO instances
                     (id, name, created_at_us, updated_at_us, version, project_id, details)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
                rusqlite::params![
                    old.id.to_string(),
                    old.name,
                    old.created_at.unix_micros(),
                    old.updated_at.unix_micros(),
                    old.project_id,
                    details,
                ],
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO keypairs
                     (user_id, name, type, public_key, fingerprint, created_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    keypair.user_id,
                    keypair.name,
                    keypair.kind.as_str(),
                    keypair.public_key,
                    keypair.fingerprint,
                    keypair.created_at.unix_micros(),
                ],
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO quotas (project_id, resource, hard_limit) VALUES ('p', 'cores', 4)",
                [],
            )
            .unwrap();
    }
    assert_upgraded_from_version_5(&sqlite(&path), &old, &keypair).await;
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, crate::SCHEMA_VERSION);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_version_5_postgres_database_opens_with_what_it_kept_and_keeps_behaviors_and_the_clock() {
    let Some(url) = test_postgres::fresh_database().await else {
        return;
    };
    let (old, details) = version_2_server();
    let keypair = version_5_keypair();
    test_postgres::execute(
        &url,
        &format!(
            "{POSTGRES_VERSION_5}
             INSERT INTO instances (id, name, created_at, updated_at, version, project_id, details)
             VALUES ('{}', '{}', '{}', '{}', 1, '{}', '{}');
             INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_at)
             VALUES ('{}', '{}', '{}', '{}', '{}', '{}');
             INSERT INTO quotas (project_id, resource, hard_limit) VALUES ('p', 'cores', 4);",
            old.id,
            old.name,
            old.created_at,
            old.updated_at,
            old.project_id,
            details.replace('\'', "''"),
            keypair.user_id,
            keypair.name,
            keypair.kind.as_str(),
            keypair.public_key,
            keypair.fingerprint,
            keypair.created_at,
        ),
    )
    .await;
    assert_upgraded_from_version_5(&StoreUrl::Postgres(url.clone()), &old, &keypair).await;
    test_postgres::execute(
        &url,
        &format!(
            "DO $$ BEGIN
                 IF (SELECT max(version) FROM nova_schema) <> {} THEN
                     RAISE EXCEPTION 'not upgraded';
                 END IF;
             END $$;",
            crate::SCHEMA_VERSION
        ),
    )
    .await;
}

/// A throw-away PostgreSQL database per test, on the server that
/// `NOVA_TEST_POSTGRES_URL` names, as nova-tests' `postgres` module finds
/// it (`cargo xtask test` starts one): without the variable a test says so
/// and passes, unless `CI=true`.
#[cfg(feature = "postgres")]
mod test_postgres {
    const URL_VARIABLE: &str = "NOVA_TEST_POSTGRES_URL";

    /// A new, empty database's URL; `None` (after saying so) when the
    /// variable is not set on a developer's machine.
    #[allow(clippy::print_stderr)] // the test output is where a skipped run is reported
    pub(super) async fn fresh_database() -> Option<String> {
        let server = match std::env::var(URL_VARIABLE) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                panic!(
                    "{URL_VARIABLE} is not set, and CI=true: the PostgreSQL tests must run in CI"
                )
            }
            _ => {
                eprintln!("{URL_VARIABLE} is not set: PostgreSQL test not run");
                return None;
            }
        };
        let name = format!("nova_store_test_{}", uuid::Uuid::new_v4().simple());
        execute(&server, &format!("CREATE DATABASE {name}")).await;
        let (scheme, rest) = server.split_once("://").unwrap();
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let query = tail.find('?').map_or("", |at| &tail[at..]);
        Some(format!("{scheme}://{authority}/{name}{query}"))
    }

    /// Runs `sql` on the database at `url`, behind the store's back.
    pub(super) async fn execute(url: &str, sql: &str) {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let connection = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        connection.await.unwrap().unwrap();
    }
}
