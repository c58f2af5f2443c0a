//! [`Lab`]: the named namespaces, work directory and daemons of one run, removed again whatever
//! happens, and the ledger through which a later run sweeps what a killed one left.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use netplumb::NetNs;

use crate::Result;

/// Where each lab lists the namespaces it created (one file per prefix: the owner's pid, then
/// a name a line), so that a later run with the same prefix deletes exactly those after a run
/// that was killed, and never a namespace of someone else's that happens to share the prefix.
pub const LEDGER_DIR: &str = "/run/netplumb-examples";

/// The work directory of the lab with `prefix`: `$TMPDIR/netplumb-PREFIX`.
pub fn workdir_path(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("netplumb-{prefix}"))
}

fn ledger_path(prefix: &str) -> PathBuf {
    Path::new(LEDGER_DIR).join(prefix)
}

/// The named namespaces one run of an example creates, all starting with one prefix (so that
/// `ip netns list` shows whose they are and tests can run two examples side by side). Dropping
/// the lab deletes them, also after a failure or a panic, and deleting a namespace removes every
/// link inside it.
pub struct Lab {
    prefix: String,
    created: Vec<String>,
    workdir: Option<PathBuf>,
    processes: Vec<(u32, u64)>,
    keep: bool,
    quiet: bool,
}

impl Lab {
    /// A lab whose namespaces are named `PREFIX-…`. Namespaces that an earlier run with this
    /// prefix created and could not delete (it was killed, or kept them) are deleted first, and
    /// named; a run with this prefix that is still going is an error.
    pub fn new(prefix: &str) -> Result<Lab> {
        if prefix.is_empty() || prefix.contains('/') || prefix.starts_with('.') {
            return Err(format!("bad namespace prefix {prefix:?}").into());
        }
        let ledger = ledger_path(prefix);
        if let Ok(text) = fs::read_to_string(&ledger) {
            let mut lines = text.lines();
            let owner: Option<u32> = lines
                .next()
                .and_then(|l| l.strip_prefix("pid ")?.parse().ok());
            if let Some(pid) = owner {
                if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
                    return Err(format!(
                        "another run (pid {pid}) is using the namespace prefix {prefix:?}; \
                         choose another with --prefix"
                    )
                    .into());
                }
            }
            sweep(prefix)?;
        }
        write_ledger(&ledger)?;
        Ok(Lab {
            prefix: prefix.to_string(),
            created: Vec::new(),
            workdir: None,
            processes: Vec::new(),
            keep: false,
            quiet: false,
        })
    }

    /// Keeps the namespaces when the lab is dropped (for a look with `ip netns exec`); the
    /// next run with the same prefix, or [`sweep`], deletes them.
    pub fn keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Whether the lab is kept when dropped.
    pub(crate) fn is_kept(&self) -> bool {
        self.keep
    }

    /// Deletes without printing a line per namespace.
    pub fn quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// The full name of the lab's namespace `short`.
    pub fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    /// Appends a line to the lab's ledger.
    fn list(&self, line: &str) -> Result<()> {
        let mut ledger = OpenOptions::new()
            .append(true)
            .open(ledger_path(&self.prefix))?;
        writeln!(ledger, "{line}")?;
        Ok(())
    }

    /// Creates the named namespace `PREFIX-short` (`ip netns add`), with its loopback up.
    pub fn netns(&mut self, short: &str) -> Result<NetNs> {
        let name = self.name(short);
        // Listed before it exists, so that no kill can leave it unlisted.
        self.list(&name)?;
        let ns = NetNs::create(&name).map_err(|e| format!("ip netns add {name}: {e}"))?;
        self.created.push(name);
        netplumb::Handle::new_in(&ns)?.set_link_up("lo")?;
        Ok(ns)
    }

    /// The lab's own directory for files that programs it runs need (configurations, sockets,
    /// logs): [`workdir_path`], made on the first call, removed with the lab. A directory of
    /// that name that no ledger lists is someone else's: then this is an error.
    pub fn workdir(&mut self) -> Result<PathBuf> {
        if let Some(dir) = &self.workdir {
            return Ok(dir.clone());
        }
        let dir = workdir_path(&self.prefix);
        // A unix socket's path has at most 107 bytes; BIRD's would be DIR/NAME.ctl.
        if dir.as_os_str().len() > 80 {
            return Err(format!(
                "{}: too long for the control sockets inside it (unix socket paths have at \
                 most 107 bytes); set a shorter TMPDIR or --prefix",
                dir.display()
            )
            .into());
        }
        if dir.exists() {
            return Err(format!(
                "{} exists and no run with this prefix listed it; remove it or choose another \
                 --prefix",
                dir.display()
            )
            .into());
        }
        self.list(&format!("dir {}", dir.display()))?;
        fs::create_dir(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        self.workdir = Some(dir.clone());
        Ok(dir)
    }

    /// Lists a process this lab started (a daemon inside one of its namespaces), so that the
    /// lab, or a later run's sweep after a kill, stops it. Processes are told apart from a
    /// later process with the same pid by their start time.
    pub fn adopt_process(&mut self, pid: u32) -> Result<()> {
        let start =
            process_start_time(pid).ok_or_else(|| format!("process {pid} is gone already"))?;
        self.list(&format!("proc {pid} {start}"))?;
        self.processes.push((pid, start));
        Ok(())
    }

    /// Deletes every namespace of the lab now (after stopping the processes it started and
    /// before removing its directory), and says how many namespaces there were.
    fn teardown(&mut self) -> Result<usize> {
        let mut first_error = None;
        for (pid, start) in self.processes.drain(..) {
            stop_process(pid, start);
        }
        let n = self.created.len();
        for name in self.created.drain(..).rev() {
            if let Err(e) = NetNs::delete(&name) {
                first_error.get_or_insert(format!("ip netns delete {name}: {e}"));
            }
        }
        if let Some(dir) = self.workdir.take() {
            if let Err(e) = fs::remove_dir_all(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    first_error.get_or_insert(format!("remove {}: {e}", dir.display()));
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => {
                remove_ledger(&ledger_path(&self.prefix))?;
                Ok(n)
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            if !self.created.is_empty() {
                println!(
                    "kept {} namespaces: {} (the next run with this prefix deletes them)",
                    self.created.len(),
                    self.created.join(" ")
                );
            }
            if let Some(dir) = &self.workdir {
                println!(
                    "kept {} processes and {} (the next run with this prefix stops and removes them)",
                    self.processes.len(),
                    dir.display()
                );
            }
            return;
        }
        match self.teardown() {
            Ok(0) => {}
            Ok(n) if !self.quiet => println!("deleted {n} namespaces ({}-*)", self.prefix),
            Ok(_) => {}
            Err(e) => eprintln!("cleanup: {e}"),
        }
    }
}

/// Deletes the namespaces that runs with `prefix` listed and left (killed, failed with
/// `keep`, or kept), after stopping the processes they listed and before removing their
/// directory, then the list itself; says how many namespaces went. Namespaces, processes and
/// directories the list does not name are never touched.
pub fn sweep(prefix: &str) -> Result<usize> {
    let ledger = ledger_path(prefix);
    let text = match fs::read_to_string(&ledger) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("read {}: {e}", ledger.display()).into()),
    };
    let lines: Vec<&str> = text.lines().skip(1).collect();
    for line in &lines {
        let Some(rest) = line.strip_prefix("proc ") else {
            continue;
        };
        let mut parts = rest.split(' ').map(str::parse::<u64>);
        if let (Some(Ok(pid)), Some(Ok(start))) = (parts.next(), parts.next()) {
            let pid = u32::try_from(pid).map_err(|_| format!("bad ledger line {line:?}"))?;
            if stop_process(pid, start) {
                eprintln!("stopped process {pid}, left by an earlier run");
            }
        }
    }
    let existing = NetNs::list()?;
    let mut n = 0;
    for name in lines.iter().copied().filter(|l| !l.contains(' ')) {
        if existing.iter().any(|e| e == name) {
            NetNs::delete(name).map_err(|e| format!("ip netns delete {name}: {e}"))?;
            eprintln!("deleted netns {name}, left by an earlier run");
            n += 1;
        }
    }
    for dir in lines.iter().filter_map(|l| l.strip_prefix("dir ")) {
        match fs::remove_dir_all(dir) {
            Ok(()) => eprintln!("removed {dir}, left by an earlier run"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("remove {dir}: {e}").into()),
        }
    }
    remove_ledger(&ledger)?;
    Ok(n)
}

/// Whether a lab's ledger lists the namespace `name` (a lab made it and has not deleted it).
pub(crate) fn is_lab_namespace(name: &str) -> bool {
    let Ok(dir) = fs::read_dir(LEDGER_DIR) else {
        return false;
    };
    dir.flatten().any(|entry| {
        fs::read_to_string(entry.path()).is_ok_and(|text| text.lines().skip(1).any(|l| l == name))
    })
}

/// The state letter (`R`, `S`, `Z`, …) of process `pid` and when it started (field 22 of
/// `/proc/PID/stat`, clock ticks after boot), if there is such a process (a zombie included).
fn process_stat(pid: u32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    Some((
        fields.first()?.chars().next()?,
        fields.get(19)?.parse().ok()?,
    ))
}

/// When process `pid` started, if it is running (an exited, unreaped child is not).
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    process_stat(pid)
        .filter(|(state, _)| *state != 'Z')
        .map(|(_, start)| start)
}

/// Stops process `pid` if it is still the one that started at `start`: SIGTERM, up to 3 s to
/// exit, then SIGKILL and up to 5 s more. Reaps it only once it is a zombie with that start
/// time (when it is our child; for another's the wait fails and changes nothing), so no other
/// process's status is ever taken. Says whether it was running.
pub(crate) fn stop_process(pid: u32, start: u64) -> bool {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let id = nix::unistd::Pid::from_raw(pid as i32);
    // Running (Some(true)), exited but unreaped (Some(false)), or gone / another process.
    let ours = || match process_stat(pid) {
        Some((state, s)) if s == start => Some(state != 'Z'),
        _ => None,
    };
    let gone = || match ours() {
        Some(true) => false,
        Some(false) => {
            let _ = waitpid(id, Some(WaitPidFlag::WNOHANG));
            true
        }
        None => true,
    };
    if ours() != Some(true) {
        gone();
        return false;
    }
    for (signal, wait) in [(Signal::SIGTERM, 3), (Signal::SIGKILL, 5)] {
        let _ = kill(id, signal);
        let deadline = Instant::now() + Duration::from_secs(wait);
        while Instant::now() < deadline {
            if gone() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    eprintln!("process {pid} does not exit even after SIGKILL; left as it is");
    true
}

/// Starts a ledger owned by this process. The directory may vanish under a lab of another
/// thread that removed it as empty a moment ago: then it is made again.
fn write_ledger(ledger: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        fs::create_dir_all(LEDGER_DIR).map_err(|e| format!("create {LEDGER_DIR}: {e}"))?;
        match fs::write(ledger, format!("pid {}\n", std::process::id())) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 5 => tries += 1,
            r => return r.map_err(|e| format!("write {}: {e}", ledger.display()).into()),
        }
    }
}

/// Removes a ledger, and the directory once no ledger is left in it.
fn remove_ledger(ledger: &Path) -> Result<()> {
    match fs::remove_file(ledger) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("remove {}: {e}", ledger.display()).into())
        }
        _ => {}
    }
    // Fails while other ledgers are there, as it should.
    let _ = fs::remove_dir(LEDGER_DIR);
    Ok(())
}
