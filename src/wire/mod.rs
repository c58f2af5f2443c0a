//! Netlink framing: the only module (with the per-object codecs it serves) that knows the byte
//! layout of netlink messages. Everything here is crate-private.
//!
//! - this file: the message header (`struct nlmsghdr`, [`field`]), splitting a datagram into
//!   frames, the error/done payload with its extended ack, encoding a request through
//!   `netlink-packet-route` and stamping its sequence number (the one place that writes it);
//! - [`attr`]: reading attributes (`struct nlattr`) straight from bytes, for the decoders that
//!   must be fast (routes: a million in a dump);
//! - [`kernel`]: uapi constants that `libc` does not name;
//! - [`text`]: names and labels that are not UTF-8, made decodable for `netlink-packet-route`;
//! - [`raw`]: requests netplumb writes itself, for objects `netlink-packet-route` does not
//!   know (nexthop objects).

use netlink_packet_core::{NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

pub(crate) use netlink_packet_core::{
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
};

pub(crate) mod attr;
pub(crate) mod kernel;
pub(crate) mod raw;
pub(crate) mod text;

pub(crate) use raw::RawMessage;

use crate::IpFamily;

pub(crate) const NLMSG_NOOP: u16 = libc::NLMSG_NOOP as u16;
pub(crate) const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
pub(crate) const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
pub(crate) const NLMSG_OVERRUN: u16 = libc::NLMSG_OVERRUN as u16;

pub(crate) const NLM_F_DUMP_INTR: u16 = libc::NLM_F_DUMP_INTR as u16;
/// `NLM_F_BULK` (linux/netlink.h, Linux 5.19): a delete request that removes every object it
/// selects.
pub(crate) const NLM_F_BULK: u16 = 0x200;
const NLM_F_CAPPED: u16 = libc::NLM_F_CAPPED as u16;
const NLM_F_ACK_TLVS: u16 = libc::NLM_F_ACK_TLVS as u16;

/// `NLMSGERR_ATTR_MSG` of `enum nlmsgerr_attrs` (linux/netlink.h): the extended ack's text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// Byte offsets of `struct nlmsghdr`'s fields (linux/netlink.h), all in host byte order.
pub(crate) mod field {
    use std::ops::Range;
    /// `nlmsg_len`: the message's length, header included (u32).
    pub const LENGTH: Range<usize> = 0..4;
    /// `nlmsg_type` (u16).
    pub const TYPE: Range<usize> = 4..6;
    /// `nlmsg_flags` (u16).
    pub const FLAGS: Range<usize> = 6..8;
    /// `nlmsg_seq` (u32).
    pub const SEQ: Range<usize> = 8..12;
    /// `nlmsg_pid`: the sender's port, 0 for the kernel (u32).
    pub const PORT: Range<usize> = 12..16;
}

/// The length of `struct nlmsghdr`.
pub(crate) const HEADER_LEN: usize = field::PORT.end;

/// The `AF_*` family byte of an IP family, as message headers carry it.
pub(crate) const fn af(family: IpFamily) -> u8 {
    match family {
        IpFamily::V4 => libc::AF_INET as u8,
        IpFamily::V6 => libc::AF_INET6 as u8,
    }
}

/// The IP family of an `AF_*` byte; `None` for other families (MPLS, bridge, …).
#[inline]
pub(crate) const fn ip_family(af: u8) -> Option<IpFamily> {
    match af as i32 {
        libc::AF_INET => Some(IpFamily::V4),
        libc::AF_INET6 => Some(IpFamily::V6),
        _ => None,
    }
}

/// The `netlink-packet-route` family of an IP family, for the requests encoded through it.
pub(crate) fn address_family(family: IpFamily) -> netlink_packet_route::AddressFamily {
    netlink_packet_route::AddressFamily::from(af(family))
}

/// Writes `seq` into the header of the message starting at `at` in `buf`: the one place that
/// sets sequence numbers (requests are encoded with 0 and stamped when sent).
pub(crate) fn set_seq(buf: &mut [u8], at: usize, seq: u32) {
    let f = field::SEQ;
    buf[at + f.start..at + f.end].copy_from_slice(&seq.to_ne_bytes());
}

/// A barrier: an `NLMSG_NOOP` request numbered `seq` that asks for an acknowledgement. The
/// kernel acknowledges it after handling every message sent before it on the socket.
pub(crate) fn barrier(seq: u32) -> [u8; HEADER_LEN] {
    let mut m = [0u8; HEADER_LEN];
    m[field::LENGTH].copy_from_slice(&(HEADER_LEN as u32).to_ne_bytes());
    m[field::TYPE].copy_from_slice(&NLMSG_NOOP.to_ne_bytes());
    m[field::FLAGS].copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    m[field::SEQ].copy_from_slice(&seq.to_ne_bytes());
    m
}

/// One netlink message inside a received datagram.
pub(crate) struct Frame<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
    /// The bytes after the 16-byte header.
    pub payload: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Splits a datagram into messages, checking every length against the buffer.
pub(crate) fn frames(mut buf: &[u8]) -> impl Iterator<Item = Result<Frame<'_>, String>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        if buf.len() < HEADER_LEN {
            let n = buf.len();
            buf = &[];
            return Some(Err(format!("{n} stray bytes after the last message")));
        }
        let len = u32_at(buf, field::LENGTH.start) as usize;
        if len < HEADER_LEN || len > buf.len() {
            let n = buf.len();
            buf = &[];
            return Some(Err(format!(
                "message length {len} does not fit the {n} bytes received"
            )));
        }
        let frame = Frame {
            ty: u16_at(buf, field::TYPE.start),
            flags: u16_at(buf, field::FLAGS.start),
            seq: u32_at(buf, field::SEQ.start),
            port: u32_at(buf, field::PORT.start),
            payload: &buf[HEADER_LEN..len],
        };
        buf = &buf[align4(len).min(buf.len())..];
        Some(Ok(frame))
    })
}

/// The error code and extended-ack text of an `NLMSG_ERROR` or `NLMSG_DONE` frame.
///
/// The code is 0 for a positive acknowledgement and a negative errno otherwise.
pub(crate) fn error_of(frame: &Frame<'_>) -> Result<(i32, Option<String>), String> {
    let p = frame.payload;
    if p.len() < 4 {
        // A DONE without a payload is an old kernel's plain end of dump.
        if frame.ty == NLMSG_DONE {
            return Ok((0, None));
        }
        return Err("error message shorter than its code".into());
    }
    let code = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
    if frame.flags & NLM_F_ACK_TLVS == 0 {
        return Ok((code, None));
    }
    let tlv_start = if frame.ty == NLMSG_DONE {
        4
    } else {
        // The request's header (and, unless capped, its payload) is echoed after the code.
        if p.len() < 4 + HEADER_LEN {
            return Err("error message too short for the echoed request".into());
        }
        let orig_len = u32_at(p, 4 + field::LENGTH.start) as usize;
        if frame.flags & NLM_F_CAPPED != 0 {
            4 + HEADER_LEN
        } else {
            4 + align4(orig_len.max(HEADER_LEN))
        }
    };
    let mut tlvs = p.get(tlv_start..).unwrap_or(&[]);
    let mut message = None;
    while tlvs.len() >= 4 {
        let len = u16_at(tlvs, 0) as usize;
        let ty = u16_at(tlvs, 2) & 0x3fff;
        if len < 4 || len > tlvs.len() {
            break;
        }
        if ty == NLMSGERR_ATTR_MSG {
            let text = &tlvs[4..len];
            let text = text.split(|b| *b == 0).next().unwrap_or(&[]);
            let text = String::from_utf8_lossy(text).trim().to_string();
            if !text.is_empty() {
                message = Some(text);
            }
        }
        tlvs = &tlvs[align4(len).min(tlvs.len())..];
    }
    Ok((code, message))
}

/// The largest request netplumb encodes. An attribute's length is 16 bits, so a request with
/// more bytes than that has an attribute that cannot be encoded (the wire crate would panic or
/// write a wrapped length); every object's checks refuse the user-sized inputs before (next
/// hops, names, labels), and this is the last guard for the rest.
pub(crate) const MAX_REQUEST: usize = u16::MAX as usize;

/// Appends one request message to `out`, with sequence number 0: the driver that sends it
/// stamps the real one with [`set_seq`]. A request over [`MAX_REQUEST`] bytes is refused
/// as `InvalidInput`, with nothing appended.
pub(crate) fn encode(msg: RouteNetlinkMessage, flags: u16, out: &mut Vec<u8>) -> crate::Result<()> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.message_type = msg.message_type();
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    packet.finalize();
    let start = out.len();
    let len = packet.buffer_len();
    if len > MAX_REQUEST {
        return Err(crate::Error::invalid(
            "request",
            format!("it encodes to {len} bytes; a netlink attribute holds at most {MAX_REQUEST}"),
        ));
    }
    out.resize(start + align4(len), 0);
    packet.serialize(&mut out[start..start + len]);
    Ok(())
}

/// A request to send: a message `netlink-packet-route` encodes, or one netplumb wrote itself.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    /// Encoded by `netlink-packet-route`.
    Route(RouteNetlinkMessage),
    /// Written by netplumb ([`raw`]).
    Raw(RawMessage),
}

impl From<RouteNetlinkMessage> for Request {
    fn from(m: RouteNetlinkMessage) -> Request {
        Request::Route(m)
    }
}

impl From<RawMessage> for Request {
    fn from(m: RawMessage) -> Request {
        Request::Raw(m)
    }
}

/// Appends one request of either kind to `out`, as [`encode`] does.
pub(crate) fn encode_request(req: Request, flags: u16, out: &mut Vec<u8>) -> crate::Result<()> {
    let m = match req {
        Request::Route(m) => return encode(m, flags, out),
        Request::Raw(m) => m,
    };
    let len = HEADER_LEN + m.body.len();
    if len > MAX_REQUEST {
        return Err(crate::Error::invalid(
            "request",
            format!("it encodes to {len} bytes; a netlink attribute holds at most {MAX_REQUEST}"),
        ));
    }
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&m.ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&m.body);
    out.resize(out.len() - len + align4(len), 0);
    Ok(())
}

/// Decodes a data frame (neither error nor done) into the route message it carries. A name,
/// alias or label that is not UTF-8 does not fail it: `netlink-packet-route` is given a copy in
/// which such text is made valid ([`text::valid_text`]); decoders that need the exact bytes
/// read them from the frame.
pub(crate) fn decode(frame: &Frame<'_>) -> Result<RouteNetlinkMessage, String> {
    let mut header = NetlinkHeader::default();
    header.length = (frame.payload.len() + HEADER_LEN) as u32;
    header.message_type = frame.ty;
    header.flags = frame.flags;
    header.sequence_number = frame.seq;
    header.port_number = frame.port;
    let payload = text::valid_text(frame.ty, frame.payload);
    RouteNetlinkMessage::deserialize(&header, &payload).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_bytes(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((HEADER_LEN + payload.len()) as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn tlv(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn ext_ack_message_is_parsed_from_capped_error() {
        let mut payload = (-22i32).to_ne_bytes().to_vec();
        // The echoed request header: says 40 bytes, but capped to the header.
        payload.extend_from_slice(&frame_bytes(16, 5, 9, &[0; 24])[..HEADER_LEN]);
        payload.extend_from_slice(&tlv(2, &32u32.to_ne_bytes()));
        payload.extend_from_slice(&tlv(1, b"mtu greater than device maximum\0"));
        let bytes = frame_bytes(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9, &payload);
        let frames: Vec<_> = frames(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].seq, 9);
        let (code, msg) = error_of(&frames[0]).unwrap();
        assert_eq!(code, -22);
        assert_eq!(msg.as_deref(), Some("mtu greater than device maximum"));
    }

    #[test]
    fn ext_ack_message_after_uncapped_request_and_done() {
        let mut payload = (-1i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&frame_bytes(16, 5, 3, &[7; 6]));
        payload.extend_from_slice(&tlv(1, b"Permission\0"));
        let mut bytes = frame_bytes(NLMSG_ERROR, NLM_F_ACK_TLVS, 3, &payload);
        bytes.extend(frame_bytes(NLMSG_DONE, 0, 4, &0i32.to_ne_bytes()));
        let frames: Vec<_> = frames(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            error_of(&frames[0]).unwrap(),
            (-1, Some("Permission".into()))
        );
        assert_eq!(error_of(&frames[1]).unwrap(), (0, None));
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let bytes = frame_bytes(NLMSG_ERROR, 0, 1, &[0; 8]);
        for cut in 0..bytes.len() {
            for f in frames(&bytes[..cut]).flatten() {
                let _ = error_of(&f);
            }
        }
        let mut lying = bytes.clone();
        lying[0] = 200;
        assert!(frames(&lying).next().unwrap().is_err());
        // An ACK_TLVS error whose echoed header claims a huge length must not panic.
        let mut payload = (-5i32).to_ne_bytes().to_vec();
        let mut hdr = frame_bytes(16, 5, 3, &[]);
        hdr[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        payload.extend_from_slice(&hdr);
        let bytes = frame_bytes(NLMSG_ERROR, NLM_F_ACK_TLVS, 3, &payload);
        let f = frames(&bytes).next().unwrap().unwrap();
        assert_eq!(error_of(&f).unwrap(), (-5, None));
    }
}
