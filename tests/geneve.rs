//! Root tests for Geneve devices, checked against `ip -j -d link`, and a datagram through a
//! Geneve tunnel between two namespaces. Kernels without the geneve module skip them.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::TestNs;
use netplumb::link::{GeneveDf, LinkKind, NewGeneve, NewVeth};
use netplumb::Vni;

fn vni(n: u32) -> Vni {
    Vni::new(n).unwrap()
}

#[test]
fn geneve_with_every_option_reads_back_as_set() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let g = NewGeneve {
        remote: Some("192.0.2.2".parse().unwrap()),
        ttl: Some(64),
        tos: Some(0x10),
        df: Some(GeneveDf::Set),
        port: Some(6082),
        udp_csum: Some(true),
        mtu: Some(1400),
        mac: Some("02:00:00:00:0a:01".parse().unwrap()),
        ..NewGeneve::new("gn0", vni(42))
    };
    skip_if_unsupported!(h.add_geneve(&g)).unwrap();
    let ip = t.ip_link("gn0").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "geneve");
    assert_eq!(ip["mtu"], 1400);
    assert_eq!(ip["address"], "02:00:00:00:0a:01");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["id"], 42);
    assert_eq!(d["remote"], "192.0.2.2");
    assert_eq!(d["ttl"], 64);
    assert_eq!(d["tos"], "0x10");
    assert_eq!(d["port"], 6082);
    assert_eq!(d["udp_csum"], true);

    let link = h.link("gn0").unwrap();
    let Some(LinkKind::Geneve(info)) = link.kind else {
        panic!("{:?}", link.kind)
    };
    assert_eq!(info.vni, Some(vni(42)));
    assert_eq!(info.remote, g.remote);
    assert_eq!((info.ttl, info.tos, info.df), (64, 0x10, GeneveDf::Set));
    assert_eq!(info.port, Some(6082));
    assert_eq!(info.udp_csum, Some(true));
    assert!(!info.external);

    // IPv6 remote with a flow label, inherited TTL and zero-checksum options.
    h.add_geneve(&NewGeneve {
        remote: Some("fd00::2".parse().unwrap()),
        flow_label: Some(0x123),
        ttl_inherit: true,
        df: Some(GeneveDf::Inherit),
        udp_zero_csum6_tx: Some(true),
        udp_zero_csum6_rx: Some(false),
        ..NewGeneve::new("gn6", vni(7))
    })
    .unwrap();
    let d = &t.ip_link("gn6").unwrap()["linkinfo"]["info_data"];
    assert_eq!(d["id"], 7);
    assert_eq!(d["remote6"], "fd00::2");
    assert_eq!(d["udp_zero_csum6_tx"], true);
    assert_eq!(d["udp_zero_csum6_rx"], false);
    let Some(LinkKind::Geneve(info)) = h.link("gn6").unwrap().kind else {
        panic!("not geneve")
    };
    assert_eq!(info.remote, Some("fd00::2".parse().unwrap()));
    assert_eq!((info.flow_label, info.ttl_inherit), (0x123, true));
    assert_eq!(info.df, GeneveDf::Inherit);
    assert_eq!(
        (info.udp_zero_csum6_tx, info.udp_zero_csum6_rx),
        (Some(true), Some(false))
    );

    // Collect-metadata mode, on a port of its own (the kernel allows one external device per
    // port, and gn6 has the default one).
    h.add_geneve(&NewGeneve {
        port: Some(6090),
        ..NewGeneve::external("gnx")
    })
    .unwrap();
    assert_eq!(
        t.ip_link("gnx").unwrap()["linkinfo"]["info_data"]["external"],
        true
    );
    let Some(LinkKind::Geneve(info)) = h.link("gnx").unwrap().kind else {
        panic!("not geneve")
    };
    assert!(info.external);
    assert_eq!((info.vni, info.port), (None, Some(6090)));

    h.set_link_mtu("gn0", 1300).unwrap();
    assert_eq!(t.ip_link("gn0").unwrap()["mtu"], 1300);
    for name in ["gn0", "gn6", "gnx"] {
        h.delete_link(name).unwrap();
        assert!(t.ip_link(name).is_none());
    }
}

#[test]
fn geneve_bad_input_creates_nothing() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let before = t.ip_link_names(&[]);
    common::assert_invalid(h.add_geneve(&NewGeneve::new("gb0", vni(1))), "remote");
    common::assert_invalid(
        h.add_geneve(&NewGeneve {
            remote: Some("239.1.1.1".parse().unwrap()),
            ..NewGeneve::new("gb1", vni(1))
        }),
        "remote",
    );
    common::assert_invalid(
        h.add_geneve(&NewGeneve {
            remote: Some("192.0.2.1".parse().unwrap()),
            flow_label: Some(1),
            ..NewGeneve::new("gb2", vni(1))
        }),
        "flow_label",
    );
    common::assert_invalid(
        h.add_geneve(&NewGeneve {
            vni: Some(vni(3)),
            ..NewGeneve::external("gb3")
        }),
        "vni",
    );
    assert!(Vni::new(1 << 24).is_err());
    assert_eq!(t.ip_link_names(&[]), before);
}

#[test]
fn a_datagram_crosses_a_geneve_tunnel_between_namespaces() {
    require_root!();
    let a = TestNs::new();
    let b = TestNs::new();
    let mut veth = NewVeth::new("wa", "wb");
    veth.peer.netns = Some(&b.ns);
    a.handle.add_veth(&veth).unwrap();
    for (t, dev, underlay) in [(&a, "wa", "10.0.0.1/24"), (&b, "wb", "10.0.0.2/24")] {
        t.handle
            .add_address(dev, &underlay.parse().unwrap())
            .unwrap();
        t.handle.set_link_up(dev).unwrap();
    }
    for (t, remote, inner) in [
        (&a, "10.0.0.2", "172.16.1.1/24"),
        (&b, "10.0.0.1", "172.16.1.2/24"),
    ] {
        let g = NewGeneve {
            remote: Some(remote.parse().unwrap()),
            ..NewGeneve::new("gt", vni(4242))
        };
        skip_if_unsupported!(t.handle.add_geneve(&g)).unwrap();
        t.handle.add_address("gt", &inner.parse().unwrap()).unwrap();
        t.handle.set_link_up("gt").unwrap();
    }
    let server = netplumb_lab::EchoServer::start(
        &b.ns,
        SocketAddr::new("172.16.1.2".parse().unwrap(), 7000),
    )
    .unwrap();
    let from: IpAddr = "172.16.1.1".parse().unwrap();
    netplumb_lab::udp_echo(&a.ns, from, server.addr(), 20, Duration::from_millis(200)).unwrap();
    let sent = a.handle.link("gt").unwrap().stats.unwrap();
    let got = b.handle.link("gt").unwrap().stats.unwrap();
    assert!(
        sent.tx_packets >= 1 && got.rx_packets >= 1,
        "{sent:?} {got:?}"
    );
}
