//! Bad input gets a clear error and changes nothing; kernel refusals keep their cause.

mod common;

use common::{assert_invalid, TestNs};
use netplumb::link::{MacvlanMode, NewBridge, NewIpip, NewMacvlan, NewVeth, NewVrf, NewVxlan};
use netplumb::{Error, NetNs, TableId, Vni};

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

/// Defect: an MTU of 2^31 or more reached the kernel, which reads `IFLA_MTU` into an `int`
/// and saw a negative MTU. Every request that carries an MTU refuses it before sending.
#[test]
fn mtu_of_2_pow_31_and_above_is_refused_before_sending() {
    require_root!();
    let t = TestNs::new();
    t.handle.add_veth(&NewVeth::new("m0", "m1")).unwrap();
    let before = t.ip(&["-j", "-d", "link", "show"]);
    for mtu in [1 << 31, u32::MAX] {
        assert_invalid(t.handle.set_link_mtu("lo", mtu), "mtu");
        assert_invalid(t.handle.set_link_mtu("m0", mtu), "mtu");
        let mut veth = NewVeth::new("x0", "x1");
        veth.mtu = Some(mtu);
        assert_invalid(t.handle.add_veth(&veth), "mtu");
        let mut veth = NewVeth::new("x0", "x1");
        veth.peer.mtu = Some(mtu);
        assert_invalid(t.handle.add_veth(&veth), "veth peer mtu");
        let mut bridge = NewBridge::new("xbr");
        bridge.mtu = Some(mtu);
        assert_invalid(t.handle.add_bridge(&bridge), "mtu");
        let mut vxlan = NewVxlan::new("xvx", Vni::new(7).unwrap());
        vxlan.mtu = Some(mtu);
        assert_invalid(t.handle.add_vxlan(&vxlan), "mtu");
        let mut macvlan = NewMacvlan::new("xmv", "m0", MacvlanMode::Bridge);
        macvlan.mtu = Some(mtu);
        assert_invalid(t.handle.add_macvlan(&macvlan), "mtu");
        let mut vrf = NewVrf::new("xvrf", TableId::new(10));
        vrf.mtu = Some(mtu);
        assert_invalid(t.handle.add_vrf(&vrf), "mtu");
        let mut ipip = NewIpip::new("xip");
        ipip.mtu = Some(mtu);
        assert_invalid(t.handle.add_ipip(&ipip), "mtu");
        // Checked before the tunnel is looked up: no such tunnel, yet invalid input.
        assert_invalid(t.handle.set_ipip(&ipip), "mtu");
    }
    assert_eq!(t.ip(&["-j", "-d", "link", "show"]), before);
    // The largest MTU the kernel can read is sent: a veth's maximum refuses it, the loopback
    // (which has none) takes it.
    let e = t.handle.set_link_mtu("m0", i32::MAX as u32).unwrap_err();
    assert_eq!(
        e.kernel_message(),
        Some("mtu greater than device maximum"),
        "{e}"
    );
    assert_eq!(t.ip(&["-j", "-d", "link", "show"]), before);
    t.handle.set_link_mtu("lo", i32::MAX as u32).unwrap();
    assert_eq!(t.ip_link("lo").unwrap()["mtu"], i32::MAX);
}

/// Defect: `check_ifname` refused names the kernel accepts (Unicode whitespace such as
/// U+2003, through `char::is_whitespace`) and did not follow the kernel's own byte rule.
/// Every name of the table is offered to the kernel through iproute2 (`ip link add NAME type
/// veth peer name p0`) and to netplumb: the kernel accepts it exactly when netplumb's check
/// passes, and then netplumb creates a link of that very name. The kernel's rule
/// (`dev_valid_name`, net/core/dev.c) works on bytes with the kernel's `isspace`, which is
/// Latin-1's: byte 0xA0 (no-break space) counts as a space, so a UTF-8 name holding that
/// byte (U+00A0 is C2 A0, `à` is C3 A0) is refused while `é` (C3 A9) or U+2003 (E2 80 83)
/// are not.
#[test]
fn ifname_check_matches_the_kernel() {
    require_root!();
    let t = TestNs::new();
    let before = t.ip_link_names(&[]);
    let names = [
        "veth0",
        "fifteen-bytes-x",
        SIXTEEN,
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}1", // 15 bytes
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}", // 16 bytes
        "",
        ".",
        "..",
        "a.",
        ".a",
        "...",
        "a:b",
        "a/b",
        "a b",
        "a\tb",
        "a\nb",
        "a\x0bb",
        "a\x0cb",
        "a\rb",
        "a\x01b",
        "a\x7fb",
        "a\x1cb",
        "\u{e9}",
        "\u{e0}",
        "a\u{a0}b",
        "a\u{85}b",
        "a\u{2003}b",
        "a\u{2020}b",
        "a\u{3000}b",
        "\u{1f980}",
        "a-b_c.d@e",
    ];
    let mut wrong = Vec::new();
    for name in names {
        let check = match t.handle.link(name) {
            Err(Error::InvalidInput { arg, .. }) => {
                assert_eq!(arg, "link name");
                false
            }
            Err(e) if e.is_not_found() => true,
            other => panic!("{name:?}: {other:?}"),
        };
        let kernel = t
            .try_sh(
                "ip",
                &[
                    "link", "add", "name", name, "type", "veth", "peer", "name", "p0",
                ],
            )
            .is_ok();
        if kernel {
            t.sh("ip", &["link", "del", "p0"]);
        }
        if check != kernel {
            wrong.push(format!("{name:?}: netplumb {check}, kernel {kernel}"));
            continue;
        }
        let made = t.handle.add_veth(&NewVeth::new(name, "p0"));
        if kernel {
            made.unwrap_or_else(|e| panic!("{name:?}: {e}"));
            // Not `ip -j`: iproute2 writes control characters into its JSON unescaped.
            t.sh("ip", &["link", "show", "dev", name]);
            assert_eq!(t.handle.link(name).unwrap().name, name);
            t.handle.delete_link(name).unwrap();
        } else {
            assert_invalid(made, "veth name");
        }
    }
    assert!(wrong.is_empty(), "check and kernel disagree: {wrong:#?}");
    // Nothing left but what a new namespace has (lo, and fallback tunnels such as tunl0 where
    // their modules are loaded).
    assert_eq!(t.ip_link_names(&[]), before);
}

/// `EOPNOTSUPP` is also the kernel's answer to requests that do not fit a device: enslaving a
/// link to itself, deleting `lo`, bridge options on a veth, a bridge VLAN on a link that is
/// neither a bridge nor a port. Those are the kernel's errors as they are (errno and text),
/// not "the kernel does not support this", or a caller (and this crate's own tests, which
/// skip on `is_unsupported()`) would take a wrong-device bug for a missing feature. (Before:
/// all four were `is_unsupported()`.)
#[test]
fn eopnotsupp_on_the_wrong_device_is_not_a_missing_feature() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("va", "vb")).unwrap();
    let before = t.ip(&["-j", "-d", "link", "show"]);
    let wrong: Vec<(&str, Error)> = vec![
        (
            "set_link_master(va, va)",
            h.set_link_master("va", "va").unwrap_err(),
        ),
        ("delete_link(lo)", h.delete_link("lo").unwrap_err()),
        (
            "set_bridge_options(va)",
            h.set_bridge_options(
                "va",
                &netplumb::link::BridgeOptions {
                    stp: Some(true),
                    ..Default::default()
                },
            )
            .unwrap_err(),
        ),
        (
            "add_bridge_vlan(va)",
            h.add_bridge_vlan(
                "va",
                &netplumb::link::BridgeVlan::new(netplumb::VlanId::new(10).unwrap()),
            )
            .unwrap_err(),
        ),
    ];
    for (call, e) in &wrong {
        assert!(!e.is_unsupported(), "{call}: {e}");
        assert!(!e.to_string().contains("does not support"), "{call}: {e}");
        assert!(
            e.errno().is_some(),
            "{call}: the kernel's errno is kept: {e:?}"
        );
    }
    assert_eq!(t.ip(&["-j", "-d", "link", "show"]), before);
}

/// "Not found" from the kernel keeps its errno: deleting a neighbour, a proxy neighbour or an
/// FDB entry that is not there (`ENOENT`) and naming a link that does not exist (`ENODEV`)
/// are `NotFound` errors naming the object, with `errno()` the kernel's. (Before: `errno()`
/// was `None` for all four.)
#[test]
fn not_found_from_the_kernel_keeps_its_errno() {
    use netplumb::fdb::NewFdbEntry;
    use netplumb::MacAddr;
    use nix::errno::Errno;
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("va", "vb")).unwrap();
    h.add_bridge(&NewBridge::new("br0")).unwrap();
    h.set_link_master("va", "br0").unwrap();
    let ip: std::net::IpAddr = "10.0.0.9".parse().unwrap();
    let cases = [
        (
            "delete_neighbour",
            h.delete_neighbour("va", ip).unwrap_err(),
            Errno::ENOENT,
        ),
        (
            "delete_proxy_neighbour",
            h.delete_proxy_neighbour("va", ip).unwrap_err(),
            Errno::ENOENT,
        ),
        (
            "delete_fdb",
            h.delete_fdb("va", &NewFdbEntry::new(MacAddr([2, 0, 0, 0, 0, 9])))
                .unwrap_err(),
            Errno::ENOENT,
        ),
        (
            "delete_link",
            h.delete_link("nosuch0").unwrap_err(),
            Errno::ENODEV,
        ),
    ];
    for (call, e, errno) in cases {
        assert!(e.is_not_found(), "{call}: {e}");
        assert_eq!(e.errno(), Some(errno), "{call}: {e:?}");
    }
}
