//! Agent processes: started inside their host's namespace, listed in the lab's ledger,
//! killed or stopped by pid, their CPU and memory read from `/proc`.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use netplumb::NetNs;

use super::agent::AgentOptions;
use crate::{Lab, Result};

/// How to start an agent: a program and the arguments before the agent's own (an example that
/// is also the agent: `[EXE, "agent"]`; a test binary: `[EXE, "--exact", "TEST"]` with an
/// environment variable that makes that test the agent).
#[derive(Clone, Debug, Default)]
pub struct AgentProgram {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before the agent's options.
    pub args: Vec<String>,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// When set, the agent's options go into this environment variable (one a line) instead
    /// of the command line (for a test binary, whose harness would refuse them).
    pub args_env: Option<String>,
}

/// CPU time and peak memory of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// User and system time.
    pub cpu: Duration,
    /// Peak resident memory in KiB (`VmHWM`).
    pub peak_rss_kib: u64,
}

/// One agent process. Dropping it stops it (SIGTERM, then SIGKILL) unless the lab is kept.
pub struct AgentProcess {
    /// The agent's options.
    pub options: AgentOptions,
    child: Child,
    log: PathBuf,
    keep: bool,
    /// When it was started.
    pub started: Instant,
}

impl AgentProcess {
    /// Starts an agent inside its host's namespace (`options.netns`, a namespace of `lab`),
    /// its output appended to `WORKDIR/LOG.log`, and lists it in the lab's ledger.
    pub fn start(
        lab: &mut Lab,
        program: &AgentProgram,
        options: &AgentOptions,
        log: &str,
    ) -> Result<AgentProcess> {
        let log = lab.workdir()?.join(format!("{log}.log"));
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut cmd = Command::new(&program.program);
        cmd.args(&program.args);
        match &program.args_env {
            Some(var) => cmd.env(var, options.to_args().join("\n")),
            None => cmd.args(options.to_args()),
        };
        cmd.envs(program.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let ns = NetNs::open(&options.netns)?;
        let started = Instant::now();
        let child = ns
            .run(|| cmd.spawn())?
            .map_err(|e| format!("start agent {}: {e}", program.program.display()))?;
        lab.adopt_process(child.id())?;
        Ok(AgentProcess {
            options: options.clone(),
            child,
            log,
            keep: lab.is_kept(),
            started,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a host that dies: no chance to clean anything up. Reaps it.
    pub fn kill(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Waits up to `timeout` for it to exit by itself; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its CPU time so far and its peak memory, from `/proc/PID/schedstat` (or `stat`) and
    /// `/proc/PID/status`.
    pub fn usage(&self) -> Result<Usage> {
        let pid = self.child.id();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let fields: Vec<&str> = stat
            .get(stat.rfind(')').ok_or("bad stat")? + 2..)
            .unwrap_or("")
            .split(' ')
            .collect();
        // utime and stime are fields 14 and 15 (11 and 12 after the command name).
        let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0)
            + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .unwrap_or(100) as u64;
        // The live threads' time on a CPU in nanoseconds, where the kernel keeps it (finer than
        // the clock ticks of `stat`, which also count threads that ended).
        let live: u64 = fs::read_dir(format!("/proc/{pid}/task"))
            .map(|dir| {
                dir.flatten()
                    .filter_map(|t| {
                        fs::read_to_string(t.path().join("schedstat"))
                            .ok()?
                            .split_whitespace()
                            .next()?
                            .parse::<u64>()
                            .ok()
                    })
                    .sum()
            })
            .unwrap_or(0);
        let cpu = Duration::from_nanos(live).max(Duration::from_millis(ticks * 1000 / hz.max(1)));
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        let peak = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Ok(Usage {
            cpu,
            peak_rss_kib: peak,
        })
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if !self.keep {
            crate::etcd::halt(&mut self.child);
        }
    }
}
