//! RIB → kernel FIB: loads the real IPv4 Internet table into a [`Rib`] (one eBGP session),
//! mirrors its FIB into table 100 of a namespace with batched `route replace` / `route del`,
//! replays a day of BGP updates through the Rib and mirrors every [`FibChange`], then checks
//! the kernel against the Rib route by route and with 10,000 `ip route get` lookups.
//!
//! Beside the kernel, every FIB change also goes to a [`SharedFib`] (the route's next hops as
//! one id): the forwarding table a data plane in this process would use. While the day of
//! updates streams in on the main thread, which publishes them in batches of `--chunk`, a
//! second thread answers lookups of random addresses from it through a [`FibReader`], never
//! waiting for the writer; the check then compares its answers with the Rib's for the same
//! addresses as the kernel's.
//!
//! ```text
//! sudo cargo run --release --example fib_sync                   # the whole table, ~1M routes
//! sudo cargo run --release --example fib_sync -- --limit 100000  # a 100,000-prefix slice
//! ```
//! Options: `--limit N` (prefixes of the table; all by default), `--lookups N` (10000),
//! `--chunk N` (requests per batch flush, 1000; the `SharedFib` publishes every N changes
//! too), `--publish-ms N` (publish the `SharedFib` by age instead: once its staged changes
//! have waited N ms, [`SharedFib::publish_if_older`]), `--seed N`, `--prefix P` (namespace names,
//! `fibsync`), `--keep` (leave the namespaces for a look with `ip netns exec`), `--ecmp N`
//! (each route over N of the four neighbours, 1 by default), `--nexthop-groups` (install
//! through shared nexthop objects: `route replace PREFIX nhid ID`, one object per neighbour
//! and one group per ECMP set, with [`FibNexthops`]).
//!
//! The kernel's memory for the table is read as the growth of `Slab` in `/proc/meminfo`
//! across the install (a machine-wide figure: run it on a quiet machine).
//!
//! # Data
//! `$NETPLUMB_DATA` (default `../shared/data` next to the crate root) must hold the RIS files
//! `ris-2026-05-11-v4.txt.gz` (one prefix a line) and `ris-2026-05-11-v4-updates.txt.gz`
//! (`A PREFIX` or `W PREFIX`, in order). Without them the example stops and says where it
//! looked.
//!
//! With `--limit N` the example keeps a random but consistent slice of the prefix space: every
//! prefix gets a seeded hash; the N table prefixes with the smallest hashes are loaded, and the
//! replay keeps every update whose prefix hashes no higher than the largest of those — updates
//! of loaded prefixes and announcements of new prefixes of the same slice. Path changes,
//! withdrawals and new prefixes thus keep their real proportions at any N, and the loaded
//! prefixes are spread over the whole address space (the first N lines of the sorted file
//! would all be in 1.0.0.0/8).
//!
//! # Next hops
//! The router namespace `PREFIX-router` has four unnumbered links `peer1`…`peer4`, veth pairs
//! to the namespaces `PREFIX-peer1`…`peer4` of four BGP neighbours, whose `eth0` holds
//! 192.0.2.N/24. Routes point at a neighbour the way a BGP daemon installs them:
//! `via 192.0.2.N dev peerN onlink proto bgp`. The RIS files carry prefixes without
//! attributes, so each announcement is given a neighbour by a seeded hash of the prefix and the
//! announcement's position in the stream: a re-announcement moves the prefix to another
//! neighbour three times in four, as a path change would, and leaves it in place otherwise
//! (then the Rib reports no change and nothing is sent to the kernel).
//!
//! # Checks
//! - every batched request succeeded;
//! - table 100 (dumped with a table filter) holds exactly the Rib's FIB: the same number of
//!   routes, each with the Rib's prefix, gateway and device;
//! - for `--lookups` seeded addresses, half uniformly random and half drawn from inside the
//!   FIB's prefixes, `route get ADDRESS mark 100 fibmatch` answers with the prefix and gateway
//!   that `PrefixMap::longest_match` returns, and "network unreachable" where it returns none.
//!   A rule `fwmark 100 lookup 100` (then `fwmark 100 unreachable`) confines these lookups to
//!   table 100; the `local` rule is moved behind them so that 127.0.0.0/8 does not answer
//!   first.
//!
//! Mismatches are printed (the first 10) and fail the run. The last line reports the rate at
//! which FIB changes were applied to the kernel and the Rib's own rate.
//!
//! # The same job with `ip`
//! ```text
//! ip netns add fibsync-router
//! ip netns add fibsync-peer1            # … and peer2 … peer4
//! ip -n fibsync-router link add peer1 type veth peer name eth0 netns fibsync-peer1
//! ip -n fibsync-peer1 addr add 192.0.2.1/24 dev eth0
//! ip -n fibsync-peer1 link set eth0 up; ip -n fibsync-router link set peer1 up
//! ip -n fibsync-router rule add pref 32765 lookup local
//! ip -n fibsync-router rule del pref 0
//! ip -n fibsync-router rule add pref 100 fwmark 100 lookup 100
//! ip -n fibsync-router rule add pref 101 fwmark 100 unreachable
//! ip -n fibsync-router -batch FILE      # route replace 1.0.0.0/24 via 192.0.2.3 dev peer3
//!                                       #   onlink table 100 proto bgp
//!                                       # route del 1.0.4.0/22 table 100 proto bgp
//! ip -n fibsync-router route show table 100 | wc -l
//! ip -n fibsync-router route get 1.0.0.1 mark 100 fibmatch
//! ip netns del fibsync-router; ip netns del fibsync-peer1 …
//! ```

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netplumb::batch::Batch;
use netplumb::fib::{FibInstall, FibNexthops};
use netplumb::link::NewVeth;
use netplumb::lpm::{
    Candidate, FibChange, FibNextHop, FibReader, FibRoute, Prefix, Protocol, Rib, RibSource,
    SharedFib,
};
use netplumb::route::{self, RouteFilter, RouteProtocol, RouteQuery};
use netplumb::rule::{Rule, RuleAction, RuleFilter};
use netplumb::{Handle, IfIndex, IpFamily, TableId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use netplumb_lab::{ris, Lab, Result};

/// The kernel table the FIB is mirrored into.
pub const TABLE: TableId = TableId::new(100);
/// The firewall mark that selects table 100 for the check's lookups.
pub const MARK: u32 = 100;
/// The BGP neighbours (one link each).
pub const PEERS: u8 = 4;
/// The first id of the nexthop objects of `--nexthop-groups`.
const NEXTHOP_IDS: u32 = 1000;
/// The one Rib source: an eBGP session.
const SESSION: RibSource = RibSource {
    protocol: Protocol::Ebgp,
    instance: 1,
};

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Namespace names start with `PREFIX-`.
    pub prefix: String,
    /// Load this many table prefixes (a consistent random slice, see the module docs); the
    /// whole table when `None`.
    pub limit: Option<usize>,
    /// The directory with the RIS files; `$NETPLUMB_DATA` or `../shared/data` when `None`.
    pub data: Option<PathBuf>,
    /// How many addresses to look up in the final check.
    pub lookups: usize,
    /// Requests per batch flush.
    pub chunk: usize,
    /// Seed of the slice, of the next-hop choice and of the lookup addresses.
    pub seed: u64,
    /// Keep the namespaces at the end.
    pub keep: bool,
    /// How many neighbours each route goes through (1 to 4).
    pub ecmp: usize,
    /// Install through shared nexthop objects and groups ([`FibNexthops`]).
    pub nexthop_groups: bool,
    /// Publish the [`SharedFib`] once its staged changes are this old
    /// ([`SharedFib::publish_if_older`]) instead of every `chunk` changes.
    pub publish_age: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            prefix: "fibsync".into(),
            limit: None,
            data: None,
            lookups: 10_000,
            chunk: 1000,
            seed: 1,
            keep: false,
            ecmp: 1,
            nexthop_groups: false,
            publish_age: None,
        }
    }
}

/// What a run did and measured.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Prefixes in the table file.
    pub table_prefixes: usize,
    /// Prefixes loaded into the Rib and installed.
    pub loaded: usize,
    /// Seconds to install them (encoding and batches).
    pub install_secs: f64,
    /// Lines in the updates file.
    pub updates_read: usize,
    /// Updates replayed through the Rib (all of them, or those of the slice).
    pub replayed: usize,
    /// Announcements among them.
    pub announcements: usize,
    /// Withdrawals among them.
    pub withdrawals: usize,
    /// FIB changes of the replay: new prefixes.
    pub added: usize,
    /// FIB changes of the replay: another best route (path change).
    pub replaced: usize,
    /// FIB changes of the replay: prefixes that left the FIB.
    pub removed: usize,
    /// Seconds spent in the Rib during the replay.
    pub rib_secs: f64,
    /// Seconds spent mirroring the replay's changes into the kernel (encoding, sending,
    /// acknowledgements).
    pub kernel_secs: f64,
    /// The Rib's FIB length at the end.
    pub fib_routes: usize,
    /// Routes in table 100 at the end.
    pub kernel_routes: usize,
    /// Addresses looked up in the kernel and in the Rib.
    pub lookups: usize,
    /// Lookups that found a route (the others found none, on both sides).
    pub lookups_routed: usize,
    /// Disagreements (route-by-route and lookups); a run that returns `Ok` has none.
    pub mismatches: usize,
    /// Growth of the kernel's slab memory across the install, in bytes (machine-wide).
    pub slab_growth: i64,
    /// Nexthop objects at the end with `--nexthop-groups`: (single next hops, groups).
    pub nexthop_objects: (usize, usize),
    /// Lookups the [`SharedFib`] reader thread answered while the updates streamed in.
    pub shared_lookups: u64,
    /// Of those, lookups that found a route.
    pub shared_routed: u64,
    /// Seconds the reader thread ran.
    pub shared_secs: f64,
    /// Batches the writer published to the reader during the replay.
    pub shared_publishes: usize,
    /// Publishes deferred because the reader was still in the level left behind (their
    /// changes went out with the next batch).
    pub shared_deferred: usize,
}

impl Summary {
    /// FIB changes of the replay.
    pub fn changes(&self) -> usize {
        self.added + self.replaced + self.removed
    }

    /// FIB changes applied to the kernel per second during the replay.
    pub fn kernel_rate(&self) -> f64 {
        self.changes() as f64 / self.kernel_secs.max(1e-9)
    }

    /// Updates replayed per second from end to end: the Rib's work plus the kernel's.
    pub fn end_to_end_rate(&self) -> f64 {
        self.replayed as f64 / (self.rib_secs + self.kernel_secs).max(1e-9)
    }

    /// Updates processed by the Rib per second.
    pub fn rib_rate(&self) -> f64 {
        self.replayed as f64 / self.rib_secs.max(1e-9)
    }

    /// Lookups per second of the [`SharedFib`] reader during the replay.
    pub fn shared_rate(&self) -> f64 {
        self.shared_lookups as f64 / self.shared_secs.max(1e-9)
    }

    /// Routes installed per second during the initial load.
    pub fn install_rate(&self) -> f64 {
        self.loaded as f64 / self.install_secs.max(1e-9)
    }
}

/// The data directory: `opts.data`, else `$NETPLUMB_DATA`, else `../shared/data` next to the
/// crate root.
pub fn data_dir(opts: &Options) -> PathBuf {
    opts.data.clone().unwrap_or_else(ris::data_dir)
}

/// The two RIS files, or an error that says where they were looked for.
pub fn data_files(opts: &Options) -> Result<(PathBuf, PathBuf)> {
    let dir = data_dir(opts);
    let (table, updates) = (ris::table_file("v4"), ris::updates_file("v4"));
    let files = (dir.join(&table), dir.join(&updates));
    for f in [&files.0, &files.1] {
        if !f.is_file() {
            return Err(format!(
                "no routing data: {} is missing (set NETPLUMB_DATA to the directory with the \
                 RIS files {table} and {updates})",
                f.display()
            )
            .into());
        }
    }
    Ok(files)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: fib_sync [--limit N] [--lookups N] [--chunk N] [--seed N] \
                 [--prefix P] [--keep] [--ecmp N] [--nexthop-groups] [--publish-ms N]";
    let parsed = netplumb_lab::check_args(
        &args,
        &[
            "--limit",
            "--lookups",
            "--chunk",
            "--seed",
            "--prefix",
            "--ecmp",
            "--publish-ms",
        ],
        &["--keep", "--nexthop-groups"],
        usage,
    )
    .and_then(|()| {
        let d = Options::default();
        Ok(Options {
            prefix: netplumb_lab::arg(&args, "--prefix", d.prefix)?,
            limit: match netplumb_lab::arg(&args, "--limit", 0usize)? {
                0 => None,
                n => Some(n),
            },
            lookups: netplumb_lab::arg(&args, "--lookups", d.lookups)?,
            chunk: netplumb_lab::arg(&args, "--chunk", d.chunk)?,
            seed: netplumb_lab::arg(&args, "--seed", d.seed)?,
            keep: netplumb_lab::flag(&args, "--keep"),
            data: None,
            ecmp: match netplumb_lab::arg(&args, "--ecmp", d.ecmp)? {
                n @ 1..=4 => n,
                n => return Err(format!("--ecmp {n}: 1 to {PEERS} neighbours").into()),
            },
            nexthop_groups: netplumb_lab::flag(&args, "--nexthop-groups"),
            publish_age: match netplumb_lab::arg(&args, "--publish-ms", 0u64)? {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            },
        })
    });
    let result = parsed.and_then(|opts| run(&opts));
    match result {
        Ok(s) => {
            println!(
                "fib_sync: {} routes installed at {:.0} routes/s; {} updates -> {} FIB changes \
                 applied to the kernel at {:.0} changes/s, {:.0} updates/s end to end (Rib alone \
                 {:.0} updates/s; a SharedFib reader meanwhile {:.0} lookups/s); table {} = Rib \
                 ({} routes); {} lookups agree",
                s.loaded,
                s.install_rate(),
                s.replayed,
                s.changes(),
                s.kernel_rate(),
                s.end_to_end_rate(),
                s.rib_rate(),
                s.shared_rate(),
                TABLE,
                s.kernel_routes,
                s.lookups
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fib_sync failed: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- data

/// One update of the stream: announce (true) or withdraw, its prefix, its position.
struct Update {
    announce: bool,
    prefix: Prefix<Ipv4Addr>,
    seq: u64,
}

fn parse_prefix(s: &str) -> Result<Prefix<Ipv4Addr>> {
    s.parse::<Prefix<Ipv4Addr>>()
        .map_err(|e| format!("{s:?}: {e}").into())
}

/// A 64-bit mix (splitmix64's finalizer): the seeded hash behind the slice and the next hops.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn prefix_hash(seed: u64, p: &Prefix<Ipv4Addr>) -> u64 {
    mix(seed ^ (u64::from(u32::from(p.addr())) << 8 | u64::from(p.len())))
}

/// The neighbour (0-based) an announcement of `p` at position `seq` goes to.
fn peer_of(seed: u64, p: &Prefix<Ipv4Addr>, seq: u64) -> usize {
    (mix(prefix_hash(seed, p) ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % u64::from(PEERS))
        as usize
}

/// The table prefixes and updates to use, and the file totals.
struct Data {
    table: Vec<Prefix<Ipv4Addr>>,
    updates: Vec<Update>,
    table_total: usize,
    updates_total: usize,
}

fn load(opts: &Options) -> Result<Data> {
    let (table_path, updates_path) = data_files(opts)?;
    let mut table = Vec::with_capacity(1 << 20);
    ris::for_each_line(&table_path, |l| {
        table.push(parse_prefix(l)?);
        Ok(())
    })?;
    let mut updates = Vec::with_capacity(3 << 19);
    ris::for_each_line(&updates_path, |l| {
        let (op, p) = l
            .split_once(' ')
            .ok_or_else(|| format!("{l:?} is not `A PREFIX` or `W PREFIX`"))?;
        let announce = match op {
            "A" => true,
            "W" => false,
            _ => return Err(format!("{l:?} is not `A PREFIX` or `W PREFIX`").into()),
        };
        let seq = updates.len() as u64 + 1;
        updates.push(Update {
            announce,
            prefix: parse_prefix(p.trim())?,
            seq,
        });
        Ok(())
    })?;
    let (table_total, updates_total) = (table.len(), updates.len());
    if let Some(limit) = opts.limit.filter(|l| *l < table.len()) {
        if limit == 0 {
            return Err("--limit must be at least 1".into());
        }
        let mut hashes: Vec<u64> = table.iter().map(|p| prefix_hash(opts.seed, p)).collect();
        let (_, cut, _) = hashes.select_nth_unstable(limit - 1);
        let cut = *cut;
        table.retain(|p| prefix_hash(opts.seed, p) <= cut);
        // Equal hashes of different prefixes (unlikely) could keep a few more; drop them.
        table.truncate(limit);
        updates.retain(|u| prefix_hash(opts.seed, &u.prefix) <= cut);
    }
    Ok(Data {
        table,
        updates,
        table_total,
        updates_total,
    })
}

// ---------------------------------------------------------------- kernel side

/// The BGP neighbours as the router sees them: gateway and link.
struct Peers {
    gateways: Vec<Ipv4Addr>,
    links: Vec<IfIndex>,
}

impl Peers {
    fn next_hop(&self, peer: usize) -> FibNextHop {
        FibNextHop {
            gateway: Some(IpAddr::V4(self.gateways[peer])),
            ifindex: Some(self.links[peer].get()),
            weight: 1,
        }
    }

    /// The next hops of a route whose hash chose neighbour `first`: it and the following
    /// ones, `ecmp` in all, in neighbour order (so that routes over the same neighbours have
    /// the same set).
    fn next_hops(&self, first: usize, ecmp: usize) -> Vec<FibNextHop> {
        let n = self.gateways.len();
        let mut peers: Vec<usize> = (0..ecmp.min(n)).map(|k| (first + k) % n).collect();
        peers.sort_unstable();
        peers.into_iter().map(|p| self.next_hop(p)).collect()
    }
}

/// How the FIB goes into the kernel: table 100, `proto bgp`, gateways on-link (the peers'
/// links are unnumbered), so each route reads `PREFIX via GW dev LINK onlink table 100 proto
/// bgp` (several next hops make an ECMP route).
pub const INSTALL: FibInstall = FibInstall {
    table: TABLE,
    protocol: RouteProtocol::BGP,
    priority: None,
    onlink: true,
};

/// Mirrors FIB changes into table 100 through a batch flushed every `chunk` requests, and
/// keeps the time it spends.
struct Mirror<'h> {
    batch: Batch<'h>,
    /// The prefix of each queued request, to name the ones that fail.
    queued: Vec<IpNetwork>,
    chunk: usize,
    sent: usize,
    elapsed: Duration,
    /// The shared nexthop objects, with `--nexthop-groups`.
    shared: Option<FibNexthops>,
}

impl<'h> Mirror<'h> {
    fn new(h: &'h Handle, chunk: usize, shared: Option<FibNexthops>) -> Self {
        let mut batch = h.batch();
        batch.reserve(chunk, 64);
        Mirror {
            batch,
            queued: Vec::with_capacity(chunk),
            chunk: chunk.max(1),
            sent: 0,
            elapsed: Duration::ZERO,
            shared,
        }
    }

    /// `ip route replace` for a new or changed best route, `ip route del` for a withdrawal
    /// ([`Batch::apply_fib_change`]); through shared nexthop objects with `--nexthop-groups`
    /// ([`Batch::apply_fib_change_shared`], which may queue nexthop requests too).
    fn apply(&mut self, change: &FibChange<Ipv4Addr>) -> Result<()> {
        let t = Instant::now();
        match &mut self.shared {
            Some(shared) => {
                self.batch.apply_fib_change_shared(change, &INSTALL, shared);
            }
            None => {
                self.batch.apply_fib_change(change, &INSTALL);
            }
        }
        let prefix = IpNetwork::from(change.prefix);
        while self.queued.len() < self.batch.len() {
            self.queued.push(prefix);
        }
        let r = if self.batch.len() >= self.chunk {
            self.send()
        } else {
            Ok(())
        };
        self.elapsed += t.elapsed();
        r
    }

    fn flush(&mut self) -> Result<()> {
        let t = Instant::now();
        let r = self.send();
        self.elapsed += t.elapsed();
        r
    }

    fn send(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let results = self.batch.send();
        let n = results.len();
        self.sent += n;
        let queued = std::mem::take(&mut self.queued);
        let mut failed = results
            .into_iter()
            .zip(queued)
            .filter_map(|(r, prefix)| r.err().map(|e| (prefix, e)));
        if let Some((prefix, first)) = failed.next() {
            return Err(format!(
                "{} of {n} batched route requests failed, first for {prefix}: {first}",
                failed.count() + 1
            )
            .into());
        }
        Ok(())
    }
}

/// Builds the router and its neighbours; returns the router's handle and the neighbours.
/// The Rib's FIB as a data plane holds it: each prefix to the id of its next-hop set, in a
/// [`SharedFib`] that reader threads look up in while this writer changes it.
struct Fwd {
    fib: SharedFib<Ipv4Addr>,
    /// The id of each next-hop set seen so far.
    ids: HashMap<Vec<FibNextHop>, u32>,
    /// Publish after this many changes.
    every: usize,
    /// Or instead once the staged changes are this old.
    age: Option<Duration>,
    unpublished: usize,
    publishes: usize,
    deferred: usize,
}

impl Fwd {
    fn new(every: usize, age: Option<Duration>) -> Self {
        Fwd {
            fib: SharedFib::new(),
            ids: HashMap::new(),
            every: every.max(1),
            age,
            unpublished: 0,
            publishes: 0,
            deferred: 0,
        }
    }

    /// The id of a route's next-hop set (a new one the first time).
    fn id(&mut self, r: &FibRoute) -> u32 {
        let n = self.ids.len() as u32;
        *self.ids.entry(r.next_hops.clone()).or_insert(n)
    }

    /// The id the Rib's best route for `addr` has here, if any (no new id is made).
    fn expected(&self, best: Option<&FibRoute>) -> Option<u32> {
        best.and_then(|r| self.ids.get(&r.next_hops).copied())
    }

    /// Stages one FIB change; publishes every `every` changes, or once the staged changes
    /// are `age` old.
    fn apply(&mut self, c: &FibChange<Ipv4Addr>) -> Result<()> {
        match &c.new {
            Some(r) => {
                let id = self.id(r);
                self.fib.insert(c.prefix, id)?;
            }
            None => {
                self.fib.remove(&c.prefix);
            }
        }
        self.unpublished += 1;
        if let Some(age) = self.age {
            // Readers see each change at most about `age` after it came, and the writer
            // publishes at most once per `age` however fast changes come (see
            // `publish_if_older`).
            if self.fib.publish_if_older(age) {
                self.publishes += 1;
                self.unpublished = 0;
            }
        } else if self.unpublished >= self.every {
            self.publish();
        }
        Ok(())
    }

    /// Publishes what is staged (deferred if the reader is still in the level left behind).
    fn publish(&mut self) {
        if self.fib.publish() {
            self.publishes += 1;
            self.unpublished = 0;
        } else {
            self.deferred += 1;
        }
    }

    /// Publishes everything, waiting (only here, at the end) for the reader to leave.
    fn publish_all(&mut self) {
        while !self.fib.publish() {
            std::thread::yield_now();
        }
        self.unpublished = 0;
    }
}

/// The reader thread of the replay: random addresses looked up until `stop`, with the count
/// of lookups, of those that found a route, and the seconds it ran. It looks up in bursts
/// of 32 addresses, as a data plane reads a receive burst: one `lookup_batch`, one
/// announcement to the writer per burst (measured in `lpm_compare`: as fast as a lone
/// `Fib`'s own `lookup_batch`, where one address at a time costs the announcement each).
fn spin_reader(mut reader: FibReader<Ipv4Addr>, seed: u64, stop: &AtomicBool) -> (u64, u64, f64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let (mut lookups, mut routed) = (0u64, 0u64);
    let (mut burst, mut out) = ([Ipv4Addr::UNSPECIFIED; 32], [None; 32]);
    let t = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..1024 / burst.len() {
            for a in &mut burst {
                *a = Ipv4Addr::from(rng.gen::<u32>());
            }
            reader.lookup_batch(&burst, &mut out);
            routed += out.iter().filter(|o| o.is_some()).count() as u64;
        }
        lookups += 1024;
    }
    (lookups, routed, t.elapsed().as_secs_f64())
}

/// Step 2 of [`run`]: the day of updates through the Rib, each FIB change to the kernel
/// (`mirror`) and to the shared table (`fwd`).
#[allow(clippy::too_many_arguments)]
fn replay(
    data: &Data,
    opts: &Options,
    peers: &Peers,
    rib: &mut Rib<Ipv4Addr>,
    mirror: &mut Mirror<'_>,
    fwd: &mut Fwd,
    summary: &mut Summary,
    rib_time: &mut Duration,
) -> Result<()> {
    for u in &data.updates {
        let t = Instant::now();
        let change = if u.announce {
            summary.announcements += 1;
            let candidate = Candidate::new(
                Protocol::Ebgp,
                0,
                peers.next_hops(peer_of(opts.seed, &u.prefix, u.seq), opts.ecmp),
            );
            rib.update(u.prefix, SESSION, candidate)
        } else {
            summary.withdrawals += 1;
            rib.withdraw(u.prefix, SESSION)
        };
        *rib_time += t.elapsed();
        if let Some(c) = change {
            match (&c.old, &c.new) {
                (None, _) => summary.added += 1,
                (Some(_), Some(_)) => summary.replaced += 1,
                (Some(_), None) => summary.removed += 1,
            }
            fwd.apply(&c)?;
            mirror.apply(&c)?;
        }
    }
    Ok(())
}

fn build_lab(lab: &mut Lab) -> Result<(Handle, Peers)> {
    let router_ns = lab.netns("router")?;
    let router = Handle::new_in(&router_ns)?;
    let mut peers = Peers {
        gateways: Vec::new(),
        links: Vec::new(),
    };
    for i in 1..=PEERS {
        let ns = lab.netns(&format!("peer{i}"))?;
        let link = format!("peer{i}");
        let mut veth = NewVeth::new(&link, "eth0");
        veth.peer.netns = Some(&ns);
        router.add_veth(&veth)?;
        let gateway = Ipv4Addr::new(192, 0, 2, i);
        let inside = Handle::new_in(&ns)?;
        inside.add_address("eth0", &IpNetwork::new(IpAddr::V4(gateway), 24)?.into())?;
        inside.set_link_up("eth0")?;
        router.set_link_up(link.as_str())?;
        peers.gateways.push(gateway);
        peers.links.push(router.link_index(link.as_str())?);
    }
    // Lookups marked 100 see table 100 and nothing else: the local table moves behind.
    router.add_rule(&Rule {
        priority: Some(32765),
        action: RuleAction::ToTable(TableId::LOCAL),
        ..Rule::default()
    })?;
    router.delete_rule_at(IpFamily::V4, 0)?;
    router.add_rule(&Rule {
        priority: Some(100),
        fwmark: Some(MARK),
        action: RuleAction::ToTable(TABLE),
        ..Rule::default()
    })?;
    router.add_rule(&Rule {
        priority: Some(101),
        fwmark: Some(MARK),
        action: RuleAction::Unreachable,
        ..Rule::default()
    })?;
    Ok((router, peers))
}

// ---------------------------------------------------------------- the job

/// Does the whole job; see the module documentation.
pub fn run(opts: &Options) -> Result<Summary> {
    let dir = data_dir(opts);
    let t = Instant::now();
    let data = load(opts)?;
    println!(
        "read {} prefixes and {} updates from {} in {:.1}s; using {} prefixes and {} updates{}",
        data.table_total,
        data.updates_total,
        dir.display(),
        t.elapsed().as_secs_f64(),
        data.table.len(),
        data.updates.len(),
        if data.table.len() < data.table_total {
            " (a seeded slice of the prefix space, see --help)"
        } else {
            ""
        }
    );

    let mut lab = Lab::new(&opts.prefix)?;
    lab.keep(opts.keep);
    let (router, peers) = build_lab(&mut lab)?;
    println!(
        "router {} with {} BGP neighbours: {}",
        lab.name("router"),
        PEERS,
        peers
            .gateways
            .iter()
            .enumerate()
            .map(|(i, g)| format!("{g} on peer{}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut summary = Summary {
        table_prefixes: data.table_total,
        updates_read: data.updates_total,
        lookups: opts.lookups,
        ..Summary::default()
    };
    let mut rib = Rib::<Ipv4Addr>::new();
    let mut fwd = Fwd::new(opts.chunk, opts.publish_age);

    // 1. The table: one eBGP candidate per prefix, every FIB change mirrored.
    let shared = opts.nexthop_groups.then(|| FibNexthops::new(NEXTHOP_IDS));
    let mut mirror = Mirror::new(&router, opts.chunk, shared);
    let slab_before = slab_bytes();
    let mut rib_load = Duration::ZERO;
    for p in &data.table {
        let t = Instant::now();
        let candidate = Candidate::new(
            Protocol::Ebgp,
            0,
            peers.next_hops(peer_of(opts.seed, p, 0), opts.ecmp),
        );
        let change = rib.update(*p, SESSION, candidate);
        rib_load += t.elapsed();
        if let Some(c) = change {
            fwd.apply(&c)?;
            mirror.apply(&c)?;
        }
    }
    mirror.flush()?;
    fwd.publish_all();
    summary.loaded = rib.fib().len();
    summary.install_secs = mirror.elapsed.as_secs_f64();
    summary.slab_growth = slab_bytes() as i64 - slab_before as i64;
    println!(
        "loaded {} prefixes into the Rib in {:.2}s; installed {} routes into table {TABLE} in \
         {:.2}s ({:.0} routes/s, batches of {}; {} next hop{} a route, {}); kernel slab {:+.1} \
         MiB",
        rib.len(),
        rib_load.as_secs_f64(),
        summary.loaded,
        summary.install_secs,
        summary.install_rate(),
        opts.chunk,
        opts.ecmp,
        if opts.ecmp == 1 { "" } else { "s" },
        match &mirror.shared {
            Some(s) => {
                let (singles, groups) = s.counts();
                format!("shared: {singles} nexthop objects, {groups} groups")
            }
            None => "each route its own".to_string(),
        },
        summary.slab_growth as f64 / 1048576.0
    );

    // 2. The day of updates.
    let shared = mirror.shared.take();
    let mut mirror = Mirror::new(&router, opts.chunk, shared);
    let mut rib_time = Duration::ZERO;
    let (fwd_before, stop) = (fwd.publishes, AtomicBool::new(false));
    let reader = fwd.fib.reader();
    let (replayed, (lookups, routed, secs)) = std::thread::scope(|sc| {
        let stop = &stop;
        let looker = sc.spawn(move || spin_reader(reader, opts.seed, stop));
        let replayed = replay(
            &data,
            opts,
            &peers,
            &mut rib,
            &mut mirror,
            &mut fwd,
            &mut summary,
            &mut rib_time,
        );
        stop.store(true, Ordering::Relaxed);
        (
            replayed,
            looker.join().expect("the reader thread does not panic"),
        )
    });
    replayed?;
    fwd.publish_all();
    summary.shared_lookups = lookups;
    summary.shared_routed = routed;
    summary.shared_secs = secs;
    summary.shared_publishes = fwd.publishes - fwd_before;
    summary.shared_deferred = fwd.deferred;
    mirror.flush()?;
    if let Some(s) = &mirror.shared {
        summary.nexthop_objects = s.counts();
    }
    summary.replayed = data.updates.len();
    summary.rib_secs = rib_time.as_secs_f64();
    summary.kernel_secs = mirror.elapsed.as_secs_f64();
    summary.fib_routes = rib.fib().len();

    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>14}",
        "replay", "count", "seconds", "per second"
    );
    println!(
        "{:<34} {:>10} {:>10.3} {:>14.0}",
        "updates through the Rib",
        summary.replayed,
        summary.rib_secs,
        summary.rib_rate()
    );
    println!("{:<34} {:>10}", "  announcements", summary.announcements);
    println!("{:<34} {:>10}", "  withdrawals", summary.withdrawals);
    println!(
        "{:<34} {:>10} {:>10.3} {:>14.0}",
        "FIB changes applied to the kernel",
        summary.changes(),
        summary.kernel_secs,
        summary.kernel_rate()
    );
    println!(
        "{:<34} {:>10}",
        "  new prefix (route replace)", summary.added
    );
    println!(
        "{:<34} {:>10}",
        "  path change (route replace)", summary.replaced
    );
    println!("{:<34} {:>10}", "  withdrawn (route del)", summary.removed);
    println!(
        "{:<34} {:>10} {:>10.3} {:>14.0}",
        "SharedFib lookups meanwhile",
        summary.shared_lookups,
        summary.shared_secs,
        summary.shared_rate()
    );
    println!("{:<34} {:>10}", "  found a route", summary.shared_routed);
    println!(
        "{:<34} {:>10}",
        "  batches published to the reader", summary.shared_publishes
    );
    println!(
        "{:<34} {:>10}",
        "  publishes deferred (reader behind)", summary.shared_deferred
    );
    println!(
        "{:<34} {:>10}",
        "  no FIB change (nothing sent)",
        summary.replayed - summary.changes()
    );
    println!();

    // 3. Checks.
    let mut mismatches = Vec::new();
    let t = Instant::now();
    let kernel = router.routes(&RouteFilter {
        family: Some(IpFamily::V4),
        ..RouteFilter::table(TABLE)
    })?;
    summary.kernel_routes = kernel.len();
    let dump_secs = t.elapsed().as_secs_f64();
    if kernel.len() != rib.fib().len() {
        mismatches.push(format!(
            "table {TABLE} holds {} routes, the Rib's FIB {}",
            kernel.len(),
            rib.fib().len()
        ));
    }
    for r in &kernel {
        let expected = Prefix::<Ipv4Addr>::try_from(r.destination)
            .ok()
            .and_then(|p| rib.fib().get(&p));
        let agree = expected.is_some_and(|best| same_hops(best, r));
        if !agree {
            mismatches.push(format!(
                "kernel route {} via {:?} dev {:?}: the Rib has {:?}",
                r.destination,
                r.gateway(),
                r.dev(),
                expected.map(|b| &b.next_hops)
            ));
        }
    }
    let in_kernel: HashSet<IpNetwork> = kernel.iter().map(|r| r.destination).collect();
    for (p, best) in rib.fib().iter() {
        if !in_kernel.contains(&IpNetwork::from(p)) {
            mismatches.push(format!(
                "{p} via {} is in the Rib's FIB, not in table {TABLE}",
                gateways(best)
            ));
        }
    }
    drop(in_kernel);
    println!(
        "table {TABLE}: {} routes (dumped in {dump_secs:.2}s), Rib FIB: {} routes; route by route: \
         {}",
        kernel.len(),
        rib.fib().len(),
        if mismatches.is_empty() {
            "all equal"
        } else {
            "DIFFERENT"
        }
    );
    drop(kernel);

    let fib_prefixes: Vec<Prefix<Ipv4Addr>> = rib.fib().iter().map(|(p, _)| p).collect();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut shown = 0;
    let mut check = fwd.fib.reader();
    let t = Instant::now();
    println!(
        "{:<16} {:<8} {:<34} {:<34}",
        "address", "drawn", "kernel: route get … mark 100", "Rib: longest_match"
    );
    for i in 0..opts.lookups {
        let inside = i % 2 == 1 && !fib_prefixes.is_empty();
        let addr = if inside {
            let p = fib_prefixes[rng.gen_range(0..fib_prefixes.len())];
            let host = if p.len() == 32 {
                0
            } else {
                rng.gen::<u32>() >> p.len()
            };
            Ipv4Addr::from(u32::from(p.addr()) | host)
        } else {
            Ipv4Addr::from(rng.gen::<u32>())
        };
        let expected = rib.fib().longest_match(addr);
        let (shared, want) = (check.lookup(addr), fwd.expected(expected.map(|(_, b)| b)));
        if shared != want {
            mismatches.push(format!(
                "SharedFib lookup {addr}: id {shared:?}, the Rib's next hops have id {want:?}"
            ));
        }
        let got = router.route_get(&RouteQuery {
            mark: Some(MARK),
            fib_match: true,
            ..RouteQuery::new(IpAddr::V4(addr))
        });
        let ours = match &expected {
            Some((p, best)) => format!("{p} via {}", gateways(best)),
            None => "no route".to_string(),
        };
        let theirs = match &got {
            Ok(r) => format!(
                "{} via {}{}",
                r.destination,
                r.gateway().map_or("-".into(), |g| g.to_string()),
                if r.table == TABLE {
                    String::new()
                } else {
                    format!(" table {}", r.table)
                }
            ),
            Err(e) if e.errno() == Some(nix::errno::Errno::ENETUNREACH) => {
                "no route (unreachable)".to_string()
            }
            Err(e) => format!("error: {e}"),
        };
        let agree = match (&expected, &got) {
            (Some((p, best)), Ok(r)) => {
                r.table == TABLE && r.destination == IpNetwork::from(*p) && same_hops(best, r)
            }
            (None, Err(e)) => e.errno() == Some(nix::errno::Errno::ENETUNREACH),
            _ => false,
        };
        if expected.is_some() && agree {
            summary.lookups_routed += 1;
        }
        if !agree {
            mismatches.push(format!(
                "route get {addr} mark {MARK}: kernel {theirs}, Rib {ours}"
            ));
        }
        if shown < 6 || !agree && shown < 16 {
            shown += 1;
            println!(
                "{:<16} {:<8} {:<34} {:<34}",
                addr.to_string(),
                if inside { "in FIB" } else { "uniform" },
                theirs,
                ours
            );
        }
    }
    println!(
        "{} lookups in {:.2}s: {} found a route, {} found none, {} disagreements",
        opts.lookups,
        t.elapsed().as_secs_f64(),
        summary.lookups_routed,
        opts.lookups - summary.lookups_routed - mismatches_in_lookups(&mismatches),
        mismatches_in_lookups(&mismatches)
    );

    // The rules that confine the lookups, as `ip rule` shows them.
    println!("ip rule (in {}):", lab.name("router"));
    for r in router.rules(&RuleFilter {
        family: Some(IpFamily::V4),
        ..RuleFilter::default()
    })? {
        let action = match r.action {
            RuleAction::ToTable(t) if t == TableId::LOCAL => "lookup local".to_string(),
            RuleAction::ToTable(t) if t == TableId::MAIN => "lookup main".to_string(),
            RuleAction::ToTable(t) if t == TableId::DEFAULT => "lookup default".to_string(),
            RuleAction::ToTable(t) => format!("lookup {t}"),
            RuleAction::Unreachable => "unreachable".to_string(),
            other => format!("{other:?}"),
        };
        println!(
            "  {}:\tfrom all {}{action}",
            r.priority.unwrap_or(0),
            r.fwmark
                .map_or(String::new(), |m| format!("fwmark {m:#x} ")),
        );
    }

    summary.mismatches = mismatches.len();
    if !mismatches.is_empty() {
        for m in mismatches.iter().take(10) {
            eprintln!("mismatch: {m}");
        }
        return Err(format!(
            "the kernel disagrees with the Rib in {} places (the first 10 are above)",
            mismatches.len()
        )
        .into());
    }
    drop(router);
    drop(lab);
    Ok(summary)
}

fn mismatches_in_lookups(m: &[String]) -> usize {
    m.iter().filter(|s| s.starts_with("route get")).count()
}

fn gateways(best: &FibRoute) -> String {
    best.next_hops
        .iter()
        .map(|h| h.gateway.map_or("-".into(), |g| g.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether a kernel route has exactly the next hops (gateway and link) of a FIB entry.
/// The kernel's slab memory (`Slab` of `/proc/meminfo`), in bytes; 0 when unreadable.
fn slab_bytes() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    m.lines()
        .find_map(|l| l.strip_prefix("Slab:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn same_hops(best: &FibRoute, r: &route::Route) -> bool {
    best.next_hops.len() == r.next_hops.len()
        && best
            .next_hops
            .iter()
            .zip(&r.next_hops)
            .all(|(ours, theirs)| {
                ours.gateway == theirs.gateway && ours.ifindex == theirs.dev.map(IfIndex::get)
            })
}
