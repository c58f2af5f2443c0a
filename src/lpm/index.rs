//! The entry store: an open-addressing hash table (linear probing) whose slots hold the
//! prefixes and their values themselves, in three parallel arrays (keys, lengths, values).
//! The keys array holds only the leading [`Key::HI_BITS`] bits of each prefix (all of an IPv4
//! address, the upper half of an IPv6 one: 8 bytes a slot instead of 16); the rare longer
//! prefixes (an IPv6 prefix longer than /64) keep their whole key in a side map.
//!
//! A slot number is an entry's identity: the compiled trie's leaves are slot numbers + 1, and
//! an entry never moves while it is in the table (a removal leaves a tombstone), so that a
//! replacement is one probe (the key, length and value of a slot are read in parallel, not one
//! after the other) and a removal repaints only the removed prefix. When the table must grow
//! (or shed tombstones) every entry moves at once and the trie is relabelled in one pass.
//!
//! A [`Fib`](super::Fib) keeps only the prefixes its leaves cannot show (those no address
//! matches) in a [`FibStore`]: for IPv4 a [`PackedSlots`] (the same table with key, length
//! and id packed in one `u64` a slot: one cache line a probe, 8 bytes a slot instead of 9).

use std::collections::HashMap;
use std::mem::MaybeUninit;

use super::key::Key;

/// `lens` marker of a slot that never held an entry since the last rebuild (ends a probe).
const EMPTY: u8 = 0xFF;
/// `lens` marker of a slot whose entry was removed (a probe continues past it).
const TOMB: u8 = 0xFE;

/// The slot table. Invariant: `vals[i]` is initialised exactly when `lens[i] < TOMB`.
pub struct Slots<K: Key, V> {
    keys: Vec<K::Hi>,
    /// Whole keys of the slots whose prefix is longer than `HI_BITS`.
    long: HashMap<u32, K>,
    lens: Vec<u8>,
    vals: Vec<MaybeUninit<V>>,
    live: usize,
    tombs: usize,
}

#[inline(always)]
fn hash<K: Key>(key: K, len: u8) -> u64 {
    let mut x = key.fold() ^ ((len as u64) << 56) ^ (len as u64).wrapping_mul(0x9e37_79b9);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Allocates `n` elements advised for huge pages before they are first touched.
fn huge_vec<T>(n: usize, fill: impl FnMut() -> T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    super::mem::advise_huge(v.as_ptr() as *const u8, n * std::mem::size_of::<T>());
    v.resize_with(n, fill);
    v
}

impl<K: Key, V> Slots<K, V> {
    pub(crate) fn new() -> Self {
        Slots {
            keys: Vec::new(),
            long: HashMap::new(),
            lens: Vec::new(),
            vals: Vec::new(),
            live: 0,
            tombs: 0,
        }
    }

    /// A table of `cap` empty slots.
    fn with_capacity(cap: usize) -> Self {
        Slots {
            keys: huge_vec(cap, || K::HI_ZERO),
            long: HashMap::new(),
            lens: huge_vec(cap, || EMPTY),
            vals: huge_vec(cap, MaybeUninit::uninit),
            live: 0,
            tombs: 0,
        }
    }

    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Number of slots.
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.lens.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<K::Hi>()
            + self.long.capacity() * (std::mem::size_of::<(u32, K)>() + 1)
            + self.lens.capacity()
            + self.vals.capacity() * std::mem::size_of::<V>()
    }

    #[inline(always)]
    fn home(&self, h: u64) -> usize {
        ((h as u128 * self.lens.len() as u128) >> 64) as usize
    }

    /// Whether the rest of slot `i`'s key (past `HI_BITS`) equals `key`'s, for a slot of
    /// length `len` whose leading bits already matched.
    #[inline(always)]
    fn long_eq(&self, i: usize, key: K, len: u8) -> bool {
        // Where the leading bits are the whole key (IPv4), the side map is never consulted.
        K::HI_BITS >= K::BITS
            || len as u32 <= K::HI_BITS
            || self.long.get(&(i as u32)) == Some(&key)
    }

    /// The slot holding `key/len`.
    #[inline]
    pub(crate) fn find(&self, key: K, len: u8) -> Option<usize> {
        let n = self.lens.len();
        if n == 0 {
            return None;
        }
        let mut i = self.home(hash(key, len));
        loop {
            let l = self.lens[i];
            if l == len && self.keys[i] == key.hi() && self.long_eq(i, key, len) {
                return Some(i);
            }
            if l == EMPTY {
                return None;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// `Ok(slot)` holding `key/len`, or `Err(slot)` where it would go (the first tombstone on
    /// its probe path, else the empty slot that ends it). The table must have a slot.
    #[inline]
    pub(crate) fn probe(&self, key: K, len: u8) -> Result<usize, usize> {
        let n = self.lens.len();
        debug_assert!(n > 0);
        let mut i = self.home(hash(key, len));
        let mut vacant = usize::MAX;
        loop {
            let l = self.lens[i];
            if l == len && self.keys[i] == key.hi() && self.long_eq(i, key, len) {
                return Ok(i);
            }
            if l >= TOMB {
                if vacant == usize::MAX {
                    vacant = i;
                }
                if l == EMPTY {
                    return Err(vacant);
                }
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Whether adding one more entry needs a [`rebuild`](Self::rebuild) first (at most 90%
    /// of the slots in use, tombstones included, so that probes stay short).
    #[inline]
    pub(crate) fn full(&self) -> bool {
        (self.live + self.tombs + 1) * 10 > self.cap() * 9
    }

    /// Stores an entry in vacant slot `i` (from [`probe`](Self::probe)).
    #[inline]
    pub(crate) fn fill(&mut self, i: usize, key: K, len: u8, value: V) {
        debug_assert!(self.lens[i] >= TOMB && len < TOMB);
        if self.lens[i] == TOMB {
            self.tombs -= 1;
        }
        self.keys[i] = key.hi();
        if len as u32 > K::HI_BITS {
            self.long.insert(i as u32, key);
        }
        self.vals[i].write(value);
        self.lens[i] = len;
        self.live += 1;
    }

    /// Removes the entry of slot `i`, returning its value.
    pub(crate) fn take(&mut self, i: usize) -> V {
        assert!(self.lens[i] < TOMB, "lpm: slot {i} is vacant");
        // SAFETY: `lens[i] < TOMB`, so `vals[i]` is initialised (the struct invariant); marking
        // the slot vacant below means it is never read again until `fill` writes it.
        let v = unsafe { self.vals[i].assume_init_read() };
        if self.lens[i] as u32 > K::HI_BITS {
            self.long.remove(&(i as u32));
        }
        self.live -= 1;
        let n = self.cap();
        if self.lens[if i + 1 == n { 0 } else { i + 1 }] == EMPTY {
            // Nothing probes past an empty slot: this one, and the tombstones just before it,
            // can become empty too.
            self.lens[i] = EMPTY;
            let mut j = i;
            loop {
                j = if j == 0 { n - 1 } else { j - 1 };
                if self.lens[j] != TOMB {
                    break;
                }
                self.lens[j] = EMPTY;
                self.tombs -= 1;
            }
        } else {
            self.lens[i] = TOMB;
            self.tombs += 1;
        }
        v
    }

    /// The key of occupied slot `i`.
    #[inline(always)]
    pub(crate) fn key(&self, i: usize) -> K {
        if self.lens[i] as u32 > K::HI_BITS {
            self.long[&(i as u32)]
        } else {
            K::from_hi(self.keys[i])
        }
    }

    /// The prefix length of occupied slot `i`.
    #[inline(always)]
    pub(crate) fn plen(&self, i: usize) -> u8 {
        self.lens[i]
    }

    /// The lengths array, for lookups by leaf number (a vacant slot reads as `>= 0xFE`).
    #[inline(always)]
    pub(crate) fn lens(&self) -> &[u8] {
        &self.lens
    }

    /// The value of occupied slot `i`.
    ///
    /// # Panics
    /// If the slot is vacant (a bug: leaves and probes only name occupied slots).
    #[inline(always)]
    pub(crate) fn val(&self, i: usize) -> &V {
        assert!(self.lens[i] < TOMB, "lpm: slot {i} is vacant");
        // SAFETY: `lens[i] < TOMB`: initialised (the struct invariant).
        unsafe { self.vals[i].assume_init_ref() }
    }

    /// The value of occupied slot `i`, mutably (panics if vacant, as [`val`](Self::val)).
    #[inline(always)]
    pub(crate) fn val_mut(&mut self, i: usize) -> &mut V {
        assert!(self.lens[i] < TOMB, "lpm: slot {i} is vacant");
        // SAFETY: `lens[i] < TOMB`: initialised (the struct invariant).
        unsafe { self.vals[i].assume_init_mut() }
    }

    /// The value of a slot named by a trie leaf, on the lookup path.
    #[inline(always)]
    pub(crate) fn leaf_val(&self, i: usize) -> &V {
        debug_assert!(self.lens[i] < TOMB);
        // SAFETY: `i` comes from a trie leaf, and the trie names only occupied slots: a slot
        // is vacated (`take`) only after `PrefixMap::remove` repainted its leaves to the
        // parent, and a rebuild relabels every leaf before the old slots go away. `vals[i]`
        // is therefore initialised; `get` keeps a wrong index (a bug) from reading out of
        // bounds, and the assertion above checks the invariant in debug builds. Checking
        // `lens[i]` here would cost the lookup one more cache line.
        unsafe { self.vals.get(i).unwrap_or_else(|| oob(i)).assume_init_ref() }
    }

    /// The occupied slots, in slot order.
    pub(crate) fn occupied(&self) -> impl Iterator<Item = usize> + '_ {
        self.lens
            .iter()
            .enumerate()
            .filter(|(_, &l)| l < TOMB)
            .map(|(i, _)| i)
    }

    /// Moves every entry into a new table of `cap` slots (no tombstones) and returns, for each
    /// old slot, its entry's new slot (`u32::MAX` for vacant ones).
    pub(crate) fn rebuild(&mut self, cap: usize) -> Vec<u32> {
        let cap = cap.max(self.live + 1).max(8);
        let mut new = Slots::with_capacity(cap);
        let mut map = vec![u32::MAX; self.cap()];
        for (i, m) in map.iter_mut().enumerate() {
            let len = self.lens[i];
            if len >= TOMB {
                continue;
            }
            let key = self.key(i);
            let Err(j) = new.probe(key, len) else {
                unreachable!("lpm: duplicate key in slot table")
            };
            // SAFETY: `lens[i] < TOMB`: initialised. The slot is marked vacant at once, so the
            // value is moved exactly once (and not dropped with `self`).
            let v = unsafe { self.vals[i].assume_init_read() };
            self.lens[i] = EMPTY;
            new.fill(j, key, len, v);
            *m = j as u32;
        }
        *self = new;
        map
    }

    /// Reserves room for `n` entries in an empty table.
    pub(crate) fn size_for(&mut self, n: usize) {
        debug_assert_eq!(self.live, 0);
        *self = Slots::with_capacity(n + n / 3 + 8);
    }

    /// The values, in slot order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.occupied().map(|i| self.val(i))
    }
}

#[cold]
#[inline(never)]
fn oob(i: usize) -> ! {
    panic!("lpm: leaf {i} out of range")
}

impl<K: Key, V> Drop for Slots<K, V> {
    fn drop(&mut self) {
        if std::mem::needs_drop::<V>() {
            for i in 0..self.lens.len() {
                if self.lens[i] < TOMB {
                    // SAFETY: initialised (invariant); dropped once, as the table goes away.
                    unsafe { self.vals[i].assume_init_drop() };
                }
            }
        }
    }
}

impl<K: Key, V: Clone> Clone for Slots<K, V> {
    fn clone(&self) -> Self {
        let n = self.cap();
        let mut c = Slots::with_capacity(n);
        c.keys.copy_from_slice(&self.keys);
        c.long = self.long.clone();
        for i in 0..n {
            let l = self.lens[i];
            if l < TOMB {
                c.vals[i].write(self.val(i).clone());
            }
            // Set after the value is written: if a `clone` panics, `c` drops only what it has.
            c.lens[i] = l;
        }
        c.live = self.live;
        c.tombs = self.tombs;
        c
    }
}

/// The side table of a [`Fib`](super::Fib) (its prefixes that no address matches, with their
/// `u32` ids), chosen per key type by [`FibKey::FibStore`]: [`PackedSlots`] for IPv4, [`Slots`]
/// for IPv6. The same operations as [`Slots`], with the id passed by value (a packed slot has
/// no `&mut u32`).
pub trait FibStore<K: Key>: Clone + Send + Sync + 'static {
    /// An empty store (no slots).
    fn new() -> Self;
    /// Number of entries.
    fn len(&self) -> usize;
    /// Number of slots.
    fn cap(&self) -> usize;
    /// Heap bytes held.
    fn bytes(&self) -> usize;
    /// The slot holding `key/len`.
    fn find(&self, key: K, len: u8) -> Option<usize>;
    /// As [`Slots::probe`].
    fn probe(&self, key: K, len: u8) -> Result<usize, usize>;
    /// As [`Slots::full`].
    fn full(&self) -> bool;
    /// As [`Slots::fill`].
    fn fill(&mut self, i: usize, key: K, len: u8, id: u32);
    /// Removes the entry of slot `i`, returning its id.
    fn take(&mut self, i: usize) -> u32;
    /// The key of occupied slot `i`.
    fn key(&self, i: usize) -> K;
    /// The prefix length of occupied slot `i`.
    fn plen(&self, i: usize) -> u8;
    /// The id of occupied slot `i`.
    fn val(&self, i: usize) -> u32;
    /// Sets the id of occupied slot `i`, returning the previous one.
    fn replace(&mut self, i: usize, id: u32) -> u32;
    /// The occupied slots, in slot order.
    fn occupied(&self) -> impl Iterator<Item = usize> + '_;
    /// Moves every entry into a new table of (at least) `cap` slots, without tombstones.
    fn rebuild(&mut self, cap: usize);
    /// Reserves room for `n` entries in an empty table.
    fn size_for(&mut self, n: usize);
}

/// A [`Key`] with the [`FibStore`] a [`Fib`](super::Fib) of it keeps aside: here, beside the
/// stores, so that the key type itself names no store.
pub trait FibKey: Key {
    /// The side table of a [`Fib`](crate::lpm::Fib) of this key (prefixes no address
    /// matches): one packed `u64` a slot for IPv4, the generic slot table for IPv6.
    type FibStore: FibStore<Self>;
}

impl FibKey for u32 {
    type FibStore = PackedSlots;
}

impl FibKey for u128 {
    type FibStore = Slots<u128, u32>;
}

impl<K: Key> FibStore<K> for Slots<K, u32> {
    fn new() -> Self {
        Slots::new()
    }
    #[inline]
    fn len(&self) -> usize {
        Slots::len(self)
    }
    #[inline]
    fn cap(&self) -> usize {
        Slots::cap(self)
    }
    fn bytes(&self) -> usize {
        Slots::bytes(self)
    }
    #[inline]
    fn find(&self, key: K, len: u8) -> Option<usize> {
        Slots::find(self, key, len)
    }
    #[inline]
    fn probe(&self, key: K, len: u8) -> Result<usize, usize> {
        Slots::probe(self, key, len)
    }
    #[inline]
    fn full(&self) -> bool {
        Slots::full(self)
    }
    #[inline]
    fn fill(&mut self, i: usize, key: K, len: u8, id: u32) {
        Slots::fill(self, i, key, len, id)
    }
    fn take(&mut self, i: usize) -> u32 {
        Slots::take(self, i)
    }
    #[inline]
    fn key(&self, i: usize) -> K {
        Slots::key(self, i)
    }
    #[inline]
    fn plen(&self, i: usize) -> u8 {
        Slots::plen(self, i)
    }
    #[inline]
    fn val(&self, i: usize) -> u32 {
        *Slots::val(self, i)
    }
    #[inline]
    fn replace(&mut self, i: usize, id: u32) -> u32 {
        std::mem::replace(self.val_mut(i), id)
    }
    fn occupied(&self) -> impl Iterator<Item = usize> + '_ {
        Slots::occupied(self)
    }
    fn rebuild(&mut self, cap: usize) {
        Slots::rebuild(self, cap);
    }
    fn size_for(&mut self, n: usize) {
        Slots::size_for(self, n)
    }
}

/// The IPv4 [`Fib`](super::Fib) store (of the prefixes no address matches): the slot table of [`Slots`] (same hash, probing,
/// tombstones and sizing) with each slot's key, length and id packed into one `u64`
/// (`key << 32 | len << 24 | id`), so that a probe reads one cache line, not three, and a
/// slot takes 8 bytes, not 9. Ids are below 2^24 (`Fib::<Ipv4Addr>::MAX_ID`); the length byte
/// holds the EMPTY / TOMB markers.
#[derive(Debug)]
pub struct PackedSlots {
    slots: Vec<u64>,
    live: usize,
    tombs: usize,
}

/// Bits of a packed slot for the id.
const ID_BITS: u32 = 24;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
/// A never-used packed slot (length byte EMPTY).
const P_EMPTY: u64 = (EMPTY as u64) << ID_BITS;
/// A packed slot whose entry was removed (length byte TOMB).
const P_TOMB: u64 = (TOMB as u64) << ID_BITS;

impl PackedSlots {
    fn with_capacity(cap: usize) -> Self {
        PackedSlots {
            slots: huge_vec(cap, || P_EMPTY),
            live: 0,
            tombs: 0,
        }
    }

    /// The slot's key and length, as they sit in the word (id bits clear).
    #[inline(always)]
    fn tag(key: u32, len: u8) -> u64 {
        (key as u64) << 32 | (len as u64) << ID_BITS
    }

    /// The length byte of slot word `w` (EMPTY / TOMB for vacant slots).
    #[inline(always)]
    fn len_of(w: u64) -> u8 {
        (w >> ID_BITS) as u8
    }

    #[inline(always)]
    fn home(&self, h: u64) -> usize {
        ((h as u128 * self.slots.len() as u128) >> 64) as usize
    }

    /// The word of occupied slot `i` (panics if vacant: a bug).
    #[inline(always)]
    fn occupied_word(&self, i: usize) -> u64 {
        let w = self.slots[i];
        assert!(Self::len_of(w) < TOMB, "lpm: slot {i} is vacant");
        w
    }
}

impl Clone for PackedSlots {
    fn clone(&self) -> Self {
        // Through `with_capacity`, as `Slots::clone`: the copy is advised for huge pages too.
        let mut c = PackedSlots::with_capacity(self.slots.len());
        c.slots.copy_from_slice(&self.slots);
        c.live = self.live;
        c.tombs = self.tombs;
        c
    }
}

impl FibStore<u32> for PackedSlots {
    fn new() -> Self {
        PackedSlots {
            slots: Vec::new(),
            live: 0,
            tombs: 0,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.live
    }

    #[inline]
    fn cap(&self) -> usize {
        self.slots.len()
    }

    fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u64>()
    }

    #[inline]
    fn find(&self, key: u32, len: u8) -> Option<usize> {
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let want = Self::tag(key, len);
        let mut i = self.home(hash(key, len));
        loop {
            let w = self.slots[i];
            if w & !ID_MASK == want {
                return Some(i);
            }
            if Self::len_of(w) == EMPTY {
                return None;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    #[inline]
    fn probe(&self, key: u32, len: u8) -> Result<usize, usize> {
        let n = self.slots.len();
        debug_assert!(n > 0);
        let want = Self::tag(key, len);
        let mut i = self.home(hash(key, len));
        let mut vacant = usize::MAX;
        loop {
            let w = self.slots[i];
            if w & !ID_MASK == want {
                return Ok(i);
            }
            let l = Self::len_of(w);
            if l >= TOMB {
                if vacant == usize::MAX {
                    vacant = i;
                }
                if l == EMPTY {
                    return Err(vacant);
                }
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    #[inline]
    fn full(&self) -> bool {
        (self.live + self.tombs + 1) * 10 > self.cap() * 9
    }

    #[inline]
    fn fill(&mut self, i: usize, key: u32, len: u8, id: u32) {
        let l = Self::len_of(self.slots[i]);
        debug_assert!(l >= TOMB && len <= 32);
        assert!(
            id as u64 <= ID_MASK,
            "lpm: id {id} does not fit a packed slot"
        );
        if l == TOMB {
            self.tombs -= 1;
        }
        self.slots[i] = Self::tag(key, len) | id as u64;
        self.live += 1;
    }

    fn take(&mut self, i: usize) -> u32 {
        let id = (self.occupied_word(i) & ID_MASK) as u32;
        self.live -= 1;
        let n = self.cap();
        if Self::len_of(self.slots[if i + 1 == n { 0 } else { i + 1 }]) == EMPTY {
            // Nothing probes past an empty slot: this one, and the tombstones just before it,
            // can become empty too.
            self.slots[i] = P_EMPTY;
            let mut j = i;
            loop {
                j = if j == 0 { n - 1 } else { j - 1 };
                if Self::len_of(self.slots[j]) != TOMB {
                    break;
                }
                self.slots[j] = P_EMPTY;
                self.tombs -= 1;
            }
        } else {
            self.slots[i] = P_TOMB;
            self.tombs += 1;
        }
        id
    }

    #[inline(always)]
    fn key(&self, i: usize) -> u32 {
        (self.occupied_word(i) >> 32) as u32
    }

    #[inline(always)]
    fn plen(&self, i: usize) -> u8 {
        Self::len_of(self.occupied_word(i))
    }

    #[inline(always)]
    fn val(&self, i: usize) -> u32 {
        (self.occupied_word(i) & ID_MASK) as u32
    }

    #[inline(always)]
    fn replace(&mut self, i: usize, id: u32) -> u32 {
        let w = self.occupied_word(i);
        assert!(
            id as u64 <= ID_MASK,
            "lpm: id {id} does not fit a packed slot"
        );
        self.slots[i] = (w & !ID_MASK) | id as u64;
        (w & ID_MASK) as u32
    }

    fn occupied(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, &w)| Self::len_of(w) < TOMB)
            .map(|(i, _)| i)
    }

    fn rebuild(&mut self, cap: usize) {
        let cap = cap.max(self.live + 1).max(8);
        let mut new = PackedSlots::with_capacity(cap);
        for &w in &self.slots {
            let len = Self::len_of(w);
            if len >= TOMB {
                continue;
            }
            let key = (w >> 32) as u32;
            let Err(j) = new.probe(key, len) else {
                unreachable!("lpm: duplicate key in slot table")
            };
            new.fill(j, key, len, (w & ID_MASK) as u32);
        }
        *self = new;
    }

    fn size_for(&mut self, n: usize) {
        debug_assert_eq!(self.live, 0);
        *self = PackedSlots::with_capacity(n + n / 3 + 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn add(s: &mut Slots<u32, Rc<()>>, key: u32, len: u8, v: &Rc<()>) -> usize {
        if s.cap() == 0 || s.full() {
            s.rebuild((s.len() + 1) * 2);
        }
        let Err(i) = s.probe(key, len) else {
            panic!("present")
        };
        s.fill(i, key, len, v.clone());
        i
    }

    #[test]
    fn long_keys_share_leading_bits() {
        // Prefixes longer than /64 whose upper 64 bits are equal: told apart by the side map,
        // through removals and a rebuild.
        let mut s: Slots<u128, u32> = Slots::new();
        s.rebuild(64);
        let base = 0x2001_0db8u128 << 96;
        let keys: Vec<(u128, u8)> = (0..20u128)
            .map(|j| (base | j << 32, 96))
            .chain([(base, 64), (base, 48), (base | 1, 128)])
            .collect();
        for (n, &(k, l)) in keys.iter().enumerate() {
            let Err(i) = s.probe(k, l) else {
                panic!("present")
            };
            s.fill(i, k, l, n as u32);
        }
        for (n, &(k, l)) in keys.iter().enumerate() {
            let i = s.find(k, l).unwrap();
            assert_eq!((s.key(i), s.plen(i), *s.val(i)), (k, l, n as u32));
        }
        assert!(s.find(base | 99 << 32, 96).is_none());
        let i = s.find(base | 3 << 32, 96).unwrap();
        assert_eq!(s.take(i), 3);
        assert!(s.find(base | 3 << 32, 96).is_none());
        let map = s.rebuild(128);
        assert_eq!(
            map.iter().filter(|&&m| m != u32::MAX).count(),
            keys.len() - 1
        );
        for (n, &(k, l)) in keys.iter().enumerate().filter(|&(n, _)| n != 3) {
            let i = s.find(k, l).unwrap();
            assert_eq!((s.key(i), *s.val(i)), (k, n as u32));
        }
        assert_eq!(s.long.len(), 20);
    }

    #[test]
    fn tombstones_rebuild_and_drop() {
        let v = Rc::new(());
        let mut s: Slots<u32, Rc<()>> = Slots::new();
        for k in 0..1000u32 {
            add(&mut s, k << 8, 24, &v);
        }
        assert_eq!(s.len(), 1000);
        assert_eq!(Rc::strong_count(&v), 1001);
        // Remove every other entry: the rest stay findable past the tombstones.
        for k in (0..1000u32).step_by(2) {
            let i = s.find(k << 8, 24).unwrap();
            drop(s.take(i));
        }
        assert_eq!(Rc::strong_count(&v), 501);
        for k in 0..1000u32 {
            assert_eq!(s.find(k << 8, 24).is_some(), k % 2 == 1, "{k}");
            assert!(s.find(k << 8, 23).is_none());
        }
        // A re-added key reuses a vacant slot on its path.
        let i = add(&mut s, 0, 24, &v);
        assert_eq!(s.find(0, 24), Some(i));
        // A rebuild moves every entry and reports where.
        let before: Vec<(usize, u32)> = s.occupied().map(|i| (i, s.key(i))).collect();
        let map = s.rebuild(4096);
        for (i, k) in before {
            assert_eq!(s.key(map[i] as usize), k);
            assert_eq!(s.find(k, 24), Some(map[i] as usize));
        }
        assert_eq!(s.len(), 501);
        let c = s.clone();
        assert_eq!(Rc::strong_count(&v), 1 + 2 * 501);
        drop(c);
        drop(s);
        assert_eq!(Rc::strong_count(&v), 1);
    }

    /// Packed-store keys of length `len` whose home slot (in `p`) is `home`.
    fn homed(p: &PackedSlots, home: usize, len: u8, n: usize) -> Vec<u32> {
        (0u32..)
            .map(|k| k << (32 - len as u32))
            .filter(|&k| p.home(hash(k, len)) == home)
            .take(n)
            .collect()
    }

    #[test]
    fn packed_round_trip_and_wrap_around() {
        let mut p = <PackedSlots as FibStore<u32>>::new();
        assert_eq!(p.find(0, 0), None);
        p.size_for(0);
        assert_eq!(FibStore::<u32>::cap(&p), 8);
        // Extremes of every field: key 0 length 0 id 0 is not a marker, all ones is kept.
        for (k, l, id) in [
            (0, 0, 0),
            (u32::MAX, 32, (1 << 24) - 1),
            (0x0a00_0000, 8, 7),
        ] {
            let Err(i) = p.probe(k, l) else { panic!() };
            p.fill(i, k, l, id);
            let i = p.find(k, l).unwrap();
            assert_eq!((p.key(i), p.plen(i), p.val(i)), (k, l, id));
            assert_eq!(p.probe(k, l), Ok(i));
            assert_eq!(p.take(i), id);
            assert_eq!(p.find(k, l), None);
        }
        assert_eq!((p.len(), p.tombs), (0, 0));
        assert!(p.slots.iter().all(|&w| w == P_EMPTY));
        // Three keys homed at the last slot fill it and wrap to slots 0 and 1.
        let ks = homed(&p, 7, 24, 3);
        for (n, &k) in ks.iter().enumerate() {
            let Err(i) = p.probe(k, 24) else { panic!() };
            assert_eq!(i, [7, 0, 1][n]);
            p.fill(i, k, 24, n as u32);
        }
        for (n, &k) in ks.iter().enumerate() {
            assert_eq!(p.find(k, 24), Some([7, 0, 1][n]));
            assert_eq!(p.val([7, 0, 1][n]), n as u32);
        }
        assert_eq!(p.replace(0, 99), 1);
        assert_eq!(p.val(0), 99);
        assert_eq!((p.key(0), p.plen(0)), (ks[1], 24));
        // Removing the first two leaves tombstones (their successors are occupied), and the
        // last one is still found past them.
        assert_eq!(p.take(7), 0);
        assert_eq!(p.take(0), 99);
        assert_eq!((p.len(), p.tombs), (1, 2));
        assert_eq!(p.find(ks[2], 24), Some(1));
        assert_eq!(p.find(ks[0], 24), None);
        // A new key homed there reuses the first tombstone on its path.
        let k3 = homed(&p, 7, 24, 4)[3];
        assert_eq!(p.probe(k3, 24), Err(7));
        assert_eq!(p.occupied().collect::<Vec<_>>(), [1]);
        // Removing the last one (an empty slot follows) empties it and the tombstones before
        // it, back across the end of the table.
        assert_eq!(p.take(1), 2);
        assert_eq!((p.len(), p.tombs), (0, 0));
        assert!(p.slots.iter().all(|&w| w == P_EMPTY));
    }

    #[test]
    fn packed_places_entries_as_slots_does() {
        // Same hash, probing, tombstone and growth rules: through random inserts,
        // replacements, removals and rebuilds, every entry sits in the slot `Slots` gives it.
        let mut p = <PackedSlots as FibStore<u32>>::new();
        let mut s: Slots<u32, u32> = Slots::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..60_000 {
            let r = rnd();
            let len = [0u8, 8, 16, 23, 24, 24, 24, 32][(r & 7) as usize];
            let key = ((r >> 8) as u32 % 3000).wrapping_mul(0x9e37_79b9) & u32::mask(len as u32);
            let id = (r >> 40) as u32 & ((1 << 24) - 1);
            match (r >> 3) % 8 {
                0..=3 => {
                    if FibStore::<u32>::cap(&p) == 0 || FibStore::<u32>::full(&p) {
                        assert!(s.cap() == 0 || s.full());
                        let c = (s.len() + 1) * 8 / 5;
                        FibStore::<u32>::rebuild(&mut p, c);
                        s.rebuild(c);
                    }
                    let (pp, sp) = (p.probe(key, len), s.probe(key, len));
                    assert_eq!(pp, sp, "step {step}");
                    match pp {
                        Ok(i) => assert_eq!(p.replace(i, id), std::mem::replace(s.val_mut(i), id)),
                        Err(i) => {
                            p.fill(i, key, len, id);
                            s.fill(i, key, len, id);
                        }
                    }
                }
                4..=6 => {
                    let f = p.find(key, len);
                    assert_eq!(f, s.find(key, len), "step {step}");
                    if let Some(i) = f {
                        assert_eq!(p.take(i), s.take(i));
                    }
                }
                _ if step % 64 == 7 => {
                    let c = s.len() + (r >> 20) as usize % 4096;
                    FibStore::<u32>::rebuild(&mut p, c);
                    s.rebuild(c);
                }
                _ => {}
            }
            assert_eq!((p.live, p.tombs), (s.live, s.tombs), "step {step}");
            assert_eq!(FibStore::<u32>::cap(&p), s.cap());
            if step % 1000 == 0 || step == 59_999 {
                let occ: Vec<usize> = p.occupied().collect();
                assert_eq!(occ, s.occupied().collect::<Vec<_>>());
                for i in occ {
                    assert_eq!(
                        (p.key(i), p.plen(i), p.val(i)),
                        (s.key(i), s.plen(i), *s.val(i))
                    );
                }
                for i in 0..s.cap() {
                    // Vacant slots agree too: EMPTY ends probes, TOMB does not.
                    assert_eq!(
                        PackedSlots::len_of(p.slots[i]).max(TOMB),
                        s.lens[i].max(TOMB)
                    );
                    assert_eq!(PackedSlots::len_of(p.slots[i]) == EMPTY, s.lens[i] == EMPTY);
                }
                let c = p.clone();
                assert_eq!(
                    (c.slots.as_slice(), c.live, c.tombs),
                    (p.slots.as_slice(), p.live, p.tombs)
                );
            }
        }
        assert!(p.live > 1000 && p.tombs > 0, "{} {}", p.live, p.tombs);
    }
}
