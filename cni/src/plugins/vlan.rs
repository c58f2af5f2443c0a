//! `vlan`: an 802.1Q sub-interface of a master, in the container, as the reference makes it.
//! Options: `master` (required), `vlanId` (1–4094), `mtu` (at most the master's) and
//! `linkInContainer` (the master is in the container's namespace). IPAM is required. The device
//! is born in the container under a random name and renamed there.
use netplumb::link::{LinkKind, NewVlan};
use netplumb::VlanId;
use serde::Deserialize;

use super::onelink::{self, AddPlan};
use super::{check_container, del_common, handle_in, host_handle, plugin_conf, refuse_existing};
use super::{Plugin, Result100};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{CniError, CniResult};

/// The vlan plugin.
pub struct Vlan;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Conf {
    #[serde(default)]
    master: String,
    #[serde(default, rename = "vlanId")]
    vlan_id: i64,
    #[serde(default)]
    mtu: i64,
    #[serde(default)]
    link_in_container: bool,
}

fn load(ctx: &Ctx) -> CniResult<(Conf, VlanId)> {
    let c: Conf = plugin_conf(ctx)?;
    if c.master.is_empty() {
        return Err(CniError::config(
            "\"master\" is required: the host interface to make the VLAN on",
        ));
    }
    // The reference takes 0 (priority-tagged frames only) as well; a container on "VLAN 0"
    // is untagged traffic that the master itself carries, so it is refused here.
    let id = u16::try_from(c.vlan_id)
        .ok()
        .and_then(|v| VlanId::new(v).ok())
        .ok_or_else(|| {
            CniError::config(format!(
                "invalid vlanId {} (must be 1-4094; 0 and 4095 are reserved)",
                c.vlan_id
            ))
        })?;
    Ok((c, id))
}

impl Plugin for Vlan {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        let (c, id) = load(ctx)?;
        onelink::require_ipam(ctx, "vlan")?;
        let ns = ctx.open_netns()?;
        let host = host_handle()?;
        let cont = handle_in(&ns)?;
        let (master_h, where_) = if c.link_in_container {
            (&cont, "the container")
        } else {
            (&host, "the host")
        };
        let master = onelink::master_link(master_h, &c.master, where_)?;
        let mtu = onelink::check_mtu(c.mtu, &master)?;
        refuse_existing(&cont, ctx)?;
        let plan = AddPlan {
            ctx,
            ns: &ns,
            from_prev: None,
            notify_sysctls: &[],
            dns_from_conf: true,
        };
        onelink::add(plan, || {
            let tmp = onelink::temp_name();
            let mut v = NewVlan::new(&tmp, master.index, id);
            v.mtu = mtu;
            if c.link_in_container {
                cont.add_vlan(&v)
            } else {
                // Born in the container in one request (no move between namespaces).
                v.netns = Some(&ns);
                host.add_vlan(&v)
            }
            .map_err(|e| CniError::kernel("failed to create vlan", e))?;
            onelink::rename_in_container(&cont, &tmp, ctx, "vlan")
        })
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        // Unlike the reference, DEL does not need the master to exist any more.
        del_common(ctx, false)
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        let (c, id) = load(ctx)?;
        onelink::require_ipam(ctx, "vlan")?;
        ipam::exec(ctx, Command::Check)?;
        let (_ns, cont, link) = check_container(ctx, prev, "vlan")?;
        let host;
        let master_h = if c.link_in_container {
            &cont
        } else {
            host = host_handle()?;
            &host
        };
        match master_h.link(c.master.as_str()) {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                return Err(CniError::drift(format!("master {:?} is gone", c.master)))
            }
            Err(e) => return Err(CniError::kernel("failed to lookup master", e)),
        }
        if let Some(LinkKind::Vlan(v)) = &link.kind {
            if v.id != Some(id) {
                return Err(CniError::drift(format!(
                    "{:?} carries VLAN {}, the config says {id}",
                    ctx.ifname,
                    v.id.map(|i| i.to_string()).unwrap_or_default()
                )));
            }
        }
        if c.mtu > 0 && i64::from(link.mtu) != c.mtu {
            return Err(CniError::drift(format!(
                "{:?} has MTU {}, the config says {}",
                ctx.ifname, link.mtu, c.mtu
            )));
        }
        Ok(())
    }
}
