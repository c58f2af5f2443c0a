//! [`PrefixMap`]: a map from prefixes to values with longest-prefix-match lookup.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::index::Slots;
use super::key::Key;
use super::prefix::{IpKey, Prefix, PrefixError};
use super::trie::{Trie, FLAT};

/// A map from prefixes of one address family to values, with fast longest-prefix match.
///
/// `A` is [`Ipv4Addr`] or [`Ipv6Addr`]. Each prefix is stored once, with its value, in the
/// slot of an open-addressing hash table that finds it by prefix, and a compiled Poptrie
/// (a direct-indexed first level of 2^18 words, for IPv6 also 2^12-word second-level blocks
/// where the table is dense, then 6-bit popcount-indexed nodes with leaf compression)
/// answers longest-prefix-match lookups in a few cache-line reads. Inserting or removing a prefix repaints only the trie nodes
/// under that prefix; replacing the value of a present prefix is one hash probe and does not
/// touch the trie.
///
/// ```
/// use netplumb::lpm::PrefixMap;
/// use std::net::Ipv4Addr;
///
/// let mut fib: PrefixMap<Ipv4Addr, &str> = PrefixMap::new();
/// fib.insert("0.0.0.0/0".parse()?, "default");
/// fib.insert("10.0.0.0/8".parse()?, "corp");
/// fib.insert("10.1.0.0/16".parse()?, "lab");
///
/// assert_eq!(fib.lookup(Ipv4Addr::new(10, 1, 2, 3)), Some(&"lab"));
/// let (p, v) = fib.longest_match(Ipv4Addr::new(10, 2, 0, 1)).unwrap();
/// assert_eq!((p.to_string().as_str(), *v), ("10.0.0.0/8", "corp"));
/// assert_eq!(fib.lookup(Ipv4Addr::new(192, 0, 2, 1)), Some(&"default"));
///
/// // Every covering prefix, shortest first:
/// let all: Vec<_> = fib.matches(Ipv4Addr::new(10, 1, 0, 1)).map(|(_, v)| *v).collect();
/// assert_eq!(all, ["default", "corp", "lab"]);
/// # Ok::<(), netplumb::lpm::PrefixError>(())
/// ```
pub struct PrefixMap<A: IpKey, V> {
    /// The entries; a trie leaf names a slot (see [`PrefixMap::leaf`]).
    slots: Slots<A::Key, V>,
    trie: Trie<A::Key>,
}

/// A [`PrefixMap`] of IPv4 prefixes.
pub type Ipv4PrefixMap<V> = PrefixMap<Ipv4Addr, V>;
/// A [`PrefixMap`] of IPv6 prefixes.
pub type Ipv6PrefixMap<V> = PrefixMap<Ipv6Addr, V>;

impl<A: IpKey, V> Default for PrefixMap<A, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: IpKey, V: Clone> Clone for PrefixMap<A, V> {
    fn clone(&self) -> Self {
        PrefixMap {
            slots: self.slots.clone(),
            trie: self.trie.clone(),
        }
    }
}

impl<A: IpKey, V> PrefixMap<A, V> {
    /// Whether a leaf carries its prefix's length beside the slot number (IPv4: the length
    /// plus one takes 6 bits, leaving 24 for the slot). IPv6 lengths would take 8 bits and
    /// leave 2^22 slots, so an IPv6 leaf is the slot number plus one and the length is read
    /// from the slot table.
    const PACK: bool = <A::Key as Key>::BITS <= 32;
    /// Bits of a packed leaf for the slot number (below 2^30, clear of the trie's tag bits).
    const SLOT_BITS: u32 = 24;
    /// The most slots the table may have: a slot number must fit in a leaf.
    const MAX_SLOTS: usize = if Self::PACK {
        1 << Self::SLOT_BITS
    } else {
        (FLAT - 1) as usize
    };

    /// The leaf of slot `e`, holding a prefix of length `len`. Packed leaves are ordered by
    /// length, as `Fib`'s: `(len + 1) << SLOT_BITS | e`; 0 is "no match" in both encodings.
    #[inline(always)]
    fn leaf(e: usize, len: u8) -> u32 {
        if Self::PACK {
            (len as u32 + 1) << Self::SLOT_BITS | e as u32
        } else {
            e as u32 + 1
        }
    }

    /// The slot named by leaf `l` (not 0).
    #[inline(always)]
    fn slot_of(l: u32) -> usize {
        if Self::PACK {
            (l & ((1 << Self::SLOT_BITS) - 1)) as usize
        } else {
            (l - 1) as usize
        }
    }

    /// The prefix length of leaf `l` (not 0); `lens` is the slot table's lengths.
    #[inline(always)]
    fn len_of(l: u32, lens: &[u8]) -> u8 {
        if Self::PACK {
            ((l >> Self::SLOT_BITS) - 1) as u8
        } else {
            lens[(l - 1) as usize]
        }
    }

    /// An empty map. The first insert allocates the first trie level (1 MiB for IPv4; for
    /// IPv6 a 16 KiB summary and a 128 KiB array for 2000::/3, other ranges in small chunks
    /// as they are used).
    pub fn new() -> Self {
        PrefixMap {
            slots: Slots::new(),
            trie: Trie::new(),
        }
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the map holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.slots.len() == 0
    }

    /// Removes every prefix.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Heap bytes held by the map itself (not counting heap owned by the values).
    pub fn memory_usage(&self) -> usize {
        self.slots.bytes() + self.trie.bytes()
    }

    #[inline]
    fn find(&self, prefix: &Prefix<A>) -> Option<usize> {
        self.slots.find(prefix.key(), prefix.len())
    }

    /// Inserts `value` at `prefix`, returning the value it replaces, if any.
    ///
    /// Replacing the value of a present prefix costs one hash probe; adding a new prefix
    /// repaints the trie under it.
    ///
    /// # Panics
    /// If the map would outgrow its slot table's limit: about 10.4 million prefixes for
    /// IPv4 (2^24 slots: a slot number shares the trie leaf with the prefix length), about
    /// 670 million for IPv6 (2^30 slots). Building with `collect`/`extend` has the same
    /// limit.
    pub fn insert(&mut self, prefix: Prefix<A>, value: V) -> Option<V> {
        let (key, len) = (prefix.key(), prefix.len());
        let mut probe = if self.slots.cap() == 0 {
            Err(0)
        } else {
            self.slots.probe(key, len)
        };
        if let Ok(i) = probe {
            return Some(std::mem::replace(self.slots.val_mut(i), value));
        }
        if self.slots.full() {
            self.grow();
            probe = self.slots.probe(key, len);
        }
        let Err(i) = probe else { unreachable!() };
        self.slots.fill(i, key, len, value);
        self.paint_added(i);
        None
    }

    /// Moves the entries to a larger slot table (or one without tombstones) and relabels the
    /// trie's leaves to match.
    #[cold]
    fn grow(&mut self) {
        let cap = (self.slots.len() + 1) * 8 / 5;
        assert!(cap < Self::MAX_SLOTS, "lpm: too many prefixes");
        let map = self.slots.rebuild(cap);
        self.trie.relabel(&|l: u32| {
            let e = map[Self::slot_of(l)];
            if Self::PACK {
                // Same length, new slot.
                l & !((1 << Self::SLOT_BITS) - 1) | e
            } else {
                e + 1
            }
        });
    }

    /// Paints the new entry of slot `e` into the trie: the positions it takes over are
    /// exactly those whose longest match was its parent (any shorter match there would be a
    /// prefix covering it, and the parent is the longest of those).
    fn paint_added(&mut self, e: usize) {
        let (key, len) = (self.slots.key(e), self.slots.plen(e));
        if len as u32 > <A::Key as Key>::DIRECT {
            // Inside one first-level slot: a few runs, whose lengths are cheaper to compare
            // than searching for the parent.
            return self.paint_new(e);
        }
        let parent = self.parent(key, len);
        let leaf = Self::leaf(e, len);
        self.trie.paint(key, len as u32, true, &|l: u32| {
            if l == parent {
                leaf
            } else {
                l
            }
        });
    }

    /// Paints the entry of slot `e` into the trie, comparing lengths with the matches it
    /// covers (no parent search: for a bulk load, which paints covering prefixes first).
    fn paint_new(&mut self, e: usize) {
        let len = self.slots.plen(e);
        let leaf = Self::leaf(e, len);
        let lens = self.slots.lens();
        self.trie
            .paint(self.slots.key(e), len as u32, true, &|l: u32| {
                if l == 0 || Self::len_of(l, lens) < len {
                    leaf
                } else {
                    l
                }
            });
    }

    /// Validates an `ipnetwork` prefix and inserts it: see [`insert`](Self::insert).
    ///
    /// ```
    /// use netplumb::lpm::{PrefixError, PrefixMap};
    /// use ipnetwork::Ipv4Network;
    /// use std::net::Ipv4Addr;
    ///
    /// let mut m = PrefixMap::<Ipv4Addr, u32>::new();
    /// let net: Ipv4Network = "192.0.2.0/24".parse().unwrap();
    /// assert_eq!(m.insert_network(net, 1), Ok(None));
    /// let bad: Ipv4Network = "192.0.2.1/24".parse().unwrap();
    /// assert!(matches!(m.insert_network(bad, 2), Err(PrefixError::HostBitsSet { .. })));
    /// ```
    pub fn insert_network(&mut self, net: A::Network, value: V) -> Result<Option<V>, PrefixError> {
        let (addr, len) = A::split(net);
        Ok(self.insert(Prefix::new(addr, len)?, value))
    }

    /// Removes `prefix`, returning its value.
    pub fn remove(&mut self, prefix: &Prefix<A>) -> Option<V> {
        let e = self.find(prefix)?;
        let (key, len) = (prefix.key(), prefix.len());
        // The longest prefix strictly covering this one takes its place.
        let parent = self.parent(key, len);
        let leaf = Self::leaf(e, len);
        self.trie.paint(key, len as u32, false, &|l: u32| {
            if l == leaf {
                parent
            } else {
                l
            }
        });
        let value = self.slots.take(e);
        if self.slots.len() == 0 {
            self.clear();
        }
        Some(value)
    }

    /// The leaf of the longest prefix strictly covering `key/len` (0: none).
    ///
    /// Going up one level at a time from `l = len`: every covering prefix shorter than `l`
    /// also covers the sibling of `key/l` (the other half of the prefix one bit shorter), so
    /// the compiled trie's match for an address in that sibling is the answer when it is
    /// shorter than `l` (and "none" when there is no match at all). When both ends of the
    /// sibling match longer prefixes inside it, one hash probe checks length `l - 1`, and the
    /// search goes up. The sibling lies next to the prefix, so its trie reads are mostly in
    /// cache; a real withdraw needs about one probe instead of one per shorter length.
    fn parent(&self, key: A::Key, len: u8) -> u32 {
        let lens = self.slots.lens();
        for l in (1..=len as u32).rev() {
            let bit = A::Key::mask(l).xor(A::Key::mask(l - 1));
            let first = key.and(A::Key::mask(l)).xor(bit);
            let last = first.xor(A::Key::mask(l).not());
            for a in [first, last] {
                let leaf = self.trie.find(a);
                if leaf == 0 || (Self::len_of(leaf, lens) as u32) < l {
                    return leaf;
                }
            }
            if let Some(p) = self.slots.find(key.and(A::Key::mask(l - 1)), l as u8 - 1) {
                return Self::leaf(p, l as u8 - 1);
            }
        }
        0
    }

    /// The value stored at exactly `prefix`.
    pub fn get(&self, prefix: &Prefix<A>) -> Option<&V> {
        self.find(prefix).map(|e| self.slots.val(e))
    }

    /// The value stored at exactly `prefix`, mutably.
    pub fn get_mut(&mut self, prefix: &Prefix<A>) -> Option<&mut V> {
        self.find(prefix).map(|e| self.slots.val_mut(e))
    }

    /// Whether `prefix` itself is in the map.
    pub fn contains_key(&self, prefix: &Prefix<A>) -> bool {
        self.find(prefix).is_some()
    }

    /// The value of the longest prefix containing `addr`: the fast path.
    #[inline]
    pub fn lookup(&self, addr: A) -> Option<&V> {
        let leaf = self.trie.find(addr.to_key());
        if leaf == 0 {
            None
        } else {
            Some(self.slots.leaf_val(Self::slot_of(leaf)))
        }
    }

    /// The longest prefix containing `addr`, and its value.
    ///
    /// The prefix is `addr` cut to the entry's length. For IPv4 that length is in the trie's
    /// leaf, so this reads what [`lookup`](Self::lookup) reads; for IPv6 it reads the
    /// entry's length byte too.
    #[inline]
    pub fn longest_match(&self, addr: A) -> Option<(Prefix<A>, &V)> {
        let key = addr.to_key();
        let leaf = self.trie.find(key);
        if leaf == 0 {
            None
        } else {
            // The matching prefix covers `addr`: its key is `addr` cut to its length, so the
            // slot's key (another cache line; for IPv6 past /64 a side-map probe) is not read.
            let e = Self::slot_of(leaf);
            let (value, len) = if Self::PACK {
                // The length is in the leaf: only the value is read.
                (self.slots.leaf_val(e), Self::len_of(leaf, &[]))
            } else {
                // `val` checks that the slot is occupied (its length is a real one) on the
                // line `plen` reads anyway.
                (self.slots.val(e), self.slots.plen(e))
            };
            Some((
                Prefix::from_key_unchecked(key.and(A::Key::mask(len as u32)), len),
                value,
            ))
        }
    }

    /// Looks up many addresses at once, writing `out[i] = self.lookup(addrs[i])`.
    ///
    /// Answers the addresses that end at the first level at once and walks the rest in
    /// groups of 32 in lock-step, so the memory reads of independent lookups overlap instead
    /// of waiting on each other. It pays when lookups go deep into a large table (measured
    /// with `Fib` on the full tables: 1.2-1.3x single lookups for addresses inside its IPv4
    /// prefixes), and costs nothing where most end at the first level (random addresses:
    /// 1.0-1.08x single [`lookup`](Self::lookup)s).
    ///
    /// # Panics
    /// If `out` is shorter than `addrs`.
    ///
    /// ```
    /// use netplumb::lpm::PrefixMap;
    /// use std::net::Ipv4Addr;
    ///
    /// let m: PrefixMap<Ipv4Addr, u8> = [("10.0.0.0/8".parse().unwrap(), 1)].into_iter().collect();
    /// let addrs = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(11, 0, 0, 1)];
    /// let mut out = [None; 2];
    /// m.lookup_batch(&addrs, &mut out);
    /// assert_eq!(out, [Some(&1), None]);
    /// ```
    pub fn lookup_batch<'a>(&'a self, addrs: &[A], out: &mut [Option<&'a V>]) {
        assert!(out.len() >= addrs.len(), "lookup_batch: output too short");
        const B: usize = 32;
        let mut chunks = addrs.chunks_exact(B);
        let mut o = 0;
        for chunk in &mut chunks {
            let chunk: &[A; B] = chunk.try_into().expect("B addresses");
            let leaves = self.trie.find_group::<B>(|i| chunk[i].to_key());
            for (slot, leaf) in out[o..o + B].iter_mut().zip(leaves) {
                *slot = if leaf == 0 {
                    None
                } else {
                    Some(self.slots.leaf_val(Self::slot_of(leaf)))
                };
            }
            o += B;
        }
        for a in chunks.remainder() {
            out[o] = self.lookup(*a);
            o += 1;
        }
    }

    /// Every prefix containing `addr`, shortest first, with its value.
    pub fn matches(&self, addr: A) -> impl Iterator<Item = (Prefix<A>, &V)> + '_ {
        let key = addr.to_key();
        (0..=A::BITS).filter_map(move |l| {
            let k = key.and(A::Key::mask(l as u32));
            self.slots
                .find(k, l)
                .map(|e| (Prefix::from_key_unchecked(k, l), self.slots.val(e)))
        })
    }

    /// Iterates over `(prefix, value)` in prefix order (by address, then length).
    /// Sorts the entries first: O(n log n).
    pub fn iter(&self) -> Iter<'_, A, V> {
        let s = &self.slots;
        let mut order: Vec<u32> = s.occupied().map(|e| e as u32).collect();
        order.sort_unstable_by_key(|&e| (s.key(e as usize), s.plen(e as usize)));
        Iter {
            map: self,
            order: order.into_iter(),
        }
    }

    /// Iterates over the values in no particular order, without sorting.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.slots.values()
    }

    /// Adds many entries to an empty map at once: sort, deduplicate (last wins), index
    /// once, paint covering prefixes before the prefixes they cover.
    fn bulk_load(&mut self, mut items: Vec<(Prefix<A>, V)>) {
        debug_assert!(self.is_empty());
        items.sort_by_key(|(p, _)| *p); // stable: the last duplicate stays last
        let n = items.len();
        // The slot numbers must fit in a leaf (for IPv4, beside the length).
        assert!(
            Slots::<A::Key, V>::cap_for(n) < Self::MAX_SLOTS,
            "lpm: too many prefixes"
        );
        self.slots.size_for(n);
        let mut order = Vec::with_capacity(n);
        let mut it = items.into_iter().peekable();
        while let Some((p, v)) = it.next() {
            if it.peek().is_some_and(|(q, _)| *q == p) {
                continue;
            }
            let Err(i) = self.slots.probe(p.key(), p.len()) else {
                unreachable!("deduplicated")
            };
            self.slots.fill(i, p.key(), p.len(), v);
            order.push(i as u32);
        }
        for e in order {
            self.paint_new(e as usize);
        }
        self.trie.shrink_to_fit();
    }
}

/// Iterator over a [`PrefixMap`] in prefix order; see [`PrefixMap::iter`].
pub struct Iter<'a, A: IpKey, V> {
    map: &'a PrefixMap<A, V>,
    order: std::vec::IntoIter<u32>,
}

impl<'a, A: IpKey, V> Iterator for Iter<'a, A, V> {
    type Item = (Prefix<A>, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let e = self.order.next()? as usize;
        let s = &self.map.slots;
        Some((Prefix::from_key_unchecked(s.key(e), s.plen(e)), s.val(e)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

impl<A: IpKey, V> ExactSizeIterator for Iter<'_, A, V> {}

impl<'a, A: IpKey, V> IntoIterator for &'a PrefixMap<A, V> {
    type Item = (Prefix<A>, &'a V);
    type IntoIter = Iter<'a, A, V>;
    fn into_iter(self) -> Iter<'a, A, V> {
        self.iter()
    }
}

impl<A: IpKey, V> FromIterator<(Prefix<A>, V)> for PrefixMap<A, V> {
    /// Builds a map; for a repeated prefix the last value wins.
    fn from_iter<I: IntoIterator<Item = (Prefix<A>, V)>>(iter: I) -> Self {
        let mut m = PrefixMap::new();
        m.bulk_load(iter.into_iter().collect());
        m
    }
}

impl<A: IpKey, V> Extend<(Prefix<A>, V)> for PrefixMap<A, V> {
    fn extend<I: IntoIterator<Item = (Prefix<A>, V)>>(&mut self, iter: I) {
        if self.is_empty() {
            self.bulk_load(iter.into_iter().collect());
        } else {
            for (p, v) in iter {
                self.insert(p, v);
            }
        }
    }
}

impl<A: IpKey, V: PartialEq> PartialEq for PrefixMap<A, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(p, v)| other.get(&p).is_some_and(|w| w == v))
    }
}

impl<A: IpKey, V: Eq> Eq for PrefixMap<A, V> {}

impl<A: IpKey, V> PrefixMap<A, V> {
    /// The entries moved out, in prefix order (`IntoIterator for PrefixMap`, in `traits`).
    pub(super) fn into_sorted(mut self) -> Vec<(Prefix<A>, V)> {
        let s = &self.slots;
        let mut order: Vec<(A::Key, u8, usize)> =
            s.occupied().map(|e| (s.key(e), s.plen(e), e)).collect();
        order.sort_unstable_by_key(|&(k, l, _)| (k, l));
        order
            .into_iter()
            .map(|(k, l, e)| (Prefix::from_key_unchecked(k, l), self.slots.take(e)))
            .collect()
    }
}
