//! The `rtnetlink` peer of `examples/netlink_compare.rs`: the same work as the other peers,
//! written the way `rtnetlink`'s own examples are (one request per object, awaited on a
//! current-thread tokio runtime), with at most [`IN_FLIGHT`] requests pipelined on the one
//! connection (`buffer_unordered`).
//!
//! ```text
//! rtnetlink-peer routes FILE   # FILE: one IPv4 prefix a line; via 192.0.2.2, table 100
//! rtnetlink-peer links N       # N veth pairs npNa/npNb created, all links listed, deleted
//! rtnetlink-peer addrs FILE LINK  # FILE: one address/len a line, added to LINK, listed, deleted
//! rtnetlink-peer neighs FILE LINK # FILE: "IPv4 MAC" a line, permanent on LINK, listed, deleted
//! rtnetlink-peer rules FILE       # FILE: "PRIORITY FROM" a line, to table 100, listed, deleted
//! rtnetlink-peer fdb FILE LINK    # FILE: "MAC DST" a line, FDB entries on the VXLAN device
//! rtnetlink-peer monitor N        # route events of a connection bound to RTMGRP_IPV4_ROUTE
//! ```
//!
//! It prints one line per phase, `PHASE SECONDS COUNT PEAK_RSS_KB [RSS_BEFORE_KB]`, which
//! the harness reads; COUNT is what the phase did or found (a dump's count is what the kernel
//! returned). The monitor prints `ready` once bound, then `recv SECONDS EVENTS PEAK_RSS_KB`
//! (first to last event) and `overruns 0 N 0`.
//!
//! FDB entries use the neighbour API with the bridge family (`neighbours().add_bridge`,
//! `.destination(dst)`); the crate has no append flag, so a flood entry (the all-zero MAC,
//! one per remote) is the same request sent through `Handle::request` with
//! `NLM_F_CREATE | NLM_F_APPEND`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST,
};
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::neighbour::{NeighbourFlags, NeighbourState};
use rtnetlink::packet_route::route::{RouteAttribute, RouteProtocol, RouteScope, RouteType};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::AsyncSocket;
use rtnetlink::{
    new_connection, AddressMessageBuilder, Handle, IpVersion, LinkVeth, RouteMessageBuilder,
};

/// Requests in flight at once: the acks of more could overflow the socket's default receive
/// buffer (the kernel then drops them and the requests never complete).
const IN_FLIGHT: usize = 128;
const TABLE: u32 = 100;

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("rtnetlink-peer: {e}");
        std::process::exit(1);
    }
}

fn run() -> AnyResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        if let ["monitor", n] = args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            return monitor(n.parse()?).await;
        }
        let (mut connection, handle, _) = new_connection()?;
        // Kernel-side filtering of dumps (the table), as rtnetlink's example does.
        connection
            .socket_mut()
            .socket_mut()
            .set_netlink_get_strict_chk(true)?;
        tokio::spawn(connection);
        match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["routes", file] => routes(&handle, file).await,
            ["links", n] => links(&handle, n.parse()?).await,
            ["addrs", file, link] => addrs(&handle, file, link).await,
            ["neighs", file, link] => neighs(&handle, file, link).await,
            ["rules", file] => rules(&handle, file).await,
            ["fdb", file, link] => fdb(&handle, file, link).await,
            _ => Err(format!(
                "usage: routes FILE | links N | addrs FILE LINK | neighs FILE LINK | rules FILE, \
                 not {args:?}"
            )
            .into()),
        }
    })
}

fn report(phase: &str, t: Instant, count: usize) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmHWM:")
                .map(|v| v.trim().trim_end_matches("kB").trim().to_string())
        })
        .unwrap_or_else(|| "0".into());
    println!("{phase} {:.6} {count} {rss}", t.elapsed().as_secs_f64());
}

fn status_kib(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .and_then(|v| v.strip_prefix(':'))
                .map(|v| v.trim().trim_end_matches("kB").trim().to_string())
        })
        .unwrap_or_else(|| "0".into())
}

/// Resets the peak resident memory to the current and returns the current (KiB).
fn reset_peak() -> String {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS")
}

fn read_nets(file: &str) -> AnyResult<Vec<(IpAddr, u8)>> {
    let text = std::fs::read_to_string(file)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (a, n) = l.trim().split_once('/').ok_or("no /len")?;
            Ok((a.parse()?, n.parse()?))
        })
        .collect()
}

async fn pipelined<F, Fut>(n: usize, f: F) -> AnyResult<usize>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), rtnetlink::Error>>,
{
    let mut ok = 0;
    let mut results = stream::iter(0..n).map(f).buffer_unordered(IN_FLIGHT);
    while let Some(r) = results.next().await {
        r?;
        ok += 1;
    }
    Ok(ok)
}

async fn routes(h: &Handle, file: &str) -> AnyResult<()> {
    let nets: Vec<(Ipv4Addr, u8)> = read_nets(file)?
        .into_iter()
        .map(|(a, n)| match a {
            IpAddr::V4(a) => Ok((a, n)),
            IpAddr::V6(_) => Err("not IPv4"),
        })
        .collect::<Result<_, _>>()?;
    let gw: Ipv4Addr = "192.0.2.2".parse()?;

    let t = Instant::now();
    let done = pipelined(nets.len(), |i| {
        let (a, n) = nets[i];
        let msg = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(a, n)
            .gateway(gw)
            .table_id(TABLE)
            .build();
        h.route().add(msg).execute()
    })
    .await?;
    report("install", t, done);

    let before = reset_peak();
    let t = Instant::now();
    let filter = RouteMessageBuilder::<Ipv4Addr>::new()
        .table_id(TABLE)
        .protocol(RouteProtocol::Unspec)
        .scope(RouteScope::Universe)
        .kind(RouteType::Unspec)
        .build();
    let mut dump = h.route().get(filter).execute();
    let mut count = 0;
    while let Some(r) = dump.try_next().await? {
        // Counted as the other peers do: the table's routes with a gateway.
        if r.attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Gateway(_)))
        {
            count += 1;
        }
    }
    println!(
        "dump {:.6} {count} {} {before}",
        t.elapsed().as_secs_f64(),
        status_kib("VmHWM")
    );

    let t = Instant::now();
    let done = pipelined(nets.len(), |i| {
        let (a, n) = nets[i];
        let msg = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(a, n)
            .table_id(TABLE)
            .build();
        h.route().del(msg).execute()
    })
    .await?;
    report("delete", t, done);
    Ok(())
}

async fn links(h: &Handle, n: usize) -> AnyResult<()> {
    let t = Instant::now();
    // One at a time: creating links is serialised by the kernel's RTNL lock anyway.
    for i in 0..n {
        h.link()
            .add(LinkVeth::new(&format!("np{i}a"), &format!("np{i}b")).build())
            .execute()
            .await?;
    }
    report("create", t, n);

    reset_peak();
    let t = Instant::now();
    let mut dump = h.link().get().execute();
    let mut count = 0;
    while let Some(_l) = dump.try_next().await? {
        count += 1;
    }
    report("list", t, count);

    let t = Instant::now();
    for i in 0..n {
        let mut found = h.link().get().match_name(format!("np{i}a")).execute();
        let link = found.try_next().await?.ok_or("link gone")?;
        h.link().del(link.header.index).execute().await?;
    }
    report("delete", t, n);
    Ok(())
}

async fn addrs(h: &Handle, file: &str, link: &str) -> AnyResult<()> {
    let nets = read_nets(file)?;
    let mut found = h.link().get().match_name(link.to_string()).execute();
    let index = found.try_next().await?.ok_or("no such link")?.header.index;

    let t = Instant::now();
    let done = pipelined(nets.len(), |i| {
        let (a, n) = nets[i];
        h.address().add(index, a, n).execute()
    })
    .await?;
    report("add", t, done);

    reset_peak();
    let t = Instant::now();
    let mut dump = h.address().get().execute();
    let mut count = 0;
    while let Some(a) = dump.try_next().await? {
        if a.attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Address(_)))
        {
            count += 1;
        }
    }
    report("list", t, count);

    let t = Instant::now();
    let done = pipelined(nets.len(), |i| {
        let msg = match nets[i] {
            (IpAddr::V4(a), n) => AddressMessageBuilder::<Ipv4Addr>::new()
                .index(index)
                .address(a, n)
                .build(),
            (IpAddr::V6(a), n) => AddressMessageBuilder::<Ipv6Addr>::new()
                .index(index)
                .address(a, n)
                .build(),
        };
        h.address().del(msg).execute()
    })
    .await?;
    report("delete", t, done);
    Ok(())
}

fn read_pairs(file: &str) -> AnyResult<Vec<(String, String)>> {
    Ok(std::fs::read_to_string(file)?
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect())
}

fn parse_mac(s: &str) -> AnyResult<Vec<u8>> {
    s.split(':')
        .map(|b| Ok(u8::from_str_radix(b, 16)?))
        .collect()
}

async fn neighs(h: &Handle, file: &str, link: &str) -> AnyResult<()> {
    let mut found = h.link().get().match_name(link.to_string()).execute();
    let index = found.try_next().await?.ok_or("no such link")?.header.index;
    let entries: Vec<(IpAddr, Vec<u8>)> = read_pairs(file)?
        .iter()
        .map(|(ip, mac)| Ok((ip.parse()?, parse_mac(mac)?)))
        .collect::<AnyResult<_>>()?;
    let request = |i: usize| {
        let (ip, mac) = &entries[i];
        h.neighbours()
            .add(index, *ip)
            .link_layer_address(mac)
            .state(NeighbourState::Permanent)
    };

    let t = Instant::now();
    let done = pipelined(entries.len(), |i| request(i).execute()).await?;
    report("add", t, done);

    reset_peak();
    let t = Instant::now();
    let mut dump = h
        .neighbours()
        .get()
        .set_address_family(AddressFamily::Inet)
        .execute();
    let mut count = 0;
    while let Some(_n) = dump.try_next().await? {
        count += 1;
    }
    report("list", t, count);

    // A delete takes a message: the add request's own.
    let t = Instant::now();
    let done = pipelined(entries.len(), |i| {
        let msg = request(i).message_mut().clone();
        h.neighbours().del(msg).execute()
    })
    .await?;
    report("delete", t, done);
    Ok(())
}

async fn rules(h: &Handle, file: &str) -> AnyResult<()> {
    let rules: Vec<(u32, Ipv4Addr, u8)> = read_pairs(file)?
        .iter()
        .map(|(prio, from)| {
            let (a, n) = from.split_once('/').ok_or("no /len")?;
            Ok((prio.parse()?, a.parse()?, n.parse()?))
        })
        .collect::<AnyResult<_>>()?;
    let request = |i: usize| {
        let (prio, a, n) = rules[i];
        h.rule()
            .add()
            .v4()
            .source_prefix(a, n)
            .table_id(TABLE)
            .priority(prio)
    };

    let t = Instant::now();
    for i in 0..rules.len() {
        request(i).execute().await?;
    }
    report("add", t, rules.len());

    reset_peak();
    let t = Instant::now();
    let mut dump = h.rule().get(IpVersion::V4).execute();
    let mut count = 0;
    while let Some(_r) = dump.try_next().await? {
        count += 1;
    }
    report("list", t, count);

    let t = Instant::now();
    for i in 0..rules.len() {
        let msg = request(i).message_mut().clone();
        h.rule().del(msg).execute().await?;
    }
    report("delete", t, rules.len());
    Ok(())
}

async fn fdb(h: &Handle, file: &str, link: &str) -> AnyResult<()> {
    let mut found = h.link().get().match_name(link.to_string()).execute();
    let index = found.try_next().await?.ok_or("no such link")?.header.index;
    let entries: Vec<(Vec<u8>, IpAddr)> = read_pairs(file)?
        .iter()
        .map(|(mac, dst)| Ok((parse_mac(mac)?, dst.parse()?)))
        .collect::<AnyResult<_>>()?;
    let request = |i: usize| {
        let (mac, dst) = &entries[i];
        h.neighbours()
            .add_bridge(index, mac)
            .destination(*dst)
            .flags(NeighbourFlags::Own)
            .state(NeighbourState::Permanent)
    };
    let flood = |i: usize| entries[i].0.iter().all(|b| *b == 0);

    let t = Instant::now();
    let done = pipelined(entries.len(), |i| {
        let mut req = request(i);
        let mut h = h.clone();
        let append = flood(i).then(|| req.message_mut().clone());
        async move {
            let Some(msg) = append else {
                return req.execute().await;
            };
            let mut nl = NetlinkMessage::from(RouteNetlinkMessage::NewNeighbour(msg));
            nl.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND;
            let mut replies = h.request(nl)?;
            while let Some(m) = replies.next().await {
                if let NetlinkPayload::Error(e) = m.payload {
                    if e.code.is_some() {
                        return Err(rtnetlink::Error::NetlinkError(e));
                    }
                }
            }
            Ok(())
        }
    })
    .await?;
    report("add", t, done);

    reset_peak();
    let t = Instant::now();
    let mut get = h
        .neighbours()
        .get()
        .set_address_family(AddressFamily::Bridge);
    get.message_mut().header.ifindex = index;
    let mut dump = get.execute();
    let mut count = 0;
    while let Some(n) = dump.try_next().await? {
        if n.header.ifindex == index {
            count += 1;
        }
    }
    report("list", t, count);

    let t = Instant::now();
    let done = pipelined(entries.len(), |i| {
        let msg = request(i).message_mut().clone();
        h.neighbours().del(msg).execute()
    })
    .await?;
    report("delete", t, done);
    Ok(())
}

/// Route events of a connection bound to the IPv4 route group (its default socket buffer),
/// decoded by the crate, until `n` or 2 s without one.
async fn monitor(n: usize) -> AnyResult<()> {
    use rtnetlink::sys::SocketAddr;
    let (mut connection, _handle, mut messages) = new_connection()?;
    connection
        .socket_mut()
        .socket_mut()
        .bind(&SocketAddr::new(0, rtnetlink::constants::RTMGRP_IPV4_ROUTE))?;
    tokio::spawn(connection);
    println!("ready");
    let cpu = cpu_time();
    let (mut count, mut overruns) = (0, 0);
    let mut first = None;
    let mut last = Instant::now();
    while count < n {
        let next = tokio::time::timeout(std::time::Duration::from_secs(2), messages.next());
        match next.await {
            Err(_) | Ok(None) => break,
            Ok(Some((m, _))) => match m.payload {
                NetlinkPayload::InnerMessage(
                    RouteNetlinkMessage::NewRoute(_) | RouteNetlinkMessage::DelRoute(_),
                ) => {
                    count += 1;
                    last = Instant::now();
                    first.get_or_insert(last);
                }
                NetlinkPayload::Overrun(_) => overruns += 1,
                _ => {}
            },
        }
    }
    let secs = first.map_or(0.0, |f: Instant| last.duration_since(f).as_secs_f64());
    println!("recv {secs:.6} {count} {}", status_kib("VmHWM"));
    println!("overruns 0 {overruns} 0");
    println!("cpu {:.6} {count} 0", cpu_time() - cpu);
    Ok(())
}

/// This process's CPU time so far (user + system, every thread), in seconds.
fn cpu_time() -> f64 {
    // SAFETY: getrusage writes the struct it is given; a zeroed rusage is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is a live, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
