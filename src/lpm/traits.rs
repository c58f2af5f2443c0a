//! The standard collection traits of the lpm tables that need named iterator types:
//! owned and borrowed [`IntoIterator`] of [`PrefixMap`], [`Fib`] and [`IpPrefixMap`], and
//! [`Extend`] from borrowed `Copy` values. (`PrefixMap`'s borrowed `IntoIterator`,
//! `FromIterator` and `Extend` of owned pairs are beside it in `map`; [`Rib`](super::Rib)'s are
//! in `rib`.)
//!
//! [`Fib`] has no `FromIterator` / `Extend`: an id above [`Fib::MAX_ID`] is an error, which
//! those traits cannot return (and a panic on input is not allowed here); its
//! [`try_from_iter`](Fib::try_from_iter) / [`try_extend`](Fib::try_extend) are the fallible
//! forms. [`IpPrefixMap`] takes already validated [`Prefix`]es through them, and `IpNetwork`s
//! (which may have host bits set) through its `try_` forms.

use std::iter::FusedIterator;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

use super::dual::IpPrefixMap;
use super::fib::Fib;
use super::map::{Iter, PrefixMap};
use super::prefix::{IpKey, Prefix};

/// The entries of a [`PrefixMap`], moved out in prefix order (by address, then length); from
/// `PrefixMap::into_iter` (sorts: O(n log n)).
pub struct IntoIter<A: IpKey, V> {
    inner: std::vec::IntoIter<(Prefix<A>, V)>,
}

impl<A: IpKey, V> Iterator for IntoIter<A, V> {
    type Item = (Prefix<A>, V);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<A: IpKey, V> DoubleEndedIterator for IntoIter<A, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
    }
}

impl<A: IpKey, V> ExactSizeIterator for IntoIter<A, V> {}
impl<A: IpKey, V> FusedIterator for IntoIter<A, V> {}

impl<A: IpKey, V> IntoIterator for PrefixMap<A, V> {
    type Item = (Prefix<A>, V);
    type IntoIter = IntoIter<A, V>;

    /// Moves the entries out in prefix order.
    fn into_iter(self) -> IntoIter<A, V> {
        IntoIter {
            inner: self.into_sorted().into_iter(),
        }
    }
}

impl<'a, A: IpKey, V: Copy + 'a> Extend<(Prefix<A>, &'a V)> for PrefixMap<A, V> {
    /// Inserts copies of borrowed values (as `HashMap` does for `Copy` values).
    fn extend<I: IntoIterator<Item = (Prefix<A>, &'a V)>>(&mut self, iter: I) {
        self.extend(iter.into_iter().map(|(p, v)| (p, *v)));
    }
}

/// The `(prefix, id)` pairs of a [`Fib`] in prefix order; from `Fib::into_iter` or
/// `(&fib).into_iter()` (either reads every leaf and sorts: O(n log n), as [`Fib::iter`]).
pub struct FibIntoIter<A: IpKey> {
    inner: std::vec::IntoIter<(Prefix<A>, u32)>,
}

impl<A: IpKey> Iterator for FibIntoIter<A> {
    type Item = (Prefix<A>, u32);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<A: IpKey> DoubleEndedIterator for FibIntoIter<A> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
    }
}

impl<A: IpKey> ExactSizeIterator for FibIntoIter<A> {}
impl<A: IpKey> FusedIterator for FibIntoIter<A> {}

impl<A: IpKey> IntoIterator for &Fib<A> {
    type Item = (Prefix<A>, u32);
    type IntoIter = FibIntoIter<A>;

    /// The `(prefix, id)` pairs in prefix order (ids are `Copy`: no borrow is handed out).
    fn into_iter(self) -> FibIntoIter<A> {
        FibIntoIter {
            inner: self.iter().collect::<Vec<_>>().into_iter(),
        }
    }
}

impl<A: IpKey> IntoIterator for Fib<A> {
    type Item = (Prefix<A>, u32);
    type IntoIter = FibIntoIter<A>;

    /// The `(prefix, id)` pairs in prefix order.
    fn into_iter(self) -> FibIntoIter<A> {
        (&self).into_iter()
    }
}

/// The entries of an [`IpPrefixMap`] by reference, IPv4 first, each family in prefix order;
/// from `(&map).into_iter()`.
pub struct IpIter<'a, V> {
    v4: Iter<'a, Ipv4Addr, V>,
    v6: Iter<'a, Ipv6Addr, V>,
}

impl<'a, V> Iterator for IpIter<'a, V> {
    type Item = (IpNetwork, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self.v4.next() {
            Some((p, v)) => Some((p.into(), v)),
            None => self.v6.next().map(|(p, v)| (p.into(), v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.v4.len() + self.v6.len();
        (n, Some(n))
    }
}

impl<V> ExactSizeIterator for IpIter<'_, V> {}
impl<V> FusedIterator for IpIter<'_, V> {}

impl<'a, V> IntoIterator for &'a IpPrefixMap<V> {
    type Item = (IpNetwork, &'a V);
    type IntoIter = IpIter<'a, V>;

    fn into_iter(self) -> IpIter<'a, V> {
        IpIter {
            v4: self.v4().iter(),
            v6: self.v6().iter(),
        }
    }
}

/// The entries of an [`IpPrefixMap`] moved out, IPv4 first, each family in prefix order;
/// from `IpPrefixMap::into_iter`.
pub struct IpIntoIter<V> {
    v4: IntoIter<Ipv4Addr, V>,
    v6: IntoIter<Ipv6Addr, V>,
}

impl<V> Iterator for IpIntoIter<V> {
    type Item = (IpNetwork, V);

    fn next(&mut self) -> Option<Self::Item> {
        match self.v4.next() {
            Some((p, v)) => Some((p.into(), v)),
            None => self.v6.next().map(|(p, v)| (p.into(), v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.v4.len() + self.v6.len();
        (n, Some(n))
    }
}

impl<V> ExactSizeIterator for IpIntoIter<V> {}
impl<V> FusedIterator for IpIntoIter<V> {}

impl<V> IntoIterator for IpPrefixMap<V> {
    type Item = (IpNetwork, V);
    type IntoIter = IpIntoIter<V>;

    fn into_iter(self) -> IpIntoIter<V> {
        let (v4, v6) = self.into_families();
        IpIntoIter {
            v4: v4.into_iter(),
            v6: v6.into_iter(),
        }
    }
}
