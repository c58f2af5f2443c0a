//! Exact-match index: an open-addressing hash table of entry numbers whose keys live
//! in the map's entry arrays (4 bytes a slot, no key copies).

use super::prefix::Key;

#[derive(Clone, Default)]
pub(crate) struct Index {
    /// Entry number + 1; 0 = empty.
    slots: Vec<u32>,
    len: usize,
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

impl Index {
    #[inline(always)]
    fn home(&self, h: u64) -> usize {
        ((h as u128 * self.slots.len() as u128) >> 64) as usize
    }

    pub(crate) fn bytes(&self) -> usize {
        self.slots.capacity() * 4
    }

    /// Finds the entry with this key.
    #[inline]
    pub(crate) fn find<K: Key>(&self, keys: &[K], lens: &[u8], key: K, len: u8) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let n = self.slots.len();
        let mut i = self.home(hash(key, len));
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            let e = (s - 1) as usize;
            if keys[e] == key && lens[e] == len {
                return Some(e as u32);
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Adds entry `e` (its key must not be present yet).
    pub(crate) fn insert<K: Key>(&mut self, keys: &[K], lens: &[u8], e: u32) {
        debug_assert_eq!(e as usize + 1, keys.len());
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            // Entries `0..=e` are all in `keys`: re-index them, `e` included.
            self.rebuild(keys, lens, (self.len + 1) * 2);
            return;
        }
        self.place(keys[e as usize], lens[e as usize], e);
        self.len += 1;
    }

    fn place<K: Key>(&mut self, key: K, len: u8, e: u32) {
        let n = self.slots.len();
        let mut i = self.home(hash(key, len));
        while self.slots[i] != 0 {
            i += 1;
            if i == n {
                i = 0;
            }
        }
        self.slots[i] = e + 1;
    }

    /// Re-creates the table with `cap` slots from entries `0..keys.len()`.
    pub(crate) fn rebuild<K: Key>(&mut self, keys: &[K], lens: &[u8], cap: usize) {
        self.slots = vec![0; cap.max(8)];
        for (e, (&k, &l)) in keys.iter().zip(lens).enumerate() {
            self.place(k, l, e as u32);
        }
        self.len = keys.len();
    }

    /// Sizes the table for `n` entries and indexes entries `0..keys.len()`.
    pub(crate) fn rebuild_for<K: Key>(&mut self, keys: &[K], lens: &[u8]) {
        self.rebuild(keys, lens, keys.len() * 3 / 2 + 8);
    }

    fn slot_of<K: Key>(&self, key: K, len: u8, e: u32) -> usize {
        let n = self.slots.len();
        let mut i = self.home(hash(key, len));
        while self.slots[i] != e + 1 {
            i += 1;
            if i == n {
                i = 0;
            }
        }
        i
    }

    /// Points the slot of entry `from` (with key `key/len`) at entry `to`.
    pub(crate) fn renumber<K: Key>(&mut self, key: K, len: u8, from: u32, to: u32) {
        let i = self.slot_of(key, len, from);
        self.slots[i] = to + 1;
    }

    /// Removes entry `e` with key `key/len` (backward-shift deletion).
    pub(crate) fn remove<K: Key>(&mut self, keys: &[K], lens: &[u8], key: K, len: u8, e: u32) {
        let n = self.slots.len();
        let mut hole = self.slot_of(key, len, e);
        self.slots[hole] = 0;
        self.len -= 1;
        let mut j = hole;
        loop {
            j += 1;
            if j == n {
                j = 0;
            }
            let s = self.slots[j];
            if s == 0 {
                return;
            }
            let o = (s - 1) as usize;
            let home = self.home(hash(keys[o], lens[o]));
            // Move the element back if its home is not cyclically in (hole, j].
            let in_range = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !in_range {
                self.slots[hole] = s;
                self.slots[j] = 0;
                hole = j;
            }
        }
    }
}
