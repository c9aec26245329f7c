//! Handing the app process's freed heap back to the OS (glibc on Linux).
//!
//! The desktop app works in bursts between long idle stretches: a pull of
//! thousands of items, a diff highlighted and sent to the webview, a scan
//! decoded. glibc's malloc keeps what such a burst freed: large buffers
//! once its mmap threshold has risen (it rises to the size of any mmapped
//! block freed, up to 32 MiB, so later big buffers come from the heap and
//! stay there), free pages in the middle of its heaps, and one heap per
//! arena (up to eight per core, one per thread that found the others busy).
//! Measured in the start-up bench (README, "Start-up, scrolling and
//! memory"): `malloc_trim(0)` from a debugger took the app process from
//! 131.4 to 121.7 MiB.
//!
//! Elsewhere (macOS, Windows, musl) both functions do nothing; with
//! `ASSAY_MALLOC_DEFAULTS` set in the environment neither does (glibc's
//! defaults, to compare or to rule this out).

use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that keeps glibc's defaults.
pub const DEFAULTS_VAR: &str = "ASSAY_MALLOC_DEFAULTS";

/// Whether [`DEFAULTS_VAR`] was set when [`tune_allocator`] ran.
static DEFAULTS: AtomicBool = AtomicBool::new(false);

/// Sets glibc's malloc up for that: blocks of 256 KiB and more are mapped
/// on their own and unmapped when freed (a fixed threshold, which also
/// stops glibc raising it), and at most two arenas. Call first thing in
/// `main`, before any thread starts.
pub fn tune_allocator() {
    if std::env::var_os(DEFAULTS_VAR).is_some() {
        DEFAULTS.store(true, Ordering::Relaxed);
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::tune();
}

/// Returns the heap's free pages to the OS (`malloc_trim(0)`): after work
/// that allocated and freed a lot (a pull, opening an item).
pub fn release_freed_heap() {
    if DEFAULTS.load(Ordering::Relaxed) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // two glibc calls with plain integer arguments, see below
mod glibc {
    /// Blocks of this size and larger are mapped on their own.
    const MMAP_THRESHOLD: libc::c_int = 256 * 1024;
    /// Most malloc arenas.
    const ARENA_MAX: libc::c_int = 2;

    pub(super) fn tune() {
        // SAFETY: mallopt only changes malloc's parameters (integers within
        // glibc's documented ranges); it has no memory-safety preconditions
        // and returns 0 on a value it refuses, leaving the default.
        let set = unsafe {
            [
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX),
            ]
        };
        if set.contains(&0) {
            tracing::debug!(?set, "malloc refused a parameter; its default stays");
        }
    }

    pub(super) fn trim() {
        // SAFETY: malloc_trim takes a byte count and returns free memory of
        // malloc's own heaps to the OS under malloc's lock; no pointer of
        // ours is involved.
        let released = unsafe { libc::malloc_trim(0) };
        tracing::trace!(released, "freed heap handed back");
    }
}

#[cfg(test)]
mod tests {
    /// Whether glibc mapped the block at `p` on its own: the `IS_MMAPPED`
    /// bit (0x2) of the chunk's size word, just below the pointer malloc
    /// returned (glibc's chunk layout, unchanged for decades; tests only).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    fn mmapped(p: *const u8) -> bool {
        // The pointer escapes (black_box) so the block really exists, and
        // the header is read with a volatile load at a wrapping offset: an
        // ordinary read just outside the block is undefined to the
        // optimizer, which in a release build folded it away.
        let p = std::hint::black_box(p);
        // SAFETY: `p` is a live malloc'd block (a Vec's buffer); glibc keeps
        // the chunk's size in the word just before it. Read byte by byte,
        // so no alignment is assumed.
        let mut word = [0u8; size_of::<usize>()];
        let head = p.wrapping_sub(word.len());
        for (i, b) in word.iter_mut().enumerate() {
            *b = unsafe { std::ptr::read_volatile(head.wrapping_add(i)) };
        }
        usize::from_ne_bytes(word) & 0x2 != 0
    }

    /// With glibc's defaults, freeing a mapped 16 MiB block raises the mmap
    /// threshold above it, so the next such block comes from the heap and
    /// stays there once freed; with the fixed threshold it is mapped again.
    /// (16 MiB: a smaller block can legitimately come from a free chunk the
    /// test process's other allocations left in the heap, as 1 MiB did in
    /// a release build; 16 MiB is under glibc's 32 MiB ceiling for the
    /// dynamic threshold, so the defaults still fail this test.)
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn big_blocks_stay_mapped_after_one_was_freed() {
        super::tune_allocator();
        for _ in 0..3 {
            let block: Vec<u8> = vec![1; 16 << 20];
            assert!(mmapped(block.as_ptr()), "a 16 MiB block came from the heap");
        }
        let small: Vec<u8> = vec![1; 4 << 10];
        assert!(
            !mmapped(small.as_ptr()),
            "a 4 KiB block was mapped on its own"
        );
    }

    #[test]
    fn tuning_and_trimming_leave_the_heap_usable() {
        super::tune_allocator();
        let big: Vec<u8> = vec![7; 4 << 20];
        let small: Vec<Box<u64>> = (0..10_000).map(Box::new).collect();
        drop(big);
        drop(small);
        super::release_freed_heap();
        let again: Vec<u8> = vec![9; 1 << 20];
        assert!(again.iter().all(|&b| b == 9));
    }
}
