//! Flat blocks: a node without children stored in the leaf array, in one of two forms
//! chosen per block by its runs (see [`FLAT`]), and everything that reads or writes one.
//!
//! - runs form: a 64-bit `leafvec` (two words), then the runs. A block of at most
//!   [`LINE_RUNS`] runs fits one 64-byte line (the allocator never lets it straddle two):
//!   a lookup reads one line.
//! - lines form (`k` of 2 to 5 lines): the 64 positions split into `k` equal ranges, line
//!   `j` (16 words, 16-word aligned) holding a `leafvec` of the positions of its range (a
//!   bit at the range's first position, then one where a run starts) and at most
//!   [`LINE_RUNS`] runs. The line of position `p` is `(p * k) >> 6`, and within it the
//!   lookup is the runs form's: it reads one line, where the runs form of a block of more
//!   runs reads its header line and then another.
//!
//! A block of more runs takes the lines form when that costs at most half a word per run
//! more than the runs form ([`MAX_EXTRA_PER_RUN_HALVES`]); IPv6 only ([`LINES_V4`]).

use super::layout::{popcount, upto, Trie, FLAT};
use crate::lpm::key::Key;

/// Position of the form field (3 bits: 0 for the runs form, else the line count) in a
/// flat-block word.
const FORM_SHIFT: u32 = 27;
/// The block's first word, in a flat-block word.
pub(crate) const BASE_MASK: u32 = (1 << FORM_SHIFT) - 1;

/// Form field of the runs form.
const RUNS: u32 = 0;

/// Most runs of a runs-form block that fits one 64-byte line with its header, and most
/// runs of a line of the lines form.
pub(super) const LINE_RUNS: usize = 14;

/// Most lines of a block (5: at most 13 positions a line, so that any block fits).
const MAX_LINES: usize = 5;

/// The lines form is chosen over the runs form when it costs at most this many halves of
/// a word more per run.
const MAX_EXTRA_PER_RUN_HALVES: usize = 1;

/// Whether IPv4 tables (no second level) use the lines form too. Measured with
/// `lpm_compare --only netplumb/fib,dir-24-8 --keys 2000000` (pinned, load 1, alternating
/// with the previous build): with it, IPv4 in-table lookups no faster than the runs form
/// alone (116-118 against 117 M/s; 128 M/s without it), real-update replay 26.7 against
/// 34.6 M/s and 0.4 MiB more; IPv6 gains either way. Measured again on 2026-12-07 with the
/// IPv4 choice widened to any block the lines form stores in at most 20 words more (`lpm_compare
/// --keys 10000000`, two runs alternated): in-table 123.6-126.2 against 136.2-136.3 M/s,
/// updates 26.9-27.7 against 37.9-38.6 M/s, heap 7.6 against 7.0 MiB (see the layout page).
/// Off, an IPv4 block's line is its start, with no multiply on the lookup path.
pub(crate) const LINES_V4: bool = false;

/// The first position of line `j` of a `k`-line block: the least `p` with
/// `(p * k) >> 6 == j`.
#[inline]
pub(super) fn line_start(k: usize, j: usize) -> usize {
    (64 * j).div_ceil(k)
}

/// Mask of positions `lo..hi`.
#[inline]
fn span(lo: usize, hi: usize) -> u64 {
    let top = if hi >= 64 { !0u64 } else { (1u64 << hi) - 1 };
    top & !((1u64 << lo) - 1)
}

/// The header of line `j` of a `k`-line block of runs `leafvec`.
#[inline]
fn line_header(leafvec: u64, k: usize, j: usize) -> u64 {
    let (s, t) = (line_start(k, j), line_start(k, j + 1));
    (leafvec & span(s, t)) | 1 << s
}

/// The form and size (in words) to store runs `leafvec` (`n` runs) in.
fn choose(leafvec: u64, n: usize) -> (u32, usize) {
    let runs_size = n + 2;
    if n <= LINE_RUNS {
        return (RUNS, runs_size);
    }
    for k in 2..=MAX_LINES {
        let fits = (0..k).all(|j| line_header(leafvec, k, j).count_ones() as usize <= LINE_RUNS);
        if fits {
            let size = 16 * (k - 1) + 2 + line_header(leafvec, k, k - 1).count_ones() as usize;
            if size * 2 <= runs_size * 2 + n * MAX_EXTRA_PER_RUN_HALVES {
                return (k as u32, size);
            }
            break;
        }
    }
    (RUNS, runs_size)
}

/// The base and form field of flat-block word `e`.
#[inline(always)]
pub(crate) fn parts(e: u32) -> (usize, u32) {
    ((e & BASE_MASK) as usize, (e & !FLAT) >> FORM_SHIFT)
}

impl<K: Key> Trie<K> {
    /// The leaf at position `p` (0..64) of the flat block of word `e`.
    #[inline(always)]
    pub(crate) fn flat_at(&self, e: u32, p: usize) -> u32 {
        let line = self.flat_line(e, p);
        // One bounds check for the line and, in the runs form, up to 64 runs after its
        // header; a block within the array's last 66 words takes the checked path.
        let Some(blk) = self.leaves.get(line..line + 66) else {
            return self.flat_at_near_end(line, p);
        };
        let blk: &[u32; 66] = blk.try_into().expect("66 words");
        let leafvec = blk[0] as u64 | (blk[1] as u64) << 32;
        // At most 1 + 64: `min` states it to the compiler (no check, no branch).
        blk[(1 + popcount(leafvec & upto(p), self.hw) as usize).min(65)]
    }

    #[cold]
    #[inline(never)]
    fn flat_at_near_end(&self, line: usize, p: usize) -> u32 {
        let leafvec = self.leaf(line) as u64 | (self.leaf(line + 1) as u64) << 32;
        self.leaf(line + 1 + popcount(leafvec & upto(p), self.hw) as usize)
    }

    /// The line (first word) of the flat block of word `e` that holds position `p`: its
    /// start in the runs form.
    #[inline(always)]
    pub(crate) fn flat_line(&self, e: u32, p: usize) -> usize {
        let (b, k) = parts(e);
        if K::DIR2 == 0 && !LINES_V4 {
            // Only the runs form (see `LINES_V4`): no multiply on the IPv4 lookup path.
            return b;
        }
        b + (((p * k as usize) >> 6) << 4)
    }

    /// The runs (`leafvec`, leaves, count) of the flat block of word `e`, merged across
    /// lines (each run once, as in the runs form).
    pub(super) fn flat_runs(&self, e: u32) -> (u64, [u32; 64], usize) {
        let (b, f) = parts(e);
        let mut vals = [0u32; 64];
        if f == RUNS {
            let leafvec = self.leaves[b] as u64 | (self.leaves[b + 1] as u64) << 32;
            let n = leafvec.count_ones() as usize;
            vals[..n].copy_from_slice(&self.leaves[b + 2..b + 2 + n]);
            return (leafvec, vals, n);
        }
        // Each line's runs in turn; a line's first run is the previous line's last when it
        // continues it.
        let mut leafvec = 0u64;
        let mut n = 0;
        for j in 0..f as usize {
            let line = b + 16 * j;
            let mut bits = self.leaves[line] as u64 | (self.leaves[line + 1] as u64) << 32;
            let mut w = line + 2;
            while bits != 0 {
                let v = self.leaves[w];
                if n == 0 || vals[n - 1] != v {
                    leafvec |= bits & bits.wrapping_neg();
                    vals[n] = v;
                    n += 1;
                }
                bits &= bits - 1;
                w += 1;
            }
        }
        (leafvec, vals, n)
    }

    /// Words the flat block of word `e` takes.
    pub(super) fn flat_size(&self, e: u32) -> usize {
        let (b, k) = parts(e);
        let k = k as usize;
        let last = b + 16 * k.saturating_sub(1);
        let header = self.leaves[last] as u64 | (self.leaves[last + 1] as u64) << 32;
        16 * k.saturating_sub(1) + 2 + header.count_ones() as usize
    }

    /// Frees the flat block of word `e`.
    pub(super) fn free_flat(&mut self, e: u32) {
        let size = self.flat_size(e);
        self.free_leaves(e & BASE_MASK, size);
    }

    /// Stores runs `vals` starting at the set bits of `leafvec` (canonical: no two
    /// neighbours equal) as a flat block, reusing the block of word `old` when its form
    /// and size are the same, and returns the word for it (the leaf itself for one run).
    pub(super) fn store_flat(&mut self, old: Option<u32>, leafvec: u64, vals: &[u32]) -> u32 {
        let n = vals.len();
        if n == 1 {
            if let Some(e) = old {
                self.free_flat(e);
            }
            return vals[0];
        }
        let (form, size) = if K::DIR2 == 0 && !LINES_V4 {
            (RUNS, n + 2)
        } else {
            choose(leafvec, n)
        };
        let b = match old {
            Some(e) if parts(e).1 == form && self.flat_size(e) == size => (e & BASE_MASK) as usize,
            Some(e) => {
                self.free_flat(e);
                self.alloc_leaves(size) as usize
            }
            None => self.alloc_leaves(size) as usize,
        };
        if form == RUNS {
            self.leaves[b] = leafvec as u32;
            self.leaves[b + 1] = (leafvec >> 32) as u32;
            self.leaves[b + 2..b + 2 + n].copy_from_slice(vals);
        } else {
            let k = form as usize;
            for j in 0..k {
                let h = line_header(leafvec, k, j);
                let line = b + 16 * j;
                self.leaves[line] = h as u32;
                self.leaves[line + 1] = (h >> 32) as u32;
                // The run holding the line's first position, then one for each later bit.
                let r = popcount(leafvec & upto(line_start(k, j)), self.hw) as usize - 1;
                let c = h.count_ones() as usize;
                self.leaves[line + 2..line + 2 + c].copy_from_slice(&vals[r..r + c]);
            }
        }
        b as u32 | form << FORM_SHIFT | FLAT
    }

    /// Applies `g` to every leaf of the flat block of word `e` in place (a renaming that
    /// keeps neighbours distinct).
    pub(super) fn relabel_flat<G: Fn(u32) -> u32>(&mut self, e: u32, g: &G) {
        let (b, k) = parts(e);
        for j in 0..(k as usize).max(1) {
            let line = b + 16 * j;
            let h = self.leaves[line] as u64 | (self.leaves[line + 1] as u64) << 32;
            for l in &mut self.leaves[line + 2..line + 2 + h.count_ones() as usize] {
                *l = g(*l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Every form: a block stored from canonical runs reads back, position by position and
    /// as runs, as those runs; its size is what the form says; relabelling reaches every
    /// leaf; and a block rewritten in place or moved frees what it no longer uses.
    #[test]
    fn forms_read_back_their_runs() {
        let mut next = rng(0x2545_f491_4f6c_dd1d);
        let mut seen = [0usize; 8];
        for round in 0..4000 {
            // From a few runs to 64 of them, over few or many distinct values.
            let density = next() % 5;
            let mut starts = 1u64;
            for _ in 0..density {
                starts |= next();
            }
            if round % 7 == 0 {
                starts = !0;
            }
            let distinct = if round % 3 == 0 { 3 } else { 1000 };
            let mut vals = Vec::new();
            for _ in 0..starts.count_ones() {
                let mut v = 1 + (next() % distinct) as u32;
                while vals.last() == Some(&v) {
                    v = 1 + (next() % distinct) as u32;
                }
                vals.push(v);
            }
            let mut pos = [0u32; 64];
            let mut r = 0;
            for (p, slot) in pos.iter_mut().enumerate() {
                if p > 0 && starts >> p & 1 == 1 {
                    r += 1;
                }
                *slot = vals[r];
            }
            // IPv6: the lines form is used there (see `LINES_V4`).
            let mut t = Trie::<u128>::new();
            // Something in front, so that blocks do not start at word 0.
            let pad = t.alloc_leaves(1 + (next() % 20) as usize);
            let e = t.store_flat(None, starts, &vals);
            if vals.len() == 1 {
                assert_eq!(e, vals[0]);
                continue;
            }
            let (b, form) = parts(e);
            seen[form as usize] += 1;
            assert!(b > pad as usize);
            let (f, size) = choose(starts, vals.len());
            assert_eq!((form, t.flat_size(e)), (f, size));
            if form != RUNS {
                assert_eq!(b % 16, 0, "a lines block starts a line");
                for j in 0..form as usize {
                    let line = b + 16 * j;
                    let h = t.leaves[line] as u64 | (t.leaves[line + 1] as u64) << 32;
                    assert!(h.count_ones() as usize <= LINE_RUNS);
                }
            }
            for (p, &want) in pos.iter().enumerate() {
                assert_eq!(t.flat_at(e, p), want, "{starts:#x} position {p}");
            }
            let (lv, got, n) = t.flat_runs(e);
            assert_eq!((lv, &got[..n]), (starts, &vals[..]));
            t.relabel_flat(e, &|l| l + 5000);
            for (p, &want) in pos.iter().enumerate() {
                assert_eq!(t.flat_at(e, p), want + 5000);
            }
            // Same runs, other values: in place.
            let shifted: Vec<u32> = vals.iter().map(|v| v + 7).collect();
            assert_eq!(t.store_flat(Some(e), starts, &shifted), e);
            assert_eq!(t.flat_at(e, 63), pos[63] + 7);
            // One run: the block is freed and the word is the leaf.
            let freed = t.free_leaves.iter().map(Vec::len).sum::<usize>();
            assert_eq!(t.store_flat(Some(e), 1, &[9]), 9);
            assert_eq!(t.free_leaves[size].last(), Some(&(b as u32)));
            assert_eq!(t.free_leaves.iter().map(Vec::len).sum::<usize>(), freed + 1);
        }
        assert!(
            seen[RUNS as usize] > 0 && (2..=MAX_LINES).all(|k| seen[k] > 0),
            "every form was tried: {seen:?}"
        );
    }
}
