//! [`IpPrefixMap`]: IPv4 and IPv6 prefixes in one map.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

use super::map::PrefixMap;
use super::prefix::{Prefix, PrefixError};

/// A map holding prefixes of both families, keyed by [`IpNetwork`]: one
/// [`PrefixMap`] per family.
///
/// ```
/// use netplumb::lpm::IpPrefixMap;
///
/// let mut m = IpPrefixMap::new();
/// m.insert("192.0.2.0/24".parse().unwrap(), "v4")?;
/// m.insert("2001:db8::/32".parse().unwrap(), "v6")?;
/// assert_eq!(m.lookup("2001:db8::1".parse().unwrap()), Some(&"v6"));
/// assert_eq!(m.lookup("192.0.2.7".parse().unwrap()), Some(&"v4"));
/// assert!(m.insert("192.0.2.1/24".parse().unwrap(), "bad").is_err());
/// # Ok::<(), netplumb::lpm::PrefixError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IpPrefixMap<V> {
    v4: PrefixMap<Ipv4Addr, V>,
    v6: PrefixMap<Ipv6Addr, V>,
}

impl<V> Default for IpPrefixMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> IpPrefixMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        IpPrefixMap {
            v4: PrefixMap::new(),
            v6: PrefixMap::new(),
        }
    }

    /// The IPv4 half.
    pub fn v4(&self) -> &PrefixMap<Ipv4Addr, V> {
        &self.v4
    }

    /// The IPv6 half.
    pub fn v6(&self) -> &PrefixMap<Ipv6Addr, V> {
        &self.v6
    }

    /// The IPv4 half, mutably.
    pub fn v4_mut(&mut self) -> &mut PrefixMap<Ipv4Addr, V> {
        &mut self.v4
    }

    /// The IPv6 half, mutably.
    pub fn v6_mut(&mut self) -> &mut PrefixMap<Ipv6Addr, V> {
        &mut self.v6
    }

    /// Number of prefixes of both families.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Removes every prefix.
    pub fn clear(&mut self) {
        self.v4.clear();
        self.v6.clear();
    }

    /// Heap bytes held by both halves.
    pub fn memory_usage(&self) -> usize {
        self.v4.memory_usage() + self.v6.memory_usage()
    }

    /// Inserts `value` at `net`, returning the replaced value.
    ///
    /// # Errors
    /// [`PrefixError::HostBitsSet`] if `net` has bits set beyond its length.
    pub fn insert(&mut self, net: IpNetwork, value: V) -> Result<Option<V>, PrefixError> {
        Ok(match net {
            IpNetwork::V4(n) => self.v4.insert(n.try_into()?, value),
            IpNetwork::V6(n) => self.v6.insert(n.try_into()?, value),
        })
    }

    /// Removes `net`, returning its value (`None` also for a prefix with host bits set,
    /// which can never be present).
    pub fn remove(&mut self, net: &IpNetwork) -> Option<V> {
        match *net {
            IpNetwork::V4(n) => self.v4.remove(&Prefix::try_from(n).ok()?),
            IpNetwork::V6(n) => self.v6.remove(&Prefix::try_from(n).ok()?),
        }
    }

    /// The value at exactly `net`.
    pub fn get(&self, net: &IpNetwork) -> Option<&V> {
        match *net {
            IpNetwork::V4(n) => self.v4.get(&Prefix::try_from(n).ok()?),
            IpNetwork::V6(n) => self.v6.get(&Prefix::try_from(n).ok()?),
        }
    }

    /// The value at exactly `net`, mutably.
    pub fn get_mut(&mut self, net: &IpNetwork) -> Option<&mut V> {
        match *net {
            IpNetwork::V4(n) => self.v4.get_mut(&Prefix::try_from(n).ok()?),
            IpNetwork::V6(n) => self.v6.get_mut(&Prefix::try_from(n).ok()?),
        }
    }

    /// Whether `net` itself is in the map.
    pub fn contains_key(&self, net: &IpNetwork) -> bool {
        self.get(net).is_some()
    }

    /// The value of the longest prefix containing `addr`.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Option<&V> {
        match addr {
            IpAddr::V4(a) => self.v4.lookup(a),
            IpAddr::V6(a) => self.v6.lookup(a),
        }
    }

    /// The longest prefix containing `addr`, and its value.
    pub fn longest_match(&self, addr: IpAddr) -> Option<(IpNetwork, &V)> {
        match addr {
            IpAddr::V4(a) => self.v4.longest_match(a).map(|(p, v)| (p.into(), v)),
            IpAddr::V6(a) => self.v6.longest_match(a).map(|(p, v)| (p.into(), v)),
        }
    }

    /// Every prefix containing `addr`, shortest first.
    pub fn matches(&self, addr: IpAddr) -> Vec<(IpNetwork, &V)> {
        match addr {
            IpAddr::V4(a) => self.v4.matches(a).map(|(p, v)| (p.into(), v)).collect(),
            IpAddr::V6(a) => self.v6.matches(a).map(|(p, v)| (p.into(), v)).collect(),
        }
    }

    /// Iterates in prefix order, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = (IpNetwork, &V)> + '_ {
        self.v4
            .iter()
            .map(|(p, v)| (p.into(), v))
            .chain(self.v6.iter().map(|(p, v)| (p.into(), v)))
    }

    /// Inserts every pair, stopping at the first prefix with host bits set (the pairs before
    /// it stay inserted).
    pub fn try_extend<I: IntoIterator<Item = (IpNetwork, V)>>(
        &mut self,
        iter: I,
    ) -> Result<(), PrefixError> {
        for (net, v) in iter {
            self.insert(net, v)?;
        }
        Ok(())
    }

    /// Builds a map, rejecting the first prefix with host bits set.
    pub fn try_from_iter<I: IntoIterator<Item = (IpNetwork, V)>>(
        iter: I,
    ) -> Result<Self, PrefixError> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (net, v) in iter {
            match net {
                IpNetwork::V4(n) => v4.push((Prefix::try_from(n)?, v)),
                IpNetwork::V6(n) => v6.push((Prefix::try_from(n)?, v)),
            }
        }
        Ok(IpPrefixMap {
            v4: v4.into_iter().collect(),
            v6: v6.into_iter().collect(),
        })
    }
}

// Building from `IpNetwork`s can fail (host bits set), so that is `try_from_iter` and
// `try_extend`; the infallible traits take prefixes that were validated already.
impl<V> FromIterator<(Prefix<Ipv4Addr>, V)> for IpPrefixMap<V> {
    /// Builds a map of IPv4 prefixes; for a repeated prefix the last value wins.
    fn from_iter<I: IntoIterator<Item = (Prefix<Ipv4Addr>, V)>>(iter: I) -> Self {
        IpPrefixMap::from(iter.into_iter().collect::<PrefixMap<Ipv4Addr, V>>())
    }
}

impl<V> FromIterator<(Prefix<Ipv6Addr>, V)> for IpPrefixMap<V> {
    /// Builds a map of IPv6 prefixes; for a repeated prefix the last value wins.
    fn from_iter<I: IntoIterator<Item = (Prefix<Ipv6Addr>, V)>>(iter: I) -> Self {
        IpPrefixMap::from(iter.into_iter().collect::<PrefixMap<Ipv6Addr, V>>())
    }
}

impl<V> Extend<(Prefix<Ipv4Addr>, V)> for IpPrefixMap<V> {
    fn extend<I: IntoIterator<Item = (Prefix<Ipv4Addr>, V)>>(&mut self, iter: I) {
        self.v4.extend(iter);
    }
}

impl<V> Extend<(Prefix<Ipv6Addr>, V)> for IpPrefixMap<V> {
    fn extend<I: IntoIterator<Item = (Prefix<Ipv6Addr>, V)>>(&mut self, iter: I) {
        self.v6.extend(iter);
    }
}

impl<V> From<PrefixMap<Ipv4Addr, V>> for IpPrefixMap<V> {
    fn from(v4: PrefixMap<Ipv4Addr, V>) -> Self {
        IpPrefixMap {
            v4,
            v6: PrefixMap::new(),
        }
    }
}

impl<V> From<PrefixMap<Ipv6Addr, V>> for IpPrefixMap<V> {
    fn from(v6: PrefixMap<Ipv6Addr, V>) -> Self {
        IpPrefixMap {
            v4: PrefixMap::new(),
            v6,
        }
    }
}

impl<V> IpPrefixMap<V> {
    /// Splits the map into its IPv4 and IPv6 maps.
    pub fn into_families(self) -> (PrefixMap<Ipv4Addr, V>, PrefixMap<Ipv6Addr, V>) {
        (self.v4, self.v6)
    }
}
