//! Misbehaviour on request: the hook through which a test's control plane
//! makes a server create, delete or action fail, a build end in `ERROR`,
//! take longer, or never end ([`FaultInjector`]).
//!
//! The compute API asks its injector at each server event, after it has
//! validated the request and before it changes anything, and does what the
//! answer says. It knows nothing of how misbehaviour is registered: that is
//! nova-control's, which implements the trait. Without an injector (the
//! default) nothing is asked and nothing changes.
//!
//! How the controllers do what an answer says is `course`'s.

use std::collections::BTreeMap;
use std::time::Duration;

use nova_controller::StoreFuture;
use uuid::Uuid;

/// Which server event is happening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEventKind {
    /// `POST /servers`, once per request (before the servers are stored).
    Create,
    /// A new server's build, once per server a create makes.
    Build,
    /// `DELETE /servers/{id}` (and `forceDelete`).
    Delete,
    /// `POST /servers/{id}/action`, with the action's name.
    Action,
}

/// What the compute API tells its injector about a server event.
#[derive(Debug, Clone, Copy)]
pub struct ServerEvent<'a> {
    /// The event.
    pub kind: ServerEventKind,
    /// The project that owns (or will own) the server.
    pub project_id: &'a str,
    /// The server's id; a create (not yet stored) has none.
    pub server_id: Option<Uuid>,
    /// The server's name (the requested one at create).
    pub server_name: &'a str,
    /// The server's metadata (the requested metadata at create).
    pub metadata: &'a BTreeMap<String, String>,
    /// The action's name as the request body keys it (`reboot`,
    /// `os-stop`, `createImage`), for [`ServerEventKind::Action`].
    pub action: Option<&'a str>,
}

/// What the compute API is to do instead of the ordinary outcome.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Injection {
    /// Answer the request with this fault and change nothing.
    Fail(InjectedFault),
    /// Let the request succeed, and let the server go to `ERROR` with this
    /// fault `after` the event began (a build, an action or a delete that
    /// fails half-way).
    Error {
        /// How long after the event the server fails; zero for at once.
        after: Duration,
        /// The fault's message, shown in the server's `fault`.
        message: String,
    },
    /// Let the request succeed and the event take this long (a build, an
    /// action or a delete), instead of the cloud's configured duration.
    Take(Duration),
    /// Let the request succeed and the event never end: the server stays
    /// in its task state until the behaviour named here is removed or the
    /// server's state is forced.
    Stuck {
        /// The id of the behaviour that holds it (recorded with the
        /// server, so removing the behaviour releases it).
        behavior_id: String,
    },
}

/// A fault to answer with, as [`Injection::Fail`] asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFault {
    /// The HTTP status, 400 to 599.
    pub status: u16,
    /// Nova's fault kind, the body's key (`computeFault`, `overLimit`…).
    pub kind: String,
    /// The message.
    pub message: String,
    /// The `Retry-After` header's seconds, if any.
    pub retry_after: Option<u64>,
}

/// Decides, for each server event, whether something other than the
/// ordinary outcome happens. A delay is the injector's own business: its
/// future simply answers later.
pub trait FaultInjector: Send + Sync + std::fmt::Debug + 'static {
    /// What is to happen at `event`; `None` for the ordinary outcome. A
    /// behaviour that answers here counts as fired once.
    fn server_event<'a>(&'a self, event: ServerEvent<'a>) -> StoreFuture<'a, Option<Injection>>;
}

// ---- how the compute API does what an answer says ---------------------------
