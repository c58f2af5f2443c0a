//! VLAN devices (`ip link add link PARENT name NAME type vlan id ID …`): an 802.1Q (or
//! 802.1ad) sub-interface of a parent device that sends and receives the frames of one VLAN,
//! as CNI's `vlan` plugin gives a pod.

use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVlan, LinkAttribute, LinkInfo, LinkMessage, VlanFlags,
    VlanProtocol as NlVlanProtocol, VlanQosMapping,
};

use super::base::{new_link_message, put_in_netns, selector_message};
use super::bridge::VlanProtocol;
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, MacAddr, NetNs, Result, VlanId};

/// The highest 802.1p priority code point (PCP) a VLAN header carries.
const MAX_PCP: u8 = 7;

/// The settings of a VLAN device that can change after creation (`ip link set NAME type vlan
/// …`); fields left `None` (and empty maps) keep the kernel's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VlanOptions {
    /// Reorder the Ethernet header so the device looks like plain Ethernet (`reorder_hdr`; on
    /// by default).
    pub reorder_hdr: Option<bool>,
    /// Register the VLAN with GVRP (`gvrp`).
    pub gvrp: Option<bool>,
    /// Register the VLAN with MVRP (`mvrp`).
    pub mvrp: Option<bool>,
    /// Do not follow the parent's operational state (`loose_binding`).
    pub loose_binding: Option<bool>,
    /// Follow the state of the bridge ports in this VLAN when the parent is a bridge
    /// (`bridge_binding`).
    pub bridge_binding: Option<bool>,
    /// Received frames' 802.1p priority (PCP, 0–7) to the packet priority (`ingress-qos-map
    /// FROM:TO`). A priority of 0 removes a mapping.
    pub ingress_qos: Vec<(u8, u32)>,
    /// Sent packets' priority to the 802.1p priority (PCP, 0–7) of the tag (`egress-qos-map
    /// FROM:TO`). A PCP of 0 removes a mapping.
    pub egress_qos: Vec<(u32, u8)>,
}

/// A VLAN device to create.
///
/// ```no_run
/// use netplumb::{Handle, VlanId, link::NewVlan};
///
/// let h = Handle::new()?;
/// // ip link add link eth0 name eth0.100 type vlan id 100
/// h.add_vlan(&NewVlan::new("eth0.100", "eth0", VlanId::new(100)?))?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct NewVlan<'a> {
    /// Device name.
    pub name: String,
    /// The parent device (`link DEV`), in the handle's namespace.
    pub parent: LinkRef<'a>,
    /// The VLAN id (`id ID`, 1–4094: [`VlanId::new`] checks it).
    pub id: VlanId,
    /// The tag protocol (`protocol 802.1Q|802.1ad`); the kernel's default, 802.1Q, when `None`.
    pub protocol: Option<VlanProtocol>,
    /// Flags and priority maps.
    pub options: VlanOptions,
    /// MTU (at most the parent's).
    pub mtu: Option<u32>,
    /// Hardware address (the parent's when `None`).
    pub mac: Option<MacAddr>,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`. The parent
    /// stays where it is.
    pub netns: Option<&'a NetNs>,
}

impl<'a> NewVlan<'a> {
    /// A VLAN device named `name` for VLAN `id` on `parent`, with the kernel's defaults.
    pub fn new(name: &str, parent: impl Into<LinkRef<'a>>, id: VlanId) -> NewVlan<'a> {
        NewVlan {
            name: name.to_string(),
            parent: parent.into(),
            id,
            protocol: None,
            options: VlanOptions::default(),
            mtu: None,
            mac: None,
            netns: None,
        }
    }
}

/// A VLAN device's settings as the kernel reports them
/// ([`LinkKind::Vlan`](super::LinkKind::Vlan)); the parent is [`Link::link`](super::Link::link).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vlan {
    /// The VLAN id.
    pub id: Option<VlanId>,
    /// The tag protocol.
    pub protocol: Option<VlanProtocol>,
    /// `reorder_hdr` on.
    pub reorder_hdr: bool,
    /// `gvrp` on.
    pub gvrp: bool,
    /// `mvrp` on.
    pub mvrp: bool,
    /// `loose_binding` on.
    pub loose_binding: bool,
    /// `bridge_binding` on.
    pub bridge_binding: bool,
    /// The ingress priority map (PCP to priority), mapped entries only, by PCP.
    pub ingress_qos: Vec<(u8, u32)>,
    /// The egress priority map (priority to PCP), mapped entries only, by priority.
    pub egress_qos: Vec<(u32, u8)>,
}

fn pcp(v: u32) -> u8 {
    // The kernel reports PCPs of 0–7; anything else is kept in range rather than trusted.
    (v & u32::from(MAX_PCP)) as u8
}

impl Vlan {
    pub(crate) fn from_nlas(nlas: Vec<InfoVlan>) -> Vlan {
        let mut v = Vlan::default();
        for nla in nlas {
            match nla {
                InfoVlan::Id(id) => v.id = VlanId::new(id).ok(),
                InfoVlan::Protocol(p) => {
                    v.protocol = Some(match p {
                        NlVlanProtocol::Ieee8021Ad => VlanProtocol::Dot1Ad,
                        _ => VlanProtocol::Dot1Q,
                    })
                }
                InfoVlan::Flags((flags, mask)) => {
                    let on = |f: VlanFlags| flags.contains(f) && mask.contains(f);
                    v.reorder_hdr = on(VlanFlags::ReorderHdr);
                    v.gvrp = on(VlanFlags::Gvrp);
                    v.mvrp = on(VlanFlags::Mvrp);
                    v.loose_binding = on(VlanFlags::LooseBinding);
                    v.bridge_binding = on(VlanFlags::BridgeBinding);
                }
                InfoVlan::IngressQos(maps) => {
                    v.ingress_qos = mappings(&maps).map(|(f, t)| (pcp(f), t)).collect()
                }
                InfoVlan::EgressQos(maps) => {
                    v.egress_qos = mappings(&maps).map(|(f, t)| (f, pcp(t))).collect()
                }
                _ => {}
            }
        }
        v
    }
}

fn mappings(maps: &[VlanQosMapping]) -> impl Iterator<Item = (u32, u32)> + '_ {
    maps.iter().filter_map(|m| match m {
        VlanQosMapping::Mapping(from, to) => Some((*from, *to)),
        _ => None,
    })
}

/// The `IFLA_INFO_DATA` attributes of the options, in iproute2's order when the maps are given
/// before the flags: ingress map, egress map, flags.
fn options_nlas(o: &VlanOptions, out: &mut Vec<InfoVlan>) -> Result<()> {
    if let Some((p, _)) = o.ingress_qos.iter().find(|(p, _)| *p > MAX_PCP) {
        return Err(Error::invalid(
            "ingress_qos",
            format!("{p} is not an 802.1p priority (0-{MAX_PCP})"),
        ));
    }
    if let Some((_, p)) = o.egress_qos.iter().find(|(_, p)| *p > MAX_PCP) {
        return Err(Error::invalid(
            "egress_qos",
            format!("{p} is not an 802.1p priority (0-{MAX_PCP})"),
        ));
    }
    if !o.ingress_qos.is_empty() {
        out.push(InfoVlan::IngressQos(
            o.ingress_qos
                .iter()
                .map(|(f, t)| VlanQosMapping::Mapping(u32::from(*f), *t))
                .collect(),
        ));
    }
    if !o.egress_qos.is_empty() {
        out.push(InfoVlan::EgressQos(
            o.egress_qos
                .iter()
                .map(|(f, t)| VlanQosMapping::Mapping(*f, u32::from(*t)))
                .collect(),
        ));
    }
    let (mut flags, mut mask) = (VlanFlags::empty(), VlanFlags::empty());
    for (set, flag) in [
        (o.reorder_hdr, VlanFlags::ReorderHdr),
        (o.gvrp, VlanFlags::Gvrp),
        (o.mvrp, VlanFlags::Mvrp),
        (o.loose_binding, VlanFlags::LooseBinding),
        (o.bridge_binding, VlanFlags::BridgeBinding),
    ] {
        if let Some(on) = set {
            mask |= flag;
            if on {
                flags |= flag;
            }
        }
    }
    if !mask.is_empty() {
        out.push(InfoVlan::Flags((flags, mask)));
    }
    Ok(())
}

/// # Links: VLAN
///
/// `ip link add link PARENT name NAME type vlan id ID …`, `ip link set NAME type vlan …`.
impl Handle {
    /// Creates a VLAN device on a parent. Equivalent to `ip link add link PARENT name NAME
    /// [mtu M] [address A] [netns NS] type vlan [protocol 802.1Q|802.1ad] id ID
    /// [ingress-qos-map FROM:TO …] [egress-qos-map FROM:TO …] [reorder_hdr on|off] [gvrp on|off]
    /// [mvrp on|off] [loose_binding on|off] [bridge_binding on|off]`.
    ///
    /// Priorities outside 0–7 are refused before anything is sent. A kernel without the
    /// `8021q` module answers with [`Error::Unsupported`].
    pub fn add_vlan(&self, vlan: &NewVlan<'_>) -> Result<()> {
        check_ifname("vlan name", &vlan.name)?;
        let parent = self.link_index(vlan.parent)?;
        self.create_link("vlan", vlan_message(vlan, parent)?)
    }

    /// Changes a VLAN device's flags and priority maps. Equivalent to
    /// `ip link set NAME type vlan [reorder_hdr on|off] [gvrp on|off] … [ingress-qos-map …]
    /// [egress-qos-map …]`. Its id and protocol cannot change.
    pub fn set_vlan<'a>(&self, link: impl Into<LinkRef<'a>>, options: &VlanOptions) -> Result<()> {
        let link = link.into();
        self.change_link("set vlan", link, vlan_change_message(link, options)?)
    }
}

/// The `RTM_NEWLINK` request that changes a VLAN device's options.
pub(crate) fn vlan_change_message(link: LinkRef<'_>, options: &VlanOptions) -> Result<LinkMessage> {
    let mut data = Vec::new();
    options_nlas(options, &mut data)?;
    let mut msg = selector_message(link)?;
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Vlan),
        LinkInfo::Data(InfoData::Vlan(data)),
    ]));
    Ok(msg)
}

/// The `RTM_NEWLINK` request for a VLAN device, in iproute2's attribute order.
pub(crate) fn vlan_message(v: &NewVlan<'_>, parent: IfIndex) -> Result<LinkMessage> {
    check_ifname("vlan name", &v.name)?;
    let mut data = Vec::new();
    if let Some(p) = v.protocol {
        data.push(InfoVlan::Protocol(match p {
            VlanProtocol::Dot1Q => NlVlanProtocol::Ieee8021Q,
            VlanProtocol::Dot1Ad => NlVlanProtocol::Ieee8021Ad,
        }));
    }
    data.push(InfoVlan::Id(v.id.get()));
    options_nlas(&v.options, &mut data)?;
    let mut msg = new_link_message(
        &v.name,
        v.mtu,
        v.mac,
        InfoKind::Vlan,
        Some(InfoData::Vlan(data)),
    )?;
    // iproute2 puts IFLA_LINK first.
    msg.attributes.insert(0, LinkAttribute::Link(parent.get()));
    put_in_netns(&mut msg, v.netns);
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_back_as_set() {
        let o = VlanOptions {
            reorder_hdr: Some(false),
            gvrp: Some(true),
            mvrp: Some(true),
            loose_binding: Some(true),
            bridge_binding: Some(false),
            ingress_qos: vec![(1, 2), (7, 100)],
            egress_qos: vec![(3, 4)],
        };
        let mut nlas = vec![InfoVlan::Id(10)];
        options_nlas(&o, &mut nlas).unwrap();
        let v = Vlan::from_nlas(nlas);
        assert_eq!(v.id.map(VlanId::get), Some(10));
        assert!(!v.reorder_hdr && v.gvrp && v.mvrp && v.loose_binding && !v.bridge_binding);
        assert_eq!(v.ingress_qos, o.ingress_qos);
        assert_eq!(v.egress_qos, o.egress_qos);
    }

    #[test]
    fn priorities_above_seven_are_refused() {
        let mut out = Vec::new();
        let bad = VlanOptions {
            ingress_qos: vec![(8, 1)],
            ..VlanOptions::default()
        };
        let e = options_nlas(&bad, &mut out).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "ingress_qos",
                    ..
                }
            ),
            "{e}"
        );
        let bad = VlanOptions {
            egress_qos: vec![(1, 8)],
            ..VlanOptions::default()
        };
        let e = options_nlas(&bad, &mut out).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "egress_qos",
                    ..
                }
            ),
            "{e}"
        );
    }
}
