//! Root tests for namespace ids, checked against `ip -j netns list-id` and `ip -j link`'s
//! `link_netnsid`.

mod common;

use std::time::{Duration, Instant};

use common::{assert_invalid, unique_name, OnDrop};
use netplumb::link::{NewVeth, VethPeer};
use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
use netplumb::nsid::Nsid;
use netplumb::{Error, Handle, NetNs};

/// Two named namespaces (`netns_of_id` finds named ones), deleted when the guard drops.
fn two_named() -> (NetNs, NetNs, impl Drop) {
    let a = unique_name("np-nsid-a");
    let b = unique_name("np-nsid-b");
    let na = NetNs::create(&a).unwrap();
    let nb = NetNs::create(&b).unwrap();
    let guard = OnDrop(move || {
        let _ = NetNs::delete(&a);
        let _ = NetNs::delete(&b);
    });
    (na, nb, guard)
}

fn list_id(ns: &NetNs) -> Vec<serde_json::Value> {
    common::run_json(ns, "ip", &["-j", "netns", "list-id"])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn ids_are_assigned_listed_and_resolved() {
    require_root!();
    let (a, b, _guard) = two_named();
    let h = Handle::new_in(&a).unwrap();
    assert_eq!(h.netns_id(&b).unwrap(), None);
    assert!(h.netns_ids().unwrap().is_empty());
    let id = h.assign_netns_id(&b, Some(7)).unwrap();
    assert_eq!(id, Nsid { id: 7 });
    assert_eq!(h.netns_id(&b).unwrap(), Some(id));
    // Asking again for the id it has is fine; another id is the kernel's refusal.
    assert_eq!(h.assign_netns_id(&b, Some(7)).unwrap(), id);
    let e = h.assign_netns_id(&b, Some(8)).unwrap_err();
    assert!(matches!(e, Error::Kernel { .. }), "{e:?}");
    assert_invalid(h.assign_netns_id(&b, Some(-3)), "id");
    // iproute2's view from inside a.
    let ids = list_id(&a);
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0]["nsid"], 7);
    assert_eq!(h.netns_ids().unwrap(), [id]);
    // Resolved back to b.
    let found = h.netns_of_id(id).unwrap().unwrap();
    assert_eq!(found.inode().unwrap(), b.inode().unwrap());
    assert!(h.netns_of_id(Nsid { id: 99 }).unwrap().is_none());
    // b knows nothing of a yet; the kernel picks an id when asked for none.
    let hb = Handle::new_in(&b).unwrap();
    let auto = hb.assign_netns_id(&a, None).unwrap();
    assert_eq!(hb.netns_id(&a).unwrap(), Some(auto));
    assert_eq!(list_id(&b)[0]["nsid"], auto.id);
}

#[test]
fn a_veth_peer_elsewhere_is_named_by_an_id_that_resolves() {
    require_root!();
    let (a, b, _guard) = two_named();
    let h = Handle::new_in(&a).unwrap();
    h.add_veth(&NewVeth {
        peer: VethPeer {
            name: "p1".into(),
            netns: Some(&b),
            ..VethPeer::default()
        },
        ..NewVeth::new("p0", "p1")
    })
    .unwrap();
    let link = h.link("p0").unwrap();
    let id = link.link_netnsid.expect("the peer is in another namespace");
    let j = common::run_json(&a, "ip", &["-j", "link", "show", "dev", "p0"]);
    assert_eq!(j[0]["link_netnsid"], id);
    assert_eq!(h.netns_id(&b).unwrap(), Some(Nsid { id }));
    let ns = h.netns_of_id(Nsid { id }).unwrap().unwrap();
    assert_eq!(ns.inode().unwrap(), b.inode().unwrap());
}

#[test]
fn the_monitor_reports_new_ids() {
    require_root!();
    let (a, b, _guard) = two_named();
    let h = Handle::new_in(&a).unwrap();
    let mut m = Monitor::new_in(
        &a,
        &MonitorOptions {
            groups: Groups::NSID,
            ..MonitorOptions::default()
        },
    )
    .unwrap();
    h.assign_netns_id(&b, Some(3)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no nsid event within 10 s");
        if let Some(Event::Nsid(c)) = m.recv_timeout(Duration::from_millis(200)).unwrap() {
            assert_eq!(c, Change::Added(Nsid { id: 3 }));
            break;
        }
    }
}
