//! The benchmark suite behind `cargo xtask bench`: which workloads run on
//! which server, the scale runs, and the Markdown report with the targets.
//!
//! Every workload gets a server process of its own, started fresh and
//! populated through the API, so its peak memory and its figures depend on
//! nothing that ran before it. The baseline runs first, on the same CPUs,
//! with the same connections and times.
//!
//! This module runs the parts in order; each part has a module of its own:
//! [`SuiteConfig`] what to run, `workloads` the workload table, `compute`
//! the compute API's configuration, tokens, seeding and captured answers, `launch`
//! starting a workload's server, `measure` measuring one workload, `scale`
//! the scale run, `environment` the machine and build, `criterion` the
//! router micro-benchmarks, and [`Report`] the printed report.

// The suite is a long command-line run: it reports progress on stderr (here
// and in its submodules).
#![allow(clippy::print_stderr)]

mod compute;
mod config;
mod criterion;
mod environment;
mod launch;
mod measure;
mod report;
mod scale;
mod units;
mod workloads;

use std::fs;

use crate::BenchError;
use environment::{describe_load_at_end, describe_run};
use launch::{launch_for, supports_store_flag};
use measure::measure_workload;
use report::{Row, RowResult};
use units::seconds;
use workloads::{select, workloads, Api, Store};

pub use config::SuiteConfig;
pub use report::Report;

/// Runs the whole suite, printing progress on standard error.
pub fn run(config: &SuiteConfig) -> Result<Report, BenchError> {
    fs::create_dir_all(&config.work_dir)
        .map_err(|e| BenchError::io(format!("creating {}", config.work_dir.display()), e))?;
    let has_store_flag = supports_store_flag(&config.server);
    let plan = config.plan();
    let mut preamble = describe_run(config, has_store_flag);
    preamble.push(format!(
        "method: {} keep-alive HTTP/1.1 connections, each with one request in flight (closed loop); {} warm-up then {} measured per workload; a fresh server per workload, populated through the API; nova-server logs every request (access log on, to a file) unless the row says otherwise",
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

    let mut rows = Vec::new();
    for (index, workload) in selected.into_iter().enumerate() {
        let result = if !runnable(workload.store, workload.api) {
            RowResult::NotAvailable("n/a (no --store in this build)".to_owned())
        } else {
            eprintln!(
                "bench: {} ({}), {} {}",
                workload.name,
                workload.store.label(),
                workload.instances,
                match workload.api {
                    Api::Instances => "instances",
                    Api::Compute => "servers",
                }
            );
            let launch = launch_for(config, &workload, has_store_flag, index)?;
            RowResult::Measured(Box::new(measure_workload(
                config, &launch, &workload, index,
            )?))
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
    })
}
