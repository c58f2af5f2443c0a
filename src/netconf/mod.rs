//! Per-namespace network settings (`sysctl net.ipv4.conf.*`, `net.ipv6.conf.*`) and the
//! kernel's netconf records (`ip netconf`).
//!
//! | netplumb | iproute2 / procps |
//! | --- | --- |
//! | [`NetNs::conf`]`(ConfScope::All, ConfKnob::Ipv4Forwarding)` | `ip netns exec NS sysctl net.ipv4.conf.all.forwarding` |
//! | [`NetNs::set_conf`]`(ConfScope::Link("eth0"), ConfKnob::ProxyArp, 1)` | `ip netns exec NS sysctl -w net.ipv4.conf.eth0.proxy_arp=1` |
//! | [`Handle::netconf`]`(IpFamily::V4)` | `ip -4 netconf show` |
//! | [`Monitor`](crate::monitor::Monitor) with [`Groups::NETCONF`](crate::monitor::Groups::NETCONF) | `ip monitor netconf` |
//!
//! The knobs ([`ConfKnob`]) are those container and routing tools set: IPv4 `forwarding`,
//! `proxy_arp`, `rp_filter`, `arp_ignore`, `arp_announce`, `arp_notify`, `accept_local`,
//! `route_localnet`; IPv6 `forwarding`, `accept_ra`, `disable_ipv6`, `accept_dad`,
//! `addr_gen_mode`. The `net.*` tree of `/proc/sys` belongs to the network namespace of the
//! thread that opens it, so [`NetNs::conf`] opens it from a short-lived thread inside the
//! namespace, as [`NetNs::run`] does; the caller's thread never moves.
//!
//! To wait for an IPv6 address to leave `tentative` (duplicate address detection), see
//! [`Handle::wait_address_ready`](crate::Handle::wait_address_ready).
//!
//! Files: `types.rs`, `codec.rs`, `ops.rs`.
//!
//! [`NetNs::conf`]: crate::NetNs::conf
//! [`NetNs::set_conf`]: crate::NetNs::set_conf
//! [`NetNs::run`]: crate::NetNs::run
//! [`Handle::netconf`]: crate::Handle::netconf

mod codec;
mod ops;
mod types;

pub(crate) use codec::{netconf_from_bytes, RTM_DELNETCONF, RTM_NEWNETCONF};
pub use types::{ConfKnob, ConfScope, Netconf, NetconfScope};
