//! Property test: any sequence of creates, conditional renames and
//! conditional deletes gives the same outcomes and the same listing in the
//! memory store and the SQLite store, so the durable store cannot drift from
//! the reference semantics.

// Helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use nova_controller::{Change, IfMatch, Instance, InstanceStore, MemoryStore};
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
}

fn op() -> impl Strategy<Value = Op> {
    let delta = || proptest::option::of(-1i8..=1);
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Create),
        3 => (any::<u8>(), any::<u8>(), delta()).prop_map(|(t, n, c)| Op::Rename(t, n, c)),
        2 => (any::<u8>(), delta()).prop_map(|(t, c)| Op::Delete(t, c)),
        1 => Just(Op::RenameUnknown),
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

async fn apply(store: &dyn InstanceStore, op: &Op, created: &[Uuid]) -> Option<String> {
    let target = |index: u8| created[usize::from(index) % created.len()];
    match *op {
        Op::Create(_) => None,
        Op::Rename(index, name, delta) => {
            let id = target(index);
            let current = store.get(id).await.unwrap().map(|i| i.version);
            let change = store
                .rename(id, format!("renamed-{name}"), condition(current, delta))
                .await
                .unwrap();
            Some(outcome(change))
        }
        Op::Delete(index, delta) => {
            let id = target(index);
            let current = store.get(id).await.unwrap().map(|i| i.version);
            Some(outcome(
                store.delete(id, condition(current, delta)).await.unwrap(),
            ))
        }
        Op::RenameUnknown => {
            let change = store
                .rename(Uuid::new_v4(), "ghost".to_owned(), IfMatch::Any)
                .await
                .unwrap();
            Some(outcome(change))
        }
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let sqlite = SqliteStore::open_seeding(&path, false).await.unwrap();
    let memory = MemoryStore::new();
    let mut created: Vec<Uuid> = Vec::new();
    for op in &ops {
        if let Op::Create(name) = op {
            let instance = Instance::new(format!("vm-{name}"));
            created.push(instance.id);
            memory.insert(instance.clone()).await.unwrap();
            sqlite.insert(instance).await.unwrap();
        } else if !created.is_empty() {
            let in_memory = apply(&memory, op, &created).await;
            let in_sqlite = apply(&sqlite, op, &created).await;
            prop_assert_eq!(in_memory, in_sqlite, "{:?}", op);
        }
        prop_assert_eq!(
            comparable(memory.list().await.unwrap()),
            comparable(sqlite.list().await.unwrap())
        );
    }
    sqlite.close().await.unwrap();
    // What was committed is what a reopened store lists.
    let reopened = SqliteStore::open(&path).await.unwrap();
    prop_assert_eq!(
        comparable(memory.list().await.unwrap()),
        comparable(reopened.list().await.unwrap())
    );
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
