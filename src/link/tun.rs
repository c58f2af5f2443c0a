//! tun and tap devices (`ip tuntap add NAME mode tun|tap …`): interfaces whose other end is a
//! program reading and writing `/dev/net/tun` (a VPN, a VM, a user-space stack).
//!
//! The kernel does not create them over rtnetlink (`ip link add … type tun` is refused): they
//! are made, as iproute2 makes them, by opening `/dev/net/tun` and asking with `TUNSETIFF`,
//! `TUNSETOWNER`, `TUNSETGROUP` and `TUNSETPERSIST`. The device is made persistent, so it
//! outlives the descriptor and is deleted like any link
//! ([`Handle::delete_link`](crate::Handle::delete_link)). rtnetlink reports it as kind `tun`
//! with its settings ([`LinkKind::Tun`](super::LinkKind::Tun)).

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use netlink_packet_core::{DefaultNla, Nla};
use netlink_packet_route::link::InfoTun;
use nix::errno::Errno;
use nix::unistd::{Gid, Group, Uid, User};

use crate::types::check_ifname;
use crate::wire::kernel::ifla_tun as tun_attr;
use crate::{Error, Handle, NetNs, Result};

/// The character device through which tun and tap devices are made.
pub const TUN_DEVICE: &str = "/dev/net/tun";

/// Whether the device carries IP packets or Ethernet frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TunMode {
    /// IP packets, no link-layer header (`mode tun`).
    #[default]
    Tun,
    /// Ethernet frames (`mode tap`).
    Tap,
    /// A type this version does not know (the kernel's `IFF_*` type bits).
    Other(u8),
}

/// A tun or tap device to create.
///
/// ```no_run
/// use netplumb::{Handle, link::{NewTun, TunMode}};
///
/// // ip tuntap add tap0 mode tap user 1000 vnet_hdr multi_queue
/// Handle::new()?.add_tun(&NewTun {
///     owner: Some(1000),
///     vnet_hdr: true,
///     multi_queue: true,
///     ..NewTun::new("tap0", TunMode::Tap)
/// })?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewTun<'a> {
    /// Device name.
    pub name: String,
    /// tun or tap.
    pub mode: TunMode,
    /// The user allowed to attach to the device besides root (`user UID`): a numeric uid the
    /// system's user database (`getpwuid`) knows; anyone with `CAP_NET_ADMIN` when `None`.
    pub owner: Option<u32>,
    /// The group allowed to attach (`group GID`): a numeric gid the group database
    /// (`getgrgid`) knows.
    pub group: Option<u32>,
    /// Packets carry the 4-byte packet information header (`pi`; off by default, as in
    /// iproute2).
    pub packet_info: bool,
    /// Packets carry a `virtio_net_hdr` (`vnet_hdr`), for VMs.
    pub vnet_hdr: bool,
    /// Several queues, one descriptor each (`multi_queue`).
    pub multi_queue: bool,
    /// The namespace to create it in; the handle's own when `None`.
    pub netns: Option<&'a NetNs>,
}

impl NewTun<'_> {
    /// A device named `name` in `mode` with iproute2's defaults (no packet information, one
    /// queue, owned by nobody in particular).
    pub fn new(name: &str, mode: TunMode) -> NewTun<'static> {
        NewTun {
            name: name.to_string(),
            mode,
            ..NewTun::default()
        }
    }
}

/// A tun or tap device's settings as rtnetlink reports them
/// ([`LinkKind::Tun`](super::LinkKind::Tun); `ip -d link`'s `tun type tap pi off …`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tun {
    /// tun or tap.
    pub mode: Option<TunMode>,
    /// The owning user, when one is set.
    pub owner: Option<u32>,
    /// The owning group, when one is set.
    pub group: Option<u32>,
    /// The packet information header is on.
    pub packet_info: bool,
    /// `virtio_net_hdr` is on.
    pub vnet_hdr: bool,
    /// The device outlives its descriptors.
    pub persist: bool,
    /// Multi-queue.
    pub multi_queue: bool,
    /// Queues attached now.
    pub queues: Option<u32>,
    /// Queues disabled now.
    pub disabled_queues: Option<u32>,
}

impl Tun {
    pub(crate) fn from_nlas(nlas: Vec<InfoTun>) -> Tun {
        let mut t = Tun::default();
        for nla in nlas {
            let InfoTun::Other(nla) = nla else { continue };
            let v = value(&nla);
            let u32_v = || {
                v.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_ne_bytes)
            };
            let flag = v.first().is_some_and(|b| *b != 0);
            match nla.kind() {
                tun_attr::OWNER => t.owner = u32_v(),
                tun_attr::GROUP => t.group = u32_v(),
                tun_attr::TYPE => {
                    t.mode = v.first().map(|ty| match i32::from(*ty) {
                        libc::IFF_TUN => TunMode::Tun,
                        libc::IFF_TAP => TunMode::Tap,
                        _ => TunMode::Other(*ty),
                    })
                }
                tun_attr::PI => t.packet_info = flag,
                tun_attr::VNET_HDR => t.vnet_hdr = flag,
                tun_attr::PERSIST => t.persist = flag,
                tun_attr::MULTI_QUEUE => t.multi_queue = flag,
                tun_attr::NUM_QUEUES => t.queues = u32_v(),
                tun_attr::NUM_DISABLED_QUEUES => t.disabled_queues = u32_v(),
                _ => {}
            }
        }
        t
    }
}

fn value(nla: &DefaultNla) -> Vec<u8> {
    let mut v = vec![0; nla.value_len()];
    nla.emit_value(&mut v);
    v
}

/// `struct ifreq` as `TUNSETIFF` reads it: the name and the flags (a `short`), padded to the
/// union's 24 bytes.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// The `TUNSETIFF` flags of a request: type, packet information, vnet header, queues; and
/// `IFF_TUN_EXCL`, so that an existing device is an error rather than attached to.
fn tun_flags(t: &NewTun<'_>) -> Result<libc::c_short> {
    let mut flags = match t.mode {
        TunMode::Tun => libc::IFF_TUN,
        TunMode::Tap => libc::IFF_TAP,
        TunMode::Other(v) => {
            return Err(Error::invalid(
                "mode",
                format!("{v} is not a type this version can create (tun or tap)"),
            ))
        }
    };
    if !t.packet_info {
        flags |= libc::IFF_NO_PI;
    }
    if t.vnet_hdr {
        flags |= libc::IFF_VNET_HDR;
    }
    if t.multi_queue {
        flags |= libc::IFF_MULTI_QUEUE;
    }
    flags |= libc::IFF_TUN_EXCL;
    // Every flag fits the `short` of struct ifreq (the largest is 0x8000, its sign bit).
    Ok(flags as u16 as libc::c_short)
}

/// Checks the request: the name, the mode, and that the owner and group exist.
fn check(t: &NewTun<'_>) -> Result<libc::c_short> {
    check_ifname("tun name", &t.name)?;
    let flags = tun_flags(t)?;
    if let Some(uid) = t.owner {
        if uid == u32::MAX {
            return Err(Error::invalid(
                "owner",
                "uid 4294967295 is the invalid uid (-1)",
            ));
        }
        match User::from_uid(Uid::from_raw(uid)) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Error::invalid(
                    "owner",
                    format!("no user has uid {uid} (getpwuid)"),
                ))
            }
            Err(e) => return Err(Error::io("look up tun owner (getpwuid)", e)),
        }
    }
    if let Some(gid) = t.group {
        if gid == u32::MAX {
            return Err(Error::invalid(
                "group",
                "gid 4294967295 is the invalid gid (-1)",
            ));
        }
        match Group::from_gid(Gid::from_raw(gid)) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Error::invalid(
                    "group",
                    format!("no group has gid {gid} (getgrgid)"),
                ))
            }
            Err(e) => return Err(Error::io("look up tun group (getgrgid)", e)),
        }
    }
    Ok(flags)
}

/// One tun ioctl; a refusal keeps the kernel's errno.
#[allow(unsafe_code)]
fn tun_ioctl(fd: &OwnedFd, op: &'static str, req: libc::Ioctl, arg: libc::c_ulong) -> Result<()> {
    // SAFETY: TUNSETOWNER, TUNSETGROUP and TUNSETPERSIST take their argument by value (an
    // integer, not a pointer), so the kernel reads no memory of ours; `fd` stays open.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req, arg) };
    Errno::result(r).map(drop).map_err(|errno| Error::Kernel {
        op,
        errno,
        message: None,
    })
}

/// Makes the device in the calling thread's namespace.
#[allow(unsafe_code)]
fn make(t: &NewTun<'_>, flags: libc::c_short) -> Result<()> {
    let fd: OwnedFd = match OpenOptions::new().read(true).write(true).open(TUN_DEVICE) {
        Ok(f) => f.into(),
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound) => {
            return Err(Error::Unsupported {
                op: "add tun",
                hint: format!("the kernel has no tun support ({TUN_DEVICE} is missing)"),
                errno: Errno::ENOENT,
                message: None,
            })
        }
        Err(e) => return Err(Error::io("add tun: open /dev/net/tun", e)),
    };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags,
        _pad: [0; 22],
    };
    // check_ifname has made sure the name fits with its NUL.
    req.name[..t.name.len()].copy_from_slice(t.name.as_bytes());
    // SAFETY: TUNSETIFF reads (and writes back the name into) a `struct ifreq`, which `req`
    // lays out with the kernel's size and alignment; `req` and `fd` live across the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req as *mut IfReq) };
    Errno::result(r).map_err(|errno| Error::Kernel {
        op: "add tun (TUNSETIFF)",
        // With IFF_TUN_EXCL the kernel answers EBUSY for a name in use: say it exists.
        errno: if errno == Errno::EBUSY {
            Errno::EEXIST
        } else {
            errno
        },
        message: (errno == Errno::EBUSY).then(|| format!("a link named {} exists", t.name)),
    })?;
    // Until persistent, the device goes with the descriptor: a refusal below leaves nothing.
    if let Some(uid) = t.owner {
        tun_ioctl(&fd, "add tun (TUNSETOWNER)", libc::TUNSETOWNER, uid.into())?;
    }
    if let Some(gid) = t.group {
        tun_ioctl(&fd, "add tun (TUNSETGROUP)", libc::TUNSETGROUP, gid.into())?;
    }
    tun_ioctl(&fd, "add tun (TUNSETPERSIST)", libc::TUNSETPERSIST, 1)
}

/// # Links: tun/tap
///
/// `ip tuntap add NAME mode tun|tap [user U] [group G] [pi] [vnet_hdr] [multi_queue]`.
impl Handle {
    /// Creates a persistent tun or tap device in the handle's namespace (or
    /// [`NewTun::netns`]). Equivalent to `ip tuntap add NAME mode tun|tap [user UID]
    /// [group GID] [pi] [vnet_hdr] [multi_queue]`.
    ///
    /// The work happens on a short-lived thread inside the target namespace (the calling
    /// thread never changes namespace). An owner or group the system does not know is
    /// refused before anything is made; a name in use is an error for which
    /// [`Error::is_exists`] is true; a kernel without `/dev/net/tun` is
    /// [`Error::Unsupported`].
    pub fn add_tun(&self, tun: &NewTun<'_>) -> Result<()> {
        let flags = check(tun)?;
        let own;
        let ns = match tun.netns {
            Some(ns) => ns,
            None => {
                own = self.netns()?;
                &own
            }
        };
        ns.run(|| make(tun, flags))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_decode_from_the_kernels_attributes() {
        let nla = |k, v: &[u8]| InfoTun::Other(DefaultNla::new(k, v.to_vec()));
        let t = Tun::from_nlas(vec![
            nla(tun_attr::OWNER, &1000u32.to_ne_bytes()),
            nla(tun_attr::TYPE, &[2]),
            nla(tun_attr::PI, &[0]),
            nla(tun_attr::VNET_HDR, &[1]),
            nla(tun_attr::PERSIST, &[1]),
            nla(tun_attr::MULTI_QUEUE, &[1]),
            nla(tun_attr::NUM_QUEUES, &0u32.to_ne_bytes()),
            nla(tun_attr::GROUP, &[1]), // too short: left out
        ]);
        assert_eq!(t.mode, Some(TunMode::Tap));
        assert_eq!((t.owner, t.group, t.queues), (Some(1000), None, Some(0)));
        assert!(!t.packet_info && t.vnet_hdr && t.persist && t.multi_queue);
    }

    #[test]
    fn requests_are_checked() {
        let e = check(&NewTun::new("a-name-far-too-long", TunMode::Tun)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    arg: "tun name",
                    ..
                }
            ),
            "{e}"
        );
        let e = check(&NewTun::new("t0", TunMode::Other(4))).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { arg: "mode", .. }), "{e}");
        let e = check(&NewTun {
            owner: Some(u32::MAX),
            ..NewTun::new("t0", TunMode::Tap)
        })
        .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { arg: "owner", .. }), "{e}");
        let f = check(&NewTun {
            vnet_hdr: true,
            ..NewTun::new("t0", TunMode::Tap)
        })
        .unwrap();
        let want = libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR | libc::IFF_TUN_EXCL;
        assert_eq!(f as u16, want as u16);
    }
}
