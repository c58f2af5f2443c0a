//! `bridge`: a veth pair from the container to a Linux bridge on the host, as the reference
//! plugin makes it (options `bridge`, `isGateway`, `isDefaultGateway`, `forceAddress`,
//! `hairpinMode`, `promiscMode`, `mtu`, `ipMasq`, `enabledad`, and VLAN filtering: `vlan`,
//! `vlanTrunk`, `preserveDefaultVlan`). `macspoofchk` is refused with code 2 rather than
//! ignored.
//!
//! VLANs as the reference does them: a bridge this call makes gets `vlan_filtering` when
//! `vlan` or `vlanTrunk` is set (an existing bridge is left as it is); the host end of the veth
//! gets `vlan` as its PVID, untagged, or the `vlanTrunk` VLANs tagged; unless
//! `preserveDefaultVlan` (default true) the port's other VLANs (the default VLAN 1) are
//! removed first. With `isGateway` and `vlan`, the gateway address goes on a veth named
//! `BRIDGE.VLAN` whose peer is a port of the bridge in that VLAN (made once, shared).
//!
//! Unlike the reference, IPAM runs before anything is made, and a failure at any later step
//! undoes every step before it (veth, bridge if this call made it, bridge address, IPAM).
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netplumb::addr::AddressFilter;
use netplumb::link::{BridgePort, BridgeVlan, LinkFlags, LinkKind, NewBridge, NewVeth};
use netplumb::{Handle, IpFamily, NetNs, VlanId};
use serde::Deserialize;

use super::{
    check_container, check_masq, configure_iface, del_common, enable_forward, handle_in,
    host_handle, mac_text, new_address, plugin_conf, refuse_existing, refuse_true, setup_masq,
    teardown_masq, wait_oper_up, Plugin,
};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{cidr, code, CniError, CniResult, Interface, Result100, Route};
use crate::sys;

/// The bridge plugin.
pub struct Bridge;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Conf {
    #[serde(default, rename = "bridge")]
    br_name: String,
    #[serde(default, rename = "isGateway")]
    is_gw: bool,
    #[serde(default, rename = "isDefaultGateway")]
    is_default_gw: bool,
    #[serde(default)]
    force_address: bool,
    #[serde(default)]
    ip_masq: bool,
    #[serde(default)]
    mtu: u32,
    #[serde(default)]
    hairpin_mode: bool,
    #[serde(default)]
    promisc_mode: bool,
    #[serde(default)]
    vlan: i64,
    #[serde(default)]
    vlan_trunk: Option<Vec<VlanTrunk>>,
    #[serde(default = "yes")]
    preserve_default_vlan: bool,
    #[serde(default, rename = "enabledad")]
    enable_dad: bool,
    /// The `vlanTrunk` VLANs, sorted, each once.
    #[serde(skip)]
    vlans: Vec<u16>,
}

fn yes() -> bool {
    true
}

/// One `vlanTrunk` entry: a range (`minID`, `maxID`) and/or a single `id`.
#[derive(Deserialize, Default)]
struct VlanTrunk {
    #[serde(default, rename = "minID")]
    min_id: Option<i64>,
    #[serde(default, rename = "maxID")]
    max_id: Option<i64>,
    #[serde(default)]
    id: Option<i64>,
}

/// The reference's `collectVlanTrunk`: every VLAN the entries name (1–4094), sorted, once.
fn collect_vlan_trunk(trunk: &[VlanTrunk]) -> CniResult<Vec<u16>> {
    let ok = |v: i64| (1..=4094).contains(&v);
    let mut set = std::collections::BTreeSet::new();
    for t in trunk {
        match (t.min_id, t.max_id) {
            (Some(lo), Some(hi)) => {
                if !ok(lo) {
                    return Err(CniError::config("incorrect trunk minID parameter"));
                }
                if !ok(hi) {
                    return Err(CniError::config("incorrect trunk maxID parameter"));
                }
                if hi < lo {
                    return Err(CniError::config(
                        "minID is greater than maxID in trunk parameter",
                    ));
                }
                set.extend(lo..=hi);
            }
            (None, Some(_)) => {
                return Err(CniError::config(
                    "minID and maxID should be configured simultaneously, minID is missing",
                ))
            }
            (Some(_), None) => {
                return Err(CniError::config(
                    "minID and maxID should be configured simultaneously, maxID is missing",
                ))
            }
            (None, None) => {}
        }
        if let Some(id) = t.id {
            if !ok(id) {
                return Err(CniError::config("incorrect trunk id parameter"));
            }
            set.insert(id);
        }
    }
    Ok(set
        .into_iter()
        .filter_map(|v| u16::try_from(v).ok())
        .collect())
}

fn load(ctx: &Ctx) -> CniResult<Conf> {
    let mut c: Conf = plugin_conf(ctx)?;
    if c.br_name.is_empty() {
        c.br_name = "cni0".into();
    }
    crate::ctx::check_ifname(&c.br_name)
        .map_err(|why| CniError::config(format!("bridge name {why}")))?;
    if !(0..=4094).contains(&c.vlan) {
        return Err(CniError::config(format!(
            "invalid VLAN ID {} (must be between 0 and 4094)",
            c.vlan
        )));
    }
    c.vlans = collect_vlan_trunk(c.vlan_trunk.as_deref().unwrap_or_default())?;
    if c.vlan > 0 && !c.vlans.is_empty() {
        return Err(CniError::config(
            "cannot set vlan and vlanTrunk at the same time",
        ));
    }
    refuse_true(ctx, "macspoofchk")?;
    if c.is_default_gw {
        c.is_gw = true;
    }
    if c.hairpin_mode && c.promisc_mode {
        return Err(CniError::config(
            "cannot set hairpin mode and promiscuous mode at the same time",
        ));
    }
    Ok(c)
}

/// What ADD made so far, undone in reverse on failure.
#[derive(Default)]
struct Undo {
    ipam: bool,
    bridge: Option<String>,
    veth: bool,
    bridge_addrs: Vec<IpNetwork>,
    masq: Vec<IpAddr>,
    /// The `BRIDGE.VLAN` gateway veth, when this call made it.
    vlan_gw: Option<String>,
}

impl Undo {
    fn run(&self, ctx: &Ctx, host: &Handle, cont: &Handle, br: &str) {
        if !self.masq.is_empty() {
            teardown_masq(ctx, self.masq.iter().copied());
        }
        for a in &self.bridge_addrs {
            let _ = host.delete_address(br, *a);
        }
        if let Some(g) = &self.vlan_gw {
            let _ = host.delete_link(g.as_str());
        }
        if self.veth {
            let _ = cont.delete_link(ctx.ifname.as_str());
        }
        if let Some(b) = &self.bridge {
            let _ = host.delete_link(b.as_str());
        }
        if self.ipam {
            let _ = ipam::exec(ctx, Command::Del);
        }
    }
}

/// The reference's gateway calculation: every address on interface 2, a gateway (the
/// subnet's first address) when `isGateway` and IPAM gave none, a default route per family
/// when `isDefaultGateway` and IPAM gave none; the bridge addresses to set.
fn calc_gateways(result: &mut Result100, c: &Conf) -> Vec<IpNetwork> {
    let mut gws = Vec::new();
    let mut default_found = [false, false];
    for i in 0..result.ips.len() {
        let v6 = result.ips[i].address.is_ipv6();
        let fam = usize::from(v6);
        result.ips[i].interface = Some(2);
        if result.ips[i].gateway.is_none() && c.is_gw {
            let net = result.ips[i].address.network();
            result.ips[i].gateway = Some(match net {
                IpAddr::V4(a) => IpAddr::V4((u32::from(a).wrapping_add(1)).into()),
                IpAddr::V6(a) => IpAddr::V6((u128::from(a).wrapping_add(1)).into()),
            });
        }
        if c.is_default_gw && !default_found[fam] {
            let zero: IpNetwork = if v6 {
                IpNetwork::new(IpAddr::V6(0u128.into()), 0)
            } else {
                IpNetwork::new(IpAddr::V4(0u32.into()), 0)
            }
            .unwrap_or_else(|_| result.ips[i].address);
            if !result
                .routes
                .iter()
                .any(|r| r.gw.is_some() && r.dst == zero)
            {
                result.routes.push(Route {
                    dst: zero,
                    gw: result.ips[i].gateway,
                    extra: Default::default(),
                });
            }
            default_found[fam] = true;
        }
        if c.is_gw {
            if let Some(g) = result.ips[i].gateway {
                if let Ok(n) = IpNetwork::new(g, result.ips[i].address.prefix()) {
                    gws.push(n);
                }
            }
        }
    }
    gws
}

/// Makes the bridge unless it is there; `Some(name)` when this call made it, and the bridge's
/// MAC before any port joined (which [`ensure_addr`] pins, as the reference does).
fn ensure_bridge(
    host: &Handle,
    c: &Conf,
) -> CniResult<(Option<String>, Option<netplumb::MacAddr>)> {
    let mut made = None;
    match host.link(c.br_name.as_str()) {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {
            let mut b = NewBridge::new(&c.br_name);
            if c.mtu != 0 {
                b.mtu = Some(c.mtu);
            }
            if c.vlan_filtering() {
                b.options.vlan_filtering = Some(true);
            }
            match host.add_bridge(&b) {
                Ok(()) => made = Some(c.br_name.clone()),
                Err(e) if e.is_exists() => {}
                Err(e) => {
                    return Err(CniError::kernel(
                        format!("failed to create bridge {:?}", c.br_name),
                        e,
                    ))
                }
            }
        }
        Err(e) => return Err(CniError::kernel("look up the bridge", e)),
    }
    let fail = |e| CniError::kernel(format!("set up bridge {:?}", c.br_name), e);
    if c.promisc_mode {
        host.set_link_flags(c.br_name.as_str(), LinkFlags::PROMISC, LinkFlags::PROMISC)
            .map_err(fail)?;
    }
    let _ = sys::sysctl(None, &format!("net/ipv6/conf/{}/accept_ra", c.br_name), "0");
    host.set_link_up(c.br_name.as_str()).map_err(fail)?;
    let mac = host.link(c.br_name.as_str()).map_err(fail)?.mac;
    Ok((made, mac))
}

/// Refuses a bridge name held by a link that is not a bridge, before anything changes.
fn check_bridge_name(host: &Handle, name: &str) -> CniResult<()> {
    match host.link(name) {
        Ok(l) if !matches!(l.kind, Some(LinkKind::Bridge(_))) => Err(CniError::config(format!(
            "{name:?} already exists but is not a bridge"
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(CniError::kernel("look up the bridge", e)),
    }
}

/// The reference's `ensureAddr`: the gateway address on the bridge, other addresses of the
/// family replaced only with `forceAddress`. `true` when it added the address.
fn ensure_addr(
    host: &Handle,
    br: &str,
    mac: Option<netplumb::MacAddr>,
    gw: &IpNetwork,
    force: bool,
) -> CniResult<bool> {
    let fam = if gw.is_ipv4() {
        IpFamily::V4
    } else {
        IpFamily::V6
    };
    let addrs = host
        .addresses(&AddressFilter {
            family: Some(fam),
            ..AddressFilter::link(br)
        })
        .map_err(|e| CniError::kernel("list bridge addresses", e))?;
    for a in &addrs {
        if a.address.ip() == gw.ip() && a.address.prefix() == gw.prefix() {
            return Ok(false);
        }
        if let IpAddr::V6(v6) = a.address.ip() {
            if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                continue;
            }
        }
        if gw.is_ipv4() || a.address.contains(gw.ip()) || gw.contains(a.address.ip()) {
            if force {
                host.delete_address(br, a.address)
                    .map_err(|e| CniError::kernel("remove the bridge's old address", e))?;
            } else {
                return Err(CniError::config(format!(
                    "{br:?} already has an IP address different from {}",
                    cidr(gw)
                )));
            }
        }
    }
    host.add_address(br, &new_address(gw)?)
        .map_err(|e| CniError::kernel(format!("could not add IP address to {br:?}"), e))?;
    // As the reference: pin the bridge's own MAC so that it does not follow its ports.
    if let Some(mac) = mac {
        host.set_link_mac(br, mac)
            .map_err(|e| CniError::kernel("could not set bridge's mac", e))?;
    }
    Ok(true)
}

/// Creates the veth pair from inside the container (peer in the host), retrying a random
/// host-side name that is taken. Returns the host-side name.
fn make_veth(
    cont: &Handle,
    host_ns: &NetNs,
    ifname: &str,
    mtu: u32,
    mac: Option<netplumb::MacAddr>,
) -> CniResult<String> {
    let mut last = None;
    for _ in 0..10 {
        let host_name = sys::random_veth_name();
        let mut v = NewVeth::new(ifname, &host_name);
        if mtu != 0 {
            v.mtu = Some(mtu);
            v.peer.mtu = Some(mtu);
        }
        v.mac = mac;
        v.peer.netns = Some(host_ns);
        match cont.add_veth(&v) {
            Ok(()) => return Ok(host_name),
            Err(e) if e.is_exists() => last = Some(e),
            Err(e) => return Err(CniError::kernel("failed to make veth pair", e)),
        }
    }
    Err(match last {
        Some(e) => CniError::kernel("failed to find a unique veth name", e),
        None => CniError::new(code::KERNEL, "failed to find a unique veth name", ""),
    })
}

/// The host side of a veth: up, no router advertisements (the reference's `SetupVeth`).
pub fn host_veth_up(host: &Handle, name: &str) -> CniResult<Option<netplumb::MacAddr>> {
    host.set_link_up(name)
        .map_err(|e| CniError::kernel(format!("failed to set {name:?} up"), e))?;
    let _ = sys::sysctl(None, &format!("net/ipv6/conf/{name}/accept_ra"), "0");
    let l = host
        .link(name)
        .map_err(|e| CniError::kernel(format!("failed to look up {name:?}"), e))?;
    Ok(l.mac)
}

impl Conf {
    /// A bridge this plugin makes filters VLANs (`vlan` or `vlanTrunk` given).
    fn vlan_filtering(&self) -> bool {
        self.vlan != 0 || self.vlan_trunk.is_some()
    }

    /// Where the gateway addresses go: the bridge, or its `BRIDGE.VLAN` veth.
    fn gateway_link(&self) -> String {
        if self.vlan != 0 {
            format!("{}.{}", self.br_name, self.vlan)
        } else {
            self.br_name.clone()
        }
    }
}

/// The reference's port VLANs: unless `preserve`, every VLAN of the port removed (the default
/// VLAN 1); `vlan` as the PVID, untagged; the `trunk` VLANs tagged.
fn port_vlans(
    host: &Handle,
    port: &str,
    vlan: i64,
    trunk: &[u16],
    preserve: bool,
) -> CniResult<()> {
    let fail = |e| CniError::kernel(format!("failed to setup vlan tag on interface {port:?}"), e);
    if (vlan != 0 || !trunk.is_empty()) && !preserve {
        let have = host.bridge_vlans(Some(port.into())).map_err(|e| {
            CniError::kernel(
                format!("failed to remove default vlan on interface {port:?}"),
                e,
            )
        })?;
        for v in have.iter().flat_map(|p| p.vlans.iter()) {
            let plain = BridgeVlan {
                pvid: false,
                untagged: false,
                ..*v
            };
            host.delete_bridge_vlan(port, &plain).map_err(|e| {
                CniError::kernel(
                    format!("failed to remove default vlan on interface {port:?}"),
                    e,
                )
            })?;
        }
    }
    if vlan != 0 {
        let vid = vlan_id(vlan)?;
        let access = BridgeVlan {
            pvid: true,
            untagged: true,
            ..BridgeVlan::new(vid)
        };
        host.add_bridge_vlan(port, &access).map_err(fail)?;
    }
    // Runs of consecutive VLANs as one range each: the same kernel state as one request per
    // VLAN, in fewer requests.
    let mut i = 0;
    while i < trunk.len() {
        let mut j = i;
        while j + 1 < trunk.len() && trunk[j + 1] == trunk[j] + 1 {
            j += 1;
        }
        let first = vlan_id(i64::from(trunk[i]))?;
        let v = if j > i {
            BridgeVlan::range(first, vlan_id(i64::from(trunk[j]))?)
        } else {
            BridgeVlan::new(first)
        };
        host.add_bridge_vlan(port, &v).map_err(fail)?;
        i = j + 1;
    }
    Ok(())
}

fn vlan_id(v: i64) -> CniResult<VlanId> {
    u16::try_from(v)
        .ok()
        .and_then(|v| VlanId::new(v).ok())
        .ok_or_else(|| CniError::config(format!("invalid VLAN ID {v}")))
}

/// The reference's `ensureVlanInterface`: the veth `BRIDGE.VLAN` in the host namespace, its
/// peer a port of the bridge with PVID `vlan`, both up; made unless there. Its name and MAC,
/// and whether this call made it.
fn ensure_vlan_gateway(
    host: &Handle,
    c: &Conf,
) -> CniResult<(String, Option<netplumb::MacAddr>, bool)> {
    let name = c.gateway_link();
    match host.link(name.as_str()) {
        Ok(l) => return Ok((name, l.mac, false)),
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            return Err(CniError::kernel(
                format!("failed to find interface {name:?}"),
                e,
            ))
        }
    }
    let fail = |e| CniError::kernel(format!("faild to create vlan gateway {name:?}"), e);
    let br_mtu = host.link(c.br_name.as_str()).map_err(fail)?.mtu;
    let mut made = None;
    for _ in 0..10 {
        let peer = sys::random_veth_name();
        let mut v = NewVeth::new(&name, &peer);
        v.mtu = Some(br_mtu);
        v.peer.mtu = Some(br_mtu);
        match host.add_veth(&v) {
            Ok(()) => {
                made = Some(peer);
                break;
            }
            Err(e) if e.is_exists() && host.link(name.as_str()).is_err() => {}
            Err(e) => return Err(fail(e)),
        }
    }
    let Some(peer) = made else {
        return Err(CniError::new(
            code::KERNEL,
            "failed to find a unique veth name",
            "",
        ));
    };
    let r = (|| {
        host.set_link_up(name.as_str()).map_err(fail)?;
        host_veth_up(host, &peer)?;
        host.set_link_master(peer.as_str(), c.br_name.as_str())
            .map_err(fail)?;
        let port = BridgePort {
            hairpin: Some(false),
            ..BridgePort::default()
        };
        host.set_bridge_port(peer.as_str(), &port).map_err(fail)?;
        port_vlans(host, &peer, c.vlan, &[], c.preserve_default_vlan)?;
        host.link(name.as_str()).map_err(fail)
    })();
    match r {
        Ok(l) => Ok((name, l.mac, true)),
        Err(e) => {
            let _ = host.delete_link(name.as_str());
            Err(e)
        }
    }
}

/// The bridge (unless there), the veth pair, the host end up, on the bridge, hairpin set:
/// the host end's name and MAC, and the bridge's own MAC.
#[allow(clippy::type_complexity)]
fn make_links(
    ctx: &Ctx,
    c: &Conf,
    host: &Handle,
    cont: &Handle,
    undo: &mut Undo,
) -> CniResult<(String, Option<netplumb::MacAddr>, Option<netplumb::MacAddr>)> {
    let (made, br_mac) = ensure_bridge(host, c)?;
    undo.bridge = made;
    sys::trace("bridge");
    let host_ns = NetNs::current().map_err(|e| CniError::kernel("open the host netns", e))?;
    let host_name = make_veth(cont, &host_ns, &ctx.ifname, c.mtu, ctx.requested_mac()?)?;
    undo.veth = true;
    sys::trace("veth");
    let host_mac = host_veth_up(host, &host_name)?;
    host.set_link_master(host_name.as_str(), c.br_name.as_str())
        .map_err(|e| {
            CniError::kernel(
                format!("failed to connect {host_name:?} to bridge {:?}", c.br_name),
                e,
            )
        })?;
    let port = BridgePort {
        hairpin: Some(c.hairpin_mode),
        ..BridgePort::default()
    };
    host.set_bridge_port(host_name.as_str(), &port)
        .map_err(|e| {
            CniError::kernel(format!("failed to setup hairpin mode for {host_name}"), e)
        })?;
    port_vlans(host, &host_name, c.vlan, &c.vlans, c.preserve_default_vlan)?;
    sys::trace("port");
    Ok((host_name, host_mac, br_mac))
}

fn add(
    ctx: &Ctx,
    c: &Conf,
    host: &Handle,
    cont: &Handle,
    ns: &NetNs,
    undo: &mut Undo,
) -> CniResult<Result100> {
    let layer3 = !ctx.common.ipam_type().is_empty();
    let mut result = Result100::default();
    // IPAM starts first and runs while the bridge and the veth are made, which do not depend
    // on its answer; when either fails, what the other did is undone too.
    let pending = if layer3 {
        match ipam::start(ctx, Command::Add) {
            Ok(p) => Some(p),
            Err(e) => {
                // Spec section 4: a delegate that failed on ADD is called again with DEL.
                let _ = ipam::exec(ctx, Command::Del);
                return Err(e);
            }
        }
    } else {
        None
    };
    let links = make_links(ctx, c, host, cont, undo);
    let answer = pending.map(ipam::Pending::wait_add).transpose();
    // Settled either way now: a failure from here on gives IPAM its DEL.
    undo.ipam = layer3;
    sys::trace("ipam");
    let (host_name, host_mac, br_mac) = links?;
    if let Some(r) = answer? {
        result.ips = r.ips;
        result.routes = r.routes;
    }
    let cont_link = cont
        .link(ctx.ifname.as_str())
        .map_err(|e| CniError::kernel("look up the container veth", e))?;
    result.interfaces = vec![
        Interface {
            name: c.br_name.clone(),
            ..Interface::default()
        },
        Interface {
            name: host_name.clone(),
            mac: mac_text(host_mac),
            ..Interface::default()
        },
        Interface {
            name: ctx.ifname.clone(),
            mac: mac_text(cont_link.mac),
            sandbox: ctx.netns.clone(),
            ..Interface::default()
        },
    ];
    if layer3 {
        let gws = calc_gateways(&mut result, c);
        let ifname = ctx.ifname.as_str();
        let dad = c.enable_dad;
        let _ = ns.run(|| {
            if dad {
                let _ = sys::sysctl(None, &format!("net/ipv6/conf/{ifname}/enhanced_dad"), "1");
                let _ = sys::sysctl(None, &format!("net/ipv6/conf/{ifname}/accept_dad"), "1");
            } else {
                let _ = sys::sysctl(None, &format!("net/ipv6/conf/{ifname}/accept_dad"), "0");
            }
            let _ = sys::sysctl(None, &format!("net/ipv4/conf/{ifname}/arp_notify"), "1");
        });
        sys::trace("sysctls");
        configure_iface(cont, ns, ifname, &result)?;
        sys::trace("container configured");
        wait_oper_up(host, &host_name)?;
        sys::trace("host veth up");
        if c.is_gw && c.vlan != 0 && !gws.is_empty() {
            let (name, mac, made) = ensure_vlan_gateway(host, c)?;
            if made {
                undo.vlan_gw = Some(name.clone());
            }
            result.interfaces.push(Interface {
                name: name.clone(),
                mac: mac_text(mac),
                ..Interface::default()
            });
            for gw in &gws {
                ensure_addr(host, &name, mac, gw, c.force_address)?;
            }
            enable_forward(&result)?;
        } else if c.is_gw {
            for gw in &gws {
                if ensure_addr(host, &c.br_name, br_mac, gw, c.force_address)? {
                    undo.bridge_addrs.push(*gw);
                }
            }
            if !gws.is_empty() {
                enable_forward(&result)?;
            }
        }
        if c.ip_masq {
            undo.masq = result.ips.iter().map(|i| i.address.ip()).collect();
            setup_masq(ctx, &result)?;
        }
    } else {
        cont.set_link_up(ctx.ifname.as_str())
            .map_err(|e| CniError::kernel(format!("failed to set {:?} up", ctx.ifname), e))?;
    }
    let br = host
        .link(c.br_name.as_str())
        .map_err(|e| CniError::kernel("look up the bridge", e))?;
    result.interfaces[0].mac = mac_text(br.mac);
    result.dns = ctx.common.dns.clone().unwrap_or_default();
    Ok(result)
}

impl Plugin for Bridge {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        let c = load(ctx)?;
        let host = host_handle()?;
        let ns = ctx.open_netns()?;
        sys::trace("netns open");
        let cont = handle_in(&ns)?;
        sys::trace("container handle");
        refuse_existing(&cont, ctx)?;
        check_bridge_name(&host, &c.br_name)?;
        sys::trace("checked");
        let mut undo = Undo::default();
        let r = add(ctx, &c, &host, &cont, &ns, &mut undo);
        if r.is_err() {
            undo.run(ctx, &host, &cont, &c.br_name);
        }
        r
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        let c = load(ctx)?;
        del_common(ctx, c.ip_masq)
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        let c = load(ctx)?;
        if !ctx.common.ipam_type().is_empty() {
            ipam::exec(ctx, Command::Check)?;
        }
        let (_ns, _cont, link) = check_container(ctx, prev, "veth")?;
        let host = host_handle()?;
        let br = match host.link(c.br_name.as_str()) {
            Ok(l) if matches!(l.kind, Some(LinkKind::Bridge(_))) => l,
            Ok(_) => {
                return Err(CniError::drift(format!(
                    "{:?} is no longer a bridge",
                    c.br_name
                )))
            }
            Err(e) if e.is_not_found() => {
                return Err(CniError::drift(format!("bridge {:?} is gone", c.br_name)))
            }
            Err(e) => return Err(CniError::kernel("look up the bridge", e)),
        };
        // The host end: the result's host interface, a port of the bridge, the container
        // veth's peer.
        for i in prev
            .interfaces
            .iter()
            .filter(|i| i.sandbox.is_empty() && i.name != c.br_name && i.name != c.gateway_link())
        {
            match host.link(i.name.as_str()) {
                Ok(h) => {
                    if h.master != Some(br.index) {
                        return Err(CniError::drift(format!(
                            "{:?} is no longer a port of {:?}",
                            i.name, c.br_name
                        )));
                    }
                    if link.link.is_some() && link.link != Some(h.index) {
                        return Err(CniError::drift(format!(
                            "{:?} is not the peer of the container's {:?}",
                            i.name, ctx.ifname
                        )));
                    }
                }
                Err(e) if e.is_not_found() => {
                    return Err(CniError::drift(format!("host veth {:?} is gone", i.name)))
                }
                Err(e) => return Err(CniError::kernel("look up the host veth", e)),
            }
        }
        if c.is_gw {
            let gw_link = c.gateway_link();
            let addrs = host
                .addresses(&AddressFilter::link(gw_link.as_str()))
                .map_err(|e| CniError::kernel("list bridge addresses", e))?;
            for ip in &prev.ips {
                if let Some(g) = ip.gateway {
                    if !addrs.iter().any(|a| a.address.ip() == g) {
                        return Err(CniError::drift(format!(
                            "gateway {g} is missing from {gw_link:?}"
                        )));
                    }
                }
            }
        }
        if c.ip_masq && !prev.ips.is_empty() {
            check_masq(ctx, prev)?;
        }
        Ok(())
    }
}
