//! Creates a bridge and enslaves two veth ports to it, then lists the bridge's ports with
//! their STP state as the kernel reports them.
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example bridge_ports`. The same by hand:
//!
//! ```text
//! ip link add br0 type bridge
//! ip link add veth0 type veth peer name veth0p
//! ip link add veth1 type veth peer name veth1p
//! ip link set veth0 master br0; ip link set veth1 master br0
//! ip link set br0 up; ip link set veth0 up; ip link set veth0p up   # and veth1, veth1p
//! bridge link show
//! ```

use netplumb::link::{LinkFilter, NewBridge, NewVeth};
use netplumb::{Handle, NetNs};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;

    h.add_bridge(&NewBridge::new("br0"))?;
    for (port, peer) in [("veth0", "veth0p"), ("veth1", "veth1p")] {
        h.add_veth(&NewVeth::new(port, peer))?;
        h.set_link_master(port, "br0")?;
        h.set_link_up(port)?;
        h.set_link_up(peer)?;
    }
    h.set_link_up("br0")?;

    let br = h.link("br0")?;
    let mac = br.mac.map(|m| m.to_string()).unwrap_or_default();
    println!("bridge {} (index {}, mac {mac}), ports:", br.name, br.index);
    let ports = h.links(&LinkFilter::master("br0"))?;
    let on = |b: Option<bool>| if b == Some(true) { "on" } else { "off" };
    for p in &ports {
        let bp = p.bridge_port.clone().unwrap_or_default();
        let state = bp.state.map(|s| format!("{s:?}").to_lowercase());
        println!(
            "  {}: index {} mtu {} state {} learning {} flood {}",
            p.name,
            p.index,
            p.mtu,
            state.unwrap_or_else(|| "?".into()),
            on(bp.learning),
            on(bp.unicast_flood)
        );
    }
    if ports.len() != 2 {
        return Err(format!("expected 2 ports on br0, found {}", ports.len()).into());
    }
    Ok(())
}
