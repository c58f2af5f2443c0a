//! `flannel`: flannel's CNI meta-plugin (flannel-io/cni-plugin). It makes nothing itself: ADD
//! reads the subnet file flannel's agent writes for this host (`subnetFile`, default
//! `/run/flannel/subnet.env`: `FLANNEL_NETWORK`, `FLANNEL_SUBNET`, `FLANNEL_MTU`,
//! `FLANNEL_IPMASQ`, and the `FLANNEL_IPV6_*` pair), renders a configuration for the plugin
//! named by `delegate.type` (default `bridge`) and executes that plugin from `CNI_PATH`, as
//! flannel's plugin does:
//!
//! - `name` and `cniVersion` from this configuration, `runtimeConfig` passed on;
//! - `ipMasq` = not `FLANNEL_IPMASQ` (when the agent does not masquerade, the plugin does),
//!   `mtu` = `FLANNEL_MTU`, and for `bridge` `isGateway` = true — each only when `delegate`
//!   does not set it;
//! - `ipam`: this configuration's `ipam` (type default `host-local`) with `ranges` = the
//!   host's subnet(s) and `routes` = its own routes followed by the flannel network(s).
//!
//! The rendered configuration is kept in `dataDir/CONTAINERID` (default
//! `/var/lib/cni/flannel`, file mode 0600) for DEL, which hands exactly that to the delegate
//! and removes the file once the delegate succeeded; a DEL without the file is success (the
//! spec's "already gone"). CHECK, which flannel's plugin leaves empty, passes the stored
//! configuration with `prevResult` to the delegate. STATUS is ready when the subnet file is
//! there and valid.
//!
//! Errors: no subnet file is code 11 (try again later: the agent has not leased a subnet
//! yet); a subnet file that cannot be read is code 5; one with a malformed line or without a
//! variable flannel needs is code 6 (naming the line or the variables); a `delegate` that sets
//! `name` or `ipam`, or whose `type` is not a string (or is `flannel` itself), is code 7. A
//! delegate's own error object is passed on with its code.
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use ipnetwork::IpNetwork;
use serde_json::{json, Map, Value};

use super::{network_of, Plugin};
use crate::ctx::{Command, Ctx};
use crate::spec::{cidr, code, CniError, CniResult, Result100};

/// flannel's plugin.
pub struct Flannel;

/// Where flannel's agent writes the subnet file by default.
pub const DEFAULT_SUBNET_FILE: &str = "/run/flannel/subnet.env";
/// Where the rendered delegate configurations are kept by default.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/flannel";

/// What the subnet file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetEnv {
    /// `FLANNEL_NETWORK` and `FLANNEL_IPV6_NETWORK` (networks, host bits cleared).
    pub networks: Vec<IpNetwork>,
    /// `FLANNEL_SUBNET` and `FLANNEL_IPV6_SUBNET` (this host's subnets, host bits cleared).
    pub subnets: Vec<IpNetwork>,
    /// `FLANNEL_MTU`.
    pub mtu: u32,
    /// `FLANNEL_IPMASQ` (`true` when the agent masquerades).
    pub ipmasq: bool,
}

/// Parses a subnet file's text; `file` names it in errors (code 6).
pub fn parse_subnet_env(text: &str, file: &str) -> CniResult<SubnetEnv> {
    let bad =
        |details: String| CniError::new(code::DECODE, "malformed flannel subnet file", details);
    let (mut nw, mut sn, mut nw6, mut sn6) = (None, None, None, None);
    let (mut mtu, mut ipmasq) = (None, None);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let net = |v6: bool| {
            crate::spec::parse_cidr(value)
                .filter(|n| n.is_ipv6() == v6)
                .map(|n| network_of(&n))
                .ok_or_else(|| {
                    bad(format!(
                        "{file} line {}: {key}={value:?} is not an IPv{} CIDR",
                        i + 1,
                        if v6 { 6 } else { 4 }
                    ))
                })
        };
        match key.trim() {
            "FLANNEL_NETWORK" => nw = Some(net(false)?),
            "FLANNEL_SUBNET" => sn = Some(net(false)?),
            "FLANNEL_IPV6_NETWORK" => nw6 = Some(net(true)?),
            "FLANNEL_IPV6_SUBNET" => sn6 = Some(net(true)?),
            "FLANNEL_MTU" => {
                mtu = Some(value.parse::<u32>().map_err(|_| {
                    bad(format!(
                        "{file} line {}: FLANNEL_MTU={value:?} is not a number",
                        i + 1
                    ))
                })?)
            }
            "FLANNEL_IPMASQ" => ipmasq = Some(value == "true"),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    if nw.is_none() && nw6.is_none() {
        missing.push("FLANNEL_NETWORK or FLANNEL_IPV6_NETWORK");
    }
    if sn.is_none() && sn6.is_none() {
        missing.push("FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET");
    }
    if mtu.is_none() {
        missing.push("FLANNEL_MTU");
    }
    if ipmasq.is_none() {
        missing.push("FLANNEL_IPMASQ");
    }
    if !missing.is_empty() {
        return Err(bad(format!("{file} is missing {}", missing.join(", "))));
    }
    Ok(SubnetEnv {
        networks: [nw, nw6].into_iter().flatten().collect(),
        subnets: [sn, sn6].into_iter().flatten().collect(),
        mtu: mtu.unwrap_or_default(),
        ipmasq: ipmasq.unwrap_or_default(),
    })
}

/// Reads the subnet file: missing is code 11, unreadable code 5, malformed code 6.
pub fn read_subnet_env(path: &Path) -> CniResult<SubnetEnv> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            CniError::new(
                code::TRY_AGAIN,
                "flannel's subnet file is missing",
                format!(
                    "{}: no such file (flannel's agent writes it once it holds a lease)",
                    path.display()
                ),
            )
        } else {
            CniError::new(
                code::IO_FAILURE,
                "cannot read flannel's subnet file",
                format!("{}: {e}", path.display()),
            )
        }
    })?;
    parse_subnet_env(&text, &path.display().to_string())
}

/// A string field of the configuration, or its default; another JSON type is code 7.
fn str_field(conf: &Value, key: &str, default: &str) -> CniResult<String> {
    match conf.get(key) {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(v) => Err(CniError::config(format!(
            "{key}: {v} is not a non-empty string"
        ))),
    }
}

/// An object field of the configuration (absent: empty); another JSON type is code 7.
fn obj_field(conf: &Value, key: &str) -> CniResult<Option<Map<String, Value>>> {
    match conf.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(v) => Err(CniError::config(format!("{key}: {v} is not an object"))),
    }
}

fn subnet_file(ctx: &Ctx) -> CniResult<PathBuf> {
    str_field(&ctx.conf, "subnetFile", DEFAULT_SUBNET_FILE).map(PathBuf::from)
}

/// `dataDir/CONTAINERID` (the container ID was checked: no `/`).
fn scratch_path(ctx: &Ctx) -> CniResult<PathBuf> {
    let dir = str_field(&ctx.conf, "dataDir", DEFAULT_DATA_DIR)?;
    Ok(Path::new(&dir).join(&ctx.container_id))
}

/// The delegate's configuration, rendered as flannel's plugin renders it.
pub fn render_delegate(conf: &Value, env: &SubnetEnv) -> CniResult<Map<String, Value>> {
    let mut d = obj_field(conf, "delegate")?.unwrap_or_default();
    match d.get("type") {
        None => {}
        Some(Value::String(t)) if t.strip_prefix("netplumb-").unwrap_or(t) == "flannel" => {
            return Err(CniError::config(
                "delegate.type \"flannel\" would run flannel again: name the plugin that \
                 makes the interface (bridge, ipvlan, …)",
            ));
        }
        Some(Value::String(t)) if !t.is_empty() => {}
        Some(v) => {
            return Err(CniError::config(format!(
                "'delegate' dictionary, if present, must have (string) 'type' field (got {v})"
            )))
        }
    }
    for key in ["name", "ipam"] {
        if d.contains_key(key) {
            return Err(CniError::config(format!(
                "'delegate' dictionary must not have '{key}' field, it is set by flannel"
            )));
        }
    }
    if let Some(rc) = obj_field(conf, "runtimeConfig")? {
        d.insert("runtimeConfig".into(), Value::Object(rc));
    }
    d.insert(
        "name".into(),
        conf.get("name").cloned().unwrap_or(Value::Null),
    );
    d.entry("type").or_insert_with(|| json!("bridge"));
    d.entry("ipMasq").or_insert_with(|| json!(!env.ipmasq));
    d.entry("mtu").or_insert_with(|| json!(env.mtu));
    let kind = d.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "bridge" || kind == "netplumb-bridge" {
        d.entry("isGateway").or_insert_with(|| json!(true));
    }
    if let Some(v) = conf.get("cniVersion").and_then(Value::as_str) {
        if !v.is_empty() {
            d.insert("cniVersion".into(), json!(v));
        }
    }
    let mut ipam = obj_field(conf, "ipam")?.unwrap_or_default();
    ipam.entry("type").or_insert_with(|| json!("host-local"));
    let ranges: Vec<Value> = env
        .subnets
        .iter()
        .map(|s| json!([{ "subnet": cidr(s) }]))
        .collect();
    ipam.insert("ranges".into(), Value::Array(ranges));
    let mut routes = match ipam.get("routes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            for r in a {
                let ok = r
                    .get("dst")
                    .and_then(Value::as_str)
                    .and_then(crate::spec::parse_cidr)
                    .is_some();
                if !ok {
                    return Err(CniError::config(format!(
                        "failed to read IPAM routes: {r} has no valid dst"
                    )));
                }
            }
            a.clone()
        }
        Some(v) => {
            return Err(CniError::config(format!(
                "failed to read IPAM routes: {v} is not a list"
            )))
        }
    };
    routes.extend(env.networks.iter().map(|n| json!({ "dst": cidr(n) })));
    ipam.insert("routes".into(), Value::Array(routes));
    d.insert("ipam".into(), Value::Object(ipam));
    Ok(d)
}

/// Runs the delegate plugin `kind` from `CNI_PATH` with `command` (the rest of the CNI
/// environment is ours) and `stdin`; its stdout on success, its error object (code kept)
/// otherwise.
fn exec_delegate(ctx: &Ctx, kind: &str, command: Command, stdin: &[u8]) -> CniResult<Vec<u8>> {
    if kind.is_empty() || kind.contains('/') {
        return Err(CniError::config(format!(
            "delegate type {kind:?} is not a plugin name"
        )));
    }
    let path = ctx
        .path
        .iter()
        .map(|d| d.join(kind))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            CniError::new(
                code::INVALID_CONFIG,
                format!("failed to find delegate plugin {kind:?}"),
                format!(
                    "no executable {kind:?} in CNI_PATH [{}]",
                    ctx.path
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let failed = |why: String| {
        CniError::new(
            code::DELEGATE,
            format!("failed to delegate {} to {kind:?}", command.as_str()),
            why,
        )
    };
    let mut child = Process::new(&path)
        .env("CNI_COMMAND", command.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed(format!("cannot run {}: {e}", path.display())))?;
    if let Some(mut pipe) = child.stdin.take() {
        // Far smaller than a pipe's buffer; a plugin that exits unread is judged by its answer.
        let _ = pipe.write_all(stdin);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!("waiting for {}: {e}", path.display())))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
        if let Some(c) = v.get("code").and_then(Value::as_u64) {
            let msg = v.get("msg").and_then(Value::as_str).unwrap_or("");
            let details = v.get("details").and_then(Value::as_str).unwrap_or("");
            return Err(CniError::new(
                u32::try_from(c).unwrap_or(code::DELEGATE),
                format!("failed to delegate {} to {kind:?}: {msg}", command.as_str()),
                details,
            ));
        }
    }
    Err(failed(format!(
        "{} exited with {}: {}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout).trim()
    )))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> CniError {
    CniError::new(
        code::IO_FAILURE,
        format!("cannot {what} flannel's delegate configuration"),
        format!("{}: {e}", path.display()),
    )
}

/// Writes the rendered configuration to `path` (directory 0700, file 0600).
fn save_scratch(path: &Path, bytes: &[u8]) -> CniResult<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io_error("store", dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error("store", path, e))?;
    f.write_all(bytes).map_err(|e| io_error("store", path, e))
}

/// The stored configuration and its delegate type; `None` when there is no file.
fn load_scratch(path: &Path) -> CniResult<Option<(Vec<u8>, Value)>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, e)),
    };
    let v = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
    Ok(Some((bytes, v)))
}

impl Plugin for Flannel {
    fn add(&self, ctx: &Ctx) -> CniResult<Result100> {
        let env = read_subnet_env(&subnet_file(ctx)?)?;
        let delegate = render_delegate(&ctx.conf, &env)?;
        let kind = delegate
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("bridge")
            .to_string();
        let bytes = serde_json::to_vec(&delegate).map_err(|e| {
            CniError::new(
                code::DECODE,
                "cannot encode the delegate's config",
                e.to_string(),
            )
        })?;
        save_scratch(&scratch_path(ctx)?, &bytes)?;
        let out = exec_delegate(ctx, &kind, Command::Add, &bytes)?;
        let v: Value = serde_json::from_slice(&out).map_err(|e| {
            CniError::new(
                code::DELEGATE,
                format!("failed to delegate ADD to {kind:?}"),
                format!("its result is not JSON: {e}"),
            )
        })?;
        Result100::from_value(&v, &format!("the result of delegate {kind:?}"))
    }

    fn del(&self, ctx: &Ctx) -> CniResult<()> {
        let path = scratch_path(ctx)?;
        let Some((mut bytes, v)) = load_scratch(&path)? else {
            return Ok(());
        };
        let Some(kind) = v.get("type").and_then(Value::as_str).map(str::to_string) else {
            // flannel's plugin does the same: nothing it can hand on; the interface stays.
            eprintln!(
                "netplumb-cni flannel: {} is not a delegate configuration; removed",
                path.display()
            );
            let _ = std::fs::remove_file(&path);
            return Ok(());
        };
        if let Some(rc) = obj_field(&ctx.conf, "runtimeConfig")? {
            // flannel passes this call's runtimeConfig on to DEL as well.
            if let Value::Object(mut m) = v {
                m.insert("runtimeConfig".into(), Value::Object(rc));
                bytes = serde_json::to_vec(&m).unwrap_or(bytes);
            }
        }
        exec_delegate(ctx, &kind, Command::Del, &bytes)?;
        let _ = std::fs::remove_file(&path);
        Ok(())
    }

    fn check(&self, ctx: &Ctx, prev: &Result100) -> CniResult<()> {
        let path = scratch_path(ctx)?;
        let Some((_, Value::Object(mut m))) = load_scratch(&path)? else {
            return Err(CniError::drift(format!(
                "no delegate configuration stored for container {:?} ({})",
                ctx.container_id,
                path.display()
            )));
        };
        let kind = m
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("bridge")
            .to_string();
        let prev = ctx.common.prev_result.clone().unwrap_or_else(|| {
            serde_json::from_str(&prev.to_json(ctx.version())).unwrap_or_default()
        });
        m.insert("prevResult".into(), prev);
        let bytes = serde_json::to_vec(&m).unwrap_or_default();
        exec_delegate(ctx, &kind, Command::Check, &bytes).map(|_| ())
    }

    fn status(&self, ctx: &Ctx) -> CniResult<()> {
        read_subnet_env(&subnet_file(ctx)?)
            .map(|_| ())
            .map_err(|e| CniError::new(code::NOT_AVAILABLE, e.msg, e.details))
    }

    fn gc(&self, _ctx: &Ctx) -> CniResult<()> {
        // flannel keeps no state of its own beyond the per-container files DEL removes.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.34.1/24\n\
                       FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";

    #[test]
    fn subnet_file_parsed_as_flannel_reads_it() {
        let e = parse_subnet_env(ENV, "f").unwrap();
        assert_eq!(
            e.networks,
            vec!["10.5.0.0/16".parse::<IpNetwork>().unwrap()]
        );
        assert_eq!(
            e.subnets,
            vec!["10.5.34.0/24".parse::<IpNetwork>().unwrap()]
        );
        assert_eq!((e.mtu, e.ipmasq), (1450, false));
        let e6 = parse_subnet_env(
            "FLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=fd00:0:0:12::1/64\n\
             FLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n",
            "f",
        )
        .unwrap();
        assert_eq!(e6.subnets[0].to_string(), "fd00:0:0:12::/64");
        assert!(e6.ipmasq);
        let err = parse_subnet_env("FLANNEL_NETWORK=10.5.0.0/16\n", "f").unwrap_err();
        assert_eq!(err.code, code::DECODE);
        assert_eq!(
            err.details,
            "f is missing FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ"
        );
        let err = parse_subnet_env(&ENV.replace("1450", "big"), "f").unwrap_err();
        assert_eq!(err.details, "f line 3: FLANNEL_MTU=\"big\" is not a number");
        let err = parse_subnet_env(&ENV.replace("10.5.34.1/24", "10.5.34.1"), "f").unwrap_err();
        assert!(err.details.contains("line 2: FLANNEL_SUBNET"), "{err}");
    }

    #[test]
    fn delegate_rendered_as_flannel_renders_it() {
        let env = parse_subnet_env(ENV, "f").unwrap();
        let conf = json!({"cniVersion":"0.4.0","name":"fl","type":"flannel",
            "ipam":{"routes":[{"dst":"192.0.2.0/24"}]}});
        let d = render_delegate(&conf, &env).unwrap();
        assert_eq!(
            Value::Object(d),
            json!({"cniVersion":"0.4.0","name":"fl","type":"bridge","ipMasq":true,"mtu":1450,
                "isGateway":true,"ipam":{"type":"host-local",
                "ranges":[[{"subnet":"10.5.34.0/24"}]],
                "routes":[{"dst":"192.0.2.0/24"},{"dst":"10.5.0.0/16"}]}})
        );
        // What the delegate sets stays; ipvlan gets no isGateway.
        let conf = json!({"name":"fl","delegate":{"type":"ipvlan","mtu":1400,"ipMasq":false}});
        let d = render_delegate(&conf, &env).unwrap();
        assert_eq!(
            (d["mtu"].clone(), d["ipMasq"].clone()),
            (json!(1400), json!(false))
        );
        assert!(!d.contains_key("isGateway"));
        for bad in [
            json!({"delegate":{"name":"x"}}),
            json!({"delegate":{"ipam":{}}}),
            json!({"delegate":{"type":7}}),
            json!({"delegate":{"type":"flannel"}}),
            json!({"delegate":"bridge"}),
            json!({"ipam":{"routes":[{"gw":"10.0.0.1"}]}}),
        ] {
            let e = render_delegate(&bad, &env).unwrap_err();
            assert_eq!(e.code, code::INVALID_CONFIG, "{bad}: {e}");
        }
    }
}
