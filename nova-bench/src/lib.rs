//! Benchmarking for nova-rs, and nothing else: this crate is what
//! `cargo xtask bench` runs, and no other crate depends on it.
//!
//! It measures the real `nova-server` binary the way a user loads it: over
//! TCP keep-alive connections on 127.0.0.1, with a fixed number of
//! connections each sending one request at a time (a closed loop), for a
//! fixed time after a warm-up. Beside it, in the same run, it measures a
//! bare hyper server that answers a fixed body of the same size
//! ([`baseline`]), the practical limit on this machine, so every figure can
//! be read as a fraction of what hyper alone would do.
//!
//! - [`load`]: the load generator, on hyper's client: workloads as a mix of
//!   operations, latency in an HDR histogram, every unexpected status counted
//!   as an error.
//! - [`baseline`]: the bare hyper server.
//! - [`process`]: starting a server binary, finding its address in its log,
//!   reading its memory and CPU time from `/proc`, stopping it.
//! - [`suite`]: the workloads in interleaved rounds, the scale runs, the
//!   printed report of medians with the targets, and `--profile`.
//!
//! # Driving a server with the load generator
//!
//! ```
//! use std::time::Duration;
//! use nova_bench::load::{Mix, Op, Plan, Target};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let target = Target::new(listener.local_addr().unwrap(), "open-sesame").unwrap();
//! tokio::spawn(nova_bench::baseline::serve(listener, target.token().clone()));
//!
//! let plan = Plan { connections: 2, warm_up: Duration::ZERO, measure: Duration::from_millis(100) };
//! let ids = nova_bench::load::made_up_ids(10);
//! let outcome = target.run(&plan, &Mix::only(Op::Show), &ids).await;
//! assert!(outcome.requests() > 0);
//! assert_eq!(outcome.errors(), 0);
//! # });
//! ```

pub mod baseline;
mod error;
pub mod load;
pub mod process;
pub mod suite;

pub use error::BenchError;
