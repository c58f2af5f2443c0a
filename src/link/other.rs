//! Links of any kind, by the kernel's name for it (`ip link add NAME type KIND …`): for a kind
//! netplumb does not model yet, its settings given as typed attribute values (an attribute
//! number of the kind's `IFLA_*` list and a value), without leaving the typed API for the wire
//! crate's types.

use netlink_packet_route::link::{InfoData, InfoKind, LinkAttribute, LinkMessage};

use super::base::{new_link_message, put_in_netns};
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, MacAddr, NetNs, Result};

/// The longest kind name the kernel looks up (a module name: `MODULE_NAME_LEN` less its NUL).
const MAX_KIND_LEN: usize = 55;

/// The largest attribute number (`NLA_TYPE_MASK`; the two bits above are flags).
const MAX_ATTR_TYPE: u16 = 0x3fff;

/// A link of any kind to create, with its kind settings (`IFLA_INFO_DATA`) given as attribute
/// numbers and values. The values are encoded in the host's byte order, as the kernel's
/// `nla_get_u16/u32/u64` read them, unless the method says otherwise (`data_be16`, for ports
/// and protocols).
///
/// ```no_run
/// use netplumb::{Handle, link::NewLink};
///
/// // ip link add nlmon0 type nlmon
/// Handle::new()?.add_link(&NewLink::other("nlmon0", "nlmon"))?;
///
/// // ip link add v0.7 link eth0 type vlan id 7, spelled out
/// // (IFLA_VLAN_ID = 1, a u16, from linux/if_link.h)
/// let vlan = NewLink::other("v0.7", "vlan").parent("eth0").data_u16(1, 7);
/// Handle::new()?.add_link(&vlan)?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewLink<'a> {
    name: String,
    kind: String,
    parent: Option<LinkRef<'a>>,
    mtu: Option<u32>,
    mac: Option<MacAddr>,
    netns: Option<&'a NetNs>,
    data: Vec<(u16, Vec<u8>)>,
}

impl<'a> NewLink<'a> {
    /// A link named `name` of the kernel's kind `kind` (`ip link add NAME type KIND`), with no
    /// settings yet.
    pub fn other(name: &str, kind: &str) -> NewLink<'a> {
        NewLink {
            name: name.to_string(),
            kind: kind.to_string(),
            ..NewLink::default()
        }
    }

    /// The parent device (`link DEV`, `IFLA_LINK`), in the handle's namespace.
    pub fn parent(mut self, parent: impl Into<LinkRef<'a>>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// The MTU (`mtu M`).
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// The hardware address (`address A`).
    pub fn mac(mut self, mac: MacAddr) -> Self {
        self.mac = Some(mac);
        self
    }

    /// The namespace to create it in (`netns NS`).
    pub fn netns(mut self, ns: &'a NetNs) -> Self {
        self.netns = Some(ns);
        self
    }

    /// A kind attribute with no value (a flag attribute, `NLA_FLAG`).
    pub fn data_flag(self, attr: u16) -> Self {
        self.data_bytes(attr, &[])
    }

    /// A kind attribute holding a `u8`.
    pub fn data_u8(self, attr: u16, value: u8) -> Self {
        self.data_bytes(attr, &[value])
    }

    /// A kind attribute holding a `u16` in host byte order.
    pub fn data_u16(self, attr: u16, value: u16) -> Self {
        self.data_bytes(attr, &value.to_ne_bytes())
    }

    /// A kind attribute holding a `u16` in network byte order (`__be16`: ports, protocols).
    pub fn data_be16(self, attr: u16, value: u16) -> Self {
        self.data_bytes(attr, &value.to_be_bytes())
    }

    /// A kind attribute holding a `u32` in host byte order.
    pub fn data_u32(self, attr: u16, value: u32) -> Self {
        self.data_bytes(attr, &value.to_ne_bytes())
    }

    /// A kind attribute holding a `u64` in host byte order.
    pub fn data_u64(self, attr: u16, value: u64) -> Self {
        self.data_bytes(attr, &value.to_ne_bytes())
    }

    /// A kind attribute holding an IPv4 or IPv6 address (4 or 16 bytes, network order).
    pub fn data_ip(self, attr: u16, value: std::net::IpAddr) -> Self {
        match value {
            std::net::IpAddr::V4(a) => self.data_bytes(attr, &a.octets()),
            std::net::IpAddr::V6(a) => self.data_bytes(attr, &a.octets()),
        }
    }

    /// A kind attribute holding a NUL-terminated string.
    pub fn data_str(self, attr: u16, value: &str) -> Self {
        self.data_bytes(attr, &[value.as_bytes(), &[0]].concat())
    }

    /// A kind attribute holding these bytes as they are.
    pub fn data_bytes(mut self, attr: u16, value: &[u8]) -> Self {
        self.data.push((attr, value.to_vec()));
        self
    }
}

/// The attributes as `IFLA_INFO_DATA`'s payload: each with its header, padded to 4 bytes.
fn data_payload(data: &[(u16, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (ty, value) in data {
        if *ty == 0 || *ty > MAX_ATTR_TYPE {
            return Err(Error::invalid(
                "link data",
                format!("attribute number {ty} is outside 1-{MAX_ATTR_TYPE}"),
            ));
        }
        let len = u16::try_from(4 + value.len())
            .map_err(|_| Error::invalid("link data", "an attribute longer than 65531 bytes"))?;
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&ty.to_ne_bytes());
        out.extend_from_slice(value);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    Ok(out)
}

/// # Links: any kind
///
/// `ip link add NAME [link DEV] type KIND …`.
impl Handle {
    /// Creates a link of any kind, by the kernel's name for it. Equivalent to `ip link add
    /// NAME [link DEV] [mtu M] [address A] [netns NS] type KIND …`, the kind's options given as
    /// attributes ([`NewLink::data_u32`] and friends).
    ///
    /// The name, the kind name and the attribute numbers are checked before anything is sent;
    /// the values are the kernel's to judge. A kind the kernel does not have is
    /// [`Error::Unsupported`]. Reported as the modelled [`LinkKind`](super::LinkKind) when
    /// netplumb knows it, else as [`LinkKind::Unknown`](super::LinkKind::Unknown) with its name.
    pub fn add_link(&self, link: &NewLink<'_>) -> Result<()> {
        check_new_link(link)?;
        let parent = match link.parent {
            Some(p) => Some(self.link_index(p)?),
            None => None,
        };
        self.create_link(&link.kind, other_message(link, parent)?)
    }
}

fn check_new_link(l: &NewLink<'_>) -> Result<()> {
    check_ifname("link name", &l.name)?;
    let k = &l.kind;
    if k.is_empty() || k.len() > MAX_KIND_LEN || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "link kind",
            format!("{k:?} is not a kind name (1-{MAX_KIND_LEN} printable ASCII characters)"),
        ));
    }
    data_payload(&l.data).map(drop)
}

/// The `RTM_NEWLINK` request for a link of any kind.
pub(crate) fn other_message(l: &NewLink<'_>, parent: Option<IfIndex>) -> Result<LinkMessage> {
    check_new_link(l)?;
    let data = (!l.data.is_empty())
        .then(|| data_payload(&l.data).map(InfoData::Other))
        .transpose()?;
    let mut msg = new_link_message(&l.name, l.mtu, l.mac, InfoKind::from(l.kind.as_str()), data)?;
    if let Some(p) = parent {
        msg.attributes.insert(0, LinkAttribute::Link(p.get()));
    }
    put_in_netns(&mut msg, l.netns);
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_attributes_are_checked() {
        let e = check_new_link(&NewLink::other("x", "")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "link kind",
                    ..
                }
            ),
            "{e}"
        );
        let e = check_new_link(&NewLink::other("x", "a b")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "link kind",
                    ..
                }
            ),
            "{e}"
        );
        let e = check_new_link(&NewLink::other("x", "dummy").data_u8(0, 1)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "link data",
                    ..
                }
            ),
            "{e}"
        );
        let e = check_new_link(&NewLink::other("x", "dummy").data_u8(0x4000, 1)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "link data",
                    ..
                }
            ),
            "{e}"
        );
        let e = check_new_link(&NewLink::other("x", "d").data_bytes(1, &[0; 65532])).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "link data",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn attributes_are_laid_out_as_the_kernel_reads_them() {
        let l = NewLink::other("x", "vlan")
            .data_u16(1, 7)
            .data_be16(5, 0x88a8)
            .data_flag(9);
        assert_eq!(
            data_payload(&l.data).unwrap(),
            [
                &6u16.to_ne_bytes()[..],
                &1u16.to_ne_bytes(),
                &7u16.to_ne_bytes(),
                &[0, 0],
                &6u16.to_ne_bytes(),
                &5u16.to_ne_bytes(),
                &[0x88, 0xa8, 0, 0],
                &4u16.to_ne_bytes(),
                &9u16.to_ne_bytes(),
            ]
            .concat()
        );
    }
}
