//! Address label messages (`RTM_NEWADDRLABEL`, `RTM_DELADDRLABEL`, `RTM_GETADDRLABEL`),
//! through `netlink-packet-route`.

use std::net::IpAddr;

use ipnetwork::Ipv6Network;
use netlink_packet_route::addrlabel::{AddrLabelAttribute, AddrLabelMessage};
use netlink_packet_route::AddressFamily;

use super::types::{AddrLabel, NewAddrLabel};
use crate::types::check_prefix;
use crate::{Error, IfIndex, LinkRef, Result};

/// The add/delete request for `l`; `index` resolves the device once the input is known good.
pub(crate) fn addrlabel_message(
    l: &NewAddrLabel<'_>,
    index: impl FnOnce(LinkRef<'_>) -> Result<IfIndex>,
) -> Result<AddrLabelMessage> {
    check_prefix("prefix", l.prefix.into())?;
    if l.label == u32::MAX {
        return Err(Error::invalid(
            "label",
            "0xffffffff is reserved by the kernel",
        ));
    }
    let mut m = AddrLabelMessage::default();
    m.header.family = AddressFamily::Inet6;
    m.header.prefix_len = l.prefix.prefix();
    if let Some(d) = l.dev {
        m.header.index = index(d)?.get();
    }
    // In iproute2's order: the label, then the prefix.
    m.attributes.push(AddrLabelAttribute::Label(l.label));
    m.attributes
        .push(AddrLabelAttribute::Address(IpAddr::V6(l.prefix.ip())));
    Ok(m)
}

/// A listed entry; `None` for one that is not IPv6 or lacks its parts.
pub(crate) fn addrlabel_from_message(m: AddrLabelMessage) -> Option<AddrLabel> {
    let mut prefix = None;
    let mut label = None;
    for a in m.attributes {
        match a {
            AddrLabelAttribute::Address(IpAddr::V6(ip)) => {
                prefix = Ipv6Network::new(ip, m.header.prefix_len).ok()
            }
            AddrLabelAttribute::Label(l) => label = Some(l),
            _ => {}
        }
    }
    Some(AddrLabel {
        prefix: prefix?,
        label: label?,
        dev: IfIndex::new(m.header.index),
    })
}
