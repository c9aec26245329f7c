//! Fuzzing of what a hostile series reaches (issue #16): zip reading
//! ([`archive`]), DICOM header parsing and series ordering ([`open_series`]),
//! and the frame decoder for every transfer syntax the fixtures cover
//! ([`decode_scan`], [`render_frame`]).
//!
//! A seeded mutator (stable Rust: no cargo-fuzz) starts from the committed
//! real fixtures (`fixtures/dicom/*.dcm`, the series zips and their
//! entries) and applies bit flips, interesting values, DICOM length-field
//! and image-attribute corruption (Rows, Columns, Bits Allocated, Number of
//! Frames…), zip header corruption (sizes, offsets, counts, methods),
//! truncations, deletions, duplications, insertions and splices from
//! another fixture; series are also rebuilt from a random subset of a zip's
//! entries (loose, or re-zipped stored or deflated) with some entries
//! mutated. Input `i` of seed `s` is a pure function of `(s, i)`, so any
//! finding is reproduced from its numbers.
//!
//! Counted per input, on the fuzzing thread:
//! - panics: every panic, including those `decode_scan` and the header
//!   reader catch and turn into errors (a panic hook counts them before any
//!   `catch_unwind`), and any that escapes the public API;
//! - hangs: an input over the per-input time bound (a watchdog aborts the
//!   process and prints the input's numbers);
//! - memory: the peak of live heap bytes while handling the input (a
//!   counting global allocator); over [`MEMORY_BOUND`] is a blowup.
//!
//! The normal suite runs [`fuzz_short`] (fixed seed, a few seconds). The long
//! run: `cargo xtask fuzz` (release; see its `--help`), or directly
//! `FUZZ_ITERS=100000 FUZZ_SECS=1800 cargo test --release -p assay-render
//! --test fuzz -- --ignored --nocapture fuzz_long`. `FUZZ_SEED` picks the
//! seed, `FUZZ_ONLY=i` reruns input `i` alone and writes it to
//! `target/fuzz/`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails
#![allow(unsafe_code)] // the counting global allocator that measures each input's peak heap

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use assay_render::archive::{self, ArchiveLimits};
use assay_render::series::{open_series, ReadFile, SeriesFile, SliceCache};
use assay_render::{decode_scan, pixel_value, render_frame};

// ------------------------------------------------------------ memory bound

/// Live heap bytes (all threads; the fuzzing thread is the only busy one).
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// A single allocation larger than this is refused (the process aborts with
/// the input's numbers): no bound of the code under test is this large.
const REFUSED_ALLOCATION: usize = 3 << 30;
/// Peak live heap while handling one input over this is a blowup (the
/// largest legitimate decode bound is `MAX_INFLATED`, 1 GiB, and the
/// fixtures are tiny, so any input near it is a finding).
const MEMORY_BOUND: usize = 512 << 20;

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > REFUSED_ALLOCATION {
            say_refused(layout.size());
            return std::ptr::null_mut();
        }
        let p = System.alloc(layout);
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > REFUSED_ALLOCATION {
            say_refused(new_size);
            return std::ptr::null_mut();
        }
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The input being handled (seed, index), for messages printed where
/// nothing may allocate.
static CURRENT_SEED: AtomicU64 = AtomicU64::new(0);
static CURRENT_INPUT: AtomicU64 = AtomicU64::new(u64::MAX);
/// Milliseconds since [`epoch`] when the current input started (0: idle).
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn say_refused(size: usize) {
    let msg = format!(
        "\nfuzz: refused a {size}-byte allocation on input {} of seed {}\n",
        CURRENT_INPUT.load(Ordering::Relaxed),
        CURRENT_SEED.load(Ordering::Relaxed)
    );
    // `format!` allocates a few bytes, far under the refusal size.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
    }
}

// ----------------------------------------------------------- panic counter

thread_local! {
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    static PANICS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Installs (once) a hook that records every panic on a fuzzing thread
/// (where it happened), caught later or not, and defers to the default
/// hook elsewhere.
fn install_panic_counter() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(Cell::get) {
                let at = info
                    .location()
                    .map_or_else(|| "?".into(), |l| format!("{}:{}", l.file(), l.line()));
                let what = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let what: String = what.chars().take(160).collect();
                PANICS.with(|p| p.borrow_mut().push(format!("{at}: {what}")));
            } else {
                default(info);
            }
        }));
    });
}

// -------------------------------------------------------------- hang bound

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64 + 1
}

/// Starts (once) a watchdog that aborts the process, naming the input,
/// when one input runs longer than `bound`.
fn start_watchdog(bound: Duration) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bound_ms = bound.as_millis() as u64;
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let started = STARTED_MS.load(Ordering::Relaxed);
            if started != 0 && now_ms().saturating_sub(started) > bound_ms {
                eprintln!(
                    "\nfuzz: HANG: input {} of seed {} ran over {} ms",
                    CURRENT_INPUT.load(Ordering::Relaxed),
                    CURRENT_SEED.load(Ordering::Relaxed),
                    bound_ms
                );
                std::process::abort();
            }
        });
    });
}

// ------------------------------------------------------------------ inputs

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, input: u64) -> Self {
        let mut r = Rng(seed ^ input.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

struct Corpus {
    /// Single DICOM files (the codec and class fixtures).
    files: Vec<(String, Vec<u8>)>,
    /// The series zips, raw.
    zips: Vec<(String, Vec<u8>)>,
    /// Each zip's entries (name, bytes).
    entries: Vec<Vec<(String, Vec<u8>)>>,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dicom")
}

fn corpus() -> Corpus {
    let mut files = Vec::new();
    let mut zips = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        match p.extension().and_then(|e| e.to_str()) {
            Some("dcm") => files.push((name, std::fs::read(&p).unwrap())),
            Some("zip") => zips.push((name, std::fs::read(&p).unwrap())),
            _ => {}
        }
    }
    assert!(files.len() >= 40, "the DICOM fixtures are missing");
    assert_eq!(zips.len(), 3, "the series zips are missing");
    let entries = zips.iter().map(|(_, z)| support::zip_entries(z)).collect();
    Corpus {
        files,
        zips,
        entries,
    }
}

/// What one input is.
#[derive(Debug, Clone)]
enum Case {
    /// One DICOM file: decoded alone and opened as a one-file series.
    Dicom(Vec<u8>),
    /// A series of loose files.
    Files(Vec<(String, Vec<u8>)>),
    /// A series delivered as one zip.
    Zip(Vec<u8>),
}

const INTERESTING_U16: &[u16] = &[
    0, 1, 2, 3, 7, 8, 12, 15, 16, 17, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE,
    0xFFFF,
];
const INTERESTING_U32: &[u32] = &[
    0,
    1,
    2,
    0xFF,
    0x100,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];
/// Two-byte-length VRs of explicit VR (the others have a 4-byte length
/// after two reserved bytes).
const SHORT_VRS: &[&[u8; 2]] = &[
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];
const LONG_VRS: &[&[u8; 2]] = &[
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];
/// Image attributes (group 0028) and a few that steer parsing: mutating
/// their values reaches the size, depth and frame checks.
const IMAGE_TAGS: &[(u16, u16)] = &[
    (0x0028, 0x0002), // Samples per Pixel
    (0x0028, 0x0004), // Photometric Interpretation
    (0x0028, 0x0006), // Planar Configuration
    (0x0028, 0x0008), // Number of Frames
    (0x0028, 0x0010), // Rows
    (0x0028, 0x0011), // Columns
    (0x0028, 0x0100), // Bits Allocated
    (0x0028, 0x0101), // Bits Stored
    (0x0028, 0x0102), // High Bit
    (0x0028, 0x0103), // Pixel Representation
    (0x0028, 0x1052), // Rescale Intercept
    (0x0028, 0x1053), // Rescale Slope
    (0x0028, 0x1101), // Red Palette Descriptor
    (0x0028, 0x1201), // Red Palette Data
    (0x0002, 0x0010), // Transfer Syntax UID
    (0x0002, 0x0000), // File Meta group length
    (0x0020, 0x0032), // Image Position (Patient)
    (0x0020, 0x0037), // Image Orientation (Patient)
    (0x0020, 0x0013), // Instance Number
    (0x7FE0, 0x0010), // Pixel Data
    (0xFFFE, 0xE000), // Item
];
const INTERESTING_TEXT: &[&str] = &[
    "",
    "0",
    "-1",
    "1e308",
    "NaN",
    "inf",
    "4294967296",
    "99999999999",
    "1\\2",
    "1\\2\\3\\4\\5\\6\\7",
    "MONOCHROME1",
    "RGB",
    "YBR_FULL_422",
    "PALETTE COLOR",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2",
];

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&i| &hay[i..i + needle.len()] == needle)
        .collect()
}

/// Overwrite `b` from `at` with the number whose big-endian bytes are `be`,
/// big- or little-endian (the bytes reversed), as far as `b` reaches.
fn put_bytes(b: &mut [u8], at: usize, be: &[u8], big: bool) {
    let n = be.len();
    for (k, slot) in b.iter_mut().skip(at).take(n).enumerate() {
        *slot = if big { be[k] } else { be[n - 1 - k] };
    }
}

fn put_u16(b: &mut [u8], at: usize, v: u16, big: bool) {
    put_bytes(b, at, &v.to_be_bytes(), big);
}

fn put_u32(b: &mut [u8], at: usize, v: u32, big: bool) {
    put_bytes(b, at, &v.to_be_bytes(), big);
}

fn insert_at(b: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let tail = b.split_off(at.min(b.len()));
    b.extend_from_slice(bytes);
    b.extend_from_slice(&tail);
}

/// Most bytes one input may grow to (insertions and duplications).
const MAX_INPUT: usize = 4 << 20;

/// One mutation of a file's bytes.
fn mutate(b: &mut Vec<u8>, rng: &mut Rng, corpus: &Corpus) {
    if b.is_empty() {
        b.push(rng.next() as u8);
        return;
    }
    let at = rng.below(b.len());
    match rng.below(14) {
        0 => b[at] ^= 1 << rng.below(8),
        1 => b[at] = *rng.pick(&[0u8, 1, 0x7F, 0x80, 0xFE, 0xFF]),
        2 => put_u16(b, at, *rng.pick(INTERESTING_U16), rng.chance(20)),
        3 => put_u32(b, at, *rng.pick(INTERESTING_U32), rng.chance(20)),
        // A DICOM element's length field.
        4 | 5 => {
            let mut hits = Vec::new();
            for vr in SHORT_VRS.iter().chain(LONG_VRS) {
                for p in find_all(b, &vr[..]) {
                    hits.push((p, LONG_VRS.contains(vr)));
                }
            }
            // Implicit VR files: any tag's length is the 4 bytes after it.
            let (p, long) = if hits.is_empty() || rng.chance(15) {
                (at.saturating_sub(at % 2), true)
            } else {
                let (p, long) = *rng.pick(&hits);
                (if long { p + 4 } else { p + 2 }, long)
            };
            let rest = b.len().saturating_sub(p) as u32;
            if long {
                let v = match rng.below(4) {
                    0 => *rng.pick(INTERESTING_U32),
                    1 => rest.wrapping_add(rng.below(16) as u32).wrapping_sub(8),
                    2 => rng.next() as u32,
                    _ => (rng.below(64) as u32) * 2 + rng.below(2) as u32,
                };
                put_u32(b, p, v, false);
            } else {
                let v = match rng.below(3) {
                    0 => *rng.pick(INTERESTING_U16),
                    1 => rng.next() as u16,
                    _ => (rng.below(64) as u16) * 2 + rng.below(2) as u16,
                };
                put_u16(b, p, v, false);
            }
        }
        // The value of an image attribute (little-endian tag bytes).
        6 | 7 => {
            let (g, e) = *rng.pick(IMAGE_TAGS);
            let mut tag = Vec::new();
            tag.extend_from_slice(&g.to_le_bytes());
            tag.extend_from_slice(&e.to_le_bytes());
            let hits = find_all(b, &tag);
            if hits.is_empty() {
                b[at] ^= 0xFF;
                return;
            }
            let p = *rng.pick(&hits) + 8;
            match rng.below(3) {
                0 => put_u16(b, p, *rng.pick(INTERESTING_U16), false),
                1 => put_u32(b, p, *rng.pick(INTERESTING_U32), false),
                _ => {
                    let text = rng.pick(INTERESTING_TEXT).as_bytes();
                    for (k, x) in text.iter().enumerate() {
                        if let Some(slot) = b.get_mut(p + k) {
                            *slot = *x;
                        }
                    }
                }
            }
        }
        // Zip structures: sizes, offsets, counts, methods, name lengths.
        8 => {
            let sigs: [(&[u8], &[usize]); 3] = [
                (b"PK\x03\x04", &[8, 14, 18, 22, 26, 28]),
                (b"PK\x01\x02", &[10, 16, 20, 24, 28, 30, 32, 42]),
                (b"PK\x05\x06", &[8, 10, 12, 16, 20]),
            ];
            let (sig, fields) = sigs[rng.below(3)];
            let hits = find_all(b, sig);
            if hits.is_empty() {
                b[at] ^= 0x55;
                return;
            }
            let p = *rng.pick(&hits) + *rng.pick(fields);
            if rng.chance(50) {
                put_u16(b, p, *rng.pick(INTERESTING_U16), false);
            } else {
                put_u32(b, p, *rng.pick(INTERESTING_U32), false);
            }
        }
        9 => {
            let keep = if rng.chance(30) {
                b.len().saturating_sub(1 + rng.below(64))
            } else {
                at
            };
            b.truncate(keep);
        }
        10 => {
            let n = 1 + rng.below(b.len().min(4096));
            let end = (at + n).min(b.len());
            b.drain(at..end);
        }
        11 => {
            let n = 1 + rng.below(b.len().min(4096));
            let end = (at + n).min(b.len());
            let chunk = b[at..end].to_vec();
            if b.len() + chunk.len() <= MAX_INPUT {
                let to = rng.below(b.len() + 1);
                insert_at(b, to, &chunk);
            }
        }
        12 => {
            let n = 1 + rng.below(64);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            insert_at(b, at, &bytes);
        }
        // Splice from another fixture (overwrite or insert).
        _ => {
            let (_, other) = rng.pick(&corpus.files);
            if other.is_empty() {
                return;
            }
            let from = rng.below(other.len());
            let n = 1 + rng.below((other.len() - from).min(2048));
            let chunk = &other[from..from + n];
            if rng.chance(50) {
                for (k, x) in chunk.iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + k) {
                        *slot = *x;
                    }
                }
            } else if b.len() + n <= MAX_INPUT {
                insert_at(b, at, chunk);
            }
        }
    }
}

fn mutate_times(b: &mut Vec<u8>, rng: &mut Rng, corpus: &Corpus) {
    for _ in 0..=rng.below(4) {
        mutate(b, rng, corpus);
    }
}

fn zip_of(files: &[(String, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    // Subsets may repeat an entry: names made unique, as a PACS export's are.
    for (k, (name, data)) in files.iter().enumerate() {
        w.start_file(format!("{k:03}-{name}"), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A subset of a zip's entries, some mutated.
fn subset(rng: &mut Rng, corpus: &Corpus) -> Vec<(String, Vec<u8>)> {
    let entries = rng.pick(&corpus.entries);
    let k = 2 + rng.below(11);
    let mut files: Vec<(String, Vec<u8>)> = (0..k).map(|_| rng.pick(entries).clone()).collect();
    for _ in 0..=rng.below(3) {
        let i = rng.below(files.len());
        if rng.chance(10) {
            // A slice from elsewhere (another series, a codec fixture).
            files[i] = rng.pick(&corpus.files).clone();
        } else {
            mutate_times(&mut files[i].1, rng, corpus);
        }
    }
    files
}

/// Input `input` of seed `seed`.
fn case(seed: u64, input: u64, corpus: &Corpus) -> Case {
    let mut rng = Rng::new(seed, input);
    match rng.below(100) {
        0..=54 => {
            let mut b = if rng.chance(20) {
                let entries = rng.pick(&corpus.entries);
                rng.pick(entries).1.clone()
            } else {
                rng.pick(&corpus.files).1.clone()
            };
            mutate_times(&mut b, &mut rng, corpus);
            Case::Dicom(b)
        }
        55..=79 => Case::Files(subset(&mut rng, corpus)),
        80..=91 => {
            let files = subset(&mut rng, corpus);
            let mut z = zip_of(&files, rng.chance(50));
            for _ in 0..rng.below(3) {
                mutate(&mut z, &mut rng, corpus);
            }
            Case::Zip(z)
        }
        _ => {
            // The whole fixture zip; the 300-slice one a quarter of the time.
            let (_, z) = if rng.chance(25) {
                &corpus.zips[corpus
                    .zips
                    .iter()
                    .position(|z| z.0.contains("ct300"))
                    .unwrap()]
            } else {
                rng.pick(&corpus.zips)
            };
            let mut z = z.clone();
            mutate_times(&mut z, &mut rng, corpus);
            Case::Zip(z)
        }
    }
}

// ----------------------------------------------------------------- targets

/// Opens a series and decodes a few slices of each stack (first, middle,
/// last) through a small slice cache, as the viewer does.
fn run_series(files: Vec<(String, Vec<u8>)>) {
    let list: Vec<SeriesFile> = files
        .iter()
        .map(|(n, _)| SeriesFile {
            name: n.clone(),
            media_type: if n.to_ascii_lowercase().ends_with(".zip") {
                "application/zip".into()
            } else {
                "application/dicom".into()
            },
        })
        .collect();
    let data: Arc<Vec<Vec<u8>>> = Arc::new(files.into_iter().map(|(_, d)| d).collect());
    let read: ReadFile =
        Arc::new(move |i| data.get(i).cloned().ok_or_else(|| format!("no file {i}")));
    let Ok(series) = open_series(&list, read, ArchiveLimits::default()) else {
        return;
    };
    let cache: SliceCache<(usize, u32)> = SliceCache::new(8 << 20);
    for (k, stack) in series.view().stacks.iter().enumerate().take(3) {
        let n = stack.slices;
        for index in [0, n / 2, n.saturating_sub(1), n] {
            if let Ok(scan) = cache.get_or_decode(&(k, index), || series.decode_slice(k, index)) {
                let _ = render_frame(&scan, 0, stack.info.default_window);
            }
        }
    }
}

fn run_dicom(bytes: &[u8]) {
    if let Ok(scan) = decode_scan(bytes, "application/dicom") {
        let (w, h) = (scan.info.width, scan.info.height);
        for f in [0, scan.info.frames.saturating_sub(1), scan.info.frames] {
            let _ = scan.samples(f);
            let _ = render_frame(&scan, f, scan.info.default_window);
            let _ = pixel_value(&scan, f, w / 2, h / 2);
            let _ = pixel_value(&scan, f, w, h);
        }
    }
    run_series(vec![("input.dcm".into(), bytes.to_vec())]);
}

fn run_zip(bytes: &[u8]) {
    // The archive reader on its own, every entry…
    let limits = ArchiveLimits::default();
    if let Ok(entries) = archive::list_entries("input.zip", bytes, &limits) {
        for e in entries.iter().take(64) {
            let _ = archive::read_entry("input.zip", bytes, e.index, &limits);
        }
    }
    // …and as a series.
    run_series(vec![("input.zip".into(), bytes.to_vec())]);
}

fn run_case(case: Case) {
    match case {
        Case::Dicom(b) => run_dicom(&b),
        Case::Files(f) => run_series(f),
        Case::Zip(z) => run_zip(&z),
    }
}

// ------------------------------------------------------------------ driver

#[derive(Debug, Default)]
struct Report {
    inputs: u64,
    /// Panics by place (<file:line>: message): count and first input.
    panics: BTreeMap<String, (u64, u64)>,
    escaped: u64,
    blowups: Vec<(u64, usize)>,
    peak_bytes: usize,
    slowest: (u64, Duration),
    by_kind: [u64; 3],
}

impl Report {
    fn panic_count(&self) -> u64 {
        self.panics.values().map(|v| v.0).sum()
    }
}

/// Runs one input with the counters armed; returns (panics, escaped,
/// peak heap growth, time).
fn run_one(seed: u64, input: u64, case: Case) -> (Vec<String>, bool, usize, Duration) {
    CURRENT_SEED.store(seed, Ordering::Relaxed);
    CURRENT_INPUT.store(input, Ordering::Relaxed);
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    FUZZING.with(|f| f.set(true));
    let t = Instant::now();
    STARTED_MS.store(now_ms(), Ordering::Relaxed);
    let escaped = catch_unwind(AssertUnwindSafe(|| run_case(case))).is_err();
    STARTED_MS.store(0, Ordering::Relaxed);
    let took = t.elapsed();
    FUZZING.with(|f| f.set(false));
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let panics = PANICS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    (panics, escaped, peak, took)
}

fn fuzz(seed: u64, iters: u64, budget: Duration, hang: Duration, progress: bool) -> Report {
    install_panic_counter();
    start_watchdog(hang);
    let corpus = corpus();
    let mut report = Report::default();
    let start = Instant::now();
    for input in 0..iters {
        if start.elapsed() > budget {
            break;
        }
        let case = case(seed, input, &corpus);
        report.by_kind[match case {
            Case::Dicom(_) => 0,
            Case::Files(_) => 1,
            Case::Zip(_) => 2,
        }] += 1;
        let (panics, escaped, peak, took) = run_one(seed, input, case);
        report.inputs += 1;
        for p in panics {
            report.panics.entry(p).or_insert((0, input)).0 += 1;
        }
        if escaped {
            report.escaped += 1;
        }
        if peak > MEMORY_BOUND {
            report.blowups.push((input, peak));
        }
        report.peak_bytes = report.peak_bytes.max(peak);
        if took > report.slowest.1 {
            report.slowest = (input, took);
        }
        if progress && (input + 1) % 10_000 == 0 {
            eprintln!(
                "fuzz: {} inputs, {:.0} s, {} panics",
                input + 1,
                start.elapsed().as_secs_f64(),
                report.panic_count()
            );
        }
    }
    report
}

fn print(seed: u64, r: &Report, secs: f64) {
    println!(
        "fuzz: seed {seed}: {} inputs ({} single files, {} loose series, {} zips) in {secs:.1} s",
        r.inputs, r.by_kind[0], r.by_kind[1], r.by_kind[2]
    );
    println!(
        "fuzz: panics {} (escaped the API: {}), hangs 0, memory blowups (> {} MiB) {}",
        r.panic_count(),
        r.escaped,
        MEMORY_BOUND >> 20,
        r.blowups.len()
    );
    println!(
        "fuzz: largest heap growth on one input {:.1} MiB; slowest input {} ({} ms)",
        r.peak_bytes as f64 / 1048576.0,
        r.slowest.0,
        r.slowest.1.as_millis()
    );
    for (at, (n, first)) in &r.panics {
        println!("fuzz: panic x{n} (first on input {first}): {at}");
    }
    for (input, peak) in &r.blowups {
        println!(
            "fuzz: blowup on input {input}: {:.1} MiB",
            *peak as f64 / 1048576.0
        );
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bounded run of the normal suite: a fixed seed, a fixed number of
/// inputs (a few seconds in a debug build), nothing may panic, hang or
/// blow up.
#[test]
fn fuzz_short() {
    let seed = 16;
    let t = Instant::now();
    let r = fuzz(
        seed,
        env_u64("FUZZ_SHORT_ITERS", 600),
        Duration::from_secs(120),
        Duration::from_secs(60),
        false,
    );
    print(seed, &r, t.elapsed().as_secs_f64());
    assert!(r.inputs >= 100, "too few inputs ran: {}", r.inputs);
    assert_eq!(r.panic_count(), 0, "panics: {:?}", r.panics);
    assert_eq!(r.escaped, 0);
    assert!(r.blowups.is_empty(), "memory blowups: {:?}", r.blowups);
}

/// Every input the fuzzer found and that is kept under
/// `fixtures/fuzz/` runs again with the counters armed: no panic, and a
/// heap growth far under the blowup bound. The first,
/// `blowup_seed16_input121.dcm` (Explicit VR Big Endian, junk after the
/// pixel data whose declared length read as 2.2 GB), grew the heap by
/// 2.1 GiB before the stream walker learnt big endian;
/// `blowup_seed2_input14776.dcm` (Bits Allocated declared 75 bytes, which
/// the parser reads as 37 values, 74 bytes, and so part ways with the
/// walker) asked for 4.0 GiB before the walker refused numeric values
/// that are not a whole number of values.
#[test]
fn kept_findings_stay_bounded() {
    const KEPT_BOUND: usize = 64 << 20;
    install_panic_counter();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for kept in [
        "blowup_seed16_input121.dcm",
        "blowup_seed1_input1586.dcm",
        "blowup_seed1_input31464.dcm",
        "blowup_seed2_input3889.dcm",
        "blowup_seed2_input14776.dcm",
    ] {
        assert!(
            names.iter().any(|p| p.ends_with(kept)),
            "the kept finding {kept} is missing from {}",
            dir.display()
        );
    }
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let case = if path.extension().is_some_and(|e| e == "zip") {
            Case::Zip(bytes)
        } else {
            Case::Dicom(bytes)
        };
        let (panics, escaped, peak, _) = run_one(0, 0, case);
        assert!(
            panics.is_empty() && !escaped,
            "{}: panics {panics:?}",
            path.display()
        );
        assert!(
            peak < KEPT_BOUND,
            "{}: heap grew by {peak} bytes (bound {KEPT_BOUND})",
            path.display()
        );
    }
}

/// The long run (`cargo xtask fuzz`): `FUZZ_ITERS` inputs or `FUZZ_SECS`
/// seconds, whichever ends first, from `FUZZ_SEED`; `FUZZ_ONLY=i` runs input
/// `i` alone and writes it to target/fuzz/.
#[test]
#[ignore = "long; run by `cargo xtask fuzz`"]
fn fuzz_long() {
    let seed = env_u64("FUZZ_SEED", 1);
    if let Ok(only) = std::env::var("FUZZ_ONLY") {
        let input: u64 = only.parse().expect("FUZZ_ONLY=index");
        let corpus = corpus();
        let case = case(seed, input, &corpus);
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz");
        std::fs::create_dir_all(&dir).unwrap();
        match &case {
            Case::Dicom(b) => std::fs::write(dir.join(format!("{seed}-{input}.dcm")), b).unwrap(),
            Case::Zip(b) => std::fs::write(dir.join(format!("{seed}-{input}.zip")), b).unwrap(),
            Case::Files(f) => {
                std::fs::write(dir.join(format!("{seed}-{input}.zip")), zip_of(f, false)).unwrap();
            }
        }
        install_panic_counter();
        let (panics, escaped, peak, took) = run_one(seed, input, case);
        println!(
            "input {input}: panics {panics:?}, escaped {escaped}, heap +{peak} bytes, {} ms; written to {}",
            took.as_millis(),
            dir.display()
        );
        return;
    }
    let iters = env_u64("FUZZ_ITERS", 100_000);
    let secs = env_u64("FUZZ_SECS", 3600);
    let hang = env_u64("FUZZ_HANG_SECS", 10);
    let t = Instant::now();
    let r = fuzz(
        seed,
        iters,
        Duration::from_secs(secs),
        Duration::from_secs(hang),
        true,
    );
    print(seed, &r, t.elapsed().as_secs_f64());
    assert_eq!(r.panic_count(), 0, "panics: {:?}", r.panics);
    assert_eq!(r.escaped, 0);
    assert!(r.blowups.is_empty(), "memory blowups: {:?}", r.blowups);
}
