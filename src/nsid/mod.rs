//! Namespace ids (`ip netns set`, `ip netns list-id`): the numbers by which one network
//! namespace knows the others, as in a veth's `link-netnsid`.
//!
//! | netplumb | iproute2 |
//! | --- | --- |
//! | [`Handle::assign_netns_id`]`(&ns, Some(5))` | `ip netns set NAME 5` |
//! | [`Handle::netns_id`]`(&ns)` | `ip netns list-id` (the line of NAME) |
//! | [`Handle::netns_ids`] | `ip netns list-id` |
//! | [`Handle::netns_of_id`] | the name column of `ip netns list-id` |
//! | [`Monitor`](crate::monitor::Monitor) with [`Groups::NSID`](crate::monitor::Groups::NSID) | `ip monitor nsid` |
//!
//! Files: `types.rs`, `codec.rs`, `ops.rs`.
//!
//! [`Handle::assign_netns_id`]: crate::Handle::assign_netns_id
//! [`Handle::netns_id`]: crate::Handle::netns_id
//! [`Handle::netns_ids`]: crate::Handle::netns_ids
//! [`Handle::netns_of_id`]: crate::Handle::netns_of_id

mod codec;
mod ops;
mod types;

pub(crate) use codec::nsid_from_message;
pub use types::Nsid;
