//! Root tests for streaming listings (`Handle::*_iter`, `netplumb::Dump`) and the dump-retry
//! setting: the same objects as the `Vec` forms, a handle that stays usable when a stream is
//! dropped early, and an interrupted stream that ends with the error, never a silent half.

mod common;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{assert_invalid, TestNs};
use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::addr::AddressFilter;
use netplumb::fdb::{FdbFilter, NewFdbEntry};
use netplumb::link::{LinkFilter, NewVeth};
use netplumb::neighbour::{NeighbourFilter, NewNeighbour};
use netplumb::route::{NewRoute, RouteFilter};
use netplumb::rule::RuleFilter;
use netplumb::{Error, Handle, TableId, DEFAULT_DUMP_ATTEMPTS};

const TABLE: TableId = TableId::new(100);

/// A namespace with `v0` up and `n` routes in table 100 through it.
fn with_routes(n: u32) -> TestNs {
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    h.set_link_up("v0").unwrap();
    h.set_link_up("v1").unwrap();
    let mut b = h.batch();
    for i in 0..n {
        let net = Ipv4Network::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap();
        let mut r = NewRoute::dev(IpNetwork::V4(net), "v0").unwrap();
        r.table = TABLE;
        b.add_route(&r);
    }
    assert!(b.send().iter().all(Result::is_ok));
    t
}

#[test]
fn a_streamed_listing_equals_the_vec_listing_and_iproute2s() {
    require_root!();
    let t = with_routes(5000);
    let h = &t.handle;
    let filter = RouteFilter::table(TABLE);
    let streamed: Vec<_> = h
        .routes_iter(&filter)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed.len(), 5000);
    assert_eq!(streamed, h.routes(&filter).unwrap());
    let ip = t.ip(&["-j", "route", "show", "table", "100"]);
    assert_eq!(ip.as_array().unwrap().len(), 5000);
    for (r, j) in streamed.iter().zip(ip.as_array().unwrap()) {
        assert_eq!(r.destination.to_string(), j["dst"].as_str().unwrap());
    }
    // A table that does not exist lists empty, as the Vec form does.
    let none = RouteFilter::table(TableId::new(4242));
    assert_eq!(h.routes_iter(&none).unwrap().count(), 0);
    assert!(h.routes(&none).unwrap().is_empty());

    let links: Vec<_> = h
        .links_iter(&LinkFilter::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(links, h.links(&LinkFilter::default()).unwrap());
    assert_eq!(links.len(), t.ip_link_names(&[]).len());
    let addrs: Vec<_> = h
        .addresses_iter(&AddressFilter::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(addrs, h.addresses(&AddressFilter::default()).unwrap());
    let rules: Vec<_> = h
        .rules_iter(&RuleFilter::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rules, h.rules(&RuleFilter::default()).unwrap());
    assert_eq!(rules.len(), 5);
}

#[test]
fn neighbours_and_fdb_stream_as_they_list() {
    require_root!();
    let t = with_routes(0);
    let h = &t.handle;
    let mut b = h.batch();
    for i in 1..=500u32 {
        let ip = std::net::IpAddr::from([10, 1, (i >> 8) as u8, i as u8]);
        let mac: netplumb::MacAddr = format!("02:00:00:00:{:02x}:{:02x}", i >> 8, i & 0xff)
            .parse()
            .unwrap();
        b.add_neighbour("v0", &NewNeighbour::new(ip, mac));
        b.add_fdb("v0", &NewFdbEntry::new(mac));
    }
    assert!(b.send().iter().all(Result::is_ok));
    // The kernel adds multicast entries on its own, as IPv6 comes up on a link, at any
    // moment: neighbours (ff02::16 → 33:33:00:00:00:16, NOARP) and FDB entries (33:33:…).
    // Compare the 500 entries this test made, on every side.
    let ours = |mac: &netplumb::MacAddr| mac.to_string().starts_with("02:00:00:00:");
    let mine = |n: &netplumb::neighbour::Neighbour| n.mac.as_ref().is_some_and(ours);
    let n: Vec<_> = h
        .neighbours_iter(&NeighbourFilter::default())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .into_iter()
        .filter(mine)
        .collect();
    let listed: Vec<_> = h
        .neighbours(&NeighbourFilter::default())
        .unwrap()
        .into_iter()
        .filter(mine)
        .collect();
    assert_eq!(n, listed);
    assert!(n.len() >= 500);
    let f: Vec<_> = h
        .fdb_iter(&FdbFilter::default())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .into_iter()
        .filter(|e| ours(&e.mac))
        .collect();
    let listed: Vec<_> = h
        .fdb(&FdbFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| ours(&e.mac))
        .collect();
    assert_eq!(f, listed);
    assert_eq!(f.len(), 500);
    let oracle = t.bridge(&["-j", "fdb", "show"]);
    let oracle_ours = oracle
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["mac"]
                .as_str()
                .is_some_and(|m| m.starts_with("02:00:00:00:"))
        })
        .count();
    assert_eq!(f.len(), oracle_ours);
}

#[test]
fn a_stream_dropped_early_leaves_the_handle_usable() {
    require_root!();
    let t = with_routes(3000);
    let h = &t.handle;
    let filter = RouteFilter::table(TABLE);
    for take in [0, 1, 5, 700] {
        let first: Vec<_> = h.routes_iter(&filter).unwrap().take(take).collect();
        assert_eq!(first.len(), take);
        assert!(first.iter().all(Result::is_ok));
        // The rest of the dump was read and discarded: the next requests are answered.
        assert_eq!(h.routes(&filter).unwrap().len(), 3000);
        h.set_link_mtu("v0", 1400 + take as u32).unwrap();
    }
}

/// `n` veth pairs, for a link dump of many datagrams.
fn with_links(pairs: u32) -> TestNs {
    let t = TestNs::new();
    for i in 0..pairs {
        t.handle
            .add_veth(&NewVeth::new(&format!("a{i}"), &format!("b{i}")))
            .unwrap();
    }
    t
}

#[test]
fn a_stream_interrupted_by_changes_ends_with_the_error() {
    require_root!();
    let t = with_links(150);
    let h = &t.handle;
    let other = Handle::new_in(&t.ns).unwrap();
    let mut dump = h.links_iter(&LinkFilter::default()).unwrap();
    // The first link is here; the kernel has filled one datagram of the dump.
    assert!(dump.next().unwrap().is_ok());
    // A change made while the dump is under way.
    other.add_veth(&NewVeth::new("c0", "c1")).unwrap();
    let rest: Vec<_> = dump.collect();
    let errors: Vec<_> = rest.iter().filter(|r| r.is_err()).collect();
    assert_eq!(errors.len(), 1, "one error, at the end: {errors:?}");
    assert!(
        matches!(
            rest.last(),
            Some(Err(Error::DumpInterrupted { attempts: 1, .. }))
        ),
        "the stream must end with the interruption, got {:?}",
        rest.last()
    );
    // The handle is usable, and a new listing is whole.
    assert_eq!(
        h.links(&LinkFilter::default()).unwrap().len(),
        t.ip_link_names(&[]).len()
    );
}

#[test]
fn the_retry_count_is_a_setting_and_the_error_names_it() {
    require_root!();
    let t = with_links(60);
    let h = Handle::new_in(&t.ns).unwrap();
    assert_eq!(h.dump_attempts(), DEFAULT_DUMP_ATTEMPTS);
    assert_invalid(h.set_dump_attempts(0), "attempts");
    h.set_dump_attempts(1).unwrap();
    assert_eq!(h.dump_attempts(), 1);
    // Links change without pause while the handle lists them with one attempt each: some
    // listing is interrupted, and its error says one attempt was made.
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        let other = Handle::new_in(&t.ns).unwrap();
        std::thread::spawn(move || {
            // Links coming and going change the kernel's link generation (an MTU change
            // would not).
            while !stop.load(Ordering::Relaxed) {
                other.add_veth(&NewVeth::new("x0", "x1")).unwrap();
                other.delete_link("x0").unwrap();
            }
        })
    };
    let mut seen = None;
    for _ in 0..2000 {
        match h.links(&LinkFilter::default()) {
            Ok(_) => {}
            Err(e @ Error::DumpInterrupted { .. }) => {
                seen = Some(e);
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    match seen {
        Some(Error::DumpInterrupted { attempts, op }) => {
            assert_eq!(attempts, 1);
            assert_eq!(op, "list links");
            let e = Error::DumpInterrupted { attempts, op };
            assert!(e.to_string().contains("1 times"), "{e}");
        }
        other => panic!("no listing of 2000 was interrupted: {other:?}"),
    }
}
