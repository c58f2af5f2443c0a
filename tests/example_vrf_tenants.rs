//! Runs the `vrf_tenants` example as a root test: two tenants with the same subnets on one
//! host, isolated by VRFs. A kernel without VRF support reports a skip (the kernel-VM tier runs
//! it on Debian's stock kernel).

mod common;

#[allow(dead_code)]
#[path = "../examples/vrf_tenants.rs"]
mod vrf_tenants;

use std::net::{IpAddr, Ipv4Addr};

use common::{assert_lab_gone, unique_name, OnDrop};
use netplumb::TableId;
use vrf_tenants::Options;

#[test]
fn vrf_tenants_are_isolated() {
    require_root!();
    let prefix = unique_name("np-t-vrf");
    let p = prefix.clone();
    let _sweep = OnDrop(move || {
        let _ = netplumb_lab::sweep(&p);
    });
    let result = vrf_tenants::run(&Options {
        prefix: prefix.clone(),
        ..Options::default()
    });
    assert_lab_gone(&prefix);
    let s = match result {
        Err(e)
            if e.downcast_ref::<netplumb::Error>()
                .is_some_and(netplumb::Error::is_unsupported) =>
        {
            common::report_skip(&common::test_name(), &e.to_string());
            return;
        }
        other => other.unwrap(),
    };
    let server = Ipv4Addr::new(10, 2, 0, 2);
    let extra = Ipv4Addr::new(10, 3, 0, 2);

    // Two VRFs with their own tables; only tenant A's has the extra prefix.
    let names: Vec<_> = s.vrfs.iter().map(|(n, t, _)| (n.as_str(), *t)).collect();
    assert_eq!(
        names,
        [
            ("tenant-a", TableId::new(10)),
            ("tenant-b", TableId::new(20))
        ]
    );
    assert!(s.vrfs[0].2.contains(&"10.3.0.0/24".to_string()), "{s:?}");
    assert!(!s.vrfs[1].2.contains(&"10.3.0.0/24".to_string()), "{s:?}");
    for (_, _, prefixes) in &s.vrfs {
        assert!(
            prefixes.contains(&"10.2.0.0/24".to_string()),
            "{prefixes:?}"
        );
        assert!(
            prefixes.contains(&"10.1.0.0/24".to_string()),
            "{prefixes:?}"
        );
    }

    // route get … vrf X: X's server link, X's table.
    for (vrf, table, dev) in [("tenant-a", 10, "a-srv"), ("tenant-b", 20, "b-srv")] {
        let l = s.lookup(Some(vrf), server).unwrap();
        let (t, d, _) = l.result.as_ref().unwrap();
        assert_eq!((*t, d.as_str()), (TableId::new(table), dev), "{l:?}");
    }
    // A packet from each client is forwarded within its tenant.
    let forwarded: Vec<_> = s
        .lookups
        .iter()
        .filter(|l| l.command.contains("iif"))
        .map(|l| l.result.clone().unwrap())
        .collect();
    assert_eq!(forwarded.len(), 2);
    assert_eq!(
        (forwarded[0].0, forwarded[0].1.as_str()),
        (TableId::new(10), "a-srv")
    );
    assert_eq!(
        (forwarded[1].0, forwarded[1].1.as_str()),
        (TableId::new(20), "b-srv")
    );
    // The extra prefix: A routes it via its server, B does not, nor do the host's own tables.
    let a = s.lookup(Some("tenant-a"), extra).unwrap();
    assert_eq!(
        a.result.as_ref().unwrap().2,
        Some(IpAddr::V4(server)),
        "{a:?}"
    );
    assert!(s.lookup(Some("tenant-b"), extra).unwrap().result.is_err());
    assert!(s.lookup(None, server).unwrap().result.is_err());
    assert!(s.lookup(None, extra).unwrap().result.is_err());

    // Traffic: answered by the sender's own tenant, never the other.
    for tenant in ["tenant-a", "tenant-b"] {
        let p = s.probe(tenant, server).unwrap();
        assert_eq!(p.answered_by.as_deref(), Ok(tenant), "{p:?}");
    }
    assert_eq!(
        s.probe("tenant-a", extra).unwrap().answered_by.as_deref(),
        Ok("tenant-a")
    );
    let blocked = s.probe("tenant-b", extra).unwrap();
    // Refused by tenant B's VRF: its `unreachable default` answers with ICMP host unreachable.
    assert!(
        blocked
            .answered_by
            .as_ref()
            .is_err_and(|e| e.contains("No route to host")),
        "{blocked:?}"
    );
    // Each server saw only its own tenant's datagrams: A's the two probes (server and extra
    // service), B's one.
    for served in &s.served {
        assert_eq!(served.foreign, 0, "{served:?}");
        let sent: u32 = s
            .probes
            .iter()
            .filter(|p| p.from == served.tenant && p.answered_by.is_ok())
            .map(|p| p.attempts)
            .sum();
        assert!(
            served.datagrams >= 1 && served.datagrams <= u64::from(sent),
            "{served:?}, {sent} answered datagrams sent"
        );
    }
}
