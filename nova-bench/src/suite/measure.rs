//! Measuring the workload rows: each row's server is started and
//! populated through the API once ([`RowServer::start`]), measured round
//! after round while the CPU time of server and load generator is sampled
//! ([`RowServer::measure_round`]), and stopped after the last round, its
//! peak memory read ([`RowServer::stop`]).

use std::future::Future;
use std::time::{Duration, Instant};

use super::compute;
use super::config::SuiteConfig;
use super::launch::TOKEN;
use super::rounds::Round;
use super::workloads::{Api, Store, Workload};
use crate::load::{self, made_up_ids, made_up_server_ids, Ids, Mix, Outcome, Plan, Target};
use crate::process::{self, Launch, ServerProcess};
use crate::BenchError;

/// A workload row's server, started and populated, kept up from its first
/// round to its last.
#[derive(Debug)]
pub(super) struct RowServer {
    server: ServerProcess,
    target: Target,
    ids: Ids,
    mix: Mix,
    plan: Plan,
}

impl RowServer {
    /// Starts `workload`'s server with `launch` (the `index`-th row of the
    /// run names its log) and creates what the workload needs through the
    /// API: instances, or a token and servers for the compute API.
    pub(super) fn start(
        config: &SuiteConfig,
        launch: &Launch,
        workload: &Workload,
        index: usize,
    ) -> Result<Self, BenchError> {
        let log = config.work_dir.join(format!("workload-{index}.log"));
        let server = ServerProcess::start(launch, &log)?;
        let target = Target::new(server.addr(), TOKEN)?;
        let (target, ids) = load::block_on(async {
            match (workload.api, workload.store) {
                (Api::Instances, _) if workload.instances > 0 => {
                    let ids = populate_to(&target, workload.instances, config.connections).await?;
                    Ok((target, ids))
                }
                (Api::Instances, _) => Ok((target, made_up_ids(1_000))),
                // The baseline serves no images; any id will do.
                (Api::Compute, Store::Baseline) => Ok((
                    target.with_image("00000000-0000-4000-8000-000000000000"),
                    made_up_server_ids(1_000),
                )),
                (Api::Compute, _) => {
                    let target = compute::authenticate(target, workload.credential).await?;
                    compute::seed(target, workload.instances).await
                }
            }
        })??;
        Ok(RowServer {
            server,
            target,
            ids,
            mix: workload.mix.clone(),
            plan: config.plan_for(workload),
        })
    }

    /// The server's process id.
    pub(super) fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Runs one round of the workload.
    pub(super) fn measure_round(&self) -> Result<Round, BenchError> {
        let (round, ()) = self.measure_with(&self.plan, async {})?;
        Ok(round)
    }

    /// Runs the workload once as `plan` says, with `alongside` running
    /// meanwhile on the load generator's runtime (`--profile` starts
    /// `perf` from it); returns the round and what `alongside` gave.
    pub(super) fn measure_with<F: Future>(
        &self,
        plan: &Plan,
        alongside: F,
    ) -> Result<(Round, F::Output), BenchError> {
        let ((outcome, cpu), other) = load::block_on(async {
            tokio::join!(
                run_sampling_cpu(&self.target, plan, &self.mix, &self.ids, &self.server),
                alongside
            )
        })?;
        let (server_cpu, load_cpu) = cpu?;
        let round = Round {
            outcome,
            server_cpu,
            load_cpu,
        };
        Ok((round, other))
    }

    /// Stops the server; returns its peak resident memory (`VmHWM`) over
    /// the whole run.
    pub(super) fn stop(self) -> Result<u64, BenchError> {
        let peak_rss = self.server.memory_bytes("VmHWM")?;
        self.server.stop()?;
        Ok(peak_rss)
    }
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
