//! What a suite run is told: the binaries, the CPUs, the connections and
//! whether it is a brief run, and the times and sizes that follow from it.

use std::path::PathBuf;
use std::time::Duration;

use super::workloads::Workload;
use crate::load::Plan;

/// What to run and where.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The nova-server binary (a release build).
    pub server: PathBuf,
    /// The program serving the baseline: this crate's `nova-bench` binary,
    /// run as `nova-bench baseline`.
    pub baseline: PathBuf,
    /// `taskset -c` CPU list for every server, if pinning.
    pub server_cpus: Option<String>,
    /// Concurrent connections per workload.
    pub connections: usize,
    /// Brief runs (for CI): short times and a smaller scale run.
    pub quick: bool,
    /// Where server logs and SQLite files go while the suite runs.
    pub work_dir: PathBuf,
    /// criterion's output directory, whose router results the report quotes.
    pub criterion_dir: Option<PathBuf>,
    /// Run only the workloads whose names contain one of these words (and
    /// the baselines they are compared with), and the scale run only if one
    /// of them is `scale`; everything when empty.
    pub only: Vec<String>,
}

impl SuiteConfig {
    /// How many rounds each workload row runs: the five, two in a
    /// brief run.
    pub(super) fn rounds(&self) -> usize {
        if self.quick {
            2
        } else {
            5
        }
    }

    /// One round of a workload: its warm-up (fresh connections to a server
    /// that has just sat idle while the other rows ran) and its measured
    /// time. A full run measures each row 10 s in all, as a single run
    /// did before rounds; a brief one stays under three minutes on two
    /// cores, criterion and the scale run included.
    pub(super) fn plan(&self) -> Plan {
        let (warm_up, measure) = if self.quick {
            (Duration::from_millis(300), Duration::from_secs(1))
        } else {
            (Duration::from_secs(1), Duration::from_secs(2))
        };
        Plan {
            connections: self.connections,
            warm_up,
            measure,
        }
    }

    /// `--profile`'s plan for `workload`: a warm-up, then the time
    /// recorded under `perf`.
    pub(super) fn profile_plan_for(&self, workload: &Workload) -> Plan {
        let (warm_up, measure) = if self.quick {
            (Duration::from_millis(500), Duration::from_secs(3))
        } else {
            (Duration::from_secs(2), Duration::from_secs(10))
        };
        with_connections_for(
            Plan {
                connections: self.connections,
                warm_up,
                measure,
            },
            workload,
        )
    }

    /// The plan for `workload`: the run's, with fewer connections where
    /// the row asks for fewer.
    pub(super) fn plan_for(&self, workload: &Workload) -> Plan {
        with_connections_for(self.plan(), workload)
    }

    /// Whether the scale run is selected.
    pub(super) fn runs_scale(&self) -> bool {
        self.only.is_empty() || self.only.iter().any(|word| "scale".contains(word.as_str()))
    }

    /// The scale run's rounds per point and the time measured in each.
    pub(super) fn scale_rounds(&self) -> (usize, Plan) {
        let plan = self.plan();
        if self.quick {
            (
                2,
                Plan {
                    warm_up: Duration::from_millis(300),
                    measure: Duration::from_secs(1),
                    ..plan
                },
            )
        } else {
            (
                5,
                Plan {
                    warm_up: Duration::from_secs(1),
                    measure: Duration::from_secs(4),
                    ..plan
                },
            )
        }
    }

    pub(super) fn scale_instances(&self) -> u64 {
        if self.quick {
            100_000
        } else {
            1_000_000
        }
    }
}

/// `plan` with fewer connections where `workload` asks for fewer.
fn with_connections_for(plan: Plan, workload: &Workload) -> Plan {
    Plan {
        connections: workload
            .max_connections
            .map_or(plan.connections, |most| most.min(plan.connections)),
        ..plan
    }
}
