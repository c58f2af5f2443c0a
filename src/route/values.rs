//! The kernel's values of a route: its type, scope and protocol, route and next-hop flags,
//! and metrics — each with the kernel's numbers (linux/rtnetlink.h).

use crate::wire::kernel::{rtax, rtm_f, rtnh_f};
use crate::{Error, Result};

/// What a route does with a packet (`ip route add TYPE PREFIX …`; `rtm_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteType {
    /// No type (`RTN_UNSPEC`); in a [`RouteKey`](super::RouteKey), any type.
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
    /// Unknown (`unspec`); in a [`RouteKey`](super::RouteKey) or filter, any protocol.
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
