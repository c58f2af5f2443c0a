//! Policy routing rules (`ip rule`): add, delete and list, IPv4 and IPv6.
//!
//! Every new namespace starts with the rules `0: lookup local`, `32766: lookup main` and
//! (IPv4 only) `32767: lookup default`.

use ipnetwork::IpNetwork;
use netlink_packet_route::route::RouteProtocol as NlProtocol;
use netlink_packet_route::rule::{RuleAction as NlAction, RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::route::{check_prefix, RouteProtocol};
use crate::types::check_ifname;
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL};
use crate::{Error, Handle, IpFamily, Result, TableId};

/// What a rule does with the packets it selects (`ip rule … ACTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuleAction {
    /// Look the route up in a table (`lookup TABLE`). With [`Rule::l3mdev`], the table is
    /// the VRF's and this is [`TableId::UNSPEC`].
    ToTable(TableId),
    /// Jump to the rule with this priority (`goto PRIORITY`).
    Goto(u32),
    /// Do nothing (`nop`).
    Nop,
    /// Drop silently (`blackhole`).
    Blackhole,
    /// Drop with "network unreachable" (`unreachable`).
    Unreachable,
    /// Drop with "administratively prohibited" (`prohibit`).
    Prohibit,
    /// A value this version does not name.
    Other(u8),
}

impl Default for RuleAction {
    /// `lookup main`.
    fn default() -> Self {
        RuleAction::ToTable(TableId::MAIN)
    }
}

/// A policy rule, to add or delete and as listed (`ip rule add [not] [from P] [to P]
/// [iif I] [oif O] [fwmark M[/MASK]] [tos T] [l3mdev] [pref N] [proto P] ACTION`).
///
/// ```
/// use netplumb::rule::{Rule, RuleAction};
/// use netplumb::TableId;
///
/// // ip rule add from 10.0.0.0/8 fwmark 0x10/0xff lookup 1000 pref 100
/// let r = Rule {
///     priority: Some(100),
///     from: Some("10.0.0.0/8".parse()?),
///     fwmark: Some(0x10),
///     fwmask: Some(0xff),
///     action: RuleAction::ToTable(TableId::new(1000)),
///     ..Rule::default()
/// };
/// # drop(r);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    /// The family; taken from `from`/`to` when they are set, [`IpFamily::V4`] by default
    /// (`ip -6 rule` for IPv6).
    pub family: Option<IpFamily>,
    /// The priority (`pref N`); lower is consulted first. The kernel picks one (just below
    /// the lowest non-zero existing) when `None`. Always set in listed rules.
    pub priority: Option<u32>,
    /// The source prefix (`from PREFIX`), without host bits; any when `None`.
    pub from: Option<IpNetwork>,
    /// The destination prefix (`to PREFIX`), without host bits; any when `None`.
    pub to: Option<IpNetwork>,
    /// The input interface, by name (`iif NAME`); it need not exist yet.
    pub iif: Option<String>,
    /// The output interface, by name (`oif NAME`).
    pub oif: Option<String>,
    /// The firewall mark (`fwmark M`).
    pub fwmark: Option<u32>,
    /// The mask of the firewall mark (`fwmark M/MASK`). The kernel reports `0xffffffff` for a
    /// mark given without a mask.
    pub fwmask: Option<u32>,
    /// The type of service (`tos T`).
    pub tos: u8,
    /// Look up in the table of the VRF the packet is in (`l3mdev`).
    pub l3mdev: bool,
    /// Select the packets that do not match (`not`).
    pub invert: bool,
    /// Who installed the rule (`proto P`); the kernel reports `unspec` when not set.
    pub protocol: Option<RouteProtocol>,
    /// Ignore a lookup result whose prefix is this long or shorter
    /// (`suppress_prefixlength N`).
    pub suppress_prefixlen: Option<u32>,
    /// What to do.
    pub action: RuleAction,
}

impl Rule {
    /// The rule's family: `family`, else that of `from` or `to`, else IPv4.
    pub fn effective_family(&self) -> IpFamily {
        self.family
            .or(self.from.map(|n| IpFamily::of(n.ip())))
            .or(self.to.map(|n| IpFamily::of(n.ip())))
            .unwrap_or(IpFamily::V4)
    }
}

/// Which rules [`Handle::rules`] returns.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleFilter {
    /// Only rules of this family (`ip -4 rule`, `ip -6 rule`); both when `None`.
    pub family: Option<IpFamily>,
    /// Only rules looking up this table (`ip rule show table T`).
    pub table: Option<TableId>,
    /// Only the rule with this priority (`ip rule show pref N`).
    pub priority: Option<u32>,
}

fn family_of(f: IpFamily) -> AddressFamily {
    match f {
        IpFamily::V4 => AddressFamily::Inet,
        IpFamily::V6 => AddressFamily::Inet6,
    }
}

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
    m.header.family = family_of(family);
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

impl Handle {
    /// Adds a policy rule. Equivalent to `ip [-6] rule add …` (see [`Rule`]). A rule that
    /// exists already is an error for which [`Error::is_exists`] is true.
    ///
    /// ```no_run
    /// use netplumb::{Handle, TableId, rule::{Rule, RuleAction}};
    ///
    /// // ip rule add fwmark 0x1 lookup 100 pref 1000
    /// Handle::new()?.add_rule(&Rule {
    ///     priority: Some(1000),
    ///     fwmark: Some(1),
    ///     action: RuleAction::ToTable(TableId::new(100)),
    ///     ..Rule::default()
    /// })?;
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn add_rule(&self, rule: &Rule) -> Result<()> {
        let m = rule_message(rule)?;
        self.ack(
            "add rule",
            RouteNetlinkMessage::NewRule(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Deletes the first rule matching every field that `rule` sets. Equivalent to
    /// `ip [-6] rule del …`. No matching rule is an error for which
    /// [`Error::is_not_found`] is true.
    pub fn delete_rule(&self, rule: &Rule) -> Result<()> {
        let m = rule_message(rule)?;
        self.ack("delete rule", RouteNetlinkMessage::DelRule(m), 0)
    }

    /// Deletes the rule with priority `priority`, whatever it selects and does. Equivalent to
    /// `ip [-6] rule del pref N`. No such rule is an error for which [`Error::is_not_found`]
    /// is true.
    pub fn delete_rule_at(&self, family: IpFamily, priority: u32) -> Result<()> {
        let mut m = RuleMessage::default();
        m.header.family = family_of(family);
        m.header.action = NlAction::Unspec;
        m.attributes.push(RuleAttribute::Priority(priority));
        self.ack("delete rule", RouteNetlinkMessage::DelRule(m), 0)
    }

    /// Lists policy rules in priority order. Equivalent to
    /// `ip [-4|-6] rule show [table T] [pref N]` (both families by default, IPv4 first).
    pub fn rules(&self, filter: &RuleFilter) -> Result<Vec<Rule>> {
        let mut req = RuleMessage::default();
        if let Some(f) = filter.family {
            req.header.family = family_of(f);
        }
        self.dump("list rules", RouteNetlinkMessage::GetRule(req), |msg| {
            let RouteNetlinkMessage::NewRule(m) = msg else {
                return Ok(None);
            };
            let Some(r) = rule_from_message(m) else {
                return Ok(None);
            };
            let keep = filter.family.is_none_or(|f| r.family == Some(f))
                && filter
                    .table
                    .is_none_or(|t| r.action == RuleAction::ToTable(t))
                && filter.priority.is_none_or(|p| r.priority.unwrap_or(0) == p);
            Ok(keep.then_some(r))
        })
    }
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
