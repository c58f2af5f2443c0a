//! macvtap devices (`ip link add NAME link PARENT type macvtap mode …`): a macvlan with a tap
//! character device (`/dev/tapN`, N its index) through which a VM (QEMU, libvirt) sends and
//! receives its frames. Created from a [`NewMacvlan`], reported as
//! [`LinkKind::Macvtap`](super::LinkKind::Macvtap) with macvlan's settings.

use netlink_packet_route::link::{InfoData, InfoKind, InfoMacVtap, LinkMessage};

use super::macvlan::{
    macvlan_like_message, macvlan_nlas, to_tap, Macvlan, MacvlanMode, NewMacvlan,
};
use crate::types::check_ifname;
use crate::{Handle, IfIndex, MacAddr, Result};

/// A macvtap's reported settings, read as a macvlan's.
pub(crate) fn macvtap_from_nlas(nlas: Vec<InfoMacVtap>) -> Macvlan {
    let mut info = Macvlan::default();
    for nla in nlas {
        match nla {
            InfoMacVtap::Mode(m) => info.mode = Some(MacvlanMode::from_wire(m)),
            InfoMacVtap::MacAddrData(list) => {
                info.source_macs = list
                    .into_iter()
                    .filter_map(|a| match a {
                        InfoMacVtap::MacAddr(m) => Some(MacAddr(m)),
                        _ => None,
                    })
                    .collect()
            }
            _ => {}
        }
    }
    info
}

/// # Links: macvtap
///
/// `ip link add NAME link PARENT type macvtap mode M`.
impl Handle {
    /// Creates a macvtap device on a parent. Equivalent to `ip link add NAME link PARENT
    /// [mtu M] [address A] [netns NS] type macvtap mode private|vepa|bridge|passthru|source
    /// [macaddr set A …]`. Its tap device is `/dev/tapN`, N its [`IfIndex`].
    ///
    /// A kernel without the `macvtap` module answers with [`Error::Unsupported`](crate::Error::Unsupported).
    pub fn add_macvtap(&self, macvtap: &NewMacvlan<'_>) -> Result<()> {
        check_ifname("macvtap name", &macvtap.name)?;
        macvlan_nlas(macvtap)?;
        let parent = self.link_index(macvtap.parent)?;
        self.create_link("macvtap", macvtap_message(macvtap, parent)?)
    }
}

/// The `RTM_NEWLINK` request for a macvtap device.
pub(crate) fn macvtap_message(m: &NewMacvlan<'_>, parent: IfIndex) -> Result<LinkMessage> {
    check_ifname("macvtap name", &m.name)?;
    let data = macvlan_nlas(m)?.into_iter().filter_map(to_tap).collect();
    macvlan_like_message(m, parent, InfoKind::MacVtap, InfoData::MacVtap(data))
}
