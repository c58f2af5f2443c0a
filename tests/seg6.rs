//! Root test for segment routing (SRv6) encapsulation on routes, checked against
//! `ip -j -d -6 route show`. The CI host's kernel has no seg6 lightweight tunnels: it runs in
//! the guest tier.

mod common;

use common::{assert_invalid, report_skip, TestNs};
use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, RouteEncap, RouteFilter, Seg6Mode};
use netplumb::{IpFamily, TableId};

#[test]
fn ipv6_routes_add_segment_routing_headers() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    h.set_link_up("v0").unwrap();
    h.set_link_up("v1").unwrap();
    let segs: Vec<std::net::Ipv6Addr> =
        vec!["fc00::1".parse().unwrap(), "fc00::2".parse().unwrap()];
    let r = NewRoute {
        encap: Some(RouteEncap::Seg6 {
            mode: Seg6Mode::Encap,
            segments: segs.clone(),
        }),
        ..NewRoute::dev("fd10::/64".parse().unwrap(), "v0").unwrap()
    };
    match h.add_route(&r) {
        Err(e) if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP) => {
            report_skip(
                "ipv6_routes_add_segment_routing_headers",
                "the kernel has no seg6 lightweight tunnels (CONFIG_IPV6_SEG6_LWTUNNEL)",
            );
            return;
        }
        other => other.unwrap(),
    }
    let got = h
        .routes(&RouteFilter {
            family: Some(IpFamily::V6),
            ..RouteFilter::table(TableId::MAIN)
        })
        .unwrap()
        .into_iter()
        .find(|x| x.destination == "fd10::/64".parse().unwrap())
        .unwrap();
    assert_eq!(
        got.encap,
        Some(RouteEncap::Seg6 {
            mode: Seg6Mode::Encap,
            segments: segs,
        })
    );
    let j = t.ip(&["-j", "-d", "-6", "route", "show", "fd10::/64"]);
    let text = j.to_string();
    assert_eq!(j[0]["encap"], "seg6", "{text}");
    assert!(
        text.contains("fc00::1") && text.contains("fc00::2") && text.contains("encap"),
        "{text}"
    );
    // Refused before sending: no segments.
    let none = NewRoute {
        encap: Some(RouteEncap::Seg6 {
            mode: Seg6Mode::Encap,
            segments: vec![],
        }),
        ..NewRoute::dev("fd11::/64".parse().unwrap(), "v0").unwrap()
    };
    assert_invalid(h.add_route(&none), "encap");
}
