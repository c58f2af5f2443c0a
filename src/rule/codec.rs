//! Rule messages (`RTM_NEWRULE`, `RTM_DELRULE`, `RTM_GETRULE`), through
//! `netlink-packet-route`; every input checked before sending.

use ipnetwork::IpNetwork;
use netlink_packet_route::route::RouteProtocol as NlProtocol;
use netlink_packet_route::rule::{
    RuleAction as NlAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange as NlPortRange,
    RuleUidRange as NlUidRange,
};
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

/// `struct fib_rule_hdr` (linux/fib_rules.h): family, dst_len, src_len, tos, table, two
/// reserved bytes, action, flags.
const RULE_HDR_LEN: usize = 12;
/// `FRA_*` (linux/fib_rules.h).
const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_TUN_ID: u16 = 12;
const FRA_SUPPRESS_IFGROUP: u16 = 13;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_L3MDEV: u16 = 19;
const FRA_UID_RANGE: u16 = 20;
const FRA_PROTOCOL: u16 = 21;
const FRA_IP_PROTO: u16 = 22;
const FRA_SPORT_RANGE: u16 = 23;
const FRA_DPORT_RANGE: u16 = 24;
/// `FIB_RULE_INVERT` and the `FR_ACT_*` actions.
const FIB_RULE_INVERT: u32 = 0x2;
const FR_ACT_TO_TBL: u8 = 1;
const FR_ACT_GOTO: u8 = 2;
const FR_ACT_NOP: u8 = 3;
const FR_ACT_BLACKHOLE: u8 = 6;
const FR_ACT_UNREACHABLE: u8 = 7;
const FR_ACT_PROHIBIT: u8 = 8;

/// An interface name attribute as text: up to its NUL, each byte from 0x80 up of a name that
/// is not UTF-8 replaced by `?` (as every text netplumb decodes).
fn name_of(value: &[u8]) -> String {
    let bytes = crate::wire::attr::c_bytes(value);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes
            .iter()
            .map(|&b| if b < 0x80 { b as char } else { '?' })
            .collect(),
    }
}

/// Decodes a rule message (`RTM_NEWRULE`, `RTM_DELRULE`) from its payload (what follows
/// `struct nlmsghdr`). Rules of other families are `None`; a message too short for its header,
/// with broken attributes or with an attribute of the wrong size is an error.
pub(crate) fn rule_from_bytes(payload: &[u8]) -> std::result::Result<Option<Rule>, String> {
    use crate::wire::attr;
    if payload.len() < RULE_HDR_LEN {
        return Err(format!("a rule message of {} bytes", payload.len()));
    }
    let family = match i32::from(payload[0]) {
        libc::AF_INET => IpFamily::V4,
        libc::AF_INET6 => IpFamily::V6,
        _ => return Ok(None),
    };
    let (dst_len, src_len) = (payload[1], payload[2]);
    let mut r = Rule {
        family: Some(family),
        // The kernel leaves out the priority 0 of the `local` rule.
        priority: Some(0),
        tos: payload[3],
        invert: attr::u32_at(payload, 8) & FIB_RULE_INVERT != 0,
        ..Rule::default()
    };
    let mut table = u32::from(payload[4]);
    let mut goto = None;
    let u32_of = |ty: u16, v: &[u8]| {
        attr::u32_of(v).ok_or_else(|| format!("rule attribute {ty} of {} bytes", v.len()))
    };
    for at in attr::attrs(&payload[RULE_HDR_LEN..]) {
        let (ty, v) = at?;
        match ty {
            FRA_PRIORITY => r.priority = Some(u32_of(ty, v)?),
            FRA_SRC => r.from = IpNetwork::new(attr::ip_of(family, v)?, src_len).ok(),
            FRA_DST => r.to = IpNetwork::new(attr::ip_of(family, v)?, dst_len).ok(),
            FRA_IIFNAME => r.iif = Some(name_of(v)),
            FRA_OIFNAME => r.oif = Some(name_of(v)),
            FRA_FWMARK => r.fwmark = Some(u32_of(ty, v)?),
            FRA_FWMASK => r.fwmask = Some(u32_of(ty, v)?),
            FRA_L3MDEV => r.l3mdev = v.first().ok_or("an empty FRA_L3MDEV")? > &0,
            FRA_PROTOCOL => {
                let p = *v.first().ok_or("an empty FRA_PROTOCOL")?;
                r.protocol = (p != 0).then_some(RouteProtocol(p));
            }
            // The kernel reports "not set" as -1.
            FRA_SUPPRESS_PREFIXLEN => {
                r.suppress_prefixlen = Some(u32_of(ty, v)?).filter(|&s| s != u32::MAX)
            }
            FRA_SUPPRESS_IFGROUP => {
                r.suppress_ifgroup = Some(u32_of(ty, v)?).filter(|&g| g != u32::MAX)
            }
            FRA_TABLE => table = u32_of(ty, v)?,
            FRA_GOTO => goto = Some(u32_of(ty, v)?),
            FRA_IP_PROTO => r.ipproto = Some(*v.first().ok_or("an empty FRA_IP_PROTO")?),
            FRA_SPORT_RANGE | FRA_DPORT_RANGE => {
                let b = v.get(..4).ok_or("a port range of fewer than 4 bytes")?;
                let range = RulePortRange {
                    start: attr::u16_at(b, 0),
                    end: attr::u16_at(b, 2),
                };
                if ty == FRA_SPORT_RANGE {
                    r.sport = Some(range);
                } else {
                    r.dport = Some(range);
                }
            }
            FRA_UID_RANGE => {
                let b = v.get(..8).ok_or("a UID range of fewer than 8 bytes")?;
                r.uid_range = Some(RuleUidRange {
                    start: attr::u32_at(b, 0),
                    end: attr::u32_at(b, 4),
                });
            }
            // Network byte order, as the kernel keeps it.
            FRA_TUN_ID => {
                let b: [u8; 8] = v
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or("a tunnel id of fewer than 8 bytes")?;
                r.tun_id = Some(u64::from_be_bytes(b));
            }
            _ => {}
        }
    }
    r.action = match payload[7] {
        FR_ACT_TO_TBL => RuleAction::ToTable(TableId::new(table)),
        FR_ACT_GOTO => RuleAction::Goto(goto.unwrap_or(0)),
        FR_ACT_NOP => RuleAction::Nop,
        FR_ACT_BLACKHOLE => RuleAction::Blackhole,
        FR_ACT_UNREACHABLE => RuleAction::Unreachable,
        FR_ACT_PROHIBIT => RuleAction::Prohibit,
        other => RuleAction::Other(other),
    };
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rule_message(r)` as the kernel's bytes, decoded back.
    fn round_trip(r: &Rule) -> Rule {
        use netlink_packet_core::Emitable;
        let m = rule_message(r).unwrap();
        let mut b = vec![0; m.buffer_len()];
        m.emit(&mut b);
        rule_from_bytes(&b).unwrap().unwrap()
    }

    #[test]
    fn every_field_reads_back_from_the_bytes() {
        let r = Rule {
            family: Some(IpFamily::V6),
            priority: Some(42),
            from: Some("2001:db8::/32".parse().unwrap()),
            to: Some("fd00::/8".parse().unwrap()),
            iif: Some("eth-in".into()),
            oif: Some("eth-out".into()),
            fwmark: Some(7),
            fwmask: Some(0xf),
            tos: 0,
            suppress_prefixlen: Some(0),
            suppress_ifgroup: Some(3),
            ipproto: Some(6),
            sport: Some(RulePortRange {
                start: 1000,
                end: 2000,
            }),
            dport: Some(RulePortRange {
                start: 443,
                end: 443,
            }),
            uid_range: Some(RuleUidRange {
                start: 100,
                end: 200,
            }),
            tun_id: Some(0x0102_0304_0506_0708),
            action: RuleAction::Prohibit,
            ..Rule::default()
        };
        assert_eq!(round_trip(&r), r);

        // Hostile: short, another family, a priority of 2 bytes, a port range of 3.
        assert!(rule_from_bytes(&[2, 0, 0]).is_err());
        let mut hdr = [0u8; RULE_HDR_LEN];
        hdr[0] = libc::AF_BRIDGE as u8;
        assert_eq!(rule_from_bytes(&hdr), Ok(None));
        hdr[0] = libc::AF_INET as u8;
        let with = |ty: u16, v: &[u8]| {
            let mut b = hdr.to_vec();
            b.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
            b.extend_from_slice(&ty.to_ne_bytes());
            b.extend_from_slice(v);
            b.resize(b.len().div_ceil(4) * 4, 0);
            b
        };
        assert!(rule_from_bytes(&with(FRA_PRIORITY, &[1, 0])).is_err());
        assert!(rule_from_bytes(&with(FRA_SPORT_RANGE, &[1, 0, 2])).is_err());
        assert!(rule_from_bytes(&with(FRA_SRC, &[10, 0, 0])).is_err());
        // A name that is not UTF-8 reads with `?` in place of its high bytes.
        let r = rule_from_bytes(&with(FRA_IIFNAME, b"v\xff0\0"))
            .unwrap()
            .unwrap();
        assert_eq!(r.iif.as_deref(), Some("v?0"));
    }

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
        let back = round_trip(&r);
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
        assert_eq!(round_trip(&g), g);
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
