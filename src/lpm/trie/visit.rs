//! [`Trie::visit`]: a read-only walk over the positions inside a prefix.

use super::layout::{upto, Trie, DIR, FLAT, NODE, TAGS};
use crate::lpm::key::Key;

/// The bounds of a [`Trie::visit`].
struct Visit<'a, K, G> {
    key: K,
    len: u32,
    /// The prefix length of a leaf.
    plen: &'a G,
}

impl<K, G: Fn(u32) -> u32> Visit<'_, K, G> {
    /// Whether position `p` of a node or flat block at depth `d` is where a prefix of
    /// `leaf`'s length starts (never, for a prefix no longer than `d`: it covers the node).
    #[inline]
    fn starts(&self, leaf: u32, d: u32, p: usize) -> bool {
        let l = (self.plen)(leaf);
        l > d && p & ((1usize << (d + 6).saturating_sub(l)) - 1) == 0
    }
}

/// The positions of a node or flat block at depth `d` that lie inside prefix `key/len`.
#[inline]
fn positions<K: Key>(d: u32, key: K, len: u32) -> (usize, usize) {
    if len <= d {
        (0, 64)
    } else if len <= d + 6 {
        let start = key.stride_at(d);
        (start, start + (1usize << (d + 6 - len)))
    } else {
        let p = key.stride_at(d);
        (p, p + 1)
    }
}

impl<K: Key> Trie<K> {
    /// Calls `f(addr, leaf, g)` for the positions inside prefix `key/len`, until `f` returns
    /// true; returns whether it did. The position is the addresses whose first `g` bits are
    /// those of `addr` (the rest are zero). Of a run of equal leaves, only the positions where
    /// a prefix of the leaf's length (`plen(leaf)`) starts are visited (at least one a run):
    /// every prefix that a leaf there shows comes up at least once, and a run of leaves of
    /// short prefixes only once. A leaf can be longer than its position (`plen(leaf) > g`:
    /// a node whose positions all held it was folded into it); then every prefix of that
    /// length inside the position has that leaf. A read-only walk over the positions
    /// [`Trie::paint`] would paint.
    pub(crate) fn visit<G: Fn(u32) -> u32, F: FnMut(K, u32, u32) -> bool>(
        &self,
        key: K,
        len: u32,
        plen: &G,
        f: &mut F,
    ) -> bool {
        if !self.l1_ready() {
            return false;
        }
        let lo = key.top();
        let hi = lo + (1usize << K::DIRECT.saturating_sub(len));
        let v = Visit { key, len, plen };
        for i in lo..hi {
            let base = K::ZERO.with_bits(0, K::DIRECT, i);
            if self.visit_word(&v, self.l1_get(i), K::DIRECT, base, f) {
                return true;
            }
        }
        false
    }

    /// [`Trie::visit`] behind direct word `e`, which covers the key bits before `s` (those
    /// of `base`).
    fn visit_word<G: Fn(u32) -> u32, F: FnMut(K, u32, u32) -> bool>(
        &self,
        v: &Visit<'_, K, G>,
        e: u32,
        s: u32,
        base: K,
        f: &mut F,
    ) -> bool {
        if e & TAGS == 0 {
            return f(base, e, s);
        }
        if K::DIR2 > 0 && e & TAGS == DIR {
            let (lo, hi) = if v.len <= s {
                (0, 1usize << K::DIR2)
            } else {
                let start = v.key.bits_at(s, K::DIR2);
                (
                    start,
                    start + (1usize << (s + K::DIR2).saturating_sub(v.len)),
                )
            };
            for j in lo..hi {
                let w = self.dir_word(e, j);
                if self.visit_word(v, w, s + K::DIR2, base.with_bits(s, K::DIR2, j), f) {
                    return true;
                }
            }
            return false;
        }
        if e & FLAT != 0 {
            let (leafvec, runs, _) = self.flat_runs(e);
            let (lo, hi) = positions(s, v.key, v.len);
            for p in lo..hi {
                let leaf = runs[(leafvec & upto(p)).count_ones() as usize - 1];
                if (p == lo || leafvec >> p & 1 == 1 || v.starts(leaf, s, p))
                    && f(base.with_bits(s, 6, p), leaf, (s + 6).min(K::BITS))
                {
                    return true;
                }
            }
            return false;
        }
        self.visit_node(v, (e & !NODE) as usize, s, base, f)
    }

    /// [`Trie::visit`] from node `ni`, which indexes the 6 bits from `d`.
    fn visit_node<G: Fn(u32) -> u32, F: FnMut(K, u32, u32) -> bool>(
        &self,
        v: &Visit<'_, K, G>,
        ni: usize,
        d: u32,
        base: K,
        f: &mut F,
    ) -> bool {
        let n = self.nodes[ni];
        let kids = n.children();
        let (lo, hi) = positions(d, v.key, v.len);
        for p in lo..hi {
            let addr = base.with_bits(d, 6, p);
            if kids >> p & 1 == 1 {
                let c = n.base1 as usize + (kids & ((1u64 << p) - 1)).count_ones() as usize;
                if self.visit_node(v, c, d + 6, addr, f) {
                    return true;
                }
                continue;
            }
            let r = (n.leafvec & upto(p)).count_ones() - 1;
            let leaf = if n.is_inline() {
                n.inline_leaf(r)
            } else {
                self.leaves[n.base0 as usize + r as usize]
            };
            let first = p == lo || n.leafvec >> p & 1 == 1 || kids >> (p - 1) & 1 == 1;
            if (first || v.starts(leaf, d, p)) && f(addr, leaf, (d + 6).min(K::BITS)) {
                return true;
            }
        }
        false
    }
}
