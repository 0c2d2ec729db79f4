//! The metadata trigger: a server that carries [`METADATA_TRIGGER_KEY`]
//! (`nova-rs:behavior`) in its metadata says itself how its create or
//! build goes, with no behaviour registered. It suits a test that makes
//! one server of many misbehave, and a tool that can set metadata but
//! cannot reach the control API.
//!
//! | value | event | what happens |
//! |---|---|---|
//! | `error` | `server.build` | the server goes to `ERROR` at once |
//! | `error-after:N` | `server.build` | the server goes to `ERROR` N seconds after its build began |
//! | `build:N` | `server.build` | the build takes N seconds |
//! | `stuck` | `server.build` | the server stays in `BUILD` until its state is forced or `DELETE /control/behaviors` releases it (its holder is [`METADATA_STUCK_ID`]) |
//! | `fail:STATUS` | `server.create` | the create is answered with STATUS (400 to 599), nothing stored |
//!
//! N is a number of seconds written in digits with at most one decimal
//! point (`30`, `2.5`), from 0 to [`MAX_SECONDS`]. Values are exact:
//! no case folding, no spaces.
//!
//! At a server's create and build, a server carrying the key is driven by
//! it alone: the stored behaviours are not asked, and a value that means
//! nothing at that event (a build value at the create, or a value
//! [`parse_metadata_trigger`] refuses) gives the ordinary outcome. The
//! compute API does not refuse a server over the value, since metadata is
//! the user's; a caller that wants to warn can check it with
//! [`parse_metadata_trigger`]. Deletes and actions ask the stored
//! behaviours whatever the metadata holds.

use std::time::Duration;

use nova_compute::Injection;

use crate::error::injected_fault;
use crate::{BehaviorError, Event, Fail, MAX_SECONDS};

/// The metadata key a server's own trigger is under.
pub const METADATA_TRIGGER_KEY: &str = "nova-rs:behavior";

/// The behaviour id a server held in `BUILD` by its metadata (`stuck`) is
/// recorded as held by: no stored behaviour has it, and removing every
/// behaviour (`DELETE /control/behaviors`) releases such servers too.
pub const METADATA_STUCK_ID: &str = "metadata";

/// What a server's `nova-rs:behavior` value asks for; see the module
/// documentation for the values.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MetadataTrigger {
    /// `error` or `error-after:N`: the server goes to `ERROR` this long
    /// after its build began.
    Error {
        /// Zero for `error`.
        after: Duration,
    },
    /// `build:N`: the build takes this long.
    Build(Duration),
    /// `stuck`: the server stays in `BUILD`.
    Stuck,
    /// `fail:STATUS`: the create is answered with this status.
    Fail {
        /// 400 to 599.
        status: u16,
    },
}

/// The message of a server put in `ERROR` by its metadata.
const ERROR_MESSAGE: &str = "Injected error (nova-rs:behavior metadata)";
/// The message a create refused by its metadata is answered with.
const FAIL_MESSAGE: &str = "Injected failure (nova-rs:behavior metadata)";

impl MetadataTrigger {
    /// The event the trigger acts at.
    pub fn event(&self) -> Event {
        match self {
            MetadataTrigger::Fail { .. } => Event::ServerCreate,
            _ => Event::ServerBuild,
        }
    }

    /// What the compute API is to do instead of the ordinary outcome.
    pub(crate) fn injection(&self) -> Injection {
        match self {
            MetadataTrigger::Error { after } => Injection::Error {
                after: *after,
                message: ERROR_MESSAGE.to_owned(),
            },
            MetadataTrigger::Build(seconds) => Injection::Take(*seconds),
            MetadataTrigger::Stuck => Injection::Stuck {
                behavior_id: METADATA_STUCK_ID.to_owned(),
            },
            MetadataTrigger::Fail { status } => Injection::Fail(injected_fault(Fail {
                status: *status,
                message: FAIL_MESSAGE.to_owned(),
                kind: None,
                retry_after: None,
            })),
        }
    }
}

/// Reads a `nova-rs:behavior` value; the error's message says what the
/// values are.
///
/// ```
/// use std::time::Duration;
/// use nova_control::{parse_metadata_trigger, MetadataTrigger};
///
/// assert_eq!(
///     parse_metadata_trigger("build:2.5").unwrap(),
///     MetadataTrigger::Build(Duration::from_millis(2500))
/// );
/// assert!(parse_metadata_trigger("explode").is_err());
/// ```
pub fn parse_metadata_trigger(value: &str) -> Result<MetadataTrigger, BehaviorError> {
    let (name, argument) = match value.split_once(':') {
        Some((name, argument)) => (name, Some(argument)),
        None => (value, None),
    };
    match (name, argument) {
        ("error", None) => Ok(MetadataTrigger::Error {
            after: Duration::ZERO,
        }),
        ("stuck", None) => Ok(MetadataTrigger::Stuck),
        ("error-after", Some(seconds)) => Ok(MetadataTrigger::Error {
            after: parse_seconds(seconds)?,
        }),
        ("build", Some(seconds)) => Ok(MetadataTrigger::Build(parse_seconds(seconds)?)),
        ("fail", Some(status)) => {
            parse_status(status).map(|status| MetadataTrigger::Fail { status })
        }
        _ => Err(BehaviorError::Malformed(format!(
            "metadata {METADATA_TRIGGER_KEY} must be error, error-after:N, build:N, stuck or \
             fail:STATUS; got {value:?}"
        ))),
    }
}

fn parse_seconds(text: &str) -> Result<Duration, BehaviorError> {
    let out_of_range = || {
        BehaviorError::OutOfRange(format!(
            "metadata {METADATA_TRIGGER_KEY} needs a number of seconds from 0 to {MAX_SECONDS}, \
             in digits; got {text:?}"
        ))
    };
    // Only digits and one point: Rust's float syntax would also take
    // `inf`, `1e9` and `+5`, which are no one's idea of a duration here.
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let points = text.chars().filter(|c| *c == '.').count();
    if digits == 0 || points > 1 || digits + points != text.len() {
        return Err(out_of_range());
    }
    let seconds: f64 = text.parse().map_err(|_| out_of_range())?;
    if !(0.0..=MAX_SECONDS).contains(&seconds) {
        return Err(out_of_range());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_status(text: &str) -> Result<u16, BehaviorError> {
    text.parse::<u16>()
        .ok()
        .filter(|status| text.chars().all(|c| c.is_ascii_digit()) && (400..=599).contains(status))
        .ok_or_else(|| {
            BehaviorError::OutOfRange(format!(
                "metadata {METADATA_TRIGGER_KEY} fail:STATUS needs an error status, 400 to 599; \
                 got {text:?}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_compute::InjectedFault;

    #[test]
    fn every_documented_value_reads_as_its_trigger() {
        let table = [
            (
                "error",
                MetadataTrigger::Error {
                    after: Duration::ZERO,
                },
            ),
            (
                "error-after:30",
                MetadataTrigger::Error {
                    after: Duration::from_secs(30),
                },
            ),
            (
                "error-after:0",
                MetadataTrigger::Error {
                    after: Duration::ZERO,
                },
            ),
            (
                "build:2.5",
                MetadataTrigger::Build(Duration::from_millis(2500)),
            ),
            ("build:0", MetadataTrigger::Build(Duration::ZERO)),
            (
                "build:.5",
                MetadataTrigger::Build(Duration::from_millis(500)),
            ),
            ("stuck", MetadataTrigger::Stuck),
            ("fail:500", MetadataTrigger::Fail { status: 500 }),
            ("fail:429", MetadataTrigger::Fail { status: 429 }),
        ];
        for (value, trigger) in table {
            assert_eq!(parse_metadata_trigger(value), Ok(trigger), "{value}");
        }
    }

    #[test]
    fn values_outside_the_table_are_refused_with_what_the_values_are() {
        let malformed = [
            "",
            "Error",
            " error",
            "error:",
            "stuck:1",
            "build",
            "fail",
            "explode",
            "error-after",
        ];
        for value in malformed {
            let error = parse_metadata_trigger(value).unwrap_err();
            assert!(
                matches!(error, BehaviorError::Malformed(_)),
                "{value:?}: {error:?}"
            );
            assert!(error.to_string().contains("error-after:N"), "{error}");
        }
        let out_of_range = [
            "build:-1",
            "build:inf",
            "build:1e3",
            "build:+5",
            "build:1.2.3",
            "build:.",
            "build: 5",
            "build:2592001",
            "error-after:NaN",
            "fail:200",
            "fail:600",
            "fail:+500",
            "fail:",
            "fail:five",
        ];
        for value in out_of_range {
            let error = parse_metadata_trigger(value).unwrap_err();
            assert!(
                matches!(error, BehaviorError::OutOfRange(_)),
                "{value:?}: {error:?}"
            );
        }
        assert!(
            parse_metadata_trigger("build:2592000").is_ok(),
            "thirty days is the limit"
        );
    }

    #[test]
    fn each_trigger_acts_at_its_event_with_its_injection() {
        let fail = parse_metadata_trigger("fail:503").unwrap();
        assert_eq!(fail.event(), Event::ServerCreate);
        assert_eq!(
            fail.injection(),
            Injection::Fail(InjectedFault {
                status: 503,
                kind: "serviceUnavailable".to_owned(),
                message: FAIL_MESSAGE.to_owned(),
                retry_after: None,
            })
        );
        let stuck = parse_metadata_trigger("stuck").unwrap();
        assert_eq!(stuck.event(), Event::ServerBuild);
        assert_eq!(
            stuck.injection(),
            Injection::Stuck {
                behavior_id: METADATA_STUCK_ID.to_owned()
            }
        );
        assert_eq!(
            parse_metadata_trigger("build:3").unwrap().injection(),
            Injection::Take(Duration::from_secs(3))
        );
    }
}
