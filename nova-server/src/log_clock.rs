//! The timestamp at the start of each log line, made cheaply: the date and
//! time to the second are formatted once per second per thread, and only
//! the microseconds for each line.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// A [`FormatTime`] that writes the UTC time as tracing-subscriber's default
/// timer does (`2026-11-29T09:00:00.123456Z`), at a fraction of its cost:
/// the access log writes one line per request, and formatting the whole
/// date for each was a visible part of a request's CPU time.
///
/// ```
/// use nova_server::LogClock;
///
/// let subscriber = tracing_subscriber::fmt().with_timer(LogClock).finish();
/// # drop(subscriber);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LogClock;

thread_local! {
    /// The second last formatted on this thread, and its text up to the
    /// seconds (`2026-11-29T09:00:00`).
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl FormatTime for LogClock {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        write_time(w, since_epoch.as_secs(), since_epoch.subsec_micros())
    }
}

/// Writes `seconds` after the epoch and `micros` more as
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn write_time(w: &mut impl std::fmt::Write, seconds: u64, micros: u32) -> std::fmt::Result {
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != seconds {
            cached.1.clear();
            let whole = i64::try_from(seconds)
                .ok()
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            // jiff shows a whole second as `2026-11-29T09:00:00Z`.
            write!(cached.1, "{whole}")?;
            cached.1.pop();
            cached.0 = seconds;
        }
        w.write_str(&cached.1)
    })?;
    let mut fraction = *b".000000Z";
    let mut rest = micros.min(999_999);
    for digit in fraction[1..7].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    // Only ASCII digits were written.
    w.write_str(std::str::from_utf8(&fraction).unwrap_or(".000000Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(seconds: u64, micros: u32) -> String {
        let mut out = String::new();
        write_time(&mut out, seconds, micros).unwrap();
        out
    }

    #[test]
    fn times_look_like_tracing_subscribers_default_with_six_fractional_digits() {
        assert_eq!(formatted(1_795_942_800, 1), "2026-11-29T09:00:00.000001Z");
        assert_eq!(
            formatted(1_795_942_859, 999_999),
            "2026-11-29T09:00:59.999999Z"
        );
        assert_eq!(formatted(0, 120_000), "1970-01-01T00:00:00.120000Z");
    }

    #[test]
    fn a_new_second_is_formatted_anew_not_taken_from_the_last() {
        assert_eq!(formatted(1_795_942_800, 5), "2026-11-29T09:00:00.000005Z");
        assert_eq!(formatted(1_795_942_801, 5), "2026-11-29T09:00:01.000005Z");
        assert_eq!(formatted(1_795_942_800, 7), "2026-11-29T09:00:00.000007Z");
    }
}
