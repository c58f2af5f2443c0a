//! VRF tenants: two tenants with the same overlapping subnets on one host, kept apart by VRF
//! devices. Shows that each tenant's `route get` resolves inside its own table and proves with
//! traffic that packets stay inside their tenant.
//!
//! ```text
//! sudo cargo run --release --example vrf_tenants [-- --prefix P] [--keep]
//! ```
//! It needs a kernel with VRF support (`CONFIG_NET_VRF`, the `vrf` module). Without it the run
//! stops at the first VRF with "the kernel has no vrf support" and exits 1; the kernel-VM test
//! tier (`bash .ci/kernel-vm.sh`, Debian's stock kernel) runs it as the root test
//! `example_vrf_tenants`.
//!
//! # The network
//! ```text
//!                      PREFIX-host (ip_forward=1)
//!   PREFIX-a-client    ┌── VRF tenant-a, table 10 ──┐    PREFIX-a-server
//!   eth0 10.1.0.2 ─────┤ a-cli 10.1.0.1             │
//!                      │             a-srv 10.2.0.1 ├──── eth0 10.2.0.2, lo 10.3.0.2
//!                      │ 10.3.0.0/24 via 10.2.0.2   │
//!                      └────────────────────────────┘
//!   PREFIX-b-client    ┌── VRF tenant-b, table 20 ──┐    PREFIX-b-server
//!   eth0 10.1.0.2 ─────┤ b-cli 10.1.0.1             │
//!                      │             b-srv 10.2.0.1 ├──── eth0 10.2.0.2
//!                      └────────────────────────────┘
//! ```
//! Both tenants use the same addresses. Each VRF table ends in `unreachable default` (as the
//! kernel's VRF documentation advises) so that a lookup that misses never falls through to
//! the host's own tables. Only tenant A has the extra prefix 10.3.0.0/24 (a service on its
//! server's loopback).
//!
//! # What it checks
//! - in the host namespace, `ip route get 10.2.0.2 vrf tenant-X` resolves to tenant X's
//!   server link in tenant X's table, and so does the lookup of a packet from the client
//!   (`from 10.1.0.2 iif X-cli`); 10.3.0.2 resolves in tenant A and is unreachable in tenant B;
//!   the host's main table knows neither;
//! - each VRF's table (`ip route show vrf`) holds its two connected routes, and only tenant A's
//!   the extra prefix;
//! - a UDP echo from each tenant's client to 10.2.0.2 is answered by that tenant's server (the
//!   reply names the tenant that answered), and every datagram a server received came from its
//!   own tenant's client;
//! - tenant A's client reaches 10.3.0.2; tenant B's client gets no answer from anyone (its
//!   VRF answers with ICMP host unreachable, from the table's `unreachable default`).
//!
//! # The same job with `ip`
//! ```text
//! ip netns add vt-host; ip netns add vt-a-client; ip netns add vt-a-server  # … and b
//! ip netns exec vt-host sysctl -w net.ipv4.ip_forward=1
//! ip -n vt-host link add tenant-a type vrf table 10; ip -n vt-host link set tenant-a up
//! ip -n vt-host link add a-cli type veth peer name eth0 netns vt-a-client
//! ip -n vt-host link add a-srv type veth peer name eth0 netns vt-a-server
//! ip -n vt-host link set a-cli master tenant-a; ip -n vt-host link set a-srv master tenant-a
//! ip -n vt-host addr add 10.1.0.1/24 dev a-cli; ip -n vt-host addr add 10.2.0.1/24 dev a-srv
//! ip -n vt-host link set a-cli up; ip -n vt-host link set a-srv up
//! ip -n vt-host route add unreachable default metric 4278198272 table 10
//! ip -n vt-host route add 10.3.0.0/24 via 10.2.0.2 dev a-srv table 10
//! ip -n vt-a-client addr add 10.1.0.2/24 dev eth0; ip -n vt-a-client link set eth0 up
//! ip -n vt-a-client route add default via 10.1.0.1
//! ip -n vt-a-server addr add 10.2.0.2/24 dev eth0; ip -n vt-a-server link set eth0 up
//! ip -n vt-a-server addr add 10.3.0.2/32 dev lo
//! ip -n vt-a-server route add default via 10.2.0.1
//! # … tenant-b the same with table 20, b-cli, b-srv and no 10.3.0.0/24
//! ip -n vt-host route show vrf tenant-a
//! ip -n vt-host route get 10.2.0.2 vrf tenant-a
//! ip -n vt-host route get 10.2.0.2 from 10.1.0.2 iif a-cli
//! ip netns exec vt-a-client nc -u 10.2.0.2 7007    # answered by tenant A's server
//! ip netns del vt-host …
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netplumb::link::{NewVeth, NewVrf};
use netplumb::netconf::{ConfKnob, ConfScope};
use netplumb::route::{NewRoute, Route, RouteFilter, RouteQuery, RouteType};
use netplumb::{Handle, IfIndex, NetNs, TableId};
use nix::errno::Errno;

use netplumb_lab::{Lab, Result};

/// The port of the tenants' echo servers.
pub const PORT: u16 = 7007;
/// The metric of each VRF table's `unreachable default`, as the kernel's VRF documentation
/// uses (the highest, so that any real default route wins).
const UNREACHABLE_METRIC: u32 = 4_278_198_272;
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
const CLIENT_GW: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 2);
const SERVER_GW: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 1);
/// Tenant A's extra service, on its server's loopback, routed in tenant A's table only.
const EXTRA: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 2);
const EXTRA_NET: &str = "10.3.0.0/24";

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Namespace names start with `PREFIX-`.
    pub prefix: String,
    /// Datagrams each probe sends at most before giving up.
    pub attempts: u32,
    /// How long each datagram waits for its answer.
    pub wait: Duration,
    /// Keep the namespaces at the end.
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            prefix: "vt".into(),
            attempts: 3,
            wait: Duration::from_millis(300),
            keep: false,
        }
    }
}

/// One `ip route get` in the host namespace.
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The command it is equivalent to.
    pub command: String,
    /// The VRF it was made in (`None`: the host's own tables).
    pub vrf: Option<String>,
    /// The destination.
    pub destination: Ipv4Addr,
    /// The table that answered, the output link's name and the gateway; or the error.
    pub result: std::result::Result<(TableId, String, Option<IpAddr>), String>,
}

/// One UDP probe from a tenant's client.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The client's tenant.
    pub from: String,
    /// Where it went.
    pub to: SocketAddr,
    /// The tenant whose server answered, or what happened instead ("no answer", the ICMP
    /// error).
    pub answered_by: std::result::Result<String, String>,
    /// Datagrams sent.
    pub attempts: u32,
    /// Round trip of the answered datagram.
    pub rtt: Option<Duration>,
}

/// What one tenant's server saw.
#[derive(Clone, Debug)]
pub struct Served {
    /// The tenant.
    pub tenant: String,
    /// Datagrams it received.
    pub datagrams: u64,
    /// Datagrams among them sent by another tenant's client.
    pub foreign: u64,
}

/// What a run found.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// The VRFs: name, table, and the prefixes of `ip route show vrf NAME` (IPv4).
    pub vrfs: Vec<(String, TableId, Vec<String>)>,
    /// The lookups made in the host namespace.
    pub lookups: Vec<Lookup>,
    /// The UDP probes.
    pub probes: Vec<Probe>,
    /// What each server saw.
    pub served: Vec<Served>,
}

impl Summary {
    /// The probe from `tenant` to `to`, if made.
    pub fn probe(&self, tenant: &str, to: Ipv4Addr) -> Option<&Probe> {
        self.probes
            .iter()
            .find(|p| p.from == tenant && p.to.ip() == IpAddr::V4(to))
    }

    /// The lookup of `destination` in `vrf` (`None`: the host's tables) without `iif`.
    pub fn lookup(&self, vrf: Option<&str>, destination: Ipv4Addr) -> Option<&Lookup> {
        self.lookups.iter().find(|l| {
            l.vrf.as_deref() == vrf && l.destination == destination && !l.command.contains("iif")
        })
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: vrf_tenants [--prefix P] [--keep]";
    let result = netplumb_lab::check_args(&args, &["--prefix"], &["--keep"], usage)
        .and_then(|()| {
            let d = Options::default();
            Ok(Options {
                prefix: netplumb_lab::arg(&args, "--prefix", d.prefix.clone())?,
                keep: netplumb_lab::flag(&args, "--keep"),
                ..d
            })
        })
        .and_then(|opts| run(&opts));
    match result {
        Ok(s) => {
            let answered = s.probes.iter().filter(|p| p.answered_by.is_ok()).count();
            let foreign: u64 = s.served.iter().map(|x| x.foreign).sum();
            let resolved = s.lookups.iter().filter(|l| l.result.is_ok()).count();
            println!(
                "vrf_tenants: {} tenants on the same subnets, isolated by VRF: {resolved} lookups \
                 resolved in the tenant's own table, {} refused as they should be; {answered} \
                 echoes answered by the sender's own tenant, {} probe of another tenant's \
                 prefix refused, {foreign} datagrams crossed tenants",
                s.vrfs.len(),
                s.lookups.len() - resolved,
                s.probes.len() - answered
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vrf_tenants failed: {e}");
            if e.downcast_ref::<netplumb::Error>()
                .is_some_and(netplumb::Error::is_unsupported)
            {
                eprintln!(
                    "(this kernel cannot run the example; the kernel-VM tier runs it: \
                     bash .ci/kernel-vm.sh)"
                );
            }
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- the tenants' servers

/// A UDP server answering every datagram with `TENANT PAYLOAD`, so that the reply says who
/// answered, and counting what it received. (Support's `EchoServer` echoes the bytes
/// unchanged, which cannot tell two servers with the same address apart.)
struct TenantServer {
    tenant: String,
    received: Arc<AtomicU64>,
    foreign: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl TenantServer {
    fn start(ns: &NetNs, tenant: &str, addrs: &[SocketAddr]) -> Result<TenantServer> {
        let mut server = TenantServer {
            tenant: tenant.to_string(),
            received: Arc::default(),
            foreign: Arc::default(),
            stop: Arc::default(),
            threads: Vec::new(),
        };
        for addr in addrs {
            let socket = ns
                .run(|| UdpSocket::bind(addr))?
                .map_err(|e| format!("bind {addr} in {tenant}'s server: {e}"))?;
            socket.set_read_timeout(Some(Duration::from_millis(50)))?;
            let (received, foreign, stop) = (
                server.received.clone(),
                server.foreign.clone(),
                server.stop.clone(),
            );
            let me = tenant.to_string();
            server.threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    received.fetch_add(1, Ordering::Relaxed);
                    let payload = String::from_utf8_lossy(&buf[..n]).into_owned();
                    // Clients write "from TENANT: …".
                    if !payload.starts_with(&format!("from {me}:")) {
                        foreign.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = socket.send_to(format!("{me} {payload}").as_bytes(), from);
                }
            }));
        }
        Ok(server)
    }

    fn served(&self) -> Served {
        Served {
            tenant: self.tenant.clone(),
            datagrams: self.received.load(Ordering::Relaxed),
            foreign: self.foreign.load(Ordering::Relaxed),
        }
    }
}

impl Drop for TenantServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Sends datagrams from `CLIENT` inside `ns` (the client of `tenant`) to `to` until one is
/// answered. The socket is connected and has `IP_RECVERR` on, so that an ICMP error (even a
/// "soft" one such as host unreachable, which a plain socket ignores) ends the probe with that
/// error.
fn probe(ns: &NetNs, tenant: &str, to: SocketAddr, opts: &Options) -> Result<Probe> {
    let socket = ns
        .run(|| -> std::io::Result<UdpSocket> {
            let s = UdpSocket::bind(SocketAddr::new(IpAddr::V4(CLIENT), 0))?;
            s.connect(to)?;
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv4RecvErr, &true)?;
            Ok(s)
        })?
        .map_err(|e| format!("{tenant}'s client socket to {to}: {e}"))?;
    socket.set_read_timeout(Some(opts.wait))?;
    let mut buf = [0u8; 1500];
    let mut outcome = Err("no answer".to_string());
    let mut attempts = 0;
    let mut rtt = None;
    'send: while attempts < opts.attempts {
        attempts += 1;
        let message = format!("from {tenant}: probe {attempts} to {to}");
        let sent = Instant::now();
        if let Err(e) = socket.send(message.as_bytes()) {
            outcome = Err(e.to_string());
            break;
        }
        loop {
            match socket.recv(&mut buf) {
                Ok(n) => {
                    let reply = String::from_utf8_lossy(&buf[..n]);
                    // "TENANT PAYLOAD"; replies to earlier attempts are skipped.
                    match reply.split_once(' ') {
                        Some((who, payload)) if payload == message => {
                            outcome = Ok(who.to_string());
                            rtt = Some(sent.elapsed());
                            break 'send;
                        }
                        _ => continue,
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                // An ICMP error (host or network unreachable, port unreachable): final.
                Err(e) => {
                    outcome = Err(e.to_string());
                    break 'send;
                }
            }
        }
    }
    Ok(Probe {
        from: tenant.to_string(),
        to,
        answered_by: outcome,
        attempts,
        rtt,
    })
}

// ---------------------------------------------------------------- building

struct Tenant {
    name: String,
    table: TableId,
    client: NetNs,
    server: NetNs,
    cli_link: String,
    srv_link: String,
    extra: bool,
}

fn net(addr: Ipv4Addr, len: u8) -> Result<IpNetwork> {
    Ok(IpNetwork::new(IpAddr::V4(addr), len)?)
}

/// The host's side of a tenant: its VRF, the two links enslaved to it, addresses, routes; and
/// the client's and server's side.
fn build_tenant(
    lab: &mut Lab,
    host: &Handle,
    name: &str,
    short: &str,
    table: TableId,
    extra: bool,
) -> Result<Tenant> {
    // The first VRF is where a kernel without VRF support answers; the error is kept as the
    // netplumb error (`is_unsupported`) for the caller.
    host.add_vrf(&NewVrf::new(name, table))?;
    host.set_link_up(name)?;
    let client = lab.netns(&format!("{short}-client"))?;
    let server = lab.netns(&format!("{short}-server"))?;
    let cli_link = format!("{short}-cli");
    let srv_link = format!("{short}-srv");
    // The host's end of each link is the gateway of the namespace at the other end.
    for (link, ns, here, there) in [
        (&cli_link, &client, CLIENT_GW, CLIENT),
        (&srv_link, &server, SERVER_GW, SERVER),
    ] {
        let mut veth = NewVeth::new(link, "eth0");
        veth.peer.netns = Some(ns);
        host.add_veth(&veth)?;
        // Enslaved first, so that the connected route of its address lands in the VRF's table.
        host.set_link_vrf(link.as_str(), name)?;
        host.add_address(link.as_str(), &net(here, 24)?.into())?;
        host.set_link_up(link.as_str())?;
        let inside = Handle::new_in(ns)?;
        inside.add_address("eth0", &net(there, 24)?.into())?;
        inside.set_link_up("eth0")?;
        inside.add_route(&NewRoute::via("0.0.0.0/0".parse()?, IpAddr::V4(here))?)?;
    }
    host.add_route(&NewRoute {
        table,
        priority: Some(UNREACHABLE_METRIC),
        ..NewRoute::of_kind(RouteType::Unreachable, "0.0.0.0/0".parse()?)?
    })?;
    if extra {
        Handle::new_in(&server)?.add_address("lo", &net(EXTRA, 32)?.into())?;
        let mut route =
            NewRoute::via_dev(EXTRA_NET.parse()?, IpAddr::V4(SERVER), srv_link.as_str())?;
        route.table = table;
        host.add_route(&route)?;
    }
    Ok(Tenant {
        name: name.to_string(),
        table,
        client,
        server,
        cli_link,
        srv_link,
        extra,
    })
}

fn link_name(host: &Handle, index: Option<IfIndex>) -> String {
    match index {
        Some(i) => host
            .link(i)
            .map_or_else(|_| format!("if{i}"), |l| l.name.to_string()),
        None => "-".to_string(),
    }
}

fn lookup(host: &Handle, vrf: Option<&str>, destination: Ipv4Addr, iif: Option<&str>) -> Lookup {
    let mut command = format!("ip route get {destination}");
    if iif.is_some() {
        command += &format!(" from {CLIENT}");
    }
    if let Some(i) = iif {
        command += &format!(" iif {i}");
    }
    if let Some(v) = vrf.filter(|_| iif.is_none()) {
        command += &format!(" vrf {v}");
    }
    let query = RouteQuery {
        oif: vrf.filter(|_| iif.is_none()).map(Into::into),
        iif: iif.map(Into::into),
        source: iif.map(|_| IpAddr::V4(CLIENT)),
        ..RouteQuery::new(IpAddr::V4(destination))
    };
    let result = host
        .route_get(&query)
        .map(|r: Route| (r.table, link_name(host, r.dev()), r.gateway()))
        .map_err(|e| {
            e.errno()
                .map_or_else(|| e.to_string(), |n| n.desc().to_string())
        });
    Lookup {
        command,
        vrf: vrf.map(str::to_string),
        destination,
        result,
    }
}

// ---------------------------------------------------------------- the job

/// Does the whole job; see the module documentation. On a kernel without VRF support the error
/// is the netplumb error for which `is_unsupported()` is true.
pub fn run(opts: &Options) -> Result<Summary> {
    let mut lab = Lab::new(&opts.prefix)?;
    lab.keep(opts.keep);
    let host_ns = lab.netns("host")?;
    let host = Handle::new_in(&host_ns)?;
    host_ns.set_conf(ConfScope::All, ConfKnob::Ipv4Forwarding, 1)?;
    let tenants = [
        build_tenant(&mut lab, &host, "tenant-a", "a", TableId::new(10), true)?,
        build_tenant(&mut lab, &host, "tenant-b", "b", TableId::new(20), false)?,
    ];
    println!(
        "host {} with VRFs {}; clients 10.1.0.2 and servers 10.2.0.2 in both tenants",
        lab.name("host"),
        tenants
            .iter()
            .map(|t| format!("{} (table {})", t.name, t.table))
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let mut summary = Summary::default();
    let mut problems: Vec<String> = Vec::new();

    // The VRF tables.
    for t in &tenants {
        println!("\nip route show vrf {}", t.name);
        let routes = host.routes(&RouteFilter::vrf(t.name.as_str()))?;
        let mut prefixes = Vec::new();
        for r in routes.iter().filter(|r| r.destination.is_ipv4()) {
            let dest = if r.destination.prefix() == 0 {
                "default".to_string()
            } else {
                r.destination.to_string()
            };
            let mut line = match r.kind {
                RouteType::Unicast => dest.clone(),
                RouteType::Unreachable => format!("unreachable {dest}"),
                other => format!("{other:?} {dest}").to_lowercase(),
            };
            if let Some(g) = r.gateway() {
                line += &format!(" via {g}");
            }
            if r.dev().is_some() {
                line += &format!(" dev {}", link_name(&host, r.dev()));
            }
            if let Some(src) = r.preferred_source {
                line += &format!(" src {src}");
            }
            if let Some(m) = r.priority {
                line += &format!(" metric {m}");
            }
            println!("  {line}");
            if r.table != t.table {
                problems.push(format!(
                    "{}: a route of table {} in its listing",
                    t.name, r.table
                ));
            }
            prefixes.push(r.destination.to_string());
        }
        let mut want = vec!["10.1.0.0/24", "10.2.0.0/24", "0.0.0.0/0"];
        if t.extra {
            want.push(EXTRA_NET);
        }
        let mut have: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        have.sort_unstable();
        want.sort_unstable();
        if have != want {
            problems.push(format!(
                "{}'s table holds {have:?}, expected {want:?}",
                t.name
            ));
        }
        summary.vrfs.push((t.name.clone(), t.table, prefixes));
    }

    // Lookups in the host namespace.
    println!(
        "\n{:<46} {:>6}  result",
        "lookup in the host namespace", "table"
    );
    for t in &tenants {
        let to_server = lookup(&host, Some(&t.name), SERVER, None);
        let forwarded = lookup(&host, Some(&t.name), SERVER, Some(&t.cli_link));
        for l in [&to_server, &forwarded] {
            match &l.result {
                Ok((table, dev, _)) if *table == t.table && *dev == t.srv_link => {}
                other => problems.push(format!(
                    "{}: {other:?}, expected table {} dev {}",
                    l.command, t.table, t.srv_link
                )),
            }
        }
        let extra = lookup(&host, Some(&t.name), EXTRA, None);
        match (&extra.result, t.extra) {
            (Ok((table, dev, Some(gw))), true)
                if *table == t.table && *dev == t.srv_link && *gw == IpAddr::V4(SERVER) => {}
            // The tenant's own `unreachable default` refuses it: host unreachable, not a
            // fall-through to the host's tables (network unreachable) or a malformed query.
            (Err(e), false) if e == Errno::EHOSTUNREACH.desc() => {}
            (other, _) => problems.push(format!(
                "{}: {other:?}, expected {}",
                extra.command,
                if t.extra {
                    format!("via {SERVER} dev {} table {}", t.srv_link, t.table)
                } else {
                    format!("refused: {}", Errno::EHOSTUNREACH.desc())
                }
            )),
        }
        summary.lookups.extend([to_server, forwarded, extra]);
    }
    for dest in [SERVER, EXTRA] {
        let l = lookup(&host, None, dest, None);
        match &l.result {
            Err(e) if e == Errno::ENETUNREACH.desc() => {}
            other => problems.push(format!(
                "{}: {other:?}, expected the host's own tables to have no route ({})",
                l.command,
                Errno::ENETUNREACH.desc()
            )),
        }
        summary.lookups.push(l);
    }
    for l in &summary.lookups {
        let (table, result) = match &l.result {
            Ok((table, dev, gw)) => (
                table.to_string(),
                match gw {
                    Some(g) => format!("via {g} dev {dev}"),
                    None => format!("dev {dev}"),
                },
            ),
            Err(e) => ("-".to_string(), e.clone()),
        };
        println!("{:<46} {table:>6}  {result}", l.command);
    }

    // Traffic.
    let servers = tenants
        .iter()
        .map(|t| {
            let mut addrs = vec![SocketAddr::new(IpAddr::V4(SERVER), PORT)];
            if t.extra {
                addrs.push(SocketAddr::new(IpAddr::V4(EXTRA), PORT));
            }
            TenantServer::start(&t.server, &t.name, &addrs)
        })
        .collect::<Result<Vec<_>>>()?;
    println!(
        "\n{:<28} {:<16} {:<40} {:>9}",
        "probe from", "to", "answered by", "datagrams"
    );
    for t in &tenants {
        for dest in [SERVER, EXTRA] {
            let to = SocketAddr::new(IpAddr::V4(dest), PORT);
            let p = probe(&t.client, &t.name, to, opts)?;
            let expected_answer = dest == SERVER || t.extra;
            match (&p.answered_by, expected_answer) {
                (Ok(who), true) if *who == t.name => {}
                // Refused by the tenant's VRF with ICMP host unreachable.
                (Err(e), false) if e.contains(Errno::EHOSTUNREACH.desc()) => {}
                (other, _) => problems.push(format!(
                    "{}'s client to {to}: {other:?}, expected {}",
                    t.name,
                    if expected_answer {
                        format!("an answer from {}", t.name)
                    } else {
                        format!("a refusal ({})", Errno::EHOSTUNREACH.desc())
                    }
                )),
            }
            println!(
                "{:<28} {:<16} {:<40} {:>9}",
                format!("{} client {CLIENT}", t.name),
                to.to_string(),
                match (&p.answered_by, p.rtt) {
                    (Ok(who), Some(rtt)) => format!("{who} ({:.2} ms)", rtt.as_secs_f64() * 1e3),
                    (Ok(who), None) => who.clone(),
                    (Err(e), _) => format!("nobody: {e}"),
                },
                p.attempts
            );
            summary.probes.push(p);
        }
    }
    // Give the servers a moment for datagrams still in flight, then read their counters.
    std::thread::sleep(Duration::from_millis(100));
    summary.served = servers.iter().map(TenantServer::served).collect();
    drop(servers);
    for s in &summary.served {
        println!(
            "{}'s server received {} datagrams, {} of them from another tenant",
            s.tenant, s.datagrams, s.foreign
        );
        if s.datagrams == 0 || s.foreign != 0 {
            problems.push(format!(
                "{}'s server: {} datagrams, {} foreign",
                s.tenant, s.datagrams, s.foreign
            ));
        }
    }

    if !problems.is_empty() {
        for p in &problems {
            eprintln!("check failed: {p}");
        }
        return Err(format!("{} checks failed (listed above)", problems.len()).into());
    }
    drop(host);
    drop(lab);
    Ok(summary)
}
