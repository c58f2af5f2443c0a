//! Shared harness for the root tests: a fresh unnamed network namespace per test, a skip
//! mechanism that says why, and iproute2's JSON output as an independent oracle.
#![allow(dead_code)]

pub mod driver;

use std::fs::OpenOptions;
use std::io::Write;
use std::process::Command;

use netplumb::{Error, Handle, NetNs};
use serde_json::Value;

/// Where the tests run: `None` on the host, `Some("kernel-vm")` inside the kernel-VM tier's
/// guest (`.ci/kernel-vm.sh` sets `NETPLUMB_TEST_TIER`), which boots Debian's stock kernel.
pub fn test_tier() -> Option<String> {
    std::env::var("NETPLUMB_TEST_TIER")
        .ok()
        .filter(|t| !t.is_empty())
}

/// Reports a skipped test where people (and CI) see it: straight to the process's stderr,
/// bypassing libtest's output capture, and to the file named by `NETPLUMB_SKIP_LOG` if set.
/// On the host the line is `skipped: TEST: REASON`; in another tier it names the tier,
/// `skipped[kernel-vm]: TEST: REASON`, so the two runs' skips can be told apart.
pub fn report_skip(test: &str, reason: &str) {
    let line = match test_tier() {
        Some(tier) => format!("skipped[{tier}]: {test}: {reason}\n"),
        None => format!("skipped: {test}: {reason}\n"),
    };
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Ok(path) = std::env::var("NETPLUMB_SKIP_LOG") {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// The name of the current test, for skip reports.
pub fn test_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

/// Why root tests cannot run here, if they cannot.
pub fn root_unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (CAP_NET_ADMIN); run the tests as root".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("iproute2's `ip` is not installed (the tests' oracle)".into());
    }
    None
}

/// Returns early from a root test, printing why, when it cannot run here.
#[macro_export]
macro_rules! require_root {
    () => {
        if let Some(reason) = $crate::common::root_unavailable() {
            $crate::common::report_skip(&$crate::common::test_name(), &reason);
            return;
        }
    };
}

/// Evaluates a netplumb result; when the kernel lacks the feature, reports a skip and returns.
#[macro_export]
macro_rules! skip_if_unsupported {
    ($e:expr) => {
        match $e {
            Err(e) if e.is_unsupported() => {
                $crate::common::report_skip(&$crate::common::test_name(), &e.to_string());
                return;
            }
            other => other,
        }
    };
}

/// A fresh, unnamed namespace for one test, with a handle in it. Dropping it removes the
/// namespace and everything in it.
pub struct TestNs {
    pub handle: Handle,
    pub ns: NetNs,
}

impl TestNs {
    pub fn new() -> TestNs {
        let ns = NetNs::new_unnamed().expect("create test namespace");
        let handle = Handle::new_in(&ns).expect("open handle in test namespace");
        TestNs { handle, ns }
    }

    /// Runs `ip ARGS…` inside this namespace and parses its JSON output.
    pub fn ip(&self, args: &[&str]) -> Value {
        run_json(&self.ns, "ip", args)
    }

    /// The names `ip -j link show SELECTORS…` lists, sorted: empty when it prints nothing
    /// (no link matches), and without the empty objects iproute2 6.1 prints for the links a
    /// `group` or `type` selector leaves out.
    pub fn ip_link_names(&self, selectors: &[&str]) -> Vec<String> {
        let mut args = vec!["-j", "link", "show"];
        args.extend_from_slice(selectors);
        let mut names: Vec<String> = self
            .ip(&args)
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|l| Some(l.get("ifname")?.as_str()?.to_string()))
            .collect();
        names.sort();
        names
    }

    /// Runs `bridge ARGS…` inside this namespace and parses its JSON output.
    pub fn bridge(&self, args: &[&str]) -> Value {
        run_json(&self.ns, "bridge", args)
    }

    /// `ip -j -d link show dev NAME` as one object, or `None` when the link does not exist.
    pub fn ip_link(&self, name: &str) -> Option<Value> {
        let out = self
            .ns
            .run(|| {
                Command::new("ip")
                    .args(["-j", "-d", "link", "show", "dev", name])
                    .output()
            })
            .unwrap()
            .unwrap();
        if !out.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&out.stdout).expect("ip -j output is JSON");
        v.as_array().and_then(|a| a.first().cloned())
    }

    /// Runs a shell-free command inside the namespace and asserts it succeeded.
    pub fn sh(&self, program: &str, args: &[&str]) {
        let out = self
            .ns
            .run(|| Command::new(program).args(args).output())
            .unwrap()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a shell-free command inside the namespace; its stderr when it fails.
    pub fn try_sh(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .ns
            .run(|| Command::new(program).args(args).output())
            .unwrap()
            .unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

pub fn run_json(ns: &NetNs, program: &str, args: &[&str]) -> Value {
    let out = ns
        .run(|| Command::new(program).args(args).output())
        .expect("enter namespace")
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Array(vec![]);
    }
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{program} {args:?}: not JSON ({e})"))
}

/// A name unique to this process and call, for named namespaces that tests must create.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Asserts that an operation failed with invalid input naming `arg`.
pub fn assert_invalid<T: std::fmt::Debug>(r: Result<T, Error>, arg: &str) {
    match r {
        Err(Error::InvalidInput { arg: a, reason }) => {
            assert_eq!(a, arg, "wrong argument blamed ({reason})")
        }
        other => panic!("expected invalid {arg}, got {other:?}"),
    }
}

/// Runs its closure when dropped: cleanup that must happen even when a test panics.
pub struct OnDrop<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Asserts that the whole-job example that ran with namespace prefix `prefix` left nothing
/// behind: no namespace named `PREFIX-…`, no mount of one under `/run/netns`, no ledger of
/// them (in [`netplumb_lab::LEDGER_DIR`]), no work directory ([`netplumb_lab::workdir_path`])
/// and no process whose command line names it. Links live inside those namespaces and go with them.
pub fn assert_lab_gone(prefix: &str) {
    let mine = format!("{prefix}-");
    let left: Vec<String> = NetNs::list()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(&mine))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let needle = format!("/run/netns/{mine}");
    let stale: Vec<&str> = mounts.lines().filter(|l| l.contains(&needle)).collect();
    assert!(stale.is_empty(), "namespace mounts left behind: {stale:?}");
    let ledger = std::path::Path::new(netplumb_lab::LEDGER_DIR).join(prefix);
    assert!(!ledger.exists(), "{} left behind", ledger.display());
    // The lab's work directory (daemons' configurations, sockets, logs), and any process
    // started with a file in it (a BIRD): `cmdline` separates arguments with NULs.
    let workdir = netplumb_lab::workdir_path(prefix);
    assert!(!workdir.exists(), "{} left behind", workdir.display());
    // With the slash, a lab whose prefix extends this one's does not match.
    let needle = format!("{}/", workdir.display());
    let mut alive = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) {
            alive.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    assert!(alive.is_empty(), "processes left behind: {alive:?}");
    // The ledgers' directory goes with its last ledger; tests of other labs may still run, so
    // its absence is checked by CI's host-state check at the end rather than here.
}
