//! The CNI specification's data: versions, the error object and its codes, the result types
//! in each version's shape, and the parts of a network configuration every plugin reads.
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The spec versions this binary speaks (configs and results).
pub const SUPPORTED_VERSIONS: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
/// The version used for answers when the input does not say one.
pub const CURRENT_VERSION: &str = "1.0.0";

/// Well-known error codes (SPEC.md, "Error").
pub mod code {
    /// Incompatible CNI version.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// Unsupported field in the network configuration.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// Container unknown or does not exist.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// Invalid necessary environment variables.
    pub const INVALID_ENV: u32 = 4;
    /// I/O failure.
    pub const IO_FAILURE: u32 = 5;
    /// Failed to decode content.
    pub const DECODE: u32 = 6;
    /// Invalid network configuration.
    pub const INVALID_CONFIG: u32 = 7;
    /// Try again later.
    pub const TRY_AGAIN: u32 = 11;
    /// STATUS: the plugin cannot serve ADD.
    pub const NOT_AVAILABLE: u32 = 50;
    /// The kernel refused an operation (plugin-specific: 100+); details carry errno and text.
    pub const KERNEL: u32 = 100;
    /// CHECK found the container's networking different from `prevResult` (plugin-specific).
    pub const DRIFT: u32 = 101;
    /// ADD found the interface already there (plugin-specific).
    pub const IF_EXISTS: u32 = 102;
    /// An external tool (iptables) failed (plugin-specific).
    pub const TOOL: u32 = 103;
    /// A delegated plugin failed without a readable error object (plugin-specific).
    pub const DELEGATE: u32 = 104;
}

/// The spec's error object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniError {
    /// The code (see [`code`]).
    pub code: u32,
    /// A short message.
    pub msg: String,
    /// A longer description.
    pub details: String,
}

impl CniError {
    /// An error with a code, a message and details.
    pub fn new(code: u32, msg: impl Into<String>, details: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: details.into(),
        }
    }

    /// Invalid network configuration (code 7).
    pub fn config(details: impl Into<String>) -> CniError {
        CniError::new(
            code::INVALID_CONFIG,
            "invalid network configuration",
            details,
        )
    }

    /// A kernel (netplumb) failure while doing `what` (code 100).
    pub fn kernel(what: impl std::fmt::Display, e: netplumb::Error) -> CniError {
        let errno = e
            .errno()
            .map(|n| format!(" (errno {})", n as i32))
            .unwrap_or_default();
        CniError::new(code::KERNEL, format!("{what}: {e}"), format!("{e}{errno}"))
    }

    /// CHECK found drift (code 101).
    pub fn drift(details: impl Into<String>) -> CniError {
        CniError::new(
            code::DRIFT,
            "container networking differs from prevResult",
            details,
        )
    }

    /// The error object as JSON text for `version`.
    pub fn to_json(&self, version: &str) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "cniVersion")]
            cni_version: &'a str,
            code: u32,
            msg: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            details: &'a str,
        }
        serde_json::to_string(&Wire {
            cni_version: version,
            code: self.code,
            msg: &self.msg,
            details: &self.details,
        })
        .unwrap_or_else(|_| format!("{{\"code\":{}}}", self.code))
    }
}

impl std::fmt::Display for CniError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "code {}: {}", self.code, self.msg)?;
        if !self.details.is_empty() && self.details != self.msg {
            write!(f, " ({})", self.details)?;
        }
        Ok(())
    }
}

/// The result of this module's functions.
pub type CniResult<T> = Result<T, CniError>;

/// Whether `version` is one this binary speaks.
pub fn version_supported(version: &str) -> bool {
    SUPPORTED_VERSIONS.contains(&version)
}

/// Whether results of `version` carry the `"version"` field in `ips` (0.3.x and 0.4.0).
fn ips_have_version(version: &str) -> bool {
    version.starts_with("0.")
}

/// One interface of a result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its hardware address, lower-case colon-separated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    /// The container's netns path, empty on the host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sandbox: String,
    /// Fields of later versions or other plugins, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One address of a result.
#[derive(Clone, Debug, PartialEq)]
pub struct IpConfig {
    /// Index into `interfaces`.
    pub interface: Option<usize>,
    /// The address with its prefix length (host bits kept).
    pub address: IpNetwork,
    /// The gateway.
    pub gateway: Option<IpAddr>,
}

/// One route of a result.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The destination (host bits may be set in input; kept as given).
    pub dst: IpNetwork,
    /// The next hop.
    pub gw: Option<IpAddr>,
    /// Fields such as `mtu`, `priority`, `table`, `scope`, passed through.
    pub extra: Map<String, Value>,
}

/// A result in the current (1.0.0) shape; [`Result100::to_json`] writes any supported version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Result100 {
    /// Interfaces created.
    pub interfaces: Vec<Interface>,
    /// Addresses.
    pub ips: Vec<IpConfig>,
    /// Routes.
    pub routes: Vec<Route>,
    /// DNS settings (an object).
    pub dns: Map<String, Value>,
}

#[derive(Serialize, Deserialize)]
struct IpWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interface: Option<usize>,
    address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gateway: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RouteWire {
    dst: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gw: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Serialize)]
struct ResultWire<'a> {
    #[serde(rename = "cniVersion")]
    cni_version: &'a str,
    #[serde(skip_serializing_if = "<[Interface]>::is_empty")]
    interfaces: &'a [Interface],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ips: Vec<IpWire>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<RouteWire>,
    dns: &'a Map<String, Value>,
}

/// Parses `ADDRESS/LEN` keeping host bits.
pub fn parse_cidr(s: &str) -> Option<IpNetwork> {
    let (a, l) = s.split_once('/')?;
    IpNetwork::new(a.parse().ok()?, l.parse().ok()?).ok()
}

/// Formats an [`IpNetwork`] as `ADDRESS/LEN`.
pub fn cidr(n: &IpNetwork) -> String {
    format!("{}/{}", n.ip(), n.prefix())
}

impl Result100 {
    /// Reads a result of any supported version (0.3.0 and later shapes; the `version` field of
    /// `ips` is accepted and ignored). `what` names it in errors.
    pub fn from_value(v: &Value, what: &str) -> CniResult<Result100> {
        let bad = |why: String| CniError::new(code::DECODE, format!("cannot decode {what}"), why);
        let obj = v
            .as_object()
            .ok_or_else(|| bad("not a JSON object".into()))?;
        if obj.contains_key("ip4") || obj.contains_key("ip6") {
            return Err(CniError::new(
                code::INCOMPATIBLE_VERSION,
                format!("{what} is a 0.2.0 result"),
                "results before 0.3.0 (ip4/ip6) are not supported",
            ));
        }
        let mut r = Result100::default();
        if let Some(ifs) = obj.get("interfaces") {
            if !ifs.is_null() {
                r.interfaces = serde_json::from_value(ifs.clone())
                    .map_err(|e| bad(format!("interfaces: {e}")))?;
            }
        }
        if let Some(ips) = obj.get("ips") {
            if !ips.is_null() {
                let ips: Vec<IpWire> =
                    serde_json::from_value(ips.clone()).map_err(|e| bad(format!("ips: {e}")))?;
                for ip in ips {
                    let address = parse_cidr(&ip.address)
                        .ok_or_else(|| bad(format!("ips: bad address {:?}", ip.address)))?;
                    let gateway = match ip.gateway {
                        Some(g) if !g.is_empty() => Some(
                            g.parse()
                                .map_err(|_| bad(format!("ips: bad gateway {g:?}")))?,
                        ),
                        _ => None,
                    };
                    r.ips.push(IpConfig {
                        interface: ip.interface,
                        address,
                        gateway,
                    });
                }
            }
        }
        if let Some(routes) = obj.get("routes") {
            if !routes.is_null() {
                let routes: Vec<RouteWire> = serde_json::from_value(routes.clone())
                    .map_err(|e| bad(format!("routes: {e}")))?;
                for rt in routes {
                    r.routes.push(Route {
                        dst: parse_cidr(&rt.dst)
                            .ok_or_else(|| bad(format!("routes: bad dst {:?}", rt.dst)))?,
                        gw: match rt.gw {
                            Some(g) if !g.is_empty() => Some(
                                g.parse()
                                    .map_err(|_| bad(format!("routes: bad gw {g:?}")))?,
                            ),
                            _ => None,
                        },
                        extra: rt.extra,
                    });
                }
            }
        }
        if let Some(Value::Object(d)) = obj.get("dns") {
            r.dns = d.clone();
        }
        Ok(r)
    }

    /// The result as JSON text in `version`'s shape.
    pub fn to_json(&self, version: &str) -> String {
        let with_version = ips_have_version(version);
        let wire = ResultWire {
            cni_version: version,
            interfaces: &self.interfaces,
            ips: self
                .ips
                .iter()
                .map(|ip| IpWire {
                    version: with_version
                        .then(|| if ip.address.is_ipv4() { "4" } else { "6" }.to_string()),
                    interface: ip.interface,
                    address: cidr(&ip.address),
                    gateway: ip.gateway.map(|g| g.to_string()),
                })
                .collect(),
            routes: self
                .routes
                .iter()
                .map(|r| RouteWire {
                    dst: cidr(&r.dst),
                    gw: r.gw.map(|g| g.to_string()),
                    extra: r.extra.clone(),
                })
                .collect(),
            dns: &self.dns,
        };
        serde_json::to_string(&wire).unwrap_or_else(|_| "{}".into())
    }
}

/// The fields every plugin reads from its configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommonConf {
    /// The spec version of the config (and of the answer).
    #[serde(default)]
    pub cni_version: String,
    /// The network's name.
    #[serde(default)]
    pub name: String,
    /// The plugin's type.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The IPAM section, if any.
    #[serde(default)]
    pub ipam: Option<Map<String, Value>>,
    /// DNS settings to return.
    #[serde(default)]
    pub dns: Option<Map<String, Value>>,
    /// The previous plugin's result (chaining).
    #[serde(default)]
    pub prev_result: Option<Value>,
    /// Runtime-provided settings (capabilities).
    #[serde(default)]
    pub runtime_config: Option<Map<String, Value>>,
    /// `args` (conventions: `args.cni.ips`, `args.cni.mac`).
    #[serde(default)]
    pub args: Option<Map<String, Value>>,
}

impl CommonConf {
    /// The IPAM plugin's type, empty when there is no IPAM.
    pub fn ipam_type(&self) -> &str {
        self.ipam
            .as_ref()
            .and_then(|m| m.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A string in `runtimeConfig`.
    pub fn runtime_str(&self, key: &str) -> Option<&str> {
        self.runtime_config.as_ref()?.get(key)?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_versions() {
        let v: Value = serde_json::from_str(
            r#"{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.0.5/16","gateway":"10.1.0.1"}],
                "routes":[{"dst":"0.0.0.0/0"}],"dns":{}}"#,
        )
        .unwrap();
        let r = Result100::from_value(&v, "test").unwrap();
        assert_eq!(r.ips[0].address.ip().to_string(), "10.1.0.5");
        assert_eq!(r.ips[0].address.prefix(), 16);
        let j: Value = serde_json::from_str(&r.to_json("1.0.0")).unwrap();
        assert_eq!(j["ips"][0].get("version"), None);
        assert_eq!(j["ips"][0]["address"], "10.1.0.5/16");
        let j: Value = serde_json::from_str(&r.to_json("0.3.1")).unwrap();
        assert_eq!(j["ips"][0]["version"], "4");
        assert_eq!(j["routes"][0]["dst"], "0.0.0.0/0");
        assert!(j["dns"].is_object());
    }

    #[test]
    fn old_results_refused() {
        let v: Value = serde_json::from_str(r#"{"ip4":{"ip":"10.0.0.2/24"}}"#).unwrap();
        assert_eq!(
            Result100::from_value(&v, "t").unwrap_err().code,
            code::INCOMPATIBLE_VERSION
        );
    }
}
