//! Rounds and medians: every workload row runs in several rounds,
//! interleaved with every other row's, and the report gives the median of
//! each figure over a row's rounds.
//!
//! The rounds go across the whole table: round 1 of every row, then round 2
//! of every row in the reverse order, and so on, each row's server kept up
//! in between. A disturbance on the shared machine (a build, someone else's
//! benchmark) then lands in one round of a few rows rather than in every
//! round of one row, and the median drops it; and any two rows a target
//! compares, not only a row and its baseline (`show` on SQLite against
//! `show` on memory), were measured over the same stretch of the run, in
//! the same machine state. Reversing the order every other round keeps a
//! row from always running right after the same neighbour (one that leaves
//! the caches cold, say).

use crate::load::Outcome;

/// The rows to run in round `round` (counted from 0), as indices into a
/// table of `rows` rows: in table order in even rounds, in reverse in odd
/// ones.
pub(super) fn round_order(rows: usize, round: usize) -> Vec<usize> {
    if round % 2 == 0 {
        (0..rows).collect()
    } else {
        (0..rows).rev().collect()
    }
}

/// The median of `values` (the mean of the middle two for an even count);
/// 0 for none.
pub(super) fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// One round of one workload: what the load generator saw, and the share
/// of one core the server and the load generator used meanwhile.
#[derive(Debug, Clone)]
pub(super) struct Round {
    pub(super) outcome: Outcome,
    pub(super) server_cpu: f64,
    pub(super) load_cpu: f64,
}

impl Round {
    /// The server's CPU time per request in this round, in microseconds.
    pub(super) fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu * 1e6 / self.outcome.per_second().max(f64::EPSILON)
    }
}

/// A workload row's rounds and the figures the report gives for it: each a
/// median over the rounds, except the errors (every round's, counted) and
/// the peak memory (over the whole run).
#[derive(Debug, Clone)]
pub(super) struct Measured {
    rounds: Vec<Round>,
    /// The server's peak resident memory (`VmHWM`) after the last round.
    pub(super) peak_rss: u64,
}

impl Measured {
    pub(super) fn new(rounds: Vec<Round>, peak_rss: u64) -> Self {
        Measured { rounds, peak_rss }
    }

    fn median_of(&self, figure: impl Fn(&Round) -> f64) -> f64 {
        median(self.rounds.iter().map(figure))
    }

    /// Requests per second, the median over the rounds.
    pub(super) fn per_second(&self) -> f64 {
        self.median_of(|r| r.outcome.per_second())
    }

    /// The server's CPU time per request in microseconds, the median over
    /// the rounds of each round's figure.
    pub(super) fn cpu_us_per_request(&self) -> f64 {
        self.median_of(Round::cpu_us_per_request)
    }

    /// The lowest and the highest of the rounds' CPU time per request.
    pub(super) fn cpu_us_range(&self) -> (f64, f64) {
        self.rounds
            .iter()
            .map(Round::cpu_us_per_request)
            .fold(None, |range, us| match range {
                None => Some((us, us)),
                Some((low, high)) => Some((us.min(low), us.max(high))),
            })
            .unwrap_or((0.0, 0.0))
    }

    /// The latency at `quantile` in microseconds, the median over the
    /// rounds of each round's.
    pub(super) fn latency_us(&self, quantile: f64) -> f64 {
        self.median_of(|r| r.outcome.latency_us(quantile))
    }

    /// The share of a core the server used, the median over the rounds.
    pub(super) fn server_cpu(&self) -> f64 {
        self.median_of(|r| r.server_cpu)
    }

    /// The share of a core the load generator used, the median over the
    /// rounds.
    pub(super) fn load_cpu(&self) -> f64 {
        self.median_of(|r| r.load_cpu)
    }

    /// Every round's requests as one outcome.
    fn all(&self) -> Option<Outcome> {
        let (first, rest) = self.rounds.split_first()?;
        Some(
            rest.iter()
                .fold(first.outcome.clone(), |all, r| all.followed_by(&r.outcome)),
        )
    }

    /// Requests without the expected answer, in all rounds.
    pub(super) fn errors(&self) -> u64 {
        self.rounds.iter().map(|r| r.outcome.errors()).sum()
    }

    /// The errors of all rounds, by status ([`Outcome::error_summary`]).
    pub(super) fn error_summary(&self) -> String {
        self.all()
            .map_or_else(|| "0".to_owned(), |all| all.error_summary())
    }

    /// The mean answer body size over all rounds, in bytes.
    pub(super) fn mean_body_bytes(&self) -> u64 {
        self.all().map_or(0, |all| all.mean_body_bytes())
    }

    /// Whether its requests per second were limited by its own work: by
    /// the server using (the median of) 90 % of its core or more, or by
    /// the load generator using its. When neither was, other processes
    /// took the CPUs, and a ratio of its requests per second to another
    /// row's means little; its CPU time per request still holds.
    pub(super) fn saturated(&self) -> bool {
        self.server_cpu() >= 0.9 || self.load_cpu() >= 0.9
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;

    /// A round of `requests` requests in one second, `errors` of them
    /// answered 500, with the server using `server_cpu` of a core, answers
    /// of 100 bytes and every latency `latency_us`.
    fn round(requests: u64, errors: u64, server_cpu: f64, latency_us: u64) -> Round {
        let mut latency_ns = hdrhistogram::Histogram::new(3).unwrap();
        latency_ns.record_n(latency_us * 1_000, requests).unwrap();
        Round {
            outcome: Outcome {
                latency_ns,
                ok: requests - errors,
                unexpected: if errors > 0 {
                    BTreeMap::from([(500, errors)])
                } else {
                    BTreeMap::new()
                },
                transport_errors: 0,
                body_bytes: requests * 100,
                measured: Duration::from_secs(1),
            },
            server_cpu,
            load_cpu: 1.0,
        }
    }

    #[test]
    fn a_median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median([]), 0.0);
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median([7.0]), 7.0);
    }

    #[test]
    fn rounds_alternate_between_table_order_and_its_reverse() {
        assert_eq!(round_order(3, 0), [0, 1, 2]);
        assert_eq!(round_order(3, 1), [2, 1, 0]);
        assert_eq!(round_order(3, 2), [0, 1, 2]);
        assert!(round_order(0, 1).is_empty());
        // Over any two consecutive rounds each row runs once per round, and
        // no row is always the first one.
        for rows in 1..5 {
            for round in 0..4 {
                let mut order = round_order(rows, round);
                order.sort_unstable();
                assert_eq!(order, (0..rows).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_rows_figures_are_medians_over_its_rounds_so_one_disturbed_round_does_not_count() {
        // The third round shared the core with something else: half the
        // requests, twice the CPU per request, ten times the latency.
        let measured = Measured::new(
            vec![
                round(10_000, 0, 0.5, 100),
                round(12_000, 0, 0.6, 110),
                round(5_000, 0, 0.5, 1_000),
                round(11_000, 0, 0.55, 105),
                round(9_000, 0, 0.45, 95),
            ],
            4_096,
        );
        assert_eq!(measured.per_second(), 10_000.0);
        assert_eq!(measured.cpu_us_per_request(), 50.0);
        assert_eq!(measured.cpu_us_range(), (50.0, 100.0));
        assert_eq!(measured.server_cpu(), 0.5);
        assert!((measured.latency_us(0.99) - 105.0).abs() < 0.1);
        assert_eq!(measured.peak_rss, 4_096);
    }

    #[test]
    fn errors_and_body_sizes_count_every_round() {
        let measured = Measured::new(
            vec![
                round(1_000, 3, 0.5, 100),
                round(1_000, 0, 0.5, 100),
                round(2_000, 4, 0.5, 100),
            ],
            0,
        );
        assert_eq!(measured.errors(), 7);
        assert_eq!(measured.error_summary(), "7 × 500");
        assert_eq!(measured.mean_body_bytes(), 100);
        let none = Measured::new(vec![], 0);
        assert_eq!(none.errors(), 0);
        assert_eq!(none.error_summary(), "0");
        assert_eq!(none.per_second(), 0.0);
    }

    #[test]
    fn a_row_where_neither_side_used_its_core_is_not_saturated() {
        let busy_server = Measured::new(vec![round(1_000, 0, 0.95, 100)], 0);
        assert!(busy_server.saturated());
        let mut idle = round(1_000, 0, 0.5, 100);
        idle.load_cpu = 0.5;
        assert!(!Measured::new(vec![idle], 0).saturated());
    }
}
