//! Root tests for bridge options, bridge ports and port VLANs, checked against
//! `ip -j -d link show` and `bridge -j link show` / `bridge -j vlan show`.

mod common;

use std::time::Duration;

use common::TestNs;
use netplumb::link::{
    BridgeOptions, BridgePort, BridgePortState, BridgeVlan, LinkKind, NewBridge, NewVeth, StpState,
    VlanProtocol,
};
use netplumb::VlanId;
use serde_json::Value;

fn vid(v: u16) -> VlanId {
    VlanId::new(v).unwrap()
}

/// A bridge br0 with ports p0 and p1 (veth peers p0b, p1b), everything up.
fn setup(options: BridgeOptions) -> Option<TestNs> {
    let t = TestNs::new();
    let h = &t.handle;
    match h.add_bridge(&NewBridge::with_options("br0", options)) {
        Err(e) if e.is_unsupported() => {
            common::report_skip(&common::test_name(), &e.to_string());
            return None;
        }
        r => r.unwrap(),
    }
    for (p, peer) in [("p0", "p0b"), ("p1", "p1b")] {
        h.add_veth(&NewVeth::new(p, peer)).unwrap();
        h.set_link_master(p, "br0").unwrap();
        h.set_link_up(p).unwrap();
        h.set_link_up(peer).unwrap();
    }
    h.set_link_up("br0").unwrap();
    Some(t)
}

fn bridge_link(t: &TestNs, port: &str) -> Value {
    t.bridge(&["-j", "-d", "link", "show"])
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["ifname"] == port)
        .unwrap_or_else(|| panic!("bridge link does not show {port}"))
        .clone()
}

#[test]
fn bridge_options_change_after_creation() {
    require_root!();
    let Some(t) = setup(BridgeOptions::default()) else {
        return;
    };
    let h = &t.handle;
    h.set_bridge_options(
        "br0",
        &BridgeOptions {
            stp: Some(true),
            ageing_time: Some(Duration::from_secs(42)),
            forward_delay: Some(Duration::from_secs(5)),
            hello_time: Some(Duration::from_secs(3)),
            max_age: Some(Duration::from_secs(10)),
            priority: Some(8192),
            multicast_snooping: Some(false),
            ..BridgeOptions::default()
        },
    )
    .unwrap();
    let Some(LinkKind::Bridge(info)) = h.link("br0").unwrap().kind else {
        panic!("br0 is not a bridge")
    };
    assert_eq!(info.stp_state, Some(StpState::Kernel));
    assert_eq!(info.ageing_time, Some(Duration::from_secs(42)));
    assert_eq!(info.forward_delay, Some(Duration::from_secs(5)));
    assert_eq!(info.hello_time, Some(Duration::from_secs(3)));
    assert_eq!(info.max_age, Some(Duration::from_secs(10)));
    assert_eq!(info.priority, Some(8192));
    assert_eq!(info.multicast_snooping, Some(false));
    let d = t.ip_link("br0").unwrap()["linkinfo"]["info_data"].clone();
    assert_eq!(d["stp_state"], 1);
    assert_eq!(d["ageing_time"], 4200);
    assert_eq!(d["forward_delay"], 500);
    assert_eq!(d["hello_time"], 300);
    assert_eq!(d["max_age"], 1000);
    assert_eq!(d["priority"], 8192);
    assert_eq!(d["mcast_snooping"], 0);
    // Kernels without VLAN filtering do not report the VLAN protocol at all.
    match d.get("vlan_protocol") {
        Some(p) => {
            assert_eq!(p, "802.1Q");
            assert_eq!(info.vlan_protocol, Some(VlanProtocol::Dot1Q));
        }
        None => assert_eq!(info.vlan_protocol, None),
    }

    // Only what is given changes.
    h.set_bridge_options(
        "br0",
        &BridgeOptions {
            stp: Some(false),
            ..BridgeOptions::default()
        },
    )
    .unwrap();
    let d = t.ip_link("br0").unwrap()["linkinfo"]["info_data"].clone();
    assert_eq!(d["stp_state"], 0);
    assert_eq!(d["priority"], 8192);

    // The kernel's own range check: with STP on, the forward delay is 2–30 s.
    h.set_bridge_options(
        "br0",
        &BridgeOptions {
            stp: Some(true),
            ..BridgeOptions::default()
        },
    )
    .unwrap();
    let e = h
        .set_bridge_options(
            "br0",
            &BridgeOptions {
                forward_delay: Some(Duration::from_secs(1)),
                ..BridgeOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.errno(), Some(nix::errno::Errno::ERANGE), "{e}");
    assert_eq!(
        t.ip_link("br0").unwrap()["linkinfo"]["info_data"]["forward_delay"],
        500
    );
    assert!(h
        .set_bridge_options("nosuch", &BridgeOptions::default())
        .unwrap_err()
        .is_not_found());
}

#[test]
fn bridge_port_settings_read_back() {
    require_root!();
    let Some(t) = setup(BridgeOptions::default()) else {
        return;
    };
    let h = &t.handle;
    let settings = BridgePort {
        // Without a user-space STP daemon the kernel re-selects port states itself: of the
        // states set by hand, only `disabled` sticks.
        state: Some(BridgePortState::Disabled),
        priority: Some(7),
        cost: Some(250),
        learning: Some(false),
        unicast_flood: Some(false),
        multicast_flood: Some(false),
        broadcast_flood: Some(false),
        hairpin: Some(true),
        isolated: Some(true),
        neigh_suppress: Some(true),
        proxy_arp: Some(true),
        bpdu_guard: Some(true),
        root_block: Some(true),
    };
    h.set_bridge_port("p0", &settings).unwrap();

    let port = h
        .link("p0")
        .unwrap()
        .bridge_port
        .expect("p0 is a bridge port");
    assert_eq!(port, settings);
    // p1 keeps the defaults.
    let p1 = h.link("p1").unwrap().bridge_port.unwrap();
    assert_eq!(p1.learning, Some(true));
    assert_eq!(p1.unicast_flood, Some(true));
    assert_eq!(p1.isolated, Some(false));
    // (p1's state is the kernel's to settle once its carrier is up; not checked here.)
    // Not a port: no port settings.
    assert_eq!(h.link("p0b").unwrap().bridge_port, None);

    let b = bridge_link(&t, "p0");
    assert_eq!(b["state"], "disabled");
    assert_eq!(b["priority"], 7);
    assert_eq!(b["cost"], 250);
    for (key, want) in [
        ("learning", false),
        ("flood", false),
        ("mcast_flood", false),
        ("bcast_flood", false),
        ("hairpin", true),
        ("isolated", true),
        ("neigh_suppress", true),
        ("guard", true),
        ("root_block", true),
    ] {
        assert_eq!(b[key], want, "bridge link {key}");
    }
    let slave = t.ip_link("p0").unwrap()["linkinfo"]["info_slave_data"].clone();
    assert_eq!(slave["proxy_arp"], true);
    assert_eq!(slave["learning"], false);

    // Back to forwarding with learning.
    h.set_bridge_port(
        "p0",
        &BridgePort {
            state: Some(BridgePortState::Forwarding),
            learning: Some(true),
            ..BridgePort::default()
        },
    )
    .unwrap();
    let b = bridge_link(&t, "p0");
    assert_eq!(b["state"], "forwarding");
    assert_eq!(b["learning"], true);
    assert_eq!(b["isolated"], true, "untouched settings stay");
    // A link that is not a bridge port.
    common::assert_invalid(h.set_bridge_port("p0b", &BridgePort::default()), "port");
}

/// `bridge -j vlan show dev DEV` as one (vid, pvid, untagged) per VLAN id: iproute2 prints
/// ranges or single ids depending on its version and options, so both sides are expanded.
fn oracle_vlans(t: &TestNs, dev: &str) -> Vec<(u16, bool, bool)> {
    let all = t.bridge(&["-j", "vlan", "show", "dev", dev]);
    let mut out = Vec::new();
    for port in all.as_array().unwrap() {
        for v in port["vlans"].as_array().unwrap() {
            let first = v["vlan"].as_u64().unwrap() as u16;
            let last = v
                .get("vlanEnd")
                .and_then(Value::as_u64)
                .unwrap_or(first as u64) as u16;
            let flags: Vec<&str> = v
                .get("flags")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for id in first..=last {
                out.push((
                    id,
                    flags.contains(&"PVID"),
                    flags.contains(&"Egress Untagged"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// What netplumb lists for DEV, expanded the same way.
fn our_vlans(t: &TestNs, dev: &str) -> Vec<(u16, bool, bool)> {
    let index = t.handle.link(dev).unwrap().index;
    t.handle
        .bridge_vlans(Some(dev.into()))
        .unwrap()
        .into_iter()
        .filter(|p| p.link == index)
        .flat_map(|p| p.vlans)
        .flat_map(|v| v.ids().map(move |id| (id, v.pvid, v.untagged)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The entries netplumb lists for DEV, as (first, last, pvid, untagged).
fn our_ranges(t: &TestNs, dev: &str) -> Vec<(u16, u16, bool, bool)> {
    let index = t.handle.link(dev).unwrap().index;
    t.handle
        .bridge_vlans(Some(dev.into()))
        .unwrap()
        .into_iter()
        .filter(|p| p.link == index)
        .flat_map(|p| p.vlans)
        .map(|v| {
            (
                v.vid.get(),
                v.last.unwrap_or(v.vid).get(),
                v.pvid,
                v.untagged,
            )
        })
        .collect()
}

#[test]
fn vlan_filtering_bridge_port_vlans() {
    require_root!();
    let Some(t) = setup(BridgeOptions {
        vlan_filtering: Some(true),
        default_pvid: Some(vid(1)),
        vlan_protocol: Some(VlanProtocol::Dot1Ad),
        ..BridgeOptions::default()
    }) else {
        return;
    };
    let h = &t.handle;
    let Some(LinkKind::Bridge(info)) = h.link("br0").unwrap().kind else {
        panic!("br0 is not a bridge")
    };
    assert_eq!(info.vlan_filtering, Some(true));
    assert_eq!(info.vlan_protocol, Some(VlanProtocol::Dot1Ad));
    assert_eq!(
        t.ip_link("br0").unwrap()["linkinfo"]["info_data"]["vlan_protocol"],
        "802.1ad"
    );

    // bridge vlan add dev p0 vid 10 pvid untagged; bridge vlan add dev p0 vid 20-30
    h.add_bridge_vlan(
        "p0",
        &BridgeVlan {
            pvid: true,
            untagged: true,
            ..BridgeVlan::new(vid(10))
        },
    )
    .unwrap();
    h.add_bridge_vlan("p0", &BridgeVlan::range(vid(20), vid(30)))
        .unwrap();
    // bridge vlan add dev br0 vid 10 self
    h.add_bridge_vlan("br0", &BridgeVlan::new(vid(10))).unwrap();

    let theirs = oracle_vlans(&t, "p0");
    assert_eq!(our_vlans(&t, "p0"), theirs);
    // The PVID moved from the default VLAN 1 (still there, egress untagged) to 10.
    assert!(theirs.contains(&(1, false, true)), "{theirs:?}");
    assert!(theirs.contains(&(10, true, true)), "{theirs:?}");
    assert!(
        (20..=30).all(|id| theirs.contains(&(id, false, false))),
        "{theirs:?}"
    );
    // netplumb reports the range as the kernel compresses it.
    assert!(our_ranges(&t, "p0").contains(&(20, 30, false, false)));
    assert_eq!(our_vlans(&t, "br0"), oracle_vlans(&t, "br0"));
    assert!(oracle_vlans(&t, "br0").iter().any(|v| v.0 == 10));

    // Deleting part of a range splits it.
    h.delete_bridge_vlan("p0", &BridgeVlan::range(vid(25), vid(30)))
        .unwrap();
    let theirs = oracle_vlans(&t, "p0");
    assert!(theirs.contains(&(24, false, false)), "{theirs:?}");
    assert!(
        !theirs.iter().any(|v| (25..=30).contains(&v.0)),
        "{theirs:?}"
    );
    assert_eq!(our_vlans(&t, "p0"), theirs);
    assert!(our_ranges(&t, "p0").contains(&(20, 24, false, false)));

    // Every port and the bridge are listed when no device is given.
    let all = h.bridge_vlans(None).unwrap();
    assert!(all.len() >= 3, "{all:?}");

    // A range must go upwards.
    common::assert_invalid(
        h.add_bridge_vlan("p0", &BridgeVlan::range(vid(30), vid(20))),
        "vlan",
    );
}
