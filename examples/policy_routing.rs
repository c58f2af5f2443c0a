//! Source-based policy routing: traffic from 10.1.0.0/16 leaves by a second uplink through
//! table 100, everything else through the main table; `route get` shows the rule at work.
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example policy_routing`. The same by hand:
//!
//! ```text
//! ip link add wan0 type veth peer name wan0p; ip addr add 192.0.2.1/24 dev wan0
//! ip link add wan1 type veth peer name wan1p; ip addr add 198.51.100.1/24 dev wan1
//! ip link add lan0 type veth peer name lan0p; ip addr add 10.1.0.1/16 dev lan0
//! ip link set … up                                       # every device
//! ip route add default via 192.0.2.254
//! ip route add default via 198.51.100.254 table 100
//! ip rule add from 10.1.0.0/16 table 100 pref 1000
//! ip route get 203.0.113.9 from 192.0.2.1; ip route get 203.0.113.9 from 10.1.0.1
//! ```

use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, RouteQuery};
use netplumb::rule::{Rule, RuleAction, RuleFilter};
use netplumb::{Handle, IpFamily, NetNs, TableId};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    for (dev, addr) in [
        ("wan0", "192.0.2.1/24"),
        ("wan1", "198.51.100.1/24"),
        ("lan0", "10.1.0.1/16"),
    ] {
        let peer = format!("{dev}p");
        h.add_veth(&NewVeth::new(dev, &peer))?;
        h.add_address(dev, &addr.parse()?)?;
        h.set_link_up(dev)?;
        h.set_link_up(&peer)?;
    }
    let table = TableId::new(100);
    let default = "0.0.0.0/0".parse()?;
    h.add_route(&NewRoute::via(default, "192.0.2.254".parse()?)?)?;
    h.add_route(&NewRoute {
        table,
        ..NewRoute::via(default, "198.51.100.254".parse()?)?
    })?;
    h.add_rule(&Rule {
        priority: Some(1000),
        from: Some("10.1.0.0/16".parse()?),
        action: RuleAction::ToTable(table),
        ..Rule::default()
    })?;
    println!("ip rule show:");
    for r in h.rules(&RuleFilter {
        family: Some(IpFamily::V4),
        ..RuleFilter::default()
    })? {
        let from = r.from.map_or("all".to_string(), |n| n.to_string());
        let action = match r.action {
            RuleAction::ToTable(t) => format!("lookup {t}"),
            other => format!("{other:?}"),
        };
        println!("  {}: from {from} {action}", r.priority.unwrap_or(0));
    }
    let dest = "203.0.113.9".parse()?;
    for (source, want) in [("192.0.2.1", TableId::MAIN), ("10.1.0.1", table)] {
        let q = RouteQuery {
            source: Some(source.parse()?),
            ..RouteQuery::new(dest)
        };
        let r = h.route_get(&q)?;
        let dev = h.link(r.dev().ok_or("a route without a device")?)?.name;
        let via = r.gateway().map(|g| g.to_string()).unwrap_or_default();
        println!(
            "route get {dest} from {source}: via {via} dev {dev} table {}",
            r.table
        );
        if r.table != want {
            return Err(format!("expected table {want}, the kernel used {}", r.table).into());
        }
    }
    Ok(())
}
