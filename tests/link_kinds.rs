//! Root tests for the link kinds containers and routing tools create (dummy, ifb, VLAN,
//! ipvlan/ipvtap, macvtap, tun/tap, any kind by name) and for links born in a target
//! namespace, each checked against `ip -j -d link show`. Kinds this kernel lacks (dummy,
//! 8021q and ipvlan on development kernels) skip with that reason and run in the kernel-VM tier.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use common::{assert_invalid, TestNs};
use netplumb::link::{
    IpvlanIsolation, IpvlanMode, LinkKind, MacvlanMode, NewBridge, NewDummy, NewIfb, NewIpvlan,
    NewLink, NewMacvlan, NewTun, NewVeth, NewVlan, NewVxlan, TunMode, VlanOptions, VlanProtocol,
};
use netplumb::{Error, MacAddr, VlanId, Vni};
use nix::unistd::{Gid, Group, Uid, User};
use serde_json::Value;

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

/// `info_data` of `ip -j -d link show dev NAME`.
fn info_data(t: &TestNs, name: &str) -> Value {
    t.ip_link(name).unwrap()["linkinfo"]["info_data"].clone()
}

#[test]
fn dummy_with_every_option() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let d = NewDummy {
        mtu: Some(9000),
        mac: Some(mac("02:00:00:00:d0:01")),
        ..NewDummy::new("lo1")
    };
    skip_if_unsupported!(h.add_dummy(&d)).unwrap();
    let ip = t.ip_link("lo1").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "dummy");
    assert_eq!(ip["mtu"], 9000);
    assert_eq!(ip["address"], "02:00:00:00:d0:01");
    let l = h.link("lo1").unwrap();
    assert_eq!(l.kind, Some(LinkKind::Dummy));
    assert_eq!((l.mtu, l.mac), (9000, d.mac));
    // Routing daemons put their loopback-like addresses on it.
    h.set_link_up("lo1").unwrap();
    h.add_address("lo1", &"192.0.2.53/32".parse().unwrap())
        .unwrap();
    h.set_link_mtu("lo1", 1500).unwrap();
    assert_eq!(t.ip_link("lo1").unwrap()["mtu"], 1500);
    assert!(h.add_dummy(&NewDummy::new("lo1")).unwrap_err().is_exists());
    h.delete_link("lo1").unwrap();
    assert!(t.ip_link("lo1").is_none());
}

#[test]
fn ifb_with_every_option() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let ifb = NewIfb {
        mtu: Some(1400),
        mac: Some(mac("02:00:00:00:1f:01")),
        ..NewIfb::new("ifb-in")
    };
    skip_if_unsupported!(h.add_ifb(&ifb)).unwrap();
    let ip = t.ip_link("ifb-in").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "ifb");
    assert_eq!(ip["mtu"], 1400);
    assert_eq!(ip["address"], "02:00:00:00:1f:01");
    let l = h.link("ifb-in").unwrap();
    assert_eq!(l.kind, Some(LinkKind::Ifb));
    assert_eq!((l.mtu, l.mac), (1400, ifb.mac));
    h.set_link_mtu("ifb-in", 1500).unwrap();
    h.set_link_up("ifb-in").unwrap();
    assert_eq!(t.ip_link("ifb-in").unwrap()["mtu"], 1500);
    h.delete_link("ifb-in").unwrap();
    assert!(t.ip_link("ifb-in").is_none());
}

#[test]
fn simple_kinds_input_is_checked() {
    require_root!();
    let t = TestNs::new();
    let before = t.ip_link_names(&[]);
    assert_invalid(
        t.handle.add_dummy(&NewDummy::new("a-name-far-too-long")),
        "dummy name",
    );
    assert_invalid(
        t.handle.add_ifb(&NewIfb::new("a-name-far-too-long")),
        "ifb name",
    );
    assert_invalid(
        t.handle.add_dummy(&NewDummy {
            mtu: Some(1 << 31),
            ..NewDummy::new("d0")
        }),
        "mtu",
    );
    assert_eq!(t.ip_link_names(&[]), before);
}

#[test]
fn vlan_with_every_option_changes_and_deletes() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let vlan = NewVlan {
        protocol: Some(VlanProtocol::Dot1Ad),
        options: VlanOptions {
            reorder_hdr: Some(false),
            gvrp: Some(true),
            mvrp: Some(true),
            loose_binding: Some(true),
            bridge_binding: Some(true),
            ingress_qos: vec![(1, 2), (5, 100)],
            egress_qos: vec![(3, 4), (7, 7)],
        },
        mtu: Some(1400),
        mac: Some(mac("02:00:00:00:0a:01")),
        ..NewVlan::new("u0.100", "u0", VlanId::new(100).unwrap())
    };
    skip_if_unsupported!(h.add_vlan(&vlan)).unwrap();

    let ip = t.ip_link("u0.100").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "vlan");
    assert_eq!(ip["link"], "u0");
    assert_eq!(ip["mtu"], 1400);
    assert_eq!(ip["address"], "02:00:00:00:0a:01");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["protocol"].as_str().unwrap().to_lowercase(), "802.1ad");
    assert_eq!(d["id"], 100);
    let flags: BTreeSet<&str> = d["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        flags,
        BTreeSet::from(["GVRP", "MVRP", "LOOSE_BINDING", "BRIDGE_BINDING"])
    );
    let map = |v: &Value| -> Vec<(u64, u64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| (m["from"].as_u64().unwrap(), m["to"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(map(&d["ingress_qos"]), [(1, 2), (5, 100)]);
    assert_eq!(map(&d["egress_qos"]), [(3, 4), (7, 7)]);

    let l = h.link("u0.100").unwrap();
    assert_eq!(l.link, Some(h.link_index("u0").unwrap()));
    let Some(LinkKind::Vlan(v)) = l.kind else {
        panic!("{:?}", l.kind)
    };
    assert_eq!(v.id, Some(vlan.id));
    assert_eq!(v.protocol, Some(VlanProtocol::Dot1Ad));
    assert!(!v.reorder_hdr && v.gvrp && v.mvrp && v.loose_binding && v.bridge_binding);
    assert_eq!(v.ingress_qos, vlan.options.ingress_qos);
    assert_eq!(v.egress_qos, vlan.options.egress_qos);

    // Flags and maps change; what a change does not name stays.
    h.set_vlan(
        "u0.100",
        &VlanOptions {
            reorder_hdr: Some(true),
            gvrp: Some(false),
            egress_qos: vec![(3, 0), (9, 1)],
            ..VlanOptions::default()
        },
    )
    .unwrap();
    let Some(LinkKind::Vlan(v)) = h.link("u0.100").unwrap().kind else {
        panic!()
    };
    assert!(v.reorder_hdr && !v.gvrp && v.mvrp && v.loose_binding);
    assert_eq!(v.egress_qos, [(7, 7), (9, 1)]);
    let d = info_data(&t, "u0.100");
    assert_eq!(map(&d["egress_qos"]), [(7, 7), (9, 1)]);
    assert!(d["flags"]
        .as_array()
        .unwrap()
        .contains(&"REORDER_HDR".into()));

    // A plain 802.1Q VLAN with the kernel's defaults.
    h.add_vlan(&NewVlan::new("u0.5", "u0", VlanId::new(5).unwrap()))
        .unwrap();
    let d = info_data(&t, "u0.5");
    assert_eq!(d["protocol"].as_str().unwrap().to_lowercase(), "802.1q");
    let Some(LinkKind::Vlan(v)) = h.link("u0.5").unwrap().kind else {
        panic!()
    };
    assert_eq!(v.protocol, Some(VlanProtocol::Dot1Q));
    assert!(v.reorder_hdr);
    // The same id twice on one parent is the kernel's to refuse.
    assert!(h
        .add_vlan(&NewVlan::new("u0.5b", "u0", VlanId::new(5).unwrap()))
        .is_err());
    assert!(t.ip_link("u0.5b").is_none());

    h.delete_link("u0.100").unwrap();
    assert!(t.ip_link("u0.100").is_none());
    assert!(t.ip_link("u0").is_some());
}

#[test]
fn vlan_input_is_checked() {
    require_root!();
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let before = t.ip_link_names(&[]);
    for id in [0, 4095, 5000] {
        assert_invalid(VlanId::new(id), "VLAN id");
    }
    let id = VlanId::new(7).unwrap();
    let bad = |o: VlanOptions| NewVlan {
        options: o,
        ..NewVlan::new("u0.7", "u0", id)
    };
    assert_invalid(
        t.handle.add_vlan(&bad(VlanOptions {
            ingress_qos: vec![(8, 1)],
            ..VlanOptions::default()
        })),
        "ingress_qos",
    );
    assert_invalid(
        t.handle.add_vlan(&bad(VlanOptions {
            egress_qos: vec![(1, 9)],
            ..VlanOptions::default()
        })),
        "egress_qos",
    );
    assert_invalid(
        t.handle
            .add_vlan(&NewVlan::new("a-name-far-too-long", "u0", id)),
        "vlan name",
    );
    assert!(t
        .handle
        .add_vlan(&NewVlan::new("u0.7", "nosuchdev", id))
        .unwrap_err()
        .is_not_found());
    assert_eq!(t.ip_link_names(&[]), before);
}

#[test]
fn vlan_datagram_between_two_namespaces() {
    require_root!();
    let a = TestNs::new();
    let b = TestNs::new();
    let (ha, hb) = (&a.handle, &b.handle);
    ha.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let id = VlanId::new(10).unwrap();
    skip_if_unsupported!(ha.add_vlan(&NewVlan::new("u0.10", "u0", id))).unwrap();
    // The other end's VLAN is born in b, on a parent that stays in a.
    let born_in_b = NewVlan {
        netns: Some(&b.ns),
        ..NewVlan::new("c.10", "u1", id)
    };
    ha.add_vlan(&born_in_b).unwrap();
    assert!(a.ip_link("c.10").is_none());
    let c = hb.link("c.10").unwrap();
    assert!(matches!(c.kind, Some(LinkKind::Vlan(v)) if v.id == Some(id)));
    assert_eq!(c.link, Some(ha.link_index("u1").unwrap()));
    let nsid = c
        .link_netnsid
        .expect("a parent in another namespace has a netnsid");
    assert_eq!(b.ip_link("c.10").unwrap()["link_netnsid"], nsid);

    for l in ["u0", "u1", "u0.10"] {
        ha.set_link_up(l).unwrap();
    }
    hb.set_link_up("c.10").unwrap();
    ha.add_address("u0.10", &"10.10.0.1/24".parse().unwrap())
        .unwrap();
    hb.add_address("c.10", &"10.10.0.2/24".parse().unwrap())
        .unwrap();
    let to = SocketAddr::new("10.10.0.2".parse().unwrap(), 7007);
    let _server = netplumb_lab::EchoServer::start(&b.ns, to).unwrap();
    let from: IpAddr = "10.10.0.1".parse().unwrap();
    netplumb_lab::udp_echo(&a.ns, from, to, 20, Duration::from_millis(250)).unwrap();
    // The datagram came through the VLAN devices, and their counters say so.
    let stats = hb.link("c.10").unwrap().stats.unwrap();
    assert!(stats.rx_packets > 0 && stats.tx_packets > 0, "{stats:?}");
}

#[test]
fn ipvlan_and_ipvtap_in_every_mode() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    for p in ["p", "q", "r"] {
        h.add_veth(&NewVeth::new(&format!("{p}0"), &format!("{p}1")))
            .unwrap();
    }
    let ipa = NewIpvlan {
        isolation: Some(IpvlanIsolation::Bridge),
        mtu: Some(1400),
        ..NewIpvlan::new("ipa", "p0", IpvlanMode::L2)
    };
    skip_if_unsupported!(h.add_ipvlan(&ipa)).unwrap();
    let ipv = NewIpvlan {
        isolation: Some(IpvlanIsolation::Vepa),
        ..NewIpvlan::new("ipv", "r0", IpvlanMode::L3)
    };
    h.add_ipvlan(&ipv).unwrap();
    let ipt = NewIpvlan {
        isolation: Some(IpvlanIsolation::Private),
        ..NewIpvlan::new("ipt", "q0", IpvlanMode::L3s)
    };
    skip_if_unsupported!(h.add_ipvtap(&ipt)).unwrap();

    for (n, want, kind, word, parent) in [
        (&ipa, &ipa, "ipvlan", "l2", "p0"),
        (&ipv, &ipv, "ipvlan", "l3", "r0"),
        (&ipt, &ipt, "ipvtap", "l3s", "q0"),
    ] {
        let ip = t.ip_link(&n.name).unwrap();
        assert_eq!(ip["linkinfo"]["info_kind"], kind, "{}", n.name);
        assert_eq!(ip["linkinfo"]["info_data"]["mode"], word, "{}", n.name);
        assert_eq!(ip["link"], parent);
        let l = h.link(n.name.as_str()).unwrap();
        assert_eq!(l.link, Some(h.link_index(parent).unwrap()));
        let info = match l.kind {
            Some(LinkKind::Ipvlan(i)) if kind == "ipvlan" => i,
            Some(LinkKind::Ipvtap(i)) if kind == "ipvtap" => i,
            k => panic!("{}: {k:?}", n.name),
        };
        assert_eq!(info.mode, Some(want.mode), "{}", n.name);
        assert_eq!(info.isolation, want.isolation, "{}", n.name);
    }
    assert_eq!(t.ip_link("ipa").unwrap()["mtu"], 1400);

    // The mode and isolation change (the mode is the parent's, for all its ipvlans).
    h.set_ipvlan("ipa", IpvlanMode::L3, Some(IpvlanIsolation::Private))
        .unwrap();
    let Some(LinkKind::Ipvlan(i)) = h.link("ipa").unwrap().kind else {
        panic!()
    };
    assert_eq!(
        (i.mode, i.isolation),
        (Some(IpvlanMode::L3), Some(IpvlanIsolation::Private))
    );
    assert_eq!(info_data(&t, "ipa")["mode"], "l3");
    h.set_ipvlan("ipt", IpvlanMode::L2, None).unwrap();
    assert_eq!(info_data(&t, "ipt")["mode"], "l2");
    assert_invalid(h.set_ipvlan("p0", IpvlanMode::L2, None), "ipvlan");

    // Born in another namespace, on a parent that stays here.
    let pod = TestNs::new();
    let born = NewIpvlan {
        netns: Some(&pod.ns),
        ..NewIpvlan::new("eth0", "p0", IpvlanMode::L3)
    };
    h.add_ipvlan(&born).unwrap();
    let l = pod.handle.link("eth0").unwrap();
    assert!(matches!(l.kind, Some(LinkKind::Ipvlan(_))));
    assert!(l.link_netnsid.is_some());

    let before = t.ip_link_names(&[]);
    assert_invalid(
        h.add_ipvlan(&NewIpvlan::new("a-name-far-too-long", "p0", IpvlanMode::L2)),
        "ipvlan name",
    );
    assert_invalid(
        h.add_ipvtap(&NewIpvlan::new("a-name-far-too-long", "p0", IpvlanMode::L2)),
        "ipvtap name",
    );
    assert_eq!(t.ip_link_names(&[]), before);

    for n in ["ipa", "ipv", "ipt"] {
        h.delete_link(n).unwrap();
        assert!(t.ip_link(n).is_none());
    }
}

#[test]
fn macvtap_and_macvlan_source_macs() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    h.add_veth(&NewVeth::new("w0", "w1")).unwrap();
    let mvt = NewMacvlan {
        mtu: Some(1400),
        mac: Some(mac("02:00:00:00:7a:01")),
        ..NewMacvlan::new("mvt0", "u0", MacvlanMode::Bridge)
    };
    skip_if_unsupported!(h.add_macvtap(&mvt)).unwrap();
    let ip = t.ip_link("mvt0").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "macvtap");
    assert_eq!(ip["linkinfo"]["info_data"]["mode"], "bridge");
    assert_eq!(
        (&ip["mtu"], &ip["address"]),
        (&1400.into(), &"02:00:00:00:7a:01".into())
    );
    assert_eq!(ip["link"], "u0");
    let l = h.link("mvt0").unwrap();
    assert!(matches!(&l.kind, Some(LinkKind::Macvtap(m)) if m.mode == Some(MacvlanMode::Bridge)));
    assert_eq!((l.mtu, l.mac), (1400, mvt.mac));

    // Every mode, and the source MAC list of mode source, for macvtap and macvlan.
    let sources = vec![mac("02:00:00:00:5c:01"), mac("02:00:00:00:5c:02")];
    for (i, (mode, word)) in [
        (MacvlanMode::Private, "private"),
        (MacvlanMode::Vepa, "vepa"),
        (MacvlanMode::Source, "source"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = NewMacvlan::new(&format!("mvt{}", i + 1), "u0", mode);
        if mode == MacvlanMode::Source {
            m.source_macs = sources.clone();
        }
        h.add_macvtap(&m).unwrap();
        let d = info_data(&t, &m.name);
        assert_eq!(d["mode"], word);
        let Some(LinkKind::Macvtap(got)) = h.link(m.name.as_str()).unwrap().kind else {
            panic!()
        };
        assert_eq!(got.mode, Some(mode));
        let mut got_macs = got.source_macs.clone();
        got_macs.sort();
        assert_eq!(got_macs, m.source_macs);
        if mode == MacvlanMode::Source {
            assert_eq!(d["macaddr_count"], 2);
            let mut theirs: Vec<MacAddr> = d["macaddr_data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().parse().unwrap())
                .collect();
            theirs.sort();
            assert_eq!(theirs, sources);
        }
    }
    let mut src = NewMacvlan::new("mvs", "w0", MacvlanMode::Source);
    src.source_macs = sources.clone();
    h.add_macvlan(&src).unwrap();
    let Some(LinkKind::Macvlan(got)) = h.link("mvs").unwrap().kind else {
        panic!()
    };
    let mut got_macs = got.source_macs;
    got_macs.sort();
    assert_eq!(got_macs, sources);
    assert_eq!(info_data(&t, "mvs")["macaddr_count"], 2);
    // The list is replaced, then flushed, on macvlan and macvtap alike.
    let third = mac("02:00:00:00:5c:03");
    for name in ["mvs", "mvt3"] {
        h.set_macvlan_source_macs(name, &[third]).unwrap();
        let d = info_data(&t, name);
        assert_eq!(
            d["macaddr_data"],
            serde_json::json!(["02:00:00:00:5c:03"]),
            "{name}"
        );
        let got = match h.link(name).unwrap().kind {
            Some(LinkKind::Macvlan(m) | LinkKind::Macvtap(m)) => m.source_macs,
            k => panic!("{k:?}"),
        };
        assert_eq!(got, [third]);
        h.set_macvlan_source_macs(name, &[]).unwrap();
        assert_eq!(info_data(&t, name)["macaddr_count"], 0, "{name}");
    }
    assert_invalid(h.set_macvlan_source_macs("u0", &[third]), "source_macs");

    h.set_link_mtu("mvt0", 1300).unwrap();
    assert_eq!(t.ip_link("mvt0").unwrap()["mtu"], 1300);

    let before = t.ip_link_names(&[]);
    let mut bad = NewMacvlan::new("mvbad", "u0", MacvlanMode::Bridge);
    bad.source_macs = sources.clone();
    assert_invalid(h.add_macvtap(&bad), "source_macs");
    assert_invalid(h.add_macvlan(&bad), "source_macs");
    assert_invalid(
        h.add_macvtap(&NewMacvlan::new(
            "a-name-far-too-long",
            "u0",
            MacvlanMode::Bridge,
        )),
        "macvtap name",
    );
    assert_eq!(t.ip_link_names(&[]), before);

    h.delete_link("mvt0").unwrap();
    assert!(t.ip_link("mvt0").is_none());
}

/// A user and group that exist here: nobody/nogroup when the system has them, else root.
fn some_user_and_group() -> (u32, String, u32, String) {
    let user = User::from_uid(Uid::from_raw(65534))
        .unwrap()
        .or_else(|| User::from_uid(Uid::from_raw(0)).unwrap())
        .expect("the user database knows root");
    let group = Group::from_gid(Gid::from_raw(65534))
        .unwrap()
        .or_else(|| Group::from_gid(Gid::from_raw(0)).unwrap())
        .expect("the group database knows root");
    (user.uid.as_raw(), user.name, group.gid.as_raw(), group.name)
}

/// Whether a link of this name exists in the test process's own namespace (read only).
fn exists_in_own_namespace(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn tun_and_tap_with_every_option() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let (uid, user, gid, group) = some_user_and_group();
    let tap = NewTun {
        owner: Some(uid),
        group: Some(gid),
        packet_info: true,
        vnet_hdr: true,
        multi_queue: true,
        ..NewTun::new("ntap0", TunMode::Tap)
    };
    skip_if_unsupported!(h.add_tun(&tap)).unwrap();
    // Made in the handle's namespace, not the caller's.
    assert!(!exists_in_own_namespace("ntap0"));
    let ip = t.ip_link("ntap0").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "tun");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["type"], "tap");
    for (k, v) in [
        ("pi", true),
        ("vnet_hdr", true),
        ("multi_queue", true),
        ("persist", true),
    ] {
        assert_eq!(d[k], v, "{k}");
    }
    assert_eq!(d["user"], user.as_str());
    assert_eq!(d["group"], group.as_str());
    let Some(LinkKind::Tun(got)) = h.link("ntap0").unwrap().kind else {
        panic!()
    };
    assert_eq!(got.mode, Some(TunMode::Tap));
    assert_eq!((got.owner, got.group), (Some(uid), Some(gid)));
    assert!(got.packet_info && got.vnet_hdr && got.multi_queue && got.persist);
    assert_eq!(got.queues, d["numqueues"].as_u64().map(|v| v as u32));

    // A tun with iproute2's defaults: no packet information, one queue, no owner.
    h.add_tun(&NewTun::new("ntun0", TunMode::Tun)).unwrap();
    let d = info_data(&t, "ntun0");
    assert_eq!(d["type"], "tun");
    assert_eq!(
        (&d["pi"], &d["vnet_hdr"], &d["multi_queue"]),
        (&false.into(), &false.into(), &false.into())
    );
    assert!(d.get("user").is_none());
    let Some(LinkKind::Tun(got)) = h.link("ntun0").unwrap().kind else {
        panic!()
    };
    assert_eq!(
        (got.mode, got.owner, got.group),
        (Some(TunMode::Tun), None, None)
    );
    assert!(!got.packet_info && !got.vnet_hdr && !got.multi_queue && got.persist);

    // Born in another namespace.
    let other = TestNs::new();
    h.add_tun(&NewTun {
        netns: Some(&other.ns),
        ..NewTun::new("ntap1", TunMode::Tap)
    })
    .unwrap();
    assert!(t.ip_link("ntap1").is_none());
    assert_eq!(info_data(&other, "ntap1")["type"], "tap");

    // Changed and deleted like any link; a name in use is "exists".
    h.set_link_mtu("ntap0", 9000).unwrap();
    h.set_link_up("ntap0").unwrap();
    assert_eq!(t.ip_link("ntap0").unwrap()["mtu"], 9000);
    let e = h.add_tun(&NewTun::new("ntap0", TunMode::Tap)).unwrap_err();
    assert!(e.is_exists(), "{e}");
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    assert!(h.add_tun(&NewTun::new("v0", TunMode::Tap)).is_err());
    assert_eq!(t.ip_link("v0").unwrap()["linkinfo"]["info_kind"], "veth");
    h.delete_link("ntap0").unwrap();
    h.delete_link("ntun0").unwrap();
    assert!(t.ip_link("ntap0").is_none() && t.ip_link("ntun0").is_none());
}

#[test]
fn tun_input_is_checked() {
    require_root!();
    let t = TestNs::new();
    let before = t.ip_link_names(&[]);
    // Ids no user or group has (the databases are asked, as iproute2 does for names).
    let uid = (3_999_000..4_000_000)
        .find(|u| User::from_uid(Uid::from_raw(*u)).unwrap().is_none())
        .unwrap();
    let gid = (3_999_000..4_000_000)
        .find(|g| Group::from_gid(Gid::from_raw(*g)).unwrap().is_none())
        .unwrap();
    assert_invalid(
        t.handle.add_tun(&NewTun {
            owner: Some(uid),
            ..NewTun::new("tbad", TunMode::Tap)
        }),
        "owner",
    );
    assert_invalid(
        t.handle.add_tun(&NewTun {
            group: Some(gid),
            ..NewTun::new("tbad", TunMode::Tun)
        }),
        "group",
    );
    assert_invalid(
        t.handle
            .add_tun(&NewTun::new("a-name-far-too-long", TunMode::Tun)),
        "tun name",
    );
    assert_invalid(
        t.handle.add_tun(&NewTun::new("tbad", TunMode::Other(9))),
        "mode",
    );
    assert_eq!(t.ip_link_names(&[]), before);
}

#[test]
fn links_are_born_in_a_target_namespace() {
    require_root!();
    let t = TestNs::new();
    let pod = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let ns = Some(&pod.ns);
    skip_if_unsupported!(h.add_ifb(&NewIfb {
        netns: ns,
        ..NewIfb::new("ifb1")
    }))
    .unwrap();
    let mut mv = NewMacvlan::new("eth0", "u0", MacvlanMode::Bridge);
    mv.netns = ns;
    h.add_macvlan(&mv).unwrap();
    h.add_bridge(&NewBridge {
        netns: ns,
        ..NewBridge::new("br0")
    })
    .unwrap();
    h.add_vxlan(&NewVxlan {
        netns: ns,
        underlay: Some("u0".into()),
        ..NewVxlan::new("vx0", Vni::new(7).unwrap())
    })
    .unwrap();
    let mut veth = NewVeth::new("x0", "x1");
    veth.netns = ns;
    h.add_veth(&veth).unwrap();
    h.add_link(&NewLink::other("o0", "ifb").netns(&pod.ns))
        .unwrap();

    for (name, kind) in [
        ("ifb1", "ifb"),
        ("eth0", "macvlan"),
        ("br0", "bridge"),
        ("vx0", "vxlan"),
        ("x0", "veth"),
        ("o0", "ifb"),
    ] {
        assert!(
            t.ip_link(name).is_none(),
            "{name} is not in the handle's namespace"
        );
        let ip = pod.ip_link(name).unwrap();
        assert_eq!(ip["linkinfo"]["info_kind"], kind, "{name}");
        pod.handle.link(name).unwrap();
    }
    // x1 stays here, its peer x0 is in the pod; the macvlan's parent stays here: both say where.
    assert!(t.ip_link("x1").is_some());
    let mv = pod.handle.link("eth0").unwrap();
    assert_eq!(mv.link, Some(h.link_index("u0").unwrap()));
    let nsid = mv.link_netnsid.expect("the parent's namespace id");
    assert_eq!(pod.ip_link("eth0").unwrap()["link_netnsid"], nsid);
    let x0 = pod.handle.link("x0").unwrap();
    assert_eq!(x0.link_netnsid, Some(nsid));
    assert_eq!(x0.link, Some(h.link_index("x1").unwrap()));
}

#[test]
fn any_kind_by_name() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    skip_if_unsupported!(h.add_link(&NewLink::other("o0", "ifb").mtu(1400))).unwrap();
    let l = h.link("o0").unwrap();
    assert_eq!((l.kind, l.mtu), (Some(LinkKind::Ifb), 1400));

    // VXLAN spelled out: IFLA_VXLAN_ID (1, u32), IFLA_VXLAN_PORT (15, big-endian u16).
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let vx = NewLink::other("ovx", "vxlan")
        .data_u32(1, 42)
        .data_be16(15, 4789)
        .data_u32(3, h.link_index("u0").unwrap().get())
        .mac(mac("02:00:00:00:0b:01"));
    h.add_link(&vx).unwrap();
    let d = info_data(&t, "ovx");
    assert_eq!(
        (&d["id"], &d["port"], &d["link"]),
        (&42.into(), &4789.into(), &"u0".into())
    );
    let l = h.link("ovx").unwrap();
    let Some(LinkKind::Vxlan(v)) = l.kind else {
        panic!("{:?}", l.kind)
    };
    assert_eq!((v.vni.map(|v| v.get()), v.port), (Some(42), Some(4789)));
    assert_eq!(l.mac, Some(mac("02:00:00:00:0b:01")));

    // A kind with a parent: macvlan, mode private (IFLA_MACVLAN_MODE, 1, u32).
    h.add_link(&NewLink::other("omv", "macvlan").parent("u0").data_u32(1, 1))
        .unwrap();
    assert_eq!(info_data(&t, "omv")["mode"], "private");

    let before = t.ip_link_names(&[]);
    assert_invalid(h.add_link(&NewLink::other("x", "")), "link kind");
    assert_invalid(h.add_link(&NewLink::other("x", "two words")), "link kind");
    assert_invalid(
        h.add_link(&NewLink::other("x", "ifb").data_u8(0, 1)),
        "link data",
    );
    assert_invalid(
        h.add_link(&NewLink::other("a-name-far-too-long", "ifb")),
        "link name",
    );
    // A kind no kernel has is Unsupported; a value the kernel refuses keeps its errno.
    let e = h.add_link(&NewLink::other("x", "nosuchkind")).unwrap_err();
    assert!(e.is_unsupported(), "{e}");
    let e = h
        .add_link(&NewLink::other("x", "vxlan").data_u8(1, 42))
        .unwrap_err();
    assert!(matches!(e, Error::Kernel { .. }), "{e}");
    assert_eq!(t.ip_link_names(&[]), before);
}
