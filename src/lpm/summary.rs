//! `Debug` of the lpm tables: a small table prints in full, as a map; a large one (more than
//! [`FULL`] entries) prints a summary that stays a few lines whatever its size: the family,
//! the counts, the heap memory and the first [`FIRST`] entries in prefix order.
//!
//! ```text
//! PrefixMap<IPv4> { len: 1000000, memory: 37.5 MiB, first: {1.0.0.0/24: 7, …}, .. }
//! ```
//!
//! Finding the first entries sorts them all (as `iter` does): O(n log n), tens of
//! milliseconds for a full table.

use std::fmt;

use super::dual::IpPrefixMap;
use super::fib::Fib;
use super::map::PrefixMap;
use super::prefix::IpKey;
use super::rib::Rib;

/// Tables of up to this many entries print in full.
pub(super) const FULL: usize = 16;
/// Entries shown in a summary.
pub(super) const FIRST: usize = 8;

/// A byte count, printed in B, KiB, MiB or GiB.
struct Bytes(usize);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n < 1024 {
            return write!(f, "{n} B");
        }
        let (v, unit) = if n < 1 << 20 {
            (n as f64 / 1024.0, "KiB")
        } else if n < 1 << 30 {
            (n as f64 / (1 << 20) as f64, "MiB")
        } else {
            (n as f64 / (1 << 30) as f64, "GiB")
        };
        write!(f, "{v:.1} {unit}")
    }
}

/// Entries printed as a map.
struct Entries<K, V>(Vec<(K, V)>);

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Entries<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

/// "IPv4" or "IPv6".
fn family<A: IpKey>() -> &'static str {
    if A::BITS == 32 {
        "IPv4"
    } else {
        "IPv6"
    }
}

impl<A: IpKey, V: fmt::Debug> fmt::Debug for PrefixMap<A, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len() <= FULL {
            return f.debug_map().entries(self.iter()).finish();
        }
        f.debug_struct(&format!("PrefixMap<{}>", family::<A>()))
            .field("len", &self.len())
            .field("memory", &Bytes(self.memory_usage()))
            .field("first", &Entries(self.iter().take(FIRST).collect()))
            .finish_non_exhaustive()
    }
}

impl<A: IpKey> fmt::Debug for Fib<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len() <= FULL {
            return f.debug_map().entries(self.iter()).finish();
        }
        f.debug_struct(&format!("Fib<{}>", family::<A>()))
            .field("len", &self.len())
            .field("memory", &Bytes(self.memory_usage()))
            .field("first", &Entries(self.iter().take(FIRST).collect()))
            .finish_non_exhaustive()
    }
}

/// A network printed in its text form ("10.0.0.0/8"), as a [`Prefix`](super::Prefix) is.
struct Net(ipnetwork::IpNetwork);

impl fmt::Debug for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<V: fmt::Debug> fmt::Debug for IpPrefixMap<V> {
    /// Keys in their text form (`{10.0.0.0/8: 1, 2001:db8::/32: 2}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.iter().map(|(n, v)| (Net(n), v));
        if self.len() <= FULL {
            return f.debug_map().entries(entries).finish();
        }
        f.debug_struct("IpPrefixMap")
            .field("ipv4", &self.v4().len())
            .field("ipv6", &self.v6().len())
            .field("memory", &Bytes(self.memory_usage()))
            .field("first", &Entries(entries.take(FIRST).collect()))
            .finish_non_exhaustive()
    }
}

impl<A: IpKey> fmt::Debug for Rib<A> {
    /// Each prefix with its candidates: `{prefix: [(source, candidate), …], …}`; past
    /// 16 prefixes, a summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut by_prefix: Vec<(_, Vec<_>)> = Vec::new();
        let mut prefixes = 0;
        for (p, s, c) in self.iter() {
            match by_prefix.last_mut() {
                Some((q, v)) if *q == p => v.push((s, c)),
                _ => {
                    prefixes += 1;
                    if prefixes > FULL.max(FIRST) && self.len() > FULL {
                        break;
                    }
                    by_prefix.push((p, vec![(s, c)]));
                }
            }
        }
        if self.len() <= FULL {
            return Entries(by_prefix).fmt(f);
        }
        by_prefix.truncate(FIRST);
        f.debug_struct(&format!("Rib<{}>", family::<A>()))
            .field("len", &self.len())
            .field("candidates", &self.iter().len())
            .field("fib_memory", &Bytes(self.fib().memory_usage()))
            .field("first", &Entries(by_prefix))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::super::prefix::Prefix;
    use super::super::rib::{Candidate, FibNextHop, Protocol, RibSource};
    use super::*;

    fn v4(i: u32, len: u8) -> Prefix<Ipv4Addr> {
        Prefix::truncate(Ipv4Addr::from(i), len).unwrap()
    }

    #[test]
    fn bytes_units() {
        assert_eq!(format!("{:?}", Bytes(512)), "512 B");
        assert_eq!(format!("{:?}", Bytes(1536)), "1.5 KiB");
        assert_eq!(format!("{:?}", Bytes(3 << 20)), "3.0 MiB");
        assert_eq!(format!("{:?}", Bytes(5 << 30)), "5.0 GiB");
    }

    #[test]
    fn small_tables_print_in_full() {
        let m: PrefixMap<Ipv4Addr, u8> =
            [(v4(10 << 24, 8), 1), (v4(0, 0), 2)].into_iter().collect();
        assert_eq!(format!("{m:?}"), "{0.0.0.0/0: 2, 10.0.0.0/8: 1}");
        let f = Fib::try_from_iter([(v4(10 << 24, 8), 1)]).unwrap();
        assert_eq!(format!("{f:?}"), "{10.0.0.0/8: 1}");
        let d: IpPrefixMap<u8> = [(v4(10 << 24, 8), 1)].into_iter().collect();
        assert_eq!(format!("{d:?}"), "{10.0.0.0/8: 1}");
    }

    #[test]
    fn large_prefix_map_and_fib_print_a_summary() {
        // 100 000 /24s: 10.0.0.0/24, 10.0.1.0/24, …
        let n = 100_000u32;
        let items: Vec<_> = (0..n).map(|i| (v4((10 << 24) + (i << 8), 24), i)).collect();
        let m: PrefixMap<Ipv4Addr, u32> = items.iter().copied().collect();
        let s = format!("{m:?}");
        let mem = format!("{:?}", Bytes(m.memory_usage()));
        let first: Vec<String> = (0..FIRST as u32)
            .map(|i| format!("10.0.{i}.0/24: {i}"))
            .collect();
        assert_eq!(
            s,
            format!(
                "PrefixMap<IPv4> {{ len: {n}, memory: {mem}, first: {{{}}}, .. }}",
                first.join(", ")
            )
        );
        assert!(s.len() < 300, "{s}");
        let f = Fib::try_from_iter(items).unwrap();
        let s = format!("{f:?}");
        let mem = format!("{:?}", Bytes(f.memory_usage()));
        assert_eq!(
            s,
            format!(
                "Fib<IPv4> {{ len: {n}, memory: {mem}, first: {{{}}}, .. }}",
                first.join(", ")
            )
        );
        // `{:#?}` keeps to a few lines too.
        assert_eq!(format!("{f:#?}").lines().count(), 4 + FIRST + 3);
    }

    #[test]
    fn large_dual_map_and_rib_print_a_summary() {
        let mut d = IpPrefixMap::new();
        for i in 0..30u32 {
            d.insert(v4(i << 8, 24).into(), i).unwrap();
        }
        for i in 0..20u128 {
            let p =
                Prefix::truncate(Ipv6Addr::from((0x2001_0db8u128 << 96) + (i << 64)), 64).unwrap();
            d.insert(p.into(), 100 + i as u32).unwrap();
        }
        let s = format!("{d:?}");
        assert!(
            s.starts_with("IpPrefixMap { ipv4: 30, ipv6: 20, memory: ")
                && s.ends_with(", .. }")
                && s.contains("first: {0.0.0.0/24: 0, 0.0.1.0/24: 1, ")
                && s.contains("0.0.7.0/24: 7}")
                && s.matches(": ").count() == 4 + FIRST,
            "{s}"
        );

        let mut rib = Rib::new();
        let gw = FibNextHop::via(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        for i in 0..40u32 {
            for inst in 0..2 {
                let c = Candidate::new(Protocol::Static, i, vec![gw]);
                rib.update(v4(i << 8, 24), RibSource::new(Protocol::Static, inst), c);
            }
        }
        let s = format!("{rib:?}");
        let mem = format!("{:?}", Bytes(rib.fib().memory_usage()));
        assert!(
            s.starts_with(&format!("Rib<IPv4> {{ len: 40, candidates: 80, fib_memory: {mem}, first: {{0.0.0.0/24: [(RibSource {{")),
            "{s}"
        );
        assert!(
            s.contains("0.0.7.0/24") && !s.contains("0.0.8.0/24") && s.ends_with(", .. }"),
            "{s}"
        );
        // A small RIB prints every prefix with its candidates.
        let small: Rib<Ipv4Addr> = rib
            .iter()
            .take(4)
            .map(|(p, s, c)| (p, s, c.clone()))
            .collect();
        let s = format!("{small:?}");
        assert!(
            s.starts_with("{0.0.0.0/24: [(RibSource {")
                && s.contains("0.0.1.0/24")
                && !s.contains("0.0.2.0"),
            "{s}"
        );
    }
}
