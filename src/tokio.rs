//! The async face for tokio programs (feature `tokio`): every operation of [`Handle`], awaited
//! without blocking a runtime thread.
//!
//! netplumb's operations are written once, as synchronous code over a [`Handle`]. An
//! [`AsyncHandle`] owns a netlink socket registered with tokio (`AsyncFd`) and runs any of
//! those operations with [`AsyncHandle::run`]: the operation's code runs against a scripted
//! handle that never blocks, every request it makes is sent on the async socket and its reply
//! awaited, and the code runs again with the answers until it completes (the design is
//! explained in the crate's source, `src/replay.rs`). So the async face has no second copy of
//! any operation, and every operation — those of future versions too — is available:
//!
//! ```no_run
//! # #![allow(dead_code)]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use netplumb::route::{NewRoute, RouteFilter, RouteType};
//! use netplumb::tokio::AsyncHandle;
//! use netplumb::{NetNs, TableId};
//!
//! let ns = NetNs::new_unnamed()?;
//! let h = AsyncHandle::new_in(&ns).await?; // no runtime thread changes namespace
//! h.run(|h| h.set_link_up("lo")).await?;
//! let route = NewRoute {
//!     table: TableId::new(100),
//!     ..NewRoute::of_kind(RouteType::Blackhole, "10.9.0.0/16".parse()?)?
//! };
//! h.run(|h| h.add_route(&route)).await?;
//! let routes = h.run(|h| h.routes(&RouteFilter::default())).await?;
//! println!("{} routes", routes.len());
//! # Ok(())
//! # }
//! ```
//!
//! # What `run` asks of the closure
//! It may be called several times (once more for each request it makes), so it must make the
//! same requests when given the same answers, and do nothing but netplumb operations on the
//! handle it is given: every operation of `Handle` qualifies. A run that sends a different
//! request than the run before it at the same step is refused with an error, never answered
//! wrongly. Decoding happens on the runtime thread, between awaits; a large `Vec` listing is
//! decoded in one piece when its last datagram has arrived — use [`AsyncHandle::stream`] for a
//! large table, which decodes one datagram at a time as it arrives.
//!
//! Three operations do more than exchange messages, and block the runtime thread while they
//! do it: [`Handle::wait_address_ready`] sleeps between its checks (do not `run` it: poll
//! [`Handle::addresses`] from the async side with `tokio::time::sleep` in between, or call it
//! on a blocking [`Handle`] in `spawn_blocking`), and [`Handle::add_tun`] and the namespace's
//! [`NetNs::set_conf`] work on a short-lived thread inside the namespace for a millisecond or
//! so.
//!
//! # Cancellation
//! Dropping a future of this module part-way is safe: what was sent stays sent (a route
//! whose request reached the kernel is added even if its answer is never awaited), and the
//! handle stays usable — the next operation first reads and discards the rest of the
//! abandoned reply, matched by sequence number, so no answer is ever taken for another
//! request's. Operations on one handle run one at a time, in the order they lock it; open
//! several handles for parallel requests.
//!
//! # Monitor
//! [`AsyncMonitor`] is a [`Monitor`] as a `Stream` of its events (`Event::Overrun`
//! included), which ends when stopped with a [`MonitorStop`].

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use ::tokio::io::unix::AsyncFd;
use ::tokio::sync::{Mutex, MutexGuard};
use futures_core::Stream;
use netlink_sys::Socket;

use crate::handle::{DumpCore, Inner, Pulled};
use crate::monitor::{Event, Monitor, MonitorOptions, MonitorStop};
use crate::replay::{Reply, Script, Tracker};
use crate::{Dump, Error, Handle, NetNs, Result};

/// Receive buffer size: as the blocking handle's.
const RECV_BUF: usize = 256 * 1024;

/// A connection to rtnetlink in one namespace, for tokio: every operation of [`Handle`] as a
/// future ([`run`](AsyncHandle::run)), listings as streams ([`stream`](AsyncHandle::stream)).
/// See the [module documentation](self).
pub struct AsyncHandle {
    io: Mutex<Io>,
    /// The scripted handle the operations run against; used under `io`'s lock.
    replay: Handle,
}

impl std::fmt::Debug for AsyncHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncHandle").finish_non_exhaustive()
    }
}

/// The async socket and its exchange in progress.
struct Io {
    fd: AsyncFd<Socket>,
    port: u32,
    next_seq: u32,
    /// The exchange whose reply is being read, or was abandoned part-way (its future
    /// dropped): the next exchange reads the rest of it first.
    open: Option<Tracker>,
    buf: Vec<u8>,
}

impl AsyncHandle {
    /// Opens a handle in the namespace of the calling thread.
    pub async fn new() -> Result<AsyncHandle> {
        AsyncHandle::from_handle(Handle::new()?)
    }

    /// Opens a handle in `ns`. The socket is opened on a short-lived thread inside the
    /// namespace (as [`Handle::new_in`] does); no runtime thread changes namespace. The
    /// thread's few milliseconds are spent off the runtime.
    pub async fn new_in(ns: &NetNs) -> Result<AsyncHandle> {
        let ns = ns.try_clone()?;
        let (tx, rx) = ::tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("netplumb-open".into())
            .spawn(move || {
                let _ = tx.send(Handle::new_in(&ns));
            })
            .map_err(|e| Error::io("open rtnetlink socket", e))?;
        let handle = rx.await.map_err(|_| {
            Error::io(
                "open rtnetlink socket",
                io::Error::other("the opening thread ended without an answer"),
            )
        })??;
        AsyncHandle::from_handle(handle)
    }

    /// Takes over a blocking handle's socket.
    fn from_handle(handle: Handle) -> Result<AsyncHandle> {
        let op = "open rtnetlink socket";
        let ns = Arc::new(handle.netns()?);
        let (socket, port, bufs) = handle
            .into_socket()
            .ok_or_else(|| Error::io(op, io::Error::other("not a socket handle")))?;
        socket
            .set_non_blocking(true)
            .map_err(|e| Error::io(op, e))?;
        let fd = register(socket).map_err(|e| Error::io(op, e))?;
        Ok(AsyncHandle {
            io: Mutex::new(Io {
                fd,
                port,
                next_seq: 1,
                open: None,
                buf: Vec::with_capacity(RECV_BUF),
            }),
            replay: Handle::scripted(Script::new(ns, bufs), port),
        })
    }

    /// Runs `op`, any operation (or sequence of operations) of [`Handle`], without blocking:
    /// each request is sent and its reply awaited on the async socket. Returns what `op`
    /// returns, with the same errors as the blocking call; see the
    /// [module documentation](self) for what `op` must do and for cancellation.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn demo(h: &netplumb::tokio::AsyncHandle) -> netplumb::Result<()> {
    /// use netplumb::route::NewRoute;
    /// let results = h
    ///     .run(|h| {
    ///         let mut batch = h.batch();
    ///         for i in 0..1000u32 {
    ///             let dst = format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap();
    ///             batch.add_route(&NewRoute::via(dst, "192.0.2.1".parse().unwrap())?);
    ///         }
    ///         Ok(batch.send())
    ///     })
    ///     .await?;
    /// for (i, r) in results.iter().enumerate() {
    ///     if let Err(e) = r {
    ///         eprintln!("route {i}: {e}");
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<T, F>(&self, mut op: F) -> Result<T>
    where
        F: FnMut(&Handle) -> Result<T>,
    {
        let mut io = self.io.lock().await;
        self.with_script(Script::reset);
        loop {
            self.with_script(|s| {
                s.rewind();
                s.stream_ok = false;
            });
            let out = op(&self.replay);
            let pending = self.pending()?;
            if pending.is_empty() {
                return out;
            }
            // A result made without the answers: thrown away (and not held across awaits).
            drop(out);
            self.answer(&mut io, pending).await;
        }
    }

    /// Runs `op`, a streaming listing of [`Handle`] (a `*_iter` method, such as
    /// [`Handle::routes_iter`]), and returns its objects as a [`Stream`] decoded one datagram
    /// at a time as they arrive. The handle is held until the stream ends or is dropped.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn demo(h: &netplumb::tokio::AsyncHandle) -> netplumb::Result<()> {
    /// use futures_util::StreamExt;
    /// use netplumb::route::RouteFilter;
    /// let filter = RouteFilter::default();
    /// let mut routes = h.stream(|h| h.routes_iter(&filter)).await?;
    /// while let Some(route) = routes.next().await {
    ///     println!("{}", route?.destination);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stream<'a, T, F>(&'a self, mut op: F) -> Result<DumpStream<'a, T>>
    where
        F: FnMut(&'a Handle) -> Result<Dump<'a, T>>,
    {
        let mut io = self.io.lock().await;
        self.with_script(Script::reset);
        loop {
            self.with_script(|s| {
                s.rewind();
                s.stream_ok = true;
            });
            // A dump holds the scripted handle: take its state out before looking at it.
            let detached = op(&self.replay).map(Dump::detach);
            let e = match detached {
                Ok(detached) => return self.start_stream(io, detached).await,
                Err(e) => e,
            };
            let pending = self.pending()?;
            if pending.is_empty() {
                return Err(e);
            }
            self.answer(&mut io, pending).await;
        }
    }

    /// The requests the last run had no answer for; an error if the run diverged.
    fn pending(&self) -> Result<Vec<Vec<u8>>> {
        let (diverged, pending) = self.with_script(|s| (s.diverged, s.take_pending()));
        if diverged {
            return Err(not_deterministic());
        }
        Ok(pending)
    }

    /// Sends each pending request on the socket and records its reply in the script.
    async fn answer(&self, io: &mut Io, pending: Vec<Vec<u8>>) {
        for request in pending {
            let (send_error, replies) = io.exchange(request.clone()).await;
            self.with_script(|s| s.record(request, send_error, replies));
        }
    }

    /// Sends a streaming dump's request, which the scripted run let through, and makes its
    /// stream.
    async fn start_stream<'a, T>(
        &'a self,
        mut io: MutexGuard<'a, Io>,
        detached: Option<(Box<Inner>, DumpCore<'a, T>)>,
    ) -> Result<DumpStream<'a, T>> {
        let Some((mut inner, core)) = detached else {
            return Err(not_deterministic());
        };
        let request = match inner.script() {
            Some(s) if !s.diverged && s.streaming() => s.take_pending().pop(),
            _ => None,
        };
        let Some(request) = request else {
            return Err(not_deterministic());
        };
        if let Err(errno) = io.send(request).await {
            return Err(Error::io(
                "send dump request",
                io::Error::from_raw_os_error(errno),
            ));
        }
        Ok(DumpStream { io, inner, core })
    }

    fn with_script<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        match self.replay.with_script(f) {
            Some(t) => t,
            // `replay` is made scripted and stays so.
            None => unreachable_scripted(),
        }
    }
}

/// Registers an object that owns its descriptor with tokio's reactor.
#[allow(unsafe_code)]
fn register<T: AsRawFd>(owner: T) -> io::Result<AsyncFd<T>> {
    // SAFETY: every `T` here owns its descriptor (a socket, a monitor owning its socket, an
    // `OwnedFd`), and the `AsyncFd` owns the `T`: the descriptor stays open, and is neither
    // closed nor replaced, for as long as it is registered.
    unsafe { AsyncFd::register(owner) }.map_err(|e| e.into_parts().1)
}

#[cold]
fn unreachable_scripted() -> ! {
    unreachable!("an AsyncHandle's replay handle is always scripted")
}

fn not_deterministic() -> Error {
    Error::InvalidInput {
        arg: "operation",
        reason: "the closure given to AsyncHandle::run made different requests when run again \
                 with the same answers (it must do only netplumb operations on the handle it \
                 is given)"
            .into(),
    }
}

impl Io {
    /// Sends `request` (numbered by the scripted handle) and awaits its whole reply: the
    /// error of sending, or every datagram of the reply renumbered for the script.
    async fn exchange(&mut self, request: Vec<u8>) -> (Option<i32>, Vec<Reply>) {
        if let Err(errno) = self.send(request).await {
            return (Some(errno), Vec::new());
        }
        let mut replies = Vec::new();
        while let Some(reply) = std::future::poll_fn(|cx| self.poll_reply(cx)).await {
            replies.push(reply);
        }
        (None, replies)
    }

    /// Finishes any abandoned exchange, then sends `request` and opens its tracker.
    async fn send(&mut self, mut request: Vec<u8>) -> std::result::Result<(), i32> {
        while self.open.is_some() {
            std::future::poll_fn(|cx| self.poll_reply(cx)).await;
        }
        let (tracker, next) = Tracker::start(&mut request, self.next_seq, self.port);
        self.next_seq = next;
        loop {
            let mut guard = match self.fd.writable().await {
                Ok(g) => g,
                Err(e) => return Err(e.raw_os_error().unwrap_or(libc::EIO)),
            };
            match guard.try_io(|s| s.get_ref().send(&request, 0)) {
                Ok(Ok(_)) => break,
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e.raw_os_error().unwrap_or(libc::EIO)),
                Err(_would_block) => continue,
            }
        }
        // No await between the send and this: a dropped future leaves the tracker behind.
        self.open = Some(tracker);
        Ok(())
    }

    /// The next reply of the open exchange; `None` once it is complete (or none is open).
    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Option<Reply>> {
        loop {
            let Some(tracker) = self.open.as_mut() else {
                return Poll::Ready(None);
            };
            if tracker.done() {
                self.open = None;
                return Poll::Ready(None);
            }
            let overflowed = tracker.overflowed;
            let mut guard = if overflowed {
                None
            } else {
                Some(ready!(self.fd.poll_read_ready(cx)).map_err(|e| e.raw_os_error()))
            };
            if let Some(Err(errno)) = guard.as_ref().map(|g| g.as_ref().map(|_| ())) {
                self.open = None;
                return Poll::Ready(Some(Reply::Errno(errno.unwrap_or(libc::EIO))));
            }
            self.buf.clear();
            self.buf.reserve(RECV_BUF);
            let cap = self.buf.capacity();
            let got = self
                .fd
                .get_ref()
                .recv_from(&mut self.buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT);
            let tracker = self.open.as_mut().unwrap_or_else(|| unreachable_open());
            match got {
                Ok((_, from)) if from.port_number() != 0 => continue,
                Ok((n, _)) if n > cap => return Poll::Ready(Some(Reply::Truncated(n))),
                Ok(_) => {
                    if let Some(d) = tracker.take(&self.buf) {
                        return Poll::Ready(Some(Reply::Datagram(d)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if overflowed {
                        // After an overflow, what is not waiting now was dropped: as the
                        // blocking handle, stop and let the operation report lost answers.
                        self.open = None;
                        return Poll::Ready(Some(Reply::Errno(libc::EAGAIN)));
                    }
                    if let Some(Ok(g)) = guard.as_mut() {
                        g.clear_ready();
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    tracker.overflowed = true;
                    return Poll::Ready(Some(Reply::Errno(libc::ENOBUFS)));
                }
                Err(e) => {
                    self.open = None;
                    return Poll::Ready(Some(Reply::Errno(e.raw_os_error().unwrap_or(libc::EIO))));
                }
            }
        }
    }
}

#[cold]
fn unreachable_open() -> ! {
    unreachable!("the tracker was checked just before")
}

/// The objects of a streaming listing, as they arrive ([`AsyncHandle::stream`]). Holds the
/// handle until it ends or is dropped; dropping it early is safe (the handle's next
/// operation reads and discards the rest of the reply). Like [`Dump`], it ends with
/// [`Error::DumpInterrupted`] when the kernel flags the listing as interrupted.
pub struct DumpStream<'a, T> {
    io: MutexGuard<'a, Io>,
    inner: Box<Inner>,
    core: DumpCore<'a, T>,
}

// Nothing of it is pinned: the objects are queued by value and moved out.
impl<T> Unpin for DumpStream<'_, T> {}

impl<T> std::fmt::Debug for DumpStream<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpStream").finish_non_exhaustive()
    }
}

impl<T> Stream for DumpStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            match this.core.pull(&mut this.inner) {
                Pulled::Item(item) => return Poll::Ready(Some(item)),
                Pulled::End => return Poll::Ready(None),
                Pulled::Starved => {}
            }
            let reply = ready!(this.io.poll_reply(cx));
            let Some(script) = this.inner.script() else {
                return Poll::Ready(None);
            };
            match reply {
                Some(r) => script.feed(r),
                // The reply ended without the dump seeing its end (it cannot, as the
                // tracker ends at the same frame): end it as a read error would.
                None => script.feed(Reply::Errno(libc::EIO)),
            }
        }
    }
}

impl<T> Drop for DumpStream<'_, T> {
    fn drop(&mut self) {
        self.core.finish(&mut self.inner);
    }
}

/// A [`Monitor`] for tokio: its events as a [`Stream`], read as the socket becomes readable.
/// The stream yields [`Event::Overrun`] like the blocking monitor, and ends (`None`) once
/// stopped by a [`MonitorStop`] from [`stopper`](AsyncMonitor::stopper).
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn demo() -> netplumb::Result<()> {
/// use futures_util::StreamExt;
/// use netplumb::monitor::{Groups, MonitorOptions};
/// use netplumb::tokio::AsyncMonitor;
///
/// let mut events = AsyncMonitor::new(&MonitorOptions {
///     groups: Groups::ROUTE_V4,
///     ..MonitorOptions::default()
/// })?;
/// while let Some(event) = events.next().await {
///     println!("{:?}", event?);
/// }
/// # Ok(())
/// # }
/// ```
pub struct AsyncMonitor {
    monitor: AsyncFd<Watched>,
    stop: Option<AsyncFd<OwnedFd>>,
    ended: bool,
}

impl std::fmt::Debug for AsyncMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncMonitor")
            .field("monitor", &self.monitor.get_ref().0)
            .finish_non_exhaustive()
    }
}

/// The monitor, registered with tokio by its socket's descriptor.
struct Watched(Monitor);

impl AsRawFd for Watched {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl AsyncMonitor {
    /// A monitor in the calling thread's namespace (as [`Monitor::with_options`]). Must be
    /// called inside a tokio runtime.
    pub fn new(options: &MonitorOptions) -> Result<AsyncMonitor> {
        AsyncMonitor::from_monitor(Monitor::with_options(options)?)
    }

    /// A monitor in `ns`, opened on a short-lived thread inside it (as [`Monitor::new_in`]).
    pub fn new_in(ns: &NetNs, options: &MonitorOptions) -> Result<AsyncMonitor> {
        AsyncMonitor::from_monitor(Monitor::new_in(ns, options)?)
    }

    /// Takes over a blocking monitor (with its queued events).
    pub fn from_monitor(monitor: Monitor) -> Result<AsyncMonitor> {
        let monitor =
            register(Watched(monitor)).map_err(|e| Error::io("watch monitor socket", e))?;
        Ok(AsyncMonitor {
            monitor,
            stop: None,
            ended: false,
        })
    }

    /// A handle that stops the stream from any thread or task: the stream ends at once, also
    /// while waiting. See [`MonitorStop`].
    pub fn stopper(&mut self) -> Result<MonitorStop> {
        let stop = self.monitor.get_mut().0.stopper()?;
        if self.stop.is_none() {
            let fd = self
                .monitor
                .get_ref()
                .0
                .stop_fd()
                .ok_or_else(|| Error::io("watch monitor stop", io::Error::other("no stop")))?
                .try_clone_to_owned()
                .map_err(|e| Error::io("watch monitor stop", e))?;
            self.stop = Some(register(fd).map_err(|e| Error::io("watch monitor stop", e))?);
        }
        Ok(stop)
    }

    /// The blocking monitor inside, for its other methods. Its
    /// [`resync`](Monitor::resync) lists the namespace with blocking calls: call it from
    /// `tokio::task::block_in_place` on a multi-thread runtime.
    pub fn get_mut(&mut self) -> &mut Monitor {
        &mut self.monitor.get_mut().0
    }

    /// The next event; `None` once stopped. As `StreamExt::next`, without the import.
    pub fn recv(&mut self) -> impl Future<Output = Option<Result<Event>>> + '_ {
        std::future::poll_fn(move |cx| Pin::new(&mut *self).poll_next(cx))
    }
}

impl Stream for AsyncMonitor {
    type Item = Result<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Event>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            match this.monitor.get_mut().0.try_recv() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                Err(Error::Stopped { .. }) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
            // Nothing waiting: wait for the socket or the stop. The stop is seen by
            // `try_recv` above, so its readiness only needs to wake this task.
            if let Some(stop) = &this.stop {
                if let Poll::Ready(Ok(_)) = stop.poll_read_ready(cx) {
                    continue;
                }
            }
            match this.monitor.poll_read_ready_mut(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Some(Err(Error::io("wait for events", e))))
                }
                Poll::Ready(Ok(mut guard)) => {
                    // `try_recv` read until the socket was empty: wait for the next edge.
                    match guard.get_inner_mut().0.try_recv() {
                        Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                        Ok(None) => guard.clear_ready(),
                        Err(Error::Stopped { .. }) => {
                            this.ended = true;
                            return Poll::Ready(None);
                        }
                        Err(e) => return Poll::Ready(Some(Err(e))),
                    }
                }
            }
        }
    }
}
