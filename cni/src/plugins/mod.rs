//! The interface plugins and what they share: configuring the container's interface from a
//! result (the reference's `ipam.ConfigureIface`), undo on failure, and CHECK's comparisons.
//!
//! A plugin is one file implementing [`Plugin`] and one line in [`by_name`]; the plugins that
//! give the container one link of their own share [`onelink`].
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netplumb::addr::{AddressFilter, AddressFlags, NewAddress};
use netplumb::route::{NewRoute, RouteFilter};
use netplumb::{Handle, IpFamily, NetNs, TableId};
use serde_json::Value;

use crate::ctx::Ctx;
use crate::ipam;
use crate::spec::{cidr, code, CniError, CniResult, Interface, Result100};
use crate::sys;

pub mod bridge;
pub mod dummy;
pub mod flannel;
pub mod ipvlan;
pub mod macvlan;
pub mod onelink;
pub mod ptp;
pub mod tap;
pub mod vlan;

/// An interface plugin.
pub trait Plugin: Sync {
    /// ADD: creates and configures the interface; the plugin's own result.
    fn add(&self, ctx: &Ctx) -> CniResult<Result100>;
    /// DEL: removes what ADD made; success when it is already gone.
    fn del(&self, ctx: &Ctx) -> CniResult<()>;
    /// CHECK: compares the kernel with `prevResult`.
    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()>;

    /// Whether ADD's result stands alone rather than following `prevResult`'s (a chained
    /// plugin that takes the previous addresses over, as the reference's `ipvlan`).
    fn replaces_prev(&self, _ctx: &Ctx) -> bool {
        false
    }

    /// STATUS (1.1.0): ready when the IPAM plugin is (the plugin itself needs nothing).
    fn status(&self, ctx: &Ctx) -> CniResult<()> {
        if !ctx.common.ipam_type().is_empty() {
            ipam::exec(ctx, crate::ctx::Command::Status)?;
        }
        Ok(())
    }

    /// GC (1.1.0): IPAM's GC, and the masquerade rules of attachments no longer valid.
    fn gc(&self, ctx: &Ctx) -> CniResult<()> {
        if ctx.conf.get("ipMasq").and_then(Value::as_bool) == Some(true) {
            gc_masq(ctx)?;
        }
        if !ctx.common.ipam_type().is_empty() {
            ipam::exec(ctx, crate::ctx::Command::Gc)?;
        }
        Ok(())
    }
}

/// Removes the masquerade rules (and chains) this network made for containers that are not in
/// GC's valid attachments, found by the reference's comment on their POSTROUTING jump.
fn gc_masq(ctx: &Ctx) -> CniResult<()> {
    let valid: Vec<String> = ctx
        .valid_attachments()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for v6 in [false, true] {
        let tool = if v6 { "ip6tables" } else { "iptables" };
        let Ok(out) = std::process::Command::new(tool)
            .args(["--wait", "-t", "nat", "-S", "POSTROUTING"])
            .output()
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let net_tag = format!("name: \\\"{}\\\" id: \\\"", ctx.common.name);
        for line in text.lines() {
            let Some(at) = line.find(&net_tag) else {
                continue;
            };
            let rest = &line[at + net_tag.len()..];
            let Some(id) = rest.split("\\\"").next() else {
                continue;
            };
            if valid.iter().any(|v| v == id) {
                continue;
            }
            let word_after = |flag: &str| {
                let mut w = line.split_whitespace();
                w.position(|x| x == flag)?;
                w.next().map(str::to_string)
            };
            let (Some(src), Some(chain)) = (word_after("-s"), word_after("-j")) else {
                continue;
            };
            let ip = src.split('/').next().unwrap_or("").parse::<IpAddr>();
            if let Ok(ip) = ip {
                let _ = sys::teardown_masq(ip, &chain, &sys::masq_comment(&ctx.common.name, id));
            }
        }
    }
    Ok(())
}

/// The plugin for a `type` (with or without the `netplumb-` prefix).
pub fn by_name(name: &str) -> Option<&'static dyn Plugin> {
    match name.strip_prefix("netplumb-").unwrap_or(name) {
        "bridge" => Some(&bridge::Bridge),
        "ptp" => Some(&ptp::Ptp),
        "macvlan" => Some(&macvlan::Macvlan),
        // flannel's meta-plugin: renders a config from the agent's subnet file, delegates.
        "flannel" => Some(&flannel::Flannel),
        // The link kinds netplumb gained for issue 17: one block.
        "ipvlan" => Some(&ipvlan::Ipvlan),
        "vlan" => Some(&vlan::Vlan),
        "dummy" => Some(&dummy::Dummy),
        "tap" => Some(&tap::Tap),
        _ => None,
    }
}

/// Deserializes the plugin's own configuration.
pub fn plugin_conf<T: serde::de::DeserializeOwned>(ctx: &Ctx) -> CniResult<T> {
    serde_json::from_value(ctx.conf.clone()).map_err(|e| {
        CniError::new(
            code::DECODE,
            "failed to decode the network configuration",
            e.to_string(),
        )
    })
}

/// Opens a handle in the host namespace (the process's).
pub fn host_handle() -> CniResult<Handle> {
    Handle::new().map_err(|e| CniError::kernel("open rtnetlink", e))
}

/// Opens a handle in `ns`.
pub fn handle_in(ns: &NetNs) -> CniResult<Handle> {
    Handle::new_in(ns).map_err(|e| CniError::kernel("open rtnetlink in the container", e))
}

/// Fails with code 102 when `ifname` is in the container already (spec: ADD must).
pub fn refuse_existing(cont: &Handle, ctx: &Ctx) -> CniResult<()> {
    match cont.link(ctx.ifname.as_str()) {
        Ok(_) => Err(CniError::new(
            code::IF_EXISTS,
            format!("interface {:?} already exists in the container", ctx.ifname),
            format!(
                "{} already holds {:?}; ADD twice for the same container and interface is an error",
                ctx.netns, ctx.ifname
            ),
        )),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(CniError::kernel("look up the container interface", e)),
    }
}

/// A lower-case MAC text, as Go's `net.HardwareAddr.String()` writes it.
pub fn mac_text(mac: Option<netplumb::MacAddr>) -> String {
    mac.map(|m| m.to_string().to_lowercase())
        .unwrap_or_default()
}

/// The IPv4 broadcast the reference's netlink library adds for prefixes shorter than /31.
fn broadcast_of(net: &IpNetwork) -> Option<std::net::Ipv4Addr> {
    match net {
        IpNetwork::V4(n) if n.prefix() < 31 => Some(n.broadcast()),
        _ => None,
    }
}

/// A [`NewAddress`] for a result's address (broadcast as the reference sets it).
pub fn new_address(net: &IpNetwork) -> CniResult<NewAddress> {
    let mut a = NewAddress::new(net.ip(), net.prefix())
        .map_err(|e| CniError::config(format!("address {}: {e}", cidr(net))))?;
    a.broadcast = broadcast_of(net);
    Ok(a)
}

/// The network of a prefix (host bits cleared).
pub fn network_of(net: &IpNetwork) -> IpNetwork {
    IpNetwork::new(net.network(), net.prefix()).unwrap_or(*net)
}

/// Inside the container: the reference's `ipam.ConfigureIface`: IPv6 enabled when an IPv6
/// address comes, the addresses added, the link up, IPv6 addresses settled when there is an
/// IPv6 gateway, then the routes (gateway defaulting to the family's first).
pub fn configure_iface(
    cont: &Handle,
    ns: &NetNs,
    ifname: &str,
    result: &Result100,
) -> CniResult<()> {
    let mine = |idx: Option<usize>| {
        idx.and_then(|i| result.interfaces.get(i))
            .is_some_and(|i| i.name == ifname)
    };
    let mut v4gw = None;
    let mut v6gw = None;
    let mut v6 = false;
    for ip in &result.ips {
        let Some(i) = ip.interface else { continue };
        if !mine(Some(i)) {
            return Err(CniError::config(format!(
                "failed to add IP addr {} to {ifname:?}: invalid interface index {i}",
                cidr(&ip.address)
            )));
        }
        if ip.address.is_ipv6() && !v6 {
            let _ = ns.run(|| {
                for i in ["lo", ifname] {
                    let key = format!("net/ipv6/conf/{i}/disable_ipv6");
                    if sys::sysctl_get(None, &key).is_ok_and(|v| v == "1") {
                        let _ = sys::sysctl(None, &key, "0");
                    }
                }
            });
            v6 = true;
        }
        cont.add_address(ifname, &new_address(&ip.address)?)
            .map_err(|e| CniError::kernel(format!("add address {}", cidr(&ip.address)), e))?;
        match ip.gateway {
            Some(g @ IpAddr::V4(_)) if v4gw.is_none() => v4gw = Some(g),
            Some(g @ IpAddr::V6(_)) if v6gw.is_none() => v6gw = Some(g),
            _ => {}
        }
    }
    cont.set_link_up(ifname)
        .map_err(|e| CniError::kernel(format!("set {ifname} up"), e))?;
    if v6gw.is_some() {
        settle(cont, ifname, Duration::from_secs(10));
    }
    for r in &result.routes {
        let gw = r.gw.or(if r.dst.is_ipv4() { v4gw } else { v6gw });
        let dst = network_of(&r.dst);
        let route = match gw {
            Some(g) => NewRoute::via_dev(dst, g, ifname),
            None => NewRoute::dev(dst, ifname),
        }
        .map_err(|e| CniError::config(format!("route {}: {e}", cidr(&r.dst))))?;
        cont.add_route(&route).map_err(|e| {
            CniError::kernel(
                format!(
                    "add route {} via {} dev {ifname}",
                    cidr(&r.dst),
                    gw.map(|g| g.to_string()).unwrap_or_default()
                ),
                e,
            )
        })?;
    }
    Ok(())
}

/// Waits until no IPv6 address of the link is tentative (the reference's SettleAddresses).
pub fn settle(h: &Handle, ifname: &str, max: Duration) {
    let t = Instant::now();
    while t.elapsed() < max {
        let filter = AddressFilter {
            family: Some(IpFamily::V6),
            ..AddressFilter::link(ifname)
        };
        match h.addresses(&filter) {
            Ok(a) if a.iter().all(|a| !a.flags.contains(AddressFlags::TENTATIVE)) => return,
            Err(_) => return,
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Waits until a host link is operationally up (the reference polls for up to 2.55 s).
pub fn wait_oper_up(h: &Handle, name: &str) -> CniResult<()> {
    let t = Instant::now();
    loop {
        let l = h
            .link(name)
            .map_err(|e| CniError::kernel(format!("look up {name}"), e))?;
        if l.oper_state == netplumb::link::OperState::Up {
            return Ok(());
        }
        if t.elapsed() > Duration::from_millis(2550) {
            return Err(CniError::new(
                code::KERNEL,
                "bridge port in error state",
                format!("{name} is {:?}", l.oper_state),
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The container interface of `prev` (name == CNI_IFNAME, sandbox == CNI_NETNS) and its index.
pub fn container_iface<'a>(ctx: &Ctx, prev: &'a Result100) -> CniResult<(usize, &'a Interface)> {
    prev.interfaces
        .iter()
        .enumerate()
        .find(|(_, i)| i.name == ctx.ifname && i.sandbox == ctx.netns)
        .ok_or_else(|| {
            CniError::config(format!(
                "prevResult names no interface {:?} in sandbox {:?}",
                ctx.ifname, ctx.netns
            ))
        })
}

/// CHECK inside the container: the interface is there, of `kind`, with its MAC, its addresses
/// and the result's routes.
pub fn check_container(
    ctx: &Ctx,
    prev: &Result100,
    kind: &str,
) -> CniResult<(NetNs, Handle, netplumb::Link)> {
    let (idx, iface) = container_iface(ctx, prev)?;
    let ns = ctx.open_netns()?;
    let cont = handle_in(&ns)?;
    let link = match cont.link(ctx.ifname.as_str()) {
        Ok(l) => l,
        Err(e) if e.is_not_found() => {
            return Err(CniError::drift(format!(
                "interface {:?} is gone from {}",
                ctx.ifname, ctx.netns
            )))
        }
        Err(e) => return Err(CniError::kernel("look up the container interface", e)),
    };
    let got_kind = link.kind.as_ref().map(|k| k.name()).unwrap_or("");
    if got_kind != kind {
        return Err(CniError::drift(format!(
            "interface {:?} is a {got_kind:?} link, not {kind:?}",
            ctx.ifname
        )));
    }
    if !iface.mac.is_empty() && iface.mac != mac_text(link.mac) {
        return Err(CniError::drift(format!(
            "interface {:?} has MAC {}, prevResult says {}",
            ctx.ifname,
            mac_text(link.mac),
            iface.mac
        )));
    }
    let addrs = cont
        .addresses(&AddressFilter::link(link.index))
        .map_err(|e| CniError::kernel("list container addresses", e))?;
    for ip in prev.ips.iter().filter(|ip| ip.interface == Some(idx)) {
        if !addrs
            .iter()
            .any(|a| a.address.ip() == ip.address.ip() && a.address.prefix() == ip.address.prefix())
        {
            return Err(CniError::drift(format!(
                "address {} is missing from {:?}",
                cidr(&ip.address),
                ctx.ifname
            )));
        }
    }
    let routes = cont
        .routes(&RouteFilter::table(TableId::MAIN))
        .map_err(|e| CniError::kernel("list container routes", e))?;
    // A route without `gw` goes through the family's first gateway, as ADD made it.
    let family_gw = |v4: bool| {
        prev.ips
            .iter()
            .filter(|ip| ip.interface == Some(idx) && ip.address.is_ipv4() == v4)
            .find_map(|ip| ip.gateway)
    };
    for r in &prev.routes {
        let dst = network_of(&r.dst);
        let gw = r.gw.or_else(|| family_gw(r.dst.is_ipv4()));
        let found = routes.iter().any(|k| {
            k.destination == dst
                && gw.is_none_or(|g| {
                    k.next_hops
                        .iter()
                        .any(|n| n.gateway == Some(g) || n.via == Some(g))
                })
        });
        if !found {
            return Err(CniError::drift(format!(
                "route {}{} is missing from the container",
                cidr(&r.dst),
                gw.map(|g| format!(" via {g}")).unwrap_or_default()
            )));
        }
    }
    Ok((ns, cont, link))
}

/// DEL inside the container: the link's global addresses when `want_addrs` (for ipMasq
/// teardown), then the link deleted (one request when the addresses are not wanted); a
/// missing namespace or link is success.
pub fn delete_container_link(ctx: &Ctx, want_addrs: bool) -> CniResult<Vec<IpAddr>> {
    if ctx.netns.is_empty() {
        return Ok(Vec::new());
    }
    let ns = match NetNs::open_path(&ctx.netns) {
        Ok(ns) => ns,
        Err(_) => return Ok(Vec::new()),
    };
    let cont = handle_in(&ns)?;
    sys::trace("container handle");
    if !want_addrs {
        return match cont.delete_link(ctx.ifname.as_str()) {
            Ok(()) => Ok(Vec::new()),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(CniError::kernel(format!("delete {}", ctx.ifname), e)),
        };
    }
    let link = match cont.link(ctx.ifname.as_str()) {
        Ok(l) => l,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(CniError::kernel("look up the container interface", e)),
    };
    let addrs = cont
        .addresses(&AddressFilter::link(link.index))
        .map_err(|e| CniError::kernel("list container addresses", e))?
        .into_iter()
        .map(|a| a.address.ip())
        .filter(|ip| match ip {
            IpAddr::V4(a) => !a.is_loopback() && !a.is_link_local() && !a.is_multicast(),
            IpAddr::V6(a) => {
                !a.is_loopback() && !a.is_multicast() && (a.segments()[0] & 0xffc0) != 0xfe80
            }
        })
        .collect();
    match cont.delete_link(link.index) {
        Ok(()) => Ok(addrs),
        Err(e) if e.is_not_found() => Ok(addrs),
        Err(e) => Err(CniError::kernel(format!("delete {}", ctx.ifname), e)),
    }
}

/// DEL's common part: IPAM's DEL starts first (a delegated plugin then runs while the kernel
/// deletes the link, the slow part), the container's link is deleted, and with `ip_masq` the
/// masquerade rules of its addresses go. Best effort: the link is deleted even when IPAM cannot
/// run; the first error is returned.
pub fn del_common(ctx: &Ctx, ip_masq: bool) -> CniResult<()> {
    let layer3 = !ctx.common.ipam_type().is_empty();
    let (on_link, ipam_done) = if ctx.common.ipam_type() == crate::hostlocal::NAME {
        // Our IPAM reads its store on a thread of its own meanwhile.
        std::thread::scope(|s| {
            let ipam = s.spawn(|| {
                let r = crate::hostlocal::run(ctx, crate::ctx::Command::Del);
                sys::trace("ipam released");
                r
            });
            let on_link = delete_container_link(ctx, ip_masq);
            sys::trace("link deleted");
            let done = ipam.join().unwrap_or_else(|_| {
                Err(CniError::new(
                    code::IO_FAILURE,
                    "IPAM's DEL failed",
                    "its thread panicked",
                ))
            });
            (on_link, done.map(|_| ()))
        })
    } else {
        let pending = layer3.then(|| ipam::start(ctx, crate::ctx::Command::Del));
        let on_link = delete_container_link(ctx, ip_masq && layer3);
        let ipam_done = match pending {
            Some(Ok(p)) => p.wait().map(|_| ()),
            Some(Err(e)) => Err(e),
            None => Ok(()),
        };
        (on_link, ipam_done)
    };
    let on_link = on_link?;
    ipam_done?;
    if ip_masq && layer3 {
        teardown_masq(ctx, del_addresses(ctx, on_link));
    }
    Ok(())
}

/// Sets up the reference's masquerade rules for every address; on failure the ones made are
/// removed again.
pub fn setup_masq(ctx: &Ctx, result: &Result100) -> CniResult<()> {
    let chain = sys::masq_chain(&ctx.common.name, &ctx.container_id);
    let comment = sys::masq_comment(&ctx.common.name, &ctx.container_id);
    for ip in &result.ips {
        if let Err(e) = sys::setup_masq(&ip.address, &chain, &comment) {
            teardown_masq(ctx, result.ips.iter().map(|i| i.address.ip()));
            return Err(e);
        }
    }
    Ok(())
}

/// Removes the masquerade rules of these addresses (best effort).
pub fn teardown_masq(ctx: &Ctx, ips: impl IntoIterator<Item = IpAddr>) {
    let chain = sys::masq_chain(&ctx.common.name, &ctx.container_id);
    let comment = sys::masq_comment(&ctx.common.name, &ctx.container_id);
    for ip in ips {
        let _ = sys::teardown_masq(ip, &chain, &comment);
    }
}

/// The addresses a DEL must unmasquerade: those on the link and those in `prevResult`.
pub fn del_addresses(ctx: &Ctx, on_link: Vec<IpAddr>) -> Vec<IpAddr> {
    let mut ips = on_link;
    if let Some(prev) = ctx.common.prev_result.as_ref() {
        if let Ok(r) = Result100::from_value(prev, "prevResult") {
            for ip in r.ips {
                if !ips.contains(&ip.address.ip()) {
                    ips.push(ip.address.ip());
                }
            }
        }
    }
    ips
}

/// CHECK of the masquerade rules.
pub fn check_masq(ctx: &Ctx, prev: &Result100) -> CniResult<()> {
    let chain = sys::masq_chain(&ctx.common.name, &ctx.container_id);
    let comment = sys::masq_comment(&ctx.common.name, &ctx.container_id);
    for ip in &prev.ips {
        if !sys::masq_present(ip.address.ip(), &chain, &comment)? {
            return Err(CniError::drift(format!(
                "the masquerade rule of {} is missing",
                ip.address.ip()
            )));
        }
    }
    Ok(())
}

/// Enables forwarding in the host namespace for the families of `result` (the reference's
/// `ip.EnableForward`).
pub fn enable_forward(result: &Result100) -> CniResult<()> {
    let mut v4 = false;
    let mut v6 = false;
    for ip in &result.ips {
        if ip.address.is_ipv4() {
            v4 = true;
        } else {
            v6 = true;
        }
    }
    let set = |key: &str| {
        if sys::sysctl_get(None, key).is_ok_and(|v| v == "1") {
            return Ok(());
        }
        sys::sysctl(None, key, "1").map_err(|e| {
            CniError::new(
                code::IO_FAILURE,
                "could not enable IP forwarding",
                format!("{key}: {e}"),
            )
        })
    };
    if v4 {
        set("net/ipv4/ip_forward")?;
    }
    if v6 {
        set("net/ipv6/conf/all/forwarding")?;
    }
    Ok(())
}

/// Accepts `false`/absent for a field this binary does not implement, refuses `true`.
pub fn refuse_true(ctx: &Ctx, field: &str) -> CniResult<()> {
    match ctx.conf.get(field) {
        Some(v @ Value::Bool(true)) => Err(ctx.fail_unsupported(field, v)),
        _ => Ok(()),
    }
}
