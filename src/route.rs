//! Routes (`ip route`): add, replace, append, delete, list and look up (`ip route get`), IPv4
//! and IPv6, in any table, with ECMP next hops, `via` gateways of the other family, and
//! metrics.
//!
//! Creating a route takes a [`NewRoute`]; dumps and lookups return [`Route`]; deleting takes
//! a [`RouteKey`] that names the route the way `ip route del` does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netlink_packet_core::NLM_F_APPEND;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags as NlRouteFlags, RouteHeader, RouteMessage,
    RouteMetric, RouteNextHop as NlNextHop, RouteNextHopFlags, RouteProtocol as NlProtocol,
    RouteScope as NlScope, RouteType as NlType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::batch::Batch;
use crate::link::LinkRef;
use crate::lpm::{FibChange, FibRoute, IpKey};
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Error, Handle, IfIndex, IpFamily, Result, TableId};

/// `RTM_NEWROUTE`, the type of every route in a dump or lookup reply.
const RTM_NEWROUTE: u16 = 24;

/// What a route does with a packet (`ip route add TYPE PREFIX …`; `rtm_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteType {
    /// No type (`RTN_UNSPEC`); in a [`RouteKey`], any type.
    Unspec,
    /// A gateway or direct route (`unicast`, the default).
    #[default]
    Unicast,
    /// A local address of this host (`local`; the `local` table is full of them).
    Local,
    /// A broadcast address, sent and accepted as broadcast (`broadcast`).
    Broadcast,
    /// A local anycast address (`anycast`).
    Anycast,
    /// A multicast route (`multicast`).
    Multicast,
    /// Silently discard (`blackhole`).
    Blackhole,
    /// Discard with ICMP "host unreachable" (`unreachable`).
    Unreachable,
    /// Discard with ICMP "administratively prohibited" (`prohibit`).
    Prohibit,
    /// Continue the lookup in the next policy rule (`throw`).
    Throw,
    /// Network address translation (`nat`, obsolete).
    Nat,
    /// A value this version does not name.
    Other(u8),
}

impl From<u8> for RouteType {
    fn from(v: u8) -> Self {
        match v {
            0 => RouteType::Unspec,
            1 => RouteType::Unicast,
            2 => RouteType::Local,
            3 => RouteType::Broadcast,
            4 => RouteType::Anycast,
            5 => RouteType::Multicast,
            6 => RouteType::Blackhole,
            7 => RouteType::Unreachable,
            8 => RouteType::Prohibit,
            9 => RouteType::Throw,
            10 => RouteType::Nat,
            v => RouteType::Other(v),
        }
    }
}

impl From<RouteType> for u8 {
    fn from(t: RouteType) -> u8 {
        match t {
            RouteType::Unspec => 0,
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Broadcast => 3,
            RouteType::Anycast => 4,
            RouteType::Multicast => 5,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
            RouteType::Nat => 10,
            RouteType::Other(v) => v,
        }
    }
}

/// How far a route's destination is (`ip route … scope SCOPE`; `rtm_scope`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteScope {
    /// Reached through a gateway (`global`).
    #[default]
    Universe,
    /// Within the site (`site`).
    Site,
    /// Directly attached (`link`).
    Link,
    /// This host (`host`).
    Host,
    /// No destination (`nowhere`).
    Nowhere,
    /// A value this version does not name.
    Other(u8),
}

impl From<u8> for RouteScope {
    fn from(v: u8) -> Self {
        match v {
            0 => RouteScope::Universe,
            200 => RouteScope::Site,
            253 => RouteScope::Link,
            254 => RouteScope::Host,
            255 => RouteScope::Nowhere,
            v => RouteScope::Other(v),
        }
    }
}

impl From<RouteScope> for u8 {
    fn from(s: RouteScope) -> u8 {
        match s {
            RouteScope::Universe => 0,
            RouteScope::Site => 200,
            RouteScope::Link => 253,
            RouteScope::Host => 254,
            RouteScope::Nowhere => 255,
            RouteScope::Other(v) => v,
        }
    }
}

/// Who installed a route (`ip route … proto PROTO`; `rtm_protocol`). Any number is valid; the
/// constants name those of `/etc/iproute2/rt_protos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteProtocol(pub u8);

impl RouteProtocol {
    /// Unknown (`unspec`); in a [`RouteKey`] or filter, any protocol.
    pub const UNSPEC: RouteProtocol = RouteProtocol(0);
    /// Installed by an ICMP redirect (`redirect`).
    pub const REDIRECT: RouteProtocol = RouteProtocol(1);
    /// Installed by the kernel (`kernel`), e.g. for a local address's prefix.
    pub const KERNEL: RouteProtocol = RouteProtocol(2);
    /// Installed during boot (`boot`): what `ip route add` uses by default.
    pub const BOOT: RouteProtocol = RouteProtocol(3);
    /// Installed by the administrator (`static`).
    pub const STATIC: RouteProtocol = RouteProtocol(4);
    /// GateD (`gated`).
    pub const GATED: RouteProtocol = RouteProtocol(8);
    /// IPv6 router advertisements (`ra`).
    pub const RA: RouteProtocol = RouteProtocol(9);
    /// Merit MRT (`mrt`).
    pub const MRT: RouteProtocol = RouteProtocol(10);
    /// Zebra / Quagga / FRR (`zebra`).
    pub const ZEBRA: RouteProtocol = RouteProtocol(11);
    /// BIRD (`bird`).
    pub const BIRD: RouteProtocol = RouteProtocol(12);
    /// DECnet routing daemon (`dnrouted`).
    pub const DNROUTED: RouteProtocol = RouteProtocol(13);
    /// XORP (`xorp`).
    pub const XORP: RouteProtocol = RouteProtocol(14);
    /// Netsukuku (`ntk`).
    pub const NTK: RouteProtocol = RouteProtocol(15);
    /// DHCP client (`dhcp`).
    pub const DHCP: RouteProtocol = RouteProtocol(16);
    /// Multicast daemon (`mrouted`).
    pub const MROUTED: RouteProtocol = RouteProtocol(17);
    /// Keepalived (`keepalived`).
    pub const KEEPALIVED: RouteProtocol = RouteProtocol(18);
    /// Babel (`babel`).
    pub const BABEL: RouteProtocol = RouteProtocol(42);
    /// Open/R (`openr`).
    pub const OPENR: RouteProtocol = RouteProtocol(99);
    /// BGP, as FRR marks its routes (`bgp`).
    pub const BGP: RouteProtocol = RouteProtocol(186);
    /// IS-IS (`isis`).
    pub const ISIS: RouteProtocol = RouteProtocol(187);
    /// OSPF (`ospf`).
    pub const OSPF: RouteProtocol = RouteProtocol(188);
    /// RIP (`rip`).
    pub const RIP: RouteProtocol = RouteProtocol(189);
    /// EIGRP (`eigrp`).
    pub const EIGRP: RouteProtocol = RouteProtocol(192);
}

/// The names `/etc/iproute2/rt_protos` gives, as `ip route` prints them.
const PROTOCOL_NAMES: [(RouteProtocol, &str); 23] = [
    (RouteProtocol::UNSPEC, "unspec"),
    (RouteProtocol::REDIRECT, "redirect"),
    (RouteProtocol::KERNEL, "kernel"),
    (RouteProtocol::BOOT, "boot"),
    (RouteProtocol::STATIC, "static"),
    (RouteProtocol::GATED, "gated"),
    (RouteProtocol::RA, "ra"),
    (RouteProtocol::MRT, "mrt"),
    (RouteProtocol::ZEBRA, "zebra"),
    (RouteProtocol::BIRD, "bird"),
    (RouteProtocol::DNROUTED, "dnrouted"),
    (RouteProtocol::XORP, "xorp"),
    (RouteProtocol::NTK, "ntk"),
    (RouteProtocol::DHCP, "dhcp"),
    (RouteProtocol::MROUTED, "mrouted"),
    (RouteProtocol::KEEPALIVED, "keepalived"),
    (RouteProtocol::BABEL, "babel"),
    (RouteProtocol::OPENR, "openr"),
    (RouteProtocol::BGP, "bgp"),
    (RouteProtocol::ISIS, "isis"),
    (RouteProtocol::OSPF, "ospf"),
    (RouteProtocol::RIP, "rip"),
    (RouteProtocol::EIGRP, "eigrp"),
];

impl std::fmt::Display for RouteProtocol {
    /// The protocol's name as `ip route` prints it (`bird`, `static`, …), or its number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match PROTOCOL_NAMES.iter().find(|(p, _)| p == self) {
            Some((_, name)) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::str::FromStr for RouteProtocol {
    type Err = Error;

    /// Parses what `ip route … proto PROTO` accepts: a name of `rt_protos` or a number 0–255.
    fn from_str(s: &str) -> Result<RouteProtocol> {
        if let Some((p, _)) = PROTOCOL_NAMES.iter().find(|(_, name)| *name == s) {
            return Ok(*p);
        }
        s.parse::<u8>().map(RouteProtocol).map_err(|_| {
            Error::invalid(
                "protocol",
                format!("{s:?} is neither a routing protocol name of rt_protos nor 0-255"),
            )
        })
    }
}

impl Default for RouteProtocol {
    /// [`RouteProtocol::BOOT`], as `ip route add` sends.
    fn default() -> Self {
        RouteProtocol::BOOT
    }
}

bitflags::bitflags! {
    /// Route flags (`rtm_flags`: `RTNH_F_*` of a single-path route and `RTM_F_*`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct RouteFlags: u32 {
        /// The next hop is dead (`dead`).
        const DEAD = 0x1;
        /// Recursive gateway lookup (`pervasive`).
        const PERVASIVE = 0x2;
        /// The gateway is on the link even if no prefix says so (`onlink`).
        const ONLINK = 0x4;
        /// Offloaded to hardware (`offload`).
        const OFFLOAD = 0x8;
        /// The next hop's carrier is down (`linkdown`).
        const LINKDOWN = 0x10;
        /// The gateway is not resolved (`unresolved`).
        const UNRESOLVED = 0x20;
        /// Trapped by hardware (`trap`).
        const TRAP = 0x40;
        /// Notify the user of changes.
        const NOTIFY = 0x100;
        /// A cached (cloned) route, as `ip route show cache` lists.
        const CLONED = 0x200;
        /// Multipath equalizer (unused).
        const EQUALIZE = 0x400;
        /// A prefix address's route.
        const PREFIX = 0x800;
        /// The reply of a lookup names the table that matched.
        const LOOKUP_TABLE = 0x1000;
        /// The reply of a lookup is the FIB entry, not the resolved route.
        const FIB_MATCH = 0x2000;
        /// Hardware offload failed.
        const OFFLOAD_FAILED = 0x4000;
        // Flags this version does not name are kept, not dropped.
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// Flags of one next hop (`RTNH_F_*`, as in `ip route`'s `onlink`, `linkdown`, `dead`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct NextHopFlags: u8 {
        /// Dead.
        const DEAD = 0x1;
        /// Recursive gateway lookup.
        const PERVASIVE = 0x2;
        /// The gateway is on the link.
        const ONLINK = 0x4;
        /// Offloaded to hardware.
        const OFFLOAD = 0x8;
        /// Carrier down.
        const LINKDOWN = 0x10;
        /// Gateway unresolved.
        const UNRESOLVED = 0x20;
        /// Trapped by hardware.
        const TRAP = 0x40;
        // Flags this version does not name are kept, not dropped.
        const _ = !0;
    }
}

/// Per-route metrics (`ip route … mtu 1400 advmss 1360 …`; `RTA_METRICS`). `None` leaves
/// one unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RouteMetrics {
    /// Metrics locked against changes by path MTU discovery and the like (`lock`), as a bit
    /// set of `1 << RTAX_*`.
    pub lock: Option<u32>,
    /// Path MTU (`mtu`).
    pub mtu: Option<u32>,
    /// TCP window clamp (`window`).
    pub window: Option<u32>,
    /// Initial round-trip time estimate (`RTAX_RTT`), in the kernel's unit of 1/8 ms:
    /// iproute2's `rtt 10ms` is 80 here.
    pub rtt: Option<u32>,
    /// Initial round-trip time variance (`RTAX_RTTVAR`), in the kernel's unit of 1/4 ms:
    /// iproute2's `rttvar 5ms` is 20 here.
    pub rttvar: Option<u32>,
    /// Initial slow-start threshold (`ssthresh`).
    pub ssthresh: Option<u32>,
    /// Congestion window clamp (`cwnd`).
    pub cwnd: Option<u32>,
    /// Advertised TCP maximum segment size (`advmss`).
    pub advmss: Option<u32>,
    /// Maximal reordering (`reordering`).
    pub reordering: Option<u32>,
    /// Hop limit / TTL (`hoplimit`).
    pub hoplimit: Option<u32>,
    /// Initial congestion window (`initcwnd`).
    pub initcwnd: Option<u32>,
    /// Initial receive window (`initrwnd`).
    pub initrwnd: Option<u32>,
    /// Features (`features ecn`).
    pub features: Option<u32>,
    /// Minimal retransmission timeout (`rto_min`).
    pub rto_min: Option<u32>,
    /// Quick ACK (`quickack`).
    pub quickack: Option<u32>,
    /// Congestion control algorithm (`congctl`).
    pub congctl: Option<String>,
}

impl RouteMetrics {
    fn is_empty(&self) -> bool {
        *self == RouteMetrics::default()
    }

    /// The `RTAX_*` number and value of each numeric metric that is set.
    fn numeric(&self) -> [(u16, Option<u32>); 15] {
        [
            (1, self.lock),
            (2, self.mtu),
            (3, self.window),
            (4, self.rtt),
            (5, self.rttvar),
            (6, self.ssthresh),
            (7, self.cwnd),
            (8, self.advmss),
            (9, self.reordering),
            (10, self.hoplimit),
            (11, self.initcwnd),
            (12, self.features),
            (13, self.rto_min),
            (14, self.initrwnd),
            (15, self.quickack),
        ]
    }

    fn set(&mut self, ty: u16, v: u32) {
        let slot = match ty {
            1 => &mut self.lock,
            2 => &mut self.mtu,
            3 => &mut self.window,
            4 => &mut self.rtt,
            5 => &mut self.rttvar,
            6 => &mut self.ssthresh,
            7 => &mut self.cwnd,
            8 => &mut self.advmss,
            9 => &mut self.reordering,
            10 => &mut self.hoplimit,
            11 => &mut self.initcwnd,
            12 => &mut self.features,
            13 => &mut self.rto_min,
            14 => &mut self.initrwnd,
            15 => &mut self.quickack,
            _ => return,
        };
        *slot = Some(v);
    }
}

/// One next hop of a route to create: a gateway, a device, or both (`via GW dev DEV`, or
/// `nexthop via GW dev DEV weight W` of an ECMP route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop<'a> {
    /// The gateway (`via ADDRESS`), of the route's own family.
    pub gateway: Option<IpAddr>,
    /// A gateway of the other family for an IPv4 route (`via inet6 ADDRESS`, sent as
    /// `RTA_VIA`): an IPv4 route through an IPv6 next hop. The kernel resolves the IPv6
    /// neighbour. Exclusive with `gateway`.
    pub via: Option<IpAddr>,
    /// The output device (`dev NAME`).
    pub dev: Option<LinkRef<'a>>,
    /// The ECMP weight, 1 to 256 (`weight W`; the kernel stores `W - 1`).
    pub weight: u16,
    /// Treat the gateway as directly on the link even without a matching prefix (`onlink`).
    pub onlink: bool,
}

impl Default for NextHop<'_> {
    fn default() -> Self {
        NextHop {
            gateway: None,
            via: None,
            dev: None,
            weight: 1,
            onlink: false,
        }
    }
}

impl<'a> NextHop<'a> {
    /// A next hop through a gateway (`via GW`).
    pub fn gateway(gateway: IpAddr) -> Self {
        NextHop {
            gateway: Some(gateway),
            ..NextHop::default()
        }
    }

    /// A next hop straight out of a device (`dev DEV`).
    pub fn dev(dev: impl Into<LinkRef<'a>>) -> Self {
        NextHop {
            dev: Some(dev.into()),
            ..NextHop::default()
        }
    }
}

/// A route to add, replace or append (`ip route add [TYPE] PREFIX …`).
///
/// ```
/// use netplumb::route::{NewRoute, NextHop};
/// use netplumb::TableId;
///
/// // ip route add 10.1.0.0/16 via 10.0.0.2 table 1000
/// let r = NewRoute {
///     table: TableId::new(1000),
///     ..NewRoute::via("10.1.0.0/16".parse()?, "10.0.0.2".parse()?)?
/// };
/// // ip route add 10.2.0.0/16 nexthop via 10.0.0.2 weight 1 nexthop via 10.0.1.2 weight 3
/// let ecmp = NewRoute {
///     next_hops: vec![
///         NextHop::gateway("10.0.0.2".parse()?),
///         NextHop { weight: 3, ..NextHop::gateway("10.0.1.2".parse()?) },
///     ],
///     ..NewRoute::new("10.2.0.0/16".parse()?)?
/// };
/// // Host bits are refused: 10.0.0.1/8 is not a prefix.
/// assert!(NewRoute::new("10.0.0.1/8".parse()?).is_err());
/// # drop((r, ecmp));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoute<'a> {
    /// The destination prefix, without host bits (`10.1.0.0/16`, `default` is `0.0.0.0/0`).
    pub destination: IpNetwork,
    /// The table (`table ID`); [`TableId::MAIN`] by default.
    pub table: TableId,
    /// The route type (`unicast`, `blackhole`, …).
    pub kind: RouteType,
    /// The scope; when `None`, iproute2's choice: `host` for local routes, `link` for
    /// broadcast, multicast, anycast and device-only unicast routes, `global` otherwise.
    pub scope: Option<RouteScope>,
    /// Who installs the route (`proto`); [`RouteProtocol::BOOT`] by default, like `ip`.
    pub protocol: RouteProtocol,
    /// The metric / priority (`metric N`); lower wins.
    pub priority: Option<u32>,
    /// The source address preferred for packets sent along the route (`src ADDRESS`).
    pub preferred_source: Option<IpAddr>,
    /// The next hops. A unicast route needs at least one; more than one (or one with a weight
    /// other than 1) makes an ECMP multipath route (`nexthop … nexthop …`). Blackhole,
    /// unreachable, prohibit and throw routes have none.
    pub next_hops: Vec<NextHop<'a>>,
    /// Metrics (`mtu`, `advmss`, …).
    pub metrics: RouteMetrics,
}

impl<'a> NewRoute<'a> {
    /// A unicast route to `destination` in the main table, without next hops yet. Refuses a
    /// prefix with host bits set.
    pub fn new(destination: IpNetwork) -> Result<NewRoute<'a>> {
        check_prefix("destination", destination)?;
        Ok(NewRoute {
            destination,
            table: TableId::MAIN,
            kind: RouteType::Unicast,
            scope: None,
            protocol: RouteProtocol::BOOT,
            priority: None,
            preferred_source: None,
            next_hops: Vec::new(),
            metrics: RouteMetrics::default(),
        })
    }

    /// A route to `destination` through `gateway` (`ip route add PREFIX via GW`).
    pub fn via(destination: IpNetwork, gateway: IpAddr) -> Result<NewRoute<'a>> {
        Ok(NewRoute {
            next_hops: vec![NextHop::gateway(gateway)],
            ..NewRoute::new(destination)?
        })
    }

    /// A route to `destination` through `gateway` out of `dev` (`ip route add PREFIX via GW dev
    /// DEV`); set `next_hops[0].onlink` for a gateway outside the device's prefixes.
    pub fn via_dev(
        destination: IpNetwork,
        gateway: IpAddr,
        dev: impl Into<LinkRef<'a>>,
    ) -> Result<NewRoute<'a>> {
        Ok(NewRoute {
            next_hops: vec![NextHop {
                gateway: Some(gateway),
                dev: Some(dev.into()),
                ..NextHop::default()
            }],
            ..NewRoute::new(destination)?
        })
    }

    /// A route to `destination` straight out of `dev` (`ip route add PREFIX dev DEV`).
    pub fn dev(destination: IpNetwork, dev: impl Into<LinkRef<'a>>) -> Result<NewRoute<'a>> {
        Ok(NewRoute {
            next_hops: vec![NextHop::dev(dev)],
            ..NewRoute::new(destination)?
        })
    }

    /// A route of a type without next hops, such as `blackhole` or `unreachable`
    /// (`ip route add blackhole PREFIX`). As with iproute2, `local`, `broadcast`, `anycast`
    /// and `nat` routes go to the `local` table unless another is set.
    pub fn of_kind(kind: RouteType, destination: IpNetwork) -> Result<NewRoute<'a>> {
        let table = match kind {
            RouteType::Local | RouteType::Broadcast | RouteType::Anycast | RouteType::Nat => {
                TableId::LOCAL
            }
            _ => TableId::MAIN,
        };
        Ok(NewRoute {
            kind,
            table,
            ..NewRoute::new(destination)?
        })
    }
}

/// Names a route to delete, as `ip route del PREFIX [table T] [metric M] [via GW] [dev D]`
/// does: fields left `None` match any value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteKey<'a> {
    /// The destination prefix.
    pub destination: IpNetwork,
    /// The table.
    pub table: TableId,
    /// The type, when it must match.
    pub kind: Option<RouteType>,
    /// The protocol, when it must match.
    pub protocol: Option<RouteProtocol>,
    /// The metric, when it must match (IPv6 routes of several metrics are distinct).
    pub priority: Option<u32>,
    /// The gateway, when it must match.
    pub gateway: Option<IpAddr>,
    /// The output device, when it must match.
    pub dev: Option<LinkRef<'a>>,
    /// The type of service (`tos`); IPv4 routes are told apart by it, so it must be the
    /// route's (0 for most).
    pub tos: u8,
    /// The source prefix of an IPv6 source-specific route (`from PREFIX`).
    pub source: Option<IpNetwork>,
}

impl<'a> RouteKey<'a> {
    /// The route(s) to `destination` in the main table.
    pub fn new(destination: IpNetwork) -> RouteKey<'a> {
        RouteKey {
            destination,
            table: TableId::MAIN,
            kind: None,
            protocol: None,
            priority: None,
            gateway: None,
            dev: None,
            tos: 0,
            source: None,
        }
    }
}

impl<'a> From<&NewRoute<'a>> for RouteKey<'a> {
    /// The key of a route as it was created: destination, table, type, metric, and the
    /// gateway and device of a single next hop.
    fn from(r: &NewRoute<'a>) -> Self {
        let single = match r.next_hops.as_slice() {
            [hop] => Some(*hop),
            _ => None,
        };
        RouteKey {
            destination: r.destination,
            table: r.table,
            kind: Some(r.kind),
            protocol: None,
            priority: r.priority,
            gateway: single.and_then(|h| h.gateway),
            dev: single.and_then(|h| h.dev),
            tos: 0,
            source: None,
        }
    }
}

impl<'a> From<&'a Route> for RouteKey<'a> {
    /// The key of a listed route: destination, source, table, type, protocol, tos and metric.
    fn from(r: &'a Route) -> Self {
        RouteKey {
            destination: r.destination,
            table: r.table,
            kind: Some(r.kind),
            protocol: Some(r.protocol),
            priority: r.priority,
            gateway: None,
            dev: None,
            tos: r.tos,
            source: r.source,
        }
    }
}

/// One next hop of a listed route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteNextHop {
    /// The gateway, of the route's family (`via`).
    pub gateway: Option<IpAddr>,
    /// A gateway of the other family (`RTA_VIA`, `via inet6 …`).
    pub via: Option<IpAddr>,
    /// The output device.
    pub dev: Option<IfIndex>,
    /// The ECMP weight (1 for a single-path route).
    pub weight: u16,
    /// Flags (`onlink`, `linkdown`, `dead`).
    pub flags: NextHopFlags,
}

/// A route as the kernel reports it (`ip -d route show`, `ip route get`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The family.
    pub family: IpFamily,
    /// The destination prefix (for a lookup without `fibmatch`, the looked-up address).
    pub destination: IpNetwork,
    /// The source prefix of an IPv6 source-specific route (`from PREFIX`), or the source of
    /// a lookup.
    pub source: Option<IpNetwork>,
    /// The table; ids above 255 are read from `RTA_TABLE`.
    pub table: TableId,
    /// The type.
    pub kind: RouteType,
    /// The scope.
    pub scope: RouteScope,
    /// Who installed it.
    pub protocol: RouteProtocol,
    /// The metric (`metric`).
    pub priority: Option<u32>,
    /// The preferred source address (`src`).
    pub preferred_source: Option<IpAddr>,
    /// The type of service / DSCP byte (`tos`).
    pub tos: u8,
    /// Flags; [`RouteFlags::CLONED`] marks a cached route.
    pub flags: RouteFlags,
    /// The next hops: one for a single-path route with a gateway or device, several for
    /// ECMP, none for blackhole and similar routes.
    pub next_hops: Vec<RouteNextHop>,
    /// Metrics.
    pub metrics: RouteMetrics,
    /// The input interface of a lookup made with one (`iif`).
    pub iif: Option<IfIndex>,
    /// The firewall mark of a lookup (`mark`).
    pub mark: Option<u32>,
    /// The id of a nexthop object the route uses (`nhid`).
    pub nexthop_id: Option<u32>,
}

impl Route {
    /// The gateway of the first next hop, if any.
    pub fn gateway(&self) -> Option<IpAddr> {
        self.next_hops.first().and_then(|h| h.gateway)
    }

    /// The device of the first next hop, if any.
    pub fn dev(&self) -> Option<IfIndex> {
        self.next_hops.first().and_then(|h| h.dev)
    }
}

/// Which routes [`Handle::routes`] returns. The default selects every route of every table
/// and family (`ip route show table all` and `ip -6 route show table all`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteFilter<'a> {
    /// Only routes of this table (`table ID`); every table when `None`.
    pub table: Option<TableId>,
    /// Only routes of this family (`-4`, `-6`).
    pub family: Option<IpFamily>,
    /// Only routes installed by this protocol (`proto P`).
    pub protocol: Option<RouteProtocol>,
    /// Only routes of this type (`type T`).
    pub kind: Option<RouteType>,
    /// Only routes with a next hop out of this device (`dev D`).
    pub dev: Option<LinkRef<'a>>,
    /// Only the route to exactly this prefix (`ip route show exact PREFIX`).
    pub destination: Option<IpNetwork>,
    /// Cached routes (route exceptions: learned PMTU, redirects) instead of FIB entries
    /// (`ip route show cache`).
    pub cached: bool,
}

impl<'a> RouteFilter<'a> {
    /// The routes of one table, both families (`ip route show table ID`, with `-6` too).
    pub fn table(table: TableId) -> Self {
        RouteFilter {
            table: Some(table),
            ..RouteFilter::default()
        }
    }
}

/// A lookup in the kernel's FIB (`ip route get ADDRESS [from S] [iif I] [oif O] [mark M]
/// [fibmatch]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteQuery<'a> {
    /// The destination address.
    pub destination: IpAddr,
    /// The source address (`from`), of the same family.
    pub source: Option<IpAddr>,
    /// Look up as if the packet came in on this interface (`iif`); needs `source`.
    pub iif: Option<LinkRef<'a>>,
    /// Look up as if the packet were sent out of this interface, or inside this VRF (`oif`).
    pub oif: Option<LinkRef<'a>>,
    /// The firewall mark (`mark`), which policy rules may select on.
    pub mark: Option<u32>,
    /// Return the FIB entry that matched rather than the resolved route (`fibmatch`).
    pub fib_match: bool,
}

impl<'a> RouteQuery<'a> {
    /// A plain lookup of `destination` (`ip route get ADDRESS`).
    pub fn new(destination: IpAddr) -> Self {
        RouteQuery {
            destination,
            source: None,
            iif: None,
            oif: None,
            mark: None,
            fib_match: false,
        }
    }
}

/// Refuses a prefix with host bits set.
pub(crate) fn check_prefix(arg: &'static str, net: IpNetwork) -> Result<()> {
    if net.ip() != net.network() {
        return Err(Error::invalid(
            arg,
            format!(
                "{net} has host bits set; the prefix is {}/{}",
                net.network(),
                net.prefix()
            ),
        ));
    }
    Ok(())
}

fn family_of(f: IpFamily) -> AddressFamily {
    match f {
        IpFamily::V4 => AddressFamily::Inet,
        IpFamily::V6 => AddressFamily::Inet6,
    }
}

fn route_address(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// Puts the table in the header (ids up to 255) or in `RTA_TABLE` with `RT_TABLE_UNSPEC` in
/// the header, as iproute2 does.
fn set_table(msg: &mut RouteMessage, table: TableId) {
    match u8::try_from(table.get()) {
        Ok(t) => msg.header.table = t,
        Err(_) => {
            msg.header.table = RouteHeader::RT_TABLE_UNSPEC;
            msg.attributes.push(RouteAttribute::Table(table.get()));
        }
    }
}

/// Checks one next hop and returns its gateway attribute (`RTA_GATEWAY` or `RTA_VIA`).
fn hop_gateway(family: IpFamily, hop: &NextHop<'_>) -> Result<Option<RouteAttribute>> {
    if hop.weight == 0 || hop.weight > 256 {
        return Err(Error::invalid(
            "weight",
            format!("{} is outside 1-256", hop.weight),
        ));
    }
    match (hop.gateway, hop.via) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "via",
            "a next hop has either a gateway or a via address, not both",
        )),
        (Some(gw), None) => {
            if IpFamily::of(gw) != family {
                let hint = if family == IpFamily::V4 {
                    "; an IPv4 route through an IPv6 next hop takes it as `via` (RTA_VIA)"
                } else {
                    ""
                };
                return Err(Error::invalid(
                    "gateway",
                    format!("{gw} is not of the route's family ({family:?}){hint}"),
                ));
            }
            Ok(Some(RouteAttribute::Gateway(route_address(gw))))
        }
        (None, Some(via)) => match (family, via) {
            (IpFamily::V4, IpAddr::V6(v6)) => Ok(Some(RouteAttribute::Via(RouteVia::Inet6(v6)))),
            (IpFamily::V4, IpAddr::V4(v4)) => Ok(Some(RouteAttribute::Via(RouteVia::Inet(v4)))),
            (IpFamily::V6, _) => Err(Error::invalid(
                "via",
                "the kernel takes RTA_VIA for IPv4 routes only; give an IPv6 route a `gateway`",
            )),
        },
        (None, None) => {
            if hop.dev.is_none() {
                return Err(Error::invalid(
                    "next hop",
                    "a next hop needs a gateway, a via address or a device",
                ));
            }
            Ok(None)
        }
    }
}

/// The `RTM_NEWROUTE` request for `r`; `index` resolves devices once the input is known good.
pub(crate) fn route_message(
    r: &NewRoute<'_>,
    mut index: impl FnMut(LinkRef<'_>) -> Result<IfIndex>,
) -> Result<RouteMessage> {
    check_prefix("destination", r.destination)?;
    let family = IpFamily::of(r.destination.ip());
    if let Some(src) = r.preferred_source {
        if IpFamily::of(src) != family {
            return Err(Error::invalid(
                "preferred source",
                format!("{src} is not of the family of {}", r.destination),
            ));
        }
    }
    let has_hops = matches!(r.kind, RouteType::Unicast | RouteType::Unspec);
    if has_hops && r.next_hops.is_empty() {
        return Err(Error::invalid(
            "next hops",
            format!(
                "a unicast route to {} needs a gateway or a device (a multipath route needs \
                 at least one next hop)",
                r.destination
            ),
        ));
    }
    let gateways = r
        .next_hops
        .iter()
        .map(|h| hop_gateway(family, h))
        .collect::<Result<Vec<_>>>()?;
    if let Some(h) = r.next_hops.iter().find(|h| h.onlink && h.dev.is_none()) {
        let _ = h;
        return Err(Error::invalid(
            "onlink",
            "an onlink next hop needs a device",
        ));
    }
    if r.metrics
        .congctl
        .as_deref()
        .is_some_and(|c| c.is_empty() || c.contains('\0'))
    {
        return Err(Error::invalid("congctl", "an empty name or one with NUL"));
    }

    let mut msg = RouteMessage::default();
    msg.header.address_family = family_of(family);
    msg.header.destination_prefix_length = r.destination.prefix();
    msg.header.protocol = NlProtocol::from(r.protocol.0);
    msg.header.kind = NlType::from(u8::from(r.kind));
    let any_gateway = gateways.iter().any(Option::is_some);
    let scope = r.scope.unwrap_or(match r.kind {
        RouteType::Local | RouteType::Nat => RouteScope::Host,
        RouteType::Broadcast | RouteType::Multicast | RouteType::Anycast => RouteScope::Link,
        RouteType::Unicast | RouteType::Unspec if !any_gateway => RouteScope::Link,
        _ => RouteScope::Universe,
    });
    msg.header.scope = NlScope::from(u8::from(scope));
    if r.destination.prefix() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(route_address(
                r.destination.ip(),
            )));
    }
    if let Some(p) = r.priority {
        msg.attributes.push(RouteAttribute::Priority(p));
    }
    if let Some(src) = r.preferred_source {
        msg.attributes
            .push(RouteAttribute::PrefSource(route_address(src)));
    }
    let multipath = r.next_hops.len() > 1 || r.next_hops.first().is_some_and(|h| h.weight != 1);
    if !multipath {
        if let (Some(hop), Some(gw)) = (r.next_hops.first(), gateways.first()) {
            if let Some(gw) = gw {
                msg.attributes.push(gw.clone());
            }
            if let Some(dev) = hop.dev {
                msg.attributes.push(RouteAttribute::Oif(index(dev)?.get()));
            }
            if hop.onlink {
                msg.header.flags = NlRouteFlags::from_bits_retain(RouteFlags::ONLINK.bits());
            }
        }
    }
    set_table(&mut msg, r.table);
    if multipath {
        let mut hops = Vec::with_capacity(r.next_hops.len());
        for (hop, gw) in r.next_hops.iter().zip(gateways) {
            let mut nh = NlNextHop::default();
            nh.hops = (hop.weight - 1) as u8;
            if let Some(dev) = hop.dev {
                nh.interface_index = index(dev)?.get();
            }
            if hop.onlink {
                nh.flags = RouteNextHopFlags::from_bits_retain(NextHopFlags::ONLINK.bits());
            }
            nh.attributes.extend(gw);
            hops.push(nh);
        }
        msg.attributes.push(RouteAttribute::MultiPath(hops));
    }
    if !r.metrics.is_empty() {
        let mut m: Vec<RouteMetric> = Vec::new();
        for (ty, v) in r.metrics.numeric() {
            let Some(v) = v else { continue };
            m.push(match ty {
                1 => RouteMetric::Lock(v),
                2 => RouteMetric::Mtu(v),
                3 => RouteMetric::Window(v),
                4 => RouteMetric::Rtt(v),
                5 => RouteMetric::RttVar(v),
                6 => RouteMetric::SsThresh(v),
                7 => RouteMetric::Cwnd(v),
                8 => RouteMetric::Advmss(v),
                9 => RouteMetric::Reordering(v),
                10 => RouteMetric::Hoplimit(v),
                11 => RouteMetric::InitCwnd(v),
                12 => RouteMetric::Features(v),
                13 => RouteMetric::RtoMin(v),
                14 => RouteMetric::InitRwnd(v),
                _ => RouteMetric::QuickAck(v),
            });
        }
        if let Some(c) = &r.metrics.congctl {
            m.push(RouteMetric::CcAlgo(c.clone()));
        }
        msg.attributes.push(RouteAttribute::Metrics(m));
    }
    Ok(msg)
}

/// The `RTM_DELROUTE` request for `k`.
pub(crate) fn route_key_message(
    k: &RouteKey<'_>,
    mut index: impl FnMut(LinkRef<'_>) -> Result<IfIndex>,
) -> Result<RouteMessage> {
    check_prefix("destination", k.destination)?;
    let family = IpFamily::of(k.destination.ip());
    let gateway = match k.gateway {
        Some(gw) => hop_gateway(
            family,
            &NextHop {
                gateway: (IpFamily::of(gw) == family).then_some(gw),
                via: (IpFamily::of(gw) != family).then_some(gw),
                ..NextHop::default()
            },
        )?,
        None => None,
    };
    let mut msg = RouteMessage::default();
    msg.header.address_family = family_of(family);
    msg.header.destination_prefix_length = k.destination.prefix();
    // As `ip route del`: scope "nowhere" matches any scope.
    msg.header.scope = NlScope::from(u8::from(RouteScope::Nowhere));
    msg.header.kind = NlType::from(k.kind.map_or(0, u8::from));
    msg.header.protocol = NlProtocol::from(k.protocol.map_or(0, |p| p.0));
    msg.header.tos = k.tos;
    if let Some(src) = k.source {
        check_prefix("source", src)?;
        if IpFamily::of(src.ip()) != family {
            return Err(Error::invalid(
                "source",
                format!("{src} is not of the destination's family"),
            ));
        }
        msg.header.source_prefix_length = src.prefix();
        if src.prefix() > 0 {
            msg.attributes
                .push(RouteAttribute::Source(route_address(src.ip())));
        }
    }
    if k.destination.prefix() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(route_address(
                k.destination.ip(),
            )));
    }
    if let Some(p) = k.priority {
        msg.attributes.push(RouteAttribute::Priority(p));
    }
    msg.attributes.extend(gateway);
    if let Some(dev) = k.dev {
        msg.attributes.push(RouteAttribute::Oif(index(dev)?.get()));
    }
    set_table(&mut msg, k.table);
    Ok(msg)
}

impl Handle {
    /// Adds a route. Equivalent to
    /// `ip route add [TYPE] PREFIX [via GW] [dev DEV] [table T] [metric M] [src S] [proto P]
    /// [nexthop …]`. A route that exists already is an error for which
    /// [`Error::is_exists`] is true.
    ///
    /// ```no_run
    /// use netplumb::{Handle, TableId, route::NewRoute};
    ///
    /// let h = Handle::new()?;
    /// h.add_route(&NewRoute {
    ///     table: TableId::new(1000),
    ///     ..NewRoute::via("10.1.0.0/16".parse()?, "10.0.0.2".parse()?)?
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("add route", route, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Adds a route, or replaces the one to the same prefix (same table, TOS and metric).
    /// Equivalent to `ip route replace …`.
    pub fn replace_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("replace route", route, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Adds a route after the existing ones to the same prefix (for IPv6, as another next hop
    /// of it). Equivalent to `ip route append …`.
    pub fn append_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("append route", route, NLM_F_CREATE | NLM_F_APPEND)
    }

    fn new_route(&self, op: &'static str, route: &NewRoute<'_>, flags: u16) -> Result<()> {
        let msg = route_message(route, |l| self.link_index(l))?;
        self.ack(op, RouteNetlinkMessage::NewRoute(msg), flags)
    }

    /// Deletes a route. Equivalent to
    /// `ip route del PREFIX [table T] [metric M] [via GW] [dev DEV] [proto P] [type T]`.
    /// A route that is not there is an error for which [`Error::is_not_found`] is true.
    pub fn delete_route(&self, key: &RouteKey<'_>) -> Result<()> {
        let msg = route_key_message(key, |l| self.link_index(l))?;
        self.ack("delete route", RouteNetlinkMessage::DelRoute(msg), 0)
    }

    /// Lists routes. Equivalent to `ip -d route show [table T|all] [proto P] [type T]
    /// [dev D] [exact PREFIX]` (with `-4`, `-6`, or both families by default; `cache` with
    /// [`RouteFilter::cached`]).
    ///
    /// The table, protocol, type and device are handed to the kernel to filter (strict dump
    /// checking) and checked again here. Every entry comes back typed: the `local` table's
    /// local and broadcast routes, and cached routes, are routes like any other. Routes of
    /// other families (multicast routing tables, MPLS) are not listed.
    ///
    /// ```no_run
    /// use netplumb::{Handle, IpFamily, TableId, route::RouteFilter};
    ///
    /// let h = Handle::new()?;
    /// // ip -4 route show table main
    /// let main = h.routes(&RouteFilter {
    ///     family: Some(IpFamily::V4),
    ///     ..RouteFilter::table(TableId::MAIN)
    /// })?;
    /// for r in &main {
    ///     println!("{} via {:?} dev {:?}", r.destination, r.gateway(), r.dev());
    /// }
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn routes(&self, filter: &RouteFilter<'_>) -> Result<Vec<Route>> {
        let op = "list routes";
        // The "unspecified" values select everything, for the kernel and here alike.
        let mut filter = *filter;
        filter.table = filter.table.filter(|t| *t != TableId::UNSPEC);
        filter.protocol = filter.protocol.filter(|p| p.0 != 0);
        filter.kind = filter.kind.filter(|k| u8::from(*k) != 0);
        let filter = &filter;
        let dev = match filter.dev {
            Some(d) => Some(self.link_index(d)?),
            None => None,
        };
        if let Some(d) = filter.destination {
            check_prefix("destination", d)?;
        }
        let mut req = RouteMessage::default();
        if let Some(f) = filter.family {
            req.header.address_family = family_of(f);
        }
        if let Some(t) = filter.table {
            set_table(&mut req, t);
            if t.get() <= 255 {
                req.attributes.push(RouteAttribute::Table(t.get()));
            }
        }
        if let Some(p) = filter.protocol {
            req.header.protocol = NlProtocol::from(p.0);
        }
        if let Some(k) = filter.kind {
            req.header.kind = NlType::from(u8::from(k));
        }
        if let Some(d) = dev {
            req.attributes.push(RouteAttribute::Oif(d.get()));
        }
        if filter.cached {
            req.header.flags = NlRouteFlags::from_bits_retain(RouteFlags::CLONED.bits());
        }
        let result = self.dump_frames(op, RouteNetlinkMessage::GetRoute(req), |frame| {
            if frame.ty != RTM_NEWROUTE {
                return Ok(None);
            }
            let Some(r) = route_from_bytes(frame.payload).map_err(|e| Error::malformed(op, e))?
            else {
                return Ok(None);
            };
            let keep = filter.table.is_none_or(|t| r.table == t)
                && filter.family.is_none_or(|f| r.family == f)
                && filter.protocol.is_none_or(|p| r.protocol == p)
                && filter.kind.is_none_or(|k| r.kind == k)
                && dev.is_none_or(|d| r.next_hops.iter().any(|h| h.dev == Some(d)))
                && filter.destination.is_none_or(|d| r.destination == d)
                && (r.flags.contains(RouteFlags::CLONED) == filter.cached);
            Ok(keep.then_some(r))
        });
        match result {
            // A table that does not exist (yet) holds no routes.
            Err(e) if filter.table.is_some() && e.errno() == Some(nix::errno::Errno::ENOENT) => {
                Ok(Vec::new())
            }
            other => other,
        }
    }

    /// Asks the kernel's FIB for the route it would use. Equivalent to
    /// `ip route get ADDRESS [from S] [iif I] [oif O] [mark M] [fibmatch]`.
    ///
    /// The reply names the table that matched. An address without a route is the kernel's
    /// error (`ENETUNREACH`, or `EHOSTUNREACH`/`EACCES` for unreachable and prohibit routes).
    ///
    /// ```no_run
    /// use netplumb::{Handle, route::RouteQuery};
    ///
    /// let r = Handle::new()?.route_get(&RouteQuery::new("192.0.2.1".parse()?))?;
    /// println!("via {:?} dev {:?} src {:?}", r.gateway(), r.dev(), r.preferred_source);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn route_get(&self, q: &RouteQuery<'_>) -> Result<Route> {
        let op = "get route";
        let family = IpFamily::of(q.destination);
        if let Some(s) = q.source {
            if IpFamily::of(s) != family {
                return Err(Error::invalid(
                    "source",
                    format!("{s} is not of the family of {}", q.destination),
                ));
            }
        }
        if q.iif.is_some() && q.source.is_none() && family == IpFamily::V4 {
            return Err(Error::invalid(
                "iif",
                "a lookup as if received on an interface needs a source address",
            ));
        }
        let iif = match q.iif {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let oif = match q.oif {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let mut msg = RouteMessage::default();
        msg.header.address_family = family_of(family);
        msg.header.destination_prefix_length = family.max_prefix_len();
        // IPv6 refuses LOOKUP_TABLE (it always reports the table); IPv4 needs it to.
        let mut flags = match family {
            IpFamily::V4 => RouteFlags::LOOKUP_TABLE,
            IpFamily::V6 => RouteFlags::empty(),
        };
        if q.fib_match {
            flags |= RouteFlags::FIB_MATCH;
        }
        msg.header.flags = NlRouteFlags::from_bits_retain(flags.bits());
        msg.attributes
            .push(RouteAttribute::Destination(route_address(q.destination)));
        if let Some(s) = q.source {
            msg.header.source_prefix_length = family.max_prefix_len();
            msg.attributes
                .push(RouteAttribute::Source(route_address(s)));
        }
        if let Some(i) = iif {
            msg.attributes.push(RouteAttribute::Iif(i.get()));
        }
        if let Some(o) = oif {
            msg.attributes.push(RouteAttribute::Oif(o.get()));
        }
        if let Some(m) = q.mark {
            msg.attributes.push(RouteAttribute::Mark(m));
        }
        self.get_frame(op, RouteNetlinkMessage::GetRoute(msg), |frame| {
            if frame.ty != RTM_NEWROUTE {
                return Err(Error::malformed(op, "the reply is not a route"));
            }
            route_from_bytes(frame.payload)
                .map_err(|e| Error::malformed(op, e))?
                .ok_or_else(|| Error::malformed(op, "the reply is not an IP route"))
        })
    }
}

// ---- decoding: routes are decoded straight from the bytes, for dump speed ----

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_of(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// Iterates the attributes of `buf` as (type without flag bits, payload); stops at the first
/// malformed one, reporting it.
fn attrs(mut buf: &[u8]) -> impl Iterator<Item = std::result::Result<(u16, &[u8]), String>> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = u16_at(buf, 0) as usize;
        let ty = u16_at(buf, 2) & 0x3fff;
        if len < 4 || len > buf.len() {
            buf = &[];
            return Some(Err(format!("attribute {ty} with length {len}")));
        }
        let payload = &buf[4..len];
        buf = &buf[((len + 3) & !3).min(buf.len())..];
        Some(Ok((ty, payload)))
    })
}

fn ip_of(family: IpFamily, b: &[u8]) -> std::result::Result<IpAddr, String> {
    match family {
        IpFamily::V4 => <[u8; 4]>::try_from(b)
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
            .map_err(|_| format!("a {}-byte IPv4 address", b.len())),
        IpFamily::V6 => <[u8; 16]>::try_from(b)
            .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
            .map_err(|_| format!("a {}-byte IPv6 address", b.len())),
    }
}

/// `RTA_VIA`: a 16-bit family, then the address.
fn via_of(b: &[u8]) -> std::result::Result<IpAddr, String> {
    if b.len() < 2 {
        return Err("a short RTA_VIA".into());
    }
    match u16_at(b, 0) {
        2 => ip_of(IpFamily::V4, &b[2..]),
        10 => ip_of(IpFamily::V6, &b[2..]),
        f => Err(format!("RTA_VIA of family {f}")),
    }
}

fn net_of(family: IpFamily, ip: IpAddr, len: u8) -> std::result::Result<IpNetwork, String> {
    let _ = family;
    IpNetwork::new(ip, len).map_err(|_| format!("prefix length {len} for {ip}"))
}

/// Decodes an `RTM_NEWROUTE` payload; `None` for families other than IPv4 and IPv6.
pub(crate) fn route_from_bytes(p: &[u8]) -> std::result::Result<Option<Route>, String> {
    if p.len() < 12 {
        return Err(format!("a {}-byte route header", p.len()));
    }
    let family = match p[0] {
        2 => IpFamily::V4,
        10 => IpFamily::V6,
        _ => return Ok(None),
    };
    let unspecified = match family {
        IpFamily::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpFamily::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let (dst_len, src_len) = (p[1], p[2]);
    let flags = u32::from_ne_bytes([p[8], p[9], p[10], p[11]]);
    let mut r = Route {
        family,
        destination: net_of(family, unspecified, dst_len)?,
        source: None,
        table: TableId::new(u32::from(p[4])),
        kind: RouteType::from(p[7]),
        scope: RouteScope::from(p[6]),
        protocol: RouteProtocol(p[5]),
        priority: None,
        preferred_source: None,
        tos: p[3],
        flags: RouteFlags::from_bits_retain(flags),
        next_hops: Vec::new(),
        metrics: RouteMetrics::default(),
        iif: None,
        mark: None,
        nexthop_id: None,
    };
    let mut single = RouteNextHop {
        gateway: None,
        via: None,
        dev: None,
        weight: 1,
        flags: NextHopFlags::from_bits_retain(flags as u8),
    };
    let mut has_single = false;
    for a in attrs(&p[12..]) {
        let (ty, v) = a?;
        match ty {
            1 => r.destination = net_of(family, ip_of(family, v)?, dst_len)?,
            2 => r.source = Some(net_of(family, ip_of(family, v)?, src_len)?),
            3 => r.iif = u32_of(v).and_then(IfIndex::new),
            4 => {
                single.dev = u32_of(v).and_then(IfIndex::new);
                has_single = true;
            }
            5 => {
                single.gateway = Some(ip_of(family, v)?);
                has_single = true;
            }
            6 => r.priority = u32_of(v),
            7 => r.preferred_source = Some(ip_of(family, v)?),
            8 => {
                for m in attrs(v) {
                    let (mt, mv) = m?;
                    if mt == 16 {
                        let name = mv.split(|b| *b == 0).next().unwrap_or(&[]);
                        r.metrics.congctl = Some(String::from_utf8_lossy(name).into_owned());
                    } else if let Some(x) = u32_of(mv) {
                        r.metrics.set(mt, x);
                    }
                }
            }
            9 => r.next_hops = multipath_of(family, v)?,
            15 => {
                if let Some(t) = u32_of(v) {
                    r.table = TableId::new(t);
                }
            }
            16 => r.mark = u32_of(v),
            18 => {
                single.via = Some(via_of(v)?);
                has_single = true;
            }
            30 => r.nexthop_id = u32_of(v),
            _ => {}
        }
    }
    if has_single && r.next_hops.is_empty() {
        r.next_hops.push(single);
    }
    Ok(Some(r))
}

/// `RTA_MULTIPATH`: `struct rtnexthop { len u16, flags u8, hops u8, ifindex i32 }` each
/// followed by its attributes.
fn multipath_of(family: IpFamily, mut b: &[u8]) -> std::result::Result<Vec<RouteNextHop>, String> {
    let mut out = Vec::new();
    while b.len() >= 8 {
        let len = u16_at(b, 0) as usize;
        if len < 8 || len > b.len() {
            return Err(format!("a next hop of length {len}"));
        }
        let mut hop = RouteNextHop {
            gateway: None,
            via: None,
            dev: IfIndex::new(u32::from_ne_bytes([b[4], b[5], b[6], b[7]])),
            weight: u16::from(b[3]) + 1,
            flags: NextHopFlags::from_bits_retain(b[2]),
        };
        for a in attrs(&b[8..len]) {
            let (ty, v) = a?;
            match ty {
                5 => hop.gateway = Some(ip_of(family, v)?),
                18 => hop.via = Some(via_of(v)?),
                _ => {}
            }
        }
        out.push(hop);
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    Ok(out)
}

/// How a [`Rib`](crate::lpm::Rib)'s best routes become kernel routes: the table, the protocol
/// they are marked with (so that a dump or `ip route flush proto P` finds them), and whether
/// gateways are on-link. Used by [`NewRoute::from_fib`], [`Handle::apply_fib_change`] and
/// [`Batch::apply_fib_change`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FibInstall {
    /// The kernel table the FIB is mirrored into.
    pub table: TableId,
    /// The protocol the routes carry (`proto P`).
    pub protocol: RouteProtocol,
    /// The kernel route's metric (`metric N`), the same for every route: the kernel keys
    /// routes by it, so a FIB route's own metric must not become it, or a change of metric
    /// would add a second kernel route instead of replacing the first.
    pub priority: Option<u32>,
    /// Mark every gateway `onlink` (BGP next hops on unnumbered links, or gateways outside
    /// the device's prefixes).
    pub onlink: bool,
}

impl Default for FibInstall {
    /// The main table, `proto static`, no metric, gateways resolved as usual.
    fn default() -> Self {
        FibInstall {
            table: TableId::MAIN,
            protocol: RouteProtocol::STATIC,
            priority: None,
            onlink: false,
        }
    }
}

impl NewRoute<'static> {
    /// The kernel route for a FIB entry (`ip route replace PREFIX [via GW] [dev DEV] [onlink]
    /// table T proto P`, several next hops making an ECMP route with their weights).
    ///
    /// Fails with [`Error::InvalidInput`] for an entry without next hops or with a next hop
    /// that has neither a gateway nor a device.
    pub fn from_fib(
        prefix: IpNetwork,
        route: &FibRoute,
        install: &FibInstall,
    ) -> Result<NewRoute<'static>> {
        if route.next_hops.is_empty() {
            return Err(Error::invalid(
                "next_hops",
                format!("the FIB route to {prefix} has no next hop"),
            ));
        }
        let mut hops = Vec::with_capacity(route.next_hops.len());
        for nh in &route.next_hops {
            let dev = match nh.ifindex {
                Some(i) => Some(LinkRef::Index(IfIndex::new(i).ok_or_else(|| {
                    Error::invalid("next_hops", format!("{prefix}: interface index 0"))
                })?)),
                None => None,
            };
            if nh.gateway.is_none() && dev.is_none() {
                return Err(Error::invalid(
                    "next_hops",
                    format!("{prefix}: a next hop with neither a gateway nor a device"),
                ));
            }
            hops.push(NextHop {
                gateway: nh.gateway,
                dev,
                weight: u16::from(nh.weight.max(1)),
                onlink: install.onlink && nh.gateway.is_some(),
                ..NextHop::default()
            });
        }
        Ok(NewRoute {
            table: install.table,
            protocol: install.protocol,
            priority: install.priority,
            next_hops: hops,
            ..NewRoute::new(prefix)?
        })
    }
}

impl RouteKey<'static> {
    /// The key that deletes what [`NewRoute::from_fib`] installed for `prefix`.
    pub fn from_fib(prefix: IpNetwork, install: &FibInstall) -> RouteKey<'static> {
        RouteKey {
            table: install.table,
            protocol: Some(install.protocol),
            priority: install.priority,
            ..RouteKey::new(prefix)
        }
    }
}

impl Handle {
    /// Mirrors one change of a [`Rib`](crate::lpm::Rib)'s best route into a kernel table: a new
    /// or changed best route is `ip route replace`d, a withdrawn one `ip route del`eted. For
    /// many changes, queue them on a [`Batch`] with [`Batch::apply_fib_change`].
    ///
    /// ```no_run
    /// use netplumb::lpm::{Candidate, FibNextHop, Protocol, Rib, RibSource};
    /// use netplumb::route::{FibInstall, RouteProtocol};
    /// use netplumb::{Handle, TableId};
    /// use std::net::Ipv4Addr;
    ///
    /// let h = Handle::new()?;
    /// let install = FibInstall {
    ///     table: TableId::new(100),
    ///     protocol: RouteProtocol::BGP,
    ///     ..FibInstall::default()
    /// };
    /// let mut rib: Rib<Ipv4Addr> = Rib::new();
    /// let peer = RibSource::new(Protocol::Ebgp, 1);
    /// let route = Candidate::new(Protocol::Ebgp, 0, vec![FibNextHop::via("192.0.2.1".parse()?)]);
    /// if let Some(change) = rib.update("203.0.113.0/24".parse()?, peer, route) {
    ///     h.apply_fib_change(&change, &install)?; // ip route replace 203.0.113.0/24 via 192.0.2.1 table 100 proto bgp
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_fib_change<A: IpKey>(
        &self,
        change: &FibChange<A>,
        install: &FibInstall,
    ) -> Result<()> {
        let prefix = IpNetwork::from(change.prefix);
        match &change.new {
            Some(best) => self.replace_route(&NewRoute::from_fib(prefix, best, install)?),
            None => self.delete_route(&RouteKey::from_fib(prefix, install)),
        }
    }
}

impl Batch<'_> {
    /// Queues what [`Handle::apply_fib_change`] does: `ip route replace` for a new or changed
    /// best route, `ip route del` for a withdrawn one; returns the request's index. A FIB entry
    /// that cannot become a kernel route comes back as that request's error.
    pub fn apply_fib_change<A: IpKey>(
        &mut self,
        change: &FibChange<A>,
        install: &FibInstall,
    ) -> usize {
        let prefix = IpNetwork::from(change.prefix);
        match &change.new {
            Some(best) => match NewRoute::from_fib(prefix, best, install) {
                Ok(r) => self.replace_route(&r),
                Err(e) => self.push_result("replace route", Err(e), 0),
            },
            None => self.delete_route(&RouteKey::from_fib(prefix, install)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_print_and_parse_as_ip_route_does() {
        assert_eq!(RouteProtocol::BIRD.to_string(), "bird");
        assert_eq!(RouteProtocol::KERNEL.to_string(), "kernel");
        assert_eq!(RouteProtocol(77).to_string(), "77");
        for p in 0..=255u8 {
            let p = RouteProtocol(p);
            assert_eq!(p.to_string().parse::<RouteProtocol>().unwrap(), p);
        }
        assert_eq!(
            "ospf".parse::<RouteProtocol>().unwrap(),
            RouteProtocol::OSPF
        );
        assert!(matches!(
            "bogus".parse::<RouteProtocol>(),
            Err(Error::InvalidInput {
                arg: "protocol",
                ..
            })
        ));
        assert!("256".parse::<RouteProtocol>().is_err());
    }

    proptest::proptest! {
        /// Whatever the kernel (or a corrupted buffer) hands the route decoder, it returns a
        /// route or an error, never a panic.
        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            header in proptest::collection::vec(proptest::num::u8::ANY, 12..13),
            attrs in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            family in proptest::sample::select(vec![2u8, 10, 7]),
        ) {
            let mut p = header;
            p[0] = family;
            p.extend_from_slice(&attrs);
            let _ = route_from_bytes(&p);
        }
    }
    use crate::wire::encode;

    fn idx(_: LinkRef<'_>) -> Result<IfIndex> {
        Ok(IfIndex::new(3).unwrap())
    }

    /// Encodes and decodes back, as a dump would return it.
    fn round_trip(r: &NewRoute<'_>) -> Route {
        let msg = route_message(r, idx).unwrap();
        let mut out = Vec::new();
        encode(RouteNetlinkMessage::NewRoute(msg), 0, 1, &mut out);
        let frame = crate::wire::frames(&out).next().unwrap().unwrap();
        route_from_bytes(frame.payload).unwrap().unwrap()
    }

    #[test]
    fn host_bits_and_bad_next_hops_are_refused() {
        let e = NewRoute::new("10.0.0.1/8".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
        let mut r =
            NewRoute::via("10.0.0.0/8".parse().unwrap(), "fd00::1".parse().unwrap()).unwrap();
        let e = route_message(&r, idx).unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput { arg: "gateway", .. }),
            "{e}"
        );
        r.next_hops[0].weight = 0;
        assert!(matches!(
            route_message(&r, idx),
            Err(Error::InvalidInput { arg: "weight", .. })
        ));
        r.next_hops.clear();
        assert!(matches!(
            route_message(&r, idx),
            Err(Error::InvalidInput {
                arg: "next hops",
                ..
            })
        ));
        let v6via = NewRoute {
            next_hops: vec![NextHop {
                via: Some("10.0.0.1".parse().unwrap()),
                ..NextHop::default()
            }],
            ..NewRoute::new("fd00::/64".parse().unwrap()).unwrap()
        };
        assert!(matches!(
            route_message(&v6via, idx),
            Err(Error::InvalidInput { arg: "via", .. })
        ));
    }

    #[test]
    fn encode_decode_round_trip() {
        let r = NewRoute {
            table: TableId::new(100_000),
            priority: Some(20),
            protocol: RouteProtocol::BIRD,
            preferred_source: Some("10.0.0.1".parse().unwrap()),
            metrics: RouteMetrics {
                mtu: Some(1400),
                advmss: Some(1360),
                congctl: Some("cubic".into()),
                ..RouteMetrics::default()
            },
            next_hops: vec![
                NextHop {
                    weight: 5,
                    dev: Some(LinkRef::Name("x")),
                    ..NextHop::gateway("10.0.0.2".parse().unwrap())
                },
                NextHop {
                    via: Some("fe80::1".parse().unwrap()),
                    dev: Some(LinkRef::Name("x")),
                    onlink: true,
                    ..NextHop::default()
                },
            ],
            ..NewRoute::new("10.9.0.0/16".parse().unwrap()).unwrap()
        };
        let got = round_trip(&r);
        assert_eq!(got.table, TableId::new(100_000));
        assert_eq!(got.protocol, RouteProtocol::BIRD);
        assert_eq!(got.priority, Some(20));
        assert_eq!(got.metrics.mtu, Some(1400));
        assert_eq!(got.metrics.advmss, Some(1360));
        assert_eq!(got.metrics.congctl.as_deref(), Some("cubic"));
        assert_eq!(got.next_hops.len(), 2);
        assert_eq!(got.next_hops[0].weight, 5);
        assert_eq!(got.next_hops[0].gateway, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(got.next_hops[1].via, Some("fe80::1".parse().unwrap()));
        assert!(got.next_hops[1].flags.contains(NextHopFlags::ONLINK));
        assert_eq!(got.scope, RouteScope::Universe);

        let bh = round_trip(
            &NewRoute::of_kind(RouteType::Blackhole, "0.0.0.0/0".parse().unwrap()).unwrap(),
        );
        assert_eq!(bh.kind, RouteType::Blackhole);
        assert_eq!(bh.destination.prefix(), 0);
        assert!(bh.next_hops.is_empty());
        let dev = round_trip(&NewRoute::dev("fd00::/64".parse().unwrap(), "x").unwrap());
        assert_eq!(dev.scope, RouteScope::Link);
        assert_eq!(dev.dev(), IfIndex::new(3));
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let r = NewRoute {
            next_hops: vec![NextHop::gateway("10.0.0.2".parse().unwrap()); 2],
            ..NewRoute::new("10.9.0.0/16".parse().unwrap()).unwrap()
        };
        let msg = route_message(&r, idx).unwrap();
        let mut out = Vec::new();
        encode(RouteNetlinkMessage::NewRoute(msg), 0, 1, &mut out);
        let payload = &out[16..];
        for cut in 0..payload.len() {
            let _ = route_from_bytes(&payload[..cut]);
        }
        let mut bad = payload.to_vec();
        for i in 12..bad.len() {
            bad[i] ^= 0xff;
            let _ = route_from_bytes(&bad);
            bad[i] ^= 0xff;
        }
    }
}
