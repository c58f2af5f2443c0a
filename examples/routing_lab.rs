//! A routing lab: a line or a ring of router namespaces built by netplumb, BIRD running RIP or
//! OSPF on them, and netplumb's monitors timing how the kernels' tables converge and reconverge.
//!
//! Routers `PREFIX-r1` … `PREFIX-rN` (default 5). Neighbours `rA` and `rB` (A < B, or the ring's
//! closing link `rN`–`r1`) are joined by a veth pair `to-rB` (in rA) / `to-rA` (in rB) on the
//! point-to-point subnet `10.0.K.0/30` of link K (rA holds `.1`, rB `.2`). Each router also owns
//! a stub LAN `10.1.I.0/24`: a veth pair `stub0`/`stub1` whose both ends stay in the router
//! (this kernel has no dummy devices), `10.1.I.1/24` on `stub0`; that address is also its
//! router id. IPv4 forwarding is on.
//!
//! Every router advertises its stub LAN and its link subnets, so each router must learn every
//! prefix it is not attached to: the other routers' stubs and the link subnets it is not an end
//! of. Its own connected prefixes stay the kernel's (`proto kernel`); BIRD installs the learnt
//! ones with `proto bird`, and the example checks exactly those, on netplumb's view of the
//! kernels (a [`netplumb_lab::bird::RouteWatch`]: one netplumb `Monitor` per router, snapshot first):
//! the set of prefixes, one route each, and its next hops equal to the first hops of **all**
//! shortest paths (both protocols do ECMP: on a ring the prefix opposite a router is reached
//! both ways, a multipath route). Once the kernels hold that, the protocol's metric of each
//! route is checked in BIRD's own table (`birdc show route`):
//!
//! - **RIP**: BIRD announces a connected (direct) prefix with metric 1 and adds the receiving
//!   interface's metric (1) on every hop, so a prefix whose nearest owner is H links away has
//!   metric **H + 1**: RIP's hop count, which counts the destination network itself
//!   (RFC 2453 §3.6). Timers: update 5 s, timeout 30 s, garbage 10 s.
//! - **OSPF** (`type ptp` links, hello 1 s, dead 4 s, `ecmp yes`, cost 10 on every interface,
//!   the stub LAN `stub yes`): the cost of the shortest path, **10·(H+1)**.
//!
//! The kernel routes all carry metric [`KERNEL_METRIC`] (32, BIRD's default), not the
//! protocol's: BIRD 2.0.12 changes an IPv4 route with `NLM_F_REPLACE`, which the kernel applies
//! only to a route of the same metric, so `krt_metric = rip_metric` leaves the old route beside
//! the new one whenever a metric changes (seen here: two routes to one /30, metrics 20 and 30).
//!
//! The example starts the watch before the daemons, takes the time just before starting them,
//! and waits (events only, no sleeping) until every router's `proto bird` table is exactly what
//! the protocol must produce; it prints each router's convergence time. Then it sets one end of
//! one link down (`--down A-B`, default the middle link r⌊N/2⌋–r⌊N/2⌋+1; A's end goes down, B's
//! loses its carrier) and measures the reconvergence the same way against the tables computed
//! for the topology without that link: on a line the prefixes beyond the cut must go away, on
//! a ring they are reached the other way round. With RIP the wait for that is capped at 20 s,
//! below the 30 s route timeout, so passing proves BIRD withdrew them by triggered updates with
//! metric 16 (infinity) rather than letting them linger until they expire. With OSPF, B's
//! address on the dead link stays announced as a /32 stub host of cost 0 (BIRD's `check link`,
//! on by default), and the example expects that route. A UDP echo between stub LANs (r1 to rN,
//! then r1 to B or the farthest router it still reaches) checks the data path, and on a line
//! `route get` in r1 must find the routers beyond the cut unreachable.
//!
//! Run as root: `sudo cargo run --example routing_lab -- [--protocol rip|ospf]
//! [--topology line|ring] [--routers N] [--down A-B|middle|none] [--prefix NAME] [--keep]`
//! (default: RIP on a line of 5, prefix `lab`). `--keep` leaves the namespaces and the BIRD
//! daemons running (`birdc -s $TMPDIR/PREFIX/r1.ctl show route`); the next run with the same
//! prefix stops and removes them.
//!
//! Router r2 of a line by hand (RIP):
//! ```text
//! ip netns add lab-r2 && ip -n lab-r2 link set lo up
//! ip -n lab-r1 link add to-r2 type veth peer name to-r1 netns lab-r2
//! ip -n lab-r2 addr add 10.0.1.2/30 dev to-r1 && ip -n lab-r2 link set to-r1 up
//! ip -n lab-r2 link add stub0 type veth peer name stub1
//! ip -n lab-r2 addr add 10.1.2.1/24 dev stub0
//! ip -n lab-r2 link set stub0 up && ip -n lab-r2 link set stub1 up
//! ip netns exec lab-r2 sysctl -w net.ipv4.ip_forward=1
//! ip netns exec lab-r2 bird -f -c r2.conf -s r2.ctl -P r2.pid   # r2.conf: see bird_config
//! ip -n lab-r2 route show proto bird        # 10.1.3.0/24 via 10.0.2.2 dev to-r3 metric 32 …
//! ip netns exec lab-r2 birdc -s r2.ctl show route    # 10.1.3.0/24 … * (120/2)
//! ip -n lab-r2 link set to-r3 down          # and watch r1 lose r3's side
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::addr::NewAddress;
use netplumb::link::NewVeth;
use netplumb::netconf::{ConfKnob, ConfScope};
use netplumb::route::{Route, RouteQuery};
use netplumb::{Handle, NetNs};
use netplumb_lab::bird::{bird_routes, Bird, RouteTable, RouteWatch};
use netplumb_lab::{EchoServer, Lab, Result};

/// RIP's periodic update interval in the lab (BIRD's default is 30 s).
pub const RIP_UPDATE: u32 = 5;
/// How long a RIP route lives without being refreshed (default 180 s).
pub const RIP_TIMEOUT: u32 = 30;
/// How long an expired RIP route is still announced as unreachable (default 120 s).
pub const RIP_GARBAGE: u32 = 10;
/// OSPF hello interval on the links, seconds.
pub const OSPF_HELLO: u32 = 1;
/// OSPF dead interval on the links, seconds.
pub const OSPF_DEAD: u32 = 4;
/// The OSPF cost of every interface.
pub const OSPF_COST: u32 = 10;
/// The metric of every route BIRD installs in the kernels (BIRD's default, set explicitly).
///
/// Not the protocol's metric: BIRD 2.0.12 changes an IPv4 kernel route with `RTM_NEWROUTE` +
/// `NLM_F_REPLACE`, and the kernel replaces only a route of the same metric. With a per-route
/// `krt_metric = rip_metric` (or `ospf_metric1`) a route whose metric changes (a shorter path
/// found during convergence, a longer one after a link went down) is added beside the old one,
/// which stays for good, and when the old one had the lower metric it keeps winning: a black
/// hole. So the kernel gets one metric for all, and the protocol's metric is read from BIRD.
pub const KERNEL_METRIC: u32 = 32;
/// How long the example waits for the first convergence.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);
/// The port of the UDP echo between stub LANs.
pub const ECHO_PORT: u16 = 7777;

/// The routing protocol BIRD runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// RIP v2: distance vector, metric = hop count.
    Rip,
    /// OSPF v2: link state, metric = cost of the shortest path, ECMP.
    Ospf,
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Protocol, String> {
        match s {
            "rip" => Ok(Protocol::Rip),
            "ospf" => Ok(Protocol::Ospf),
            _ => Err("rip or ospf".into()),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Rip => "rip",
            Protocol::Ospf => "ospf",
        })
    }
}

/// How the routers are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// r1 – r2 – … – rN.
    Line,
    /// A line plus the link rN – r1 (needs at least 3 routers).
    Ring,
}

impl FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Topology, String> {
        match s {
            "line" => Ok(Topology::Line),
            "ring" => Ok(Topology::Ring),
            _ => Err("line or ring".into()),
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Topology::Line => "line",
            Topology::Ring => "ring",
        })
    }
}

/// Which link to take down after the first convergence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Down {
    /// The link r⌊N/2⌋ – r⌊N/2⌋+1 (r⌊N/2⌋'s end is set down).
    Middle,
    /// The link between routers A and B (numbered from 1); A's end is set down.
    Link(u8, u8),
    /// None: stop after the first convergence.
    Nothing,
}

impl FromStr for Down {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Down, String> {
        match s {
            "middle" => Ok(Down::Middle),
            "none" => Ok(Down::Nothing),
            _ => {
                let bad = || format!("{s:?}: A-B (two routers, e.g. 2-3 or r2-r3), middle or none");
                let (a, b) = s.split_once('-').ok_or_else(bad)?;
                let num = |x: &str| x.trim_start_matches('r').parse::<u8>().map_err(|_| bad());
                Ok(Down::Link(num(a)?, num(b)?))
            }
        }
    }
}

/// What to build.
#[derive(Clone, Debug)]
pub struct Options {
    /// The protocol (`--protocol`, default RIP).
    pub protocol: Protocol,
    /// Line or ring (default line).
    pub topology: Topology,
    /// How many routers (2–20; a ring needs 3).
    pub routers: u8,
    /// The link to take down.
    pub down: Down,
    /// The namespaces are named `PREFIX-r1`, …
    pub prefix: String,
    /// Leave the namespaces and the BIRD daemons in place at the end.
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            protocol: Protocol::Rip,
            topology: Topology::Line,
            routers: 5,
            down: Down::Middle,
            prefix: "lab".into(),
            keep: false,
        }
    }
}

/// A checked route: what the example computed for one router and one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The prefix.
    pub destination: Ipv4Network,
    /// Links to its nearest owner.
    pub hops: u32,
    /// The kernel metric the protocol must produce.
    pub metric: u32,
    /// The first hops of all shortest paths (both protocols use them all).
    pub gateways: BTreeSet<Ipv4Addr>,
}

/// How one phase (first convergence, or reconvergence after the link went down) went.
#[derive(Clone, Debug, Default)]
pub struct Phase {
    /// Each router's convergence time, after the daemons were started / the link went down.
    pub times: Vec<Duration>,
    /// The slowest router (its number, from 1).
    pub slowest: usize,
    /// Routes checked (router × prefix, all routers together).
    pub routes: usize,
    /// Routes with several next hops among them.
    pub multipath: usize,
    /// Protocol metrics checked in BIRD's tables (`birdc show route`).
    pub metrics: usize,
    /// What each router's table must hold (and held), router by router.
    pub expected: Vec<Vec<Expected>>,
}

impl Phase {
    /// The slowest router's time.
    pub fn converged(&self) -> Duration {
        self.times.iter().copied().max().unwrap_or_default()
    }
}

/// What the link-down phase did.
#[derive(Clone, Debug, Default)]
pub struct Reconvergence {
    /// The link (router numbers, from 1); the first one's end was set down.
    pub link: (u8, u8),
    /// The reconvergence.
    pub phase: Phase,
    /// Routes that went away (router × prefix).
    pub withdrawn: usize,
    /// Of those, routes that went away on routers that are not an end of the cut link: they
    /// learnt it from the protocol alone.
    pub withdrawn_away: usize,
    /// Prefixes no router can reach any more.
    pub lost_prefixes: usize,
    /// Routes that stayed but changed metric or gateways.
    pub rerouted: usize,
}

/// What one run did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The protocol.
    pub protocol: Protocol,
    /// The topology.
    pub topology: Topology,
    /// Routers.
    pub routers: usize,
    /// The BIRD version.
    pub bird: String,
    /// The first convergence.
    pub converge: Phase,
    /// The link-down phase, unless `--down none`.
    pub down: Option<Reconvergence>,
    /// UDP echoes between stub LANs answered / tried.
    pub echoes: (usize, usize),
    /// Route events the monitors read.
    pub events: usize,
    /// Wall time of the whole job.
    pub elapsed: Duration,
}

impl Summary {
    fn relation(&self) -> &'static str {
        match self.protocol {
            Protocol::Rip => "metric = hops + 1, gateways = all shortest first hops",
            Protocol::Ospf => {
                "metric = 10 x (hops + 1) (a /32 stub host: 10 x hops), gateways = all \
                 shortest first hops"
            }
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.converge;
        write!(
            f,
            "routing_lab: {} on a {} of {} routers (BIRD {}): converged in {:.2} s (slowest r{}), \
             {} routes checked ({}",
            self.protocol,
            self.topology,
            self.routers,
            self.bird,
            c.converged().as_secs_f64(),
            c.slowest,
            c.routes,
            self.relation()
        )?;
        if c.multipath > 0 {
            write!(f, "; {} multipath", c.multipath)?;
        }
        write!(f, ")")?;
        if let Some(d) = &self.down {
            let p = &d.phase;
            write!(
                f,
                "; link r{}-r{} down: reconverged in {:.2} s (slowest r{}), {} routes withdrawn",
                d.link.0,
                d.link.1,
                p.converged().as_secs_f64(),
                p.slowest,
                d.withdrawn
            )?;
            if self.protocol == Protocol::Rip && d.withdrawn_away > 0 {
                write!(
                    f,
                    " ({} away from the cut, before the {RIP_TIMEOUT} s timeout: poisoned with \
                     metric 16)",
                    d.withdrawn_away
                )?;
            }
            write!(f, ", {} rerouted, {} routes checked", d.rerouted, p.routes)?;
            if p.multipath > 0 {
                write!(f, " ({} multipath)", p.multipath)?;
            }
        }
        write!(
            f,
            "; {}/{} stub echoes; {} route events; {:.2} s",
            self.echoes.0,
            self.echoes.1,
            self.events,
            self.elapsed.as_secs_f64()
        )
    }
}

/// The topology the example builds, routers numbered from 0 here (r1 is 0).
#[derive(Clone, Debug)]
pub struct Net {
    /// Routers.
    pub n: usize,
    /// Links: link K joins `links[K].0` (address .1) and `links[K].1` (address .2).
    pub links: Vec<(usize, usize)>,
}

/// A prefix and the routers attached to it.
struct Owned {
    net: Ipv4Network,
    owners: Vec<usize>,
    /// Its OSPF cost at an owner: the interface's cost, 0 for a host address (a stub host).
    cost: u32,
}

impl Net {
    /// A line or a ring of `n` routers.
    pub fn new(topology: Topology, n: usize) -> Net {
        let mut links: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        if topology == Topology::Ring {
            links.push((n - 1, 0));
        }
        Net { n, links }
    }

    /// The subnet of link `k`.
    pub fn link_subnet(k: usize) -> Ipv4Network {
        Ipv4Network::new(Ipv4Addr::new(10, 0, k as u8 + 1, 0), 30).expect("a /30")
    }

    /// The address of end `end` (0 or 1) of link `k`.
    pub fn link_addr(k: usize, end: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, k as u8 + 1, end as u8 + 1)
    }

    /// Router `i`'s stub LAN.
    pub fn stub(i: usize) -> Ipv4Network {
        Ipv4Network::new(Ipv4Addr::new(10, 1, i as u8 + 1, 0), 24).expect("a /24")
    }

    /// Router `i`'s address on its stub LAN, also its router id.
    pub fn stub_addr(i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 1, i as u8 + 1, 1)
    }

    /// The name of router `i`'s interface towards router `j`.
    pub fn ifname(j: usize) -> String {
        format!("to-r{}", j + 1)
    }

    /// The links of router `i` that are up: (link, neighbour, the neighbour's address on it).
    fn neighbours(&self, i: usize, up: &[bool]) -> Vec<(usize, usize, Ipv4Addr)> {
        self.links
            .iter()
            .enumerate()
            .filter(|(k, _)| up[*k])
            .filter_map(|(k, &(a, b))| {
                if a == i {
                    Some((k, b, Net::link_addr(k, 1)))
                } else if b == i {
                    Some((k, a, Net::link_addr(k, 0)))
                } else {
                    None
                }
            })
            .collect()
    }

    /// Hop counts from every router to every router over the links that are up.
    fn distances(&self, up: &[bool]) -> Vec<Vec<Option<u32>>> {
        (0..self.n)
            .map(|from| {
                let mut d = vec![None; self.n];
                d[from] = Some(0);
                let mut queue = VecDeque::from([from]);
                while let Some(i) = queue.pop_front() {
                    for (_, j, _) in self.neighbours(i, up) {
                        if d[j].is_none() {
                            d[j] = Some(d[i].unwrap_or(0) + 1);
                            queue.push_back(j);
                        }
                    }
                }
                d
            })
            .collect()
    }

    /// The prefixes in the lab, with their owners, when link `down.0` has been set down at
    /// router `down.1`'s end.
    ///
    /// A link that is down has no subnet any more. But OSPF (BIRD's `check link`, on by
    /// default) still announces the address of the far end, whose carrier went away while its
    /// interface stayed up, as a /32 host route (RFC 2328 §12.4.1.4 treats an interface without
    /// a neighbour as a stub host, of cost 0); RIP (BIRD's direct protocol with `check link yes`)
    /// announces nothing for it.
    fn prefixes(&self, protocol: Protocol, down: Option<(usize, usize)>) -> Vec<Owned> {
        let mut all: Vec<Owned> = (0..self.n)
            .map(|i| Owned {
                net: Net::stub(i),
                owners: vec![i],
                cost: OSPF_COST,
            })
            .collect();
        for (k, &(a, b)) in self.links.iter().enumerate() {
            match down {
                Some((d, at)) if d == k => {
                    if protocol == Protocol::Ospf {
                        let (far, end) = if at == a { (b, 1) } else { (a, 0) };
                        all.push(Owned {
                            net: Ipv4Network::new(Net::link_addr(k, end), 32).expect("a /32"),
                            owners: vec![far],
                            cost: 0,
                        });
                    }
                }
                _ => all.push(Owned {
                    net: Net::link_subnet(k),
                    owners: vec![a, b],
                    cost: OSPF_COST,
                }),
            }
        }
        all
    }

    /// The prefixes each router is attached to (its stub and all its link subnets, up or not),
    /// and its own addresses as /32s (OSPF announces them for an interface without carrier).
    fn connected(&self, i: usize) -> Vec<Ipv4Network> {
        let host = |a| Ipv4Network::new(a, 32).expect("a /32");
        let mut v = vec![Net::stub(i), host(Net::stub_addr(i))];
        for (k, &(a, b)) in self.links.iter().enumerate() {
            if a == i || b == i {
                v.push(Net::link_subnet(k));
                v.push(host(Net::link_addr(k, usize::from(b == i))));
            }
        }
        v
    }

    /// Which links are up when link `down.0` is down.
    fn up(&self, down: Option<(usize, usize)>) -> Vec<bool> {
        (0..self.links.len())
            .map(|k| down.is_none_or(|(d, _)| d != k))
            .collect()
    }

    /// What each router's `proto bird` table must hold when all links are up but `down.0`,
    /// which router `down.1` set down.
    pub fn expected(&self, protocol: Protocol, down: Option<(usize, usize)>) -> Vec<Vec<Expected>> {
        let up = &self.up(down);
        let dist = self.distances(up);
        let prefixes = self.prefixes(protocol, down);
        // A router's distance to a prefix: to its nearest owner.
        let to = |i: usize, p: &Owned| p.owners.iter().filter_map(|&o| dist[i][o]).min();
        (0..self.n)
            .map(|i| {
                prefixes
                    .iter()
                    .filter(|p| !p.owners.contains(&i))
                    .filter_map(|p| {
                        let hops = to(i, p)?;
                        let gateways = self
                            .neighbours(i, up)
                            .into_iter()
                            .filter(|&(_, j, _)| to(j, p) == Some(hops - 1))
                            .map(|(_, _, gw)| gw)
                            .collect();
                        let metric = match protocol {
                            Protocol::Rip => hops + 1,
                            Protocol::Ospf => OSPF_COST * hops + p.cost,
                        };
                        Some(Expected {
                            destination: p.net,
                            hops,
                            metric,
                            gateways,
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

fn gateways(route: &Route) -> BTreeSet<Ipv4Addr> {
    route
        .next_hops
        .iter()
        .filter_map(|h| match h.gateway {
            Some(IpAddr::V4(a)) => Some(a),
            _ => None,
        })
        .collect()
}

/// Whether a router's table holds exactly the expected `proto bird` routes; if not, the first
/// difference.
fn mismatch(table: &RouteTable, want: &[Expected]) -> Option<String> {
    let mut got: BTreeMap<IpNetwork, Vec<&Route>> = BTreeMap::new();
    for r in bird_routes(table) {
        got.entry(r.destination).or_default().push(r);
    }
    for w in want {
        let dst = IpNetwork::V4(w.destination);
        let routes = match got.remove(&dst) {
            None => return Some(format!("no route to {dst}")),
            Some(r) if r.len() > 1 => return Some(format!("{} routes to {dst}", r.len())),
            Some(r) => r,
        };
        let r = routes[0];
        if r.priority != Some(KERNEL_METRIC) {
            return Some(format!(
                "{dst}: kernel metric {:?}, expected {KERNEL_METRIC}",
                r.priority
            ));
        }
        let gws = gateways(r);
        // Both protocols use all equal-cost paths (BIRD's RIP has ECMP on by default).
        if gws != w.gateways || gws.len() != r.next_hops.len() {
            return Some(format!("{dst}: via {gws:?}, expected {:?}", w.gateways));
        }
    }
    got.keys()
        .next()
        .map(|dst| format!("unexpected route to {dst}"))
}

/// BIRD's configuration for router `i`.
fn bird_config(net: &Net, protocol: Protocol, i: usize) -> String {
    // Own connected prefixes are the kernel's; BIRD's OSPF also makes routes for them (RIP's
    // lose to the direct ones), which must not be installed twice.
    let own: Vec<String> = net.connected(i).iter().map(|p| p.to_string()).collect();
    let own = own.join(", ");
    let common = format!(
        "log stderr all;\n\
         router id {id};\n\
         protocol device {{ scan time 10; }}\n",
        id = Net::stub_addr(i)
    );
    match protocol {
        Protocol::Rip => format!(
            "{common}\
             # Connected prefixes, to be announced. check link: not those of a link whose\n\
             # carrier went away (the far end of a link set down).\n\
             protocol direct {{ ipv4; interface \"stub0\", \"to-*\"; check link yes; }}\n\
             protocol kernel {{\n\
             \x20 # One kernel metric for all: a per-route krt_metric breaks (see KERNEL_METRIC).\n\
             \x20 metric {KERNEL_METRIC};\n\
             \x20 ipv4 {{\n\
             \x20   import none;\n\
             \x20   export filter {{\n\
             \x20     if source != RTS_RIP || net ~ [ {own} ] then reject;\n\
             \x20     accept;\n\
             \x20   }};\n\
             \x20 }};\n\
             }}\n\
             protocol rip {{\n\
             \x20 ipv4 {{ import all; export all; }};\n\
             \x20 interface \"to-*\" {{\n\
             \x20   update time {RIP_UPDATE};\n\
             \x20   timeout time {RIP_TIMEOUT};\n\
             \x20   garbage time {RIP_GARBAGE};\n\
             \x20 }};\n\
             }}\n"
        ),
        Protocol::Ospf => format!(
            "{common}\
             protocol kernel {{\n\
             \x20 # One kernel metric for all: a per-route krt_metric breaks (see KERNEL_METRIC).\n\
             \x20 metric {KERNEL_METRIC};\n\
             \x20 ipv4 {{\n\
             \x20   import none;\n\
             \x20   export filter {{\n\
             \x20     if source != RTS_OSPF || net ~ [ {own} ] then reject;\n\
             \x20     accept;\n\
             \x20   }};\n\
             \x20 }};\n\
             }}\n\
             protocol ospf v2 {{\n\
             \x20 ipv4 {{ import all; export none; }};\n\
             \x20 ecmp yes;\n\
             \x20 area 0 {{\n\
             \x20   interface \"to-*\" {{ type ptp; cost {OSPF_COST}; hello {OSPF_HELLO}; dead {OSPF_DEAD}; }};\n\
             \x20   interface \"stub0\" {{ stub yes; cost {OSPF_COST}; }};\n\
             \x20 }};\n\
             }}\n"
        ),
    }
}

struct Router {
    ns: NetNs,
    handle: Handle,
}

/// Builds the routers and links with netplumb.
fn build(lab: &mut Lab, net: &Net) -> Result<Vec<Router>> {
    let mut routers = Vec::new();
    for i in 0..net.n {
        let ns = lab.netns(&format!("r{}", i + 1))?;
        let handle = Handle::new_in(&ns)?;
        handle.add_veth(&NewVeth::new("stub0", "stub1"))?;
        handle.add_address(
            "stub0",
            &NewAddress::new(IpAddr::V4(Net::stub_addr(i)), 24)?,
        )?;
        handle.set_link_up("stub0")?;
        handle.set_link_up("stub1")?;
        ns.set_conf(ConfScope::All, ConfKnob::Ipv4Forwarding, 1)?;
        routers.push(Router { ns, handle });
    }
    for (k, &(a, b)) in net.links.iter().enumerate() {
        let mut veth = NewVeth::new(&Net::ifname(b), &Net::ifname(a));
        veth.peer.netns = Some(&routers[b].ns);
        routers[a].handle.add_veth(&veth)?;
        for (end, i, dev) in [(0, a, Net::ifname(b)), (1, b, Net::ifname(a))] {
            let h = &routers[i].handle;
            h.add_address(
                dev.as_str(),
                &NewAddress::new(IpAddr::V4(Net::link_addr(k, end)), 30)?,
            )?;
            h.set_link_up(dev.as_str())?;
        }
    }
    Ok(routers)
}

/// Waits until every router's table is `expected`, and says how that went.
fn converge(
    watch: &mut RouteWatch,
    birds: &[Bird],
    since: Instant,
    timeout: Duration,
    expected: Vec<Vec<Expected>>,
) -> Result<Phase> {
    let times = match watch.wait_for(since, timeout, |i, table| {
        mismatch(table, &expected[i]).is_none()
    }) {
        Ok(t) => t,
        Err(e) => {
            let mut text = format!("{e}");
            for (i, bird) in birds.iter().enumerate() {
                if let Some(why) = mismatch(watch.table(i), &expected[i]) {
                    text += &format!("\n--- {}: {why}\nproto bird routes:", watch.name(i));
                    for r in bird_routes(watch.table(i)) {
                        text += &format!(
                            "\n  {} metric {:?} via {:?}",
                            r.destination,
                            r.priority,
                            gateways(r)
                        );
                    }
                    for cmd in ["show protocols", "show route"] {
                        let out = bird.birdc(cmd).unwrap_or_else(|e| e.to_string());
                        text += &format!("\nbirdc {cmd}:\n{}", out.trim_end());
                    }
                }
            }
            return Err(text.into());
        }
    };
    let slowest = times
        .iter()
        .enumerate()
        .max_by_key(|(_, t)| **t)
        .map_or(0, |(i, _)| i + 1);
    let routes = expected.iter().map(Vec::len).sum();
    let multipath = expected
        .iter()
        .flatten()
        .filter(|e| e.gateways.len() > 1)
        .count();
    Ok(Phase {
        times,
        slowest,
        routes,
        multipath,
        metrics: 0,
        expected,
    })
}

/// The metrics of BIRD's best routes, from `birdc show route`: a line
/// `10.1.3.0/24   unicast [rip1 09:54:33.880] * (120/3)` (OSPF: `* I (150/20) [10.1.3.1]`) is
/// a prefix, its best route (`*`), preference / metric.
fn bird_metrics(text: &str) -> BTreeMap<Ipv4Network, u32> {
    let mut metrics = BTreeMap::new();
    for line in text.lines() {
        // Next hops and alternative routes are indented.
        let Some(Ok(net)) = line
            .split_whitespace()
            .next()
            .map(str::parse::<Ipv4Network>)
        else {
            continue;
        };
        let Some(best) = line.find(" * ").map(|i| &line[i..]) else {
            continue;
        };
        let metric = best
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(inside, _)| inside.split_once('/'))
            .and_then(|(_, m)| m.parse().ok());
        if let Some(m) = metric {
            metrics.insert(net, m);
        }
    }
    metrics
}

/// Checks the protocol metric of every expected route in BIRD's own table (the kernel's copy
/// carries [`KERNEL_METRIC`]); returns how many were checked.
fn check_bird_metrics(birds: &[Bird], expected: &[Vec<Expected>]) -> Result<usize> {
    let mut n = 0;
    for (bird, want) in birds.iter().zip(expected) {
        let text = bird.birdc("show route")?;
        let got = bird_metrics(&text);
        for e in want {
            if got.get(&e.destination) != Some(&e.metric) {
                return Err(format!(
                    "{}: BIRD's metric for {} is {:?}, expected {} ({} hops); birdc show \
                     route:\n{text}",
                    bird.name(),
                    e.destination,
                    got.get(&e.destination),
                    e.metric,
                    e.hops
                )
                .into());
            }
            n += 1;
        }
    }
    Ok(n)
}

fn print_phase(title: &str, phase: &Phase, watch: &RouteWatch) {
    println!("\n{title}:");
    for (i, t) in phase.times.iter().enumerate() {
        let table: Vec<String> = phase.expected[i]
            .iter()
            .map(|e| {
                let got = bird_routes(watch.table(i))
                    .find(|r| r.destination == IpNetwork::V4(e.destination))
                    .map(gateways)
                    .unwrap_or_default();
                let got: Vec<String> = got.iter().map(|g| g.to_string()).collect();
                format!("{} m{} via {}", e.destination, e.metric, got.join("+"))
            })
            .collect();
        println!(
            "  {:<4} {:>7.3} s  {} routes: {}",
            watch.name(i),
            t.as_secs_f64(),
            table.len(),
            table.join(", ")
        );
    }
}

/// A UDP echo from r1's stub LAN to router `to`'s.
fn stub_echo(routers: &[Router], to: usize) -> Result<()> {
    let server = EchoServer::start(
        &routers[to].ns,
        SocketAddr::new(IpAddr::V4(Net::stub_addr(to)), ECHO_PORT),
    )?;
    netplumb_lab::udp_echo(
        &routers[0].ns,
        IpAddr::V4(Net::stub_addr(0)),
        server.addr(),
        10,
        Duration::from_millis(200),
    )?;
    Ok(())
}

/// Builds the lab, runs BIRD, measures and checks convergence and reconvergence, and removes
/// everything again (unless `keep`). See the module documentation.
pub fn run(opts: &Options) -> Result<Summary> {
    let min = if opts.topology == Topology::Ring {
        3
    } else {
        2
    };
    if !(min..=20).contains(&opts.routers) {
        return Err(format!(
            "--routers {}: between {min} and 20 for a {}",
            opts.routers, opts.topology
        )
        .into());
    }
    let n = usize::from(opts.routers);
    let net = Net::new(opts.topology, n);
    let down = match opts.down {
        Down::Nothing => None,
        Down::Middle => Some((n / 2 - 1, n / 2)),
        Down::Link(a, b) => {
            let (a, b) = (usize::from(a), usize::from(b));
            if a == 0 || b == 0 || a > n || b > n {
                return Err(format!("--down {a}-{b}: routers are numbered 1 to {n}").into());
            }
            Some((a - 1, b - 1))
        }
    };
    let down = match down {
        None => None,
        Some((a, b)) => {
            let k = net
                .links
                .iter()
                .position(|&l| l == (a, b) || l == (b, a))
                .ok_or_else(|| format!("--down: r{} and r{} are not neighbours", a + 1, b + 1))?;
            Some((k, a, b))
        }
    };

    let bird_version = netplumb_lab::bird::bird_version()?;
    let started = Instant::now();
    let mut lab = Lab::new(&opts.prefix)?;
    lab.keep(opts.keep);
    let routers = build(&mut lab, &net)?;
    println!(
        "{} routers on a {} ({} links, /30 each), a /24 stub LAN each; BIRD {bird_version}, {}",
        n,
        opts.topology,
        net.links.len(),
        opts.protocol
    );

    let names: Vec<String> = (1..=n).map(|i| format!("r{i}")).collect();
    let watched: Vec<(&str, &NetNs)> = names
        .iter()
        .map(String::as_str)
        .zip(routers.iter().map(|r| &r.ns))
        .collect();
    let mut watch = RouteWatch::start(&watched)?;

    let expected = net.expected(opts.protocol, None);
    let since = Instant::now();
    let mut birds = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let config = bird_config(&net, opts.protocol, i);
        birds.push(Bird::start(&mut lab, name, name, &config)?);
    }
    let started_birds = since.elapsed();
    let mut first = converge(&mut watch, &birds, since, CONVERGE_TIMEOUT, expected)?;
    first.metrics = check_bird_metrics(&birds, &first.expected)?;
    print_phase(
        &format!(
            "converged ({} daemons started in {:.3} s; time since the first start; BIRD's \
             metric, next hops as the kernel holds them)",
            birds.len(),
            started_birds.as_secs_f64()
        ),
        &first,
        &watch,
    );
    let mut echoes = (0, 0);
    let far = n - 1;
    echoes.1 += 1;
    stub_echo(&routers, far)?;
    echoes.0 += 1;
    println!(
        "echo {} -> {}: answered",
        Net::stub_addr(0),
        Net::stub_addr(far)
    );

    let mut reconvergence = None;
    if let Some((k, a, b)) = down {
        let expected = net.expected(opts.protocol, Some((k, a)));
        let before: Vec<BTreeMap<Ipv4Network, &Expected>> = first
            .expected
            .iter()
            .map(|v| v.iter().map(|e| (e.destination, e)).collect())
            .collect();
        // Counted from the tables the monitors must then confirm, router by router.
        let mut withdrawn = 0;
        let mut withdrawn_away = 0;
        let mut rerouted = 0;
        for (i, want) in expected.iter().enumerate() {
            let now: BTreeMap<Ipv4Network, &Expected> =
                want.iter().map(|e| (e.destination, e)).collect();
            let gone = before[i].keys().filter(|d| !now.contains_key(d)).count();
            withdrawn += gone;
            // The two ends of the cut lose routes because their own link went; the others
            // only by what the protocol tells them.
            if i != a && i != b {
                withdrawn_away += gone;
            }
            rerouted += now
                .iter()
                .filter(|(d, e)| before[i].get(d).is_some_and(|b| b != *e))
                .count();
        }
        let reachable_before: BTreeSet<Ipv4Network> = first
            .expected
            .iter()
            .flatten()
            .map(|e| e.destination)
            .collect();
        let reachable_after: BTreeSet<Ipv4Network> =
            expected.iter().flatten().map(|e| e.destination).collect();
        let lost_prefixes = reachable_before.difference(&reachable_after).count();
        // RIP must withdraw the lost routes by poison, well before they would time out.
        let timeout = match opts.protocol {
            Protocol::Rip => Duration::from_secs(u64::from(RIP_TIMEOUT) * 2 / 3),
            Protocol::Ospf => CONVERGE_TIMEOUT,
        };
        let since = Instant::now();
        routers[a].handle.set_link_down(Net::ifname(b).as_str())?;
        let mut phase = converge(&mut watch, &birds, since, timeout, expected).map_err(|e| {
            match opts.protocol {
                Protocol::Rip => format!(
                    "{e}\n(RIP must poison lost routes with metric 16 at once; these lingered \
                     towards their {RIP_TIMEOUT} s timeout)"
                )
                .into(),
                Protocol::Ospf => e,
            }
        })?;
        phase.metrics = check_bird_metrics(&birds, &phase.expected)?;
        print_phase(
            &format!(
                "link r{}-r{} down (r{} {} set down): reconverged (time since then)",
                a + 1,
                b + 1,
                a + 1,
                Net::ifname(b)
            ),
            &phase,
            &watch,
        );
        // The data path: to the far end of the cut link if r1 still reaches it (the long way
        // round on a ring), else to the farthest router it reaches.
        let dist = net.distances(&net.up(Some((k, a))));
        let far = if dist[0][b].is_some() {
            b
        } else {
            (0..n).rev().find(|&j| dist[0][j].is_some()).unwrap_or(0)
        };
        if far > 0 {
            echoes.1 += 1;
            stub_echo(&routers, far)?;
            echoes.0 += 1;
            println!(
                "echo {} -> {}: answered",
                Net::stub_addr(0),
                Net::stub_addr(far)
            );
        }
        // And the routers cut off are unreachable (no route: ENETUNREACH).
        if let Some(cut) = (0..n).find(|&j| dist[0][j].is_none()) {
            let q = RouteQuery::new(IpAddr::V4(Net::stub_addr(cut)));
            match routers[0].handle.route_get(&q) {
                Err(e) => println!(
                    "route get {} in r1: {e} (cut off, as it must be)",
                    Net::stub_addr(cut)
                ),
                Ok(r) => {
                    return Err(
                        format!("r1 still routes to cut-off r{}'s stub: {r:?}", cut + 1).into(),
                    )
                }
            }
        }
        reconvergence = Some(Reconvergence {
            link: (a as u8 + 1, b as u8 + 1),
            phase,
            withdrawn,
            withdrawn_away,
            lost_prefixes,
            rerouted,
        });
    }

    let summary = Summary {
        protocol: opts.protocol,
        topology: opts.topology,
        routers: n,
        bird: bird_version,
        converge: first,
        down: reconvergence,
        echoes,
        events: watch.events_seen,
        elapsed: started.elapsed(),
    };
    drop(watch);
    if opts.keep {
        // Kept running for a look (and `ip route` shows their routes): a kept lab's daemons
        // are not stopped when dropped; the lab lists them, so the next run with this prefix
        // stops them.
        drop(birds);
    } else {
        // Stopped by pid (SIGTERM, then SIGKILL) and reaped, before the namespaces go.
        for bird in birds {
            bird.stop();
        }
    }
    drop(routers);
    drop(lab);
    Ok(summary)
}

const USAGE: &str = "usage: routing_lab [--protocol rip|ospf] [--topology line|ring] \
                     [--routers N] [--down A-B|middle|none] [--prefix NAME] [--keep]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = (|| -> Result<Options> {
        netplumb_lab::check_args(
            &args,
            &[
                "--protocol",
                "--topology",
                "--routers",
                "--down",
                "--prefix",
            ],
            &["--keep"],
            USAGE,
        )?;
        let d = Options::default();
        Ok(Options {
            protocol: netplumb_lab::arg(&args, "--protocol", d.protocol)?,
            topology: netplumb_lab::arg(&args, "--topology", d.topology)?,
            routers: netplumb_lab::arg(&args, "--routers", d.routers)?,
            down: netplumb_lab::arg(&args, "--down", d.down)?,
            prefix: netplumb_lab::arg(&args, "--prefix", d.prefix)?,
            keep: netplumb_lab::flag(&args, "--keep"),
        })
    })();
    netplumb_lab::finish("routing_lab", opts.and_then(|o| run(&o)))
}
