//! Unit tests of the monitor's decoding and bookkeeping.

use super::events::*;
use super::*;
use std::collections::HashSet;

use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::AddressFamily;

use crate::{IfIndex, MacAddr};
use netlink_packet_route::neighbour::NeighbourHeader;

#[test]
fn groups_map_to_rtnetlink_numbers() {
    assert_eq!(
        Groups::ALL.rtnl_groups(),
        vec![1, 3, 5, 7, 8, 9, 11, 19, 32, 24, 25, 28]
    );
    assert_eq!(Groups::ADDRESS_V6.rtnl_groups(), vec![9]);
}

#[test]
fn misses_are_told_apart_by_their_attributes() {
    let mut m = NeighbourMessage::default();
    m.header = NeighbourHeader {
        family: AddressFamily::Bridge,
        ifindex: 5,
        ..NeighbourHeader::default()
    };
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(vec![2, 0, 0, 0, 0, 9]));
    assert_eq!(
        miss_from_message(m.clone()),
        Some(Event::L2Miss {
            link: IfIndex::new(5).unwrap(),
            mac: MacAddr([2, 0, 0, 0, 0, 9])
        })
    );
    // As 6.18 sends it: the same, in the IPv4 family.
    m.header.family = AddressFamily::Inet;
    assert!(matches!(miss_from_message(m), Some(Event::L2Miss { .. })));
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.ifindex = 5;
    m.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
            "10.5.3.3".parse().unwrap(),
        )));
    assert_eq!(
        miss_from_message(m),
        Some(Event::L3Miss {
            link: IfIndex::new(5).unwrap(),
            address: "10.5.3.3".parse().unwrap()
        })
    );
}

#[test]
fn first_sighting_is_added_then_changed_then_removed() {
    let mut seen = HashSet::new();
    assert_eq!(classify(&mut seen, 1, "a", false), Change::Added("a"));
    assert_eq!(classify(&mut seen, 1, "b", false), Change::Changed("b"));
    assert_eq!(classify(&mut seen, 1, "c", true), Change::Removed("c"));
    assert_eq!(classify(&mut seen, 1, "d", false), Change::Added("d"));
}
