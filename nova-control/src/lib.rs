//! nova-rs's control API for tests: make the cloud misbehave on request.
//!
//! Testing OpenStack tooling means seeing what it does when the cloud
//! fails. This crate holds what a test asks for and the means to do it:
//!
//! - **behaviours** ([`Behavior`]): at an event (`server.create`,
//!   `server.build`, `server.delete`, `server.action`, any compute request
//!   `api`, `identity.token`), for requests meeting some criteria, `fail`
//!   with a status, go to `error`, take a `build` time, `delay` the answer
//!   or stay `stuck`, a number of `times` or until removed. They are kept
//!   in a [`ControlStore`], so they outlive a restart and hold for every
//!   process sharing a database;
//! - the **metadata trigger**: a server whose metadata holds
//!   `nova-rs:behavior` ([`METADATA_TRIGGER_KEY`]) says itself how its
//!   create or build goes ([`parse_metadata_trigger`]);
//! - the **controlled clock** ([`ControlledClock`]), which a test moves
//!   ahead, and [`ControlClock`], the clock the control API shows;
//! - **forced states** ([`force_state`]): a server put straight into
//!   `ERROR`, `SHUTOFF` or any status, and [`release_stuck`], which lets
//!   go of the servers a removed behaviour held;
//! - the **request log** ([`RequestLog`]), written by the
//!   [`RecordRequests`] filter in front of each API: the recent requests,
//!   never their headers.
//!
//! They reach the cloud in three places:
//!
//! | part | where it sits | what it does |
//! |---|---|---|
//! | [`BehaviorInjector`] | inside the compute API, as its [`FaultInjector`](nova_compute::FaultInjector) | server events: `fail`, `error`, `build`, `stuck`, `delay` |
//! | [`ControlHooks`] | a filter after each API's token filter | `api` and `identity.token` behaviours: `fail`, `delay`; the caller for the log; the shared clock |
//! | [`RecordRequests`] | a filter in front of each API | the request log |
//!
//! and [`ControlApp`] is the control API itself (`/control`, its own
//! token), whose OpenAPI document is [`CONTROL_OPENAPI_DOCUMENT`].

mod app;
mod behavior;
mod clock;
mod error;
mod forced;
mod hooks;
mod injector;
mod metadata_trigger;
mod request_log;
mod store;
#[cfg(test)]
mod test_support;

pub use app::{
    ControlApp, CONTROL_OPENAPI_DOCUMENT, CONTROL_TOKEN_HEADER, DEFAULT_REQUESTS_LIMIT,
    MAX_CLOCK_ADVANCE_SECONDS, MAX_REQUESTS_LIMIT,
};
pub use behavior::{
    path_matches, Behavior, BehaviorError, Build, Criteria, Delay, Effect, ErrorEffect, Event,
    Facts, Fail, Matcher, NewBehavior, Stuck, MAX_DELAY_MS, MAX_SECONDS,
};
pub use clock::{ControlClock, ControlledClock};
pub use forced::{
    force_state, release_stuck, ForceError, ForcedFault, ForcedState, DEFAULT_FORCED_FAULT_MESSAGE,
};
pub use hooks::ControlHooks;
pub use injector::BehaviorInjector;
pub use metadata_trigger::{
    parse_metadata_trigger, MetadataTrigger, METADATA_STUCK_ID, METADATA_TRIGGER_KEY,
};
pub use request_log::{CallerSlot, RecordRequests, RecordedRequest, RequestLog};
pub use store::{ControlStore, MemoryControl};
