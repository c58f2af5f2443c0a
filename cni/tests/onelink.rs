//! The one-link plugins (`dummy`, `tap`, `ipvlan`, `vlan`) where Debian's reference plugins
//! (1.1.1, in /usr/lib/cni) have no counterpart (`dummy` and `tap` came in 1.2), and their bad
//! input: ADD checked against iproute2's JSON (the link's kind and settings, its addresses and
//! routes) and the result JSON against both; CHECK passes, then reports drift with code 101;
//! a failure after the link is made leaves nothing (no link, no reservation); DEL twice and
//! DEL for a container never added succeed and change nothing; bad configurations are refused
//! with the spec's codes and change nothing.
mod common;

use std::path::{Path, PathBuf};

use common::{normalize, our_plugin_dir, run_plugin, store_files, Call, Ns, Run, TempDir};
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

    /// A configuration of `plugin` with `extra` fields and host-local on 10.91.0.0/24
    /// (`ipam: false` leaves IPAM out).
    fn conf(&self, plugin: &str, extra: &str, ipam: bool) -> String {
        let ipam = if ipam {
            format!(
                r#","ipam":{{"type":"host-local","dataDir":"{}","ranges":[[{{"subnet":"10.91.0.0/24"}}]],
                    "routes":[{{"dst":"0.0.0.0/0"}}]}}"#,
                self.data()
            )
        } else {
            String::new()
        };
        format!(r#"{{"cniVersion":"1.0.0","name":"one","type":"{plugin}"{extra}{ipam}}}"#)
    }

    fn run(&self, plugin: &str, command: &str, conf: &str) -> Run {
        let netns = self.cont.path();
        let call = Call {
            command,
            id: "one0001",
            netns: &netns,
            ifname: "eth0",
            args: "",
            path: &self.dir,
        };
        run_plugin(&self.host, plugin, &call, conf)
    }

    fn snapshot(&self) -> Value {
        self.host.settled_state();
        self.cont.settled_state();
        serde_json::json!({
            "host": normalize(&self.host.state()),
            "cont": normalize(&self.cont.state()),
            "store": store_files(Path::new(&self.data())),
        })
    }

    /// The container's eth0 as `ip -j -d link` shows it.
    fn eth0(&self) -> Value {
        self.cont
            .ip_json(&["-d", "link", "show", "eth0"])
            .get(0)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The store's reservation files (not the lock or last_reserved_ip).
    fn reservations(&self) -> Vec<String> {
        store_files(Path::new(&self.data()))
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !n.ends_with("/lock") && !n.contains("last_reserved_ip"))
            .collect()
    }
}

fn with_prev(conf: &str, prev: &Value) -> String {
    let mut v: Value = serde_json::from_str(conf).expect("conf");
    v["prevResult"] = prev.clone();
    v.to_string()
}

/// ADD's result agrees with the kernel: one interface eth0 in the container's sandbox whose
/// MAC is the link's, every address on eth0, every route in the container's table.
fn result_matches_kernel(lab: &Lab, r: &Value) {
    let ifs = r["interfaces"].as_array().expect("interfaces");
    assert_eq!(ifs.len(), 1, "{r}");
    assert_eq!(ifs[0]["name"], "eth0");
    assert_eq!(ifs[0]["sandbox"], lab.cont.path().as_str());
    let link = lab.eth0();
    assert_eq!(ifs[0]["mac"], link["address"], "result MAC vs ip link");
    let addrs = lab.cont.ip_json(&["addr", "show", "eth0"]);
    let on_link: Vec<String> = addrs[0]["addr_info"]
        .as_array()
        .expect("addr_info")
        .iter()
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or(""), a["prefixlen"]))
        .collect();
    let none = Vec::new();
    for ip in r["ips"].as_array().unwrap_or(&none) {
        assert_eq!(ip["interface"], 0, "{r}");
        let a = ip["address"].as_str().expect("address");
        assert!(
            on_link.iter().any(|x| x == a),
            "{a} not on eth0: {on_link:?}"
        );
    }
    let routes = lab.cont.ip_json(&["route"]);
    for rt in r["routes"].as_array().unwrap_or(&none) {
        let dst = rt["dst"].as_str().expect("dst");
        let dst = if dst == "0.0.0.0/0" { "default" } else { dst };
        assert!(
            routes
                .as_array()
                .expect("routes")
                .iter()
                .any(|x| x["dst"] == dst),
            "route {dst} missing: {routes}"
        );
    }
}

/// ADD, CHECK, drift (an address removed), DEL, DEL again: for one configuration.
fn lifecycle(lab: &Lab, plugin: &str, conf: &str, kind: &str, settings: &[(&str, Value)]) {
    let before = lab.snapshot();
    let r = lab.run(plugin, "ADD", conf);
    assert_eq!(r.code, 0, "{plugin} ADD: {} {}", r.raw, r.err);
    result_matches_kernel(lab, &r.out);
    let link = lab.eth0();
    assert_eq!(link["linkinfo"]["info_kind"], kind, "{link}");
    assert!(
        link["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "UP")),
        "eth0 is not up: {link}"
    );
    for (path, want) in settings {
        let got = path
            .split('.')
            .fold(&link, |v, k| v.get(k).unwrap_or(&Value::Null));
        assert_eq!(got, want, "{plugin}: {path} in {link}");
    }
    let with = with_prev(conf, &r.out);
    let c = lab.run(plugin, "CHECK", &with);
    assert_eq!(c.code, 0, "{plugin} CHECK: {} {}", c.raw, c.err);
    if let Some(ip) = r.out["ips"].get(0) {
        let a = ip["address"].as_str().expect("address");
        lab.cont.sh(&["ip", "addr", "del", a, "dev", "eth0"]);
        let c = lab.run(plugin, "CHECK", &with);
        assert_eq!(
            c.error_code(),
            Some(101),
            "{plugin} CHECK after drift: {}",
            c.raw
        );
    }
    for n in 0..2 {
        let d = lab.run(plugin, "DEL", &with);
        assert_eq!(d.code, 0, "{plugin} DEL #{n}: {} {}", d.raw, d.err);
        assert_eq!(
            common::links_by_name(&lab.cont),
            ["lo"],
            "{plugin} DEL #{n}"
        );
        assert!(lab.reservations().is_empty(), "{:?}", lab.reservations());
    }
    // After DEL, CHECK fails: IPAM's CHECK first (no reservation) when there is IPAM, else
    // the interface is gone (101).
    let c = lab.run(plugin, "CHECK", &with);
    assert!(
        c.code != 0 && c.error_code().is_some(),
        "{plugin} CHECK after DEL: {}",
        c.raw
    );
    if r.out["ips"].as_array().is_none_or(|a| a.is_empty()) {
        assert_eq!(
            c.error_code(),
            Some(101),
            "{plugin} CHECK after DEL: {}",
            c.raw
        );
    }
    // What ADD changed in the host is gone: the host as before (the store keeps its lock).
    let after = lab.snapshot();
    assert_eq!(before["host"], after["host"], "{plugin}: host changed");
    assert_eq!(before["cont"], after["cont"], "{plugin}: container changed");
}

#[test]
fn tap_with_and_without_ipam() {
    require!(true);
    require_kind!("tun");
    let lab = Lab::new("tap");
    // Layer 3, the netlink path of the reference (owner and group: vnet_hdr on).
    let conf = lab.conf(
        "tap",
        r#","mtu":1400,"multiQueue":true,"owner":0,"group":0,"mac":"02:00:00:00:91:01""#,
        true,
    );
    lifecycle(
        &lab,
        "tap",
        &conf,
        "tun",
        &[
            ("mtu", 1400.into()),
            ("address", "02:00:00:00:91:01".into()),
            ("linkinfo.info_data.type", "tap".into()),
            ("linkinfo.info_data.multi_queue", true.into()),
            ("linkinfo.info_data.vnet_hdr", true.into()),
            ("linkinfo.info_data.persist", true.into()),
            ("linkinfo.info_data.user", "root".into()),
            ("linkinfo.info_data.group", "root".into()),
        ],
    );
    // Layer 2 (no IPAM): the tap is only up; no owner: vnet_hdr off, as `ip tuntap` makes it.
    let conf = lab.conf("tap", "", false);
    lifecycle(
        &lab,
        "tap",
        &conf,
        "tun",
        &[
            ("linkinfo.info_data.type", "tap".into()),
            ("linkinfo.info_data.vnet_hdr", false.into()),
            ("linkinfo.info_data.multi_queue", false.into()),
        ],
    );
}

#[test]
fn tap_on_a_bridge_in_the_container() {
    require!(true);
    require_kind!("tun");
    let lab = Lab::new("tapbr");
    lab.cont.sh(&["ip", "link", "add", "br0", "type", "bridge"]);
    let conf = lab.conf("tap", r#","bridge":"br0""#, false);
    let r = lab.run("tap", "ADD", &conf);
    assert_eq!(r.code, 0, "{} {}", r.raw, r.err);
    assert_eq!(lab.eth0()["master"], "br0", "{}", lab.eth0());
    let with = with_prev(&conf, &r.out);
    assert_eq!(lab.run("tap", "CHECK", &with).code, 0);
    lab.cont.sh(&["ip", "link", "set", "eth0", "nomaster"]);
    let c = lab.run("tap", "CHECK", &with);
    assert_eq!(c.error_code(), Some(101), "{}", c.raw);
    assert_eq!(lab.run("tap", "DEL", &with).code, 0);
    assert_eq!(common::links_by_name(&lab.cont), ["lo", "br0"]);
    // A bridge that is not there, or not a bridge: refused, nothing made.
    for (what, extra) in [
        ("missing bridge", r#","bridge":"br9""#),
        ("not a bridge", r#","bridge":"lo""#),
    ] {
        let before = lab.snapshot();
        let r = lab.run("tap", "ADD", &lab.conf("tap", extra, true));
        assert_eq!(r.error_code(), Some(7), "{what}: {}", r.raw);
        assert_eq!(before, lab.snapshot(), "{what}: state changed");
    }
}

#[test]
fn dummy_lifecycle() {
    require!(true);
    require_kind!("dummy");
    let lab = Lab::new("dummy");
    let conf = lab.conf("dummy", "", true);
    lifecycle(&lab, "dummy", &conf, "dummy", &[]);
}

#[test]
fn ipvlan_and_vlan_lifecycle() {
    require!(true);
    require_kind!("ipvlan");
    require_kind!("vlan");
    let lab = Lab::new("ipvl");
    lab.host.sh(&[
        "ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1",
    ]);
    lab.host.sh(&["ip", "link", "set", "up0", "up"]);
    let conf = lab.conf("ipvlan", r#","master":"up0","mode":"l3s","mtu":1300"#, true);
    lifecycle(
        &lab,
        "ipvlan",
        &conf,
        "ipvlan",
        &[
            ("mtu", 1300.into()),
            ("linkinfo.info_data.mode", "l3s".into()),
        ],
    );
    let conf = lab.conf("vlan", r#","master":"up0","vlanId":42"#, true);
    lifecycle(
        &lab,
        "vlan",
        &conf,
        "vlan",
        &[("linkinfo.info_data.id", 42.into())],
    );
    // linkInContainer: the master is the container's own.
    lab.cont.sh(&[
        "ip", "link", "add", "cm0", "type", "veth", "peer", "name", "cm1",
    ]);
    lab.cont.sh(&["ip", "link", "set", "cm0", "up"]);
    for (plugin, extra, kind) in [
        (
            "vlan",
            r#","master":"cm0","vlanId":7,"linkInContainer":true"#,
            "vlan",
        ),
        (
            "ipvlan",
            r#","master":"cm0","linkInContainer":true"#,
            "ipvlan",
        ),
    ] {
        let conf = lab.conf(plugin, extra, true);
        let r = lab.run(plugin, "ADD", &conf);
        assert_eq!(r.code, 0, "{plugin} linkInContainer: {} {}", r.raw, r.err);
        assert_eq!(lab.eth0()["linkinfo"]["info_kind"], kind);
        assert_eq!(lab.eth0()["link"], "cm0", "{}", lab.eth0());
        let with = with_prev(&conf, &r.out);
        assert_eq!(lab.run(plugin, "CHECK", &with).code, 0);
        assert_eq!(lab.run(plugin, "DEL", &with).code, 0);
        let mut links = common::links_by_name(&lab.cont);
        links.sort();
        assert_eq!(links, ["cm0", "cm1", "lo"]);
    }
    // Chained ipvlan without IPAM: the master is prevResult's single interface and its
    // addresses move onto the ipvlan; the result is the ipvlan's alone.
    let prev = serde_json::json!({"cniVersion": "1.0.0", "interfaces": [{"name": "up0"}],
        "ips": [{"address": "10.91.0.77/24", "gateway": "10.91.0.1", "interface": 0}],
        "routes": [{"dst": "0.0.0.0/0"}]});
    let conf = with_prev(&lab.conf("ipvlan", "", false), &prev);
    let r = lab.run("ipvlan", "ADD", &conf);
    assert_eq!(r.code, 0, "chained ipvlan: {} {}", r.raw, r.err);
    result_matches_kernel(&lab, &r.out);
    assert_eq!(r.out["ips"][0]["address"], "10.91.0.77/24", "{}", r.out);
    assert_eq!(lab.eth0()["linkinfo"]["info_kind"], "ipvlan");
    let with = with_prev(&lab.conf("ipvlan", "", false), &r.out);
    assert_eq!(lab.run("ipvlan", "CHECK", &with).code, 0);
    assert_eq!(lab.run("ipvlan", "DEL", &with).code, 0);
    assert!(!common::links_by_name(&lab.cont).contains(&"eth0".to_string()));
    // A failure after the link is made (IPAM refuses a /31 while the link is being made):
    // no link, no reservation.
    for (plugin, extra) in [
        ("ipvlan", r#","master":"up0""#),
        ("vlan", r#","master":"up0","vlanId":43"#),
        ("dummy", ""),
    ] {
        if plugin == "dummy" && common::kind_missing("dummy").is_some() {
            continue;
        }
        let before = lab.snapshot();
        let conf = lab
            .conf(plugin, extra, true)
            .replace("10.91.0.0/24", "10.91.0.0/31");
        let r = lab.run(plugin, "ADD", &conf);
        assert_ne!(r.code, 0, "{plugin}: {}", r.raw);
        assert_eq!(before, lab.snapshot(), "{plugin}: IPAM failure left state");
    }
}

/// Bad configurations of the new plugins: refused with the spec's code before anything is
/// made (they need no kernel module: the checks come first).
#[test]
fn one_link_bad_input_changes_nothing() {
    require!(true);
    let lab = Lab::new("onebad");
    lab.host.sh(&[
        "ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1",
    ]);
    let cases: &[(&str, &str, &str, bool, u64)] = &[
        ("vlan without master", "vlan", r#","vlanId":5"#, true, 7),
        (
            "vlan id 5000",
            "vlan",
            r#","master":"up0","vlanId":5000"#,
            true,
            7,
        ),
        (
            "vlan id 0",
            "vlan",
            r#","master":"up0","vlanId":0"#,
            true,
            7,
        ),
        (
            "vlan master missing",
            "vlan",
            r#","master":"nope0","vlanId":5"#,
            true,
            7,
        ),
        (
            "vlan mtu above master's",
            "vlan",
            r#","master":"up0","vlanId":5,"mtu":9000"#,
            true,
            7,
        ),
        (
            "vlan without ipam",
            "vlan",
            r#","master":"up0","vlanId":5"#,
            false,
            7,
        ),
        (
            "vlan id not a number",
            "vlan",
            r#","master":"up0","vlanId":"5""#,
            true,
            6,
        ),
        (
            "ipvlan unknown mode",
            "ipvlan",
            r#","master":"up0","mode":"l4""#,
            true,
            7,
        ),
        (
            "ipvlan master missing",
            "ipvlan",
            r#","master":"nope0""#,
            true,
            7,
        ),
        (
            "ipvlan mtu above master's",
            "ipvlan",
            r#","master":"up0","mtu":9000"#,
            true,
            7,
        ),
        (
            "ipvlan without ipam or prevResult",
            "ipvlan",
            r#","master":"up0""#,
            false,
            7,
        ),
        ("dummy without ipam", "dummy", "", false, 7),
        (
            "tap selinuxContext",
            "tap",
            r#","selinuxContext":"system_u:x""#,
            true,
            2,
        ),
        ("tap bad mac", "tap", r#","mac":"02:zz""#, true, 7),
        ("tap mtu 20", "tap", r#","mtu":20"#, true, 7),
        (
            "tap owner not a number",
            "tap",
            r#","owner":"root""#,
            true,
            6,
        ),
        // Known only when the device is made: without IPAM, so that no reservation is made.
        (
            "tap unknown owner",
            "tap",
            r#","owner":4000000000"#,
            false,
            7,
        ),
    ];
    for (what, plugin, extra, ipam, code) in cases {
        let before = lab.snapshot();
        let r = lab.run(plugin, "ADD", &lab.conf(plugin, extra, *ipam));
        assert_ne!(r.code, 0, "{what}: exit 0: {}", r.raw);
        assert_eq!(r.error_code(), Some(*code), "{what}: {} {}", r.raw, r.err);
        assert!(r.out.get("cniVersion").is_some(), "{what}: {}", r.raw);
        assert_eq!(before, lab.snapshot(), "{what}: state changed");
        eprintln!("refused as expected: {what}: {}", r.raw.trim());
    }
    // DEL for a container never added: success, nothing changed, for every new plugin.
    let before = lab.snapshot();
    for (plugin, extra) in [
        ("vlan", r#","master":"up0","vlanId":5"#),
        ("vlan", r#","master":"gone0","vlanId":5"#),
        ("ipvlan", r#","master":"up0""#),
        ("dummy", ""),
        ("tap", ""),
    ] {
        // Our IPAM: the reference host-local makes its store on a DEL of nothing.
        let conf = lab
            .conf(plugin, extra, true)
            .replace("\"host-local\"", "\"netplumb-host-local\"");
        let d = lab.run(plugin, "DEL", &conf);
        assert_eq!(d.code, 0, "{plugin} DEL never added: {} {}", d.raw, d.err);
    }
    assert_eq!(before, lab.snapshot(), "DEL of nothing changed state");
}
