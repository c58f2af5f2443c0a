//! FDB messages: `RTM_NEWNEIGH` / `RTM_DELNEIGH` / `RTM_GETNEIGH` of family `AF_BRIDGE`,
//! through `netlink-packet-route`, laid out as iproute2's `bridge fdb` lays them out.

use std::net::IpAddr;

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags as NlFlags, NeighbourHeader,
    NeighbourMessage, NeighbourState as NlState,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::AddressFamily;

use super::types::{FdbEntry, FdbExtFlags, FdbState, FdbTarget, NewFdbEntry};
use crate::neighbour::{NeighbourFlags, NeighbourState};
use crate::{Error, IfIndex, MacAddr, Result, VlanId, Vni};

/// The `RTM_NEWNEIGH` / `RTM_DELNEIGH` body for an FDB entry, laid out as iproute2 lays it out.
pub(crate) fn fdb_message(e: &NewFdbEntry, link: IfIndex) -> NeighbourMessage {
    let mut flags = match e.target {
        FdbTarget::SelfOnly => NlFlags::Own,
        FdbTarget::Master => NlFlags::Controller,
        FdbTarget::Both => NlFlags::Own | NlFlags::Controller,
    };
    if e.sticky {
        flags |= NlFlags::Sticky;
    }
    if e.extern_learn {
        flags |= NlFlags::ExtLearned;
    }
    let mut msg = NeighbourMessage::default();
    msg.header = NeighbourHeader {
        family: AddressFamily::Bridge,
        ifindex: link.get(),
        state: NlState::from(e.state.bits().bits()),
        flags,
        kind: RouteType::Unspec,
    };
    let attrs = &mut msg.attributes;
    attrs.push(NeighbourAttribute::LinkLayerAddress(e.mac.0.to_vec()));
    if let Some(dst) = e.dst {
        let bytes = match dst {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        attrs.push(NeighbourAttribute::Destination(NeighbourAddress::Other(
            bytes,
        )));
    }
    if let Some(v) = e.vlan {
        attrs.push(NeighbourAttribute::Vlan(v.get()));
    }
    if let Some(p) = e.port {
        attrs.push(NeighbourAttribute::Port(p));
    }
    if let Some(v) = e.vni {
        attrs.push(NeighbourAttribute::Vni(v.get()));
    }
    if let Some(v) = e.src_vni {
        attrs.push(NeighbourAttribute::SourceVni(v.get()));
    }
    if let Some(via) = e.via {
        attrs.push(NeighbourAttribute::IfIndex(via.get()));
    }
    msg
}

/// The kernel gives a bridge-family `NDA_DST` as raw bytes: four for IPv4, sixteen for IPv6.
pub(super) fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Converts a dumped FDB entry; entries of other families are skipped.
pub(crate) fn fdb_from_message(m: NeighbourMessage) -> Result<Option<FdbEntry>> {
    if m.header.family != AddressFamily::Bridge {
        return Ok(None);
    }
    let op = "list fdb entries";
    let link = IfIndex::new(m.header.ifindex)
        .ok_or_else(|| Error::malformed(op, "an FDB entry without a device"))?;
    let mut e = FdbEntry {
        link,
        mac: MacAddr::ZERO,
        vlan: None,
        dst: None,
        port: None,
        vni: None,
        src_vni: None,
        via: None,
        master: None,
        state: FdbState::from_bits(NeighbourState::from_bits_retain(u16::from(m.header.state))),
        flags: NeighbourFlags::from_bits_retain(m.header.flags.bits()),
        ext_flags: FdbExtFlags::empty(),
    };
    let mut mac = None;
    for attr in m.attributes {
        match attr {
            NeighbourAttribute::LinkLayerAddress(l) => mac = Some(MacAddr::from_slice(&l)),
            NeighbourAttribute::Destination(d) => {
                e.dst = match d {
                    NeighbourAddress::Inet(a) => Some(a.into()),
                    NeighbourAddress::Inet6(a) => Some(a.into()),
                    NeighbourAddress::Other(b) => ip_from_bytes(&b),
                    _ => None,
                }
            }
            // VLAN 0 (none) and anything above 24 bits are not identifiers: left out.
            NeighbourAttribute::Vlan(v) => e.vlan = VlanId::new(v).ok(),
            NeighbourAttribute::Port(p) => e.port = Some(p),
            NeighbourAttribute::Vni(v) => e.vni = Vni::new(v).ok(),
            NeighbourAttribute::SourceVni(v) => e.src_vni = Vni::new(v).ok(),
            NeighbourAttribute::IfIndex(i) => e.via = IfIndex::new(i),
            NeighbourAttribute::Controller(i) => e.master = IfIndex::new(i),
            NeighbourAttribute::ExtFlags(f) => {
                e.ext_flags = FdbExtFlags::from_bits_retain(f.bits())
            }
            _ => {}
        }
    }
    e.mac = match mac {
        Some(Ok(m)) => m,
        Some(Err(_)) => return Err(Error::malformed(op, "an FDB entry with a non-Ethernet MAC")),
        None => return Err(Error::malformed(op, "an FDB entry without a MAC")),
    };
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_use_iproute2_bits() {
        assert_eq!(FdbState::Permanent.bits().bits(), 0xc0);
        assert_eq!(FdbState::Static.bits().bits(), 0x42);
        assert_eq!(FdbState::Dynamic.bits().bits(), 0x02);
        for s in [FdbState::Permanent, FdbState::Static, FdbState::Dynamic] {
            assert_eq!(FdbState::from_bits(s.bits()), s);
        }
        assert_eq!(
            FdbState::from_bits(NeighbourState::STALE),
            FdbState::Dynamic
        );
    }

    #[test]
    fn remote_addresses_are_decided_by_length() {
        assert_eq!(
            ip_from_bytes(&[192, 0, 2, 1]),
            Some("192.0.2.1".parse().unwrap())
        );
        let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(ip_from_bytes(&v6.octets()), Some(IpAddr::V6(v6)));
        assert_eq!(ip_from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn append_flood_entry_layout() {
        let e = NewFdbEntry::flood("192.0.2.2".parse().unwrap());
        let m = fdb_message(&e, IfIndex::new(7).unwrap());
        assert_eq!(m.header.family, AddressFamily::Bridge);
        assert_eq!(m.header.flags, NlFlags::Own);
        assert_eq!(u16::from(m.header.state), 0xc0);
        assert_eq!(
            m.attributes,
            vec![
                NeighbourAttribute::LinkLayerAddress(vec![0; 6]),
                NeighbourAttribute::Destination(NeighbourAddress::Other(vec![192, 0, 2, 2])),
            ]
        );
    }
}
