//! Root tests for network namespaces, checked against `ip netns`.

mod common;

use std::process::Command;

use common::unique_name;
use netplumb::link::NewVeth;
use netplumb::{Handle, NetNs};

fn ip_netns_list() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-j", "netns", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return vec![];
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn named_namespace_is_seen_by_iproute2() {
    require_root!();
    let name = unique_name("np-test");
    let ns = NetNs::create(&name).unwrap();
    assert_eq!(ns.name(), Some(name.as_str()));
    let cleanup = scopeguard(&name);
    assert!(ip_netns_list().contains(&name));
    assert!(NetNs::list().unwrap().contains(&name));
    // A link made through netplumb is what `ip netns exec` sees.
    Handle::new_in(&ns)
        .unwrap()
        .add_veth(&NewVeth::new("n0", "n1"))
        .unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &name, "ip", "-j", "link", "show", "n0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["ifname"], "n0");
    // Opening by name reaches the same namespace.
    let again = NetNs::open(&name).unwrap();
    assert_eq!(again.inode().unwrap(), ns.inode().unwrap());
    assert!(NetNs::create(&name).unwrap_err().is_exists());

    drop(cleanup);
    assert!(!ip_netns_list().contains(&name));
    assert!(NetNs::open(&name).unwrap_err().is_not_found());
    assert!(NetNs::delete(&name).unwrap_err().is_not_found());
    // The open value still holds the namespace alive and usable.
    assert!(Handle::new_in(&ns).unwrap().link("n0").is_ok());
}

#[test]
fn namespace_made_by_iproute2_opens() {
    require_root!();
    let name = unique_name("np-ip");
    let st = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(st.success());
    let cleanup = scopeguard(&name);
    let ns = NetNs::open(&name).unwrap();
    let st = Command::new("ip")
        .args([
            "-n", &name, "link", "add", "z0", "type", "veth", "peer", "name", "z1",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let links = Handle::new_in(&ns)
        .unwrap()
        .links(&Default::default())
        .unwrap();
    assert!(links.iter().any(|l| l.name == "z0"));
    drop(cleanup);
    assert!(!ip_netns_list().contains(&name));
}

#[test]
fn run_returns_the_value_and_opens_by_pid() {
    require_root!();
    let here = NetNs::current().unwrap();
    let ns = NetNs::new_unnamed().unwrap();
    let inside = ns
        .run(|| NetNs::current().unwrap().inode().unwrap())
        .unwrap();
    assert_eq!(inside, ns.inode().unwrap());
    assert_ne!(inside, here.inode().unwrap());
    assert_eq!(
        NetNs::current().unwrap().inode().unwrap(),
        here.inode().unwrap()
    );
    let me = NetNs::from_pid(std::process::id()).unwrap();
    assert_eq!(me.inode().unwrap(), here.inode().unwrap());
    let clone = ns.try_clone().unwrap();
    assert_eq!(clone.inode().unwrap(), ns.inode().unwrap());
    // A socket bound inside stays there: each namespace has its own port space.
    let first = ns
        .run(|| std::net::UdpSocket::bind("0.0.0.0:0"))
        .unwrap()
        .unwrap();
    let port = first.local_addr().unwrap().port();
    let same_ns = ns
        .run(|| std::net::UdpSocket::bind(("0.0.0.0", port)))
        .unwrap();
    assert_eq!(same_ns.unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    let other = NetNs::new_unnamed().unwrap();
    assert!(other
        .run(|| std::net::UdpSocket::bind(("0.0.0.0", port)))
        .unwrap()
        .is_ok());
}

#[test]
fn open_path_refuses_what_is_not_a_network_namespace() {
    require_root!();
    let e = NetNs::open_path("/proc/self/ns/uts").unwrap_err();
    assert!(matches!(e, netplumb::Error::InvalidInput { .. }), "{e}");
    let e = NetNs::open_path("/nonexistent/ns").unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

struct Guard<'a>(&'a str);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let _ = NetNs::delete(self.0);
    }
}

fn scopeguard(name: &str) -> Guard<'_> {
    Guard(name)
}
