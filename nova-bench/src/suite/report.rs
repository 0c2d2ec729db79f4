//! The report: everything one run measured, rendered as Markdown (the
//! preamble, the workload table of medians over the rounds, the scale
//! table, the router results) and judged against issue 12's targets
//! (`targets`).

use std::fmt::Write as _;
use std::time::Duration;

use super::criterion::MicroResult;
use super::rounds::Measured;
use super::scale::{ScalePoint, NAME_BYTES};
use super::targets::{self, RowFigures, RowState, ScaleFigures};
use super::units::{mebibytes, micros, thousands};
use super::workloads::{Store, Workload, KEYSTONE_SERVER_SHOW};
use crate::load::Plan;

/// What one workload row came to: its figures, or why it did not run.
#[derive(Debug, Clone)]
pub(super) enum RowResult {
    /// The workload ran.
    Measured(Box<Measured>),
    /// The workload could not run; the text, shown in its row, says why.
    NotAvailable(String),
}

/// One row of the workload table.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) workload: Workload,
    pub(super) result: RowResult,
}

/// Everything one run measured, ready to print.
#[derive(Debug, Clone)]
pub struct Report {
    pub(super) preamble: Vec<String>,
    pub(super) rows: Vec<Row>,
    pub(super) scale: Vec<ScalePoint>,
    pub(super) scale_note: Option<String>,
    pub(super) router: Vec<MicroResult>,
    /// One round's plan.
    pub(super) plan: Plan,
    /// Rounds per workload row.
    pub(super) rounds: usize,
}

impl Report {
    /// The report as Markdown: what ran where, the workload table, the scale
    /// table, the router micro-benchmarks and the targets.
    pub fn to_markdown(&self, date: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# nova-rs benchmark, {date}\n");
        for line in &self.preamble {
            let _ = writeln!(out, "- {line}");
        }

        let _ = writeln!(out, "\n## Workloads: medians over {} rounds\n", self.rounds);
        let _ = writeln!(
            out,
            "| workload | store | instances | req/s | req/s × baseline | p50 µs | p99 µs | p99.9 µs | server peak RSS | errors | server CPU | server CPU µs/req | CPU/req × baseline | CPU µs/req by round | load CPU | body bytes |"
        );
        let _ = writeln!(
            out,
            "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|"
        );
        for row in &self.rows {
            let w = &row.workload;
            let instances = if w.instances == 0 {
                "-".to_owned()
            } else {
                thousands(w.instances)
            };
            match &row.result {
                RowResult::NotAvailable(why) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {instances} | {why} | | | | | | | | | | | | |",
                        w.name,
                        w.store.label()
                    );
                }
                RowResult::Measured(m) => {
                    // index answers are 850 times larger than show's, and
                    // the compute API's answers are of other sizes again:
                    // each is compared with the baseline serving a body of
                    // its size.
                    let base = self
                        .measured(w.compared_with, Store::Baseline)
                        .filter(|_| w.store != Store::Baseline);
                    let ratio = |figure: fn(&Measured) -> f64| {
                        base.map(|b| format!("{:.2}", figure(m) / figure(b).max(f64::EPSILON)))
                            .unwrap_or_else(|| "1.00".to_owned())
                    };
                    let (low, high) = m.cpu_us_range();
                    let _ = writeln!(
                        out,
                        "| {} | {} | {instances} | {} | {} | {} | {} | {} | {} | {} | {:.0} % | {:.1} | {} | {low:.1}–{high:.1} | {:.0} % | {} |",
                        w.name,
                        w.store.label(),
                        thousands(m.per_second().round() as u64),
                        ratio(Measured::per_second),
                        micros(m.latency_us(0.5)),
                        micros(m.latency_us(0.99)),
                        micros(m.latency_us(0.999)),
                        mebibytes(m.peak_rss),
                        m.error_summary(),
                        m.server_cpu() * 100.0,
                        m.cpu_us_per_request(),
                        ratio(Measured::cpu_us_per_request),
                        m.load_cpu() * 100.0,
                        thousands(m.mean_body_bytes()),
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "\nEach figure is the median over the row's rounds (each round's req/s, latency percentile, CPU share and CPU time per request, then the middle one), except: errors, which count every round's answers with another status than the workload expects (by status) and requests that got no answer; server peak RSS, the peak over the whole run (rows that create keep adding instances or servers round after round, so their later rounds run on a larger store); and the last column but one, the lowest and highest round's CPU time per request. req/s counts every measured request. CPU is the share of one core used during the measured time; server CPU µs/req is the server's CPU time per request, the cost figure that holds even when other processes share the cores (compare the load average above), and the one the targets use. × baseline divides by the baseline row serving a body of the row's size."
        );
        if let Some(note) = self.token_note() {
            let _ = writeln!(out, "\n{note}");
        }

        if !self.scale.is_empty() {
            self.write_scale(&mut out);
        }

        if !self.router.is_empty() {
            let _ = writeln!(
                out,
                "\n## Router: `Mapper::recognize` (criterion, mean time per call)\n"
            );
            let _ = writeln!(out, "| benchmark | routes | time |");
            let _ = writeln!(out, "|---|--:|--:|");
            for result in &self.router {
                let (name, routes) = result.id.rsplit_once('/').unwrap_or((&result.id, ""));
                let _ = writeln!(out, "| {name} | {routes} | {:.0} ns |", result.mean_ns);
            }
        }

        let targets = self.targets();
        if !targets.is_empty() {
            let _ = writeln!(out, "\n## Targets\n");
            let _ = writeln!(
                out,
                "Issue 12's targets, each computed from this run's medians over {} rounds; a ratio of server CPU time per request unless it says req/s.{}\n",
                self.rounds,
                if self.rounds < 3 {
                    " With fewer than 3 rounds a median is the mean of the rounds, so one disturbed round still counts: this run shows the suite works and where things stand, a full run's 5 rounds are the ones to judge by."
                } else {
                    ""
                }
            );
            for judged in targets {
                let _ = writeln!(out, "- {}", judged.line);
            }
        }
        out
    }

    /// The scale table, the rounds and the notes on them.
    fn write_scale(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Scale: memory store, `show` over random ids\n");
        let _ = writeln!(
            out,
            "| instances | server RSS | bytes per instance beyond its name | show req/s | show p99 µs | p99 change |"
        );
        let _ = writeln!(out, "|--:|--:|--:|--:|--:|--:|");
        let first_p99 = self.scale.first().map(ScalePoint::p99);
        for point in &self.scale {
            let p99 = point.p99();
            let change = first_p99
                .filter(|first| *first > 0.0)
                .map(|first| format!("{:+.0} %", (p99 / first - 1.0) * 100.0))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {change} |",
                thousands(point.instances),
                mebibytes(point.rss),
                point.bytes_per_instance,
                thousands(point.per_second().round() as u64),
                micros(p99),
            );
        }
        for point in &self.scale {
            let p99s: Vec<String> = point
                .rounds
                .iter()
                .map(|o| micros(o.latency_us(0.99)))
                .collect();
            let _ = writeln!(
                out,
                "\n{} instances, `show` p99 µs by round: {}.",
                thousands(point.instances),
                p99s.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\nBytes per instance: (resident memory now − resident memory of the same server before any instance was created, with its connections open) / instances created, minus the {NAME_BYTES} bytes of each name. Each point is a server process of its own."
        );
        if let Some(note) = &self.scale_note {
            let _ = writeln!(out, "\n{note}.");
        }
    }

    /// What validating a Keystone token costs per request, from the
    /// `server-show` rows with either token, on each store both ran on.
    fn token_note(&self) -> Option<String> {
        let pairs: Vec<(Store, &Measured, &Measured)> = [Store::Memory, Store::Sqlite]
            .into_iter()
            .filter_map(|store| {
                let shared = self.measured("server-show", store)?;
                let keystone = self.measured(KEYSTONE_SERVER_SHOW, store)?;
                Some((store, shared, keystone))
            })
            .collect();
        if pairs.is_empty() {
            return None;
        }
        let figures: Vec<String> = pairs
            .iter()
            .map(|(store, shared, keystone)| {
                let (with_shared, with_keystone) =
                    (shared.cpu_us_per_request(), keystone.cpu_us_per_request());
                format!(
                    "{} {with_keystone:.1} µs against {with_shared:.1} µs ({:+.1} µs, {:+.0} %)",
                    store.label(),
                    with_keystone - with_shared,
                    (with_keystone / with_shared.max(f64::EPSILON) - 1.0) * 100.0,
                )
            })
            .collect();
        let mut note = format!(
            "Token validation: `server-show` costs the server, per request, with a Fernet token from the identity service (`{KEYSTONE_SERVER_SHOW}`) against the shared static token: {}.",
            figures.join("; ")
        );
        let sizes: Vec<String> = pairs
            .iter()
            .filter(|(_, shared, keystone)| shared.mean_body_bytes() != keystone.mean_body_bytes())
            .map(|(store, shared, keystone)| {
                format!(
                    "{} {} bytes against {}",
                    store.label(),
                    thousands(keystone.mean_body_bytes()),
                    thousands(shared.mean_body_bytes())
                )
            })
            .collect();
        if !sizes.is_empty() {
            let _ = write!(
                note,
                " The answers differ ({}): the static token acts as an admin and is shown the admin-only fields a project member is not, so part of the difference is the view's, not the token's.",
                sizes.join("; ")
            );
        }
        Some(note)
    }

    fn measured(&self, name: &str, store: Store) -> Option<&Measured> {
        self.rows.iter().find_map(|row| match &row.result {
            RowResult::Measured(m) if row.workload.name == name && row.workload.store == store => {
                Some(&**m)
            }
            _ => None,
        })
    }

    /// The state of the row `name` on `store`, as the targets read it;
    /// `None` when this run did not select it.
    fn row_state(&self, name: &str, store: Store) -> Option<RowState> {
        let row = self
            .rows
            .iter()
            .find(|row| row.workload.name == name && row.workload.store == store)?;
        Some(match &row.result {
            RowResult::Measured(m) => RowState::Measured(RowFigures {
                per_second: m.per_second(),
                cpu_us_per_request: m.cpu_us_per_request(),
                saturated: m.saturated(),
            }),
            RowResult::NotAvailable(why) => RowState::NotAvailable(why.clone()),
        })
    }

    fn targets(&self) -> Vec<targets::Judged> {
        let scale = match self.scale.as_slice() {
            [small, .., large] => Some(ScaleFigures {
                small_instances: small.instances,
                large_instances: large.instances,
                small_p99_us: small.p99(),
                large_p99_us: large.p99(),
                large_bytes_per_instance: large.bytes_per_instance,
            }),
            _ => None,
        };
        targets::judge(|name, store| self.row_state(name, store), scale)
    }

    /// How long each workload was measured in each of its rounds.
    pub fn measured_time(&self) -> Duration {
        self.plan.measure
    }

    /// Whether any workload had errors (the table shows which).
    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|row| match &row.result {
            RowResult::Measured(m) => m.errors() > 0,
            RowResult::NotAvailable(_) => false,
        }) || self.scale.iter().any(|p| p.errors() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Outcome;
    use crate::suite::rounds::Round;
    use crate::suite::workloads::workloads;

    /// A row's figures: one round of 10,000 requests in one second, the
    /// server using `server_cpu` of a core, answers of `body_bytes` each.
    fn measured(server_cpu: f64, body_bytes: u64) -> RowResult {
        let requests = 10_000;
        let round = Round {
            outcome: Outcome {
                latency_ns: hdrhistogram::Histogram::new(3).unwrap(),
                ok: requests,
                unexpected: Default::default(),
                transport_errors: 0,
                body_bytes: requests * body_bytes,
                measured: Duration::from_secs(1),
            },
            server_cpu,
            load_cpu: 1.0,
        };
        RowResult::Measured(Box::new(Measured::new(vec![round], 0)))
    }

    fn report(rows: Vec<Row>) -> Report {
        Report {
            preamble: vec![],
            rows,
            scale: vec![],
            scale_note: None,
            router: vec![],
            plan: Plan {
                connections: 1,
                warm_up: Duration::ZERO,
                measure: Duration::ZERO,
            },
            rounds: 1,
        }
    }

    #[test]
    fn the_token_note_gives_each_stores_cost_per_request_with_either_token() {
        let figures = |name: &str, store: Store| match (name, store) {
            ("server-show", Store::Memory) => Some(measured(0.5, 1_900)),
            (KEYSTONE_SERVER_SHOW, Store::Memory) => Some(measured(0.6, 1_500)),
            ("server-show", Store::Sqlite) => Some(measured(0.8, 1_900)),
            (KEYSTONE_SERVER_SHOW, Store::Sqlite) => Some(measured(1.0, 1_500)),
            _ => None,
        };
        let rows = workloads()
            .into_iter()
            .filter_map(|workload| {
                let result = figures(workload.name, workload.store)?;
                Some(Row { workload, result })
            })
            .collect();
        let text = report(rows).to_markdown("2026-01-01");
        assert!(
            text.contains("memory 60.0 µs against 50.0 µs (+10.0 µs, +20 %); sqlite 100.0 µs against 80.0 µs (+20.0 µs, +25 %)"),
            "{text}"
        );
        assert!(
            text.contains("The answers differ (memory 1,500 bytes against 1,900; sqlite 1,500 bytes against 1,900)"),
            "{text}"
        );
    }

    #[test]
    fn no_token_note_is_given_without_both_server_show_rows() {
        let rows = workloads()
            .into_iter()
            .filter(|w| w.name == "server-show")
            .map(|workload| Row {
                workload,
                result: measured(0.5, 1_900),
            })
            .collect();
        let text = report(rows).to_markdown("2026-01-01");
        assert!(!text.contains("Token validation"), "{text}");
    }

    #[test]
    fn sqlite_rows_say_they_were_not_run_when_the_server_has_no_store_flag() {
        let report = Report {
            preamble: vec![],
            rows: workloads()
                .into_iter()
                .filter(|w| w.store == Store::Sqlite)
                .map(|workload| Row {
                    workload,
                    result: RowResult::NotAvailable("n/a (no --store in this build)".into()),
                })
                .collect(),
            scale: vec![],
            scale_note: None,
            router: vec![],
            plan: Plan {
                connections: 1,
                warm_up: Duration::ZERO,
                measure: Duration::ZERO,
            },
            rounds: 1,
        };
        let text = report.to_markdown("2026-01-01");
        assert_eq!(
            text.matches("n/a (no --store in this build)").count(),
            report.rows.len() + 2,
            "each row, and the SQLite show and create targets"
        );
        assert!(text.contains("| server-create | sqlite | - | n/a"));
        assert!(text.contains("| servers-detail-1000 | sqlite | 1,000 | n/a"));
        assert!(text.contains("| create | sqlite | - | n/a"));
        assert!(text.contains("| mixed | sqlite | 10,000 | n/a"));
    }
}
