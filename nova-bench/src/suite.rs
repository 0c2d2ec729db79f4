//! The benchmark suite behind `cargo xtask bench`: which workloads run on
//! which server, in how many rounds, the scale runs, and the Markdown
//! report with the targets; and `--profile`, one workload under `perf`.
//!
//! Every workload row gets a server process of its own, started once and
//! populated through the API before the first round, so its figures depend
//! on nothing another row did to it. All of them stay up, idle but for
//! their own rounds, while the rows run in interleaved rounds (`rounds`
//! says why); the table gives medians over the rounds. The baselines are
//! rows like the others, on the same CPUs, with the same connections and
//! times.
//!
//! This module runs the parts in order; each part has a module of its own:
//! [`SuiteConfig`] what to run, `workloads` the workload table, `compute`
//! the compute API's configuration, tokens, seeding and captured answers,
//! `launch` starting a workload's server, `measure` a row's server and one
//! round of it, `rounds` the order of the rounds and the medians over them,
//! `scale` the scale run, `environment` the machine and build, `criterion`
//! the router micro-benchmarks, `targets` issue 12's targets, [`Report`]
//! the printed report, and `profile` the `--profile` mode.

// The suite is a long command-line run: it reports progress on stderr (here
// and in its submodules).
#![allow(clippy::print_stderr)]

mod compute;
mod config;
mod criterion;
mod environment;
mod launch;
mod measure;
mod profile;
mod report;
mod rounds;
mod scale;
mod targets;
mod units;
mod workloads;

use std::fs;

use crate::BenchError;
use environment::{describe_load_at_end, describe_run};
use launch::{launch_for, supports_store_flag};
use measure::RowServer;
use report::{Row, RowResult};
use rounds::{round_order, Measured};
use units::seconds;
use workloads::{select, workloads, Api, Store};

pub use config::SuiteConfig;
pub use profile::profile;
pub use report::Report;

/// Runs the whole suite, printing progress on standard error.
pub fn run(config: &SuiteConfig) -> Result<Report, BenchError> {
    fs::create_dir_all(&config.work_dir)
        .map_err(|e| BenchError::io(format!("creating {}", config.work_dir.display()), e))?;
    let has_store_flag = supports_store_flag(&config.server);
    let plan = config.plan();
    let mut preamble = describe_run(config, has_store_flag);
    let rounds = config.rounds();
    preamble.push(format!(
        "method: {} keep-alive HTTP/1.1 connections, each with one request in flight (closed loop); {rounds} rounds per workload, interleaved: round 1 of every row in table order, round 2 in the reverse order, and so on, so each row's rounds are spread over the whole run and the rows a target compares were measured in the same stretches of it; each round {} of warm-up on fresh connections, then {} measured; the table gives the median over the rounds; one server per workload, started once, populated through the API before the first round and kept up (idle) between its rounds; nova-server logs every request (access log on, to a file) unless the row says otherwise",
        plan.connections,
        seconds(plan.warm_up),
        seconds(plan.measure)
    ));

    if !config.only.is_empty() {
        preamble.push(format!(
            "selection: only workloads whose names contain {}, with their baselines{}",
            config
                .only
                .iter()
                .map(|word| format!("`{word}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            if config.runs_scale() {
                ""
            } else {
                "; no scale run"
            }
        ));
    }
    let selected = select(workloads(), &config.only);
    // A build without --store would keep a compute server's servers in the
    // file's sqlite:nova.db, in the working directory; the compute rows'
    // baselines need such a server to capture their answers from.
    let runnable = |store: Store, api: Api| {
        has_store_flag || (store != Store::Sqlite && api == Api::Instances)
    };
    if has_store_flag {
        preamble.extend(compute::prepare(config, &selected)?);
    }

    // Every row's server first, each populated, so the rounds can go
    // across the whole table.
    let mut servers = Vec::new();
    for (index, workload) in selected.into_iter().enumerate() {
        let server = if runnable(workload.store, workload.api) {
            eprintln!(
                "bench: starting {} ({}), {} {}",
                workload.name,
                workload.store.label(),
                workload.instances,
                match workload.api {
                    Api::Instances => "instances",
                    Api::Compute => "servers",
                }
            );
            let launch = launch_for(config, &workload, has_store_flag, index)?;
            Some(RowServer::start(config, &launch, &workload, index)?)
        } else {
            None
        };
        servers.push((workload, server));
    }
    let mut measured: Vec<Vec<_>> = servers.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for at in round_order(servers.len(), round) {
            if let (workload, Some(server)) = &servers[at] {
                eprintln!(
                    "bench: round {} of {rounds}: {} ({})",
                    round + 1,
                    workload.name,
                    workload.store.label()
                );
                measured[at].push(server.measure_round()?);
            }
        }
    }
    let mut rows = Vec::new();
    for ((workload, server), rounds) in servers.into_iter().zip(measured) {
        let result = match server {
            Some(server) => RowResult::Measured(Box::new(Measured::new(rounds, server.stop()?))),
            None => RowResult::NotAvailable("n/a (no --store in this build)".to_owned()),
        };
        rows.push(Row { workload, result });
    }

    let (scale, scale_note) = if config.runs_scale() {
        eprintln!("bench: scale");
        scale::measure_scale(config, has_store_flag)?
    } else {
        (Vec::new(), None)
    };
    preamble.push(describe_load_at_end());
    let router = config
        .criterion_dir
        .as_deref()
        .map(criterion::read_criterion)
        .unwrap_or_default();
    Ok(Report {
        preamble,
        rows,
        scale,
        scale_note,
        router,
        plan,
        rounds,
    })
}
