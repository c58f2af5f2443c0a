//! Nexthop objects (`ip nexthop`): next hops and groups of them that routes name by id.
//!
//! Since Linux 5.3 a next hop can be an object of its own, created once and shared by any
//! number of routes (`ip route add PREFIX nhid ID`): changing the object moves every route
//! using it at once, and a million routes over the same four gateways hold one group instead
//! of a million copies of it. This is how FRR installs routes today.
//!
//! | netplumb | iproute2 |
//! | --- | --- |
//! | [`Handle::add_nexthop`]`(&`[`NewNexthop::via_dev`]`(1, gw, "eth0"))` | `ip nexthop add id 1 via GW dev eth0` |
//! | [`NewNexthop::dev`], [`NewNexthop::blackhole`], [`NewNexthop::fdb_via`] | `… dev D`, `… blackhole`, `… via GW fdb` |
//! | [`NewNexthop::group`] | `ip nexthop add id 10 group 1,2/2` (weights 1–256) |
//! | [`NewNexthop::resilient_group`] | `… group 1/2 type resilient buckets N idle_timer S unbalanced_timer S` |
//! | [`Handle::replace_nexthop`], [`Handle::delete_nexthop`] | `ip nexthop replace …`, `ip nexthop del id ID` |
//! | [`Handle::nexthop`], [`Handle::nexthops`] | `ip nexthop get id ID`, `ip nexthop show [dev D] [groups] [fdb] [master M]` |
//! | [`NewRoute::via_nexthop`](crate::route::NewRoute::via_nexthop) | `ip route add PREFIX nhid ID` |
//!
//! Routes report the id they use in [`Route::nexthop_id`](crate::route::Route::nexthop_id)
//! (and the kernel expands the object into their next hops); the [`Monitor`](crate::monitor)
//! reports nexthop changes with [`Groups::NEXTHOP`](crate::monitor::Groups::NEXTHOP).
//!
//! Files: `types.rs`, `codec.rs` (the messages, written and read by netplumb), `ops.rs`.
//!
//! [`Handle::add_nexthop`]: crate::Handle::add_nexthop
//! [`Handle::replace_nexthop`]: crate::Handle::replace_nexthop
//! [`Handle::delete_nexthop`]: crate::Handle::delete_nexthop
//! [`Handle::nexthop`]: crate::Handle::nexthop
//! [`Handle::nexthops`]: crate::Handle::nexthops

mod codec;
mod ops;
mod types;

#[cfg(test)]
pub(crate) use codec::nexthop_message;
pub(crate) use codec::{nexthop_from_bytes, RTM_DELNEXTHOP, RTM_NEWNEXTHOP};
pub use types::{
    NewNexthop, NewNexthopKind, Nexthop, NexthopFilter, NexthopGroupMember, NexthopKind,
    ResilientGroup,
};
