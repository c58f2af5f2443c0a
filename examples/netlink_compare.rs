//! netplumb side by side with the netlink libraries a user would otherwise pick, on the
//! operations their tools do all day: each peer is a program of its own doing the same work
//! in a fresh network namespace, and the harness checks that every peer's counts agree.
//!
//! ```text
//! sudo cargo build --release -p rtnetlink-peer          # the rtnetlink peer (optional)
//! sudo cargo run --release --example netlink_compare [-- --routes N] [--runs N] [--quick]
//!                               [--fdb N] [--monitor N] [--full]
//!                               [--only routes|links|addrs|neighs|fdb|rules|monitor]
//! ```
//!
//! Peers (one missing prints `n/a`, never a number):
//! - **netplumb**: this example run again as `--peer netplumb`, its fastest way: a
//!   [`Batch`](netplumb::batch::Batch) for route and address writes, `flush_fdb` for FDB deletes, the streaming
//!   `*_iter` listings, veth pairs created in a batch and deleted with one
//!   `delete_link_group`;
//! - **netplumb-single** (routes, addresses, neighbours, FDB entries): netplumb one call per
//!   object (`add_route`, `add_address`, `add_neighbour`, `add_fdb`/`append_fdb` and their
//!   deletes), each waiting for its ack: what the batch saves;
//! - **floor** (routes only): the same `RTM_NEWROUTE`/`RTM_DELROUTE` requests, pre-encoded
//!   into one buffer before the clock starts and written back to back on a raw netlink
//!   socket, reading only the acks; its dump reads the table and counts messages without
//!   decoding them. What the kernel itself costs;
//! - **floor-noack** (routes only): the floor's requests without `NLM_F_ACK`, each 256 KiB
//!   write followed by an `NLMSG_NOOP` that asks for one (the kernel answers a request without
//!   it only when it fails): what per-request acks cost;
//! - **netplumb-bigbuf** (monitor only): netplumb's monitor with a 32 MiB receive buffer
//!   ([`MonitorOptions::recv_buffer`]), every other monitor keeping its library's default;
//! - **iproute2**: `ip -batch FILE` (`bridge -batch FILE` for FDB entries) for writes (the
//!   file written beforehand) and `ip route show` / `ip -d link show` / `ip addr show` /
//!   `bridge fdb show dev vx0` for listings, their text read in full; `ip -4 monitor route`,
//!   its lines counted; the peak resident memory is that of the `ip` process (`wait4`);
//! - **netlink-go**: vishvananda/netlink from Debian's packaged source
//!   (`golang-github-vishvananda-netlink-dev`), `benches/peers/netlink_go/main.go` built with
//!   `GOPATH=/usr/share/gocode GO111MODULE=off go build` into `target/netlink-go`: one
//!   request per object (it has no batch) through one `netlink.Handle`;
//! - **rtnetlink**: the async Rust crate on tokio, `benches/peers/rtnetlink-peer` (a
//!   workspace crate, not published): one request per object, 128 in flight on its
//!   connection (`buffer_unordered`) for routes, addresses, neighbours and FDB entries, links
//!   and rules one at a time;
//! - **pyroute2**: Debian's `python3-pyroute2` under `/usr/bin/python3`,
//!   `benches/peers/pyroute2/peer.py`: one `IPRoute` call per object (each waits for its ack).
//!
//! Operations (`--only` picks one), each peer in a fresh namespace of its own per run:
//! - `routes`: `--routes N` (default 100,000) real IPv4 prefixes of
//!   `$NETPLUMB_DATA/ris-2026-05-11-v4.txt.gz` (default `../shared/data`) installed into
//!   table 100 via 192.0.2.2 (a veth), dumped (table 100, counted), deleted; plus the peak
//!   resident memory of the peer's process during the dump (its `VmHWM` reset before it),
//!   and that peak minus the process's resident memory just before the dump (`dump peak
//!   RSS growth`: what the dump itself costs, without the prefixes the peer read or its
//!   runtime; the same measure for every peer);
//! - `links`: `--links N` (default 1,000) veth pairs created (netplumb: in a batch; the
//!   others one by one, `ip -batch` for iproute2), all links listed,
//!   the pairs deleted: netplumb and iproute2 create them in a link group and delete the group
//!   in one request ([`Handle::delete_link_group`](netplumb::Handle::delete_link_group), `ip
//!   link delete group 7`: the kernel unregisters the devices together); the other peers,
//!   which have no group delete, one pair at a time;
//! - `addrs`: `--addrs N` (default 10,000) IPv4 /32 and N IPv6 /128 addresses added to a
//!   veth that is down (so that the namespace has no other address), listed, deleted;
//! - `neighs`: `--neighs N` (default 10,000) permanent IPv4 neighbour entries on a veth,
//!   listed (IPv4), deleted;
//! - `fdb`: `--fdb N` (default 10,000) FDB entries on a VXLAN device `vx0` (VNI 42, local
//!   192.0.2.1, left down): a tenth are flood entries, the all-zero MAC appended once per
//!   remote VTEP (`bridge fdb append 00:00:00:00:00:00 dev vx0 dst IP`), the rest remote MACs
//!   behind 64 VTEPs (`bridge fdb add MAC dev vx0 dst IP`); listed (`bridge fdb show dev
//!   vx0`: one entry per MAC and remote), then flushed: `bridge fdb flush dev vx0` for
//!   iproute2 and [`Handle::flush_fdb`](netplumb::Handle::flush_fdb) for netplumb (one bulk
//!   `NLM_F_BULK` request each, Linux 6.8 and later), one delete per entry (`bridge fdb del MAC
//!   dev vx0 dst IP`) for the peers that have no bulk delete and for netplumb-single;
//! - `rules`: `--rules N` (default 1,000) IPv4 rules `from 10.2.x.y/32 lookup 100` with
//!   priorities of their own, added one by one (no peer batches rules but iproute2), listed,
//!   deleted;
//! - `monitor`: each peer subscribes to the IPv4 route group with its library's default
//!   receive buffer and decodes events while this harness (another process) makes `--monitor
//!   N` (default 100,000) route changes in the namespace: N/2 routes installed then deleted,
//!   as fast as the kernel takes them (the floor's pre-encoded requests). Reported: events
//!   received and decoded, their rate (first to last event), the events lost, how many
//!   overruns (`ENOBUFS`) the peer saw, and the monitor's CPU time per event received (user +
//!   system from its `ready` line to its end: `getrusage` in each library's peer, the `ip`
//!   process's own time for iproute2). A monitor that keeps up receives at the writer's pace,
//!   so the rate measures the writer; the CPU time per event is the library's own cost. A peer stops at N events or 2 s after its last one.
//!   `netplumb-bigbuf` is netplumb with `MonitorOptions::recv_buffer` at 32 MiB. A loss is
//!   not a disagreement (it is the measurement); a loss without any overrun reported, or
//!   more events than changes, is.
//!
//! `--full` installs the whole `ris-2026-05-11-v4.txt.gz` (about 1.04 M prefixes, read at run
//! time) in the `routes` operation; with it, the default operations are `routes` alone.
//!
//! Every phase's count is checked: installs and deletes must have done all N, a dump must
//! return exactly what was installed, and after each peer the namespace must be empty again
//! (checked by netplumb). A disagreement is printed and the run exits non-zero; timings
//! never fail it. Medians of `--runs` (default 3). `--quick` is 2,000 routes, 20 links, 200
//! addresses of each family, 200 neighbours, 200 FDB entries, 50 rules, 2,000 monitored route
//! changes, one run (CI's smoke run, with
//! `--require-peers`: a missing peer is then an error, not `n/a`). The last line is
//! `netlink_compare ratio netplumb/fastest-peer: routes-install X routes-dump Y …` (the
//! floors and netplumb's other columns excluded; `routes-dump-rss-growth OURS/SMALLEST` gives
//! the dump's memory growths in MiB, `monitor-cpu` compares the CPU time per event received,
//! netplumb's over the cheapest peer's).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netplumb::addr::AddressFilter;
use netplumb::fdb::{FdbFilter, FdbFlush, NewFdbEntry};
use netplumb::link::{LinkFilter, NewVeth, NewVxlan};
use netplumb::monitor::{Event, Groups, Monitor, MonitorOptions};
use netplumb::neighbour::{NeighbourFilter, NewNeighbour};
use netplumb::route::{NewRoute, RouteFilter, RouteKey};
use netplumb::rule::{Rule, RuleAction, RuleFilter};
use netplumb::{Handle, IpFamily, MacAddr, NetNs, TableId, Vni};
use netplumb_lab::ris;

const TABLE: u32 = 100;
const GATEWAY: &str = "192.0.2.2";
/// The link the routes' gateway is reached through, and the one addresses go on.
const ROUTE_LINK: &str = "bulk0";
const ADDR_LINK: &str = "addr0";
const NEIGH_LINK: &str = "neigh0";
const FDB_LINK: &str = "vx0";
const ALL_OPS: [Op; 7] = [
    Op::Routes,
    Op::Links,
    Op::Addrs,
    Op::Neighs,
    Op::Fdb,
    Op::Rules,
    Op::Monitor,
];
/// The link group of the `links` operation's veths (`ip link add … group N`), for the peers
/// that delete them as a group.
const LINK_GROUP: u32 = 7;

/// How long a monitor peer waits for more events after its last one (and for the first).
const MONITOR_IDLE: Duration = Duration::from_secs(2);
/// The receive buffer of the `netplumb-bigbuf` monitor peer.
const MONITOR_BIG_BUFFER: usize = 32 << 20;

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--peer") {
        peer_main(&args[1..])
    } else {
        run(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netlink_compare: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// The harness

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Routes,
    Links,
    Addrs,
    Neighs,
    Fdb,
    Rules,
    Monitor,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Routes => "routes",
            Op::Links => "links",
            Op::Addrs => "addrs",
            Op::Neighs => "neighs",
            Op::Fdb => "fdb",
            Op::Rules => "rules",
            Op::Monitor => "monitor",
        }
    }
    fn parse(name: &str) -> Option<Op> {
        ALL_OPS.into_iter().find(|op| op.name() == name)
    }
    /// The phases a peer reports for this operation, in order. A monitor peer reports its
    /// events (`recv`: first to last event, how many) and its overruns (`overruns`: the count
    /// in the count field).
    fn phases(self) -> &'static [&'static str] {
        match self {
            Op::Routes => &["install", "dump", "delete"],
            Op::Links => &["create", "list", "delete"],
            Op::Addrs | Op::Neighs | Op::Fdb | Op::Rules => &["add", "list", "delete"],
            Op::Monitor => &["recv", "overruns", "cpu"],
        }
    }
}

struct Config {
    routes: usize,
    links: usize,
    addrs: usize,
    neighs: usize,
    fdb: usize,
    rules: usize,
    monitor: usize,
    runs: usize,
    full: bool,
    only: Option<Op>,
}

/// A peer: how to start it (None: missing, with why), and how it does the work.
struct Peer {
    name: &'static str,
    argv: Result<Vec<String>, String>,
    /// The operations it does (the floor does routes only).
    ops: &'static [Op],
}

/// One phase's result from a peer's report line.
#[derive(Clone, Copy, Debug)]
struct Phase {
    secs: f64,
    count: usize,
    rss_kib: u64,
    /// The resident memory just before the phase (KiB), where the peer reports it.
    before_kib: u64,
}

fn run(args: &[String]) -> AnyResult<()> {
    let mut cfg = Config {
        routes: 100_000,
        links: 1_000,
        addrs: 10_000,
        neighs: 10_000,
        fdb: 10_000,
        rules: 1_000,
        monitor: 100_000,
        runs: 3,
        full: false,
        only: None,
    };
    let mut require_peers = false;
    let mut only_peers: Option<Vec<String>> = None;
    let mut it = args.iter();
    let num = |v: Option<&String>, what: &str| -> AnyResult<usize> {
        v.and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{what} takes a number").into())
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--routes" => cfg.routes = num(it.next(), "--routes")?,
            "--links" => cfg.links = num(it.next(), "--links")?,
            "--addrs" => cfg.addrs = num(it.next(), "--addrs")?,
            "--neighs" => cfg.neighs = num(it.next(), "--neighs")?,
            "--rules" => cfg.rules = num(it.next(), "--rules")?,
            "--fdb" => cfg.fdb = num(it.next(), "--fdb")?,
            "--monitor" => cfg.monitor = num(it.next(), "--monitor")?,
            "--full" => {
                cfg.full = true;
                cfg.routes = usize::MAX;
            }
            "--runs" => cfg.runs = num(it.next(), "--runs")?.max(1),
            "--require-peers" => require_peers = true,
            "--peers" => {
                only_peers = Some(
                    it.next()
                        .ok_or("--peers takes a comma-separated list")?
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                )
            }
            "--quick" => {
                cfg.routes = 2_000;
                cfg.links = 20;
                cfg.addrs = 200;
                cfg.neighs = 200;
                cfg.fdb = 200;
                cfg.rules = 50;
                cfg.monitor = 2_000;
                cfg.runs = 1;
            }
            "--only" => {
                let name = it.next();
                cfg.only = Some(name.and_then(|n| Op::parse(n)).ok_or_else(|| {
                    format!("--only routes|links|addrs|neighs|fdb|rules|monitor, not {name:?}")
                })?)
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (try --routes N, --links N, --addrs N, --neighs N, --fdb N, \
                     --rules N, --monitor N, --runs N, --quick, --full, \
                     --only routes|links|addrs|neighs|fdb|rules|monitor)"
                )
                .into())
            }
        }
    }

    let work = WorkDir::new()?;
    let data = ris::data_dir().join(ris::table_file("v4"));
    let ops: Vec<Op> = ALL_OPS
        .into_iter()
        .filter(|op| match cfg.only {
            Some(o) => o == *op,
            None => !cfg.full || *op == Op::Routes,
        })
        .collect();
    if ops.contains(&Op::Monitor) {
        let prefixes = ris::ipv4_networks(&data, cfg.monitor / 2).map_err(|e| e.to_string())?;
        cfg.monitor = 2 * prefixes.len();
        write_lines(&work.path("monitor.txt"), prefixes.iter())?;
    }
    if ops.contains(&Op::Routes) {
        let prefixes = ris::ipv4_networks(&data, cfg.routes).map_err(|e| e.to_string())?;
        if cfg.full {
            cfg.routes = prefixes.len();
        }
        if prefixes.len() < cfg.routes {
            println!(
                "note: {} has {} prefixes only",
                data.display(),
                prefixes.len()
            );
            cfg.routes = prefixes.len();
        }
        write_lines(&work.path("routes.txt"), prefixes.iter())?;
        write_batch(
            &work.path("routes-add.batch"),
            prefixes
                .iter()
                .map(|p| format!("route add {p} via {GATEWAY} table {TABLE}")),
        )?;
        write_batch(
            &work.path("routes-del.batch"),
            prefixes
                .iter()
                .map(|p| format!("route del {p} table {TABLE}")),
        )?;
    }
    if ops.contains(&Op::Addrs) {
        let addrs = addresses(cfg.addrs);
        write_lines(&work.path("addrs.txt"), addrs.iter())?;
        write_batch(
            &work.path("addrs-add.batch"),
            addrs
                .iter()
                .map(|a| format!("addr add {a} dev {ADDR_LINK}")),
        )?;
        write_batch(
            &work.path("addrs-del.batch"),
            addrs
                .iter()
                .map(|a| format!("addr del {a} dev {ADDR_LINK}")),
        )?;
    }
    if ops.contains(&Op::Neighs) {
        let neighs = neighbours(cfg.neighs);
        write_lines(
            &work.path("neighs.txt"),
            neighs.iter().map(|(ip, mac)| format!("{ip} {mac}")),
        )?;
        write_batch(
            &work.path("neighs-add.batch"),
            neighs.iter().map(|(ip, mac)| {
                format!("neigh add {ip} lladdr {mac} dev {NEIGH_LINK} nud permanent")
            }),
        )?;
        write_batch(
            &work.path("neighs-del.batch"),
            neighs
                .iter()
                .map(|(ip, _)| format!("neigh del {ip} dev {NEIGH_LINK}")),
        )?;
    }
    if ops.contains(&Op::Fdb) {
        let entries = fdb_entries(cfg.fdb);
        write_lines(
            &work.path("fdb.txt"),
            entries.iter().map(|(mac, dst)| format!("{mac} {dst}")),
        )?;
        write_batch(
            &work.path("fdb-add.batch"),
            entries.iter().map(|(mac, dst)| {
                let verb = if mac.0 == [0; 6] { "append" } else { "add" };
                format!("fdb {verb} {mac} dev {FDB_LINK} dst {dst}")
            }),
        )?;
        write_batch(
            &work.path("fdb-del.batch"),
            std::iter::once(format!("fdb flush dev {FDB_LINK}")),
        )?;
    }
    if ops.contains(&Op::Rules) {
        let rules = rules(cfg.rules);
        write_lines(
            &work.path("rules.txt"),
            rules.iter().map(|(p, from)| format!("{p} {from}")),
        )?;
        write_batch(
            &work.path("rules-add.batch"),
            rules
                .iter()
                .map(|(p, from)| format!("rule add from {from} pref {p} table {TABLE}")),
        )?;
        write_batch(
            &work.path("rules-del.batch"),
            rules
                .iter()
                .map(|(p, from)| format!("rule del from {from} pref {p} table {TABLE}")),
        )?;
    }
    if ops.contains(&Op::Links) {
        write_batch(
            &work.path("links-add.batch"),
            (0..cfg.links)
                .map(|i| format!("link add np{i}a group {LINK_GROUP} type veth peer name np{i}b")),
        )?;
        write_batch(
            &work.path("links-del.batch"),
            std::iter::once(format!("link del group {LINK_GROUP}")),
        )?;
    }

    let mut peers = peers(&work);
    if let Some(names) = &only_peers {
        peers.retain(|p| names.iter().any(|n| n == p.name));
    }
    let work_items: Vec<String> = ops
        .iter()
        .map(|op| match op {
            Op::Routes => format!("{} routes (from {})", cfg.routes, data.display()),
            Op::Links => format!("{} veth pairs", cfg.links),
            Op::Addrs => format!("{} + {} addresses", cfg.addrs, cfg.addrs),
            Op::Neighs => format!("{} neighbours", cfg.neighs),
            Op::Fdb => format!("{} FDB entries", cfg.fdb),
            Op::Rules => format!("{} rules", cfg.rules),
            Op::Monitor => format!("{} route changes monitored", cfg.monitor),
        })
        .collect();
    println!(
        "netlink_compare: {}; median of {} run(s); {} CPUs, load average {:.2} at start",
        work_items.join(", "),
        cfg.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    for p in &peers {
        match &p.argv {
            Ok(argv) => println!("  {:<10} {}", p.name, argv.join(" ")),
            Err(why) => println!("  {:<10} n/a: {why}", p.name),
        }
    }

    if require_peers {
        let missing: Vec<&str> = peers
            .iter()
            .filter(|p| p.argv.is_err())
            .map(|p| p.name)
            .collect();
        if !missing.is_empty() {
            return Err(format!("--require-peers: missing {}", missing.join(", ")).into());
        }
    }

    // results[(op, phase)][peer] = the runs' phases
    let mut results: BTreeMap<(Op, &str), BTreeMap<&str, Vec<Phase>>> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let mut loads = BTreeMap::new();
    for &op in &ops {
        let load_start = load_average();
        for run in 0..cfg.runs {
            for p in &peers {
                let Ok(argv) = &p.argv else { continue };
                if !p.ops.contains(&op) {
                    continue;
                }
                match run_peer(op, argv, &work, &cfg) {
                    Ok(phases) => {
                        eprintln!(
                            "  {} run {}: {:<15} {}",
                            op.name(),
                            run + 1,
                            p.name,
                            if op == Op::Monitor {
                                format!(
                                    "{} events in {:.1} ms, {} overruns",
                                    phases[0].count,
                                    phases[0].secs * 1e3,
                                    phases.get(1).map_or(0, |p| p.count)
                                )
                            } else {
                                phases
                                    .iter()
                                    .map(|ph| format!("{:.1} ms", ph.secs * 1e3))
                                    .collect::<Vec<_>>()
                                    .join(" / ")
                            }
                        );
                        for (phase, got) in op.phases().iter().zip(phases) {
                            results
                                .entry((op, phase))
                                .or_default()
                                .entry(p.name)
                                .or_default()
                                .push(got);
                        }
                    }
                    Err(e) => {
                        let msg = format!("{} {} run {}: {e}", p.name, op.name(), run + 1);
                        eprintln!("DISAGREES: {msg}");
                        disagreements.push(msg);
                    }
                }
            }
        }
        loads.insert(op, (load_start, load_average()));
    }

    print_table(&peers, &ops, &results, &loads, cfg.monitor);
    if !disagreements.is_empty() {
        return Err(format!(
            "{} peer result(s) disagree with the expected counts:\n  {}",
            disagreements.len(),
            disagreements.join("\n  ")
        )
        .into());
    }
    Ok(())
}

/// The temporary directory of a run's input files; removed when dropped, also on error.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> AnyResult<Self> {
        let dir = std::env::temp_dir().join(format!("netplumb-compare-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(WorkDir(dir))
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_lines<T: std::fmt::Display>(path: &Path, items: impl Iterator<Item = T>) -> AnyResult<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in items {
        writeln!(w, "{i}")?;
    }
    w.flush()?;
    Ok(())
}

fn write_batch(path: &Path, lines: impl Iterator<Item = String>) -> AnyResult<()> {
    write_lines(path, lines)
}

/// `n` IPv4 neighbours in 10.1.0.0/16 and up, each with a MAC of its own.
fn neighbours(n: usize) -> Vec<(std::net::Ipv4Addr, MacAddr)> {
    (1..=n as u32)
        .map(|i| {
            let ip = std::net::Ipv4Addr::from(0x0a01_0000u32.wrapping_add(i));
            let b = i.to_be_bytes();
            (ip, MacAddr([0x02, 0, b[0], b[1], b[2], b[3]]))
        })
        .collect()
}

/// `n` FDB entries for the VXLAN device: a tenth are flood entries (the all-zero MAC, one per
/// remote VTEP in 10.3.0.0/16), the rest remote MACs of their own behind 64 VTEPs
/// (10.4.0.1 to 10.4.0.64).
fn fdb_entries(n: usize) -> Vec<(MacAddr, std::net::Ipv4Addr)> {
    let floods = n / 10;
    (0..n as u32)
        .map(|i| {
            if (i as usize) < floods {
                (
                    MacAddr([0; 6]),
                    std::net::Ipv4Addr::from(0x0a03_0001u32 + i),
                )
            } else {
                let b = i.to_be_bytes();
                (
                    MacAddr([0x02, 0x01, b[0], b[1], b[2], b[3]]),
                    std::net::Ipv4Addr::from(0x0a04_0001u32 + i % 64),
                )
            }
        })
        .collect()
}

/// `n` rules `from 10.2.x.y/32 lookup 100`, priorities from 1000 up.
fn rules(n: usize) -> Vec<(u32, IpNetwork)> {
    (1..=n as u32)
        .map(|i| {
            let from = std::net::Ipv4Addr::from(0x0a02_0000u32.wrapping_add(i));
            (
                999 + i,
                IpNetwork::new(from.into(), 32).unwrap_or_else(|_| unreachable!()),
            )
        })
        .collect()
}

/// `n` IPv4 /32s in 10.0.0.0/8 and `n` IPv6 /128s in 2001:db8::/64, interleaved.
fn addresses(n: usize) -> Vec<IpNetwork> {
    let mut out = Vec::with_capacity(2 * n);
    for i in 1..=n as u32 {
        let v4 = std::net::Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff));
        let v6 = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, (i >> 16) as u16, i as u16);
        out.push(IpNetwork::new(v4.into(), 32).unwrap_or_else(|_| unreachable!()));
        out.push(IpNetwork::new(v6.into(), 128).unwrap_or_else(|_| unreachable!()));
    }
    out
}

fn peers(work: &WorkDir) -> Vec<Peer> {
    let me = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ours = |kind: &str| Ok(vec![me.clone(), "--peer".into(), kind.into()]);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target");
    let all: &'static [Op] = &ALL_OPS;
    let _ = work;

    let iproute2 = match Command::new("ip").arg("-V").output() {
        Ok(o) if o.status.success() => ours("iproute2"),
        _ => Err("no `ip` (apt-get install iproute2)".into()),
    };
    let go = build_go(&root, &target).map(|bin| vec![bin]);
    let rtnetlink = {
        let bin = std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("rtnetlink-peer")))
            .filter(|p| p.exists());
        match bin {
            Some(b) => Ok(vec![b.to_string_lossy().into_owned()]),
            None => Err("not built (cargo build --release -p rtnetlink-peer)".into()),
        }
    };
    let pyroute2 = match Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import pyroute2, importlib.metadata as m; print(m.version('pyroute2'))",
        ])
        .output()
    {
        Ok(o) if o.status.success() => {
            let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
            println!("pyroute2 {v} (/usr/bin/python3)");
            Ok(vec![
                "/usr/bin/python3".into(),
                root.join("benches/peers/pyroute2/peer.py")
                    .to_string_lossy()
                    .into_owned(),
            ])
        }
        _ => Err("no pyroute2 for /usr/bin/python3 (apt-get install python3-pyroute2)".into()),
    };
    vec![
        Peer {
            name: "netplumb",
            argv: ours("netplumb"),
            ops: all,
        },
        Peer {
            name: "netplumb-single",
            argv: ours("netplumb-single"),
            ops: &[Op::Routes, Op::Addrs, Op::Neighs, Op::Fdb],
        },
        Peer {
            name: "netplumb-async",
            argv: if cfg!(feature = "tokio") {
                ours("netplumb-async")
            } else {
                Err("built without the `tokio` feature (cargo run --features tokio …)".into())
            },
            ops: &[Op::Routes],
        },
        Peer {
            name: "netplumb-async-single",
            argv: if cfg!(feature = "tokio") {
                ours("netplumb-async-single")
            } else {
                Err("built without the `tokio` feature (cargo run --features tokio …)".into())
            },
            ops: &[Op::Routes],
        },
        Peer {
            name: "netplumb-bigbuf",
            argv: ours("netplumb-bigbuf"),
            ops: &[Op::Monitor],
        },
        Peer {
            name: "floor",
            argv: ours("floor"),
            ops: &[Op::Routes],
        },
        Peer {
            name: "floor-noack",
            argv: ours("floor-noack"),
            ops: &[Op::Routes],
        },
        Peer {
            name: "iproute2",
            argv: iproute2,
            ops: all,
        },
        Peer {
            name: "netlink-go",
            argv: go,
            ops: all,
        },
        Peer {
            name: "rtnetlink",
            argv: rtnetlink,
            ops: all,
        },
        Peer {
            name: "pyroute2",
            argv: pyroute2,
            ops: all,
        },
    ]
}

/// Builds the Go peer into `target/netlink-go` (about 2 s when warm) and returns its path.
fn build_go(root: &Path, target: &Path) -> Result<String, String> {
    let src = root.join("benches/peers/netlink_go");
    let lib = Path::new("/usr/share/gocode/src/github.com/vishvananda/netlink");
    if !lib.exists() {
        return Err("no vishvananda/netlink source (apt-get install golang-go \
                    golang-github-vishvananda-netlink-dev)"
            .into());
    }
    let bin = target.join("netlink-go");
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg("main.go")
        .current_dir(&src)
        .env("GOPATH", "/usr/share/gocode")
        .env("GO111MODULE", "off")
        .env("GOCACHE", target.join("go-cache"))
        .output()
        .map_err(|e| format!("go: {e} (apt-get install golang-go)"))?;
    if !out.status.success() {
        return Err(format!(
            "go build failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(bin.to_string_lossy().into_owned())
}

/// A fresh namespace with what `op` needs: for routes a veth up with 192.0.2.1/24 (the
/// gateway's subnet); for addresses a veth left down (no link-local address, so the
/// namespace holds only the addresses the peer adds); for links nothing but `lo`.
fn prepare(op: Op) -> AnyResult<(NetNs, Handle)> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    match op {
        Op::Routes => {
            h.add_veth(&NewVeth::new(ROUTE_LINK, "bulk1"))?;
            h.set_link_up("bulk1")?;
            h.set_link_up(ROUTE_LINK)?;
            h.add_address(ROUTE_LINK, &"192.0.2.1/24".parse()?)?;
        }
        Op::Addrs => h.add_veth(&NewVeth::new(ADDR_LINK, "addr1"))?,
        Op::Neighs => {
            h.add_veth(&NewVeth::new(NEIGH_LINK, "neigh1"))?;
            h.set_link_up("neigh1")?;
            h.set_link_up(NEIGH_LINK)?;
        }
        // Left down: nothing is ever sent through it.
        Op::Fdb => h.add_vxlan(&NewVxlan {
            local: Some(std::net::Ipv4Addr::new(192, 0, 2, 1).into()),
            port: Some(4789),
            learning: Some(false),
            ..NewVxlan::new(FDB_LINK, Vni::new(42)?)
        })?,
        Op::Monitor => {
            h.add_veth(&NewVeth::new(ROUTE_LINK, "bulk1"))?;
            h.set_link_up("bulk1")?;
            h.set_link_up(ROUTE_LINK)?;
            h.add_address(ROUTE_LINK, &"192.0.2.1/24".parse()?)?;
        }
        Op::Links | Op::Rules => {}
    }
    Ok((ns, h))
}

/// Runs one peer on one operation in a fresh namespace, checks its counts and that it left
/// the namespace as it found it, and returns its phases.
fn run_peer(op: Op, argv: &[String], work: &WorkDir, cfg: &Config) -> AnyResult<Vec<Phase>> {
    let (ns, h) = prepare(op)?;
    let mut args: Vec<String> = argv[1..].to_vec();
    args.push(op.name().into());
    match op {
        Op::Routes => args.push(work.arg("routes.txt")),
        Op::Links => args.push(cfg.links.to_string()),
        Op::Addrs => {
            args.push(work.arg("addrs.txt"));
            args.push(ADDR_LINK.into());
        }
        Op::Neighs => {
            args.push(work.arg("neighs.txt"));
            args.push(NEIGH_LINK.into());
        }
        Op::Fdb => {
            args.push(work.arg("fdb.txt"));
            args.push(FDB_LINK.into());
        }
        Op::Rules => args.push(work.arg("rules.txt")),
        Op::Monitor => args.push(cfg.monitor.to_string()),
    }
    if argv.get(1).map(String::as_str) == Some("--peer") {
        // This example's own peers also take the directory of the batch files.
        args.push(work.0.to_string_lossy().into_owned());
    }
    let out = if op == Op::Monitor {
        monitor_run(&ns, argv, &args, &read_nets(&work.arg("monitor.txt"))?)?
    } else {
        ns.run(|| {
            Command::new(&argv[0])
                .args(&args)
                .stderr(Stdio::piped())
                .output()
        })??
    };
    if !out.status.success() {
        return Err(format!(
            "exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut phases = Vec::new();
    for want in op.phases() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(want))
            .ok_or_else(|| format!("no {want:?} line in its output {text:?}"))?;
        let f: Vec<&str> = line.split_whitespace().collect();
        let phase = Phase {
            secs: f.get(1).and_then(|s| s.parse().ok()).ok_or("bad seconds")?,
            count: f.get(2).and_then(|s| s.parse().ok()).ok_or("bad count")?,
            rss_kib: f.get(3).and_then(|s| s.parse().ok()).unwrap_or(0),
            before_kib: f.get(4).and_then(|s| s.parse().ok()).unwrap_or(0),
        };
        phases.push(phase);
    }
    if op == Op::Monitor {
        // Losses are the measurement; silent ones and invented events are disagreements.
        let (got, overruns) = (phases[0].count, phases[1].count);
        if got > cfg.monitor {
            return Err(format!("received {got} events for {} changes", cfg.monitor).into());
        }
        if got < cfg.monitor && overruns == 0 {
            return Err(format!(
                "received {got} of {} events and reported no overrun (a silent loss)",
                cfg.monitor
            )
            .into());
        }
        return Ok(phases);
    }
    // What each phase must have counted.
    let (n, listed) = match op {
        Op::Routes => (cfg.routes, cfg.routes),
        Op::Links => (cfg.links, 2 * cfg.links + 1),
        Op::Addrs => (2 * cfg.addrs, 2 * cfg.addrs),
        Op::Neighs => (cfg.neighs, cfg.neighs),
        Op::Fdb => (cfg.fdb, cfg.fdb),
        // IPv4 has three rules of its own (local, main, default).
        Op::Rules => (cfg.rules, cfg.rules + 3),
        Op::Monitor => (cfg.monitor, cfg.monitor),
    };
    for (phase, (got, want)) in op
        .phases()
        .iter()
        .zip(phases.iter().map(|p| p.count).zip([n, listed, n]))
    {
        if got != want {
            return Err(format!("{phase}: counted {got}, expected {want}").into());
        }
    }
    // And the namespace is empty again.
    let left = match op {
        Op::Routes => h
            .routes(&RouteFilter {
                family: Some(IpFamily::V4),
                ..RouteFilter::table(TableId::new(TABLE))
            })?
            .len(),
        Op::Links => h.links(&LinkFilter::default())?.len().saturating_sub(1),
        Op::Addrs => h.addresses(&AddressFilter::default())?.len(),
        Op::Neighs => h
            .neighbours(&NeighbourFilter {
                family: Some(IpFamily::V4),
                ..NeighbourFilter::default()
            })?
            .len(),
        Op::Rules => h
            .rules(&RuleFilter {
                family: Some(IpFamily::V4),
                ..RuleFilter::default()
            })?
            .len()
            .saturating_sub(3),
        Op::Fdb => h.fdb(&FdbFilter::link(FDB_LINK))?.len(),
        Op::Monitor => 0,
    };
    if left != 0 {
        return Err(format!("left {left} objects behind").into());
    }
    Ok(phases)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn print_table(
    peers: &[Peer],
    ops: &[Op],
    results: &BTreeMap<(Op, &str), BTreeMap<&str, Vec<Phase>>>,
    loads: &BTreeMap<Op, (f64, f64)>,
    monitor_changes: usize,
) {
    println!();
    print!("| operation |");
    for p in peers {
        print!(" {} |", p.name);
    }
    println!(" load avg (1 min, start–end) |");
    print!("| --- |");
    for _ in peers {
        print!(" ---: |");
    }
    println!(" ---: |");
    let load = |op: Op| match loads.get(&op) {
        Some((a, b)) => format!(" {a:.1}–{b:.1} |"),
        None => " |".into(),
    };
    // One row: a label and, per peer, the median of `f` over its runs.
    let row = |label: String,
               op: Op,
               phase: &str,
               f: &dyn Fn(&Phase) -> Option<f64>,
               fmt: &dyn Fn(f64) -> String| {
        print!("| {label} |");
        for p in peers {
            let v = results
                .get(&(op, phase))
                .and_then(|r| r.get(p.name))
                .and_then(|runs| runs.iter().map(f).collect::<Option<Vec<f64>>>())
                .map(median);
            match v {
                Some(v) => print!(" {} |", fmt(v)),
                None => print!(" n/a |"),
            }
        }
        println!("{}", load(op));
    };
    let ms = |v: f64| format!("{:.1}", v * 1e3);
    let mib = |v: f64| format!("{:.1}", v / 1024.0);
    let mut ratios = Vec::new();
    for &op in ops {
        if op == Op::Monitor {
            let rate = |p: &Phase| (p.secs > 0.0).then(|| p.count as f64 / p.secs);
            row("monitor events/s decoded".into(), op, "recv", &rate, &|v| {
                format!("{v:.0}")
            });
            row(
                format!("monitor events received (of {monitor_changes})"),
                op,
                "recv",
                &|p| Some(p.count as f64),
                &|v| format!("{v:.0}"),
            );
            row(
                "monitor events lost".into(),
                op,
                "recv",
                &|p| Some(monitor_changes.saturating_sub(p.count) as f64),
                &|v| format!("{v:.0}"),
            );
            row(
                "monitor overruns reported".into(),
                op,
                "overruns",
                &|p| Some(p.count as f64),
                &|v| format!("{v:.0}"),
            );
            // The library's own cost: CPU time per event received. The rate above is bounded
            // by the writer when a monitor keeps up, so it cannot rank monitors that do.
            let cpu = |p: &Phase| (p.count > 0).then(|| p.secs / p.count as f64 * 1e6);
            row(
                "monitor CPU per event (µs)".into(),
                op,
                "cpu",
                &cpu,
                &|v| format!("{v:.2}"),
            );
            let per_event = |peer: &str| -> Option<f64> {
                let runs = results.get(&(op, "cpu"))?.get(peer)?;
                Some(median(runs.iter().filter_map(cpu).collect::<Vec<_>>()))
                    .filter(|r| r.is_finite() && *r > 0.0)
            };
            let best = peers
                .iter()
                .filter(|p| !p.name.starts_with("netplumb"))
                .filter_map(|p| per_event(p.name))
                .min_by(f64::total_cmp);
            if let (Some(ours), Some(best)) = (per_event("netplumb"), best) {
                // CPU per event, ours over the cheapest peer's: below 1 is cheaper.
                ratios.push(format!("monitor-cpu {:.2}", ours / best));
            }
            continue;
        }
        for &phase in op.phases() {
            row(
                format!("{} {phase} (ms)", op.name()),
                op,
                phase,
                &|p| Some(p.secs),
                &ms,
            );
            let secs = |peer: &str| -> Option<f64> {
                let runs = results.get(&(op, phase))?.get(peer)?;
                Some(median(runs.iter().map(|p| p.secs).collect()))
            };
            let fastest = peers
                .iter()
                .filter(|p| !p.name.starts_with("netplumb") && !p.name.starts_with("floor"))
                .filter_map(|p| secs(p.name))
                .min_by(f64::total_cmp);
            if let (Some(ours), Some(best)) = (secs("netplumb"), fastest) {
                ratios.push(format!("{}-{phase} {:.2}", op.name(), ours / best));
            }
            if op == Op::Routes && phase == "dump" {
                row(
                    "routes dump peak RSS (MiB)".into(),
                    op,
                    phase,
                    &|p| Some(p.rss_kib as f64),
                    &mib,
                );
                row(
                    "routes dump peak RSS growth (MiB)".into(),
                    op,
                    phase,
                    &|p| (p.before_kib > 0).then(|| p.rss_kib.saturating_sub(p.before_kib) as f64),
                    &mib,
                );
                let growth = |peer: &str| -> Option<f64> {
                    let runs = results.get(&(op, phase))?.get(peer)?;
                    let v: Option<Vec<f64>> = runs
                        .iter()
                        .map(|p| {
                            (p.before_kib > 0)
                                .then(|| p.rss_kib.saturating_sub(p.before_kib) as f64)
                        })
                        .collect();
                    v.map(median)
                };
                let smallest = peers
                    .iter()
                    .filter(|p| !p.name.starts_with("netplumb") && !p.name.starts_with("floor"))
                    .filter_map(|p| growth(p.name))
                    .min_by(f64::total_cmp);
                if let (Some(ours), Some(best)) = (growth("netplumb"), smallest) {
                    // As MiB, not a ratio: the smallest growth can be zero (`ip` streams).
                    ratios.push(format!(
                        "routes-dump-rss-growth {:.1}/{:.1}MiB",
                        ours / 1024.0,
                        best / 1024.0
                    ));
                }
            }
        }
    }
    println!();
    println!(
        "netlink_compare ratio netplumb/fastest-peer: {}",
        ratios.join(" ")
    );
}

/// The 1-minute load average (`/proc/loadavg`), 0 if unreadable.
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Starts a monitor peer in `ns`, waits for its `ready` line (it has subscribed), makes the
/// route changes from this process (the floor's pre-encoded requests: the routes installed,
/// then deleted) and returns the peer's output, its `ready` line dropped.
fn monitor_run(
    ns: &NetNs,
    argv: &[String],
    args: &[String],
    nets: &[IpNetwork],
) -> AnyResult<std::process::Output> {
    let mut child = ns.run(|| {
        Command::new(&argv[0])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    })??;
    let mut out = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    if line.trim() != "ready" {
        let _ = child.kill();
        let o = child.wait_with_output()?;
        return Err(format!(
            "no `ready` line ({line:?}): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )
        .into());
    }
    let secs = ns.run(|| write_changes(nets))??;
    eprintln!(
        "    (writer: {} route changes in {:.1} ms)",
        2 * nets.len(),
        secs * 1e3
    );
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut out, &mut rest)?;
    let o = child.wait_with_output()?;
    Ok(std::process::Output {
        status: o.status,
        stdout: rest,
        stderr: o.stderr,
    })
}

/// The monitor operation's writer: `nets` installed then deleted on a raw socket, requests
/// pre-encoded, acks read. Returns its time in seconds.
fn write_changes(nets: &[IpNetwork]) -> Result<f64, String> {
    let fd = raw_socket().map_err(|e| e.to_string())?;
    let encode = |add: bool| {
        let mut buf = Vec::with_capacity(nets.len() * 44);
        let mut ends = Vec::with_capacity(nets.len());
        for (i, n) in nets.iter().enumerate() {
            encode_route(&mut buf, i as u32 + 1, n, add, true);
            ends.push(buf.len());
        }
        (buf, ends)
    };
    let (add, add_ends) = encode(true);
    let (del, del_ends) = encode(false);
    let t = Instant::now();
    let done = send_all(&fd, &add, &add_ends).map_err(|e| e.to_string())?
        + send_all(&fd, &del, &del_ends).map_err(|e| e.to_string())?;
    if done != 2 * nets.len() {
        return Err(format!(
            "writer: {done} of {} changes acked",
            2 * nets.len()
        ));
    }
    Ok(t.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------------------------------
// The peers this example plays itself: `--peer netplumb|floor|iproute2 OP ARGS… WORKDIR`,
// run inside the namespace. Each prints `PHASE SECONDS COUNT PEAK_RSS_KIB` lines.

fn peer_main(args: &[String]) -> AnyResult<()> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["netplumb", "routes", file, _] => {
            // Where the resident memory goes (lines the harness does not read): the process
            // before and after reading the prefixes.
            println!("rss-start {}", vm_rss_kib());
            let nets = read_nets(file)?;
            println!(
                "rss-prefixes-read {} ({} prefixes, {} KiB of Vec)",
                vm_rss_kib(),
                nets.len(),
                nets.capacity() * std::mem::size_of::<IpNetwork>() / 1024
            );
            np_routes(&nets, true)
        }
        ["netplumb-single", "routes", file, _] => np_routes(&read_nets(file)?, false),
        #[cfg(feature = "tokio")]
        ["netplumb-async", "routes", file, _] => np_async_routes(&read_nets(file)?, true),
        #[cfg(feature = "tokio")]
        ["netplumb-async-single", "routes", file, _] => np_async_routes(&read_nets(file)?, false),
        ["netplumb-single", "addrs", file, link, _] => np_addrs(&read_nets(file)?, link, false),
        ["netplumb-single", "neighs", file, link, _] => np_neighs(file, link, false),
        ["netplumb", "links", n, _] => np_links(n.parse()?),
        ["netplumb", "addrs", file, link, _] => np_addrs(&read_nets(file)?, link, true),
        ["netplumb", "neighs", file, link, _] => np_neighs(file, link, true),
        ["netplumb", "rules", file, _] => np_rules(file),
        ["netplumb", "fdb", file, link, _] => np_fdb(file, link, true),
        ["netplumb-single", "fdb", file, link, _] => np_fdb(file, link, false),
        ["netplumb", "monitor", n, _] => np_monitor(n.parse()?, None),
        ["netplumb-bigbuf", "monitor", n, _] => np_monitor(n.parse()?, Some(MONITOR_BIG_BUFFER)),
        ["iproute2", "fdb", _, _, dir] => ip_peer(Path::new(dir), "fdb"),
        ["iproute2", "monitor", n, _] => ip_monitor(n.parse()?),
        ["iproute2", "neighs", _, _, dir] => ip_peer(Path::new(dir), "neighs"),
        ["iproute2", "rules", _, dir] => ip_peer(Path::new(dir), "rules"),
        ["floor", "routes", file, _] => floor_routes(&read_nets(file)?, true),
        ["floor-noack", "routes", file, _] => floor_routes(&read_nets(file)?, false),
        ["iproute2", "routes", _, dir] => ip_peer(Path::new(dir), "routes"),
        ["iproute2", "links", _, dir] => ip_peer(Path::new(dir), "links"),
        ["iproute2", "addrs", _, _, dir] => ip_peer(Path::new(dir), "addrs"),
        _ => Err(format!("unknown peer invocation {a:?}").into()),
    }
}

fn read_nets(file: &str) -> AnyResult<Vec<IpNetwork>> {
    let text = std::fs::read_to_string(file)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Ok(l.trim().parse()?))
        .collect()
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident memory to the current (`VmHWM` := `VmRSS`) and returns the
/// current resident memory (KiB).
fn reset_peak() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    vm_rss_kib()
}

fn report(phase: &str, elapsed: Duration, count: usize, rss_kib: u64) {
    println!("{phase} {:.6} {count} {rss_kib}", elapsed.as_secs_f64());
}

/// A dump's report: also the resident memory just before it.
fn report_dump(phase: &str, elapsed: Duration, count: usize, rss_kib: u64, before_kib: u64) {
    println!(
        "{phase} {:.6} {count} {rss_kib} {before_kib}",
        elapsed.as_secs_f64()
    );
}

/// Tells the harness that the monitor is subscribed.
fn ready() -> AnyResult<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    Ok(())
}

/// A monitor peer's report: events from the first to the last, the overruns seen, and the
/// CPU time (user + system, seconds) the monitor spent from its `ready` line to the end.
fn report_monitor(
    first: Option<Instant>,
    last: Instant,
    count: usize,
    overruns: usize,
    cpu_secs: f64,
) {
    let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
    println!("recv {secs:.6} {count} {}", vm_hwm_kib());
    println!("overruns 0 {overruns} 0");
    println!("cpu {cpu_secs:.6} {count} 0");
}

/// This process's CPU time so far (user + system, all threads), in seconds.
fn cpu_time() -> f64 {
    // SAFETY: getrusage writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is a live, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The CPU time of process `pid` so far, in seconds: its threads' time on a CPU, from
/// `/proc/PID/task/*/schedstat` (nanoseconds).
fn cpu_time_of(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum::<u64>() as f64
        * 1e-9
}

/// netplumb's monitor: a [`Monitor`] on the IPv4 route group, each event decoded into a
/// [`Route`](netplumb::route::Route); `buffer` is [`MonitorOptions::recv_buffer`] (None: the
/// kernel's default).
fn np_monitor(n: usize, buffer: Option<usize>) -> AnyResult<()> {
    let mut mon = Monitor::with_options(&MonitorOptions {
        groups: Groups::ROUTE_V4,
        recv_buffer: buffer,
        ..MonitorOptions::default()
    })?;
    ready()?;
    let cpu = cpu_time();
    let (mut count, mut overruns) = (0, 0);
    let mut first = None;
    let mut last = Instant::now();
    while count < n {
        match mon.recv_timeout(MONITOR_IDLE)? {
            None => break,
            Some(Event::Route(_)) => {
                count += 1;
                last = Instant::now();
                first.get_or_insert(last);
            }
            Some(Event::Overrun) => overruns += 1,
            Some(_) => {}
        }
    }
    report_monitor(first, last, count, overruns, cpu_time() - cpu);
    Ok(())
}

/// iproute2's monitor: `ip -4 monitor route`, its lines counted as they come (one per
/// event), its `netlink receive error … No buffer space` lines counted as overruns. A probe
/// route (198.51.100.1 in table 101) is added and deleted until `ip` shows it: then it is
/// subscribed.
fn ip_monitor(n: usize) -> AnyResult<()> {
    use std::sync::mpsc;
    let mut child = Command::new("ip")
        .args(["-4", "monitor", "route"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (tx, rx) = mpsc::channel::<(bool, String, Instant)>();
    let (out, err) = (
        child.stdout.take().ok_or("no stdout")?,
        child.stderr.take().ok_or("no stderr")?,
    );
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send((true, l, Instant::now()));
        }
    });
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send((false, l, Instant::now()));
        }
    });
    const PROBE: &str = "198.51.100.1";
    let h = Handle::new()?;
    let probe = "198.51.100.1/32".parse::<IpNetwork>()?;
    let mut subscribed = false;
    for _ in 0..50 {
        h.add_route(&NewRoute {
            table: TableId::new(101),
            ..NewRoute::of_kind(netplumb::route::RouteType::Blackhole, probe)?
        })?;
        let seen = rx
            .recv_timeout(Duration::from_millis(200))
            .is_ok_and(|(_, l, _)| l.contains(PROBE));
        h.delete_route(&RouteKey {
            table: TableId::new(101),
            ..RouteKey::new(probe)
        })?;
        if seen {
            subscribed = true;
            break;
        }
    }
    if !subscribed {
        let _ = child.kill();
        return Err("`ip monitor` never showed the probe route".into());
    }
    ready()?;
    // The `ip` process's own time: this peer's reading threads are not iproute2's work.
    let cpu = cpu_time_of(child.id());
    let (mut count, mut overruns) = (0, 0);
    let mut first = None;
    let mut last = Instant::now();
    while count < n {
        match rx.recv_timeout(MONITOR_IDLE) {
            Err(_) => break,
            Ok((true, l, _)) if l.contains(PROBE) => {}
            Ok((true, _, at)) => {
                count += 1;
                last = at;
                first.get_or_insert(at);
            }
            Ok((false, l, _)) if l.contains("No buffer space") => overruns += 1,
            Ok((false, l, _)) => eprintln!("ip monitor: {l}"),
        }
    }
    let cpu = cpu_time_of(child.id()) - cpu;
    let _ = child.kill();
    let _ = child.wait();
    report_monitor(first, last, count, overruns, cpu);
    Ok(())
}

/// netplumb's FDB entries on the VXLAN device: with `batch`, a [`Batch`](netplumb::batch::Batch)
/// each way (`append_fdb` for the flood entries, `add_fdb` for the others, `delete_fdb`);
/// without, one call per entry.
fn np_fdb(file: &str, link: &str, batch: bool) -> AnyResult<()> {
    let h = Handle::new()?;
    let index = h.link_index(link)?;
    let entries: Vec<NewFdbEntry> = read_pairs(file)?
        .iter()
        .map(|(mac, dst)| {
            Ok(NewFdbEntry {
                dst: Some(dst.parse()?),
                ..NewFdbEntry::new(mac.parse()?)
            })
        })
        .collect::<AnyResult<_>>()?;
    let flood = |e: &NewFdbEntry| e.mac.0 == [0; 6];

    let t = Instant::now();
    if !batch {
        for e in &entries {
            if flood(e) {
                h.append_fdb(index, e)?;
            } else {
                h.add_fdb(index, e)?;
            }
        }
        report("add", t.elapsed(), entries.len(), vm_hwm_kib());
    } else {
        let mut batch = h.batch();
        for e in &entries {
            if flood(e) {
                batch.append_fdb(index, e);
            } else {
                batch.add_fdb(index, e);
            }
        }
        let done = all_ok("add", &batch.send())?;
        report("add", t.elapsed(), done, vm_hwm_kib());
    }

    reset_peak();
    let t = Instant::now();
    let mut count = 0;
    for e in h.fdb_iter(&FdbFilter::link(index))? {
        e?;
        count += 1;
    }
    report("list", t.elapsed(), count, vm_hwm_kib());

    let t = Instant::now();
    if !batch {
        for e in &entries {
            h.delete_fdb(index, e)?;
        }
        report("delete", t.elapsed(), entries.len(), vm_hwm_kib());
        return Ok(());
    }
    // `bridge fdb flush dev vx0`: one bulk request (a listing and a batch of deletes on
    // kernels whose VXLAN device has no bulk delete, before 6.8).
    h.flush_fdb(index, &FdbFlush::default())?;
    report("delete", t.elapsed(), entries.len(), vm_hwm_kib());
    Ok(())
}

fn all_ok(what: &str, results: &[netplumb::Result<()>]) -> AnyResult<usize> {
    if let Some(e) = results.iter().find_map(|r| r.as_ref().err()) {
        return Err(format!("{what}: {e}").into());
    }
    Ok(results.len())
}

/// netplumb's routes: with `batch`, a [`Batch`](netplumb::batch::Batch) each way; without,
/// one `add_route`/`delete_route` call per route (each waits for its ack).
fn np_routes(nets: &[IpNetwork], batch: bool) -> AnyResult<()> {
    let h = Handle::new()?;
    let gw: IpAddr = GATEWAY.parse()?;
    let table = TableId::new(TABLE);

    let t = Instant::now();
    if !batch {
        for p in nets {
            h.add_route(&NewRoute {
                table,
                ..NewRoute::via(*p, gw)?
            })?;
        }
        report("install", t.elapsed(), nets.len(), vm_hwm_kib());
    } else {
        let mut batch = h.batch();
        batch.reserve(nets.len(), 44);
        for p in nets {
            batch.add_route(&NewRoute {
                table,
                ..NewRoute::via(*p, gw)?
            });
        }
        let done = all_ok("install", &batch.send())?;
        report("install", t.elapsed(), done, vm_hwm_kib());
        drop(batch);
        println!("rss-after-install {}", vm_rss_kib());
    }

    let before = reset_peak();
    let t = Instant::now();
    let filter = RouteFilter {
        family: Some(IpFamily::V4),
        ..RouteFilter::table(table)
    };
    let mut count = 0;
    for r in h.routes_iter(&filter)? {
        if r?.next_hops.iter().any(|nh| nh.gateway.is_some()) {
            count += 1;
        }
    }
    report_dump("dump", t.elapsed(), count, vm_hwm_kib(), before);

    let t = Instant::now();
    if !batch {
        for p in nets {
            h.delete_route(&RouteKey {
                table,
                ..RouteKey::new(*p)
            })?;
        }
        report("delete", t.elapsed(), nets.len(), vm_hwm_kib());
        return Ok(());
    }
    let mut batch = h.batch();
    batch.reserve(nets.len(), 36);
    for p in nets {
        batch.delete_route(&RouteKey {
            table,
            ..RouteKey::new(*p)
        });
    }
    let done = all_ok("delete", &batch.send())?;
    report("delete", t.elapsed(), done, vm_hwm_kib());
    Ok(())
}

/// The routes operation through the async face (`netplumb::tokio`) on a current-thread
/// runtime: the batch (or one request at a time) through `AsyncHandle::run`, the dump as a
/// `DumpStream`.
#[cfg(feature = "tokio")]
fn np_async_routes(nets: &[IpNetwork], batch: bool) -> AnyResult<()> {
    use futures_util::StreamExt;
    use netplumb::tokio::AsyncHandle;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let h = AsyncHandle::new().await?;
        let gw: IpAddr = GATEWAY.parse()?;
        let table = TableId::new(TABLE);
        // Timed from here, as the blocking peer (which builds each route as it queues it).
        let t = Instant::now();
        let routes: Vec<NewRoute> = nets
            .iter()
            .map(|p| {
                Ok(NewRoute {
                    table,
                    ..NewRoute::via(*p, gw)?
                })
            })
            .collect::<netplumb::Result<_>>()?;
        async_phase(
            &h,
            "install",
            &routes,
            batch,
            t,
            |b, r| b.add_route(r),
            |h, r| h.add_route(r),
        )
        .await?;

        let before = reset_peak();
        let t = Instant::now();
        let filter = RouteFilter {
            family: Some(IpFamily::V4),
            ..RouteFilter::table(table)
        };
        let mut count = 0;
        let mut stream = h.stream(|h| h.routes_iter(&filter)).await?;
        while let Some(r) = stream.next().await {
            if r?.next_hops.iter().any(|nh| nh.gateway.is_some()) {
                count += 1;
            }
        }
        drop(stream);
        report_dump("dump", t.elapsed(), count, vm_hwm_kib(), before);

        let t = Instant::now();
        let keys: Vec<RouteKey> = nets
            .iter()
            .map(|p| RouteKey {
                table,
                ..RouteKey::new(*p)
            })
            .collect();
        async_phase(
            &h,
            "delete",
            &keys,
            batch,
            t,
            |b, k| b.delete_route(k),
            |h, k| h.delete_route(k),
        )
        .await?;
        Ok(())
    })
}

/// One write phase through the async face: every item queued in one batch inside one
/// `AsyncHandle::run` (`batch`), or one `run` per item; reports the phase timed from `t`.
#[cfg(feature = "tokio")]
async fn async_phase<T>(
    h: &netplumb::tokio::AsyncHandle,
    phase: &str,
    items: &[T],
    batch: bool,
    t: Instant,
    queue: impl Fn(&mut netplumb::batch::Batch<'_>, &T) -> usize,
    single: impl Fn(&Handle, &T) -> netplumb::Result<()>,
) -> AnyResult<()> {
    let done = if batch {
        let results = h
            .run(|h| {
                let mut b = h.batch();
                b.reserve(items.len(), 44);
                for item in items {
                    queue(&mut b, item);
                }
                Ok(b.send())
            })
            .await?;
        all_ok(phase, &results)?
    } else {
        for item in items {
            h.run(|h| single(h, item)).await?;
        }
        items.len()
    };
    report(phase, t.elapsed(), done, vm_hwm_kib());
    Ok(())
}

fn np_links(n: usize) -> AnyResult<()> {
    let h = Handle::new()?;
    let t = Instant::now();
    let mut batch = h.batch();
    for i in 0..n {
        batch.add_veth(&NewVeth {
            group: Some(LINK_GROUP),
            ..NewVeth::new(&format!("np{i}a"), &format!("np{i}b"))
        });
    }
    let done = all_ok("create", &batch.send())?;
    report("create", t.elapsed(), done, vm_hwm_kib());

    reset_peak();
    let t = Instant::now();
    let mut count = 0;
    for l in h.links_iter(&LinkFilter::default())? {
        l?;
        count += 1;
    }
    report("list", t.elapsed(), count, vm_hwm_kib());

    // `ip link delete group N`: one request, the pairs unregistered together.
    let t = Instant::now();
    h.delete_link_group(LINK_GROUP)?;
    report("delete", t.elapsed(), n, vm_hwm_kib());
    Ok(())
}

fn np_addrs(nets: &[IpNetwork], link: &str, batch: bool) -> AnyResult<()> {
    let h = Handle::new()?;
    let t = Instant::now();
    if !batch {
        let index = h.link_index(link)?;
        for a in nets {
            h.add_address(index, &(*a).into())?;
        }
        report("add", t.elapsed(), nets.len(), vm_hwm_kib());
    } else {
        let mut batch = h.batch();
        for a in nets {
            batch.add_address(link, &(*a).into());
        }
        let done = all_ok("add", &batch.send())?;
        report("add", t.elapsed(), done, vm_hwm_kib());
    }

    reset_peak();
    let t = Instant::now();
    let mut count = 0;
    for a in h.addresses_iter(&AddressFilter::default())? {
        a?;
        count += 1;
    }
    report("list", t.elapsed(), count, vm_hwm_kib());

    let t = Instant::now();
    if !batch {
        let index = h.link_index(link)?;
        for a in nets {
            h.delete_address(index, *a)?;
        }
        report("delete", t.elapsed(), nets.len(), vm_hwm_kib());
        return Ok(());
    }
    let mut batch = h.batch();
    for a in nets {
        batch.delete_address(link, *a);
    }
    let done = all_ok("delete", &batch.send())?;
    report("delete", t.elapsed(), done, vm_hwm_kib());
    Ok(())
}

fn read_pairs(file: &str) -> AnyResult<Vec<(String, String)>> {
    Ok(std::fs::read_to_string(file)?
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect())
}

fn np_neighs(file: &str, link: &str, batch: bool) -> AnyResult<()> {
    let entries: Vec<(IpAddr, MacAddr)> = read_pairs(file)?
        .iter()
        .map(|(ip, mac)| Ok((ip.parse()?, mac.parse()?)))
        .collect::<AnyResult<_>>()?;
    let h = Handle::new()?;
    let index = h.link_index(link)?;
    let t = Instant::now();
    if !batch {
        for (ip, mac) in &entries {
            h.add_neighbour(index, &NewNeighbour::new(*ip, *mac))?;
        }
        report("add", t.elapsed(), entries.len(), vm_hwm_kib());
    } else {
        let mut batch = h.batch();
        for (ip, mac) in &entries {
            batch.add_neighbour(index, &NewNeighbour::new(*ip, *mac));
        }
        let done = all_ok("add", &batch.send())?;
        report("add", t.elapsed(), done, vm_hwm_kib());
    }

    reset_peak();
    let t = Instant::now();
    let mut count = 0;
    let filter = NeighbourFilter {
        family: Some(IpFamily::V4),
        ..NeighbourFilter::default()
    };
    for n in h.neighbours_iter(&filter)? {
        n?;
        count += 1;
    }
    report("list", t.elapsed(), count, vm_hwm_kib());

    let t = Instant::now();
    if !batch {
        for (ip, _) in &entries {
            h.delete_neighbour(index, *ip)?;
        }
        report("delete", t.elapsed(), entries.len(), vm_hwm_kib());
        return Ok(());
    }
    let mut batch = h.batch();
    for (ip, _) in &entries {
        batch.delete_neighbour(index, *ip);
    }
    let done = all_ok("delete", &batch.send())?;
    report("delete", t.elapsed(), done, vm_hwm_kib());
    Ok(())
}

fn np_rules(file: &str) -> AnyResult<()> {
    let rules: Vec<Rule> = read_pairs(file)?
        .iter()
        .map(|(prio, from)| {
            Ok(Rule {
                priority: Some(prio.parse()?),
                from: Some(from.parse()?),
                action: RuleAction::ToTable(TableId::new(TABLE)),
                ..Rule::default()
            })
        })
        .collect::<AnyResult<_>>()?;
    let h = Handle::new()?;
    let t = Instant::now();
    let mut batch = h.batch();
    for r in &rules {
        batch.add_rule(r);
    }
    let done = all_ok("add", &batch.send())?;
    report("add", t.elapsed(), done, vm_hwm_kib());

    reset_peak();
    let t = Instant::now();
    let mut count = 0;
    let filter = RuleFilter {
        family: Some(IpFamily::V4),
        ..RuleFilter::default()
    };
    for r in h.rules_iter(&filter)? {
        r?;
        count += 1;
    }
    report("list", t.elapsed(), count, vm_hwm_kib());

    let t = Instant::now();
    let mut batch = h.batch();
    for r in &rules {
        batch.delete_rule(r);
    }
    let done = all_ok("delete", &batch.send())?;
    report("delete", t.elapsed(), done, vm_hwm_kib());
    Ok(())
}

/// iproute2: `ip -batch` files written by the harness, and the listings' text read in full.
/// Each `ip` is its own process: its peak resident memory comes from `wait4`.
fn ip_peer(dir: &Path, op: &str) -> AnyResult<()> {
    let arg = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let (add, list, del): (&str, Vec<String>, &str) = match op {
        "routes" => (
            "install",
            vec![
                "route".into(),
                "show".into(),
                "table".into(),
                TABLE.to_string(),
            ],
            "delete",
        ),
        "neighs" => (
            "add",
            vec!["-4".into(), "neigh".into(), "show".into()],
            "delete",
        ),
        "rules" => (
            "add",
            vec!["-4".into(), "rule".into(), "show".into()],
            "delete",
        ),
        "links" => (
            "create",
            vec!["-d".into(), "link".into(), "show".into()],
            "delete",
        ),
        "fdb" => (
            "add",
            vec!["fdb".into(), "show".into(), "dev".into(), FDB_LINK.into()],
            "delete",
        ),
        _ => ("add", vec!["addr".into(), "show".into()], "delete"),
    };
    // FDB entries are `bridge`'s, the rest `ip`'s.
    let ip = |args: &[String]| tool(if op == "fdb" { "bridge" } else { "ip" }, args);
    let (secs, _, rss) = ip(&["-batch".into(), arg(&format!("{op}-add.batch"))])?;
    let n = std::fs::read_to_string(dir.join(format!("{op}-add.batch")))?
        .lines()
        .count();
    report(add, secs, n, rss);
    // The dump's own memory: its peak minus that of the same `ip` listing the main table
    // (one route).
    let baseline = if op == "routes" {
        ip(&["route".into(), "show".into(), "table".into(), "main".into()])?.2
    } else {
        0
    };
    let (secs, text, rss) = ip(&list)?;
    // What the listing shows, counted as a reader of `ip`'s text would.
    let count = match op {
        "routes" => text.lines().filter(|l| l.contains(" via ")).count(),
        "neighs" | "rules" | "fdb" => text.lines().filter(|l| !l.trim().is_empty()).count(),
        "links" => text
            .lines()
            .filter(|l| l.as_bytes().first().is_some_and(u8::is_ascii_digit))
            .count(),
        _ => text
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with("inet ") || l.starts_with("inet6 ")
            })
            .count(),
    };
    report_dump(
        if op == "routes" { "dump" } else { "list" },
        secs,
        count,
        rss,
        baseline,
    );
    let (secs, _, rss) = ip(&["-batch".into(), arg(&format!("{op}-del.batch"))])?;
    report(del, secs, n, rss);
    Ok(())
}

/// Runs `PROGRAM ARGS` (`ip` or `bridge`), its output read in full; returns its time, output
/// and peak RSS (KiB).
fn tool(program: &str, args: &[String]) -> AnyResult<(Duration, String, u64)> {
    let t = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut text)?;
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err)?;
    }
    // wait4 for the child's own rusage (ru_maxrss, KiB).
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid, and wait4 writes it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, the pointers are to live locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let elapsed = t.elapsed();
    if pid < 0 {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()).into());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{program} {args:?}: {}", err.trim()).into());
    }
    Ok((elapsed, text, usage.ru_maxrss as u64))
}

// ---------------------------------------------------------------------------------------
// The floor: raw netlink, requests pre-encoded, acks only.

const NLMSG_HDR: usize = 16;
const RTM_HDR: usize = 12;

fn put_attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(buf.len() + (4 - len % 4) % 4, 0);
}

/// Appends one route request (`RTM_NEWROUTE` via the gateway, or `RTM_DELROUTE`) to `buf`.
/// Without `ack`, the request has no `NLM_F_ACK`: the kernel answers it only if it fails.
fn encode_route(buf: &mut Vec<u8>, seq: u32, net: &IpNetwork, add: bool, ack: bool) {
    let start = buf.len();
    let ack_flag = if ack { libc::NLM_F_ACK } else { 0 };
    let (kind, flags) = if add {
        (
            libc::RTM_NEWROUTE,
            libc::NLM_F_REQUEST | ack_flag | libc::NLM_F_CREATE | libc::NLM_F_EXCL,
        )
    } else {
        (libc::RTM_DELROUTE, libc::NLM_F_REQUEST | ack_flag)
    };
    buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set below
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&(flags as u16).to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    // struct rtmsg
    buf.push(libc::AF_INET as u8);
    buf.push(net.prefix());
    buf.push(0); // src_len
    buf.push(0); // tos
    buf.push(TABLE as u8);
    buf.push(if add { libc::RTPROT_BOOT } else { 0 });
    buf.push(if add {
        libc::RT_SCOPE_UNIVERSE
    } else {
        libc::RT_SCOPE_NOWHERE
    });
    buf.push(if add { libc::RTN_UNICAST } else { 0 });
    buf.extend_from_slice(&0u32.to_ne_bytes()); // flags
    let dst = match net.ip() {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => [0; 4],
    };
    put_attr(buf, libc::RTA_DST, &dst);
    if add {
        let gw: std::net::Ipv4Addr = GATEWAY.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        put_attr(buf, libc::RTA_GATEWAY, &gw.octets());
    }
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

fn raw_socket() -> AnyResult<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: fd is a fresh descriptor of ours.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let size: libc::c_int = 32 << 20;
    for (level, opt, val) in [
        (libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size),
        // A netlink write may not be larger than the send buffer (EMSGSIZE).
        (libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 4 << 20),
        (libc::SOL_NETLINK, libc::NETLINK_GET_STRICT_CHK, 1),
        (libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, 1),
    ] {
        // SAFETY: an int option, its size given.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                level,
                opt,
                (&val as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            );
        }
    }
    Ok(fd)
}

/// Sends the pre-encoded requests in chunks of about 256 KiB; after each chunk, reads the
/// acks (the kernel has queued them all by the time `send` returns). Returns the acks with
/// error 0. For requests encoded without `NLM_F_ACK`, use [`send_all_noack`].
fn send_all(fd: &OwnedFd, buf: &[u8], ends: &[usize]) -> AnyResult<usize> {
    let mut rx = vec![0u8; 1 << 20];
    let mut ok = 0;
    let mut start = 0;
    let mut i = 0;
    while i < ends.len() {
        let first = i;
        while i < ends.len() && ends[i] - start < 256 << 10 {
            i += 1;
        }
        if i == first {
            i += 1;
        }
        let chunk = &buf[start..ends[i - 1]];
        // SAFETY: chunk is a live slice.
        let sent = unsafe { libc::send(fd.as_raw_fd(), chunk.as_ptr().cast(), chunk.len(), 0) };
        if sent < 0 || sent as usize != chunk.len() {
            return Err(format!("send: {}", std::io::Error::last_os_error()).into());
        }
        start = ends[i - 1];
        let mut want = i - first;
        while want > 0 {
            // SAFETY: rx is a live buffer of its length.
            let n = unsafe { libc::recv(fd.as_raw_fd(), rx.as_mut_ptr().cast(), rx.len(), 0) };
            if n < 0 {
                return Err(format!("recv: {}", std::io::Error::last_os_error()).into());
            }
            let mut off = 0;
            while off + NLMSG_HDR <= n as usize {
                let len = u32::from_ne_bytes(rx[off..off + 4].try_into()?) as usize;
                let kind = u16::from_ne_bytes(rx[off + 4..off + 6].try_into()?);
                if kind == libc::NLMSG_ERROR as u16 {
                    let err = i32::from_ne_bytes(rx[off + 16..off + 20].try_into()?);
                    if err != 0 {
                        return Err(format!(
                            "request refused: {}",
                            std::io::Error::from_raw_os_error(-err)
                        )
                        .into());
                    }
                    ok += 1;
                    want -= 1;
                }
                off += (len + 3) & !3;
                if len == 0 {
                    break;
                }
            }
        }
    }
    Ok(ok)
}

/// Sends requests encoded without `NLM_F_ACK` in the chunks [`send_all`] uses, each followed
/// by an `NLMSG_NOOP` that asks for an ack: the kernel handles a write's messages in order
/// before `send` returns, so that ack comes after the errors of any request of the chunk
/// that failed (the only ones it answers). Returns the requests done.
fn send_all_noack(fd: &OwnedFd, buf: &[u8], ends: &[usize]) -> AnyResult<usize> {
    const BARRIER_SEQ: u32 = u32::MAX - 1;
    let mut noop = Vec::with_capacity(NLMSG_HDR);
    noop.extend_from_slice(&(NLMSG_HDR as u32).to_ne_bytes());
    noop.extend_from_slice(&(libc::NLMSG_NOOP as u16).to_ne_bytes());
    noop.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16).to_ne_bytes());
    noop.extend_from_slice(&BARRIER_SEQ.to_ne_bytes());
    noop.extend_from_slice(&0u32.to_ne_bytes());
    let mut rx = vec![0u8; 1 << 20];
    let (mut ok, mut start, mut i) = (0, 0, 0);
    while i < ends.len() {
        let first = i;
        while i < ends.len() && ends[i] - start < 256 << 10 {
            i += 1;
        }
        if i == first {
            i += 1;
        }
        for chunk in [&buf[start..ends[i - 1]], &noop[..]] {
            // SAFETY: chunk is a live slice.
            let sent = unsafe { libc::send(fd.as_raw_fd(), chunk.as_ptr().cast(), chunk.len(), 0) };
            if sent < 0 || sent as usize != chunk.len() {
                return Err(format!("send: {}", std::io::Error::last_os_error()).into());
            }
        }
        start = ends[i - 1];
        'acks: loop {
            // SAFETY: rx is a live buffer of its length.
            let n = unsafe { libc::recv(fd.as_raw_fd(), rx.as_mut_ptr().cast(), rx.len(), 0) };
            if n < 0 {
                return Err(format!("recv: {}", std::io::Error::last_os_error()).into());
            }
            let mut off = 0;
            while off + NLMSG_HDR + 4 <= n as usize {
                let len = u32::from_ne_bytes(rx[off..off + 4].try_into()?) as usize;
                let kind = u16::from_ne_bytes(rx[off + 4..off + 6].try_into()?);
                let seq = u32::from_ne_bytes(rx[off + 8..off + 12].try_into()?);
                if kind == libc::NLMSG_ERROR as u16 {
                    let err = i32::from_ne_bytes(rx[off + 16..off + 20].try_into()?);
                    if err != 0 {
                        return Err(format!(
                            "request {seq} refused: {}",
                            std::io::Error::from_raw_os_error(-err)
                        )
                        .into());
                    }
                    if seq == BARRIER_SEQ {
                        break 'acks;
                    }
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
        ok += i - first;
    }
    Ok(ok)
}

/// The floor: with `ack`, every request acked ([`send_all`]); without, only failures and one
/// barrier per write answered ([`send_all_noack`]): what the acks cost.
fn floor_routes(nets: &[IpNetwork], ack: bool) -> AnyResult<()> {
    let fd = raw_socket()?;
    let encode = |add: bool| {
        let mut buf = Vec::with_capacity(nets.len() * 44);
        let mut ends = Vec::with_capacity(nets.len());
        for (i, n) in nets.iter().enumerate() {
            encode_route(&mut buf, i as u32 + 1, n, add, ack);
            ends.push(buf.len());
        }
        (buf, ends)
    };
    let (add, add_ends) = encode(true);
    let (del, del_ends) = encode(false);
    let send = if ack { send_all } else { send_all_noack };

    let t = Instant::now();
    let done = send(&fd, &add, &add_ends)?;
    report("install", t.elapsed(), done, vm_hwm_kib());

    let before = reset_peak();
    let t = Instant::now();
    let mut req = Vec::new();
    req.extend_from_slice(&((NLMSG_HDR + RTM_HDR) as u32).to_ne_bytes());
    req.extend_from_slice(&libc::RTM_GETROUTE.to_ne_bytes());
    req.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16).to_ne_bytes());
    req.extend_from_slice(&u32::MAX.to_ne_bytes());
    req.extend_from_slice(&0u32.to_ne_bytes());
    req.extend_from_slice(&[libc::AF_INET as u8, 0, 0, 0, TABLE as u8, 0, 0, 0]);
    req.extend_from_slice(&0u32.to_ne_bytes());
    // SAFETY: req is a live buffer.
    if unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) } < 0 {
        return Err(format!("send: {}", std::io::Error::last_os_error()).into());
    }
    let mut rx = vec![0u8; 1 << 20];
    let mut count = 0;
    'dump: loop {
        // SAFETY: rx is a live buffer of its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), rx.as_mut_ptr().cast(), rx.len(), 0) };
        if n < 0 {
            return Err(format!("recv: {}", std::io::Error::last_os_error()).into());
        }
        let mut off = 0;
        while off + NLMSG_HDR <= n as usize {
            let len = u32::from_ne_bytes(rx[off..off + 4].try_into()?) as usize;
            let kind = u16::from_ne_bytes(rx[off + 4..off + 6].try_into()?);
            match kind as libc::c_int {
                libc::NLMSG_DONE => break 'dump,
                libc::NLMSG_ERROR => return Err("dump refused".into()),
                // Counted without decoding: a route of table 100 (its rtmsg's table byte).
                _ if kind == libc::RTM_NEWROUTE
                    && rx.get(off + NLMSG_HDR + 4) == Some(&(TABLE as u8)) =>
                {
                    count += 1
                }
                _ => {}
            }
            if len == 0 {
                break 'dump;
            }
            off += (len + 3) & !3;
        }
    }
    report_dump("dump", t.elapsed(), count, vm_hwm_kib(), before);

    let t = Instant::now();
    let done = send(&fd, &del, &del_ends)?;
    report("delete", t.elapsed(), done, vm_hwm_kib());
    Ok(())
}
