//! The RIB → kernel glue: how an [`lpm::Rib`](crate::lpm::Rib)'s changes of best route become
//! kernel routes. The one module that sees both [`lpm`](crate::lpm) and the netlink side.
//!
//! ```text
//! Rib::update → FibChange → Handle::apply_fib_change / Batch::apply_fib_change
//!                           (ip route replace … / ip route del …, as set by FibInstall)
//!                         → Batch::apply_fib_change_shared (the same, through nexthop
//!                           objects shared by every route with the same next hops:
//!                           FibNexthops)
//! ```

use std::collections::HashMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::batch::Batch;
use crate::lpm::{FibChange, FibNextHop, FibRoute, IpKey};
use crate::nexthop::{NewNexthop, NexthopGroupMember};
use crate::route::{NewRoute, NextHop, RouteKey, RouteProtocol};
use crate::{Error, Handle, IfIndex, IpFamily, LinkRef, Result, TableId};

/// How a [`Rib`](crate::lpm::Rib)'s best routes become kernel routes: the table, the protocol
/// they are marked with (so that a dump or `ip route flush proto P` finds them), and whether
/// gateways are on-link. Used by [`NewRoute::from_fib`], [`Handle::apply_fib_change`](crate::Handle::apply_fib_change) and
/// [`Batch::apply_fib_change`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FibInstall {
    /// The kernel table the FIB is mirrored into.
    pub table: TableId,
    /// The protocol the routes carry (`proto P`).
    pub protocol: RouteProtocol,
    /// The kernel route's metric (`metric N`), the same for every route: the kernel keys
    /// routes by it, so a FIB route's own metric must not become it, or a change of metric
    /// would add a second kernel route instead of replacing the first.
    pub priority: Option<u32>,
    /// Mark every gateway `onlink` (BGP next hops on unnumbered links, or gateways outside
    /// the device's prefixes).
    pub onlink: bool,
}

impl Default for FibInstall {
    /// The main table, `proto static`, no metric, gateways resolved as usual.
    fn default() -> Self {
        FibInstall {
            table: TableId::MAIN,
            protocol: RouteProtocol::STATIC,
            priority: None,
            onlink: false,
        }
    }
}

impl NewRoute<'static> {
    /// The kernel route for a FIB entry (`ip route replace PREFIX [via GW] [dev DEV] [onlink]
    /// table T proto P`, several next hops making an ECMP route with their weights).
    ///
    /// Fails with [`Error::InvalidInput`] for an entry without next hops or with a next hop
    /// that has neither a gateway nor a device.
    pub fn from_fib(
        prefix: IpNetwork,
        route: &FibRoute,
        install: &FibInstall,
    ) -> Result<NewRoute<'static>> {
        if route.next_hops.is_empty() {
            return Err(Error::invalid(
                "next_hops",
                format!("the FIB route to {prefix} has no next hop"),
            ));
        }
        let mut hops = Vec::with_capacity(route.next_hops.len());
        for nh in &route.next_hops {
            let dev = match nh.ifindex {
                Some(i) => Some(LinkRef::Index(IfIndex::new(i).ok_or_else(|| {
                    Error::invalid("next_hops", format!("{prefix}: interface index 0"))
                })?)),
                None => None,
            };
            if nh.gateway.is_none() && dev.is_none() {
                return Err(Error::invalid(
                    "next_hops",
                    format!("{prefix}: a next hop with neither a gateway nor a device"),
                ));
            }
            hops.push(NextHop {
                gateway: nh.gateway,
                dev,
                weight: u16::from(nh.weight.max(1)),
                onlink: install.onlink && nh.gateway.is_some(),
                ..NextHop::default()
            });
        }
        Ok(NewRoute {
            table: install.table,
            protocol: install.protocol,
            priority: install.priority,
            next_hops: hops,
            ..NewRoute::new(prefix)?
        })
    }
}

impl RouteKey<'static> {
    /// The key that deletes what [`NewRoute::from_fib`] installed for `prefix`.
    pub fn from_fib(prefix: IpNetwork, install: &FibInstall) -> RouteKey<'static> {
        RouteKey {
            table: install.table,
            protocol: Some(install.protocol),
            priority: install.priority,
            ..RouteKey::new(prefix)
        }
    }
}

/// # RIB → kernel
impl Handle {
    /// Mirrors one change of a [`Rib`](crate::lpm::Rib)'s best route into a kernel table: a new
    /// or changed best route is `ip route replace`d, a withdrawn one `ip route del`eted. For
    /// many changes, queue them on a [`Batch`] with [`Batch::apply_fib_change`].
    ///
    /// ```no_run
    /// use netplumb::lpm::{FibNextHop, Protocol, Rib, Candidate, RibSource};
    /// use netplumb::fib::FibInstall;
    /// use netplumb::route::RouteProtocol;
    /// use netplumb::{Handle, TableId};
    /// use std::net::Ipv4Addr;
    ///
    /// let h = Handle::new()?;
    /// let install = FibInstall {
    ///     table: TableId::new(100),
    ///     protocol: RouteProtocol::BGP,
    ///     ..FibInstall::default()
    /// };
    /// let mut rib: Rib<Ipv4Addr> = Rib::new();
    /// let peer = RibSource::new(Protocol::Ebgp, 1);
    /// let route = Candidate::new(Protocol::Ebgp, 0, vec![FibNextHop::via("192.0.2.1".parse()?)]);
    /// if let Some(change) = rib.update("203.0.113.0/24".parse()?, peer, route) {
    ///     h.apply_fib_change(&change, &install)?; // ip route replace 203.0.113.0/24 via 192.0.2.1 table 100 proto bgp
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_fib_change<A: IpKey>(
        &self,
        change: &FibChange<A>,
        install: &FibInstall,
    ) -> Result<()> {
        let prefix = IpNetwork::from(change.prefix);
        match &change.new {
            Some(best) => self.replace_route(&NewRoute::from_fib(prefix, best, install)?),
            None => self.delete_route(&RouteKey::from_fib(prefix, install)),
        }
    }
}

/// # RIB → kernel
impl Handle {
    /// Applies one change as [`Batch::apply_fib_change_shared`] queues it (the nexthop
    /// objects and the route), and returns the first error.
    pub fn apply_fib_change_shared<A: IpKey>(
        &self,
        change: &FibChange<A>,
        install: &FibInstall,
        shared: &mut FibNexthops,
    ) -> Result<()> {
        let mut b = self.batch();
        b.apply_fib_change_shared(change, install, shared);
        b.send().into_iter().collect()
    }
}

/// # RIB → kernel
impl Batch<'_> {
    /// Queues what [`Handle::apply_fib_change`](crate::Handle::apply_fib_change) does: `ip route replace` for a new or changed
    /// best route, `ip route del` for a withdrawn one; returns the request's index. A FIB entry
    /// that cannot become a kernel route comes back as that request's error.
    pub fn apply_fib_change<A: IpKey>(
        &mut self,
        change: &FibChange<A>,
        install: &FibInstall,
    ) -> usize {
        let prefix = IpNetwork::from(change.prefix);
        match &change.new {
            Some(best) => match NewRoute::from_fib(prefix, best, install) {
                Ok(r) => self.replace_route(&r),
                Err(e) => self.push_refused("replace route", e),
            },
            None => self.delete_route(&RouteKey::from_fib(prefix, install)),
        }
    }
}

/// One next hop as a nexthop object knows it: gateway, device, on-link.
type HopKey = (Option<IpAddr>, u32, bool);

/// A nexthop object's id and how many users (routes, and groups for a single nexthop) it has.
#[derive(Clone, Copy, Debug)]
struct Shared {
    id: u32,
    users: u32,
}

/// The nexthop objects that a FIB's routes share in the kernel, for
/// [`Batch::apply_fib_change_shared`]: one object per distinct next hop and one group per
/// distinct ECMP set, so that a million routes over the same four next hops hold one group
/// (`ip route replace PREFIX nhid G`), which is how FRR installs routes. An object goes (`ip
/// nexthop del`) when its last user does.
///
/// It allocates ids from a range of its own (`first_id` on), and remembers which object each
/// installed prefix uses; keep one per kernel table, for as long as the routes live. The
/// kernel requires a device on every nexthop object: each [`FibNextHop`] needs an `ifindex`.
#[derive(Debug)]
pub struct FibNexthops {
    first_id: u32,
    next_id: u32,
    free: Vec<u32>,
    singles: HashMap<HopKey, Shared>,
    groups: HashMap<Vec<NexthopGroupMember>, Shared>,
    /// What each id is: a single next hop or a group's members.
    objects: HashMap<u32, Result<HopKey, Vec<NexthopGroupMember>>>,
    /// The object each installed prefix uses.
    routes: HashMap<IpNetwork, u32>,
}

impl FibNexthops {
    /// Shares nexthop objects with ids from `first_id` upward (the ids must be free: other
    /// programs of the namespace use their own range).
    pub fn new(first_id: u32) -> FibNexthops {
        FibNexthops {
            first_id: first_id.max(1),
            next_id: first_id.max(1),
            free: Vec::new(),
            singles: HashMap::new(),
            groups: HashMap::new(),
            objects: HashMap::new(),
            routes: HashMap::new(),
        }
    }

    /// How many nexthop objects are installed: (single next hops, groups).
    pub fn counts(&self) -> (usize, usize) {
        (self.singles.len(), self.groups.len())
    }

    /// The id of the object `prefix`'s route uses, if installed through this.
    pub fn id_of(&self, prefix: IpNetwork) -> Option<u32> {
        self.routes.get(&prefix).copied()
    }

    fn allocate(&mut self) -> Result<u32> {
        if let Some(id) = self.free.pop() {
            return Ok(id);
        }
        let id = self.next_id;
        self.next_id = id.checked_add(1).ok_or_else(|| {
            Error::invalid(
                "nexthop ids",
                format!("the range from {} is used up", self.first_id),
            )
        })?;
        Ok(id)
    }

    /// The key of one FIB next hop, checked.
    fn hop_key(prefix: IpNetwork, hop: &FibNextHop, install: &FibInstall) -> Result<HopKey> {
        let dev = hop.ifindex.filter(|i| *i != 0).ok_or_else(|| {
            Error::invalid(
                "next_hops",
                format!("{prefix}: a nexthop object needs a device (FibNextHop::ifindex)"),
            )
        })?;
        Ok((hop.gateway, dev, install.onlink && hop.gateway.is_some()))
    }

    /// The id of the single nexthop `key`, queuing its creation when new.
    fn single(
        &mut self,
        batch: &mut Batch<'_>,
        key: HopKey,
        family: IpFamily,
        install: &FibInstall,
    ) -> Result<u32> {
        if let Some(s) = self.singles.get(&key) {
            return Ok(s.id);
        }
        let id = self.allocate()?;
        let dev = LinkRef::Index(
            IfIndex::new(key.1).ok_or_else(|| Error::invalid("next_hops", "interface index 0"))?,
        );
        let mut n = match key.0 {
            Some(gw) => NewNexthop::via_dev(id, gw, dev),
            None => NewNexthop::dev(id, family, dev),
        }
        .protocol(install.protocol);
        if key.2 {
            n = n.onlink();
        }
        batch.add_nexthop(&n);
        self.singles.insert(key, Shared { id, users: 0 });
        self.objects.insert(id, Ok(key));
        Ok(id)
    }

    /// Takes one use of the object for `route`'s next hops, queuing what must be created;
    /// returns its id.
    fn acquire(
        &mut self,
        batch: &mut Batch<'_>,
        prefix: IpNetwork,
        route: &FibRoute,
        install: &FibInstall,
    ) -> Result<u32> {
        if route.next_hops.is_empty() {
            return Err(Error::invalid(
                "next_hops",
                format!("the FIB route to {prefix} has no next hop"),
            ));
        }
        let keys = route
            .next_hops
            .iter()
            .map(|h| Self::hop_key(prefix, h, install))
            .collect::<Result<Vec<_>>>()?;
        let family = IpFamily::of(prefix.ip());
        if let [key] = keys[..] {
            let id = self.single(batch, key, family, install)?;
            self.use_single(key);
            return Ok(id);
        }
        let mut members = Vec::with_capacity(keys.len());
        for (key, hop) in keys.iter().zip(&route.next_hops) {
            let id = self.single(batch, *key, family, install)?;
            members.push(NexthopGroupMember::weighted(
                id,
                u16::from(hop.weight.max(1)),
            ));
        }
        if let Some(g) = self.groups.get_mut(&members) {
            g.users += 1;
            return Ok(g.id);
        }
        let id = self.allocate()?;
        batch.add_nexthop(&NewNexthop::group(id, members.clone()).protocol(install.protocol));
        for key in &keys {
            self.use_single(*key);
        }
        self.groups.insert(members.clone(), Shared { id, users: 1 });
        self.objects.insert(id, Err(members));
        Ok(id)
    }

    fn use_single(&mut self, key: HopKey) {
        if let Some(s) = self.singles.get_mut(&key) {
            s.users += 1;
        }
    }

    /// Gives back one use of object `id`, queuing its deletion (and its members' uses) when
    /// it was the last.
    fn release(&mut self, batch: &mut Batch<'_>, id: u32) {
        let Some(what) = self.objects.get(&id).cloned() else {
            return;
        };
        let gone = match &what {
            Ok(key) => match self.singles.get_mut(key) {
                Some(s) => {
                    s.users = s.users.saturating_sub(1);
                    s.users == 0
                }
                None => false,
            },
            Err(members) => match self.groups.get_mut(members) {
                Some(g) => {
                    g.users = g.users.saturating_sub(1);
                    g.users == 0
                }
                None => false,
            },
        };
        if !gone {
            return;
        }
        batch.delete_nexthop(id);
        self.objects.remove(&id);
        self.free.push(id);
        match what {
            Ok(key) => {
                self.singles.remove(&key);
            }
            Err(members) => {
                self.groups.remove(&members);
                for m in members {
                    self.release(batch, m.id);
                }
            }
        }
    }
}

/// # RIB → kernel, through shared nexthop objects
impl Batch<'_> {
    /// Queues what [`Batch::apply_fib_change`] does, with the route naming a nexthop object
    /// shared with every route of the same next hops (`ip route replace PREFIX nhid ID table
    /// T proto P`), created first when new (`ip nexthop add …`, a group for several next
    /// hops), and deleted after its last route went or moved on. Returns the index of the
    /// route's request; the nexthop requests are queued around it (a failed one makes the
    /// route's request fail too).
    ///
    /// `shared` must see every change of the table, in order: it remembers which object each
    /// prefix uses. After a batch whose requests failed, the kernel and `shared` may
    /// disagree; start again from a fresh table and a fresh `FibNexthops`.
    pub fn apply_fib_change_shared<A: IpKey>(
        &mut self,
        change: &FibChange<A>,
        install: &FibInstall,
        shared: &mut FibNexthops,
    ) -> usize {
        let prefix = IpNetwork::from(change.prefix);
        let old = shared.routes.get(&prefix).copied();
        let i = match &change.new {
            Some(best) => {
                let id = match shared.acquire(self, prefix, best, install) {
                    Ok(id) => id,
                    Err(e) => return self.push_refused("replace route", e),
                };
                shared.routes.insert(prefix, id);
                let route = NewRoute::via_nexthop(prefix, id).map(|r| NewRoute {
                    table: install.table,
                    protocol: install.protocol,
                    priority: install.priority,
                    ..r
                });
                match route {
                    Ok(r) => self.replace_route(&r),
                    Err(e) => self.push_refused("replace route", e),
                }
            }
            None => {
                shared.routes.remove(&prefix);
                self.delete_route(&RouteKey::from_fib(prefix, install))
            }
        };
        if let Some(old) = old {
            shared.release(self, old);
        }
        i
    }
}
