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

/// Largest write of pipelined requests. The kernel processes a write's messages one by one
/// inside `sendmsg`, queueing one acknowledgement each; bigger writes save system calls but need
/// a larger receive buffer for the acknowledgements.
const PIPELINE_WRITE: usize = 256 * 1024;

/// Socket buffers asked for (as root, beyond `rmem_max`/`wmem_max`) before pipelining.
const PIPELINE_RCVBUF: usize = 32 * 1024 * 1024;
const PIPELINE_SNDBUF: usize = 2 * PIPELINE_WRITE;

/// What one queued acknowledgement costs in the receive buffer (the kernel charges an skb's
/// true size, about 700 bytes for a capped ack). Over-estimated so that the acknowledgements of
/// one write always fit.
const ACK_TRUESIZE: usize = 1536;

/// Requests to pipeline: `buf` holds the encoded messages back to back (sequence numbers are
/// filled in when sent), message `i` ends at `ends[i]` (an empty message is skipped) and is
/// described by `ops[i]` in its error.
pub(crate) struct Pipeline<'a> {
    pub buf: &'a mut [u8],
    pub ends: &'a [usize],
    pub ops: &'a [&'static str],
}

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
/// for link in here.links(&Default::default())? {
///     println!("{} {}", link.index, link.name);
/// }
///
/// let ns = NetNs::create("blue")?;
/// let there = Handle::new_in(&ns)?; // the caller's thread stays where it is
/// println!("{} links in blue", there.links(&Default::default())?.len());
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
    /// Socket buffer sizes once raised for pipelining: (receive, send), as the kernel reports.
    pipeline_bufs: Option<(usize, usize)>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Handle")
            .field("port", &inner.port)
            .finish_non_exhaustive()
    }
}

/// # Opening a handle
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
                pipeline_bufs: None,
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

    /// The network namespace the handle works in (its socket's), for opening a generic netlink
    /// socket beside it.
    pub(crate) fn netns(&self) -> Result<NetNs> {
        use std::os::fd::AsRawFd;
        let inner = self.lock();
        crate::netns::netns_of_socket(inner.socket.as_raw_fd())
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

    /// Like [`get`](Handle::get), but hands `convert` the raw frame of the reply.
    pub(crate) fn get_frame<T>(
        &self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        convert: impl FnOnce(&Frame<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut convert = Some(convert);
        let mut reply = None;
        self.exchange(op, msg, wire::NLM_F_ACK, |frame| {
            if let Some(c) = convert.take() {
                reply = Some(c(frame)?);
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
        self.dump_frames(op, msg, |frame| {
            convert(wire::decode(frame).map_err(|e| Error::malformed(op, e))?)
        })
    }

    /// Like [`dump`](Handle::dump), but hands `convert` the raw frame, for modules that decode
    /// their messages themselves (routes, where a million of them are dumped at a time). The
    /// bytes of one receive buffer are all that is held at any time.
    pub(crate) fn dump_frames<T>(
        &self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        mut convert: impl FnMut(&Frame<'_>) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for _ in 0..DUMP_ATTEMPTS {
            out.clear();
            let interrupted = self.exchange(op, msg.clone(), wire::NLM_F_DUMP, |frame| {
                if let Some(item) = convert(frame)? {
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

    /// Sends many encoded requests pipelined: large writes of back-to-back messages, every
    /// acknowledgement matched to its request by sequence number. See [`Pipeline`].
    ///
    /// `results[i]` is overwritten for every non-empty message `i`; empty ones (requests refused
    /// before encoding) keep what the caller put there.
    pub(crate) fn pipeline(&self, p: Pipeline<'_>, results: &mut [Result<()>]) {
        let mut inner = self.lock();
        inner.pipeline(p, results);
    }

    /// Sends one request and feeds every data message of its reply to `on_data`, until the
    /// kernel ends the exchange: an acknowledgement, an error, or the end of a dump. Returns
    /// whether the kernel flagged the reply as interrupted by concurrent changes.
    ///
    /// The reply is always read to its end, also when `on_data` fails on a message (the
    /// first such error is returned then): a dump abandoned half-way would leave the socket
    /// busy, and the kernel would refuse the handle's next dump with `EBUSY`. Frames of other
    /// sequence numbers (left over from an exchange abandoned on an I/O error) are skipped.
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
        let mut failed: Option<Error> = None;
        loop {
            inner.recv(op)?;
            let port = inner.port;
            let mut end = None;
            let mut broken = false;
            for frame in wire::frames(&inner.rx) {
                let frame = match frame {
                    Ok(f) => f,
                    Err(e) => {
                        failed.get_or_insert(Error::malformed(op, e));
                        broken = true;
                        break;
                    }
                };
                if !is_ours(&frame, seq, port) {
                    continue;
                }
                interrupted |= frame.flags & wire::NLM_F_DUMP_INTR != 0;
                match frame.ty {
                    wire::NLMSG_ERROR | wire::NLMSG_DONE => {
                        end = Some(check_code(op, &frame));
                        break;
                    }
                    wire::NLMSG_NOOP | wire::NLMSG_OVERRUN => {}
                    _ if failed.is_some() => {}
                    _ => {
                        if let Err(e) = on_data(&frame) {
                            failed = Some(e);
                        }
                    }
                }
            }
            if let Some(end) = end {
                return match failed {
                    Some(e) => Err(e),
                    None => end.map(|()| interrupted),
                };
            }
            if broken {
                // The end of the reply may have been in the bytes that could not be split:
                // read what is left without waiting for more.
                inner.drain_pending();
                return Err(failed.expect("set when broken"));
            }
        }
    }
}

fn is_ours(frame: &Frame<'_>, seq: u32, port: u32) -> bool {
    frame.seq == seq && (frame.port == port || frame.port == 0)
}

pub(crate) fn check_code(op: &'static str, frame: &Frame<'_>) -> Result<()> {
    let (code, message) = wire::error_of(frame).map_err(|e| Error::malformed(op, e))?;
    if code >= 0 {
        return Ok(());
    }
    // i32::MIN has no positive counterpart: not an errno (found by the fuzzer).
    let errno = code
        .checked_neg()
        .ok_or_else(|| Error::malformed(op, format!("error code {code}")))?;
    Err(kernel_error(op, Errno::from_raw(errno), message))
}

/// The error for a kernel refusal, as the kernel gave it. (`EOPNOTSUPP` also answers
/// requests that do not fit the device, such as enslaving a link to itself; the operations
/// that can tell a missing kernel feature apart turn it into [`Error::Unsupported`].)
pub(crate) fn kernel_error(op: &'static str, errno: Errno, message: Option<String>) -> Error {
    Error::Kernel { op, errno, message }
}

impl Inner {
    /// Raises the socket buffers for pipelining (once) and returns (receive, send) sizes.
    fn pipeline_bufs(&mut self) -> (usize, usize) {
        use nix::sys::socket::{getsockopt, setsockopt, sockopt};
        if let Some(b) = self.pipeline_bufs {
            return b;
        }
        let fd = &self.socket;
        // The FORCE variants pass the sysctl limits with CAP_NET_ADMIN; without it, take what
        // the plain options give. A failure leaves the default, which the sizes below respect.
        if setsockopt(fd, sockopt::RcvBufForce, &PIPELINE_RCVBUF).is_err() {
            let _ = setsockopt(fd, sockopt::RcvBuf, &PIPELINE_RCVBUF);
        }
        if setsockopt(fd, sockopt::SndBufForce, &PIPELINE_SNDBUF).is_err() {
            let _ = setsockopt(fd, sockopt::SndBuf, &PIPELINE_SNDBUF);
        }
        let rcv = getsockopt(fd, sockopt::RcvBuf).unwrap_or(212_992);
        let snd = getsockopt(fd, sockopt::SndBuf).unwrap_or(212_992);
        self.pipeline_bufs = Some((rcv, snd));
        (rcv, snd)
    }

    fn pipeline(&mut self, p: Pipeline<'_>, results: &mut [Result<()>]) {
        let (rcv, snd) = self.pipeline_bufs();
        // The acknowledgements of one write must fit the receive buffer (half of it, to leave
        // room for anything else queued), and a write must fit the send buffer.
        let max_msgs = (rcv / 2 / ACK_TRUESIZE).max(1);
        let max_bytes = PIPELINE_WRITE
            .min(snd.saturating_sub(64))
            .max(wire::HEADER_LEN);
        let n = p.ends.len().min(p.ops.len()).min(results.len());
        let mut first = 0;
        while first < n {
            let start = if first == 0 { 0 } else { p.ends[first - 1] };
            // Take messages while the write stays within bounds (at least one).
            let mut last = first + 1;
            while last < n && last - first < max_msgs && p.ends[last] - start <= max_bytes {
                last += 1;
            }
            let end = p.ends[last - 1];
            let count = last - first;
            if u32::MAX - self.seq < count as u32 + 1 {
                self.seq = 0;
            }
            let base = self.seq + 1;
            self.seq += count as u32;
            let mut pending = 0usize;
            let mut waiting = vec![false; count];
            let mut at = start;
            for (k, i) in (first..last).enumerate() {
                let e = p.ends[i];
                if e > at {
                    wire::set_seq(p.buf, at, base + k as u32);
                    waiting[k] = true;
                    pending += 1;
                }
                at = e;
            }
            if pending > 0 {
                self.pipeline_write(&p, &p.buf[start..end], first, base, &mut waiting, results);
            }
            first = last;
        }
    }

    /// Sends one write of pipelined requests and collects their acknowledgements.
    fn pipeline_write(
        &mut self,
        p: &Pipeline<'_>,
        bytes: &[u8],
        first: usize,
        base: u32,
        waiting: &mut [bool],
        results: &mut [Result<()>],
    ) {
        // Every request still waiting gets `make(op)` as its error.
        let fail_rest = |waiting: &mut [bool],
                         results: &mut [Result<()>],
                         make: &dyn Fn(&'static str) -> Error| {
            for (k, w) in waiting.iter_mut().enumerate() {
                if std::mem::take(w) {
                    results[first + k] = Err(make(p.ops[first + k]));
                }
            }
        };
        let io_error = |e: &io::Error| {
            let code = e.raw_os_error();
            let text = e.to_string();
            let kind = e.kind();
            move |op: &'static str| {
                let source = match code {
                    Some(c) => io::Error::from_raw_os_error(c),
                    None => io::Error::new(kind, text.clone()),
                };
                Error::io(op, source)
            }
        };
        loop {
            match self.socket.send(bytes, 0) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return fail_rest(waiting, results, &io_error(&e)),
            }
        }
        // rtnetlink handles a whole write inside `send`: by now every acknowledgement is queued,
        // or was dropped because the receive buffer overflowed. A drop is reported once, as
        // ENOBUFS; after it, the queue is drained without waiting, and whatever is still
        // unanswered then had its acknowledgement dropped.
        let port = self.port;
        let mut pending = waiting.iter().filter(|w| **w).count();
        let mut overflowed = false;
        while pending > 0 {
            let flags = if overflowed { libc::MSG_DONTWAIT } else { 0 };
            match self.recv_with(p.ops[first], flags) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(Errno::ENOBUFS) => {
                    overflowed = true;
                    continue;
                }
                Err(e) if overflowed && e.errno() == Some(Errno::EAGAIN) => {
                    return fail_rest(waiting, results, &|op| Error::AckLost { op });
                }
                Err(Error::Io { source, .. }) => {
                    return fail_rest(waiting, results, &io_error(&source))
                }
                Err(e) => {
                    let text = e.to_string();
                    return fail_rest(waiting, results, &|op| Error::malformed(op, text.clone()));
                }
            }
            for frame in wire::frames(&self.rx) {
                let Ok(frame) = frame else { break };
                if frame.ty != wire::NLMSG_ERROR || !(frame.port == port || frame.port == 0) {
                    continue;
                }
                let k = frame.seq.wrapping_sub(base) as usize;
                if k >= waiting.len() || !std::mem::take(&mut waiting[k]) {
                    continue;
                }
                pending -= 1;
                let i = first + k;
                results[i] = check_code(p.ops[i], &frame);
            }
        }
    }

    fn send(&mut self, op: &'static str, msg: RouteNetlinkMessage, flags: u16) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.tx.clear();
        wire::encode(msg, flags, &mut self.tx)?;
        wire::set_seq(&mut self.tx, 0, self.seq);
        loop {
            match self.socket.send(&self.tx, 0) {
                Ok(_) => return Ok(self.seq),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(op, e)),
            }
        }
    }

    /// Reads and discards whatever is waiting on the socket, without blocking.
    fn drain_pending(&mut self) {
        for _ in 0..1024 {
            match self.recv_with("drain", libc::MSG_DONTWAIT) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(Errno::ENOBUFS) => {}
                Err(_) => return,
            }
        }
    }

    fn recv(&mut self, op: &'static str) -> Result<()> {
        self.recv_with(op, 0)
    }

    /// Receives one datagram into `rx`, with extra `recv` flags (`MSG_DONTWAIT`).
    fn recv_with(&mut self, op: &'static str, flags: libc::c_int) -> Result<()> {
        self.rx.clear();
        self.rx.reserve(RECV_BUF);
        let cap = self.rx.capacity();
        loop {
            match self.socket.recv_from(&mut self.rx, libc::MSG_TRUNC | flags) {
                // Replies come from the kernel (port 0). The socket is connected to it, so the
                // kernel refuses other senders already; anything else is dropped here too.
                Ok((_, from)) if from.port_number() != 0 => {
                    self.rx.clear();
                    continue;
                }
                Ok((n, _)) if n > cap => {
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

    /// Acknowledgements dropped by a full receive buffer come back as `AckLost` for exactly the
    /// requests whose answer never came, the batch returns instead of waiting for them, and the
    /// handle keeps working. (Normal batches never overflow: a write carries only as many
    /// requests as half the receive buffer has room to answer. Here the buffer shrinks after
    /// that size was taken.)
    #[test]
    fn lost_acknowledgements_are_reported_not_waited_for() {
        use crate::route::{NewRoute, RouteFilter, RouteType};
        use nix::sys::socket::{setsockopt, sockopt};
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: lost_acknowledgements_are_reported_not_waited_for: needs root");
            return;
        }
        let ns = NetNs::new_unnamed().unwrap();
        let h = Handle::new_in(&ns).unwrap();
        h.set_link_up("lo").unwrap();
        {
            let mut inner = h.lock();
            inner.pipeline_bufs = Some((64 << 20, 4 << 20));
            setsockopt(&inner.socket, sockopt::RcvBuf, &1024).unwrap();
        }
        let n = 2000;
        let mut batch = h.batch();
        for i in 0..n {
            let dst = format!("10.{}.{}.0/24", i >> 8, i & 255);
            batch
                .add_route(&NewRoute::of_kind(RouteType::Blackhole, dst.parse().unwrap()).unwrap());
        }
        let results = batch.send();
        assert_eq!(results.len(), n);
        let lost: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.as_ref().is_err_and(Error::is_ack_lost))
            .map(|(i, _)| i)
            .collect();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            ok + lost.len(),
            n,
            "only answers or lost answers: {:?}",
            &results[..3]
        );
        assert!(
            !lost.is_empty(),
            "a 1 KiB buffer cannot hold {n} acknowledgements"
        );
        let e = results[lost[0]].as_ref().unwrap_err();
        assert!(
            e.to_string().contains("may or may not have been applied"),
            "{e}"
        );
        // The kernel applied every request; only its answers were dropped.
        let routes = h
            .routes(&RouteFilter {
                kind: Some(RouteType::Blackhole),
                ..RouteFilter::default()
            })
            .unwrap();
        assert_eq!(routes.len(), n);
        // The handle is in step again: a plain request gets its own answer.
        assert!(h
            .add_route(
                &NewRoute::of_kind(RouteType::Blackhole, "10.0.0.0/24".parse().unwrap()).unwrap()
            )
            .unwrap_err()
            .is_exists());
    }

    /// A dump whose caller fails on its first message is still read to its end, so the
    /// handle's next dump works. (Before: the exchange returned at the first error, the
    /// kernel's dump stayed in progress, and the next dump failed with `EBUSY`.)
    #[test]
    fn a_dump_abandoned_on_an_error_leaves_the_handle_usable() {
        use crate::route::{NewRoute, RouteFilter, RouteType};
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: a_dump_abandoned_on_an_error_leaves_the_handle_usable: needs root");
            return;
        }
        let ns = NetNs::new_unnamed().unwrap();
        let h = Handle::new_in(&ns).unwrap();
        let mut batch = h.batch();
        for i in 0..2000u32 {
            let dst = format!("10.{}.{}.0/24", i >> 8, i & 255);
            batch
                .add_route(&NewRoute::of_kind(RouteType::Blackhole, dst.parse().unwrap()).unwrap());
        }
        assert!(batch.send().iter().all(Result::is_ok));
        let req = RouteNetlinkMessage::GetRoute(Default::default());
        let mut calls = 0;
        let e = h
            .dump_frames::<()>("list routes", req, |_| {
                calls += 1;
                Err(Error::malformed("list routes", "refused by the test"))
            })
            .unwrap_err();
        assert!(e.to_string().contains("refused by the test"), "{e}");
        assert_eq!(calls, 1, "no message is decoded after the first failure");
        let filter = RouteFilter {
            kind: Some(RouteType::Blackhole),
            ..RouteFilter::default()
        };
        assert_eq!(h.routes(&filter).unwrap().len(), 2000);
    }

    #[test]
    fn handle_and_netns_can_be_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Handle>();
        send_sync::<NetNs>();
    }

    #[test]
    fn eopnotsupp_stays_the_kernels_answer() {
        let e = kernel_error(
            "set link master",
            Errno::EOPNOTSUPP,
            Some("Device can not be enslaved".into()),
        );
        assert!(!e.is_unsupported());
        assert_eq!(e.errno(), Some(Errno::EOPNOTSUPP));
        assert_eq!(e.kernel_message(), Some("Device can not be enslaved"));
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
