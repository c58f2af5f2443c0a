//! Root tests for bonds and their ports, checked against `ip -j -d link`, and an active-backup
//! bond of two veths that keeps passing traffic when its active port goes down. Kernels
//! without the bonding module skip them.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::TestNs;
use netplumb::link::{
    BondAggregatorSelect, BondHashPolicy, BondMiiStatus, BondMode, BondPortConfig, BondPortState,
    LinkKind, NewBond, NewBridge, NewVeth,
};
use netplumb::{Handle, IfIndex};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn bond_of(h: &Handle, name: &str) -> netplumb::link::Bond {
    match h.link(name).unwrap().kind {
        Some(LinkKind::Bond(b)) => b,
        other => panic!("{name} is not a bond: {other:?}"),
    }
}

#[test]
fn lacp_bond_with_every_option_and_its_ports() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let b = NewBond {
        miimon: Some(ms(100)),
        updelay: Some(ms(200)),
        downdelay: Some(ms(300)),
        xmit_hash_policy: Some(BondHashPolicy::Layer34),
        min_links: Some(1),
        lacp_rate_fast: Some(true),
        ad_select: Some(BondAggregatorSelect::Bandwidth),
        mtu: Some(1400),
        ..NewBond::new("bond0", BondMode::Lacp)
    };
    skip_if_unsupported!(h.add_bond(&b)).unwrap();
    let ip = t.ip_link("bond0").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "bond");
    assert_eq!(ip["mtu"], 1400);
    let d = &ip["linkinfo"]["info_data"];
    assert_eq!(d["mode"], "802.3ad");
    assert_eq!(d["miimon"], 100);
    assert_eq!(d["updelay"], 200);
    assert_eq!(d["downdelay"], 300);
    assert_eq!(d["xmit_hash_policy"], "layer3+4");
    assert_eq!(d["min_links"], 1);
    assert_eq!(d["ad_lacp_rate"], "fast");
    assert_eq!(d["ad_select"], "bandwidth");

    let info = bond_of(h, "bond0");
    assert_eq!(info.mode, BondMode::Lacp);
    assert_eq!(
        (info.miimon, info.updelay, info.downdelay),
        (ms(100), ms(200), ms(300))
    );
    assert_eq!(info.xmit_hash_policy, BondHashPolicy::Layer34);
    assert_eq!(info.min_links, 1);
    assert!(info.lacp_rate_fast);
    assert_eq!(info.ad_select, BondAggregatorSelect::Bandwidth);

    // Two ports, enslaved with `master`; they report their part in the bond.
    for (port, peer) in [("p0", "q0"), ("p1", "q1")] {
        h.add_veth(&NewVeth::new(port, peer)).unwrap();
        let mac = h.link(port).unwrap().mac;
        h.set_link_master(port, "bond0").unwrap();
        h.set_link_up(peer).unwrap();
        let link = h.link(port).unwrap();
        assert_eq!(link.master, Some(h.link_index("bond0").unwrap()));
        let bp = link.bond_port.expect("a bond port");
        assert_eq!(bp.perm_hwaddr, mac);
        assert_eq!(bp.queue_id, 0);
        let ip = t.ip_link(port).unwrap();
        assert_eq!(ip["linkinfo"]["info_slave_kind"], "bond");
        let sd = &ip["linkinfo"]["info_slave_data"];
        assert_eq!(sd["perm_hwaddr"], mac.unwrap().to_string());
        assert_eq!(sd["queue_id"], 0);
        assert_eq!(
            sd["state"],
            match bp.state {
                BondPortState::Active => "ACTIVE",
                BondPortState::Backup => "BACKUP",
                _ => "?",
            }
        );
        assert_eq!(sd["link_failure_count"], bp.link_failure_count);
        if let Some(agg) = bp.ad_aggregator_id {
            assert_eq!(sd["ad_aggregator_id"], agg);
        }
    }
    h.set_link_up("bond0").unwrap();

    // Changed after creation: what is set changes, the rest stays.
    h.set_bond(&NewBond {
        name: "bond0".into(),
        miimon: Some(ms(200)),
        min_links: Some(2),
        xmit_hash_policy: Some(BondHashPolicy::Layer23),
        ..NewBond::default()
    })
    .unwrap();
    let d = &t.ip_link("bond0").unwrap()["linkinfo"]["info_data"];
    assert_eq!(d["miimon"], 200);
    assert_eq!(d["min_links"], 2);
    assert_eq!(d["xmit_hash_policy"], "layer2+3");
    assert_eq!(d["ad_select"], "bandwidth");
    let info = bond_of(h, "bond0");
    assert_eq!((info.miimon, info.min_links), (ms(200), 2));
    assert_eq!(info.ad_select, BondAggregatorSelect::Bandwidth);
    // A port's own queue id.
    h.set_bond_port(
        "p0",
        &BondPortConfig {
            queue_id: Some(3),
            ..BondPortConfig::default()
        },
    )
    .unwrap();
    assert_eq!(h.link("p0").unwrap().bond_port.unwrap().queue_id, 3);
    assert_eq!(
        t.ip_link("p0").unwrap()["linkinfo"]["info_slave_data"]["queue_id"],
        3
    );

    // Released with nomaster, the port reports no bond part.
    h.set_link_nomaster("p1").unwrap();
    assert!(h.link("p1").unwrap().bond_port.is_none());
    h.delete_link("bond0").unwrap();
    assert!(t.ip_link("bond0").is_none());
}

#[test]
fn active_backup_bond_with_arp_monitoring() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("p0", "q0")).unwrap();
    let b = NewBond {
        arp_interval: Some(ms(250)),
        arp_ip_targets: vec!["10.9.0.1".parse().unwrap(), "10.9.0.2".parse().unwrap()],
        primary: Some("p0".into()),
        ..NewBond::new("bond1", BondMode::ActiveBackup)
    };
    skip_if_unsupported!(h.add_bond(&b)).unwrap();
    h.set_link_master("p0", "bond1").unwrap();
    let d = &t.ip_link("bond1").unwrap()["linkinfo"]["info_data"];
    assert_eq!(d["mode"], "active-backup");
    assert_eq!(d["arp_interval"], 250);
    assert_eq!(
        d["arp_ip_target"],
        serde_json::json!(["10.9.0.1", "10.9.0.2"])
    );
    assert_eq!(d["primary"], "p0");
    let info = bond_of(h, "bond1");
    assert_eq!(info.arp_interval, ms(250));
    assert_eq!(info.arp_ip_targets, b.arp_ip_targets);
    assert_eq!(info.primary, Some(h.link_index("p0").unwrap()));

    // Options of another mode are refused against the bond's current mode, before sending.
    common::assert_invalid(
        h.set_bond(&NewBond {
            name: "bond1".into(),
            lacp_rate_fast: Some(true),
            ..NewBond::default()
        }),
        "lacp_rate_fast",
    );
    // A port's priority (active-backup, Linux 6.0).
    h.set_bond_port(
        "p0",
        &BondPortConfig {
            prio: Some(5),
            ..BondPortConfig::default()
        },
    )
    .unwrap();
    assert_eq!(h.link("p0").unwrap().bond_port.unwrap().prio, Some(5));
}

#[test]
fn bond_bad_input_creates_nothing() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let before = t.ip_link_names(&[]);
    common::assert_invalid(
        h.add_bond(&NewBond {
            lacp_rate_fast: Some(true),
            ..NewBond::new("bb0", BondMode::ActiveBackup)
        }),
        "lacp_rate_fast",
    );
    common::assert_invalid(
        h.add_bond(&NewBond {
            miimon: Some(ms(100)),
            downdelay: Some(ms(150)),
            ..NewBond::new("bb1", BondMode::ActiveBackup)
        }),
        "downdelay",
    );
    common::assert_invalid(
        h.add_bond(&NewBond {
            miimon: Some(Duration::from_secs(1 << 31)),
            ..NewBond::new("bb2", BondMode::BalanceRr)
        }),
        "miimon",
    );
    common::assert_invalid(
        h.add_bond(&NewBond {
            arp_interval: Some(ms(100)),
            arp_ip_targets: (1..=17).map(|i| [10, 0, 0, i].into()).collect(),
            ..NewBond::new("bb3", BondMode::ActiveBackup)
        }),
        "arp_ip_targets",
    );
    assert_eq!(t.ip_link_names(&[]), before);
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(ms(50));
    }
}

#[test]
fn an_active_backup_bond_keeps_passing_traffic_when_a_port_goes_down() {
    require_root!();
    // A: bond0 over a0 and a1; B: a bridge over their peers b0 and b1.
    let a = TestNs::new();
    let b = TestNs::new();
    let bond = NewBond {
        miimon: Some(ms(50)),
        ..NewBond::new("bond0", BondMode::ActiveBackup)
    };
    skip_if_unsupported!(a.handle.add_bond(&bond)).unwrap();
    b.handle.add_bridge(&NewBridge::new("br0")).unwrap();
    for (ours, theirs) in [("a0", "b0"), ("a1", "b1")] {
        let mut veth = NewVeth::new(ours, theirs);
        veth.peer.netns = Some(&b.ns);
        a.handle.add_veth(&veth).unwrap();
        a.handle.set_link_master(ours, "bond0").unwrap();
        b.handle.set_link_master(theirs, "br0").unwrap();
        b.handle.set_link_up(theirs).unwrap();
    }
    a.handle
        .add_address("bond0", &"10.1.0.1/24".parse().unwrap())
        .unwrap();
    b.handle
        .add_address("br0", &"10.1.0.2/24".parse().unwrap())
        .unwrap();
    a.handle.set_link_up("bond0").unwrap();
    b.handle.set_link_up("br0").unwrap();
    wait_for("an active port", || {
        bond_of(&a.handle, "bond0").active_port.is_some()
    });

    let server =
        netplumb_lab::EchoServer::start(&b.ns, SocketAddr::new("10.1.0.2".parse().unwrap(), 7000))
            .unwrap();
    let from: IpAddr = "10.1.0.1".parse().unwrap();
    let echo = || netplumb_lab::udp_echo(&a.ns, from, server.addr(), 20, ms(200));
    echo().unwrap();

    // The active port goes down: the bond fails over to the other one and traffic still flows.
    let active: IfIndex = bond_of(&a.handle, "bond0").active_port.unwrap();
    let failed = a.handle.link(active).unwrap();
    a.handle.set_link_down(active).unwrap();
    wait_for("failover", || {
        bond_of(&a.handle, "bond0")
            .active_port
            .is_some_and(|p| p != active)
    });
    let failed = a.handle.link(failed.index).unwrap().bond_port.unwrap();
    assert_eq!(failed.mii_status, BondMiiStatus::Down);
    let now = bond_of(&a.handle, "bond0").active_port.unwrap();
    let port = a.handle.link(now).unwrap();
    assert_eq!(port.bond_port.unwrap().state, BondPortState::Active);
    assert_eq!(
        t_state(&a, &port.name.to_string()),
        "ACTIVE",
        "iproute2 agrees on the new active port"
    );
    let before = port.stats.unwrap().tx_packets;
    echo().unwrap();
    let after = a.handle.link(now).unwrap().stats.unwrap().tx_packets;
    assert!(after > before, "the echo left by the new active port");
}

fn t_state(t: &TestNs, port: &str) -> String {
    t.ip_link(port).unwrap()["linkinfo"]["info_slave_data"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
