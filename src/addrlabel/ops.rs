//! Address label operations: the [`Handle`] methods of `ip addrlabel`.

use netlink_packet_route::addrlabel::AddrLabelMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::codec::{addrlabel_from_message, addrlabel_message};
use super::types::{AddrLabel, NewAddrLabel};
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL};
use crate::{Handle, Result};

/// # Address labels
///
/// `ip addrlabel`: the IPv6 source address selection policy table (RFC 6724).
impl Handle {
    /// Adds a policy entry. Equivalent to `ip addrlabel add prefix P label L [dev D]`.
    pub fn add_addrlabel(&self, l: &NewAddrLabel<'_>) -> Result<()> {
        let m = addrlabel_message(l, |d| self.link_index(d))?;
        self.ack(
            "add addrlabel",
            RouteNetlinkMessage::NewAddrLabel(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Deletes a policy entry. Equivalent to `ip addrlabel del prefix P label L [dev D]`.
    pub fn delete_addrlabel(&self, l: &NewAddrLabel<'_>) -> Result<()> {
        let m = addrlabel_message(l, |d| self.link_index(d))?;
        self.ack("delete addrlabel", RouteNetlinkMessage::DelAddrLabel(m), 0)
    }

    /// Lists the policy table, the kernel's defaults included. Equivalent to
    /// `ip addrlabel list`.
    pub fn addrlabels(&self) -> Result<Vec<AddrLabel>> {
        let mut req = AddrLabelMessage::default();
        req.header.family = AddressFamily::Inet6;
        self.dump(
            "list addrlabels",
            RouteNetlinkMessage::GetAddrLabel(req),
            |m| match m {
                RouteNetlinkMessage::NewAddrLabel(m) => Ok(addrlabel_from_message(m)),
                _ => Ok(None),
            },
        )
    }
}
