//! Linux bridges (`ip link add … type bridge …`).

use std::time::Duration;

use netlink_packet_route::link::{
    BridgeStpState, InfoBridge, InfoData, InfoKind, LinkAttribute, LinkInfo, LinkMessage,
    VlanProtocol as NlVlanProtocol,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::base::{
    kind_of, new_link_message, not_found_as, put_in_netns, selector_message, unsupported_as,
};
use crate::types::check_ifname;
use crate::{Error, Handle, LinkRef, MacAddr, NetNs, Result, VlanId};

/// A bridge to create: its name, device settings and [`BridgeOptions`].
///
/// Ports are enslaved afterwards with [`Handle::set_link_master`](crate::Handle::set_link_master).
///
/// ```no_run
/// use std::time::Duration;
/// use netplumb::{Handle, link::{NewBridge, BridgeOptions}};
///
/// let h = Handle::new()?;
/// // ip link add br0 type bridge stp_state 0 ageing_time 12000
/// h.add_bridge(&NewBridge::with_options("br0", BridgeOptions {
///     stp: Some(false),
///     ageing_time: Some(Duration::from_secs(120)),
///     ..BridgeOptions::default()
/// }))?;
/// h.set_link_master("veth0", "br0")?;   // ip link set veth0 master br0
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewBridge<'a> {
    /// NewBridge name.
    pub name: String,
    /// MTU of the bridge device.
    pub mtu: Option<u32>,
    /// Hardware address of the bridge device.
    pub mac: Option<MacAddr>,
    /// The bridge's own options.
    pub options: BridgeOptions,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`.
    pub netns: Option<&'a NetNs>,
}

impl NewBridge<'_> {
    /// A bridge named `name` with the kernel's defaults.
    pub fn new(name: &str) -> NewBridge<'static> {
        NewBridge {
            name: name.to_string(),
            ..NewBridge::default()
        }
    }

    /// A bridge named `name` with `options`.
    pub fn with_options(name: &str, options: BridgeOptions) -> NewBridge<'static> {
        NewBridge {
            options,
            ..NewBridge::new(name)
        }
    }
}

/// A bridge's options, at creation ([`NewBridge::options`]) or changed later
/// ([`Handle::set_bridge_options`](crate::Handle::set_bridge_options)). Fields left `None` keep the kernel's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BridgeOptions {
    /// Run the kernel's spanning tree protocol (`stp_state 1`) or not (`stp_state 0`).
    pub stp: Option<bool>,
    /// STP forward delay (`forward_delay`, 2–30 s while STP runs), in centisecond steps.
    pub forward_delay: Option<Duration>,
    /// STP hello time (`hello_time`, 1–10 s), in centisecond steps.
    pub hello_time: Option<Duration>,
    /// STP maximum message age (`max_age`, 6–40 s), in centisecond steps.
    pub max_age: Option<Duration>,
    /// How long learned FDB entries live (`ageing_time`), in centisecond steps.
    pub ageing_time: Option<Duration>,
    /// STP bridge priority (`priority`).
    pub priority: Option<u16>,
    /// Filter frames by VLAN (`vlan_filtering 1`). Needs a kernel built with
    /// `CONFIG_BRIDGE_VLAN_FILTERING`.
    pub vlan_filtering: Option<bool>,
    /// The VLAN given to untagged frames on new ports (`vlan_default_pvid`).
    pub default_pvid: Option<VlanId>,
    /// The VLAN protocol of a VLAN-filtering bridge (`vlan_protocol 802.1Q|802.1ad`).
    pub vlan_protocol: Option<VlanProtocol>,
    /// IGMP/MLD snooping (`mcast_snooping`).
    pub multicast_snooping: Option<bool>,
}

/// The VLAN tag protocol of a VLAN-filtering bridge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VlanProtocol {
    /// IEEE 802.1Q (ethertype 0x8100), the default.
    #[default]
    Dot1Q,
    /// IEEE 802.1ad, "QinQ" service tags (ethertype 0x88a8).
    Dot1Ad,
}

/// Whether and how a bridge runs the spanning tree protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StpState {
    /// No STP.
    Disabled,
    /// The kernel's own STP.
    Kernel,
    /// STP run by a user-space daemon (mstpd).
    User,
    /// A value this version does not know.
    Other(u32),
}

/// A bridge's settings as the kernel reports them (`ip -d link show type bridge`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bridge {
    /// Spanning tree state.
    pub stp_state: Option<StpState>,
    /// STP forward delay.
    pub forward_delay: Option<Duration>,
    /// STP hello time.
    pub hello_time: Option<Duration>,
    /// STP maximum message age.
    pub max_age: Option<Duration>,
    /// FDB ageing time.
    pub ageing_time: Option<Duration>,
    /// STP bridge priority.
    pub priority: Option<u16>,
    /// VLAN filtering on.
    pub vlan_filtering: Option<bool>,
    /// Default port VLAN id (0: none).
    pub default_pvid: Option<u16>,
    /// VLAN protocol.
    pub vlan_protocol: Option<VlanProtocol>,
    /// Multicast snooping on.
    pub multicast_snooping: Option<bool>,
}

/// The kernel counts bridge timers in USER_HZ (100 per second) ticks.
fn to_ticks(arg: &'static str, d: Duration) -> Result<u32> {
    if !d.is_zero() && d < Duration::from_millis(10) {
        return Err(Error::invalid(
            arg,
            format!("{d:?} is under the kernel's 10 ms resolution"),
        ));
    }
    u32::try_from(d.as_millis() / 10)
        .map_err(|_| Error::invalid(arg, format!("{d:?} is too long for the kernel's timer")))
}

fn from_ticks(t: u32) -> Duration {
    Duration::from_millis(u64::from(t) * 10)
}

impl Bridge {
    pub(crate) fn from_nlas(nlas: Vec<InfoBridge>) -> Bridge {
        let mut info = Bridge::default();
        for nla in nlas {
            match nla {
                InfoBridge::StpState(s) => {
                    info.stp_state = Some(match s {
                        BridgeStpState::Disabled => StpState::Disabled,
                        BridgeStpState::KernelStp => StpState::Kernel,
                        BridgeStpState::UserStp => StpState::User,
                        other => StpState::Other(u32::from(other)),
                    })
                }
                InfoBridge::ForwardDelay(t) => info.forward_delay = Some(from_ticks(t)),
                InfoBridge::HelloTime(t) => info.hello_time = Some(from_ticks(t)),
                InfoBridge::MaxAge(t) => info.max_age = Some(from_ticks(t)),
                InfoBridge::AgeingTime(t) => info.ageing_time = Some(from_ticks(t)),
                InfoBridge::Priority(p) => info.priority = Some(p),
                InfoBridge::VlanFiltering(v) => info.vlan_filtering = Some(v),
                InfoBridge::VlanDefaultPvid(p) => info.default_pvid = Some(p),
                InfoBridge::MulticastSnooping(v) => info.multicast_snooping = Some(v),
                InfoBridge::VlanProtocol(p) => {
                    info.vlan_protocol = Some(match p {
                        NlVlanProtocol::Ieee8021Ad => VlanProtocol::Dot1Ad,
                        _ => VlanProtocol::Dot1Q,
                    })
                }
                _ => {}
            }
        }
        info
    }
}

/// # Links: bridge
///
/// `ip link add|set … type bridge …`.
impl Handle {
    /// Creates a bridge. Timers are [`Duration`]s here; iproute2 takes them in centiseconds
    /// (`forward_delay 1500` is 15 s). Equivalent to
    /// `ip link add NAME type bridge [stp_state 0|1] [forward_delay …] [hello_time …]
    /// [max_age …] [ageing_time …] [priority …] [vlan_filtering 0|1] [vlan_default_pvid …]
    /// [mcast_snooping 0|1]`.
    pub fn add_bridge(&self, bridge: &NewBridge) -> Result<()> {
        self.create_link("bridge", bridge_message(bridge)?)
            .map_err(|e| vlan_filtering_as(e, &bridge.options))
    }

    /// Changes an existing bridge's options; fields left `None` stay as they are. Equivalent
    /// to `ip link set dev NAME type bridge [stp_state 0|1] [forward_delay …] …`.
    pub fn set_bridge_options<'a>(
        &self,
        bridge: impl Into<LinkRef<'a>>,
        options: &BridgeOptions,
    ) -> Result<()> {
        let bridge = bridge.into();
        let mut msg = selector_message(bridge)?;
        let nlas = bridge_nlas(options)?;
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Bridge),
            LinkInfo::Data(InfoData::Bridge(nlas)),
        ]));
        self.ack("set bridge options", RouteNetlinkMessage::NewLink(msg), 0)
            .map_err(|e| {
                let e = not_found_as(e, bridge);
                // On a link that is not a bridge, EOPNOTSUPP is the kernel's answer as it is.
                let on_bridge = self
                    .link_message(bridge)
                    .is_ok_and(|m| matches!(kind_of(&m).0, Some(InfoKind::Bridge)));
                if on_bridge {
                    vlan_filtering_as(e, options)
                } else {
                    e
                }
            })
    }
}

/// A bridge (being made or changed) refused with `EOPNOTSUPP` while `options` turn VLAN
/// filtering on: the kernel was built without it (`CONFIG_BRIDGE_VLAN_FILTERING`).
fn vlan_filtering_as(e: Error, options: &BridgeOptions) -> Error {
    if options.vlan_filtering == Some(true) && !e.is_unsupported() {
        unsupported_as(e, "VLAN-filtering bridge")
    } else {
        e
    }
}

/// The `RTM_NEWLINK` request for a bridge.
pub(crate) fn bridge_message(bridge: &NewBridge<'_>) -> Result<LinkMessage> {
    check_ifname("bridge name", &bridge.name)?;
    let nlas = bridge_nlas(&bridge.options)?;
    let data = (!nlas.is_empty()).then_some(InfoData::Bridge(nlas));
    let mut msg = new_link_message(&bridge.name, bridge.mtu, bridge.mac, InfoKind::Bridge, data)?;
    put_in_netns(&mut msg, bridge.netns);
    Ok(msg)
}

/// The `IFLA_BR_*` attributes for `options`, in iproute2's order.
fn bridge_nlas(bridge: &BridgeOptions) -> Result<Vec<InfoBridge>> {
    let mut nlas = Vec::new();
    if let Some(stp) = bridge.stp {
        nlas.push(InfoBridge::StpState(if stp {
            BridgeStpState::KernelStp
        } else {
            BridgeStpState::Disabled
        }));
    }
    let timers = [
        (
            "forward_delay",
            bridge.forward_delay,
            InfoBridge::ForwardDelay as fn(u32) -> InfoBridge,
        ),
        ("hello_time", bridge.hello_time, InfoBridge::HelloTime),
        ("max_age", bridge.max_age, InfoBridge::MaxAge),
        ("ageing_time", bridge.ageing_time, InfoBridge::AgeingTime),
    ];
    for (arg, value, make) in timers {
        if let Some(d) = value {
            nlas.push(make(to_ticks(arg, d)?));
        }
    }
    if let Some(p) = bridge.priority {
        nlas.push(InfoBridge::Priority(p));
    }
    if let Some(v) = bridge.vlan_filtering {
        nlas.push(InfoBridge::VlanFiltering(v));
    }
    if let Some(p) = bridge.default_pvid {
        nlas.push(InfoBridge::VlanDefaultPvid(p.get()));
    }
    if let Some(p) = bridge.vlan_protocol {
        nlas.push(InfoBridge::VlanProtocol(match p {
            VlanProtocol::Dot1Q => NlVlanProtocol::Ieee8021Q,
            VlanProtocol::Dot1Ad => NlVlanProtocol::Ieee8021Ad,
        }));
    }
    if let Some(v) = bridge.multicast_snooping {
        nlas.push(InfoBridge::MulticastSnooping(v));
    }
    Ok(nlas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_round_trip_in_centiseconds() {
        assert_eq!(to_ticks("t", Duration::from_secs(15)).unwrap(), 1500);
        assert_eq!(from_ticks(1500), Duration::from_secs(15));
        assert!(to_ticks("t", Duration::from_secs(u64::MAX / 1000)).is_err());
        assert!(to_ticks("t", Duration::from_millis(5)).is_err());
        assert_eq!(to_ticks("t", Duration::ZERO).unwrap(), 0);
    }
}
