//! The file's control plane, built once and shared: the control app, the
//! control filters of the compute and identity pipelines, and the compute
//! and identity apps (which read its clock and, for the compute API, ask
//! its behaviours at server events) all work with one [`ControlParts`].

use std::sync::Arc;

use nova_compute::ServerStore;
use nova_compute::{Clock as ComputeClock, FaultInjector};
use nova_control::{
    BehaviorInjector, ControlApp, ControlClock, ControlHooks, ControlStore, ControlledClock, Event,
    RecordRequests, RequestLog,
};
use nova_identity::Clock as IdentityClock;
use nova_router::SharedService;
use nova_store::StoreUrl;

/// The control app's settings, from its section.
#[derive(Debug, Clone)]
pub(crate) struct ControlSettings {
    /// The control token (`X-Auth-Token`).
    pub(crate) token: String,
    /// Whether the clock is the controlled one (`clock = controlled`).
    pub(crate) controlled_clock: bool,
    /// Whether callers off this machine are served (`allow_remote`).
    pub(crate) allow_remote: bool,
    /// How many requests the request log keeps (`request_log_size`).
    pub(crate) request_log_size: usize,
}

/// The control app a file mounts, waiting for its store.
#[derive(Debug, Clone)]
pub(crate) struct ControlPlan {
    pub(crate) settings: ControlSettings,
    pub(crate) store: StoreUrl,
}

/// The built control plane.
#[derive(Clone)]
pub(crate) struct ControlParts {
    settings: ControlSettings,
    store: Arc<dyn ControlStore>,
    clock: ControlClock,
    log: RequestLog,
    injector: Arc<BehaviorInjector>,
}

impl ControlParts {
    pub(crate) fn new(settings: &ControlSettings, store: Arc<dyn ControlStore>) -> Self {
        let clock = if settings.controlled_clock {
            ControlClock::Controlled(ControlledClock::default())
        } else {
            ControlClock::Real
        };
        ControlParts {
            settings: settings.clone(),
            log: RequestLog::new(settings.request_log_size),
            injector: Arc::new(BehaviorInjector::new(store.clone())),
            store,
            clock,
        }
    }

    /// The control app itself, forcing states of servers in `servers`.
    pub(crate) fn app(&self, servers: Arc<dyn ServerStore>) -> SharedService {
        Arc::new(
            ControlApp::new(
                self.store.clone(),
                servers,
                self.clock.clone(),
                self.log.clone(),
                self.settings.token.clone(),
            )
            .allow_remote(self.settings.allow_remote),
        )
    }

    /// The clock the compute API reads.
    pub(crate) fn compute_clock(&self) -> Arc<dyn ComputeClock> {
        Arc::new(self.clock.clone())
    }

    /// The clock the identity service reads: the same time.
    pub(crate) fn identity_clock(&self) -> Arc<dyn IdentityClock> {
        Arc::new(IdentityTime(self.clock.clone()))
    }

    /// What the compute API asks at server events.
    pub(crate) fn injector(&self) -> Arc<dyn FaultInjector> {
        self.injector.clone()
    }

    /// `inner` behind the filter that records each request in the log.
    pub(crate) fn recorder(&self, inner: SharedService, service: &str) -> SharedService {
        Arc::new(RecordRequests::new(inner, self.log.clone(), service))
    }

    /// `inner` behind the filter that applies `event`'s behaviours.
    pub(crate) fn hooks(&self, inner: SharedService, event: Event) -> SharedService {
        let clock = match &self.clock {
            ControlClock::Controlled(clock) => Some(clock.clone()),
            _ => None,
        };
        Arc::new(ControlHooks::new(inner, self.store.clone(), event, clock))
    }
}

/// The control plane's clock as the identity service reads time (jiff's).
#[derive(Debug)]
struct IdentityTime(ControlClock);

impl IdentityClock for IdentityTime {
    fn now(&self) -> jiff::Timestamp {
        let micros = self.0.now().unix_micros();
        jiff::Timestamp::from_microsecond(micros).unwrap_or_else(|_| jiff::Timestamp::now())
    }
}
