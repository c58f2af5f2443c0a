//! FDB types: entries to add or delete ([`NewFdbEntry`]), entries as the kernel reports
//! them ([`FdbEntry`]), their states, targets and flags, and the listing's selector.

use std::net::IpAddr;

use crate::neighbour::{NeighbourFlags, NeighbourState};
use crate::{IfIndex, LinkRef, MacAddr, VlanId, Vni};

/// How long an FDB entry lives and whether it can move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FdbState {
    /// Never ages out; on a bridge, a MAC of the bridge itself (`permanent`, the default).
    #[default]
    Permanent,
    /// Never ages out (`static`).
    Static,
    /// Ages out like a learned entry (`dynamic`).
    Dynamic,
    /// A state bit set this version does not name, as the kernel gave it.
    Other(NeighbourState),
}

impl FdbState {
    /// The `NUD_*` bits iproute2 sends for this state.
    pub(super) fn bits(self) -> NeighbourState {
        match self {
            FdbState::Permanent => NeighbourState::NOARP | NeighbourState::PERMANENT,
            FdbState::Static => NeighbourState::NOARP | NeighbourState::REACHABLE,
            FdbState::Dynamic => NeighbourState::REACHABLE,
            FdbState::Other(s) => s,
        }
    }

    /// Reads the state as `bridge fdb show` does: permanent wins, then static (`noarp`).
    pub(super) fn from_bits(s: NeighbourState) -> FdbState {
        if s.contains(NeighbourState::PERMANENT) {
            FdbState::Permanent
        } else if s.contains(NeighbourState::NOARP) {
            FdbState::Static
        } else if s.intersects(NeighbourState::REACHABLE | NeighbourState::STALE) {
            FdbState::Dynamic
        } else {
            FdbState::Other(s)
        }
    }
}

/// Which table an FDB request goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FdbTarget {
    /// The device's own table (`self`): a VXLAN device's, or a bridge port's hardware table.
    /// The default, as in `bridge fdb add`.
    #[default]
    SelfOnly,
    /// The table of the device's master bridge (`master`).
    Master,
    /// Both (`self master`).
    Both,
}

bitflags::bitflags! {
    /// Extended FDB entry flags (`NDA_FLAGS_EXT`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct FdbExtFlags: u32 {
        /// Managed by the kernel on behalf of user space (`managed`).
        const MANAGED = 1 << 0;
        /// Locked by 802.1X MAB (`locked`).
        const LOCKED = 1 << 1;
        const _ = !0;
    }
}

/// An FDB entry to add, append, replace or delete.
///
/// ```no_run
/// use netplumb::{Handle, fdb::NewFdbEntry};
///
/// let h = Handle::new()?;
/// // bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.2   (flood to a remote VTEP)
/// h.append_fdb("vx0", &NewFdbEntry::flood("192.0.2.2".parse()?))?;
/// // bridge fdb add 02:42:0a:f4:01:00 dev vx0 dst 192.0.2.3      (a remote MAC)
/// h.add_fdb("vx0", &NewFdbEntry {
///     dst: Some("192.0.2.3".parse()?),
///     ..NewFdbEntry::new("02:42:0a:f4:01:00".parse()?)
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewFdbEntry {
    /// The MAC address; all zeros for a VXLAN flood entry.
    pub mac: MacAddr,
    /// The VLAN, on a VLAN-filtering bridge (`vlan VID`).
    pub vlan: Option<VlanId>,
    /// The remote tunnel endpoint, on a VXLAN device (`dst IP`); its family must match the
    /// device's (its local or group address).
    pub dst: Option<IpAddr>,
    /// The remote UDP port, on a VXLAN device (`port PORT`).
    pub port: Option<u16>,
    /// The remote VNI, on a VXLAN device (`vni VNI`).
    pub vni: Option<Vni>,
    /// The source VNI, on a VXLAN device in external mode (`src_vni VNI`).
    pub src_vni: Option<Vni>,
    /// The outgoing underlay device for `dst`, on a VXLAN device (`via DEV`).
    pub via: Option<IfIndex>,
    /// Which table.
    pub target: FdbTarget,
    /// The state; [`FdbState::Permanent`] by default, as in `bridge fdb add`.
    pub state: FdbState,
    /// The entry never moves to another port (`sticky`).
    pub sticky: bool,
    /// Learned by an external agent (`extern_learn`).
    pub extern_learn: bool,
}

impl NewFdbEntry {
    /// A permanent entry for `mac` in the device's own table.
    pub fn new(mac: MacAddr) -> NewFdbEntry {
        NewFdbEntry {
            mac,
            ..NewFdbEntry::default()
        }
    }

    /// A VXLAN flood entry: the all-zero MAC to the remote `dst`.
    pub fn flood(dst: IpAddr) -> NewFdbEntry {
        NewFdbEntry {
            dst: Some(dst),
            ..NewFdbEntry::default()
        }
    }
}

/// An FDB entry as the kernel reports it (`bridge fdb show`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FdbEntry {
    /// The device the entry is on: a bridge port, a bridge, or a VXLAN device.
    pub link: IfIndex,
    /// The MAC address.
    pub mac: MacAddr,
    /// The VLAN, on a VLAN-filtering bridge.
    pub vlan: Option<VlanId>,
    /// The remote tunnel endpoint, on a VXLAN device.
    pub dst: Option<IpAddr>,
    /// The remote UDP port, when it differs from the device's.
    pub port: Option<u16>,
    /// The remote VNI, when it differs from the device's.
    pub vni: Option<Vni>,
    /// The source VNI.
    pub src_vni: Option<Vni>,
    /// The outgoing underlay device for `dst`.
    pub via: Option<IfIndex>,
    /// The bridge the entry's device belongs to (`master BR`).
    pub master: Option<IfIndex>,
    /// The state.
    pub state: FdbState,
    /// The flags: [`NeighbourFlags::SELF`], [`NeighbourFlags::MASTER`], [`NeighbourFlags::EXT_LEARNED`],
    /// [`NeighbourFlags::STICKY`], [`NeighbourFlags::OFFLOADED`]…
    pub flags: NeighbourFlags,
    /// The extended flags.
    pub ext_flags: FdbExtFlags,
}

/// Which FDB entries [`Handle::fdb`](crate::Handle::fdb) lists. The default lists every entry.
#[derive(Clone, Copy, Debug, Default)]
pub struct FdbFilter<'a> {
    /// Only the entries on this device (`bridge fdb show dev DEV`).
    pub link: Option<LinkRef<'a>>,
    /// Only the entries of this bridge and its ports (`bridge fdb show br BR`).
    pub bridge: Option<LinkRef<'a>>,
}

impl<'a> FdbFilter<'a> {
    /// The entries on one device.
    pub fn link(link: impl Into<LinkRef<'a>>) -> Self {
        FdbFilter {
            link: Some(link.into()),
            bridge: None,
        }
    }

    /// The entries of one bridge and its ports.
    pub fn bridge(bridge: impl Into<LinkRef<'a>>) -> Self {
        FdbFilter {
            link: None,
            bridge: Some(bridge.into()),
        }
    }
}

/// Which FDB entries [`Handle::flush_fdb`](crate::Handle::flush_fdb) deletes: every entry of
/// the device that matches all the fields set. The default selects every entry of the
/// device's own table. Equivalent to `bridge fdb flush dev DEV [brport PORT] [vlan VID] [self]
/// [master] [permanent|static|dynamic] [[no]sticky] [[no]extern_learn]`, with the VXLAN
/// selectors of newer iproute2 (`dst`, `port`, `vni`, `src_vni`).
///
/// A bridge (or a bridge port) takes `brport`, `vlan`, the state and the flags; a VXLAN
/// device takes `dst`, `port`, `vni`, `src_vni`, the state and the flags. A selector of the
/// other kind is refused before anything is sent (`InvalidInput` naming it), so that no kernel
/// can take a flush wider than asked.
///
/// ```no_run
/// use netplumb::{Handle, fdb::{FdbFlush, FdbState}};
///
/// let h = Handle::new()?;
/// // bridge fdb flush dev vx0 dst 192.0.2.7   (everything behind one remote VTEP)
/// h.flush_fdb("vx0", &FdbFlush { dst: Some("192.0.2.7".parse()?), ..FdbFlush::default() })?;
/// // bridge fdb flush dev br0 brport veth1 dynamic   (what br0 learned on one port)
/// h.flush_fdb("br0", &FdbFlush {
///     brport: Some("veth1".into()),
///     state: Some(FdbState::Dynamic),
///     ..FdbFlush::default()
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdbFlush<'a> {
    /// Which table: the device's own (`self`, the default, as in iproute2) or, for a bridge
    /// port, its bridge's (`master`).
    pub target: FdbTarget,
    /// Only the entries of this port, when the device is a bridge (`brport PORT`).
    pub brport: Option<LinkRef<'a>>,
    /// Only the entries of this VLAN, on a bridge (`vlan VID`).
    pub vlan: Option<VlanId>,
    /// Only the entries in this state (`permanent`, `static`, `dynamic`).
    pub state: Option<FdbState>,
    /// Only the entries that are (`true`: `sticky`) or are not (`false`: `nosticky`) sticky.
    pub sticky: Option<bool>,
    /// Only the entries that were (`true`) or were not (`false`) learned by an external agent
    /// (`[no]extern_learn`).
    pub extern_learn: Option<bool>,
    /// Only the remotes at this tunnel endpoint, on a VXLAN device (`dst IP`).
    pub dst: Option<IpAddr>,
    /// Only the remotes with this UDP port, on a VXLAN device (`port PORT`).
    pub port: Option<u16>,
    /// Only the remotes with this VNI, on a VXLAN device (`vni VNI`).
    pub vni: Option<Vni>,
    /// Only the entries of this source VNI, on a VXLAN device in external mode (`src_vni VNI`).
    pub src_vni: Option<Vni>,
}

impl FdbFlush<'_> {
    /// The `ndm_state` bits and `NDA_NDM_STATE_MASK` that select [`state`](Self::state), as
    /// iproute2 writes them (none: every state).
    pub(super) fn state_bits(&self) -> (NeighbourState, NeighbourState) {
        let both = NeighbourState::NOARP | NeighbourState::PERMANENT;
        match self.state {
            None => (NeighbourState::empty(), NeighbourState::empty()),
            Some(FdbState::Permanent) => (NeighbourState::PERMANENT, NeighbourState::PERMANENT),
            Some(FdbState::Static) => (NeighbourState::NOARP, both),
            Some(FdbState::Dynamic) => (NeighbourState::empty(), both),
            Some(FdbState::Other(s)) => (s, s),
        }
    }

    /// The `ndm_flags` bits and `NDA_NDM_FLAGS_MASK` that select the flags asked for.
    pub(super) fn flag_bits(&self) -> (NeighbourFlags, NeighbourFlags) {
        let (mut value, mut mask) = (NeighbourFlags::empty(), NeighbourFlags::empty());
        for (want, bit) in [
            (self.sticky, NeighbourFlags::STICKY),
            (self.extern_learn, NeighbourFlags::EXT_LEARNED),
        ] {
            if let Some(on) = want {
                mask |= bit;
                value.set(bit, on);
            }
        }
        (value, mask)
    }

    /// Whether a listed entry is one this flush selects (the kernel's matching, for devices
    /// that have no bulk delete). `brport` is matched by the caller.
    pub(super) fn selects(&self, e: &FdbEntry) -> bool {
        let table = match self.target {
            FdbTarget::SelfOnly => NeighbourFlags::SELF,
            FdbTarget::Master => NeighbourFlags::MASTER,
            FdbTarget::Both => NeighbourFlags::SELF | NeighbourFlags::MASTER,
        };
        let (state, state_mask) = self.state_bits();
        let (flags, flags_mask) = self.flag_bits();
        e.flags.intersects(table)
            && e.state.bits() & state_mask == state
            && e.flags & flags_mask == flags
            && self.vlan.is_none_or(|v| e.vlan == Some(v))
            && self.dst.is_none_or(|d| e.dst == Some(d))
            && self.port.is_none_or(|p| e.port == Some(p))
            && self.vni.is_none_or(|v| e.vni == Some(v))
            && self.src_vni.is_none_or(|v| e.src_vni == Some(v))
    }
}
