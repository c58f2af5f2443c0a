//! macvlan devices (`ip link add … link PARENT type macvlan mode …`): extra MAC addresses on a
//! parent device, each its own interface — how CNI's macvlan plugin gives pods a presence on the
//! host's network.

use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkMessage, MacVlanMode as NlMode,
};

use super::base::new_link_message;
use crate::types::check_ifname;
use std::os::fd::{AsFd, AsRawFd};

use crate::{Handle, IfIndex, LinkRef, MacAddr, NetNs, Result};

/// How macvlan devices on one parent reach each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MacvlanMode {
    /// No traffic between macvlans of the parent (`private`).
    Private,
    /// Traffic between macvlans goes out to the adjacent switch and back (`vepa`).
    Vepa,
    /// Macvlans of the parent reach each other directly (`bridge`, the usual choice).
    #[default]
    Bridge,
    /// One macvlan takes over the parent, for passing it into a namespace (`passthru`).
    Passthru,
    /// Receive only frames from listed source MACs (`source`).
    Source,
    /// A mode this version does not know.
    Other(u32),
}

impl MacvlanMode {
    fn from_wire(m: NlMode) -> Self {
        match m {
            NlMode::Private => MacvlanMode::Private,
            NlMode::Vepa => MacvlanMode::Vepa,
            NlMode::Bridge => MacvlanMode::Bridge,
            NlMode::Passthrough => MacvlanMode::Passthru,
            NlMode::Source => MacvlanMode::Source,
            other => MacvlanMode::Other(u32::from(other)),
        }
    }

    fn to_wire(self) -> NlMode {
        match self {
            MacvlanMode::Private => NlMode::Private,
            MacvlanMode::Vepa => NlMode::Vepa,
            MacvlanMode::Bridge => NlMode::Bridge,
            MacvlanMode::Passthru => NlMode::Passthrough,
            MacvlanMode::Source => NlMode::Source,
            MacvlanMode::Other(v) => NlMode::from(v),
        }
    }
}

/// A macvlan device to create.
///
/// ```no_run
/// use netplumb::{Handle, link::{NewMacvlan, MacvlanMode}};
///
/// let h = Handle::new()?;
/// // ip link add mv0 link eth0 type macvlan mode bridge
/// h.add_macvlan(&NewMacvlan::new("mv0", "eth0", MacvlanMode::Bridge))?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMacvlan<'a> {
    /// Device name.
    pub name: String,
    /// The parent device (`link DEV`).
    pub parent: LinkRef<'a>,
    /// The mode.
    pub mode: MacvlanMode,
    /// MTU (at most the parent's).
    pub mtu: Option<u32>,
    /// Hardware address; the kernel picks a random one by default.
    pub mac: Option<MacAddr>,
}

impl<'a> NewMacvlan<'a> {
    /// A macvlan named `name` on `parent` in `mode`.
    pub fn new(name: &str, parent: impl Into<LinkRef<'a>>, mode: MacvlanMode) -> NewMacvlan<'a> {
        NewMacvlan {
            name: name.to_string(),
            parent: parent.into(),
            mode,
            mtu: None,
            mac: None,
        }
    }
}

/// A macvlan device's settings as the kernel reports them. Its parent is [`Link::link`].
///
/// [`Link::link`]: super::Link::link
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Macvlan {
    /// The mode.
    pub mode: Option<MacvlanMode>,
}

impl Macvlan {
    pub(crate) fn from_nlas(nlas: Vec<InfoMacVlan>) -> Macvlan {
        let mut info = Macvlan::default();
        for nla in nlas {
            if let InfoMacVlan::Mode(m) = nla {
                info.mode = Some(MacvlanMode::from_wire(m));
            }
        }
        info
    }
}

/// # Links: macvlan
///
/// `ip link add … link PARENT type macvlan mode M`.
impl Handle {
    /// Creates a macvlan device on a parent. Equivalent to
    /// `ip link add NAME link PARENT type macvlan mode MODE`.
    pub fn add_macvlan(&self, macvlan: &NewMacvlan<'_>) -> Result<()> {
        let parent = self.link_index(macvlan.parent)?;
        self.create_link("macvlan", macvlan_message(macvlan, parent)?)
    }

    /// Creates a macvlan device on a parent of this handle's namespace straight into another
    /// namespace. Equivalent to `ip link add NAME link PARENT netns NS type macvlan mode MODE`.
    ///
    /// Made there in one request, the device never exists in this namespace (its name need not
    /// be free here) and costs no move between namespaces (which waits for an RCU grace
    /// period): how a CNI plugin gives a container a macvlan.
    pub fn add_macvlan_in(&self, macvlan: &NewMacvlan<'_>, netns: &NetNs) -> Result<()> {
        let parent = self.link_index(macvlan.parent)?;
        let mut msg = macvlan_message(macvlan, parent)?;
        msg.attributes
            .push(LinkAttribute::NetNsFd(netns.as_fd().as_raw_fd()));
        self.create_link("macvlan", msg)
    }
}

/// The `RTM_NEWLINK` request for a macvlan device.
pub(crate) fn macvlan_message(m: &NewMacvlan<'_>, parent: IfIndex) -> Result<LinkMessage> {
    check_ifname("macvlan name", &m.name)?;
    let mut msg = new_link_message(
        &m.name,
        m.mtu,
        m.mac,
        InfoKind::MacVlan,
        Some(InfoData::MacVlan(vec![InfoMacVlan::Mode(m.mode.to_wire())])),
    )?;
    // iproute2 puts IFLA_LINK first.
    msg.attributes.insert(0, LinkAttribute::Link(parent.get()));
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for m in [
            MacvlanMode::Private,
            MacvlanMode::Vepa,
            MacvlanMode::Bridge,
            MacvlanMode::Passthru,
            MacvlanMode::Source,
            MacvlanMode::Other(64),
        ] {
            assert_eq!(MacvlanMode::from_wire(m.to_wire()), m);
        }
    }
}
