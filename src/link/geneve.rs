//! Geneve tunnels (`ip link add … type geneve id VNI remote IP …`, RFC 8926): Ethernet over
//! UDP with a 24-bit network identifier, as OVN and Cilium use.

use std::net::IpAddr;

use netlink_packet_route::link::{GeneveDf as NlDf, InfoData, InfoGeneve, InfoKind, LinkMessage};

use super::base::new_link_message;
use crate::types::check_ifname;
use crate::{Error, Handle, MacAddr, Result, Vni};

/// The IANA UDP port of Geneve, the kernel's default.
pub const GENEVE_PORT: u16 = 6081;

/// The largest IPv6 flow label (20 bits).
const FLOW_LABEL_MAX: u32 = 0xf_ffff;

/// The Don't Fragment bit of the outer IPv4 header (`df`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GeneveDf {
    /// Not set (`df unset`, the default).
    #[default]
    Unset,
    /// Always set (`df set`).
    Set,
    /// Copied from the inner IPv4 header (`df inherit`).
    Inherit,
    /// A value this version does not know.
    Other(u8),
}

impl GeneveDf {
    fn to_wire(self) -> NlDf {
        match self {
            GeneveDf::Unset => NlDf::Unset,
            GeneveDf::Set => NlDf::Set,
            GeneveDf::Inherit => NlDf::Inherit,
            GeneveDf::Other(v) => NlDf::Other(v),
        }
    }

    fn from_wire(d: NlDf) -> GeneveDf {
        match d {
            NlDf::Unset => GeneveDf::Unset,
            NlDf::Set => GeneveDf::Set,
            NlDf::Inherit => GeneveDf::Inherit,
            NlDf::Other(v) => GeneveDf::Other(v),
            _ => GeneveDf::Other(u8::from(d)),
        }
    }
}

/// A Geneve device to create. Fields left `None` take the kernel's defaults.
///
/// ```no_run
/// use netplumb::{Handle, Vni, link::NewGeneve};
///
/// let h = Handle::new()?;
/// // ip link add gnv0 type geneve id 42 remote 192.0.2.2 ttl 64
/// h.add_geneve(&NewGeneve {
///     remote: Some("192.0.2.2".parse()?),
///     ttl: Some(64),
///     ..NewGeneve::new("gnv0", Vni::new(42)?)
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewGeneve {
    /// Device name.
    pub name: String,
    /// MTU of the device.
    pub mtu: Option<u32>,
    /// Hardware address of the device.
    pub mac: Option<MacAddr>,
    /// The VNI (`id VNI`); `None` only in [`external`](NewGeneve::external) mode.
    pub vni: Option<Vni>,
    /// The remote endpoint (`remote IP`, IPv4 or IPv6, unicast); needed unless external.
    pub remote: Option<IpAddr>,
    /// Outer TTL (`ttl N`); 0 lets the kernel choose.
    pub ttl: Option<u8>,
    /// Copy the inner TTL (`ttl inherit`).
    pub ttl_inherit: bool,
    /// Outer TOS (`tos N`); 1 copies the inner one (`tos inherit`).
    pub tos: Option<u8>,
    /// The outer DF bit (`df set|unset|inherit`).
    pub df: Option<GeneveDf>,
    /// Outer IPv6 flow label (`flowlabel`, 20 bits; IPv6 remotes only).
    pub flow_label: Option<u32>,
    /// Destination UDP port (`dstport PORT`); the kernel's default is [`GENEVE_PORT`].
    pub port: Option<u16>,
    /// UDP checksums over IPv4 (`[no]udpcsum`).
    pub udp_csum: Option<bool>,
    /// Send zero UDP checksums over IPv6 (`[no]udp6zerocsumtx`).
    pub udp_zero_csum6_tx: Option<bool>,
    /// Accept zero UDP checksums over IPv6 (`[no]udp6zerocsumrx`).
    pub udp_zero_csum6_rx: Option<bool>,
    /// Collect-metadata mode (`external`): VNI and remote come per packet from the routing or
    /// tc layer; neither may be set.
    pub external: bool,
}

impl NewGeneve {
    /// A Geneve device with VNI `vni` and the kernel's defaults (set
    /// [`remote`](NewGeneve::remote) too).
    pub fn new(name: &str, vni: Vni) -> NewGeneve {
        NewGeneve {
            name: name.to_string(),
            vni: Some(vni),
            ..NewGeneve::default()
        }
    }

    /// A Geneve device in collect-metadata mode (`external`).
    pub fn external(name: &str) -> NewGeneve {
        NewGeneve {
            name: name.to_string(),
            external: true,
            ..NewGeneve::default()
        }
    }
}

/// A Geneve device's settings as the kernel reports them (`ip -d link show type geneve`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Geneve {
    /// The VNI (`None` in external mode).
    pub vni: Option<Vni>,
    /// The remote endpoint.
    pub remote: Option<IpAddr>,
    /// Outer TTL (0: the kernel's choice).
    pub ttl: u8,
    /// The inner TTL is copied.
    pub ttl_inherit: bool,
    /// Outer TOS (1: inherit).
    pub tos: u8,
    /// The outer DF bit.
    pub df: GeneveDf,
    /// Outer IPv6 flow label.
    pub flow_label: u32,
    /// Destination UDP port.
    pub port: Option<u16>,
    /// UDP checksums over IPv4.
    pub udp_csum: Option<bool>,
    /// Zero UDP checksums sent over IPv6.
    pub udp_zero_csum6_tx: Option<bool>,
    /// Zero UDP checksums accepted over IPv6.
    pub udp_zero_csum6_rx: Option<bool>,
    /// Collect-metadata mode.
    pub external: bool,
}

impl Geneve {
    pub(crate) fn from_nlas(nlas: Vec<InfoGeneve>) -> Geneve {
        let mut g = Geneve::default();
        let mut vni = None;
        for n in nlas {
            match n {
                InfoGeneve::Id(v) => vni = Vni::new(v).ok(),
                InfoGeneve::Remote(a) if !a.is_unspecified() => g.remote = Some(a.into()),
                InfoGeneve::Remote6(a) if !a.is_unspecified() => g.remote = Some(a.into()),
                InfoGeneve::Ttl(t) => g.ttl = t,
                InfoGeneve::TtlInherit(b) => g.ttl_inherit = b,
                InfoGeneve::Tos(t) => g.tos = t,
                InfoGeneve::Df(d) => g.df = GeneveDf::from_wire(d),
                InfoGeneve::Label(l) => g.flow_label = l,
                InfoGeneve::Port(p) => g.port = Some(p),
                InfoGeneve::UdpCsum(b) => g.udp_csum = Some(b),
                InfoGeneve::UdpZeroCsum6Tx(b) => g.udp_zero_csum6_tx = Some(b),
                InfoGeneve::UdpZeroCsum6Rx(b) => g.udp_zero_csum6_rx = Some(b),
                InfoGeneve::CollectMetadata => g.external = true,
                _ => {}
            }
        }
        g.vni = if g.external { None } else { vni };
        g
    }
}

fn check_geneve(g: &NewGeneve) -> Result<()> {
    check_ifname("geneve name", &g.name)?;
    if g.external {
        let set = [
            ("vni", g.vni.is_some()),
            ("remote", g.remote.is_some()),
            ("ttl", g.ttl.is_some() || g.ttl_inherit),
            ("tos", g.tos.is_some()),
            ("flow_label", g.flow_label.is_some()),
        ];
        if let Some((arg, _)) = set.iter().find(|(_, s)| *s) {
            return Err(Error::invalid(
                arg,
                "a collect-metadata (external) Geneve device takes it per packet; leave it None",
            ));
        }
    } else {
        if g.vni.is_none() {
            return Err(Error::invalid(
                "vni",
                "a Geneve device needs a VNI unless it is in external (collect-metadata) mode",
            ));
        }
        match g.remote {
            None => {
                return Err(Error::invalid(
                    "remote",
                    "a Geneve device needs a remote unless it is in external mode",
                ))
            }
            Some(r) if r.is_multicast() || r.is_unspecified() => {
                return Err(Error::invalid(
                    "remote",
                    format!("{r} is not a unicast address"),
                ))
            }
            _ => {}
        }
    }
    if let Some(l) = g.flow_label {
        if l > FLOW_LABEL_MAX {
            return Err(Error::invalid(
                "flow_label",
                format!("{l:#x} does not fit the 20 bits of a flow label"),
            ));
        }
        if g.remote.is_some_and(|r| r.is_ipv4()) {
            return Err(Error::invalid(
                "flow_label",
                "a flow label applies to a Geneve device with an IPv6 remote only",
            ));
        }
    }
    if g.ttl_inherit && g.ttl.is_some() {
        return Err(Error::invalid(
            "ttl",
            "a fixed TTL and ttl_inherit exclude each other",
        ));
    }
    Ok(())
}

/// The `RTM_NEWLINK` request for a Geneve device, in iproute2's attribute order.
pub(crate) fn geneve_message(g: &NewGeneve) -> Result<LinkMessage> {
    check_geneve(g)?;
    let mut d = Vec::new();
    if g.ttl_inherit {
        d.push(InfoGeneve::TtlInherit(true));
    }
    if let Some(df) = g.df {
        d.push(InfoGeneve::Df(df.to_wire()));
    }
    d.push(InfoGeneve::Id(g.vni.map_or(0, Vni::get)));
    match g.remote {
        Some(IpAddr::V4(a)) => d.push(InfoGeneve::Remote(a)),
        Some(IpAddr::V6(a)) => d.push(InfoGeneve::Remote6(a)),
        None => {}
    }
    d.push(InfoGeneve::Label(g.flow_label.unwrap_or(0)));
    d.push(InfoGeneve::Ttl(g.ttl.unwrap_or(0)));
    d.push(InfoGeneve::Tos(g.tos.unwrap_or(0)));
    if let Some(p) = g.port.filter(|p| *p != 0) {
        d.push(InfoGeneve::Port(p));
    }
    if g.external {
        d.push(InfoGeneve::CollectMetadata);
    }
    if let Some(b) = g.udp_csum {
        d.push(InfoGeneve::UdpCsum(b));
    }
    if let Some(b) = g.udp_zero_csum6_tx {
        d.push(InfoGeneve::UdpZeroCsum6Tx(b));
    }
    if let Some(b) = g.udp_zero_csum6_rx {
        d.push(InfoGeneve::UdpZeroCsum6Rx(b));
    }
    new_link_message(
        &g.name,
        g.mtu,
        g.mac,
        InfoKind::Geneve,
        Some(InfoData::Geneve(d)),
    )
}

/// # Links: Geneve
///
/// `ip link add … type geneve …`.
impl Handle {
    /// Creates a Geneve device. Equivalent to `ip link add NAME type geneve id VNI remote IP
    /// [ttl N|inherit] [tos N] [df set|unset|inherit] [flowlabel L] [dstport PORT]
    /// [[no]udpcsum] [[no]udp6zerocsumtx] [[no]udp6zerocsumrx]` or `… type geneve external`.
    ///
    /// Inconsistent settings are refused before anything is sent: no VNI or remote outside
    /// external mode, either in it, a multicast remote, a flow label over IPv4 or above 20
    /// bits. A kernel without the `geneve` module answers with [`Error::Unsupported`].
    pub fn add_geneve(&self, geneve: &NewGeneve) -> Result<()> {
        self.create_link("geneve", geneve_message(geneve)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inconsistent_settings_are_refused() {
        let base = NewGeneve {
            remote: Some("192.0.2.2".parse().unwrap()),
            ..NewGeneve::new("gn0", Vni::new(1).unwrap())
        };
        let cases = [
            (
                NewGeneve {
                    remote: None,
                    ..base.clone()
                },
                "remote",
            ),
            (
                NewGeneve {
                    remote: Some("239.1.1.1".parse().unwrap()),
                    ..base.clone()
                },
                "remote",
            ),
            (
                NewGeneve {
                    vni: None,
                    ..base.clone()
                },
                "vni",
            ),
            (
                NewGeneve {
                    external: true,
                    ..base.clone()
                },
                "vni",
            ),
            (
                NewGeneve {
                    flow_label: Some(5),
                    ..base.clone()
                },
                "flow_label",
            ),
            (
                NewGeneve {
                    ttl: Some(3),
                    ttl_inherit: true,
                    ..base.clone()
                },
                "ttl",
            ),
        ];
        for (g, arg) in cases {
            match geneve_message(&g) {
                Err(Error::InvalidInput { arg: a, .. }) => assert_eq!(a, arg),
                other => panic!("{arg}: {other:?}"),
            }
        }
        assert!(geneve_message(&NewGeneve::external("gn1")).is_ok());
    }
}
