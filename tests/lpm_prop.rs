//! Property tests: `PrefixMap`, `Fib` and `SharedFib` against a linear-scan oracle, for both
//! families; and a stress run of `SharedFib` readers against every state its writer published.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use netplumb::lpm::{Fib, FibOp, FibView, IpKey, Prefix, PrefixMap, SharedFib};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op<K> {
    Insert(K, u8, u32),
    Remove(K, u8),
}

/// The 10-line oracle: longest covering prefix by linear scan.
fn oracle<A: IpKey>(m: &BTreeMap<Prefix<A>, u32>, a: A) -> Option<(Prefix<A>, u32)> {
    m.iter()
        .filter(|(p, _)| p.contains(a))
        .max_by_key(|(p, _)| p.len())
        .map(|(p, v)| (*p, *v))
}

fn check<A: IpKey>(map: &PrefixMap<A, u32>, model: &BTreeMap<Prefix<A>, u32>, addrs: &[A]) {
    assert_eq!(map.len(), model.len());
    for &a in addrs {
        let want = oracle(model, a);
        let got = map.longest_match(a).map(|(p, v)| (p, *v));
        assert_eq!(got, want, "longest_match({a})");
        assert_eq!(map.lookup(a).copied(), want.map(|w| w.1), "lookup({a})");
        let all: Vec<_> = map.matches(a).map(|(p, v)| (p, *v)).collect();
        let mut want_all: Vec<_> = model
            .iter()
            .filter(|(p, _)| p.contains(a))
            .map(|(p, v)| (*p, *v))
            .collect();
        want_all.sort_by_key(|(p, _)| p.len());
        assert_eq!(all, want_all, "matches({a})");
    }
    let mut out = vec![None; addrs.len()];
    map.lookup_batch(addrs, &mut out);
    for (a, o) in addrs.iter().zip(&out) {
        assert_eq!(o.copied(), map.lookup(*a).copied(), "lookup_batch({a})");
    }
    let it: Vec<_> = map.iter().map(|(p, v)| (p, *v)).collect();
    let want: Vec<_> = model.iter().map(|(p, v)| (*p, *v)).collect();
    assert_eq!(it, want, "iter");
    for (p, v) in model {
        assert_eq!(map.get(p), Some(v));
    }
}

/// Keys clustered in a few regions so prefixes nest and collide often.
fn v4_key() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![
        any::<u32>(),
        (0u32..4, any::<u32>()).prop_map(|(hi, lo)| (hi << 30) | 0x0a00_0000 | (lo & 0x00ff_ffff)),
        (0u32..16).prop_map(|x| 0x0a01_0000 | (x << 4)),
        Just(0u32),
        Just(u32::MAX),
    ]
}

fn v6_key() -> impl Strategy<Value = u128> + Clone {
    prop_oneof![
        any::<u128>(),
        (any::<u64>(), any::<u8>())
            .prop_map(|(lo, b)| (0x2001_0db8u128 << 96) | ((b as u128) << 64) | lo as u128),
        Just(0u128),
        Just(u128::MAX),
    ]
}

fn ops<K: std::fmt::Debug + Clone + 'static>(
    key: impl Strategy<Value = K> + Clone + 'static,
    max_len: u8,
) -> impl Strategy<Value = Vec<Op<K>>> {
    let len = prop_oneof![0..=max_len, (max_len - 8)..=max_len, 16u8..=24];
    let op = prop_oneof![
        3 => (key.clone(), len.clone(), any::<u32>()).prop_map(|(k, l, v)| Op::Insert(k, l, v)),
        1 => (key, len).prop_map(|(k, l)| Op::Remove(k, l)),
    ];
    prop::collection::vec(op, 1..120)
}

fn edges_v4(model: &BTreeMap<Prefix<Ipv4Addr>, u32>, extra: &[u32]) -> Vec<Ipv4Addr> {
    let mut v: Vec<u32> = vec![
        0,
        u32::MAX,
        0x0a00_0000,
        0x0a01_0000,
        0x7fff_ffff,
        0x8000_0000,
    ];
    for p in model.keys() {
        let k = p.addr().to_bits();
        let last = k | u32::MAX.checked_shr(p.len() as u32).unwrap_or(0);
        v.extend([k, last, k.wrapping_sub(1), last.wrapping_add(1)]);
    }
    v.extend(extra);
    v.into_iter().map(Ipv4Addr::from_bits).collect()
}

fn edges_v6(model: &BTreeMap<Prefix<Ipv6Addr>, u32>, extra: &[u128]) -> Vec<Ipv6Addr> {
    let mut v: Vec<u128> = vec![0, u128::MAX, 0x2001_0db8u128 << 96];
    for p in model.keys() {
        let k = p.addr().to_bits();
        let last = k | u128::MAX.checked_shr(p.len() as u32).unwrap_or(0);
        v.extend([k, last, k.wrapping_sub(1), last.wrapping_add(1)]);
    }
    v.extend(extra);
    v.into_iter().map(Ipv6Addr::from_bits).collect()
}

fn run<A: HasKey2>(
    ops: &[Op<A::Key2>],
    to_prefix: impl Fn(&A::Key2, u8) -> Prefix<A>,
    edges: impl Fn(&BTreeMap<Prefix<A>, u32>) -> Vec<A>,
) {
    let mut map = PrefixMap::<A, u32>::new();
    let mut model = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Insert(k, l, v) => {
                let p = to_prefix(k, *l);
                assert_eq!(map.insert(p, *v), model.insert(p, *v), "insert {p}");
            }
            Op::Remove(k, l) => {
                let p = to_prefix(k, *l);
                assert_eq!(map.remove(&p), model.remove(&p), "remove {p}");
            }
        }
        if i % 16 == 0 {
            check(&map, &model, &edges(&model));
        }
    }
    check(&map, &model, &edges(&model));
    // Bulk build agrees with incremental build.
    let bulk: PrefixMap<A, u32> = model.iter().map(|(p, v)| (*p, *v)).collect();
    check(&bulk, &model, &edges(&model));
    assert!(bulk == map);
    // Remove everything: back to empty.
    for p in model.keys() {
        assert!(map.remove(p).is_some());
    }
    assert!(map.is_empty());
    assert_eq!(map.longest_match(edges(&model)[0]), None);
}

fn check_fib<A: IpKey>(fib: &Fib<A>, model: &BTreeMap<Prefix<A>, u32>, addrs: &[A]) {
    assert_eq!(fib.len(), model.len());
    for &a in addrs {
        let want = oracle(model, a);
        assert_eq!(fib.longest_match(a), want, "longest_match({a})");
        assert_eq!(fib.lookup(a), want.map(|w| w.1), "lookup({a})");
    }
    let mut out = vec![None; addrs.len()];
    fib.lookup_batch(addrs, &mut out);
    for (a, o) in addrs.iter().zip(&out) {
        assert_eq!(*o, fib.lookup(*a), "lookup_batch({a})");
    }
    let it: Vec<_> = fib.iter().collect();
    let want: Vec<_> = model.iter().map(|(p, v)| (*p, *v)).collect();
    assert_eq!(it, want, "iter");
    for (p, v) in model {
        assert_eq!(fib.get(p), Some(*v));
    }
}

/// As [`check_fib`] for a published state of a [`SharedFib`] (no iteration there): every
/// lookup, longest match and batch against the oracle.
fn check_view<A: IpKey>(view: &FibView<'_, A>, model: &BTreeMap<Prefix<A>, u32>, addrs: &[A]) {
    for &a in addrs {
        let want = oracle(model, a);
        assert_eq!(view.longest_match(a), want, "longest_match({a})");
        assert_eq!(view.lookup(a), want.map(|w| w.1), "lookup({a})");
    }
    let mut out = vec![None; addrs.len()];
    view.lookup_batch(addrs, &mut out);
    for (a, o) in addrs.iter().zip(&out) {
        assert_eq!(*o, oracle(model, *a).map(|w| w.1), "lookup_batch({a})");
    }
}

/// As [`run`], for a [`Fib`] with ids below 4, so that neighbouring prefixes often share a
/// length and an id (their leaves merge) and a replacement often changes the id.
fn run_fib<A: HasKey2>(
    ops: &[Op<A::Key2>],
    to_prefix: impl Fn(&A::Key2, u8) -> Prefix<A>,
    edges: impl Fn(&BTreeMap<Prefix<A>, u32>) -> Vec<A>,
) {
    let mut fib = Fib::<A>::new();
    let mut model = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Insert(k, l, v) => {
                let p = to_prefix(k, *l);
                let v = v % 4;
                assert_eq!(fib.insert(p, v).unwrap(), model.insert(p, v), "insert {p}");
            }
            Op::Remove(k, l) => {
                let p = to_prefix(k, *l);
                assert_eq!(fib.remove(&p), model.remove(&p), "remove {p}");
            }
        }
        if i % 16 == 0 {
            check_fib(&fib, &model, &edges(&model));
        }
    }
    check_fib(&fib, &model, &edges(&model));
    let bulk = Fib::<A>::try_from_iter(model.iter().map(|(p, v)| (*p, *v))).unwrap();
    check_fib(&bulk, &model, &edges(&model));
    check_fib(&fib.clone(), &model, &edges(&model));
    // Replace every id, then remove everything: back to empty.
    let mut model2 = model.clone();
    for (p, v) in model2.iter_mut() {
        *v = (*v + 1) % 4;
        assert_eq!(fib.insert(*p, *v).unwrap(), model.get(p).copied());
    }
    check_fib(&fib, &model2, &edges(&model2));
    for p in model.keys() {
        assert!(fib.remove(p).is_some());
    }
    assert!(fib.is_empty());
    assert_eq!(fib.lookup(edges(&model)[0]), None);
}

/// Maps a family to the integer type the strategies generate.
trait HasKey2: IpKey {
    type Key2: std::fmt::Debug + Clone + 'static;
}
impl HasKey2 for Ipv4Addr {
    type Key2 = u32;
}
impl HasKey2 for Ipv6Addr {
    type Key2 = u128;
}

/// A [`SharedFib`] driven by `ops`, publishing where `publish[i]` says: the writer's view
/// follows every change, a reader's only the published ones, and `apply` publishes at once.
fn run_shared<A: HasKey2>(
    ops: &[Op<A::Key2>],
    publish: &[bool],
    to_prefix: impl Fn(&A::Key2, u8) -> Prefix<A>,
    edges: impl Fn(&BTreeMap<Prefix<A>, u32>) -> Vec<A>,
) {
    let mut w = SharedFib::<A>::new();
    let mut r = w.reader();
    let (mut model, mut published) = (BTreeMap::new(), BTreeMap::new());
    let check_reader = |r: &mut netplumb::lpm::FibReader<A>, m: &BTreeMap<Prefix<A>, u32>| {
        let g = r.read();
        check_view(&g, m, &edges(m));
    };
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Insert(k, l, v) => {
                let p = to_prefix(k, *l);
                let v = v % 4;
                assert_eq!(w.insert(p, v).unwrap(), model.insert(p, v), "insert {p}");
            }
            Op::Remove(k, l) => {
                let p = to_prefix(k, *l);
                assert_eq!(w.remove(&p), model.remove(&p), "remove {p}");
            }
        }
        if publish[i % publish.len()] {
            assert!(w.publish(), "no reader is in a lookup");
            published = model.clone();
            check_reader(&mut r, &published);
        } else if i % 32 == 0 {
            check_fib(w.fib(), &model, &edges(&model));
            check_reader(&mut r, &published);
            check_view(&w.published(), &published, &edges(&published));
        }
    }
    // A batch: remove everything, published at once.
    let batch: Vec<_> = model.keys().map(|p| FibOp::Remove(*p)).collect();
    assert!(w.apply(batch).unwrap());
    check_reader(&mut r, &BTreeMap::new());
    assert!(w.fib().is_empty());
}

proptest! {
    // Each case checks the whole table at many points: fewer cases keep the suite fast.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn shared_v4_matches_oracle(ops in ops(v4_key(), 32), publish in prop::collection::vec(any::<bool>(), 1..8)) {
        run_shared::<Ipv4Addr>(
            &ops,
            &publish,
            |k, l| Prefix::truncate(Ipv4Addr::from_bits(*k), l).unwrap(),
            |m| edges_v4(m, &[]),
        );
    }

    #[test]
    fn shared_v6_matches_oracle(ops in ops(v6_key(), 128), publish in prop::collection::vec(any::<bool>(), 1..8)) {
        run_shared::<Ipv6Addr>(
            &ops,
            &publish,
            |k, l| Prefix::truncate(Ipv6Addr::from_bits(*k), l).unwrap(),
            |m| edges_v6(m, &[]),
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn v4_matches_oracle(ops in ops(v4_key(), 32), extra in prop::collection::vec(any::<u32>(), 32)) {
        run::<Ipv4Addr>(
            &ops,
            |k, l| Prefix::truncate(Ipv4Addr::from_bits(*k), l).unwrap(),
            |m| edges_v4(m, &extra),
        );
    }

    #[test]
    fn v6_matches_oracle(ops in ops(v6_key(), 128), extra in prop::collection::vec(any::<u128>(), 32)) {
        run::<Ipv6Addr>(
            &ops,
            |k, l| Prefix::truncate(Ipv6Addr::from_bits(*k), l).unwrap(),
            |m| edges_v6(m, &extra),
        );
    }

    #[test]
    fn fib_v4_matches_oracle(ops in ops(v4_key(), 32), extra in prop::collection::vec(any::<u32>(), 32)) {
        run_fib::<Ipv4Addr>(
            &ops,
            |k, l| Prefix::truncate(Ipv4Addr::from_bits(*k), l).unwrap(),
            |m| edges_v4(m, &extra),
        );
    }

    #[test]
    fn fib_v6_matches_oracle(ops in ops(v6_key(), 128), extra in prop::collection::vec(any::<u128>(), 32)) {
        run_fib::<Ipv6Addr>(
            &ops,
            |k, l| Prefix::truncate(Ipv6Addr::from_bits(*k), l).unwrap(),
            |m| edges_v6(m, &extra),
        );
    }
}

/// A `Fib`: replacing an id repaints exactly the prefix's own positions, and a removal hands
/// them to the covering parent (or to nothing), at every depth of the trie.
#[test]
fn fib_replace_and_remove_with_covering_parent() {
    let p = |s: &str| s.parse::<Prefix<Ipv4Addr>>().unwrap();
    let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let mut fib = Fib::<Ipv4Addr>::new();
    let mut model = BTreeMap::new();
    for (s, id) in [
        ("10.0.0.0/8", 1),
        ("10.1.0.0/16", 2),
        ("10.1.2.0/24", 3),
        ("10.1.2.128/25", 3),
        ("10.1.2.129/32", 4),
        ("10.1.3.0/24", 3),
        ("0.0.0.0/0", 0),
    ] {
        fib.insert(p(s), id).unwrap();
        model.insert(p(s), id);
    }
    let probes: Vec<Ipv4Addr> = [
        "10.1.2.1",
        "10.1.2.129",
        "10.1.2.130",
        "10.1.3.1",
        "10.1.4.1",
        "10.2.0.0",
        "11.0.0.0",
    ]
    .iter()
    .map(|s| a(s))
    .collect();
    check_fib(&fib, &model, &probes);
    for (s, id) in [("10.1.2.0/24", 5), ("10.1.0.0/16", 3), ("10.1.2.129/32", 3)] {
        assert_eq!(fib.insert(p(s), id).unwrap(), model.insert(p(s), id));
        check_fib(&fib, &model, &probes);
    }
    for s in [
        "10.1.2.128/25",
        "10.1.2.0/24",
        "10.1.0.0/16",
        "10.0.0.0/8",
        "0.0.0.0/0",
    ] {
        assert_eq!(fib.remove(&p(s)), model.remove(&p(s)));
        check_fib(&fib, &model, &probes);
    }
    assert_eq!(fib.lookup(a("10.1.4.1")), None);
    assert_eq!(fib.lookup(a("10.1.3.1")), Some(3));
}

#[test]
fn default_and_host_routes() {
    let mut m = PrefixMap::<Ipv4Addr, &str>::new();
    m.insert("0.0.0.0/0".parse().unwrap(), "default");
    m.insert("255.255.255.255/32".parse().unwrap(), "bcast");
    m.insert("0.0.0.0/32".parse().unwrap(), "zero");
    assert_eq!(m.lookup(Ipv4Addr::new(1, 2, 3, 4)), Some(&"default"));
    assert_eq!(m.lookup(Ipv4Addr::BROADCAST), Some(&"bcast"));
    assert_eq!(m.lookup(Ipv4Addr::UNSPECIFIED), Some(&"zero"));
    assert_eq!(
        m.lookup(Ipv4Addr::new(255, 255, 255, 254)),
        Some(&"default")
    );
    let mut m6 = PrefixMap::<Ipv6Addr, u8>::new();
    m6.insert("::/0".parse().unwrap(), 0);
    m6.insert("2001:db8::1/128".parse().unwrap(), 128);
    assert_eq!(m6.lookup("2001:db8::1".parse().unwrap()), Some(&128));
    assert_eq!(m6.lookup("2001:db8::2".parse().unwrap()), Some(&0));
}

/// `longest_match` gives the matched prefix itself (cut from the address by the entry's
/// length), also for IPv6 prefixes past /64 that share their upper 64 bits, and after the
/// longer ones are removed.
#[test]
fn longest_match_names_the_prefix_past_64_bits() {
    let p = |s: &str| s.parse::<Prefix<Ipv6Addr>>().unwrap();
    let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
    let mut m = PrefixMap::<Ipv6Addr, u32>::new();
    for (i, s) in [
        "2001:db8::/64",
        "2001:db8::/96",
        "2001:db8::1:0/112",
        "2001:db8::1:5/128",
        "2001:db8::2:0/112",
    ]
    .iter()
    .enumerate()
    {
        m.insert(p(s), i as u32);
    }
    let cases = [
        ("2001:db8::1:5", "2001:db8::1:5/128", 3),
        ("2001:db8::1:6", "2001:db8::1:0/112", 2),
        ("2001:db8::2:ffff", "2001:db8::2:0/112", 4),
        ("2001:db8::3:1", "2001:db8::/96", 1),
        ("2001:db8::1:0:0:1", "2001:db8::/64", 0),
    ];
    for (addr, want, v) in cases {
        assert_eq!(m.longest_match(a(addr)), Some((p(want), &v)), "{addr}");
    }
    m.remove(&p("2001:db8::1:5/128"));
    m.remove(&p("2001:db8::1:0/112"));
    assert_eq!(
        m.longest_match(a("2001:db8::1:5")),
        Some((p("2001:db8::/96"), &1))
    );
    assert_eq!(m.longest_match(a("2001:db9::1")), None);
}

#[test]
fn rejects_host_bits_and_bad_lengths() {
    use netplumb::lpm::PrefixError;
    let e = "10.0.0.1/8".parse::<Prefix<Ipv4Addr>>().unwrap_err();
    assert!(matches!(e, PrefixError::HostBitsSet { .. }));
    assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
    assert!(matches!(
        Prefix::new(Ipv4Addr::UNSPECIFIED, 33),
        Err(PrefixError::BadLength { len: 33, max: 32 })
    ));
    assert!(matches!(
        "2001:db8::1/32".parse::<Prefix<Ipv6Addr>>(),
        Err(PrefixError::HostBitsSet { .. })
    ));
    let mut m = netplumb::lpm::IpPrefixMap::new();
    assert!(m.insert("192.0.2.1/24".parse().unwrap(), 1).is_err());
    assert!(m.is_empty());
}

/// A /18-aligned IPv6 region, and the prefixes that make it a second-level block: 80 /48s in
/// distinct /30s (two levels below the /18), `covering` prefixes, and nested /36, /64 and /128s.
const V6_REGION: u128 = 0x2a00_0000u128 << 96;

fn v6_region_prefixes(covering: &[(u128, u8)]) -> Vec<(u128, u8)> {
    let base = V6_REGION;
    let mut prefixes: Vec<(u128, u8)> = (0..80u128)
        .map(|j| (base | j << 98 | j << 80, 48))
        .collect();
    prefixes.extend_from_slice(covering);
    for j in 0..8u128 {
        prefixes.push((base | j << 98 | 7 << 92, 36));
        prefixes.push((base | j << 98 | 7 << 92 | 1 << 64, 64));
        prefixes.push((base | j << 98 | 7 << 92 | 1 << 64 | 5, 128));
    }
    prefixes
}

/// Addresses at and around every prefix of `model`, and at the region's edges.
fn v6_region_probes(model: &BTreeMap<Prefix<Ipv6Addr>, u32>) -> Vec<Ipv6Addr> {
    let base = V6_REGION;
    let mut v: Vec<u128> = vec![base, base | ((1 << 110) - 1), base - 1, base | (1 << 110)];
    for p in model.keys() {
        let k = p.addr().to_bits();
        let last = k | u128::MAX.checked_shr(p.len() as u32).unwrap_or(0);
        v.extend([
            k,
            last,
            k.wrapping_sub(1),
            last.wrapping_add(1),
            k ^ 1 << 70,
        ]);
    }
    v.into_iter().map(Ipv6Addr::from_bits).collect()
}

/// One /18 region of an IPv6 table grows past the size at which its first-level node becomes
/// a second-level block, is checked against the oracle at each stage (with prefixes of every
/// length around the block's 12 bits), then shrinks back to nothing.
#[test]
fn v6_region_grows_into_a_block_and_back() {
    let base = V6_REGION;
    let mut m = PrefixMap::<Ipv6Addr, u32>::new();
    let mut model = BTreeMap::new();
    let prefixes = v6_region_prefixes(&[
        (base, 18),
        (base, 20),
        (base | 1 << 104, 24),
        (base | 3 << 100, 28),
    ]);
    let probe = v6_region_probes;
    for (n, &(k, l)) in prefixes.iter().enumerate() {
        let p = Prefix::truncate(Ipv6Addr::from_bits(k), l).unwrap();
        m.insert(p, n as u32);
        model.insert(p, n as u32);
        if n % 16 == 15 {
            check(&m, &model, &probe(&model));
        }
    }
    check(&m, &model, &probe(&model));
    for (n, &(k, l)) in prefixes.iter().enumerate().rev() {
        let p = Prefix::truncate(Ipv6Addr::from_bits(k), l).unwrap();
        assert_eq!(m.remove(&p), model.remove(&p));
        if n % 16 == 0 {
            check(&m, &model, &probe(&model));
        }
    }
    assert!(m.is_empty());
}

/// A `Fib` replaces an id in place when the prefix's positions are a run of their own; a
/// neighbour of the same length and id shares the run (across a child, too), and must keep
/// its id. Every step is checked against the oracle, for flat blocks, nodes and inline nodes.
#[test]
fn fib_replacement_keeps_equal_neighbours() {
    fn go<A: IpKey + std::str::FromStr>(
        routes: &[(&str, u32)],
        steps: &[(&str, u32)],
        probes: &[&str],
    ) where
        <A as std::str::FromStr>::Err: std::fmt::Debug,
    {
        let p = |s: &str| s.parse::<Prefix<A>>().unwrap();
        let probes: Vec<A> = probes.iter().map(|s| s.parse().unwrap()).collect();
        let mut fib = Fib::<A>::new();
        let mut model = BTreeMap::new();
        for &(s, id) in routes {
            fib.insert(p(s), id).unwrap();
            model.insert(p(s), id);
        }
        check_fib(&fib, &model, &probes);
        for &(s, id) in steps {
            assert_eq!(fib.insert(p(s), id).unwrap(), model.insert(p(s), id), "{s}");
            check_fib(&fib, &model, &probes);
        }
    }
    let v4 = [
        ("10.0.0.0/24", 1),
        ("10.0.1.0/24", 1),
        ("10.0.2.0/24", 1),
        ("10.0.3.0/24", 2),
        ("10.0.1.128/25", 5),
        ("10.0.8.0/22", 1),
        ("10.0.12.0/22", 1),
        ("10.0.64.0/24", 1),
        ("10.0.65.0/24", 1),
        ("10.0.65.7/32", 1),
        ("10.0.65.8/32", 1),
    ];
    let v4_probes = [
        "10.0.0.1",
        "10.0.1.1",
        "10.0.1.129",
        "10.0.2.1",
        "10.0.3.1",
        "10.0.8.1",
        "10.0.12.1",
        "10.0.64.1",
        "10.0.65.1",
        "10.0.65.7",
        "10.0.65.8",
        "10.0.65.9",
    ];
    go::<Ipv4Addr>(
        &v4,
        &[
            ("10.0.0.0/24", 3),
            ("10.0.2.0/24", 3),
            ("10.0.1.0/24", 3),
            ("10.0.3.0/24", 3),
            ("10.0.12.0/22", 4),
            ("10.0.65.8/32", 2),
            ("10.0.65.7/32", 2),
            ("10.0.64.0/24", 2),
        ],
        &v4_probes,
    );
    let v6 = [
        ("2001:db8::/48", 1),
        ("2001:db8:1::/48", 1),
        ("2001:db8:2::/48", 2),
        ("2001:db8:1:8000::/49", 5),
        ("2001:db8:100::/40", 1),
        ("2001:db8:200::/40", 1),
    ];
    let v6_probes = [
        "2001:db8::1",
        "2001:db8:1::1",
        "2001:db8:1:8000::1",
        "2001:db8:2::1",
        "2001:db8:100::1",
        "2001:db8:200::1",
        "2001:db8:300::1",
    ];
    go::<Ipv6Addr>(
        &v6,
        &[
            ("2001:db8::/48", 3),
            ("2001:db8:1::/48", 2),
            ("2001:db8:100::/40", 4),
            ("2001:db8:1::/48", 4),
        ],
        &v6_probes,
    );
}

/// A `Fib` region that becomes a second-level block: ids replaced at every depth (whole
/// first-level words, whole block words, inside nodes), then everything removed.
#[test]
fn fib_v6_block_replace_and_remove() {
    let base = V6_REGION;
    let prefixes = v6_region_prefixes(&[
        (base, 16),
        (base, 18),
        (base, 20),
        (base | 1 << 104, 24),
        (base | 3 << 100, 28),
        (base | 5 << 98, 30),
        (base | 2 << 98, 29),
    ]);
    let probe = v6_region_probes;
    let mut fib = Fib::<Ipv6Addr>::new();
    let mut model = BTreeMap::new();
    for (n, &(k, l)) in prefixes.iter().enumerate() {
        let p = Prefix::truncate(Ipv6Addr::from_bits(k), l).unwrap();
        fib.insert(p, n as u32 % 5).unwrap();
        model.insert(p, n as u32 % 5);
    }
    check_fib(&fib, &model, &probe(&model));
    for round in 1..3 {
        for (n, &(k, l)) in prefixes.iter().enumerate().rev() {
            let p = Prefix::truncate(Ipv6Addr::from_bits(k), l).unwrap();
            let id = (n as u32 + round) % 5;
            assert_eq!(fib.insert(p, id).unwrap(), model.insert(p, id));
            if n % 8 == 0 {
                check_fib(&fib, &model, &probe(&model));
            }
        }
    }
    for (n, &(k, l)) in prefixes.iter().enumerate() {
        let p = Prefix::truncate(Ipv6Addr::from_bits(k), l).unwrap();
        assert_eq!(fib.remove(&p), model.remove(&p));
        if n % 8 == 0 {
            check_fib(&fib, &model, &probe(&model));
        }
    }
    assert!(fib.is_empty());
}

/// Readers on two threads look up while the writer publishes batch after batch; every answer
/// must be the answer of some state published between the start and the end of that read
/// (one state for all the answers of one guard or batch: a batch is never seen half-done).
/// The writer cycles through a fixed sequence of states over a small IPv4 world, whose
/// answers are computed beforehand by the linear-scan oracle.
///
/// `NETPLUMB_SHARED_STRESS_LOOKUPS` sets the number of lookups (default 300 000; run it
/// with 10^8 in release for the long run).
#[test]
fn shared_readers_see_only_published_states() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

    let total: u64 = std::env::var("NETPLUMB_SHARED_STRESS_LOOKUPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300_000);
    let mut rng = StdRng::seed_from_u64(22);
    // A pool of nested prefixes in 10.0.0.0/8, of lengths on both sides of the trie levels.
    let lens = [8u8, 12, 16, 17, 18, 19, 20, 22, 24, 25, 28, 30, 32];
    let pool: Vec<Prefix<Ipv4Addr>> = (0..48)
        .map(|_| {
            let k = 0x0a00_0000 | (rng.gen::<u32>() & 0x0003_ffff) << (rng.gen_range(0..6));
            let l = lens[rng.gen_range(0..lens.len())];
            Prefix::truncate(Ipv4Addr::from_bits(k), l).unwrap()
        })
        .collect();
    let mut id = 0u32;
    let mut fresh = || {
        id += 1;
        id
    };
    // The states: forward batches from a random start, then batches back to the start.
    let mut model: BTreeMap<Prefix<Ipv4Addr>, u32> = BTreeMap::new();
    for p in &pool[..16] {
        model.insert(*p, fresh());
    }
    let start = model.clone();
    let mut batches: Vec<Vec<FibOp<Ipv4Addr>>> = Vec::new();
    let mut states = vec![model.clone()];
    for _ in 0..400 {
        let batch: Vec<_> = (0..rng.gen_range(1..=6))
            .map(|_| {
                let p = pool[rng.gen_range(0..pool.len())];
                if rng.gen_bool(0.6) {
                    FibOp::Insert(p, fresh())
                } else {
                    FibOp::Remove(p)
                }
            })
            .collect();
        for op in &batch {
            match *op {
                FibOp::Insert(p, v) => model.insert(p, v),
                FibOp::Remove(p) => model.remove(&p),
            };
        }
        batches.push(batch);
        states.push(model.clone());
    }
    let mut back: Vec<FibOp<Ipv4Addr>> = model
        .keys()
        .filter(|p| !start.contains_key(p))
        .map(|p| FibOp::Remove(*p))
        .collect();
    back.extend(
        start
            .iter()
            .filter(|(p, v)| model.get(p) != Some(v))
            .map(|(p, v)| FibOp::Insert(*p, *v)),
    );
    for chunk in back.chunks(6) {
        for op in chunk {
            match *op {
                FibOp::Insert(p, v) => model.insert(p, v),
                FibOp::Remove(p) => model.remove(&p),
            };
        }
        batches.push(chunk.to_vec());
        states.push(model.clone());
    }
    assert_eq!(
        states.pop().as_ref(),
        Some(&start),
        "the sequence is a cycle"
    );
    let n = states.len() as u64;
    let probes = edges_v4(&pool.iter().map(|p| (*p, 0)).collect(), &[0x0b00_0000]);
    let answers: Vec<Vec<Option<u32>>> = states
        .iter()
        .map(|s| probes.iter().map(|a| oracle(s, *a).map(|w| w.1)).collect())
        .collect();

    let mut w = SharedFib::from(Fib::try_from_iter(start.iter().map(|(p, v)| (*p, *v))).unwrap());
    let (begun, done, stop) = (AtomicU64::new(0), AtomicU64::new(0), AtomicBool::new(false));
    let readers = 2u64;
    let (probes, answers) = (&probes, &answers);
    let (begun, done, stop) = (&begun, &done, &stop);
    let reports = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..readers)
            .map(|t| {
                let mut r = w.reader();
                sc.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(t);
                    let (mut lookups, mut overlapped, mut checks) = (0u64, 0u64, 0u64);
                    let mut idx = [0usize; 20];
                    let mut addrs = [Ipv4Addr::UNSPECIFIED; 20];
                    let mut got = [None; 20];
                    while lookups < total / readers {
                        let k = [1, 4, 20][(checks % 3) as usize];
                        for (i, a) in idx.iter_mut().zip(addrs.iter_mut()).take(k) {
                            *i = rng.gen_range(0..probes.len());
                            *a = probes[*i];
                        }
                        let c0 = done.load(SeqCst);
                        match k {
                            1 => got[0] = r.lookup(addrs[0]),
                            4 => {
                                let g = r.read();
                                for (o, a) in got.iter_mut().zip(&addrs).take(4) {
                                    *o = g.lookup(*a);
                                }
                            }
                            _ => r.lookup_batch(&addrs, &mut got),
                        }
                        let c1 = begun.load(SeqCst);
                        let fits = |s: u64| {
                            let a = &answers[(s % n) as usize];
                            (0..k).all(|j| a[idx[j]] == got[j])
                        };
                        let ok = if c1 - c0 >= n {
                            true
                        } else {
                            (c0..=c1).any(fits)
                        };
                        assert!(
                            ok,
                            "reader {t}: answers {:?} for {:?} match no state in {c0}..={c1}",
                            &got[..k],
                            &addrs[..k]
                        );
                        overlapped += (c1 > c0) as u64;
                        lookups += k as u64;
                        checks += 1;
                    }
                    (lookups, overlapped, checks)
                })
            })
            .collect();
        let (mut k, mut deferred) = (0u64, 0u64);
        while !stop.load(SeqCst) {
            let batch = &batches[(k % n) as usize];
            k += 1;
            begun.store(k, SeqCst);
            // A publish deferred (a reader still in the level left behind) goes out with the
            // next one: `done` names the last batch readers can see.
            if w.apply(batch.iter().copied()).unwrap() {
                done.store(k, SeqCst);
            } else {
                deferred += 1;
            }
            if hs.iter().all(|h| h.is_finished()) {
                stop.store(true, SeqCst);
            }
        }
        let reports: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        (k, deferred, reports)
    });
    let (published, deferred, reports) = reports;
    let lookups: u64 = reports.iter().map(|r| r.0).sum();
    let overlapped: u64 = reports.iter().map(|r| r.1).sum();
    let checks: u64 = reports.iter().map(|r| r.2).sum();
    println!(
        "shared stress: {lookups} lookups in {checks} reads by {readers} readers, all answers \
         from a published state; {published} batches applied \
         ({deferred} publishes deferred, {n} states in the cycle); {overlapped} reads overlapped a publish"
    );
    assert!(lookups >= total - readers && published > 0);
}

/// `longest_match`, `lookup` and `lookup_batch` of an IPv4 map (whose trie leaves carry the
/// prefix length beside the slot) through many slot-table growths and removals, against an
/// oracle that probes every length: prefixes of all lengths /0../32, nested, slot numbers
/// past 2^16 and 2^17.
#[test]
fn v4_lengths_in_leaves_survive_growth_and_removal() {
    use std::collections::HashMap;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut m = PrefixMap::<Ipv4Addr, u32>::new();
    let mut model: HashMap<(u32, u8), u32> = HashMap::new();
    let mask = |l: u8| {
        if l == 0 {
            0
        } else {
            u32::MAX << (32 - l as u32)
        }
    };
    let mut added = Vec::new();
    for i in 0..150_000u32 {
        let r = next();
        // Keys in a few /8s so that prefixes nest; lengths weighted toward /16../32.
        let key = ((r as u32) & 0x03ff_ffff) | 0x0a00_0000 | ((r >> 40) as u32 & 3) << 28;
        let len = if i % 64 == 0 {
            (r >> 32) as u8 % 33
        } else {
            16 + (r >> 32) as u8 % 17
        };
        let k = key & mask(len);
        let p = Prefix::new(Ipv4Addr::from_bits(k), len).unwrap();
        assert_eq!(m.insert(p, i), model.insert((k, len), i));
        added.push(p);
        if i % 5 == 4 {
            let q = added[(next() % added.len() as u64) as usize];
            let want = model.remove(&(q.addr().to_bits(), q.len()));
            assert_eq!(m.remove(&q), want);
        }
    }
    assert_eq!(m.len(), model.len());
    let oracle = |a: u32| {
        (0..=32u8)
            .rev()
            .find_map(|l| model.get(&(a & mask(l), l)).map(|v| (l, *v)))
    };
    let addrs: Vec<Ipv4Addr> = (0..200_000)
        .map(|j| {
            let r = next() as u32;
            // Mostly inside the populated /8s, some anywhere.
            Ipv4Addr::from_bits(if j % 8 == 0 {
                r
            } else {
                r & 0x3bff_ffff | 0x0a00_0000
            })
        })
        .chain(added.iter().map(|p| p.addr()))
        .collect();
    let mut out = vec![None; addrs.len()];
    m.lookup_batch(&addrs, &mut out);
    for (&a, o) in addrs.iter().zip(&out) {
        let want = oracle(a.to_bits());
        let got = m.longest_match(a);
        assert_eq!(got.map(|(p, v)| (p.len(), *v)), want, "longest_match({a})");
        if let Some((p, _)) = got {
            assert!(p.contains(a), "{p} does not contain {a}");
        }
        assert_eq!(m.lookup(a).copied(), want.map(|w| w.1), "lookup({a})");
        assert_eq!(o.copied(), want.map(|w| w.1), "lookup_batch({a})");
    }
}
