//! The sans-IO core under the async face: a [`Handle`](crate::Handle) whose "socket" is a
//! script of recorded exchanges, and the bookkeeping a driver needs to record them.
//!
//! Every operation of netplumb is plain synchronous code over a handle: it encodes a request,
//! exchanges it with the kernel, decodes the replies, and maybe does it again (a link name
//! resolved before the request that needs its index, a dump started again after an
//! interruption). Rather than write each operation a second time as an `async fn`, a driver
//! that cannot block runs the operation's code against a scripted handle:
//!
//! 1. the operation runs; a request the script has no answer for is recorded as *pending*,
//!    and the operation gets an error and unwinds (its result is thrown away);
//! 2. the driver sends the pending request on its own socket, without blocking, and records
//!    every datagram of the kernel's reply ([`Tracker`] says when the reply is complete);
//! 3. the operation runs again from the start: its requests are compared with the recorded
//!    ones (the same bytes, or the run is refused as not deterministic) and answered from the
//!    script, until a run needs nothing new — its result is the operation's result.
//!
//! An operation with `k` exchanges runs `k + 1` times; each run only encodes and decodes. The
//! requests of one pipelined [`Batch`](crate::Batch) are independent of each other's answers,
//! so all its writes are recorded as pending in one run. A streaming dump is not recorded: its
//! request is let through, and the driver feeds the replies to the
//! [`Dump`](crate::Dump) as they arrive.

// The async face (feature `tokio`) is its only driver.
#![cfg_attr(not(feature = "tokio"), allow(dead_code))]

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use crate::netns::NetNs;
use crate::wire;

/// One received datagram, or what receiving it returned instead.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// The bytes of a datagram (sequence numbers those of the scripted handle).
    Datagram(Vec<u8>),
    /// A datagram of this size that did not fit the receive buffer.
    Truncated(usize),
    /// The error `recv` returned (`ENOBUFS` when the receive buffer overflowed, `EAGAIN`
    /// when nothing more was waiting after an overflow).
    Errno(i32),
}

/// How a request is sent, which decides what the script does with it when it has no answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SendKind {
    /// One request whose answer the operation's next step may depend on.
    Single,
    /// One write of a pipelined batch: independent of the other writes' answers.
    Pipeline,
    /// The request of a streaming dump: its replies are fed as they arrive.
    Stream,
}

/// One request and its whole reply, as the driver recorded them.
#[derive(Debug)]
struct Exchange {
    request: Vec<u8>,
    /// `Some(errno)` when sending failed.
    send_error: Option<i32>,
    replies: Vec<Reply>,
}

/// Where the scripted socket's `recv` reads from.
#[derive(Clone, Copy, Debug)]
enum Reading {
    Nothing,
    /// Reply `1` of recorded exchange `0`.
    Recorded(usize, usize),
    /// The feed of a streaming dump.
    Feed,
}

/// The recorded exchanges of one operation, and what its current run asked for.
#[derive(Debug)]
pub(crate) struct Script {
    steps: Vec<Exchange>,
    /// The next recorded exchange the current run's request must match.
    cursor: usize,
    reading: Reading,
    /// Requests of the current run that had no answer, to send.
    pending: Vec<Vec<u8>>,
    pending_kind: SendKind,
    /// The run sent a request that differs from the one recorded at the same step.
    pub diverged: bool,
    /// Whether a [`SendKind::Stream`] request may go through (a streaming driver).
    pub stream_ok: bool,
    /// Replies of a streaming dump, pushed by the driver.
    feed: VecDeque<Reply>,
    /// The namespace of the driver's socket.
    ns: Arc<NetNs>,
    /// The driver's socket buffer sizes (receive, send), for the pipeline's write sizes.
    pub bufs: (usize, usize),
}

/// The error a scripted request without an answer gets: the operation unwinds with it, and
/// the driver throws its result away.
fn pending_error() -> io::Error {
    io::Error::new(io::ErrorKind::WouldBlock, "waiting for the kernel's answer")
}

impl Script {
    pub(crate) fn new(ns: Arc<NetNs>, bufs: (usize, usize)) -> Script {
        Script {
            steps: Vec::new(),
            cursor: 0,
            reading: Reading::Nothing,
            pending: Vec::new(),
            pending_kind: SendKind::Single,
            diverged: false,
            stream_ok: false,
            feed: VecDeque::new(),
            ns,
            bufs,
        }
    }

    /// An empty script of the same driver (its namespace and buffer sizes).
    pub(crate) fn fresh(&self) -> Script {
        Script::new(Arc::clone(&self.ns), self.bufs)
    }

    /// Forgets the recorded exchanges, for a new operation.
    pub(crate) fn reset(&mut self) {
        self.steps.clear();
        self.rewind();
    }

    /// Prepares a new run of the operation over the exchanges recorded so far.
    pub(crate) fn rewind(&mut self) {
        self.cursor = 0;
        self.reading = Reading::Nothing;
        self.pending.clear();
        self.diverged = false;
        self.feed.clear();
    }

    /// The requests the last run had no answer for (all independent of each other's answers).
    pub(crate) fn take_pending(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.pending)
    }

    /// Whether the last run let a streaming dump's request through.
    pub(crate) fn streaming(&self) -> bool {
        matches!(self.reading, Reading::Feed)
    }

    /// Records the answer to a request the last run left pending.
    pub(crate) fn record(
        &mut self,
        request: Vec<u8>,
        send_error: Option<i32>,
        replies: Vec<Reply>,
    ) {
        self.steps.push(Exchange {
            request,
            send_error,
            replies,
        });
    }

    /// Gives a streaming dump the next reply.
    pub(crate) fn feed(&mut self, reply: Reply) {
        self.feed.push_back(reply);
    }

    /// Whether a streaming dump has read every reply fed so far.
    pub(crate) fn starved(&self) -> bool {
        matches!(self.reading, Reading::Feed) && self.feed.is_empty()
    }

    pub(crate) fn netns(&self) -> crate::Result<NetNs> {
        self.ns.try_clone()
    }

    /// The scripted `send`.
    pub(crate) fn send(&mut self, bytes: &[u8], kind: SendKind) -> io::Result<usize> {
        if let Some(step) = self.steps.get(self.cursor) {
            if step.request != bytes {
                self.diverged = true;
                return Err(io::Error::other(
                    "the operation sent another request when run again",
                ));
            }
            let i = self.cursor;
            self.cursor += 1;
            if let Some(errno) = step.send_error {
                self.reading = Reading::Nothing;
                return Err(io::Error::from_raw_os_error(errno));
            }
            self.reading = Reading::Recorded(i, 0);
            return Ok(bytes.len());
        }
        self.reading = Reading::Nothing;
        if self.pending.is_empty() {
            self.pending_kind = kind;
            self.pending.push(bytes.to_vec());
            if kind == SendKind::Stream && self.stream_ok {
                self.reading = Reading::Feed;
                return Ok(bytes.len());
            }
        } else if kind == SendKind::Pipeline && self.pending_kind == SendKind::Pipeline {
            self.pending.push(bytes.to_vec());
        }
        Err(pending_error())
    }

    /// The scripted `recv`: the next recorded reply into `rx`, and its length.
    pub(crate) fn recv(&mut self, rx: &mut Vec<u8>) -> io::Result<usize> {
        let reply = match &mut self.reading {
            Reading::Recorded(i, k) => {
                let r = self.steps[*i].replies.get(*k).cloned();
                *k += 1;
                r
            }
            Reading::Feed => self.feed.pop_front(),
            Reading::Nothing => None,
        };
        match reply {
            Some(Reply::Datagram(d)) => {
                rx.extend_from_slice(&d);
                Ok(d.len())
            }
            Some(Reply::Truncated(n)) => Ok(n),
            Some(Reply::Errno(e)) => Err(io::Error::from_raw_os_error(e)),
            None => Err(io::Error::from(io::ErrorKind::WouldBlock)),
        }
    }
}

/// The driver's side of one exchange on its real socket: which sequence numbers it waits
/// for, how the scripted handle's numbers map to the socket's, and whether the reply is
/// complete. Frames of other sequence numbers (replies to an exchange abandoned when its
/// future was dropped) are left out of what is recorded.
#[derive(Debug)]
pub(crate) struct Tracker {
    /// Socket sequence number = scripted one + `delta`.
    delta: u32,
    /// The socket's sequence numbers of the request's messages: `first` and `span` after it.
    /// The kernel answers a write's messages in order, so the reply is complete when the
    /// last message (a batch's barrier) has had its acknowledgement or end.
    first: u32,
    span: usize,
    ended: bool,
    port: u32,
    /// `recv` reported an overflow: some answers may never come; read what is waiting and stop.
    pub overflowed: bool,
}

impl Tracker {
    /// Renumbers `request` (scripted sequence numbers) from the socket's `next_seq` on, and
    /// returns the tracker of its reply and the socket's next free sequence number.
    pub(crate) fn start(request: &mut [u8], next_seq: u32, port: u32) -> (Tracker, u32) {
        let seqs: Vec<(usize, u32)> = message_offsets(request)
            .into_iter()
            .map(|at| (at, u32_at(request, at + wire::field::SEQ.start)))
            .collect();
        let lo = seqs.iter().map(|&(_, s)| s).min().unwrap_or(0);
        let hi = seqs.iter().map(|&(_, s)| s).max().unwrap_or(0);
        let span = hi.wrapping_sub(lo) as usize + 1;
        // Keep clear of 0 and of wrapping inside one request.
        let first = if next_seq == 0 || next_seq.checked_add(span as u32).is_none() {
            1
        } else {
            next_seq
        };
        let delta = first.wrapping_sub(lo);
        for &(at, s) in &seqs {
            wire::set_seq(request, at, s.wrapping_add(delta));
        }
        let next = first.wrapping_add(span as u32);
        (
            Tracker {
                delta,
                first,
                span,
                ended: seqs.is_empty(),
                port,
                overflowed: false,
            },
            next,
        )
    }

    /// Whether the request's last message has been answered (and so all before it).
    pub(crate) fn done(&self) -> bool {
        self.ended
    }

    /// Takes one received datagram: returns what of it belongs to this exchange, renumbered
    /// for the scripted handle (`None` when nothing does), and notes the ends it holds.
    pub(crate) fn take(&mut self, datagram: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < datagram.len() {
            let rest = &datagram[at..];
            let len = if rest.len() >= wire::HEADER_LEN {
                u32_at(rest, 0) as usize
            } else {
                0
            };
            if len < wire::HEADER_LEN || len > rest.len() {
                // Broken framing: pass the rest on as it is, for the operation's own check.
                out.extend_from_slice(rest);
                break;
            }
            let step = (len + 3) & !3;
            let frame = &rest[..len];
            let seq = u32_at(frame, wire::field::SEQ.start);
            let port = u32_at(frame, wire::field::PORT.start);
            let k = seq.wrapping_sub(self.first) as usize;
            if k < self.span && (port == self.port || port == 0) {
                let ty = u16::from_ne_bytes([frame[4], frame[5]]);
                if (ty == wire::NLMSG_ERROR || ty == wire::NLMSG_DONE) && k + 1 == self.span {
                    self.ended = true;
                }
                let start = out.len();
                out.extend_from_slice(&rest[..step.min(rest.len())]);
                wire::set_seq(&mut out, start, seq.wrapping_sub(self.delta));
            }
            at += step;
        }
        (!out.is_empty()).then_some(out)
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Where each message of an encoded request starts.
fn message_offsets(buf: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + wire::HEADER_LEN <= buf.len() {
        let len = u32_at(buf, at) as usize;
        if len < wire::HEADER_LEN {
            break;
        }
        out.push(at);
        at += (len + 3) & !3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(ty: u16, seq: u32, port: u32, payload: &[u8]) -> Vec<u8> {
        let len = wire::HEADER_LEN + payload.len();
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&port.to_ne_bytes());
        m.extend_from_slice(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn a_tracker_renumbers_keeps_its_own_frames_and_sees_the_end() {
        // A pipelined write of three requests numbered 1..=3 by the scripted handle.
        let mut req = [
            message(24, 1, 0, &[0; 12]),
            message(24, 2, 0, &[0; 12]),
            message(24, 3, 0, &[0; 12]),
        ]
        .concat();
        let (mut t, next) = Tracker::start(&mut req, 500, 77);
        assert_eq!(next, 503);
        let seqs: Vec<u32> = message_offsets(&req)
            .iter()
            .map(|&at| u32_at(&req, at + 8))
            .collect();
        assert_eq!(seqs, [500, 501, 502]);
        // An error for 500, and a stale frame of an abandoned exchange.
        let got = [
            message(wire::NLMSG_ERROR, 500, 77, &[0; 20]),
            message(wire::NLMSG_DONE, 42, 77, &[0; 4]),
        ]
        .concat();
        let kept = t.take(&got).unwrap();
        let back: Vec<u32> = message_offsets(&kept)
            .iter()
            .map(|&at| u32_at(&kept, at + 8))
            .collect();
        assert_eq!(back, [1], "renumbered back, the stale frame left out");
        assert!(!t.done());
        assert!(t
            .take(&message(wire::NLMSG_DONE, 42, 77, &[0; 4]))
            .is_none());
        // The last message's answer (a batch's barrier) ends the reply.
        let kept = t
            .take(&message(wire::NLMSG_ERROR, 502, 0, &[0; 20]))
            .unwrap();
        assert_eq!(u32_at(&kept, 8), 3);
        assert!(t.done());
    }

    #[test]
    fn a_script_answers_recorded_requests_and_notices_a_different_one() {
        let ns = match NetNs::current() {
            Ok(ns) => ns,
            Err(e) => {
                eprintln!("skipped: a_script_answers_recorded_requests: {e}");
                return;
            }
        };
        let mut s = Script::new(Arc::new(ns), (1 << 20, 1 << 20));
        let req = message(18, 1, 0, &[1, 2, 3, 4]);
        let e = s.send(&req, SendKind::Single).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        // A second request in the same run is not recorded: it may depend on the first.
        s.send(&message(18, 2, 0, &[]), SendKind::Single)
            .unwrap_err();
        let pending = s.take_pending();
        assert_eq!(pending, vec![req.clone()]);
        let reply = message(wire::NLMSG_ERROR, 1, 0, &[0; 20]);
        s.record(req.clone(), None, vec![Reply::Datagram(reply.clone())]);
        s.rewind();
        assert_eq!(s.send(&req, SendKind::Single).unwrap(), req.len());
        let mut rx = Vec::new();
        assert_eq!(s.recv(&mut rx).unwrap(), reply.len());
        assert_eq!(rx, reply);
        assert_eq!(
            s.recv(&mut rx).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        s.rewind();
        s.send(&message(18, 1, 0, &[9, 9, 9, 9]), SendKind::Single)
            .unwrap_err();
        assert!(s.diverged);
    }
}
