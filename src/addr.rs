//! Interface addresses (`ip addr`): add, replace, delete and list, IPv4 and IPv6.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use ipnetwork::IpNetwork;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags as NlAddressFlags, AddressHeaderFlags, AddressMessage,
    AddressScope as NlScope, CacheInfo,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::link::LinkRef;
use crate::types::IFNAMSIZ;
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Error, Handle, IfIndex, IpFamily, Result};

/// The scope of an address: how far it is valid (`ip addr`'s `scope global`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressScope {
    /// Valid everywhere (`global`).
    #[default]
    Universe,
    /// Valid within the site (`site`, IPv6 only).
    Site,
    /// Valid on this link only (`link`).
    Link,
    /// Valid inside this host only (`host`).
    Host,
    /// Nowhere (`nowhere`).
    Nowhere,
    /// A value this version does not name.
    Other(u8),
}

impl From<u8> for AddressScope {
    fn from(v: u8) -> Self {
        match v {
            0 => AddressScope::Universe,
            200 => AddressScope::Site,
            253 => AddressScope::Link,
            254 => AddressScope::Host,
            255 => AddressScope::Nowhere,
            v => AddressScope::Other(v),
        }
    }
}

impl From<AddressScope> for u8 {
    fn from(s: AddressScope) -> u8 {
        match s {
            AddressScope::Universe => 0,
            AddressScope::Site => 200,
            AddressScope::Link => 253,
            AddressScope::Host => 254,
            AddressScope::Nowhere => 255,
            AddressScope::Other(v) => v,
        }
    }
}

bitflags::bitflags! {
    /// Address flags (`IFA_F_*`, as in `ip addr`'s `noprefixroute`, `nodad`, `tentative`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct AddressFlags: u32 {
        /// A secondary address (another address in an existing subnet).
        const SECONDARY = 0x01;
        /// Skip duplicate address detection (IPv6).
        const NODAD = 0x02;
        /// Optimistic DAD (IPv6).
        const OPTIMISTIC = 0x04;
        /// Duplicate address detection failed (IPv6).
        const DADFAILED = 0x08;
        /// Mobile IPv6 home address.
        const HOMEADDRESS = 0x10;
        /// Preferred lifetime expired.
        const DEPRECATED = 0x20;
        /// Duplicate address detection still running (IPv6).
        const TENTATIVE = 0x40;
        /// Configured, not learned (no lifetime).
        const PERMANENT = 0x80;
        /// Manage temporary addresses from this one (IPv6 privacy extensions).
        const MANAGETEMPADDR = 0x100;
        /// Do not add the prefix route for this address.
        const NOPREFIXROUTE = 0x200;
        /// Join the multicast group automatically.
        const MCAUTOJOIN = 0x400;
        /// Stable-privacy generated address (IPv6).
        const STABLE_PRIVACY = 0x800;
        // Flags this version does not name are kept, not dropped.
        const _ = !0;
    }
}

/// An address to add or replace on a link (`ip addr add ADDRESS/LEN dev LINK …`).
///
/// ```
/// use netplumb::addr::NewAddress;
///
/// let a: NewAddress = "10.1.0.2/24".parse()?;
/// assert_eq!(a.address.prefix(), 24);
/// assert!("10.1.0.2/33".parse::<NewAddress>().is_err());
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAddress {
    /// The interface's address and the length of its subnet's prefix, e.g. `10.1.0.2/24`.
    pub address: IpNetwork,
    /// The remote end of a point-to-point link (`peer`); same family as `address`.
    pub peer: Option<IpAddr>,
    /// The IPv4 broadcast address (`broadcast`); IPv4 only.
    pub broadcast: Option<Ipv4Addr>,
    /// The scope (`scope`); the kernel picks `global` when `None`.
    pub scope: Option<AddressScope>,
    /// An IPv4 label (`label eth0:1`), at most 15 bytes.
    pub label: Option<String>,
    /// Flags such as [`AddressFlags::NOPREFIXROUTE`] or [`AddressFlags::NODAD`].
    pub flags: AddressFlags,
    /// How long the address stays valid (`valid_lft`); forever when `None`.
    pub valid_lifetime: Option<Duration>,
    /// How long the address stays preferred (`preferred_lft`); forever when `None`.
    pub preferred_lifetime: Option<Duration>,
    /// Metric of the prefix route the kernel adds for the address (`metric`).
    pub metric: Option<u32>,
}

impl NewAddress {
    /// An address with its prefix length, checked against the family's maximum.
    pub fn new(address: IpAddr, prefix_len: u8) -> Result<NewAddress> {
        let max = IpFamily::of(address).max_prefix_len();
        let net = IpNetwork::new(address, prefix_len).map_err(|_| {
            Error::invalid(
                "prefix length",
                format!("/{prefix_len} is longer than /{max}, the longest for {address}"),
            )
        })?;
        Ok(NewAddress::from(net))
    }
}

impl From<IpNetwork> for NewAddress {
    fn from(address: IpNetwork) -> NewAddress {
        NewAddress {
            address,
            peer: None,
            broadcast: None,
            scope: None,
            label: None,
            flags: AddressFlags::empty(),
            valid_lifetime: None,
            preferred_lifetime: None,
            metric: None,
        }
    }
}

impl FromStr for NewAddress {
    type Err = Error;

    /// Parses `ADDRESS/LEN`, or a bare address as a host address (/32 or /128), as `ip addr`
    /// does.
    fn from_str(s: &str) -> Result<NewAddress> {
        let bad = |why: String| Error::invalid("address", format!("{s:?}: {why}"));
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|e| bad(format!("{e}")))?;
        let len = match len {
            Some(l) => l
                .parse::<u8>()
                .map_err(|_| bad(format!("{l:?} is not a prefix length")))?,
            None => IpFamily::of(addr).max_prefix_len(),
        };
        NewAddress::new(addr, len)
    }
}

/// An address as the kernel reports it (`ip addr show`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    /// The link the address is on.
    pub index: IfIndex,
    /// The address and its prefix length.
    pub address: IpNetwork,
    /// The point-to-point peer, when there is one.
    pub peer: Option<IpAddr>,
    /// The IPv4 broadcast address, when set.
    pub broadcast: Option<Ipv4Addr>,
    /// The scope.
    pub scope: AddressScope,
    /// The IPv4 label (the interface name, or `name:alias`).
    pub label: Option<String>,
    /// Flags.
    pub flags: AddressFlags,
    /// Remaining valid lifetime; `None` for forever.
    pub valid_lifetime: Option<Duration>,
    /// Remaining preferred lifetime; `None` for forever.
    pub preferred_lifetime: Option<Duration>,
    /// Metric of the address's prefix route, when set.
    pub metric: Option<u32>,
}

impl Address {
    /// The address's family.
    pub fn family(&self) -> IpFamily {
        IpFamily::of(self.address.ip())
    }
}

/// Which addresses [`Handle::addresses`] returns. The default selects all of them.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddressFilter<'a> {
    /// Only addresses on this link (`ip addr show dev LINK`).
    pub link: Option<LinkRef<'a>>,
    /// Only addresses of this family (`ip -4 addr`, `ip -6 addr`).
    pub family: Option<IpFamily>,
}

impl<'a> AddressFilter<'a> {
    /// The addresses of one link.
    pub fn link(link: impl Into<LinkRef<'a>>) -> Self {
        AddressFilter {
            link: Some(link.into()),
            family: None,
        }
    }
}

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

fn family_of(f: IpFamily) -> AddressFamily {
    match f {
        IpFamily::V4 => AddressFamily::Inet,
        IpFamily::V6 => AddressFamily::Inet6,
    }
}

impl Handle {
    /// Adds an address to a link. Equivalent to
    /// `ip addr add ADDRESS/LEN [peer P] [broadcast B] [scope S] [label L] dev LINK`.
    /// An address that is already there is an error for which
    /// [`Error::is_exists`] is true.
    pub fn add_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: &NewAddress,
    ) -> Result<()> {
        self.new_address("add address", link.into(), address, NLM_F_EXCL)
    }

    /// Adds an address, or changes it when it is there. Equivalent to `ip addr replace …`.
    pub fn replace_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: &NewAddress,
    ) -> Result<()> {
        self.new_address("replace address", link.into(), address, NLM_F_REPLACE)
    }

    fn new_address(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        address: &NewAddress,
        flags: u16,
    ) -> Result<()> {
        let msg = address_message(address, || self.link_index(link))?;
        self.ack(
            op,
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | flags,
        )
    }

    /// Removes an address from a link. Equivalent to `ip addr del ADDRESS/LEN dev LINK`.
    /// An address that is not there is an error for which [`Error::is_not_found`] is true.
    pub fn delete_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: IpNetwork,
    ) -> Result<()> {
        let index = self.link_index(link)?;
        let mut msg = AddressMessage::default();
        msg.header.family = family_of(IpFamily::of(address.ip()));
        msg.header.prefix_len = address.prefix();
        msg.header.index = index.get();
        msg.attributes.push(AddressAttribute::Local(address.ip()));
        msg.attributes.push(AddressAttribute::Address(address.ip()));
        self.ack("delete address", RouteNetlinkMessage::DelAddress(msg), 0)
    }

    /// Lists addresses. Equivalent to `ip addr show [dev LINK]` (with `-4`/`-6` for a family).
    pub fn addresses(&self, filter: &AddressFilter<'_>) -> Result<Vec<Address>> {
        let index = match filter.link {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let mut req = AddressMessage::default();
        if let Some(f) = filter.family {
            req.header.family = family_of(f);
        }
        if let Some(i) = index {
            // Honoured by kernels with strict dump checking; filtered again below for others.
            req.header.index = i.get();
        }
        self.dump(
            "list addresses",
            RouteNetlinkMessage::GetAddress(req),
            |msg| {
                let RouteNetlinkMessage::NewAddress(m) = msg else {
                    return Ok(None);
                };
                let a = address_from_message(m)?;
                let keep = index.is_none_or(|i| a.index == i)
                    && filter.family.is_none_or(|f| a.family() == f);
                Ok(keep.then_some(a))
            },
        )
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
    msg.header.family = family_of(family);
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
