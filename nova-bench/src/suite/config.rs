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
    pub(super) fn plan(&self) -> Plan {
        let (warm_up, measure) = if self.quick {
            (Duration::from_millis(500), Duration::from_secs(2))
        } else {
            (Duration::from_secs(2), Duration::from_secs(10))
        };
        Plan {
            connections: self.connections,
            warm_up,
            measure,
        }
    }

    /// The plan for `workload`: the run's, with fewer connections where
    /// the row asks for fewer.
    pub(super) fn plan_for(&self, workload: &Workload) -> Plan {
        let plan = self.plan();
        Plan {
            connections: workload
                .max_connections
                .map_or(plan.connections, |most| most.min(plan.connections)),
            ..plan
        }
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
