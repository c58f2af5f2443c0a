//! SIT tunnels (`ip link add … type sit …`): IPv6 (or IPv4, MPLS) in IPv4, as 6in4 links and
//! IPv6 transition setups use.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::DefaultNla;
use netlink_packet_route::link::{
    InfoData, InfoIpTunnel, InfoKind, LinkMessage, TunnelEncapFlags, TunnelEncapType,
};
use netlink_packet_route::IpProtocol;

use super::base::new_link_message;
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, Result};

/// The fallback device the `sit` module creates in every namespace.
pub const SIT_FALLBACK: &str = "sit0";

/// `IFLA_IPTUN_FLAGS` (linux/if_tunnel.h).
const IFLA_IPTUN_FLAGS: u16 = 8;

/// What a SIT tunnel carries (`mode`), by the kernel's inner protocol number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SitMode {
    /// IPv6 in IPv4 (`ip6ip`).
    Ip6Ip,
    /// IPv4 in IPv4 (`ipip`).
    IpIp,
    /// MPLS in IPv4 (`mplsip`).
    MplsIp,
    /// Any of them (`any`, the kernel's default).
    #[default]
    Any,
    /// A protocol this version does not name.
    Other(u8),
}

impl SitMode {
    fn proto(self) -> u8 {
        match self {
            SitMode::Ip6Ip => libc::IPPROTO_IPV6 as u8,
            SitMode::IpIp => libc::IPPROTO_IPIP as u8,
            SitMode::MplsIp => libc::IPPROTO_MPLS as u8,
            SitMode::Any => 0,
            SitMode::Other(p) => p,
        }
    }

    fn from_proto(p: u8) -> SitMode {
        match i32::from(p) {
            libc::IPPROTO_IPV6 => SitMode::Ip6Ip,
            libc::IPPROTO_IPIP => SitMode::IpIp,
            libc::IPPROTO_MPLS => SitMode::MplsIp,
            0 => SitMode::Any,
            _ => SitMode::Other(p),
        }
    }
}

/// A SIT tunnel to create
/// (`ip link add NAME type sit [mode M] [local A] [remote B] [ttl T] [tos T] [[no]pmtudisc]
/// [dev D] [fwmark M] [external]`).
///
/// ```no_run
/// use netplumb::{Handle, link::NewSit};
///
/// let h = Handle::new()?;
/// h.add_sit(&NewSit {
///     local: Some("192.0.2.1".parse()?),
///     remote: Some("198.51.100.1".parse()?),
///     ttl: Some(64),
///     ..NewSit::new("sit1")
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSit<'a> {
    /// The device name.
    pub name: String,
    /// What the tunnel carries (`mode`); any when `None`.
    pub mode: Option<SitMode>,
    /// The tunnel's local address (`local`); any when `None`.
    pub local: Option<Ipv4Addr>,
    /// The tunnel's remote address (`remote`); any when `None`.
    pub remote: Option<Ipv4Addr>,
    /// The outer TTL (`ttl`); `Some(0)` is `inherit`.
    pub ttl: Option<u8>,
    /// The outer TOS (`tos`); `Some(1)` is `inherit`.
    pub tos: Option<u8>,
    /// Path MTU discovery (`[no]pmtudisc`; on by default).
    pub pmtudisc: Option<bool>,
    /// Firewall mark of the outer packets (`fwmark`).
    pub fwmark: Option<u32>,
    /// The underlay device (`dev`).
    pub underlay: Option<LinkRef<'a>>,
    /// Collect-metadata mode (`external`); only `mode` may be set besides.
    pub external: bool,
    /// MTU of the tunnel device.
    pub mtu: Option<u32>,
}

impl NewSit<'_> {
    /// A tunnel named `name` with the kernel's defaults.
    pub fn new(name: &str) -> NewSit<'static> {
        NewSit {
            name: name.to_string(),
            ..NewSit::default()
        }
    }

    fn has_addressing(&self) -> bool {
        self.local.is_some()
            || self.remote.is_some()
            || self.ttl.is_some()
            || self.tos.is_some()
            || self.pmtudisc.is_some()
            || self.fwmark.is_some()
            || self.underlay.is_some()
    }
}

/// A SIT tunnel's settings as listed ([`LinkKind::Sit`](super::LinkKind::Sit)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sit {
    /// What the tunnel carries.
    pub mode: SitMode,
    /// Local address; `None` for any.
    pub local: Option<Ipv4Addr>,
    /// Remote address; `None` for any.
    pub remote: Option<Ipv4Addr>,
    /// Outer TTL (0 is `inherit`).
    pub ttl: u8,
    /// Outer TOS (1 is `inherit`).
    pub tos: u8,
    /// Path MTU discovery.
    pub pmtudisc: bool,
    /// Firewall mark of the outer packets.
    pub fwmark: u32,
    /// The underlay device.
    pub underlay: Option<IfIndex>,
    /// Collect-metadata mode.
    pub external: bool,
}

fn v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(a) if !a.is_unspecified() => Some(a),
        _ => None,
    }
}

impl Sit {
    pub(crate) fn from_nlas(nlas: Vec<InfoIpTunnel>) -> Sit {
        let mut s = Sit::default();
        for n in nlas {
            match n {
                InfoIpTunnel::Protocol(p) => s.mode = SitMode::from_proto(u8::from(p)),
                InfoIpTunnel::Local(a) => s.local = v4(a),
                InfoIpTunnel::Remote(a) => s.remote = v4(a),
                InfoIpTunnel::Ttl(t) => s.ttl = t,
                InfoIpTunnel::Tos(t) => s.tos = t,
                InfoIpTunnel::PMtuDisc(p) => s.pmtudisc = p,
                InfoIpTunnel::FwMark(m) => s.fwmark = m,
                InfoIpTunnel::Link(l) => s.underlay = IfIndex::new(l),
                InfoIpTunnel::CollectMetadata => s.external = true,
                _ => {}
            }
        }
        s
    }
}

fn check_sit(t: &NewSit<'_>) -> Result<()> {
    check_ifname("sit name", &t.name)?;
    if t.pmtudisc == Some(false) && t.ttl.is_some_and(|ttl| ttl != 0) {
        return Err(Error::invalid(
            "pmtudisc",
            "nopmtudisc needs ttl inherit (Some(0) or None)",
        ));
    }
    if t.external && t.has_addressing() {
        return Err(Error::invalid(
            "external",
            "a collect-metadata (external) sit tunnel takes its addresses per packet; set \
             no other option than its mode",
        ));
    }
    Ok(())
}

/// The `RTM_NEWLINK` request for a SIT tunnel: when any option is set, the whole parameter set
/// in iproute2's order.
pub(crate) fn sit_message(t: &NewSit<'_>, underlay: Option<IfIndex>) -> Result<LinkMessage> {
    check_sit(t)?;
    let proto = InfoIpTunnel::Protocol(IpProtocol::from(t.mode.unwrap_or_default().proto()));
    let data = if t.external {
        Some(vec![proto, InfoIpTunnel::CollectMetadata])
    } else if t.mode.is_none() && !t.has_addressing() {
        None
    } else {
        let mut d = vec![proto];
        if let Some(a) = t.local {
            d.push(InfoIpTunnel::Local(IpAddr::V4(a)));
        }
        if let Some(a) = t.remote {
            d.push(InfoIpTunnel::Remote(IpAddr::V4(a)));
        }
        d.extend([
            InfoIpTunnel::PMtuDisc(t.pmtudisc.unwrap_or(true)),
            InfoIpTunnel::Tos(t.tos.unwrap_or(0)),
            InfoIpTunnel::Ttl(t.ttl.unwrap_or(0)),
            InfoIpTunnel::Link(underlay.map_or(0, IfIndex::get)),
            InfoIpTunnel::FwMark(t.fwmark.unwrap_or(0)),
            InfoIpTunnel::EncapType(TunnelEncapType::None),
            InfoIpTunnel::EncapFlags(TunnelEncapFlags::empty()),
            InfoIpTunnel::EncapSPort(0),
            InfoIpTunnel::EncapDPort(0),
            InfoIpTunnel::Other(DefaultNla::new(IFLA_IPTUN_FLAGS, vec![0, 0])),
        ]);
        Some(d)
    };
    new_link_message(
        &t.name,
        t.mtu,
        None,
        InfoKind::SitTun,
        data.map(InfoData::IpTunnel),
    )
}

/// # Links: SIT
///
/// `ip link add … type sit …`.
impl Handle {
    /// Creates a SIT tunnel. Equivalent to `ip link add NAME type sit [mode ip6ip|ipip|mplsip|any]
    /// [local A] [remote B] [ttl T] [tos T] [[no]pmtudisc] [fwmark M] [dev D] [external]`.
    ///
    /// A fixed TTL without path MTU discovery and options beside `external` are refused before
    /// anything is sent; a kernel without the `sit` module answers with
    /// [`Error::Unsupported`].
    pub fn add_sit(&self, tunnel: &NewSit<'_>) -> Result<()> {
        check_sit(tunnel)?;
        let underlay = match tunnel.underlay {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        self.create_link("sit", sit_message(tunnel, underlay)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_bad_input_is_refused() {
        for m in [SitMode::Ip6Ip, SitMode::IpIp, SitMode::MplsIp, SitMode::Any] {
            assert_eq!(SitMode::from_proto(m.proto()), m);
        }
        let e = sit_message(
            &NewSit {
                ttl: Some(64),
                pmtudisc: Some(false),
                ..NewSit::new("s0")
            },
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "pmtudisc",
                    ..
                }
            ),
            "{e}"
        );
        let e = sit_message(
            &NewSit {
                external: true,
                remote: Some(Ipv4Addr::new(192, 0, 2, 1)),
                ..NewSit::new("s0")
            },
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "external",
                    ..
                }
            ),
            "{e}"
        );
    }
}
