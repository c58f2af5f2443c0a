//! A flannel agent (flanneld's `vxlan` backend over etcd) for one host namespace: it leases a
//! subnet in etcd, keeps the lease alive, watches the other hosts' leases and programs the
//! kernel from what it sees. One process per host; see [`run_agent`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::addr::{AddressFilter, NewAddress};
use netplumb::link::{LinkKind, NewVxlan};
use netplumb::{Handle, IpFamily, MacAddr, NetNs, Vni};

use super::config::{parse_subnet_key, subnet_key, Config, LeaseAttrs, SubnetEnv};
use super::datapath::{program_lease, remove_lease, VtepLease, Write};
use crate::etcd::{prefix_end, EtcdClient, KeyValue, WatchEvent, WatchMessage};
use crate::Result;

/// What an agent needs to know: which host it is and where etcd is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentOptions {
    /// The host's named namespace: the agent's sockets (netlink and etcd) are opened there.
    pub netns: String,
    /// etcd's client address, as seen from the host.
    pub etcd: SocketAddr,
    /// The host's underlay address (`--public-ip`), its VXLAN endpoint.
    pub public_ip: Ipv4Addr,
    /// The underlay interface (`--iface`).
    pub iface: String,
    /// The lease's time to live in seconds (flannel: 24 h; seconds in tests).
    pub ttl: u64,
    /// The key prefix (`/coreos.com/network`).
    pub prefix: String,
    /// Where to write `subnet.env` (and read the previous subnet from, on a restart).
    pub subnet_file: PathBuf,
}

const USAGE: &str = "usage: agent --netns NAME --etcd IP:PORT --public-ip IP --subnet-file PATH \
                     [--iface eth0] [--ttl SECONDS] [--prefix /coreos.com/network]";

impl AgentOptions {
    /// The command line that gives these options.
    pub fn to_args(&self) -> Vec<String> {
        [
            "--netns",
            &self.netns,
            "--etcd",
            &self.etcd.to_string(),
            "--public-ip",
            &self.public_ip.to_string(),
            "--iface",
            &self.iface,
            "--ttl",
            &self.ttl.to_string(),
            "--prefix",
            &self.prefix,
            "--subnet-file",
            &self.subnet_file.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Parses [`to_args`](AgentOptions::to_args)'s command line.
    pub fn from_args(args: &[String]) -> Result<AgentOptions> {
        crate::check_args(
            args,
            &[
                "--netns",
                "--etcd",
                "--public-ip",
                "--iface",
                "--ttl",
                "--prefix",
                "--subnet-file",
            ],
            &[],
            USAGE,
        )?;
        let need = |flag: &str| -> Result<String> {
            let v: String = crate::arg(args, flag, String::new())?;
            if v.is_empty() {
                return Err(format!("{flag} is required\n{USAGE}").into());
            }
            Ok(v)
        };
        let ttl: u64 = crate::arg(args, "--ttl", 86400)?;
        if ttl < 2 {
            return Err(format!("--ttl {ttl}: at least 2 seconds").into());
        }
        Ok(AgentOptions {
            netns: need("--netns")?,
            etcd: need("--etcd")?.parse()?,
            public_ip: need("--public-ip")?.parse()?,
            iface: crate::arg(args, "--iface", "eth0".to_string())?,
            ttl,
            prefix: crate::arg(args, "--prefix", super::DEFAULT_PREFIX.to_string())?,
            subnet_file: need("--subnet-file")?.into(),
        })
    }
}

/// An agent's `main`: parses `args` ([`AgentOptions::to_args`]), runs the agent until it
/// fails, prints why (`flannel agent failed: …`) and returns the exit status for
/// `std::process::exit`: 1, or 2 for a bad command line or configuration.
pub fn agent_main(args: &[String]) -> i32 {
    let opts = match AgentOptions::from_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("flannel agent: {e}");
            return 2;
        }
    };
    match run_agent(&opts) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("flannel agent failed: {e}");
            if e.is::<BadConfig>() {
                2
            } else {
                1
            }
        }
    }
}

/// The error an agent stops with when the network configuration is missing or wrong: then
/// nothing was programmed.
#[derive(Debug)]
pub struct BadConfig(pub String);

impl std::fmt::Display for BadConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad config: {}", self.0)
    }
}

impl std::error::Error for BadConfig {}

/// Prints a line with the time since the agent started.
macro_rules! say {
    ($t0:expr, $($arg:tt)*) => {
        println!("[{:>9.3}] {}", $t0.elapsed().as_secs_f64(), format!($($arg)*))
    };
}

enum Msg {
    Watch(u64, WatchMessage),
    WatchEnded(u64, String),
    LeaseLost,
}

/// Runs an agent until it fails (its lease is lost or deleted, etcd refuses it, …); it does
/// not return otherwise. In order: reads and checks the configuration (a bad one is refused
/// before anything is programmed), makes or reuses `flannel.VNI`, leases a subnet (the one
/// with this host's address if there is one, else the previous one from `subnet.env` if still
/// free, else a random free one; written with a create-if-absent transaction; on a lost race
/// the etcd lease is revoked and it tries again), puts the subnet's address on the device,
/// writes `subnet.env`, renews the lease every third of its TTL, lists the other leases and
/// programs them, then watches from the listing's revision + 1, reconnecting from the last
/// revision seen when the stream ends, and listing again (applying the difference) when that
/// revision was compacted.
pub fn run_agent(opts: &AgentOptions) -> Result<()> {
    let t0 = Instant::now();
    let ns = NetNs::open(&opts.netns)?;
    let client =
        EtcdClient::new(&ns, opts.etcd)?.timeout(Duration::from_secs(5) * crate::timing_slack());
    let h = Handle::new_in(&ns)?;
    say!(
        t0,
        "agent for {} ({}), etcd {}",
        opts.netns,
        opts.public_ip,
        opts.etcd
    );

    // The configuration, retried while etcd is not there yet (flannel waits for it too).
    let config_key = format!("{}/config", opts.prefix);
    let text = loop {
        match client.get(config_key.as_bytes()) {
            Ok(Some(kv)) => break String::from_utf8_lossy(&kv.value).into_owned(),
            Ok(None) => {
                return Err(BadConfig(format!("no network configuration at {config_key}")).into())
            }
            Err(e) if t0.elapsed() < Duration::from_secs(30) * crate::timing_slack() => {
                say!(t0, "etcd not answering yet: {e}");
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => return Err(e),
        }
    };
    let cfg = Config::parse(&text).map_err(|e| BadConfig(e.to_string()))?;
    let dev = cfg.device();
    say!(
        t0,
        "config: network {} subnets /{} from {} to {}, vxlan vni {} port {}",
        cfg.network,
        cfg.subnet_len,
        cfg.subnet_min,
        cfg.subnet_max,
        cfg.vni,
        cfg.port
    );

    let (vtep_mac, mtu) = ensure_vxlan(&h, &cfg, opts)?;
    let attrs = LeaseAttrs {
        public_ip: opts.public_ip,
        backend_type: "vxlan".into(),
        vni: cfg.vni,
        vtep_mac,
    };
    let previous = SubnetEnv::read(&opts.subnet_file)
        .ok()
        .and_then(|env| Ipv4Network::new(env.subnet.network(), env.subnet.prefix()).ok());
    let (subnet, lease_id, how) = acquire(&client, &cfg, opts, &attrs, previous)?;
    say!(
        t0,
        "lease {subnet} acquired ({how}), etcd lease {lease_id:x}, ttl {} s",
        opts.ttl
    );

    // The subnet's network address on the device, alone, as flannel sets it.
    let own = IpNetwork::V4(Ipv4Network::new(subnet.network(), 32)?);
    for a in h.addresses(&AddressFilter {
        family: Some(IpFamily::V4),
        ..AddressFilter::link(dev.as_str())
    })? {
        if a.address != own {
            h.delete_address(dev.as_str(), a.address)?;
        }
    }
    match h.add_address(dev.as_str(), &NewAddress::new(own.ip(), 32)?) {
        Err(e) if e.is_exists() => {}
        r => r?,
    }
    h.set_link_up(dev.as_str())?;
    let env = SubnetEnv {
        network: cfg.network,
        subnet: Ipv4Network::new(
            Ipv4Addr::from(u32::from(subnet.network()) + 1),
            subnet.prefix(),
        )?,
        mtu,
        ipmasq: false,
    };
    env.write(&opts.subnet_file)?;
    say!(t0, "wrote {}", opts.subnet_file.display());

    let (tx, rx) = mpsc::channel();
    spawn_renewer(client.try_clone()?, lease_id, opts.ttl, tx.clone(), t0)?;

    let mut agent = Agent {
        t0,
        h,
        dev,
        prefix: opts.prefix.clone(),
        mine: subnet,
        vni: cfg.vni,
        known: BTreeMap::new(),
        revision: 0,
    };
    agent.relist(&client)?;
    let mut generation = 0u64;
    spawn_watch(
        &client,
        &agent.prefix,
        agent.revision + 1,
        generation,
        tx.clone(),
    )?;
    agent.run(&client, &rx, &tx, &mut generation)
}

struct Agent {
    t0: Instant,
    h: Handle,
    dev: String,
    prefix: String,
    mine: Ipv4Network,
    vni: u32,
    /// The remote leases programmed, by subnet.
    known: BTreeMap<Ipv4Network, LeaseAttrs>,
    /// The last revision applied.
    revision: i64,
}

impl Agent {
    fn subnets_prefix(&self) -> Vec<u8> {
        format!("{}/subnets/", self.prefix).into_bytes()
    }

    /// Lists the leases and applies the difference with what is programmed.
    fn relist(&mut self, client: &EtcdClient) -> Result<()> {
        let p = self.subnets_prefix();
        let (revision, kvs) = client.range(&p, Some(&prefix_end(&p)))?;
        let mut seen = BTreeSet::new();
        for kv in &kvs {
            if let Some(net) = parse_subnet_key(&self.prefix, &kv.key) {
                seen.insert(net);
                self.put(net, kv)?;
            }
        }
        if !seen.contains(&self.mine) {
            return Err(format!("my lease {} is not in etcd any more; stopping", self.mine).into());
        }
        let gone: Vec<Ipv4Network> = self
            .known
            .keys()
            .filter(|n| !seen.contains(n))
            .copied()
            .collect();
        for net in gone {
            self.delete(net)?;
        }
        self.revision = revision;
        say!(
            self.t0,
            "listed {} leases at revision {revision}; {} remote programmed",
            kvs.len(),
            self.known.len()
        );
        Ok(())
    }

    fn put(&mut self, net: Ipv4Network, kv: &KeyValue) -> Result<()> {
        let attrs = match LeaseAttrs::parse(&kv.value) {
            Ok(a) => a,
            Err(e) => {
                say!(self.t0, "lease {net}: ignored ({e})");
                return Ok(());
            }
        };
        if net == self.mine {
            return Ok(());
        }
        if attrs.backend_type != "vxlan" || attrs.vni != self.vni {
            say!(
                self.t0,
                "lease {net}: ignored (backend {} vni {})",
                attrs.backend_type,
                attrs.vni
            );
            return Ok(());
        }
        if self.known.get(&net) == Some(&attrs) {
            return Ok(()); // seen before (a renewal)
        }
        if self.known.contains_key(&net) {
            self.delete(net)?;
        }
        let lease = VtepLease {
            subnet: net,
            public_ip: attrs.public_ip,
            vtep_mac: attrs.vtep_mac,
        };
        match program_lease(&self.h, &self.dev, &lease, Write::Replace) {
            Ok(_) => {
                say!(
                    self.t0,
                    "added {net} via {} ({})",
                    attrs.public_ip,
                    attrs.vtep_mac
                );
                self.known.insert(net, attrs);
            }
            Err(e) => say!(self.t0, "lease {net}: programming failed: {e}"),
        }
        Ok(())
    }

    fn delete(&mut self, net: Ipv4Network) -> Result<()> {
        if net == self.mine {
            return Err(format!(
                "my lease {} was deleted (expired or removed); stopping",
                subnet_key(&self.prefix, net)
            )
            .into());
        }
        if let Some(attrs) = self.known.remove(&net) {
            let lease = VtepLease {
                subnet: net,
                public_ip: attrs.public_ip,
                vtep_mac: attrs.vtep_mac,
            };
            let n = remove_lease(&self.h, &self.dev, &lease)?;
            say!(self.t0, "removed {net} ({n} entries)");
        }
        Ok(())
    }

    fn run(
        &mut self,
        client: &EtcdClient,
        rx: &Receiver<Msg>,
        tx: &Sender<Msg>,
        generation: &mut u64,
    ) -> Result<()> {
        // When to start the next watch after one ended.
        let mut rewatch: Option<Instant> = None;
        let mut down_since: Option<Instant> = None;
        loop {
            if let Some(at) = rewatch {
                if Instant::now() >= at {
                    rewatch = None;
                    *generation += 1;
                    let start = self.revision + 1;
                    if let Err(e) =
                        spawn_watch(client, &self.prefix, start, *generation, tx.clone())
                    {
                        say!(self.t0, "watch: {e}");
                        rewatch = Some(Instant::now() + Duration::from_millis(250));
                    }
                }
            }
            let msg = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Err("agent threads stopped".into()),
            };
            match msg {
                Msg::LeaseLost => {
                    return Err(format!(
                        "my lease {} expired (etcd no longer knows it); stopping",
                        self.mine
                    )
                    .into())
                }
                Msg::WatchEnded(g, why) if g == *generation => {
                    if down_since.is_none() {
                        say!(
                            self.t0,
                            "watch ended ({why}); resuming from revision {}",
                            self.revision + 1
                        );
                        down_since = Some(Instant::now());
                    }
                    rewatch = Some(Instant::now() + Duration::from_millis(200));
                }
                Msg::Watch(g, m) if g == *generation => match m {
                    WatchMessage::Created => {
                        if let Some(t) = down_since.take() {
                            say!(
                                self.t0,
                                "watch resumed from revision {} after {:.2} s",
                                self.revision + 1,
                                t.elapsed().as_secs_f64()
                            );
                        }
                    }
                    WatchMessage::Events { events, .. } => {
                        for e in events {
                            let (kv, put) = match &e {
                                WatchEvent::Put(kv) => (kv, true),
                                WatchEvent::Delete(kv) => (kv, false),
                            };
                            self.revision = self.revision.max(kv.mod_revision);
                            let Some(net) = parse_subnet_key(&self.prefix, &kv.key) else {
                                continue;
                            };
                            if put {
                                self.put(net, kv)?;
                            } else {
                                self.delete(net)?;
                            }
                        }
                    }
                    WatchMessage::Compacted { compact_revision } => {
                        say!(
                            self.t0,
                            "revision {} was compacted (now from {compact_revision}): listing again",
                            self.revision + 1
                        );
                        self.relist(client)?;
                        *generation += 1;
                        rewatch = Some(Instant::now());
                    }
                    WatchMessage::Canceled(why) => {
                        say!(self.t0, "watch canceled ({why})");
                        *generation += 1;
                        rewatch = Some(Instant::now() + Duration::from_millis(200));
                    }
                },
                _ => {} // a message of an earlier watch
            }
        }
    }
}

/// Makes `flannel.VNI` (local = the public address on `iface`, the config's port, learning
/// off, MTU 50 below the underlay's), or reuses one that matches; returns its MAC and MTU.
fn ensure_vxlan(h: &Handle, cfg: &Config, opts: &AgentOptions) -> Result<(MacAddr, u32)> {
    let dev = cfg.device();
    let underlay = h
        .link(opts.iface.as_str())
        .map_err(|e| format!("underlay interface {}: {e}", opts.iface))?;
    let mtu = underlay.mtu.saturating_sub(50);
    let vni = Vni::new(cfg.vni)?;
    if let Ok(link) = h.link(dev.as_str()) {
        let fits = matches!(&link.kind, Some(LinkKind::Vxlan(v))
            if v.vni == Some(vni)
                && v.local == Some(IpAddr::V4(opts.public_ip))
                && v.port == Some(cfg.port));
        if fits {
            return Ok((link.mac.ok_or("flannel device has no MAC")?, mtu));
        }
        // flannel replaces a device that does not match the configuration.
        h.delete_link(dev.as_str())?;
    }
    h.add_vxlan(&NewVxlan {
        local: Some(IpAddr::V4(opts.public_ip)),
        underlay: Some(opts.iface.as_str().into()),
        port: Some(cfg.port),
        learning: Some(false),
        mtu: Some(mtu),
        ..NewVxlan::new(&dev, vni)
    })?;
    let mac = h
        .link(dev.as_str())?
        .mac
        .ok_or("flannel device has no MAC")?;
    Ok((mac, mtu))
}

/// A small random number source (no cryptography needed: it spreads the hosts' first picks).
fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    t ^ (u64::from(std::process::id()) << 32) | 1
}

fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Leases a subnet; says which and how (reused, previous, new).
fn acquire(
    client: &EtcdClient,
    cfg: &Config,
    opts: &AgentOptions,
    attrs: &LeaseAttrs,
    previous: Option<Ipv4Network>,
) -> Result<(Ipv4Network, i64, &'static str)> {
    let prefix = format!("{}/subnets/", opts.prefix);
    let value = attrs.to_json();
    let mut rng = random_seed();
    let all: Vec<Ipv4Network> = cfg.subnets().collect();
    for _ in 0..10 {
        let (_, kvs) = client.range(prefix.as_bytes(), Some(&prefix_end(prefix.as_bytes())))?;
        let mut taken = BTreeSet::new();
        for kv in &kvs {
            let Some(net) = parse_subnet_key(&opts.prefix, &kv.key) else {
                continue;
            };
            taken.insert(net);
            let same_host =
                LeaseAttrs::parse(&kv.value).is_ok_and(|a| a.public_ip == opts.public_ip);
            if same_host && all.contains(&net) {
                // Mine from before (a restart within the TTL): renew it under a new lease.
                let id = client.grant(opts.ttl)?;
                client.put(
                    subnet_key(&opts.prefix, net).as_bytes(),
                    value.as_bytes(),
                    id,
                )?;
                return Ok((net, id, "reused: it has my address"));
            }
        }
        let free: Vec<Ipv4Network> = all.iter().filter(|n| !taken.contains(n)).copied().collect();
        let (pick, how) = match previous.filter(|p| free.contains(p)) {
            Some(p) => (p, "my previous subnet"),
            None if free.is_empty() => {
                return Err(format!(
                    "no subnet left: all {} subnets /{} of {} from {} to {} are leased",
                    all.len(),
                    cfg.subnet_len,
                    cfg.network,
                    cfg.subnet_min,
                    cfg.subnet_max
                )
                .into())
            }
            None => (
                free[(next_random(&mut rng) % free.len() as u64) as usize],
                "new",
            ),
        };
        let id = client.grant(opts.ttl)?;
        if client.create(
            subnet_key(&opts.prefix, pick).as_bytes(),
            value.as_bytes(),
            id,
        )? {
            return Ok((pick, id, how));
        }
        // Another host took it between the listing and the transaction.
        client.revoke(id)?;
        println!("lost the race for {pick}; trying again");
    }
    Err("could not lease a subnet: 10 tries in a row lost a race".into())
}

/// Renews the lease every third of its TTL; tells the main loop when etcd no longer knows it.
/// While etcd does not answer it keeps trying (the lease cannot expire while etcd is down).
fn spawn_renewer(
    client: EtcdClient,
    lease: i64,
    ttl: u64,
    tx: Sender<Msg>,
    t0: Instant,
) -> Result<()> {
    let period = Duration::from_millis((ttl * 1000 / 3).max(500));
    let client = client.timeout(Duration::from_secs(2) * crate::timing_slack());
    std::thread::Builder::new()
        .name("renew".into())
        .spawn(move || {
            let mut failing = false;
            loop {
                match client.keepalive(lease) {
                    Ok(Some(_)) => {
                        if failing {
                            say!(t0, "lease renewed again");
                            failing = false;
                        }
                        std::thread::sleep(period);
                    }
                    Ok(None) => {
                        let _ = tx.send(Msg::LeaseLost);
                        return;
                    }
                    Err(e) => {
                        if !failing {
                            say!(t0, "renew failed ({e}); retrying");
                            failing = true;
                        }
                        std::thread::sleep(Duration::from_millis(250));
                    }
                }
            }
        })?;
    Ok(())
}

/// Starts a watch of the leases from `start` on a thread of its own, which forwards its
/// messages (tagged with `generation`) until the stream ends.
fn spawn_watch(
    client: &EtcdClient,
    prefix: &str,
    start: i64,
    generation: u64,
    tx: Sender<Msg>,
) -> Result<()> {
    let client = client.try_clone()?;
    let key = format!("{prefix}/subnets/").into_bytes();
    std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || {
            let mut stream = match client.watch(&key, &prefix_end(&key), start, None) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Msg::WatchEnded(generation, e.to_string()));
                    return;
                }
            };
            loop {
                let why = match stream.next_message() {
                    Ok(Some(m)) => {
                        let end = matches!(
                            m,
                            WatchMessage::Compacted { .. } | WatchMessage::Canceled(_)
                        );
                        if tx.send(Msg::Watch(generation, m)).is_err() || end {
                            return;
                        }
                        continue;
                    }
                    Ok(None) => "etcd closed the stream".to_string(),
                    Err(e) => e.to_string(),
                };
                let _ = tx.send(Msg::WatchEnded(generation, why));
                return;
            }
        })?;
    Ok(())
}
