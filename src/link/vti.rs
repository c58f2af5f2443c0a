//! VTI tunnels (`ip link add … type vti|vti6 …`): route-based IPsec, the tunnel's packets
//! matched to xfrm policies by the keys (as marks).

use std::net::IpAddr;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVti, LinkMessage};

use super::base::new_link_message;
use super::gre::check_family;
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, IpFamily, LinkRef, Result};

/// The fallback device the `ip_vti` module creates in every namespace.
pub const VTI_FALLBACK: &str = "ip_vti0";
/// The fallback device the `ip6_vti` module creates in every namespace.
pub const VTI6_FALLBACK: &str = "ip6_vti0";

/// A VTI tunnel to create: `vti` over IPv4, `vti6` over IPv6.
///
/// ```no_run
/// use netplumb::{Handle, IpFamily, link::NewVti};
///
/// let h = Handle::new()?;
/// // ip link add vti1 type vti local 192.0.2.1 remote 198.51.100.1 key 5
/// h.add_vti(&NewVti {
///     local: Some("192.0.2.1".parse()?),
///     remote: Some("198.51.100.1".parse()?),
///     ikey: Some(5),
///     okey: Some(5),
///     ..NewVti::new("vti1", IpFamily::V4)
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVti<'a> {
    /// The device name.
    pub name: String,
    /// The family the tunnel runs over: `vti` (IPv4) or `vti6` (IPv6).
    pub family: IpFamily,
    /// The tunnel's local address (`local`), of its family.
    pub local: Option<IpAddr>,
    /// The tunnel's remote address (`remote`), of its family.
    pub remote: Option<IpAddr>,
    /// The mark of received packets for the xfrm policy look-up (`ikey`; `key` sets both).
    pub ikey: Option<u32>,
    /// The mark of sent packets for the xfrm policy look-up (`okey`).
    pub okey: Option<u32>,
    /// Firewall mark of the outer packets (`fwmark`).
    pub fwmark: Option<u32>,
    /// The underlay device (`dev`).
    pub underlay: Option<LinkRef<'a>>,
    /// MTU of the tunnel device.
    pub mtu: Option<u32>,
}

impl NewVti<'_> {
    /// A tunnel named `name` over `family` with the kernel's defaults.
    pub fn new(name: &str, family: IpFamily) -> NewVti<'static> {
        NewVti {
            name: name.to_string(),
            family,
            local: None,
            remote: None,
            ikey: None,
            okey: None,
            fwmark: None,
            underlay: None,
            mtu: None,
        }
    }

    fn kind(&self) -> &'static str {
        match self.family {
            IpFamily::V6 => "vti6",
            _ => "vti",
        }
    }

    fn has_options(&self) -> bool {
        self.local.is_some()
            || self.remote.is_some()
            || self.ikey.is_some()
            || self.okey.is_some()
            || self.fwmark.is_some()
            || self.underlay.is_some()
    }
}

/// A VTI tunnel's settings as listed ([`LinkKind::Vti`](super::LinkKind::Vti)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vti {
    /// `V4` for `vti`, `V6` for `vti6`.
    pub family: IpFamily,
    /// Local address; `None` for any.
    pub local: Option<IpAddr>,
    /// Remote address; `None` for any.
    pub remote: Option<IpAddr>,
    /// The received packets' mark (0: none).
    pub ikey: u32,
    /// The sent packets' mark (0: none).
    pub okey: u32,
    /// Firewall mark of the outer packets.
    pub fwmark: u32,
    /// The underlay device.
    pub underlay: Option<IfIndex>,
}

impl Vti {
    pub(crate) fn from_nlas(family: IpFamily, nlas: Vec<InfoVti>) -> Vti {
        let mut v = Vti {
            family,
            local: None,
            remote: None,
            ikey: 0,
            okey: 0,
            fwmark: 0,
            underlay: None,
        };
        for n in nlas {
            match n {
                InfoVti::Local(a) if !a.is_unspecified() => v.local = Some(a),
                InfoVti::Remote(a) if !a.is_unspecified() => v.remote = Some(a),
                InfoVti::IKey(k) => v.ikey = k,
                InfoVti::OKey(k) => v.okey = k,
                InfoVti::FwMark(m) => v.fwmark = m,
                InfoVti::Link(l) => v.underlay = IfIndex::new(l),
                _ => {}
            }
        }
        v
    }
}

fn check_vti(t: &NewVti<'_>) -> Result<()> {
    check_ifname("vti name", &t.name)?;
    let v6 = t.family == IpFamily::V6;
    if let Some(a) = t.local {
        check_family("local", a, v6, t.kind())?;
    }
    if let Some(a) = t.remote {
        check_family("remote", a, v6, t.kind())?;
        if a.is_unspecified() {
            return Err(Error::invalid("remote", "leave it None for any"));
        }
    }
    Ok(())
}

/// The `RTM_NEWLINK` request for a VTI tunnel: when any option is set, the whole parameter set
/// in iproute2's order.
pub(crate) fn vti_message(t: &NewVti<'_>, underlay: Option<IfIndex>) -> Result<LinkMessage> {
    check_vti(t)?;
    let data = t.has_options().then(|| {
        let mut d = vec![
            InfoVti::IKey(t.ikey.unwrap_or(0)),
            InfoVti::OKey(t.okey.unwrap_or(0)),
        ];
        if let Some(a) = t.local {
            d.push(InfoVti::Local(a));
        }
        if let Some(a) = t.remote {
            d.push(InfoVti::Remote(a));
        }
        d.push(InfoVti::FwMark(t.fwmark.unwrap_or(0)));
        if let Some(l) = underlay {
            d.push(InfoVti::Link(l.get()));
        }
        InfoData::Vti(d)
    });
    let kind = match t.family {
        IpFamily::V6 => InfoKind::Vti6,
        _ => InfoKind::Vti,
    };
    new_link_message(&t.name, t.mtu, None, kind, data)
}

/// # Links: VTI
///
/// `ip link add … type vti|vti6 …`.
impl Handle {
    /// Creates a VTI tunnel. Equivalent to `ip link add NAME type vti|vti6 [local A]
    /// [remote B] [ikey K] [okey K] [fwmark M] [dev D]`. An address of the other family is
    /// refused before anything is sent; a kernel without the `ip_vti`/`ip6_vti` module
    /// answers with [`Error::Unsupported`].
    pub fn add_vti(&self, tunnel: &NewVti<'_>) -> Result<()> {
        check_vti(tunnel)?;
        let underlay = match tunnel.underlay {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        self.create_link(tunnel.kind(), vti_message(tunnel, underlay)?)
    }
}
