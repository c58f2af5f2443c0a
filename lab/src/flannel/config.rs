//! flannel's records in etcd: the network configuration, the subnet keys and the lease
//! attributes, and the `subnet.env` file its CNI plugin reads.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnetwork::Ipv4Network;
use netplumb::MacAddr;
use serde_json::Value;

use crate::Result;

/// flannel's default key prefix.
pub const DEFAULT_PREFIX: &str = "/coreos.com/network";

/// flannel's VXLAN defaults: VNI 1, the kernel's old default port 8472.
pub const DEFAULT_VNI: u32 = 1;
/// See [`DEFAULT_VNI`].
pub const DEFAULT_PORT: u16 = 8472;

/// The backend types flannel knows; this agent implements `vxlan` only.
const FLANNEL_BACKENDS: &[&str] = &[
    "udp",
    "vxlan",
    "host-gw",
    "ipip",
    "ipsec",
    "wireguard",
    "alloc",
    "extension",
    "aws-vpc",
    "gce",
    "ali-vpc",
    "tencent-vpc",
];

/// The network configuration at `PREFIX/config`, checked as flannel checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The whole pod network.
    pub network: Ipv4Network,
    /// Each host's subnet length.
    pub subnet_len: u8,
    /// The lowest subnet handed out (default: the network's second subnet).
    pub subnet_min: Ipv4Addr,
    /// The highest (default: the network's last but one).
    pub subnet_max: Ipv4Addr,
    /// The VXLAN backend's VNI.
    pub vni: u32,
    /// The VXLAN backend's UDP port.
    pub port: u16,
}

/// Looks up `name` among an object's keys, ignoring case (Go's JSON decoder matches struct
/// fields that way).
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn addr_field(v: &Value, name: &str) -> Result<Option<Ipv4Addr>> {
    match field(v, name) {
        None => Ok(None),
        Some(Value::String(s)) => {
            Ok(Some(s.parse().map_err(|_| {
                format!("{name} {s:?} is not an IPv4 address")
            })?))
        }
        Some(other) => Err(format!("{name} must be a string, not {other}").into()),
    }
}

fn uint_field(v: &Value, name: &str) -> Result<Option<u64>> {
    match field(v, name) {
        None => Ok(None),
        Some(n) => {
            Ok(Some(n.as_u64().ok_or_else(|| {
                format!("{name} must be a whole number, not {n}")
            })?))
        }
    }
}

impl Config {
    /// Parses and checks the configuration's JSON text. Errors say what is wrong.
    pub fn parse(text: &str) -> Result<Config> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("config is not JSON ({e})"))?;
        if !v.is_object() {
            return Err("config must be a JSON object".into());
        }
        let network: Ipv4Network = match field(&v, "Network") {
            None => return Err("config has no Network (e.g. \"Network\": \"10.5.0.0/16\")".into()),
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| format!("Network {s:?} is not an IPv4 prefix"))?,
            Some(other) => return Err(format!("Network must be a string, not {other}").into()),
        };
        let network = Ipv4Network::new(network.network(), network.prefix())?;
        let plen = network.prefix();
        let subnet_len = match uint_field(&v, "SubnetLen")? {
            Some(0) | None => {
                if plen > 28 {
                    return Err(format!(
                        "Network {network} is too small: the smallest useful prefix is /28"
                    )
                    .into());
                }
                if plen <= 22 {
                    24
                } else {
                    plen + 2
                }
            }
            Some(n) if n > 30 => {
                return Err(format!("SubnetLen {n} is out of range: at most 30").into())
            }
            Some(n) if n <= u64::from(plen) => {
                return Err(format!(
                    "SubnetLen {n} is out of range: Network {network} must hold at least one \
                     subnet, so SubnetLen must be over {plen}"
                )
                .into())
            }
            Some(n) => n as u8,
        };
        let size = 1u32 << (32 - subnet_len);
        let first = u32::from(network.network());
        let last = first | (u32::MAX >> plen);
        let subnet_min = addr_field(&v, "SubnetMin")?.unwrap_or(Ipv4Addr::from(first + size));
        let subnet_max =
            addr_field(&v, "SubnetMax")?.unwrap_or(Ipv4Addr::from(last - (size - 1) - size));
        for (name, a) in [("SubnetMin", subnet_min), ("SubnetMax", subnet_max)] {
            if !network.contains(a) {
                return Err(format!("{name} {a} is not in Network {network}").into());
            }
            if u32::from(a) % size != 0 {
                return Err(format!("{name} {a} is not on a /{subnet_len} boundary").into());
            }
        }
        if subnet_min > subnet_max {
            return Err(format!("SubnetMin {subnet_min} is above SubnetMax {subnet_max}").into());
        }
        let backend = field(&v, "Backend").cloned().unwrap_or(Value::Null);
        let kind = match field(&backend, "Type") {
            None => "udp".to_string(), // flannel's default
            Some(Value::String(s)) => s.to_lowercase(),
            Some(other) => return Err(format!("Backend.Type must be a string, not {other}").into()),
        };
        if kind != "vxlan" {
            if FLANNEL_BACKENDS.contains(&kind.as_str()) {
                return Err(format!(
                    "backend type {kind:?} is flannel's, but this agent implements \"vxlan\" only"
                )
                .into());
            }
            return Err(format!("unknown backend type {kind:?}").into());
        }
        let vni = uint_field(&backend, "VNI")?.unwrap_or(u64::from(DEFAULT_VNI));
        if !(1..=0xff_ffff).contains(&vni) {
            return Err(format!("Backend.VNI {vni} is out of range (1 to 16777215)").into());
        }
        let port = uint_field(&backend, "Port")?.unwrap_or(0);
        let port = match port {
            0 => DEFAULT_PORT,
            p => u16::try_from(p).map_err(|_| format!("Backend.Port {p} is out of range"))?,
        };
        Ok(Config {
            network,
            subnet_len,
            subnet_min,
            subnet_max,
            vni: vni as u32,
            port,
        })
    }

    /// The subnets hosts may lease, from `subnet_min` to `subnet_max`.
    pub fn subnets(&self) -> impl Iterator<Item = Ipv4Network> + '_ {
        let size = 1u32 << (32 - self.subnet_len);
        let (lo, hi) = (u32::from(self.subnet_min), u32::from(self.subnet_max));
        (0..=(hi - lo) / size).filter_map(move |i| {
            Ipv4Network::new(Ipv4Addr::from(lo + i * size), self.subnet_len).ok()
        })
    }

    /// The name of the VXLAN device: `flannel.VNI`.
    pub fn device(&self) -> String {
        format!("flannel.{}", self.vni)
    }
}

/// The key of a subnet's lease: `PREFIX/subnets/10.5.34.0-24`.
pub fn subnet_key(prefix: &str, subnet: Ipv4Network) -> String {
    format!("{prefix}/subnets/{}-{}", subnet.network(), subnet.prefix())
}

/// The subnet a lease key names, if it is one.
pub fn parse_subnet_key(prefix: &str, key: &[u8]) -> Option<Ipv4Network> {
    let key = std::str::from_utf8(key).ok()?;
    let rest = key.strip_prefix(prefix)?.strip_prefix("/subnets/")?;
    let (ip, len) = rest.split_once('-')?;
    let net = Ipv4Network::new(ip.parse().ok()?, len.parse().ok()?).ok()?;
    (net.network() == net.ip()).then_some(net)
}

/// What a host stores in its lease: where its VXLAN endpoint is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseAttrs {
    /// The host's address on the underlay (the tunnel's endpoint).
    pub public_ip: Ipv4Addr,
    /// `vxlan`.
    pub backend_type: String,
    /// The VNI.
    pub vni: u32,
    /// The MAC of the host's `flannel.VNI`.
    pub vtep_mac: MacAddr,
}

impl LeaseAttrs {
    /// The JSON flannel writes, byte for byte (Go's field order):
    /// `{"PublicIP":"…","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}`.
    pub fn to_json(&self) -> String {
        format!(
            r#"{{"PublicIP":"{}","PublicIPv6":null,"BackendType":"{}","BackendData":{{"VNI":{},"VtepMAC":"{}"}}}}"#,
            self.public_ip, self.backend_type, self.vni, self.vtep_mac
        )
    }

    /// Reads a lease's value.
    pub fn parse(bytes: &[u8]) -> Result<LeaseAttrs> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("lease: {e}"))?;
        let public_ip = addr_field(&v, "PublicIP")?.ok_or("lease has no PublicIP")?;
        let backend_type = field(&v, "BackendType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let data = field(&v, "BackendData").cloned().unwrap_or(Value::Null);
        let vni = uint_field(&data, "VNI")?.unwrap_or(0) as u32;
        let mac = field(&data, "VtepMAC")
            .and_then(Value::as_str)
            .ok_or("lease has no BackendData.VtepMAC")?;
        let vtep_mac = mac
            .parse()
            .map_err(|_| format!("lease VtepMAC {mac:?} is not a MAC address"))?;
        Ok(LeaseAttrs {
            public_ip,
            backend_type,
            vni,
            vtep_mac,
        })
    }
}

/// The `subnet.env` file flannel writes (`/run/flannel/subnet.env`) and its CNI plugin reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetEnv {
    /// `FLANNEL_NETWORK`.
    pub network: Ipv4Network,
    /// `FLANNEL_SUBNET`: the host's subnet with its first address (10.5.34.1/24).
    pub subnet: Ipv4Network,
    /// `FLANNEL_MTU`.
    pub mtu: u32,
    /// `FLANNEL_IPMASQ`.
    pub ipmasq: bool,
}

impl SubnetEnv {
    /// The file's text.
    pub fn to_text(&self) -> String {
        format!(
            "FLANNEL_NETWORK={}\nFLANNEL_SUBNET={}\nFLANNEL_MTU={}\nFLANNEL_IPMASQ={}\n",
            self.network, self.subnet, self.mtu, self.ipmasq
        )
    }

    /// Writes it (to a temporary file renamed into place, so a reader never sees half).
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_text())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("write {}: {e}", path.display()).into())
    }

    /// Reads one.
    pub fn read(path: &Path) -> Result<SubnetEnv> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
        let get = |name: &str| -> Result<&str> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("{}: no {name}", path.display()).into())
        };
        Ok(SubnetEnv {
            network: get("FLANNEL_NETWORK")?.parse()?,
            subnet: get("FLANNEL_SUBNET")?.parse()?,
            mtu: get("FLANNEL_MTU")?.parse()?,
            ipmasq: get("FLANNEL_IPMASQ")? == "true",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_parse_with_flannels_defaults_and_any_case() {
        let c = Config::parse(
            r#"{"network":"10.5.0.0/16","SUBNETLEN":24,"Backend":{"type":"VXLAN","VNI":1,"Port":8472}}"#,
        )
        .unwrap();
        assert_eq!(c.subnet_len, 24);
        assert_eq!(c.subnet_min, Ipv4Addr::new(10, 5, 1, 0));
        assert_eq!(c.subnet_max, Ipv4Addr::new(10, 5, 254, 0));
        assert_eq!(c.subnets().count(), 254);
        assert_eq!(c.device(), "flannel.1");
        let c = Config::parse(
            r#"{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.0","SubnetMax":"10.5.8.0","Backend":{"Type":"vxlan"}}"#,
        )
        .unwrap();
        assert_eq!(c.subnets().count(), 8);
        assert_eq!((c.vni, c.port), (1, 8472));
        let c = Config::parse(r#"{"Network":"10.5.0.0/24","Backend":{"Type":"vxlan"}}"#).unwrap();
        assert_eq!(c.subnet_len, 26);
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let err = |t: &str| Config::parse(t).unwrap_err().to_string();
        assert!(err(r#"{"SubnetLen":24}"#).contains("no Network"));
        assert!(
            err(r#"{"Network":"10.5.0.0/16","SubnetLen":31,"Backend":{"Type":"vxlan"}}"#)
                .contains("SubnetLen 31 is out of range")
        );
        assert!(
            err(r#"{"Network":"10.5.0.0/16","SubnetLen":16,"Backend":{"Type":"vxlan"}}"#)
                .contains("SubnetLen 16 is out of range")
        );
        assert!(
            err(r#"{"Network":"10.5.0.0/16","Backend":{"Type":"carrier-pigeon"}}"#)
                .contains("unknown backend type \"carrier-pigeon\"")
        );
        assert!(err(r#"{"Network":"10.5.0.0/16"}"#).contains("\"udp\" is flannel's"));
        assert!(err(
            r#"{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.7","Backend":{"Type":"vxlan"}}"#
        )
        .contains("boundary"));
        assert!(err("not json").contains("not JSON"));
    }

    #[test]
    fn lease_values_and_keys_are_flannels() {
        let a = LeaseAttrs {
            public_ip: Ipv4Addr::new(192, 168, 100, 1),
            backend_type: "vxlan".into(),
            vni: 1,
            vtep_mac: "0a:1b:2c:3d:4e:5f".parse().unwrap(),
        };
        let text = a.to_json();
        assert_eq!(
            text,
            r#"{"PublicIP":"192.168.100.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:1b:2c:3d:4e:5f"}}"#
        );
        assert_eq!(LeaseAttrs::parse(text.as_bytes()).unwrap(), a);
        let net: Ipv4Network = "10.5.34.0/24".parse().unwrap();
        let key = subnet_key(DEFAULT_PREFIX, net);
        assert_eq!(key, "/coreos.com/network/subnets/10.5.34.0-24");
        assert_eq!(parse_subnet_key(DEFAULT_PREFIX, key.as_bytes()), Some(net));
        assert_eq!(
            parse_subnet_key(DEFAULT_PREFIX, b"/coreos.com/network/config"),
            None
        );
    }
}
