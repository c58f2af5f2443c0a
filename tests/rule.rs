//! Root tests for policy rules, checked against `ip -j rule show`.

mod common;

use common::TestNs;
use netplumb::route::RouteProtocol;
use netplumb::rule::{Rule, RuleAction, RuleFilter};
use netplumb::{IpFamily, TableId};
use serde_json::Value;

fn ip_rules(t: &TestNs, family: &str) -> Vec<Value> {
    t.ip(&["-j", family, "rule", "show"])
        .as_array()
        .unwrap()
        .clone()
}

fn ip_rule(rules: &[Value], prio: u32) -> &Value {
    rules
        .iter()
        .find(|r| r["priority"] == prio)
        .unwrap_or_else(|| panic!("no rule {prio} in {rules:#?}"))
}

fn ours(t: &TestNs, family: IpFamily) -> Vec<Rule> {
    t.handle
        .rules(&RuleFilter {
            family: Some(family),
            ..RuleFilter::default()
        })
        .unwrap()
}

fn find(rules: &[Rule], prio: u32) -> &Rule {
    rules
        .iter()
        .find(|r| r.priority == Some(prio))
        .unwrap_or_else(|| panic!("no rule {prio} in {rules:#?}"))
}

#[test]
fn default_rules_of_a_new_namespace() {
    require_root!();
    let t = TestNs::new();
    let v4 = ours(&t, IpFamily::V4);
    let prios: Vec<_> = v4.iter().map(|r| r.priority.unwrap_or(0)).collect();
    assert_eq!(prios, [0, 32766, 32767]);
    assert_eq!(v4[0].action, RuleAction::ToTable(TableId::LOCAL));
    assert_eq!(v4[1].action, RuleAction::ToTable(TableId::MAIN));
    assert_eq!(v4[2].action, RuleAction::ToTable(TableId::DEFAULT));
    assert_eq!(v4.len(), ip_rules(&t, "-4").len());
    let v6 = ours(&t, IpFamily::V6);
    assert_eq!(v6.len(), ip_rules(&t, "-6").len());
    assert_eq!(v6.len(), 2);
    let both = t.handle.rules(&RuleFilter::default()).unwrap();
    assert_eq!(both.len(), 5);
}

#[test]
fn rules_match_ip_rule_show() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    let rules = [
        // ip rule add from 10.0.0.0/8 to 192.168.0.0/16 iif v0 oif v1 fwmark 0x10/0xff
        //     table 1000 pref 100
        Rule {
            priority: Some(100),
            from: Some("10.0.0.0/8".parse().unwrap()),
            to: Some("192.168.0.0/16".parse().unwrap()),
            iif: Some("v0".into()),
            oif: Some("v1".into()),
            fwmark: Some(0x10),
            fwmask: Some(0xff),
            action: RuleAction::ToTable(TableId::new(1000)),
            ..Rule::default()
        },
        // ip rule add pref 200 goto 300
        Rule {
            priority: Some(200),
            action: RuleAction::Goto(300),
            ..Rule::default()
        },
        // ip rule add pref 300 blackhole
        Rule {
            priority: Some(300),
            action: RuleAction::Blackhole,
            ..Rule::default()
        },
        // ip rule add pref 301 not from 10.0.0.0/8 unreachable
        Rule {
            priority: Some(301),
            invert: true,
            from: Some("10.0.0.0/8".parse().unwrap()),
            action: RuleAction::Unreachable,
            ..Rule::default()
        },
        // ip rule add pref 302 prohibit proto bird
        Rule {
            priority: Some(302),
            protocol: Some(RouteProtocol::BIRD),
            action: RuleAction::Prohibit,
            ..Rule::default()
        },
        // ip rule add pref 400 nop
        Rule {
            priority: Some(400),
            action: RuleAction::Nop,
            ..Rule::default()
        },
        // ip rule add l3mdev pref 1000
        Rule {
            priority: Some(1000),
            l3mdev: true,
            action: RuleAction::ToTable(TableId::UNSPEC),
            ..Rule::default()
        },
        // ip rule add pref 5 tos 0x10 lookup 50 suppress_prefixlength 0
        Rule {
            priority: Some(5),
            tos: 0x10,
            suppress_prefixlen: Some(0),
            action: RuleAction::ToTable(TableId::new(50)),
            ..Rule::default()
        },
        // ip -6 rule add from fd00::/16 lookup 4000000000 pref 150
        Rule {
            priority: Some(150),
            from: Some("fd00::/16".parse().unwrap()),
            action: RuleAction::ToTable(TableId::new(4_000_000_000)),
            ..Rule::default()
        },
        // ip -6 rule add fwmark 7 lookup main pref 151
        Rule {
            family: Some(IpFamily::V6),
            priority: Some(151),
            fwmark: Some(7),
            ..Rule::default()
        },
    ];
    for r in &rules {
        h.add_rule(r).unwrap();
    }
    let again = h.add_rule(&rules[0]).unwrap_err();
    assert!(again.is_exists(), "{again}");

    let v4 = ours(&t, IpFamily::V4);
    let ip4 = ip_rules(&t, "-4");
    assert_eq!(v4.len(), ip4.len());
    assert_eq!(v4.len(), 3 + 8);
    // Listed in priority order, as iproute2 prints them.
    let prios: Vec<u64> = v4.iter().map(|r| r.priority.unwrap_or(0).into()).collect();
    let ip_prios: Vec<u64> = ip4
        .iter()
        .map(|r| r["priority"].as_u64().unwrap())
        .collect();
    assert_eq!(prios, ip_prios);

    let (r, i) = (find(&v4, 100), ip_rule(&ip4, 100));
    assert_eq!(
        r,
        &Rule {
            family: Some(IpFamily::V4),
            ..rules[0].clone()
        }
    );
    assert_eq!(
        (i["src"].as_str(), i["srclen"].as_u64()),
        (Some("10.0.0.0"), Some(8))
    );
    assert_eq!(
        (i["dst"].as_str(), i["dstlen"].as_u64()),
        (Some("192.168.0.0"), Some(16))
    );
    assert_eq!((&i["iif"], &i["oif"]), (&"v0".into(), &"v1".into()));
    assert_eq!(
        (&i["fwmark"], &i["fwmask"]),
        (&"0x10".into(), &"0xff".into())
    );
    assert_eq!(i["table"], "1000");

    assert_eq!(find(&v4, 200).action, RuleAction::Goto(300));
    assert_eq!(ip_rule(&ip4, 200)["goto"], 300);
    assert_eq!(find(&v4, 300).action, RuleAction::Blackhole);
    assert_eq!(ip_rule(&ip4, 300)["action"], "blackhole");
    let r = find(&v4, 301);
    assert!(r.invert);
    assert_eq!(r.action, RuleAction::Unreachable);
    let i = ip_rule(&ip4, 301);
    assert!(i.get("not").is_some(), "{i}");
    assert_eq!(i["action"], "unreachable");
    let r = find(&v4, 302);
    assert_eq!(r.protocol, Some(RouteProtocol::BIRD));
    assert_eq!(ip_rule(&ip4, 302)["protocol"], "bird");
    assert_eq!(find(&v4, 400).action, RuleAction::Nop);
    assert!(ip_rule(&ip4, 400).get("nop").is_some());
    let r = find(&v4, 1000);
    assert!(r.l3mdev);
    assert!(ip_rule(&ip4, 1000).get("l3mdev").is_some());
    let r = find(&v4, 5);
    assert_eq!((r.tos, r.suppress_prefixlen), (0x10, Some(0)));
    let i = ip_rule(&ip4, 5);
    assert_eq!(
        (&i["tos"], &i["suppress_prefixlen"], &i["table"]),
        (&"0x10".into(), &0.into(), &"50".into())
    );
    // Rules without a suppress_prefixlength report none.
    assert_eq!(find(&v4, 100).suppress_prefixlen, None);

    let v6 = ours(&t, IpFamily::V6);
    let ip6 = ip_rules(&t, "-6");
    assert_eq!(v6.len(), ip6.len());
    assert_eq!(v6.len(), 2 + 2);
    let r = find(&v6, 150);
    assert_eq!(r.action, RuleAction::ToTable(TableId::new(4_000_000_000)));
    assert_eq!(ip_rule(&ip6, 150)["table"], "4000000000");
    assert_eq!(ip_rule(&ip6, 150)["src"], "fd00::");
    let r = find(&v6, 151);
    assert_eq!(r.fwmark, Some(7));
    assert_eq!(r.action, RuleAction::ToTable(TableId::MAIN));

    // Filters.
    let t1000 = h
        .rules(&RuleFilter {
            table: Some(TableId::new(1000)),
            ..RuleFilter::default()
        })
        .unwrap();
    assert_eq!(t1000.len(), 1);
    let p = h
        .rules(&RuleFilter {
            priority: Some(0),
            ..RuleFilter::default()
        })
        .unwrap();
    assert_eq!(p.len(), 2, "{p:#?}");

    // Delete, then delete again is "not found".
    for r in &rules {
        h.delete_rule(r).unwrap();
    }
    assert_eq!(ip_rules(&t, "-4").len(), 3);
    assert_eq!(ip_rules(&t, "-6").len(), 2);
    let missing = h.delete_rule(&rules[0]).unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
}

#[test]
fn bad_rule_input_changes_nothing() {
    require_root!();
    let t = TestNs::new();
    let before = (ip_rules(&t, "-4"), ip_rules(&t, "-6"));
    common::assert_invalid(
        t.handle.add_rule(&Rule {
            from: Some("10.0.0.1/8".parse().unwrap()),
            ..Rule::default()
        }),
        "from",
    );
    common::assert_invalid(
        t.handle.add_rule(&Rule {
            family: Some(IpFamily::V6),
            to: Some("10.0.0.0/8".parse().unwrap()),
            ..Rule::default()
        }),
        "to",
    );
    common::assert_invalid(
        t.handle.add_rule(&Rule {
            iif: Some("a-name-far-too-long".into()),
            ..Rule::default()
        }),
        "iif",
    );
    common::assert_invalid(
        t.handle.add_rule(&Rule {
            l3mdev: true,
            ..Rule::default()
        }),
        "l3mdev",
    );
    assert_eq!((ip_rules(&t, "-4"), ip_rules(&t, "-6")), before);
}

#[test]
fn delete_by_priority_whatever_the_rule_does() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    h.add_rule(&Rule {
        priority: Some(1234),
        from: Some("10.12.0.0/16".parse().unwrap()),
        action: RuleAction::ToTable(TableId::new(1000)),
        ..Rule::default()
    })
    .unwrap();
    assert!(ip_rules(&t, "-4").iter().any(|r| r["priority"] == 1234));
    // ip rule del pref 1234
    h.delete_rule_at(IpFamily::V4, 1234).unwrap();
    assert!(ip_rules(&t, "-4").iter().all(|r| r["priority"] != 1234));
    assert!(h
        .delete_rule_at(IpFamily::V4, 1234)
        .unwrap_err()
        .is_not_found());
}

#[test]
fn port_protocol_uid_and_tunnel_selectors_match_ip_rule_show() {
    use netplumb::rule::{RulePortRange, RuleUidRange};
    require_root!();
    let t = TestNs::new();
    let r = Rule {
        priority: Some(500),
        ipproto: Some(6),
        sport: Some(RulePortRange {
            start: 1000,
            end: 2000,
        }),
        dport: Some(RulePortRange::port(80)),
        uid_range: Some(RuleUidRange {
            start: 100,
            end: 200,
        }),
        suppress_ifgroup: Some(5),
        tun_id: Some(77),
        action: RuleAction::ToTable(TableId::new(100)),
        ..Rule::default()
    };
    t.handle.add_rule(&r).unwrap();
    let got = find(&ours(&t, IpFamily::V4), 500).clone();
    assert_eq!(
        got,
        Rule {
            family: Some(IpFamily::V4),
            ..r.clone()
        }
    );
    let rules = ip_rules(&t, "-4");
    let j = ip_rule(&rules, 500);
    // "tcp", or "ipproto-6" where there is no /etc/protocols (the guest).
    assert!(j["ipproto"] == "tcp" || j["ipproto"] == "ipproto-6", "{j}");
    assert_eq!(
        (j["sport_start"].clone(), j["sport_end"].clone()),
        (1000.into(), 2000.into())
    );
    assert_eq!(j["dport"], 80);
    assert_eq!(
        (j["uid_start"].clone(), j["uid_end"].clone()),
        (100.into(), 200.into())
    );
    assert_eq!(j["tun_id"], 77);
    assert_eq!(j["suppress_ifgroup"], "5");
    // Deleted by the same selectors.
    t.handle.delete_rule(&r).unwrap();
    assert!(ours(&t, IpFamily::V4)
        .iter()
        .all(|x| x.priority != Some(500)));

    // Reversed ranges are refused before sending, nothing added.
    let before = ip_rules(&t, "-4").len();
    let reversed = Rule {
        sport: Some(RulePortRange {
            start: 2000,
            end: 1000,
        }),
        ..r.clone()
    };
    common::assert_invalid(t.handle.add_rule(&reversed), "sport");
    let reversed = Rule {
        uid_range: Some(RuleUidRange {
            start: 200,
            end: 100,
        }),
        ..r
    };
    common::assert_invalid(t.handle.add_rule(&reversed), "uid_range");
    assert_eq!(ip_rules(&t, "-4").len(), before);
}
