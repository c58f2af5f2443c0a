//! A tokio program that watches the routes of a namespace and reacts by installing routes:
//! every route that appears in the main table with protocol `static` is mirrored as a
//! blackhole into table 100 (a "null-route shadow" table), and removed from it when the
//! original goes. It stops on Ctrl-C or SIGTERM (`tokio::select!`), or after `--demo`'s
//! changes have been mirrored.
//!
//! ```text
//! sudo cargo run --features tokio --example async_monitor -- --demo
//! sudo cargo run --features tokio --example async_monitor -- --netns blue
//! ```
//!
//! Without `--netns` it works in a fresh namespace of its own (so nothing of this machine's
//! is touched); `--demo` adds and removes a few routes there from another task, and checks
//! the mirror table after each step.

use std::time::Duration;

use futures_util::StreamExt;
use netplumb::monitor::{Change, Event, Groups, MonitorOptions};
use netplumb::route::{NewRoute, Route, RouteFilter, RouteKey, RouteProtocol, RouteType};
use netplumb::tokio::{AsyncHandle, AsyncMonitor};
use netplumb::{NetNs, TableId};
use tokio::signal::unix::{signal, SignalKind};

const MIRROR: TableId = TableId::new(100);

fn mirror_of(r: &Route) -> Option<NewRoute<'static>> {
    if r.table != TableId::MAIN || r.protocol != RouteProtocol::STATIC {
        return None;
    }
    Some(NewRoute {
        table: MIRROR,
        ..NewRoute::of_kind(RouteType::Blackhole, r.destination).ok()?
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo = args.iter().any(|a| a == "--demo");
    let ns = match args.iter().position(|a| a == "--netns") {
        Some(i) => NetNs::open(args.get(i + 1).ok_or("--netns needs a name")?)?,
        None => NetNs::new_unnamed()?,
    };
    let handle = AsyncHandle::new_in(&ns).await?;
    handle.run(|h| h.set_link_up("lo")).await?;
    let mut events = AsyncMonitor::new_in(
        &ns,
        &MonitorOptions {
            groups: Groups::ROUTE_V4 | Groups::ROUTE_V6,
            ..MonitorOptions::default()
        },
    )?;
    let stop = events.stopper()?;

    // What is there already: mirror it first.
    let filter = RouteFilter {
        table: Some(TableId::MAIN),
        ..RouteFilter::default()
    };
    for r in handle.run(|h| h.routes(&filter)).await? {
        if let Some(m) = mirror_of(&r) {
            handle.run(|h| h.replace_route(&m)).await?;
        }
    }

    let mut demo_task = demo.then(|| {
        let ns = ns.try_clone().expect("clone namespace");
        tokio::spawn(async move { run_demo(&ns).await })
    });

    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut mirrored = 0u32;
    loop {
        tokio::select! {
            _ = interrupt.recv() => { stop.stop(); }
            _ = terminate.recv() => { stop.stop(); }
            event = events.next() => {
                let Some(event) = event else { break }; // stopped
                match event? {
                    Event::Route(Change::Added(r)) => {
                        if let Some(m) = mirror_of(&r) {
                            handle.run(|h| h.replace_route(&m)).await?;
                            mirrored += 1;
                            println!("mirrored {} into table {MIRROR}", r.destination);
                        }
                    }
                    Event::Route(Change::Removed(r)) => {
                        if let Some(m) = mirror_of(&r) {
                            let key = RouteKey::from(&m);
                            match handle.run(|h| h.delete_route(&key)).await {
                                Err(e) if e.is_not_found() => {}
                                other => other?,
                            }
                            println!("unmirrored {}", r.destination);
                        }
                    }
                    Event::Overrun => {
                        // Events were lost: start again from the kernel's state.
                        eprintln!("overrun: resynchronizing");
                        tokio::task::block_in_place(|| events.get_mut().resync())?;
                    }
                    _ => {}
                }
            }
            finished = async { demo_task.as_mut().expect("guarded").await }, if demo_task.is_some() => {
                finished??;
                break;
            }
            () = tokio::time::sleep(Duration::from_secs(30)), if demo => {
                return Err("the demo did not finish within 30 s".into());
            }
        }
    }
    if demo {
        let left = handle
            .run(|h| {
                h.routes(&RouteFilter {
                    table: Some(MIRROR),
                    ..RouteFilter::default()
                })
            })
            .await?;
        println!(
            "demo done: {mirrored} routes mirrored, {} left in table {MIRROR}",
            left.len()
        );
    }
    Ok(())
}

/// Adds three static routes and removes one, from its own handle, waiting after each step
/// until the mirror table shows its effect.
async fn run_demo(ns: &NetNs) -> Result<(), netplumb::Error> {
    let h = AsyncHandle::new_in(ns).await?;
    let dsts = ["10.1.0.0/16", "10.2.0.0/16", "2001:db8:7::/48"];
    let mut want = Vec::new();
    for d in dsts {
        let r = NewRoute {
            protocol: RouteProtocol::STATIC,
            ..NewRoute::of_kind(RouteType::Unreachable, d.parse().expect("prefix"))?
        };
        h.run(|h| h.add_route(&r)).await?;
        want.push(r.destination);
        wait_for_mirror(&h, &want).await?;
    }
    let first = NewRoute {
        protocol: RouteProtocol::STATIC,
        ..NewRoute::of_kind(RouteType::Unreachable, dsts[0].parse().expect("prefix"))?
    };
    h.run(|h| h.delete_route(&RouteKey::from(&first))).await?;
    want.remove(0);
    wait_for_mirror(&h, &want).await
}

async fn wait_for_mirror(
    h: &AsyncHandle,
    want: &[ipnetwork::IpNetwork],
) -> Result<(), netplumb::Error> {
    let filter = RouteFilter {
        table: Some(MIRROR),
        ..RouteFilter::default()
    };
    for _ in 0..200 {
        let mut got: Vec<_> = h
            .run(|h| h.routes(&filter))
            .await?
            .into_iter()
            .map(|r| r.destination)
            .collect();
        got.sort();
        let mut w = want.to_vec();
        w.sort();
        if got == w {
            let shown: Vec<String> = got.iter().map(|n| n.to_string()).collect();
            println!("table {MIRROR} now holds {}", shown.join(" "));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(netplumb::Error::NotFound {
        what: format!("the mirror of {want:?} in table {MIRROR}"),
        errno: None,
    })
}
