//! One invocation: the command, the `CNI_*` environment checked as the spec requires, the
//! configuration bytes (kept verbatim for delegated plugins) and its common fields.
use std::path::PathBuf;

use serde_json::Value;

use crate::spec::{code, version_supported, CniError, CniResult, CommonConf, CURRENT_VERSION};

/// The operation asked for (`CNI_COMMAND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Add the container to the network.
    Add,
    /// Remove it.
    Del,
    /// Check it against `prevResult`.
    Check,
    /// Report the versions spoken.
    Version,
    /// Whether ADD can be served (1.1.0).
    Status,
    /// Remove what belongs to attachments no longer valid (1.1.0).
    Gc,
}

impl Command {
    /// The spec's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Version => "VERSION",
            Command::Status => "STATUS",
            Command::Gc => "GC",
        }
    }
}

/// One invocation's inputs.
#[derive(Debug)]
pub struct Ctx {
    /// The command.
    pub command: Command,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS` (may be empty on DEL).
    pub netns: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// `CNI_ARGS` as key/value pairs.
    pub args: Vec<(String, String)>,
    /// `CNI_PATH`'s directories.
    pub path: Vec<PathBuf>,
    /// The configuration exactly as received.
    pub stdin: Vec<u8>,
    /// The configuration parsed.
    pub conf: Value,
    /// Its common fields.
    pub common: CommonConf,
}

/// Parses `CNI_ARGS` (`K=V;K=V`).
pub fn parse_args(s: &str) -> CniResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in s.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            CniError::new(
                code::INVALID_ENV,
                "invalid CNI_ARGS",
                format!("CNI_ARGS: {pair:?} is not KEY=VALUE"),
            )
        })?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Checks an interface name as the kernel and the spec's reference do.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > 15 {
        return Err(format!("{name:?} is longer than 15 bytes"));
    }
    if name == "." || name == ".." {
        return Err(format!("{name:?} is not a valid interface name"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return Err(format!(
            "{name:?} contains '/', ':' or white space, which interface names cannot"
        ));
    }
    Ok(())
}

fn check_container_id(id: &str) -> Result<(), String> {
    let mut chars = id.chars();
    match chars.next() {
        None => return Err("is empty".into()),
        Some(c) if !c.is_ascii_alphanumeric() => {
            return Err(format!("{id:?} must start with a letter or digit"))
        }
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Err(format!(
            "{id:?} may hold only letters, digits, '_', '.' and '-'"
        ));
    }
    Ok(())
}

/// What the environment said, before the configuration is read.
pub struct Env {
    /// The command.
    pub command: Command,
    vars: Vec<(&'static str, Option<String>)>,
}

impl Env {
    /// Reads `CNI_COMMAND`; the error is code 4.
    pub fn read() -> CniResult<Env> {
        let get = |k: &str| std::env::var(k).ok();
        let command = match get("CNI_COMMAND").as_deref() {
            Some("ADD") => Command::Add,
            Some("DEL") => Command::Del,
            Some("CHECK") => Command::Check,
            Some("VERSION") => Command::Version,
            Some("STATUS") => Command::Status,
            Some("GC") => Command::Gc,
            Some(other) => {
                return Err(CniError::new(
                    code::INVALID_ENV,
                    "unknown CNI_COMMAND",
                    format!(
                        "CNI_COMMAND={other:?}: expected ADD, DEL, CHECK, VERSION, STATUS or GC"
                    ),
                ))
            }
            None => {
                return Err(CniError::new(
                    code::INVALID_ENV,
                    "CNI_COMMAND is not set",
                    "required environment variables missing: CNI_COMMAND",
                ))
            }
        };
        let vars = [
            "CNI_CONTAINERID",
            "CNI_NETNS",
            "CNI_IFNAME",
            "CNI_ARGS",
            "CNI_PATH",
        ]
        .into_iter()
        .map(|k| (k, get(k)))
        .collect();
        Ok(Env { command, vars })
    }

    fn var(&self, k: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| *n == k)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Checks the variables the command needs and parses the configuration: a [`Ctx`].
    pub fn into_ctx(self, stdin: Vec<u8>) -> CniResult<Ctx> {
        let required: &[&str] = match self.command {
            Command::Add | Command::Check => &["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
            Command::Del => &["CNI_CONTAINERID", "CNI_IFNAME"],
            Command::Version | Command::Status | Command::Gc => &[],
        };
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|k| self.var(k).is_none_or(str::is_empty))
            .collect();
        if !missing.is_empty() {
            return Err(CniError::new(
                code::INVALID_ENV,
                "required environment variables missing",
                missing.join(", "),
            ));
        }
        let ifname = self.var("CNI_IFNAME").unwrap_or("").to_string();
        let container_id = self.var("CNI_CONTAINERID").unwrap_or("").to_string();
        if matches!(self.command, Command::Add | Command::Del | Command::Check) {
            check_ifname(&ifname).map_err(|why| {
                CniError::new(
                    code::INVALID_ENV,
                    "invalid CNI_IFNAME",
                    format!("CNI_IFNAME: {why}"),
                )
            })?;
            check_container_id(&container_id).map_err(|why| {
                CniError::new(
                    code::INVALID_ENV,
                    "invalid CNI_CONTAINERID",
                    format!("CNI_CONTAINERID: {why}"),
                )
            })?;
        }
        let conf: Value = serde_json::from_slice(&stdin).map_err(|e| {
            CniError::new(
                code::DECODE,
                "failed to decode the network configuration",
                e.to_string(),
            )
        })?;
        if !conf.is_object() {
            return Err(CniError::new(
                code::DECODE,
                "failed to decode the network configuration",
                "the configuration is not a JSON object",
            ));
        }
        let common: CommonConf = serde_json::from_value(conf.clone()).map_err(|e| {
            CniError::new(
                code::DECODE,
                "failed to decode the network configuration",
                e.to_string(),
            )
        })?;
        let ctx = Ctx {
            command: self.command,
            container_id,
            netns: self.var("CNI_NETNS").unwrap_or("").to_string(),
            ifname,
            args: parse_args(self.var("CNI_ARGS").unwrap_or(""))?,
            path: std::env::split_paths(self.var("CNI_PATH").unwrap_or("")).collect(),
            stdin,
            conf,
            common,
        };
        ctx.check_version()?;
        Ok(ctx)
    }
}

impl Ctx {
    /// The version answers are written in.
    pub fn version(&self) -> &str {
        if self.common.cni_version.is_empty() {
            "0.1.0"
        } else {
            &self.common.cni_version
        }
    }

    fn check_version(&self) -> CniResult<()> {
        let v = self.version();
        if !version_supported(v) {
            return Err(CniError::new(
                code::INCOMPATIBLE_VERSION,
                "incompatible CNI version",
                format!(
                    "config version {v:?} is not one of {}",
                    crate::spec::SUPPORTED_VERSIONS.join(", ")
                ),
            ));
        }
        if matches!(self.command, Command::Status | Command::Gc) && v != "1.1.0" {
            return Err(CniError::new(
                code::INCOMPATIBLE_VERSION,
                "incompatible CNI version",
                format!(
                    "config version {v} does not allow {} (1.1.0 does)",
                    self.command.as_str()
                ),
            ));
        }
        if self.command == Command::Check && v.starts_with("0.3.") {
            return Err(CniError::new(
                code::INCOMPATIBLE_VERSION,
                "incompatible CNI version",
                format!("config version {v} does not allow CHECK (0.4.0 and later do)"),
            ));
        }
        Ok(())
    }

    /// A value from `CNI_ARGS` (case-insensitive key, as the reference's decoder is).
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The MAC asked for: `CNI_ARGS` `MAC=`, then `args.cni.mac`, then `runtimeConfig.mac`
    /// (the later wins, as in the reference).
    pub fn requested_mac(&self) -> CniResult<Option<netplumb::MacAddr>> {
        let mut mac = self.arg("MAC").map(str::to_string);
        if let Some(m) = self
            .common
            .args
            .as_ref()
            .and_then(|a| a.get("cni"))
            .and_then(|c| c.get("mac"))
            .and_then(Value::as_str)
        {
            mac = Some(m.to_string());
        }
        if let Some(m) = self.common.runtime_str("mac") {
            mac = Some(m.to_string());
        }
        match mac.filter(|m| !m.is_empty()) {
            None => Ok(None),
            Some(m) => m.parse().map(Some).map_err(|_| {
                CniError::config(format!("requested MAC {m:?} is not a hardware address"))
            }),
        }
    }

    /// GC's `cni.dev/valid-attachments`: (container id, interface name) pairs.
    pub fn valid_attachments(&self) -> Vec<(String, String)> {
        self.conf
            .get("cni.dev/valid-attachments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|x| {
                        let s =
                            |k: &str| x.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                        (s("containerID"), s("ifname"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The netns path, refused with code 3 when it cannot be opened.
    pub fn open_netns(&self) -> CniResult<netplumb::NetNs> {
        netplumb::NetNs::open_path(&self.netns).map_err(|e| {
            CniError::new(
                code::UNKNOWN_CONTAINER,
                format!("failed to open netns {:?}", self.netns),
                e.to_string(),
            )
        })
    }

    /// An unsupported-field error (code 2) naming the field and its value.
    pub fn fail_unsupported(&self, field: &str, value: &Value) -> CniError {
        CniError::new(
            code::UNSUPPORTED_FIELD,
            format!("unsupported field {field}"),
            format!("{field}: {value} is not supported by netplumb-cni"),
        )
    }
}

/// The answer to `VERSION`.
pub fn version_json(version: &str) -> String {
    let v = if version.is_empty() {
        CURRENT_VERSION
    } else {
        version
    };
    serde_json::json!({ "cniVersion": v, "supportedVersions": crate::spec::SUPPORTED_VERSIONS })
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_and_names() {
        let a = parse_args("IgnoreUnknown=1;IP=10.0.0.5;MAC=02:00:00:00:00:01").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[1], ("IP".to_string(), "10.0.0.5".to_string()));
        assert!(parse_args("IP").is_err());
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("abcdefghijklmnop").is_err());
        assert!(check_ifname("a/b").is_err());
        assert!(check_container_id("abc-1.2_x").is_ok());
        assert!(check_container_id("-x").is_err());
    }
}
