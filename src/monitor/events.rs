//! Kernel notifications decoded into [`Event`](crate::monitor::Event)s, and the record of what was seen that tells
//! `Added` from `Changed`.

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;

use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::types::{Change, Event};
use crate::addr::{address_from_bytes, Address};
use crate::fdb::{fdb_from_bytes, FdbEntry};
use crate::link::{link_from_bytes, link_header};
use crate::neighbour::{neighbour_from_bytes, Neighbour, NeighbourFlags};
use crate::netconf::{netconf_from_bytes, Netconf, NetconfScope, RTM_DELNETCONF, RTM_NEWNETCONF};
use crate::nexthop::{nexthop_from_bytes, Nexthop, RTM_DELNEXTHOP, RTM_NEWNEXTHOP};
use crate::nsid::nsid_from_message;
use crate::route::route_from_bytes;
use crate::rule::rule_from_bytes;
use crate::wire::{self, Frame, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN};
use crate::{Error, IfIndex, IpFamily, MacAddr, Result, VlanId, Vni};

/// The objects the monitor has reported, to tell `Added` from `Changed`.
#[derive(Default)]
struct Seen {
    addresses: HashSet<(IfIndex, IpAddr, u8)>,
    neighbours: HashSet<(IfIndex, IpAddr, bool)>,
    fdb: HashSet<FdbKey>,
    nexthops: HashSet<u32>,
    netconf: HashSet<(IpFamily, NetconfScope)>,
}

/// What tells two FDB entries apart: device, MAC, VLAN, which table (self or master), and for
/// a VXLAN remote its address, port and VNIs.
type FdbKey = (
    IfIndex,
    MacAddr,
    Option<VlanId>,
    bool,
    Option<IpAddr>,
    Option<u16>,
    Option<Vni>,
    Option<Vni>,
);

impl Seen {
    /// Forgets every object of a link that went away (the kernel does not report them one by
    /// one).
    fn forget_link(&mut self, link: IfIndex) {
        self.addresses.retain(|k| k.0 != link);
        self.neighbours.retain(|k| k.0 != link);
        self.fdb.retain(|k| k.0 != link);
        self.netconf.retain(|k| k.1 != NetconfScope::Link(link));
    }
}

/// Decodes notifications into events, remembering what it reported to tell `Added` from
/// `Changed`. Knows no socket: the [`Monitor`](super::Monitor) hands it each datagram.
#[derive(Default)]
pub(super) struct Decoder {
    seen: Seen,
}

impl Decoder {
    /// Forgets what was reported (a resync starts from scratch).
    pub(super) fn reset(&mut self) {
        self.seen = Seen::default();
    }

    /// Queues the events of one datagram from the kernel. Never fails: a message that does
    /// not decode becomes [`Event::Malformed`] and the next one is read; a datagram whose
    /// framing is broken ends there, with one `Malformed`.
    pub(super) fn datagram(&mut self, datagram: &[u8], out: &mut VecDeque<Event>) {
        for frame in wire::frames(datagram) {
            let frame = match frame {
                Ok(f) => f,
                Err(reason) => {
                    out.push_back(Event::Malformed { reason });
                    return;
                }
            };
            if matches!(
                frame.ty,
                NLMSG_NOOP | NLMSG_ERROR | NLMSG_DONE | NLMSG_OVERRUN
            ) {
                continue;
            }
            match self.frame(&frame) {
                Ok(Some(e)) => out.push_back(e),
                Ok(None) => {}
                Err(e) => out.push_back(Event::Malformed {
                    reason: format!("message type {}: {e}", frame.ty),
                }),
            }
        }
    }

    fn frame(&mut self, frame: &Frame<'_>) -> std::result::Result<Option<Event>, String> {
        if let Some(removed) = route_frame(frame.ty) {
            return Ok(route_from_bytes(frame.payload)?.map(|r| {
                Event::Route(if removed {
                    Change::Removed(r)
                } else if frame.flags & wire::NLM_F_REPLACE != 0 {
                    Change::Changed(r)
                } else {
                    Change::Added(r)
                })
            }));
        }
        match frame.ty {
            libc::RTM_NEWLINK | libc::RTM_DELLINK => return self.link_event(frame),
            RTM_NEWNETCONF | RTM_DELNETCONF => {
                let removed = frame.ty == RTM_DELNETCONF;
                return Ok(
                    netconf_from_bytes(frame.payload)?.map(|n| self.netconf_event(n, removed))
                );
            }
            RTM_NEWNEXTHOP | RTM_DELNEXTHOP => {
                let n = nexthop_from_bytes(frame.payload)?;
                return Ok(Some(self.nexthop_event(n, frame.ty == RTM_DELNEXTHOP)));
            }
            libc::RTM_NEWRULE | libc::RTM_DELRULE => {
                let removed = frame.ty == libc::RTM_DELRULE;
                return Ok(rule_from_bytes(frame.payload)?.map(|r| {
                    Event::Rule(if removed {
                        Change::Removed(r)
                    } else {
                        Change::Added(r)
                    })
                }));
            }
            // ARP/NDP entries and bridge-family ones (FDB), straight from their bytes.
            libc::RTM_NEWNEIGH | libc::RTM_DELNEIGH => {
                let removed = frame.ty == libc::RTM_DELNEIGH;
                if frame.payload.first() == Some(&(libc::AF_BRIDGE as u8)) {
                    let e = fdb_from_bytes(frame.payload)?;
                    return Ok(e.map(|e| self.fdb_event(e, removed)));
                }
                let n = neighbour_from_bytes(frame.payload)?;
                return Ok(n.map(|n| self.neighbour_event(n, removed)));
            }
            libc::RTM_NEWADDR | libc::RTM_DELADDR => {
                let removed = frame.ty == libc::RTM_DELADDR;
                let a = address_from_bytes(frame.payload)?;
                return Ok(a.map(|a| self.address_event(a, removed)));
            }
            _ => {}
        }
        let msg = wire::decode(frame)?;
        self.event(msg).map_err(|e| match e {
            Error::Malformed { reason, .. } => reason,
            other => other.to_string(),
        })
    }

    fn event(&mut self, msg: RouteNetlinkMessage) -> Result<Option<Event>> {
        Ok(Some(match msg {
            RouteNetlinkMessage::GetNeighbour(m) => return Ok(miss_from_message(m)),
            m @ RouteNetlinkMessage::NewNsId(_) => match nsid_from_message(&m) {
                Some(n) => Event::Nsid(Change::Added(n)),
                None => return Ok(None),
            },
            m @ RouteNetlinkMessage::DelNsId(_) => match nsid_from_message(&m) {
                Some(n) => Event::Nsid(Change::Removed(n)),
                None => return Ok(None),
            },
            _ => return Ok(None),
        }))
    }

    /// A link notification, decoded from its bytes (its name and alias are the kernel's bytes).
    fn link_event(&mut self, frame: &Frame<'_>) -> std::result::Result<Option<Event>, String> {
        let header = link_header(frame.payload).ok_or("a link message shorter than its header")?;
        // A bridge also reports its ports' STP and membership changes as link messages of the
        // bridge family, with only a few attributes (and an RTM_DELLINK when a port leaves the
        // bridge, though the link lives on): not link events.
        if header.family == libc::AF_BRIDGE as u8 {
            return Ok(None);
        }
        let l = link_from_bytes(frame.payload)?;
        Ok(Some(Event::Link(if frame.ty == libc::RTM_DELLINK {
            self.seen.forget_link(l.index);
            Change::Removed(l)
        } else if header.change == u32::MAX {
            // The kernel marks a newly registered device with an all-ones change mask.
            Change::Added(l)
        } else {
            Change::Changed(l)
        })))
    }

    pub(super) fn address_event(&mut self, a: Address, removed: bool) -> Event {
        let key = (a.index, a.address.ip(), a.address.prefix());
        Event::Address(classify(&mut self.seen.addresses, key, a, removed))
    }

    pub(super) fn netconf_event(&mut self, n: Netconf, removed: bool) -> Event {
        let key = (n.family, n.scope);
        Event::Netconf(classify(&mut self.seen.netconf, key, n, removed))
    }

    pub(super) fn nexthop_event(&mut self, n: Nexthop, removed: bool) -> Event {
        let key = n.id;
        Event::Nexthop(classify(&mut self.seen.nexthops, key, n, removed))
    }

    pub(super) fn neighbour_event(&mut self, n: Neighbour, removed: bool) -> Event {
        let key = (n.link, n.address, n.is_proxy());
        Event::Neighbour(classify(&mut self.seen.neighbours, key, n, removed))
    }

    pub(super) fn fdb_event(&mut self, e: FdbEntry, removed: bool) -> Event {
        let key = (
            e.link,
            e.mac,
            e.vlan,
            e.flags.contains(NeighbourFlags::MASTER),
            e.dst,
            e.port,
            e.vni,
            e.src_vni,
        );
        Event::Fdb(classify(&mut self.seen.fdb, key, e, removed))
    }
}

/// `Some(removed)` for a route notification (`RTM_NEWROUTE`, `RTM_DELROUTE`).
fn route_frame(ty: u16) -> Option<bool> {
    match ty {
        libc::RTM_NEWROUTE => Some(false),
        libc::RTM_DELROUTE => Some(true),
        _ => None,
    }
}

/// `Added` for an unseen key, `Changed` for a seen one, `Removed` (and forgotten) on removal.
pub(super) fn classify<K: std::hash::Hash + Eq, T>(
    seen: &mut HashSet<K>,
    key: K,
    value: T,
    removed: bool,
) -> Change<T> {
    if removed {
        seen.remove(&key);
        Change::Removed(value)
    } else if seen.insert(key) {
        Change::Added(value)
    } else {
        Change::Changed(value)
    }
}

/// An `RTM_GETNEIGH` from the kernel: an L3 miss or application probe names an IP address
/// (`NDA_DST`); a VXLAN L2 miss names only a MAC (`NDA_LLADDR`). The family does not tell them
/// apart: kernel 6.18 sends the L2 miss with `AF_INET`, not `AF_BRIDGE`.
pub(super) fn miss_from_message(m: NeighbourMessage) -> Option<Event> {
    let link = IfIndex::new(m.header.ifindex)?;
    let mut mac = None;
    for attr in m.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                return Some(Event::L3Miss {
                    link,
                    address: a.into(),
                })
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                return Some(Event::L3Miss {
                    link,
                    address: a.into(),
                })
            }
            NeighbourAttribute::LinkLayerAddress(l) => mac = MacAddr::from_slice(&l).ok(),
            _ => {}
        }
    }
    mac.map(|mac| Event::L2Miss { link, mac })
}
