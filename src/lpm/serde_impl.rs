//! serde (feature `serde`): a [`Prefix`] is its text form (`"10.0.0.0/8"`) in human-readable
//! formats and an `(address, length)` pair in the others; a [`PrefixMap`], a [`Fib`] and an
//! [`IpPrefixMap`] are maps of prefix to value in prefix order (IPv4 first); a [`Rib`] is a map
//! of prefix to its `(source, candidate)` list. Reading checks what the methods check: a prefix
//! with host bits set, or a [`Fib`] id above [`Fib::MAX_ID`], is an error, not truncated.
//! [`Protocol`](super::Protocol), [`RibSource`](super::RibSource),
//! [`FibNextHop`](super::FibNextHop), [`Candidate`](super::Candidate) and
//! [`FibRoute`](super::FibRoute) derive both traits.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use ipnetwork::IpNetwork;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::dual::IpPrefixMap;
use super::fib::Fib;
use super::map::PrefixMap;
use super::prefix::{IpKey, Prefix};
use super::rib::{Candidate, Rib, RibSource};

impl<A: IpKey + Serialize> Serialize for Prefix<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            (self.addr(), self.len()).serialize(s)
        }
    }
}

/// Reads a prefix from its text form.
struct PrefixText<A>(PhantomData<A>);

impl<A: IpKey + FromStr> Visitor<'_> for PrefixText<A> {
    type Value = Prefix<A>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an IPv{} prefix such as \"{}\"",
            if A::BITS == 32 { 4 } else { 6 },
            if A::BITS == 32 {
                "10.0.0.0/8"
            } else {
                "2001:db8::/32"
            }
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Prefix<A>, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de, A: IpKey + FromStr + Deserialize<'de>> Deserialize<'de> for Prefix<A> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(PrefixText(PhantomData))
        } else {
            let (addr, len) = <(A, u8)>::deserialize(d)?;
            Prefix::new(addr, len).map_err(de::Error::custom)
        }
    }
}

/// Writes `(key, value)` pairs as a map.
fn write_map<S, K, V, I>(s: S, len: usize, entries: I) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    K: Serialize,
    V: Serialize,
    I: Iterator<Item = (K, V)>,
{
    let mut m = s.serialize_map(Some(len))?;
    for (k, v) in entries {
        m.serialize_entry(&k, &v)?;
    }
    m.end()
}

/// Reads a map as its `(key, value)` pairs, in the order written.
struct Pairs<K, V>(PhantomData<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Pairs<K, V> {
    type Value = Vec<(K, V)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of prefix to value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
        // A hint from the input is not trusted for more than a modest first allocation.
        let mut v = Vec::with_capacity(m.size_hint().unwrap_or(0).min(4096));
        while let Some(e) = m.next_entry()? {
            v.push(e);
        }
        Ok(v)
    }
}

fn read_pairs<'de, D, K, V>(d: D) -> Result<Vec<(K, V)>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
{
    d.deserialize_map(Pairs(PhantomData))
}

impl<A: IpKey + Serialize, V: Serialize> Serialize for PrefixMap<A, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_map(s, self.len(), self.iter())
    }
}

impl<'de, A, V> Deserialize<'de> for PrefixMap<A, V>
where
    A: IpKey + FromStr + Deserialize<'de>,
    V: Deserialize<'de>,
{
    /// For a repeated prefix the last value wins.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(read_pairs::<D, Prefix<A>, V>(d)?.into_iter().collect())
    }
}

impl<A: IpKey + Serialize> Serialize for Fib<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_map(s, self.len(), self.iter())
    }
}

impl<'de, A: IpKey + FromStr + Deserialize<'de>> Deserialize<'de> for Fib<A> {
    /// For a repeated prefix the last id wins; an id above [`Fib::MAX_ID`] is an error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs = read_pairs::<D, Prefix<A>, u32>(d)?;
        Fib::try_from_iter(pairs).map_err(de::Error::custom)
    }
}

/// An [`IpNetwork`] as a prefix is: text in human-readable formats, else `(address, length)`.
struct Net(IpNetwork);

impl Serialize for Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(&self.0)
        } else {
            (self.0.ip(), self.0.prefix()).serialize(s)
        }
    }
}

struct NetText;

impl Visitor<'_> for NetText {
    type Value = Net;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an IP prefix such as \"10.0.0.0/8\" or \"2001:db8::/32\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Net, E> {
        IpNetwork::from_str(v).map(Net).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(NetText)
        } else {
            let (addr, len) = <(std::net::IpAddr, u8)>::deserialize(d)?;
            IpNetwork::new(addr, len)
                .map(Net)
                .map_err(de::Error::custom)
        }
    }
}

impl<V: Serialize> Serialize for IpPrefixMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_map(s, self.len(), self.iter().map(|(n, v)| (Net(n), v)))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for IpPrefixMap<V> {
    /// For a repeated prefix the last value wins; host bits set are an error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs = read_pairs::<D, Net, V>(d)?;
        IpPrefixMap::try_from_iter(pairs.into_iter().map(|(n, v)| (n.0, v)))
            .map_err(de::Error::custom)
    }
}

impl<A: IpKey + Serialize> Serialize for Rib<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        type Group<'a, A> = (Prefix<A>, Vec<(RibSource, &'a Candidate)>);
        let mut groups: Vec<Group<'_, A>> = Vec::new();
        for (p, src, c) in self.iter() {
            match groups.last_mut() {
                Some((q, v)) if *q == p => v.push((src, c)),
                _ => groups.push((p, vec![(src, c)])),
            }
        }
        write_map(s, groups.len(), groups.into_iter())
    }
}

impl<'de, A: IpKey + FromStr + Deserialize<'de>> Deserialize<'de> for Rib<A> {
    /// Each candidate is [`update`](Rib::update)d in: the best routes are chosen again, and a
    /// RIP candidate of metric 16 or more is not kept (as `update` does).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let groups = read_pairs::<D, Prefix<A>, Vec<(RibSource, Candidate)>>(d)?;
        Ok(groups
            .into_iter()
            .flat_map(|(p, v)| v.into_iter().map(move |(s, c)| (p, s, c)))
            .collect())
    }
}
