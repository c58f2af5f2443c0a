//! flannel for real: one agent process per host leases a subnet in etcd, watches the other
//! hosts' leases and programs the VXLAN data path with netplumb; a host that dies stops
//! renewing, its lease expires, and every other host removes it.
//!
//! The lab: an underlay LAN (a bridge in a namespace of its own), N host namespaces on it
//! (default 3; host H is 192.168.100.H on `eth0`) and a namespace `etcd` (192.168.100.250)
//! running etcd with its own data directory. The orchestrator writes flannel's network
//! configuration to `/coreos.com/network/config` and starts an agent in every host namespace
//! (this same program, `flannel_etcd agent …`; see `netplumb_lab::flannel::run_agent`). Each
//! agent, as flanneld's `vxlan` backend does:
//!
//! - makes `flannel.1` (VNI 1, port 8472, local = its underlay address, learning off);
//! - leases a subnet: `/coreos.com/network/subnets/10.5.X.0-24` =
//!   `{"PublicIP":"192.168.100.H","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}`,
//!   attached to an etcd lease of `--ttl` seconds and written only if absent; renews it every
//!   third of the TTL; writes `subnet.env` (`FLANNEL_NETWORK`, `FLANNEL_SUBNET`, …);
//! - lists the leases and, for each other host's, adds a permanent neighbour (10.5.X.0 → its
//!   VTEP MAC), an FDB entry (VTEP MAC → its underlay address) and a route (10.5.X.0/24 via
//!   10.5.X.0 dev flannel.1 onlink); then watches the leases from the listing's revision + 1
//!   and removes a lease's three entries when its key goes.
//!
//! The orchestrator then builds the pods on each host from its `subnet.env` (as flannel's CNI
//! plugin does, a `cni0` bridge and veth pairs), proves the overlay with a UDP echo between
//! every pair of pods on different hosts, and kills the last host's agent with SIGKILL: its key
//! expires after the TTL, every other host removes its entries, and the survivors' pods still
//! echo. Lease, convergence and removal times are measured by netplumb monitors in every host
//! (and an etcd watch for the key's expiry), not by polling. Everything is deleted at the end.
//!
//! Run as root (needs etcd 3: `apt-get install etcd-server`):
//! `sudo cargo run --example flannel_etcd -- [--hosts N] [--pods N] [--ttl SECONDS]
//! [--prefix NAME] [--keep]`. With `--keep`, look around:
//! `ip netns exec flannel-etcd-etcd etcdctl --endpoints 192.168.100.250:2379 get --prefix /coreos.com`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ipnetwork::Ipv4Network;
use netplumb::{Handle, NetNs};
use netplumb_lab::etcd::{prefix_end, Etcd, EtcdClient, WatchEvent, WatchMessage};
use netplumb_lab::flannel::{
    add_pods, parse_subnet_key, AgentOptions, AgentProcess, AgentProgram, HostView, LeaseAttrs,
    OverlayWatch, Pod, SubnetEnv, Usage, VtepLease, DEFAULT_PREFIX,
};
use netplumb_lab::{timing_slack, EchoMatrix, Endpoint, Lab, Result, Underlay};

/// flannel's network configuration used by default.
pub const CONFIG: &str =
    r#"{"Network":"10.5.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}"#;
/// The VXLAN device the agents make (`flannel.VNI`).
pub const VXLAN_DEV: &str = "flannel.1";
/// etcd's address on the underlay.
pub const ETCD_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 250);
/// The port the pods' echo servers listen on.
pub const ECHO_PORT: u16 = 7777;

/// What to build.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many hosts (1–200).
    pub hosts: u8,
    /// Pods per host (0–20; with 0, no echoes).
    pub pods: u8,
    /// The leases' time to live, in seconds.
    pub ttl: u64,
    /// The network configuration written to etcd.
    pub config: String,
    /// Kill the last host's agent at the end and time its expiry.
    pub kill_last: bool,
    /// How agents are started (default: this program with `agent`).
    pub agent: Option<AgentProgram>,
    /// The namespaces are named `PREFIX-host1`, `PREFIX-etcd`, …
    pub prefix: String,
    /// Leave everything in place at the end (etcd and the agents keep running).
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            hosts: 3,
            pods: 2,
            ttl: 4,
            config: CONFIG.into(),
            kill_last: true,
            agent: None,
            prefix: "flannel-etcd".into(),
            keep: false,
        }
    }
}

/// A host of the cluster.
pub struct Host {
    /// Its number, from 1.
    pub n: u8,
    /// Its namespace.
    pub ns: NetNs,
    /// A handle in it.
    pub handle: Handle,
    /// Its agent, while it runs.
    pub agent: Option<AgentProcess>,
    /// Its pods.
    pub pods: Vec<Pod>,
    /// Its agent's options.
    pub options: AgentOptions,
}

impl Host {
    /// Its underlay address.
    pub fn public_ip(&self) -> Ipv4Addr {
        Underlay::host_ip(self.n)
    }
}

/// A lease as etcd holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLease {
    /// The subnet its key names.
    pub subnet: Ipv4Network,
    /// Its value, exactly as stored.
    pub value: String,
    /// Its value, read.
    pub attrs: LeaseAttrs,
    /// The etcd lease it is attached to.
    pub lease_id: i64,
}

impl StoredLease {
    /// The data-path view of it.
    pub fn vtep(&self) -> VtepLease {
        VtepLease {
            subnet: self.subnet,
            public_ip: self.attrs.public_ip,
            vtep_mac: self.attrs.vtep_mac,
        }
    }
}

/// etcd, the hosts and their agents, and the monitors on every host. Dropping it stops the
/// agents and etcd and deletes every namespace (unless kept).
pub struct Cluster {
    /// The hosts (index H-1 is host H).
    pub hosts: Vec<Host>,
    /// The monitors' view of every host's kernel.
    pub watch: OverlayWatch,
    /// etcd.
    pub etcd: Etcd,
    /// A client of etcd, living in etcd's namespace.
    pub client: EtcdClient,
    /// The underlay.
    pub underlay: Underlay,
    /// Timing margins are multiplied by this (see `netplumb_lab::timing_slack`).
    pub slack: u32,
    program: AgentProgram,
    ttl: u64,
    /// The lab (dropped last).
    pub lab: Lab,
}

impl Cluster {
    /// Builds the lab (underlay, etcd, `hosts` host namespaces with monitors) and writes
    /// `config` to etcd; starts no agent.
    pub fn new(opts: &Options) -> Result<Cluster> {
        if !(1..=200).contains(&opts.hosts) {
            return Err(format!("--hosts {}: between 1 and 200", opts.hosts).into());
        }
        if opts.pods > 20 {
            return Err(format!("--pods {}: at most 20", opts.pods).into());
        }
        if opts.ttl < 2 {
            return Err(format!("--ttl {}: at least 2 seconds", opts.ttl).into());
        }
        netplumb_lab::etcd::etcd_version()?;
        let slack = timing_slack();
        let mut lab = Lab::new(&opts.prefix)?;
        lab.keep(opts.keep);
        let underlay = Underlay::new(&mut lab, None)?;
        underlay.add_node(&mut lab, "etcd", "uplink-etcd", ETCD_IP)?;
        let etcd = Etcd::start(
            &mut lab,
            "etcd",
            ETCD_IP,
            Duration::from_secs(20 * u64::from(slack)),
        )?;
        let client = etcd.client()?.timeout(Duration::from_secs(5) * slack);
        client.put(
            format!("{DEFAULT_PREFIX}/config").as_bytes(),
            opts.config.as_bytes(),
            0,
        )?;
        let workdir = lab.workdir()?;
        let mut hosts = Vec::new();
        for n in 1..=opts.hosts {
            let (ns, handle) = underlay.add_host(&mut lab, n)?;
            let options = AgentOptions {
                netns: lab.name(&format!("host{n}")),
                etcd: etcd.endpoint(),
                public_ip: Underlay::host_ip(n),
                iface: "eth0".into(),
                ttl: opts.ttl,
                prefix: DEFAULT_PREFIX.into(),
                subnet_file: workdir.join(format!("host{n}-subnet.env")),
            };
            hosts.push(Host {
                n,
                ns,
                handle,
                agent: None,
                pods: Vec::new(),
                options,
            });
        }
        let names: Vec<String> = hosts.iter().map(|h| format!("host{}", h.n)).collect();
        let pairs: Vec<(&str, &NetNs)> = names
            .iter()
            .zip(&hosts)
            .map(|(name, h)| (name.as_str(), &h.ns))
            .collect();
        let watch = OverlayWatch::start(&pairs, VXLAN_DEV)?;
        let program = match &opts.agent {
            Some(p) => p.clone(),
            None => AgentProgram {
                program: std::env::current_exe()?,
                args: vec!["agent".into()],
                ..AgentProgram::default()
            },
        };
        Ok(Cluster {
            hosts,
            watch,
            etcd,
            client,
            underlay,
            slack,
            program,
            ttl: opts.ttl,
            lab,
        })
    }

    /// The leases' TTL.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl)
    }

    /// Starts host `n`'s agent.
    pub fn start_agent(&mut self, n: u8) -> Result<()> {
        let host = &mut self.hosts[usize::from(n) - 1];
        let agent = AgentProcess::start(
            &mut self.lab,
            &self.program,
            &host.options,
            &format!("host{n}-agent"),
        )?;
        host.agent = Some(agent);
        Ok(())
    }

    /// Host `n`'s agent's output.
    pub fn agent_log(&self, n: u8) -> String {
        self.hosts[usize::from(n) - 1]
            .agent
            .as_ref()
            .map(AgentProcess::log)
            .unwrap_or_default()
    }

    /// The leases in etcd, by subnet.
    pub fn leases(&self) -> Result<Vec<StoredLease>> {
        let prefix = format!("{DEFAULT_PREFIX}/subnets/");
        let (_, kvs) = self
            .client
            .range(prefix.as_bytes(), Some(&prefix_end(prefix.as_bytes())))?;
        kvs.iter()
            .map(|kv| {
                let subnet = parse_subnet_key(DEFAULT_PREFIX, &kv.key)
                    .ok_or_else(|| format!("odd key {:?}", String::from_utf8_lossy(&kv.key)))?;
                Ok(StoredLease {
                    subnet,
                    value: String::from_utf8(kv.value.clone())?,
                    attrs: LeaseAttrs::parse(&kv.value)?,
                    lease_id: kv.lease,
                })
            })
            .collect()
    }

    /// The lease of host `n` in etcd.
    pub fn lease_of(&self, n: u8) -> Result<StoredLease> {
        let ip = Underlay::host_ip(n);
        self.leases()?
            .into_iter()
            .find(|l| l.attrs.public_ip == ip)
            .ok_or_else(|| format!("host{n} has no lease in etcd").into())
    }

    /// Waits until the agents of `hosts` hold a lease (their device has its address) and
    /// returns how long after `since` each got it.
    pub fn wait_leases(&mut self, hosts: &[u8], since: Instant) -> Result<Vec<Duration>> {
        let timeout = Duration::from_secs(20 * u64::from(self.slack));
        let times = self
            .watch
            .wait_for(since, timeout, |i, v| {
                !hosts.contains(&(i as u8 + 1)) || v.own.is_some()
            })
            .map_err(|e| format!("leases: {e}\n{}", self.logs_tail(hosts)))?;
        Ok(hosts.iter().map(|&n| times[usize::from(n) - 1]).collect())
    }

    /// Waits until each host of `alive` holds exactly the entries of the leases of the other
    /// hosts of `alive` (as etcd holds them now), and returns how long after `since` each
    /// host got there.
    pub fn wait_converged(&mut self, alive: &[u8], since: Instant) -> Result<Vec<Duration>> {
        let leases = self.wait_etcd_leases(alive)?;
        let want: Vec<(u8, VtepLease)> = alive
            .iter()
            .map(|&n| {
                let ip = Underlay::host_ip(n);
                leases
                    .iter()
                    .find(|l| l.attrs.public_ip == ip)
                    .map(|l| (n, l.vtep()))
                    .ok_or_else(|| format!("host{n} has no lease in etcd"))
            })
            .collect::<std::result::Result<_, _>>()?;
        let timeout = Duration::from_secs(30 * u64::from(self.slack));
        let times = self
            .watch
            .wait_for(since, timeout, |i, v| {
                let me = i as u8 + 1;
                if !alive.contains(&me) {
                    return true;
                }
                let others: Vec<VtepLease> = want
                    .iter()
                    .filter(|(n, _)| *n != me)
                    .map(|(_, l)| *l)
                    .collect();
                v.holds_exactly(&others)
            })
            .map_err(|e| format!("convergence: {e}\n{}", self.logs_tail(alive)))?;
        Ok(alive.iter().map(|&n| times[usize::from(n) - 1]).collect())
    }

    /// Waits (with an etcd watch) until etcd holds a lease of every host of `hosts`, and
    /// returns the leases then.
    pub fn wait_etcd_leases(&self, hosts: &[u8]) -> Result<Vec<StoredLease>> {
        let limit = Duration::from_secs(20 * u64::from(self.slack));
        let deadline = Instant::now() + limit;
        let prefix = format!("{DEFAULT_PREFIX}/subnets/");
        let all_there = |leases: &[StoredLease]| {
            hosts.iter().all(|&n| {
                leases
                    .iter()
                    .any(|l| l.attrs.public_ip == Underlay::host_ip(n))
            })
        };
        let (revision, _) = self.client.range(b"/", None)?;
        let leases = self.leases()?;
        if all_there(&leases) {
            return Ok(leases);
        }
        let mut stream = self.client.watch(
            prefix.as_bytes(),
            &prefix_end(prefix.as_bytes()),
            revision + 1,
            Some(limit),
        )?;
        loop {
            match stream.next_message() {
                Ok(Some(WatchMessage::Events { .. })) => {
                    let leases = self.leases()?;
                    if all_there(&leases) {
                        return Ok(leases);
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err("etcd ended the watch".into()),
                Err(e) => {
                    return Err(format!(
                        "leases: not all in etcd after {limit:?} ({e})\n{}",
                        self.logs_tail(hosts)
                    )
                    .into())
                }
            }
            if Instant::now() > deadline {
                return Err(format!("leases: not all in etcd after {limit:?}").into());
            }
        }
    }

    /// The last lines of the agents' logs, for error messages.
    pub fn logs_tail(&self, hosts: &[u8]) -> String {
        hosts
            .iter()
            .map(|&n| {
                let log = self.agent_log(n);
                let lines: Vec<&str> = log.lines().collect();
                format!(
                    "host{n} agent:\n  {}",
                    lines[lines.len().saturating_sub(6)..].join("\n  ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Builds host `n`'s pods on the subnet its agent wrote to `subnet.env`.
    pub fn build_pods(&mut self, n: u8, pods: u8) -> Result<()> {
        let host = &mut self.hosts[usize::from(n) - 1];
        let env = SubnetEnv::read(&host.options.subnet_file)?;
        let subnet = Ipv4Network::new(env.subnet.network(), env.subnet.prefix())?;
        host.pods = add_pods(&mut self.lab, &host.handle, n, subnet, pods, env.mtu)?;
        Ok(())
    }

    /// Echoes between every pair of pods of `hosts` on different hosts.
    pub fn echo(&self, hosts: &[u8]) -> Result<EchoMatrix> {
        let endpoints: Vec<Endpoint> = self
            .hosts
            .iter()
            .filter(|h| hosts.contains(&h.n))
            .flat_map(|h| {
                h.pods.iter().map(|p| Endpoint {
                    name: &p.name,
                    host: h.n,
                    ns: &p.ns,
                    ip: IpAddr::V4(p.ip),
                })
            })
            .collect();
        EchoMatrix::run(&endpoints, ECHO_PORT)
    }

    /// What host `n`'s kernel holds, as the monitors see it.
    pub fn view(&self, n: u8) -> &HostView {
        self.watch.view(usize::from(n) - 1)
    }

    /// The agents' CPU time and peak memory.
    pub fn usage(&self) -> Vec<Usage> {
        self.hosts
            .iter()
            .filter_map(|h| h.agent.as_ref()?.usage().ok())
            .collect()
    }

    /// Kills host `n`'s agent with SIGKILL (the host dies) and measures: when its key left
    /// etcd (seen by a watch from etcd's namespace) and when every other host of `alive` had
    /// removed its three entries (seen by the monitors), both after the kill.
    pub fn kill_and_expire(&mut self, n: u8, alive: &[u8]) -> Result<Expiry> {
        let lease = self.lease_of(n)?;
        let key = netplumb_lab::flannel::subnet_key(DEFAULT_PREFIX, lease.subnet);
        let limit = self.ttl() + Duration::from_secs(10 * u64::from(self.slack));
        let (revision, _) = self.client.range(b"/", None)?;
        let mut stream = self.client.watch(
            key.as_bytes(),
            &prefix_end(key.as_bytes()),
            revision + 1,
            Some(limit),
        )?;
        let killed = Instant::now();
        self.hosts[usize::from(n) - 1]
            .agent
            .as_mut()
            .ok_or_else(|| format!("host{n} has no agent"))?
            .kill()?;
        let key_gone = loop {
            match stream.next_message() {
                Ok(Some(WatchMessage::Events { events, .. }))
                    if events.iter().any(
                        |e| matches!(e, WatchEvent::Delete(kv) if kv.key == key.as_bytes()),
                    ) =>
                {
                    break killed.elapsed()
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err("etcd ended the watch".into()),
                Err(e) => {
                    return Err(
                        format!("{key} not deleted within {limit:?} of the kill: {e}").into(),
                    )
                }
            }
        };
        let vtep = lease.vtep();
        let times = self.watch.wait_for(killed, limit, |i, v| {
            let me = i as u8 + 1;
            me == n || !alive.contains(&me) || v.holds_none_of(&vtep)
        })?;
        let removed = alive
            .iter()
            .filter(|&&m| m != n)
            .map(|&m| times[usize::from(m) - 1])
            .max()
            .unwrap_or_default();
        Ok(Expiry {
            host: n,
            subnet: lease.subnet,
            key_gone,
            removed,
        })
    }
}

/// How a dead host's lease went.
#[derive(Clone, Debug)]
pub struct Expiry {
    /// The host.
    pub host: u8,
    /// Its subnet.
    pub subnet: Ipv4Network,
    /// From the kill to the key's deletion in etcd.
    pub key_gone: Duration,
    /// From the kill to the last other host's removal of its entries.
    pub removed: Duration,
}

/// What one run did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Hosts.
    pub hosts: usize,
    /// Pods, all hosts together.
    pub pods: usize,
    /// How long etcd took to answer.
    pub etcd_ready: Duration,
    /// Each host's lease (as etcd holds it), host 1 first.
    pub leases: Vec<StoredLease>,
    /// From the agents' start to each host's lease (its device's address), host 1 first.
    pub lease_times: Vec<Duration>,
    /// From the agents' start to each host holding every other lease's entries.
    pub converged: Vec<Duration>,
    /// Echoes tried and answered, all hosts up.
    pub echoes: (usize, usize),
    /// Echoes answered by their first datagram.
    pub first_try: usize,
    /// The killed host's expiry, if one was killed.
    pub expiry: Option<Expiry>,
    /// Echoes tried and answered among the survivors.
    pub survivor_echoes: (usize, usize),
    /// The agents' total CPU time.
    pub agents_cpu: Duration,
    /// The agents' peak memory, all together (KiB).
    pub agents_rss_kib: u64,
    /// Wall time of the whole job.
    pub elapsed: Duration,
}

fn max_ms(t: &[Duration]) -> f64 {
    t.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "flannel_etcd: {} hosts, {} pods, etcd ready in {:.0} ms, {} leases in {:.0} ms, \
             converged in {:.0} ms, {}/{} echoes answered ({} on the first datagram)",
            self.hosts,
            self.pods,
            self.etcd_ready.as_secs_f64() * 1e3,
            self.leases.len(),
            max_ms(&self.lease_times),
            max_ms(&self.converged),
            self.echoes.1,
            self.echoes.0,
            self.first_try
        )?;
        if let Some(e) = &self.expiry {
            write!(
                f,
                ", host{} killed: key gone after {:.2} s, entries removed after {:.2} s, \
                 {}/{} survivor echoes",
                e.host,
                e.key_gone.as_secs_f64(),
                e.removed.as_secs_f64(),
                self.survivor_echoes.1,
                self.survivor_echoes.0
            )?;
        }
        write!(
            f,
            ", agents {:.0} ms cpu {:.1} MiB peak rss in all, {:.2} s",
            self.agents_cpu.as_secs_f64() * 1e3,
            self.agents_rss_kib as f64 / 1024.0,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Builds the cluster, starts all agents at once and waits for their leases and for
/// convergence, builds the pods. The returned cluster's agents are running.
pub fn bring_up(opts: &Options) -> Result<(Cluster, Vec<Duration>, Vec<Duration>)> {
    let mut c = Cluster::new(opts)?;
    let all: Vec<u8> = (1..=opts.hosts).collect();
    let start = Instant::now();
    for &n in &all {
        c.start_agent(n)?;
    }
    let lease_times = c.wait_leases(&all, start)?;
    let converged = c.wait_converged(&all, start)?;
    for &n in &all {
        c.build_pods(n, opts.pods)?;
    }
    Ok((c, lease_times, converged))
}

/// Builds, proves and removes the cluster. See the module documentation.
pub fn run(opts: &Options) -> Result<Summary> {
    let started = Instant::now();
    let (mut c, lease_times, converged) = bring_up(opts)?;
    let all: Vec<u8> = (1..=opts.hosts).collect();
    let leases: Vec<StoredLease> = all.iter().map(|&n| c.lease_of(n)).collect::<Result<_>>()?;
    println!("\nleases in etcd ({DEFAULT_PREFIX}/subnets/…):");
    for (n, l) in all.iter().zip(&leases) {
        println!(
            "  host{n:<3} {:<15} {}  (leased in {:.0} ms, converged in {:.0} ms)",
            l.subnet.to_string(),
            l.value,
            lease_times[usize::from(*n) - 1].as_secs_f64() * 1e3,
            converged[usize::from(*n) - 1].as_secs_f64() * 1e3
        );
    }
    let echoes = c.echo(&all)?;
    if opts.pods > 0 {
        echoes.print("echo (UDP, pod to pod across hosts)");
    }
    echoes.check()?;
    let usage = c.usage();
    let mut summary = Summary {
        hosts: all.len(),
        pods: usize::from(opts.hosts) * usize::from(opts.pods),
        etcd_ready: c.etcd.ready_after,
        leases,
        lease_times,
        converged,
        echoes: (echoes.tried, echoes.answered),
        first_try: echoes.first_try,
        expiry: None,
        survivor_echoes: (0, 0),
        agents_cpu: usage.iter().map(|u| u.cpu).sum(),
        agents_rss_kib: usage.iter().map(|u| u.peak_rss_kib).sum(),
        elapsed: Duration::ZERO,
    };
    if opts.kill_last && opts.hosts >= 2 {
        let dead = opts.hosts;
        let e = c.kill_and_expire(dead, &all)?;
        println!(
            "\nhost{dead}'s agent killed (SIGKILL): its key {} left etcd after {:.2} s (ttl {} s), \
             the other hosts removed its entries after {:.2} s",
            e.subnet,
            e.key_gone.as_secs_f64(),
            opts.ttl,
            e.removed.as_secs_f64()
        );
        let survivors: Vec<u8> = (1..dead).collect();
        let m = c.echo(&survivors)?;
        m.check()?;
        summary.survivor_echoes = (m.tried, m.answered);
        summary.expiry = Some(e);
    }
    summary.elapsed = started.elapsed();
    drop(c);
    Ok(summary)
}

const USAGE: &str = "usage: flannel_etcd [--hosts N] [--pods N] [--ttl SECONDS] [--prefix NAME] \
                     [--keep]\n       flannel_etcd agent --netns NAME --etcd IP:PORT \
                     --public-ip IP --subnet-file PATH [--iface eth0] [--ttl SECONDS]";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("agent") {
        std::process::exit(netplumb_lab::flannel::agent_main(&args[1..]));
    }
    let opts = (|| -> Result<Options> {
        netplumb_lab::check_args(
            &args,
            &["--hosts", "--pods", "--ttl", "--prefix"],
            &["--keep"],
            USAGE,
        )?;
        let d = Options::default();
        Ok(Options {
            hosts: netplumb_lab::arg(&args, "--hosts", d.hosts)?,
            pods: netplumb_lab::arg(&args, "--pods", d.pods)?,
            ttl: netplumb_lab::arg(&args, "--ttl", d.ttl)?,
            prefix: netplumb_lab::arg(&args, "--prefix", d.prefix)?,
            keep: netplumb_lab::flag(&args, "--keep"),
            ..d
        })
    })();
    netplumb_lab::finish("flannel_etcd", opts.and_then(|o| run(&o)))
}
