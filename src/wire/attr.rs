//! Attributes (`struct nlattr`, linux/netlink.h) read straight from bytes: a 16-bit length
//! (header included), a 16-bit type whose top two bits are flags (`NLA_F_NESTED`,
//! `NLA_F_NET_BYTEORDER`), the payload, padding to 4 bytes.
//!
//! Used by the decoders that must be fast (a full table's dump is a million routes); the
//! others decode through `netlink-packet-route`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::IpFamily;

/// Byte offsets of `struct nlattr`'s fields.
mod field {
    use std::ops::Range;
    /// `nla_len` (u16): header and payload, without the padding.
    pub const LENGTH: Range<usize> = 0..2;
    /// `nla_type` (u16), with the flag bits.
    pub const TYPE: Range<usize> = 2..4;
}

/// The length of `struct nlattr`.
pub(crate) const HEADER_LEN: usize = field::TYPE.end;

/// The type bits of `nla_type` (without `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`).
const TYPE_MASK: u16 = libc::NLA_TYPE_MASK as u16;

/// Rounds up to the 4-byte alignment of attributes and messages.
#[inline]
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Reads a host-order u16 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

/// Reads a host-order u32 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A u32 attribute's payload; `None` when it is shorter than 4 bytes.
#[inline]
pub(crate) fn u32_of(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// Iterates the attributes of `buf` as (type without flag bits, payload); stops at the first
/// malformed one, reporting it.
#[inline]
pub(crate) fn attrs(mut buf: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), String>> {
    std::iter::from_fn(move || {
        if buf.len() < HEADER_LEN {
            return None;
        }
        let len = u16_at(buf, field::LENGTH.start) as usize;
        let ty = u16_at(buf, field::TYPE.start) & TYPE_MASK;
        if len < HEADER_LEN || len > buf.len() {
            buf = &[];
            return Some(Err(format!("attribute {ty} with length {len}")));
        }
        let payload = &buf[HEADER_LEN..len];
        buf = &buf[align4(len).min(buf.len())..];
        Some(Ok((ty, payload)))
    })
}

/// Iterates the attributes of `buf` as (type without flag bits, where its payload is in
/// `buf`); the attribute's header is the [`HEADER_LEN`] bytes before. Stops at the first
/// malformed one, reporting it. For decoders that patch a copy of `buf` or hand one attribute,
/// header included, to `netlink-packet-route`.
pub(crate) fn spans(buf: &[u8]) -> impl Iterator<Item = Result<(u16, Range<usize>), String>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = &buf[at.min(buf.len())..];
        if rest.len() < HEADER_LEN {
            return None;
        }
        let len = u16_at(rest, field::LENGTH.start) as usize;
        let ty = u16_at(rest, field::TYPE.start) & TYPE_MASK;
        if len < HEADER_LEN || len > rest.len() {
            at = buf.len();
            return Some(Err(format!("attribute {ty} with length {len}")));
        }
        let payload = at + HEADER_LEN..at + len;
        at += align4(len);
        Some(Ok((ty, payload)))
    })
}

/// An address attribute of `family` (4 or 16 bytes).
#[inline]
pub(crate) fn ip_of(family: IpFamily, b: &[u8]) -> Result<IpAddr, String> {
    match family {
        IpFamily::V4 => <[u8; 4]>::try_from(b)
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
            .map_err(|_| format!("a {}-byte IPv4 address", b.len())),
        IpFamily::V6 => <[u8; 16]>::try_from(b)
            .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
            .map_err(|_| format!("a {}-byte IPv6 address", b.len())),
    }
}

/// A NUL-terminated string attribute's bytes, without the NUL (and anything after it).
#[inline]
pub(crate) fn c_bytes(b: &[u8]) -> &[u8] {
    b.split(|c| *c == 0).next().unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_split_and_bad_lengths_reported() {
        // type 1 (flag bits set: NLA_F_NESTED), 4-byte payload; type 2, 1 byte + 3 padding
        let mut b = vec![8, 0, 1, 0x80, 1, 2, 3, 4, 5, 0, 2, 0, 9, 0, 0, 0];
        let got: Vec<_> = attrs(&b).collect::<Result<_, _>>().unwrap();
        assert_eq!(got, vec![(1, &[1u8, 2, 3, 4][..]), (2, &[9u8][..])]);
        b[8] = 200; // the second claims more than there is
        let got: Vec<_> = attrs(&b).collect();
        assert!(got[1].is_err());
        assert_eq!(got.len(), 2);
        let got: Vec<_> = spans(&b).collect();
        assert_eq!(got[0], Ok((1, 4..8)));
        assert!(got[1].is_err());
        assert_eq!(got.len(), 2);
        b[8] = 5;
        let got: Vec<_> = spans(&b).collect::<Result<_, _>>().unwrap();
        assert_eq!(got, vec![(1, 4..8), (2, 12..13)]);
    }
}
