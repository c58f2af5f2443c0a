//! [`SharedFib`]: a [`Fib`] that reader threads look up in while one writer changes it.
//!
//! The writer keeps one private [`Fib`] and changes it in place, as a lone one. Readers look
//! up in a *published* copy of its lookup structure: a first level (2^18 words) whose words
//! name blocks of an arena, blocks that are never written while a published word names them
//! (the crate's `lpm::trie::export`). Two first levels take turns: readers look up in the
//! live one, the writer brings the other up to date. [`SharedFib::publish`] copies into new
//! arena blocks each first-level region that a change since the last publish covers (a prefix
//! of 18 bits or more covers one region; a shorter one `2^(18 - len)`), writes their words
//! into the other level and makes it live with one atomic store: every change since the last
//! publish becomes visible at once. The blocks the new words replace, and the old level's
//! words, are dealt with once no reader can still be in the level left behind: its words are
//! then brought up to date (only those the last publish changed) and the replaced blocks go
//! back to the arena's free lists. The writer never waits for that: it checks again at each
//! change, and a publish that comes before the readers have left is deferred to a later one
//! (both batches then become visible at once). Nothing is freed while a reader can see it:
//! the arena's buffers never move (an arena that runs out is replaced by a larger one, the
//! old one kept until no reader can be in it), and arenas are freed when the writer and the
//! last reader handle are gone.
//!
//! Each publish has a number (from 1, never reused), and the live level a *tag*: that number
//! shifted left by one, stored beside the pointer to the live level's view (both on a line of
//! their own), after it. A reader has one word, which only it writes. A lookup loads the tag,
//! stores it in the word with bit 0 set (in a lookup), fences (see below), loads the live
//! view, looks up, and stores the tag again with bit 0 clear: two stores to the reader's own
//! line and two loads of one shared line, with no lock, no atomic read-modify-write and no
//! allocation. The reader handle itself is never written, so a loop of lookups keeps its
//! pointers in registers.
//!
//! A reader whose word names tag `t` (bit 0 set or not) loaded `t`, then the live pointer:
//! since the writer stores the tag after the pointer, that read is in publish `t`'s level or
//! a later one, and so are all its later reads. The writer knows a reader is out of the level
//! left behind in one of two ways:
//! - **Shown** (no fence): the reader's word names the last publish's tag. Its earlier reads
//!   (of the old level) happened before that store (release, read by the writer with
//!   acquire). A reader that keeps looking up shows it within a lookup or two, so while
//!   readers are busy the writer needs no fence at all. Tags are never reused, so a word left
//!   from an older publish of the same level cannot pass for this one.
//! - **Epoch** (a reader idle, or descheduled, shows nothing): after a heavy fence, store (the
//!   tag), then load (each word) on the writer against store (the word, bit 0 set), then load
//!   (the tag, then the live view) on the reader, with a sequentially consistent fence
//!   between each pair: either the writer sees the reader's word with bit 0 set (and waits
//!   for the word to change: the next store clears bit 0) or the reader sees the new tag, and
//!   so the new live level.
//!
//! On Linux the pair of fences is asymmetric (`membarrier`, see `barrier`): the reader's is
//! only a compiler fence, the writer's a system call that fences every running thread of the
//! process. The writer makes it only when a reader has not shown the live level after
//! [`PATIENCE`] looks (one per change staged) or at once when it must (a publish). A busy
//! reader is thus never interrupted (measured: the call took 18–57 µs per publish with the
//! reader's core busy, and 0.3 µs with it idle), and an idle one costs a cheap call. Should
//! that call ever fail after it worked once, the readers switch to full fences (see
//! [`Pair::degraded`]: the writer sets [`CONFIRMED`] in the tag, and a reader fences fully
//! whenever the tag it loaded has it); nothing aborts.
//!
//! Why this form, measured (2026-12-07, an Intel Xeon VM with 2 MiB of L2 per core, the full
//! IPv4 table and its RIS update stream, a publish every 1,024 changes; the harness in
//! `lpm::trie::export`, and `lpm_compare`'s `netplumb/shared` lines): the type was first a
//! left-right pair, two whole `Fib`s, readers in one, the writer replaying each batch into
//! the other. Readers switching between two whole tables at each publish refilled their
//! caches from the other copy (a single thread switching between two copies of the table
//! every 65,536 lookups, with no writer at all, lost 31-34% of its lookups), and each change
//! was made twice. A batch of 1,024 updates changes 267-285 of the 102,000 64-byte lines
//! that lookups read, so both versions sharing what a batch leaves alone keeps the reader's
//! cache: in the harness (its own reader loop), a reader while the writer replays made
//! 0.83-0.95x a lone `Fib`'s lookups where the pair made 0.60-0.69x in the same rounds, and
//! the writer 0.55-0.61x a lone `Fib`'s replay where the pair's made 0.37-0.42x. Memory: the
//! private `Fib` and about as much again (the arena, the two levels): 2.1x a lone `Fib`,
//! where the pair took 2.01x.
//!
//! `lpm_compare --keys 10000000`, three runs (2026-12-07, 05:43-05:46 UTC; reader on core 0,
//! writer on core 1, in-table keys one at a time): the reader while the writer replays
//! 0.65-0.68x a lone `Fib`'s lookups and 0.76-0.82x the same reader's with no writer (the
//! pair: 0.49-0.62x and 0.79-0.91x), the writer 0.49-0.51x a lone `Fib`'s update rate (the
//! pair: 0.45-0.47x against a lone `Fib` timed less strictly; the lone rate is now the median
//! of six warm passes), two readers 2.07-2.15x one, heap 2.11x. A reader alone makes
//! 0.82-0.85x a lone `Fib`: what it loses is the announcement of each lookup (two stores, the
//! loads of the tag and the view, the view's fields loaded at every lookup where a lone
//! `Fib`'s loop keeps them in registers). With the writer busy it loses a fifth more: the
//! writer's copying shares the memory system (the reader's rate then is about the same as
//! before lookups picked their population count once, which made the reader alone a fifth
//! faster). In bursts of 32 (one announcement per burst) the reader while the writer replays
//! made 0.89-0.94x a lone `Fib`'s `lookup_batch`.
//!
//! The writer asks for the lines of the regions it copies 8 and 16 regions before it copies
//! them, and reads the sizes of the blocks it retires only when it
//! frees them, all at once: each was a cache miss in the middle of the copying (measured,
//! `lpm_compare --only netplumb/fib,netplumb/shared`, three runs alternated: 19.4-21.1
//! against 17.9-18.9 M updates/s).
//!
//! IPv6 pays more for its copies: a changed region there holds a second-level block of 4,096
//! words (each level has its own copy of each block, brought up to date word by word), and
//! its changes reach deeper into nodes, so the writer alone made 0.46-0.47x a lone `Fib`'s
//! replay of the IPv6 update stream, where the left-right pair's made 0.55x (a throwaway
//! bench, 5 rounds alternated, medians); memory 2.09x a lone `Fib`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::fib::{Fib, BATCH};
use super::prefix::{IpKey, Prefix, PrefixError};
use super::trie::export::{Exporter, View};

/// One change to a [`SharedFib`], for [`SharedFib::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FibOp<A: IpKey> {
    /// Set the next hop of the prefix to the id ([`Fib::insert`]).
    Insert(Prefix<A>, u32),
    /// Remove the prefix ([`Fib::remove`]).
    Remove(Prefix<A>),
}

/// A reader's announcement word, on 128 bytes of its own (two cache lines: the adjacent-line
/// prefetcher of x86 fetches pairs), so that readers' stores do not contend.
#[repr(align(128))]
struct Epoch {
    /// Only its reader stores to it: the [`Hot::tag`] it loaded last, bit 0 set while it
    /// looks up (0: no read yet).
    word: AtomicU64,
}

/// In [`Hot::tag`] (so in the word of every reader that loaded it): readers fence fully
/// (`membarrier` is not used, or failed).
const CONFIRMED: u64 = 1 << 63;

/// What every lookup reads, on 128 bytes of their own: the writer changes them once per
/// publish, and nothing else shares their lines.
#[repr(C, align(128))]
struct Hot {
    /// The view of the level readers look up in.
    live: AtomicPtr<View>,
    /// The number of the publish that made `live` live, shifted left by one, with
    /// [`CONFIRMED`] when readers must fence fully. Stored after `live`, so a reader that
    /// loads a tag (acquire) and then `live` gets that publish's level or a later one.
    /// Publishes are numbered from 1 and never wrap: no word names a publish but by a
    /// reader that loaded its tag.
    tag: AtomicU64,
}

/// What the writer and every reader share.
#[repr(C)]
struct Pair<A: IpKey> {
    /// The live view and its tag.
    hot: Hot,
    /// Set (once, never cleared) when `membarrier` failed after it had worked: from then on
    /// readers fence fully (the writer sets [`CONFIRMED`] in the tag).
    degraded: AtomicBool,
    /// Whether readers may use a compiler fence only (`membarrier` registered and working
    /// when the pair was made). Never changes.
    asymmetric: bool,
    /// The word of every reader handle.
    readers: Mutex<Vec<Arc<Epoch>>>,
    /// Every exporter made (one, more only after a `membarrier` failure: see
    /// `SharedFib::abandon`): the levels and arenas readers look up in. Freed with the pair.
    exporters: Mutex<Vec<*mut Exporter<A::Key>>>,
    /// Tests: the next heavy barrier reports a failure.
    #[cfg(test)]
    fail_barrier: AtomicBool,
}

// SAFETY: an `Exporter` is `Send` (owned buffers; its views only addresses into them). The
// exporters behind the pointers are reached only under the protocol of the module docs:
// readers read through the live view only while bit 0 of their word is set, and the writer
// (one `SharedFib`, `&mut self`) writes a level and the blocks only it names only after every
// reader that could be in it has left (`SharedFib::try_sync`). `exporters` is only touched
// under its lock and in `drop`.
unsafe impl<A: IpKey> Sync for Pair<A> where Fib<A>: Send + Sync {}
// SAFETY: as above; the pointers own their exporters (boxes) and move with the pair.
unsafe impl<A: IpKey> Send for Pair<A> where Fib<A>: Send + Sync {}

impl<A: IpKey> Drop for Pair<A> {
    fn drop(&mut self) {
        let exporters = self
            .exporters
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for &e in exporters.iter() {
            // SAFETY: each pointer came from `Box::into_raw` once (`Pair::adopt`), and the pair
            // is dropped when no writer nor reader is left: nothing refers to the exporter.
            drop(unsafe { Box::from_raw(e) });
        }
    }
}

impl<A: IpKey> Pair<A> {
    /// Takes ownership of an exporter; returns its address.
    fn adopt(&self, e: Exporter<A::Key>) -> *mut Exporter<A::Key> {
        let p = Box::into_raw(Box::new(e));
        self.exporters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(p);
        p
    }

    /// The writer's heavy fence; `false` if `membarrier` failed (a full fence was still made).
    fn heavy(&self) -> bool {
        #[cfg(test)]
        if self.fail_barrier.swap(false, Ordering::SeqCst) {
            fence(Ordering::SeqCst);
            return false;
        }
        if self.asymmetric && !self.degraded.load(Ordering::Relaxed) {
            barrier::heavy()
        } else {
            fence(Ordering::SeqCst);
            true
        }
    }
}

/// A [`Fib`] that any number of threads look up in through [`FibReader`]s, without locks
/// and without waiting, while one writer changes it and publishes the changes in batches.
///
/// Changes ([`insert`](SharedFib::insert), [`remove`](SharedFib::remove),
/// [`apply`](SharedFib::apply)) are staged: readers see none of them until
/// [`publish`](SharedFib::publish), and then all of them at once. The writer never waits
/// for a reader (a reader descheduled in the middle of a lookup delays nothing but the
/// reuse of the level it is in): a publish that comes while a reader is still in the level
/// left behind by the previous one is deferred, and returns `false`. The writer's own table
/// ([`fib`](SharedFib::fib)) has every change at once; readers look up in a published copy
/// of its lookup structure that shares every part a publish leaves unchanged (module docs):
/// about twice a [`Fib`]'s memory.
///
/// ```
/// use netplumb::lpm::SharedFib;
/// use std::net::Ipv4Addr;
///
/// let mut fib: SharedFib<Ipv4Addr> = SharedFib::new();
/// let mut reader = fib.reader();
/// fib.insert("10.0.0.0/8".parse()?, 1)?;
/// assert_eq!(reader.lookup(Ipv4Addr::new(10, 1, 2, 3)), None); // staged, not published
/// assert!(fib.publish()); // no reader was in the other level: visible now
/// let t = std::thread::spawn(move || reader.lookup(Ipv4Addr::new(10, 1, 2, 3)));
/// assert_eq!(t.join().unwrap(), Some(1));
/// # Ok::<(), netplumb::lpm::PrefixError>(())
/// ```
pub struct SharedFib<A: IpKey> {
    pair: Arc<Pair<A>>,
    /// The writer's table: every change, published or not.
    fib: Fib<A>,
    /// The exporter in use (owned by `pair`): only this writer touches it, and readers
    /// only the level its live view names.
    exp: *mut Exporter<A::Key>,
    /// The number of the last publish (1: the table the pair was made with).
    gen: u64,
    /// Changes staged since the last publish.
    staged: usize,
    /// Prefixes in the published table.
    published_len: usize,
    /// Whether the writer's level is up to date (no reader left in it).
    synced: bool,
    /// Until synced: the readers that may still be in the writer's level. `None`: not looked
    /// at since the publish.
    waiting: Option<Waiting>,
    /// When [`publish_if_older`](SharedFib::publish_if_older) first saw the changes staged
    /// now; `None` when nothing is staged or it has not looked since.
    pending_since: Option<Instant>,
}

/// The readers that may still be in the level the last publish left behind.
struct Waiting {
    /// Each reader, with (once `fenced`) its word after the heavy fence, bit 0 set: it may be
    /// in the level until that word changes. A reader leaves the list when its word shows the
    /// live level's tag.
    readers: Vec<(Arc<Epoch>, u64)>,
    /// Whether the heavy fence was made and the words taken.
    fenced: bool,
    /// Looks (`try_sync` calls) before the heavy fence.
    looks: u32,
}

/// How many times the writer looks for busy readers to show the live level (each lookup
/// they finish does) before it resorts to the heavy fence, which idle readers need.
const PATIENCE: u32 = 16;

// SAFETY: the raw pointer is the writer's own access to an exporter owned by `pair` (which is
// `Send + Sync`); a `SharedFib` is one writer wherever it runs.
unsafe impl<A: IpKey> Send for SharedFib<A> where Fib<A>: Send + Sync {}
// SAFETY: `&SharedFib` only reads: `published` reads the live level (never changed while
// live), `memory_usage` the exporters' sizes, the rest the writer's own fields.
unsafe impl<A: IpKey> Sync for SharedFib<A> where Fib<A>: Send + Sync {}

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

    /// The published table (what readers look up in now).
    pub fn published(&self) -> FibView<'_, A> {
        // SAFETY: the live level is never changed while live, nor are the blocks it names,
        // and only this writer could make it not live (`&mut self`), which it cannot while
        // `&self` is borrowed. The pointer is the writer's own last store, never null.
        FibView::new(unsafe { &*self.pair.hot.live.load(Ordering::Relaxed) })
    }

    /// The table with every change made so far, published or not.
    pub fn fib(&self) -> &Fib<A> {
        &self.fib
    }

    /// The exporter in use.
    fn exporter(&mut self) -> &mut Exporter<A::Key> {
        // SAFETY: owned by the pair for as long as `self` lives; only this writer makes
        // references to it (readers read the levels and blocks through raw pointers only,
        // and only those no write below reaches while they can be there).
        unsafe { &mut *self.exp }
    }

    /// Brings the writer's level up to date if no reader can still be in it. Never waits;
    /// `urgent` (a publish) skips the patience for readers to show the publish and makes the
    /// heavy fence at once.
    ///
    /// A reader has left the level once its word shows the last publish's tag (in a read or
    /// not): it loaded that tag, then `live`, so its read is in the live level (or a later
    /// one) and so are its later ones, and its earlier reads (of the other) happened before
    /// that store (release). No fence is needed for that, and readers that keep looking up
    /// show it within a lookup. A reader that does not (idle, or descheduled) is looked at
    /// the older way: after the heavy fence, one whose word is even (not in a read), or has
    /// changed since, is out (module docs). Tags are never reused, so an old word cannot
    /// pass for a later publish's.
    fn try_sync(&mut self, urgent: bool) -> bool {
        if self.synced {
            return true;
        }
        let target = self.gen << 1;
        let w = self.waiting.get_or_insert_with(|| {
            let readers = self
                .pair
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Waiting {
                readers: readers.iter().map(|r| (r.clone(), 0)).collect(),
                fenced: false,
                looks: 0,
            }
        });
        // Acquire: a reader's reads of the level happen before our writes below.
        let fenced = w.fenced;
        w.readers.retain(|(r, e)| {
            let now = r.word.load(Ordering::Acquire);
            now & !(CONFIRMED | 1) != target && !(fenced && now != *e)
        });
        if !w.readers.is_empty() {
            if w.fenced {
                return false;
            }
            w.looks += 1;
            if w.looks < PATIENCE && !urgent {
                return false;
            }
            // Pairs with the reader's fence: the stores of the publish before it, the word
            // loads below after it.
            let ok = self.pair.heavy();
            if !ok && !self.pair.degraded.swap(true, Ordering::SeqCst) {
                // `membarrier` failed: readers now fence fully, from their next lookup on.
                self.pair.hot.tag.fetch_or(CONFIRMED, Ordering::SeqCst);
                fence(Ordering::SeqCst);
            }
            let degraded = self.pair.degraded.load(Ordering::Relaxed);
            let trusted = ok
                && (!degraded
                    || w.readers
                        .iter()
                        .all(|(r, _)| r.word.load(Ordering::Acquire) & CONFIRMED != 0));
            if !trusted {
                self.abandon();
                return true;
            }
            w.fenced = true;
            w.readers.retain_mut(|(r, e)| {
                *e = r.word.load(Ordering::Acquire);
                *e & 1 == 1 && *e & !(CONFIRMED | 1) != target
            });
            if !w.readers.is_empty() {
                return false;
            }
        }
        // Every reader that could have loaded the writer's level while it was live has left
        // it (above), and readers load only `live`.
        self.exporter().catch_up();
        self.waiting = None;
        self.synced = true;
        true
    }

    /// After a `membarrier` failure: a reader may have skipped its fence for a lookup in the
    /// level left behind that the epochs do not show, so the exporter in use is never
    /// touched again (it is freed with the pair), and the writer goes on with a new one: an
    /// export of its whole table (both levels; the changes staged since the publish are in
    /// it, published with the next publish).
    #[cold]
    fn abandon(&mut self) {
        self.exp = self.pair.adopt(Exporter::new(self.fib.trie()));
        self.waiting = None;
        self.synced = true;
    }

    /// Stages one change (its id checked); returns the id it replaces.
    fn stage(&mut self, prefix: Prefix<A>, id: Option<u32>) -> Option<u32> {
        let old = match id {
            Some(id) => self.fib.insert(prefix, id).unwrap_or(None),
            None => self.fib.remove(&prefix),
        };
        if old != id {
            self.exporter().mark(prefix.key(), prefix.len() as u32);
            self.staged += 1;
        }
        if !self.synced {
            self.try_sync(false);
        }
        old
    }

    /// Stages: sets the next hop of `prefix` to `id`, returning the id it replaces (in the
    /// writer's table), as [`Fib::insert`] does. An id above [`Fib::MAX_ID`] is refused.
    pub fn insert(&mut self, prefix: Prefix<A>, id: u32) -> Result<Option<u32>, PrefixError> {
        check_id::<A>(id)?;
        Ok(self.stage(prefix, Some(id)))
    }

    /// Stages: removes `prefix`, returning its id (in the writer's table).
    pub fn remove(&mut self, prefix: &Prefix<A>) -> Option<u32> {
        self.stage(*prefix, None)
    }

    /// Stages every change, in order, then [`publish`](Self::publish)es (returning what it
    /// returns). An id above [`Fib::MAX_ID`] is refused before anything changes.
    pub fn apply<I: IntoIterator<Item = FibOp<A>>>(&mut self, ops: I) -> Result<bool, PrefixError> {
        let ops: Vec<FibOp<A>> = ops.into_iter().collect();
        for op in &ops {
            if let FibOp::Insert(_, id) = *op {
                check_id::<A>(id)?;
            }
        }
        for op in ops {
            match op {
                FibOp::Insert(p, id) => self.stage(p, Some(id)),
                FibOp::Remove(p) => self.stage(p, None),
            };
        }
        Ok(self.publish())
    }

    /// Number of changes staged and not yet published (an insert of the id a prefix has is
    /// no change).
    pub fn staged(&self) -> usize {
        self.staged
    }

    /// Makes every staged change visible to readers, all at once (one store), and returns
    /// `true`; or, if a reader is still in the level the last publish left behind (a reader
    /// descheduled in the middle of a lookup), changes nothing and returns `false`: the
    /// changes stay staged, for a later publish. Never waits.
    pub fn publish(&mut self) -> bool {
        if self.staged == 0 {
            return true;
        }
        if !self.try_sync(true) {
            return false;
        }
        // SAFETY: as in `exporter` (a field borrow beside `self.fib`).
        let exp = unsafe { &mut *self.exp };
        let level = exp.export(self.fib.trie());
        let view = exp.view(level) as *mut View;
        self.gen += 1;
        // Release: a reader that loads the pointer (acquire) sees the level and the blocks as
        // written; one that loads the tag (acquire) sees the pointer too, so the tag comes
        // second.
        let hot = &self.pair.hot;
        hot.live.store(view, Ordering::Release);
        let full = hot.tag.load(Ordering::Relaxed) & CONFIRMED;
        hot.tag.store(full | self.gen << 1, Ordering::Release);
        self.staged = 0;
        self.published_len = self.fib.len();
        self.synced = false;
        self.waiting = None;
        self.pending_since = None;
        true
    }

    /// [`publish`](Self::publish)es once the staged changes have waited `max_age`, counted
    /// from the first call that saw them staged; returns `true` when nothing is left staged
    /// (published now, or nothing was), `false` when the changes stay staged (younger than
    /// `max_age`, or the publish was deferred: the next call tries again).
    ///
    /// For a writer that stages changes as they come and calls this after each one (or each
    /// few dozen: it reads the clock): readers see a change at most about `max_age` after it
    /// was staged, and however fast changes come, the writer publishes at most once per
    /// `max_age`. Each publish costs the writer a copy of every first-level region changed
    /// since the last one, so fewer, larger publishes cost it less (a region changed many
    /// times between two publishes is copied once).
    pub fn publish_if_older(&mut self, max_age: Duration) -> bool {
        if self.staged == 0 {
            self.pending_since = None;
            return true;
        }
        let now = Instant::now();
        let since = *self.pending_since.get_or_insert(now);
        now.duration_since(since) >= max_age && self.publish()
    }

    /// Heap bytes: the writer's table, and the levels and arenas readers look up in.
    pub fn memory_usage(&self) -> usize {
        let exporters = self
            .pair
            .exporters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // SAFETY: a shared read of the exporters' sizes: the writer changes them only under
        // `&mut self`.
        self.fib.memory_usage()
            + exporters
                .iter()
                .map(|&e| unsafe { &*e }.bytes())
                .sum::<usize>()
    }
}

/// The id check of [`Fib::insert`], made before anything is staged.
fn check_id<A: IpKey>(id: u32) -> Result<(), PrefixError> {
    if id > Fib::<A>::MAX_ID {
        return Err(PrefixError::IdTooLarge {
            id,
            max: Fib::<A>::MAX_ID,
        });
    }
    Ok(())
}

/// Whether the asymmetric fence pair can be used, and the writer's side of it. Where Linux's
/// `membarrier` (private expedited) works, the writer's heavy side makes every running
/// thread of the process execute a full fence, so a reader's light side only has to keep
/// the compiler from reordering (as liburcu and folly do); a reader's `mfence` halves
/// in-table lookup rates (measured with `lpm_compare`). Elsewhere (and under Miri) both
/// sides are a sequentially consistent fence.
mod barrier {
    #[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
    const PRIVATE_EXPEDITED: libc::c_int = 1 << 3;

    /// Registers the process for the private expedited command and tries it once: whether
    /// readers may skip their fence. Decided before any reader of the pair exists.
    pub(super) fn available() -> bool {
        #[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
        {
            const REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;
            static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
            *WORKS.get_or_init(|| {
                // SAFETY: membarrier takes two ints and a flags word; registering has no
                // effect but allowing the private expedited command for this process, and
                // the command only fences the process's running threads.
                unsafe {
                    libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
                        && libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0, 0) == 0
                }
            })
        }
        #[cfg(not(all(target_os = "linux", feature = "libc", not(miri))))]
        false
    }

    /// The writer's side: a full fence here and on every running thread of the process;
    /// `false` if the system call failed (the kernel documents no failure once registered
    /// and tried; the caller then falls back to full fences).
    pub(super) fn heavy() -> bool {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        #[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
        {
            // SAFETY: as in `available`.
            unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0, 0) == 0 }
        }
        #[cfg(not(all(target_os = "linux", feature = "libc", not(miri))))]
        false
    }
}

impl<A: IpKey> Default for SharedFib<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: IpKey> From<Fib<A>> for SharedFib<A> {
    /// Shares `fib`: readers look up in an export of its lookup structure (about as much
    /// memory again).
    fn from(fib: Fib<A>) -> Self {
        let asymmetric = barrier::available();
        let full = if asymmetric { 0 } else { CONFIRMED };
        let pair = Arc::new(Pair {
            hot: Hot {
                live: AtomicPtr::new(std::ptr::null_mut()),
                tag: AtomicU64::new(full | 1 << 1),
            },
            degraded: AtomicBool::new(false),
            asymmetric,
            readers: Mutex::new(Vec::new()),
            exporters: Mutex::new(Vec::new()),
            #[cfg(test)]
            fail_barrier: AtomicBool::new(false),
        });
        let exporter = if fib.is_empty() {
            Exporter::empty()
        } else {
            Exporter::new(fib.trie())
        };
        let exp = pair.adopt(exporter);
        // SAFETY: just adopted; no reader exists yet.
        let view = unsafe { &*exp }.view(unsafe { &*exp }.live()) as *mut View;
        // No reader exists yet; the `Arc` hands the pair to readers with release/acquire.
        pair.hot.live.store(view, Ordering::Release);
        SharedFib {
            pair,
            published_len: fib.len(),
            fib,
            exp,
            gen: 1,
            staged: 0,
            synced: true,
            waiting: None,
            pending_since: None,
        }
    }
}

impl<A: IpKey> fmt::Debug for SharedFib<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedFib")
            .field("published", &self.published_len)
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
}

impl<A: IpKey> FibReader<A> {
    fn register(pair: &Arc<Pair<A>>) -> Self {
        let mut readers = pair.readers.lock().unwrap_or_else(PoisonError::into_inner);
        let epoch = Arc::new(Epoch {
            word: AtomicU64::new(0),
        });
        readers.push(epoch.clone());
        drop(readers);
        FibReader {
            pair: pair.clone(),
            epoch,
        }
    }

    /// Announces a read (the tag, with bit 0 set) and returns the tag and the live view. The
    /// reader itself keeps no state: the lookup path writes only its word, so the compiler
    /// can keep the handle's pointers in registers across a loop of lookups.
    #[inline(always)]
    fn enter(&self) -> (u64, &View) {
        let hot = &self.pair.hot;
        let tag = hot.tag.load(Ordering::Acquire);
        // Release: the reads of the lookups before happen before the writer's next change to
        // their level, once it loads this word.
        self.epoch.word.store(tag | 1, Ordering::Release);
        // Pairs with the writer's heavy fence (`SharedFib::try_sync`): the word's store
        // before it, the `live` load after it.
        if tag & CONFIRMED != 0 {
            fence(Ordering::SeqCst);
        } else {
            compiler_fence(Ordering::SeqCst);
        }
        let view = hot.live.load(Ordering::Acquire);
        // SAFETY: the writer changes a level left behind (its view, its words, the blocks
        // only it names) only once this reader is out of it: its word showed the new live
        // level's tag (its later reads load `live` after that tag, and get that level or a
        // later one), or, after the heavy fence, its word was even or changed (bit 0 is set
        // from before this load until the read ends; module docs). It never changes the live
        // level, and frees exporters only with the pair (which this reader keeps alive). The
        // pointer is never null after construction.
        (tag, unsafe { &*view })
    }

    /// Ends a read: the tag loaded by `enter`, bit 0 clear. Release: the read happens before
    /// the writer's next change to the level.
    #[inline(always)]
    fn leave(epoch: &Epoch, tag: u64) {
        epoch.word.store(tag, Ordering::Release);
    }

    /// The published table, held until the guard is dropped: many lookups for one
    /// announcement, and all of them from one published state. While a guard lives, the
    /// writer cannot reuse the level it reads once a publish has left it behind (its later
    /// publishes are deferred): keep it short.
    #[inline]
    pub fn read(&mut self) -> FibGuard<'_, A> {
        let (tag, view) = self.enter();
        FibGuard {
            view: FibView::new(view),
            epoch: &self.epoch,
            tag,
        }
    }

    /// The next-hop id of the longest published prefix containing `addr` ([`Fib::lookup`]).
    ///
    /// Each call announces its read to the writer (two stores). A thread with many addresses
    /// at hand looks them up in bursts ([`lookup_batch`](Self::lookup_batch), or
    /// [`read`](Self::read) and the guard's lookups), one announcement per burst.
    #[inline]
    pub fn lookup(&mut self, addr: A) -> Option<u32> {
        let (tag, view) = self.enter();
        // SAFETY: announced (`enter`) until `leave`: nothing the view reaches is written.
        let leaf = unsafe { view.find(addr.to_key()) };
        Self::leave(&self.epoch, tag);
        Fib::<A>::leaf_id(leaf)
    }

    /// The longest published prefix containing `addr` and its next-hop id
    /// ([`Fib::longest_match`]).
    #[inline]
    pub fn longest_match(&mut self, addr: A) -> Option<(Prefix<A>, u32)> {
        self.read().longest_match(addr)
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
        let word = self.epoch.word.load(Ordering::Relaxed);
        f.debug_struct("FibReader")
            .field("last_publish_read", &((word & !CONFIRMED) >> 1))
            .field("full_fences", &(word & CONFIRMED != 0))
            .finish()
    }
}

/// One published state of a [`SharedFib`]'s table, for lookups: from
/// [`SharedFib::published`], or through a [`FibGuard`]. It answers as the writer's [`Fib`]
/// did when it was published.
pub struct FibView<'a, A: IpKey> {
    view: &'a View,
    family: PhantomData<fn() -> A>,
}

impl<'a, A: IpKey> FibView<'a, A> {
    /// A view whose level and blocks stay unwritten for `'a` (the callers' contracts).
    fn new(view: &'a View) -> Self {
        FibView {
            view,
            family: PhantomData,
        }
    }

    /// The next-hop id of the longest prefix containing `addr` ([`Fib::lookup`]).
    #[inline]
    pub fn lookup(&self, addr: A) -> Option<u32> {
        // SAFETY: nothing the view reaches is written while `self` lives (`new`).
        Fib::<A>::leaf_id(unsafe { self.view.find(addr.to_key()) })
    }

    /// The longest prefix containing `addr` and its next-hop id ([`Fib::longest_match`]).
    #[inline]
    pub fn longest_match(&self, addr: A) -> Option<(Prefix<A>, u32)> {
        let key = addr.to_key();
        // SAFETY: as in `lookup`.
        Fib::<A>::leaf_match(key, unsafe { self.view.find(key) })
    }

    /// Looks up many addresses at once, writing `out[i] = self.lookup(addrs[i])`: groups of
    /// 32 have their first-level words read first, then their blocks, so that the misses of
    /// independent lookups overlap ([`Fib::lookup_batch`]).
    ///
    /// # Panics
    /// If `out` is shorter than `addrs`.
    pub fn lookup_batch(&self, addrs: &[A], out: &mut [Option<u32>]) {
        Fib::<A>::batch_ids(
            addrs,
            out,
            // SAFETY: as in `lookup`.
            |c| unsafe { self.view.find_group::<A::Key, BATCH>(|i| c[i].to_key()) },
            // SAFETY: as in `lookup`.
            |a| unsafe { self.view.find(a.to_key()) },
        )
    }
}

impl<A: IpKey> fmt::Debug for FibView<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FibView").finish_non_exhaustive()
    }
}

/// The published table of a [`FibReader`], from [`FibReader::read`]; dereferences to a
/// [`FibView`] for lookups. Dropping it ends the read.
pub struct FibGuard<'r, A: IpKey> {
    view: FibView<'r, A>,
    epoch: &'r Epoch,
    tag: u64,
}

impl<'r, A: IpKey> std::ops::Deref for FibGuard<'r, A> {
    type Target = FibView<'r, A>;
    #[inline]
    fn deref(&self) -> &FibView<'r, A> {
        &self.view
    }
}

impl<A: IpKey> Drop for FibGuard<'_, A> {
    #[inline]
    fn drop(&mut self) {
        FibReader::<A>::leave(self.epoch, self.tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;

    fn p(s: &str) -> Prefix<Ipv4Addr> {
        s.parse().unwrap()
    }

    /// The longest-prefix answer of `model` for `a` (the oracle of the tests below).
    fn oracle(model: &BTreeMap<Prefix<Ipv4Addr>, u32>, a: Ipv4Addr) -> Option<u32> {
        model
            .iter()
            .filter(|(q, _)| q.contains(a))
            .max_by_key(|(q, _)| q.len())
            .map(|(_, v)| *v)
    }

    /// Addresses at both ends of each prefix of `model`, and just outside them.
    fn probes(model: &BTreeMap<Prefix<Ipv4Addr>, u32>) -> Vec<Ipv4Addr> {
        let mut out = vec![Ipv4Addr::new(11, 0, 0, 0), Ipv4Addr::new(10, 1, 2, 3)];
        for q in model.keys() {
            let lo = q.addr().to_bits();
            let hi = lo | (u32::MAX >> q.len()).checked_shr(0).unwrap_or(0);
            for a in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)] {
                out.push(Ipv4Addr::from_bits(a));
            }
        }
        out
    }

    /// Asserts that the writer's table holds exactly `want`, and that the published table
    /// answers as it does (lookups, longest matches, a batch) at the prefixes' ends.
    #[track_caller]
    fn assert_both(w: &SharedFib<Ipv4Addr>, want: &BTreeMap<Prefix<Ipv4Addr>, u32>) {
        let fib = w.fib();
        assert_eq!(fib.len(), want.len());
        for (&q, &id) in want {
            assert_eq!(fib.get(&q), Some(id), "{q}");
        }
        let view = w.published();
        let addrs = probes(want);
        let mut out = vec![None; addrs.len()];
        view.lookup_batch(&addrs, &mut out);
        for (&a, &o) in addrs.iter().zip(&out) {
            assert_eq!(view.lookup(a), oracle(want, a), "{a}");
            assert_eq!(o, oracle(want, a), "batch {a}");
            assert_eq!(view.longest_match(a), fib.longest_match(a), "{a}");
        }
    }

    /// As where `membarrier` works (here, under Miri too, whose `heavy` then fails), before
    /// any reader exists: readers use the compiler fence only.
    fn as_if_asymmetric(w: &mut SharedFib<Ipv4Addr>) {
        let pair = Arc::get_mut(&mut w.pair).unwrap();
        pair.asymmetric = true;
        *pair.hot.tag.get_mut() &= !CONFIRMED;
    }

    fn exporters(w: &SharedFib<Ipv4Addr>) -> usize {
        w.pair.exporters.lock().unwrap().len()
    }

    #[test]
    fn staged_until_published() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let mut r = w.reader();
        let a = Ipv4Addr::new(10, 1, 2, 3);
        assert_eq!(w.insert(p("10.0.0.0/8"), 1).unwrap(), None);
        assert_eq!(w.staged(), 1);
        assert_eq!(r.lookup(a), None);
        assert_eq!(w.published().lookup(a), None);
        assert_eq!(w.fib().lookup(a), Some(1));
        w.publish();
        assert_eq!(r.lookup(a), Some(1));
        assert_eq!(r.longest_match(a), Some((p("10.0.0.0/8"), 1)));
        assert_eq!(w.insert(p("10.1.0.0/16"), 2).unwrap(), None);
        assert_eq!(w.insert(p("10.0.0.0/8"), 3).unwrap(), Some(1));
        // The same id again is no change.
        assert_eq!(w.insert(p("10.0.0.0/8"), 3).unwrap(), Some(3));
        assert_eq!(w.staged(), 2);
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
        w.apply([FibOp::Remove(p("10.0.0.0/8"))]).unwrap();
        assert_eq!(r2.lookup(a), None);
        w.insert(p("192.0.2.0/24"), 4).unwrap();
        w.publish();
        assert!(w.publish());
        assert_both(&w, &BTreeMap::from([(p("192.0.2.0/24"), 4)]));
        assert!(w.apply([FibOp::Insert(p("10.0.0.0/8"), u32::MAX)]).is_err());
        assert_eq!(w.fib().len(), 1);
        assert_eq!(
            format!("{w:?}"),
            "SharedFib { published: 1, staged: 0 }",
            "Debug"
        );
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

    #[test]
    fn a_table_shared_from_a_fib_answers_at_once() {
        let model: BTreeMap<_, _> = [("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("10.1.2.128/25", 3)]
            .into_iter()
            .map(|(q, id)| (p(q), id))
            .collect();
        // Inserted one by one: `try_from_iter` visits all 2^18 first-level words (minutes
        // under Miri).
        let mut fib = Fib::new();
        for (&q, &id) in &model {
            fib.insert(q, id).unwrap();
        }
        let mut w = SharedFib::from(fib);
        let mut r = w.reader();
        assert_both(&w, &model);
        for a in probes(&model) {
            assert_eq!(r.lookup(a), oracle(&model, a), "{a}");
        }
        let mut model = model;
        w.insert(p("10.1.2.0/24"), 4).unwrap();
        model.insert(p("10.1.2.0/24"), 4);
        assert!(w.publish());
        assert_both(&w, &model);
    }

    #[test]
    fn publish_deferred_while_a_reader_stays_behind() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let mut r = w.reader();
        let mut slow = w.reader();
        let a = Ipv4Addr::new(10, 1, 2, 3);
        w.insert(p("10.0.0.0/8"), 1).unwrap();
        {
            // A reader in the live level (say, descheduled) while it is left behind.
            let g = slow.read();
            assert!(w.publish());
            assert_eq!(r.lookup(a), Some(1));
            assert_eq!(g.lookup(a), None);
            // The writer goes on without waiting, its own table changed at once.
            assert_eq!(w.insert(p("10.0.0.0/8"), 2).unwrap(), Some(1));
            assert_eq!(w.remove(&p("10.0.0.0/8")), Some(2));
            assert_eq!(w.remove(&p("10.0.0.0/8")), None);
            assert_eq!(w.insert(p("10.1.0.0/16"), 3).unwrap(), None);
            assert_eq!(w.staged(), 3);
            assert!(!w.publish(), "the level left behind still has a reader");
            assert_eq!(r.lookup(a), Some(1));
            assert_eq!(g.lookup(a), None);
            assert_eq!(g.longest_match(a), None);
        }
        assert!(w.publish());
        assert_eq!(w.staged(), 0);
        assert_eq!(r.lookup(a), Some(3));
        assert_eq!(slow.lookup(Ipv4Addr::new(10, 2, 0, 0)), None);
        assert_both(&w, &BTreeMap::from([(p("10.1.0.0/16"), 3)]));
    }

    #[test]
    fn membarrier_failure_falls_back_to_full_fences() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        as_if_asymmetric(&mut w);
        let mut r = w.reader();
        let mut idle = w.reader();
        assert_eq!(w.pair.hot.tag.load(Ordering::SeqCst) & CONFIRMED, 0);
        let a = Ipv4Addr::new(10, 1, 2, 3);
        w.pair.fail_barrier.store(true, Ordering::SeqCst);
        w.insert(p("10.0.0.0/8"), 1).unwrap();
        assert!(w.publish());
        // The heavy fence comes when the writer next needs the level left behind (a
        // publish, with no patience), as no reader has shown the publish: it fails.
        w.insert(p("10.0.0.0/8"), 2).unwrap();
        assert!(w.publish());
        assert!(w.pair.degraded.load(Ordering::SeqCst));
        // The exporter in use is never reused: a second one takes its place.
        assert_eq!(exporters(&w), 2);
        assert_eq!(r.lookup(a), Some(2));
        assert_ne!(r.epoch.word.load(Ordering::SeqCst) & CONFIRMED, 0);
        assert_eq!(idle.epoch.word.load(Ordering::SeqCst) & CONFIRMED, 0);
        // `idle` has not looked up since: its word cannot be trusted, so again a new one.
        w.insert(p("10.0.0.0/8"), 3).unwrap();
        assert!(w.publish());
        assert_eq!(exporters(&w), 3);
        assert_eq!(idle.lookup(a), Some(3));
        // Every reader fences fully now: the exporter's levels are reused again.
        w.insert(p("10.0.0.0/8"), 4).unwrap();
        assert!(w.publish());
        w.insert(p("10.0.0.0/8"), 5).unwrap();
        assert!(w.publish());
        assert_eq!(exporters(&w), 3);
        assert_eq!(r.lookup(a), Some(5));
        assert_eq!(w.reader().lookup(a), Some(5));
        assert_both(&w, &BTreeMap::from([(p("10.0.0.0/8"), 5)]));
    }

    #[test]
    fn readers_that_show_the_publish_need_no_fence() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        as_if_asymmetric(&mut w);
        let mut r = w.reader();
        let mut r2 = r.clone();
        let a = Ipv4Addr::new(10, 9, 9, 9);
        // A heavy fence now would fail (and show in `degraded`).
        w.pair.fail_barrier.store(true, Ordering::SeqCst);
        for id in 1..=3 {
            w.insert(p("10.0.0.0/8"), id).unwrap();
            assert!(w.publish());
            // Both readers look up after the publish: the level left behind is free.
            assert_eq!(r.lookup(a), Some(id));
            assert_eq!(r2.read().lookup(a), Some(id));
            w.insert(p("10.1.0.0/16"), id).unwrap();
            assert!(w.synced, "no patience needed");
            assert_eq!(w.fib().lookup(a), Some(id));
        }
        assert!(
            w.pair.fail_barrier.load(Ordering::SeqCst),
            "no heavy fence made"
        );
        assert!(!w.pair.degraded.load(Ordering::SeqCst));
        assert_eq!(exporters(&w), 1);
        // One reader idle: after the patience, the fence (here failing: a new exporter).
        w.insert(p("10.0.0.0/8"), 9).unwrap();
        assert!(w.publish());
        assert_eq!(r.lookup(a), Some(9));
        for i in 0..PATIENCE {
            w.insert(p("10.2.0.0/16"), i).unwrap();
        }
        assert!(w.synced);
        assert!(w.pair.degraded.load(Ordering::SeqCst));
        assert_eq!(exporters(&w), 2);
        assert!(w.publish());
        assert_eq!(r2.lookup(Ipv4Addr::new(10, 2, 0, 1)), Some(PATIENCE - 1));
        assert_eq!(r2.lookup(a), Some(9));
    }

    #[test]
    fn publish_if_older_waits_for_the_age() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let mut r = w.reader();
        let a = Ipv4Addr::new(10, 1, 2, 3);
        let hour = Duration::from_secs(3600);
        assert!(w.publish_if_older(hour), "nothing staged");
        w.insert(p("10.0.0.0/8"), 1).unwrap();
        assert!(!w.publish_if_older(hour));
        assert_eq!((w.staged(), r.lookup(a)), (1, None));
        assert!(w.publish_if_older(Duration::ZERO));
        assert_eq!((w.staged(), r.lookup(a)), (0, Some(1)));
        // The age counts from the first call that saw the change staged.
        w.insert(p("10.0.0.0/8"), 2).unwrap();
        let age = Duration::from_millis(20);
        assert!(!w.publish_if_older(age));
        std::thread::sleep(age);
        w.insert(p("10.1.0.0/16"), 3).unwrap();
        assert!(w.publish_if_older(age));
        assert_eq!(r.lookup(a), Some(3));
        // A publish by hand starts the count again.
        w.insert(p("10.0.0.0/8"), 4).unwrap();
        assert!(!w.publish_if_older(age));
        assert!(w.publish());
        w.insert(p("10.0.0.0/8"), 5).unwrap();
        assert!(!w.publish_if_older(age));
        assert_eq!(r.lookup(Ipv4Addr::new(10, 2, 0, 0)), Some(4));
    }

    #[test]
    fn many_changes_to_few_prefixes_between_publishes() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let mut r = w.reader();
        // Under Miri, shorter prefixes cover fewer first-level regions (a /8 covers 2^10, a
        // /0 all 2^18: slow there): the same nesting, a /12 outermost.
        let pool = if cfg!(miri) {
            [
                p("10.0.0.0/14"),
                p("10.1.0.0/16"),
                p("10.1.2.0/24"),
                p("10.0.0.0/12"),
            ]
        } else {
            [
                p("10.0.0.0/8"),
                p("10.1.0.0/16"),
                p("10.1.2.0/24"),
                p("0.0.0.0/0"),
            ]
        };
        let mut model = BTreeMap::new();
        for round in 0..4u32 {
            for i in 0..40u32 {
                let q = pool[(i * 7 + round) as usize % pool.len()];
                if (i + round) % 5 == 4 {
                    assert_eq!(w.remove(&q), model.remove(&q));
                } else {
                    assert_eq!(w.insert(q, i + round).unwrap(), model.insert(q, i + round));
                }
            }
            assert!(w.publish());
            assert_both(&w, &model);
            for a in [[10, 1, 2, 3], [10, 1, 3, 0], [10, 2, 0, 0], [11, 0, 0, 0]] {
                let a = Ipv4Addr::from(a);
                assert_eq!(r.lookup(a), oracle(&model, a), "{a}");
            }
        }
    }

    #[test]
    fn reader_holding_an_old_version_through_many_publishes() {
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let mut r = w.reader();
        let mut holder = w.reader();
        let mut model = BTreeMap::new();
        let addrs: Vec<Ipv4Addr> = (0..64u32)
            .map(|i| Ipv4Addr::from(0x0a00_0000 | i << 18 | i))
            .collect();
        for i in 0..32u32 {
            let q = Prefix::new(Ipv4Addr::from(0x0a00_0000 | i << 18), 14).unwrap();
            w.insert(q, i).unwrap();
            model.insert(q, i);
        }
        assert!(w.publish());
        let first = model.clone();
        {
            let g = holder.read();
            // The level left behind is the holder's: every later publish waits for it.
            w.insert(p("10.0.0.0/8"), 100).unwrap();
            model.insert(p("10.0.0.0/8"), 100);
            assert!(w.publish());
            let second = model.clone();
            for round in 0..if cfg!(miri) { 12 } else { 200 } {
                let i = round % 48;
                let q = Prefix::new(Ipv4Addr::from(0x0a00_0000 | i << 18), 14).unwrap();
                if round % 3 == 2 {
                    assert_eq!(w.remove(&q), model.remove(&q));
                } else {
                    assert_eq!(
                        w.insert(q, 1000 + round).unwrap(),
                        model.insert(q, 1000 + round)
                    );
                }
                assert!(!w.publish(), "round {round}: published over a held version");
                for &a in &addrs {
                    assert_eq!(g.lookup(a), oracle(&first, a), "held {a}");
                    assert_eq!(r.lookup(a), oracle(&second, a), "live {a}");
                }
            }
            assert!(w.staged() > 0);
        }
        assert!(w.publish());
        for &a in &addrs {
            assert_eq!(r.lookup(a), oracle(&model, a), "{a}");
            assert_eq!(holder.lookup(a), oracle(&model, a), "{a}");
        }
        assert_both(&w, &model);
    }

    #[test]
    fn memory_stays_bounded_over_many_publishes() {
        // The same churn, batch after batch: space left behind by a batch is reused by later
        // ones, so the heap after many publishes is what it was after a few.
        let mut w: SharedFib<Ipv4Addr> = SharedFib::new();
        let mut r = w.reader();
        let prefix =
            |i: u32, len: u8| Prefix::new(Ipv4Addr::from(0x0a00_0000 | i << 12), len).unwrap();
        // Under Miri, 32 /20s (8 first-level regions) and rounds enough to check 5 after the
        // warm-up.
        let (n, rounds) = if cfg!(miri) { (32, 26) } else { (256, 400) };
        for i in 0..n {
            w.insert(prefix(i, 20), i).unwrap();
        }
        assert!(w.publish());
        let mut after_warmup = 0;
        for round in 0..rounds {
            // Split some blocks (longer prefixes), join them back the next round.
            for i in ((round / 2) % 4..n).step_by(4) {
                if round % 2 == 0 {
                    w.insert(prefix(i, 24), round).unwrap();
                    w.insert(prefix(i, 28), round).unwrap();
                } else {
                    w.remove(&prefix(i, 24));
                    w.remove(&prefix(i, 28));
                }
            }
            assert!(w.publish());
            // A lookup by the reader shows it left the level behind.
            assert_eq!(r.lookup(Ipv4Addr::new(10, 0, 8, 1)), Some(0));
            if round == 20 {
                after_warmup = w.memory_usage();
            }
            if round > 20 {
                assert!(
                    w.memory_usage() <= after_warmup,
                    "round {round}: {} bytes, {after_warmup} after warm-up",
                    w.memory_usage()
                );
            }
        }
        assert_eq!(w.fib().len(), n as usize);
    }
}
