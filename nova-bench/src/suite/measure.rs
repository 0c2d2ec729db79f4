//! Measuring one workload: start its server, populate it through the API,
//! run the load while sampling CPU time, and read the server's peak memory.

use std::time::{Duration, Instant};

use super::compute;
use super::config::SuiteConfig;
use super::launch::TOKEN;
use super::workloads::{Api, Store, Workload};
use crate::load::{self, made_up_ids, made_up_server_ids, Ids, Mix, Outcome, Plan, Target};
use crate::process::{self, Launch, ServerProcess};
use crate::BenchError;

/// A measured workload.
#[derive(Debug, Clone)]
pub(super) struct Measured {
    pub(super) outcome: Outcome,
    pub(super) peak_rss: u64,
    pub(super) server_cpu: f64,
    pub(super) load_cpu: f64,
}

impl Measured {
    pub(super) fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu * 1e6 / self.outcome.per_second().max(f64::EPSILON)
    }
}

/// Runs `workload` on a server of its own started with `launch`, and stops
/// the server.
pub(super) fn measure_workload(
    config: &SuiteConfig,
    launch: &Launch,
    workload: &Workload,
    index: usize,
) -> Result<Measured, BenchError> {
    let log = config.work_dir.join(format!("workload-{index}.log"));
    let server = ServerProcess::start(launch, &log)?;
    let target = Target::new(server.addr(), TOKEN)?;
    let plan = config.plan_for(workload);
    let measured = load::block_on(async {
        let (target, ids) = match (workload.api, workload.store) {
            (Api::Instances, _) if workload.instances > 0 => {
                let ids = populate_to(&target, workload.instances, config.connections).await?;
                (target, ids)
            }
            (Api::Instances, _) => (target, made_up_ids(1_000)),
            // The baseline serves no images; any id will do.
            (Api::Compute, Store::Baseline) => (
                target.with_image("00000000-0000-4000-8000-000000000000"),
                made_up_server_ids(1_000),
            ),
            (Api::Compute, _) => {
                let target = compute::authenticate(target, workload.credential).await?;
                compute::seed(target, workload.instances).await?
            }
        };
        let (outcome, cpu) = run_sampling_cpu(&target, &plan, &workload.mix, &ids, &server).await;
        let (server_cpu, load_cpu) = cpu?;
        Ok::<_, BenchError>(Measured {
            outcome,
            peak_rss: server.memory_bytes("VmHWM")?,
            server_cpu,
            load_cpu,
        })
    })??;
    server.stop()?;
    Ok(measured)
}

/// Creates instances until the server lists `instances`; returns the ids
/// created (the server's own, if it starts with some, are not among them).
pub(super) async fn populate_to(
    target: &Target,
    instances: u64,
    connections: usize,
) -> Result<Ids, BenchError> {
    let existing = target.instance_count().await?;
    let missing = instances.saturating_sub(existing);
    let started = Instant::now();
    let ids = target.populate(missing, existing, connections).await?;
    if missing >= 100_000 {
        eprintln!(
            "bench: created {missing} instances in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ids)
}

/// Runs the load and samples CPU time (server and load generator) at the
/// start and end of the measured time; the shares are of one core.
async fn run_sampling_cpu(
    target: &Target,
    plan: &Plan,
    mix: &Mix,
    ids: &Ids,
    server: &ServerProcess,
) -> (Outcome, Result<(f64, f64), BenchError>) {
    let sample = || -> Result<(Duration, Duration), BenchError> {
        Ok((server.cpu_time()?, process::cpu_time_of("/proc/self/stat")?))
    };
    let sampler = async {
        tokio::time::sleep(plan.warm_up).await;
        let before = sample()?;
        tokio::time::sleep(plan.measure).await;
        let after = sample()?;
        let share = |a: Duration, b: Duration| {
            a.saturating_sub(b).as_secs_f64() / plan.measure.as_secs_f64().max(f64::EPSILON)
        };
        Ok((share(after.0, before.0), share(after.1, before.1)))
    };
    tokio::join!(target.run(plan, mix, ids), sampler)
}
