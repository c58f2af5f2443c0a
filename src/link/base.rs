//! What every link operation and every kind builds on, knowing no kind: the messages that
//! name or create a link, a link's index by name, the raw reply of a link look-up, and the
//! error conversions. Kinds import this file; nothing here imports a kind.

use libc::IFLA_IFNAME;
use netlink_packet_core::DefaultNla;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoPortKind, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::batch::Batch;
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL};
use crate::{names::check_ifname_bytes, types::check_ifname};
use nix::errno::Errno;

use crate::{Error, Handle, IfIndex, LinkRef, MacAddr, NetNs, Result};

/// Turns the kernel's `EOPNOTSUPP` into [`Error::Unsupported`] with the hint that the kernel
/// lacks `feature`: only for callers that know that this is what it means here.
pub(crate) fn unsupported_as(e: Error, feature: &str) -> Error {
    match e {
        Error::Kernel {
            op,
            errno: Errno::EOPNOTSUPP,
            message,
        } => Error::Unsupported {
            op,
            hint: format!("the kernel has no {feature} support"),
            errno: Errno::EOPNOTSUPP,
            message,
        },
        e => e,
    }
}

/// Whether a refusal of a link creation says that the kind itself is missing: the kernel
/// found no driver for `IFLA_INFO_KIND`, even after trying to load its module.
pub(crate) fn kind_is_missing(e: &Error) -> bool {
    e.errno() == Some(Errno::EOPNOTSUPP) && e.kernel_message() == Some("Unknown device type")
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
        LinkRef::NameBytes(name) => {
            check_ifname_bytes("link name", name)?;
            // netlink-packet-route's IfName holds a String: the bytes go as a raw attribute,
            // NUL-terminated as iproute2 sends them.
            let value = [name, &[0]].concat();
            let nla = DefaultNla::new(IFLA_IFNAME, value);
            msg.attributes.push(LinkAttribute::Other(nla));
        }
    }
    Ok(msg)
}

/// Turns the kernel's `ENODEV` for a named link into [`Error::NotFound`] naming it.
pub(crate) fn not_found_as(e: Error, link: LinkRef<'_>) -> Error {
    if e.errno() == Some(nix::errno::Errno::ENODEV) {
        Error::NotFound {
            what: link.to_string(),
            errno: e.errno(),
        }
    } else {
        e
    }
}

/// Refuses an MTU the kernel cannot read: it takes `IFLA_MTU` into an `int`, so from 2^31 on
/// it would see a negative MTU.
pub(crate) fn check_mtu(arg: &'static str, mtu: u32) -> Result<()> {
    if mtu > i32::MAX as u32 {
        return Err(Error::invalid(
            arg,
            format!("{mtu} is above the kernel's largest MTU, {}", i32::MAX),
        ));
    }
    Ok(())
}

/// Builds the attributes shared by every kind at creation: name, MTU (checked with
/// [`check_mtu`]), address, kind data.
pub(crate) fn new_link_message(
    name: &str,
    mtu: Option<u32>,
    mac: Option<MacAddr>,
    kind: InfoKind,
    data: Option<InfoData>,
) -> Result<LinkMessage> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    if let Some(mtu) = mtu {
        check_mtu("mtu", mtu)?;
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
    Ok(msg)
}

/// Asks for the link to be born in `ns` (`IFLA_NET_NS_FD`, iproute2's `ip link add … netns
/// NS`) rather than in the handle's namespace: the request's other references (a parent's
/// `IFLA_LINK`, an underlay) stay resolved in the handle's namespace, so a link on a host
/// device is created straight inside a container's namespace, without create, move and rename.
pub(crate) fn put_in_netns(msg: &mut LinkMessage, ns: Option<&NetNs>) {
    if let Some(ns) = ns {
        use std::os::fd::{AsFd, AsRawFd};
        msg.attributes
            .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
    }
}

/// The kind (`IFLA_INFO_KIND`) and kind data (`IFLA_INFO_DATA`) of a link message.
pub(crate) fn kind_of(m: &LinkMessage) -> (Option<&InfoKind>, Option<&InfoData>) {
    let (mut kind, mut data) = (None, None);
    for a in &m.attributes {
        if let LinkAttribute::LinkInfo(infos) = a {
            for i in infos {
                match i {
                    LinkInfo::Kind(k) => kind = Some(k),
                    LinkInfo::Data(d) => data = Some(d),
                    _ => {}
                }
            }
        }
    }
    (kind, data)
}

/// Whether a link message is of a bridge's port (`IFLA_INFO_SLAVE_KIND` "bridge").
pub(crate) fn is_bridge_port(m: &LinkMessage) -> bool {
    m.attributes.iter().any(|a| {
        matches!(a, LinkAttribute::LinkInfo(infos)
            if infos.iter().any(|i| matches!(i, LinkInfo::PortKind(InfoPortKind::Bridge))))
    })
}

/// The master (`IFLA_MASTER`) of a link message.
pub(crate) fn master_of(m: &LinkMessage) -> Option<IfIndex> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(i) => IfIndex::new(*i),
        _ => None,
    })
}

/// # Links
impl Handle {
    /// The index of a link, looked up when given by name.
    pub fn link_index<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<IfIndex> {
        match link.into() {
            LinkRef::Index(i) => Ok(i),
            r => {
                let m = self.link_message(r)?;
                IfIndex::new(m.header.index)
                    .ok_or_else(|| Error::malformed("get link", "a link with index 0"))
            }
        }
    }

    /// The kernel's reply to `ip link show dev LINK`, undecoded: for the kinds' own
    /// operations, which read only their own part of it.
    pub(crate) fn link_message(&self, link: LinkRef<'_>) -> Result<LinkMessage> {
        let req = RouteNetlinkMessage::GetLink(selector_message(link)?);
        match self
            .get("get link", req)
            .map_err(|e| not_found_as(e, link))?
        {
            RouteNetlinkMessage::NewLink(m) => Ok(m),
            _ => Err(Error::malformed("get link", "the reply is not a link")),
        }
    }

    pub(crate) fn set_link(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        msg: LinkMessage,
    ) -> Result<()> {
        self.ack(op, RouteNetlinkMessage::SetLink(msg), 0)
            .map_err(|e| not_found_as(e, link))
    }

    /// Changes a link's kind settings: an `RTM_NEWLINK` without `NLM_F_CREATE` on the existing
    /// link, as `ip link set … type KIND …` sends (the kernel's `RTM_SETLINK` ignores
    /// `IFLA_LINKINFO`).
    pub(crate) fn change_link(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        msg: LinkMessage,
    ) -> Result<()> {
        self.ack(op, RouteNetlinkMessage::NewLink(msg), 0)
            .map_err(|e| not_found_as(e, link))
    }

    /// Sends an `RTM_NEWLINK` that creates a link of kind `kind`.
    pub(crate) fn create_link(&self, kind: &str, msg: LinkMessage) -> Result<()> {
        self.ack(
            "add link",
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| {
            if kind_is_missing(&e) {
                unsupported_as(e, kind)
            } else {
                e
            }
        })
    }
}

/// # Links
impl Batch<'_> {
    /// Resolves a link to its index, asking the kernel once per name in a batch.
    pub(crate) fn resolve(&mut self, link: LinkRef<'_>) -> Result<IfIndex> {
        match link {
            LinkRef::Index(i) => Ok(i),
            LinkRef::Name(name) => {
                if let Some(i) = self.link_cache().get(name) {
                    return Ok(*i);
                }
                let i = self.handle().link_index(link)?;
                self.link_cache().insert(name.to_string(), i);
                Ok(i)
            }
            LinkRef::NameBytes(_) => self.handle().link_index(link),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_refused_before_sending() {
        let e = selector_message(LinkRef::Name("sixteen-bytes-xx")).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
    }

    #[test]
    fn mtus_the_kernel_reads_as_negative_are_refused() {
        assert!(check_mtu("mtu", i32::MAX as u32).is_ok());
        for mtu in [1 << 31, u32::MAX] {
            let e = check_mtu("mtu", mtu).unwrap_err();
            assert!(matches!(e, Error::InvalidInput { arg: "mtu", .. }), "{e}");
        }
        let e = new_link_message("x", Some(1 << 31), None, InfoKind::Dummy, None).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { arg: "mtu", .. }), "{e}");
    }
}
