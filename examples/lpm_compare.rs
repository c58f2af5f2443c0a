//! Compares netplumb's `PrefixMap` and `Fib` with peer crates and a DIR-24-8 reference on a real
//! full routing table: build time, lookup rates, update replay rate and heap bytes.
//!
//! ```text
//! cargo run --release --example lpm_compare [-- --keys N] [--only netplumb,ts_bart,…]
//! ```
//!
//! Data: `$NETPLUMB_DATA` (default `../shared/data` next to the crate root) with the RIS
//! dump `ris-2026-05-11-v4.txt.gz`, `-v6`, and the `-updates` files. When absent, a table
//! with the same prefix-length distribution is generated (and the output says so).
//! Every engine must produce the same checksum per key set; a mismatch exits non-zero.
//!
//! netplumb runs twice: `netplumb` is `lpm::PrefixMap<_, u32>` (the value in the entry's
//! slot) and `netplumb/fib` is `lpm::Fib`, netplumb's forwarding table (next-hop ids in the
//! trie's leaves: one read less per lookup, and the leaves are the table). `--only netplumb`
//! runs both; `netplumb/b` and `netplumb/lm` are `PrefixMap`'s `lookup_batch` and
//! `longest_match`. The values measured are `u32` ids, a `Fib`'s job, so the last line
//! (`speedup vs best peer: …`) reports `Fib`; the two before it `PrefixMap` (its `lookup`,
//! then its `lookup_batch` and `longest_match`).
//!
//! The last line's `vs-dir24` is `Fib` against the DIR-24-8 reference timed in alternation
//! (the `vs-dir24, paired` line: 8 passes each over the in-table IPv4 keys, each after a
//! warm-up over 262,144 of them, the ratio taken pass by pass), not the two rows' rates: the
//! rows time each engine in its own turn, a minute apart, and on a machine whose rates drift
//! that ratio swung from 0.64x to 1.22x between runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use netplumb::lpm::{Fib, FibOp, Prefix, PrefixMap, SharedFib};
use netplumb_lab::ris;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------- counting allocator

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Relaxed)
}

// ---------------------------------------------------------------- data

type Table<K> = Vec<(K, u8)>;
/// (announce?, key, len)
type Updates<K> = Vec<(bool, K, u8)>;

trait Bits: Copy + Ord + Send + 'static + std::fmt::Debug {
    fn parse(s: &str) -> (Self, u8);
    fn mask(len: u8) -> Self;
    fn from_rng(r: &mut StdRng) -> Self;
    fn or(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn not(self) -> Self;
    /// Moves a random IPv6 key into 2000::/3 like the real table; IPv4 unchanged.
    fn global(self) -> Self;
}
impl Bits for u32 {
    fn parse(s: &str) -> (Self, u8) {
        let (a, l) = s.split_once('/').expect("cidr");
        (
            a.parse::<Ipv4Addr>().expect("v4").to_bits(),
            l.parse().expect("len"),
        )
    }
    fn mask(len: u8) -> Self {
        u32::MAX.checked_shl(32 - len as u32).unwrap_or(0)
    }
    fn from_rng(r: &mut StdRng) -> Self {
        r.gen()
    }
    fn or(self, o: Self) -> Self {
        self | o
    }
    fn and(self, o: Self) -> Self {
        self & o
    }
    fn not(self) -> Self {
        !self
    }
    fn global(self) -> Self {
        self
    }
}
impl Bits for u128 {
    fn parse(s: &str) -> (Self, u8) {
        let (a, l) = s.split_once('/').expect("cidr");
        (
            a.parse::<Ipv6Addr>().expect("v6").to_bits(),
            l.parse().expect("len"),
        )
    }
    fn mask(len: u8) -> Self {
        u128::MAX.checked_shl(128 - len as u32).unwrap_or(0)
    }
    fn from_rng(r: &mut StdRng) -> Self {
        r.gen()
    }
    fn or(self, o: Self) -> Self {
        self | o
    }
    fn and(self, o: Self) -> Self {
        self & o
    }
    fn not(self) -> Self {
        !self
    }
    fn global(self) -> Self {
        (self >> 3) | (1 << 125)
    }
}

fn load<K: Bits>(fam: &str) -> Option<(Table<K>, Updates<K>)> {
    let dir = ris::data_dir();
    let (tp, up) = (
        dir.join(ris::table_file(fam)),
        dir.join(ris::updates_file(fam)),
    );
    if !tp.is_file() || !up.is_file() {
        return None;
    }
    let mut table = Vec::new();
    ris::for_each_line(&tp, |l| {
        table.push(K::parse(l));
        Ok(())
    })
    .expect("read the RIS table");
    let mut updates = Vec::new();
    ris::for_each_line(&up, |l| {
        let (op, c) = l.split_once(' ').ok_or("not `A PREFIX` or `W PREFIX`")?;
        let (k, len) = K::parse(c);
        updates.push((op == "A", k, len));
        Ok(())
    })
    .expect("read the RIS updates");
    Some((table, updates))
}

/// A stand-in table with the real prefix-length distribution, and updates with the real
/// mix (mostly re-announcements, ~3 % new prefixes, ~3 % withdrawals).
fn generate<K: Bits>(
    dist: &[(u8, f64)],
    n: usize,
    n_upd: usize,
    seed: u64,
) -> (Table<K>, Updates<K>) {
    let mut r = StdRng::seed_from_u64(seed);
    let total: f64 = dist.iter().map(|d| d.1).sum();
    let gen_prefix = |r: &mut StdRng| {
        let mut x = r.gen::<f64>() * total;
        let mut len = dist[0].0;
        for &(l, w) in dist {
            len = l;
            if x < w {
                break;
            }
            x -= w;
        }
        let k = K::from_rng(r).global();
        (k.and(K::mask(len)), len)
    };
    let mut table: Table<K> = (0..n).map(|_| gen_prefix(&mut r)).collect();
    table.sort();
    table.dedup();
    let mut updates = Vec::with_capacity(n_upd);
    for _ in 0..n_upd {
        let x: f64 = r.gen();
        if x < 0.03 {
            let (k, l) = gen_prefix(&mut r);
            updates.push((true, k, l));
        } else if x < 0.06 {
            let (k, l) = table[r.gen_range(0..table.len())];
            updates.push((false, k, l));
        } else {
            let (k, l) = table[r.gen_range(0..table.len())];
            updates.push((true, k, l));
        }
    }
    (table, updates)
}

const V4_DIST: &[(u8, f64)] = &[
    (24, 63.1),
    (22, 10.9),
    (23, 10.4),
    (21, 5.0),
    (20, 4.4),
    (19, 2.5),
    (16, 1.3),
    (18, 1.3),
    (17, 0.8),
    (15, 0.2),
    (14, 0.1),
    (13, 0.04),
    (12, 0.03),
    (11, 0.02),
    (10, 0.005),
    (8, 0.005),
];
const V6_DIST: &[(u8, f64)] = &[
    (48, 45.4),
    (32, 10.9),
    (44, 10.1),
    (40, 9.4),
    (36, 3.8),
    (47, 3.6),
    (46, 2.3),
    (29, 2.2),
    (33, 2.2),
    (34, 2.1),
    (45, 1.8),
    (42, 1.2),
    (38, 1.1),
    (28, 1.0),
    (30, 1.0),
    (35, 0.5),
    (43, 0.5),
    (39, 0.4),
    (41, 0.4),
    (31, 0.2),
    (37, 0.2),
    (24, 0.1),
    (16, 0.05),
];

fn keys<K: Bits>(table: &Table<K>, n: usize, seed: u64) -> (Vec<K>, Vec<K>) {
    let mut r = StdRng::seed_from_u64(seed);
    let random = (0..n).map(|_| K::from_rng(&mut r)).collect();
    let inside = (0..n)
        .map(|_| {
            let (k, l) = table[r.gen_range(0..table.len())];
            k.or(K::from_rng(&mut r).and(K::mask(l).not()))
        })
        .collect();
    (random, inside)
}

// ---------------------------------------------------------------- DIR-24-8 reference

/// Gupta et al.'s DIR-24-8: 2^24 direct entries for prefixes up to /24, 256-entry
/// second-level blocks for longer ones. Built once from a table sorted by length.
struct Dir24 {
    t24: Vec<u32>,
    long: Vec<u32>,
}
const BLK: u32 = 1 << 31;
impl Dir24 {
    fn build(table: &[(u32, u8, u32)]) -> Self {
        let mut by_len: Vec<&(u32, u8, u32)> = table.iter().collect();
        by_len.sort_by_key(|e| e.1);
        let mut d = Dir24 {
            t24: vec![0; 1 << 24],
            long: Vec::new(),
        };
        for &&(k, len, v) in &by_len {
            let v = v + 1;
            if len <= 24 {
                let s = (k >> 8) as usize;
                d.t24[s..s + (1 << (24 - len))].fill(v);
            } else {
                let i = (k >> 8) as usize;
                if d.t24[i] & BLK == 0 {
                    let b = d.long.len() / 256;
                    d.long.resize(d.long.len() + 256, d.t24[i]);
                    d.t24[i] = BLK | b as u32;
                }
                let b = (d.t24[i] & !BLK) as usize * 256;
                let s = (k & 255) as usize;
                d.long[b + s..b + s + (1 << (32 - len))].fill(v);
            }
        }
        d
    }
    #[inline]
    fn lookup(&self, a: u32) -> u32 {
        let e = self.t24[(a >> 8) as usize];
        if e & BLK == 0 {
            e
        } else {
            self.long[(e & !BLK) as usize * 256 + (a & 255) as usize]
        }
    }
}

// ---------------------------------------------------------------- measuring

/// Median of 3 timed passes over `keys`; returns (lookups per second, checksum).
///
/// Never inlined: each engine's closure is compiled into an instance of its own, so that
/// where one engine's loop lands in the binary (its alignment, what shares its cache lines)
/// cannot move with another engine's code. Inlined into `main`, an unrelated change to the
/// harness once cut `PrefixMap`'s measured rates by a quarter.
#[inline(never)]
fn measure<K: Copy>(keys: &[K], f: impl Fn(K) -> u32) -> (f64, u64) {
    let mut times = Vec::new();
    let mut sum = 0u64;
    for _ in 0..3 {
        let t = Instant::now();
        let mut s = 0u64;
        for &k in keys {
            s = s.wrapping_add(f(k) as u64);
        }
        times.push(t.elapsed());
        sum = std::hint::black_box(s);
    }
    times.sort();
    (keys.len() as f64 / times[1].as_secs_f64(), sum)
}

#[derive(Default, Clone)]
struct Row {
    name: &'static str,
    build: [Option<Duration>; 2],
    rates: [Option<f64>; 4], // v4-random v4-table v6-random v6-table
    upd: [Option<f64>; 2],
    upd_note: [&'static str; 2],
    mem: [Option<usize>; 2],
}

struct Checks {
    sums: Vec<(String, &'static str, u64)>,
}
impl Checks {
    fn add(&mut self, set: &str, engine: &'static str, sum: u64) {
        self.sums.push((set.to_string(), engine, sum));
    }
    fn verify(&self) -> bool {
        let mut ok = true;
        let mut sets: Vec<&String> = Vec::new();
        for s in &self.sums {
            if !sets.contains(&&s.0) {
                sets.push(&s.0);
            }
        }
        for set in sets {
            let all: Vec<_> = self.sums.iter().filter(|s| &s.0 == set).collect();
            let want = all[0].2;
            for s in &all {
                if s.2 != want {
                    eprintln!(
                        "CHECKSUM MISMATCH on {set}: {} = {:#x}, {} = {:#x}",
                        all[0].1, want, s.1, s.2
                    );
                    ok = false;
                }
            }
            println!(
                "checksum {set:<16} {want:#018x} ({} engines agree)",
                all.len()
            );
        }
        ok
    }
}

fn built<T>(f: impl FnOnce() -> T) -> (T, Duration, usize) {
    let before = live();
    let t = Instant::now();
    let x = f();
    let el = t.elapsed();
    (x, el, (live() - before).max(0) as usize)
}

fn main() {
    let mut n_keys = 10_000_000usize;
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--keys" => n_keys = args.next().and_then(|s| s.parse().ok()).expect("--keys N"),
            "--only" => {
                only = args
                    .next()
                    .expect("--only ENGINE[,ENGINE…]")
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            other => {
                eprintln!(
                    "usage: lpm_compare [--keys N] [--only ENGINE,…]  (unknown argument {other})"
                );
                std::process::exit(2);
            }
        }
    }

    let (v4, v6, source) = match (load::<u32>("v4"), load::<u128>("v6")) {
        (Some(a), Some(b)) => (
            a,
            b,
            format!("RIS table from {}", ris::data_dir().display()),
        ),
        _ => (
            generate::<u32>(V4_DIST, 1_042_325, 1_393_421, 4),
            generate::<u128>(V6_DIST, 246_175, 1_238_235, 6),
            format!(
                "GENERATED table with the RIS prefix-length distribution ({} not found)",
                ris::data_dir().display()
            ),
        ),
    };
    println!("data: {source}");
    println!(
        "v4: {} prefixes, {} updates; v6: {} prefixes, {} updates; {} keys per set, median of 3",
        v4.0.len(),
        v4.1.len(),
        v6.0.len(),
        v6.1.len(),
        n_keys
    );
    let (v4_random, v4_inside) = keys(&v4.0, n_keys, 42);
    let (v6_random, v6_inside) = keys(&v6.0, n_keys, 43);

    let mut checks = Checks { sums: Vec::new() };
    let mut rows: Vec<Row> = Vec::new();
    let mut batch_rates = [0f64; 4];
    let mut lm_rates = [0f64; 4];
    let mut fib_batch_rates = [0f64; 4];

    // Values: entry i of the table has value i; the j-th update announces value n + j.
    let t4: Vec<(u32, u8, u32)> =
        v4.0.iter()
            .enumerate()
            .map(|(i, &(k, l))| (k, l, i as u32))
            .collect();
    let t6: Vec<(u128, u8, u32)> =
        v6.0.iter()
            .enumerate()
            .map(|(i, &(k, l))| (k, l, i as u32))
            .collect();
    let u4 = &v4.1;
    let u6 = &v6.1;
    let base4 = t4.len() as u32;
    let base6 = t6.len() as u32;

    let sets4: [(&str, &[u32]); 2] = [("v4-random", &v4_random), ("v4-table", &v4_inside)];
    let sets6: [(&str, &[u128]); 2] = [("v6-random", &v6_random), ("v6-table", &v6_inside)];
    // Whether `--only` selects the engine `name` ("netplumb" selects "netplumb/fib" too).
    let selected = |name: &str| {
        only.is_empty()
            || only.iter().any(|o| {
                o == name
                    || name
                        .strip_prefix(o.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
    };
    macro_rules! engine {
        (@sets 0) => { sets4 };
        (@sets 1) => { sets6 };
        ($name:expr, $row:ident, $fam:tt, $build:expr, $lookup:expr, $update:expr) => {
            if selected($name) {
                engine!(@run $name, $row, $fam, $build, $lookup, $update)
            }
        };
        (@run $name:expr, $row:ident, $fam:tt, $build:expr, $lookup:expr, $update:expr) => {{
            let (mut m, el, mem) = built($build);
            $row.build[$fam] = Some(el);
            $row.mem[$fam] = Some(mem);
            let sets = engine!(@sets $fam);
            for (j, (set, ks)) in sets.iter().enumerate() {
                let (rate, sum) = measure(ks, |k| $lookup(&m, k));
                $row.rates[$fam * 2 + j] = Some(rate);
                checks.add(set, $name, sum);
            }
            #[allow(clippy::redundant_closure_call)]
            if let Some((rate, note, complete)) = $update(&mut m) {
                $row.upd[$fam] = Some(rate);
                $row.upd_note[$fam] = note;
                if complete {
                    let set = sets[1];
                    let (_, sum) = measure(&set.1[..set.1.len().min(1_000_000)], |k| $lookup(&m, k));
                    checks.add(&format!("{}+updates", set.0), $name, sum);
                }
            }
            drop(m);
        }};
    }

    fn replay<K: Copy, M>(
        m: &mut M,
        upd: &Updates<K>,
        base: u32,
        mut f: impl FnMut(&mut M, bool, K, u8, u32),
    ) -> f64 {
        let t = Instant::now();
        for (j, &(a, k, l)) in upd.iter().enumerate() {
            f(m, a, k, l, base + j as u32);
        }
        upd.len() as f64 / t.elapsed().as_secs_f64()
    }

    let v4net = |k: u32, l: u8| ipnet::Ipv4Net::new(Ipv4Addr::from_bits(k), l).unwrap();
    let v6net = |k: u128, l: u8| ipnet::Ipv6Net::new(Ipv6Addr::from_bits(k), l).unwrap();
    let p4 = |k: u32, l: u8| Prefix::new(Ipv4Addr::from_bits(k), l).unwrap();
    let p6 = |k: u128, l: u8| Prefix::new(Ipv6Addr::from_bits(k), l).unwrap();

    // ---- netplumb
    let mut row = Row {
        name: "netplumb",
        ..Default::default()
    };
    engine!(
        "netplumb",
        row,
        0,
        || t4
            .iter()
            .map(|&(k, l, v)| (p4(k, l), v))
            .collect::<PrefixMap<Ipv4Addr, u32>>(),
        |m: &PrefixMap<Ipv4Addr, u32>, k: u32| m
            .lookup(Ipv4Addr::from_bits(k))
            .map_or(0, |v| v + 1),
        |m: &mut PrefixMap<Ipv4Addr, u32>| {
            // Batch lookups, reported separately.
            for (j, ks) in [&v4_random, &v4_inside].iter().enumerate() {
                let set = ["v4-random", "v4-table"][j];
                batch_rates[j] = batch4(m, ks, &mut checks, set);
                lm_rates[j] = longest(m, ks, Ipv4Addr::from_bits, &mut checks, set);
            }
            Some((
                replay(m, u4, base4, |m, a, k, l, v| {
                    if a {
                        m.insert(p4(k, l), v);
                    } else {
                        m.remove(&p4(k, l));
                    }
                }),
                "",
                true,
            ))
        }
    );
    engine!(
        "netplumb",
        row,
        1,
        || t6
            .iter()
            .map(|&(k, l, v)| (p6(k, l), v))
            .collect::<PrefixMap<Ipv6Addr, u32>>(),
        |m: &PrefixMap<Ipv6Addr, u32>, k: u128| m
            .lookup(Ipv6Addr::from_bits(k))
            .map_or(0, |v| v + 1),
        |m: &mut PrefixMap<Ipv6Addr, u32>| {
            for (j, ks) in [&v6_random, &v6_inside].iter().enumerate() {
                let set = ["v6-random", "v6-table"][j];
                batch_rates[2 + j] = batch6(m, ks, &mut checks, set);
                lm_rates[2 + j] = longest(m, ks, Ipv6Addr::from_bits, &mut checks, set);
            }
            Some((
                replay(m, u6, base6, |m, a, k, l, v| {
                    if a {
                        m.insert(p6(k, l), v);
                    } else {
                        m.remove(&p6(k, l));
                    }
                }),
                "",
                true,
            ))
        }
    );
    rows.push(row);

    // ---- netplumb/fib: lpm::Fib, the next-hop id in the trie's leaves
    let mut row = Row {
        name: "netplumb/fib",
        ..Default::default()
    };
    engine!(
        "netplumb/fib",
        row,
        0,
        || Fib::<Ipv4Addr>::try_from_iter(t4.iter().map(|&(k, l, v)| (p4(k, l), v)))
            .expect("the ids are below Fib::MAX_ID"),
        |m: &Fib<Ipv4Addr>, k: u32| m.lookup(Ipv4Addr::from_bits(k)).map_or(0, |v| v + 1),
        |m: &mut Fib<Ipv4Addr>| {
            for (j, ks) in [&v4_random, &v4_inside].iter().enumerate() {
                let addrs: Vec<Ipv4Addr> = ks.iter().map(|&k| Ipv4Addr::from_bits(k)).collect();
                fib_batch_rates[j] = batch_with(
                    &addrs,
                    &mut checks,
                    ["v4-random", "v4-table"][j],
                    "netplumb/fb",
                    |c, o| m.lookup_batch(c, o),
                );
            }
            Some((
                replay(m, u4, base4, |m, a, k, l, v| {
                    if a {
                        m.insert(p4(k, l), v)
                            .expect("the ids are below Fib::MAX_ID");
                    } else {
                        m.remove(&p4(k, l));
                    }
                }),
                "",
                true,
            ))
        }
    );
    engine!(
        "netplumb/fib",
        row,
        1,
        || Fib::<Ipv6Addr>::try_from_iter(t6.iter().map(|&(k, l, v)| (p6(k, l), v)))
            .expect("the ids are below Fib::MAX_ID"),
        |m: &Fib<Ipv6Addr>, k: u128| m.lookup(Ipv6Addr::from_bits(k)).map_or(0, |v| v + 1),
        |m: &mut Fib<Ipv6Addr>| {
            for (j, ks) in [&v6_random, &v6_inside].iter().enumerate() {
                let addrs: Vec<Ipv6Addr> = ks.iter().map(|&k| Ipv6Addr::from_bits(k)).collect();
                fib_batch_rates[2 + j] = batch_with(
                    &addrs,
                    &mut checks,
                    ["v6-random", "v6-table"][j],
                    "netplumb/fb",
                    |c, o| m.lookup_batch(c, o),
                );
            }
            Some((
                replay(m, u6, base6, |m, a, k, l, v| {
                    if a {
                        m.insert(p6(k, l), v)
                            .expect("the ids are below Fib::MAX_ID");
                    } else {
                        m.remove(&p6(k, l));
                    }
                }),
                "",
                true,
            ))
        }
    );
    rows.push(row);

    // ---- netplumb/shared: lpm::SharedFib, readers on threads while the writer replays
    let mut shared: Option<SharedFigures> = None;
    if selected("netplumb/shared") {
        let f = shared_figures(&t4, u4, base4, &v4_inside, &mut checks);
        println!(
            "netplumb/shared (lpm::SharedFib, v4-table keys, one reader per core, publish {}):",
            f.policy
        );
        println!(
            "  lone Fib: lookups {:.1} M/s, updates {:.1} M/s, heap {:.1} MiB",
            f.lone_read / 1e6,
            f.lone_write / 1e6,
            f.lone_mem as f64 / (1 << 20) as f64
        );
        println!(
            "  shared:   1 reader {:.1} M/s; 2 readers {:.1} + {:.1} M/s ({:.2}x one); while the writer replays: reader {:.1} M/s ({:.2}x read-only shared, {:.2}x lone Fib), writer {:.1} M/s ({:.2}x lone Fib; {} publishes; with no reader busy {:.1} M/s, {:.2}x); heap {:.1} MiB ({:.2}x)",
            f.read1 / 1e6,
            f.read2[0] / 1e6,
            f.read2[1] / 1e6,
            (f.read2[0] + f.read2[1]) / f.read1,
            f.read_busy / 1e6,
            f.read_busy / f.read1,
            f.read_busy / f.lone_read,
            f.write_busy / 1e6,
            f.write_busy / f.lone_write,
            f.publishes,
            f.write_alone / 1e6,
            f.write_alone / f.lone_write,
            f.mem as f64 / (1 << 20) as f64,
            f.mem as f64 / f.lone_mem as f64
        );
        println!(
            "  per thread CPU second (waits for a core left out): 1 reader {:.1} M/s; while the writer replays: reader {:.1} M/s ({:.2}x), writer {:.1} M/s ({:.2}x lone Fib's {:.1})",
            f.cpu_read1 / 1e6,
            f.cpu_read_busy / 1e6,
            f.cpu_read_busy / f.cpu_read1,
            f.cpu_write_busy / 1e6,
            f.cpu_write_busy / f.cpu_lone_write,
            f.cpu_lone_write / 1e6
        );
        println!(
            "  in bursts of {BURST} (lookup_batch): lone Fib {:.1} M/s; 1 reader {:.1} M/s ({:.2}x lone Fib); while the writer replays: reader {:.1} M/s ({:.2}x read-only shared, {:.2}x lone Fib), writer {:.1} M/s ({:.2}x lone Fib)",
            f.lone_burst / 1e6,
            f.burst1 / 1e6,
            f.burst1 / f.lone_burst,
            f.burst_busy / 1e6,
            f.burst_busy / f.burst1,
            f.burst_busy / f.lone_burst,
            f.burst_write / 1e6,
            f.burst_write / f.lone_write
        );
        // Two readers that together barely beat one mean the two cores were not independent
        // while they ran (a VM whose two vCPUs shared a physical core then, or a neighbour's
        // load): the figures with a writer on the other core say little about `SharedFib`.
        let scale = (f.read2[0] + f.read2[1]) / f.read1;
        if scale < SCALE_WARN {
            println!(
                "  warning: two readers made only {scale:.2}x one reader's lookups: the two cores were not independent during this run (in a VM: vCPUs sharing a physical core, or a busy neighbour); the rates measured with a writer on the other core are unreliable"
            );
        }
        println!(
            "  publishes while the reader looks up one address at a time: {} ({} deferred), one every {:.0} µs of the writer's wall time on average",
            f.publishes,
            f.deferred,
            f.publish_interval * 1e6
        );
        shared = Some(f);
    }

    // ---- prefix-trie
    let mut row = Row {
        name: "prefix-trie",
        ..Default::default()
    };
    engine!(
        "prefix-trie",
        row,
        0,
        || {
            let mut m = prefix_trie::PrefixMap::new();
            for &(k, l, v) in &t4 {
                m.insert(v4net(k, l), v);
            }
            m
        },
        |m: &prefix_trie::PrefixMap<ipnet::Ipv4Net, u32>, k: u32| m
            .get_lpm(&v4net(k, 32))
            .map_or(0, |(_, v)| v + 1),
        |m: &mut prefix_trie::PrefixMap<ipnet::Ipv4Net, u32>| Some((
            replay(m, u4, base4, |m, a, k, l, v| {
                if a {
                    m.insert(v4net(k, l), v);
                } else {
                    m.remove(&v4net(k, l));
                }
            }),
            "",
            true
        ))
    );
    engine!(
        "prefix-trie",
        row,
        1,
        || {
            let mut m = prefix_trie::PrefixMap::new();
            for &(k, l, v) in &t6 {
                m.insert(v6net(k, l), v);
            }
            m
        },
        |m: &prefix_trie::PrefixMap<ipnet::Ipv6Net, u32>, k: u128| m
            .get_lpm(&v6net(k, 128))
            .map_or(0, |(_, v)| v + 1),
        |m: &mut prefix_trie::PrefixMap<ipnet::Ipv6Net, u32>| Some((
            replay(m, u6, base6, |m, a, k, l, v| {
                if a {
                    m.insert(v6net(k, l), v);
                } else {
                    m.remove(&v6net(k, l));
                }
            }),
            "",
            true
        ))
    );
    rows.push(row);

    // ---- treebitmap
    use ip_network_table_deps_treebitmap::IpLookupTable;
    let mut row = Row {
        name: "treebitmap",
        ..Default::default()
    };
    engine!(
        "treebitmap",
        row,
        0,
        || {
            let mut m = IpLookupTable::new();
            for &(k, l, v) in &t4 {
                m.insert(Ipv4Addr::from_bits(k), l as u32, v);
            }
            m
        },
        |m: &IpLookupTable<Ipv4Addr, u32>, k: u32| m
            .longest_match(Ipv4Addr::from_bits(k))
            .map_or(0, |(_, _, v)| v + 1),
        |m: &mut IpLookupTable<Ipv4Addr, u32>| Some((
            replay(m, u4, base4, |m, a, k, l, v| {
                if a {
                    m.insert(Ipv4Addr::from_bits(k), l as u32, v);
                } else {
                    m.remove(Ipv4Addr::from_bits(k), l as u32);
                }
            }),
            "",
            true
        ))
    );
    engine!(
        "treebitmap",
        row,
        1,
        || {
            let mut m = IpLookupTable::new();
            for &(k, l, v) in &t6 {
                m.insert(Ipv6Addr::from_bits(k), l as u32, v);
            }
            m
        },
        |m: &IpLookupTable<Ipv6Addr, u32>, k: u128| m
            .longest_match(Ipv6Addr::from_bits(k))
            .map_or(0, |(_, _, v)| v + 1),
        |m: &mut IpLookupTable<Ipv6Addr, u32>| Some((
            replay(m, u6, base6, |m, a, k, l, v| {
                if a {
                    m.insert(Ipv6Addr::from_bits(k), l as u32, v);
                } else {
                    m.remove(Ipv6Addr::from_bits(k), l as u32);
                }
            }),
            "",
            true
        ))
    );
    rows.push(row);

    // ---- ts_bart
    use ts_bart::RoutingTable;
    let mut row = Row {
        name: "ts_bart",
        ..Default::default()
    };
    engine!(
        "ts_bart",
        row,
        0,
        || {
            let mut m = ts_bart::Table::<u32>::default();
            for &(k, l, v) in &t4 {
                m.insert(v4net(k, l).into(), v);
            }
            m
        },
        |m: &ts_bart::Table<u32>, k: u32| m
            .lookup(IpAddr::V4(Ipv4Addr::from_bits(k)))
            .map_or(0, |v| v + 1),
        |m: &mut ts_bart::Table<u32>| Some((
            replay(m, u4, base4, |m, a, k, l, v| {
                if a {
                    m.insert(v4net(k, l).into(), v);
                } else {
                    m.remove(v4net(k, l).into());
                }
            }),
            "",
            true
        ))
    );
    engine!(
        "ts_bart",
        row,
        1,
        || {
            let mut m = ts_bart::Table::<u32>::default();
            for &(k, l, v) in &t6 {
                m.insert(v6net(k, l).into(), v);
            }
            m
        },
        |m: &ts_bart::Table<u32>, k: u128| m
            .lookup(IpAddr::V6(Ipv6Addr::from_bits(k)))
            .map_or(0, |v| v + 1),
        |m: &mut ts_bart::Table<u32>| Some((
            replay(m, u6, base6, |m, a, k, l, v| {
                if a {
                    m.insert(v6net(k, l).into(), v);
                } else {
                    m.remove(v6net(k, l).into());
                }
            }),
            "",
            true
        ))
    );
    rows.push(row);

    // ---- poptrie (bulk build; its inserts rebuild, so the replay is time-boxed)
    use poptrie::Poptrie;
    let mut row = Row {
        name: "poptrie",
        ..Default::default()
    };
    fn boxed<K: Copy, M>(
        m: &mut M,
        upd: &Updates<K>,
        base: u32,
        mut f: impl FnMut(&mut M, bool, K, u8, u32),
    ) -> (f64, bool) {
        let t = Instant::now();
        let mut n = 0;
        for (j, &(a, k, l)) in upd.iter().enumerate() {
            f(m, a, k, l, base + j as u32);
            n += 1;
            if t.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        (n as f64 / t.elapsed().as_secs_f64(), n == upd.len())
    }
    engine!(
        "poptrie",
        row,
        0,
        || t4
            .iter()
            .map(|&(k, l, v)| ((Ipv4Addr::from_bits(k), l), v))
            .collect::<Poptrie<(Ipv4Addr, u8), u32>>(),
        |m: &Poptrie<(Ipv4Addr, u8), u32>, k: u32| m.lookup(k).map_or(0, |v| v + 1),
        |m: &mut Poptrie<(Ipv4Addr, u8), u32>| {
            let (r, all) = boxed(m, u4, base4, |m, a, k, l, v| {
                if a {
                    m.insert((Ipv4Addr::from_bits(k), l), v);
                } else {
                    m.remove((Ipv4Addr::from_bits(k), l));
                }
            });
            Some((r, if all { "" } else { "*" }, all))
        }
    );
    engine!(
        "poptrie",
        row,
        1,
        || t6
            .iter()
            .map(|&(k, l, v)| ((Ipv6Addr::from_bits(k), l), v))
            .collect::<Poptrie<(Ipv6Addr, u8), u32>>(),
        |m: &Poptrie<(Ipv6Addr, u8), u32>, k: u128| m.lookup(k).map_or(0, |v| v + 1),
        |m: &mut Poptrie<(Ipv6Addr, u8), u32>| {
            let (r, all) = boxed(m, u6, base6, |m, a, k, l, v| {
                if a {
                    m.insert((Ipv6Addr::from_bits(k), l), v);
                } else {
                    m.remove((Ipv6Addr::from_bits(k), l));
                }
            });
            Some((r, if all { "" } else { "*" }, all))
        }
    );
    rows.push(row);

    // ---- DIR-24-8 (IPv4 only, static)
    let mut row = Row {
        name: "dir-24-8",
        ..Default::default()
    };
    engine!(
        "dir-24-8",
        row,
        0,
        || Dir24::build(&t4),
        |m: &Dir24, k: u32| m.lookup(k),
        |_m: &mut Dir24| None::<(f64, &'static str, bool)>
    );
    rows.push(row);

    // ---- vs-dir24, paired: lpm::Fib and DIR-24-8 timed in alternation (see `paired_dir24`)
    let paired = (selected("netplumb/fib") && selected("dir-24-8"))
        .then(|| paired_dir24(&t4, &v4_inside, &mut checks));

    // ---- report
    let f_rate = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}", r / 1e6));
    let f_mem = |m: Option<usize>| {
        m.map_or("-".to_string(), |m| {
            format!("{:.1}", m as f64 / (1 << 20) as f64)
        })
    };
    let f_ms = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{}", d.as_millis()));
    println!();
    println!(
        "{:<12} {:>8} {:>8} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>8} {:>8}",
        "engine",
        "build4ms",
        "build6ms",
        "v4-rand",
        "v4-table",
        "v6-rand",
        "v6-table",
        "upd4 M/s",
        "upd6 M/s",
        "heap4MiB",
        "heap6MiB"
    );
    println!(
        "{:<12} {:>8} {:>8} | {:>9} {:>9} {:>9} {:>9} |",
        "", "", "", "Mlps", "Mlps", "Mlps", "Mlps"
    );
    for r in &rows {
        println!(
            "{:<12} {:>8} {:>8} | {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>8} {:>8}",
            r.name,
            f_ms(r.build[0]),
            f_ms(r.build[1]),
            f_rate(r.rates[0]),
            f_rate(r.rates[1]),
            f_rate(r.rates[2]),
            f_rate(r.rates[3]),
            format!("{}{}", f_rate(r.upd[0]), r.upd_note[0]),
            format!("{}{}", f_rate(r.upd[1]), r.upd_note[1]),
            f_mem(r.mem[0]),
            f_mem(r.mem[1]),
        );
    }
    // The per-call rows, for the engines that ran (an engine left out by `--only` measured
    // nothing, and a row of zeros would read as a result).
    for (name, rates) in [
        ("netplumb/b", batch_rates),
        ("netplumb/lm", lm_rates),
        ("netplumb/fb", fib_batch_rates),
    ] {
        if rates.iter().any(|&r| r > 0.0) {
            println!(
                "{:<12} {:>8} {:>8} | {:>9} {:>9} {:>9} {:>9} |",
                name,
                "",
                "",
                f_rate(Some(rates[0])),
                f_rate(Some(rates[1])),
                f_rate(Some(rates[2])),
                f_rate(Some(rates[3]))
            );
        }
    }
    println!("(netplumb/b = PrefixMap::lookup_batch, netplumb/lm = PrefixMap::longest_match, netplumb/fb = Fib::lookup_batch; * = poptrie's replay time-boxed to 3 s because each update rebuilds; dir-24-8 is static)");
    if let Some(p) = &paired {
        println!(
            "vs-dir24, paired (lpm::Fib / DIR-24-8 on v4-table keys, {PAIRS} passes each, alternating, each after a warm-up over {WARM} keys): median {:.2}x, range {:.2}-{:.2}x; Fib {:.1} M/s, DIR-24-8 {:.1} M/s (medians)",
            p.ratio,
            p.lo,
            p.hi,
            p.fib / 1e6,
            p.dir / 1e6
        );
    }
    println!();
    let ok = checks.verify();
    if !ok {
        eprintln!("FAILED: engines disagree");
        std::process::exit(1);
    }

    let np = &rows[0];
    let peer = |r: &&Row| !r.name.starts_with("netplumb");
    let best_peer = |i: usize| {
        rows.iter()
            .filter(peer)
            .filter(|r| r.name != "dir-24-8")
            .filter_map(|r| r.rates[i])
            .fold(0f64, f64::max)
    };
    let best_upd = rows
        .iter()
        .filter(peer)
        .filter(|r| r.name != "dir-24-8" && r.name != "poptrie")
        .filter_map(|r| r.upd[0])
        .fold(0f64, f64::max);
    let dir = rows
        .iter()
        .find(|r| r.name == "dir-24-8")
        .and_then(|r| r.rates[1])
        .unwrap_or(f64::NAN);
    // A column whose peers were left out (`--only`) has no ratio.
    let x = |r: f64| {
        if r.is_finite() && r > 0.0 {
            format!("{r:.2}x")
        } else {
            "n/a".to_string()
        }
    };
    // Each ratio of a netplumb engine's row.
    // `vs_dir`: the ratio to DIR-24-8 when measured apart (the paired figure for `Fib`);
    // else the row's v4-table rate over DIR-24-8's.
    let ratios = |r: &Row, vs_dir: Option<f64>| {
        format!(
            "v4-random {} v4-table {} v6-random {} v6-table {} updates {} vs-dir24 {}",
            x(r.rates[0].unwrap_or(0.0) / best_peer(0)),
            x(r.rates[1].unwrap_or(0.0) / best_peer(1)),
            x(r.rates[2].unwrap_or(0.0) / best_peer(2)),
            x(r.rates[3].unwrap_or(0.0) / best_peer(3)),
            x(r.upd[0].unwrap_or(0.0) / best_upd),
            x(vs_dir.unwrap_or(r.rates[1].unwrap_or(0.0) / dir))
        )
    };
    println!(
        "netplumb (lpm::PrefixMap) vs best peer: {}",
        ratios(np, None)
    );
    // PrefixMap's three ways to look up, each against the best peer's lookup.
    let calls = |r: [f64; 4]| {
        format!(
            "v4-random {} v4-table {} v6-random {} v6-table {}",
            x(r[0] / best_peer(0)),
            x(r[1] / best_peer(1)),
            x(r[2] / best_peer(2)),
            x(r[3] / best_peer(3))
        )
    };
    if lm_rates.iter().any(|&r| r > 0.0) {
        println!(
            "netplumb PrefixMap per call vs best peer: lookup_batch {} | longest_match {}",
            calls(batch_rates),
            calls(lm_rates)
        );
    }
    // The last line: netplumb's forwarding table, `lpm::Fib` (the values here are u32 ids).
    let fib = rows.iter().find(|r| r.name == "netplumb/fib").unwrap_or(np);
    let shared_ratios = shared.map_or("shared-read n/a shared-write n/a".to_string(), |f| {
        format!(
            "shared-read {} shared-write {}",
            x(f.read_busy / f.lone_read),
            x(f.write_busy / f.lone_write)
        )
    });
    // `Fib`'s vs-dir24 is the paired figure when it ran.
    let vs_dir = paired.as_ref().map(|p| p.ratio);
    println!(
        "speedup vs best peer: {} {shared_ratios}",
        ratios(fib, vs_dir)
    );
}

// ---------------------------------------------------------------- vs-dir24, paired

/// Timed passes of each engine in the paired `vs-dir24` figure (even: each engine goes
/// first in half of the pairs).
const PAIRS: usize = 8;

/// Keys of the warm-up before each paired pass.
const WARM: usize = 1 << 18;

/// The median of `v` (sorted in place; the upper one of an even count).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The paired `vs-dir24` figure: medians of the two engines' rates and of their ratio.
struct Paired {
    fib: f64,
    dir: f64,
    ratio: f64,
    lo: f64,
    hi: f64,
}

/// One pass over `warm` (untimed: the engine's lines back in the cache after the other
/// engine's pass), then one timed pass over `keys`: (lookups per second, checksum). Never
/// inlined, as [`measure`].
#[inline(never)]
fn warm_pass(warm: &[u32], keys: &[u32], f: impl Fn(u32) -> u32) -> (f64, u64) {
    let mut s = 0u64;
    for &k in warm {
        s = s.wrapping_add(f(k) as u64);
    }
    std::hint::black_box(s);
    let t = Instant::now();
    let mut s = 0u64;
    for &k in keys {
        s = s.wrapping_add(f(k) as u64);
    }
    (
        keys.len() as f64 / t.elapsed().as_secs_f64(),
        std::hint::black_box(s),
    )
}

/// `lpm::Fib` against DIR-24-8 on the in-table IPv4 keys, timed in alternation (the order
/// swapped at each pair), each pass after a warm-up over [`WARM`] keys: their ratio is taken
/// pass by pass, so that a machine whose rates drift over the run (other tenants' load, the
/// shared L3) moves both engines alike. The separate rows time each engine in its own turn,
/// a minute apart.
fn paired_dir24(t4: &[(u32, u8, u32)], keys: &[u32], checks: &mut Checks) -> Paired {
    let p4 = |k: u32, l: u8| Prefix::new(Ipv4Addr::from_bits(k), l).unwrap();
    let fib = Fib::<Ipv4Addr>::try_from_iter(t4.iter().map(|&(k, l, v)| (p4(k, l), v)))
        .expect("the ids are below Fib::MAX_ID");
    let dir = Dir24::build(t4);
    let warm = &keys[..keys.len().min(WARM)];
    let fib_pass = || {
        warm_pass(warm, keys, |k| {
            fib.lookup(Ipv4Addr::from_bits(k)).map_or(0, |v| v + 1)
        })
    };
    let dir_pass = || warm_pass(warm, keys, |k| dir.lookup(k));
    let (mut f, mut d, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PAIRS {
        let ((fr, fs), (dr, ds)) = if i % 2 == 0 {
            let a = fib_pass();
            (a, dir_pass())
        } else {
            let b = dir_pass();
            (fib_pass(), b)
        };
        if i == 0 {
            checks.add("v4-table", "netplumb/fib-paired", fs);
            checks.add("v4-table", "dir-24-8-paired", ds);
        }
        f.push(fr);
        d.push(dr);
        r.push(fr / dr);
    }
    let (fib, dir, ratio) = (median(&mut f), median(&mut d), median(&mut r));
    Paired {
        fib,
        dir,
        ratio,
        lo: r[0],
        hi: r[r.len() - 1],
    }
}

// ---------------------------------------------------------------- SharedFib

/// The writer publishes after this many updates (a batch, as a control plane would). The
/// headline figures use it; `LPM_SHARED_PUBLISH_EVERY=N` (updates) or
/// `LPM_SHARED_PUBLISH_US=T` (microseconds of the writer's wall time since its last publish,
/// looked at every 64 updates) change it, to measure what the batch costs.
const SHARED_PUBLISH_EVERY: usize = 1024;

/// When the writer of `shared_figures` publishes.
#[derive(Clone, Copy)]
enum Publish {
    /// After every this many updates.
    Every(usize),
    /// Once this long has passed since the last publish.
    After(Duration),
}

impl Publish {
    fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        if let Some(us) = var("LPM_SHARED_PUBLISH_US").filter(|&us| us > 0) {
            return Publish::After(Duration::from_micros(us));
        }
        Publish::Every(
            var("LPM_SHARED_PUBLISH_EVERY").map_or(SHARED_PUBLISH_EVERY, |n| n.max(1) as usize),
        )
    }
}

impl std::fmt::Display for Publish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Publish::Every(n) => write!(f, "every {n} updates"),
            Publish::After(d) => write!(f, "every {} µs of the writer's time", d.as_micros()),
        }
    }
}

/// Replays `ops` `passes` times into `w`, publishing as `policy` says (and at the end of
/// each pass); returns the publishes made and those deferred (a reader still in the level
/// left behind).
fn replay_shared(
    w: &mut SharedFib<Ipv4Addr>,
    ops: &[FibOp<Ipv4Addr>],
    passes: usize,
    policy: Publish,
) -> (usize, usize) {
    let (mut made, mut deferred) = (0, 0);
    let mut last = Instant::now();
    // Updates since the last publish (a counter: a division per update would cost the
    // writer a tenth of its rate).
    let mut since = 0usize;
    for _ in 0..passes {
        for (i, &op) in ops.iter().enumerate() {
            match op {
                FibOp::Insert(p, id) => {
                    w.insert(p, id).expect("below MAX_ID");
                }
                FibOp::Remove(p) => {
                    w.remove(&p);
                }
            }
            since += 1;
            let due = i + 1 == ops.len()
                || match policy {
                    Publish::Every(n) => since >= n,
                    Publish::After(d) => since % 64 == 0 && last.elapsed() >= d,
                };
            if due && w.staged() > 0 {
                since = 0;
                if w.publish() {
                    made += 1;
                } else {
                    deferred += 1;
                }
                last = Instant::now();
            }
        }
    }
    (made, deferred)
}

/// Rates in per second, memory in bytes.
struct SharedFigures {
    lone_read: f64,
    lone_write: f64,
    lone_mem: usize,
    read1: f64,
    read2: [f64; 2],
    read_busy: f64,
    write_busy: f64,
    /// The same rates per second of the thread's own CPU time (see [`thread_cpu`]): the
    /// lone `Fib`'s updates, one reader alone, the reader and the writer at once.
    cpu_lone_write: f64,
    cpu_read1: f64,
    cpu_read_busy: f64,
    cpu_write_busy: f64,
    write_alone: f64,
    publishes: usize,
    /// Publishes deferred while the reader looked up.
    deferred: usize,
    /// The writer's wall time while the reader looked up, over `publishes`.
    publish_interval: f64,
    policy: Publish,
    mem: usize,
    /// Lookups in bursts of [`BURST`] (`lookup_batch`): the lone `Fib`, one shared reader
    /// alone, the reader while the writer replays; and the writer's rate then.
    lone_burst: f64,
    burst1: f64,
    burst_busy: f64,
    burst_write: f64,
}

/// Pins the calling thread to the cores `cpus`, so that the reader and the writer each have
/// one (Linux; elsewhere a no-op; `LPM_NO_PIN=1` leaves the threads to the scheduler,
/// `LPM_SWAP_PINS=1` puts the reader on core 1 and the writer on core 0).
fn pin(cpus: &[usize]) {
    if std::env::var_os("LPM_NO_PIN").is_some() {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed `cpu_set_t` is valid; the call only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpus;
}

/// The calling thread's CPU time in seconds (Linux; elsewhere `NAN`): rates per second of it
/// leave out the time the thread waited for a core, which wall-clock rates on a loaded
/// machine do not.
fn thread_cpu() -> f64 {
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed `timespec` is valid; the call only writes it.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        if libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    f64::NAN
}

/// Lookups per second of `chunk` (which looks up a chunk of `keys` and returns its
/// checksum) over `keys` until `stop` (at least one pass), their checksum, and lookups per
/// second of the thread's CPU time.
fn spin(keys: &[u32], stop: &AtomicBool, mut chunk: impl FnMut(&[u32]) -> u64) -> (f64, u64, f64) {
    let (t, c) = (Instant::now(), thread_cpu());
    let (mut n, mut sum) = (0usize, 0u64);
    for ks in keys.chunks(1 << 16).cycle() {
        sum = sum.wrapping_add(chunk(ks));
        n += ks.len();
        if n >= keys.len() && stop.load(Relaxed) {
            break;
        }
    }
    (
        n as f64 / t.elapsed().as_secs_f64(),
        std::hint::black_box(sum),
        n as f64 / (thread_cpu() - c),
    )
}

/// [`spin`], `f` looking up one address at a time.
fn spin_lookups(keys: &[u32], stop: &AtomicBool, mut f: impl FnMut(u32) -> u32) -> (f64, u64, f64) {
    spin(keys, stop, |ks| {
        ks.iter().fold(0u64, |s, &k| s.wrapping_add(f(k) as u64))
    })
}

/// Below this many times one reader's rate (the issue's target for two readers), two readers
/// (one per core) mean the cores were not independent: measured on a 2-vCPU VM, the runs
/// whose two readers made 0.97-1.62x one reader's lookups gave the reader 0.23-0.44x a lone
/// `Fib` while the writer replayed (one address at a time), and 0.36-0.72x in bursts; the
/// runs at 1.88-2.64x, 0.32-0.77x and 0.94-1.51x.
const SCALE_WARN: f64 = 1.8;

/// Timed passes (over 2^20 keys, each after an untimed one) of the lone `Fib` and of the
/// shared reader alone, each.
const ALONE: usize = 5;

/// How long two readers look up at once for the `2 readers` figure.
const BOTH: Duration = Duration::from_millis(300);

/// Addresses per `lookup_batch` call in the burst figures (a receive burst's worth of
/// packets, as DPDK's examples take).
const BURST: usize = 32;

/// [`spin`], `f` answering a burst of [`BURST`] addresses at a time.
fn spin_bursts(
    keys: &[u32],
    stop: &AtomicBool,
    mut f: impl FnMut(&[Ipv4Addr], &mut [Option<u32>]),
) -> (f64, u64, f64) {
    let (mut addrs, mut out) = ([Ipv4Addr::UNSPECIFIED; BURST], [None; BURST]);
    spin(keys, stop, |ks| {
        let mut sum = 0u64;
        for burst in ks.chunks(BURST) {
            for (a, &k) in addrs.iter_mut().zip(burst) {
                *a = Ipv4Addr::from_bits(k);
            }
            let m = burst.len();
            f(&addrs[..m], &mut out[..m]);
            for v in &out[..m] {
                sum = sum.wrapping_add(v.map_or(0, |v| v + 1) as u64);
            }
        }
        sum
    })
}

/// Runs `reader` pinned to `cores.0` while the writer, pinned to `cores.1`, replays `ops`
/// (three passes) into `w` flat out; `stop` is set when the writer is done. Returns the
/// reader's wall and CPU rates, the writer's, its publishes (made, deferred) and wall time.
fn with_writer(
    w: &mut SharedFib<Ipv4Addr>,
    ops: &[FibOp<Ipv4Addr>],
    policy: Publish,
    (rcore, wcore): (usize, usize),
    stop: &AtomicBool,
    reader: impl FnOnce(&AtomicBool) -> (f64, u64, f64),
) -> ((f64, f64, f64, f64), (usize, usize), f64) {
    const PASSES: usize = 3;
    stop.store(false, Relaxed);
    std::thread::scope(|sc| {
        let writer = sc.spawn(move || {
            pin(&[wcore]);
            let (t, c) = (Instant::now(), thread_cpu());
            let publishes = replay_shared(w, ops, PASSES, policy);
            let n = (PASSES * ops.len()) as f64;
            let wall = t.elapsed().as_secs_f64();
            let rates = (n / wall, n / (thread_cpu() - c), wall);
            stop.store(true, Relaxed);
            (rates, publishes)
        });
        pin(&[rcore]);
        // Counts only the lookups made while the writer runs (the reader stops with it).
        let (read, _, cpu_read) = reader(stop);
        let ((write, cpu_write, wall), publishes) = writer.join().unwrap();
        ((read, cpu_read, write, cpu_write), publishes, wall)
    })
}

/// The figures of `SharedFib` against a lone `Fib`, on the IPv4 table: reader rates alone,
/// two readers at once, and one reader while the writer replays the updates (three passes)
/// on the other core; the writer's rate then against a lone `Fib`'s replay. Then the same
/// in bursts of [`BURST`] (`lookup_batch`): the lone `Fib` and the shared reader alone, in
/// alternation, and a second replay with the reader in bursts. Every reader rate is timed
/// over the first 2^20 keys (those of the reader while the writer replays).
fn shared_figures(
    t4: &[(u32, u8, u32)],
    u4: &Updates<u32>,
    base: u32,
    keys: &[u32],
    checks: &mut Checks,
) -> SharedFigures {
    let p4 = |k: u32, l: u8| Prefix::new(Ipv4Addr::from_bits(k), l).unwrap();
    let ops: Vec<FibOp<Ipv4Addr>> = u4
        .iter()
        .enumerate()
        .map(|(j, &(a, k, l))| {
            if a {
                FibOp::Insert(p4(k, l), base + j as u32)
            } else {
                FibOp::Remove(p4(k, l))
            }
        })
        .collect();
    const PASSES: usize = 3;
    // The reader's core (the lone `Fib`'s too) and the writer's; `LPM_SWAP_PINS=1` swaps
    // them, to rule out a slower core.
    let (rcore, wcore) = if std::env::var_os("LPM_SWAP_PINS").is_some() {
        (1, 0)
    } else {
        (0, 1)
    };
    let (fib, _, mut lone_mem) = built(|| {
        Fib::<Ipv4Addr>::try_from_iter(t4.iter().map(|&(k, l, v)| (p4(k, l), v)))
            .expect("the ids are below Fib::MAX_ID")
    });
    pin(&[rcore]);
    // The lone `Fib`'s replay, each pass timed on its own: `PASSES` here and as many again
    // after the shared runs (on the same copy), the rate the median of them all. A single
    // timing of the passes together once gave three fifths of the usual rate, and with it a
    // writer ratio near 1.
    let mut lone = fib.clone();
    let mut lone_rates: Vec<(f64, f64)> = Vec::new();
    let mut lone_passes = |m: &mut Fib<Ipv4Addr>| {
        for _ in 0..PASSES {
            let (t, c) = (Instant::now(), thread_cpu());
            for &op in &ops {
                match op {
                    FibOp::Insert(p, id) => {
                        m.insert(p, id).expect("below MAX_ID");
                    }
                    FibOp::Remove(p) => {
                        m.remove(&p);
                    }
                }
            }
            let n = ops.len() as f64;
            lone_rates.push((n / t.elapsed().as_secs_f64(), n / (thread_cpu() - c)));
        }
    };
    lone_passes(&mut lone);
    lone_mem = lone_mem.max(lone.memory_usage());
    // The shared table is made from a copy (before its bytes are counted): `fib` stays the
    // lone reference of every figure.
    let copy = fib.clone();
    let before = live();
    let mut w = SharedFib::from(copy);
    let mem = (live() - before).max(0) as usize + lone_mem;
    let stop = AtomicBool::new(true);
    let mut r = w.reader();
    // The lone `Fib` and the shared reader alone, one address at a time: one untimed pass
    // over all the keys each for the checksums, then `ALONE` passes each, alternated, timed
    // over the keys the reader uses while the writer replays (below), so that every ratio
    // compares lookups of the same keys.
    let busy_keys = &keys[..keys.len().min(1 << 20)];
    let lone_lookup = |k: u32| fib.lookup(Ipv4Addr::from_bits(k)).map_or(0, |v| v + 1);
    let (_, lone_sum, _) = spin_lookups(keys, &stop, lone_lookup);
    let (_, sum, _) = spin_lookups(keys, &stop, |k| {
        r.lookup(Ipv4Addr::from_bits(k)).map_or(0, |v| v + 1)
    });
    checks.add("v4-table", "netplumb/shared", sum);
    debug_assert_eq!(sum, lone_sum);
    // Each timed pass comes after an untimed one over the same keys: a pass over one table
    // right after a pass over the other starts with the cache full of the other's lines, and
    // on a core with a small L2 that refill weighs on a pass of 2^20 lookups.
    let (lone_read, read1, cpu_read1) = {
        let (mut lone, mut shared, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
        let mut shared_lookup = |k: u32| r.lookup(Ipv4Addr::from_bits(k)).map_or(0, |v| v + 1);
        for _ in 0..ALONE {
            spin_lookups(busy_keys, &stop, lone_lookup);
            lone.push(spin_lookups(busy_keys, &stop, lone_lookup).0);
            spin_lookups(busy_keys, &stop, &mut shared_lookup);
            let (rate, _, c) = spin_lookups(busy_keys, &stop, &mut shared_lookup);
            shared.push(rate);
            cpu.push(c);
        }
        (median(&mut lone), median(&mut shared), median(&mut cpu))
    };
    // The same in bursts of `BURST` addresses (`lookup_batch`), as a data plane reads.
    let (lone_burst, burst1) = {
        let (_, s, _) = spin_bursts(keys, &stop, |c, o| fib.lookup_batch(c, o));
        checks.add("v4-table", "netplumb/fib-burst", s);
        let (_, s, _) = spin_bursts(keys, &stop, |c, o| r.lookup_batch(c, o));
        checks.add("v4-table", "netplumb/shared-burst", s);
        let (mut lone, mut shared) = (Vec::new(), Vec::new());
        for _ in 0..ALONE {
            spin_bursts(busy_keys, &stop, |c, o| fib.lookup_batch(c, o));
            lone.push(spin_bursts(busy_keys, &stop, |c, o| fib.lookup_batch(c, o)).0);
            spin_bursts(busy_keys, &stop, |c, o| r.lookup_batch(c, o));
            shared.push(spin_bursts(busy_keys, &stop, |c, o| r.lookup_batch(c, o)).0);
        }
        (median(&mut lone), median(&mut shared))
    };
    // Two readers, one per core, no writer: both look up the same keys as above, at once,
    // for `BOTH` (at least one pass each).
    let (go, both) = (AtomicBool::new(false), AtomicBool::new(false));
    let read2 = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|c| {
                let (mut r, go, both) = (w.reader(), &go, &both);
                sc.spawn(move || {
                    pin(&[c]);
                    while !go.load(Relaxed) {
                        std::hint::spin_loop();
                    }
                    spin_lookups(busy_keys, both, |k| {
                        r.lookup(Ipv4Addr::from_bits(k)).map_or(0, |v| v + 1)
                    })
                    .0
                })
            })
            .collect();
        go.store(true, Relaxed);
        std::thread::sleep(BOTH);
        both.store(true, Relaxed);
        let v: Vec<f64> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        [v[0], v[1]]
    });
    // The writer with no reader looking up (the readers registered but idle): the cost of
    // exporting the changed regions at each publish, without waits.
    let policy = Publish::from_env();
    let write_alone = {
        let t = Instant::now();
        match policy {
            Publish::Every(n) => {
                for _ in 0..PASSES {
                    for chunk in ops.chunks(n) {
                        let _ = w.apply(chunk.iter().copied()).expect("below MAX_ID");
                    }
                }
            }
            Publish::After(_) => {
                replay_shared(&mut w, &ops, PASSES, policy);
            }
        }
        (PASSES * ops.len()) as f64 / t.elapsed().as_secs_f64()
    };
    // One reader on core 0 while the writer, on core 1, replays flat out (or swapped): first
    // looking up one address at a time, then in bursts.
    let (busy, (publishes, deferred), wall) =
        with_writer(&mut w, &ops, policy, (rcore, wcore), &stop, |stop| {
            spin_lookups(busy_keys, stop, |k| {
                r.lookup(Ipv4Addr::from_bits(k)).map_or(0, |v| v + 1)
            })
        });
    let (read_busy, cpu_read_busy, write_busy, cpu_write_busy) = busy;
    let (busy_b, _, _) = with_writer(&mut w, &ops, policy, (rcore, wcore), &stop, |stop| {
        spin_bursts(busy_keys, stop, |c, o| r.lookup_batch(c, o))
    });
    let (burst_busy, _, burst_write, _) = busy_b;
    let mem = mem.max(w.memory_usage());
    pin(&[rcore]);
    lone_passes(&mut lone);
    let lone_write = median(&mut lone_rates.iter().map(|r| r.0).collect::<Vec<_>>());
    let cpu_lone_write = median(&mut lone_rates.iter().map(|r| r.1).collect::<Vec<_>>());
    pin(&[0, 1]);
    SharedFigures {
        lone_read,
        lone_write,
        lone_mem,
        read1,
        read2,
        read_busy,
        write_busy,
        cpu_lone_write,
        cpu_read1,
        cpu_read_busy,
        cpu_write_busy,
        write_alone,
        publishes,
        deferred,
        publish_interval: wall / publishes.max(1) as f64,
        lone_burst,
        burst1,
        burst_busy,
        burst_write,
        policy,
        mem,
    }
}

fn batch4(m: &PrefixMap<Ipv4Addr, u32>, ks: &[u32], checks: &mut Checks, set: &str) -> f64 {
    let addrs: Vec<Ipv4Addr> = ks.iter().map(|&k| Ipv4Addr::from_bits(k)).collect();
    batch(m, &addrs, checks, set)
}

fn batch6(m: &PrefixMap<Ipv6Addr, u32>, ks: &[u128], checks: &mut Checks, set: &str) -> f64 {
    let addrs: Vec<Ipv6Addr> = ks.iter().map(|&k| Ipv6Addr::from_bits(k)).collect();
    batch(m, &addrs, checks, set)
}

#[inline(never)]
fn batch<A: netplumb::lpm::IpKey>(
    m: &PrefixMap<A, u32>,
    addrs: &[A],
    checks: &mut Checks,
    set: &str,
) -> f64 {
    const CH: usize = 4096;
    let mut out = vec![None; CH];
    let mut times = Vec::new();
    let mut sum = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let mut s = 0u64;
        for c in addrs.chunks(CH) {
            m.lookup_batch(c, &mut out);
            for o in &out[..c.len()] {
                s = s.wrapping_add(o.map_or(0, |v| v + 1) as u64);
            }
        }
        times.push(t.elapsed());
        sum = std::hint::black_box(s);
    }
    times.sort();
    checks.add(set, "netplumb/b", sum);
    addrs.len() as f64 / times[1].as_secs_f64()
}

/// `PrefixMap::longest_match` over `ks` (median of 3 passes, as [`measure`]); the checksum
/// is of the values, so that it must agree with the other engines' lookups.
#[inline(never)]
fn longest<A: netplumb::lpm::IpKey, K: Copy>(
    m: &PrefixMap<A, u32>,
    ks: &[K],
    addr: impl Fn(K) -> A,
    checks: &mut Checks,
    set: &str,
) -> f64 {
    let (rate, sum) = measure(ks, |k| m.longest_match(addr(k)).map_or(0, |(_, v)| v + 1));
    checks.add(set, "netplumb/lm", sum);
    rate
}

/// Like [`batch`], for any engine's `lookup_batch` into `Option<u32>`.
#[inline(never)]
fn batch_with<A: Copy>(
    addrs: &[A],
    checks: &mut Checks,
    set: &str,
    engine: &'static str,
    f: impl Fn(&[A], &mut [Option<u32>]),
) -> f64 {
    const CH: usize = 4096;
    let mut out = vec![None; CH];
    let mut times = Vec::new();
    let mut sum = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let mut s = 0u64;
        for c in addrs.chunks(CH) {
            f(c, &mut out);
            for o in &out[..c.len()] {
                s = s.wrapping_add(o.map_or(0, |v| v + 1) as u64);
            }
        }
        times.push(t.elapsed());
        sum = std::hint::black_box(s);
    }
    times.sort();
    checks.add(set, engine, sum);
    addrs.len() as f64 / times[1].as_secs_f64()
}
