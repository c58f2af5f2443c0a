//! Route types: what is created ([`NewRoute`], [`NextHop`]), what the kernel reports
//! ([`Route`], [`RouteNextHop`]), what names a route to delete ([`RouteKey`]), and the
//! selectors of listings and lookups ([`RouteFilter`], [`RouteQuery`]).

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::types::check_prefix;
use crate::wire::kernel::{rtax, rtm_f, rtnh_f};
use crate::{Error, IfIndex, IpFamily, LinkRef, Result, TableId};

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
    /// Route flags (`rtm_flags`: `RTNH_F_*` of a single-path route and `RTM_F_*`), with the
    /// kernel's values (linux/rtnetlink.h).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct RouteFlags: u32 {
        /// The next hop is dead (`dead`).
        const DEAD = rtnh_f::DEAD;
        /// Recursive gateway lookup (`pervasive`).
        const PERVASIVE = rtnh_f::PERVASIVE;
        /// The gateway is on the link even if no prefix says so (`onlink`).
        const ONLINK = rtnh_f::ONLINK;
        /// The next hop is offloaded to hardware (`offload`).
        const OFFLOAD = rtnh_f::OFFLOAD;
        /// The next hop's carrier is down (`linkdown`).
        const LINKDOWN = rtnh_f::LINKDOWN;
        /// The gateway is not resolved (`unresolved`).
        const UNRESOLVED = rtnh_f::UNRESOLVED;
        /// The next hop is trapped by hardware (`trap`).
        const TRAP = rtnh_f::TRAP;
        /// Notify the user of changes (`RTM_F_NOTIFY`).
        const NOTIFY = libc::RTM_F_NOTIFY;
        /// A cached (cloned) route, as `ip route show cache` lists (`RTM_F_CLONED`).
        const CLONED = libc::RTM_F_CLONED;
        /// Multipath equalizer, unused (`RTM_F_EQUALIZE`).
        const EQUALIZE = libc::RTM_F_EQUALIZE;
        /// A prefix address's route (`RTM_F_PREFIX`).
        const PREFIX = libc::RTM_F_PREFIX;
        /// The reply of a lookup names the table that matched (`RTM_F_LOOKUP_TABLE`).
        const LOOKUP_TABLE = libc::RTM_F_LOOKUP_TABLE;
        /// The reply of a lookup is the FIB entry, not the resolved route (`RTM_F_FIB_MATCH`).
        const FIB_MATCH = libc::RTM_F_FIB_MATCH;
        /// The route is offloaded to hardware (`RTM_F_OFFLOAD`; `ip route` prints
        /// `rt_offload`).
        const ROUTE_OFFLOAD = rtm_f::OFFLOAD;
        /// The route is trapped by hardware (`RTM_F_TRAP`; `rt_trap`).
        const ROUTE_TRAP = rtm_f::TRAP;
        /// Offloading the route to hardware failed (`RTM_F_OFFLOAD_FAILED`;
        /// `rt_offload_failed`).
        const OFFLOAD_FAILED = rtm_f::OFFLOAD_FAILED;
        // Flags this version does not name are kept, not dropped.
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// Flags of one next hop (`RTNH_F_*`, as in `ip route`'s `onlink`, `linkdown`, `dead`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct NextHopFlags: u8 {
        /// Dead.
        const DEAD = rtnh_f::DEAD as u8;
        /// Recursive gateway lookup.
        const PERVASIVE = rtnh_f::PERVASIVE as u8;
        /// The gateway is on the link.
        const ONLINK = rtnh_f::ONLINK as u8;
        /// Offloaded to hardware.
        const OFFLOAD = rtnh_f::OFFLOAD as u8;
        /// Carrier down.
        const LINKDOWN = rtnh_f::LINKDOWN as u8;
        /// Gateway unresolved.
        const UNRESOLVED = rtnh_f::UNRESOLVED as u8;
        /// Trapped by hardware.
        const TRAP = rtnh_f::TRAP as u8;
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
    pub(crate) fn is_empty(&self) -> bool {
        *self == RouteMetrics::default()
    }

    /// The `RTAX_*` number and value of each numeric metric that is set.
    pub(crate) fn numeric(&self) -> [(u16, Option<u32>); 15] {
        [
            (rtax::LOCK, self.lock),
            (rtax::MTU, self.mtu),
            (rtax::WINDOW, self.window),
            (rtax::RTT, self.rtt),
            (rtax::RTTVAR, self.rttvar),
            (rtax::SSTHRESH, self.ssthresh),
            (rtax::CWND, self.cwnd),
            (rtax::ADVMSS, self.advmss),
            (rtax::REORDERING, self.reordering),
            (rtax::HOPLIMIT, self.hoplimit),
            (rtax::INITCWND, self.initcwnd),
            (rtax::FEATURES, self.features),
            (rtax::RTO_MIN, self.rto_min),
            (rtax::INITRWND, self.initrwnd),
            (rtax::QUICKACK, self.quickack),
        ]
    }

    pub(crate) fn set(&mut self, ty: u16, v: u32) {
        let slot = match ty {
            rtax::LOCK => &mut self.lock,
            rtax::MTU => &mut self.mtu,
            rtax::WINDOW => &mut self.window,
            rtax::RTT => &mut self.rtt,
            rtax::RTTVAR => &mut self.rttvar,
            rtax::SSTHRESH => &mut self.ssthresh,
            rtax::CWND => &mut self.cwnd,
            rtax::ADVMSS => &mut self.advmss,
            rtax::REORDERING => &mut self.reordering,
            rtax::HOPLIMIT => &mut self.hoplimit,
            rtax::INITCWND => &mut self.initcwnd,
            rtax::FEATURES => &mut self.features,
            rtax::RTO_MIN => &mut self.rto_min,
            rtax::INITRWND => &mut self.initrwnd,
            rtax::QUICKACK => &mut self.quickack,
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
    /// Only the routes of this VRF device's table, without the kernel's local and broadcast
    /// routes that it keeps there too (`ip route show vrf NAME`). Exclusive with `table`.
    pub vrf: Option<LinkRef<'a>>,
}

impl<'a> RouteFilter<'a> {
    /// The routes of one table, both families (`ip route show table ID`, with `-6` too).
    pub fn table(table: TableId) -> Self {
        RouteFilter {
            table: Some(table),
            ..RouteFilter::default()
        }
    }

    /// The routes of a VRF (`ip route show vrf NAME`): its table, both families, without the
    /// kernel's local and broadcast routes.
    pub fn vrf(vrf: impl Into<LinkRef<'a>>) -> Self {
        RouteFilter {
            vrf: Some(vrf.into()),
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
