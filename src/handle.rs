//! [`Handle`]: one rtnetlink socket bound to one network namespace.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

use crate::netns::NetNs;
use crate::replay::{Script, SendKind};
use crate::wire::{self, Frame, Request};
use crate::{Error, Result};

/// How many times a dump interrupted by concurrent changes is tried, by default, before
/// [`Error::DumpInterrupted`] is returned ([`Handle::set_dump_attempts`] changes it).
pub const DEFAULT_DUMP_ATTEMPTS: u32 = 5;

/// Receive buffer size. The kernel's dump messages are at most 32 KiB; single replies (a link
/// with many VFs) can be larger, so leave room.
const RECV_BUF: usize = 256 * 1024;

/// Largest write of pipelined requests. The kernel processes a write's messages one by one
/// inside `sendmsg`, queueing an answer for each that fails (a batch asks for no
/// acknowledgements); bigger writes save system calls but need a larger receive buffer for the
/// answers when many fail.
const PIPELINE_WRITE: usize = 256 * 1024;

/// Socket buffers asked for (as root, beyond `rmem_max`/`wmem_max`) before pipelining.
const PIPELINE_RCVBUF: usize = 32 * 1024 * 1024;
const PIPELINE_SNDBUF: usize = 2 * PIPELINE_WRITE;

/// What one queued answer costs in the receive buffer (the kernel charges an skb's true size,
/// about 700 bytes for a capped error). Over-estimated so that the answers of one write always
/// fit, even when every request fails.
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
    dump_attempts: AtomicU32,
}

pub(crate) struct Inner {
    conn: Conn,
    port: u32,
    seq: u32,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// Socket buffer sizes once raised for pipelining: (receive, send), as the kernel reports.
    pipeline_bufs: Option<(usize, usize)>,
}

/// Where a handle's requests go: the kernel, or the script of an async driver (see
/// [`replay`](crate::replay)).
enum Conn {
    Socket(Socket),
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Script(Box<Script>),
}

impl Conn {
    fn send(&mut self, bytes: &[u8], kind: SendKind) -> io::Result<usize> {
        match self {
            Conn::Socket(s) => s.send(bytes, 0),
            Conn::Script(s) => s.send(bytes, kind),
        }
    }

    /// Sends `head` and `tail` as one datagram (one `sendmsg`, no copy on a socket).
    fn send_parts(&mut self, head: &[u8], tail: &[u8], kind: SendKind) -> io::Result<usize> {
        match self {
            Conn::Socket(s) => {
                use std::io::IoSlice;
                let iov = [IoSlice::new(head), IoSlice::new(tail)];
                nix::sys::socket::sendmsg::<()>(
                    std::os::fd::AsRawFd::as_raw_fd(s),
                    &iov,
                    &[],
                    nix::sys::socket::MsgFlags::empty(),
                    None,
                )
                .map_err(io::Error::from)
            }
            Conn::Script(s) => s.send(&[head, tail].concat(), kind),
        }
    }

    /// Receives one datagram into `rx`; returns its length (larger than `rx`'s capacity when
    /// it did not fit) and the sender's port.
    fn recv_from(&mut self, rx: &mut Vec<u8>, flags: libc::c_int) -> io::Result<(usize, u32)> {
        match self {
            Conn::Socket(s) => s
                .recv_from(rx, flags)
                .map(|(n, from)| (n, from.port_number())),
            Conn::Script(s) => s.recv(rx).map(|n| (n, 0)),
        }
    }
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
                conn: Conn::Socket(socket),
                port: addr.port_number(),
                seq: 0,
                rx: Vec::with_capacity(RECV_BUF),
                tx: Vec::with_capacity(4096),
                pipeline_bufs: None,
            }),
            dump_attempts: AtomicU32::new(DEFAULT_DUMP_ATTEMPTS),
        })
    }

    /// How many times a listing is tried when the kernel flags its dump as interrupted by
    /// concurrent changes (`NLM_F_DUMP_INTR`: links, addresses or neighbours changed while
    /// they were being listed) before it fails with [`Error::DumpInterrupted`], which names
    /// the count. [`DEFAULT_DUMP_ATTEMPTS`] (5) by default; at least 1. A program that lists
    /// a busy table may want more; one that prefers to hear of every interruption, 1.
    /// The streaming forms ([`Dump`]) never start again.
    pub fn set_dump_attempts(&self, attempts: u32) -> Result<()> {
        if attempts == 0 {
            return Err(Error::invalid(
                "attempts",
                "a dump needs at least one attempt",
            ));
        }
        self.dump_attempts.store(attempts, Ordering::Relaxed);
        Ok(())
    }

    /// How many times a listing is tried (see [`set_dump_attempts`](Handle::set_dump_attempts)).
    pub fn dump_attempts(&self) -> u32 {
        self.dump_attempts.load(Ordering::Relaxed)
    }

    /// Opens a handle inside another network namespace.
    ///
    /// A short-lived thread enters `ns`, creates the socket and exits; the socket stays bound to
    /// `ns`. The calling thread never changes namespace.
    pub fn new_in(ns: &NetNs) -> Result<Handle> {
        ns.run(Handle::new)?
    }

    /// The namespace the handle's socket works in.
    pub(crate) fn netns(&self) -> Result<NetNs> {
        use std::os::fd::AsFd;
        match &self.lock().conn {
            Conn::Socket(s) => NetNs::of_socket(s.as_fd()),
            Conn::Script(s) => s.netns(),
        }
    }

    /// A handle whose requests are answered from `script` (see [`replay`](crate::replay)),
    /// using `port` as its socket's.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn scripted(script: Script, port: u32) -> Handle {
        let bufs = script.bufs;
        Handle {
            inner: Mutex::new(Inner {
                conn: Conn::Script(Box::new(script)),
                port,
                seq: 0,
                rx: Vec::with_capacity(RECV_BUF),
                tx: Vec::with_capacity(4096),
                pipeline_bufs: Some(bufs),
            }),
            dump_attempts: AtomicU32::new(DEFAULT_DUMP_ATTEMPTS),
        }
    }

    /// Runs `f` on the script of a scripted handle, after the sequence numbers start again
    /// (a new run of an operation numbers its requests as the last one did).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn with_script<T>(&self, f: impl FnOnce(&mut Script) -> T) -> Option<T> {
        let mut inner = self.lock();
        inner.seq = 0;
        match &mut inner.conn {
            Conn::Script(s) => Some(f(s)),
            Conn::Socket(_) => None,
        }
    }

    /// The open socket's raw descriptor, port, and buffer sizes raised for pipelining, for a
    /// driver that takes the socket over ([`Handle::into_socket`]).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn into_socket(self) -> Option<(Socket, u32, (usize, usize))> {
        let mut inner = self.inner.into_inner().unwrap_or_else(|p| p.into_inner());
        let bufs = inner.pipeline_bufs();
        match inner.conn {
            Conn::Socket(s) => Some((s, inner.port, bufs)),
            Conn::Script(_) => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst unread replies behind, which the
        // sequence check skips.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a request and waits for the kernel's acknowledgement.
    pub(crate) fn ack(&self, op: &'static str, msg: impl Into<Request>, flags: u16) -> Result<()> {
        self.exchange(op, msg.into(), wire::NLM_F_ACK | flags, |_| Ok(()))?;
        Ok(())
    }

    /// Sends a request that the kernel answers with one message (a `get`), and returns it.
    pub(crate) fn get(
        &self,
        op: &'static str,
        msg: impl Into<Request>,
    ) -> Result<RouteNetlinkMessage> {
        let mut reply = None;
        self.exchange(op, msg.into(), wire::NLM_F_ACK, |frame| {
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
        msg: impl Into<Request>,
        convert: impl FnOnce(&Frame<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut convert = Some(convert);
        let mut reply = None;
        self.exchange(op, msg.into(), wire::NLM_F_ACK, |frame| {
            if let Some(c) = convert.take() {
                reply = Some(c(frame)?);
            }
            Ok(())
        })?;
        reply.ok_or_else(|| Error::malformed(op, "acknowledged without a reply"))
    }

    /// Dumps a table, converting each message with `convert` (which may skip messages by
    /// returning `None`). A dump interrupted by concurrent changes is started again, up to
    /// [`dump_attempts`](Handle::dump_attempts) times in all.
    pub(crate) fn dump<T>(
        &self,
        op: &'static str,
        msg: impl Into<Request>,
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
        msg: impl Into<Request>,
        mut convert: impl FnMut(&Frame<'_>) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        let msg = msg.into();
        let attempts = self.dump_attempts();
        let mut out = Vec::new();
        for _ in 0..attempts {
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
        Err(Error::DumpInterrupted { op, attempts })
    }

    /// Sends many encoded requests pipelined: large writes of back-to-back messages, each
    /// closed by a barrier; every answer (a failure) matched to its request by sequence
    /// number. See [`Pipeline`] and `pipeline_write`.
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
        msg: Request,
        flags: u16,
        mut on_data: impl FnMut(&Frame<'_>) -> Result<()>,
    ) -> Result<bool> {
        let mut inner = self.lock();
        let seq = inner.send(op, msg, wire::NLM_F_REQUEST | flags)?;
        let mut interrupted = false;
        let mut failed: Option<Error> = None;
        loop {
            let step = inner.reply_step(op, seq, &mut failed, &mut on_data)?;
            interrupted |= step.interrupted;
            if let Some(end) = step.end {
                return match failed {
                    Some(e) => Err(e),
                    None => end.map(|()| interrupted),
                };
            }
        }
    }

    /// Starts a dump whose objects are decoded as they arrive (see [`Dump`]); `convert`
    /// decodes one message (or skips it with `None`).
    pub(crate) fn dump_iter<'h, T>(
        &'h self,
        op: &'static str,
        msg: impl Into<Request>,
        convert: impl FnMut(&Frame<'_>) -> Result<Option<T>> + Send + 'h,
    ) -> Result<Dump<'h, T>> {
        let mut inner = self.lock();
        let seq = inner.send_as(
            op,
            msg.into(),
            wire::NLM_F_REQUEST | wire::NLM_F_DUMP,
            SendKind::Stream,
        )?;
        Ok(Dump {
            inner: Some(inner),
            core: DumpCore {
                op,
                seq,
                convert: Box::new(convert),
                ready: std::collections::VecDeque::new(),
                state: DumpState::Reading,
                empty_on: None,
            },
        })
    }
}

/// Decodes one message of a dump into an object, or skips it (`None`).
pub(crate) trait DecodeFrame<T>: FnMut(&Frame<'_>) -> Result<Option<T>> + Send {}

impl<T, F: FnMut(&Frame<'_>) -> Result<Option<T>> + Send> DecodeFrame<T> for F {}

/// What one datagram of a reply held.
struct Step {
    /// `Some` when the reply ended in it: the kernel's answer (an error, or success).
    end: Option<Result<()>>,
    /// Whether a message of it was flagged as interrupted by concurrent changes.
    interrupted: bool,
}

/// A listing whose objects are decoded as they arrive from the kernel, one receive buffer
/// (about 32 KiB of messages) at a time: memory stays flat however large the table. Made by
/// the `*_iter` forms of the listings, such as
/// [`Handle::routes_iter`](crate::Handle::routes_iter).
///
/// It holds the handle's socket until it ends or is dropped (other calls on the same handle
/// wait); dropping it early reads and discards the rest of the dump, so the handle stays
/// usable.
///
/// Unlike the `Vec` forms, a streaming dump cannot start again when the kernel flags it as
/// interrupted by concurrent changes (the objects before are already yours): it then yields
/// [`Error::DumpInterrupted`] (with `attempts: 1`) and ends. What it yielded up to an error
/// is never presented as a whole table: the iterator either ends cleanly (a consistent
/// dump) or ends with the error.
pub struct Dump<'h, T> {
    /// The handle's connection, held until the dump ends (`None` once detached).
    inner: Option<MutexGuard<'h, Inner>>,
    core: DumpCore<'h, T>,
}

/// A dump's progress, apart from the connection it reads from (which a sync [`Dump`] holds
/// locked, and an async driver owns).
pub(crate) struct DumpCore<'h, T> {
    op: &'static str,
    seq: u32,
    convert: Box<dyn DecodeFrame<T> + 'h>,
    ready: std::collections::VecDeque<T>,
    state: DumpState,
    /// A kernel answer that means "nothing to list" (a table that does not exist).
    empty_on: Option<Errno>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DumpState {
    /// More to read.
    Reading,
    /// The kernel ended the dump; what is queued is all.
    Ended,
    /// An error was yielded (or is being): nothing more.
    Failed,
}

/// What a dump has next.
pub(crate) enum Pulled<T> {
    /// An object, or the error that ends the dump.
    Item(Result<T>),
    /// The dump is over.
    End,
    /// A scripted connection has no reply to read yet: feed it and pull again.
    Starved,
}

impl<T> std::fmt::Debug for Dump<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump")
            .field("op", &self.core.op)
            .field("state", &self.core.state)
            .finish_non_exhaustive()
    }
}

impl<'h, T> Dump<'h, T> {
    /// Makes the kernel's refusal with `errno` an empty listing rather than an error.
    pub(crate) fn empty_on(mut self, errno: Errno) -> Self {
        self.core.empty_on = Some(errno);
        self
    }

    /// Takes the dump and its connection's state out of the handle: the scripted handle of an
    /// async driver, whose dump goes on reading from what the driver feeds it. (The handle is
    /// left with a fresh state; on a handle with a socket, `None`.)
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn detach(mut self) -> Option<(Box<Inner>, DumpCore<'h, T>)> {
        let mut guard = self.inner.take()?;
        let Conn::Script(script) = &mut guard.conn else {
            self.inner = Some(guard);
            return None;
        };
        let blank = Inner {
            conn: Conn::Script(Box::new(script.fresh())),
            port: guard.port,
            seq: 0,
            rx: Vec::new(),
            tx: Vec::new(),
            pipeline_bufs: guard.pipeline_bufs,
        };
        let inner = Box::new(std::mem::replace(&mut *guard, blank));
        drop(guard);
        let op = self.core.op;
        let core = std::mem::replace(&mut self.core, DumpCore::finished(op));
        Some((inner, core))
    }
}

impl<'h, T> DumpCore<'h, T> {
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    fn finished(op: &'static str) -> DumpCore<'h, T> {
        DumpCore {
            op,
            seq: 0,
            convert: Box::new(|_: &Frame<'_>| Ok(None)),
            ready: std::collections::VecDeque::new(),
            state: DumpState::Failed,
            empty_on: None,
        }
    }

    /// The next object, the end, or (scripted) the need for more replies.
    pub(crate) fn pull(&mut self, inner: &mut Inner) -> Pulled<T> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Pulled::Item(Ok(item));
            }
            if self.state != DumpState::Reading {
                return Pulled::End;
            }
            if inner.starved() {
                return Pulled::Starved;
            }
            if let Err(e) = self.fill(inner) {
                return Pulled::Item(Err(e));
            }
        }
    }

    /// Reads the next datagram and queues its objects; an error ends the dump.
    fn fill(&mut self, inner: &mut Inner) -> Result<()> {
        let mut failed = None;
        let convert = &mut self.convert;
        let ready = &mut self.ready;
        let step = inner.reply_step(self.op, self.seq, &mut failed, &mut |f| {
            if let Some(item) = convert(f)? {
                ready.push_back(item);
            }
            Ok(())
        });
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                // The socket may still hold the rest of the reply.
                self.state = DumpState::Failed;
                inner.drain_pending();
                return Err(e);
            }
        };
        if step.end.is_some() {
            self.state = DumpState::Ended;
        }
        let error = if step.interrupted {
            Some(Error::DumpInterrupted {
                op: self.op,
                attempts: 1,
            })
        } else {
            match (failed, step.end) {
                (None, Some(Err(e))) if self.empty_on.is_some() && e.errno() == self.empty_on => {
                    None
                }
                (Some(e), _) | (None, Some(Err(e))) => Some(e),
                _ => None,
            }
        };
        match error {
            Some(e) => {
                self.ready.clear();
                self.finish(inner);
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Reads and discards the rest of the reply, so the socket is ready for the next request.
    /// (A scripted connection stops at what it was fed; its driver drains its own socket.)
    pub(crate) fn finish(&mut self, inner: &mut Inner) {
        let was = self.state;
        self.state = DumpState::Failed;
        if was != DumpState::Reading {
            return;
        }
        let mut failed = None;
        loop {
            if inner.starved() {
                return;
            }
            match inner.reply_step(self.op, self.seq, &mut failed, &mut |_| Ok(())) {
                Ok(Step { end: Some(_), .. }) => return,
                Ok(_) => {}
                Err(_) => {
                    inner.drain_pending();
                    return;
                }
            }
        }
    }
}

impl<T> Iterator for Dump<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let inner = self.inner.as_mut()?;
        match self.core.pull(inner) {
            Pulled::Item(item) => Some(item),
            // A handle's own dump is never starved: its script was fed in full.
            Pulled::End | Pulled::Starved => None,
        }
    }
}

impl<T> Drop for Dump<'_, T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            self.core.finish(inner);
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
        let Conn::Socket(fd) = &self.conn else {
            return (212_992, 212_992);
        };
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
        // The answers of one write (all of them, if every request fails) must fit the receive
        // buffer (half of it, to leave room for anything else queued), and a write must fit
        // the send buffer.
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
            // One more for the write's closing barrier.
            if u32::MAX - self.seq < count as u32 + 2 {
                self.seq = 0;
            }
            let base = self.seq + 1;
            self.seq += count as u32 + 1;
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

    /// Sends one write of pipelined requests and collects their answers.
    ///
    /// The requests ask for no acknowledgement (the kernel answers only those that fail); the
    /// write ends with a barrier, an `NLMSG_NOOP` that asks for one. The kernel handles a
    /// write's messages in order, inside `send`: once the barrier's acknowledgement is read,
    /// every failure before it has been read too, and a request without an answer succeeded.
    /// If the receive buffer overflowed meanwhile, an answer may have been dropped: the
    /// requests without one are then [`Error::AckLost`], never presumed done.
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
        let barrier_seq = base + waiting.len() as u32;
        let barrier = wire::barrier(barrier_seq);
        loop {
            match self.conn.send_parts(bytes, &barrier, SendKind::Pipeline) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return fail_rest(waiting, results, &io_error(&e)),
            }
        }
        // rtnetlink handles a whole write inside `send`: by now every answer is queued, or was
        // dropped because the receive buffer overflowed. A drop is reported once, as ENOBUFS;
        // after it, the queue is drained without waiting.
        let port = self.port;
        let mut overflowed = false;
        let mut barrier_seen = false;
        while !barrier_seen {
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
                if frame.seq == barrier_seq {
                    barrier_seen = true;
                    continue;
                }
                let k = frame.seq.wrapping_sub(base) as usize;
                if k >= waiting.len() || !std::mem::take(&mut waiting[k]) {
                    continue;
                }
                let i = first + k;
                results[i] = check_code(p.ops[i], &frame);
            }
        }
        if overflowed {
            return fail_rest(waiting, results, &|op| Error::AckLost { op });
        }
        for (k, w) in waiting.iter_mut().enumerate() {
            if std::mem::take(w) {
                results[first + k] = Ok(());
            }
        }
    }

    fn send(&mut self, op: &'static str, msg: Request, flags: u16) -> Result<u32> {
        self.send_as(op, msg, flags, SendKind::Single)
    }

    fn send_as(
        &mut self,
        op: &'static str,
        msg: Request,
        flags: u16,
        kind: SendKind,
    ) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.tx.clear();
        wire::encode_request(msg, flags, &mut self.tx)?;
        wire::set_seq(&mut self.tx, 0, self.seq);
        loop {
            match self.conn.send(&self.tx, kind) {
                Ok(_) => return Ok(self.seq),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(op, e)),
            }
        }
    }

    /// Reads one datagram of the reply to request `seq` and feeds its data messages to
    /// `on_data` (none once `failed` holds an error: the first error is kept, and the rest of
    /// the reply is still read to its end). Frames of other sequence numbers (left over from
    /// an exchange abandoned on an I/O error) are skipped. A datagram whose framing is broken
    /// ends the reply: what is left is drained without waiting, and the error returned.
    fn reply_step(
        &mut self,
        op: &'static str,
        seq: u32,
        failed: &mut Option<Error>,
        on_data: &mut dyn FnMut(&Frame<'_>) -> Result<()>,
    ) -> Result<Step> {
        self.recv(op)?;
        let port = self.port;
        let mut step = Step {
            end: None,
            interrupted: false,
        };
        let mut broken = false;
        for frame in wire::frames(&self.rx) {
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
            step.interrupted |= frame.flags & wire::NLM_F_DUMP_INTR != 0;
            match frame.ty {
                wire::NLMSG_ERROR | wire::NLMSG_DONE => {
                    step.end = Some(check_code(op, &frame));
                    break;
                }
                wire::NLMSG_NOOP | wire::NLMSG_OVERRUN => {}
                _ if failed.is_some() => {}
                _ => {
                    if let Err(e) = on_data(&frame) {
                        *failed = Some(e);
                    }
                }
            }
        }
        if broken && step.end.is_none() {
            // The end of the reply may have been in the bytes that could not be split:
            // read what is left without waiting for more.
            self.drain_pending();
            return Err(failed
                .take()
                .unwrap_or_else(|| Error::malformed(op, "broken framing")));
        }
        Ok(step)
    }

    /// Whether this is a scripted connection whose streaming dump has read all it was fed.
    fn starved(&self) -> bool {
        matches!(&self.conn, Conn::Script(s) if s.starved())
    }

    /// The script of a scripted connection.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn script(&mut self) -> Option<&mut Script> {
        match &mut self.conn {
            Conn::Script(s) => Some(s),
            Conn::Socket(_) => None,
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
        let conn = &mut self.conn;
        recv_reply(op, &mut self.rx, RECV_BUF, |rx| {
            conn.recv_from(rx, libc::MSG_TRUNC | flags)
        })
    }
}

/// Receives one reply datagram into `rx`, emptied first and with room for at least `room`
/// bytes, with `recv` (called with `MSG_TRUNC`: it returns the datagram's whole length and
/// its sender's port). Replies come from the kernel (port 0); the sockets are connected to
/// it, so the kernel refuses other senders already, and anything else is dropped here too.
/// `EINTR` is retried; a datagram longer than `rx` is an error, since its end was cut off.
/// The one receive step of [`Handle`] and the generic netlink socket.
pub(crate) fn recv_reply(
    op: &'static str,
    rx: &mut Vec<u8>,
    room: usize,
    mut recv: impl FnMut(&mut Vec<u8>) -> io::Result<(usize, u32)>,
) -> Result<()> {
    rx.clear();
    rx.reserve(room);
    let cap = rx.capacity();
    loop {
        match recv(rx) {
            Ok((_, from)) if from != 0 => {
                rx.clear();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers dropped by a full receive buffer come back as `AckLost` for every request
    /// whose answer never came (never presumed done), the batch returns instead of waiting for
    /// them, and the handle keeps working. A batch asks for no acknowledgements, so only
    /// failures are answered: here 2,000 requests that all fail (the routes exist) meet a
    /// 1 KiB buffer. (Normal batches never overflow: a write carries only as many requests as
    /// half the receive buffer has room to answer. Here the buffer shrinks after that size was
    /// taken.)
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
        let n = 2000;
        let fill = |h: &Handle| {
            let mut batch = h.batch();
            for i in 0..n {
                let dst = format!("10.{}.{}.0/24", i >> 8, i & 255);
                batch.add_route(
                    &NewRoute::of_kind(RouteType::Blackhole, dst.parse().unwrap()).unwrap(),
                );
            }
            batch.send()
        };
        assert!(fill(&h).iter().all(Result::is_ok));
        {
            let mut inner = h.lock();
            inner.pipeline_bufs = Some((64 << 20, 4 << 20));
            let Conn::Socket(socket) = &inner.conn else {
                unreachable!()
            };
            setsockopt(socket, sockopt::RcvBuf, &1024).unwrap();
        }
        let results = fill(&h);
        assert_eq!(results.len(), n);
        let lost: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.as_ref().is_err_and(Error::is_ack_lost))
            .map(|(i, _)| i)
            .collect();
        let exists = results
            .iter()
            .filter(|r| r.as_ref().is_err_and(Error::is_exists))
            .count();
        assert_eq!(
            exists + lost.len(),
            n,
            "only the kernel's refusals or lost answers: {:?}",
            &results[..3]
        );
        assert!(!lost.is_empty(), "a 1 KiB buffer cannot hold {n} answers");
        let e = results[lost[0]].as_ref().unwrap_err();
        assert!(
            e.to_string().contains("may or may not have been applied"),
            "{e}"
        );
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
