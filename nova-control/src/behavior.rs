//! A behaviour as the control API takes and shows it: an event, criteria
//! a request must meet, what happens instead of the ordinary outcome, and
//! how often.
//!
//! The wire shape is a promise to tests written against it:
//!
//! ```json
//! {"event": "server.create", "match": {"name": "^db-"},
//!  "behavior": {"fail": {"status": 500, "message": "injected"}}, "times": 2}
//! ```
//!
//! [`NewBehavior::validate`] checks one such body whole (the event, which
//! criteria and effects that event takes, every value's range) and gives
//! a [`Behavior`] with a fresh id; [`Matcher`] decides whether it applies
//! to what is happening ([`Facts`]).

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The longest `delay` a behaviour may ask for, in milliseconds: five
/// minutes, past any client's patience, short of holding a connection
/// for good.
pub const MAX_DELAY_MS: u64 = 300_000;

/// The longest build, action or delete (or `error` delay) a behaviour may
/// ask for, in seconds: thirty days.
pub const MAX_SECONDS: f64 = 30.0 * 24.0 * 3600.0;

/// When a behaviour is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// `POST /servers`, once per request.
    #[serde(rename = "server.create")]
    ServerCreate,
    /// A new server's build, once per server.
    #[serde(rename = "server.build")]
    ServerBuild,
    /// `DELETE /servers/{id}`.
    #[serde(rename = "server.delete")]
    ServerDelete,
    /// `POST /servers/{id}/action`.
    #[serde(rename = "server.action")]
    ServerAction,
    /// Any compute API request.
    #[serde(rename = "api")]
    Api,
    /// A token request to the identity service (`POST /v3/auth/tokens`).
    #[serde(rename = "identity.token")]
    IdentityToken,
}

impl Event {
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::ServerCreate => "server.create",
            Event::ServerBuild => "server.build",
            Event::ServerDelete => "server.delete",
            Event::ServerAction => "server.action",
            Event::Api => "api",
            Event::IdentityToken => "identity.token",
        }
    }

    /// Whether the event is about one server (and so has a name and
    /// metadata to match).
    fn is_server_event(self) -> bool {
        matches!(
            self,
            Event::ServerCreate | Event::ServerBuild | Event::ServerDelete | Event::ServerAction
        )
    }
}

/// What a request must meet for a behaviour to apply: every given
/// criterion, none given meaning every request of the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criteria {
    /// A regular expression the server's name must match (anywhere: anchor
    /// it with `^…$` for the whole name). Server events only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Metadata the server must have, every key with exactly this value.
    /// Server events only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The project id the request acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The action's name as its body keys it (`reboot`, `os-stop`).
    /// `server.action` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The HTTP method. `api` and `identity.token` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path template below the API's root (`/servers/{server_id}`), each
    /// `{…}` standing for one path segment. `api` and `identity.token`
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `fail`: answer with this status instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fail {
    /// The HTTP status, 400 to 599.
    pub status: u16,
    /// The fault's message.
    #[serde(default = "Fail::default_message")]
    pub message: String,
    /// Nova's fault kind (the body's key); by default Nova's for the
    /// status (`computeFault` for 500, `overLimit` for 413 and 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `Retry-After` seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Fail {
    fn default_message() -> String {
        "Injected failure".to_owned()
    }
}

/// `error`: the server goes to `ERROR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEffect {
    /// Seconds after the event begins; 0 for at once.
    #[serde(default)]
    pub after_seconds: f64,
    /// The server's `fault.message`.
    #[serde(default = "ErrorEffect::default_message")]
    pub message: String,
}

impl ErrorEffect {
    fn default_message() -> String {
        "Injected error".to_owned()
    }
}

/// `build`: the build (or action, or delete) takes this long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Seconds.
    pub seconds: f64,
}

/// `delay`: the answer comes this much later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    /// Milliseconds.
    pub ms: u64,
}

/// `stuck`: the server stays in its task state until the behaviour is
/// removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stuck {}

/// What happens instead of the ordinary outcome: exactly one of these,
/// keyed by its name on the wire (`{"fail": {…}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Effect {
    /// Answer with a fault.
    Fail(Fail),
    /// The server goes to `ERROR`.
    Error(ErrorEffect),
    /// The build, action or delete takes this long.
    Build(Build),
    /// The answer comes later.
    Delay(Delay),
    /// The server stays in its task state.
    Stuck(Stuck),
}

impl Effect {
    /// Its name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Effect::Fail(_) => "fail",
            Effect::Error(_) => "error",
            Effect::Build(_) => "build",
            Effect::Delay(_) => "delay",
            Effect::Stuck(_) => "stuck",
        }
    }
}

/// A registered behaviour, as `GET /control/behaviors` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Behavior {
    /// Its id, a UUID.
    pub id: String,
    /// When it is asked.
    pub event: Event,
    /// What a request must meet.
    #[serde(rename = "match")]
    pub criteria: Criteria,
    /// What happens.
    #[serde(rename = "behavior")]
    pub effect: Effect,
    /// How many times it fires before it expires; `None` until removed.
    pub times: Option<u64>,
    /// How many times it has fired.
    pub fired: u64,
}

impl Behavior {
    /// Whether it may still fire.
    pub fn is_active(&self) -> bool {
        self.times.is_none_or(|times| self.fired < times)
    }
}

/// The body of `POST /control/behaviors`, before it is checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBehavior {
    /// When it is asked.
    pub event: Event,
    /// What a request must meet.
    #[serde(default, rename = "match")]
    pub criteria: Criteria,
    /// What happens.
    #[serde(rename = "behavior")]
    pub effect: Effect,
    /// How many times; absent or null for until removed.
    #[serde(default)]
    pub times: Option<u64>,
}

/// Why a behaviour was refused; the message is the client's 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BehaviorError {
    /// The body is not a behaviour (bad JSON, an unknown key or event, a
    /// wrong type).
    #[error("Invalid behavior: {0}")]
    Malformed(String),
    /// A criterion the event has nothing to match against.
    #[error("Invalid behavior: event {event} cannot match on {criterion}")]
    CriterionNotForEvent {
        /// The event.
        event: &'static str,
        /// The criterion.
        criterion: &'static str,
    },
    /// An effect the event cannot have.
    #[error("Invalid behavior: event {event} cannot have behavior {effect}; it takes {allowed}")]
    EffectNotForEvent {
        /// The event.
        event: &'static str,
        /// The effect.
        effect: &'static str,
        /// The effects it takes.
        allowed: &'static str,
    },
    /// The name criterion is not a regular expression.
    #[error("Invalid behavior: match.name is not a regular expression: {0}")]
    BadPattern(String),
    /// A value out of its range.
    #[error("Invalid behavior: {0}")]
    OutOfRange(String),
}

impl NewBehavior {
    /// Reads and checks a `POST /control/behaviors` body.
    ///
    /// ```
    /// use nova_control::{Event, NewBehavior};
    ///
    /// let body = br#"{"event": "server.create", "match": {"name": "^db-"},
    ///   "behavior": {"fail": {"status": 500, "message": "injected"}}, "times": 2}"#;
    /// let behavior = NewBehavior::from_json(body).unwrap().validate().unwrap();
    /// assert_eq!(behavior.event, Event::ServerCreate);
    /// assert_eq!((behavior.times, behavior.fired), (Some(2), 0));
    /// ```
    pub fn from_json(body: &[u8]) -> Result<NewBehavior, BehaviorError> {
        let malformed = |error: serde_json::Error| BehaviorError::Malformed(error.to_string());
        let mut value: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
        check_objects(&mut value)?;
        serde_json::from_value(value).map_err(malformed)
    }

    /// Checks the behaviour whole and gives it a fresh id.
    pub fn validate(self) -> Result<Behavior, BehaviorError> {
        let event = self.event;
        let criteria = &self.criteria;
        let not_for = |criterion| BehaviorError::CriterionNotForEvent {
            event: event.as_str(),
            criterion,
        };
        if !event.is_server_event() {
            if criteria.name.is_some() {
                return Err(not_for("name"));
            }
            if criteria.metadata.is_some() {
                return Err(not_for("metadata"));
            }
        }
        if event != Event::ServerAction && criteria.action.is_some() {
            return Err(not_for("action"));
        }
        if !matches!(event, Event::Api | Event::IdentityToken) {
            if criteria.method.is_some() {
                return Err(not_for("method"));
            }
            if criteria.path.is_some() {
                return Err(not_for("path"));
            }
        }
        if let Some(pattern) = &criteria.name {
            Regex::new(pattern).map_err(|error| BehaviorError::BadPattern(error.to_string()))?;
        }
        if let Some(path) = &criteria.path {
            if !path.starts_with('/') {
                return Err(BehaviorError::OutOfRange(format!(
                    "match.path must start with /, as in /servers/{{server_id}}; got {path:?}"
                )));
            }
        }
        let allowed = match event {
            Event::Api | Event::IdentityToken => "fail or delay",
            Event::ServerBuild => "error, build or stuck",
            _ => "fail, error, build, delay or stuck",
        };
        // A build has no request to fail or hold up; a request event has
        // no server to put in ERROR, build or hold.
        let effect_refused = matches!(
            (&self.effect, event),
            (Effect::Fail(_) | Effect::Delay(_), Event::ServerBuild)
                | (
                    Effect::Error(_) | Effect::Build(_) | Effect::Stuck(_),
                    Event::Api | Event::IdentityToken,
                )
        );
        if effect_refused {
            return Err(BehaviorError::EffectNotForEvent {
                event: event.as_str(),
                effect: self.effect.name(),
                allowed,
            });
        }
        check_effect(&self.effect)?;
        if self.times == Some(0) {
            return Err(BehaviorError::OutOfRange(
                "times must be at least 1, or null for until removed".to_owned(),
            ));
        }
        Ok(Behavior {
            id: uuid::Uuid::new_v4().to_string(),
            event,
            criteria: self.criteria,
            effect: self.effect,
            times: self.times,
            fired: 0,
        })
    }
}

/// Refuses a body whose `match`, `behavior` or effect is not a JSON
/// object: serde would read a struct from an array too (`"match": [null]`
/// as no criteria), which a client never means. A null `match` is taken
/// as an absent one.
fn check_objects(body: &mut serde_json::Value) -> Result<(), BehaviorError> {
    let not_object = |what: &str| BehaviorError::Malformed(format!("{what} must be a JSON object"));
    let body = body.as_object_mut().ok_or_else(|| not_object("the body"))?;
    match body.get("match") {
        None | Some(serde_json::Value::Object(_)) => {}
        Some(serde_json::Value::Null) => {
            body.remove("match");
        }
        Some(_) => return Err(not_object("match")),
    }
    if let Some(effect) = body.get("behavior") {
        let effect = effect.as_object().ok_or_else(|| not_object("behavior"))?;
        if let Some((name, _)) = effect.iter().find(|(_, detail)| !detail.is_object()) {
            return Err(not_object(&format!("behavior.{name}")));
        }
    }
    Ok(())
}

fn check_effect(effect: &Effect) -> Result<(), BehaviorError> {
    let seconds_in_range = |what: &str, seconds: f64| {
        if seconds.is_finite() && (0.0..=MAX_SECONDS).contains(&seconds) {
            Ok(())
        } else {
            Err(BehaviorError::OutOfRange(format!(
                "{what} must be between 0 and {MAX_SECONDS} seconds"
            )))
        }
    };
    match effect {
        Effect::Fail(fail) => {
            if !(400..=599).contains(&fail.status) {
                return Err(BehaviorError::OutOfRange(format!(
                    "fail.status must be an error status, 400 to 599; got {}",
                    fail.status
                )));
            }
            if let Some(kind) = &fail.kind {
                if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(BehaviorError::OutOfRange(format!(
                        "fail.kind must be a name of letters and digits, as computeFault; got {kind:?}"
                    )));
                }
            }
            Ok(())
        }
        Effect::Error(error) => seconds_in_range("error.after_seconds", error.after_seconds),
        Effect::Build(build) => seconds_in_range("build.seconds", build.seconds),
        Effect::Delay(delay) if delay.ms > MAX_DELAY_MS => Err(BehaviorError::OutOfRange(format!(
            "delay.ms must be at most {MAX_DELAY_MS}"
        ))),
        Effect::Delay(_) | Effect::Stuck(_) => Ok(()),
    }
}

/// What is happening, for a behaviour's criteria to be checked against.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The event.
    pub event: Event,
    /// The project the request acts for, if known.
    pub project: Option<&'a str>,
    /// The server's name (server events).
    pub server_name: Option<&'a str>,
    /// The server's metadata (server events).
    pub metadata: Option<&'a BTreeMap<String, String>>,
    /// The action (`server.action`).
    pub action: Option<&'a str>,
    /// The HTTP method (`api`, `identity.token`).
    pub method: Option<&'a str>,
    /// The path below the API's root (`api`, `identity.token`).
    pub path: Option<&'a str>,
}

/// A behaviour's criteria, ready to be checked (its pattern compiled).
#[derive(Debug, Clone)]
pub struct Matcher {
    event: Event,
    criteria: Criteria,
    name: Option<Regex>,
}

impl Matcher {
    /// The matcher of `behavior`; `None` if its name pattern does not
    /// compile (a record written outside nova-rs), which then matches
    /// nothing.
    pub fn new(behavior: &Behavior) -> Option<Matcher> {
        let name = match &behavior.criteria.name {
            Some(pattern) => Some(Regex::new(pattern).ok()?),
            None => None,
        };
        Some(Matcher {
            event: behavior.event,
            criteria: behavior.criteria.clone(),
            name,
        })
    }

    /// Whether the behaviour applies to `facts`.
    pub fn matches(&self, facts: &Facts<'_>) -> bool {
        let criteria = &self.criteria;
        facts.event == self.event
            && self
                .name
                .as_ref()
                .is_none_or(|name| facts.server_name.is_some_and(|given| name.is_match(given)))
            && criteria.metadata.as_ref().is_none_or(|wanted| {
                facts.metadata.is_some_and(|have| {
                    wanted
                        .iter()
                        .all(|(key, value)| have.get(key) == Some(value))
                })
            })
            && equal(&criteria.project, facts.project)
            && equal(&criteria.action, facts.action)
            && criteria.method.as_ref().is_none_or(|wanted| {
                facts
                    .method
                    .is_some_and(|method| method.eq_ignore_ascii_case(wanted))
            })
            && criteria
                .path
                .as_ref()
                .is_none_or(|template| facts.path.is_some_and(|path| path_matches(template, path)))
    }
}

fn equal(wanted: &Option<String>, given: Option<&str>) -> bool {
    wanted.as_deref().is_none_or(|wanted| given == Some(wanted))
}

/// Whether `path` fits `template`: the same segments, each `{…}` standing
/// for any one non-empty segment; a trailing slash is ignored.
pub fn path_matches(template: &str, path: &str) -> bool {
    let mut wanted = template.trim_end_matches('/').split('/');
    let mut given = path.trim_end_matches('/').split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests;
