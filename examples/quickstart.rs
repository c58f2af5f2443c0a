//! Two network namespaces joined by a veth pair, with addresses, and a UDP datagram from one to
//! the other. Everything it creates is removed again, also when a step fails.
//!
//! Run as root: `sudo cargo run --example quickstart`
//!
//! The same job by hand:
//! ```text
//! ip netns add np-qs-a && ip netns add np-qs-b
//! ip -n np-qs-a link add qs-a type veth peer name qs-b netns np-qs-b
//! ip -n np-qs-a addr add 10.200.0.1/24 dev qs-a && ip -n np-qs-a link set qs-a up
//! ip -n np-qs-b addr add 10.200.0.2/24 dev qs-b && ip -n np-qs-b link set qs-b up
//! ip netns del np-qs-a && ip netns del np-qs-b
//! ```

use std::net::UdpSocket;
use std::process::ExitCode;
use std::time::Duration;

use netplumb::addr::{AddressFilter, NewAddress};
use netplumb::link::NewVeth;
use netplumb::{Handle, NetNs};

const NS_A: &str = "np-qs-a";
const NS_B: &str = "np-qs-b";

/// Deletes the named namespaces it was given when dropped, whatever happened before.
struct Cleanup(Vec<&'static str>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in self.0.drain(..).rev() {
            match NetNs::delete(name) {
                Ok(()) => println!("deleted netns {name}"),
                Err(e) => eprintln!("could not delete netns {name}: {e}"),
            }
        }
    }
}

fn main() -> ExitCode {
    let mut cleanup = Cleanup(Vec::new());
    let result = run(&mut cleanup);
    drop(cleanup);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cleanup: &mut Cleanup) -> Result<(), Box<dyn std::error::Error>> {
    let a = NetNs::create(NS_A)?;
    cleanup.0.push(NS_A);
    let b = NetNs::create(NS_B)?;
    cleanup.0.push(NS_B);
    println!("created netns {NS_A} and {NS_B}");

    let ha = Handle::new_in(&a)?;
    let hb = Handle::new_in(&b)?;
    let mut veth = NewVeth::new("qs-a", "qs-b");
    veth.peer.netns = Some(&b);
    ha.add_veth(&veth)?;
    println!("created veth qs-a in {NS_A} with its peer qs-b in {NS_B}");

    let addr_a: NewAddress = "10.200.0.1/24".parse()?;
    let addr_b: NewAddress = "10.200.0.2/24".parse()?;
    ha.add_address("qs-a", &addr_a)?;
    hb.add_address("qs-b", &addr_b)?;
    for (h, dev) in [(&ha, "qs-a"), (&hb, "qs-b")] {
        h.set_link_up("lo")?;
        h.set_link_up(dev)?;
        let link = h.link(dev)?;
        let addrs = h.addresses(&AddressFilter::link(&link))?;
        let shown: Vec<String> = addrs.iter().map(|a| a.address.to_string()).collect();
        println!(
            "  {dev}: index {} mac {} mtu {} up, addresses {}",
            link.index,
            link.mac.map(|m| m.to_string()).unwrap_or_default(),
            link.mtu,
            shown.join(", ")
        );
    }

    // Sockets are opened inside the namespaces; the main thread never leaves its own.
    let receiver = b.run(|| UdpSocket::bind("10.200.0.2:7777"))??;
    receiver.set_read_timeout(Some(Duration::from_secs(5)))?;
    let message = format!("hello from {NS_A}");
    a.run(|| -> std::io::Result<()> {
        let sender = UdpSocket::bind("10.200.0.1:0")?;
        sender.send_to(message.as_bytes(), "10.200.0.2:7777")?;
        Ok(())
    })??;
    let mut buf = [0u8; 1500];
    let (n, from) = receiver.recv_from(&mut buf)?;
    let got = String::from_utf8_lossy(&buf[..n]);
    println!("{NS_B} received {got:?} from {from}");
    if got != message {
        return Err(format!("expected {message:?}").into());
    }
    let stats = hb.link("qs-b")?.stats.unwrap_or_default();
    println!(
        "  qs-b counters: {} packets / {} bytes received",
        stats.rx_packets, stats.rx_bytes
    );

    // Release everything that holds the namespaces before they are deleted.
    ha.delete_link("qs-a")?;
    println!("deleted veth qs-a/qs-b");
    drop((receiver, ha, hb, a, b));
    Ok(())
}
