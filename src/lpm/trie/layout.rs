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

/// First-level word with both bits (only where [`Key::DIR2`] is not 0): a second-level
/// direct block, `2^DIR2` words (leaf, flat block or node reference, as in the first level)
/// indexed by the next `DIR2` bits. A first-level IPv6 node with at least [`DIR_MIN`] nodes
/// two levels below it becomes one, so that a walk starts `DIR2` bits deeper at the cost of
/// one plain indexed read instead of two popcount steps.
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
    pub(crate) l1: crate::lpm::mem::HugeWords,
    /// Summary of `l1` (see [`Key::COARSE`]): a leaf when every word of its range is that
    /// leaf, `TAGS` (both tag bits) otherwise.
    pub(super) coarse: crate::lpm::mem::HugeWords,
    pub(crate) nodes: Vec<Node>,
    pub(crate) leaves: Vec<u32>,
    /// The second-level direct blocks (see [`DIR`]), `2^DIR2` words each.
    pub(crate) dir: Vec<u32>,
    /// Per block: how many of its words are not leaves (when none are, the block may
    /// shrink back to a flat block).
    pub(super) dir_deep: Vec<u32>,
    pub(super) free_dir: Vec<u32>,
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
/// with `lpm_compare`: as fast as a build with `-C target-feature=+popcnt`, and about 25%
/// faster (IPv4 in-table keys) than calling out to a `popcnt`-enabled function.
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
            nodes: Vec::new(),
            leaves: Vec::new(),
            dir: Vec::new(),
            dir_deep: Vec::new(),
            free_dir: Vec::new(),
            free_nodes: vec![Vec::new(); 65],
            free_leaves: vec![Vec::new(); 67],
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
    }

    pub(crate) fn bytes(&self) -> usize {
        self.l1.bytes()
            + self.coarse.bytes()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.leaves.capacity() * 4
            + (self.dir.capacity() + self.dir_deep.capacity() + self.free_dir.capacity()) * 4
            + self
                .free_nodes
                .iter()
                .chain(&self.free_leaves)
                .map(|v| v.capacity() * 4 + std::mem::size_of::<Vec<u32>>())
                .sum::<usize>()
    }
}
