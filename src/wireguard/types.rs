//! WireGuard's public types: keys (a public one that prints as `wg` prints it, and secrets that
//! never print), a device and its peers as the kernel reports them (`wg show`), and the changes
//! `wg set` makes.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use ipnetwork::IpNetwork;

use crate::{Error, IfIndex, IfName, Result};

/// The length of a WireGuard key (Curve25519 keys and preshared keys alike).
pub const WIREGUARD_KEY_LEN: usize = 32;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as `wg` writes keys (44 characters for 32 bytes).
fn base64(b: &[u8; WIREGUARD_KEY_LEN]) -> String {
    let mut out = String::with_capacity(44);
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, x)| n | u32::from(*x) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads a key written in base64 (`wg genkey`, `wg pubkey`, `wg genpsk`).
fn from_base64(arg: &'static str, s: &str) -> Result<[u8; WIREGUARD_KEY_LEN]> {
    let bad = || {
        Error::invalid(
            arg,
            "not a WireGuard key: 44 characters of base64 ending in '=' expected",
        )
    };
    let s = s.trim().as_bytes();
    if s.len() != 44 || s[43] != b'=' {
        return Err(bad());
    }
    let mut out = [0u8; WIREGUARD_KEY_LEN];
    let mut acc = 0u32;
    let mut bits = 0;
    let mut n = 0;
    for &c in &s[..43] {
        let v = B64.iter().position(|&x| x == c).ok_or_else(bad)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if n < WIREGUARD_KEY_LEN {
                out[n] = (acc >> bits) as u8;
            }
            n += 1;
            acc &= (1 << bits) - 1;
        }
    }
    // 43 characters carry 258 bits: 32 bytes and 2 bits that must be zero.
    if n != WIREGUARD_KEY_LEN || acc != 0 {
        return Err(bad());
    }
    Ok(out)
}

/// A WireGuard public key. Displays (and parses) as base64, as `wg` shows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireguardKey(pub [u8; WIREGUARD_KEY_LEN]);

impl WireguardKey {
    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; WIREGUARD_KEY_LEN] {
        &self.0
    }
}

impl fmt::Display for WireguardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64(&self.0))
    }
}

impl fmt::Debug for WireguardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WireguardKey({self})")
    }
}

impl FromStr for WireguardKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<WireguardKey> {
        from_base64("public key", s).map(WireguardKey)
    }
}

/// A WireGuard secret: a private key or a preshared key. It never prints: `Debug` and
/// `Display` show `(hidden)`, as `wg show` does; [`expose_base64`](WireguardSecret::expose_base64)
/// is the one deliberate way to get it back as text. Its bytes are overwritten when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct WireguardSecret([u8; WIREGUARD_KEY_LEN]);

impl WireguardSecret {
    /// Wraps 32 secret bytes.
    pub const fn new(bytes: [u8; WIREGUARD_KEY_LEN]) -> WireguardSecret {
        WireguardSecret(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; WIREGUARD_KEY_LEN] {
        &self.0
    }

    /// The secret as `wg genkey` writes it: for writing it where it belongs, not for logs.
    pub fn expose_base64(&self) -> String {
        base64(&self.0)
    }

    /// Whether this is the all-zero key, which the kernel reads as "none" (a preshared key of
    /// zeros removes it).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; WIREGUARD_KEY_LEN]
    }
}

impl Drop for WireguardSecret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY-free best effort: a volatile-like write the optimizer keeps, since the
            // value is read through `black_box` afterwards.
            *b = 0;
        }
        std::hint::black_box(&self.0);
    }
}

impl fmt::Debug for WireguardSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WireguardSecret((hidden))")
    }
}

impl fmt::Display for WireguardSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(hidden)")
    }
}

impl FromStr for WireguardSecret {
    type Err = Error;
    fn from_str(s: &str) -> Result<WireguardSecret> {
        from_base64("secret key", s).map(WireguardSecret)
    }
}

/// A WireGuard device's configuration and state, as `wg show DEV` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wireguard {
    /// The device's index.
    pub index: IfIndex,
    /// The device's name.
    pub name: IfName,
    /// The private key, when one is set (the kernel reports it to `CAP_NET_ADMIN` only).
    pub private_key: Option<WireguardSecret>,
    /// The public key derived from it, when a private key is set.
    pub public_key: Option<WireguardKey>,
    /// The UDP port the device listens on (0 before it is up without one set).
    pub listen_port: u16,
    /// The firewall mark of its outgoing packets (0: none).
    pub fwmark: u32,
    /// The peers.
    pub peers: Vec<WireguardPeer>,
}

/// A peer of a WireGuard device, as `wg show` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireguardPeer {
    /// The peer's public key.
    pub public_key: WireguardKey,
    /// The preshared key, when one is set.
    pub preshared_key: Option<WireguardSecret>,
    /// The peer's endpoint, when known (set, or learnt from its packets).
    pub endpoint: Option<SocketAddr>,
    /// The persistent keepalive interval; `None` when off.
    pub persistent_keepalive: Option<Duration>,
    /// When the last handshake completed; `None` before any.
    pub last_handshake: Option<SystemTime>,
    /// Bytes received from the peer.
    pub rx_bytes: u64,
    /// Bytes sent to the peer.
    pub tx_bytes: u64,
    /// The addresses the peer may send from and is routed to.
    pub allowed_ips: Vec<IpNetwork>,
    /// The protocol version (1).
    pub protocol_version: u32,
}

/// Changes to a WireGuard device, as `wg set DEV …` makes them. Fields left `None` are kept.
///
/// ```no_run
/// use netplumb::{Handle, wireguard::{WireguardConfig, WireguardPeerConfig}};
///
/// let h = Handle::new()?;
/// // wg set wg0 private-key KEY listen-port 51820 peer PEER endpoint 192.0.2.2:51820 \
/// //     allowed-ips 10.0.0.2/32
/// h.set_wireguard("wg0", &WireguardConfig {
///     private_key: Some("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=".parse()?),
///     listen_port: Some(51820),
///     peers: vec![WireguardPeerConfig {
///         endpoint: Some("192.0.2.2:51820".parse()?),
///         allowed_ips: vec!["10.0.0.2/32".parse()?],
///         ..WireguardPeerConfig::new("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=".parse()?)
///     }],
///     ..WireguardConfig::default()
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireguardConfig {
    /// The private key (`private-key`); the all-zero key removes it.
    pub private_key: Option<WireguardSecret>,
    /// The UDP port to listen on (`listen-port`; 0 picks one).
    pub listen_port: Option<u16>,
    /// The firewall mark of outgoing packets (`fwmark`; 0 removes it).
    pub fwmark: Option<u32>,
    /// Remove every peer not in [`peers`](WireguardConfig::peers) (`wg setconf`'s semantics;
    /// `wg set` leaves other peers alone).
    pub replace_peers: bool,
    /// Peers to add, change or remove.
    pub peers: Vec<WireguardPeerConfig>,
}

/// A peer to add, change or remove, in a [`WireguardConfig`]. Fields left `None` are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireguardPeerConfig {
    /// The peer's public key (`peer KEY`).
    pub public_key: WireguardKey,
    /// Remove the peer (`remove`); no other field may be set then.
    pub remove: bool,
    /// Change the peer only if it exists, never add it.
    pub update_only: bool,
    /// The preshared key (`preshared-key`); the all-zero key removes it.
    pub preshared_key: Option<WireguardSecret>,
    /// The peer's endpoint (`endpoint IP:PORT`).
    pub endpoint: Option<SocketAddr>,
    /// The persistent keepalive interval (`persistent-keepalive`, whole seconds up to 65535;
    /// zero turns it off).
    pub persistent_keepalive: Option<Duration>,
    /// Replace the peer's allowed IPs with [`allowed_ips`](WireguardPeerConfig::allowed_ips)
    /// rather than adding to them (`wg set`'s `allowed-ips` replaces).
    pub replace_allowed_ips: bool,
    /// Allowed IPs to add (or, with `replace_allowed_ips`, the whole new list).
    pub allowed_ips: Vec<IpNetwork>,
}

impl WireguardPeerConfig {
    /// A change of the peer `public_key` that changes nothing yet (fill in the fields).
    pub fn new(public_key: WireguardKey) -> WireguardPeerConfig {
        WireguardPeerConfig {
            public_key,
            remove: false,
            update_only: false,
            preshared_key: None,
            endpoint: None,
            persistent_keepalive: None,
            replace_allowed_ips: false,
            allowed_ips: Vec::new(),
        }
    }

    /// The removal of the peer `public_key` (`wg set DEV peer KEY remove`).
    pub fn remove(public_key: WireguardKey) -> WireguardPeerConfig {
        WireguardPeerConfig {
            remove: true,
            ..WireguardPeerConfig::new(public_key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_base64_and_secrets_never_print() {
        // A key pair from the WireGuard documentation.
        let text = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
        let k: WireguardKey = text.parse().unwrap();
        assert_eq!(k.to_string(), text);
        assert_eq!(format!("{k:?}"), format!("WireguardKey({text})"));
        let s: WireguardSecret = text.parse().unwrap();
        assert_eq!(s.as_bytes(), k.as_bytes());
        assert_eq!(s.expose_base64(), text);
        assert!(!format!("{s} {s:?} {s:#?}").contains(text));
        assert!(!format!("{s:?}").contains("yAnz"));
        for bad in [
            "",
            "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk",
            "!Anz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
            "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmn=",
        ] {
            assert!(bad.parse::<WireguardKey>().is_err(), "{bad}");
        }
        for n in 0..=255u8 {
            let k = WireguardKey([n; 32]);
            assert_eq!(k.to_string().parse::<WireguardKey>().unwrap(), k);
        }
    }
}
