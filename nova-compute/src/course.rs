//! How the controllers do what a [`FaultInjector`](crate::FaultInjector)
//! answers (`Course`, `begin`): a server's transition of another length,
//! ending in `ERROR` or never ending, with its `fault`, `stuck_by` and
//! instance action kept consistent with it.

use std::time::Duration;

use nova_controller::Timestamp;

use crate::state::{never, vm_state, State};
use crate::{ComputeApi, ComputeError, Injection, ServerDetails, ServerEvent, ServerFault};

/// What an event that goes ahead is to be like, from its injector's
/// answer: the ordinary outcome, or a transition of another length, one
/// that ends in `ERROR`, or one that never ends.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Course {
    /// As the cloud configures it; also what every event is without an
    /// injector.
    #[default]
    Ordinary,
    /// [`Injection::Take`].
    Take(Duration),
    /// [`Injection::Error`].
    Error { after: Duration, message: String },
    /// [`Injection::Stuck`].
    Stuck { behavior_id: String },
}

impl Course {
    /// The course an answer sets; [`Injection::Fail`] is the request's
    /// error instead ([`ComputeError::Injected`]).
    pub(crate) fn of(answer: Option<Injection>) -> Result<Course, ComputeError> {
        Ok(match answer {
            None => Course::Ordinary,
            Some(Injection::Fail(fault)) => return Err(ComputeError::Injected(fault)),
            Some(Injection::Take(takes)) => Course::Take(takes),
            Some(Injection::Error { after, message }) => Course::Error { after, message },
            Some(Injection::Stuck { behavior_id }) => Course::Stuck { behavior_id },
        })
    }

    /// Whether an injection shapes the event.
    pub(crate) fn is_ordinary(&self) -> bool {
        *self == Course::Ordinary
    }

    /// How a transition started at `now`, ordinarily taking `takes`,
    /// ends on this course.
    pub(crate) fn ending(&self, now: Timestamp, takes: Duration) -> Ending {
        let until = match self {
            Course::Ordinary => now.after(takes),
            Course::Take(takes) => later(now, *takes),
            Course::Error { after, .. } => later(now, *after),
            Course::Stuck { .. } => never(),
        };
        Ending {
            until,
            failed: matches!(self, Course::Error { .. }),
            held: matches!(self, Course::Stuck { .. }),
            injected: !self.is_ordinary(),
        }
    }
}

/// The course `api`'s injector sets for `event`: [`Course::Ordinary`]
/// without asking when there is no injector, the request's error for a
/// [`Injection::Fail`].
pub(crate) async fn ask(api: &ComputeApi, event: ServerEvent<'_>) -> Result<Course, ComputeError> {
    match &api.injector {
        None => Ok(Course::Ordinary),
        Some(injector) => Course::of(injector.server_event(event).await?),
    }
}

/// How a transition [`begin`] started ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ending {
    /// When it ends ([`never()`] for one held by a behaviour).
    pub(crate) until: Timestamp,
    /// Whether it ends in `ERROR` rather than its ordinary state.
    pub(crate) failed: bool,
    /// Whether it never ends by itself.
    pub(crate) held: bool,
    /// Whether an injection shaped it.
    pub(crate) injected: bool,
}

impl Ending {
    /// When it reaches its ordinary end state, if it ever does.
    pub(crate) fn succeeds_at(&self) -> Option<Timestamp> {
        (!self.failed && !self.held).then_some(self.until)
    }
}

/// `now` plus `duration`; an instant past [`Timestamp`]'s range (which
/// `after` would give as `now`) is [`never()`].
fn later(now: Timestamp, duration: Duration) -> Timestamp {
    let until = now.after(duration);
    if until <= now && !duration.is_zero() {
        never()
    } else {
        until.min(never())
    }
}

/// Starts `task` on the server of `details` at `now` as `course` shapes
/// it: ordinarily taking `takes` and ending in `then`; for
/// [`Course::Take`] taking that long instead; for [`Course::Error`]
/// ending that much later in `ERROR` (the power state kept, task none)
/// with the fault stored, shown once the status is `ERROR`; for
/// [`Course::Stuck`] ending [`never()`], held by the behaviour.
///
/// Whatever the transition replaces goes with it: the behaviour that held
/// it (`stuck_by` names the holder of the transition under way, if any)
/// and a failure it was heading for that had not come yet. A fault that
/// has come stays, as Nova keeps an instance's last fault and shows it
/// only while the server is in `ERROR` (or deleted).
pub(crate) fn begin(
    details: &mut ServerDetails,
    now: Timestamp,
    task: &str,
    takes: Duration,
    then: State,
    course: &Course,
) -> Ending {
    let mut life = details.lifecycle();
    life.settle(now);
    if details
        .fault
        .as_ref()
        .is_some_and(|fault| fault.created.is_some_and(|created| created > now))
    {
        details.fault = None;
    }
    details.stuck_by = None;
    let ending = course.ending(now, takes);
    let then = match course {
        Course::Ordinary | Course::Take(_) => then,
        Course::Error { message, .. } => {
            details.fault = Some(ServerFault {
                code: 500,
                message: message.clone(),
                details: None,
                created: Some(ending.until),
            });
            State::settled(vm_state::ERROR, life.current.power_state)
        }
        Course::Stuck { behavior_id } => {
            details.stuck_by = Some(behavior_id.clone());
            then
        }
    };
    life.begin(now, task, ending.until, then);
    details.lifecycle = Some(life);
    ending
}

/// Makes the instance action just recorded end as `ending` does, if an
/// injection shaped it: its events finish when the transition ends (a
/// held one's never do, as Nova shows a step still under way), and a
/// failed one's last event is `Error` and the action's message `Error`,
/// as Nova records a compute step that raised. An ordinary one is left as
/// recorded.
pub(crate) fn record_ending(details: &mut ServerDetails, ending: &Ending) {
    if !ending.injected {
        return;
    }
    let Some(action) = details.actions.last_mut() else {
        return;
    };
    for event in &mut action.events {
        event.finish_time = Some(ending.until);
    }
    action.updated_at = Some(ending.until);
    if ending.failed {
        if let Some(event) = action.events.last_mut() {
            event.result = Some("Error".to_owned());
        }
        action.message = Some("Error".to_owned());
    }
}
