//! BIRD (the routing daemon calico runs on every node) inside a lab's namespaces, and a watch
//! over the kernels' route tables that tells when what BIRD installs has converged.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netplumb::link::LinkFlags;
use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions, MonitorStop};
use netplumb::route::{Route, RouteProtocol, RouteScope};
use netplumb::{IfIndex, NetNs, TableId};

use crate::{Lab, Result};

/// The BIRD version installed, from `bird --version` (`2.0.12`), or an error that says how to
/// install it.
pub fn bird_version() -> Result<String> {
    let out = Command::new("bird")
        .arg("--version")
        .output()
        .map_err(|e| {
            format!(
                "cannot run bird ({e}): install BIRD 2 (Debian and Ubuntu: apt-get install bird2)"
            )
        })?;
    // BIRD prints its version on stderr.
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .ok_or_else(|| format!("bird --version said {:?}", text.trim()))?;
    if !version.starts_with('2') {
        return Err(format!("BIRD {version} is installed; the examples need BIRD 2").into());
    }
    Ok(version.to_string())
}

/// One BIRD daemon running in the foreground (`bird -f`) inside a lab namespace, with its
/// configuration, control socket and log in the lab's work directory. Dropping it stops it
/// (SIGTERM, then SIGKILL after 3 s) and reaps it, unless the lab is kept (then it keeps
/// running for a look with `birdc`); the lab lists it, so that a run that is killed or kept
/// leaves it to the next run's sweep.
pub struct Bird {
    name: String,
    keep: bool,
    child: Child,
    control: PathBuf,
    log: PathBuf,
}

impl Bird {
    /// Writes `config` to `WORKDIR/NAME.conf` and starts `bird -f -c … -s NAME.ctl -P NAME.pid`
    /// in the lab's namespace `ns` (the short name given to [`Lab::netns`]), its output going to
    /// `NAME.log`. Returns once the control socket answers, or with the log's text when BIRD
    /// exits first (a configuration error, say) or is not ready within 10 s.
    pub fn start(lab: &mut Lab, ns: &str, name: &str, config: &str) -> Result<Bird> {
        let dir = lab.workdir()?;
        let conf = dir.join(format!("{name}.conf"));
        let control = dir.join(format!("{name}.ctl"));
        let log = dir.join(format!("{name}.log"));
        fs::write(&conf, config).map_err(|e| format!("write {}: {e}", conf.display()))?;
        let out = fs::File::create(&log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", &lab.name(ns), "bird", "-f", "-c"])
            .arg(&conf)
            .arg("-s")
            .arg(&control)
            .arg("-P")
            .arg(dir.join(format!("{name}.pid")))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("start bird in {}: {e}", lab.name(ns)))?;
        // `ip netns exec` execs bird in the same process, so this pid is bird's.
        let pid = child.id();
        let mut bird = Bird {
            name: name.to_string(),
            keep: lab.is_kept(),
            child,
            control,
            log,
        };
        lab.adopt_process(pid)
            .map_err(|e| format!("{name}: {e}; its log: {}", bird.log_text()))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = bird.child.try_wait()? {
                return Err(format!(
                    "bird {name} exited ({status}) at start: {}",
                    bird.log_text().trim()
                )
                .into());
            }
            if UnixStream::connect(&bird.control).is_ok() {
                return Ok(bird);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "bird {name}: no control socket after 10 s: {}",
                    bird.log_text().trim()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The name it was started with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks it something over its control socket: `birdc -s CTL COMMAND` (`show protocols`,
    /// `show route`), and returns the answer.
    pub fn birdc(&self, command: &str) -> Result<String> {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(&self.control)
            .args(command.split_whitespace())
            .output()
            .map_err(|e| format!("birdc: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "birdc {command}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// What it has logged so far.
    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it (SIGTERM; SIGKILL when it has not exited after 3 s) and reaps it, kept lab or
    /// not.
    pub fn stop(mut self) {
        self.halt();
        self.keep = true; // nothing left for drop to do
    }

    /// Where its control socket is.
    pub fn control_socket(&self) -> &std::path::Path {
        &self.control
    }

    /// SIGTERM, up to 3 s to exit, then SIGKILL; reaped through the `Child` alone, so that no
    /// other wait can take its status (or a later process's with the same pid).
    fn halt(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        if !self.keep {
            self.halt();
        }
    }
}

/// Routes by what tells them apart in a kernel table: table, destination, TOS, metric.
pub type RouteTable = BTreeMap<(TableId, IpNetwork, u8, u32), Route>;

/// The IPv4 routes of several namespaces, each kept up to date by a netplumb [`Monitor`] on a
/// thread of its own (`ip monitor route`), so that a caller can wait for a state of all of them
/// without polling.
pub struct RouteWatch {
    names: Vec<String>,
    events: Receiver<(usize, Instant, Event)>,
    stops: Vec<MonitorStop>,
    threads: Vec<JoinHandle<()>>,
    tables: Vec<RouteTable>,
    /// Each namespace's links that are administratively down (or gone).
    down: Vec<BTreeSet<IfIndex>>,
    synced: Vec<bool>,
    /// Route events received after the snapshots, all namespaces together.
    pub events_seen: usize,
}

impl RouteWatch {
    /// Starts a monitor of IPv4 routes in each namespace (with a snapshot of the routes already
    /// there) and returns once every snapshot is in.
    ///
    /// It also watches links: when a link goes down (or away), the kernel flushes the IPv4
    /// routes whose every next hop uses it without sending `RTM_DELROUTE` for them, so the
    /// watch drops them itself, as routing daemons do.
    pub fn start(namespaces: &[(&str, &NetNs)]) -> Result<RouteWatch> {
        let (tx, rx) = mpsc::channel();
        let mut watch = RouteWatch {
            names: namespaces.iter().map(|(n, _)| n.to_string()).collect(),
            events: rx,
            stops: Vec::new(),
            threads: Vec::new(),
            tables: vec![RouteTable::new(); namespaces.len()],
            down: vec![BTreeSet::new(); namespaces.len()],
            synced: vec![false; namespaces.len()],
            events_seen: 0,
        };
        for (i, (name, ns)) in namespaces.iter().enumerate() {
            let mut monitor = Monitor::new_in(
                ns,
                &MonitorOptions {
                    groups: Groups::ROUTE_V4 | Groups::LINK,
                    snapshot: true,
                    recv_buffer: Some(4 << 20),
                },
            )?;
            watch.stops.push(monitor.stopper()?);
            let tx = tx.clone();
            let thread = std::thread::Builder::new()
                .name(format!("watch {name}"))
                .spawn(move || loop {
                    match monitor.recv() {
                        Ok(event) => {
                            let overrun = matches!(event, Event::Overrun);
                            // Timed as it arrives, not when the main thread gets to it.
                            if tx.send((i, Instant::now(), event)).is_err() {
                                return;
                            }
                            // The view is stale: list the routes again (Added events, then
                            // SnapshotDone).
                            if overrun && monitor.resync().is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    }
                })?;
            watch.threads.push(thread);
        }
        while watch.synced.iter().any(|s| !s) {
            let (i, _, event) = watch
                .events
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| "route monitors: no snapshot within 10 s")?;
            watch.apply(i, event);
        }
        Ok(watch)
    }

    /// The routes namespace `i` holds now.
    pub fn table(&self, i: usize) -> &RouteTable {
        &self.tables[i]
    }

    /// The name namespace `i` was given.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    fn apply(&mut self, i: usize, event: Event) {
        match event {
            Event::Route(change) => {
                self.events_seen += usize::from(self.synced[i]);
                let removed = change.is_removed();
                let route = match change {
                    Change::Added(r) | Change::Changed(r) | Change::Removed(r) => r,
                };
                let key = (
                    route.table,
                    route.destination,
                    route.tos,
                    route.priority.unwrap_or(0),
                );
                if removed {
                    self.tables[i].remove(&key);
                } else {
                    self.tables[i].insert(key, route);
                }
            }
            Event::Link(change) => {
                let link = change.get();
                let down = change.is_removed() || !link.flags.contains(LinkFlags::UP);
                if !down {
                    self.down[i].remove(&link.index);
                } else if self.down[i].insert(link.index) {
                    let gone = &self.down[i];
                    // The addresses' own `local` routes (scope host) stay.
                    self.tables[i].retain(|_, r| {
                        r.next_hops.is_empty()
                            || r.scope == RouteScope::Host
                            || !r
                                .next_hops
                                .iter()
                                .all(|h| h.dev.is_some_and(|d| gone.contains(&d)))
                    });
                }
            }
            Event::Overrun => {
                self.tables[i].clear();
                self.down[i].clear();
                self.synced[i] = false;
            }
            Event::SnapshotDone => self.synced[i] = true,
            _ => {}
        }
    }

    /// Reads route events until `done(i, table)` holds for every namespace at the same time,
    /// and returns for each namespace how long after `since` the event arrived that made its
    /// condition true for the last time (its convergence time; zero if it held already). Fails
    /// after `timeout` naming the namespaces still waiting.
    pub fn wait_for(
        &mut self,
        since: Instant,
        timeout: Duration,
        mut done: impl FnMut(usize, &RouteTable) -> bool,
    ) -> Result<Vec<Duration>> {
        let deadline = Instant::now() + timeout;
        let mut at: Vec<Option<Duration>> = (0..self.tables.len())
            .map(|i| done(i, &self.tables[i]).then_some(Duration::ZERO))
            .collect();
        while at.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            let (i, arrived, event) = match self.events.recv_timeout(left) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    let waiting: Vec<&str> = at
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| t.is_none())
                        .map(|(i, _)| self.names[i].as_str())
                        .collect();
                    return Err(format!(
                        "not converged after {:.1} s: {}",
                        timeout.as_secs_f64(),
                        waiting.join(", ")
                    )
                    .into());
                }
                Err(RecvTimeoutError::Disconnected) => return Err("route monitors stopped".into()),
            };
            self.apply(i, event);
            let ok = self.synced[i] && done(i, &self.tables[i]);
            match (ok, at[i]) {
                (true, None) => at[i] = Some(arrived.saturating_duration_since(since)),
                (false, Some(_)) => at[i] = None,
                _ => {}
            }
        }
        Ok(at.into_iter().flatten().collect())
    }
}

impl Drop for RouteWatch {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.stop();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The routes BIRD installed in a table's main routing table (`ip route show proto bird`).
pub fn bird_routes(table: &RouteTable) -> impl Iterator<Item = &Route> {
    table
        .values()
        .filter(|r| r.table == TableId::MAIN && r.protocol == RouteProtocol::BIRD)
}
