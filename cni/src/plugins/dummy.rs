//! `dummy`: a dummy device in the container holding IPAM's addresses (a virtual interface with
//! nothing behind it), as the reference makes it. IPAM is required; the result's `dns` is
//! IPAM's, as the reference answers.
use netplumb::link::NewDummy;

use super::onelink::{self, AddPlan};
use super::{check_container, del_common, handle_in, refuse_existing, Plugin, Result100};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{CniError, CniResult};

/// The dummy plugin.
pub struct Dummy;

impl Plugin for Dummy {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        onelink::require_ipam(ctx, "dummy")?;
        let ns = ctx.open_netns()?;
        let cont = handle_in(&ns)?;
        refuse_existing(&cont, ctx)?;
        let plan = AddPlan {
            ctx,
            ns: &ns,
            from_prev: None,
            notify_sysctls: &[],
            dns_from_conf: false,
        };
        onelink::add(plan, || {
            // Made in the container under its own name: no host name can collide there.
            cont.add_dummy(&NewDummy::new(&ctx.ifname))
                .map_err(|e| CniError::kernel("failed to create dummy", e))?;
            cont.link(ctx.ifname.as_str())
                .map_err(|e| CniError::kernel("failed to fetch dummy", e))
        })
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        del_common(ctx, false)
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        onelink::require_ipam(ctx, "dummy")?;
        ipam::exec(ctx, Command::Check)?;
        let (_ns, _cont, link) = check_container(ctx, prev, "dummy")?;
        if !link.flags.contains(netplumb::link::LinkFlags::UP) {
            return Err(CniError::drift(format!("{:?} is down", ctx.ifname)));
        }
        Ok(())
    }
}
