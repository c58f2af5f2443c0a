//! Address families and the validated [`Prefix`] type.

use std::cmp::Ordering;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use super::index::FibKey;
use super::key::Key;

/// Why a prefix was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// The prefix length is longer than the address (more than 32 for IPv4, 128 for IPv6).
    #[error("prefix length {len} is longer than the {max}-bit address")]
    BadLength {
        /// The rejected length.
        len: u8,
        /// The address width in bits.
        max: u8,
    },
    /// The address has bits set beyond the prefix length (for example `10.0.0.1/8`);
    /// prefixes are never silently truncated.
    #[error("{addr}/{len} has host bits set (the network is {network}/{len})")]
    HostBitsSet {
        /// The address as given.
        addr: IpAddr,
        /// The prefix length.
        len: u8,
        /// The address with the host bits cleared.
        network: IpAddr,
    },
    /// A next-hop id above what a [`Fib`](super::Fib) leaf can hold ([`Fib::MAX_ID`](super::Fib::MAX_ID)).
    #[error("next-hop id {id} is above the largest a Fib holds ({max})")]
    IdTooLarge {
        /// The rejected id.
        id: u32,
        /// The largest id.
        max: u32,
    },
    /// The text is not of the form `address/length`.
    #[error("invalid prefix syntax: {0:?}")]
    Syntax(String),
    /// The prefix belongs to the other address family.
    #[error("address family mismatch: {0} is not of the expected family")]
    FamilyMismatch(IpNetwork),
}

pub(crate) mod sealed {
    /// Seals [`super::IpKey`].
    pub trait Sealed {}
}

/// An address family usable as the key of a [`PrefixMap`](super::PrefixMap):
/// [`Ipv4Addr`] or [`Ipv6Addr`]. Sealed.
pub trait IpKey:
    sealed::Sealed + Copy + Eq + Ord + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static
{
    /// The `ipnetwork` type for a prefix of this family.
    type Network: Copy + Eq + fmt::Debug + fmt::Display;
    /// The integer form of the address (internal).
    #[doc(hidden)]
    type Key: FibKey;
    /// Address width in bits (32 or 128).
    const BITS: u8;
    /// The integer form of the address.
    #[doc(hidden)]
    fn to_key(self) -> Self::Key;
    /// The address of an integer form.
    #[doc(hidden)]
    fn from_key(key: Self::Key) -> Self;
    /// Builds the `ipnetwork` value (infallible for a valid length).
    #[doc(hidden)]
    fn network(addr: Self, len: u8) -> Self::Network;
    /// Splits an `ipnetwork` value into address and length.
    #[doc(hidden)]
    fn split(net: Self::Network) -> (Self, u8);
    /// Widens to [`IpAddr`].
    #[doc(hidden)]
    fn to_ip(self) -> IpAddr;
    /// Narrows an [`IpNetwork`] of this family.
    #[doc(hidden)]
    fn from_ip_network(net: IpNetwork) -> Option<Self::Network>;
    /// Widens to [`IpNetwork`].
    #[doc(hidden)]
    fn to_ip_network(net: Self::Network) -> IpNetwork;
}

impl sealed::Sealed for Ipv4Addr {}
impl sealed::Sealed for Ipv6Addr {}

macro_rules! impl_addr {
    ($a:ty, $k:ty, $net:ty, $v:ident) => {
        impl IpKey for $a {
            type Network = $net;
            type Key = $k;
            const BITS: u8 = <$k>::BITS as u8;
            #[inline(always)]
            fn to_key(self) -> $k {
                self.to_bits()
            }
            #[inline(always)]
            fn from_key(key: $k) -> Self {
                <$a>::from_bits(key)
            }
            fn network(addr: Self, len: u8) -> $net {
                <$net>::new(addr, len).expect("length validated")
            }
            fn split(net: $net) -> (Self, u8) {
                (net.ip(), net.prefix())
            }
            fn to_ip(self) -> IpAddr {
                IpAddr::$v(self)
            }
            fn from_ip_network(net: IpNetwork) -> Option<$net> {
                match net {
                    IpNetwork::$v(n) => Some(n),
                    _ => None,
                }
            }
            fn to_ip_network(net: $net) -> IpNetwork {
                IpNetwork::$v(net)
            }
        }
    };
}
impl_addr!(Ipv4Addr, u32, Ipv4Network, V4);
impl_addr!(Ipv6Addr, u128, Ipv6Network, V6);

/// A validated prefix: an address with no bits set beyond its length.
///
/// Ordered by address, then length, so a prefix sorts before the prefixes it covers
/// ("prefix order", as in `ip route show`).
///
/// ```
/// use netplumb::lpm::{Prefix, PrefixError};
/// use std::net::Ipv4Addr;
///
/// let p: Prefix<Ipv4Addr> = "10.0.0.0/8".parse()?;
/// assert_eq!(p.len(), 8);
/// assert!(p.contains(Ipv4Addr::new(10, 1, 2, 3)));
/// // Host bits are an error, never silently cleared:
/// assert!(matches!(
///     "10.0.0.1/8".parse::<Prefix<Ipv4Addr>>(),
///     Err(PrefixError::HostBitsSet { .. })
/// ));
/// # Ok::<(), PrefixError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix<A: IpKey> {
    addr: A,
    len: u8,
}

impl<A: IpKey> Prefix<A> {
    /// Validates `addr/len`: the length must fit the family and no host bit may be set.
    pub fn new(addr: A, len: u8) -> Result<Self, PrefixError> {
        if len > A::BITS {
            return Err(PrefixError::BadLength { len, max: A::BITS });
        }
        let key = addr.to_key();
        let net = key.and(A::Key::mask(len as u32));
        if net != key {
            return Err(PrefixError::HostBitsSet {
                addr: addr.to_ip(),
                len,
                network: A::from_key(net).to_ip(),
            });
        }
        Ok(Prefix { addr, len })
    }

    /// The prefix of length `len` containing `addr`, clearing the host bits on purpose
    /// (for example to find the /24 of an address).
    pub fn truncate(addr: A, len: u8) -> Result<Self, PrefixError> {
        if len > A::BITS {
            return Err(PrefixError::BadLength { len, max: A::BITS });
        }
        let key = addr.to_key().and(A::Key::mask(len as u32));
        Ok(Prefix {
            addr: A::from_key(key),
            len,
        })
    }

    pub(crate) fn from_key_unchecked(key: A::Key, len: u8) -> Self {
        Prefix {
            addr: A::from_key(key),
            len,
        }
    }

    /// The network address (host bits all zero).
    pub fn addr(&self) -> A {
        self.addr
    }

    /// The prefix length in bits.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: A) -> bool {
        addr.to_key().and(A::Key::mask(self.len as u32)) == self.addr.to_key()
    }

    /// Whether `other` lies inside (or equals) this prefix.
    pub fn covers(&self, other: &Prefix<A>) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// As an `ipnetwork` value.
    pub fn network(&self) -> A::Network {
        A::network(self.addr, self.len)
    }

    pub(crate) fn key(&self) -> A::Key {
        self.addr.to_key()
    }
}

impl<A: IpKey> Ord for Prefix<A> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.addr, self.len).cmp(&(other.addr, other.len))
    }
}

impl<A: IpKey> PartialOrd for Prefix<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<A: IpKey> fmt::Display for Prefix<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl<A: IpKey> fmt::Debug for Prefix<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<A: IpKey + FromStr> FromStr for Prefix<A> {
    type Err = PrefixError;

    /// Parses `address/length`; a bare address is a host prefix (/32 or /128).
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let syntax = || PrefixError::Syntax(s.to_string());
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().map_err(|_| syntax())?),
            None => (s, A::BITS),
        };
        let addr = a.parse::<A>().map_err(|_| syntax())?;
        Prefix::new(addr, l)
    }
}

impl TryFrom<Ipv4Network> for Prefix<Ipv4Addr> {
    type Error = PrefixError;
    fn try_from(net: Ipv4Network) -> Result<Self, PrefixError> {
        Prefix::new(net.ip(), net.prefix())
    }
}

impl TryFrom<Ipv6Network> for Prefix<Ipv6Addr> {
    type Error = PrefixError;
    fn try_from(net: Ipv6Network) -> Result<Self, PrefixError> {
        Prefix::new(net.ip(), net.prefix())
    }
}

impl TryFrom<IpNetwork> for Prefix<Ipv4Addr> {
    type Error = PrefixError;
    fn try_from(net: IpNetwork) -> Result<Self, PrefixError> {
        match net {
            IpNetwork::V4(n) => n.try_into(),
            IpNetwork::V6(_) => Err(PrefixError::FamilyMismatch(net)),
        }
    }
}

impl TryFrom<IpNetwork> for Prefix<Ipv6Addr> {
    type Error = PrefixError;
    fn try_from(net: IpNetwork) -> Result<Self, PrefixError> {
        match net {
            IpNetwork::V6(n) => n.try_into(),
            IpNetwork::V4(_) => Err(PrefixError::FamilyMismatch(net)),
        }
    }
}

impl From<Prefix<Ipv4Addr>> for Ipv4Network {
    fn from(p: Prefix<Ipv4Addr>) -> Self {
        p.network()
    }
}

impl From<Prefix<Ipv6Addr>> for Ipv6Network {
    fn from(p: Prefix<Ipv6Addr>) -> Self {
        p.network()
    }
}

impl<A: IpKey> From<Prefix<A>> for IpNetwork {
    fn from(p: Prefix<A>) -> Self {
        A::to_ip_network(p.network())
    }
}
