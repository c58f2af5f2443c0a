//! Leaf changes that keep the structure: [`Trie::replace_in_place`] (a present prefix's leaf
//! swapped under it) and [`Trie::relabel`] (every leaf renamed after the entries moved).

use super::flat;
use super::layout::{popcount, upto, Node, Trie, DIR, FLAT, INLINE_RUNS, NODE, TAGS};
use crate::lpm::key::Key;

/// The runs (indices) of the positions `lo..lo + 2^w` of a node with `leafvec` and children
/// `kids`, when no run is shared with a position outside them (the first leaf position inside
/// and the first one after both start a run), and whether a run follows them; `None` when one
/// is shared. Counts with [`popcount`] (`hw`): it runs once per replacement.
#[inline(always)]
fn own_runs(
    leafvec: u64,
    kids: u64,
    lo: usize,
    w: u32,
    hw: bool,
) -> Option<(std::ops::Range<usize>, bool)> {
    let hi = lo + (1usize << w);
    let below = (1u64 << lo) - 1;
    let inside = if hi == 64 { !0u64 } else { (1u64 << hi) - 1 } & !below;
    let first = |m: u64| m & m.wrapping_neg();
    let leaf_in = !kids & inside;
    if leaf_in != 0 && leafvec & first(leaf_in) == 0 {
        return None;
    }
    let after = !kids & !inside & !below;
    if after != 0 && leafvec & first(after) == 0 {
        return None;
    }
    let a = popcount(leafvec & below, hw) as usize;
    let r = a..a + popcount(leafvec & inside, hw) as usize;
    Some((r, after != 0))
}

/// Whether runs `r` of `runs` can change `from` to `to` without a run becoming equal to its
/// neighbour outside `r` (inside, the neighbours are longer prefixes: never `to`).
#[inline]
fn can_swap(runs: &[u32], r: &std::ops::Range<usize>, from: u32, to: u32) -> bool {
    r.is_empty()
        || !((r.start > 0 && runs[r.start - 1] == to && runs[r.start] == from)
            || (r.end < runs.len() && runs[r.end] == to && runs[r.end - 1] == from))
}

/// Changes every run `from` of `runs` to `to`.
#[inline]
fn swap(runs: &mut [u32], from: u32, to: u32) {
    for v in runs {
        if *v == from {
            *v = to;
        }
    }
}

impl<K: Key> Trie<K> {
    /// Replaces leaf `from` by `to` for prefix `key/len` in place, when that is all a repaint
    /// would do: the prefix covers whole first- or second-level words, or lies within one
    /// flat block or node where it shares no run with a position outside it and no run would
    /// become equal to its neighbour. Returns whether it did; otherwise
    /// nothing changed and the caller repaints ([`Trie::paint`]).
    ///
    /// This is a replacement of a present prefix's value in a table whose leaves hold values
    /// (a real update stream is 95% such replacements, nearly all of /19 and longer): a walk
    /// down like [`Trie::find`], then a pass over the runs and nodes under the prefix that
    /// changes leaves without expanding or rebuilding a node. Inside the prefix every leaf is
    /// `from` or a longer prefix's, so the runs stay as they are.
    #[inline(always)]
    pub(crate) fn replace_in_place(&mut self, key: K, len: u32, from: u32, to: u32) -> bool {
        // The common case first (most IPv4 updates): a prefix inside the flat block of a
        // first-level word.
        if len > K::DIRECT && len <= K::DIRECT + 6 && self.l1_ready() {
            let e = self.l1_get(key.top());
            if e & TAGS == FLAT {
                let (lo, w) = (key.stride_at(K::DIRECT), K::DIRECT + 6 - len);
                return self.swap_flat(e, lo, w, from, to);
            }
        }
        self.replace_walk(key, len, from, to)
    }

    /// [`Trie::replace_in_place`] in the flat block of word `e`, for its positions
    /// `lo..lo + 2^w` (a flat block has no children: every position is a leaf).
    #[inline(always)]
    fn swap_flat(&mut self, e: u32, lo: usize, w: u32, from: u32, to: u32) -> bool {
        let (b, form) = flat::parts(e);
        if form != 0 {
            return self.swap_flat_lines(e, lo, w, from, to);
        }
        let leafvec = self.leaf(b) as u64 | (self.leaf(b + 1) as u64) << 32;
        let hi = lo + (1usize << w);
        // The position after the prefix, as a bit (0: none).
        let after = if hi == 64 { 0 } else { 1u64 << hi };
        // The prefix's first position and the one after it must start runs: then no run is
        // shared with a position outside.
        if leafvec & (1u64 << lo) == 0 || (after != 0 && leafvec & after == 0) {
            return false;
        }
        // Leaf indices of the prefix's runs: `first..end` (all runs to the end when `after`
        // is 0, as `after - 1` is then every position).
        let first = b + 2 + popcount(leafvec & ((1u64 << lo) - 1), self.hw) as usize;
        let end = b + 2 + popcount(leafvec & after.wrapping_sub(1), self.hw) as usize;
        let Some(runs) = self
            .leaves
            .get_mut(first - (lo > 0) as usize..end + (after != 0) as usize)
        else {
            return false;
        };
        // A run becoming equal to its neighbour outside would have to merge with it.
        let (l, r) = ((lo > 0) as usize, runs.len() - (after != 0) as usize);
        if (l == 1 && runs[0] == to && runs[1] == from)
            || (after != 0 && runs[r] == to && runs[r - 1] == from)
        {
            return false;
        }
        swap(&mut runs[l..r], from, to);
        true
    }

    /// [`Trie::swap_flat`] for a block in the lines form: the positions' runs
    /// are swapped in every line they appear in (a run that crosses a line's start is
    /// stored again in that line).
    #[inline(never)]
    fn swap_flat_lines(&mut self, e: u32, lo: usize, w: u32, from: u32, to: u32) -> bool {
        if w == 0 {
            return self.swap_flat_line(e, lo, from, to);
        }
        let hi = lo + (1usize << w);
        // Whether the prefix's first position and the one after it start runs, and whether
        // a run would become equal to its neighbour outside (it would have to merge).
        let (first, last) = (self.flat_at(e, lo), self.flat_at(e, hi - 1));
        if lo > 0 {
            let before = self.flat_at(e, lo - 1);
            if before == first || (before == to && first == from) {
                return false;
            }
        }
        if hi < 64 {
            let after = self.flat_at(e, hi);
            if after == last || (after == to && last == from) {
                return false;
            }
        }
        let (b, k) = flat::parts(e);
        let k = k as usize;
        for j in (lo * k) >> 6..=((hi - 1) * k) >> 6 {
            let line = b + 16 * j;
            let h = self.leaves[line] as u64 | (self.leaves[line + 1] as u64) << 32;
            // The runs of this line that start inside the prefix (the line's first run
            // starts at its first position, inside when the prefix begins before it).
            let first = popcount(h & ((1u64 << lo) - 1), self.hw) as usize;
            let below_hi = if hi >= 64 { !0u64 } else { (1u64 << hi) - 1 };
            let end = popcount(h & below_hi, self.hw) as usize;
            swap(&mut self.leaves[line + 2 + first..line + 2 + end], from, to);
        }
        true
    }

    /// [`Trie::swap_flat_lines`] for one position `p` (an IPv4 /24 under a first-level
    /// word: most of a real update stream), from its line's header where the neighbours are
    /// in the same line.
    #[inline]
    fn swap_flat_line(&mut self, e: u32, p: usize, from: u32, to: u32) -> bool {
        let (b, k) = flat::parts(e);
        let k = k as usize;
        let j = (p * k) >> 6;
        let (s, t) = (flat::line_start(k, j), flat::line_start(k, j + 1));
        let line = b + 16 * j;
        let Some(words) = self.leaves.get(line..line + 16) else {
            return false;
        };
        let h = words[0] as u64 | (words[1] as u64) << 32;
        let i = 2 + popcount(h & upto(p), self.hw) as usize - 1;
        let v = words[i.min(15)];
        // Inside the line a run starts where its header has a bit; at the line's first
        // position, where the previous line's last run differs.
        let before = if p == 0 {
            None
        } else if p > s {
            if h >> p & 1 == 0 {
                return false;
            }
            Some(words[(i - 1).min(15)])
        } else {
            Some(self.flat_at(e, p - 1))
        };
        let after = if p + 1 >= 64 {
            None
        } else if p + 1 < t {
            if h >> (p + 1) & 1 == 0 {
                return false;
            }
            Some(words[(i + 1).min(15)])
        } else {
            Some(self.flat_at(e, p + 1))
        };
        for n in [before, after].into_iter().flatten() {
            if n == v || (n == to && v == from) {
                return false;
            }
        }
        if v == from {
            self.leaves[line + i.min(15)] = to;
        }
        true
    }

    /// [`Trie::replace_in_place`] in general: whole direct words, or a walk to the flat
    /// block or node that holds the prefix.
    #[inline(never)]
    fn replace_walk(&mut self, key: K, len: u32, from: u32, to: u32) -> bool {
        if !self.l1_ready() {
            return false;
        }
        let g = |l: u32| if l == from { to } else { l };
        if len <= K::DIRECT {
            // Whole first-level words, which share no run with their neighbours.
            let lo = key.top();
            let hi = lo + (1usize << (K::DIRECT - len));
            self.l1_update(lo, hi, |t, e| t.relabel_word(e, &g));
            if K::COARSE > 0 {
                self.refresh_coarse(lo, hi);
            }
            return true;
        }
        let mut e = self.l1_get(key.top());
        let mut d = K::DIRECT;
        if K::DIR2 > 0 && e & TAGS == DIR {
            let j = key.bits_at(K::DIRECT, K::DIR2);
            if len <= K::DIRECT + K::DIR2 {
                // Whole second-level words, likewise.
                let n = self.relabel_dir(e, j..j + (1usize << (K::DIRECT + K::DIR2 - len)), &g);
                if n != e {
                    self.l1_set(key.top(), n);
                }
                return true;
            }
            e = self.dir_word(e, j);
            d += K::DIR2;
        }
        if e & TAGS == 0 {
            return false;
        }
        if e & FLAT != 0 {
            if len > d + 6 {
                return false;
            }
            let (lo, w) = (key.stride_at(d), d + 6 - len);
            return self.swap_flat(e, lo, w, from, to);
        }
        let mut ni = (e & !NODE) as usize;
        loop {
            let n = self.nodes[ni];
            let p = key.stride_at(d);
            if len <= d + 6 {
                let w = d + 6 - len;
                let kids = n.children();
                let Some((r, more)) = own_runs(n.leafvec, kids, p, w, self.hw) else {
                    return false;
                };
                let k = r.end + more as usize;
                let mut inline = [0u32; INLINE_RUNS];
                let leaves = if n.is_inline() {
                    let k = popcount(n.leafvec, self.hw) as usize;
                    for (i, v) in inline[..k].iter_mut().enumerate() {
                        *v = n.inline_leaf(i as u32);
                    }
                    &mut inline[..k]
                } else {
                    let base = n.base0 as usize;
                    &mut self.leaves[base..base + k]
                };
                if !can_swap(leaves, &r, from, to) {
                    return false;
                }
                swap(&mut leaves[r], from, to);
                if n.is_inline() {
                    self.nodes[ni] = Node::inline(n.leafvec, leaves);
                }
                // The children under the prefix.
                let below = (1u64 << p) - 1;
                let c0 = n.base1 as usize + popcount(kids & below, self.hw) as usize;
                let span = if w == 6 {
                    !0u64
                } else {
                    ((1u64 << (1 << w)) - 1) << p
                };
                for c in c0..c0 + popcount(kids & span, self.hw) as usize {
                    self.swap_below(c, from, to);
                }
                return true;
            }
            if n.children() & (1u64 << p) == 0 {
                return false;
            }
            ni = n.base1 as usize + popcount(n.vector & upto(p), self.hw) as usize - 1;
            d += 6;
        }
    }

    /// Changes every leaf `from` of node `ni` and the nodes below it to `to`.
    fn swap_below(&mut self, ni: usize, from: u32, to: u32) {
        let n = self.nodes[ni];
        let runs = n.leafvec.count_ones() as usize;
        if n.is_inline() {
            let mut vals = [0u32; INLINE_RUNS];
            for (i, v) in vals[..runs].iter_mut().enumerate() {
                *v = n.inline_leaf(i as u32);
            }
            swap(&mut vals[..runs], from, to);
            self.nodes[ni] = Node::inline(n.leafvec, &vals[..runs]);
            return;
        }
        swap(
            &mut self.leaves[n.base0 as usize..n.base0 as usize + runs],
            from,
            to,
        );
        for c in 0..n.vector.count_ones() as usize {
            self.swap_below(n.base1 as usize + c, from, to);
        }
    }

    /// Replaces every leaf `l != 0` of the structure by `f(l)` (after the entries moved).
    pub(crate) fn relabel<F: Fn(u32) -> u32>(&mut self, f: &F) {
        let g = |l: u32| if l == 0 { 0 } else { f(l) };
        for i in 0..self.l1.len() {
            let e = self.l1[i];
            self.l1[i] = self.relabel_word(e, &g);
        }
        // With a summary level: its leaves, and the words of the chunks it names (not those
        // of free chunks).
        for i in 0..self.win.len() {
            let e = self.win[i];
            self.win[i] = self.relabel_word(e, &g);
        }
        for r in 0..self.coarse.len() {
            let c = self.coarse[r];
            if Self::in_win(r << Self::CHUNK) {
                if c & TAGS == 0 {
                    self.coarse[r] = g(c);
                }
                continue;
            }
            if c & TAGS == 0 {
                self.coarse[r] = g(c);
                continue;
            }
            let at = ((c & !TAGS) as usize) << Self::CHUNK;
            for j in at..at + (1 << Self::CHUNK) {
                let e = self.chunks[j];
                self.chunks[j] = self.relabel_word(e, &g);
            }
        }
    }

    /// Relabels the structure behind direct word `e`, returning the new word.
    fn relabel_word<F: Fn(u32) -> u32>(&mut self, e: u32, g: &F) -> u32 {
        if e & TAGS == 0 {
            g(e)
        } else if K::DIR2 > 0 && e & TAGS == DIR {
            self.relabel_dir(e, 0..1 << K::DIR2, g)
        } else if e & FLAT != 0 {
            self.relabel_flat(e, g);
            e
        } else {
            self.relabel_node((e & !NODE) as usize, g);
            e
        }
    }

    /// Relabels words `range` of the second-level block of word `e` (see
    /// [`Trie::relabel_word`]) and returns the block's word (see [`Trie::set_group`]).
    fn relabel_dir<F: Fn(u32) -> u32>(
        &mut self,
        mut e: u32,
        range: std::ops::Range<usize>,
        g: &F,
    ) -> u32 {
        let (lo, hi) = (range.start, range.end);
        if let Some(at) = Self::dense_at(e) {
            for j in at + lo..at + hi {
                let w = self.dir[j];
                self.dir[j] = self.relabel_word(w, g);
            }
            return e;
        }
        for k in lo >> 6..=(hi - 1) >> 6 {
            let mut words = self.group_words(e, k);
            for w in &mut words[lo.max(k << 6) - (k << 6)..hi.min((k + 1) << 6) - (k << 6)] {
                *w = self.relabel_word(*w, g);
            }
            e = self.set_group(e, k, &words);
        }
        e
    }

    fn relabel_node<F: Fn(u32) -> u32>(&mut self, ni: usize, g: &F) {
        let n = self.nodes[ni];
        if n.is_inline() {
            let runs = n.leafvec.count_ones();
            let vals: Vec<u32> = (0..runs).map(|i| g(n.inline_leaf(i))).collect();
            self.nodes[ni] = Node::inline(n.leafvec, &vals);
            return;
        }
        let runs = n.leafvec.count_ones() as usize;
        for l in &mut self.leaves[n.base0 as usize..n.base0 as usize + runs] {
            *l = g(*l);
        }
        for c in 0..n.vector.count_ones() as usize {
            self.relabel_node(n.base1 as usize + c, g);
        }
    }
}
