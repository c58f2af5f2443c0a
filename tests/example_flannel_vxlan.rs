//! The flannel-style VXLAN overlay example, run as a root test in both modes, with what it
//! leaves in the kernels checked against iproute2's view (`--keep`), and its rollback.

mod common;

#[allow(dead_code)]
#[path = "../examples/flannel_vxlan.rs"]
mod flannel_vxlan;

use std::net::Ipv4Addr;

use common::{assert_lab_gone, unique_name, OnDrop, TestNs};
use flannel_vxlan::{Lease, Mode, Options, VXLAN_DEV};
use netplumb::link::NewVxlan;
use netplumb::route::NewRoute;
use netplumb::{MacAddr, NetNs, Vni};
use serde_json::Value;

/// Runs `ip`/`bridge` with JSON output inside the named namespace.
fn json(ns: &str, program: &str, args: &[&str]) -> Value {
    common::run_json(&NetNs::open(ns).unwrap(), program, args)
}

/// Deletes what a kept (or failed) run left when dropped, also when the test panics.
fn sweeper(prefix: &str) -> OnDrop<impl FnMut()> {
    let prefix = prefix.to_string();
    OnDrop(move || {
        let _ = netplumb_lab::sweep(&prefix);
    })
}

fn lease(leases: &[Lease], host: u8) -> Lease {
    *leases.iter().find(|l| l.host == host).unwrap()
}

#[test]
fn preprogrammed_overlay_echoes_and_matches_iproute2() {
    require_root!();
    let prefix = unique_name("np-t-flpre");
    let sweep = sweeper(&prefix);
    let s = flannel_vxlan::run(&Options {
        hosts: 3,
        pods: 2,
        mode: Mode::Preprogrammed,
        prefix: prefix.clone(),
        keep: true,
    })
    .unwrap();
    assert_eq!((s.hosts, s.pods), (3, 6));
    assert_eq!(
        s.echoes,
        6 * 4,
        "every pod to every pod on the two other hosts"
    );
    assert_eq!(s.answered, s.echoes);
    assert_eq!(
        (
            s.programmed.neighbours,
            s.programmed.fdb,
            s.programmed.routes
        ),
        (6, 6, 6)
    );
    assert_eq!(s.expired_removed, 6, "host3's entries on host1 and host2");

    // iproute2's view of host1 after host3's lease expired: host2's entries only.
    let l2 = lease(&s.leases, 2);
    let l3 = lease(&s.leases, 3);
    let h1 = format!("{prefix}-host1");
    let neigh = json(&h1, "ip", &["-j", "neigh", "show", "dev", VXLAN_DEV]);
    let neigh: Vec<&Value> = neigh
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["lladdr"].is_string())
        .collect();
    assert_eq!(neigh.len(), 1, "{neigh:?}");
    assert_eq!(neigh[0]["dst"], "10.244.2.0");
    assert_eq!(neigh[0]["lladdr"], l2.vtep_mac.to_string());
    assert_eq!(neigh[0]["state"], serde_json::json!(["PERMANENT"]));
    let fdb = json(&h1, "bridge", &["-j", "fdb", "show", "dev", VXLAN_DEV]);
    let remotes: Vec<(String, String)> = fdb
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["dst"].is_string())
        .map(|e| {
            (
                e["mac"].as_str().unwrap().to_string(),
                e["dst"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        remotes,
        vec![(l2.vtep_mac.to_string(), "192.168.100.2".to_string())]
    );
    let routes = json(&h1, "ip", &["-j", "route", "show", "dev", VXLAN_DEV]);
    let via: Vec<&Value> = routes
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["gateway"].is_string())
        .collect();
    assert_eq!(via.len(), 1, "{routes}");
    assert_eq!(via[0]["dst"], "10.244.2.0/24");
    assert_eq!(via[0]["gateway"], "10.244.2.0");
    assert!(
        via[0]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("onlink")),
        "{via:?}"
    );
    // host3 itself still has both remote leases, its VXLAN device as built.
    let h3 = format!("{prefix}-host3");
    let fdb3 = json(&h3, "bridge", &["-j", "fdb", "show", "dev", VXLAN_DEV]);
    assert_eq!(
        fdb3.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["dst"].is_string())
            .count(),
        2
    );
    let link = json(&h3, "ip", &["-j", "-d", "link", "show", "dev", VXLAN_DEV]);
    let info = &link[0]["linkinfo"]["info_data"];
    assert_eq!(info["id"], 1);
    assert_eq!(info["port"], 8472);
    assert_eq!(info["local"], "192.168.100.3");
    assert_eq!(info["learning"], false);
    assert_eq!(link[0]["address"], l3.vtep_mac.to_string());
    drop(sweep);
    assert_lab_gone(&prefix);
}

#[test]
fn miss_mode_agents_answer_and_echoes_pass() {
    require_root!();
    let prefix = unique_name("np-t-flmiss");
    let sweep = sweeper(&prefix);
    let s = flannel_vxlan::run(&Options {
        hosts: 2,
        pods: 2,
        mode: Mode::Miss,
        prefix: prefix.clone(),
        keep: true,
    })
    .unwrap();
    assert_eq!(s.echoes, 2 * 2 * 2);
    assert_eq!(s.answered, s.echoes);
    assert_eq!(s.programmed.routes, 0);
    assert_eq!(s.programmed.fdb, 2, "one remote VTEP per host");
    assert_eq!(
        s.programmed.neighbours, 4,
        "each host resolved the other's two pods"
    );
    assert!(s.l3_answered >= 4 && s.l2_answered >= 2, "{s:?}");
    assert!(
        s.first_try < s.echoes,
        "the first datagrams start the misses"
    );

    // iproute2's view: host1 resolved host2's pods to host2's VTEP, learned from the agent.
    let l2 = lease(&s.leases, 2);
    let h1 = format!("{prefix}-host1");
    let neigh = json(&h1, "ip", &["-j", "neigh", "show", "dev", VXLAN_DEV]);
    let mut pods: Vec<String> = neigh
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["lladdr"] == l2.vtep_mac.to_string())
        .map(|n| n["dst"].as_str().unwrap().to_string())
        .collect();
    pods.sort();
    assert_eq!(pods, vec!["10.244.2.2", "10.244.2.3"]);
    let link = json(&h1, "ip", &["-j", "-d", "link", "show", "dev", VXLAN_DEV]);
    let info = &link[0]["linkinfo"]["info_data"];
    assert_eq!(info["l2miss"], true);
    assert_eq!(info["l3miss"], true);
    drop(sweep);
    assert_lab_gone(&prefix);
}

#[test]
fn a_failed_lease_is_rolled_back() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_vxlan(&NewVxlan {
        learning: Some(false),
        ..NewVxlan::new(VXLAN_DEV, Vni::new(1).unwrap())
    })
    .unwrap();
    // As on a flannel host: the device carries its own subnet's network address.
    h.add_address(VXLAN_DEV, &"10.244.1.0/32".parse().unwrap())
        .unwrap();
    h.set_link_up(VXLAN_DEV).unwrap();
    let lease = Lease {
        host: 9,
        subnet: "10.244.9.0/24".parse().unwrap(),
        underlay: Ipv4Addr::new(192, 168, 100, 9),
        vtep_mac: MacAddr([2, 0, 0, 0, 0, 9]),
    };
    // Something already routes the subnet: the lease's third step fails.
    h.add_route(&NewRoute::dev("10.244.9.0/24".parse().unwrap(), VXLAN_DEV).unwrap())
        .unwrap();
    let err = flannel_vxlan::program_lease(h, &lease)
        .unwrap_err()
        .to_string();
    assert!(err.contains("route 10.244.9.0/24"), "{err}");
    assert!(err.contains("exists"), "{err}");
    assert!(err.contains("undid 2 entries"), "{err}");
    let neigh = t.ip(&["-j", "neigh", "show", "dev", VXLAN_DEV]);
    assert!(
        !neigh
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["dst"] == "10.244.9.0"),
        "{neigh}"
    );
    let fdb = t.bridge(&["-j", "fdb", "show", "dev", VXLAN_DEV]);
    assert!(
        !fdb.as_array()
            .unwrap()
            .iter()
            .any(|e| e["mac"] == "02:00:00:00:00:09"),
        "{fdb}"
    );

    // Without the conflict it goes in whole, and comes out whole.
    t.sh("ip", &["route", "del", "10.244.9.0/24"]);
    let mut entries = flannel_vxlan::program_lease(h, &lease).unwrap();
    assert_eq!(entries.len(), 3);
    let route = t.ip(&["-j", "route", "show", "10.244.9.0/24"]);
    assert_eq!(route[0]["gateway"], "10.244.9.0");
    flannel_vxlan::unprogram_lease(h, &mut entries).unwrap();
    assert!(entries.is_empty());
    assert_eq!(
        t.ip(&["-j", "route", "show", "10.244.9.0/24"]),
        Value::Array(vec![])
    );
}

#[test]
fn bad_options_are_refused_before_anything_is_made() {
    let prefix = unique_name("np-t-flbad");
    for (hosts, pods) in [(1, 2), (51, 2), (2, 0)] {
        let err = flannel_vxlan::run(&Options {
            hosts,
            pods,
            prefix: prefix.clone(),
            ..Options::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("between"), "{err}");
    }
    assert_lab_gone(&prefix);
}
