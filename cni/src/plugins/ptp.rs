//! `ptp`: a veth pair, routed rather than bridged, as the reference makes it: the container
//! reaches its gateway as a /32 (/128) on its veth, the host holds the gateway address on its
//! end and a host route to the container's address. Options: `mtu`, `ipMasq`, `dns`.
use netplumb::addr::AddressFilter;
use netplumb::route::{NewRoute, RouteKey, RouteScope};
use netplumb::{Handle, NetNs};
use serde::Deserialize;

use super::bridge::host_veth_up;
use super::{
    check_container, check_masq, configure_iface, del_common, enable_forward, handle_in,
    host_handle, mac_text, network_of, plugin_conf, refuse_existing, setup_masq, Plugin,
};
use crate::ctx::{Command, Ctx};
use crate::ipam;
use crate::spec::{cidr, code, CniError, CniResult, Interface, Result100};
use crate::sys;

/// The ptp plugin.
pub struct Ptp;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Conf {
    #[serde(default)]
    ip_masq: bool,
    #[serde(default)]
    mtu: u32,
}

fn host_net(ip: std::net::IpAddr) -> CniResult<ipnetwork::IpNetwork> {
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    ipnetwork::IpNetwork::new(ip, bits).map_err(|e| CniError::config(e.to_string()))
}

/// The veth pair, made from inside the container with the peer in the host under a random
/// name (retried when taken): the host end's name.
fn make_veth(ctx: &Ctx, c: &Conf, cont: &Handle) -> CniResult<String> {
    let host_ns = NetNs::current().map_err(|e| CniError::kernel("open the host netns", e))?;
    for _ in 0..10 {
        let name = sys::random_veth_name();
        let mut v = netplumb::link::NewVeth::new(&ctx.ifname, &name);
        if c.mtu != 0 {
            v.mtu = Some(c.mtu);
            v.peer.mtu = Some(c.mtu);
        }
        v.peer.netns = Some(&host_ns);
        match cont.add_veth(&v) {
            Ok(()) => return Ok(name),
            Err(e) if e.is_exists() => continue,
            Err(e) => return Err(CniError::kernel("failed to make veth pair", e)),
        }
    }
    Err(CniError::new(
        code::KERNEL,
        "failed to find a unique veth name",
        "",
    ))
}

fn add(
    ctx: &Ctx,
    c: &Conf,
    host: &Handle,
    cont: &Handle,
    ns: &NetNs,
    made_veth: &mut bool,
) -> CniResult<Result100> {
    // IPAM runs while the veth pair is made (it does not depend on the answer).
    let pending = ipam::start(ctx, Command::Add)?;
    let veth = make_veth(ctx, c, cont);
    if veth.is_ok() {
        *made_veth = true;
    }
    let mut result = pending.wait_add()?;
    let host_name = veth?;
    enable_forward(&result)?;
    let host_mac = host_veth_up(host, &host_name)?;
    let cont_link = cont
        .link(ctx.ifname.as_str())
        .map_err(|e| CniError::kernel("look up the container veth", e))?;
    for ip in &mut result.ips {
        ip.interface = Some(1);
    }
    result.interfaces = vec![
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
    configure_iface(cont, ns, &ctx.ifname, &result)?;
    for ip in &result.ips {
        let gw = ip.gateway.ok_or_else(|| {
            CniError::config(format!("ptp needs a gateway for {}", cidr(&ip.address)))
        })?;
        let net = network_of(&ip.address);
        let mut key = RouteKey::new(net);
        key.dev = Some(cont_link.index.into());
        cont.delete_route(&key)
            .map_err(|e| CniError::kernel(format!("failed to delete route {}", cidr(&net)), e))?;
        let mut to_gw = NewRoute::dev(host_net(gw)?, cont_link.index)
            .map_err(|e| CniError::config(e.to_string()))?;
        to_gw.scope = Some(RouteScope::Link);
        to_gw.preferred_source = Some(ip.address.ip());
        cont.add_route(&to_gw)
            .map_err(|e| CniError::kernel(format!("failed to add route to {gw}"), e))?;
        let mut subnet = NewRoute::via_dev(net, gw, cont_link.index)
            .map_err(|e| CniError::config(e.to_string()))?;
        subnet.scope = Some(RouteScope::Universe);
        subnet.preferred_source = Some(ip.address.ip());
        cont.add_route(&subnet)
            .map_err(|e| CniError::kernel(format!("failed to add route {}", cidr(&net)), e))?;
    }
    for ip in &result.ips {
        let Some(gw) = ip.gateway else { continue };
        host.add_address(
            host_name.as_str(),
            &netplumb::addr::NewAddress::from(host_net(gw)?),
        )
        .map_err(|e| CniError::kernel(format!("failed to add IP addr {gw} to veth"), e))?;
        let mut r = NewRoute::dev(host_net(ip.address.ip())?, host_name.as_str())
            .map_err(|e| CniError::config(e.to_string()))?;
        r.scope = Some(RouteScope::Host);
        match host.add_route(&r) {
            Ok(()) => {}
            Err(e) if e.is_exists() => {}
            Err(e) => return Err(CniError::kernel("failed to add route on host", e)),
        }
    }
    if c.ip_masq {
        setup_masq(ctx, &result)?;
    }
    if let Some(dns) = ctx.common.dns.as_ref().filter(|d| !d.is_empty()) {
        result.dns = dns.clone();
    }
    Ok(result)
}

impl Plugin for Ptp {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        let c: Conf = plugin_conf(ctx)?;
        if ctx.common.ipam_type().is_empty() {
            return Err(CniError::config("ptp needs an ipam section"));
        }
        let host = host_handle()?;
        let ns = ctx.open_netns()?;
        let cont = handle_in(&ns)?;
        refuse_existing(&cont, ctx)?;
        let mut made_veth = false;
        let r = add(ctx, &c, &host, &cont, &ns, &mut made_veth);
        if r.is_err() {
            if made_veth {
                let _ = cont.delete_link(ctx.ifname.as_str());
            }
            // IPAM's DEL also when its ADD failed (spec section 4); harmless when it did nothing.
            let _ = ipam::exec(ctx, Command::Del);
        }
        r
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        let c: Conf = plugin_conf(ctx)?;
        del_common(ctx, c.ip_masq)
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        let c: Conf = plugin_conf(ctx)?;
        ipam::exec(ctx, Command::Check)?;
        let (_ns, _cont, link) = check_container(ctx, prev, "veth")?;
        let host = host_handle()?;
        for i in prev.interfaces.iter().filter(|i| i.sandbox.is_empty()) {
            let h = match host.link(i.name.as_str()) {
                Ok(h) => h,
                Err(e) if e.is_not_found() => {
                    return Err(CniError::drift(format!("host veth {:?} is gone", i.name)))
                }
                Err(e) => return Err(CniError::kernel("look up the host veth", e)),
            };
            if link.link.is_some() && link.link != Some(h.index) {
                return Err(CniError::drift(format!(
                    "{:?} is not the peer of the container's {:?}",
                    i.name, ctx.ifname
                )));
            }
            let addrs = host
                .addresses(&AddressFilter::link(h.index))
                .map_err(|e| CniError::kernel("list host veth addresses", e))?;
            for ip in &prev.ips {
                if let Some(g) = ip.gateway {
                    if !addrs.iter().any(|a| a.address.ip() == g) {
                        return Err(CniError::drift(format!(
                            "gateway {g} is missing from host veth {:?}",
                            i.name
                        )));
                    }
                }
            }
        }
        if c.ip_masq {
            check_masq(ctx, prev)?;
        }
        Ok(())
    }
}
