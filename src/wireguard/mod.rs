//! WireGuard (`wg show`, `wg set`): a device's keys, port and peers over generic netlink, the
//! `wireguard` family resolved by name in the handle's namespace. The device itself is a link:
//! [`Handle::add_wireguard`](crate::Handle::add_wireguard) (`ip link add NAME type wireguard`),
//! listed as [`LinkKind::Wireguard`](crate::link::LinkKind::Wireguard).
//!
//! | operation | `wg` |
//! | --- | --- |
//! | [`Handle::wireguard`](crate::Handle::wireguard) → [`Wireguard`] | `wg show DEV`, `wg show DEV dump` |
//! | [`Handle::set_wireguard`](crate::Handle::set_wireguard) with a [`WireguardConfig`] | `wg set DEV …`, `wg setconf` (with `replace_peers`) |
//!
//! Keys are [`WireguardKey`] (public: prints in base64 as `wg` does) and [`WireguardSecret`]
//! (private and preshared keys: never printed).
//!
//! Files: `types.rs` (keys, device, peers, changes), `codec.rs` (the family's attributes),
//! `ops.rs` (the `Handle` methods); the generic netlink socket is `genl.rs`.

mod codec;
mod ops;
mod types;

pub use types::{
    Wireguard, WireguardConfig, WireguardKey, WireguardPeer, WireguardPeerConfig, WireguardSecret,
    WIREGUARD_KEY_LEN,
};
