//! GRE tunnels (`ip link add … type gre|gretap|ip6gre|ip6gretap …`): IP (`gre`, `ip6gre`) or
//! Ethernet (`gretap`, `ip6gretap`) in GRE over IPv4 or IPv6, with optional keys, checksums
//! and sequence numbers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, Nla};
use netlink_packet_route::link::{
    GreEncapFlags, GreEncapType, GreIOFlags, InfoData, InfoGre, InfoGre6, InfoKind, LinkMessage,
};

use super::base::new_link_message;
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, LinkRef, MacAddr, Result};

/// The fallback device the `ip_gre` module creates in every namespace for `gre` packets that
/// match no other tunnel.
pub const GRE_FALLBACK: &str = "gre0";
/// The fallback `gretap` device of the `ip_gre` module.
pub const GRETAP_FALLBACK: &str = "gretap0";
/// The fallback `erspan` device of the `ip_gre` module (listed as
/// [`LinkKind::Unknown`](super::LinkKind::Unknown)`("erspan")`).
pub const ERSPAN_FALLBACK: &str = "erspan0";
/// The fallback `ip6gre` device of the `ip6_gre` module.
pub const IP6GRE_FALLBACK: &str = "ip6gre0";

/// `IFLA_GRE_FLAGS` (linux/if_tunnel.h), which netlink-packet-route does not name.
const IFLA_GRE_FLAGS: u16 = 13;
/// `IP6_TNL_F_IGN_ENCAP_LIMIT`: send no encapsulation-limit option.
pub(crate) const IP6_TNL_F_IGN_ENCAP_LIMIT: u32 = 1;
/// The encapsulation limit and hop limit iproute2 sends when none is given.
pub(crate) const DEFAULT_ENCAP_LIMIT: u8 = 4;
pub(crate) const DEFAULT_HOP_LIMIT: u8 = 64;
/// The largest IPv6 flow label (20 bits).
pub(crate) const FLOW_LABEL_MAX: u32 = 0xf_ffff;

/// Which of the four GRE kinds a tunnel is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GreKind {
    /// IP in GRE over IPv4 (`gre`).
    #[default]
    Gre,
    /// Ethernet in GRE over IPv4 (`gretap`).
    GreTap,
    /// IP in GRE over IPv6 (`ip6gre`).
    Ip6Gre,
    /// Ethernet in GRE over IPv6 (`ip6gretap`).
    Ip6GreTap,
}

impl GreKind {
    /// The kernel's name of the kind (`ip link add … type NAME`).
    pub fn name(self) -> &'static str {
        match self {
            GreKind::Gre => "gre",
            GreKind::GreTap => "gretap",
            GreKind::Ip6Gre => "ip6gre",
            GreKind::Ip6GreTap => "ip6gretap",
        }
    }

    /// Whether the tunnel runs over IPv6.
    pub fn is_v6(self) -> bool {
        matches!(self, GreKind::Ip6Gre | GreKind::Ip6GreTap)
    }

    /// Whether the tunnel carries Ethernet frames (has a MAC address, can be bridged).
    pub fn is_tap(self) -> bool {
        matches!(self, GreKind::GreTap | GreKind::Ip6GreTap)
    }

    fn info_kind(self) -> InfoKind {
        match self {
            GreKind::Gre => InfoKind::GreTun,
            GreKind::GreTap => InfoKind::GreTap,
            GreKind::Ip6Gre => InfoKind::GreTun6,
            GreKind::Ip6GreTap => InfoKind::GreTap6,
        }
    }
}

/// A GRE tunnel to create. Fields left `None`/`false` take iproute2's defaults.
///
/// ```no_run
/// use netplumb::{Handle, link::{GreKind, NewGre}};
///
/// let h = Handle::new()?;
/// // ip link add gre1 type gre local 192.0.2.1 remote 198.51.100.1 key 42 ttl 64
/// h.add_gre(&NewGre {
///     local: Some("192.0.2.1".parse()?),
///     remote: Some("198.51.100.1".parse()?),
///     ikey: Some(42),
///     okey: Some(42),
///     ttl: Some(64),
///     ..NewGre::new("gre1", GreKind::Gre)
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewGre<'a> {
    /// The device name.
    pub name: String,
    /// Which GRE kind.
    pub kind: GreKind,
    /// The tunnel's local address (`local`), of the kind's family; any when `None`.
    pub local: Option<IpAddr>,
    /// The tunnel's remote address (`remote`), of the kind's family; any when `None`.
    pub remote: Option<IpAddr>,
    /// The key of received packets (`ikey`; `key` sets both).
    pub ikey: Option<u32>,
    /// The key of sent packets (`okey`).
    pub okey: Option<u32>,
    /// Require checksums on received packets (`icsum`).
    pub icsum: bool,
    /// Checksum sent packets (`ocsum`).
    pub ocsum: bool,
    /// Require in-order sequence numbers on received packets (`iseq`).
    pub iseq: bool,
    /// Number sent packets (`oseq`).
    pub oseq: bool,
    /// Outer TTL (`ttl`; `hoplimit` over IPv6); over IPv4 `Some(0)` is `inherit`.
    pub ttl: Option<u8>,
    /// Outer TOS (`tos`; IPv4 kinds only); `Some(1)` is `inherit`.
    pub tos: Option<u8>,
    /// Path MTU discovery (`[no]pmtudisc`; IPv4 kinds only; on by default).
    pub pmtudisc: Option<bool>,
    /// Outer traffic class (`tclass`; IPv6 kinds only).
    pub tclass: Option<u8>,
    /// Outer flow label (`flowlabel`, 20 bits; IPv6 kinds only).
    pub flow_label: Option<u32>,
    /// The tunnel encapsulation limit option (`encaplimit N`; IPv6 kinds only; 4 by default).
    pub encap_limit: Option<u8>,
    /// Send no encapsulation limit option (`encaplimit none`; IPv6 kinds only).
    pub no_encap_limit: bool,
    /// Firewall mark of the outer packets (`fwmark`).
    pub fwmark: Option<u32>,
    /// The underlay device the outer packets leave by (`dev`).
    pub underlay: Option<LinkRef<'a>>,
    /// Collect-metadata mode (`external`): addresses and keys come per packet from the routing
    /// or tc layer; no other tunnel option may be set.
    pub external: bool,
    /// MTU of the tunnel device.
    pub mtu: Option<u32>,
    /// Hardware address (tap kinds only).
    pub mac: Option<MacAddr>,
}

impl NewGre<'_> {
    /// A tunnel of `kind` named `name` with the kernel's defaults.
    pub fn new(name: &str, kind: GreKind) -> NewGre<'static> {
        NewGre {
            name: name.to_string(),
            kind,
            ..NewGre::default()
        }
    }

    /// Whether any tunnel option is set (iproute2 sends the tunnel's settings only then).
    fn has_options(&self) -> bool {
        self.local.is_some()
            || self.remote.is_some()
            || self.ikey.is_some()
            || self.okey.is_some()
            || self.icsum
            || self.ocsum
            || self.iseq
            || self.oseq
            || self.ttl.is_some()
            || self.tos.is_some()
            || self.pmtudisc.is_some()
            || self.tclass.is_some()
            || self.flow_label.is_some()
            || self.encap_limit.is_some()
            || self.no_encap_limit
            || self.fwmark.is_some()
            || self.underlay.is_some()
    }
}

/// A GRE tunnel's settings as listed ([`LinkKind::Gre`](super::LinkKind::Gre)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Gre {
    /// Which GRE kind.
    pub kind: GreKind,
    /// Local address; `None` for any.
    pub local: Option<IpAddr>,
    /// Remote address; `None` for any.
    pub remote: Option<IpAddr>,
    /// Key of received packets, when keyed.
    pub ikey: Option<u32>,
    /// Key of sent packets, when keyed.
    pub okey: Option<u32>,
    /// Checksums required on received packets.
    pub icsum: bool,
    /// Sent packets checksummed.
    pub ocsum: bool,
    /// Sequence numbers required on received packets.
    pub iseq: bool,
    /// Sent packets numbered.
    pub oseq: bool,
    /// Outer TTL or hop limit (0 is `inherit`).
    pub ttl: u8,
    /// Outer TOS (IPv4; 1 is `inherit`).
    pub tos: u8,
    /// Path MTU discovery (IPv4).
    pub pmtudisc: bool,
    /// Outer traffic class (IPv6).
    pub tclass: u8,
    /// Outer flow label (IPv6).
    pub flow_label: u32,
    /// Encapsulation limit (IPv6); `None` when none is sent (`encaplimit none`).
    pub encap_limit: Option<u8>,
    /// Firewall mark of the outer packets.
    pub fwmark: u32,
    /// The underlay device.
    pub underlay: Option<IfIndex>,
    /// Collect-metadata mode.
    pub external: bool,
}

/// The value of an attribute netlink-packet-route keeps undecoded, as a native-endian u32.
pub(crate) fn u32_of_nla(nla: &DefaultNla) -> Option<u32> {
    let mut value = vec![0; nla.value_len()];
    nla.emit_value(&mut value);
    crate::wire::attr::u32_of(&value)
}

fn some_v4(a: Ipv4Addr) -> Option<IpAddr> {
    (!a.is_unspecified()).then_some(IpAddr::V4(a))
}

fn some_v6(a: Ipv6Addr) -> Option<IpAddr> {
    (!a.is_unspecified()).then_some(IpAddr::V6(a))
}

impl Gre {
    pub(crate) fn from_v4(kind: GreKind, nlas: Vec<InfoGre>) -> Gre {
        let mut g = Gre {
            kind,
            ..Gre::default()
        };
        let (mut iflags, mut oflags) = (GreIOFlags::empty(), GreIOFlags::empty());
        let (mut ikey, mut okey) = (None, None);
        for n in nlas {
            match n {
                InfoGre::Link(l) => g.underlay = IfIndex::new(l),
                InfoGre::IFlags(f) => iflags = f,
                InfoGre::OFlags(f) => oflags = f,
                InfoGre::IKey(k) => ikey = Some(k),
                InfoGre::OKey(k) => okey = Some(k),
                InfoGre::Local(a) => g.local = some_v4(a),
                InfoGre::Remote(a) => g.remote = some_v4(a),
                InfoGre::Ttl(t) => g.ttl = t,
                InfoGre::Tos(t) => g.tos = t,
                InfoGre::PathMTUDiscovery(p) => g.pmtudisc = p,
                InfoGre::FwMask(m) => g.fwmark = m,
                InfoGre::CollectMetadata => g.external = true,
                _ => {}
            }
        }
        g.set_flags(iflags, oflags, ikey, okey);
        g
    }

    pub(crate) fn from_v6(kind: GreKind, nlas: Vec<InfoGre6>) -> Gre {
        let mut g = Gre {
            kind,
            ..Gre::default()
        };
        let (mut iflags, mut oflags) = (GreIOFlags::empty(), GreIOFlags::empty());
        let (mut ikey, mut okey) = (None, None);
        let (mut limit, mut flags) = (None, 0);
        for n in nlas {
            match n {
                InfoGre6::Link(l) => g.underlay = IfIndex::new(l),
                InfoGre6::IFlags(f) => iflags = f,
                InfoGre6::OFlags(f) => oflags = f,
                InfoGre6::IKey(k) => ikey = Some(k),
                InfoGre6::OKey(k) => okey = Some(k),
                InfoGre6::Local(a) => g.local = some_v6(a),
                InfoGre6::Remote(a) => g.remote = some_v6(a),
                InfoGre6::Ttl(t) => g.ttl = t,
                InfoGre6::EncapLimit(l) => limit = Some(l),
                InfoGre6::FlowLabel(f) => {
                    g.flow_label = f & FLOW_LABEL_MAX;
                    g.tclass = (f >> 20) as u8;
                }
                InfoGre6::FwMask(m) => g.fwmark = m,
                InfoGre6::CollectMetadata => g.external = true,
                InfoGre6::Other(nla) if nla.kind() == IFLA_GRE_FLAGS => {
                    flags = u32_of_nla(&nla).unwrap_or(0)
                }
                _ => {}
            }
        }
        g.encap_limit = limit.filter(|_| flags & IP6_TNL_F_IGN_ENCAP_LIMIT == 0);
        g.set_flags(iflags, oflags, ikey, okey);
        g
    }

    fn set_flags(
        &mut self,
        iflags: GreIOFlags,
        oflags: GreIOFlags,
        ikey: Option<u32>,
        okey: Option<u32>,
    ) {
        self.ikey = ikey.filter(|_| iflags.contains(GreIOFlags::Key));
        self.okey = okey.filter(|_| oflags.contains(GreIOFlags::Key));
        self.icsum = iflags.contains(GreIOFlags::Checksum);
        self.ocsum = oflags.contains(GreIOFlags::Checksum);
        self.iseq = iflags.contains(GreIOFlags::Seq);
        self.oseq = oflags.contains(GreIOFlags::Seq);
    }
}

/// Checks that an address is of the tunnel's family.
pub(crate) fn check_family(arg: &'static str, a: IpAddr, v6: bool, kind: &str) -> Result<()> {
    if a.is_ipv6() != v6 {
        return Err(Error::invalid(
            arg,
            format!(
                "{a} is an IPv{} address; a {kind} tunnel runs over IPv{}",
                if a.is_ipv6() { 6 } else { 4 },
                if v6 { 6 } else { 4 }
            ),
        ));
    }
    Ok(())
}

/// The checks of settings shared by the tunnel kinds over IPv6 (`ip6gre`, `ip6tnl`).
pub(crate) fn check_v6_only(kind: &str, v6: bool, set: &[(&'static str, bool)]) -> Result<()> {
    if v6 {
        return Ok(());
    }
    for (arg, is_set) in set {
        if *is_set {
            return Err(Error::invalid(
                arg,
                format!("{arg} applies to IPv6 tunnels only, not to {kind}"),
            ));
        }
    }
    Ok(())
}

fn check_gre(t: &NewGre<'_>) -> Result<()> {
    check_ifname("gre name", &t.name)?;
    let kind = t.kind.name();
    let v6 = t.kind.is_v6();
    if let Some(a) = t.local {
        check_family("local", a, v6, kind)?;
    }
    if let Some(a) = t.remote {
        check_family("remote", a, v6, kind)?;
        if a.is_unspecified() {
            return Err(Error::invalid("remote", "leave it None for any"));
        }
    }
    if t.mac.is_some() && !t.kind.is_tap() {
        return Err(Error::invalid(
            "mac",
            format!("a {kind} tunnel carries IP, not Ethernet, and has no MAC address"),
        ));
    }
    check_v6_only(
        kind,
        v6,
        &[
            ("tclass", t.tclass.is_some()),
            ("flow_label", t.flow_label.is_some()),
            ("encap_limit", t.encap_limit.is_some()),
            ("no_encap_limit", t.no_encap_limit),
        ],
    )?;
    if v6 {
        for (arg, set) in [("tos", t.tos.is_some()), ("pmtudisc", t.pmtudisc.is_some())] {
            if set {
                return Err(Error::invalid(
                    arg,
                    format!("{arg} applies to IPv4 tunnels only; use tclass on {kind}"),
                ));
            }
        }
    }
    if t.encap_limit.is_some() && t.no_encap_limit {
        return Err(Error::invalid(
            "encap_limit",
            "an encapsulation limit and no_encap_limit exclude each other",
        ));
    }
    if let Some(l) = t.flow_label {
        if l > FLOW_LABEL_MAX {
            return Err(Error::invalid(
                "flow_label",
                format!("{l:#x} does not fit the 20 bits of a flow label"),
            ));
        }
    }
    if t.pmtudisc == Some(false) && t.ttl.is_some_and(|ttl| ttl != 0) {
        return Err(Error::invalid(
            "pmtudisc",
            "nopmtudisc needs ttl inherit (Some(0) or None)",
        ));
    }
    if t.external && t.has_options() {
        return Err(Error::invalid(
            "external",
            "a collect-metadata (external) GRE tunnel takes addresses and keys per packet; \
             set no other tunnel option (keys on a tunnel without keys)",
        ));
    }
    Ok(())
}

fn io_flags(key: Option<u32>, csum: bool, seq: bool) -> GreIOFlags {
    let mut f = GreIOFlags::empty();
    if key.is_some() {
        f |= GreIOFlags::Key;
    }
    if csum {
        f |= GreIOFlags::Checksum;
    }
    if seq {
        f |= GreIOFlags::Seq;
    }
    f
}

fn v4_of(a: Option<IpAddr>) -> Option<Ipv4Addr> {
    match a {
        Some(IpAddr::V4(a)) => Some(a),
        _ => None,
    }
}

fn v6_of(a: Option<IpAddr>) -> Option<Ipv6Addr> {
    match a {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None,
    }
}

/// The `RTM_NEWLINK` request for a GRE tunnel: when any option is set, the whole parameter set
/// in iproute2's order (it sends its defaults for what is not given).
pub(crate) fn gre_message(t: &NewGre<'_>, underlay: Option<IfIndex>) -> Result<LinkMessage> {
    check_gre(t)?;
    let iflags = io_flags(t.ikey, t.icsum, t.iseq);
    let oflags = io_flags(t.okey, t.ocsum, t.oseq);
    let ikey = t.ikey.unwrap_or(0);
    let okey = t.okey.unwrap_or(0);
    let data = if t.external {
        Some(if t.kind.is_v6() {
            InfoData::GreTun6(vec![InfoGre6::CollectMetadata])
        } else {
            InfoData::GreTun(vec![InfoGre::CollectMetadata])
        })
    } else if !t.has_options() {
        None
    } else if t.kind.is_v6() {
        let mut d = vec![
            InfoGre6::IKey(ikey),
            InfoGre6::OKey(okey),
            InfoGre6::IFlags(iflags),
            InfoGre6::OFlags(oflags),
        ];
        if let Some(a) = v6_of(t.local) {
            d.push(InfoGre6::Local(a));
        }
        if let Some(a) = v6_of(t.remote) {
            d.push(InfoGre6::Remote(a));
        }
        if let Some(l) = underlay {
            d.push(InfoGre6::Link(l.get()));
        }
        let flowinfo = (u32::from(t.tclass.unwrap_or(0)) << 20) | t.flow_label.unwrap_or(0);
        let flags = if t.no_encap_limit {
            IP6_TNL_F_IGN_ENCAP_LIMIT
        } else {
            0
        };
        d.extend([
            InfoGre6::Ttl(t.ttl.unwrap_or(DEFAULT_HOP_LIMIT)),
            InfoGre6::EncapLimit(t.encap_limit.unwrap_or(DEFAULT_ENCAP_LIMIT)),
            InfoGre6::FlowLabel(flowinfo),
            InfoGre6::Other(DefaultNla::new(
                IFLA_GRE_FLAGS,
                flags.to_ne_bytes().to_vec(),
            )),
            InfoGre6::FwMask(t.fwmark.unwrap_or(0)),
            InfoGre6::ErSpanVer(1),
            InfoGre6::EncapType(GreEncapType::None),
            InfoGre6::EncapFlags(GreEncapFlags::Checksum6),
            InfoGre6::SourcePort(0),
            InfoGre6::DestinationPort(0),
        ]);
        Some(InfoData::GreTun6(d))
    } else {
        let mut d = vec![
            InfoGre::IKey(ikey),
            InfoGre::OKey(okey),
            InfoGre::IFlags(iflags),
            InfoGre::OFlags(oflags),
        ];
        if let Some(a) = v4_of(t.local) {
            d.push(InfoGre::Local(a));
        }
        if let Some(a) = v4_of(t.remote) {
            d.push(InfoGre::Remote(a));
        }
        d.push(InfoGre::PathMTUDiscovery(t.pmtudisc.unwrap_or(true)));
        d.push(InfoGre::Tos(t.tos.unwrap_or(0)));
        if let Some(l) = underlay {
            d.push(InfoGre::Link(l.get()));
        }
        d.extend([
            InfoGre::Ttl(t.ttl.unwrap_or(0)),
            InfoGre::FwMask(t.fwmark.unwrap_or(0)),
            InfoGre::EncapType(GreEncapType::None),
            InfoGre::EncapFlags(GreEncapFlags::empty()),
            InfoGre::SourcePort(0),
            InfoGre::DestinationPort(0),
        ]);
        Some(InfoData::GreTun(d))
    };
    // The data variant must name the kind (netlink-packet-route emits it alike for all four).
    let data = data.map(|d| match (t.kind, d) {
        (GreKind::GreTap, InfoData::GreTun(d)) => InfoData::GreTap(d),
        (GreKind::Ip6GreTap, InfoData::GreTun6(d)) => InfoData::GreTap6(d),
        (_, d) => d,
    });
    new_link_message(&t.name, t.mtu, t.mac, t.kind.info_kind(), data)
}

/// # Links: GRE
///
/// `ip link add … type gre|gretap|ip6gre|ip6gretap …`.
impl Handle {
    /// Creates a GRE tunnel of any of the four GRE kinds. Equivalent to
    /// `ip link add NAME type gre|gretap|ip6gre|ip6gretap [local A] [remote B] [ikey K]
    /// [okey K] [icsum] [ocsum] [iseq] [oseq] [ttl T | hoplimit T] [tos T] [[no]pmtudisc]
    /// [tclass T] [flowlabel L] [encaplimit N|none] [fwmark M] [dev D] [external]`.
    ///
    /// Inconsistent settings are refused before anything is sent: an address of the other
    /// family, IPv4-only options on an IPv6 kind and the reverse, a fixed TTL without path MTU
    /// discovery, a MAC address on a kind that is not a tap, any option with `external`.
    /// A kernel without the kind answers with [`Error::Unsupported`].
    pub fn add_gre(&self, tunnel: &NewGre<'_>) -> Result<()> {
        check_gre(tunnel)?;
        let underlay = match tunnel.underlay {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        self.create_link(tunnel.kind.name(), gre_message(tunnel, underlay)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inconsistent_settings_are_refused() {
        let v4 = NewGre::new("g0", GreKind::Gre);
        let v6 = NewGre::new("g6", GreKind::Ip6Gre);
        let cases = [
            (
                NewGre {
                    local: Some("fd00::1".parse().unwrap()),
                    ..v4.clone()
                },
                "local",
            ),
            (
                NewGre {
                    remote: Some("192.0.2.1".parse().unwrap()),
                    ..v6.clone()
                },
                "remote",
            ),
            (
                NewGre {
                    ttl: Some(64),
                    pmtudisc: Some(false),
                    ..v4.clone()
                },
                "pmtudisc",
            ),
            (
                NewGre {
                    flow_label: Some(1),
                    ..v4.clone()
                },
                "flow_label",
            ),
            (
                NewGre {
                    tos: Some(0x10),
                    ..v6.clone()
                },
                "tos",
            ),
            (
                NewGre {
                    flow_label: Some(0x10_0000),
                    ..v6.clone()
                },
                "flow_label",
            ),
            (
                NewGre {
                    mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
                    ..v4.clone()
                },
                "mac",
            ),
            (
                NewGre {
                    external: true,
                    ikey: Some(1),
                    ..v4.clone()
                },
                "external",
            ),
            (NewGre::new("a-name-far-too-long", GreKind::Gre), "gre name"),
        ];
        for (t, arg) in cases {
            match gre_message(&t, None) {
                Err(Error::InvalidInput { arg: a, .. }) => assert_eq!(a, arg, "{t:?}"),
                other => panic!("{arg}: {other:?}"),
            }
        }
    }

    #[test]
    fn keys_and_flags_read_back() {
        let g = Gre::from_v4(
            GreKind::Gre,
            vec![
                InfoGre::IFlags(GreIOFlags::Key | GreIOFlags::Checksum),
                InfoGre::OFlags(GreIOFlags::Seq),
                InfoGre::IKey(7),
                InfoGre::OKey(0),
            ],
        );
        assert_eq!(g.ikey, Some(7));
        assert_eq!(g.okey, None);
        assert!(g.icsum && !g.ocsum && !g.iseq && g.oseq);
        let g = Gre::from_v6(
            GreKind::Ip6Gre,
            vec![
                InfoGre6::EncapLimit(4),
                InfoGre6::FlowLabel(0x0100_0123),
                InfoGre6::Other(DefaultNla::new(IFLA_GRE_FLAGS, 1u32.to_ne_bytes().to_vec())),
            ],
        );
        assert_eq!((g.tclass, g.flow_label, g.encap_limit), (0x10, 0x123, None));
    }
}
