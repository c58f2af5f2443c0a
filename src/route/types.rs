//! Route types: what is created ([`NewRoute`], [`NextHop`]), what the kernel reports
//! ([`Route`], [`RouteNextHop`]), what names a route to delete ([`RouteKey`]), and the
//! selectors of listings and lookups ([`RouteFilter`], [`RouteQuery`]).

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::values::{NextHopFlags, RouteFlags, RouteMetrics, RouteProtocol, RouteScope, RouteType};
use crate::types::check_prefix;
use crate::{Error, IfIndex, IpFamily, LinkRef, Result, TableId};

/// The most bytes the next hops of one route may take on the wire (`RTA_MULTIPATH`: 8 bytes
/// a hop, plus 8 for an IPv4 gateway, 20 for an IPv6 one, 12 or 24 for a `via`): 212 IPv4
/// next hops, 121 IPv6 ones.
///
/// The kernel accepts more (up to what fits a 64 KiB attribute), but a dump hands each reader
/// messages of the size its first read asked for, at least a page less overhead (3,776 bytes);
/// a route that does not fit is silently left out of iproute2 6.1's `ip route show`, and so is
/// everything listed after it, and beyond about 2,000 next hops it fits no reader's buffer:
/// every later listing of the family in the namespace fails (`EMSGSIZE`). With this budget a
/// route, with its other attributes, fits the smallest dump message.
pub const MAX_NEXT_HOP_BYTES: usize = 3_400;

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
    /// broadcast, multicast, anycast and device-only unicast IPv4 routes, `global` otherwise
    /// (every IPv6 route: the kernel has no IPv6 route scope).
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
    /// A nexthop object (or group) to use instead of next hops of the route's own
    /// (`nhid ID`; see [`nexthop`](crate::nexthop)); `next_hops` must then be empty.
    pub nexthop_id: Option<u32>,
    /// The type of service / DSCP byte the route is for (`tos` / `dsfield`; IPv4 only: IPv4
    /// routes are told apart by it).
    pub tos: u8,
    /// The source prefix of an IPv6 source-specific route (`from PREFIX`; the kernel needs
    /// `CONFIG_IPV6_SUBTREES`).
    pub source: Option<IpNetwork>,
    /// How long an IPv6 route lives (`expires SECONDS`; whole seconds, IPv6 only).
    pub expires: Option<std::time::Duration>,
    /// The router preference of an IPv6 route (`pref low|medium|high`; IPv6 only).
    pub preference: Option<RoutePreference>,
    /// Send the next hops as a multipath attribute even when there is one of weight 1, as
    /// `ip route add PREFIX nexthop via GW` does (the kernel stores the same route).
    pub multipath: bool,
    /// A lightweight tunnel encapsulation of the packets (`encap mpls L1/L2 …`); one next hop
    /// only.
    pub encap: Option<RouteEncap>,
}

/// A lightweight tunnel encapsulation on a route (`ip route add … encap TYPE …`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteEncap {
    /// Push MPLS labels (`encap mpls L1/L2/… [ttl T]`; the kernel's `mpls_iptunnel`): the
    /// first label is the outermost, each 0 to 1,048,575; at most 30.
    Mpls {
        /// The label stack to push.
        labels: Vec<u32>,
        /// The TTL of the pushed labels (`ttl`); from the packet when `None`.
        ttl: Option<u8>,
    },
    /// Add an IPv6 segment routing header (`encap seg6 mode M segs S1,S2,…`; the kernel's
    /// `CONFIG_IPV6_SEG6_LWTUNNEL`): the packet visits the segments in order. 1 to 127
    /// segments.
    Seg6 {
        /// How the header is added.
        mode: Seg6Mode,
        /// The segments, first visited first.
        segments: Vec<std::net::Ipv6Addr>,
    },
    /// A local segment routing function bound to the route's destination, a segment ID
    /// (`encap seg6local action A …`; the kernel's `CONFIG_IPV6_SEG6_LWTUNNEL`): what the
    /// kernel does with a packet whose active segment is this route's destination.
    Seg6Local(Seg6Local),
    /// An encapsulation this version does not decode (`LWTUNNEL_ENCAP_*` number).
    Other(u16),
}

/// A segment routing endpoint function and its parameters (`ip -6 route add SID encap
/// seg6local action ACTION [nh4 A] [nh6 A] [table T] [vrftable T] [oif DEV] [iif DEV] [srh segs
/// S1,S2] dev DEV`).
///
/// Build it with the constructor of its action ([`Seg6Local::end_x`], …); the fields are
/// public for the rarer attributes (`oif`, `iif`). Which attributes an action needs is checked
/// before sending ([`Seg6LocalAction`] lists them); whether it accepts the others is the
/// kernel's decision (newer kernels accept more optional ones).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Seg6Local {
    /// The function (`action`).
    pub action: Seg6LocalAction,
    /// The IPv4 next hop (`nh4`; `End.DX4`).
    pub nh4: Option<std::net::Ipv4Addr>,
    /// The IPv6 next hop (`nh6`; `End.X`, `End.DX6`).
    pub nh6: Option<std::net::Ipv6Addr>,
    /// The table looked up (`table`; `End.T`, `End.DT6`).
    pub table: Option<TableId>,
    /// The table of a VRF device looked up (`vrftable`; `End.DT4`, `End.DT46`, `End.DT6`;
    /// the kernel needs the `net.vrf.strict_mode` sysctl set and a VRF device on the table).
    pub vrf_table: Option<TableId>,
    /// The device the packet leaves by (`oif`; `End.DX2`).
    pub oif: Option<IfIndex>,
    /// The device the packet is seen arriving by (`iif`).
    pub iif: Option<IfIndex>,
    /// The segments of the segment routing header to add, first visited first (`srh segs
    /// S1,S2,…`; `End.B6`, `End.B6.Encaps`): 1 to 127. Empty: no header.
    pub segments: Vec<std::net::Ipv6Addr>,
}

impl Seg6Local {
    /// The function `action` with no parameters yet.
    pub fn new(action: Seg6LocalAction) -> Seg6Local {
        Seg6Local {
            action,
            nh4: None,
            nh6: None,
            table: None,
            vrf_table: None,
            oif: None,
            iif: None,
            segments: Vec::new(),
        }
    }

    /// `End`: the next segment becomes the destination; routed as usual.
    pub fn end() -> Seg6Local {
        Seg6Local::new(Seg6LocalAction::End)
    }

    /// `End.X nh6 NH`: like `End`, then sent to the IPv6 next hop `nh6` (a layer-3
    /// cross-connect).
    pub fn end_x(nh6: std::net::Ipv6Addr) -> Seg6Local {
        Seg6Local {
            nh6: Some(nh6),
            ..Seg6Local::new(Seg6LocalAction::EndX)
        }
    }

    /// `End.T table T`: like `End`, the next segment looked up in `table`.
    pub fn end_t(table: TableId) -> Seg6Local {
        Seg6Local {
            table: Some(table),
            ..Seg6Local::new(Seg6LocalAction::EndT)
        }
    }

    /// `End.DX6 nh6 NH`: the outer header removed, the inner IPv6 packet sent to `nh6`.
    pub fn end_dx6(nh6: std::net::Ipv6Addr) -> Seg6Local {
        Seg6Local {
            nh6: Some(nh6),
            ..Seg6Local::new(Seg6LocalAction::EndDx6)
        }
    }

    /// `End.DX4 nh4 NH`: the outer header removed, the inner IPv4 packet sent to `nh4`.
    pub fn end_dx4(nh4: std::net::Ipv4Addr) -> Seg6Local {
        Seg6Local {
            nh4: Some(nh4),
            ..Seg6Local::new(Seg6LocalAction::EndDx4)
        }
    }

    /// `End.DT6 table T`: the outer header removed, the inner IPv6 packet looked up in
    /// `table`.
    pub fn end_dt6(table: TableId) -> Seg6Local {
        Seg6Local {
            table: Some(table),
            ..Seg6Local::new(Seg6LocalAction::EndDt6)
        }
    }

    /// `End.DT6 vrftable T`: the outer header removed, the inner IPv6 packet looked up in
    /// the VRF whose table is `vrf_table`.
    pub fn end_dt6_vrf(vrf_table: TableId) -> Seg6Local {
        Seg6Local {
            vrf_table: Some(vrf_table),
            ..Seg6Local::new(Seg6LocalAction::EndDt6)
        }
    }

    /// `End.DT4 vrftable T`: the outer header removed, the inner IPv4 packet looked up in
    /// the VRF whose table is `vrf_table`.
    pub fn end_dt4(vrf_table: TableId) -> Seg6Local {
        Seg6Local {
            vrf_table: Some(vrf_table),
            ..Seg6Local::new(Seg6LocalAction::EndDt4)
        }
    }

    /// `End.B6 srh segs S1,S2`: a segment routing header of `segments` inserted (a binding
    /// segment).
    pub fn end_b6(segments: Vec<std::net::Ipv6Addr>) -> Seg6Local {
        Seg6Local {
            segments,
            ..Seg6Local::new(Seg6LocalAction::EndB6)
        }
    }

    /// `End.B6.Encaps srh segs S1,S2`: the packet put in a new outer IPv6 header carrying a
    /// segment routing header of `segments`.
    pub fn end_b6_encaps(segments: Vec<std::net::Ipv6Addr>) -> Seg6Local {
        Seg6Local {
            segments,
            ..Seg6Local::new(Seg6LocalAction::EndB6Encaps)
        }
    }
}

/// A segment routing endpoint function (`SEG6_LOCAL_ACTION_*`, named as iproute2 names
/// them); the parameters each one needs are checked before sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Seg6LocalAction {
    /// `End`: no parameter.
    End,
    /// `End.X`: needs `nh6`.
    EndX,
    /// `End.T`: needs `table`.
    EndT,
    /// `End.DX2`: needs `oif`.
    EndDx2,
    /// `End.DX6`: needs `nh6`.
    EndDx6,
    /// `End.DX4`: needs `nh4`.
    EndDx4,
    /// `End.DT6`: needs `table` or `vrf_table` (one of them).
    EndDt6,
    /// `End.DT4`: needs `vrf_table`.
    EndDt4,
    /// `End.DT46`: needs `vrf_table`.
    EndDt46,
    /// `End.B6`: needs `segments`.
    EndB6,
    /// `End.B6.Encaps`: needs `segments`.
    EndB6Encaps,
    /// A function this version does not name (`End.BM`, `End.BPF`, … as a number); reported
    /// by listings, refused when sent.
    Other(u32),
}

impl Seg6LocalAction {
    /// The kernel's number.
    pub(crate) fn raw(self) -> u32 {
        match self {
            Seg6LocalAction::End => 1,
            Seg6LocalAction::EndX => 2,
            Seg6LocalAction::EndT => 3,
            Seg6LocalAction::EndDx2 => 4,
            Seg6LocalAction::EndDx6 => 5,
            Seg6LocalAction::EndDx4 => 6,
            Seg6LocalAction::EndDt6 => 7,
            Seg6LocalAction::EndDt4 => 8,
            Seg6LocalAction::EndB6 => 9,
            Seg6LocalAction::EndB6Encaps => 10,
            Seg6LocalAction::EndDt46 => 16,
            Seg6LocalAction::Other(v) => v,
        }
    }

    pub(crate) fn from_raw(v: u32) -> Seg6LocalAction {
        match v {
            1 => Seg6LocalAction::End,
            2 => Seg6LocalAction::EndX,
            3 => Seg6LocalAction::EndT,
            4 => Seg6LocalAction::EndDx2,
            5 => Seg6LocalAction::EndDx6,
            6 => Seg6LocalAction::EndDx4,
            7 => Seg6LocalAction::EndDt6,
            8 => Seg6LocalAction::EndDt4,
            9 => Seg6LocalAction::EndB6,
            10 => Seg6LocalAction::EndB6Encaps,
            16 => Seg6LocalAction::EndDt46,
            v => Seg6LocalAction::Other(v),
        }
    }

    /// iproute2's name of the function (`End.X`, …); `None` for [`Seg6LocalAction::Other`].
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Seg6LocalAction::End => "End",
            Seg6LocalAction::EndX => "End.X",
            Seg6LocalAction::EndT => "End.T",
            Seg6LocalAction::EndDx2 => "End.DX2",
            Seg6LocalAction::EndDx6 => "End.DX6",
            Seg6LocalAction::EndDx4 => "End.DX4",
            Seg6LocalAction::EndDt6 => "End.DT6",
            Seg6LocalAction::EndDt4 => "End.DT4",
            Seg6LocalAction::EndDt46 => "End.DT46",
            Seg6LocalAction::EndB6 => "End.B6",
            Seg6LocalAction::EndB6Encaps => "End.B6.Encaps",
            Seg6LocalAction::Other(_) => return None,
        })
    }
}

/// How a segment routing header is added (`encap seg6 mode …`; `SEG6_IPTUN_MODE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Seg6Mode {
    /// Into the packet's own IPv6 header (`inline`; IPv6 packets only).
    Inline,
    /// In a new outer IPv6 header (`encap`).
    Encap,
    /// The Ethernet frame in a new outer IPv6 header (`l2encap`).
    L2Encap,
    /// Like `encap`, without the first segment in the header (`encap.red`).
    EncapReduced,
    /// Like `l2encap`, reduced (`l2encap.red`).
    L2EncapReduced,
    /// A mode this version does not name.
    Other(u32),
}

impl Seg6Mode {
    /// The kernel's number.
    pub(crate) fn raw(self) -> u32 {
        match self {
            Seg6Mode::Inline => 0,
            Seg6Mode::Encap => 1,
            Seg6Mode::L2Encap => 2,
            Seg6Mode::EncapReduced => 3,
            Seg6Mode::L2EncapReduced => 4,
            Seg6Mode::Other(v) => v,
        }
    }

    pub(crate) fn from_raw(v: u32) -> Seg6Mode {
        match v {
            0 => Seg6Mode::Inline,
            1 => Seg6Mode::Encap,
            2 => Seg6Mode::L2Encap,
            3 => Seg6Mode::EncapReduced,
            4 => Seg6Mode::L2EncapReduced,
            v => Seg6Mode::Other(v),
        }
    }
}

/// The preference of an IPv6 route learned from a router advertisement (RFC 4191;
/// `ip -6 route … pref PREF`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RoutePreference {
    /// `low`.
    Low,
    /// `medium`, the default.
    Medium,
    /// `high`.
    High,
    /// A value this version does not name.
    Other(u8),
}

impl RoutePreference {
    /// The kernel's value (`ICMPV6_ROUTER_PREF_*`).
    pub(crate) fn raw(self) -> u8 {
        match self {
            RoutePreference::Low => 3,
            RoutePreference::Medium => 0,
            RoutePreference::High => 1,
            RoutePreference::Other(v) => v,
        }
    }

    pub(crate) fn from_raw(v: u8) -> RoutePreference {
        match v {
            3 => RoutePreference::Low,
            0 => RoutePreference::Medium,
            1 => RoutePreference::High,
            v => RoutePreference::Other(v),
        }
    }
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
            nexthop_id: None,
            tos: 0,
            source: None,
            expires: None,
            preference: None,
            multipath: false,
            encap: None,
        })
    }

    /// Like [`new`](NewRoute::new), but with the host bits of `destination` cleared first
    /// (`10.1.2.3/16` becomes `10.1.0.0/16`), as the kernel itself does for IPv6
    /// destinations. [`new`](NewRoute::new) refuses such a prefix instead, because it usually
    /// means a mistake (an address where a network was meant).
    pub fn new_masked(destination: IpNetwork) -> Result<NewRoute<'a>> {
        let masked = IpNetwork::new(destination.network(), destination.prefix())
            .map_err(|e| Error::invalid("destination", e.to_string()))?;
        NewRoute::new(masked)
    }

    /// A route to `destination` through the nexthop object or group `id`
    /// (`ip route add PREFIX nhid ID`).
    pub fn via_nexthop(destination: IpNetwork, id: u32) -> Result<NewRoute<'a>> {
        Ok(NewRoute {
            nexthop_id: Some(id),
            ..NewRoute::new(destination)?
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
    /// The next hops of a multipath route to delete, all of them in order (`ip route del
    /// PREFIX nexthop via A nexthop via B`); empty matches any. Not with `gateway` or `dev`.
    pub next_hops: &'a [NextHop<'a>],
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
            next_hops: &[],
        }
    }
}

impl<'a> From<&NewRoute<'a>> for RouteKey<'a> {
    /// The key of a route as it was created: destination, table, type, metric, TOS, source
    /// prefix, and the gateway and device of a single next hop.
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
            tos: r.tos,
            source: r.source,
            next_hops: &[],
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
            next_hops: &[],
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
    /// The time left before an IPv6 route expires (`expires`), when it does.
    pub expires: Option<std::time::Duration>,
    /// The router preference of an IPv6 route (`pref`).
    pub preference: Option<RoutePreference>,
    /// Its lightweight tunnel encapsulation (`encap`), if any.
    pub encap: Option<RouteEncap>,
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

/// Which routes [`Handle::routes`](crate::Handle::routes) returns. The default selects every route of every table
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
    /// The type of service / DSCP byte of the packet (`tos` / `dsfield`).
    pub tos: u8,
    /// The user id of the socket sending it (`uid`), for `uidrange` rules.
    pub uid: Option<u32>,
    /// Its IP protocol (`ipproto`), for `ipproto` rules.
    pub ipproto: Option<u8>,
    /// Its source port (`sport`), for `sport` rules and multipath hashing.
    pub sport: Option<u16>,
    /// Its destination port (`dport`).
    pub dport: Option<u16>,
    /// Look up in this VRF (`vrf NAME`: its device as the output interface; not with `oif`).
    pub vrf: Option<LinkRef<'a>>,
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
            tos: 0,
            uid: None,
            ipproto: None,
            sport: None,
            dport: None,
            vrf: None,
        }
    }
}
