//! [`Trie::paint`]: applying a change to every leaf inside a prefix, making, flattening and
//! collapsing nodes and second-level blocks as the leaves require.

use super::layout::{popcount, upto, Node, Trie, DIR, DIR_MIN, FLAT, INLINE_RUNS, NODE, TAGS};
use crate::lpm::key::Key;

const NONE: u32 = u32::MAX;

/// Applies `f` to positions `range` of 64 positions given as runs (`leafvec` has a bit at
/// each run's first position, `runs` their leaves) and returns the new runs: a run is split
/// only where the range starts or ends, and neighbours that become equal merge. Works on the
/// runs (a dozen on average) rather than on 64 expanded positions, and visits only those that
/// overlap the range: the runs before it are copied as they are, and so are those after it
/// but the first (which may merge with the last one painted).
#[inline]
fn repaint_runs<F: Fn(u32) -> u32>(
    leafvec: u64,
    runs: &[u32],
    range: std::ops::Range<usize>,
    f: &F,
    hw: bool,
) -> (u64, [u32; 64], usize) {
    let (lo, hi) = (range.start, range.end);
    debug_assert!(leafvec & 1 == 1 && lo < hi && hi <= 64);
    let mut out_bits = 0u64;
    let mut out = [0u32; 64];
    let mut n = 0usize;
    // The run holding position `lo` starts at `s0` and is run number `first`; the ones before
    // it end before the range.
    let s0 = 63 - (leafvec & upto(lo)).leading_zeros() as usize;
    let first = popcount(leafvec & upto(lo), hw) as usize - 1;
    out[..first].copy_from_slice(&runs[..first]);
    out_bits |= leafvec & ((1u64 << s0) - 1);
    n += first;
    let emit = |out_bits: &mut u64, out: &mut [u32; 64], n: &mut usize, start: usize, v| {
        if *n == 0 || out[*n - 1] != v {
            *out_bits |= 1u64 << start;
            out[*n] = v;
            *n += 1;
        }
    };
    // The runs starting at or after `hi`.
    let after = if hi == 64 {
        0
    } else {
        leafvec & !((1u64 << hi) - 1)
    };
    let last = runs.len() - popcount(after, hw) as usize;
    let mut bits = leafvec & !((1u64 << s0) - 1);
    for &v in &runs[first..last] {
        let s = bits.trailing_zeros() as usize;
        bits &= bits.wrapping_sub(1);
        let e = if bits == 0 {
            64
        } else {
            bits.trailing_zeros() as usize
        };
        if s < lo {
            emit(&mut out_bits, &mut out, &mut n, s, v);
        }
        emit(&mut out_bits, &mut out, &mut n, s.max(lo), f(v));
        if hi < e {
            emit(&mut out_bits, &mut out, &mut n, hi, v);
        }
    }
    if after != 0 {
        emit(
            &mut out_bits,
            &mut out,
            &mut n,
            after.trailing_zeros() as usize,
            runs[last],
        );
        // The rest were distinct from their neighbours and stay so.
        let rest = &runs[last + 1..];
        out[n..n + rest.len()].copy_from_slice(rest);
        n += rest.len();
        out_bits |= after & after.wrapping_sub(1);
    }
    (out_bits, out, n)
}

impl<K: Key> Trie<K> {
    /// Applies `f` to every leaf inside prefix `key/len`. With `create`, nodes are made
    /// along the path so that positions deeper than the existing structure can be painted.
    pub(crate) fn paint<F: Fn(u32) -> u32>(&mut self, key: K, len: u32, create: bool, f: &F) {
        if !self.l1_ready() {
            self.l1 = crate::lpm::mem::HugeWords::zeroed(1 << K::DIRECT);
        }
        self.paint_l1(key, len, create, f);
        if K::COARSE > 0 {
            let start = key.top();
            let span = 1usize << K::DIRECT.saturating_sub(len);
            self.refresh_coarse(start, start + span);
        }
    }

    /// Folds back into their summary words the chunks covering first-level words `lo..hi`
    /// whose words are now one leaf.
    pub(super) fn refresh_coarse(&mut self, lo: usize, hi: usize) {
        let shift = Self::CHUNK;
        for r in lo >> shift..=(hi - 1) >> shift {
            if Self::in_win(r << shift) {
                // Dense words: the summary is their one leaf, or `TAGS`.
                let w = &self.win;
                let at = (r << shift) & ((1 << Self::WIN) - 1);
                let first = w.word_masked(at);
                self.coarse[r] = if first & TAGS == 0
                    && (at..at + (1 << shift)).all(|j| w.word_masked(j) == first)
                {
                    first
                } else {
                    TAGS
                };
                continue;
            }
            let c = self.coarse[r];
            if c & TAGS == 0 {
                continue;
            }
            let at = ((c & !TAGS) as usize) << shift;
            let words = &self.chunks[at..at + (1 << shift)];
            let first = words[0];
            if first & TAGS == 0 && words.iter().all(|&w| w == first) {
                self.coarse[r] = first;
                self.free_chunks.push(c & !TAGS);
            }
        }
    }

    fn paint_l1<F: Fn(u32) -> u32>(&mut self, key: K, len: u32, create: bool, f: &F) {
        let s = K::DIRECT;
        let lo = key.top();
        let hi = lo + (1usize << s.saturating_sub(len));
        self.l1_update(lo, hi, |t, e| t.paint_top(e, key, len, create, f));
    }

    /// Paints the structure behind first-level word `e` and returns the word that replaces it.
    fn paint_top<F: Fn(u32) -> u32>(
        &mut self,
        e: u32,
        key: K,
        len: u32,
        create: bool,
        f: &F,
    ) -> u32 {
        if K::DIR2 == 0 {
            return self.paint_word(e, K::DIRECT, key, len, create, f);
        }
        if e & TAGS == DIR {
            return self.paint_dir(e, key, len, create, f);
        }
        let n = self.paint_word(e, K::DIRECT, key, len, create, f);
        if n & TAGS == NODE && len > K::DIRECT + 6 && self.subtrees(n & !NODE) >= DIR_MIN {
            return self.node_to_dir(n & !NODE);
        }
        n
    }

    /// How many nodes two levels below node `ni` (the non-leaf words a second-level block in
    /// its place would hold).
    fn subtrees(&self, ni: u32) -> u32 {
        let n = &self.nodes[ni as usize];
        let kids = n.children().count_ones() as usize;
        self.nodes[n.base1 as usize..n.base1 as usize + kids]
            .iter()
            .map(|c| c.children().count_ones())
            .sum()
    }

    /// Leaf value or child index (`NONE` for a leaf) at each position of `n`.
    fn expand(&self, n: &Node) -> ([u32; 64], [u32; 64]) {
        let mut vals = [0u32; 64];
        let mut kids = [NONE; 64];
        let (mut li, mut ci) = (0u32, 0u32);
        let mut cur = 0u32;
        let inline = n.is_inline();
        for (p, (val, kid)) in vals.iter_mut().zip(kids.iter_mut()).enumerate() {
            let bit = 1u64 << p;
            if n.children() & bit != 0 {
                *kid = n.base1 + ci;
                ci += 1;
            } else {
                if n.leafvec & bit != 0 {
                    cur = if inline {
                        n.inline_leaf(li)
                    } else {
                        self.leaves[(n.base0 + li) as usize]
                    };
                    li += 1;
                }
                *val = cur;
            }
        }
        (vals, kids)
    }

    /// Replaces the first-level node `ni` (and its children) by a second-level block whose
    /// words are the leaves of those two levels and references to the nodes below them;
    /// returns the first-level word for it.
    #[cold]
    fn node_to_dir(&mut self, ni: u32) -> u32 {
        assert_eq!(K::DIR2, 12, "lpm: a block replaces two node levels");
        let n = self.nodes[ni as usize];
        let (vals, kids) = self.expand(&n);
        let mut rows = [[0u32; 64]; 64];
        let mut deep = 0;
        for (p, row) in rows.iter_mut().enumerate() {
            if kids[p] == NONE {
                *row = [vals[p]; 64];
                continue;
            }
            let c = self.nodes[kids[p] as usize];
            let (cv, ck) = self.expand(&c);
            for q in 0..64 {
                row[q] = if ck[q] == NONE {
                    cv[q]
                } else {
                    deep += 1;
                    ck[q] | NODE
                };
            }
            // The grandchildren stay where they are, now named by the block's words.
            if !c.is_inline() {
                self.free_leaves(c.base0, c.leafvec.count_ones() as usize);
            }
        }
        self.free_node_parts(&n);
        self.free_nodes(ni, 1);
        self.new_dir_from(&rows, deep)
    }

    /// Paints inside the second-level block of word `e` and returns the first-level word for
    /// its region: the block's (which moves when a group needs more lines), or (when no word
    /// of it leads deeper and each group of 64 words holds one leaf) the flat block or leaf
    /// that now suffices, the block being freed.
    fn paint_dir<F: Fn(u32) -> u32>(
        &mut self,
        mut e: u32,
        key: K,
        len: u32,
        create: bool,
        f: &F,
    ) -> u32 {
        let s = K::DIRECT + K::DIR2;
        let (lo, hi) = if len <= K::DIRECT {
            (0, 1usize << K::DIR2)
        } else {
            let start = key.bits_at(K::DIRECT, K::DIR2);
            (start, start + (1usize << s.saturating_sub(len)))
        };
        let mut deep = self.dir_deep_of(e);
        let mut groups = lo >> 6..((hi - 1) >> 6) + 1;
        if let Some(at) = Self::dense_at(e) {
            // Dense: the words in place, as they are.
            groups = 0..0;
            for j in at + lo..at + hi {
                let w = self.dir[j];
                let n = self.paint_word(w, s, key, len, create, f);
                deep = deep + (n & TAGS != 0) as u32 - (w & TAGS != 0) as u32;
                self.dir[j] = n;
            }
        }
        for g in groups {
            let (qlo, qhi) = (lo.max(g << 6) - (g << 6), hi.min((g + 1) << 6) - (g << 6));
            if qhi - qlo == 1 {
                // One word (a prefix longer than the block's bits: most updates).
                let w = self.dir_word(e, g << 6 | qlo);
                let n = self.paint_word(w, s, key, len, create, f);
                deep = deep + (n & TAGS != 0) as u32 - (w & TAGS != 0) as u32;
                if n != w {
                    e = self.set_group_word(e, g, qlo, n);
                }
                continue;
            }
            let mut words = self.group_words(e, g);
            let old = words;
            for w in &mut words[qlo..qhi] {
                let was = *w;
                let n = self.paint_word(was, s, key, len, create, f);
                deep = deep + (n & TAGS != 0) as u32 - (was & TAGS != 0) as u32;
                *w = n;
            }
            if words != old {
                e = self.set_group(e, g, &words);
            }
        }
        self.set_dir_deep(e, deep);
        if deep > 0 {
            return e;
        }
        let mut vals = [0u32; 64];
        for (g, v) in vals.iter_mut().enumerate() {
            match self.group_uniform(e, g) {
                Some(w) => *v = w,
                None => return e,
            }
        }
        let mut leafvec = 0u64;
        let mut n = 0;
        for p in 0..64 {
            if n == 0 || vals[n - 1] != vals[p] {
                leafvec |= 1u64 << p;
                vals[n] = vals[p];
                n += 1;
            }
        }
        self.free_dir_block(e);
        self.store_flat(None, leafvec, &vals[..n])
    }

    /// Paints the structure behind direct word `e`, which covers the key bits before `s`
    /// (a leaf, a flat block or a node reference at depth `s`), and returns its new word.
    fn paint_word<F: Fn(u32) -> u32>(
        &mut self,
        e: u32,
        s: u32,
        key: K,
        len: u32,
        create: bool,
        f: &F,
    ) -> u32 {
        if len <= s {
            if e & FLAT != 0 {
                self.paint_flat(e, 0..64, f)
            } else if e & NODE != 0 {
                self.paint_root(e & !NODE, s, key, len, create, f)
            } else {
                f(e)
            }
        } else if len <= s + 6 && e & NODE == 0 {
            // The prefix ends within the first node's stride and no deeper node exists here:
            // paint the flat block (or the single leaf) directly, without building a node.
            let lo = key.stride_at(s);
            let range = lo..lo + (1usize << (s + 6 - len));
            if e & FLAT != 0 {
                self.paint_flat(e, range, f)
            } else if create {
                self.paint_uniform(e, range, f)
            } else {
                e
            }
        } else {
            let ni = if e & TAGS != 0 {
                self.unflatten(e)
            } else {
                if !create {
                    return e;
                }
                let ni = self.alloc_nodes(1);
                let n = self.uniform(e);
                self.nodes[ni as usize] = n;
                ni
            };
            self.paint_root(ni, s, key, len, create, f)
        }
    }

    /// Applies `f` to positions `range` of the flat block of word `e` and returns the word
    /// that replaces it: a flat block (the same one when its form and size are unchanged) or,
    /// when all 64 positions end up equal, that leaf.
    fn paint_flat<F: Fn(u32) -> u32>(
        &mut self,
        e: u32,
        range: std::ops::Range<usize>,
        f: &F,
    ) -> u32 {
        let (b, form) = super::flat::parts(e);
        if form == 0 {
            // The runs form, read in place.
            let leafvec = self.leaves[b] as u64 | (self.leaves[b + 1] as u64) << 32;
            let runs = leafvec.count_ones() as usize;
            let old = &self.leaves[b + 2..b + 2 + runs];
            let (bits, vals, n) = repaint_runs(leafvec, old, range, f, self.hw);
            if bits == leafvec {
                // Same runs (and so the same form): only values changed, or nothing did.
                if vals[..n] != *old {
                    self.leaves[b + 2..b + 2 + n].copy_from_slice(&vals[..n]);
                }
                return e;
            }
            return self.store_flat(Some(e), bits, &vals[..n]);
        }
        let (leafvec, runs, n) = self.flat_runs(e);
        let (bits, vals, m) = repaint_runs(leafvec, &runs[..n], range, f, self.hw);
        if bits == leafvec && vals[..m] == runs[..n] {
            return e;
        }
        self.store_flat(Some(e), bits, &vals[..m])
    }

    /// Like [`Trie::paint_flat`] for a first-level word that is a single leaf.
    fn paint_uniform<F: Fn(u32) -> u32>(
        &mut self,
        leaf: u32,
        range: std::ops::Range<usize>,
        f: &F,
    ) -> u32 {
        let (bits, vals, n) = repaint_runs(1, &[leaf], range, f, self.hw);
        self.store_flat(None, bits, &vals[..n])
    }

    fn paint_root<F: Fn(u32) -> u32>(
        &mut self,
        ni: u32,
        s: u32,
        key: K,
        len: u32,
        create: bool,
        f: &F,
    ) -> u32 {
        self.paint_node(ni as usize, s, key, len, create, f);
        let n = self.nodes[ni as usize];
        match self.collapse(n) {
            Some(leaf) => {
                self.free_nodes(ni, 1);
                leaf
            }
            None if n.is_inline() => {
                let vals: Vec<u32> = (0..n.leafvec.count_ones())
                    .map(|i| n.inline_leaf(i))
                    .collect();
                self.free_nodes(ni, 1);
                self.store_flat(None, n.leafvec, &vals)
            }
            None if n.vector == 0 => {
                // No children: store it flat.
                let runs = n.leafvec.count_ones() as usize;
                let base0 = n.base0 as usize;
                let mut vals = [0u32; 64];
                vals[..runs].copy_from_slice(&self.leaves[base0..base0 + runs]);
                self.free_leaves(n.base0, runs);
                self.free_nodes(ni, 1);
                self.store_flat(None, n.leafvec, &vals[..runs])
            }
            None => ni | NODE,
        }
    }

    /// The node index behind first-level word `e` (a node or flat block reference); a flat
    /// block is turned back into a node (and freed) so that it can be painted.
    fn unflatten(&mut self, e: u32) -> u32 {
        if e & NODE != 0 {
            return e & !NODE;
        }
        let (leafvec, vals, runs) = self.flat_runs(e);
        self.free_flat(e);
        let base0 = self.alloc_leaves(runs);
        self.leaves[base0 as usize..base0 as usize + runs].copy_from_slice(&vals[..runs]);
        let ni = self.alloc_nodes(1);
        self.nodes[ni as usize] = Node {
            vector: 0,
            leafvec,
            base0,
            base1: 0,
        };
        ni
    }

    fn paint_node<F: Fn(u32) -> u32>(
        &mut self,
        ni: usize,
        d: u32,
        key: K,
        len: u32,
        create: bool,
        f: &F,
    ) {
        let end = d + 6;
        let n = self.nodes[ni];
        let inline = n.is_inline();
        // Expand the node: leaf value or child index per position.
        let (mut vals, mut kids) = self.expand(&n);
        let old_kids = n.children().count_ones() as usize;
        // Leaves held in the leaf array (none for an inline node).
        let old_leaves = if inline {
            0
        } else {
            n.leafvec.count_ones() as usize
        };
        let (lo, hi) = if len <= d {
            (0, 64)
        } else if len <= end {
            let start = key.stride_at(d);
            (start, start + (1usize << (end - len)))
        } else {
            let p = key.stride_at(d);
            (p, p + 1)
        };
        let mut vector = n.children();
        let mut base1 = if inline { 0 } else { n.base1 };
        let mut nkids = old_kids;
        if len > end && kids[lo] == NONE {
            if !create {
                return;
            }
            // Make a child at `lo` holding the current leaf everywhere.
            let child = self.uniform(vals[lo]);
            vector |= 1u64 << lo;
            nkids += 1;
            let nb = self.alloc_nodes(nkids);
            let mut j = 0usize;
            for (p, kid) in kids.iter_mut().enumerate() {
                if vector & (1u64 << p) != 0 {
                    self.nodes[nb as usize + j] = if p == lo {
                        child
                    } else {
                        self.nodes[*kid as usize]
                    };
                    *kid = nb + j as u32;
                    j += 1;
                }
            }
            self.free_nodes(base1, old_kids);
            base1 = nb;
        }
        let mut removed = false;
        for p in lo..hi {
            if kids[p] != NONE {
                let c = kids[p] as usize;
                self.paint_node(c, end, key, len, create, f);
                let cn = self.nodes[c];
                if let Some(leaf) = self.collapse(cn) {
                    vals[p] = leaf;
                    kids[p] = NONE;
                    vector &= !(1u64 << p);
                    removed = true;
                }
            } else if len <= end {
                vals[p] = f(vals[p]);
            }
        }
        if removed {
            let cnt = vector.count_ones() as usize;
            let nb = self.alloc_nodes(cnt);
            let mut j = 0usize;
            for (p, kid) in kids.iter().enumerate() {
                if vector & (1u64 << p) != 0 {
                    self.nodes[nb as usize + j] = self.nodes[*kid as usize];
                    j += 1;
                }
            }
            self.free_nodes(base1, nkids);
            base1 = if cnt == 0 { 0 } else { nb };
        }
        // Leaf compression.
        let mut leafvec = 0u64;
        let mut runs = [0u32; 64];
        let mut nr = 0usize;
        let mut prev = NONE;
        for (p, &v) in vals.iter().enumerate() {
            if vector & (1u64 << p) == 0 && (nr == 0 || v != prev) {
                leafvec |= 1u64 << p;
                runs[nr] = v;
                prev = v;
                nr += 1;
            }
        }
        if vector == 0 && nr <= INLINE_RUNS {
            self.free_leaves(n.base0, old_leaves);
            self.nodes[ni] = Node::inline(leafvec, &runs[..nr]);
            return;
        }
        let mut base0 = n.base0;
        if inline || nr != old_leaves {
            self.free_leaves(base0, old_leaves);
            base0 = self.alloc_leaves(nr);
        }
        self.leaves[base0 as usize..base0 as usize + nr].copy_from_slice(&runs[..nr]);
        self.nodes[ni] = Node {
            vector,
            leafvec,
            base0,
            base1,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lpm::trie::layout::cpu_has_popcnt;

    /// `repaint_runs` against painting 64 expanded positions and compressing them again.
    #[test]
    fn repaint_runs_matches_expanded_positions() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            // Canonical runs over few distinct leaves, so that neighbours can merge.
            let starts = next() | 1;
            let mut runs = Vec::new();
            for _ in 0..starts.count_ones() {
                let mut v = (next() % 4) as u32;
                while runs.last() == Some(&v) {
                    v = (next() % 4) as u32;
                }
                runs.push(v);
            }
            let lo = (next() % 64) as usize;
            let hi = lo + 1 + (next() % (64 - lo as u64)) as usize;
            let to = (next() % 4) as u32;
            let f = |v: u32| if round % 2 == 0 { to } else { (v + to) % 4 };
            let mut pos = [0u32; 64];
            let mut r = 0;
            for (p, slot) in pos.iter_mut().enumerate() {
                if p > 0 && starts & (1 << p) != 0 {
                    r += 1;
                }
                *slot = runs[r];
            }
            for slot in &mut pos[lo..hi] {
                *slot = f(*slot);
            }
            let (mut bits, mut want) = (0u64, Vec::new());
            for (p, &v) in pos.iter().enumerate() {
                if want.last() != Some(&v) {
                    bits |= 1 << p;
                    want.push(v);
                }
            }
            for hw in [false, cpu_has_popcnt()] {
                let (b, out, n) = repaint_runs(starts, &runs, lo..hi, &f, hw);
                assert_eq!(
                    (b, &out[..n]),
                    (bits, &want[..]),
                    "{starts:#x} {runs:?} {lo}..{hi}"
                );
            }
        }
    }
}
