//! Root tests for names the kernel holds as bytes that are not UTF-8: an interface name, an
//! alias, an alternative name and an address label made with `ip` from raw bytes. Every
//! listing, look-up, monitor snapshot and event must still work and report the exact bytes,
//! compared with iproute2's JSON (which prints the raw bytes; read here byte for byte).

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestNs;
use netplumb::addr::AddressFilter;
use netplumb::link::{Link, LinkFilter, LinkFlags};
use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
use netplumb::LinkRef;
use serde_json::Value;

const ODD: &[u8] = b"bad\xff\xfe";
const ALIAS: &[u8] = b"\xff";
const LABEL: &[u8] = b"p0:\xff";

/// Runs `ip ARGS…` in the namespace, with arguments given as bytes; its stdout.
fn ip_raw(t: &TestNs, args: &[&[u8]]) -> Vec<u8> {
    let out =
        t.ns.run(|| {
            Command::new("ip")
                .args(args.iter().map(|a| OsStr::from_bytes(a)))
                .output()
        })
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {:?} failed: {}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// iproute2's JSON, whose strings hold the kernel's raw bytes (not valid UTF-8): each byte is
/// read as the character of the same number, so `bytes_of` gives the bytes back exactly.
fn ip_json(t: &TestNs, args: &[&[u8]]) -> Value {
    let text: String = ip_raw(t, args).iter().map(|&b| char::from(b)).collect();
    serde_json::from_str(&text).expect("ip -j prints JSON")
}

fn bytes_of(v: &Value) -> Vec<u8> {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a string"))
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

/// A veth pair `bad\xff\xfe` / `p0`.
fn odd_link() -> TestNs {
    let t = TestNs::new();
    ip_raw(
        &t,
        &[
            b"link", b"add", ODD, b"type", b"veth", b"peer", b"name", b"p0",
        ],
    );
    t
}

/// The odd veth pair, p0 with the alias `\xff`, the label `p0:\xff` on 10.0.0.1/24, and
/// (where the kernel has alternative names) the altname `alt\xff`.
fn odd_namespace() -> TestNs {
    let t = odd_link();
    odd_alias(&t);
    odd_label(&t);
    t
}

/// Gives p0 the alias `\xff` and, where the kernel has alternative names, `alt\xff`.
fn odd_alias(t: &TestNs) {
    ip_raw(t, &[b"link", b"set", b"p0", b"alias", ALIAS]);
    let _ = t.ns.run(|| {
        Command::new("ip")
            .args(["link", "property", "add", "dev", "p0", "altname"])
            .arg(OsStr::from_bytes(b"alt\xff"))
            .output()
    });
}

/// Adds 10.0.0.1/24 with the label `p0:\xff` to p0.
fn odd_label(t: &TestNs) {
    ip_raw(
        t,
        &[
            b"addr",
            b"add",
            b"10.0.0.1/24",
            b"dev",
            b"p0",
            b"label",
            LABEL,
        ],
    );
}

/// Checks every link's name and alias against `ip -j link show`.
fn same_as_iproute2(t: &TestNs, links: &[Link]) {
    let json = ip_json(t, &[b"-j", b"link", b"show"]);
    let json = json.as_array().unwrap();
    assert_eq!(json.len(), links.len());
    for l in json {
        let index = l["ifindex"].as_u64().unwrap();
        let mine = links
            .iter()
            .find(|m| u64::from(m.index.get()) == index)
            .unwrap();
        assert_eq!(bytes_of(&l["ifname"]), mine.name.as_bytes());
        let alias = l.get("ifalias").map(bytes_of);
        assert_eq!(alias.as_deref(), mine.alias.as_ref().map(|a| a.as_bytes()));
    }
}

#[test]
fn a_link_with_an_odd_name_is_listed_looked_up_and_deleted() {
    require_root!();
    let t = odd_link();
    let h = &t.handle;
    let links = h.links(&LinkFilter::default()).expect("links()");
    same_as_iproute2(&t, &links);
    let odd = links
        .iter()
        .find(|l| l.name.as_bytes() == ODD)
        .expect("the odd link is listed");
    let p0 = h.link("p0").expect("link(\"p0\")");
    assert_eq!(p0.link, Some(odd.index));
    let again = h.link(odd.index).expect("link(index)");
    assert_eq!(again.name.as_bytes(), ODD);
    assert_eq!(odd.name.to_string(), r"bad\xff\xfe");
    assert_eq!(odd.name.to_str(), None);
    // The name the listing returned names the link: sent as the kernel's bytes.
    let by_name = h.link(&odd.name).expect("link(&odd.name)");
    assert_eq!(by_name.index, odd.index);
    h.set_link_up(&odd.name)
        .expect("set the odd link up by its name");
    assert!(h.link(odd.index).unwrap().flags.contains(LinkFlags::UP));
    let e = h.link(LinkRef::NameBytes(b"gone\xff")).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains(r#"link "gone\xff""#), "{e}");
    // What the listing returned names the odd link well enough to delete it.
    h.delete_link(odd).expect("delete the odd link");
    let left = h.links(&LinkFilter::default()).unwrap();
    assert!(left.iter().all(|l| l.name.as_bytes() != ODD), "{left:?}");
    // Both ends went; what is left is what a new namespace has (lo, and fallback tunnels such
    // as tunl0 where their modules are loaded).
    let names = t.ip_link_names(&[]);
    assert!(names.iter().any(|n| n == "lo"), "{names:?}");
    assert!(!names.iter().any(|n| n == "p0"), "{names:?}");
    assert_eq!(names.len(), left.len(), "{names:?}");
}

#[test]
fn a_link_with_an_odd_alias_is_listed_and_looked_up_by_name() {
    require_root!();
    let t = TestNs::new();
    t.sh(
        "ip",
        &["link", "add", "v0", "type", "veth", "peer", "name", "p0"],
    );
    odd_alias(&t);
    let h = &t.handle;
    let links = h.links(&LinkFilter::default()).expect("links()");
    same_as_iproute2(&t, &links);
    let p0 = links.iter().find(|l| l.name == "p0").expect("p0 is listed");
    assert_eq!(p0.alias.as_ref().map(|a| a.as_bytes()), Some(ALIAS));
    let again = h.link("p0").expect("link(\"p0\")");
    assert_eq!(again.alias.as_ref().map(|a| a.as_bytes()), Some(ALIAS));
    assert_eq!(h.link_index("p0").expect("link_index(\"p0\")"), p0.index);
    h.set_link_up("p0").expect("set p0 up by name");
}

#[test]
fn an_address_with_an_odd_label_is_listed() {
    require_root!();
    let t = TestNs::new();
    t.sh(
        "ip",
        &["link", "add", "v0", "type", "veth", "peer", "name", "p0"],
    );
    odd_label(&t);
    let h = &t.handle;
    let addrs = h.addresses(&AddressFilter::default()).expect("addresses()");
    let a = addrs
        .iter()
        .find(|a| a.address.to_string() == "10.0.0.1/24")
        .expect("the address is listed");
    assert_eq!(a.label.as_ref().map(|l| l.as_bytes()), Some(LABEL));
    let json = ip_json(&t, &[b"-j", b"addr", b"show", b"dev", b"p0"]);
    let info = &json[0]["addr_info"][0];
    assert_eq!(info["local"], "10.0.0.1");
    assert_eq!(bytes_of(&info["label"]), LABEL);
    let on_p0 = h
        .addresses(&AddressFilter::link("p0"))
        .expect("addresses of p0");
    assert_eq!(on_p0.len(), 1);
}

fn read_until(m: &mut Monitor, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match m.recv_timeout(left).unwrap() {
            Some(e) => {
                let stop = done(&e);
                out.push(e);
                if stop {
                    return out;
                }
            }
            None => break,
        }
    }
    panic!("timed out; events so far: {out:#?}");
}

fn check_snapshot(events: &[Event]) {
    assert!(
        !events.iter().any(|e| matches!(e, Event::Malformed { .. })),
        "{events:#?}"
    );
    let link = |name: &[u8]| {
        events.iter().find_map(|e| match e {
            Event::Link(Change::Added(l)) if l.name.as_bytes() == name => Some(l.clone()),
            _ => None,
        })
    };
    assert!(link(ODD).is_some(), "{events:#?}");
    let p0 = link(b"p0").unwrap();
    assert_eq!(p0.alias.as_ref().map(|a| a.as_bytes()), Some(ALIAS));
    let label = events.iter().find_map(|e| match e {
        Event::Address(Change::Added(a)) if a.index == p0.index => a.label,
        _ => None,
    });
    assert_eq!(label.as_ref().map(|l| l.as_bytes()), Some(LABEL));
}

#[test]
fn monitor_snapshots_resyncs_and_events_carry_the_exact_bytes() {
    require_root!();
    let t = odd_namespace();
    let mut m = Monitor::new_in(
        &t.ns,
        &MonitorOptions {
            groups: Groups::LINK | Groups::ADDRESS_V4,
            snapshot: true,
            ..MonitorOptions::default()
        },
    )
    .expect("a monitor with a snapshot");
    let snap = read_until(&mut m, |e| matches!(e, Event::SnapshotDone));
    check_snapshot(&snap);

    // Live events: another odd alias (the kernel reports an alias change of a link that is
    // up), another odd label, a second odd link.
    ip_raw(&t, &[b"link", b"set", b"p0", b"up"]);
    ip_raw(&t, &[b"link", b"set", b"p0", b"alias", b"\xfe\xfd"]);
    ip_raw(
        &t,
        &[
            b"addr",
            b"add",
            b"10.0.1.1/24",
            b"dev",
            b"p0",
            b"label",
            b"p0:\xc0",
        ],
    );
    ip_raw(
        &t,
        &[
            b"link",
            b"add",
            b"odd2\x80",
            b"type",
            b"veth",
            b"peer",
            b"name",
            b"q0",
        ],
    );
    let live = read_until(
        &mut m,
        |e| matches!(e, Event::Link(Change::Added(l)) if l.name.as_bytes() == b"odd2\x80"),
    );
    assert!(
        !live.iter().any(|e| matches!(e, Event::Malformed { .. })),
        "{live:#?}"
    );
    assert!(live.iter().any(|e| matches!(e,
        Event::Link(Change::Changed(l))
            if l.name.as_bytes() == b"p0"
                && l.alias.as_ref().map(|a| a.as_bytes()) == Some(&b"\xfe\xfd"[..]))));
    assert!(live.iter().any(|e| matches!(e,
        Event::Address(Change::Added(a))
            if a.label.as_ref().map(|l| l.as_bytes()) == Some(&b"p0:\xc0"[..]))));

    m.resync().expect("resync()");
    let snap = read_until(&mut m, |e| matches!(e, Event::SnapshotDone));
    assert!(snap
        .iter()
        .any(|e| matches!(e, Event::Link(Change::Added(l)) if l.name.as_bytes() == b"odd2\x80")));
    assert!(
        !snap.iter().any(|e| matches!(e, Event::Malformed { .. })),
        "{snap:#?}"
    );
}

#[test]
fn a_rule_with_an_odd_interface_name_does_not_fail_the_listing() {
    require_root!();
    let t = TestNs::new();
    ip_raw(&t, &[b"rule", b"add", b"iif", ODD, b"table", b"100"]);
    let rules = t
        .handle
        .rules(&netplumb::rule::RuleFilter::default())
        .expect("rules()");
    // Rule::iif is text: a name that is not UTF-8 is reported with `?` for each byte from 0x80
    // up, the same length (its exact bytes are not kept for rules).
    let r = rules
        .iter()
        .find(|r| r.iif.is_some())
        .expect("the rule is listed");
    assert_eq!(r.iif.as_deref(), Some("bad??"));
}
