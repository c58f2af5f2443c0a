//! Generic netlink (`NETLINK_GENERIC`): a socket in a chosen namespace, a family's id by name
//! (`CTRL_CMD_GETFAMILY`), request/reply exchanges, and writing attributes. Knows no family;
//! families (WireGuard) build their attributes on [`AttrWriter`] and read them with
//! `wire::attr`.

use std::io;

use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use crate::handle::{check_code, recv_reply};
use crate::netns::NetNs;
use crate::wire::{self, attr};
use crate::{Error, Result};

/// `GENL_ID_CTRL`: the controller family, which names the others.
const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_GETFAMILY`.
const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16) and `CTRL_ATTR_FAMILY_NAME` (string).
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `NLA_F_NESTED`: the attribute holds attributes.
pub(crate) const NLA_F_NESTED: u16 = 1 << 15;
/// The length of `struct genlmsghdr` (cmd u8, version u8, reserved u16).
pub(crate) const GENL_HEADER_LEN: usize = 4;
/// The netlink header's length.
const NL_HEADER_LEN: usize = 16;
/// Receive buffer: the kernel's generic netlink dumps fill up to a page-sized or 32 KiB skb.
const RECV_BUF: usize = 64 * 1024;

/// Builds netlink attributes into a byte buffer: plain ones and nests, 4-byte aligned.
#[derive(Default)]
pub(crate) struct AttrWriter {
    pub buf: Vec<u8>,
}

impl AttrWriter {
    /// Appends attribute `ty` holding `value`.
    pub fn put(&mut self, ty: u16, value: &[u8]) {
        let len = attr::HEADER_LEN + value.len();
        // Attribute lengths are u16; callers put fixed-size values and names under 16 bytes.
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.buf.resize(attr::align4(self.buf.len()), 0);
    }

    /// Opens a nest of type `ty` (with `NLA_F_NESTED`); returns where it starts, for
    /// [`end`](AttrWriter::end).
    pub fn begin(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        at
    }

    /// Closes the nest opened at `at`, writing its length; refuses one beyond the 64 KiB an
    /// attribute can hold.
    pub fn end(&mut self, at: usize) -> Result<()> {
        let len = u16::try_from(self.buf.len() - at).map_err(|_| {
            Error::invalid(
                "configuration",
                "too large for one netlink attribute (64 KiB); split it into several changes",
            )
        })?;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        Ok(())
    }
}

/// A generic netlink socket, connected to the kernel, in one namespace.
pub(crate) struct GenlSocket {
    socket: Socket,
    port: u32,
    seq: u32,
    rx: Vec<u8>,
}

impl GenlSocket {
    /// Opens a socket in `ns` (a short-lived thread enters it; the caller's thread stays).
    pub fn open_in(ns: &NetNs) -> Result<GenlSocket> {
        ns.run(GenlSocket::open)?
    }

    fn open() -> Result<GenlSocket> {
        let op = "open generic netlink socket";
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(|e| Error::io(op, e))?;
        let addr = socket.bind_auto().map_err(|e| Error::io(op, e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io(op, e))?;
        socket.set_ext_ack(true).map_err(|e| Error::io(op, e))?;
        Ok(GenlSocket {
            socket,
            port: addr.port_number(),
            seq: 0,
            rx: Vec::with_capacity(RECV_BUF),
        })
    }

    /// The id of the family named `name`; [`Error::Unsupported`] (with `feature` as the hint)
    /// when the kernel has no such family.
    pub fn family_id(&mut self, name: &str, feature: &str) -> Result<u16> {
        let op = "resolve generic netlink family";
        let mut a = AttrWriter::default();
        a.put(CTRL_ATTR_FAMILY_NAME, &[name.as_bytes(), &[0]].concat());
        let mut id = None;
        let r = self.request(
            op,
            GENL_ID_CTRL,
            CTRL_CMD_GETFAMILY,
            1,
            wire::NLM_F_ACK,
            &a.buf,
            |payload| {
                for x in attr::attrs(payload) {
                    let (ty, v) = x.map_err(|e| Error::malformed(op, e))?;
                    if ty == CTRL_ATTR_FAMILY_ID && v.len() >= 2 {
                        id = Some(u16::from_ne_bytes([v[0], v[1]]));
                    }
                }
                Ok(())
            },
        );
        match r {
            Err(e) if e.errno() == Some(nix::errno::Errno::ENOENT) => Err(Error::Unsupported {
                op,
                hint: format!("the kernel has no {feature} support"),
                errno: nix::errno::Errno::ENOENT,
                message: e.kernel_message().map(str::to_string),
            }),
            Err(e) => Err(e),
            Ok(()) => id.ok_or_else(|| Error::malformed(op, "a family reply without its id")),
        }
    }

    /// Sends one request of `family` (command `cmd`, `version`, netlink `flags` besides
    /// `NLM_F_REQUEST`, attributes `attrs`) and feeds the attributes of every reply message
    /// (after the generic header) to `on_data`, until the kernel ends the exchange. The reply
    /// is always read to its end.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        op: &'static str,
        family: u16,
        cmd: u8,
        version: u8,
        flags: u16,
        attrs: &[u8],
        mut on_data: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let len = NL_HEADER_LEN + GENL_HEADER_LEN + attrs.len();
        let len32 = u32::try_from(len)
            .map_err(|_| Error::invalid("configuration", "too large for one netlink message"))?;
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&len32.to_ne_bytes());
        msg.extend_from_slice(&family.to_ne_bytes());
        msg.extend_from_slice(&(wire::NLM_F_REQUEST | flags).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&[cmd, version, 0, 0]);
        msg.extend_from_slice(attrs);
        loop {
            match self.socket.send(&msg, 0) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(op, e)),
            }
        }
        let mut failed: Option<Error> = None;
        loop {
            self.recv(op)?;
            for frame in wire::frames(&self.rx) {
                let frame = frame.map_err(|e| Error::malformed(op, e))?;
                if frame.seq != self.seq || (frame.port != self.port && frame.port != 0) {
                    continue;
                }
                match frame.ty {
                    wire::NLMSG_ERROR | wire::NLMSG_DONE => {
                        let end = check_code(op, &frame);
                        return match failed {
                            Some(e) => Err(e),
                            None => end,
                        };
                    }
                    wire::NLMSG_NOOP | wire::NLMSG_OVERRUN => {}
                    _ if failed.is_some() => {}
                    _ => {
                        let r = match frame.payload.get(GENL_HEADER_LEN..) {
                            Some(attrs) => on_data(attrs),
                            None => Err(Error::malformed(op, "a reply without its generic header")),
                        };
                        if let Err(e) = r {
                            failed = Some(e);
                        }
                    }
                }
            }
        }
    }

    fn recv(&mut self, op: &'static str) -> Result<()> {
        let socket = &mut self.socket;
        recv_reply(op, &mut self.rx, RECV_BUF, |rx| {
            socket
                .recv_from(rx, libc::MSG_TRUNC)
                .map(|(n, from)| (n, from.port_number()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_carry_their_length_and_flag() {
        let mut a = AttrWriter::default();
        let n = a.begin(8);
        a.put(1, &[1, 2, 3]);
        a.end(n).unwrap();
        assert_eq!(a.buf, vec![12, 0, 8, 0x80, 7, 0, 1, 0, 1, 2, 3, 0]);
        let inner: Vec<_> = attr::attrs(&a.buf[4..]).map(Result::unwrap).collect();
        assert_eq!(inner, vec![(1, &[1u8, 2, 3][..])]);
    }

    #[test]
    fn the_controller_knows_itself() {
        // Every kernel with generic netlink has the controller family ("nlctrl", id 0x10).
        let Ok(ns) = NetNs::current() else { return };
        let mut s = GenlSocket::open_in(&ns).unwrap();
        assert_eq!(s.family_id("nlctrl", "nlctrl").unwrap(), GENL_ID_CTRL);
        let e = s.family_id("no-such-family", "no-such-family").unwrap_err();
        assert!(e.is_unsupported(), "{e}");
    }
}
