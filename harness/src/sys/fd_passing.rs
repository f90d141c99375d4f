//! Passing descriptors between processes: one datagram on a `SOCK_SEQPACKET` socket, with
//! descriptors attached (`SCM_RIGHTS`), which std cannot send. Used by zygotes and their spares.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

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
