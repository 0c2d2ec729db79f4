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
        if let Some(text) = self.common_era_text() {
            return f.write_str(text.as_str());
        }
        // Every constructor checked the range, so this cannot fail.
        let instant = jiff::Timestamp::from_microsecond(self.0).map_err(|_| fmt::Error)?;
        write!(f, "{instant:.6}")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.common_era_text() {
            Some(text) => serializer.serialize_str(text.as_str()),
            None => serializer.collect_str(self),
        }
    }
}

/// A timestamp's text, `2026-11-29T09:00:00.000001Z`, made without the
/// formatting machinery: every answer about an instance or a server shows
/// two, and jiff's general formatter was a visible part of a `show`.
struct TimestampText {
    bytes: [u8; 27],
}

impl TimestampText {
    fn as_str(&self) -> &str {
        // Only ASCII was written.
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }
}

impl Timestamp {
    /// The text of this instant if its year has four digits (0000 to
    /// 9999), which jiff writes the same way; other years are jiff's to
    /// write.
    fn common_era_text(&self) -> Option<TimestampText> {
        let seconds = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        if !(0..=9999).contains(&year) {
            return None;
        }
        let of_day = seconds.rem_euclid(86_400);
        let mut bytes = *b"0000-00-00T00:00:00.000000Z";
        put_digits(&mut bytes[0..4], year);
        put_digits(&mut bytes[5..7], month);
        put_digits(&mut bytes[8..10], day);
        put_digits(&mut bytes[11..13], of_day / 3600);
        put_digits(&mut bytes[14..16], of_day / 60 % 60);
        put_digits(&mut bytes[17..19], of_day % 60);
        put_digits(&mut bytes[20..26], micros);
        Some(TimestampText { bytes })
    }
}

/// Writes `value` (not negative) in decimal into `out`, zero-padded to its
/// width.
fn put_digits(out: &mut [u8], mut value: i64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian (year, month, day) of the day `days` after
/// 1970-01-01: Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
        if let Some(text) = self.common_era_text() {
            let mut shown = String::with_capacity(20);
            shown.push_str(text.as_str().get(..19).unwrap_or_default());
            shown.push('Z');
            return shown;
        }
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
    fn every_instant_is_shown_as_jiff_shows_it() {
        // A second inside jiff's ends, which are not whole seconds.
        let range = (
            jiff::Timestamp::MIN.as_microsecond() + 1_000_000,
            jiff::Timestamp::MAX.as_microsecond() - 1_000_000,
        );
        // Year and leap-day boundaries, the ends of the range, and a spread
        // of instants over all of it.
        let mut micros = vec![
            range.0,
            range.1,
            0,
            -1,
            951_782_400_000_000 - 1, // 2000-02-29 starts
            951_868_800_000_000,     // 2000-03-01
            -62_167_219_200_000_000, // 0000-01-01
            -62_167_219_200_000_001,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..100_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let span = (range.1 - range.0) as u64;
            micros.push(range.0 + (state % span) as i64);
        }
        for micros in micros {
            let t = Timestamp::from_unix_micros(micros).unwrap();
            let jiffs = format!("{:.6}", jiff::Timestamp::from_microsecond(micros).unwrap());
            assert_eq!(t.to_string(), jiffs, "{micros}");
            assert_eq!(serde_json::to_value(t).unwrap(), jiffs, "{micros}");
            let whole = jiff::Timestamp::from_second(micros.div_euclid(1_000_000)).unwrap();
            assert_eq!(t.to_seconds_string(), whole.to_string(), "{micros}");
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
