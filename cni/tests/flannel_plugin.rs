//! The `flannel` plugin on its own (no agent: the subnet file written by hand, as flanneld
//! writes it): ADD renders flannel's delegate configuration, keeps it in `dataDir` and execs
//! the delegate from `CNI_PATH` — our `bridge` and `host-local`, or the reference ones — and
//! both give the same kernel state, checked with iproute2; CHECK and DEL go to the same
//! delegate with the stored configuration; and a missing or malformed subnet file, or a bad
//! `delegate`, is refused with the spec's error object and changes nothing.
mod common;

use std::path::{Path, PathBuf};

use common::{
    diff, normalize, our_plugin_dir, ours, run_plugin, sorted, store_files, Call, Ns, TempDir,
    REF_DIR,
};
use serde_json::{json, Value};

const ENV: &str =
    "FLANNEL_NETWORK=10.96.0.0/16\nFLANNEL_SUBNET=10.96.7.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n";

/// A plugin directory: `flannel` is ours; `bridge` and `host-local` ours or the reference's.
fn plugin_dir(tmp: &TempDir, reference: bool) -> PathBuf {
    let d = if reference {
        let d = tmp.join("refplugins");
        std::fs::create_dir_all(&d).expect("mkdir");
        for n in ["bridge", "host-local", "loopback"] {
            std::os::unix::fs::symlink(Path::new(REF_DIR).join(n), d.join(n)).expect("symlink");
        }
        d
    } else {
        our_plugin_dir(tmp)
    };
    std::os::unix::fs::symlink(ours(), d.join("flannel")).expect("symlink");
    d
}

fn conf(tmp: &TempDir, version: &str, extra: &str) -> String {
    format!(
        r#"{{"cniVersion":"{version}","name":"fl","type":"flannel","subnetFile":"{}",
           "dataDir":"{}","ipam":{{"dataDir":"{}"}}{extra}}}"#,
        tmp.join("subnet.env").display(),
        tmp.join("flannel").display(),
        tmp.join("ipam").display()
    )
}

fn call<'a>(command: &'a str, netns: &'a str, path: &'a Path) -> Call<'a> {
    Call {
        command,
        id: "flannel0001",
        netns,
        ifname: "eth0",
        args: "",
        path,
    }
}

#[test]
fn flannel_refusals_change_nothing() {
    require!(false);
    let tmp = TempDir::new("flref");
    let dir = plugin_dir(&tmp, false);
    let host = Ns::new("flh");
    let cont = Ns::new("flc");
    let netns = cont.path();
    let snapshot = || {
        json!({
            "host": normalize(&host.settled_state()),
            "cont": normalize(&cont.settled_state()),
            "ipam": store_files(&tmp.join("ipam")),
            "flannel": store_files(&tmp.join("flannel")),
        })
    };
    let before = snapshot();
    let cases: &[(&str, Option<&str>, &str, u64, &str)] = &[
        ("no subnet file", None, "", 11, "no such file"),
        (
            "no FLANNEL_MTU",
            Some("FLANNEL_NETWORK=10.96.0.0/16\nFLANNEL_SUBNET=10.96.7.1/24\nFLANNEL_IPMASQ=true\n"),
            "",
            6,
            "is missing FLANNEL_MTU",
        ),
        (
            "empty subnet file",
            Some(""),
            "",
            6,
            "is missing FLANNEL_NETWORK or FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ",
        ),
        (
            "FLANNEL_SUBNET not a CIDR",
            Some(&ENV.replace("10.96.7.1/24", "10.96.7.300/24")),
            "",
            6,
            "line 2: FLANNEL_SUBNET=\"10.96.7.300/24\" is not an IPv4 CIDR",
        ),
        (
            "delegate names itself",
            Some(ENV),
            r#","delegate":{"name":"x"}"#,
            7,
            "must not have 'name'",
        ),
        (
            "delegate sets ipam",
            Some(ENV),
            r#","delegate":{"ipam":{"type":"host-local"}}"#,
            7,
            "must not have 'ipam'",
        ),
        (
            "delegate type not a string",
            Some(ENV),
            r#","delegate":{"type":1}"#,
            7,
            "(string) 'type'",
        ),
        (
            "delegate is flannel",
            Some(ENV),
            r#","delegate":{"type":"flannel"}"#,
            7,
            "would run flannel again",
        ),
        (
            "delegate not in CNI_PATH",
            Some(ENV),
            r#","delegate":{"type":"nosuchplugin"}"#,
            7,
            "no executable \"nosuchplugin\"",
        ),
    ];
    for (what, file, extra, code, text) in cases {
        let env_path = tmp.join("subnet.env");
        match file {
            Some(f) => std::fs::write(&env_path, f).expect("write subnet.env"),
            None => {
                let _ = std::fs::remove_file(&env_path);
            }
        }
        let r = run_plugin(
            &host,
            "flannel",
            &call("ADD", &netns, &dir),
            &conf(&tmp, "1.0.0", extra),
        );
        assert_ne!(r.code, 0, "{what}: {}", r.raw);
        assert_eq!(r.error_code(), Some(*code), "{what}: {} {}", r.raw, r.err);
        assert_eq!(r.out["cniVersion"], "1.0.0", "{what}: {}", r.raw);
        let all = format!(
            "{} {}",
            r.out["msg"].as_str().unwrap_or(""),
            r.out["details"].as_str().unwrap_or("")
        );
        assert!(all.contains(text), "{what}: {all}");
        eprintln!("refused as expected: {what}: {}", r.raw.trim());
        // A delegate that cannot be run leaves its rendered configuration (flannel writes it
        // before the delegate runs, for the DEL that follows a failed ADD); DEL removes it.
        if text.contains("no executable") {
            assert!(tmp.join("flannel/flannel0001").exists(), "{what}");
            let r = run_plugin(
                &host,
                "flannel",
                &call("DEL", &netns, &dir),
                &conf(&tmp, "1.0.0", extra),
            );
            assert_ne!(r.code, 0, "{what}: DEL runs the same missing delegate");
            std::fs::remove_file(tmp.join("flannel/flannel0001")).expect("rm");
        }
        let _ = std::fs::remove_file(&env_path);
        assert_eq!(snapshot(), before, "{what}: state changed");
    }
    // STATUS (1.1.0): not available without a valid subnet file, ready with one.
    let r = run_plugin(
        &host,
        "flannel",
        &call("STATUS", "", &dir),
        &conf(&tmp, "1.1.0", ""),
    );
    assert_eq!(r.error_code(), Some(50), "{}", r.raw);
    std::fs::write(tmp.join("subnet.env"), ENV).expect("write");
    let r = run_plugin(
        &host,
        "flannel",
        &call("STATUS", "", &dir),
        &conf(&tmp, "1.1.0", ""),
    );
    assert_eq!((r.code, r.raw.trim()), (0, ""), "{}", r.err);
    // DEL of a container never added: success, nothing done.
    let r = run_plugin(
        &host,
        "flannel",
        &call("DEL", &netns, &dir),
        &conf(&tmp, "1.0.0", ""),
    );
    assert_eq!((r.code, r.raw.trim()), (0, ""), "{}", r.err);
    std::fs::remove_file(tmp.join("subnet.env")).expect("rm");
    assert_eq!(snapshot(), before, "DEL of nothing changed something");
}

struct Side {
    host: Ns,
    cont: Ns,
    tmp: TempDir,
    dir: PathBuf,
    result: Value,
}

fn add_side(reference: bool) -> Side {
    let tag = if reference { "r" } else { "o" };
    let tmp = TempDir::new(&format!("fl{tag}"));
    let dir = plugin_dir(&tmp, reference);
    let host = Ns::new(&format!("flh{tag}"));
    let cont = Ns::new(&format!("flc{tag}"));
    std::fs::write(tmp.join("subnet.env"), ENV).expect("write subnet.env");
    let netns = cont.path();
    let r = run_plugin(
        &host,
        "flannel",
        &call("ADD", &netns, &dir),
        &conf(&tmp, "0.4.0", r#","delegate":{"bridge":"cni-fl0"}"#),
    );
    assert_eq!(r.code, 0, "ADD ({tag}): {} {}", r.raw, r.err);
    Side {
        host,
        cont,
        tmp,
        dir,
        result: r.out,
    }
}

#[test]
fn flannel_delegates_to_our_bridge_and_the_reference_alike() {
    require!(true);
    let o = add_side(false);
    let r = add_side(true);
    for (tag, s) in [("netplumb", &o), ("reference", &r)] {
        // The result is the delegate's, in the version asked for.
        let res = &s.result;
        assert_eq!(res["cniVersion"], "0.4.0", "{tag}: {res}");
        assert_eq!(res["interfaces"][0]["name"], "cni-fl0", "{tag}: {res}");
        assert_eq!(res["interfaces"][2]["name"], "eth0", "{tag}: {res}");
        assert_eq!(res["ips"][0]["address"], "10.96.7.2/24", "{tag}: {res}");
        assert_eq!(res["ips"][0]["gateway"], "10.96.7.1", "{tag}: {res}");
        assert_eq!(
            res["routes"],
            json!([{"dst":"10.96.0.0/16"}]),
            "{tag}: {res}"
        );
        // iproute2: the container's address, MTU and route to the flannel network; the
        // host's bridge with the gateway address and the MTU.
        let a = s.cont.ip_json(&["addr", "show", "eth0"]);
        assert_eq!(a[0]["mtu"], 1400, "{tag}: {a}");
        assert!(
            a[0]["addr_info"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["local"] == "10.96.7.2" && x["prefixlen"] == 24),
            "{tag}: {a}"
        );
        let routes = s.cont.ip_json(&["route"]);
        assert!(
            routes
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["dst"] == "10.96.0.0/16" && x["gateway"] == "10.96.7.1"),
            "{tag}: {routes}"
        );
        let b = s.host.ip_json(&["addr", "show", "cni-fl0"]);
        assert_eq!(b[0]["mtu"], 1400, "{tag}: {b}");
        assert!(
            b[0]["addr_info"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["local"] == "10.96.7.1" && x["prefixlen"] == 24),
            "{tag}: {b}"
        );
        // FLANNEL_IPMASQ=true: the agent masquerades, so the plugin does not.
        let nat = s
            .host
            .try_sh(&["iptables", "-w", "-t", "nat", "-S"])
            .unwrap_or_default();
        assert!(!nat.contains("CNI-"), "{tag}: {nat}");
        // The stored delegate configuration, exactly as flannel renders it.
        let stored: Value = serde_json::from_slice(
            &std::fs::read(s.tmp.join("flannel/flannel0001")).expect("stored"),
        )
        .unwrap();
        assert_eq!(
            stored,
            json!({"cniVersion":"0.4.0","name":"fl","type":"bridge","bridge":"cni-fl0",
                "ipMasq":false,"mtu":1400,"isGateway":true,
                "ipam":{"type":"host-local","dataDir":s.tmp.join("ipam").display().to_string(),
                    "ranges":[[{"subnet":"10.96.7.0/24"}]],"routes":[{"dst":"10.96.0.0/16"}]}}),
            "{tag}"
        );
    }
    // Our bridge and the reference's, behind flannel, make the same kernel state.
    let mut d = Vec::new();
    for (aspect, a, b) in [
        ("result", r.result.clone(), o.result.clone()),
        ("host", r.host.settled_state(), o.host.settled_state()),
        ("container", r.cont.settled_state(), o.cont.settled_state()),
    ] {
        diff(
            aspect,
            &sorted(normalize(&a)),
            &sorted(normalize(&b)),
            &mut d,
        );
    }
    d.retain(|(path, _, _)| !path.contains("].txqlen"));
    assert!(d.is_empty(), "reference vs netplumb behind flannel: {d:?}");
    for (tag, s) in [("netplumb", &o), ("reference", &r)] {
        let netns = s.cont.path();
        let with_prev = |command: &str| {
            let mut v: Value = serde_json::from_str(&conf(
                &s.tmp,
                "0.4.0",
                r#","delegate":{"bridge":"cni-fl0"}"#,
            ))
            .unwrap();
            if command == "CHECK" {
                v["prevResult"] = s.result.clone();
            }
            v.to_string()
        };
        let c = run_plugin(
            &s.host,
            "flannel",
            &call("CHECK", &netns, &s.dir),
            &with_prev("CHECK"),
        );
        if tag == "reference" {
            // The reference bridge's own CHECK does not find the gateway-less route of its
            // result (10.96.0.0/16, which its ADD added via the gateway) and fails with 999:
            // flannel passes its error object on, code and message.
            assert_eq!(c.error_code(), Some(999), "{}", c.raw);
            assert!(
                c.out["msg"].as_str().is_some_and(
                    |m| m.starts_with("failed to delegate CHECK to \"bridge\": Expected Route")
                ),
                "{}",
                c.raw
            );
        } else {
            assert_eq!((c.code, c.raw.trim()), (0, ""), "CHECK ({tag}): {}", c.err);
        }
        // Drift: the container's address gone; the delegate's CHECK says so through flannel.
        s.cont
            .sh(&["ip", "addr", "del", "10.96.7.2/24", "dev", "eth0"]);
        let c = run_plugin(
            &s.host,
            "flannel",
            &call("CHECK", &netns, &s.dir),
            &with_prev("CHECK"),
        );
        assert_ne!(c.code, 0, "CHECK ({tag}) after drift: {}", c.raw);
        for _ in 0..2 {
            let r = run_plugin(
                &s.host,
                "flannel",
                &call("DEL", &netns, &s.dir),
                &with_prev("DEL"),
            );
            assert_eq!((r.code, r.raw.trim()), (0, ""), "DEL ({tag}): {}", r.err);
        }
        assert_eq!(
            common::links_by_name(&s.cont),
            vec!["lo".to_string()],
            "{tag}: DEL left links"
        );
        assert!(
            !s.tmp.join("flannel/flannel0001").exists(),
            "{tag}: stored conf left"
        );
        let files = store_files(&s.tmp.join("ipam"));
        assert!(
            files.iter().all(|(n, _)| !n.ends_with("10.96.7.2")),
            "{tag}: {files:?}"
        );
    }
}
