//! IPIP tunnels (`ip link add … type ipip local … remote …`): IPv4 in IPv4, as calico's IPIP
//! mode uses through the `tunl0` fallback device.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_route::link::{
    InfoData, InfoIpTunnel, InfoKind, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::base::{check_mtu, kind_of, new_link_message, put_in_netns};
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, NetNs, Result};

/// The fallback device the `ipip` module creates in every namespace; it receives every IPIP
/// packet that no other tunnel matches (calico routes pod traffic through it).
pub const IPIP_FALLBACK: &str = "tunl0";

/// An IPIP tunnel to create or change
/// (`ip link add NAME type ipip [local A] [remote B] [ttl T] [tos T] [pmtudisc] [dev D]`).
///
/// ```no_run
/// use netplumb::{Handle, link::NewIpip};
///
/// let h = Handle::new()?;
/// h.add_ipip(&NewIpip {
///     local: Some("192.0.2.1".parse()?),
///     remote: Some("198.51.100.1".parse()?),
///     ttl: Some(64),
///     ..NewIpip::new("ipip1")
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewIpip<'a> {
    /// The device name.
    pub name: String,
    /// The tunnel's local address (`local`); any when `None`.
    pub local: Option<Ipv4Addr>,
    /// The tunnel's remote address (`remote`); any (a point-to-multipoint tunnel, like
    /// `tunl0`) when `None`.
    pub remote: Option<Ipv4Addr>,
    /// The outer TTL (`ttl`, 1–255); `Some(0)` is `inherit`.
    pub ttl: Option<u8>,
    /// The outer TOS (`tos`); `Some(1)` is `inherit`.
    pub tos: Option<u8>,
    /// Path MTU discovery on the outer packets (`pmtudisc` / `nopmtudisc`).
    pub pmtudisc: Option<bool>,
    /// The underlay device the outer packets leave by (`dev`).
    pub underlay: Option<LinkRef<'a>>,
    /// MTU of the tunnel device.
    pub mtu: Option<u32>,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`. Only for
    /// [`Handle::add_ipip`]; [`Handle::set_ipip`] refuses it.
    pub netns: Option<&'a NetNs>,
}

impl NewIpip<'_> {
    /// A tunnel named `name` with the kernel's defaults.
    pub fn new(name: &str) -> NewIpip<'static> {
        NewIpip {
            name: name.to_string(),
            ..NewIpip::default()
        }
    }
}

/// An IPIP tunnel's settings as listed ([`LinkKind::Ipip`](super::LinkKind::Ipip)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ipip {
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
    /// The underlay device.
    pub underlay: Option<IfIndex>,
}

fn v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(a) if !a.is_unspecified() => Some(a),
        _ => None,
    }
}

impl Ipip {
    pub(crate) fn from_nlas(nlas: Vec<InfoIpTunnel>) -> Ipip {
        let mut info = Ipip::default();
        for n in nlas {
            match n {
                InfoIpTunnel::Local(a) => info.local = v4(a),
                InfoIpTunnel::Remote(a) => info.remote = v4(a),
                InfoIpTunnel::Ttl(t) => info.ttl = t,
                InfoIpTunnel::Tos(t) => info.tos = t,
                InfoIpTunnel::PMtuDisc(p) => info.pmtudisc = p,
                InfoIpTunnel::Link(l) => info.underlay = IfIndex::new(l),
                _ => {}
            }
        }
        info
    }
}

/// The `IFLA_INFO_DATA` of an IPIP tunnel; `index` resolves the underlay device.
fn ipip_data(
    t: &NewIpip<'_>,
    index: impl FnOnce(LinkRef<'_>) -> Result<IfIndex>,
) -> Result<InfoData> {
    check_ifname("ipip name", &t.name)?;
    if t.pmtudisc == Some(false) && t.ttl.is_some_and(|ttl| ttl != 0) {
        // iproute2's rule (the kernel's tunnels need it too): a fixed TTL requires path MTU
        // discovery.
        return Err(Error::invalid(
            "pmtudisc",
            "nopmtudisc needs ttl inherit (Some(0) or None)",
        ));
    }
    let mut d = Vec::new();
    if let Some(u) = t.underlay {
        d.push(InfoIpTunnel::Link(index(u)?.get()));
    }
    if let Some(a) = t.local {
        d.push(InfoIpTunnel::Local(IpAddr::V4(a)));
    }
    if let Some(a) = t.remote {
        d.push(InfoIpTunnel::Remote(IpAddr::V4(a)));
    }
    if let Some(ttl) = t.ttl {
        d.push(InfoIpTunnel::Ttl(ttl));
    }
    if let Some(tos) = t.tos {
        d.push(InfoIpTunnel::Tos(tos));
    }
    if let Some(p) = t.pmtudisc {
        d.push(InfoIpTunnel::PMtuDisc(p));
    }
    Ok(InfoData::IpTunnel(d))
}

/// # Links: IPIP
///
/// `ip link add|set … type ipip …`.
impl Handle {
    /// Creates an IPIP tunnel. Equivalent to
    /// `ip link add NAME type ipip [local A] [remote B] [ttl T] [tos T] [[no]pmtudisc] [dev D]`.
    ///
    /// A kernel without the `ipip` module answers with [`Error::Unsupported`] ("the kernel has
    /// no ipip support"). Creating [`IPIP_FALLBACK`] (`tunl0`) when the module is loaded
    /// finds it existing; change it with [`Handle::set_ipip`](crate::Handle::set_ipip) instead.
    pub fn add_ipip(&self, tunnel: &NewIpip<'_>) -> Result<()> {
        let data = ipip_data(tunnel, |l| self.link_index(l))?;
        let mut msg = new_link_message(&tunnel.name, tunnel.mtu, None, InfoKind::IpIp, Some(data))?;
        put_in_netns(&mut msg, tunnel.netns);
        self.create_link("ipip", msg)
    }

    /// Changes an existing IPIP tunnel, such as the fallback `tunl0` that calico configures.
    /// Equivalent to `ip link set NAME type ipip …` (and `mtu M`): fields left `None` keep
    /// their current values (the kernel resets whatever a change does not carry, so they are
    /// read first and sent again, as iproute2 does). On the fallback device the kernel lets
    /// only the MTU change; other fields are refused with its `EINVAL` and an explanation.
    pub fn set_ipip(&self, tunnel: &NewIpip<'_>) -> Result<()> {
        if tunnel.netns.is_some() {
            return Err(Error::invalid(
                "netns",
                "a change stays in the tunnel's namespace; move it with move_link_to_netns",
            ));
        }
        if let Some(mtu) = tunnel.mtu {
            check_mtu("mtu", mtu)?;
        }
        let changes = ipip_data(tunnel, |l| self.link_index(l))?;
        let has_data = matches!(&changes, InfoData::IpTunnel(d) if !d.is_empty());
        let current = self.link_message(LinkRef::Name(&tunnel.name))?;
        let mut msg = LinkMessage::default();
        msg.header.index = current.header.index;
        if let Some(mtu) = tunnel.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        // Tunnel data only when there is some to change: the kernel refuses any (even an empty
        // set) on the fallback device, whose MTU alone calico changes.
        if has_data {
            let now = match kind_of(&current) {
                (Some(InfoKind::IpIp), Some(InfoData::IpTunnel(nlas))) => {
                    Ipip::from_nlas(nlas.clone())
                }
                (Some(InfoKind::IpIp), None) => Ipip::from_nlas(Vec::new()),
                _ => {
                    return Err(Error::invalid(
                        "ipip",
                        format!("{} is not an IPIP tunnel", tunnel.name),
                    ))
                }
            };
            let merged = NewIpip {
                name: tunnel.name.clone(),
                local: tunnel.local.or(now.local),
                remote: tunnel.remote.or(now.remote),
                ttl: tunnel.ttl.or(Some(now.ttl)),
                tos: tunnel.tos.or(Some(now.tos)),
                pmtudisc: tunnel.pmtudisc.or(Some(now.pmtudisc)),
                underlay: tunnel.underlay.or(now.underlay.map(LinkRef::Index)),
                mtu: None,
                netns: None,
            };
            msg.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::IpIp),
                LinkInfo::Data(ipip_data(&merged, |l| self.link_index(l))?),
            ]));
        }
        self.ack("set ipip", RouteNetlinkMessage::NewLink(msg), 0)
            .map_err(|e| match e {
                Error::Kernel {
                    op,
                    errno: nix::errno::Errno::EINVAL,
                    message: None,
                } if has_data && tunnel.name == IPIP_FALLBACK => Error::Kernel {
                    op,
                    errno: nix::errno::Errno::EINVAL,
                    message: Some(
                        "the kernel keeps the fallback tunl0's tunnel parameters fixed; only \
                         its MTU, addresses and state change"
                            .into(),
                    ),
                },
                e => e,
            })
    }
}
