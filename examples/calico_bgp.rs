//! Calico's BGP mode: netplumb plays Felix on every node, and BIRD — the daemon calico itself
//! runs — distributes the nodes' pod blocks.
//!
//! K host namespaces (default 4) share an underlay LAN (`br0` in `PREFIX-underlay`, which also
//! plays the LAN's router 192.168.100.254; host H is 192.168.100.H on `eth0`). On each host
//! netplumb does what Felix does (`netplumb_lab::calico`): pods on veth with /32
//! addresses, host ends `caliXXXXXXXXXXX` answering the pods' gateway 169.254.1.1 by proxy ARP,
//! a `/32 dev caliX scope link` route per pod, and the host's block 10.65.H.0/26 as a
//! blackhole aggregate. No host is told about another's block: that is BIRD's job.
//!
//! Each host runs a BIRD whose configuration the example writes after calico's `confd`
//! templates (`bird.cfg`, `bird_aggr.cfg`; files, control sockets and logs in
//! `$TMPDIR/netplumb-PREFIX/`):
//!
//! - `protocol kernel { learn; … }` imports what Felix put in the kernel — the pod /32s and
//!   the block's blackhole — and exports the blocks learned over BGP into the kernel (they show
//!   up as `10.65.R.0/26 via 192.168.100.R dev eth0 proto bird`);
//! - iBGP in AS 64512 (`source address` the host's, `gateway recursive` against the underlay's
//!   direct route, `graceful restart`, calico's short connect delay; in a full mesh the host
//!   with the lower address is `passive on`, so each session is opened from one side) with an
//!   export filter like calico's `calico_export_to_bgp_peers`: the host's own block goes out,
//!   the /32s inside it do not, other blocks of the pool pass (a route reflector needs that);
//! - `--route-reflector`: host 1 is a route reflector (`rr client`) and every other host has a
//!   single session, to it — K−1 sessions instead of the full mesh's K(K−1)/2.
//!
//! netplumb's `Monitor` watches every host's kernel from before the daemons start until every
//! host holds exactly one `proto bird` route per other host's block, via that host, and
//! nothing else from BIRD: that instant is the convergence time printed. Then a UDP echo
//! between every pair of pods on different hosts proves the data path, and the last host's
//! block is withdrawn (Felix deletes the blackhole; its BIRD withdraws the route); the
//! monitors time how long until no other kernel has it. Every BIRD is stopped by its pid and
//! every namespace and file removed, also when a step fails.
//!
//! Where this differs from a calico node: the block's blackhole comes from Felix's side here
//! (netplumb adds it, `proto static`, and BIRD's kernel protocol learns it), where calico's
//! confd has BIRD originate it (`protocol static { route BLOCK blackhole; }`, `proto bird` in
//! the kernel) — what the peers receive is the same route. No `persist` or `merge paths` in the
//! kernel protocol (the lab never restarts a daemon and has no ECMP), and the mesh's `passive
//! on` compares addresses as numbers (calico's template compares them as strings).
//!
//! Run as root with BIRD 2 installed (`apt-get install bird2`):
//! `sudo cargo run --example calico_bgp -- [--hosts K] [--pods N] [--route-reflector] [--keep]`.
//!
//! Host 2's daemon by hand (full mesh of 3; the example writes this to `host2.conf`):
//! ```text
//! router id 192.168.100.2;
//! protocol device { }
//! protocol direct { ipv4; interface "eth0"; }
//! protocol kernel { learn; ipv4 { import all; export filter { if net ~ [ 10.65.0.0/16+ ] then accept; reject; }; }; }
//! filter calico_export_to_bgp_peers {
//!   if net = 10.65.2.0/26 then accept;           # our block…
//!   if net ~ [ 10.65.2.0/26+ ] then reject;      # …but not the pods' /32s in it
//!   if net ~ [ 10.65.0.0/16+ ] then accept;      # other blocks (reflected)
//!   reject;
//! }
//! template bgp node {
//!   local 192.168.100.2 as 64512; source address 192.168.100.2; graceful restart;
//!   connect delay time 1; connect retry time 2; error wait time 1, 5;
//!   ipv4 { gateway recursive; import all; export filter calico_export_to_bgp_peers; };
//! }
//! protocol bgp host1 from node { neighbor 192.168.100.1 as 64512; }
//! protocol bgp host3 from node { neighbor 192.168.100.3 as 64512; passive on; }
//! ```
//! `ip netns exec calico-host2 bird -f -c host2.conf -s host2.ctl -P host2.pid`

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::route::{RouteKey, RouteQuery, RouteType};
use netplumb::{Handle, NetNs};
use netplumb_lab::bird::{self, bird_version, Bird, RouteTable, RouteWatch};
use netplumb_lab::calico::{add_block_blackhole, add_pod, block, pool, Pod};
use netplumb_lab::{EchoMatrix, Endpoint, Lab, Result, Underlay};

/// The underlay router, in the underlay namespace: every host's default gateway (proxy ARP
/// answers for the pods' gateway only because the host can route it elsewhere).
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 254);
/// The port the pods' echo servers listen on.
pub const ECHO_PORT: u16 = 7778;
/// Calico's default AS number for the nodes' iBGP.
pub const AS_NUMBER: u32 = 64512;

/// What to build.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many hosts (2–30).
    pub hosts: u8,
    /// Pods per host (1–50; a /26 block holds 62 addresses).
    pub pods: u8,
    /// Host 1 reflects routes to the others instead of a full mesh of sessions.
    pub route_reflector: bool,
    /// How long to wait for convergence and for the withdrawal.
    pub timeout: Duration,
    /// The namespaces are named `PREFIX-host1`, `PREFIX-h1-pod1`, …; the work directory is
    /// `$TMPDIR/PREFIX`.
    pub prefix: String,
    /// Leave the namespaces, the daemons and their files in place at the end.
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            hosts: 4,
            pods: 2,
            route_reflector: false,
            timeout: Duration::from_secs(60),
            prefix: "calico-bgp".into(),
            keep: false,
        }
    }
}

/// What one run did and measured.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Hosts.
    pub hosts: usize,
    /// Pods, all hosts together.
    pub pods: usize,
    /// Whether host 1 was a route reflector.
    pub route_reflector: bool,
    /// BGP sessions configured (each counted once).
    pub sessions: usize,
    /// BGP sessions BIRD reported `Established`, counted at each end.
    pub established: usize,
    /// The BIRD version.
    pub bird: String,
    /// Per host, from the start of the daemons until its kernel held every other block.
    pub converged: Vec<Duration>,
    /// `proto bird` routes in the kernels at convergence, all hosts together.
    pub bird_routes: usize,
    /// Echoes tried.
    pub echoes: usize,
    /// Echoes answered.
    pub answered: usize,
    /// The most datagrams one echo needed.
    pub max_attempts: u32,
    /// The host whose block was withdrawn.
    pub withdrawn_host: u8,
    /// Per other host, from the blackhole's deletion until its kernel no longer routed the
    /// block.
    pub withdrawn: Vec<Duration>,
    /// Route events the monitors read.
    pub events: usize,
    /// Wall time of the whole job.
    pub elapsed: Duration,
}

fn slowest(times: &[Duration]) -> (usize, Duration) {
    times
        .iter()
        .copied()
        .enumerate()
        .max_by_key(|(_, t)| *t)
        .unwrap_or_default()
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (slow, converged) = slowest(&self.converged);
        let withdrawn = slowest(&self.withdrawn).1;
        write!(
            f,
            "calico_bgp: {} hosts, {} pods, BIRD {}, {} ({} iBGP sessions, {} ends established); \
             converged in {:.2} s (slowest host{}; {} proto bird routes); {}/{} echoes answered \
             (at most {} datagrams); host{}'s block withdrawn from {} kernels in {:.1} ms; \
             {} route events; {:.2} s",
            self.hosts,
            self.pods,
            self.bird,
            if self.route_reflector {
                "route reflector host1"
            } else {
                "full mesh"
            },
            self.sessions,
            self.established,
            converged.as_secs_f64(),
            slow + 1,
            self.bird_routes,
            self.answered,
            self.echoes,
            self.max_attempts,
            self.withdrawn_host,
            self.withdrawn.len(),
            withdrawn.as_secs_f64() * 1e3,
            self.events,
            self.elapsed.as_secs_f64()
        )
    }
}

struct Host {
    n: u8,
    ns: NetNs,
    handle: Handle,
    block: Ipv4Network,
    pods: Vec<Pod>,
}

/// Who host `n` has BGP sessions with.
fn peers(opts: &Options, n: u8) -> Vec<u8> {
    let all = 1..=opts.hosts;
    match (opts.route_reflector, n) {
        (false, _) | (true, 1) => all.filter(|&o| o != n).collect(),
        (true, _) => vec![1],
    }
}

/// Host `n`'s BIRD configuration, as calico's templates would write it.
pub fn bird_config(opts: &Options, n: u8) -> String {
    let me = Underlay::host_ip(n);
    let block = block(n);
    let pool = pool();
    let mut c = String::new();
    let _ = writeln!(c, "# calico_bgp: host{n}");
    c.push_str("log stderr all;\n");
    let _ = writeln!(c, "router id {me};");
    c.push_str(
        "\n# Interfaces, and the underlay's subnet, against which BGP next hops resolve.\n\
         protocol device { }\n\
         protocol direct { ipv4; interface \"eth0\"; }\n",
    );
    let _ = writeln!(
        c,
        "\n# The kernel: learn Felix's pod routes and blackhole, install the blocks BGP brings.\n\
         protocol kernel {{\n  learn;\n  ipv4 {{\n    import all;\n    \
         export filter {{ if net ~ [ {pool}+ ] then accept; reject; }};\n  }};\n}}"
    );
    let _ = writeln!(
        c,
        "\nfilter calico_export_to_bgp_peers {{\n  \
         if net = {block} then accept;\n  \
         if net ~ [ {block}+ ] then reject;\n  \
         if net ~ [ {pool}+ ] then accept;\n  \
         reject;\n}}"
    );
    // Calico shortens BIRD's connect delay (5 s) to 2 s; a lab on one LAN can take 1 s.
    let _ = writeln!(
        c,
        "\ntemplate bgp node {{\n  local {me} as {AS_NUMBER};\n  source address {me};\n  \
         graceful restart;\n  \
         connect delay time 1;\n  connect retry time 2;\n  error wait time 1, 5;\n  \
         ipv4 {{\n    gateway recursive;\n    import all;\n    \
         export filter calico_export_to_bgp_peers;\n  }};\n}}"
    );
    let reflector = opts.route_reflector && n == 1;
    for peer in peers(opts, n) {
        // In a mesh the peer with the higher address opens the session ("Mesh is
        // unidirectional, peer will connect to us").
        let passive = !opts.route_reflector && peer > n;
        let _ = writeln!(
            c,
            "protocol bgp host{peer} from node {{ neighbor {} as {AS_NUMBER};{}{} }}",
            Underlay::host_ip(peer),
            if reflector { " rr client;" } else { "" },
            if passive { " passive on;" } else { "" }
        );
    }
    c
}

/// The `proto bird` routes host `n` must hold: every other host's block, via that host.
fn expected(opts: &Options, n: u8, without: Option<u8>) -> BTreeMap<IpNetwork, IpAddr> {
    (1..=opts.hosts)
        .filter(|&o| o != n && Some(o) != without)
        .map(|o| (IpNetwork::V4(block(o)), IpAddr::V4(Underlay::host_ip(o))))
        .collect()
}

/// The `proto bird` routes of a table, as destination → gateway (a route with several next
/// hops or none maps to `None`, which never matches).
fn bird_routes(table: &RouteTable) -> BTreeMap<IpNetwork, Option<IpAddr>> {
    bird::bird_routes(table)
        .map(|r| {
            (
                r.destination,
                r.gateway().filter(|_| r.next_hops.len() == 1),
            )
        })
        .collect()
}

fn matches(table: &RouteTable, want: &BTreeMap<IpNetwork, IpAddr>) -> bool {
    let got = bird_routes(table);
    got.len() == want.len()
        && want
            .iter()
            .all(|(dst, gw)| got.get(dst) == Some(&Some(*gw)))
}

/// Builds the hosts, starts BIRD, measures convergence, proves the data path, withdraws a
/// block, and removes everything. See the module documentation.
pub fn run(opts: &Options) -> Result<Summary> {
    if !(2..=30).contains(&opts.hosts) {
        return Err(format!("--hosts {}: between 2 and 30", opts.hosts).into());
    }
    if !(1..=50).contains(&opts.pods) {
        return Err(format!("--pods {}: between 1 and 50", opts.pods).into());
    }
    if opts.route_reflector && opts.hosts < 3 {
        return Err(
            "--route-reflector needs at least 3 hosts (a reflector and two clients)".into(),
        );
    }
    let bird = bird_version()?;
    let started = Instant::now();
    let mut lab = Lab::new(&opts.prefix)?;
    lab.keep(opts.keep);

    // Felix's part: hosts, pods, pod routes, blackholed blocks.
    let underlay = Underlay::new(&mut lab, Some(ROUTER))?;
    let mut hosts = Vec::new();
    for n in 1..=opts.hosts {
        let (ns, handle) = underlay.add_host(&mut lab, n)?;
        let block = block(n);
        add_block_blackhole(&handle, block)?;
        let pods = (1..=opts.pods)
            .map(|p| add_pod(&mut lab, &ns, &handle, n, p, block))
            .collect::<Result<Vec<_>>>()?;
        hosts.push(Host {
            n,
            ns,
            handle,
            block,
            pods,
        });
    }
    println!(
        "{} hosts on 192.168.100.0/24, {} pods each, blocks 10.65.H.0/26 blackholed; BIRD {bird}, {}",
        opts.hosts,
        opts.pods,
        if opts.route_reflector {
            "host1 reflects routes to the others"
        } else {
            "full mesh of iBGP sessions"
        }
    );

    // The monitors take their snapshot before any daemon runs, so no route can slip by.
    let names: Vec<String> = hosts.iter().map(|h| format!("host{}", h.n)).collect();
    let watched: Vec<(&str, &NetNs)> = names
        .iter()
        .zip(&hosts)
        .map(|(name, h)| (name.as_str(), &h.ns))
        .collect();
    let mut watch = RouteWatch::start(&watched)?;

    let since = Instant::now();
    let mut birds = Vec::new();
    for h in &hosts {
        let name = format!("host{}", h.n);
        birds.push(Bird::start(
            &mut lab,
            &name,
            &name,
            &bird_config(opts, h.n),
        )?);
    }
    let wants: Vec<_> = hosts.iter().map(|h| expected(opts, h.n, None)).collect();
    let converged = watch
        .wait_for(since, opts.timeout, |i, table| matches(table, &wants[i]))
        .map_err(|e| explain(e, &birds, &watch))?;

    let mut summary = Summary {
        hosts: hosts.len(),
        pods: hosts.iter().map(|h| h.pods.len()).sum(),
        route_reflector: opts.route_reflector,
        sessions: (1..=opts.hosts)
            .map(|n| peers(opts, n).len())
            .sum::<usize>()
            / 2,
        bird,
        converged,
        ..Summary::default()
    };
    println!(
        "\nconverged (time since the first daemon was started): every host's kernel holds every \
         other block, proto bird:"
    );
    for (i, h) in hosts.iter().enumerate() {
        let routes = bird_routes(watch.table(i));
        summary.bird_routes += routes.len();
        let list: Vec<String> = routes
            .iter()
            .map(|(dst, gw)| format!("{dst} via {}", gw.map_or("?".into(), |g| g.to_string())))
            .collect();
        println!(
            "  host{}: {:>6.3} s  {}",
            h.n,
            summary.converged[i].as_secs_f64(),
            list.join(", ")
        );
    }
    for b in &birds {
        summary.established += b
            .birdc("show protocols")?
            .lines()
            .filter(|l| l.contains(" BGP ") && l.contains("Established"))
            .count();
    }
    if summary.established != 2 * summary.sessions {
        return Err(format!(
            "{} BGP session ends established, expected {}",
            summary.established,
            2 * summary.sessions
        )
        .into());
    }

    let endpoints: Vec<Endpoint> = hosts
        .iter()
        .flat_map(|h| h.pods.iter().map(|p| p.endpoint(h.n)))
        .collect();
    let echoes = EchoMatrix::run(&endpoints, ECHO_PORT)?;
    echoes.print("echo (UDP, pod to pod across hosts, over routes BIRD installed)");
    echoes.check()?;
    summary.echoes = echoes.tried;
    summary.answered = echoes.answered;
    summary.max_attempts = echoes.max_attempts;

    // Felix releases the last host's block: the blackhole goes, BIRD withdraws the route, and
    // every other kernel must drop it.
    let gone = hosts.last().expect("two hosts or more");
    summary.withdrawn_host = gone.n;
    let since = Instant::now();
    gone.handle.delete_route(&RouteKey {
        kind: Some(RouteType::Blackhole),
        ..RouteKey::new(IpNetwork::V4(gone.block))
    })?;
    let wants: Vec<_> = hosts
        .iter()
        .map(|h| expected(opts, h.n, Some(gone.n)))
        .collect();
    // The released host's own table must lose the blackhole too: its event is one of those
    // counted, and waiting only for the BIRD routes could read the count before it arrives.
    let gone_at = hosts.len() - 1;
    let released = IpNetwork::V4(gone.block);
    let withdrawn = watch
        .wait_for(since, opts.timeout, |i, table| {
            matches(table, &wants[i])
                && (i != gone_at || table.values().all(|r| r.destination != released))
        })
        .map_err(|e| explain(e, &birds, &watch))?;
    summary.withdrawn = hosts
        .iter()
        .zip(withdrawn)
        .filter(|(h, _)| h.n != gone.n)
        .map(|(_, t)| t)
        .collect();
    // The pods there are now out of the others' reach: their traffic follows the default
    // route to the underlay router instead.
    let pod = IpAddr::V4(gone.pods[0].ip);
    let now = hosts[0].handle.route_get(&RouteQuery::new(pod))?;
    if now.gateway() != Some(IpAddr::V4(ROUTER)) {
        return Err(format!(
            "host1 still routes {pod} via {:?} after the withdrawal",
            now.gateway()
        )
        .into());
    }
    println!(
        "\nhost{} released {}: gone from {} kernels in {:.1} ms (slowest); host1 now sends {pod} to \
         the default gateway {ROUTER}",
        gone.n,
        gone.block,
        summary.withdrawn.len(),
        slowest(&summary.withdrawn).1.as_secs_f64() * 1e3
    );

    summary.events = watch.events_seen;
    drop(watch);
    if opts.keep {
        println!(
            "the BIRDs keep running (the next run with this prefix stops them): birdc -s {} show route",
            birds[0].control_socket().display()
        );
    } else {
        let n = birds.len();
        for b in birds {
            b.stop();
        }
        println!("stopped {n} BIRD daemons");
    }
    summary.elapsed = started.elapsed();
    drop(hosts);
    drop(underlay);
    drop(lab);
    Ok(summary)
}

/// Adds what the daemons say to a convergence timeout: their sessions and routes.
fn explain(
    e: netplumb_lab::BoxError,
    birds: &[Bird],
    watch: &RouteWatch,
) -> netplumb_lab::BoxError {
    let mut text = e.to_string();
    for (i, b) in birds.iter().enumerate() {
        let _ = write!(
            text,
            "\n--- {} (kernel: {:?})\n{}{}",
            b.name(),
            bird_routes(watch.table(i)),
            b.birdc("show protocols").unwrap_or_else(|e| e.to_string()),
            b.birdc("show route").unwrap_or_else(|e| e.to_string())
        );
    }
    text.into()
}

const USAGE: &str = "usage: calico_bgp [--hosts K] [--pods N] [--route-reflector] \
                     [--timeout SECONDS] [--prefix NAME] [--keep]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = (|| -> Result<Options> {
        netplumb_lab::check_args(
            &args,
            &["--hosts", "--pods", "--timeout", "--prefix"],
            &["--route-reflector", "--keep"],
            USAGE,
        )?;
        let d = Options::default();
        Ok(Options {
            hosts: netplumb_lab::arg(&args, "--hosts", d.hosts)?,
            pods: netplumb_lab::arg(&args, "--pods", d.pods)?,
            route_reflector: netplumb_lab::flag(&args, "--route-reflector"),
            timeout: Duration::try_from_secs_f64(netplumb_lab::arg(
                &args,
                "--timeout",
                d.timeout.as_secs_f64(),
            )?)
            .map_err(|e| format!("--timeout: {e}"))?,
            prefix: netplumb_lab::arg(&args, "--prefix", d.prefix)?,
            keep: netplumb_lab::flag(&args, "--keep"),
        })
    })();
    netplumb_lab::finish("calico_bgp", opts.and_then(|o| run(&o)))
}
