//! `ipvlan`: an ipvlan device on a master interface, in the container, as the reference makes
//! it. Options: `master` (default: the interface of the default route, or in a chain the single
//! interface of `prevResult`), `mode` (`l2` by default, `l3`, `l3s`), `mtu` (at most the
//! master's) and `linkInContainer` (the master is in the container's namespace). Without an
//! `ipam` section the addresses of `prevResult` are moved onto the ipvlan (the reference's
//! chained use). The device is born in the container under a random name and renamed there.
use netplumb::link::{IpvlanMode, LinkKind, NewIpvlan};
use serde::Deserialize;

use super::onelink::{self, AddPlan};
use super::{check_container, del_common, handle_in, host_handle, plugin_conf, refuse_existing};
use super::{Plugin, Result100};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{CniError, CniResult};

/// The ipvlan plugin.
pub struct Ipvlan;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Conf {
    #[serde(default)]
    master: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    mtu: i64,
    #[serde(default)]
    link_in_container: bool,
}

fn mode_of(s: &str) -> CniResult<IpvlanMode> {
    match s {
        "" | "l2" => Ok(IpvlanMode::L2),
        "l3" => Ok(IpvlanMode::L3),
        "l3s" => Ok(IpvlanMode::L3s),
        other => Err(CniError::config(format!("unknown ipvlan mode: {other:?}"))),
    }
}

/// The previous result, when this runs in a chain.
fn prev(ctx: &Ctx) -> CniResult<Option<Result100>> {
    match ctx.common.prev_result.as_ref() {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => Result100::from_value(v, "prevResult").map(Some),
    }
}

/// The configuration with its master resolved (named, from prevResult, or the default route's
/// device where the master lives).
fn load(ctx: &Ctx, master_ns: &netplumb::Handle) -> CniResult<Conf> {
    let mut c: Conf = plugin_conf(ctx)?;
    mode_of(&c.mode)?;
    if c.master.is_empty() {
        c.master = match prev(ctx)? {
            Some(p) => match p.interfaces.as_slice() {
                [one] if !one.name.is_empty() => one.name.clone(),
                _ => {
                    return Err(CniError::config(
                        "chained master failure: prevResult lacks a single named interface",
                    ))
                }
            },
            None => onelink::default_route_dev(master_ns)?,
        };
    }
    Ok(c)
}

/// Chained without IPAM: the addresses come from prevResult, which must have some.
fn from_prev(ctx: &Ctx) -> CniResult<Option<Result100>> {
    if !ctx.common.ipam_type().is_empty() {
        return Ok(None);
    }
    match prev(ctx)? {
        Some(p) if !p.ips.is_empty() => Ok(Some(p)),
        _ => Err(CniError::config(
            "ipvlan needs an ipam section, or a prevResult with addresses to take over",
        )),
    }
}

impl Plugin for Ipvlan {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        let ns = ctx.open_netns()?;
        let host = host_handle()?;
        let cont = handle_in(&ns)?;
        let c: Conf = plugin_conf(ctx)?;
        let (master_h, where_) = if c.link_in_container {
            (&cont, "the container")
        } else {
            (&host, "the host")
        };
        let c = load(ctx, master_h)?;
        let taken = from_prev(ctx)?;
        let master = onelink::master_link(master_h, &c.master, where_)?;
        let mtu = onelink::check_mtu(c.mtu, &master)?;
        refuse_existing(&cont, ctx)?;
        let plan = AddPlan {
            ctx,
            ns: &ns,
            from_prev: taken,
            notify_sysctls: &[
                "net/ipv4/conf/{}/arp_notify",
                "net/ipv6/conf/{}/ndisc_notify",
            ],
            dns_from_conf: true,
        };
        onelink::add(plan, || {
            let tmp = onelink::temp_name();
            let mut m = NewIpvlan::new(&tmp, master.index, mode_of(&c.mode)?);
            m.mtu = mtu;
            if c.link_in_container {
                // The master is in the container: made there, from there.
                cont.add_ipvlan(&m)
            } else {
                // Born in the container in one request (no move between namespaces).
                m.netns = Some(&ns);
                host.add_ipvlan(&m)
            }
            .map_err(|e| CniError::kernel("failed to create ipvlan", e))?;
            onelink::rename_in_container(&cont, &tmp, ctx, "ipvlan")
        })
    }

    fn replaces_prev(&self, ctx: &Ctx) -> bool {
        // Chained without IPAM, the ipvlan takes prevResult's addresses over: the result is
        // the ipvlan's alone, as the reference answers.
        ctx.common.ipam_type().is_empty()
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        // The master need not exist any more for DEL to succeed.
        del_common(ctx, false)
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        let c: Conf = plugin_conf(ctx)?;
        if !ctx.common.ipam_type().is_empty() {
            ipam::exec(ctx, Command::Check)?;
        }
        let want = mode_of(&c.mode)?;
        let (_ns, cont, link) = check_container(ctx, prev, "ipvlan")?;
        let host;
        let master_h = if c.link_in_container {
            &cont
        } else {
            host = host_handle()?;
            &host
        };
        if !c.master.is_empty() {
            match master_h.link(c.master.as_str()) {
                Ok(m) => {
                    if !c.link_in_container && link.link.is_some() && link.link_netnsid.is_some() {
                        // The parent index is the master's in its namespace.
                        if link.link != Some(m.index) {
                            return Err(CniError::drift(format!(
                                "{:?} is no longer on master {:?}",
                                ctx.ifname, c.master
                            )));
                        }
                    }
                }
                Err(e) if e.is_not_found() => {
                    return Err(CniError::drift(format!("master {:?} is gone", c.master)))
                }
                Err(e) => return Err(CniError::kernel("failed to lookup master", e)),
            }
        }
        if let Some(LinkKind::Ipvlan(v)) = &link.kind {
            if v.mode.is_some_and(|got| got != want) {
                return Err(CniError::drift(format!(
                    "ipvlan mode is {:?}, the config says {want:?}",
                    v.mode
                )));
            }
        }
        Ok(())
    }
}
