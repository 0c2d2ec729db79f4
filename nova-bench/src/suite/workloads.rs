//! The workload table as specified: each row's name, the API, server and
//! store it runs against, the token it sends, the instances or servers it
//! starts with, its mix of operations and the baseline row it is compared
//! with.

use crate::baseline::INDEX_INSTANCES;
use crate::load::{Mix, Op};

/// Instances a `show`, `update` or `mixed` workload runs over.
pub(super) const SHOW_INSTANCES: u64 = 10_000;

/// Servers the `server-show` and `servers-detail-N` workloads run over:
/// enough that `detail?limit=1000` gets a full page.
pub(super) const SERVERS: u64 = 1_000;

/// Connections for the `servers-detail-N` workloads and their baselines.
/// One answer takes milliseconds to build; 64 of them queued would only
/// add seconds of waiting to every latency, with the server as busy.
const DETAIL_CONNECTIONS: usize = 8;

/// The name of the baseline row the `index` row is compared with.
pub(super) const INDEX_BASELINE: &str = "baseline, index-sized body";

/// The `server-show` row whose requests carry a Fernet token from the
/// identity service: beside `server-show`, it gives what validating a
/// token costs per request.
pub(super) const KEYSTONE_SERVER_SHOW: &str = "server-show, keystone token";

/// The identity service's user [`KEYSTONE_SERVER_SHOW`] authenticates as:
/// devstack's `admin`, scoped to project `admin`. An admin, like the
/// holder of the shared token, is shown the admin-only fields, so both
/// rows render the same answer and differ only in the token's check.
pub(super) const KEYSTONE_USER: &str = "admin";

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

/// Which API a workload speaks, and so how its server is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    /// The seed's `/instances`, behind nova-server's built-in
    /// configuration (`auth instance`).
    Instances,
    /// The compute API v2.1 behind the shipped `api-paste.ini`, as the
    /// bench writes it ([`super::compute`]); for a baseline row, the
    /// bodies captured from it.
    Compute,
}

/// What a workload's requests carry in `X-Auth-Token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Credential {
    /// The shared static token, [`super::launch::TOKEN`]: let through
    /// without validation, as the admin of a default project. The only
    /// one the baseline and the instance API accept.
    SharedToken,
    /// A Fernet token the compute API's identity service issues to this
    /// user, scoped to the user's project of the same name, once the row's
    /// server has started: validated on every request. The row's servers
    /// are seeded with it, so they are that project's.
    Keystone(&'static str),
}

/// One row of the workload table, as specified.
#[derive(Debug, Clone)]
pub(super) struct Workload {
    pub(super) name: &'static str,
    pub(super) api: Api,
    pub(super) store: Store,
    pub(super) credential: Credential,
    /// Instances (or, for the compute API, servers) created before it runs.
    pub(super) instances: u64,
    pub(super) mix: Mix,
    /// Log filter for the server, when not its default.
    pub(super) rust_log: Option<&'static str>,
    /// The baseline row whose req/s its own are divided by.
    pub(super) compared_with: &'static str,
    /// At most this many connections, when fewer than the run's.
    pub(super) max_connections: Option<usize>,
}

pub(super) fn workloads() -> Vec<Workload> {
    let row = |name, store, instances, mix| Workload {
        name,
        api: Api::Instances,
        store,
        credential: Credential::SharedToken,
        instances,
        mix,
        rust_log: None,
        compared_with: "baseline",
        max_connections: None,
    };
    let mixed = || Mix::weighted(&[(Op::Show, 90), (Op::Create, 5), (Op::Update, 5)]);
    let mut rows = vec![
        row("baseline", Store::Baseline, 0, Mix::only(Op::Show)),
        Workload {
            compared_with: INDEX_BASELINE,
            ..row(INDEX_BASELINE, Store::Baseline, 0, Mix::only(Op::Index))
        },
    ];
    rows.extend(compute_baselines());
    rows.extend([
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
        Workload {
            compared_with: INDEX_BASELINE,
            ..row(
                "index",
                Store::Memory,
                INDEX_INSTANCES,
                Mix::only(Op::Index),
            )
        },
        row("create", Store::Memory, 0, Mix::only(Op::Create)),
        row(
            "update",
            Store::Memory,
            SHOW_INSTANCES,
            Mix::only(Op::Update),
        ),
        row("forbidden", Store::Memory, 0, Mix::only(Op::Forbidden)),
        row("mixed", Store::Memory, SHOW_INSTANCES, mixed()),
        // Beside `show` on memory: what the default store adds to a read.
        row("show", Store::Sqlite, SHOW_INSTANCES, Mix::only(Op::Show)),
        row("create", Store::Sqlite, 0, Mix::only(Op::Create)),
        row(
            "update",
            Store::Sqlite,
            SHOW_INSTANCES,
            Mix::only(Op::Update),
        ),
        row("mixed", Store::Sqlite, SHOW_INSTANCES, mixed()),
    ]);
    for store in [Store::Memory, Store::Sqlite] {
        rows.extend(compute_rows(store));
    }
    rows
}

/// The compute API's workloads, each with the baseline row of the same
/// name: `server-show`, `servers-detail-100`, `servers-detail-1000`,
/// `server-create`. Each runs with the shared token; `server-show` runs
/// with a Keystone token too ([`compute_rows`]).
fn compute_ops() -> [(&'static str, &'static str, Op); 4] {
    [
        ("server-show", "baseline, server-show body", Op::ServerShow),
        (
            "servers-detail-100",
            "baseline, servers-detail-100 body",
            Op::ServersDetail(100),
        ),
        (
            "servers-detail-1000",
            "baseline, servers-detail-1000 body",
            Op::ServersDetail(1000),
        ),
        (
            "server-create",
            "baseline, server-create body",
            Op::ServerCreate,
        ),
    ]
}

fn compute_row(name: &'static str, baseline: &'static str, op: Op, store: Store) -> Workload {
    let instances = match (store, op) {
        (Store::Baseline, _) | (_, Op::ServerCreate) => 0,
        _ => SERVERS,
    };
    Workload {
        name,
        api: Api::Compute,
        store,
        credential: Credential::SharedToken,
        instances,
        mix: Mix::only(op),
        rust_log: None,
        compared_with: baseline,
        max_connections: matches!(op, Op::ServersDetail(_)).then_some(DETAIL_CONNECTIONS),
    }
}

fn compute_baselines() -> Vec<Workload> {
    compute_ops()
        .into_iter()
        .map(|(_, baseline, op)| compute_row(baseline, baseline, op, Store::Baseline))
        .collect()
}

/// The compute API's rows on `store`: each workload of [`compute_ops`],
/// and right after `server-show` the same workload as
/// [`KEYSTONE_USER`] with a Keystone token ([`KEYSTONE_SERVER_SHOW`]),
/// compared with the same baseline row, so the table shows the two side
/// by side.
fn compute_rows(store: Store) -> Vec<Workload> {
    let mut rows = Vec::new();
    for (name, baseline, op) in compute_ops() {
        rows.push(compute_row(name, baseline, op, store));
        if op == Op::ServerShow {
            rows.push(Workload {
                name: KEYSTONE_SERVER_SHOW,
                credential: Credential::Keystone(KEYSTONE_USER),
                ..compute_row(name, baseline, op, store)
            });
        }
    }
    rows
}

/// The rows `only` selects: every row whose name contains one of its
/// words, and the baseline rows those are compared with; all rows when
/// `only` is empty.
pub(super) fn select(rows: Vec<Workload>, only: &[String]) -> Vec<Workload> {
    if only.is_empty() {
        return rows;
    }
    let chosen = |w: &Workload| only.iter().any(|word| w.name.contains(word.as_str()));
    let baselines: Vec<&'static str> = rows
        .iter()
        .filter(|w| chosen(w))
        .map(|w| w.compared_with)
        .collect();
    rows.into_iter()
        .filter(|w| chosen(w) || baselines.contains(&w.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_compared_with_a_baseline_row_that_runs_before_it() {
        let rows = workloads();
        for (index, row) in rows.iter().enumerate() {
            let baseline = rows.iter().position(|w| w.name == row.compared_with);
            assert!(
                baseline.is_some_and(|at| at <= index && rows[at].store == Store::Baseline),
                "{} is compared with {:?}",
                row.name,
                row.compared_with
            );
        }
    }

    #[test]
    fn every_row_a_target_names_is_in_the_table() {
        let rows = workloads();
        for target in crate::suite::targets::RATIO_TARGETS {
            for (name, store) in [target.row, target.against] {
                assert!(
                    rows.iter().any(|w| w.name == name && w.store == store),
                    "{name} ({store:?})"
                );
            }
        }
    }

    #[test]
    fn each_compute_workload_runs_on_both_stores() {
        let rows = workloads();
        let names = compute_ops().map(|(name, _, _)| name);
        for name in names.into_iter().chain([KEYSTONE_SERVER_SHOW]) {
            let stores: Vec<Store> = rows
                .iter()
                .filter(|w| w.name == name)
                .map(|w| w.store)
                .collect();
            assert_eq!(stores, [Store::Memory, Store::Sqlite], "{name}");
        }
    }

    #[test]
    fn the_keystone_token_row_follows_server_show_and_differs_only_in_its_token() {
        let rows = workloads();
        for store in [Store::Memory, Store::Sqlite] {
            let at = rows
                .iter()
                .position(|w| w.name == "server-show" && w.store == store)
                .unwrap();
            let (shared, keystone) = (&rows[at], &rows[at + 1]);
            assert_eq!(keystone.name, KEYSTONE_SERVER_SHOW, "{store:?}");
            assert_eq!(keystone.store, store);
            assert_eq!(shared.credential, Credential::SharedToken);
            assert_eq!(keystone.credential, Credential::Keystone(KEYSTONE_USER));
            assert_eq!(keystone.api, shared.api);
            assert_eq!(keystone.instances, shared.instances);
            assert_eq!(keystone.mix.only_op(), Some(Op::ServerShow));
            assert_eq!(keystone.compared_with, shared.compared_with);
            assert_eq!(keystone.max_connections, shared.max_connections);
            assert_eq!(keystone.rust_log, shared.rust_log);
        }
    }

    #[test]
    fn only_compute_rows_on_nova_server_send_a_keystone_token() {
        // The baseline and the instance API know the shared token only.
        for row in workloads() {
            if let Credential::Keystone(_) = row.credential {
                assert_eq!(row.api, Api::Compute, "{}", row.name);
                assert_ne!(row.store, Store::Baseline, "{}", row.name);
            }
        }
    }

    #[test]
    fn a_selection_keeps_the_rows_named_and_their_baselines() {
        let names = |only: &[&str]| -> Vec<&'static str> {
            let only: Vec<String> = only.iter().map(|w| (*w).to_owned()).collect();
            select(workloads(), &only).iter().map(|w| w.name).collect()
        };
        assert_eq!(
            names(&["servers-detail-1000"]),
            [
                "baseline, servers-detail-1000 body",
                "servers-detail-1000",
                "servers-detail-1000",
            ]
        );
        assert_eq!(
            names(&["server-show"]),
            [
                "baseline, server-show body",
                "server-show",
                KEYSTONE_SERVER_SHOW,
                "server-show",
                KEYSTONE_SERVER_SHOW,
            ]
        );
        assert_eq!(
            names(&["keystone"]),
            [
                "baseline, server-show body",
                KEYSTONE_SERVER_SHOW,
                KEYSTONE_SERVER_SHOW
            ]
        );
        assert_eq!(
            names(&["index"]),
            ["baseline, index-sized body", "index"],
            "a baseline row named by a word is kept once"
        );
        assert_eq!(names(&[]).len(), workloads().len());
        assert!(names(&["no such workload"]).is_empty());
    }
}
