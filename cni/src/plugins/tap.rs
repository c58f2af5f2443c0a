//! `tap`: a persistent tap device in the container (for a VM the container runs), as the
//! reference makes it. Options: `mac` (also `CNI_ARGS` `MAC=` and `runtimeConfig.mac`, which
//! win), `mtu`, `multiQueue`, `owner` and `group` (uid and gid allowed to attach), `bridge` (a
//! bridge in the container to make the tap a port of). `selinuxContext` is refused (code 2):
//! this binary does not label what it makes. IPAM is optional: without it the tap is only set
//! up (layer 2). As the reference's, the device has `vnet_hdr` set exactly when both `owner`
//! and `group` are given.
use netplumb::link::{LinkKind, NewTun, TunMode};
use netplumb::MacAddr;
use serde::Deserialize;

use super::onelink::{self, AddPlan};
use super::{check_container, del_common, handle_in, plugin_conf, refuse_existing};
use super::{Plugin, Result100};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{CniError, CniResult};

/// The tap plugin.
pub struct Tap;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Conf {
    #[serde(default)]
    multi_queue: bool,
    #[serde(default)]
    mtu: i64,
    #[serde(default)]
    mac: String,
    #[serde(default)]
    owner: Option<u32>,
    #[serde(default)]
    group: Option<u32>,
    #[serde(default)]
    selinux_context: String,
    #[serde(default)]
    bridge: String,
}

fn load(ctx: &Ctx) -> CniResult<(Conf, Option<MacAddr>, Option<u32>)> {
    let c: Conf = plugin_conf(ctx)?;
    if !c.selinux_context.is_empty() {
        return Err(ctx.fail_unsupported(
            "selinuxContext",
            &serde_json::Value::String(c.selinux_context.clone()),
        ));
    }
    let mac =
        match ctx.requested_mac()? {
            Some(m) => Some(m),
            None if c.mac.is_empty() => None,
            None => Some(c.mac.parse().map_err(|_| {
                CniError::config(format!("mac {:?} is not a hardware address", c.mac))
            })?),
        };
    let mtu = match c.mtu {
        0 => None,
        m => Some(
            u32::try_from(m)
                .ok()
                .filter(|m| (68..=65521).contains(m))
                .ok_or_else(|| CniError::config(format!("invalid MTU {m} for a tap (68-65521)")))?,
        ),
    };
    Ok((c, mac, mtu))
}

/// A library refusal of what the configuration asked (an unknown owner) is the configuration's
/// fault (code 7); anything else the kernel's.
fn tap_error(e: netplumb::Error) -> CniError {
    match e {
        netplumb::Error::InvalidInput { arg, reason } => {
            CniError::config(format!("tap {arg}: {reason}"))
        }
        e => CniError::kernel("failed to create tap", e),
    }
}

impl Plugin for Tap {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        let (c, mac, mtu) = load(ctx)?;
        let ns = ctx.open_netns()?;
        let cont = handle_in(&ns)?;
        refuse_existing(&cont, ctx)?;
        let bridge = if c.bridge.is_empty() {
            None
        } else {
            let b = cont.link(c.bridge.as_str()).map_err(|e| {
                if e.is_not_found() {
                    CniError::config(format!(
                        "bridge {:?} does not exist in the container",
                        c.bridge
                    ))
                } else {
                    CniError::kernel(format!("failed to get bridge {:?}", c.bridge), e)
                }
            })?;
            if !matches!(b.kind, Some(LinkKind::Bridge(_))) {
                return Err(CniError::config(format!(
                    "{:?} in the container is not a bridge",
                    c.bridge
                )));
            }
            Some(b.index)
        };
        let plan = AddPlan {
            ctx,
            ns: &ns,
            from_prev: None,
            notify_sysctls: &["net/ipv4/conf/{}/arp_notify"],
            dns_from_conf: true,
        };
        onelink::add(plan, || {
            let t = NewTun {
                owner: c.owner,
                group: c.group,
                multi_queue: c.multi_queue,
                vnet_hdr: c.owner.is_some() && c.group.is_some(),
                ..NewTun::new(&ctx.ifname, TunMode::Tap)
            };
            // Made on a thread inside the container, under its own name there.
            cont.add_tun(&t).map_err(tap_error)?;
            let set = || -> CniResult<netplumb::Link> {
                if let Some(m) = mtu {
                    cont.set_link_mtu(ctx.ifname.as_str(), m)
                        .map_err(|e| CniError::kernel(format!("failed to set MTU {m}"), e))?;
                }
                if let Some(m) = mac {
                    cont.set_link_mac(ctx.ifname.as_str(), m)
                        .map_err(|e| CniError::kernel(format!("failed to set MAC {m}"), e))?;
                }
                if let Some(b) = bridge {
                    cont.set_link_master(ctx.ifname.as_str(), b).map_err(|e| {
                        CniError::kernel(
                            format!("failed to set tap as a port of bridge {:?}", c.bridge),
                            e,
                        )
                    })?;
                }
                cont.set_link_up(ctx.ifname.as_str())
                    .map_err(|e| CniError::kernel("failed to set tap interface up", e))?;
                cont.link(ctx.ifname.as_str())
                    .map_err(|e| CniError::kernel("failed to refetch tap", e))
            };
            set().inspect_err(|_| {
                let _ = cont.delete_link(ctx.ifname.as_str());
            })
        })
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        del_common(ctx, false)
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        let (c, _, mtu) = load(ctx)?;
        if !ctx.common.ipam_type().is_empty() {
            ipam::exec(ctx, Command::Check)?;
        }
        let (_ns, cont, link) = check_container(ctx, prev, "tun")?;
        if let Some(LinkKind::Tun(t)) = &link.kind {
            if t.mode != Some(TunMode::Tap) {
                return Err(CniError::drift(format!(
                    "{:?} is a tun device, not a tap",
                    ctx.ifname
                )));
            }
            if t.multi_queue != c.multi_queue || t.owner != c.owner || t.group != c.group {
                return Err(CniError::drift(format!(
                    "{:?} has multi_queue {} owner {:?} group {:?}, the config says {} {:?} {:?}",
                    ctx.ifname, t.multi_queue, t.owner, t.group, c.multi_queue, c.owner, c.group
                )));
            }
        }
        if let Some(m) = mtu.filter(|m| *m != link.mtu) {
            return Err(CniError::drift(format!(
                "{:?} has MTU {}, the config says {m}",
                ctx.ifname, link.mtu
            )));
        }
        if !c.bridge.is_empty() {
            let on = match cont.link(c.bridge.as_str()) {
                Ok(b) => link.master == Some(b.index),
                Err(e) if e.is_not_found() => false,
                Err(e) => return Err(CniError::kernel("failed to get bridge", e)),
            };
            if !on {
                return Err(CniError::drift(format!(
                    "{:?} is not a port of bridge {:?}",
                    ctx.ifname, c.bridge
                )));
            }
        }
        Ok(())
    }
}
