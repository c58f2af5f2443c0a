//! Nexthop object types: what to create ([`NewNexthop`]), what the kernel reports
//! ([`Nexthop`]), group members and resilient-group settings, and the listing's filter.

use std::net::IpAddr;
use std::time::Duration;

use crate::route::{NextHopFlags, RouteProtocol, RouteScope};
use crate::{IfIndex, IpFamily, LinkRef};

/// One member of a nexthop group: another nexthop object's id and its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NexthopGroupMember {
    /// The member's id (a single nexthop, not a group).
    pub id: u32,
    /// Its share of the traffic, 1 to 256 (`group ID,WEIGHT`; 1 by default).
    pub weight: u16,
}

impl NexthopGroupMember {
    /// The member `id` with weight 1.
    pub fn new(id: u32) -> NexthopGroupMember {
        NexthopGroupMember { id, weight: 1 }
    }

    /// The member `id` with `weight` (1 to 256).
    pub fn weighted(id: u32, weight: u16) -> NexthopGroupMember {
        NexthopGroupMember { id, weight }
    }
}

/// The settings of a resilient group (`type resilient buckets N idle_timer S
/// unbalanced_timer S`): traffic is hashed onto a fixed number of buckets, each bound to one
/// member, so that a member coming or going moves only its own buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResilientGroup {
    /// The number of buckets (`buckets`, 1 to 65535; the kernel's default is 128).
    pub buckets: u16,
    /// How long a bucket must be idle before it may move to another member (`idle_timer`;
    /// kept to hundredths of a second; the kernel's default is 120 s).
    pub idle_timer: Duration,
    /// How long the group may stay unbalanced before busy buckets move too
    /// (`unbalanced_timer`; zero, the default, means never).
    pub unbalanced_timer: Duration,
}

impl Default for ResilientGroup {
    /// The kernel's defaults: 128 buckets, idle timer 120 s, no unbalanced timer.
    fn default() -> Self {
        ResilientGroup {
            buckets: 128,
            idle_timer: Duration::from_secs(120),
            unbalanced_timer: Duration::ZERO,
        }
    }
}

/// What a new nexthop object is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewNexthopKind<'a> {
    /// A gateway, a device, or both (`via ADDR dev DEV`, `dev DEV`). Without a gateway the
    /// destination is on the device's link; a gateway needs a device unless the nexthop is an
    /// FDB nexthop.
    Single {
        /// The gateway (`via`).
        gateway: Option<IpAddr>,
        /// The device (`dev`).
        dev: Option<LinkRef<'a>>,
        /// The family of a nexthop without a gateway (`ip -6 nexthop add … dev D`); IPv4 when
        /// `None`. Must agree with the gateway when both are given.
        family: Option<IpFamily>,
        /// Use the gateway even if no address of the device covers it (`onlink`).
        onlink: bool,
    },
    /// Discard the packets (`blackhole`) of the given family.
    Blackhole {
        /// The family routes using it have (iproute2's default: IPv4).
        family: IpFamily,
    },
    /// A group of other nexthops (`group ID[,WEIGHT]/…`), multipath or resilient.
    Group {
        /// The members, at least one; no id twice.
        members: Vec<NexthopGroupMember>,
        /// `Some` for a resilient group (`type resilient`), `None` for plain multipath.
        resilient: Option<ResilientGroup>,
    },
}

/// A nexthop object to create or replace (`ip nexthop add|replace id ID …`).
///
/// ```
/// use netplumb::nexthop::{NewNexthop, NexthopGroupMember};
///
/// // ip nexthop add id 1 via 10.0.0.2 dev eth0
/// let one = NewNexthop::via_dev(1, "10.0.0.2".parse()?, "eth0");
/// // ip nexthop add id 10 group 1/2,3
/// let group = NewNexthop::group(
///     10,
///     vec![NexthopGroupMember::new(1), NexthopGroupMember::weighted(2, 3)],
/// );
/// # drop((one, group));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNexthop<'a> {
    /// The object's id (`id ID`), 1 or more; routes name it with `nhid`.
    pub id: u32,
    /// Who installs it (`proto`); unspecified by default, as with `ip nexthop add`.
    pub protocol: RouteProtocol,
    /// A nexthop of a VXLAN FDB (`fdb`): a gateway without a device, or a group of such
    /// nexthops; FDB entries use it, routes cannot.
    pub fdb: bool,
    /// What the nexthop is.
    pub kind: NewNexthopKind<'a>,
}

impl<'a> NewNexthop<'a> {
    fn of(id: u32, kind: NewNexthopKind<'a>) -> NewNexthop<'a> {
        NewNexthop {
            id,
            protocol: RouteProtocol::UNSPEC,
            fdb: false,
            kind,
        }
    }

    fn single(
        id: u32,
        gateway: Option<IpAddr>,
        dev: Option<LinkRef<'a>>,
        family: Option<IpFamily>,
    ) -> NewNexthop<'a> {
        NewNexthop::of(
            id,
            NewNexthopKind::Single {
                gateway,
                dev,
                family,
                onlink: false,
            },
        )
    }

    /// `ip nexthop add id ID via GATEWAY dev DEV`.
    pub fn via_dev(id: u32, gateway: IpAddr, dev: impl Into<LinkRef<'a>>) -> NewNexthop<'a> {
        NewNexthop::single(id, Some(gateway), Some(dev.into()), None)
    }

    /// `ip [-6] nexthop add id ID dev DEV`: destinations on the device's link.
    pub fn dev(id: u32, family: IpFamily, dev: impl Into<LinkRef<'a>>) -> NewNexthop<'a> {
        NewNexthop::single(id, None, Some(dev.into()), Some(family))
    }

    /// `ip nexthop add id ID via GATEWAY fdb`: a VXLAN remote for FDB entries.
    pub fn fdb_via(id: u32, gateway: IpAddr) -> NewNexthop<'a> {
        NewNexthop {
            fdb: true,
            ..NewNexthop::single(id, Some(gateway), None, None)
        }
    }

    /// `ip [-6] nexthop add id ID blackhole`.
    pub fn blackhole(id: u32, family: IpFamily) -> NewNexthop<'a> {
        NewNexthop::of(id, NewNexthopKind::Blackhole { family })
    }

    /// `ip nexthop add id ID group A[,W]/B[,W]…`: multipath over `members`.
    pub fn group(id: u32, members: Vec<NexthopGroupMember>) -> NewNexthop<'a> {
        NewNexthop::of(
            id,
            NewNexthopKind::Group {
                members,
                resilient: None,
            },
        )
    }

    /// `ip nexthop add id ID group … type resilient …`.
    pub fn resilient_group(
        id: u32,
        members: Vec<NexthopGroupMember>,
        settings: ResilientGroup,
    ) -> NewNexthop<'a> {
        NewNexthop::of(
            id,
            NewNexthopKind::Group {
                members,
                resilient: Some(settings),
            },
        )
    }

    /// The same nexthop with `onlink` set (single nexthops only; refused on others when sent).
    pub fn onlink(mut self) -> NewNexthop<'a> {
        if let NewNexthopKind::Single { onlink, .. } = &mut self.kind {
            *onlink = true;
        }
        self
    }

    /// The same nexthop installed by `protocol` (`proto`).
    pub fn protocol(mut self, protocol: RouteProtocol) -> NewNexthop<'a> {
        self.protocol = protocol;
        self
    }
}

/// What a nexthop object is, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NexthopKind {
    /// A gateway and/or device.
    Single {
        /// The gateway (`via`).
        gateway: Option<IpAddr>,
        /// The device (`dev`); `None` for FDB nexthops.
        dev: Option<IfIndex>,
    },
    /// Discards packets (`blackhole`).
    Blackhole,
    /// A group (multipath or resilient).
    Group {
        /// The members with their weights.
        members: Vec<NexthopGroupMember>,
        /// The settings of a resilient group; `None` for multipath.
        resilient: Option<ResilientGroup>,
        /// How long a resilient group has been unbalanced (`unbalanced_time`).
        unbalanced_time: Option<Duration>,
    },
}

/// A nexthop object as the kernel reports it (`ip nexthop show`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nexthop {
    /// The id (`id`).
    pub id: u32,
    /// The family: `None` for groups (`AF_UNSPEC`).
    pub family: Option<IpFamily>,
    /// Who installed it (`proto`).
    pub protocol: RouteProtocol,
    /// The scope the kernel gave it (`link` for a single nexthop, `global` for a group).
    pub scope: RouteScope,
    /// Next-hop flags (`onlink`, `dead`, `linkdown`, …).
    pub flags: NextHopFlags,
    /// An FDB nexthop (`fdb`).
    pub fdb: bool,
    /// What it is.
    pub kind: NexthopKind,
}

impl Nexthop {
    /// True for a group.
    pub fn is_group(&self) -> bool {
        matches!(self.kind, NexthopKind::Group { .. })
    }
}

/// Which nexthop objects to list (`ip nexthop show [id ID] [dev DEV] [groups] [fdb] [master
/// DEV]`); `Default` lists all. The kernel applies each filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NexthopFilter<'a> {
    /// Only this family (`ip -4|-6 nexthop show`).
    pub family: Option<IpFamily>,
    /// Only nexthops using this device (`dev`).
    pub dev: Option<LinkRef<'a>>,
    /// Only groups (`groups`).
    pub groups: bool,
    /// Only FDB nexthops (`fdb`).
    pub fdb: bool,
    /// Only nexthops whose device is enslaved to this master, e.g. a VRF (`master`).
    pub master: Option<LinkRef<'a>>,
}
