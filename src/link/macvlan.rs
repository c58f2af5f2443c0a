//! macvlan devices (`ip link add … link PARENT type macvlan mode …`): extra MAC addresses on a
//! parent device, each its own interface — how CNI's macvlan plugin gives pods a presence on the
//! host's network.

use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, InfoMacVtap, LinkAttribute, LinkInfo, LinkMessage,
    MacVlanMacAddressMode, MacVlanMode as NlMode,
};

use super::base::{kind_of, new_link_message, put_in_netns};
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, MacAddr, NetNs, Result};

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
    pub(crate) fn from_wire(m: NlMode) -> Self {
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
#[derive(Clone, Debug)]
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
    /// In [`MacvlanMode::Source`], the source MACs whose frames the device receives
    /// (`macaddr set A B …`); refused in other modes.
    pub source_macs: Vec<MacAddr>,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`. The parent
    /// stays where it is.
    pub netns: Option<&'a NetNs>,
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
            source_macs: Vec::new(),
            netns: None,
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
    /// In [`MacvlanMode::Source`], the source MACs the device receives from.
    pub source_macs: Vec<MacAddr>,
}

impl Macvlan {
    pub(crate) fn from_nlas(nlas: Vec<InfoMacVlan>) -> Macvlan {
        let mut info = Macvlan::default();
        for nla in nlas {
            match nla {
                InfoMacVlan::Mode(m) => info.mode = Some(MacvlanMode::from_wire(m)),
                InfoMacVlan::MacAddrData(list) => {
                    info.source_macs = list
                        .into_iter()
                        .filter_map(|a| match a {
                            InfoMacVlan::MacAddr(m) => Some(MacAddr(m)),
                            _ => None,
                        })
                        .collect()
                }
                _ => {}
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
    /// `ip link add NAME link PARENT [mtu M] [address A] [netns NS] type macvlan mode MODE
    /// [macaddr set A …]`.
    pub fn add_macvlan(&self, macvlan: &NewMacvlan<'_>) -> Result<()> {
        check_ifname("macvlan name", &macvlan.name)?;
        macvlan_nlas(macvlan)?;
        let parent = self.link_index(macvlan.parent)?;
        self.create_link("macvlan", macvlan_message(macvlan, parent)?)
    }

    /// Creates a macvlan device on a parent of this handle's namespace straight into another
    /// namespace: [`add_macvlan`](Handle::add_macvlan) with [`NewMacvlan::netns`] set.
    /// Equivalent to `ip link add NAME link PARENT netns NS type macvlan mode MODE`.
    ///
    /// Made there in one request, the device never exists in this namespace (on recent kernels
    /// its name need not be free here; Linux 6.1 still refuses a name taken here with
    /// `EEXIST`) and costs no move between namespaces (which waits for an RCU grace
    /// period): how a CNI plugin gives a container a macvlan.
    pub fn add_macvlan_in(&self, macvlan: &NewMacvlan<'_>, netns: &NetNs) -> Result<()> {
        self.add_macvlan(&NewMacvlan {
            netns: Some(netns),
            ..macvlan.clone()
        })
    }

    /// Replaces the source MAC list of a macvlan or macvtap device in mode `source` (an empty
    /// list flushes it). Equivalent to `ip link set NAME type macvlan|macvtap macaddr set A …`
    /// (`macaddr flush` when empty).
    pub fn set_macvlan_source_macs<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        macs: &[MacAddr],
    ) -> Result<()> {
        let link = link.into();
        let current = self.link_message(link)?;
        let kind = match kind_of(&current).0 {
            Some(k @ (InfoKind::MacVlan | InfoKind::MacVtap)) => k.clone(),
            _ => {
                return Err(Error::invalid(
                    "source_macs",
                    format!("{link} is not a macvlan or macvtap device"),
                ))
            }
        };
        let mut data = Vec::new();
        if macs.is_empty() {
            data.push(InfoMacVlan::MacAddrMode(MacVlanMacAddressMode::Flush));
        } else {
            data.push(InfoMacVlan::MacAddrMode(MacVlanMacAddressMode::Set));
            data.push(InfoMacVlan::MacAddrData(
                macs.iter().map(|a| InfoMacVlan::MacAddr(a.0)).collect(),
            ));
        }
        let data = if kind == InfoKind::MacVtap {
            InfoData::MacVtap(
                data.into_iter()
                    .filter_map(to_tap)
                    .collect::<Vec<InfoMacVtap>>(),
            )
        } else {
            InfoData::MacVlan(data)
        };
        let mut msg = LinkMessage::default();
        msg.header.index = current.header.index;
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(kind),
            LinkInfo::Data(data),
        ]));
        self.change_link("set macvlan source macs", link, msg)
    }
}

/// macvlan's attribute as macvtap's (the same numbers and layout, another type).
pub(crate) fn to_tap(a: InfoMacVlan) -> Option<InfoMacVtap> {
    Some(match a {
        InfoMacVlan::Mode(m) => InfoMacVtap::Mode(m),
        InfoMacVlan::Flags(f) => InfoMacVtap::Flags(f),
        InfoMacVlan::MacAddrMode(m) => InfoMacVtap::MacAddrMode(m),
        InfoMacVlan::MacAddr(m) => InfoMacVtap::MacAddr(m),
        InfoMacVlan::MacAddrData(l) => {
            InfoMacVtap::MacAddrData(l.into_iter().filter_map(to_tap).collect())
        }
        _ => return None,
    })
}

/// The `RTM_NEWLINK` request for a macvlan device.
pub(crate) fn macvlan_message(m: &NewMacvlan<'_>, parent: IfIndex) -> Result<LinkMessage> {
    check_ifname("macvlan name", &m.name)?;
    let data = InfoData::MacVlan(macvlan_nlas(m)?);
    macvlan_like_message(m, parent, InfoKind::MacVlan, data)
}

/// The kind data of a macvlan (or macvtap) device: its mode and source MACs.
pub(crate) fn macvlan_nlas(m: &NewMacvlan<'_>) -> Result<Vec<InfoMacVlan>> {
    let mut d = vec![InfoMacVlan::Mode(m.mode.to_wire())];
    if !m.source_macs.is_empty() {
        if m.mode != MacvlanMode::Source {
            return Err(Error::invalid(
                "source_macs",
                "source MACs are for mode source only",
            ));
        }
        d.push(InfoMacVlan::MacAddrMode(MacVlanMacAddressMode::Set));
        d.push(InfoMacVlan::MacAddrData(
            m.source_macs
                .iter()
                .map(|a| InfoMacVlan::MacAddr(a.0))
                .collect(),
        ));
    }
    Ok(d)
}

/// The `RTM_NEWLINK` request for a device on a parent with kind `kind` and data `data`.
pub(crate) fn macvlan_like_message(
    m: &NewMacvlan<'_>,
    parent: IfIndex,
    kind: InfoKind,
    data: InfoData,
) -> Result<LinkMessage> {
    let mut msg = new_link_message(&m.name, m.mtu, m.mac, kind, Some(data))?;
    // iproute2 puts IFLA_LINK first.
    msg.attributes.insert(0, LinkAttribute::Link(parent.get()));
    put_in_netns(&mut msg, m.netns);
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
