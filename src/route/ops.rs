//! Route operations: the [`Handle`] methods (one request, one answer) and the [`Batch`]
//! methods (queued, pipelined) of `ip route`.

use netlink_packet_route::RouteNetlinkMessage;

use super::decode::{route_from_bytes, RTM_NEWROUTE};
use super::encode::{dump_message, query_message, route_key_message, route_message};
use super::{
    NewRoute, Route, RouteFilter, RouteFlags, RouteKey, RouteProtocol, RouteQuery, RouteType,
};
use crate::batch::Batch;
use crate::types::check_prefix;
use crate::wire::{Frame, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Dump, Error, Handle, IfIndex, IpFamily, Result, TableId};
use ipnetwork::IpNetwork;

const LIST_ROUTES: &str = "list routes";

/// What a route listing keeps, checked on each route (the kernel filters too, but kernels
/// without strict dump checking do not).
#[derive(Clone, Copy)]
struct RouteKeep {
    table: Option<TableId>,
    family: Option<IpFamily>,
    protocol: Option<RouteProtocol>,
    kind: Option<RouteType>,
    dev: Option<IfIndex>,
    destination: Option<IpNetwork>,
    cached: bool,
    vrf: bool,
}

impl RouteKeep {
    /// Decodes one message of the dump; `None` for what the listing leaves out.
    fn decode(&self, frame: &Frame<'_>) -> Result<Option<Route>> {
        if frame.ty != RTM_NEWROUTE {
            return Ok(None);
        }
        let Some(r) =
            route_from_bytes(frame.payload).map_err(|e| Error::malformed(LIST_ROUTES, e))?
        else {
            return Ok(None);
        };
        let keep = self.table.is_none_or(|t| r.table == t)
            && self.family.is_none_or(|f| r.family == f)
            && self.protocol.is_none_or(|p| r.protocol == p)
            && self.kind.is_none_or(|k| r.kind == k)
            && self.dev.is_none_or(|d| r.next_hops.iter().any(|h| h.dev == Some(d)))
            && self.destination.is_none_or(|d| r.destination == d)
            && (r.flags.contains(RouteFlags::CLONED) == self.cached)
            // As `ip route show vrf` does: the kernel's local and broadcast routes, which
            // it keeps in the VRF's table too, are left out (list the table to see them).
            && !(self.vrf && matches!(r.kind, RouteType::Local | RouteType::Broadcast));
        Ok(keep.then_some(r))
    }
}

/// # Routes
///
/// `ip route`: add, replace, append, delete, list, and look up (`ip route get`).
impl Handle {
    /// Adds a route. Equivalent to
    /// `ip route add [TYPE] PREFIX [via GW] [dev DEV] [table T] [metric M] [src S] [proto P]
    /// [nexthop …]`. A route that exists already is an error for which
    /// [`Error::is_exists`](crate::Error::is_exists) is true.
    ///
    /// ```no_run
    /// use netplumb::{Handle, TableId, route::NewRoute};
    ///
    /// let h = Handle::new()?;
    /// h.add_route(&NewRoute {
    ///     table: TableId::new(1000),
    ///     ..NewRoute::via("10.1.0.0/16".parse()?, "10.0.0.2".parse()?)?
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("add route", route, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Adds a route, or replaces the one to the same prefix (same table, TOS and metric).
    /// Equivalent to `ip route replace …`.
    pub fn replace_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("replace route", route, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Adds a route after the existing ones to the same prefix (for IPv6, as another next hop
    /// of it). Equivalent to `ip route append …`.
    pub fn append_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("append route", route, NLM_F_CREATE | NLM_F_APPEND)
    }

    /// Adds a route before the existing ones to the same prefix (another route of the same
    /// prefix, table and TOS with a different metric or next hop, put first). Equivalent to
    /// `ip route prepend …`.
    pub fn prepend_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("prepend route", route, NLM_F_CREATE)
    }

    /// Changes an existing route (the one to the same prefix, table, TOS and metric), and
    /// fails when there is none ([`Error::is_not_found`](crate::Error::is_not_found)), where
    /// [`replace_route`](Handle::replace_route) would add it. Equivalent to `ip route change
    /// …`.
    pub fn change_route(&self, route: &NewRoute<'_>) -> Result<()> {
        self.new_route("change route", route, NLM_F_REPLACE)
    }

    fn new_route(&self, op: &'static str, route: &NewRoute<'_>, flags: u16) -> Result<()> {
        let msg = route_message(route, |l| self.link_index(l))?;
        self.ack(op, RouteNetlinkMessage::NewRoute(msg), flags)
    }

    /// Deletes a route. Equivalent to
    /// `ip route del PREFIX [table T] [metric M] [via GW] [dev DEV] [proto P] [type T]`.
    /// A route that is not there is an error for which [`Error::is_not_found`](crate::Error::is_not_found) is true.
    pub fn delete_route(&self, key: &RouteKey<'_>) -> Result<()> {
        let msg = route_key_message(key, |l| self.link_index(l))?;
        self.ack("delete route", RouteNetlinkMessage::DelRoute(msg), 0)
    }

    /// Lists routes. Equivalent to `ip -d route show [table T|all] [proto P] [type T]
    /// [dev D] [exact PREFIX]` (with `-4`, `-6`, or both families by default; `cache` with
    /// [`RouteFilter::cached`]).
    ///
    /// The table, protocol, type and device are handed to the kernel to filter (strict dump
    /// checking) and checked again here. Every entry comes back typed: the `local` table's
    /// local and broadcast routes, and cached routes, are routes like any other. Routes of
    /// other families (multicast routing tables, MPLS) are not listed.
    ///
    /// ```no_run
    /// use netplumb::{Handle, IpFamily, TableId, route::RouteFilter};
    ///
    /// let h = Handle::new()?;
    /// // ip -4 route show table main
    /// let main = h.routes(&RouteFilter {
    ///     family: Some(IpFamily::V4),
    ///     ..RouteFilter::table(TableId::MAIN)
    /// })?;
    /// for r in &main {
    ///     println!("{} via {:?} dev {:?}", r.destination, r.gateway(), r.dev());
    /// }
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn routes(&self, filter: &RouteFilter<'_>) -> Result<Vec<Route>> {
        let (req, keep) = self.route_dump(filter)?;
        let result = self.dump_frames(LIST_ROUTES, req, |frame| keep.decode(frame));
        match result {
            // A table that does not exist (yet) holds no routes.
            Err(e) if keep.table.is_some() && e.errno() == Some(nix::errno::Errno::ENOENT) => {
                Ok(Vec::new())
            }
            other => other,
        }
    }

    /// Lists routes as [`routes`](Handle::routes) does, decoding them as they arrive: a full
    /// Internet table (a million routes) is never held as one `Vec`, and the first route is
    /// yours before the last has been read. See [`Dump`] for what an interrupted dump yields.
    ///
    /// ```no_run
    /// use netplumb::{Handle, route::RouteFilter};
    ///
    /// let h = Handle::new()?;
    /// let mut n = 0;
    /// for r in h.routes_iter(&RouteFilter::default())? {
    ///     let r = r?;
    ///     n += r.next_hops.len();
    /// }
    /// println!("{n} next hops");
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn routes_iter(&self, filter: &RouteFilter<'_>) -> Result<Dump<'_, Route>> {
        let (req, keep) = self.route_dump(filter)?;
        let dump = self.dump_iter(LIST_ROUTES, req, move |frame| keep.decode(frame))?;
        // A table that does not exist (yet) holds no routes.
        Ok(match keep.table {
            Some(_) => dump.empty_on(nix::errno::Errno::ENOENT),
            None => dump,
        })
    }

    /// The request of a route listing and what selects its routes, checked.
    fn route_dump(&self, filter: &RouteFilter<'_>) -> Result<(RouteNetlinkMessage, RouteKeep)> {
        // The "unspecified" values select everything, for the kernel and here alike.
        let mut filter = *filter;
        filter.table = filter.table.filter(|t| *t != TableId::UNSPEC);
        filter.protocol = filter.protocol.filter(|p| p.0 != 0);
        filter.kind = filter.kind.filter(|k| u8::from(*k) != 0);
        let vrf = match filter.vrf {
            Some(v) => {
                if filter.table.is_some() {
                    return Err(Error::invalid(
                        "vrf",
                        "a VRF selects its own table; give either `vrf` or `table`",
                    ));
                }
                let table = self.vrf_table(v)?;
                filter.table = Some(table);
                true
            }
            None => false,
        };
        let dev = match filter.dev {
            Some(d) => Some(self.link_index(d)?),
            None => None,
        };
        if let Some(d) = filter.destination {
            check_prefix("destination", d)?;
        }
        let req = RouteNetlinkMessage::GetRoute(dump_message(&filter, dev));
        let keep = RouteKeep {
            table: filter.table,
            family: filter.family,
            protocol: filter.protocol,
            kind: filter.kind,
            dev,
            destination: filter.destination,
            cached: filter.cached,
            vrf,
        };
        Ok((req, keep))
    }

    /// Asks the kernel's FIB for the route it would use. Equivalent to
    /// `ip route get ADDRESS [from S] [iif I] [oif O] [mark M] [fibmatch] [tos T] [uid U]
    /// [ipproto P] [sport S] [dport D] [vrf V]`.
    ///
    /// The reply names the table that matched. An address without a route is the kernel's
    /// error (`ENETUNREACH`, or `EHOSTUNREACH`/`EACCES` for unreachable and prohibit routes).
    ///
    /// ```no_run
    /// use netplumb::{Handle, route::RouteQuery};
    ///
    /// let r = Handle::new()?.route_get(&RouteQuery::new("192.0.2.1".parse()?))?;
    /// println!("via {:?} dev {:?} src {:?}", r.gateway(), r.dev(), r.preferred_source);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn route_get(&self, q: &RouteQuery<'_>) -> Result<Route> {
        let op = "get route";
        let iif = match q.iif {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let oif = match (q.oif, q.vrf) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "vrf",
                    "a VRF lookup goes out of the VRF's device: give either `vrf` or `oif`",
                ))
            }
            (Some(l), None) | (None, Some(l)) => Some(self.link_index(l)?),
            (None, None) => None,
        };
        let msg = query_message(q, iif, oif)?;
        self.get_frame(op, RouteNetlinkMessage::GetRoute(msg), |frame| {
            if frame.ty != RTM_NEWROUTE {
                return Err(Error::malformed(op, "the reply is not a route"));
            }
            route_from_bytes(frame.payload)
                .map_err(|e| Error::malformed(op, e))?
                .ok_or_else(|| Error::malformed(op, "the reply is not an IP route"))
        })
    }
}

/// # Routes
impl Batch<'_> {
    fn route(&mut self, op: &'static str, r: &NewRoute<'_>, flags: u16) -> usize {
        let msg = route_message(r, |l| self.resolve(l)).map(RouteNetlinkMessage::NewRoute);
        self.push_result(op, msg, flags)
    }

    /// Queues `ip route add …` (see [`Handle::add_route`](crate::Handle::add_route)); returns the request's index.
    pub fn add_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("add route", route, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip route replace …` (see [`Handle::replace_route`](crate::Handle::replace_route)); returns the index.
    pub fn replace_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("replace route", route, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Queues `ip route append …` (see [`Handle::append_route`](crate::Handle::append_route)); returns the index.
    pub fn append_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("append route", route, NLM_F_CREATE | NLM_F_APPEND)
    }

    /// Queues `ip route prepend …` (see [`Handle::prepend_route`](crate::Handle::prepend_route)); returns the index.
    pub fn prepend_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("prepend route", route, NLM_F_CREATE)
    }

    /// Queues `ip route change …` (see [`Handle::change_route`](crate::Handle::change_route)); returns the index.
    pub fn change_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("change route", route, NLM_F_REPLACE)
    }

    /// Queues `ip route del …` (see [`Handle::delete_route`](crate::Handle::delete_route)); returns the index.
    pub fn delete_route(&mut self, key: &RouteKey<'_>) -> usize {
        let msg = route_key_message(key, |l| self.resolve(l)).map(RouteNetlinkMessage::DelRoute);
        self.push_result("delete route", msg, 0)
    }
}
