//! flannel's `vxlan` data path on one host: a remote lease's neighbour, FDB and route entries on
//! the VXLAN device, and the pods behind the host's `cni0` bridge.

use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::addr::NewAddress;
use netplumb::fdb::NewFdbEntry;
use netplumb::link::{NewBridge, NewVeth};
use netplumb::neighbour::NewNeighbour;
use netplumb::route::{NewRoute, RouteKey};
use netplumb::{Handle, MacAddr, NetNs};

use crate::{Lab, Result};

/// The MTU of `flannel.1` and of the pods on a 1500-byte underlay: less the 50 bytes of
/// VXLAN over IPv4.
pub const OVERLAY_MTU: u32 = 1450;

/// Where a remote host's pods are: its subnet and its VXLAN endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VtepLease {
    /// The host's pod subnet.
    pub subnet: Ipv4Network,
    /// Its underlay address, the tunnel's endpoint.
    pub public_ip: Ipv4Addr,
    /// The MAC address of its VXLAN device.
    pub vtep_mac: MacAddr,
}

impl VtepLease {
    /// The address flannel puts on the VXLAN device and the subnet's gateway on other hosts:
    /// the subnet's network address.
    pub fn gateway(&self) -> Ipv4Addr {
        self.subnet.network()
    }
}

/// The entries one lease put on one host, so that they can be taken out again.
#[derive(Debug, Default)]
pub struct LeaseEntries {
    neighbour: Option<IpAddr>,
    fdb: Option<NewFdbEntry>,
    route: Option<IpNetwork>,
}

impl LeaseEntries {
    /// How many entries are in place.
    pub fn len(&self) -> usize {
        usize::from(self.neighbour.is_some())
            + usize::from(self.fdb.is_some())
            + usize::from(self.route.is_some())
    }

    /// Whether nothing is in place.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How [`program_lease`] writes each entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Create it; one that exists is an error (`ip neigh add`, …).
    Add,
    /// Create or replace it, as flannel does, so that a lease seen again (after a restart)
    /// changes nothing (`ip neigh replace`, …).
    Replace,
}

/// Programs a remote lease on a host's VXLAN device `dev`, as flannel does for each subnet it
/// learns of and in its order: neighbour (gateway → VTEP MAC, permanent), FDB (VTEP MAC →
/// underlay address), route (subnet via gateway, onlink). When a step fails, the steps done
/// are undone and the first error is returned.
pub fn program_lease(
    h: &Handle,
    dev: &str,
    lease: &VtepLease,
    write: Write,
) -> Result<LeaseEntries> {
    let mut done = LeaseEntries::default();
    let subnet = lease.subnet;
    let result = (|| -> Result<()> {
        let gateway = IpAddr::V4(lease.gateway());
        let neighbour = NewNeighbour::new(gateway, lease.vtep_mac);
        match write {
            Write::Add => h.add_neighbour(dev, &neighbour),
            Write::Replace => h.replace_neighbour(dev, &neighbour),
        }
        .map_err(|e| format!("neighbour {gateway} for {subnet}: {e}"))?;
        done.neighbour = Some(gateway);
        let fdb = NewFdbEntry {
            dst: Some(IpAddr::V4(lease.public_ip)),
            ..NewFdbEntry::new(lease.vtep_mac)
        };
        match write {
            Write::Add => h.add_fdb(dev, &fdb),
            Write::Replace => h.replace_fdb(dev, &fdb),
        }
        .map_err(|e| format!("fdb {} for {subnet}: {e}", lease.vtep_mac))?;
        done.fdb = Some(fdb);
        let mut route = NewRoute::via_dev(IpNetwork::V4(subnet), gateway, dev)?;
        route.next_hops[0].onlink = true;
        match write {
            Write::Add => h.add_route(&route),
            Write::Replace => h.replace_route(&route),
        }
        .map_err(|e| format!("route {subnet}: {e}"))?;
        done.route = Some(IpNetwork::V4(subnet));
        Ok(())
    })();
    match result {
        Ok(()) => Ok(done),
        Err(e) => {
            let undone = done.len();
            if let Err(undo) = unprogram_lease(h, dev, &mut done) {
                return Err(format!("{e}; undoing the steps done also failed: {undo}").into());
            }
            Err(format!("{e} (undid {undone} entries)").into())
        }
    }
}

/// Removes what [`program_lease`] put in place, in reverse order; `entries` keeps what could
/// not be removed.
pub fn unprogram_lease(h: &Handle, dev: &str, entries: &mut LeaseEntries) -> Result<()> {
    if let Some(route) = entries.route {
        let mut key = RouteKey::new(route);
        key.dev = Some(dev.into());
        h.delete_route(&key)?;
        entries.route = None;
    }
    if let Some(fdb) = &entries.fdb {
        h.delete_fdb(dev, fdb)?;
        entries.fdb = None;
    }
    if let Some(n) = entries.neighbour {
        h.delete_neighbour(dev, n)?;
        entries.neighbour = None;
    }
    Ok(())
}

/// Removes a remote lease's entries as flannel does when the lease goes, from the cached lease
/// and in flannel's order (neighbour, FDB, route), each ignoring "not found" (an entry the
/// kernel dropped already, or that never was). Returns how many were removed.
pub fn remove_lease(h: &Handle, dev: &str, lease: &VtepLease) -> Result<usize> {
    let gone = |r: netplumb::Result<()>| -> Result<usize> {
        match r {
            Ok(()) => Ok(1),
            Err(e) if e.is_not_found() => Ok(0),
            Err(e) => Err(e.into()),
        }
    };
    let subnet = lease.subnet;
    let mut n = gone(h.delete_neighbour(dev, IpAddr::V4(lease.gateway())))
        .map_err(|e| format!("delete neighbour for {subnet}: {e}"))?;
    let fdb = NewFdbEntry {
        dst: Some(IpAddr::V4(lease.public_ip)),
        ..NewFdbEntry::new(lease.vtep_mac)
    };
    n += gone(h.delete_fdb(dev, &fdb)).map_err(|e| format!("delete fdb for {subnet}: {e}"))?;
    let mut key = RouteKey::new(IpNetwork::V4(subnet));
    key.dev = Some(dev.into());
    n += gone(h.delete_route(&key)).map_err(|e| format!("delete route {subnet}: {e}"))?;
    Ok(n)
}

/// A pod: a namespace behind a host's `cni0`.
pub struct Pod {
    /// Its short name in the lab (`h1-pod2`).
    pub name: String,
    /// Its namespace.
    pub ns: NetNs,
    /// Its address.
    pub ip: Ipv4Addr,
}

/// Builds what flannel's CNI plugin (delegating to `bridge`) builds on host `host`: a bridge
/// `cni0` with the subnet's first address, and `pods` pod namespaces `PREFIX-hHOST-podP`
/// attached to it by veth (`eth0` with the subnet's next addresses, default route via
/// `cni0`), with `mtu` on both ends.
pub fn add_pods(
    lab: &mut Lab,
    h: &Handle,
    host: u8,
    subnet: Ipv4Network,
    pods: u8,
    mtu: u32,
) -> Result<Vec<Pod>> {
    let gw = Ipv4Addr::from(u32::from(subnet.network()) + 1);
    h.add_bridge(&NewBridge::new("cni0"))?;
    h.add_address("cni0", &NewAddress::new(IpAddr::V4(gw), subnet.prefix())?)?;
    h.set_link_up("cni0")?;
    let mut out = Vec::new();
    for p in 1..=pods {
        let short = format!("h{host}-pod{p}");
        let pns = lab.netns(&short)?;
        let ip = Ipv4Addr::from(u32::from(subnet.network()) + 1 + u32::from(p));
        let host_end = format!("veth{p}");
        let mut veth = NewVeth::new(&host_end, "eth0");
        veth.peer.netns = Some(&pns);
        // The pods' MTU leaves room for the VXLAN header, as flannel's CNI plugin sets it.
        veth.mtu = Some(mtu);
        veth.peer.mtu = Some(mtu);
        h.add_veth(&veth)?;
        h.set_link_master(host_end.as_str(), "cni0")?;
        h.set_link_up(host_end.as_str())?;
        let hp = Handle::new_in(&pns)?;
        hp.add_address("eth0", &NewAddress::new(IpAddr::V4(ip), subnet.prefix())?)?;
        hp.set_link_up("eth0")?;
        hp.add_route(&NewRoute::via("0.0.0.0/0".parse()?, IpAddr::V4(gw))?)?;
        out.push(Pod {
            name: short,
            ns: pns,
            ip,
        });
    }
    Ok(out)
}
