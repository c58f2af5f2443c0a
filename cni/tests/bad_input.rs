//! Test 3, bad input, nothing changed: each bad request gets the spec's error object (with
//! the right code, on stdout, non-zero exit) and leaves the host's and the container's state
//! and the IPAM store exactly as before. Also: DEL is idempotent, CHECK reports drift, the
//! reference plugins chain after ours, and the two host-local stores are one.
mod common;

use std::path::{Path, PathBuf};

use common::{normalize, our_plugin_dir, run_plugin, store_files, Call, Ns, TempDir, REF_DIR};
use serde_json::Value;

struct Lab {
    host: Ns,
    cont: Ns,
    tmp: TempDir,
    dir: PathBuf,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let tmp = TempDir::new(tag);
        let dir = our_plugin_dir(&tmp);
        Lab {
            host: Ns::new("h"),
            cont: Ns::new("c"),
            tmp,
            dir,
        }
    }

    fn data(&self) -> String {
        self.tmp.join("data").display().to_string()
    }

    fn conf(&self, extra: &str) -> String {
        format!(
            r#"{{"cniVersion":"1.0.0","name":"bad","type":"bridge","bridge":"cni-bad0","isGateway":true{extra},
               "ipam":{{"type":"host-local","dataDir":"{}","ranges":[[{{"subnet":"10.90.0.0/24"}}]],
                        "routes":[{{"dst":"0.0.0.0/0"}}]}}}}"#,
            self.data()
        )
    }

    fn snapshot(&self) -> Value {
        serde_json::json!({
            "host": normalize(&self.host.state()),
            "cont": normalize(&self.cont.state()),
            "store": store_files(Path::new(&self.data())),
        })
    }

    fn call<'a>(&'a self, command: &'a str, netns: &'a str, ifname: &'a str) -> Call<'a> {
        Call {
            command,
            id: "bad0001",
            netns,
            ifname,
            args: "",
            path: &self.dir,
        }
    }
}

/// Runs `conf` with `call` and asserts: exit non-zero, an error object with `code` and the
/// request's version, and nothing changed.
fn refused(lab: &Lab, what: &str, call: &Call<'_>, conf: &str, code: u64) {
    // Whatever the kernel still does on its own (DAD, carrier) finishes first.
    lab.host.settled_state();
    lab.cont.settled_state();
    let before = lab.snapshot();
    let r = run_plugin(&lab.host, "bridge", call, conf);
    assert_ne!(r.code, 0, "{what}: exit status 0: {}", r.raw);
    assert_eq!(r.error_code(), Some(code), "{what}: {} {}", r.raw, r.err);
    assert!(
        r.out
            .get("msg")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "{what}: no msg: {}",
        r.raw
    );
    assert!(
        r.out.get("cniVersion").is_some(),
        "{what}: no cniVersion: {}",
        r.raw
    );
    let after = lab.snapshot();
    assert_eq!(before, after, "{what}: state changed");
    eprintln!("refused as expected: {what}: {}", r.raw.trim());
}

#[test]
fn bad_input_changes_nothing() {
    require!(true);
    let lab = Lab::new("bad");
    let netns = lab.cont.path();
    let ok = lab.conf("");
    refused(
        &lab,
        "malformed JSON",
        &lab.call("ADD", &netns, "eth0"),
        "{\"cniVersion\":",
        6,
    );
    refused(
        &lab,
        "unknown cniVersion",
        &lab.call("ADD", &netns, "eth0"),
        &ok.replace("\"1.0.0\"", "\"9.9.9\""),
        1,
    );
    refused(
        &lab,
        "missing CNI_NETNS",
        &lab.call("ADD", "", "eth0"),
        &ok,
        4,
    );
    refused(
        &lab,
        "netns path that does not exist",
        &lab.call("ADD", "/run/netns/npcni-no-such-ns", "eth0"),
        &ok,
        3,
    );
    refused(
        &lab,
        "interface name too long",
        &lab.call("ADD", &netns, "eth0123456789abcdef"),
        &ok,
        4,
    );
    refused(
        &lab,
        "missing IPAM plugin",
        &lab.call("ADD", &netns, "eth0"),
        &ok.replace("\"type\":\"host-local\"", "\"type\":\"npcni-no-such-ipam\""),
        7,
    );
    // An IPAM plugin that fails: the reference host-local refuses a /31.
    refused(
        &lab,
        "failing IPAM plugin",
        &lab.call("ADD", &netns, "eth0"),
        &ok.replace("10.90.0.0/24", "10.90.0.0/31"),
        999,
    );
    refused(
        &lab,
        "vlan and vlanTrunk together",
        &lab.call("ADD", &netns, "eth0"),
        &lab.conf(",\"vlan\":5,\"vlanTrunk\":[{\"id\":7}]"),
        7,
    );
    refused(
        &lab,
        "vlanTrunk range reversed",
        &lab.call("ADD", &netns, "eth0"),
        &lab.conf(",\"vlanTrunk\":[{\"minID\":9,\"maxID\":8}]"),
        7,
    );
    refused(
        &lab,
        "VLAN id out of range",
        &lab.call("ADD", &netns, "eth0"),
        &lab.conf(",\"vlan\":4095"),
        7,
    );
    refused(
        &lab,
        "macspoofchk asked for",
        &lab.call("ADD", &netns, "eth0"),
        &lab.conf(",\"macspoofchk\":true"),
        2,
    );
    refused(
        &lab,
        "hairpin and promisc together",
        &lab.call("ADD", &netns, "eth0"),
        &lab.conf(",\"hairpinMode\":true,\"promiscMode\":true"),
        7,
    );
    refused(
        &lab,
        "CHECK on a 0.3.1 config",
        &lab.call("CHECK", &netns, "eth0"),
        &ok.replace("\"1.0.0\"", "\"0.3.1\""),
        1,
    );
    // The bridge name taken by a device that is not a bridge.
    lab.host.sh(&[
        "ip", "link", "add", "cni-bad0", "type", "veth", "peer", "name", "cni-bad1",
    ]);
    refused(
        &lab,
        "bridge name held by a veth",
        &lab.call("ADD", &netns, "eth0"),
        &ok,
        7,
    );
    lab.host.sh(&["ip", "link", "del", "cni-bad0"]);

    // ADD twice: the second is refused and changes nothing (the first's address is kept).
    let r = run_plugin(&lab.host, "bridge", &lab.call("ADD", &netns, "eth0"), &ok);
    assert_eq!(r.code, 0, "first ADD: {} {}", r.raw, r.err);
    refused(
        &lab,
        "ADD twice",
        &lab.call("ADD", &netns, "eth0"),
        &ok,
        102,
    );
    let r = run_plugin(&lab.host, "bridge", &lab.call("DEL", &netns, "eth0"), &ok);
    assert_eq!(r.code, 0, "DEL: {} {}", r.raw, r.err);
}

/// When IPAM fails, the reference leaves its veth (and bridge) behind; ours leaves nothing.
#[test]
fn ipam_failure_leaves_nothing() {
    require!(true);
    let lab = Lab::new("ipamfail");
    let netns = lab.cont.path();
    // A range with one address, taken by another container first.
    let conf = lab.conf("").replace(
        "\"subnet\":\"10.90.0.0/24\"",
        "\"subnet\":\"10.90.0.0/24\",\"rangeStart\":\"10.90.0.2\",\"rangeEnd\":\"10.90.0.2\"",
    );
    let other = Ns::new("c2");
    let other_path = other.path();
    let mut call = lab.call("ADD", &other_path, "eth0");
    call.id = "first0001";
    let r = run_plugin(&lab.host, "bridge", &call, &conf);
    assert_eq!(r.code, 0, "first ADD: {} {}", r.raw, r.err);
    refused(
        &lab,
        "range exhausted (reference host-local)",
        &lab.call("ADD", &netns, "eth0"),
        &conf,
        999,
    );
    // Our IPAM in-process says "try again later" (11) for an exhausted range.
    let ours = conf.replace(
        "\"type\":\"host-local\"",
        "\"type\":\"netplumb-host-local\"",
    );
    refused(
        &lab,
        "range exhausted (netplumb-host-local)",
        &lab.call("ADD", &netns, "eth0"),
        &ours,
        11,
    );
    // The reference, for comparison: prints what it left.
    let refdir = PathBuf::from(REF_DIR);
    let mut rcall = lab.call("ADD", &netns, "eth0");
    rcall.path = &refdir;
    let before = common::links_by_name(&lab.host);
    let r = run_plugin(&lab.host, "bridge", &rcall, &conf);
    let after = common::links_by_name(&lab.host);
    eprintln!(
        "reference bridge on IPAM failure: exit {}, host links before {before:?}, after {after:?}, container {:?}",
        r.code,
        common::links_by_name(&lab.cont)
    );
    call.command = "DEL";
    assert_eq!(run_plugin(&lab.host, "bridge", &call, &conf).code, 0);
}

#[test]
fn del_is_idempotent() {
    require!(true);
    for ipam in ["netplumb-host-local", "host-local"] {
        let lab = Lab::new("del");
        let netns = lab.cont.path();
        let conf = lab
            .conf("")
            .replace("\"type\":\"host-local\"", &format!("\"type\":\"{ipam}\""));
        // Never added: success, nothing changed (the reference host-local makes its empty store
        // directory and lock file even for DEL; ours does not).
        let mut before = lab.snapshot();
        let r = run_plugin(&lab.host, "bridge", &lab.call("DEL", &netns, "eth0"), &conf);
        assert_eq!((r.code, r.raw.trim()), (0, ""), "{}", r.err);
        let mut after = lab.snapshot();
        if ipam == "host-local" {
            before["store"] = Value::Null;
            after["store"] = Value::Null;
        }
        assert_eq!(
            before, after,
            "{ipam}: DEL of a container never added changed something"
        );
        // Added, deleted twice, once with the namespace gone.
        let r = run_plugin(&lab.host, "bridge", &lab.call("ADD", &netns, "eth0"), &conf);
        assert_eq!(r.code, 0, "{} {}", r.raw, r.err);
        for _ in 0..2 {
            let r = run_plugin(&lab.host, "bridge", &lab.call("DEL", &netns, "eth0"), &conf);
            assert_eq!((r.code, r.raw.trim()), (0, ""), "{}", r.err);
            assert_eq!(common::links_by_name(&lab.cont), vec!["lo".to_string()]);
        }
        let r = run_plugin(
            &lab.host,
            "bridge",
            &lab.call("DEL", "/run/netns/npcni-gone", "eth0"),
            &conf,
        );
        assert_eq!(r.code, 0, "{}", r.raw);
        let r = run_plugin(&lab.host, "bridge", &lab.call("DEL", "", "eth0"), &conf);
        assert_eq!(r.code, 0, "{}", r.raw);
        let files = store_files(Path::new(&lab.data()));
        assert!(
            files.iter().all(|(n, _)| !n.ends_with("10.90.0.2")),
            "{files:?}"
        );
    }
}

fn with_prev(conf: &str, prev: &Value) -> String {
    let mut v: Value = serde_json::from_str(conf).expect("conf");
    v["prevResult"] = prev.clone();
    v.to_string()
}

#[test]
fn check_reports_drift() {
    require!(true);
    for plugin in ["bridge", "ptp", "macvlan"] {
        let lab = Lab::new("drift");
        let netns = lab.cont.path();
        let extra = if plugin == "macvlan" {
            lab.host.sh(&[
                "ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1",
            ]);
            lab.host.sh(&["ip", "link", "set", "up0", "up"]);
            ",\"master\":\"up0\""
        } else {
            ",\"ipMasq\":true"
        };
        let conf = lab
            .conf(extra)
            .replace("\"type\":\"bridge\"", &format!("\"type\":\"{plugin}\""));
        let r = run_plugin(&lab.host, plugin, &lab.call("ADD", &netns, "eth0"), &conf);
        assert_eq!(r.code, 0, "{plugin} ADD: {} {}", r.raw, r.err);
        let check = with_prev(&conf, &r.out);
        let run_check = || {
            run_plugin(
                &lab.host,
                plugin,
                &lab.call("CHECK", &netns, "eth0"),
                &check,
            )
        };
        assert_eq!(
            run_check().code,
            0,
            "{plugin}: CHECK right after ADD: {}",
            run_check().raw
        );
        let drift = |what: &str, needle: &str| {
            let c = run_check();
            assert_eq!(c.error_code(), Some(101), "{plugin}, {what}: {}", c.raw);
            assert!(c.raw.contains(needle), "{plugin}, {what}: {}", c.raw);
            eprintln!("{plugin}: {what}: {}", c.raw.trim());
        };
        lab.cont.sh(&["ip", "route", "del", "default"]);
        drift("default route removed", "route 0.0.0.0/0");
        lab.cont.sh(&[
            "ip",
            "route",
            "add",
            "default",
            "via",
            "10.90.0.1",
            "dev",
            "eth0",
            "onlink",
        ]);
        assert_eq!(
            run_check().code,
            0,
            "{plugin}: route back: {}",
            run_check().raw
        );
        lab.cont.sh(&[
            "ip",
            "route",
            "replace",
            "default",
            "via",
            "10.90.0.77",
            "dev",
            "eth0",
            "onlink",
        ]);
        drift("default route changed", "route 0.0.0.0/0");
        lab.host
            .sh(&["iptables", "-w", "-t", "nat", "-F", "POSTROUTING"]);
        lab.cont.sh(&["ip", "addr", "flush", "dev", "eth0"]);
        drift("address removed", "address 10.90.0.2/24");
        lab.cont.sh(&["ip", "link", "del", "eth0"]);
        drift("interface gone", "gone");
        let r = run_plugin(&lab.host, plugin, &lab.call("DEL", &netns, "eth0"), &check);
        assert_eq!(r.code, 0, "{plugin} DEL: {}", r.raw);
        let nat = lab
            .host
            .try_sh(&["iptables", "-w", "-t", "nat", "-S"])
            .unwrap_or_default();
        assert!(
            !nat.contains("CNI-"),
            "{plugin}: masquerade chain left: {nat}"
        );
    }
}

/// The reference `tuning`, `portmap` and `firewall` follow ours in a chain: ADD passes the
/// result along, CHECK and DEL run in the spec's orders. The same chain run after the
/// reference `bridge` (in namespaces of its own) must end the same way at every step, and
/// after DEL the container is empty and our masquerade rules are gone.
#[test]
fn reference_plugins_chain_after_ours() {
    require!(true);
    for p in ["tuning", "portmap", "firewall"] {
        if !Path::new(REF_DIR).join(p).exists() {
            common::report_skip(
                "reference_plugins_chain_after_ours",
                &format!("no {REF_DIR}/{p}"),
            );
            return;
        }
    }
    let refdir = PathBuf::from(REF_DIR);
    let mut outcomes = Vec::new();
    // The reference tuning keeps its state in /run/cni/tuning (fixed); what it makes there for
    // this test goes at the end.
    let tuning_dir = Path::new("/run/cni/tuning");
    let made_run_cni = !Path::new("/run/cni").exists();
    let made_tuning = !tuning_dir.exists();
    for first in ["reference", "netplumb"] {
        let lab = Lab::new("chain");
        let dir = if first == "reference" {
            &refdir
        } else {
            &lab.dir
        };
        let netns = lab.cont.path();
        let before = lab.snapshot();
        let data = lab.data();
        let list = [
            format!(
                r#"{{"cniVersion":"1.0.0","name":"chain","type":"bridge","bridge":"cni-chain0","isGateway":true,"ipMasq":true,
                    "ipam":{{"type":"host-local","dataDir":"{data}","ranges":[[{{"subnet":"10.91.0.0/24"}}]],"routes":[{{"dst":"0.0.0.0/0"}}]}}}}"#
            ),
            r#"{"cniVersion":"1.0.0","name":"chain","type":"tuning","sysctl":{"net.ipv4.conf.eth0.rp_filter":"2"},"mac":"02:12:34:56:78:9a"}"#.to_string(),
            r#"{"cniVersion":"1.0.0","name":"chain","type":"portmap","capabilities":{"portMappings":true},
                "runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}}"#.to_string(),
            r#"{"cniVersion":"1.0.0","name":"chain","type":"firewall","backend":"iptables"}"#.to_string(),
        ];
        let types = ["bridge", "tuning", "portmap", "firewall"];
        let call = |cmd| {
            let mut c = lab.call(cmd, &netns, "eth0");
            c.path = dir;
            c
        };
        let mut prev = Value::Null;
        let mut steps = Vec::new();
        for (conf, t) in list.iter().zip(types) {
            let c = if prev.is_null() {
                conf.clone()
            } else {
                with_prev(conf, &prev)
            };
            let r = run_plugin(&lab.host, t, &call("ADD"), &c);
            assert_eq!(r.code, 0, "{first}: {t} ADD: {} {}", r.raw, r.err);
            steps.push(format!("ADD {t}: {}", r.code));
            prev = r.out;
        }
        // The final result still holds the address; tuning changed the MAC.
        assert_eq!(prev["ips"][0]["address"], "10.91.0.2/24", "{prev}");
        assert_eq!(prev["interfaces"][2]["mac"], "02:12:34:56:78:9a", "{prev}");
        let link = lab.cont.ip_json(&["link", "show", "eth0"]);
        assert_eq!(link[0]["address"], "02:12:34:56:78:9a");
        let nat = lab
            .host
            .try_sh(&["iptables", "-w", "-t", "nat", "-S"])
            .unwrap_or_default();
        assert!(nat.contains("18080"), "portmap's DNAT rules: {nat}");
        for (conf, t) in list.iter().zip(types) {
            let r = run_plugin(&lab.host, t, &call("CHECK"), &with_prev(conf, &prev));
            steps.push(format!(
                "CHECK {t}: {} {}",
                r.code,
                r.out.get("msg").and_then(Value::as_str).unwrap_or("")
            ));
            if t == "bridge" {
                assert_eq!(r.code, 0, "{first}: bridge CHECK: {} {}", r.raw, r.err);
            }
        }
        for (conf, t) in list.iter().zip(types).rev() {
            let r = run_plugin(&lab.host, t, &call("DEL"), &with_prev(conf, &prev));
            assert_eq!(r.code, 0, "{first}: {t} DEL: {} {}", r.raw, r.err);
            steps.push(format!("DEL {t}: {}", r.code));
        }
        assert_eq!(
            lab.snapshot()["cont"],
            before["cont"],
            "{first}: container after DEL"
        );
        let nat = lab
            .host
            .try_sh(&["iptables", "-w", "-t", "nat", "-S"])
            .unwrap_or_default();
        let masq = nat
            .lines()
            .filter(|l| l.contains("-s 10.91.0.2") || l.contains("id: \\\""))
            .count();
        assert_eq!(masq, 0, "{first}: masquerade rules left: {nat}");
        let links = common::links_by_name(&lab.host);
        assert_eq!(
            links,
            vec!["lo".to_string(), "cni-chain0".to_string()],
            "{first}: host links after DEL"
        );
        // Chain names hash the container's netns path, which differs between the two runs.
        let steps: Vec<String> = steps
            .into_iter()
            .map(|s| s.split(" chain CNI-").next().unwrap_or("").to_string())
            .collect();
        eprintln!("{first} chain: {steps:?}");
        outcomes.push(steps);
    }
    if made_tuning {
        let _ = std::fs::remove_dir(tuning_dir);
    }
    if made_run_cni {
        let _ = std::fs::remove_dir("/run/cni");
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "the chain behaves differently after ours"
    );
}

/// The reference host-local and ours share one store: each sees the other's reservations,
/// continues its round robin and releases its files.
#[test]
fn host_local_stores_are_one() {
    require!(true);
    let lab = Lab::new("store");
    let data = lab.data();
    let conf = |t: &str| {
        format!(
            r#"{{"cniVersion":"1.0.0","name":"shared","type":"bridge",
                "ipam":{{"type":"{t}","dataDir":"{data}","ranges":[[{{"subnet":"10.92.0.0/29"}}]]}}}}"#
        )
    };
    let refdir = PathBuf::from(REF_DIR);
    // Ours installed under the reference's name: `host-local` in a directory of its own.
    let as_host_local = lab.tmp.join("as-host-local");
    std::fs::create_dir_all(&as_host_local).unwrap();
    std::os::unix::fs::symlink(common::ours(), as_host_local.join("host-local")).unwrap();
    let mut got = Vec::new();
    for (i, (plugin, dir)) in [
        ("host-local", &refdir),
        ("netplumb-host-local", &lab.dir),
        ("host-local", &refdir),
        ("netplumb-host-local", &lab.dir),
        ("host-local", &as_host_local),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("store{i}");
        let call = Call {
            command: "ADD",
            id: &id,
            netns: "/run/netns/unused",
            ifname: "eth0",
            args: "",
            path: dir,
        };
        let t = if plugin == "host-local" {
            "host-local"
        } else {
            "netplumb-host-local"
        };
        let r = run_plugin(&lab.host, plugin, &call, &conf(t));
        assert_eq!(r.code, 0, "{plugin}: {} {}", r.raw, r.err);
        got.push(
            r.out["ips"][0]["address"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    assert_eq!(
        got,
        [
            "10.92.0.2/29",
            "10.92.0.3/29",
            "10.92.0.4/29",
            "10.92.0.5/29",
            "10.92.0.6/29"
        ]
    );
    let files = store_files(&Path::new(&data).join("shared"));
    let find = |n: &str| files.iter().find(|(f, _)| f == n).map(|(_, c)| c.clone());
    assert_eq!(find("10.92.0.3").as_deref(), Some("store1\r\neth0"));
    assert_eq!(find("10.92.0.4").as_deref(), Some("store2\r\neth0"));
    assert_eq!(find("last_reserved_ip.0").as_deref(), Some("10.92.0.6"));
    assert_eq!(find("10.92.0.6").as_deref(), Some("store4\r\neth0"));
    assert!(find("lock").is_some());
    // Ours releases the reference's reservation and vice versa.
    for (plugin, dir, id) in [
        ("netplumb-host-local", &lab.dir, "store0"),
        ("host-local", &refdir, "store1"),
    ] {
        let call = Call {
            command: "DEL",
            id,
            netns: "",
            ifname: "eth0",
            args: "",
            path: dir,
        };
        let t = if plugin == "host-local" {
            "host-local"
        } else {
            "netplumb-host-local"
        };
        let r = run_plugin(&lab.host, plugin, &call, &conf(t));
        assert_eq!(r.code, 0, "{plugin} DEL: {}", r.raw);
    }
    let files = store_files(&Path::new(&data).join("shared"));
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "10.92.0.4",
            "10.92.0.5",
            "10.92.0.6",
            "last_reserved_ip.0",
            "lock"
        ]
    );
}

/// STATUS and GC (spec 1.1.0): STATUS is 0 while addresses are free and 50 when the range is
/// exhausted; GC removes the reservations and masquerade rules of attachments not listed as
/// valid, and keeps the others; both refuse configurations older than 1.1.0.
#[test]
fn status_and_gc() {
    require!(true);
    let lab = Lab::new("gc");
    let data = lab.data();
    let conf = format!(
        r#"{{"cniVersion":"1.1.0","name":"gcnet","type":"bridge","bridge":"cni-gc0","isGateway":true,"ipMasq":true,
            "ipam":{{"type":"netplumb-host-local","dataDir":"{data}","ranges":[[{{"subnet":"10.94.0.0/29"}}]]}}}}"#
    );
    let other = Ns::new("c2");
    let paths = [lab.cont.path(), other.path()];
    let ids = ["gckeep01", "gcstale1"];
    let status = |c: &str| run_plugin(&lab.host, "bridge", &lab.call("STATUS", "", ""), c);
    let s = status(&conf);
    assert_eq!((s.code, s.raw.trim()), (0, ""), "STATUS: {}", s.raw);
    for (id, netns) in ids.iter().zip(&paths) {
        let mut call = lab.call("ADD", netns, "eth0");
        call.id = id;
        let r = run_plugin(&lab.host, "bridge", &call, &conf);
        assert_eq!(r.code, 0, "ADD {id}: {} {}", r.raw, r.err);
        assert_eq!(r.out["cniVersion"], "1.1.0");
    }
    let nat = || {
        lab.host
            .try_sh(&["iptables", "-w", "-t", "nat", "-S"])
            .unwrap_or_default()
    };
    assert_eq!(nat().matches("-A POSTROUTING").count(), 2, "{}", nat());
    // The container of gcstale1 is gone without a DEL; GC keeps only gckeep01.
    drop(other);
    let mut gc: Value = serde_json::from_str(&conf).unwrap();
    gc["cni.dev/valid-attachments"] =
        serde_json::json!([{"containerID": "gckeep01", "ifname": "eth0"}]);
    let r = run_plugin(
        &lab.host,
        "bridge",
        &lab.call("GC", "", ""),
        &gc.to_string(),
    );
    assert_eq!((r.code, r.raw.trim()), (0, ""), "GC: {} {}", r.raw, r.err);
    let files: Vec<String> = store_files(Path::new(&data))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(files.contains(&"gcnet/10.94.0.2".to_string()), "{files:?}");
    assert!(!files.contains(&"gcnet/10.94.0.3".to_string()), "{files:?}");
    let n = nat();
    assert_eq!(n.matches("-A POSTROUTING").count(), 1, "{n}");
    assert!(n.contains("gckeep01") && !n.contains("gcstale1"), "{n}");
    // Exhaust the range (.2 taken, .4 to .6 by hand): STATUS says 50.
    for ip in ["10.94.0.3", "10.94.0.4", "10.94.0.5", "10.94.0.6"] {
        std::fs::write(Path::new(&data).join("gcnet").join(ip), "x\r\neth0").unwrap();
    }
    let s = status(&conf);
    assert_eq!(s.error_code(), Some(50), "STATUS when exhausted: {}", s.raw);
    // Older configurations: STATUS and GC are refused as incompatible.
    let old = conf.replace("1.1.0", "1.0.0");
    assert_eq!(status(&old).error_code(), Some(1));
    let mut del = lab.call("DEL", &paths[0], "eth0");
    del.id = "gckeep01";
    let r = run_plugin(&lab.host, "bridge", &del, &conf);
    assert_eq!(r.code, 0, "DEL: {}", r.raw);
    assert!(!nat().contains("-A POSTROUTING"), "{}", nat());
}

/// Run under its own name (`netplumb-cni`), the binary is the plugin the configuration's `type`
/// names; an unknown type is an invalid configuration; VERSION lists the versions spoken.
#[test]
fn dispatch_by_config_type() {
    require!(true);
    let lab = Lab::new("dispatch");
    let generic = lab.tmp.join("generic");
    std::fs::create_dir_all(&generic).unwrap();
    std::os::unix::fs::symlink(common::ours(), generic.join("netplumb-cni")).unwrap();
    let netns = lab.cont.path();
    let conf = lab.conf("").replace(
        "\"type\":\"host-local\"",
        "\"type\":\"netplumb-host-local\"",
    );
    let mut call = lab.call("ADD", &netns, "eth0");
    call.path = &generic;
    let r = run_plugin(&lab.host, "netplumb-cni", &call, &conf);
    assert_eq!(r.code, 0, "{} {}", r.raw, r.err);
    assert_eq!(r.out["interfaces"][0]["name"], "cni-bad0");
    assert_eq!(common::links_by_name(&lab.cont), ["lo", "eth0"]);
    call.command = "DEL";
    assert_eq!(run_plugin(&lab.host, "netplumb-cni", &call, &conf).code, 0);
    call.command = "ADD";
    let bad = conf.replace("\"type\":\"bridge\"", "\"type\":\"npcni-nonsense\"");
    // The bridge's own link-local address and carrier settle after the DEL first.
    lab.host.settled_state();
    let before = lab.snapshot();
    let r = run_plugin(&lab.host, "netplumb-cni", &call, &bad);
    assert_eq!(r.error_code(), Some(7), "{}", r.raw);
    assert_eq!(before, lab.snapshot());
    call.command = "VERSION";
    let r = run_plugin(
        &lab.host,
        "netplumb-cni",
        &call,
        "{\"cniVersion\":\"0.4.0\"}",
    );
    assert_eq!(r.code, 0);
    assert_eq!(r.out["cniVersion"], "0.4.0");
    let versions: Vec<&str> = r.out["supportedVersions"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(versions, ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
}
