//! Bulk requests: [`Batch`] queues many route (and address, neighbour, FDB …) requests and
//! sends them pipelined, one result per request.

use std::collections::HashMap;

use ipnetwork::IpNetwork;
use netlink_packet_core::NLM_F_APPEND;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::addr::{address_message, NewAddress};
use crate::handle::Pipeline;
use crate::link::LinkRef;
use crate::route::{route_key_message, route_message, NewRoute, RouteKey};
use crate::wire::{self, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Error, Handle, IfIndex, IpFamily, Result};

/// Many requests sent together: the fast path for installing a full routing table or
/// thousands of neighbour and FDB entries. Equivalent to `ip -batch FILE` (but pipelined).
///
/// Requests are encoded as they are queued and sent by [`send`](Batch::send) back to back in
/// large writes (a few hundred KiB each); the kernel's acknowledgements are matched to their
/// requests by sequence number. Every request gets its own result, in the order queued: a
/// failure in the middle does not stop or hide the others, and its [`Error`] is
/// [`Error::Batch`] with the request's index. A request refused before sending (bad input)
/// takes its place in the results with its [`Error::InvalidInput`] and is not sent.
///
/// The requests are independent (as `ip -batch -force`): there is no transaction, and a
/// failed request does not undo the others.
///
/// ```no_run
/// use netplumb::{Handle, TableId, route::NewRoute};
///
/// let h = Handle::new()?;
/// let mut batch = h.batch();
/// for i in 0..1000u32 {
///     let prefix = format!("10.{}.{}.0/24", i / 256, i % 256).parse()?;
///     batch.add_route(&NewRoute {
///         table: TableId::new(100),
///         ..NewRoute::via(prefix, "192.0.2.1".parse()?)?
///     });
/// }
/// let results = batch.send();
/// for e in results.iter().filter_map(|r| r.as_ref().err()) {
///     eprintln!("{e}"); // "batch request 17: add route: …"
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Batch<'h> {
    handle: &'h Handle,
    /// The encoded requests, back to back.
    buf: Vec<u8>,
    /// Where each request ends in `buf` (a request refused before sending takes no bytes).
    ends: Vec<usize>,
    ops: Vec<&'static str>,
    /// Requests refused before sending, by index.
    refused: Vec<(usize, Error)>,
    /// Link names resolved so far.
    links: HashMap<String, IfIndex>,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("requests", &self.ends.len())
            .field("bytes", &self.buf.len())
            .field("refused", &self.refused.len())
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// An empty batch of requests to send through this handle.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            handle: self,
            buf: Vec::new(),
            ends: Vec::new(),
            ops: Vec::new(),
            refused: Vec::new(),
            links: HashMap::new(),
        }
    }
}

impl<'h> Batch<'h> {
    /// How many requests are queued.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Reserves room for `requests` more requests of about `bytes_each` encoded bytes.
    pub fn reserve(&mut self, requests: usize, bytes_each: usize) {
        self.buf.reserve(requests.saturating_mul(bytes_each));
        self.ends.reserve(requests);
        self.ops.reserve(requests);
    }

    /// Queues an encoded request (acknowledged; `flags` such as `NLM_F_CREATE` added) and
    /// returns its index. The building block of every module's batch methods.
    pub(crate) fn push(&mut self, op: &'static str, msg: RouteNetlinkMessage, flags: u16) -> usize {
        wire::encode(
            msg,
            wire::NLM_F_REQUEST | wire::NLM_F_ACK | flags,
            0,
            &mut self.buf,
        );
        self.ends.push(self.buf.len());
        self.ops.push(op);
        self.ends.len() - 1
    }

    /// Queues a request built by `msg`, or, when building it failed (invalid input), its
    /// error in its place. Returns its index.
    pub(crate) fn push_result(
        &mut self,
        op: &'static str,
        msg: Result<RouteNetlinkMessage>,
        flags: u16,
    ) -> usize {
        match msg {
            Ok(m) => self.push(op, m, flags),
            Err(e) => {
                let i = self.ends.len();
                self.ends.push(self.buf.len());
                self.ops.push(op);
                self.refused.push((
                    i,
                    Error::Batch {
                        index: i,
                        source: Box::new(e),
                    },
                ));
                i
            }
        }
    }

    /// Resolves a link to its index, asking the kernel once per name.
    pub(crate) fn resolve(&mut self, link: LinkRef<'_>) -> Result<IfIndex> {
        match link {
            LinkRef::Index(i) => Ok(i),
            LinkRef::Name(name) => {
                if let Some(i) = self.links.get(name) {
                    return Ok(*i);
                }
                let i = self.handle.link_index(link)?;
                self.links.insert(name.to_string(), i);
                Ok(i)
            }
        }
    }

    fn route(&mut self, op: &'static str, r: &NewRoute<'_>, flags: u16) -> usize {
        let msg = route_message(r, |l| self.resolve(l)).map(RouteNetlinkMessage::NewRoute);
        self.push_result(op, msg, flags)
    }

    /// Queues `ip route add …` (see [`Handle::add_route`]); returns the request's index.
    pub fn add_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("add route", route, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip route replace …` (see [`Handle::replace_route`]); returns the index.
    pub fn replace_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("replace route", route, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Queues `ip route append …` (see [`Handle::append_route`]); returns the index.
    pub fn append_route(&mut self, route: &NewRoute<'_>) -> usize {
        self.route("append route", route, NLM_F_CREATE | NLM_F_APPEND)
    }

    /// Queues `ip route del …` (see [`Handle::delete_route`]); returns the index.
    pub fn delete_route(&mut self, key: &RouteKey<'_>) -> usize {
        let msg = route_key_message(key, |l| self.resolve(l)).map(RouteNetlinkMessage::DelRoute);
        self.push_result("delete route", msg, 0)
    }

    /// Queues `ip addr add ADDRESS dev LINK` (see [`Handle::add_address`]); returns the index.
    pub fn add_address<'a>(&mut self, link: impl Into<LinkRef<'a>>, address: &NewAddress) -> usize {
        let link = link.into();
        let msg =
            address_message(address, || self.resolve(link)).map(RouteNetlinkMessage::NewAddress);
        self.push_result("add address", msg, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip addr del ADDRESS dev LINK` (see [`Handle::delete_address`]); returns the
    /// index.
    pub fn delete_address<'a>(
        &mut self,
        link: impl Into<LinkRef<'a>>,
        address: IpNetwork,
    ) -> usize {
        let msg = self.resolve(link.into()).map(|index| {
            let mut msg = AddressMessage::default();
            msg.header.family = match IpFamily::of(address.ip()) {
                IpFamily::V4 => AddressFamily::Inet,
                IpFamily::V6 => AddressFamily::Inet6,
            };
            msg.header.prefix_len = address.prefix();
            msg.header.index = index.get();
            msg.attributes.push(AddressAttribute::Local(address.ip()));
            msg.attributes.push(AddressAttribute::Address(address.ip()));
            RouteNetlinkMessage::DelAddress(msg)
        });
        self.push_result("delete address", msg, 0)
    }

    /// Sends every queued request and returns one result per request, in the order queued,
    /// leaving the batch empty for reuse.
    pub fn send(&mut self) -> Vec<Result<()>> {
        // Names are resolved afresh for the next use: links may come and go in between.
        self.links.clear();
        let n = self.ends.len();
        let mut results: Vec<Result<()>> = Vec::with_capacity(n);
        results.resize_with(n, || Ok(()));
        for (i, e) in self.refused.drain(..) {
            results[i] = Err(e);
        }
        self.handle.pipeline(
            Pipeline {
                buf: &mut self.buf,
                ends: &self.ends,
                ops: &self.ops,
            },
            &mut results,
        );
        self.buf.clear();
        self.ends.clear();
        self.ops.clear();
        results
    }
}
