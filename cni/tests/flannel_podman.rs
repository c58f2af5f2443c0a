//! flannel's whole CNI flow on real flannel agents: etcd and two hosts whose agents lease
//! subnets and program the VXLAN overlay (the lab of `examples/flannel_etcd.rs`), then podman
//! (CNI backend, set up as `podman.rs` does, one podman per host run inside that host's
//! namespace) with a network whose plugin is `flannel` (ours) reading that host's
//! `subnet.env`. flannel delegates by exec to `bridge` (ours, installed under that name) with
//! `host-local` (ours, likewise) on the host's subnet. One busybox container per host; they
//! ping each other across the overlay, both ways. Then host 2's agent is killed (SIGKILL):
//! after its lease expires, host 1's route to host 2's subnet goes (timed by the lab's netplumb
//! monitors and an etcd watch, not by sleeps). `podman rm` calls DEL through flannel, which
//! hands the stored delegate configuration to `bridge`: nothing is left.
//!
//! The agents are this test binary started again with the agent's options in
//! `NETPLUMB_FLANNEL_AGENT_ARGS` (as the root package's flannel tests do). Skips, saying why,
//! without etcd or podman.
mod common;

#[allow(dead_code)]
#[path = "../../examples/flannel_etcd.rs"]
mod flannel_etcd;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ours, TempDir, REF_DIR};
use flannel_etcd::{Cluster, Options};
use netplumb_lab::flannel::{AgentProgram, SubnetEnv};
use serde_json::Value;

const AGENT_ENV: &str = "NETPLUMB_FLANNEL_AGENT_ARGS";
const TEST: &str = "podman_on_two_flannel_hosts_pings_across_vxlan_and_a_dead_host_expires";
const NET: &str = "npflannel";
const CACHE: &str = "/var/lib/cni";

/// `ip -n NS -j ARGS` (or `bridge`), parsed.
fn ip_json(ns: &str, args: &[&str]) -> Value {
    let out = Command::new("ip")
        .args(["-n", ns, "-j"])
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

fn link_names(ns: &str) -> Vec<String> {
    let mut v: Vec<String> = ip_json(ns, &["link"])
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// One host's podman: configuration, storage, runc state and plugins in a temporary
/// directory, run inside the host's namespace.
struct Podman {
    ns: String,
    tmp: TempDir,
    names: Vec<String>,
}

impl Podman {
    fn new(ns: &str, subnet_file: &Path) -> Podman {
        let tmp = TempDir::new("flannel");
        let t = tmp.0.display().to_string();
        let plugins = tmp.join("plugins");
        std::fs::create_dir_all(&plugins).expect("mkdir");
        // flannel and what it delegates to (bridge, host-local) are ours, by those names.
        for n in ["flannel", "bridge", "host-local"] {
            std::os::unix::fs::symlink(ours(), plugins.join(n)).expect("symlink");
        }
        std::os::unix::fs::symlink(
            Path::new(REF_DIR).join("loopback"),
            plugins.join("loopback"),
        )
        .expect("symlink");
        let rootfs = tmp.join("rootfs");
        for d in ["bin", "etc", "proc", "sys", "dev", "tmp"] {
            std::fs::create_dir_all(rootfs.join(d)).expect("mkdir");
        }
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("busybox");
        std::fs::copy(busybox, rootfs.join("bin/busybox")).expect("copy busybox");
        for a in ["sh", "sleep", "ip", "ping", "cat"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).expect("symlink");
        }
        for d in ["net.d", "graph", "run", "tmp", "ipam", "flannel"] {
            std::fs::create_dir_all(tmp.join(d)).expect("mkdir");
        }
        std::fs::write(
            tmp.join("containers.conf"),
            format!(
                r#"[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{t}/events.log"
tmp_dir = "{t}/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = ["{t}/plugins"]
network_config_dir = "{t}/net.d"
default_network = "{NET}"
"#
            ),
        )
        .expect("containers.conf");
        std::fs::write(
            tmp.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{t}/graph\"\nrunroot = \"{t}/run\"\n"
            ),
        )
        .expect("storage.conf");
        // flannel's usual network configuration; the IPAM store and the delegate
        // configurations go to the temporary directory instead of /var/lib/cni. The call log
        // is named in the configurations too (flannel's and, through `delegate`, bridge's
        // and host-local's): podman's cleanup process, which may run DEL, does not have our
        // environment.
        std::fs::write(
            tmp.join(&format!("net.d/{NET}.conflist")),
            format!(
                r#"{{"cniVersion":"0.4.0","name":"{NET}","plugins":[
 {{"type":"flannel","subnetFile":"{}","dataDir":"{t}/flannel","netplumbLog":"{t}/plugin.log",
  "ipam":{{"dataDir":"{t}/ipam"}},"delegate":{{"hairpinMode":true,"netplumbLog":"{t}/plugin.log"}}}}]}}"#,
                subnet_file.display()
            ),
        )
        .expect("conflist");
        Podman {
            ns: ns.to_string(),
            tmp,
            names: Vec::new(),
        }
    }

    fn rootfs(&self) -> String {
        self.tmp.join("rootfs").display().to_string()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        let runc_root = self.tmp.join("runc");
        c.arg(format!("--net=/run/netns/{}", self.ns))
            .arg("podman")
            .arg("--runtime-flag")
            .arg(format!("root={}", runc_root.display()))
            .args(args)
            .env("CONTAINERS_CONF", self.tmp.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.tmp.join("storage.conf"))
            .env("NETPLUMB_CNI_LOG", self.tmp.join("plugin.log"));
        c
    }

    fn try_run(&self, args: &[&str]) -> (bool, String) {
        let out = self.cmd(args).output().expect("podman");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "$ podman {} ({})\n{}",
            args.join(" "),
            self.ns,
            text.trim_end()
        );
        (out.status.success(), text)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("podman");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "podman {args:?}: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "$ podman {} ({})\n{}",
            args.join(" "),
            self.ns,
            text.trim_end()
        );
        text
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.join("plugin.log")).unwrap_or_default()
    }

    fn remove_all(&mut self) {
        for n in std::mem::take(&mut self.names) {
            if let Ok(out) = self.cmd(&["rm", "-f", "-t", "0", &n]).output() {
                eprintln!(
                    "$ podman rm -f -t 0 {n} ({})\n{}{}",
                    self.ns,
                    String::from_utf8_lossy(&out.stdout).trim_end(),
                    String::from_utf8_lossy(&out.stderr).trim_end()
                );
            }
        }
        // conmon and podman's cleanup processes (their command lines name the temporary
        // directory) finish first.
        for _ in 0..100 {
            let busy = Command::new("pgrep")
                .args(["-f", &self.tmp.0.display().to_string()])
                .output()
                .is_ok_and(|o| o.status.success());
            if !busy {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// What this run made outside the lab and the temporary directories, removed at the end.
struct MachineDirs {
    made_cache: bool,
    made_runc_root: bool,
}

impl Drop for MachineDirs {
    fn drop(&mut self) {
        if self.made_runc_root {
            // podman's cleanup process calls runc without --runtime-flag, which makes its
            // default root; empty, made by this run.
            let _ = std::fs::remove_dir("/run/runc");
        }
        if self.made_cache {
            // libcni's result cache, which podman 4.3 does not let us move.
            let _ = std::fs::remove_dir(Path::new(CACHE).join("results"));
            let _ = std::fs::remove_dir(CACHE);
        }
    }
}

fn which(p: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {p}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// This binary, started again as a flannel agent.
fn agent_program() -> AgentProgram {
    AgentProgram {
        program: std::env::current_exe().unwrap(),
        args: ["--exact", TEST, "--nocapture", "--test-threads", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        args_env: Some(AGENT_ENV.into()),
        ..AgentProgram::default()
    }
}

/// The routes on host `n`'s flannel.1 with a gateway, as iproute2 reports them.
fn overlay_routes(c: &Cluster, n: u8) -> Vec<String> {
    let ns = c.lab.name(&format!("host{n}"));
    ip_json(&ns, &["route", "show", "dev", "flannel.1"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["gateway"].is_string())
        .map(|r| r["dst"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn podman_on_two_flannel_hosts_pings_across_vxlan_and_a_dead_host_expires() {
    if let Ok(args) = std::env::var(AGENT_ENV) {
        let args: Vec<String> = args.lines().map(str::to_string).collect();
        std::process::exit(netplumb_lab::flannel::agent_main(&args));
    }
    require!(false);
    if let Err(e) = netplumb_lab::etcd::etcd_version() {
        common::report_skip(TEST, &e.to_string());
        return;
    }
    for p in ["podman", "runc", "conmon", "iptables", "nsenter"] {
        if !which(p) {
            common::report_skip(
                TEST,
                &format!("{p} is not installed (apt-get install podman runc conmon iptables)"),
            );
            return;
        }
    }
    if !Path::new("/bin/busybox").exists() && !Path::new("/usr/bin/busybox").exists() {
        common::report_skip(
            TEST,
            "busybox is not installed (apt-get install busybox-static)",
        );
        return;
    }
    let prefix = format!("np-t-cnifl-{}", std::process::id());
    // Declared first, dropped last: whatever a failure left in the lab goes.
    let _sweep = Sweep(prefix.clone());
    let _dirs = MachineDirs {
        made_cache: !Path::new(CACHE).exists(),
        made_runc_root: !Path::new("/run/runc").exists(),
    };
    let opts = Options {
        hosts: 2,
        pods: 0,
        ttl: 4,
        agent: Some(agent_program()),
        prefix: prefix.clone(),
        ..Options::default()
    };
    // The cluster without the lab's own pods (bring_up would make a cni0): the bridge is
    // made by our plugin.
    let mut c = Cluster::new(&opts).unwrap();
    let started = Instant::now();
    for n in [1, 2] {
        c.start_agent(n).unwrap();
    }
    let lease_times = c.wait_leases(&[1, 2], started).unwrap();
    let converged = c.wait_converged(&[1, 2], started).unwrap();
    eprintln!(
        "flannel agents: leases after {:?}, converged after {:?}",
        lease_times, converged
    );
    let slack = c.slack;
    let hosts: Vec<(String, PathBuf, SubnetEnv)> = c
        .hosts
        .iter()
        .map(|h| {
            let env = SubnetEnv::read(&h.options.subnet_file).unwrap();
            (
                c.lab.name(&format!("host{}", h.n)),
                h.options.subnet_file.clone(),
                env,
            )
        })
        .collect();
    let links_before: Vec<Vec<String>> = hosts.iter().map(|(ns, _, _)| link_names(ns)).collect();
    for (i, links) in links_before.iter().enumerate() {
        assert!(
            !links.contains(&"cni0".to_string()),
            "host{}: {links:?}",
            i + 1
        );
    }
    // Dropped before the cluster (declared after it): containers go while their hosts exist.
    let mut pms: Vec<Podman> = hosts
        .iter()
        .map(|(ns, file, _)| Podman::new(ns, file))
        .collect();

    let mut ips: Vec<Ipv4Addr> = Vec::new();
    for (i, pm) in pms.iter_mut().enumerate() {
        let n = i + 1;
        let (ns, _, env) = &hosts[i];
        let name = format!("npfl-h{n}");
        pm.names.push(name.clone());
        let rootfs = pm.rootfs();
        pm.run(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            NET,
            "--rootfs",
            &rootfs,
            "/bin/sleep",
            "600",
        ]);
        let inspect: Value = serde_json::from_str(&pm.run(&["inspect", &name])).unwrap();
        let net = &inspect[0]["NetworkSettings"]["Networks"][NET];
        let ip: Ipv4Addr = net["IPAddress"].as_str().unwrap_or("").parse().unwrap();
        let subnet = env.subnet;
        let subnet_net = ipnetwork::Ipv4Network::new(subnet.network(), subnet.prefix()).unwrap();
        assert!(
            subnet_net.contains(ip) && ip != subnet.ip(),
            "host{n}: {ip} not a container address of {subnet}: {net}"
        );
        // The bridge's gateway is the subnet's first address, which the agent's subnet.env
        // names as FLANNEL_SUBNET.
        assert_eq!(net["Gateway"], subnet.ip().to_string(), "host{n}: {net}");
        assert_eq!(net["IPPrefixLen"], subnet.prefix(), "host{n}");
        // Inside: the address, MTU from the file, and the route to the flannel network only.
        let addr = pm.run(&["exec", &name, "ip", "addr", "show", "eth0"]);
        assert!(
            addr.contains(&format!("inet {ip}/{}", subnet.prefix())),
            "{addr}"
        );
        assert!(addr.contains(&format!("mtu {}", env.mtu)), "{addr}");
        let route = pm.run(&["exec", &name, "ip", "route"]);
        assert!(
            route.contains(&format!("{} via {} dev eth0", env.network, subnet.ip())),
            "host{n}: {route}"
        );
        assert!(!route.contains("default"), "host{n}: {route}");
        // On the host: cni0 with the gateway address and the file's MTU, the veth on it.
        let br = ip_json(ns, &["addr", "show", "cni0"]);
        assert_eq!(br[0]["mtu"], env.mtu, "{br}");
        assert!(
            br[0]["addr_info"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["local"] == subnet.ip().to_string()
                    && a["prefixlen"] == subnet.prefix()),
            "{br}"
        );
        // The delegate's configuration, kept for DEL in dataDir/CONTAINERID.
        let id = inspect[0]["Id"].as_str().unwrap().to_string();
        let stored: Value = serde_json::from_slice(
            &std::fs::read(pm.tmp.join(&format!("flannel/{id}"))).expect("stored delegate conf"),
        )
        .unwrap();
        assert_eq!(stored["type"], "bridge", "{stored}");
        assert_eq!(stored["name"], NET, "{stored}");
        assert_eq!(stored["isGateway"], true, "{stored}");
        assert_eq!(stored["hairpinMode"], true, "{stored}");
        assert_eq!(stored["mtu"], env.mtu, "{stored}");
        assert_eq!(stored["ipMasq"], !env.ipmasq, "{stored}");
        assert_eq!(stored["ipam"]["type"], "host-local", "{stored}");
        assert_eq!(
            stored["ipam"]["ranges"],
            serde_json::json!([[{ "subnet": subnet_net.to_string() }]]),
            "{stored}"
        );
        assert_eq!(
            stored["ipam"]["routes"],
            serde_json::json!([{ "dst": env.network.to_string() }]),
            "{stored}"
        );
        ips.push(ip);
    }
    // Across the overlay, both ways.
    let p12 = pms[0].run(&[
        "exec",
        "npfl-h1",
        "ping",
        "-c",
        "2",
        "-W",
        "3",
        &ips[1].to_string(),
    ]);
    let p21 = pms[1].run(&[
        "exec",
        "npfl-h2",
        "ping",
        "-c",
        "2",
        "-W",
        "3",
        &ips[0].to_string(),
    ]);
    for (out, to) in [(&p12, ips[1]), (&p21, ips[0])] {
        assert!(out.contains(&format!("bytes from {to}")), "{out}");
    }
    for pm in &pms {
        let log = pm.log();
        assert_eq!(log.matches("flannel ADD").count(), 1, "{log}");
        assert_eq!(log.matches("bridge ADD").count(), 1, "{log}");
        assert_eq!(log.matches("host-local ADD").count(), 1, "{log}");
    }

    // Host 2 dies: its key expires, host 1 removes its entries, the route among them.
    let lease2 = c.lease_of(2).unwrap();
    assert_eq!(
        lease2.subnet.to_string(),
        ipnetwork::Ipv4Network::new(hosts[1].2.subnet.network(), hosts[1].2.subnet.prefix())
            .unwrap()
            .to_string()
    );
    assert!(
        overlay_routes(&c, 1).contains(&lease2.subnet.to_string()),
        "host1's route to host2 before the kill"
    );
    let e = c.kill_and_expire(2, &[1, 2]).unwrap();
    let ttl = c.ttl();
    eprintln!(
        "flannel cni: host2's agent killed: key gone after {:.3} s (ttl {} s), host1's route \
         to {} gone after {:.3} s",
        e.key_gone.as_secs_f64(),
        ttl.as_secs(),
        e.subnet,
        e.removed.as_secs_f64()
    );
    assert!(e.key_gone >= ttl / 2, "key gone after {:?}", e.key_gone);
    assert!(
        e.key_gone <= ttl + Duration::from_millis(1500) * slack,
        "key gone after {:?}",
        e.key_gone
    );
    assert!(
        e.removed <= e.key_gone + Duration::from_secs(1) * slack,
        "removed {:?}, key gone {:?}",
        e.removed,
        e.key_gone
    );
    assert!(
        !overlay_routes(&c, 1).contains(&lease2.subnet.to_string()),
        "iproute2: host1 still routes {}",
        lease2.subnet
    );
    // No route, no reply.
    let (ok, out) = pms[0].try_run(&[
        "exec",
        "npfl-h1",
        "ping",
        "-c",
        "1",
        "-W",
        "1",
        &ips[1].to_string(),
    ]);
    assert!(!ok, "host2's container still answers: {out}");

    // podman rm: DEL through flannel to bridge and host-local, from the stored configuration.
    for pm in &mut pms {
        pm.remove_all();
    }
    for (i, pm) in pms.iter().enumerate() {
        let log = pm.log();
        eprintln!("host{} plugin calls:\n{log}", i + 1);
        assert_eq!(log.matches("flannel DEL").count(), 1, "{log}");
        assert_eq!(log.matches("bridge DEL").count(), 1, "{log}");
        assert_eq!(log.matches("host-local DEL").count(), 1, "{log}");
        assert!(!log.contains("error"), "{log}");
        let stored: Vec<_> = std::fs::read_dir(pm.tmp.join("flannel"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            stored.is_empty(),
            "delegate configurations left: {stored:?}"
        );
        let store = pm.tmp.join(&format!("ipam/{NET}"));
        let left: Vec<String> = std::fs::read_dir(&store)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|f| f.starts_with("10."))
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "addresses still reserved: {left:?}");
        // Only the bridge is new on the host (kept by DEL, as the reference keeps it).
        let mut links = link_names(&hosts[i].0);
        links.retain(|l| l != "cni0");
        assert_eq!(
            links,
            links_before[i],
            "host{} links after podman rm",
            i + 1
        );
        let nat = Command::new("ip")
            .args([
                "netns",
                "exec",
                &hosts[i].0,
                "iptables",
                "-w",
                "-t",
                "nat",
                "-S",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        assert!(!nat.contains("CNI-"), "masquerade rules left: {nat}");
    }
    drop(pms);
    drop(c);
}

/// Sweeps the lab's prefix when dropped (also on a panic).
struct Sweep(String);

impl Drop for Sweep {
    fn drop(&mut self) {
        let _ = netplumb_lab::sweep(&self.0);
    }
}
