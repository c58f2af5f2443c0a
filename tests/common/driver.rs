//! One scenario body, several drivers: the blocking `Handle`, and (with the `tokio` feature)
//! the async face on a current-thread and on a multi-thread runtime. A body calls
//! `d.run(|h| h.operation(…))` where it would call `h.operation(…)`.

use netplumb::{Handle, NetNs, Result};

/// A way of running operations in a namespace.
pub enum Driver {
    Sync(Handle),
    #[cfg(feature = "tokio")]
    Async(Box<(tokio::runtime::Runtime, netplumb::tokio::AsyncHandle)>),
}

impl Driver {
    /// The drivers of this build, by name.
    pub fn kinds() -> &'static [&'static str] {
        if cfg!(feature = "tokio") {
            &["sync", "async-current-thread", "async-multi-thread"]
        } else {
            &["sync"]
        }
    }

    /// A driver of kind `kind` (one of [`Driver::kinds`]) with its own connection in `ns`.
    pub fn new(kind: &str, ns: &NetNs) -> Driver {
        #[cfg(feature = "tokio")]
        {
            use tokio::runtime::Builder;
            let rt = match kind {
                "async-current-thread" => Some(Builder::new_current_thread().enable_all().build()),
                "async-multi-thread" => Some(
                    Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build(),
                ),
                _ => None,
            };
            if let Some(rt) = rt {
                let rt = rt.expect("runtime");
                let h = rt
                    .block_on(netplumb::tokio::AsyncHandle::new_in(ns))
                    .expect("async handle");
                return Driver::Async(Box::new((rt, h)));
            }
        }
        assert_eq!(kind, "sync", "unknown driver {kind}");
        Driver::Sync(Handle::new_in(ns).expect("handle"))
    }

    /// Runs `op` through this driver.
    pub fn run<T>(&self, mut op: impl FnMut(&Handle) -> Result<T>) -> Result<T> {
        match self {
            Driver::Sync(h) => op(h),
            #[cfg(feature = "tokio")]
            Driver::Async(a) => a.0.block_on(a.1.run(op)),
        }
    }
}
