//! Watching running children: one poll loop over every child's pipes and the SIGCHLD wake-up
//! pipe drains output, notices exits and enforces deadlines. It never blocks on a child's output.

use std::io;
use std::time::{Duration, Instant};

use super::launch::{Launcher, StartError, TestToStart};
use super::orphans::OrphanSweeper;
#[cfg(unix)]
use super::output_rest::OutputRests;
pub(crate) use super::running::RunKey;
use super::running::{RunningChild, TimeoutState};
use super::signals::{self, GroupSlot, WakePipe};
use super::slow_notice::{ask_where, Due, Notice, Step, WHERE_GRACE};
use super::streams::{ChildStreams, Ended, Stream, CHUNK};
use super::symbolizer::Symbolizer;
use crate::child::ChildOptions;
use crate::outcome::{ChildOutcome, Escapee};
use crate::registry::{Setup, TestCase};
use crate::symbols::Frame;
use crate::sys::{self, RawFd};
use crate::wire;

mod naming;

/// What the supervisor tells whoever shows the run's progress, from inside its wait.
pub(crate) trait Progress {
    /// How often [`tick`](Self::tick) wants calling while children run; `None` for never.
    fn tick_every(&self) -> Option<Duration>;
    /// The tests running now, each with when it started.
    fn tick(&mut self, running: &mut dyn Iterator<Item = (&'static TestCase, Instant)>);
    /// A test the user asked for has been running for longer than the run's `slow_after`; `at`
    /// is where its thread is, innermost first, where the child said.
    fn slow(&mut self, case: &'static TestCase, at: &[Frame]);
}

/// How much one pipe may be read per wake-up, so one flooding child cannot starve the others.
const READS_PER_WAKE: usize = 16;

/// How the supervisor watches one child.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watch {
    /// Killed after this long.
    pub(crate) timeout: Option<Duration>,
    /// Whether a long run gets libtest's "has been running for over" notice: not for a run the
    /// harness makes of its own accord.
    pub(crate) notice_slow: bool,
    /// Whether the timeout counts only the time the run was not kept waiting for a processor
    /// (its longest-waiting thread's), up to `MAX_EXCUSED` times the timeout: for a run the
    /// harness makes of its own accord, whose deadline it set from what an idle machine needs.
    /// A test's own timeout is wall time, as libtest's.
    pub(crate) excuse_cpu_wait: bool,
}

/// How long an interrupted run waits for a child that had said its last word (closed every pipe)
/// to exit, so that its test keeps its verdict: it is on its way out already, but the kernel's
/// teardown of its memory takes its turn for a processor. As long as a reap may take
/// ([`sys::reap::REAP_LIMIT`]). One second was too short on a loaded machine: at load averages
/// of 7 to 20 on two cores, a test that had failed before an interruption read "did not finish"
/// in five of about fourteen runs of the end-to-end suite.
const EXIT_AFTER_LAST_WORD: Duration = sys::reap::REAP_LIMIT;

/// The running children and the machinery to watch them.
pub(crate) struct Supervisor {
    /// When a test is announced as still running (libtest's 60 seconds); `None` for never.
    slow_after: Option<Duration>,
    /// A child of the harness that is no test (the symboliser): never swept as an orphan, and
    /// its descriptors (`spared_fds`) closed in every new child.
    spared: Option<i32>,
    spared_fds: Vec<RawFd>,
    /// How each test's child is started.
    launcher: Box<dyn Launcher>,
    wake: WakePipe,
    running: Vec<RunningChild>,
    orphans: OrphanSweeper,
    /// Escaped processes killed so far, not yet reported.
    escapees: Vec<Escapee>,
    buffer: Vec<u8>,
    #[cfg(unix)]
    poll_fds: Vec<libc::pollfd>,
    #[cfg(unix)]
    poll_owners: Vec<(usize, Stream)>,
    /// The descriptors a new child must close.
    harness_fds: Vec<RawFd>,
    /// Names where tests were stuck and where leaked blocks came from; started on first use.
    symbolizer: Symbolizer,
    /// Children that ended while the harness waited for the symboliser, finished (reaped) then
    /// so as not to be left zombies, their outcomes not yet returned by [`wait`](Self::wait).
    finished_early: Vec<(RunKey, ChildOutcome)>,
    /// Notices due, each with where its test's thread was (return addresses), not yet said.
    notices: Vec<(&'static TestCase, Vec<u64>)>,
}

impl Supervisor {
    /// `slow_after`: when to say that a test is still running (libtest's 60 seconds); `None` for
    /// never.
    pub(crate) fn new(
        launcher: Box<dyn Launcher>,
        slow_after: Option<Duration>,
    ) -> io::Result<Self> {
        super::orphans::become_subreaper();
        Ok(Self {
            slow_after,
            spared: None,
            spared_fds: Vec::new(),
            launcher,
            wake: signals::install()?,
            running: Vec::new(),
            orphans: OrphanSweeper::default(),
            escapees: Vec::new(),
            buffer: vec![0; CHUNK],
            #[cfg(unix)]
            poll_fds: Vec::new(),
            #[cfg(unix)]
            poll_owners: Vec::new(),
            harness_fds: Vec::new(),
            symbolizer: Symbolizer::default(),
            finished_early: Vec::new(),
            notices: Vec::new(),
        })
    }

    /// Never sweeps `pid`, a child of the harness that is no test, as an orphan; no test's child
    /// keeps `fds`, the harness's ends of its pipes (a test that writes into every pipe it has
    /// must not reach it).
    pub(crate) fn spare(&mut self, pid: Option<i32>, fds: &[RawFd]) {
        self.spared = pid;
        self.spared_fds.clear();
        self.spared_fds.extend_from_slice(fds);
    }

    /// Children at work. A child closes its pipes just before it exits: one whose pipes are all
    /// closed has said all it will, and frees its slot for the next test while the kernel tears
    /// it down and the harness waits to reap it. (A test that closes them itself and goes on
    /// running frees its slot early too; its deadline still holds.)
    pub(crate) fn running(&self) -> usize {
        self.running
            .iter()
            .filter(|child| child.open_pipes().next().is_some())
            .count()
    }

    /// Starts a child for `case`, the `registered`th in the registry (from `setup`, where it has
    /// one); its outcome comes back from [`wait`](Self::wait) under `key`.
    pub(crate) fn start(
        &mut self,
        key: RunKey,
        (case, registered, setup): (&'static TestCase, usize, Option<Setup>),
        watch: Watch,
        options: ChildOptions,
        token: u64,
    ) -> Result<(), StartError> {
        self.list_harness_fds();
        let test = TestToStart {
            case,
            registered,
            setup,
            token,
            options,
        };
        let group = GroupSlot::reserve();
        let blocked = signals::TerminationBlocked::new();
        let launched = self.launcher.start(&test, &self.harness_fds)?;
        group.set_group(launched.process.pid().as_raw());
        // Unix's unblocks the signals; Windows' holds nothing.
        #[cfg_attr(windows, allow(clippy::drop_non_drop))]
        drop(blocked);
        self.running.push(RunningChild {
            key,
            case,
            // A run the user did not ask for is never announced.
            notice: match (watch.notice_slow, self.slow_after) {
                (true, Some(_)) => Notice::Pending,
                _ => Notice::Off,
            },
            token,
            // `None` where it writes to the harness's own.
            shares_harness_output: launched.stdout.is_none() || launched.stderr.is_none(),
            process: launched.process,
            streams: ChildStreams::new(launched.stdout, launched.stderr, launched.result),
            #[cfg(unix)]
            rests: OutputRests::default(),
            started: Instant::now(),
            timeout: watch.timeout,
            excuse_cpu_wait: watch.excuse_cpu_wait,
            timeout_state: TimeoutState::Running,
            group,
        });
        Ok(())
    }

    /// Blocks until at least one child has ended, and returns every child that has; returns
    /// nothing at once if the run was interrupted.
    pub(crate) fn wait(&mut self, progress: &mut dyn Progress) -> Vec<(RunKey, ChildOutcome)> {
        let mut check_exits = true;
        loop {
            if signals::interrupted().is_some() {
                return Vec::new();
            }
            let paused = signals::take_paused();
            if !paused.is_zero() {
                self.running
                    .iter_mut()
                    .for_each(|child| child.resumed_after(paused));
            }
            // Before looking for exits: a test waited for is shown, however fast it ends.
            let redraw = progress.tick_every();
            if redraw.is_some() {
                progress.tick(&mut self.running.iter().map(|child| (child.case, child.started)));
            }
            let mut finished = std::mem::take(&mut self.finished_early);
            if check_exits {
                let exited = self.collect_exited();
                self.sweep_after(&exited);
                finished.extend(exited);
            }
            if !finished.is_empty() {
                // A child asked where it is may answer and end at once: said before its verdict.
                self.say_notices(progress);
                return finished;
            }
            let mut poll_timeout = self.enforce_deadlines();
            self.say_notices(progress);
            if !self.finished_early.is_empty() {
                // Children ended while their names were looked up: theirs before any wait.
                continue;
            }
            if let Some(redraw) = redraw {
                poll_timeout = Some(poll_timeout.map_or(redraw, |timeout| timeout.min(redraw)));
            }
            let working = self.running();
            check_exits = self.poll(poll_timeout);
            if self.running() < working {
                // A slot came free: the next test can start before this one is reaped.
                return Vec::new();
            }
        }
    }

    /// On an interruption: the outcomes of the children that have exited, waiting (at most
    /// [`EXIT_AFTER_LAST_WORD`]) for the one under `key` if it had closed every pipe, its test
    /// over; nothing at once if it had not, as its test did not finish.
    pub(crate) fn exited_after_last_word(&mut self, key: RunKey) -> Vec<(RunKey, ChildOutcome)> {
        let said_all =
            |child: &RunningChild| child.key == key && child.open_pipes().next().is_none();
        let mut finished = std::mem::take(&mut self.finished_early);
        if !self.running.iter().any(said_all) {
            return finished;
        }
        let give_up = Instant::now() + EXIT_AFTER_LAST_WORD;
        loop {
            finished.extend(self.collect_exited());
            let now = Instant::now();
            if finished.iter().any(|(done, _)| *done == key) || now >= give_up {
                return finished;
            }
            self.wait_for_wake(give_up - now);
        }
    }

    /// Kills every child whose deadline passed, after asking it where it is; returns how long
    /// poll may sleep. The notices due are queued, for [`say_notices`](Self::say_notices).
    fn enforce_deadlines(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let mut sleep: Option<Duration> = None;
        let mut wake_in = |left: Duration| {
            sleep = Some(sleep.map_or(left, |sleep: Duration| sleep.min(left)));
        };
        for child in &mut self.running {
            let due = Due {
                started: child.started,
                slow_after: self.slow_after.unwrap_or_default(),
                pid: child.process.pid(),
                token: child.token,
                result_bytes: &child.streams.result_bytes,
            };
            match child.notice.step(due, now, ask_where) {
                Step::Wait(Some(left)) => wake_in(left),
                Step::Wait(None) => {}
                Step::Say(addresses) => self
                    .notices
                    .push((child.case, addresses.unwrap_or_default())),
            }
            let Some(deadline) = child.deadline() else {
                continue;
            };
            match child.timeout_state {
                TimeoutState::Running if deadline <= now => {
                    if let Some(until) = child.excused_until(deadline).filter(|&at| at > now) {
                        wake_in(until - now);
                    } else if let Some(signal) = child.process.stopped_by() {
                        // A stopped process cannot say where it is.
                        child.kill_for_timeout(Some(signal));
                    } else if ask_where(child.process.pid()) {
                        child.timeout_state = TimeoutState::Asked {
                            at: now,
                            result_bytes: child.streams.result_bytes.len(),
                        };
                        wake_in(WHERE_GRACE);
                    } else {
                        child.kill_for_timeout(None);
                    }
                }
                TimeoutState::Running => wake_in(deadline - now),
                TimeoutState::Asked { at, result_bytes } => {
                    // The answer is a frame on the result channel: kill as soon as it is in.
                    let answered = child.streams.result_bytes.len() > result_bytes;
                    if answered || now >= at + WHERE_GRACE {
                        child.kill_for_timeout(None);
                    } else {
                        wake_in(at + WHERE_GRACE - now);
                    }
                }
                TimeoutState::Killed { .. } => {}
            }
        }
        sleep
    }

    /// Says the notices due, each with where its test was.
    fn say_notices(&mut self, progress: &mut dyn Progress) {
        for (case, addresses) in std::mem::take(&mut self.notices) {
            let frames = self.test_frames(&addresses);
            progress.slow(case, &frames);
        }
    }

    /// The descriptors a new child must close: the wake-up pipe's, the launcher's, the spared
    /// process's and every running child's pipes.
    #[cfg(unix)]
    fn list_harness_fds(&mut self) {
        use std::os::fd::AsRawFd;
        let harness_fds = &mut self.harness_fds;
        harness_fds.clear();
        harness_fds.extend(self.wake.fds());
        self.launcher.own_fds(harness_fds);
        harness_fds.extend_from_slice(&self.spared_fds);
        for child in &self.running {
            harness_fds.extend(child.open_pipes().map(|(_, end)| end.as_raw_fd()));
        }
    }

    /// None on Windows: a child there inherits only the handles it is given.
    #[cfg(windows)]
    fn list_harness_fds(&mut self) {}

    /// Waits at most `timeout` for a child's exit (SIGCHLD writes to the wake pipe).
    #[cfg(unix)]
    fn wait_for_wake(&mut self, timeout: Duration) {
        let mut wake = [sys::raw_io::readable(self.wake.fd())];
        if sys::raw_io::poll(&mut wake, Some(timeout)).is_some_and(|ready| ready > 0) {
            self.wake.drain();
        }
    }

    /// Waits at most `timeout` for news: a child's end is news.
    #[cfg(windows)]
    fn wait_for_wake(&mut self, timeout: Duration) {
        self.wake.wait(Some(timeout));
    }

    /// Waits for news (a pipe's bytes or end, a child's end) or `timeout`; reads what arrived.
    /// Returns whether a child may have exited.
    #[cfg(windows)]
    fn poll(&mut self, timeout: Option<Duration>) -> bool {
        if !self.wake.wait(timeout) {
            // Timed out: a deadline may have passed.
            return false;
        }
        for child in &mut self.running {
            for stream in [Stream::Stdout, Stream::Stderr, Stream::Result] {
                child.drain(stream, &mut self.buffer, READS_PER_WAKE);
            }
        }
        true
    }

    /// Waits for output, a child's exit or `timeout`; reads what arrived. Returns whether a
    /// child may have exited. A captured stream at rest is not watched until its rest ends
    /// (see [`output_rest`](super::output_rest)).
    #[cfg(unix)]
    fn poll(&mut self, timeout: Option<Duration>) -> bool {
        self.poll_also(timeout, None)
    }

    /// [`poll`](Self::poll), also woken by `also` becoming readable (left for its owner to read).
    #[cfg(unix)]
    fn poll_also(&mut self, mut timeout: Option<Duration>, also: Option<RawFd>) -> bool {
        // Reused from call to call: every page the parent writes after a fork is a page fault.
        let (fds, owners) = (&mut self.poll_fds, &mut self.poll_owners);
        fds.clear();
        owners.clear();
        fds.push(sys::raw_io::readable(self.wake.fd()));
        let now = Instant::now();
        for (index, child) in self.running.iter().enumerate() {
            for (stream, end) in child.watched_pipes(now) {
                fds.push(sys::raw_io::readable(std::os::fd::AsRawFd::as_raw_fd(end)));
                owners.push((index, stream));
            }
            if let Some(rest_end) = child.rests.next_end(now) {
                let left = rest_end - now;
                timeout = Some(timeout.map_or(left, |timeout| timeout.min(left)));
            }
        }
        // Last, past the children's: it has no owner among them.
        fds.extend(also.map(sys::raw_io::readable));
        match sys::raw_io::poll(fds, timeout) {
            // Timed out: a deadline may have passed.
            Some(0) => return false,
            // Interrupted by a signal: a child's exit, perhaps.
            None => return true,
            Some(_) => {}
        }
        let woken = self.poll_fds[0].revents != 0;
        if woken {
            self.wake.drain();
        }
        for (pollfd, &(index, stream)) in self.poll_fds[1..].iter().zip(&self.poll_owners) {
            if pollfd.revents & libc::POLLIN != 0 {
                self.running[index].drain(stream, &mut self.buffer, READS_PER_WAKE);
            } else if pollfd.revents != 0 {
                // Hung up with nothing left to read: no read needed to learn it.
                self.running[index].close(stream);
            }
        }
        woken
    }

    /// Finishes every child that has exited, but for those the run's interruption killed: their
    /// tests did not finish, and have no outcome.
    fn collect_exited(&mut self) -> Vec<(RunKey, ChildOutcome)> {
        let mut finished = Vec::new();
        let mut index = 0;
        while index < self.running.len() {
            if !self.running[index].process.has_ended() {
                index += 1;
                continue;
            }
            let child = self.running.swap_remove(index);
            if child.group.cut_short() {
                self.discard(child);
            } else {
                finished.push(self.finish(child));
            }
        }
        finished
    }

    /// Reaps a child the interruption killed, and whatever is left of its group.
    fn discard(&mut self, child: RunningChild) {
        child.process.kill_tree();
        #[cfg_attr(windows, allow(clippy::drop_non_drop))]
        drop(child.group);
        self.orphans.group_finished(child.process.pid().as_raw());
        child.process.reap();
    }

    /// Ends an exited child: kills what is left of its process group, takes the rest of its
    /// output, and reaps it.
    fn finish(&mut self, mut child: RunningChild) -> (RunKey, ChildOutcome) {
        child.process.kill_leftovers();
        child.streams.drain_to_end(&mut self.buffer);
        if child.shares_harness_output {
            keep_stdio_blocking();
        }
        if let Notice::AskedWhere { from, .. } = child.notice {
            let answer = (child.streams.result_bytes)
                .get(from..)
                .and_then(|bytes| wire::stuck_frames_in(child.token, bytes));
            self.notices.push((child.case, answer.unwrap_or_default()));
        }
        let signalled_harness = child.group.signal_sent_to_harness();
        let timed_out = child.timed_out();
        // Off the table before the reap frees the group's id for reuse.
        #[cfg_attr(windows, allow(clippy::drop_non_drop))]
        drop(child.group);
        let pid = child.process.pid();
        let outcome = child.streams.into_outcome(Ended {
            reaped: child.process.reap(),
            token: child.token,
            timed_out,
            signalled_harness,
            started: child.started,
        });
        if outcome.clues.left.processes {
            // Only such a test can have left processes for a sweep to find; remembering every
            // group would grow the harness with the suite.
            self.orphans.group_finished(pid.as_raw());
        }
        (child.key, outcome)
    }

    /// Kills and reaps every running child, and whatever escaped from any; returns the escapees
    /// found alive.
    pub(crate) fn kill_all(&mut self) -> Vec<Escapee> {
        self.launcher.stop();
        for child in std::mem::take(&mut self.running) {
            self.discard(child);
        }
        let mut escapees = self.take_escapees();
        escapees.extend(self.sweep_orphans());
        escapees
    }

    /// Sweeps orphans if a test that just ended left processes behind (or crashed, and may have).
    fn sweep_after(&mut self, finished: &[(RunKey, ChildOutcome)]) {
        if finished
            .iter()
            .any(|(_, outcome)| outcome.clues.left.processes)
        {
            let escapees = self.sweep_orphans();
            self.escapees.extend(escapees);
        }
    }

    /// Escaped processes killed since the last call. Which test left each is told by the pids
    /// tests listed in their reports ([`Leftovers::descendants`](crate::outcome::Leftovers::descendants)).
    pub(crate) fn take_escapees(&mut self) -> Vec<Escapee> {
        std::mem::take(&mut self.escapees)
    }

    fn sweep_orphans(&mut self) -> Vec<Escapee> {
        let running = &self.running;
        let spared = self.spared;
        let launcher = &self.launcher;
        self.orphans.sweep(|pid| {
            spared == Some(pid)
                || running
                    .iter()
                    .any(|child| child.process.pid().as_raw() == pid)
                || launcher.owns(pid)
        })
    }
}

/// After a child that wrote to the harness's own stdout and stderr (`--nocapture`): they may
/// share the harness's open file description still (a socket cannot be reopened), so a test
/// that set `O_NONBLOCK` there set it for the harness too. Clears it, so that the harness's own
/// output never fails with "would block".
fn keep_stdio_blocking() {
    sys::descriptors::set_blocking(1);
    sys::descriptors::set_blocking(2);
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.kill_all();
    }
}
