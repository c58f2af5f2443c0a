//! Root tests for GRE (gre, gretap, ip6gre, ip6gretap), SIT and ip6tnl tunnels, checked against
//! `ip -j -d link`, and a datagram through a GRE tunnel between two namespaces. Kernels without
//! the kind's module skip them with that reason.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::TestNs;
use netplumb::link::{
    GreKind, Ip6TnlMode, LinkKind, NewGre, NewIp6Tnl, NewSit, NewVeth, NewVti, SitMode,
    GRE_FALLBACK, IP6TNL_FALLBACK, SIT_FALLBACK, VTI_FALLBACK,
};
use netplumb::{Handle, IpFamily};

/// An underlay `u0` with `192.0.2.1/24` and `fd00::1/64` in the test's namespace.
fn underlay(h: &Handle) {
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    h.add_address("u0", &"192.0.2.1/24".parse().unwrap())
        .unwrap();
    h.set_link_up("u0").unwrap();
}

#[test]
fn gre_with_every_option_reads_back_as_set() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    underlay(h);
    let gre = NewGre {
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("198.51.100.1".parse().unwrap()),
        ikey: Some(42),
        okey: Some(43),
        icsum: true,
        ocsum: true,
        iseq: true,
        oseq: true,
        ttl: Some(64),
        tos: Some(0x10),
        pmtudisc: Some(true),
        fwmark: Some(7),
        underlay: Some("u0".into()),
        mtu: Some(1400),
        ..NewGre::new("gre1", GreKind::Gre)
    };
    skip_if_unsupported!(h.add_gre(&gre)).unwrap();

    let ip = t.ip_link("gre1").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "gre");
    assert_eq!(ip["mtu"], 1400);
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["local"], "192.0.2.1");
    assert_eq!(d["remote"], "198.51.100.1");
    assert_eq!(d["ttl"], 64);
    assert_eq!(d["tos"], "0x10");
    assert_eq!(d["pmtudisc"], true);
    assert_eq!(d["ikey"], "0.0.0.42");
    assert_eq!(d["okey"], "0.0.0.43");
    for flag in ["iseq", "oseq", "icsum", "ocsum"] {
        assert_eq!(d[flag], true, "{flag}");
    }
    assert_eq!(d["fwmark"], "0x7");
    assert_eq!(d["link"], "u0");

    let link = h.link("gre1").unwrap();
    assert_eq!(link.kind.as_ref().map(LinkKind::name), Some("gre"));
    let Some(LinkKind::Gre(g)) = link.kind else {
        panic!("{:?}", link.kind)
    };
    assert_eq!(g.kind, GreKind::Gre);
    assert_eq!(g.local, gre.local);
    assert_eq!(g.remote, gre.remote);
    assert_eq!((g.ikey, g.okey), (Some(42), Some(43)));
    assert!(g.icsum && g.ocsum && g.iseq && g.oseq);
    assert_eq!((g.ttl, g.tos, g.pmtudisc, g.fwmark), (64, 0x10, true, 7));
    assert_eq!(g.underlay, Some(h.link_index("u0").unwrap()));
    assert!(!g.external);

    // A gretap carries Ethernet: it takes a MAC address.
    let mac = "02:00:00:00:00:42".parse().unwrap();
    h.add_gre(&NewGre {
        remote: Some("198.51.100.2".parse().unwrap()),
        ikey: Some(1),
        okey: Some(1),
        mac: Some(mac),
        ..NewGre::new("gretap1", GreKind::GreTap)
    })
    .unwrap();
    let tap = h.link("gretap1").unwrap();
    assert_eq!(tap.mac, Some(mac));
    assert_eq!(
        t.ip_link("gretap1").unwrap()["linkinfo"]["info_kind"],
        "gretap"
    );
    assert!(
        matches!(tap.kind, Some(LinkKind::Gre(g)) if g.kind == GreKind::GreTap && g.ikey == Some(1))
    );

    // The kernel lets the MTU change.
    h.set_link_mtu("gre1", 1300).unwrap();
    assert_eq!(t.ip_link("gre1").unwrap()["mtu"], 1300);

    // The module's fallback device is recognised as a GRE tunnel (unless the host keeps
    // fallback tunnels to the initial namespace).
    if t.ip_link(GRE_FALLBACK).is_some() {
        let gre0 = h.link(GRE_FALLBACK).unwrap();
        assert!(
            matches!(gre0.kind, Some(LinkKind::Gre(g)) if g.kind == GreKind::Gre && g.remote.is_none()),
            "{:?}",
            gre0.kind
        );
    }

    h.delete_link("gre1").unwrap();
    h.delete_link("gretap1").unwrap();
    assert!(t.ip_link("gre1").is_none());
}

#[test]
fn ip6gre_kinds_and_external() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    underlay(h);
    let g6 = NewGre {
        local: Some("fd00::1".parse().unwrap()),
        remote: Some("fd00::2".parse().unwrap()),
        ikey: Some(7),
        okey: Some(8),
        ttl: Some(32),
        tclass: Some(0x10),
        flow_label: Some(0x123),
        encap_limit: Some(5),
        underlay: Some("u0".into()),
        ..NewGre::new("g6", GreKind::Ip6Gre)
    };
    skip_if_unsupported!(h.add_gre(&g6)).unwrap();
    let ip = t.ip_link("g6").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "ip6gre");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["local"], "fd00::1");
    assert_eq!(d["remote"], "fd00::2");
    assert_eq!(d["ikey"], "0.0.0.7");
    assert_eq!(d["okey"], "0.0.0.8");
    assert_eq!(d["link"], "u0");
    let Some(LinkKind::Gre(g)) = h.link("g6").unwrap().kind else {
        panic!("not gre")
    };
    assert_eq!(g.kind, GreKind::Ip6Gre);
    assert_eq!((g.local, g.remote), (g6.local, g6.remote));
    assert_eq!((g.ikey, g.okey, g.ttl), (Some(7), Some(8), 32));
    assert_eq!(
        (g.tclass, g.flow_label, g.encap_limit),
        (0x10, 0x123, Some(5))
    );

    h.add_gre(&NewGre {
        remote: Some("fd00::3".parse().unwrap()),
        no_encap_limit: true,
        ..NewGre::new("g6tap", GreKind::Ip6GreTap)
    })
    .unwrap();
    let Some(LinkKind::Gre(g)) = h.link("g6tap").unwrap().kind else {
        panic!("not gre")
    };
    assert_eq!((g.kind, g.encap_limit), (GreKind::Ip6GreTap, None));
    assert_eq!(
        t.ip_link("g6tap").unwrap()["linkinfo"]["info_kind"],
        "ip6gretap"
    );

    // Collect-metadata mode, as flow-based datapaths use.
    h.add_gre(&NewGre {
        external: true,
        ..NewGre::new("gext", GreKind::Gre)
    })
    .unwrap();
    assert_eq!(
        t.ip_link("gext").unwrap()["linkinfo"]["info_data"]["external"],
        true
    );
    assert!(matches!(h.link("gext").unwrap().kind, Some(LinkKind::Gre(g)) if g.external));
}

#[test]
fn sit_and_ip6tnl_read_back_as_set() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    underlay(h);
    let sit = NewSit {
        mode: Some(SitMode::Ip6Ip),
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("198.51.100.1".parse().unwrap()),
        ttl: Some(64),
        tos: Some(0x10),
        pmtudisc: Some(true),
        underlay: Some("u0".into()),
        ..NewSit::new("sit1")
    };
    skip_if_unsupported!(h.add_sit(&sit)).unwrap();
    let ip = t.ip_link("sit1").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "sit");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["local"], "192.0.2.1");
    assert_eq!(d["remote"], "198.51.100.1");
    assert_eq!(d["ttl"], 64);
    assert_eq!(d["pmtudisc"], true);
    assert_eq!(d["link"], "u0");
    let Some(LinkKind::Sit(s)) = h.link("sit1").unwrap().kind else {
        panic!("not sit")
    };
    assert_eq!(s.mode, SitMode::Ip6Ip);
    assert_eq!((s.local, s.remote), (sit.local, sit.remote));
    assert_eq!((s.ttl, s.tos, s.pmtudisc), (64, 0x10, true));
    assert_eq!(s.underlay, Some(h.link_index("u0").unwrap()));
    if t.ip_link(SIT_FALLBACK).is_some() {
        assert!(
            matches!(h.link(SIT_FALLBACK).unwrap().kind, Some(LinkKind::Sit(s)) if s.remote.is_none())
        );
    }

    let t6 = NewIp6Tnl {
        mode: Some(Ip6TnlMode::IpIp6),
        local: Some("fd00::1".parse().unwrap()),
        remote: Some("fd00::2".parse().unwrap()),
        hop_limit: Some(32),
        tclass: Some(0x10),
        flow_label: Some(0x12345),
        encap_limit: Some(5),
        underlay: Some("u0".into()),
        ..NewIp6Tnl::new("t6")
    };
    skip_if_unsupported!(h.add_ip6tnl(&t6)).unwrap();
    let ip = t.ip_link("t6").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "ip6tnl");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["local"], "fd00::1");
    assert_eq!(d["remote"], "fd00::2");
    assert_eq!(d["link"], "u0");
    let Some(LinkKind::Ip6Tnl(x)) = h.link("t6").unwrap().kind else {
        panic!("not ip6tnl")
    };
    assert_eq!(x.mode, Ip6TnlMode::IpIp6);
    assert_eq!((x.local, x.remote), (t6.local, t6.remote));
    assert_eq!((x.hop_limit, x.tclass, x.flow_label), (32, 0x10, 0x12345));
    assert_eq!(x.encap_limit, Some(5));
    if t.ip_link(IP6TNL_FALLBACK).is_some() {
        assert!(
            matches!(h.link(IP6TNL_FALLBACK).unwrap().kind, Some(LinkKind::Ip6Tnl(x)) if x.remote.is_none())
        );
    }
    h.delete_link("sit1").unwrap();
    h.delete_link("t6").unwrap();
}

#[test]
fn vti_and_vti6_read_back_as_set() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    underlay(h);
    let vti = NewVti {
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("198.51.100.1".parse().unwrap()),
        ikey: Some(5),
        okey: Some(6),
        fwmark: Some(9),
        underlay: Some("u0".into()),
        ..NewVti::new("vti1", IpFamily::V4)
    };
    skip_if_unsupported!(h.add_vti(&vti)).unwrap();
    let ip = t.ip_link("vti1").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "vti");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["local"], "192.0.2.1");
    assert_eq!(d["remote"], "198.51.100.1");
    assert_eq!(d["link"], "u0");
    let link = h.link("vti1").unwrap();
    assert_eq!(link.kind.as_ref().map(LinkKind::name), Some("vti"));
    let Some(LinkKind::Vti(v)) = link.kind else {
        panic!("not vti")
    };
    assert_eq!((v.local, v.remote), (vti.local, vti.remote));
    assert_eq!((v.ikey, v.okey, v.fwmark), (5, 6, 9));
    assert_eq!(v.underlay, Some(h.link_index("u0").unwrap()));
    if t.ip_link(VTI_FALLBACK).is_some() {
        assert!(
            matches!(h.link(VTI_FALLBACK).unwrap().kind, Some(LinkKind::Vti(v)) if v.remote.is_none())
        );
    }

    let vti6 = NewVti {
        local: Some("fd00::1".parse().unwrap()),
        remote: Some("fd00::2".parse().unwrap()),
        ikey: Some(7),
        okey: Some(7),
        ..NewVti::new("vti6a", IpFamily::V6)
    };
    skip_if_unsupported!(h.add_vti(&vti6)).unwrap();
    let ip = t.ip_link("vti6a").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "vti6");
    assert_eq!(ip["linkinfo"]["info_data"]["remote"], "fd00::2");
    let Some(LinkKind::Vti(v)) = h.link("vti6a").unwrap().kind else {
        panic!("not vti6")
    };
    assert_eq!(
        (v.family, v.local, v.remote),
        (IpFamily::V6, vti6.local, vti6.remote)
    );
    assert_eq!((v.ikey, v.okey), (7, 7));
    h.delete_link("vti1").unwrap();
    h.delete_link("vti6a").unwrap();
}

#[test]
fn tunnel_bad_input_creates_nothing() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let before = t.ip_link_names(&[]);
    common::assert_invalid(
        h.add_gre(&NewGre {
            local: Some("192.0.2.1".parse().unwrap()),
            ..NewGre::new("bad6", GreKind::Ip6Gre)
        }),
        "local",
    );
    common::assert_invalid(
        h.add_gre(&NewGre {
            ttl: Some(64),
            pmtudisc: Some(false),
            ..NewGre::new("bad4", GreKind::Gre)
        }),
        "pmtudisc",
    );
    common::assert_invalid(
        h.add_gre(&NewGre {
            external: true,
            ikey: Some(5),
            ..NewGre::new("badx", GreKind::GreTap)
        }),
        "external",
    );
    common::assert_invalid(
        h.add_gre(&NewGre {
            mac: Some("02:00:00:00:00:01".parse().unwrap()),
            ..NewGre::new("badm", GreKind::Gre)
        }),
        "mac",
    );
    common::assert_invalid(
        h.add_gre(&NewGre {
            encap_limit: Some(4),
            ..NewGre::new("bade", GreKind::Gre)
        }),
        "encap_limit",
    );
    common::assert_invalid(
        h.add_sit(&NewSit {
            ttl: Some(64),
            pmtudisc: Some(false),
            ..NewSit::new("bads")
        }),
        "pmtudisc",
    );
    common::assert_invalid(
        h.add_ip6tnl(&NewIp6Tnl {
            flow_label: Some(1 << 20),
            ..NewIp6Tnl::new("badt")
        }),
        "flow_label",
    );
    common::assert_invalid(
        h.add_vti(&NewVti {
            remote: Some("192.0.2.9".parse().unwrap()),
            ..NewVti::new("badv", IpFamily::V6)
        }),
        "remote",
    );
    assert_eq!(t.ip_link_names(&[]), before);
}

/// Two namespaces joined by a veth (`10.0.0.1/24` in the first, `10.0.0.2/24` in the second).
fn two_hosts() -> (TestNs, TestNs) {
    let a = TestNs::new();
    let b = TestNs::new();
    let mut veth = NewVeth::new("wa", "wb");
    veth.peer.netns = Some(&b.ns);
    a.handle.add_veth(&veth).unwrap();
    a.handle
        .add_address("wa", &"10.0.0.1/24".parse().unwrap())
        .unwrap();
    b.handle
        .add_address("wb", &"10.0.0.2/24".parse().unwrap())
        .unwrap();
    a.handle.set_link_up("wa").unwrap();
    b.handle.set_link_up("wb").unwrap();
    (a, b)
}

#[test]
fn a_datagram_crosses_a_gre_tunnel_between_namespaces() {
    require_root!();
    let (a, b) = two_hosts();
    for (t, local, remote, inner) in [
        (&a, "10.0.0.1", "10.0.0.2", "172.16.0.1/30"),
        (&b, "10.0.0.2", "10.0.0.1", "172.16.0.2/30"),
    ] {
        let gre = NewGre {
            local: Some(local.parse().unwrap()),
            remote: Some(remote.parse().unwrap()),
            ikey: Some(99),
            okey: Some(99),
            ttl: Some(64),
            ..NewGre::new("gt", GreKind::Gre)
        };
        skip_if_unsupported!(t.handle.add_gre(&gre)).unwrap();
        t.handle.add_address("gt", &inner.parse().unwrap()).unwrap();
        t.handle.set_link_up("gt").unwrap();
    }
    let server = netplumb_lab::EchoServer::start(
        &b.ns,
        SocketAddr::new("172.16.0.2".parse().unwrap(), 7000),
    )
    .unwrap();
    let from: IpAddr = "172.16.0.1".parse().unwrap();
    let echo =
        netplumb_lab::udp_echo(&a.ns, from, server.addr(), 20, Duration::from_millis(200)).unwrap();
    assert!(echo.attempts >= 1);
    // It went through the tunnel: both ends counted it.
    let sent = a.handle.link("gt").unwrap().stats.unwrap();
    let got = b.handle.link("gt").unwrap().stats.unwrap();
    assert!(
        sent.tx_packets >= 1 && got.rx_packets >= 1,
        "{sent:?} {got:?}"
    );
}
