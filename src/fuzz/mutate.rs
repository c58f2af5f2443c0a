//! Seeded mutations of netlink datagrams: blind ones (bit flips, byte sets, truncations,
//! inserted and deleted bytes) and structure-aware ones that find the messages and attributes
//! first (length lies at the netlink-header and attribute level, nested-attribute length
//! corruption, attributes duplicated, removed or spliced in from another message with the
//! enclosing lengths fixed up, message types, families and flags changed, messages spliced
//! between datagrams).

use crate::wire::attr;
use crate::wire::{self, HEADER_LEN, NLMSG_DONE, NLMSG_ERROR};

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same inputs on every
/// platform and every version of the `rand` crate.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// True one time in `n`.
    pub(super) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub(super) fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Where a length field sits, to fix it up when bytes are inserted or removed inside.
#[derive(Clone, Copy, Debug)]
enum LenField {
    /// `nlmsg_len` (u32) at this offset.
    Message(usize),
    /// `nla_len` (u16) at this offset (also `rtnh_len`, which has the same layout).
    Attr(usize),
}

/// One message of a datagram.
#[derive(Clone, Debug)]
pub(super) struct Msg {
    pub start: usize,
    pub len: usize,
    /// Where its attributes start (after the family header), if known.
    pub attrs_at: Option<usize>,
}

/// One attribute, at any depth.
#[derive(Clone, Debug)]
pub(super) struct Attr {
    pub start: usize,
    /// `nla_len`: header and payload, without the padding.
    pub len: usize,
    /// Enclosing length fields, outermost first: the message's, then every parent attribute's.
    parents: Vec<LenField>,
    /// Whether its payload parsed as attributes (a nested attribute, or `RTA_MULTIPATH`'s next
    /// hops).
    pub nested: bool,
}

/// The messages and attributes found in a datagram.
#[derive(Clone, Debug, Default)]
pub(super) struct Layout {
    pub msgs: Vec<Msg>,
    pub attrs: Vec<Attr>,
}

/// The length of the fixed header before a message's attributes, by message type.
fn family_header_len(ty: u16, flags: u16, payload: &[u8]) -> Option<usize> {
    const ACK_TLVS: u16 = libc::NLM_F_ACK_TLVS as u16;
    const CAPPED: u16 = libc::NLM_F_CAPPED as u16;
    Some(match ty {
        libc::RTM_NEWLINK..=libc::RTM_SETLINK => 16, // struct ifinfomsg
        libc::RTM_NEWADDR..=libc::RTM_GETADDR => 8,  // struct ifaddrmsg
        libc::RTM_NEWROUTE..=libc::RTM_GETROUTE => 12, // struct rtmsg
        libc::RTM_NEWNEIGH..=libc::RTM_GETNEIGH => 12, // struct ndmsg
        libc::RTM_NEWRULE..=libc::RTM_GETRULE => 12, // struct fib_rule_hdr
        libc::RTM_NEWNEIGHTBL..=libc::RTM_SETNEIGHTBL => 4, // struct ndtmsg
        NLMSG_DONE if flags & ACK_TLVS != 0 => 4,
        NLMSG_ERROR if flags & ACK_TLVS != 0 => {
            if flags & CAPPED != 0 {
                4 + HEADER_LEN
            } else {
                let orig = payload.get(4..8)?;
                let orig = u32::from_ne_bytes(orig.try_into().ok()?) as usize;
                4 + attr::align4(orig.max(HEADER_LEN))
            }
        }
        _ => return None,
    })
}

/// Whether `b` is exactly a chain of well-formed attributes (at least one).
fn is_attr_chain(b: &[u8]) -> bool {
    let mut at = 0;
    if b.len() < attr::HEADER_LEN {
        return false;
    }
    while at < b.len() {
        if b.len() - at < attr::HEADER_LEN {
            return false;
        }
        let len = attr::u16_at(b, at) as usize;
        if len < attr::HEADER_LEN || len > b.len() - at {
            return false;
        }
        at += attr::align4(len);
    }
    true
}

fn walk_attrs(
    buf: &[u8],
    from: usize,
    end: usize,
    parents: &[LenField],
    depth: usize,
    out: &mut Vec<Attr>,
) {
    let mut at = from;
    while end >= at + attr::HEADER_LEN {
        let len = attr::u16_at(buf, at) as usize;
        if len < attr::HEADER_LEN || len > end - at {
            return;
        }
        let payload = &buf[at + attr::HEADER_LEN..at + len];
        let nested = depth < 6 && is_attr_chain(payload);
        out.push(Attr {
            start: at,
            len,
            parents: parents.to_vec(),
            nested,
        });
        if nested {
            let mut inner = parents.to_vec();
            inner.push(LenField::Attr(at));
            walk_attrs(buf, at + attr::HEADER_LEN, at + len, &inner, depth + 1, out);
        }
        at += attr::align4(len);
    }
}

/// Finds the messages and attributes of a datagram, as far as its lengths hold.
pub(super) fn layout(buf: &[u8]) -> Layout {
    let mut l = Layout::default();
    let mut at = 0;
    while buf.len() >= at + HEADER_LEN {
        let len = attr::u32_at(buf, at) as usize;
        if len < HEADER_LEN || len > buf.len() - at {
            break;
        }
        let ty = attr::u16_at(buf, at + wire::field::TYPE.start);
        let flags = attr::u16_at(buf, at + wire::field::FLAGS.start);
        let payload = &buf[at + HEADER_LEN..at + len];
        let attrs_at = family_header_len(ty, flags, payload)
            .filter(|h| *h <= payload.len())
            .map(|h| at + HEADER_LEN + h);
        if let Some(a) = attrs_at {
            walk_attrs(buf, a, at + len, &[LenField::Message(at)], 0, &mut l.attrs);
        }
        l.msgs.push(Msg {
            start: at,
            len,
            attrs_at,
        });
        at += attr::align4(len);
    }
    l
}

/// Adds `delta` to every length field in `parents` (wrapping, as a lie would).
fn fix_up(buf: &mut [u8], parents: &[LenField], delta: isize) {
    for p in parents {
        match *p {
            LenField::Message(o) => {
                let v = attr::u32_at(buf, o).wrapping_add_signed(delta as i32);
                buf[o..o + 4].copy_from_slice(&v.to_ne_bytes());
            }
            LenField::Attr(o) => {
                let v = attr::u16_at(buf, o).wrapping_add_signed(delta as i16);
                buf[o..o + 2].copy_from_slice(&v.to_ne_bytes());
            }
        }
    }
}

/// A plausible lie for a length field whose true value is `len`, in a buffer of `room` bytes.
fn lie(rng: &mut Rng, len: usize, room: usize, max: usize) -> usize {
    let v = match rng.below(10) {
        0 => 0,
        1 => rng.below(16),
        2 => len.wrapping_add(1 + rng.below(4)),
        3 => len.wrapping_sub(1 + rng.below(4)),
        4 => len + 4 * (1 + rng.below(4)),
        5 => room,
        6 => room + 1 + rng.below(8),
        7 => max,
        8 => max - rng.below(8),
        _ => rng.next() as usize,
    };
    v & max
}

/// The attribute types the kernel uses most, with the flag bits (`NLA_F_NESTED`,
/// `NLA_F_NET_BYTEORDER`) sometimes set.
fn attr_type(rng: &mut Rng) -> u16 {
    let t = match rng.below(3) {
        0 => rng.below(8) as u16,
        1 => rng.below(64) as u16,
        _ => rng.next() as u16,
    };
    t | if rng.one_in(4) { 0x8000 } else { 0 } | if rng.one_in(8) { 0x4000 } else { 0 }
}

/// The message types rtnetlink and netlink use, and then anything.
fn msg_type(rng: &mut Rng) -> u16 {
    match rng.below(4) {
        0 => rng.pick(&[
            libc::RTM_NEWLINK,
            libc::RTM_DELLINK,
            libc::RTM_NEWADDR,
            libc::RTM_DELADDR,
            libc::RTM_NEWROUTE,
            libc::RTM_DELROUTE,
            libc::RTM_NEWNEIGH,
            libc::RTM_DELNEIGH,
            libc::RTM_GETNEIGH,
            libc::RTM_NEWRULE,
            libc::RTM_DELRULE,
            libc::RTM_NEWNEIGHTBL,
            NLMSG_ERROR,
            NLMSG_DONE,
        ]),
        1 => libc::RTM_NEWLINK + rng.below(100) as u16,
        2 => rng.below(20) as u16,
        _ => rng.next() as u16,
    }
}

/// Applies one to six mutations to `buf`; `donors` are other datagrams (with their layouts)
/// to splice from.
pub(super) fn mutate(rng: &mut Rng, buf: &mut Vec<u8>, donors: &[(Vec<u8>, Layout)]) {
    let n = 1 + (rng.next().trailing_ones() as usize).min(5);
    for _ in 0..n {
        let l = layout(buf);
        mutate_once(rng, buf, &l, donors);
    }
}

fn mutate_once(rng: &mut Rng, buf: &mut Vec<u8>, l: &Layout, donors: &[(Vec<u8>, Layout)]) {
    match rng.below(20) {
        // Blind: bit flips.
        0 | 1 if !buf.is_empty() => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(buf.len());
                buf[i] ^= 1 << rng.below(8);
            }
        }
        // Blind: bytes set to 0, 0xff, a neighbour of their value, or anything.
        2 | 3 if !buf.is_empty() => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(buf.len());
                buf[i] = match rng.below(5) {
                    0 => 0,
                    1 => 0xff,
                    2 => buf[i].wrapping_add(1),
                    3 => buf[i].wrapping_sub(1),
                    _ => rng.byte(),
                };
            }
        }
        // Truncation: anywhere, or a few bytes short of a message's or attribute's end.
        4 => {
            let cut = match rng.below(3) {
                0 if !l.attrs.is_empty() => {
                    let a = &l.attrs[rng.below(l.attrs.len())];
                    (a.start + a.len).saturating_sub(rng.below(6))
                }
                1 if !l.msgs.is_empty() => {
                    let m = &l.msgs[rng.below(l.msgs.len())];
                    (m.start + m.len).saturating_sub(rng.below(6))
                }
                _ => rng.below(buf.len() + 1),
            };
            buf.truncate(cut);
        }
        // Random bytes inserted, or a range deleted.
        5 => {
            let at = rng.below(buf.len() + 1);
            if rng.one_in(2) {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                buf.splice(at..at, bytes);
            } else {
                let end = (at + 1 + rng.below(16)).min(buf.len());
                buf.drain(at..end);
            }
        }
        // Length lie in a netlink header.
        6 | 7 if !l.msgs.is_empty() => {
            let m = &l.msgs[rng.below(l.msgs.len())];
            let v = lie(rng, m.len, buf.len() - m.start, u32::MAX as usize) as u32;
            buf[m.start..m.start + 4].copy_from_slice(&v.to_ne_bytes());
        }
        // Length lie in an attribute; half the time in a nested one's child or the nested
        // attribute itself.
        8..=10 if !l.attrs.is_empty() => {
            let deep: Vec<&Attr> = l
                .attrs
                .iter()
                .filter(|a| a.parents.len() > 1 || a.nested)
                .collect();
            let a = if !deep.is_empty() && rng.one_in(2) {
                deep[rng.below(deep.len())]
            } else {
                &l.attrs[rng.below(l.attrs.len())]
            };
            let v = lie(rng, a.len, buf.len() - a.start, 0xffff) as u16;
            buf[a.start..a.start + 2].copy_from_slice(&v.to_ne_bytes());
        }
        // An attribute duplicated in place, enclosing lengths fixed up.
        11 if !l.attrs.is_empty() => {
            let a = &l.attrs[rng.below(l.attrs.len())];
            let end = (a.start + attr::align4(a.len)).min(buf.len());
            let copy = buf[a.start..end].to_vec();
            let n = copy.len();
            buf.splice(end..end, copy);
            fix_up(buf, &a.parents, n as isize);
        }
        // An attribute removed, enclosing lengths fixed up.
        12 if !l.attrs.is_empty() => {
            let a = &l.attrs[rng.below(l.attrs.len())];
            let end = (a.start + attr::align4(a.len)).min(buf.len());
            let n = end - a.start;
            buf.drain(a.start..end);
            fix_up(buf, &a.parents, -(n as isize));
        }
        // An attribute of another message spliced in (inserted, or in place of one), enclosing
        // lengths fixed up.
        13 | 14 if !l.attrs.is_empty() && !donors.is_empty() => {
            let (dbuf, dl) = &donors[rng.below(donors.len())];
            if dl.attrs.is_empty() {
                return;
            }
            let d = &dl.attrs[rng.below(dl.attrs.len())];
            let dend = (d.start + attr::align4(d.len)).min(dbuf.len());
            let bytes = dbuf[d.start..dend].to_vec();
            let a = &l.attrs[rng.below(l.attrs.len())];
            let end = (a.start + attr::align4(a.len)).min(buf.len());
            let (at, removed) = if rng.one_in(2) {
                (a.start, end - a.start)
            } else {
                (end, 0)
            };
            let delta = bytes.len() as isize - removed as isize;
            buf.splice(at..at + removed, bytes);
            fix_up(buf, &a.parents, delta);
        }
        // Message or attribute type changed.
        15 => {
            if rng.one_in(2) && !l.attrs.is_empty() {
                let a = &l.attrs[rng.below(l.attrs.len())];
                let t = attr_type(rng);
                buf[a.start + 2..a.start + 4].copy_from_slice(&t.to_ne_bytes());
            } else if !l.msgs.is_empty() {
                let m = &l.msgs[rng.below(l.msgs.len())];
                let t = msg_type(rng);
                let f = wire::field::TYPE;
                buf[m.start + f.start..m.start + f.end].copy_from_slice(&t.to_ne_bytes());
            }
        }
        // Family byte changed, or another byte of the family header.
        16 if !l.msgs.is_empty() => {
            let m = &l.msgs[rng.below(l.msgs.len())];
            let at = m.start + HEADER_LEN;
            let hdr_end = m.attrs_at.unwrap_or(at + 1).min(m.start + m.len);
            if hdr_end > at {
                let i = if rng.one_in(2) {
                    at
                } else {
                    at + rng.below(hdr_end - at)
                };
                buf[i] = match rng.below(4) {
                    0 => rng.pick(&[0, 1, 2, 7, 10, 28, 129]), // UNSPEC LOCAL INET BRIDGE INET6 MPLS
                    1 => 0xff,
                    _ => rng.byte(),
                };
            }
        }
        // Message flags: the extended-ack bits and anything else.
        17 if !l.msgs.is_empty() => {
            let m = &l.msgs[rng.below(l.msgs.len())];
            let f = wire::field::FLAGS;
            let old = attr::u16_at(buf, m.start + f.start);
            let v = match rng.below(3) {
                0 => old ^ libc::NLM_F_ACK_TLVS as u16,
                1 => old ^ libc::NLM_F_CAPPED as u16,
                _ => rng.next() as u16,
            };
            buf[m.start + f.start..m.start + f.end].copy_from_slice(&v.to_ne_bytes());
        }
        // Messages spliced between datagrams: one message alone, a message duplicated, or
        // another datagram's message appended.
        18 if !l.msgs.is_empty() => {
            let m = l.msgs[rng.below(l.msgs.len())].clone();
            let end = (m.start + attr::align4(m.len)).min(buf.len());
            let bytes = buf[m.start..end].to_vec();
            match rng.below(3) {
                0 => *buf = bytes,
                1 => buf.splice(end..end, bytes).for_each(drop),
                _ => {
                    if let Some((dbuf, dl)) = donors.get(rng.below(donors.len())) {
                        if let Some(dm) = dl.msgs.get(rng.below(dl.msgs.len())) {
                            let dend = (dm.start + attr::align4(dm.len)).min(dbuf.len());
                            buf.extend_from_slice(&dbuf[dm.start..dend]);
                        }
                    }
                }
            }
        }
        // An attribute's payload overwritten (a short value made long or odd-sized is
        // covered by the length lies; this keeps the length and changes what it says).
        _ if !l.attrs.is_empty() => {
            let a = &l.attrs[rng.below(l.attrs.len())];
            for i in a.start + attr::HEADER_LEN..(a.start + a.len).min(buf.len()) {
                if rng.one_in(3) {
                    let any = rng.byte();
                    buf[i] = rng.pick(&[0, 0xff, any]);
                }
            }
        }
        _ => {
            if !buf.is_empty() {
                let i = rng.below(buf.len());
                buf[i] ^= 0xff;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16, body: &[u8]) -> Vec<u8> {
        let mut v = ((HEADER_LEN + body.len()) as u32).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&[0; 10]);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn layout_finds_nested_attributes_and_fix_up_keeps_them_consistent() {
        // An address message (8-byte header), then a nested attribute holding two u32s.
        let mut body = vec![2, 24, 0, 0, 1, 0, 0, 0];
        body.extend_from_slice(&[20, 0, 0x05, 0x80]); // nested, type 5
        body.extend_from_slice(&[8, 0, 1, 0, 1, 0, 0, 0]);
        body.extend_from_slice(&[8, 0, 2, 0, 2, 0, 0, 0]);
        let mut buf = msg(libc::RTM_NEWADDR, &body);
        let l = layout(&buf);
        assert_eq!(l.msgs.len(), 1);
        assert_eq!(l.attrs.len(), 3);
        assert!(l.attrs[0].nested);
        // Duplicate the inner second attribute: both lengths grow by 8.
        let a = l.attrs[2].clone();
        let copy = buf[a.start..a.start + 8].to_vec();
        buf.splice(a.start + 8..a.start + 8, copy);
        fix_up(&mut buf, &a.parents, 8);
        let l2 = layout(&buf);
        assert_eq!(l2.attrs.len(), 4);
        assert_eq!(l2.msgs[0].len, buf.len());
    }

    #[test]
    fn same_seed_same_mutations() {
        let base = msg(libc::RTM_NEWROUTE, &[2, 24, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0]);
        let run = |seed| {
            let mut rng = Rng::new(seed);
            let mut b = base.clone();
            mutate(&mut rng, &mut b, &[]);
            b
        };
        assert_eq!(run(7), run(7));
    }
}
