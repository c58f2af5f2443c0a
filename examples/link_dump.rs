//! Times the link and address listings on many veths, in a fresh namespace of its own:
//! `links()` and `addresses()` through netplumb, and `ip -j link show` / `ip -j addr show` for
//! scale.
//!
//! ```text
//! sudo cargo run --release --example link_dump [-- --veths N] [--rounds R]
//! ```
//!
//! Creates N veths (N/2 pairs, default 1000) with one IPv4 address each, then lists them R
//! times (default 20) and prints the median and best time of each listing.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use netplumb::addr::{AddressFilter, NewAddress};
use netplumb::link::{LinkFilter, NewVeth};
use netplumb::{Handle, NetNs};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("link_dump: {e}");
            ExitCode::FAILURE
        }
    }
}

fn arg(name: &str, default: usize) -> AnyResult<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args
            .get(i + 1)
            .ok_or_else(|| format!("{name} needs a number"))?
            .parse()?),
        None => Ok(default),
    }
}

/// Median and best of `rounds` runs of `f`.
fn time(
    rounds: usize,
    mut f: impl FnMut() -> AnyResult<usize>,
) -> AnyResult<(Duration, Duration, usize)> {
    let mut times = Vec::with_capacity(rounds);
    let mut n = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        n = f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok((times[times.len() / 2], times[0], n))
}

fn run() -> AnyResult<()> {
    let veths = arg("--veths", 1000)?.max(2);
    let rounds = arg("--rounds", 20)?.max(1);
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    for i in 0..veths / 2 {
        h.add_veth(&NewVeth::new(&format!("va{i}"), &format!("vb{i}")))?;
    }
    let mut batch = h.batch();
    for i in 0..veths / 2 {
        for (side, name) in [(0u8, format!("va{i}")), (1, format!("vb{i}"))] {
            let ip = Ipv4Addr::new(10, side, (i / 256) as u8, (i % 256) as u8);
            batch.add_address(name.as_str(), &NewAddress::new(IpAddr::V4(ip), 16)?);
        }
    }
    for r in batch.send() {
        r?;
    }
    let report = |what: &str, (median, best, n): (Duration, Duration, usize)| {
        println!("{what:<22} {n:>6} objects  median {median:>12.3?}  best {best:>12.3?}");
    };
    report(
        "links()",
        time(rounds, || Ok(h.links(&LinkFilter::default())?.len()))?,
    );
    report(
        "addresses()",
        time(rounds, || Ok(h.addresses(&AddressFilter::default())?.len()))?,
    );
    let ns = &ns;
    let ip = |args: &'static [&'static str]| {
        move || -> AnyResult<usize> {
            let out = ns.run(|| Command::new("ip").args(args).output())??;
            Ok(out.stdout.len())
        }
    };
    report(
        "ip -j link (bytes)",
        time(rounds, ip(&["-j", "link", "show"]))?,
    );
    report(
        "ip -j addr (bytes)",
        time(rounds, ip(&["-j", "addr", "show"]))?,
    );
    Ok(())
}
