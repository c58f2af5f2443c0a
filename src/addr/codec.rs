//! Address messages (`RTM_NEWADDR`, `RTM_DELADDR`, `RTM_GETADDR`), encoded and decoded
//! through `netlink-packet-route`; every input checked before sending.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnetwork::IpNetwork;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags as NlAddressFlags, AddressHeaderFlags, AddressMessage,
    AddressScope as NlScope, CacheInfo,
};

use super::types::{Address, AddressFlags, AddressScope, NewAddress};
use crate::types::IFNAMSIZ;
use crate::wire::address_family;
use crate::{Error, IfIndex, IpFamily, Result};

const FOREVER: u32 = u32::MAX;

fn lifetime_secs(arg: &'static str, d: Option<Duration>) -> Result<u32> {
    match d {
        None => Ok(FOREVER),
        Some(d) => match u32::try_from(d.as_secs()) {
            Ok(s) if s < FOREVER => Ok(s),
            _ => Err(Error::invalid(
                arg,
                format!("{d:?} is too long; use None for forever"),
            )),
        },
    }
}

/// The `RTM_NEWADDR` request for `a`; `index` resolves the link once the input is known good.
pub(crate) fn address_message(
    a: &NewAddress,
    index: impl FnOnce() -> Result<IfIndex>,
) -> Result<AddressMessage> {
    let family = IpFamily::of(a.address.ip());
    if let Some(peer) = a.peer {
        if IpFamily::of(peer) != family {
            return Err(Error::invalid(
                "peer",
                format!("{peer} is not of the same family as {}", a.address),
            ));
        }
    }
    if a.broadcast.is_some() && family == IpFamily::V6 {
        return Err(Error::invalid(
            "broadcast",
            "IPv6 has no broadcast addresses",
        ));
    }
    if let Some(label) = &a.label {
        if label.is_empty() || label.len() >= IFNAMSIZ || label.contains('\0') {
            return Err(Error::invalid(
                "label",
                format!("{label:?}: a label is 1 to {} bytes", IFNAMSIZ - 1),
            ));
        }
        if family == IpFamily::V6 {
            return Err(Error::invalid(
                "label",
                "labels exist for IPv4 addresses only",
            ));
        }
    }
    let valid = lifetime_secs("valid lifetime", a.valid_lifetime)?;
    let preferred = lifetime_secs("preferred lifetime", a.preferred_lifetime)?;
    if preferred > valid {
        return Err(Error::invalid(
            "preferred lifetime",
            "the preferred lifetime cannot exceed the valid lifetime",
        ));
    }
    let index = index()?;
    let mut msg = AddressMessage::default();
    msg.header.family = address_family(family);
    msg.header.prefix_len = a.address.prefix();
    msg.header.index = index.get();
    msg.header.flags = AddressHeaderFlags::from_bits_retain((a.flags.bits() & 0xff) as u8);
    if let Some(scope) = a.scope {
        msg.header.scope = NlScope::from(u8::from(scope));
    }
    let local = a.address.ip();
    msg.attributes.push(AddressAttribute::Local(local));
    msg.attributes
        .push(AddressAttribute::Address(a.peer.unwrap_or(local)));
    if let Some(b) = a.broadcast {
        msg.attributes.push(AddressAttribute::Broadcast(b));
    }
    if let Some(label) = &a.label {
        msg.attributes.push(AddressAttribute::Label(label.clone()));
    }
    // Flags beyond the header's 8 bits travel in IFA_FLAGS, as iproute2 sends them.
    if a.flags.bits() > 0xff {
        msg.attributes
            .push(AddressAttribute::Flags(NlAddressFlags::from_bits_retain(
                a.flags.bits(),
            )));
    }
    if valid != FOREVER || preferred != FOREVER {
        // struct ifa_cacheinfo { preferred, valid, cstamp, tstamp }
        let mut raw = [0u8; 16];
        raw[0..4].copy_from_slice(&preferred.to_ne_bytes());
        raw[4..8].copy_from_slice(&valid.to_ne_bytes());
        let info =
            CacheInfo::parse(&raw).map_err(|e| Error::malformed("add address", e.to_string()))?;
        msg.attributes.push(AddressAttribute::CacheInfo(info));
    }
    if let Some(m) = a.metric {
        msg.attributes.push(AddressAttribute::RoutePriority(m));
    }
    Ok(msg)
}

pub(crate) fn address_from_message(m: AddressMessage) -> Result<Address> {
    let op = "list addresses";
    let index =
        IfIndex::new(m.header.index).ok_or_else(|| Error::malformed(op, "address on index 0"))?;
    let (mut local, mut addr) = (None, None);
    let mut a = Address {
        index,
        address: IpNetwork::from(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        peer: None,
        broadcast: None,
        scope: AddressScope::from(u8::from(m.header.scope)),
        label: None,
        flags: AddressFlags::from_bits_retain(u32::from(m.header.flags.bits())),
        valid_lifetime: None,
        preferred_lifetime: None,
        metric: None,
    };
    for attr in m.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(ip),
            AddressAttribute::Address(ip) => addr = Some(ip),
            AddressAttribute::Broadcast(b) => a.broadcast = Some(b),
            AddressAttribute::Label(l) => a.label = Some(l),
            AddressAttribute::Flags(f) => a.flags = AddressFlags::from_bits_retain(f.bits()),
            AddressAttribute::RoutePriority(p) => a.metric = Some(p),
            AddressAttribute::CacheInfo(c) => {
                let secs = |v: u32| (v != FOREVER).then(|| Duration::from_secs(v.into()));
                a.valid_lifetime = secs(c.ifa_valid);
                a.preferred_lifetime = secs(c.ifa_preferred);
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address when present; IFA_ADDRESS is then the peer.
    let own = match (local, addr) {
        (Some(l), Some(p)) => {
            if p != l {
                a.peer = Some(p);
            }
            l
        }
        (Some(ip), None) | (None, Some(ip)) => ip,
        (None, None) => return Err(Error::malformed(op, "an address message without address")),
    };
    a.address = IpNetwork::new(own, m.header.prefix_len).map_err(|_| {
        Error::malformed(
            op,
            format!("prefix length {} for {own}", m.header.prefix_len),
        )
    })?;
    Ok(a)
}

/// The `RTM_DELADDR` request for `address` on link `index` (`ip addr del ADDRESS/LEN dev L`).
pub(crate) fn delete_message(address: IpNetwork, index: IfIndex) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = address_family(IpFamily::of(address.ip()));
    msg.header.prefix_len = address.prefix();
    msg.header.index = index.get();
    msg.attributes.push(AddressAttribute::Local(address.ip()));
    msg.attributes.push(AddressAttribute::Address(address.ip()));
    msg
}

/// The `RTM_GETADDR` dump request: a family, a link (honoured by kernels with strict dump
/// checking; the caller filters again for others).
pub(crate) fn dump_message(family: Option<IpFamily>, index: Option<IfIndex>) -> AddressMessage {
    let mut req = AddressMessage::default();
    if let Some(f) = family {
        req.header.family = address_family(f);
    }
    if let Some(i) = index {
        req.header.index = i.get();
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_new_address() {
        let a: NewAddress = "fd00::1/64".parse().unwrap();
        assert_eq!(a.address.to_string(), "fd00::1/64");
        let host: NewAddress = "192.0.2.7".parse().unwrap();
        assert_eq!(host.address.prefix(), 32);
        for bad in [
            "10.0.0.1/33",
            "fd00::1/129",
            "10.0.0.1/x",
            "nonsense/8",
            "10.0.0.1/-1",
        ] {
            let e = bad.parse::<NewAddress>().unwrap_err();
            assert!(matches!(e, Error::InvalidInput { .. }), "{bad}: {e}");
        }
        let e = NewAddress::new("10.0.0.1".parse().unwrap(), 40).unwrap_err();
        assert!(e.to_string().contains("/40 is longer than /32"), "{e}");
    }

    #[test]
    fn scope_round_trip() {
        for v in [0u8, 200, 253, 254, 255, 17] {
            assert_eq!(u8::from(AddressScope::from(v)), v);
        }
    }

    #[test]
    fn peer_is_separated_from_local() {
        let mut m = AddressMessage::default();
        m.header.index = 3;
        m.header.prefix_len = 32;
        m.attributes
            .push(AddressAttribute::Address("10.9.0.2".parse().unwrap()));
        m.attributes
            .push(AddressAttribute::Local("10.9.0.1".parse().unwrap()));
        let a = address_from_message(m).unwrap();
        assert_eq!(a.address.to_string(), "10.9.0.1/32");
        assert_eq!(a.peer, Some("10.9.0.2".parse().unwrap()));
    }
}
