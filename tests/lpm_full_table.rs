//! Full-table test: load the real RIS IPv4 and IPv6 tables, replay a day of updates, and
//! check every prefix and one million addresses per family against `prefix-trie` (and an
//! `lpm::Fib` replaying the same updates against the `PrefixMap`).
//!
//! Data comes from `$NETPLUMB_DATA` (default `../shared/data` next to the crate root).
//! When it is absent the test prints `skipped: <reason>` and returns.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use netplumb::lpm::{Fib, Prefix, PrefixMap};
use netplumb_lab::ris;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn lines(name: &str) -> Result<Vec<String>, String> {
    let mut v = Vec::new();
    ris::for_each_line(&ris::data_dir().join(name), |l| {
        v.push(l.to_string());
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(v)
}

#[test]
fn full_table_matches_prefix_trie() {
    let files = [
        ris::table_file("v4"),
        ris::updates_file("v4"),
        ris::table_file("v6"),
        ris::updates_file("v6"),
    ];
    let mut data = Vec::new();
    for f in files {
        match lines(&f) {
            Ok(l) => data.push(l),
            Err(e) => {
                common::report_skip(
                    &common::test_name(),
                    &format!("routing table data not available ({e}); set NETPLUMB_DATA"),
                );
                return;
            }
        }
    }
    let t = std::time::Instant::now();
    let n4 = run::<Ipv4Addr, ipnet::Ipv4Net>(
        &data[0],
        &data[1],
        |a| a.to_bits() as u128,
        |x| Ipv4Addr::from_bits(x as u32),
    );
    let n6 =
        run::<Ipv6Addr, ipnet::Ipv6Net>(&data[2], &data[3], |a| a.to_bits(), Ipv6Addr::from_bits);
    println!(
        "full table: {n4} IPv4 and {n6} IPv6 prefixes after the update replay agree with prefix-trie ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
}

/// Loads `table`, replays `updates`, compares with prefix-trie; returns the final size.
fn run<A, N>(
    table: &[String],
    updates: &[String],
    bits: impl Fn(A) -> u128,
    from_bits: impl Fn(u128) -> A,
) -> usize
where
    A: netplumb::lpm::IpKey + std::str::FromStr,
    N: prefix_trie::Prefix + std::str::FromStr + Copy + std::fmt::Display,
    <N as std::str::FromStr>::Err: std::fmt::Debug,
{
    let parse = |s: &str| -> (Prefix<A>, N) {
        let p: Prefix<A> = s.parse().unwrap_or_else(|e| panic!("{s}: {e:?}"));
        let n: N = s.parse().unwrap();
        (p, n)
    };
    let mut ours: PrefixMap<A, u32> = table
        .iter()
        .enumerate()
        .map(|(i, l)| (parse(l).0, i as u32))
        .collect();
    let mut fib = Fib::<A>::try_from_iter(ours.iter().map(|(p, v)| (p, *v))).unwrap();
    let mut oracle = prefix_trie::PrefixMap::<N, u32>::new();
    for (i, l) in table.iter().enumerate() {
        oracle.insert(parse(l).1, i as u32);
    }
    assert_eq!(ours.len(), oracle.len());
    for (j, u) in updates.iter().enumerate() {
        let (op, c) = u.split_once(' ').expect("update line");
        let (p, n) = parse(c);
        let v = (table.len() + j) as u32;
        if op == "A" {
            let old = oracle.insert(n, v);
            assert_eq!(ours.insert(p, v), old, "A {c}");
            assert_eq!(fib.insert(p, v).unwrap(), old, "fib A {c}");
        } else {
            let old = oracle.remove(&n);
            assert_eq!(ours.remove(&p), old, "W {c}");
            assert_eq!(fib.remove(&p), old, "fib W {c}");
        }
    }
    assert_eq!(ours.len(), oracle.len());
    assert_eq!(fib.len(), oracle.len());
    // The Fib reads its prefixes back from its leaves (and the few that no address matches
    // from its side table): the same list, in the same order, as the PrefixMap's.
    assert!(
        fib.iter().eq(ours.iter().map(|(p, v)| (p, *v))),
        "fib iter differs from the PrefixMap's"
    );
    // Every prefix: exact value, and the longest match of its first address.
    for (n, v) in oracle.iter() {
        let s = n.to_string();
        let p: Prefix<A> = s.parse().unwrap();
        assert_eq!(ours.get(&p), Some(v), "get {s}");
        assert_eq!(fib.get(&p), Some(*v), "fib get {s}");
        let (lp, lv) = ours.longest_match(p.addr()).expect("covered");
        assert!(
            lp.len() >= p.len(),
            "longest_match({}) = {lp}, shorter than {p}",
            p.addr()
        );
        assert_eq!(ours.get(&lp), Some(lv));
    }
    // One million addresses: half random, half inside random table prefixes.
    let prefixes: Vec<Prefix<A>> = ours.iter().map(|(p, _)| p).collect();
    let mut rng = StdRng::seed_from_u64(7);
    let width = A::BITS as u32;
    let mut addrs = Vec::with_capacity(1_000_000);
    for i in 0..1_000_000 {
        let x: u128 = rng.gen::<u128>() >> (128 - width);
        if i % 2 == 0 {
            addrs.push(from_bits(x));
        } else {
            let p = prefixes[rng.gen_range(0..prefixes.len())];
            let host = if p.len() as u32 == width {
                0
            } else {
                x & (u128::MAX >> (128 - width + p.len() as u32))
            };
            addrs.push(from_bits(bits(p.addr()) | host));
        }
    }
    let mut batch = vec![None; addrs.len()];
    ours.lookup_batch(&addrs, &mut batch);
    let mut fib_batch = vec![None; addrs.len()];
    fib.lookup_batch(&addrs, &mut fib_batch);
    assert_eq!(fib.len(), ours.len());
    for ((a, b), fb) in addrs.iter().zip(batch).zip(fib_batch) {
        let host: N = format!("{a}/{width}").parse().unwrap();
        let want = oracle.get_lpm(&host).map(|(n, v)| (n.prefix_len(), *v));
        let got = ours.longest_match(*a).map(|(p, v)| (p.len(), *v));
        assert_eq!(got, want, "longest_match({a})");
        assert_eq!(b.copied(), want.map(|w| w.1), "lookup_batch({a})");
        let got = fib.longest_match(*a).map(|(p, v)| (p.len(), v));
        assert_eq!(got, want, "fib longest_match({a})");
        assert_eq!(fb, want.map(|w| w.1), "fib lookup_batch({a})");
    }
    ours.len()
}
