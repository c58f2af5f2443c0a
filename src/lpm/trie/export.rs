//! Region export: copies of a trie's first-level regions in an arena whose blocks never
//! change once written, and lookups in them over raw pointers.
//!
//! The region-export form of [`SharedFib`](crate::lpm::SharedFib) (the
//! design is in `lpm/shared.rs`'s module docs): the writer keeps one private trie and
//! changes it in place; readers look up in a published first level whose words name blocks
//! of an [`Arena`]. At a publish, each first-level region that a staged change covers has its
//! subtree copied from the private trie into new arena blocks ([`Arena::export`]); the words
//! they replace go to a retire list ([`Arena::retire`]) and their blocks back to the free
//! lists once no reader can reach them ([`Arena::reclaim`]). A block is never written while
//! it is reachable from a published word, and the arena's buffers never move (a fixed
//! capacity: [`Full`] when it runs out, and the caller exports everything into a larger
//! one), so a reader's raw pointers stay valid for as long as the protocol keeps it in its
//! version.
//!
//! `SharedFib` is built on it: the [`Exporter`] holds two [`Level`]s and the lag between them
//! (the words of the last publish, written into the other level once readers have left it),
//! and readers look up through a [`View`]. An arena is sized a quarter above the trie's
//! arrays, and replaced by one a quarter larger when it runs out (none did over three
//! replays of the RIS IPv4 update stream, published every 1,024 changes).
//!
//! Measured with the harness at the end of this file (`cargo test --release --lib --
//! --ignored export_harness --nocapture`; 2026-12-07, an Intel Xeon VM with 2 MiB of L2 per
//! core; three runs of 5 rounds, the first round of each left out as a warm-up):
//! - the whole full IPv4 table exported in 3.5-3.7 ms, into 1.29 M leaf words (the trie's
//!   array: 1.35 M; no region of this table holds a node). Single-threaded, [`View::find`]
//!   made 1.09-1.23x [`Fib::lookup`](crate::lpm::Fib::lookup)'s in-table lookups in most
//!   builds of the harness, and 0.84-0.93x in one that timed two more variants in the same
//!   function: about a `Fib`'s speed, within what the loop's code generation moves. A view
//!   of an export made in a random region order measured the same as the ordered one.
//! - a reader on core 0 looking up in-table addresses one at a time with `SharedFib`'s
//!   protocol while a writer on core 1 replays the RIS update stream three times
//!   ([`Exporter`]: mark, catch up, export and publish every 1,024 changes): reader
//!   0.83-0.95x a lone `Fib`'s lookups, writer 0.55-0.61x a lone `Fib`'s replay, where
//!   today's `SharedFib`, in the same rounds, made 0.60-0.69x and 0.37-0.42x. Memory: the
//!   private `Fib` (7.0 MiB) and 7.6 MiB beside it (arena and two levels): about 2.1x a
//!   lone `Fib`, where the pair takes 2.01x. The writer's share that is not the `Fib`'s own
//!   work is the export (a copy of each changed region's block, about 265 regions a batch;
//!   deduplicating them with a sort instead of a bitmap cost as much as the copies) and the
//!   level writes. The harness's writer spins where `SharedFib` would defer; with the reader
//!   busy, it waited a lookup at most.
//!
//! IPv6 (`cargo test --release --lib -- --ignored export_v6_counts --nocapture`): a batch
//! of 1,024 real IPv6 updates changes about 62 first-level regions (up to 122), 61 of them
//! under a second-level block (all 154 blocks of the full table are dense: 4,096 words,
//! 16 KiB), and 187 second-level words under those. Each level has a block of its own for
//! each region that has one: the export writes the changed words into the writer's level's
//! block in place ([`Arena::export_dir_into`]), and the catch-up writes the same words into
//! the other level's block once readers have left it; under each changed word only the nodes
//! on the changed prefixes' paths are copied ([`Arena::export_path`]; the other children are
//! shared by both levels). Measured, the writer alone (no reader; a throwaway bench through
//! `SharedFib`, 5 rounds alternated with a lone `Fib`, medians, 2026-12-07): 0.46-0.47x a
//! lone `Fib`'s replay of the stream; before each level had its own blocks (a block copied
//! whole, 16 KiB, then its changed words, for each changed region and publish: 1 MiB a
//! batch, the largest cost in a profile): 0.29x; the left-right pair `SharedFib` was
//! before: 0.55x. Memory: 2.09x a lone `Fib` (the blocks twice: 4.8 MiB). What a profile
//! shows left: the path copies, the marks, the `Fib`'s own work.

use std::alloc::Layout;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::ptr::NonNull;

use super::flat::{parts, BASE_MASK, LINES_V4};
use super::layout::{popcount, upto, Node, Trie, DIR, FLAT, NODE, TAGS};
use super::lookup::prefetch;
use super::second::{DENSE, DENSE_UNITS, UNIT, UNIT_MASK};
use crate::lpm::key::Key;

/// How many regions ahead [`Exporter::export`] asks for the lines of the next ones.
const AHEAD: usize = 8;

/// The arena is full: export everything into a larger one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Full;

/// A buffer of `cap` elements that never moves, written only through `&mut self` at places
/// no reader reaches, read by readers only through raw pointers (no reference to its
/// contents is ever made, so a write elsewhere in it is no conflict).
struct Raw<T: Copy> {
    ptr: NonNull<T>,
    cap: usize,
}

// SAFETY: the buffer is owned like a `Vec<T>`; readers reach it only through raw pointers
// under the publish protocol of its user.
unsafe impl<T: Copy + Send> Send for Raw<T> {}
// SAFETY: `&Raw` gives out nothing but its pointer.
unsafe impl<T: Copy + Sync> Sync for Raw<T> {}

impl<T: Copy> Raw<T> {
    fn layout(cap: usize) -> Layout {
        Layout::from_size_align(cap.max(1) * std::mem::size_of::<T>(), 64)
            .expect("lpm: arena too large")
    }

    /// `cap` elements, uninitialised (large buffers are then only reserved address space
    /// until written); `zero` writes zero bytes over them all.
    fn new(cap: usize, zero: bool) -> Raw<T> {
        let layout = Self::layout(cap);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe {
            if zero {
                std::alloc::alloc_zeroed(layout)
            } else {
                std::alloc::alloc(layout)
            }
        } as *mut T;
        let Some(ptr) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        crate::lpm::mem::advise_huge(raw as *const u8, layout.size());
        Raw { ptr, cap }
    }

    /// Asks for the line of element `i` (a hint: no bounds check, it never faults).
    #[inline(always)]
    fn hint(&self, i: usize) {
        prefetch(self.ptr.as_ptr().wrapping_add(i));
    }

    /// Element `i`, written before (by `set`).
    #[inline(always)]
    fn get(&self, i: usize) -> T {
        assert!(i < self.cap, "lpm: arena index out of range");
        // SAFETY: in bounds; the callers read only elements they wrote.
        unsafe { self.ptr.as_ptr().add(i).read() }
    }

    /// Copies elements `from..from + n` to `to..to + n` (not overlapping): `to..` only where
    /// no reader can read.
    fn copy(&mut self, from: usize, to: usize, n: usize) {
        assert!(
            from.max(to) + n <= self.cap && (from + n <= to || to + n <= from),
            "lpm: arena copy out of range"
        );
        // SAFETY: both ranges in bounds and disjoint; the buffer is ours (`&mut self`).
        unsafe {
            let p = self.ptr.as_ptr();
            std::ptr::copy_nonoverlapping(p.add(from), p.add(to), n);
        }
    }

    /// Sets element `i`: only where no reader can read (a block not yet published, or
    /// retired and reclaimed).
    #[inline(always)]
    fn set(&mut self, i: usize, v: T) {
        assert!(i < self.cap, "lpm: arena index out of range");
        // SAFETY: in bounds, and the buffer is ours (`&mut self`); no reference to it exists.
        unsafe { self.ptr.as_ptr().add(i).write(v) }
    }
}

impl<T: Copy> Drop for Raw<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed only here.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.cap)) }
    }
}

/// A first level for readers: `2^K::DIRECT` words naming leaves and arena blocks, zero at
/// first (no match).
pub(crate) struct Level {
    words: Raw<u32>,
}

impl Level {
    /// Dense, with or without a summary level in the trie (IPv6: 1 MiB, where the trie's
    /// summary and window take 0.13 MiB).
    pub(crate) fn new<K: Key>() -> Level {
        Level {
            words: Raw::new(1 << K::DIRECT, true),
        }
    }

    /// Word `i`.
    pub(crate) fn get(&self, i: usize) -> u32 {
        self.words.get(i)
    }

    /// Asks for the line of word `i` (a hint for a later [`Level::get`]).
    #[inline(always)]
    fn hint(&self, i: usize) {
        self.words.hint(i)
    }

    /// Sets word `i`: only while no reader looks up in this level.
    pub(crate) fn set(&mut self, i: usize, w: u32) {
        self.words.set(i, w)
    }
}

/// The first-level regions that a change to prefix `key/len` may change.
pub(crate) fn regions<K: Key>(key: K, len: u32) -> Range<usize> {
    let lo = key.top();
    if len >= K::DIRECT {
        lo..lo + 1
    } else {
        let lo = lo & !((1usize << (K::DIRECT - len)) - 1);
        lo..lo + (1 << (K::DIRECT - len))
    }
}

/// What a retired block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Nodes,
    Leaves,
    /// A flat block, by its word (its size is read from its header when it is freed).
    Flat,
    /// A dense second-level block (its first unit).
    Dir,
}

/// Words a 64-byte line holds.
const LINE: usize = 16;

/// Blocks of nodes and leaves that readers may be reading, allocated from fixed buffers
/// through per-size free lists (as the trie's own arrays are, with the same line rule for
/// leaf blocks), and freed only through the retire list.
pub(crate) struct Arena {
    nodes: Raw<Node>,
    leaves: Raw<u32>,
    /// Second-level blocks (IPv6), dense ([`DENSE_BLOCK`] words each), and the free ones.
    dirs: Raw<u32>,
    dir_top: usize,
    free_dirs: Vec<u32>,
    /// Elements handed out so far (the rest of each buffer was never written).
    node_top: usize,
    leaf_top: usize,
    /// Free blocks by element count.
    free_nodes: Vec<Vec<u32>>,
    free_leaves: Vec<Vec<u32>>,
    /// Blocks of retired words: `(kind, base, count)`.
    retired: Vec<(Kind, u32, u32)>,
    /// Elements in blocks that are neither free nor retired.
    in_use: (usize, usize),
    hw: bool,
}

/// The largest block: a flat block in the lines form, 5 lines of which the last holds at
/// most 14 runs after its header (a node's leaves are at most 64 words, a flat block in the
/// runs form 66).
const MAX_BLOCK: usize = 16 * 4 + 2 + 14;

/// Words of a dense second-level block.
const DENSE_BLOCK: usize = DENSE_UNITS * UNIT;

impl Arena {
    /// An arena for at most `nodes` nodes, `leaves` leaf words and `dirs` second-level
    /// blocks.
    pub(crate) fn new(nodes: usize, leaves: usize, dirs: usize) -> Arena {
        assert!(
            nodes < NODE as usize
                && leaves <= BASE_MASK as usize
                && dirs * DENSE_UNITS <= UNIT_MASK as usize,
            "lpm: arena too large"
        );
        Arena {
            nodes: Raw::new(nodes, false),
            leaves: Raw::new(leaves, false),
            dirs: Raw::new(dirs * DENSE_BLOCK, false),
            dir_top: 0,
            free_dirs: Vec::new(),
            node_top: 0,
            leaf_top: 0,
            free_nodes: vec![Vec::new(); MAX_BLOCK + 1],
            free_leaves: vec![Vec::new(); MAX_BLOCK + 1],
            retired: Vec::new(),
            in_use: (0, 0),
            hw: super::layout::cpu_has_popcnt(),
        }
    }

    /// Elements in use (nodes, leaf words): neither free nor retired.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> (usize, usize) {
        self.in_use
    }

    /// Elements ever handed out (nodes, leaf words): the high-water mark.
    #[cfg(test)]
    pub(crate) fn touched(&self) -> (usize, usize) {
        (self.node_top, self.leaf_top)
    }

    fn alloc_nodes(&mut self, n: usize) -> Result<u32, Full> {
        self.in_use.0 += n;
        if let Some(i) = self.free_nodes[n].pop() {
            return Ok(i);
        }
        let i = self.node_top;
        if i + n > self.nodes.cap {
            self.in_use.0 -= n;
            return Err(Full);
        }
        self.node_top += n;
        Ok(i as u32)
    }

    /// `n` leaf words; a block of at most a line never straddles two, a longer one starts a
    /// line (as `Trie::alloc_leaves` places them: a flat block's header and its leaf are
    /// then one read).
    fn alloc_leaves(&mut self, n: usize) -> Result<u32, Full> {
        if let Some(i) = self.free_leaves[n].pop() {
            self.in_use.1 += n;
            return Ok(i);
        }
        let mut i = self.leaf_top;
        let pos = i % LINE;
        let gap = if (n <= LINE && pos + n > LINE) || (n > LINE && pos != 0) {
            LINE - pos
        } else {
            0
        };
        if i + gap + n > self.leaves.cap {
            return Err(Full);
        }
        if gap > 0 {
            self.free_leaves[gap].push(i as u32);
            i += gap;
        }
        self.leaf_top = i + n;
        self.in_use.1 += n;
        Ok(i as u32)
    }

    /// A dense second-level block: its first unit.
    fn alloc_dir(&mut self) -> Result<u32, Full> {
        if let Some(u) = self.free_dirs.pop() {
            return Ok(u);
        }
        if (self.dir_top + 1) * DENSE_BLOCK > self.dirs.cap {
            return Err(Full);
        }
        self.dir_top += 1;
        Ok(((self.dir_top - 1) * DENSE_UNITS) as u32)
    }

    /// Word `j` of the arena's second-level block of word `e`.
    fn dir_get(&self, e: u32, j: usize) -> u32 {
        self.dirs.get((e & UNIT_MASK) as usize * UNIT + j)
    }

    /// A copy of first-level word `e` of trie `t` for readers: the same leaf, or a reference
    /// to new arena blocks holding a copy of the block or subtree that `e` names. On
    /// [`Full`], blocks taken by this copy are not given back (the caller replaces the
    /// arena).
    pub(crate) fn export<K: Key>(&mut self, t: &Trie<K>, e: u32) -> Result<u32, Full> {
        if K::DIR2 > 0 && e & TAGS == DIR {
            assert!(
                e & DENSE != 0,
                "lpm: region export reads dense second-level blocks only"
            );
            let at = self.alloc_dir()?;
            for j in 0..1usize << K::DIR2 {
                let w = self.export_sub(t, t.dir_word(e, j))?;
                self.dirs.set(at as usize * UNIT + j, w);
            }
            return Ok((e & !UNIT_MASK) | at);
        }
        self.export_sub(t, e)
    }

    /// Brings `old`, the arena's copy of trie word `e` (a second-level block) as exported
    /// last, up to date in place: the words `changed` marks are exported anew (and the
    /// blocks their old copies name retired), each given to `out` with its index; the
    /// others stay (the blocks they name are shared with the other level's copy of the
    /// block). Only for a block that no reader can reach (each level has its own copy of
    /// each block). Returns the word naming it.
    fn export_dir_into<K: Key>(
        &mut self,
        t: &Trie<K>,
        e: u32,
        old: u32,
        changed: &[[u64; 64]; 2],
        changes: &[(K, u32)],
        mut out: impl FnMut(usize, u32),
    ) -> Result<u32, Full> {
        debug_assert!(K::DIR2 > 0 && e & TAGS == DIR && old & TAGS == DIR);
        assert!(
            e & DENSE != 0,
            "lpm: region export reads dense second-level blocks only"
        );
        let to = (old & UNIT_MASK) as usize * UNIT;
        let deep = K::DIRECT + K::DIR2;
        for (g, &bits) in changed[0].iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let j = g << 6 | bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let whole = changed[1][g] >> (j & 63) & 1 != 0;
                let (now, was) = (t.dir_word(e, j), self.dirs.get(to + j));
                let lo = changes.partition_point(|&(k, _)| k.bits_at(K::DIRECT, K::DIR2) < j);
                let hi = changes.partition_point(|&(k, _)| k.bits_at(K::DIRECT, K::DIR2) <= j);
                let rel = &changes[lo..hi];
                let w = if now & TAGS == NODE && was & TAGS == NODE && !whole && !rel.is_empty() {
                    let (n, o) = (now & !NODE, was & !NODE);
                    let copy = self.export_path(
                        t,
                        t.nodes[n as usize],
                        self.nodes.get(o as usize),
                        deep,
                        rel,
                    )?;
                    let i = self.alloc_nodes(1)?;
                    self.nodes.set(i as usize, copy);
                    self.retired.push((Kind::Nodes, o, 1));
                    NODE | i
                } else {
                    let w = self.export_sub(t, now)?;
                    self.retire(was);
                    w
                };
                self.dirs.set(to + j, w);
                out(j, w);
            }
        }
        Ok((e & !UNIT_MASK) | (old & UNIT_MASK))
    }

    /// A second-level block of its own for word `e` (a copy of `e`'s: the same words, so
    /// the blocks they name are shared), for the other level.
    fn copy_dir(&mut self, e: u32) -> Result<u32, Full> {
        let at = self.alloc_dir()?;
        self.dirs.copy(
            (e & UNIT_MASK) as usize * UNIT,
            at as usize * UNIT,
            DENSE_BLOCK,
        );
        Ok((e & !UNIT_MASK) | at)
    }

    /// Frees the second-level block of word `e` alone at once (its words name blocks that
    /// the other level's copy names too): only a block that no reader can reach.
    fn free_dir(&mut self, e: u32) {
        self.free_dirs.push(e & UNIT_MASK);
    }

    /// [`Arena::export`] of a word that is not a second-level block's.
    fn export_sub<K: Key>(&mut self, t: &Trie<K>, e: u32) -> Result<u32, Full> {
        assert!(
            K::DIR2 > 0 || !LINES_V4,
            "lpm: region export reads IPv4 flat blocks in the runs form"
        );
        if e & TAGS == 0 {
            return Ok(e);
        }
        if e & FLAT != 0 {
            let at = self.copy_leaves(t, e & BASE_MASK, t.flat_size(e))?;
            return Ok((e & !BASE_MASK) | at);
        }
        let node = self.export_node(t, t.nodes[(e & !NODE) as usize])?;
        let at = self.alloc_nodes(1)?;
        self.nodes.set(at as usize, node);
        Ok(NODE | at)
    }

    /// Words of the flat block of arena word `e` (as `Trie::flat_size`).
    fn flat_size(&self, e: u32) -> usize {
        let (b, k) = parts(e);
        let k = k as usize;
        let last = b + 16 * k.saturating_sub(1);
        let header = self.leaves.get(last) as u64 | (self.leaves.get(last + 1) as u64) << 32;
        16 * k.saturating_sub(1) + 2 + header.count_ones() as usize
    }

    /// A copy of the `n` leaf words of `t` from `from` (`from` itself when `n` is 0: a node
    /// with no leaves keeps its `base0`).
    fn copy_leaves<K: Key>(&mut self, t: &Trie<K>, from: u32, n: usize) -> Result<u32, Full> {
        if n == 0 {
            return Ok(from);
        }
        let at = self.alloc_leaves(n)?;
        for (j, &w) in t.leaves[from as usize..from as usize + n]
            .iter()
            .enumerate()
        {
            self.leaves.set(at as usize + j, w);
        }
        Ok(at)
    }

    /// A copy of node `n` of `t`, its leaves and children copied into the arena.
    fn export_node<K: Key>(&mut self, t: &Trie<K>, n: Node) -> Result<Node, Full> {
        if n.is_inline() {
            return Ok(n);
        }
        let mut copy = n;
        copy.base0 = self.copy_leaves(t, n.base0, n.leafvec.count_ones() as usize)?;
        let kids = n.vector.count_ones() as usize;
        if kids > 0 {
            copy.base1 = self.alloc_nodes(kids)?;
            for j in 0..kids {
                let kid = self.export_node(t, t.nodes[n.base1 as usize + j])?;
                self.nodes.set(copy.base1 as usize + j, kid);
            }
        }
        Ok(copy)
    }

    /// Retires the blocks that word `e` (from [`Arena::export`]) reaches: they are freed by
    /// the next [`Arena::reclaim`].
    pub(crate) fn retire(&mut self, e: u32) {
        if e & TAGS == DIR {
            for j in 0..DENSE_BLOCK {
                self.retire(self.dir_get(e, j));
            }
            self.retire_dir(e);
            return;
        }
        if e & TAGS == 0 {
            return;
        }
        if e & FLAT != 0 {
            // Its size is read at `reclaim`, where the headers of all the blocks retired
            // are asked for at once; read here, each would be a miss that holds up the
            // export (measured: a tenth of the IPv4 writer's time).
            self.retired.push((Kind::Flat, e, 0));
            return;
        }
        let i = e & !NODE;
        let n = self.nodes.get(i as usize);
        self.retire_node(n);
        self.retired.push((Kind::Nodes, i, 1));
    }

    /// Retires the second-level block of word `e` alone (not what its words name).
    fn retire_dir(&mut self, e: u32) {
        self.retired.push((Kind::Dir, e & UNIT_MASK, 1));
    }

    /// A copy of trie node `n` (at depth `d`) over `old`, the arena's copy of it as
    /// exported last: along the paths of `changes` (the prefixes changed since, sorted,
    /// all under this node) nodes are copied anew from the trie; elsewhere the children of
    /// `old` are kept (both copies then name them), as the trie left them unchanged. What
    /// only `old` named on those paths, and its own arrays, are retired.
    fn export_path<K: Key>(
        &mut self,
        t: &Trie<K>,
        n: Node,
        old: Node,
        d: u32,
        changes: &[(K, u32)],
    ) -> Result<Node, Full> {
        if n.is_inline() || old.is_inline() || changes.iter().any(|&(_, l)| l <= d) {
            let copy = self.export_node(t, n)?;
            self.retire_node(old);
            return Ok(copy);
        }
        // The positions a change covers at this node (its children there are copied whole).
        let mut covered = 0u64;
        for &(k, l) in changes.iter().filter(|&&(_, l)| l <= d + 6) {
            let span = 1u32 << (d + 6 - l);
            covered |= (u64::MAX >> (64 - span)) << k.stride_at(d);
        }
        let mut copy = n;
        copy.base0 = self.copy_leaves(t, n.base0, n.leafvec.count_ones() as usize)?;
        let kids = n.vector.count_ones() as usize;
        if kids > 0 {
            copy.base1 = self.alloc_nodes(kids)?;
        }
        let mut left = n.vector;
        for slot in 0..kids {
            let p = left.trailing_zeros() as usize;
            left &= left - 1;
            let kid = t.nodes[n.base1 as usize + slot];
            let lo = changes.partition_point(|&(k, _)| k.stride_at(d) < p);
            let hi = changes.partition_point(|&(k, _)| k.stride_at(d) <= p);
            let rel = &changes[lo..hi];
            let was = (old.vector >> p & 1 != 0).then(|| {
                let i = old.base1 as usize + popcount(old.vector & upto(p), self.hw) as usize - 1;
                self.nodes.get(i)
            });
            let child = match was {
                Some(was) if covered >> p & 1 == 0 && rel.is_empty() => was,
                Some(was) if covered >> p & 1 == 0 => self.export_path(t, kid, was, d + 6, rel)?,
                _ => {
                    if let Some(was) = was {
                        self.retire_node(was);
                    }
                    self.export_node(t, kid)?
                }
            };
            self.nodes.set(copy.base1 as usize + slot, child);
        }
        // The children `old` had where the trie has none now.
        let mut gone = old.vector & !n.vector;
        while gone != 0 {
            let p = gone.trailing_zeros() as usize;
            gone &= gone - 1;
            let i = old.base1 as usize + popcount(old.vector & upto(p), self.hw) as usize - 1;
            self.retire_node(self.nodes.get(i));
        }
        let (runs, kids) = (old.leafvec.count_ones(), old.vector.count_ones());
        if runs > 0 {
            self.retired.push((Kind::Leaves, old.base0, runs));
        }
        if kids > 0 {
            self.retired.push((Kind::Nodes, old.base1, kids));
        }
        Ok(copy)
    }

    fn retire_node(&mut self, n: Node) {
        if n.is_inline() {
            return;
        }
        let runs = n.leafvec.count_ones();
        if runs > 0 {
            self.retired.push((Kind::Leaves, n.base0, runs));
        }
        let kids = n.vector.count_ones();
        for j in 0..kids {
            let kid = self.nodes.get((n.base1 + j) as usize);
            self.retire_node(kid);
        }
        if kids > 0 {
            self.retired.push((Kind::Nodes, n.base1, kids));
        }
    }

    /// Frees every retired block: call only once no reader can reach any of them (no
    /// published word names them, and every reader has shown a version that does not).
    pub(crate) fn reclaim(&mut self) {
        for &(kind, e, _) in &self.retired {
            if kind == Kind::Flat {
                self.retire_hint(e);
            }
        }
        let mut retired = std::mem::take(&mut self.retired);
        for (kind, base, n) in retired.drain(..) {
            let (base, n) = match kind {
                Kind::Nodes => {
                    self.free_nodes[n as usize].push(base);
                    self.in_use.0 -= n as usize;
                    continue;
                }
                Kind::Dir => {
                    self.free_dirs.push(base);
                    continue;
                }
                Kind::Leaves => (base, n as usize),
                Kind::Flat => (base & BASE_MASK, self.flat_size(base)),
            };
            self.free_leaves[n].push(base);
            self.in_use.1 -= n;
        }
        self.retired = retired;
    }

    /// Asks for the line of the (last) header of flat block `e` (a hint for
    /// [`Arena::flat_size`]).
    #[inline(always)]
    fn retire_hint(&self, e: u32) {
        let (b, k) = parts(e);
        self.leaves.hint(b + 16 * (k as usize).saturating_sub(1));
    }

    /// The view of level `l` over this arena.
    pub(crate) fn view(&self, l: &Level) -> View {
        View {
            l1: l.words.ptr.as_ptr(),
            nodes: self.nodes.ptr.as_ptr(),
            leaves: self.leaves.ptr.as_ptr(),
            dirs: self.dirs.ptr.as_ptr(),
            hw: self.hw,
        }
    }
}

/// The writer's side of the region export: two [`Level`]s over one [`Arena`] (one level
/// published, the other the writer's), the regions changed since the last export, and
/// the words of the last export that the writer's level lacks.
///
/// A round: [`mark`](Exporter::mark) each change made to the private trie; once no
/// reader can be in the writer's level, [`catch_up`](Exporter::catch_up) (it gets the
/// last export's words, and the blocks that only the level before named are freed); then
/// [`export`](Exporter::export) the marked regions into it, and publish it (readers load
/// [`Exporter::view`] of [`Exporter::live`]).
pub(crate) struct Exporter<K: Key> {
    arena: Arena,
    /// An arena replaced by a larger one ([`Full`]): the live level still names its blocks
    /// until the next catch-up.
    old: Option<Arena>,
    levels: [Level; 2],
    /// The view of each level, at fixed addresses (readers load them through raw
    /// pointers); each written only while no reader can be in its level.
    views: Raw<View>,
    /// The level published last.
    live: usize,
    /// The words of the last export that the other level lacks: `(i, FIRST, e)` for
    /// first-level word `i` (a second-level block named there is the other level's own
    /// copy already), `(i, j, e)` for word `j` of the other level's own block of region
    /// `i`. `None`: all of them (after a rebuild into a larger arena: `spare` is the
    /// other level, made then).
    lag: Option<Vec<(usize, u32, u32)>>,
    /// After a rebuild: the other level, naming the new arena, until the catch-up.
    spare: Option<Level>,
    /// Regions marked since the last export, each once (`marked` has a bit per region).
    dirty: Vec<usize>,
    marked: Vec<u64>,
    /// IPv6: per marked region, what changed in it (a region marked whole has no entry: it
    /// is exported whole).
    words: HashMap<usize, Box<Marks<K>>, BuildHasherDefault<RegionHasher>>,
    /// Entries of `words` given back by the last exports, for the next marks (boxed: an
    /// entry moves between the map and the pool without copying its 1 KiB).
    #[allow(clippy::vec_box)]
    pool: Vec<Box<Marks<K>>>,
    /// Times the arena was replaced by a larger one.
    rebuilds: usize,
}

impl<K: Key> Exporter<K> {
    /// Both levels naming one export of every region of `t`.
    pub(crate) fn new(t: &Trie<K>) -> Exporter<K> {
        let (arena, level, twin) = Self::export_all(t, [0; 3]);
        Self::with(arena, [level, twin])
    }

    /// Both levels empty (no match anywhere), for a table that starts empty: no pass over
    /// the first level.
    pub(crate) fn empty() -> Exporter<K> {
        let arena = Arena::new(1024, Self::slack(), 2);
        Self::with(arena, [Level::new::<K>(), Level::new::<K>()])
    }

    fn with(arena: Arena, levels: [Level; 2]) -> Exporter<K> {
        let mut views = Raw::new(2, false);
        views.set(0, arena.view(&levels[0]));
        views.set(1, arena.view(&levels[1]));
        Exporter {
            arena,
            old: None,
            levels,
            views,
            live: 0,
            lag: Some(Vec::new()),
            spare: None,
            dirty: Vec::new(),
            marked: vec![0; 1 << (K::DIRECT - 6)],
            words: HashMap::default(),
            pool: Vec::new(),
            rebuilds: 0,
        }
    }

    /// A new arena, with room for a quarter more than the trie's nodes and leaf words and
    /// for twice its second-level blocks (one copy per level) and a few more (at least
    /// `floor`: nodes, leaf words, blocks), and two levels naming an export of every region
    /// of `t` into it: the same words, but a second-level block of its own in each.
    fn export_all(t: &Trie<K>, floor: [usize; 3]) -> (Arena, Level, Level) {
        let mut nodes = grow(t.nodes.len() + 1024).max(floor[0]);
        let mut leaves = grow(t.leaves.len() + Self::slack()).max(floor[1]);
        // Second-level blocks come and go rarely (a region needs many long prefixes): a few
        // spare ones (each takes 16 KiB).
        let mut dirs = (2 * t.dir.len() / DENSE_BLOCK + 8).max(floor[2]);
        loop {
            let mut arena = Arena::new(nodes, leaves, dirs);
            let (mut level, mut twin) = (Level::new::<K>(), Level::new::<K>());
            let done = t.l1_words().try_for_each(|(i, w)| {
                let e = arena.export(t, w)?;
                level.set(i, e);
                let other = if K::DIR2 > 0 && e & TAGS == DIR {
                    arena.copy_dir(e)?
                } else {
                    e
                };
                twin.set(i, other);
                Ok::<(), Full>(())
            });
            if done.is_ok() {
                return (arena, level, twin);
            }
            nodes = grow(nodes);
            leaves = grow(leaves);
            dirs = grow(dirs);
        }
    }

    /// Leaf words an arena holds beyond the trie's (and a quarter more). Tests start small,
    /// so that they run out and rebuild; not under Miri, where a rebuild (an export of every
    /// region, and two levels of 2^18 words) is slow.
    fn slack() -> usize {
        if cfg!(test) && !cfg!(miri) {
            64
        } else {
            1 << 16
        }
    }

    /// Marks the regions a change to `key/len` may have changed.
    pub(crate) fn mark(&mut self, key: K, len: u32) {
        for i in regions(key, len) {
            let bit = 1u64 << (i & 63);
            let first = self.marked[i >> 6] & bit == 0;
            if first {
                self.marked[i >> 6] |= bit;
                self.dirty.push(i);
            }
            if K::DIR2 == 0 {
                continue;
            }
            // The second-level words: those of a prefix inside the region; none kept for a
            // region marked whole (by a shorter prefix).
            if len < K::DIRECT {
                self.words.remove(&i);
                continue;
            }
            let m = if first {
                let pool = &mut self.pool;
                self.words
                    .entry(i)
                    .or_insert_with(|| pool.pop().unwrap_or_else(Marks::new))
            } else {
                match self.words.get_mut(&i) {
                    Some(m) => m,
                    None => continue,
                }
            };
            m.changes.push((key, len));
            let j = key.bits_at(K::DIRECT, K::DIR2);
            let deep = K::DIRECT + K::DIR2;
            let n = 1usize << (deep - len.min(deep));
            for q in j..j + n {
                m.words[0][q >> 6] |= 1 << (q & 63);
                if len <= deep {
                    m.words[1][q >> 6] |= 1 << (q & 63);
                }
            }
        }
    }

    /// Regions marked since the last export.
    #[cfg(test)]
    pub(crate) fn marked(&self) -> usize {
        self.dirty.len()
    }

    /// Gives the writer's level the last export's words. Call only once no reader can be
    /// in that level: the blocks retired by the last export (named by the level before it
    /// alone) are then freed, and so is an arena it replaced.
    pub(crate) fn catch_up(&mut self) {
        let o = 1 - self.live;
        match self.lag.take() {
            Some(mut words) => {
                for &(i, j, e) in &words {
                    let cur = self.levels[o].get(i);
                    if j != FIRST {
                        debug_assert_eq!(cur & TAGS, DIR);
                        let at = (cur & UNIT_MASK) as usize * UNIT + j as usize;
                        self.arena.dirs.set(at, e);
                        continue;
                    }
                    if K::DIR2 > 0 && cur & TAGS == DIR {
                        // This level's own block: what its words name was retired with
                        // the other level's copy.
                        self.arena.free_dir(cur);
                    }
                    self.levels[o].set(i, e);
                }
                words.clear();
                self.lag = Some(words);
            }
            None => {
                self.levels[o] = self.spare.take().expect("a rebuild made the other level");
                let v = self.arena.view(&self.levels[o]);
                self.views.set(o, v);
                self.old = None;
                self.lag = Some(Vec::new());
            }
        }
        self.arena.reclaim();
    }

    /// Exports the marked regions of `t` into the writer's level (caught up) and makes it
    /// the live one: the caller publishes [`Exporter::view`] of it. When the arena is full,
    /// every region goes into a larger one (the old one is kept until the next catch-up).
    pub(crate) fn export(&mut self, t: &Trie<K>) -> usize {
        let o = 1 - self.live;
        let mut lag = self.lag.take().unwrap_or_default();
        debug_assert!(lag.is_empty(), "export before catch_up");
        let mut full = false;
        let dirty = std::mem::take(&mut self.dirty);
        for (n, &i) in dirty.iter().enumerate() {
            self.marked[i >> 6] = 0;
            if full {
                continue;
            }
            self.hint_ahead(t, o, &dirty, n);
            let new = if t.l1_ready() { t.l1_get(i) } else { 0 };
            let old = self.levels[o].get(i);
            let mut marks = if K::DIR2 > 0 {
                self.words.remove(&i)
            } else {
                None
            };
            let done = match &mut marks {
                Some(m)
                    if new & TAGS == DIR
                        && old & TAGS == DIR
                        && new & !UNIT_MASK == old & !UNIT_MASK =>
                {
                    // The block of this level, brought up to date in place; the other
                    // level's gets the same words at the catch-up.
                    m.changes.sort_unstable();
                    m.changes.dedup();
                    self.arena
                        .export_dir_into(t, new, old, &m.words, &m.changes, |j, w| {
                            lag.push((i, j as u32, w))
                        })
                }
                _ => self.arena.export(t, new).and_then(|e| {
                    self.arena.retire(old);
                    // The other level gets a block of its own.
                    let other = if K::DIR2 > 0 && e & TAGS == DIR {
                        self.arena.copy_dir(e)?
                    } else {
                        e
                    };
                    lag.push((i, FIRST, other));
                    Ok(e)
                }),
            };
            if let Some(mut m) = marks {
                m.clear();
                self.pool.push(m);
            }
            match done {
                Ok(e) => self.levels[o].set(i, e),
                Err(Full) => full = true,
            }
        }
        self.dirty = dirty;
        self.dirty.clear();
        for (_, mut m) in self.words.drain() {
            m.clear();
            self.pool.push(m);
        }
        if full {
            // Each part at least a quarter more than the full arena had: whichever part ran
            // out, the next export does not run out again at once.
            let a = &self.arena;
            let floor = [
                grow(a.nodes.cap),
                grow(a.leaves.cap),
                grow(a.dirs.cap / DENSE_BLOCK),
            ];
            let (arena, level, twin) = Self::export_all(t, floor);
            self.levels[o] = level;
            self.spare = Some(twin);
            self.old = Some(std::mem::replace(&mut self.arena, arena));
            self.views.set(o, self.arena.view(&self.levels[o]));
            self.lag = None;
            self.rebuilds += 1;
        } else {
            self.lag = Some(lag);
        }
        self.live = o;
        o
    }

    /// Prefetching for the export of region `dirty[n]`, in two stages, so that no hint
    /// waits on a miss: the first-level words (the trie's and level `o`'s) of the region
    /// `2 * AHEAD` on, and the trie's block (which the export copies) of the one `AHEAD` on.
    #[inline(always)]
    fn hint_ahead(&self, t: &Trie<K>, o: usize, dirty: &[usize], n: usize) {
        if !t.l1_ready() {
            return;
        }
        if let Some(&j) = dirty.get(n + 2 * AHEAD) {
            self.levels[o].hint(j);
            t.l1_hint(j);
        }
        if let Some(&j) = dirty.get(n + AHEAD) {
            t.block_hint(t.l1_get(j));
        }
    }

    /// The level published last.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// The address of level `i`'s view (fixed for the exporter's life).
    pub(crate) fn view(&self, i: usize) -> *const View {
        assert!(i < 2);
        self.views.ptr.as_ptr().wrapping_add(i)
    }

    /// Heap bytes: the arenas (allocated, written or not), the levels and the scratch
    /// lists.
    pub(crate) fn bytes(&self) -> usize {
        let arena = |a: &Arena| {
            a.nodes.cap * std::mem::size_of::<Node>()
                + a.leaves.cap * 4
                + a.dirs.cap * 4
                + a.retired.capacity() * 12
                + a.free_nodes
                    .iter()
                    .chain(&a.free_leaves)
                    .map(|v| v.capacity() * 4)
                    .sum::<usize>()
        };
        arena(&self.arena)
            + self.old.as_ref().map_or(0, arena)
            + 2 * (4 << K::DIRECT)
            + self.spare.as_ref().map_or(0, |_| 4 << K::DIRECT)
            + self.lag.as_ref().map_or(0, |l| l.capacity() * 16)
            + self.dirty.capacity() * 8
            + self.marked.len() * 8
            + self.words.capacity() * 17
            + self
                .words
                .values()
                .chain(&self.pool)
                .map(|m| {
                    std::mem::size_of::<Marks<K>>()
                        + m.changes.capacity() * std::mem::size_of::<(K, u32)>()
                })
                .sum::<usize>()
    }
}

/// What changed in one first-level region with second-level words (IPv6) since the last
/// export.
struct Marks<K: Key> {
    /// The second-level words changed, and those a change covers whole.
    words: [[u64; 64]; 2],
    /// The prefixes changed (sorted at the export), which guide the copy of the node paths
    /// under the changed words.
    changes: Vec<(K, u32)>,
}

impl<K: Key> Marks<K> {
    fn new() -> Box<Marks<K>> {
        Box::new(Marks {
            words: [[0; 64]; 2],
            changes: Vec::new(),
        })
    }

    /// Nothing marked (the space kept).
    fn clear(&mut self) {
        self.words = [[0; 64]; 2];
        self.changes.clear();
    }
}

/// The hash of a region number for [`Exporter`]'s map of marks (a multiplication: the
/// numbers are the writer's own, and SipHash would cost a tenth of its marking).
#[derive(Default)]
struct RegionHasher(u64);

impl Hasher for RegionHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0 ^ i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// In [`Exporter`]'s lag: an entry for a first-level word.
const FIRST: u32 = u32::MAX;

/// A quarter more than `n` (at least one more): the room an arena leaves for the blocks a
/// batch writes before the ones it replaces are freed, and for free lists of other sizes.
fn grow(n: usize) -> usize {
    n + n / 4 + 1
}

/// What a lookup reads: a [`Level`] and the [`Arena`] its words name, as raw pointers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    l1: *const u32,
    nodes: *const Node,
    leaves: *const u32,
    dirs: *const u32,
    hw: bool,
}

// SAFETY: a view is only addresses; every read through them is in `find`, whose contract
// (nothing it reaches is written during the call, on any thread) the caller keeps.
unsafe impl Send for View {}
// SAFETY: as above.
unsafe impl Sync for View {}

impl View {
    /// The leaf (0: no match) for `key`, as [`Trie::find`] gives it in the trie exported.
    ///
    /// # Safety
    /// The level and arena of the view are alive, and none of the words and blocks it
    /// reaches is written during the call (their writer publishes a level only once the
    /// blocks it names are written, and reuses a block only once no reader can reach it).
    ///
    /// The form of population count is chosen once, here: a reader loads the view at every
    /// lookup, so the test of `hw` cannot leave its loop as a lone `Fib`'s does, and tested at
    /// each count (with a call to the portable count on the other side) it made a reader's
    /// lookups about a fifth slower.
    #[inline(always)]
    pub(crate) unsafe fn find<K: Key>(&self, key: K) -> u32 {
        // SAFETY: the caller's contract.
        unsafe {
            if self.hw {
                self.find_as::<K, true>(key)
            } else {
                self.find_as::<K, false>(key)
            }
        }
    }

    /// [`find`](View::find) with the population count `HW` chooses (`hw` or not).
    ///
    /// # Safety
    /// As for [`find`](View::find); and `HW` is true only where the CPU has `popcnt` (the
    /// view's `hw`: `popcount` then emits the instruction), as in [`below`](View::below) and
    /// [`walk`](View::walk), which take it from here.
    #[inline(always)]
    unsafe fn find_as<K: Key, const HW: bool>(&self, key: K) -> u32 {
        // SAFETY: the caller's contract.
        unsafe {
            let (e, d) = self.upper(key);
            if e & TAGS == 0 {
                return e;
            }
            self.below::<K, HW>(e, key, d)
        }
    }

    /// The leaves for `N` keys (`key_of(0..N)`), as [`find`](View::find) gives each: the
    /// first-level (and second-level) words of all of them first, each asking for the block
    /// line or node it leads to, then the blocks. The misses of independent keys overlap.
    ///
    /// # Safety
    /// As for [`find`](View::find).
    #[inline(always)]
    pub(crate) unsafe fn find_group<K: Key, const N: usize>(
        &self,
        key_of: impl Fn(usize) -> K,
    ) -> [u32; N] {
        let mut word = [0u32; N];
        let mut depth = [0u32; N];
        for i in 0..N {
            let key = key_of(i);
            // SAFETY: the caller's contract.
            let (e, d) = unsafe { self.upper(key) };
            (word[i], depth[i]) = (e, d);
            if e & TAGS == 0 {
                continue;
            }
            if e & FLAT != 0 {
                prefetch(
                    self.leaves
                        .wrapping_add(Self::line::<K>(e, key.stride_at(d))),
                );
            } else {
                prefetch(self.nodes.wrapping_add((e & !NODE) as usize));
            }
        }
        let mut res = [0u32; N];
        for i in 0..N {
            let e = word[i];
            res[i] = if e & TAGS == 0 {
                e
            } else {
                // SAFETY: the caller's contract.
                unsafe {
                    if self.hw {
                        self.below::<K, true>(e, key_of(i), depth[i])
                    } else {
                        self.below::<K, false>(e, key_of(i), depth[i])
                    }
                }
            };
        }
        res
    }

    /// The word `key` finds in the levels (the first, and under a second-level block the
    /// second), and the depth below it.
    #[inline(always)]
    unsafe fn upper<K: Key>(&self, key: K) -> (u32, u32) {
        // SAFETY (of each read): `top()` is below `2^DIRECT`, the level's length; every
        // other index comes from a word or node of the export, which names only blocks it
        // wrote whole (a flat block's header and runs, a node's leaves and children).
        let e = unsafe { *self.l1.add(key.top()) };
        if K::DIR2 > 0 && e & TAGS == DIR {
            let j = key.bits_at(K::DIRECT, K::DIR2);
            // SAFETY: as above (a dense block of `2^DIR2` words).
            let e = unsafe { *self.dirs.add((e & UNIT_MASK) as usize * UNIT + j) };
            return (e, K::DIRECT + K::DIR2);
        }
        (e, K::DIRECT)
    }

    /// The line of a flat block (word `e`) that holds position `p`: the block's start in
    /// the runs form, the only IPv4 form (no multiply there).
    #[inline(always)]
    fn line<K: Key>(e: u32, p: usize) -> usize {
        let (b, k) = parts(e);
        if K::DIR2 == 0 {
            b
        } else {
            b + (((p * k as usize) >> 6) << 4)
        }
    }

    /// The leaf below block or node word `e` (not a leaf), at depth `d`.
    #[inline(always)]
    unsafe fn below<K: Key, const HW: bool>(&self, e: u32, key: K, d: u32) -> u32 {
        let p = key.stride_at(d);
        if e & FLAT != 0 {
            let line = Self::line::<K>(e, p);
            // SAFETY: as in `upper`.
            unsafe {
                let lv = *self.leaves.add(line) as u64 | (*self.leaves.add(line + 1) as u64) << 32;
                return *self
                    .leaves
                    .add(line + 1 + popcount(lv & upto(p), HW) as usize);
            }
        }
        // SAFETY: as in `upper`.
        unsafe { self.walk::<K, HW>(e, key, d) }
    }

    /// The walk below node word `e`, out of line (as `Trie::walk`).
    #[inline(never)]
    unsafe fn walk<K: Key, const HW: bool>(&self, e: u32, key: K, mut d: u32) -> u32 {
        // SAFETY (of each read): as in `find`.
        let mut n = unsafe { *self.nodes.add((e & !NODE) as usize) };
        loop {
            let p = key.stride_at(d);
            let m = upto(p);
            if n.is_inline() {
                return n.inline_leaf(popcount(n.leafvec & m, HW) - 1);
            }
            if n.vector & (1u64 << p) != 0 {
                let i = n.base1 as usize + popcount(n.vector & m, HW) as usize - 1;
                // SAFETY: as in `find`.
                n = unsafe { *self.nodes.add(i) };
                d += 6;
            } else {
                let i = n.base0 as usize + popcount(n.leafvec & m, HW) as usize - 1;
                // SAFETY: as in `find`.
                return unsafe { *self.leaves.add(i) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lpm::{Fib, Prefix};
    use std::collections::BTreeSet;
    use std::net::Ipv4Addr;

    /// A small random generator (xorshift), so that the test needs no crate and runs under
    /// Miri.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A random prefix inside a few /14s (so that regions hold nodes, flat blocks and
    /// inline nodes, and some changes cover many regions).
    fn prefix(r: &mut Rng) -> Prefix<Ipv4Addr> {
        let len = match r.below(10) {
            0 => 12 + r.below(6) as u8,
            1..=5 => 18 + r.below(7) as u8,
            _ => 24 + r.below(9) as u8,
        };
        let base = [0x0a00_0000u32, 0x0a40_0000, 0xc0a8_0000, 0x6440_0000][r.below(4) as usize];
        let addr = base | (r.next() as u32 & 0x003f_ffff);
        Prefix::truncate(Ipv4Addr::from_bits(addr), len).unwrap()
    }

    /// Every published answer equals the trie's, for the addresses near each prefix's ends.
    /// (Through both population counts: the portable one, and the CPU's where it has one.)
    fn check(fib: &Fib<Ipv4Addr>, view: &View, probes: &BTreeSet<u32>) {
        for &a in probes {
            // SAFETY: single-threaded: nothing writes during the lookup.
            let got = unsafe { view.find(a) };
            let want = fib.trie().find(a);
            assert_eq!(got, want, "address {}", Ipv4Addr::from_bits(a));
            // SAFETY: as above.
            let portable = unsafe { view.find_as::<u32, false>(a) };
            assert_eq!(
                portable,
                want,
                "address {} (portable count)",
                Ipv4Addr::from_bits(a)
            );
        }
    }

    /// Exports the regions a batch changed after each of many random batches, retiring the
    /// words replaced and reclaiming them (no reader here): the view answers as the trie
    /// does after every batch, the blocks in use are those the level reaches, and the free
    /// lists keep the arena from growing with the number of batches.
    #[test]
    fn exported_regions_answer_as_the_trie() {
        let (rounds, per) = if cfg!(miri) { (6, 40) } else { (200, 200) };
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let mut fib: Fib<Ipv4Addr> = Fib::new();
        let mut level = Level::new::<u32>();
        let mut arena = Arena::new(1 << 16, 1 << 20, 0);
        let mut probes = BTreeSet::new();
        // Every region exported so far (the others are 0).
        let mut ever = BTreeSet::new();
        for round in 0..rounds {
            let mut dirty = BTreeSet::new();
            for _ in 0..per {
                let p = prefix(&mut r);
                if r.below(3) == 0 {
                    fib.remove(&p);
                } else {
                    fib.insert(p, r.below(1000) as u32).unwrap();
                }
                let k = p.addr().to_bits();
                dirty.extend(regions::<u32>(k, p.len() as u32));
                let end = k | u32::MAX.checked_shr(p.len() as u32).unwrap_or(0);
                probes.extend([k, end, k.wrapping_sub(1), end.wrapping_add(1)]);
                probes.insert(
                    k | (r.next() as u32 & u32::MAX.checked_shr(p.len() as u32).unwrap_or(0)),
                );
            }
            for &i in &dirty {
                let e = arena.export(fib.trie(), fib.trie().l1_get(i)).unwrap();
                arena.retire(level.get(i));
                level.set(i, e);
            }
            arena.reclaim();
            check(&fib, &arena.view(&level), &probes);
            // The blocks in use are exactly those the level reaches.
            let mut reached = (0, 0);
            ever.extend(&dirty);
            for &i in &ever {
                let e = level.get(i);
                if e & TAGS != 0 {
                    arena.retire(e);
                }
            }
            for &(kind, e, n) in &arena.retired {
                match kind {
                    Kind::Nodes => reached.0 += n as usize,
                    Kind::Leaves => reached.1 += n as usize,
                    Kind::Flat => reached.1 += arena.flat_size(e),
                    Kind::Dir => unreachable!("an IPv4 export has no second level"),
                }
            }
            arena.retired.clear();
            assert_eq!(reached, arena.in_use(), "round {round}");
        }
        // The arena's free lists serve the new copies: it grows with the table, as the
        // trie's own arrays (which recycle blocks the same way) do, not with the number of
        // batches. Measured: 1.6x the trie's arrays after 300 rounds (the copies take new
        // blocks while the old ones are still in use, and the free lists are per size).
        let (n, l) = arena.touched();
        let t = fib.trie();
        assert!(fib.len() > 100, "the table holds {}", fib.len());
        assert!(
            n <= 2 * t.nodes.len() + 64 && l <= 2 * t.leaves.len() + 1024,
            "arena grew to {:?} ({:?} in use), the trie's arrays {} and {}",
            (n, l),
            arena.in_use(),
            t.nodes.len(),
            t.leaves.len()
        );
    }

    /// The exporter through many rounds of random changes: each export answers as the trie
    /// does, the level published before it still answers as the trie did then (the export
    /// wrote no block that level reaches), and running out of room rebuilds into a larger
    /// arena without either level losing an answer.
    #[test]
    fn exporter_publishes_each_round_and_keeps_the_last() {
        let (rounds, per) = if cfg!(miri) { (8, 30) } else { (150, 150) };
        let mut r = Rng(0x9e37_79b9);
        let mut fib: Fib<Ipv4Addr> = Fib::new();
        let mut x = Exporter::empty();
        let mut probes = BTreeSet::new();
        let mut before: Vec<(u32, u32)> = Vec::new();
        for round in 0..rounds {
            for _ in 0..per {
                let p = prefix(&mut r);
                if r.below(3) == 0 {
                    fib.remove(&p);
                } else {
                    fib.insert(p, r.below(1000) as u32).unwrap();
                }
                let k = p.addr().to_bits();
                x.mark(k, p.len() as u32);
                probes.insert(k);
                probes.insert(k | u32::MAX.checked_shr(p.len() as u32).unwrap_or(0));
            }
            x.catch_up();
            let o = x.export(fib.trie());
            assert_eq!((x.live(), x.marked()), (o, 0));
            // SAFETY: single-threaded: nothing writes during the lookups.
            let (now, last) = unsafe { (&*x.view(o), &*x.view(1 - o)) };
            check(&fib, now, &probes);
            for &(a, l) in &before {
                // SAFETY: as above.
                assert_eq!(
                    unsafe { last.find(a) },
                    l,
                    "round {round}: the last level changed"
                );
            }
            before = probes.iter().map(|&a| (a, fib.trie().find(a))).collect();
        }
        // Under Miri the arena starts large enough (see `Exporter::slack`).
        assert!(x.rebuilds >= 2 || cfg!(miri), "{} rebuilds", x.rebuilds);
        // An exporter made from the table as it is answers as the trie (not under Miri: a
        // pass over the 2^18 first-level words).
        if !cfg!(miri) {
            let y = Exporter::new(fib.trie());
            // SAFETY: single-threaded.
            check(&fib, unsafe { &*y.view(y.live()) }, &probes);
        }
        assert!(x.bytes() > 0);
    }

    /// A random IPv6 prefix, most inside two /18 regions (so that they get second-level
    /// blocks), some shorter (covering whole regions or several second-level words).
    fn prefix6(r: &mut Rng) -> Prefix<std::net::Ipv6Addr> {
        let len = match r.below(600) {
            0 => 14 + r.below(6) as u8,
            1..=90 => 20 + r.below(12) as u8,
            _ => 32 + r.below(33) as u8,
        };
        let base = [0x2001_0db8u128 << 96, 0x2a02_1000u128 << 96][r.below(2) as usize];
        let low = (r.next() as u128) << 64 | r.next() as u128;
        let addr = base | (low & (u128::MAX >> 20));
        Prefix::truncate(std::net::Ipv6Addr::from_bits(addr), len).unwrap()
    }

    /// A region whose trie word turns into a second-level block, has some of its words
    /// changed, turns back into a leaf, and again, one publish apart, beside a region whose
    /// block only changes words: each level keeps a block of its own (the previous level
    /// answers as before each export, the new one as the trie).
    #[test]
    fn each_level_keeps_its_own_second_level_blocks() {
        let mut fib: Fib<std::net::Ipv6Addr> = Fib::new();
        // Room enough for no rebuild (a rebuild makes both levels anew).
        let mut x = Exporter::with(
            Arena::new(1 << 12, 1 << 16, 16),
            [Level::new::<u128>(), Level::new::<u128>()],
        );
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        // Region A (2001:db8::/18-ish) comes and goes; region B stays a block.
        let (a, b) = (0x2001_0db8u128 << 96, 0x2a02_1000u128 << 96);
        let many = |base: u128, r: &mut Rng, n: usize| -> Vec<Prefix<std::net::Ipv6Addr>> {
            (0..n)
                .map(|_| {
                    let low = (r.next() as u128) << 64 | r.next() as u128;
                    let addr = base | (low & (u128::MAX >> 18));
                    Prefix::truncate(std::net::Ipv6Addr::from_bits(addr), 48).unwrap()
                })
                .collect()
        };
        let (in_a, in_b) = (many(a, &mut r, 200), many(b, &mut r, 200));
        let mut probes: Vec<u128> = in_a
            .iter()
            .chain(&in_b)
            .map(|p| p.addr().to_bits() | 7)
            .collect();
        probes.extend([a, b, a | 1 << 100, b | 1 << 100]);
        let mut before: Vec<(u128, u32)> = Vec::new();
        let mut kinds = Vec::new();
        // Under Miri, the cycle once (each round takes many seconds there).
        let rounds = if cfg!(miri) { 4 } else { 6 };
        for round in 0..rounds {
            // Region A: added, some words changed, removed; again.
            for (i, p) in in_a.iter().enumerate() {
                match round % 3 {
                    0 => drop(fib.insert(*p, round * 1000 + i as u32).unwrap()),
                    1 if i % 5 == 0 => drop(fib.insert(*p, round * 1000 + i as u32).unwrap()),
                    1 => continue,
                    _ => drop(fib.remove(p)),
                }
                x.mark(p.addr().to_bits(), 48);
            }
            // A few words of B change every round.
            for (i, p) in in_b.iter().enumerate().skip(round as usize % 4).step_by(4) {
                fib.insert(*p, round * 100 + i as u32).unwrap();
                x.mark(p.addr().to_bits(), 48);
            }
            kinds.push(fib.trie().l1_get(a.top()) & TAGS);
            x.catch_up();
            let o = x.export(fib.trie());
            // SAFETY: single-threaded: nothing writes during the lookups.
            let (now, last) = unsafe { (&*x.view(o), &*x.view(1 - o)) };
            for &k in &probes {
                // SAFETY: as above.
                assert_eq!(unsafe { now.find(k) }, fib.trie().find(k), "round {round}");
            }
            for &(k, l) in &before {
                // SAFETY: as above.
                assert_eq!(
                    unsafe { last.find(k) },
                    l,
                    "round {round}: the last level changed"
                );
            }
            before = probes.iter().map(|&k| (k, fib.trie().find(k))).collect();
        }
        assert_eq!(
            fib.trie().l1_get(b.top()) & TAGS,
            DIR,
            "region B holds a block"
        );
        assert_eq!(
            kinds,
            [DIR, DIR, 0, DIR, DIR, 0][..rounds as usize],
            "region A's word, round by round"
        );
    }

    /// The exporter on an IPv6 table with second-level blocks: as
    /// `exporter_publishes_each_round_and_keeps_the_last`.
    #[test]
    fn exporter_follows_an_ipv6_table() {
        use std::net::Ipv6Addr;
        // Under Miri: a few rounds, and no count of the blocks (a scan of 2^18 words).
        let (rounds, per) = if cfg!(miri) { (3, 40) } else { (80, 300) };
        let mut r = Rng(0x51_7cc1_b727_220a);
        let mut fib: Fib<Ipv6Addr> = Fib::new();
        let mut x = Exporter::empty();
        let mut probes = BTreeSet::new();
        let mut before: Vec<(u128, u32)> = Vec::new();
        let mut dirs_seen = 0;
        for round in 0..rounds {
            for _ in 0..per {
                let p = prefix6(&mut r);
                if r.below(4) == 0 {
                    fib.remove(&p);
                } else {
                    fib.insert(p, r.below(1000) as u32).unwrap();
                }
                let k = p.addr().to_bits();
                x.mark(k, p.len() as u32);
                let host = u128::MAX.checked_shr(p.len() as u32).unwrap_or(0);
                probes.extend([k, k | host, k | (host & ((r.next() as u128) << 17))]);
            }
            x.catch_up();
            let o = x.export(fib.trie());
            // SAFETY: single-threaded: nothing writes during the lookups.
            let (now, last) = unsafe { (&*x.view(o), &*x.view(1 - o)) };
            for &a in &probes {
                // SAFETY: as above.
                let got = unsafe { now.find(a) };
                assert_eq!(
                    got,
                    fib.trie().find(a),
                    "round {round}: {}",
                    Ipv6Addr::from_bits(a)
                );
            }
            for &(a, l) in &before {
                // SAFETY: as above.
                assert_eq!(
                    unsafe { last.find(a) },
                    l,
                    "round {round}: the last level changed"
                );
            }
            before = probes.iter().map(|&a| (a, fib.trie().find(a))).collect();
            if round % 16 == 0 && !cfg!(miri) {
                let t = fib.trie();
                let dirs = (0..1usize << 18)
                    .filter(|&i| t.l1_get(i) & TAGS == DIR)
                    .count();
                dirs_seen = dirs_seen.max(dirs);
            }
        }
        if !cfg!(miri) {
            assert!(dirs_seen >= 1, "no second-level block was made");
            assert!(x.rebuilds >= 1, "{} rebuilds", x.rebuilds);
        }
        assert!(x.bytes() > 0);
    }

    /// An export that does not fit says so, and the caller's retry in a larger arena
    /// answers as the trie does.
    #[test]
    fn a_full_arena_refuses_and_a_larger_one_serves() {
        let mut r = Rng(7);
        let mut fib: Fib<Ipv4Addr> = Fib::new();
        let mut probes = BTreeSet::new();
        let mut touched = BTreeSet::new();
        for _ in 0..if cfg!(miri) { 100 } else { 400 } {
            let p = prefix(&mut r);
            fib.insert(p, 1 + r.below(9) as u32).unwrap();
            probes.insert(p.addr().to_bits());
            touched.extend(regions::<u32>(p.addr().to_bits(), p.len() as u32));
        }
        let export_all = |arena: &mut Arena, level: &mut Level| -> Result<(), Full> {
            for &i in &touched {
                let e = arena.export(fib.trie(), fib.trie().l1_get(i))?;
                level.set(i, e);
            }
            Ok(())
        };
        let mut small = Arena::new(4, 64, 0);
        assert_eq!(export_all(&mut small, &mut Level::new::<u32>()), Err(Full));
        let mut arena = Arena::new(1 << 12, 1 << 16, 0);
        let mut level = Level::new::<u32>();
        export_all(&mut arena, &mut level).unwrap();
        check(&fib, &arena.view(&level), &probes);
    }
}
/// The measurement harness of the design, until `SharedFib` uses it (then `lpm_compare`'s
/// shared columns measure it): `cargo test --release --lib -- --ignored export_harness
/// --nocapture`, with the RIS data in `$NETPLUMB_DATA` (default `../shared/data`). It
/// prints rates and asserts only that the answers agree; the figures are in the module's
/// notes and the session notes.
#[cfg(test)]
mod harness {
    use super::*;
    use crate::lpm::{Fib, Prefix};
    use std::io::BufRead;
    use std::net::Ipv4Addr;
    use std::sync::atomic::{compiler_fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};
    use std::time::Instant;

    type Op = (Prefix<Ipv4Addr>, Option<u32>);

    /// The lines of a gzipped RIS file (through `zcat`: the crate has no gzip reader).
    fn lines(name: &str) -> Option<Vec<String>> {
        let dir = std::env::var("NETPLUMB_DATA")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data").into());
        let out = std::process::Command::new("zcat")
            .arg(format!("{dir}/{name}"))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| out.stdout.lines().map(Result::unwrap).collect())
    }

    /// Pins the calling thread to core `c` (a no-op without `libc`).
    fn pin(c: usize) {
        #[cfg(all(target_os = "linux", feature = "libc"))]
        // SAFETY: a zeroed `cpu_set_t` is valid; the call only reads it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(c, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
        #[cfg(not(all(target_os = "linux", feature = "libc")))]
        let _ = c;
    }

    fn apply(fib: &mut Fib<Ipv4Addr>, &(p, v): &Op) {
        match v {
            Some(v) => {
                fib.insert(p, v).unwrap();
            }
            None => {
                fib.remove(&p);
            }
        }
    }

    /// Lookups (M/s) of `f` over `keys`, `passes` times, and their checksum.
    fn rate(keys: &[u32], passes: usize, mut f: impl FnMut(u32) -> u32) -> (f64, u64) {
        let (t, mut sum) = (Instant::now(), 0u64);
        for _ in 0..passes {
            for &k in keys {
                sum = sum.wrapping_add(f(k) as u64);
            }
        }
        let n = (passes * keys.len()) as f64;
        (n / t.elapsed().as_secs_f64() / 1e6, sum)
    }

    /// The full IPv4 table exported whole, looked up single-threaded against the `Fib`;
    /// then, in rounds, a reader (core 0) looking up in-table addresses in the published
    /// level while a writer (core 1) replays the RIS update stream three times into its
    /// private `Fib`, exporting the regions each batch of 1,024 changed and publishing with
    /// `SharedFib`'s reader protocol (the writer spins where `SharedFib` would defer). Rates
    /// against a lone `Fib`'s, measured in the same round.
    #[test]
    #[ignore]
    fn export_harness() {
        let (Some(table), Some(updates)) = (
            lines("ris-2026-05-11-v4.txt.gz"),
            lines("ris-2026-05-11-v4-updates.txt.gz"),
        ) else {
            eprintln!("skipped: no RIS data (set NETPLUMB_DATA)");
            return;
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut routes = Vec::new();
        let mut keys = Vec::new();
        for (i, l) in table.iter().enumerate() {
            let p: Prefix<Ipv4Addr> = l.trim().parse().unwrap();
            routes.push((p, (i % 1000) as u32 + 1));
            let host = u32::MAX.checked_shr(p.len() as u32).unwrap_or(0);
            keys.push(p.addr().to_bits() | (next() as u32 & host));
        }
        for i in (1..keys.len()).rev() {
            keys.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        let ops: Vec<Op> = updates
            .iter()
            .enumerate()
            .map(|(j, l)| {
                let (a, p) = l.split_once(' ').unwrap();
                let p: Prefix<Ipv4Addr> = p.trim().parse().unwrap();
                (p, (a == "A").then_some(2000 + (j % 5000) as u32))
            })
            .collect();
        let fib: Fib<Ipv4Addr> = Fib::try_from_iter(routes).unwrap();
        let id = |l: u32| l & Fib::<Ipv4Addr>::MAX_ID;
        let lone = |k: u32| fib.lookup(Ipv4Addr::from_bits(k)).unwrap_or(0);

        let t = fib.trie();
        let mut arena = Arena::new(t.nodes.len() * 2 + 4096, t.leaves.len() * 2 + 65536, 0);
        let mut level = Level::new::<u32>();
        let start = Instant::now();
        for i in 0..1usize << <u32 as Key>::DIRECT {
            let e = arena.export(t, t.l1_get(i)).unwrap();
            level.set(i, e);
        }
        println!(
            "export of the whole table: {:?}; {:?} nodes and leaf words in use (the trie's \
             arrays: {} and {})",
            start.elapsed(),
            arena.in_use(),
            t.nodes.len(),
            t.leaves.len()
        );
        let view = arena.view(&level);
        for round in 0..5 {
            let (a, s1) = rate(&keys, 3, lone);
            // SAFETY: single-threaded: nothing writes during the lookups.
            let (b, s2) = rate(&keys, 3, |k| id(unsafe { view.find(k) }));
            assert_eq!(s1, s2);
            println!(
                "round {round}: lone Fib {a:.1} M/s, view {b:.1} M/s ({:.2}x)",
                b / a
            );
        }

        let busy = &keys[..keys.len().min(1 << 19)];
        for round in 0..5 {
            let mut m = fib.clone();
            let start = Instant::now();
            ops.iter().for_each(|op| apply(&mut m, op));
            let lone_w = ops.len() as f64 / start.elapsed().as_secs_f64() / 1e6;
            drop(m);
            pin(0);
            let (lone_r, _) = rate(busy, 3, lone);

            let mut w = fib.clone();
            let mut x = Exporter::new(w.trie());
            let live = AtomicPtr::new(x.view(x.live()) as *mut View);
            let (tag, word) = (AtomicU64::new(2), AtomicU64::new(0));
            let stop = AtomicBool::new(false);
            let (read, write, publishes) = std::thread::scope(|sc| {
                let reader = sc.spawn(|| {
                    pin(0);
                    let (start, mut n, mut sum) = (Instant::now(), 0usize, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        for &k in busy {
                            let g = tag.load(Ordering::Acquire);
                            word.store(g | 1, Ordering::Release);
                            compiler_fence(Ordering::SeqCst);
                            // SAFETY: the writer writes a level (and its view) only once this
                            // reader's word shows the other level's tag, and reclaims blocks
                            // only once neither level names them.
                            let v = unsafe { &*live.load(Ordering::Acquire) };
                            // SAFETY: as above.
                            sum = sum.wrapping_add(unsafe { v.find(k) } as u64);
                            word.store(g, Ordering::Release);
                        }
                        n += busy.len();
                    }
                    std::hint::black_box(sum);
                    n as f64 / start.elapsed().as_secs_f64() / 1e6
                });
                pin(1);
                let start = Instant::now();
                let (mut gen, mut publishes) = (1u64, 0usize);
                for _ in 0..3 {
                    for batch in ops.chunks(1024) {
                        for op in batch {
                            apply(&mut w, op);
                            x.mark(op.0.addr().to_bits(), op.0.len() as u32);
                        }
                        while word.load(Ordering::Acquire) & !1 != gen << 1 {
                            std::hint::spin_loop();
                        }
                        x.catch_up();
                        let o = x.export(w.trie());
                        live.store(x.view(o) as *mut View, Ordering::Release);
                        gen += 1;
                        tag.store(gen << 1, Ordering::Release);
                        publishes += 1;
                    }
                }
                let write = (3 * ops.len()) as f64 / start.elapsed().as_secs_f64() / 1e6;
                stop.store(true, Ordering::Relaxed);
                (reader.join().unwrap(), write, publishes)
            });
            // The published table answers as the writer's.
            for &k in busy.iter().step_by(61) {
                // SAFETY: the reader is gone.
                let got = id(unsafe { (*x.view(x.live())).find(k) });
                assert_eq!(got, w.lookup(Ipv4Addr::from_bits(k)).unwrap_or(0));
            }
            let (rebuilds, bytes) = (x.rebuilds, x.bytes());
            // `SharedFib` (this design behind its API: staging, the id checks, deferral) on the
            // same work.
            let mut shared = crate::lpm::SharedFib::from(fib.clone());
            let stop = AtomicBool::new(false);
            let (lr_read, lr_write) = std::thread::scope(|sc| {
                let mut r = shared.reader();
                let stop = &stop;
                let reader = sc.spawn(move || {
                    pin(0);
                    let (start, mut n, mut sum) = (Instant::now(), 0usize, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        for &k in busy {
                            let v = r.lookup(Ipv4Addr::from_bits(k)).unwrap_or(0);
                            sum = sum.wrapping_add(v as u64);
                        }
                        n += busy.len();
                    }
                    std::hint::black_box(sum);
                    n as f64 / start.elapsed().as_secs_f64() / 1e6
                });
                pin(1);
                let start = Instant::now();
                for _ in 0..3 {
                    for batch in ops.chunks(1024) {
                        for &(p, v) in batch {
                            match v {
                                Some(v) => {
                                    shared.insert(p, v).unwrap();
                                }
                                None => {
                                    shared.remove(&p);
                                }
                            }
                        }
                        shared.publish();
                    }
                }
                while !shared.publish() {}
                let write = (3 * ops.len()) as f64 / start.elapsed().as_secs_f64() / 1e6;
                stop.store(true, Ordering::Relaxed);
                (reader.join().unwrap(), write)
            });
            println!(
                "round {round}: export: reader {read:.1} M/s ({:.2}x a lone Fib's {lone_r:.1}), \
                 writer {write:.1} M/s ({:.2}x a lone Fib's {lone_w:.1}), {publishes} \
                 publishes, {rebuilds} rebuilds, {:.1} MiB beside the writer's Fib | SharedFib: \
                 reader {:.2}x, writer {:.2}x",
                read / lone_r,
                write / lone_w,
                bytes as f64 / (1 << 20) as f64,
                lr_read / lone_r,
                lr_write / lone_w,
            );
        }
    }
}

/// What an IPv6 export would copy (`cargo test --release --lib -- --ignored
/// export_v6_counts --nocapture`): per batch of 1,024 real IPv6 updates, the first-level
/// regions changed, how many of them hold a second-level block, and the second-level words
/// changed under those.
#[cfg(test)]
mod v6_counts {
    use super::super::second::is_dense;
    use super::*;
    use crate::lpm::{Fib, Prefix};
    use std::collections::{BTreeMap, BTreeSet};
    use std::io::BufRead;
    use std::net::Ipv6Addr;

    #[test]
    #[ignore]
    fn export_v6_counts() {
        let dir = std::env::var("NETPLUMB_DATA")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data").into());
        let read = |name: &str| -> Option<Vec<String>> {
            let out = std::process::Command::new("zcat")
                .arg(format!("{dir}/{name}"))
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| out.stdout.lines().map(Result::unwrap).collect())
        };
        let (Some(table), Some(updates)) = (
            read("ris-2026-05-11-v6.txt.gz"),
            read("ris-2026-05-11-v6-updates.txt.gz"),
        ) else {
            eprintln!("skipped: no RIS data (set NETPLUMB_DATA)");
            return;
        };
        let mut fib: Fib<Ipv6Addr> = Fib::new();
        for (i, l) in table.iter().enumerate() {
            let p: Prefix<Ipv6Addr> = l.trim().parse().unwrap();
            fib.insert(p, (i % 1000) as u32 + 1).unwrap();
        }
        let t = fib.trie();
        let dirs: Vec<usize> = (0..1usize << 18)
            .filter(|&i| t.l1_get(i) & TAGS == super::super::layout::DIR)
            .collect();
        let dense = dirs.iter().filter(|&&i| is_dense(t.l1_get(i))).count();
        println!(
            "{} second-level blocks ({dense} dense) of {} prefixes",
            dirs.len(),
            fib.len()
        );
        let (mut regions_n, mut dir_regions_n, mut words_n, mut batches) = (0, 0, 0, 0);
        let mut per: Vec<usize> = Vec::new();
        for batch in updates.chunks(1024) {
            let mut changed = BTreeSet::new();
            let mut words: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
            for l in batch {
                let (a, p) = l.split_once(' ').unwrap();
                let p: Prefix<Ipv6Addr> = p.trim().parse().unwrap();
                if a == "A" {
                    fib.insert(p, 7).unwrap();
                } else {
                    fib.remove(&p);
                }
                let k = u128::from(p.addr());
                let len = p.len() as u32;
                for i in regions::<u128>(k, len) {
                    changed.insert(i);
                    if len >= 18 {
                        let j = ((k << 18) >> (128 - 12)) as usize;
                        let span = if len >= 30 { 1 } else { 1 << (30 - len) };
                        words.entry(i).or_default().extend(j..j + span);
                    }
                }
            }
            let t = fib.trie();
            let dir_regions: Vec<usize> = changed
                .iter()
                .copied()
                .filter(|&i| t.l1_get(i) & TAGS == super::super::layout::DIR)
                .collect();
            let w: usize = dir_regions
                .iter()
                .map(|i| words.get(i).map_or(0, |s| s.len()))
                .sum();
            regions_n += changed.len();
            dir_regions_n += dir_regions.len();
            words_n += w;
            per.push(dir_regions.len());
            batches += 1;
        }
        per.sort_unstable();
        // The writer alone (no reader): the update stream replayed into a lone `Fib`, and
        // into a `Fib` with an export and publish after each batch of 1,024 (alternated, 5
        // rounds); then in-table lookups in the export's view against the `Fib`'s.
        let base: Fib<Ipv6Addr> = fib.clone();
        let ops: Vec<(Prefix<Ipv6Addr>, bool)> = updates
            .iter()
            .map(|l| {
                let (a, p) = l.split_once(' ').unwrap();
                (p.trim().parse().unwrap(), a == "A")
            })
            .collect();
        let apply = |f: &mut Fib<Ipv6Addr>, &(p, add): &(Prefix<Ipv6Addr>, bool)| {
            if add {
                f.insert(p, 9).unwrap();
            } else {
                f.remove(&p);
            }
        };
        for round in 0..5 {
            let mut lone = base.clone();
            let start = std::time::Instant::now();
            ops.iter().for_each(|op| apply(&mut lone, op));
            let lone_w = ops.len() as f64 / start.elapsed().as_secs_f64() / 1e6;
            let mut w = base.clone();
            let mut x = Exporter::new(w.trie());
            let start = std::time::Instant::now();
            for batch in ops.chunks(1024) {
                for op in batch {
                    apply(&mut w, op);
                    x.mark(u128::from(op.0.addr()), op.0.len() as u32);
                }
                x.catch_up();
                x.export(w.trie());
            }
            let export_w = ops.len() as f64 / start.elapsed().as_secs_f64() / 1e6;
            let keys: Vec<u128> = table
                .iter()
                .map(|l| u128::from(l.trim().parse::<Prefix<Ipv6Addr>>().unwrap().addr()) | 1)
                .collect();
            // SAFETY: single-threaded: nothing writes during the lookups.
            let v = unsafe { &*x.view(x.live()) };
            let start = std::time::Instant::now();
            let s1 = keys
                .iter()
                .fold(0u64, |s, &k| s.wrapping_add(w.trie().find(k) as u64));
            let fib_r = keys.len() as f64 / start.elapsed().as_secs_f64() / 1e6;
            let start = std::time::Instant::now();
            // SAFETY: as above.
            let s2 = keys
                .iter()
                .fold(0u64, |s, &k| s.wrapping_add(unsafe { v.find(k) } as u64));
            let view_r = keys.len() as f64 / start.elapsed().as_secs_f64() / 1e6;
            assert_eq!(s1, s2);
            println!(
                "round {round}: writer alone {export_w:.1} M/s ({:.2}x a lone Fib's \
                 {lone_w:.1}), {} rebuilds, {:.1} MiB beside the writer's Fib ({:.1}); view \
                 {view_r:.1} M/s ({:.2}x the Fib's {fib_r:.1})",
                export_w / lone_w,
                x.rebuilds,
                x.bytes() as f64 / (1 << 20) as f64,
                w.memory_usage() as f64 / (1 << 20) as f64,
                view_r / fib_r
            );
        }
        println!(
            "per batch of 1,024 updates ({batches} batches), means: {:.1} regions changed, {:.1} \
             of them holding a second-level block (median {}, max {}), {:.1} second-level \
             words changed under those",
            regions_n as f64 / batches as f64,
            dir_regions_n as f64 / batches as f64,
            per[per.len() / 2],
            per[per.len() - 1],
            words_n as f64 / batches as f64
        );
    }
}
