//! Root tests for network namespaces, checked against `ip netns`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::unique_name;
use netplumb::link::NewVeth;
use netplumb::{Error, Handle, NetNs};
use nix::errno::Errno;

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

/// Linux's `CAP_SYS_ADMIN` capability number.
const CAP_SYS_ADMIN: u32 = 21;

/// Drops `CAP_SYS_ADMIN` from the calling thread's effective and permitted sets, and checks
/// that it is gone (entering a namespace, which needs it, now fails with `EPERM`).
///
/// Linux keeps credentials per thread: `capset(2)` with pid 0 changes the calling thread only
/// (glibc's wrappers broadcast `set*id` to every thread, but there is no `capset` wrapper and
/// the raw system call is not broadcast), and threads it spawns inherit its credentials. Run on
/// a scoped thread of the test, this makes that thread an unprivileged caller while the rest of
/// the test process (other tests included) keeps its privileges, with no helper process and no
/// change to the machine. Works as root or not (dropping a capability one lacks is a no-op).
fn drop_cap_sys_admin_on_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    // _LINUX_CAPABILITY_VERSION_3: two `Data` (capabilities 0-31 and 32-63).
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget reads one version-3 header and writes two `Data`, both live locals laid
    // out as the kernel's `__user_cap_header_struct` / `__user_cap_data_struct`.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    assert_eq!(r, 0, "capget: {}", Errno::last());
    data[0].effective &= !(1 << CAP_SYS_ADMIN);
    data[0].permitted &= !(1 << CAP_SYS_ADMIN);
    // SAFETY: as above; capset only reads them. pid 0 is the calling thread alone.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    assert_eq!(r, 0, "capset: {}", Errno::last());
    let here = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
    assert_eq!(
        nix::sched::setns(&here, nix::sched::CloneFlags::CLONE_NEWNET),
        Err(Errno::EPERM),
        "CAP_SYS_ADMIN was not dropped"
    );
}

/// Defect: `NetNs::current` and `NetNs::open_path` checked the file's type by entering the
/// namespace (`setns`), which needs `CAP_SYS_ADMIN`, so an unprivileged caller could not open
/// or compare namespaces. The check runs here on a thread without `CAP_SYS_ADMIN` (see
/// [`drop_cap_sys_admin_on_this_thread`]); not a root test, it runs as any user.
#[test]
fn netns_open_needs_no_cap_sys_admin() {
    let (current, by_path, by_pid, uts) = std::thread::scope(|s| {
        s.spawn(|| {
            drop_cap_sys_admin_on_this_thread();
            (
                NetNs::current(),
                NetNs::open_path("/proc/self/ns/net"),
                NetNs::from_pid(std::process::id()),
                NetNs::open_path("/proc/self/ns/uts"),
            )
        })
        .join()
        .unwrap()
    });
    let current = current.expect("NetNs::current without CAP_SYS_ADMIN");
    let by_path = by_path.expect("NetNs::open_path without CAP_SYS_ADMIN");
    let by_pid = by_pid.expect("NetNs::from_pid without CAP_SYS_ADMIN");
    assert_eq!(current.inode().unwrap(), by_path.inode().unwrap());
    assert_eq!(current.inode().unwrap(), by_pid.inode().unwrap());
    // The type check itself still works unprivileged.
    match uts {
        Err(Error::InvalidInput { arg, reason }) => {
            assert_eq!(arg, "netns path");
            assert!(reason.contains("uts namespace"), "{reason}");
        }
        other => panic!("expected invalid netns path, got {other:?}"),
    }
}

/// A fresh empty directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_name(prefix));
        fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Asserts `NetNs::open_path(path)` is refused as invalid input whose reason says `what`;
/// fails (instead of hanging) when the call does not return within five seconds.
fn assert_open_path_refused(path: &Path, what: &str) {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(NetNs::open_path(&p));
    });
    let r = match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(r) => r,
        Err(_) => {
            // Release a thread blocked opening a FIFO (a writer arrives), then fail.
            let _ = fs::OpenOptions::new().write(true).open(path);
            panic!("NetNs::open_path({}) blocked for 5 s", path.display());
        }
    };
    match r {
        Err(Error::InvalidInput { arg, reason }) => {
            assert_eq!(arg, "netns path", "{reason}");
            assert!(reason.contains(what), "{what:?} not in {reason:?}");
        }
        other => panic!(
            "{}: expected invalid netns path, got {other:?}",
            path.display()
        ),
    }
}

/// Defect: `NetNs::open_path` on a FIFO blocked forever in `open` (waiting for a writer), and
/// what was not a network namespace was told apart only by entering it (root only).
#[test]
fn netns_open_path_refuses_fifos_files_and_other_namespaces_without_blocking() {
    let dir = TempDir::new("np-netns-open");
    let fifo = dir.0.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    assert_open_path_refused(&fifo, "is a FIFO");
    let file = dir.0.join("file");
    fs::write(&file, b"not a namespace").unwrap();
    assert_open_path_refused(&file, "is a regular file");
    assert_open_path_refused(&dir.0, "is a directory");
    assert_open_path_refused(Path::new("/dev/null"), "is a character device");
    assert_open_path_refused(Path::new("/proc/self/ns/uts"), "is a uts namespace");
    assert_open_path_refused(Path::new("/proc/self/ns/mnt"), "is a mnt namespace");
    assert!(NetNs::open_path(dir.0.join("missing"))
        .unwrap_err()
        .is_not_found());
}

/// Defect: every failure of `NetNs::create` read `create named netns: ERRNO`, whichever step
/// failed. Two steps are made to fail here: making `/run/netns` a shared mount point, on a
/// thread without `CAP_SYS_ADMIN`; and creating the namespace's file, when a directory of that
/// name is in the way (which is not a namespace, so not "already exists").
#[test]
fn netns_create_errors_name_the_failed_step() {
    require_root!();
    let name = unique_name("np-step");
    let path = Path::new(netplumb::netns::NETNS_RUN_DIR).join(&name);
    let e = std::thread::scope(|s| {
        s.spawn(|| {
            drop_cap_sys_admin_on_this_thread();
            NetNs::create(&name)
        })
        .join()
        .unwrap()
    })
    .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EPERM), "{e}");
    assert!(
        e.to_string()
            .starts_with("create named netns: make /run/netns a shared mount point: "),
        "{e}"
    );
    assert!(!path.exists(), "{} left behind", path.display());

    fs::create_dir(&path).unwrap();
    let _rmdir = common::OnDrop(|| {
        let _ = fs::remove_dir(&path);
    });
    let e = NetNs::create(&name).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST), "{e}");
    assert!(e.is_exists(), "{e}");
    assert!(
        e.to_string()
            .starts_with("create named netns: create the namespace file under /run/netns: "),
        "{e}"
    );
    assert!(path.is_dir(), "the directory in the way was touched");
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
