//! The controlled clock (`clock = controlled`): the system's time plus an
//! offset that only grows, by `POST /control/clock/advance`. It runs at the
//! real rate between moves, so clients that poll (`--wait`) still see
//! builds finish, and a move jumps every time-derived thing ahead at once:
//! build and action ends, token expiry, `changes-since`, `updated`.
//!
//! The offset is kept in the [`ControlStore`](crate::ControlStore), so it
//! survives a restart; this clock holds the process's copy, which the
//! control filter refreshes from a shared store at each request.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use nova_compute::Clock;
use nova_controller::Timestamp;

/// The system's time plus an offset.
///
/// ```
/// use nova_compute::Clock;
/// use nova_control::ControlledClock;
///
/// let clock = ControlledClock::new(0);
/// let before = clock.now();
/// clock.set_offset(600 * 1_000_000);
/// assert!(clock.now().unix_micros() - before.unix_micros() >= 600 * 1_000_000);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ControlledClock {
    offset_micros: Arc<AtomicI64>,
    /// Whether the offset has been read from (or written to) the store
    /// since the process started: until then it is only a default.
    loaded: Arc<AtomicBool>,
}

impl ControlledClock {
    /// A clock `offset_micros` ahead of the system's.
    pub fn new(offset_micros: i64) -> Self {
        ControlledClock {
            offset_micros: Arc::new(AtomicI64::new(offset_micros)),
            loaded: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the offset is the store's ([`ControlledClock::set_offset`]
    /// has been called): a process starting on a store whose clock was
    /// moved before must read it before anything reads the time.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// How far ahead it is, in microseconds.
    pub fn offset(&self) -> i64 {
        self.offset_micros.load(Ordering::Relaxed)
    }

    /// Sets how far ahead it is (the store's offset, read back).
    pub fn set_offset(&self, offset_micros: i64) {
        self.offset_micros.store(offset_micros, Ordering::Relaxed);
        self.loaded.store(true, Ordering::Release);
    }
}

impl Clock for ControlledClock {
    fn now(&self) -> Timestamp {
        Timestamp::now().plus_micros(self.offset())
    }
}

/// The clock the cloud reads, as the control API shows and moves it
/// (`GET /control/clock`, `POST /control/clock/advance`).
#[derive(Debug, Clone)]
pub enum ControlClock {
    /// The system's clock (`clock = real`, the default): the control API
    /// shows it but cannot move it.
    Real,
    /// The controlled clock (`clock = controlled`), the one the compute
    /// and identity APIs were given.
    Controlled(ControlledClock),
}

impl Clock for ControlClock {
    fn now(&self) -> Timestamp {
        match self {
            ControlClock::Real => Timestamp::now(),
            ControlClock::Controlled(clock) => clock.now(),
        }
    }
}
