//! Network interfaces (`ip link`): list, look up, delete, and change them; each kind in a
//! file of its own.
//!
//! Every operation is a method of [`Handle`](crate::Handle) and accepts the link as a
//! [`LinkRef`]: a name (`"veth0"`), an [`IfIndex`](crate::IfIndex), or a [`&Link`](Link)
//! from an earlier listing.
//!
//! | kind | create | report | iproute2 |
//! | --- | --- | --- | --- |
//! | veth | [`NewVeth`] | [`LinkKind::Veth`] | `ip link add A type veth peer name B` |
//! | bridge | [`NewBridge`] | [`LinkKind::Bridge`] | `ip link add NAME type bridge …` |
//! | VXLAN | [`NewVxlan`] | [`LinkKind::Vxlan`] | `ip link add NAME type vxlan id VNI …` |
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
//! Files: `base.rs` (what every kind builds on: naming and creating a link, its index by
//! name), one file per kind (its types, codec and operations), `bridge_port.rs` (a bridge's
//! ports and VLANs), `types.rs` ([`Link`], [`LinkKind`], …), `decode.rs` (a link reply to
//! [`Link`]), `ops.rs` (operations on any link).

mod base;
mod bridge;
mod bridge_port;
mod decode;
mod ipip;
mod macvlan;
mod ops;
mod types;
mod veth;
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
pub use ipip::{Ipip, NewIpip, IPIP_FALLBACK};
#[cfg(test)]
pub(crate) use macvlan::macvlan_message;
pub use macvlan::{Macvlan, MacvlanMode, NewMacvlan};
pub use types::{Link, LinkFilter, LinkFlags, LinkKind, LinkStats, OperState};
#[cfg(test)]
pub(crate) use veth::veth_message;
pub use veth::{NewVeth, VethPeer};
#[cfg(test)]
pub(crate) use vrf::vrf_message;
pub use vrf::{NewVrf, Vrf};
#[cfg(test)]
pub(crate) use vxlan::vxlan_message;
pub use vxlan::{NewVxlan, Vxlan, VXLAN_PORT};

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
