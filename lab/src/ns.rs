//! Setting up namespaces beyond creating them: sysctls inside one, and the underlay LAN that
//! the simulated hosts of the overlay examples share.

use std::net::{IpAddr, Ipv4Addr};

use netplumb::addr::NewAddress;
use netplumb::link::{NewBridge, NewVeth};
use netplumb::netconf::{ConfKnob, ConfScope};
use netplumb::route::NewRoute;
use netplumb::{Handle, NetNs};

use crate::{Lab, Result};

/// Writes `value` to `/proc/sys/KEY` inside `ns`: `ip netns exec NS sysctl -w KEY=VALUE`. KEY
/// is dotted (`net.ipv4.ip_forward`) or, when it names a device whose name has a dot
/// (`flannel.1`), a path (`net/ipv4/conf/flannel.1/proxy_arp`). The `net.*` tree is per
/// namespace, so this changes nothing outside `ns`.
pub fn sysctl(ns: &NetNs, key: &str, value: &str) -> Result<()> {
    let path = if key.contains('/') {
        format!("/proc/sys/{key}")
    } else {
        format!("/proc/sys/{}", key.replace('.', "/"))
    };
    ns.run(|| std::fs::write(&path, value))?
        .map_err(|e| format!("sysctl -w {key}={value}: {e}"))?;
    Ok(())
}

/// The underlay LAN the simulated hosts share: a bridge `br0` in a namespace of its own
/// (`PREFIX-underlay`), each host's `eth0` attached to it by veth, with the address
/// 192.168.100.H/24. With a router address, `br0` carries it and every host routes its
/// default through it.
pub struct Underlay {
    handle: Handle,
    router: Option<Ipv4Addr>,
}

impl Underlay {
    /// The underlay's subnet: host H is 192.168.100.H.
    pub fn host_ip(host: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 100, host)
    }

    /// Makes the underlay namespace and its bridge (with `router` on it, if given).
    pub fn new(lab: &mut Lab, router: Option<Ipv4Addr>) -> Result<Underlay> {
        let ns = lab.netns("underlay")?;
        let handle = Handle::new_in(&ns)?;
        handle.add_bridge(&NewBridge::new("br0"))?;
        if let Some(r) = router {
            handle.add_address("br0", &NewAddress::new(IpAddr::V4(r), 24)?)?;
        }
        handle.set_link_up("br0")?;
        Ok(Underlay { handle, router })
    }

    /// Makes host `host`'s namespace `PREFIX-hostH` on the underlay: `eth0` up with
    /// 192.168.100.H/24 (its peer `uplinkH` on `br0`), IPv4 forwarding on, and the default
    /// route through the router if there is one.
    pub fn add_host(&self, lab: &mut Lab, host: u8) -> Result<(NetNs, Handle)> {
        let (ns, h) = self.add_node(
            lab,
            &format!("host{host}"),
            &format!("uplink{host}"),
            Underlay::host_ip(host),
        )?;
        ns.set_conf(ConfScope::All, ConfKnob::Ipv4Forwarding, 1)?;
        Ok((ns, h))
    }

    /// Makes a namespace `PREFIX-SHORT` on the underlay that is not a host (a datastore, say):
    /// `eth0` up with `address`/24, its peer `uplink` on `br0`, and the default route through
    /// the router if there is one.
    pub fn add_node(
        &self,
        lab: &mut Lab,
        short: &str,
        uplink: &str,
        address: Ipv4Addr,
    ) -> Result<(NetNs, Handle)> {
        let ns = lab.netns(short)?;
        let h = Handle::new_in(&ns)?;
        let mut veth = NewVeth::new(uplink, "eth0");
        veth.peer.netns = Some(&ns);
        self.handle.add_veth(&veth)?;
        self.handle.set_link_master(uplink, "br0")?;
        self.handle.set_link_up(uplink)?;
        h.add_address("eth0", &NewAddress::new(IpAddr::V4(address), 24)?)?;
        h.set_link_up("eth0")?;
        if let Some(r) = self.router {
            h.add_route(&NewRoute::via("0.0.0.0/0".parse()?, IpAddr::V4(r))?)?;
        }
        Ok((ns, h))
    }
}
