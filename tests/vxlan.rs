//! Root tests for VXLAN and macvlan devices, checked against `ip -j -d link show`.

mod common;

use std::time::Duration;

use common::TestNs;
use netplumb::link::{LinkKind, MacvlanMode, NewMacvlan, NewVeth, NewVxlan, Vxlan, VxlanChange};
use netplumb::{Error, IpFamily, Vni};
use serde_json::Value;

fn vni(n: u32) -> Vni {
    Vni::new(n).unwrap()
}

fn vxlan_info(t: &TestNs, name: &str) -> Vxlan {
    match t.handle.link(name).unwrap().kind {
        Some(LinkKind::Vxlan(i)) => i,
        other => panic!("{name} is not a vxlan: {other:?}"),
    }
}

fn ip_data(t: &TestNs, name: &str) -> Value {
    let l = t.ip_link(name).expect("ip shows the device");
    assert_eq!(l["linkinfo"]["info_kind"], "vxlan");
    l["linkinfo"]["info_data"].clone()
}

#[test]
fn vxlan_with_every_option_reads_back_as_set() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let u0 = h.link("u0").unwrap().index;
    let vx = NewVxlan {
        mtu: Some(1450),
        mac: Some("02:00:00:00:42:01".parse().unwrap()),
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("192.0.2.2".parse().unwrap()),
        underlay: Some("u0".into()),
        port: Some(4789),
        port_range: Some((5000, 6000)),
        ttl: Some(64),
        tos: Some(0x10),
        learning: Some(false),
        proxy: Some(true),
        rsc: Some(true),
        l2miss: Some(true),
        l3miss: Some(true),
        ageing: Some(Duration::from_secs(120)),
        limit: Some(500),
        gbp: true,
        udp_csum: Some(false),
        ..NewVxlan::new("vx0", vni(4242))
    };
    h.add_vxlan(&vx).unwrap();

    let link = h.link("vx0").unwrap();
    assert_eq!(link.mtu, 1450);
    assert_eq!(link.mac, vx.mac);
    let i = vxlan_info(&t, "vx0");
    assert_eq!(i.vni, Some(vni(4242)));
    assert_eq!(i.local, vx.local);
    assert_eq!(i.remote, vx.remote);
    assert_eq!(i.group, None);
    assert_eq!(i.underlay, Some(u0));
    assert_eq!(i.port, Some(4789));
    assert_eq!(i.port_range, Some((5000, 6000)));
    assert_eq!(i.ttl, Some(64));
    assert_eq!(i.tos, Some(0x10));
    assert_eq!(i.learning, Some(false));
    assert_eq!(i.proxy, Some(true));
    assert_eq!(i.rsc, Some(true));
    assert_eq!(i.l2miss, Some(true));
    assert_eq!(i.l3miss, Some(true));
    assert_eq!(i.ageing, Some(Duration::from_secs(120)));
    assert_eq!(i.limit, Some(500));
    assert!(i.gbp);
    assert_eq!(i.udp_csum, Some(false));
    assert!(!i.external);
    assert_eq!(i.family(), IpFamily::V4);

    // The oracle agrees on every option.
    let d = ip_data(&t, "vx0");
    assert_eq!(d["id"], 4242);
    assert_eq!(d["local"], "192.0.2.1");
    assert_eq!(d["remote"], "192.0.2.2");
    assert_eq!(d["link"], "u0");
    assert_eq!(d["port"], 4789);
    assert_eq!(d["port_range"]["low"], 5000);
    assert_eq!(d["port_range"]["high"], 6000);
    assert_eq!(d["ttl"], 64);
    assert_eq!(d["tos"], "0x10");
    assert_eq!(d["learning"], false);
    for flag in ["proxy", "rsc", "l2miss", "l3miss", "gbp"] {
        assert_eq!(d[flag], true, "{flag}");
    }
    assert_eq!(d["ageing"], 120);
    assert_eq!(d["limit"], 500);
    assert_eq!(d["udp_csum"], false);
    let l = t.ip_link("vx0").unwrap();
    assert_eq!(l["mtu"], 1450);
    assert_eq!(l["address"], "02:00:00:00:42:01");
}

#[test]
fn vxlan_multicast_ipv6_and_external() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    h.add_vxlan(&NewVxlan {
        group: Some("239.1.1.1".parse().unwrap()),
        underlay: Some("u0".into()),
        port: Some(4789),
        ..NewVxlan::new("vxm", vni(7))
    })
    .unwrap();
    let i = vxlan_info(&t, "vxm");
    assert_eq!(i.group, Some("239.1.1.1".parse().unwrap()));
    assert_eq!(i.remote, None);
    let d = ip_data(&t, "vxm");
    assert_eq!(d["group"], "239.1.1.1");
    assert_eq!(d["link"], "u0");

    h.add_vxlan(&NewVxlan {
        local: Some("2001:db8::1".parse().unwrap()),
        remote: Some("2001:db8::2".parse().unwrap()),
        udp_zero_csum6_tx: Some(true),
        udp_zero_csum6_rx: Some(true),
        port: Some(4789),
        ..NewVxlan::new("vx6", vni(16_777_215))
    })
    .unwrap();
    let i = vxlan_info(&t, "vx6");
    assert_eq!(i.vni, Some(vni(16_777_215)));
    assert_eq!(i.local, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(i.remote, Some("2001:db8::2".parse().unwrap()));
    assert_eq!(i.udp_zero_csum6_tx, Some(true));
    assert_eq!(i.udp_zero_csum6_rx, Some(true));
    assert_eq!(i.family(), IpFamily::V6);
    let d = ip_data(&t, "vx6");
    assert_eq!(d["id"], 16_777_215);
    assert_eq!(d["local6"], "2001:db8::1");
    assert_eq!(d["remote6"], "2001:db8::2");
    assert_eq!(d["udp_zero_csum6_tx"], true);
    assert_eq!(d["udp_zero_csum6_rx"], true);

    h.add_vxlan(&NewVxlan {
        port: Some(4790),
        ..NewVxlan::external("vxe")
    })
    .unwrap();
    let i = vxlan_info(&t, "vxe");
    assert!(i.external);
    let d = ip_data(&t, "vxe");
    assert_eq!(d["external"], true);
    assert_eq!(d["port"], 4790);
}

#[test]
fn vxlan_bad_input_changes_nothing() {
    require_root!();
    let t = TestNs::new();
    let before = t.ip_link_names(&[]);
    // VNI ≥ 2^24 cannot even be built.
    let e = Vni::new(1 << 24).unwrap_err();
    assert!(matches!(e, Error::InvalidInput { arg: "VNI", .. }), "{e}");
    common::assert_invalid(
        t.handle.add_vxlan(&NewVxlan {
            group: Some("192.0.2.1".parse().unwrap()),
            ..NewVxlan::new("vxbad", vni(1))
        }),
        "group",
    );
    common::assert_invalid(
        t.handle.add_vxlan(&NewVxlan {
            local: Some("192.0.2.1".parse().unwrap()),
            remote: Some("2001:db8::2".parse().unwrap()),
            ..NewVxlan::new("vxbad", vni(1))
        }),
        "local",
    );
    common::assert_invalid(
        t.handle.add_vxlan(&NewVxlan {
            ageing: Some(Duration::from_millis(500)),
            ..NewVxlan::new("vxbad", vni(1))
        }),
        "ageing",
    );
    common::assert_invalid(
        t.handle.add_vxlan(&NewVxlan {
            vni: None,
            ..NewVxlan::new("vxbad", vni(1))
        }),
        "vni",
    );
    let e = t
        .handle
        .add_vxlan(&NewVxlan {
            underlay: Some("nosuchdev".into()),
            ..NewVxlan::new("vxbad", vni(1))
        })
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(t.ip_link_names(&[]), before);
}

#[test]
fn macvlan_in_every_mode() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let u0 = h.link("u0").unwrap().index;
    for (name, mode, word) in [
        ("mvb", MacvlanMode::Bridge, "bridge"),
        ("mvp", MacvlanMode::Private, "private"),
        ("mvv", MacvlanMode::Vepa, "vepa"),
    ] {
        h.add_macvlan(&NewMacvlan::new(name, "u0", mode)).unwrap();
        let l = h.link(name).unwrap();
        assert_eq!(l.link, Some(u0));
        match l.kind {
            Some(LinkKind::Macvlan(i)) => assert_eq!(i.mode, Some(mode)),
            other => panic!("{other:?}"),
        }
        let theirs = t.ip_link(name).unwrap();
        assert_eq!(theirs["linkinfo"]["info_kind"], "macvlan");
        assert_eq!(theirs["linkinfo"]["info_data"]["mode"], word);
        assert_eq!(theirs["link"], "u0");
    }
    // passthru takes the whole parent: only one, and only alone.
    h.add_veth(&NewVeth::new("w0", "w1")).unwrap();
    h.add_macvlan(&NewMacvlan::new("mvt", "w0", MacvlanMode::Passthru))
        .unwrap();
    assert_eq!(
        t.ip_link("mvt").unwrap()["linkinfo"]["info_data"]["mode"],
        "passthru"
    );
    let e = h
        .add_macvlan(&NewMacvlan::new("mvt2", "w0", MacvlanMode::Bridge))
        .unwrap_err();
    assert!(
        e.errno().is_some(),
        "the kernel refuses a second macvlan: {e}"
    );
    assert!(t.ip_link("mvt2").is_none());
}

#[test]
fn macvlan_made_in_another_namespace() {
    require_root!();
    let t = TestNs::new();
    let pod = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let mut m = NewMacvlan::new("mv0", "u0", MacvlanMode::Bridge);
    m.mac = Some("02:00:00:00:aa:01".parse().unwrap());
    h.add_macvlan_in(&m, &pod.ns).unwrap();
    let theirs = pod.ip(&["-j", "-d", "link", "show", "mv0"]);
    assert_eq!(theirs[0]["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(theirs[0]["linkinfo"]["info_data"]["mode"], "bridge");
    assert_eq!(theirs[0]["address"], "02:00:00:00:aa:01");
    // Its parent is in the other namespace (ip shows a link-netnsid).
    assert!(theirs[0].get("link_netnsid").is_some(), "{theirs}");
    // It was born there: nothing of that name here.
    assert!(t.ip_link("mv0").is_none());
    // A parent that is not there is refused before anything is made.
    let e = h
        .add_macvlan_in(
            &NewMacvlan::new("mv9", "nosuch", MacvlanMode::Bridge),
            &pod.ns,
        )
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

#[test]
fn vxlan_settings_change_where_the_kernel_allows() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    h.add_vxlan(&NewVxlan {
        local: Some("192.0.2.9".parse().unwrap()),
        remote: Some("192.0.2.1".parse().unwrap()),
        underlay: Some("u0".into()),
        port: Some(4789),
        ..NewVxlan::new("vx0", vni(10))
    })
    .unwrap();
    let u1 = h.link("u1").unwrap().index;

    // Every changeable setting at once, read back by netplumb and by `ip -j -d link`.
    h.set_vxlan(
        "vx0",
        &VxlanChange {
            remote: Some("192.0.2.7".parse().unwrap()),
            local: Some("192.0.2.10".parse().unwrap()),
            underlay: Some("u1".into()),
            ttl: Some(16),
            tos: Some(0x10),
            learning: Some(false),
            ageing: Some(Duration::from_secs(120)),
            ..VxlanChange::default()
        },
    )
    .unwrap();
    let i = vxlan_info(&t, "vx0");
    assert_eq!(i.remote, Some("192.0.2.7".parse().unwrap()));
    assert_eq!(i.local, Some("192.0.2.10".parse().unwrap()));
    assert_eq!(i.underlay, Some(u1));
    assert_eq!(i.ttl, Some(16));
    assert_eq!(i.tos, Some(0x10));
    assert_eq!(i.learning, Some(false));
    assert_eq!(i.ageing, Some(Duration::from_secs(120)));
    assert_eq!(i.vni, Some(vni(10)));
    assert_eq!(i.port, Some(4789));
    let d = ip_data(&t, "vx0");
    assert_eq!(d["remote"], "192.0.2.7");
    assert_eq!(d["local"], "192.0.2.10");
    assert_eq!(d["link"], "u1");
    assert_eq!(d["ttl"], 16);
    assert_eq!(d["tos"], "0x10");
    assert_eq!(d["learning"], false);
    assert_eq!(d["ageing"], 120);
    assert_eq!(d["id"], 10);
    assert_eq!(d["port"], 4789);
    // The kernel moves the default FDB entry (all-zero MAC) to the new remote.
    let fdb = t.bridge(&["-j", "fdb", "show", "dev", "vx0"]);
    let dsts: Vec<&str> = fdb
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["mac"] == "00:00:00:00:00:00")
        .filter_map(|e| e["dst"].as_str())
        .collect();
    assert_eq!(dsts, ["192.0.2.7"], "{fdb}");

    // A unicast remote becomes a multicast group (on the underlay set above).
    h.set_vxlan(
        "vx0",
        &VxlanChange {
            group: Some("239.1.1.9".parse().unwrap()),
            ..VxlanChange::default()
        },
    )
    .unwrap();
    let i = vxlan_info(&t, "vx0");
    assert_eq!(
        (i.group, i.remote),
        (Some("239.1.1.9".parse().unwrap()), None)
    );
    let d = ip_data(&t, "vx0");
    assert_eq!(d["group"], "239.1.1.9");
    assert!(d.get("remote").is_none(), "{d}");

    // An IPv6 device's flow label.
    h.add_vxlan(&NewVxlan {
        remote: Some("2001:db8::1".parse().unwrap()),
        ..NewVxlan::new("vx6", vni(11))
    })
    .unwrap();
    h.set_vxlan(
        "vx6",
        &VxlanChange {
            flow_label: Some(0x12345),
            ..VxlanChange::default()
        },
    )
    .unwrap();
    assert_eq!(vxlan_info(&t, "vx6").flow_label, Some(0x12345));
    assert_eq!(ip_data(&t, "vx6")["label"], "0x12345");
}

#[test]
fn vxlan_changes_the_kernel_refuses_keep_its_error_and_change_nothing() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_vxlan(&NewVxlan {
        remote: Some("192.0.2.1".parse().unwrap()),
        ..NewVxlan::new("vx0", vni(10))
    })
    .unwrap();
    let before = ip_data(&t, "vx0");
    // Another address family than the device's: the kernel's EOPNOTSUPP and message.
    let e = h
        .set_vxlan(
            "vx0",
            &VxlanChange {
                remote: Some("2001:db8::7".parse().unwrap()),
                ..VxlanChange::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.errno(), Some(nix::errno::Errno::EOPNOTSUPP), "{e}");
    assert!(
        e.kernel_message()
            .is_some_and(|m| m.contains("does not match")),
        "{e}"
    );
    // A flow label on an IPv4 device: the kernel's EINVAL and message.
    let e = h
        .set_vxlan(
            "vx0",
            &VxlanChange {
                flow_label: Some(5),
                ttl: Some(9),
                ..VxlanChange::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.errno(), Some(nix::errno::Errno::EINVAL), "{e}");
    assert!(
        e.kernel_message().is_some_and(|m| m.contains("IPv6")),
        "{e}"
    );
    assert_eq!(ip_data(&t, "vx0"), before);

    // Refused before sending: a unicast group, a remote and a group, a 21-bit label, a
    // sub-second ageing; a device that is not there.
    let bad = [
        (
            VxlanChange {
                group: Some("192.0.2.3".parse().unwrap()),
                ..VxlanChange::default()
            },
            "group",
        ),
        (
            VxlanChange {
                remote: Some("192.0.2.3".parse().unwrap()),
                group: Some("239.1.1.1".parse().unwrap()),
                ..VxlanChange::default()
            },
            "remote",
        ),
        (
            VxlanChange {
                flow_label: Some(1 << 20),
                ..VxlanChange::default()
            },
            "flow_label",
        ),
        (
            VxlanChange {
                ageing: Some(Duration::from_millis(300)),
                ..VxlanChange::default()
            },
            "ageing",
        ),
    ];
    for (c, arg) in bad {
        common::assert_invalid(h.set_vxlan("vx0", &c), arg);
    }
    assert_eq!(ip_data(&t, "vx0"), before);
    assert!(matches!(
        h.set_vxlan("nope0", &VxlanChange::default()),
        Err(Error::NotFound { .. })
    ));
}
