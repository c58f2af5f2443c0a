//! The unit-test binary's global allocator: the system's, counting the bytes the current thread
//! asks for while a measurement is armed, so that the fuzzer can bound what one input makes the
//! decoders allocate. Only `cfg(test)` builds have it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // Const-initialised and without destructors: reading them never allocates.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn note(n: usize) {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            BYTES.with(|b| b.set(b.get().saturating_add(n as u64)));
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the counting touches only
// thread-locals that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size.saturating_sub(layout.size()));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its value with the bytes it allocated on this thread (growth by
/// `realloc` included, frees not subtracted).
pub(super) fn measure<T>(f: impl FnOnce() -> T) -> (T, u64) {
    struct Disarm;
    impl Drop for Disarm {
        fn drop(&mut self) {
            ARMED.with(|a| a.set(false));
        }
    }
    BYTES.with(|b| b.set(0));
    ARMED.with(|a| a.set(true));
    let guard = Disarm;
    let value = f();
    drop(guard);
    (value, BYTES.with(|b| b.get()))
}
