//! Bad input gets a clear error and changes nothing; kernel refusals keep their cause.

mod common;

use common::{assert_invalid, TestNs};
use netplumb::link::{NewBridge, NewVeth};
use netplumb::{Error, NetNs};

const SIXTEEN: &str = "sixteen-bytes-xx";

#[test]
fn long_interface_names_are_refused_before_sending() {
    require_root!();
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("ok0", "ok1")).unwrap();
    let before = t.ip(&["-j", "-d", "link", "show"]);
    assert_eq!(SIXTEEN.len(), 16);
    assert_invalid(t.handle.add_veth(&NewVeth::new(SIXTEEN, "x1")), "veth name");
    assert_invalid(
        t.handle.add_veth(&NewVeth::new("x0", SIXTEEN)),
        "veth peer name",
    );
    assert_invalid(t.handle.add_bridge(&NewBridge::new(SIXTEEN)), "bridge name");
    assert_invalid(t.handle.rename_link("ok0", SIXTEEN), "new name");
    assert_invalid(t.handle.link(SIXTEEN), "link name");
    assert_invalid(t.handle.delete_link(SIXTEEN), "link name");
    assert_invalid(t.handle.add_veth(&NewVeth::new("", "x1")), "veth name");
    assert_invalid(t.handle.add_veth(&NewVeth::new("a/b", "x1")), "veth name");
    // The error names the limit.
    let e = t.handle.add_veth(&NewVeth::new(SIXTEEN, "x1")).unwrap_err();
    assert!(e.to_string().contains("at most 15 bytes"), "{e}");
    assert_eq!(t.ip(&["-j", "-d", "link", "show"]), before);
}

#[test]
fn bad_namespace_names_are_refused() {
    require_root!();
    let before = NetNs::list().unwrap();
    for name in ["", "a/b", "/x", ".", ".."] {
        assert_invalid(NetNs::create(name), "namespace name");
        assert_invalid(NetNs::open(name), "namespace name");
        assert_invalid(NetNs::delete(name), "namespace name");
    }
    assert_eq!(NetNs::list().unwrap(), before);
}

#[test]
fn existing_and_missing_links() {
    require_root!();
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("d0", "d1")).unwrap();
    let before = t.ip(&["-j", "-d", "link", "show"]);

    let exists = t.handle.add_veth(&NewVeth::new("d0", "d9")).unwrap_err();
    assert!(exists.is_exists(), "{exists}");
    assert_eq!(exists.errno(), Some(nix::errno::Errno::EEXIST));
    assert!(matches!(exists, Error::Kernel { op: "add link", .. }));
    let exists = t.handle.add_bridge(&NewBridge::new("d1")).unwrap_err();
    assert!(exists.is_exists(), "{exists}");
    assert_eq!(t.ip(&["-j", "-d", "link", "show"]), before);

    let missing = t.handle.delete_link("nosuch0").unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(missing.to_string().contains("nosuch0"), "{missing}");
    let io: std::io::Error = missing.into();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(t.handle.set_link_up("nosuch0").unwrap_err().is_not_found());
    assert!(t
        .handle
        .set_link_master("d0", "nosuch0")
        .unwrap_err()
        .is_not_found());
    let by_index = netplumb::IfIndex::new(999_999).unwrap();
    assert!(t.handle.delete_link(by_index).unwrap_err().is_not_found());
    assert_eq!(t.ip(&["-j", "-d", "link", "show"]), before);
}

#[test]
fn kernel_explanation_reaches_display() {
    require_root!();
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("m0", "m1")).unwrap();
    let max = t
        .handle
        .link("m0")
        .unwrap()
        .max_mtu
        .expect("veth reports max_mtu");
    let e = t.handle.set_link_mtu("m0", max + 1).unwrap_err();
    assert_eq!(e.errno(), Some(nix::errno::Errno::EINVAL));
    assert_eq!(e.kernel_message(), Some("mtu greater than device maximum"));
    assert_eq!(
        e.to_string(),
        "set link mtu: Invalid argument (22): mtu greater than device maximum"
    );
    assert_eq!(t.ip_link("m0").unwrap()["mtu"], 1500);
}

#[test]
fn moving_onto_an_existing_name_is_refused() {
    require_root!();
    let a = TestNs::new();
    let b = TestNs::new();
    a.handle.add_veth(&NewVeth::new("same", "x1")).unwrap();
    b.handle.add_veth(&NewVeth::new("same", "y1")).unwrap();
    let e = a.handle.move_link_to_netns("same", &b.ns).unwrap_err();
    assert!(e.is_exists(), "{e}");
    assert!(a.ip_link("same").is_some());
}
