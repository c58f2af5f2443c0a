//! The async face (feature `tokio`): the same scenario bodies run through the blocking
//! `Handle`, an `AsyncHandle` on a current-thread runtime, and one on a multi-thread runtime,
//! checked against iproute2's view.
#![cfg(feature = "tokio")]

mod common;

use std::time::{Duration, Instant};

use common::driver::Driver;
use common::TestNs;
use futures_util::StreamExt;
use netplumb::link::NewVeth;
use netplumb::monitor::{Change, Event, Groups, MonitorOptions};
use netplumb::route::{NewRoute, RouteFilter, RouteKey, RouteType};
use netplumb::tokio::{AsyncHandle, AsyncMonitor};
use netplumb::{Handle, TableId};
use tokio::runtime::Builder;

const T: TableId = TableId::new(100);

fn blackholes(n: u32) -> Vec<NewRoute<'static>> {
    (0..n)
        .map(|i| NewRoute {
            table: T,
            ..NewRoute::of_kind(
                RouteType::Blackhole,
                format!("{}.{}.{}.0/24", 10 + (i >> 16), (i >> 8) & 255, i & 255)
                    .parse()
                    .unwrap(),
            )
            .unwrap()
        })
        .collect()
}

/// Routes: add, a duplicate refused as the blocking call refuses it, list (checked against
/// `ip -j route`), look up, delete.
fn routes_scenario(t: &TestNs, d: &Driver, name: &str) {
    let wanted = blackholes(5);
    for r in &wanted {
        d.run(|h| h.add_route(r)).unwrap();
    }
    let e = d.run(|h| h.add_route(&wanted[0])).unwrap_err();
    assert!(e.is_exists(), "{name}: {e}");
    let filter = RouteFilter {
        table: Some(T),
        ..RouteFilter::default()
    };
    let listed = d.run(|h| h.routes(&filter)).unwrap();
    let oracle = t.ip(&["-j", "route", "show", "table", "100"]);
    assert_eq!(listed.len(), 5, "{name}");
    assert_eq!(oracle.as_array().unwrap().len(), 5, "{name}: {oracle}");
    for r in &listed {
        let dst = r.destination.to_string();
        assert!(
            oracle
                .as_array()
                .unwrap()
                .iter()
                .any(
                    |o| format!("{}/24", o["dst"].as_str().unwrap().trim_end_matches("/24")) == dst
                ),
            "{name}: {dst} not in {oracle}"
        );
    }
    // A sequence of operations in one run: a name resolved, then used.
    let lo = d.run(|h| h.link_index("lo")).unwrap();
    assert_eq!(lo, t.handle.link_index("lo").unwrap(), "{name}");
    for r in &wanted {
        d.run(|h| h.delete_route(&RouteKey::from(r))).unwrap();
    }
    assert!(t
        .ip(&["-j", "route", "show", "table", "100"])
        .as_array()
        .unwrap()
        .is_empty());
}

/// Links: a veth pair made, brought up, changed, listed, deleted; iproute2 agrees.
fn links_scenario(t: &TestNs, d: &Driver, name: &str) {
    d.run(|h| h.add_veth(&NewVeth::new("av0", "av1"))).unwrap();
    d.run(|h| {
        h.set_link_up("av0")?;
        h.set_link_mtu("av0", 1400)
    })
    .unwrap();
    let link = d.run(|h| h.link("av0")).unwrap();
    let oracle = t.ip_link("av0").expect("av0 in ip link");
    assert_eq!(oracle["mtu"].as_u64(), Some(1400), "{name}");
    assert_eq!(link.mtu, 1400, "{name}");
    assert_eq!(
        oracle["ifindex"].as_u64(),
        Some(u64::from(link.index.get()))
    );
    let names: Vec<String> = d
        .run(|h| h.links(&Default::default()))
        .unwrap()
        .into_iter()
        .map(|l| l.name.to_string())
        .collect();
    assert_eq!(names.len(), t.ip_link_names(&[]).len(), "{name}");
    d.run(|h| h.delete_link("av0")).unwrap();
    assert!(
        t.ip_link("av0").is_none() && t.ip_link("av1").is_none(),
        "{name}"
    );
    let e = d.run(|h| h.link("av0")).unwrap_err();
    assert!(e.is_not_found(), "{name}: {e}");
}

/// The futures and streams can move between a multi-thread runtime's workers.
#[test]
fn futures_and_streams_are_send() {
    fn send<T: Send>(_: &T) {}
    fn check(h: &AsyncHandle, filter: &RouteFilter) {
        send(&h.run(|h| h.link("lo")));
        send(&h.stream(|h| h.routes_iter(filter)));
    }
    let _ = check;
    fn send_type<T: Send>() {}
    send_type::<AsyncHandle>();
    send_type::<AsyncMonitor>();
    send_type::<netplumb::tokio::DumpStream<'static, netplumb::route::Route>>();
}

/// A pipelined batch of 10,000 routes, then a listing of them.
fn batch_scenario(t: &TestNs, d: &Driver, name: &str) {
    let routes = blackholes(10_000);
    let results = d
        .run(|h| {
            let mut b = h.batch();
            for r in &routes {
                b.add_route(r);
            }
            Ok(b.send())
        })
        .unwrap();
    assert_eq!(results.len(), 10_000);
    assert!(results.iter().all(|r| r.is_ok()), "{name}");
    let filter = RouteFilter {
        table: Some(T),
        ..RouteFilter::default()
    };
    assert_eq!(
        d.run(|h| h.routes(&filter)).unwrap().len(),
        10_000,
        "{name}"
    );
    let n = t.ip(&["-j", "route", "show", "table", "100"]);
    assert_eq!(n.as_array().unwrap().len(), 10_000, "{name}");
    delete_all(&t.handle, &filter);
}

/// Deletes every route the filter lists, in one batch.
fn delete_all(h: &Handle, filter: &RouteFilter) {
    let Ok(routes) = h.routes(filter) else { return };
    let mut b = h.batch();
    for r in &routes {
        b.delete_route(&RouteKey::from(r));
    }
    let _ = b.send();
}

fn each_driver(scenario: fn(&TestNs, &Driver, &str)) {
    let t = TestNs::new();
    t.handle.set_link_up("lo").unwrap();
    for kind in Driver::kinds() {
        let d = Driver::new(kind, &t.ns);
        scenario(&t, &d, kind);
    }
}

#[test]
fn routes_through_every_driver() {
    require_root!();
    each_driver(routes_scenario);
}

#[test]
fn links_through_every_driver() {
    require_root!();
    each_driver(links_scenario);
}

#[test]
fn batches_through_every_driver() {
    require_root!();
    each_driver(batch_scenario);
}

/// The monitor as a stream sees what an async handle does, and ends when stopped.
#[test]
fn monitor_stream_sees_changes_and_ends_when_stopped() {
    require_root!();
    let t = TestNs::new();
    t.handle.set_link_up("lo").unwrap();
    for flavour in ["current-thread", "multi-thread"] {
        let rt = match flavour {
            "current-thread" => Builder::new_current_thread().enable_all().build(),
            _ => Builder::new_multi_thread().enable_all().build(),
        }
        .unwrap();
        rt.block_on(async {
            let h = AsyncHandle::new_in(&t.ns).await.unwrap();
            let mut events = AsyncMonitor::new_in(
                &t.ns,
                &MonitorOptions {
                    groups: Groups::ROUTE_V4,
                    ..MonitorOptions::default()
                },
            )
            .unwrap();
            let stop = events.stopper().unwrap();
            let routes = blackholes(3);
            for r in &routes {
                h.run(|h| h.add_route(r)).await.unwrap();
            }
            let mut seen = Vec::new();
            while seen.len() < 3 {
                let e = tokio::time::timeout(Duration::from_secs(5), events.next())
                    .await
                    .expect("an event within 5 s")
                    .expect("the stream goes on")
                    .unwrap();
                if let Event::Route(Change::Added(r)) = e {
                    if r.table == T {
                        seen.push(r.destination);
                    }
                }
            }
            let want: Vec<_> = routes.iter().map(|r| r.destination).collect();
            assert_eq!(seen, want, "{flavour}");
            // Stopped from another task while the stream waits: it ends.
            let waiter = tokio::spawn(async move {
                let mut n = 0;
                while let Some(e) = events.next().await {
                    e.unwrap();
                    n += 1;
                }
                n
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            stop.stop();
            let n = tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("the stream ends when stopped")
                .unwrap();
            assert_eq!(n, 0, "{flavour}: no events after the three");
            let filter = RouteFilter {
                table: Some(T),
                ..RouteFilter::default()
            };
            h.run(|h| {
                delete_all(h, &filter);
                Ok(())
            })
            .await
            .unwrap();
        });
    }
}

/// Dropping futures and streams part-way leaves the handle usable, and every later answer
/// is the right one.
#[test]
fn cancelled_operations_leave_the_handle_usable() {
    require_root!();
    let t = TestNs::new();
    t.handle.set_link_up("lo").unwrap();
    let routes = blackholes(20_000);
    let mut b = t.handle.batch();
    for r in &routes {
        b.add_route(r);
    }
    assert!(b.send().iter().all(|r| r.is_ok()));
    let filter = RouteFilter {
        table: Some(T),
        ..RouteFilter::default()
    };
    let rt = Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let h = AsyncHandle::new_in(&t.ns).await.unwrap();
        // A streaming dump abandoned after 10 routes.
        {
            let mut s = h.stream(|h| h.routes_iter(&filter)).await.unwrap();
            for _ in 0..10 {
                s.next().await.unwrap().unwrap();
            }
        }
        assert_eq!(h.run(|h| h.routes(&filter)).await.unwrap().len(), 20_000);
        // A listing whose future is dropped at its first wait, many times over.
        for _ in 0..5 {
            let f = h.run(|h| h.routes(&filter));
            let r = tokio::time::timeout(Duration::from_micros(1), f).await;
            assert!(r.is_err() || r.unwrap().unwrap().len() == 20_000);
        }
        let link = h.run(|h| h.link("lo")).await.unwrap();
        assert_eq!(link.name.to_string(), "lo");
        let mut s = h.stream(|h| h.routes_iter(&filter)).await.unwrap();
        let mut n = 0;
        while let Some(r) = s.next().await {
            r.unwrap();
            n += 1;
        }
        assert_eq!(n, 20_000);
    });
}

/// A streaming dump of 100,000 routes on a current-thread runtime lets a ticking task run
/// between datagrams (a blocking dump would starve it until the end).
#[test]
fn a_large_streaming_dump_does_not_stall_other_tasks() {
    require_root!();
    let t = TestNs::new();
    t.handle.set_link_up("lo").unwrap();
    let mut b = t.handle.batch();
    for r in &blackholes(100_000) {
        b.add_route(r);
    }
    assert!(b.send().iter().all(|r| r.is_ok()));
    let rt = Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let h = AsyncHandle::new_in(&t.ns).await.unwrap();
        let ticks = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
        let tick_log = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tick_log.lock().unwrap().push(Instant::now());
                tokio::task::yield_now().await;
            }
        });
        tokio::task::yield_now().await;
        let filter = RouteFilter {
            table: Some(T),
            ..RouteFilter::default()
        };
        let start = Instant::now();
        let mut s = h.stream(|h| h.routes_iter(&filter)).await.unwrap();
        let mut n = 0;
        while let Some(r) = s.next().await {
            r.unwrap();
            n += 1;
            if n % 200 == 0 {
                // Give others a turn, as a program doing real work per route would.
                tokio::task::yield_now().await;
            }
        }
        let end = Instant::now();
        drop(s);
        ticker.abort();
        assert_eq!(n, 100_000);
        let ticks = ticks.lock().unwrap();
        let during: Vec<Instant> = ticks
            .iter()
            .copied()
            .filter(|&i| i >= start && i <= end)
            .collect();
        let worst = during
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        eprintln!(
            "async dump of {n} routes: {:?}, {} ticks during it, worst gap {:?}",
            end - start,
            during.len(),
            worst
        );
        assert!(
            during.len() >= 100,
            "the ticking task ran only {} times during the dump",
            during.len()
        );
    });
}
