//! Policy routing rules (`ip rule`): add, delete and list, IPv4 and IPv6.
//!
//! Every new namespace starts with the rules `0: lookup local`, `32766: lookup main` and
//! (IPv4 only) `32767: lookup default`.
//!
//! Files: `types.rs`, `codec.rs` (the messages), `ops.rs` (the `Handle` methods).

mod codec;
mod ops;
mod types;

pub(crate) use codec::rule_from_bytes;
pub use types::{Rule, RuleAction, RuleFilter, RulePortRange, RuleUidRange};
