//! A view of what the flannel agents put in each host's kernel, kept by netplumb monitors
//! (links, IPv4 addresses and routes, neighbours and FDB entries), so that a caller can wait
//! for a state of all hosts and time it without polling.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};
use netplumb::monitor::{Event, Groups, Monitor, MonitorOptions, MonitorStop};
use netplumb::route::NextHopFlags;
use netplumb::{IfIndex, MacAddr, NetNs, TableId};

use super::datapath::VtepLease;
use crate::Result;

/// What one host's kernel holds on its VXLAN device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostView {
    /// The device's index, once it exists.
    pub vtep: Option<IfIndex>,
    /// The device's IPv4 address (the host's subnet's network address), once the agent has
    /// its lease.
    pub own: Option<Ipv4Addr>,
    /// Neighbour entries with a MAC on the device.
    pub neighbours: BTreeMap<Ipv4Addr, MacAddr>,
    /// FDB entries with a remote on the device.
    pub fdb: BTreeMap<MacAddr, IpAddr>,
    /// Routes through the device with a gateway, and whether they are onlink.
    pub routes: BTreeMap<Ipv4Network, (Ipv4Addr, bool)>,
}

impl HostView {
    /// Whether all three of a lease's entries are in place, as flannel makes them.
    pub fn holds(&self, l: &VtepLease) -> bool {
        self.neighbours.get(&l.gateway()) == Some(&l.vtep_mac)
            && self.fdb.get(&l.vtep_mac) == Some(&IpAddr::V4(l.public_ip))
            && self.routes.get(&l.subnet) == Some(&(l.gateway(), true))
    }

    /// Whether none of a lease's entries is left.
    pub fn holds_none_of(&self, l: &VtepLease) -> bool {
        !self.neighbours.contains_key(&l.gateway())
            && !self.fdb.contains_key(&l.vtep_mac)
            && !self.routes.contains_key(&l.subnet)
    }

    /// Whether it holds exactly the entries of `leases`, nothing more.
    pub fn holds_exactly(&self, leases: &[VtepLease]) -> bool {
        leases.iter().all(|l| self.holds(l))
            && self.neighbours.len() == leases.len()
            && self.fdb.len() == leases.len()
            && self.routes.len() == leases.len()
    }

    fn apply(&mut self, dev: &str, event: Event) {
        match event {
            Event::Link(change) => {
                let link = change.get();
                if link.name == dev {
                    if change.is_removed() {
                        *self = HostView::default();
                    } else {
                        self.vtep = Some(link.index);
                    }
                }
            }
            Event::Address(change) => {
                let a = change.get();
                if Some(a.index) == self.vtep {
                    if let IpAddr::V4(ip) = a.address.ip() {
                        if change.is_removed() {
                            if self.own == Some(ip) {
                                self.own = None;
                            }
                        } else {
                            self.own = Some(ip);
                        }
                    }
                }
            }
            Event::Neighbour(change) => {
                let n = change.get();
                if let (true, IpAddr::V4(ip)) = (Some(n.link) == self.vtep, n.address) {
                    // A removal need not carry the MAC.
                    match n.mac.filter(|_| !change.is_removed()) {
                        Some(mac) => self.neighbours.insert(ip, mac),
                        None => self.neighbours.remove(&ip),
                    };
                }
            }
            Event::Fdb(change) => {
                let e = change.get();
                if Some(e.link) == self.vtep {
                    // Linux 6.1 follows the VXLAN driver's notice of a new entry (with its
                    // remote) by a generic one without it: only a removal removes.
                    if change.is_removed() {
                        self.fdb.remove(&e.mac);
                    } else if let Some(dst) = e.dst {
                        self.fdb.insert(e.mac, dst);
                    }
                }
            }
            Event::Route(change) => {
                let r = change.get();
                let (IpNetwork::V4(dst), Some(hop)) = (r.destination, r.next_hops.first()) else {
                    return;
                };
                if r.table != TableId::MAIN || hop.dev.is_none() || hop.dev != self.vtep {
                    return;
                }
                if let Some(IpAddr::V4(gw)) = hop.gateway {
                    if change.is_removed() {
                        self.routes.remove(&dst);
                    } else {
                        let onlink = hop.flags.contains(NextHopFlags::ONLINK);
                        self.routes.insert(dst, (gw, onlink));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The [`HostView`]s of several hosts, each kept by a monitor on a thread of its own.
pub struct OverlayWatch {
    dev: String,
    names: Vec<String>,
    events: Receiver<(usize, Instant, Event)>,
    stops: Vec<MonitorStop>,
    threads: Vec<JoinHandle<()>>,
    views: Vec<HostView>,
    synced: Vec<bool>,
    /// When the last event of each host arrived.
    changed: Vec<Instant>,
}

impl OverlayWatch {
    /// Starts a monitor in each namespace (with a snapshot of what is there) for the VXLAN
    /// device `dev`, and returns once every snapshot is in.
    pub fn start(namespaces: &[(&str, &NetNs)], dev: &str) -> Result<OverlayWatch> {
        let (tx, rx) = mpsc::channel();
        let mut watch = OverlayWatch {
            dev: dev.to_string(),
            names: namespaces.iter().map(|(n, _)| n.to_string()).collect(),
            events: rx,
            stops: Vec::new(),
            threads: Vec::new(),
            views: vec![HostView::default(); namespaces.len()],
            synced: vec![false; namespaces.len()],
            changed: vec![Instant::now(); namespaces.len()],
        };
        for (i, (name, ns)) in namespaces.iter().enumerate() {
            let mut monitor = Monitor::new_in(
                ns,
                &MonitorOptions {
                    groups: Groups::LINK | Groups::ADDRESS_V4 | Groups::ROUTE_V4 | Groups::NEIGH,
                    snapshot: true,
                    recv_buffer: Some(4 << 20),
                },
            )?;
            watch.stops.push(monitor.stopper()?);
            let tx = tx.clone();
            watch.threads.push(
                std::thread::Builder::new()
                    .name(format!("overlay {name}"))
                    .spawn(move || loop {
                        match monitor.recv() {
                            Ok(event) => {
                                let overrun = matches!(event, Event::Overrun);
                                if tx.send((i, Instant::now(), event)).is_err() {
                                    return;
                                }
                                if overrun && monitor.resync().is_err() {
                                    return;
                                }
                            }
                            Err(_) => return,
                        }
                    })?,
            );
        }
        while watch.synced.iter().any(|s| !s) {
            let (i, arrived, event) = watch
                .events
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| "overlay monitors: no snapshot within 10 s")?;
            watch.apply(i, arrived, event);
        }
        Ok(watch)
    }

    fn apply(&mut self, i: usize, arrived: Instant, event: Event) {
        self.changed[i] = arrived;
        match event {
            Event::SnapshotDone => self.synced[i] = true,
            Event::Overrun => {
                self.views[i] = HostView::default();
                self.synced[i] = false;
            }
            e => self.views[i].apply(&self.dev, e),
        }
    }

    /// What host `i` holds now.
    pub fn view(&self, i: usize) -> &HostView {
        &self.views[i]
    }

    /// Reads events until `done(i, view)` holds for every host at once, and returns for each
    /// host how long after `since` the event arrived that made it hold for the last time (when
    /// it held already: since its last event, or zero if that came before `since`). Fails after
    /// `timeout`, naming the hosts still waiting and what they hold.
    pub fn wait_for(
        &mut self,
        since: Instant,
        timeout: Duration,
        mut done: impl FnMut(usize, &HostView) -> bool,
    ) -> Result<Vec<Duration>> {
        let deadline = Instant::now() + timeout;
        let mut at: Vec<Option<Duration>> = (0..self.views.len())
            .map(|i| {
                done(i, &self.views[i]).then(|| self.changed[i].saturating_duration_since(since))
            })
            .collect();
        while at.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            let (i, arrived, event) = match self.events.recv_timeout(left) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    let waiting: Vec<String> = at
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| t.is_none())
                        .map(|(i, _)| {
                            let v = &self.views[i];
                            format!(
                                "{} (holds {} neighbours, {} fdb, {} routes)",
                                self.names[i],
                                v.neighbours.len(),
                                v.fdb.len(),
                                v.routes.len()
                            )
                        })
                        .collect();
                    return Err(format!(
                        "not converged after {:.1} s: {}",
                        timeout.as_secs_f64(),
                        waiting.join(", ")
                    )
                    .into());
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("overlay monitors stopped".into())
                }
            };
            self.apply(i, arrived, event);
            let ok = self.synced[i] && done(i, &self.views[i]);
            match (ok, at[i]) {
                (true, None) => at[i] = Some(arrived.saturating_duration_since(since)),
                (false, Some(_)) => at[i] = None,
                _ => {}
            }
        }
        Ok(at.into_iter().flatten().collect())
    }
}

impl OverlayWatch {
    /// Reads events for `duration` and fails, saying which host and when, as soon as
    /// `holds(i, view)` stops holding for a host (it must hold at the start).
    pub fn hold_for(
        &mut self,
        duration: Duration,
        mut holds: impl FnMut(usize, &HostView) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        for (i, v) in self.views.iter().enumerate() {
            if !holds(i, v) {
                return Err(format!("{}: does not hold at the start: {v:?}", self.names[i]).into());
            }
        }
        loop {
            let left = (start + duration).saturating_duration_since(Instant::now());
            let (i, arrived, event) = match self.events.recv_timeout(left) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => return Ok(()),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("overlay monitors stopped".into())
                }
            };
            self.apply(i, arrived, event);
            if self.synced[i] && !holds(i, &self.views[i]) {
                return Err(format!(
                    "{}: stopped holding after {:.2} s: {:?}",
                    self.names[i],
                    arrived.saturating_duration_since(start).as_secs_f64(),
                    self.views[i]
                )
                .into());
            }
        }
    }
}

impl Drop for OverlayWatch {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.stop();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
