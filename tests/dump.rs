//! Multi-part dumps under concurrent change: every dump is either complete or reported as
//! interrupted, never silently half-done.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::TestNs;
use netplumb::link::NewVeth;
use netplumb::{Error, Handle};

#[test]
fn link_dump_under_churn_is_complete_or_reported() {
    require_root!();
    let t = TestNs::new();
    const PAIRS: usize = 150;
    for i in 0..PAIRS {
        t.handle
            .add_veth(&NewVeth::new(&format!("s{i}a"), &format!("s{i}b")))
            .unwrap();
    }
    let check_complete = |links: &[netplumb::link::Link]| {
        // The test's pairs only: `s{i}a`/`s{i}b` (a fallback tunnel such as `sit0` also starts
        // with an `s` where its module is loaded).
        let ours = |n: &[u8]| {
            n.len() > 2
                && n[0] == b's'
                && matches!(n[n.len() - 1], b'a' | b'b')
                && n[1..n.len() - 1].iter().all(u8::is_ascii_digit)
        };
        let base = links.iter().filter(|l| ours(l.name.as_bytes())).count();
        assert_eq!(base, 2 * PAIRS, "a dump reported as complete lost links");
        // No index appears twice.
        let mut idx: Vec<_> = links.iter().map(|l| l.index).collect();
        idx.sort();
        idx.dedup();
        assert_eq!(idx.len(), links.len());
    };
    let stop = AtomicBool::new(false);
    let (mut complete, mut interrupted) = (0, 0);
    std::thread::scope(|s| {
        let churn = Handle::new_in(&t.ns).unwrap();
        let stop = &stop;
        s.spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("churn{}", n % 4);
                let _ = churn.add_veth(&NewVeth::new(&name, &format!("{name}p")));
                let _ = churn.delete_link(name.as_str());
                n += 1;
            }
        });
        // The churn stops also when a check below fails: the scope would otherwise wait for
        // it forever instead of reporting the failure.
        let _stop_churn = common::OnDrop(|| stop.store(true, Ordering::Relaxed));
        for _ in 0..40 {
            match t.handle.links(&Default::default()) {
                Ok(links) => {
                    complete += 1;
                    check_complete(&links);
                }
                Err(Error::DumpInterrupted { attempts, .. }) => {
                    assert_eq!(attempts, 5);
                    interrupted += 1;
                }
                Err(e) => panic!("unexpected error under churn: {e}"),
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    eprintln!("dumps under churn: {complete} complete, {interrupted} reported interrupted");
    // How many dumps the churn interrupts depends on the kernel: 6.18 flagged none of the 40
    // (all complete), Debian 12's 6.1 in the kernel-VM tier reported all 40 interrupted after
    // 5 attempts each. Either way each was complete or reported. Once the churn has stopped a
    // dump must complete with every link, so the completeness checks run on any kernel.
    check_complete(&t.handle.links(&Default::default()).unwrap());
}
