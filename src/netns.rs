//! Network namespaces: create, open, delete, and run code inside one.
//!
//! Named namespaces follow iproute2's convention exactly (a bind mount of the namespace file
//! under `/run/netns`), so `ip netns list` and `ip netns exec` see the ones netplumb creates and
//! netplumb opens the ones `ip netns add` created. Nothing here changes the namespace of the
//! calling thread: code that must run inside a namespace runs on a short-lived scoped thread.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

use crate::{Error, Result};

/// Where iproute2 keeps the bind mounts of named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// An open network namespace: a file descriptor that keeps it alive.
///
/// ```no_run
/// use netplumb::NetNs;
///
/// let ns = NetNs::create("pod1")?;          // ip netns add pod1
/// let socket = ns.run(|| std::net::UdpSocket::bind("0.0.0.0:4789"))??; // bound inside pod1
/// # drop(socket);
/// NetNs::delete("pod1")?;                   // ip netns delete pod1
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
    name: Option<String>,
}

impl NetNs {
    /// Creates a named namespace, as `ip netns add NAME` does: the namespace file is bind
    /// mounted at `/run/netns/NAME` (made a shared mount point first, as iproute2 does), so it
    /// outlives this value and shows in `ip netns list`.
    pub fn create(name: &str) -> Result<NetNs> {
        check_name(name)?;
        match fs::create_dir(NETNS_RUN_DIR) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::io(
                    "create named netns: make directory /run/netns",
                    e,
                ))
            }
        }
        make_run_dir_shared().map_err(|e| {
            Error::io(
                "create named netns: make /run/netns a shared mount point",
                e,
            )
        })?;
        let path = Path::new(NETNS_RUN_DIR).join(name);
        let op_file = "create named netns: create the namespace file under /run/netns";
        if let Err(e) = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o000)
            .open(&path)
        {
            // A namespace of that name exists; anything else in the way (a directory, a file
            // left by a crash) is not one, and the error says which step it stopped.
            return Err(
                if e.kind() == io::ErrorKind::AlreadyExists && NetNs::open_path(&path).is_ok() {
                    Error::Exists {
                        what: format!("network namespace {name:?}"),
                    }
                } else {
                    Error::io(op_file, e)
                },
            );
        }
        let made = on_thread(|| {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::io("create named netns: unshare a new network namespace", e))?;
            mount(
                Some("/proc/thread-self/ns/net"),
                &path,
                Some("none"),
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| {
                Error::io(
                    "create named netns: bind-mount /proc/thread-self/ns/net on its file under \
                     /run/netns",
                    e,
                )
            })
        })
        .and_then(|r| r)
        .and_then(|()| NetNs::open_path(&path));
        match made {
            Ok(mut ns) => {
                ns.name = Some(name.to_string());
                Ok(ns)
            }
            Err(e) => {
                let _ = umount2(&path, MntFlags::MNT_DETACH);
                let _ = fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Opens the named namespace `/run/netns/NAME` (made by [`NetNs::create`] or by
    /// `ip netns add`).
    pub fn open(name: &str) -> Result<NetNs> {
        check_name(name)?;
        let mut ns = NetNs::open_path(Path::new(NETNS_RUN_DIR).join(name)).map_err(|e| {
            if e.is_not_found() {
                Error::NotFound {
                    what: format!("network namespace {name:?}"),
                    errno: e.errno(),
                }
            } else {
                e
            }
        })?;
        ns.name = Some(name.to_string());
        Ok(ns)
    }

    /// Opens the namespace behind a path, such as `/proc/1234/ns/net` or a bind mount.
    ///
    /// The path must be a network namespace file; anything else (a FIFO, a regular file, a
    /// directory, a device, a namespace of another type) is [`Error::InvalidInput`] saying what
    /// it is. Opening needs no privilege beyond access to the path: the type is checked without
    /// entering the namespace, and opening a FIFO or a device does not wait or act on it.
    pub fn open_path(path: impl AsRef<Path>) -> Result<NetNs> {
        let path = path.as_ref();
        let op = "open netns";
        // O_PATH: only a handle on the file, which opening does not touch (a FIFO waits for no
        // writer, a device's open is not called) and which fstat and fstatfs accept.
        let handle = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(path)
            .map_err(|e| Error::io(op, e))?;
        let not_netns = |what: &str| {
            Error::invalid(
                "netns path",
                format!("{} is {what}, not a network namespace", path.display()),
            )
        };
        let meta = handle.metadata().map_err(|e| Error::io(op, e))?;
        let is_nsfs = fstatfs(&handle)
            .map_err(|e| Error::io(op, e))?
            .filesystem_type()
            == NSFS_MAGIC;
        if !is_nsfs || !meta.file_type().is_file() {
            return Err(not_netns(file_type_name(&meta.file_type())));
        }
        // A namespace file: now open it for real, through the handle (so it is the same file,
        // whatever happened to the path meanwhile), and ask it its type.
        let file = File::open(format!("/proc/thread-self/fd/{}", handle.as_raw_fd()))
            .map_err(|e| Error::io(op, e))?;
        let fd = OwnedFd::from(file);
        match ns_type(fd.as_fd()) {
            Ok(t) if t == libc::CLONE_NEWNET => {}
            Ok(t) => return Err(not_netns(&format!("a {} namespace", ns_type_name(t)))),
            Err(e) => return Err(Error::io("get namespace type (NS_GET_NSTYPE)", e)),
        }
        Ok(NetNs { fd, name: None })
    }

    /// Opens the network namespace of a process (`/proc/PID/ns/net`).
    pub fn from_pid(pid: u32) -> Result<NetNs> {
        NetNs::open_path(format!("/proc/{pid}/ns/net"))
    }

    /// Opens the calling thread's own network namespace.
    pub fn current() -> Result<NetNs> {
        NetNs::open_path("/proc/thread-self/ns/net")
    }

    /// Creates a new namespace with no name: it lives as long as this value (and anything
    /// created inside it that holds it, such as sockets). Tests use these so that they leave
    /// nothing behind.
    pub fn new_unnamed() -> Result<NetNs> {
        let op = "create netns";
        let fd = on_thread(|| -> io::Result<OwnedFd> {
            unshare(CloneFlags::CLONE_NEWNET)?;
            Ok(File::open("/proc/thread-self/ns/net")?.into())
        })?
        .map_err(|e| Error::io(op, e))?;
        Ok(NetNs { fd, name: None })
    }

    /// Deletes a named namespace, as `ip netns delete NAME` does: the bind mount is detached and
    /// its file removed. The namespace itself disappears once nothing else holds it (open
    /// [`NetNs`] values, processes, sockets).
    pub fn delete(name: &str) -> Result<()> {
        check_name(name)?;
        let op = "delete named netns";
        let path = Path::new(NETNS_RUN_DIR).join(name);
        if !path.exists() {
            return Err(Error::NotFound {
                what: format!("network namespace {name:?}"),
                errno: None,
            });
        }
        match umount2(&path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(Error::io(op, e)),
        }
        fs::remove_file(&path).map_err(|e| Error::io(op, e))
    }

    /// The names of the named namespaces, as `ip netns list` shows them (sorted).
    pub fn list() -> Result<Vec<String>> {
        let dir = match fs::read_dir(NETNS_RUN_DIR) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list named netns", e)),
        };
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| Error::io("list named netns", e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The name, for a namespace created or opened by name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The path of a named namespace's file (`/run/netns/NAME`).
    pub fn path(&self) -> Option<PathBuf> {
        self.name.as_ref().map(|n| Path::new(NETNS_RUN_DIR).join(n))
    }

    /// The namespace's inode number: two `NetNs` values refer to the same namespace exactly
    /// when their inodes are equal (`ip netns identify` compares the same way).
    pub fn inode(&self) -> Result<u64> {
        let file = File::from(
            self.fd
                .try_clone()
                .map_err(|e| Error::io("stat netns", e))?,
        );
        Ok(file
            .metadata()
            .map_err(|e| Error::io("stat netns", e))?
            .ino())
    }

    /// A second descriptor for the same namespace.
    pub fn try_clone(&self) -> Result<NetNs> {
        Ok(NetNs {
            fd: self
                .fd
                .try_clone()
                .map_err(|e| Error::io("clone netns", e))?,
            name: self.name.clone(),
        })
    }

    /// Runs `f` inside this namespace on a scoped thread and returns its value.
    ///
    /// Sockets created by `f` stay in this namespace after it returns, and so do child
    /// processes it spawns (`std::process::Command` inherits the thread's namespace). The
    /// calling thread never changes namespace. A panic in `f` is propagated.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        on_thread(|| {
            setns(&self.fd, CloneFlags::CLONE_NEWNET).map_err(|e| Error::io("enter netns", e))?;
            Ok(f())
        })?
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Runs `f` on a scoped thread of its own, so that namespace changes die with the thread.
fn on_thread<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("netplumb-netns".into())
            .spawn_scoped(s, f)
            .map_err(|e| Error::io("spawn netns thread", e))?;
        match handle.join() {
            Ok(v) => Ok(v),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// A namespace file's type (`NS_GET_NSTYPE`, Linux 4.11): the `CLONE_NEW*` flag of its kind.
#[allow(unsafe_code)]
fn ns_type(fd: BorrowedFd<'_>) -> nix::Result<libc::c_int> {
    // SAFETY: NS_GET_NSTYPE takes no argument (`_IO`): the kernel reads and writes no memory of
    // ours and returns the type as the call's value. `fd` is a descriptor borrowed for the call,
    // so it stays open throughout; on a descriptor of another kind the call fails (`ENOTTY`).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_NSTYPE) };
    Errno::result(r)
}

/// The `ip`/`lsns` name of a namespace type (`CLONE_NEW*` flag).
fn ns_type_name(t: libc::c_int) -> String {
    match t {
        libc::CLONE_NEWNET => "net".into(),
        libc::CLONE_NEWNS => "mnt".into(),
        libc::CLONE_NEWUTS => "uts".into(),
        libc::CLONE_NEWIPC => "ipc".into(),
        libc::CLONE_NEWUSER => "user".into(),
        libc::CLONE_NEWPID => "pid".into(),
        libc::CLONE_NEWCGROUP => "cgroup".into(),
        libc::CLONE_NEWTIME => "time".into(),
        t => format!("type-{t:#x}"),
    }
}

/// What a file that is not a namespace is, for the error.
fn file_type_name(t: &fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Makes `/run/netns` a shared mount point, bind-mounting it onto itself first when it is not a
/// mount point yet, so that namespace mounts propagate to other mount namespaces (what
/// `ip netns add` does).
fn make_run_dir_shared() -> nix::Result<()> {
    let shared = || {
        mount(
            Some(""),
            NETNS_RUN_DIR,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match shared() {
        Err(Errno::EINVAL) => {
            mount(
                Some(NETNS_RUN_DIR),
                NETNS_RUN_DIR,
                Some("none"),
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )?;
            shared()
        }
        r => r,
    }
}

fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "a namespace name cannot be empty".to_string()
    } else if name == "." || name == ".." {
        format!("{name:?} is not a valid namespace name")
    } else if name.contains(['/', '\0']) {
        format!("{name:?} contains '/' or NUL, which namespace names cannot")
    } else if name.len() >= 255 {
        format!(
            "{} bytes long; namespace names are at most 254 bytes",
            name.len()
        )
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput {
        arg: "namespace name",
        reason,
    })
}

/// The network namespace a socket belongs to (`SIOCGSKNS`, Linux 4.9), for opening another
/// socket (generic netlink) beside one whose namespace was chosen at its creation.
#[allow(unsafe_code)]
pub(crate) fn netns_of_socket(fd: std::os::fd::RawFd) -> Result<NetNs> {
    use std::os::fd::FromRawFd;
    // SAFETY: SIOCGSKNS takes no argument: the kernel reads and writes no memory of ours and
    // returns a new descriptor of the socket's namespace as the call's value, or -1. The caller
    // keeps `fd` open for the call (it holds the socket's owner locked).
    let r = unsafe { libc::ioctl(fd, libc::SIOCGSKNS) };
    let ns = Errno::result(r).map_err(|e| Error::io("get socket netns", e))?;
    // SAFETY: `ns` is a descriptor the kernel just opened for us, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(ns) };
    Ok(NetNs { fd, name: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_anything_happens() {
        for bad in ["", ".", "..", "a/b", "/abs", "x\0y"] {
            let e = NetNs::create(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidInput {
                        arg: "namespace name",
                        ..
                    }
                ),
                "{bad:?}: {e}"
            );
        }
        assert!(check_name(&"n".repeat(255)).is_err());
        assert!(check_name("pod-1.a_b").is_ok());
    }
}
