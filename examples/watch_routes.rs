//! Watches routes with a `Monitor` while another thread adds, replaces and deletes a few; prints
//! each event, and stops once it saw all five (or fails after five seconds: it never hangs).
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example watch_routes`. The same by hand, in two shells:
//!
//! ```text
//! ip monitor route
//! ip route add 10.1.0.0/16 via 10.0.0.2; ip route add blackhole 10.2.0.0/16
//! ip route replace 10.1.0.0/16 via 10.0.0.3
//! ip route del 10.1.0.0/16; ip route del blackhole 10.2.0.0/16
//! ```

use std::time::{Duration, Instant};

use netplumb::link::NewVeth;
use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
use netplumb::route::{NewRoute, RouteKey, RouteType};
use netplumb::{Handle, NetNs};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    h.add_veth(&NewVeth::new("eth0", "eth0p"))?;
    h.add_address("eth0", &"10.0.0.1/24".parse()?)?;
    h.set_link_up("eth0")?;
    h.set_link_up("eth0p")?;
    // Subscribed once `new_in` returns: nothing done after this line is missed.
    let options = MonitorOptions {
        groups: Groups::ROUTE_V4,
        ..MonitorOptions::default()
    };
    let mut monitor = Monitor::new_in(&ns, &options)?;
    let a = NewRoute::via("10.1.0.0/16".parse()?, "10.0.0.2".parse()?)?;
    let a2 = NewRoute::via(a.destination, "10.0.0.3".parse()?)?;
    let b = NewRoute::of_kind(RouteType::Blackhole, "10.2.0.0/16".parse()?)?;
    let ours = [a.destination, b.destination];

    std::thread::scope(|s| {
        let writer = s.spawn(|| -> netplumb::Result<()> {
            let w = Handle::new_in(&ns)?;
            w.add_route(&a)?;
            w.add_route(&b)?;
            w.replace_route(&a2)?;
            w.delete_route(&RouteKey::from(&a2))?;
            w.delete_route(&RouteKey::from(&b))
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = 0;
        while seen < 5 {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(event) = monitor.recv_timeout(left)? else {
                writer.join().expect("the writer panicked")?;
                return Err(format!("timed out after {seen} of 5 route events").into());
            };
            let Event::Route(change) = event else {
                continue;
            };
            let r = change.get();
            if !ours.contains(&r.destination) {
                continue;
            }
            let what = match change {
                Change::Added(_) => "added",
                Change::Changed(_) => "changed",
                Change::Removed(_) => "removed",
            };
            let via = r.gateway().map(|g| format!(" via {g}")).unwrap_or_default();
            let kind = format!("{:?}", r.kind).to_lowercase();
            println!(
                "[ROUTE] {what} {kind} {}{via} table {}",
                r.destination, r.table
            );
            seen += 1;
        }
        writer.join().expect("the writer panicked")?;
        println!("saw all {seen} route events");
        Ok(())
    })
}
