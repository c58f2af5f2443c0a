//! Rule types: a policy rule ([`Rule`], the same type to add, delete and as the kernel reports
//! it, since the fields are the same) and the listing's selector.

use ipnetwork::IpNetwork;

use crate::route::RouteProtocol;
use crate::{IpFamily, TableId};

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
    /// Ignore a lookup result whose device is in this group (`suppress_ifgroup G`).
    pub suppress_ifgroup: Option<u32>,
    /// Only packets of this IP protocol (`ipproto N`: 6 TCP, 17 UDP, …).
    pub ipproto: Option<u8>,
    /// Only packets from these source ports (`sport A[-B]`).
    pub sport: Option<RulePortRange>,
    /// Only packets to these destination ports (`dport A[-B]`).
    pub dport: Option<RulePortRange>,
    /// Only packets of sockets owned by these user ids (`uidrange A-B`).
    pub uid_range: Option<RuleUidRange>,
    /// Only packets of this tunnel id (`tun_id N`; metadata tunnels).
    pub tun_id: Option<u64>,
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

/// An inclusive range of ports (`sport 1000-2000`; one port is a range of one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RulePortRange {
    /// The first port.
    pub start: u16,
    /// The last port, at least `start`.
    pub end: u16,
}

impl RulePortRange {
    /// The one port `port`.
    pub fn port(port: u16) -> RulePortRange {
        RulePortRange {
            start: port,
            end: port,
        }
    }
}

/// An inclusive range of user ids (`uidrange 1000-1999`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleUidRange {
    /// The first uid.
    pub start: u32,
    /// The last uid, at least `start`.
    pub end: u32,
}

/// Which rules [`Handle::rules`](crate::Handle::rules) returns.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleFilter {
    /// Only rules of this family (`ip -4 rule`, `ip -6 rule`); both when `None`.
    pub family: Option<IpFamily>,
    /// Only rules looking up this table (`ip rule show table T`).
    pub table: Option<TableId>,
    /// Only the rule with this priority (`ip rule show pref N`).
    pub priority: Option<u32>,
}
