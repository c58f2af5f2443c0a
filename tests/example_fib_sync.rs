//! Runs the `fib_sync` example as a root test, on a 20,000-prefix slice of the real table:
//! the kernel's table 100 must equal the Rib after the replay, every lookup must agree, and no
//! namespace may be left behind. Without the RIS data (`$NETPLUMB_DATA`, default
//! `../shared/data`) the test reports a skip that says where it looked.

mod common;

#[allow(dead_code)]
#[path = "../examples/fib_sync.rs"]
mod fib_sync;

use common::{assert_lab_gone, unique_name, OnDrop};
use fib_sync::Options;

#[test]
fn fib_sync_mirrors_the_rib_into_the_kernel() {
    require_root!();
    let prefix = unique_name("np-t-fibsync");
    let p = prefix.clone();
    let _sweep = OnDrop(move || {
        let _ = netplumb_lab::sweep(&p);
    });
    let opts = Options {
        prefix: prefix.clone(),
        limit: Some(20_000),
        ..Options::default()
    };
    if let Err(e) = fib_sync::data_files(&opts) {
        common::report_skip(&common::test_name(), &e.to_string());
        return;
    }
    let s = fib_sync::run(&opts).unwrap();
    assert_lab_gone(&prefix);

    assert_eq!(s.table_prefixes, 1_042_325, "the RIS IPv4 table");
    assert_eq!(s.loaded, 20_000);
    // The slice keeps the updates of its prefixes: about 2 % of the day's 1.39 M.
    assert!(s.replayed > 10_000 && s.replayed < 60_000, "{s:?}");
    assert_eq!(s.replayed, s.announcements + s.withdrawals);
    // Path changes, new prefixes and withdrawals all happened and reached the kernel.
    assert!(s.replaced > s.replayed / 2, "{s:?}");
    assert!(s.added > 0 && s.removed > 0, "{s:?}");
    assert!(
        s.removed <= s.withdrawals && s.changes() <= s.replayed,
        "{s:?}"
    );
    // The kernel holds exactly the Rib's FIB: what was loaded, plus new, minus withdrawn.
    assert_eq!(s.fib_routes, s.loaded + s.added - s.removed);
    assert_eq!(s.kernel_routes, s.fib_routes);
    assert_eq!(s.mismatches, 0);
    // Half the lookups are drawn from inside the FIB's prefixes, so at least half find one;
    // most uniform ones miss a 2 % slice.
    assert_eq!(s.lookups, 10_000);
    assert!(
        s.lookups_routed >= 5_000 && s.lookups_routed < 9_000,
        "{s:?}"
    );
    assert!(s.kernel_rate() > 1_000.0 && s.rib_rate() > 1_000.0, "{s:?}");
    // A reader thread looked up in the SharedFib while the updates streamed in, and the
    // writer published to it (the check compared its answers with the Rib's: no mismatch).
    assert!(s.shared_lookups > 0 && s.shared_publishes > 0, "{s:?}");
    assert!(s.shared_routed <= s.shared_lookups, "{s:?}");
}

#[test]
fn fib_sync_without_data_says_where_it_looked() {
    let prefix = unique_name("np-t-nodata");
    let opts = Options {
        prefix: prefix.clone(),
        data: Some("/nonexistent/netplumb-data".into()),
        limit: Some(10),
        ..Options::default()
    };
    let e = fib_sync::run(&opts).unwrap_err().to_string();
    assert!(
        e.contains("/nonexistent/netplumb-data/ris-2026-05-11-v4.txt.gz")
            && e.contains("NETPLUMB_DATA"),
        "{e}"
    );
    // It stopped before making anything.
    if common::root_unavailable().is_none() {
        assert_lab_gone(&prefix);
    }
}
