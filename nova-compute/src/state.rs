//! A server's state: Nova's `vm_state`, `task_state` and `power_state`,
//! the `status` the API derives from them, and transitions that finish at
//! a stored instant rather than on a timer.
//!
//! A transition ("rebooting until 12:00:05, then active and running") is
//! stored with the server; whoever reads the server at a given time sees
//! the state that time implies ([`Lifecycle::at`]). Nothing has to run when
//! the instant passes, so the state is right after a restart, in every
//! process sharing a database, and under a clock a test moves.

use nova_controller::Timestamp;
use serde::{Deserialize, Serialize};

/// Nova's `vm_states`: the stable state a server is in.
pub mod vm_state {
    /// Running, or at least powered and usable.
    pub const ACTIVE: &str = "active";
    /// Being built.
    pub const BUILDING: &str = "building";
    /// Paused in memory.
    pub const PAUSED: &str = "paused";
    /// Suspended to disk.
    pub const SUSPENDED: &str = "suspended";
    /// Powered off.
    pub const STOPPED: &str = "stopped";
    /// Resized, waiting for the resize to be confirmed or reverted.
    pub const RESIZED: &str = "resized";
    /// Deleted.
    pub const DELETED: &str = "deleted";
    /// Something failed.
    pub const ERROR: &str = "error";
}

/// Nova's `task_states`: what is being done to a server right now.
pub mod task_state {
    /// Being created on a host.
    pub const SPAWNING: &str = "spawning";
    /// Soft reboot.
    pub const REBOOTING: &str = "rebooting";
    /// Hard reboot.
    pub const REBOOTING_HARD: &str = "rebooting_hard";
    /// Being powered off.
    pub const POWERING_OFF: &str = "powering-off";
    /// Being powered on.
    pub const POWERING_ON: &str = "powering-on";
    /// Being paused.
    pub const PAUSING: &str = "pausing";
    /// Being unpaused.
    pub const UNPAUSING: &str = "unpausing";
    /// Being suspended.
    pub const SUSPENDING: &str = "suspending";
    /// Being resumed.
    pub const RESUMING: &str = "resuming";
    /// Being rebuilt from its image.
    pub const REBUILDING: &str = "rebuilding";
    /// Being resized.
    pub const RESIZE_PREP: &str = "resize_prep";
    /// A resize being finished.
    pub const RESIZE_FINISH: &str = "resize_finish";
    /// A resize being reverted.
    pub const RESIZE_REVERTING: &str = "resize_reverting";
    /// A resize being confirmed.
    pub const RESIZE_CONFIRMING: &str = "resize_confirming";
    /// Its password being changed.
    pub const UPDATING_PASSWORD: &str = "updating_password";
    /// An image being taken of it.
    pub const IMAGE_SNAPSHOT: &str = "image_snapshot";
    /// Being deleted.
    pub const DELETING: &str = "deleting";
}

/// Nova's `power_state`, the integer the API shows as
/// `OS-EXT-STS:power_state`.
pub mod power_state {
    /// Unknown or not yet running.
    pub const NOSTATE: u8 = 0;
    /// Running.
    pub const RUNNING: u8 = 1;
    /// Paused.
    pub const PAUSED: u8 = 3;
    /// Shut down.
    pub const SHUTDOWN: u8 = 4;
    /// Crashed.
    pub const CRASHED: u8 = 6;
    /// Suspended.
    pub const SUSPENDED: u8 = 7;
}

/// A server's state at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// One of [`vm_state`].
    pub vm_state: String,
    /// One of [`task_state`], or none when nothing is under way.
    pub task_state: Option<String>,
    /// One of [`power_state`].
    pub power_state: u8,
}

impl State {
    /// A settled state: nothing under way.
    pub fn settled(vm_state: &str, power_state: u8) -> Self {
        State {
            vm_state: vm_state.to_owned(),
            task_state: None,
            power_state,
        }
    }

    /// The `status` the API shows for this state: Nova's
    /// `common.status_from_state`.
    pub fn status(&self) -> &'static str {
        status_from_state(&self.vm_state, self.task_state.as_deref())
    }
}

/// Nova's `_STATE_MAP`: a status for each vm_state, some task states
/// showing as a status of their own.
pub fn status_from_state(vm: &str, task: Option<&str>) -> &'static str {
    use self::task_state as t;
    let task = task.unwrap_or("");
    let rebuilding = task == t::REBUILDING;
    let resizing = matches!(task, t::RESIZE_PREP | t::RESIZE_FINISH);
    match vm {
        vm_state::ACTIVE => match task {
            t::REBOOTING => "REBOOT",
            t::REBOOTING_HARD => "HARD_REBOOT",
            t::UPDATING_PASSWORD => "PASSWORD",
            _ if rebuilding => "REBUILD",
            _ if resizing => "RESIZE",
            _ => "ACTIVE",
        },
        vm_state::BUILDING => "BUILD",
        vm_state::STOPPED => match task {
            _ if resizing => "RESIZE",
            _ if rebuilding => "REBUILD",
            _ => "SHUTOFF",
        },
        vm_state::RESIZED if task == t::RESIZE_REVERTING => "REVERT_RESIZE",
        vm_state::RESIZED => "VERIFY_RESIZE",
        vm_state::PAUSED => "PAUSED",
        vm_state::SUSPENDED => "SUSPENDED",
        vm_state::ERROR if rebuilding => "REBUILD",
        vm_state::ERROR => "ERROR",
        vm_state::DELETED => "DELETED",
        _ => "UNKNOWN",
    }
}

/// The vm_state and task_state values a `status` filter stands for:
/// Nova's `common.task_and_vm_state_from_status`. An unknown status
/// stands for none.
pub fn states_for_status(status: &str) -> Vec<(&'static str, Option<&'static str>)> {
    use task_state as t;
    use vm_state as v;
    let all: &[(&str, Option<&str>)] = &[
        (v::ACTIVE, None),
        (v::ACTIVE, Some(t::REBOOTING)),
        (v::ACTIVE, Some(t::REBOOTING_HARD)),
        (v::ACTIVE, Some(t::UPDATING_PASSWORD)),
        (v::ACTIVE, Some(t::REBUILDING)),
        (v::ACTIVE, Some(t::RESIZE_PREP)),
        (v::ACTIVE, Some(t::RESIZE_FINISH)),
        (v::BUILDING, None),
        (v::STOPPED, None),
        (v::STOPPED, Some(t::RESIZE_PREP)),
        (v::STOPPED, Some(t::REBUILDING)),
        (v::RESIZED, None),
        (v::RESIZED, Some(t::RESIZE_REVERTING)),
        (v::PAUSED, None),
        (v::SUSPENDED, None),
        (v::ERROR, None),
        (v::ERROR, Some(t::REBUILDING)),
        (v::DELETED, None),
    ];
    all.iter()
        .filter(|(vm, task)| status_from_state(vm, *task).eq_ignore_ascii_case(status))
        .copied()
        .collect()
}

/// [`never()`] in microseconds since the Unix epoch: 9999-01-01T00:00:00Z,
/// the start of the last year a [`Timestamp`] can hold.
pub const NEVER_MICROS: i64 = 253_370_764_800_000_000;

/// The instant a transition that never ends by itself ends at: a server
/// held in its task state ([`Injection::Stuck`](crate::Injection)). Being
/// an ordinary instant, no clock a test moves reaches it, and a stored
/// lifecycle reads back as it was written from every store.
pub fn never() -> Timestamp {
    // The constant is inside Timestamp's range (years -9999 to 9999); the
    // test below holds it there.
    Timestamp::from_unix_micros(NEVER_MICROS).expect("year 9999 is a Timestamp")
}

/// Something under way that ends by itself: from `started` the server is
/// in [`Lifecycle::current`] (with its task state), and from `until` on it
/// is in `then`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When it ends.
    pub until: Timestamp,
    /// The state from then on.
    pub then: State,
}

/// A server's stored state: where it is, and where it is going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// The state now, or since the transition started.
    pub current: State,
    /// What is under way, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Transition>,
}

impl Lifecycle {
    /// A settled lifecycle.
    pub fn settled(state: State) -> Self {
        Lifecycle {
            current: state,
            transition: None,
        }
    }

    /// The state at `now`: the transition's end state once its instant has
    /// passed, else the current one.
    pub fn at(&self, now: Timestamp) -> &State {
        match &self.transition {
            Some(transition) if now >= transition.until => &transition.then,
            _ => &self.current,
        }
    }

    /// The same lifecycle with a transition that has ended at `now` folded
    /// into `current`; changes start from this.
    pub fn settle(&mut self, now: Timestamp) {
        if let Some(transition) = &self.transition {
            if now >= transition.until {
                self.current = transition.then.clone();
                self.transition = None;
            }
        }
    }

    /// When the transition under way at `now` ended or will end, if one is
    /// under way or has ended since it was stored.
    pub fn settles_at(&self) -> Option<Timestamp> {
        self.transition.as_ref().map(|t| t.until)
    }

    /// Starts `task` from the settled state at `now`, ending at `until` in
    /// `then`. With `until <= now` the end state holds at once.
    pub fn begin(&mut self, now: Timestamp, task: &str, until: Timestamp, then: State) {
        self.settle(now);
        self.current.task_state = Some(task.to_owned());
        self.transition = Some(Transition { until, then });
        self.settle(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_micros(seconds * 1_000_000).unwrap()
    }

    #[test]
    fn statuses_follow_novas_state_map() {
        let table = [
            (vm_state::ACTIVE, None, "ACTIVE"),
            (vm_state::ACTIVE, Some(task_state::REBOOTING), "REBOOT"),
            (
                vm_state::ACTIVE,
                Some(task_state::REBOOTING_HARD),
                "HARD_REBOOT",
            ),
            (vm_state::ACTIVE, Some(task_state::POWERING_OFF), "ACTIVE"),
            (vm_state::ACTIVE, Some(task_state::RESIZE_PREP), "RESIZE"),
            (vm_state::BUILDING, Some(task_state::SPAWNING), "BUILD"),
            (vm_state::STOPPED, None, "SHUTOFF"),
            (vm_state::RESIZED, None, "VERIFY_RESIZE"),
            (
                vm_state::RESIZED,
                Some(task_state::RESIZE_REVERTING),
                "REVERT_RESIZE",
            ),
            (vm_state::PAUSED, None, "PAUSED"),
            (vm_state::SUSPENDED, None, "SUSPENDED"),
            (vm_state::ERROR, None, "ERROR"),
            (vm_state::DELETED, None, "DELETED"),
            ("shelved", None, "UNKNOWN"),
        ];
        for (vm, task, status) in table {
            assert_eq!(status_from_state(vm, task), status, "{vm} {task:?}");
        }
        assert_eq!(
            states_for_status("shutoff"),
            [(vm_state::STOPPED, None)],
            "statuses match whatever their case"
        );
        assert!(states_for_status("nonsense").is_empty());
    }

    #[test]
    fn a_transition_ends_at_its_instant_without_anything_running() {
        let mut life = Lifecycle::settled(State::settled(vm_state::ACTIVE, power_state::RUNNING));
        life.begin(
            at(100),
            task_state::POWERING_OFF,
            at(105),
            State::settled(vm_state::STOPPED, power_state::SHUTDOWN),
        );
        assert_eq!(life.at(at(104)).status(), "ACTIVE");
        assert_eq!(
            life.at(at(104)).task_state.as_deref(),
            Some(task_state::POWERING_OFF)
        );
        assert_eq!(life.at(at(105)).status(), "SHUTOFF");
        assert_eq!(life.at(at(105)).task_state, None);
        life.settle(at(106));
        assert_eq!(life.transition, None);
        assert_eq!(life.current.vm_state, vm_state::STOPPED);
    }

    #[test]
    fn never_is_the_start_of_year_9999() {
        assert_eq!(never().to_seconds_string(), "9999-01-01T00:00:00Z");
        let mut life = Lifecycle::settled(State::settled(vm_state::ACTIVE, power_state::RUNNING));
        life.begin(
            at(100),
            task_state::REBOOTING,
            never(),
            State::settled(vm_state::ACTIVE, power_state::RUNNING),
        );
        assert_eq!(life.at(at(100 + 10 * 365 * 86_400)).status(), "REBOOT");
    }

    #[test]
    fn a_transition_of_no_duration_holds_at_once() {
        let mut life = Lifecycle::settled(State::settled(vm_state::ACTIVE, power_state::RUNNING));
        life.begin(
            at(100),
            task_state::PAUSING,
            at(100),
            State::settled(vm_state::PAUSED, power_state::PAUSED),
        );
        assert_eq!(life.transition, None);
        assert_eq!(life.current.status(), "PAUSED");
    }
}
