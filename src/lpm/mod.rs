//! Longest-prefix-match routing table engine (no netlink dependency).
//!
//! - [`PrefixMap`]: prefixes of one family to values, with a fast
//!   [`lookup`](PrefixMap::lookup) / [`longest_match`](PrefixMap::longest_match) and a
//!   [`lookup_batch`](PrefixMap::lookup_batch) that overlaps independent lookups.
//! - [`Fib`]: prefixes to next-hop ids (`u32`), the id held in the compiled trie's leaves:
//!   one memory read less per lookup than a [`PrefixMap`] of `u32`, and the leaves are the
//!   table (a third of the memory).
//! - [`IpPrefixMap`]: both families in one map, keyed by [`ipnetwork::IpNetwork`].
//! - [`Rib`]: every candidate route per prefix; keeps its FIB (a [`PrefixMap`]) in step
//!   and reports each change of best route as a [`FibChange`].
//!
//! Prefixes are validated once, as a [`Prefix`]: a prefix with host bits set is an
//! error ([`PrefixError::HostBitsSet`]), never silently truncated.

mod dual;
mod fib;
mod index;
mod key;
mod map;
mod mem;
mod prefix;
mod rib;
mod trie;

pub use dual::IpPrefixMap;
pub use fib::{Fib, Ipv4Fib, Ipv6Fib};
pub use map::{Ipv4PrefixMap, Ipv6PrefixMap, Iter, PrefixMap};
pub use prefix::{Address, Prefix, PrefixError};
pub use rib::{FibChange, FibRoute, NextHop, Protocol, Rib, Route, RouteSource};
