//! [`Slots`]: the entry store of a [`PrefixMap`](crate::lpm::PrefixMap), an open-addressing
//! hash table (linear probing) in three parallel arrays (keys, lengths, values); its hash,
//! markers and allocation are shared with [`PackedSlots`](super::packed::PackedSlots).

use std::collections::HashMap;
use std::mem::MaybeUninit;

use crate::lpm::key::Key;

/// `lens` marker of a slot that never held an entry since the last rebuild (ends a probe).
pub(super) const EMPTY: u8 = 0xFF;
/// `lens` marker of a slot whose entry was removed (a probe continues past it).
pub(super) const TOMB: u8 = 0xFE;

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
pub(super) fn hash<K: Key>(key: K, len: u8) -> u64 {
    let mut x = key.fold() ^ ((len as u64) << 56) ^ (len as u64).wrapping_mul(0x9e37_79b9);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Allocates `n` elements advised for huge pages before they are first touched.
pub(super) fn huge_vec<T>(n: usize, fill: impl FnMut() -> T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    crate::lpm::mem::advise_huge(v.as_ptr() as *const u8, n * std::mem::size_of::<T>());
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

    /// The number of slots [`Slots::size_for`] makes for `n` entries (for callers that bound
    /// slot numbers).
    pub(crate) fn cap_for(n: usize) -> usize {
        n + n / 3 + 8
    }

    /// Reserves room for `n` entries in an empty table.
    pub(crate) fn size_for(&mut self, n: usize) {
        debug_assert_eq!(self.live, 0);
        *self = Slots::with_capacity(Self::cap_for(n));
    }

    /// Number of tombstones (for the packed table's tests).
    #[cfg(test)]
    pub(super) fn tombs(&self) -> usize {
        self.tombs
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
}
