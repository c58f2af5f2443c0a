//! The lab that netplumb's whole-job examples run in, and that the tests which run those
//! examples share: named network namespaces that are removed again whatever happens (a
//! failure, a panic, or a kill followed by another run), sysctls set inside a namespace, an
//! underlay LAN of simulated hosts, UDP echo between namespaces, BIRD daemons and a watch over
//! the kernels' route tables, calico's per-pod plumbing, etcd and a client of its v3 gateway,
//! flannel's data path and an agent that runs it over etcd, and the examples' command lines.
//!
//! Not published: it is a development dependency of `netplumb` (its examples and integration
//! tests) and builds on netplumb's public API only.
//!
//! ```no_run
//! use netplumb::netconf::{ConfKnob, ConfScope};
//! use netplumb_lab::Lab;
//!
//! let mut lab = Lab::new("demo")?; // deletes what an earlier, killed run left
//! let router = lab.netns("router")?; // `ip netns add demo-router`, loopback up
//! router.set_conf(ConfScope::All, ConfKnob::Ipv4Forwarding, 1)?;
//! // … dropping `lab` deletes demo-router.
//! # Ok::<(), netplumb_lab::BoxError>(())
//! ```
#![deny(missing_docs)]

mod args;
pub mod bird;
pub mod calico;
mod echo;
pub mod etcd;
pub mod flannel;
mod lab;
mod ns;
pub mod ris;

pub use args::{arg, check_args, finish, flag};
pub use echo::{udp_echo, Echo, EchoMatrix, EchoServer, Endpoint};
pub use lab::{sweep, workdir_path, Lab, LEDGER_DIR};
pub use ns::{sysctl, Underlay};

/// The lab's error type: anything, with a message that says what failed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The lab's result type.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// How much slower than this machine the tests may run: 1 here, 6 inside the kernel-VM tier's
/// guest (`NETPLUMB_TEST_TIER=kernel-vm`, a QEMU guest that emulates its CPU), by which timing
/// margins and time limits are multiplied there.
pub fn timing_slack() -> u32 {
    match std::env::var("NETPLUMB_TEST_TIER") {
        Ok(t) if !t.is_empty() => 6,
        _ => 1,
    }
}
