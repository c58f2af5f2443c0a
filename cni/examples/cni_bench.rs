//! ADD and DEL of N containers (default 50) with the same configuration, the reference plugins
//! (/usr/lib/cni) and netplumb-cni side by side in one run, each plugin execution timed from
//! spawn to exit (median and p95 ms); the kernel floor (a bare veth delete, by netlink and by
//! `ip link del`) and the cost of a process answering VERSION measured in the same run.
//!
//! ```sh
//! cargo build --release -p netplumb-cni --bins --examples
//! sudo target/release/examples/cni_bench [--n 50] [--plugins bridge,ptp,macvlan] [--prefix npb]
//! ```
//!
//! Everything happens in namespaces it makes (one "host" per variant, N containers) and
//! removes. The last line is
//! `cni ratio netplumb/reference: add X del Y (ipam reference) add X del Y (ipam ours)`
//! for bridge (medians, ours over the reference's).
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netplumb::link::NewVeth;
use netplumb::{Handle, NetNs};

const REF_DIR: &str = "/usr/lib/cni";

type BoxError = Box<dyn std::error::Error>;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Named namespaces and a directory removed on drop.
struct Lab {
    names: Vec<String>,
    dir: PathBuf,
}

impl Lab {
    fn netns(&mut self, name: &str) -> Result<NetNs, BoxError> {
        let _ = NetNs::delete(name);
        let ns = NetNs::create(name)?;
        self.names.push(name.to_string());
        Handle::new_in(&ns)?.set_link_up("lo")?;
        Ok(ns)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = NetNs::delete(n);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stats(v: &mut [f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let med = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    let p95 = v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1];
    (med, p95)
}

/// Runs a plugin from a thread inside `host` (so the child starts there, as a runtime's would),
/// timing spawn to exit.
fn exec(
    host: &NetNs,
    bin: &Path,
    env: &[(&str, String)],
    conf: &str,
) -> Result<(Duration, bool, String), BoxError> {
    let r = host.run(|| -> std::io::Result<(Duration, bool, String)> {
        let mut c = Command::new(bin);
        for (k, v) in env {
            c.env(k, v);
        }
        let t = Instant::now();
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut i) = child.stdin.take() {
            // A plugin may answer (VERSION) without reading its input.
            let _ = i.write_all(conf.as_bytes());
        }
        let out = child.wait_with_output()?;
        let d = t.elapsed();
        Ok((
            d,
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ))
    })??;
    Ok(r)
}

struct Variant {
    label: String,
    plugin: &'static str,
    ours: bool,
    ipam: &'static str,
}

fn conf(plugin: &str, ipam: &str, data: &Path, net: &str) -> String {
    let extra = match plugin {
        "bridge" => r#""bridge":"cni-bench0","isGateway":true,"#,
        "macvlan" => r#""master":"up0","mode":"bridge","#,
        _ => "",
    };
    format!(
        r#"{{"cniVersion":"1.0.0","name":"{net}","type":"{plugin}",{extra}
            "ipam":{{"type":"{ipam}","dataDir":"{}","ranges":[[{{"subnet":"10.200.0.0/16"}}]],
                     "routes":[{{"dst":"0.0.0.0/0"}}]}}}}"#,
        data.display()
    )
}

fn main() -> Result<(), BoxError> {
    let n: usize = arg("--n").map(|s| s.parse()).transpose()?.unwrap_or(50);
    let prefix = arg("--prefix").unwrap_or_else(|| "npb".into());
    let plugins = arg("--plugins").unwrap_or_else(|| "bridge,ptp,macvlan".into());
    let exe = std::env::current_exe()?;
    let ours = match arg("--bin") {
        Some(b) => PathBuf::from(b),
        None => exe
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("netplumb-cni"))
            .ok_or("cannot find netplumb-cni")?,
    };
    if !ours.exists() {
        return Err(format!(
            "{} is missing: cargo build --release -p netplumb-cni --bins --examples",
            ours.display()
        )
        .into());
    }
    if !Path::new(REF_DIR).join("bridge").exists() {
        return Err(format!("the reference plugins are not in {REF_DIR}").into());
    }
    let dir = std::env::temp_dir().join(format!("{prefix}-cni-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("plugins"))?;
    let mut lab = Lab {
        names: Vec::new(),
        dir: dir.clone(),
    };
    let pdir = dir.join("plugins");
    for p in ["bridge", "ptp", "macvlan", "netplumb-host-local"] {
        std::os::unix::fs::symlink(&ours, pdir.join(p))?;
    }
    std::os::unix::fs::symlink(
        Path::new(REF_DIR).join("host-local"),
        pdir.join("host-local"),
    )?;
    let plugins: Vec<&'static str> = plugins
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "bridge" => Ok("bridge"),
            "ptp" => Ok("ptp"),
            "macvlan" => Ok("macvlan"),
            other => Err(format!("unknown plugin {other}")),
        })
        .collect::<Result<_, _>>()?;

    println!(
        "cni_bench: {n} containers per variant, each plugin run timed spawn to exit (ms); the \
         variants of a plugin and the kernel floor run interleaved, container by container"
    );
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8}",
        "variant", "add med", "add p95", "del med", "del p95"
    );
    let mut medians = std::collections::HashMap::new();
    let mut floor_all = Vec::new();
    for (pi, plugin) in plugins.iter().copied().enumerate() {
        let variants = [
            Variant {
                label: format!("{plugin} reference (host-local reference)"),
                plugin,
                ours: false,
                ipam: "host-local",
            },
            Variant {
                label: format!("{plugin} netplumb (host-local reference)"),
                plugin,
                ours: true,
                ipam: "host-local",
            },
            Variant {
                label: format!("{plugin} netplumb (netplumb-host-local)"),
                plugin,
                ours: true,
                ipam: "netplumb-host-local",
            },
        ];
        // Per variant: a host namespace and N containers; one more set for the kernel floor.
        let mut hosts = Vec::new();
        let mut conts: Vec<Vec<NetNs>> = Vec::new();
        for vi in 0..=variants.len() {
            let host = lab.netns(&format!("{prefix}-{pi}h{vi}"))?;
            if plugin == "macvlan" {
                let h = Handle::new_in(&host)?;
                h.add_veth(&NewVeth::new("up0", "up1"))?;
                h.set_link_up("up0")?;
            }
            hosts.push(host);
            conts.push(
                (0..n)
                    .map(|i| lab.netns(&format!("{prefix}-{pi}c{vi}-{i}")))
                    .collect::<Result<_, _>>()?,
            );
        }
        let confs: Vec<String> = variants
            .iter()
            .enumerate()
            .map(|(vi, v)| {
                conf(
                    plugin,
                    v.ipam,
                    &dir.join(format!("data{pi}-{vi}")),
                    &format!("bench{pi}{vi}"),
                )
            })
            .collect();
        let mut adds = vec![Vec::new(); variants.len()];
        let mut dels = vec![Vec::new(); variants.len()];
        let mut floor = Vec::new();
        let fl = variants.len();
        #[allow(clippy::needless_range_loop)] // i names the containers of every variant
        for cmd in ["ADD", "DEL"] {
            for i in 0..n {
                for (vi, v) in variants.iter().enumerate() {
                    let (bin, path) = if v.ours {
                        (pdir.join(v.plugin), pdir.clone())
                    } else {
                        (Path::new(REF_DIR).join(v.plugin), PathBuf::from(REF_DIR))
                    };
                    let env = [
                        ("CNI_COMMAND", cmd.to_string()),
                        ("CNI_CONTAINERID", format!("bench{pi}x{vi}x{i}")),
                        ("CNI_NETNS", format!("/run/netns/{prefix}-{pi}c{vi}-{i}")),
                        ("CNI_IFNAME", "eth0".to_string()),
                        ("CNI_PATH", path.display().to_string()),
                    ];
                    let (d, ok, out) = exec(&hosts[vi], &bin, &env, &confs[vi])?;
                    if !ok {
                        return Err(format!("{} {cmd} #{i} failed: {out}", v.label).into());
                    }
                    let ms = d.as_secs_f64() * 1e3;
                    if cmd == "ADD" {
                        adds[vi].push(ms);
                    } else {
                        dels[vi].push(ms);
                    }
                }
                // The kernel floor, in the same rhythm: a veth made as the plugins make it
                // (inside the container, peer in the host) and deleted by one netlink request.
                let h = Handle::new_in(&conts[fl][i])?;
                if cmd == "ADD" {
                    let mut v = NewVeth::new("eth0", &format!("vf{i}"));
                    v.peer.netns = Some(&hosts[fl]);
                    h.add_veth(&v)?;
                } else {
                    let t = Instant::now();
                    h.delete_link("eth0")?;
                    floor.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
        for (vi, v) in variants.iter().enumerate() {
            let (am, ap) = stats(&mut adds[vi]);
            let (dm, dp) = stats(&mut dels[vi]);
            println!("{:<44} {am:>8.2} {ap:>8.2} {dm:>8.2} {dp:>8.2}", v.label);
            medians.insert((v.plugin, v.ours, v.ipam), (am, dm));
        }
        let (fm, fp) = stats(&mut floor);
        println!(
            "{:<44} {:>8} {:>8} {fm:>8.2} {fp:>8.2}",
            format!("{plugin} kernel floor: veth delete"),
            "",
            ""
        );
        medians.insert((plugin, false, "floor"), (0.0, fm));
        floor_all.extend(floor);
        drop(conts);
        drop(hosts);
        let done: Vec<String> = lab
            .names
            .iter()
            .filter(|x| x.starts_with(&format!("{prefix}-{pi}")))
            .cloned()
            .collect();
        for name in done {
            let _ = NetNs::delete(&name);
            lab.names.retain(|x| x != &name);
        }
    }

    // `ip link del` of a veth (a process, as the issue measured the floor).
    let host = lab.netns(&format!("{prefix}-hfloor"))?;
    let cont = lab.netns(&format!("{prefix}-cfloor"))?;
    let h = Handle::new_in(&cont)?;
    let mut ipdel = Vec::new();
    for i in 0..n.min(20) {
        let mut v = NewVeth::new("eth0", &format!("vf{i}"));
        v.peer.netns = Some(&host);
        h.add_veth(&v)?;
        let t = Instant::now();
        let st = Command::new("ip")
            .args(["-n", &format!("{prefix}-cfloor"), "link", "del", "eth0"])
            .status()?;
        ipdel.push(t.elapsed().as_secs_f64() * 1e3);
        if !st.success() {
            return Err("ip link del failed".into());
        }
    }
    let (im, ip) = stats(&mut ipdel);
    println!(
        "{:<44} {:>8} {:>8} {im:>8.2} {ip:>8.2}",
        "kernel floor: `ip link del` (a process)", "", ""
    );
    // Start-up: a process answering VERSION.
    for (label, bin) in [
        (
            "VERSION: reference bridge (Go)",
            Path::new(REF_DIR).join("bridge"),
        ),
        ("VERSION: netplumb-cni", ours.clone()),
    ] {
        let mut t = Vec::new();
        for _ in 0..n {
            let (d, _, _) = exec(
                &host,
                &bin,
                &[("CNI_COMMAND", "VERSION".into())],
                "{\"cniVersion\":\"1.0.0\"}",
            )?;
            t.push(d.as_secs_f64() * 1e3);
        }
        let (m, p) = stats(&mut t);
        println!("{label:<44} {m:>8.2} {p:>8.2}");
    }
    let mut bridge_line = None;
    for p in ["bridge", "ptp", "macvlan"] {
        let (Some(r), Some(o1), Some(o2)) = (
            medians.get(&(p, false, "host-local")),
            medians.get(&(p, true, "host-local")),
            medians.get(&(p, true, "netplumb-host-local")),
        ) else {
            continue;
        };
        let fm = medians.get(&(p, false, "floor")).map_or(f64::NAN, |f| f.1);
        println!(
            "{p}: DEL median netplumb {:.2} / {:.2} ms (ipam reference / ours), reference {:.2} ms, \
             kernel floor {fm:.2} ms: {:+.1}% / {:+.1}% over the floor",
            o1.1,
            o2.1,
            r.1,
            (o1.1 / fm - 1.0) * 100.0,
            (o2.1 / fm - 1.0) * 100.0
        );
        let ratios = format!(
            "add {:.2} del {:.2} (ipam reference) add {:.2} del {:.2} (ipam ours)",
            o1.0 / r.0,
            o1.1 / r.1,
            o2.0 / r.0,
            o2.1 / r.1
        );
        println!("{p} ratio netplumb/reference: {ratios}");
        if p == "bridge" {
            bridge_line = Some(format!("cni ratio netplumb/reference: {ratios}"));
        }
    }
    drop(lab);
    if let Some(line) = bridge_line {
        println!("{line}");
    }
    Ok(())
}
