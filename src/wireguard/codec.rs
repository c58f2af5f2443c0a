//! WireGuard's generic netlink attributes (linux/wireguard.h), written with
//! [`AttrWriter`] and read with `wire::attr`: the `WG_CMD_SET_DEVICE` request (every input
//! checked first) and the `WG_CMD_GET_DEVICE` dump, whose peers may continue from one message
//! to the next.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::{Duration, UNIX_EPOCH};

use ipnetwork::IpNetwork;

use super::types::{
    Wireguard, WireguardConfig, WireguardKey, WireguardPeer, WireguardSecret, WIREGUARD_KEY_LEN,
};
use crate::genl::AttrWriter;
use crate::wire::attr;
use crate::{Error, IfIndex, IfName, Result};

/// The family's name and version.
pub(crate) const FAMILY: &str = "wireguard";
pub(crate) const VERSION: u8 = 1;
/// Commands.
pub(crate) const WG_CMD_GET_DEVICE: u8 = 0;
pub(crate) const WG_CMD_SET_DEVICE: u8 = 1;

/// `WGDEVICE_A_*`.
mod device {
    pub const IFINDEX: u16 = 1;
    pub const IFNAME: u16 = 2;
    pub const PRIVATE_KEY: u16 = 3;
    pub const PUBLIC_KEY: u16 = 4;
    pub const FLAGS: u16 = 5;
    pub const LISTEN_PORT: u16 = 6;
    pub const FWMARK: u16 = 7;
    pub const PEERS: u16 = 8;
    /// `WGDEVICE_F_REPLACE_PEERS`.
    pub const F_REPLACE_PEERS: u32 = 1;
}

/// `WGPEER_A_*`.
mod peer {
    pub const PUBLIC_KEY: u16 = 1;
    pub const PRESHARED_KEY: u16 = 2;
    pub const FLAGS: u16 = 3;
    pub const ENDPOINT: u16 = 4;
    pub const PERSISTENT_KEEPALIVE_INTERVAL: u16 = 5;
    pub const LAST_HANDSHAKE_TIME: u16 = 6;
    pub const RX_BYTES: u16 = 7;
    pub const TX_BYTES: u16 = 8;
    pub const ALLOWEDIPS: u16 = 9;
    pub const PROTOCOL_VERSION: u16 = 10;
    /// `WGPEER_F_REMOVE_ME`, `WGPEER_F_REPLACE_ALLOWEDIPS`, `WGPEER_F_UPDATE_ONLY`.
    pub const F_REMOVE_ME: u32 = 1;
    pub const F_REPLACE_ALLOWEDIPS: u32 = 2;
    pub const F_UPDATE_ONLY: u32 = 4;
}

/// `WGALLOWEDIP_A_*`.
mod allowed_ip {
    pub const FAMILY: u16 = 1;
    pub const IPADDR: u16 = 2;
    pub const CIDR_MASK: u16 = 3;
}

/// The attribute that names the device, by index.
pub(crate) fn device_selector(index: IfIndex) -> Vec<u8> {
    let mut a = AttrWriter::default();
    a.put(device::IFINDEX, &index.get().to_ne_bytes());
    a.buf
}

fn check(c: &WireguardConfig) -> Result<()> {
    for (i, p) in c.peers.iter().enumerate() {
        if c.peers[..i].iter().any(|q| q.public_key == p.public_key) {
            return Err(Error::invalid(
                "peers",
                format!("peer {} is listed twice", p.public_key),
            ));
        }
        if p.remove
            && (p.preshared_key.is_some()
                || p.endpoint.is_some()
                || p.persistent_keepalive.is_some()
                || p.replace_allowed_ips
                || !p.allowed_ips.is_empty())
        {
            return Err(Error::invalid(
                "remove",
                format!("peer {} is removed: set nothing else for it", p.public_key),
            ));
        }
        if let Some(k) = p.persistent_keepalive {
            if k.subsec_nanos() != 0 || k.as_secs() > u64::from(u16::MAX) {
                return Err(Error::invalid(
                    "persistent_keepalive",
                    format!("{k:?} is not whole seconds from 0 to 65535"),
                ));
            }
        }
        if let Some(e) = p.endpoint {
            if e.port() == 0 || e.ip().is_unspecified() || e.ip().is_multicast() {
                return Err(Error::invalid(
                    "endpoint",
                    format!("{e} is not a unicast address and port"),
                ));
            }
        }
    }
    Ok(())
}

fn put_endpoint(a: &mut AttrWriter, e: SocketAddr) {
    let mut v = Vec::with_capacity(28);
    match e {
        SocketAddr::V4(s) => {
            v.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            v.extend_from_slice(&s.port().to_be_bytes());
            v.extend_from_slice(&s.ip().octets());
            v.extend_from_slice(&[0; 8]);
        }
        SocketAddr::V6(s) => {
            v.extend_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            v.extend_from_slice(&s.port().to_be_bytes());
            v.extend_from_slice(&s.flowinfo().to_be_bytes());
            v.extend_from_slice(&s.ip().octets());
            v.extend_from_slice(&s.scope_id().to_ne_bytes());
        }
    }
    a.put(peer::ENDPOINT, &v);
}

/// The attributes of a `WG_CMD_SET_DEVICE` request for the device `index`.
pub(crate) fn set_device_attrs(index: IfIndex, c: &WireguardConfig) -> Result<Vec<u8>> {
    check(c)?;
    let mut a = AttrWriter {
        buf: device_selector(index),
    };
    if let Some(k) = &c.private_key {
        a.put(device::PRIVATE_KEY, k.as_bytes());
    }
    if let Some(p) = c.listen_port {
        a.put(device::LISTEN_PORT, &p.to_ne_bytes());
    }
    if let Some(m) = c.fwmark {
        a.put(device::FWMARK, &m.to_ne_bytes());
    }
    if c.replace_peers {
        a.put(device::FLAGS, &device::F_REPLACE_PEERS.to_ne_bytes());
    }
    if !c.peers.is_empty() {
        let peers = a.begin(device::PEERS);
        for (i, p) in c.peers.iter().enumerate() {
            let nest = a.begin(i as u16);
            a.put(peer::PUBLIC_KEY, p.public_key.as_bytes());
            let mut flags = 0;
            if p.remove {
                flags |= peer::F_REMOVE_ME;
            }
            if p.replace_allowed_ips {
                flags |= peer::F_REPLACE_ALLOWEDIPS;
            }
            if p.update_only {
                flags |= peer::F_UPDATE_ONLY;
            }
            if flags != 0 {
                a.put(peer::FLAGS, &flags.to_ne_bytes());
            }
            if let Some(k) = &p.preshared_key {
                a.put(peer::PRESHARED_KEY, k.as_bytes());
            }
            if let Some(e) = p.endpoint {
                put_endpoint(&mut a, e);
            }
            if let Some(k) = p.persistent_keepalive {
                a.put(
                    peer::PERSISTENT_KEEPALIVE_INTERVAL,
                    &(k.as_secs() as u16).to_ne_bytes(),
                );
            }
            if !p.allowed_ips.is_empty() {
                let ips = a.begin(peer::ALLOWEDIPS);
                for (j, net) in p.allowed_ips.iter().enumerate() {
                    let ip = a.begin(j as u16);
                    match net.network() {
                        IpAddr::V4(n) => {
                            a.put(allowed_ip::FAMILY, &(libc::AF_INET as u16).to_ne_bytes());
                            a.put(allowed_ip::IPADDR, &n.octets());
                        }
                        IpAddr::V6(n) => {
                            a.put(allowed_ip::FAMILY, &(libc::AF_INET6 as u16).to_ne_bytes());
                            a.put(allowed_ip::IPADDR, &n.octets());
                        }
                    }
                    a.put(allowed_ip::CIDR_MASK, &[net.prefix()]);
                    a.end(ip)?;
                }
                a.end(ips)?;
            }
            a.end(nest)?;
        }
        a.end(peers)?;
    }
    Ok(a.buf)
}

fn key(v: &[u8]) -> Option<[u8; WIREGUARD_KEY_LEN]> {
    v.try_into().ok()
}

fn u16_of(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.get(..2)?.try_into().ok()?))
}

fn u64_of(v: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(v.get(..8)?.try_into().ok()?))
}

fn i64_at(v: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_ne_bytes(v.get(at..at + 8)?.try_into().ok()?))
}

fn endpoint(v: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16_of(v)?);
    let port = u16::from_be_bytes(v.get(2..4)?.try_into().ok()?);
    match family {
        libc::AF_INET => {
            let ip: [u8; 4] = v.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            let flow = u32::from_be_bytes(v.get(4..8)?.try_into().ok()?);
            let ip: [u8; 16] = v.get(8..24)?.try_into().ok()?;
            let scope = u32::from_ne_bytes(v.get(24..28)?.try_into().ok()?);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flow,
                scope,
            )))
        }
        _ => None,
    }
}

fn allowed_ips(v: &[u8], out: &mut Vec<IpNetwork>) -> std::result::Result<(), String> {
    for entry in attr::attrs(v) {
        let (_, e) = entry?;
        let (mut addr, mut mask) = (None, None);
        for a in attr::attrs(e) {
            let (ty, x) = a?;
            match ty {
                allowed_ip::IPADDR => {
                    addr = match x.len() {
                        4 => <[u8; 4]>::try_from(x).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(x).ok().map(IpAddr::from),
                        _ => None,
                    }
                }
                allowed_ip::CIDR_MASK => mask = x.first().copied(),
                _ => {}
            }
        }
        if let (Some(a), Some(m)) = (addr, mask) {
            if let Ok(n) = IpNetwork::new(a, m) {
                out.push(n);
            }
        }
    }
    Ok(())
}

fn peer_of(v: &[u8]) -> std::result::Result<Option<WireguardPeer>, String> {
    let mut p = WireguardPeer {
        public_key: WireguardKey([0; WIREGUARD_KEY_LEN]),
        preshared_key: None,
        endpoint: None,
        persistent_keepalive: None,
        last_handshake: None,
        rx_bytes: 0,
        tx_bytes: 0,
        allowed_ips: Vec::new(),
        protocol_version: 0,
    };
    let mut has_key = false;
    for a in attr::attrs(v) {
        let (ty, x) = a?;
        match ty {
            peer::PUBLIC_KEY => {
                if let Some(k) = key(x) {
                    p.public_key = WireguardKey(k);
                    has_key = true;
                }
            }
            peer::PRESHARED_KEY => {
                p.preshared_key = key(x).map(WireguardSecret::new).filter(|k| !k.is_zero())
            }
            peer::ENDPOINT => p.endpoint = endpoint(x),
            peer::PERSISTENT_KEEPALIVE_INTERVAL => {
                p.persistent_keepalive = u16_of(x)
                    .filter(|s| *s != 0)
                    .map(|s| Duration::from_secs(u64::from(s)))
            }
            peer::LAST_HANDSHAKE_TIME => {
                let (s, ns) = (i64_at(x, 0), i64_at(x, 8));
                p.last_handshake = match (s, ns) {
                    (Some(s), Some(ns)) if s > 0 || ns > 0 => {
                        let d = Duration::new(s.max(0) as u64, ns.clamp(0, 999_999_999) as u32);
                        UNIX_EPOCH.checked_add(d)
                    }
                    _ => None,
                }
            }
            peer::RX_BYTES => p.rx_bytes = u64_of(x).unwrap_or(0),
            peer::TX_BYTES => p.tx_bytes = u64_of(x).unwrap_or(0),
            peer::ALLOWEDIPS => allowed_ips(x, &mut p.allowed_ips)?,
            peer::PROTOCOL_VERSION => p.protocol_version = attr::u32_of(x).unwrap_or(0),
            _ => {}
        }
    }
    Ok(has_key.then_some(p))
}

/// Adds one message of a `WG_CMD_GET_DEVICE` dump (its attributes, after the generic header)
/// to `dev`. A peer whose allowed IPs did not fit one message starts the next one again, with
/// its public key and the rest of its allowed IPs: those are merged into it.
pub(crate) fn add_dump_message(
    dev: &mut Option<Wireguard>,
    payload: &[u8],
) -> std::result::Result<(), String> {
    let mut index = None;
    let mut name = None;
    let (mut private_key, mut public_key, mut listen_port, mut fwmark) = (None, None, 0, 0);
    let mut peers = Vec::new();
    for a in attr::attrs(payload) {
        let (ty, x) = a?;
        match ty {
            device::IFINDEX => index = attr::u32_of(x).and_then(IfIndex::new),
            device::IFNAME => name = IfName::from_attr(x),
            device::PRIVATE_KEY => {
                private_key = key(x).map(WireguardSecret::new).filter(|k| !k.is_zero())
            }
            device::PUBLIC_KEY => {
                public_key = key(x)
                    .filter(|k| *k != [0; WIREGUARD_KEY_LEN])
                    .map(WireguardKey)
            }
            device::LISTEN_PORT => listen_port = u16_of(x).unwrap_or(0),
            device::FWMARK => fwmark = attr::u32_of(x).unwrap_or(0),
            device::PEERS => {
                for p in attr::attrs(x) {
                    let (_, v) = p?;
                    if let Some(p) = peer_of(v)? {
                        peers.push(p);
                    }
                }
            }
            _ => {}
        }
    }
    match dev {
        None => {
            let index = index.ok_or("a WireGuard device without its index")?;
            *dev = Some(Wireguard {
                index,
                name: name.unwrap_or_default(),
                private_key,
                public_key,
                listen_port,
                fwmark,
                peers,
            });
        }
        Some(d) => {
            let mut rest = peers.into_iter();
            if let Some(first) = rest.next() {
                match d.peers.last_mut() {
                    Some(last) if last.public_key == first.public_key => {
                        last.allowed_ips.extend(first.allowed_ips)
                    }
                    _ => d.peers.push(first),
                }
            }
            d.peers.extend(rest);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wireguard::WireguardPeerConfig;

    fn k(n: u8) -> WireguardKey {
        WireguardKey([n; 32])
    }

    #[test]
    fn a_set_request_reads_back_through_the_dump_decoder() {
        let c = WireguardConfig {
            private_key: Some(WireguardSecret::new([1; 32])),
            listen_port: Some(51820),
            fwmark: Some(7),
            replace_peers: true,
            peers: vec![
                WireguardPeerConfig {
                    preshared_key: Some(WireguardSecret::new([9; 32])),
                    endpoint: Some("192.0.2.2:51820".parse().unwrap()),
                    persistent_keepalive: Some(Duration::from_secs(25)),
                    replace_allowed_ips: true,
                    allowed_ips: vec!["10.0.0.2/32".parse().unwrap(), "fd00::/64".parse().unwrap()],
                    ..WireguardPeerConfig::new(k(2))
                },
                WireguardPeerConfig {
                    endpoint: Some("[fd00::3]:51821".parse().unwrap()),
                    ..WireguardPeerConfig::new(k(3))
                },
            ],
        };
        let bytes = set_device_attrs(IfIndex::new(5).unwrap(), &c).unwrap();
        let mut dev = None;
        add_dump_message(&mut dev, &bytes).unwrap();
        let d = dev.unwrap();
        assert_eq!(d.index.get(), 5);
        assert_eq!(d.private_key, c.private_key);
        assert_eq!((d.listen_port, d.fwmark), (51820, 7));
        assert_eq!(d.peers.len(), 2);
        let p = &d.peers[0];
        assert_eq!(p.public_key, k(2));
        assert_eq!(p.endpoint, c.peers[0].endpoint);
        assert_eq!(p.persistent_keepalive, Some(Duration::from_secs(25)));
        assert_eq!(p.allowed_ips, c.peers[0].allowed_ips);
        assert_eq!(d.peers[1].endpoint, c.peers[1].endpoint);

        // A peer continued in the next message gets the rest of its allowed IPs.
        let more = WireguardConfig {
            peers: vec![
                WireguardPeerConfig {
                    allowed_ips: vec!["10.9.0.0/16".parse().unwrap()],
                    ..WireguardPeerConfig::new(k(3))
                },
                WireguardPeerConfig::new(k(4)),
            ],
            ..WireguardConfig::default()
        };
        let mut dev = Some(d);
        add_dump_message(
            &mut dev,
            &set_device_attrs(IfIndex::new(5).unwrap(), &more).unwrap(),
        )
        .unwrap();
        let d = dev.unwrap();
        assert_eq!(d.peers.len(), 3);
        assert_eq!(d.peers[1].allowed_ips, vec!["10.9.0.0/16".parse().unwrap()]);
    }

    #[test]
    fn broken_dump_messages_never_panic() {
        let c = WireguardConfig {
            private_key: Some(WireguardSecret::new([1; 32])),
            peers: vec![WireguardPeerConfig {
                endpoint: Some("[fd00::2]:51820".parse().unwrap()),
                allowed_ips: vec!["10.0.0.0/8".parse().unwrap()],
                ..WireguardPeerConfig::new(k(2))
            }],
            ..WireguardConfig::default()
        };
        let good = set_device_attrs(IfIndex::new(3).unwrap(), &c).unwrap();
        // Every truncation, and every byte set to a few telling values, at every position.
        for end in 0..good.len() {
            let _ = add_dump_message(&mut None, &good[..end]);
        }
        for at in 0..good.len() {
            for v in [0u8, 1, 3, 4, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[at] = v;
                let mut dev = None;
                let _ = add_dump_message(&mut dev, &b);
                let _ = add_dump_message(&mut dev, &b);
            }
        }
    }

    #[test]
    fn bad_changes_are_refused() {
        let cases = [
            (
                WireguardConfig {
                    peers: vec![
                        WireguardPeerConfig::new(k(1)),
                        WireguardPeerConfig::new(k(1)),
                    ],
                    ..Default::default()
                },
                "peers",
            ),
            (
                WireguardConfig {
                    peers: vec![WireguardPeerConfig {
                        endpoint: Some("192.0.2.1:1".parse().unwrap()),
                        ..WireguardPeerConfig::remove(k(1))
                    }],
                    ..Default::default()
                },
                "remove",
            ),
            (
                WireguardConfig {
                    peers: vec![WireguardPeerConfig {
                        persistent_keepalive: Some(Duration::from_secs(70_000)),
                        ..WireguardPeerConfig::new(k(1))
                    }],
                    ..Default::default()
                },
                "persistent_keepalive",
            ),
            (
                WireguardConfig {
                    peers: vec![WireguardPeerConfig {
                        endpoint: Some("0.0.0.0:51820".parse().unwrap()),
                        ..WireguardPeerConfig::new(k(1))
                    }],
                    ..Default::default()
                },
                "endpoint",
            ),
        ];
        for (c, arg) in cases {
            match set_device_attrs(IfIndex::new(1).unwrap(), &c) {
                Err(Error::InvalidInput { arg: a, .. }) => assert_eq!(a, arg),
                other => panic!("{arg}: {other:?}"),
            }
        }
    }
}
