//! Kernel events (`ip monitor`): typed notifications of links, addresses, routes, policy
//! rules, neighbours and FDB entries appearing, changing and going away, VXLAN L2/L3 misses,
//! and overruns.
//!
//! A [`Monitor`] is one rtnetlink socket subscribed to the kernel's multicast groups in one
//! namespace. It has no thread of its own: events queue in the socket's receive buffer until read
//! with [`Monitor::recv`], [`Monitor::recv_timeout`], [`Monitor::try_recv`] or by iterating.
//! For poll/epoll/tokio, wait on its file descriptor ([`AsFd`](std::os::fd::AsFd)) and then drain it with
//! `try_recv`. When the reader falls behind and the buffer fills, the kernel drops events; the
//! monitor then yields [`Event::Overrun`], and the caller should [`resync`](crate::monitor::Monitor::resync).
//!
//! Files: `types.rs` ([`Groups`], [`Event`], [`MonitorOptions`]), `subscription.rs` (the
//! [`Monitor`]: socket, queue, snapshots), `events.rs` (notifications decoded into events),
//! `stop.rs` ([`MonitorStop`]).

mod events;
mod stop;
mod subscription;
#[cfg(test)]
mod tests;
mod types;

pub use stop::MonitorStop;
pub use subscription::Monitor;
pub use types::{Change, Event, Groups, MonitorOptions};
