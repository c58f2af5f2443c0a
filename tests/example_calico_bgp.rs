//! Calico's BGP mode with BIRD, run as a root test: a full mesh whose kernels and daemons are
//! checked against iproute2's and birdc's views (`--keep`), and a route-reflector run that must
//! leave nothing behind. Skips, saying why, when BIRD 2 is not installed.

mod common;

#[allow(dead_code)]
#[path = "../examples/calico_bgp.rs"]
mod calico_bgp;

use std::process::Command;

use calico_bgp::Options;
use common::{assert_lab_gone, unique_name, OnDrop};
use netplumb::NetNs;
use netplumb_lab::bird::bird_version;
use serde_json::Value;

/// Returns early, printing why, when BIRD cannot run here.
macro_rules! require_bird {
    () => {
        if let Err(e) = bird_version() {
            common::report_skip(&common::test_name(), &e.to_string());
            return;
        }
    };
}

fn json(ns: &str, args: &[&str]) -> Value {
    common::run_json(&NetNs::open(ns).unwrap(), "ip", args)
}

#[test]
fn full_mesh_converges_echoes_and_withdraws() {
    require_root!();
    require_bird!();
    let prefix = unique_name("np-t-cbgp");
    let p = prefix.clone();
    let sweep = OnDrop(move || {
        let _ = netplumb_lab::sweep(&p);
    });
    let s = calico_bgp::run(&Options {
        hosts: 3,
        pods: 2,
        prefix: prefix.clone(),
        keep: true,
        ..Options::default()
    })
    .unwrap();
    assert_eq!((s.hosts, s.pods, s.sessions, s.established), (3, 6, 3, 6));
    assert_eq!(s.converged.len(), 3);
    assert_eq!(s.bird_routes, 6, "each host learns the 2 other blocks");
    assert_eq!((s.echoes, s.answered), (24, 24));
    assert_eq!((s.withdrawn_host, s.withdrawn.len()), (3, 2));
    // Live events only (not the snapshots): at least the 6 block routes arriving, host3's
    // blackhole going and its block leaving the 2 other kernels.
    assert!(
        s.events >= 9,
        "the monitors saw the routes come and go: {}",
        s.events
    );

    // What is left after host3 released its block, as iproute2 sees it: on host2, exactly
    // host1's block from BIRD, via host1 — no pod /32 leaked through the export filter, and
    // nothing of host3's block.
    let h2 = format!("{prefix}-host2");
    let bird = json(&h2, &["-j", "route", "show", "proto", "bird"]);
    let bird: Vec<(&str, &str, &str)> = bird
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dst"].as_str().unwrap(),
                r["gateway"].as_str().unwrap_or("-"),
                r["dev"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(bird, vec![("10.65.1.0/26", "192.168.100.1", "eth0")]);
    // Felix's own routes are still there beside it: the pods' /32s and the blackhole.
    let all = json(&h2, &["-j", "route", "show"]);
    let all = all.as_array().unwrap();
    assert!(all
        .iter()
        .any(|r| r["type"] == "blackhole" && r["dst"] == "10.65.2.0/26"));
    assert_eq!(
        all.iter()
            .filter(|r| r["dev"].as_str().is_some_and(|d| d.starts_with("cali")))
            .count(),
        2
    );
    // host3 still has its pods but no blackhole, and still learns the others' blocks.
    let h3 = format!("{prefix}-host3");
    let all3 = json(&h3, &["-j", "route", "show"]);
    assert!(!all3
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "blackhole"));
    let bird3 = json(&h3, &["-j", "route", "show", "proto", "bird"]);
    let mut bird3: Vec<&str> = bird3
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dst"].as_str().unwrap())
        .collect();
    bird3.sort();
    assert_eq!(bird3, vec!["10.65.1.0/26", "10.65.2.0/26"]);

    // The kept daemons answer on their control sockets: host2 has its two sessions up, and
    // BIRD's own table agrees with the kernel's.
    let workdir = netplumb_lab::workdir_path(&prefix);
    let birdc = |host: &str, cmd: &[&str]| {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(workdir.join(format!("{host}.ctl")))
            .args(cmd)
            .output()
            .unwrap();
        assert!(out.status.success(), "birdc {cmd:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let protocols = birdc("host2", &["show", "protocols"]);
    let established = protocols
        .lines()
        .filter(|l| l.contains("BGP") && l.contains("Established"))
        .count();
    assert_eq!(established, 2, "{protocols}");
    let routes = birdc("host2", &["show", "route", "protocol", "host1"]);
    assert!(routes.contains("10.65.1.0/26"), "{routes}");
    let config = std::fs::read_to_string(workdir.join("host2.conf")).unwrap();
    assert!(
        config.contains("if net ~ [ 10.65.2.0/26+ ] then reject;"),
        "{config}"
    );

    drop(sweep);
    assert_lab_gone(&prefix);
}

#[test]
fn route_reflector_needs_fewer_sessions_and_leaves_nothing() {
    require_root!();
    require_bird!();
    let prefix = unique_name("np-t-cbgprr");
    let s = calico_bgp::run(&Options {
        hosts: 4,
        pods: 1,
        route_reflector: true,
        prefix: prefix.clone(),
        keep: false,
        ..Options::default()
    })
    .unwrap();
    // 3 sessions through the reflector instead of a full mesh's 6, and still every host
    // learns every other block.
    assert_eq!((s.sessions, s.established), (3, 6));
    assert_eq!(s.bird_routes, 12);
    assert_eq!((s.echoes, s.answered), (12, 12));
    assert_eq!(s.withdrawn.len(), 3);
    assert_lab_gone(&prefix);
}

#[test]
fn the_generated_configuration_follows_calico() {
    let opts = Options {
        hosts: 4,
        route_reflector: true,
        ..Options::default()
    };
    let reflector = calico_bgp::bird_config(&opts, 1);
    let client = calico_bgp::bird_config(&opts, 3);
    assert_eq!(reflector.matches("rr client;").count(), 3, "{reflector}");
    assert_eq!(client.matches("protocol bgp ").count(), 1, "{client}");
    assert!(
        client.contains("neighbor 192.168.100.1 as 64512;"),
        "{client}"
    );
    assert!(client.contains("router id 192.168.100.3;"), "{client}");
    assert!(
        client.contains("if net = 10.65.3.0/26 then accept;"),
        "{client}"
    );
    let mesh = calico_bgp::bird_config(
        &Options {
            hosts: 4,
            ..Options::default()
        },
        3,
    );
    assert_eq!(mesh.matches("protocol bgp ").count(), 3, "{mesh}");
    assert!(!mesh.contains("rr client"), "{mesh}");
    // host3 waits for host4 to connect, and connects to host1 and host2 itself.
    assert_eq!(mesh.matches("passive on;").count(), 1, "{mesh}");
    assert!(
        mesh.contains("neighbor 192.168.100.4 as 64512; passive on;"),
        "{mesh}"
    );
    assert!(!client.contains("passive on;"), "{client}");
}
