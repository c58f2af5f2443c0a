//! Root tests for links: veth, bridge, and link changes, checked against `ip -j -d link`.

mod common;

use common::driver::Driver;

use common::TestNs;
use netplumb::link::{
    BridgeOptions, LinkFilter, LinkFlags, LinkKind, NewBridge, NewVeth, StpState,
};
use netplumb::{Error, MacAddr, NetNs};
use std::time::Duration;

#[test]
fn veth_pair_across_two_namespaces() {
    require_root!();
    let a = TestNs::new();
    let b = TestNs::new();
    let mut veth = NewVeth::new("va", "vb");
    veth.peer.netns = Some(&b.ns);
    veth.mtu = Some(1400);
    veth.peer.mac = Some("02:00:00:00:0b:01".parse().unwrap());
    a.handle.add_veth(&veth).unwrap();

    let va = a.handle.link("va").unwrap();
    let vb = b.handle.link("vb").unwrap();
    assert_eq!(va.kind, Some(LinkKind::Veth));
    assert_eq!(vb.kind, Some(LinkKind::Veth));
    assert_eq!(va.mtu, 1400);
    assert_eq!(vb.mac, Some("02:00:00:00:0b:01".parse().unwrap()));
    // Each end's IFLA_LINK is the other's index, in the other namespace.
    assert_eq!(va.link, Some(vb.index));
    assert_eq!(vb.link, Some(va.index));
    assert!(va.link_netnsid.is_some() && vb.link_netnsid.is_some());
    assert!(a.handle.link("vb").unwrap_err().is_not_found());
    assert!(b.handle.link("va").unwrap_err().is_not_found());

    // The oracle: iproute2 in each namespace.
    let ip_va = a.ip_link("va").expect("ip sees va");
    let ip_vb = b.ip_link("vb").expect("ip sees vb");
    assert_eq!(ip_va["ifindex"], va.index.get());
    assert_eq!(ip_vb["ifindex"], vb.index.get());
    assert_eq!(ip_va["link_index"], vb.index.get());
    assert_eq!(ip_vb["link_index"], va.index.get());
    assert_eq!(ip_va["link_netnsid"], va.link_netnsid.unwrap());
    assert_eq!(ip_vb["link_netnsid"], vb.link_netnsid.unwrap());
    assert_eq!(ip_va["linkinfo"]["info_kind"], "veth");
    assert_eq!(ip_va["mtu"], 1400);
    assert_eq!(ip_vb["address"], "02:00:00:00:0b:01");
    assert_eq!(ip_va["address"], va.mac.unwrap().to_string());

    // Deleting one end removes both.
    a.handle.delete_link("va").unwrap();
    assert!(b.ip_link("vb").is_none());
}

#[test]
fn veth_pair_in_one_namespace_and_listing() {
    require_root!();
    for kind in Driver::kinds() {
        let t = TestNs::new();
        let d = Driver::new(kind, &t.ns);
        veth_pair_in_one_namespace_and_listing_with(&t, &d);
    }
}

/// The body of [`veth_pair_in_one_namespace_and_listing`], for each driver (blocking, and async on both runtimes).
fn veth_pair_in_one_namespace_and_listing_with(t: &TestNs, d: &Driver) {
    d.run(|h| h.add_veth(&NewVeth::new("v0", "v1"))).unwrap();
    let links = d.run(|h| h.links(&Default::default())).unwrap();
    let mut names: Vec<_> = links.iter().map(|l| l.name.to_string()).collect();
    names.sort();
    assert_eq!(names, t.ip_link_names(&[]));
    let v0 = links.iter().find(|l| l.name == "v0").unwrap();
    let v1 = links.iter().find(|l| l.name == "v1").unwrap();
    assert_eq!(v0.link, Some(v1.index));
    assert_eq!(v0.link_netnsid, None);
    let lo = links.iter().find(|l| l.name == "lo").unwrap();
    assert_eq!(lo.kind, None);
    assert!(lo.flags.contains(LinkFlags::LOOPBACK));
    // By index and by name agree.
    assert_eq!(d.run(|h| h.link(v0.index)).unwrap().name, "v0");
    assert_eq!(d.run(|h| h.link_index("v1")).unwrap(), v1.index);
}

#[test]
fn bridge_with_options_enslave_and_release() {
    require_root!();
    let t = TestNs::new();
    let br = NewBridge {
        mtu: Some(1450),
        ..NewBridge::with_options(
            "br0",
            BridgeOptions {
                stp: Some(false),
                ageing_time: Some(Duration::from_secs(120)),
                forward_delay: Some(Duration::from_secs(4)),
                hello_time: Some(Duration::from_secs(3)),
                max_age: Some(Duration::from_secs(12)),
                priority: Some(4096),
                multicast_snooping: Some(false),
                ..BridgeOptions::default()
            },
        )
    };
    t.handle.add_bridge(&br).unwrap();
    // Checked before ports join: the kernel then lowers a bridge's MTU to its ports' minimum.
    assert_eq!(t.handle.link("br0").unwrap().mtu, 1450);
    assert_eq!(t.ip_link("br0").unwrap()["mtu"], 1450);
    t.handle.add_veth(&NewVeth::new("p0", "p0b")).unwrap();
    t.handle.add_veth(&NewVeth::new("p1", "p1b")).unwrap();
    t.handle.set_link_master("p0", "br0").unwrap();
    let p1 = t.handle.link("p1").unwrap();
    t.handle.set_link_master(&p1, "br0").unwrap();

    let bridge = t.handle.link("br0").unwrap();
    let LinkKind::Bridge(info) = bridge.kind.clone().unwrap() else {
        panic!("br0 is not a bridge: {:?}", bridge.kind);
    };
    assert_eq!(info.stp_state, Some(StpState::Disabled));
    assert_eq!(info.ageing_time, Some(Duration::from_secs(120)));
    assert_eq!(info.forward_delay, Some(Duration::from_secs(4)));
    assert_eq!(info.hello_time, Some(Duration::from_secs(3)));
    assert_eq!(info.max_age, Some(Duration::from_secs(12)));
    assert_eq!(info.priority, Some(4096));
    assert_eq!(info.multicast_snooping, Some(false));

    let ip_br = t.ip_link("br0").unwrap();
    let data = &ip_br["linkinfo"]["info_data"];
    assert_eq!(ip_br["linkinfo"]["info_kind"], "bridge");
    assert_eq!(data["stp_state"], 0);
    assert_eq!(data["ageing_time"], 12000);
    assert_eq!(data["forward_delay"], 400);
    assert_eq!(data["hello_time"], 300);
    assert_eq!(data["max_age"], 1200);
    assert_eq!(data["priority"], 4096);
    assert_eq!(data["mcast_snooping"], 0);

    for port in ["p0", "p1"] {
        assert_eq!(t.handle.link(port).unwrap().master, Some(bridge.index));
        assert_eq!(t.ip_link(port).unwrap()["master"], "br0");
    }
    // The bridge's ports, as `ip link show master br0` lists them.
    let mut ports: Vec<String> = t
        .handle
        .links(&LinkFilter::master("br0"))
        .unwrap()
        .into_iter()
        .map(|l| l.name.to_string())
        .collect();
    ports.sort();
    let mut ip_ports: Vec<String> = t
        .ip(&["-j", "link", "show", "master", "br0"])
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap().to_string())
        .collect();
    ip_ports.sort();
    assert_eq!(ports, ["p0", "p1"]);
    assert_eq!(ports, ip_ports);
    let veths = t
        .handle
        .links(&LinkFilter {
            kind: Some("veth"),
            ..Default::default()
        })
        .unwrap();
    let ip_veths = t.ip(&["-j", "link", "show", "type", "veth"]);
    assert_eq!(veths.len(), 4);
    assert_eq!(veths.len(), ip_veths.as_array().unwrap().len());
    assert!(t
        .handle
        .links(&LinkFilter::master("nosuch0"))
        .unwrap_err()
        .is_not_found());
    assert_eq!(t.handle.link("p0b").unwrap().master, None);

    t.handle.set_link_nomaster("p0").unwrap();
    assert_eq!(t.handle.link("p0").unwrap().master, None);
    assert!(t.ip_link("p0").unwrap().get("master").is_none());
    assert_eq!(t.ip_link("p1").unwrap()["master"], "br0");
}

#[test]
fn vlan_filtering_bridge_reports_missing_support() {
    require_root!();
    let t = TestNs::new();
    let br = NewBridge::with_options(
        "brv",
        BridgeOptions {
            vlan_filtering: Some(true),
            default_pvid: Some(netplumb::VlanId::new(10).unwrap()),
            ..BridgeOptions::default()
        },
    );
    let created = skip_if_unsupported!(t.handle.add_bridge(&br));
    created.unwrap();
    let LinkKind::Bridge(info) = t.handle.link("brv").unwrap().kind.unwrap() else {
        panic!("not a bridge")
    };
    assert_eq!(info.vlan_filtering, Some(true));
    assert_eq!(info.default_pvid, Some(10));
    let ip_br = t.ip_link("brv").unwrap();
    assert_eq!(ip_br["linkinfo"]["info_data"]["vlan_filtering"], 1);
    assert_eq!(ip_br["linkinfo"]["info_data"]["vlan_default_pvid"], 10);
}

#[test]
fn up_down_mtu_rename_mac_alias_txqlen() {
    require_root!();
    for kind in Driver::kinds() {
        let t = TestNs::new();
        let d = Driver::new(kind, &t.ns);
        up_down_mtu_rename_mac_alias_txqlen_with(&t, &d);
    }
}

/// The body of [`up_down_mtu_rename_mac_alias_txqlen`], for each driver (blocking, and async on both runtimes).
fn up_down_mtu_rename_mac_alias_txqlen_with(t: &TestNs, d: &Driver) {
    d.run(|h| h.add_veth(&NewVeth::new("e0", "e1"))).unwrap();

    d.run(|h| h.set_link_up("e0")).unwrap();
    d.run(|h| h.set_link_up("e1")).unwrap();
    let e0 = d.run(|h| h.link("e0")).unwrap();
    assert!(e0.flags.contains(LinkFlags::UP));
    let flags = t.ip_link("e0").unwrap()["flags"].clone();
    assert!(
        flags.as_array().unwrap().iter().any(|f| f == "UP"),
        "{flags}"
    );

    d.run(|h| h.set_link_mtu("e0", 9000)).unwrap();
    assert_eq!(d.run(|h| h.link("e0")).unwrap().mtu, 9000);
    assert_eq!(t.ip_link("e0").unwrap()["mtu"], 9000);

    let mac: MacAddr = "02:12:34:56:78:9a".parse().unwrap();
    d.run(|h| h.set_link_mac("e0", mac)).unwrap();
    assert_eq!(d.run(|h| h.link("e0")).unwrap().mac, Some(mac));
    assert_eq!(t.ip_link("e0").unwrap()["address"], "02:12:34:56:78:9a");

    d.run(|h| h.set_link_alias("e0", "uplink to pod")).unwrap();
    d.run(|h| h.set_link_txqlen("e0", 500)).unwrap();
    let e0 = d.run(|h| h.link("e0")).unwrap();
    assert_eq!(e0.alias.unwrap(), "uplink to pod");
    assert_eq!(e0.txqlen, Some(500));
    let ip_e0 = t.ip_link("e0").unwrap();
    assert_eq!(ip_e0["ifalias"], "uplink to pod");
    assert_eq!(ip_e0["txqlen"], 500);

    d.run(|h| h.set_link_down("e0")).unwrap();
    assert!(!d
        .run(|h| h.link("e0"))
        .unwrap()
        .flags
        .contains(LinkFlags::UP));
    let flags = t.ip_link("e0").unwrap()["flags"].clone();
    assert!(
        !flags.as_array().unwrap().iter().any(|f| f == "UP"),
        "{flags}"
    );

    d.run(|h| h.rename_link("e0", "renamed0")).unwrap();
    assert!(t.ip_link("e0").is_none());
    let renamed = d.run(|h| h.link("renamed0")).unwrap();
    assert_eq!(renamed.index, e0.index);
    assert_eq!(t.ip_link("renamed0").unwrap()["ifindex"], e0.index.get());
}

#[test]
fn move_link_to_another_namespace() {
    require_root!();
    let t = TestNs::new();
    let other = TestNs::new();
    t.handle.add_veth(&NewVeth::new("m0", "m1")).unwrap();
    t.handle.move_link_to_netns("m1", &other.ns).unwrap();
    assert!(t.handle.link("m1").unwrap_err().is_not_found());
    assert!(t.ip_link("m1").is_none());
    let moved = other.handle.link("m1").unwrap();
    assert_eq!(other.ip_link("m1").unwrap()["ifindex"], moved.index.get());
    // The pair is now split across namespaces.
    assert!(moved.link_netnsid.is_some());
    assert!(t.handle.link("m0").unwrap().link_netnsid.is_some());
}

#[test]
fn counters_follow_traffic() {
    require_root!();
    let a = TestNs::new();
    let b = TestNs::new();
    let mut veth = NewVeth::new("ca", "cb");
    veth.peer.netns = Some(&b.ns);
    a.handle.add_veth(&veth).unwrap();
    a.handle
        .add_address("ca", &"10.77.0.1/24".parse().unwrap())
        .unwrap();
    b.handle
        .add_address("cb", &"10.77.0.2/24".parse().unwrap())
        .unwrap();
    a.handle.set_link_up("ca").unwrap();
    b.handle.set_link_up("cb").unwrap();
    let before = b.handle.link("cb").unwrap().stats.unwrap();

    let receiver =
        b.ns.run(|| std::net::UdpSocket::bind("10.77.0.2:5000"))
            .unwrap()
            .unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    a.ns.run(|| {
        let s = std::net::UdpSocket::bind("10.77.0.1:0").unwrap();
        for _ in 0..10 {
            s.send_to(b"counted", "10.77.0.2:5000").unwrap();
        }
    })
    .unwrap();
    let mut buf = [0u8; 16];
    for _ in 0..10 {
        let (n, _) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"counted");
    }
    let after = b.handle.link("cb").unwrap().stats.unwrap();
    assert!(
        after.rx_packets >= before.rx_packets + 10,
        "{before:?} -> {after:?}"
    );
    let ip_stats = &b.ip(&["-j", "-s", "link", "show", "dev", "cb"])[0]["stats64"]["rx"];
    assert!(ip_stats["packets"].as_u64().unwrap() >= after.rx_packets);
    assert!(ip_stats["bytes"].as_u64().unwrap() >= after.rx_bytes);
}

#[test]
fn handle_in_other_namespace_leaves_caller_alone() {
    require_root!();
    let here = NetNs::current().unwrap().inode().unwrap();
    let t = TestNs::new();
    assert_ne!(t.ns.inode().unwrap(), here);
    t.handle.add_veth(&NewVeth::new("h0", "h1")).unwrap();
    assert_eq!(NetNs::current().unwrap().inode().unwrap(), here);
    // The handle keeps working from this thread and from others.
    std::thread::scope(|s| {
        s.spawn(|| assert!(t.handle.link("h0").is_ok()));
    });
    assert_eq!(
        t.ns.run(|| NetNs::current().unwrap().inode().unwrap())
            .unwrap(),
        t.ns.inode().unwrap()
    );
}

/// Kinds this crate does not model yet still list by the kernel's name. Needs the dummy and vrf
/// modules, which Debian's stock kernel has (the kernel-VM tier runs it there).
#[test]
fn dummy_and_vrf_links_report_their_kind_names() {
    require_root!();
    let t = TestNs::new();
    for args in [
        &["link", "add", "d0", "type", "dummy"][..],
        &["link", "add", "vrf0", "type", "vrf", "table", "10"][..],
    ] {
        if let Err(e) = t.try_sh("ip", args) {
            if e.contains("Unknown device type") || e.contains("not supported") {
                let reason = format!("the kernel cannot `ip {}`: {e}", args.join(" "));
                common::report_skip(&common::test_name(), &reason);
                return;
            }
            panic!("ip {args:?} failed: {e}");
        }
    }
    t.sh("ip", &["link", "set", "d0", "master", "vrf0"]);

    let d0 = t.handle.link("d0").unwrap();
    let vrf0 = t.handle.link("vrf0").unwrap();
    assert_eq!(d0.kind.as_ref().map(LinkKind::name), Some("dummy"));
    assert_eq!(vrf0.kind.as_ref().map(LinkKind::name), Some("vrf"));
    assert_eq!(d0.master, Some(vrf0.index));
    assert_eq!(t.ip_link("d0").unwrap()["linkinfo"]["info_kind"], "dummy");
    assert_eq!(t.ip_link("vrf0").unwrap()["linkinfo"]["info_kind"], "vrf");
    assert_eq!(t.ip_link("d0").unwrap()["master"], "vrf0");

    let vrfs = t
        .handle
        .links(&LinkFilter {
            kind: Some("vrf"),
            ..LinkFilter::default()
        })
        .unwrap();
    assert_eq!(vrfs.iter().map(|l| l.name).collect::<Vec<_>>(), ["vrf0"]);
    let ports = t.handle.links(&LinkFilter::master("vrf0")).unwrap();
    assert_eq!(ports.iter().map(|l| l.name).collect::<Vec<_>>(), ["d0"]);
}

/// Link groups: veths born in a group, a link moved into another, each group listed (checked
/// against `ip -j link show group N`) and deleted in one request, peers included.
#[test]
fn link_groups_list_and_delete_together() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    for i in 0..5 {
        h.add_veth(&NewVeth {
            group: Some(7),
            ..NewVeth::new(&format!("g{i}a"), &format!("g{i}b"))
        })
        .unwrap();
    }
    h.add_veth(&NewVeth::new("o0a", "o0b")).unwrap();
    h.set_link_group("o0a", 8).unwrap();

    let names = |group: u32| {
        let mut ours: Vec<String> = h
            .links(&LinkFilter {
                group: Some(group),
                ..LinkFilter::default()
            })
            .unwrap()
            .iter()
            .map(|l| l.name.to_string())
            .collect();
        ours.sort();
        let theirs = t.ip_link_names(&["group", &group.to_string()]);
        assert_eq!(ours, theirs, "group {group}");
        ours
    };
    assert_eq!(names(7), ["g0a", "g1a", "g2a", "g3a", "g4a"]);
    assert_eq!(names(8), ["o0a"]);
    assert_eq!(h.link("g0b").unwrap().group, 0);
    assert_eq!(h.link("o0a").unwrap().group, 8);

    // One request deletes the group; the peers go with their ends.
    h.delete_link_group(7).unwrap();
    assert!(names(7).is_empty());
    for i in 0..5 {
        assert!(h
            .link(format!("g{i}b").as_str())
            .unwrap_err()
            .is_not_found());
    }
    assert_eq!(names(8), ["o0a"]);

    // An empty group is not found; group 0 (every other link, lo included) is refused.
    let e = h.delete_link_group(7).unwrap_err();
    assert!(e.is_not_found() && e.to_string().contains("group 7"), "{e}");
    let e = h.delete_link_group(0).unwrap_err();
    assert!(matches!(e, Error::InvalidInput { arg: "group", .. }), "{e}");
    assert!(h.link("lo").is_ok());
}
