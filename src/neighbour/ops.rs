//! Neighbour operations: the [`Handle`] and [`Batch`] methods of `ip neigh` and
//! `ip ntable`.

use std::net::IpAddr;

use netlink_packet_route::neighbour::{
    NeighbourAttribute, NeighbourFlags as NlFlags, NeighbourMessage, NeighbourState as NlState,
};
use netlink_packet_route::neighbour_table::{
    NeighbourTableAttribute, NeighbourTableMessage, NeighbourTableParameter,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::codec::{
    af, neighbour_from_bytes, neighbour_message, neighbour_selector, neighbour_table_from_message,
    table_name,
};
use super::types::{
    Neighbour, NeighbourFilter, NeighbourState, NeighbourTable, NeighbourTableParams, NewNeighbour,
};
use crate::batch::Batch;
use crate::handle::DecodeFrame;
use crate::link::LinkFilter;
use crate::wire::{Frame, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Dump, Error, Handle, IfIndex, IpFamily, LinkRef, Result};

const LIST_NEIGHBOURS: &str = "list neighbours";

/// # Neighbours
///
/// `ip neigh`: ARP and NDP entries, proxy entries.
impl Handle {
    /// Adds a neighbour entry; fails with [`Error::is_exists`](crate::Error::is_exists) if one exists for the address.
    /// Equivalent to `ip neigh add ADDR lladdr MAC dev DEV nud STATE [router] [extern_learn]`.
    pub fn add_neighbour<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        neighbour: &NewNeighbour,
    ) -> Result<()> {
        self.write_neighbour("add neighbour", link.into(), neighbour, NLM_F_EXCL)
    }

    /// Adds a neighbour entry or replaces the one for the same address. Equivalent to
    /// `ip neigh replace ADDR lladdr MAC dev DEV nud STATE`.
    pub fn replace_neighbour<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        neighbour: &NewNeighbour,
    ) -> Result<()> {
        self.write_neighbour("replace neighbour", link.into(), neighbour, NLM_F_REPLACE)
    }

    fn write_neighbour(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        n: &NewNeighbour,
        flags: u16,
    ) -> Result<()> {
        let msg = neighbour_message(n, self.link_index(link)?)?;
        self.ack(
            op,
            RouteNetlinkMessage::NewNeighbour(msg),
            NLM_F_CREATE | flags,
        )
    }

    /// Deletes the neighbour entry for `address` on a device. Equivalent to
    /// `ip neigh del ADDR dev DEV`. An entry that does not exist is an error for which
    /// [`Error::is_not_found`](crate::Error::is_not_found) is true.
    pub fn delete_neighbour<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: IpAddr,
    ) -> Result<()> {
        self.delete_neighbour_entry("delete neighbour", link.into(), address, false)
    }

    /// Adds a proxy entry: the device answers ARP / neighbour solicitations for `address`.
    /// Equivalent to `ip neigh add proxy ADDR dev DEV`.
    ///
    /// For IPv4 the kernel answers only where `net.ipv4.conf.DEV.proxy_arp` allows it; for IPv6,
    /// where `net.ipv6.conf.DEV.proxy_ndp` is 1.
    pub fn add_proxy_neighbour<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: IpAddr,
    ) -> Result<()> {
        let mut msg = neighbour_selector(address, self.link_index(link.into())?);
        msg.header.flags = NlFlags::Proxy;
        msg.header.state = NlState::Permanent;
        self.ack(
            "add proxy neighbour",
            RouteNetlinkMessage::NewNeighbour(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Deletes a proxy entry. Equivalent to `ip neigh del proxy ADDR dev DEV`.
    pub fn delete_proxy_neighbour<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: IpAddr,
    ) -> Result<()> {
        self.delete_neighbour_entry("delete proxy neighbour", link.into(), address, true)
    }

    fn delete_neighbour_entry(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        address: IpAddr,
        proxy: bool,
    ) -> Result<()> {
        let mut msg = neighbour_selector(address, self.link_index(link)?);
        if proxy {
            msg.header.flags = NlFlags::Proxy;
        }
        self.ack(op, RouteNetlinkMessage::DelNeighbour(msg), 0)
            .map_err(|e| {
                if e.errno() == Some(nix::errno::Errno::ENOENT) {
                    Error::NotFound {
                        what: format!(
                            "{}neighbour {address} on {link}",
                            if proxy { "proxy " } else { "" }
                        ),
                        errno: e.errno(),
                    }
                } else {
                    e
                }
            })
    }

    /// Lists neighbour entries. Equivalent to `ip neigh show [proxy] [dev DEV] [nud STATE]`,
    /// except that entries in every state are listed unless [`NeighbourFilter::state`] says
    /// otherwise (`ip neigh show` alone hides `noarp` and `none` entries; `nud all` shows them).
    pub fn neighbours(&self, filter: &NeighbourFilter<'_>) -> Result<Vec<Neighbour>> {
        let (req, decode) = self.neighbour_dump(filter)?;
        self.dump_frames(LIST_NEIGHBOURS, req, decode)
    }

    /// Lists neighbour entries as [`neighbours`](Handle::neighbours) does, decoding them as
    /// they arrive (see [`Dump`]).
    pub fn neighbours_iter(&self, filter: &NeighbourFilter<'_>) -> Result<Dump<'_, Neighbour>> {
        let (req, decode) = self.neighbour_dump(filter)?;
        self.dump_iter(LIST_NEIGHBOURS, req, decode)
    }

    /// The request of a neighbour listing and the decoder that keeps what `filter` selects.
    fn neighbour_dump(
        &self,
        filter: &NeighbourFilter<'_>,
    ) -> Result<(RouteNetlinkMessage, impl DecodeFrame<Neighbour> + 'static)> {
        let mut req = NeighbourMessage::default();
        req.header.family = filter.family.map_or(AddressFamily::Unspec, af);
        if filter.proxy {
            req.header.flags = NlFlags::Proxy;
        }
        if let Some(link) = filter.link {
            // The kernel filters by device itself (NDA_IFINDEX in a dump request).
            let index = self.link_index(link)?;
            req.attributes
                .push(NeighbourAttribute::IfIndex(index.get()));
        }
        // And by master (NDA_MASTER); kernels without strict checking ignore it, so the
        // members are checked here too.
        let members: Option<Vec<IfIndex>> = match filter.master {
            Some(m) => {
                let master = self.link_index(m)?;
                req.attributes
                    .push(NeighbourAttribute::Controller(master.get()));
                Some(
                    self.links(&LinkFilter::master(master))?
                        .iter()
                        .map(|l| l.index)
                        .collect(),
                )
            }
            None => None,
        };
        let want_proxy = filter.proxy;
        let state = filter.state;
        let decode = move |frame: &Frame<'_>| {
            if frame.ty != libc::RTM_NEWNEIGH {
                return Ok(None);
            }
            let Some(n) = neighbour_from_bytes(frame.payload)
                .map_err(|e| Error::malformed(LIST_NEIGHBOURS, e))?
            else {
                return Ok(None);
            };
            let keep = members.as_ref().is_none_or(|m| m.contains(&n.link))
                && n.is_proxy() == want_proxy
                // Proxy entries have no state; a state filter leaves them alone, as in iproute2.
                && (n.is_proxy()
                    || state.is_none_or(|s| {
                        n.state.intersects(s) || (s.is_empty() && n.state.is_empty())
                    }));
            Ok(keep.then_some(n))
        };
        Ok((RouteNetlinkMessage::GetNeighbour(req), decode))
    }

    /// Deletes every entry `filter` selects and returns how many were deleted. Equivalent to
    /// `ip neigh flush [proxy] [dev DEV] [nud STATE]`: without a state filter, as in iproute2,
    /// permanent and `noarp` entries are spared (static ARP that overlays program); name them
    /// in [`NeighbourFilter::state`] to flush them too. Entries that vanish while flushing are
    /// not errors.
    pub fn flush_neighbours(&self, filter: &NeighbourFilter<'_>) -> Result<usize> {
        let mut deleted = 0;
        let spare = filter.state.is_none() && !filter.proxy;
        for n in self.neighbours(filter)? {
            if spare
                && n.state
                    .intersects(NeighbourState::PERMANENT | NeighbourState::NOARP)
            {
                continue;
            }
            match self.delete_neighbour_entry(
                "flush neighbours",
                LinkRef::Index(n.link),
                n.address,
                n.is_proxy(),
            ) {
                Ok(()) => deleted += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }
}

/// # Neighbour tables
///
/// `ip ntable`: per-device parameters of the ARP and NDP tables.
impl Handle {
    /// Changes a neighbour table's parameters for one device (or the table's defaults, with
    /// `link: None`). Equivalent to `ip ntable change name arp_cache|ndisc_cache [dev DEV]
    /// [app_probes N] [ucast_probes N] [mcast_probes N] [base_reachable MS] …`.
    ///
    /// ```no_run
    /// use netplumb::{Handle, IpFamily, neighbour::NeighbourTableParams};
    ///
    /// let h = Handle::new()?;
    /// // ip ntable change name arp_cache dev vx0 app_probes 3
    /// h.set_neighbour_table(IpFamily::V4, Some("vx0".into()), &NeighbourTableParams {
    ///     app_probes: Some(3),
    ///     ..NeighbourTableParams::default()
    /// })?;
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn set_neighbour_table(
        &self,
        family: IpFamily,
        link: Option<LinkRef<'_>>,
        params: &NeighbourTableParams,
    ) -> Result<()> {
        let mut parms = params.nlas()?;
        if let Some(l) = link {
            parms.insert(
                0,
                NeighbourTableParameter::Ifindex(self.link_index(l)?.get()),
            );
        }
        let mut msg = NeighbourTableMessage::default();
        msg.header.family = af(family);
        msg.attributes
            .push(NeighbourTableAttribute::Name(table_name(family).into()));
        msg.attributes.push(NeighbourTableAttribute::Parms(parms));
        self.ack(
            "set neighbour table",
            RouteNetlinkMessage::SetNeighbourTable(msg),
            0,
        )
    }

    /// Lists the neighbour tables' parameters: the defaults and one entry per device, for one
    /// family or both. Equivalent to `ip ntable show`; select a device's entry by
    /// [`NeighbourTable::link`] (`ip ntable show dev DEV`).
    pub fn neighbour_tables(&self, family: Option<IpFamily>) -> Result<Vec<NeighbourTable>> {
        let mut req = NeighbourTableMessage::default();
        req.header.family = family.map_or(AddressFamily::Unspec, af);
        self.dump(
            "list neighbour tables",
            RouteNetlinkMessage::GetNeighbourTable(req),
            |msg| match msg {
                RouteNetlinkMessage::NewNeighbourTable(m) => Ok(neighbour_table_from_message(m)),
                _ => Ok(None),
            },
        )
    }
}

/// # Neighbours
impl Batch<'_> {
    /// Queues `ip neigh add …` (see [`Handle::add_neighbour`](crate::Handle::add_neighbour)); returns the request's index.
    pub fn add_neighbour<'a>(&mut self, link: impl Into<LinkRef<'a>>, n: &NewNeighbour) -> usize {
        self.neighbour("add neighbour", link.into(), n, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip neigh replace …` (see [`Handle::replace_neighbour`](crate::Handle::replace_neighbour)); returns the index.
    pub fn replace_neighbour<'a>(
        &mut self,
        link: impl Into<LinkRef<'a>>,
        n: &NewNeighbour,
    ) -> usize {
        self.neighbour(
            "replace neighbour",
            link.into(),
            n,
            NLM_F_CREATE | NLM_F_REPLACE,
        )
    }

    /// Queues `ip neigh del ADDR dev DEV` (see [`Handle::delete_neighbour`](crate::Handle::delete_neighbour)); returns the
    /// index.
    pub fn delete_neighbour<'a>(&mut self, link: impl Into<LinkRef<'a>>, address: IpAddr) -> usize {
        let msg = self
            .resolve(link.into())
            .map(|i| RouteNetlinkMessage::DelNeighbour(neighbour_selector(address, i)));
        self.push_result("delete neighbour", msg, 0)
    }

    fn neighbour(
        &mut self,
        op: &'static str,
        link: LinkRef<'_>,
        n: &NewNeighbour,
        flags: u16,
    ) -> usize {
        let msg = self
            .resolve(link)
            .and_then(|i| neighbour_message(n, i))
            .map(RouteNetlinkMessage::NewNeighbour);
        self.push_result(op, msg, flags)
    }
}
