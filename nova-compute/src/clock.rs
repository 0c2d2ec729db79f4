//! Time as a dependency: every time-derived thing in the compute API (a
//! build finishing, `changes-since`, `updated`) reads a [`Clock`] handed
//! in, so a test or an operator can move it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use nova_controller::Timestamp;

/// Where the compute API reads the time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until it is moved: for tests and for the
/// control API's controlled clock.
///
/// ```
/// use nova_compute::{Clock, ManualClock};
///
/// let clock = ManualClock::starting_now();
/// let before = clock.now();
/// clock.advance_micros(5_000_000);
/// assert_eq!(clock.now().unix_micros() - before.unix_micros(), 5_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock set to the system's current time.
    pub fn starting_now() -> Self {
        Self::starting_at(Timestamp::now())
    }

    /// A clock set to `at`.
    pub fn starting_at(at: Timestamp) -> Self {
        ManualClock {
            micros: Arc::new(AtomicI64::new(at.unix_micros())),
        }
    }

    /// Moves the clock `micros` microseconds forward.
    pub fn advance_micros(&self, micros: i64) {
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let micros = self.micros.load(Ordering::SeqCst);
        Timestamp::from_unix_micros(micros).unwrap_or_else(Timestamp::now)
    }
}
