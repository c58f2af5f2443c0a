//! The compiled lookup structure: a Poptrie (Asai & Ohara, SIGCOMM 2015).
//!
//! A direct-indexed first level of `2^DIRECT` words (for IPv6: dense for 2000::/3, elsewhere
//! held in 64-word chunks that the `2^COARSE`-word summary names only where its range differs
//! within; and a second direct level of `2^DIR2`-word blocks under the populated first-level
//! words), then nodes of stride 6 with a 64-bit `vector` (position holds a child node) and a
//! 64-bit `leafvec` (a run of equal leaves starts here: leaf compression). Children and leaves of a node are contiguous
//! and found by popcount. A leaf is an entry number + 1 (0 = no match), leaf-pushed: every
//! position holds the longest prefix covering it.
//!
//! Updates repaint only the positions inside the changed prefix and rebuild only the
//! nodes on that path; arrays of 1..=64 elements are recycled through per-size free lists.
//!
//! Files, by job: `layout.rs` (the words, nodes and arrays; `popcount`), `lookup.rs`,
//! `visit.rs` (a read-only walk under a prefix), `replace.rs` (leaf swaps in place and
//! relabelling), `paint.rs` (the general update), `alloc.rs` (arrays and free lists),
//! `flat.rs` (flat blocks) and `second.rs` (the IPv6 second-level blocks' groups).

mod alloc;
pub(crate) mod export;
mod flat;
mod layout;
mod lookup;
mod paint;
mod replace;
mod second;
mod visit;

#[cfg(test)]
pub(crate) use flat::LINES_V4;
#[cfg(test)]
pub(crate) use layout::DIR;
pub(crate) use layout::{Trie, FLAT};
#[cfg(test)]
pub(crate) use second::is_dense;
