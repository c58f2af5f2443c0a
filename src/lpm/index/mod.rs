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
