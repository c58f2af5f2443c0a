//! Neighbour tables (`ip neigh`): ARP (IPv4) and NDP (IPv6) entries — add, replace, delete,
//! list and flush, including proxy entries.
//!
//! NewBridge and VXLAN forwarding entries (`bridge fdb`) live in [`fdb`](crate::fdb); they travel in
//! the same kernel messages but are a different table.
//!
//! Files: `types.rs`, `codec.rs` (the messages), `ops.rs` (the `Handle` and `Batch` methods).

mod codec;
mod ops;
mod types;

pub(crate) use codec::neighbour_from_bytes;
#[cfg(test)]
pub(crate) use codec::neighbour_message;
#[cfg(test)]
pub(crate) use codec::neighbour_table_from_message;
pub use types::{
    Neighbour, NeighbourFilter, NeighbourFlags, NeighbourState, NeighbourTable,
    NeighbourTableParams, NewNeighbour,
};
