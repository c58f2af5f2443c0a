//! Root tests for forwarding databases on bridges and VXLAN devices, checked against
//! `bridge -j fdb show`.

mod common;

use std::net::IpAddr;

use common::TestNs;
use netplumb::fdb::{FdbEntry, FdbFilter, FdbFlush, FdbState, FdbTarget, NewFdbEntry};
use netplumb::link::{MacvlanMode, NewBridge, NewMacvlan, NewVeth, NewVxlan};
use netplumb::neighbour::NeighbourFlags;
use netplumb::{Error, MacAddr, VlanId, Vni};
use serde_json::Value;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

fn fdb_json(t: &TestNs, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["-j", "fdb", "show"];
    a.extend_from_slice(args);
    t.bridge(&a).as_array().unwrap().clone()
}

/// The remotes of `mac` on `dev`, as `bridge fdb` shows them, sorted.
fn oracle_remotes(t: &TestNs, dev: &str, mac: &str) -> Vec<String> {
    let mut r: Vec<String> = fdb_json(t, &["dev", dev])
        .iter()
        .filter(|e| e["mac"] == mac && e.get("dst").is_some())
        .map(|e| e["dst"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

fn our_remotes(entries: &[FdbEntry], m: MacAddr) -> Vec<String> {
    let mut r: Vec<String> = entries
        .iter()
        .filter(|e| e.mac == m)
        .filter_map(|e| e.dst.map(|d| d.to_string()))
        .collect();
    r.sort();
    r
}

/// A namespace with an underlay veth u0 (192.0.2.1) and VXLAN devices vx4 (IPv4) and vx6
/// (IPv6) on it.
fn vxlan_setup() -> TestNs {
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    h.add_vxlan(&NewVxlan {
        local: Some(ip("192.0.2.1")),
        underlay: Some("u0".into()),
        port: Some(4789),
        learning: Some(false),
        ..NewVxlan::new("vx4", Vni::new(100).unwrap())
    })
    .unwrap();
    h.add_vxlan(&NewVxlan {
        local: Some(ip("2001:db8::1")),
        port: Some(4789),
        learning: Some(false),
        ..NewVxlan::new("vx6", Vni::new(106).unwrap())
    })
    .unwrap();
    t
}

#[test]
fn vxlan_flood_entries_append_to_several_remotes() {
    require_root!();
    let t = vxlan_setup();
    let h = &t.handle;
    for (dev, remotes) in [
        ("vx4", ["192.0.2.2", "192.0.2.3", "198.51.100.4"]),
        ("vx6", ["2001:db8::2", "2001:db8::3", "2001:db8:1::4"]),
    ] {
        for r in remotes {
            h.append_fdb(dev, &NewFdbEntry::flood(ip(r))).unwrap();
        }
        let mut want: Vec<String> = remotes.iter().map(|s| s.to_string()).collect();
        want.sort();
        let ours = h.fdb(&FdbFilter::link(dev)).unwrap();
        assert_eq!(our_remotes(&ours, MacAddr::ZERO), want, "{dev}");
        assert_eq!(
            oracle_remotes(&t, dev, "00:00:00:00:00:00"),
            want,
            "{dev} (bridge fdb)"
        );
        let vx = h.link(dev).unwrap().index;
        for e in ours.iter().filter(|e| e.mac == MacAddr::ZERO) {
            assert_eq!(e.link, vx);
            assert_eq!(e.state, FdbState::Permanent);
            assert!(e.flags.contains(NeighbourFlags::SELF));
        }

        // Deleting one remote leaves the other two.
        h.delete_fdb(dev, &NewFdbEntry::flood(ip(remotes[1])))
            .unwrap();
        want.retain(|r| r != remotes[1]);
        assert_eq!(oracle_remotes(&t, dev, "00:00:00:00:00:00"), want);
        assert_eq!(
            our_remotes(&h.fdb(&FdbFilter::link(dev)).unwrap(), MacAddr::ZERO),
            want
        );
        // Once the MAC has no remote left, a delete is "not found".
        h.delete_fdb(dev, &NewFdbEntry::flood(ip(remotes[0])))
            .unwrap();
        h.delete_fdb(dev, &NewFdbEntry::flood(ip(remotes[2])))
            .unwrap();
        assert!(oracle_remotes(&t, dev, "00:00:00:00:00:00").is_empty());
        let e = h
            .delete_fdb(dev, &NewFdbEntry::flood(ip(remotes[2])))
            .unwrap_err();
        assert!(e.is_not_found(), "{e}");
    }
}

#[test]
fn vxlan_entry_with_port_vni_and_via() {
    require_root!();
    let t = vxlan_setup();
    let h = &t.handle;
    let u0 = h.link("u0").unwrap().index;
    let m = mac("02:42:0a:f4:01:00");
    h.add_fdb(
        "vx4",
        &NewFdbEntry {
            dst: Some(ip("192.0.2.9")),
            port: Some(4790),
            vni: Some(Vni::new(77).unwrap()),
            via: Some(u0),
            state: FdbState::Static,
            ..NewFdbEntry::new(m)
        },
    )
    .unwrap();
    let ours: Vec<FdbEntry> = h
        .fdb(&FdbFilter::link("vx4"))
        .unwrap()
        .into_iter()
        .filter(|e| e.mac == m)
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    let e = &ours[0];
    assert_eq!(e.dst, Some(ip("192.0.2.9")));
    assert_eq!(e.port, Some(4790));
    assert_eq!(e.vni, Some(Vni::new(77).unwrap()));
    assert_eq!(e.via, Some(u0));
    assert_eq!(e.state, FdbState::Static);
    let theirs: Vec<Value> = fdb_json(&t, &["dev", "vx4"])
        .into_iter()
        .filter(|e| e["mac"] == m.to_string())
        .collect();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["dst"], "192.0.2.9");
    assert_eq!(theirs[0]["port"], 4790);
    assert_eq!(theirs[0]["vni"], 77);
    assert_eq!(theirs[0]["viaIf"], "u0");
    assert_eq!(theirs[0]["state"], "static");

    // Replace moves the MAC to another remote.
    h.replace_fdb(
        "vx4",
        &NewFdbEntry {
            dst: Some(ip("192.0.2.10")),
            ..NewFdbEntry::new(m)
        },
    )
    .unwrap();
    assert_eq!(
        oracle_remotes(&t, "vx4", &m.to_string()),
        vec!["192.0.2.10"]
    );
}

#[test]
fn bridge_port_entries_master_and_self() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_bridge(&NewBridge::new("br0")).unwrap();
    h.add_veth(&NewVeth::new("p0", "p0b")).unwrap();
    h.add_veth(&NewVeth::new("p1", "p1b")).unwrap();
    h.set_link_master("p0", "br0").unwrap();
    h.set_link_master("p1", "br0").unwrap();
    // A dynamic entry needs a port in the learning or forwarding state (else EPERM): up.
    for l in ["br0", "p0", "p0b", "p1", "p1b"] {
        h.set_link_up(l).unwrap();
    }
    let br0 = h.link("br0").unwrap().index;
    let p0 = h.link("p0").unwrap().index;

    let sticky = mac("02:00:00:00:aa:01");
    let dynamic = mac("02:00:00:00:aa:02");
    let own = mac("02:00:00:00:aa:03");
    h.add_fdb(
        "p0",
        &NewFdbEntry {
            target: FdbTarget::Master,
            state: FdbState::Static,
            sticky: true,
            ..NewFdbEntry::new(sticky)
        },
    )
    .unwrap();
    h.add_fdb(
        "p1",
        &NewFdbEntry {
            target: FdbTarget::Master,
            state: FdbState::Dynamic,
            ..NewFdbEntry::new(dynamic)
        },
    )
    .unwrap();
    h.add_fdb("p0", &NewFdbEntry::new(own)).unwrap();

    let ours = h.fdb(&FdbFilter::bridge("br0")).unwrap();
    let find = |m: MacAddr| ours.iter().find(|e| e.mac == m).cloned();
    let s = find(sticky).expect("sticky entry listed");
    assert_eq!(s.link, p0);
    assert_eq!(s.master, Some(br0));
    assert_eq!(s.state, FdbState::Static);
    assert!(s.flags.contains(NeighbourFlags::STICKY));
    assert_eq!(find(dynamic).unwrap().state, FdbState::Dynamic);
    let o = find(own).expect("self entry listed under the bridge's port");
    assert!(o.flags.contains(NeighbourFlags::SELF));

    let theirs = fdb_json(&t, &["br", "br0"]);
    let j = |m: MacAddr| {
        theirs
            .iter()
            .find(|e| e["mac"] == m.to_string())
            .unwrap_or_else(|| panic!("bridge fdb does not show {m}"))
            .clone()
    };
    assert_eq!(j(sticky)["state"], "static");
    assert_eq!(j(sticky)["ifname"], "p0");
    assert_eq!(j(sticky)["master"], "br0");
    assert!(j(sticky)["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "sticky"));
    assert_eq!(j(dynamic)["state"], "");
    assert_eq!(j(dynamic)["ifname"], "p1");
    assert!(j(own)["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "self"));
    // Everything bridge fdb lists for br0 we list too, and nothing more. Multicast entries are
    // left out: the kernel adds them as IPv6 joins groups on the links that just came up, so
    // they may appear between the two listings.
    // Likewise entries the bridge learns from the peers' own traffic.
    let mut a: Vec<String> = ours
        .iter()
        .filter(|e| !e.mac.is_multicast())
        .filter(|e| e.state != FdbState::Dynamic || e.mac == dynamic)
        .map(|e| format!("{} {}", e.mac, e.link))
        .collect();
    let mut b: Vec<String> = theirs
        .iter()
        .filter(|e| !mac(e["mac"].as_str().unwrap()).is_multicast())
        .filter(|e| e["state"] != "" || e["mac"] == dynamic.to_string())
        .map(|e| {
            let dev = e["ifname"].as_str().unwrap();
            format!(
                "{} {}",
                e["mac"].as_str().unwrap(),
                h.link(dev).unwrap().index
            )
        })
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // The device filter narrows to one port.
    let p1_only = h.fdb(&FdbFilter::link("p1")).unwrap();
    assert!(p1_only.iter().any(|e| e.mac == dynamic));
    let p1 = h.link("p1").unwrap().index;
    assert!(p1_only.iter().all(|e| e.link == p1));

    h.delete_fdb(
        "p0",
        &NewFdbEntry {
            target: FdbTarget::Master,
            ..NewFdbEntry::new(sticky)
        },
    )
    .unwrap();
    assert!(fdb_json(&t, &["br", "br0"])
        .iter()
        .all(|e| e["mac"] != sticky.to_string()));
}

#[test]
fn fdb_bad_input_changes_nothing() {
    require_root!();
    let t = vxlan_setup();
    let h = &t.handle;
    h.append_fdb("vx4", &NewFdbEntry::flood(ip("192.0.2.2")))
        .unwrap();
    let before = fdb_json(&t, &[]);

    // A remote of the other family: refused with the reason, nothing sent.
    let e = h
        .append_fdb("vx4", &NewFdbEntry::flood(ip("2001:db8::2")))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { arg: "dst", .. }), "{e}");
    assert!(e.to_string().contains("vx4"), "{e}");
    let e = h
        .append_fdb("vx6", &NewFdbEntry::flood(ip("192.0.2.2")))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { arg: "dst", .. }), "{e}");

    // A device that does not exist.
    let e = h
        .add_fdb("nosuchdev", &NewFdbEntry::new(mac("02:00:00:00:00:01")))
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("nosuchdev"), "{e}");

    // VLAN 0 and 4095, a MAC of the wrong length, a VNI over 24 bits: unrepresentable.
    assert!(matches!(VlanId::new(0), Err(Error::InvalidInput { .. })));
    assert!(matches!(VlanId::new(4095), Err(Error::InvalidInput { .. })));
    let e = MacAddr::from_slice(&[2, 0, 0, 0, 0]).unwrap_err();
    assert!(e.to_string().contains("6"), "{e}");
    assert!(Vni::new(1 << 24).is_err());

    assert_eq!(fdb_json(&t, &[]), before);
}

#[test]
fn a_batch_of_flood_entries() {
    require_root!();
    let t = vxlan_setup();
    let h = &t.handle;
    let mut batch = h.batch();
    for i in 1..=100u8 {
        batch.append_fdb("vx4", &NewFdbEntry::flood(IpAddr::from([198, 51, 100, i])));
    }
    let missing = batch.append_fdb("nosuchdev", &NewFdbEntry::flood(ip("198.51.100.200")));
    let results = batch.send();
    assert!(results[..100].iter().all(|r| r.is_ok()), "{results:?}");
    assert!(results[missing].as_ref().unwrap_err().is_not_found());
    assert_eq!(oracle_remotes(&t, "vx4", "00:00:00:00:00:00").len(), 100);
}

/// `bridge -j fdb show dev DEV`'s remote entries as "MAC DST [vni N]" lines, sorted.
fn oracle_entries(t: &TestNs, dev: &str) -> Vec<String> {
    let mut r: Vec<String> = fdb_json(t, &["dev", dev])
        .iter()
        .filter(|e| e.get("dst").is_some())
        .map(|e| match e.get("vni") {
            Some(v) => format!(
                "{} {} vni {v}",
                e["mac"].as_str().unwrap(),
                e["dst"].as_str().unwrap()
            ),
            None => format!(
                "{} {}",
                e["mac"].as_str().unwrap(),
                e["dst"].as_str().unwrap()
            ),
        })
        .collect();
    r.sort();
    r
}

/// A VXLAN device's entries flushed by remote, by VNI, by MAC-less selection and all at once:
/// one bulk request on kernels whose VXLAN device has it (6.8+), the listed-and-deleted
/// fallback on older ones (the guest's 6.1). Each step is checked against `bridge fdb show`.
#[test]
fn vxlan_flush_selects_remotes_and_vnis() {
    require_root!();
    let t = vxlan_setup();
    let h = &t.handle;
    let remotes = ["192.0.2.2", "192.0.2.3", "198.51.100.4"];
    let mut want = Vec::new();
    for (i, r) in remotes.iter().enumerate() {
        h.append_fdb("vx4", &NewFdbEntry::flood(ip(r))).unwrap();
        want.push(format!("00:00:00:00:00:00 {r}"));
        for j in 0..3 {
            let m = format!("02:00:00:00:{i:02x}:{j:02x}");
            h.add_fdb(
                "vx4",
                &NewFdbEntry {
                    dst: Some(ip(r)),
                    ..NewFdbEntry::new(mac(&m))
                },
            )
            .unwrap();
            want.push(format!("{m} {r}"));
        }
    }
    // One remote with a VNI of its own.
    h.add_fdb(
        "vx4",
        &NewFdbEntry {
            dst: Some(ip("192.0.2.9")),
            vni: Some(Vni::new(200).unwrap()),
            ..NewFdbEntry::new(mac("02:00:00:00:09:09"))
        },
    )
    .unwrap();
    want.push("02:00:00:00:09:09 192.0.2.9 vni 200".into());
    want.sort();
    assert_eq!(oracle_entries(&t, "vx4"), want);

    // Everything behind one remote, flood entry included.
    h.flush_fdb(
        "vx4",
        &FdbFlush {
            dst: Some(ip("192.0.2.3")),
            ..FdbFlush::default()
        },
    )
    .unwrap();
    want.retain(|e| !e.ends_with(" 192.0.2.3"));
    assert_eq!(oracle_entries(&t, "vx4"), want);

    // The remotes of one VNI.
    h.flush_fdb(
        "vx4",
        &FdbFlush {
            vni: Some(Vni::new(200).unwrap()),
            ..FdbFlush::default()
        },
    )
    .unwrap();
    want.retain(|e| !e.ends_with("vni 200"));
    assert_eq!(oracle_entries(&t, "vx4"), want);
    assert_eq!(want.len(), 8);

    // A state no entry is in: nothing goes.
    h.flush_fdb(
        "vx4",
        &FdbFlush {
            state: Some(FdbState::Dynamic),
            ..FdbFlush::default()
        },
    )
    .unwrap();
    assert_eq!(oracle_entries(&t, "vx4"), want);

    // The rest, and the IPv6 device's too; a flush of an empty table is no error.
    h.append_fdb("vx6", &NewFdbEntry::flood(ip("2001:db8::2")))
        .unwrap();
    for dev in ["vx4", "vx6", "vx4"] {
        h.flush_fdb(dev, &FdbFlush::default()).unwrap();
        assert!(oracle_entries(&t, dev).is_empty(), "{dev}");
        assert!(h.fdb(&FdbFilter::link(dev)).unwrap().is_empty(), "{dev}");
    }

    // A bridge selector on a VXLAN device: refused before anything is sent.
    let e = h
        .flush_fdb(
            "vx4",
            &FdbFlush {
                vlan: Some(VlanId::new(10).unwrap()),
                ..FdbFlush::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { arg: "vlan", .. }), "{e}");

    // A device that does not exist: not found, naming it.
    let e = h.flush_fdb("nosuchdev", &FdbFlush::default()).unwrap_err();
    assert!(
        e.is_not_found() && e.to_string().contains("nosuchdev"),
        "{e}"
    );
}

/// A bridge's entries flushed by port and by state, as `bridge fdb flush dev br0 brport P
/// static` does, checked against `bridge fdb show br br0`.
#[test]
fn bridge_flush_by_port_and_state() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_bridge(&NewBridge::new("br0")).unwrap();
    for (p, b) in [("p0", "p0b"), ("p1", "p1b")] {
        h.add_veth(&NewVeth::new(p, b)).unwrap();
        h.set_link_master(p, "br0").unwrap();
    }
    let ours = |m: &str, state: FdbState| NewFdbEntry {
        target: FdbTarget::Master,
        state,
        ..NewFdbEntry::new(mac(m))
    };
    let entries = [
        ("p0", "02:00:00:00:bb:01", FdbState::Static),
        ("p0", "02:00:00:00:bb:02", FdbState::Static),
        ("p1", "02:00:00:00:bb:03", FdbState::Static),
        ("p1", "02:00:00:00:bb:04", FdbState::Permanent),
    ];
    for (p, m, s) in entries {
        h.add_fdb(p, &ours(m, s)).unwrap();
    }
    // Our test entries as bridge fdb shows them: "MAC PORT STATE".
    let shown = || {
        let mut v: Vec<String> = fdb_json(&t, &["br", "br0"])
            .iter()
            .filter(|e| e["mac"].as_str().unwrap().starts_with("02:00:00:00:bb:"))
            .map(|e| {
                format!(
                    "{} {} {}",
                    e["mac"].as_str().unwrap(),
                    e["ifname"].as_str().unwrap(),
                    e["state"].as_str().unwrap()
                )
            })
            .collect();
        v.sort();
        // Linux 6.1 lists a port's entries twice under `br br0` (the bridge's and the port's).
        v.dedup();
        v
    };
    assert_eq!(
        shown(),
        [
            "02:00:00:00:bb:01 p0 static",
            "02:00:00:00:bb:02 p0 static",
            "02:00:00:00:bb:03 p1 static",
            "02:00:00:00:bb:04 p1 permanent",
        ]
    );

    // The static entries of one port.
    h.flush_fdb(
        "br0",
        &FdbFlush {
            brport: Some("p1".into()),
            state: Some(FdbState::Static),
            ..FdbFlush::default()
        },
    )
    .unwrap();
    assert_eq!(
        shown(),
        [
            "02:00:00:00:bb:01 p0 static",
            "02:00:00:00:bb:02 p0 static",
            "02:00:00:00:bb:04 p1 permanent",
        ]
    );
    // The static entries of p0, from the port's side (`master`: its bridge's table).
    h.flush_fdb(
        "p0",
        &FdbFlush {
            target: FdbTarget::Master,
            state: Some(FdbState::Static),
            ..FdbFlush::default()
        },
    )
    .unwrap();
    assert_eq!(shown(), ["02:00:00:00:bb:04 p1 permanent"]);

    // A VXLAN selector on a bridge: refused before anything is sent, nothing deleted.
    let e = h
        .flush_fdb(
            "br0",
            &FdbFlush {
                dst: Some(ip("192.0.2.1")),
                ..FdbFlush::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { arg: "dst", .. }), "{e}");
    assert!(e.to_string().contains("br0"), "{e}");
    assert_eq!(shown(), ["02:00:00:00:bb:04 p1 permanent"]);
}

/// A device whose driver has no bulk delete (macvlan: the multicast MACs of its own table):
/// `flush_fdb` lists and deletes instead, with the same selection; checked against `bridge fdb
/// show dev mv0`.
#[test]
fn flush_without_bulk_delete_lists_and_deletes() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("u0", "u1")).unwrap();
    // Left down, so that the kernel joins no multicast group of its own on it.
    h.add_macvlan(&NewMacvlan::new("mv0", "u0", MacvlanMode::Bridge))
        .unwrap();
    let groups = [
        "01:00:5e:00:00:07",
        "01:00:5e:00:00:08",
        "33:33:00:00:00:09",
    ];
    for g in groups {
        h.add_fdb("mv0", &NewFdbEntry::new(mac(g))).unwrap();
    }
    let shown = || {
        // Ours only: the kernel adds 33:33:00:00:00:01 (IPv6 all-nodes) at registration.
        let mut v: Vec<String> = fdb_json(&t, &["dev", "mv0"])
            .iter()
            .map(|e| e["mac"].as_str().unwrap().to_string())
            .filter(|m| groups.contains(&m.as_str()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(shown(), groups);

    // A state they are not in: nothing goes.
    h.flush_fdb(
        "mv0",
        &FdbFlush {
            state: Some(FdbState::Dynamic),
            ..FdbFlush::default()
        },
    )
    .unwrap();
    assert_eq!(shown(), groups);
    h.flush_fdb("mv0", &FdbFlush::default()).unwrap();
    assert!(shown().is_empty(), "{:?}", shown());
}
