//! What netplumb has no API for: sysctls (written under /proc/sys from a thread inside the
//! namespace), random interface names, and the reference's `ipMasq` rules through the
//! `iptables` tool (with its SHA-512 chain names).
use std::io::Read;
use std::net::IpAddr;
use std::process::Command;

use ipnetwork::IpNetwork;
use netplumb::NetNs;

use crate::spec::{code, CniError, CniResult};

static TRACE: std::sync::OnceLock<Option<std::time::Instant>> = std::sync::OnceLock::new();

/// With `NETPLUMB_CNI_TRACE` set, prints the milliseconds since start-up and `step` to stderr
/// (where a plugin's time goes).
pub fn trace(step: &str) {
    let start = TRACE
        .get_or_init(|| std::env::var_os("NETPLUMB_CNI_TRACE").map(|_| std::time::Instant::now()));
    if let Some(t) = start {
        eprintln!(
            "netplumb-cni trace {:8.3} ms {step}",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// Writes `value` to `/proc/sys/KEY` (`net/ipv4/ip_forward`) in `ns` (the calling thread's
/// namespace when `None`). `/proc/sys/net` shows the namespace of the thread that opens it.
pub fn sysctl(ns: Option<&NetNs>, key: &str, value: &str) -> std::io::Result<()> {
    let path = format!("/proc/sys/{key}");
    match ns {
        None => std::fs::write(&path, value),
        Some(ns) => ns
            .run(|| std::fs::write(&path, value))
            .map_err(|e| std::io::Error::other(e.to_string()))?,
    }
}

/// Reads `/proc/sys/KEY` in `ns`.
pub fn sysctl_get(ns: Option<&NetNs>, key: &str) -> std::io::Result<String> {
    let path = format!("/proc/sys/{key}");
    let read = move || std::fs::read_to_string(&path).map(|s| s.trim().to_string());
    match ns {
        None => read(),
        Some(ns) => ns
            .run(read)
            .map_err(|e| std::io::Error::other(e.to_string()))?,
    }
}

/// `vethXXXXXXXX` from 4 random bytes, as the reference names host-side links.
pub fn random_veth_name() -> String {
    let mut b = [0u8; 4];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        // Never reached on Linux; fall back to time and pid so a name is still unlikely taken.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b = (t ^ std::process::id().rotate_left(16)).to_be_bytes();
    }
    format!("veth{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3])
}

/// SHA-512 (FIPS 180-4), for the reference's chain names.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    const K: [u64; 80] = [
        0x428a2f98d728ae22,
        0x7137449123ef65cd,
        0xb5c0fbcfec4d3b2f,
        0xe9b5dba58189dbbc,
        0x3956c25bf348b538,
        0x59f111f1b605d019,
        0x923f82a4af194f9b,
        0xab1c5ed5da6d8118,
        0xd807aa98a3030242,
        0x12835b0145706fbe,
        0x243185be4ee4b28c,
        0x550c7dc3d5ffb4e2,
        0x72be5d74f27b896f,
        0x80deb1fe3b1696b1,
        0x9bdc06a725c71235,
        0xc19bf174cf692694,
        0xe49b69c19ef14ad2,
        0xefbe4786384f25e3,
        0x0fc19dc68b8cd5b5,
        0x240ca1cc77ac9c65,
        0x2de92c6f592b0275,
        0x4a7484aa6ea6e483,
        0x5cb0a9dcbd41fbd4,
        0x76f988da831153b5,
        0x983e5152ee66dfab,
        0xa831c66d2db43210,
        0xb00327c898fb213f,
        0xbf597fc7beef0ee4,
        0xc6e00bf33da88fc2,
        0xd5a79147930aa725,
        0x06ca6351e003826f,
        0x142929670a0e6e70,
        0x27b70a8546d22ffc,
        0x2e1b21385c26c926,
        0x4d2c6dfc5ac42aed,
        0x53380d139d95b3df,
        0x650a73548baf63de,
        0x766a0abb3c77b2a8,
        0x81c2c92e47edaee6,
        0x92722c851482353b,
        0xa2bfe8a14cf10364,
        0xa81a664bbc423001,
        0xc24b8b70d0f89791,
        0xc76c51a30654be30,
        0xd192e819d6ef5218,
        0xd69906245565a910,
        0xf40e35855771202a,
        0x106aa07032bbd1b8,
        0x19a4c116b8d2d0c8,
        0x1e376c085141ab53,
        0x2748774cdf8eeb99,
        0x34b0bcb5e19b48a8,
        0x391c0cb3c5c95a63,
        0x4ed8aa4ae3418acb,
        0x5b9cca4f7763e373,
        0x682e6ff3d6b2b8a3,
        0x748f82ee5defb2fc,
        0x78a5636f43172f60,
        0x84c87814a1f0ab72,
        0x8cc702081a6439ec,
        0x90befffa23631e28,
        0xa4506cebde82bde9,
        0xbef9a3f7b2c67915,
        0xc67178f2e372532b,
        0xca273eceea26619c,
        0xd186b8c721c0c207,
        0xeada7dd6cde0eb1e,
        0xf57d4f7fee6ed178,
        0x06f067aa72176fba,
        0x0a637dc5a2c898a6,
        0x113f9804bef90dae,
        0x1b710b35131c471b,
        0x28db77f523047d84,
        0x32caab7b40c72493,
        0x3c9ebe0a15c9bebc,
        0x431d67c49c100d4c,
        0x4cc5d4becb3e42b6,
        0x597f299cfc657e2a,
        0x5fcb6fab3ad6faec,
        0x6c44198c4a475817,
    ];
    let mut h: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 128 != 112 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u128) * 8).to_be_bytes());
    for block in msg.chunks_exact(128) {
        let mut w = [0u64; 80];
        for (i, c) in block.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            w[i] = u64::from_be_bytes(b);
        }
        for i in 16..80 {
            let s0 = w[i - 15].rotate_right(1) ^ w[i - 15].rotate_right(8) ^ (w[i - 15] >> 7);
            let s1 = w[i - 2].rotate_right(19) ^ w[i - 2].rotate_right(61) ^ (w[i - 2] >> 6);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..80 {
            let s1 = e.rotate_right(14) ^ e.rotate_right(18) ^ e.rotate_right(41);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(28) ^ a.rotate_right(34) ^ a.rotate_right(39);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 64];
    for (i, x) in h.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// The reference's masquerade chain name: `CNI-` and the hex SHA-512 of name+id, 28 chars.
pub fn masq_chain(network: &str, container_id: &str) -> String {
    let hash = sha512(format!("{network}{container_id}").as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("CNI-{hex}")[..28].to_string()
}

/// The reference's rule comment.
pub fn masq_comment(network: &str, container_id: &str) -> String {
    format!("name: {network:?} id: {container_id:?}")
}

fn iptables(v6: bool, args: &[&str]) -> Result<(bool, String), CniError> {
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let out = Command::new(tool)
        .arg("--wait")
        .args(args)
        .output()
        .map_err(|e| {
            CniError::new(
                code::TOOL,
                format!("failed to run {tool}"),
                format!(
                    "{tool} {}: {e} (ipMasq needs the iptables tool)",
                    args.join(" ")
                ),
            )
        })?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    ))
}

fn iptables_ok(v6: bool, args: &[&str]) -> CniResult<()> {
    let (ok, err) = iptables(v6, args)?;
    if ok {
        Ok(())
    } else {
        Err(CniError::new(
            code::TOOL,
            "iptables failed",
            format!("iptables {}: {err}", args.join(" ")),
        ))
    }
}

fn append_unique(v6: bool, chain: &str, rule: &[&str]) -> CniResult<()> {
    let mut check = vec!["-t", "nat", "-C", chain];
    check.extend_from_slice(rule);
    if iptables(v6, &check)?.0 {
        return Ok(());
    }
    let mut add = vec!["-t", "nat", "-A", chain];
    add.extend_from_slice(rule);
    iptables_ok(v6, &add)
}

/// The reference's `ip.SetupIPMasq`, run in the calling thread's (host) namespace.
pub fn setup_masq(addr: &IpNetwork, chain: &str, comment: &str) -> CniResult<()> {
    let v6 = addr.is_ipv6();
    let multicast = if v6 { "ff00::/8" } else { "224.0.0.0/4" };
    if !iptables(v6, &["-t", "nat", "-S", chain])?.0 {
        iptables_ok(v6, &["-t", "nat", "-N", chain])?;
    }
    let net = format!("{}/{}", addr.network(), addr.prefix());
    append_unique(
        v6,
        chain,
        &[
            "-d",
            &net,
            "-j",
            "ACCEPT",
            "-m",
            "comment",
            "--comment",
            comment,
        ],
    )?;
    append_unique(
        v6,
        chain,
        &[
            "!",
            "-d",
            multicast,
            "-j",
            "MASQUERADE",
            "-m",
            "comment",
            "--comment",
            comment,
        ],
    )?;
    let src = addr.ip().to_string();
    append_unique(
        v6,
        "POSTROUTING",
        &[
            "-s",
            &src,
            "-j",
            chain,
            "-m",
            "comment",
            "--comment",
            comment,
        ],
    )
}

/// The reference's `ip.TeardownIPMasq`: every part removed when there, nothing else.
pub fn teardown_masq(ip: IpAddr, chain: &str, comment: &str) -> CniResult<()> {
    let v6 = ip.is_ipv6();
    let src = ip.to_string();
    let rule = [
        "-t",
        "nat",
        "-D",
        "POSTROUTING",
        "-s",
        &src,
        "-j",
        chain,
        "-m",
        "comment",
        "--comment",
        comment,
    ];
    // Delete every copy, then the chain; a missing rule or chain is not an error.
    while iptables(v6, &rule)?.0 {}
    if iptables(v6, &["-t", "nat", "-S", chain])?.0 {
        iptables_ok(v6, &["-t", "nat", "-F", chain])?;
        iptables_ok(v6, &["-t", "nat", "-X", chain])?;
    }
    Ok(())
}

/// Whether the masquerade rule of `ip` is present (CHECK).
pub fn masq_present(ip: IpAddr, chain: &str, comment: &str) -> CniResult<bool> {
    let src = ip.to_string();
    Ok(iptables(
        ip.is_ipv6(),
        &[
            "-t",
            "nat",
            "-C",
            "POSTROUTING",
            "-s",
            &src,
            "-j",
            chain,
            "-m",
            "comment",
            "--comment",
            comment,
        ],
    )?
    .0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha512_vectors() {
        let hex = |d: [u8; 64]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(sha512(b"abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            hex(sha512(b"")),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
             47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
        // 112..128 bytes: the padding spills into a second block.
        let long = [b'a'; 120];
        assert_eq!(sha512(&long).len(), 64);
        assert_eq!(masq_chain("net", "id").len(), 28);
        assert!(masq_chain("net", "id").starts_with("CNI-"));
    }

    #[test]
    fn veth_names() {
        let n = random_veth_name();
        assert_eq!(n.len(), 12);
        assert!(n.starts_with("veth"));
    }
}
