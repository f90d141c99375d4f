//! The operating system's calls that the harness makes in more than one place, each written once:
//! forking, killing, reaping, counting threads, reading `/proc` without allocating.
//!
//! Functions marked "Allocates nothing" may run inside the allocator, in a signal handler or while
//! other threads are stopped; the others may allocate.

mod huge_pages;

pub(crate) use huge_pages::{collapse_into_huge_pages, rehome_relocated_data};

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::{ForkResult, Pid};

/// The longest a reap waits: SIGKILL ends any process not stuck in the kernel at once, and one
/// that is must not hang the harness.
pub(crate) const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Forks this process, which must have one thread, besides threads parked for good: a fork from a
/// multi-threaded process can inherit a lock another thread held and hang the child. The thread
/// count is asserted in debug builds, through `task_dir` (this process's `/proc/self/task` opened
/// once) where given.
///
/// # Safety
/// The caller must be this process's only thread but parked ones (the harness starts none and
/// runs every test with one; a test's child has its parked main thread), so that the child may
/// allocate and print freely.
pub(crate) unsafe fn fork(task_dir: Option<&OwnedFd>) -> nix::Result<ForkResult> {
    if cfg!(debug_assertions) {
        let threads = task_dir.map_or_else(thread_count, thread_count_in);
        let parked = PARKED_THREADS.load(SeqCst);
        if let Some(threads) = threads.map(|threads| threads.saturating_sub(parked)) {
            assert_eq!(
                threads, 1,
                "isolated-test: refusing to fork from a process with {threads} threads"
            );
        }
    }
    // SAFETY: guaranteed by the caller.
    let forked = unsafe { nix::unistd::fork() }?;
    if let ForkResult::Child = forked {
        // The fork kept only the calling thread.
        PARKED_THREADS.store(0, SeqCst);
    }
    Ok(forked)
}

/// Forks this process as [`fork`] does, but the new process is a child of this process's parent
/// (Linux's `CLONE_PARENT`): a zygote hands the harness children it waits for and reaps itself.
/// `None` in the new process. Refuses, always, from a process with more than one thread.
///
/// # Safety
/// As for [`fork`]: the caller must be this process's only thread.
#[cfg(target_os = "linux")]
pub(crate) unsafe fn fork_sibling() -> std::io::Result<Option<Pid>> {
    if let Some(threads) = thread_count().filter(|&threads| threads != 1) {
        panic!("isolated-test: refusing to fork from a process with {threads} threads");
    }
    let flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_long;
    let none: libc::c_long = 0;
    // SAFETY: with no stack, no thread-id pointers and no TLS, `clone` copies the process as
    // `fork` does, the new one running on a copy of this stack. glibc's fork bookkeeping is not
    // needed: in a single-threaded process no lock is held, and glibc asks the kernel for the
    // thread id when a thread signals itself (`raise`, `abort`).
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, none, none, none, none) };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) unsafe fn fork_sibling() -> std::io::Result<Option<Pid>> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Sends one datagram on a `SOCK_SEQPACKET` socket, with `fds` attached.
pub(crate) fn send_with_fds(socket: &OwnedFd, bytes: &[u8], fds: &[RawFd]) -> nix::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let rights = [ControlMessage::ScmRights(fds)];
    let control: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    let data = [std::io::IoSlice::new(bytes)];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &data,
        control,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    Ok(())
}

/// Receives one datagram [`send_with_fds`] sent, and the descriptors attached (close-on-exec);
/// an empty datagram with none is the other end closing.
pub(crate) fn receive_with_fds(socket: &OwnedFd) -> nix::Result<(Vec<u8>, Vec<OwnedFd>)> {
    use std::os::fd::FromRawFd;

    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buffer = vec![0u8; 4096];
    let mut control = nix::cmsg_space!([RawFd; 4]);
    let mut data = [std::io::IoSliceMut::new(&mut buffer)];
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut data,
        Some(&mut control),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let length = message.bytes;
    let mut fds = Vec::new();
    for received in message.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = received {
            // SAFETY: the kernel just installed these descriptors in this process for us.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    buffer.truncate(length);
    Ok((buffer, fds))
}

/// Installs `handler` for `signal`, restarting interrupted system calls.
///
/// # Safety
/// `handler` must be async-signal-safe: it may interrupt any code, the allocator's included.
pub(crate) unsafe fn install_handler(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: a zeroed sigaction with these fields set is valid; the caller vouches for the
    // handler.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}

/// Ends this process by `signal`, as a process killed by it ends, without a core dump (the
/// harness's would tell nothing of the test that died so); where the signal does not end a
/// process, exits with 128 + its number, as a shell reports a signal.
pub(crate) fn die_by(signal: libc::c_int) -> ! {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    // SAFETY: the default disposition runs no handler; the set is built on our stack; `raise`
    // has no preconditions.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, set.as_ptr(), std::ptr::null_mut());
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}

/// Ends this process at once, running none of the destructors or exit handlers it inherited.
/// Allocates nothing.
pub(crate) fn exit_now(status: i32) -> ! {
    // SAFETY: `_exit` has no preconditions.
    unsafe { libc::_exit(status) }
}

/// Closes `fd` without the check std's debug builds make on every drop (an `fcntl` each: six a
/// test in the parent alone).
pub(crate) fn close(fd: OwnedFd) {
    // SAFETY: `into_raw_fd` hands our ownership of the descriptor to `close`.
    unsafe { libc::close(fd.into_raw_fd()) };
}

/// Closes descriptor `fd`, which nothing else owns.
pub(crate) fn close_raw(fd: RawFd) {
    // SAFETY: closing a descriptor number we were given to close.
    unsafe { libc::close(fd) };
}

/// Makes `fd` descriptor `target` (replacing what was there), closing `fd`.
pub(crate) fn move_to(fd: OwnedFd, target: RawFd) {
    // SAFETY: both are descriptor numbers; `target` is replaced, which only this process uses.
    unsafe { libc::dup2(fd.as_raw_fd(), target) };
    close(fd);
}

/// Clears `O_NONBLOCK` on `fd`'s open file description.
pub(crate) fn set_blocking(fd: RawFd) {
    // SAFETY: F_GETFL and F_SETFL only read and change the status flags of `fd`.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// Whether `fd` is a pipe or a character device (a terminal).
pub(crate) fn is_pipe_or_terminal(fd: RawFd) -> bool {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` fills the buffer on success.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: initialised by the successful `fstat` above.
    let kind = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    kind == libc::S_IFIFO || kind == libc::S_IFCHR
}

/// Opens `path` (the file on `fd`, through `/proc/self/fd`) again, with `fd`'s access mode and
/// append flag, and puts the new open file description on `fd`.
pub(crate) fn reopen(fd: RawFd, path: &std::ffi::CStr) {
    // SAFETY: `fcntl(F_GETFL)` only reads the flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return;
    }
    let keep = flags & (libc::O_ACCMODE | libc::O_APPEND);
    // Opened non-blocking, or a pipe nobody reads would block the open itself.
    // SAFETY: a NUL-terminated path; the new descriptor replaces `fd` and is closed.
    unsafe {
        let own = libc::open(
            path.as_ptr(),
            keep | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if own >= 0 {
            libc::dup2(own, fd);
            libc::close(own);
            libc::fcntl(fd, libc::F_SETFL, keep);
        }
    }
}

/// Kills every process of the group `leader` leads. Allocates nothing.
pub(crate) fn kill_group(leader: Pid) {
    // SAFETY: `kill` only sends a signal; `leader` is a child of ours.
    unsafe { libc::kill(-leader.as_raw(), libc::SIGKILL) };
}

/// Kills a process by its process group and by its pid: a test that moved itself into another
/// group (even the harness's) is still killed, and one still in its group takes the group's other
/// processes with it. Allocates nothing.
pub(crate) fn kill_process_and_group(pid: Pid) {
    // SAFETY: `kill` only sends a signal; `pid` is a child of ours.
    unsafe {
        libc::kill(-pid.as_raw(), libc::SIGKILL);
        libc::kill(pid.as_raw(), libc::SIGKILL);
    }
}

/// Kills child `pid` (and its group) and reaps it.
pub(crate) fn kill_and_reap(pid: Pid) {
    kill_process_and_group(pid);
    reap(pid);
}

/// Reaps every child of this process in the group `leader` led, all sent SIGKILL: waits until
/// none is left, or [`REAP_LIMIT`] has passed.
pub(crate) fn reap_group(leader: Pid) {
    let deadline = Instant::now() + REAP_LIMIT;
    loop {
        let mut status = 0;
        // SAFETY: `waitpid` writes the status of one ended child of the group into our local.
        let reaped = unsafe { libc::waitpid(-leader.as_raw(), &mut status, libc::WNOHANG) };
        if reaped > 0 {
            continue;
        }
        let still_there = reaped == 0 || Errno::last() == Errno::EINTR;
        if !still_there || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits for child `pid` (ended, or sent SIGKILL) and returns its wait status and resource
/// usage; `None` if it is not this process's child, or is still there after [`REAP_LIMIT`].
pub(crate) fn reap(pid: Pid) -> Option<(libc::c_int, libc::rusage)> {
    reap_by(pid, Instant::now() + REAP_LIMIT)
}

/// [`reap`], giving up at `deadline`. Allocates nothing, and is async-signal-safe.
pub(crate) fn reap_by(pid: Pid, deadline: Instant) -> Option<(libc::c_int, libc::rusage)> {
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: `wait4` writes the child's status and usage into our locals.
        let reaped =
            unsafe { libc::wait4(pid.as_raw(), &mut status, libc::WNOHANG, usage.as_mut_ptr()) };
        if reaped == pid.as_raw() {
            // SAFETY: zeroed, then filled by the successful `wait4`.
            return Some((status, unsafe { usage.assume_init() }));
        }
        let still_there = reaped == 0 || Errno::last() == Errno::EINTR;
        if !still_there || Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The signal that has stopped child `pid`, if it is stopped now. Leaves the stop reportable.
pub(crate) fn stopped_by(pid: Pid) -> Option<i32> {
    let flags = libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT;
    let info = waitid(libc::P_PID, pid.as_raw() as libc::id_t, flags)?;
    // SAFETY: for a stopped child, `si_status` holds the signal that stopped it.
    (info.si_code == libc::CLD_STOPPED).then(|| unsafe { info.si_status() })
}

/// Whether child `pid` has ended (and is not reaped yet); false for a process that is not an
/// unreaped child of this one. Allocates nothing, and is async-signal-safe.
pub(crate) fn has_ended(pid: Pid) -> bool {
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `si_pid` is 0 in the zeroed siginfo unless `waitid` found the child ended.
    waitid(libc::P_PID, pid.as_raw() as libc::id_t, flags)
        .is_some_and(|info| unsafe { info.si_pid() } != 0)
}

/// Whether this process has any child, living or not yet reaped.
pub(crate) fn has_children() -> bool {
    waitid(
        libc::P_ALL,
        0,
        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
    )
    .is_some()
}

fn waitid(kind: libc::idtype_t, id: libc::id_t, flags: libc::c_int) -> Option<libc::siginfo_t> {
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: `waitid` writes a siginfo into our zeroed buffer; with WNOWAIT it leaves every child
    // as it is.
    let ok = unsafe { libc::waitid(kind, id, info.as_mut_ptr(), flags) } == 0;
    // SAFETY: zeroed, then filled (or left zeroed) by `waitid`.
    ok.then(|| unsafe { info.assume_init() })
}

/// This process's children, where the kernel lists them: per thread, so every thread's (a
/// test's child has its parked main thread, which orphans are handed to, and the test's).
pub(crate) fn own_children() -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut children: Vec<i32> = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    children.sort_unstable();
    children
}

/// The longest any thread of process `pid` has waited, in all, on a run queue for a processor
/// (`/proc/PID/task/TID/schedstat`'s second field, counted from the thread's start); `None`
/// where the kernel does not say.
pub(crate) fn longest_cpu_wait(pid: Pid) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().nth(1)?.parse().ok()
        })
        .max()
        .map(Duration::from_nanos)
}

/// How many descriptors, from 0, a test's run looks at: a descriptor opened without a number
/// asked for takes the lowest free one, so one above this means hundreds open at once.
pub(crate) const WATCHED_DESCRIPTORS: usize = 256;

/// How many a run that judges the descriptors a test left open looks at: its test's new ones are
/// numbered from higher up (see `child::resources`).
pub(crate) const MOST_WATCHED_DESCRIPTORS: usize = 1024;

/// Descriptor numbers below [`MOST_WATCHED_DESCRIPTORS`], as bits.
pub(crate) type DescriptorSet = [u64; MOST_WATCHED_DESCRIPTORS / 64];

/// Which of descriptors 0 to `watched` - 1 (at most [`MOST_WATCHED_DESCRIPTORS`]) are open, as a
/// bit set: one `poll` of them all (a closed one reports `POLLNVAL`). No `/proc`: the first use
/// of it in a freshly forked process costs about 100 µs. Allocates nothing.
pub(crate) fn open_descriptors(watched: usize) -> DescriptorSet {
    let mut entries = [libc::pollfd {
        fd: 0,
        events: 0,
        revents: 0,
    }; MOST_WATCHED_DESCRIPTORS];
    // `poll` refuses more entries than the descriptor limit allows.
    let count = descriptor_limit()
        .min(watched)
        .min(MOST_WATCHED_DESCRIPTORS);
    for (fd, entry) in entries[..count].iter_mut().enumerate() {
        entry.fd = fd as libc::c_int;
    }
    loop {
        // SAFETY: `entries` is a live array of at least `count` pollfds; a zero timeout never
        // blocks, and no event is asked for.
        let ready = unsafe { libc::poll(entries.as_mut_ptr(), count as libc::nfds_t, 0) };
        if ready >= 0 || Errno::last() != Errno::EINTR {
            break;
        }
    }
    let mut open = [0u64; MOST_WATCHED_DESCRIPTORS / 64];
    for (fd, entry) in entries[..count].iter().enumerate() {
        if entry.revents & libc::POLLNVAL == 0 {
            open[fd / 64] |= 1 << (fd % 64);
        }
    }
    open
}

/// What file descriptor `fd` refers to, as its device and inode; `None` if it is not open.
/// Allocates nothing.
pub(crate) fn file_identity(fd: RawFd) -> Option<(u64, u64)> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` writes a `stat` into the buffer we own, or fails and writes nothing we read.
    let ok = unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `fstat` above.
    let stat = ok.then(|| unsafe { stat.assume_init() })?;
    #[allow(clippy::unnecessary_cast)] // not u64 everywhere
    Some((stat.st_dev as u64, stat.st_ino as u64))
}

/// How many descriptors this process may have open (`RLIMIT_NOFILE`'s soft limit). Allocates
/// nothing.
pub(crate) fn descriptor_limit() -> usize {
    let mut limit = std::mem::MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: `getrlimit` fills the buffer on success.
    match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, limit.as_mut_ptr()) } {
        // SAFETY: initialised by the successful `getrlimit` above.
        0 => usize::try_from(unsafe { limit.assume_init() }.rlim_cur).unwrap_or(usize::MAX),
        _ => WATCHED_DESCRIPTORS,
    }
}

/// What descriptor `fd` refers to, as a person reads it: a path, `socket`, `pipe`, or the
/// kernel's name for it.
pub(crate) fn descriptor_target(fd: i32) -> String {
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|target| target.display().to_string())
        .unwrap_or_else(|_| "unknown".to_owned());
    for kind in ["socket", "pipe"] {
        if target.starts_with(&format!("{kind}:[")) {
            return kind.to_owned();
        }
    }
    target
}

/// The bytes the C library's allocator holds in use, small chunks and mapped ones, where it
/// says (glibc's `mallinfo2`); chunk headers and chunks parked in a thread's cache count as used.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn malloc_in_use() -> Option<u64> {
    // SAFETY: `mallinfo2` only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    Some((info.uordblks + info.hblkhd) as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn malloc_in_use() -> Option<u64> {
    None
}

/// What every thread of this process but the caller used so far: page faults and context
/// switches, which any thread that runs has (a new thread faults its fresh stack in). Two
/// `getrusage` calls and no `/proc`, whose first use in a freshly forked process costs tens of
/// µs. Allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OthersUsage {
    faults: i64,
    voluntary_switches: i64,
    involuntary_switches: i64,
}

impl OthersUsage {
    /// Now; `None` where the platform cannot say.
    pub(crate) fn now() -> Option<Self> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let usage = |who| {
                let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
                // SAFETY: `getrusage` fills the zeroed buffer.
                unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
                // SAFETY: zeroed, and filled by `getrusage` where it succeeded.
                unsafe { usage.assume_init() }
            };
            // The caller's own first: what it does between the two calls only adds to `SELF`.
            let own = usage(libc::RUSAGE_THREAD);
            let all = usage(libc::RUSAGE_SELF);
            #[allow(clippy::unnecessary_cast)] // `c_long` is not i64 everywhere
            Some(Self {
                faults: (all.ru_minflt + all.ru_majflt - own.ru_minflt - own.ru_majflt) as i64,
                voluntary_switches: (all.ru_nvcsw - own.ru_nvcsw) as i64,
                involuntary_switches: (all.ru_nivcsw - own.ru_nivcsw) as i64,
            })
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        None
    }

    /// Whether a thread other than the caller ran since `earlier`. A parked thread's going to
    /// sleep, which may come after `earlier`, is one voluntary switch and no more.
    pub(crate) fn ran_since(&self, earlier: &Self) -> bool {
        self.faults != earlier.faults
            || self.involuntary_switches != earlier.involuntary_switches
            || self.voluntary_switches - earlier.voluntary_switches > 1
    }
}

/// Threads of this process parked for good: a child's main thread, once it has started the
/// test's thread. A parked thread holds no lock, so a fork from the thread that runs the test is
/// as safe as from a single-threaded process.
static PARKED_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Counts the calling thread as parked for good: call once it holds no lock and will take none.
pub(crate) fn count_parked_thread() {
    PARKED_THREADS.fetch_add(1, SeqCst);
}

/// How many threads of this process may be running: [`thread_count`] less the parked ones.
pub(crate) fn running_thread_count() -> Option<usize> {
    thread_count().map(|threads| threads.saturating_sub(PARKED_THREADS.load(SeqCst)))
}

/// How many threads this process has, where the platform says: one `stat`, since
/// `/proc/self/task` has a link per thread plus `.` and `..`. Allocates nothing.
pub(crate) fn thread_count() -> Option<usize> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and a buffer `stat` fills on success.
    let ok = unsafe { libc::stat(c"/proc/self/task".as_ptr(), stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `stat` above.
    ok.then(|| unsafe { stat.assume_init() }.st_nlink.saturating_sub(2) as usize)
}

/// [`thread_count`] through `/proc/self/task` opened once (no path walk before every fork).
pub(crate) fn thread_count_in(task_dir: &OwnedFd) -> Option<usize> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` fills the buffer on success.
    let ok = unsafe { libc::fstat(task_dir.as_raw_fd(), stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `fstat` above.
    ok.then(|| unsafe { stat.assume_init() }.st_nlink.saturating_sub(2) as usize)
}

/// The inode of the file open on `fd`. Allocates nothing.
pub(crate) fn inode_of(fd: RawFd) -> Option<u64> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` writes a `stat` into the buffer we own, or fails and writes nothing we read.
    let ok = unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `fstat` above.
    #[allow(clippy::unnecessary_cast)] // `st_ino` is not u64 everywhere
    ok.then(|| unsafe { stat.assume_init() }.st_ino as u64)
}

/// Writes all of `bytes` to `fd`, retrying after a signal. Allocates nothing.
pub(crate) fn write_all(fd: RawFd, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live buffer of the given length; `fd` is a plain descriptor number.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if written < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        bytes = &bytes[written as usize..];
    }
    Ok(())
}

/// Waits until one of `fds` is ready or `timeout` passes (`None`: no limit); returns how many
/// are ready (0 on a timeout), or `None` if a signal interrupted the wait.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Option<usize> {
    let timeout_ms = timeout.map_or(-1, |timeout| {
        // Round up: waking a millisecond early would only poll again.
        timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
    });
    // SAFETY: `fds` is a live, correctly sized array of pollfd structs.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    usize::try_from(ready).ok()
}

/// A `pollfd` waiting for `fd` to be readable.
pub(crate) fn readable(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Reads the whole of a file into `buffer` with plain system calls; `None` if it cannot be read
/// or does not fit. Allocates nothing.
pub(crate) fn read_whole_file(path: &std::ffi::CStr, buffer: &mut [u8]) -> Option<usize> {
    read_file(path, buffer, true)
}

/// Reads up to `buffer.len()` bytes of a file; `None` if it cannot be read. Allocates nothing.
pub(crate) fn read_file_prefix(path: &std::ffi::CStr, buffer: &mut [u8]) -> Option<usize> {
    read_file(path, buffer, false)
}

fn read_file(path: &std::ffi::CStr, buffer: &mut [u8], whole: bool) -> Option<usize> {
    // SAFETY: a NUL-terminated path; reads go into `buffer` within its length; the descriptor
    // is closed before returning.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let mut length = 0;
        let complete = loop {
            if length == buffer.len() {
                break !whole;
            }
            let read = libc::read(
                fd,
                buffer[length..].as_mut_ptr().cast(),
                buffer.len() - length,
            );
            match read {
                0 => break true,
                n if n > 0 && !whole => {
                    length += n as usize;
                    break true;
                }
                n if n > 0 => length += n as usize,
                _ if Errno::last() == Errno::EINTR => {}
                _ => break false,
            }
        };
        libc::close(fd);
        complete.then_some(length)
    }
}

/// The LLVM profiler runtime that `-C instrument-coverage` links into a binary, found at run time
/// through weak references: they resolve to the runtime's functions where it is linked, and to
/// null where it is not (no build flag can tell, since `cargo llvm-cov` instruments through a
/// `RUSTC_WRAPPER` that build scripts never see).
#[derive(Clone, Copy)]
pub(crate) struct ProfilerRuntime {
    set_filename: unsafe extern "C" fn(*const libc::c_char),
    write_file: unsafe extern "C" fn() -> libc::c_int,
}

impl ProfilerRuntime {
    /// The runtime, if this binary is instrumented.
    pub(crate) fn linked() -> Option<Self> {
        let (set_filename, write_file) = profiler_addresses();
        if set_filename == 0 || write_file == 0 {
            return None;
        }
        // SAFETY: non-null addresses of the runtime's functions, which have these signatures
        // (compiler-rt's InstrProfiling.h).
        unsafe {
            Some(Self {
                set_filename: std::mem::transmute::<usize, unsafe extern "C" fn(*const libc::c_char)>(
                    set_filename,
                ),
                write_file: std::mem::transmute::<usize, unsafe extern "C" fn() -> libc::c_int>(
                    write_file,
                ),
            })
        }
    }

    /// `__llvm_profile_set_filename`: where the profile goes (`%p`, `%m` expanded).
    pub(crate) fn set_filename(self, pattern: &std::ffi::CStr) {
        // SAFETY: the runtime copies the pattern.
        unsafe { (self.set_filename)(pattern.as_ptr()) }
    }

    /// `__llvm_profile_write_file`: writes the counters so far.
    pub(crate) fn write_file(self) {
        // SAFETY: writing the profile only reads the counters.
        unsafe { (self.write_file)() };
    }
}

/// The addresses of `__llvm_profile_set_filename` and `__llvm_profile_write_file`, 0 where the
/// runtime is not linked. Weak references are made in assembly: Rust has no stable way to ask
/// for one, and a plain `extern` reference would fail to link without the runtime.
fn profiler_addresses() -> (usize, usize) {
    let (set_filename, write_file): (usize, usize);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: two loads from the global offset table, whose entries for undefined weak symbols
    // are 0.
    unsafe {
        std::arch::asm!(
            ".weak __llvm_profile_set_filename",
            ".weak __llvm_profile_write_file",
            "mov {set}, qword ptr [rip + __llvm_profile_set_filename@GOTPCREL]",
            "mov {write}, qword ptr [rip + __llvm_profile_write_file@GOTPCREL]",
            set = out(reg) set_filename,
            write = out(reg) write_file,
            options(nostack, readonly, preserves_flags),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        std::arch::asm!(
            ".weak __llvm_profile_set_filename",
            ".weak __llvm_profile_write_file",
            "adrp {set}, :got:__llvm_profile_set_filename",
            "ldr {set}, [{set}, :got_lo12:__llvm_profile_set_filename]",
            "adrp {write}, :got:__llvm_profile_write_file",
            "ldr {write}, [{write}, :got_lo12:__llvm_profile_write_file]",
            set = out(reg) set_filename,
            write = out(reg) write_file,
            options(nostack, readonly, preserves_flags),
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        (set_filename, write_file) = (0, 0);
    }
    (set_filename, write_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_processor_are_read_for_a_process_that_exists() {
        let own = Pid::from_raw(std::process::id() as i32);
        assert!(longest_cpu_wait(own).is_some());
        assert_eq!(longest_cpu_wait(Pid::from_raw(i32::MAX)), None);
    }

    #[test]
    fn threads_are_counted_both_ways() {
        // libtest runs this on a thread of its own: the main thread waits, so at least two.
        let task_dir: OwnedFd = std::fs::File::open("/proc/self/task").unwrap().into();
        assert!(thread_count_in(&task_dir).unwrap() >= 2);
        assert!(thread_count().unwrap() >= 2);
    }

    #[test]
    fn files_are_read_whole_or_by_their_start() {
        let mut buffer = [0u8; 4096];
        let whole = read_whole_file(c"/proc/self/stat", &mut buffer).unwrap();
        assert!(buffer[..whole].ends_with(b"\n"));
        let mut small = [0u8; 4];
        assert_eq!(read_file_prefix(c"/proc/self/stat", &mut small), Some(4));
        assert_eq!(read_whole_file(c"/proc/self/stat", &mut small), None);
    }
}
