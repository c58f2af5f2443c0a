//! A batch of 1,000 routes sent pipelined, four of them deliberately bad: a missing device, a
//! duplicate, host bits set, an unreachable gateway. Each failure comes back in its request's
//! position; the rest are applied, which a listing of the table confirms.
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example batch_errors`. Roughly the same by hand:
//!
//! ```text
//! ip link add eth0 type veth peer name eth0p
//! ip addr add 10.0.0.1/24 dev eth0; ip link set eth0 up; ip link set eth0p up
//! ip -batch -force routes.txt    # "route add 10.100.0.0/24 via 10.0.0.2 table 100" …
//! ip route show table 100 | wc -l
//! ```

use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, NextHop, RouteFilter};
use netplumb::{Handle, NetNs, TableId};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    h.add_veth(&NewVeth::new("eth0", "eth0p"))?;
    h.add_address("eth0", &"10.0.0.1/24".parse()?)?;
    h.set_link_up("eth0")?;
    h.set_link_up("eth0p")?;

    let table = TableId::new(100);
    let mut batch = h.batch();
    for i in 0..1000u32 {
        let prefix = format!("10.{}.{}.0/24", 100 + i / 256, i % 256).parse()?;
        let mut route = NewRoute {
            table,
            ..NewRoute::via(prefix, "10.0.0.2".parse()?)?
        };
        match i {
            // ip route add … via 10.0.0.2 dev nosuch0: no such device.
            100 => route.next_hops[0].dev = Some("nosuch0".into()),
            // The same prefix as request 0: the kernel answers "File exists".
            500 => route.destination = "10.100.0.0/24".parse()?,
            // 10.200.0.1/24 is not a prefix (fields are public: `NewRoute::new` would refuse it).
            700 => route.destination = "10.200.0.1/24".parse()?,
            // A gateway no connected route reaches.
            900 => route.next_hops = vec![NextHop::gateway("192.0.2.1".parse()?)],
            _ => {}
        }
        batch.add_route(&route);
    }
    let results = batch.send();

    // One result per request, in the order queued: a request's index is its position.
    let mut failed = Vec::new();
    for (index, result) in results.iter().enumerate() {
        if let Err(e) = result {
            println!("request {index}: {e}");
            failed.push(index);
        }
    }
    if failed != [100, 500, 700, 900] {
        return Err(format!("expected requests 100, 500, 700, 900 to fail, got {failed:?}").into());
    }
    let applied = results.iter().filter(|r| r.is_ok()).count();
    let listed = h.routes(&RouteFilter::table(table))?.len();
    println!(
        "{applied} of {} requests applied; table {table} lists {listed} routes",
        results.len()
    );
    if applied != listed || applied != 996 {
        return Err(format!("expected 996 applied and listed, got {applied} and {listed}").into());
    }
    Ok(())
}
