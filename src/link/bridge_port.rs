//! NewBridge ports (`bridge link set`, `ip link set … type bridge_slave`) and the VLANs of ports
//! and bridges (`bridge vlan`).

use netlink_packet_core::{DefaultNla, Nla};
use netlink_packet_route::link::{
    AfSpecBridge, BridgeFlag, BridgePortState as NlPortState, BridgeVlanInfo, BridgeVlanInfoFlags,
    InfoBridgePort, InfoKind, LinkAttribute, LinkExtentMask, LinkMessage, LinkProtoInfoBridge,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::base::{is_bridge_port, kind_of, master_of, not_found_as, unsupported_as};
use crate::{Error, Handle, IfIndex, LinkRef, Result, VlanId};

/// The STP state of a bridge port (`bridge link`'s `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BridgePortState {
    /// Not forwarding, not learning (`disabled`).
    Disabled,
    /// Listening for BPDUs (`listening`).
    Listening,
    /// Learning MACs, not forwarding (`learning`).
    Learning,
    /// Forwarding (`forwarding`).
    Forwarding,
    /// Blocked by STP (`blocking`).
    Blocking,
    /// A value this version does not know.
    Other(u8),
}

impl BridgePortState {
    fn from_wire(s: NlPortState) -> Self {
        match s {
            NlPortState::Disabled => BridgePortState::Disabled,
            NlPortState::Listening => BridgePortState::Listening,
            NlPortState::Learning => BridgePortState::Learning,
            NlPortState::Forwarding => BridgePortState::Forwarding,
            NlPortState::Blocking => BridgePortState::Blocking,
            other => BridgePortState::Other(u8::from(other)),
        }
    }

    fn to_wire(self) -> NlPortState {
        match self {
            BridgePortState::Disabled => NlPortState::Disabled,
            BridgePortState::Listening => NlPortState::Listening,
            BridgePortState::Learning => NlPortState::Learning,
            BridgePortState::Forwarding => NlPortState::Forwarding,
            BridgePortState::Blocking => NlPortState::Blocking,
            BridgePortState::Other(v) => NlPortState::from(v),
        }
    }
}

/// A bridge port's settings: what [`Handle::set_bridge_port`](crate::Handle::set_bridge_port) changes (fields left `None` stay
/// as they are) and what [`Link::bridge_port`](super::Link::bridge_port) reports for a port.
///
/// ```no_run
/// use netplumb::{Handle, link::BridgePort};
///
/// let h = Handle::new()?;
/// // bridge link set dev veth0 learning off flood off isolated on
/// h.set_bridge_port("veth0", &BridgePort {
///     learning: Some(false),
///     unicast_flood: Some(false),
///     isolated: Some(true),
///     ..BridgePort::default()
/// })?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BridgePort {
    /// STP state (`state`). The kernel refuses changes while its own STP runs (`EBUSY`) and
    /// on a port that is down (`ENETDOWN`); without STP it re-selects states itself, so only
    /// `Disabled` sticks. A user-space STP daemon (`stp_state 2`) sets any state.
    pub state: Option<BridgePortState>,
    /// STP port priority (`priority`, 0–63).
    pub priority: Option<u16>,
    /// STP path cost (`cost`).
    pub cost: Option<u32>,
    /// Learn source MACs of received frames (`learning`).
    pub learning: Option<bool>,
    /// Flood unknown unicast to this port (`flood`).
    pub unicast_flood: Option<bool>,
    /// Flood unknown multicast to this port (`mcast_flood`).
    pub multicast_flood: Option<bool>,
    /// Flood broadcast to this port (`bcast_flood`).
    pub broadcast_flood: Option<bool>,
    /// Send frames back out of the port they came in on (`hairpin`), as a port to a VEPA
    /// switch or a pod's own service traffic needs.
    pub hairpin: Option<bool>,
    /// Isolated ports reach only non-isolated ports (`isolated`).
    pub isolated: Option<bool>,
    /// Answer ARP / neighbour solicitations from the bridge's tables instead of flooding them
    /// (`neigh_suppress`), as EVPN setups do on VXLAN ports.
    pub neigh_suppress: Option<bool>,
    /// Proxy ARP on this port (`proxy_arp`).
    pub proxy_arp: Option<bool>,
    /// Drop received STP BPDUs and disable the port (`guard`).
    pub bpdu_guard: Option<bool>,
    /// Never let this port become root port (`root_block`).
    pub root_block: Option<bool>,
}

impl BridgePort {
    fn nlas(&self) -> Vec<InfoBridgePort> {
        let mut n = Vec::new();
        if let Some(s) = self.state {
            n.push(InfoBridgePort::State(s.to_wire()));
        }
        if let Some(p) = self.priority {
            n.push(InfoBridgePort::Priority(p));
        }
        if let Some(c) = self.cost {
            n.push(InfoBridgePort::Cost(c));
        }
        let flags = [
            (
                self.learning,
                InfoBridgePort::Learning as fn(bool) -> InfoBridgePort,
            ),
            (self.unicast_flood, InfoBridgePort::UnicastFlood),
            (self.multicast_flood, InfoBridgePort::MulticastFlood),
            (self.broadcast_flood, InfoBridgePort::BroadcastFlood),
            (self.hairpin, InfoBridgePort::HairpinMode),
            (self.isolated, InfoBridgePort::Isolated),
            (self.neigh_suppress, InfoBridgePort::NeighSupress),
            (self.proxy_arp, InfoBridgePort::ProxyARP),
            (self.bpdu_guard, InfoBridgePort::Guard),
            (self.root_block, InfoBridgePort::Protect),
        ];
        for (value, make) in flags {
            if let Some(v) = value {
                n.push(make(v));
            }
        }
        n
    }

    pub(crate) fn from_nlas(nlas: Vec<InfoBridgePort>) -> BridgePort {
        let mut p = BridgePort::default();
        for nla in nlas {
            match nla {
                InfoBridgePort::State(s) => p.state = Some(BridgePortState::from_wire(s)),
                InfoBridgePort::Priority(v) => p.priority = Some(v),
                InfoBridgePort::Cost(v) => p.cost = Some(v),
                InfoBridgePort::Learning(v) => p.learning = Some(v),
                InfoBridgePort::UnicastFlood(v) => p.unicast_flood = Some(v),
                InfoBridgePort::MulticastFlood(v) => p.multicast_flood = Some(v),
                InfoBridgePort::BroadcastFlood(v) => p.broadcast_flood = Some(v),
                InfoBridgePort::HairpinMode(v) => p.hairpin = Some(v),
                InfoBridgePort::Isolated(v) => p.isolated = Some(v),
                InfoBridgePort::NeighSupress(v) => p.neigh_suppress = Some(v),
                InfoBridgePort::ProxyARP(v) => p.proxy_arp = Some(v),
                InfoBridgePort::Guard(v) => p.bpdu_guard = Some(v),
                InfoBridgePort::Protect(v) => p.root_block = Some(v),
                _ => {}
            }
        }
        p
    }
}

/// A VLAN, or an inclusive range of VLANs, on a bridge port or on the bridge itself
/// (`bridge vlan add vid 10[-20] [pvid] [untagged]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BridgeVlan {
    /// The (first) VLAN id.
    pub vid: VlanId,
    /// The last VLAN id of a range (`vid 10-20`), `None` for a single VLAN.
    pub last: Option<VlanId>,
    /// Untagged frames received on the port join this VLAN (`pvid`); one VLAN per port.
    pub pvid: bool,
    /// Frames of this VLAN leave the port untagged (`untagged`).
    pub untagged: bool,
}

impl BridgeVlan {
    /// A single tagged VLAN.
    pub fn new(vid: VlanId) -> BridgeVlan {
        BridgeVlan {
            vid,
            last: None,
            pvid: false,
            untagged: false,
        }
    }

    /// The VLANs `vid` to `last`, inclusive.
    pub fn range(vid: VlanId, last: VlanId) -> BridgeVlan {
        BridgeVlan {
            last: Some(last),
            ..BridgeVlan::new(vid)
        }
    }

    /// The ids this entry covers.
    pub fn ids(&self) -> std::ops::RangeInclusive<u16> {
        self.vid.get()..=self.last.unwrap_or(self.vid).get()
    }
}

/// The VLANs of one bridge port, or of the bridge itself (`bridge vlan show`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortVlans {
    /// The port, or the bridge.
    pub link: IfIndex,
    /// Its VLANs, ranges of equal flags merged as the kernel reports them.
    pub vlans: Vec<BridgeVlan>,
}

/// # Bridge ports and VLANs
///
/// `bridge link set …`, `bridge vlan add|del|show`.
impl Handle {
    /// Changes a bridge port's settings. Equivalent to `bridge link set dev PORT [state …]
    /// [priority …] [cost …] [learning on|off] [flood on|off] [mcast_flood on|off]
    /// [bcast_flood on|off] [hairpin on|off] [isolated on|off] [neigh_suppress on|off]
    /// [proxy_arp on|off] [guard on|off] [root_block on|off]`. A link that is not a bridge
    /// port is [`Error::InvalidInput`].
    pub fn set_bridge_port<'a>(
        &self,
        port: impl Into<LinkRef<'a>>,
        settings: &BridgePort,
    ) -> Result<()> {
        let port = port.into();
        let index = self.link_index(port)?;
        // `bridge link set` sends RTM_SETLINK in the bridge family with IFLA_PROTINFO; the
        // `ip link set type bridge_slave` path (IFLA_INFO_SLAVE_DATA) ignores `state`.
        let mut msg = LinkMessage::default();
        msg.header.interface_family = AddressFamily::Bridge;
        msg.header.index = index.get();
        let protinfo = settings
            .nlas()
            .iter()
            .map(|n| {
                let mut value = vec![0; n.value_len()];
                n.emit_value(&mut value);
                LinkProtoInfoBridge::Other(DefaultNla::new(n.kind(), value))
            })
            .collect();
        msg.attributes
            .push(LinkAttribute::ProtoInfoBridge(protinfo));
        self.ack("set bridge port", RouteNetlinkMessage::SetLink(msg), 0)
            .map_err(|e| {
                // The kernel answers EOPNOTSUPP for a link without a bridge master.
                if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP)
                    && self
                        .link_message(index.into())
                        .is_ok_and(|m| master_of(&m).is_none())
                {
                    Error::invalid("port", format!("{port} is not a bridge port"))
                } else {
                    not_found_as(e, port)
                }
            })
    }

    /// Adds a VLAN (or range) to a bridge port, or to the bridge itself when `link` is the
    /// bridge. Equivalent to `bridge vlan add dev DEV vid VID[-LAST] [pvid] [untagged]
    /// [self]`. Needs a VLAN-filtering bridge to take effect, and a kernel with
    /// `CONFIG_BRIDGE_VLAN_FILTERING` (else [`Error::Unsupported`]).
    pub fn add_bridge_vlan<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        vlan: &BridgeVlan,
    ) -> Result<()> {
        self.change_bridge_vlan("add bridge vlan", link.into(), vlan, true)
    }

    /// Removes a VLAN (or range) from a bridge port or the bridge itself. Equivalent to
    /// `bridge vlan del dev DEV vid VID[-LAST] [self]`.
    pub fn delete_bridge_vlan<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        vlan: &BridgeVlan,
    ) -> Result<()> {
        self.change_bridge_vlan("delete bridge vlan", link.into(), vlan, false)
    }

    fn change_bridge_vlan(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        vlan: &BridgeVlan,
        add: bool,
    ) -> Result<()> {
        if vlan.last.is_some_and(|l| l <= vlan.vid) {
            return Err(Error::invalid(
                "vlan",
                format!(
                    "the range {}-{} must go upwards",
                    vlan.vid,
                    vlan.last.unwrap_or(vlan.vid)
                ),
            ));
        }
        let dev = self.link_message(link)?;
        let is_bridge = matches!(kind_of(&dev).0, Some(InfoKind::Bridge));
        let mut msg = LinkMessage::default();
        msg.header.interface_family = AddressFamily::Bridge;
        msg.header.index = dev.header.index;
        msg.attributes
            .push(LinkAttribute::AfSpecBridge(vlan_spec(vlan, is_bridge)));
        let req = if add {
            RouteNetlinkMessage::SetLink(msg)
        } else {
            RouteNetlinkMessage::DelLink(msg)
        };
        // On a bridge or one of its ports, EOPNOTSUPP means the kernel has no VLAN filtering;
        // on any other link it is the kernel's answer to a request that does not fit it.
        let vlan_capable = is_bridge || is_bridge_port(&dev);
        self.ack(op, req, 0).map_err(|e| {
            let e = not_found_as(e, link);
            if vlan_capable {
                unsupported_as(e, "VLAN-filtering bridge")
            } else {
                e
            }
        })
    }

    /// Lists the VLANs of every bridge port and bridge, or of one. Equivalent to
    /// `bridge vlan show [dev DEV]`. Ports without VLANs are left out.
    pub fn bridge_vlans(&self, link: Option<LinkRef<'_>>) -> Result<Vec<PortVlans>> {
        let only = match link {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let mut req = LinkMessage::default();
        req.header.interface_family = AddressFamily::Bridge;
        req.attributes.push(LinkAttribute::ExtMask(vec![
            LinkExtentMask::BrvlanCompressed,
        ]));
        let mut out = self.dump(
            "list bridge vlans",
            RouteNetlinkMessage::GetLink(req),
            |msg| match msg {
                RouteNetlinkMessage::NewLink(m) => Ok(port_vlans_from_message(m)),
                _ => Ok(None),
            },
        )?;
        out.retain(|p| !p.vlans.is_empty() && only.is_none_or(|o| p.link == o));
        Ok(out)
    }
}

/// `IFLA_AF_SPEC` for a VLAN change: `IFLA_BRIDGE_FLAGS` (self) for the bridge device, then one
/// `IFLA_BRIDGE_VLAN_INFO`, or two for a range — as iproute2 sends them.
fn vlan_spec(vlan: &BridgeVlan, on_bridge: bool) -> Vec<AfSpecBridge> {
    let mut spec = Vec::new();
    if on_bridge {
        spec.push(AfSpecBridge::Flags(BridgeFlag::LowerDev));
    }
    let mut flags = BridgeVlanInfoFlags::empty();
    if vlan.pvid {
        flags |= BridgeVlanInfoFlags::Pvid;
    }
    if vlan.untagged {
        flags |= BridgeVlanInfoFlags::Untagged;
    }
    match vlan.last {
        Some(last) => {
            spec.push(AfSpecBridge::VlanInfo(BridgeVlanInfo {
                flags: flags | BridgeVlanInfoFlags::RangeBegin,
                vid: vlan.vid.get(),
            }));
            spec.push(AfSpecBridge::VlanInfo(BridgeVlanInfo {
                flags: flags | BridgeVlanInfoFlags::RangeEnd,
                vid: last.get(),
            }));
        }
        None => spec.push(AfSpecBridge::VlanInfo(BridgeVlanInfo {
            flags,
            vid: vlan.vid.get(),
        })),
    }
    spec
}

pub(crate) fn port_vlans_from_message(m: LinkMessage) -> Option<PortVlans> {
    let link = IfIndex::new(m.header.index)?;
    let mut vlans = Vec::new();
    let mut begin: Option<BridgeVlanInfo> = None;
    for attr in m.attributes {
        let LinkAttribute::AfSpecBridge(spec) = attr else {
            continue;
        };
        for item in spec {
            let AfSpecBridge::VlanInfo(info) = item else {
                continue;
            };
            if info.flags.contains(BridgeVlanInfoFlags::RangeBegin) {
                begin = Some(info);
                continue;
            }
            let first = match begin.take() {
                Some(b) if info.flags.contains(BridgeVlanInfoFlags::RangeEnd) => b.vid,
                _ => info.vid,
            };
            // The kernel never reports VLAN 0 or 4095; skip anything that is not a VLAN id.
            let (Ok(vid), Ok(last)) = (VlanId::new(first), VlanId::new(info.vid)) else {
                continue;
            };
            vlans.push(BridgeVlan {
                vid,
                last: (last != vid).then_some(last),
                pvid: info.flags.contains(BridgeVlanInfoFlags::Pvid),
                untagged: info.flags.contains(BridgeVlanInfoFlags::Untagged),
            });
        }
    }
    Some(PortVlans { link, vlans })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vid(v: u16) -> VlanId {
        VlanId::new(v).unwrap()
    }

    #[test]
    fn ranges_travel_as_begin_and_end() {
        let v = BridgeVlan {
            pvid: true,
            untagged: true,
            ..BridgeVlan::range(vid(10), vid(20))
        };
        let spec = vlan_spec(&v, true);
        assert_eq!(spec.len(), 3);
        assert_eq!(spec[0], AfSpecBridge::Flags(BridgeFlag::LowerDev));
        let mut m = LinkMessage::default();
        m.header.index = 4;
        m.attributes.push(LinkAttribute::AfSpecBridge(spec));
        let back = port_vlans_from_message(m).unwrap();
        assert_eq!(back.vlans, vec![v]);
        assert_eq!(v.ids().count(), 11);
    }

    #[test]
    fn port_settings_round_trip() {
        let p = BridgePort {
            state: Some(BridgePortState::Blocking),
            cost: Some(7),
            learning: Some(false),
            isolated: Some(true),
            neigh_suppress: Some(true),
            ..BridgePort::default()
        };
        assert_eq!(BridgePort::from_nlas(p.nlas()), p);
    }
}
