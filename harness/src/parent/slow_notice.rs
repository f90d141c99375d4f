//! libtest's notice that a test has been running long, with where the test is. libtest times no
//! test out, and neither does the harness unless asked: for a test that hangs, this notice is
//! where its user learns where it is. At `slow_after` the child is asked where its test's thread
//! is, as at a timeout; the notice waits for the answer (at most the grace a timed-out child
//! gets) and is said with the test's frames, or without them if none came.

use std::time::{Duration, Instant};

use crate::sys::Pid;

use crate::wire;

/// How long a child past its timeout has to say where it is before its group is killed (and a
/// child past `slow_after`, before its notice is said without).
pub(super) const WHERE_GRACE: Duration = Duration::from_millis(250);

/// Asks a child for its test thread's backtrace (past its timeout, or at its notice); `false`
/// where that cannot be.
pub(super) fn ask_where(pid: Pid) -> bool {
    // Raw: the signal is a real-time one, which nix's `Signal` cannot name.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: `kill` of our own child with the signal whose handler every child inherits.
    return unsafe { libc::kill(pid.as_raw(), crate::child::stuck_signal()) } == 0;
    // No real-time signal to ask with (see `child::no_alloc::stuck`).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = pid;
        false
    }
}

/// Where one child stands with its notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Notice {
    /// Never said: a run the harness makes of its own accord, or a run without notices.
    Off,
    /// Not due yet.
    Pending,
    /// Due, and the child was asked where it is at `at`, when its result channel held `from`
    /// bytes: its answer is the first `Stuck` frame after them.
    AskedWhere {
        from: usize,
        at: Instant,
    },
    Said,
}

/// What a child's notice asks of the supervisor now.
pub(super) enum Step {
    /// Nothing yet; look again within this long, if given.
    Wait(Option<Duration>),
    /// Say the notice, with the return addresses of the test's thread where they came.
    Say(Option<Vec<u64>>),
}

/// A child that started at `started`, running past `slow_after`: its notice's next step.
pub(super) struct Due<'a> {
    pub(super) started: Instant,
    pub(super) slow_after: Duration,
    pub(super) pid: Pid,
    pub(super) token: u64,
    pub(super) result_bytes: &'a [u8],
}

impl Notice {
    /// Moves the notice on at `now`; `ask_where` asks the child for its test thread's frames.
    pub(super) fn step(&mut self, due: Due<'_>, now: Instant, ask_where: fn(Pid) -> bool) -> Step {
        match *self {
            Notice::Off | Notice::Said => Step::Wait(None),
            Notice::Pending => {
                let at = due.started + due.slow_after;
                if now < at {
                    return Step::Wait(Some(at - now));
                }
                if ask_where(due.pid) {
                    *self = Notice::AskedWhere {
                        from: due.result_bytes.len(),
                        at: now,
                    };
                    Step::Wait(Some(WHERE_GRACE))
                } else {
                    *self = Notice::Said;
                    Step::Say(None)
                }
            }
            Notice::AskedWhere { from, at } => {
                let answer = due
                    .result_bytes
                    .get(from..)
                    .and_then(|bytes| wire::stuck_frames_in(due.token, bytes));
                let give_up = at + WHERE_GRACE;
                if answer.is_none() && now < give_up {
                    return Step::Wait(Some(give_up - now));
                }
                *self = Notice::Said;
                Step::Say(answer)
            }
        }
    }
}
