//! A VXLAN device with head-end replication: broadcast, unknown-unicast and multicast frames
//! are flooded to every remote VTEP listed under the all-zero MAC, as flannel and EVPN
//! overlays program it. Prints the device's FDB afterwards.
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example vxlan_flood`. The same by hand:
//!
//! ```text
//! ip link add eth0 type veth peer name eth0p            # the underlay
//! ip addr add 192.0.2.1/24 dev eth0; ip link set eth0 up; ip link set eth0p up
//! ip link add vx0 type vxlan id 42 local 192.0.2.1 dev eth0 dstport 4789 nolearning
//! bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.2     # and .3, .4
//! bridge fdb add 02:00:00:00:00:03 dev vx0 dst 192.0.2.3
//! bridge fdb show dev vx0
//! ```

use netplumb::fdb::{FdbFilter, NewFdbEntry};
use netplumb::link::{NewVeth, NewVxlan, VXLAN_PORT};
use netplumb::{Handle, MacAddr, NetNs, Vni};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    h.add_veth(&NewVeth::new("eth0", "eth0p"))?;
    h.add_address("eth0", &"192.0.2.1/24".parse()?)?;
    h.set_link_up("eth0")?;
    h.set_link_up("eth0p")?;

    h.add_vxlan(&NewVxlan {
        local: Some("192.0.2.1".parse()?),
        underlay: Some("eth0".into()),
        port: Some(VXLAN_PORT),
        learning: Some(false),
        ..NewVxlan::new("vx0", Vni::new(42)?)
    })?;
    h.set_link_up("vx0")?;
    println!("created vx0: vni 42, local 192.0.2.1, dev eth0, dstport {VXLAN_PORT}");

    let remotes = ["192.0.2.2", "192.0.2.3", "192.0.2.4"];
    for remote in remotes {
        h.append_fdb("vx0", &NewFdbEntry::flood(remote.parse()?))?;
    }
    let mac: MacAddr = "02:00:00:00:00:03".parse()?;
    h.add_fdb(
        "vx0",
        &NewFdbEntry {
            dst: Some("192.0.2.3".parse()?),
            ..NewFdbEntry::new(mac)
        },
    )?;

    let entries = h.fdb(&FdbFilter::link("vx0"))?;
    println!("bridge fdb show dev vx0:");
    for e in &entries {
        let dst = e.dst.map(|d| format!(" dst {d}")).unwrap_or_default();
        let state = format!("{:?}", e.state).to_lowercase();
        println!("  {} dev vx0{dst} self {state}", e.mac);
    }
    let floods = entries.iter().filter(|e| e.mac == MacAddr::ZERO).count();
    println!("{floods} flood remotes, {} entries in all", entries.len());
    if floods != remotes.len() {
        return Err(format!("expected {} flood entries, found {floods}", remotes.len()).into());
    }
    Ok(())
}
