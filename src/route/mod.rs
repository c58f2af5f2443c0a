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
//! `Handle` and `Batch` methods), `mpls.rs` (MPLS routes, `ip -f mpls route`: types, codec
//! and operations together).
//!
//! IP routes can push MPLS labels ([`NewRoute::encap`], `encap mpls L1/L2`); the MPLS table
//! itself is [`Handle::add_mpls_route`](crate::Handle::add_mpls_route),
//! [`mpls_routes`](crate::Handle::mpls_routes) and friends. IPv6 routes can add segment
//! routing headers (`encap seg6`, [`RouteEncap::Seg6`]) or bind a local segment routing
//! function to a segment ID (`encap seg6local action End.X nh6 …`, [`Seg6Local`]).

mod decode;
mod encode;
mod mpls;
mod ops;
#[cfg(test)]
mod tests;
mod types;
mod values;

pub(crate) use decode::route_from_bytes;
#[cfg(test)]
pub(crate) use encode::route_message;
#[cfg(test)]
pub(crate) use mpls::mpls_route_message;
pub use mpls::{MplsRoute, NewMplsRoute};
pub use types::{
    NewRoute, NextHop, Route, RouteEncap, RouteFilter, RouteKey, RouteNextHop, RoutePreference,
    RouteQuery, Seg6Local, Seg6LocalAction, Seg6Mode, MAX_NEXT_HOP_BYTES,
};
pub use values::{NextHopFlags, RouteFlags, RouteMetrics, RouteProtocol, RouteScope, RouteType};
