//! Requests that netplumb writes itself, for the objects `netlink-packet-route` does not know
//! (nexthop objects): the message's fixed header, then attributes, nested where needed.
//!
//! [`RawMessage`] holds the payload (what follows `struct nlmsghdr`); [`super::encode_request`]
//! puts the netlink header in front when the request is queued or sent.

use super::attr::{align4, HEADER_LEN as ATTR_HEADER_LEN};

/// `NLA_F_NESTED` (linux/netlink.h): set on attributes that hold attributes.
const NLA_F_NESTED: u16 = libc::NLA_F_NESTED as u16;

/// One request's type and payload, written attribute by attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawMessage {
    /// `nlmsg_type`.
    pub ty: u16,
    /// The payload: the family's fixed header, then the attributes, each padded to 4 bytes.
    pub body: Vec<u8>,
}

impl RawMessage {
    /// A message of type `ty` whose payload starts with the fixed header `head` (padded to 4
    /// bytes).
    pub(crate) fn new(ty: u16, head: &[u8]) -> RawMessage {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(head);
        body.resize(align4(body.len()), 0);
        RawMessage { ty, body }
    }

    /// Appends an attribute. Its length must fit 16 bits: [`super::encode_request`] refuses
    /// messages over [`super::MAX_REQUEST`] bytes, which also bounds every attribute; a longer
    /// payload is cut at that bound here and the whole request refused there.
    pub(crate) fn put(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        let len = (ATTR_HEADER_LEN + payload.len()).min(u16::MAX as usize);
        self.body.extend_from_slice(&(len as u16).to_ne_bytes());
        self.body.extend_from_slice(&ty.to_ne_bytes());
        self.body.extend_from_slice(payload);
        self.body.resize(align4(self.body.len()), 0);
        self
    }

    /// Appends an attribute holding a host-order u32.
    pub(crate) fn put_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }

    /// Appends an attribute holding a host-order u16.
    pub(crate) fn put_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }

    /// Appends a flag: an attribute with no payload.
    pub(crate) fn put_flag(&mut self, ty: u16) -> &mut Self {
        self.put(ty, &[])
    }

    /// Starts an attribute that nests others; close it with [`end_nest`](Self::end_nest).
    pub(crate) fn begin_nest(&mut self, ty: u16) -> usize {
        let at = self.body.len();
        self.body.extend_from_slice(&0u16.to_ne_bytes());
        self.body
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        at
    }

    /// Writes the length of the nest started at `at`.
    pub(crate) fn end_nest(&mut self, at: usize) {
        let len = (self.body.len() - at).min(u16::MAX as usize) as u16;
        self.body[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nests_measured() {
        let mut m = RawMessage::new(104, &[1, 2, 3]);
        assert_eq!(m.body, [1, 2, 3, 0]);
        m.put_u16(3, 1);
        let n = m.begin_nest(12);
        m.put_u32(1, 7);
        m.end_nest(n);
        m.put_flag(4);
        assert_eq!(
            m.body,
            [
                1, 2, 3, 0, // head
                6, 0, 3, 0, 1, 0, 0, 0, // u16, padded
                12, 0, 12, 0x80, 8, 0, 1, 0, 7, 0, 0, 0, // nest
                4, 0, 4, 0, // flag
            ]
        );
    }
}
