//! [`FibStore`]: what a [`Fib`](crate::lpm::Fib) needs of its side table, the two tables
//! that provide it, and (in [`FibKey`]) which of them a key type uses.

use super::packed::PackedSlots;
use super::slots::Slots;
use crate::lpm::key::Key;

/// The side table of a [`Fib`](crate::lpm::Fib) (its prefixes that no address matches, with their
/// `u32` ids), chosen per key type by [`FibKey::FibStore`]: [`PackedSlots`] for IPv4, [`Slots`]
/// for IPv6. The same operations as [`Slots`], with the id passed by value (a packed slot has
/// no `&mut u32`).
pub trait FibStore<K: Key>: Clone + Send + Sync + 'static {
    /// An empty store (no slots).
    fn new() -> Self;
    /// Number of entries.
    fn len(&self) -> usize;
    /// Number of slots.
    fn cap(&self) -> usize;
    /// Heap bytes held.
    fn bytes(&self) -> usize;
    /// The slot holding `key/len`.
    fn find(&self, key: K, len: u8) -> Option<usize>;
    /// As [`Slots::probe`].
    fn probe(&self, key: K, len: u8) -> Result<usize, usize>;
    /// As [`Slots::full`].
    fn full(&self) -> bool;
    /// As [`Slots::fill`].
    fn fill(&mut self, i: usize, key: K, len: u8, id: u32);
    /// Removes the entry of slot `i`, returning its id.
    fn take(&mut self, i: usize) -> u32;
    /// The key of occupied slot `i`.
    fn key(&self, i: usize) -> K;
    /// The prefix length of occupied slot `i`.
    fn plen(&self, i: usize) -> u8;
    /// The id of occupied slot `i`.
    fn val(&self, i: usize) -> u32;
    /// Sets the id of occupied slot `i`, returning the previous one.
    fn replace(&mut self, i: usize, id: u32) -> u32;
    /// The occupied slots, in slot order.
    fn occupied(&self) -> impl Iterator<Item = usize> + '_;
    /// Moves every entry into a new table of (at least) `cap` slots, without tombstones.
    fn rebuild(&mut self, cap: usize);
    /// Reserves room for `n` entries in an empty table.
    fn size_for(&mut self, n: usize);
}

/// A [`Key`] with the [`FibStore`] a [`Fib`](crate::lpm::Fib) of it keeps aside: here, beside the
/// stores, so that the key type itself names no store.
pub trait FibKey: Key {
    /// The side table of a [`Fib`](crate::lpm::Fib) of this key (prefixes no address
    /// matches): one packed `u64` a slot for IPv4, the generic slot table for IPv6.
    type FibStore: FibStore<Self>;
}

impl FibKey for u32 {
    type FibStore = PackedSlots;
}

impl FibKey for u128 {
    type FibStore = Slots<u128, u32>;
}

impl<K: Key> FibStore<K> for Slots<K, u32> {
    fn new() -> Self {
        Slots::new()
    }
    #[inline]
    fn len(&self) -> usize {
        Slots::len(self)
    }
    #[inline]
    fn cap(&self) -> usize {
        Slots::cap(self)
    }
    fn bytes(&self) -> usize {
        Slots::bytes(self)
    }
    #[inline]
    fn find(&self, key: K, len: u8) -> Option<usize> {
        Slots::find(self, key, len)
    }
    #[inline]
    fn probe(&self, key: K, len: u8) -> Result<usize, usize> {
        Slots::probe(self, key, len)
    }
    #[inline]
    fn full(&self) -> bool {
        Slots::full(self)
    }
    #[inline]
    fn fill(&mut self, i: usize, key: K, len: u8, id: u32) {
        Slots::fill(self, i, key, len, id)
    }
    fn take(&mut self, i: usize) -> u32 {
        Slots::take(self, i)
    }
    #[inline]
    fn key(&self, i: usize) -> K {
        Slots::key(self, i)
    }
    #[inline]
    fn plen(&self, i: usize) -> u8 {
        Slots::plen(self, i)
    }
    #[inline]
    fn val(&self, i: usize) -> u32 {
        *Slots::val(self, i)
    }
    #[inline]
    fn replace(&mut self, i: usize, id: u32) -> u32 {
        std::mem::replace(self.val_mut(i), id)
    }
    fn occupied(&self) -> impl Iterator<Item = usize> + '_ {
        Slots::occupied(self)
    }
    fn rebuild(&mut self, cap: usize) {
        Slots::rebuild(self, cap);
    }
    fn size_for(&mut self, n: usize) {
        Slots::size_for(self, n)
    }
}

impl FibStore<u32> for PackedSlots {
    #[inline]
    fn new() -> Self {
        PackedSlots::new()
    }
    #[inline]
    fn len(&self) -> usize {
        PackedSlots::len(self)
    }
    #[inline]
    fn cap(&self) -> usize {
        PackedSlots::cap(self)
    }
    #[inline]
    fn bytes(&self) -> usize {
        PackedSlots::bytes(self)
    }
    #[inline]
    fn find(&self, key: u32, len: u8) -> Option<usize> {
        PackedSlots::find(self, key, len)
    }
    #[inline]
    fn probe(&self, key: u32, len: u8) -> Result<usize, usize> {
        PackedSlots::probe(self, key, len)
    }
    #[inline]
    fn full(&self) -> bool {
        PackedSlots::full(self)
    }
    #[inline]
    fn fill(&mut self, i: usize, key: u32, len: u8, id: u32) {
        PackedSlots::fill(self, i, key, len, id)
    }
    #[inline]
    fn take(&mut self, i: usize) -> u32 {
        PackedSlots::take(self, i)
    }
    #[inline(always)]
    fn key(&self, i: usize) -> u32 {
        PackedSlots::key(self, i)
    }
    #[inline(always)]
    fn plen(&self, i: usize) -> u8 {
        PackedSlots::plen(self, i)
    }
    #[inline(always)]
    fn val(&self, i: usize) -> u32 {
        PackedSlots::val(self, i)
    }
    #[inline(always)]
    fn replace(&mut self, i: usize, id: u32) -> u32 {
        PackedSlots::replace(self, i, id)
    }
    #[inline]
    fn occupied(&self) -> impl Iterator<Item = usize> + '_ {
        PackedSlots::occupied(self)
    }
    #[inline]
    fn rebuild(&mut self, cap: usize) {
        PackedSlots::rebuild(self, cap)
    }
    #[inline]
    fn size_for(&mut self, n: usize) {
        PackedSlots::size_for(self, n)
    }
}
