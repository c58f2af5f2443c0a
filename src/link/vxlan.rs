//! VXLAN devices (`ip link add … type vxlan …`).

use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVxlan, LinkMessage};

use netlink_packet_route::link::{LinkAttribute, LinkInfo};

use super::base::{new_link_message, put_in_netns, selector_message};
use crate::types::check_ifname;
use crate::{Error, Handle, IfIndex, IpFamily, LinkRef, MacAddr, NetNs, Result, Vni};

/// The IANA VXLAN port, 4789. The kernel's default is still Linux's historical 8472; set
/// [`NewVxlan::port`] to interoperate with other implementations.
pub const VXLAN_PORT: u16 = 4789;

/// A VXLAN device to create. Fields left `None` take the kernel's defaults.
///
/// ```no_run
/// use netplumb::{Handle, Vni, link::NewVxlan};
///
/// let h = Handle::new()?;
/// // ip link add flannel.1 type vxlan id 1 local 192.0.2.1 dev eth0 dstport 8472 nolearning
/// h.add_vxlan(&NewVxlan {
///     local: Some("192.0.2.1".parse()?),
///     underlay: Some("eth0".into()),
///     port: Some(8472),
///     learning: Some(false),
///     ..NewVxlan::new("flannel.1", Vni::new(1)?)
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewVxlan<'a> {
    /// Device name.
    pub name: String,
    /// MTU of the device.
    pub mtu: Option<u32>,
    /// Hardware address of the device.
    pub mac: Option<MacAddr>,
    /// The VNI (`id VNI`); `None` only in [`external`](NewVxlan::external) mode.
    pub vni: Option<Vni>,
    /// Source address of the tunnel (`local IP`).
    pub local: Option<IpAddr>,
    /// The one unicast remote endpoint (`remote IP`), for a point-to-point tunnel.
    pub remote: Option<IpAddr>,
    /// The multicast group (`group IP`) that floods go to; needs [`underlay`](NewVxlan::underlay).
    pub group: Option<IpAddr>,
    /// The underlay device (`dev DEV`).
    pub underlay: Option<LinkRef<'a>>,
    /// Destination UDP port (`dstport PORT`); the kernel's default is 8472, the IANA port is
    /// [`VXLAN_PORT`].
    pub port: Option<u16>,
    /// Source UDP port range (`srcport LOW HIGH`), inclusive.
    pub port_range: Option<(u16, u16)>,
    /// Outer TTL (`ttl N`); 0 lets the kernel choose.
    pub ttl: Option<u8>,
    /// Outer TOS (`tos N`); 1 copies the inner one (`tos inherit`).
    pub tos: Option<u8>,
    /// Learn remote MACs from received frames (`[no]learning`; on by default).
    pub learning: Option<bool>,
    /// Answer ARP / neighbour solicitations from the FDB and neighbour table (`proxy`).
    pub proxy: Option<bool>,
    /// Route short-circuit (`rsc`).
    pub rsc: Option<bool>,
    /// Notify user space of FDB misses (`l2miss`).
    pub l2miss: Option<bool>,
    /// Notify user space of neighbour misses (`l3miss`).
    pub l3miss: Option<bool>,
    /// Lifetime of learned FDB entries (`ageing SECONDS`), whole seconds; zero for never.
    pub ageing: Option<Duration>,
    /// Maximum number of FDB entries, 0 for no limit (`maxaddress N`).
    pub limit: Option<u32>,
    /// Group Based Policy extension (`gbp`).
    pub gbp: bool,
    /// UDP checksums over IPv4 (`[no]udpcsum`).
    pub udp_csum: Option<bool>,
    /// Send zero UDP checksums over IPv6 (`[no]udp6zerocsumtx`).
    pub udp_zero_csum6_tx: Option<bool>,
    /// Accept zero UDP checksums over IPv6 (`[no]udp6zerocsumrx`).
    pub udp_zero_csum6_rx: Option<bool>,
    /// Collect-metadata mode (`external`): the VNI and remote come per packet from the routing
    /// or tc layer, as in Cilium- and OVS-style datapaths.
    pub external: bool,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`. The underlay
    /// stays where it is.
    pub netns: Option<&'a NetNs>,
}

impl NewVxlan<'_> {
    /// A VXLAN device with VNI `vni` and the kernel's defaults.
    pub fn new(name: &str, vni: Vni) -> NewVxlan<'static> {
        NewVxlan {
            name: name.to_string(),
            vni: Some(vni),
            ..NewVxlan::default()
        }
    }

    /// A VXLAN device in collect-metadata mode (`external`), without a VNI of its own.
    pub fn external(name: &str) -> NewVxlan<'static> {
        NewVxlan {
            name: name.to_string(),
            external: true,
            ..NewVxlan::default()
        }
    }
}

/// A VXLAN device's settings as the kernel reports them (`ip -d link show type vxlan`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vxlan {
    /// The VNI (0 in external mode).
    pub vni: Option<Vni>,
    /// Source address of the tunnel.
    pub local: Option<IpAddr>,
    /// Unicast remote endpoint.
    pub remote: Option<IpAddr>,
    /// Multicast group.
    pub group: Option<IpAddr>,
    /// Underlay device.
    pub underlay: Option<IfIndex>,
    /// Destination UDP port.
    pub port: Option<u16>,
    /// Source UDP port range, inclusive (0, 0: the kernel's choice).
    pub port_range: Option<(u16, u16)>,
    /// Outer TTL (0: the kernel's choice).
    pub ttl: Option<u8>,
    /// Outer TOS (1: inherit).
    pub tos: Option<u8>,
    /// IPv6 flow label of the outer header (`flowlabel`).
    pub flow_label: Option<u32>,
    /// Learning on.
    pub learning: Option<bool>,
    /// Proxy ARP/ND on.
    pub proxy: Option<bool>,
    /// Route short-circuit on.
    pub rsc: Option<bool>,
    /// L2 miss notifications on.
    pub l2miss: Option<bool>,
    /// L3 miss notifications on.
    pub l3miss: Option<bool>,
    /// FDB ageing time.
    pub ageing: Option<Duration>,
    /// FDB size limit (0: none).
    pub limit: Option<u32>,
    /// Group Based Policy on.
    pub gbp: bool,
    /// UDP checksums over IPv4.
    pub udp_csum: Option<bool>,
    /// Zero UDP checksums sent over IPv6.
    pub udp_zero_csum6_tx: Option<bool>,
    /// Zero UDP checksums accepted over IPv6.
    pub udp_zero_csum6_rx: Option<bool>,
    /// Collect-metadata mode.
    pub external: bool,
}

impl Vxlan {
    /// The family the device tunnels over: IPv6 when its local, remote or group address is,
    /// else IPv4. (Kernel 6.18 refuses IPv6 FDB remotes on an external-mode device without
    /// addresses too, although such a device opens sockets of both families.)
    pub fn family(&self) -> IpFamily {
        let v6 = [self.local, self.remote, self.group]
            .into_iter()
            .flatten()
            .any(|a| a.is_ipv6());
        if v6 {
            IpFamily::V6
        } else {
            IpFamily::V4
        }
    }

    pub(crate) fn from_nlas(nlas: Vec<InfoVxlan>) -> Vxlan {
        let mut i = Vxlan::default();
        for nla in nlas {
            match nla {
                InfoVxlan::Id(v) => i.vni = Vni::new(v).ok(),
                InfoVxlan::Group(a) => set_remote(&mut i, a.into()),
                InfoVxlan::Group6(a) => set_remote(&mut i, a.into()),
                InfoVxlan::Local(a) => i.local = Some(a.into()),
                InfoVxlan::Local6(a) => i.local = Some(a.into()),
                InfoVxlan::Link(l) => i.underlay = IfIndex::new(l),
                InfoVxlan::Port(p) => i.port = Some(p),
                InfoVxlan::PortRange(r) => i.port_range = Some(r),
                InfoVxlan::Ttl(t) => i.ttl = Some(t),
                InfoVxlan::Tos(t) => i.tos = Some(t),
                InfoVxlan::Label(l) => i.flow_label = Some(l),
                InfoVxlan::Learning(v) => i.learning = Some(v),
                InfoVxlan::Proxy(v) => i.proxy = Some(v),
                InfoVxlan::Rsc(v) => i.rsc = Some(v),
                InfoVxlan::L2Miss(v) => i.l2miss = Some(v),
                InfoVxlan::L3Miss(v) => i.l3miss = Some(v),
                InfoVxlan::Ageing(s) => i.ageing = Some(Duration::from_secs(u64::from(s))),
                InfoVxlan::Limit(v) => i.limit = Some(v),
                InfoVxlan::Gbp => i.gbp = true,
                InfoVxlan::UDPCsum(v) => i.udp_csum = Some(v),
                InfoVxlan::UDPZeroCsumTX(v) => i.udp_zero_csum6_tx = Some(v),
                InfoVxlan::UDPZeroCsumRX(v) => i.udp_zero_csum6_rx = Some(v),
                InfoVxlan::CollectMetadata(v) => i.external = v,
                _ => {}
            }
        }
        i
    }
}

/// The kernel keeps the unicast remote and the multicast group in one attribute; tell them
/// apart as `ip -d link` does.
fn set_remote(i: &mut Vxlan, a: IpAddr) {
    if a.is_unspecified() {
        return;
    }
    if a.is_multicast() {
        i.group = Some(a);
    } else {
        i.remote = Some(a);
    }
}

/// The largest IPv6 flow label (20 bits).
const MAX_FLOW_LABEL: u32 = 0xf_ffff;

/// Changes to an existing VXLAN device (`ip link set DEV type vxlan …`): only the settings
/// Linux lets change after creation; fields left `None` stay as they are.
///
/// The kernel (`vxlan_nl2conf`, 6.1 to 6.18) keeps the VNI, ports, source port range,
/// checksum, proxy/rsc/miss, GBP, external, address limit and MTU settings of a device fixed
/// (`EOPNOTSUPP`, "Cannot change …"; the MTU changes with
/// [`set_link_mtu`](Handle::set_link_mtu)), and a new remote, group or local address must be
/// of the family the device already has (refused by the kernel otherwise, with its message).
///
/// ```no_run
/// use netplumb::{Handle, link::VxlanChange};
///
/// let h = Handle::new()?;
/// // ip link set vx0 type vxlan remote 192.0.2.7 ttl 16 nolearning
/// h.set_vxlan("vx0", &VxlanChange {
///     remote: Some("192.0.2.7".parse()?),
///     ttl: Some(16),
///     learning: Some(false),
///     ..VxlanChange::default()
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct VxlanChange<'a> {
    /// A new unicast remote endpoint (`remote IP`); `0.0.0.0` / `::` removes it.
    pub remote: Option<IpAddr>,
    /// A new multicast group (`group IP`).
    pub group: Option<IpAddr>,
    /// A new source address (`local IP`).
    pub local: Option<IpAddr>,
    /// A new underlay device (`dev DEV`).
    pub underlay: Option<LinkRef<'a>>,
    /// Outer TTL (`ttl N`); 0 lets the kernel choose.
    pub ttl: Option<u8>,
    /// Outer TOS (`tos N`); 1 copies the inner one.
    pub tos: Option<u8>,
    /// IPv6 flow label of the outer header (`flowlabel N`), 20 bits.
    pub flow_label: Option<u32>,
    /// Learn remote MACs from received frames (`[no]learning`).
    pub learning: Option<bool>,
    /// Lifetime of learned FDB entries (`ageing SECONDS`), whole seconds; zero for never.
    pub ageing: Option<Duration>,
}

/// # Links: VXLAN
///
/// `ip link add|set … type vxlan …`.
impl Handle {
    /// Creates a VXLAN device. Equivalent to `ip link add NAME type vxlan id VNI [local IP]
    /// [remote IP | group IP] [dev DEV] [dstport PORT] [srcport LOW HIGH] [ttl N] [tos N]
    /// [[no]learning] [proxy] [rsc] [l2miss] [l3miss] [ageing SECONDS] [maxaddress N] [gbp]
    /// [[no]udpcsum] [[no]udp6zerocsumtx] [[no]udp6zerocsumrx] [external]`.
    ///
    /// Inconsistent settings are refused before anything is sent: a group that is not
    /// multicast, a remote that is, both at once, addresses of different families, a reversed
    /// port range, a missing VNI outside external mode.
    pub fn add_vxlan(&self, vxlan: &NewVxlan<'_>) -> Result<()> {
        let underlay = match vxlan.underlay {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        self.create_link("vxlan", vxlan_message(vxlan, underlay)?)
    }

    /// Changes an existing VXLAN device's settings, those Linux lets change after creation
    /// ([`VxlanChange`]). Equivalent to `ip link set DEV type vxlan [remote IP | group IP]
    /// [local IP] [dev DEV] [ttl N] [tos N] [flowlabel N] [[no]learning] [ageing SECONDS]`.
    ///
    /// Inconsistent settings are refused before anything is sent (as for
    /// [`add_vxlan`](Handle::add_vxlan), and a flow label over 20 bits); what the kernel
    /// refuses (another address family than the device's) is its error, errno and message.
    pub fn set_vxlan<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        change: &VxlanChange<'_>,
    ) -> Result<()> {
        let link = link.into();
        check_change(change)?;
        let underlay = match change.underlay {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        self.change_link(
            "set vxlan",
            link,
            vxlan_change_message(link, change, underlay)?,
        )
    }
}

/// Checks a change before anything is sent.
fn check_change(c: &VxlanChange<'_>) -> Result<()> {
    check_peer(c.remote, c.group, c.local)?;
    if let Some(l) = c.flow_label {
        if l > MAX_FLOW_LABEL {
            return Err(Error::invalid(
                "flow_label",
                format!("{l:#x} does not fit the 20 bits of a flow label"),
            ));
        }
    }
    ageing_secs(c.ageing)?;
    Ok(())
}

/// The `RTM_NEWLINK` (without `NLM_F_CREATE`) that changes an existing VXLAN device, in
/// iproute2's attribute order.
pub(crate) fn vxlan_change_message(
    link: LinkRef<'_>,
    c: &VxlanChange<'_>,
    underlay: Option<IfIndex>,
) -> Result<LinkMessage> {
    check_change(c)?;
    // iproute2 writes what it parsed in the order given (here ttl, tos, flowlabel, ageing),
    // then the addresses, the underlay and learning.
    let mut nlas = Vec::new();
    if let Some(t) = c.ttl {
        nlas.push(InfoVxlan::Ttl(t));
    }
    if let Some(t) = c.tos {
        nlas.push(InfoVxlan::Tos(t));
    }
    if let Some(l) = c.flow_label {
        nlas.push(InfoVxlan::Label(l));
    }
    if let Some(s) = ageing_secs(c.ageing)? {
        nlas.push(InfoVxlan::Ageing(s));
    }
    match c.remote.or(c.group) {
        Some(IpAddr::V4(a)) => nlas.push(InfoVxlan::Group(a)),
        Some(IpAddr::V6(a)) => nlas.push(InfoVxlan::Group6(a)),
        None => {}
    }
    match c.local {
        Some(IpAddr::V4(a)) => nlas.push(InfoVxlan::Local(a)),
        Some(IpAddr::V6(a)) => nlas.push(InfoVxlan::Local6(a)),
        None => {}
    }
    if let Some(l) = underlay {
        nlas.push(InfoVxlan::Link(l.get()));
    }
    if let Some(x) = c.learning {
        nlas.push(InfoVxlan::Learning(x));
    }
    let mut msg = selector_message(link)?;
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Vxlan),
        LinkInfo::Data(InfoData::Vxlan(nlas)),
    ]));
    Ok(msg)
}

/// Checks a remote, a group and a local address: a group is multicast, a remote is not,
/// not both, one family.
fn check_peer(remote: Option<IpAddr>, group: Option<IpAddr>, local: Option<IpAddr>) -> Result<()> {
    if let Some(g) = group {
        if !g.is_multicast() {
            return Err(Error::invalid(
                "group",
                format!("{g} is not a multicast address; use `remote` for a unicast endpoint"),
            ));
        }
    }
    if let Some(r) = remote {
        if r.is_multicast() {
            return Err(Error::invalid(
                "remote",
                format!("{r} is a multicast address; use `group` for it"),
            ));
        }
    }
    if group.is_some() && remote.is_some() {
        return Err(Error::invalid(
            "remote",
            "a VXLAN device has either a unicast remote or a multicast group, not both",
        ));
    }
    if let (Some(l), Some(p)) = (local, remote.or(group)) {
        if l.is_ipv4() != p.is_ipv4() {
            return Err(Error::invalid(
                "local",
                format!("{l} and {p} are of different address families"),
            ));
        }
    }
    Ok(())
}

/// The FDB ageing time in the kernel's whole seconds (zero: never age).
fn ageing_secs(ageing: Option<Duration>) -> Result<Option<u32>> {
    match ageing {
        // 0 means "never age"; a shorter non-zero time would silently become that.
        Some(d) if !d.is_zero() && d < Duration::from_secs(1) => Err(Error::invalid(
            "ageing",
            format!("{d:?} is under the kernel's 1 s resolution (zero means never age)"),
        )),
        Some(d) => Ok(Some(u32::try_from(d.as_secs()).map_err(|_| {
            Error::invalid(
                "ageing",
                format!("{d:?} does not fit the kernel's 32-bit seconds"),
            )
        })?)),
        None => Ok(None),
    }
}

/// The `RTM_NEWLINK` request for a VXLAN device, in iproute2's attribute order.
pub(crate) fn vxlan_message(v: &NewVxlan<'_>, underlay: Option<IfIndex>) -> Result<LinkMessage> {
    check_ifname("vxlan name", &v.name)?;
    if v.vni.is_none() && !v.external {
        return Err(Error::invalid(
            "vni",
            "a VXLAN device needs a VNI unless it is in external (collect-metadata) mode",
        ));
    }
    check_peer(v.remote, v.group, v.local)?;
    let peer = v.remote.or(v.group);
    if let Some((lo, hi)) = v.port_range {
        if lo > hi {
            return Err(Error::invalid(
                "port_range",
                format!("the range {lo}-{hi} is reversed"),
            ));
        }
    }
    let ageing = ageing_secs(v.ageing)?;

    let mut nlas = Vec::new();
    if let Some(vni) = v.vni {
        nlas.push(InfoVxlan::Id(vni.get()));
    }
    match peer {
        Some(IpAddr::V4(a)) => nlas.push(InfoVxlan::Group(a)),
        Some(IpAddr::V6(a)) => nlas.push(InfoVxlan::Group6(a)),
        None => {}
    }
    match v.local {
        Some(IpAddr::V4(a)) => nlas.push(InfoVxlan::Local(a)),
        Some(IpAddr::V6(a)) => nlas.push(InfoVxlan::Local6(a)),
        None => {}
    }
    if let Some(l) = underlay {
        nlas.push(InfoVxlan::Link(l.get()));
    }
    if let Some(t) = v.ttl {
        nlas.push(InfoVxlan::Ttl(t));
    }
    if let Some(t) = v.tos {
        nlas.push(InfoVxlan::Tos(t));
    }
    if let Some(x) = v.learning {
        nlas.push(InfoVxlan::Learning(x));
    }
    if let Some(x) = v.proxy {
        nlas.push(InfoVxlan::Proxy(x));
    }
    if let Some(x) = v.rsc {
        nlas.push(InfoVxlan::Rsc(x));
    }
    if let Some(x) = v.l2miss {
        nlas.push(InfoVxlan::L2Miss(x));
    }
    if let Some(x) = v.l3miss {
        nlas.push(InfoVxlan::L3Miss(x));
    }
    if let Some(s) = ageing {
        nlas.push(InfoVxlan::Ageing(s));
    }
    if let Some(x) = v.limit {
        nlas.push(InfoVxlan::Limit(x));
    }
    if let Some(r) = v.port_range {
        nlas.push(InfoVxlan::PortRange(r));
    }
    if let Some(p) = v.port {
        nlas.push(InfoVxlan::Port(p));
    }
    if let Some(x) = v.udp_csum {
        nlas.push(InfoVxlan::UDPCsum(x));
    }
    if let Some(x) = v.udp_zero_csum6_tx {
        nlas.push(InfoVxlan::UDPZeroCsumTX(x));
    }
    if let Some(x) = v.udp_zero_csum6_rx {
        nlas.push(InfoVxlan::UDPZeroCsumRX(x));
    }
    if v.gbp {
        nlas.push(InfoVxlan::Gbp);
    }
    if v.external {
        nlas.push(InfoVxlan::CollectMetadata(true));
    }
    let mut msg = new_link_message(
        &v.name,
        v.mtu,
        v.mac,
        InfoKind::Vxlan,
        Some(InfoData::Vxlan(nlas)),
    )?;
    put_in_netns(&mut msg, v.netns);
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vni(n: u32) -> Vni {
        Vni::new(n).unwrap()
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        let base = NewVxlan::new("vx0", vni(1));
        let cases = [
            (
                NewVxlan {
                    group: Some("192.0.2.1".parse().unwrap()),
                    ..base.clone()
                },
                "group",
            ),
            (
                NewVxlan {
                    remote: Some("239.1.1.1".parse().unwrap()),
                    ..base.clone()
                },
                "remote",
            ),
            (
                NewVxlan {
                    local: Some("2001:db8::1".parse().unwrap()),
                    remote: Some("192.0.2.1".parse().unwrap()),
                    ..base.clone()
                },
                "local",
            ),
            (
                NewVxlan {
                    port_range: Some((2000, 1000)),
                    ..base.clone()
                },
                "port_range",
            ),
            (NewVxlan::default(), "vxlan name"),
            (
                NewVxlan {
                    vni: None,
                    ..base.clone()
                },
                "vni",
            ),
        ];
        for (v, arg) in cases {
            match vxlan_message(&v, None) {
                Err(Error::InvalidInput { arg: a, .. }) => assert_eq!(a, arg),
                other => panic!("{arg}: {other:?}"),
            }
        }
        assert!(vxlan_message(&NewVxlan::external("vx1"), None).is_ok());
    }

    #[test]
    fn remote_and_group_share_one_attribute() {
        let mut i = Vxlan::default();
        set_remote(&mut i, "239.1.1.1".parse().unwrap());
        set_remote(&mut i, "192.0.2.9".parse().unwrap());
        assert_eq!(i.group, Some("239.1.1.1".parse().unwrap()));
        assert_eq!(i.remote, Some("192.0.2.9".parse().unwrap()));
        assert_eq!(i.family(), IpFamily::V4);
        i.local = Some("2001:db8::1".parse().unwrap());
        assert_eq!(i.family(), IpFamily::V6);
    }
}
