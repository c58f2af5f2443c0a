//! UDP echo between namespaces: a server, one echo with retries, and the matrix of echoes
//! between every pair of endpoints on different hosts.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netplumb::NetNs;

use crate::Result;

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
