//! The RIB → kernel glue: how an [`lpm::Rib`](crate::lpm::Rib)'s changes of best route become
//! kernel routes. The one module that sees both [`lpm`](crate::lpm) and the netlink side.
//!
//! ```text
//! Rib::update → FibChange → Handle::apply_fib_change / Batch::apply_fib_change
//!                           (ip route replace … / ip route del …, as set by FibInstall)
//! ```

use ipnetwork::IpNetwork;

use crate::batch::Batch;
use crate::lpm::{FibChange, FibRoute, IpKey};
use crate::route::{NewRoute, NextHop, RouteKey, RouteProtocol};
use crate::{Error, Handle, IfIndex, LinkRef, Result, TableId};

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
