//! Shared harness of netplumb-cni's root tests: throw-away named namespaces ("host" and
//! "container"), a plugin directory where the reference names point to our binary, plugin
//! runs with the CNI environment, and iproute2's JSON as the oracle, normalized.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The reference plugins (Debian's containernetworking-plugins).
pub const REF_DIR: &str = "/usr/lib/cni";

/// Reports a skipped test (`skipped: TEST: REASON`), to stderr and `NETPLUMB_SKIP_LOG`.
pub fn report_skip(test: &str, reason: &str) {
    let line = match std::env::var("NETPLUMB_TEST_TIER")
        .ok()
        .filter(|t| !t.is_empty())
    {
        Some(tier) => format!("skipped[{tier}]: {test}: {reason}\n"),
        None => format!("skipped: {test}: {reason}\n"),
    };
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Ok(path) = std::env::var("NETPLUMB_SKIP_LOG") {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Why these tests cannot run here, if they cannot.
pub fn unavailable(need_reference: bool) -> Option<String> {
    // SAFETY-free check of root: /proc/self/status's Uid line.
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .unwrap_or_default();
    if uid != "0" {
        return Some("needs root (CAP_NET_ADMIN); run the tests as root".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("iproute2's `ip` is not installed (the tests' oracle)".into());
    }
    // host-local: every test uses it (the kernel-VM tier copies only host-local, ipvlan and vlan).
    if need_reference && !Path::new(REF_DIR).join("host-local").exists() {
        return Some(format!(
            "the reference plugins are not in {REF_DIR} (apt-get install containernetworking-plugins)"
        ));
    }
    None
}

/// Returns early, printing why, when the test cannot run here.
#[macro_export]
macro_rules! require {
    ($reference:expr) => {
        if let Some(reason) = common::unavailable($reference) {
            common::report_skip(std::thread::current().name().unwrap_or("?"), &reason);
            return;
        }
    };
}

/// Our binary (`NETPLUMB_CNI_BIN` when set: the kernel-VM tier copies it elsewhere).
pub fn ours() -> PathBuf {
    std::env::var_os("NETPLUMB_CNI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_netplumb-cni")))
}

/// Why a link kind cannot be made here (the kernel lacks its module), if it cannot: a probe
/// link of that kind is made with `ip link add` in a throw-away namespace.
pub fn kind_missing(kind: &str) -> Option<String> {
    if kind == "tun" {
        // tun/tap devices are made through /dev/net/tun, not `ip link add`.
        return (!Path::new("/dev/net/tun").exists())
            .then(|| "this kernel has no /dev/net/tun (tun/tap)".to_string());
    }
    let ns = Ns::new("probe");
    let mut args = vec!["-n", ns.name.as_str(), "link", "add"];
    match kind {
        // On a veth: loopback takes neither kind.
        "vlan" | "ipvlan" => {
            ns.sh(&[
                "ip", "link", "add", "pv0", "type", "veth", "peer", "name", "pv1",
            ]);
            args.extend(["link", "pv0", "name", "probe0", "type", kind]);
            if kind == "vlan" {
                args.extend(["id", "5"]);
            }
        }
        // A bridge that filters VLANs (CONFIG_BRIDGE_VLAN_FILTERING).
        "bridge_vlan_filtering" => {
            args.extend(["probe0", "type", "bridge", "vlan_filtering", "1"]);
        }
        other => args.extend(["probe0", "type", other]),
    }
    let out = Command::new("ip").args(&args).output().ok()?;
    (!out.status.success()).then(|| {
        format!(
            "this kernel cannot make {kind} links ({}); the kernel-VM tier runs it",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// Returns early, printing why, when the kernel lacks a link kind.
#[macro_export]
macro_rules! require_kind {
    ($kind:expr) => {
        if let Some(reason) = common::kind_missing($kind) {
            common::report_skip(std::thread::current().name().unwrap_or("?"), &reason);
            return;
        }
    };
}

fn run_ok(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A named namespace (`ip netns add`), deleted on drop.
pub struct Ns {
    /// Its name.
    pub name: String,
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Ns {
    /// `npcni-PID-N-TAG`, loopback up.
    pub fn new(tag: &str) -> Ns {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("npc{}-{n}-{tag}", std::process::id());
        run_ok("ip", &["netns", "add", &name]);
        run_ok("ip", &["-n", &name, "link", "set", "lo", "up"]);
        Ns { name }
    }

    /// `bridge -n NAME -j vlan show [dev DEV]`, parsed (`Null` when it prints nothing).
    pub fn bridge_vlans_of(&self, dev: Option<&str>) -> Value {
        let mut args = vec!["-n", self.name.as_str(), "-j", "vlan", "show"];
        if let Some(d) = dev {
            args.extend(["dev", d]);
        }
        let out = Command::new("bridge").args(&args).output().expect("bridge");
        assert!(
            out.status.success(),
            "bridge {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Every port's and bridge's VLANs (`bridge -j vlan show`).
    pub fn bridge_vlans(&self) -> Value {
        self.bridge_vlans_of(None)
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `ip -n NAME -j ARGS`, parsed.
    pub fn ip_json(&self, args: &[&str]) -> Value {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-j"])
            .args(args)
            .output()
            .expect("ip");
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            Value::Array(vec![])
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("ip {args:?}: {e}: {text}"))
        }
    }

    /// Runs a command in the namespace (`ip netns exec`), panicking on failure.
    pub fn sh(&self, args: &[&str]) {
        let mut a = vec!["netns", "exec", &self.name];
        a.extend_from_slice(args);
        run_ok("ip", &a);
    }

    /// Runs a command in the namespace; its stdout, or the error text.
    pub fn try_sh(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Everything the plugins may change: links, addresses, routes (both families), neighbours,
    /// the sysctls they set, and iptables' nat table.
    pub fn state(&self) -> Value {
        let sysctls: Vec<String> = ["net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"]
            .iter()
            .map(|k| {
                let v = self
                    .try_sh(&["cat", &format!("/proc/sys/{k}")])
                    .unwrap_or_default();
                format!("{k}={}", v.trim())
            })
            .collect();
        // Per-interface sysctls the plugins set (arp_notify, accept_dad, accept_ra) or must
        // leave (disable_ipv6, forwarding), as {if, key, value} so that names normalize.
        let script = "for i in /proc/sys/net/ipv4/conf/*; do n=${i##*/}; \
             case $n in all|default|lo) continue;; esac; \
             echo \"$n ipv4.arp_notify $(cat $i/arp_notify)\"; \
             echo \"$n ipv4.forwarding $(cat $i/forwarding)\"; \
             for k in accept_dad accept_ra disable_ipv6 forwarding; do \
               echo \"$n ipv6.$k $(cat /proc/sys/net/ipv6/conf/$n/$k 2>/dev/null)\"; done; done";
        let per_if: Vec<Value> = self
            .try_sh(&["sh", "-c", script])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some(serde_json::json!({"if": w.next()?, "key": w.next()?, "value": w.next().unwrap_or("")}))
            })
            .collect();
        let nat = self
            .try_sh(&["iptables", "-w", "-t", "nat", "-S"])
            .unwrap_or_default();
        serde_json::json!({
            "link": self.ip_json(&["-d", "link"]),
            "bridge_vlan": self.bridge_vlans(),
            "addr": self.ip_json(&["addr"]),
            "route4": self.ip_json(&["route"]),
            "route6": self.ip_json(&["-6", "route"]),
            "neigh": self.ip_json(&["neigh"]),
            "sysctl": sysctls,
            "sysctl_if": per_if,
            "nat": nat.lines().collect::<Vec<_>>(),
        })
    }
}

impl Ns {
    /// [`Ns::state`] once the kernel has settled: carrier changes are reported by the kernel's
    /// link watch up to a second late and IPv6 addresses stay tentative during DAD, so the state
    /// is read until two reads 300 ms apart agree and nothing is tentative (at most 6 s).
    pub fn settled_state(&self) -> Value {
        let mut last = self.state();
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let now = self.state();
            if normalize(&now) == normalize(&last) && !now.to_string().contains("\"tentative\"") {
                return now;
            }
            if std::env::var_os("NPCNI_DEBUG_SETTLE").is_some() {
                let mut d = Vec::new();
                diff("settle", &last, &now, &mut d);
                eprintln!(
                    "settle {}: {d:?} tentative={}",
                    self.name,
                    now.to_string().contains("\"tentative\"")
                );
            }
            last = now;
        }
        last
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        // Rules this namespace held die with it; nothing in the machine's own namespace.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh one.
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("npcni-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }

    /// A path inside.
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A plugin directory where `bridge`, `ptp`, `macvlan` and `netplumb-*` are our binary and
/// the other reference plugins (host-local, portmap, tuning, firewall) are the reference's.
pub fn our_plugin_dir(dir: &TempDir) -> PathBuf {
    let d = dir.join("plugins");
    std::fs::create_dir_all(&d).expect("mkdir");
    for n in [
        "bridge",
        "ptp",
        "macvlan",
        "ipvlan",
        "vlan",
        "dummy",
        "tap",
        "netplumb-bridge",
        "netplumb-ptp",
        "netplumb-macvlan",
        "netplumb-ipvlan",
        "netplumb-vlan",
        "netplumb-dummy",
        "netplumb-tap",
        "netplumb-host-local",
    ] {
        std::os::unix::fs::symlink(ours(), d.join(n)).expect("symlink");
    }
    for n in ["host-local", "portmap", "tuning", "firewall", "loopback"] {
        let _ = std::os::unix::fs::symlink(Path::new(REF_DIR).join(n), d.join(n));
    }
    d
}

/// One plugin run's outcome.
#[derive(Debug)]
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Stdout parsed (Null when empty).
    pub out: Value,
    /// Stdout raw.
    pub raw: String,
    /// Stderr.
    pub err: String,
}

impl Run {
    /// The spec error code, if stdout holds an error object.
    pub fn error_code(&self) -> Option<u64> {
        self.out.get("code").and_then(Value::as_u64)
    }
}

/// The CNI variables of one run.
#[derive(Clone, Debug)]
pub struct Call<'a> {
    /// CNI_COMMAND.
    pub command: &'a str,
    /// CNI_CONTAINERID.
    pub id: &'a str,
    /// CNI_NETNS.
    pub netns: &'a str,
    /// CNI_IFNAME.
    pub ifname: &'a str,
    /// CNI_ARGS.
    pub args: &'a str,
    /// CNI_PATH.
    pub path: &'a Path,
}

/// Runs `plugin` (a file in `call.path`) in the host namespace `host` with `conf` on stdin.
pub fn run_plugin(host: &Ns, plugin: &str, call: &Call<'_>, conf: &str) -> Run {
    let bin = call.path.join(plugin);
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", host.path())).arg(&bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("CNI_") {
            cmd.env_remove(k);
        }
    }
    let vars = [
        ("CNI_COMMAND", call.command),
        ("CNI_CONTAINERID", call.id),
        ("CNI_NETNS", call.netns),
        ("CNI_IFNAME", call.ifname),
        ("CNI_ARGS", call.args),
    ];
    for (k, v) in vars {
        if !v.is_empty() {
            cmd.env(k, v);
        }
    }
    cmd.env("CNI_PATH", call.path);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plugin");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(conf.as_bytes())
        .expect("write config");
    let out = child.wait_with_output().expect("wait plugin");
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: if raw.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or(Value::String(raw.clone()))
        },
        raw,
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn is_mac(s: &str) -> bool {
    s.len() == 17
        && s.split(':').count() == 6
        && s.split(':')
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_veth_name(s: &str) -> bool {
    s.len() == 12 && s.starts_with("veth") && s[4..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Replaces what legitimately differs between two runs: MACs, random veth names, interface
/// indexes, link-local addresses derived from MACs, timers, counters, bridge ids, permanent
/// addresses, and whether an IPv6 address is still tentative (DAD's progress at that moment).
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let skip = k.ends_with("_timer")
                    || matches!(
                        k.as_str(),
                        "ifindex"
                            | "link_index"
                            | "stats64"
                            | "stats"
                            | "bridge_id"
                            | "root_id"
                            | "designated_root"
                            | "designated_bridge"
                            | "no"
                            | "id"
                            | "valid_life_time"
                            | "preferred_life_time"
                            | "link_netnsid"
                            | "num_tx_queues"
                            | "num_rx_queues"
                            | "gso_max_size"
                            | "gso_max_segs"
                            | "tso_max_size"
                            | "tso_max_segs"
                            | "gro_max_size"
                            | "gso_ipv4_max_size"
                            | "gro_ipv4_max_size"
                            | "inet6_addr_gen_mode"
                            | "parentbus"
                            | "parentdev"
                            // Random per device (the guest's fallback tunnels have one).
                            | "permaddr"
                            // DAD's progress when the state was read, not a setting.
                            | "tentative"
                    );
                if skip {
                    continue;
                }
                out.insert(k.clone(), normalize(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::String(s) => {
            if is_mac(s) && s != "00:00:00:00:00:00" && s != "ff:ff:ff:ff:ff:ff" {
                Value::String("MAC".into())
            } else if is_veth_name(s) {
                Value::String("vethX".into())
            } else if s.starts_with("fe80::") {
                Value::String("fe80::X".into())
            } else if let Some(rest) = s.strip_prefix("/run/netns/") {
                // Container paths differ by name only.
                let _ = rest;
                Value::String("/run/netns/C".into())
            } else {
                Value::String(s.clone())
            }
        }
        other => other.clone(),
    }
}

/// Sorts arrays of objects by their text, so order from the kernel does not count.
pub fn sorted(v: Value) -> Value {
    match v {
        Value::Array(a) => {
            let mut a: Vec<Value> = a.into_iter().map(sorted).collect();
            a.sort_by_key(|x| x.to_string());
            Value::Array(a)
        }
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, sorted(v))).collect()),
        other => other,
    }
}

/// The paths where `a` and `b` differ, with both values.
pub fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, String, String)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a == b => {}
        _ => out.push((path.to_string(), a.to_string(), b.to_string())),
    }
}

/// The fallback tunnel devices the kernel puts in every new namespace once their module is
/// loaded (as in the kernel-VM tier: ipip, ip_gre, ip6_gre, sit, ip6_tunnel, ip_vti, ip6_vti).
pub const FALLBACK_TUNNELS: &[&str] = &[
    "tunl0", "gre0", "gretap0", "erspan0", "ip6gre0", "ip6tnl0", "sit0", "ip_vti0", "ip6_vti0",
];

/// The names of a namespace's links, without the fallback tunnels ([`FALLBACK_TUNNELS`]).
pub fn links_by_name(ns: &Ns) -> Vec<String> {
    ns.ip_json(&["link"])
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l.get("ifname").and_then(Value::as_str).map(str::to_string))
                .filter(|n| !FALLBACK_TUNNELS.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// A data directory's files (name and content), sorted: the IPAM store's state.
pub fn store_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<(String, String)>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
                    out.push((rel, std::fs::read_to_string(&p).unwrap_or_default()));
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
