//! Link replies (`RTM_NEWLINK`, and `RTM_DELLINK` in the monitor) decoded into [`Link`].
//!
//! The message is read straight from its bytes (`wire::attr`, the offsets of `struct
//! ifinfomsg` in [`field`]), so that the name and alias keep the kernel's exact bytes, which
//! need not be UTF-8 ([`IfName`], [`IfAlias`]). Only `IFLA_LINKINFO` (the kind and its
//! settings) goes through `netlink-packet-route`, and each kind's codec reads its part of it.
//!
//! What a user can configure always decodes. A part that still does not (a kind's settings that
//! `netlink-packet-route` refuses, a counter block or number of the wrong size) is left out of
//! that one `Link` (the kind then is [`LinkKind::Unknown`] with the kernel's name of it) rather
//! than failing the listing. Only a message whose framing is broken, which the kernel does not
//! send, is an error: a header too short, an attribute running past the message, index 0, a
//! name longer than the kernel's.

use netlink_packet_core::{NlaBuffer, ParseableParametrized};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoPortData, InfoPortKind, LinkAttribute, LinkInfo,
};
use netlink_packet_route::AddressFamily;

use super::bridge::Bridge;
use super::bridge_port::BridgePort;
use super::ipip::Ipip;
use super::ipvlan::Ipvlan;
use super::macvlan::Macvlan;
use super::macvtap::macvtap_from_nlas;
use super::tun::Tun;
use super::types::{Ipv6AddrGenMode, Link, LinkFlags, LinkKind, LinkStats, OperState};
use super::vlan::Vlan;
use super::vrf::Vrf;
use super::vxlan::Vxlan;
// links-b kinds
use super::bond::{Bond, BondPort};
use super::geneve::Geneve;
use super::gre::{Gre, GreKind};
use super::ip6tnl::Ip6Tnl;
use super::sit::Sit;
use super::vti::Vti;
use crate::wire::attr::{self, u32_of, HEADER_LEN as NLA_HEADER_LEN};
use crate::wire::kernel::IFLA_INET6_ADDR_GEN_MODE;
use crate::{IfAlias, IfIndex, IfName, MacAddr};

/// Byte offsets of `struct ifinfomsg` (linux/rtnetlink.h).
mod field {
    use std::ops::Range;
    /// `ifi_family` (u8); a byte of padding follows.
    pub const FAMILY: usize = 0;
    /// `ifi_type` (u16): the ARPHRD_* link-layer type.
    #[allow(dead_code)]
    pub const TYPE: Range<usize> = 2..4;
    /// `ifi_index` (i32).
    pub const INDEX: Range<usize> = 4..8;
    /// `ifi_flags` (u32): IFF_*.
    pub const FLAGS: Range<usize> = 8..12;
    /// `ifi_change` (u32): the flags that changed; all ones for a new device.
    pub const CHANGE: Range<usize> = 12..16;
}

/// The length of `struct ifinfomsg`.
const HEADER_LEN: usize = field::CHANGE.end;

/// The fields of `struct rtnl_link_stats64`, in the kernel's order (u64 each): the first ten
/// every kernel has, then those later kernels added.
const STATS64_FIELDS: usize = 25;

/// The fields of `struct rtnl_link_stats64` that every kernel reports.
const STATS64_REQUIRED: usize = 10;

/// The header of a link message: its family (`AF_BRIDGE` for a bridge's port notices) and
/// change mask (all ones for a device just registered), for the monitor.
pub(crate) struct LinkHeader {
    pub family: u8,
    pub change: u32,
}

/// The header of a link message; `None` when it is too short to hold one.
pub(crate) fn link_header(payload: &[u8]) -> Option<LinkHeader> {
    (payload.len() >= HEADER_LEN).then(|| LinkHeader {
        family: payload[field::FAMILY],
        change: attr::u32_at(payload, field::CHANGE.start),
    })
}

/// Decodes the payload of an `RTM_NEWLINK` or `RTM_DELLINK` (the bytes after the netlink
/// header).
pub(crate) fn link_from_bytes(payload: &[u8]) -> Result<Link, String> {
    if payload.len() < HEADER_LEN {
        return Err(format!("a link message of {} bytes", payload.len()));
    }
    let index =
        IfIndex::new(attr::u32_at(payload, field::INDEX.start)).ok_or("a link with index 0")?;
    let family = AddressFamily::from(payload[field::FAMILY]);
    let mut link = Link {
        index,
        name: IfName::default(),
        kind: None,
        flags: LinkFlags::from_bits_retain(attr::u32_at(payload, field::FLAGS.start)),
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
        group: 0,
        alias: None,
        stats: None,
        bridge_port: None,
        altnames: Vec::new(),
        gso_max_size: None,
        gso_max_segs: None,
        gro_max_size: None,
        addrgenmode: None,
        protodown: None,
        carrier: None,
        carrier_changes: None,
        bond_port: None,
    };
    let attrs = &payload[HEADER_LEN..];
    for a in attr::spans(attrs) {
        let (ty, range) = a?;
        let value = &attrs[range.clone()];
        match ty {
            libc::IFLA_IFNAME => {
                link.name = IfName::from_attr(value)
                    .ok_or_else(|| format!("an interface name of {} bytes", value.len()))?
            }
            libc::IFLA_IFALIAS => {
                link.alias = Some(
                    IfAlias::from_attr(value)
                        .ok_or_else(|| format!("an alias of {} bytes", value.len()))?,
                )
            }
            libc::IFLA_MTU => link.mtu = u32_of(value).unwrap_or(0),
            libc::IFLA_MIN_MTU => link.min_mtu = u32_of(value),
            libc::IFLA_MAX_MTU => link.max_mtu = u32_of(value),
            libc::IFLA_ADDRESS => link.mac = MacAddr::from_slice(value).ok(),
            libc::IFLA_BROADCAST => link.broadcast = MacAddr::from_slice(value).ok(),
            libc::IFLA_MASTER => link.master = u32_of(value).and_then(IfIndex::new),
            libc::IFLA_LINK => link.link = u32_of(value).and_then(IfIndex::new),
            libc::IFLA_LINK_NETNSID => link.link_netnsid = u32_of(value).map(|v| v as i32),
            libc::IFLA_TXQLEN => link.txqlen = u32_of(value),
            libc::IFLA_GROUP => link.group = u32_of(value).unwrap_or(0),
            libc::IFLA_OPERSTATE => {
                link.oper_state = value.first().map_or(OperState::Unknown, |s| (*s).into())
            }
            libc::IFLA_STATS64 => link.stats = stats64(value),
            libc::IFLA_GSO_MAX_SIZE => link.gso_max_size = u32_of(value),
            libc::IFLA_GSO_MAX_SEGS => link.gso_max_segs = u32_of(value),
            libc::IFLA_GRO_MAX_SIZE => link.gro_max_size = u32_of(value),
            libc::IFLA_PROTO_DOWN => link.protodown = value.first().map(|v| *v != 0),
            libc::IFLA_CARRIER => link.carrier = value.first().map(|v| *v != 0),
            libc::IFLA_CARRIER_CHANGES => link.carrier_changes = u32_of(value),
            libc::IFLA_AF_SPEC => link.addrgenmode = addrgenmode_of(value),
            libc::IFLA_PROP_LIST => {
                link.altnames = attr::attrs(value)
                    .map_while(Result::ok)
                    .filter(|(ty, _)| *ty == libc::IFLA_ALT_IFNAME)
                    .filter_map(|(_, v)| IfAlias::from_attr(v))
                    .collect()
            }
            libc::IFLA_LINKINFO => {
                // The whole attribute, header included, as netlink-packet-route parses it.
                let whole = &attrs[range.start - NLA_HEADER_LEN..range.end];
                match link_info(whole, family) {
                    Some(infos) => {
                        link.bridge_port = bridge_port_from_infos(&infos);
                        link.bond_port = bond_port_from_infos(&infos);
                        link.kind = kind_from_infos(infos);
                    }
                    None => link.kind = raw_kind(value).map(LinkKind::Unknown),
                }
            }
            _ => {}
        }
    }
    // A veth whose peer was moved away reports IFLA_LINK = 0 on some kernels.
    Ok(link)
}

/// `IFLA_LINKINFO` through netlink-packet-route; `None` when it refuses it.
fn link_info(whole: &[u8], family: AddressFamily) -> Option<Vec<LinkInfo>> {
    let buf = NlaBuffer::new_checked(whole).ok()?;
    match LinkAttribute::parse_with_param(&buf, family).ok()? {
        LinkAttribute::LinkInfo(infos) => Some(infos),
        _ => None,
    }
}

/// The kernel's name of the kind (`IFLA_INFO_KIND`) read from the bytes of `IFLA_LINKINFO`.
fn raw_kind(value: &[u8]) -> Option<String> {
    attr::attrs(value)
        .map_while(Result::ok)
        .find(|(ty, _)| *ty == libc::IFLA_INFO_KIND)
        .map(|(_, k)| String::from_utf8_lossy(attr::c_bytes(k)).into_owned())
}

/// The IPv6 address generation mode inside `IFLA_AF_SPEC`'s bytes.
fn addrgenmode_of(af_spec: &[u8]) -> Option<Ipv6AddrGenMode> {
    let inet6 = attr::attrs(af_spec)
        .map_while(|a| a.ok())
        .find(|(ty, _)| *ty == libc::AF_INET6 as u16)?
        .1;
    let mode = attr::attrs(inet6)
        .map_while(|a| a.ok())
        .find(|(ty, _)| *ty == IFLA_INET6_ADDR_GEN_MODE)?
        .1;
    mode.first().map(|m| Ipv6AddrGenMode::from_raw(*m))
}

/// The counters of `struct rtnl_link_stats64`; `None` when it is too short to hold the ten
/// every kernel has (the later ones are 0 when a kernel does not report them).
fn stats64(b: &[u8]) -> Option<LinkStats> {
    if b.len() < STATS64_REQUIRED * 8 {
        return None;
    }
    let mut v = [0u64; STATS64_FIELDS];
    for (out, c) in v.iter_mut().zip(b.chunks_exact(8)) {
        *out = u64::from_ne_bytes(c.try_into().ok()?);
    }
    let [rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped, multicast, collisions, rx_length_errors, rx_over_errors, rx_crc_errors, rx_frame_errors, rx_fifo_errors, rx_missed_errors, tx_aborted_errors, tx_carrier_errors, tx_fifo_errors, tx_heartbeat_errors, tx_window_errors, rx_compressed, tx_compressed, rx_nohandler, rx_otherhost_dropped] =
        v;
    Some(LinkStats {
        rx_packets,
        tx_packets,
        rx_bytes,
        tx_bytes,
        rx_errors,
        tx_errors,
        rx_dropped,
        tx_dropped,
        multicast,
        collisions,
        rx_length_errors,
        rx_over_errors,
        rx_crc_errors,
        rx_frame_errors,
        rx_fifo_errors,
        rx_missed_errors,
        tx_aborted_errors,
        tx_carrier_errors,
        tx_fifo_errors,
        tx_heartbeat_errors,
        tx_window_errors,
        rx_compressed,
        tx_compressed,
        rx_nohandler,
        rx_otherhost_dropped,
    })
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

/// A bond port's part in its bond, from `IFLA_INFO_SLAVE_KIND` "bond" and its slave data.
fn bond_port_from_infos(infos: &[LinkInfo]) -> Option<BondPort> {
    let is_bond_port = infos
        .iter()
        .any(|i| matches!(i, LinkInfo::PortKind(InfoPortKind::Bond)));
    if !is_bond_port {
        return None;
    }
    Some(
        infos
            .iter()
            .find_map(|i| match i {
                LinkInfo::PortData(InfoPortData::BondPort(nlas)) => Some(BondPort::from_nlas(nlas)),
                _ => None,
            })
            .unwrap_or_default(),
    )
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
    let k = kind?;
    Some(match k.clone() {
        InfoKind::Dummy => LinkKind::Dummy,
        InfoKind::Ifb => LinkKind::Ifb,
        InfoKind::Vlan => LinkKind::Vlan(match data {
            Some(InfoData::Vlan(nlas)) => Vlan::from_nlas(nlas),
            _ => Vlan::default(),
        }),
        InfoKind::IpVlan => LinkKind::Ipvlan(match data {
            Some(InfoData::IpVlan(nlas)) => Ipvlan::from_ipvlan(nlas),
            _ => Ipvlan::default(),
        }),
        InfoKind::IpVtap => LinkKind::Ipvtap(match data {
            Some(InfoData::IpVtap(nlas)) => Ipvlan::from_ipvtap(nlas),
            _ => Ipvlan::default(),
        }),
        InfoKind::MacVtap => LinkKind::Macvtap(match data {
            Some(InfoData::MacVtap(nlas)) => macvtap_from_nlas(nlas),
            _ => Macvlan::default(),
        }),
        InfoKind::Tun => LinkKind::Tun(match data {
            Some(InfoData::Tun(nlas)) => Tun::from_nlas(nlas),
            _ => Tun::default(),
        }),
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
        // links-b kinds
        InfoKind::GreTun | InfoKind::GreTap | InfoKind::GreTun6 | InfoKind::GreTap6 => {
            let kind = match k {
                InfoKind::GreTun => GreKind::Gre,
                InfoKind::GreTap => GreKind::GreTap,
                InfoKind::GreTun6 => GreKind::Ip6Gre,
                _ => GreKind::Ip6GreTap,
            };
            LinkKind::Gre(match data {
                Some(InfoData::GreTun(n) | InfoData::GreTap(n)) => Gre::from_v4(kind, n),
                Some(InfoData::GreTun6(n) | InfoData::GreTap6(n)) => Gre::from_v6(kind, n),
                _ => Gre {
                    kind,
                    ..Gre::default()
                },
            })
        }
        InfoKind::SitTun => LinkKind::Sit(match data {
            Some(InfoData::IpTunnel(nlas)) => Sit::from_nlas(nlas),
            _ => Sit::default(),
        }),
        InfoKind::Ip6Tnl => LinkKind::Ip6Tnl(match data {
            Some(InfoData::IpTunnel(nlas)) => Ip6Tnl::from_nlas(nlas),
            _ => Ip6Tnl::default(),
        }),
        InfoKind::Geneve => LinkKind::Geneve(match data {
            Some(InfoData::Geneve(nlas)) => Geneve::from_nlas(nlas),
            _ => Geneve::default(),
        }),
        InfoKind::Bond => LinkKind::Bond(match data {
            Some(InfoData::Bond(nlas)) => Bond::from_nlas(nlas),
            _ => Bond::default(),
        }),
        InfoKind::Wireguard => LinkKind::Wireguard,
        InfoKind::Vti | InfoKind::Vti6 => {
            let family = if k == InfoKind::Vti6 {
                crate::IpFamily::V6
            } else {
                crate::IpFamily::V4
            };
            LinkKind::Vti(Vti::from_nlas(
                family,
                match data {
                    Some(InfoData::Vti(nlas)) => nlas,
                    _ => Vec::new(),
                },
            ))
        }
        InfoKind::Other(name) => LinkKind::Unknown(name),
        other => LinkKind::Unknown(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_keep_their_name() {
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Nlmon)]).unwrap();
        assert_eq!(k, LinkKind::Unknown("nlmon".into()));
        let k = kind_from_infos(vec![LinkInfo::Kind(InfoKind::Dummy)]).unwrap();
        assert_eq!(k, LinkKind::Dummy);
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

    fn nla(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = ((NLA_HEADER_LEN + data.len()) as u16)
            .to_ne_bytes()
            .to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize(attr::align4(v.len()), 0);
        v
    }

    /// An `RTM_NEWLINK` payload: `struct ifinfomsg` (index 7, flags UP) and `attrs`.
    fn message(attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m[field::INDEX].copy_from_slice(&7u32.to_ne_bytes());
        m[field::FLAGS].copy_from_slice(&1u32.to_ne_bytes());
        m[field::CHANGE].copy_from_slice(&u32::MAX.to_ne_bytes());
        for a in attrs {
            m.extend_from_slice(a);
        }
        m
    }

    #[test]
    fn every_field_is_read_and_names_keep_their_bytes() {
        let vxlan = crate::link::vxlan_message(
            &crate::link::NewVxlan::new("vx0", crate::Vni::new(42).unwrap()),
            None,
        )
        .unwrap();
        // The kind's attribute as netlink-packet-route encodes it.
        let info = vxlan
            .attributes
            .iter()
            .find(|a| matches!(a, LinkAttribute::LinkInfo(_)))
            .unwrap();
        let mut info_bytes = vec![0; netlink_packet_core::Emitable::buffer_len(info)];
        netlink_packet_core::Emitable::emit(info, &mut info_bytes);
        let stats: Vec<u8> = (1..=25u64).flat_map(|v| v.to_ne_bytes()).collect();
        let m = message(&[
            nla(libc::IFLA_IFNAME, b"bad\xff\xfe\0"),
            nla(libc::IFLA_MTU, &1450u32.to_ne_bytes()),
            nla(libc::IFLA_ADDRESS, &[2, 0, 0, 0, 0, 1]),
            nla(libc::IFLA_IFALIAS, b"\xff alias"),
            nla(libc::IFLA_OPERSTATE, &[6]),
            nla(libc::IFLA_MASTER, &3u32.to_ne_bytes()),
            nla(libc::IFLA_STATS64, &stats),
            info_bytes.clone(),
            nla(
                libc::IFLA_PROP_LIST,
                &nla(libc::IFLA_ALT_IFNAME, b"alt\xff\0"),
            ),
            nla(
                libc::IFLA_AF_SPEC,
                &[
                    nla(libc::AF_INET as u16, &[0; 8]),
                    nla(libc::AF_INET6 as u16, &nla(IFLA_INET6_ADDR_GEN_MODE, &[3])),
                ]
                .concat(),
            ),
            nla(libc::IFLA_GSO_MAX_SIZE, &65536u32.to_ne_bytes()),
            nla(libc::IFLA_PROTO_DOWN, &[1]),
            nla(libc::IFLA_CARRIER, &[0]),
        ]);
        let l = link_from_bytes(&m).unwrap();
        assert_eq!(l.index.get(), 7);
        assert_eq!(l.name.as_bytes(), b"bad\xff\xfe");
        assert_eq!(l.alias.unwrap().as_bytes(), b"\xff alias");
        assert_eq!((l.mtu, l.oper_state), (1450, OperState::Up));
        assert_eq!(l.mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!(l.master, IfIndex::new(3));
        assert!(l.flags.contains(LinkFlags::UP));
        let s = l.stats.unwrap();
        assert_eq!((s.rx_packets, s.multicast, s.collisions), (1, 9, 10));
        assert_eq!(
            (s.rx_length_errors, s.rx_nohandler, s.rx_otherhost_dropped),
            (11, 24, 25)
        );
        assert_eq!(l.altnames.len(), 1);
        assert_eq!(l.altnames[0].as_bytes(), b"alt\xff");
        assert_eq!(l.addrgenmode, Some(Ipv6AddrGenMode::Random));
        assert_eq!(
            (l.gso_max_size, l.protodown, l.carrier),
            (Some(65536), Some(true), Some(false))
        );
        match l.kind {
            Some(LinkKind::Vxlan(v)) => assert_eq!(v.vni.map(|v| v.get()), Some(42)),
            k => panic!("{k:?}"),
        }
        let h = link_header(&m).unwrap();
        assert_eq!((h.family, h.change), (0, u32::MAX));
    }

    #[test]
    fn a_part_that_does_not_decode_is_left_out_not_the_link() {
        // IFLA_VXLAN_ID (1) of 2 bytes: netlink-packet-route refuses the kind's settings.
        let data = nla(libc::IFLA_INFO_DATA, &nla(1, &[42, 0]));
        let info = [nla(libc::IFLA_INFO_KIND, b"vxlan\0"), data].concat();
        let m = message(&[
            nla(libc::IFLA_IFNAME, b"vx0\0"),
            nla(libc::IFLA_MTU, &[1, 2]),
            nla(libc::IFLA_STATS64, &[0; 12]),
            nla(libc::IFLA_LINKINFO, &info),
        ]);
        let l = link_from_bytes(&m).unwrap();
        assert_eq!(l.name, "vx0");
        assert_eq!(l.kind, Some(LinkKind::Unknown("vxlan".into())));
        assert_eq!((l.mtu, l.stats), (0, None));
        // Broken framing is an error, and no input panics.
        let mut broken = m.clone();
        broken[HEADER_LEN] = 200;
        assert!(link_from_bytes(&broken).is_err());
        assert!(link_from_bytes(&m[..8]).is_err());
        assert!(link_from_bytes(&message(&[nla(libc::IFLA_IFNAME, &[b'x'; 16])])).is_err());
        for cut in 0..m.len() {
            let _ = link_from_bytes(&m[..cut]);
        }
    }

    #[test]
    fn flags_keep_unknown_bits() {
        let f = LinkFlags::from_bits_retain(1 << 30 | 1);
        assert!(f.contains(LinkFlags::UP));
        assert_eq!(f.bits(), 1 << 30 | 1);
    }
}
