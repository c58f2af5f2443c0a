//! Namespace id operations: the [`Handle`] methods of `ip netns set`, `ip netns list-id` and
//! `ip link`'s `link-netnsid`.

use std::os::fd::AsFd;

use netlink_packet_route::nsid::NsidMessage;
use netlink_packet_route::RouteNetlinkMessage;

use super::codec::{by_fd, nsid_from_message, NOT_ASSIGNED};
use super::types::Nsid;
use crate::{Error, Handle, NetNs, Result};

/// # Namespace ids
///
/// `ip netns set NAME ID`, `ip netns list-id`: the ids by which the handle's namespace
/// knows other namespaces (a link's peer in another namespace is reported by such an id).
impl Handle {
    /// The id the handle's namespace has for `ns`, or `None` when it has none yet.
    /// Equivalent to `ip netns list-id` filtered to `ns` (iproute2 names it by `ip netns
    /// identify`).
    pub fn netns_id(&self, ns: &NetNs) -> Result<Option<Nsid>> {
        let req = RouteNetlinkMessage::GetNsId(by_fd(ns.as_fd(), None));
        let reply = self.get("get netns id", req)?;
        Ok(nsid_from_message(&reply))
    }

    /// Gives `ns` an id in the handle's namespace: `id`, or one the kernel picks when `None`;
    /// returns the id. Equivalent to `ip netns set NAME ID|auto`. A namespace has one id per
    /// peer namespace for its life: asking again for the id it has is no error, another id
    /// is the kernel's `EEXIST`.
    pub fn assign_netns_id(&self, ns: &NetNs, id: Option<i32>) -> Result<Nsid> {
        if let Some(i) = id {
            if i < 0 {
                return Err(Error::invalid("id", format!("{i}: ids are 0 or more")));
            }
            if self.netns_id(ns)? == Some(Nsid { id: i }) {
                return Ok(Nsid { id: i });
            }
        }
        let req = by_fd(ns.as_fd(), Some(id.unwrap_or(NOT_ASSIGNED)));
        self.ack(
            "assign netns id",
            RouteNetlinkMessage::NewNsId(req),
            crate::wire::NLM_F_CREATE,
        )?;
        self.netns_id(ns)?.ok_or_else(|| {
            Error::malformed(
                "assign netns id",
                "the kernel acknowledged but reports no id",
            )
        })
    }

    /// Every id the handle's namespace has given to other namespaces. Equivalent to
    /// `ip netns list-id`.
    pub fn netns_ids(&self) -> Result<Vec<Nsid>> {
        let req = RouteNetlinkMessage::GetNsId(NsidMessage::default());
        let mut ids = self.dump("list netns ids", req, |m| Ok(nsid_from_message(&m)))?;
        ids.sort();
        Ok(ids)
    }

    /// The named namespace (`/run/netns/NAME`, as `ip netns add` makes them) that the
    /// handle's namespace knows by `id`, if any: a link's
    /// [`link_netnsid`](crate::Link::link_netnsid) resolved. Equivalent to `ip netns
    /// list-id`'s name column. Unnamed namespaces cannot be found this way (the kernel gives
    /// no way from an id to a namespace); compare their [`netns_id`](Handle::netns_id)
    /// instead.
    pub fn netns_of_id(&self, id: Nsid) -> Result<Option<NetNs>> {
        for name in NetNs::list()? {
            let Ok(ns) = NetNs::open(&name) else {
                continue; // gone since the listing
            };
            if self.netns_id(&ns)? == Some(id) {
                return Ok(Some(ns));
            }
        }
        Ok(None)
    }
}
