//! Network interfaces (`ip link`): list, look up, delete, and change them; each kind in a
//! file of its own.
//!
//! Every operation is a method of [`Handle`](crate::Handle) and accepts the link as a
//! [`LinkRef`]: a name (`"veth0"`), an [`IfIndex`](crate::IfIndex), or a [`&Link`](Link)
//! from an earlier listing.
//!
//! | kind | create | report | iproute2 |
//! | --- | --- | --- | --- |
//! | dummy | [`NewDummy`] | [`LinkKind::Dummy`] | `ip link add NAME type dummy` |
//! | ifb | [`NewIfb`] | [`LinkKind::Ifb`] | `ip link add NAME type ifb` |
//! | VLAN | [`NewVlan`] | [`LinkKind::Vlan`] | `ip link add link PARENT name NAME type vlan id ID …` |
//! | ipvlan | [`NewIpvlan`] | [`LinkKind::Ipvlan`] | `ip link add NAME link PARENT type ipvlan mode M [F]` |
//! | ipvtap | [`NewIpvlan`] ([`Handle::add_ipvtap`](crate::Handle::add_ipvtap)) | [`LinkKind::Ipvtap`] | `ip link add NAME link PARENT type ipvtap mode M [F]` |
//! | macvtap | [`NewMacvlan`] ([`Handle::add_macvtap`](crate::Handle::add_macvtap)) | [`LinkKind::Macvtap`] | `ip link add NAME link PARENT type macvtap mode M` |
//! | tun/tap | [`NewTun`] (through `/dev/net/tun`) | [`LinkKind::Tun`] | `ip tuntap add NAME mode tun\|tap …` |
//! | any other | [`NewLink::other`] | [`LinkKind::Unknown`] (or the modelled kind) | `ip link add NAME type KIND …` |
//! | veth | [`NewVeth`] | [`LinkKind::Veth`] | `ip link add A type veth peer name B` |
//! | bridge | [`NewBridge`] | [`LinkKind::Bridge`] | `ip link add NAME type bridge …` |
//! | VXLAN | [`NewVxlan`] (changes: [`VxlanChange`]) | [`LinkKind::Vxlan`] | `ip link add NAME type vxlan id VNI …`, `ip link set NAME type vxlan …` |
//! | macvlan | [`NewMacvlan`] | [`LinkKind::Macvlan`] | `ip link add NAME link PARENT type macvlan mode M` |
//! | VRF | [`NewVrf`] | [`LinkKind::Vrf`] | `ip link add NAME type vrf table T` |
//! | IPIP | [`NewIpip`] | [`LinkKind::Ipip`] | `ip link add NAME type ipip …` |
//! | GRE | [`NewGre`] | [`LinkKind::Gre`] | `ip link add NAME type gre\|gretap\|ip6gre\|ip6gretap …` |
//! | SIT | [`NewSit`] | [`LinkKind::Sit`] | `ip link add NAME type sit [mode ip6ip\|ipip\|mplsip\|any] …` |
//! | bond | [`NewBond`] | [`LinkKind::Bond`], [`Link::bond_port`] | `ip link add NAME type bond mode M …`; `ip link set P master NAME`; `ip link set P type bond_slave …` |
//! | Geneve | [`NewGeneve`] | [`LinkKind::Geneve`] | `ip link add NAME type geneve id VNI remote IP …` |
//! | VTI | [`NewVti`] | [`LinkKind::Vti`] | `ip link add NAME type vti\|vti6 [local A] [remote B] [ikey K] [okey K] …` |
//! | WireGuard | [`NewWireguard`] | [`LinkKind::Wireguard`] | `ip link add NAME type wireguard`; keys and peers: [`crate::wireguard`] (`wg set`) |
//! | ip6tnl | [`NewIp6Tnl`] | [`LinkKind::Ip6Tnl`] | `ip link add NAME type ip6tnl [mode ip6ip6\|ipip6\|any] …` |
//!
//! Every kind's `New…` can create the link straight inside another namespace (its `netns`
//! field, `IFLA_NET_NS_FD`, as `ip link add … netns NS`), its parent staying in the handle's
//! namespace; the link then reports that namespace's id as [`Link::link_netnsid`].
//!
//! Properties of any link beyond `ops.rs`'s (`props.rs`): alternative names
//! ([`Handle::add_link_altname`](crate::Handle::add_link_altname),
//! [`Handle::link_by_altname`](crate::Handle::link_by_altname); `ip link property add`), GSO/GRO
//! limits, the IPv6 address generation mode, protodown and carrier (`ip link set … gso_max_size |
//! addrgenmode | protodown | carrier`), read back on [`Link`] with every 64-bit counter
//! ([`LinkStats`]).
//!
//! Files: `base.rs` (what every kind builds on: naming and creating a link, its index by
//! name), one file per kind (its types, codec and operations), `bridge_port.rs` (a bridge's
//! ports and VLANs), `types.rs` ([`Link`], [`LinkKind`], …), `decode.rs` (a link reply to
//! [`Link`]), `ops.rs` (operations on any link).

mod base;
mod bridge;
mod bridge_port;
mod decode;
mod dummy;
mod ifb;
mod ipip;
mod ipvlan;
mod macvlan;
mod macvtap;
mod ops;
mod other;
mod props;
mod tun;
mod types;
mod veth;
mod vlan;
mod vrf;
mod vxlan;
// links-b kinds
mod bond;
mod geneve;
mod gre;
mod ip6tnl;
mod sit;
mod vti;
mod wireguard;

#[cfg(test)]
pub(crate) use bridge::bridge_message;
pub use bridge::{Bridge, BridgeOptions, NewBridge, StpState, VlanProtocol};
#[cfg(test)]
pub(crate) use bridge_port::port_vlans_from_message;
pub use bridge_port::{BridgePort, BridgePortState, BridgeVlan, PortVlans};
pub(crate) use decode::{link_from_bytes, link_header};
#[cfg(test)]
pub(crate) use dummy::dummy_message;
pub use dummy::NewDummy;
#[cfg(test)]
pub(crate) use ifb::ifb_message;
pub use ifb::NewIfb;
pub use ipip::{Ipip, NewIpip, IPIP_FALLBACK};
#[cfg(test)]
pub(crate) use ipvlan::{ipvlan_change_message, ipvlan_message};
pub use ipvlan::{Ipvlan, IpvlanIsolation, IpvlanMode, NewIpvlan};
#[cfg(test)]
pub(crate) use macvlan::macvlan_message;
pub use macvlan::{Macvlan, MacvlanMode, NewMacvlan};
#[cfg(test)]
pub(crate) use macvtap::macvtap_message;
#[cfg(test)]
pub(crate) use other::other_message;
pub use other::NewLink;
pub use props::ALTNAME_MAX;
#[cfg(test)]
pub(crate) use props::{addrgenmode_attr, altname_message};
pub use tun::{NewTun, Tun, TunMode, TUN_DEVICE};
pub use types::{Ipv6AddrGenMode, Link, LinkFilter, LinkFlags, LinkKind, LinkStats, OperState};
#[cfg(test)]
pub(crate) use veth::veth_message;
pub use veth::{NewVeth, VethPeer};
#[cfg(test)]
pub(crate) use vlan::{vlan_change_message, vlan_message};
pub use vlan::{NewVlan, Vlan, VlanOptions};
#[cfg(test)]
pub(crate) use vrf::vrf_message;
pub use vrf::{NewVrf, Vrf};
#[cfg(test)]
pub(crate) use vxlan::{vxlan_change_message, vxlan_message};
pub use vxlan::{NewVxlan, Vxlan, VxlanChange, VXLAN_PORT};

// links-b kinds
#[cfg(test)]
pub(crate) use bond::bond_message;
pub use bond::{
    Bond, BondAggregatorSelect, BondHashPolicy, BondMiiStatus, BondMode, BondPort, BondPortConfig,
    BondPortState, NewBond, BOND_MAX_ARP_TARGETS,
};
#[cfg(test)]
pub(crate) use geneve::geneve_message;
pub use geneve::{Geneve, GeneveDf, NewGeneve, GENEVE_PORT};
#[cfg(test)]
pub(crate) use gre::gre_message;
pub use gre::{
    Gre, GreKind, NewGre, ERSPAN_FALLBACK, GRETAP_FALLBACK, GRE_FALLBACK, IP6GRE_FALLBACK,
};
#[cfg(test)]
pub(crate) use ip6tnl::ip6tnl_message;
pub use ip6tnl::{Ip6Tnl, Ip6TnlMode, NewIp6Tnl, IP6TNL_FALLBACK};
#[cfg(test)]
pub(crate) use sit::sit_message;
pub use sit::{NewSit, Sit, SitMode, SIT_FALLBACK};
#[cfg(test)]
pub(crate) use vti::vti_message;
pub use vti::{NewVti, Vti, VTI6_FALLBACK, VTI_FALLBACK};
#[cfg(test)]
pub(crate) use wireguard::wireguard_message;
pub use wireguard::NewWireguard;

pub use crate::names::LinkRef;
