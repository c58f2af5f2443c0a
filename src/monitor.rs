//! Kernel events (`ip monitor`): typed notifications of links, addresses, routes, policy
//! rules, neighbours and FDB entries appearing, changing and going away, VXLAN L2/L3 misses,
//! and overruns.
//!
//! A [`Monitor`] is one rtnetlink socket subscribed to the kernel's multicast groups in one
//! namespace. It has no thread of its own: events queue in the socket's receive buffer until read
//! with [`Monitor::recv`], [`Monitor::recv_timeout`], [`Monitor::try_recv`] or by iterating.
//! For poll/epoll/tokio, wait on its file descriptor ([`AsFd`]) and then drain it with
//! `try_recv`. When the reader falls behind and the buffer fills, the kernel drops events; the
//! monitor then yields [`Event::Overrun`], and the caller should [`resync`](Monitor::resync).

use std::collections::{HashSet, VecDeque};
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::addr::{address_from_message, Address, AddressFilter};
use crate::fdb::{fdb_from_message, FdbEntry, FdbFilter};
use crate::link::{link_from_message, Link};
use crate::neighbour::{neighbour_from_message, Neighbour, NeighbourFilter, NeighbourFlags};
use crate::route::{route_from_bytes, Route, RouteFilter};
use crate::rule::{rule_from_message, Rule, RuleFilter};
use crate::wire::{self, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN};
use crate::{Error, Handle, IfIndex, IpFamily, MacAddr, NetNs, Result, VlanId, Vni};

bitflags::bitflags! {
    /// The kernel's multicast groups a [`Monitor`] listens to (`ip monitor link address …`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Groups: u32 {
        /// Links appearing, changing, going away (`RTNLGRP_LINK`).
        const LINK = 1 << 0;
        /// IPv4 addresses (`RTNLGRP_IPV4_IFADDR`).
        const ADDRESS_V4 = 1 << 1;
        /// IPv6 addresses (`RTNLGRP_IPV6_IFADDR`).
        const ADDRESS_V6 = 1 << 2;
        /// Neighbour entries, FDB entries, and L2/L3 misses (`RTNLGRP_NEIGH`).
        const NEIGH = 1 << 3;
        /// IPv4 routes, every table (`RTNLGRP_IPV4_ROUTE`).
        const ROUTE_V4 = 1 << 4;
        /// IPv6 routes, every table (`RTNLGRP_IPV6_ROUTE`).
        const ROUTE_V6 = 1 << 5;
        /// IPv4 policy rules (`RTNLGRP_IPV4_RULE`).
        const RULE_V4 = 1 << 6;
        /// IPv6 policy rules (`RTNLGRP_IPV6_RULE`).
        const RULE_V6 = 1 << 7;
        /// Both address families.
        const ADDRESS = Self::ADDRESS_V4.bits() | Self::ADDRESS_V6.bits();
        /// Routes of both families.
        const ROUTE = Self::ROUTE_V4.bits() | Self::ROUTE_V6.bits();
        /// Rules of both families.
        const RULE = Self::RULE_V4.bits() | Self::RULE_V6.bits();
        /// Everything this version of the monitor understands.
        const ALL = Self::LINK.bits()
            | Self::ADDRESS.bits()
            | Self::NEIGH.bits()
            | Self::ROUTE.bits()
            | Self::RULE.bits();
    }
}

impl Groups {
    /// The `RTNLGRP_*` numbers to join.
    fn rtnl_groups(self) -> Vec<u32> {
        let table = [
            (Groups::LINK, 1),       // RTNLGRP_LINK
            (Groups::NEIGH, 3),      // RTNLGRP_NEIGH
            (Groups::ADDRESS_V4, 5), // RTNLGRP_IPV4_IFADDR
            (Groups::ROUTE_V4, 7),   // RTNLGRP_IPV4_ROUTE
            (Groups::RULE_V4, 8),    // RTNLGRP_IPV4_RULE
            (Groups::ADDRESS_V6, 9), // RTNLGRP_IPV6_IFADDR
            (Groups::ROUTE_V6, 11),  // RTNLGRP_IPV6_ROUTE
            (Groups::RULE_V6, 19),   // RTNLGRP_IPV6_RULE
        ];
        table
            .into_iter()
            .filter(|(g, _)| self.contains(*g))
            .map(|(_, n)| n)
            .collect()
    }
}

/// How an object changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change<T> {
    /// It appeared.
    Added(T),
    /// It was already there and changed; the value is its new state.
    Changed(T),
    /// It went away; the value is its last state.
    Removed(T),
}

impl<T> Change<T> {
    /// The object, whatever happened to it.
    pub fn get(&self) -> &T {
        match self {
            Change::Added(t) | Change::Changed(t) | Change::Removed(t) => t,
        }
    }

    /// True for [`Change::Removed`].
    pub fn is_removed(&self) -> bool {
        matches!(self, Change::Removed(_))
    }
}

/// One kernel event.
///
/// Links report `Added` and `Changed` exactly (the kernel marks a new device), and so do
/// routes (a replaced route is `Changed`). Addresses, neighbours and FDB entries carry no such
/// mark: the monitor reports `Added` for an object it
/// has not seen before, `Changed` for one it has. Started with a snapshot
/// ([`MonitorOptions::snapshot`]) it has seen everything; without one, the first event for an
/// object that existed before the monitor is reported as `Added`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
// A `Link` is large, but events are built once and handed over: boxing it would cost every
// caller a dereference for no gain.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A link (`[LINK]`).
    Link(Change<Link>),
    /// An address (`[ADDR]`).
    Address(Change<Address>),
    /// A route, in any table (`[ROUTE]`).
    ///
    /// The kernel does not report every IPv4 route that goes away: when a link goes down (or
    /// is deleted) it flushes the IPv4 routes through it without a `Removed` event (IPv6
    /// routes are reported). A view of the routing table kept from these events must also
    /// listen to [`Groups::LINK`] and drop the routes whose next hops all use a link that went
    /// down, or [`resync`](Monitor::resync).
    Route(Change<Route>),
    /// A policy rule (`[RULE]`); rules are only added and removed.
    Rule(Change<Rule>),
    /// An ARP or NDP neighbour entry (`[NEIGH]`).
    Neighbour(Change<Neighbour>),
    /// A bridge or VXLAN FDB entry (`[NEIGH]` with `lladdr … dev … master/self`).
    Fdb(Change<FdbEntry>),
    /// A VXLAN device with `l2miss` found no FDB entry for `mac` (`[NEIGH]miss lladdr MAC dev
    /// DEV`): an agent answers it by adding the entry.
    L2Miss {
        /// The VXLAN device.
        link: IfIndex,
        /// The destination MAC it has no entry for.
        mac: MacAddr,
    },
    /// The kernel asks user space to resolve `address` (`[NEIGH]miss ADDR dev DEV`): a VXLAN
    /// device with `l3miss`, or any device whose neighbour table has `app_probes` above 0
    /// ([`Handle::set_neighbour_table`](crate::Handle::set_neighbour_table)). An agent answers
    /// it by adding the neighbour entry.
    L3Miss {
        /// The device.
        link: IfIndex,
        /// The IP address to resolve.
        address: IpAddr,
    },
    /// The end of a snapshot: every object that existed when it was taken has been reported.
    SnapshotDone,
    /// The kernel dropped events because the receive buffer was full. The caller's view may be
    /// stale: call [`Monitor::resync`] (or re-list what it tracks) and read on.
    Overrun,
}

/// How a [`Monitor`] starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorOptions {
    /// The groups to listen to.
    pub groups: Groups,
    /// Report the existing objects of those groups first, as `Added` events followed by
    /// [`Event::SnapshotDone`]. The monitor subscribes before it lists, so nothing that changes
    /// in between is lost (it may be reported twice, the later report being current).
    pub snapshot: bool,
    /// The socket's receive buffer in bytes. The kernel doubles it (for its bookkeeping); it is
    /// set with `SO_RCVBUFFORCE` where the process has `CAP_NET_ADMIN`, else with `SO_RCVBUF`,
    /// which caps it at `net.core.rmem_max`. `None` keeps the default.
    pub recv_buffer: Option<usize>,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            groups: Groups::ALL,
            snapshot: false,
            recv_buffer: None,
        }
    }
}

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
    ns: Option<NetNs>,
    buf: Vec<u8>,
    queue: VecDeque<Event>,
    seen: Seen,
    /// Shared with the [`MonitorStop`]s; made by the first [`Monitor::stopper`].
    stop: Option<Arc<StopShared>>,
}

/// What a [`MonitorStop`] sets: a flag that receiving calls check without a system call, and
/// an eventfd, polled beside the socket, that wakes a blocked reader.
#[derive(Debug)]
struct StopShared {
    stopped: AtomicBool,
    wake: EventFd,
}

/// Stops a [`Monitor`] from another thread, as closing the `done` channel of Go netlink's
/// `LinkSubscribe` does: a thread blocked in [`Monitor::recv`] (or iterating) wakes at once,
/// and from then on every receiving call returns [`Error::Stopped`] and the iterator ends.
/// Cheap to clone; `Send` and `Sync`.
///
/// ```no_run
/// use netplumb::monitor::{Groups, Monitor, MonitorOptions};
///
/// let mut monitor = Monitor::with_options(&MonitorOptions {
///     groups: Groups::NEIGH,
///     ..MonitorOptions::default()
/// })?;
/// let stop = monitor.stopper()?;
/// let agent = std::thread::spawn(move || {
///     for event in monitor {
///         println!("{event:?}"); // ends when stopped
///     }
/// });
/// // … later, from any thread:
/// stop.stop();
/// agent.join().unwrap();
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MonitorStop {
    shared: Arc<StopShared>,
}

impl MonitorStop {
    /// Stops the monitor. Calling it again, or after the monitor is gone, does nothing.
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        // Wakes a reader blocked in poll. The counter stays readable once written; a full
        // counter (after 2^64 - 2 stops) refuses the write, and is readable then anyway.
        let _ = self.shared.wake.write(1);
    }
}

/// The objects the monitor has reported, to tell `Added` from `Changed`.
#[derive(Default)]
struct Seen {
    addresses: HashSet<(IfIndex, IpAddr, u8)>,
    neighbours: HashSet<(IfIndex, IpAddr, bool)>,
    fdb: HashSet<FdbKey>,
}

/// What tells two FDB entries apart: device, MAC, VLAN, which table (self or master), and for
/// a VXLAN remote its address, port and VNIs.
type FdbKey = (
    IfIndex,
    MacAddr,
    Option<VlanId>,
    bool,
    Option<IpAddr>,
    Option<u16>,
    Option<Vni>,
    Option<Vni>,
);

impl Seen {
    /// Forgets every object of a link that went away (the kernel does not report them one by
    /// one).
    fn forget_link(&mut self, link: IfIndex) {
        self.addresses.retain(|k| k.0 != link);
        self.neighbours.retain(|k| k.0 != link);
        self.fdb.retain(|k| k.0 != link);
    }
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
        let socket = match &ns {
            Some(ns) => ns.run(|| subscribed_socket(options))??,
            None => subscribed_socket(options)?,
        };
        let mut mon = Monitor {
            socket,
            groups: options.groups,
            ns,
            buf: Vec::with_capacity(RECV_BUF),
            queue: VecDeque::new(),
            seen: Seen::default(),
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

    /// Lists the current objects of the monitor's groups and queues them as `Added` events,
    /// then [`Event::SnapshotDone`], ahead of any live event not yet read. Call it after an
    /// [`Event::Overrun`] to rebuild a view from scratch: the monitor forgets what it had seen.
    pub fn resync(&mut self) -> Result<()> {
        let handle = match &self.ns {
            Some(ns) => Handle::new_in(ns)?,
            None => Handle::new()?,
        };
        let mut events = Vec::new();
        self.seen = Seen::default();
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
                events.push(self.address_event(a, false));
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
        if self.groups.contains(Groups::NEIGH) {
            for proxy in [false, true] {
                let filter = NeighbourFilter {
                    proxy,
                    ..NeighbourFilter::default()
                };
                for n in handle.neighbours(&filter)? {
                    events.push(self.neighbour_event(n, false));
                }
            }
            for e in handle.fdb(&FdbFilter::default())? {
                events.push(self.fdb_event(e, false));
            }
        }
        events.push(Event::SnapshotDone);
        // Ahead of live events still queued: those are newer than nothing in the snapshot.
        for e in events.into_iter().rev() {
            self.queue.push_front(e);
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
            // Poll first: the descriptor may have been made non-blocking by an event loop.
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
                .recv(&mut self.buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT)
            {
                Ok(n) => break n,
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
        let buf = std::mem::take(&mut self.buf);
        let result = self.parse(&buf);
        self.buf = buf;
        result.map(|()| true)
    }

    fn parse(&mut self, datagram: &[u8]) -> Result<()> {
        let op = "receive events";
        for frame in wire::frames(datagram) {
            let frame = frame.map_err(|e| Error::malformed(op, e))?;
            if matches!(
                frame.ty,
                NLMSG_NOOP | NLMSG_ERROR | NLMSG_DONE | NLMSG_OVERRUN
            ) {
                continue;
            }
            if let Some(removed) = route_frame(frame.ty) {
                if let Some(r) =
                    route_from_bytes(frame.payload).map_err(|e| Error::malformed(op, e))?
                {
                    self.queue.push_back(Event::Route(if removed {
                        Change::Removed(r)
                    } else if frame.flags & wire::NLM_F_REPLACE != 0 {
                        Change::Changed(r)
                    } else {
                        Change::Added(r)
                    }));
                }
                continue;
            }
            let msg = wire::decode(&frame).map_err(|e| Error::malformed(op, e))?;
            if let Some(e) = self.event(msg)? {
                self.queue.push_back(e);
            }
        }
        Ok(())
    }

    fn event(&mut self, msg: RouteNetlinkMessage) -> Result<Option<Event>> {
        Ok(Some(match msg {
            // A bridge also reports its ports' STP and membership changes as link messages
            // of the bridge family, with only a few attributes (and an RTM_DELLINK when a port
            // leaves the bridge, though the link lives on): not link events.
            RouteNetlinkMessage::NewLink(m) | RouteNetlinkMessage::DelLink(m)
                if m.header.interface_family == AddressFamily::Bridge =>
            {
                return Ok(None)
            }
            RouteNetlinkMessage::NewLink(m) => {
                // The kernel marks a newly registered device with an all-ones change mask.
                let new = m.header.change_mask.bits() == u32::MAX;
                let l = link_from_message(m)?;
                Event::Link(if new {
                    Change::Added(l)
                } else {
                    Change::Changed(l)
                })
            }
            RouteNetlinkMessage::DelLink(m) => {
                let l = link_from_message(m)?;
                self.seen.forget_link(l.index);
                Event::Link(Change::Removed(l))
            }
            RouteNetlinkMessage::NewAddress(m) => {
                self.address_event(address_from_message(m)?, false)
            }
            RouteNetlinkMessage::DelAddress(m) => {
                self.address_event(address_from_message(m)?, true)
            }
            RouteNetlinkMessage::NewNeighbour(m) => return self.neigh_or_fdb(m, false),
            RouteNetlinkMessage::DelNeighbour(m) => return self.neigh_or_fdb(m, true),
            RouteNetlinkMessage::GetNeighbour(m) => return Ok(miss_from_message(m)),
            RouteNetlinkMessage::NewRule(m) => match rule_from_message(m) {
                Some(r) => Event::Rule(Change::Added(r)),
                None => return Ok(None),
            },
            RouteNetlinkMessage::DelRule(m) => match rule_from_message(m) {
                Some(r) => Event::Rule(Change::Removed(r)),
                None => return Ok(None),
            },
            _ => return Ok(None),
        }))
    }

    fn neigh_or_fdb(&mut self, m: NeighbourMessage, removed: bool) -> Result<Option<Event>> {
        if m.header.family == AddressFamily::Bridge {
            Ok(fdb_from_message(m)?.map(|e| self.fdb_event(e, removed)))
        } else {
            Ok(neighbour_from_message(m)?.map(|n| self.neighbour_event(n, removed)))
        }
    }

    fn address_event(&mut self, a: Address, removed: bool) -> Event {
        let key = (a.index, a.address.ip(), a.address.prefix());
        Event::Address(classify(&mut self.seen.addresses, key, a, removed))
    }

    fn neighbour_event(&mut self, n: Neighbour, removed: bool) -> Event {
        let key = (n.link, n.address, n.is_proxy());
        Event::Neighbour(classify(&mut self.seen.neighbours, key, n, removed))
    }

    fn fdb_event(&mut self, e: FdbEntry, removed: bool) -> Event {
        let key = (
            e.link,
            e.mac,
            e.vlan,
            e.flags.contains(NeighbourFlags::MASTER),
            e.dst,
            e.port,
            e.vni,
            e.src_vni,
        );
        Event::Fdb(classify(&mut self.seen.fdb, key, e, removed))
    }
}

/// `Some(removed)` for a route notification (`RTM_NEWROUTE` 24, `RTM_DELROUTE` 25).
fn route_frame(ty: u16) -> Option<bool> {
    match ty {
        24 => Some(false),
        25 => Some(true),
        _ => None,
    }
}

/// `Added` for an unseen key, `Changed` for a seen one, `Removed` (and forgotten) on removal.
fn classify<K: std::hash::Hash + Eq, T>(
    seen: &mut HashSet<K>,
    key: K,
    value: T,
    removed: bool,
) -> Change<T> {
    if removed {
        seen.remove(&key);
        Change::Removed(value)
    } else if seen.insert(key) {
        Change::Added(value)
    } else {
        Change::Changed(value)
    }
}

/// An `RTM_GETNEIGH` from the kernel: an L3 miss or application probe names an IP address
/// (`NDA_DST`); a VXLAN L2 miss names only a MAC (`NDA_LLADDR`). The family does not tell them
/// apart: kernel 6.18 sends the L2 miss with `AF_INET`, not `AF_BRIDGE`.
fn miss_from_message(m: NeighbourMessage) -> Option<Event> {
    let link = IfIndex::new(m.header.ifindex)?;
    let mut mac = None;
    for attr in m.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                return Some(Event::L3Miss {
                    link,
                    address: a.into(),
                })
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                return Some(Event::L3Miss {
                    link,
                    address: a.into(),
                })
            }
            NeighbourAttribute::LinkLayerAddress(l) => mac = MacAddr::from_slice(&l).ok(),
            _ => {}
        }
    }
    mac.map(|mac| Event::L2Miss { link, mac })
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
mod tests {
    use super::*;
    use netlink_packet_route::neighbour::NeighbourHeader;

    #[test]
    fn groups_map_to_rtnetlink_numbers() {
        assert_eq!(Groups::ALL.rtnl_groups(), vec![1, 3, 5, 7, 8, 9, 11, 19]);
        assert_eq!(Groups::ADDRESS_V6.rtnl_groups(), vec![9]);
    }

    #[test]
    fn misses_are_told_apart_by_their_attributes() {
        let mut m = NeighbourMessage::default();
        m.header = NeighbourHeader {
            family: AddressFamily::Bridge,
            ifindex: 5,
            ..NeighbourHeader::default()
        };
        m.attributes
            .push(NeighbourAttribute::LinkLayerAddress(vec![2, 0, 0, 0, 0, 9]));
        assert_eq!(
            miss_from_message(m.clone()),
            Some(Event::L2Miss {
                link: IfIndex::new(5).unwrap(),
                mac: MacAddr([2, 0, 0, 0, 0, 9])
            })
        );
        // As 6.18 sends it: the same, in the IPv4 family.
        m.header.family = AddressFamily::Inet;
        assert!(matches!(miss_from_message(m), Some(Event::L2Miss { .. })));
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.ifindex = 5;
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
                "10.5.3.3".parse().unwrap(),
            )));
        assert_eq!(
            miss_from_message(m),
            Some(Event::L3Miss {
                link: IfIndex::new(5).unwrap(),
                address: "10.5.3.3".parse().unwrap()
            })
        );
    }

    #[test]
    fn first_sighting_is_added_then_changed_then_removed() {
        let mut seen = HashSet::new();
        assert_eq!(classify(&mut seen, 1, "a", false), Change::Added("a"));
        assert_eq!(classify(&mut seen, 1, "b", false), Change::Changed("b"));
        assert_eq!(classify(&mut seen, 1, "c", true), Change::Removed("c"));
        assert_eq!(classify(&mut seen, 1, "d", false), Change::Added("d"));
    }
}
