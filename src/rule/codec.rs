//! Rule messages (`RTM_NEWRULE`, `RTM_DELRULE`, `RTM_GETRULE`), through
//! `netlink-packet-route`; every input checked before sending.

use ipnetwork::IpNetwork;
use netlink_packet_route::route::RouteProtocol as NlProtocol;
use netlink_packet_route::rule::{
    RuleAction as NlAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange as NlPortRange,
    RuleUidRange as NlUidRange,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::IpProtocol;

use super::types::{Rule, RuleAction, RulePortRange, RuleUidRange};
use crate::route::RouteProtocol;
use crate::types::{check_ifname, check_prefix};
use crate::wire::address_family;
use crate::{Error, IpFamily, Result, TableId};

/// The `RTM_NEWRULE`/`RTM_DELRULE` body for `r`.
pub(crate) fn rule_message(r: &Rule) -> Result<RuleMessage> {
    let family = r.effective_family();
    for (arg, net) in [("from", r.from), ("to", r.to)] {
        if let Some(n) = net {
            check_prefix(arg, n)?;
            if IpFamily::of(n.ip()) != family {
                return Err(Error::invalid(
                    arg,
                    format!("{n} is not of the rule's family ({family:?})"),
                ));
            }
        }
    }
    if let Some(i) = &r.iif {
        check_ifname("iif", i)?;
    }
    if let Some(o) = &r.oif {
        check_ifname("oif", o)?;
    }
    for (arg, range) in [("sport", r.sport), ("dport", r.dport)] {
        if let Some(p) = range {
            if p.start > p.end {
                return Err(Error::invalid(
                    arg,
                    format!("{}-{}: the range is reversed", p.start, p.end),
                ));
            }
        }
    }
    if let Some(u) = r.uid_range {
        if u.start > u.end {
            return Err(Error::invalid(
                "uid_range",
                format!("{}-{}: the range is reversed", u.start, u.end),
            ));
        }
    }
    if r.fwmask.is_some() && r.fwmark.is_none() {
        return Err(Error::invalid("fwmask", "a mask needs a fwmark"));
    }
    if r.l3mdev && !matches!(r.action, RuleAction::ToTable(TableId::UNSPEC)) {
        return Err(Error::invalid(
            "l3mdev",
            "an l3mdev rule looks up the VRF's table; its action must be ToTable(TableId::UNSPEC)",
        ));
    }
    let mut m = RuleMessage::default();
    m.header.family = address_family(family);
    m.header.tos = r.tos;
    if r.invert {
        m.header.flags = RuleFlags::Invert;
    }
    let mut table = None;
    m.header.action = match r.action {
        RuleAction::ToTable(t) => {
            table = Some(t);
            NlAction::ToTable
        }
        RuleAction::Goto(_) => NlAction::Goto,
        RuleAction::Nop => NlAction::Nop,
        RuleAction::Blackhole => NlAction::Blackhole,
        RuleAction::Unreachable => NlAction::Unreachable,
        RuleAction::Prohibit => NlAction::Prohibit,
        RuleAction::Other(v) => NlAction::from(v),
    };
    if let Some(p) = r.priority {
        m.attributes.push(RuleAttribute::Priority(p));
    }
    if let Some(n) = r.from {
        m.header.src_len = n.prefix();
        if n.prefix() > 0 {
            m.attributes.push(RuleAttribute::Source(n.ip()));
        }
    }
    if let Some(n) = r.to {
        m.header.dst_len = n.prefix();
        if n.prefix() > 0 {
            m.attributes.push(RuleAttribute::Destination(n.ip()));
        }
    }
    if let Some(i) = &r.iif {
        m.attributes.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &r.oif {
        m.attributes.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(f) = r.fwmark {
        m.attributes.push(RuleAttribute::FwMark(f));
    }
    if let Some(f) = r.fwmask {
        m.attributes.push(RuleAttribute::FwMask(f));
    }
    if r.l3mdev {
        m.attributes.push(RuleAttribute::L3MDev(true));
    }
    if let Some(p) = r.protocol {
        m.attributes
            .push(RuleAttribute::Protocol(NlProtocol::from(p.0)));
    }
    if let Some(s) = r.suppress_prefixlen {
        m.attributes.push(RuleAttribute::SuppressPrefixLen(s));
    }
    if let Some(g) = r.suppress_ifgroup {
        m.attributes.push(RuleAttribute::SuppressIfGroup(g));
    }
    if let Some(p) = r.ipproto {
        m.attributes
            .push(RuleAttribute::IpProtocol(IpProtocol::from(p)));
    }
    if let Some(p) = r.sport {
        m.attributes
            .push(RuleAttribute::SourcePortRange(NlPortRange {
                start: p.start,
                end: p.end,
            }));
    }
    if let Some(p) = r.dport {
        m.attributes
            .push(RuleAttribute::DestinationPortRange(NlPortRange {
                start: p.start,
                end: p.end,
            }));
    }
    if let Some(u) = r.uid_range {
        m.attributes.push(RuleAttribute::UidRange(NlUidRange {
            start: u.start,
            end: u.end,
        }));
    }
    if let Some(t) = r.tun_id {
        m.attributes.push(RuleAttribute::TunId(t));
    }
    if let RuleAction::Goto(target) = r.action {
        m.attributes.push(RuleAttribute::Goto(target));
    }
    if let Some(t) = table.filter(|t| *t != TableId::UNSPEC) {
        // As iproute2: ids up to 255 in the header, larger ones in FRA_TABLE.
        match u8::try_from(t.get()) {
            Ok(small) => m.header.table = small,
            Err(_) => m.attributes.push(RuleAttribute::Table(t.get())),
        }
    }
    Ok(m)
}

pub(crate) fn rule_from_message(m: RuleMessage) -> Option<Rule> {
    let family = match m.header.family {
        AddressFamily::Inet => IpFamily::V4,
        AddressFamily::Inet6 => IpFamily::V6,
        _ => return None,
    };
    let mut r = Rule {
        family: Some(family),
        // The kernel leaves out the priority 0 of the `local` rule.
        priority: Some(0),
        tos: m.header.tos,
        invert: m.header.flags.contains(RuleFlags::Invert),
        ..Rule::default()
    };
    let mut table = u32::from(m.header.table);
    let mut goto = None;
    for a in m.attributes {
        match a {
            RuleAttribute::Priority(p) => r.priority = Some(p),
            RuleAttribute::Source(ip) => r.from = IpNetwork::new(ip, m.header.src_len).ok(),
            RuleAttribute::Destination(ip) => r.to = IpNetwork::new(ip, m.header.dst_len).ok(),
            RuleAttribute::Iifname(i) => r.iif = Some(i),
            RuleAttribute::Oifname(o) => r.oif = Some(o),
            RuleAttribute::FwMark(f) => r.fwmark = Some(f),
            RuleAttribute::FwMask(f) => r.fwmask = Some(f),
            RuleAttribute::L3MDev(b) => r.l3mdev = b,
            RuleAttribute::Protocol(p) => {
                let p = u8::from(p);
                r.protocol = (p != 0).then_some(RouteProtocol(p));
            }
            RuleAttribute::SuppressPrefixLen(s) => {
                // The kernel reports "not set" as -1.
                r.suppress_prefixlen = (s != u32::MAX).then_some(s);
            }
            RuleAttribute::Table(t) => table = t,
            RuleAttribute::Goto(g) => goto = Some(g),
            RuleAttribute::SuppressIfGroup(g) => {
                // The kernel reports "not set" as -1.
                r.suppress_ifgroup = (g != u32::MAX).then_some(g);
            }
            RuleAttribute::IpProtocol(p) => r.ipproto = Some(u8::from(p)),
            RuleAttribute::SourcePortRange(p) => {
                r.sport = Some(RulePortRange {
                    start: p.start,
                    end: p.end,
                })
            }
            RuleAttribute::DestinationPortRange(p) => {
                r.dport = Some(RulePortRange {
                    start: p.start,
                    end: p.end,
                })
            }
            RuleAttribute::UidRange(u) => {
                r.uid_range = Some(RuleUidRange {
                    start: u.start,
                    end: u.end,
                })
            }
            RuleAttribute::TunId(t) => r.tun_id = Some(t),
            _ => {}
        }
    }
    r.action = match m.header.action {
        NlAction::ToTable => RuleAction::ToTable(TableId::new(table)),
        NlAction::Goto => RuleAction::Goto(goto.unwrap_or(0)),
        NlAction::Nop => RuleAction::Nop,
        NlAction::Blackhole => RuleAction::Blackhole,
        NlAction::Unreachable => RuleAction::Unreachable,
        NlAction::Prohibit => RuleAction::Prohibit,
        other => RuleAction::Other(u8::from(other)),
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_round_trip_and_checks() {
        let r = Rule {
            priority: Some(100),
            from: Some("10.0.0.0/8".parse().unwrap()),
            to: Some("192.168.0.0/16".parse().unwrap()),
            iif: Some("v0".into()),
            fwmark: Some(0x10),
            fwmask: Some(0xff),
            invert: true,
            protocol: Some(RouteProtocol::BIRD),
            action: RuleAction::ToTable(TableId::new(100_000)),
            ..Rule::default()
        };
        let back = rule_from_message(rule_message(&r).unwrap()).unwrap();
        assert_eq!(
            back,
            Rule {
                family: Some(IpFamily::V4),
                ..r.clone()
            }
        );
        let g = Rule {
            priority: Some(7),
            action: RuleAction::Goto(300),
            family: Some(IpFamily::V6),
            ..Rule::default()
        };
        assert_eq!(rule_from_message(rule_message(&g).unwrap()).unwrap(), g);
        let bad = Rule {
            from: Some("10.0.0.1/8".parse().unwrap()),
            ..Rule::default()
        };
        assert!(matches!(
            rule_message(&bad),
            Err(Error::InvalidInput { arg: "from", .. })
        ));
        let mixed = Rule {
            from: Some("10.0.0.0/8".parse().unwrap()),
            to: Some("fd00::/8".parse().unwrap()),
            ..Rule::default()
        };
        assert!(matches!(
            rule_message(&mixed),
            Err(Error::InvalidInput { arg: "to", .. })
        ));
    }
}
