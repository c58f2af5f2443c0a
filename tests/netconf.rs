//! Root tests for per-namespace settings (`NetNs::conf`), netconf records and events, and the
//! IPv6 DAD wait, checked against `ip -j netconf show` and the files as `cat` reads them
//! inside the namespace.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_invalid, TestNs};
use netplumb::link::NewVeth;
use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
use netplumb::netconf::{ConfKnob, ConfScope, NetconfScope};
use netplumb::{Error, IpFamily};

/// A namespace with the veth pair `v0`/`v1`, both up.
fn setup() -> TestNs {
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    t.handle.set_link_up("v0").unwrap();
    t.handle.set_link_up("v1").unwrap();
    t
}

/// The file as a separate `cat` process inside the namespace reads it.
fn cat(t: &TestNs, path: &str) -> String {
    let out =
        t.ns.run(|| Command::new("cat").arg(path).output())
            .unwrap()
            .unwrap();
    assert!(out.status.success(), "cat {path}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn path(knob: ConfKnob, dir: &str) -> String {
    let fam = match knob.family() {
        IpFamily::V4 => "ipv4",
        IpFamily::V6 => "ipv6",
    };
    format!("/proc/sys/net/{fam}/conf/{dir}/{}", knob.name())
}

/// A value of each knob other than its default, valid for it.
fn other_value(knob: ConfKnob, now: i32) -> i32 {
    let candidates: &[i32] = match knob {
        ConfKnob::RpFilter | ConfKnob::ArpAnnounce | ConfKnob::AcceptRa | ConfKnob::AcceptDad => {
            &[2, 1, 0]
        }
        ConfKnob::ArpIgnore => &[8, 2, 0],
        ConfKnob::AddrGenMode => &[3, 1, 0],
        _ => &[1, 0],
    };
    *candidates.iter().find(|v| **v != now).unwrap()
}

#[test]
fn every_knob_reads_and_writes_as_the_file_shows() {
    require_root!();
    let t = setup();
    let host_forwarding =
        std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/forwarding").unwrap_or_default();
    for knob in ConfKnob::ALL {
        for (scope, dir) in [
            (ConfScope::Link("v0"), "v0"),
            (ConfScope::Default, "default"),
            (ConfScope::All, "all"),
        ] {
            let now = t.ns.conf(scope, knob).unwrap();
            assert_eq!(now.to_string(), cat(&t, &path(knob, dir)), "{knob:?} {dir}");
            // addr_gen_mode of `all` is not a setting of its own on every kernel.
            if knob == ConfKnob::AddrGenMode && dir == "all" {
                continue;
            }
            let v = other_value(knob, now);
            t.ns.set_conf(scope, knob, v)
                .unwrap_or_else(|e| panic!("{knob:?} {dir} = {v}: {e}"));
            assert_eq!(t.ns.conf(scope, knob).unwrap(), v, "{knob:?} {dir}");
            assert_eq!(cat(&t, &path(knob, dir)), v.to_string(), "{knob:?} {dir}");
        }
    }
    // Nothing of it reached the machine's own namespace.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/forwarding").unwrap_or_default(),
        host_forwarding
    );
}

#[test]
fn bad_settings_are_refused_with_nothing_changed() {
    require_root!();
    let t = setup();
    let before = cat(&t, "/proc/sys/net/ipv4/conf/v0/rp_filter");
    assert_invalid(
        t.ns.set_conf(ConfScope::Link("v0"), ConfKnob::RpFilter, 3),
        "value",
    );
    assert_invalid(
        t.ns.set_conf(ConfScope::Link("v0"), ConfKnob::Ipv4Forwarding, -1),
        "value",
    );
    assert_invalid(
        t.ns.set_conf(ConfScope::Link("../all"), ConfKnob::RpFilter, 1),
        "link",
    );
    assert_invalid(
        t.ns.conf(ConfScope::Link("all"), ConfKnob::RpFilter),
        "link",
    );
    let e =
        t.ns.set_conf(ConfScope::Link("nosuch0"), ConfKnob::RpFilter, 1)
            .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e =
        t.ns.conf(ConfScope::Link("nosuch0"), ConfKnob::AcceptRa)
            .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(cat(&t, "/proc/sys/net/ipv4/conf/v0/rp_filter"), before);
}

#[test]
fn netconf_records_match_ip_netconf_show() {
    require_root!();
    let t = setup();
    t.ns.set_conf(ConfScope::Link("v0"), ConfKnob::Ipv4Forwarding, 1)
        .unwrap();
    t.ns.set_conf(ConfScope::Link("v0"), ConfKnob::RpFilter, 2)
        .unwrap();
    t.ns.set_conf(ConfScope::Link("v1"), ConfKnob::ProxyArp, 1)
        .unwrap();
    let index_of = |name: &str| t.handle.link_index(name).unwrap();
    for (family, flag) in [(IpFamily::V4, "-4"), (IpFamily::V6, "-6")] {
        let ours = t.handle.netconf(family).unwrap();
        let theirs = t.ip(&["-j", flag, "netconf", "show"]);
        let theirs = theirs.as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{family:?}");
        for j in theirs {
            let scope = match j["interface"].as_str().unwrap() {
                "all" => NetconfScope::All,
                "default" => NetconfScope::Default,
                name => NetconfScope::Link(index_of(name)),
            };
            let n = ours
                .iter()
                .find(|n| n.scope == scope)
                .unwrap_or_else(|| panic!("no record for {j}"));
            assert_eq!(n.forwarding, j["forwarding"].as_bool(), "{j}");
            assert_eq!(n.proxy_neigh, j["proxy_neigh"].as_bool(), "{j}");
            let rp = match j["rp_filter"].as_str() {
                Some("off") => Some(0),
                Some("strict") => Some(1),
                Some("loose") => Some(2),
                _ => None,
            };
            assert_eq!(n.rp_filter, rp, "{j}");
        }
    }
    let v4 = t.handle.netconf(IpFamily::V4).unwrap();
    let v0 = v4
        .iter()
        .find(|n| n.scope == NetconfScope::Link(index_of("v0")))
        .unwrap();
    assert_eq!((v0.forwarding, v0.rp_filter), (Some(true), Some(2)));
    let streamed: Vec<_> = t
        .handle
        .netconf_iter(IpFamily::V4)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, v4);
}

#[test]
fn the_monitor_reports_netconf_changes() {
    require_root!();
    let t = setup();
    let mut m = Monitor::new_in(
        &t.ns,
        &MonitorOptions {
            groups: Groups::NETCONF,
            snapshot: true,
            ..MonitorOptions::default()
        },
    )
    .unwrap();
    let v0 = t.handle.link_index("v0").unwrap();
    t.ns.set_conf(ConfScope::Link("v0"), ConfKnob::Ipv4Forwarding, 1)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut snapshot = 0;
    loop {
        assert!(Instant::now() < deadline, "no netconf change within 10 s");
        match m.recv_timeout(Duration::from_millis(200)).unwrap() {
            Some(Event::Netconf(Change::Added(_))) => snapshot += 1,
            Some(Event::Netconf(Change::Changed(n)))
                if n.scope == NetconfScope::Link(v0) && n.family == IpFamily::V4 =>
            {
                assert_eq!(n.forwarding, Some(true));
                break;
            }
            _ => {}
        }
    }
    // The snapshot listed every record of both families first.
    let total = t.handle.netconf(IpFamily::V4).unwrap().len()
        + t.handle.netconf(IpFamily::V6).unwrap().len();
    assert_eq!(snapshot, total);
}

#[test]
fn waiting_for_dad() {
    require_root!();
    let t = setup();
    let h = &t.handle;
    // v0's address goes through DAD: tentative at first, ready within the kernel's second.
    h.add_address("v0", &"fd00::1/64".parse().unwrap()).unwrap();
    let a = h
        .wait_address_ready("v0", "fd00::1".parse().unwrap(), Duration::from_secs(10))
        .unwrap();
    assert!(!a.flags.contains(netplumb::addr::AddressFlags::TENTATIVE));
    let j = t.ip(&["-j", "-6", "addr", "show", "dev", "v0"]);
    let info = j[0]["addr_info"].as_array().unwrap();
    let ours = info.iter().find(|i| i["local"] == "fd00::1").unwrap();
    assert!(ours.get("tentative").is_none(), "{ours}");

    // The same address on the other end of the pair: DAD fails.
    h.add_address("v1", &"fd00::1/64".parse().unwrap()).unwrap();
    let e = h
        .wait_address_ready("v1", "fd00::1".parse().unwrap(), Duration::from_secs(10))
        .unwrap_err();
    assert!(matches!(e, Error::Exists { .. }), "{e:?}");

    // On a link that is down, an address stays tentative: the wait times out.
    h.set_link_down("v0").unwrap();
    h.add_address("v0", &"fd00::5/64".parse().unwrap()).unwrap();
    let e = h
        .wait_address_ready("v0", "fd00::5".parse().unwrap(), Duration::from_millis(300))
        .unwrap_err();
    match &e {
        Error::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::TimedOut),
        other => panic!("{other:?}"),
    }
    let e = h
        .wait_address_ready("v0", "fd00::9".parse().unwrap(), Duration::from_millis(300))
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}
