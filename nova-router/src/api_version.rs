//! The compute API's microversion: which version of the API a request
//! asked for, as a typed request extension.
//!
//! Nova's API changes in small numbered steps, `2.1`, `2.2`, … (its
//! `api_version_request.py`); a client names the one it speaks in the
//! `OpenStack-API-Version: compute X.Y` header. One layer of the pipeline
//! (nova-filters' microversion filter) reads the header, checks the
//! version against the range the API implements and stores the result as
//! an [`ApiVersion`] extension; controllers ask it (`if version >=
//! ApiVersion::new(2, 47)`) and never read the header themselves.

use std::fmt;
use std::str::FromStr;

use crate::Request;

/// A microversion, `MAJOR.MINOR`; ordered as versions are (`2.9 < 2.10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    major: u16,
    minor: u16,
}

/// A version string that is not `MAJOR.MINOR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("API Version String {0} is of invalid format. Must be of format MajorNum.MinorNum.")]
pub struct MalformedApiVersion(pub String);

impl ApiVersion {
    /// The version every request gets that names none: Nova's
    /// `DEFAULT_API_VERSION`, its minimum.
    pub const DEFAULT: ApiVersion = ApiVersion::new(2, 1);

    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        ApiVersion { major, minor }
    }

    /// The major number, `2` of `2.47`.
    pub fn major(self) -> u16 {
        self.major
    }

    /// The minor number, `47` of `2.47`.
    pub fn minor(self) -> u16 {
        self.minor
    }

    /// The version the request was given by the microversion filter;
    /// [`ApiVersion::DEFAULT`] where no such filter ran.
    pub fn of(req: &Request) -> ApiVersion {
        req.extensions()
            .get::<ApiVersion>()
            .copied()
            .unwrap_or(ApiVersion::DEFAULT)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for ApiVersion {
    type Err = MalformedApiVersion;

    /// Nova's rule, `^([1-9]\d*)\.([1-9]\d*|0)$`: no sign, no white space,
    /// no leading zeros.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || MalformedApiVersion(text.to_owned());
        let (major, minor) = text.split_once('.').ok_or_else(malformed)?;
        let number = |part: &str, zero_allowed: bool| -> Option<u16> {
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            let leading_zero = part.starts_with('0') && (part.len() > 1 || !zero_allowed);
            if digits && !leading_zero {
                part.parse().ok()
            } else {
                None
            }
        };
        match (number(major, false), number(minor, true)) {
            (Some(major), Some(minor)) => Ok(ApiVersion { major, minor }),
            _ => Err(malformed()),
        }
    }
}

/// The microversions an API implements, from `min` to `max` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersionRange {
    /// The oldest version served.
    pub min: ApiVersion,
    /// The newest version served, what `latest` means.
    pub max: ApiVersion,
}

impl ApiVersionRange {
    /// Whether `version` is served.
    pub fn contains(&self, version: ApiVersion) -> bool {
        self.min <= version && version <= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_by_novas_rule() {
        for (text, expected) in [
            ("2.1", Some((2, 1))),
            ("2.10", Some((2, 10))),
            ("2.0", Some((2, 0))),
            ("3.0", Some((3, 0))),
            ("10.100", Some((10, 100))),
            ("2", None),
            ("2.", None),
            (".1", None),
            ("02.1", None),
            ("2.01", None),
            ("0.1", None),
            ("2.1.1", None),
            (" 2.1", None),
            ("2.1 ", None),
            ("+2.1", None),
            ("2.-1", None),
            ("latest", None),
            ("", None),
            ("99999.1", None),
        ] {
            let parsed = text
                .parse::<ApiVersion>()
                .ok()
                .map(|v| (v.major(), v.minor()));
            assert_eq!(parsed, expected, "{text:?}");
        }
        let error = "2.x".parse::<ApiVersion>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum."
        );
    }

    #[test]
    fn versions_order_by_number_and_print_as_written() {
        assert!(ApiVersion::new(2, 9) < ApiVersion::new(2, 10));
        assert!(ApiVersion::new(2, 100) < ApiVersion::new(3, 0));
        assert_eq!(ApiVersion::new(2, 47).to_string(), "2.47");
        let range = ApiVersionRange {
            min: ApiVersion::new(2, 1),
            max: ApiVersion::new(2, 3),
        };
        assert!(range.contains(ApiVersion::new(2, 1)) && range.contains(ApiVersion::new(2, 3)));
        assert!(!range.contains(ApiVersion::new(2, 4)) && !range.contains(ApiVersion::new(2, 0)));
    }

    #[test]
    fn a_request_no_filter_saw_is_at_the_default_version() {
        let mut req = http::Request::get("/").body(bytes::Bytes::new()).unwrap();
        assert_eq!(ApiVersion::of(&req), ApiVersion::DEFAULT);
        req.extensions_mut().insert(ApiVersion::new(2, 5));
        assert_eq!(ApiVersion::of(&req), ApiVersion::new(2, 5));
    }
}
