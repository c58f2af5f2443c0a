//! [`SharedFib`]: a [`Fib`] that reader threads look up in while one writer changes it.
//!
//! A left-right pair: two copies of the table. Readers look up in the *live* copy; the
//! writer changes the other one and logs each change. [`SharedFib::publish`] makes the
//! other copy live with one atomic store (so every change since the last publish becomes
//! visible at once), and before the writer touches the copy it left, it waits until no
//! reader can still be in it, then replays the log onto it. Nothing is freed while a reader
//! can see it: the writer never changes (nor drops) a copy a reader may be in, and the pair
//! itself is freed when the writer and the last reader handle are gone.
//!
//! A reader announces a lookup with its own epoch counter, which only it writes (odd: in
//! a lookup, even: outside), so the lookup path is a store, a fence, a load of the live
//! side, the lookup itself and a store: no lock, no atomic read-modify-write, no
//! allocation. Store, then load on the reader; store (the live side), then load (each
//! epoch) on the writer; with a sequentially consistent fence between each pair, either
//! the writer sees the reader's odd epoch (and waits for it to change) or the reader sees
//! the new live side. The reader's closing store (release) and the writer's load of it
//! (acquire) order the reader's reads before the writer's later writes to that copy.
//! On Linux the pair of fences is asymmetric (`membarrier`, see `barrier`): the reader's is
//! only a compiler fence, the writer's a system call per publish that fences every running
//! thread of the process.
//!
//! The price: twice the memory of one table (plus the log), and each change applied twice.

use std::cell::UnsafeCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::fib::Fib;
use super::prefix::{IpKey, Prefix, PrefixError};

/// One change to a [`SharedFib`], as logged between a copy and the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FibOp<A: IpKey> {
    /// Set the next hop of the prefix to the id ([`Fib::insert`]).
    Insert(Prefix<A>, u32),
    /// Remove the prefix ([`Fib::remove`]).
    Remove(Prefix<A>),
}

/// A reader's epoch: odd while it looks up. On a cache line of its own, so that readers'
/// stores do not contend.
#[repr(align(128))]
struct Epoch(AtomicU64);

/// The pair, shared by the writer and every reader.
struct Pair<A: IpKey> {
    sides: [UnsafeCell<Fib<A>>; 2],
    /// The side readers look up in (0 or 1).
    live: AtomicUsize,
    /// The epoch of every reader handle.
    readers: Mutex<Vec<Arc<Epoch>>>,
}

// SAFETY: a `Fib` is `Send + Sync` (plain owned vectors); the `UnsafeCell`s are reached only
// under the protocol of the module docs: readers take `&` to the live side only while their
// epoch is odd, and the writer (one `SharedFib`, `&mut self`) takes `&mut` to the other side
// only after every reader that could be in it has left (`SharedFib::sync`).
unsafe impl<A: IpKey> Sync for Pair<A> where Fib<A>: Send + Sync {}

/// A [`Fib`] that any number of threads look up in through [`FibReader`]s, without locks
/// and without waiting, while one writer changes it and publishes the changes in batches.
///
/// Changes ([`insert`](SharedFib::insert), [`remove`](SharedFib::remove),
/// [`apply`](SharedFib::apply)) are staged: readers see none of them until
/// [`publish`](SharedFib::publish), and then all of them at once. The writer's own view
/// ([`fib`](SharedFib::fib)) includes the staged changes. Two copies of the table are kept
/// (see the module docs of `lpm`): twice a [`Fib`]'s memory, each change applied twice.
///
/// ```
/// use netplumb::lpm::SharedFib;
/// use std::net::Ipv4Addr;
///
/// let mut fib: SharedFib<Ipv4Addr> = SharedFib::new();
/// let mut reader = fib.reader();
/// fib.insert("10.0.0.0/8".parse()?, 1)?;
/// assert_eq!(reader.lookup(Ipv4Addr::new(10, 1, 2, 3)), None); // staged, not published
/// fib.publish();
/// let t = std::thread::spawn(move || reader.lookup(Ipv4Addr::new(10, 1, 2, 3)));
/// assert_eq!(t.join().unwrap(), Some(1));
/// # Ok::<(), netplumb::lpm::PrefixError>(())
/// ```
pub struct SharedFib<A: IpKey> {
    pair: Arc<Pair<A>>,
    /// Changes made to the write side (`1 - live`) and not yet to the live one, oldest first.
    log: Vec<FibOp<A>>,
    /// Whether `log` is published: the live side has it, the write side not yet (readers
    /// may still be in it).
    behind: bool,
}

impl<A: IpKey> SharedFib<A> {
    /// An empty table.
    pub fn new() -> Self {
        Self::from(Fib::new())
    }

    /// A reader handle, for one thread at a time (it is `Send`; [`Clone`] it for another
    /// thread). Readers are registered here: a writer's publish looks at each of them.
    pub fn reader(&self) -> FibReader<A> {
        FibReader::register(&self.pair)
    }

    /// The side the writer changes.
    fn write_side(&self) -> usize {
        1 - self.pair.live.load(Ordering::Relaxed)
    }

    /// The table with every change made so far, published or not.
    pub fn fib(&self) -> &Fib<A> {
        let side = if self.behind {
            // The write side lacks the log; the live side has it.
            1 - self.write_side()
        } else {
            self.write_side()
        };
        // SAFETY: only this writer changes either side, and not while `&self` is borrowed;
        // readers only read. Shared reads of a side are sound.
        unsafe { &*self.pair.sides[side].get() }
    }

    /// Brings the write side up to date after a publish: waits until no reader is in it,
    /// then replays the log onto it. Returns it.
    fn sync(&mut self) -> &mut Fib<A> {
        let w = self.write_side();
        if self.behind {
            wait_for_readers(&self.pair);
            // SAFETY: every reader that loaded `live` before the last publish has left
            // (`wait_for_readers`); those after it read the other side. `&mut self` makes
            // this the only reference from the writer.
            let fib = unsafe { &mut *self.pair.sides[w].get() };
            for op in self.log.drain(..) {
                apply_one(fib, op);
            }
            self.behind = false;
            if self.log.capacity() > 1 << 16 {
                self.log.shrink_to(1 << 16);
            }
        }
        // SAFETY: as above: no reader is in the write side once it is synced (readers move to
        // it only at a publish, and a publish sets `behind`).
        unsafe { &mut *self.pair.sides[w].get() }
    }

    /// Stages: sets the next hop of `prefix` to `id`, returning the id it replaces (in the
    /// writer's view), as [`Fib::insert`] does.
    pub fn insert(&mut self, prefix: Prefix<A>, id: u32) -> Result<Option<u32>, PrefixError> {
        let old = self.sync().insert(prefix, id)?;
        self.log.push(FibOp::Insert(prefix, id));
        Ok(old)
    }

    /// Stages: removes `prefix`, returning its id (in the writer's view).
    pub fn remove(&mut self, prefix: &Prefix<A>) -> Option<u32> {
        let old = self.sync().remove(prefix);
        if old.is_some() {
            self.log.push(FibOp::Remove(*prefix));
        }
        old
    }

    /// Stages every change, in order, then publishes them (all at once). An id above
    /// [`Fib::MAX_ID`] is refused before anything changes.
    pub fn apply<I: IntoIterator<Item = FibOp<A>>>(&mut self, ops: I) -> Result<(), PrefixError> {
        let ops: Vec<FibOp<A>> = ops.into_iter().collect();
        for op in &ops {
            if let FibOp::Insert(_, id) = *op {
                if id > Fib::<A>::MAX_ID {
                    return Err(PrefixError::IdTooLarge {
                        id,
                        max: Fib::<A>::MAX_ID,
                    });
                }
            }
        }
        let fib = self.sync();
        for &op in &ops {
            apply_one(fib, op);
        }
        self.log.extend(ops);
        self.publish();
        Ok(())
    }

    /// Number of changes staged and not yet published.
    pub fn staged(&self) -> usize {
        if self.behind {
            0
        } else {
            self.log.len()
        }
    }

    /// Makes every staged change visible to readers, all at once: one store. Does not wait
    /// for readers (the next change does, for those still in the side it is made on).
    pub fn publish(&mut self) {
        if self.behind || self.log.is_empty() {
            return;
        }
        let w = self.write_side();
        // Release: a reader that loads `w` (acquire) sees the side as written.
        self.pair.live.store(w, Ordering::Release);
        self.behind = true;
    }

    /// Heap bytes: both copies and the log.
    pub fn memory_usage(&self) -> usize {
        let mut bytes = self.log.capacity() * std::mem::size_of::<FibOp<A>>();
        for side in &self.pair.sides {
            // SAFETY: shared read of a side; see `fib`.
            bytes += unsafe { &*side.get() }.memory_usage();
        }
        bytes
    }
}

/// The fence pair of the protocol. Where Linux's `membarrier` (private expedited) is there,
/// it is asymmetric: the writer's heavy side makes every running thread of the process
/// execute a full fence, so a reader's light side only has to keep the compiler from
/// reordering (as liburcu and folly do); a reader's `mfence` halves in-table lookup rates
/// (measured with `lpm_compare`: 21–25 against 42 M/s). Elsewhere (and under Miri) both
/// sides are a sequentially consistent fence.
mod barrier {
    use std::sync::atomic::{compiler_fence, fence, Ordering};

    #[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
    static ASYMMETRIC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

    /// Decides once, before the first reader exists, whether the asymmetric pair is used.
    pub(super) fn init() {
        #[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
        ASYMMETRIC.get_or_init(|| {
            const REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;
            // SAFETY: membarrier takes two ints and a flags word; registering has no effect
            // but allowing the private expedited command for this process.
            unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 }
        });
    }

    #[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
    fn asymmetric() -> bool {
        // Set by `init` (from `SharedFib::from`) before any reader exists; never changes.
        ASYMMETRIC.get().copied().unwrap_or(false)
    }

    #[cfg(not(all(target_os = "linux", feature = "libc", not(miri))))]
    fn asymmetric() -> bool {
        false
    }

    /// The reader's side.
    #[inline(always)]
    pub(super) fn light() {
        if asymmetric() {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The writer's side.
    pub(super) fn heavy() {
        fence(Ordering::SeqCst);
        #[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
        if asymmetric() {
            const PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
            // SAFETY: as in `init`; registered there, so the command does not fail.
            let r = unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0, 0) };
            if r != 0 {
                // Cannot happen once registered (the kernel documents no other error); the
                // readers skip their fence relying on it: stop rather than race.
                std::process::abort();
            }
        }
    }
}

/// Applies one logged change (ids were checked when it was first applied).
fn apply_one<A: IpKey>(fib: &mut Fib<A>, op: FibOp<A>) {
    match op {
        FibOp::Insert(p, id) => {
            let _ = fib.insert(p, id);
        }
        FibOp::Remove(p) => {
            fib.remove(&p);
        }
    }
}

/// Waits until every reader that may have loaded the old live side has left it: each
/// reader whose epoch is odd now is waited for until its epoch changes.
fn wait_for_readers<A: IpKey>(pair: &Pair<A>) {
    // Pairs with the fence in `FibReader::read`: the `live` store before it, the epoch
    // loads after it.
    barrier::heavy();
    let readers = pair.readers.lock().unwrap_or_else(PoisonError::into_inner);
    for r in readers.iter() {
        let e = r.0.load(Ordering::Acquire);
        if e & 1 == 0 {
            continue;
        }
        let mut spins = 0u32;
        while r.0.load(Ordering::Acquire) == e {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

impl<A: IpKey> Default for SharedFib<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: IpKey> From<Fib<A>> for SharedFib<A> {
    /// Shares `fib` (and a copy of it: the pair).
    fn from(fib: Fib<A>) -> Self {
        barrier::init();
        let copy = fib.clone();
        SharedFib {
            pair: Arc::new(Pair {
                sides: [UnsafeCell::new(fib), UnsafeCell::new(copy)],
                live: AtomicUsize::new(0),
                readers: Mutex::new(Vec::new()),
            }),
            log: Vec::new(),
            behind: false,
        }
    }
}

impl<A: IpKey> fmt::Debug for SharedFib<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedFib")
            .field("len", &self.fib().len())
            .field("staged", &self.staged())
            .finish()
    }
}

/// A reader of a [`SharedFib`]: looks up in the published table without locks, atomic
/// read-modify-writes or allocation, and never waits for the writer. One per thread
/// ([`Clone`] makes another); lookups take `&mut self` because a reader announces one read
/// at a time.
pub struct FibReader<A: IpKey> {
    pair: Arc<Pair<A>>,
    epoch: Arc<Epoch>,
    /// The epoch's value: only this reader stores to it, so it never loads it.
    at: u64,
}

impl<A: IpKey> FibReader<A> {
    fn register(pair: &Arc<Pair<A>>) -> Self {
        let epoch = Arc::new(Epoch(AtomicU64::new(0)));
        pair.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(epoch.clone());
        FibReader {
            pair: pair.clone(),
            epoch,
            at: 0,
        }
    }

    /// The published table, held until the guard is dropped: many lookups for one
    /// announcement, and all of them from one published state. The writer's next change
    /// after a publish waits for the guard: keep it short.
    #[inline]
    pub fn read(&mut self) -> FibGuard<'_, A> {
        self.at += 1;
        self.epoch.0.store(self.at, Ordering::Relaxed);
        // Pairs with the fence in `wait_for_readers`: the epoch store before it, the `live`
        // load after it.
        barrier::light();
        let side = self.pair.live.load(Ordering::Acquire);
        // SAFETY: our epoch is odd from before this load until the guard drops; the writer
        // changes a side only after every reader with an odd epoch at its publish has moved
        // on (module docs), and never changes the live side. `& 1` keeps the index in range.
        let fib = unsafe { &*self.pair.sides[side & 1].get() };
        self.at += 1;
        FibGuard {
            fib,
            epoch: &self.epoch,
            at: self.at,
        }
    }

    /// The next-hop id of the longest published prefix containing `addr` ([`Fib::lookup`]).
    #[inline]
    pub fn lookup(&mut self, addr: A) -> Option<u32> {
        self.read().lookup(addr)
    }

    /// [`Fib::lookup_batch`] on the published table: every answer from one published state.
    ///
    /// # Panics
    /// If `out` is shorter than `addrs`.
    pub fn lookup_batch(&mut self, addrs: &[A], out: &mut [Option<u32>]) {
        self.read().lookup_batch(addrs, out)
    }
}

impl<A: IpKey> Clone for FibReader<A> {
    /// Another reader of the same table (registered with it).
    fn clone(&self) -> Self {
        Self::register(&self.pair)
    }
}

impl<A: IpKey> Drop for FibReader<A> {
    fn drop(&mut self) {
        let mut readers = self
            .pair
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        readers.retain(|e| !Arc::ptr_eq(e, &self.epoch));
    }
}

impl<A: IpKey> fmt::Debug for FibReader<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FibReader")
            .field("reads", &(self.at / 2))
            .finish()
    }
}

/// The published table of a [`FibReader`], from [`FibReader::read`]; dereferences to the
/// [`Fib`]. Dropping it ends the read.
pub struct FibGuard<'r, A: IpKey> {
    fib: &'r Fib<A>,
    epoch: &'r Epoch,
    at: u64,
}

impl<A: IpKey> std::ops::Deref for FibGuard<'_, A> {
    type Target = Fib<A>;
    #[inline]
    fn deref(&self) -> &Fib<A> {
        self.fib
    }
}

impl<A: IpKey> Drop for FibGuard<'_, A> {
    #[inline]
    fn drop(&mut self) {
        // Release: our reads of the side happen before the writer's next change to it.
        self.epoch.0.store(self.at, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn p(s: &str) -> Prefix<Ipv4Addr> {
        s.parse().unwrap()
    }

    #[test]
    fn staged_until_published() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let mut r = w.reader();
        let a = Ipv4Addr::new(10, 1, 2, 3);
        assert_eq!(w.insert(p("10.0.0.0/8"), 1).unwrap(), None);
        assert_eq!(w.staged(), 1);
        assert_eq!(r.lookup(a), None);
        assert_eq!(w.fib().lookup(a), Some(1));
        w.publish();
        assert_eq!(r.lookup(a), Some(1));
        assert_eq!(w.insert(p("10.1.0.0/16"), 2).unwrap(), None);
        assert_eq!(w.insert(p("10.0.0.0/8"), 3).unwrap(), Some(1));
        assert_eq!(r.lookup(a), Some(1));
        w.publish();
        assert_eq!(r.lookup(a), Some(2));
        assert_eq!(w.remove(&p("10.1.0.0/16")), Some(2));
        assert_eq!(w.remove(&p("10.1.0.0/16")), None);
        w.publish();
        assert_eq!(r.lookup(a), Some(3));
        let mut r2 = r.clone();
        assert_eq!(r2.lookup(a), Some(3));
        drop(r);
        // Both sides converge: every change reaches the other copy too.
        w.apply([FibOp::Remove(p("10.0.0.0/8"))]).unwrap();
        assert_eq!(r2.lookup(a), None);
        w.insert(p("192.0.2.0/24"), 4).unwrap();
        w.publish();
        w.sync(); // the side left behind catches up
        let sides: Vec<Vec<_>> = w
            .pair
            .sides
            .iter()
            .map(|s| unsafe { &*s.get() }.iter().collect())
            .collect();
        assert_eq!(sides[0], sides[1]);
        assert!(w.apply([FibOp::Insert(p("10.0.0.0/8"), u32::MAX)]).is_err());
        assert_eq!(w.fib().len(), 1);
    }

    #[test]
    fn readers_on_threads() {
        // Small enough for Miri: two readers and the writer, a few publishes.
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let a = Ipv4Addr::new(10, 1, 2, 3);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let mut r = w.reader();
                std::thread::spawn(move || {
                    let mut last = 0;
                    for _ in 0..20 {
                        // Ids only grow: a reader never sees an older state after a newer.
                        let id = r.lookup(a).unwrap_or(0);
                        assert!(id >= last, "{id} after {last}");
                        last = id;
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        for id in 1..8 {
            w.insert(p("10.0.0.0/8"), id).unwrap();
            w.insert(p("10.1.0.0/16"), id).unwrap();
            w.publish();
        }
        for h in handles {
            h.join().unwrap();
        }
    }
}
