//! Longest-prefix-match routing table engine (no netlink dependency).
//!
//! - [`PrefixMap`]: prefixes of one family to values, with a fast
//!   [`lookup`](PrefixMap::lookup) / [`longest_match`](PrefixMap::longest_match) and a
//!   [`lookup_batch`](PrefixMap::lookup_batch) that overlaps independent lookups.
//! - [`Fib`]: prefixes to next-hop ids (`u32`), the id held in the compiled trie's leaves:
//!   one memory read less per lookup than a [`PrefixMap`] of `u32`, and the leaves are the
//!   table (a third of the memory).
//! - [`SharedFib`]: a [`Fib`] shared between one writer and any number of reader threads.
//!   Each thread looks up through its own [`FibReader`] with no lock, no atomic
//!   read-modify-write and no allocation, and never waits; the writer stages inserts and
//!   removes ([`FibOp`]s) and [`publish`](SharedFib::publish)es them, every change of a batch
//!   visible at once. The writer changes one private `Fib`; readers look up in a published
//!   copy of its lookup structure (a [`FibView`]: `lookup`, `longest_match`, `lookup_batch`),
//!   in which a publish rewrites only the first-level regions
//!   its changes cover and shares the rest with the version before; the writer never waits
//!   for a reader (see `SharedFib` for the protocol). About twice a `Fib`'s memory;
//!   measured with `lpm_compare` (`netplumb/shared` lines and the `shared-read` /
//!   `shared-write` ratios of its last line).
//! - [`IpPrefixMap`]: both families in one map, keyed by [`ipnetwork::IpNetwork`].
//! - [`Rib`]: every candidate route per prefix; keeps its FIB (a [`PrefixMap`]) in step
//!   and reports each change of best route as a [`FibChange`].
//!
//! Prefixes are validated once, as a [`Prefix`]: a prefix with host bits set is an
//! error ([`PrefixError::HostBitsSet`]), never silently truncated.
//!
//! The tables are collections: [`PrefixMap`], [`Fib`], [`IpPrefixMap`] and [`Rib`] iterate
//! owned and by reference in prefix order, and build with `collect` and `extend` (a [`Fib`]
//! with [`Fib::try_from_iter`] / [`Fib::try_extend`], since an id above [`Fib::MAX_ID`] is an
//! error). Their `Debug` prints a small table in full and a large one as a summary (family,
//! counts, memory, first entries). With the `serde` feature, a [`Prefix`] reads and writes as
//! its text form (`"10.0.0.0/8"`) and the tables as maps of prefix to value. None of this
//! module needs the `netlink` feature: it builds on any platform.
//!
//! How the trie is laid out, with measured sizes and rates: [`layout`].
//!
//! # Names
//!
//! No name here is also a name on the netlink side, so that code using both never needs
//! an alias: a [`Rib`] holds [`Candidate`]s (not `Route`: `netplumb::route::Route` is a
//! kernel route), each from a [`RibSource`] and with [`FibNextHop`]s (not `NextHop`:
//! `netplumb::route::NextHop`); the tables key on an [`IpKey`], the trait of
//! [`Ipv4Addr`](std::net::Ipv4Addr) and [`Ipv6Addr`](std::net::Ipv6Addr) (not `Address`:
//! `netplumb::addr::Address` is an address assigned to a link). What goes to the kernel is
//! named for the FIB: [`FibRoute`], [`FibChange`].

// Files, bottom up; each imports only from files below it, never from this one (which only
// declares and re-exports): `key` (the integer form of an address, the trie's layout per
// family) and `mem`; `index` (the slot tables: `slots`, `packed`, `fib_store`); `prefix`
// (`IpKey`, `Prefix`); `trie` (the compiled lookup structure: `layout`, then `lookup`,
// `visit`, `replace`, `alloc`, `paint`); then `map`, `fib`, `shared`, `dual` and `rib`.

mod dual;
mod fib;
mod index;
mod key;
mod map;
mod mem;
mod prefix;
mod rib;
mod shared;
mod trie;
// lpm-api: collection traits, Debug summaries, serde.
#[cfg(feature = "serde")]
mod serde_impl;
#[doc = include_str!("layout.md")]
pub mod layout {}
mod summary;
mod traits;

pub use dual::IpPrefixMap;
pub use fib::{Fib, Ipv4Fib, Ipv6Fib};
pub use map::{Ipv4PrefixMap, Ipv6PrefixMap, Iter, PrefixMap};
pub use prefix::{IpKey, Prefix, PrefixError};
pub use rib::{
    Candidate, FibChange, FibNextHop, FibRoute, Protocol, Rib, RibIntoIter, RibIter, RibSource,
};
pub use shared::{FibGuard, FibOp, FibReader, FibView, SharedFib};
pub use traits::{FibIntoIter, IntoIter, IpIntoIter, IpIter};
