//! The workload table as specified: each row's name, the server and store it
//! runs against, the instances it starts with and its mix of operations.

use crate::baseline::INDEX_INSTANCES;
use crate::load::{Mix, Op};

/// Instances a `show`, `update` or `mixed` workload runs over.
pub(super) const SHOW_INSTANCES: u64 = 10_000;

/// Which server a workload runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Store {
    /// The bare hyper server.
    Baseline,
    /// nova-server with its in-memory store.
    Memory,
    /// nova-server with a SQLite file.
    Sqlite,
}

impl Store {
    pub(super) fn label(self) -> &'static str {
        match self {
            Store::Baseline => "-",
            Store::Memory => "memory",
            Store::Sqlite => "sqlite",
        }
    }
}

/// One row of the workload table, as specified.
#[derive(Debug, Clone)]
pub(super) struct Workload {
    pub(super) name: &'static str,
    pub(super) store: Store,
    pub(super) instances: u64,
    pub(super) mix: Mix,
    /// Log filter for the server, when not its default.
    pub(super) rust_log: Option<&'static str>,
}

pub(super) fn workloads() -> Vec<Workload> {
    let row = |name, store, instances, mix| Workload {
        name,
        store,
        instances,
        mix,
        rust_log: None,
    };
    let mixed = || Mix::weighted(&[(Op::Show, 90), (Op::Create, 5), (Op::Update, 5)]);
    vec![
        row("baseline", Store::Baseline, 0, Mix::only(Op::Show)),
        row(
            "baseline, index-sized body",
            Store::Baseline,
            0,
            Mix::only(Op::Index),
        ),
        row("show", Store::Memory, SHOW_INSTANCES, Mix::only(Op::Show)),
        Workload {
            // Not a target: shows what the access log costs.
            rust_log: Some("info,nova::access=off"),
            ..row(
                "show, no access log",
                Store::Memory,
                SHOW_INSTANCES,
                Mix::only(Op::Show),
            )
        },
        row(
            "index",
            Store::Memory,
            INDEX_INSTANCES,
            Mix::only(Op::Index),
        ),
        row("create", Store::Memory, 0, Mix::only(Op::Create)),
        row(
            "update",
            Store::Memory,
            SHOW_INSTANCES,
            Mix::only(Op::Update),
        ),
        row("forbidden", Store::Memory, 0, Mix::only(Op::Forbidden)),
        row("mixed", Store::Memory, SHOW_INSTANCES, mixed()),
        row("create", Store::Sqlite, 0, Mix::only(Op::Create)),
        row(
            "update",
            Store::Sqlite,
            SHOW_INSTANCES,
            Mix::only(Op::Update),
        ),
        row("mixed", Store::Sqlite, SHOW_INSTANCES, mixed()),
    ]
}
