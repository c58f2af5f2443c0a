//! Installs a full IPv4 Internet table into a kernel routing table, dumps it back and deletes
//! it, with netplumb's pipelined [`Batch`](netplumb::batch::Batch) and then with `ip -batch`,
//! each in a fresh network namespace of its own, in the same run.
//!
//! ```text
//! sudo cargo run --release --example route_bulk [-- --limit N]
//! ```
//!
//! Data: `$NETPLUMB_DATA` (default `../shared/data` next to the crate root) with the RIS dump
//! `ris-2026-05-11-v4.txt.gz` (one prefix per line); `--limit N` uses its first N prefixes.
//! Every route goes into table 100 via one gateway (192.0.2.2 on a veth).
//!
//! What is timed, on each side:
//! - install: netplumb encodes and sends a batch of `route add`s; iproute2 runs
//!   `ip -batch FILE` of `route add PREFIX via 192.0.2.2 table 100` lines (the file is
//!   written before the clock starts);
//! - dump: netplumb lists table 100 into typed `Route` values; iproute2 runs
//!   `ip route show table 100` and its text is read in full. netplumb also streams the table
//!   (`Handle::routes_iter`, each route decoded and dropped) and prints the growth of its peak
//!   resident memory for both forms;
//! - delete: a batch of `route del`s against `ip -batch` of `route del PREFIX table 100`.
//!
//! Both namespaces are unnamed and vanish when dropped; the batch files are removed by a
//! guard, also on error. The last line is:
//! `install ratio netplumb/iproute2: X.XX  dump ratio netplumb/iproute2: Y.YY`.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, RouteFilter, RouteKey};
use netplumb::{Handle, IpFamily, NetNs, TableId};
use netplumb_lab::ris;

const TABLE: TableId = TableId::new(100);
const GATEWAY: &str = "192.0.2.2";

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Removes the files it holds when dropped.
struct TempFiles(Vec<PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(f);
        }
    }
}

struct Times {
    install: Duration,
    dump: Duration,
    delete: Duration,
    dumped: usize,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("route_bulk: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> AnyResult<()> {
    let mut limit = usize::MAX;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => {
                limit = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--limit takes a number")?
            }
            other => return Err(format!("unknown argument {other:?} (try --limit N)").into()),
        }
    }
    let path = ris::data_dir().join(ris::table_file("v4"));
    let prefixes = ris::ipv4_networks(&path, limit).map_err(|e| e.to_string())?;
    println!(
        "{} IPv4 prefixes from {} into table {TABLE} via {GATEWAY}",
        prefixes.len(),
        path.display()
    );

    let ours = netplumb_side(&prefixes)?;
    let theirs = iproute2_side(&prefixes)?;
    if ours.dumped != prefixes.len() || theirs.dumped != prefixes.len() {
        return Err(format!(
            "dumped {} (netplumb) and {} (iproute2) routes, expected {}",
            ours.dumped,
            theirs.dumped,
            prefixes.len()
        )
        .into());
    }

    let n = prefixes.len() as f64;
    let rate = |d: Duration| n / d.as_secs_f64().max(1e-9);
    println!();
    println!(
        "{:<8} {:>12} {:>14} {:>12} {:>14}",
        "", "netplumb s", "routes/s", "iproute2 s", "routes/s"
    );
    for (what, a, b) in [
        ("install", ours.install, theirs.install),
        ("dump", ours.dump, theirs.dump),
        ("delete", ours.delete, theirs.delete),
    ] {
        println!(
            "{what:<8} {:>12.3} {:>14.0} {:>12.3} {:>14.0}",
            a.as_secs_f64(),
            rate(a),
            b.as_secs_f64(),
            rate(b)
        );
    }
    println!(
        "install ratio netplumb/iproute2: {:.2}  dump ratio netplumb/iproute2: {:.2}",
        ours.install.as_secs_f64() / theirs.install.as_secs_f64(),
        ours.dump.as_secs_f64() / theirs.dump.as_secs_f64()
    );
    Ok(())
}

/// A namespace with a veth up and 192.0.2.1/24 on it, so that the gateway is reachable.
fn prepare() -> AnyResult<(NetNs, Handle)> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    h.add_veth(&NewVeth::new("bulk0", "bulk1"))?;
    h.set_link_up("bulk1")?;
    h.set_link_up("bulk0")?;
    h.add_address("bulk0", &"192.0.2.1/24".parse()?)?;
    Ok((ns, h))
}

fn netplumb_side(prefixes: &[IpNetwork]) -> AnyResult<Times> {
    let (_ns, h) = prepare()?;
    let gw: IpAddr = GATEWAY.parse()?;

    let t = Instant::now();
    let mut batch = h.batch();
    batch.reserve(prefixes.len(), 44);
    for p in prefixes {
        batch.add_route(&NewRoute {
            table: TABLE,
            ..NewRoute::via(*p, gw)?
        });
    }
    let results = batch.send();
    let install = t.elapsed();
    check("install", &results)?;

    let filter = RouteFilter {
        family: Some(IpFamily::V4),
        ..RouteFilter::table(TABLE)
    };
    // The streaming form first (before the Vec's memory, once freed, is there to reuse):
    // routes are decoded and dropped one by one.
    let base = reset_peak_rss();
    let t = Instant::now();
    let mut streamed = 0usize;
    for r in h.routes_iter(&filter)? {
        streamed += r?.next_hops.len().min(1);
    }
    let stream = t.elapsed();
    let stream_mem = peak_rss().saturating_sub(base);

    let base = reset_peak_rss();
    let t = Instant::now();
    let routes = h.routes(&filter)?;
    let dump = t.elapsed();
    let vec_mem = peak_rss().saturating_sub(base);
    let dumped = routes.len();
    drop(routes);
    if streamed != dumped {
        return Err(format!("streamed {streamed} routes, listed {dumped}").into());
    }
    println!(
        "netplumb: dump as Vec {:.3}s, +{:.1} MiB peak resident; streamed {:.3}s, +{:.1} MiB",
        dump.as_secs_f64(),
        vec_mem as f64 / 1048576.0,
        stream.as_secs_f64(),
        stream_mem as f64 / 1048576.0
    );

    let t = Instant::now();
    let mut batch = h.batch();
    batch.reserve(prefixes.len(), 36);
    for p in prefixes {
        batch.delete_route(&RouteKey {
            table: TABLE,
            ..RouteKey::new(*p)
        });
    }
    let results = batch.send();
    let delete = t.elapsed();
    check("delete", &results)?;
    println!(
        "netplumb: install {:.3}s, dump {:.3}s ({dumped} routes), delete {:.3}s",
        install.as_secs_f64(),
        dump.as_secs_f64(),
        delete.as_secs_f64()
    );
    Ok(Times {
        install,
        dump,
        delete,
        dumped,
    })
}

/// A line of `/proc/self/status`, in bytes (`VmRSS`, `VmHWM`); 0 when unreadable.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resets the peak resident size to the current one (`/proc/self/clear_refs`, Linux 4.0+)
/// and returns the current one.
fn reset_peak_rss() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_bytes("VmRSS")
}

/// The peak resident size since the last reset.
fn peak_rss() -> u64 {
    status_bytes("VmHWM")
}

fn check(what: &str, results: &[netplumb::Result<()>]) -> AnyResult<()> {
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(first) = failed.first() {
        return Err(format!(
            "{what}: {} of {} failed, first: {first}",
            failed.len(),
            results.len()
        )
        .into());
    }
    Ok(())
}

fn iproute2_side(prefixes: &[IpNetwork]) -> AnyResult<Times> {
    let (ns, _h) = prepare()?;
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let add = dir.join(format!("netplumb-route-bulk-{pid}-add.batch"));
    let del = dir.join(format!("netplumb-route-bulk-{pid}-del.batch"));
    let _files = TempFiles(vec![add.clone(), del.clone()]);
    let mut a = std::io::BufWriter::new(std::fs::File::create(&add)?);
    let mut d = std::io::BufWriter::new(std::fs::File::create(&del)?);
    for p in prefixes {
        writeln!(a, "route add {p} via {GATEWAY} table {}", TABLE.get())?;
        writeln!(d, "route del {p} table {}", TABLE.get())?;
    }
    a.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    d.into_inner().map_err(|e| e.into_error())?.sync_all()?;

    let ip = |args: &[&str], capture: bool| -> AnyResult<(Duration, Vec<u8>)> {
        let (elapsed, out) = ns.run(|| {
            let t = Instant::now();
            let out = Command::new("ip")
                .args(args)
                .stdout(if capture {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stderr(Stdio::piped())
                .output();
            (t.elapsed(), out)
        })?;
        let out = out?;
        if !out.status.success() {
            return Err(format!(
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        Ok((elapsed, out.stdout))
    };
    let add_s = add.to_string_lossy().into_owned();
    let del_s = del.to_string_lossy().into_owned();
    let table = TABLE.get().to_string();
    let (install, _) = ip(&["-batch", &add_s], false)?;
    let (dump, text) = ip(&["route", "show", "table", &table], true)?;
    let dumped = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let (delete, _) = ip(&["-batch", &del_s], false)?;
    println!(
        "iproute2: install {:.3}s, dump {:.3}s ({dumped} routes), delete {:.3}s",
        install.as_secs_f64(),
        dump.as_secs_f64(),
        delete.as_secs_f64()
    );
    Ok(Times {
        install,
        dump,
        delete,
        dumped,
    })
}
