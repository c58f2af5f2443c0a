//! One datagram fed to every decoder of kernel bytes, with counts of what each made of it.

use std::hint::black_box;

use netlink_packet_route::RouteNetlinkMessage;

use crate::addr::address_from_bytes;
use crate::fdb::fdb_from_bytes;
use crate::handle::check_code;
use crate::link::{link_from_bytes, port_vlans_from_message};
use crate::monitor::Monitor;
use crate::neighbour::{neighbour_from_bytes, neighbour_table_from_message};
use crate::netconf::{netconf_from_bytes, RTM_DELNETCONF, RTM_NEWNETCONF};
use crate::nexthop::{nexthop_from_bytes, RTM_DELNEXTHOP, RTM_NEWNEXTHOP};
use crate::route::route_from_bytes;
use crate::rule::rule_from_bytes;
use crate::wire::{self, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN};

/// The decoders, in the order of the report.
#[derive(Clone, Copy)]
pub(super) enum Decoder {
    /// `wire::frames`: splitting the datagram.
    Frames,
    /// `wire::error_of`: the error code and extended ack of an error or done message.
    ErrorOf,
    /// `handle::check_code`: that code as the handle reports it.
    CheckCode,
    /// `route::route_from_bytes` (fed every data message; counted for route messages).
    Route,
    /// `wire::decode`: `netlink-packet-route`'s parse of a data message.
    Decode,
    Link,
    BridgeVlans,
    Address,
    Neighbour,
    Fdb,
    Rule,
    NeighbourTable,
    /// `nexthop::nexthop_from_bytes` (fed every data message; counted for nexthop messages).
    Nexthop,
    /// `netconf::netconf_from_bytes`.
    Netconf,
    /// `Monitor::parse`: the whole datagram as a notification.
    Monitor,
}

pub(super) const DECODERS: [(&str, Decoder); 15] = [
    ("wire::frames", Decoder::Frames),
    ("wire::error_of", Decoder::ErrorOf),
    ("handle::check_code", Decoder::CheckCode),
    ("route_from_bytes", Decoder::Route),
    ("wire::decode", Decoder::Decode),
    ("link_from_bytes", Decoder::Link),
    ("port_vlans_from_message", Decoder::BridgeVlans),
    ("address_from_bytes", Decoder::Address),
    ("neighbour_from_bytes", Decoder::Neighbour),
    ("fdb_from_bytes", Decoder::Fdb),
    ("rule_from_bytes", Decoder::Rule),
    ("neighbour_table_from_message", Decoder::NeighbourTable),
    ("nexthop_from_bytes", Decoder::Nexthop),
    ("netconf_from_bytes", Decoder::Netconf),
    ("Monitor::parse", Decoder::Monitor),
];

/// How many times each decoder ran and returned an error.
#[derive(Clone, Default)]
pub(super) struct Counts {
    pub ran: [u64; DECODERS.len()],
    pub failed: [u64; DECODERS.len()],
}

impl Counts {
    fn note(&mut self, d: Decoder, ok: bool) {
        self.ran[d as usize] += 1;
        if !ok {
            self.failed[d as usize] += 1;
        }
    }

    pub(super) fn add(&mut self, other: &Counts) {
        for i in 0..DECODERS.len() {
            self.ran[i] += other.ran[i];
            self.failed[i] += other.failed[i];
        }
    }

    pub(super) fn any_failed(&self) -> bool {
        self.failed.iter().any(|n| *n > 0)
    }
}

/// Feeds `datagram` to every decoder; `mon` is a socketless monitor.
pub(super) fn feed(datagram: &[u8], mon: &mut Monitor) -> Counts {
    let mut c = Counts::default();
    for frame in wire::frames(datagram) {
        let frame = match frame {
            Ok(f) => {
                c.note(Decoder::Frames, true);
                f
            }
            Err(e) => {
                black_box(e);
                c.note(Decoder::Frames, false);
                break;
            }
        };
        match frame.ty {
            NLMSG_ERROR | NLMSG_DONE => {
                let r = wire::error_of(&frame);
                c.note(Decoder::ErrorOf, r.is_ok());
                black_box(r.ok());
                // A negative code is the kernel's refusal, not a decoding failure.
                let r = check_code("fuzz", &frame);
                let malformed = matches!(r, Err(crate::Error::Malformed { .. }));
                c.note(Decoder::CheckCode, !malformed);
                black_box(r.ok());
                continue;
            }
            NLMSG_NOOP | NLMSG_OVERRUN => continue,
            _ => {}
        }
        // Every data message goes through the route decoder (the bytes are hostile whatever
        // the type says); only route messages count, as only they must decode.
        let r = route_from_bytes(frame.payload);
        if matches!(frame.ty, libc::RTM_NEWROUTE | libc::RTM_DELROUTE) {
            c.note(Decoder::Route, r.is_ok());
        }
        black_box(r.ok());
        let r = nexthop_from_bytes(frame.payload);
        if matches!(frame.ty, RTM_NEWNEXTHOP | RTM_DELNEXTHOP) {
            c.note(Decoder::Nexthop, r.is_ok());
        }
        black_box(r.ok());
        // The hand decoders read the bytes whether or not netlink-packet-route takes them.
        match frame.ty {
            libc::RTM_NEWLINK | libc::RTM_DELLINK => {
                let r = link_from_bytes(frame.payload);
                c.note(Decoder::Link, r.is_ok());
                black_box(r.ok());
            }
            libc::RTM_NEWADDR | libc::RTM_DELADDR => {
                let r = address_from_bytes(frame.payload);
                c.note(Decoder::Address, r.is_ok());
                black_box(r.ok());
            }
            libc::RTM_NEWRULE | libc::RTM_DELRULE => {
                let r = rule_from_bytes(frame.payload);
                c.note(Decoder::Rule, r.is_ok());
                black_box(r.ok());
            }
            libc::RTM_NEWNEIGH | libc::RTM_DELNEIGH => {
                let r = neighbour_from_bytes(frame.payload);
                c.note(Decoder::Neighbour, r.is_ok());
                black_box(r.ok());
                let r = fdb_from_bytes(frame.payload);
                c.note(Decoder::Fdb, r.is_ok());
                black_box(r.ok());
            }
            RTM_NEWNETCONF | RTM_DELNETCONF => {
                let r = netconf_from_bytes(frame.payload);
                c.note(Decoder::Netconf, r.is_ok());
                black_box(r.ok());
            }
            _ => {}
        }
        // Messages netlink-packet-route does not know, which netplumb decodes itself.
        if matches!(
            frame.ty,
            RTM_NEWNEXTHOP | RTM_DELNEXTHOP | RTM_NEWNETCONF | RTM_DELNETCONF
        ) {
            continue;
        }
        let msg = match wire::decode(&frame) {
            Ok(m) => {
                c.note(Decoder::Decode, true);
                m
            }
            Err(e) => {
                black_box(e);
                c.note(Decoder::Decode, false);
                continue;
            }
        };
        match msg {
            RouteNetlinkMessage::NewLink(m) | RouteNetlinkMessage::DelLink(m) => {
                c.note(Decoder::BridgeVlans, true);
                black_box(port_vlans_from_message(m));
            }
            // (The kernel's RTM_GETNEIGH, an L2/L3 miss, is the monitor's alone.)
            RouteNetlinkMessage::NewNeighbourTable(m) => {
                c.note(Decoder::NeighbourTable, true);
                black_box(neighbour_table_from_message(m));
            }
            other => {
                black_box(other);
            }
        }
    }
    let r = mon.parse_datagram(datagram);
    c.note(Decoder::Monitor, r.is_ok());
    black_box(r.ok());
    c
}
