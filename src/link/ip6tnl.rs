//! IPv6 tunnels (`ip link add … type ip6tnl mode ip6ip6|ipip6|any …`): IPv6 or IPv4 in
//! IPv6 (RFC 2473).

use std::net::{IpAddr, Ipv6Addr};

use netlink_packet_route::link::{
    InfoData, InfoIpTunnel, InfoKind, Ip6TunnelFlags, LinkMessage, TunnelEncapFlags,
    TunnelEncapType,
};
use netlink_packet_route::IpProtocol;

use super::base::new_link_message;
use super::gre::{
    DEFAULT_ENCAP_LIMIT, DEFAULT_HOP_LIMIT, FLOW_LABEL_MAX, IP6_TNL_F_IGN_ENCAP_LIMIT,
};
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, Result};

/// The fallback device the `ip6_tunnel` module creates in every namespace.
pub const IP6TNL_FALLBACK: &str = "ip6tnl0";

/// What an ip6tnl tunnel carries (`mode`), by the kernel's inner protocol number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ip6TnlMode {
    /// IPv6 in IPv6 (`ip6ip6`).
    Ip6Ip6,
    /// IPv4 in IPv6 (`ipip6`).
    IpIp6,
    /// Either (`any`, the kernel's default).
    #[default]
    Any,
    /// A protocol this version does not name.
    Other(u8),
}

impl Ip6TnlMode {
    fn proto(self) -> u8 {
        match self {
            Ip6TnlMode::Ip6Ip6 => libc::IPPROTO_IPV6 as u8,
            Ip6TnlMode::IpIp6 => libc::IPPROTO_IPIP as u8,
            Ip6TnlMode::Any => 0,
            Ip6TnlMode::Other(p) => p,
        }
    }

    fn from_proto(p: u8) -> Ip6TnlMode {
        match i32::from(p) {
            libc::IPPROTO_IPV6 => Ip6TnlMode::Ip6Ip6,
            libc::IPPROTO_IPIP => Ip6TnlMode::IpIp6,
            0 => Ip6TnlMode::Any,
            _ => Ip6TnlMode::Other(p),
        }
    }
}

/// An ip6tnl tunnel to create.
///
/// ```no_run
/// use netplumb::{Handle, link::{Ip6TnlMode, NewIp6Tnl}};
///
/// let h = Handle::new()?;
/// h.add_ip6tnl(&NewIp6Tnl {
///     mode: Some(Ip6TnlMode::Ip6Ip6),
///     local: Some("2001:db8::1".parse()?),
///     remote: Some("2001:db8::2".parse()?),
///     ..NewIp6Tnl::new("t6")
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewIp6Tnl<'a> {
    /// The device name.
    pub name: String,
    /// What the tunnel carries (`mode`); any when `None`.
    pub mode: Option<Ip6TnlMode>,
    /// The tunnel's local address (`local`); any when `None`.
    pub local: Option<Ipv6Addr>,
    /// The tunnel's remote address (`remote`); any when `None`.
    pub remote: Option<Ipv6Addr>,
    /// The outer hop limit (`hoplimit`; 64 by default).
    pub hop_limit: Option<u8>,
    /// The outer traffic class (`tclass`).
    pub tclass: Option<u8>,
    /// The outer flow label (`flowlabel`, 20 bits).
    pub flow_label: Option<u32>,
    /// The tunnel encapsulation limit option (`encaplimit N`; 4 by default).
    pub encap_limit: Option<u8>,
    /// Send no encapsulation limit option (`encaplimit none`).
    pub no_encap_limit: bool,
    /// Firewall mark of the outer packets (`fwmark`).
    pub fwmark: Option<u32>,
    /// The underlay device (`dev`).
    pub underlay: Option<LinkRef<'a>>,
    /// Collect-metadata mode (`external`); only `mode` may be set besides.
    pub external: bool,
    /// MTU of the tunnel device.
    pub mtu: Option<u32>,
}

impl NewIp6Tnl<'_> {
    /// A tunnel named `name` with the kernel's defaults.
    pub fn new(name: &str) -> NewIp6Tnl<'static> {
        NewIp6Tnl {
            name: name.to_string(),
            ..NewIp6Tnl::default()
        }
    }

    fn has_addressing(&self) -> bool {
        self.local.is_some()
            || self.remote.is_some()
            || self.hop_limit.is_some()
            || self.tclass.is_some()
            || self.flow_label.is_some()
            || self.encap_limit.is_some()
            || self.no_encap_limit
            || self.fwmark.is_some()
            || self.underlay.is_some()
    }
}

/// An ip6tnl tunnel's settings as listed ([`LinkKind::Ip6Tnl`](super::LinkKind::Ip6Tnl)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ip6Tnl {
    /// What the tunnel carries.
    pub mode: Ip6TnlMode,
    /// Local address; `None` for any.
    pub local: Option<Ipv6Addr>,
    /// Remote address; `None` for any.
    pub remote: Option<Ipv6Addr>,
    /// Outer hop limit.
    pub hop_limit: u8,
    /// Outer traffic class.
    pub tclass: u8,
    /// Outer flow label.
    pub flow_label: u32,
    /// Encapsulation limit; `None` when none is sent (`encaplimit none`).
    pub encap_limit: Option<u8>,
    /// Firewall mark of the outer packets.
    pub fwmark: u32,
    /// The underlay device.
    pub underlay: Option<IfIndex>,
    /// Collect-metadata mode.
    pub external: bool,
}

fn v6(ip: IpAddr) -> Option<Ipv6Addr> {
    match ip {
        IpAddr::V6(a) if !a.is_unspecified() => Some(a),
        _ => None,
    }
}

impl Ip6Tnl {
    pub(crate) fn from_nlas(nlas: Vec<InfoIpTunnel>) -> Ip6Tnl {
        let mut t = Ip6Tnl::default();
        let (mut limit, mut flags) = (None, Ip6TunnelFlags::empty());
        for n in nlas {
            match n {
                InfoIpTunnel::Protocol(p) => t.mode = Ip6TnlMode::from_proto(u8::from(p)),
                InfoIpTunnel::Local(a) => t.local = v6(a),
                InfoIpTunnel::Remote(a) => t.remote = v6(a),
                InfoIpTunnel::Ttl(h) => t.hop_limit = h,
                InfoIpTunnel::EncapLimit(l) => limit = Some(l),
                InfoIpTunnel::FlowInfo(f) => {
                    t.flow_label = f & FLOW_LABEL_MAX;
                    t.tclass = (f >> 20) as u8;
                }
                InfoIpTunnel::Ipv6Flags(f) => flags = f,
                InfoIpTunnel::FwMark(m) => t.fwmark = m,
                InfoIpTunnel::Link(l) => t.underlay = IfIndex::new(l),
                InfoIpTunnel::CollectMetadata => t.external = true,
                _ => {}
            }
        }
        t.encap_limit = limit.filter(|_| !flags.contains(Ip6TunnelFlags::IgnEncapLimit));
        t
    }
}

fn check_ip6tnl(t: &NewIp6Tnl<'_>) -> Result<()> {
    check_ifname("ip6tnl name", &t.name)?;
    if let Some(l) = t.flow_label {
        if l > FLOW_LABEL_MAX {
            return Err(Error::invalid(
                "flow_label",
                format!("{l:#x} does not fit the 20 bits of a flow label"),
            ));
        }
    }
    if t.encap_limit.is_some() && t.no_encap_limit {
        return Err(Error::invalid(
            "encap_limit",
            "an encapsulation limit and no_encap_limit exclude each other",
        ));
    }
    if t.external && t.has_addressing() {
        return Err(Error::invalid(
            "external",
            "a collect-metadata (external) ip6tnl tunnel takes its addresses per packet; set \
             no other option than its mode",
        ));
    }
    Ok(())
}

/// The `RTM_NEWLINK` request for an ip6tnl tunnel: when any option is set, the whole parameter
/// set in iproute2's order.
pub(crate) fn ip6tnl_message(t: &NewIp6Tnl<'_>, underlay: Option<IfIndex>) -> Result<LinkMessage> {
    check_ip6tnl(t)?;
    let proto = InfoIpTunnel::Protocol(IpProtocol::from(t.mode.unwrap_or_default().proto()));
    let data = if t.external {
        Some(vec![proto, InfoIpTunnel::CollectMetadata])
    } else if t.mode.is_none() && !t.has_addressing() {
        None
    } else {
        let mut d = vec![proto];
        if let Some(a) = t.local {
            d.push(InfoIpTunnel::Local(IpAddr::V6(a)));
        }
        if let Some(a) = t.remote {
            d.push(InfoIpTunnel::Remote(IpAddr::V6(a)));
        }
        let flowinfo = (u32::from(t.tclass.unwrap_or(0)) << 20) | t.flow_label.unwrap_or(0);
        let flags = if t.no_encap_limit {
            IP6_TNL_F_IGN_ENCAP_LIMIT
        } else {
            0
        };
        d.extend([
            InfoIpTunnel::Ttl(t.hop_limit.unwrap_or(DEFAULT_HOP_LIMIT)),
            InfoIpTunnel::EncapLimit(t.encap_limit.unwrap_or(DEFAULT_ENCAP_LIMIT)),
            InfoIpTunnel::FlowInfo(flowinfo),
            InfoIpTunnel::Ipv6Flags(Ip6TunnelFlags::from_bits_retain(flags)),
            InfoIpTunnel::Link(underlay.map_or(0, IfIndex::get)),
            InfoIpTunnel::FwMark(t.fwmark.unwrap_or(0)),
            InfoIpTunnel::EncapType(TunnelEncapType::None),
            InfoIpTunnel::EncapFlags(TunnelEncapFlags::CSum6),
            InfoIpTunnel::EncapSPort(0),
            InfoIpTunnel::EncapDPort(0),
        ]);
        Some(d)
    };
    new_link_message(
        &t.name,
        t.mtu,
        None,
        InfoKind::Ip6Tnl,
        data.map(InfoData::IpTunnel),
    )
}

/// # Links: ip6tnl
///
/// `ip link add … type ip6tnl …`.
impl Handle {
    /// Creates an ip6tnl tunnel. Equivalent to `ip link add NAME type ip6tnl
    /// [mode ip6ip6|ipip6|any] [local A] [remote B] [hoplimit H] [tclass T] [flowlabel L]
    /// [encaplimit N|none] [fwmark M] [dev D] [external]`.
    ///
    /// A flow label above 20 bits and options beside `external` are refused before anything
    /// is sent; a kernel without the `ip6_tunnel` module answers with [`Error::Unsupported`].
    pub fn add_ip6tnl(&self, tunnel: &NewIp6Tnl<'_>) -> Result<()> {
        check_ip6tnl(tunnel)?;
        let underlay = match tunnel.underlay {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        self.create_link("ip6tnl", ip6tnl_message(tunnel, underlay)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_info_and_flags_read_back() {
        let t = Ip6Tnl::from_nlas(vec![
            InfoIpTunnel::Protocol(IpProtocol::from(4)),
            InfoIpTunnel::EncapLimit(4),
            InfoIpTunnel::FlowInfo(0x0101_2345),
            InfoIpTunnel::Ipv6Flags(Ip6TunnelFlags::IgnEncapLimit),
        ]);
        assert_eq!(t.mode, Ip6TnlMode::IpIp6);
        assert_eq!(
            (t.tclass, t.flow_label, t.encap_limit),
            (0x10, 0x12345, None)
        );
        let e = ip6tnl_message(
            &NewIp6Tnl {
                flow_label: Some(0x10_0000),
                ..NewIp6Tnl::new("t6")
            },
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "flow_label",
                    ..
                }
            ),
            "{e}"
        );
    }
}
