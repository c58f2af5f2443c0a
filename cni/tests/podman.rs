//! Test 2, a real client: podman 4.3 with its CNI backend runs two busybox containers
//! (`podman run --rootfs`, no image) on a network whose plugin is ours (`netplumb-bridge` with
//! `netplumb-host-local`, then the reference portmap, firewall and tuning). podman runs in a
//! throw-away "host" namespace with its configuration, storage and state in a temporary
//! directory, so the bridge, the iptables rules and the sysctls never touch the machine's own.
//! Each container gets its address (podman inspect, `ip addr` inside, and our result as
//! libcni cached it, validated against the kernel), they ping each other both ways, and
//! `podman rm` calls DEL: the veths, addresses and rules are gone afterwards.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ours, Ns, TempDir, REF_DIR};
use serde_json::Value;

const NET: &str = "npcni";
const CACHE: &str = "/var/lib/cni";

struct Podman {
    host: Ns,
    tmp: TempDir,
    names: Vec<String>,
    made_cache: bool,
    made_runc_root: bool,
}

impl Podman {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        // runc's state goes to the temporary directory too (its default is /run/runc).
        let runc_root = self.tmp.join("runc");
        c.arg(format!("--net={}", self.host.path()))
            .arg("podman")
            .arg("--runtime-flag")
            .arg(format!("root={}", runc_root.display()))
            .args(args)
            .env("CONTAINERS_CONF", self.tmp.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.tmp.join("storage.conf"))
            .env("NETPLUMB_CNI_LOG", self.tmp.join("plugin.log"));
        c
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
        eprintln!("$ podman {}\n{}", args.join(" "), text.trim_end());
        text
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = self.cmd(&["rm", "-f", "-t", "0", n]).output();
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
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if self.made_runc_root {
            // podman's cleanup process (run by conmon when a container stops) calls runc
            // without --runtime-flag, and runc then makes its default root; empty, made by us.
            let _ = std::fs::remove_dir("/run/runc");
        }
        if self.made_cache {
            // libcni's cache directory, which podman 4.3 does not let us move; made by this run.
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

fn setup(tmp: &TempDir) -> PathBuf {
    let t = tmp.0.display().to_string();
    let plugins = tmp.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    for n in ["netplumb-bridge", "netplumb-host-local"] {
        std::os::unix::fs::symlink(ours(), plugins.join(n)).expect("symlink");
    }
    for n in ["portmap", "firewall", "tuning", "loopback", "host-local"] {
        std::os::unix::fs::symlink(Path::new(REF_DIR).join(n), plugins.join(n)).expect("symlink");
    }
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
    for d in ["net.d", "graph", "run", "tmp", "ipam"] {
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
        format!("[storage]\ndriver = \"vfs\"\ngraphroot = \"{t}/graph\"\nrunroot = \"{t}/run\"\n"),
    )
    .expect("storage.conf");
    std::fs::write(
        tmp.join(&format!("net.d/{NET}.conflist")),
        format!(
            r#"{{"cniVersion":"0.4.0","name":"{NET}","plugins":[
 {{"type":"netplumb-bridge","netplumbLog":"{t}/plugin.log","bridge":"cni-npc0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{{"type":"netplumb-host-local","dataDir":"{t}/ipam","routes":[{{"dst":"0.0.0.0/0"}}],
          "ranges":[[{{"subnet":"10.93.0.0/24","gateway":"10.93.0.1"}}]]}}}},
 {{"type":"portmap","capabilities":{{"portMappings":true}}}},
 {{"type":"firewall","backend":"iptables"}},
 {{"type":"tuning"}}]}}"#
        ),
    )
    .expect("conflist");
    rootfs
}

#[test]
fn podman_runs_containers_on_our_bridge() {
    require!(true);
    for p in ["podman", "runc", "conmon", "iptables"] {
        if !which(p) {
            common::report_skip(
                "podman_runs_containers_on_our_bridge",
                &format!("{p} is not installed (apt-get install podman runc conmon iptables)"),
            );
            return;
        }
    }
    if !Path::new("/bin/busybox").exists() && !Path::new("/usr/bin/busybox").exists() {
        common::report_skip(
            "podman_runs_containers_on_our_bridge",
            "busybox is not installed (apt-get install busybox-static)",
        );
        return;
    }
    let tmp = TempDir::new("podman");
    let rootfs = setup(&tmp);
    let rootfs_s = rootfs.display().to_string();
    let mut pm = Podman {
        host: Ns::new("podman"),
        tmp,
        names: Vec::new(),
        made_cache: !Path::new(CACHE).exists(),
        made_runc_root: !Path::new("/run/runc").exists(),
    };
    let host_links_before = common::links_by_name(&pm.host);
    let mut ips = Vec::new();
    for name in ["npcni-a", "npcni-b"] {
        pm.names.push(name.to_string());
        pm.run(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            NET,
            "--rootfs",
            &rootfs_s,
            "/bin/sleep",
            "600",
        ]);
        let inspect: Value =
            serde_json::from_str(&pm.run(&["inspect", name])).expect("inspect JSON");
        let net = &inspect[0]["NetworkSettings"]["Networks"][NET];
        let ip = net["IPAddress"].as_str().unwrap_or("").to_string();
        assert!(
            ip.starts_with("10.93.0."),
            "{name}: inspect IPAddress {net}"
        );
        assert_eq!(net["Gateway"], "10.93.0.1", "{name}");
        assert_eq!(net["IPPrefixLen"], 24, "{name}");
        let mac = net["MacAddress"].as_str().unwrap_or("").to_string();
        // Inside the container: the address on eth0 with the MAC podman reports.
        let addr = pm.run(&["exec", name, "ip", "addr", "show", "eth0"]);
        assert!(addr.contains(&format!("inet {ip}/24")), "{name}: {addr}");
        assert!(addr.contains(&mac), "{name}: MAC {mac} not in {addr}");
        let route = pm.run(&["exec", name, "ip", "route"]);
        assert!(
            route.contains("default via 10.93.0.1 dev eth0"),
            "{name}: {route}"
        );
        // Our result as libcni cached it (podman does not validate it; we do): the version
        // asked for, bridge + host veth + container interface, the address on interface 2.
        let id = inspect[0]["Id"].as_str().unwrap_or("").to_string();
        let cached = Path::new(CACHE).join(format!("results/{NET}-{id}-eth0"));
        let cached: Value =
            serde_json::from_str(&std::fs::read_to_string(&cached).expect("cached result"))
                .expect("cached JSON");
        let result = &cached["result"];
        assert_eq!(result["cniVersion"], "0.4.0", "{result}");
        assert_eq!(result["interfaces"][0]["name"], "cni-npc0", "{result}");
        assert_eq!(result["interfaces"][2]["name"], "eth0", "{result}");
        assert_eq!(result["interfaces"][2]["mac"], mac.as_str(), "{result}");
        assert_eq!(result["ips"][0]["version"], "4", "{result}");
        assert_eq!(result["ips"][0]["interface"], 2, "{result}");
        assert_eq!(
            result["ips"][0]["address"],
            format!("{ip}/24").as_str(),
            "{result}"
        );
        assert_eq!(result["ips"][0]["gateway"], "10.93.0.1", "{result}");
        assert_eq!(result["routes"][0]["dst"], "0.0.0.0/0", "{result}");
        let sandbox = result["interfaces"][2]["sandbox"].as_str().unwrap_or("");
        assert!(sandbox.starts_with("/run/netns/"), "{result}");
        let host_veth = result["interfaces"][1]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let link = pm.host.ip_json(&["-d", "link", "show", &host_veth]);
        assert_eq!(link[0]["master"], "cni-npc0", "{link}");
        assert_eq!(
            link[0]["linkinfo"]["info_slave_data"]["hairpin"], true,
            "{link}"
        );
        assert_eq!(link[0]["address"], result["interfaces"][1]["mac"], "{link}");
        ips.push(ip);
    }
    pm.run(&["exec", "npcni-a", "ping", "-c", "1", "-W", "2", &ips[1]]);
    pm.run(&["exec", "npcni-b", "ping", "-c", "1", "-W", "2", &ips[0]]);
    pm.run(&["ps", "-a"]);
    let nat = pm
        .host
        .try_sh(&["iptables", "-w", "-t", "nat", "-S", "POSTROUTING"])
        .unwrap_or_default();
    assert_eq!(nat.matches("-j CNI-").count(), 2, "masquerade jumps: {nat}");
    for name in ["npcni-a", "npcni-b"] {
        pm.run(&["rm", "-f", "-t", "0", name]);
    }
    pm.names.clear();
    let log = std::fs::read_to_string(pm.tmp.join("plugin.log")).unwrap_or_default();
    eprintln!("plugin calls:\n{log}");
    assert_eq!(log.matches("netplumb-bridge ADD").count(), 2, "{log}");
    assert_eq!(log.matches("netplumb-bridge DEL").count(), 2, "{log}");
    assert!(!log.contains("error"), "{log}");
    // Nothing left but the bridge itself (kept by DEL, as the reference keeps it): no veth,
    // no address reserved, no masquerade rule, no container namespace.
    let mut links = common::links_by_name(&pm.host);
    links.retain(|l| l != "cni-npc0");
    assert_eq!(links, host_links_before, "host links after podman rm");
    let nat = pm
        .host
        .try_sh(&["iptables", "-w", "-t", "nat", "-S"])
        .unwrap_or_default();
    assert!(!nat.contains("10.93.0."), "rules left: {nat}");
    let store: Vec<String> = std::fs::read_dir(pm.tmp.join(&format!("ipam/{NET}")))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        store.iter().all(|f| !f.starts_with("10.93.")),
        "store after rm: {store:?}"
    );
}
