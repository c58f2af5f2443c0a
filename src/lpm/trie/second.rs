//! Second-level blocks (IPv6, see [`DIR`]): `2^DIR2` words under a first-level word, in
//! one of two forms chosen per block, and everything that reads or writes one word, one
//! group or one block.
//!
//! A block is 64 groups of 64 words (a group's words share the first 6 of the block's 12
//! bits), stored in units of 64 cache lines (4 KiB):
//!
//! - dense (4 units, 16 KiB): the 4,096 words as they are; a lookup reads one word.
//! - lines (1 unit, 4 KiB; when [`Trie::dir_lines`] is on and every group holds at most
//!   [`LINE_RUNS`] runs): group `g` is line `g` of the unit, a flat block's runs form on one
//!   line: a 64-bit `leafvec` (a bit where a run starts), then the runs. A lookup reads that
//!   one line, then the word in it that `popcount(leafvec & bits 0..=q)` names.
//!
//! A block is made in the lines form when all its groups fit, and moves to the dense form
//! when a group outgrows its line (never back: a block only shrinks to a flat block or leaf
//! when nothing under it is deeper). The form is bit [`DENSE`] of the first-level word.
//!
//! On the full IPv6 table the 154 blocks hold 630,784 words in 54,890 runs (2.41 MiB
//! dense). Other compressed forms measured against the dense one (in-table lookups, load
//! 3-4, 2026-12-06), all slower for the same reason as the lines form (see
//! [`DIR_LINES`](super::layout::DIR_LINES)):
//! - per group a 16-byte header (run bits and the index of its runs in a shared array):
//!   0.37 MiB for the blocks (heap 3.59 MiB), 0.89x: the header and the run are two reads
//!   from different lines;
//! - every block in lines, `k` (1 to 5) lines a group, the line of position `q` being
//!   `(q * k) >> 6` (a flat block's lines form): 1.09 MiB (heap 4.30), 0.91x;
//! - the same, dense where a group needs 4 lines or more: heap 4.19 MiB, 0.88x.

use super::layout::{popcount, upto, Trie, DIR, DIR_LINES};
use crate::lpm::key::Key;

/// Whether lookups read lines blocks at all: only when new tries make them, or in tests
/// (which turn [`Trie::dir_lines`] on for some tries). Otherwise every block is dense and
/// the lookup path is the dense read alone, with no test of the form.
const LINES_READ: bool = DIR_LINES || cfg!(test);

/// First-level word bit of a dense block.
pub(super) const DENSE: u32 = 1 << 29;
/// The block's first unit, in its first-level word.
pub(super) const UNIT_MASK: u32 = DENSE - 1;
/// Lines of a unit, one per group of a lines block.
const UNIT_LINES: usize = 64;
/// Words of a unit.
pub(super) const UNIT: usize = UNIT_LINES * 16;
/// Units of a dense block.
pub(super) const DENSE_UNITS: usize = 4;
/// Most runs of a group in the lines form (after its two-word `leafvec`).
const LINE_RUNS: usize = 14;

/// The form of the block of first-level word `e` (`DIR`): dense or not (for tests).
#[cfg(test)]
pub(crate) fn is_dense(e: u32) -> bool {
    e & DENSE != 0
}

/// Runs (`leafvec`, values, count) of 64 words.
fn runs_of(words: &[u32; 64]) -> (u64, [u32; 64], usize) {
    let mut leafvec = 0u64;
    let mut runs = [0u32; 64];
    let mut n = 0;
    for (q, &w) in words.iter().enumerate() {
        if n == 0 || runs[n - 1] != w {
            leafvec |= 1 << q;
            runs[n] = w;
            n += 1;
        }
    }
    (leafvec, runs, n)
}

/// Units a block of first-level word `e` takes.
#[inline]
fn units(e: u32) -> usize {
    if e & DENSE != 0 {
        DENSE_UNITS
    } else {
        1
    }
}

/// The first word of group `g` of the block of first-level word `e`.
#[inline(always)]
fn group_at(e: u32, g: usize) -> usize {
    let u = (e & UNIT_MASK) as usize * UNIT;
    if e & DENSE != 0 {
        u + g * 64
    } else {
        u + g * 16
    }
}

impl<K: Key> Trie<K> {
    /// Word `j` (below `2^DIR2`) of the second-level block of first-level word `e`: one word
    /// of a dense block, or one line of a lines block.
    #[inline(always)]
    pub(crate) fn dir_word(&self, e: u32, j: usize) -> u32 {
        let u = (e & UNIT_MASK) as usize * UNIT;
        if !LINES_READ || e & DENSE != 0 {
            return self.dir.get(u + j).copied().unwrap_or(0);
        }
        let (g, q) = (j >> 6, j & 63);
        let Some(l) = self.dir.get(u + g * 16..u + g * 16 + 16) else {
            return 0;
        };
        let h = l[0] as u64 | (l[1] as u64) << 32;
        // 2 to 15 in a well-formed line: a check predicted to pass, off the chain of loads.
        l.get(1 + popcount(h & upto(q), self.hw) as usize)
            .copied()
            .unwrap_or(0)
    }

    /// The index in [`Trie::dir`] of word 0 of the block of word `e` if it is dense (its
    /// words are then in place, word `j` at that index plus `j`).
    #[inline]
    pub(super) fn dense_at(e: u32) -> Option<usize> {
        (e & DENSE != 0).then_some((e & UNIT_MASK) as usize * UNIT)
    }

    /// The 64 words of group `g` of the block of word `e`.
    pub(super) fn group_words(&self, e: u32, g: usize) -> [u32; 64] {
        let at = group_at(e, g);
        let mut out = [0u32; 64];
        if e & DENSE != 0 {
            out.copy_from_slice(&self.dir[at..at + 64]);
            return out;
        }
        let h = self.dir[at] as u64 | (self.dir[at + 1] as u64) << 32;
        let mut r = at + 1;
        for (q, w) in out.iter_mut().enumerate() {
            r += (h >> q & 1) as usize;
            *w = self.dir[r];
        }
        out
    }

    /// The one word of group `g` of the block of word `e` when its 64 words are equal.
    pub(super) fn group_uniform(&self, e: u32, g: usize) -> Option<u32> {
        let w = self.group_words(e, g);
        w.iter().all(|&x| x == w[0]).then_some(w[0])
    }

    /// Writes `words` (runs `leafvec`/`runs`) as group `g` of the block of word `e`, whose
    /// form must hold them.
    fn write_group(&mut self, e: u32, g: usize, words: &[u32; 64], leafvec: u64, runs: &[u32]) {
        let at = group_at(e, g);
        if e & DENSE != 0 {
            self.dir[at..at + 64].copy_from_slice(words);
            return;
        }
        debug_assert!(runs.len() <= LINE_RUNS);
        self.dir[at] = leafvec as u32;
        self.dir[at + 1] = (leafvec >> 32) as u32;
        self.dir[at + 2..at + 2 + runs.len()].copy_from_slice(runs);
    }

    /// Stores `words` as group `g` of the block of word `e` and returns the block's word:
    /// `e`, or when the group does not fit a line, the word of the block copied into the
    /// dense form (the old one freed).
    pub(super) fn set_group(&mut self, e: u32, g: usize, words: &[u32; 64]) -> u32 {
        let (leafvec, runs, n) = runs_of(words);
        let e = if e & DENSE == 0 && n > LINE_RUNS {
            self.make_dense(e)
        } else {
            e
        };
        self.write_group(e, g, words, leafvec, &runs[..n]);
        e
    }

    /// Sets word `q` of group `g` of the block of word `e` to `w` and returns the block's
    /// word (see [`Trie::set_group`]). In a dense block, or when both the old and the new
    /// word lead deeper (a node or flat block replaced by another: each is a run of its
    /// own), the word is written in place.
    pub(super) fn set_group_word(&mut self, e: u32, g: usize, q: usize, w: u32) -> u32 {
        let at = group_at(e, g);
        if e & DENSE != 0 {
            self.dir[at + q] = w;
            return e;
        }
        let h = self.dir[at] as u64 | (self.dir[at + 1] as u64) << 32;
        let i = at + 1 + popcount(h & upto(q), self.hw) as usize;
        if self.dir[i] & super::layout::TAGS != 0 && w & super::layout::TAGS != 0 {
            self.dir[i] = w;
            return e;
        }
        let mut words = self.group_words(e, g);
        words[q] = w;
        self.set_group(e, g, &words)
    }

    /// Copies the lines block of word `e` into a dense one; returns its word.
    #[cold]
    fn make_dense(&mut self, e: u32) -> u32 {
        let n = self.new_dir_block(true);
        for g in 0..UNIT_LINES {
            let words = self.group_words(e, g);
            self.write_group(n, g, &words, 0, &[]);
        }
        self.dir_deep[(n & UNIT_MASK) as usize] = self.dir_deep[(e & UNIT_MASK) as usize];
        self.free_dir_block(e);
        n
    }

    /// Stores the 64 groups `rows` as a new second-level block (lines when every group fits
    /// one and [`Trie::dir_lines`] is on, else dense) with `deep` words leading deeper, and returns its
    /// first-level word.
    pub(super) fn new_dir_from(&mut self, rows: &[[u32; 64]; 64], deep: u32) -> u32 {
        // Runs start at word 0 and wherever a word differs from the one before.
        let fits = |r: &[u32; 64]| r.windows(2).filter(|w| w[0] != w[1]).count() < LINE_RUNS;
        let dense = !(LINES_READ && self.dir_lines && rows.iter().all(fits));
        let e = self.new_dir_block(dense);
        for (g, row) in rows.iter().enumerate() {
            if dense {
                self.write_group(e, g, row, 0, &[]);
            } else {
                let (leafvec, runs, n) = runs_of(row);
                self.write_group(e, g, row, leafvec, &runs[..n]);
            }
        }
        self.dir_deep[(e & UNIT_MASK) as usize] = deep;
        e
    }

    /// How many words of the block of word `e` lead deeper.
    pub(super) fn dir_deep_of(&self, e: u32) -> u32 {
        self.dir_deep[(e & UNIT_MASK) as usize]
    }

    /// Sets how many words of the block of word `e` lead deeper.
    pub(super) fn set_dir_deep(&mut self, e: u32, deep: u32) {
        self.dir_deep[(e & UNIT_MASK) as usize] = deep;
    }

    /// A second-level block (contents unspecified); its first-level word.
    fn new_dir_block(&mut self, dense: bool) -> u32 {
        let n = if dense { DENSE_UNITS } else { 1 };
        let u = match self.free_units[n].pop() {
            Some(u) => u as usize,
            None => {
                let u = self.dir.len() / UNIT;
                assert!(u + n <= UNIT_MASK as usize, "lpm: second level overflow");
                self.dir.resize(self.dir.len() + n * UNIT, 0);
                self.dir_deep.resize(u + n, 0);
                u
            }
        };
        DIR | if dense { DENSE } else { 0 } | u as u32
    }

    /// Frees the block of word `e`.
    pub(super) fn free_dir_block(&mut self, e: u32) {
        let u = e & UNIT_MASK;
        self.dir_deep[u as usize] = 0;
        self.free_units[units(e)].push(u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lpm::trie::layout::NODE;

    /// Both forms: a block made from 64 groups of random runs (leaves over few values, and
    /// node references, each its own run) reads back word by word and group by group; single
    /// words and whole groups rewritten at random read back too, a lines block moving to the
    /// dense form when a group outgrows its line; a freed block's units are reused.
    #[test]
    fn blocks_read_back_in_both_forms() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut refs = 0u32;
        let mut word = |next: &mut dyn FnMut() -> u64| {
            if next() % 8 == 0 {
                refs += 1;
                NODE | refs
            } else {
                (next() % 3) as u32
            }
        };
        let mut seen = [0usize; 2];
        for round in 0..200 {
            let mut t = Trie::<u128>::new();
            t.dir_lines = round % 5 != 0;
            // Something in front, so that the block does not start at unit 0.
            let pad = t.new_dir_block(round % 2 == 0);
            let mut rows = [[0u32; 64]; 64];
            // Groups of 1 to about 40 runs (more with references) (a few over a line's 14 in some rounds).
            let many = round % 3 == 0;
            for row in rows.iter_mut() {
                let starts = if many {
                    next() & next()
                } else {
                    next() & next() & next() & next()
                } | 1;
                let mut w = word(&mut next);
                for (q, v) in row.iter_mut().enumerate() {
                    // A reference is a run of its own (a node is under one word).
                    if q > 0 && (starts >> q & 1 == 1 || w & NODE != 0) {
                        w = word(&mut next);
                    }
                    *v = w;
                }
            }
            let fits = rows.iter().all(|r| runs_of(r).2 <= LINE_RUNS);
            let e = t.new_dir_from(&rows, 7);
            assert_eq!(is_dense(e), !(t.dir_lines && fits));
            assert_ne!(e & UNIT_MASK, pad & UNIT_MASK);
            assert_eq!(t.dir_deep_of(e), 7);
            let check = |t: &Trie<u128>, e: u32, rows: &[[u32; 64]; 64]| {
                for (g, row) in rows.iter().enumerate() {
                    assert_eq!(&t.group_words(e, g), row, "group {g}");
                    let uniform = row.iter().all(|&w| w == row[0]).then_some(row[0]);
                    assert_eq!(t.group_uniform(e, g), uniform);
                    for (q, &w) in row.iter().enumerate() {
                        assert_eq!(t.dir_word(e, g << 6 | q), w, "word {g}/{q}");
                    }
                }
            };
            check(&t, e, &rows);
            let mut e = e;
            let was_dense = is_dense(e);
            for i in 0..60 {
                let g = (next() % 64) as usize;
                if i % 10 == 9 {
                    // A whole group, sometimes of 64 runs.
                    let mut row = rows[g];
                    let n = if next() % 4 == 0 { 64 } else { 3 };
                    for v in row.iter_mut().take(n) {
                        *v = word(&mut next);
                    }
                    e = t.set_group(e, g, &row);
                    rows[g] = row;
                } else {
                    let q = (next() % 64) as usize;
                    let w = word(&mut next);
                    e = t.set_group_word(e, g, q, w);
                    rows[g][q] = w;
                }
                assert_eq!(t.dir_deep_of(e), 7, "the count moves with the block");
            }
            check(&t, e, &rows);
            assert!(!was_dense || is_dense(e), "never back to lines");
            seen[is_dense(e) as usize] += 1;
            t.free_dir_block(e);
            let again = t.new_dir_block(is_dense(e));
            assert_eq!(
                again & UNIT_MASK,
                e & UNIT_MASK,
                "the freed units are reused"
            );
        }
        assert!(seen[0] > 0 && seen[1] > 0, "both forms: {seen:?}");
    }
}
