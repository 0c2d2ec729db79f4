//! The scale run: two memory-store servers, one with 10,000 instances and
//! one with a million (100,000 in a brief run), measured in alternating
//! rounds of `show`, and the resident memory each instance costs.

use std::time::Duration;

use super::config::SuiteConfig;
use super::launch::{launch_for, TOKEN};
use super::measure::populate_to;
use super::rounds::median;
use super::units::{seconds, thousands};
use super::workloads::{Api, Credential, Store, Workload, SHOW_INSTANCES};
use crate::load::{self, Ids, Mix, Op, Outcome, Plan, Target};
use crate::process::ServerProcess;
use crate::BenchError;

/// The bytes of each benchmark instance's name, `bench-NNNNNNN`.
pub(super) const NAME_BYTES: u64 = 13;

/// One point of the scale run: a server holding `instances`, measured in
/// several rounds that alternate with the other point's.
#[derive(Debug, Clone)]
pub(super) struct ScalePoint {
    pub(super) instances: u64,
    pub(super) rss: u64,
    pub(super) bytes_per_instance: f64,
    pub(super) rounds: Vec<Outcome>,
}

impl ScalePoint {
    /// The median over the rounds of `figure`.
    fn median(&self, figure: impl Fn(&Outcome) -> f64) -> f64 {
        median(self.rounds.iter().map(figure))
    }

    pub(super) fn p99(&self) -> f64 {
        self.median(|o| o.latency_us(0.99))
    }

    pub(super) fn per_second(&self) -> f64 {
        self.median(Outcome::per_second)
    }

    pub(super) fn errors(&self) -> u64 {
        self.rounds.iter().map(Outcome::errors).sum()
    }
}

/// Runs the scale run; returns its two points and the note on how they
/// were measured.
pub(super) fn measure_scale(
    config: &SuiteConfig,
    has_store_flag: bool,
) -> Result<(Vec<ScalePoint>, Option<String>), BenchError> {
    let workload = Workload {
        name: "scale",
        api: Api::Instances,
        store: Store::Memory,
        credential: Credential::SharedToken,
        instances: 0,
        mix: Mix::only(Op::Show),
        rust_log: None,
        compared_with: "baseline",
        max_connections: None,
    };
    // One server per point, both kept running, so the points can be
    // measured in alternation: whatever else the machine does then weighs
    // on both alike, and the median of the rounds drops a disturbed one.
    let sizes = [SHOW_INSTANCES, config.scale_instances()];
    let mut servers = Vec::new();
    for (slot, instances) in sizes.into_iter().enumerate() {
        let launch = launch_for(config, &workload, has_store_flag, 98 + slot)?;
        let log = config.work_dir.join(format!("scale-{slot}.log"));
        let server = ServerProcess::start(&launch, &log)?;
        let target = Target::new(server.addr(), TOKEN)?;
        servers.push((instances, server, target));
    }
    let (rounds, round_plan) = config.scale_rounds();
    let points = load::block_on(async {
        let mut points = Vec::new();
        let mut id_sets = Vec::new();
        for (instances, server, target) in &servers {
            // Open every connection and let the allocator settle before the
            // reference reading, so the delta is the instances alone.
            let warm = Plan {
                measure: Duration::ZERO,
                ..round_plan
            };
            target
                .run(&warm, &Mix::only(Op::Index), &Ids::default())
                .await;
            let reference = server.memory_bytes("VmRSS")?;
            let start_count = target.instance_count().await?;
            let ids = populate_to(target, *instances, config.connections).await?;
            let rss = server.memory_bytes("VmRSS")?;
            let created = instances.saturating_sub(start_count).max(1);
            points.push(ScalePoint {
                instances: *instances,
                rss,
                bytes_per_instance: rss.saturating_sub(reference) as f64 / created as f64
                    - NAME_BYTES as f64,
                rounds: Vec::new(),
            });
            id_sets.push(ids);
        }
        // Rounds in the order small, large, large, small, small, …, so a
        // drift in the machine's load favours neither point.
        for round in 0..rounds {
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for slot in order {
                let (_, _, target) = &servers[slot];
                let outcome = target
                    .run(&round_plan, &Mix::only(Op::Show), &id_sets[slot])
                    .await;
                points[slot].rounds.push(outcome);
            }
        }
        Ok::<_, BenchError>(points)
    })??;
    for (_, server, _) in servers {
        server.stop()?;
    }
    let mut note = format!(
        "`show` latency: {rounds} rounds of {} (after {} of warm-up) per point, alternating between the two servers; the table gives the median over the rounds",
        seconds(round_plan.measure),
        seconds(round_plan.warm_up)
    );
    if config.quick {
        note.push_str(&format!(
            "; --quick: the large point has {} instances, not 1,000,000",
            thousands(config.scale_instances())
        ));
    }
    Ok((points, Some(note)))
}
