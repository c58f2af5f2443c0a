//! Two "pods" on one parent device through macvlan in bridge mode, as CNI's macvlan plugin
//! wires them: each pod gets a macvlan of the host's NIC, moved into its namespace and given
//! an address; then a UDP datagram goes from one pod to the other.
//!
//! Three fresh, unnamed namespaces (a "host" whose NIC is a veth, and two pods) disappear with
//! the process. Run as root: `cargo run --release --example macvlan_pod`. The same by hand:
//!
//! ```text
//! ip link add eth0 type veth peer name eth0p; ip link set eth0 up; ip link set eth0p up
//! ip link add mv-a link eth0 type macvlan mode bridge; ip link set mv-a netns pod-a
//! ip -n pod-a addr add 10.0.0.10/24 dev mv-a; ip -n pod-a link set mv-a up   # pod-b: .11
//! ```

use std::net::UdpSocket;
use std::time::Duration;

use netplumb::link::{MacvlanMode, NewMacvlan, NewVeth};
use netplumb::{Handle, NetNs};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = NetNs::new_unnamed()?;
    let h = Handle::new_in(&host)?;
    h.add_veth(&NewVeth::new("eth0", "eth0p"))?;
    h.set_link_up("eth0")?;
    h.set_link_up("eth0p")?;

    let mut pods = Vec::new();
    for (dev, addr) in [("mv-a", "10.0.0.10/24"), ("mv-b", "10.0.0.11/24")] {
        let pod = NetNs::new_unnamed()?;
        h.add_macvlan(&NewMacvlan::new(dev, "eth0", MacvlanMode::Bridge))?;
        h.move_link_to_netns(dev, &pod)?;
        let p = Handle::new_in(&pod)?;
        p.add_address(dev, &addr.parse()?)?;
        p.set_link_up(dev)?;
        let mac = p.link(dev)?.mac.map(|m| m.to_string()).unwrap_or_default();
        println!("pod with {dev}: mac {mac}, address {addr}, parent eth0 (bridge mode)");
        pods.push(pod);
    }

    let receiver = pods[1].run(|| UdpSocket::bind("10.0.0.11:7777"))??;
    receiver.set_read_timeout(Some(Duration::from_secs(5)))?;
    pods[0].run(|| -> std::io::Result<()> {
        let sender = UdpSocket::bind("10.0.0.10:0")?;
        sender.send_to(b"hello from mv-a", "10.0.0.11:7777")?;
        Ok(())
    })??;
    let mut buf = [0u8; 1500];
    let (n, from) = receiver.recv_from(&mut buf)?;
    println!(
        "mv-b received {:?} from {from}",
        String::from_utf8_lossy(&buf[..n])
    );
    if from.ip().to_string() != "10.0.0.10" {
        return Err(format!("expected the datagram from 10.0.0.10, not {from}").into());
    }
    Ok(())
}
