//! Growth of the large arrays on the lookup path, backed by transparent huge pages where the
//! kernel offers them.
//!
//! A full table's lookup structure spans tens of megabytes touched at random; with 4 KiB
//! pages nearly every lookup step also misses the TLB. Asking for huge pages
//! (`madvise(MADV_HUGEPAGE)`, which matters where THP is in `madvise` mode, the common
//! default) before the memory is first touched removes most of those misses: measured with
//! `examples/lpm_compare`, it is the difference between the noisy low and high runs.

/// Huge page size on x86-64 and most 64-bit Linux targets.
const HUGE: usize = 2 << 20;

/// Makes room for `additional` more elements. Small arrays double, like `Vec`; arrays of 2 MiB
/// or more grow by a quarter, into a new buffer advised for huge pages before the old contents
/// are copied in.
#[inline]
pub(crate) fn reserve<T>(v: &mut Vec<T>, additional: usize) {
    let need = v.len() + additional;
    if need <= v.capacity() {
        return;
    }
    let size = std::mem::size_of::<T>();
    if (need * size) < HUGE {
        let cap = need.max(v.capacity() * 2).max(16);
        v.reserve_exact(cap - v.len());
        return;
    }
    // Large arrays grow by a quarter: a full table's arrays are megabytes, and doubling
    // would leave up to half of them unused.
    let cap = need.max(v.capacity() + v.capacity() / 4);
    let mut new = Vec::with_capacity(cap);
    advise_huge(new.as_ptr() as *const u8, cap * size);
    new.append(v);
    *v = new;
}

// Not under Miri, which cannot call `madvise` (the advice changes no contents).
#[cfg(all(target_os = "linux", feature = "libc", not(miri)))]
pub(crate) fn advise_huge(ptr: *const u8, bytes: usize) {
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize + bytes) & !(HUGE - 1);
    if end > start {
        // SAFETY: [start, end) lies inside the allocation of `bytes` bytes at `ptr`, which the
        // caller owns. MADV_HUGEPAGE only changes how the kernel backs those pages, never their
        // contents or validity; a refusal (THP disabled) is harmless and ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(all(target_os = "linux", feature = "libc", not(miri))))]
pub(crate) fn advise_huge(_ptr: *const u8, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_keeps_contents_and_grows() {
        let mut v: Vec<u64> = (0..10).collect();
        reserve(&mut v, 1_000_000);
        assert!(v.capacity() >= 1_000_010);
        assert_eq!(v, (0..10).collect::<Vec<_>>());
        let before = v.capacity();
        reserve(&mut v, 5);
        assert_eq!(v.capacity(), before);
    }
}

/// A fixed-size, zero-initialised array of `u32`; from 2 MiB on it is aligned to a huge page,
/// so that such a first level sits in whole huge pages (one TLB entry per 2 MiB). The first
/// levels are 1 MiB now (2^18 words), 256 small pages that stay in the second-level TLB.
pub(crate) struct HugeWords {
    ptr: std::ptr::NonNull<u32>,
    len: usize,
}

impl HugeWords {
    /// Word `i & (len - 1)` (word 0, zero, of an empty array): a read with no bounds check
    /// and no branch, for the lookup path. The length is a power of two (or 0).
    #[inline(always)]
    pub(crate) fn word_masked(&self, i: usize) -> u32 {
        let i = i & self.len.saturating_sub(1);
        // SAFETY: `len` is 0 or a power of two (asserted in `zeroed`), so `i < len.max(1)`,
        // and the allocation holds `len.max(1)` initialised words (zeroed there).
        unsafe { *self.ptr.as_ptr().add(i) }
    }
}

// SAFETY: HugeWords owns its buffer exclusively, like a Vec<u32>.
unsafe impl Send for HugeWords {}
// SAFETY: shared access only reads; mutation needs &mut, like a Vec<u32>.
unsafe impl Sync for HugeWords {}

impl HugeWords {
    fn layout(len: usize) -> std::alloc::Layout {
        let bytes = (len * 4).max(4);
        let align = if bytes >= HUGE { HUGE } else { 64 };
        std::alloc::Layout::from_size_align(bytes, align).expect("lpm: first level too large")
    }

    /// `len` zero words (`len` 0 or a power of two).
    pub(crate) fn zeroed(len: usize) -> HugeWords {
        assert!(
            len == 0 || len.is_power_of_two(),
            "lpm: first level of {len} words"
        );
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { std::alloc::alloc(layout) } as *mut u32;
        let Some(ptr) = std::ptr::NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        // Advise before the first touch, so that the zeroing below faults in huge pages.
        advise_huge(raw as *const u8, layout.size());
        // SAFETY: `raw` is valid for `layout.size()` bytes, at least `len.max(1)` u32s.
        unsafe { std::ptr::write_bytes(raw, 0, len.max(1)) };
        HugeWords { ptr, len }
    }

    /// Heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        Self::layout(self.len).size()
    }
}

impl std::ops::Deref for HugeWords {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        // SAFETY: `ptr` points to `len` initialised (zeroed at allocation) u32s owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for HugeWords {
    fn deref_mut(&mut self) -> &mut [u32] {
        // SAFETY: as in `deref`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Clone for HugeWords {
    fn clone(&self) -> HugeWords {
        let mut copy = HugeWords::zeroed(self.len);
        copy.copy_from_slice(self);
        copy
    }
}

impl Drop for HugeWords {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with exactly this layout, and freed only here.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.len)) }
    }
}

#[cfg(test)]
mod huge_tests {
    use super::*;

    #[test]
    fn huge_words_are_zeroed_aligned_and_cloneable() {
        // 2 MiB: a huge page's alignment. Under Miri, which interprets each word's check,
        // every 127th word is checked.
        let n = 1 << 19;
        let mut w = HugeWords::zeroed(n);
        assert_eq!(w.len(), n);
        assert!(w
            .iter()
            .step_by(if cfg!(miri) { 127 } else { 1 })
            .all(|&x| x == 0));
        assert_eq!(w.as_ptr() as usize % HUGE, 0);
        w[7] = 42;
        let c = w.clone();
        assert_eq!(c[7], 42);
        assert_eq!(c.bytes(), 2 << 20);
        let small = HugeWords::zeroed(4);
        assert_eq!(&small[..], &[0, 0, 0, 0]);
        // Masked reads stay inside, also for an empty array (its one word is 0).
        assert_eq!(c.word_masked(7 + n), 42);
        let empty = HugeWords::zeroed(0);
        assert_eq!((empty.len(), empty.word_masked(12345)), (0, 0));
    }

    #[test]
    #[should_panic(expected = "first level of 3 words")]
    fn huge_words_are_a_power_of_two() {
        HugeWords::zeroed(3);
    }
}

/// A growable array of `u32` whose buffer starts on a 64-byte cache line (on a huge page
/// from 2 MiB on), so that index `16 * i` is the start of a line: the leaf array, whose
/// blocks are placed on lines (a `Vec<u32>`'s buffer is only 4-byte aligned, and moves to
/// another offset in a line when it grows).
pub(crate) struct LineWords {
    ptr: std::ptr::NonNull<u32>,
    len: usize,
    cap: usize,
}

// SAFETY: LineWords owns its buffer exclusively, like a Vec<u32>.
unsafe impl Send for LineWords {}
// SAFETY: shared access only reads; mutation needs &mut, like a Vec<u32>.
unsafe impl Sync for LineWords {}

impl LineWords {
    /// An empty array (no allocation).
    pub(crate) const fn new() -> LineWords {
        LineWords {
            ptr: std::ptr::NonNull::dangling(),
            len: 0,
            cap: 0,
        }
    }

    fn layout(cap: usize) -> std::alloc::Layout {
        let bytes = cap * 4;
        let align = if bytes >= HUGE { HUGE } else { 64 };
        std::alloc::Layout::from_size_align(bytes, align).expect("lpm: leaf array too large")
    }

    /// Words the buffer holds.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Moves the contents into a buffer of `cap` words (at least `len`).
    fn realloc(&mut self, cap: usize) {
        debug_assert!(cap >= self.len);
        let new = if cap == 0 {
            std::ptr::NonNull::dangling()
        } else {
            let layout = Self::layout(cap);
            // SAFETY: the layout has a non-zero size.
            let raw = unsafe { std::alloc::alloc(layout) } as *mut u32;
            let Some(p) = std::ptr::NonNull::new(raw) else {
                std::alloc::handle_alloc_error(layout)
            };
            advise_huge(raw as *const u8, layout.size());
            // SAFETY: both buffers hold at least `len` words and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), raw, self.len) };
            p
        };
        if self.cap > 0 {
            // SAFETY: allocated with this layout in an earlier `realloc`, freed only here.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.cap)) }
        }
        self.ptr = new;
        self.cap = cap;
    }

    /// Makes room for `additional` more words, growing as [`reserve`] grows a `Vec`.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let need = self.len + additional;
        if need <= self.cap {
            return;
        }
        let cap = if need * 4 < HUGE {
            need.max(self.cap * 2).max(16)
        } else {
            need.max(self.cap + self.cap / 4)
        };
        self.realloc(cap);
    }

    /// Sets the length to `n`, new words being `v`.
    pub(crate) fn resize(&mut self, n: usize, v: u32) {
        if n > self.len {
            self.reserve(n - self.len);
            // SAFETY: the buffer holds `cap >= n` words; `len..n` are written here.
            unsafe {
                let s =
                    std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(self.len), n - self.len);
                s.fill(v);
            }
        }
        self.len = n;
    }

    /// Gives back the spare capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        if self.cap > self.len {
            self.realloc(self.len);
        }
    }
}

impl Default for LineWords {
    fn default() -> LineWords {
        LineWords::new()
    }
}

impl std::ops::Deref for LineWords {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        // SAFETY: `ptr` points to `len` initialised words owned by self (or is dangling and
        // well aligned with `len` 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for LineWords {
    fn deref_mut(&mut self) -> &mut [u32] {
        // SAFETY: as in `deref`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Clone for LineWords {
    fn clone(&self) -> LineWords {
        let mut copy = LineWords::new();
        copy.reserve(self.len);
        copy.resize(self.len, 0);
        copy.copy_from_slice(self);
        copy
    }
}

impl Drop for LineWords {
    fn drop(&mut self) {
        if self.cap > 0 {
            // SAFETY: allocated with this layout in `realloc`, freed only here.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.cap)) }
        }
    }
}

#[cfg(test)]
mod line_words_tests {
    use super::*;

    #[test]
    fn line_words_grow_keep_contents_and_stay_aligned() {
        let mut w = LineWords::new();
        assert_eq!((w.len(), w.capacity()), (0, 0));
        // 600,000 words: past 2 MiB, where the allocation is aligned to a huge page. Under
        // Miri, which interprets each word's check, every 127th new word is checked.
        let step = if cfg!(miri) { 127 } else { 1 };
        for n in [1usize, 17, 1000, 600_000, 3] {
            let old: Vec<u32> = w.to_vec();
            w.resize(n, 7);
            assert_eq!(w.as_ptr() as usize % 64, 0);
            let keep = old.len().min(n);
            assert_eq!(&w[..keep], &old[..keep]);
            assert!(w[keep..].iter().step_by(step).all(|&x| x == 7));
            w[n - 1] = n as u32;
        }
        w.shrink_to_fit();
        assert_eq!((w.len(), w.capacity()), (3, 3));
        let c = w.clone();
        assert_eq!(&c[..], &w[..]);
        assert_eq!(c.as_ptr() as usize % 64, 0);
        w.resize(0, 0);
        w.shrink_to_fit();
        assert_eq!(w.capacity(), 0);
    }
}
