//! Root tests for routes, checked against `ip -j -d route show` and `ip -j route get`.

mod common;

use std::net::IpAddr;

use common::driver::Driver;
use common::TestNs;
use ipnetwork::IpNetwork;
use netplumb::addr::{AddressFlags, NewAddress};
use netplumb::link::NewVeth;
use netplumb::route::{
    NewRoute, NextHop, Route, RouteFilter, RouteKey, RouteMetrics, RouteProtocol, RouteQuery,
    RouteScope, RouteType,
};
use netplumb::{IfIndex, IpFamily, TableId};
use serde_json::Value;

const T: TableId = TableId::new(1000);

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Two veths up: r0 with 10.0.0.1/24 and fd00:1::1/64, r1 with 10.0.1.1/24 and fd00:2::1/64.
fn setup() -> TestNs {
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("r0", "p0")).unwrap();
    h.add_veth(&NewVeth::new("r1", "p1")).unwrap();
    for l in ["r0", "p0", "r1", "p1"] {
        h.set_link_up(l).unwrap();
    }
    let nodad = |s: &str| NewAddress {
        flags: AddressFlags::NODAD,
        ..s.parse().unwrap()
    };
    h.add_address("r0", &"10.0.0.1/24".parse().unwrap())
        .unwrap();
    h.add_address("r1", &"10.0.1.1/24".parse().unwrap())
        .unwrap();
    h.add_address("r0", &nodad("fd00:1::1/64")).unwrap();
    h.add_address("r1", &nodad("fd00:2::1/64")).unwrap();
    t
}

/// `ip -j -d [-6] route show table TABLE` as a list.
fn ip_routes(t: &TestNs, family: &str, table: &str) -> Vec<Value> {
    t.ip(&["-j", "-d", family, "route", "show", "table", table])
        .as_array()
        .unwrap()
        .clone()
}

/// iproute2's entry for `dst` (as it prints it: a host route without `/32`).
fn ip_route<'a>(routes: &'a [Value], dst: &str, kind: &str) -> &'a Value {
    routes
        .iter()
        .find(|r| r["dst"] == dst && r["type"] == kind)
        .unwrap_or_else(|| panic!("{kind} {dst} not in {routes:#?}"))
}

fn ours(t: &TestNs, table: TableId, family: IpFamily) -> Vec<Route> {
    t.handle
        .routes(&RouteFilter {
            family: Some(family),
            ..RouteFilter::table(table)
        })
        .unwrap()
}

fn find<'a>(routes: &'a [Route], dst: &str) -> &'a Route {
    let dst = net(dst);
    routes
        .iter()
        .find(|r| r.destination == dst)
        .unwrap_or_else(|| panic!("{dst} not in {routes:#?}"))
}

fn dev_name(t: &TestNs, i: Option<IfIndex>) -> String {
    t.handle.link(i.unwrap()).unwrap().name.to_string()
}

#[test]
fn every_route_form_matches_ip_route_show() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    // ip route add 10.1.0.0/16 via 10.0.0.2 table 1000
    h.add_route(&NewRoute {
        table: T,
        ..NewRoute::via(net("10.1.0.0/16"), ip("10.0.0.2")).unwrap()
    })
    .unwrap();
    // ip route add 10.2.0.0/16 table 1000 nexthop via 10.0.0.2 dev r0 weight 1
    //     nexthop via 10.0.1.2 dev r1 weight 3
    h.add_route(&NewRoute {
        table: T,
        next_hops: vec![
            NextHop {
                dev: Some("r0".into()),
                ..NextHop::gateway(ip("10.0.0.2"))
            },
            NextHop {
                dev: Some("r1".into()),
                weight: 3,
                ..NextHop::gateway(ip("10.0.1.2"))
            },
        ],
        ..NewRoute::new(net("10.2.0.0/16")).unwrap()
    })
    .unwrap();
    // ip route add blackhole / unreachable / prohibit / throw PREFIX table 1000
    for (kind, dst) in [
        (RouteType::Blackhole, "10.3.0.0/16"),
        (RouteType::Unreachable, "10.4.0.0/16"),
        (RouteType::Prohibit, "10.5.0.0/16"),
        (RouteType::Throw, "10.6.0.0/16"),
    ] {
        h.add_route(&NewRoute {
            table: T,
            ..NewRoute::of_kind(kind, net(dst)).unwrap()
        })
        .unwrap();
    }
    // ip route add 10.7.0.0/16 dev r1 table 1000 metric 50 proto bird src 10.0.1.1
    //     mtu 1400 advmss 1360
    h.add_route(&NewRoute {
        table: T,
        priority: Some(50),
        protocol: RouteProtocol::BIRD,
        preferred_source: Some(ip("10.0.1.1")),
        metrics: RouteMetrics {
            mtu: Some(1400),
            advmss: Some(1360),
            ..RouteMetrics::default()
        },
        ..NewRoute::dev(net("10.7.0.0/16"), "r1").unwrap()
    })
    .unwrap();
    // ip route add 10.8.0.0/16 via inet6 fd00:1::2 dev r0 table 1000   (RTA_VIA)
    h.add_route(&NewRoute {
        table: T,
        next_hops: vec![NextHop {
            via: Some(ip("fd00:1::2")),
            dev: Some("r0".into()),
            ..NextHop::default()
        }],
        ..NewRoute::new(net("10.8.0.0/16")).unwrap()
    })
    .unwrap();
    // ip route add 10.9.0.0/16 via 10.99.0.1 dev r0 onlink proto zebra table 1000
    h.add_route(&NewRoute {
        table: T,
        protocol: RouteProtocol::ZEBRA,
        next_hops: vec![NextHop {
            dev: Some("r0".into()),
            onlink: true,
            ..NextHop::gateway(ip("10.99.0.1"))
        }],
        ..NewRoute::new(net("10.9.0.0/16")).unwrap()
    })
    .unwrap();
    // ip route add local 10.10.0.1 dev r0 table 1000
    h.add_route(&NewRoute {
        table: T,
        kind: RouteType::Local,
        ..NewRoute::dev(net("10.10.0.1/32"), "r0").unwrap()
    })
    .unwrap();
    // IPv6: ip -6 route add fd00:9::/64 via fd00:1::2 table 1000 metric 7
    h.add_route(&NewRoute {
        table: T,
        priority: Some(7),
        ..NewRoute::via(net("fd00:9::/64"), ip("fd00:1::2")).unwrap()
    })
    .unwrap();
    // ip -6 route add fd00:a::/64 table 1000 nexthop via fd00:1::2 dev r0 weight 2
    //     nexthop via fd00:2::2 dev r1 weight 5
    h.add_route(&NewRoute {
        table: T,
        next_hops: vec![
            NextHop {
                dev: Some("r0".into()),
                weight: 2,
                ..NextHop::gateway(ip("fd00:1::2"))
            },
            NextHop {
                dev: Some("r1".into()),
                weight: 5,
                ..NextHop::gateway(ip("fd00:2::2"))
            },
        ],
        ..NewRoute::new(net("fd00:a::/64")).unwrap()
    })
    .unwrap();
    h.add_route(&NewRoute {
        table: T,
        ..NewRoute::of_kind(RouteType::Blackhole, net("fd00:b::/48")).unwrap()
    })
    .unwrap();

    let theirs = ip_routes(&t, "-4", "1000");
    let v4 = ours(&t, T, IpFamily::V4);
    assert_eq!(v4.len(), theirs.len(), "{v4:#?}\n{theirs:#?}");
    assert!(v4.iter().all(|r| r.table == T && r.family == IpFamily::V4));

    let r = find(&v4, "10.1.0.0/16");
    let i = ip_route(&theirs, "10.1.0.0/16", "unicast");
    assert_eq!(r.gateway().unwrap().to_string(), i["gateway"]);
    assert_eq!(dev_name(&t, r.dev()), i["dev"]);
    assert_eq!(
        (r.kind, r.scope, r.protocol),
        (
            RouteType::Unicast,
            RouteScope::Universe,
            RouteProtocol::BOOT
        )
    );
    assert_eq!(i["protocol"], "boot");
    assert_eq!(i["scope"], "global");

    let r = find(&v4, "10.2.0.0/16");
    let i = ip_route(&theirs, "10.2.0.0/16", "unicast");
    let hops = i["nexthops"].as_array().unwrap();
    assert_eq!(r.next_hops.len(), 2);
    for (ours, theirs) in r.next_hops.iter().zip(hops) {
        assert_eq!(ours.gateway.unwrap().to_string(), theirs["gateway"]);
        assert_eq!(dev_name(&t, ours.dev), theirs["dev"]);
        assert_eq!(u64::from(ours.weight), theirs["weight"].as_u64().unwrap());
    }
    assert_eq!(
        r.next_hops.iter().map(|h| h.weight).collect::<Vec<_>>(),
        [1, 3]
    );

    for (kind, dst, name) in [
        (RouteType::Blackhole, "10.3.0.0/16", "blackhole"),
        (RouteType::Unreachable, "10.4.0.0/16", "unreachable"),
        (RouteType::Prohibit, "10.5.0.0/16", "prohibit"),
        (RouteType::Throw, "10.6.0.0/16", "throw"),
    ] {
        let r = find(&v4, dst);
        assert_eq!(r.kind, kind);
        assert!(r.next_hops.is_empty(), "{r:?}");
        ip_route(&theirs, dst, name);
    }

    let r = find(&v4, "10.7.0.0/16");
    let i = ip_route(&theirs, "10.7.0.0/16", "unicast");
    assert_eq!(r.scope, RouteScope::Link);
    assert_eq!(i["scope"], "link");
    assert_eq!(r.protocol, RouteProtocol::BIRD);
    assert_eq!(i["protocol"], "bird");
    assert_eq!(r.priority, Some(50));
    assert_eq!(i["metric"], 50);
    assert_eq!(r.preferred_source, Some(ip("10.0.1.1")));
    assert_eq!(i["prefsrc"], "10.0.1.1");
    assert_eq!(r.metrics.mtu, Some(1400));
    assert_eq!(r.metrics.advmss, Some(1360));
    assert_eq!(i["metrics"][0]["mtu"], 1400);
    assert_eq!(i["metrics"][0]["advmss"], 1360);
    assert_eq!(dev_name(&t, r.dev()), "r1");

    let r = find(&v4, "10.8.0.0/16");
    let i = ip_route(&theirs, "10.8.0.0/16", "unicast");
    assert_eq!(r.next_hops[0].via, Some(ip("fd00:1::2")));
    assert_eq!(r.gateway(), None);
    assert_eq!(i["via"]["family"], "inet6");
    assert_eq!(i["via"]["host"], "fd00:1::2");

    let r = find(&v4, "10.9.0.0/16");
    let i = ip_route(&theirs, "10.9.0.0/16", "unicast");
    assert!(r.next_hops[0]
        .flags
        .contains(netplumb::route::NextHopFlags::ONLINK));
    assert!(
        i["flags"].as_array().unwrap().contains(&"onlink".into()),
        "{i}"
    );
    assert_eq!(r.protocol, RouteProtocol::ZEBRA);
    assert_eq!(i["protocol"], "zebra");

    let r = find(&v4, "10.10.0.1/32");
    let i = ip_route(&theirs, "10.10.0.1", "local");
    assert_eq!(r.kind, RouteType::Local);
    assert_eq!(r.scope, RouteScope::Host);
    assert_eq!(i["scope"], "host");

    let theirs6 = ip_routes(&t, "-6", "1000");
    let v6 = ours(&t, T, IpFamily::V6);
    assert_eq!(v6.len(), theirs6.len(), "{v6:#?}\n{theirs6:#?}");
    let r = find(&v6, "fd00:9::/64");
    let i = ip_route(&theirs6, "fd00:9::/64", "unicast");
    assert_eq!(r.gateway().unwrap().to_string(), i["gateway"]);
    assert_eq!(r.priority, Some(7));
    assert_eq!(i["metric"], 7);
    let r = find(&v6, "fd00:a::/64");
    let i = ip_route(&theirs6, "fd00:a::/64", "unicast");
    let hops = i["nexthops"].as_array().unwrap();
    assert_eq!(r.next_hops.len(), 2);
    assert_eq!(hops.len(), 2);
    for (ours, theirs) in r.next_hops.iter().zip(hops) {
        assert_eq!(ours.gateway.unwrap().to_string(), theirs["gateway"]);
        assert_eq!(dev_name(&t, ours.dev), theirs["dev"]);
        assert_eq!(u64::from(ours.weight), theirs["weight"].as_u64().unwrap());
    }
    let r = find(&v6, "fd00:b::/48");
    assert_eq!(r.kind, RouteType::Blackhole);
    ip_route(&theirs6, "fd00:b::/48", "blackhole");

    // Both families at once.
    let both = h.routes(&RouteFilter::table(T)).unwrap();
    assert_eq!(both.len(), v4.len() + v6.len());
}

#[test]
fn large_table_ids_and_filters() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    let big = TableId::new(4_000_000_000);
    for (table, dst, proto) in [
        (big, "10.50.0.0/16", RouteProtocol::STATIC),
        (TableId::new(200), "10.51.0.0/16", RouteProtocol::BGP),
        (TableId::MAIN, "10.52.0.0/16", RouteProtocol::OSPF),
    ] {
        h.add_route(&NewRoute {
            table,
            protocol: proto,
            ..NewRoute::via(net(dst), ip("10.0.0.2")).unwrap()
        })
        .unwrap();
    }
    let r = h.routes(&RouteFilter::table(big)).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].table, big);
    assert_eq!(r[0].protocol, RouteProtocol::STATIC);
    assert_eq!(ip_routes(&t, "-4", "4000000000").len(), 1);
    // A table that has no routes is empty, not an error.
    assert!(h
        .routes(&RouteFilter::table(TableId::new(4242)))
        .unwrap()
        .is_empty());
    assert!(h
        .routes(&RouteFilter {
            family: Some(IpFamily::V4),
            ..RouteFilter::table(TableId::new(4242))
        })
        .unwrap()
        .is_empty());

    // All tables: as many routes as iproute2 shows for both families, local table included,
    // and the kernel's local and broadcast routes typed.
    // IPv6 link-local and multicast routes appear asynchronously after links come up, so
    // the IPv6 count is bracketed by iproute2's before and after ours.
    let n6_before = ip_routes(&t, "-6", "all").len();
    let all = h.routes(&RouteFilter::default()).unwrap();
    let n4 = ip_routes(&t, "-4", "all").len();
    let n6_after = ip_routes(&t, "-6", "all").len();
    let ours4 = all.iter().filter(|r| r.family == IpFamily::V4).count();
    let ours6 = all.len() - ours4;
    assert_eq!(ours4, n4, "{all:#?}");
    assert!(
        (n6_before..=n6_after).contains(&ours6),
        "{ours6} not in {n6_before}..={n6_after}"
    );
    assert!(all
        .iter()
        .any(|r| r.table == TableId::LOCAL && r.kind == RouteType::Local));
    assert!(all
        .iter()
        .any(|r| r.table == TableId::LOCAL && r.kind == RouteType::Broadcast));
    assert!(all.iter().any(|r| r.table == big));

    // Protocol filter: ip route show table all proto bgp
    let bgp = h
        .routes(&RouteFilter {
            protocol: Some(RouteProtocol::BGP),
            ..RouteFilter::default()
        })
        .unwrap();
    assert_eq!(bgp.len(), 1);
    assert_eq!(bgp[0].destination, net("10.51.0.0/16"));
    let ip_bgp = t.ip(&["-j", "route", "show", "table", "all", "proto", "bgp"]);
    assert_eq!(ip_bgp.as_array().unwrap().len(), 1);

    // Device filter: ip route show table main dev r1
    let r1 = h
        .routes(&RouteFilter {
            dev: Some("r1".into()),
            family: Some(IpFamily::V4),
            ..RouteFilter::table(TableId::MAIN)
        })
        .unwrap();
    let ip_r1 = t.ip(&["-j", "-4", "route", "show", "table", "main", "dev", "r1"]);
    assert_eq!(r1.len(), ip_r1.as_array().unwrap().len());
    assert!(!r1.is_empty());
    // Type filter: local routes of the local table.
    let local = h
        .routes(&RouteFilter {
            kind: Some(RouteType::Local),
            family: Some(IpFamily::V4),
            ..RouteFilter::table(TableId::LOCAL)
        })
        .unwrap();
    let ip_local = t.ip(&[
        "-j", "-4", "route", "show", "table", "local", "type", "local",
    ]);
    assert_eq!(local.len(), ip_local.as_array().unwrap().len());
    // Destination filter.
    let exact = h
        .routes(&RouteFilter {
            destination: Some(net("10.52.0.0/16")),
            ..RouteFilter::default()
        })
        .unwrap();
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].protocol, RouteProtocol::OSPF);
    assert_eq!(exact[0].table, TableId::MAIN);
    // The cache (route exceptions) of a fresh namespace is empty: typed, not an error.
    let cached = h
        .routes(&RouteFilter {
            cached: true,
            ..RouteFilter::default()
        })
        .unwrap();
    assert!(cached
        .iter()
        .all(|r| r.flags.contains(netplumb::route::RouteFlags::CLONED)));
}

#[test]
fn replace_append_delete() {
    require_root!();
    for kind in Driver::kinds() {
        let t = setup();
        let d = Driver::new(kind, &t.ns);
        replace_append_delete_with(&t, &d);
    }
}

/// The body of [`replace_append_delete`], for each driver (blocking, and async on both runtimes).
fn replace_append_delete_with(t: &TestNs, d: &Driver) {
    let r = NewRoute {
        table: T,
        ..NewRoute::via(net("10.1.0.0/16"), ip("10.0.0.2")).unwrap()
    };
    d.run(|h| h.add_route(&r)).unwrap();
    let again = d.run(|h| h.add_route(&r)).unwrap_err();
    assert!(again.is_exists(), "{again}");
    // replace: the gateway changes in place.
    d.run(|h| {
        h.replace_route(&NewRoute {
            table: T,
            ..NewRoute::via(net("10.1.0.0/16"), ip("10.0.1.2")).unwrap()
        })
    })
    .unwrap();
    let theirs = ip_routes(t, "-4", "1000");
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["gateway"], "10.0.1.2");
    // append: a second route to the same prefix with another metric... for IPv4, appended
    // alongside (ip shows two entries); for IPv6 it joins as another next hop.
    d.run(|h| {
        h.append_route(&NewRoute {
            table: T,
            ..NewRoute::via(net("10.1.0.0/16"), ip("10.0.0.3")).unwrap()
        })
    })
    .unwrap();
    assert_eq!(ip_routes(t, "-4", "1000").len(), 2);
    assert_eq!(ours(t, T, IpFamily::V4).len(), 2);
    d.run(|h| {
        h.add_route(&NewRoute {
            table: T,
            ..NewRoute::via(net("fd00:9::/64"), ip("fd00:1::2")).unwrap()
        })
    })
    .unwrap();
    d.run(|h| {
        h.append_route(&NewRoute {
            table: T,
            ..NewRoute::via(net("fd00:9::/64"), ip("fd00:2::2")).unwrap()
        })
    })
    .unwrap();
    let v6 = ours(t, T, IpFamily::V6);
    assert_eq!(v6.len(), 1);
    assert_eq!(v6[0].next_hops.len(), 2);
    assert_eq!(
        ip_routes(t, "-6", "1000")[0]["nexthops"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // delete by gateway: only that one of the two IPv4 routes goes.
    d.run(|h| {
        h.delete_route(&RouteKey {
            table: T,
            gateway: Some(ip("10.0.0.3")),
            ..RouteKey::new(net("10.1.0.0/16"))
        })
    })
    .unwrap();
    let theirs = ip_routes(t, "-4", "1000");
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["gateway"], "10.0.1.2");
    // delete from a listed route, then the key of the created one.
    let listed = ours(t, T, IpFamily::V4);
    d.run(|h| h.delete_route(&RouteKey::from(&listed[0])))
        .unwrap();
    assert!(ip_routes(t, "-4", "1000").is_empty());
    let missing = d.run(|h| h.delete_route(&RouteKey::from(&r))).unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    d.run(|h| {
        h.delete_route(&RouteKey {
            table: T,
            ..RouteKey::new(net("fd00:9::/64"))
        })
    })
    .unwrap();
    assert!(ip_routes(t, "-6", "1000").is_empty());
}

#[test]
fn route_get_agrees_with_ip_route_get() {
    require_root!();
    for kind in Driver::kinds() {
        let t = setup();
        let d = Driver::new(kind, &t.ns);
        route_get_agrees_with_ip_route_get_with(&t, &d);
    }
}

/// The body of [`route_get_agrees_with_ip_route_get`], for each driver (blocking, and async on both runtimes).
fn route_get_agrees_with_ip_route_get_with(t: &TestNs, d: &Driver) {
    // Overlapping prefixes in main: the connected 10.0.0.0/24 and 10.0.1.0/24, and these.
    d.run(|h| h.add_route(&NewRoute::via(net("10.0.0.0/8"), ip("10.0.0.2")).unwrap()))
        .unwrap();
    d.run(|h| h.add_route(&NewRoute::via(net("10.20.0.0/16"), ip("10.0.1.2")).unwrap()))
        .unwrap();
    d.run(|h| h.add_route(&NewRoute::dev(net("10.20.30.0/24"), "r1").unwrap()))
        .unwrap();
    d.run(|h| {
        h.add_route(&NewRoute {
            preferred_source: Some(ip("10.0.0.1")),
            ..NewRoute::via(net("10.20.30.64/26"), ip("10.0.0.9")).unwrap()
        })
    })
    .unwrap();
    d.run(|h| {
        h.add_route(&NewRoute::of_kind(RouteType::Unreachable, net("10.20.30.128/25")).unwrap())
    })
    .unwrap();
    d.run(|h| h.add_route(&NewRoute::via(net("fd00:100::/32"), ip("fd00:1::2")).unwrap()))
        .unwrap();
    d.run(|h| h.add_route(&NewRoute::via(net("fd00:100:1::/48"), ip("fd00:2::2")).unwrap()))
        .unwrap();

    let addrs = [
        "10.0.0.7",
        "10.0.1.7",
        "10.1.2.3",
        "10.20.1.1",
        "10.20.30.1",
        "10.20.30.65",
        "10.20.30.200",
        "11.0.0.1",
        "fd00:100::1",
        "fd00:100:1::1",
        "fd00:1::99",
        "fd00:200::1",
    ];
    for fib_match in [false, true] {
        for a in addrs {
            let q = RouteQuery {
                fib_match,
                ..RouteQuery::new(ip(a))
            };
            let mut args = vec!["-j", "route", "get"];
            if fib_match {
                args.push("fibmatch");
            }
            args.push(a);
            let out =
                t.ns.run(|| std::process::Command::new("ip").args(&args).output())
                    .unwrap()
                    .unwrap();
            let ours = d.run(|h| h.route_get(&q));
            if !out.status.success() {
                assert!(ours.is_err(), "{a}: ip fails, we got {ours:?}");
                continue;
            }
            let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
            let theirs = &theirs[0];
            let r = ours.unwrap_or_else(|e| panic!("{a} fibmatch={fib_match}: {e} ({theirs})"));
            let dst = if r.destination.prefix() == IpFamily::of(r.destination.ip()).max_prefix_len()
            {
                r.destination.ip().to_string()
            } else {
                r.destination.to_string()
            };
            assert_eq!(dst, theirs["dst"], "{a} fibmatch={fib_match}: {r:?}");
            assert_eq!(
                r.gateway().map(|g| g.to_string()),
                theirs["gateway"].as_str().map(str::to_string),
                "{a}: {r:?} / {theirs}"
            );
            assert_eq!(
                r.dev().map(|d| dev_name(t, Some(d))),
                theirs["dev"].as_str().map(str::to_string),
                "{a}"
            );
            if !fib_match {
                assert_eq!(
                    r.preferred_source.map(|g| g.to_string()),
                    theirs["prefsrc"].as_str().map(str::to_string),
                    "{a}"
                );
            }
            assert_eq!(r.table, TableId::MAIN, "{a}: {r:?}");
        }
    }
    // With a mark, a source and an output interface.
    let r = d
        .run(|h| {
            h.route_get(&RouteQuery {
                source: Some(ip("10.0.1.1")),
                oif: Some("r1".into()),
                mark: Some(7),
                ..RouteQuery::new(ip("10.20.1.1"))
            })
        })
        .unwrap();
    let theirs = t.ip(&[
        "-j",
        "route",
        "get",
        "10.20.1.1",
        "from",
        "10.0.1.1",
        "oif",
        "r1",
        "mark",
        "7",
    ]);
    assert_eq!(r.gateway().unwrap().to_string(), theirs[0]["gateway"]);
    assert_eq!(r.mark, Some(7));
    assert_eq!(theirs[0]["mark"], 7);
}

#[test]
fn bad_route_input_changes_nothing() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    // IPv6 link-local addresses (and their `local fe80::…` routes) appear whenever the kernel's
    // address configuration gets to them, which on a slow machine can be in the middle of the
    // test; none of the calls below could touch them.
    let routes6 = || -> Vec<Value> {
        let all = ip_routes(&t, "-6", "all");
        all.into_iter()
            .filter(|r| !r["dst"].as_str().is_some_and(|d| d.starts_with("fe80:")))
            .collect()
    };
    let before4 = ip_routes(&t, "-4", "all");
    let before6 = routes6();
    // Host bits set.
    common::assert_invalid(NewRoute::new(net("10.0.0.1/8")), "destination");
    let sneaky = NewRoute {
        destination: net("10.0.0.1/8"),
        ..NewRoute::via(net("10.0.0.0/8"), ip("10.0.0.2")).unwrap()
    };
    common::assert_invalid(h.add_route(&sneaky), "destination");
    // A gateway of the other family without RTA_VIA.
    common::assert_invalid(
        h.add_route(&NewRoute::via(net("10.1.0.0/16"), ip("fd00:1::2")).unwrap()),
        "gateway",
    );
    common::assert_invalid(
        h.add_route(&NewRoute::via(net("fd00:5::/64"), ip("10.0.0.2")).unwrap()),
        "gateway",
    );
    // A multipath route with no next hops.
    common::assert_invalid(
        h.add_route(&NewRoute::new(net("10.1.0.0/16")).unwrap()),
        "next hops",
    );
    // Weight 0, and beyond 256.
    for w in [0, 257] {
        let r = NewRoute {
            next_hops: vec![
                NextHop::gateway(ip("10.0.0.2")),
                NextHop {
                    weight: w,
                    ..NextHop::gateway(ip("10.0.1.2"))
                },
            ],
            ..NewRoute::new(net("10.1.0.0/16")).unwrap()
        };
        common::assert_invalid(h.add_route(&r), "weight");
    }
    common::assert_invalid(
        h.delete_route(&RouteKey::new(net("10.0.0.1/8"))),
        "destination",
    );
    common::assert_invalid(
        h.route_get(&RouteQuery {
            source: Some(ip("fd00::1")),
            ..RouteQuery::new(ip("10.0.0.1"))
        }),
        "source",
    );
    assert_eq!(ip_routes(&t, "-4", "all"), before4);
    assert_eq!(routes6(), before6);

    // The kernel's own refusal keeps its explanation: an unreachable gateway.
    let e = h
        .add_route(&NewRoute::via(net("10.1.0.0/16"), ip("10.77.0.1")).unwrap())
        .unwrap_err();
    assert!(matches!(e, netplumb::Error::Kernel { .. }), "{e}");
    assert!(e.kernel_message().is_some(), "{e}");
    let missing_dev = h.add_route(&NewRoute::dev(net("10.1.0.0/16"), "nosuch0").unwrap());
    assert!(missing_dev.unwrap_err().is_not_found());
    assert_eq!(ip_routes(&t, "-4", "all"), before4);
}

#[test]
fn unspecified_filters_select_everything_and_local_routes_go_to_local() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    // IPv4 only: IPv6 link-local routes appear by themselves once DAD is done.
    let v4 = RouteFilter {
        family: Some(IpFamily::V4),
        ..RouteFilter::default()
    };
    let all = h.routes(&v4).unwrap().len();
    assert!(all > 0);
    // Table 0, protocol 0 and type 0 are "any", for the kernel and for netplumb.
    let unspec = h
        .routes(&RouteFilter {
            table: Some(TableId::UNSPEC),
            protocol: Some(RouteProtocol(0)),
            ..v4
        })
        .unwrap()
        .len();
    assert_eq!(unspec, all);

    // ip route add local 10.77.0.1/32 dev lo: into the local table, as iproute2 puts it.
    h.add_route(&NewRoute {
        next_hops: vec![NextHop::dev("lo")],
        ..NewRoute::of_kind(RouteType::Local, net("10.77.0.1/32")).unwrap()
    })
    .unwrap();
    let local = ip_routes(&t, "-4", "local");
    let r = ip_route(&local, "10.77.0.1", "local");
    assert_eq!(r["dev"], "lo");
    assert!(ip_routes(&t, "-4", "main")
        .iter()
        .all(|r| r["dst"] != "10.77.0.1"));
}

#[test]
fn listed_routes_with_tos_or_source_delete_exactly() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    // Two IPv4 routes told apart only by tos, two IPv6 routes only by source prefix.
    t.sh("ip", &["route", "add", "10.9.0.0/16", "dev", "r0"]);
    t.sh(
        "ip",
        &["route", "add", "10.9.0.0/16", "tos", "0x10", "dev", "r0"],
    );
    t.sh("ip", &["-6", "route", "add", "fd00:7::/64", "dev", "r0"]);
    t.sh(
        "ip",
        &[
            "-6",
            "route",
            "add",
            "fd00:7::/64",
            "from",
            "fd00:8::/64",
            "dev",
            "r0",
        ],
    );
    let listed = h.routes(&RouteFilter::table(TableId::MAIN)).unwrap();
    let with_tos = listed
        .iter()
        .find(|r| r.destination == net("10.9.0.0/16") && r.tos == 0x10)
        .expect("the tos route is listed");
    let with_src = listed
        .iter()
        .find(|r| r.destination == net("fd00:7::/64") && r.source.is_some())
        .expect("the source-specific route is listed");
    assert_eq!(with_src.source, Some(net("fd00:8::/64")));

    h.delete_route(&RouteKey::from(with_tos)).unwrap();
    h.delete_route(&RouteKey::from(with_src)).unwrap();
    let v4: Vec<Value> = ip_routes(&t, "-4", "main")
        .into_iter()
        .filter(|r| r["dst"] == "10.9.0.0/16")
        .collect();
    assert_eq!(v4.len(), 1, "{v4:?}");
    assert!(v4[0].get("tos").is_none() || v4[0]["tos"] == "0", "{v4:?}");
    let v6: Vec<Value> = ip_routes(&t, "-6", "main")
        .into_iter()
        .filter(|r| r["dst"] == "fd00:7::/64")
        .collect();
    assert_eq!(v6.len(), 1, "{v6:?}");
    assert!(v6[0].get("from").is_none(), "{v6:?}");
}

/// A Rib's changes of best route, mirrored into a kernel table one by one and in a batch:
/// new and changed best routes are replaced, withdrawn ones deleted, ECMP sets keep their
/// weights, and a FIB entry the kernel cannot take fails alone.
#[test]
fn fib_changes_are_mirrored_into_a_kernel_table() {
    use netplumb::lpm::{self, Protocol, Rib, RibSource};
    use std::net::Ipv4Addr;
    require_root!();
    let t = setup();
    let h = &t.handle;
    let r0 = h.link_index("r0").unwrap().get();
    let r1 = h.link_index("r1").unwrap().get();
    let install = netplumb::fib::FibInstall {
        table: T,
        protocol: RouteProtocol::BGP,
        onlink: true,
        ..Default::default()
    };
    let ebgp = RibSource::new(Protocol::Ebgp, 1);
    let ospf = RibSource::new(Protocol::Ospf, 1);
    let hop = |gw: &str, dev: u32, weight: u8| lpm::FibNextHop {
        gateway: Some(ip(gw)),
        ifindex: Some(dev),
        weight,
    };
    let mut rib: Rib<Ipv4Addr> = Rib::new();

    // One at a time: an OSPF route, then a better eBGP one over it, then the eBGP one goes.
    let p = "198.51.100.0/24".parse().unwrap();
    let c = rib
        .update(
            p,
            ospf,
            lpm::Candidate::new(Protocol::Ospf, 10, vec![hop("10.0.0.2", r0, 1)]),
        )
        .unwrap();
    h.apply_fib_change(&c, &install).unwrap();
    let c = rib
        .update(
            p,
            ebgp,
            lpm::Candidate::new(Protocol::Ebgp, 0, vec![hop("192.0.2.7", r1, 1)]),
        )
        .unwrap();
    h.apply_fib_change(&c, &install).unwrap();
    let routes = ip_routes(&t, "-4", "1000");
    assert_eq!(routes.len(), 1, "replaced, not added: {routes:?}");
    let r = ip_route(&routes, "198.51.100.0/24", "unicast");
    assert_eq!(r["gateway"], "192.0.2.7");
    assert_eq!(r["dev"], "r1");
    assert_eq!(r["protocol"], "bgp");
    assert!(
        r["flags"].as_array().unwrap().contains(&"onlink".into()),
        "{r}"
    );
    let c = rib.withdraw(p, ebgp).unwrap();
    h.apply_fib_change(&c, &install).unwrap();
    let routes = ip_routes(&t, "-4", "1000");
    assert_eq!(
        ip_route(&routes, "198.51.100.0/24", "unicast")["gateway"],
        "10.0.0.2"
    );

    // In a batch: an ECMP route with weights, a withdrawal, and an entry without next hops.
    let mut batch = h.batch();
    let e = "203.0.113.0/24".parse().unwrap();
    let c = rib
        .update(
            e,
            ebgp,
            lpm::Candidate::new(
                Protocol::Ebgp,
                0,
                vec![hop("10.0.0.2", r0, 3), hop("10.0.1.2", r1, 1)],
            ),
        )
        .unwrap();
    batch.apply_fib_change(&c, &install);
    batch.apply_fib_change(&rib.withdraw(p, ospf).unwrap(), &install);
    let empty: lpm::FibChange<Ipv4Addr> = lpm::FibChange {
        prefix: "192.0.2.0/24".parse().unwrap(),
        old: None,
        new: Some(lpm::FibRoute {
            distance: 20,
            metric: 0,
            sources: vec![ebgp],
            next_hops: vec![],
        }),
    };
    batch.apply_fib_change(&empty, &install);
    let results = batch.send();
    assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
    let err = results[2].as_ref().unwrap_err();
    assert!(err.to_string().contains("no next hop"), "{err}");

    let routes = ip_routes(&t, "-4", "1000");
    assert_eq!(routes.len(), 1, "{routes:?}");
    let r = ip_route(&routes, "203.0.113.0/24", "unicast");
    let mut hops: Vec<(String, u64)> = r["nexthops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|nh| {
            (
                nh["gateway"].as_str().unwrap().to_string(),
                nh["weight"].as_u64().unwrap(),
            )
        })
        .collect();
    hops.sort();
    assert_eq!(
        hops,
        vec![("10.0.0.2".to_string(), 3), ("10.0.1.2".to_string(), 1)]
    );
    // The kernel's view agrees with the Rib's FIB, entry for entry.
    let ours = h.routes(&RouteFilter::table(T)).unwrap();
    assert_eq!(ours.len(), rib.fib().len());
}

#[test]
fn tos_ipv6_source_expiry_and_preference_read_back() {
    use netplumb::route::RoutePreference;
    use std::time::Duration;
    require_root!();
    let t = setup();
    let h = &t.handle;
    let tos = NewRoute {
        tos: 0x10,
        ..NewRoute::via(net("10.55.0.0/16"), ip("10.0.0.2")).unwrap()
    };
    h.add_route(&tos).unwrap();
    let r = find(&ours(&t, TableId::MAIN, IpFamily::V4), "10.55.0.0/16").clone();
    assert_eq!(r.tos, 0x10);
    let j = ip_routes(&t, "-4", "main");
    assert_eq!(ip_route(&j, "10.55.0.0/16", "unicast")["tos"], "0x10");
    // The same prefix with another TOS is another route.
    h.add_route(&NewRoute::via(net("10.55.0.0/16"), ip("10.0.0.3")).unwrap())
        .unwrap();
    let n = ours(&t, TableId::MAIN, IpFamily::V4)
        .iter()
        .filter(|r| r.destination == net("10.55.0.0/16"))
        .count();
    assert_eq!(n, 2);

    let v6 = NewRoute {
        expires: Some(Duration::from_secs(300)),
        preference: Some(RoutePreference::High),
        ..NewRoute::dev(net("fd05::/64"), "r0").unwrap()
    };
    h.add_route(&v6).unwrap();
    let r = find(&ours(&t, TableId::MAIN, IpFamily::V6), "fd05::/64").clone();
    assert_eq!(r.preference, Some(RoutePreference::High));
    let left = r.expires.expect("an expiring route reports its time left");
    assert!(
        left > Duration::from_secs(250) && left <= Duration::from_secs(300),
        "{left:?}"
    );
    let j = ip_routes(&t, "-6", "main");
    let jr = ip_route(&j, "fd05::/64", "unicast");
    assert_eq!(jr["pref"], "high");
    assert!(jr["expires"].as_u64().unwrap() > 250, "{jr}");

    let from = NewRoute {
        source: Some(net("fd04::/64")),
        ..NewRoute::dev(net("fd03::/64"), "r0").unwrap()
    };
    match h.add_route(&from) {
        Err(e) if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP) => {
            common::report_skip(
                "tos_ipv6_source_expiry_and_preference_read_back (from)",
                "the kernel has no IPv6 subtrees (CONFIG_IPV6_SUBTREES)",
            );
        }
        other => {
            other.unwrap();
            let r = find(&ours(&t, TableId::MAIN, IpFamily::V6), "fd03::/64").clone();
            assert_eq!(r.source, Some(net("fd04::/64")));
            let j = ip_routes(&t, "-6", "main");
            assert_eq!(ip_route(&j, "fd03::/64", "unicast")["from"], "fd04::/64");
        }
    }

    // Refused before sending: IPv6 TOS, IPv4 expiry or preference, an IPv4 source prefix,
    // an expiry of 0.
    // The routes by destination and source (an expiring route's `expires` counts down).
    let listed = |f: &str| -> Vec<(String, String)> {
        ip_routes(&t, f, "main")
            .iter()
            .map(|r| (r["dst"].to_string(), r["from"].to_string()))
            .collect()
    };
    let before = (listed("-4"), listed("-6"));
    let bad = [
        (
            NewRoute {
                tos: 4,
                ..NewRoute::dev(net("fd06::/64"), "r0").unwrap()
            },
            "tos",
        ),
        (
            NewRoute {
                expires: Some(Duration::from_secs(5)),
                ..NewRoute::dev(net("10.66.0.0/16"), "r0").unwrap()
            },
            "expires",
        ),
        (
            NewRoute {
                preference: Some(RoutePreference::Low),
                ..NewRoute::dev(net("10.66.0.0/16"), "r0").unwrap()
            },
            "preference",
        ),
        (
            NewRoute {
                source: Some(net("10.1.0.0/16")),
                ..NewRoute::dev(net("10.66.0.0/16"), "r0").unwrap()
            },
            "source",
        ),
        (
            NewRoute {
                expires: Some(Duration::ZERO),
                ..NewRoute::dev(net("fd06::/64"), "r0").unwrap()
            },
            "expires",
        ),
    ];
    for (r, arg) in bad {
        common::assert_invalid(h.add_route(&r), arg);
    }
    assert_eq!((listed("-4"), listed("-6")), before);
}

#[test]
fn prepend_change_single_multipath_and_masked_prefixes() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    // prepend: a second route to the prefix, put first.
    h.add_route(&NewRoute::via(net("10.60.0.0/16"), ip("10.0.0.2")).unwrap())
        .unwrap();
    h.prepend_route(&NewRoute::via(net("10.60.0.0/16"), ip("10.0.0.3")).unwrap())
        .unwrap();
    let j = t.ip(&["-j", "route", "show", "10.60.0.0/16"]);
    let gws: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["gateway"].as_str().unwrap())
        .collect();
    assert_eq!(gws, ["10.0.0.3", "10.0.0.2"]);
    let ours_gws: Vec<_> = ours(&t, TableId::MAIN, IpFamily::V4)
        .iter()
        .filter(|r| r.destination == net("10.60.0.0/16"))
        .map(|r| r.gateway().unwrap())
        .collect();
    assert_eq!(ours_gws, [ip("10.0.0.3"), ip("10.0.0.2")]);

    // change: only an existing route.
    let e = h
        .change_route(&NewRoute::via(net("10.61.0.0/16"), ip("10.0.0.2")).unwrap())
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(t
        .ip(&["-j", "route", "show", "10.61.0.0/16"])
        .as_array()
        .unwrap()
        .is_empty());
    h.add_route(&NewRoute::via(net("10.61.0.0/16"), ip("10.0.0.2")).unwrap())
        .unwrap();
    h.change_route(&NewRoute::via(net("10.61.0.0/16"), ip("10.0.0.4")).unwrap())
        .unwrap();
    let j = t.ip(&["-j", "route", "show", "10.61.0.0/16"]);
    assert_eq!(j.as_array().unwrap().len(), 1);
    assert_eq!(j[0]["gateway"], "10.0.0.4");

    // One next hop sent as a multipath attribute (`nexthop via …`): the same route.
    let single = NewRoute {
        multipath: true,
        ..NewRoute::via(net("10.62.0.0/16"), ip("10.0.0.2")).unwrap()
    };
    h.add_route(&single).unwrap();
    let r = find(&ours(&t, TableId::MAIN, IpFamily::V4), "10.62.0.0/16").clone();
    assert_eq!(r.gateway(), Some(ip("10.0.0.2")));
    assert_eq!(r.next_hops.len(), 1);

    // Host bits: refused by `new`, cleared by `new_masked` (as the kernel does for IPv6).
    assert!(NewRoute::new(net("fd07::1/64")).is_err());
    let masked = NewRoute::new_masked(net("fd07::1/64")).unwrap();
    assert_eq!(masked.destination, net("fd07::/64"));
    let mut m = masked;
    m.next_hops = vec![NextHop::dev("r0")];
    h.add_route(&m).unwrap();
    find(&ours(&t, TableId::MAIN, IpFamily::V6), "fd07::/64");
}

#[test]
fn route_get_selects_by_tos_uid_protocol_and_ports_as_rules_do() {
    use netplumb::rule::{Rule, RuleAction, RulePortRange, RuleUidRange};
    require_root!();
    let t = setup();
    let h = &t.handle;
    let table = |n: u32, gw: &str| {
        let mut r = NewRoute::via(net("10.99.0.0/16"), ip(gw)).unwrap();
        r.table = TableId::new(n);
        h.add_route(&r).unwrap();
    };
    h.add_route(&NewRoute::via(net("10.99.0.0/16"), ip("10.0.0.2")).unwrap())
        .unwrap();
    table(200, "10.0.0.3");
    table(201, "10.0.0.4");
    table(202, "10.0.0.5");
    let rule = |prio: u32, t: u32, r: Rule| {
        h.add_rule(&Rule {
            priority: Some(prio),
            action: RuleAction::ToTable(TableId::new(t)),
            ..r
        })
        .unwrap();
    };
    rule(
        100,
        200,
        Rule {
            ipproto: Some(17),
            dport: Some(RulePortRange::port(53)),
            ..Rule::default()
        },
    );
    rule(
        101,
        201,
        Rule {
            uid_range: Some(RuleUidRange {
                start: 1000,
                end: 1000,
            }),
            ..Rule::default()
        },
    );
    rule(
        102,
        202,
        Rule {
            tos: 0x10,
            ..Rule::default()
        },
    );
    let get = |q: RouteQuery<'_>| h.route_get(&q).unwrap().gateway();
    let base = RouteQuery::new(ip("10.99.1.1"));
    assert_eq!(get(base), Some(ip("10.0.0.2")));
    let dns = RouteQuery {
        ipproto: Some(17),
        dport: Some(53),
        sport: Some(40000),
        ..base
    };
    assert_eq!(get(dns), Some(ip("10.0.0.3")));
    let j = t.ip(&[
        "-j",
        "route",
        "get",
        "10.99.1.1",
        "ipproto",
        "17", // by number: the guest has no /etc/protocols to name udp
        "dport",
        "53",
        "sport",
        "40000",
    ]);
    assert_eq!(j[0]["gateway"], "10.0.0.3");
    let uid = RouteQuery {
        uid: Some(1000),
        ..base
    };
    assert_eq!(get(uid), Some(ip("10.0.0.4")));
    let tos = RouteQuery { tos: 0x10, ..base };
    assert_eq!(get(tos), Some(ip("10.0.0.5")));
    let j = t.ip(&["-j", "route", "get", "10.99.1.1", "tos", "0x10"]);
    assert_eq!(j[0]["gateway"], "10.0.0.5");
    // A VRF and an output interface at once: refused before asking.
    let both = RouteQuery {
        oif: Some("r0".into()),
        vrf: Some("r1".into()),
        ..base
    };
    common::assert_invalid(h.route_get(&both), "vrf");
}

#[test]
fn a_multipath_route_is_deleted_by_naming_its_next_hops() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    let hops = [
        NextHop::gateway(ip("10.0.0.2")),
        NextHop::gateway(ip("10.0.1.2")),
    ];
    let ecmp = NewRoute {
        next_hops: hops.to_vec(),
        ..NewRoute::new(net("10.70.0.0/16")).unwrap()
    };
    h.add_route(&ecmp).unwrap();
    // Other next hops name another route: not found, nothing deleted.
    let wrong = [
        NextHop::gateway(ip("10.0.0.2")),
        NextHop::gateway(ip("10.0.1.3")),
    ];
    let e = h
        .delete_route(&RouteKey {
            next_hops: &wrong,
            ..RouteKey::new(net("10.70.0.0/16"))
        })
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(
        t.ip(&["-j", "route", "show", "10.70.0.0/16"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    h.delete_route(&RouteKey {
        next_hops: &hops,
        ..RouteKey::new(net("10.70.0.0/16"))
    })
    .unwrap();
    assert!(t
        .ip(&["-j", "route", "show", "10.70.0.0/16"])
        .as_array()
        .unwrap()
        .is_empty());
    // Next hops and a single gateway at once: refused before sending.
    common::assert_invalid(
        h.delete_route(&RouteKey {
            next_hops: &hops,
            gateway: Some(ip("10.0.0.2")),
            ..RouteKey::new(net("10.70.0.0/16"))
        }),
        "next_hops",
    );
}
