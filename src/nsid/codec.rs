//! Namespace id messages (`RTM_NEWNSID`, `RTM_GETNSID`; linux/net_namespace.h), through
//! `netlink-packet-route`.

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::types::Nsid;

/// `NETNSA_NSID_NOT_ASSIGNED`: the namespace has no id here.
pub(crate) const NOT_ASSIGNED: i32 = -1;

/// A request naming a namespace by descriptor, with an id (`RTM_NEWNSID`) or without
/// (`RTM_GETNSID`).
pub(crate) fn by_fd(fd: BorrowedFd<'_>, id: Option<i32>) -> NsidMessage {
    let mut m = NsidMessage::default();
    m.header.family = AddressFamily::Unspec;
    m.attributes.push(NsidAttribute::Fd(fd.as_raw_fd() as u32));
    if let Some(id) = id {
        m.attributes.push(NsidAttribute::Id(id));
    }
    m
}

/// The id a `RTM_NEWNSID` message carries; `None` for "not assigned" or none.
pub(crate) fn nsid_from_message(m: &RouteNetlinkMessage) -> Option<Nsid> {
    let (RouteNetlinkMessage::NewNsId(n) | RouteNetlinkMessage::DelNsId(n)) = m else {
        return None;
    };
    n.attributes.iter().find_map(|a| match a {
        NsidAttribute::Id(id) if *id != NOT_ASSIGNED && *id >= 0 => Some(Nsid { id: *id }),
        _ => None,
    })
}
