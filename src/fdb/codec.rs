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
use crate::{IfIndex, MacAddr, VlanId, Vni};

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

/// `NDA_*` attributes (linux/neighbour.h) that FDB entries carry.
pub(super) const NDA_DST: u16 = 1;
pub(super) const NDA_LLADDR: u16 = 2;
pub(super) const NDA_VLAN: u16 = 5;
pub(super) const NDA_PORT: u16 = 6;
pub(super) const NDA_VNI: u16 = 7;
pub(super) const NDA_IFINDEX: u16 = 8;
pub(super) const NDA_MASTER: u16 = 9;
pub(super) const NDA_SRC_VNI: u16 = 11;
pub(super) const NDA_FLAGS_EXT: u16 = 15;
pub(super) const NDA_NDM_STATE_MASK: u16 = 16;
pub(super) const NDA_NDM_FLAGS_MASK: u16 = 17;

/// `struct ndmsg` (linux/neighbour.h): family, padding, ifindex, state, flags, type.
const NDMSG_LEN: usize = 12;

/// Decodes an FDB entry (`RTM_NEWNEIGH`/`RTM_DELNEIGH` of family `AF_BRIDGE`) from its
/// payload (what follows `struct nlmsghdr`). Entries of other families are `None`; a message
/// too short for its header, with broken attributes, without a device or without an Ethernet
/// MAC is an error.
pub(crate) fn fdb_from_bytes(payload: &[u8]) -> std::result::Result<Option<FdbEntry>, String> {
    use crate::wire::attr;
    if payload.len() < NDMSG_LEN {
        return Err(format!("an FDB message of {} bytes", payload.len()));
    }
    if i32::from(payload[0]) != libc::AF_BRIDGE {
        return Ok(None);
    }
    let link = IfIndex::new(attr::u32_at(payload, 4)).ok_or("an FDB entry without a device")?;
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
        state: FdbState::from_bits(NeighbourState::from_bits_retain(attr::u16_at(payload, 8))),
        flags: NeighbourFlags::from_bits_retain(payload[10]),
        ext_flags: FdbExtFlags::empty(),
    };
    let mut mac = None;
    for at in attr::attrs(&payload[NDMSG_LEN..]) {
        let (ty, value) = at?;
        match ty {
            NDA_LLADDR => mac = Some(value),
            NDA_DST => e.dst = ip_from_bytes(value),
            // VLAN 0 (none) and anything above 24 bits are not identifiers: left out.
            NDA_VLAN => {
                e.vlan = value
                    .get(..2)
                    .and_then(|v| VlanId::new(attr::u16_at(v, 0)).ok())
            }
            // Network byte order, as the kernel writes it.
            NDA_PORT => e.port = value.get(..2).map(|p| u16::from_be_bytes([p[0], p[1]])),
            NDA_VNI => e.vni = attr::u32_of(value).and_then(|v| Vni::new(v).ok()),
            NDA_SRC_VNI => e.src_vni = attr::u32_of(value).and_then(|v| Vni::new(v).ok()),
            NDA_IFINDEX => e.via = attr::u32_of(value).and_then(IfIndex::new),
            NDA_MASTER => e.master = attr::u32_of(value).and_then(IfIndex::new),
            NDA_FLAGS_EXT => {
                e.ext_flags = FdbExtFlags::from_bits_retain(attr::u32_of(value).unwrap_or(0))
            }
            _ => {}
        }
    }
    e.mac = match mac.map(MacAddr::from_slice) {
        Some(Ok(m)) => m,
        Some(Err(_)) => return Err("an FDB entry with a non-Ethernet MAC".into()),
        None => return Err("an FDB entry without a MAC".into()),
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

    /// Every field a request can set reads back from the bytes of that request: the encoder
    /// and the decoder agree on layout and byte order.
    #[test]
    fn entries_read_back_from_their_bytes() {
        use netlink_packet_core::Emitable;
        let e = NewFdbEntry {
            dst: Some("2001:db8::7".parse().unwrap()),
            vlan: Some(VlanId::new(10).unwrap()),
            port: Some(4790),
            vni: Some(Vni::new(5000).unwrap()),
            src_vni: Some(Vni::new(42).unwrap()),
            via: IfIndex::new(3),
            target: FdbTarget::Both,
            state: FdbState::Static,
            sticky: true,
            ..NewFdbEntry::new(MacAddr([2, 0, 0, 0, 0, 7]))
        };
        let m = fdb_message(&e, IfIndex::new(9).unwrap());
        let mut b = vec![0; m.buffer_len()];
        m.emit(&mut b);
        let got = fdb_from_bytes(&b).unwrap().unwrap();
        assert_eq!(got.link, IfIndex::new(9).unwrap());
        assert_eq!(got.mac, e.mac);
        assert_eq!((got.dst, got.vlan, got.port), (e.dst, e.vlan, e.port));
        assert_eq!((got.vni, got.src_vni, got.via), (e.vni, e.src_vni, e.via));
        assert_eq!(got.state, FdbState::Static);
        assert!(got
            .flags
            .contains(NeighbourFlags::SELF | NeighbourFlags::MASTER | NeighbourFlags::STICKY));

        // Hostile: short, another family, no device, no MAC, a MAC of 5 bytes.
        assert!(fdb_from_bytes(&[7, 0]).is_err());
        let mut other = b.clone();
        other[0] = libc::AF_INET as u8;
        assert_eq!(fdb_from_bytes(&other), Ok(None));
        let mut no_dev = b.clone();
        no_dev[4..8].copy_from_slice(&0u32.to_ne_bytes());
        assert!(fdb_from_bytes(&no_dev).is_err());
        let bare = fdb_message(&NewFdbEntry::new(MacAddr::ZERO), IfIndex::new(9).unwrap());
        let mut b = vec![0; bare.buffer_len()];
        bare.emit(&mut b);
        assert!(fdb_from_bytes(&b[..12])
            .unwrap_err()
            .contains("without a MAC"));
        b[12..14].copy_from_slice(&9u16.to_ne_bytes()); // the MAC attribute, 5 bytes long
        assert!(fdb_from_bytes(&b).unwrap_err().contains("non-Ethernet"));
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
