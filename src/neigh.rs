//! Neighbour tables (`ip neigh`): ARP (IPv4) and NDP (IPv6) entries — add, replace, delete,
//! list and flush, including proxy entries.
//!
//! Bridge and VXLAN forwarding entries (`bridge fdb`) live in [`fdb`](crate::fdb); they travel in
//! the same kernel messages but are a different table.

use std::net::IpAddr;

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags as NlFlags, NeighbourHeader,
    NeighbourMessage, NeighbourState as NlState,
};
use netlink_packet_route::neighbour_table::{
    NeighbourTableAttribute, NeighbourTableMessage, NeighbourTableParameter,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::time::Duration;

use crate::batch::Batch;
use crate::link::{LinkFilter, LinkRef};
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Error, Handle, IfIndex, IpFamily, MacAddr, Result};

bitflags::bitflags! {
    /// The state of a neighbour entry (`NUD_*`), a bit set: `NOARP | PERMANENT` is what
    /// `ip neigh add … nud permanent` creates on a device without ARP, and the kernel reports
    /// such combinations as they are. The empty set is `none`.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct NeighState: u16 {
        /// Resolution in progress (`incomplete`).
        const INCOMPLETE = 0x01;
        /// Confirmed reachable (`reachable`).
        const REACHABLE = 0x02;
        /// Valid but unconfirmed (`stale`).
        const STALE = 0x04;
        /// Waiting before probing (`delay`).
        const DELAY = 0x08;
        /// Being probed (`probe`).
        const PROBE = 0x10;
        /// Resolution failed (`failed`).
        const FAILED = 0x20;
        /// No resolution needed (`noarp`).
        const NOARP = 0x40;
        /// Set by an administrator, never expires (`permanent`).
        const PERMANENT = 0x80;
        // States this version does not name are kept.
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// Neighbour entry flags (`NTF_*`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct NeighFlags: u8 {
        /// The entry was used (`NTF_USE`, a request flag).
        const USE = 1 << 0;
        /// The entry belongs to the device itself (`self`, for FDB entries).
        const SELF = 1 << 1;
        /// The entry belongs to the device's master, such as its bridge (`master`).
        const MASTER = 1 << 2;
        /// A proxy entry (`ip neigh add proxy …`).
        const PROXY = 1 << 3;
        /// Learned by an external agent, such as a switch driver (`extern_learn`).
        const EXT_LEARNED = 1 << 4;
        /// Offloaded to hardware (`offload`).
        const OFFLOADED = 1 << 5;
        /// Never moves to another port (`sticky`).
        const STICKY = 1 << 6;
        /// The neighbour is a router (`router`, IPv6).
        const ROUTER = 1 << 7;
        const _ = !0;
    }
}

/// A neighbour entry to create (`ip neigh add ADDR lladdr MAC dev DEV nud STATE [router]`).
///
/// ```no_run
/// use netplumb::{Handle, neigh::{NeighState, NewNeighbour}};
///
/// let h = Handle::new()?;
/// // ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent
/// h.add_neighbour("eth0", &NewNeighbour::new("10.0.0.2".parse()?, "02:00:00:00:00:02".parse()?))?;
/// // ip neigh replace 10.0.0.3 lladdr 02:00:00:00:00:03 dev eth0 nud reachable
/// h.replace_neighbour("eth0", &NewNeighbour {
///     state: NeighState::REACHABLE,
///     ..NewNeighbour::new("10.0.0.3".parse()?, "02:00:00:00:00:03".parse()?)
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNeighbour {
    /// The neighbour's IP address.
    pub address: IpAddr,
    /// Its link-layer address; `None` for a state that needs none (`incomplete`, `noarp` on a
    /// device without link-layer addresses).
    pub mac: Option<MacAddr>,
    /// The state; [`NeighState::PERMANENT`] by default, as `ip neigh add` does.
    pub state: NeighState,
    /// The neighbour is a router (`router`, IPv6 only).
    pub router: bool,
    /// Learned by an external agent (`extern_learn`): the kernel does not age or probe it.
    pub extern_learn: bool,
}

impl NewNeighbour {
    /// A permanent entry mapping `address` to `mac`.
    pub fn new(address: IpAddr, mac: MacAddr) -> NewNeighbour {
        NewNeighbour {
            address,
            mac: Some(mac),
            state: NeighState::PERMANENT,
            router: false,
            extern_learn: false,
        }
    }
}

/// A neighbour entry as the kernel reports it (`ip neigh show`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Neighbour {
    /// The device the entry belongs to.
    pub link: IfIndex,
    /// The neighbour's IP address.
    pub address: IpAddr,
    /// Its link-layer address, when known and six bytes long.
    pub mac: Option<MacAddr>,
    /// The state.
    pub state: NeighState,
    /// The flags ([`NeighFlags::PROXY`] for proxy entries, [`NeighFlags::ROUTER`]…).
    pub flags: NeighFlags,
    /// Probes sent so far, when reported.
    pub probes: Option<u32>,
}

impl Neighbour {
    /// True for a proxy entry (`ip neigh show proxy`).
    pub fn is_proxy(&self) -> bool {
        self.flags.contains(NeighFlags::PROXY)
    }
}

/// Which neighbour entries [`Handle::neighbours`] and [`Handle::flush_neighbours`] select. The
/// default selects every ordinary (non-proxy) entry of both families.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeighbourFilter<'a> {
    /// Only the entries of this device (`dev DEV`).
    pub link: Option<LinkRef<'a>>,
    /// Only IPv4 (ARP) or IPv6 (NDP) entries (`-4` / `-6`).
    pub family: Option<IpFamily>,
    /// Only entries whose state has at least one of these bits (`nud STATE`).
    pub state: Option<NeighState>,
    /// Proxy entries instead of ordinary ones (`ip neigh show proxy`).
    pub proxy: bool,
    /// Only the entries of devices enslaved to this master: a bridge, or a VRF
    /// (`ip neigh show master DEV`, `ip neigh show vrf NAME`).
    pub master: Option<LinkRef<'a>>,
}

impl<'a> NeighbourFilter<'a> {
    /// The entries of one device.
    pub fn link(link: impl Into<LinkRef<'a>>) -> Self {
        NeighbourFilter {
            link: Some(link.into()),
            ..NeighbourFilter::default()
        }
    }
}

fn af(family: IpFamily) -> AddressFamily {
    match family {
        IpFamily::V4 => AddressFamily::Inet,
        IpFamily::V6 => AddressFamily::Inet6,
    }
}

impl Handle {
    /// Adds a neighbour entry; fails with [`Error::is_exists`] if one exists for the address.
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
    /// [`Error::is_not_found`] is true.
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
                    self.links_filtered(&LinkFilter::master(master))?
                        .iter()
                        .map(|l| l.index)
                        .collect(),
                )
            }
            None => None,
        };
        let want_proxy = filter.proxy;
        let state = filter.state;
        let mut out = self.dump(
            "list neighbours",
            RouteNetlinkMessage::GetNeighbour(req),
            |msg| match msg {
                RouteNetlinkMessage::NewNeighbour(m) => neighbour_from_message(m),
                _ => Ok(None),
            },
        )?;
        out.retain(|n| {
            members.as_ref().is_none_or(|m| m.contains(&n.link))
                && n.is_proxy() == want_proxy
                // Proxy entries have no state; a state filter leaves them alone, as in iproute2.
                && (n.is_proxy()
                    || state.is_none_or(|s| {
                        n.state.intersects(s) || (s.is_empty() && n.state.is_empty())
                    }))
        });
        Ok(out)
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
                    .intersects(NeighState::PERMANENT | NeighState::NOARP)
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

/// Per-device parameters of a neighbour table (`ip ntable change … dev DEV …`). Fields left
/// `None` stay as they are; a listing ([`Handle::neighbour_tables`]) fills in every field the
/// kernel reports. Times travel in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeighTableParams {
    /// Probes handed to user space as [`Event::L3Miss`](crate::monitor::Event::L3Miss)
    /// before multicast probing (`app_probes`). Above 0, a VXLAN agent hears about every
    /// unresolved IPv4 address, as flannel's original backend did.
    pub app_probes: Option<u32>,
    /// Unicast probes before the entry is marked failed (`ucast_probes`).
    pub ucast_probes: Option<u32>,
    /// Multicast/broadcast probes (`mcast_probes`).
    pub mcast_probes: Option<u32>,
    /// Multicast re-probes in the probe state (`mcast_reprobes`).
    pub mcast_reprobes: Option<u32>,
    /// Base of the randomized reachable time (`base_reachable`).
    pub base_reachable_time: Option<Duration>,
    /// Time between retransmitted probes (`retrans`).
    pub retrans_time: Option<Duration>,
    /// How long a stale entry is kept (`gc_stale`).
    pub gc_stale_time: Option<Duration>,
    /// Delay before the first probe of a stale entry (`delay_probe`).
    pub delay_probe_time: Option<Duration>,
    /// Bytes of packets queued per unresolved entry (`queue`, in bytes: `QUEUE_LENBYTES`).
    pub queue_len_bytes: Option<u32>,
    /// Packets queued for proxy answers (`proxy_queue`).
    pub proxy_queue_len: Option<u32>,
    /// Random delay before answering a solicitation for an anycast address (`anycast_delay`).
    pub anycast_delay: Option<Duration>,
    /// Random delay before a proxy answers (`proxy_delay`).
    pub proxy_delay: Option<Duration>,
    /// Minimum time before an entry's link-layer address may change (`locktime`).
    pub locktime: Option<Duration>,
}

/// A neighbour table's parameters for one device, or its defaults (`ip ntable show`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NeighTable {
    /// The table's family.
    pub family: IpFamily,
    /// The table's name: `arp_cache` (IPv4) or `ndisc_cache` (IPv6).
    pub name: String,
    /// The device these parameters belong to; `None` for the table's defaults.
    pub link: Option<IfIndex>,
    /// The parameters.
    pub params: NeighTableParams,
    /// Garbage-collection thresholds (`thresh1`, `thresh2`, `thresh3`), on the defaults entry.
    pub gc_thresholds: Option<[u32; 3]>,
}

fn table_name(family: IpFamily) -> &'static str {
    match family {
        IpFamily::V4 => "arp_cache",
        IpFamily::V6 => "ndisc_cache",
    }
}

/// Milliseconds, as the kernel takes them; it converts them to jiffies from a 32-bit value.
fn ms(arg: &'static str, d: Duration) -> Result<u64> {
    u32::try_from(d.as_millis())
        .map(u64::from)
        .map_err(|_| Error::invalid(arg, format!("{d:?} is too long for the kernel's timer")))
}

impl NeighTableParams {
    fn nlas(&self) -> Result<Vec<NeighbourTableParameter>> {
        use NeighbourTableParameter as P;
        let mut v = Vec::new();
        let counts = [
            (self.app_probes, P::AppProbes as fn(u32) -> P),
            (self.ucast_probes, P::UcastProbes),
            (self.mcast_probes, P::McastProbes),
            (self.mcast_reprobes, P::McastReprobes),
            (self.queue_len_bytes, P::QueueLenbytes),
            (self.proxy_queue_len, P::ProxyQlen),
        ];
        for (value, make) in counts {
            if let Some(n) = value {
                v.push(make(n));
            }
        }
        let times = [
            (
                "base_reachable_time",
                self.base_reachable_time,
                P::BaseReachableTime as fn(u64) -> P,
            ),
            ("retrans_time", self.retrans_time, P::RetransTime),
            ("gc_stale_time", self.gc_stale_time, P::GcStaletime),
            ("delay_probe_time", self.delay_probe_time, P::DelayProbeTime),
            ("anycast_delay", self.anycast_delay, P::AnycastDelay),
            ("proxy_delay", self.proxy_delay, P::ProxyDelay),
            ("locktime", self.locktime, P::Locktime),
        ];
        for (arg, value, make) in times {
            if let Some(d) = value {
                v.push(make(ms(arg, d)?));
            }
        }
        Ok(v)
    }

    fn from_nlas(nlas: Vec<NeighbourTableParameter>) -> (Option<IfIndex>, NeighTableParams) {
        use NeighbourTableParameter as P;
        let mut p = NeighTableParams::default();
        let mut link = None;
        let t = |v: u64| Some(Duration::from_millis(v));
        for nla in nlas {
            match nla {
                P::Ifindex(i) => link = IfIndex::new(i),
                P::AppProbes(n) => p.app_probes = Some(n),
                P::UcastProbes(n) => p.ucast_probes = Some(n),
                P::McastProbes(n) => p.mcast_probes = Some(n),
                P::McastReprobes(n) => p.mcast_reprobes = Some(n),
                P::QueueLenbytes(n) => p.queue_len_bytes = Some(n),
                P::ProxyQlen(n) => p.proxy_queue_len = Some(n),
                P::BaseReachableTime(v) => p.base_reachable_time = t(v),
                P::RetransTime(v) => p.retrans_time = t(v),
                P::GcStaletime(v) => p.gc_stale_time = t(v),
                P::DelayProbeTime(v) => p.delay_probe_time = t(v),
                P::AnycastDelay(v) => p.anycast_delay = t(v),
                P::ProxyDelay(v) => p.proxy_delay = t(v),
                P::Locktime(v) => p.locktime = t(v),
                _ => {}
            }
        }
        (link, p)
    }
}

impl Handle {
    /// Changes a neighbour table's parameters for one device (or the table's defaults, with
    /// `link: None`). Equivalent to `ip ntable change name arp_cache|ndisc_cache [dev DEV]
    /// [app_probes N] [ucast_probes N] [mcast_probes N] [base_reachable MS] …`.
    ///
    /// ```no_run
    /// use netplumb::{Handle, IpFamily, neigh::NeighTableParams};
    ///
    /// let h = Handle::new()?;
    /// // ip ntable change name arp_cache dev vx0 app_probes 3
    /// h.set_neighbour_table(IpFamily::V4, Some("vx0".into()), &NeighTableParams {
    ///     app_probes: Some(3),
    ///     ..NeighTableParams::default()
    /// })?;
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn set_neighbour_table(
        &self,
        family: IpFamily,
        link: Option<LinkRef<'_>>,
        params: &NeighTableParams,
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
    /// [`NeighTable::link`] (`ip ntable show dev DEV`).
    pub fn neighbour_tables(&self, family: Option<IpFamily>) -> Result<Vec<NeighTable>> {
        let mut req = NeighbourTableMessage::default();
        req.header.family = family.map_or(AddressFamily::Unspec, af);
        self.dump(
            "list neighbour tables",
            RouteNetlinkMessage::GetNeighbourTable(req),
            |msg| {
                let RouteNetlinkMessage::NewNeighbourTable(m) = msg else {
                    return Ok(None);
                };
                let family = match m.header.family {
                    AddressFamily::Inet => IpFamily::V4,
                    AddressFamily::Inet6 => IpFamily::V6,
                    _ => return Ok(None),
                };
                let mut t = NeighTable {
                    family,
                    name: String::new(),
                    link: None,
                    params: NeighTableParams::default(),
                    gc_thresholds: None,
                };
                let mut thresh = [None; 3];
                for attr in m.attributes {
                    match attr {
                        NeighbourTableAttribute::Name(n) => t.name = n,
                        NeighbourTableAttribute::Parms(p) => {
                            (t.link, t.params) = NeighTableParams::from_nlas(p)
                        }
                        NeighbourTableAttribute::Threshold1(v) => thresh[0] = Some(v),
                        NeighbourTableAttribute::Threshold2(v) => thresh[1] = Some(v),
                        NeighbourTableAttribute::Threshold3(v) => thresh[2] = Some(v),
                        _ => {}
                    }
                }
                if let [Some(a), Some(b), Some(c)] = thresh {
                    t.gc_thresholds = Some([a, b, c]);
                }
                Ok(Some(t))
            },
        )
    }
}

impl Batch<'_> {
    /// Queues `ip neigh add …` (see [`Handle::add_neighbour`]); returns the request's index.
    pub fn add_neighbour<'a>(&mut self, link: impl Into<LinkRef<'a>>, n: &NewNeighbour) -> usize {
        self.neighbour("add neighbour", link.into(), n, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip neigh replace …` (see [`Handle::replace_neighbour`]); returns the index.
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

    /// Queues `ip neigh del ADDR dev DEV` (see [`Handle::delete_neighbour`]); returns the
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

/// The `RTM_NEWNEIGH` body for an ordinary neighbour entry.
pub(crate) fn neighbour_message(n: &NewNeighbour, link: IfIndex) -> Result<NeighbourMessage> {
    if n.router && n.address.is_ipv4() {
        return Err(Error::invalid(
            "router",
            "the router flag is an IPv6 (NDP) notion; IPv4 entries cannot carry it",
        ));
    }
    if n.mac.is_none()
        && n.state
            .intersects(NeighState::PERMANENT | NeighState::REACHABLE | NeighState::STALE)
        && !n.state.contains(NeighState::NOARP)
    {
        return Err(Error::invalid(
            "mac",
            format!("a {:?} entry needs a link-layer address", n.state),
        ));
    }
    let mut msg = neighbour_selector(n.address, link);
    msg.header.state = NlState::from(n.state.bits());
    let mut flags = NlFlags::empty();
    if n.router {
        flags |= NlFlags::Router;
    }
    if n.extern_learn {
        flags |= NlFlags::ExtLearned;
    }
    msg.header.flags = flags;
    if let Some(mac) = n.mac {
        msg.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.0.to_vec()));
    }
    Ok(msg)
}

/// A message naming one entry: family, device and destination.
fn neighbour_selector(address: IpAddr, link: IfIndex) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header = NeighbourHeader {
        family: af(IpFamily::of(address)),
        ifindex: link.get(),
        state: NlState::None,
        flags: NlFlags::empty(),
        kind: RouteType::Unspec,
    };
    msg.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::from(
            address,
        )));
    msg
}

/// Converts a dumped ARP/NDP entry; entries of other families (bridge FDB) are skipped.
pub(crate) fn neighbour_from_message(m: NeighbourMessage) -> Result<Option<Neighbour>> {
    if !matches!(m.header.family, AddressFamily::Inet | AddressFamily::Inet6) {
        return Ok(None);
    }
    // The kernel allows proxy entries without a device; netplumb's entries always name one.
    let Some(link) = IfIndex::new(m.header.ifindex) else {
        return Ok(None);
    };
    let mut address = None;
    let mut mac = None;
    let mut probes = None;
    for attr in m.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                address = Some(IpAddr::V4(a))
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                address = Some(IpAddr::V6(a))
            }
            NeighbourAttribute::LinkLayerAddress(l) => mac = MacAddr::from_slice(&l).ok(),
            NeighbourAttribute::Probes(p) => probes = Some(p),
            _ => {}
        }
    }
    let Some(address) = address else {
        return Err(Error::malformed(
            "list neighbours",
            "a neighbour entry without an address",
        ));
    };
    Ok(Some(Neighbour {
        link,
        address,
        mac,
        state: NeighState::from_bits_retain(u16::from(m.header.state)),
        flags: NeighFlags::from_bits_retain(m.header.flags.bits()),
        probes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_states_survive_the_wire_types() {
        let s = NeighState::NOARP | NeighState::PERMANENT;
        let nl = NlState::from(s.bits());
        assert_eq!(NeighState::from_bits_retain(u16::from(nl)), s);
        assert_eq!(u16::from(NlState::from(0x80)), 0x80);
    }

    #[test]
    fn bad_combinations_are_refused_before_sending() {
        let one = IfIndex::new(1).unwrap();
        let n = NewNeighbour {
            router: true,
            ..NewNeighbour::new("10.0.0.1".parse().unwrap(), MacAddr::ZERO)
        };
        assert!(matches!(
            neighbour_message(&n, one),
            Err(Error::InvalidInput { arg: "router", .. })
        ));
        let n = NewNeighbour {
            mac: None,
            ..NewNeighbour::new("10.0.0.1".parse().unwrap(), MacAddr::ZERO)
        };
        assert!(matches!(
            neighbour_message(&n, one),
            Err(Error::InvalidInput { arg: "mac", .. })
        ));
        let n = NewNeighbour {
            mac: None,
            state: NeighState::NOARP | NeighState::PERMANENT,
            ..NewNeighbour::new("10.0.0.1".parse().unwrap(), MacAddr::ZERO)
        };
        assert!(neighbour_message(&n, one).is_ok());
    }
}
