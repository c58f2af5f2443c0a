//! Netconf types: the per-namespace settings netplumb reads and writes ([`ConfKnob`], where
//! ([`ConfScope`])), and the kernel's netconf report ([`Netconf`]).

use crate::{IfIndex, IpFamily};

/// A network setting of a namespace, per device or for all of them (`sysctl
/// net.ipv4.conf.SCOPE.KNOB`, `net.ipv6.conf.SCOPE.KNOB`): the knobs that container and
/// routing tools set. Values are the kernel's integers; each knob's range is checked before
/// writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfKnob {
    /// IPv4 forwarding (`net.ipv4.conf.*.forwarding`; `all` is `net.ipv4.ip_forward`): 0 or 1.
    Ipv4Forwarding,
    /// Answer ARP for addresses routed through another device (`proxy_arp`): 0 or 1.
    ProxyArp,
    /// Reverse-path filtering (`rp_filter`): 0 off, 1 strict, 2 loose.
    RpFilter,
    /// Which ARP requests to answer (`arp_ignore`): 0–3 or 8.
    ArpIgnore,
    /// Which source address to announce in ARP requests (`arp_announce`): 0–2.
    ArpAnnounce,
    /// Send a gratuitous ARP when the device comes up or its address changes (`arp_notify`):
    /// 0 or 1.
    ArpNotify,
    /// Accept packets with a local source address (`accept_local`): 0 or 1.
    AcceptLocal,
    /// Route 127.0.0.0/8 off the host (`route_localnet`): 0 or 1.
    RouteLocalnet,
    /// IPv6 forwarding (`net.ipv6.conf.*.forwarding`): 0 or 1.
    Ipv6Forwarding,
    /// Accept router advertisements (`accept_ra`): 0 no, 1 unless forwarding, 2 even when
    /// forwarding.
    AcceptRa,
    /// IPv6 off on the device (`disable_ipv6`): 0 or 1.
    DisableIpv6,
    /// Duplicate address detection (`accept_dad`): 0 off, 1 on, 2 on and disable IPv6 on a
    /// duplicate link-local address.
    AcceptDad,
    /// How link-local addresses are made (`addr_gen_mode`): 0 EUI-64, 1 none, 2 stable
    /// privacy, 3 random.
    AddrGenMode,
}

impl ConfKnob {
    /// Every knob, IPv4 first.
    pub const ALL: [ConfKnob; 13] = [
        ConfKnob::Ipv4Forwarding,
        ConfKnob::ProxyArp,
        ConfKnob::RpFilter,
        ConfKnob::ArpIgnore,
        ConfKnob::ArpAnnounce,
        ConfKnob::ArpNotify,
        ConfKnob::AcceptLocal,
        ConfKnob::RouteLocalnet,
        ConfKnob::Ipv6Forwarding,
        ConfKnob::AcceptRa,
        ConfKnob::DisableIpv6,
        ConfKnob::AcceptDad,
        ConfKnob::AddrGenMode,
    ];

    /// The family whose tree holds the knob.
    pub fn family(self) -> IpFamily {
        match self {
            ConfKnob::Ipv6Forwarding
            | ConfKnob::AcceptRa
            | ConfKnob::DisableIpv6
            | ConfKnob::AcceptDad
            | ConfKnob::AddrGenMode => IpFamily::V6,
            _ => IpFamily::V4,
        }
    }

    /// The file name under `/proc/sys/net/ipv{4,6}/conf/SCOPE/`.
    pub fn name(self) -> &'static str {
        match self {
            ConfKnob::Ipv4Forwarding | ConfKnob::Ipv6Forwarding => "forwarding",
            ConfKnob::ProxyArp => "proxy_arp",
            ConfKnob::RpFilter => "rp_filter",
            ConfKnob::ArpIgnore => "arp_ignore",
            ConfKnob::ArpAnnounce => "arp_announce",
            ConfKnob::ArpNotify => "arp_notify",
            ConfKnob::AcceptLocal => "accept_local",
            ConfKnob::RouteLocalnet => "route_localnet",
            ConfKnob::AcceptRa => "accept_ra",
            ConfKnob::DisableIpv6 => "disable_ipv6",
            ConfKnob::AcceptDad => "accept_dad",
            ConfKnob::AddrGenMode => "addr_gen_mode",
        }
    }

    /// Whether `value` is one the knob takes.
    pub(crate) fn accepts(self, value: i32) -> bool {
        match self {
            ConfKnob::RpFilter
            | ConfKnob::ArpAnnounce
            | ConfKnob::AcceptRa
            | ConfKnob::AcceptDad => (0..=2).contains(&value),
            ConfKnob::ArpIgnore => (0..=3).contains(&value) || value == 8,
            ConfKnob::AddrGenMode => (0..=3).contains(&value),
            _ => value == 0 || value == 1,
        }
    }
}

/// Where a setting applies: every device (`all`), devices made from now on (`default`), or
/// one device by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfScope<'a> {
    /// `conf/all`: for most knobs, also what each device's value is combined with.
    All,
    /// `conf/default`: copied to each device created later.
    Default,
    /// `conf/NAME`: one device.
    Link(&'a str),
}

/// What a netconf record is for: all devices, the default, or one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetconfScope {
    /// `all` (`NETCONFA_IFINDEX_ALL`).
    All,
    /// `default` (`NETCONFA_IFINDEX_DEFAULT`).
    Default,
    /// One device.
    Link(IfIndex),
}

/// The kernel's netconf record of a device (`ip netconf show`, `RTM_NEWNETCONF`): the
/// settings routing daemons follow. A field is `None` when the kernel did not report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Netconf {
    /// The family (`inet`, `inet6`).
    pub family: IpFamily,
    /// What it is for.
    pub scope: NetconfScope,
    /// `forwarding`.
    pub forwarding: Option<bool>,
    /// `rp_filter` (0 off, 1 strict, 2 loose; IPv4 only).
    pub rp_filter: Option<u32>,
    /// `mc_forwarding`.
    pub mc_forwarding: Option<bool>,
    /// `proxy_neigh` (IPv4 `proxy_arp`, IPv6 `proxy_ndp`).
    pub proxy_neigh: Option<bool>,
    /// `ignore_routes_with_linkdown`.
    pub ignore_routes_with_linkdown: Option<bool>,
}
