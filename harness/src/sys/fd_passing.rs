//! Passing descriptors between processes: one datagram on a `SOCK_SEQPACKET` socket, with
//! descriptors attached (`SCM_RIGHTS`), which std cannot send. Used by zygotes and their spares.
//!
//! Close-on-exec and the absence of SIGPIPE are asked per call where the system can
//! (`SOCK_CLOEXEC`, `MSG_NOSIGNAL`, `MSG_CMSG_CLOEXEC` on Linux and FreeBSD); macOS has none of
//! them, so there the flag is set right after (sound: the process is single-threaded when it
//! makes these) and the socket itself is made not to raise SIGPIPE (`SO_NOSIGPIPE`).

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// A connected pair of `SOCK_SEQPACKET` sockets, close-on-exec, whose sends raise no SIGPIPE.
pub(crate) fn socket_pair() -> nix::Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    #[cfg(not(target_vendor = "apple"))]
    let flags = SockFlag::SOCK_CLOEXEC;
    #[cfg(target_vendor = "apple")]
    let flags = SockFlag::empty();
    let pair = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, flags)?;
    #[cfg(target_vendor = "apple")]
    for end in [&pair.0, &pair.1] {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        fcntl(end, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        let on: libc::c_int = 1;
        // SAFETY: sets an `int` option from our local on a socket we own.
        let set = unsafe {
            libc::setsockopt(
                end.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                (&raw const on).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set != 0 {
            return Err(nix::errno::Errno::last());
        }
    }
    Ok(pair)
}

/// Sends one datagram on a `SOCK_SEQPACKET` socket, with `fds` attached.
pub(crate) fn send_with_fds(socket: &OwnedFd, bytes: &[u8], fds: &[RawFd]) -> nix::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let rights = [ControlMessage::ScmRights(fds)];
    let control: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    let data = [std::io::IoSlice::new(bytes)];
    #[cfg(not(target_vendor = "apple"))]
    const NO_SIGPIPE: MsgFlags = MsgFlags::MSG_NOSIGNAL;
    // macOS: the socket has `SO_NOSIGPIPE` instead (see [`socket_pair`]).
    #[cfg(target_vendor = "apple")]
    const NO_SIGPIPE: MsgFlags = MsgFlags::empty();
    sendmsg::<()>(socket.as_raw_fd(), &data, control, NO_SIGPIPE, None)?;
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
    #[cfg(not(target_vendor = "apple"))]
    const CLOEXEC: MsgFlags = MsgFlags::MSG_CMSG_CLOEXEC;
    // macOS: set on each descriptor below.
    #[cfg(target_vendor = "apple")]
    const CLOEXEC: MsgFlags = MsgFlags::empty();
    let message = recvmsg::<()>(socket.as_raw_fd(), &mut data, Some(&mut control), CLOEXEC)?;
    let length = message.bytes;
    let mut fds = Vec::new();
    for received in message.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = received {
            // SAFETY: the kernel just installed these descriptors in this process for us.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
            #[cfg(target_vendor = "apple")]
            for fd in &fds {
                use nix::fcntl::{fcntl, FcntlArg, FdFlag};
                fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
            }
        }
    }
    buffer.truncate(length);
    Ok((buffer, fds))
}
