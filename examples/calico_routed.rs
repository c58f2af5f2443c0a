//! Calico's data path without an overlay: every pod is a /32 route on its host, and hosts route
//! each other's pod blocks over the underlay.
//!
//! N host namespaces (default 3) share an underlay LAN: a bridge `br0` in a namespace of its own
//! that also plays the LAN's router (192.168.100.254), each host's `eth0` (192.168.100.H/24,
//! default route via the router) attached to it by veth. Each host owns the pod block
//! 10.65.H.0/26 and does what calico's Felix does for every pod:
//!
//! - a veth pair: `eth0` in the pod (its address as a /32) and `caliXXXXXXXXXXX` on the host,
//!   with the MAC `ee:ee:ee:ee:ee:ee` and no address;
//! - in the pod, `169.254.1.1 dev eth0 scope link` and `default via 169.254.1.1 dev eth0`: the
//!   gateway is a fiction that the host answers by **proxy ARP** (`proxy_arp=1` on the cali
//!   device, `proxy_delay 0`), so the pod's every packet goes to the host;
//! - on the host, `10.65.H.P/32 dev caliX scope link`;
//! - the host's whole block as a **blackhole** aggregate (`blackhole 10.65.H.0/26`), so an
//!   unallocated address in it is dropped there instead of following the default route.
//!
//! Each host then gets a route to each other host's block via that host's underlay address,
//! which BGP distributes in calico's BGP mode (here the example installs them; `calico_bgp` runs
//! BIRD for it). The example proves the data path with a UDP echo between every pair of pods on
//! different hosts, checks that each pod resolved its gateway to `ee:ee:ee:ee:ee:ee` by proxy
//! ARP, that the blackhole catches an unallocated address, prints what the kernels hold, and
//! deletes every namespace it made (also when a step fails).
//!
//! Run as root: `sudo cargo run --example calico_routed -- [--hosts N] [--pods N] [--keep]`.
//!
//! One pod by hand (host 1, pod 10.65.1.2):
//! ```text
//! ip -n calico-host1 link add cali0123456789a type veth peer name eth0 netns calico-h1-pod1
//! ip -n calico-host1 link set cali0123456789a address ee:ee:ee:ee:ee:ee up
//! ip netns exec calico-host1 sysctl -w net.ipv4.conf.cali0123456789a.proxy_arp=1
//! ip -n calico-host1 ntable change name arp_cache dev cali0123456789a proxy_delay 0
//! ip -n calico-h1-pod1 addr add 10.65.1.2/32 dev eth0 && ip -n calico-h1-pod1 link set eth0 up
//! ip -n calico-h1-pod1 route add 169.254.1.1 dev eth0 scope link
//! ip -n calico-h1-pod1 route add default via 169.254.1.1 dev eth0
//! ip -n calico-host1 route add 10.65.1.2/32 dev cali0123456789a scope link
//! ip -n calico-host1 route add blackhole 10.65.1.0/26
//! ip -n calico-host1 route add 10.65.2.0/26 via 192.168.100.2 dev eth0 proto static
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::lpm::IpPrefixMap;
use netplumb::neighbour::NeighbourFilter;
use netplumb::route::{NewRoute, RouteFilter, RouteProtocol, RouteQuery, RouteType};
use netplumb::{Handle, IpFamily, TableId};
use netplumb_lab::calico::{add_block_blackhole, add_pod, block, Pod, CALI_MAC, POD_GATEWAY};
use netplumb_lab::{EchoMatrix, Endpoint, Lab, Result, Underlay};
use nix::errno::Errno;

/// The underlay router, in the underlay namespace.
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 254);
/// The port the pods' echo servers listen on.
pub const ECHO_PORT: u16 = 7777;

/// What to build.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many hosts (2–50).
    pub hosts: u8,
    /// Pods per host (1–50; a /26 block holds 62 addresses).
    pub pods: u8,
    /// The namespaces are named `PREFIX-host1`, `PREFIX-h1-pod1`, …
    pub prefix: String,
    /// Leave the namespaces in place at the end.
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            hosts: 3,
            pods: 2,
            prefix: "calico".into(),
            keep: false,
        }
    }
}

/// What one run did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Hosts.
    pub hosts: usize,
    /// Pods, all hosts together.
    pub pods: usize,
    /// Echoes tried.
    pub echoes: usize,
    /// Echoes answered.
    pub answered: usize,
    /// The most datagrams one echo needed.
    pub max_attempts: u32,
    /// Pod /32 routes on the hosts, read back.
    pub pod_routes: usize,
    /// Routes to other hosts' blocks, read back.
    pub block_routes: usize,
    /// Blackhole aggregates, read back.
    pub blackholes: usize,
    /// Pods whose gateway resolved to [`CALI_MAC`] by proxy ARP.
    pub proxy_arp_resolved: usize,
    /// Wall time of the whole job.
    pub elapsed: Duration,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "calico_routed: {} hosts, {} pods, {}/{} echoes answered (at most {} datagrams), \
             {} pod routes, {} block routes, {} blackholes, {}/{} gateways by proxy ARP, {:.2} s",
            self.hosts,
            self.pods,
            self.answered,
            self.echoes,
            self.max_attempts,
            self.pod_routes,
            self.block_routes,
            self.blackholes,
            self.proxy_arp_resolved,
            self.pods,
            self.elapsed.as_secs_f64()
        )
    }
}

struct Host {
    n: u8,
    block: Ipv4Network,
    handle: Handle,
    pods: Vec<Pod>,
}

fn underlay_ip(host: u8) -> Ipv4Addr {
    Underlay::host_ip(host)
}

/// Builds, proves and removes the routed network. See the module documentation.
pub fn run(opts: &Options) -> Result<Summary> {
    if !(2..=50).contains(&opts.hosts) {
        return Err(format!("--hosts {}: between 2 and 50", opts.hosts).into());
    }
    if !(1..=50).contains(&opts.pods) {
        return Err(format!("--pods {}: between 1 and 50", opts.pods).into());
    }
    let started = Instant::now();
    let mut lab = Lab::new(&opts.prefix)?;
    lab.keep(opts.keep);

    let underlay = Underlay::new(&mut lab, Some(ROUTER))?;
    let mut hosts = Vec::new();
    for n in 1..=opts.hosts {
        hosts.push(build_host(&mut lab, &underlay, n, opts.pods)?);
    }
    // What BGP would distribute: each host's block, via that host.
    for host in &hosts {
        for other in hosts.iter().filter(|o| o.n != host.n) {
            let mut route = NewRoute::via_dev(
                IpNetwork::V4(other.block),
                IpAddr::V4(underlay_ip(other.n)),
                "eth0",
            )?;
            route.protocol = RouteProtocol::STATIC;
            host.handle.add_route(&route)?;
        }
    }

    let mut summary = Summary {
        hosts: hosts.len(),
        pods: hosts.iter().map(|h| h.pods.len()).sum(),
        ..Summary::default()
    };
    let endpoints: Vec<Endpoint> = hosts
        .iter()
        .flat_map(|h| h.pods.iter().map(|p| p.endpoint(h.n)))
        .collect();
    let echoes = EchoMatrix::run(&endpoints, ECHO_PORT)?;
    summary.echoes = echoes.tried;
    summary.answered = echoes.answered;
    summary.max_attempts = echoes.max_attempts;

    println!("\nwhat the hosts' kernels hold (read back after the echoes):");
    for host in &hosts {
        show_host(host, &hosts, &mut summary)?;
    }
    echoes.print("echo (UDP, pod to pod across hosts, routed, no overlay)");
    echoes.check()?;
    check(opts, &summary)?;
    check_blackhole(&hosts)?;
    summary.elapsed = started.elapsed();
    drop(hosts);
    drop(underlay);
    drop(lab);
    Ok(summary)
}

fn build_host(lab: &mut Lab, underlay: &Underlay, n: u8, pods: u8) -> Result<Host> {
    let (ns, h) = underlay.add_host(lab, n)?;

    let block = block(n);
    add_block_blackhole(&h, block)?;
    let mut list = Vec::new();
    for p in 1..=pods {
        list.push(add_pod(lab, &ns, &h, n, p, block)?);
    }
    println!(
        "host{n}: eth0 {}/24, block {block} (blackhole), {} pods on cali veths",
        underlay_ip(n),
        list.len()
    );
    Ok(Host {
        n,
        block,
        handle: h,
        pods: list,
    })
}

/// Prints and counts one host's pod routes, block routes and blackhole, and its pods' gateway
/// neighbour entries.
fn show_host(host: &Host, hosts: &[Host], s: &mut Summary) -> Result<()> {
    let h = &host.handle;
    println!("  host{}:", host.n);
    let routes = h.routes(&RouteFilter {
        family: Some(IpFamily::V4),
        ..RouteFilter::default()
    })?;
    for pod in &host.pods {
        let dev = h.link_index(pod.cali.as_str())?;
        let want = IpNetwork::V4(Ipv4Network::new(pod.ip, 32)?);
        if routes
            .iter()
            .any(|r| r.destination == want && r.next_hops.iter().any(|nh| nh.dev == Some(dev)))
        {
            println!("    route {want} dev {} scope link", pod.cali);
            s.pod_routes += 1;
        }
    }
    for other in hosts.iter().filter(|o| o.n != host.n) {
        let want = IpNetwork::V4(other.block);
        let gw = IpAddr::V4(underlay_ip(other.n));
        if let Some(r) = routes
            .iter()
            .find(|r| r.destination == want && r.next_hops.iter().any(|nh| nh.gateway == Some(gw)))
        {
            println!("    route {want} via {gw} dev eth0 proto {}", r.protocol);
            s.block_routes += 1;
        }
    }
    if routes
        .iter()
        .any(|r| r.kind == RouteType::Blackhole && r.destination == IpNetwork::V4(host.block))
    {
        println!("    blackhole {}", host.block);
        s.blackholes += 1;
    }
    for pod in &host.pods {
        let hp = Handle::new_in(&pod.ns)?;
        let gw = hp
            .neighbours(&NeighbourFilter::link("eth0"))?
            .into_iter()
            .find(|n| n.address == IpAddr::V4(POD_GATEWAY));
        match gw.and_then(|n| n.mac) {
            Some(mac) => {
                println!(
                    "    {}: neigh {POD_GATEWAY} lladdr {mac} (proxy ARP)",
                    pod.name
                );
                if mac == CALI_MAC {
                    s.proxy_arp_resolved += 1;
                }
            }
            None => println!("    {}: {POD_GATEWAY} not resolved", pod.name),
        }
    }
    Ok(())
}

fn check(opts: &Options, s: &Summary) -> Result<()> {
    let hosts = usize::from(opts.hosts);
    let pods = hosts * usize::from(opts.pods);
    let want = (pods, hosts * (hosts - 1), hosts, pods);
    let got = (
        s.pod_routes,
        s.block_routes,
        s.blackholes,
        s.proxy_arp_resolved,
    );
    if got != want {
        return Err(format!(
            "pod routes, block routes, blackholes, proxy-ARP gateways: got {got:?}, \
             expected {want:?}"
        )
        .into());
    }
    Ok(())
}

/// An unallocated address in a host's block ends in that host's blackhole. The kernel's
/// `ip route get` refuses to resolve a blackholed address (EINVAL, with or without `fibmatch`),
/// so the owner's side is checked twice: that refusal, and a longest-prefix match over the
/// owner's dumped main table with netplumb's own `lpm::IpPrefixMap`. On another host the same
/// address resolves to the block's route over the underlay.
fn check_blackhole(hosts: &[Host]) -> Result<()> {
    let (a, b) = (&hosts[0], &hosts[1]);
    let unused = IpAddr::V4(Ipv4Addr::from(u32::from(b.block.network()) + 60));
    match b.handle.route_get(&RouteQuery::new(unused)) {
        Err(e) if e.errno() == Some(Errno::EINVAL) => {}
        other => {
            return Err(format!("host{}: route get {unused}: {other:?}, not EINVAL", b.n).into())
        }
    }
    let mut table = IpPrefixMap::new();
    for r in b.handle.routes(&RouteFilter {
        family: Some(IpFamily::V4),
        table: Some(TableId::MAIN),
        ..RouteFilter::default()
    })? {
        table.insert(r.destination, r.kind)?;
    }
    match table.longest_match(unused) {
        Some((prefix, RouteType::Blackhole)) if prefix == IpNetwork::V4(b.block) => {}
        other => {
            return Err(
                format!("host{}: {unused} matches {other:?}, not the blackhole", b.n).into(),
            )
        }
    }
    let elsewhere = a.handle.route_get(&RouteQuery::new(unused))?;
    let via = elsewhere.next_hops.first().and_then(|nh| nh.gateway);
    if via != Some(IpAddr::V4(underlay_ip(b.n))) {
        return Err(format!("host{}: {unused} goes via {via:?}, not host{}", a.n, b.n).into());
    }
    println!(
        "\nunallocated {unused}: host{} sends it via {}, host{} drops it (blackhole {})",
        a.n,
        underlay_ip(b.n),
        b.n,
        b.block
    );
    Ok(())
}

const USAGE: &str = "usage: calico_routed [--hosts N] [--pods N] [--prefix NAME] [--keep]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = (|| -> Result<Options> {
        netplumb_lab::check_args(
            &args,
            &["--hosts", "--pods", "--prefix"],
            &["--keep"],
            USAGE,
        )?;
        let d = Options::default();
        Ok(Options {
            hosts: netplumb_lab::arg(&args, "--hosts", d.hosts)?,
            pods: netplumb_lab::arg(&args, "--pods", d.pods)?,
            prefix: netplumb_lab::arg(&args, "--prefix", d.prefix)?,
            keep: netplumb_lab::flag(&args, "--keep"),
        })
    })();
    netplumb_lab::finish("calico_routed", opts.and_then(|o| run(&o)))
}
