//! Root tests for routes with very many next hops: refused before encoding beyond what the
//! kernel can list back, never a panic, in a `Handle` and in a `Batch`.

mod common;

use common::TestNs;
use netplumb::addr::NewAddress;
use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, NextHop, RouteFilter, RouteType};
use netplumb::{Error, IpFamily, TableId};

const T: TableId = TableId::new(300);

fn setup() -> TestNs {
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("m0", "m1")).unwrap();
    h.set_link_up("m0").unwrap();
    h.set_link_up("m1").unwrap();
    h.add_address("m0", &"10.64.0.1/16".parse::<NewAddress>().unwrap())
        .unwrap();
    t
}

/// `n` next hops via 10.64.x.y on m0.
fn wide(n: usize, destination: &str) -> NewRoute<'static> {
    NewRoute {
        table: T,
        next_hops: (0..n)
            .map(|i| NextHop {
                dev: Some("m0".into()),
                ..NextHop::gateway(
                    format!("10.64.{}.{}", 1 + i / 250, 1 + i % 250)
                        .parse()
                        .unwrap(),
                )
            })
            .collect(),
        ..NewRoute::new(destination.parse().unwrap()).unwrap()
    }
}

/// 4,096 next hops overflow the 16-bit length of `RTA_MULTIPATH`: refused as invalid input
/// through a `Handle` and in a `Batch`, whose next request is still sent and applied. 212 IPv4
/// gateways (the documented maximum, `MAX_NEXT_HOP_BYTES`) are added and listed back, by
/// netplumb and by `ip route`; 213 are refused.
/// (Before: `netlink-packet-route` panicked while encoding, through `Handle` and `Batch`, and
/// a caught `Batch` panic left the next valid request reported failed though applied.)
#[test]
fn next_hops_beyond_what_the_kernel_lists_are_refused() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    let too_many = wide(4096, "10.200.0.0/16");
    let e = h.add_route(&too_many).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidInput {
                arg: "next hops",
                ..
            }
        ),
        "{e}"
    );
    let e = h.add_route(&wide(213, "10.201.0.0/16")).unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e}");

    let mut batch = h.batch();
    let bad = batch.add_route(&too_many);
    let good = batch.add_route(&NewRoute {
        table: T,
        ..NewRoute::of_kind(RouteType::Blackhole, "10.202.0.0/16".parse().unwrap()).unwrap()
    });
    let results = batch.send();
    assert!(results[bad].is_err(), "{:?}", results[bad]);
    assert!(results[good].is_ok(), "{:?}", results[good]);

    h.add_route(&wide(212, "10.203.0.0/16")).unwrap();
    let filter = RouteFilter {
        family: Some(IpFamily::V4),
        ..RouteFilter::table(T)
    };
    let routes = h.routes(&filter).unwrap();
    let widest = routes
        .iter()
        .find(|r| r.destination == "10.203.0.0/16".parse().unwrap())
        .expect("the 212-hop route is listed");
    assert_eq!(widest.next_hops.len(), 212);
    assert_eq!(routes.len(), 2, "{routes:?}");
    // iproute2 lists the widest route netplumb accepts, and what comes after it: its dump
    // reads messages of a page less overhead, where a wider route would not fit (and would
    // hide itself and every later route from `ip route show`).
    h.add_route(&wide(128, "10.204.0.0/16")).unwrap();
    let ours = h.routes(&filter).unwrap();
    let ip = t.ip(&["-j", "-4", "route", "show", "table", "300"]);
    let hops_of = |dst: &str| {
        ip.as_array()
            .unwrap()
            .iter()
            .find(|r| r["dst"] == dst)
            .map(|r| r["nexthops"].as_array().map_or(0, Vec::len))
    };
    assert_eq!(hops_of("10.204.0.0/16"), Some(128));
    assert_eq!(hops_of("10.203.0.0/16"), Some(212));
    let ours128 = ours
        .iter()
        .find(|r| r.destination == "10.204.0.0/16".parse().unwrap())
        .unwrap();
    assert_eq!(ours128.next_hops.len(), 128);
}
