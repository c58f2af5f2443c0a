//! Neighbour types: entries to add ([`NewNeighbour`]) and as the kernel reports them
//! ([`Neighbour`]), their states and flags, the listing's selector, and the neighbour tables'
//! per-device parameters.

use std::net::IpAddr;
use std::time::Duration;

use crate::{IfIndex, IpFamily, LinkRef, MacAddr};

bitflags::bitflags! {
    /// The state of a neighbour entry (`NUD_*`), a bit set: `NOARP | PERMANENT` is what
    /// `ip neigh add … nud permanent` creates on a device without ARP, and the kernel reports
    /// such combinations as they are. The empty set is `none`.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct NeighbourState: u16 {
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
    pub struct NeighbourFlags: u8 {
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
/// use netplumb::{Handle, neighbour::{NeighbourState, NewNeighbour}};
///
/// let h = Handle::new()?;
/// // ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent
/// h.add_neighbour("eth0", &NewNeighbour::new("10.0.0.2".parse()?, "02:00:00:00:00:02".parse()?))?;
/// // ip neigh replace 10.0.0.3 lladdr 02:00:00:00:00:03 dev eth0 nud reachable
/// h.replace_neighbour("eth0", &NewNeighbour {
///     state: NeighbourState::REACHABLE,
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
    /// The state; [`NeighbourState::PERMANENT`] by default, as `ip neigh add` does.
    pub state: NeighbourState,
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
            state: NeighbourState::PERMANENT,
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
    pub state: NeighbourState,
    /// The flags ([`NeighbourFlags::PROXY`] for proxy entries, [`NeighbourFlags::ROUTER`]…).
    pub flags: NeighbourFlags,
    /// Probes sent so far, when reported.
    pub probes: Option<u32>,
}

impl Neighbour {
    /// True for a proxy entry (`ip neigh show proxy`).
    pub fn is_proxy(&self) -> bool {
        self.flags.contains(NeighbourFlags::PROXY)
    }
}

/// Which neighbour entries [`Handle::neighbours`](crate::Handle::neighbours) and [`Handle::flush_neighbours`](crate::Handle::flush_neighbours) select. The
/// default selects every ordinary (non-proxy) entry of both families.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeighbourFilter<'a> {
    /// Only the entries of this device (`dev DEV`).
    pub link: Option<LinkRef<'a>>,
    /// Only IPv4 (ARP) or IPv6 (NDP) entries (`-4` / `-6`).
    pub family: Option<IpFamily>,
    /// Only entries whose state has at least one of these bits (`nud STATE`).
    pub state: Option<NeighbourState>,
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

    /// The entries on a VRF's members (`ip neigh show vrf VRF`): those whose device's master
    /// is the VRF.
    pub fn vrf(vrf: impl Into<LinkRef<'a>>) -> Self {
        NeighbourFilter {
            master: Some(vrf.into()),
            ..NeighbourFilter::default()
        }
    }
}

/// Per-device parameters of a neighbour table (`ip ntable change … dev DEV …`). Fields left
/// `None` stay as they are; a listing ([`Handle::neighbour_tables`](crate::Handle::neighbour_tables)) fills in every field the
/// kernel reports. Times travel in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeighbourTableParams {
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
pub struct NeighbourTable {
    /// The table's family.
    pub family: IpFamily,
    /// The table's name: `arp_cache` (IPv4) or `ndisc_cache` (IPv6).
    pub name: String,
    /// The device these parameters belong to; `None` for the table's defaults.
    pub link: Option<IfIndex>,
    /// The parameters.
    pub params: NeighbourTableParams,
    /// Garbage-collection thresholds (`thresh1`, `thresh2`, `thresh3`), on the defaults entry.
    pub gc_thresholds: Option<[u32; 3]>,
}
