//! What the whole-job examples share (and the tests that run them, which include the example
//! files as modules): named namespaces that are removed again whatever happens, sysctls set
//! inside a namespace, and UDP echo between namespaces.
//!
//! Not an example of its own: cargo only builds `examples/*.rs` and `examples/*/main.rs`.
#![allow(dead_code)]

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netplumb::NetNs;

/// The examples' error type: anything, with a message that says what failed.
pub type BoxError = Box<dyn StdError + Send + Sync>;
/// The examples' result type.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// The named namespaces one run of an example creates, all starting with one prefix (so that
/// `ip netns list` shows whose they are and tests can run two examples side by side). Dropping
/// the lab deletes them, also after a failure or a panic, and deleting a namespace removes every
/// link inside it.
pub struct Lab {
    prefix: String,
    created: Vec<String>,
    keep: bool,
    quiet: bool,
}

impl Lab {
    /// A lab whose namespaces are named `PREFIX-…`. Namespaces with that prefix left by an
    /// earlier run that was killed before it could clean up are deleted first, and named.
    pub fn new(prefix: &str) -> Result<Lab> {
        if prefix.is_empty() || prefix.contains('/') {
            return Err(format!("bad namespace prefix {prefix:?}").into());
        }
        let lab = Lab {
            prefix: prefix.to_string(),
            created: Vec::new(),
            keep: false,
            quiet: false,
        };
        for name in NetNs::list()? {
            if lab.owns(&name) {
                NetNs::delete(&name)?;
                eprintln!("deleted netns {name}, left by an earlier run");
            }
        }
        Ok(lab)
    }

    /// Keeps the namespaces when the lab is dropped (for a look with `ip netns exec`).
    pub fn keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Deletes without printing a line per namespace.
    pub fn quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// The full name of the lab's namespace `short`.
    pub fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    /// Creates the named namespace `PREFIX-short` (`ip netns add`), with its loopback up.
    pub fn netns(&mut self, short: &str) -> Result<NetNs> {
        let name = self.name(short);
        let ns = NetNs::create(&name).map_err(|e| format!("ip netns add {name}: {e}"))?;
        self.created.push(name);
        netplumb::Handle::new_in(&ns)?.set_link_up("lo")?;
        Ok(ns)
    }

    /// The names of the namespaces this lab created and has not deleted yet.
    pub fn namespaces(&self) -> &[String] {
        &self.created
    }

    /// Deletes every namespace of the lab now, and says how many there were.
    pub fn teardown(&mut self) -> Result<usize> {
        let mut first_error = None;
        let n = self.created.len();
        for name in self.created.drain(..).rev() {
            if let Err(e) = NetNs::delete(&name) {
                first_error.get_or_insert(format!("ip netns delete {name}: {e}"));
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(n),
        }
    }

    fn owns(&self, name: &str) -> bool {
        name.strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with('-'))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            if !self.created.is_empty() {
                println!(
                    "kept {} namespaces: {}",
                    self.created.len(),
                    self.created.join(" ")
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

/// Writes `value` to `/proc/sys/KEY` (dots or slashes) inside `ns`: `ip netns exec NS sysctl -w
/// KEY=VALUE`. The `net.*` tree is per namespace, so this changes nothing outside `ns`.
pub fn sysctl(ns: &NetNs, key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
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

/// Whether the bare flag `flag` was given.
pub fn flag(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| a == flag)
}

/// Refuses arguments the example does not know: `valued` lists the flags that take a value,
/// `bare` those that do not. `usage` is printed with the error.
pub fn check_args(args: &[String], valued: &[&str], bare: &[&str], usage: &str) -> Result<()> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "-h" || a == "--help" {
            println!("{usage}");
            std::process::exit(0);
        }
        if valued.contains(&a) {
            i += 2;
        } else if bare.contains(&a) {
            i += 1;
        } else {
            return Err(format!("unknown argument {a:?}\n{usage}").into());
        }
    }
    Ok(())
}
