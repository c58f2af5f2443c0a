//! `macvlan`: a macvlan device on a host interface (`master`, by default the one holding the
//! default route), moved into the container, as the reference makes it. Options: `master`,
//! `mode` (`bridge`, `private`, `vepa`, `passthru`), `mtu`, and a MAC from `CNI_ARGS` or
//! `runtimeConfig`. The device is made in the container under a random name and renamed there,
//! so the container's name never meets the host's names.
use netplumb::link::{LinkKind, MacvlanMode, NewMacvlan};
use netplumb::route::RouteFilter;
use netplumb::{Handle, TableId};
use serde::Deserialize;

use super::{
    check_container, configure_iface, del_common, handle_in, host_handle, mac_text, plugin_conf,
    refuse_existing, Plugin,
};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{CniError, CniResult, Interface, Result100};
use crate::sys;

/// The macvlan plugin.
pub struct Macvlan;

#[derive(Deserialize, Default)]
struct Conf {
    #[serde(default)]
    master: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    mtu: i64,
}

fn mode_of(s: &str) -> CniResult<MacvlanMode> {
    match s {
        "" | "bridge" => Ok(MacvlanMode::Bridge),
        "private" => Ok(MacvlanMode::Private),
        "vepa" => Ok(MacvlanMode::Vepa),
        "passthru" => Ok(MacvlanMode::Passthru),
        other => Err(CniError::config(format!("unknown macvlan mode: {other:?}"))),
    }
}

fn default_route_dev(host: &Handle) -> CniResult<String> {
    let routes = host
        .routes(&RouteFilter::table(TableId::MAIN))
        .map_err(|e| CniError::kernel("list host routes", e))?;
    for r in routes.iter().filter(|r| r.destination.prefix() == 0) {
        if let Some(dev) = r.dev() {
            let l = host
                .link(dev)
                .map_err(|e| CniError::kernel("look up the default route's device", e))?;
            return Ok(l.name.to_string());
        }
    }
    Err(CniError::config("no default route interface found"))
}

fn load(ctx: &Ctx, host: &Handle) -> CniResult<(Conf, u32)> {
    let mut c: Conf = plugin_conf(ctx)?;
    if c.master.is_empty() {
        c.master = default_route_dev(host)?;
    }
    let master = host.link(c.master.as_str()).map_err(|e| {
        if e.is_not_found() {
            CniError::config(format!("master {:?} does not exist", c.master))
        } else {
            CniError::kernel("look up master", e)
        }
    })?;
    if c.mtu < 0 || c.mtu > i64::from(master.mtu) {
        return Err(CniError::config(format!(
            "invalid MTU {}, must be [0, master MTU({})]",
            c.mtu, master.mtu
        )));
    }
    mode_of(&c.mode)?;
    Ok((c, master.mtu))
}

/// The macvlan, made in the container under a random name and renamed there: the link.
fn make_macvlan(
    ctx: &Ctx,
    c: &Conf,
    host: &Handle,
    cont: &Handle,
    ns: &netplumb::NetNs,
    made: &mut bool,
) -> CniResult<netplumb::Link> {
    let tmp = sys::random_veth_name();
    let mut m = NewMacvlan::new(&tmp, c.master.as_str(), mode_of(&c.mode)?);
    if c.mtu > 0 {
        m.mtu = u32::try_from(c.mtu).ok();
    }
    m.mac = ctx.requested_mac()?;
    // Made straight in the container (one request, no move between namespaces), under a
    // random name, then renamed there, as the reference does.
    host.add_macvlan_in(&m, ns)
        .map_err(|e| CniError::kernel("failed to create macvlan", e))?;
    *made = true;
    if let Err(e) = cont.rename_link(tmp.as_str(), &ctx.ifname) {
        let _ = cont.delete_link(tmp.as_str());
        *made = false;
        return Err(CniError::kernel(
            format!("failed to rename macvlan to {:?}", ctx.ifname),
            e,
        ));
    }
    cont.link(ctx.ifname.as_str())
        .map_err(|e| CniError::kernel("failed to refetch macvlan", e))
}

fn add(
    ctx: &Ctx,
    c: &Conf,
    host: &Handle,
    cont: &Handle,
    ns: &netplumb::NetNs,
    made: &mut bool,
) -> CniResult<Result100> {
    let layer3 = !ctx.common.ipam_type().is_empty();
    let mut result = Result100::default();
    // IPAM runs while the macvlan is made (it does not depend on the answer).
    let pending = if layer3 {
        Some(ipam::start(ctx, Command::Add)?)
    } else {
        None
    };
    let link = make_macvlan(ctx, c, host, cont, ns, made);
    if let Some(r) = pending.map(ipam::Pending::wait_add).transpose()? {
        result.ips = r.ips;
        result.routes = r.routes;
    }
    let link = link?;
    result.interfaces = vec![Interface {
        name: ctx.ifname.clone(),
        mac: mac_text(link.mac),
        sandbox: ctx.netns.clone(),
        ..Interface::default()
    }];
    if layer3 {
        for ip in &mut result.ips {
            ip.interface = Some(0);
        }
        let key = format!("net/ipv4/conf/{}/arp_notify", ctx.ifname);
        let _ = ns.run(|| sys::sysctl(None, &key, "1"));
        configure_iface(cont, ns, &ctx.ifname, &result)?;
    } else {
        cont.set_link_up(ctx.ifname.as_str())
            .map_err(|e| CniError::kernel(format!("failed to set {:?} UP", ctx.ifname), e))?;
    }
    result.dns = ctx.common.dns.clone().unwrap_or_default();
    Ok(result)
}

impl Plugin for Macvlan {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        let host = host_handle()?;
        let (c, _) = load(ctx, &host)?;
        let ns = ctx.open_netns()?;
        let cont = handle_in(&ns)?;
        refuse_existing(&cont, ctx)?;
        let mut made = false;
        let r = add(ctx, &c, &host, &cont, &ns, &mut made);
        if r.is_err() {
            if made {
                let _ = cont.delete_link(ctx.ifname.as_str());
            }
            if !ctx.common.ipam_type().is_empty() {
                let _ = ipam::exec(ctx, Command::Del);
            }
        }
        r
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        // The master need not exist any more for DEL to succeed.
        del_common(ctx, false)
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        let host = host_handle()?;
        let (c, _) = load(ctx, &host)?;
        if !ctx.common.ipam_type().is_empty() {
            ipam::exec(ctx, Command::Check)?;
        }
        let (_ns, _cont, link) = check_container(ctx, prev, "macvlan")?;
        if let Some(LinkKind::Macvlan(m)) = &link.kind {
            let want = mode_of(&c.mode)?;
            if m.mode.is_some_and(|got| got != want) {
                return Err(CniError::drift(format!(
                    "macvlan mode is {:?}, the config says {want:?}",
                    m.mode
                )));
            }
        }
        Ok(())
    }
}
