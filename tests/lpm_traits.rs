//! The collection traits of the lpm tables: owned and borrowed `IntoIterator`,
//! `FromIterator`, `Extend`, checked against each other and against the tables' own methods.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netplumb::lpm::{
    Candidate, Fib, FibNextHop, IpPrefixMap, Prefix, PrefixMap, Protocol, Rib, RibSource,
};

fn v4_items(n: u32) -> Vec<(Prefix<Ipv4Addr>, u32)> {
    (0..n)
        .map(|i| {
            let a = Ipv4Addr::from(i.wrapping_mul(2_654_435_761));
            (Prefix::truncate(a, (i % 33) as u8).unwrap(), i)
        })
        .collect()
}

/// The oracle: last value per prefix, in prefix order.
fn sorted(items: &[(Prefix<Ipv4Addr>, u32)]) -> Vec<(Prefix<Ipv4Addr>, u32)> {
    items
        .iter()
        .copied()
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

#[test]
fn prefix_map_owned_and_borrowed_iteration_agree() {
    let items = v4_items(3000);
    let want = sorted(&items);
    let m: PrefixMap<Ipv4Addr, String> = items.iter().map(|(p, v)| (*p, v.to_string())).collect();
    let borrowed: Vec<(Prefix<Ipv4Addr>, u32)> = (&m)
        .into_iter()
        .map(|(p, v)| (p, v.parse().unwrap()))
        .collect();
    assert_eq!(borrowed, want);
    let mut n = 0;
    for (p, v) in &m {
        assert_eq!(m.get(&p), Some(v));
        n += 1;
    }
    assert_eq!(n, m.len());
    let it = m.clone().into_iter();
    assert_eq!(it.len(), want.len());
    let owned: Vec<(Prefix<Ipv4Addr>, u32)> = it.map(|(p, v)| (p, v.parse().unwrap())).collect();
    assert_eq!(owned, want);
    // From the back too.
    let last = m.into_iter().next_back().map(|(p, _)| p);
    assert_eq!(last, want.last().map(|(p, _)| *p));
}

#[test]
fn prefix_map_extend_from_owned_and_borrowed_values() {
    let items = v4_items(2000);
    let (a, b) = items.split_at(700);
    let mut m: PrefixMap<Ipv4Addr, u32> = a.iter().copied().collect();
    // Borrowed `Copy` values, into a map that is not empty (one insert each).
    m.extend(b.iter().map(|(p, v)| (*p, v)));
    let want = sorted(&items);
    assert!(m.iter().map(|(p, v)| (p, *v)).eq(want.iter().copied()));
    // A map rebuilt from its own entries is equal to it.
    let again: PrefixMap<Ipv4Addr, u32> = m.clone().into_iter().collect();
    assert_eq!(again, m);
    for i in 0..10_000u32 {
        let a = Ipv4Addr::from(i.wrapping_mul(0x9e37_79b9));
        assert_eq!(again.lookup(a), m.lookup(a));
    }
}

#[test]
fn fib_iterates_owned_and_borrowed() {
    let items = v4_items(3000);
    let want = sorted(&items);
    let fib = Fib::try_from_iter(items).unwrap();
    let borrowed: Vec<_> = (&fib).into_iter().collect();
    assert_eq!(borrowed, want);
    let mut n = 0;
    for (p, id) in &fib {
        assert_eq!(fib.get(&p), Some(id));
        n += 1;
    }
    assert_eq!(n, fib.len());
    let it = fib.clone().into_iter();
    assert_eq!(it.len(), want.len());
    assert_eq!(it.collect::<Vec<_>>(), want);
    // Round trip through the fallible builder.
    let again = Fib::try_from_iter(fib.clone()).unwrap();
    assert!(again.iter().eq(fib.iter()));
}

#[test]
fn dual_map_iterates_ipv4_first_in_prefix_order() {
    let mut m = IpPrefixMap::new();
    let nets = [
        "2001:db8::/32",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "::/0",
        "10.1.0.0/16",
    ];
    for (i, n) in nets.iter().enumerate() {
        m.insert(n.parse().unwrap(), i).unwrap();
    }
    let order = [
        "0.0.0.0/0",
        "10.0.0.0/8",
        "10.1.0.0/16",
        "::/0",
        "2001:db8::/32",
    ];
    let borrowed: Vec<String> = (&m).into_iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(borrowed, order);
    assert_eq!((&m).into_iter().len(), 5);
    let owned: Vec<(IpNetwork, usize)> = m.clone().into_iter().collect();
    assert_eq!(
        owned.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>(),
        order
    );
    for (n, v) in &owned {
        assert_eq!(m.get(n), Some(v));
    }
    let (v4, v6) = m.into_families();
    assert_eq!((v4.len(), v6.len()), (3, 2));
    // Back from validated prefixes of either family.
    let mut d: IpPrefixMap<usize> = v4.into_iter().collect();
    d.extend(v6);
    assert_eq!(d.len(), 5);
    assert_eq!(d.lookup("2001:db8::1".parse().unwrap()), Some(&0));
    let v6p: Prefix<Ipv6Addr> = "::/0".parse().unwrap();
    d.extend([(v6p, 9)]);
    assert_eq!(d.lookup("2002::1".parse().unwrap()), Some(&9));
}

#[test]
fn rib_collects_extends_and_iterates() {
    let gw = |i: u8| FibNextHop::via(IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)));
    let mut triples = Vec::new();
    for i in 0..200u32 {
        let p = Prefix::truncate(Ipv4Addr::from(i << 12), 20).unwrap();
        for inst in 0..(1 + i % 3) {
            let proto = if inst == 0 {
                Protocol::Ospf
            } else {
                Protocol::Static
            };
            let c = Candidate::new(proto, i, vec![gw(inst as u8 + 1)]);
            triples.push((p, RibSource::new(proto, inst), c));
        }
    }
    let rib: Rib<Ipv4Addr> = triples.iter().cloned().collect();
    assert_eq!(rib.len(), 200);
    assert_eq!(rib.iter().len(), triples.len());
    // The same as updating one by one.
    let mut by_hand = Rib::new();
    for (p, s, c) in triples.iter().cloned() {
        by_hand.update(p, s, c);
    }
    assert_eq!(rib.fib(), by_hand.fib());
    // Borrowed iteration: prefix order, then source order, every candidate.
    let mut want = triples.clone();
    want.sort_by_key(|a| (a.0, a.1));
    let got: Vec<_> = (&rib)
        .into_iter()
        .map(|(p, s, c)| (p, s, c.clone()))
        .collect();
    assert_eq!(got, want);
    // Owned, and back.
    let owned: Vec<_> = rib.clone().into_iter().collect();
    assert_eq!(owned, want);
    let again: Rib<Ipv4Addr> = owned.into_iter().collect();
    assert_eq!(again.fib(), rib.fib());
    // Extend replaces a source's candidate: the static /20s get a new metric.
    let mut r2 = rib.clone();
    let p0 = Prefix::truncate(Ipv4Addr::from(1u32 << 12), 20).unwrap();
    let s1 = RibSource::new(Protocol::Static, 1);
    r2.extend([(p0, s1, Candidate::new(Protocol::Static, 77, vec![gw(9)]))]);
    assert_eq!(r2.iter().len(), rib.iter().len());
    assert_eq!(
        r2.lookup(Ipv4Addr::from((1u32 << 12) + 5)).unwrap().metric,
        77
    );
}
