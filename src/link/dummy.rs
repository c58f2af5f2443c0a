//! dummy devices (`ip link add NAME type dummy`): a link that drops what it is sent, the usual
//! home of a routing daemon's loopback-like addresses (a router id, an anycast service IP).

use netlink_packet_route::link::{InfoKind, LinkMessage};

use super::base::{new_link_message, put_in_netns};
use crate::types::check_ifname;
use crate::{Handle, MacAddr, NetNs, Result};

/// A dummy device to create ([`LinkKind::Dummy`](super::LinkKind::Dummy) once it exists).
///
/// ```no_run
/// use netplumb::{Handle, link::NewDummy};
///
/// let h = Handle::new()?;
/// // ip link add lo1 mtu 9000 type dummy
/// h.add_dummy(&NewDummy { mtu: Some(9000), ..NewDummy::new("lo1") })?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewDummy<'a> {
    /// Device name.
    pub name: String,
    /// MTU (the kernel's default, 1500, when `None`).
    pub mtu: Option<u32>,
    /// Hardware address (random when `None`).
    pub mac: Option<MacAddr>,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`.
    pub netns: Option<&'a NetNs>,
}

impl NewDummy<'_> {
    /// A dummy device named `name` with the kernel's defaults, in the handle's namespace.
    pub fn new(name: &str) -> NewDummy<'static> {
        NewDummy {
            name: name.to_string(),
            ..NewDummy::default()
        }
    }
}

/// # Links: dummy
///
/// `ip link add NAME type dummy`.
impl Handle {
    /// Creates a dummy device. Equivalent to
    /// `ip link add NAME [mtu M] [address A] [netns NS] type dummy`.
    ///
    /// A kernel without the `dummy` module answers with [`Error::Unsupported`](crate::Error::Unsupported).
    pub fn add_dummy(&self, dummy: &NewDummy<'_>) -> Result<()> {
        self.create_link("dummy", dummy_message(dummy)?)
    }
}

/// The `RTM_NEWLINK` request for a dummy device.
pub(crate) fn dummy_message(d: &NewDummy<'_>) -> Result<LinkMessage> {
    check_ifname("dummy name", &d.name)?;
    let mut msg = new_link_message(&d.name, d.mtu, d.mac, InfoKind::Dummy, None)?;
    put_in_netns(&mut msg, d.netns);
    Ok(msg)
}
