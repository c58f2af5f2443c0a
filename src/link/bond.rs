//! Bonds (`ip link add … type bond mode …`): several links aggregated into one, for failover
//! or load sharing; links join with [`Handle::set_link_master`](crate::Handle::set_link_master)
//! and report their part in the bond as a [`BondPort`].

use std::net::Ipv4Addr;
use std::time::Duration;

use netlink_packet_route::link::{
    BondAdSelect, BondLacpRate, BondMode as NlMode, BondPortState as NlPortState,
    BondXmitHashPolicy, InfoBond, InfoBondPort, InfoData, InfoKind, InfoPortData, InfoPortKind,
    LinkAttribute, LinkInfo, LinkMessage, MiiStatus,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::base::{check_mtu, kind_of, new_link_message, not_found_as, selector_message};
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, MacAddr, Result};

/// The kernel's limit on ARP monitoring targets (`BOND_MAX_ARP_TARGETS`).
pub const BOND_MAX_ARP_TARGETS: usize = 16;

/// How a bond uses its ports (`mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BondMode {
    /// Round robin over the ports (`balance-rr`, the kernel's default).
    #[default]
    BalanceRr,
    /// One active port, the others standing by (`active-backup`).
    ActiveBackup,
    /// A port chosen by a hash of each packet (`balance-xor`).
    BalanceXor,
    /// Every packet on every port (`broadcast`).
    Broadcast,
    /// IEEE 802.3ad dynamic link aggregation, LACP (`802.3ad`).
    Lacp,
    /// Adaptive transmit load balancing (`balance-tlb`).
    BalanceTlb,
    /// Adaptive load balancing (`balance-alb`).
    BalanceAlb,
    /// A mode this version does not know.
    Other(u8),
}

impl BondMode {
    fn to_wire(self) -> NlMode {
        match self {
            BondMode::BalanceRr => NlMode::BalanceRr,
            BondMode::ActiveBackup => NlMode::ActiveBackup,
            BondMode::BalanceXor => NlMode::BalanceXor,
            BondMode::Broadcast => NlMode::Broadcast,
            BondMode::Lacp => NlMode::Ieee8023Ad,
            BondMode::BalanceTlb => NlMode::BalanceTlb,
            BondMode::BalanceAlb => NlMode::BalanceAlb,
            BondMode::Other(v) => NlMode::Other(v),
        }
    }

    fn from_wire(m: NlMode) -> BondMode {
        match m {
            NlMode::BalanceRr => BondMode::BalanceRr,
            NlMode::ActiveBackup => BondMode::ActiveBackup,
            NlMode::BalanceXor => BondMode::BalanceXor,
            NlMode::Broadcast => BondMode::Broadcast,
            NlMode::Ieee8023Ad => BondMode::Lacp,
            NlMode::BalanceTlb => BondMode::BalanceTlb,
            NlMode::BalanceAlb => BondMode::BalanceAlb,
            other => BondMode::Other(u8::from(other)),
        }
    }

    /// The name iproute2 gives the mode (`ip link add … type bond mode NAME`).
    pub fn name(self) -> &'static str {
        match self {
            BondMode::BalanceRr => "balance-rr",
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceXor => "balance-xor",
            BondMode::Broadcast => "broadcast",
            BondMode::Lacp => "802.3ad",
            BondMode::BalanceTlb => "balance-tlb",
            BondMode::BalanceAlb => "balance-alb",
            BondMode::Other(_) => "other",
        }
    }
}

/// Which header fields choose a packet's port (`xmit_hash_policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BondHashPolicy {
    /// MAC addresses (`layer2`, the default).
    #[default]
    Layer2,
    /// IP addresses and ports (`layer3+4`).
    Layer34,
    /// MAC and IP addresses (`layer2+3`).
    Layer23,
    /// Inner MAC and IP addresses of tunnelled packets (`encap2+3`).
    Encap23,
    /// Inner IP addresses and ports of tunnelled packets (`encap3+4`).
    Encap34,
    /// VLAN id and source MAC (`vlan+srcmac`).
    VlanSrcMac,
    /// A policy this version does not know.
    Other(u8),
}

impl BondHashPolicy {
    fn to_wire(self) -> BondXmitHashPolicy {
        match self {
            BondHashPolicy::Layer2 => BondXmitHashPolicy::Layer2,
            BondHashPolicy::Layer34 => BondXmitHashPolicy::Layer34,
            BondHashPolicy::Layer23 => BondXmitHashPolicy::Layer23,
            BondHashPolicy::Encap23 => BondXmitHashPolicy::Encap23,
            BondHashPolicy::Encap34 => BondXmitHashPolicy::Encap34,
            BondHashPolicy::VlanSrcMac => BondXmitHashPolicy::VlanSrcMac,
            BondHashPolicy::Other(v) => BondXmitHashPolicy::Other(v),
        }
    }

    fn from_wire(p: BondXmitHashPolicy) -> BondHashPolicy {
        match p {
            BondXmitHashPolicy::Layer2 => BondHashPolicy::Layer2,
            BondXmitHashPolicy::Layer34 => BondHashPolicy::Layer34,
            BondXmitHashPolicy::Layer23 => BondHashPolicy::Layer23,
            BondXmitHashPolicy::Encap23 => BondHashPolicy::Encap23,
            BondXmitHashPolicy::Encap34 => BondHashPolicy::Encap34,
            BondXmitHashPolicy::VlanSrcMac => BondHashPolicy::VlanSrcMac,
            other => BondHashPolicy::Other(u8::from(other)),
        }
    }
}

/// How an 802.3ad bond chooses its active aggregator (`ad_select`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BondAggregatorSelect {
    /// The aggregator with the most bandwidth, reselected only when it fails (`stable`).
    #[default]
    Stable,
    /// The aggregator with the most bandwidth (`bandwidth`).
    Bandwidth,
    /// The aggregator with the most ports (`count`).
    Count,
    /// A policy this version does not know.
    Other(u8),
}

impl BondAggregatorSelect {
    fn to_wire(self) -> BondAdSelect {
        match self {
            BondAggregatorSelect::Stable => BondAdSelect::Stable,
            BondAggregatorSelect::Bandwidth => BondAdSelect::Bandwidth,
            BondAggregatorSelect::Count => BondAdSelect::Count,
            BondAggregatorSelect::Other(v) => BondAdSelect::Other(v),
        }
    }

    fn from_wire(s: BondAdSelect) -> BondAggregatorSelect {
        match s {
            BondAdSelect::Stable => BondAggregatorSelect::Stable,
            BondAdSelect::Bandwidth => BondAggregatorSelect::Bandwidth,
            BondAdSelect::Count => BondAggregatorSelect::Count,
            other => BondAggregatorSelect::Other(u8::from(other)),
        }
    }
}

/// A bond to create. Fields left `None` take the kernel's defaults.
///
/// ```no_run
/// use std::time::Duration;
/// use netplumb::{Handle, link::{BondMode, NewBond}};
///
/// let h = Handle::new()?;
/// // ip link add bond0 type bond mode active-backup miimon 100
/// h.add_bond(&NewBond {
///     miimon: Some(Duration::from_millis(100)),
///     ..NewBond::new("bond0", BondMode::ActiveBackup)
/// })?;
/// h.set_link_master("eth0", "bond0")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewBond<'a> {
    /// Device name.
    pub name: String,
    /// MTU of the device.
    pub mtu: Option<u32>,
    /// Hardware address of the device (by default the first port's).
    pub mac: Option<MacAddr>,
    /// The mode (`mode`).
    pub mode: Option<BondMode>,
    /// Link monitoring interval by MII / carrier (`miimon`, milliseconds).
    pub miimon: Option<Duration>,
    /// How long a port must be up before it is used (`updelay`); needs `miimon`.
    pub updelay: Option<Duration>,
    /// How long a port must be down before it is dropped (`downdelay`); needs `miimon`.
    pub downdelay: Option<Duration>,
    /// ARP monitoring interval (`arp_interval`); excludes `miimon`.
    pub arp_interval: Option<Duration>,
    /// The addresses ARP monitoring probes (`arp_ip_target`, at most
    /// [`BOND_MAX_ARP_TARGETS`]).
    pub arp_ip_targets: Vec<Ipv4Addr>,
    /// The preferred port (`primary`; active-backup, balance-tlb and balance-alb).
    pub primary: Option<LinkRef<'a>>,
    /// The transmit hash policy (`xmit_hash_policy`; balance-xor, 802.3ad, balance-tlb).
    pub xmit_hash_policy: Option<BondHashPolicy>,
    /// The minimum number of ports up for the bond to be up (`min_links`).
    pub min_links: Option<u32>,
    /// Ask the partner for LACPDUs every second rather than every 30 (`lacp_rate fast`;
    /// 802.3ad only).
    pub lacp_rate_fast: Option<bool>,
    /// The aggregator selection policy (`ad_select`; 802.3ad only).
    pub ad_select: Option<BondAggregatorSelect>,
}

impl NewBond<'_> {
    /// A bond in `mode` with the kernel's defaults.
    pub fn new(name: &str, mode: BondMode) -> NewBond<'static> {
        NewBond {
            name: name.to_string(),
            mode: Some(mode),
            ..NewBond::default()
        }
    }
}

/// A bond's settings as the kernel reports them (`ip -d link show type bond`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bond {
    /// The mode.
    pub mode: BondMode,
    /// The active port (active-backup and the tlb/alb modes), when there is one.
    pub active_port: Option<IfIndex>,
    /// MII link monitoring interval (zero: off).
    pub miimon: Duration,
    /// Up delay.
    pub updelay: Duration,
    /// Down delay.
    pub downdelay: Duration,
    /// ARP monitoring interval (zero: off).
    pub arp_interval: Duration,
    /// ARP monitoring targets.
    pub arp_ip_targets: Vec<Ipv4Addr>,
    /// The preferred port, when set and enslaved.
    pub primary: Option<IfIndex>,
    /// Transmit hash policy.
    pub xmit_hash_policy: BondHashPolicy,
    /// Minimum number of ports up.
    pub min_links: u32,
    /// LACP fast rate.
    pub lacp_rate_fast: bool,
    /// Aggregator selection policy.
    pub ad_select: BondAggregatorSelect,
}

fn ms(d: u32) -> Duration {
    Duration::from_millis(u64::from(d))
}

impl Bond {
    pub(crate) fn from_nlas(nlas: Vec<InfoBond>) -> Bond {
        let mut b = Bond::default();
        for n in nlas {
            match n {
                InfoBond::Mode(m) => b.mode = BondMode::from_wire(m),
                InfoBond::ActivePort(i) => b.active_port = IfIndex::new(i),
                InfoBond::MiiMon(v) => b.miimon = ms(v),
                InfoBond::UpDelay(v) => b.updelay = ms(v),
                InfoBond::DownDelay(v) => b.downdelay = ms(v),
                InfoBond::ArpInterval(v) => b.arp_interval = ms(v),
                InfoBond::ArpIpTarget(t) => b.arp_ip_targets = t,
                InfoBond::Primary(i) => b.primary = IfIndex::new(i),
                InfoBond::XmitHashPolicy(p) => b.xmit_hash_policy = BondHashPolicy::from_wire(p),
                InfoBond::MinLinks(v) => b.min_links = v,
                InfoBond::AdLacpRate(r) => b.lacp_rate_fast = r == BondLacpRate::Fast,
                InfoBond::AdSelect(s) => b.ad_select = BondAggregatorSelect::from_wire(s),
                _ => {}
            }
        }
        b
    }
}

/// Whether a port is in use or standing by (`state` of `ip -d link`'s `bond_slave`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BondPortState {
    /// Passing traffic (`ACTIVE`).
    #[default]
    Active,
    /// Standing by (`BACKUP`).
    Backup,
    /// A state this version does not know.
    Other(u8),
}

/// A port's link as the bond's monitor sees it (`mii_status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BondMiiStatus {
    /// Up (`UP`).
    #[default]
    Up,
    /// Failed, waiting out the down delay (`GOING_DOWN`).
    GoingDown,
    /// Down (`DOWN`).
    Down,
    /// Back, waiting out the up delay (`GOING_BACK`).
    GoingBack,
    /// A status this version does not know.
    Other(u8),
}

/// A link's part in the bond it is enslaved to (`ip -d link`'s `bond_slave` section), read
/// from `IFLA_INFO_SLAVE_DATA`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondPort {
    /// In use or standing by.
    pub state: BondPortState,
    /// The link as the monitor sees it.
    pub mii_status: BondMiiStatus,
    /// How many times the link failed.
    pub link_failure_count: u32,
    /// The port's own hardware address (the bond may have changed the one in use).
    pub perm_hwaddr: Option<MacAddr>,
    /// The transmit queue the port is mapped to (`queue_id`).
    pub queue_id: u16,
    /// The port's priority for the active port choice (`prio`), when the kernel reports it.
    pub prio: Option<i32>,
    /// The 802.3ad aggregator the port belongs to.
    pub ad_aggregator_id: Option<u16>,
    /// The 802.3ad actor's operational port state bits.
    pub ad_actor_oper_port_state: Option<u8>,
    /// The 802.3ad partner's operational port state bits.
    pub ad_partner_oper_port_state: Option<u8>,
}

impl BondPort {
    pub(crate) fn from_nlas(nlas: &[InfoBondPort]) -> BondPort {
        let mut p = BondPort::default();
        for n in nlas {
            match n {
                InfoBondPort::BondPortState(s) => {
                    p.state = match s {
                        NlPortState::Active => BondPortState::Active,
                        NlPortState::Backup => BondPortState::Backup,
                        other => BondPortState::Other(u8::from(*other)),
                    }
                }
                InfoBondPort::MiiStatus(s) => {
                    p.mii_status = match s {
                        MiiStatus::Up => BondMiiStatus::Up,
                        MiiStatus::GoingDown => BondMiiStatus::GoingDown,
                        MiiStatus::Down => BondMiiStatus::Down,
                        MiiStatus::GoingBack => BondMiiStatus::GoingBack,
                        other => BondMiiStatus::Other(u8::from(*other)),
                    }
                }
                InfoBondPort::LinkFailureCount(c) => p.link_failure_count = *c,
                InfoBondPort::PermHwaddr(a) => p.perm_hwaddr = MacAddr::from_slice(a).ok(),
                InfoBondPort::QueueId(q) => p.queue_id = *q,
                InfoBondPort::Prio(v) => p.prio = Some(*v),
                InfoBondPort::AdAggregatorId(a) => p.ad_aggregator_id = Some(*a),
                InfoBondPort::AdActorOperPortState(s) => {
                    p.ad_actor_oper_port_state = Some(s.bits())
                }
                InfoBondPort::AdPartnerOperPortState(s) => {
                    p.ad_partner_oper_port_state = Some(s.bits())
                }
                _ => {}
            }
        }
        p
    }
}

/// A duration in whole milliseconds as the kernel's `int` takes it.
fn millis(arg: &'static str, d: Duration) -> Result<u32> {
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(Error::invalid(
            arg,
            format!("{d:?} is not a whole number of milliseconds"),
        ));
    }
    match u32::try_from(d.as_millis()) {
        Ok(v) if v <= i32::MAX as u32 => Ok(v),
        _ => Err(Error::invalid(
            arg,
            format!("{d:?} is above the kernel's largest, {} ms", i32::MAX),
        )),
    }
}

fn check_bond(b: &NewBond<'_>) -> Result<()> {
    check_bond_in(b, b.mode.unwrap_or_default())
}

/// The checks of [`check_bond`] for a bond whose mode is (or will be) `mode`.
fn check_bond_in(b: &NewBond<'_>, mode: BondMode) -> Result<()> {
    check_ifname("bond name", &b.name)?;
    let lacp = mode == BondMode::Lacp;
    if !lacp {
        for (arg, set) in [
            ("lacp_rate_fast", b.lacp_rate_fast.is_some()),
            ("ad_select", b.ad_select.is_some()),
        ] {
            if set {
                return Err(Error::invalid(
                    arg,
                    format!("{arg} applies to 802.3ad bonds only, not {}", mode.name()),
                ));
            }
        }
    }
    if b.primary.is_some()
        && !matches!(
            mode,
            BondMode::ActiveBackup | BondMode::BalanceTlb | BondMode::BalanceAlb
        )
    {
        return Err(Error::invalid(
            "primary",
            format!(
                "a primary port applies to active-backup, balance-tlb and balance-alb bonds, \
                 not {}",
                mode.name()
            ),
        ));
    }
    let arp = b.arp_interval.is_some_and(|d| !d.is_zero());
    if arp
        && matches!(
            mode,
            BondMode::Lacp | BondMode::BalanceTlb | BondMode::BalanceAlb
        )
    {
        return Err(Error::invalid(
            "arp_interval",
            format!("ARP monitoring does not work with {} bonds", mode.name()),
        ));
    }
    if arp && b.miimon.is_some_and(|d| !d.is_zero()) {
        return Err(Error::invalid(
            "arp_interval",
            "MII monitoring (miimon) and ARP monitoring exclude each other",
        ));
    }
    if !b.arp_ip_targets.is_empty() && !arp {
        return Err(Error::invalid(
            "arp_ip_targets",
            "ARP targets need an arp_interval",
        ));
    }
    if b.arp_ip_targets.len() > BOND_MAX_ARP_TARGETS {
        return Err(Error::invalid(
            "arp_ip_targets",
            format!(
                "{} targets given, the kernel takes at most {BOND_MAX_ARP_TARGETS}",
                b.arp_ip_targets.len()
            ),
        ));
    }
    for t in &b.arp_ip_targets {
        if t.is_unspecified() || t.is_broadcast() || t.is_multicast() {
            return Err(Error::invalid(
                "arp_ip_targets",
                format!("{t} is not a unicast address"),
            ));
        }
    }
    let miimon = b.miimon.map(|d| millis("miimon", d)).transpose()?;
    for (arg, delay) in [("updelay", b.updelay), ("downdelay", b.downdelay)] {
        if let Some(d) = delay {
            let d = millis(arg, d)?;
            match miimon {
                Some(m) if m > 0 && d % m != 0 => {
                    return Err(Error::invalid(
                        arg,
                        format!("{d} ms is not a multiple of miimon ({m} ms)"),
                    ));
                }
                Some(m) if m > 0 => {}
                _ if d > 0 => {
                    return Err(Error::invalid(
                        arg,
                        format!("{arg} needs MII monitoring (miimon)"),
                    ))
                }
                _ => {}
            }
        }
    }
    if let Some(d) = b.arp_interval {
        millis("arp_interval", d)?;
    }
    Ok(())
}

/// The `RTM_NEWLINK` request for a bond, its options in the kernel's attribute order (iproute2
/// sends them in the order given on its command line).
pub(crate) fn bond_message(b: &NewBond<'_>, primary: Option<IfIndex>) -> Result<LinkMessage> {
    check_bond(b)?;
    let data = bond_data(b, primary)?;
    new_link_message(&b.name, b.mtu, b.mac, InfoKind::Bond, data)
}

/// The bond's options as `IFLA_INFO_DATA`; `None` when none is set.
fn bond_data(b: &NewBond<'_>, primary: Option<IfIndex>) -> Result<Option<InfoData>> {
    let mut d = Vec::new();
    if let Some(m) = b.mode {
        d.push(InfoBond::Mode(m.to_wire()));
    }
    if let Some(v) = b.miimon {
        d.push(InfoBond::MiiMon(millis("miimon", v)?));
    }
    if let Some(v) = b.updelay {
        d.push(InfoBond::UpDelay(millis("updelay", v)?));
    }
    if let Some(v) = b.downdelay {
        d.push(InfoBond::DownDelay(millis("downdelay", v)?));
    }
    if let Some(v) = b.arp_interval {
        d.push(InfoBond::ArpInterval(millis("arp_interval", v)?));
    }
    if !b.arp_ip_targets.is_empty() {
        d.push(InfoBond::ArpIpTarget(b.arp_ip_targets.clone()));
    }
    if let Some(p) = primary {
        d.push(InfoBond::Primary(p.get()));
    }
    if let Some(p) = b.xmit_hash_policy {
        d.push(InfoBond::XmitHashPolicy(p.to_wire()));
    }
    if let Some(v) = b.min_links {
        d.push(InfoBond::MinLinks(v));
    }
    if let Some(fast) = b.lacp_rate_fast {
        d.push(InfoBond::AdLacpRate(if fast {
            BondLacpRate::Fast
        } else {
            BondLacpRate::Slow
        }));
    }
    if let Some(s) = b.ad_select {
        d.push(InfoBond::AdSelect(s.to_wire()));
    }
    Ok((!d.is_empty()).then_some(InfoData::Bond(d)))
}

/// A bond port's own settings, changed with [`Handle::set_bond_port`]. Fields left `None` are
/// kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BondPortConfig {
    /// The transmit queue the port is mapped to (`queue_id`).
    pub queue_id: Option<u16>,
    /// The port's priority in the choice of the active port (`prio`, Linux 6.0).
    pub prio: Option<i32>,
}

/// # Links: bond
///
/// `ip link add … type bond …`; ports join with `ip link set PORT master BOND`
/// ([`Handle::set_link_master`]).
impl Handle {
    /// Creates a bond. Equivalent to `ip link add NAME type bond [mode M] [miimon MS]
    /// [updelay MS] [downdelay MS] [arp_interval MS] [arp_ip_target A,B…] [primary DEV]
    /// [xmit_hash_policy P] [min_links N] [lacp_rate slow|fast] [ad_select S]`.
    ///
    /// Options the mode does not take or out of range are refused before anything is sent:
    /// `lacp_rate`/`ad_select` outside 802.3ad, `primary` outside active-backup/tlb/alb, ARP
    /// monitoring with MII monitoring or in 802.3ad/tlb/alb, more than 16 ARP targets, delays
    /// without `miimon` or not a multiple of it, times that are not whole milliseconds or do
    /// not fit the kernel's `int`. A kernel without the `bonding` module answers with
    /// [`Error::Unsupported`].
    pub fn add_bond(&self, bond: &NewBond<'_>) -> Result<()> {
        check_bond(bond)?;
        let primary = match bond.primary {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        self.create_link("bonding", bond_message(bond, primary)?)
    }

    /// Changes an existing bond, named by [`NewBond::name`]: the options set are changed, those
    /// left `None` kept. Equivalent to `ip link set NAME type bond [mode M] [miimon MS] …` (and
    /// `mtu`, `address`). The options are checked against the bond's mode (the new one, or the
    /// current one read first) before anything is sent; the kernel refuses a mode change while
    /// the bond has ports or is up.
    pub fn set_bond(&self, bond: &NewBond<'_>) -> Result<()> {
        let current = self.link_message(LinkRef::Name(&bond.name))?;
        let mode = match bond.mode {
            Some(m) => m,
            None => match kind_of(&current) {
                (Some(InfoKind::Bond), Some(InfoData::Bond(nlas))) => {
                    Bond::from_nlas(nlas.clone()).mode
                }
                (Some(InfoKind::Bond), None) => BondMode::default(),
                _ => {
                    return Err(Error::invalid(
                        "bond",
                        format!("{} is not a bond", bond.name),
                    ))
                }
            },
        };
        check_bond_in(bond, mode)?;
        let primary = match bond.primary {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let mut msg = LinkMessage::default();
        msg.header.index = current.header.index;
        if let Some(mtu) = bond.mtu {
            check_mtu("mtu", mtu)?;
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = bond.mac {
            msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        let mut info = vec![LinkInfo::Kind(InfoKind::Bond)];
        if let Some(d) = bond_data(bond, primary)? {
            info.push(LinkInfo::Data(d));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(info));
        self.ack("set bond", RouteNetlinkMessage::NewLink(msg), 0)
    }

    /// Changes a bond port's own settings. Equivalent to
    /// `ip link set PORT type bond_slave [queue_id N] [prio P]`.
    pub fn set_bond_port<'a>(
        &self,
        port: impl Into<LinkRef<'a>>,
        config: &BondPortConfig,
    ) -> Result<()> {
        let port = port.into();
        let mut msg = selector_message(port)?;
        let mut data = Vec::new();
        if let Some(q) = config.queue_id {
            data.push(InfoBondPort::QueueId(q));
        }
        if let Some(p) = config.prio {
            data.push(InfoBondPort::Prio(p));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bond),
            LinkInfo::PortData(InfoPortData::BondPort(data)),
        ]));
        // A port's settings travel in RTM_NEWLINK (changelink), as iproute2 sends them; the
        // kernel's RTM_SETLINK ignores IFLA_LINKINFO.
        self.ack("set bond port", RouteNetlinkMessage::NewLink(msg), 0)
            .map_err(|e| not_found_as(e, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_out_of_range_or_mode_are_refused() {
        let ab = NewBond::new("b0", BondMode::ActiveBackup);
        let cases = [
            (
                NewBond {
                    lacp_rate_fast: Some(true),
                    ..ab.clone()
                },
                "lacp_rate_fast",
            ),
            (
                NewBond {
                    ad_select: Some(BondAggregatorSelect::Count),
                    ..NewBond::new("b0", BondMode::BalanceRr)
                },
                "ad_select",
            ),
            (
                NewBond {
                    primary: Some("eth0".into()),
                    ..NewBond::new("b0", BondMode::Lacp)
                },
                "primary",
            ),
            (
                NewBond {
                    miimon: Some(Duration::from_millis(100)),
                    arp_interval: Some(Duration::from_millis(100)),
                    ..ab.clone()
                },
                "arp_interval",
            ),
            (
                NewBond {
                    arp_ip_targets: vec![Ipv4Addr::new(10, 0, 0, 1)],
                    ..ab.clone()
                },
                "arp_ip_targets",
            ),
            (
                NewBond {
                    arp_interval: Some(Duration::from_millis(100)),
                    arp_ip_targets: (1..=17).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect(),
                    ..ab.clone()
                },
                "arp_ip_targets",
            ),
            (
                NewBond {
                    updelay: Some(Duration::from_millis(200)),
                    ..ab.clone()
                },
                "updelay",
            ),
            (
                NewBond {
                    miimon: Some(Duration::from_millis(100)),
                    downdelay: Some(Duration::from_millis(150)),
                    ..ab.clone()
                },
                "downdelay",
            ),
            (
                NewBond {
                    miimon: Some(Duration::from_micros(1500)),
                    ..ab.clone()
                },
                "miimon",
            ),
            (
                NewBond {
                    miimon: Some(Duration::from_secs(1 << 31)),
                    ..ab.clone()
                },
                "miimon",
            ),
        ];
        for (b, arg) in cases {
            match bond_message(&b, None) {
                Err(Error::InvalidInput { arg: a, .. }) => assert_eq!(a, arg, "{b:?}"),
                other => panic!("{arg}: {other:?}"),
            }
        }
    }
}
