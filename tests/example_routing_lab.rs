//! The routing lab example (BIRD running RIP or OSPF on router namespaces), run as root tests:
//! convergence and reconvergence after a link goes down, the kernels' tables checked against
//! iproute2's view (`--keep`), and nothing left behind (namespaces, BIRD processes, files).

mod common;

#[allow(dead_code)]
#[path = "../examples/routing_lab.rs"]
mod routing_lab;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::{assert_lab_gone, unique_name, OnDrop};
use netplumb::NetNs;
use routing_lab::{Down, Net, Options, Protocol, Topology, KERNEL_METRIC};

/// Skips (saying why) when BIRD 2 is not installed.
macro_rules! require_bird {
    () => {
        if let Err(reason) = netplumb_lab::bird::bird_version() {
            common::report_skip(&common::test_name(), &reason.to_string());
            return;
        }
    };
}

#[test]
fn rip_on_a_line_withdraws_the_prefixes_beyond_a_cut() {
    require_root!();
    require_bird!();
    let prefix = unique_name("np-t-rip");
    let s = routing_lab::run(&Options {
        protocol: Protocol::Rip,
        topology: Topology::Line,
        routers: 4,
        down: Down::Link(2, 3),
        prefix: prefix.clone(),
        keep: false,
    })
    .unwrap();
    println!("{s}");
    // 4 stubs + 3 links; each router learns all but its own stub and its links:
    // r1 and r4 (1 link) 7 - 2, r2 and r3 (2 links) 7 - 3.
    assert_eq!(s.converge.routes, 5 + 4 + 4 + 5);
    assert_eq!(s.converge.metrics, s.converge.routes);
    let d = s.down.as_ref().unwrap();
    assert_eq!(d.link, (2, 3));
    // After the cut: r1-r2 | r3-r4, each router learns only its neighbour's stub (r1, r4) or
    // its neighbour's stub and the far link (… r2 learns r1's stub).
    assert_eq!(d.phase.routes, 1 + 1 + 1 + 1);
    assert_eq!(d.withdrawn, s.converge.routes - d.phase.routes);
    assert_eq!(d.rerouted, 0);
    // r1 and r4 are no end of the cut: their 4 + 4 lost routes (two stubs and two links
    // beyond it) can only have gone by RIP's poison, and did before the 30 s timeout (the
    // wait is capped below it, so `run` fails otherwise).
    assert_eq!(d.withdrawn_away, 8);
    assert_eq!(s.echoes, (2, 2));
    assert_lab_gone(&prefix);
}

#[test]
fn ospf_on_an_even_ring_uses_both_ways_and_reroutes() {
    require_root!();
    require_bird!();
    let prefix = unique_name("np-t-ospf");
    let s = routing_lab::run(&Options {
        protocol: Protocol::Ospf,
        topology: Topology::Ring,
        routers: 4,
        down: Down::Middle,
        prefix: prefix.clone(),
        keep: false,
    })
    .unwrap();
    println!("{s}");
    // 4 stubs + 4 links, each router attached to its stub and 2 links: 5 routes each.
    assert_eq!(s.converge.routes, 4 * 5);
    // The stub opposite each router is 2 hops away both ways.
    assert_eq!(s.converge.multipath, 4);
    for (i, routes) in s.converge.expected.iter().enumerate() {
        let opposite = Net::stub((i + 2) % 4);
        let e = routes.iter().find(|e| e.destination == opposite).unwrap();
        assert_eq!(
            (e.hops, e.metric, e.gateways.len()),
            (2, 30, 2),
            "r{}",
            i + 1
        );
    }
    let d = s.down.as_ref().unwrap();
    assert_eq!(d.link, (2, 3));
    // No multipath left; r2 reaches r3's stub the long way: 3 hops, cost 40.
    assert_eq!(d.phase.multipath, 0);
    let r2 = &d.phase.expected[1];
    let e = r2.iter().find(|e| e.destination == Net::stub(2)).unwrap();
    assert_eq!((e.hops, e.metric), (3, 40));
    assert_eq!(
        e.gateways,
        BTreeSet::from([Net::link_addr(0, 0)]),
        "via r1 (10.0.1.1)"
    );
    assert!(d.rerouted > 0);
    assert_eq!(s.echoes, (2, 2));
    assert_lab_gone(&prefix);
}

#[test]
fn kept_rip_ring_matches_iproute2_then_sweeps_clean() {
    require_root!();
    require_bird!();
    let prefix = unique_name("np-t-ripk");
    let p = prefix.clone();
    let sweep = OnDrop(move || {
        let _ = netplumb_lab::sweep(&p);
    });
    let s = routing_lab::run(&Options {
        protocol: Protocol::Rip,
        topology: Topology::Ring,
        routers: 3,
        down: Down::Nothing,
        prefix: prefix.clone(),
        keep: true,
    })
    .unwrap();
    println!("{s}");
    assert!(s.down.is_none());
    // A triangle: every router is a neighbour, so it learns the 2 other stubs and the link
    // between the two others, each 1 hop away (RIP metric 2), the link both ways.
    assert_eq!(s.converge.routes, 3 * 3);
    assert_eq!(s.converge.multipath, 3);
    // The BIRDs are kept running, in the lab's work directory.
    let dir = format!("{}/", netplumb_lab::workdir_path(&prefix).display());
    let birds = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(&dir))
        .count();
    assert_eq!(birds, 3);

    for (i, want) in s.converge.expected.iter().enumerate() {
        let ns = NetNs::open(&format!("{prefix}-r{}", i + 1)).unwrap();
        let routes = common::run_json(&ns, "ip", &["-j", "route", "show", "proto", "bird"]);
        // (destination, metric, gateways): one `gateway`, or a `nexthops` list for ECMP.
        let got: Vec<(String, u64, BTreeSet<Ipv4Addr>)> = routes
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let gateways = match r["nexthops"].as_array() {
                    Some(hops) => hops.iter().map(|h| &h["gateway"]).collect(),
                    None => vec![&r["gateway"]],
                };
                (
                    r["dst"].as_str().unwrap().to_string(),
                    r["metric"].as_u64().unwrap(),
                    gateways
                        .into_iter()
                        .map(|g| g.as_str().unwrap().parse().unwrap())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(got.len(), want.len(), "r{}: {got:?}", i + 1);
        for e in want {
            // One hop away: RIP metric 2; the kernel's metric is BIRD's fixed one.
            assert_eq!((e.hops, e.metric), (1, 2));
            let dst = e.destination.to_string();
            let (_, metric, gateways) = got
                .iter()
                .find(|g| g.0 == dst)
                .unwrap_or_else(|| panic!("r{}: no {dst} in {got:?}", i + 1));
            assert_eq!(*metric, u64::from(KERNEL_METRIC));
            // A stub through its owner, the link between the two others through both of
            // them (RIP's ECMP).
            let want_gws = if dst.starts_with("10.1.") { 1 } else { 2 };
            assert_eq!(e.gateways.len(), want_gws, "r{}: {dst}", i + 1);
            assert_eq!(gateways, &e.gateways, "r{}: {dst}", i + 1);
        }
    }

    drop(sweep);
    assert_lab_gone(&prefix);
}

#[test]
fn bad_options_are_refused() {
    let run = |o: Options| routing_lab::run(&o).unwrap_err().to_string();
    let base = Options {
        prefix: unique_name("np-t-ripx"),
        ..Options::default()
    };
    assert!(run(Options {
        topology: Topology::Ring,
        routers: 2,
        ..base.clone()
    })
    .contains("between 3 and 20"));
    assert!(run(Options {
        routers: 21,
        ..base.clone()
    })
    .contains("between 2 and 20"));
    assert!(run(Options {
        down: Down::Link(1, 3),
        ..base.clone()
    })
    .contains("not neighbours"));
    assert!("2-x".parse::<Down>().is_err());
    assert_eq!("r2-r3".parse::<Down>(), Ok(Down::Link(2, 3)));
    assert!("bgp".parse::<Protocol>().is_err());
}
