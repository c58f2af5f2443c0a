//! Root tests for pipelined batches: one result per request, failures pinned to their index.

mod common;

use std::net::IpAddr;

use common::TestNs;
use ipnetwork::IpNetwork;
use netplumb::addr::NewAddress;
use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, RouteKey};
use netplumb::{Error, IfIndex, TableId};

const T: TableId = TableId::new(2000);

fn setup() -> TestNs {
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("b0", "b1")).unwrap();
    t.handle.set_link_up("b0").unwrap();
    t.handle.set_link_up("b1").unwrap();
    t.handle
        .add_address("b0", &"192.0.2.1/24".parse().unwrap())
        .unwrap();
    t
}

fn prefix(i: u32) -> IpNetwork {
    format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()
}

fn table_len(t: &TestNs) -> usize {
    t.ip(&["-j", "route", "show", "table", "2000"])
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn ten_thousand_routes_three_refused_by_the_kernel() {
    require_root!();
    let t = setup();
    let gw: IpAddr = "192.0.2.2".parse().unwrap();
    let mut batch = t.handle.batch();
    let bad = [17usize, 5000, 9998];
    for i in 0..10_000u32 {
        let r = match i as usize {
            // An unreachable gateway: no connected prefix covers it.
            17 => NewRoute::via(prefix(i), "198.51.100.1".parse().unwrap()).unwrap(),
            // A device index that does not exist.
            5000 => NewRoute::dev(prefix(i), IfIndex::new(99_999).unwrap()).unwrap(),
            // The same route as request 9997: exists by then (NLM_F_EXCL).
            9998 => NewRoute::via(prefix(9997), gw).unwrap(),
            _ => NewRoute::via(prefix(i), gw).unwrap(),
        };
        let idx = batch.add_route(&NewRoute { table: T, ..r });
        assert_eq!(idx, i as usize);
    }
    assert_eq!(batch.len(), 10_000);
    let results = batch.send();
    assert!(batch.is_empty());
    assert_eq!(results.len(), 10_000);
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, bad);
    for i in bad {
        let e = results[i].as_ref().unwrap_err();
        // The error is the one `Handle::add_route` would give: its index is its position.
        assert!(e.to_string().starts_with("add route:"), "{e}");
    }
    assert!(results[9998].as_ref().unwrap_err().is_exists());
    let e = results[5000].as_ref().unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(results[17].as_ref().unwrap_err().errno().is_some());
    // 9,997 routes installed (request 9998 was a duplicate of 9997).
    assert_eq!(table_len(&t), 9_997);

    // Delete prefixes 0..10000 in one batch: the 3 never installed (17, 5000 and 9998,
    // whose request named 9997) fail as not found, the rest go.
    let mut batch = t.handle.batch();
    for i in 0..10_000u32 {
        batch.delete_route(&RouteKey {
            table: T,
            ..RouteKey::new(prefix(i))
        });
    }
    let results = batch.send();
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().is_err_and(|e| e.is_not_found()))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, bad);
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 3);
    assert_eq!(table_len(&t), 0);
}

#[test]
fn refused_input_keeps_its_place_and_mixes_with_addresses() {
    require_root!();
    let t = setup();
    let gw: IpAddr = "192.0.2.2".parse().unwrap();
    let mut batch = t.handle.batch();
    batch.add_route(&NewRoute {
        table: T,
        ..NewRoute::via(prefix(1), gw).unwrap()
    });
    // Host bits set: refused before sending, in its place.
    batch.add_route(&NewRoute {
        destination: "10.0.2.1/24".parse().unwrap(),
        table: T,
        ..NewRoute::via(prefix(2), gw).unwrap()
    });
    // An unknown link name: refused before sending.
    batch.add_route(&NewRoute {
        table: T,
        ..NewRoute::dev(prefix(3), "nosuch0").unwrap()
    });
    let a: NewAddress = "198.51.100.1/24".parse().unwrap();
    batch.add_address("b1", &a);
    batch.add_route(&NewRoute {
        table: T,
        ..NewRoute::via(prefix(4), "198.51.100.2".parse().unwrap()).unwrap()
    });
    batch.add_address("b1", &a);
    let r = batch.send();
    assert_eq!(r.len(), 6);
    assert!(r[0].is_ok());
    match &r[1] {
        Err(Error::InvalidInput {
            arg: "destination", ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(r[2].as_ref().unwrap_err().is_not_found());
    assert!(r[3].is_ok());
    // The route through the address added just before it in the same batch works: the
    // kernel applies requests in order.
    assert!(r[4].is_ok(), "{:?}", r[4]);
    assert!(r[5].as_ref().unwrap_err().is_exists());
    assert_eq!(table_len(&t), 2);
    let addrs = t.ip(&["-j", "-4", "addr", "show", "dev", "b1"]);
    assert_eq!(addrs[0]["addr_info"][0]["local"], "198.51.100.1");
    // An empty batch sends nothing and returns nothing.
    assert!(t.handle.batch().send().is_empty());
}

/// Veth pairs created and deleted in batches: one result per request, a name that exists and
/// a link that is not there failing only their own requests; checked against `ip -j link`.
#[test]
fn veth_pairs_in_a_batch() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("v3a", "v3b")).unwrap();
    let mut batch = h.batch();
    for i in 0..20 {
        batch.add_veth(&NewVeth::new(&format!("v{i}a"), &format!("v{i}b")));
    }
    // A name over 15 bytes: refused before sending, in its place.
    batch.add_veth(&NewVeth::new("name-of-16-bytes", "x"));
    let results = batch.send();
    assert_eq!(results.len(), 21);
    for (i, r) in results.iter().enumerate() {
        match i {
            3 => assert!(r.as_ref().unwrap_err().is_exists(), "{r:?}"),
            20 => assert!(matches!(r, Err(Error::InvalidInput { .. })), "{r:?}"),
            _ => assert!(r.is_ok(), "request {i}: {r:?}"),
        }
    }
    let names = || t.ip_link_names(&["type", "veth"]);
    assert_eq!(names().len(), 40);

    let mut batch = h.batch();
    for i in 0..20 {
        batch.delete_link(format!("v{i}a").as_str());
    }
    batch.delete_link("nosuchlink");
    let results = batch.send();
    assert!(results[..20].iter().all(Result::is_ok), "{results:?}");
    assert!(results[20].as_ref().unwrap_err().is_not_found());
    assert!(names().is_empty());
}
