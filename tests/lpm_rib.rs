//! Rib: best-route selection, ECMP, fallback on withdraw, and exactly one `FibChange`
//! per change of best route.

use std::net::Ipv4Addr;

use netplumb::lpm::{Candidate, FibChange, FibNextHop, Prefix, Protocol, Rib, RibSource};

fn p(s: &str) -> Prefix<Ipv4Addr> {
    s.parse().unwrap()
}

fn gw(s: &str) -> FibNextHop {
    FibNextHop::via(s.parse().unwrap())
}

fn src(proto: Protocol, i: u32) -> RibSource {
    RibSource::new(proto, i)
}

#[test]
fn default_distances() {
    let d: Vec<u8> = [
        Protocol::Connected,
        Protocol::Static,
        Protocol::Ebgp,
        Protocol::Ospf,
        Protocol::Rip,
        Protocol::Ibgp,
    ]
    .map(Protocol::default_distance)
    .to_vec();
    assert_eq!(d, [0, 1, 20, 110, 120, 200]);
}

#[test]
fn distance_then_metric() {
    let mut rib = Rib::<Ipv4Addr>::new();
    let pfx = p("10.0.0.0/8");
    let ibgp = src(Protocol::Ibgp, 1);
    let ospf1 = src(Protocol::Ospf, 1);
    let ospf2 = src(Protocol::Ospf, 2);
    let c = rib.update(
        pfx,
        ibgp,
        Candidate::new(Protocol::Ibgp, 0, vec![gw("192.0.2.1")]),
    );
    assert_eq!(c.as_ref().unwrap().new.as_ref().unwrap().sources, [ibgp]);
    // OSPF (110) beats iBGP (200) despite a higher metric.
    let c = rib
        .update(
            pfx,
            ospf1,
            Candidate::new(Protocol::Ospf, 50, vec![gw("192.0.2.2")]),
        )
        .unwrap();
    assert_eq!(c.old.unwrap().sources, [ibgp]);
    assert_eq!(c.new.unwrap().sources, [ospf1]);
    // Same distance, lower metric wins.
    let c = rib
        .update(
            pfx,
            ospf2,
            Candidate::new(Protocol::Ospf, 20, vec![gw("192.0.2.3")]),
        )
        .unwrap();
    assert_eq!(c.new.as_ref().unwrap().sources, [ospf2]);
    assert_eq!(c.new.unwrap().next_hops, [gw("192.0.2.3")]);
    // A worse candidate changes nothing in the FIB: no FibChange.
    assert_eq!(
        rib.update(
            pfx,
            ospf1,
            Candidate::new(Protocol::Ospf, 60, vec![gw("192.0.2.2")])
        ),
        None
    );
    // Re-announcing the same route: no change.
    assert_eq!(
        rib.update(
            pfx,
            ospf2,
            Candidate::new(Protocol::Ospf, 20, vec![gw("192.0.2.3")])
        ),
        None
    );
    assert_eq!(rib.candidates(&pfx).len(), 3);
    // An explicit distance overrides the default.
    let mut r = Candidate::new(Protocol::Ibgp, 0, vec![gw("192.0.2.1")]);
    r.distance = 5;
    let c = rib.update(pfx, ibgp, r).unwrap();
    assert_eq!(c.new.unwrap().distance, 5);
}

#[test]
fn ecmp_forms_and_splits() {
    let mut rib = Rib::<Ipv4Addr>::new();
    let pfx = p("198.51.100.0/24");
    let (a, b) = (src(Protocol::Ebgp, 1), src(Protocol::Ebgp, 2));
    rib.update(
        pfx,
        a,
        Candidate::new(Protocol::Ebgp, 10, vec![gw("192.0.2.1")]),
    )
    .unwrap();
    // Equal distance and metric: ECMP set of both.
    let c = rib
        .update(
            pfx,
            b,
            Candidate::new(Protocol::Ebgp, 10, vec![gw("192.0.2.2")]),
        )
        .unwrap();
    let new = c.new.unwrap();
    assert_eq!(new.sources, [a, b]);
    assert_eq!(new.next_hops, [gw("192.0.2.1"), gw("192.0.2.2")]);
    assert_eq!(
        rib.lookup(Ipv4Addr::new(198, 51, 100, 7))
            .unwrap()
            .next_hops
            .len(),
        2
    );
    // b's metric rises: the set splits, a alone is best.
    let c = rib
        .update(
            pfx,
            b,
            Candidate::new(Protocol::Ebgp, 30, vec![gw("192.0.2.2")]),
        )
        .unwrap();
    assert_eq!(c.old.unwrap().sources, [a, b]);
    assert_eq!(c.new.unwrap().sources, [a]);
}

#[test]
fn withdraw_falls_back_then_deletes() {
    let mut rib = Rib::<Ipv4Addr>::new();
    let pfx = p("203.0.113.0/24");
    let st = src(Protocol::Static, 0);
    let rip = src(Protocol::Rip, 0);
    rib.update(
        pfx,
        rip,
        Candidate::new(Protocol::Rip, 3, vec![gw("192.0.2.9")]),
    )
    .unwrap();
    rib.update(
        pfx,
        st,
        Candidate::new(Protocol::Static, 0, vec![FibNextHop::dev(4)]),
    )
    .unwrap();
    // Withdrawing a non-best candidate that isn't there: nothing.
    assert_eq!(rib.withdraw(pfx, src(Protocol::Ospf, 1)), None);
    let c = rib.withdraw(pfx, st).unwrap();
    assert_eq!(c.new.unwrap().sources, [rip]);
    // RIP metric 16 = unreachable = withdraw; the prefix leaves the FIB.
    let c = rib
        .update(
            pfx,
            rip,
            Candidate::new(Protocol::Rip, 16, vec![gw("192.0.2.9")]),
        )
        .unwrap();
    assert_eq!(
        c,
        FibChange {
            prefix: pfx,
            old: c.old.clone(),
            new: None
        }
    );
    assert!(c.old.is_some());
    assert!(rib.is_empty());
    assert!(rib.fib().is_empty());
    assert_eq!(rib.lookup(Ipv4Addr::new(203, 0, 113, 1)), None);
}

#[test]
fn exactly_one_change_per_best_change() {
    // Random operations; the FibChanges, applied to a mirror, must reproduce the FIB,
    // and each must be a real change.
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut rib = Rib::<Ipv4Addr>::new();
    let mut mirror = std::collections::BTreeMap::new();
    let prefixes = [
        p("10.0.0.0/8"),
        p("10.1.0.0/16"),
        p("0.0.0.0/0"),
        p("10.1.2.3/32"),
    ];
    let protos = [
        Protocol::Static,
        Protocol::Ebgp,
        Protocol::Ospf,
        Protocol::Rip,
    ];
    for _ in 0..5000 {
        let pfx = prefixes[rng.gen_range(0..prefixes.len())];
        let proto = protos[rng.gen_range(0..protos.len())];
        let s = src(proto, rng.gen_range(0..2));
        let before = rib.fib().get(&pfx).cloned();
        let change = if rng.gen_bool(0.3) {
            rib.withdraw(pfx, s)
        } else {
            let hop = gw(["192.0.2.1", "192.0.2.2"][rng.gen_range(0..2)]);
            rib.update(
                pfx,
                s,
                Candidate::new(proto, rng.gen_range(0..18), vec![hop]),
            )
        };
        let after = rib.fib().get(&pfx).cloned();
        match change {
            Some(c) => {
                assert_ne!(c.old, c.new);
                assert_eq!(c.old, before);
                assert_eq!(c.new, after);
                match c.new {
                    Some(n) => mirror.insert(c.prefix, n),
                    None => mirror.remove(&c.prefix),
                };
            }
            None => assert_eq!(before, after),
        }
    }
    let fib: Vec<_> = rib.fib().iter().map(|(p, r)| (p, r.clone())).collect();
    let mir: Vec<_> = mirror.into_iter().collect();
    assert_eq!(fib, mir);
}
