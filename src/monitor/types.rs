//! Monitor types: the groups to listen to, the events, and the options.

use std::net::IpAddr;

use crate::addr::Address;
use crate::fdb::FdbEntry;
use crate::link::Link;
use crate::neighbour::Neighbour;
use crate::netconf::Netconf;
use crate::nexthop::Nexthop;
use crate::nsid::Nsid;
use crate::route::Route;
use crate::rule::Rule;
use crate::{IfIndex, MacAddr};

bitflags::bitflags! {
    /// The kernel's multicast groups a [`Monitor`](crate::monitor::Monitor) listens to (`ip monitor link address …`).
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
        /// Nexthop objects and groups (`RTNLGRP_NEXTHOP`; Linux 5.3 and later).
        const NEXTHOP = 1 << 8;
        /// Netconf records of both families (`RTNLGRP_IPV4_NETCONF`, `RTNLGRP_IPV6_NETCONF`):
        /// forwarding, rp_filter, proxy_neigh … changing on a device or for all of them.
        const NETCONF = 1 << 9;
        /// Namespace ids given or taken (`RTNLGRP_NSID`).
        const NSID = 1 << 10;
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
            | Self::RULE.bits()
            | Self::NEXTHOP.bits()
            | Self::NETCONF.bits()
            | Self::NSID.bits();
    }
}

impl Groups {
    /// The `RTNLGRP_*` numbers to join.
    pub(super) fn rtnl_groups(self) -> Vec<u32> {
        let table = [
            (Groups::LINK, libc::RTNLGRP_LINK),
            (Groups::NEIGH, libc::RTNLGRP_NEIGH),
            (Groups::ADDRESS_V4, libc::RTNLGRP_IPV4_IFADDR),
            (Groups::ROUTE_V4, libc::RTNLGRP_IPV4_ROUTE),
            (Groups::RULE_V4, libc::RTNLGRP_IPV4_RULE),
            (Groups::ADDRESS_V6, libc::RTNLGRP_IPV6_IFADDR),
            (Groups::ROUTE_V6, libc::RTNLGRP_IPV6_ROUTE),
            (Groups::RULE_V6, libc::RTNLGRP_IPV6_RULE),
            (Groups::NEXTHOP, libc::RTNLGRP_NEXTHOP),
            (Groups::NETCONF, libc::RTNLGRP_IPV4_NETCONF),
            (Groups::NETCONF, libc::RTNLGRP_IPV6_NETCONF),
            (Groups::NSID, libc::RTNLGRP_NSID),
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

    /// True for [`Change::Removed`](crate::monitor::Change::Removed).
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
/// ([`MonitorOptions::snapshot`](crate::monitor::MonitorOptions::snapshot)) it has seen everything; without one, the first event for an
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
    /// down, or [`resync`](crate::monitor::Monitor::resync).
    Route(Change<Route>),
    /// A policy rule (`[RULE]`); rules are only added and removed.
    Rule(Change<Rule>),
    /// A nexthop object or group (`[NEXTHOP]`). The kernel reports a replaced object as new
    /// again; it is `Changed` when its id was seen before. Deleting a nexthop reports it and
    /// any group it leaves empty; but when a device goes away the kernel removes its
    /// nexthops (and shrinks the groups holding them) without a notification, as it does
    /// with IPv4 routes: follow [`Event::Link`] removals with a listing or a
    /// [`resync`](crate::monitor::Monitor::resync).
    Nexthop(Change<Nexthop>),
    /// A netconf record (`[NETCONF]`): the kernel reports the new values of a device's (or
    /// `all`'s, `default`'s) settings when one changes (`Changed`), a device's record as
    /// `Added` when the device appears and `Removed` when it goes.
    Netconf(Change<Netconf>),
    /// A namespace id given to another namespace (`Added`) or taken back when it went
    /// (`Removed`) (`[NSID]`).
    Nsid(Change<Nsid>),
    /// An ARP or NDP neighbour entry (`[NEIGH]`).
    Neighbour(Change<Neighbour>),
    /// A bridge or VXLAN FDB entry (`[NEIGH]` with `lladdr … dev … master/self`). Each remote
    /// of a VXLAN MAC is an entry of its own. Replacing a MAC's remote (`bridge fdb replace MAC
    /// dev vx0 dst NEW`) is reported as the new remote `Added`: the kernel says nothing of the
    /// remote it overwrote, so a listing shows it gone while the monitor was never told.
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
    /// stale: call [`Monitor::resync`](crate::monitor::Monitor::resync) (or re-list what it tracks) and read on.
    Overrun,
    /// A notification from the kernel that netplumb could not decode (`reason` says why). The
    /// monitor reads on: one odd message never ends the stream. A view kept from events may
    /// have missed what it said; [`resync`](crate::monitor::Monitor::resync) if that matters.
    Malformed {
        /// What was wrong with the message.
        reason: String,
    },
}

/// How a [`Monitor`](crate::monitor::Monitor) starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorOptions {
    /// The groups to listen to.
    pub groups: Groups,
    /// Report the existing objects of those groups first, as `Added` events followed by
    /// [`Event::SnapshotDone`](crate::monitor::Event::SnapshotDone). The monitor subscribes before it lists, so nothing that changes
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
