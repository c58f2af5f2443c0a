//! Root tests for nexthop objects and groups, checked against `ip -j nexthop show` and
//! `ip -j -d route show`.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{assert_invalid, TestNs};
use netplumb::link::NewVeth;
use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
use netplumb::nexthop::{
    NewNexthop, Nexthop, NexthopFilter, NexthopGroupMember, NexthopKind, ResilientGroup,
};
use netplumb::route::{NewRoute, NextHopFlags, RouteFilter, RouteProtocol};
use netplumb::{Error, IpFamily, TableId};
use serde_json::Value;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A namespace with a veth pair `v0`/`v1`, up, with 10.0.0.1/24 and fd00::1/64 on v0.
fn setup() -> TestNs {
    let t = TestNs::new();
    let h = &t.handle;
    // Blackhole nexthops use the loopback device, which must be up.
    h.set_link_up("lo").unwrap();
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    h.set_link_up("v0").unwrap();
    h.set_link_up("v1").unwrap();
    h.add_address("v0", &"10.0.0.1/24".parse().unwrap())
        .unwrap();
    t.sh(
        "ip",
        &["-6", "addr", "add", "fd00::1/64", "dev", "v0", "nodad"],
    );
    t
}

fn ip_nexthops(t: &TestNs) -> Vec<Value> {
    t.ip(&["-j", "nexthop", "show"]).as_array().unwrap().clone()
}

fn ip_nexthop(t: &TestNs, id: u32) -> Value {
    ip_nexthops(t)
        .into_iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("no nexthop {id} in ip -j nexthop show"))
}

/// Checks one nexthop against iproute2's JSON of it.
fn same_as_iproute2(t: &TestNs, n: &Nexthop) {
    let j = ip_nexthop(t, n.id);
    let v0 = t.handle.link_index("v0").unwrap();
    match &n.kind {
        NexthopKind::Single { gateway, dev } => {
            assert_eq!(
                j["gateway"].as_str().map(ip),
                *gateway,
                "gateway of {}",
                n.id
            );
            assert_eq!(j["dev"].as_str().is_some(), dev.is_some(), "{j}");
            if let Some(d) = dev {
                assert_eq!(j["dev"], "v0");
                assert_eq!(*d, v0);
            }
        }
        NexthopKind::Blackhole => assert!(j.get("blackhole").is_some(), "{j}"),
        NexthopKind::Group {
            members, resilient, ..
        } => {
            let group = j["group"].as_array().unwrap();
            assert_eq!(group.len(), members.len());
            for (g, m) in group.iter().zip(members) {
                assert_eq!(g["id"], m.id);
                // iproute2 prints a weight only when it is not 1.
                assert_eq!(g["weight"].as_u64().unwrap_or(1), u64::from(m.weight));
            }
            match resilient {
                Some(r) => {
                    assert_eq!(j["type"], "resilient");
                    let a = &j["resilient_args"];
                    assert_eq!(a["buckets"], r.buckets);
                    assert_eq!(a["idle_timer"], r.idle_timer.as_secs());
                    assert_eq!(a["unbalanced_timer"], r.unbalanced_timer.as_secs());
                }
                None => assert!(j.get("type").is_none(), "{j}"),
            }
        }
        other => panic!("unexpected kind {other:?}"),
    }
    let flags: Vec<&str> = j["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        flags.contains(&"onlink"),
        n.flags.contains(NextHopFlags::ONLINK),
        "{j}"
    );
    assert_eq!(j.get("fdb").is_some(), n.fdb, "{j}");
}

fn every_kind() -> Vec<NewNexthop<'static>> {
    vec![
        NewNexthop::via_dev(1, ip("10.0.0.2"), "v0"),
        NewNexthop::via_dev(2, ip("10.9.9.9"), "v0")
            .onlink()
            .protocol(RouteProtocol::ZEBRA),
        NewNexthop::via_dev(3, ip("fd00::2"), "v0"),
        NewNexthop::dev(4, IpFamily::V4, "v0"),
        NewNexthop::blackhole(5, IpFamily::V6),
        NewNexthop::fdb_via(6, ip("192.0.2.6")),
        NewNexthop::fdb_via(7, ip("192.0.2.7")),
        NewNexthop::group(
            10,
            vec![
                NexthopGroupMember::weighted(1, 2),
                NexthopGroupMember::weighted(2, 256),
            ],
        ),
        NewNexthop::resilient_group(
            11,
            vec![NexthopGroupMember::new(1), NexthopGroupMember::new(2)],
            ResilientGroup {
                buckets: 16,
                idle_timer: Duration::from_secs(60),
                unbalanced_timer: Duration::from_secs(30),
            },
        ),
        NewNexthop {
            fdb: true,
            ..NewNexthop::group(
                12,
                vec![NexthopGroupMember::new(6), NexthopGroupMember::new(7)],
            )
        },
    ]
}

#[test]
fn every_kind_reads_back_as_iproute2_shows_it() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    for n in every_kind() {
        h.add_nexthop(&n).unwrap_or_else(|e| panic!("{n:?}: {e}"));
    }
    let all = h.nexthops(&NexthopFilter::default()).unwrap();
    assert_eq!(all.len(), ip_nexthops(&t).len());
    let ids: Vec<u32> = all.iter().map(|n| n.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 10, 11, 12]);
    for n in &all {
        same_as_iproute2(&t, n);
        assert_eq!(&h.nexthop(n.id).unwrap(), n, "get id {}", n.id);
    }
    let by_id = |id: u32| all.iter().find(|n| n.id == id).unwrap();
    assert_eq!(by_id(2).protocol, RouteProtocol::ZEBRA);
    assert_eq!(by_id(3).family, Some(IpFamily::V6));
    assert_eq!(by_id(5).family, Some(IpFamily::V6));
    assert_eq!(by_id(10).family, None);
    assert_eq!(
        by_id(10).kind,
        NexthopKind::Group {
            members: vec![
                NexthopGroupMember::weighted(1, 2),
                NexthopGroupMember::weighted(2, 256)
            ],
            resilient: None,
            unbalanced_time: None,
        }
    );
    match &by_id(11).kind {
        NexthopKind::Group {
            resilient: Some(r), ..
        } => {
            assert_eq!(r.buckets, 16);
            assert_eq!(r.idle_timer, Duration::from_secs(60));
        }
        other => panic!("{other:?}"),
    }

    // The kernel's filters, against iproute2's.
    let ids_of = |f: &NexthopFilter<'_>| -> Vec<u32> {
        h.nexthops(f).unwrap().iter().map(|n| n.id).collect()
    };
    let ip_ids = |args: &[&str]| -> Vec<u32> {
        let mut a = vec!["-j", "nexthop", "show"];
        a.extend_from_slice(args);
        t.ip(&a)
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_u64().unwrap() as u32)
            .collect()
    };
    let groups = NexthopFilter {
        groups: true,
        ..NexthopFilter::default()
    };
    assert_eq!(ids_of(&groups), ip_ids(&["groups"]));
    assert_eq!(ids_of(&groups), [10, 11, 12]);
    let fdb = NexthopFilter {
        fdb: true,
        ..NexthopFilter::default()
    };
    // iproute2 6.1 lists every nexthop for `ip nexthop show fdb` (the kernel's filter
    // is not applied to its request here); compare with the ones it marks `fdb`.
    let ip_fdb: Vec<u32> = ip_nexthops(&t)
        .iter()
        .filter(|n| n.get("fdb").is_some())
        .map(|n| n["id"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(ids_of(&fdb), ip_fdb);
    assert_eq!(ids_of(&fdb), [6, 7, 12]);
    let dev = NexthopFilter {
        dev: Some("v0".into()),
        ..NexthopFilter::default()
    };
    assert_eq!(ids_of(&dev), ip_ids(&["dev", "v0"]));
    assert_eq!(ids_of(&dev), [1, 2, 3, 4]);
    let v6 = NexthopFilter {
        family: Some(IpFamily::V6),
        ..NexthopFilter::default()
    };
    let mut want: Vec<u32> = t
        .ip(&["-j", "-6", "nexthop", "show"])
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap() as u32)
        .collect();
    want.sort();
    assert_eq!(ids_of(&v6), want);
    assert_eq!(ids_of(&v6), [3, 5]);
}

#[test]
fn routes_name_nexthops_by_id_and_follow_replacements() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    for n in &every_kind()[..2] {
        h.add_nexthop(n).unwrap();
    }
    h.add_nexthop(&NewNexthop::group(
        10,
        vec![
            NexthopGroupMember::new(1),
            NexthopGroupMember::weighted(2, 3),
        ],
    ))
    .unwrap();
    let table = TableId::new(100);
    let mut r = NewRoute::via_nexthop("10.9.0.0/16".parse().unwrap(), 10).unwrap();
    r.table = table;
    h.add_route(&r).unwrap();
    let single = NewRoute::via_nexthop("10.8.0.0/16".parse().unwrap(), 1).unwrap();
    h.add_route(&single).unwrap();

    let routes = h.routes(&RouteFilter::table(table)).unwrap();
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].nexthop_id, Some(10));
    // The kernel expands the group into the route's next hops.
    let gws: Vec<_> = routes[0].next_hops.iter().map(|n| n.gateway).collect();
    assert_eq!(gws, [Some(ip("10.0.0.2")), Some(ip("10.9.9.9"))]);
    let j = t.ip(&["-j", "-d", "route", "show", "table", "100"]);
    assert_eq!(j[0]["nhid"], 10);
    assert_eq!(j[0]["dst"], "10.9.0.0/16");
    let main = h.routes(&RouteFilter::table(TableId::MAIN)).unwrap();
    let r8 = main
        .iter()
        .find(|r| r.destination == "10.8.0.0/16".parse().unwrap())
        .unwrap();
    assert_eq!(r8.nexthop_id, Some(1));
    assert_eq!(r8.gateway(), Some(ip("10.0.0.2")));

    // Replacing the object moves every route using it.
    h.replace_nexthop(&NewNexthop::via_dev(1, ip("10.0.0.7"), "v0"))
        .unwrap();
    let main = h.routes(&RouteFilter::table(TableId::MAIN)).unwrap();
    let r8 = main
        .iter()
        .find(|r| r.destination == "10.8.0.0/16".parse().unwrap())
        .unwrap();
    assert_eq!(r8.gateway(), Some(ip("10.0.0.7")));
    // A group's members can be replaced too.
    h.replace_nexthop(&NewNexthop::group(10, vec![NexthopGroupMember::new(2)]))
        .unwrap();
    let routes = h.routes(&RouteFilter::table(table)).unwrap();
    assert_eq!(routes[0].gateway(), Some(ip("10.9.9.9")));
    same_as_iproute2(&t, &h.nexthop(10).unwrap());

    // A route with an id of its own and next hops is refused before sending.
    let mut both = NewRoute::via("10.7.0.0/16".parse().unwrap(), ip("10.0.0.2")).unwrap();
    both.nexthop_id = Some(1);
    assert_invalid(h.add_route(&both), "next hops");

    // Deleting the object deletes the routes that use it.
    h.delete_nexthop(1).unwrap();
    let main = h.routes(&RouteFilter::table(TableId::MAIN)).unwrap();
    assert!(main
        .iter()
        .all(|r| r.destination != "10.8.0.0/16".parse().unwrap()));
    let e = h.delete_nexthop(1).unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(matches!(h.nexthop(1), Err(Error::NotFound { .. })));
}

#[test]
fn bad_groups_are_refused_with_nothing_changed() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    h.add_nexthop(&NewNexthop::via_dev(1, ip("10.0.0.2"), "v0"))
        .unwrap();
    h.add_nexthop(&NewNexthop::group(10, vec![NexthopGroupMember::new(1)]))
        .unwrap();
    let before = ip_nexthops(&t);

    // Refused by netplumb before sending.
    assert_invalid(
        h.add_nexthop(&NewNexthop::group(
            20,
            vec![NexthopGroupMember::weighted(1, 0)],
        )),
        "weight",
    );
    assert_invalid(
        h.add_nexthop(&NewNexthop::group(
            20,
            vec![NexthopGroupMember::weighted(1, 257)],
        )),
        "weight",
    );
    assert_invalid(h.add_nexthop(&NewNexthop::group(20, vec![])), "members");
    assert_invalid(
        h.add_nexthop(&NewNexthop::via_dev(0, ip("10.0.0.2"), "v0")),
        "id",
    );
    // Refused by the kernel, with its explanation.
    for (what, n) in [
        (
            "a missing member",
            NewNexthop::group(20, vec![NexthopGroupMember::new(99)]),
        ),
        (
            "a group of groups",
            NewNexthop::group(20, vec![NexthopGroupMember::new(10)]),
        ),
    ] {
        let e = h.add_nexthop(&n).unwrap_err();
        assert!(matches!(e, Error::Kernel { .. }), "{what}: {e:?}");
        assert!(e.kernel_message().is_some(), "{what}: no explanation: {e}");
    }
    let e = h
        .add_nexthop(&NewNexthop::via_dev(1, ip("10.0.0.3"), "v0"))
        .unwrap_err();
    assert!(e.is_exists(), "{e:?}");
    // A device that does not exist.
    let e = h
        .add_nexthop(&NewNexthop::via_dev(30, ip("10.0.0.2"), "nosuch"))
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(ip_nexthops(&t), before);
}

#[test]
fn a_resilient_group_keeps_its_buckets_as_members_change() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    for (id, gw) in [(1, "10.0.0.2"), (2, "10.0.0.3"), (3, "10.0.0.4")] {
        h.add_nexthop(&NewNexthop::via_dev(id, ip(gw), "v0"))
            .unwrap();
    }
    let settings = ResilientGroup {
        buckets: 32,
        idle_timer: Duration::from_secs(1),
        unbalanced_timer: Duration::ZERO,
    };
    let members = |ids: &[u32]| ids.iter().map(|i| NexthopGroupMember::new(*i)).collect();
    h.add_nexthop(&NewNexthop::resilient_group(10, members(&[1, 2]), settings))
        .unwrap();
    for ids in [&[1, 2, 3][..], &[3], &[2, 3]] {
        h.replace_nexthop(&NewNexthop::resilient_group(10, members(ids), settings))
            .unwrap();
        let n = h.nexthop(10).unwrap();
        match &n.kind {
            NexthopKind::Group {
                members: m,
                resilient: Some(r),
                ..
            } => {
                assert_eq!(m.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
                assert_eq!(r.buckets, 32);
            }
            other => panic!("{other:?}"),
        }
        same_as_iproute2(&t, &n);
        // The buckets themselves, as iproute2 lists them: still 32.
        let buckets = t.ip(&["-j", "nexthop", "bucket", "show", "id", "10"]);
        assert_eq!(buckets.as_array().unwrap().len(), 32, "{buckets}");
    }
}

#[test]
fn nexthops_in_bulk() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    let mut b = h.batch();
    for i in 1..=100u32 {
        b.add_nexthop(&NewNexthop::via_dev(
            i,
            IpAddr::from([10, 0, 0, 100 + (i % 100) as u8]),
            "v0",
        ));
    }
    b.add_nexthop(&NewNexthop::group(
        1000,
        (1..=100).map(NexthopGroupMember::new).collect(),
    ));
    b.add_nexthop(&NewNexthop::via_dev(0, ip("10.0.0.2"), "v0"));
    b.delete_nexthop(5000);
    let results = b.send();
    assert_eq!(results.len(), 103);
    assert!(results[..101].iter().all(Result::is_ok), "{results:?}");
    assert!(matches!(results[101], Err(Error::InvalidInput { .. })));
    assert!(results[102].as_ref().unwrap_err().is_not_found());
    assert_eq!(ip_nexthops(&t).len(), 101);
    assert_eq!(h.nexthops(&NexthopFilter::default()).unwrap().len(), 101);
}

fn next_nexthop_event(m: &mut Monitor) -> Change<Nexthop> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match m.recv_timeout(Duration::from_millis(200)).unwrap() {
            Some(Event::Nexthop(c)) => return c,
            Some(e) => eprintln!("other event: {e:?}"),
            None => {}
        }
    }
    panic!("no nexthop event within 10 s");
}

#[test]
fn the_monitor_reports_nexthop_changes() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    h.add_nexthop(&NewNexthop::via_dev(1, ip("10.0.0.2"), "v0"))
        .unwrap();
    let mut m = Monitor::new_in(
        &t.ns,
        &MonitorOptions {
            groups: Groups::NEXTHOP,
            snapshot: true,
            ..MonitorOptions::default()
        },
    )
    .unwrap();
    // The snapshot lists the existing one.
    match next_nexthop_event(&mut m) {
        Change::Added(n) => assert_eq!(n.id, 1),
        other => panic!("{other:?}"),
    }
    h.add_nexthop(&NewNexthop::group(10, vec![NexthopGroupMember::new(1)]))
        .unwrap();
    match next_nexthop_event(&mut m) {
        Change::Added(n) => assert!(n.id == 10 && n.is_group(), "{n:?}"),
        other => panic!("{other:?}"),
    }
    h.replace_nexthop(&NewNexthop::via_dev(1, ip("10.0.0.3"), "v0"))
        .unwrap();
    match next_nexthop_event(&mut m) {
        Change::Changed(n) => assert_eq!(
            n.kind,
            NexthopKind::Single {
                gateway: Some(ip("10.0.0.3")),
                dev: Some(h.link_index("v0").unwrap())
            }
        ),
        other => panic!("{other:?}"),
    }
    // Deleting a nexthop removes the group it was alone in; both are reported.
    h.delete_nexthop(1).unwrap();
    let mut removed = vec![];
    while removed.len() < 2 {
        match next_nexthop_event(&mut m) {
            Change::Removed(n) => removed.push(n.id),
            other => panic!("{other:?}"),
        }
    }
    removed.sort();
    assert_eq!(removed, [1, 10]);
    assert!(ip_nexthops(&t).is_empty());
    // Deleting a device removes its nexthops without a notification (the kernel's
    // `nexthop_flush_dev`, as documented on `Event::Nexthop`): the listing is the truth.
    h.add_nexthop(&NewNexthop::via_dev(2, ip("10.0.0.2"), "v0"))
        .unwrap();
    assert!(matches!(next_nexthop_event(&mut m), Change::Added(n) if n.id == 2));
    h.delete_link("v0").unwrap();
    assert!(h.nexthops(&NexthopFilter::default()).unwrap().is_empty());
    assert!(ip_nexthops(&t).is_empty());
}

#[test]
fn fib_routes_share_nexthop_objects_and_groups() {
    use netplumb::fib::{FibInstall, FibNexthops};
    use netplumb::lpm::{Candidate, FibNextHop, Protocol, Rib, RibSource};
    use std::net::Ipv4Addr;
    require_root!();
    let t = setup();
    let h = &t.handle;
    let v0 = h.link_index("v0").unwrap().get();
    let hop = |gw: &str| FibNextHop {
        gateway: Some(ip(gw)),
        ifindex: Some(v0),
        weight: 1,
    };
    let install = FibInstall {
        table: TableId::new(100),
        protocol: RouteProtocol::BGP,
        ..FibInstall::default()
    };
    let peer = RibSource::new(Protocol::Ebgp, 1);
    let mut rib: Rib<Ipv4Addr> = Rib::new();
    let mut shared = FibNexthops::new(500);
    let ecmp = vec![hop("10.0.0.2"), hop("10.0.0.3")];
    let mut b = h.batch();
    for i in 0..50u8 {
        let prefix = format!("10.{i}.0.0/16").parse().unwrap();
        let c = Candidate::new(Protocol::Ebgp, 0, ecmp.clone());
        if let Some(change) = rib.update(prefix, peer, c) {
            b.apply_fib_change_shared(&change, &install, &mut shared);
        }
    }
    let one = rib
        .update(
            "10.200.0.0/16".parse().unwrap(),
            peer,
            Candidate::new(Protocol::Ebgp, 0, vec![hop("10.0.0.3")]),
        )
        .unwrap();
    b.apply_fib_change_shared(&one, &install, &mut shared);
    assert!(b.send().iter().all(Result::is_ok));
    // Two next hops and one group, whatever the number of routes.
    assert_eq!(shared.counts(), (2, 1));
    let objects = h.nexthops(&NexthopFilter::default()).unwrap();
    assert_eq!(objects.len(), 3);
    assert_eq!(ip_nexthops(&t).len(), 3);
    let group = objects.iter().find(|n| n.is_group()).unwrap();
    let routes = h.routes(&RouteFilter::table(TableId::new(100))).unwrap();
    assert_eq!(routes.len(), 51);
    for r in &routes {
        assert_eq!(
            r.nexthop_id,
            shared.id_of(r.destination),
            "{}",
            r.destination
        );
        assert_eq!(r.protocol, RouteProtocol::BGP);
        if r.destination != "10.200.0.0/16".parse().unwrap() {
            assert_eq!(r.nexthop_id, Some(group.id));
            assert_eq!(r.next_hops.len(), 2);
        }
    }
    // Withdrawing every route takes the objects with it; moving the last ECMP route to one
    // next hop frees the group first.
    let mut b = h.batch();
    for i in 0..49u8 {
        let change = rib
            .withdraw(format!("10.{i}.0.0/16").parse().unwrap(), peer)
            .unwrap();
        b.apply_fib_change_shared(&change, &install, &mut shared);
    }
    let moved = rib
        .update(
            "10.49.0.0/16".parse().unwrap(),
            peer,
            Candidate::new(Protocol::Ebgp, 0, vec![hop("10.0.0.3")]),
        )
        .unwrap();
    b.apply_fib_change_shared(&moved, &install, &mut shared);
    assert!(b.send().iter().all(Result::is_ok));
    assert_eq!(shared.counts(), (1, 0));
    assert_eq!(ip_nexthops(&t).len(), 1);
    let mut b = h.batch();
    for p in ["10.49.0.0/16", "10.200.0.0/16"] {
        let change = rib.withdraw(p.parse().unwrap(), peer).unwrap();
        b.apply_fib_change_shared(&change, &install, &mut shared);
    }
    assert!(b.send().iter().all(Result::is_ok));
    assert_eq!(shared.counts(), (0, 0));
    assert!(ip_nexthops(&t).is_empty());
    assert!(h
        .routes(&RouteFilter::table(TableId::new(100)))
        .unwrap()
        .is_empty());
    // A next hop without a device cannot be an object: refused before sending.
    let mut b = h.batch();
    let bad = rib
        .update(
            "10.201.0.0/16".parse().unwrap(),
            peer,
            Candidate::new(Protocol::Ebgp, 0, vec![FibNextHop::via(ip("10.0.0.2"))]),
        )
        .unwrap();
    let i = b.apply_fib_change_shared(&bad, &install, &mut shared);
    let results = b.send();
    assert!(
        matches!(results[i], Err(Error::InvalidInput { .. })),
        "{results:?}"
    );
}
