//! Criterion benchmarks: netplumb's `PrefixMap` and `Fib` beside peer crates, on the real RIS
//! table (`$NETPLUMB_DATA`, default `../shared/data`) or a generated stand-in with the
//! same prefix-length distribution. Groups per family and key set; seeded keys.

use std::hint::black_box;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use netplumb::lpm::{Fib, Prefix, PrefixMap};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ts_bart::RoutingTable;

const KEYS: usize = 100_000;

/// The table as (bits, len), from the data or generated.
fn table(fam: &str, width: u32, dist: &[(u8, u32)]) -> Vec<(u128, u8)> {
    let path = netplumb_lab::ris::data_dir().join(netplumb_lab::ris::table_file(fam));
    if let Ok(f) = std::fs::File::open(&path) {
        let r = std::io::BufReader::new(flate2::read::GzDecoder::new(f));
        return r
            .lines()
            .map(|l| l.unwrap())
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (a, len) = l.split_once('/').unwrap();
                let bits = match a.parse::<IpAddr>().unwrap() {
                    IpAddr::V4(a) => a.to_bits() as u128,
                    IpAddr::V6(a) => a.to_bits(),
                };
                (bits, len.parse().unwrap())
            })
            .collect();
    }
    eprintln!(
        "{} not found: using a generated {fam} table",
        path.display()
    );
    let mut r = StdRng::seed_from_u64(9);
    let total: u32 = dist.iter().map(|d| d.1).sum();
    let n = if width == 32 { 1_000_000 } else { 250_000 };
    let mut t: Vec<(u128, u8)> = (0..n)
        .map(|_| {
            let mut x = r.gen_range(0..total);
            let mut len = dist[0].0;
            for &(l, w) in dist {
                len = l;
                if x < w {
                    break;
                }
                x -= w;
            }
            let mut bits: u128 = r.gen::<u128>() >> (128 - width);
            if width == 128 {
                bits = (bits >> 3) | (1 << 125);
            }
            (bits & mask(width, len), len)
        })
        .collect();
    t.sort();
    t.dedup();
    t
}

fn mask(width: u32, len: u8) -> u128 {
    u128::MAX.checked_shl(128 - len as u32).unwrap_or(0) >> (128 - width)
}

fn keys(t: &[(u128, u8)], width: u32, inside: bool) -> Vec<u128> {
    let mut r = StdRng::seed_from_u64(if inside { 2 } else { 1 });
    (0..KEYS)
        .map(|_| {
            let x = r.gen::<u128>() >> (128 - width);
            if inside {
                let (b, l) = t[r.gen_range(0..t.len())];
                b | (x & !mask(width, l) & (u128::MAX >> (128 - width)))
            } else {
                x
            }
        })
        .collect()
}

fn bench_v4(c: &mut Criterion) {
    let t = table(
        "v4",
        32,
        &[
            (24, 631),
            (22, 109),
            (23, 104),
            (21, 50),
            (20, 44),
            (19, 25),
            (16, 13),
            (18, 13),
            (17, 8),
            (15, 2),
            (14, 1),
            (12, 1),
        ],
    );
    let ours: PrefixMap<Ipv4Addr, u32> = t
        .iter()
        .enumerate()
        .map(|(i, &(b, l))| {
            (
                Prefix::new(Ipv4Addr::from_bits(b as u32), l).unwrap(),
                i as u32,
            )
        })
        .collect();
    let fib = Fib::<Ipv4Addr>::try_from_iter(ours.iter().map(|(p, v)| (p, *v))).unwrap();
    let mut pt = prefix_trie::PrefixMap::<ipnet::Ipv4Net, u32>::new();
    let mut tb = ip_network_table_deps_treebitmap::IpLookupTable::<Ipv4Addr, u32>::new();
    let mut bart = ts_bart::Table::<u32>::default();
    for (i, &(b, l)) in t.iter().enumerate() {
        let a = Ipv4Addr::from_bits(b as u32);
        pt.insert(ipnet::Ipv4Net::new(a, l).unwrap(), i as u32);
        tb.insert(a, l as u32, i as u32);
        bart.insert(ipnet::Ipv4Net::new(a, l).unwrap().into(), i as u32);
    }
    for (set, inside) in [("v4-random", false), ("v4-table", true)] {
        let ks: Vec<Ipv4Addr> = keys(&t, 32, inside)
            .into_iter()
            .map(|k| Ipv4Addr::from_bits(k as u32))
            .collect();
        let mut g = c.benchmark_group(format!("lookup/{set}"));
        g.throughput(Throughput::Elements(ks.len() as u64));
        g.bench_function(BenchmarkId::from_parameter("netplumb"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| ours.lookup(a).map_or(0, |v| *v as u64))
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("netplumb-batch"), |b| {
            let mut out = vec![None; ks.len()];
            b.iter(|| {
                ours.lookup_batch(&ks, &mut out);
                black_box(&out);
            })
        });
        g.bench_function(BenchmarkId::from_parameter("netplumb-fib"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| fib.lookup(a).map_or(0, |v| v as u64))
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("netplumb-fib-batch"), |b| {
            let mut out = vec![None; ks.len()];
            b.iter(|| {
                fib.lookup_batch(&ks, &mut out);
                black_box(&out);
            })
        });
        g.bench_function(BenchmarkId::from_parameter("prefix-trie"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| {
                        pt.get_lpm(&ipnet::Ipv4Net::from(a))
                            .map_or(0, |v| *v.1 as u64)
                    })
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("treebitmap"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| tb.longest_match(a).map_or(0, |v| *v.2 as u64))
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("ts_bart"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| bart.lookup(IpAddr::V4(a)).map_or(0, |v| *v as u64))
                    .sum::<u64>()
            })
        });
        g.finish();
    }
}

fn bench_v6(c: &mut Criterion) {
    let t = table(
        "v6",
        128,
        &[
            (48, 454),
            (32, 109),
            (44, 101),
            (40, 94),
            (36, 38),
            (47, 36),
            (46, 23),
            (29, 22),
            (33, 22),
            (34, 21),
            (45, 18),
            (42, 12),
            (38, 11),
        ],
    );
    let ours: PrefixMap<Ipv6Addr, u32> = t
        .iter()
        .enumerate()
        .map(|(i, &(b, l))| (Prefix::new(Ipv6Addr::from_bits(b), l).unwrap(), i as u32))
        .collect();
    let fib = Fib::<Ipv6Addr>::try_from_iter(ours.iter().map(|(p, v)| (p, *v))).unwrap();
    let mut pt = prefix_trie::PrefixMap::<ipnet::Ipv6Net, u32>::new();
    let mut tb = ip_network_table_deps_treebitmap::IpLookupTable::<Ipv6Addr, u32>::new();
    let mut bart = ts_bart::Table::<u32>::default();
    for (i, &(b, l)) in t.iter().enumerate() {
        let a = Ipv6Addr::from_bits(b);
        pt.insert(ipnet::Ipv6Net::new(a, l).unwrap(), i as u32);
        tb.insert(a, l as u32, i as u32);
        bart.insert(ipnet::Ipv6Net::new(a, l).unwrap().into(), i as u32);
    }
    for (set, inside) in [("v6-random", false), ("v6-table", true)] {
        let ks: Vec<Ipv6Addr> = keys(&t, 128, inside)
            .into_iter()
            .map(Ipv6Addr::from_bits)
            .collect();
        let mut g = c.benchmark_group(format!("lookup/{set}"));
        g.throughput(Throughput::Elements(ks.len() as u64));
        g.bench_function(BenchmarkId::from_parameter("netplumb"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| ours.lookup(a).map_or(0, |v| *v as u64))
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("netplumb-batch"), |b| {
            let mut out = vec![None; ks.len()];
            b.iter(|| {
                ours.lookup_batch(&ks, &mut out);
                black_box(&out);
            })
        });
        g.bench_function(BenchmarkId::from_parameter("netplumb-fib"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| fib.lookup(a).map_or(0, |v| v as u64))
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("netplumb-fib-batch"), |b| {
            let mut out = vec![None; ks.len()];
            b.iter(|| {
                fib.lookup_batch(&ks, &mut out);
                black_box(&out);
            })
        });
        g.bench_function(BenchmarkId::from_parameter("prefix-trie"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| {
                        pt.get_lpm(&ipnet::Ipv6Net::from(a))
                            .map_or(0, |v| *v.1 as u64)
                    })
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("treebitmap"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| tb.longest_match(a).map_or(0, |v| *v.2 as u64))
                    .sum::<u64>()
            })
        });
        g.bench_function(BenchmarkId::from_parameter("ts_bart"), |b| {
            b.iter(|| {
                ks.iter()
                    .map(|&a| bart.lookup(IpAddr::V6(a)).map_or(0, |v| *v as u64))
                    .sum::<u64>()
            })
        });
        g.finish();
    }
}

fn bench_updates(c: &mut Criterion) {
    let t = table(
        "v4",
        32,
        &[
            (24, 631),
            (22, 109),
            (23, 104),
            (21, 50),
            (20, 44),
            (19, 25),
            (16, 13),
        ],
    );
    let base: PrefixMap<Ipv4Addr, u32> = t
        .iter()
        .enumerate()
        .map(|(i, &(b, l))| {
            (
                Prefix::new(Ipv4Addr::from_bits(b as u32), l).unwrap(),
                i as u32,
            )
        })
        .collect();
    // Insert-then-remove of 10k new /25s and value replacement of 10k present prefixes.
    let mut r = StdRng::seed_from_u64(3);
    let fresh: Vec<Prefix<Ipv4Addr>> = (0..10_000)
        .map(|_| Prefix::truncate(Ipv4Addr::from_bits(r.gen()), 25).unwrap())
        .filter(|p| !base.contains_key(p))
        .collect();
    let present: Vec<Prefix<Ipv4Addr>> = (0..10_000)
        .map(|_| {
            let (b, l) = t[r.gen_range(0..t.len())];
            Prefix::new(Ipv4Addr::from_bits(b as u32), l).unwrap()
        })
        .collect();
    let mut g = c.benchmark_group("update/v4");
    g.throughput(Throughput::Elements(2 * fresh.len() as u64));
    let mut m = base.clone();
    g.bench_function("netplumb-insert-remove", |b| {
        b.iter(|| {
            for p in &fresh {
                m.insert(*p, 1);
            }
            for p in &fresh {
                m.remove(p);
            }
        })
    });
    g.throughput(Throughput::Elements(present.len() as u64));
    g.bench_function("netplumb-replace", |b| {
        b.iter(|| {
            for p in &present {
                m.insert(*p, 2);
            }
        })
    });
    // A `Fib` repaints on a new id: alternate two ids so that every insert replaces.
    let mut f = Fib::<Ipv4Addr>::try_from_iter(base.iter().map(|(p, v)| (p, *v))).unwrap();
    let mut id = 2;
    g.bench_function("netplumb-fib-replace", |b| {
        b.iter(|| {
            id ^= 1;
            for p in &present {
                f.insert(*p, id).unwrap();
            }
        })
    });
    g.throughput(Throughput::Elements(2 * fresh.len() as u64));
    g.bench_function("netplumb-fib-insert-remove", |b| {
        b.iter(|| {
            for p in &fresh {
                f.insert(*p, 1).unwrap();
            }
            for p in &fresh {
                f.remove(p);
            }
        })
    });
    // Exact match: a `PrefixMap` probes its hash table, a `Fib` finds the prefix through its
    // trie (the leaves at its ends, rarely more).
    g.throughput(Throughput::Elements(present.len() as u64));
    g.bench_function("netplumb-get", |b| {
        b.iter(|| present.iter().filter(|p| m.get(p).is_some()).count())
    });
    g.bench_function("netplumb-fib-get", |b| {
        b.iter(|| present.iter().filter(|p| f.get(p).is_some()).count())
    });
    // The worst case of a `Fib`'s exact match: absent prefixes whose both ends are matched by
    // longer ones, so that it scans the leaves under them (within one first-level word): the
    // /18s the table leaves unannounced that way; and `/0` under the split default route
    // `0.0.0.0/1` + `128.0.0.0/1` (short prefixes are kept aside: no scan).
    let mut split = f.clone();
    for p in ["0.0.0.0/1", "128.0.0.0/1"] {
        split.insert(p.parse().unwrap(), 1).unwrap();
    }
    let longer = |a: Ipv4Addr| split.longest_match(a).is_some_and(|(m, _)| m.len() > 18);
    let covered: Vec<Prefix<Ipv4Addr>> = (0..1u32 << 18)
        .map(|i| Prefix::new(Ipv4Addr::from_bits(i << 14), 18).unwrap())
        .filter(|p| {
            let last = Ipv4Addr::from_bits(p.addr().to_bits() | 0x3fff);
            split.get(p).is_none() && longer(p.addr()) && longer(last)
        })
        .chain(["0.0.0.0/0".parse().unwrap()])
        .collect();
    g.throughput(Throughput::Elements(covered.len() as u64));
    g.bench_function("netplumb-fib-get-absent-covered", |b| {
        b.iter(|| covered.iter().filter(|p| split.get(p).is_some()).count())
    });
    g.finish();
}

criterion_group!(benches, bench_v4, bench_v6, bench_updates);
criterion_main!(benches);
