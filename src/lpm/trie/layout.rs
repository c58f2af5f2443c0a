//! The words, nodes and arrays of the trie (see the module docs for the layout), and the
//! population count every step of a lookup uses.

use crate::lpm::key::Key;

/// First-level word: this bit set means "node index".
pub(crate) const NODE: u32 = 1 << 31;

/// First-level word: this bit set means "flat block": a node without children stored as its
/// `leafvec` (two words) followed by its leaves, in the leaf array. Most first-level slots of a
/// real table lead to such a node, and the flat form saves the lookup one dependent read.
pub(crate) const FLAT: u32 = 1 << 30;

/// Neither bit: the word is a leaf.
pub(crate) const TAGS: u32 = NODE | FLAT;

/// Least number of nodes two levels below a first-level IPv6 node for which it becomes a
/// second-level block (see [`DIR`]); a block goes back to a flat block or leaf when nothing
/// below it is deeper than its words, never back to a node. On the full table 46 of the 200
/// regions that hold longer prefixes stay nodes: they hold 2% of the prefixes, and their
/// blocks would take 0.7 MiB (16 and 8 save 0.63 and 0.53 MiB; no lookup rate difference
/// above the noise between any of them).
pub(super) const DIR_MIN: u32 = 32;

/// Whether a new trie makes sparse second-level blocks in the lines form (else every block
/// is dense; the forms are in `second.rs`, the choice is the trie's [`Trie::dir_lines`]).
///
/// Off: the lines form trades lookup speed for memory. Measured on the full IPv6 table, one
/// binary building both forms and timing them alternately (80 passes of 250,000 keys each,
/// pinned, load 4-5; 2026-12-06): 114 of the 154 blocks fit the lines form, the heap falls
/// from 5.61 to 4.27 MiB (treebitmap's is 4.3), in-table lookups fall to 0.91-0.94x
/// (30.5 against 32.5-34.5 M/s), the replay of the 1.24 M real updates to 0.94-0.97x, random
/// lookups unchanged. A lookup in a lines block reads its line, then the word that the
/// line's `leafvec` names: one dependent read more, from the same cache line, and the form
/// is one more branch that random keys mispredict.
pub(crate) const DIR_LINES: bool = false;

/// First-level word with both bits (only where [`Key::DIR2`] is not 0): a second-level
/// block, `2^DIR2` words (leaf, flat block or node reference, as in the first level) indexed
/// by the next `DIR2` bits. A first-level IPv6 node with at least [`DIR_MIN`] nodes two
/// levels below it becomes one, so that a walk starts `DIR2` bits deeper at the cost of one
/// read. The block is dense (`2^DIR2` words) or, where it is sparse, run-compressed in 64
/// lines (see `second.rs`); the rest of the word names its form and its place in
/// [`Trie::dir`].
pub(crate) const DIR: u32 = TAGS;

#[derive(Clone, Copy, Default, Debug)]
#[repr(C)]
pub(crate) struct Node {
    pub(crate) vector: u64,
    pub(crate) leafvec: u64,
    pub(crate) base0: u32,
    pub(crate) base1: u32,
}

/// `base1` bit of an inline node: a node without children whose runs (at most
/// [`INLINE_RUNS`]) are stored in the node itself (in `vector`, `base0` and the rest of
/// `base1`) instead of in the leaf array. Measured on the full IPv6 table: 0.33 MiB less heap
/// and one read less for the lookups that end in such a node (a third of the in-table ones),
/// for the same lookup rate (the tag test costs what the read saved). Node indices and leaves
/// are below 2^30, so the bit is free in both roles.
pub(crate) const INLINE: u32 = 1 << 31;

/// Most runs an inline node holds.
pub(super) const INLINE_RUNS: usize = 4;

impl Node {
    /// Whether the node holds its leaves itself (see [`INLINE`]).
    #[inline(always)]
    pub(crate) fn is_inline(&self) -> bool {
        self.base1 & INLINE != 0
    }

    /// Run `i` (below [`INLINE_RUNS`]) of an inline node: runs 0 and 1 are the halves of
    /// `vector`, 2 and 3 `base0` and `base1` (without its tag); masks, not a branch on `i`.
    #[inline(always)]
    pub(crate) fn inline_leaf(&self, i: u32) -> u32 {
        let high = 0u64.wrapping_sub((i >> 1) as u64 & 1);
        let upper = self.base0 as u64 | ((self.base1 & !INLINE) as u64) << 32;
        let pair = (self.vector & !high) | (upper & high);
        (pair >> ((i & 1) * 32)) as u32
    }

    /// An inline node with runs `vals` (at most [`INLINE_RUNS`]) at the bits of `leafvec`.
    pub(super) fn inline(leafvec: u64, vals: &[u32]) -> Node {
        debug_assert!(!vals.is_empty() && vals.len() <= INLINE_RUNS);
        let mut w = [0u32; INLINE_RUNS];
        w[..vals.len()].copy_from_slice(vals);
        Node {
            vector: w[0] as u64 | (w[1] as u64) << 32,
            leafvec,
            base0: w[2],
            base1: w[3] | INLINE,
        }
    }

    /// The child bitmap (none for an inline node, whose `vector` holds leaves).
    #[inline(always)]
    pub(super) fn children(&self) -> u64 {
        if self.is_inline() {
            0
        } else {
            self.vector
        }
    }
}

#[derive(Clone)]
pub(crate) struct Trie<K: Key> {
    /// The first level, `2^DIRECT` words, when there is no summary level (IPv4; empty until
    /// the first paint).
    pub(crate) l1: crate::lpm::mem::HugeWords,
    /// Summary of the first level (see [`Key::COARSE`]; IPv6): per range of `2^(DIRECT -
    /// COARSE)` first-level words, the leaf they all hold, or else (both tag bits) in the
    /// window `TAGS` (the words are in `win`), outside it `TAGS | c`: chunk `c` of `chunks`
    /// holds them. Outside the window only the ranges that differ within have words of their
    /// own (none on the full IPv6 table): with the window, 0.13 MiB where a dense first level
    /// took 1 MiB, for the same lookup rates.
    pub(super) coarse: crate::lpm::mem::HugeWords,
    /// The first-level chunks named by `coarse`, `2^(DIRECT - COARSE)` words each, outside
    /// the window.
    pub(super) chunks: Vec<u32>,
    /// With a summary level: the first-level words of the window, 2000::/3 (IANA's global
    /// unicast space, where a real table's prefixes are), dense (128 KiB). Their summary
    /// words are a leaf or `TAGS`, and the word's address depends on the key alone, so that
    /// a lookup reads it while the summary word is still on its way (a chunk's address
    /// depends on the summary word: measured, 4-12% fewer in-table lookups).
    pub(super) win: crate::lpm::mem::HugeWords,
    pub(super) free_chunks: Vec<u32>,
    pub(crate) nodes: Vec<Node>,
    /// Leaf arrays of nodes and flat blocks, in an array that starts on a cache line.
    pub(crate) leaves: crate::lpm::mem::LineWords,
    /// The second-level blocks (see [`DIR`]), in units of 64 cache lines (4 KiB): 4 units a
    /// dense block, 1 a lines block. Starts on a cache line.
    pub(crate) dir: crate::lpm::mem::LineWords,
    /// Free runs of units, per length (1 or 4).
    pub(super) free_units: Vec<Vec<u32>>,
    /// Whether new sparse second-level blocks take the lines form (see `second.rs`).
    pub(crate) dir_lines: bool,
    /// Per unit, for a block's first: how many of the block's words are not leaves (when
    /// none are, the block may shrink back to a flat block).
    pub(super) dir_deep: Vec<u32>,
    pub(super) free_nodes: Vec<Vec<u32>>,
    pub(super) free_leaves: Vec<Vec<u32>>,
    /// The CPU has `popcnt` (see [`popcount`]).
    pub(crate) hw: bool,
    _k: std::marker::PhantomData<K>,
}

/// Whether the CPU has `popcnt`.
#[cfg(all(target_arch = "x86_64", not(target_feature = "popcnt")))]
pub(super) fn cpu_has_popcnt() -> bool {
    std::arch::is_x86_feature_detected!("popcnt")
}

#[cfg(not(all(target_arch = "x86_64", not(target_feature = "popcnt"))))]
pub(super) fn cpu_has_popcnt() -> bool {
    true
}

/// Population count on the lookup path.
///
/// The walk is popcount-bound, and the x86-64 baseline has no `popcnt` instruction:
/// `count_ones` then compiles to a dozen dependent operations. Where the CPU has it (`hw`,
/// checked once when the trie is made), this emits the instruction inline; unlike a
/// `#[target_feature]` function it inlines into the caller's loop. Measured on the full table
/// with `lpm_compare`: about 25% faster (IPv4 in-table keys) than calling out to a
/// `popcnt`-enabled function. The compiler cannot see into `asm!`: without the stated bound
/// on its result, every index computed from it kept its clamp or bounds check, and in-table
/// IPv4 lookups ran 7-8% slower (2026-12-07, `lpm_compare --only netplumb/fib,dir-24-8`, two
/// runs alternated: `Fib` 137.7-138.6 against 127.1-127.8 M/s in the paired passes; a build
/// with `-C target-feature=+popcnt` made about what this one makes now).
#[inline(always)]
pub(crate) fn popcount(x: u64, hw: bool) -> u32 {
    #[cfg(all(target_arch = "x86_64", not(target_feature = "popcnt")))]
    if hw {
        let r: u64;
        // SAFETY: `hw` is true only when the CPU reports `popcnt` (see `cpu_has_popcnt`), so
        // the instruction exists; it reads and writes one register each and touches no
        // memory or stack (it does change flags, which `asm!` assumes by default).
        unsafe {
            std::arch::asm!("popcnt {r}, {x}", x = in(reg) x, r = lateout(reg) r,
                options(pure, nomem, nostack));
            // SAFETY: a population count of 64 bits is at most 64. Stated, the compiler
            // drops the bounds checks and clamps on the indices computed from it, as it
            // does for `count_ones`.
            std::hint::assert_unchecked(r <= 64);
        }
        return r as u32;
    }
    #[cfg(all(target_arch = "x86_64", not(target_feature = "popcnt")))]
    return soft_popcount(x);
    #[cfg(not(all(target_arch = "x86_64", not(target_feature = "popcnt"))))]
    {
        let _ = hw;
        x.count_ones()
    }
}

/// The portable population count, kept out of line so that it does not bloat the inlined
/// lookup on the CPUs that never take it.
#[cfg(all(target_arch = "x86_64", not(target_feature = "popcnt")))]
#[cold]
#[inline(never)]
fn soft_popcount(x: u64) -> u32 {
    x.count_ones()
}

/// Mask of positions `0..=p`.
#[inline(always)]
pub(crate) fn upto(p: usize) -> u64 {
    (2u64 << p).wrapping_sub(1)
}

impl<K: Key> Trie<K> {
    pub(crate) fn new() -> Self {
        Trie {
            // Allocated on the first insert: an empty map costs next to nothing.
            l1: crate::lpm::mem::HugeWords::zeroed(0),
            coarse: crate::lpm::mem::HugeWords::zeroed((1 << K::COARSE) * (K::COARSE > 0) as usize),
            chunks: Vec::new(),
            win: crate::lpm::mem::HugeWords::zeroed(0),
            free_chunks: Vec::new(),
            nodes: Vec::new(),
            leaves: crate::lpm::mem::LineWords::new(),
            dir: crate::lpm::mem::LineWords::new(),
            free_units: vec![Vec::new(); 5],
            dir_lines: DIR_LINES,
            dir_deep: Vec::new(),
            free_nodes: vec![Vec::new(); 65],
            free_leaves: vec![Vec::new(); 81],
            hw: cpu_has_popcnt(),
            _k: std::marker::PhantomData,
        }
    }

    /// Returns the spare capacity of the node and leaf arrays (after a bulk load).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.leaves.shrink_to_fit();
        self.dir.shrink_to_fit();
        self.dir_deep.shrink_to_fit();
        self.chunks.shrink_to_fit();
    }

    /// Bits of first-level index inside a chunk (see [`Trie::coarse`]).
    pub(super) const CHUNK: u32 = K::DIRECT - K::COARSE;

    /// Bits of first-level index inside the window (2000::/3).
    pub(super) const WIN: u32 = K::DIRECT - 3;

    /// Whether first-level word `i` is in the window (with a summary level).
    #[inline(always)]
    pub(super) fn in_win(i: usize) -> bool {
        i >> Self::WIN == 1
    }

    /// Whether the first level exists (a dense one is allocated by the first paint).
    #[inline(always)]
    pub(crate) fn l1_ready(&self) -> bool {
        K::COARSE > 0 || !self.l1.is_empty()
    }

    /// First-level word `i` (below `2^DIRECT`; the first level exists).
    #[inline(always)]
    pub(crate) fn l1_get(&self, i: usize) -> u32 {
        if K::COARSE == 0 {
            return self.l1[i];
        }
        if Self::in_win(i) {
            return self.win.word_masked(i);
        }
        let c = self.coarse[i >> Self::CHUNK];
        if c & TAGS == 0 {
            return c;
        }
        let mask = (1usize << Self::CHUNK) - 1;
        self.chunks[((c & !TAGS) as usize) << Self::CHUNK | (i & mask)]
    }

    /// Every first-level word that is not 0 (no match), with its index, in index order. A
    /// dense level is skipped 64 words at a time where they are all 0 (one comparison of
    /// 256 bytes: under Miri, one step where a loop over the words takes 2^18).
    pub(crate) fn l1_words(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        let dense = (K::COARSE == 0).then(|| {
            self.l1
                .chunks(64)
                .enumerate()
                .filter(|(_, c)| *c != [0u32; 64])
                .flat_map(|(i, c)| c.iter().enumerate().map(move |(j, &w)| (i * 64 + j, w)))
        });
        let summary =
            (K::COARSE > 0).then(|| (0..1usize << K::DIRECT).map(|i| (i, self.l1_get(i))));
        dense
            .into_iter()
            .flatten()
            .chain(summary.into_iter().flatten())
            .filter(|&(_, w)| w != 0)
    }

    /// Replaces each first-level word `e` of `lo..hi` by `word(self, e)`. With a summary
    /// level, a range of one leaf that `lo..hi` covers whole takes one call, and keeps no
    /// chunk when the result is a leaf (a short prefix's paint then touches no chunk).
    #[inline]
    pub(super) fn l1_update<F: FnMut(&mut Self, u32) -> u32>(
        &mut self,
        lo: usize,
        hi: usize,
        mut word: F,
    ) {
        let mut i = lo;
        while i < hi {
            let mut end = hi;
            if K::COARSE > 0 && Self::in_win(i) {
                end = hi.min(2 << Self::WIN);
            } else if K::COARSE > 0 {
                let r = i >> Self::CHUNK;
                end = hi.min((r + 1) << Self::CHUNK);
                let c = self.coarse[r];
                if c & TAGS == 0 && end - i == 1 << Self::CHUNK {
                    let n = word(self, c);
                    if n & TAGS == 0 {
                        self.coarse[r] = n;
                        i = end;
                        continue;
                    }
                    self.l1_set(i, n);
                    i += 1;
                }
            }
            for j in i..end {
                let e = self.l1_get(j);
                let n = word(self, e);
                self.l1_set(j, n);
            }
            i = end;
        }
    }

    /// Sets first-level word `i`. With a summary level, a range that held one leaf gets a
    /// chunk of its own when a word changes; [`Trie::refresh_coarse`] folds it back.
    #[inline]
    pub(super) fn l1_set(&mut self, i: usize, v: u32) {
        if K::COARSE == 0 {
            self.l1[i] = v;
            return;
        }
        if Self::in_win(i) {
            if self.win.is_empty() {
                self.win = crate::lpm::mem::HugeWords::zeroed(1 << Self::WIN);
            }
            self.win[i & ((1 << Self::WIN) - 1)] = v;
            return;
        }
        let r = i >> Self::CHUNK;
        let mut c = self.coarse[r];
        if c & TAGS == 0 {
            if c == v {
                return;
            }
            let size = 1usize << Self::CHUNK;
            let k = match self.free_chunks.pop() {
                Some(k) => k,
                None => {
                    let k = self.chunks.len() >> Self::CHUNK;
                    crate::lpm::mem::reserve(&mut self.chunks, size);
                    self.chunks.resize(self.chunks.len() + size, 0);
                    k as u32
                }
            };
            let at = (k as usize) << Self::CHUNK;
            self.chunks[at..at + size].fill(c);
            c = TAGS | k;
            self.coarse[r] = c;
        }
        let mask = (1usize << Self::CHUNK) - 1;
        self.chunks[((c & !TAGS) as usize) << Self::CHUNK | (i & mask)] = v;
    }

    pub(crate) fn bytes(&self) -> usize {
        self.l1.bytes()
            + self.coarse.bytes()
            + (self.chunks.capacity() + self.free_chunks.capacity()) * 4
            + self.win.bytes()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.leaves.capacity() * 4
            + (self.dir.capacity() + self.dir_deep.capacity()) * 4
            + self
                .free_nodes
                .iter()
                .chain(&self.free_leaves)
                .chain(&self.free_units)
                .map(|v| v.capacity() * 4 + std::mem::size_of::<Vec<u32>>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IPv6 first level outside the window: a summary range gets a chunk of words when a
    /// prefix inside it differs from its neighbours, gives it back when the range is one leaf
    /// again, and a freed chunk serves the next range. Inside the window (2000::/3) the words
    /// are dense and the summary is a leaf or `TAGS`. Lookups, visits and relabelling read
    /// through both.
    #[test]
    fn first_level_chunks_and_window() {
        type T = Trie<u128>;
        let mut t = T::new();
        let region = |k: u128| (k >> (128 - <u128 as Key>::COARSE)) as usize;
        let set = |v: u32| move |_: u32| v;
        let chunk = 1usize << T::CHUNK;
        // The default route: every summary word is its leaf, no chunk.
        t.paint(0, 0, true, &set(5));
        assert!(t.chunks.is_empty());
        assert!(t.coarse.iter().all(|&c| c == 5));
        // A /32 in the window: dense words, its range's summary is `TAGS`, no chunk.
        let doc = 0x2001_0db8u128 << 96;
        t.paint(doc, 32, true, &set(7));
        assert!(t.chunks.is_empty());
        assert_eq!(t.coarse[region(doc)], TAGS);
        assert_eq!([t.find(doc | 1), t.find(0x2002u128 << 112)], [7, 5]);
        // A /32 outside it (ULA space): that range alone gets a chunk.
        let ula = 0xfd12_3456u128 << 96;
        t.paint(ula, 32, true, &set(8));
        assert_eq!(t.chunks.len(), chunk);
        assert_eq!(t.coarse[region(ula)], TAGS);
        assert_eq!(t.coarse.iter().filter(|&&c| c & TAGS != 0).count(), 2);
        assert_eq!([t.find(ula | 1), t.find(0xfd13u128 << 112)], [8, 5]);
        // A /20 of another range, and a /12 that covers a whole range (no chunk).
        let other = 0x4a00u128 << 112;
        t.paint(other, 20, true, &set(9));
        t.paint(0x6600u128 << 112, 12, true, &set(11));
        assert_eq!(t.chunks.len(), 2 * chunk);
        assert_eq!(t.coarse[region(0x6600u128 << 112)], 11);
        assert_eq!([t.find(other | 5), t.find(other | 1 << 108)], [9, 5]);
        // Every leaf is seen by a visit, through chunks, window and summary words alike.
        let mut seen = std::collections::BTreeSet::new();
        t.visit(0, 0, &|_| 0, &mut |_, l, _| {
            seen.insert(l);
            false
        });
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), [5, 7, 8, 9, 11]);
        // Relabelling reaches summary leaves, window words and chunk words.
        t.relabel(&|l| l + 100);
        let probes = [
            doc | 1,
            ula | 1,
            0x2002u128 << 112,
            other,
            0x6600u128 << 112,
        ];
        assert_eq!(probes.map(|k| t.find(k)), [107, 108, 105, 109, 111]);
        // The window's /32 goes: its summary is one leaf again.
        t.paint(doc, 32, true, &set(105));
        assert_eq!(t.coarse[region(doc)], 105);
        // The ULA /32 goes: its range is one leaf again and its chunk is freed...
        t.paint(ula, 32, true, &set(105));
        assert_eq!(t.coarse[region(ula)], 105);
        assert_eq!(t.free_chunks, [0]);
        assert_eq!(t.find(ula | 1), 105);
        // ...and serves the next range that needs one.
        let third = 0x5c0fu128 << 112;
        t.paint(third, 16, true, &set(13));
        assert!(t.free_chunks.is_empty());
        assert_eq!(t.coarse[region(third)], TAGS);
        assert_eq!(t.chunks.len(), 2 * chunk);
        assert_eq!(
            [t.find(third), t.find(third - 1), t.find(other)],
            [13, 105, 109]
        );
    }
}
