//! Routes (`ip route`): add, replace, append, delete, list and look up (`ip route get`), IPv4
//! and IPv6, in any table, with ECMP next hops, `via` gateways of the other family, and
//! metrics.
//!
//! Creating a route takes a [`NewRoute`]; dumps and lookups return [`Route`]; deleting takes
//! a [`RouteKey`] that names the route the way `ip route del` does. The operations are
//! methods of [`Handle`](crate::Handle) (`add_route`, `routes`, `route_get`, …) and of
//! [`Batch`](crate::batch::Batch).
//!
//! Files: `types.rs` (the types above), `values.rs` (type, scope, protocol, flags,
//! metrics), `encode.rs` (requests, checked before sending),
//! `decode.rs` (replies, read straight from the bytes with named offsets), `ops.rs` (the
//! `Handle` and `Batch` methods).

mod decode;
mod encode;
mod ops;
#[cfg(test)]
mod tests;
mod types;
mod values;

pub(crate) use decode::route_from_bytes;
#[cfg(test)]
pub(crate) use encode::route_message;
pub use types::{
    NewRoute, NextHop, Route, RouteFilter, RouteKey, RouteNextHop, RoutePreference, RouteQuery,
    MAX_NEXT_HOP_BYTES,
};
pub use values::{NextHopFlags, RouteFlags, RouteMetrics, RouteProtocol, RouteScope, RouteType};
