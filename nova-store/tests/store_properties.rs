//! Property test: any sequence that mixes the seed's operations (creates,
//! conditional renames and deletes) with the compute API's (creating
//! servers, conditional changes of a server's name, metadata and deletion,
//! refused changes) gives the same outcomes, the same instance listing and
//! the same servers in the memory store and the SQLite store, so the
//! durable store cannot drift from the reference semantics.

// Helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use nova_compute::{
    MemoryServerStore, Server, ServerChange, ServerDetails, ServerScope, ServerStore, ServerUpdate,
};
use nova_controller::{Change, IfMatch, Instance, InstanceStore, Timestamp};
use nova_router::Fault;
use nova_store::SqliteStore;
use proptest::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Op {
    Create(u8),
    /// Target (an index into the instances created so far, wrapped), new
    /// name, condition (None: any; Some(delta): current version plus delta).
    Rename(u8, u8, Option<i8>),
    Delete(u8, Option<i8>),
    /// An id no store has.
    RenameUnknown,
    /// Names and project of new servers; whether the batch also repeats
    /// the id of an instance created before (so none is created).
    CreateServers(Vec<u8>, u8, bool),
    /// Target, what the change does, condition.
    UpdateServer(u8, Edit, Option<i8>),
}

/// What an [`Op::UpdateServer`] does to the server.
#[derive(Debug, Clone)]
enum Edit {
    Rename(u8),
    SetMetadata(u8, u8),
    /// Sets `deleted_at`, as the compute API's delete does.
    Delete,
    Restore,
    /// Changes the server, then refuses: nothing may stay changed.
    Refuse(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let delta = || proptest::option::of(-1i8..=1);
    let edit = prop_oneof![
        any::<u8>().prop_map(Edit::Rename),
        (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Edit::SetMetadata(k % 4, v)),
        Just(Edit::Delete),
        Just(Edit::Restore),
        any::<u8>().prop_map(Edit::Refuse),
    ];
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Create),
        3 => (any::<u8>(), any::<u8>(), delta()).prop_map(|(t, n, c)| Op::Rename(t, n, c)),
        2 => (any::<u8>(), delta()).prop_map(|(t, c)| Op::Delete(t, c)),
        1 => Just(Op::RenameUnknown),
        2 => (prop::collection::vec(any::<u8>(), 0..4), 0u8..3, prop::bool::weighted(0.2))
            .prop_map(|(names, project, clash)| Op::CreateServers(names, project, clash)),
        4 => (any::<u8>(), edit, delta()).prop_map(|(t, e, c)| Op::UpdateServer(t, e, c)),
    ]
}

type Comparable = Vec<(Uuid, String, u64, String)>;

/// What must match across stores: everything but the time of a rename,
/// which each store takes from its own clock.
fn comparable(instances: Vec<Instance>) -> Comparable {
    instances
        .into_iter()
        .map(|i| (i.id, i.name, i.version, i.created_at.to_string()))
        .collect()
}

/// A server with its `updated_at` left out, for the same reason.
fn comparable_servers(servers: Vec<Server>) -> Vec<Server> {
    servers
        .into_iter()
        .map(|server| Server {
            updated_at: server.created_at,
            ..server
        })
        .collect()
}

fn condition(current: Option<u64>, delta: Option<i8>) -> IfMatch {
    match (current, delta) {
        (Some(version), Some(delta)) => {
            IfMatch::Versions(vec![version.saturating_add_signed(i64::from(delta))])
        }
        _ => IfMatch::Any,
    }
}

fn outcome<T>(change: Change<T>) -> String {
    match change {
        Change::Applied(_) => "applied".to_owned(),
        Change::NotFound => "not found".to_owned(),
        Change::VersionMismatch { current } => format!("mismatch at {current}"),
    }
}

fn server_outcome(update: ServerUpdate) -> String {
    match update {
        ServerUpdate::Applied(server) => format!("applied at {}", server.version),
        ServerUpdate::NotFound => "not found".to_owned(),
        ServerUpdate::VersionMismatch { current } => format!("mismatch at {current}"),
        ServerUpdate::Refused(fault) => format!("refused: {fault:?}"),
    }
}

/// The change an [`Edit`] makes; `at` is the instant it writes, the same
/// for both stores.
fn change(edit: &Edit, at: Timestamp) -> ServerChange {
    let edit = edit.clone();
    Box::new(move |server| {
        server.updated_at = at;
        match edit {
            Edit::Rename(name) => server.name = format!("server-{name}"),
            Edit::SetMetadata(key, value) => {
                let details =
                    std::sync::Arc::make_mut(server.details.get_or_insert_with(Default::default));
                details
                    .metadata
                    .insert(format!("key-{key}"), value.to_string());
            }
            Edit::Delete => server.deleted_at = Some(at),
            Edit::Restore => server.deleted_at = None,
            Edit::Refuse(name) => {
                server.name = format!("refused-{name}");
                server.deleted_at = Some(at);
                return Err(Fault::bad_request("refused"));
            }
        }
        Ok(())
    })
}

/// New servers for an [`Op::CreateServers`], given to both stores alike.
fn new_servers(names: &[u8], project: u8, clash: Option<Uuid>) -> Vec<Server> {
    let mut servers: Vec<Server> = names
        .iter()
        .map(|name| {
            let mut details = ServerDetails::default();
            details.metadata.insert("name".to_owned(), name.to_string());
            Server {
                project_id: format!("project-{project}"),
                details: Some(std::sync::Arc::new(details)),
                ..Server::from_instance(Instance::new(format!("server-{name}")))
            }
        })
        .collect();
    if let Some(id) = clash {
        let at = servers.len() / 2;
        servers.insert(
            at,
            Server {
                id,
                ..Server::from_instance(Instance::new("clash"))
            },
        );
    }
    servers
}

async fn apply(
    store: &dyn ServerStore,
    op: &Op,
    created: &[Uuid],
    at: Timestamp,
) -> Option<String> {
    let target = |index: u8| created[usize::from(index) % created.len()];
    match op {
        Op::Create(_) | Op::CreateServers(..) => None,
        Op::Rename(index, name, delta) => {
            let id = target(*index);
            let current = store.get(id).await.unwrap().map(|i| i.version);
            let change = store
                .rename(id, format!("renamed-{name}"), condition(current, *delta))
                .await
                .unwrap();
            Some(outcome(change))
        }
        Op::Delete(index, delta) => {
            let id = target(*index);
            let current = store.get(id).await.unwrap().map(|i| i.version);
            Some(outcome(
                store.delete(id, condition(current, *delta)).await.unwrap(),
            ))
        }
        Op::RenameUnknown => {
            let change = store
                .rename(Uuid::new_v4(), "ghost".to_owned(), IfMatch::Any)
                .await
                .unwrap();
            Some(outcome(change))
        }
        Op::UpdateServer(index, edit, delta) => {
            let id = target(*index);
            let current = store.server(id).await.unwrap().map(|s| s.version);
            let update = store
                .update_server(id, condition(current, *delta), change(edit, at))
                .await
                .unwrap();
            Some(server_outcome(update))
        }
    }
}

/// Every listing the two stores must agree on.
async fn assert_same(
    memory: &dyn ServerStore,
    sqlite: &dyn ServerStore,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        comparable(memory.list().await.unwrap()),
        comparable(sqlite.list().await.unwrap())
    );
    let scopes = [
        ServerScope::default(),
        ServerScope {
            projects: None,
            include_deleted: true,
        },
        ServerScope {
            projects: Some(vec![String::new(), "project-1".to_owned()]),
            include_deleted: false,
        },
    ];
    for scope in scopes {
        prop_assert_eq!(
            comparable_servers(memory.servers(scope.clone()).await.unwrap()),
            comparable_servers(sqlite.servers(scope.clone()).await.unwrap()),
            "{:?}",
            scope
        );
    }
    Ok(())
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let sqlite = SqliteStore::open_seeding(&path, false).await.unwrap();
    let memory = MemoryServerStore::new();
    let mut created: Vec<Uuid> = Vec::new();
    for op in &ops {
        match op {
            Op::Create(name) => {
                let instance = Instance::new(format!("vm-{name}"));
                created.push(instance.id);
                memory.insert(instance.clone()).await.unwrap();
                sqlite.insert(instance).await.unwrap();
            }
            Op::CreateServers(names, project, clash) => {
                let clash = created.first().copied().filter(|_| *clash);
                let servers = new_servers(names, *project, clash);
                let in_memory = memory.create_servers(servers.clone()).await;
                let in_sqlite = sqlite.create_servers(servers.clone()).await;
                prop_assert_eq!(&in_memory, &in_sqlite, "{:?}", op);
                if in_memory.is_ok() {
                    created.extend(servers.iter().map(|s| s.id));
                }
            }
            _ if !created.is_empty() => {
                let at = Timestamp::now();
                let in_memory = apply(&memory, op, &created, at).await;
                let in_sqlite = apply(&sqlite, op, &created, at).await;
                prop_assert_eq!(in_memory, in_sqlite, "{:?}", op);
            }
            _ => {}
        }
        assert_same(&memory, &sqlite).await?;
    }
    sqlite.close().await.unwrap();
    // What was committed is what a reopened store lists.
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_same(&memory, &reopened).await?;
    reopened.close().await.unwrap();
    Ok(())
}

proptest! {
    // Each case opens a SQLite file and syncs every change: few, long cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn memory_and_sqlite_stores_agree_on_every_sequence(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run(ops))?;
    }
}
