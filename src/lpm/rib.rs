//! [`Rib`]: every candidate route per prefix, and the FIB of best routes kept in step.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::map::PrefixMap;
use super::prefix::{IpKey, Prefix};

/// The routing protocol a route was learned from.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// A directly connected network (`proto kernel` in `ip route`).
    Connected,
    /// A configured static route (`proto static`).
    Static,
    /// External BGP.
    Ebgp,
    /// Internal BGP.
    Ibgp,
    /// OSPF.
    Ospf,
    /// RIP; a metric of 16 (infinity) withdraws the route.
    Rip,
    /// Any other source, with its own default distance.
    Other(u8),
}

impl Protocol {
    /// The conventional administrative distance: connected 0, static 1, eBGP 20,
    /// OSPF 110, RIP 120, iBGP 200; `Other(d)` is `d`.
    pub fn default_distance(self) -> u8 {
        match self {
            Protocol::Connected => 0,
            Protocol::Static => 1,
            Protocol::Ebgp => 20,
            Protocol::Ospf => 110,
            Protocol::Rip => 120,
            Protocol::Ibgp => 200,
            Protocol::Other(d) => d,
        }
    }
}

/// Who supplied a candidate route: a protocol and an instance of it (a BGP session,
/// an OSPF process, …). A [`Rib`] holds at most one candidate per source and prefix.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RibSource {
    /// The protocol.
    pub protocol: Protocol,
    /// The instance of the protocol.
    pub instance: u32,
}

impl RibSource {
    /// A source.
    pub fn new(protocol: Protocol, instance: u32) -> Self {
        RibSource { protocol, instance }
    }
}

/// One next hop of a route (`ip route … nexthop via GATEWAY dev IFINDEX weight W`).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FibNextHop {
    /// The gateway, if any (none for a connected route).
    pub gateway: Option<IpAddr>,
    /// The output interface index, if known.
    pub ifindex: Option<u32>,
    /// ECMP weight (1 = equal share).
    pub weight: u8,
}

impl FibNextHop {
    /// A next hop via `gateway`, weight 1.
    pub fn via(gateway: IpAddr) -> Self {
        FibNextHop {
            gateway: Some(gateway),
            ifindex: None,
            weight: 1,
        }
    }

    /// A next hop out of interface `ifindex` with no gateway, weight 1.
    pub fn dev(ifindex: u32) -> Self {
        FibNextHop {
            gateway: None,
            ifindex: Some(ifindex),
            weight: 1,
        }
    }
}

/// A candidate route for one prefix from one source.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Administrative distance: lower wins.
    pub distance: u8,
    /// Metric within the protocol: lower wins among equal distances.
    pub metric: u32,
    /// Next hops (several = ECMP within this source).
    pub next_hops: Vec<FibNextHop>,
}

impl Candidate {
    /// A route with the protocol's [default distance](Protocol::default_distance).
    pub fn new(protocol: Protocol, metric: u32, next_hops: Vec<FibNextHop>) -> Self {
        Candidate {
            distance: protocol.default_distance(),
            metric,
            next_hops,
        }
    }
}

/// The FIB entry for a prefix: the best candidates (lowest distance, then lowest
/// metric); several equal best candidates form an ECMP set.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FibRoute {
    /// Distance of the best candidates.
    pub distance: u8,
    /// Metric of the best candidates.
    pub metric: u32,
    /// The sources of the best candidates, in source order.
    pub sources: Vec<RibSource>,
    /// The next hops of all best candidates, in source order, without duplicates.
    pub next_hops: Vec<FibNextHop>,
}

/// A change of the best route of a prefix: what to mirror into a kernel table
/// (`ip route replace` when `new` is set, `ip route del` when it is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibChange<A: IpKey> {
    /// The prefix whose best route changed.
    pub prefix: Prefix<A>,
    /// The best route before (`None`: the prefix was not in the FIB).
    pub old: Option<FibRoute>,
    /// The best route after (`None`: the prefix left the FIB).
    pub new: Option<FibRoute>,
}

/// A routing information base: every candidate route per prefix, keyed by source, with
/// the FIB of best routes kept in step.
///
/// Each call that changes a prefix's best route returns a [`FibChange`]; calls that
/// leave it unchanged return `None`.
///
/// ```
/// use netplumb::lpm::{Candidate, FibNextHop, Protocol, Rib, RibSource};
/// use std::net::Ipv4Addr;
///
/// let mut rib = Rib::<Ipv4Addr>::new();
/// let p = "10.0.0.0/8".parse().unwrap();
/// let ospf = RibSource::new(Protocol::Ospf, 1);
/// let stat = RibSource::new(Protocol::Static, 0);
/// let gw = |s: &str| FibNextHop::via(s.parse().unwrap());
///
/// let c = rib.update(p, ospf, Candidate::new(Protocol::Ospf, 10, vec![gw("192.0.2.1")])).unwrap();
/// assert!(c.old.is_none());
/// // A static route (distance 1) beats OSPF (110):
/// let c = rib.update(p, stat, Candidate::new(Protocol::Static, 0, vec![gw("192.0.2.9")])).unwrap();
/// assert_eq!(c.new.unwrap().sources, [stat]);
/// // Withdrawing it falls back to OSPF:
/// let c = rib.withdraw(p, stat).unwrap();
/// assert_eq!(c.new.unwrap().sources, [ospf]);
/// assert_eq!(rib.lookup(Ipv4Addr::new(10, 1, 1, 1)).unwrap().metric, 10);
/// ```
#[derive(Clone)]
pub struct Rib<A: IpKey> {
    routes: BTreeMap<Prefix<A>, Vec<(RibSource, Candidate)>>,
    fib: PrefixMap<A, FibRoute>,
}

impl<A: IpKey> Default for Rib<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: IpKey> Rib<A> {
    /// An empty RIB.
    pub fn new() -> Self {
        Rib {
            routes: BTreeMap::new(),
            fib: PrefixMap::new(),
        }
    }

    /// The FIB: the best route of every prefix that has one.
    pub fn fib(&self) -> &PrefixMap<A, FibRoute> {
        &self.fib
    }

    /// The best route for `addr` by longest prefix match.
    pub fn lookup(&self, addr: A) -> Option<&FibRoute> {
        self.fib.lookup(addr)
    }

    /// The candidates for `prefix`, in source order.
    pub fn candidates(&self, prefix: &Prefix<A>) -> &[(RibSource, Candidate)] {
        self.routes.get(prefix).map_or(&[], |v| v.as_slice())
    }

    /// Number of prefixes with at least one candidate.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the RIB holds no candidate.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Adds or replaces the candidate of `source` for `prefix`. A RIP route with metric
    /// 16 or more (unreachable) withdraws the source's candidate instead.
    pub fn update(
        &mut self,
        prefix: Prefix<A>,
        source: RibSource,
        candidate: Candidate,
    ) -> Option<FibChange<A>> {
        if source.protocol == Protocol::Rip && candidate.metric >= 16 {
            return self.withdraw(prefix, source);
        }
        let cands = self.routes.entry(prefix).or_default();
        match cands.binary_search_by(|(s, _)| s.cmp(&source)) {
            Ok(i) => {
                if cands[i].1 == candidate {
                    return None;
                }
                cands[i].1 = candidate;
            }
            Err(i) => cands.insert(i, (source, candidate)),
        }
        self.reselect(prefix)
    }

    /// Removes the candidate of `source` for `prefix`; the next best takes over.
    pub fn withdraw(&mut self, prefix: Prefix<A>, source: RibSource) -> Option<FibChange<A>> {
        let cands = self.routes.get_mut(&prefix)?;
        let i = cands.binary_search_by(|(s, _)| s.cmp(&source)).ok()?;
        cands.remove(i);
        if cands.is_empty() {
            self.routes.remove(&prefix);
        }
        self.reselect(prefix)
    }

    /// Removes every candidate of `source` (a session went down), returning the FIB
    /// changes in prefix order.
    pub fn withdraw_source(&mut self, source: RibSource) -> Vec<FibChange<A>> {
        let hit: Vec<Prefix<A>> = self
            .routes
            .iter()
            .filter(|(_, c)| c.iter().any(|(s, _)| *s == source))
            .map(|(p, _)| *p)
            .collect();
        hit.into_iter()
            .filter_map(|p| self.withdraw(p, source))
            .collect()
    }

    fn best(cands: &[(RibSource, Candidate)]) -> Option<FibRoute> {
        let (distance, metric) = cands.iter().map(|(_, r)| (r.distance, r.metric)).min()?;
        let mut sources = Vec::new();
        let mut next_hops: Vec<FibNextHop> = Vec::new();
        for (s, r) in cands {
            if (r.distance, r.metric) == (distance, metric) {
                sources.push(*s);
                for nh in &r.next_hops {
                    if !next_hops.contains(nh) {
                        next_hops.push(*nh);
                    }
                }
            }
        }
        Some(FibRoute {
            distance,
            metric,
            sources,
            next_hops,
        })
    }

    fn reselect(&mut self, prefix: Prefix<A>) -> Option<FibChange<A>> {
        let new = self.routes.get(&prefix).and_then(|c| Self::best(c));
        if self.fib.get(&prefix) == new.as_ref() {
            return None;
        }
        let old = match &new {
            Some(n) => self.fib.insert(prefix, n.clone()),
            None => self.fib.remove(&prefix),
        };
        Some(FibChange { prefix, old, new })
    }
}

impl<A: IpKey> Rib<A> {
    /// Every candidate as `(prefix, source, candidate)`, in prefix order and, per prefix, in
    /// source order: what [`FromIterator`] / [`Extend`] take back.
    pub fn iter(&self) -> RibIter<'_, A> {
        RibIter {
            routes: self.routes.iter(),
            cur: None,
            left: self.candidate_count(),
        }
    }

    /// Number of candidates over all prefixes.
    fn candidate_count(&self) -> usize {
        self.routes.values().map(Vec::len).sum()
    }
}

/// One prefix's candidates, in source order.
type Candidates = Vec<(RibSource, Candidate)>;
/// A prefix and the rest of its candidates, being walked.
type Walk<A, I> = Option<(Prefix<A>, I)>;

/// The candidates of a [`Rib`] by reference; see [`Rib::iter`].
pub struct RibIter<'a, A: IpKey> {
    routes: std::collections::btree_map::Iter<'a, Prefix<A>, Candidates>,
    cur: Walk<A, std::slice::Iter<'a, (RibSource, Candidate)>>,
    left: usize,
}

impl<'a, A: IpKey> Iterator for RibIter<'a, A> {
    type Item = (Prefix<A>, RibSource, &'a Candidate);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((p, it)) = &mut self.cur {
                if let Some((s, c)) = it.next() {
                    self.left -= 1;
                    return Some((*p, *s, c));
                }
            }
            let (p, cands) = self.routes.next()?;
            self.cur = Some((*p, cands.iter()));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<A: IpKey> ExactSizeIterator for RibIter<'_, A> {}
impl<A: IpKey> std::iter::FusedIterator for RibIter<'_, A> {}

impl<'a, A: IpKey> IntoIterator for &'a Rib<A> {
    type Item = (Prefix<A>, RibSource, &'a Candidate);
    type IntoIter = RibIter<'a, A>;

    fn into_iter(self) -> RibIter<'a, A> {
        self.iter()
    }
}

/// The candidates of a [`Rib`] moved out as `(prefix, source, candidate)`, in the order of
/// [`Rib::iter`]; from `Rib::into_iter`.
pub struct RibIntoIter<A: IpKey> {
    routes: std::collections::btree_map::IntoIter<Prefix<A>, Candidates>,
    cur: Walk<A, std::vec::IntoIter<(RibSource, Candidate)>>,
    left: usize,
}

impl<A: IpKey> Iterator for RibIntoIter<A> {
    type Item = (Prefix<A>, RibSource, Candidate);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((p, it)) = &mut self.cur {
                if let Some((s, c)) = it.next() {
                    self.left -= 1;
                    return Some((*p, s, c));
                }
            }
            let (p, cands) = self.routes.next()?;
            self.cur = Some((p, cands.into_iter()));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<A: IpKey> ExactSizeIterator for RibIntoIter<A> {}
impl<A: IpKey> std::iter::FusedIterator for RibIntoIter<A> {}

impl<A: IpKey> IntoIterator for Rib<A> {
    type Item = (Prefix<A>, RibSource, Candidate);
    type IntoIter = RibIntoIter<A>;

    fn into_iter(self) -> RibIntoIter<A> {
        let left = self.candidate_count();
        RibIntoIter {
            routes: self.routes.into_iter(),
            cur: None,
            left,
        }
    }
}

impl<A: IpKey> Extend<(Prefix<A>, RibSource, Candidate)> for Rib<A> {
    /// [`update`](Rib::update)s with every candidate, in order (a later candidate of the same
    /// prefix and source replaces an earlier one); the [`FibChange`]s are not reported.
    fn extend<I: IntoIterator<Item = (Prefix<A>, RibSource, Candidate)>>(&mut self, iter: I) {
        for (p, s, c) in iter {
            self.update(p, s, c);
        }
    }
}

impl<A: IpKey> FromIterator<(Prefix<A>, RibSource, Candidate)> for Rib<A> {
    /// A RIB of every candidate, as [`Extend`] adds them.
    fn from_iter<I: IntoIterator<Item = (Prefix<A>, RibSource, Candidate)>>(iter: I) -> Self {
        let mut rib = Rib::new();
        rib.extend(iter);
        rib
    }
}
