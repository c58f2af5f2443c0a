//! Forwarding databases (`bridge fdb`): the MAC → port entries of Linux bridges and the
//! MAC → remote tunnel endpoint entries of VXLAN devices.
//!
//! A VXLAN device floods broadcast, unknown-unicast and multicast frames to every remote of its
//! all-zero-MAC entries; [`Handle::append_fdb`](crate::Handle::append_fdb) adds one more such remote, which is how
//! flannel- and EVPN-style overlays program head-end replication.
//!
//! Files: `types.rs`, `codec.rs` (the messages), `ops.rs` (the `Handle` and `Batch` methods).

mod codec;
mod ops;
mod types;

pub(crate) use codec::fdb_from_bytes;
#[cfg(test)]
pub(crate) use codec::fdb_message;
pub use types::{FdbEntry, FdbExtFlags, FdbFilter, FdbFlush, FdbState, FdbTarget, NewFdbEntry};
