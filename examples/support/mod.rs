//! What the whole-job examples share (and the tests that run them, which include the example
//! files as modules): named namespaces that are removed again whatever happens, sysctls set
//! inside a namespace, and UDP echo between namespaces.
//!
//! Not an example of its own: cargo only builds `examples/*.rs` and `examples/*/main.rs`.
#![allow(dead_code)]

pub mod bird;
pub mod calico;

use std::error::Error as StdError;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netplumb::NetNs;

/// The examples' error type: anything, with a message that says what failed.
pub type BoxError = Box<dyn StdError + Send + Sync>;
/// The examples' result type.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// Where each lab lists the namespaces it created (one file per prefix: the owner's pid, then
/// a name a line), so that a later run with the same prefix deletes exactly those after a run
/// that was killed, and never a namespace of someone else's that happens to share the prefix.
pub const LEDGER_DIR: &str = "/run/netplumb-examples";

/// The work directory of the lab with `prefix`: `$TMPDIR/netplumb-PREFIX`.
pub fn workdir_path(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("netplumb-{prefix}"))
}

fn ledger_path(prefix: &str) -> PathBuf {
    Path::new(LEDGER_DIR).join(prefix)
}

/// The named namespaces one run of an example creates, all starting with one prefix (so that
/// `ip netns list` shows whose they are and tests can run two examples side by side). Dropping
/// the lab deletes them, also after a failure or a panic, and deleting a namespace removes every
/// link inside it.
pub struct Lab {
    prefix: String,
    created: Vec<String>,
    workdir: Option<PathBuf>,
    processes: Vec<(u32, u64)>,
    keep: bool,
    quiet: bool,
}

impl Lab {
    /// A lab whose namespaces are named `PREFIX-…`. Namespaces that an earlier run with this
    /// prefix created and could not delete (it was killed, or kept them) are deleted first, and
    /// named; a run with this prefix that is still going is an error.
    pub fn new(prefix: &str) -> Result<Lab> {
        if prefix.is_empty() || prefix.contains('/') || prefix.starts_with('.') {
            return Err(format!("bad namespace prefix {prefix:?}").into());
        }
        let ledger = ledger_path(prefix);
        if let Ok(text) = fs::read_to_string(&ledger) {
            let mut lines = text.lines();
            let owner: Option<u32> = lines
                .next()
                .and_then(|l| l.strip_prefix("pid ")?.parse().ok());
            if let Some(pid) = owner {
                if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
                    return Err(format!(
                        "another run (pid {pid}) is using the namespace prefix {prefix:?}; \
                         choose another with --prefix"
                    )
                    .into());
                }
            }
            sweep(prefix)?;
        }
        write_ledger(&ledger)?;
        Ok(Lab {
            prefix: prefix.to_string(),
            created: Vec::new(),
            workdir: None,
            processes: Vec::new(),
            keep: false,
            quiet: false,
        })
    }

    /// Keeps the namespaces when the lab is dropped (for a look with `ip netns exec`); the
    /// next run with the same prefix, or [`sweep`], deletes them.
    pub fn keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Whether the lab is kept when dropped.
    pub fn is_kept(&self) -> bool {
        self.keep
    }

    /// Deletes without printing a line per namespace.
    pub fn quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// The full name of the lab's namespace `short`.
    pub fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    /// Appends a line to the lab's ledger.
    fn list(&self, line: &str) -> Result<()> {
        let mut ledger = OpenOptions::new()
            .append(true)
            .open(ledger_path(&self.prefix))?;
        writeln!(ledger, "{line}")?;
        Ok(())
    }

    /// Creates the named namespace `PREFIX-short` (`ip netns add`), with its loopback up.
    pub fn netns(&mut self, short: &str) -> Result<NetNs> {
        let name = self.name(short);
        // Listed before it exists, so that no kill can leave it unlisted.
        self.list(&name)?;
        let ns = NetNs::create(&name).map_err(|e| format!("ip netns add {name}: {e}"))?;
        self.created.push(name);
        netplumb::Handle::new_in(&ns)?.set_link_up("lo")?;
        Ok(ns)
    }

    /// The names of the namespaces this lab created and has not deleted yet.
    pub fn namespaces(&self) -> &[String] {
        &self.created
    }

    /// The lab's own directory for files that programs it runs need (configurations, sockets,
    /// logs): [`workdir_path`], made on the first call, removed with the lab. A directory of
    /// that name that no ledger lists is someone else's: then this is an error.
    pub fn workdir(&mut self) -> Result<PathBuf> {
        if let Some(dir) = &self.workdir {
            return Ok(dir.clone());
        }
        let dir = workdir_path(&self.prefix);
        // A unix socket's path has at most 107 bytes; BIRD's would be DIR/NAME.ctl.
        if dir.as_os_str().len() > 80 {
            return Err(format!(
                "{}: too long for the control sockets inside it (unix socket paths have at \
                 most 107 bytes); set a shorter TMPDIR or --prefix",
                dir.display()
            )
            .into());
        }
        if dir.exists() {
            return Err(format!(
                "{} exists and no run with this prefix listed it; remove it or choose another \
                 --prefix",
                dir.display()
            )
            .into());
        }
        self.list(&format!("dir {}", dir.display()))?;
        fs::create_dir(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        self.workdir = Some(dir.clone());
        Ok(dir)
    }

    /// Lists a process this lab started (a daemon inside one of its namespaces), so that the
    /// lab, or a later run's sweep after a kill, stops it. Processes are told apart from a
    /// later process with the same pid by their start time.
    pub fn adopt_process(&mut self, pid: u32) -> Result<()> {
        let start =
            process_start_time(pid).ok_or_else(|| format!("process {pid} is gone already"))?;
        self.list(&format!("proc {pid} {start}"))?;
        self.processes.push((pid, start));
        Ok(())
    }

    /// Deletes every namespace of the lab now (after stopping the processes it started and
    /// before removing its directory), and says how many namespaces there were.
    pub fn teardown(&mut self) -> Result<usize> {
        let mut first_error = None;
        for (pid, start) in self.processes.drain(..) {
            stop_process(pid, start);
        }
        let n = self.created.len();
        for name in self.created.drain(..).rev() {
            if let Err(e) = NetNs::delete(&name) {
                first_error.get_or_insert(format!("ip netns delete {name}: {e}"));
            }
        }
        if let Some(dir) = self.workdir.take() {
            if let Err(e) = fs::remove_dir_all(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    first_error.get_or_insert(format!("remove {}: {e}", dir.display()));
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => {
                remove_ledger(&ledger_path(&self.prefix))?;
                Ok(n)
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            if !self.created.is_empty() {
                println!(
                    "kept {} namespaces: {} (the next run with this prefix deletes them)",
                    self.created.len(),
                    self.created.join(" ")
                );
            }
            if let Some(dir) = &self.workdir {
                println!(
                    "kept {} processes and {} (the next run with this prefix stops and removes them)",
                    self.processes.len(),
                    dir.display()
                );
            }
            return;
        }
        match self.teardown() {
            Ok(0) => {}
            Ok(n) if !self.quiet => println!("deleted {n} namespaces ({}-*)", self.prefix),
            Ok(_) => {}
            Err(e) => eprintln!("cleanup: {e}"),
        }
    }
}

/// Deletes the namespaces that runs with `prefix` listed and left (killed, failed with
/// `keep`, or kept), after stopping the processes they listed and before removing their
/// directory, then the list itself; says how many namespaces went. Namespaces, processes and
/// directories the list does not name are never touched.
pub fn sweep(prefix: &str) -> Result<usize> {
    let ledger = ledger_path(prefix);
    let text = match fs::read_to_string(&ledger) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("read {}: {e}", ledger.display()).into()),
    };
    let lines: Vec<&str> = text.lines().skip(1).collect();
    for line in &lines {
        let Some(rest) = line.strip_prefix("proc ") else {
            continue;
        };
        let mut parts = rest.split(' ').map(str::parse::<u64>);
        if let (Some(Ok(pid)), Some(Ok(start))) = (parts.next(), parts.next()) {
            let pid = u32::try_from(pid).map_err(|_| format!("bad ledger line {line:?}"))?;
            if stop_process(pid, start) {
                eprintln!("stopped process {pid}, left by an earlier run");
            }
        }
    }
    let existing = NetNs::list()?;
    let mut n = 0;
    for name in lines.iter().copied().filter(|l| !l.contains(' ')) {
        if existing.iter().any(|e| e == name) {
            NetNs::delete(name).map_err(|e| format!("ip netns delete {name}: {e}"))?;
            eprintln!("deleted netns {name}, left by an earlier run");
            n += 1;
        }
    }
    for dir in lines.iter().filter_map(|l| l.strip_prefix("dir ")) {
        match fs::remove_dir_all(dir) {
            Ok(()) => eprintln!("removed {dir}, left by an earlier run"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("remove {dir}: {e}").into()),
        }
    }
    remove_ledger(&ledger)?;
    Ok(n)
}

/// The state letter (`R`, `S`, `Z`, …) of process `pid` and when it started (field 22 of
/// `/proc/PID/stat`, clock ticks after boot), if there is such a process (a zombie included).
fn process_stat(pid: u32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    Some((
        fields.first()?.chars().next()?,
        fields.get(19)?.parse().ok()?,
    ))
}

/// When process `pid` started, if it is running (an exited, unreaped child is not).
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    process_stat(pid)
        .filter(|(state, _)| *state != 'Z')
        .map(|(_, start)| start)
}

/// Stops process `pid` if it is still the one that started at `start`: SIGTERM, up to 3 s to
/// exit, then SIGKILL and up to 5 s more. Reaps it only once it is a zombie with that start
/// time (when it is our child; for another's the wait fails and changes nothing), so no other
/// process's status is ever taken. Says whether it was running.
pub(crate) fn stop_process(pid: u32, start: u64) -> bool {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let id = nix::unistd::Pid::from_raw(pid as i32);
    // Running (Some(true)), exited but unreaped (Some(false)), or gone / another process.
    let ours = || match process_stat(pid) {
        Some((state, s)) if s == start => Some(state != 'Z'),
        _ => None,
    };
    let gone = || match ours() {
        Some(true) => false,
        Some(false) => {
            let _ = waitpid(id, Some(WaitPidFlag::WNOHANG));
            true
        }
        None => true,
    };
    if ours() != Some(true) {
        gone();
        return false;
    }
    for (signal, wait) in [(Signal::SIGTERM, 3), (Signal::SIGKILL, 5)] {
        let _ = kill(id, signal);
        let deadline = Instant::now() + Duration::from_secs(wait);
        while Instant::now() < deadline {
            if gone() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    eprintln!("process {pid} does not exit even after SIGKILL; left as it is");
    true
}

/// Starts a ledger owned by this process. The directory may vanish under a lab of another
/// thread that removed it as empty a moment ago: then it is made again.
fn write_ledger(ledger: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        fs::create_dir_all(LEDGER_DIR).map_err(|e| format!("create {LEDGER_DIR}: {e}"))?;
        match fs::write(ledger, format!("pid {}\n", std::process::id())) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 5 => tries += 1,
            r => return r.map_err(|e| format!("write {}: {e}", ledger.display()).into()),
        }
    }
}

/// Removes a ledger, and the directory once no ledger is left in it.
fn remove_ledger(ledger: &Path) -> Result<()> {
    match fs::remove_file(ledger) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("remove {}: {e}", ledger.display()).into())
        }
        _ => {}
    }
    // Fails while other ledgers are there, as it should.
    let _ = fs::remove_dir(LEDGER_DIR);
    Ok(())
}

/// Writes `value` to `/proc/sys/KEY` inside `ns`: `ip netns exec NS sysctl -w KEY=VALUE`. KEY
/// is dotted (`net.ipv4.ip_forward`) or, when it names a device whose name has a dot
/// (`flannel.1`), a path (`net/ipv4/conf/flannel.1/proxy_arp`). The `net.*` tree is per
/// namespace, so this changes nothing outside `ns`.
pub fn sysctl(ns: &NetNs, key: &str, value: &str) -> Result<()> {
    let path = if key.contains('/') {
        format!("/proc/sys/{key}")
    } else {
        format!("/proc/sys/{}", key.replace('.', "/"))
    };
    ns.run(|| std::fs::write(&path, value))?
        .map_err(|e| format!("sysctl -w {key}={value}: {e}"))?;
    Ok(())
}

/// A UDP echo server bound inside a namespace, answering on its own thread until dropped.
pub struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Binds `addr` inside `ns` and echoes every datagram back to its sender.
    pub fn start(ns: &NetNs, addr: SocketAddr) -> Result<EchoServer> {
        let socket = ns
            .run(|| UdpSocket::bind(addr))?
            .map_err(|e| format!("bind {addr}: {e}"))?;
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("echo {addr}"))
            .spawn(move || {
                let mut buf = [0u8; 2048];
                while !flag.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = socket.recv_from(&mut buf) {
                        let _ = socket.send_to(&buf[..n], from);
                    }
                }
            })?;
        Ok(EchoServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How one echo went.
#[derive(Clone, Debug)]
pub struct Echo {
    /// Datagrams sent until one came back (the first ones may be lost while addresses are
    /// resolved, or while an agent answers a miss).
    pub attempts: u32,
    /// Round trip of the datagram that came back.
    pub rtt: Duration,
}

/// Sends a datagram from `from` (an address inside `ns`) to `to` and waits for it to come back,
/// retrying every `wait` up to `attempts` times. The reply must come from `to` and carry the
/// same bytes.
pub fn udp_echo(
    ns: &NetNs,
    from: IpAddr,
    to: SocketAddr,
    attempts: u32,
    wait: Duration,
) -> Result<Echo> {
    let socket = ns
        .run(|| UdpSocket::bind(SocketAddr::new(from, 0)))?
        .map_err(|e| format!("bind {from}: {e}"))?;
    socket.set_read_timeout(Some(wait))?;
    let mut buf = [0u8; 2048];
    for attempt in 1..=attempts {
        let message = format!("echo {attempt} from {from} to {to}");
        let sent = Instant::now();
        socket.send_to(message.as_bytes(), to)?;
        let deadline = sent + wait;
        // Late replies to earlier attempts are read and ignored.
        while Instant::now() < deadline {
            match socket.recv_from(&mut buf) {
                Ok((n, peer)) if peer == to && &buf[..n] == message.as_bytes() => {
                    return Ok(Echo {
                        attempts: attempt,
                        rtt: sent.elapsed(),
                    });
                }
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(format!("echo {from} -> {to}: {e}").into()),
            }
        }
    }
    Err(format!("echo {from} -> {to}: no answer to {attempts} datagrams").into())
}

/// Parses `--name VALUE` style options shared by the examples: returns the value after `flag`,
/// parsed, or `default` when the flag is absent.
pub fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match args.iter().position(|a| a == flag) {
        None => Ok(default),
        Some(i) => {
            let v = args
                .get(i + 1)
                .ok_or_else(|| format!("{flag} needs a value"))?;
            v.parse().map_err(|e| format!("{flag} {v}: {e}").into())
        }
    }
}

/// The end of an example's `main`: its one-line summary on stdout and success, or
/// "`name` failed: …" on stderr and failure.
pub fn finish(name: &str, result: Result<impl std::fmt::Display>) -> std::process::ExitCode {
    match result {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name} failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether the bare flag `flag` was given.
pub fn flag(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| a == flag)
}

/// Refuses arguments the example does not know: `valued` lists the flags that take a value,
/// `bare` those that do not. `usage` is printed with the error.
pub fn check_args(args: &[String], valued: &[&str], bare: &[&str], usage: &str) -> Result<()> {
    let mut i = 0;
    let mut seen: Vec<&str> = Vec::new();
    while i < args.len() {
        let a = args[i].as_str();
        if a == "-h" || a == "--help" {
            println!("{usage}");
            std::process::exit(0);
        }
        if seen.contains(&a) {
            return Err(format!("{a} given twice\n{usage}").into());
        }
        seen.push(a);
        if valued.contains(&a) {
            if i + 1 >= args.len() {
                return Err(format!("{a} needs a value\n{usage}").into());
            }
            i += 2;
        } else if bare.contains(&a) {
            i += 1;
        } else {
            return Err(format!("unknown argument {a:?}\n{usage}").into());
        }
    }
    Ok(())
}

/// A pod (or any endpoint) in an [`EchoMatrix`]: its name, the host it lives on, its
/// namespace and its address.
pub struct Endpoint<'a> {
    /// Shown in the table.
    pub name: &'a str,
    /// Endpoints echo only to endpoints of other hosts.
    pub host: u8,
    /// Where its sockets are opened.
    pub ns: &'a NetNs,
    /// Its address.
    pub ip: IpAddr,
}

/// The echoes from every endpoint to every endpoint on another host, and how they went.
#[derive(Clone, Debug, Default)]
pub struct EchoMatrix {
    /// Echoes tried.
    pub tried: usize,
    /// Echoes answered.
    pub answered: usize,
    /// Echoes answered by their first datagram.
    pub first_try: usize,
    /// The most datagrams one answered echo needed.
    pub max_attempts: u32,
    /// One printable line per echo.
    pub rows: Vec<String>,
    /// Why the failed echoes failed.
    pub failures: Vec<String>,
}

impl EchoMatrix {
    /// Starts an echo server on `port` in every endpoint, then sends from every endpoint to
    /// every endpoint of another host (up to 20 datagrams, 250 ms apart, for each), and stops
    /// the servers again.
    pub fn run(endpoints: &[Endpoint<'_>], port: u16) -> Result<EchoMatrix> {
        let servers = endpoints
            .iter()
            .map(|e| EchoServer::start(e.ns, SocketAddr::new(e.ip, port)))
            .collect::<Result<Vec<_>>>()?;
        let mut m = EchoMatrix::default();
        for from in endpoints {
            for to in endpoints.iter().filter(|t| t.host != from.host) {
                m.tried += 1;
                let target = SocketAddr::new(to.ip, port);
                let start = format!(
                    "  {:<10} {:<12} -> {:<10} {:<12}",
                    from.name,
                    from.ip.to_string(),
                    to.name,
                    to.ip.to_string()
                );
                match udp_echo(from.ns, from.ip, target, 20, Duration::from_millis(250)) {
                    Ok(echo) => {
                        m.answered += 1;
                        m.first_try += usize::from(echo.attempts == 1);
                        m.max_attempts = m.max_attempts.max(echo.attempts);
                        m.rows.push(format!(
                            "{start} ok   {:>2} {:>8.3} ms",
                            echo.attempts,
                            echo.rtt.as_secs_f64() * 1e3
                        ));
                    }
                    Err(e) => {
                        m.rows.push(format!("{start} FAIL"));
                        m.failures.push(e.to_string());
                    }
                }
            }
        }
        drop(servers);
        Ok(m)
    }

    /// Prints the table under `title`.
    pub fn print(&self, title: &str) {
        println!("\n{title}:");
        println!("  from       address      -> to         address      got  tries      rtt");
        for r in &self.rows {
            println!("{r}");
        }
    }

    /// An error naming the first failure, when any echo failed.
    pub fn check(&self) -> Result<()> {
        match self.failures.first() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} of {} echoes failed; first: {first}",
                self.failures.len(),
                self.tried
            )
            .into()),
        }
    }
}

/// The underlay LAN the simulated hosts share: a bridge `br0` in a namespace of its own
/// (`PREFIX-underlay`), each host's `eth0` attached to it by veth, with the address
/// 192.168.100.H/24. With a router address, `br0` carries it and every host routes its
/// default through it.
pub struct Underlay {
    ns: NetNs,
    handle: netplumb::Handle,
    router: Option<std::net::Ipv4Addr>,
}

impl Underlay {
    /// The underlay's subnet: host H is 192.168.100.H.
    pub fn host_ip(host: u8) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(192, 168, 100, host)
    }

    /// Makes the underlay namespace and its bridge (with `router` on it, if given).
    pub fn new(lab: &mut Lab, router: Option<std::net::Ipv4Addr>) -> Result<Underlay> {
        let ns = lab.netns("underlay")?;
        let handle = netplumb::Handle::new_in(&ns)?;
        handle.add_bridge(&netplumb::link::NewBridge::new("br0"))?;
        if let Some(r) = router {
            handle.add_address("br0", &netplumb::addr::NewAddress::new(IpAddr::V4(r), 24)?)?;
        }
        handle.set_link_up("br0")?;
        Ok(Underlay { ns, handle, router })
    }

    /// Makes host `host`'s namespace `PREFIX-hostH` on the underlay: `eth0` up with
    /// 192.168.100.H/24 (its peer `uplinkH` on `br0`), IPv4 forwarding on, and the default
    /// route through the router if there is one.
    pub fn add_host(&self, lab: &mut Lab, host: u8) -> Result<(NetNs, netplumb::Handle)> {
        let ns = lab.netns(&format!("host{host}"))?;
        let h = netplumb::Handle::new_in(&ns)?;
        let uplink = format!("uplink{host}");
        let mut veth = netplumb::link::NewVeth::new(&uplink, "eth0");
        veth.peer.netns = Some(&ns);
        self.handle.add_veth(&veth)?;
        self.handle.set_link_master(uplink.as_str(), "br0")?;
        self.handle.set_link_up(uplink.as_str())?;
        let address = IpAddr::V4(Underlay::host_ip(host));
        h.add_address("eth0", &netplumb::addr::NewAddress::new(address, 24)?)?;
        h.set_link_up("eth0")?;
        if let Some(r) = self.router {
            h.add_route(&netplumb::route::NewRoute::via(
                "0.0.0.0/0".parse()?,
                IpAddr::V4(r),
            )?)?;
        }
        sysctl(&ns, "net.ipv4.ip_forward", "1")?;
        Ok((ns, h))
    }

    /// The underlay's own namespace.
    pub fn netns(&self) -> &NetNs {
        &self.ns
    }
}
