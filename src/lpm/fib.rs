//! [`Fib`]: prefixes to small next-hop ids, with the id in the compiled trie's leaves.
//!
//! A [`PrefixMap`](super::PrefixMap) leaf names the slot that holds the entry, so a lookup
//! ends with one more dependent read (the slot's value). Here a leaf is the matching
//! prefix's length and id, `(len + 1) << ID_BITS | id`: a lookup ends at the leaf (for an
//! in-table IPv4 address, two reads: first level, flat block), and 0 still means "no
//! route". The length makes updates incremental without naming the entry:
//!
//! - adding `P/len` repaints the positions under it whose match is shorter than `len` (a leaf
//!   below `(len + 1) << ID_BITS`): no parent search;
//! - replacing or removing it repaints the positions whose leaf is `P`'s own (within `P`,
//!   only `P` has length `len`), to the new id or to the longest prefix covering `P`.
//!
//! The leaves are also the table itself: a prefix that some address matches has a leaf of
//! its own length under it, and only it has, so [`get`](Fib::get) reads the leaf at the
//! prefix's first address (or, when a longer prefix covers that one, its last) and finds the
//! prefix there, or finds a shorter one there and knows the prefix is absent. The prefixes
//! that no address matches (every address under them matches a longer prefix: 4.6% of the
//! full IPv4 table, 2.9% of the IPv6 one) are kept aside, with their ids, in a small hash
//! table; an update moves a prefix in or out of it when it takes its parent's last addresses
//! or gives them back. The prefixes shorter than the direct levels (/18, IPv6 /30: 2.5% and
//! 2.3%) are kept there too, always: a covered one could otherwise cost a scan of much of the
//! trie to find, where now a scan never leaves one direct-level region.
//!
//! No index of every prefix, then: a full IPv4 table takes 7.0 MiB where a slot table beside
//! the trie took 16.8 MiB, and a replacement (95% of a real update stream) is a lookup and a
//! swap of leaves instead of a hash probe into a 10 MiB table and then the same swap.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::index::{FibKey, FibStore};
use super::key::Key;
use super::prefix::{IpKey, Prefix, PrefixError};
use super::trie::Trie;

/// Addresses a `lookup_batch` walks in lock-step.
pub(crate) const BATCH: usize = 32;

/// A forwarding table: prefixes of one address family to next-hop ids (`u32`, at most
/// [`Fib::MAX_ID`]), with the fastest longest-prefix match of this module.
///
/// Where a [`PrefixMap<A, u32>`](super::PrefixMap) would do (routers map prefixes to a small
/// index into their next-hop table), a `Fib` answers [`lookup`](Fib::lookup) one memory read
/// sooner, the compiled trie's leaves holding the id itself, and takes a third of the memory:
/// the leaves are the table, with no index of every prefix beside them (measured with
/// `lpm_compare` on the full table: 1.3–2x the in-table IPv4 lookups of a `PrefixMap`;
/// 7.0 MiB of heap for the IPv4 table against 18.2, 5.6 against 10.3 for IPv6; the 1.39 M
/// real IPv4 updates replayed at 26–29 M/s, 1.2–1.3x a `PrefixMap`'s rate).
///
/// The price: [`get`](Fib::get), [`contains_key`](Fib::contains_key) and
/// [`remove`](Fib::remove) find a prefix through the trie (one or two lookups, and a scan of
/// the leaves under it, within one direct-level region, in the rare case that longer
/// prefixes cover both its ends: about 240 ns for such a /18 of the full table), and
/// [`iter`](Fib::iter) reads every leaf and sorts.
///
/// ```
/// use netplumb::lpm::Fib;
/// use std::net::Ipv4Addr;
///
/// let mut fib: Fib<Ipv4Addr> = Fib::new();
/// fib.insert("0.0.0.0/0".parse()?, 0)?;
/// fib.insert("10.0.0.0/8".parse()?, 1)?;
/// fib.insert("10.1.0.0/16".parse()?, 2)?;
/// assert_eq!(fib.lookup(Ipv4Addr::new(10, 1, 2, 3)), Some(2));
/// assert_eq!(fib.lookup(Ipv4Addr::new(10, 2, 0, 1)), Some(1));
///
/// // A new next hop for 10.0.0.0/8; then the /16 goes, and its addresses fall back to it.
/// assert_eq!(fib.insert("10.0.0.0/8".parse()?, 7)?, Some(1));
/// assert_eq!(fib.remove(&"10.1.0.0/16".parse()?), Some(2));
/// assert_eq!(fib.lookup(Ipv4Addr::new(10, 1, 2, 3)), Some(7));
/// # Ok::<(), netplumb::lpm::PrefixError>(())
/// ```
pub struct Fib<A: IpKey> {
    /// Leaves: `(len + 1) << ID_BITS | id`, 0 = no route. The source of truth for every
    /// prefix that some address matches: such a prefix is read back from its leaves.
    trie: Trie<A::Key>,
    /// With their ids: the prefixes no address matches (each of their addresses matches a
    /// longer prefix), the only ones the leaves cannot show (4.6% of the full IPv4 table,
    /// 2.9% of the IPv6 one); and every prefix shorter than the direct levels
    /// ([`Fib::kept_always`]: 2.5% and 2.3%), so that finding a prefix never scans more than
    /// one first-level (IPv6: second-level) region.
    kept: <A::Key as FibKey>::FibStore,
    /// Number of prefixes.
    count: usize,
}

/// A [`Fib<A>`] of IPv4 prefixes.
pub type Ipv4Fib = Fib<Ipv4Addr>;
/// A [`Fib<A>`] of IPv6 prefixes.
pub type Ipv6Fib = Fib<Ipv6Addr>;

/// Where a prefix is.
enum At {
    /// Some address matches it: its id, read from a leaf.
    Shown(u32),
    /// In `kept` (no address matches it, or it is short): its slot there.
    Kept(usize),
    /// Not in the table.
    Absent,
}

impl<A: IpKey> Fib<A> {
    /// Bits of a leaf for the length + 1 (6 for IPv4, 8 for IPv6).
    const LEN_BITS: u32 = 32 - (<A::Key as Key>::BITS + 1).leading_zeros();
    /// Bits of a leaf for the id: a leaf stays below 2^30, clear of the trie's tag bits.
    const ID_BITS: u32 = 30 - Self::LEN_BITS;

    /// The largest next-hop id: 2^24 - 1 for IPv4, 2^22 - 1 for IPv6.
    pub const MAX_ID: u32 = (1 << Self::ID_BITS) - 1;

    /// An empty table. The first insert allocates the first trie level (1 MiB; for IPv6 a
    /// 16 KiB summary, 128 KiB of words for 2000::/3 and 256 bytes per /12 elsewhere that
    /// holds longer prefixes).
    pub fn new() -> Self {
        Fib {
            trie: Trie::new(),
            kept: FibStore::new(),
            count: 0,
        }
    }

    /// The leaf of a prefix of length `len` with next hop `id`.
    #[inline(always)]
    fn leaf(len: u8, id: u32) -> u32 {
        (len as u32 + 1) << Self::ID_BITS | id
    }

    /// The least leaf of a prefix of length `len`: a leaf below it (or 0) is a shorter match.
    #[inline(always)]
    fn floor(len: u32) -> u32 {
        (len + 1) << Self::ID_BITS
    }

    /// The prefix length of leaf `l` plus one (0 for "no route").
    #[inline(always)]
    fn len_of(l: u32) -> u32 {
        l >> Self::ID_BITS
    }

    /// Whether a prefix of length `len` is kept in `kept` whether or not an address matches
    /// it: shorter than the direct levels (/18 for IPv4, /30 for IPv6). A covered prefix that
    /// long could otherwise make finding it scan a large part of the trie (an absent `/0`
    /// under `0.0.0.0/1` and `128.0.0.0/1`: the whole table).
    #[inline(always)]
    fn kept_always(len: u8) -> bool {
        (len as u32) < <A::Key as Key>::DIRECT + <A::Key as Key>::DIR2
    }

    /// The prefix length of leaf `l` (0 for "no route" too).
    fn plen(l: u32) -> u32 {
        (l >> Self::ID_BITS).saturating_sub(1)
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Removes every prefix.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Heap bytes held by the table.
    pub fn memory_usage(&self) -> usize {
        self.kept.bytes() + self.trie.bytes()
    }

    /// Sets the next hop of `prefix` to `id`, returning the id it replaces, if any.
    ///
    /// Adding a prefix repaints the trie under it; so does replacing a present prefix's id
    /// by another one (its positions change leaf).
    ///
    /// An id above [`Fib::MAX_ID`] is refused with [`PrefixError::IdTooLarge`], and the
    /// table is left as it was.
    pub fn insert(&mut self, prefix: Prefix<A>, id: u32) -> Result<Option<u32>, PrefixError> {
        Self::check_id(id)?;
        Ok(self.insert_checked(prefix, id))
    }

    fn check_id(id: u32) -> Result<(), PrefixError> {
        if id > Self::MAX_ID {
            return Err(PrefixError::IdTooLarge {
                id,
                max: Self::MAX_ID,
            });
        }
        Ok(())
    }

    fn insert_checked(&mut self, prefix: Prefix<A>, id: u32) -> Option<u32> {
        let (key, len) = (prefix.key(), prefix.len());
        match self.locate(key, len) {
            At::Shown(old) => {
                // A replacement (most updates): the prefix's leaves.
                self.swap_leaves(key, len, old, id);
                Some(old)
            }
            At::Kept(i) => {
                let old = self.kept.replace(i, id);
                if Self::kept_always(len) {
                    self.swap_leaves(key, len, old, id);
                }
                Some(old)
            }
            At::Absent => {
                self.add(key, len, id);
                None
            }
        }
    }

    /// Gives the positions of `key/len` whose leaf is its own (id `old`) the leaf of `id`.
    fn swap_leaves(&mut self, key: A::Key, len: u8, old: u32, id: u32) {
        if old == id {
            return;
        }
        let (from, to) = (Self::leaf(len, old), Self::leaf(len, id));
        if !self.trie.replace_in_place(key, len as u32, from, to) {
            // Where equal neighbours merged, `P`'s positions may share a leaf (or a collapsed
            // node) with its siblings, and must be split out again.
            self.trie
                .paint(key, len as u32, true, &|l| if l == from { to } else { l });
        }
    }

    /// Where prefix `key/len` is. A short one is in `kept` or absent. For the others the
    /// leaves at the first and last address settle it nearly always (a leaf of its length is
    /// its own; a shorter one means it is absent); only when both are longer prefixes' does it
    /// look in `kept` and then scan the leaves under the prefix (one direct-level region at
    /// most).
    #[inline]
    fn locate(&self, key: A::Key, len: u8) -> At {
        if Self::kept_always(len) {
            return self.kept.find(key, len).map_or(At::Absent, At::Kept);
        }
        let want = len as u32 + 1;
        let l = self.trie.find(key);
        if Self::len_of(l) == want {
            return At::Shown(l & Self::MAX_ID);
        }
        if Self::len_of(l) < want {
            return At::Absent;
        }
        self.locate_slow(key, len)
    }

    #[inline(never)]
    fn locate_slow(&self, key: A::Key, len: u8) -> At {
        let want = len as u32 + 1;
        if (len as u32) < A::Key::BITS {
            let l = self.trie.find(key.xor(A::Key::mask(len as u32).not()));
            if Self::len_of(l) == want {
                return At::Shown(l & Self::MAX_ID);
            }
            if Self::len_of(l) < want {
                return At::Absent;
            }
        }
        if let Some(i) = self.kept.find(key, len) {
            return At::Kept(i);
        }
        match self.scan(key, len) {
            Some(id) => At::Shown(id),
            None => At::Absent,
        }
    }

    /// The id of prefix `key/len` if some address under it matches it: a scan of its leaves
    /// that stops at the first of its length (found) or of a shorter one (it is absent).
    fn scan(&self, key: A::Key, len: u8) -> Option<u32> {
        let want = len as u32 + 1;
        let mut found = None;
        self.trie
            .visit(key, len as u32, &Self::plen, &mut |_, l, _| {
                if Self::len_of(l) == want {
                    found = Some(l & Self::MAX_ID);
                }
                Self::len_of(l) <= want
            });
        found
    }

    /// The id of prefix `key/len`, present in the table, if some address matches it.
    fn shown(&self, key: A::Key, len: u8) -> Option<u32> {
        let want = len as u32 + 1;
        let last = key.xor(A::Key::mask(len as u32).not());
        for a in [key, last] {
            let l = self.trie.find(a);
            if Self::len_of(l) == want {
                return Some(l & Self::MAX_ID);
            }
        }
        self.scan(key, len)
    }

    /// Adds `key/len`, absent from the table: paints it over the positions under it whose
    /// match is shorter. If there are none, no address matches it (kept aside); if there are,
    /// they were its parent's, which may now be matched by no address in turn.
    fn add(&mut self, key: A::Key, len: u8, id: u32) {
        let (floor, leaf) = (Self::floor(len as u32), Self::leaf(len, id));
        let painted = std::cell::Cell::new(None);
        self.trie.paint(key, len as u32, true, &|l| {
            if l < floor {
                painted.set(Some(l));
                leaf
            } else {
                l
            }
        });
        self.count += 1;
        match painted.get() {
            _ if Self::kept_always(len) => self.keep(key, len, id),
            None => self.keep(key, len, id),
            Some(0) => {}
            Some(parent) => {
                let plen = Self::plen(parent) as u8;
                let pkey = key.and(A::Key::mask(plen as u32));
                if !Self::kept_always(plen) && self.shown(pkey, plen).is_none() {
                    self.keep(pkey, plen, parent & Self::MAX_ID);
                }
            }
        }
    }

    /// Records `key/len` (in the table) in `kept`.
    fn keep(&mut self, key: A::Key, len: u8, id: u32) {
        if self.kept.cap() == 0 || self.kept.full() {
            self.kept.rebuild((self.kept.len() + 1) * 2);
        }
        let Err(i) = self.kept.probe(key, len) else {
            unreachable!("lpm: {key:?}/{len} kept twice")
        };
        self.kept.fill(i, key, len, id);
    }

    /// Removes `prefix`, returning its next-hop id; its addresses fall back to the longest
    /// prefix covering it.
    pub fn remove(&mut self, prefix: &Prefix<A>) -> Option<u32> {
        let (key, len) = (prefix.key(), prefix.len());
        let id = match self.locate(key, len) {
            At::Absent => return None,
            At::Kept(i) => {
                let id = self.kept.take(i);
                if Self::kept_always(len) {
                    // Some addresses may match it (a no-op where none does).
                    self.give_to_parent(key, len, id);
                }
                id
            }
            At::Shown(id) => {
                self.give_to_parent(key, len, id);
                id
            }
        };
        self.count -= 1;
        if self.count == 0 {
            self.clear();
        }
        Some(id)
    }

    /// Repaints the positions of `key/len` (id `id`, being removed) with its parent's leaf.
    fn give_to_parent(&mut self, key: A::Key, len: u8, id: u32) {
        let parent = self.parent(key, len);
        let from = Self::leaf(len, id);
        // The parent is shorter: it appears nowhere inside the prefix, so the swap keeps the
        // runs there as they are (see `Trie::replace_in_place`).
        if !self.trie.replace_in_place(key, len as u32, from, parent) {
            self.trie.paint(key, len as u32, true, &|l| {
                if l == from {
                    parent
                } else {
                    l
                }
            });
        }
        let plen = Self::plen(parent) as u8;
        if parent != 0 && !Self::kept_always(plen) && self.kept.len() > 0 {
            // The parent now has the prefix's addresses (if any showed the prefix): no longer
            // matched by no address. (A prefix that showed nowhere and is not short was kept
            // and is removed without coming here.)
            if let Some(i) = self.kept.find(key.and(A::Key::mask(plen as u32)), plen) {
                self.kept.take(i);
            }
        }
    }

    /// The leaf of the longest prefix strictly covering `key/len` (0: none). For each
    /// shorter length `l`, the leaves at both ends of the prefix's sibling at `l` name the
    /// parent when one is shorter than `l`; otherwise the prefix of length `l - 1` above is
    /// looked for ([`Fib::locate`]).
    fn parent(&self, key: A::Key, len: u8) -> u32 {
        for l in (1..=len as u32).rev() {
            let bit = A::Key::mask(l).xor(A::Key::mask(l - 1));
            let first = key.and(A::Key::mask(l)).xor(bit);
            let last = first.xor(A::Key::mask(l).not());
            for a in [first, last] {
                let leaf = self.trie.find(a);
                if leaf < Self::floor(l) {
                    return leaf;
                }
            }
            let up = (l - 1) as u8;
            match self.locate(key.and(A::Key::mask(l - 1)), up) {
                At::Shown(id) => return Self::leaf(up, id),
                At::Kept(i) => return Self::leaf(up, self.kept.val(i)),
                At::Absent => {}
            }
        }
        0
    }

    /// The next-hop id stored at exactly `prefix`.
    pub fn get(&self, prefix: &Prefix<A>) -> Option<u32> {
        match self.locate(prefix.key(), prefix.len()) {
            At::Shown(id) => Some(id),
            At::Kept(i) => Some(self.kept.val(i)),
            At::Absent => None,
        }
    }

    /// Whether `prefix` itself is in the table.
    pub fn contains_key(&self, prefix: &Prefix<A>) -> bool {
        !matches!(self.locate(prefix.key(), prefix.len()), At::Absent)
    }

    /// The compiled trie (its leaves: `(len + 1) << ID_BITS | id`).
    pub(crate) fn trie(&self) -> &Trie<A::Key> {
        &self.trie
    }

    /// The next-hop id a leaf of the trie (or of an export of it) names.
    #[inline(always)]
    pub(crate) fn leaf_id(leaf: u32) -> Option<u32> {
        (leaf != 0).then_some(leaf & Self::MAX_ID)
    }

    /// The prefix and next-hop id that leaf `leaf`, found for `key`, names.
    #[inline(always)]
    pub(crate) fn leaf_match(key: A::Key, leaf: u32) -> Option<(Prefix<A>, u32)> {
        if leaf == 0 {
            return None;
        }
        let len = (leaf >> Self::ID_BITS) - 1;
        let p = Prefix::from_key_unchecked(key.and(A::Key::mask(len)), len as u8);
        Some((p, leaf & Self::MAX_ID))
    }

    /// The next-hop id of the longest prefix containing `addr`: the fast path.
    #[inline]
    pub fn lookup(&self, addr: A) -> Option<u32> {
        Self::leaf_id(self.trie.find(addr.to_key()))
    }

    /// The longest prefix containing `addr`, and its next-hop id (from the leaf alone).
    #[inline]
    pub fn longest_match(&self, addr: A) -> Option<(Prefix<A>, u32)> {
        let key = addr.to_key();
        Self::leaf_match(key, self.trie.find(key))
    }

    /// Looks up many addresses at once, writing `out[i] = self.lookup(addrs[i])`; walks
    /// groups of 32 in lock-step as [`PrefixMap::lookup_batch`](super::PrefixMap::lookup_batch)
    /// does.
    ///
    /// # Panics
    /// If `out` is shorter than `addrs`.
    ///
    /// ```
    /// use netplumb::lpm::Fib;
    /// use std::net::Ipv4Addr;
    ///
    /// let fib: Fib<Ipv4Addr> = Fib::try_from_iter([("10.0.0.0/8".parse().unwrap(), 1)]).unwrap();
    /// let mut out = [None; 2];
    /// fib.lookup_batch(&[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(11, 0, 0, 1)], &mut out);
    /// assert_eq!(out, [Some(1), None]);
    /// ```
    pub fn lookup_batch(&self, addrs: &[A], out: &mut [Option<u32>]) {
        Self::batch_ids(
            addrs,
            out,
            |c| self.trie.find_group::<BATCH>(|i| c[i].to_key()),
            |a| self.trie.find(a.to_key()),
        )
    }

    /// The loop of a `lookup_batch` (this one, and that of a published `SharedFib`): groups
    /// of [`BATCH`] addresses through `group`, the rest one by one through `one`, each leaf
    /// written to `out` as an id.
    ///
    /// # Panics
    /// If `out` is shorter than `addrs`.
    #[inline(always)]
    pub(crate) fn batch_ids(
        addrs: &[A],
        out: &mut [Option<u32>],
        group: impl Fn(&[A; BATCH]) -> [u32; BATCH],
        one: impl Fn(A) -> u32,
    ) {
        assert!(out.len() >= addrs.len(), "lookup_batch: output too short");
        let mut chunks = addrs.chunks_exact(BATCH);
        let mut o = 0;
        for chunk in &mut chunks {
            let chunk: &[A; BATCH] = chunk.try_into().expect("BATCH addresses");
            for (slot, leaf) in out[o..o + BATCH].iter_mut().zip(group(chunk)) {
                *slot = Self::leaf_id(leaf);
            }
            o += BATCH;
        }
        for a in chunks.remainder() {
            out[o] = Self::leaf_id(one(*a));
            o += 1;
        }
    }

    /// Calls `out(key, len)` for the prefixes that leaf `l` shows at a trie position (the
    /// addresses whose first `g` bits are `addr`'s): the one containing it, or when the leaf
    /// is longer than the position, each of its length inside it.
    fn shown_at(addr: A::Key, l: u32, g: u32, mut out: impl FnMut(A::Key, u8)) {
        if l == 0 {
            return;
        }
        let len = Self::plen(l);
        if len <= g {
            out(addr.and(A::Key::mask(len)), len as u8);
        } else {
            for j in 0..1usize << (len - g) {
                out(addr.with_bits(g, len - g, j), len as u8);
            }
        }
    }

    /// Every `(key, len, id)`, sorted by prefix: read off the leaves (with repeats) and from
    /// `kept`, then sorted and deduplicated.
    fn entries(&self) -> Vec<(A::Key, u8, u32)> {
        let mut v = Vec::with_capacity(self.count);
        self.trie
            .visit(A::Key::ZERO, 0, &Self::plen, &mut |addr, l, g| {
                Self::shown_at(addr, l, g, |k, len| v.push((k, len, l & Self::MAX_ID)));
                false
            });
        let h = &self.kept;
        v.extend(h.occupied().map(|i| (h.key(i), h.plen(i), h.val(i))));
        v.sort_unstable();
        v.dedup();
        debug_assert_eq!(v.len(), self.count);
        v
    }

    /// The `(prefix, id)` pairs in prefix order (by address, then length). Reads every leaf
    /// and sorts: O(n log n).
    pub fn iter(&self) -> impl Iterator<Item = (Prefix<A>, u32)> + '_ {
        self.entries()
            .into_iter()
            .map(|(k, len, id)| (Prefix::from_key_unchecked(k, len), id))
    }

    /// Adds many entries to an empty table at once: sort, deduplicate (last wins), paint
    /// covering prefixes before the prefixes they cover, then record the prefixes that no
    /// address matches.
    fn bulk_load(&mut self, mut items: Vec<(Prefix<A>, u32)>) {
        debug_assert!(self.is_empty());
        items.sort_by_key(|(p, _)| *p); // stable: the last duplicate stays last
        let mut order = Vec::with_capacity(items.len());
        let mut it = items.into_iter().peekable();
        while let Some((p, id)) = it.next() {
            if it.peek().is_some_and(|(q, _)| *q == p) {
                continue;
            }
            assert!(
                id <= Self::MAX_ID,
                "lpm: next-hop id {id} above Fib::MAX_ID ({})",
                Self::MAX_ID
            );
            order.push((p.key(), p.len(), id));
        }
        for &(key, len, id) in &order {
            let (floor, leaf) = (Self::floor(len as u32), Self::leaf(len, id));
            self.trie
                .paint(key, len as u32, true, &|l| if l < floor { leaf } else { l });
        }
        self.count = order.len();
        // The prefixes the leaves show, sorted as `order` is.
        let mut shown = Vec::with_capacity(order.len());
        self.trie
            .visit(A::Key::ZERO, 0, &Self::plen, &mut |addr, l, g| {
                Self::shown_at(addr, l, g, |k, len| shown.push((k, len)));
                false
            });
        shown.sort_unstable();
        shown.dedup();
        // Kept: the short prefixes and those no leaf shows.
        let mut s = shown.iter().peekable();
        let mut kept = Vec::new();
        for &(key, len, id) in &order {
            while s.next_if(|&&(k, l)| (k, l) < (key, len)).is_some() {}
            if Self::kept_always(len) || s.peek() != Some(&&(key, len)) {
                kept.push((key, len, id));
            }
        }
        self.kept.size_for(kept.len());
        for (key, len, id) in kept {
            self.keep(key, len, id);
        }
        self.trie.shrink_to_fit();
    }
}

impl<A: IpKey> Default for Fib<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: IpKey> Clone for Fib<A> {
    fn clone(&self) -> Self {
        Fib {
            trie: self.trie.clone(),
            kept: self.kept.clone(),
            count: self.count,
        }
    }
}

impl<A: IpKey> Fib<A> {
    /// Builds a table in one pass (faster than inserting one by one); for a repeated prefix
    /// the last id wins. An id above [`Fib::MAX_ID`] is refused before anything is built.
    pub fn try_from_iter<I: IntoIterator<Item = (Prefix<A>, u32)>>(
        iter: I,
    ) -> Result<Self, PrefixError> {
        let mut m = Fib::new();
        m.try_extend(iter)?;
        Ok(m)
    }

    /// Inserts every entry (in one pass when the table is empty). An id above
    /// [`Fib::MAX_ID`] is refused before anything changes.
    pub fn try_extend<I: IntoIterator<Item = (Prefix<A>, u32)>>(
        &mut self,
        iter: I,
    ) -> Result<(), PrefixError> {
        let items: Vec<(Prefix<A>, u32)> = iter.into_iter().collect();
        for (_, id) in &items {
            Self::check_id(*id)?;
        }
        if self.is_empty() {
            self.bulk_load(items);
        } else {
            for (p, id) in items {
                self.insert_checked(p, id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<A: IpKey> Fib<A> {
        /// How many prefixes no address matches (in `kept`, not short).
        fn covered(&self) -> usize {
            let k = &self.kept;
            k.occupied()
                .filter(|&i| !Self::kept_always(k.plen(i)))
                .count()
        }
    }

    #[test]
    fn leaf_layout() {
        assert_eq!(Fib::<Ipv4Addr>::MAX_ID, (1 << 24) - 1);
        assert_eq!(Fib::<Ipv6Addr>::MAX_ID, (1 << 22) - 1);
        // The largest leaves stay clear of the trie's tag bits.
        assert!(Fib::<Ipv4Addr>::leaf(32, Fib::<Ipv4Addr>::MAX_ID) < 1 << 30);
        assert!(Fib::<Ipv6Addr>::leaf(128, Fib::<Ipv6Addr>::MAX_ID) < 1 << 30);
        assert_ne!(Fib::<Ipv4Addr>::leaf(0, 0), 0);
    }

    #[test]
    fn rejects_large_ids() {
        let mut f = Fib::<Ipv6Addr>::new();
        let max = Fib::<Ipv6Addr>::MAX_ID;
        assert_eq!(
            f.insert("::/0".parse().unwrap(), max + 1),
            Err(PrefixError::IdTooLarge { id: max + 1, max })
        );
        assert!(f.is_empty());
        let e = Fib::<Ipv6Addr>::try_from_iter([
            ("::/0".parse().unwrap(), 1),
            ("2001:db8::/32".parse().unwrap(), max + 7),
        ]);
        assert!(matches!(e, Err(PrefixError::IdTooLarge { .. })));
        assert_eq!(f.insert("::/0".parse().unwrap(), max), Ok(None));
    }

    #[test]
    fn replacements_at_the_edges_of_a_flat_block() {
        // One first-level word (a /18) holds 64 /24 positions as a flat block: replace the
        // /24s at both ends and a /22 at the end, with ids equal to a neighbour's (the runs
        // must merge: no swap in place) and with fresh ones, checking every position.
        let p = |i: u32, len: u8| Prefix::new(Ipv4Addr::from_bits(0x0a00_0000 | i << 8), len);
        let mut f = Fib::<Ipv4Addr>::new();
        let mut want = [0u32; 64];
        for i in 0..60 {
            f.insert(p(i, 24).unwrap(), i % 3).unwrap();
            want[i as usize] = i % 3;
        }
        f.insert(p(60, 22).unwrap(), 7).unwrap();
        want[60..].fill(7);
        let check = |f: &Fib<Ipv4Addr>, want: &[u32; 64]| {
            for (i, w) in want.iter().enumerate() {
                let a = Ipv4Addr::from_bits(0x0a00_0000 | (i as u32) << 8 | 9);
                assert_eq!(f.lookup(a), Some(*w), "position {i}");
            }
        };
        check(&f, &want);
        for (i, id) in [(0, 1), (0, 5), (59, 7), (59, 1), (1, 5), (0, 2)] {
            f.insert(p(i, 24).unwrap(), id).unwrap();
            want[i as usize] = id;
            check(&f, &want);
        }
        for id in [8, 9] {
            f.insert(p(60, 22).unwrap(), id).unwrap();
            want[60..].fill(id);
            check(&f, &want);
        }
        assert_eq!(f.remove(&p(0, 24).unwrap()), Some(2));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 0, 1)), None);
    }

    #[test]
    fn equal_neighbours_merge_and_split_again() {
        // 64 /24s with one id fill a first-level word's range; their leaves merge into one.
        // Replacing and removing one of them must split it back out.
        let mut f = Fib::<Ipv4Addr>::new();
        let p = |i: u32| Prefix::new(Ipv4Addr::from_bits(0x0a00_0000 | i << 8), 24).unwrap();
        for i in 0..64 {
            f.insert(p(i), 9).unwrap();
        }
        f.insert("10.0.0.0/8".parse().unwrap(), 1).unwrap();
        assert_eq!(f.insert(p(5), 3), Ok(Some(9)));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 5, 1)), Some(3));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 6, 1)), Some(9));
        assert_eq!(f.remove(&p(6)), Some(9));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 6, 1)), Some(1));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 7, 1)), Some(9));
        let (m, id) = f.longest_match(Ipv4Addr::new(10, 0, 6, 1)).unwrap();
        assert_eq!((m.to_string().as_str(), id), ("10.0.0.0/8", 1));
    }

    /// A prefix that no address matches (both halves covered by longer prefixes) goes to the
    /// side table and back out as its halves come and go; `get`, `len`, `iter`, replacement
    /// and removal see it throughout, and a bulk load finds the same ones.
    #[test]
    fn prefixes_no_address_matches() {
        let p = |s: &str| s.parse::<Prefix<Ipv4Addr>>().unwrap();
        let mut f = Fib::<Ipv4Addr>::new();
        f.insert(p("10.0.0.0/8"), 1).unwrap();
        f.insert(p("10.0.0.0/23"), 2).unwrap();
        f.insert(p("10.0.0.0/24"), 3).unwrap();
        assert_eq!(f.covered(), 0);
        // The second half: the /23 keeps no address of its own.
        f.insert(p("10.0.1.0/24"), 4).unwrap();
        assert_eq!(f.covered(), 1);
        assert_eq!(f.get(&p("10.0.0.0/23")), Some(2));
        assert!(f.contains_key(&p("10.0.0.0/23")));
        assert_eq!(f.len(), 4);
        let all: Vec<_> = f.iter().map(|(q, id)| (q.to_string(), id)).collect();
        assert_eq!(
            all,
            [
                ("10.0.0.0/8".to_string(), 1),
                ("10.0.0.0/23".to_string(), 2),
                ("10.0.0.0/24".to_string(), 3),
                ("10.0.1.0/24".to_string(), 4)
            ]
        );
        // A new id for it changes no leaf; it shows once a half goes.
        assert_eq!(f.insert(p("10.0.0.0/23"), 5), Ok(Some(2)));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 1, 1)), Some(4));
        assert_eq!(f.remove(&p("10.0.1.0/24")), Some(4));
        assert_eq!(f.covered(), 0);
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 1, 1)), Some(5));
        let bulk = Fib::try_from_iter(f.iter()).unwrap();
        assert_eq!(bulk.covered(), 0);
        // Hidden again, then removed while hidden: no leaf changes, the parent stays put.
        f.insert(p("10.0.1.0/24"), 6).unwrap();
        assert_eq!(f.covered(), 1);
        let bulk = Fib::try_from_iter(f.iter()).unwrap();
        assert_eq!(bulk.covered(), 1);
        assert_eq!(bulk.get(&p("10.0.0.0/23")), Some(5));
        assert_eq!(f.remove(&p("10.0.0.0/23")), Some(5));
        assert_eq!(f.covered(), 0);
        assert_eq!(f.get(&p("10.0.0.0/23")), None);
        assert_eq!(f.len(), 3);
        // Removing a half now falls back to the /8.
        assert_eq!(f.remove(&p("10.0.0.0/24")), Some(3));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 0, 0, 1)), Some(1));
        // A hidden parent of a hidden parent: /22 over two /23s over four /24s.
        for (s, id) in [("10.4.0.0/22", 7), ("10.4.0.0/23", 8), ("10.4.2.0/23", 9)] {
            f.insert(p(s), id).unwrap();
        }
        assert_eq!(f.covered(), 1);
        for i in 0..4 {
            f.insert(p(&format!("10.4.{i}.0/24")), 10 + i).unwrap();
        }
        assert_eq!(f.covered(), 3);
        assert_eq!(f.get(&p("10.4.0.0/22")), Some(7));
        assert_eq!(f.remove(&p("10.4.2.0/24")), Some(12));
        // 10.4.2.0/23 shows again; the /22 is still covered by the two /23s.
        assert_eq!(f.covered(), 2);
        assert_eq!(f.lookup(Ipv4Addr::new(10, 4, 2, 1)), Some(9));
        assert_eq!(f.remove(&p("10.4.2.0/23")), Some(9));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 4, 2, 1)), Some(7));
        assert_eq!(f.covered(), 1);
        assert_eq!(f.get(&p("10.4.0.0/22")), Some(7));
        // Absent prefixes: one covered at both ends, one under nothing.
        assert_eq!(f.get(&p("10.4.0.0/21")), None);
        assert_eq!(f.get(&p("10.0.0.0/7")), None);
        assert_eq!(f.remove(&p("10.4.0.0/21")), None);
        let n = f.len();
        let bulk = Fib::try_from_iter(f.iter()).unwrap();
        assert_eq!((bulk.len(), bulk.covered()), (n, 1));
        assert!(bulk.iter().eq(f.iter()));
    }

    /// Neighbours of one length and id merge into one leaf, and a node whose positions all
    /// hold one leaf folds into its parent's position: a /24 position then holds a /25
    /// leaf, or a /18 word a /26 one. Every prefix under such a leaf is still read back
    /// (`iter`, `get`), and a bulk load finds the parent they cover as hidden.
    #[test]
    fn leaves_longer_than_their_position() {
        let p = |s: &str| s.parse::<Prefix<Ipv4Addr>>().unwrap();
        let mut f = Fib::<Ipv4Addr>::new();
        f.insert(p("10.1.0.0/24"), 3).unwrap();
        f.insert(p("10.1.0.0/25"), 7).unwrap();
        f.insert(p("10.1.0.128/25"), 7).unwrap();
        assert_eq!(f.covered(), 1);
        // A whole /18 of /26s with one id: 256 prefixes in one first-level word.
        let quarter: Vec<Prefix<Ipv4Addr>> = (0..256u32)
            .map(|i| Prefix::new(Ipv4Addr::from_bits(0x0a40_0000 | i << 6), 26).unwrap())
            .collect();
        for q in &quarter {
            f.insert(*q, 9).unwrap();
        }
        let want: Vec<(Prefix<Ipv4Addr>, u32)> = [(p("10.1.0.0/24"), 3), (p("10.1.0.0/25"), 7)]
            .into_iter()
            .chain([(p("10.1.0.128/25"), 7)])
            .chain(quarter.iter().map(|q| (*q, 9)))
            .collect();
        assert!(f.iter().eq(want.iter().copied()));
        assert_eq!(f.len(), want.len());
        for (q, id) in &want {
            assert_eq!(f.get(q), Some(*id), "{q}");
        }
        let bulk = Fib::try_from_iter(want.iter().copied()).unwrap();
        assert_eq!(bulk.covered(), 1);
        assert!(bulk.iter().eq(want.iter().copied()));
        // Taking one /26 out splits the word again; the rest stay.
        assert_eq!(f.remove(&quarter[77]), Some(9));
        assert_eq!(f.lookup(Ipv4Addr::from_bits(0x0a40_0000 | 77 << 6)), None);
        assert_eq!(f.get(&quarter[78]), Some(9));
        assert_eq!(f.len(), want.len() - 1);
    }

    /// A first-level word's 64 /24 positions holding many runs (IPv4: 10.64.0.0/18, where
    /// flat blocks keep the runs form; IPv6: 2000::/18, where a block of many runs takes the
    /// lines form): random inserts, replacements (the in-place swap across lines) and
    /// removals of /24s, /22s and /20s, with some /26s that turn the block into a node and
    /// back, each step checked at every position and for every prefix against a plain list.
    #[test]
    fn dense_blocks_against_a_model() {
        let v4_forms = if crate::lpm::trie::LINES_V4 { 3 } else { 1 };
        dense_block_model::<Ipv4Addr>(
            32,
            0x0a00_0000,
            0x0a40_0000,
            |x| Ipv4Addr::from_bits(x as u32),
            |f| f.trie.l1[0x0a40_0000 >> 14],
            v4_forms,
        );
        dense_block_model::<Ipv6Addr>(
            128,
            0x2000 << 112,
            0x2000 << 112,
            Ipv6Addr::from_bits,
            |f| f.trie.l1_get(((0x2000u128 << 112) >> 110) as usize),
            3,
        );
    }

    /// The body of [`dense_blocks_against_a_model`], for `width`-bit addresses held in a u128:
    /// `cover` is an /8 holding the /18 `region`, `first` reads the region's first-level word
    /// and the block must take at least `want_forms` forms.
    fn dense_block_model<A: IpKey>(
        width: u32,
        cover: u128,
        region: u128,
        addr: fn(u128) -> A,
        first: impl Fn(&Fib<A>) -> u32,
        want_forms: usize,
    ) {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let full = u128::MAX >> (128 - width);
        let host = |len: u8| full.checked_shr(u32::from(len)).unwrap_or(0);
        // The 14 bits below the /18, and a /26's 8 bits from there, sit this far up.
        let up = width - 32;
        let mut f = Fib::<A>::new();
        let mut model: std::collections::BTreeMap<(u128, u8), u32> = Default::default();
        f.insert(Prefix::new(addr(cover), 8).unwrap(), 1).unwrap();
        model.insert((cover, 8), 1);
        let mut forms = std::collections::BTreeSet::new();
        for step in 0..6000 {
            // /26s (which make the block a node) only in the second half.
            let lens: &[u8] = if step < 3000 {
                &[24, 24, 24, 24, 24, 22, 20]
            } else {
                &[24, 24, 24, 22, 26]
            };
            let len = lens[(next() % lens.len() as u64) as usize];
            let key = region | (u128::from(next() as u32 & 0x3fff) << up) & !host(len);
            let p = Prefix::new(addr(key), len).unwrap();
            // Few ids, so that neighbours often become equal and merge.
            let id = (next() % if step % 2 == 0 { 4 } else { 1000 }) as u32;
            if next() % if len == 26 { 2 } else { 6 } == 0 {
                assert_eq!(f.remove(&p), model.remove(&(key, len)));
            } else {
                assert_eq!(f.insert(p, id).unwrap(), model.insert((key, len), id));
            }
            let e = first(&f);
            if e & 3 << 30 == crate::lpm::trie::FLAT {
                forms.insert(e >> 27 & 7);
            }
            if step % 10 != 0 {
                continue;
            }
            for q in 0..256u128 {
                let a = region | q << (up + 6) | 1;
                let want = model
                    .iter()
                    .filter(|(&(k, l), _)| a & !host(l) == k)
                    .max_by_key(|(&(_, l), _)| l)
                    .map(|(_, &id)| id);
                assert_eq!(f.lookup(addr(a)), want, "step {step} {a:#x}");
            }
            for (&(k, l), &id) in &model {
                let p = Prefix::new(addr(k), l).unwrap();
                assert_eq!(f.get(&p), Some(id), "step {step} {p}");
            }
            assert_eq!(f.len(), model.len());
        }
        assert!(
            forms.len() >= want_forms,
            "the block took several forms: {forms:?}"
        );
    }

    /// The IPv6 second level in both forms (`Trie::dir_lines` off: every block dense; on:
    /// sparse blocks in lines, moved to the dense form when a group outgrows its line), under
    /// one first-level word (2a00::/18): random inserts, replacements and removals of /20s to
    /// /64s, with bursts of /30s in a few /24s (a group's 64 positions, so that groups
    /// outgrow a line), and a drain at the end that turns the block back into a flat block
    /// or leaf. Every few steps every prefix is read back, the addresses at both ends and
    /// inside each prefix and random ones are looked up against a plain map, and a walk of
    /// all entries is compared with it.
    #[test]
    fn second_level_blocks_against_a_model() {
        for lines in [true, false] {
            second_level_model(lines);
        }
    }

    fn second_level_model(lines: bool) {
        use crate::lpm::trie::{is_dense, DIR};
        let mut x = 0x2545_f491_4f6c_dd1du64 ^ lines as u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let region = 0x2a00u128 << 112;
        let rand_in = |r: u64, s: u64| region | ((r as u128) << 64 | s as u128) >> 18;
        let mut f = Fib::<Ipv6Addr>::new();
        f.trie.dir_lines = lines;
        let mut model: std::collections::BTreeMap<(u128, u8), u32> = Default::default();
        let lens: [u8; 13] = [20, 24, 28, 30, 30, 32, 36, 40, 44, 48, 48, 56, 64];
        let lpm = |m: &std::collections::BTreeMap<(u128, u8), u32>, a: u128| {
            (0..=128u32).rev().find_map(|l| {
                let k = a & !(u128::MAX.checked_shr(l).unwrap_or(0));
                m.get(&(k, l as u8)).copied()
            })
        };
        let mut forms = std::collections::BTreeSet::new();
        // Then removals only, until the table is empty.
        let steps = 2600;
        for step in 0.. {
            let drain = step >= steps;
            if drain && model.is_empty() {
                break;
            }
            let existing = !model.is_empty() && (drain || next() % 3 == 0);
            let (key, len) = if existing {
                let i = (next() % model.len() as u64) as usize;
                *model.keys().nth(i).unwrap()
            } else if step > 1200 && next() % 4 == 0 {
                // Later, a /30 in one of three /24s: many runs in one group.
                let g = (next() % 3) as u128;
                (region | g << 104 | ((next() % 64) as u128) << 98, 30)
            } else {
                let len = lens[(next() % lens.len() as u64) as usize];
                let a = rand_in(next(), next());
                (a & !(u128::MAX >> len), len)
            };
            let p = Prefix::new(Ipv6Addr::from_bits(key), len).unwrap();
            if drain || (existing && next() % 2 == 0) {
                assert_eq!(f.remove(&p), model.remove(&(key, len)), "step {step} {p}");
            } else {
                // Few ids, so that neighbours often become equal and merge.
                let id = (next() % if step % 2 == 0 { 3 } else { 5000 }) as u32;
                assert_eq!(f.insert(p, id).unwrap(), model.insert((key, len), id));
            }
            let e = f.trie.l1_get((region >> 110) as usize);
            forms.insert(if e & DIR == DIR {
                if is_dense(e) {
                    "dense"
                } else {
                    "lines"
                }
            } else {
                "none"
            });
            if step % 50 != 49 && !(drain && model.is_empty()) {
                continue;
            }
            for (&(k, l), &id) in &model {
                let p = Prefix::new(Ipv6Addr::from_bits(k), l).unwrap();
                assert_eq!(f.get(&p), Some(id), "step {step} {p}");
                let last = k | u128::MAX.checked_shr(l as u32).unwrap_or(0);
                let inner = k | (rand_in(next(), next()) & !(u128::MAX << (128 - l as u32)));
                for a in [k, last, inner] {
                    let want = lpm(&model, a);
                    assert_eq!(f.lookup(Ipv6Addr::from_bits(a)), want, "step {step} {a:#x}");
                }
            }
            for _ in 0..200 {
                let a = rand_in(next(), next());
                assert_eq!(f.lookup(Ipv6Addr::from_bits(a)), lpm(&model, a), "{a:#x}");
            }
            let all: Vec<_> = f.iter().map(|(p, id)| ((p.key(), p.len()), id)).collect();
            assert_eq!(all, model.iter().map(|(&k, &v)| (k, v)).collect::<Vec<_>>());
            assert_eq!(f.len(), model.len());
        }
        assert!(f.is_empty());
        let want: &[&str] = if lines {
            &["dense", "lines", "none"]
        } else {
            &["dense", "none"]
        };
        assert_eq!(forms.into_iter().collect::<Vec<_>>(), want);
    }

    /// Prefixes shorter than the direct levels live in `kept` whether or not addresses match
    /// them: replacing one still changes its leaves, removing one still gives its addresses to
    /// its parent, and one covered by longer prefixes (the split default route) is found
    /// without a scan.
    #[test]
    fn short_prefixes_are_kept_aside() {
        let p4 = |s: &str| s.parse::<Prefix<Ipv4Addr>>().unwrap();
        let mut f = Fib::<Ipv4Addr>::new();
        for (s, id) in [("0.0.0.0/1", 1), ("128.0.0.0/1", 2), ("10.0.0.0/8", 3)] {
            f.insert(p4(s), id).unwrap();
        }
        f.insert(p4("10.1.0.0/24"), 4).unwrap();
        assert_eq!((f.kept.len(), f.covered()), (3, 0));
        f.insert(p4("0.0.0.0/0"), 5).unwrap();
        assert_eq!((f.kept.len(), f.covered()), (4, 0));
        assert_eq!(f.get(&p4("0.0.0.0/0")), Some(5));
        assert_eq!(f.insert(p4("10.0.0.0/8"), 6), Ok(Some(3)));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 2, 0, 1)), Some(6));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 1, 0, 1)), Some(4));
        assert_eq!(f.remove(&p4("10.0.0.0/8")), Some(6));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 2, 0, 1)), Some(1));
        assert_eq!(f.remove(&p4("0.0.0.0/1")), Some(1));
        assert_eq!(f.lookup(Ipv4Addr::new(10, 2, 0, 1)), Some(5));
        assert_eq!(f.lookup(Ipv4Addr::new(200, 0, 0, 1)), Some(2));
        let want = [("0.0.0.0/0", 5), ("10.1.0.0/24", 4), ("128.0.0.0/1", 2)];
        assert!(f.iter().eq(want.iter().map(|&(s, id)| (p4(s), id))));
        assert_eq!(f.len(), 3);
        let bulk = Fib::try_from_iter(f.iter()).unwrap();
        assert_eq!((bulk.kept.len(), bulk.covered()), (2, 0));
        // IPv6: below /30.
        let p6 = |s: &str| s.parse::<Prefix<Ipv6Addr>>().unwrap();
        let mut g = Fib::<Ipv6Addr>::new();
        g.insert(p6("2001:db8::/29"), 1).unwrap();
        g.insert(p6("2001:db8::/30"), 2).unwrap();
        g.insert(p6("2001:dbc::/30"), 3).unwrap();
        assert_eq!((g.kept.len(), g.covered()), (1, 0));
        assert_eq!(g.get(&p6("2001:db8::/29")), Some(1));
        assert_eq!(g.remove(&p6("2001:dbc::/30")), Some(3));
        assert_eq!(g.lookup("2001:dbc::1".parse().unwrap()), Some(1));
    }
}
