//! FDB operations: the [`Handle`] and [`Batch`] methods of `bridge fdb`.

use netlink_packet_route::neighbour::{NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::codec::{
    fdb_from_bytes, fdb_message, NDA_DST, NDA_IFINDEX, NDA_NDM_FLAGS_MASK, NDA_NDM_STATE_MASK,
    NDA_PORT, NDA_SRC_VNI, NDA_VLAN, NDA_VNI,
};
use super::types::{FdbEntry, FdbFilter, FdbFlush, FdbTarget, NewFdbEntry};
use crate::batch::Batch;
use crate::handle::DecodeFrame;
use crate::link::{LinkFilter, LinkKind};
use crate::neighbour::NeighbourFlags;
use crate::wire::raw::RawMessage;
use crate::wire::{self, Frame, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use std::net::IpAddr;

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

    /// Deletes every FDB entry of `link` that `flush` selects. Equivalent to `bridge fdb flush
    /// dev DEV …` (see [`FdbFlush`]).
    ///
    /// One bulk request (`NLM_F_BULK`) does it where the device has a bulk delete: bridges and
    /// their ports (Linux 5.19 and later) and VXLAN devices (6.8 and later). Where the kernel
    /// answers that the device has none (`EOPNOTSUPP`: a VXLAN device before 6.8), or refuses
    /// the VXLAN selectors (`EINVAL`: kernels before 6.8 know only the bridge's), the
    /// device's entries are listed and the selected ones deleted in one [`Batch`]; entries
    /// that vanish meanwhile are not errors. The fallback's `brport` is not supported (only
    /// bridges, which have the bulk delete, take it).
    pub fn flush_fdb<'a>(&self, link: impl Into<LinkRef<'a>>, flush: &FdbFlush<'_>) -> Result<()> {
        const OP: &str = "flush fdb entries";
        let dev = self.link(link)?;
        let index = dev.index;
        let vxlan = match &dev.kind {
            Some(LinkKind::Vxlan(vx)) => Some((vx.port, vx.vni)),
            _ => None,
        };
        // Selectors of the other kind of device: refused here, whatever a kernel would make
        // of them (a flush must never be wider than asked).
        let wrong = if vxlan.is_some() {
            [
                ("brport", flush.brport.is_some()),
                ("vlan", flush.vlan.is_some()),
            ]
            .into_iter()
            .find(|w| w.1)
        } else {
            [
                ("dst", flush.dst.is_some()),
                ("port", flush.port.is_some()),
                ("vni", flush.vni.is_some()),
                ("src_vni", flush.src_vni.is_some()),
            ]
            .into_iter()
            .find(|w| w.1)
        };
        if let Some((arg, _)) = wrong {
            let (takes, is) = if vxlan.is_some() {
                ("bridges", "a VXLAN device")
            } else {
                ("VXLAN devices", "not a VXLAN device")
            };
            return Err(Error::invalid(
                arg,
                format!("only {takes} take it, and {:?} is {is}", dev.name),
            ));
        }
        let brport = match flush.brport {
            Some(p) => Some(self.link_index(p)?),
            None => None,
        };
        // Kernels before 6.8 check a bulk delete against one policy for every device, which
        // has no VXLAN selector: they refuse those with EINVAL before the device is asked.
        let vxlan_selectors = flush.dst.is_some()
            || flush.port.is_some()
            || flush.vni.is_some()
            || flush.src_vni.is_some();
        match self.ack(OP, flush_message(index, brport, flush), wire::NLM_F_BULK) {
            Err(e) if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP) && brport.is_none() => {}
            Err(e) if e.errno() == Some(nix::errno::Errno::EINVAL) && vxlan_selectors => {}
            done => return done,
        }
        // No bulk delete for this device: list and delete. The dump reports a VXLAN remote's
        // port and VNI only where they differ from the device's.
        let (dev_port, dev_vni) = vxlan.unwrap_or_default();
        let mut batch = self.batch();
        for e in self.fdb(&FdbFilter::link(index))? {
            let e = FdbEntry {
                port: e.port.or(dev_port),
                vni: e.vni.or(dev_vni),
                ..e
            };
            if e.link != index || !flush.selects(&e) {
                continue;
            }
            let target = if e.flags.contains(NeighbourFlags::MASTER) {
                FdbTarget::Master
            } else {
                FdbTarget::SelfOnly
            };
            batch.delete_fdb(
                index,
                &NewFdbEntry {
                    mac: e.mac,
                    vlan: e.vlan,
                    dst: e.dst,
                    port: e.port,
                    vni: e.vni,
                    src_vni: e.src_vni,
                    via: e.via,
                    target,
                    ..NewFdbEntry::default()
                },
            );
        }
        for r in batch.send() {
            match r {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(())
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
            let Some(e) =
                fdb_from_bytes(frame.payload).map_err(|e| Error::malformed(LIST_FDB, e))?
            else {
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

/// The `RTM_DELNEIGH` bulk request of `bridge fdb flush dev DEV …`: `struct ndmsg` (family
/// `AF_BRIDGE`, the device, the state and flags to match) and the selectors, as iproute2
/// writes them.
fn flush_message(link: IfIndex, brport: Option<IfIndex>, f: &FdbFlush<'_>) -> RawMessage {
    let (state, state_mask) = f.state_bits();
    let (flags, flags_mask) = f.flag_bits();
    let table = match f.target {
        FdbTarget::SelfOnly => NeighbourFlags::SELF,
        FdbTarget::Master => NeighbourFlags::MASTER,
        FdbTarget::Both => NeighbourFlags::SELF | NeighbourFlags::MASTER,
    };
    let mut ndmsg = [0u8; 12];
    ndmsg[0] = libc::AF_BRIDGE as u8;
    ndmsg[4..8].copy_from_slice(&(link.get() as i32).to_ne_bytes());
    ndmsg[8..10].copy_from_slice(&(state.bits()).to_ne_bytes());
    ndmsg[10] = (flags | table).bits();
    let mut m = RawMessage::new(libc::RTM_DELNEIGH, &ndmsg);
    if let Some(p) = brport {
        m.put_u32(NDA_IFINDEX, p.get());
    }
    if let Some(v) = f.vlan {
        m.put_u16(NDA_VLAN, v.get());
    }
    if !state_mask.is_empty() {
        m.put_u16(NDA_NDM_STATE_MASK, state_mask.bits());
    }
    if !flags_mask.is_empty() {
        m.put(NDA_NDM_FLAGS_MASK, &[flags_mask.bits()]);
    }
    match f.dst {
        Some(IpAddr::V4(a)) => {
            m.put(NDA_DST, &a.octets());
        }
        Some(IpAddr::V6(a)) => {
            m.put(NDA_DST, &a.octets());
        }
        None => {}
    }
    if let Some(p) = f.port {
        // Network byte order, as the kernel reads NDA_PORT.
        m.put(NDA_PORT, &p.to_be_bytes());
    }
    if let Some(v) = f.vni {
        m.put_u32(NDA_VNI, v.get());
    }
    if let Some(v) = f.src_vni {
        m.put_u32(NDA_SRC_VNI, v.get());
    }
    m
}
