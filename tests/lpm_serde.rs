//! serde of the lpm types (feature `serde`): round trips through JSON (human-readable: a prefix
//! is its text) and CBOR (not human-readable: an `(address, length)` pair), and what reading
//! refuses.
#![cfg(feature = "serde")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netplumb::lpm::{
    Candidate, Fib, FibNextHop, IpPrefixMap, Prefix, PrefixMap, Protocol, Rib, RibSource,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn cbor_round_trip<T: Serialize + DeserializeOwned>(v: &T) -> T {
    let mut buf = Vec::new();
    ciborium::into_writer(v, &mut buf).unwrap();
    ciborium::from_reader(&buf[..]).unwrap()
}

fn p4(s: &str) -> Prefix<Ipv4Addr> {
    s.parse().unwrap()
}

fn p6(s: &str) -> Prefix<Ipv6Addr> {
    s.parse().unwrap()
}

#[test]
fn prefix_is_its_text_in_json_and_a_pair_in_cbor() {
    let p = p4("10.0.0.0/8");
    assert_eq!(serde_json::to_string(&p).unwrap(), r#""10.0.0.0/8""#);
    assert_eq!(
        serde_json::from_str::<Prefix<Ipv4Addr>>(r#""10.0.0.0/8""#).unwrap(),
        p
    );
    let q = p6("2001:db8::/32");
    assert_eq!(serde_json::to_string(&q).unwrap(), r#""2001:db8::/32""#);
    assert_eq!(cbor_round_trip(&p), p);
    assert_eq!(cbor_round_trip(&q), q);
    // CBOR holds the pair: the same bytes as `(addr, len)`.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    ciborium::into_writer(&p, &mut a).unwrap();
    ciborium::into_writer(&(Ipv4Addr::new(10, 0, 0, 0), 8u8), &mut b).unwrap();
    assert_eq!(a, b);
}

#[test]
fn invalid_prefixes_are_refused() {
    for bad in [
        r#""10.0.0.1/8""#,
        r#""10.0.0.0/33""#,
        r#""2001:db8::/32""#,
        "7",
    ] {
        assert!(
            serde_json::from_str::<Prefix<Ipv4Addr>>(bad).is_err(),
            "{bad}"
        );
    }
    // A bare address is a host prefix, as `FromStr` reads it.
    assert_eq!(
        serde_json::from_str::<Prefix<Ipv4Addr>>(r#""10.0.0.1""#).unwrap(),
        p4("10.0.0.1/32")
    );
    // Host bits set, through the pair form.
    let mut buf = Vec::new();
    ciborium::into_writer(&(Ipv4Addr::new(10, 0, 0, 1), 8u8), &mut buf).unwrap();
    assert!(ciborium::from_reader::<Prefix<Ipv4Addr>, _>(&buf[..]).is_err());
    let mut buf = Vec::new();
    ciborium::into_writer(&(Ipv4Addr::new(10, 0, 0, 0), 40u8), &mut buf).unwrap();
    assert!(ciborium::from_reader::<Prefix<Ipv4Addr>, _>(&buf[..]).is_err());
}

#[test]
fn prefix_map_round_trips_as_a_map() {
    let m: PrefixMap<Ipv4Addr, String> = [
        (p4("10.0.0.0/8"), "corp".to_string()),
        (p4("0.0.0.0/0"), "default".to_string()),
        (p4("10.1.0.0/16"), "lab".to_string()),
    ]
    .into_iter()
    .collect();
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(
        json,
        r#"{"0.0.0.0/0":"default","10.0.0.0/8":"corp","10.1.0.0/16":"lab"}"#
    );
    let back: PrefixMap<Ipv4Addr, String> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    assert_eq!(
        back.lookup(Ipv4Addr::new(10, 1, 2, 3)).map(String::as_str),
        Some("lab")
    );
    assert_eq!(cbor_round_trip(&m), m);
    // A repeated key: the last value wins; a bad key fails the whole map.
    let m2: PrefixMap<Ipv4Addr, u8> =
        serde_json::from_str(r#"{"10.0.0.0/8":1,"10.0.0.0/8":2}"#).unwrap();
    assert_eq!(m2.get(&p4("10.0.0.0/8")), Some(&2));
    assert!(serde_json::from_str::<PrefixMap<Ipv4Addr, u8>>(r#"{"10.0.0.1/8":1}"#).is_err());
}

#[test]
fn larger_maps_and_fibs_round_trip_in_both_families() {
    let v4: Vec<(Prefix<Ipv4Addr>, u32)> = (0..5000u32)
        .map(|i| {
            (
                Prefix::truncate(
                    Ipv4Addr::from(i.wrapping_mul(2_654_435_761)),
                    (8 + i % 25) as u8,
                )
                .unwrap(),
                i,
            )
        })
        .collect();
    let v6: Vec<(Prefix<Ipv6Addr>, u32)> = (0..5000u128)
        .map(|i| {
            let a = Ipv6Addr::from(
                (0x2000u128 << 112) | i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
            );
            (Prefix::truncate(a, (16 + i % 113) as u8).unwrap(), i as u32)
        })
        .collect();
    let m4: PrefixMap<Ipv4Addr, u32> = v4.iter().copied().collect();
    let m6: PrefixMap<Ipv6Addr, u32> = v6.iter().copied().collect();
    let back4: PrefixMap<Ipv4Addr, u32> =
        serde_json::from_str(&serde_json::to_string(&m4).unwrap()).unwrap();
    let back6: PrefixMap<Ipv6Addr, u32> =
        serde_json::from_str(&serde_json::to_string(&m6).unwrap()).unwrap();
    assert_eq!((back4 == m4, back6 == m6), (true, true));
    assert_eq!(cbor_round_trip(&m6), m6);

    let f4 = Fib::try_from_iter(v4).unwrap();
    let f6 = Fib::try_from_iter(v6).unwrap();
    let back: Fib<Ipv4Addr> = serde_json::from_str(&serde_json::to_string(&f4).unwrap()).unwrap();
    assert!(back.iter().eq(f4.iter()));
    assert!(cbor_round_trip(&f6).iter().eq(f6.iter()));
    // The Fib's map is the PrefixMap's: same JSON.
    assert_eq!(
        serde_json::to_string(&f4).unwrap(),
        serde_json::to_string(&m4).unwrap()
    );
}

#[test]
fn fib_refuses_an_id_above_max() {
    let json = format!(r#"{{"10.0.0.0/8":{}}}"#, Fib::<Ipv4Addr>::MAX_ID + 1);
    let e = serde_json::from_str::<Fib<Ipv4Addr>>(&json).unwrap_err();
    assert!(e.to_string().contains("id"), "{e}");
    let json = format!(r#"{{"10.0.0.0/8":{}}}"#, Fib::<Ipv4Addr>::MAX_ID);
    let f: Fib<Ipv4Addr> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        f.lookup(Ipv4Addr::new(10, 9, 9, 9)),
        Some(Fib::<Ipv4Addr>::MAX_ID)
    );
}

#[test]
fn dual_map_round_trips_with_both_families() {
    let mut m = IpPrefixMap::new();
    m.insert("10.0.0.0/8".parse().unwrap(), 1u8).unwrap();
    m.insert("2001:db8::/32".parse().unwrap(), 2).unwrap();
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(json, r#"{"10.0.0.0/8":1,"2001:db8::/32":2}"#);
    assert_eq!(serde_json::from_str::<IpPrefixMap<u8>>(&json).unwrap(), m);
    assert_eq!(cbor_round_trip(&m), m);
    assert!(serde_json::from_str::<IpPrefixMap<u8>>(r#"{"2001:db8::1/32":2}"#).is_err());
}

#[test]
fn rib_round_trips_and_chooses_the_same_best_routes() {
    let gw = |s: &str| FibNextHop::via(s.parse::<IpAddr>().unwrap());
    let ospf = RibSource::new(Protocol::Ospf, 1);
    let stat = RibSource::new(Protocol::Static, 0);
    let mut rib = Rib::new();
    rib.update(
        p4("10.0.0.0/8"),
        ospf,
        Candidate::new(Protocol::Ospf, 10, vec![gw("192.0.2.1"), gw("192.0.2.2")]),
    );
    rib.update(
        p4("10.0.0.0/8"),
        stat,
        Candidate::new(Protocol::Static, 0, vec![gw("192.0.2.9")]),
    );
    rib.update(
        p4("10.1.0.0/16"),
        RibSource::new(Protocol::Other(42), 7),
        Candidate::new(Protocol::Other(42), 3, vec![FibNextHop::dev(4)]),
    );
    let json = serde_json::to_string(&rib).unwrap();
    assert!(
        json.starts_with(r#"{"10.0.0.0/8":[[{"protocol":"Static","instance":0},{"distance":1,"#),
        "{json}"
    );
    let back: Rib<Ipv4Addr> = serde_json::from_str(&json).unwrap();
    assert!(back.iter().eq(rib.iter()));
    assert_eq!(back.fib(), rib.fib());
    let back = cbor_round_trip(&rib);
    assert!(back.iter().eq(rib.iter()));
    assert_eq!(back.fib(), rib.fib());
}
