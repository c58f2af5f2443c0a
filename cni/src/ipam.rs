//! IPAM delegation (SPEC.md section 4): the plugin named by `ipam.type` is looked up in
//! `CNI_PATH`, run with the same environment (only `CNI_COMMAND` may differ) and the
//! configuration exactly as this plugin received it; its stderr is ours. Our own IPAM
//! ([`hostlocal::NAME`]) is called in-process, which is the same protocol without the exec.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};

use serde_json::Value;

use crate::ctx::{Command, Ctx};
use crate::hostlocal;
use crate::spec::{code, CniError, CniResult, Result100};

fn find(ctx: &Ctx, name: &str) -> CniResult<PathBuf> {
    if name.is_empty() || name.contains('/') {
        return Err(CniError::config(format!(
            "ipam.type {name:?} is not a plugin name"
        )));
    }
    for dir in &ctx.path {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(CniError::new(
        code::INVALID_CONFIG,
        format!("failed to find IPAM plugin {name:?}"),
        format!(
            "no executable {name:?} in CNI_PATH [{}]",
            ctx.path
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// An IPAM call under way: our IPAM runs when it is waited for; another plugin has been
/// started (its configuration written) and runs meanwhile.
pub struct Pending<'a> {
    ctx: &'a Ctx,
    command: Command,
    child: Option<(PathBuf, Child)>,
    done: Option<Option<Result100>>,
}

/// Starts the IPAM plugin with `command`; [`Pending::wait`] collects its answer. A plugin that
/// cannot be found or run is an error here, before anything else is done, and so is any
/// failure of our own IPAM, which runs here at once (it takes well under a millisecond).
pub fn start(ctx: &Ctx, command: Command) -> CniResult<Pending<'_>> {
    let name = ctx.common.ipam_type();
    if name == hostlocal::NAME {
        return Ok(Pending {
            ctx,
            command,
            child: None,
            done: Some(hostlocal::run(ctx, command)?),
        });
    }
    let path = find(ctx, name)?;
    let mut child = Process::new(&path)
        .env("CNI_COMMAND", command.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            CniError::new(
                code::DELEGATE,
                format!("IPAM plugin {name:?} failed ({})", command.as_str()),
                format!("cannot run {}: {e}", path.display()),
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A configuration is far smaller than a pipe's buffer: this does not wait for the
        // plugin. One that exits without reading its input is judged by its answer.
        let _ = stdin.write_all(&ctx.stdin);
    }
    Ok(Pending {
        ctx,
        command,
        child: Some((path, child)),
        done: None,
    })
}

impl Pending<'_> {
    /// Waits for the answer: a result for ADD, nothing otherwise; the delegate's error object
    /// is passed on with its code.
    pub fn wait(self) -> CniResult<Option<Result100>> {
        let Pending {
            ctx,
            command,
            child,
            done,
        } = self;
        let Some((path, child)) = child else {
            return Ok(done.flatten());
        };
        let name = ctx.common.ipam_type();
        let failed = |why: String| {
            CniError::new(
                code::DELEGATE,
                format!("IPAM plugin {name:?} failed ({})", command.as_str()),
                why,
            )
        };
        let out = child
            .wait_with_output()
            .map_err(|e| failed(format!("waiting for {}: {e}", path.display())))?;
        if !out.status.success() {
            if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
                if let Some(c) = v.get("code").and_then(Value::as_u64) {
                    let msg = v.get("msg").and_then(Value::as_str).unwrap_or("");
                    let details = v.get("details").and_then(Value::as_str).unwrap_or("");
                    return Err(CniError::new(
                        u32::try_from(c).unwrap_or(code::DELEGATE),
                        format!("IPAM plugin {name:?}: {msg}"),
                        details,
                    ));
                }
            }
            return Err(failed(format!(
                "{} exited with {}: {}",
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim()
            )));
        }
        if command != Command::Add {
            return Ok(None);
        }
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| failed(format!("its result is not JSON: {e}")))?;
        Result100::from_value(&v, &format!("the result of IPAM plugin {name:?}")).map(Some)
    }

    /// Waits for an ADD's answer; a result without addresses is an error (after IPAM's DEL).
    pub fn wait_add(self) -> CniResult<Result100> {
        let ctx = self.ctx;
        let r = self.wait()?.unwrap_or_default();
        if r.ips.is_empty() {
            let _ = exec(ctx, Command::Del);
            return Err(CniError::new(
                code::DELEGATE,
                "IPAM plugin returned missing IP config",
                format!("{:?} returned no addresses", ctx.common.ipam_type()),
            ));
        }
        Ok(r)
    }
}

/// Runs the IPAM plugin with `command`; its result for ADD, nothing otherwise.
pub fn exec(ctx: &Ctx, command: Command) -> CniResult<Option<Result100>> {
    start(ctx, command)?.wait()
}
