//! Unit tests of the route codec: checks before sending, encode → decode round trips, and
//! the decoder's robustness.

use netlink_packet_route::RouteNetlinkMessage;

use super::decode::route_from_bytes;
use super::encode::route_message;
use super::*;
use crate::wire::encode;
use crate::{Error, IfIndex, LinkRef, Result, TableId};

#[test]
fn protocols_print_and_parse_as_ip_route_does() {
    assert_eq!(RouteProtocol::BIRD.to_string(), "bird");
    assert_eq!(RouteProtocol::KERNEL.to_string(), "kernel");
    assert_eq!(RouteProtocol(77).to_string(), "77");
    for p in 0..=255u8 {
        let p = RouteProtocol(p);
        assert_eq!(p.to_string().parse::<RouteProtocol>().unwrap(), p);
    }
    assert_eq!(
        "ospf".parse::<RouteProtocol>().unwrap(),
        RouteProtocol::OSPF
    );
    assert!(matches!(
        "bogus".parse::<RouteProtocol>(),
        Err(Error::InvalidInput {
            arg: "protocol",
            ..
        })
    ));
    assert!("256".parse::<RouteProtocol>().is_err());
}

proptest::proptest! {
    /// Whatever the kernel (or a corrupted buffer) hands the route decoder, it returns a
    /// route or an error, never a panic.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        header in proptest::collection::vec(proptest::num::u8::ANY, 12..13),
        attrs in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        family in proptest::sample::select(vec![2u8, 10, 7]),
    ) {
        let mut p = header;
        p[0] = family;
        p.extend_from_slice(&attrs);
        let _ = route_from_bytes(&p);
    }
}

fn idx(_: LinkRef<'_>) -> Result<IfIndex> {
    Ok(IfIndex::new(3).unwrap())
}

/// Encodes and decodes back, as a dump would return it.
fn round_trip(r: &NewRoute<'_>) -> Route {
    let msg = route_message(r, idx).unwrap();
    let mut out = Vec::new();
    encode(RouteNetlinkMessage::NewRoute(msg), 0, &mut out).unwrap();
    let frame = crate::wire::frames(&out).next().unwrap().unwrap();
    route_from_bytes(frame.payload).unwrap().unwrap()
}

#[test]
fn host_bits_and_bad_next_hops_are_refused() {
    let e = NewRoute::new("10.0.0.1/8".parse().unwrap()).unwrap_err();
    assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
    let mut r = NewRoute::via("10.0.0.0/8".parse().unwrap(), "fd00::1".parse().unwrap()).unwrap();
    let e = route_message(&r, idx).unwrap_err();
    assert!(
        matches!(e, Error::InvalidInput { arg: "gateway", .. }),
        "{e}"
    );
    r.next_hops[0].weight = 0;
    assert!(matches!(
        route_message(&r, idx),
        Err(Error::InvalidInput { arg: "weight", .. })
    ));
    r.next_hops.clear();
    assert!(matches!(
        route_message(&r, idx),
        Err(Error::InvalidInput {
            arg: "next hops",
            ..
        })
    ));
    let v6via = NewRoute {
        next_hops: vec![NextHop {
            via: Some("10.0.0.1".parse().unwrap()),
            ..NextHop::default()
        }],
        ..NewRoute::new("fd00::/64".parse().unwrap()).unwrap()
    };
    assert!(matches!(
        route_message(&v6via, idx),
        Err(Error::InvalidInput { arg: "via", .. })
    ));
}

#[test]
fn encode_decode_round_trip() {
    let r = NewRoute {
        table: TableId::new(100_000),
        priority: Some(20),
        protocol: RouteProtocol::BIRD,
        preferred_source: Some("10.0.0.1".parse().unwrap()),
        metrics: RouteMetrics {
            mtu: Some(1400),
            advmss: Some(1360),
            congctl: Some("cubic".into()),
            ..RouteMetrics::default()
        },
        next_hops: vec![
            NextHop {
                weight: 5,
                dev: Some(LinkRef::Name("x")),
                ..NextHop::gateway("10.0.0.2".parse().unwrap())
            },
            NextHop {
                via: Some("fe80::1".parse().unwrap()),
                dev: Some(LinkRef::Name("x")),
                onlink: true,
                ..NextHop::default()
            },
        ],
        ..NewRoute::new("10.9.0.0/16".parse().unwrap()).unwrap()
    };
    let got = round_trip(&r);
    assert_eq!(got.table, TableId::new(100_000));
    assert_eq!(got.protocol, RouteProtocol::BIRD);
    assert_eq!(got.priority, Some(20));
    assert_eq!(got.metrics.mtu, Some(1400));
    assert_eq!(got.metrics.advmss, Some(1360));
    assert_eq!(got.metrics.congctl.as_deref(), Some("cubic"));
    assert_eq!(got.next_hops.len(), 2);
    assert_eq!(got.next_hops[0].weight, 5);
    assert_eq!(got.next_hops[0].gateway, Some("10.0.0.2".parse().unwrap()));
    assert_eq!(got.next_hops[1].via, Some("fe80::1".parse().unwrap()));
    assert!(got.next_hops[1].flags.contains(NextHopFlags::ONLINK));
    assert_eq!(got.scope, RouteScope::Universe);

    let bh =
        round_trip(&NewRoute::of_kind(RouteType::Blackhole, "0.0.0.0/0".parse().unwrap()).unwrap());
    assert_eq!(bh.kind, RouteType::Blackhole);
    assert_eq!(bh.destination.prefix(), 0);
    assert!(bh.next_hops.is_empty());
    let dev = round_trip(&NewRoute::dev("10.8.0.0/16".parse().unwrap(), "x").unwrap());
    assert_eq!(dev.scope, RouteScope::Link);
    assert_eq!(dev.dev(), IfIndex::new(3));
    // IPv6 routes are `global` whatever their next hop, as iproute2 sends them.
    let dev6 = round_trip(&NewRoute::dev("fd00::/64".parse().unwrap(), "x").unwrap());
    assert_eq!(dev6.scope, RouteScope::Universe);
    assert_eq!(dev6.dev(), IfIndex::new(3));
}

#[test]
fn truncated_input_is_an_error_not_a_panic() {
    let r = NewRoute {
        next_hops: vec![NextHop::gateway("10.0.0.2".parse().unwrap()); 2],
        ..NewRoute::new("10.9.0.0/16".parse().unwrap()).unwrap()
    };
    let msg = route_message(&r, idx).unwrap();
    let mut out = Vec::new();
    encode(RouteNetlinkMessage::NewRoute(msg), 0, &mut out).unwrap();
    let payload = &out[16..];
    for cut in 0..payload.len() {
        let _ = route_from_bytes(&payload[..cut]);
    }
    let mut bad = payload.to_vec();
    for i in 12..bad.len() {
        bad[i] ^= 0xff;
        let _ = route_from_bytes(&bad);
        bad[i] ^= 0xff;
    }
}

/// Every flag has the kernel's value (linux/rtnetlink.h), the offload states apart: before,
/// `OFFLOAD_FAILED` was 0x4000, which is `RTM_F_OFFLOAD`.
#[test]
fn flags_have_the_kernels_values() {
    let route = [
        (RouteFlags::DEAD, 1),
        (RouteFlags::PERVASIVE, 2),
        (RouteFlags::ONLINK, 4),
        (RouteFlags::OFFLOAD, 8),
        (RouteFlags::LINKDOWN, 16),
        (RouteFlags::UNRESOLVED, 32),
        (RouteFlags::TRAP, 64),
        (RouteFlags::NOTIFY, 0x100),
        (RouteFlags::CLONED, 0x200),
        (RouteFlags::EQUALIZE, 0x400),
        (RouteFlags::PREFIX, 0x800),
        (RouteFlags::LOOKUP_TABLE, 0x1000),
        (RouteFlags::FIB_MATCH, 0x2000),
        (RouteFlags::ROUTE_OFFLOAD, 0x4000),
        (RouteFlags::ROUTE_TRAP, 0x8000),
        (RouteFlags::OFFLOAD_FAILED, 0x2000_0000),
    ];
    for (flag, bits) in route {
        assert_eq!(flag.bits(), bits, "{flag:?}");
    }
    assert_eq!(RouteFlags::CLONED.bits(), libc::RTM_F_CLONED);
    assert_eq!(RouteFlags::FIB_MATCH.bits(), libc::RTM_F_FIB_MATCH);
    for (flag, bits) in [
        (NextHopFlags::DEAD, 1),
        (NextHopFlags::PERVASIVE, 2),
        (NextHopFlags::ONLINK, 4),
        (NextHopFlags::OFFLOAD, 8),
        (NextHopFlags::LINKDOWN, 16),
        (NextHopFlags::UNRESOLVED, 32),
        (NextHopFlags::TRAP, 64),
    ] {
        assert_eq!(flag.bits(), bits, "{flag:?}");
    }
}

#[test]
fn encapsulations_round_trip() {
    use super::{RouteEncap, Seg6Mode};
    let mpls = RouteEncap::Mpls {
        labels: vec![100, 200, 1_048_575],
        ttl: Some(9),
    };
    let r = NewRoute {
        encap: Some(mpls.clone()),
        ..NewRoute::via_dev(
            "10.80.0.0/16".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "x",
        )
        .unwrap()
    };
    assert_eq!(round_trip(&r).encap, Some(mpls));
    for mode in [Seg6Mode::Inline, Seg6Mode::Encap, Seg6Mode::L2Encap] {
        let seg6 = RouteEncap::Seg6 {
            mode,
            segments: vec!["fc00::1".parse().unwrap(), "fc00::2".parse().unwrap()],
        };
        let r = NewRoute {
            encap: Some(seg6.clone()),
            ..NewRoute::dev("fd10::/64".parse().unwrap(), "x").unwrap()
        };
        assert_eq!(round_trip(&r).encap, Some(seg6));
    }
    // Refused before encoding: no segments, more than 127, a label over 20 bits.
    let bad = |e: RouteEncap| {
        let r = NewRoute {
            encap: Some(e),
            ..NewRoute::dev("fd10::/64".parse().unwrap(), "x").unwrap()
        };
        route_message(&r, idx).unwrap_err()
    };
    for e in [
        RouteEncap::Seg6 {
            mode: Seg6Mode::Encap,
            segments: vec![],
        },
        RouteEncap::Seg6 {
            mode: Seg6Mode::Encap,
            segments: vec!["fc00::1".parse().unwrap(); 128],
        },
        RouteEncap::Mpls {
            labels: vec![1 << 20],
            ttl: None,
        },
    ] {
        assert!(matches!(bad(e), Error::InvalidInput { arg: "encap", .. }));
    }
}

#[test]
fn seg6local_functions_round_trip_and_are_checked() {
    use super::{RouteEncap, Seg6Local, Seg6LocalAction};
    let nh6: std::net::Ipv6Addr = "fc00::9".parse().unwrap();
    let segs: Vec<std::net::Ipv6Addr> = vec![
        "fc00::1".parse().unwrap(),
        "fc00::2".parse().unwrap(),
        "fc00::3".parse().unwrap(),
    ];
    let dx2 = Seg6Local {
        oif: IfIndex::new(7),
        ..Seg6Local::new(Seg6LocalAction::EndDx2)
    };
    for l in [
        Seg6Local::end(),
        Seg6Local::end_x(nh6),
        Seg6Local::end_t(crate::TableId::new(100)),
        Seg6Local::end_dx6(nh6),
        Seg6Local::end_dx4("10.1.2.3".parse().unwrap()),
        Seg6Local::end_dt6(crate::TableId::MAIN),
        Seg6Local::end_dt6_vrf(crate::TableId::new(200)),
        Seg6Local::end_dt4(crate::TableId::new(200)),
        Seg6Local::end_b6(segs.clone()),
        Seg6Local::end_b6_encaps(segs.clone()),
        dx2,
    ] {
        let r = NewRoute {
            encap: Some(RouteEncap::Seg6Local(l.clone())),
            ..NewRoute::dev("fc00::100/128".parse().unwrap(), "x").unwrap()
        };
        assert_eq!(round_trip(&r).encap, Some(RouteEncap::Seg6Local(l)));
    }
    // A missing parameter is refused before encoding.
    let bad = |l: Seg6Local| {
        let r = NewRoute {
            encap: Some(RouteEncap::Seg6Local(l)),
            ..NewRoute::dev("fc00::100/128".parse().unwrap(), "x").unwrap()
        };
        route_message(&r, idx).unwrap_err()
    };
    let both = Seg6Local {
        vrf_table: Some(crate::TableId::new(9)),
        ..Seg6Local::end_dt6(crate::TableId::new(8))
    };
    for l in [
        Seg6Local::new(Seg6LocalAction::EndX),
        Seg6Local::new(Seg6LocalAction::EndDx6),
        Seg6Local::new(Seg6LocalAction::EndDx4),
        Seg6Local::new(Seg6LocalAction::EndT),
        Seg6Local::new(Seg6LocalAction::EndDx2),
        Seg6Local::new(Seg6LocalAction::EndDt4),
        Seg6Local::new(Seg6LocalAction::EndDt6),
        both,
        Seg6Local::new(Seg6LocalAction::EndB6),
        Seg6Local::end_b6_encaps(vec![nh6; 128]),
        Seg6Local::new(Seg6LocalAction::Other(15)),
    ] {
        let e = bad(l.clone());
        assert!(
            matches!(e, Error::InvalidInput { arg: "encap", .. }),
            "{l:?}: {e}"
        );
    }
}
