//! Interface addresses (`ip addr`): add, replace, delete and list, IPv4 and IPv6.
//!
//! Files: `types.rs` ([`NewAddress`], [`Address`], [`AddressFilter`]), `codec.rs` (the
//! messages), `ops.rs` (the `Handle` and `Batch` methods).

mod codec;
mod ops;
mod types;

pub(crate) use codec::address_from_bytes;
#[cfg(test)]
pub(crate) use codec::address_message;
pub use types::{
    Address, AddressFilter, AddressFlags, AddressKey, AddressProtocol, AddressScope, NewAddress,
};
