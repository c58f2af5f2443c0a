//! Link properties of any kind beyond the basics of `ops.rs`: alternative names (`ip link
//! property`), GSO/GRO limits, the IPv6 address generation mode, protodown and carrier.

use netlink_packet_core::DefaultNla;
use netlink_packet_route::link::{LinkAttribute, LinkMessage, Prop};
use netlink_packet_route::RouteNetlinkMessage;

use super::base::{not_found_as, selector_message};
use super::decode::link_from_bytes;
use super::types::{Ipv6AddrGenMode, Link};
use crate::wire::kernel::IFLA_INET6_ADDR_GEN_MODE;
use crate::wire::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL};
use crate::{Error, Handle, LinkRef, Result};

/// The longest alternative name, in bytes (`ALTIFNAMSIZ` less its NUL).
pub const ALTNAME_MAX: usize = 127;

/// The largest GSO/GRO size the kernel takes (`GSO_MAX_SIZE`, 512 KiB with BIG TCP).
const GSO_MAX: u32 = 512 * 1024;

/// The most GSO segments the kernel takes (`GSO_MAX_SEGS`).
const GSO_MAX_SEGS: u32 = 65535;

/// Checks an alternative name as the kernel does: 1–127 bytes, no NUL, `/`, `:` or white
/// space, not `.` or `..`.
fn check_altname(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > ALTNAME_MAX
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '\0' || c == '/' || c == ':' || c.is_whitespace());
    if bad {
        return Err(Error::invalid(
            "altname",
            format!(
                "{name:?} is not an interface name (1-{ALTNAME_MAX} bytes, no '/', ':', NUL or \
                 white space, not '.' or '..')"
            ),
        ));
    }
    Ok(())
}

fn check_size(arg: &'static str, v: u32, max: u32) -> Result<()> {
    if v > max {
        return Err(Error::invalid(
            arg,
            format!("{v} is above the kernel's largest, {max}"),
        ));
    }
    Ok(())
}

/// The `RTM_NEWLINKPROP`/`RTM_DELLINKPROP` payload naming one alternative name of a link.
pub(crate) fn altname_message(link: LinkRef<'_>, name: &str) -> Result<LinkMessage> {
    check_altname(name)?;
    let mut msg = selector_message(link)?;
    msg.attributes
        .push(LinkAttribute::PropList(vec![Prop::AltIfName(
            name.to_string(),
        )]));
    Ok(msg)
}

/// `IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: u8 } }`, as iproute2 sends it.
pub(crate) fn addrgenmode_attr(mode: Ipv6AddrGenMode) -> LinkAttribute {
    let mode_attr = [
        &5u16.to_ne_bytes()[..],
        &IFLA_INET6_ADDR_GEN_MODE.to_ne_bytes(),
        &[mode.to_raw(), 0, 0, 0],
    ]
    .concat();
    let inet6 = [
        &(4 + mode_attr.len() as u16).to_ne_bytes()[..],
        &(libc::AF_INET6 as u16).to_ne_bytes(),
        &mode_attr,
    ]
    .concat();
    LinkAttribute::Other(DefaultNla::new(libc::IFLA_AF_SPEC, inet6))
}

/// # Links: properties
///
/// `ip link property add|del dev D altname A`, `ip link set dev D gso_max_size|gso_max_segs|
/// gro_max_size N | addrgenmode M | protodown on|off | carrier on|off`.
impl Handle {
    /// Gives a link an alternative name (up to 127 bytes, where its name has 15), by which
    /// iproute2 and [`Handle::link_by_altname`] find it. Equivalent to
    /// `ip link property add dev NAME altname ALT`.
    pub fn add_link_altname<'a>(&self, link: impl Into<LinkRef<'a>>, altname: &str) -> Result<()> {
        self.link_prop("add link altname", link.into(), altname, true)
    }

    /// Takes an alternative name away. Equivalent to `ip link property del dev NAME altname ALT`.
    pub fn delete_link_altname<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        altname: &str,
    ) -> Result<()> {
        self.link_prop("delete link altname", link.into(), altname, false)
    }

    fn link_prop(&self, op: &'static str, link: LinkRef<'_>, name: &str, add: bool) -> Result<()> {
        let msg = altname_message(link, name)?;
        let (req, flags) = if add {
            // iproute2's flags for a property added.
            (
                RouteNetlinkMessage::NewLinkProp(msg),
                NLM_F_CREATE | NLM_F_EXCL | NLM_F_APPEND,
            )
        } else {
            (RouteNetlinkMessage::DelLinkProp(msg), 0)
        };
        self.ack(op, req, flags).map_err(|e| not_found_as(e, link))
    }

    /// Looks up a link by one of its alternative names. Equivalent to `ip -d link show ALT`.
    pub fn link_by_altname(&self, altname: &str) -> Result<Link> {
        check_altname(altname)?;
        let op = "get link";
        let mut msg = netlink_packet_route::link::LinkMessage::default();
        let value = [altname.as_bytes(), &[0]].concat();
        msg.attributes.push(LinkAttribute::Other(DefaultNla::new(
            libc::IFLA_ALT_IFNAME,
            value,
        )));
        self.get_frame(op, RouteNetlinkMessage::GetLink(msg), |frame| {
            match frame.ty {
                libc::RTM_NEWLINK => {
                    link_from_bytes(frame.payload).map_err(|e| Error::malformed(op, e))
                }
                _ => Err(Error::malformed(op, "the reply is not a link")),
            }
        })
        .map_err(|e| {
            if e.errno() == Some(nix::errno::Errno::ENODEV) {
                Error::NotFound {
                    what: format!("link with altname {altname:?}"),
                    errno: e.errno(),
                }
            } else {
                e
            }
        })
    }

    /// Sets the largest GSO packet the stack builds for the link. Equivalent to
    /// `ip link set dev NAME gso_max_size BYTES`.
    pub fn set_link_gso_max_size<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        bytes: u32,
    ) -> Result<()> {
        check_size("gso_max_size", bytes, GSO_MAX)?;
        self.set_attr(
            "set link gso_max_size",
            link.into(),
            LinkAttribute::GsoMaxSize(bytes),
        )
    }

    /// Sets the most segments of a GSO packet. Equivalent to
    /// `ip link set dev NAME gso_max_segs N`.
    pub fn set_link_gso_max_segs<'a>(&self, link: impl Into<LinkRef<'a>>, segs: u32) -> Result<()> {
        check_size("gso_max_segs", segs, GSO_MAX_SEGS)?;
        self.set_attr(
            "set link gso_max_segs",
            link.into(),
            LinkAttribute::GsoMaxSegs(segs),
        )
    }

    /// Sets the largest packet GRO builds for the link. Equivalent to
    /// `ip link set dev NAME gro_max_size BYTES`.
    pub fn set_link_gro_max_size<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        bytes: u32,
    ) -> Result<()> {
        check_size("gro_max_size", bytes, GSO_MAX)?;
        self.set_attr(
            "set link gro_max_size",
            link.into(),
            LinkAttribute::GroMaxSize(bytes),
        )
    }

    /// Sets how the link's IPv6 link-local (and SLAAC) addresses are made. Equivalent to
    /// `ip link set dev NAME addrgenmode eui64|none|stable_secret|random`.
    pub fn set_link_addrgenmode<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        mode: Ipv6AddrGenMode,
    ) -> Result<()> {
        self.set_attr("set link addrgenmode", link.into(), addrgenmode_attr(mode))
    }

    /// Sets or clears protodown, the flag with which a control plane keeps a link's carrier
    /// down (`ip link`'s `protodown on`). Equivalent to `ip link set dev NAME protodown on|off`.
    /// Devices without support (veth) refuse it with the kernel's `EOPNOTSUPP`.
    pub fn set_link_protodown<'a>(&self, link: impl Into<LinkRef<'a>>, on: bool) -> Result<()> {
        self.set_attr(
            "set link protodown",
            link.into(),
            LinkAttribute::ProtoDown(on.into()),
        )
    }

    /// Turns the carrier of a device that lets software set it (dummy, …) on or off.
    /// Equivalent to `ip link set dev NAME carrier on|off`.
    pub fn set_link_carrier<'a>(&self, link: impl Into<LinkRef<'a>>, on: bool) -> Result<()> {
        self.set_attr(
            "set link carrier",
            link.into(),
            LinkAttribute::Carrier(on.into()),
        )
    }

    fn set_attr(&self, op: &'static str, link: LinkRef<'_>, attr: LinkAttribute) -> Result<()> {
        let mut msg = selector_message(link)?;
        msg.attributes.push(attr);
        self.set_link(op, link, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn altnames_are_checked() {
        check_altname(&"x".repeat(127)).unwrap();
        for bad in ["", ".", "..", "a b", "a/b", "a:b", "a\0b", &"x".repeat(128)] {
            let e = check_altname(bad).unwrap_err();
            assert!(
                matches!(e, Error::InvalidInput { arg: "altname", .. }),
                "{e}"
            );
        }
    }
}
