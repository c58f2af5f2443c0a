//! The [`Monitor`]: a subscribed socket, its queue of decoded events, snapshots and resyncs.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::events::Decoder;
use super::stop::{MonitorStop, StopShared};
use super::types::{Change, Event, Groups, MonitorOptions};
use crate::addr::AddressFilter;
use crate::fdb::FdbFilter;
use crate::neighbour::NeighbourFilter;
use crate::nexthop::NexthopFilter;
use crate::route::RouteFilter;
use crate::rule::RuleFilter;
use crate::{Error, Handle, IpFamily, NetNs, Result};

/// Size of one receive: the kernel's notifications fit in a page or two; dumps (snapshots) use a
/// separate [`Handle`].
const RECV_BUF: usize = 64 * 1024;

/// A subscription to kernel events in one network namespace (`ip monitor`).
///
/// ```no_run
/// use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
///
/// let mut mon = Monitor::with_options(&MonitorOptions {
///     groups: Groups::LINK | Groups::NEIGH,
///     snapshot: true,
///     ..MonitorOptions::default()
/// })?;
/// for event in &mut mon {
///     match event? {
///         Event::Link(Change::Added(l)) => println!("new link {}", l.name),
///         Event::L3Miss { link, address } => println!("who has {address} on {link}?"),
///         Event::Overrun => println!("events lost: resync"),
///         _ => {}
///     }
/// }
/// # Ok::<(), netplumb::Error>(())
/// ```
pub struct Monitor {
    socket: Socket,
    groups: Groups,
    /// The namespace the socket listens in, remembered at creation for snapshots.
    ns: NetNs,
    buf: Vec<u8>,
    queue: VecDeque<Event>,
    decoder: Decoder,
    /// Datagrams dropped because they did not come from the kernel.
    foreign: u64,
    /// Shared with the [`MonitorStop`]s; made by the first [`Monitor::stopper`].
    stop: Option<Arc<StopShared>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("groups", &self.groups)
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// Listens to `groups` in the calling thread's namespace. Equivalent to
    /// `ip monitor [link] [address] [neigh]`.
    pub fn new(groups: Groups) -> Result<Monitor> {
        Monitor::with_options(&MonitorOptions {
            groups,
            ..MonitorOptions::default()
        })
    }

    /// Listens in the calling thread's namespace with `options`.
    pub fn with_options(options: &MonitorOptions) -> Result<Monitor> {
        Monitor::start(None, options)
    }

    /// Listens inside another namespace. Equivalent to `ip -n NS monitor …`. The socket is made
    /// there by a short-lived thread; the calling thread never changes namespace, and the
    /// monitor keeps working whatever that thread does next.
    pub fn new_in(ns: &NetNs, options: &MonitorOptions) -> Result<Monitor> {
        Monitor::start(Some(ns.try_clone()?), options)
    }

    fn start(ns: Option<NetNs>, options: &MonitorOptions) -> Result<Monitor> {
        let (socket, ns) = match ns {
            Some(ns) => (ns.run(|| subscribed_socket(options))??, ns),
            // The calling thread's namespace, remembered: a resync lists this one, whichever
            // thread calls it later.
            None => (subscribed_socket(options)?, NetNs::current()?),
        };
        let mut mon = Monitor {
            socket,
            groups: options.groups,
            ns,
            buf: Vec::with_capacity(RECV_BUF),
            queue: VecDeque::new(),
            decoder: Decoder::default(),
            foreign: 0,
            stop: None,
        };
        if options.snapshot {
            mon.resync()?;
        }
        Ok(mon)
    }

    /// A handle that stops this monitor from another thread (see [`MonitorStop`]). Every
    /// call returns a handle to the same stop.
    pub fn stopper(&mut self) -> Result<MonitorStop> {
        if self.stop.is_none() {
            let wake = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
                .map_err(|e| Error::io("create monitor stop", io::Error::from(e)))?;
            self.stop = Some(Arc::new(StopShared {
                stopped: AtomicBool::new(false),
                wake,
            }));
        }
        let shared = self.stop.clone().expect("made above");
        Ok(MonitorStop { shared })
    }

    /// The descriptor that becomes readable when the monitor is stopped (after
    /// [`stopper`](Monitor::stopper)), for an event loop to wait on beside the socket.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn stop_fd(&self) -> Option<BorrowedFd<'_>> {
        self.stop.as_ref().map(|s| s.wake.as_fd())
    }

    /// Whether a [`MonitorStop`] has stopped this monitor.
    pub fn is_stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.stopped.load(Ordering::Acquire))
    }

    fn check_stopped(&self, op: &'static str) -> Result<()> {
        if self.is_stopped() {
            return Err(Error::Stopped { op });
        }
        Ok(())
    }

    /// The groups this monitor listens to.
    pub fn groups(&self) -> Groups {
        self.groups
    }

    /// How many datagrams the monitor dropped because they did not come from the kernel
    /// (another process of the namespace sending to the monitor's port: forged events).
    pub fn foreign_dropped(&self) -> u64 {
        self.foreign
    }

    /// Rebuilds the view from scratch: discards every event not yet read (queued here or
    /// still in the socket), then lists the current objects of the monitor's groups in the
    /// monitor's namespace and queues them as `Added` events, then
    /// [`Event::SnapshotDone`](crate::monitor::Event::SnapshotDone); live events follow.
    /// Call it after an [`Event::Overrun`](crate::monitor::Event::Overrun): applying the
    /// snapshot and then every later event in order gives the kernel's state.
    ///
    /// The socket is drained before the listing, not after: the events still queued are
    /// older than the listing (applied after it they would undo newer state), and while the
    /// queue is full the kernel keeps dropping the new ones. Events that arrive during the
    /// listing are as new as what it shows or newer, so they are kept.
    pub fn resync(&mut self) -> Result<()> {
        self.queue.clear();
        self.drain()?;
        let handle = Handle::new_in(&self.ns)?;
        let mut events = Vec::new();
        self.decoder.reset();
        if self.groups.contains(Groups::LINK) {
            for l in handle.links(&crate::link::LinkFilter::default())? {
                events.push(Event::Link(Change::Added(l)));
            }
        }
        let families: Vec<IpFamily> = [
            (Groups::ADDRESS_V4, IpFamily::V4),
            (Groups::ADDRESS_V6, IpFamily::V6),
        ]
        .into_iter()
        .filter(|(g, _)| self.groups.contains(*g))
        .map(|(_, f)| f)
        .collect();
        for family in families {
            let filter = AddressFilter {
                family: Some(family),
                ..AddressFilter::default()
            };
            for a in handle.addresses(&filter)? {
                events.push(self.decoder.address_event(a, false));
            }
        }
        for (group, family) in [
            (Groups::ROUTE_V4, IpFamily::V4),
            (Groups::ROUTE_V6, IpFamily::V6),
        ] {
            if self.groups.contains(group) {
                let filter = RouteFilter {
                    family: Some(family),
                    ..RouteFilter::default()
                };
                for r in handle.routes(&filter)? {
                    events.push(Event::Route(Change::Added(r)));
                }
            }
        }
        for (group, family) in [
            (Groups::RULE_V4, IpFamily::V4),
            (Groups::RULE_V6, IpFamily::V6),
        ] {
            if self.groups.contains(group) {
                let filter = RuleFilter {
                    family: Some(family),
                    ..RuleFilter::default()
                };
                for r in handle.rules(&filter)? {
                    events.push(Event::Rule(Change::Added(r)));
                }
            }
        }
        if self.groups.contains(Groups::NSID) {
            for n in handle.netns_ids()? {
                events.push(Event::Nsid(Change::Added(n)));
            }
        }
        if self.groups.contains(Groups::NETCONF) {
            for family in [IpFamily::V4, IpFamily::V6] {
                for n in handle.netconf(family)? {
                    events.push(self.decoder.netconf_event(n, false));
                }
            }
        }
        if self.groups.contains(Groups::NEXTHOP) {
            for n in handle.nexthops(&NexthopFilter::default())? {
                events.push(self.decoder.nexthop_event(n, false));
            }
        }
        if self.groups.contains(Groups::NEIGH) {
            for proxy in [false, true] {
                let filter = NeighbourFilter {
                    proxy,
                    ..NeighbourFilter::default()
                };
                for n in handle.neighbours(&filter)? {
                    events.push(self.decoder.neighbour_event(n, false));
                }
            }
            for e in handle.fdb(&FdbFilter::default())? {
                events.push(self.decoder.fdb_event(e, false));
            }
        }
        events.push(Event::SnapshotDone);
        self.queue.extend(events);
        Ok(())
    }

    /// Reads and discards every datagram waiting in the socket (an overflow included), up to
    /// a bound so that a flood that never pauses cannot hold the caller here forever.
    fn drain(&mut self) -> Result<()> {
        // More than a 32 MiB receive buffer holds of the smallest notifications.
        const MAX_DATAGRAMS: usize = 1 << 17;
        for _ in 0..MAX_DATAGRAMS {
            self.buf.clear();
            self.buf.reserve(RECV_BUF);
            match self
                .socket
                .recv_from(&mut self.buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT)
            {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(Error::io("drain events", e)),
            }
        }
        Ok(())
    }

    /// Waits for the next event. Once the monitor is stopped ([`MonitorStop`]), returns
    /// [`Error::Stopped`], even with events still queued.
    pub fn recv(&mut self) -> Result<Event> {
        loop {
            self.check_stopped("receive events")?;
            if let Some(e) = self.queue.pop_front() {
                return Ok(e);
            }
            // Read what is waiting first (`fill` never blocks, whatever an event loop did to
            // the descriptor): under a flood of events a poll before every datagram would
            // double the system calls. Poll only when the socket is empty.
            if self.fill()? {
                continue;
            }
            if self.wait_readable(None)? {
                self.fill()?;
            }
        }
    }

    /// Returns the next event if one is ready, without waiting. It reads until it has an
    /// event or the socket is empty, so that after it returns `None` an edge-triggered
    /// poller (epoll `EPOLLET`, tokio's `AsyncFd`) may wait on [`AsFd`] again.
    pub fn try_recv(&mut self) -> Result<Option<Event>> {
        self.check_stopped("receive events")?;
        while self.queue.is_empty() {
            if !self.fill()? {
                break;
            }
        }
        Ok(self.queue.pop_front())
    }

    /// Waits at most `timeout` for the next event; `None` when none came.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Event>> {
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            return self.recv().map(Some);
        };
        loop {
            self.check_stopped("receive events")?;
            if let Some(e) = self.queue.pop_front() {
                return Ok(Some(e));
            }
            // As in `recv`: poll only when nothing is waiting.
            if self.fill()? {
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.wait_readable(Some(left))? {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    /// Waits until the socket is readable, the monitor is stopped, or `timeout` passes
    /// (`None`: no limit); true when there is something to read or the stop to see.
    fn wait_readable(&self, timeout: Option<Duration>) -> Result<bool> {
        let timeout = match timeout {
            // Rounded up, so that a short wait is not a non-blocking check.
            Some(t) => {
                let ms = t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut fds = vec![PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
        if let Some(stop) = &self.stop {
            fds.push(PollFd::new(stop.wake.as_fd(), PollFlags::POLLIN));
        }
        loop {
            match nix::poll::poll(&mut fds, timeout) {
                Ok(n) => return Ok(n > 0),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::io("wait for events", io::Error::from(e))),
            }
        }
    }

    /// Reads one datagram, if one is waiting, and queues its events. Returns whether the
    /// socket had one (an overrun counts).
    fn fill(&mut self) -> Result<bool> {
        let op = "receive events";
        self.buf.clear();
        self.buf.reserve(RECV_BUF);
        let cap = self.buf.capacity();
        let n = loop {
            match self
                .socket
                .recv_from(&mut self.buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT)
            {
                // Only the kernel (port 0) sends notifications: anything else is another
                // process of the namespace forging them.
                Ok((_, from)) if from.port_number() != 0 => {
                    self.foreign += 1;
                    return Ok(true);
                }
                Ok((n, _)) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.queue.push_back(Event::Overrun);
                    return Ok(true);
                }
                Err(e) => return Err(Error::io(op, e)),
            }
        };
        if n > cap {
            // A notification larger than the buffer: it is lost, like an overrun.
            self.queue.push_back(Event::Overrun);
            return Ok(true);
        }
        self.decoder.datagram(&self.buf, &mut self.queue);
        Ok(true)
    }
}

/// A socket bound to the kernel and joined to `options.groups`, in the calling thread's
/// namespace.
fn subscribed_socket(options: &MonitorOptions) -> Result<Socket> {
    let op = "open monitor socket";
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| Error::io(op, e))?;
    socket.bind_auto().map_err(|e| Error::io(op, e))?;
    if let Some(size) = options.recv_buffer {
        let size = i32::try_from(size).map_err(|_| {
            Error::invalid(
                "recv_buffer",
                format!("{size} bytes does not fit SO_RCVBUF's int"),
            )
        })?;
        use nix::sys::socket::{setsockopt, sockopt};
        // The FORCE variant passes net.core.rmem_max with CAP_NET_ADMIN; else the plain one,
        // which the kernel caps.
        if setsockopt(&socket, sockopt::RcvBufForce, &(size as usize)).is_err() {
            setsockopt(&socket, sockopt::RcvBuf, &(size as usize))
                .map_err(|e| Error::io("set monitor receive buffer", io::Error::from(e)))?;
        }
    }
    // Connected to the kernel: the kernel then refuses unicasts to this socket from any other
    // port (ECONNREFUSED to the sender), and `fill` checks every sender as well.
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| Error::io(op, e))?;
    for group in options.groups.rtnl_groups() {
        socket
            .add_membership(group)
            .map_err(|e| Error::io("join rtnetlink group", e))?;
    }
    Ok(socket)
}

impl Iterator for Monitor {
    type Item = Result<Event>;

    /// Waits for the next event; `None` once the monitor is stopped ([`MonitorStop`]).
    fn next(&mut self) -> Option<Result<Event>> {
        match self.recv() {
            Err(e) if e.is_stopped() => None,
            r => Some(r),
        }
    }
}

impl AsFd for Monitor {
    /// The socket's descriptor: readable when events wait. Drain with [`Monitor::try_recv`].
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
impl Monitor {
    /// A monitor whose socket is bound to nothing, for feeding datagrams to its decoder in
    /// tests (the fuzzer).
    pub(crate) fn detached() -> Result<Monitor> {
        let socket = Socket::new(NETLINK_ROUTE).map_err(|e| Error::io("open test socket", e))?;
        Ok(Monitor {
            socket,
            groups: Groups::empty(),
            ns: NetNs::current()?,
            buf: Vec::new(),
            queue: VecDeque::new(),
            decoder: Decoder::default(),
            foreign: 0,
            stop: None,
        })
    }

    /// Decodes one datagram as if the kernel had sent it, returning its events. (Never an
    /// error: what does not decode is an `Event::Malformed`.)
    pub(crate) fn parse_datagram(&mut self, datagram: &[u8]) -> Result<Vec<Event>> {
        self.decoder.datagram(datagram, &mut self.queue);
        Ok(self.queue.drain(..).collect())
    }
}
