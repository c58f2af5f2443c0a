//! Netconf messages (`RTM_GETNETCONF` dumps, `RTM_NEWNETCONF` records; linux/netconf.h),
//! written and read by netplumb itself, and the paths of the `/proc/sys` settings.

use super::types::{ConfKnob, ConfScope, Netconf, NetconfScope};
use crate::types::check_ifname;
use crate::wire::attr::{attrs, u32_of};
use crate::wire::{af, ip_family, RawMessage};
use crate::{Error, IfIndex, IpFamily, Result};

pub(crate) const RTM_NEWNETCONF: u16 = 80;
pub(crate) const RTM_DELNETCONF: u16 = 81;
pub(crate) const RTM_GETNETCONF: u16 = 82;

/// `NETCONFA_*` (linux/netconf.h).
mod netconfa {
    pub const IFINDEX: u16 = 1;
    pub const FORWARDING: u16 = 2;
    pub const RP_FILTER: u16 = 3;
    pub const MC_FORWARDING: u16 = 4;
    pub const PROXY_NEIGH: u16 = 5;
    pub const IGNORE_ROUTES_WITH_LINKDOWN: u16 = 6;
}

/// `NETCONFA_IFINDEX_ALL` and `NETCONFA_IFINDEX_DEFAULT`.
const IFINDEX_ALL: i32 = -1;
const IFINDEX_DEFAULT: i32 = -2;

/// The `RTM_GETNETCONF` dump request of one family (`struct netconfmsg`: the family byte).
pub(crate) fn dump_message(family: IpFamily) -> RawMessage {
    RawMessage::new(RTM_GETNETCONF, &[af(family)])
}

/// Decodes the payload of an `RTM_NEWNETCONF` message; `None` for a family that is not IP
/// (MPLS reports netconf too).
pub(crate) fn netconf_from_bytes(b: &[u8]) -> std::result::Result<Option<Netconf>, String> {
    let Some(&family) = b.first() else {
        return Err("an empty netconf message".into());
    };
    let Some(family) = ip_family(family) else {
        return Ok(None);
    };
    let mut n = Netconf {
        family,
        scope: NetconfScope::All,
        forwarding: None,
        rp_filter: None,
        mc_forwarding: None,
        proxy_neigh: None,
        ignore_routes_with_linkdown: None,
    };
    let mut scope = None;
    // The attributes follow the 1-byte header, padded to 4.
    for a in attrs(b.get(4..).unwrap_or(&[])) {
        let (ty, v) = a?;
        let value = u32_of(v);
        match ty {
            netconfa::IFINDEX => {
                scope = match value.map(|v| v as i32) {
                    Some(IFINDEX_ALL) => Some(NetconfScope::All),
                    Some(IFINDEX_DEFAULT) => Some(NetconfScope::Default),
                    Some(i) => IfIndex::new(i as u32).map(NetconfScope::Link),
                    None => None,
                }
            }
            netconfa::FORWARDING => n.forwarding = value.map(|v| v != 0),
            netconfa::RP_FILTER => n.rp_filter = value,
            netconfa::MC_FORWARDING => n.mc_forwarding = value.map(|v| v != 0),
            netconfa::PROXY_NEIGH => n.proxy_neigh = value.map(|v| v != 0),
            netconfa::IGNORE_ROUTES_WITH_LINKDOWN => {
                n.ignore_routes_with_linkdown = value.map(|v| v != 0)
            }
            _ => {}
        }
    }
    n.scope = scope.ok_or("a netconf record without an interface index")?;
    Ok(Some(n))
}

/// `/proc/sys/net/ipv{4,6}/conf/SCOPE/KNOB`, the scope's name checked.
pub(crate) fn conf_path(scope: ConfScope<'_>, knob: ConfKnob) -> Result<String> {
    let dir = match scope {
        ConfScope::All => "all",
        ConfScope::Default => "default",
        ConfScope::Link(name) => {
            check_ifname("link", name)?;
            if name == "all" || name == "default" {
                return Err(Error::invalid(
                    "link",
                    format!("{name:?} names a scope, not a device: use ConfScope::All or Default"),
                ));
            }
            name
        }
    };
    let family = match knob.family() {
        IpFamily::V4 => "ipv4",
        IpFamily::V6 => "ipv6",
    };
    Ok(format!("/proc/sys/net/{family}/conf/{dir}/{}", knob.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_values_are_checked() {
        assert_eq!(
            conf_path(ConfScope::Link("flannel.1"), ConfKnob::ProxyArp).unwrap(),
            "/proc/sys/net/ipv4/conf/flannel.1/proxy_arp"
        );
        assert_eq!(
            conf_path(ConfScope::All, ConfKnob::Ipv6Forwarding).unwrap(),
            "/proc/sys/net/ipv6/conf/all/forwarding"
        );
        assert!(conf_path(ConfScope::Link("a/b"), ConfKnob::RpFilter).is_err());
        assert!(conf_path(ConfScope::Link("all"), ConfKnob::RpFilter).is_err());
        assert!(conf_path(ConfScope::Link(""), ConfKnob::RpFilter).is_err());
        assert!(ConfKnob::RpFilter.accepts(2) && !ConfKnob::RpFilter.accepts(3));
        assert!(ConfKnob::ArpIgnore.accepts(8) && !ConfKnob::ArpIgnore.accepts(5));
        assert!(!ConfKnob::Ipv4Forwarding.accepts(-1));
    }

    #[test]
    fn a_netconf_record_decodes() {
        let mut m = RawMessage::new(0, &[2]);
        m.put_u32(netconfa::IFINDEX, (-1i32) as u32)
            .put_u32(netconfa::FORWARDING, 1)
            .put_u32(netconfa::RP_FILTER, 2);
        let n = netconf_from_bytes(&m.body).unwrap().unwrap();
        assert_eq!(n.scope, NetconfScope::All);
        assert_eq!(n.forwarding, Some(true));
        assert_eq!(n.rp_filter, Some(2));
        assert_eq!(n.proxy_neigh, None);
        assert!(netconf_from_bytes(&[]).is_err());
        assert_eq!(netconf_from_bytes(&[28, 0, 0, 0]).unwrap(), None); // AF_MPLS
        assert!(netconf_from_bytes(&[2, 0, 0, 0]).is_err()); // no index
    }
}
