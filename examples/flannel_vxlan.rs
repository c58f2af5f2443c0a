//! A VXLAN overlay across simulated hosts, built the way flannel's `vxlan` backend builds it.
//!
//! N host namespaces (default 3) sit on one underlay LAN: a bridge `br0` in a namespace of its
//! own, each host's `eth0` (192.168.100.H/24) attached to it by veth. Each host H leases the pod
//! subnet 10.244.H.0/24: a bridge `cni0` (10.244.H.1/24), pod namespaces attached to it by veth
//! (`eth0` 10.244.H.P+1/24, default route via 10.244.H.1), and a VXLAN device `flannel.1`
//! (VNI 1, UDP port 8472, learning off, local = the host's underlay address). Then, per mode:
//!
//! - `--mode preprogrammed` (flannel today): for every other host's lease, a permanent
//!   neighbour entry (remote gateway 10.244.R.0 → remote VTEP MAC), an FDB entry (remote VTEP
//!   MAC → remote underlay address) and a route (10.244.R.0/24 via 10.244.R.0 dev flannel.1
//!   onlink). A failed step undoes the steps already done for that lease. At the end one lease
//!   expires and its entries are removed from every other host.
//! - `--mode miss` (flannel's original design): `flannel.1` has l2miss/l3miss on, the address
//!   10.244.H.0/16 (so the whole pod network routes to it) and no entries at all. One agent
//!   thread per host watches the kernel's neighbour events with [`netplumb::monitor::Monitor`]
//!   and answers each L3 miss (which VTEP MAC owns this pod address?) with a neighbour entry and
//!   each L2 miss (which host has this VTEP MAC?) with an FDB entry, from the lease table, as
//!   flanneld once did from etcd. The L2 misses come from the VXLAN driver (`l2miss`); the L3
//!   misses come from the ARP engine, which hands unresolved addresses to user space because
//!   `flannel.1`'s table has `app_probes 3` (the driver's own `l3miss` fires only with `proxy`
//!   or `rsc`, which flannel left off).
//!
//! Then every pod sends a UDP datagram to every pod on the other hosts and waits for its echo;
//! the example prints what the kernels hold (read back, not what it asked for) and the echo
//! results, checks them, and deletes every namespace it made (also when a step fails).
//!
//! Run as root: `sudo cargo run --example flannel_vxlan -- [--mode preprogrammed|miss]
//! [--hosts N] [--pods N] [--prefix NAME] [--keep]`. `--keep` leaves the namespaces (`flannel-*`) for a look:
//! `ip netns exec flannel-host1 bridge fdb show dev flannel.1`.
//!
//! One host's share of the same job by hand (preprogrammed mode, host 1, remote host 2):
//! ```text
//! ip -n flannel-host1 link add flannel.1 type vxlan id 1 local 192.168.100.1 dev eth0 \
//!     dstport 8472 nolearning
//! ip -n flannel-host1 addr add 10.244.1.0/32 dev flannel.1
//! ip -n flannel-host1 neigh add 10.244.2.0 lladdr $MAC2 dev flannel.1 nud permanent
//! bridge -n flannel-host1 fdb add $MAC2 dev flannel.1 dst 192.168.100.2 self permanent
//! ip -n flannel-host1 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::addr::NewAddress;
use netplumb::fdb::{FdbFilter, FdbState, NewFdbEntry};
use netplumb::link::NewVxlan;
use netplumb::monitor::{Event, Groups, Monitor, MonitorOptions, MonitorStop};
use netplumb::neighbour::{NeighbourFilter, NeighbourState, NeighbourTableParams, NewNeighbour};
use netplumb::route::RouteFilter;
use netplumb::{Handle, IfIndex, IpFamily, MacAddr, NetNs, Vni};
use netplumb_lab::flannel::{self, add_pods, LeaseEntries, Pod, VtepLease, Write, OVERLAY_MTU};
use netplumb_lab::{EchoMatrix, EchoServer, Endpoint, Lab, Result, Underlay};

/// The VXLAN device's name, VNI and UDP port, as flannel chooses them.
pub const VXLAN_DEV: &str = "flannel.1";
/// flannel's VNI.
pub const VNI: u32 = 1;
/// flannel's UDP port (the Linux kernel's old default, not IANA's 4789).
pub const VXLAN_PORT: u16 = 8472;
/// The port the pods' echo servers listen on.
pub const ECHO_PORT: u16 = 7777;

/// How the overlay learns where remote pods are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Neighbour, FDB and route entries for every remote lease, programmed up front.
    Preprogrammed,
    /// No entries; agents answer the kernel's L3 and L2 misses.
    Miss,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Mode, String> {
        match s {
            "preprogrammed" => Ok(Mode::Preprogrammed),
            "miss" => Ok(Mode::Miss),
            _ => Err(format!("unknown mode {s:?} (preprogrammed or miss)")),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Preprogrammed => "preprogrammed",
            Mode::Miss => "miss",
        })
    }
}

/// What to build.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many hosts (2–50).
    pub hosts: u8,
    /// Pods per host (1–50).
    pub pods: u8,
    /// Preprogrammed entries or miss-driven agents.
    pub mode: Mode,
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
            mode: Mode::Preprogrammed,
            prefix: "flannel".into(),
            keep: false,
        }
    }
}

/// One host's subnet lease: what flannel stores in etcd (or the Kubernetes node object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The host's number, from 1.
    pub host: u8,
    /// Its pod subnet, 10.244.H.0/24.
    pub subnet: Ipv4Network,
    /// Its underlay address, the VXLAN tunnel's endpoint.
    pub underlay: Ipv4Addr,
    /// Its `flannel.1` MAC address.
    pub vtep_mac: MacAddr,
}

impl Lease {
    /// The address flannel puts on `flannel.1` and uses as the subnet's gateway on other hosts:
    /// the subnet's network address, 10.244.H.0.
    pub fn gateway(&self) -> Ipv4Addr {
        self.subnet.network()
    }

    /// The lease as the data path sees it.
    pub fn vtep(&self) -> VtepLease {
        VtepLease {
            subnet: self.subnet,
            public_ip: self.underlay,
            vtep_mac: self.vtep_mac,
        }
    }
}

/// What the kernels of the hosts hold on `flannel.1`, read back at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Programmed {
    /// Neighbour entries on `flannel.1` with a MAC.
    pub neighbours: usize,
    /// FDB entries on `flannel.1` with a remote.
    pub fdb: usize,
    /// Routes through `flannel.1` other than the kernel's own.
    pub routes: usize,
}

/// What one run did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The mode it ran in.
    pub mode: Mode,
    /// Hosts.
    pub hosts: usize,
    /// Pods, all hosts together.
    pub pods: usize,
    /// Echoes tried.
    pub echoes: usize,
    /// Echoes answered.
    pub answered: usize,
    /// Echoes answered by the first datagram.
    pub first_try: usize,
    /// The most datagrams one echo needed.
    pub max_attempts: u32,
    /// Entries on all hosts together, read back after the echoes.
    pub programmed: Programmed,
    /// L3 misses answered by the agents (miss mode).
    pub l3_answered: usize,
    /// L2 misses answered by the agents (miss mode).
    pub l2_answered: usize,
    /// Entries removed from the other hosts when the last lease expired (preprogrammed mode).
    pub expired_removed: usize,
    /// The hosts' leases.
    pub leases: Vec<Lease>,
    /// Wall time of the whole job.
    pub elapsed: Duration,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "flannel_vxlan: mode {}, {} hosts, {} pods, {}/{} echoes answered \
             ({} on the first datagram, at most {}), programmed {} neighbours {} fdb {} routes",
            self.mode,
            self.hosts,
            self.pods,
            self.answered,
            self.echoes,
            self.first_try,
            self.max_attempts,
            self.programmed.neighbours,
            self.programmed.fdb,
            self.programmed.routes
        )?;
        match self.mode {
            Mode::Miss => write!(
                f,
                ", misses answered l3 {} l2 {}",
                self.l3_answered, self.l2_answered
            )?,
            Mode::Preprogrammed => write!(f, ", {} removed on lease expiry", self.expired_removed)?,
        }
        write!(f, ", {:.2} s", self.elapsed.as_secs_f64())
    }
}

/// Programs a remote lease on a host, as flannel does for each subnet it learns of:
/// neighbour (gateway → VTEP MAC), FDB (VTEP MAC → underlay address), route (subnet via
/// gateway, onlink), each added (an entry already there is an error). When a step fails, the
/// steps done are undone and the first error is returned.
pub fn program_lease(h: &Handle, lease: &Lease) -> Result<LeaseEntries> {
    flannel::program_lease(h, VXLAN_DEV, &lease.vtep(), Write::Add)
        .map_err(|e| format!("host {}: {e}", lease.host).into())
}

/// Removes what [`program_lease`] put in place, in reverse order; `entries` keeps what could
/// not be removed.
pub fn unprogram_lease(h: &Handle, entries: &mut LeaseEntries) -> Result<()> {
    flannel::unprogram_lease(h, VXLAN_DEV, entries)
}

/// A host of the simulation.
struct Host {
    lease: Lease,
    ns: NetNs,
    handle: Handle,
    pods: Vec<Pod>,
}

fn underlay_ip(host: u8) -> Ipv4Addr {
    Underlay::host_ip(host)
}

fn subnet(host: u8) -> Ipv4Network {
    Ipv4Network::new(Ipv4Addr::new(10, 244, host, 0), 24).expect("a /24")
}

/// Builds, proves and removes the overlay. See the module documentation.
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

    // The underlay LAN.
    let underlay = Underlay::new(&mut lab, None)?;
    let mut hosts = Vec::new();
    for n in 1..=opts.hosts {
        hosts.push(build_host(&mut lab, &underlay, n, opts)?);
    }
    let leases: Vec<Lease> = hosts.iter().map(|h| h.lease).collect();
    println!("\nleases (what flannel keeps in etcd):");
    println!("  host  subnet           underlay         vtep mac");
    for l in &leases {
        println!(
            "  {:<5} {:<16} {:<16} {}",
            l.host,
            l.subnet.to_string(),
            l.underlay.to_string(),
            l.vtep_mac
        );
    }

    let mut agents = Vec::new();
    // What each host programmed for each remote lease: (host, remote host) → entries.
    let mut programmed = Vec::new();
    match opts.mode {
        Mode::Preprogrammed => {
            for host in &hosts {
                for lease in leases.iter().filter(|l| l.host != host.lease.host) {
                    let entries = program_lease(&host.handle, lease)?;
                    programmed.push((host.lease.host, lease.host, entries));
                }
            }
            println!(
                "\nprogrammed {} remote leases on each host",
                leases.len() - 1
            );
        }
        Mode::Miss => {
            for host in &hosts {
                agents.push(Agent::start(host, leases.clone())?);
            }
            println!(
                "\n{} agents answer L3/L2 misses from the lease table",
                agents.len()
            );
        }
    }

    // Every pod echoes to every pod on another host.
    let endpoints: Vec<Endpoint> = hosts
        .iter()
        .flat_map(|h| {
            h.pods.iter().map(|p| Endpoint {
                name: &p.name,
                host: h.lease.host,
                ns: &p.ns,
                ip: IpAddr::V4(p.ip),
            })
        })
        .collect();
    let echoes = EchoMatrix::run(&endpoints, ECHO_PORT)?;
    let mut summary = Summary {
        mode: opts.mode,
        hosts: hosts.len(),
        pods: endpoints.len(),
        echoes: echoes.tried,
        answered: echoes.answered,
        first_try: echoes.first_try,
        max_attempts: echoes.max_attempts,
        programmed: Programmed::default(),
        l3_answered: 0,
        l2_answered: 0,
        expired_removed: 0,
        leases: leases.clone(),
        elapsed: Duration::ZERO,
    };

    // Read back while the agents still run: they answer the kernel's re-probes, so no entry
    // they made can have failed yet.
    println!("\nwhat the kernels hold on {VXLAN_DEV} (read back after the echoes):");
    for host in &hosts {
        summary.programmed = add(&summary.programmed, &show_host(host)?);
    }
    let stopped: Vec<Result<(usize, usize)>> = agents.into_iter().map(Agent::stop).collect();
    for answered in stopped {
        let (l3, l2) = answered?;
        summary.l3_answered += l3;
        summary.l2_answered += l2;
    }
    echoes.print("echo (UDP, pod to pod across hosts)");
    echoes.check()?;
    check_programmed(opts, &summary)?;

    if opts.mode == Mode::Preprogrammed {
        summary.expired_removed = expire_last_lease(&hosts, &mut programmed)?;
    }
    summary.elapsed = started.elapsed();
    drop(hosts);
    drop(underlay);
    drop(lab);
    Ok(summary)
}

/// One host: its namespace and uplink, `cni0` with the pods, `flannel.1`.
fn build_host(lab: &mut Lab, underlay: &Underlay, n: u8, opts: &Options) -> Result<Host> {
    let (ns, h) = underlay.add_host(lab, n)?;

    let subnet = subnet(n);
    let miss = opts.mode == Mode::Miss;
    h.add_vxlan(&NewVxlan {
        local: Some(IpAddr::V4(underlay_ip(n))),
        underlay: Some("eth0".into()),
        port: Some(VXLAN_PORT),
        learning: Some(false),
        l2miss: Some(miss),
        l3miss: Some(miss),
        mtu: Some(OVERLAY_MTU),
        ..NewVxlan::new(VXLAN_DEV, Vni::new(VNI)?)
    })?;
    // Today's flannel gives flannel.1 the subnet's network address as a /32; the original
    // design gave it the whole pod network's length, so every pod address routes to it.
    let len = if miss { 16 } else { 32 };
    h.add_address(
        VXLAN_DEV,
        &NewAddress::new(IpAddr::V4(subnet.network()), len)?,
    )?;
    h.set_link_up(VXLAN_DEV)?;
    if miss {
        // The ARP engine hands unresolved addresses to user space only with application
        // probes (flannel set 3).
        h.set_neighbour_table(
            IpFamily::V4,
            Some(VXLAN_DEV.into()),
            &NeighbourTableParams {
                app_probes: Some(3),
                ..NeighbourTableParams::default()
            },
        )?;
    }
    let vtep_mac = h
        .link(VXLAN_DEV)?
        .mac
        .ok_or("flannel.1 has no MAC address")?;

    // cni0 and the pods, with an MTU that leaves room for the VXLAN header, as flannel's CNI
    // plugin sets it.
    let pods = add_pods(lab, &h, n, subnet, opts.pods, OVERLAY_MTU)?;
    let gw = Ipv4Addr::from(u32::from(subnet.network()) + 1);
    println!(
        "host{n}: eth0 {}/24, cni0 {gw}/24 with {} pods, {VXLAN_DEV} vni {VNI} mac {vtep_mac}",
        underlay_ip(n),
        pods.len()
    );
    Ok(Host {
        lease: Lease {
            host: n,
            subnet,
            underlay: underlay_ip(n),
            vtep_mac,
        },
        ns,
        handle: h,
        pods,
    })
}

/// Prints and counts what one host's kernel holds on `flannel.1`.
fn show_host(host: &Host) -> Result<Programmed> {
    let h = &host.handle;
    let dev = h.link_index(VXLAN_DEV)?;
    println!("  host{}:", host.lease.host);
    let mut neighbours = h.neighbours(&NeighbourFilter {
        family: Some(IpFamily::V4),
        ..NeighbourFilter::link(VXLAN_DEV)
    })?;
    neighbours.retain(|n| n.mac.is_some());
    neighbours.sort_by_key(|n| n.address);
    for n in &neighbours {
        println!(
            "    neigh {} lladdr {} {}",
            n.address,
            n.mac.map(|m| m.to_string()).unwrap_or_default(),
            state_name(n.state)
        );
    }
    let mut fdb = h.fdb(&FdbFilter::link(VXLAN_DEV))?;
    fdb.retain(|e| e.link == dev && e.dst.is_some());
    fdb.sort_by_key(|e| e.dst);
    for e in &fdb {
        println!(
            "    fdb   {} dst {} {:?}",
            e.mac,
            e.dst.map(|d| d.to_string()).unwrap_or_default(),
            e.state
        );
    }
    let mut routes = h.routes(&RouteFilter {
        family: Some(IpFamily::V4),
        dev: Some(VXLAN_DEV.into()),
        ..RouteFilter::default()
    })?;
    routes.retain(|r| {
        r.next_hops.iter().any(|nh| nh.dev == Some(dev))
            && r.next_hops.iter().any(|nh| nh.gateway.is_some())
    });
    for r in &routes {
        let nh = &r.next_hops[0];
        println!(
            "    route {} via {} dev {VXLAN_DEV}{}",
            r.destination,
            nh.gateway.map(|g| g.to_string()).unwrap_or_default(),
            if nh.flags.contains(netplumb::route::NextHopFlags::ONLINK) {
                " onlink"
            } else {
                ""
            }
        );
    }
    let stats = h.link(dev)?.stats.unwrap_or_default();
    println!(
        "    {VXLAN_DEV} counters: {} packets sent, {} received",
        stats.tx_packets, stats.rx_packets
    );
    if stats.tx_packets == 0 || stats.rx_packets == 0 {
        return Err(format!(
            "host{}: no traffic went through {VXLAN_DEV} ({} sent, {} received)",
            host.lease.host, stats.tx_packets, stats.rx_packets
        )
        .into());
    }
    Ok(Programmed {
        neighbours: neighbours.len(),
        fdb: fdb.len(),
        routes: routes.len(),
    })
}

/// `PERMANENT` → `permanent`, `NOARP|PERMANENT` → `noarp|permanent`, as `ip neigh` prints it.
fn state_name(s: NeighbourState) -> String {
    let names: Vec<String> = s.iter_names().map(|(n, _)| n.to_lowercase()).collect();
    names.join("|")
}

fn add(a: &Programmed, b: &Programmed) -> Programmed {
    Programmed {
        neighbours: a.neighbours + b.neighbours,
        fdb: a.fdb + b.fdb,
        routes: a.routes + b.routes,
    }
}

/// The entries each mode must leave: one of each per remote lease when preprogrammed; when
/// miss-driven, an FDB entry per remote host and a neighbour entry per remote pod that was
/// talked to or talked back, and no routes but the connected one.
fn check_programmed(opts: &Options, s: &Summary) -> Result<()> {
    let hosts = usize::from(opts.hosts);
    let pairs = hosts * (hosts - 1);
    let got = &s.programmed;
    let want = match opts.mode {
        Mode::Preprogrammed => Programmed {
            neighbours: pairs,
            fdb: pairs,
            routes: pairs,
        },
        Mode::Miss => Programmed {
            neighbours: pairs * usize::from(opts.pods),
            fdb: pairs,
            routes: 0,
        },
    };
    if *got != want {
        return Err(format!("the kernels hold {got:?}, expected {want:?}").into());
    }
    if opts.mode == Mode::Miss && (s.l3_answered < want.neighbours || s.l2_answered < want.fdb) {
        return Err(format!(
            "agents answered {} L3 and {} L2 misses; every entry should come from one",
            s.l3_answered, s.l2_answered
        )
        .into());
    }
    Ok(())
}

/// The last host's lease expires: every other host removes the entries it programmed for it,
/// the kernels are checked to hold none that point at it, and a pod's datagram to it no longer
/// gets through.
fn expire_last_lease(hosts: &[Host], programmed: &mut [(u8, u8, LeaseEntries)]) -> Result<usize> {
    let gone = hosts.last().ok_or("no hosts")?.lease;
    let mut removed = 0;
    for host in hosts.iter().filter(|h| h.lease.host != gone.host) {
        let me = host.lease.host;
        let (_, _, entries) = programmed
            .iter_mut()
            .find(|(h, l, _)| *h == me && *l == gone.host)
            .ok_or_else(|| format!("host{me} never programmed host{}", gone.host))?;
        removed += entries.len();
        unprogram_lease(&host.handle, entries)
            .map_err(|e| format!("host{me}: removing host{}'s lease: {e}", gone.host))?;
        let h = &host.handle;
        let left = h
            .neighbours(&NeighbourFilter::link(VXLAN_DEV))?
            .iter()
            .filter(|n| n.mac == Some(gone.vtep_mac))
            .count()
            + h.fdb(&FdbFilter::link(VXLAN_DEV))?
                .iter()
                .filter(|e| e.mac == gone.vtep_mac)
                .count()
            + h.routes(&RouteFilter {
                destination: Some(IpNetwork::V4(gone.subnet)),
                ..RouteFilter::default()
            })?
            .len();
        if left > 0 {
            return Err(format!(
                "host{me}: {left} entries for expired host {} remain",
                gone.host
            )
            .into());
        }
    }
    // A pod of the first host can no longer reach a pod of the expired one. Its server still
    // listens, so only the overlay can be what stops the datagrams.
    let (from, to) = (&hosts[0].pods[0], &hosts[hosts.len() - 1].pods[0]);
    let server = EchoServer::start(&to.ns, SocketAddr::new(IpAddr::V4(to.ip), ECHO_PORT))?;
    let target = SocketAddr::new(IpAddr::V4(to.ip), ECHO_PORT);
    if let Ok(echo) = netplumb_lab::udp_echo(
        &from.ns,
        IpAddr::V4(from.ip),
        target,
        3,
        Duration::from_millis(200),
    ) {
        return Err(format!(
            "{} still reached {} after its lease expired ({} datagrams)",
            from.name, to.name, echo.attempts
        )
        .into());
    }
    drop(server);
    println!(
        "\nlease of host{} expired: {removed} entries removed from the other hosts, none left; \
         {} -> {} gets no answer now",
        gone.host, from.name, to.name
    );
    Ok(removed)
}

/// A miss-answering agent for one host: flanneld's original job. Dropping it stops its thread.
struct Agent {
    stop: MonitorStop,
    thread: Option<JoinHandle<Result<(usize, usize)>>>,
}

impl Agent {
    fn start(host: &Host, leases: Vec<Lease>) -> Result<Agent> {
        let me = host.lease.host;
        let mut monitor = Monitor::new_in(
            &host.ns,
            &MonitorOptions {
                groups: Groups::NEIGH,
                ..MonitorOptions::default()
            },
        )?;
        let h = Handle::new_in(&host.ns)?;
        let dev: IfIndex = h.link_index(VXLAN_DEV)?;
        let stop = monitor.stopper()?;
        let thread = std::thread::Builder::new()
            .name(format!("agent host{me}"))
            .spawn(move || -> Result<(usize, usize)> {
                let (mut l3, mut l2) = (0, 0);
                // Ends when the agent is stopped.
                for event in monitor {
                    match event? {
                        Event::L3Miss {
                            link,
                            address: IpAddr::V4(a),
                        } if link == dev => {
                            let Some(l) = leases.iter().find(|l| l.subnet.contains(a)) else {
                                eprintln!("agent host{me}: L3 miss for {a}: no lease covers it");
                                continue;
                            };
                            // Reachable, as flannel did: the kernel ages it out and asks again.
                            let n = NewNeighbour {
                                state: NeighbourState::REACHABLE,
                                ..NewNeighbour::new(IpAddr::V4(a), l.vtep_mac)
                            };
                            h.replace_neighbour(dev, &n)?;
                            println!(
                                "agent host{me}: L3 miss {a} -> {} (host{})",
                                l.vtep_mac, l.host
                            );
                            l3 += 1;
                        }
                        Event::L2Miss { link, mac } if link == dev => {
                            let Some(l) = leases.iter().find(|l| l.vtep_mac == mac) else {
                                eprintln!("agent host{me}: L2 miss for {mac}: no lease has it");
                                continue;
                            };
                            let fdb = NewFdbEntry {
                                dst: Some(IpAddr::V4(l.underlay)),
                                state: FdbState::Dynamic,
                                ..NewFdbEntry::new(mac)
                            };
                            h.replace_fdb(dev, &fdb)?;
                            println!(
                                "agent host{me}: L2 miss {mac} -> dst {} (host{})",
                                l.underlay, l.host
                            );
                            l2 += 1;
                        }
                        Event::Overrun => {
                            // Misses were lost; the kernel asks again on the next packet.
                            eprintln!("agent host{me}: events lost (overrun); waiting for re-asks");
                        }
                        _ => {}
                    }
                }
                Ok((l3, l2))
            })?;
        Ok(Agent {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the agent and returns the L3 and L2 misses it answered.
    fn stop(mut self) -> Result<(usize, usize)> {
        self.stop.stop();
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| "agent thread panicked")?,
            None => Ok((0, 0)),
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const USAGE: &str = "usage: flannel_vxlan [--mode preprogrammed|miss] [--hosts N] [--pods N] \
                     [--prefix NAME] [--keep]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = (|| -> Result<Options> {
        netplumb_lab::check_args(
            &args,
            &["--mode", "--hosts", "--pods", "--prefix"],
            &["--keep"],
            USAGE,
        )?;
        let d = Options::default();
        Ok(Options {
            mode: netplumb_lab::arg(&args, "--mode", d.mode)?,
            hosts: netplumb_lab::arg(&args, "--hosts", d.hosts)?,
            pods: netplumb_lab::arg(&args, "--pods", d.pods)?,
            prefix: netplumb_lab::arg(&args, "--prefix", d.prefix)?,
            keep: netplumb_lab::flag(&args, "--keep"),
        })
    })();
    netplumb_lab::finish("flannel_vxlan", opts.and_then(|o| run(&o)))
}
