//! Root tests for neighbour tables (ARP and NDP), checked against `ip -j neigh show`.

mod common;

use std::net::IpAddr;

use common::TestNs;
use netplumb::link::NewVeth;
use netplumb::neighbour::{NeighbourFilter, NeighbourFlags, NeighbourState, NewNeighbour};
use netplumb::{Error, IpFamily, MacAddr};
use serde_json::Value;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

/// A namespace with an up veth pair v0/v1.
fn setup() -> TestNs {
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    t.handle.set_link_up("v0").unwrap();
    t.handle.set_link_up("v1").unwrap();
    t
}

/// `ip -j neigh show EXTRA…`, without the IPv6 multicast entries the kernel adds by itself
/// (as links come up, at times of its choosing).
fn ip_neigh(t: &TestNs, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["-j", "neigh", "show"];
    args.extend_from_slice(extra);
    t.ip(&args)
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["dst"].as_str().unwrap_or("").starts_with("ff"))
        .cloned()
        .collect()
}

fn find<'a>(entries: &'a [Value], dst: &str) -> Option<&'a Value> {
    entries.iter().find(|e| e["dst"] == dst)
}

fn states(e: &Value) -> Vec<String> {
    let mut s: Vec<String> = e["state"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

#[test]
fn ipv4_and_ipv6_entries_add_replace_delete() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    h.add_neighbour(
        "v0",
        &NewNeighbour::new(ip("10.0.0.2"), mac("02:00:00:00:00:02")),
    )
    .unwrap();
    h.add_neighbour(
        "v0",
        &NewNeighbour {
            state: NeighbourState::REACHABLE,
            router: true,
            ..NewNeighbour::new(ip("fd00::2"), mac("02:00:00:00:00:06"))
        },
    )
    .unwrap();
    // NOARP|PERMANENT: a state that is a set of bits, as the kernel keeps it.
    h.add_neighbour(
        "v0",
        &NewNeighbour {
            state: NeighbourState::NOARP | NeighbourState::PERMANENT,
            ..NewNeighbour::new(ip("10.0.0.3"), mac("02:00:00:00:00:03"))
        },
    )
    .unwrap();

    let ours = h.neighbours(&NeighbourFilter::link("v0")).unwrap();
    let theirs = ip_neigh(&t, &["nud", "all", "dev", "v0"]);
    let v0 = h.link("v0").unwrap().index;
    for (dst, lladdr, want_states) in [
        ("10.0.0.2", "02:00:00:00:00:02", vec!["PERMANENT"]),
        ("fd00::2", "02:00:00:00:00:06", vec!["REACHABLE"]),
        ("10.0.0.3", "02:00:00:00:00:03", vec!["NOARP", "PERMANENT"]),
    ] {
        let n = ours
            .iter()
            .find(|n| n.address == ip(dst))
            .unwrap_or_else(|| panic!("{dst} not listed: {ours:?}"));
        assert_eq!(n.link, v0);
        assert_eq!(n.mac, Some(mac(lladdr)));
        let e = find(&theirs, dst).unwrap_or_else(|| panic!("ip does not show {dst}"));
        assert_eq!(e["lladdr"], lladdr);
        assert_eq!(states(e), want_states, "{dst}");
        let mut our_states: Vec<&str> = n.state.iter_names().map(|(name, _)| name).collect();
        our_states.sort();
        assert_eq!(our_states, want_states, "{dst}");
    }
    let router = ours.iter().find(|n| n.address == ip("fd00::2")).unwrap();
    assert!(router.flags.contains(NeighbourFlags::ROUTER));
    assert!(find(&theirs, "fd00::2").unwrap().get("router").is_some());

    // A second add of the same address is refused; replace changes it.
    let e = h
        .add_neighbour(
            "v0",
            &NewNeighbour::new(ip("10.0.0.2"), mac("02:00:00:00:00:09")),
        )
        .unwrap_err();
    assert!(e.is_exists(), "{e}");
    h.replace_neighbour(
        "v0",
        &NewNeighbour {
            state: NeighbourState::STALE,
            ..NewNeighbour::new(ip("10.0.0.2"), mac("02:00:00:00:00:0a"))
        },
    )
    .unwrap();
    let e = find(&ip_neigh(&t, &["nud", "all"]), "10.0.0.2")
        .unwrap()
        .clone();
    assert_eq!(e["lladdr"], "02:00:00:00:00:0a");
    assert_eq!(states(&e), vec!["STALE"]);

    // Family filter.
    let v6 = h
        .neighbours(&NeighbourFilter {
            family: Some(IpFamily::V6),
            ..NeighbourFilter::default()
        })
        .unwrap();
    assert!(!v6.is_empty() && v6.iter().all(|n| n.address.is_ipv6()));

    h.delete_neighbour("v0", ip("10.0.0.2")).unwrap();
    assert!(find(&ip_neigh(&t, &["nud", "all"]), "10.0.0.2").is_none());
    let e = h.delete_neighbour("v0", ip("10.0.0.2")).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("10.0.0.2"), "{e}");
}

#[test]
fn proxy_entries() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    h.add_proxy_neighbour("v0", ip("10.0.0.9")).unwrap();
    h.add_proxy_neighbour("v0", ip("fd00::9")).unwrap();
    let proxies = h
        .neighbours(&NeighbourFilter {
            proxy: true,
            ..NeighbourFilter::link("v0")
        })
        .unwrap();
    let mut got: Vec<IpAddr> = proxies.iter().map(|n| n.address).collect();
    got.sort();
    assert_eq!(got, vec![ip("10.0.0.9"), ip("fd00::9")]);
    assert!(proxies.iter().all(|n| n.is_proxy()));
    let theirs = ip_neigh(&t, &["proxy"]);
    assert_eq!(theirs.len(), 2);
    assert!(find(&theirs, "10.0.0.9").is_some() && find(&theirs, "fd00::9").is_some());
    // Proxy entries are a table of their own: not in the ordinary listing.
    assert!(h
        .neighbours(&NeighbourFilter::link("v0"))
        .unwrap()
        .iter()
        .all(|n| !n.is_proxy() && n.address != ip("10.0.0.9")));

    h.delete_proxy_neighbour("v0", ip("10.0.0.9")).unwrap();
    let theirs = ip_neigh(&t, &["proxy"]);
    assert_eq!(theirs.len(), 1);
    assert!(find(&theirs, "fd00::9").is_some());
    assert!(h
        .delete_proxy_neighbour("v0", ip("10.0.0.9"))
        .unwrap_err()
        .is_not_found());
}

#[test]
fn flush_by_device_family_and_state() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    for i in 1..=4u8 {
        h.add_neighbour(
            "v0",
            &NewNeighbour::new(IpAddr::from([10, 0, 0, i]), MacAddr([2, 0, 0, 0, 0, i])),
        )
        .unwrap();
        h.add_neighbour(
            "v1",
            &NewNeighbour {
                state: NeighbourState::STALE,
                ..NewNeighbour::new(IpAddr::from([10, 0, 1, i]), MacAddr([2, 0, 0, 1, 0, i]))
            },
        )
        .unwrap();
    }
    h.add_neighbour(
        "v0",
        &NewNeighbour::new(ip("fd00::1"), mac("02:00:00:00:06:01")),
    )
    .unwrap();

    // State: only the stale ones (all on v1).
    let n = h
        .flush_neighbours(&NeighbourFilter {
            state: Some(NeighbourState::STALE),
            ..NeighbourFilter::default()
        })
        .unwrap();
    assert_eq!(n, 4);
    assert!(ip_neigh(&t, &["nud", "all", "dev", "v1"])
        .iter()
        .all(|e| !e["dst"].as_str().unwrap().starts_with("10.0.1.")));

    // Without a state, permanent entries are spared, as `ip neigh flush dev v0` does.
    assert_eq!(h.flush_neighbours(&NeighbourFilter::link("v0")).unwrap(), 0);
    assert_eq!(ip_neigh(&t, &["nud", "permanent"]).len(), 5);

    // Family on one device, permanent ones named: the IPv4 entries of v0 go, its IPv6 entry
    // stays.
    let n = h
        .flush_neighbours(&NeighbourFilter {
            family: Some(IpFamily::V4),
            state: Some(NeighbourState::PERMANENT),
            ..NeighbourFilter::link("v0")
        })
        .unwrap();
    assert_eq!(n, 4);
    let left = ip_neigh(&t, &["nud", "permanent"]);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["dst"], "fd00::1");
}

#[test]
fn bad_input_changes_nothing() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    let before = ip_neigh(&t, &["nud", "all"]);
    // The router flag is IPv6-only; a permanent entry needs a MAC.
    common::assert_invalid(
        h.add_neighbour(
            "v0",
            &NewNeighbour {
                router: true,
                ..NewNeighbour::new(ip("10.0.0.2"), mac("02:00:00:00:00:02"))
            },
        ),
        "router",
    );
    common::assert_invalid(
        h.add_neighbour(
            "v0",
            &NewNeighbour {
                mac: None,
                ..NewNeighbour::new(ip("10.0.0.2"), MacAddr::ZERO)
            },
        ),
        "mac",
    );
    let e = h
        .add_neighbour(
            "nosuchdev",
            &NewNeighbour::new(ip("10.0.0.2"), MacAddr::ZERO),
        )
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert_eq!(ip_neigh(&t, &["nud", "all"]), before);
}

#[test]
fn entries_of_a_masters_ports() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    h.add_bridge(&netplumb::link::NewBridge::new("br0"))
        .unwrap();
    h.add_veth(&NewVeth::new("p0", "p0b")).unwrap();
    h.set_link_master("p0", "br0").unwrap();
    h.set_link_up("p0").unwrap();
    h.add_neighbour(
        "p0",
        &NewNeighbour::new(ip("10.3.0.2"), mac("02:00:00:00:03:02")),
    )
    .unwrap();
    h.add_neighbour(
        "v0",
        &NewNeighbour::new(ip("10.3.0.3"), mac("02:00:00:00:03:03")),
    )
    .unwrap();
    let ours = h
        .neighbours(&NeighbourFilter {
            master: Some("br0".into()),
            ..NeighbourFilter::default()
        })
        .unwrap();
    let p0 = h.link("p0").unwrap().index;
    assert!(
        !ours.is_empty() && ours.iter().all(|n| n.link == p0),
        "{ours:?}"
    );
    let theirs = ip_neigh(&t, &["master", "br0", "nud", "all"]);
    // Both sides without the kernel's own IPv6 multicast entries (see `ip_neigh`).
    let mut a: Vec<String> = ours
        .iter()
        .map(|n| n.address.to_string())
        .filter(|a| !a.starts_with("ff"))
        .collect();
    let mut b: Vec<String> = theirs
        .iter()
        .map(|e| e["dst"].as_str().unwrap().to_string())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn a_batch_of_neighbours_with_one_refused() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    let mut batch = h.batch();
    for i in 1..=200u8 {
        batch.add_neighbour(
            "v0",
            &NewNeighbour::new(IpAddr::from([10, 2, 0, i]), MacAddr([2, 0, 0, 2, 0, i])),
        );
    }
    // A duplicate of entry 7 (refused by the kernel: it exists) and a router flag on IPv4
    // (refused here, before sending).
    let dup = batch.add_neighbour(
        "v0",
        &NewNeighbour::new(ip("10.2.0.7"), mac("02:00:00:02:00:07")),
    );
    let bad = batch.add_neighbour(
        "v0",
        &NewNeighbour {
            router: true,
            ..NewNeighbour::new(ip("10.2.1.1"), mac("02:00:00:02:01:01"))
        },
    );
    let results = batch.send();
    assert_eq!(results.len(), 202);
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![dup, bad]);
    assert!(results[dup].as_ref().unwrap_err().is_exists());
    assert!(
        matches!(
            results[bad],
            Err(netplumb::Error::InvalidInput { arg: "router", .. })
        ),
        "{:?}",
        results[bad]
    );
    assert_eq!(ip_neigh(&t, &["dev", "v0", "nud", "permanent"]).len(), 200);
}
