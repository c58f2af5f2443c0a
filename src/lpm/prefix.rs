//! Address families and the validated [`Prefix`] type.

use std::cmp::Ordering;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use super::index::{PackedSlots, Slots};

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
    use std::fmt::Debug;
    use std::hash::Hash;

    /// Seals [`super::Address`].
    pub trait Sealed {}

    /// The integer form of an address (`u32` or `u128`); internal to the engine.
    pub trait Key: Copy + Eq + Ord + Hash + Debug + Default + Send + Sync + 'static {
        /// Width in bits.
        const BITS: u32;
        /// Bits indexed directly by the first level of the compiled trie.
        const DIRECT: u32;
        /// Bits of a small summary level in front of the first (0: none). Each summary word
        /// holds the leaf shared by its whole range of first-level words, when they are all
        /// the same leaf; random IPv6 addresses, which mostly fall in empty space, are then
        /// answered from a few kilobytes that stay in the L1 cache.
        const COARSE: u32;
        /// Bits of the second direct level (0: none): a first-level word with both tag bits
        /// set names a block of `2^DIR2` words that index the next `DIR2` bits directly (see
        /// the trie module).
        const DIR2: u32;
        /// The leading bits kept in the entry table for a prefix of at most `HI_BITS` bits
        /// (`u32` for IPv4, the upper `u64` for IPv6); longer prefixes keep their whole key
        /// aside.
        type Hi: Copy + Eq + Debug + Send + Sync + 'static;
        /// Width of [`Hi`](Self::Hi) in bits.
        const HI_BITS: u32;
        /// The all-zero `Hi`.
        const HI_ZERO: Self::Hi;
        /// The leading `HI_BITS` bits.
        fn hi(self) -> Self::Hi;
        /// The key whose leading bits are `h`, the rest zero.
        fn from_hi(h: Self::Hi) -> Self;
        /// The all-zero key.
        const ZERO: Self;
        /// The `len` leading bits set.
        fn mask(len: u32) -> Self;
        /// Bitwise and.
        fn and(self, other: Self) -> Self;
        /// Bitwise exclusive or.
        fn xor(self, other: Self) -> Self;
        /// Bitwise not.
        fn not(self) -> Self;
        /// The first `DIRECT` bits, as an index.
        fn top(self) -> usize;
        /// The 6 bits starting at bit `d` (from the most significant end, `d < BITS`),
        /// padded with zeros past the end of the key.
        fn stride_at(self, d: u32) -> usize;
        /// The `w` bits starting at bit `d` (`d + w <= BITS`).
        fn bits_at(self, d: u32, w: u32) -> usize;
        /// The key with the `w` bits from bit `d` set to `v`; bits of `v` that would fall
        /// past the end of the key are dropped (a trie position below the last bit).
        fn with_bits(self, d: u32, w: u32, v: usize) -> Self;
        /// Bit `i` (0 = most significant).
        fn bit(self, i: u32) -> bool;
        /// A 64-bit digest for hashing (not yet mixed).
        fn fold(self) -> u64;
        /// The side table of a [`Fib`](crate::lpm::Fib) of this key (prefixes no address
        /// matches): one packed `u64` a slot for IPv4, the generic slot table for IPv6.
        type FibStore: crate::lpm::index::FibStore<Self>;
    }
}

pub(crate) use sealed::Key;

/// Bits of the IPv6 second direct level.
const DIR2_V6: u32 = 12;

macro_rules! impl_key {
    ($t:ty, $hi:ty, $fib:ty, $direct:expr, $coarse:expr, $dir2:expr) => {
        impl Key for $t {
            type Hi = $hi;
            type FibStore = $fib;
            const HI_BITS: u32 = <$hi>::BITS;
            const HI_ZERO: $hi = 0;
            #[inline(always)]
            fn hi(self) -> $hi {
                (self >> (<$t>::BITS - <$hi>::BITS)) as $hi
            }
            #[inline(always)]
            fn from_hi(h: $hi) -> Self {
                #[allow(clippy::unnecessary_cast)]
                let k = (h as $t) << (<$t>::BITS - <$hi>::BITS);
                k
            }
            const BITS: u32 = <$t>::BITS;
            const DIRECT: u32 = $direct;
            const COARSE: u32 = $coarse;
            const DIR2: u32 = $dir2;
            const ZERO: Self = 0;
            #[inline(always)]
            fn mask(len: u32) -> Self {
                if len == 0 {
                    0
                } else {
                    <$t>::MAX << (<$t>::BITS - len)
                }
            }
            #[inline(always)]
            fn and(self, other: Self) -> Self {
                self & other
            }
            #[inline(always)]
            fn xor(self, other: Self) -> Self {
                self ^ other
            }
            #[inline(always)]
            fn not(self) -> Self {
                !self
            }
            #[inline(always)]
            fn top(self) -> usize {
                (self >> (<$t>::BITS - $direct)) as usize
            }
            #[inline(always)]
            fn stride_at(self, d: u32) -> usize {
                ((self << d) >> (<$t>::BITS - 6)) as usize
            }
            #[inline(always)]
            fn bits_at(self, d: u32, w: u32) -> usize {
                ((self << d) >> (<$t>::BITS - w)) as usize
            }
            #[inline(always)]
            fn with_bits(self, d: u32, w: u32, v: usize) -> Self {
                let (w, v) = if d + w > <$t>::BITS {
                    (<$t>::BITS - d, v >> (d + w - <$t>::BITS))
                } else {
                    (w, v)
                };
                if w == 0 {
                    return self;
                }
                let shift = <$t>::BITS - d - w;
                let field = (<$t>::MAX >> (<$t>::BITS - w)) << shift;
                (self & !field) | ((v as $t) << shift & field)
            }
            #[inline(always)]
            fn bit(self, i: u32) -> bool {
                (self >> (<$t>::BITS - 1 - i)) & 1 == 1
            }
            #[inline(always)]
            fn fold(self) -> u64 {
                #[allow(clippy::unnecessary_cast)]
                let x = self as u128;
                (x as u64) ^ ((x >> 64) as u64).rotate_left(29)
            }
        }
    };
}
// IPv4: 2^18 first-level words (1 MiB): a flat block under a word covers its 64 /24s exactly.
// Against 2^19 words (2 MiB in one huge page, flat blocks of 64 /25s), measured on the full
// table: 1.17 MiB less heap, lookups the same within noise (a cached key set 5% faster),
// the update replay about 4% slower (callgrind: +10% instructions, +1.4% D1
// misses; flat blocks hold twice the runs). 2^20 words: 2.3 MiB more, 10-20% slower. Nearly
// every region of an IPv4 table is populated, so a summary level would not pay.
impl_key!(u32, u32, PackedSlots, 18, 0, 0);
// IPv6: 2^18 first-level words (1 MiB), then 16 KiB second-level blocks (bits 18..30) under
// the first-level words of a real table that hold many longer prefixes (154 of 200): a /48 is
// three nodes below (it was five below a 2^19 first level alone), a /32 one. Measured on the
// full table: about 1.3x the in-table lookup rate, for 0.4 MiB more heap than 2^19 words
// without blocks (2^19 words with 8 KiB blocks everywhere: the same depth, 0.65 MiB more than
// 16 KiB blocks everywhere). The 2^12-word summary (16 KiB) answers the empty space.
impl_key!(u128, u64, Slots<u128, u32>, 18, 12, DIR2_V6);

/// An address family usable as the key of a [`PrefixMap`](super::PrefixMap):
/// [`Ipv4Addr`] or [`Ipv6Addr`]. Sealed.
pub trait Address:
    sealed::Sealed + Copy + Eq + Ord + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static
{
    /// The `ipnetwork` type for a prefix of this family.
    type Network: Copy + Eq + fmt::Debug + fmt::Display;
    /// The integer form of the address (internal).
    #[doc(hidden)]
    type Key: Key;
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
        impl Address for $a {
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
pub struct Prefix<A: Address> {
    addr: A,
    len: u8,
}

impl<A: Address> Prefix<A> {
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

impl<A: Address> Ord for Prefix<A> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.addr, self.len).cmp(&(other.addr, other.len))
    }
}

impl<A: Address> PartialOrd for Prefix<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<A: Address> fmt::Display for Prefix<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl<A: Address> fmt::Debug for Prefix<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<A: Address + FromStr> FromStr for Prefix<A> {
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

impl<A: Address> From<Prefix<A>> for IpNetwork {
    fn from(p: Prefix<A>) -> Self {
        A::to_ip_network(p.network())
    }
}
