//! WireGuard devices (`ip link add NAME type wireguard`): the link over rtnetlink; its keys and
//! peers are configured over generic netlink ([`crate::wireguard`]).

use netlink_packet_route::link::InfoKind;

use super::base::new_link_message;
use crate::types::check_ifname;
use crate::{Handle, Result};

/// A WireGuard device to create (`ip link add NAME type wireguard [mtu M]`); configure it with
/// [`Handle::set_wireguard`](crate::Handle::set_wireguard).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewWireguard {
    /// Device name.
    pub name: String,
    /// MTU of the device (the kernel's default is 1420).
    pub mtu: Option<u32>,
}

impl NewWireguard {
    /// A device named `name`.
    pub fn new(name: &str) -> NewWireguard {
        NewWireguard {
            name: name.to_string(),
            mtu: None,
        }
    }
}

/// # Links: WireGuard
///
/// `ip link add … type wireguard`.
impl Handle {
    /// Creates a WireGuard device. Equivalent to `ip link add NAME type wireguard [mtu M]`.
    /// A kernel without the `wireguard` module answers with [`Error::Unsupported`](crate::Error::Unsupported).
    pub fn add_wireguard(&self, device: &NewWireguard) -> Result<()> {
        self.create_link("wireguard", wireguard_message(device)?)
    }
}

pub(crate) fn wireguard_message(
    d: &NewWireguard,
) -> Result<netlink_packet_route::link::LinkMessage> {
    check_ifname("wireguard name", &d.name)?;
    new_link_message(&d.name, d.mtu, None, InfoKind::Wireguard, None)
}
