//! Root tests for VRF devices, checked against `ip -j -d link`, `ip -j route show vrf` and
//! `ip -j route get vrf`. Kernels without VRF support skip them with that reason.

mod common;

use common::TestNs;
use netplumb::link::{LinkFilter, LinkKind, NewVeth, NewVrf, Vrf};
use netplumb::neighbour::{NeighbourFilter, NewNeighbour};
use netplumb::route::{NewRoute, RouteFilter, RouteQuery};
use netplumb::rule::RuleFilter;
use netplumb::{IpFamily, TableId};

#[test]
fn vrf_with_member_routes_and_lookup() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let table = TableId::new(10);
    skip_if_unsupported!(h.add_vrf(&NewVrf::new("blue", table))).unwrap();
    h.set_link_up("blue").unwrap();

    // ip -d link: kind vrf, table 10; and ours reads it back.
    let ip = t.ip_link("blue").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "vrf");
    assert_eq!(ip["linkinfo"]["info_data"]["table"], 10);
    let link = h.link("blue").unwrap();
    assert!(
        matches!(link.kind, Some(LinkKind::Vrf(Vrf { table: Some(t), .. })) if t == table),
        "{:?}",
        link.kind
    );

    // Enslave one end of a veth; it is the VRF's only member.
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    h.set_link_vrf("v0", "blue").unwrap();
    let link_v0 = h.link("v0").unwrap().index;
    h.set_link_up("v0").unwrap();
    h.set_link_up("v1").unwrap();
    let members = h.links(&LinkFilter::vrf("blue")).unwrap();
    assert_eq!(members.iter().map(|l| l.name).collect::<Vec<_>>(), ["v0"]);
    let ip_members = t.ip(&["-j", "link", "show", "vrf", "blue"]);
    assert_eq!(ip_members.as_array().unwrap().len(), 1);
    assert_eq!(ip_members[0]["ifname"], "v0");
    // Not a VRF: refused.
    common::assert_invalid(h.set_link_vrf("v1", "v0"), "vrf");

    // The connected route of v0's address lands in the VRF's table, beside a static one.
    h.add_address("v0", &"10.0.0.1/24".parse().unwrap())
        .unwrap();
    h.add_route(&NewRoute {
        table,
        ..NewRoute::via("10.9.0.0/16".parse().unwrap(), "10.0.0.2".parse().unwrap()).unwrap()
    })
    .unwrap();
    let ours: Vec<_> = h
        .routes(&RouteFilter::vrf("blue"))
        .unwrap()
        .into_iter()
        .filter(|r| r.family == IpFamily::V4)
        .collect();
    let theirs = t.ip(&["-j", "-4", "route", "show", "vrf", "blue"]);
    assert_eq!(
        ours.len(),
        theirs.as_array().unwrap().len(),
        "{ours:#?} {theirs}"
    );
    assert!(ours
        .iter()
        .any(|r| r.destination == "10.0.0.0/24".parse().unwrap()));
    assert!(ours
        .iter()
        .any(|r| r.destination == "10.9.0.0/16".parse().unwrap()));
    // The main table does not see them.
    assert!(h
        .route_get(&RouteQuery::new("10.9.1.1".parse().unwrap()))
        .is_err());

    // ip route get vrf blue 10.9.1.1 = a lookup with the VRF as output interface.
    let r = h
        .route_get(&RouteQuery {
            oif: Some("blue".into()),
            ..RouteQuery::new("10.9.1.1".parse().unwrap())
        })
        .unwrap();
    let theirs = t.ip(&["-j", "route", "get", "vrf", "blue", "10.9.1.1"]);
    assert_eq!(r.gateway().unwrap().to_string(), theirs[0]["gateway"]);
    assert_eq!(
        h.link(r.dev().unwrap()).unwrap().name.to_str().unwrap(),
        theirs[0]["dev"]
    );
    assert_eq!(r.table, table);

    // Neighbours of the VRF: those on its members, as `ip neigh show vrf` lists them.
    h.add_neighbour(
        "v0",
        &NewNeighbour::new(
            "10.0.0.2".parse().unwrap(),
            "02:00:00:00:0b:02".parse().unwrap(),
        ),
    )
    .unwrap();
    h.add_neighbour(
        "v1",
        &NewNeighbour::new(
            "10.0.0.1".parse().unwrap(),
            "02:00:00:00:0b:01".parse().unwrap(),
        ),
    )
    .unwrap();
    let ours = h.neighbours(&NeighbourFilter::vrf("blue")).unwrap();
    assert!(ours.iter().all(|n| n.link == link_v0), "{ours:#?}");
    assert!(ours
        .iter()
        .any(|n| n.address == "10.0.0.2".parse::<std::net::IpAddr>().unwrap()));
    // IPv4 only: the kernel adds IPv6 multicast entries of its own as links come up.
    let theirs = t.ip(&["-j", "-4", "neigh", "show", "vrf", "blue", "nud", "all"]);
    let ours4 = ours.iter().filter(|n| n.address.is_ipv4()).count();
    assert_eq!(ours4, theirs.as_array().unwrap().len(), "{theirs}");

    // The kernel added its l3mdev rule with the first VRF.
    let rules = h.rules(&RuleFilter::default()).unwrap();
    assert!(rules.iter().any(|r| r.l3mdev), "{rules:#?}");

    // Release: no members left, v0 has no master.
    h.unset_link_vrf("v0").unwrap();
    assert!(h.links(&LinkFilter::vrf("blue")).unwrap().is_empty());
    assert!(t.ip_link("v0").unwrap().get("master").is_none());
}

#[test]
fn vrf_input_is_checked() {
    require_root!();
    let t = TestNs::new();
    common::assert_invalid(
        t.handle.add_vrf(&NewVrf::new("red", TableId::UNSPEC)),
        "table",
    );
    common::assert_invalid(
        t.handle
            .add_vrf(&NewVrf::new("a-name-far-too-long", TableId::new(5))),
        "vrf name",
    );
    assert!(t.ip_link("red").is_none());
}
