//! Free text in the kernel's messages: interface names, aliases, alternative names, address
//! labels and a rule's interface names are bytes the kernel stores without checking that they
//! are UTF-8 (`ip link add $'bad\xff' …` is accepted), while `netlink-packet-route` refuses a
//! whole message when one of them is not. [`valid_text`] hands it a copy in which they are.
//!
//! The decoders of links and addresses read those attributes' exact bytes themselves and do
//! not go through here; this keeps every other decoding through `netlink-packet-route` (a link
//! looked up for its kind's settings, rules) from failing on a name.

use std::borrow::Cow;

use libc::{IFA_LABEL, IFLA_ALT_IFNAME, IFLA_IFALIAS, IFLA_IFNAME, IFLA_PROP_LIST};

use super::attr;
use super::kernel::{FRA_IIFNAME, FRA_OIFNAME};

/// Where a message type keeps its free text.
struct Layout {
    /// The length of the fixed header before the attributes (`struct ifinfomsg`, …).
    header: usize,
    /// The attributes that hold text.
    text: &'static [u16],
    /// Nested attributes whose members of the given type hold text.
    nested: &'static [(u16, u16)],
}

/// `struct ifinfomsg`, `struct ifaddrmsg`, `struct fib_rule_hdr`.
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const FIB_RULE_HDR_LEN: usize = 12;

fn layout(ty: u16) -> Option<Layout> {
    Some(match ty {
        libc::RTM_NEWLINK | libc::RTM_DELLINK => Layout {
            header: IFINFOMSG_LEN,
            text: &[IFLA_IFNAME, IFLA_IFALIAS],
            nested: &[(IFLA_PROP_LIST, IFLA_ALT_IFNAME)],
        },
        libc::RTM_NEWADDR | libc::RTM_DELADDR => Layout {
            header: IFADDRMSG_LEN,
            text: &[IFA_LABEL],
            nested: &[],
        },
        libc::RTM_NEWRULE | libc::RTM_DELRULE => Layout {
            header: FIB_RULE_HDR_LEN,
            text: &[FRA_IIFNAME, FRA_OIFNAME],
            nested: &[],
        },
        _ => return None,
    })
}

/// The payload of a message of type `ty`, with every free-text attribute made valid UTF-8:
/// `payload` itself when they all are (the usual case, no copy), else a copy in which each byte
/// from 0x80 up of a text that is not UTF-8 is replaced by `?`. Lengths do not change, so every
/// offset stays where it was. Malformed attributes are left for the real decoder to report.
pub(crate) fn valid_text(ty: u16, payload: &[u8]) -> Cow<'_, [u8]> {
    let Some(layout) = layout(ty) else {
        return Cow::Borrowed(payload);
    };
    let Some(attrs) = payload.get(layout.header..) else {
        return Cow::Borrowed(payload);
    };
    let mut bad = Vec::new();
    let mut check = |range: std::ops::Range<usize>, base: usize| {
        let text = attr::c_bytes(&payload[base + range.start..base + range.end]);
        if std::str::from_utf8(text).is_err() {
            bad.push(base + range.start..base + range.start + text.len());
        }
    };
    for (ty, range) in attr::spans(attrs).map_while(Result::ok) {
        if layout.text.contains(&ty) {
            check(range, layout.header);
        } else if let Some(&(_, member)) = layout.nested.iter().find(|(n, _)| *n == ty) {
            let base = layout.header + range.start;
            for (ty, inner) in attr::spans(&attrs[range]).map_while(Result::ok) {
                if ty == member {
                    check(inner, base);
                }
            }
        }
    }
    if bad.is_empty() {
        return Cow::Borrowed(payload);
    }
    let mut copy = payload.to_vec();
    for range in bad {
        for b in &mut copy[range] {
            if *b >= 0x80 {
                *b = b'?';
            }
        }
    }
    Cow::Owned(copy)
}

#[cfg(test)]
mod tests {
    use super::attr::HEADER_LEN;
    use super::*;

    fn nla(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = ((HEADER_LEN + data.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize(attr::align4(v.len()), 0);
        v
    }

    #[test]
    fn only_text_that_is_not_utf8_is_replaced_in_a_copy() {
        let mut m = vec![0u8; IFINFOMSG_LEN];
        m.extend(nla(IFLA_IFNAME, b"bad\xff\xfe\0"));
        m.extend(nla(libc::IFLA_ADDRESS, b"\x02\xff\x00\x00\x00\x01"));
        m.extend(nla(IFLA_IFALIAS, "caf\u{e9}".as_bytes()));
        m.extend(nla(IFLA_PROP_LIST, &nla(IFLA_ALT_IFNAME, b"alt\xc0\0")));
        let fixed = valid_text(libc::RTM_NEWLINK, &m);
        let mut want = m.clone();
        let at = |needle: &[u8]| m.windows(needle.len()).position(|w| w == needle).unwrap();
        let i = at(b"bad\xff\xfe");
        want[i + 3..i + 5].copy_from_slice(b"??");
        let i = at(b"alt\xc0");
        want[i + 3] = b'?';
        assert_eq!(&*fixed, &want[..]);
        // The MAC's 0xff and the UTF-8 alias are untouched.
        assert!(fixed.windows(2).any(|w| w == b"\x02\xff"));
        // Nothing to fix: no copy. Other message types are not looked at.
        let mut ok = vec![0u8; IFADDRMSG_LEN];
        ok.extend(nla(IFA_LABEL, b"eth0:1\0"));
        assert!(matches!(
            valid_text(libc::RTM_NEWADDR, &ok),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            valid_text(libc::RTM_NEWROUTE, &m),
            Cow::Borrowed(_)
        ));
        // Truncated input is left alone, without panicking.
        for cut in 0..m.len() {
            let _ = valid_text(libc::RTM_NEWLINK, &m[..cut]);
        }
    }
}
