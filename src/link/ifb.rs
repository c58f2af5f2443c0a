//! ifb devices (`ip link add NAME type ifb`): Intermediate Functional Blocks, where `tc`
//! redirects a device's ingress traffic so that it can be shaped like egress.

use netlink_packet_route::link::{InfoKind, LinkMessage};

use super::base::{new_link_message, put_in_netns};
use crate::types::check_ifname;
use crate::{Handle, MacAddr, NetNs, Result};

/// An ifb device to create ([`LinkKind::Ifb`](super::LinkKind::Ifb) once it exists).
///
/// ```no_run
/// use netplumb::{Handle, link::NewIfb};
///
/// // ip link add ifb-eth0 type ifb
/// Handle::new()?.add_ifb(&NewIfb::new("ifb-eth0"))?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewIfb<'a> {
    /// Device name.
    pub name: String,
    /// MTU (the kernel's default, 1500, when `None`).
    pub mtu: Option<u32>,
    /// Hardware address (random when `None`).
    pub mac: Option<MacAddr>,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`.
    pub netns: Option<&'a NetNs>,
}

impl NewIfb<'_> {
    /// An ifb device named `name` with the kernel's defaults, in the handle's namespace.
    pub fn new(name: &str) -> NewIfb<'static> {
        NewIfb {
            name: name.to_string(),
            ..NewIfb::default()
        }
    }
}

/// # Links: ifb
///
/// `ip link add NAME type ifb`.
impl Handle {
    /// Creates an ifb device. Equivalent to
    /// `ip link add NAME [mtu M] [address A] [netns NS] type ifb`.
    ///
    /// A kernel without the `ifb` module answers with [`Error::Unsupported`](crate::Error::Unsupported).
    pub fn add_ifb(&self, ifb: &NewIfb<'_>) -> Result<()> {
        self.create_link("ifb", ifb_message(ifb)?)
    }
}

/// The `RTM_NEWLINK` request for an ifb device.
pub(crate) fn ifb_message(d: &NewIfb<'_>) -> Result<LinkMessage> {
    check_ifname("ifb name", &d.name)?;
    let mut msg = new_link_message(&d.name, d.mtu, d.mac, InfoKind::Ifb, None)?;
    put_in_netns(&mut msg, d.netns);
    Ok(msg)
}
