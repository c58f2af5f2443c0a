//! Root tests for IPIP tunnels, checked against `ip -j -d link`. Kernels without the ipip
//! module skip them with that reason.

mod common;

use common::TestNs;
use netplumb::link::{LinkKind, NewIpip, NewVeth, IPIP_FALLBACK};

#[test]
fn ipip_tunnel_and_the_fallback_device() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    h.add_address("u0", &"192.0.2.1/24".parse().unwrap())
        .unwrap();
    let tunnel = NewIpip {
        local: Some("192.0.2.1".parse().unwrap()),
        remote: Some("198.51.100.1".parse().unwrap()),
        ttl: Some(64),
        pmtudisc: Some(true),
        underlay: Some("u0".into()),
        mtu: Some(1400),
        ..NewIpip::new("ipip1")
    };
    skip_if_unsupported!(h.add_ipip(&tunnel)).unwrap();

    let ip = t.ip_link("ipip1").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "ipip");
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["local"], "192.0.2.1");
    assert_eq!(d["remote"], "198.51.100.1");
    assert_eq!(d["ttl"], 64);
    assert_eq!(d["pmtudisc"], true);
    assert_eq!(d["link"], "u0");
    assert_eq!(ip["mtu"], 1400);

    let link = h.link("ipip1").unwrap();
    let Some(LinkKind::Ipip(info)) = link.kind else {
        panic!("{:?}", link.kind)
    };
    assert_eq!(info.local, tunnel.local);
    assert_eq!(info.remote, tunnel.remote);
    assert_eq!(info.ttl, 64);
    assert!(info.pmtudisc);
    assert_eq!(info.underlay, Some(h.link_index("u0").unwrap()));

    // A change keeps what it does not name (the kernel would reset it; netplumb re-sends it).
    h.set_ipip(&NewIpip {
        ttl: Some(32),
        ..NewIpip::new("ipip1")
    })
    .unwrap();
    let d = &t.ip_link("ipip1").unwrap()["linkinfo"]["info_data"];
    assert_eq!(d["ttl"], 32);
    assert_eq!(d["local"], "192.0.2.1");
    assert_eq!(d["remote"], "198.51.100.1");
    assert_eq!(d["link"], "u0");

    // With the module loaded, the namespace has the fallback tunl0 (unless the host limits
    // fallback tunnels to the initial namespace); calico sets its MTU and brings it up.
    if t.ip_link(IPIP_FALLBACK).is_some() {
        h.set_ipip(&NewIpip {
            mtu: Some(1440),
            ..NewIpip::new(IPIP_FALLBACK)
        })
        .unwrap();
        h.set_link_up(IPIP_FALLBACK).unwrap();
        let ip = t.ip_link(IPIP_FALLBACK).unwrap();
        assert_eq!(ip["mtu"], 1440);
        assert_eq!(ip["linkinfo"]["info_data"]["remote"], "any");
        let tunl0 = h.link(IPIP_FALLBACK).unwrap();
        assert!(matches!(tunl0.kind, Some(LinkKind::Ipip(i)) if i.remote.is_none()));
    }

    h.delete_link("ipip1").unwrap();
    assert!(t.ip_link("ipip1").is_none());
}

#[test]
fn ipip_input_is_checked() {
    require_root!();
    let t = TestNs::new();
    common::assert_invalid(
        t.handle.add_ipip(&NewIpip {
            ttl: Some(64),
            pmtudisc: Some(false),
            ..NewIpip::new("ipip2")
        }),
        "pmtudisc",
    );
    common::assert_invalid(
        t.handle.add_ipip(&NewIpip::new("a-name-far-too-long")),
        "ipip name",
    );
    assert!(t.ip_link("ipip2").is_none());
}
