//! Netconf operations: a namespace's settings read and written through `/proc/sys` from a
//! thread inside it ([`NetNs::conf`], [`NetNs::set_conf`]), and the kernel's netconf records
//! ([`Handle::netconf`]).

use std::io;

use nix::errno::Errno;

use super::codec::{conf_path, dump_message, netconf_from_bytes, RTM_NEWNETCONF};
use super::types::{ConfKnob, ConfScope, Netconf};
use crate::handle::DecodeFrame;
use crate::wire::{Frame, RawMessage};
use crate::{Dump, Error, Handle, IpFamily, NetNs, Result};

const LIST_NETCONF: &str = "list netconf";

/// The error for an I/O failure on a setting's file.
fn conf_error(
    op: &'static str,
    path: &str,
    scope: ConfScope<'_>,
    knob: ConfKnob,
    e: io::Error,
) -> Error {
    let errno = e.raw_os_error().map(Errno::from_raw);
    match (errno, scope) {
        (Some(Errno::ENOENT), ConfScope::Link(name)) => Error::NotFound {
            what: format!("link {name:?} (no {path})"),
            errno,
        },
        (Some(Errno::ENOENT), _) => Error::Unsupported {
            op,
            hint: format!(
                "the kernel has no {path} ({} disabled or built without it?)",
                match knob.family() {
                    IpFamily::V4 => "IPv4",
                    IpFamily::V6 => "IPv6",
                }
            ),
            errno: Errno::ENOENT,
            message: None,
        },
        // The kernel's proc handler refused the value.
        (Some(errno @ (Errno::EINVAL | Errno::ERANGE | Errno::EOPNOTSUPP)), _) => Error::Kernel {
            op,
            errno,
            message: Some(format!("{path} refused the value")),
        },
        _ => Error::io(op, e),
    }
}

/// # Network settings (sysctl)
///
/// `sysctl net.ipv4.conf.*`, `net.ipv6.conf.*` of a namespace, from a short-lived thread
/// inside it: the caller's thread never changes namespace.
impl NetNs {
    /// Reads a setting of this namespace. Equivalent to
    /// `ip netns exec NS sysctl net.ipv4.conf.SCOPE.KNOB` (or `net.ipv6…`).
    ///
    /// A device that does not exist is [`Error::NotFound`]; a tree the kernel lacks (IPv6
    /// disabled) is [`Error::Unsupported`].
    ///
    /// ```no_run
    /// use netplumb::netconf::{ConfKnob, ConfScope};
    /// use netplumb::NetNs;
    ///
    /// let ns = NetNs::open("blue")?;
    /// // ip netns exec blue sysctl -w net.ipv4.conf.all.forwarding=1
    /// ns.set_conf(ConfScope::All, ConfKnob::Ipv4Forwarding, 1)?;
    /// assert_eq!(ns.conf(ConfScope::All, ConfKnob::Ipv4Forwarding)?, 1);
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn conf(&self, scope: ConfScope<'_>, knob: ConfKnob) -> Result<i32> {
        let op = "read conf";
        let path = conf_path(scope, knob)?;
        let text = self
            .run(|| std::fs::read_to_string(&path))?
            .map_err(|e| conf_error(op, &path, scope, knob, e))?;
        text.trim()
            .parse()
            .map_err(|_| Error::malformed(op, format!("{path} holds {:?}", text.trim())))
    }

    /// Writes a setting of this namespace. Equivalent to
    /// `ip netns exec NS sysctl -w net.ipv4.conf.SCOPE.KNOB=VALUE`. The value is checked
    /// against the knob's range first ([`ConfKnob`] lists them); a value the kernel refuses
    /// all the same is its [`Error::Kernel`].
    pub fn set_conf(&self, scope: ConfScope<'_>, knob: ConfKnob, value: i32) -> Result<()> {
        let op = "set conf";
        let path = conf_path(scope, knob)?;
        if !knob.accepts(value) {
            return Err(Error::invalid(
                "value",
                format!("{value} is not a value of {} (see ConfKnob)", knob.name()),
            ));
        }
        self.run(|| std::fs::write(&path, value.to_string()))?
            .map_err(|e| conf_error(op, &path, scope, knob, e))
    }
}

/// # Netconf
///
/// `ip netconf show`: the kernel's per-device records of the settings routing daemons follow.
impl Handle {
    /// Lists the netconf records of one family (`all`, `default` and each device).
    /// Equivalent to `ip [-4|-6] netconf show`.
    pub fn netconf(&self, family: IpFamily) -> Result<Vec<Netconf>> {
        let (req, decode) = netconf_dump(family);
        self.dump_frames(LIST_NETCONF, req, decode)
    }

    /// Lists netconf records as [`netconf`](Handle::netconf) does, decoding them as they
    /// arrive (see [`Dump`]).
    pub fn netconf_iter(&self, family: IpFamily) -> Result<Dump<'_, Netconf>> {
        let (req, decode) = netconf_dump(family);
        self.dump_iter(LIST_NETCONF, req, decode)
    }
}

fn netconf_dump(family: IpFamily) -> (RawMessage, impl DecodeFrame<Netconf> + 'static) {
    let decode = move |f: &Frame<'_>| {
        if f.ty != RTM_NEWNETCONF {
            return Ok(None);
        }
        let n = netconf_from_bytes(f.payload).map_err(|e| Error::malformed(LIST_NETCONF, e))?;
        Ok(n.filter(|n| n.family == family))
    };
    (dump_message(family), decode)
}
