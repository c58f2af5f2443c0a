//! What the plugins that give the container one link of their own (`ipvlan`, `vlan`, `dummy`,
//! `tap`, and the shape `macvlan` has) share: the master looked up where the configuration
//! says, the link made while IPAM runs, the result built and the interface configured, and on
//! any failure every step undone (the link deleted, IPAM's DEL run).
use netplumb::route::RouteFilter;
use netplumb::{Handle, Link, NetNs, TableId};

use super::{configure_iface, handle_in, mac_text};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{CniError, CniResult, Interface, Result100};
use crate::sys;

/// The name of the link holding the default route in `h`'s namespace (the reference's
/// `getDefaultRouteInterfaceName`, both families).
pub fn default_route_dev(h: &Handle) -> CniResult<String> {
    let routes = h
        .routes(&RouteFilter::table(TableId::MAIN))
        .map_err(|e| CniError::kernel("list routes", e))?;
    for r in routes.iter().filter(|r| r.destination.prefix() == 0) {
        if let Some(dev) = r.dev() {
            let l = h
                .link(dev)
                .map_err(|e| CniError::kernel("look up the default route's device", e))?;
            return Ok(l.name.to_string());
        }
    }
    Err(CniError::config("no default route interface found"))
}

/// Looks up a master link by name; a missing one is a configuration error (code 7).
pub fn master_link(h: &Handle, name: &str, where_: &str) -> CniResult<Link> {
    h.link(name).map_err(|e| {
        if e.is_not_found() {
            CniError::config(format!("master {name:?} does not exist in {where_}"))
        } else {
            CniError::kernel(format!("failed to lookup master {name:?}"), e)
        }
    })
}

/// Checks `mtu` against the master's (`[0, master MTU]`, as the reference's vlan plugin).
pub fn check_mtu(mtu: i64, master: &Link) -> CniResult<Option<u32>> {
    if mtu < 0 || mtu > i64::from(master.mtu) {
        return Err(CniError::config(format!(
            "invalid MTU {mtu}, must be [0, master MTU({})]",
            master.mtu
        )));
    }
    Ok(u32::try_from(mtu).ok().filter(|m| *m > 0))
}

/// Renames the link made in the container under `tmp` to the container's name; on failure the
/// link is deleted. The link as it is then.
pub fn rename_in_container(cont: &Handle, tmp: &str, ctx: &Ctx, kind: &str) -> CniResult<Link> {
    if let Err(e) = cont.rename_link(tmp, &ctx.ifname) {
        let _ = cont.delete_link(tmp);
        return Err(CniError::kernel(
            format!("failed to rename {kind} to {:?}", ctx.ifname),
            e,
        ));
    }
    cont.link(ctx.ifname.as_str())
        .map_err(|e| CniError::kernel(format!("failed to refetch {kind}"), e))
}

/// A temporary name for a link made in the container before it is renamed (the reference's
/// `RandomVethName`).
pub fn temp_name() -> String {
    sys::random_veth_name()
}

/// How ADD goes for a one-link plugin.
pub struct AddPlan<'a> {
    /// The invocation.
    pub ctx: &'a Ctx,
    /// The container's namespace.
    pub ns: &'a NetNs,
    /// Addresses and routes taken from `prevResult` instead of IPAM (chained ipvlan).
    pub from_prev: Option<Result100>,
    /// Per-interface sysctls set to 1 in the container before the addresses (`{}` is the
    /// interface name), as the reference sets `arp_notify` and `ndisc_notify`.
    pub notify_sysctls: &'static [&'static str],
    /// The result's `dns` is the configuration's (else IPAM's, as the reference's dummy).
    pub dns_from_conf: bool,
}

/// ADD: IPAM starts, `make` makes the container's link (named `CNI_IFNAME` in the container,
/// or an error having left nothing), the result is built and the interface configured (or
/// only set up, without IPAM). On any failure the link is deleted and IPAM's DEL runs.
pub fn add(plan: AddPlan<'_>, make: impl FnOnce() -> CniResult<Link>) -> CniResult<Result100> {
    let ctx = plan.ctx;
    let cont = handle_in(plan.ns)?;
    let layer3 = plan.from_prev.is_none() && !ctx.common.ipam_type().is_empty();
    // IPAM runs while the link is made (it does not depend on the answer).
    let pending = if layer3 {
        Some(ipam::start(ctx, Command::Add)?)
    } else {
        None
    };
    let link = make();
    let made = link.is_ok();
    let r = finish(&plan, &cont, pending, link, layer3);
    if r.is_err() {
        if made {
            let _ = cont.delete_link(ctx.ifname.as_str());
        }
        if layer3 {
            // IPAM's DEL also when its ADD failed (spec section 4); harmless when it did nothing.
            let _ = ipam::exec(ctx, Command::Del);
        }
    }
    r
}

fn finish(
    plan: &AddPlan<'_>,
    cont: &Handle,
    pending: Option<ipam::Pending<'_>>,
    link: CniResult<Link>,
    layer3: bool,
) -> CniResult<Result100> {
    let ctx = plan.ctx;
    let mut result = Result100::default();
    if let Some(p) = pending {
        let r = p.wait_add()?;
        result.ips = r.ips;
        result.routes = r.routes;
        result.dns = r.dns;
    } else if let Some(prev) = &plan.from_prev {
        result.ips = prev.ips.clone();
        result.routes = prev.routes.clone();
    }
    let link = link?;
    result.interfaces = vec![Interface {
        name: ctx.ifname.clone(),
        mac: mac_text(link.mac),
        sandbox: ctx.netns.clone(),
        ..Interface::default()
    }];
    if layer3 || plan.from_prev.is_some() {
        for ip in &mut result.ips {
            ip.interface = Some(0);
        }
        for key in plan.notify_sysctls {
            let key = key.replace("{}", &ctx.ifname);
            let _ = plan.ns.run(|| sys::sysctl(None, &key, "1"));
        }
        configure_iface(cont, plan.ns, &ctx.ifname, &result)?;
    } else {
        cont.set_link_up(ctx.ifname.as_str())
            .map_err(|e| CniError::kernel(format!("failed to set {:?} UP", ctx.ifname), e))?;
    }
    if plan.dns_from_conf {
        // The reference sets the configuration's, empty or not.
        result.dns = ctx.common.dns.clone().unwrap_or_default();
    }
    Ok(result)
}

/// Refuses a configuration without IPAM for the plugins that need addresses.
pub fn require_ipam(ctx: &Ctx, plugin: &str) -> CniResult<()> {
    if ctx.common.ipam_type().is_empty() {
        return Err(CniError::config(format!(
            "{plugin} interface requires an IPAM configuration"
        )));
    }
    Ok(())
}
