//! Root tests for link properties of any kind: alternative names, GSO/GRO limits, the IPv6
//! address generation mode, every 64-bit counter, protodown and carrier, each checked against
//! iproute2's JSON.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{assert_invalid, TestNs};
use netplumb::link::{Ipv6AddrGenMode, MacvlanMode, NewDummy, NewMacvlan, NewVeth};
use serde_json::Value;

#[test]
fn altnames_added_found_and_deleted() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    let u0 = h.link_index("u0").unwrap();
    let long = "an-alternative-name-longer-than-fifteen-bytes";
    h.add_link_altname("u0", long).unwrap();
    h.add_link_altname(u0, "second").unwrap();

    let theirs: Vec<String> = t.ip_link("u0").unwrap()["altnames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(theirs, [long, "second"]);
    let ours = h.link("u0").unwrap().altnames;
    assert_eq!(ours.len(), 2);
    assert_eq!(
        (ours[0].as_bytes(), ours[1].as_bytes()),
        (long.as_bytes(), &b"second"[..])
    );

    // Found by it, here and by iproute2.
    assert_eq!(h.link_by_altname(long).unwrap().index, u0);
    assert_eq!(t.ip_link(long).unwrap()["ifindex"], u0.get());
    // Another link cannot take it.
    assert!(h.add_link_altname("u1", long).is_err());

    h.delete_link_altname("u0", long).unwrap();
    assert_eq!(
        t.ip_link("u0").unwrap()["altnames"],
        serde_json::json!(["second"])
    );
    assert_eq!(h.link("u0").unwrap().altnames.len(), 1);
    assert!(h.link_by_altname(long).unwrap_err().is_not_found());
    assert!(h.delete_link_altname("u0", long).is_err());

    for bad in ["", "a b", "a/b", &"x".repeat(128)] {
        assert_invalid(h.add_link_altname("u0", bad), "altname");
    }
    assert_invalid(h.link_by_altname(""), "altname");
    assert_eq!(h.link("u0").unwrap().altnames.len(), 1);
}

#[test]
fn gso_and_gro_limits() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    h.set_link_gso_max_size("u0", 32768).unwrap();
    h.set_link_gso_max_segs("u0", 100).unwrap();
    h.set_link_gro_max_size("u0", 16384).unwrap();
    let ip = t.ip_link("u0").unwrap();
    let l = h.link("u0").unwrap();
    assert_eq!(
        (ip["gso_max_size"].as_u64(), l.gso_max_size),
        (Some(32768), Some(32768))
    );
    assert_eq!(
        (ip["gso_max_segs"].as_u64(), l.gso_max_segs),
        (Some(100), Some(100))
    );
    assert_eq!(
        (ip["gro_max_size"].as_u64(), l.gro_max_size),
        (Some(16384), Some(16384))
    );
    assert_invalid(h.set_link_gso_max_size("u0", 600_000), "gso_max_size");
    assert_invalid(h.set_link_gso_max_segs("u0", 70_000), "gso_max_segs");
    assert_invalid(h.set_link_gro_max_size("u0", 600_000), "gro_max_size");
    assert_eq!(h.link("u0").unwrap().gso_max_size, Some(32768));
}

#[test]
fn ipv6_addrgenmode_read_and_set() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    assert_eq!(
        h.link("u0").unwrap().addrgenmode,
        Some(Ipv6AddrGenMode::Eui64)
    );
    for (mode, word) in [
        (Ipv6AddrGenMode::None, "none"),
        (Ipv6AddrGenMode::Random, "random"),
        (Ipv6AddrGenMode::Eui64, "eui64"),
    ] {
        h.set_link_addrgenmode("u0", mode).unwrap();
        assert_eq!(t.ip_link("u0").unwrap()["inet6_addr_gen_mode"], word);
        assert_eq!(h.link("u0").unwrap().addrgenmode, Some(mode));
    }
    // With none, bringing the link up makes no link-local address.
    h.set_link_addrgenmode("u1", Ipv6AddrGenMode::None).unwrap();
    h.set_link_up("u1").unwrap();
    h.set_link_up("u0").unwrap();
    let v6 = |dev: &str| -> usize {
        let links = t.ip(&["-j", "-6", "addr", "show", "dev", dev]);
        links
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["addr_info"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert_eq!(v6("u1"), 0);
    assert_eq!(v6("u0"), 1, "eui64 makes a link-local address");
}

#[test]
fn every_64_bit_counter() {
    require_root!();
    let a = TestNs::new();
    let b = TestNs::new();
    let mut veth = NewVeth::new("u0", "u1");
    veth.peer.netns = Some(&b.ns);
    a.handle.add_veth(&veth).unwrap();
    a.handle.set_link_up("u0").unwrap();
    b.handle.set_link_up("u1").unwrap();
    a.handle
        .add_address("u0", &"10.9.0.1/24".parse().unwrap())
        .unwrap();
    b.handle
        .add_address("u1", &"10.9.0.2/24".parse().unwrap())
        .unwrap();
    let to = SocketAddr::new("10.9.0.2".parse().unwrap(), 7009);
    let _server = netplumb_lab::EchoServer::start(&b.ns, to).unwrap();
    let from: IpAddr = "10.9.0.1".parse().unwrap();
    netplumb_lab::udp_echo(&a.ns, from, to, 20, Duration::from_millis(250)).unwrap();
    // Quiet (both ends down: no IPv6 chatter from the peer), and read until our counters are
    // the same before and after iproute2's reading, so that both saw the same ones.
    b.handle.set_link_down("u1").unwrap();
    a.handle.set_link_down("u0").unwrap();
    let read = || a.handle.link("u0").unwrap().stats.unwrap();
    let (ours, theirs) = (0..20)
        .find_map(|_| {
            let before = read();
            let ip = a.ip(&["-j", "-s", "-s", "link", "show", "dev", "u0"]);
            (read() == before).then(|| (before, ip[0]["stats64"].clone()))
        })
        .expect("the counters settle once both ends are down");
    let theirs = &theirs;
    let (rx, tx) = (&theirs["rx"], &theirs["tx"]);
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    assert!(ours.tx_packets > 0 && ours.rx_packets > 0, "{ours:?}");
    for (name, mine, ip) in [
        ("rx bytes", ours.rx_bytes, n(&rx["bytes"])),
        ("rx packets", ours.rx_packets, n(&rx["packets"])),
        ("rx errors", ours.rx_errors, n(&rx["errors"])),
        ("rx dropped", ours.rx_dropped, n(&rx["dropped"])),
        ("rx over_errors", ours.rx_over_errors, n(&rx["over_errors"])),
        ("rx multicast", ours.multicast, n(&rx["multicast"])),
        (
            "rx length_errors",
            ours.rx_length_errors,
            n(&rx["length_errors"]),
        ),
        ("rx crc_errors", ours.rx_crc_errors, n(&rx["crc_errors"])),
        (
            "rx frame_errors",
            ours.rx_frame_errors,
            n(&rx["frame_errors"]),
        ),
        ("rx fifo_errors", ours.rx_fifo_errors, n(&rx["fifo_errors"])),
        (
            "rx missed_errors",
            ours.rx_missed_errors,
            n(&rx["missed_errors"]),
        ),
        ("rx nohandler", ours.rx_nohandler, n(&rx["nohandler"])),
        ("rx compressed", ours.rx_compressed, n(&rx["compressed"])),
        ("tx bytes", ours.tx_bytes, n(&tx["bytes"])),
        ("tx packets", ours.tx_packets, n(&tx["packets"])),
        ("tx errors", ours.tx_errors, n(&tx["errors"])),
        ("tx dropped", ours.tx_dropped, n(&tx["dropped"])),
        (
            "tx carrier_errors",
            ours.tx_carrier_errors,
            n(&tx["carrier_errors"]),
        ),
        ("tx collisions", ours.collisions, n(&tx["collisions"])),
        (
            "tx aborted_errors",
            ours.tx_aborted_errors,
            n(&tx["aborted_errors"]),
        ),
        ("tx fifo_errors", ours.tx_fifo_errors, n(&tx["fifo_errors"])),
        (
            "tx window_errors",
            ours.tx_window_errors,
            n(&tx["window_errors"]),
        ),
        (
            "tx heartbeat_errors",
            ours.tx_heartbeat_errors,
            n(&tx["heartbeat_errors"]),
        ),
        ("tx compressed", ours.tx_compressed, n(&tx["compressed"])),
    ] {
        assert_eq!(mine, ip, "{name}");
    }
    let l = a.handle.link("u0").unwrap();
    assert_eq!(
        l.carrier_changes.map(u64::from),
        tx["carrier_changes"].as_u64()
    );
}

#[test]
fn protodown_on_and_off() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    skip_if_unsupported!(h.add_macvlan(&NewMacvlan::new("mv0", "u0", MacvlanMode::Bridge)))
        .unwrap();
    assert_eq!(h.link("mv0").unwrap().protodown, Some(false));
    h.set_link_protodown("mv0", true).unwrap();
    assert_eq!(t.ip_link("mv0").unwrap()["proto_down"], true);
    assert_eq!(h.link("mv0").unwrap().protodown, Some(true));
    h.set_link_protodown("mv0", false).unwrap();
    assert_ne!(t.ip_link("mv0").unwrap()["proto_down"], true);
    assert_eq!(h.link("mv0").unwrap().protodown, Some(false));
    // A veth has no protodown: the kernel's refusal, with its errno.
    assert!(h
        .set_link_protodown("u0", true)
        .unwrap_err()
        .errno()
        .is_some());
}

#[test]
fn carrier_on_and_off() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    skip_if_unsupported!(h.add_dummy(&NewDummy::new("d0"))).unwrap();
    h.set_link_up("d0").unwrap();
    assert_eq!(h.link("d0").unwrap().carrier, Some(true));
    h.set_link_carrier("d0", false).unwrap();
    let flags = |t: &TestNs| -> Vec<String> {
        t.ip_link("d0").unwrap()["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect()
    };
    // LOWER_UP is the carrier itself; NO-CARRIER (UP without RUNNING) waits for the kernel's
    // asynchronous link watch, so it is not asked for here.
    assert!(
        !flags(&t).contains(&"LOWER_UP".to_string()),
        "{:?}",
        flags(&t)
    );
    let l = h.link("d0").unwrap();
    assert_eq!(l.carrier, Some(false));
    assert!(l.carrier_changes.unwrap() >= 1);
    h.set_link_carrier("d0", true).unwrap();
    assert!(flags(&t).contains(&"LOWER_UP".to_string()));
    assert_eq!(h.link("d0").unwrap().carrier, Some(true));
}
