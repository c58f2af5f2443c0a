//! Lookups: one key ([`Trie::find`]) and groups of keys in lock-step ([`Trie::find_group`]).

use super::flat::BASE_MASK;
use super::layout::{popcount, upto, Node, Trie, DIR, FLAT, NODE, TAGS};
use crate::lpm::key::Key;

static EMPTY: Node = Node {
    vector: 0,
    leafvec: 1,
    base0: u32::MAX,
    base1: 0,
};

impl<K: Key> Trie<K> {
    /// The leaf (entry + 1, or 0) for `key`.
    #[inline(always)]
    pub(crate) fn find(&self, key: K) -> u32 {
        let mut e = self.first(key);
        if e & TAGS == 0 {
            return e;
        }
        let mut d = K::DIRECT;
        if K::DIR2 > 0 && e & TAGS == DIR {
            e = self.second(e, key);
            d += K::DIR2;
            if e & TAGS == 0 {
                return e;
            }
        }
        if e & FLAT != 0 {
            return self.flat_at(e, key.stride_at(d));
        }
        self.walk(e, key, d)
    }

    /// Asks for the line of first-level word `i` (a hint for a later [`Trie::l1_get`]; for
    /// IPv6 only inside the window, where the word is in one dense array).
    #[inline(always)]
    pub(crate) fn l1_hint(&self, i: usize) {
        if K::COARSE == 0 {
            prefetch(self.l1.as_ptr().wrapping_add(i));
        } else if Self::in_win(i) {
            prefetch(self.win.as_ptr().wrapping_add(i));
        }
    }

    /// Asks for the first line of the flat block or node that word `e` names (a hint;
    /// nothing for a leaf or a second-level block).
    #[inline(always)]
    pub(crate) fn block_hint(&self, e: u32) {
        match e & TAGS {
            FLAT => prefetch(self.leaves.as_ptr().wrapping_add((e & BASE_MASK) as usize)),
            NODE => prefetch(self.nodes.as_ptr().wrapping_add((e & !NODE) as usize)),
            _ => {}
        }
    }

    /// The node walk, kept out of line so that the first-level and flat-block paths stay
    /// small enough to inline into the caller's loop.
    #[inline(never)]
    fn walk(&self, e: u32, key: K, d: u32) -> u32 {
        self.walk_inline(e, key, d)
    }

    /// The word of second-level block `e` (a first-level [`DIR`] word) for `key`.
    #[inline(always)]
    pub(crate) fn second(&self, e: u32, key: K) -> u32 {
        self.dir_word(e, key.bits_at(K::DIRECT, K::DIR2))
    }

    /// Node `i`. Indices come from the structure itself and are always in range; an
    /// out-of-range one (a bug) reads as an empty node rather than panicking, which keeps the
    /// panic path (and its bounds-check branch) out of the lookup loop.
    #[inline(always)]
    pub(crate) fn node(&self, i: usize) -> &Node {
        self.nodes.get(i).unwrap_or(&EMPTY)
    }

    /// Leaf `i`; out of range (a bug) reads as "no match", as in [`Trie::node`].
    #[inline(always)]
    pub(crate) fn leaf(&self, i: usize) -> u32 {
        self.leaves.get(i).copied().unwrap_or(0)
    }

    /// The first-level word for `key`: a leaf, or a node or flat block reference.
    #[inline(always)]
    pub(crate) fn first(&self, key: K) -> u32 {
        if K::COARSE > 0 {
            // Below 2^COARSE = coarse.len(): a masked read, as for `l1` below.
            let c = self
                .coarse
                .word_masked(key.top() >> (K::DIRECT - K::COARSE));
            if c & TAGS == 0 {
                return c;
            }
            if Self::in_win(key.top()) {
                // Masked: below 2^WIN = win.len() (or win is empty and its one word is 0).
                return self.win.word_masked(key.top());
            }
            let i =
                ((c & !TAGS) as usize) << Self::CHUNK | key.top() & ((1usize << Self::CHUNK) - 1);
            return self.chunks.get(i).copied().unwrap_or(0);
        }
        // `top()` is below 2^DIRECT = l1.len(), or l1 is empty and its one word is 0 (no
        // match): a masked read, with neither a bounds check nor a panic path in the lookup
        // loop (measured on the full IPv4 table: with the flat block's single check below,
        // 1.6x the random-address lookups of `get(..).unwrap_or(0)` here).
        self.l1.word_masked(key.top())
    }

    /// Walks the nodes below word `e` (a node reference at depth `d`).
    #[inline(always)]
    fn walk_inline(&self, e: u32, key: K, mut d: u32) -> u32 {
        let mut n = self.node((e & !NODE) as usize);
        loop {
            let p = key.stride_at(d);
            let m = upto(p);
            if n.is_inline() {
                return n.inline_leaf(popcount(n.leafvec & m, self.hw) - 1);
            }
            if n.vector & (1u64 << p) != 0 {
                n = self.node(n.base1 as usize + popcount(n.vector & m, self.hw) as usize - 1);
                d += 6;
            } else {
                return self.leaf(n.base0 as usize + popcount(n.leafvec & m, self.hw) as usize - 1);
            }
        }
    }

    /// The leaves of `N` keys (`key_of(i)` is key `i`, read again as needed: cheaper than a
    /// copy of the keys). A key that ends at the first level (or at a second-level word) is
    /// answered at once, as [`Trie::find`] would; the blocks and nodes the others lead to
    /// are prefetched and then walked in lock-step, so that the reads of independent walks
    /// overlap.
    ///
    /// Measured against single lookups and the previous form (which copied the keys and
    /// scanned all `N` at each step), on the full tables, 2^18 keys, 40 alternating passes,
    /// pinned, load 3: random IPv6 keys (most end in the cached first level, where a lookup
    /// is a few instructions and bookkeeping is the cost) went from 0.7x to 1.0-1.08x single
    /// lookups; random IPv4 from 0.8x to 1.0-1.05x; in-table IPv6 1.2x the previous form;
    /// in-table IPv4 unchanged (1.2-1.3x single lookups).
    #[inline(always)]
    pub(crate) fn find_group<const N: usize>(&self, key_of: impl Fn(usize) -> K) -> [u32; N] {
        let mut res = [0u32; N];
        const { assert!(N <= 32, "one bit per key in a u32") };
        let t = self;
        let mut cur = [0u32; N];
        let mut pending = 0u32;
        let mut flat = 0u32;
        let mut dep = [0u32; N];
        for i in 0..N {
            let key = key_of(i);
            let mut e = t.first(key);
            if e & TAGS == 0 {
                res[i] = e;
                continue;
            }
            let mut d = K::DIRECT;
            if K::DIR2 > 0 && e & TAGS == DIR {
                e = t.second(e, key);
                d += K::DIR2;
                if e & TAGS == 0 {
                    res[i] = e;
                    continue;
                }
            }
            dep[i] = d;
            if e & FLAT != 0 {
                cur[i] = e;
                // The block's line that holds the key's position (in the runs form of a
                // block of many runs, its header line).
                if let Some(w) = t.leaves.get(t.flat_line(e, key.stride_at(d))) {
                    prefetch(w);
                }
                flat |= 1 << i;
            } else {
                cur[i] = e & !NODE;
                prefetch(t.node(cur[i] as usize));
                pending |= 1 << i;
            }
        }
        while flat != 0 {
            let i = flat.trailing_zeros() as usize;
            flat &= flat - 1;
            res[i] = t.flat_at(cur[i], key_of(i).stride_at(dep[i]));
        }
        while pending != 0 {
            let mut next = 0u32;
            let mut left = pending;
            while left != 0 {
                let i = left.trailing_zeros() as usize;
                left &= left - 1;
                let n = t.node(cur[i] as usize);
                let p = key_of(i).stride_at(dep[i]);
                let m = upto(p);
                if n.is_inline() {
                    res[i] = n.inline_leaf(popcount(n.leafvec & m, t.hw) - 1);
                } else if n.vector & (1u64 << p) != 0 {
                    cur[i] = n.base1 + popcount(n.vector & m, t.hw) - 1;
                    prefetch(t.node(cur[i] as usize));
                    dep[i] += 6;
                    next |= 1 << i;
                } else {
                    res[i] = t.leaf(n.base0 as usize + popcount(n.leafvec & m, t.hw) as usize - 1);
                }
            }
            pending = next;
        }
        res
    }
}

/// Asks for the line at `p` (a hint: it never faults, whatever `p` is; a reference
/// coerces).
#[inline(always)]
pub(super) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults and has no effect on memory
    // contents.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
