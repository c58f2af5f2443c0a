//! ipvlan and ipvtap devices (`ip link add NAME link PARENT type ipvlan|ipvtap mode …`):
//! interfaces that share their parent's MAC address and are told apart by IP address, as CNI's
//! `ipvlan` plugin gives pods on networks that allow one MAC per port. An ipvtap is an ipvlan
//! with a tap character device (`/dev/tapN`) for a VM.

use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoIpVtap, InfoKind, IpVlanFlags, IpVlanMode, LinkAttribute, LinkInfo,
    LinkMessage,
};

use super::base::{kind_of, new_link_message, put_in_netns};
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, MacAddr, NetNs, Result};

/// The layer at which an ipvlan device switches (`mode l2|l3|l3s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvlanMode {
    /// The parent's layer 2: neighbour discovery and broadcasts reach the slaves (`l2`).
    L2,
    /// Routed at layer 3 by the parent: no broadcast or multicast (`l3`, the kernel's default).
    #[default]
    L3,
    /// As `l3`, with the traffic passing netfilter in the slave's namespace (`l3s`).
    L3s,
    /// A mode this version does not know.
    Other(u16),
}

impl IpvlanMode {
    fn from_wire(m: IpVlanMode) -> Self {
        match m {
            IpVlanMode::L2 => IpvlanMode::L2,
            IpVlanMode::L3 => IpvlanMode::L3,
            IpVlanMode::L3S => IpvlanMode::L3s,
            other => IpvlanMode::Other(u16::from(other)),
        }
    }

    fn to_wire(self) -> IpVlanMode {
        match self {
            IpvlanMode::L2 => IpVlanMode::L2,
            IpvlanMode::L3 => IpVlanMode::L3,
            IpvlanMode::L3s => IpVlanMode::L3S,
            IpvlanMode::Other(v) => IpVlanMode::from(v),
        }
    }
}

/// How ipvlan devices on one parent reach each other (`bridge|private|vepa`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvlanIsolation {
    /// Directly, through the parent (`bridge`, the kernel's default).
    #[default]
    Bridge,
    /// Not at all (`private`).
    Private,
    /// Through the adjacent switch (`vepa`).
    Vepa,
    /// Flags this version does not know (the kernel's `IPVLAN_F_*` bits).
    Other(u16),
}

impl IpvlanIsolation {
    fn from_wire(f: IpVlanFlags) -> Self {
        match f.bits() {
            0 => IpvlanIsolation::Bridge,
            b if b == IpVlanFlags::Private.bits() => IpvlanIsolation::Private,
            b if b == IpVlanFlags::Vepa.bits() => IpvlanIsolation::Vepa,
            b => IpvlanIsolation::Other(b),
        }
    }

    fn to_wire(self) -> IpVlanFlags {
        match self {
            IpvlanIsolation::Bridge => IpVlanFlags::empty(),
            IpvlanIsolation::Private => IpVlanFlags::Private,
            IpvlanIsolation::Vepa => IpVlanFlags::Vepa,
            IpvlanIsolation::Other(b) => IpVlanFlags::from_bits_retain(b),
        }
    }
}

/// An ipvlan (or, with [`Handle::add_ipvtap`], ipvtap) device to create.
///
/// ```no_run
/// use netplumb::{Handle, NetNs, link::{IpvlanMode, NewIpvlan}};
///
/// let pod = NetNs::open("pod1")?;
/// let mut ipvlan = NewIpvlan::new("eth0", "ens3", IpvlanMode::L2);
/// ipvlan.netns = Some(&pod); // born in the pod, on the host's ens3
/// Handle::new()?.add_ipvlan(&ipvlan)?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct NewIpvlan<'a> {
    /// Device name.
    pub name: String,
    /// The parent device (`link DEV`), in the handle's namespace.
    pub parent: LinkRef<'a>,
    /// The mode (`mode l2|l3|l3s`).
    pub mode: IpvlanMode,
    /// How the parent's ipvlans reach each other (`bridge|private|vepa`); the kernel's default
    /// (`bridge`) when `None`.
    pub isolation: Option<IpvlanIsolation>,
    /// MTU (at most the parent's).
    pub mtu: Option<u32>,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`.
    pub netns: Option<&'a NetNs>,
}

impl<'a> NewIpvlan<'a> {
    /// An ipvlan named `name` on `parent` in `mode`, with the kernel's defaults.
    pub fn new(name: &str, parent: impl Into<LinkRef<'a>>, mode: IpvlanMode) -> NewIpvlan<'a> {
        NewIpvlan {
            name: name.to_string(),
            parent: parent.into(),
            mode,
            isolation: None,
            mtu: None,
            netns: None,
        }
    }
}

/// An ipvlan or ipvtap device's settings as the kernel reports them
/// ([`LinkKind::Ipvlan`](super::LinkKind::Ipvlan), [`LinkKind::Ipvtap`](super::LinkKind::Ipvtap)).
/// The parent is [`Link::link`](super::Link::link).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ipvlan {
    /// The mode.
    pub mode: Option<IpvlanMode>,
    /// How the parent's ipvlans reach each other.
    pub isolation: Option<IpvlanIsolation>,
}

impl Ipvlan {
    pub(crate) fn from_ipvlan(nlas: Vec<InfoIpVlan>) -> Ipvlan {
        let mut v = Ipvlan::default();
        for nla in nlas {
            match nla {
                InfoIpVlan::Mode(m) => v.mode = Some(IpvlanMode::from_wire(m)),
                InfoIpVlan::Flags(f) => v.isolation = Some(IpvlanIsolation::from_wire(f)),
                _ => {}
            }
        }
        v
    }

    pub(crate) fn from_ipvtap(nlas: Vec<InfoIpVtap>) -> Ipvlan {
        let mut v = Ipvlan::default();
        for nla in nlas {
            match nla {
                InfoIpVtap::Mode(m) => v.mode = Some(IpvlanMode::from_wire(m)),
                InfoIpVtap::Flags(f) => v.isolation = Some(IpvlanIsolation::from_wire(f)),
                _ => {}
            }
        }
        v
    }
}

/// # Links: ipvlan, ipvtap
///
/// `ip link add NAME link PARENT type ipvlan|ipvtap mode l2|l3|l3s [bridge|private|vepa]`.
impl Handle {
    /// Creates an ipvlan device on a parent. Equivalent to `ip link add NAME link PARENT
    /// [mtu M] [netns NS] type ipvlan mode l2|l3|l3s [bridge|private|vepa]`.
    ///
    /// A kernel without the `ipvlan` module answers with [`Error::Unsupported`](crate::Error::Unsupported).
    pub fn add_ipvlan(&self, ipvlan: &NewIpvlan<'_>) -> Result<()> {
        check_ifname("ipvlan name", &ipvlan.name)?;
        let parent = self.link_index(ipvlan.parent)?;
        self.create_link("ipvlan", ipvlan_message(ipvlan, parent, false)?)
    }

    /// Creates an ipvtap device (an ipvlan with a `/dev/tapN` character device). Equivalent to
    /// `ip link add NAME link PARENT [mtu M] [netns NS] type ipvtap mode l2|l3|l3s
    /// [bridge|private|vepa]`.
    pub fn add_ipvtap(&self, ipvtap: &NewIpvlan<'_>) -> Result<()> {
        check_ifname("ipvtap name", &ipvtap.name)?;
        let parent = self.link_index(ipvtap.parent)?;
        self.create_link("ipvtap", ipvlan_message(ipvtap, parent, true)?)
    }

    /// Changes the mode (of every ipvlan on the same parent: the kernel keeps one mode per
    /// parent) and, when given, the isolation of an ipvlan or ipvtap device. Equivalent to
    /// `ip link set NAME type ipvlan|ipvtap mode l2|l3|l3s [bridge|private|vepa]`.
    pub fn set_ipvlan<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        mode: IpvlanMode,
        isolation: Option<IpvlanIsolation>,
    ) -> Result<()> {
        let link = link.into();
        let current = self.link_message(link)?;
        let tap = match kind_of(&current).0 {
            Some(InfoKind::IpVlan) => false,
            Some(InfoKind::IpVtap) => true,
            _ => {
                return Err(Error::invalid(
                    "ipvlan",
                    format!("{link} is not an ipvlan or ipvtap device"),
                ))
            }
        };
        let index = IfIndex::new(current.header.index)
            .ok_or_else(|| Error::malformed("get link", "a link with index 0"))?;
        let msg = ipvlan_change_message(index, mode, isolation, tap);
        self.change_link("set ipvlan", link, msg)
    }
}

/// The `RTM_NEWLINK` request that changes an ipvlan (`tap` false) or ipvtap device's mode.
pub(crate) fn ipvlan_change_message(
    index: IfIndex,
    mode: IpvlanMode,
    isolation: Option<IpvlanIsolation>,
    tap: bool,
) -> LinkMessage {
    let (kind, data) = if tap {
        let mut d = vec![InfoIpVtap::Mode(mode.to_wire())];
        d.extend(isolation.map(|i| InfoIpVtap::Flags(i.to_wire())));
        (InfoKind::IpVtap, InfoData::IpVtap(d))
    } else {
        let mut d = vec![InfoIpVlan::Mode(mode.to_wire())];
        d.extend(isolation.map(|i| InfoIpVlan::Flags(i.to_wire())));
        (InfoKind::IpVlan, InfoData::IpVlan(d))
    };
    let mut msg = LinkMessage::default();
    msg.header.index = index.get();
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(kind),
        LinkInfo::Data(data),
    ]));
    msg
}

/// The `RTM_NEWLINK` request for an ipvlan (`tap` false) or ipvtap device.
pub(crate) fn ipvlan_message(v: &NewIpvlan<'_>, parent: IfIndex, tap: bool) -> Result<LinkMessage> {
    check_ifname(if tap { "ipvtap name" } else { "ipvlan name" }, &v.name)?;
    let mode = v.mode.to_wire();
    let flags = v.isolation.map(IpvlanIsolation::to_wire);
    let (kind, data) = if tap {
        let mut d = vec![InfoIpVtap::Mode(mode)];
        d.extend(flags.map(InfoIpVtap::Flags));
        (InfoKind::IpVtap, InfoData::IpVtap(d))
    } else {
        let mut d = vec![InfoIpVlan::Mode(mode)];
        d.extend(flags.map(InfoIpVlan::Flags));
        (InfoKind::IpVlan, InfoData::IpVlan(d))
    };
    let mut msg = new_link_message(&v.name, v.mtu, None::<MacAddr>, kind, Some(data))?;
    // iproute2 puts IFLA_LINK first.
    msg.attributes.insert(0, LinkAttribute::Link(parent.get()));
    put_in_netns(&mut msg, v.netns);
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_isolation_round_trip() {
        for m in [
            IpvlanMode::L2,
            IpvlanMode::L3,
            IpvlanMode::L3s,
            IpvlanMode::Other(9),
        ] {
            assert_eq!(IpvlanMode::from_wire(m.to_wire()), m);
        }
        for i in [
            IpvlanIsolation::Bridge,
            IpvlanIsolation::Private,
            IpvlanIsolation::Vepa,
            IpvlanIsolation::Other(3),
        ] {
            assert_eq!(IpvlanIsolation::from_wire(i.to_wire()), i);
        }
    }
}
