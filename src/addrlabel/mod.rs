//! IPv6 address labels (`ip addrlabel`): the policy table of source address selection
//! (RFC 6724), which prefers a source address whose label equals the destination's.
//!
//! | netplumb | iproute2 |
//! | --- | --- |
//! | [`Handle::add_addrlabel`] | `ip addrlabel add prefix P label L [dev D]` |
//! | [`Handle::delete_addrlabel`] | `ip addrlabel del prefix P label L [dev D]` |
//! | [`Handle::addrlabels`] | `ip addrlabel list` |
//!
//! Files: `types.rs`, `codec.rs`, `ops.rs`.
//!
//! [`Handle::add_addrlabel`]: crate::Handle::add_addrlabel
//! [`Handle::delete_addrlabel`]: crate::Handle::delete_addrlabel
//! [`Handle::addrlabels`]: crate::Handle::addrlabels

mod codec;
mod ops;
mod types;

#[cfg(test)]
pub(crate) use codec::addrlabel_message;
pub use types::{AddrLabel, NewAddrLabel};
