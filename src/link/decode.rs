//! Link replies (`RTM_NEWLINK`) decoded into [`Link`], each kind's data by its own codec.

use netlink_packet_route::link::{
    InfoData, InfoKind, InfoPortData, InfoPortKind, LinkAttribute, LinkInfo, LinkMessage,
};

use super::bridge::Bridge;
use super::bridge_port::BridgePort;
use super::ipip::Ipip;
use super::macvlan::Macvlan;
use super::types::{Link, LinkFlags, LinkKind, LinkStats, OperState};
use super::vrf::Vrf;
use super::vxlan::Vxlan;
use crate::{Error, IfIndex, MacAddr, Result};

pub(crate) fn link_from_message(m: LinkMessage) -> Result<Link> {
    let index = IfIndex::new(m.header.index)
        .ok_or_else(|| Error::malformed("list links", "a link with index 0"))?;
    let mut link = Link {
        index,
        name: String::new(),
        kind: None,
        flags: LinkFlags::from_bits_retain(m.header.flags.bits()),
        oper_state: OperState::Unknown,
        mtu: 0,
        min_mtu: None,
        max_mtu: None,
        mac: None,
        broadcast: None,
        master: None,
        link: None,
        link_netnsid: None,
        txqlen: None,
        alias: None,
        stats: None,
        bridge_port: None,
    };
    for attr in m.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n,
            LinkAttribute::Mtu(v) => link.mtu = v,
            LinkAttribute::MinMtu(v) => link.min_mtu = Some(v),
            LinkAttribute::MaxMtu(v) => link.max_mtu = Some(v),
            LinkAttribute::Address(a) => link.mac = MacAddr::from_slice(&a).ok(),
            LinkAttribute::Broadcast(a) => link.broadcast = MacAddr::from_slice(&a).ok(),
            LinkAttribute::Controller(i) => link.master = IfIndex::new(i),
            LinkAttribute::Link(i) => link.link = IfIndex::new(i),
            LinkAttribute::LinkNetNsId(id) => link.link_netnsid = Some(id),
            LinkAttribute::TxQueueLen(v) => link.txqlen = Some(v),
            LinkAttribute::IfAlias(a) => link.alias = Some(a),
            LinkAttribute::OperState(s) => link.oper_state = OperState::from(u8::from(s)),
            LinkAttribute::Stats64(s) => {
                link.stats = Some(LinkStats {
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_errors: s.rx_errors,
                    tx_errors: s.tx_errors,
                    rx_dropped: s.rx_dropped,
                    tx_dropped: s.tx_dropped,
                    multicast: s.multicast,
                    collisions: s.collisions,
                })
            }
            LinkAttribute::LinkInfo(infos) => {
                link.bridge_port = bridge_port_from_infos(&infos);
                link.kind = kind_from_infos(infos);
            }
            _ => {}
        }
    }
    // A veth whose peer was moved away reports IFLA_LINK = 0 on some kernels.
    Ok(link)
}

/// A bridge port's settings, from `IFLA_INFO_SLAVE_KIND` "bridge" and its slave data.
fn bridge_port_from_infos(infos: &[LinkInfo]) -> Option<BridgePort> {
    let is_bridge_port = infos
        .iter()
        .any(|i| matches!(i, LinkInfo::PortKind(InfoPortKind::Bridge)));
    if !is_bridge_port {
        return None;
    }
    infos.iter().find_map(|i| match i {
        LinkInfo::PortData(InfoPortData::BridgePort(nlas)) => {
            Some(BridgePort::from_nlas(nlas.clone()))
        }
        _ => None,
    })
}

fn kind_from_infos(infos: Vec<LinkInfo>) -> Option<LinkKind> {
    let mut kind = None;
    let mut data = None;
    for info in infos {
        match info {
            LinkInfo::Kind(k) => kind = Some(k),
            LinkInfo::Data(d) => data = Some(d),
            _ => {}
        }
    }
    Some(match kind? {
        InfoKind::Veth => LinkKind::Veth,
        InfoKind::Bridge => LinkKind::Bridge(match data {
            Some(InfoData::Bridge(nlas)) => Bridge::from_nlas(nlas),
            _ => Bridge::default(),
        }),
        InfoKind::Vxlan => LinkKind::Vxlan(match data {
            Some(InfoData::Vxlan(nlas)) => Vxlan::from_nlas(nlas),
            _ => Vxlan::default(),
        }),
        InfoKind::MacVlan => LinkKind::Macvlan(match data {
            Some(InfoData::MacVlan(nlas)) => Macvlan::from_nlas(nlas),
            _ => Macvlan::default(),
        }),
        InfoKind::Vrf => LinkKind::Vrf(match data {
            Some(InfoData::Vrf(nlas)) => Vrf::from_nlas(nlas),
            _ => Vrf::default(),
        }),
        InfoKind::IpIp => LinkKind::Ipip(match data {
            Some(InfoData::IpTunnel(nlas)) => Ipip::from_nlas(nlas),
            _ => Ipip::default(),
        }),
        InfoKind::Other(name) => LinkKind::Unknown(name),
        other => LinkKind::Unknown(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_keep_their_name() {
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Dummy)]).unwrap();
        assert_eq!(k, LinkKind::Unknown("dummy".into()));
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Vxlan)]).unwrap();
        assert_eq!(k, LinkKind::Vxlan(Vxlan::default()));
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Other("wibble".into()))]).unwrap();
        assert_eq!(k.name(), "wibble");
        assert_eq!(kind_from_infos(vec![]), None);
        assert_eq!(
            kind_from_infos(vec![LinkInfo::Kind(InfoKind::Veth)]),
            Some(LinkKind::Veth)
        );
    }

    #[test]
    fn flags_keep_unknown_bits() {
        let f = LinkFlags::from_bits_retain(1 << 30 | 1);
        assert!(f.contains(LinkFlags::UP));
        assert_eq!(f.bits(), 1 << 30 | 1);
    }
}
