//! [`Handle`]: one rtnetlink socket bound to one network namespace.

use std::io;
use std::sync::{Mutex, MutexGuard};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

use crate::netns::NetNs;
use crate::wire::{self, Frame};
use crate::{Error, Result};

/// How many times a dump interrupted by concurrent changes is started again before
/// [`Error::DumpInterrupted`] is returned.
const DUMP_ATTEMPTS: u32 = 5;

/// Receive buffer size. The kernel's dump messages are at most 32 KiB; single replies (a link
/// with many VFs) can be larger, so leave room.
const RECV_BUF: usize = 256 * 1024;

/// A connection to the kernel's routing subsystem (rtnetlink) in one network namespace.
///
/// Every operation of netplumb is a method of `Handle`, grouped by module: links in
/// [`link`](crate::link), addresses in [`addr`](crate::addr), and so on. A `Handle` is
/// `Send + Sync`; its requests are serialized internally, so share it with `Arc` or open one per
/// thread for parallelism.
///
/// The socket enables the kernel's extended acknowledgements (so its explanations reach
/// [`Error`]'s `Display`) and strict checking of dump requests where the kernel has it. Every
/// reply is matched to its request by sequence number.
///
/// ```no_run
/// use netplumb::{Handle, NetNs};
///
/// let here = Handle::new()?;
/// for link in here.links()? {
///     println!("{} {}", link.index, link.name);
/// }
///
/// let ns = NetNs::create("blue")?;
/// let there = Handle::new_in(&ns)?; // the caller's thread stays where it is
/// println!("{} links in blue", there.links()?.len());
/// # Ok::<(), netplumb::Error>(())
/// ```
pub struct Handle {
    inner: Mutex<Inner>,
}

struct Inner {
    socket: Socket,
    port: u32,
    seq: u32,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Handle")
            .field("port", &inner.port)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// Opens a handle in the calling thread's network namespace.
    pub fn new() -> Result<Handle> {
        let op = "open rtnetlink socket";
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| Error::io(op, e))?;
        let addr = socket.bind_auto().map_err(|e| Error::io(op, e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io(op, e))?;
        socket.set_ext_ack(true).map_err(|e| Error::io(op, e))?;
        // Both are optimizations and refinements that old kernels lack; a refusal is harmless.
        let _ = socket.set_cap_ack(true);
        let _ = socket.set_netlink_get_strict_chk(true);
        Ok(Handle {
            inner: Mutex::new(Inner {
                socket,
                port: addr.port_number(),
                seq: 0,
                rx: Vec::with_capacity(RECV_BUF),
                tx: Vec::with_capacity(4096),
            }),
        })
    }

    /// Opens a handle inside another network namespace.
    ///
    /// A short-lived thread enters `ns`, creates the socket and exits; the socket stays bound to
    /// `ns`. The calling thread never changes namespace.
    pub fn new_in(ns: &NetNs) -> Result<Handle> {
        ns.run(Handle::new)?
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst unread replies behind, which the
        // sequence check skips.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a request and waits for the kernel's acknowledgement.
    pub(crate) fn ack(&self, op: &'static str, msg: RouteNetlinkMessage, flags: u16) -> Result<()> {
        self.exchange(op, msg, wire::NLM_F_ACK | flags, |_| Ok(()))?;
        Ok(())
    }

    /// Sends a request that the kernel answers with one message (a `get`), and returns it.
    pub(crate) fn get(
        &self,
        op: &'static str,
        msg: RouteNetlinkMessage,
    ) -> Result<RouteNetlinkMessage> {
        let mut reply = None;
        self.exchange(op, msg, wire::NLM_F_ACK, |frame| {
            if reply.is_none() {
                reply = Some(wire::decode(frame).map_err(|e| Error::malformed(op, e))?);
            }
            Ok(())
        })?;
        reply.ok_or_else(|| Error::malformed(op, "acknowledged without a reply"))
    }

    /// Dumps a table, converting each message with `convert` (which may skip messages by
    /// returning `None`). A dump interrupted by concurrent changes is started again, up to
    /// [`DUMP_ATTEMPTS`] times.
    pub(crate) fn dump<T>(
        &self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        mut convert: impl FnMut(RouteNetlinkMessage) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for _ in 0..DUMP_ATTEMPTS {
            out.clear();
            let interrupted = self.exchange(op, msg.clone(), wire::NLM_F_DUMP, |frame| {
                let msg = wire::decode(frame).map_err(|e| Error::malformed(op, e))?;
                if let Some(item) = convert(msg)? {
                    out.push(item);
                }
                Ok(())
            })?;
            if !interrupted {
                return Ok(out);
            }
        }
        Err(Error::DumpInterrupted {
            op,
            attempts: DUMP_ATTEMPTS,
        })
    }

    /// Sends one request and feeds every data message of its reply to `on_data`, until the
    /// kernel ends the exchange: an acknowledgement, an error, or the end of a dump. Returns
    /// whether the kernel flagged the reply as interrupted by concurrent changes.
    ///
    /// Frames of other sequence numbers (left over from an exchange abandoned on an error) are
    /// skipped.
    fn exchange(
        &self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        flags: u16,
        mut on_data: impl FnMut(&Frame<'_>) -> Result<()>,
    ) -> Result<bool> {
        let mut inner = self.lock();
        let seq = inner.send(op, msg, wire::NLM_F_REQUEST | flags)?;
        let mut interrupted = false;
        loop {
            inner.recv(op)?;
            let port = inner.port;
            for frame in wire::frames(&inner.rx) {
                let frame = frame.map_err(|e| Error::malformed(op, e))?;
                if !is_ours(&frame, seq, port) {
                    continue;
                }
                interrupted |= frame.flags & wire::NLM_F_DUMP_INTR != 0;
                match frame.ty {
                    wire::NLMSG_ERROR | wire::NLMSG_DONE => {
                        check_code(op, &frame)?;
                        return Ok(interrupted);
                    }
                    wire::NLMSG_NOOP | wire::NLMSG_OVERRUN => {}
                    _ => on_data(&frame)?,
                }
            }
        }
    }
}

fn is_ours(frame: &Frame<'_>, seq: u32, port: u32) -> bool {
    frame.seq == seq && (frame.port == port || frame.port == 0)
}

fn check_code(op: &'static str, frame: &Frame<'_>) -> Result<()> {
    let (code, message) = wire::error_of(frame).map_err(|e| Error::malformed(op, e))?;
    if code >= 0 {
        return Ok(());
    }
    Err(kernel_error(op, Errno::from_raw(-code), message))
}

/// The error for a kernel refusal: `EOPNOTSUPP` becomes [`Error::Unsupported`].
pub(crate) fn kernel_error(op: &'static str, errno: Errno, message: Option<String>) -> Error {
    if errno == Errno::EOPNOTSUPP {
        Error::Unsupported {
            op,
            hint: "the kernel does not support this".into(),
            errno,
            message,
        }
    } else {
        Error::Kernel { op, errno, message }
    }
}

impl Inner {
    fn send(&mut self, op: &'static str, msg: RouteNetlinkMessage, flags: u16) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.tx.clear();
        wire::encode(msg, flags, self.seq, &mut self.tx);
        loop {
            match self.socket.send(&self.tx, 0) {
                Ok(_) => return Ok(self.seq),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(op, e)),
            }
        }
    }

    fn recv(&mut self, op: &'static str) -> Result<()> {
        self.rx.clear();
        self.rx.reserve(RECV_BUF);
        let cap = self.rx.capacity();
        loop {
            match self.socket.recv(&mut self.rx, libc::MSG_TRUNC) {
                Ok(n) if n > cap => {
                    return Err(Error::malformed(
                        op,
                        format!("a {n}-byte reply did not fit the {cap}-byte buffer"),
                    ))
                }
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(op, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_and_netns_can_be_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Handle>();
        send_sync::<NetNs>();
    }

    #[test]
    fn eopnotsupp_becomes_unsupported() {
        let e = kernel_error(
            "add link",
            Errno::EOPNOTSUPP,
            Some("Unknown device type".into()),
        );
        assert!(e.is_unsupported());
        assert_eq!(e.errno(), Some(Errno::EOPNOTSUPP));
        assert_eq!(e.kernel_message(), Some("Unknown device type"));
        let e = kernel_error("add link", Errno::EPERM, None);
        assert!(matches!(
            e,
            Error::Kernel {
                errno: Errno::EPERM,
                ..
            }
        ));
    }
}
