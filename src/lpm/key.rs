//! [`Key`]: the integer form of an address (`u32` or `u128`), and the trie's layout per
//! family (direct bits, summary, second level). The bottom of the engine: it names no other
//! file.

use std::fmt::Debug;
use std::hash::Hash;

/// The integer form of an address (`u32` or `u128`); internal to the engine.
pub trait Key: Copy + Eq + Ord + Hash + Debug + Default + Send + Sync + 'static {
    /// Width in bits.
    const BITS: u32;
    /// Bits indexed directly by the first level of the compiled trie.
    const DIRECT: u32;
    /// Bits of a small summary level in front of the first (0: none). Each summary word
    /// holds the leaf shared by its whole range of first-level words, when they are all
    /// the same leaf; random IPv6 addresses, which mostly fall in empty space, are then
    /// answered from a few kilobytes that stay in the L1 cache.
    const COARSE: u32;
    /// Bits of the second direct level (0: none): a first-level word with both tag bits
    /// set names a block of `2^DIR2` words that index the next `DIR2` bits directly (see
    /// the trie module).
    const DIR2: u32;
    /// The leading bits kept in the entry table for a prefix of at most `HI_BITS` bits
    /// (`u32` for IPv4, the upper `u64` for IPv6); longer prefixes keep their whole key
    /// aside.
    type Hi: Copy + Eq + Debug + Send + Sync + 'static;
    /// Width of [`Hi`](Self::Hi) in bits.
    const HI_BITS: u32;
    /// The all-zero `Hi`.
    const HI_ZERO: Self::Hi;
    /// The leading `HI_BITS` bits.
    fn hi(self) -> Self::Hi;
    /// The key whose leading bits are `h`, the rest zero.
    fn from_hi(h: Self::Hi) -> Self;
    /// The all-zero key.
    const ZERO: Self;
    /// The `len` leading bits set.
    fn mask(len: u32) -> Self;
    /// Bitwise and.
    fn and(self, other: Self) -> Self;
    /// Bitwise exclusive or.
    fn xor(self, other: Self) -> Self;
    /// Bitwise not.
    fn not(self) -> Self;
    /// The first `DIRECT` bits, as an index.
    fn top(self) -> usize;
    /// The 6 bits starting at bit `d` (from the most significant end, `d < BITS`),
    /// padded with zeros past the end of the key.
    fn stride_at(self, d: u32) -> usize;
    /// The `w` bits starting at bit `d` (`d + w <= BITS`).
    fn bits_at(self, d: u32, w: u32) -> usize;
    /// The key with the `w` bits from bit `d` set to `v`; bits of `v` that would fall
    /// past the end of the key are dropped (a trie position below the last bit).
    fn with_bits(self, d: u32, w: u32, v: usize) -> Self;
    /// Bit `i` (0 = most significant).
    fn bit(self, i: u32) -> bool;
    /// A 64-bit digest for hashing (not yet mixed).
    fn fold(self) -> u64;
}

/// Bits of the IPv6 second direct level.
const DIR2_V6: u32 = 12;

macro_rules! impl_key {
    ($t:ty, $hi:ty, $direct:expr, $coarse:expr, $dir2:expr) => {
        impl Key for $t {
            type Hi = $hi;
            const HI_BITS: u32 = <$hi>::BITS;
            const HI_ZERO: $hi = 0;
            #[inline(always)]
            fn hi(self) -> $hi {
                (self >> (<$t>::BITS - <$hi>::BITS)) as $hi
            }
            #[inline(always)]
            fn from_hi(h: $hi) -> Self {
                #[allow(clippy::unnecessary_cast)]
                let k = (h as $t) << (<$t>::BITS - <$hi>::BITS);
                k
            }
            const BITS: u32 = <$t>::BITS;
            const DIRECT: u32 = $direct;
            const COARSE: u32 = $coarse;
            const DIR2: u32 = $dir2;
            const ZERO: Self = 0;
            #[inline(always)]
            fn mask(len: u32) -> Self {
                if len == 0 {
                    0
                } else {
                    <$t>::MAX << (<$t>::BITS - len)
                }
            }
            #[inline(always)]
            fn and(self, other: Self) -> Self {
                self & other
            }
            #[inline(always)]
            fn xor(self, other: Self) -> Self {
                self ^ other
            }
            #[inline(always)]
            fn not(self) -> Self {
                !self
            }
            #[inline(always)]
            fn top(self) -> usize {
                (self >> (<$t>::BITS - $direct)) as usize
            }
            #[inline(always)]
            fn stride_at(self, d: u32) -> usize {
                ((self << d) >> (<$t>::BITS - 6)) as usize
            }
            #[inline(always)]
            fn bits_at(self, d: u32, w: u32) -> usize {
                ((self << d) >> (<$t>::BITS - w)) as usize
            }
            #[inline(always)]
            fn with_bits(self, d: u32, w: u32, v: usize) -> Self {
                let (w, v) = if d + w > <$t>::BITS {
                    (<$t>::BITS - d, v >> (d + w - <$t>::BITS))
                } else {
                    (w, v)
                };
                if w == 0 {
                    return self;
                }
                let shift = <$t>::BITS - d - w;
                let field = (<$t>::MAX >> (<$t>::BITS - w)) << shift;
                (self & !field) | ((v as $t) << shift & field)
            }
            #[inline(always)]
            fn bit(self, i: u32) -> bool {
                (self >> (<$t>::BITS - 1 - i)) & 1 == 1
            }
            #[inline(always)]
            fn fold(self) -> u64 {
                #[allow(clippy::unnecessary_cast)]
                let x = self as u128;
                (x as u64) ^ ((x >> 64) as u64).rotate_left(29)
            }
        }
    };
}
// IPv4: 2^18 first-level words (1 MiB): a flat block under a word covers its 64 /24s exactly.
// Against 2^19 words (2 MiB in one huge page, flat blocks of 64 /25s), measured on the full
// table: 1.17 MiB less heap, lookups the same within noise (a cached key set 5% faster),
// the update replay about 4% slower (callgrind: +10% instructions, +1.4% D1
// misses; flat blocks hold twice the runs). 2^20 words: 2.3 MiB more, 10-20% slower. Nearly
// every region of an IPv4 table is populated, so a summary level would not pay.
impl_key!(u32, u32, 18, 0, 0);
// IPv6: 2^18 first-level words (stored densely for 2000::/3, 128 KiB, and elsewhere only for
// the /12s that differ within), then 16 KiB second-level blocks (bits 18..30) under
// the first-level words of a real table that hold many longer prefixes (154 of 200): a /48 is
// three nodes below (it was five below a 2^19 first level alone), a /32 one. Measured on the
// full table: about 1.3x the in-table lookup rate, for 0.4 MiB more heap than 2^19 words
// without blocks (2^19 words with 8 KiB blocks everywhere: the same depth, 0.65 MiB more than
// 16 KiB blocks everywhere). The 2^12-word summary (16 KiB) answers the empty space.
impl_key!(u128, u64, 18, 12, DIR2_V6);
