//! FDB operations: the [`Handle`] and [`Batch`] methods of `bridge fdb`.

use netlink_packet_route::neighbour::{NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::codec::{fdb_from_message, fdb_message};
use super::types::{FdbEntry, FdbFilter, NewFdbEntry};
use crate::batch::Batch;
use crate::handle::DecodeFrame;
use crate::link::{LinkFilter, LinkKind};
use crate::wire::{self, Frame, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Dump, Error, Handle, IfIndex, IpFamily, LinkRef, Result};

const LIST_FDB: &str = "list fdb entries";

/// # Forwarding databases
///
/// `bridge fdb`: bridge and VXLAN forwarding entries.
impl Handle {
    /// Adds an FDB entry; fails with [`Error::is_exists`](crate::Error::is_exists) if the MAC (and VLAN) has one.
    /// Equivalent to `bridge fdb add MAC dev DEV [dst IP] [vni VNI] [port PORT] [via DEV]
    /// [vlan VID] [self] [master] [permanent|static|dynamic] [sticky] [extern_learn]`.
    pub fn add_fdb<'a>(&self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> Result<()> {
        self.write_fdb(
            "add fdb entry",
            link.into(),
            entry,
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Adds an FDB entry beside those for the same MAC: on a VXLAN device, one more remote for
    /// the MAC (several all-zero-MAC entries flood to several remotes). Equivalent to
    /// `bridge fdb append MAC dev DEV dst IP …`.
    pub fn append_fdb<'a>(&self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> Result<()> {
        self.write_fdb(
            "append fdb entry",
            link.into(),
            entry,
            NLM_F_CREATE | NLM_F_APPEND,
        )
    }

    /// Adds an FDB entry or replaces the one for the same MAC. Equivalent to
    /// `bridge fdb replace MAC dev DEV …`.
    pub fn replace_fdb<'a>(&self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> Result<()> {
        self.write_fdb(
            "replace fdb entry",
            link.into(),
            entry,
            NLM_F_CREATE | NLM_F_REPLACE,
        )
    }

    /// Deletes an FDB entry. On a VXLAN device, `entry.dst` (and `port`, `vni`) select one
    /// remote of a MAC; without `dst` every remote of the MAC goes. Equivalent to
    /// `bridge fdb del MAC dev DEV [dst IP] [vlan VID] [self] [master]`.
    pub fn delete_fdb<'a>(&self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> Result<()> {
        let link = link.into();
        let index = self.checked_fdb_link(link, entry)?;
        let msg = fdb_message(entry, index);
        self.ack(
            "delete fdb entry",
            RouteNetlinkMessage::DelNeighbour(msg),
            0,
        )
        .map_err(|e| {
            if e.errno() == Some(nix::errno::Errno::ENOENT) {
                Error::NotFound {
                    what: format!("fdb entry {} on {link}", entry.mac),
                    errno: e.errno(),
                }
            } else {
                e
            }
        })
    }

    fn write_fdb(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        entry: &NewFdbEntry,
        flags: u16,
    ) -> Result<()> {
        let index = self.checked_fdb_link(link, entry)?;
        let msg = fdb_message(entry, index);
        self.ack(op, RouteNetlinkMessage::NewNeighbour(msg), flags)
    }

    /// Looks the device up (so a missing one is [`Error::NotFound`] naming it) and, for a
    /// VXLAN remote, checks that its family is the device's: the kernel refuses the other with
    /// a bare `EAFNOSUPPORT` on recent kernels and accepts it on older ones, where it can never
    /// be used.
    fn checked_fdb_link(&self, link: LinkRef<'_>, entry: &NewFdbEntry) -> Result<IfIndex> {
        if entry.dst.is_none() {
            return self.link_index(link);
        }
        let dev = self.link(link)?;
        if let (Some(dst), Some(LinkKind::Vxlan(vx))) = (entry.dst, &dev.kind) {
            let family = vx.family();
            if IpFamily::of(dst) != family {
                return Err(Error::invalid(
                    "dst",
                    format!(
                        "{dst} is {:?} but VXLAN device {:?} tunnels over {family:?} \
                         (the family of its local or group address)",
                        IpFamily::of(dst),
                        dev.name
                    ),
                ));
            }
        }
        Ok(dev.index)
    }

    /// Lists FDB entries. Equivalent to `bridge fdb show [dev DEV] [br BRIDGE]`.
    pub fn fdb(&self, filter: &FdbFilter<'_>) -> Result<Vec<FdbEntry>> {
        let (req, decode) = self.fdb_dump(filter)?;
        self.dump_frames(LIST_FDB, req, decode)
    }

    /// Lists forwarding-database entries as [`fdb`](Handle::fdb) does, decoding them as
    /// they arrive (see [`Dump`]).
    pub fn fdb_iter(&self, filter: &FdbFilter<'_>) -> Result<Dump<'_, FdbEntry>> {
        let (req, decode) = self.fdb_dump(filter)?;
        self.dump_iter(LIST_FDB, req, decode)
    }

    /// The request of an FDB listing and the decoder that keeps what `filter` selects.
    fn fdb_dump(
        &self,
        filter: &FdbFilter<'_>,
    ) -> Result<(RouteNetlinkMessage, impl DecodeFrame<FdbEntry> + 'static)> {
        let mut req = NeighbourMessage::default();
        req.header.family = AddressFamily::Bridge;
        // With strict checking the kernel filters by port (NDA_IFINDEX) and bridge (NDA_MASTER).
        let link = match filter.link {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let bridge = match filter.bridge {
            Some(b) => Some(self.link_index(b)?),
            None => None,
        };
        if let Some(i) = link {
            req.attributes.push(NeighbourAttribute::IfIndex(i.get()));
        }
        if let Some(b) = bridge {
            req.attributes.push(NeighbourAttribute::Controller(b.get()));
        }
        // Kernels without strict checking (before 4.20) ignore the attributes: filter here as
        // well. A bridge selects its own entries and all of its ports' (`self` ones included).
        let ports: Vec<IfIndex> = match bridge {
            Some(b) => self
                .links(&LinkFilter::master(b))?
                .iter()
                .map(|l| l.index)
                .collect(),
            None => Vec::new(),
        };
        let decode = move |frame: &Frame<'_>| {
            if frame.ty != libc::RTM_NEWNEIGH {
                return Ok(None);
            }
            let msg = wire::decode(frame).map_err(|e| Error::malformed(LIST_FDB, e))?;
            let RouteNetlinkMessage::NewNeighbour(m) = msg else {
                return Ok(None);
            };
            let Some(e) = fdb_from_message(m)? else {
                return Ok(None);
            };
            let keep = link.is_none_or(|l| e.link == l)
                && bridge
                    .is_none_or(|b| e.link == b || e.master == Some(b) || ports.contains(&e.link));
            Ok(keep.then_some(e))
        };
        Ok((RouteNetlinkMessage::GetNeighbour(req), decode))
    }
}

/// # Forwarding databases
impl Batch<'_> {
    /// Queues `bridge fdb add …` (see [`Handle::add_fdb`](crate::Handle::add_fdb)); returns the request's index. In a
    /// batch the remote's family is checked by the kernel alone.
    pub fn add_fdb<'a>(&mut self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> usize {
        self.fdb(
            "add fdb entry",
            link.into(),
            entry,
            NLM_F_CREATE | NLM_F_EXCL,
            true,
        )
    }

    /// Queues `bridge fdb append …` (see [`Handle::append_fdb`](crate::Handle::append_fdb)); returns the index.
    pub fn append_fdb<'a>(&mut self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> usize {
        self.fdb(
            "append fdb entry",
            link.into(),
            entry,
            NLM_F_CREATE | NLM_F_APPEND,
            true,
        )
    }

    /// Queues `bridge fdb replace …` (see [`Handle::replace_fdb`](crate::Handle::replace_fdb)); returns the index.
    pub fn replace_fdb<'a>(&mut self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> usize {
        self.fdb(
            "replace fdb entry",
            link.into(),
            entry,
            NLM_F_CREATE | NLM_F_REPLACE,
            true,
        )
    }

    /// Queues `bridge fdb del …` (see [`Handle::delete_fdb`](crate::Handle::delete_fdb)); returns the index.
    pub fn delete_fdb<'a>(&mut self, link: impl Into<LinkRef<'a>>, entry: &NewFdbEntry) -> usize {
        self.fdb("delete fdb entry", link.into(), entry, 0, false)
    }

    fn fdb(
        &mut self,
        op: &'static str,
        link: LinkRef<'_>,
        entry: &NewFdbEntry,
        flags: u16,
        new: bool,
    ) -> usize {
        let msg = self.resolve(link).map(|i| {
            let m = fdb_message(entry, i);
            if new {
                RouteNetlinkMessage::NewNeighbour(m)
            } else {
                RouteNetlinkMessage::DelNeighbour(m)
            }
        });
        self.push_result(op, msg, flags)
    }
}
