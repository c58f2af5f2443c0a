//! Stopping a monitor from another thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::eventfd::EventFd;

/// What a [`MonitorStop`](crate::monitor::MonitorStop) sets: a flag that receiving calls check without a system call, and
/// an eventfd, polled beside the socket, that wakes a blocked reader.
#[derive(Debug)]
pub(super) struct StopShared {
    pub(super) stopped: AtomicBool,
    pub(super) wake: EventFd,
}

/// Stops a [`Monitor`](crate::monitor::Monitor) from another thread, as closing the `done` channel of Go netlink's
/// `LinkSubscribe` does: a thread blocked in [`Monitor::recv`](crate::monitor::Monitor::recv) (or iterating) wakes at once,
/// and from then on every receiving call returns [`Error::Stopped`](crate::Error::Stopped) and the iterator ends.
/// Cheap to clone; `Send` and `Sync`.
///
/// ```no_run
/// use netplumb::monitor::{Groups, Monitor, MonitorOptions};
///
/// let mut monitor = Monitor::with_options(&MonitorOptions {
///     groups: Groups::NEIGH,
///     ..MonitorOptions::default()
/// })?;
/// let stop = monitor.stopper()?;
/// let agent = std::thread::spawn(move || {
///     for event in monitor {
///         println!("{event:?}"); // ends when stopped
///     }
/// });
/// // … later, from any thread:
/// stop.stop();
/// agent.join().unwrap();
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MonitorStop {
    pub(super) shared: Arc<StopShared>,
}

impl MonitorStop {
    /// Stops the monitor. Calling it again, or after the monitor is gone, does nothing.
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        // Wakes a reader blocked in poll. The counter stays readable once written; a full
        // counter (after 2^64 - 2 stops) refuses the write, and is readable then anyway.
        let _ = self.shared.wake.write(1);
    }
}
