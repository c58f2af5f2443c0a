//! The entry stores: open-addressing hash tables (linear probing) whose slots hold the
//! prefixes and their values themselves. [`Slots`] (the [`PrefixMap`](super::PrefixMap)'s)
//! keeps three parallel arrays (keys, lengths, values); the keys array holds only the leading
//! [`Key::HI_BITS`](super::key::Key::HI_BITS) bits of each prefix (all of an IPv4 address, the
//! upper half of an IPv6 one: 8 bytes a slot instead of 16); the rare longer prefixes (an
//! IPv6 prefix longer than /64) keep their whole key in a side map.
//!
//! A slot number is an entry's identity: the compiled trie's leaves are slot numbers + 1, and
//! an entry never moves while it is in the table (a removal leaves a tombstone), so that a
//! replacement is one probe (the key, length and value of a slot are read in parallel, not one
//! after the other) and a removal repaints only the removed prefix. When the table must grow
//! (or shed tombstones) every entry moves at once and the trie is relabelled in one pass.
//!
//! A `PrefixMap` lookup ends with the read of its value, and that read is most of what it
//! costs beyond a [`Fib`](crate::lpm::Fib)'s: on the full IPv4 table, 10 M random addresses,
//! a `PrefixMap<_, ()>` (no value to read) made 207 M lookups/s, a `PrefixMap<_, u32>` 121
//! and a `Fib` 246 (one binary, alternated, medians of 5). Random addresses met 589,045
//! distinct prefixes: 55% of the lookups matched a /16 or shorter. Tried and dropped
//! (2026-12-06, 2-core EPYC VM, 1 MiB L2): the values apart from the slots, densely, so
//! that the short prefixes' values share cache lines: the slot table holding each entry's
//! leaf, the leaf naming a value by length and index (one pool per length) or by index in
//! one pool filled shortest prefixes first. Both were slower than the slot table, why not
//! settled (no hardware counters in this VM). The one pool, in four runs of
//! `lpm_compare --only netplumb` alternated with the slot table's: random IPv4 lookups
//! 98-128 against 118-139 M/s, in-table 118-141 against 130-163, updates 23-24 against
//! 29-34 M/s (a replacement reads the value's line after the slot's), heap 24.9 against
//! 18.2 MiB (pools by length: 110-121 random, 23.1 MiB). A map whose values are small ids
//! is a `Fib`.
//!
//! A [`Fib`](crate::lpm::Fib) keeps only the prefixes its leaves cannot show (those no address
//! matches) in a [`FibStore`]: for IPv4 a [`PackedSlots`](packed::PackedSlots) (the same table with key, length
//! and id packed in one `u64` a slot: one cache line a probe, 8 bytes a slot instead of 9).
//!
//! Files, bottom up: `slots.rs` (the table, its hash and markers), `packed.rs` (the packed
//! table), `fib_store.rs` (the interface a `Fib` uses, and which table each key type gets).

mod fib_store;
mod packed;
mod slots;

pub(crate) use fib_store::{FibKey, FibStore};
pub(crate) use slots::Slots;
