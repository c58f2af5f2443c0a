//! Root tests for addresses, checked against `ip -j addr`.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::TestNs;
use ipnetwork::IpNetwork;
use netplumb::addr::{AddressFilter, AddressFlags, AddressScope, NewAddress};
use netplumb::link::NewVeth;
use netplumb::IpFamily;
use serde_json::Value;

/// `ip -j addr show dev NAME` as (local, prefixlen) pairs, sorted.
fn ip_addrs(t: &TestNs, dev: &str) -> Vec<(String, u64)> {
    let v = t.ip(&["-j", "addr", "show", "dev", dev]);
    let mut out: Vec<(String, u64)> = v[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["local"].as_str().unwrap().to_string(),
                a["prefixlen"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn ip_addr_info(t: &TestNs, dev: &str, local: &str) -> Value {
    let v = t.ip(&["-j", "addr", "show", "dev", dev]);
    v[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["local"] == local)
        .cloned()
        .unwrap_or_else(|| panic!("{local} not on {dev}: {v}"))
}

fn ours(t: &TestNs, dev: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = t
        .handle
        .addresses(&AddressFilter::link(dev))
        .unwrap()
        .iter()
        .map(|a| (a.address.ip().to_string(), u64::from(a.address.prefix())))
        .collect();
    out.sort();
    out
}

#[test]
fn add_list_replace_delete_v4_and_v6() {
    require_root!();
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("a0", "a1")).unwrap();

    let v4: NewAddress = "10.20.0.1/24".parse().unwrap();
    let v4b = NewAddress {
        broadcast: Some("10.20.1.255".parse().unwrap()),
        label: Some("a0:web".into()),
        ..NewAddress::new("10.20.1.1".parse().unwrap(), 24).unwrap()
    };
    let v6 = NewAddress {
        flags: AddressFlags::NODAD,
        .."fd00:20::1/64".parse().unwrap()
    };
    let ptp = NewAddress {
        peer: Some("10.30.0.2".parse().unwrap()),
        scope: Some(AddressScope::Link),
        ..NewAddress::new("10.30.0.1".parse().unwrap(), 32).unwrap()
    };
    for a in [&v4, &v4b, &v6, &ptp] {
        t.handle.add_address("a0", a).unwrap();
    }
    // Listing agrees with iproute2 (which also shows the kernel's own link-local address).
    assert_eq!(ours(&t, "a0"), ip_addrs(&t, "a0"));
    let listed = t.handle.addresses(&AddressFilter::link("a0")).unwrap();
    let find = |ip: &str| {
        let ip: IpAddr = ip.parse().unwrap();
        listed
            .iter()
            .find(|a| a.address.ip() == ip)
            .unwrap()
            .clone()
    };
    let b = find("10.20.1.1");
    assert_eq!(b.broadcast, Some("10.20.1.255".parse().unwrap()));
    assert_eq!(b.label.unwrap(), "a0:web");
    assert_eq!(ip_addr_info(&t, "a0", "10.20.1.1")["label"], "a0:web");
    assert_eq!(
        ip_addr_info(&t, "a0", "10.20.1.1")["broadcast"],
        "10.20.1.255"
    );
    let p = find("10.30.0.1");
    assert_eq!(p.peer, Some("10.30.0.2".parse().unwrap()));
    assert_eq!(p.scope, AddressScope::Link);
    let ip_p = ip_addr_info(&t, "a0", "10.30.0.1");
    assert_eq!(ip_p["address"], "10.30.0.2");
    assert_eq!(ip_p["scope"], "link");
    let six = find("fd00:20::1");
    assert!(
        six.flags
            .contains(AddressFlags::PERMANENT | AddressFlags::NODAD),
        "{:?}",
        six.flags
    );
    assert_eq!(six.valid_lifetime, None);

    // Family filters.
    let only6 = t
        .handle
        .addresses(&AddressFilter {
            family: Some(IpFamily::V6),
            ..AddressFilter::link("a0")
        })
        .unwrap();
    assert!(!only6.is_empty() && only6.iter().all(|a| a.family() == IpFamily::V6));
    let only4 = t
        .handle
        .addresses(&AddressFilter {
            family: Some(IpFamily::V4),
            link: None,
        })
        .unwrap();
    // lo is down in a fresh namespace, so it has no 127.0.0.1: exactly the three of a0.
    assert_eq!(only4.len(), 3, "{only4:?}");
    let ip4: Vec<_> = t
        .ip(&["-j", "-4", "addr", "show"])
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["addr_info"].as_array().unwrap().clone())
        .collect();
    assert_eq!(ip4.len(), only4.len());

    // Adding again is "exists"; replace changes the lifetimes in place.
    assert!(t.handle.add_address("a0", &v4).unwrap_err().is_exists());
    let replaced = NewAddress {
        valid_lifetime: Some(Duration::from_secs(3600)),
        preferred_lifetime: Some(Duration::from_secs(1800)),
        metric: Some(77),
        ..v4.clone()
    };
    t.handle.replace_address("a0", &replaced).unwrap();
    let info = ip_addr_info(&t, "a0", "10.20.0.1");
    let valid = info["valid_life_time"].as_u64().unwrap();
    assert!((3590..=3600).contains(&valid), "{info}");
    assert_eq!(info["metric"], 77);
    let a = t.handle.addresses(&AddressFilter::link("a0")).unwrap();
    let a = a.iter().find(|a| a.address == v4.address).unwrap();
    assert!(a.valid_lifetime.unwrap() <= Duration::from_secs(3600));
    assert!(a.preferred_lifetime.unwrap() <= Duration::from_secs(1800));
    assert_eq!(a.metric, Some(77));
    assert_eq!(ours(&t, "a0"), ip_addrs(&t, "a0"));

    // Delete, then delete again is "not found".
    t.handle.delete_address("a0", v4.address).unwrap();
    t.handle.delete_address("a0", v6.address).unwrap();
    assert_eq!(ours(&t, "a0"), ip_addrs(&t, "a0"));
    assert!(!ip_addrs(&t, "a0")
        .iter()
        .any(|(ip, _)| ip == "10.20.0.1" || ip == "fd00:20::1"));
    let again = t.handle.delete_address("a0", v4.address).unwrap_err();
    assert!(again.is_not_found(), "{again}");
    let net: IpNetwork = "10.20.1.1/24".parse().unwrap();
    t.handle.delete_address("a0", net).unwrap();
}

#[test]
fn bad_address_input_changes_nothing() {
    require_root!();
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("b0", "b1")).unwrap();
    let before = t.ip(&["-j", "addr", "show"]);
    common::assert_invalid("10.0.0.1/33".parse::<NewAddress>(), "prefix length");
    common::assert_invalid(
        NewAddress::new("fd00::1".parse().unwrap(), 129),
        "prefix length",
    );
    let wrong_peer = NewAddress {
        peer: Some("fd00::2".parse().unwrap()),
        ..NewAddress::new("10.0.0.1".parse().unwrap(), 32).unwrap()
    };
    common::assert_invalid(t.handle.add_address("b0", &wrong_peer), "peer");
    let v6_brd = NewAddress {
        broadcast: Some("10.0.0.255".parse().unwrap()),
        .."fd00::1/64".parse().unwrap()
    };
    common::assert_invalid(t.handle.add_address("b0", &v6_brd), "broadcast");
    let long_label = NewAddress {
        label: Some("b0:a-very-long-label".into()),
        .."10.0.0.1/24".parse().unwrap()
    };
    common::assert_invalid(t.handle.add_address("b0", &long_label), "label");
    let backwards = NewAddress {
        valid_lifetime: Some(Duration::from_secs(10)),
        preferred_lifetime: Some(Duration::from_secs(20)),
        .."10.0.0.1/24".parse().unwrap()
    };
    common::assert_invalid(t.handle.add_address("b0", &backwards), "preferred lifetime");
    let missing = t
        .handle
        .add_address("nosuch0", &"10.0.0.1/24".parse().unwrap())
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert_eq!(t.ip(&["-j", "addr", "show"]), before);
}

/// A point-to-point address is deleted by naming its peer, as `ip addr del A/32 peer P dev D`
/// does, or by the listed `Address` itself. (Before: `delete_address` had no way to name the
/// peer, and `172.16.104.1/32` alone fails with `EADDRNOTAVAIL` as in iproute2.)
#[test]
fn point_to_point_addresses_are_deleted_by_their_peer() {
    use netplumb::addr::AddressKey;
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("d2", "d3")).unwrap();
    let with_peer = |local: &str, peer: &str| NewAddress {
        peer: Some(peer.parse().unwrap()),
        ..local.parse().unwrap()
    };
    h.add_address("d2", &with_peer("172.16.104.1/32", "172.16.104.2"))
        .unwrap();
    h.add_address("d2", &with_peer("172.16.105.1/32", "172.16.105.2"))
        .unwrap();
    let plain: ipnetwork::IpNetwork = "172.16.104.1/32".parse().unwrap();
    let e = h.delete_address("d2", plain).unwrap_err();
    assert!(e.is_not_found(), "as iproute2 without `peer`: {e}");
    h.delete_address(
        "d2",
        AddressKey {
            address: plain,
            peer: Some("172.16.104.2".parse().unwrap()),
        },
    )
    .unwrap();
    let listed = h
        .addresses(&netplumb::addr::AddressFilter::link("d2"))
        .unwrap();
    let other = listed
        .iter()
        .find(|a| a.address.ip() == "172.16.105.1".parse::<std::net::IpAddr>().unwrap())
        .unwrap();
    h.delete_address("d2", other).unwrap();
    let left: Vec<_> = ip_addrs(&t, "d2");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn address_protocol_reads_back() {
    use netplumb::addr::AddressProtocol;
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("a0", "a1")).unwrap();
    h.set_link_up("a0").unwrap();
    h.set_link_up("a1").unwrap();
    let a = NewAddress {
        protocol: Some(AddressProtocol(99)),
        ..NewAddress::new("10.7.0.1".parse().unwrap(), 24).unwrap()
    };
    h.add_address("a0", &a).unwrap();
    let got = h
        .addresses(&AddressFilter::link("a0"))
        .unwrap()
        .into_iter()
        .find(|x| x.address == "10.7.0.1/24".parse().unwrap())
        .unwrap();
    // (iproute2 6.1 has no `proto` for addresses: the kernel's own marks are the oracle.)
    assert_eq!(got.protocol, Some(AddressProtocol(99)));
    let ll = h
        .wait_address_ready(
            "a0",
            link_local(&t, "a0"),
            std::time::Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(ll.protocol, Some(AddressProtocol::KERNEL_LL));
}

/// The kernel's IPv6 link-local address of `dev`, from `ip -j addr`.
fn link_local(t: &TestNs, dev: &str) -> std::net::IpAddr {
    let j = t.ip(&["-j", "-6", "addr", "show", "dev", dev, "scope", "link"]);
    j[0]["addr_info"][0]["local"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}
