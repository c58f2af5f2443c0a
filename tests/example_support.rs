//! The whole-job examples' lab (the `netplumb-lab` crate in `lab/`): what a killed run left
//! (namespaces, daemons, a work directory) is swept by the next run with the same prefix, and
//! nothing else is.

mod common;

use std::fs;
use std::path::Path;

use common::{assert_lab_gone, unique_name};
use netplumb::NetNs;
use netplumb_lab::{sweep, workdir_path, Lab, LEDGER_DIR};

fn exists(name: &str) -> bool {
    NetNs::list().unwrap().iter().any(|n| n == name)
}

/// Writes a ledger as a run would. The ledger directory may vanish between making it and
/// writing into it (a lab of a test running beside this one removes it once it holds no
/// ledger): then it is made again, as the lab itself does.
fn write_ledger(ledger: &Path, text: &str) {
    let mut tries = 0;
    loop {
        fs::create_dir_all(LEDGER_DIR).unwrap();
        match fs::write(ledger, text) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 5 => tries += 1,
            r => break r.unwrap(),
        }
    }
}

#[test]
fn a_killed_runs_namespaces_are_swept_and_no_one_elses() {
    require_root!();
    let prefix = unique_name("np-t-lab");
    let ledger = Path::new(LEDGER_DIR).join(&prefix);
    let left = format!("{prefix}-host1");
    let users = format!("{prefix}-mine");
    NetNs::create(&left).unwrap();
    NetNs::create(&users).unwrap();
    // A run that died (no such pid: above any pid_max) listed `left`, not `users`.
    write_ledger(&ledger, &format!("pid 999999999\n{left}\n"));

    let mut lab = Lab::new(&prefix).unwrap();
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
    write_ledger(&ledger, "pid 1\n");
    let err = Lab::new(&prefix).err().unwrap().to_string();
    assert!(err.contains("another run (pid 1)"), "{err}");
    assert!(exists(&users));

    fs::remove_file(&ledger).unwrap();
    let _ = fs::remove_dir(LEDGER_DIR);
    NetNs::delete(&users).unwrap();
    assert_lab_gone(&prefix);
}

#[test]
fn kept_namespaces_go_with_the_next_run_or_a_sweep() {
    require_root!();
    let prefix = unique_name("np-t-lab");
    {
        let mut lab = Lab::new(&prefix).unwrap();
        lab.keep(true);
        lab.netns("a").unwrap();
        lab.netns("b").unwrap();
    }
    assert!(exists(&format!("{prefix}-a")) && exists(&format!("{prefix}-b")));
    assert_eq!(sweep(&prefix).unwrap(), 2);
    assert_eq!(sweep(&prefix).unwrap(), 0, "nothing listed any more");
    assert_lab_gone(&prefix);
}

#[test]
fn a_killed_runs_processes_and_directory_are_swept_and_no_one_elses() {
    require_root!();
    let prefix = unique_name("np-t-lab");
    let workdir = workdir_path(&prefix);
    // A daemon the dead run started, and a process that only shares a listed pid's number: its
    // start time differs.
    let daemon = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let mut other = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let start_of = |pid: u32| -> u64 {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        fields[19].parse().unwrap()
    };
    fs::create_dir_all(&workdir).unwrap();
    fs::write(workdir.join("host1.conf"), "router id 1.2.3.4;\n").unwrap();
    let ledger = Path::new(LEDGER_DIR).join(&prefix);
    let text = format!(
        "pid 999999999\ndir {}\nproc {} {}\nproc {} {}\n",
        workdir.display(),
        daemon.id(),
        start_of(daemon.id()),
        other.id(),
        start_of(other.id()) + 1,
    );
    write_ledger(&ledger, &text);

    sweep(&prefix).unwrap();
    // The listed daemon was stopped (and, being our child, reaped by the sweep: not even a
    // zombie is left), the other process was not, the directory is gone.
    assert!(!Path::new(&format!("/proc/{}", daemon.id())).exists());
    std::mem::forget(daemon);
    assert!(
        other.try_wait().unwrap().is_none(),
        "an unlisted process was touched"
    );
    assert!(!workdir.exists());
    assert!(!ledger.exists());
    other.kill().unwrap();
    other.wait().unwrap();
    assert_lab_gone(&prefix);
}

#[test]
fn a_lab_stops_its_processes_and_removes_its_directory() {
    require_root!();
    let prefix = unique_name("np-t-lab");
    let mut lab = Lab::new(&prefix).unwrap();
    lab.quiet(true);
    let dir = lab.workdir().unwrap();
    assert_eq!(dir, std::env::temp_dir().join(format!("netplumb-{prefix}")));
    assert_eq!(lab.workdir().unwrap(), dir, "made once");
    fs::write(dir.join("x.conf"), "").unwrap();
    let child = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let pid = child.id();
    lab.adopt_process(pid).unwrap();
    let text = fs::read_to_string(Path::new(LEDGER_DIR).join(&prefix)).unwrap();
    assert!(text.contains(&format!("dir {}\n", dir.display())), "{text}");
    assert!(text.contains(&format!("proc {pid} ")), "{text}");
    drop(lab);
    // Stopped and reaped by the lab (it is our child): no /proc entry, not even a zombie.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    std::mem::forget(child);
    assert_lab_gone(&prefix);
}

#[test]
fn a_work_directory_no_ledger_lists_is_not_touched() {
    require_root!();
    let prefix = unique_name("np-t-lab");
    let dir = workdir_path(&prefix);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("users-file"), "keep me").unwrap();
    let mut lab = Lab::new(&prefix).unwrap();
    lab.quiet(true);
    let err = lab.workdir().unwrap_err().to_string();
    assert!(err.contains("no run with this prefix listed it"), "{err}");
    drop(lab);
    assert_eq!(
        fs::read_to_string(dir.join("users-file")).unwrap(),
        "keep me"
    );
    fs::remove_dir_all(&dir).unwrap();
    assert_lab_gone(&prefix);
}
