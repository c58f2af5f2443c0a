//! Address types: what is added ([`NewAddress`]), what the kernel reports ([`Address`]), and
//! the listing's selector ([`AddressFilter`]).

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use ipnetwork::IpNetwork;

use crate::{Error, IfIndex, IfName, IpFamily, LinkRef, Result};

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

/// Who added an address (`ip addr add … proto P`; `IFA_PROTO`). Any number is valid; the
/// constants are the kernel's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddressProtocol(pub u8);

impl AddressProtocol {
    /// Not said (`unspec`).
    pub const UNSPEC: AddressProtocol = AddressProtocol(0);
    /// The loopback address the kernel adds (`kernel_lo`).
    pub const KERNEL_LO: AddressProtocol = AddressProtocol(1);
    /// An address from a router advertisement (`kernel_ra`).
    pub const KERNEL_RA: AddressProtocol = AddressProtocol(2);
    /// An IPv6 link-local address the kernel made (`kernel_ll`).
    pub const KERNEL_LL: AddressProtocol = AddressProtocol(3);
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
    /// Who added the address (`proto`, Linux 5.18 and later): a number of the caller's
    /// choosing, or one of the kernel's for the addresses it makes itself.
    pub protocol: Option<AddressProtocol>,
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
            protocol: None,
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
    /// The IPv4 label (the interface name, or `name:alias`), the kernel's bytes exactly.
    pub label: Option<IfName>,
    /// Flags.
    pub flags: AddressFlags,
    /// Remaining valid lifetime; `None` for forever.
    pub valid_lifetime: Option<Duration>,
    /// Remaining preferred lifetime; `None` for forever.
    pub preferred_lifetime: Option<Duration>,
    /// Metric of the address's prefix route, when set.
    pub metric: Option<u32>,
    /// Who added the address (`proto`, Linux 5.18 and later): a number of the caller's
    /// choosing, or one of the kernel's for the addresses it makes itself.
    pub protocol: Option<AddressProtocol>,
}

impl Address {
    /// The address's family.
    pub fn family(&self) -> IpFamily {
        IpFamily::of(self.address.ip())
    }
}

/// Names an address to delete: its address and prefix length, and its peer when it has one
/// (`ip addr del ADDRESS/LEN [peer PEER] dev LINK`: the kernel matches a point-to-point
/// address by its peer). Made from an [`IpNetwork`] (no peer) or from a listed [`Address`]
/// (exactly that address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddressKey {
    /// The link's own address and prefix length.
    pub address: IpNetwork,
    /// The peer of a point-to-point address (`peer P`).
    pub peer: Option<IpAddr>,
}

impl From<IpNetwork> for AddressKey {
    fn from(address: IpNetwork) -> Self {
        AddressKey {
            address,
            peer: None,
        }
    }
}

impl From<&Address> for AddressKey {
    fn from(a: &Address) -> Self {
        AddressKey {
            address: a.address,
            peer: a.peer,
        }
    }
}

/// Which addresses [`Handle::addresses`](crate::Handle::addresses) returns. The default selects all of them.
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
