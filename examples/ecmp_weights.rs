//! An ECMP route with weighted next hops: one part of the flows to 10.9.0.0/16 goes through
//! 10.0.0.2, three parts through 10.0.1.2. Prints the route back from the kernel, then looks up
//! 1,000 destinations to show how the kernel spreads them.
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example ecmp_weights`. The same by hand:
//!
//! ```text
//! ip link add eth0 type veth peer name eth0p; ip addr add 10.0.0.1/24 dev eth0
//! ip link add eth1 type veth peer name eth1p; ip addr add 10.0.1.1/24 dev eth1
//! ip link set … up                                       # every device
//! ip route add 10.9.0.0/16 nexthop via 10.0.0.2 weight 1 nexthop via 10.0.1.2 weight 3
//! ip route show 10.9.0.0/16; ip route get 10.9.x.y      # for many x.y
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, NextHop, RouteFilter, RouteQuery};
use netplumb::{Handle, NetNs};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    for (dev, addr) in [("eth0", "10.0.0.1/24"), ("eth1", "10.0.1.1/24")] {
        let peer = format!("{dev}p");
        h.add_veth(&NewVeth::new(dev, &peer))?;
        h.add_address(dev, &addr.parse()?)?;
        h.set_link_up(dev)?;
        h.set_link_up(&peer)?;
    }
    let dst = "10.9.0.0/16".parse()?;
    h.add_route(&NewRoute {
        next_hops: vec![
            NextHop::gateway("10.0.0.2".parse()?),
            NextHop {
                weight: 3,
                ..NextHop::gateway("10.0.1.2".parse()?)
            },
        ],
        ..NewRoute::new(dst)?
    })?;

    let routes = h.routes(&RouteFilter {
        destination: Some(dst),
        ..RouteFilter::default()
    })?;
    let route = routes
        .first()
        .ok_or("the route is not in the kernel's table")?;
    println!(
        "{} table {} proto {}",
        route.destination, route.table, route.protocol
    );
    for hop in &route.next_hops {
        let dev = h.link(hop.dev.ok_or("a next hop without a device")?)?.name;
        let via = hop.gateway.ok_or("a next hop without a gateway")?;
        println!("    nexthop via {via} dev {dev} weight {}", hop.weight);
    }

    // Each lookup hashes the addresses and picks a next hop in proportion to the weights.
    let mut chosen: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..1000u32 {
        let addr = Ipv4Addr::new(10, 9, (i / 250) as u8, (i % 250) as u8 + 1);
        let r = h.route_get(&RouteQuery::new(addr.into()))?;
        let via = r.gateway().map(|g| g.to_string()).unwrap_or_default();
        *chosen.entry(via).or_default() += 1;
    }
    println!("1000 lookups of 10.9.x.y:");
    for (via, n) in &chosen {
        println!("  via {via}: {n}");
    }
    if route.next_hops.len() != 2 || chosen.len() != 2 {
        return Err("expected two next hops, both used".into());
    }
    Ok(())
}
