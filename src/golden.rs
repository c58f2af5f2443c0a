//! Golden-byte tests: the requests netplumb builds equal, byte for byte, what iproute2 6.1
//! sends for the same command (captured with `strace -e sendmsg -xx`; sequence number zeroed).
//!
//! One deliberate difference: the link kind (`IFLA_INFO_KIND`) carries its terminating NUL, as
//! in the kernel's own messages, where iproute2 leaves it out; the kernel reads both the same.
//! The expected bytes below mark that spot.

use netlink_packet_route::RouteNetlinkMessage;

use crate::addr::{address_message, AddressFlags, NewAddress};
use crate::fdb::{fdb_message, NewFdbEntry};
use crate::link::{
    bridge_message, macvlan_message, veth_message, vxlan_message, BridgeOptions, MacvlanMode,
    NewBridge, NewMacvlan, NewVeth, NewVxlan,
};
use crate::neighbour::{neighbour_message, NewNeighbour};
use crate::wire::{encode, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use crate::{IfIndex, Vni};

const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const APPEND: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND;

/// The header iproute2 sent, with the sequence number set to 0.
fn header(len: u32, ty: u16) -> Vec<u8> {
    header_with(len, ty, CREATE)
}

fn header_with(len: u32, ty: u16, flags: u16) -> Vec<u8> {
    let mut v = len.to_ne_bytes().to_vec();
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&[0; 8]);
    v
}

fn bytes(msg: RouteNetlinkMessage) -> Vec<u8> {
    bytes_with(msg, CREATE)
}

fn bytes_with(msg: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
    let mut out = Vec::new();
    encode(msg, flags, &mut out).unwrap();
    out
}

#[test]
fn veth_pair_matches_ip_link_add() {
    // ip link add v0 type veth peer name v1
    // (iproute2: 84 bytes, with a kind attribute of length 8 and IFLA_LINKINFO of 0x2c.)
    let mut want = header(88, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x03\x00\
          \x76\x30\x00\x00\x30\x00\x12\x00\
          \x09\x00\x01\x00\x76\x65\x74\x68\x00\x00\x00\x00\
          \x20\x00\x02\x00\
          \x1c\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x07\x00\x03\x00\x76\x31\x00\x00",
    );
    let msg = veth_message(&NewVeth::new("v0", "v1")).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn bridge_matches_ip_link_add() {
    // ip link add br0 type bridge stp_state 0 ageing_time 12000
    // (iproute2: the same length, with a kind attribute of length 10: the NUL was padding.)
    let mut want = header(76, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x03\x00\
          \x62\x72\x30\x00\x24\x00\x12\x00\
          \x0b\x00\x01\x00\x62\x72\x69\x64\x67\x65\x00\x00\
          \x14\x00\x02\x00\x08\x00\x05\x00\x00\x00\x00\x00\x08\x00\x04\x00\xe0\x2e\x00\x00",
    );
    let msg = bridge_message(&NewBridge::with_options(
        "br0",
        BridgeOptions {
            stp: Some(false),
            ageing_time: Some(std::time::Duration::from_secs(120)),
            ..BridgeOptions::default()
        },
    ))
    .unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn ipv4_address_matches_ip_addr_add() {
    // ip addr add 10.0.0.1/24 dev v0   (v0 has index 3)
    let mut want = header(40, 20);
    want.extend_from_slice(
        b"\x02\x18\x00\x00\x03\x00\x00\x00\x08\x00\x02\x00\x0a\x00\x00\x01\x08\x00\x01\x00\
          \x0a\x00\x00\x01",
    );
    let a: NewAddress = "10.0.0.1/24".parse().unwrap();
    let msg = address_message(&a, || Ok(IfIndex::new(3).unwrap())).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewAddress(msg)), want);
}

#[test]
fn ipv6_address_with_nodad_matches_ip_addr_add() {
    // ip -6 addr add fd00::1/64 dev v0 nodad   (v0 has index 3)
    let mut want = header(64, 20);
    want.extend_from_slice(
        b"\x0a\x40\x02\x00\x03\x00\x00\x00\x14\x00\x02\x00\xfd\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x01\x14\x00\x01\x00\xfd\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x01",
    );
    let a = NewAddress {
        flags: AddressFlags::NODAD,
        .."fd00::1/64".parse().unwrap()
    };
    let msg = address_message(&a, || Ok(IfIndex::new(3).unwrap())).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewAddress(msg)), want);
}

#[test]
fn vxlan_matches_ip_link_add() {
    // ip link add vx0 type vxlan id 42 local 192.0.2.1 dstport 4789 nolearning
    // (iproute2: a kind attribute of length 9 where ours, with its NUL, has 10.)
    let mut want = header(92, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x03\x00\
          \x76\x78\x30\x00\x34\x00\x12\x00\
          \x0a\x00\x01\x00\x76\x78\x6c\x61\x6e\x00\x00\x00\
          \x24\x00\x02\x00\x08\x00\x01\x00\x2a\x00\x00\x00\x08\x00\x04\x00\xc0\x00\x02\x01\
          \x05\x00\x07\x00\x00\x00\x00\x00\x06\x00\x0f\x00\x12\xb5\x00\x00",
    );
    let vx = NewVxlan {
        local: Some("192.0.2.1".parse().unwrap()),
        port: Some(4789),
        learning: Some(false),
        ..NewVxlan::new("vx0", Vni::new(42).unwrap())
    };
    let msg = vxlan_message(&vx, None).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn macvlan_matches_ip_link_add() {
    // ip link add mv0 link v0 type macvlan mode bridge   (v0 has index 3)
    // (iproute2: a kind attribute of length 11 where ours has 12.)
    let mut want = header(76, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x05\x00\
          \x03\x00\x00\x00\x08\x00\x03\x00\x6d\x76\x30\x00\x1c\x00\x12\x00\
          \x0c\x00\x01\x00\x6d\x61\x63\x76\x6c\x61\x6e\x00\
          \x0c\x00\x02\x00\x08\x00\x01\x00\x04\x00\x00\x00",
    );
    let mv = NewMacvlan::new("mv0", IfIndex::new(3).unwrap(), MacvlanMode::Bridge);
    let msg = macvlan_message(&mv, IfIndex::new(3).unwrap()).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn fdb_flood_entry_matches_bridge_fdb_append() {
    // bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.2   (vx0 has index 4)
    let mut want = header_with(48, 28, APPEND);
    want.extend_from_slice(
        b"\x07\x00\x00\x00\x04\x00\x00\x00\xc0\x00\x02\x00\
          \x0a\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x01\x00\xc0\x00\x02\x02",
    );
    let e = NewFdbEntry::flood("192.0.2.2".parse().unwrap());
    let msg = fdb_message(&e, IfIndex::new(4).unwrap());
    assert_eq!(
        bytes_with(RouteNetlinkMessage::NewNeighbour(msg), APPEND),
        want
    );
}

#[test]
fn neighbour_matches_ip_neigh_add() {
    // ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent   (v0 has index 3)
    let mut want = header(48, 28);
    want.extend_from_slice(
        b"\x02\x00\x00\x00\x03\x00\x00\x00\x80\x00\x00\x00\x08\x00\x01\x00\x0a\x00\x00\x02\
          \x0a\x00\x02\x00\x02\x00\x00\x00\x00\x02\x00\x00",
    );
    let n = NewNeighbour::new(
        "10.0.0.2".parse().unwrap(),
        "02:00:00:00:00:02".parse().unwrap(),
    );
    let msg = neighbour_message(&n, IfIndex::new(3).unwrap()).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewNeighbour(msg)), want);
}

fn route_bytes(r: &crate::route::NewRoute<'_>) -> Vec<u8> {
    let index = |l: crate::LinkRef<'_>| {
        Ok(IfIndex::new(match l {
            crate::LinkRef::Name("v0") => 3,
            _ => 2,
        })
        .unwrap())
    };
    let msg = crate::route::route_message(r, index).unwrap();
    bytes(RouteNetlinkMessage::NewRoute(msg))
}

#[test]
fn route_in_table_1000_matches_ip_route_add() {
    // ip route add 10.1.0.0/16 via 10.0.0.2 table 1000
    // (a table id above 255: RT_TABLE_UNSPEC in the header, the id in RTA_TABLE.)
    let mut want = header(52, 24);
    want.extend_from_slice(
        b"\x02\x10\x00\x00\x00\x03\x00\x01\x00\x00\x00\x00\
          \x08\x00\x01\x00\x0a\x01\x00\x00\
          \x08\x00\x05\x00\x0a\x00\x00\x02\
          \x08\x00\x0f\x00\xe8\x03\x00\x00",
    );
    let r = crate::route::NewRoute {
        table: crate::TableId::new(1000),
        ..crate::route::NewRoute::via("10.1.0.0/16".parse().unwrap(), "10.0.0.2".parse().unwrap())
            .unwrap()
    };
    assert_eq!(route_bytes(&r), want);
}

#[test]
fn ecmp_route_matches_ip_route_add() {
    // ip route add 10.2.0.0/16 table 1000 nexthop via 10.0.0.2 dev v0 weight 1
    //     nexthop via 10.0.1.2 dev v1 weight 3        (v0 has index 3, v1 index 2)
    let mut want = header(80, 24);
    want.extend_from_slice(
        b"\x02\x10\x00\x00\x00\x03\x00\x01\x00\x00\x00\x00\
          \x08\x00\x01\x00\x0a\x02\x00\x00\
          \x08\x00\x0f\x00\xe8\x03\x00\x00\
          \x24\x00\x09\x00\
          \x10\x00\x00\x00\x03\x00\x00\x00\x08\x00\x05\x00\x0a\x00\x00\x02\
          \x10\x00\x00\x02\x02\x00\x00\x00\x08\x00\x05\x00\x0a\x00\x01\x02",
    );
    use crate::route::{NewRoute, NextHop};
    let r = NewRoute {
        table: crate::TableId::new(1000),
        next_hops: vec![
            NextHop {
                dev: Some("v0".into()),
                ..NextHop::gateway("10.0.0.2".parse().unwrap())
            },
            NextHop {
                dev: Some("v1".into()),
                weight: 3,
                ..NextHop::gateway("10.0.1.2".parse().unwrap())
            },
        ],
        ..NewRoute::new("10.2.0.0/16".parse().unwrap()).unwrap()
    };
    assert_eq!(route_bytes(&r), want);
}

#[test]
fn blackhole_route_matches_ip_route_add() {
    // ip route add blackhole 10.3.0.0/16   (table main travels in the header alone)
    let mut want = header(36, 24);
    want.extend_from_slice(
        b"\x02\x10\x00\x00\xfe\x03\x00\x06\x00\x00\x00\x00\
          \x08\x00\x01\x00\x0a\x03\x00\x00",
    );
    let r = crate::route::NewRoute::of_kind(
        crate::route::RouteType::Blackhole,
        "10.3.0.0/16".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(route_bytes(&r), want);
}

#[test]
fn vrf_matches_ip_link_add() {
    // ip link add blue type vrf table 10
    // (iproute2: the same length, with a kind attribute of length 7: the NUL was padding.)
    let mut want = header(68, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x09\x00\x03\x00\x62\x6c\x75\x65\x00\x00\x00\x00\
          \x18\x00\x12\x00\x08\x00\x01\x00\x76\x72\x66\x00\
          \x0c\x00\x02\x00\x08\x00\x01\x00\x0a\x00\x00\x00",
    );
    let msg = crate::link::vrf_message(&crate::link::NewVrf::new("blue", crate::TableId::new(10)))
        .unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

fn nexthop_bytes(n: &crate::nexthop::NewNexthop<'_>) -> Vec<u8> {
    let index = |_: crate::LinkRef<'_>| Ok(IfIndex::new(3).unwrap());
    let m = crate::nexthop::nexthop_message(n, index).unwrap();
    let mut out = Vec::new();
    crate::wire::encode_request(m.into(), CREATE, &mut out).unwrap();
    out
}

#[test]
fn nexthop_matches_ip_nexthop_add() {
    use crate::nexthop::NewNexthop;
    // ip nexthop add id 1 via 10.0.0.2 dev v0   (v0 has index 3)
    let mut want = header(48, 104);
    want.extend_from_slice(
        b"\x02\x00\x00\x00\x00\x00\x00\x00\x08\x00\x01\x00\x01\x00\x00\x00\
          \x08\x00\x06\x00\x0a\x00\x00\x02\x08\x00\x05\x00\x03\x00\x00\x00",
    );
    let n = NewNexthop::via_dev(1, "10.0.0.2".parse().unwrap(), "v0");
    assert_eq!(nexthop_bytes(&n), want);
    // ip nexthop add id 3 blackhole
    let mut want = header(36, 104);
    want.extend_from_slice(
        b"\x02\x00\x00\x00\x00\x00\x00\x00\x08\x00\x01\x00\x03\x00\x00\x00\x04\x00\x04\x00",
    );
    assert_eq!(
        nexthop_bytes(&NewNexthop::blackhole(3, crate::IpFamily::V4)),
        want
    );
    // ip nexthop add id 12 via 10.0.0.5 fdb
    let mut want = header(44, 104);
    want.extend_from_slice(
        b"\x02\x00\x00\x00\x00\x00\x00\x00\x08\x00\x01\x00\x0c\x00\x00\x00\
          \x08\x00\x06\x00\x0a\x00\x00\x05\x04\x00\x0b\x00",
    );
    assert_eq!(
        nexthop_bytes(&NewNexthop::fdb_via(12, "10.0.0.5".parse().unwrap())),
        want
    );
}

#[test]
fn nexthop_groups_match_ip_nexthop_add() {
    use crate::nexthop::{NewNexthop, NexthopGroupMember, ResilientGroup};
    // ip nexthop add id 10 group 1,2/2,3   (weights travel as weight - 1)
    let mut want = header(52, 104);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x01\x00\x0a\x00\x00\x00\
          \x14\x00\x02\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00",
    );
    let n = NewNexthop::group(
        10,
        vec![
            NexthopGroupMember::weighted(1, 2),
            NexthopGroupMember::weighted(2, 3),
        ],
    );
    assert_eq!(nexthop_bytes(&n), want);
    // ip nexthop add id 11 group 1/2 type resilient buckets 8 idle_timer 120
    //   unbalanced_timer 30   (timers in hundredths of a second)
    let mut want = header(88, 104);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x01\x00\x0b\x00\x00\x00\
          \x14\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\
          \x1c\x00\x0c\x80\x06\x00\x01\x00\x08\x00\x00\x00\x08\x00\x02\x00\xe0\x2e\x00\x00\
          \x08\x00\x03\x00\xb8\x0b\x00\x00\x06\x00\x03\x00\x01\x00\x00\x00",
    );
    let n = NewNexthop::resilient_group(
        11,
        vec![NexthopGroupMember::new(1), NexthopGroupMember::new(2)],
        ResilientGroup {
            buckets: 8,
            idle_timer: std::time::Duration::from_secs(120),
            unbalanced_timer: std::time::Duration::from_secs(30),
        },
    );
    assert_eq!(nexthop_bytes(&n), want);
}

#[test]
fn route_with_nhid_matches_ip_route_add() {
    // ip route add 10.9.0.0/16 nhid 10
    let mut want = header(44, 24);
    want.extend_from_slice(
        b"\x02\x10\x00\x00\xfe\x03\x00\x01\x00\x00\x00\x00\x08\x00\x01\x00\x0a\x09\x00\x00\
          \x08\x00\x1e\x00\x0a\x00\x00\x00",
    );
    let r = crate::route::NewRoute::via_nexthop("10.9.0.0/16".parse().unwrap(), 10).unwrap();
    assert_eq!(route_bytes(&r), want);
}

#[test]
fn ipv6_route_with_expiry_and_preference_matches_ip_route_add() {
    // ip -6 route add fd02::/64 dev v0 expires 300 pref high   (v0 has index 3)
    let mut want = header(72, 24);
    want.extend_from_slice(
        b"\x0a\x40\x00\x00\xfe\x03\x00\x01\x00\x00\x00\x00\x14\x00\x01\x00\
          \xfd\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x08\x00\x17\x00\x2c\x01\x00\x00\x05\x00\x14\x00\x01\x00\x00\x00\
          \x08\x00\x04\x00\x03\x00\x00\x00",
    );
    let r = crate::route::NewRoute {
        expires: Some(std::time::Duration::from_secs(300)),
        preference: Some(crate::route::RoutePreference::High),
        ..crate::route::NewRoute::dev("fd02::/64".parse().unwrap(), "v0").unwrap()
    };
    assert_eq!(route_bytes(&r), want);
}

#[test]
fn route_with_tos_matches_ip_route_add() {
    // ip route add 10.55.0.0/16 tos 0x10 via 10.0.0.2
    let mut want = header(44, 24);
    want.extend_from_slice(
        b"\x02\x10\x00\x10\xfe\x03\x00\x01\x00\x00\x00\x00\x08\x00\x01\x00\
          \x0a\x37\x00\x00\x08\x00\x05\x00\x0a\x00\x00\x02",
    );
    let r = crate::route::NewRoute {
        tos: 0x10,
        ..crate::route::NewRoute::via("10.55.0.0/16".parse().unwrap(), "10.0.0.2".parse().unwrap())
            .unwrap()
    };
    assert_eq!(route_bytes(&r), want);
}

#[test]
fn dummy_and_ifb_match_ip_link_add() {
    // ip link add d0 type dummy
    // (iproute2: a kind attribute of length 9 where ours, with its NUL, has 10.)
    let mut want = header(56, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x03\x00\
          \x64\x30\x00\x00\x10\x00\x12\x00\
          \x0a\x00\x01\x00\x64\x75\x6d\x6d\x79\x00\x00\x00",
    );
    let msg = crate::link::dummy_message(&crate::link::NewDummy::new("d0")).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);

    // ip link add i0 type ifb
    // (iproute2: a kind attribute of length 7 where ours has 8.)
    let mut want = header(52, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x03\x00\
          \x69\x30\x00\x00\x0c\x00\x12\x00\
          \x08\x00\x01\x00\x69\x66\x62\x00",
    );
    let msg = crate::link::ifb_message(&crate::link::NewIfb::new("i0")).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn vlan_matches_ip_link_add() {
    // ip link add link v0 name v0.10 type vlan protocol 802.1ad id 10 ingress-qos-map 1:2
    //     egress-qos-map 3:4 gvrp on mvrp on loose_binding on        (v0 has index 2)
    // (iproute2: 128 bytes, a kind attribute of length 8 and IFLA_LINKINFO of 0x4c; ours has
    // the kind's NUL, 4 bytes more with padding.)
    let mut want = header(132, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x05\x00\
          \x02\x00\x00\x00\x0a\x00\x03\x00\x76\x30\x2e\x31\x30\x00\x00\x00\x50\x00\x12\x00\
          \x09\x00\x01\x00\x76\x6c\x61\x6e\x00\x00\x00\x00\
          \x40\x00\x02\x00\x06\x00\x05\x00\x88\xa8\x00\x00\
          \x06\x00\x01\x00\x0a\x00\x00\x00\x10\x00\x04\x00\x0c\x00\x01\x00\x01\x00\x00\x00\
          \x02\x00\x00\x00\x10\x00\x03\x00\x0c\x00\x01\x00\x03\x00\x00\x00\x04\x00\x00\x00\
          \x0c\x00\x02\x00\x0e\x00\x00\x00\x0e\x00\x00\x00",
    );
    use crate::link::{NewVlan, VlanOptions, VlanProtocol};
    let v0 = IfIndex::new(2).unwrap();
    let vlan = NewVlan {
        protocol: Some(VlanProtocol::Dot1Ad),
        options: VlanOptions {
            gvrp: Some(true),
            mvrp: Some(true),
            loose_binding: Some(true),
            ingress_qos: vec![(1, 2)],
            egress_qos: vec![(3, 4)],
            ..VlanOptions::default()
        },
        ..NewVlan::new("v0.10", v0, crate::VlanId::new(10).unwrap())
    };
    let msg = crate::link::vlan_message(&vlan, v0).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn ipvlan_and_ipvtap_match_ip_link_add() {
    use crate::link::{ipvlan_message, IpvlanIsolation, IpvlanMode, NewIpvlan};
    let v0 = IfIndex::new(2).unwrap();
    // ip link add link v0 name ipv0 type ipvlan mode l3 private   (v0 has index 2)
    // (iproute2: a kind attribute of length 10 where ours has 11.)
    let mut want = header(88, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x05\x00\
          \x02\x00\x00\x00\x09\x00\x03\x00\x69\x70\x76\x30\x00\x00\x00\x00\x24\x00\x12\x00\
          \x0b\x00\x01\x00\x69\x70\x76\x6c\x61\x6e\x00\x00\x14\x00\x02\x00\x06\x00\x01\x00\
          \x01\x00\x00\x00\x06\x00\x02\x00\x01\x00\x00\x00",
    );
    let ipvlan = NewIpvlan {
        isolation: Some(IpvlanIsolation::Private),
        ..NewIpvlan::new("ipv0", v0, IpvlanMode::L3)
    };
    let msg = ipvlan_message(&ipvlan, v0, false).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
    // The same request spelled as any kind: IFLA_IPVLAN_MODE (1) and IFLA_IPVLAN_FLAGS (2),
    // u16 each.
    let other = crate::link::NewLink::other("ipv0", "ipvlan")
        .parent(v0)
        .data_u16(1, 1)
        .data_u16(2, 1);
    let msg = crate::link::other_message(&other, Some(v0)).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);

    // ip link add link v0 name ipvt0 type ipvtap mode l2 vepa
    let mut want = header(88, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x05\x00\
          \x02\x00\x00\x00\x0a\x00\x03\x00\x69\x70\x76\x74\x30\x00\x00\x00\x24\x00\x12\x00\
          \x0b\x00\x01\x00\x69\x70\x76\x74\x61\x70\x00\x00\x14\x00\x02\x00\x06\x00\x01\x00\
          \x00\x00\x00\x00\x06\x00\x02\x00\x02\x00\x00\x00",
    );
    let ipvtap = NewIpvlan {
        isolation: Some(IpvlanIsolation::Vepa),
        ..NewIpvlan::new("ipvt0", v0, IpvlanMode::L2)
    };
    let msg = ipvlan_message(&ipvtap, v0, true).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn macvtap_matches_ip_link_add() {
    // ip link add link v0 name mvt0 type macvtap mode bridge   (v0 has index 2)
    // (iproute2: a kind attribute of length 11 where ours has 12.)
    let mut want = header(80, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x05\x00\
          \x02\x00\x00\x00\x09\x00\x03\x00\x6d\x76\x74\x30\x00\x00\x00\x00\x1c\x00\x12\x00\
          \x0c\x00\x01\x00\x6d\x61\x63\x76\x74\x61\x70\x00\x0c\x00\x02\x00\x08\x00\x01\x00\
          \x04\x00\x00\x00",
    );
    let v0 = IfIndex::new(2).unwrap();
    let mvt = NewMacvlan::new("mvt0", v0, MacvlanMode::Bridge);
    let msg = crate::link::macvtap_message(&mvt, v0).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

/// The header of a change (`ip link set …`): request and ack, no create flags.
fn change_header(len: u32) -> Vec<u8> {
    header_with(len, 16, NLM_F_REQUEST | NLM_F_ACK)
}

#[test]
fn vlan_and_ipvlan_changes_match_ip_link_set() {
    // ip link set v0.10 type vlan ingress-qos-map 1:2 egress-qos-map 3:0 reorder_hdr on gvrp off
    // (v0.10 has index 9; an RTM_NEWLINK, not RTM_SETLINK, which ignores kind settings.
    // iproute2: 92 bytes, a kind attribute of length 8, IFLA_LINKINFO of 0x3c.)
    let mut want = change_header(96);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40\x00\x12\x00\
          \x09\x00\x01\x00\x76\x6c\x61\x6e\x00\x00\x00\x00\x30\x00\x02\x00\
          \x10\x00\x04\x00\x0c\x00\x01\x00\x01\x00\x00\x00\x02\x00\x00\x00\
          \x10\x00\x03\x00\x0c\x00\x01\x00\x03\x00\x00\x00\x00\x00\x00\x00\
          \x0c\x00\x02\x00\x01\x00\x00\x00\x03\x00\x00\x00",
    );
    let options = crate::link::VlanOptions {
        reorder_hdr: Some(true),
        gvrp: Some(false),
        ingress_qos: vec![(1, 2)],
        egress_qos: vec![(3, 0)],
        ..Default::default()
    };
    let msg = crate::link::vlan_change_message(IfIndex::new(9).unwrap().into(), &options).unwrap();
    assert_eq!(
        bytes_with(RouteNetlinkMessage::NewLink(msg), NLM_F_REQUEST | NLM_F_ACK),
        want
    );

    // ip link set ipvx type ipvlan mode l3 private   (ipvx has index 11)
    // (iproute2: a kind attribute of length 10 where ours has 11.)
    let mut want = change_header(68);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x24\x00\x12\x00\
          \x0b\x00\x01\x00\x69\x70\x76\x6c\x61\x6e\x00\x00\x14\x00\x02\x00\x06\x00\x01\x00\
          \x01\x00\x00\x00\x06\x00\x02\x00\x01\x00\x00\x00",
    );
    let msg = crate::link::ipvlan_change_message(
        IfIndex::new(11).unwrap(),
        crate::link::IpvlanMode::L3,
        Some(crate::link::IpvlanIsolation::Private),
        false,
    );
    assert_eq!(
        bytes_with(RouteNetlinkMessage::NewLink(msg), NLM_F_REQUEST | NLM_F_ACK),
        want
    );
}

#[test]
fn altname_and_addrgenmode_match_ip_link() {
    // ip link property add dev v0 altname v0-alternative-name   (v0 has index 2)
    // (RTM_NEWLINKPROP with iproute2's flags: create, exclusive, append.)
    let add = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_APPEND;
    let body: &[u8] =
        b"\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x34\x80\
          \x18\x00\x35\x00\x76\x30\x2d\x61\x6c\x74\x65\x72\x6e\x61\x74\x69\x76\x65\x2d\x6e\
          \x61\x6d\x65\x00";
    let v0 = crate::LinkRef::Index(IfIndex::new(2).unwrap());
    let mut want = header_with(60, 108, add);
    want.extend_from_slice(body);
    let msg = crate::link::altname_message(v0, "v0-alternative-name").unwrap();
    assert_eq!(bytes_with(RouteNetlinkMessage::NewLinkProp(msg), add), want);
    // ip link property del dev v0 altname v0-alternative-name: RTM_DELLINKPROP, the same body.
    let mut want = header_with(60, 109, NLM_F_REQUEST | NLM_F_ACK);
    want.extend_from_slice(body);
    let msg = crate::link::altname_message(v0, "v0-alternative-name").unwrap();
    assert_eq!(
        bytes_with(
            RouteNetlinkMessage::DelLinkProp(msg),
            NLM_F_REQUEST | NLM_F_ACK
        ),
        want
    );

    // ip link set dev v0 addrgenmode none
    // (iproute2 sends it as RTM_NEWLINK, netplumb as RTM_SETLINK like its other `ip link set`
    // changes; the kernel's do_setlink reads both the same. The body is the same.)
    let mut want = header_with(48, 19, NLM_F_REQUEST | NLM_F_ACK);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x1a\x00\
          \x0c\x00\x0a\x00\x05\x00\x08\x00\x01\x00\x00\x00",
    );
    let mut msg = netlink_packet_route::link::LinkMessage::default();
    msg.header.index = 2;
    msg.attributes.push(crate::link::addrgenmode_attr(
        crate::link::Ipv6AddrGenMode::None,
    ));
    assert_eq!(
        bytes_with(RouteNetlinkMessage::SetLink(msg), NLM_F_REQUEST | NLM_F_ACK),
        want
    );
}

#[test]
fn addrlabel_matches_ip_addrlabel_add() {
    // ip addrlabel add prefix 2001:db9::/32 label 98 dev v0   (v0 has index 3)
    let mut want = header(56, 72);
    want.extend_from_slice(
        b"\x0a\x00\x20\x00\x03\x00\x00\x00\x00\x00\x00\x00\x08\x00\x02\x00\
          \x62\x00\x00\x00\x14\x00\x01\x00\x20\x01\x0d\xb9\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00",
    );
    let l = crate::addrlabel::NewAddrLabel {
        prefix: "2001:db9::/32".parse().unwrap(),
        label: 98,
        dev: Some("v0".into()),
    };
    let m = crate::addrlabel::addrlabel_message(&l, |_| Ok(IfIndex::new(3).unwrap())).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewAddrLabel(m)), want);
}

#[test]
fn mpls_route_matches_ip_f_mpls_route_add() {
    // ip -f mpls route add 100 as 200/300 via inet 10.0.0.2 dev v0   (v0 has index 3)
    let mut want = header(68, 24);
    want.extend_from_slice(
        b"\x1c\x14\x00\x00\xfe\x03\x00\x01\x00\x00\x00\x00\x08\x00\x01\x00\
          \x00\x06\x41\x00\x0c\x00\x13\x00\x00\x0c\x80\x00\x00\x12\xc1\x00\
          \x0a\x00\x12\x00\x02\x00\x0a\x00\x00\x02\x00\x00\x08\x00\x04\x00\
          \x03\x00\x00\x00",
    );
    let r = crate::route::NewMplsRoute {
        out_labels: vec![200, 300],
        ..crate::route::NewMplsRoute::new(100, "10.0.0.2".parse().unwrap(), "v0")
    };
    let m = crate::route::mpls_route_message(&r, IfIndex::new(3).unwrap());
    assert_eq!(bytes(RouteNetlinkMessage::NewRoute(m)), want);
}

// --- links-b kinds: GRE, SIT, ip6tnl, geneve, bond (iproute2 6.1 captured with
// `strace -e trace=sendmsg -e write=all` in a namespace without the kind's module: iproute2 sends
// the same request whether or not the kernel then refuses it). Kind attributes with their NUL.

#[test]
fn gre_matches_ip_link_add() {
    // ip link add gre1 type gre local 192.0.2.1 remote 198.51.100.1 key 42 ttl 64
    let mut want = header(172, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x03\x00\
          \x67\x72\x65\x31\x00\x00\x00\x00\x80\x00\x12\x00\x08\x00\x01\x00\x67\x72\x65\x00\
          \x74\x00\x02\x00\x08\x00\x04\x00\x00\x00\x00\x2a\x08\x00\x05\x00\x00\x00\x00\x2a\
          \x06\x00\x02\x00\x20\x00\x00\x00\x06\x00\x03\x00\x20\x00\x00\x00\x08\x00\x06\x00\
          \xc0\x00\x02\x01\x08\x00\x07\x00\xc6\x33\x64\x01\x05\x00\x0a\x00\x01\x00\x00\x00\
          \x05\x00\x09\x00\x00\x00\x00\x00\x05\x00\x08\x00\x40\x00\x00\x00\x08\x00\x14\x00\
          \x00\x00\x00\x00\x06\x00\x0e\x00\x00\x00\x00\x00\x06\x00\x0f\x00\x00\x00\x00\x00\
          \x06\x00\x10\x00\x00\x00\x00\x00\x06\x00\x11\x00\x00\x00\x00\x00",
    );
    use crate::link::{GreKind, NewGre};
    let g = NewGre {
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("198.51.100.1".parse().unwrap()),
        ikey: Some(42),
        okey: Some(42),
        ttl: Some(64),
        ..NewGre::new("gre1", GreKind::Gre)
    };
    let msg = crate::link::gre_message(&g, None).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn ip6gretap_matches_ip_link_add() {
    // ip link add g6 type ip6gretap local fd00::1 remote fd00::2 ikey 7 okey 8 ocsum iseq
    //     hoplimit 32 tclass 0x10 flowlabel 0x123 encaplimit none dev d0   (d0 has index 3)
    let mut want = header(224, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x03\x00\
          \x67\x36\x00\x00\xb8\x00\x12\x00\x0e\x00\x01\x00\x69\x70\x36\x67\x72\x65\x74\x61\
          \x70\x00\x00\x00\xa4\x00\x02\x00\x08\x00\x04\x00\x00\x00\x00\x07\x08\x00\x05\x00\
          \x00\x00\x00\x08\x06\x00\x02\x00\x30\x00\x00\x00\x06\x00\x03\x00\xa0\x00\x00\x00\
          \x14\x00\x06\x00\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\
          \x14\x00\x07\x00\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\
          \x08\x00\x01\x00\x03\x00\x00\x00\x05\x00\x08\x00\x20\x00\x00\x00\x05\x00\x0b\x00\
          \x04\x00\x00\x00\x08\x00\x0c\x00\x01\x00\x01\x23\x08\x00\x0d\x00\x01\x00\x00\x00\
          \x08\x00\x14\x00\x00\x00\x00\x00\x05\x00\x16\x00\x01\x00\x00\x00\x06\x00\x0e\x00\
          \x00\x00\x00\x00\x06\x00\x0f\x00\x02\x00\x00\x00\x06\x00\x10\x00\x00\x00\x00\x00\
          \x06\x00\x11\x00\x00\x00\x00\x00",
    );
    use crate::link::{GreKind, NewGre};
    let g = NewGre {
        local: Some("fd00::1".parse().unwrap()),
        remote: Some("fd00::2".parse().unwrap()),
        ikey: Some(7),
        okey: Some(8),
        ocsum: true,
        iseq: true,
        ttl: Some(32),
        tclass: Some(0x10),
        flow_label: Some(0x123),
        no_encap_limit: true,
        underlay: Some("d0".into()),
        ..NewGre::new("g6", GreKind::Ip6GreTap)
    };
    let msg = crate::link::gre_message(&g, IfIndex::new(3)).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn sit_matches_ip_link_add() {
    // ip link add sit1 type sit mode ip6ip local 192.0.2.1 remote 198.51.100.1 ttl 64 tos 0x10
    let mut want = header(164, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x03\x00\
          \x73\x69\x74\x31\x00\x00\x00\x00\x78\x00\x12\x00\x08\x00\x01\x00\x73\x69\x74\x00\
          \x6c\x00\x02\x00\x05\x00\x09\x00\x29\x00\x00\x00\x08\x00\x02\x00\xc0\x00\x02\x01\
          \x08\x00\x03\x00\xc6\x33\x64\x01\x05\x00\x0a\x00\x01\x00\x00\x00\x05\x00\x05\x00\
          \x10\x00\x00\x00\x05\x00\x04\x00\x40\x00\x00\x00\x08\x00\x01\x00\x00\x00\x00\x00\
          \x08\x00\x14\x00\x00\x00\x00\x00\x06\x00\x0f\x00\x00\x00\x00\x00\x06\x00\x10\x00\
          \x00\x00\x00\x00\x06\x00\x11\x00\x00\x00\x00\x00\x06\x00\x12\x00\x00\x00\x00\x00\
          \x06\x00\x08\x00\x00\x00\x00\x00",
    );
    use crate::link::{NewSit, SitMode};
    let s = NewSit {
        mode: Some(SitMode::Ip6Ip),
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("198.51.100.1".parse().unwrap()),
        ttl: Some(64),
        tos: Some(0x10),
        ..NewSit::new("sit1")
    };
    let msg = crate::link::sit_message(&s, None).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn ip6tnl_matches_ip_link_add() {
    // ip link add t6 type ip6tnl mode ip6ip6 local fd00::1 remote fd00::2 encaplimit 5
    //     flowlabel 0x12345 hoplimit 32 tclass 0x10
    let mut want = header(188, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x03\x00\
          \x74\x36\x00\x00\x94\x00\x12\x00\x0b\x00\x01\x00\x69\x70\x36\x74\x6e\x6c\x00\x00\
          \x84\x00\x02\x00\x05\x00\x09\x00\x29\x00\x00\x00\x14\x00\x02\x00\xfd\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x14\x00\x03\x00\xfd\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x05\x00\x04\x00\x20\x00\x00\x00\
          \x05\x00\x06\x00\x05\x00\x00\x00\x08\x00\x07\x00\x01\x01\x23\x45\x08\x00\x08\x00\
          \x00\x00\x00\x00\x08\x00\x01\x00\x00\x00\x00\x00\x08\x00\x14\x00\x00\x00\x00\x00\
          \x06\x00\x0f\x00\x00\x00\x00\x00\x06\x00\x10\x00\x02\x00\x00\x00\x06\x00\x11\x00\
          \x00\x00\x00\x00\x06\x00\x12\x00\x00\x00\x00\x00",
    );
    use crate::link::{Ip6TnlMode, NewIp6Tnl};
    let t = NewIp6Tnl {
        mode: Some(Ip6TnlMode::Ip6Ip6),
        local: Some("fd00::1".parse().unwrap()),
        remote: Some("fd00::2".parse().unwrap()),
        encap_limit: Some(5),
        flow_label: Some(0x12345),
        hop_limit: Some(32),
        tclass: Some(0x10),
        ..NewIp6Tnl::new("t6")
    };
    let msg = crate::link::ip6tnl_message(&t, None).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn geneve_matches_ip_link_add() {
    // ip link add gn0 type geneve id 42 remote 192.0.2.2 ttl 64 tos 0x10 df set dstport 6081
    //     noudpcsum
    let mut want = header(124, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x03\x00\
          \x67\x6e\x30\x00\x54\x00\x12\x00\x0b\x00\x01\x00\x67\x65\x6e\x65\x76\x65\x00\x00\
          \x44\x00\x02\x00\x05\x00\x0d\x00\x01\x00\x00\x00\x08\x00\x01\x00\x2a\x00\x00\x00\
          \x08\x00\x02\x00\xc0\x00\x02\x02\x08\x00\x0b\x00\x00\x00\x00\x00\x05\x00\x03\x00\
          \x40\x00\x00\x00\x05\x00\x04\x00\x10\x00\x00\x00\x06\x00\x05\x00\x17\xc1\x00\x00\
          \x05\x00\x08\x00\x00\x00\x00\x00",
    );
    use crate::link::{GeneveDf, NewGeneve};
    let g = NewGeneve {
        remote: Some("192.0.2.2".parse().unwrap()),
        ttl: Some(64),
        tos: Some(0x10),
        df: Some(GeneveDf::Set),
        port: Some(6081),
        udp_csum: Some(false),
        ..NewGeneve::new("gn0", Vni::new(42).unwrap())
    };
    let msg = crate::link::geneve_message(&g).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn bond_matches_ip_link_add() {
    // ip link add bond0 type bond mode 802.3ad miimon 100 updelay 200 downdelay 200
    //     xmit_hash_policy layer3+4 min_links 1 lacp_rate fast ad_select bandwidth
    // (iproute2: 124 bytes, a kind attribute of length 8 where ours, with its NUL, has 9.)
    let mut want = header(128, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x03\x00\
          \x62\x6f\x6e\x64\x30\x00\x00\x00\x54\x00\x12\x00\x09\x00\x01\x00\x62\x6f\x6e\x64\
          \x00\x00\x00\x00\x44\x00\x02\x00\x05\x00\x01\x00\x04\x00\x00\x00\x08\x00\x03\x00\
          \x64\x00\x00\x00\x08\x00\x04\x00\xc8\x00\x00\x00\x08\x00\x05\x00\xc8\x00\x00\x00\
          \x05\x00\x0e\x00\x01\x00\x00\x00\x08\x00\x12\x00\x01\x00\x00\x00\x05\x00\x15\x00\
          \x01\x00\x00\x00\x05\x00\x16\x00\x01\x00\x00\x00",
    );
    use crate::link::{BondAggregatorSelect, BondHashPolicy, BondMode, NewBond};
    use std::time::Duration;
    let b = NewBond {
        miimon: Some(Duration::from_millis(100)),
        updelay: Some(Duration::from_millis(200)),
        downdelay: Some(Duration::from_millis(200)),
        xmit_hash_policy: Some(BondHashPolicy::Layer34),
        min_links: Some(1),
        lacp_rate_fast: Some(true),
        ad_select: Some(BondAggregatorSelect::Bandwidth),
        ..NewBond::new("bond0", BondMode::Lacp)
    };
    let msg = crate::link::bond_message(&b, None).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn bond_with_arp_targets_matches_ip_link_add() {
    // ip link add bond1 type bond mode active-backup arp_interval 100
    //     arp_ip_target 10.0.0.1,10.0.0.2 primary d0   (d0 has index 3)
    let mut want = header(108, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x03\x00\
          \x62\x6f\x6e\x64\x31\x00\x00\x00\x40\x00\x12\x00\x09\x00\x01\x00\x62\x6f\x6e\x64\
          \x00\x00\x00\x00\x30\x00\x02\x00\x05\x00\x01\x00\x01\x00\x00\x00\x08\x00\x07\x00\
          \x64\x00\x00\x00\x14\x00\x08\x00\x08\x00\x00\x00\x0a\x00\x00\x01\x08\x00\x01\x00\
          \x0a\x00\x00\x02\x08\x00\x0b\x00\x03\x00\x00\x00",
    );
    use crate::link::{BondMode, NewBond};
    let b = NewBond {
        arp_interval: Some(std::time::Duration::from_millis(100)),
        arp_ip_targets: vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
        primary: Some("d0".into()),
        ..NewBond::new("bond1", BondMode::ActiveBackup)
    };
    let msg = crate::link::bond_message(&b, IfIndex::new(3)).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn wireguard_matches_ip_link_add() {
    // ip link add wg0 type wireguard
    // (iproute2: the same length, with a kind attribute of length 13: the NUL was padding.)
    let mut want = header(60, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x03\x00\
          \x77\x67\x30\x00\x14\x00\x12\x00\x0e\x00\x01\x00\x77\x69\x72\x65\x67\x75\x61\x72\
          \x64\x00\x00\x00",
    );
    let msg = crate::link::wireguard_message(&crate::link::NewWireguard::new("wg0")).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn vti_and_vti6_match_ip_link_add() {
    use crate::link::{vti_message, NewVti};
    use crate::IpFamily;
    // ip link add vti1 type vti local 192.0.2.1 remote 198.51.100.1 ikey 5 okey 6 dev d0
    //     (d0 has index 3; iproute2: the same length, the kind's NUL was padding)
    let mut want = header(108, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x03\x00\
          \x76\x74\x69\x31\x00\x00\x00\x00\x40\x00\x12\x00\x08\x00\x01\x00\x76\x74\x69\x00\
          \x34\x00\x02\x00\x08\x00\x02\x00\x00\x00\x00\x05\x08\x00\x03\x00\x00\x00\x00\x06\
          \x08\x00\x04\x00\xc0\x00\x02\x01\x08\x00\x05\x00\xc6\x33\x64\x01\x08\x00\x06\x00\
          \x00\x00\x00\x00\x08\x00\x01\x00\x03\x00\x00\x00",
    );
    let v = NewVti {
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("198.51.100.1".parse().unwrap()),
        ikey: Some(5),
        okey: Some(6),
        underlay: Some("d0".into()),
        ..NewVti::new("vti1", IpFamily::V4)
    };
    let msg = vti_message(&v, IfIndex::new(3)).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);

    // ip link add vti6a type vti6 local fd00::1 remote fd00::2 key 7
    // (iproute2: 124 bytes, a kind attribute of length 8 where ours has 9.)
    let mut want = header(128, 16);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x03\x00\
          \x76\x74\x69\x36\x61\x00\x00\x00\x54\x00\x12\x00\x09\x00\x01\x00\x76\x74\x69\x36\
          \x00\x00\x00\x00\x44\x00\x02\x00\x08\x00\x02\x00\x00\x00\x00\x07\x08\x00\x03\x00\
          \x00\x00\x00\x07\x14\x00\x04\x00\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x01\x14\x00\x05\x00\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x02\x08\x00\x06\x00\x00\x00\x00\x00",
    );
    let v = NewVti {
        local: Some("fd00::1".parse().unwrap()),
        remote: Some("fd00::2".parse().unwrap()),
        ikey: Some(7),
        okey: Some(7),
        ..NewVti::new("vti6a", IpFamily::V6)
    };
    let msg = vti_message(&v, None).unwrap();
    assert_eq!(bytes(RouteNetlinkMessage::NewLink(msg)), want);
}

#[test]
fn vxlan_change_matches_ip_link_set() {
    // ip link set vx0 type vxlan ttl 16 ageing 120 remote 192.0.2.7 nolearning
    // (vx0 has index 2; captured from iproute2 6.1: an RTM_NEWLINK without NLM_F_CREATE.
    // iproute2: a kind attribute of length 9 where ours, with its NUL, has 10; same padding.)
    let mut want = change_header(84);
    want.extend_from_slice(
        b"\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x34\x00\x12\x00\
          \x0a\x00\x01\x00\x76\x78\x6c\x61\x6e\x00\x00\x00\x24\x00\x02\x00\x05\x00\x05\x00\
          \x10\x00\x00\x00\x08\x00\x08\x00\x78\x00\x00\x00\x08\x00\x02\x00\xc0\x00\x02\x07\
          \x05\x00\x07\x00\x00\x00\x00\x00",
    );
    let change = crate::link::VxlanChange {
        remote: Some("192.0.2.7".parse().unwrap()),
        ttl: Some(16),
        learning: Some(false),
        ageing: Some(std::time::Duration::from_secs(120)),
        ..Default::default()
    };
    let msg =
        crate::link::vxlan_change_message(IfIndex::new(2).unwrap().into(), &change, None).unwrap();
    assert_eq!(
        bytes_with(RouteNetlinkMessage::NewLink(msg), NLM_F_REQUEST | NLM_F_ACK),
        want
    );
}
