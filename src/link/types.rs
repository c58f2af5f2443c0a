//! Link types: a link as the kernel reports it ([`Link`]), its flags, state, counters and
//! kind ([`LinkKind`], which holds each kind's settings), and the listing's selector.

use super::bridge::Bridge;
use super::bridge_port::BridgePort;
use super::ipip::Ipip;
use super::ipvlan::Ipvlan;
use super::macvlan::Macvlan;
use super::tun::Tun;
use super::vlan::Vlan;
use super::vrf::Vrf;
use super::vxlan::Vxlan;
// links-b kinds
use super::bond::{Bond, BondPort};
use super::geneve::Geneve;
use super::gre::Gre;
use super::ip6tnl::Ip6Tnl;
use super::sit::Sit;
use super::vti::Vti;
use crate::{IfAlias, IfIndex, IfName, LinkRef, MacAddr};

bitflags::bitflags! {
    /// Interface flags (`IFF_*`, as in `ip link`'s `<BROADCAST,MULTICAST,UP,LOWER_UP>`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct LinkFlags: u32 {
        /// Administratively up.
        const UP = 1 << 0;
        /// Broadcast address valid.
        const BROADCAST = 1 << 1;
        /// Debugging turned on.
        const DEBUG = 1 << 2;
        /// The loopback device.
        const LOOPBACK = 1 << 3;
        /// Point-to-point link.
        const POINTOPOINT = 1 << 4;
        /// Avoid use of trailers.
        const NOTRAILERS = 1 << 5;
        /// Resources allocated (operationally running).
        const RUNNING = 1 << 6;
        /// No ARP protocol.
        const NOARP = 1 << 7;
        /// Receives all packets.
        const PROMISC = 1 << 8;
        /// Receives all multicast packets.
        const ALLMULTI = 1 << 9;
        /// Master of a load balancer.
        const MASTER = 1 << 10;
        /// Slave of a load balancer.
        const SLAVE = 1 << 11;
        /// Supports multicast.
        const MULTICAST = 1 << 12;
        /// Can set media type.
        const PORTSEL = 1 << 13;
        /// Auto media select active.
        const AUTOMEDIA = 1 << 14;
        /// Dialup device with changing addresses.
        const DYNAMIC = 1 << 15;
        /// Driver signals L1 up (carrier).
        const LOWER_UP = 1 << 16;
        /// Driver signals dormant.
        const DORMANT = 1 << 17;
        /// Echo sent packets.
        const ECHO = 1 << 18;
        // Flags this version does not name are kept, not dropped.
        const _ = !0;
    }
}

/// The RFC 2863 operational state of a link (`ip link`'s `state UP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperState {
    /// The driver does not report a state (loopback, some virtual devices).
    Unknown,
    /// Some component is missing.
    NotPresent,
    /// Down.
    Down,
    /// Down because a lower layer is down (a veth whose peer is down).
    LowerLayerDown,
    /// In a test mode.
    Testing,
    /// Waiting for an external event.
    Dormant,
    /// Up and ready to pass packets.
    Up,
    /// A value this version does not know.
    Other(u8),
}

impl From<u8> for OperState {
    fn from(v: u8) -> Self {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            v => OperState::Other(v),
        }
    }
}

/// How a link's IPv6 link-local (and SLAAC) addresses are made (`ip link set … addrgenmode`,
/// `IN6_ADDR_GEN_MODE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ipv6AddrGenMode {
    /// From the MAC address (`eui64`, the default).
    Eui64,
    /// None made (`none`).
    None,
    /// RFC 7217 stable privacy addresses from the `stable_secret` sysctl (`stable_secret`).
    StablePrivacy,
    /// Random, new at each start (`random`).
    Random,
    /// A mode this version does not know.
    Other(u8),
}

impl Ipv6AddrGenMode {
    pub(crate) fn from_raw(v: u8) -> Self {
        match v {
            0 => Ipv6AddrGenMode::Eui64,
            1 => Ipv6AddrGenMode::None,
            2 => Ipv6AddrGenMode::StablePrivacy,
            3 => Ipv6AddrGenMode::Random,
            v => Ipv6AddrGenMode::Other(v),
        }
    }

    pub(crate) fn to_raw(self) -> u8 {
        match self {
            Ipv6AddrGenMode::Eui64 => 0,
            Ipv6AddrGenMode::None => 1,
            Ipv6AddrGenMode::StablePrivacy => 2,
            Ipv6AddrGenMode::Random => 3,
            Ipv6AddrGenMode::Other(v) => v,
        }
    }
}

/// Interface counters (`ip -s -s link`): every counter of the kernel's 64-bit statistics
/// (`struct rtnl_link_stats64`). Counters a kernel does not report yet (the later ones, on
/// older kernels) are 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
    /// Multicast packets received.
    pub multicast: u64,
    /// Collisions.
    pub collisions: u64,
    /// Receive errors: bad length.
    pub rx_length_errors: u64,
    /// Receive errors: ring buffer overflow.
    pub rx_over_errors: u64,
    /// Receive errors: bad CRC.
    pub rx_crc_errors: u64,
    /// Receive errors: frame alignment.
    pub rx_frame_errors: u64,
    /// Receive errors: FIFO overrun.
    pub rx_fifo_errors: u64,
    /// Receive errors: missed by the host.
    pub rx_missed_errors: u64,
    /// Transmit errors: aborted.
    pub tx_aborted_errors: u64,
    /// Transmit errors: carrier.
    pub tx_carrier_errors: u64,
    /// Transmit errors: FIFO.
    pub tx_fifo_errors: u64,
    /// Transmit errors: heartbeat.
    pub tx_heartbeat_errors: u64,
    /// Transmit errors: window.
    pub tx_window_errors: u64,
    /// Compressed packets received.
    pub rx_compressed: u64,
    /// Compressed packets sent.
    pub tx_compressed: u64,
    /// Packets dropped for want of a handler (no protocol took them).
    pub rx_nohandler: u64,
    /// Packets dropped because addressed to another host (kernel 5.19+).
    pub rx_otherhost_dropped: u64,
}

/// What kind of virtual device a link is (`ip -d link`'s kind), with its kind-specific settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkKind {
    /// A dummy device.
    Dummy,
    /// An ifb (Intermediate Functional Block) device.
    Ifb,
    /// A VLAN device; its parent is [`Link::link`].
    Vlan(Vlan),
    /// An ipvlan device; its parent is [`Link::link`].
    Ipvlan(Ipvlan),
    /// An ipvtap device (an ipvlan with a tap character device); its parent is [`Link::link`].
    Ipvtap(Ipvlan),
    /// A macvtap device (a macvlan with a tap character device), with macvlan's settings; its
    /// parent is [`Link::link`].
    Macvtap(Macvlan),
    /// A tun or tap device.
    Tun(Tun),
    /// One end of a veth pair; its peer's index is [`Link::link`].
    Veth,
    /// A Linux bridge.
    Bridge(Bridge),
    /// A VXLAN tunnel device.
    Vxlan(Vxlan),
    /// A macvlan device; its parent is [`Link::link`].
    Macvlan(Macvlan),
    /// A VRF (L3 master device) and its table.
    Vrf(Vrf),
    /// An IPIP tunnel.
    Ipip(Ipip),
    /// A GRE tunnel of any of the four GRE kinds (`gre`, `gretap`, `ip6gre`, `ip6gretap`:
    /// [`Gre::kind`](super::Gre::kind)).
    Gre(Gre),
    /// A SIT tunnel (IPv6 in IPv4).
    Sit(Sit),
    /// An ip6tnl tunnel (IPv6 or IPv4 in IPv6).
    Ip6Tnl(Ip6Tnl),
    /// A Geneve tunnel device.
    Geneve(Geneve),
    /// A bond; its ports report [`Link::bond_port`].
    Bond(Bond),
    /// A WireGuard device (its peers: [`Handle::wireguard`](crate::Handle::wireguard)).
    Wireguard,
    /// A VTI tunnel (`vti` or `vti6`: [`Vti::family`](super::Vti::family)).
    Vti(Vti),
    /// A kind netplumb does not model yet, by the kernel's name for it (`"nlmon"`, `"team"`…);
    /// also a modelled kind whose settings did not decode (then the name is one of the other
    /// variants', `"vxlan"`…), which is reported rather than failing the listing.
    Unknown(String),
}

impl LinkKind {
    /// The kernel's name for the kind, as `ip link add … type NAME` takes it.
    pub fn name(&self) -> &str {
        match self {
            LinkKind::Dummy => "dummy",
            LinkKind::Ifb => "ifb",
            LinkKind::Vlan(_) => "vlan",
            LinkKind::Ipvlan(_) => "ipvlan",
            LinkKind::Ipvtap(_) => "ipvtap",
            LinkKind::Macvtap(_) => "macvtap",
            LinkKind::Tun(_) => "tun",
            LinkKind::Veth => "veth",
            LinkKind::Bridge(_) => "bridge",
            LinkKind::Vxlan(_) => "vxlan",
            LinkKind::Macvlan(_) => "macvlan",
            LinkKind::Vrf(_) => "vrf",
            LinkKind::Ipip(_) => "ipip",
            LinkKind::Gre(g) => g.kind.name(),
            LinkKind::Sit(_) => "sit",
            LinkKind::Ip6Tnl(_) => "ip6tnl",
            LinkKind::Geneve(_) => "geneve",
            LinkKind::Bond(_) => "bond",
            LinkKind::Wireguard => "wireguard",
            LinkKind::Vti(v) if v.family == crate::IpFamily::V6 => "vti6",
            LinkKind::Vti(_) => "vti",
            LinkKind::Unknown(name) => name,
        }
    }
}

/// Which links [`Handle::links`](crate::Handle::links) returns. The default selects all of them.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkFilter<'a> {
    /// Only the links enslaved to this master (`ip link show master BRIDGE`).
    pub master: Option<LinkRef<'a>>,
    /// Only links of this kind, by the kernel's name (`ip link show type veth`).
    pub kind: Option<&'a str>,
    /// Only the links of this group (`ip link show group N`; see
    /// [`Handle::set_link_group`](crate::Handle::set_link_group)).
    pub group: Option<u32>,
}

impl<'a> LinkFilter<'a> {
    /// The links enslaved to `master`, such as a bridge's ports.
    pub fn master(master: impl Into<LinkRef<'a>>) -> Self {
        LinkFilter {
            master: Some(master.into()),
            ..LinkFilter::default()
        }
    }

    /// The members of a VRF (`ip link show vrf VRF`): the links whose master it is.
    pub fn vrf(vrf: impl Into<LinkRef<'a>>) -> Self {
        LinkFilter::master(vrf)
    }
}

/// A network interface as the kernel reports it (`ip -d link show`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// Interface index.
    pub index: IfIndex,
    /// Interface name, the kernel's bytes exactly (not always UTF-8; compares with text:
    /// `link.name == "eth0"`).
    pub name: IfName,
    /// Virtual device kind; `None` for devices without one (loopback, physical NICs).
    pub kind: Option<LinkKind>,
    /// Interface flags.
    pub flags: LinkFlags,
    /// Operational state.
    pub oper_state: OperState,
    /// MTU.
    pub mtu: u32,
    /// Smallest MTU the device accepts, when the kernel reports it.
    pub min_mtu: Option<u32>,
    /// Largest MTU the device accepts, when the kernel reports it.
    pub max_mtu: Option<u32>,
    /// Hardware address, for Ethernet-like devices.
    pub mac: Option<MacAddr>,
    /// Broadcast hardware address, for Ethernet-like devices.
    pub broadcast: Option<MacAddr>,
    /// The master device (bridge, bond, VRF) this link is enslaved to.
    pub master: Option<IfIndex>,
    /// The related link (`IFLA_LINK`): a veth's peer, a VLAN's parent. When
    /// [`link_netnsid`](Link::link_netnsid) is set, the index is in that other namespace.
    pub link: Option<IfIndex>,
    /// The namespace id (in this namespace's numbering) of the namespace holding
    /// [`link`](Link::link), when it is elsewhere (`link-netnsid` in `ip link`).
    pub link_netnsid: Option<i32>,
    /// Transmit queue length.
    pub txqlen: Option<u32>,
    /// The interface alias (`ip link set … alias`), the kernel's bytes exactly.
    pub alias: Option<IfAlias>,
    /// Counters.
    pub stats: Option<LinkStats>,
    /// The port's settings, when the link is a bridge port.
    pub bridge_port: Option<BridgePort>,
    /// Alternative names (`ip link property add … altname`), the kernel's bytes (up to 127).
    pub altnames: Vec<IfAlias>,
    /// The largest GSO packet the stack builds for the link (`gso_max_size`).
    pub gso_max_size: Option<u32>,
    /// The most segments of a GSO packet (`gso_max_segs`).
    pub gso_max_segs: Option<u32>,
    /// The largest packet GRO builds (`gro_max_size`).
    pub gro_max_size: Option<u32>,
    /// How IPv6 addresses are made for the link (`addrgenmode`), when it has IPv6.
    pub addrgenmode: Option<Ipv6AddrGenMode>,
    /// Protodown: a control plane holds the carrier down (`protodown on`).
    pub protodown: Option<bool>,
    /// The carrier (`ip link`'s `NO-CARRIER` when off).
    pub carrier: Option<bool>,
    /// How many times the carrier changed.
    pub carrier_changes: Option<u32>,
    /// The port's part in its bond, when the link is enslaved to one (`bond_slave`).
    pub bond_port: Option<BondPort>,
    /// The link's group (`ip link show`'s `group`; 0, `default`, unless set).
    pub group: u32,
}

impl<'a> From<&'a Link> for LinkRef<'a> {
    fn from(link: &'a Link) -> Self {
        LinkRef::Index(link.index)
    }
}
