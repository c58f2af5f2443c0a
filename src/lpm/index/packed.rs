//! [`PackedSlots`]: the IPv4 [`Fib`](crate::lpm::Fib)'s side table, the slot table of
//! [`Slots`](super::slots::Slots) with each slot packed in one `u64`.

use super::slots::{hash, huge_vec, EMPTY, TOMB};

/// The IPv4 [`Fib`](crate::lpm::Fib) store (of the prefixes no address matches): the slot table of [`Slots`](super::slots::Slots) (same hash, probing,
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

/// The [`FibStore`](super::fib_store::FibStore) operations (documented there), on packed words.
impl PackedSlots {
    pub(super) fn new() -> Self {
        PackedSlots {
            slots: Vec::new(),
            live: 0,
            tombs: 0,
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.live
    }

    #[inline]
    pub(super) fn cap(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u64>()
    }

    #[inline]
    pub(super) fn find(&self, key: u32, len: u8) -> Option<usize> {
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
    pub(super) fn probe(&self, key: u32, len: u8) -> Result<usize, usize> {
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
    pub(super) fn full(&self) -> bool {
        (self.live + self.tombs + 1) * 10 > self.cap() * 9
    }

    #[inline]
    pub(super) fn fill(&mut self, i: usize, key: u32, len: u8, id: u32) {
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

    pub(super) fn take(&mut self, i: usize) -> u32 {
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
    pub(super) fn key(&self, i: usize) -> u32 {
        (self.occupied_word(i) >> 32) as u32
    }

    #[inline(always)]
    pub(super) fn plen(&self, i: usize) -> u8 {
        Self::len_of(self.occupied_word(i))
    }

    #[inline(always)]
    pub(super) fn val(&self, i: usize) -> u32 {
        (self.occupied_word(i) & ID_MASK) as u32
    }

    #[inline(always)]
    pub(super) fn replace(&mut self, i: usize, id: u32) -> u32 {
        let w = self.occupied_word(i);
        assert!(
            id as u64 <= ID_MASK,
            "lpm: id {id} does not fit a packed slot"
        );
        self.slots[i] = (w & !ID_MASK) | id as u64;
        (w & ID_MASK) as u32
    }

    pub(super) fn occupied(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, &w)| Self::len_of(w) < TOMB)
            .map(|(i, _)| i)
    }

    pub(super) fn rebuild(&mut self, cap: usize) {
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

    pub(super) fn size_for(&mut self, n: usize) {
        debug_assert_eq!(self.live, 0);
        *self = PackedSlots::with_capacity(n + n / 3 + 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lpm::index::slots::Slots;
    use crate::lpm::key::Key;

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
        let mut p = PackedSlots::new();
        assert_eq!(p.find(0, 0), None);
        p.size_for(0);
        assert_eq!(p.cap(), 8);
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
        let mut p = PackedSlots::new();
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
                    if p.cap() == 0 || p.full() {
                        assert!(s.cap() == 0 || s.full());
                        let c = (s.len() + 1) * 8 / 5;
                        p.rebuild(c);
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
                    p.rebuild(c);
                    s.rebuild(c);
                }
                _ => {}
            }
            assert_eq!((p.live, p.tombs), (s.len(), s.tombs()), "step {step}");
            assert_eq!(p.cap(), s.cap());
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
                        s.lens()[i].max(TOMB)
                    );
                    assert_eq!(
                        PackedSlots::len_of(p.slots[i]) == EMPTY,
                        s.lens()[i] == EMPTY
                    );
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
