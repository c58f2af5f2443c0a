//! Root tests for IPv6 address labels, checked against `ip -j addrlabel list`.

mod common;

use common::{assert_invalid, TestNs};
use netplumb::addrlabel::NewAddrLabel;
use netplumb::link::NewVeth;

#[test]
fn labels_are_added_listed_and_deleted_as_iproute2_shows() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    let ip_list = || {
        let mut v: Vec<(String, u64, u64, Option<String>)> = t
            .ip(&["-j", "addrlabel", "list"])
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["address"].as_str().unwrap().to_string(),
                    l["prefixlen"].as_u64().unwrap(),
                    l["label"].as_u64().unwrap(),
                    l["ifname"].as_str().map(str::to_string),
                )
            })
            .collect();
        v.sort();
        v
    };
    let ours = || {
        let v0 = h.link_index("v0").unwrap();
        let mut v: Vec<(String, u64, u64, Option<String>)> = h
            .addrlabels()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l.prefix.ip().to_string(),
                    u64::from(l.prefix.prefix()),
                    u64::from(l.label),
                    l.dev.map(|d| {
                        assert_eq!(d, v0);
                        "v0".to_string()
                    }),
                )
            })
            .collect();
        v.sort();
        v
    };
    // The kernel's default policy, as iproute2 lists it.
    assert_eq!(ours(), ip_list());
    let defaults = ip_list().len();
    let l = NewAddrLabel {
        prefix: "2001:db8::/32".parse().unwrap(),
        label: 99,
        dev: Some("v0".into()),
    };
    h.add_addrlabel(&l).unwrap();
    assert_eq!(ours(), ip_list());
    assert!(ours().contains(&("2001:db8::".into(), 32, 99, Some("v0".into()))));
    // Bad input changes nothing.
    assert_invalid(
        h.add_addrlabel(&NewAddrLabel {
            prefix: "2001:db8::1/32".parse().unwrap(),
            ..l
        }),
        "prefix",
    );
    assert_invalid(
        h.add_addrlabel(&NewAddrLabel {
            label: u32::MAX,
            ..l
        }),
        "label",
    );
    assert_eq!(ip_list().len(), defaults + 1);
    h.delete_addrlabel(&l).unwrap();
    assert_eq!(ours(), ip_list());
    assert_eq!(ip_list().len(), defaults);
}
