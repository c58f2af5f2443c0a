//! `ip route get` on a small topology: a connected address, one behind a gateway, one covered
//! by an `unreachable` route and one with no route at all; the last two come back as the
//! kernel's errors, printed as such.
//!
//! Everything happens in a fresh, unnamed network namespace that disappears with the process.
//! Run as root: `cargo run --release --example route_get`. The same by hand:
//!
//! ```text
//! ip link add eth0 type veth peer name eth0p
//! ip addr add 10.0.0.1/24 dev eth0; ip link set eth0 up; ip link set eth0p up
//! ip route add 10.20.0.0/16 via 10.0.0.254
//! ip route add unreachable 10.66.0.0/16
//! ip route get 10.0.0.7; ip route get 10.20.3.4; ip route get 10.66.1.1; ip route get 192.0.2.9
//! ```

use netplumb::link::NewVeth;
use netplumb::route::{NewRoute, RouteQuery, RouteType};
use netplumb::{Handle, NetNs};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed()?;
    let h = Handle::new_in(&ns)?;
    h.add_veth(&NewVeth::new("eth0", "eth0p"))?;
    h.add_address("eth0", &"10.0.0.1/24".parse()?)?;
    h.set_link_up("eth0")?;
    h.set_link_up("eth0p")?;
    h.add_route(&NewRoute::via(
        "10.20.0.0/16".parse()?,
        "10.0.0.254".parse()?,
    )?)?;
    h.add_route(&NewRoute::of_kind(
        RouteType::Unreachable,
        "10.66.0.0/16".parse()?,
    )?)?;

    let mut answered = 0;
    for dest in ["10.0.0.7", "10.20.3.4", "10.66.1.1", "192.0.2.9"] {
        match h.route_get(&RouteQuery::new(dest.parse()?)) {
            Ok(r) => {
                let via = r.gateway().map(|g| format!(" via {g}")).unwrap_or_default();
                let dev = match r.dev() {
                    Some(i) => format!(" dev {}", h.link(i)?.name),
                    None => String::new(),
                };
                let src = r
                    .preferred_source
                    .map(|s| format!(" src {s}"))
                    .unwrap_or_default();
                println!("{dest}{via}{dev} table {}{src}", r.table);
                answered += 1;
            }
            // No route, or an unreachable/prohibit route: the kernel's errno says which.
            Err(e) => match e.errno() {
                Some(errno) => println!("{dest}: {} ({errno:?})", errno.desc()),
                None => return Err(e.into()),
            },
        }
    }
    if answered != 2 {
        return Err(format!("expected 2 routes and 2 errors, got {answered} routes").into());
    }
    Ok(())
}
