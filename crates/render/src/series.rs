//! Series: a CT or MR study as many single-frame DICOM files (or zip
//! archives of them), shown as stacks of slices.
//!
//! [`open_series`] reads every file's header (not its pixels), splits the
//! files into stacks of one size and orientation (a mixed series is split
//! and each stack labelled), and orders each stack along its slice normal
//! by Image Position (Patient) (falling back to Instance Number, then the
//! file name), with warnings for gaps, duplicate positions and tilted
//! (sheared) stacks. Slices are decoded on demand by [`Series::decode_slice`];
//! [`SliceCache`] keeps decoded slices under a byte budget, least recently
//! used first out.

use std::hash::Hash;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use ts_rs::TS;

use crate::archive::{self, ArchiveLimits};
use crate::error::RenderError;
use crate::scan::{decode_scan, dicom_header, DicomHeader, Scan, ScanInfo};

/// Reads the bytes of input file `i` (an attachment of the series).
pub type ReadFile = Arc<dyn Fn(usize) -> Result<Vec<u8>, String> + Send + Sync>;

/// One input file of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesFile {
    /// File name (as in the item or the archive), used in labels and warnings.
    pub name: String,
    /// MIME type of the file (e.g. `application/dicom`, `application/zip`).
    pub media_type: String,
}

/// Most slices one series may hold (all stacks together).
pub const MAX_SLICES: usize = 20_000;

/// Where a slice's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    File(usize),
    Entry { archive: usize, index: usize },
}

#[derive(Debug, Clone)]
struct Slice {
    location: Location,
    name: String,
    header: DicomHeader,
    /// Position along the stack's normal (mm), when known.
    position: Option<f64>,
}

/// A stack as the UI shows it: its slices are frames `0..slices` of a
/// [`ScanInfo`] (taken from its first slice), and the series-wide index of
/// its first slice is `first` (regions record series-wide slice indices).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct StackView {
    /// E.g. "CT axial 512×512 · 300 slices · CHEST".
    pub label: String,
    /// Series-wide index of the stack's first slice.
    pub first: u32,
    /// Number of slices (the frames `0..slices` of `info`).
    pub slices: u32,
    /// Axial, coronal, sagittal or oblique (or unknown).
    pub orientation: String,
    /// Each slice's position along the slice normal in mm (empty when the
    /// files give no geometry).
    pub positions_mm: Vec<f64>,
    /// Typical distance between neighbouring slices (median), in mm.
    pub spacing_mm: Option<f64>,
    /// File name of each slice (as ordered), for the status line.
    pub names: Vec<String>,
    /// Facts about the stack, taken from its first slice; `frames` is the slice count.
    pub info: ScanInfo,
    /// What the reviewer should know about the stack: gaps, duplicate positions, gantry tilt, files left out.
    pub warnings: Vec<String>,
}

/// A series' layout without pixels.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SeriesView {
    /// The stacks in order of first appearance.
    pub stacks: Vec<StackView>,
    /// Slices over all stacks (series-wide indices run `0..total_slices`).
    pub total_slices: u32,
    /// About the series as a whole: files left out and why, a split.
    pub warnings: Vec<String>,
}

struct Stack {
    slices: Vec<Slice>,
}

/// An opened series: the ordered stacks and a way to read their slices.
pub struct Series {
    read: ReadFile,
    archives: Vec<(String, Arc<Vec<u8>>)>,
    limits: ArchiveLimits,
    stacks: Vec<Stack>,
    view: SeriesView,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("stacks", &self.stacks.len())
            .field("total_slices", &self.view.total_slices)
            .finish()
    }
}

fn unsupported(reason: impl Into<String>) -> RenderError {
    RenderError::UnsupportedScan {
        reason: reason.into(),
    }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// The unit slice normal of an orientation (row × column direction).
fn normal_of(o: &[f64; 6]) -> Option<[f64; 3]> {
    let n = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    let len = norm(n);
    (len.is_finite() && len > 1e-6).then(|| [n[0] / len, n[1] / len, n[2] / len])
}

fn orientation_name(n: Option<[f64; 3]>) -> String {
    let Some(n) = n else {
        return "unknown".into();
    };
    let (ax, ay, az) = (n[0].abs(), n[1].abs(), n[2].abs());
    let (name, main) = if az >= ax && az >= ay {
        ("axial", az)
    } else if ay >= ax {
        ("coronal", ay)
    } else {
        ("sagittal", ax)
    };
    // Within ~2.5° of the axis: a plain plane; otherwise oblique.
    if main > 0.999 {
        name.into()
    } else {
        format!("oblique {name}")
    }
}

/// What splits a mixed series: series, size and orientation (rounded).
type StackKey = (String, u32, u32, Option<[i64; 6]>);

/// The key of a slice's stack.
fn stack_key(h: &DicomHeader) -> StackKey {
    (
        h.series_uid.clone().unwrap_or_default(),
        h.rows,
        h.cols,
        h.orientation
            .map(|o| o.map(|v| (v * 1000.0).round() as i64)),
    )
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// Positions closer than this (mm) are the same position.
const SAME_POSITION_MM: f64 = 0.01;

/// At most this many gap / duplicate warnings are itemised per stack.
const LISTED: usize = 3;

/// Indices of the steps between neighbouring slices that `pick` picks.
fn steps_where(steps: &[f64], pick: impl Fn(f64) -> bool) -> Vec<usize> {
    (0..steps.len()).filter(|&i| pick(steps[i])).collect()
}

/// Step `i` in words: "slices i+1 and i+2" (1-based).
fn neighbours(i: usize) -> String {
    format!("slices {} and {}", i + 1, i + 2)
}

/// The first [`LISTED`] of `indices` as `describe` words them, joined, and
/// ", …" when there are more; `None` when there are none.
fn listed(indices: &[usize], describe: impl Fn(usize) -> String) -> Option<String> {
    if indices.is_empty() {
        return None;
    }
    let shown: Vec<String> = indices.iter().take(LISTED).map(|&i| describe(i)).collect();
    let more = if indices.len() > LISTED { ", …" } else { "" };
    Some(format!("{}{more}", shown.join(", ")))
}

/// Orders one stack's slices and says what is unusual about it.
fn order_stack(slices: &mut [Slice]) -> Vec<String> {
    let mut warnings = Vec::new();
    let normal = slices
        .first()
        .and_then(|s| s.header.orientation.as_ref())
        .and_then(normal_of);
    let geometric = normal.is_some() && slices.iter().all(|s| s.header.position.is_some());
    if let (true, Some(n)) = (geometric, normal) {
        for s in slices.iter_mut() {
            s.position = s.header.position.map(|p| dot(p, n));
        }
        slices.sort_by(|a, b| {
            a.position
                .unwrap_or(0.0)
                .total_cmp(&b.position.unwrap_or(0.0))
                .then(a.header.instance.cmp(&b.header.instance))
                .then(a.name.cmp(&b.name))
        });
        let steps: Vec<f64> = slices
            .windows(2)
            .filter_map(|w| Some(w[1].position? - w[0].position?))
            .collect();
        let dupes = steps_where(&steps, |d| d < SAME_POSITION_MM);
        let at = |i: usize| {
            format!(
                "{} at {:.2} mm",
                neighbours(i),
                slices[i].position.unwrap_or(0.0)
            )
        };
        if let Some(shown) = listed(&dupes, at) {
            warnings.push(format!(
                "{} duplicate slice position(s): {shown}; they are shown one after the other",
                dupes.len()
            ));
        }
        let typical = median(
            steps
                .iter()
                .copied()
                .filter(|d| *d >= SAME_POSITION_MM)
                .collect(),
        );
        if let Some(t) = typical {
            let gaps = steps_where(&steps, |d| d > t * 1.5 + SAME_POSITION_MM);
            let gap = |i: usize| format!("{:.2} mm between {}", steps[i], neighbours(i));
            if let Some(shown) = listed(&gaps, gap) {
                warnings.push(format!(
                    "{} gap(s) in the stack (slices are {t:.2} mm apart elsewhere): {shown}",
                    gaps.len()
                ));
            }
        }
        // Positions that move off the normal: a gantry tilt (CT) or a
        // sheared acquisition. Ordering along the normal stays right.
        if let (Some(n), Some(a), Some(b)) = (
            normal,
            slices.first().and_then(|s| s.header.position),
            slices.last().and_then(|s| s.header.position),
        ) {
            let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let len = norm(d);
            if len > SAME_POSITION_MM {
                let cos = (dot(d, n) / len).abs().min(1.0);
                let angle = cos.acos().to_degrees();
                if angle > 0.5 {
                    warnings.push(format!(
                        "the slices are offset along an axis tilted {angle:.1}° from their normal \
                         (gantry tilt); positions are measured along the normal"
                    ));
                }
            }
        }
    } else if slices.iter().all(|s| s.header.instance.is_some()) {
        warnings.push(
            "some slices have no Image Position (Patient) or Image Orientation (Patient); \
             ordered by Instance Number"
                .into(),
        );
        slices.sort_by(|a, b| {
            a.header
                .instance
                .cmp(&b.header.instance)
                .then(a.name.cmp(&b.name))
        });
        let dupes = slices
            .windows(2)
            .filter(|w| w[0].header.instance == w[1].header.instance)
            .count();
        if dupes > 0 {
            warnings.push(format!("{dupes} duplicate Instance Number(s)"));
        }
        let gaps = slices
            .windows(2)
            .filter(|w| {
                matches!((w[0].header.instance, w[1].header.instance),
                    (Some(a), Some(b)) if b.saturating_sub(a) > 1)
            })
            .count();
        if gaps > 0 {
            warnings.push(format!("{gaps} gap(s) in the Instance Numbers"));
        }
    } else {
        warnings.push(
            "the slices carry neither Image Position (Patient) nor Instance Number; \
             ordered by file name"
                .into(),
        );
        slices.sort_by(|a, b| a.name.cmp(&b.name));
    }
    warnings
}

/// Opens a series: reads each file's header (archives are listed and their
/// entries read within `limits`), splits and orders the stacks and decodes
/// each stack's first slice for its [`ScanInfo`]. A file that cannot be
/// read is left out with a warning naming it; no usable slice is an error.
pub fn open_series(
    files: &[SeriesFile],
    read: ReadFile,
    limits: ArchiveLimits,
) -> Result<Series, RenderError> {
    let mut warnings = Vec::new();
    let mut slices: Vec<Slice> = Vec::new();
    let mut archives: Vec<(String, Arc<Vec<u8>>)> = Vec::new();
    let mut skipped = 0usize;
    let mut skip = |warnings: &mut Vec<String>, name: &str, why: String| {
        skipped += 1;
        if skipped <= LISTED * 2 {
            warnings.push(format!("{name} is left out: {why}"));
        }
    };
    for (i, f) in files.iter().enumerate() {
        let bytes = match read(i) {
            Ok(b) => b,
            Err(e) => {
                skip(&mut warnings, &f.name, e);
                continue;
            }
        };
        if archive::is_zip(&bytes) || f.media_type == "application/zip" {
            let entries = match archive::list_entries(&f.name, &bytes, &limits) {
                Ok(e) => e,
                Err(e) => {
                    skip(&mut warnings, &f.name, reason(e));
                    continue;
                }
            };
            let bytes = Arc::new(bytes);
            let archive = archives.len();
            archives.push((f.name.clone(), bytes.clone()));
            for e in entries {
                let name = format!("{}/{}", f.name, e.name);
                if slices.len() >= MAX_SLICES {
                    return Err(unsupported(format!(
                        "the series has more than {MAX_SLICES} slices"
                    )));
                }
                let header = archive::read_entry(&f.name, &bytes, e.index, &limits)
                    .and_then(|b| dicom_header(&b));
                match header {
                    Ok(h) => slices.push(Slice {
                        location: Location::Entry {
                            archive,
                            index: e.index,
                        },
                        name,
                        header: h,
                        position: None,
                    }),
                    Err(err) => skip(&mut warnings, &name, reason(err)),
                }
            }
            continue;
        }
        if slices.len() >= MAX_SLICES {
            return Err(unsupported(format!(
                "the series has more than {MAX_SLICES} slices"
            )));
        }
        match dicom_header(&bytes) {
            Ok(h) => slices.push(Slice {
                location: Location::File(i),
                name: f.name.clone(),
                header: h,
                position: None,
            }),
            Err(err) => skip(&mut warnings, &f.name, reason(err)),
        }
    }
    if skipped > LISTED * 2 {
        warnings.push(format!("{} more file(s) left out", skipped - LISTED * 2));
    }
    let multi: Vec<usize> = slices
        .iter()
        .enumerate()
        .filter(|(_, s)| s.header.frames > 1)
        .map(|(i, _)| i)
        .collect();
    for &i in multi.iter().rev() {
        let s = slices.remove(i);
        warnings.push(format!(
            "{} is left out: it holds {} frames (a multi-frame object is shown on its own)",
            s.name, s.header.frames
        ));
    }
    if slices.is_empty() {
        return Err(unsupported(format!(
            "the series has no readable DICOM slice{}",
            if warnings.is_empty() {
                String::new()
            } else {
                format!(" ({})", warnings.join("; "))
            }
        )));
    }
    // Split by series, size and orientation, in order of first appearance.
    let mut groups: Vec<(StackKey, Vec<Slice>)> = Vec::new();
    for s in slices {
        let key = stack_key(&s.header);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(s),
            None => groups.push((key, vec![s])),
        }
    }
    // Largest stack first: the one the reviewer most likely wants.
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    if groups.len() > 1 {
        warnings.push(format!(
            "the files form {} stacks (different series, sizes or orientations); \
             they are shown separately",
            groups.len()
        ));
    }
    let mut series = Series {
        read,
        archives,
        limits,
        stacks: Vec::new(),
        view: SeriesView {
            stacks: Vec::new(),
            total_slices: 0,
            warnings,
        },
    };
    let mut first = 0u32;
    for (_, mut slices) in groups {
        let stack_warnings = order_stack(&mut slices);
        let n = u32::try_from(slices.len()).unwrap_or(u32::MAX);
        let h = slices[0].header.clone();
        let normal = h.orientation.as_ref().and_then(normal_of);
        let orientation = orientation_name(normal);
        let positions: Vec<f64> = if slices.iter().all(|s| s.position.is_some()) {
            slices.iter().filter_map(|s| s.position).collect()
        } else {
            Vec::new()
        };
        let spacing = median(
            positions
                .windows(2)
                .map(|w| w[1] - w[0])
                .filter(|d| *d >= SAME_POSITION_MM)
                .collect(),
        );
        let names = slices.iter().map(|s| s.name.clone()).collect();
        series.stacks.push(Stack { slices });
        let k = series.stacks.len() - 1;
        // The first slice gives the stack's window presets and units.
        let scan = series.decode_slice(k, 0)?;
        let mut info = scan.info.clone();
        info.frames = n;
        let mut warnings = stack_warnings;
        warnings.append(&mut info.warnings);
        let label = format!(
            "{}{} {}×{} · {} slice{}{}",
            h.modality.as_deref().unwrap_or("Image"),
            if normal.is_some() {
                format!(" {orientation}")
            } else {
                String::new()
            },
            h.cols,
            h.rows,
            n,
            if n == 1 { "" } else { "s" },
            h.description
                .as_deref()
                .map(|d| format!(" · {d}"))
                .unwrap_or_default()
        );
        series.view.stacks.push(StackView {
            label,
            first,
            slices: n,
            orientation,
            positions_mm: positions,
            spacing_mm: spacing,
            names,
            info,
            warnings,
        });
        first = first.saturating_add(n);
    }
    series.view.total_slices = first;
    Ok(series)
}

fn reason(e: RenderError) -> String {
    match e {
        RenderError::UnsupportedScan { reason } => reason,
        other => other.to_string(),
    }
}

impl Series {
    /// The layout the UI shows.
    pub fn view(&self) -> &SeriesView {
        &self.view
    }

    /// Bytes held by the series itself (archives kept for on-demand reads).
    pub fn held_bytes(&self) -> usize {
        self.archives.iter().map(|(_, a)| a.len()).sum()
    }

    fn slice(&self, stack: usize, index: u32) -> Result<&Slice, RenderError> {
        let s = self.stacks.get(stack).ok_or_else(|| {
            RenderError::OutOfRange(format!(
                "stack {} of a series with {} stacks",
                stack + 1,
                self.stacks.len()
            ))
        })?;
        s.slices.get(index as usize).ok_or_else(|| {
            RenderError::OutOfRange(format!(
                "slice {} of a stack with {} slices",
                index + 1,
                s.slices.len()
            ))
        })
    }

    /// The file bytes of one slice.
    pub fn slice_bytes(&self, stack: usize, index: u32) -> Result<Vec<u8>, RenderError> {
        let s = self.slice(stack, index)?;
        match &s.location {
            Location::File(i) => {
                (self.read)(*i).map_err(|e| unsupported(format!("cannot read {}: {e}", s.name)))
            }
            Location::Entry { archive, index } => {
                let (name, bytes) = self
                    .archives
                    .get(*archive)
                    .ok_or_else(|| RenderError::OutOfRange(format!("archive {}", archive + 1)))?;
                archive::read_entry(name, bytes, *index, &self.limits)
            }
        }
    }

    /// Decodes one slice (a single-frame scan of the stack's size).
    pub fn decode_slice(&self, stack: usize, index: u32) -> Result<Scan, RenderError> {
        let s = self.slice(stack, index)?;
        let bytes = self.slice_bytes(stack, index)?;
        let scan = decode_scan(&bytes, "application/dicom")
            .map_err(|e| unsupported(format!("slice {} ({}): {}", index + 1, s.name, reason(e))))?;
        if scan.info.width != s.header.cols || scan.info.height != s.header.rows {
            return Err(unsupported(format!(
                "slice {} ({}) is {}×{}, not the {}×{} its header declares",
                index + 1,
                s.name,
                scan.info.width,
                scan.info.height,
                s.header.cols,
                s.header.rows
            )));
        }
        Ok(scan)
    }
}

/// Decoded slices under a byte budget, least recently used out first.
/// Keys are the caller's (e.g. a series handle, a stack and a slice).
pub struct SliceCache<K: Hash + Eq> {
    budget: usize,
    inner: Mutex<CacheState<K>>,
}

struct CacheState<K: Hash + Eq> {
    lru: lru::LruCache<K, (Arc<Scan>, usize)>,
    bytes: usize,
    peak: usize,
    hits: u64,
    misses: u64,
}

/// What a cache holds now and has held at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Most bytes of decoded slices the cache keeps.
    pub budget: usize,
    /// Bytes of decoded slices held now.
    pub bytes: usize,
    /// Most bytes held at any time so far.
    pub peak: usize,
    /// Number of slices held now.
    pub entries: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to decode.
    pub misses: u64,
}

/// Default budget of decoded slices: 256 MiB (512 slices of 512×512 whose
/// values fit 16 bits, as CT's do; 256 of 32-bit float data).
pub const DEFAULT_SLICE_CACHE_BYTES: usize = 256 << 20;

impl<K: Hash + Eq + Clone> SliceCache<K> {
    /// An empty cache that keeps at most `budget_bytes` of decoded slices (least recently used out).
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget: budget_bytes,
            inner: Mutex::new(CacheState {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
                peak: 0,
                hits: 0,
                misses: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CacheState<K>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached scan for `key`, or `decode`'s, cached. Decoding runs
    /// without holding the lock (two callers may decode the same slice at
    /// once; the second result replaces the first). A scan larger than the
    /// whole budget is returned but not kept.
    pub fn get_or_decode(
        &self,
        key: &K,
        decode: impl FnOnce() -> Result<Scan, RenderError>,
    ) -> Result<Arc<Scan>, RenderError> {
        {
            let mut guard = self.state();
            let st = &mut *guard;
            if let Some((scan, _)) = st.lru.get(key) {
                st.hits += 1;
                return Ok(scan.clone());
            }
            st.misses += 1;
        }
        let scan = Arc::new(decode()?);
        let size = scan.heap_bytes();
        if size > self.budget {
            return Ok(scan);
        }
        let mut guard = self.state();
        let st = &mut *guard;
        if let Some((_, old)) = st.lru.pop(key) {
            st.bytes = st.bytes.saturating_sub(old);
        }
        while st.bytes.saturating_add(size) > self.budget {
            match st.lru.pop_lru() {
                Some((_, (_, n))) => st.bytes = st.bytes.saturating_sub(n),
                None => break,
            }
        }
        st.lru.put(key.clone(), (scan.clone(), size));
        st.bytes = st.bytes.saturating_add(size);
        st.peak = st.peak.max(st.bytes);
        Ok(scan)
    }

    /// Drops every entry whose key matches (e.g. a closed series).
    pub fn retain(&self, keep: impl Fn(&K) -> bool) {
        let mut guard = self.state();
        let st = &mut *guard;
        let gone: Vec<K> = st
            .lru
            .iter()
            .filter(|(k, _)| !keep(k))
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            if let Some((_, n)) = st.lru.pop(&k) {
                st.bytes = st.bytes.saturating_sub(n);
            }
        }
    }

    /// What the cache holds now and has held at most.
    pub fn stats(&self) -> CacheStats {
        let st = self.state();
        CacheStats {
            budget: self.budget,
            bytes: st.bytes,
            peak: st.peak,
            entries: st.lru.len(),
            hits: st.hits,
            misses: st.misses,
        }
    }
}

#[cfg(test)]
mod tests;
