//! A `host-local`-compatible IPAM: the reference's configuration (`ranges`, the older flat
//! `subnet`/`rangeStart`/`rangeEnd`/`gateway`, `routes`, `dataDir`, `resolvConf`), its
//! allocation order (round robin from `last_reserved_ip.N`, gateways skipped) and its on-disk
//! store, byte for byte, so that the two can share a store and be swapped:
//!
//! - `DATADIR/NETWORK/` (`/var/lib/cni/networks` by default), mode 0755;
//! - one file per address, named by the address, mode 0644, holding `ID\r\nIFNAME`;
//! - `last_reserved_ip.N` (N the range set's index), holding the last address handed out;
//! - `lock`, held with `flock(LOCK_EX)` around every change.
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ipnetwork::IpNetwork;
use serde_json::{Map, Value};

use crate::ctx::{Command, Ctx};
use crate::spec::{code, parse_cidr, CniError, CniResult, IpConfig, Result100, Route};

/// The name this IPAM answers to in-process (`ipam.type`); installed as `host-local` it also
/// answers to that.
pub const NAME: &str = "netplumb-host-local";
const DEFAULT_DATA_DIR: &str = "/var/lib/cni/networks";
const LAST_IP_PREFIX: &str = "last_reserved_ip.";

/// One range of a range set.
#[derive(Clone, Debug)]
struct Range {
    subnet: IpNetwork,
    start: IpAddr,
    end: IpAddr,
    gateway: IpAddr,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(v: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(v))
    } else {
        IpAddr::V4(Ipv4Addr::from(v as u32))
    }
}

fn next_ip(ip: IpAddr) -> IpAddr {
    from_u128(to_u128(ip).wrapping_add(1), ip.is_ipv6())
}

impl Range {
    fn parse(v: &Value, at: &str) -> CniResult<Range> {
        let bad = |why: String| CniError::config(format!("{at}: {why}"));
        let get_ip = |k: &str| -> CniResult<Option<IpAddr>> {
            match v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => s
                    .parse()
                    .map(Some)
                    .map_err(|_| bad(format!("{k} {s:?} is not an IP address"))),
            }
        };
        let subnet_s = v
            .get("subnet")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("subnet missing".into()))?;
        let subnet = parse_cidr(subnet_s)
            .ok_or_else(|| bad(format!("subnet {subnet_s:?} is not ADDRESS/LEN")))?;
        let bits = if subnet.is_ipv4() { 32 } else { 128 };
        if subnet.prefix() > bits - 2 {
            return Err(bad(format!(
                "Network {subnet_s} too small to allocate from"
            )));
        }
        if subnet.ip() != subnet.network() {
            return Err(bad(format!(
                "Network has host bits set. For a subnet mask of length {} the network address is {}",
                subnet.prefix(),
                subnet.network()
            )));
        }
        let contains = |ip: IpAddr| subnet.contains(ip) && ip.is_ipv4() == subnet.is_ipv4();
        let gateway = get_ip("gateway")?.unwrap_or_else(|| next_ip(subnet.network()));
        let start = match get_ip("rangeStart")? {
            Some(s) if !contains(s) => {
                return Err(bad(format!("RangeStart {s} not in network {subnet_s}")))
            }
            Some(s) => s,
            None => next_ip(subnet.network()),
        };
        let end = match get_ip("rangeEnd")? {
            Some(e) if !contains(e) => {
                return Err(bad(format!("RangeEnd {e} not in network {subnet_s}")))
            }
            Some(e) => e,
            None => {
                let last = to_u128(subnet.broadcast());
                from_u128(
                    if subnet.is_ipv4() { last - 1 } else { last },
                    subnet.is_ipv6(),
                )
            }
        };
        Ok(Range {
            subnet,
            start,
            end,
            gateway,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.subnet.is_ipv4()
            && self.subnet.contains(ip)
            && to_u128(ip) >= to_u128(self.start)
            && to_u128(ip) <= to_u128(self.end)
    }

    fn overlaps(&self, o: &Range) -> bool {
        self.subnet.is_ipv4() == o.subnet.is_ipv4()
            && (self.contains(o.start)
                || self.contains(o.end)
                || o.contains(self.start)
                || o.contains(self.end))
    }
}

type RangeSet = Vec<Range>;

fn set_contains(set: &RangeSet, ip: IpAddr) -> Option<&Range> {
    set.iter().find(|r| r.contains(ip))
}

fn set_string(set: &RangeSet) -> String {
    set.iter()
        .map(|r| format!("{}-{}", r.start, r.end))
        .collect::<Vec<_>>()
        .join(",")
}

/// The IPAM configuration, as the reference reads it.
struct Config {
    network: String,
    data_dir: PathBuf,
    ranges: Vec<RangeSet>,
    routes: Vec<Route>,
    resolv_conf: Option<String>,
    requested: Vec<IpAddr>,
}

fn parse_requested(s: &str) -> Option<IpAddr> {
    s.parse().ok().or_else(|| parse_cidr(s).map(|n| n.ip()))
}

impl Config {
    fn load(ctx: &Ctx) -> CniResult<Config> {
        let ipam = ctx
            .common
            .ipam
            .as_ref()
            .ok_or_else(|| CniError::config("IPAM config missing 'ipam' key"))?;
        let ipam_v = Value::Object(ipam.clone());
        let mut requested = Vec::new();
        if let Some(ip) = ctx.arg("IP") {
            for item in ip.split(',').filter(|s| !s.is_empty()) {
                requested.push(parse_requested(item).ok_or_else(|| {
                    CniError::config(format!("CNI_ARGS IP={item:?} is not an IP address"))
                })?);
            }
        }
        let list_ips = |v: Option<&Value>, what: &str| -> CniResult<Vec<IpAddr>> {
            let mut out = Vec::new();
            if let Some(Value::Array(a)) = v {
                for x in a {
                    let s = x.as_str().unwrap_or("");
                    out.push(parse_requested(s).ok_or_else(|| {
                        CniError::config(format!("{what}: {x} is not an IP address"))
                    })?);
                }
            }
            Ok(out)
        };
        let args_ips = ctx
            .common
            .args
            .as_ref()
            .and_then(|a| a.get("cni"))
            .and_then(|c| c.get("ips"));
        requested.extend(list_ips(args_ips, "args.cni.ips")?);
        let rc = ctx.common.runtime_config.as_ref();
        requested.extend(list_ips(
            rc.and_then(|r| r.get("ips")),
            "runtimeConfig.ips",
        )?);

        let mut ranges: Vec<RangeSet> = Vec::new();
        let parse_sets = |v: Option<&Value>, at: &str| -> CniResult<Vec<RangeSet>> {
            let mut sets = Vec::new();
            if let Some(v) = v.filter(|v| !v.is_null()) {
                let a = v
                    .as_array()
                    .ok_or_else(|| CniError::config(format!("{at} is not a list")))?;
                for (i, set) in a.iter().enumerate() {
                    let set = set.as_array().ok_or_else(|| {
                        CniError::config(format!("{at}[{i}] is not a list of ranges"))
                    })?;
                    if set.is_empty() {
                        return Err(CniError::config(format!("{at}[{i}] is empty")));
                    }
                    sets.push(
                        set.iter()
                            .enumerate()
                            .map(|(j, r)| Range::parse(r, &format!("{at}[{i}][{j}]")))
                            .collect::<CniResult<Vec<_>>>()?,
                    );
                }
            }
            Ok(sets)
        };
        ranges.extend(parse_sets(
            rc.and_then(|r| r.get("ipRanges")),
            "runtimeConfig.ipRanges",
        )?);
        if ipam_v.get("subnet").and_then(Value::as_str).is_some() {
            ranges.push(vec![Range::parse(&ipam_v, "ipam")?]);
        }
        ranges.extend(parse_sets(ipam_v.get("ranges"), "ipam.ranges")?);
        if ranges.is_empty() {
            return Err(CniError::config("no IP ranges specified"));
        }
        for (i, set) in ranges.iter().enumerate() {
            let v4 = set[0].subnet.is_ipv4();
            if set.iter().any(|r| r.subnet.is_ipv4() != v4) {
                return Err(CniError::config(format!(
                    "invalid range set {i}: mixed address families"
                )));
            }
            for (j, a) in set.iter().enumerate() {
                for b in &set[j + 1..] {
                    if a.overlaps(b) {
                        return Err(CniError::config(format!(
                            "invalid range set {i}: subnets {} and {} overlap",
                            a.subnet, b.subnet
                        )));
                    }
                }
            }
        }
        for i in 0..ranges.len() {
            for j in i + 1..ranges.len() {
                if ranges[i]
                    .iter()
                    .any(|a| ranges[j].iter().any(|b| a.overlaps(b)))
                {
                    return Err(CniError::config(format!("range set {i} overlaps with {j}")));
                }
            }
        }
        let mut routes = Vec::new();
        if let Some(Value::Array(rs)) = ipam_v.get("routes") {
            for r in rs {
                let dst = r.get("dst").and_then(Value::as_str).unwrap_or("");
                let dst = parse_cidr(dst)
                    .ok_or_else(|| CniError::config(format!("ipam.routes: bad dst {dst:?}")))?;
                let gw = match r
                    .get("gw")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    None => None,
                    Some(g) => Some(
                        g.parse()
                            .map_err(|_| CniError::config(format!("ipam.routes: bad gw {g:?}")))?,
                    ),
                };
                let mut extra = r.as_object().cloned().unwrap_or_default();
                extra.remove("dst");
                extra.remove("gw");
                routes.push(Route { dst, gw, extra });
            }
        }
        let data_dir = ipam_v
            .get("dataDir")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_DATA_DIR);
        if ctx.common.name.is_empty() || ctx.common.name.contains('/') {
            return Err(CniError::config(format!(
                "network name {:?} cannot name a store directory",
                ctx.common.name
            )));
        }
        Ok(Config {
            network: ctx.common.name.clone(),
            data_dir: PathBuf::from(data_dir),
            ranges,
            routes,
            resolv_conf: ipam_v
                .get("resolvConf")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            requested,
        })
    }
}

/// The on-disk store, locked while it lives.
struct Store {
    dir: PathBuf,
    _lock: File,
}

fn io_err(what: String, e: std::io::Error) -> CniError {
    CniError::new(code::IO_FAILURE, what, e.to_string())
}

impl Store {
    fn open(data_dir: &Path, network: &str) -> CniResult<Store> {
        let dir = data_dir.join(network);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(|e| io_err(format!("cannot make {}", dir.display()), e))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .mode(0o666)
            .open(&lock_path)
            .map_err(|e| io_err(format!("cannot open {}", lock_path.display()), e))?;
        flock(&lock).map_err(|e| io_err(format!("cannot lock {}", lock_path.display()), e))?;
        Ok(Store { dir, _lock: lock })
    }

    fn reserve(&self, id: &str, ifname: &str, ip: IpAddr, range_id: usize) -> CniResult<bool> {
        let path = self.dir.join(ip.to_string());
        let mut f = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(io_err(format!("cannot create {}", path.display()), e)),
        };
        if let Err(e) = f.write_all(format!("{}\r\n{ifname}", id.trim()).as_bytes()) {
            let _ = fs::remove_file(&path);
            return Err(io_err(format!("cannot write {}", path.display()), e));
        }
        let last = self.dir.join(format!("{LAST_IP_PREFIX}{range_id}"));
        write_mode(&last, ip.to_string().as_bytes())
            .map_err(|e| io_err(format!("cannot write {}", last.display()), e))?;
        Ok(true)
    }

    fn last_reserved(&self, range_id: usize) -> Option<IpAddr> {
        fs::read_to_string(self.dir.join(format!("{LAST_IP_PREFIX}{range_id}")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Files of addresses (name, content trimmed).
    fn entries(&self) -> Vec<(PathBuf, IpAddr, String)> {
        let mut out = Vec::new();
        if let Ok(rd) = fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let name = e.file_name();
                let Some(ip) = name.to_str().and_then(|n| n.parse::<IpAddr>().ok()) else {
                    continue;
                };
                if let Ok(data) = fs::read_to_string(e.path()) {
                    out.push((e.path(), ip, data.trim().to_string()));
                }
            }
        }
        out
    }

    fn by_id(&self, id: &str, ifname: &str) -> Vec<(PathBuf, IpAddr)> {
        let m = format!("{}\r\n{ifname}", id.trim());
        let old = id.trim();
        let all = self.entries();
        let exact: Vec<_> = all
            .iter()
            .filter(|(_, _, d)| *d == m)
            .map(|(p, ip, _)| (p.clone(), *ip))
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        // Files of old versions hold the id alone.
        all.into_iter()
            .filter(|(_, _, d)| d == old)
            .map(|(p, ip, _)| (p, ip))
            .collect()
    }

    fn release_by_id(&self, id: &str, ifname: &str) -> CniResult<()> {
        for (p, _) in self.by_id(id, ifname) {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(format!("cannot remove {}", p.display()), e)),
            }
        }
        Ok(())
    }
}

impl Store {
    /// Removes the reservations of attachments not in `valid` (GC).
    fn gc(&self, valid: &[(String, String)]) -> CniResult<()> {
        for (path, _, data) in self.entries() {
            let keep = match data.split_once("\r\n") {
                Some((id, ifname)) => valid.iter().any(|(v, i)| v == id && i == ifname),
                // A file of an old version holds the id alone.
                None => valid.iter().any(|(v, _)| *v == data),
            };
            if !keep {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(format!("cannot remove {}", path.display()), e)),
                }
            }
        }
        Ok(())
    }
}

/// Whether a range set has an address that is neither reserved nor a gateway.
fn has_free(dir: &Path, set: &RangeSet) -> bool {
    let mut budget: u32 = 1 << 24;
    for r in set {
        let (start, end) = (to_u128(r.start), to_u128(r.end));
        let mut a = start;
        while a <= end && budget > 0 {
            budget -= 1;
            let ip = from_u128(a, r.subnet.is_ipv6());
            if ip != r.gateway && !dir.join(ip.to_string()).exists() {
                return true;
            }
            a += 1;
        }
    }
    // Past the budget (a huge IPv6 range), free addresses are assumed.
    budget == 0
}

fn write_mode(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)?;
    f.write_all(data)
}

#[allow(unsafe_code)]
fn flock(f: &File) -> std::io::Result<()> {
    loop {
        // SAFETY: flock takes a descriptor and an operation; `f` owns the descriptor and
        // outlives the call. No memory is passed.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The reference's iterator over a range set, round robin from the last reserved address.
fn allocate<'a>(
    store: &Store,
    set: &'a RangeSet,
    range_id: usize,
    id: &str,
    ifname: &str,
) -> CniResult<Option<(IpAddr, &'a Range)>> {
    let last = store
        .last_reserved(range_id)
        .filter(|ip| set_contains(set, *ip).is_some());
    let (mut idx, mut cur) = match last {
        Some(ip) => (
            set.iter().position(|r| r.contains(ip)).unwrap_or(0),
            Some(ip),
        ),
        None => (0, None),
    };
    let mut start: Option<IpAddr> = None;
    let mut guard: u128 = 0;
    loop {
        guard += 1;
        if guard > (1u128 << 24) {
            return Ok(None);
        }
        let r = &set[idx];
        let candidate = match cur {
            None => {
                cur = Some(r.start);
                start = Some(r.start);
                r.start
            }
            Some(c) => {
                let next = if c == r.end {
                    idx = (idx + 1) % set.len();
                    set[idx].start
                } else {
                    next_ip(c)
                };
                cur = Some(next);
                match start {
                    None => start = Some(next),
                    Some(s) if s == next => return Ok(None),
                    Some(_) => {}
                }
                next
            }
        };
        let r = &set[idx];
        if candidate == r.gateway {
            continue;
        }
        if store.reserve(id, ifname, candidate, range_id)? {
            return Ok(Some((candidate, r)));
        }
    }
}

fn parse_resolv_conf(path: &str) -> CniResult<Map<String, Value>> {
    let text = fs::read_to_string(path)
        .map_err(|e| io_err(format!("cannot read resolvConf {path}"), e))?;
    let mut ns = Vec::new();
    let mut search = Vec::new();
    let mut options = Vec::new();
    let mut domain = String::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("nameserver") => ns.extend(w.map(|s| Value::String(s.into()))),
            Some("domain") => domain = w.next().unwrap_or("").to_string(),
            Some("search") => search.extend(w.map(|s| Value::String(s.into()))),
            Some("options") => options.extend(w.map(|s| Value::String(s.into()))),
            _ => {}
        }
    }
    let mut m = Map::new();
    if !ns.is_empty() {
        m.insert("nameservers".into(), Value::Array(ns));
    }
    if !domain.is_empty() {
        m.insert("domain".into(), Value::String(domain));
    }
    if !search.is_empty() {
        m.insert("search".into(), Value::Array(search));
    }
    if !options.is_empty() {
        m.insert("options".into(), Value::Array(options));
    }
    Ok(m)
}

fn add(ctx: &Ctx) -> CniResult<Result100> {
    let conf = Config::load(ctx)?;
    let mut result = Result100::default();
    if let Some(rc) = &conf.resolv_conf {
        result.dns = parse_resolv_conf(rc)?;
    }
    let store = Store::open(&conf.data_dir, &conf.network)?;
    let mut requested = conf.requested.clone();
    let id = ctx.container_id.as_str();
    let ifname = ctx.ifname.as_str();
    let mut done: Vec<IpAddr> = Vec::new();
    let undo = |done: &[IpAddr]| {
        for ip in done {
            let _ = fs::remove_file(store.dir.join(ip.to_string()));
        }
    };
    for (idx, set) in conf.ranges.iter().enumerate() {
        let want = requested
            .iter()
            .position(|ip| set_contains(set, *ip).is_some())
            .map(|i| requested.remove(i));
        let got = match want {
            Some(ip) => {
                let r = set_contains(set, ip)
                    .ok_or_else(|| CniError::config(format!("{ip} is in no range of set {idx}")))?;
                if ip == r.gateway {
                    undo(&done);
                    return Err(CniError::config(format!(
                        "failed to allocate for range {idx}: requested ip {ip} is subnet's gateway"
                    )));
                }
                if !store.reserve(id, ifname, ip, idx)? {
                    undo(&done);
                    return Err(CniError::new(
                        code::INVALID_CONFIG,
                        format!("failed to allocate for range {idx}"),
                        format!(
                            "requested IP address {ip} is not available in range set {}",
                            set_string(set)
                        ),
                    ));
                }
                (ip, r)
            }
            None => {
                let held = store.by_id(id, ifname);
                if let Some((_, ip)) = held.iter().find(|(_, ip)| set_contains(set, *ip).is_some())
                {
                    undo(&done);
                    return Err(CniError::new(
                        code::INVALID_CONFIG,
                        format!("failed to allocate for range {idx}"),
                        format!(
                            "{ip} has been allocated to {id}, duplicate allocation is not allowed"
                        ),
                    ));
                }
                match allocate(&store, set, idx, id, ifname) {
                    Ok(Some(x)) => x,
                    Ok(None) => {
                        undo(&done);
                        return Err(CniError::new(
                            code::TRY_AGAIN,
                            format!("failed to allocate for range {idx}"),
                            format!(
                                "no IP addresses available in range set: {}",
                                set_string(set)
                            ),
                        ));
                    }
                    Err(e) => {
                        undo(&done);
                        return Err(e);
                    }
                }
            }
        };
        done.push(got.0);
        result.ips.push(IpConfig {
            interface: None,
            address: IpNetwork::new(got.0, got.1.subnet.prefix())
                .map_err(|e| CniError::config(e.to_string()))?,
            gateway: Some(got.1.gateway),
        });
    }
    if !requested.is_empty() {
        undo(&done);
        return Err(CniError::config(format!(
            "failed to allocate all requested IPs: {}",
            requested
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    result.routes = conf.routes;
    Ok(result)
}

/// Runs this IPAM for `command`: a result for ADD.
pub fn run(ctx: &Ctx, command: Command) -> CniResult<Option<Result100>> {
    match command {
        Command::Add => add(ctx).map(Some),
        Command::Del => {
            let conf = Config::load(ctx)?;
            if !conf.data_dir.join(&conf.network).is_dir() {
                // Nothing was ever reserved: nothing to release, and nothing is created.
                return Ok(None);
            }
            let store = Store::open(&conf.data_dir, &conf.network)?;
            store.release_by_id(&ctx.container_id, &ctx.ifname)?;
            Ok(None)
        }
        Command::Check => {
            let conf = Config::load(ctx)?;
            let store = Store::open(&conf.data_dir, &conf.network)?;
            if store.by_id(&ctx.container_id, &ctx.ifname).is_empty() {
                return Err(CniError::drift(format!(
                    "host-local: Failed to find address added by container {}",
                    ctx.container_id
                )));
            }
            Ok(None)
        }
        Command::Status => {
            // Ready unless a range set has no free address left (code 50).
            let conf = Config::load(ctx)?;
            let dir = conf.data_dir.join(&conf.network);
            for (idx, set) in conf.ranges.iter().enumerate() {
                if !has_free(&dir, set) {
                    return Err(CniError::new(
                        code::NOT_AVAILABLE,
                        format!("no free address in range set {idx}"),
                        format!(
                            "no IP addresses available in range set: {}",
                            set_string(set)
                        ),
                    ));
                }
            }
            Ok(None)
        }
        Command::Gc => {
            let conf = Config::load(ctx)?;
            if !conf.data_dir.join(&conf.network).is_dir() {
                return Ok(None);
            }
            let store = Store::open(&conf.data_dir, &conf.network)?;
            store.gc(&ctx.valid_attachments())?;
            Ok(None)
        }
        Command::Version => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> Range {
        Range::parse(&serde_json::json!({ "subnet": s }), "t").unwrap()
    }

    #[test]
    fn range_defaults() {
        let r = range("10.1.0.0/24");
        assert_eq!(r.start.to_string(), "10.1.0.1");
        assert_eq!(r.end.to_string(), "10.1.0.254");
        assert_eq!(r.gateway.to_string(), "10.1.0.1");
        let r6 = range("fd00::/120");
        assert_eq!(r6.end.to_string(), "fd00::ff");
        assert!(Range::parse(&serde_json::json!({"subnet": "10.1.0.1/24"}), "t").is_err());
        assert!(Range::parse(&serde_json::json!({"subnet": "10.1.0.0/31"}), "t").is_err());
    }

    #[test]
    fn store_round_robin() {
        let dir = std::env::temp_dir().join(format!("np-hl-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = Store::open(&dir, "net").unwrap();
        let set = vec![range("10.9.0.0/29")];
        let mut got = Vec::new();
        for i in 0..5 {
            let (ip, _) = allocate(&store, &set, 0, &format!("c{i}"), "eth0")
                .unwrap()
                .unwrap();
            got.push(ip.to_string());
        }
        assert_eq!(
            got,
            ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]
        );
        assert!(allocate(&store, &set, 0, "c9", "eth0").unwrap().is_none());
        assert_eq!(
            fs::read_to_string(dir.join("net/10.9.0.3")).unwrap(),
            "c1\r\neth0"
        );
        assert_eq!(
            fs::read_to_string(dir.join("net/last_reserved_ip.0")).unwrap(),
            "10.9.0.6"
        );
        store.release_by_id("c1", "eth0").unwrap();
        // Round robin: the next address after the last reserved, wrapping to the free one.
        let (ip, _) = allocate(&store, &set, 0, "c10", "eth0").unwrap().unwrap();
        assert_eq!(ip.to_string(), "10.9.0.3");
        let _ = fs::remove_dir_all(&dir);
    }
}
