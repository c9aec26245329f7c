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
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

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

/// Whether trimming does anything here: glibc, and [`DEFAULTS_VAR`] not set.
fn trims() -> bool {
    cfg!(all(target_os = "linux", target_env = "gnu")) && !DEFAULTS.load(Ordering::Relaxed)
}

/// Returns the heap's free pages to the OS (`malloc_trim(0)`): after work
/// that allocated and freed a lot (a pull, opening an item).
pub fn release_freed_heap() {
    if !trims() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

/// How long the app must have asked for nothing heavy before
/// [`release_when_idle`] hands the freed heap back.
pub const IDLE: Duration = Duration::from_secs(1);

/// Hands the freed heap back ([`release_freed_heap`]) once [`IDLE`] has
/// passed without another call: for work that comes in bursts of calls
/// (the rows of a diff fetched while it scrolls, a scan's frames while the
/// window/level is dragged, opening an item), so what a burst freed goes
/// back when it ends, on a thread of its own, and not once per call.
///
/// What the trim returns is what such a burst left free in the arena of
/// the threads that ran it: measured in the start-up bench's reading with
/// the diff and the scan open (`docs/benchmarks.md`), 5.4 MB of the
/// second arena's 12.7 MB were free chunks that nothing handed back.
///
/// Where the trim does nothing (not glibc, or [`DEFAULTS_VAR`] set) no
/// thread is started and marks are not kept.
pub fn release_when_idle() {
    if !trims() {
        return;
    }
    static TRIMMER: OnceLock<&'static Debounce> = OnceLock::new();
    TRIMMER
        .get_or_init(|| Debounce::start(IDLE, release_idle))
        .mark();
}

/// Stores whose page cache [`release_when_idle`]'s thread shrinks before it
/// trims (weak: a store dropped meanwhile is skipped, then forgotten).
static IDLE_STORES: Mutex<Vec<Weak<crate::Store>>> = Mutex::new(Vec::new());

/// [`release_when_idle`], and when it runs, `store`'s page cache too
/// ([`crate::Store::release_when_idle`]).
pub(crate) fn release_when_idle_shrinking(store: &Arc<crate::Store>) {
    if !trims() {
        return;
    }
    {
        let mut stores = IDLE_STORES.lock().unwrap_or_else(PoisonError::into_inner);
        stores.retain(|w| w.strong_count() > 0);
        if !stores
            .iter()
            .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(store)))
        {
            stores.push(Arc::downgrade(store));
        }
    }
    release_when_idle();
}

/// What the idle thread runs: the registered stores' page caches, then the
/// heap's free pages (in that order, so what the caches free is trimmed).
fn release_idle() {
    let stores: Vec<Arc<crate::Store>> = IDLE_STORES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for store in stores {
        store.shrink_idle_cache();
    }
    release_freed_heap();
}

/// Runs `work` on a thread of its own once `idle` has passed since the
/// latest [`Debounce::mark`]; marks while it waits push the deadline on.
struct Debounce {
    deadline: Mutex<Option<Instant>>,
    woken: Condvar,
    idle: Duration,
}

impl Debounce {
    /// The debouncer, and its thread waiting for a first mark. Leaked: it
    /// lives as long as the process. Without a thread (the OS refused one)
    /// marks are kept and nothing runs, which only leaves memory unreturned.
    fn start(idle: Duration, work: fn()) -> &'static Debounce {
        let d: &'static Debounce = Box::leak(Box::new(Debounce {
            deadline: Mutex::new(None),
            woken: Condvar::new(),
            idle,
        }));
        let spawned = std::thread::Builder::new()
            .name("heap-trim".into())
            .spawn(move || loop {
                d.wait_until_idle();
                work();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no thread to hand freed memory back on");
        }
        d
    }

    fn mark(&self) {
        let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        let first = deadline.is_none();
        *deadline = Some(Instant::now() + self.idle);
        drop(deadline);
        if first {
            self.woken.notify_one();
        }
    }

    /// Blocks until a mark was made and `idle` has passed since the
    /// latest one; clears it.
    fn wait_until_idle(&self) {
        let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match *deadline {
                None => {
                    deadline = self
                        .woken
                        .wait(deadline)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        *deadline = None;
                        return;
                    }
                    deadline = self
                        .woken
                        .wait_timeout(deadline, at - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
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
        let started = std::time::Instant::now();
        // SAFETY: malloc_trim takes a byte count and returns free memory of
        // malloc's own heaps to the OS under malloc's lock; no pointer of
        // ours is involved.
        let released = unsafe { libc::malloc_trim(0) };
        tracing::trace!(released, took = ?started.elapsed(), "freed heap handed back");
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

    /// A burst of marks runs the work once, no sooner than `idle` after
    /// the last mark, and the debouncer serves the next burst the same way.
    #[test]
    fn a_burst_of_marks_runs_the_work_once_when_it_ends() {
        use std::sync::Mutex;
        use std::time::{Duration, Instant};
        static RAN_AT: Mutex<Vec<Instant>> = Mutex::new(Vec::new());
        fn work() {
            RAN_AT.lock().unwrap().push(Instant::now());
        }
        let ran = || RAN_AT.lock().unwrap().clone();
        let idle = Duration::from_millis(600);
        let d = super::Debounce::start(idle, work);
        for burst in 1..=2 {
            let mut last = Instant::now();
            for _ in 0..10 {
                // Read before the mark, so the mark's deadline is no earlier.
                last = Instant::now();
                d.mark();
                std::thread::sleep(Duration::from_millis(30));
            }
            let waited = Instant::now();
            while ran().len() < burst {
                assert!(
                    waited.elapsed() < Duration::from_secs(10),
                    "the work never ran"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            let at = ran()[burst - 1];
            assert!(
                at >= last + idle,
                "the work ran {:?} after the last mark",
                at - last
            );
            std::thread::sleep(idle * 2);
            assert_eq!(ran().len(), burst, "the work ran again without a mark");
        }
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
