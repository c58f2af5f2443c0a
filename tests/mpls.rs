//! Root tests for MPLS routes and MPLS encapsulation on IP routes, checked against
//! `ip -j -f mpls route show` and `ip -j route show`. The host kernel of CI has no MPLS: these
//! run in the guest tier (Debian's kernel, `mpls_router` and `mpls_iptunnel`).

mod common;

use common::{assert_invalid, report_skip, TestNs};
use netplumb::link::NewVeth;
use netplumb::route::{NewMplsRoute, NewRoute, RouteEncap, RouteFilter};
use netplumb::TableId;

/// A namespace with `v0`/`v1` up, 10.0.0.1/24 on v0, 1000 platform labels and MPLS input on
/// v0; `None` (after reporting the skip) when the kernel has no MPLS.
fn setup(test: &str) -> Option<TestNs> {
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    h.set_link_up("v0").unwrap();
    h.set_link_up("v1").unwrap();
    h.add_address("v0", &"10.0.0.1/24".parse().unwrap())
        .unwrap();
    let enabled =
        t.ns.run(|| {
            std::fs::write("/proc/sys/net/mpls/platform_labels", "1000")?;
            std::fs::write("/proc/sys/net/mpls/conf/v0/input", "1")
        })
        .unwrap();
    if let Err(e) = enabled {
        report_skip(
            test,
            &format!("the kernel has no MPLS (module mpls_router): /proc/sys/net/mpls: {e}"),
        );
        return None;
    }
    Some(t)
}

#[test]
fn mpls_routes_match_ip_f_mpls_route() {
    require_root!();
    let Some(t) = setup("mpls_routes_match_ip_f_mpls_route") else {
        return;
    };
    let h = &t.handle;
    let swap = NewMplsRoute {
        out_labels: vec![200, 300],
        ..NewMplsRoute::new(100, "10.0.0.2".parse().unwrap(), "v0")
    };
    h.add_mpls_route(&swap).unwrap();
    let ours = h.mpls_routes().unwrap();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].label, 100);
    assert_eq!(ours[0].out_labels, [200, 300]);
    assert_eq!(ours[0].via, Some("10.0.0.2".parse().unwrap()));
    assert_eq!(ours[0].dev, Some(h.link_index("v0").unwrap()));
    let j = t.ip(&["-j", "-f", "mpls", "route", "show"]);
    let j = j.as_array().unwrap();
    assert_eq!(j.len(), 1, "{j:?}");
    assert_eq!(j[0]["dst"], "100");
    assert_eq!(j[0]["dev"], "v0");
    let text = j[0].to_string();
    assert!(
        text.contains("200/300") && text.contains("10.0.0.2"),
        "{text}"
    );

    // Replaced: the label popped.
    h.replace_mpls_route(&NewMplsRoute::new(100, "10.0.0.2".parse().unwrap(), "v0"))
        .unwrap();
    assert!(h.mpls_routes().unwrap()[0].out_labels.is_empty());
    // Bad labels change nothing.
    for (r, arg) in [
        (
            NewMplsRoute::new(5, "10.0.0.2".parse().unwrap(), "v0"),
            "label",
        ),
        (
            NewMplsRoute::new(1 << 20, "10.0.0.2".parse().unwrap(), "v0"),
            "label",
        ),
        (
            NewMplsRoute {
                out_labels: vec![1 << 20],
                ..NewMplsRoute::new(101, "10.0.0.2".parse().unwrap(), "v0")
            },
            "out_labels",
        ),
    ] {
        assert_invalid(h.add_mpls_route(&r), arg);
    }
    assert_eq!(h.mpls_routes().unwrap().len(), 1);
    h.delete_mpls_route(100).unwrap();
    assert!(h.mpls_routes().unwrap().is_empty());
    assert!(t
        .ip(&["-j", "-f", "mpls", "route", "show"])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn ip_routes_push_mpls_labels() {
    require_root!();
    let Some(t) = setup("ip_routes_push_mpls_labels") else {
        return;
    };
    let h = &t.handle;
    let r = NewRoute {
        encap: Some(RouteEncap::Mpls {
            labels: vec![500, 600],
            ttl: Some(10),
        }),
        ..NewRoute::via_dev(
            "10.80.0.0/16".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "v0",
        )
        .unwrap()
    };
    match h.add_route(&r) {
        Err(e) if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP) => {
            report_skip(
                "ip_routes_push_mpls_labels",
                "the kernel has no MPLS encapsulation (module mpls_iptunnel)",
            );
            return;
        }
        other => other.unwrap(),
    }
    let got = h
        .routes(&RouteFilter::table(TableId::MAIN))
        .unwrap()
        .into_iter()
        .find(|x| x.destination == "10.80.0.0/16".parse().unwrap())
        .unwrap();
    assert_eq!(
        got.encap,
        Some(RouteEncap::Mpls {
            labels: vec![500, 600],
            ttl: Some(10)
        })
    );
    let j = t.ip(&["-j", "route", "show", "10.80.0.0/16"]);
    assert_eq!(j[0]["encap"], "mpls", "{j}");
    assert!(j[0].to_string().contains("500/600"), "{j}");
    // Refused before sending: no labels, a label over 20 bits, encapsulation on two hops.
    let bad = |labels: Vec<u32>| NewRoute {
        encap: Some(RouteEncap::Mpls { labels, ttl: None }),
        ..NewRoute::via_dev(
            "10.81.0.0/16".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "v0",
        )
        .unwrap()
    };
    assert_invalid(h.add_route(&bad(vec![])), "encap");
    assert_invalid(h.add_route(&bad(vec![1 << 20])), "encap");
    let mut two = bad(vec![500]);
    two.next_hops.push(netplumb::route::NextHop::gateway(
        "10.0.0.3".parse().unwrap(),
    ));
    assert_invalid(h.add_route(&two), "encap");
}
