//! The calico-style routed example, run as a root test, with what it leaves in the kernels
//! checked against iproute2's view (`--keep`).

mod common;

#[allow(dead_code)]
#[path = "../examples/calico_routed.rs"]
mod calico_routed;

use calico_routed::Options;
use common::{assert_lab_gone, unique_name, OnDrop};
use netplumb::NetNs;
use serde_json::Value;

fn json(ns: &str, program: &str, args: &[&str]) -> Value {
    common::run_json(&NetNs::open(ns).unwrap(), program, args)
}

#[test]
fn routed_pods_echo_across_hosts_and_match_iproute2() {
    require_root!();
    let prefix = unique_name("np-t-calico");
    let p = prefix.clone();
    let sweep = OnDrop(move || {
        let _ = netplumb_lab::sweep(&p);
    });
    let s = calico_routed::run(&Options {
        hosts: 3,
        pods: 2,
        prefix: prefix.clone(),
        keep: true,
    })
    .unwrap();
    assert_eq!((s.hosts, s.pods), (3, 6));
    assert_eq!(s.echoes, 24);
    assert_eq!(s.answered, 24);
    assert_eq!(
        (
            s.pod_routes,
            s.block_routes,
            s.blackholes,
            s.proxy_arp_resolved
        ),
        (6, 6, 3, 6)
    );

    // host2 as iproute2 sees it: two /32 pod routes on cali devices, two blocks via the other
    // hosts, its own block blackholed.
    let h2 = format!("{prefix}-host2");
    let routes = json(&h2, "ip", &["-j", "route", "show"]);
    let routes = routes.as_array().unwrap();
    let mut pods: Vec<(String, String)> = routes
        .iter()
        .filter(|r| r["dev"].as_str().is_some_and(|d| d.starts_with("cali")))
        .map(|r| {
            assert_eq!(r["scope"], "link", "{r}");
            (
                r["dst"].as_str().unwrap().to_string(),
                r["dev"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    pods.sort();
    assert_eq!(
        pods.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        vec!["10.65.2.2", "10.65.2.3"]
    );
    let mut blocks: Vec<(&str, &str)> = routes
        .iter()
        .filter(|r| r["gateway"].is_string() && r["dst"] != "default")
        .map(|r| (r["dst"].as_str().unwrap(), r["gateway"].as_str().unwrap()))
        .collect();
    blocks.sort();
    assert_eq!(
        blocks,
        vec![
            ("10.65.1.0/26", "192.168.100.1"),
            ("10.65.3.0/26", "192.168.100.3")
        ]
    );
    assert!(
        routes
            .iter()
            .any(|r| r["type"] == "blackhole" && r["dst"] == "10.65.2.0/26"),
        "{routes:?}"
    );
    // The host end of a pod's veth: calico's MAC, proxy ARP on.
    let cali = &pods[0].1;
    let link = json(&h2, "ip", &["-j", "link", "show", "dev", cali]);
    assert_eq!(link[0]["address"], "ee:ee:ee:ee:ee:ee");
    let proxy = NetNs::open(&h2)
        .unwrap()
        .run(|| std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{cali}/proxy_arp")))
        .unwrap()
        .unwrap();
    assert_eq!(proxy.trim(), "1");
    // A pod resolved its fictional gateway to that MAC.
    let pod = format!("{prefix}-h2-pod1");
    let neigh = json(&pod, "ip", &["-j", "neigh", "show", "dev", "eth0"]);
    assert!(
        neigh
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["dst"] == "169.254.1.1" && n["lladdr"] == "ee:ee:ee:ee:ee:ee"),
        "{neigh}"
    );
    let pod_routes = json(&pod, "ip", &["-j", "route", "show"]);
    assert!(
        pod_routes
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["dst"] == "default" && r["gateway"] == "169.254.1.1"),
        "{pod_routes}"
    );

    drop(sweep);
    assert_lab_gone(&prefix);
}

#[test]
fn a_run_without_keep_leaves_nothing() {
    require_root!();
    let prefix = unique_name("np-t-calico2");
    let s = calico_routed::run(&Options {
        hosts: 2,
        pods: 1,
        prefix: prefix.clone(),
        keep: false,
    })
    .unwrap();
    assert_eq!((s.echoes, s.answered), (2, 2));
    assert_lab_gone(&prefix);
}
