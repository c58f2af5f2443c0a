//! # netplumb
//!
//! Synchronous, typed Linux network primitives over rtnetlink — network namespaces, veth pairs,
//! bridges and their ports and VLANs, FDB and neighbour tables, VXLAN, macvlan, VRF and IPIP
//! devices, addresses, routes and policy rules, pipelined batches, an event monitor — and a
//! pure-Rust longest-prefix-match routing table engine ([`lpm`]).
//!
//! Everything that talks to the kernel is a method of [`Handle`], one rtnetlink socket bound to
//! one network namespace. Every method's documentation names its iproute2 equivalent.
//!
//! | module | what | iproute2 |
//! | --- | --- | --- |
//! | [`netns`] | network namespaces | `ip netns` |
//! | [`link`] | links: dummy, ifb, VLAN, ipvlan/ipvtap, macvtap, tun/tap, any kind by name, veth, bridge (ports, VLANs), VXLAN, macvlan, VRF, IPIP, GRE, SIT, ip6tnl, VTI, Geneve, bond, WireGuard; born in a target namespace; altnames, GSO/GRO limits, addrgenmode, protodown, carrier | `ip link`, `ip tuntap`, `bridge link`, `bridge vlan` |
//! | [`addr`] | addresses | `ip addr` |
//! | [`route`] | routes, `route get` | `ip route` |
//! | [`nexthop`] | nexthop objects and groups | `ip nexthop` |
//! | [`rule`] | policy rules | `ip rule` |
//! | [`netconf`] | per-namespace settings (sysctl), netconf records | `sysctl net.ipv4.conf.*`, `ip netconf` |
//! | [`nsid`] | namespace ids | `ip netns set`, `ip netns list-id` |
//! | [`addrlabel`] | IPv6 address labels | `ip addrlabel` |
//! | [`neighbour`] | ARP/NDP entries, neighbour-table parameters | `ip neigh`, `ip ntable` |
//! | [`fdb`] | bridge and VXLAN forwarding entries | `bridge fdb` |
//! | [`batch`] | many requests pipelined, one result each | `ip -batch` |
//! | [`monitor`] | kernel events, VXLAN misses, overruns | `ip monitor` |
//! | [`wireguard`] | WireGuard keys and peers (generic netlink) | `wg show`, `wg set` |
//! | [`lpm`] | longest-prefix match, RIB → FIB (no netlink) | |
//!
//! ```no_run
//! use netplumb::{Handle, NetNs, link::NewVeth};
//!
//! // ip netns add pod
//! let pod = NetNs::create("pod")?;
//! let host = Handle::new()?;
//! // ip link add veth-pod type veth peer name eth0 netns pod
//! let mut veth = NewVeth::new("veth-pod", "eth0");
//! veth.peer.netns = Some(&pod);
//! host.add_veth(&veth)?;
//! // ip -n pod addr add 10.0.0.2/24 dev eth0; ip -n pod link set eth0 up
//! let inside = Handle::new_in(&pod)?;
//! inside.add_address("eth0", &"10.0.0.2/24".parse()?)?;
//! inside.set_link_up("eth0")?;
//! # Ok::<(), netplumb::Error>(())
//! ```
//!
//! Operations need `CAP_NET_ADMIN` (root) in the namespace they change. Errors are one
//! [`Error`] type that keeps the kernel's errno and its extended-ack explanation.
//!
//! Whole jobs are in the repository's `examples/`, each runnable as root and each also a test:
//! `flannel_vxlan` (a VXLAN overlay across host namespaces, with entries programmed up front or
//! by agents that answer the kernel's L2/L3 misses), `calico_routed` (/32 pod routes, proxy
//! ARP, blackholed blocks), `vrf_tenants` (overlapping tenants isolated by VRF), `fib_sync` (a
//! [`lpm::Rib`] mirrored into a kernel table on a full Internet table), `route_bulk`, `monitor`
//! (an `ip monitor` clone) and `lpm_compare`.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `netlink` | yes | every module but [`lpm`]: the netlink SDK ([`Handle`] and all above). Linux only; brings `netlink-packet-core`, `netlink-packet-route`, `netlink-sys`, `nix`, `bitflags` and `libc` |
//! | `libc` | yes (by `netlink`) | [`lpm`] on Linux: its big arrays in transparent huge pages (`madvise`), and [`SharedFib`](lpm::SharedFib) readers without a fence instruction (the writer's `membarrier`; else each read pays a full fence). No effect elsewhere |
//! | `tokio` | no | `netplumb::tokio`: the async face — every operation of [`Handle`] as a future on a tokio `AsyncFd` socket, listings and the monitor as `Stream`s. Brings `tokio` (`net`, `sync`) and `futures-core`; implies `netlink` |
//! | `serde` | no | `Serialize`/`Deserialize` for [`lpm::Prefix`] (its text form in human-readable formats) and the lpm tables (maps of prefix to value) |
//!
//! With `default-features = false` the crate is [`lpm`] alone, with no Linux-only dependency
//! (`ipnetwork` and `thiserror`; `serde` if asked for): it builds on any platform Rust
//! supports. `netplumb = { version = "0.1", default-features = false, features = ["libc"] }`
//! keeps the Linux speed-ups of [`lpm`] without the netlink side.
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
// Without `netlink`, the crate docs above name items that are not built (`Handle`, the netlink
// modules): rendered as plain text, not as broken links.
#![cfg_attr(not(feature = "netlink"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "netlink")]
pub mod addr;
#[cfg(feature = "netlink")]
pub mod addrlabel;
#[cfg(feature = "netlink")]
pub mod batch;
#[cfg(feature = "netlink")]
mod error;
#[cfg(feature = "netlink")]
pub mod fdb;
#[cfg(feature = "netlink")]
pub mod fib;
#[cfg(all(test, feature = "netlink"))]
mod fuzz;
#[cfg(feature = "netlink")]
mod genl;
#[cfg(all(test, feature = "netlink"))]
mod golden;
#[cfg(feature = "netlink")]
mod handle;
#[cfg(feature = "netlink")]
pub mod link;
// The lookup path alone uses `unsafe` (run-time popcnt dispatch, prefetch), each block argued.
#[allow(unsafe_code)]
pub mod lpm;
#[cfg(feature = "netlink")]
pub mod monitor;
#[cfg(feature = "netlink")]
mod names;
#[cfg(feature = "netlink")]
pub mod neighbour;
#[cfg(feature = "netlink")]
pub mod netconf;
#[cfg(feature = "netlink")]
pub mod netns;
#[cfg(feature = "netlink")]
pub mod nexthop;
#[cfg(feature = "netlink")]
pub mod nsid;
#[cfg(feature = "netlink")]
pub(crate) mod replay;
#[cfg(feature = "netlink")]
pub mod route;
#[cfg(feature = "netlink")]
pub mod rule;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "netlink")]
mod types;
#[cfg(feature = "netlink")]
mod wire;
#[cfg(feature = "netlink")]
pub mod wireguard;

#[cfg(feature = "netlink")]
pub use error::{Error, Result};
#[cfg(feature = "netlink")]
pub use handle::{Dump, Handle, DEFAULT_DUMP_ATTEMPTS};
#[cfg(feature = "netlink")]
pub use link::Link;
#[cfg(feature = "netlink")]
pub use names::{IfAlias, IfName, LinkRef};
#[cfg(feature = "netlink")]
pub use netns::NetNs;
#[cfg(feature = "netlink")]
pub use types::{IfIndex, IpFamily, MacAddr, TableId, VlanId, Vni, IFNAMSIZ};
