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

/// Makes room for `additional` more elements. Growth doubles, like `Vec`, but a new buffer of
/// 2 MiB or more is advised for huge pages before the old contents are copied in.
#[inline]
pub(crate) fn reserve<T>(v: &mut Vec<T>, additional: usize) {
    let need = v.len() + additional;
    if need <= v.capacity() {
        return;
    }
    let cap = need.max(v.capacity() * 2).max(16);
    if cap * std::mem::size_of::<T>() < HUGE {
        v.reserve_exact(cap - v.len());
        return;
    }
    let mut new = Vec::with_capacity(cap);
    advise_huge(new.as_ptr() as *const u8, cap * std::mem::size_of::<T>());
    new.append(v);
    *v = new;
}

/// A vector of `n` copies of `value`, advised for huge pages before it is filled.
pub(crate) fn filled<T: Clone>(n: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise_huge(v.as_ptr() as *const u8, n * std::mem::size_of::<T>());
    v.resize(n, value);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(ptr: *const u8, bytes: usize) {
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

#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: *const u8, _bytes: usize) {}

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
        let f = filled(600_000, 7u32);
        assert_eq!(f.len(), 600_000);
        assert!(f.iter().all(|&x| x == 7));
    }
}
