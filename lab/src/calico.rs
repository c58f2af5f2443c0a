//! What calico's Felix does on a node for every pod, shared by the calico examples: a veth with
//! a `caliXXXXXXXXXXX` host end that answers the pod's fictional gateway by proxy ARP, the pod's
//! /32 route on the host, and the node's pod block as a blackhole aggregate.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::addr::NewAddress;
use netplumb::link::NewVeth;
use netplumb::neighbour::NeighbourTableParams;
use netplumb::netconf::{ConfKnob, ConfScope};
use netplumb::route::{NewRoute, RouteProtocol, RouteScope, RouteType};
use netplumb::{Handle, IpFamily, MacAddr, NetNs};

use crate::{Endpoint, Lab, Result};

/// The MAC calico gives the host end of every pod's veth.
pub const CALI_MAC: MacAddr = MacAddr([0xee; 6]);
/// The pods' gateway, answered by the host's proxy ARP.
pub const POD_GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);

/// Host `host`'s pod block, 10.65.H.0/26 (calico's default block size; 62 usable addresses).
pub fn block(host: u8) -> Ipv4Network {
    Ipv4Network::new(Ipv4Addr::new(10, 65, host, 0), 26).expect("a /26")
}

/// The IP pool the blocks are carved from, 10.65.0.0/16.
pub fn pool() -> Ipv4Network {
    Ipv4Network::new(Ipv4Addr::new(10, 65, 0, 0), 16).expect("a /16")
}

/// Calico names the host end `cali` + 11 hex digits of a hash of the workload's identity.
pub fn cali_name(workload: &str) -> String {
    // FNV-1a, 64 bits: stable, and enough to tell the pods of a run apart.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in workload.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h ^= h >> 33;
    format!("cali{:011x}", h & 0xfff_ffff_ffff)
}

/// A pod: its namespace `PREFIX-hH-podP`, its /32 address and the host end of its veth.
pub struct Pod {
    /// `hH-podP`.
    pub name: String,
    /// The pod's namespace.
    pub ns: NetNs,
    /// Its address, the P+1th of the host's block.
    pub ip: Ipv4Addr,
    /// The host end of its veth.
    pub cali: String,
}

impl Pod {
    /// The pod as an [`EchoMatrix`](crate::EchoMatrix) endpoint of host `host`.
    pub fn endpoint(&self, host: u8) -> Endpoint<'_> {
        Endpoint {
            name: &self.name,
            host,
            ns: &self.ns,
            ip: IpAddr::V4(self.ip),
        }
    }
}

/// Blackholes the host's whole block (`blackhole 10.65.H.0/26 proto static`), so that an
/// unallocated address in it is dropped there instead of following the default route.
pub fn add_block_blackhole(h: &Handle, block: Ipv4Network) -> Result<()> {
    let mut blackhole = NewRoute::of_kind(RouteType::Blackhole, IpNetwork::V4(block))?;
    blackhole.protocol = RouteProtocol::STATIC;
    h.add_route(&blackhole)?;
    Ok(())
}

/// Creates pod `p` of host `host` (whose namespace is `host_ns`, handle `h`): the pod's
/// namespace, the veth (`eth0` in the pod with the /32, `caliX` on the host with [`CALI_MAC`],
/// proxy ARP on and no proxy delay), the pod's routes (`169.254.1.1 dev eth0 scope link`,
/// `default via 169.254.1.1`) and the host's route to it (`/32 dev caliX scope link`).
pub fn add_pod(
    lab: &mut Lab,
    host_ns: &NetNs,
    h: &Handle,
    host: u8,
    p: u8,
    block: Ipv4Network,
) -> Result<Pod> {
    let name = format!("h{host}-pod{p}");
    let pns = lab.netns(&name)?;
    let ip = Ipv4Addr::from(u32::from(block.network()) + 1 + u32::from(p));
    let cali = cali_name(&lab.name(&name));
    let mut veth = NewVeth::new(&cali, "eth0");
    veth.mac = Some(CALI_MAC);
    veth.peer.netns = Some(&pns);
    h.add_veth(&veth)?;
    // Proxy ARP on the host end answers the pod's "who has 169.254.1.1" with the host's MAC; a
    // zero delay answers at once instead of after up to 0.8 s.
    host_ns.set_conf(ConfScope::Link(&cali), ConfKnob::ProxyArp, 1)?;
    h.set_neighbour_table(
        IpFamily::V4,
        Some(cali.as_str().into()),
        &NeighbourTableParams {
            proxy_delay: Some(Duration::ZERO),
            ..NeighbourTableParams::default()
        },
    )?;
    h.set_link_up(cali.as_str())?;

    let hp = Handle::new_in(&pns)?;
    hp.add_address("eth0", &NewAddress::new(IpAddr::V4(ip), 32)?)?;
    hp.set_link_up("eth0")?;
    let mut gw = NewRoute::dev("169.254.1.1/32".parse()?, "eth0")?;
    gw.scope = Some(RouteScope::Link);
    hp.add_route(&gw)?;
    let default = NewRoute::via_dev("0.0.0.0/0".parse()?, IpAddr::V4(POD_GATEWAY), "eth0")?;
    hp.add_route(&default)?;

    let mut to_pod = NewRoute::dev(IpNetwork::V4(Ipv4Network::new(ip, 32)?), cali.as_str())?;
    to_pod.scope = Some(RouteScope::Link);
    h.add_route(&to_pod)?;
    Ok(Pod {
        name,
        ns: pns,
        ip,
        cali,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cali_names_fit_an_interface_name_and_tell_pods_apart() {
        let a = cali_name("np-h1-pod0");
        assert_eq!(a.len(), 15, "IFNAMSIZ - 1");
        assert!(a.starts_with("cali") && a[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, cali_name("np-h1-pod0"), "stable");
        assert_ne!(a, cali_name("np-h1-pod1"));
    }

    #[test]
    fn blocks_are_the_pools_26s() {
        assert_eq!(block(3).to_string(), "10.65.3.0/26");
        assert!(pool().contains(block(200).network()));
    }
}
