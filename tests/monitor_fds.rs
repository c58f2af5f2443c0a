//! Dropping a monitor closes its socket: no descriptor leaks over many monitors. A test binary
//! of its own, so that no other test opens descriptors while it counts.

mod common;

use common::TestNs;
use netplumb::monitor::{Groups, Monitor, MonitorOptions};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_thousand_monitors_leak_no_descriptor() {
    require_root!();
    let t = TestNs::new();
    let before = open_fds();
    for i in 0..1000 {
        let options = MonitorOptions {
            groups: Groups::ALL,
            snapshot: i % 10 == 0,
            ..MonitorOptions::default()
        };
        // In the test's namespace: the host's is not the tests' to watch.
        drop(Monitor::new_in(&t.ns, &options).unwrap());
    }
    assert_eq!(open_fds(), before);
}
