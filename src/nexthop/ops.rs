//! Nexthop operations: the [`Handle`] and [`Batch`] methods of `ip nexthop`.

use super::codec::{
    dump_message, id_message, nexthop_from_bytes, nexthop_message, RTM_DELNEXTHOP, RTM_GETNEXTHOP,
    RTM_NEWNEXTHOP,
};
use super::types::{NewNexthop, Nexthop, NexthopFilter, NexthopKind};
use crate::batch::Batch;
use crate::handle::DecodeFrame;
use crate::wire::{Frame, RawMessage, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Dump, Error, Handle, Result};

const LIST_NEXTHOPS: &str = "list nexthops";

/// # Nexthop objects
///
/// `ip nexthop`: next hops and groups of them as objects of their own, which routes name by
/// id (`ip route add … nhid ID`, [`NewRoute::nexthop_id`](crate::route::NewRoute::nexthop_id)).
impl Handle {
    /// Creates a nexthop object. Equivalent to `ip nexthop add id ID …` (see [`NewNexthop`]).
    /// An id in use is an error for which [`Error::is_exists`] is true.
    ///
    /// ```no_run
    /// use netplumb::nexthop::{NewNexthop, NexthopGroupMember};
    /// use netplumb::route::NewRoute;
    /// use netplumb::Handle;
    ///
    /// let h = Handle::new()?;
    /// h.add_nexthop(&NewNexthop::via_dev(1, "10.0.0.2".parse()?, "eth0"))?;
    /// h.add_nexthop(&NewNexthop::via_dev(2, "10.0.0.3".parse()?, "eth0"))?;
    /// h.add_nexthop(&NewNexthop::group(
    ///     10,
    ///     vec![NexthopGroupMember::new(1), NexthopGroupMember::new(2)],
    /// ))?;
    /// // ip route add 10.9.0.0/16 nhid 10
    /// h.add_route(&NewRoute::via_nexthop("10.9.0.0/16".parse()?, 10)?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_nexthop(&self, nexthop: &NewNexthop<'_>) -> Result<()> {
        let m = nexthop_message(nexthop, |l| self.link_index(l))?;
        self.ack("add nexthop", m, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Creates a nexthop object or replaces the one with its id. Equivalent to
    /// `ip nexthop replace id ID …`. Routes using it follow at once; a group's members can
    /// change, but a single nexthop cannot become a group nor a group a single nexthop.
    pub fn replace_nexthop(&self, nexthop: &NewNexthop<'_>) -> Result<()> {
        let m = nexthop_message(nexthop, |l| self.link_index(l))?;
        self.ack("replace nexthop", m, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Deletes the nexthop object `id`. Equivalent to `ip nexthop del id ID`. The kernel
    /// deletes the routes using it and removes it from the groups it is in (a group left
    /// empty goes too). No such id is an error for which [`Error::is_not_found`] is true.
    pub fn delete_nexthop(&self, id: u32) -> Result<()> {
        self.ack("delete nexthop", id_message(RTM_DELNEXTHOP, id)?, 0)
    }

    /// The nexthop object `id`. Equivalent to `ip nexthop get id ID`; [`Error::NotFound`]
    /// when there is none.
    pub fn nexthop(&self, id: u32) -> Result<Nexthop> {
        let op = "get nexthop";
        self.get_frame(op, id_message(RTM_GETNEXTHOP, id)?, |f| {
            nexthop_from_bytes(f.payload).map_err(|e| Error::malformed(op, e))
        })
        .map_err(|e| match e.errno() {
            Some(errno @ nix::errno::Errno::ENOENT) => Error::NotFound {
                what: format!("nexthop {id}"),
                errno: Some(errno),
            },
            _ => e,
        })
    }

    /// Lists nexthop objects, in id order. Equivalent to `ip [-4|-6] nexthop show [dev D]
    /// [groups] [fdb] [master M]`.
    pub fn nexthops(&self, filter: &NexthopFilter<'_>) -> Result<Vec<Nexthop>> {
        let (req, decode) = self.nexthop_dump(filter)?;
        self.dump_frames(LIST_NEXTHOPS, req, decode)
    }

    /// Lists nexthop objects as [`nexthops`](Handle::nexthops) does, decoding them as they
    /// arrive (see [`Dump`]).
    pub fn nexthops_iter(&self, filter: &NexthopFilter<'_>) -> Result<Dump<'_, Nexthop>> {
        let (req, decode) = self.nexthop_dump(filter)?;
        self.dump_iter(LIST_NEXTHOPS, req, decode)
    }

    /// The request of a nexthop listing and the decoder that keeps what `filter` selects.
    fn nexthop_dump(
        &self,
        filter: &NexthopFilter<'_>,
    ) -> Result<(RawMessage, impl DecodeFrame<Nexthop> + 'static)> {
        let dev = filter.dev.map(|d| self.link_index(d)).transpose()?;
        let master = filter.master.map(|d| self.link_index(d)).transpose()?;
        let req = dump_message(filter.family, dev, filter.groups, filter.fdb, master);
        let (family, groups, fdb) = (filter.family, filter.groups, filter.fdb);
        let decode = move |f: &Frame<'_>| {
            if f.ty != RTM_NEWNEXTHOP {
                return Ok(None);
            }
            let n =
                nexthop_from_bytes(f.payload).map_err(|e| Error::malformed(LIST_NEXTHOPS, e))?;
            // The kernel filters; kernels before strict dump checking ignore the filters, so
            // those that can be checked here are.
            let keep = family.is_none_or(|fam| n.family == Some(fam))
                && (!groups || n.is_group())
                && (!fdb || n.fdb)
                && dev.is_none_or(
                    |d| matches!(n.kind, NexthopKind::Single { dev: Some(x), .. } if x == d),
                );
            Ok(keep.then_some(n))
        };
        Ok((req, decode))
    }
}

/// # Nexthop objects
///
/// `ip nexthop` in bulk.
impl Batch<'_> {
    /// Queues `ip nexthop add …` (see [`Handle::add_nexthop`]); returns the request's index.
    pub fn add_nexthop(&mut self, nexthop: &NewNexthop<'_>) -> usize {
        let m = nexthop_message(nexthop, |l| self.resolve(l));
        self.push_result("add nexthop", m, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip nexthop replace …` (see [`Handle::replace_nexthop`]); returns the index.
    pub fn replace_nexthop(&mut self, nexthop: &NewNexthop<'_>) -> usize {
        let m = nexthop_message(nexthop, |l| self.resolve(l));
        self.push_result("replace nexthop", m, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Queues `ip nexthop del id ID` (see [`Handle::delete_nexthop`]); returns the index.
    pub fn delete_nexthop(&mut self, id: u32) -> usize {
        self.push_result("delete nexthop", id_message(RTM_DELNEXTHOP, id), 0)
    }
}
