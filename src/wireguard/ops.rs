//! The WireGuard operations of [`Handle`]: reading a device's configuration and state
//! (`wg show`) and changing it (`wg set`), over generic netlink in the handle's namespace.

use super::codec::{self, add_dump_message, FAMILY, VERSION, WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE};
use super::types::{Wireguard, WireguardConfig};
use crate::genl::GenlSocket;
use crate::wire;
use crate::{Error, Handle, LinkRef, Result};

/// # WireGuard
///
/// `wg show`, `wg set` (the device itself: [`Handle::add_wireguard`]).
impl Handle {
    /// A generic netlink socket in the handle's namespace and the WireGuard family's id there.
    fn wireguard_socket(&self) -> Result<(GenlSocket, u16)> {
        let ns = self.netns()?;
        let mut s = GenlSocket::open_in(&ns)?;
        let id = s.family_id(FAMILY, "WireGuard")?;
        Ok((s, id))
    }

    /// A WireGuard device's keys, port, mark and peers, with each peer's endpoint, allowed
    /// IPs, last handshake and byte counters. Equivalent to `wg show DEV` (`wg show DEV dump`).
    ///
    /// A kernel without WireGuard answers with [`Error::Unsupported`].
    pub fn wireguard<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<Wireguard> {
        let op = "get wireguard device";
        let index = self.link_index(link)?;
        let (mut s, family) = self.wireguard_socket()?;
        let mut dev = None;
        s.request(
            op,
            family,
            WG_CMD_GET_DEVICE,
            VERSION,
            wire::NLM_F_DUMP,
            &codec::device_selector(index),
            |payload| add_dump_message(&mut dev, payload).map_err(|e| Error::malformed(op, e)),
        )?;
        dev.ok_or_else(|| Error::malformed(op, "an empty reply"))
    }

    /// Changes a WireGuard device: its private key, listen port, mark, and peers (added,
    /// changed or removed, each with its preshared key, endpoint, keepalive and allowed IPs).
    /// Equivalent to `wg set DEV [private-key K] [listen-port P] [fwmark M] [peer KEY [remove]
    /// [preshared-key K] [endpoint A:P] [persistent-keepalive S] [allowed-ips …]]…`, and with
    /// [`replace_peers`](WireguardConfig::replace_peers) to `wg setconf`.
    ///
    /// A peer listed twice, a removed peer with other settings, a keepalive that is not whole
    /// seconds up to 65535 and an endpoint that is not a unicast address with a port are
    /// refused before anything is sent. All of it travels in one message: a change too large
    /// for one (thousands of allowed IPs) is refused; split it into several.
    pub fn set_wireguard<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        config: &WireguardConfig,
    ) -> Result<()> {
        let op = "set wireguard device";
        let index = self.link_index(link)?;
        let attrs = codec::set_device_attrs(index, config)?;
        let (mut s, family) = self.wireguard_socket()?;
        s.request(
            op,
            family,
            WG_CMD_SET_DEVICE,
            VERSION,
            wire::NLM_F_ACK,
            &attrs,
            |_| Ok(()),
        )
    }
}
