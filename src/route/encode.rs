//! Route requests: `RTM_NEWROUTE` (add, replace, append), `RTM_DELROUTE`, and the
//! `RTM_GETROUTE` of a dump or a lookup, encoded through `netlink-packet-route`. Every input
//! is checked here, before anything is sent; devices are resolved by the caller's `index`.

use std::net::IpAddr;

use netlink_packet_route::route::{
    MplsLabel, RouteAddress, RouteAttribute, RouteFlags as NlRouteFlags, RouteHeader,
    RouteLwEnCapType, RouteLwTunnelEncap, RouteMessage, RouteMetric, RouteMplsIpTunnel,
    RouteNextHop as NlNextHop, RouteNextHopFlags, RoutePreference as NlPreference,
    RouteProtocol as NlProtocol, RouteScope as NlScope, RouteSeg6IpTunnel, RouteSeg6LocalTunnel,
    RouteType as NlType, RouteVia, Seg6Header, Seg6LocalAction as NlSeg6LocalAction, Seg6LocalSrh,
    Seg6Mode as NlSeg6Mode,
};

use super::{
    NewRoute, NextHop, NextHopFlags, RouteEncap, RouteFilter, RouteFlags, RouteKey, RouteQuery,
    RouteScope, RouteType, Seg6Local, Seg6LocalAction, Seg6Mode, MAX_NEXT_HOP_BYTES,
};
use crate::types::check_prefix;
use crate::wire::address_family;
use crate::wire::kernel::rtax;
use crate::{Error, IfIndex, IpFamily, LinkRef, Result, TableId};

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

/// The bytes one next hop takes in `RTA_MULTIPATH`: `struct rtnexthop` and its gateway.
fn hop_len(hop: &NextHop<'_>) -> usize {
    let addr = |ip: IpAddr| if ip.is_ipv4() { 4 } else { 16 };
    let gateway = hop.gateway.map_or(0, |g| 4 + addr(g));
    // struct rtvia: a 16-bit family and the address, padded to 4 bytes.
    let via = hop.via.map_or(0, |v| (4 + 2 + addr(v) + 3) & !3);
    8 + gateway + via
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
    let hop_bytes: usize = r.next_hops.iter().map(hop_len).sum();
    if hop_bytes > MAX_NEXT_HOP_BYTES {
        return Err(Error::invalid(
            "next hops",
            format!(
                "{} next hops take {hop_bytes} bytes; a route's next hops may take at most \
                 {MAX_NEXT_HOP_BYTES} (212 IPv4 or 121 IPv6 gateways), or it cannot be listed \
                 back by every reader (see MAX_NEXT_HOP_BYTES)",
                r.next_hops.len()
            ),
        ));
    }
    if family == IpFamily::V6 && r.tos != 0 {
        return Err(Error::invalid(
            "tos",
            "IPv6 routes have no TOS (the kernel refuses it; use a rule's tos to select by it)",
        ));
    }
    if let Some(src) = r.source {
        check_prefix("source", src)?;
        if family != IpFamily::V6 || IpFamily::of(src.ip()) != family {
            return Err(Error::invalid(
                "source",
                "a source prefix (`from`) is for IPv6 routes, of their family",
            ));
        }
    }
    if family == IpFamily::V4 && (r.expires.is_some() || r.preference.is_some()) {
        return Err(Error::invalid(
            if r.expires.is_some() {
                "expires"
            } else {
                "preference"
            },
            "IPv4 routes have no expiry or router preference (IPv6 only)",
        ));
    }
    let expires = match r.expires {
        Some(d) => Some(
            u32::try_from(d.as_secs())
                .ok()
                .filter(|s| *s > 0 && *s < i32::MAX as u32 / 1000)
                .ok_or_else(|| {
                    Error::invalid(
                        "expires",
                        format!(
                            "{d:?}: an expiry is 1 s to {} s",
                            i32::MAX as u32 / 1000 - 1
                        ),
                    )
                })?,
        ),
        None => None,
    };
    if let Some(e) = &r.encap {
        check_encap(e)?;
        if r.next_hops.len() != 1 {
            return Err(Error::invalid(
                "encap",
                "an encapsulated route has one next hop (per-hop encapsulation is not supported)",
            ));
        }
    }
    if let Some(id) = r.nexthop_id {
        if id == 0 {
            return Err(Error::invalid(
                "nexthop id",
                "nexthop ids start at 1 (0 is not an id)",
            ));
        }
        if !r.next_hops.is_empty() {
            return Err(Error::invalid(
                "next hops",
                format!("a route through nexthop object {id} (nhid) has no next hops of its own"),
            ));
        }
    }
    let has_hops = matches!(r.kind, RouteType::Unicast | RouteType::Unspec);
    if has_hops && r.next_hops.is_empty() && r.nexthop_id.is_none() {
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
    if let Some(c) = r.metrics.congctl.as_deref() {
        // TCP_CA_NAME_MAX (linux/tcp.h) is 16 bytes with the NUL.
        if c.is_empty() || c.contains('\0') || c.len() > 15 {
            return Err(Error::invalid(
                "congctl",
                format!("{c:?}: a congestion control name is 1 to 15 bytes, without NUL"),
            ));
        }
    }

    let mut msg = RouteMessage::default();
    msg.header.address_family = address_family(family);
    msg.header.destination_prefix_length = r.destination.prefix();
    msg.header.protocol = NlProtocol::from(r.protocol.0);
    msg.header.kind = NlType::from(u8::from(r.kind));
    let any_gateway = gateways.iter().any(Option::is_some);
    // As iproute2: IPv6 routes are always `global` (the kernel has no IPv6 route scope).
    let scope = r.scope.unwrap_or(match r.kind {
        _ if family == IpFamily::V6 => RouteScope::Universe,
        RouteType::Local | RouteType::Nat => RouteScope::Host,
        RouteType::Broadcast | RouteType::Multicast | RouteType::Anycast => RouteScope::Link,
        RouteType::Unicast | RouteType::Unspec if !any_gateway && r.nexthop_id.is_none() => {
            RouteScope::Link
        }
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
    // In iproute2's order (`expires S pref P dev D`): before the device.
    if let Some(e) = expires {
        msg.attributes.push(RouteAttribute::Expires(e));
    }
    if let Some(p) = r.preference {
        msg.attributes
            .push(RouteAttribute::Preference(NlPreference::from(p.raw())));
    }
    msg.header.tos = r.tos;
    if let Some(src) = r.source {
        msg.header.source_prefix_length = src.prefix();
        if src.prefix() > 0 {
            msg.attributes
                .push(RouteAttribute::Source(route_address(src.ip())));
        }
    }
    let multipath =
        r.multipath || r.next_hops.len() > 1 || r.next_hops.first().is_some_and(|h| h.weight != 1);
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
    if let Some(RouteEncap::Mpls { labels, ttl }) = &r.encap {
        let mut encap = vec![RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Destination(
            label_stack(labels),
        ))];
        if let Some(t) = ttl {
            encap.push(RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Ttl(*t)));
        }
        msg.attributes
            .push(RouteAttribute::EncapType(RouteLwEnCapType::Mpls));
        msg.attributes.push(RouteAttribute::Encap(encap));
    }
    if let Some(RouteEncap::Seg6 { mode, segments }) = &r.encap {
        let mut header = Seg6Header::default();
        header.mode = match mode {
            Seg6Mode::Inline => NlSeg6Mode::Inline,
            Seg6Mode::Encap => NlSeg6Mode::Encap,
            other => NlSeg6Mode::Other(other.raw()),
        };
        header.segments = segments.clone();
        msg.attributes
            .push(RouteAttribute::EncapType(RouteLwEnCapType::Seg6));
        msg.attributes
            .push(RouteAttribute::Encap(vec![RouteLwTunnelEncap::Seg6(
                RouteSeg6IpTunnel::Seg6(header),
            )]));
    }
    if let Some(RouteEncap::Seg6Local(l)) = &r.encap {
        msg.attributes
            .push(RouteAttribute::EncapType(RouteLwEnCapType::Seg6Local));
        msg.attributes
            .push(RouteAttribute::Encap(seg6local_attrs(l)));
    }
    set_table(&mut msg, r.table);
    if let Some(id) = r.nexthop_id {
        msg.attributes.push(RouteAttribute::NhId(id));
    }

    if multipath {
        msg.attributes
            .push(multipath_attr(&r.next_hops, gateways, &mut index)?);
    }
    if !r.metrics.is_empty() {
        let mut m: Vec<RouteMetric> = Vec::new();
        for (ty, v) in r.metrics.numeric() {
            let Some(v) = v else { continue };
            m.push(match ty {
                rtax::LOCK => RouteMetric::Lock(v),
                rtax::MTU => RouteMetric::Mtu(v),
                rtax::WINDOW => RouteMetric::Window(v),
                rtax::RTT => RouteMetric::Rtt(v),
                rtax::RTTVAR => RouteMetric::RttVar(v),
                rtax::SSTHRESH => RouteMetric::SsThresh(v),
                rtax::CWND => RouteMetric::Cwnd(v),
                rtax::ADVMSS => RouteMetric::Advmss(v),
                rtax::REORDERING => RouteMetric::Reordering(v),
                rtax::HOPLIMIT => RouteMetric::Hoplimit(v),
                rtax::INITCWND => RouteMetric::InitCwnd(v),
                rtax::FEATURES => RouteMetric::Features(v),
                rtax::RTO_MIN => RouteMetric::RtoMin(v),
                rtax::INITRWND => RouteMetric::InitRwnd(v),
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

/// The most segments of a segment routing header (its length, in 8-byte units less one, is a
/// byte: 2 units a segment).
pub(crate) const MAX_SEGMENTS: usize = 127;

/// The most labels the kernel pushes or swaps in (`MAX_NEW_LABELS`, net/mpls/internal.h).
pub(crate) const MAX_LABELS: usize = 30;

/// The largest MPLS label (20 bits).
pub(crate) const MAX_LABEL: u32 = (1 << 20) - 1;

/// Checks a label stack: 1 to 30 labels of 20 bits.
pub(crate) fn check_labels(arg: &'static str, labels: &[u32]) -> Result<()> {
    if labels.is_empty() || labels.len() > MAX_LABELS {
        return Err(Error::invalid(
            arg,
            format!("{} labels; 1 to {MAX_LABELS} are pushed", labels.len()),
        ));
    }
    if let Some(l) = labels.iter().find(|l| **l > MAX_LABEL) {
        return Err(Error::invalid(
            arg,
            format!("label {l} does not fit 20 bits (at most {MAX_LABEL})"),
        ));
    }
    Ok(())
}

fn check_encap(e: &RouteEncap) -> Result<()> {
    match e {
        RouteEncap::Mpls { labels, .. } => check_labels("encap", labels),
        RouteEncap::Seg6 { segments, .. } => {
            if segments.is_empty() || segments.len() > MAX_SEGMENTS {
                return Err(Error::invalid(
                    "encap",
                    format!(
                        "{} segments; a segment routing header holds 1 to {MAX_SEGMENTS}",
                        segments.len()
                    ),
                ));
            }
            Ok(())
        }
        RouteEncap::Seg6Local(l) => check_seg6local(l),
        RouteEncap::Other(t) => Err(Error::invalid(
            "encap",
            format!("encapsulation type {t} cannot be sent by this version"),
        )),
    }
}

/// Checks a local segment routing function: the parameters its action needs are there.
fn check_seg6local(l: &Seg6Local) -> Result<()> {
    let name = l.action.name().unwrap_or("this action");
    let need = |what: &str| {
        Err(Error::invalid(
            "encap",
            format!("seg6local {name} needs {what}"),
        ))
    };
    match l.action {
        Seg6LocalAction::End => {}
        Seg6LocalAction::EndX | Seg6LocalAction::EndDx6 if l.nh6.is_none() => {
            return need("an IPv6 next hop (nh6)")
        }
        Seg6LocalAction::EndDx4 if l.nh4.is_none() => return need("an IPv4 next hop (nh4)"),
        Seg6LocalAction::EndT if l.table.is_none() => return need("a table"),
        Seg6LocalAction::EndDx2 if l.oif.is_none() => return need("an output device (oif)"),
        Seg6LocalAction::EndDt4 | Seg6LocalAction::EndDt46 if l.vrf_table.is_none() => {
            return need("a VRF table (vrftable)")
        }
        Seg6LocalAction::EndDt6 if l.table.is_some() == l.vrf_table.is_some() => {
            return need("either a table or a VRF table (vrftable), not both")
        }
        Seg6LocalAction::EndB6 | Seg6LocalAction::EndB6Encaps if l.segments.is_empty() => {
            return need("segments (srh segs)")
        }
        Seg6LocalAction::Other(a) => {
            return Err(Error::invalid(
                "encap",
                format!("seg6local action {a} cannot be sent by this version"),
            ))
        }
        _ => {}
    }
    if l.segments.len() > MAX_SEGMENTS {
        return Err(Error::invalid(
            "encap",
            format!(
                "{} segments; a segment routing header holds 1 to {MAX_SEGMENTS}",
                l.segments.len()
            ),
        ));
    }
    Ok(())
}

/// A local segment routing function's attributes (`SEG6_LOCAL_*`), in iproute2's order; the
/// header as iproute2 builds it (type 4, no flags, segments last first).
fn seg6local_attrs(l: &Seg6Local) -> Vec<RouteLwTunnelEncap> {
    let mut a = vec![RouteSeg6LocalTunnel::Action(NlSeg6LocalAction::from(
        l.action.raw(),
    ))];
    if !l.segments.is_empty() {
        let mut srh = Seg6LocalSrh::default();
        let last = u8::try_from(l.segments.len() - 1).unwrap_or(u8::MAX);
        srh.routing_type = 4;
        srh.segments_left = last;
        srh.first_segment = last;
        srh.segments = l.segments.iter().rev().copied().collect();
        a.push(RouteSeg6LocalTunnel::Srh(srh));
    }
    if let Some(t) = l.table {
        a.push(RouteSeg6LocalTunnel::Table(t.get()));
    }
    if let Some(t) = l.vrf_table {
        a.push(RouteSeg6LocalTunnel::VrfTable(t.get()));
    }
    if let Some(nh) = l.nh4 {
        a.push(RouteSeg6LocalTunnel::Nh4(nh));
    }
    if let Some(nh) = l.nh6 {
        a.push(RouteSeg6LocalTunnel::Nh6(nh));
    }
    if let Some(i) = l.iif {
        a.push(RouteSeg6LocalTunnel::Iif(i.get()));
    }
    if let Some(i) = l.oif {
        a.push(RouteSeg6LocalTunnel::Oif(i.get()));
    }
    a.into_iter().map(RouteLwTunnelEncap::Seg6Local).collect()
}

/// A label stack as `netlink-packet-route` writes it: the last label is the bottom of stack.
pub(crate) fn label_stack(labels: &[u32]) -> Vec<MplsLabel> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| MplsLabel {
            label: *l,
            traffic_class: 0,
            bottom_of_stack: i + 1 == labels.len(),
            ttl: 0,
        })
        .collect()
}

/// `RTA_MULTIPATH` for `hops`, whose gateway attributes `hop_gateway` made.
fn multipath_attr(
    hops: &[NextHop<'_>],
    gateways: Vec<Option<RouteAttribute>>,
    index: &mut impl FnMut(LinkRef<'_>) -> Result<IfIndex>,
) -> Result<RouteAttribute> {
    let mut out = Vec::with_capacity(hops.len());
    for (hop, gw) in hops.iter().zip(gateways) {
        let mut nh = NlNextHop::default();
        nh.hops = (hop.weight - 1) as u8;
        if let Some(dev) = hop.dev {
            nh.interface_index = index(dev)?.get();
        }
        if hop.onlink {
            nh.flags = RouteNextHopFlags::from_bits_retain(NextHopFlags::ONLINK.bits());
        }
        nh.attributes.extend(gw);
        out.push(nh);
    }
    Ok(RouteAttribute::MultiPath(out))
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
    msg.header.address_family = address_family(family);
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
    if !k.next_hops.is_empty() {
        if k.gateway.is_some() || k.dev.is_some() {
            return Err(Error::invalid(
                "next_hops",
                "name a multipath route's next hops, or one gateway and device, not both",
            ));
        }
        let gateways = k
            .next_hops
            .iter()
            .map(|h| hop_gateway(family, h))
            .collect::<Result<Vec<_>>>()?;
        msg.attributes
            .push(multipath_attr(k.next_hops, gateways, &mut index)?);
    }
    Ok(msg)
}

/// The `RTM_GETROUTE` dump request for `filter` (with `dev` resolved), the table, protocol,
/// type and device set for the kernel's strict filtering.
pub(crate) fn dump_message(filter: &RouteFilter<'_>, dev: Option<IfIndex>) -> RouteMessage {
    let mut req = RouteMessage::default();
    if let Some(f) = filter.family {
        req.header.address_family = address_family(f);
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
    req
}

/// The `RTM_GETROUTE` lookup request for `q` (`ip route get`), with `iif` and `oif`
/// resolved; the query's families are checked.
pub(crate) fn query_message(
    q: &RouteQuery<'_>,
    iif: Option<IfIndex>,
    oif: Option<IfIndex>,
) -> Result<RouteMessage> {
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
    let mut msg = RouteMessage::default();
    msg.header.address_family = address_family(family);
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
    msg.header.tos = q.tos;
    if let Some(u) = q.uid {
        msg.attributes.push(RouteAttribute::Uid(u));
    }
    if let Some(p) = q.ipproto {
        msg.attributes.push(RouteAttribute::IpProto(p));
    }
    if let Some(p) = q.sport {
        msg.attributes.push(RouteAttribute::Sport(p));
    }
    if let Some(p) = q.dport {
        msg.attributes.push(RouteAttribute::Dport(p));
    }
    Ok(msg)
}
