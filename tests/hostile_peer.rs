//! A hostile peer: an unprivileged user's rootless container (`setpriv` to `nobody`, then
//! `unshare -Urn`: root of its own user and network namespace) attacks a root agent that
//! watches and lists its namespace, as a host agent watches a pod. The container forges
//! "kernel" notifications to every netlink socket of its namespace (the agent's monitor among
//! them, found in `/proc/net/netlink`) and creates a link whose name is not UTF-8. The agent's
//! monitor reports no forged event and does not end; its listings succeed and show the odd
//! name's exact bytes.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netplumb::monitor::{Change, Event, Groups, Monitor, MonitorOptions};
use netplumb::{Handle, NetNs};

/// The container's program: wait for the agent, forge, make the odd link, say so.
const CONTAINER: &str = r#"
set -e
while [ ! -e "$DIR/go" ]; do sleep 0.05; done
ip link set lo up
/usr/bin/python3 - <<'PY'
import os, socket, struct
def msg(ty, payload):
    b = struct.pack("=IHHII", 16 + len(payload), ty, 0, 0, 0) + payload
    return b + b"\0" * (-len(b) % 4)
def attr(ty, data):
    a = struct.pack("=HH", 4 + len(data), ty) + data
    return a + b"\0" * (-len(a) % 4)
route = msg(24, bytes([2, 0, 0, 0, 254, 4, 0, 1]) + b"\0" * 4 + attr(5, bytes([6, 6, 6, 6])))
dellink = msg(17, struct.pack("=BBHiII", 0, 0, 772, 1, 0, 0) + attr(3, b"lo\0"))
miss = msg(30, struct.pack("=BBBBiHBB", 2, 0, 0, 0, 1, 0, 0, 0) + attr(1, bytes([10, 9, 9, 9])))
junk = b"\xff" * 7
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 0))
me = s.getsockname()[0]
sent = tried = 0
for line in open("/proc/net/netlink").read().splitlines()[1:]:
    f = line.split()
    if f[1] == "0" and int(f[2]) not in (0, me):
        for m in (route, dellink, miss, junk):
            tried += 1
            try:
                s.sendto(m, (int(f[2]), 0)); sent += 1
            except OSError:
                pass
open(os.environ["DIR"] + "/forged", "w").write("%d %d" % (tried, sent))
PY
ip link add "$(printf 'bad\377\376')" type veth peer name p0
touch "$DIR/done"
sleep 30
"#;

#[test]
fn a_rootless_container_cannot_forge_events_or_break_listings() {
    require_root!();
    for tool in ["/usr/bin/setpriv", "/usr/bin/unshare", "/usr/bin/python3"] {
        if !Path::new(tool).exists() {
            common::report_skip(&common::test_name(), &format!("{tool} is missing"));
            return;
        }
    }
    let dir = std::env::temp_dir().join(format!("netplumb-hostile-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let mut child = Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/usr/bin/unshare", "-Urn", "sh", "-c", CONTAINER])
        .env("DIR", &dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child, std::path::PathBuf);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
            let _ = fs::remove_dir_all(&self.1);
        }
    }
    let pid = child.id();
    let _guard = {
        // The container's namespace, once `unshare` made it.
        let deadline = Instant::now() + Duration::from_secs(10);
        let own = NetNs::current().unwrap().inode().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the container exited early: {status}");
            }
            let shell =
                fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            let inner = shell.split_whitespace().next().map(str::to_string);
            let candidate = inner
                .and_then(|p| p.parse::<u32>().ok())
                .and_then(|p| NetNs::from_pid(p).ok());
            if let Some(ns) = candidate.filter(|n| n.inode().unwrap() != own) {
                break (Kill(child, dir.clone()), ns);
            }
            assert!(
                Instant::now() < deadline,
                "the container's namespace never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let ns = &_guard.1;
    let mut mon = Monitor::new_in(
        ns,
        &MonitorOptions {
            groups: Groups::ALL,
            ..MonitorOptions::default()
        },
    )
    .unwrap();
    fs::File::create(dir.join("go")).unwrap().flush().unwrap();
    // Read until the odd link shows up; nothing forged may come before or with it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let odd = loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("the odd link never came; saw {seen:?}"));
        match mon.recv_timeout(left) {
            Ok(Some(Event::Link(Change::Added(l)))) if l.name.as_bytes() == b"bad\xff\xfe" => {
                break l
            }
            Ok(Some(e)) => seen.push(e),
            Ok(None) => panic!("the odd link never came; saw {seen:?}"),
            Err(e) => panic!("the monitor's stream ended: {e}; saw {seen:?}"),
        }
    };
    for e in &seen {
        match e {
            // (The container's own `ip link set lo up` makes real local routes.)
            Event::Route(c) if c.get().gateway() == Some([6, 6, 6, 6].into()) => {
                panic!("a forged route event came out: {c:?}")
            }
            Event::Link(Change::Removed(l)) => panic!("a forged link removal came out: {l:?}"),
            Event::L3Miss { .. } | Event::Malformed { .. } => panic!("forged: {e:?}"),
            _ => {}
        }
    }
    let counts = fs::read_to_string(dir.join("forged")).unwrap();
    let counts: Vec<usize> = counts
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let (tried, forged) = (counts[0], counts[1]);
    // The monitor's port (at least) was found and attacked with all four datagrams.
    assert!(tried >= 4, "the container found no socket to attack");
    // The agent's listings of the container's namespace work and show the exact bytes.
    let h = Handle::new_in(ns).unwrap();
    let links = h.links(&Default::default()).unwrap();
    assert!(
        links.iter().any(|l| l.name.as_bytes() == b"bad\xff\xfe"),
        "{links:?}"
    );
    assert_eq!(h.link(odd.index).unwrap().name, odd.name);
    h.addresses(&Default::default()).unwrap();
    // A fresh snapshot through the monitor works too.
    mon.resync().unwrap();
    let mut names = Vec::new();
    loop {
        match mon.recv_timeout(Duration::from_secs(10)).unwrap() {
            Some(Event::Link(Change::Added(l))) => names.push(l.name),
            Some(Event::SnapshotDone) => break,
            Some(_) => {}
            None => panic!("no snapshot"),
        }
    }
    assert!(names.iter().any(|n| n.as_bytes() == b"bad\xff\xfe"));
    eprintln!(
        "hostile peer: {tried} forged datagrams tried, {forged} accepted by the kernel (the rest \
         refused: the monitor is connected to the kernel), {} dropped by the monitor, none \
         reported",
        mon.foreign_dropped()
    );
}
