//! Bulk requests: [`Batch`] queues many route (and address, neighbour, FDB …) requests and
//! sends them pipelined, one result per request.
//!
//! This file is the pipeline's core: it queues encoded requests and hands them to the
//! [`Handle`] to send, knowing no object. Each object's home adds its own `Batch` methods
//! (`add_route` in [`route`](crate::route), `add_fdb` in [`fdb`](crate::fdb), …).

use std::collections::HashMap;

use crate::handle::Pipeline;
use crate::wire::{self, Request};
use crate::{Error, Handle, IfIndex, Result};

/// Many requests sent together: the fast path for installing a full routing table or
/// thousands of neighbour and FDB entries. Equivalent to `ip -batch FILE` (but pipelined).
///
/// Requests are encoded as they are queued and sent by [`send`](Batch::send) back to back in
/// large writes (a few hundred KiB each). The requests ask for no acknowledgement: the kernel
/// answers only the ones that fail, matched to them by sequence number, and each write ends
/// with a barrier whose acknowledgement says every request before it has been handled (a
/// request without an answer by then succeeded). Every request gets its own result, in the order queued (the
/// index that the queueing method returned is its position in the results): a failure in
/// the middle does not stop or hide the others, and its [`Error`] is the same error the
/// [`Handle`] method would have returned. A request refused before sending (bad input) takes
/// its place in the results with its [`Error::InvalidInput`] and is not sent.
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
/// for (i, e) in results.iter().enumerate().filter_map(|(i, r)| Some((i, r.as_ref().err()?))) {
///     eprintln!("request {i}: {e}"); // "request 17: add route: File exists (17)"
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

/// # Batches
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

    /// Queues a request built by `msg` (`flags` such as `NLM_F_CREATE` added; no
    /// acknowledgement asked: the pipeline closes each write with a barrier instead),
    /// or, when building or encoding it failed (invalid input), its error in its place.
    /// Returns its index. The building block of every object's batch methods.
    pub(crate) fn push_result(
        &mut self,
        op: &'static str,
        msg: Result<impl Into<Request>>,
        flags: u16,
    ) -> usize {
        let i = self.ends.len();
        let encoded = msg.and_then(|m| {
            wire::encode_request(m.into(), wire::NLM_F_REQUEST | flags, &mut self.buf)
        });
        self.ends.push(self.buf.len());
        self.ops.push(op);
        if let Err(e) = encoded {
            self.refused.push((i, e));
        }
        i
    }

    /// The handle the batch sends through.
    /// Queues a request refused before encoding: its result is `error`.
    pub(crate) fn push_refused(&mut self, op: &'static str, error: Error) -> usize {
        self.push_result(op, Err::<Request, _>(error), 0)
    }

    pub(crate) fn handle(&self) -> &'h Handle {
        self.handle
    }

    /// Link names resolved so far in this batch (cleared when it is sent: links may come and
    /// go in between). Object modules resolve through it.
    pub(crate) fn link_cache(&mut self) -> &mut HashMap<String, IfIndex> {
        &mut self.links
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
