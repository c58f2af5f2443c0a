//! Neighbour entries: a proxy entry (the device answers ARP for an address that is not its
//! own, where `proxy_arp` allows it) and a permanent ARP entry, listed back from the kernel.
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example neigh_proxy`. The same by hand:
//!
//! ```text
//! ip link add veth0 type veth peer name veth0p
//! ip addr add 10.0.0.1/24 dev veth0; ip link set veth0 up; ip link set veth0p up
//! ip neigh add proxy 10.0.0.5 dev veth0
//! ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev veth0 nud permanent
//! ip neigh show proxy; ip neigh show dev veth0
//! ```

use netplumb::link::NewVeth;
use netplumb::neighbour::{NeighbourFilter, NewNeighbour};
use netplumb::{Handle, NetNs};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    h.add_veth(&NewVeth::new("veth0", "veth0p"))?;
    h.add_address("veth0", &"10.0.0.1/24".parse()?)?;
    h.set_link_up("veth0")?;
    h.set_link_up("veth0p")?;

    h.add_proxy_neighbour("veth0", "10.0.0.5".parse()?)?;
    let mac = "02:00:00:00:00:02".parse()?;
    h.add_neighbour("veth0", &NewNeighbour::new("10.0.0.2".parse()?, mac))?;

    let proxies = h.neighbours(&NeighbourFilter {
        proxy: true,
        ..NeighbourFilter::default()
    })?;
    println!("ip neigh show proxy:");
    for n in &proxies {
        println!("  {} dev {} proxy", n.address, h.link(n.link)?.name);
    }
    let entries = h.neighbours(&NeighbourFilter::link("veth0"))?;
    println!("ip neigh show dev veth0:");
    for n in &entries {
        let lladdr = n.mac.map(|m| format!(" lladdr {m}")).unwrap_or_default();
        let state: Vec<String> = n
            .state
            .iter_names()
            .map(|(s, _)| s.to_lowercase())
            .collect();
        println!("  {} dev veth0{lladdr} {}", n.address, state.join(" "));
    }
    if proxies.len() != 1 || !entries.iter().any(|n| n.mac == Some(mac)) {
        return Err("the kernel does not list the entries just added".into());
    }
    Ok(())
}
