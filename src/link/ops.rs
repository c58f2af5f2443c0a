//! Operations on links of any kind: the [`Handle`] methods of `ip link` that are not a
//! kind's own.

use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_route::link::{LinkAttribute, LinkFlags as NlLinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::base::{check_mtu, not_found_as, selector_message};
use super::decode::link_from_bytes;
use super::types::{Link, LinkFilter, LinkFlags};
use crate::batch::Batch;
use crate::handle::DecodeFrame;
use crate::types::check_ifname;
use crate::wire::Frame;
use crate::{Dump, Error, Handle, LinkRef, MacAddr, NetNs, Result};

const LIST_LINKS: &str = "list links";

/// # Links
///
/// `ip link`: list, look up, delete, and change links of every kind. Creating a link is a
/// method of its kind (`add_veth`, `add_bridge`, `add_vxlan`, …).
impl Handle {
    /// The request of a link listing and the decoder that keeps what `filter` selects.
    fn link_dump(
        &self,
        filter: &LinkFilter<'_>,
    ) -> Result<(RouteNetlinkMessage, impl DecodeFrame<Link> + 'static)> {
        let master = match filter.master {
            Some(m) => Some(self.link_index(m)?),
            None => None,
        };
        let kind = filter.kind.map(str::to_owned);
        let group = filter.group;
        let req = RouteNetlinkMessage::GetLink(LinkMessage::default());
        let decode = move |frame: &Frame<'_>| {
            if frame.ty != libc::RTM_NEWLINK {
                return Ok(None);
            }
            let l = link_from_bytes(frame.payload).map_err(|e| Error::malformed(LIST_LINKS, e))?;
            let keep = master.is_none_or(|m| l.master == Some(m))
                && group.is_none_or(|g| l.group == g)
                && kind
                    .as_deref()
                    .is_none_or(|k| l.kind.as_ref().is_some_and(|lk| lk.name() == k));
            Ok(keep.then_some(l))
        };
        Ok((req, decode))
    }

    /// Lists the links that match `filter` ([`LinkFilter::default()`] for all of them).
    /// Equivalent to `ip -d link show [master BRIDGE | vrf VRF] [type KIND]`.
    ///
    /// ```no_run
    /// use netplumb::{Handle, link::LinkFilter};
    ///
    /// let h = Handle::new()?;
    /// // The ports of br0: ip link show master br0
    /// for port in h.links(&LinkFilter::master("br0"))? {
    ///     println!("{}", port.name);
    /// }
    /// // Every veth: ip link show type veth
    /// let veths = h.links(&LinkFilter { kind: Some("veth"), ..Default::default() })?;
    /// # drop(veths);
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn links(&self, filter: &LinkFilter<'_>) -> Result<Vec<Link>> {
        let (req, decode) = self.link_dump(filter)?;
        self.dump_frames(LIST_LINKS, req, decode)
    }

    /// Lists links as [`links`](Handle::links) does, decoding them as they arrive (see
    /// [`Dump`]).
    pub fn links_iter(&self, filter: &LinkFilter<'_>) -> Result<Dump<'_, Link>> {
        let (req, decode) = self.link_dump(filter)?;
        self.dump_iter(LIST_LINKS, req, decode)
    }

    /// Looks up one link. Equivalent to `ip -d link show dev NAME`.
    ///
    /// A link that does not exist is an error for which [`Error::is_not_found`](crate::Error::is_not_found) is true.
    pub fn link<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<Link> {
        let link = link.into();
        let op = "get link";
        let req = RouteNetlinkMessage::GetLink(selector_message(link)?);
        self.get_frame(op, req, |frame| match frame.ty {
            libc::RTM_NEWLINK => {
                link_from_bytes(frame.payload).map_err(|e| Error::malformed(op, e))
            }
            _ => Err(Error::malformed(op, "the reply is not a link")),
        })
        .map_err(|e| not_found_as(e, link))
    }

    /// Deletes a link (for a veth, both ends go). Equivalent to `ip link del dev NAME`.
    pub fn delete_link<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let req = RouteNetlinkMessage::DelLink(selector_message(link)?);
        self.ack("delete link", req, 0)
            .map_err(|e| not_found_as(e, link))
    }

    /// Brings a link up. Equivalent to `ip link set dev NAME up`.
    pub fn set_link_up<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        self.change_flags("set link up", link.into(), LinkFlags::UP, LinkFlags::UP)
    }

    /// Brings a link down. Equivalent to `ip link set dev NAME down`.
    pub fn set_link_down<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        self.change_flags(
            "set link down",
            link.into(),
            LinkFlags::empty(),
            LinkFlags::UP,
        )
    }

    /// Sets or clears the flags in `mask` to their values in `flags`, leaving other flags
    /// alone. Equivalent to `ip link set dev NAME promisc on` and friends.
    pub fn set_link_flags<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        flags: LinkFlags,
        mask: LinkFlags,
    ) -> Result<()> {
        self.change_flags("set link flags", link.into(), flags, mask)
    }

    fn change_flags(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        flags: LinkFlags,
        mask: LinkFlags,
    ) -> Result<()> {
        let mut msg = selector_message(link)?;
        msg.header.flags = NlLinkFlags::from_bits_retain(flags.bits() & mask.bits());
        msg.header.change_mask = NlLinkFlags::from_bits_retain(mask.bits());
        self.set_link(op, link, msg)
    }

    /// Sets a link's MTU. Equivalent to `ip link set dev NAME mtu MTU`.
    ///
    /// An MTU outside the device's range is refused by the kernel, with its explanation in the
    /// error (e.g. `mtu greater than device maximum`).
    pub fn set_link_mtu<'a>(&self, link: impl Into<LinkRef<'a>>, mtu: u32) -> Result<()> {
        check_mtu("mtu", mtu)?;
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        self.set_link("set link mtu", link, msg)
    }

    /// Renames a link. Equivalent to `ip link set dev NAME name NEW`. Most devices must be down
    /// to be renamed.
    pub fn rename_link<'a>(&self, link: impl Into<LinkRef<'a>>, new_name: &str) -> Result<()> {
        check_ifname("new name", new_name)?;
        let link = link.into();
        let index = self.link_index(link)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index.get();
        msg.attributes
            .push(LinkAttribute::IfName(new_name.to_string()));
        self.set_link("rename link", link, msg)
    }

    /// Sets a link's hardware address. Equivalent to `ip link set dev NAME address MAC`.
    pub fn set_link_mac<'a>(&self, link: impl Into<LinkRef<'a>>, mac: MacAddr) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        self.set_link("set link address", link, msg)
    }

    /// Sets a link's transmit queue length. Equivalent to `ip link set dev NAME txqlen N`.
    pub fn set_link_txqlen<'a>(&self, link: impl Into<LinkRef<'a>>, txqlen: u32) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::TxQueueLen(txqlen));
        self.set_link("set link txqlen", link, msg)
    }

    /// Sets a link's alias. Equivalent to `ip link set dev NAME alias TEXT`.
    pub fn set_link_alias<'a>(&self, link: impl Into<LinkRef<'a>>, alias: &str) -> Result<()> {
        if alias.len() >= 256 || alias.contains('\0') {
            return Err(Error::invalid(
                "alias",
                "an alias is at most 255 bytes and holds no NUL",
            ));
        }
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes
            .push(LinkAttribute::IfAlias(alias.to_string()));
        self.set_link("set link alias", link, msg)
    }

    /// Enslaves a link to a master device such as a bridge. Equivalent to
    /// `ip link set dev NAME master BRIDGE`.
    pub fn set_link_master<'a, 'b>(
        &self,
        link: impl Into<LinkRef<'a>>,
        master: impl Into<LinkRef<'b>>,
    ) -> Result<()> {
        let master = self.link_index(master)?;
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Controller(master.get()));
        self.set_link("set link master", link, msg)
    }

    /// Puts a link in a group, a number links share so that they can be listed
    /// ([`LinkFilter::group`](crate::link::LinkFilter::group)) and deleted
    /// ([`delete_link_group`](Handle::delete_link_group)) together. Every link starts in group
    /// 0 (`default`). Equivalent to `ip link set dev NAME group N`.
    pub fn set_link_group<'a>(&self, link: impl Into<LinkRef<'a>>, group: u32) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Group(group));
        self.set_link("set link group", link, msg)
    }

    /// Deletes every link of `group` in one request: the kernel unregisters them together,
    /// which for many links is far faster than deleting them one by one (each deletion waits
    /// for the network stack to let go of its device). Equivalent to `ip link delete group N`.
    ///
    /// Group 0 is refused: every link starts in it. If one link of the group cannot be deleted
    /// (`lo`, a physical device), the kernel deletes none and answers `EOPNOTSUPP`. A group
    /// without links is [`Error::NotFound`].
    pub fn delete_link_group(&self, group: u32) -> Result<()> {
        if group == 0 {
            return Err(Error::invalid(
                "group",
                "group 0 (default) holds every link that was never put in a group",
            ));
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Group(group));
        self.ack("delete link group", RouteNetlinkMessage::DelLink(msg), 0)
            .map_err(|e| {
                if e.errno() == Some(nix::errno::Errno::ENODEV) {
                    Error::NotFound {
                        what: format!("link group {group}"),
                        errno: e.errno(),
                    }
                } else {
                    e
                }
            })
    }

    /// Releases a link from its master. Equivalent to `ip link set dev NAME nomaster`.
    pub fn set_link_nomaster<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Controller(0));
        self.set_link("set link nomaster", link, msg)
    }

    /// Moves a link into another network namespace. Equivalent to
    /// `ip link set dev NAME netns NS`. The link keeps its name there unless one exists already,
    /// which the kernel refuses (`EEXIST`).
    pub fn move_link_to_netns<'a>(&self, link: impl Into<LinkRef<'a>>, ns: &NetNs) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes
            .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
        self.set_link("move link to netns", link, msg)
    }
}

/// # Links
impl Batch<'_> {
    /// Queues `ip link del dev NAME` (see [`Handle::delete_link`]); returns the request's
    /// index. A link that is not there fails its own request only
    /// ([`Error::is_not_found`](crate::Error::is_not_found)).
    pub fn delete_link<'a>(&mut self, link: impl Into<LinkRef<'a>>) -> usize {
        let msg = selector_message(link.into()).map(RouteNetlinkMessage::DelLink);
        self.push_result("delete link", msg, 0)
    }
}
