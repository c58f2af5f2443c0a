//! `netplumb-cni`: CNI plugins built on netplumb — `bridge`, `ptp`, `macvlan`, `ipvlan`,
//! `vlan`, `dummy`, `tap`, flannel's `flannel` meta-plugin and a `host-local`-compatible IPAM in
//! one executable (CNI spec 1.0.0; configs of 0.3.0, 0.3.1, 0.4.0 and 1.0.0; `STATUS` and `GC`
//! of 1.1.0).
//!
//! Which plugin it is: the name it was run under (install it as `bridge`, `ptp`, `macvlan`,
//! `ipvlan`, `vlan`, `dummy`, `tap`, `host-local`, or with a `netplumb-` prefix), else the configuration's `type`. Installed as
//! an IPAM name (or given a configuration whose own `type` is one), it is the IPAM plugin. Answers go to stdout (a result, or the spec's error object with a non-zero
//! exit status); logs to stderr.
#![deny(unsafe_code)]

use std::io::{Read, Write};

mod ctx;
mod hostlocal;
mod ipam;
mod plugins;
mod spec;
mod sys;

use ctx::{version_json, Command, Ctx, Env};
use spec::{code, CniError, CniResult, Result100, CURRENT_VERSION};

/// The role this process plays.
enum Role {
    Interface(&'static dyn plugins::Plugin),
    Ipam,
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_ipam_name(name: &str) -> bool {
    name == "host-local" || name == hostlocal::NAME
}

/// The role: from `argv[0]` when it names one, else from the configuration.
fn role(argv0: &str, ctx: &Ctx) -> CniResult<Role> {
    let me = base_name(argv0);
    if is_ipam_name(me) {
        return Ok(Role::Ipam);
    }
    if let Some(p) = plugins::by_name(me) {
        return Ok(Role::Interface(p));
    }
    // Run under another name (netplumb-cni): the configuration's own `type` says which plugin
    // (an IPAM plugin is found by the name it is run under, never by guessing).
    if is_ipam_name(&ctx.common.kind) {
        return Ok(Role::Ipam);
    }
    plugins::by_name(&ctx.common.kind)
        .map(Role::Interface)
        .ok_or_else(|| {
            CniError::config(format!(
                "unknown plugin type {:?} (netplumb-cni is bridge, ptp, macvlan, ipvlan, vlan, dummy, tap, flannel or host-local)",
                ctx.common.kind
            ))
        })
}

/// Merges our result into a previous plugin's (chaining): its interfaces, addresses and
/// routes come first, ours follow with their interface indexes shifted.
fn chain(prev: Option<Result100>, mut ours: Result100) -> Result100 {
    let Some(mut prev) = prev else { return ours };
    let shift = prev.interfaces.len();
    for ip in &mut ours.ips {
        ip.interface = ip.interface.map(|i| i + shift);
    }
    prev.interfaces.append(&mut ours.interfaces);
    prev.ips.append(&mut ours.ips);
    prev.routes.append(&mut ours.routes);
    if !ours.dns.is_empty() {
        prev.dns = ours.dns;
    }
    prev
}

fn prev_result(ctx: &Ctx) -> CniResult<Option<Result100>> {
    match ctx.common.prev_result.as_ref() {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => Result100::from_value(v, "prevResult").map(Some),
    }
}

/// Runs one command; the text for stdout on success.
fn run(argv0: &str, ctx: &Ctx) -> CniResult<String> {
    match role(argv0, ctx)? {
        Role::Ipam => match ctx.command {
            Command::Add => {
                let r = hostlocal::run(ctx, Command::Add)?.unwrap_or_default();
                Ok(r.to_json(ctx.version()))
            }
            cmd => hostlocal::run(ctx, cmd).map(|_| String::new()),
        },
        Role::Interface(p) => match ctx.command {
            Command::Add => {
                let prev = prev_result(ctx)?;
                let r = p.add(ctx)?;
                let prev = if p.replaces_prev(ctx) { None } else { prev };
                Ok(chain(prev, r).to_json(ctx.version()))
            }
            Command::Del => p.del(ctx).map(|()| String::new()),
            Command::Check => {
                let prev = prev_result(ctx)?.ok_or_else(|| {
                    CniError::config("CHECK needs prevResult (the result of the ADD)")
                })?;
                p.check(ctx, &prev).map(|()| String::new())
            }
            Command::Version => Ok(version_json(ctx.version())),
            Command::Status => p.status(ctx).map(|()| String::new()),
            Command::Gc => p.gc(ctx).map(|()| String::new()),
        },
    }
}

fn answer(out: &str, err: Option<(&CniError, &str)>) -> ! {
    let mut stdout = std::io::stdout().lock();
    let code = match err {
        None => {
            let _ = stdout.write_all(out.as_bytes());
            0
        }
        Some((e, version)) => {
            let _ = stdout.write_all(e.to_json(version).as_bytes());
            let _ = writeln!(std::io::stderr(), "netplumb-cni: {e}");
            1
        }
    };
    let _ = stdout.flush();
    std::process::exit(code)
}

fn main() {
    // No input should panic; if something does, the runtime still gets an error object.
    std::panic::set_hook(Box::new(|info| {
        let e = CniError::new(code::KERNEL, "internal error", info.to_string());
        let _ = writeln!(std::io::stdout(), "{}", e.to_json(CURRENT_VERSION));
        let _ = writeln!(std::io::stderr(), "netplumb-cni: {info}");
        std::process::exit(1);
    }));
    sys::trace("start");
    let argv0 = std::env::args().next().unwrap_or_default();
    let env = match Env::read() {
        Ok(env) => env,
        Err(e) => {
            if std::env::args().any(|a| a == "--version" || a == "-V") {
                println!(
                    "netplumb-cni {} (CNI {})",
                    env!("CARGO_PKG_VERSION"),
                    spec::SUPPORTED_VERSIONS.join(", ")
                );
                std::process::exit(0);
            }
            answer("", Some((&e, CURRENT_VERSION)))
        }
    };
    let mut stdin = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut stdin) {
        let e = CniError::new(
            code::IO_FAILURE,
            "failed to read the configuration",
            e.to_string(),
        );
        answer("", Some((&e, CURRENT_VERSION)))
    }
    if env.command == Command::Version {
        // VERSION needs no valid configuration: podman sends a bare {"cniVersion"}.
        let v = serde_json::from_slice::<serde_json::Value>(&stdin)
            .ok()
            .and_then(|v| {
                v.get("cniVersion")
                    .and_then(|s| s.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        if let Some(path) = std::env::var_os("NETPLUMB_CNI_LOG") {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{} VERSION {v} - - ok", base_name(&argv0));
            }
        }
        answer(&version_json(&v), None)
    }
    let version_hint = serde_json::from_slice::<serde_json::Value>(&stdin)
        .ok()
        .and_then(|v| {
            v.get("cniVersion")
                .and_then(|s| s.as_str())
                .map(str::to_string)
        })
        .filter(|v| spec::version_supported(v))
        .unwrap_or_else(|| CURRENT_VERSION.to_string());
    let ctx = match env.into_ctx(stdin) {
        Ok(c) => c,
        Err(e) => answer("", Some((&e, &version_hint))),
    };
    sys::trace("config read");
    let outcome = run(&argv0, &ctx);
    sys::trace("done");
    log_call(&argv0, &ctx, outcome.as_ref().err());
    match outcome {
        Ok(out) => answer(&out, None),
        Err(e) => answer("", Some((&e, &version_hint))),
    }
}

/// With `NETPLUMB_CNI_LOG=FILE` in the environment (runtimes pass theirs on), or
/// `"netplumbLog": "FILE"` in the plugin's configuration, one line per call is appended: the name run under, the command, the container, the interface, the
/// outcome. For seeing what a runtime asks; nothing is logged otherwise.
fn log_call(argv0: &str, ctx: &Ctx, err: Option<&CniError>) {
    let from_conf = ctx
        .conf
        .get("netplumbLog")
        .and_then(serde_json::Value::as_str)
        .map(std::ffi::OsString::from);
    let Some(path) = std::env::var_os("NETPLUMB_CNI_LOG").or(from_conf) else {
        return;
    };
    let outcome = match err {
        None => "ok".to_string(),
        Some(e) => format!("error {}", e.code),
    };
    let line = format!(
        "{} {} {} {} {} {}\n",
        base_name(argv0),
        ctx.command.as_str(),
        ctx.common.cni_version,
        ctx.container_id,
        ctx.ifname,
        outcome
    );
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}
