//! Hostile input: a seeded mutation fuzzer over every decoder of kernel bytes, on stable Rust,
//! as an ordinary test.
//!
//! The corpus (`tests/corpus/*.bin`, one datagram per file) is real kernel output captured by
//! [`capture`] (its README says how). [`fuzz_decoders`] mutates those datagrams ([`mutate`]) and
//! feeds each result to every decoder ([`feed`]): framing, error and extended-ack parsing, the
//! route decoder, `netlink-packet-route`'s parse and every object's conversion, the monitor's
//! datagram parser. The property: no panic, no hang (a watchdog), no unbounded allocation (the
//! test binary's allocator counts, [`alloc`]).
//!
//! - `NETPLUMB_FUZZ_SECS`: how long to run (default 3 s, so that `cargo test` stays quick; CI
//!   runs 60 s in release mode);
//! - `NETPLUMB_FUZZ_SEED`: the seed (decimal or `0x…`; printed at start; fixed by default);
//! - `NETPLUMB_FUZZ_ITER`: run only input number N of that seed (to reproduce a failure).
//!
//! A failing input is written to `target/fuzz-crashes/`; once the decoder is fixed, it goes into
//! the corpus as `regress-WHAT.bin`.

mod alloc;
mod capture;
mod feed;
mod mutate;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use feed::{feed, Counts, DECODERS};
use mutate::{layout, mutate, Layout, Rng};

use crate::monitor::Monitor;

/// Where the corpus lives.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");

/// Where failing inputs are written.
const CRASHES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/fuzz-crashes");

const DEFAULT_SECS: f64 = 3.0;
/// "netplumb".
const DEFAULT_SEED: u64 = 0x6e65_7470_6c75_6d62;

/// An input still running after this long is a hang: the watchdog reports it and aborts.
const HANG: Duration = Duration::from_secs(10);

/// The bytes one input may make the decoders allocate: a fixed allowance and a multiple of its
/// length (decoded messages are a few times larger than their bytes; the corpus's worst ratio
/// is printed by `corpus_decodes_cleanly`).
fn alloc_limit(len: usize) -> u64 {
    (256 << 10) + 64 * len as u64
}

/// The corpus's datagrams, by file name.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let Ok(dir) = std::fs::read_dir(CORPUS) else {
        return Vec::new();
    };
    let mut v: Vec<(String, Vec<u8>)> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, std::fs::read(&p).ok()?))
        })
        .collect();
    v.sort();
    v
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

/// Input number `i` of the run seeded `seed`: which corpus datagram it starts from and the
/// mutated bytes. It depends on `(seed, i)` and the corpus alone.
fn input(seed: u64, i: u64, corpus: &[(Vec<u8>, Layout)]) -> (usize, Vec<u8>) {
    let mut rng = Rng::new(seed ^ i.wrapping_mul(0xd134_2543_de82_ef95));
    rng.next();
    let base = rng.below(corpus.len());
    let mut bytes = corpus[base].0.clone();
    // One in eight inputs starts from a single message of the datagram.
    if rng.one_in(8) {
        let l = &corpus[base].1;
        if let Some(m) = l.msgs.get(rng.below(l.msgs.len())) {
            let end = (m.start + m.len.next_multiple_of(4)).min(bytes.len());
            bytes = bytes[m.start..end].to_vec();
        }
    }
    mutate(&mut rng, &mut bytes, corpus);
    (base, bytes)
}

fn save_crash(seed: u64, i: u64, bytes: &[u8]) -> PathBuf {
    let path = Path::new(CRASHES).join(format!("crash-{seed:x}-{i}.bin"));
    let _ = std::fs::create_dir_all(CRASHES);
    let _ = std::fs::write(&path, bytes);
    path
}

/// What one run saw.
#[derive(Default)]
struct Totals {
    inputs: u64,
    /// Inputs every decoder accepted.
    clean: u64,
    counts: Counts,
    slowest: Duration,
    max_alloc: u64,
    max_ratio: f64,
}

/// Prints the per-decoder table.
fn report(t: &Totals, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "fuzz: {} inputs in {secs:.1} s ({:.0}/s): {} decoded cleanly, {} refused by some decoder",
        t.inputs,
        t.inputs as f64 / secs.max(1e-9),
        t.clean,
        t.inputs - t.clean
    );
    println!(
        "fuzz: slowest input {:.0} µs; most allocated by one input {} KiB ({:.1}× its length)",
        t.slowest.as_secs_f64() * 1e6,
        t.max_alloc >> 10,
        t.max_ratio
    );
    println!("fuzz: {:<30} {:>12} {:>12}", "decoder", "ran", "refused");
    for (k, (name, _)) in DECODERS.iter().enumerate() {
        println!(
            "fuzz: {name:<30} {:>12} {:>12}",
            t.counts.ran[k], t.counts.failed[k]
        );
    }
}

/// Feeds one input, checking the property; `Err` describes a violation.
fn check_one(bytes: &[u8], mon: &mut Monitor, t: &mut Totals) -> Result<(), String> {
    let start = Instant::now();
    let (result, allocated) =
        alloc::measure(|| catch_unwind(AssertUnwindSafe(|| feed(bytes, mon))));
    let took = start.elapsed();
    let counts = match result {
        Ok(c) => c,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(not a string)");
            return Err(format!("a decoder panicked: {what}"));
        }
    };
    if allocated > alloc_limit(bytes.len()) {
        return Err(format!(
            "{allocated} bytes allocated for a {}-byte input (limit {})",
            bytes.len(),
            alloc_limit(bytes.len())
        ));
    }
    t.inputs += 1;
    t.clean += u64::from(!counts.any_failed());
    t.counts.add(&counts);
    t.slowest = t.slowest.max(took);
    t.max_alloc = t.max_alloc.max(allocated);
    t.max_ratio = t
        .max_ratio
        .max(allocated as f64 / bytes.len().max(1) as f64);
    Ok(())
}

/// Every captured datagram decodes without a single refusal, every decoder runs on some of
/// them, and the regression inputs do not panic.
#[test]
fn corpus_decodes_cleanly() {
    let corpus = corpus();
    if corpus.is_empty() {
        eprintln!("skipped: fuzz::corpus_decodes_cleanly: no corpus at {CORPUS}");
        return;
    }
    let mut mon = Monitor::detached().unwrap();
    let mut all = Counts::default();
    let mut worst = 0f64;
    for (name, bytes) in &corpus {
        let (counts, allocated) = alloc::measure(|| feed(bytes, &mut mon));
        worst = worst.max(allocated as f64 / bytes.len().max(1) as f64);
        assert!(
            allocated <= alloc_limit(bytes.len()),
            "{name}: {allocated} bytes allocated"
        );
        if name.starts_with("regress-") {
            continue;
        }
        for (k, (decoder, _)) in DECODERS.iter().enumerate() {
            assert_eq!(counts.failed[k], 0, "{name}: {decoder} refused it");
        }
        all.add(&counts);
    }
    println!(
        "corpus: {} datagrams; at most {worst:.1}× their length allocated",
        corpus.len()
    );
    for (k, (decoder, _)) in DECODERS.iter().enumerate() {
        assert!(all.ran[k] > 0, "no corpus datagram reaches {decoder}");
    }
}

/// The fuzzer: mutated corpus datagrams for `NETPLUMB_FUZZ_SECS` seconds.
#[test]
fn fuzz_decoders() {
    let files = corpus();
    if files.is_empty() {
        eprintln!("skipped: fuzz::fuzz_decoders: no corpus at {CORPUS}");
        return;
    }
    let corpus: Vec<(Vec<u8>, Layout)> =
        files.iter().map(|(_, b)| (b.clone(), layout(b))).collect();
    let seed = env_u64("NETPLUMB_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let only = env_u64("NETPLUMB_FUZZ_ITER");
    let secs = std::env::var("NETPLUMB_FUZZ_SECS")
        .ok()
        .map(|s| s.trim().parse::<f64>().expect("NETPLUMB_FUZZ_SECS"))
        .unwrap_or(DEFAULT_SECS);
    println!(
        "fuzz: seed {seed:#x}, {secs} s, {} corpus datagrams; reproduce an input with \
         NETPLUMB_FUZZ_SEED={seed:#x} NETPLUMB_FUZZ_ITER=N",
        corpus.len()
    );
    if let Some(i) = only {
        let (base, bytes) = input(seed, i, &corpus);
        println!(
            "fuzz: input {i}: {} bytes from {}",
            bytes.len(),
            files[base].0
        );
        let mut mon = Monitor::detached().unwrap();
        let mut t = Totals::default();
        if let Err(e) = check_one(&bytes, &mut mon, &mut t) {
            panic!("input {i}: {e}");
        }
        report(&t, Duration::from_secs(1));
        return;
    }

    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let current = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let worker = {
        let (progress, done, current) = (progress.clone(), done.clone(), current.clone());
        let corpus = corpus.clone();
        std::thread::Builder::new()
            .name("fuzz".into())
            .spawn(move || {
                let mut t = Totals::default();
                let mut mon = Monitor::detached().unwrap();
                let mut result = Ok(());
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let (base, bytes) = input(seed, i, &corpus);
                    current.lock().unwrap().clone_from(&bytes);
                    progress.store(i, Ordering::Relaxed);
                    // A fresh monitor now and then: its record of what it has seen grows with
                    // every distinct object.
                    if i % 4096 == 0 {
                        mon = Monitor::detached().unwrap();
                    }
                    if let Err(e) = check_one(&bytes, &mut mon, &mut t) {
                        let path = save_crash(seed, i, &bytes);
                        result = Err(format!(
                            "input {i} (seed {seed:#x}, from {}): {e}; written to {}",
                            files[base].0,
                            path.display()
                        ));
                        break;
                    }
                    i += 1;
                }
                done.store(true, Ordering::Relaxed);
                (t, result)
            })
            .unwrap()
    };
    // The watchdog: an input that runs for HANG is a hang.
    let mut last = (u64::MAX, Instant::now());
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let now = progress.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > HANG {
            let bytes = current.lock().map(|b| b.clone()).unwrap_or_default();
            let path = save_crash(seed, now, &bytes);
            eprintln!(
                "fuzz: input {now} (seed {seed:#x}) has run for {HANG:?}: a hang; written to {}",
                path.display()
            );
            std::process::abort();
        }
    }
    let (t, result) = worker.join().unwrap();
    report(&t, started.elapsed());
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The fuzzer's first find: an error message whose code is `i32::MIN` made the handle negate
/// it (a panic where overflow is checked). It is malformed, whatever the build.
#[test]
fn error_code_i32_min_is_malformed() {
    let bytes = std::fs::read(Path::new(CORPUS).join("regress-error-code-i32-min.bin"));
    let Ok(bytes) = bytes else {
        eprintln!("skipped: fuzz::error_code_i32_min_is_malformed: no corpus at {CORPUS}");
        return;
    };
    let frame = crate::wire::frames(&bytes).next().unwrap().unwrap();
    let r = crate::handle::check_code("fuzz", &frame);
    assert!(matches!(r, Err(crate::Error::Malformed { .. })), "{r:?}");
}
