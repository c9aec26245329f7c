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

/// For bulk work (a pull): up to 4 MiB of free space at the top of each
/// heap stays for the next allocations instead of going back to the OS at
/// every free, until [`release_freed_heap`]. With the fixed mmap threshold
/// glibc keeps only 128 KiB, so a pull shrank and regrew its heaps around
/// every item and touched the pages anew: about 24,000 page faults in a
/// 10,000-item pull against about 8,000 this way, and 3% less CPU
/// (README, "Sync").
pub fn keep_freed_heap() {
    if DEFAULTS.load(Ordering::Relaxed) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::keep_top(true);
}

/// Returns the heap's free pages to the OS (`malloc_trim(0)`): after work
/// that allocated and freed a lot (a pull, opening an item). Ends
/// [`keep_freed_heap`]: freed space at a heap's top goes back at once
/// again (the main heap's now; another arena's at its next free, as glibc
/// trims those only as it frees).
pub fn release_freed_heap() {
    if DEFAULTS.load(Ordering::Relaxed) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        glibc::keep_top(false);
        glibc::trim();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // two glibc calls with plain integer arguments, see below
mod glibc {
    /// Blocks of this size and larger are mapped on their own.
    const MMAP_THRESHOLD: libc::c_int = 256 * 1024;
    /// Most malloc arenas.
    const ARENA_MAX: libc::c_int = 2;
    /// Free space at a heap's top kept for reuse during bulk work.
    const BULK_TRIM_THRESHOLD: libc::c_int = 4 << 20;
    /// ... and otherwise: glibc's default, which setting the mmap
    /// threshold fixes.
    const IDLE_TRIM_THRESHOLD: libc::c_int = 128 << 10;

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

    pub(super) fn keep_top(bulk: bool) {
        let bytes = if bulk {
            BULK_TRIM_THRESHOLD
        } else {
            IDLE_TRIM_THRESHOLD
        };
        // SAFETY: as in `tune`; glibc reads the threshold at each free.
        if unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, bytes) } == 0 {
            tracing::debug!(bytes, "malloc refused the trim threshold");
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

    /// Between [`super::keep_freed_heap`] and
    /// [`super::release_freed_heap`], space freed at the top of a heap
    /// stays resident for the next allocations, which reuse it without
    /// touching new pages; before and after, it goes back at once. The
    /// check reads the process's resident size, which the other tests move
    /// as they run, so it runs alone in a child process: this test binary
    /// again, running only [`heap_top_alone`].
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_space_at_the_heap_top_is_kept_for_reuse_during_bulk_work() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["heap::tests::heap_top_alone", "--exact", "--ignored"])
            .args(["--test-threads=1", "--nocapture"])
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{said}");
        assert!(said.contains("1 passed"), "the check did not run: {said}");
    }

    /// The process's resident size in bytes (`/proc/self/statm`), read
    /// without allocating: a block left above the freed ones would keep
    /// them from the heap's top.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn resident() -> usize {
        use std::io::Read;
        let mut buf = [0u8; 128];
        let n = std::fs::File::open("/proc/self/statm")
            .unwrap()
            .read(&mut buf)
            .unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let pages: usize = text.split(' ').nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    /// 2.4 MiB in blocks under the 256 KiB mmap threshold: from the heap,
    /// every page touched. What freeing them handed back at once, in bytes.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn handed_back_by_a_free() -> usize {
        let blocks: Vec<Vec<u8>> = (0..12).map(|_| vec![1u8; 200 << 10]).collect();
        let grown = resident();
        drop(std::hint::black_box(blocks));
        grown.saturating_sub(resident())
    }

    /// What [`freed_space_at_the_heap_top_is_kept_for_reuse_during_bulk_work`] runs.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    #[ignore = "run alone by freed_space_at_the_heap_top_is_kept_for_reuse_during_bulk_work"]
    fn heap_top_alone() {
        super::tune_allocator();
        let idle = handed_back_by_a_free();
        assert!(
            idle >= 1536 << 10,
            "idle, a free handed back only {} KiB",
            idle >> 10
        );
        super::keep_freed_heap();
        let kept = handed_back_by_a_free();
        assert!(
            kept < 512 << 10,
            "in bulk work a free handed {} KiB back",
            kept >> 10
        );
        let before = resident();
        let again: Vec<Vec<u8>> = (0..12).map(|_| vec![1u8; 200 << 10]).collect();
        let grew = resident().saturating_sub(before);
        assert!(
            grew < 512 << 10,
            "reusing the kept space took {} KiB of new pages",
            grew >> 10
        );
        drop(std::hint::black_box(again));
        super::release_freed_heap();
        let after = handed_back_by_a_free();
        assert!(
            after >= 1536 << 10,
            "after the release a free handed back only {} KiB",
            after >> 10
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
