//! The whole-job examples' lab (`examples/support`): what a killed run left is swept by the
//! next run with the same prefix, and nothing else is.

mod common;

#[path = "../examples/support/mod.rs"]
mod support;

use std::fs;
use std::path::Path;

use common::{assert_lab_gone, unique_name};
use netplumb::NetNs;

fn exists(name: &str) -> bool {
    NetNs::list().unwrap().iter().any(|n| n == name)
}

#[test]
fn a_killed_runs_namespaces_are_swept_and_no_one_elses() {
    require_root!();
    let prefix = unique_name("np-t-lab");
    let ledger = Path::new(support::LEDGER_DIR).join(&prefix);
    let left = format!("{prefix}-host1");
    let users = format!("{prefix}-mine");
    NetNs::create(&left).unwrap();
    NetNs::create(&users).unwrap();
    // A run that died (no such pid: above any pid_max) listed `left`, not `users`.
    fs::create_dir_all(support::LEDGER_DIR).unwrap();
    fs::write(&ledger, format!("pid 999999999\n{left}\n")).unwrap();

    let mut lab = support::Lab::new(&prefix).unwrap();
    assert!(!exists(&left), "the dead run's namespace is swept");
    assert!(exists(&users), "a namespace no ledger lists is not touched");
    lab.quiet(true);
    let ns = lab.netns("pod").unwrap();
    drop(ns);
    assert!(exists(&format!("{prefix}-pod")));
    let text = fs::read_to_string(&ledger).unwrap();
    assert_eq!(text, format!("pid {}\n{prefix}-pod\n", std::process::id()));
    drop(lab);
    assert!(!exists(&format!("{prefix}-pod")));
    assert!(!ledger.exists());

    // A run that is still going (pid 1 always is) keeps its prefix.
    fs::create_dir_all(support::LEDGER_DIR).unwrap();
    fs::write(&ledger, "pid 1\n").unwrap();
    let err = support::Lab::new(&prefix).err().unwrap().to_string();
    assert!(err.contains("another run (pid 1)"), "{err}");
    assert!(exists(&users));

    fs::remove_file(&ledger).unwrap();
    let _ = fs::remove_dir(support::LEDGER_DIR);
    NetNs::delete(&users).unwrap();
    assert_lab_gone(&prefix);
}

#[test]
fn kept_namespaces_go_with_the_next_run_or_a_sweep() {
    require_root!();
    let prefix = unique_name("np-t-lab");
    {
        let mut lab = support::Lab::new(&prefix).unwrap();
        lab.keep(true);
        lab.netns("a").unwrap();
        lab.netns("b").unwrap();
    }
    assert!(exists(&format!("{prefix}-a")) && exists(&format!("{prefix}-b")));
    assert_eq!(support::sweep(&prefix).unwrap(), 2);
    assert_eq!(
        support::sweep(&prefix).unwrap(),
        0,
        "nothing listed any more"
    );
    assert_lab_gone(&prefix);
}
