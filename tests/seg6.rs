//! Root test for segment routing (SRv6) encapsulation on routes, checked against
//! `ip -j -d -6 route show`. The CI host's kernel has no seg6 lightweight tunnels: it runs in
//! the guest tier.

mod common;

use common::{assert_invalid, report_skip, TestNs};
use std::net::Ipv6Addr;

use ipnetwork::IpNetwork;
use netplumb::link::{NewVeth, NewVrf};
use netplumb::route::{NewRoute, RouteEncap, RouteFilter, Seg6Local, Seg6LocalAction, Seg6Mode};
use netplumb::{IpFamily, TableId};
use serde_json::Value;

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

/// What `ip -j -d -6 route` prints for a local segment routing function (iproute2's
/// `print_encap_seg6local`): the action by name, tables by number (`main` for 254), next
/// hops, devices by name and the header's segments first visited first.
fn expected_seg6local_json(l: &Seg6Local, name_of: &dyn Fn(u32) -> String) -> Value {
    let table = |t: TableId| {
        if t == TableId::MAIN {
            "main".to_string()
        } else {
            t.get().to_string()
        }
    };
    let mut m = serde_json::Map::new();
    m.insert("encap".into(), "seg6local".into());
    m.insert("action".into(), l.action.name().unwrap().into());
    if !l.segments.is_empty() {
        let segs: Vec<Value> = l.segments.iter().map(|s| s.to_string().into()).collect();
        m.insert("srh".into(), serde_json::json!({ "segs": segs }));
    }
    if let Some(t) = l.table {
        m.insert("table".into(), table(t).into());
    }
    if let Some(t) = l.vrf_table {
        m.insert("vrftable".into(), table(t).into());
    }
    if let Some(a) = l.nh4 {
        m.insert("nh4".into(), a.to_string().into());
    }
    if let Some(a) = l.nh6 {
        m.insert("nh6".into(), a.to_string().into());
    }
    if let Some(i) = l.oif {
        m.insert("oif".into(), name_of(i.get()).into());
    }
    Value::Object(m)
}

#[test]
fn seg6local_routes_bind_each_function_and_list_back() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    h.set_link_up("v0").unwrap();
    h.set_link_up("v1").unwrap();
    let v1 = h.link_index("v1").unwrap();

    // Refused before sending: End.X without its next hop, End.B6 without segments.
    let sid = |n: u16| -> IpNetwork { format!("fc00:5::{n:x}/128").parse().unwrap() };
    let route = |n: u16, l: Seg6Local| NewRoute {
        encap: Some(RouteEncap::Seg6Local(l)),
        ..NewRoute::dev(sid(n), "v0").unwrap()
    };
    assert_invalid(
        h.add_route(&route(1, Seg6Local::new(Seg6LocalAction::EndX))),
        "encap",
    );
    assert_invalid(
        h.add_route(&route(1, Seg6Local::new(Seg6LocalAction::EndB6))),
        "encap",
    );

    match h.add_route(&route(1, Seg6Local::end())) {
        Err(e) if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP) => {
            report_skip(
                "seg6local_routes_bind_each_function_and_list_back",
                "the kernel has no seg6local lightweight tunnels (CONFIG_IPV6_SEG6_LWTUNNEL)",
            );
            return;
        }
        other => other.unwrap(),
    }
    // End.DT4 (and End.DT6 in VRF mode) look up a VRF's table: the kernel wants a VRF device
    // on it and the namespace's `net.vrf.strict_mode` set.
    let vrf = match h.add_vrf(&NewVrf::new("vrf200", TableId::new(200))) {
        Ok(()) => {
            h.set_link_up("vrf200").unwrap();
            t.ns.run(|| std::fs::write("/proc/sys/net/vrf/strict_mode", "1"))
                .unwrap()
                .unwrap();
            true
        }
        Err(e) => {
            report_skip(
                "seg6local_routes_bind_each_function_and_list_back (End.DT4/End.DT6 vrftable)",
                &format!("no VRF device here: {e}"),
            );
            false
        }
    };
    let segs: Vec<Ipv6Addr> = vec![
        "fc00:6::1".parse().unwrap(),
        "fc00:6::2".parse().unwrap(),
        "fc00:6::3".parse().unwrap(),
    ];
    let mut cases = vec![
        Seg6Local::end(),
        Seg6Local::end_x("fe80::1".parse().unwrap()),
        Seg6Local::end_t(TableId::new(100)),
        Seg6Local::end_dx6("fd00::2".parse().unwrap()),
        Seg6Local::end_dx4("10.0.0.2".parse().unwrap()),
        Seg6Local::end_dt6(TableId::MAIN),
        Seg6Local::end_b6(segs.clone()),
        Seg6Local::end_b6_encaps(segs),
        Seg6Local {
            oif: Some(v1),
            ..Seg6Local::new(Seg6LocalAction::EndDx2)
        },
    ];
    if vrf {
        cases.push(Seg6Local::end_dt4(TableId::new(200)));
        cases.push(Seg6Local::end_dt6_vrf(TableId::new(200)));
    }
    let name_of = |i: u32| {
        if i == v1.get() {
            "v1".to_string()
        } else {
            format!("if{i}")
        }
    };
    for (n, l) in cases.iter().enumerate() {
        let n = u16::try_from(n).unwrap() + 0x10;
        if let Err(e) = h.add_route(&route(n, l.clone())) {
            panic!("{l:?}: {e}");
        }
        let got = h
            .routes(&RouteFilter {
                family: Some(IpFamily::V6),
                ..RouteFilter::table(TableId::MAIN)
            })
            .unwrap()
            .into_iter()
            .find(|x| x.destination == sid(n))
            .unwrap();
        assert_eq!(got.encap, Some(RouteEncap::Seg6Local(l.clone())));
        // The oracle: every field iproute2 prints for the function, and nothing else.
        let sid_text = sid(n).ip().to_string();
        let j = t.ip(&["-j", "-d", "-6", "route", "show", &sid_text]);
        let want = expected_seg6local_json(l, &name_of);
        let obj = j[0].as_object().unwrap();
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(obj.get(k), Some(v), "{k} of {l:?} in {j}");
        }
        // (`table` is left out here: iproute2 may print the route's own table under that
        // key.)
        for k in ["srh", "vrftable", "nh4", "nh6", "oif", "iif"] {
            if !want.as_object().unwrap().contains_key(k) {
                assert!(obj.get(k).is_none(), "{k} of {l:?} in {j}");
            }
        }
    }
}
