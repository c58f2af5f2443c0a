//! An `ip monitor` clone: one line per kernel event, in iproute2's style.
//!
//! ```sh
//! sudo cargo run --example monitor                     # everything, this namespace
//! sudo cargo run --example monitor -- link neigh       # only links and neighbours/FDB/misses
//! sudo cargo run --example monitor -- --netns blue --snapshot
//! ```
//!
//! Groups: `link`, `address` (`addr`), `neigh`, `route`, `rule`. `--snapshot` prints the existing objects first
//! (followed by `[SNAPSHOT] done`). `--count N` exits after N events (for scripts and tests).

use std::collections::HashMap;
use std::process::ExitCode;

use netplumb::fdb::{FdbEntry, FdbState};
use netplumb::link::Link;
use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
use netplumb::neighbour::{Neighbour, NeighbourFlags};
use netplumb::route::Route;
use netplumb::rule::{Rule, RuleAction};
use netplumb::{Handle, IfIndex, NetNs};

struct Args {
    netns: Option<String>,
    groups: Groups,
    snapshot: bool,
    count: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        netns: None,
        groups: Groups::empty(),
        snapshot: false,
        count: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--netns" | "-n" => args.netns = Some(it.next().ok_or("--netns needs a name")?),
            "--snapshot" => args.snapshot = true,
            "--count" => {
                let n = it.next().ok_or("--count needs a number")?;
                args.count = Some(n.parse().map_err(|_| format!("bad count {n:?}"))?);
            }
            "link" => args.groups |= Groups::LINK,
            "address" | "addr" => args.groups |= Groups::ADDRESS,
            "neigh" => args.groups |= Groups::NEIGH,
            "route" => args.groups |= Groups::ROUTE,
            "rule" => args.groups |= Groups::RULE,
            "all" => args.groups |= Groups::ALL,
            "-h" | "--help" => return Err(
                "usage: monitor [--netns NAME] [--snapshot] [--count N] [link] [address] [neigh] [route] [rule]"
                    .into(),
            ),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if args.groups.is_empty() {
        args.groups = Groups::ALL;
    }
    Ok(args)
}

/// Interface names by index, learned from link events and looked up when missing.
struct Names {
    handle: Handle,
    names: HashMap<IfIndex, String>,
}

impl Names {
    fn get(&mut self, index: IfIndex) -> String {
        if let Some(n) = self.names.get(&index) {
            return n.clone();
        }
        let name = self
            .handle
            .link(index)
            .map(|l| l.name.to_string())
            .unwrap_or_else(|_| format!("if{index}"));
        self.names.insert(index, name.clone());
        name
    }
}

fn deleted<T>(c: &Change<T>) -> &'static str {
    if c.is_removed() {
        "Deleted "
    } else {
        ""
    }
}

fn link_line(l: &Link) -> String {
    let flags: Vec<&str> = l.flags.iter_names().map(|(n, _)| n).collect();
    let mut s = format!(
        "{}: {}: <{}> mtu {}",
        l.index,
        l.name,
        flags.join(","),
        l.mtu
    );
    if let Some(m) = l.master {
        s += &format!(" master {m}");
    }
    s += &format!(" state {}", format!("{:?}", l.oper_state).to_uppercase());
    if let Some(mac) = l.mac {
        s += &format!(" link/ether {mac}");
    }
    s
}

fn neigh_line(n: &Neighbour, names: &mut Names) -> String {
    let mut s = format!("{} dev {}", n.address, names.get(n.link));
    if let Some(mac) = n.mac {
        s += &format!(" lladdr {mac}");
    }
    if n.flags.contains(NeighbourFlags::ROUTER) {
        s += " router";
    }
    if n.is_proxy() {
        s += " proxy";
    }
    let states: Vec<&str> = n.state.iter_names().map(|(n, _)| n).collect();
    if !states.is_empty() {
        s += &format!(" {}", states.join(" "));
    }
    s
}

fn fdb_line(e: &FdbEntry, names: &mut Names) -> String {
    let mut s = format!("{} dev {}", e.mac, names.get(e.link));
    if let Some(v) = e.vlan {
        s += &format!(" vlan {v}");
    }
    if let Some(d) = e.dst {
        s += &format!(" dst {d}");
    }
    if let Some(m) = e.master {
        s += &format!(" master {}", names.get(m));
    }
    if e.flags.contains(NeighbourFlags::SELF) {
        s += " self";
    }
    s += match e.state {
        FdbState::Permanent => " permanent",
        FdbState::Static => " static",
        _ => "",
    };
    s
}

fn route_line(r: &Route, names: &mut Names) -> String {
    let mut s = if r.destination.prefix() == 0 {
        "default".to_string()
    } else {
        r.destination.to_string()
    };
    for hop in &r.next_hops {
        if let Some(g) = hop.gateway {
            s += &format!(" via {g}");
        }
        if let Some(d) = hop.dev {
            s += &format!(" dev {}", names.get(d));
        }
    }
    if r.table != netplumb::TableId::MAIN {
        s += &format!(" table {}", r.table);
    }
    if let Some(m) = r.priority {
        s += &format!(" metric {m}");
    }
    s
}

fn rule_line(r: &Rule) -> String {
    let mut s = format!("{}:", r.priority.unwrap_or(0));
    s += &match r.from {
        Some(f) => format!(" from {f}"),
        None => " from all".to_string(),
    };
    if let Some(t) = r.to {
        s += &format!(" to {t}");
    }
    s += &match r.action {
        RuleAction::ToTable(t) => format!(" lookup {t}"),
        RuleAction::Goto(p) => format!(" goto {p}"),
        other => format!(" {other:?}").to_lowercase(),
    };
    s
}

fn line(event: &Event, names: &mut Names) -> String {
    match event {
        Event::Link(c) => {
            let l = c.get();
            if c.is_removed() {
                names.names.remove(&l.index);
            } else {
                names.names.insert(l.index, l.name.to_string());
            }
            format!("[LINK]{}{}", deleted(c), link_line(l))
        }
        Event::Address(c) => {
            let a = c.get();
            let fam = if a.address.is_ipv4() { "inet" } else { "inet6" };
            format!(
                "[ADDR]{}{}: {}    {fam} {} scope {:?}",
                deleted(c),
                a.index,
                names.get(a.index),
                a.address,
                a.scope
            )
            .replace("scope Universe", "scope global")
        }
        Event::Route(c) => format!("[ROUTE]{}{}", deleted(c), route_line(c.get(), names)),
        Event::Rule(c) => format!("[RULE]{}{}", deleted(c), rule_line(c.get())),
        Event::Neighbour(c) => format!("[NEIGH]{}{}", deleted(c), neigh_line(c.get(), names)),
        Event::Fdb(c) => format!("[NEIGH]{}{}", deleted(c), fdb_line(c.get(), names)),
        Event::L2Miss { link, mac } => {
            format!("[NEIGH]miss dev {} lladdr {mac}", names.get(*link))
        }
        Event::L3Miss { link, address } => {
            format!("[NEIGH]miss {address} dev {}", names.get(*link))
        }
        Event::SnapshotDone => "[SNAPSHOT] done".to_string(),
        Event::Overrun => "[OVERRUN] the kernel dropped events; resynchronizing".to_string(),
        Event::Malformed { reason } => format!("[MALFORMED] {reason}"),
        other => format!("[OTHER]{other:?}"),
    }
}

fn run(args: Args) -> Result<(), netplumb::Error> {
    let options = MonitorOptions {
        groups: args.groups,
        snapshot: args.snapshot,
        ..MonitorOptions::default()
    };
    let (mut monitor, handle) = match &args.netns {
        Some(name) => {
            let ns = NetNs::open(name)?;
            (Monitor::new_in(&ns, &options)?, Handle::new_in(&ns)?)
        }
        None => (Monitor::with_options(&options)?, Handle::new()?),
    };
    let mut names = Names {
        handle,
        names: HashMap::new(),
    };
    let mut seen = 0;
    while args.count.is_none_or(|n| seen < n) {
        let event = monitor.recv()?;
        println!("{}", line(&event, &mut names));
        if event == Event::Overrun {
            monitor.resync()?;
        }
        seen += 1;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("monitor: {e}");
            ExitCode::FAILURE
        }
    }
}
