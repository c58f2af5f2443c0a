//! Address messages (`RTM_NEWADDR`, `RTM_DELADDR`, `RTM_GETADDR`), encoded and decoded
//! through `netlink-packet-route`; every input checked before sending.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnetwork::IpNetwork;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags as NlAddressFlags, AddressHeaderFlags, AddressMessage,
    AddressProtocol as NlAddressProtocol, AddressScope as NlScope, CacheInfo,
};

use super::types::{Address, AddressFlags, AddressKey, AddressProtocol, AddressScope, NewAddress};
use crate::types::IFNAMSIZ;
use crate::wire::address_family;
use crate::wire::attr;
use crate::wire::kernel::{IFA_PROTO, IFA_RT_PRIORITY};
use crate::{Error, IfIndex, IfName, IpFamily, Result};

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
    if let Some(p) = a.protocol {
        msg.attributes
            .push(AddressAttribute::Protocol(NlAddressProtocol::from(p.0)));
    }
    Ok(msg)
}

/// Byte offsets of `struct ifaddrmsg` (linux/if_addr.h).
mod field {
    /// `ifa_family` (u8).
    pub const FAMILY: usize = 0;
    /// `ifa_prefixlen` (u8).
    pub const PREFIX_LEN: usize = 1;
    /// `ifa_flags` (u8): the low 8 bits of the flags (all of them in `IFA_FLAGS`).
    pub const FLAGS: usize = 2;
    /// `ifa_scope` (u8).
    pub const SCOPE: usize = 3;
    /// `ifa_index` (u32).
    pub const INDEX: std::ops::Range<usize> = 4..8;
}

/// The length of `struct ifaddrmsg`.
const HEADER_LEN: usize = field::INDEX.end;

/// Decodes the payload of an `RTM_NEWADDR` or `RTM_DELADDR` (the bytes after the netlink
/// header), read straight from its bytes so that the label keeps the kernel's exact bytes.
/// `None` for a family other than IPv4 and IPv6 (MCTP…).
///
/// What a user can configure always decodes; a number or broadcast address of the wrong size is
/// left out. Only a message the kernel does not send is an error: a header too short, an
/// attribute running past the message, index 0, no address or one of the wrong size, a prefix
/// longer than the family's, a label longer than the kernel's.
pub(crate) fn address_from_bytes(payload: &[u8]) -> std::result::Result<Option<Address>, String> {
    if payload.len() < HEADER_LEN {
        return Err(format!("an address message of {} bytes", payload.len()));
    }
    let Some(family) = crate::wire::ip_family(payload[field::FAMILY]) else {
        return Ok(None);
    };
    let index =
        IfIndex::new(attr::u32_at(payload, field::INDEX.start)).ok_or("an address on index 0")?;
    let prefix_len = payload[field::PREFIX_LEN];
    let (mut local, mut addr) = (None, None);
    let mut a = Address {
        index,
        address: IpNetwork::from(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        peer: None,
        broadcast: None,
        scope: AddressScope::from(payload[field::SCOPE]),
        label: None,
        flags: AddressFlags::from_bits_retain(u32::from(payload[field::FLAGS])),
        valid_lifetime: None,
        preferred_lifetime: None,
        metric: None,
        protocol: None,
    };
    for at in attr::attrs(&payload[HEADER_LEN..]) {
        let (ty, value) = at?;
        match ty {
            libc::IFA_LOCAL => local = Some(attr::ip_of(family, value)?),
            libc::IFA_ADDRESS => addr = Some(attr::ip_of(family, value)?),
            libc::IFA_BROADCAST => {
                a.broadcast = <[u8; 4]>::try_from(value).ok().map(Ipv4Addr::from)
            }
            libc::IFA_LABEL => {
                a.label = Some(
                    IfName::from_attr(value)
                        .ok_or_else(|| format!("a label of {} bytes", value.len()))?,
                )
            }
            libc::IFA_FLAGS => {
                if let Some(f) = attr::u32_of(value) {
                    a.flags = AddressFlags::from_bits_retain(f)
                }
            }
            IFA_RT_PRIORITY => a.metric = attr::u32_of(value),
            IFA_PROTO => a.protocol = value.first().map(|p| AddressProtocol(*p)),
            libc::IFA_CACHEINFO => {
                // struct ifa_cacheinfo { ifa_prefered, ifa_valid, cstamp, tstamp }
                let secs = |v: u32| (v != FOREVER).then(|| Duration::from_secs(v.into()));
                if let (Some(preferred), Some(valid)) =
                    (attr::u32_of(value), value.get(4..).and_then(attr::u32_of))
                {
                    a.valid_lifetime = secs(valid);
                    a.preferred_lifetime = secs(preferred);
                }
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
        (None, None) => return Err("an address message without address".into()),
    };
    a.address = IpNetwork::new(own, prefix_len)
        .map_err(|_| format!("prefix length {prefix_len} for {own}"))?;
    Ok(Some(a))
}

/// The `RTM_DELADDR` request for `address` on link `index` (`ip addr del ADDRESS/LEN dev L`).
pub(crate) fn delete_message(key: &AddressKey, index: IfIndex) -> Result<AddressMessage> {
    let address = key.address;
    if let Some(peer) = key.peer {
        if IpFamily::of(peer) != IpFamily::of(address.ip()) {
            return Err(Error::invalid(
                "peer",
                format!("{peer} is not of the same family as {address}"),
            ));
        }
    }
    let mut msg = AddressMessage::default();
    msg.header.family = address_family(IpFamily::of(address.ip()));
    msg.header.prefix_len = address.prefix();
    msg.header.index = index.get();
    msg.attributes.push(AddressAttribute::Local(address.ip()));
    // As `ip addr del … peer P`: the kernel matches IFA_ADDRESS against the peer.
    msg.attributes
        .push(AddressAttribute::Address(key.peer.unwrap_or(address.ip())));
    Ok(msg)
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

    /// The bytes netlink-packet-route encodes `m` to, as the kernel would send them.
    fn bytes_of(m: &AddressMessage) -> Vec<u8> {
        use netlink_packet_core::Emitable;
        let mut b = vec![0; m.buffer_len()];
        m.emit(&mut b);
        b
    }

    #[test]
    fn peer_is_separated_from_local() {
        let mut m = AddressMessage::default();
        m.header.family = address_family(IpFamily::V4);
        m.header.index = 3;
        m.header.prefix_len = 32;
        m.attributes
            .push(AddressAttribute::Address("10.9.0.2".parse().unwrap()));
        m.attributes
            .push(AddressAttribute::Local("10.9.0.1".parse().unwrap()));
        let a = address_from_bytes(&bytes_of(&m)).unwrap().unwrap();
        assert_eq!(a.address.to_string(), "10.9.0.1/32");
        assert_eq!(a.peer, Some("10.9.0.2".parse().unwrap()));
    }

    #[test]
    fn every_field_is_read_and_the_label_keeps_its_bytes() {
        let mut n: NewAddress = "10.1.0.2/24".parse().unwrap();
        n.broadcast = Some("10.1.0.255".parse().unwrap());
        n.label = Some("v0:web".into());
        n.flags = AddressFlags::NOPREFIXROUTE | AddressFlags::NODAD;
        n.valid_lifetime = Some(Duration::from_secs(600));
        n.preferred_lifetime = Some(Duration::from_secs(300));
        n.metric = Some(7);
        n.scope = Some(AddressScope::Link);
        let m = address_message(&n, || Ok(IfIndex::new(5).unwrap())).unwrap();
        let mut b = bytes_of(&m);
        let a = address_from_bytes(&b).unwrap().unwrap();
        assert_eq!(a.index.get(), 5);
        assert_eq!(a.address, n.address);
        assert_eq!(a.peer, None);
        assert_eq!(a.broadcast, n.broadcast);
        assert_eq!(a.scope, AddressScope::Link);
        assert_eq!(a.label.unwrap(), "v0:web");
        assert_eq!(a.flags, n.flags);
        assert_eq!(a.valid_lifetime, n.valid_lifetime);
        assert_eq!(a.preferred_lifetime, n.preferred_lifetime);
        assert_eq!(a.metric, Some(7));
        // A label that is not UTF-8, as the kernel accepts and reports it.
        let at = b.windows(6).position(|w| w == b"v0:web").unwrap();
        b[at + 3..at + 6].copy_from_slice(b"\xff\xfe\x80");
        let a = address_from_bytes(&b).unwrap().unwrap();
        assert_eq!(a.label.unwrap().as_bytes(), b"v0:\xff\xfe\x80");
        // Other families are not addresses of this module; broken ones are errors, not panics.
        let mut other = b.clone();
        other[0] = 45; // AF_MCTP
        assert_eq!(address_from_bytes(&other), Ok(None));
        for cut in 0..b.len() {
            let _ = address_from_bytes(&b[..cut]);
        }
        assert!(address_from_bytes(&b[..4]).is_err());
    }
}
