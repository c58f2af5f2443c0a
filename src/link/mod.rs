//! Network interfaces (`ip link`): list, look up, delete, and change them; kinds in submodules.
//!
//! Every operation is a method of [`Handle`] and accepts the link as a [`LinkRef`]: a name
//! (`"veth0"`), an [`IfIndex`], or a [`&Link`](Link) from an earlier listing.

mod bridge;
mod bridge_port;
mod ipip;
mod macvlan;
mod veth;
mod vrf;
mod vxlan;

use std::fmt;
use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_route::link::{
    InfoData, InfoKind, InfoPortData, InfoPortKind, LinkAttribute, LinkFlags as NlLinkFlags,
    LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

#[cfg(test)]
pub(crate) use bridge::bridge_message;
pub use bridge::{Bridge, BridgeInfo, BridgeOptions, StpState, VlanProtocol};
pub use bridge_port::{BridgePort, BridgePortState, BridgeVlan, PortVlans};
pub use ipip::{Ipip, IpipInfo, IPIP_FALLBACK};
#[cfg(test)]
pub(crate) use macvlan::macvlan_message;
pub use macvlan::{Macvlan, MacvlanInfo, MacvlanMode};
#[cfg(test)]
pub(crate) use veth::veth_message;
pub use veth::{Veth, VethPeer};
#[cfg(test)]
pub(crate) use vrf::vrf_message;
pub use vrf::{Vrf, VrfInfo};
#[cfg(test)]
pub(crate) use vxlan::vxlan_message;
pub use vxlan::{Vxlan, VxlanInfo, VXLAN_PORT};

use crate::types::check_ifname;
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL};
use crate::{Error, Handle, IfIndex, MacAddr, NetNs, Result};

/// Names a link in any operation: by name, by index, or by a [`Link`] value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRef<'a> {
    /// The interface name, e.g. `"veth0"`.
    Name(&'a str),
    /// The interface index.
    Index(IfIndex),
}

impl<'a> From<&'a str> for LinkRef<'a> {
    fn from(name: &'a str) -> Self {
        LinkRef::Name(name)
    }
}

impl<'a> From<&'a String> for LinkRef<'a> {
    fn from(name: &'a String) -> Self {
        LinkRef::Name(name)
    }
}

impl From<IfIndex> for LinkRef<'_> {
    fn from(index: IfIndex) -> Self {
        LinkRef::Index(index)
    }
}

impl<'a> From<&'a Link> for LinkRef<'a> {
    fn from(link: &'a Link) -> Self {
        LinkRef::Index(link.index)
    }
}

impl fmt::Display for LinkRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRef::Name(n) => write!(f, "link {n:?}"),
            LinkRef::Index(i) => write!(f, "link with index {i}"),
        }
    }
}

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

/// Basic interface counters (`ip -s link`), from the kernel's 64-bit statistics.
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
}

/// What kind of virtual device a link is (`ip -d link`'s kind), with its kind-specific settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkKind {
    /// One end of a veth pair; its peer's index is [`Link::link`].
    Veth,
    /// A Linux bridge.
    Bridge(BridgeInfo),
    /// A VXLAN tunnel device.
    Vxlan(VxlanInfo),
    /// A macvlan device; its parent is [`Link::link`].
    Macvlan(MacvlanInfo),
    /// A VRF (L3 master device) and its table.
    Vrf(VrfInfo),
    /// An IPIP tunnel.
    Ipip(IpipInfo),
    /// A kind netplumb does not model yet, by the kernel's name for it (`"vxlan"`, `"dummy"`…).
    Unknown(String),
}

impl LinkKind {
    /// The kernel's name for the kind, as `ip link add … type NAME` takes it.
    pub fn name(&self) -> &str {
        match self {
            LinkKind::Veth => "veth",
            LinkKind::Bridge(_) => "bridge",
            LinkKind::Vxlan(_) => "vxlan",
            LinkKind::Macvlan(_) => "macvlan",
            LinkKind::Vrf(_) => "vrf",
            LinkKind::Ipip(_) => "ipip",
            LinkKind::Unknown(name) => name,
        }
    }
}

/// Which links [`Handle::links_filtered`] returns. The default selects all of them.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkFilter<'a> {
    /// Only the links enslaved to this master (`ip link show master BRIDGE`).
    pub master: Option<LinkRef<'a>>,
    /// Only links of this kind, by the kernel's name (`ip link show type veth`).
    pub kind: Option<&'a str>,
}

impl<'a> LinkFilter<'a> {
    /// The links enslaved to `master`, such as a bridge's ports.
    pub fn master(master: impl Into<LinkRef<'a>>) -> Self {
        LinkFilter {
            master: Some(master.into()),
            kind: None,
        }
    }
}

/// A network interface as the kernel reports it (`ip -d link show`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// Interface index.
    pub index: IfIndex,
    /// Interface name.
    pub name: String,
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
    /// The interface alias (`ip link set … alias`).
    pub alias: Option<String>,
    /// Counters.
    pub stats: Option<LinkStats>,
    /// The port's settings, when the link is a bridge port.
    pub bridge_port: Option<BridgePort>,
}

impl Handle {
    /// Lists every link in the handle's namespace. Equivalent to `ip -d link show`.
    pub fn links(&self) -> Result<Vec<Link>> {
        let req = RouteNetlinkMessage::GetLink(LinkMessage::default());
        self.dump("list links", req, |msg| match msg {
            RouteNetlinkMessage::NewLink(m) => link_from_message(m).map(Some),
            _ => Ok(None),
        })
    }

    /// Lists the links that match `filter`. Equivalent to
    /// `ip -d link show [master BRIDGE] [type KIND]`.
    ///
    /// ```no_run
    /// use netplumb::{Handle, link::LinkFilter};
    ///
    /// let h = Handle::new()?;
    /// // The ports of br0: ip link show master br0
    /// for port in h.links_filtered(&LinkFilter::master("br0"))? {
    ///     println!("{}", port.name);
    /// }
    /// // Every veth: ip link show type veth
    /// let veths = h.links_filtered(&LinkFilter { kind: Some("veth"), ..Default::default() })?;
    /// # drop(veths);
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn links_filtered(&self, filter: &LinkFilter<'_>) -> Result<Vec<Link>> {
        let master = match filter.master {
            Some(m) => Some(self.link_index(m)?),
            None => None,
        };
        let mut links = self.links()?;
        links.retain(|l| {
            master.is_none_or(|m| l.master == Some(m))
                && filter
                    .kind
                    .is_none_or(|k| l.kind.as_ref().is_some_and(|lk| lk.name() == k))
        });
        Ok(links)
    }

    /// Looks up one link. Equivalent to `ip -d link show dev NAME`.
    ///
    /// A link that does not exist is an error for which [`Error::is_not_found`] is true.
    pub fn link<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<Link> {
        let link = link.into();
        let req = RouteNetlinkMessage::GetLink(selector_message(link)?);
        match self
            .get("get link", req)
            .map_err(|e| not_found_as(e, link))?
        {
            RouteNetlinkMessage::NewLink(m) => link_from_message(m),
            _ => Err(Error::malformed("get link", "the reply is not a link")),
        }
    }

    /// The index of a link, looked up when given by name.
    pub fn link_index<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<IfIndex> {
        match link.into() {
            LinkRef::Index(i) => Ok(i),
            r @ LinkRef::Name(_) => Ok(self.link(r)?.index),
        }
    }

    /// Deletes a link (for a veth, both ends go). Equivalent to `ip link del dev NAME`.
    pub fn delete_link<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let req = RouteNetlinkMessage::DelLink(selector_message(link)?);
        self.ack("delete link", req, 0)
            .map_err(|e| not_found_as(e, link))
    }

    /// Brings a link up. Equivalent to `ip link set dev NAME up`.
    pub fn set_link_up<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        self.change_flags("set link up", link.into(), LinkFlags::UP, LinkFlags::UP)
    }

    /// Brings a link down. Equivalent to `ip link set dev NAME down`.
    pub fn set_link_down<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        self.change_flags(
            "set link down",
            link.into(),
            LinkFlags::empty(),
            LinkFlags::UP,
        )
    }

    /// Sets or clears the flags in `mask` to their values in `flags`, leaving other flags
    /// alone. Equivalent to `ip link set dev NAME promisc on` and friends.
    pub fn set_link_flags<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        flags: LinkFlags,
        mask: LinkFlags,
    ) -> Result<()> {
        self.change_flags("set link flags", link.into(), flags, mask)
    }

    fn change_flags(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        flags: LinkFlags,
        mask: LinkFlags,
    ) -> Result<()> {
        let mut msg = selector_message(link)?;
        msg.header.flags = NlLinkFlags::from_bits_retain(flags.bits() & mask.bits());
        msg.header.change_mask = NlLinkFlags::from_bits_retain(mask.bits());
        self.set_link(op, link, msg)
    }

    /// Sets a link's MTU. Equivalent to `ip link set dev NAME mtu MTU`.
    ///
    /// An MTU outside the device's range is refused by the kernel, with its explanation in the
    /// error (e.g. `mtu greater than device maximum`).
    pub fn set_link_mtu<'a>(&self, link: impl Into<LinkRef<'a>>, mtu: u32) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        self.set_link("set link mtu", link, msg)
    }

    /// Renames a link. Equivalent to `ip link set dev NAME name NEW`. Most devices must be down
    /// to be renamed.
    pub fn rename_link<'a>(&self, link: impl Into<LinkRef<'a>>, new_name: &str) -> Result<()> {
        check_ifname("new name", new_name)?;
        let link = link.into();
        let index = self.link_index(link)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index.get();
        msg.attributes
            .push(LinkAttribute::IfName(new_name.to_string()));
        self.set_link("rename link", link, msg)
    }

    /// Sets a link's hardware address. Equivalent to `ip link set dev NAME address MAC`.
    pub fn set_link_mac<'a>(&self, link: impl Into<LinkRef<'a>>, mac: MacAddr) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        self.set_link("set link address", link, msg)
    }

    /// Sets a link's transmit queue length. Equivalent to `ip link set dev NAME txqlen N`.
    pub fn set_link_txqlen<'a>(&self, link: impl Into<LinkRef<'a>>, txqlen: u32) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::TxQueueLen(txqlen));
        self.set_link("set link txqlen", link, msg)
    }

    /// Sets a link's alias. Equivalent to `ip link set dev NAME alias TEXT`.
    pub fn set_link_alias<'a>(&self, link: impl Into<LinkRef<'a>>, alias: &str) -> Result<()> {
        if alias.len() >= 256 || alias.contains('\0') {
            return Err(Error::invalid(
                "alias",
                "an alias is at most 255 bytes and holds no NUL",
            ));
        }
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes
            .push(LinkAttribute::IfAlias(alias.to_string()));
        self.set_link("set link alias", link, msg)
    }

    /// Enslaves a link to a master device such as a bridge. Equivalent to
    /// `ip link set dev NAME master BRIDGE`.
    pub fn set_link_master<'a, 'b>(
        &self,
        link: impl Into<LinkRef<'a>>,
        master: impl Into<LinkRef<'b>>,
    ) -> Result<()> {
        let master = self.link_index(master)?;
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Controller(master.get()));
        self.set_link("set link master", link, msg)
    }

    /// Releases a link from its master. Equivalent to `ip link set dev NAME nomaster`.
    pub fn set_link_nomaster<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Controller(0));
        self.set_link("set link nomaster", link, msg)
    }

    /// Moves a link into another network namespace. Equivalent to
    /// `ip link set dev NAME netns NS`. The link keeps its name there unless one exists already,
    /// which the kernel refuses (`EEXIST`).
    pub fn move_link_to_netns<'a>(&self, link: impl Into<LinkRef<'a>>, ns: &NetNs) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes
            .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
        self.set_link("move link to netns", link, msg)
    }

    fn set_link(&self, op: &'static str, link: LinkRef<'_>, msg: LinkMessage) -> Result<()> {
        self.ack(op, RouteNetlinkMessage::SetLink(msg), 0)
            .map_err(|e| not_found_as(e, link))
    }

    /// Sends an `RTM_NEWLINK` that creates a link of kind `kind`.
    pub(crate) fn create_link(&self, kind: &str, msg: LinkMessage) -> Result<()> {
        self.ack(
            "add link",
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| unsupported_as(e, kind))
    }
}

/// Gives an [`Error::Unsupported`] the hint that the kernel lacks `feature`.
pub(crate) fn unsupported_as(e: Error, feature: &str) -> Error {
    match e {
        Error::Unsupported {
            op, errno, message, ..
        } => Error::Unsupported {
            op,
            hint: format!("the kernel has no {feature} support"),
            errno,
            message,
        },
        e => e,
    }
}

/// A message that names one link, by index or by `IFLA_IFNAME`.
pub(crate) fn selector_message(link: LinkRef<'_>) -> Result<LinkMessage> {
    let mut msg = LinkMessage::default();
    match link {
        LinkRef::Index(i) => msg.header.index = i.get(),
        LinkRef::Name(name) => {
            check_ifname("link name", name)?;
            msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        }
    }
    Ok(msg)
}

/// Turns the kernel's `ENODEV` for a named link into [`Error::NotFound`] naming it.
pub(crate) fn not_found_as(e: Error, link: LinkRef<'_>) -> Error {
    if e.errno() == Some(nix::errno::Errno::ENODEV) {
        Error::NotFound {
            what: link.to_string(),
        }
    } else {
        e
    }
}

/// Builds the attributes shared by every kind at creation: name, MTU, address, kind data.
pub(crate) fn new_link_message(
    name: &str,
    mtu: Option<u32>,
    mac: Option<MacAddr>,
    kind: InfoKind,
    data: Option<InfoData>,
) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    if let Some(mtu) = mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = mac {
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
    }
    let mut info = vec![LinkInfo::Kind(kind)];
    if let Some(data) = data {
        info.push(LinkInfo::Data(data));
    }
    msg.attributes.push(LinkAttribute::LinkInfo(info));
    msg
}

pub(crate) fn link_from_message(m: LinkMessage) -> Result<Link> {
    let index = IfIndex::new(m.header.index)
        .ok_or_else(|| Error::malformed("list links", "a link with index 0"))?;
    let mut link = Link {
        index,
        name: String::new(),
        kind: None,
        flags: LinkFlags::from_bits_retain(m.header.flags.bits()),
        oper_state: OperState::Unknown,
        mtu: 0,
        min_mtu: None,
        max_mtu: None,
        mac: None,
        broadcast: None,
        master: None,
        link: None,
        link_netnsid: None,
        txqlen: None,
        alias: None,
        stats: None,
        bridge_port: None,
    };
    for attr in m.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n,
            LinkAttribute::Mtu(v) => link.mtu = v,
            LinkAttribute::MinMtu(v) => link.min_mtu = Some(v),
            LinkAttribute::MaxMtu(v) => link.max_mtu = Some(v),
            LinkAttribute::Address(a) => link.mac = MacAddr::from_slice(&a).ok(),
            LinkAttribute::Broadcast(a) => link.broadcast = MacAddr::from_slice(&a).ok(),
            LinkAttribute::Controller(i) => link.master = IfIndex::new(i),
            LinkAttribute::Link(i) => link.link = IfIndex::new(i),
            LinkAttribute::LinkNetNsId(id) => link.link_netnsid = Some(id),
            LinkAttribute::TxQueueLen(v) => link.txqlen = Some(v),
            LinkAttribute::IfAlias(a) => link.alias = Some(a),
            LinkAttribute::OperState(s) => link.oper_state = OperState::from(u8::from(s)),
            LinkAttribute::Stats64(s) => {
                link.stats = Some(LinkStats {
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_errors: s.rx_errors,
                    tx_errors: s.tx_errors,
                    rx_dropped: s.rx_dropped,
                    tx_dropped: s.tx_dropped,
                    multicast: s.multicast,
                    collisions: s.collisions,
                })
            }
            LinkAttribute::LinkInfo(infos) => {
                link.bridge_port = bridge_port_from_infos(&infos);
                link.kind = kind_from_infos(infos);
            }
            _ => {}
        }
    }
    // A veth whose peer was moved away reports IFLA_LINK = 0 on some kernels.
    Ok(link)
}

/// A bridge port's settings, from `IFLA_INFO_SLAVE_KIND` "bridge" and its slave data.
fn bridge_port_from_infos(infos: &[LinkInfo]) -> Option<BridgePort> {
    let is_bridge_port = infos
        .iter()
        .any(|i| matches!(i, LinkInfo::PortKind(InfoPortKind::Bridge)));
    if !is_bridge_port {
        return None;
    }
    infos.iter().find_map(|i| match i {
        LinkInfo::PortData(InfoPortData::BridgePort(nlas)) => {
            Some(BridgePort::from_nlas(nlas.clone()))
        }
        _ => None,
    })
}

fn kind_from_infos(infos: Vec<LinkInfo>) -> Option<LinkKind> {
    let mut kind = None;
    let mut data = None;
    for info in infos {
        match info {
            LinkInfo::Kind(k) => kind = Some(k),
            LinkInfo::Data(d) => data = Some(d),
            _ => {}
        }
    }
    Some(match kind? {
        InfoKind::Veth => LinkKind::Veth,
        InfoKind::Bridge => LinkKind::Bridge(match data {
            Some(InfoData::Bridge(nlas)) => BridgeInfo::from_nlas(nlas),
            _ => BridgeInfo::default(),
        }),
        InfoKind::Vxlan => LinkKind::Vxlan(match data {
            Some(InfoData::Vxlan(nlas)) => VxlanInfo::from_nlas(nlas),
            _ => VxlanInfo::default(),
        }),
        InfoKind::MacVlan => LinkKind::Macvlan(match data {
            Some(InfoData::MacVlan(nlas)) => MacvlanInfo::from_nlas(nlas),
            _ => MacvlanInfo::default(),
        }),
        InfoKind::Vrf => LinkKind::Vrf(match data {
            Some(InfoData::Vrf(nlas)) => VrfInfo::from_nlas(nlas),
            _ => VrfInfo::default(),
        }),
        InfoKind::IpIp => LinkKind::Ipip(match data {
            Some(InfoData::IpTunnel(nlas)) => IpipInfo::from_nlas(nlas),
            _ => IpipInfo::default(),
        }),
        InfoKind::Other(name) => LinkKind::Unknown(name),
        other => LinkKind::Unknown(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_keep_their_name() {
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Dummy)]).unwrap();
        assert_eq!(k, LinkKind::Unknown("dummy".into()));
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Vxlan)]).unwrap();
        assert_eq!(k, LinkKind::Vxlan(VxlanInfo::default()));
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Other("wibble".into()))]).unwrap();
        assert_eq!(k.name(), "wibble");
        assert_eq!(kind_from_infos(vec![]), None);
        assert_eq!(
            kind_from_infos(vec![LinkInfo::Kind(InfoKind::Veth)]),
            Some(LinkKind::Veth)
        );
    }

    #[test]
    fn long_names_are_refused_before_sending() {
        let e = selector_message(LinkRef::Name("sixteen-bytes-xx")).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
    }

    #[test]
    fn flags_keep_unknown_bits() {
        let f = LinkFlags::from_bits_retain(1 << 30 | 1);
        assert!(f.contains(LinkFlags::UP));
        assert_eq!(f.bits(), 1 << 30 | 1);
    }
}
