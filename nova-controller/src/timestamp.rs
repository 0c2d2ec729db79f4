//! When an instance was created or last changed: a UTC instant with
//! microsecond precision, shown as ISO 8601 (`2026-11-29T09:00:00.000000Z`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant in whole microseconds since the Unix epoch.
///
/// Microseconds because that is what PostgreSQL's `timestamptz` keeps, so a
/// timestamp reads back exactly as it was written from every store. It is
/// shown with exactly six fractional digits, so every timestamp has the same
/// length and sorts as text.
///
/// ```
/// use nova_controller::Timestamp;
///
/// let t = Timestamp::from_unix_micros(1_795_942_800_000_001).unwrap();
/// assert_eq!(t.to_string(), "2026-11-29T09:00:00.000001Z");
/// assert_eq!(t.unix_micros(), 1_795_942_800_000_001);
/// ```
///
/// It is kept as one `i64` (8 bytes, half of a `jiff::Timestamp`): every
/// instance carries two, and a memory store may hold millions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time, truncated to whole microseconds.
    pub fn now() -> Self {
        Timestamp(jiff::Timestamp::now().as_microsecond())
    }

    /// The instant `micros` microseconds after the Unix epoch; `None` outside
    /// the years -9999 to 9999.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        jiff::Timestamp::from_microsecond(micros)
            .ok()
            .map(|_| Timestamp(micros))
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(&self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every constructor checked the range, so this cannot fail.
        let instant = jiff::Timestamp::from_microsecond(self.0).map_err(|_| fmt::Error)?;
        write!(f, "{instant:.6}")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    /// Any RFC 3339 instant (`2026-11-29T09:00:00Z`,
    /// `2026-11-29T10:00:00.5+01:00`), truncated to whole microseconds.
    fn from_str(text: &str) -> Result<Self, TimestampError> {
        let instant: jiff::Timestamp = text.parse().map_err(|_| TimestampError(text.to_owned()))?;
        Ok(Timestamp(instant.as_microsecond()))
    }
}

/// Text that is not an RFC 3339 instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 timestamp")]
pub struct TimestampError(pub String);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Timestamp {
    /// This instant shown to whole seconds, as Nova shows a server's
    /// `created` and `updated`: `2026-11-29T09:00:00Z`.
    pub fn to_seconds_string(&self) -> String {
        let seconds = self.0.div_euclid(1_000_000);
        jiff::Timestamp::from_second(seconds)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    /// This instant `duration` later, saturating at the range's end.
    pub fn after(&self, duration: std::time::Duration) -> Timestamp {
        self.plus_micros(i64::try_from(duration.as_micros()).unwrap_or(i64::MAX))
    }

    /// This instant `micros` microseconds later (earlier if negative),
    /// saturating at the range's ends.
    pub fn plus_micros(&self, micros: i64) -> Timestamp {
        let sum = self.0.saturating_add(micros);
        Timestamp::from_unix_micros(sum).unwrap_or(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_shown_in_utc_with_six_fractional_digits() {
        for (micros, shown) in [
            (0, "1970-01-01T00:00:00.000000Z"),
            (1_795_942_800_000_000, "2026-11-29T09:00:00.000000Z"),
            (1_795_942_800_123_456, "2026-11-29T09:00:00.123456Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
        ] {
            let t = Timestamp::from_unix_micros(micros).unwrap();
            assert_eq!(t.to_string(), shown);
            assert_eq!(t.unix_micros(), micros);
            assert_eq!(serde_json::to_value(t).unwrap(), shown);
        }
    }

    #[test]
    fn now_has_whole_microseconds_and_moves_forward() {
        let a = Timestamp::now();
        let b = Timestamp::now();
        assert!(a <= b);
        assert_eq!(Timestamp::from_unix_micros(a.unix_micros()), Some(a));
        assert!(a.to_string().ends_with('Z') && a.to_string().len() == 27);
    }

    #[test]
    fn instants_outside_jiffs_range_are_refused() {
        assert_eq!(Timestamp::from_unix_micros(i64::MAX), None);
    }
}
