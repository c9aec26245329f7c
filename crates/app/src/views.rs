//! Builds the view of each scoped field with `assay-render`, and keeps the
//! heavy ones (diff row models, decoded scans) in a small cache the UI pages
//! through by handle, so a 10,000-line diff never crosses IPC at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use assay_protocol::FieldValue;
use assay_render::archive::ArchiveLimits;
use assay_render::diff::{
    file_tree, parse_unified_diff, DiffRow, DiffRows, FileSummary, FileTree, MultiFileDiff,
};
use assay_render::highlight::{highlight_code, CodeView};
use assay_render::markdown::{chat_view_value, markdown_view, Block, ChatView};
use assay_render::series::{
    open_series, CacheStats, ReadFile, Series, SeriesFile, SeriesView, SliceCache,
    DEFAULT_SLICE_CACHE_BYTES,
};
use assay_render::testsuite::{test_suite_view, TestSuiteView};
use assay_render::{
    decode_scan, legal_view, pixel_value, render_frame_png, LegalDocView, Scan, ScanInfo, Window,
};
use assay_rubric::{DiffMode, ScopedField, ScopedItem, ViewerKind};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{AppError, AppResult};

/// How many parsed diffs / scans stay cached.
const CACHE_SLOTS: usize = 16;
/// Decoded single scans kept, in bytes of samples (the newest is always
/// kept): one multi-frame scan may decode to up to 1 GiB
/// ([`assay_render::scan::MAX_SAMPLES`] samples of float data; integer
/// data takes 1 or 2 bytes a sample), so a count alone does not bound the
/// app's memory.
const DEFAULT_SCAN_CACHE_BYTES: usize = 256 << 20;
/// Parsed and highlighted diffs kept, in bytes as [`DiffRows::heap_bytes`]
/// counts them (the newest, and the open item's other diffs, are always
/// kept). Before, only the count of slots bounded them, while one diff may
/// be up to [`assay_render::diff::MAX_DIFF_BYTES`] of text and holds six to
/// seven times its text once every row is highlighted. Measured with sixteen
/// real diffs of 2.9 MB of text each (the start-up bench's serde diff eight
/// times over), each highlighted whole: 18.1 MiB counted each; the process
/// grew by 392 MiB keeping all sixteen, by about 104 MiB within this budget
/// (three kept). The serde diff itself counts 2.5 MB, so for diffs of that size
/// the count of slots rules.
const DEFAULT_DIFF_CACHE_BYTES: usize = 64 << 20;

/// The view of one scoped field, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum FieldView {
    /// Plain text.
    Text {
        /// The scoped field's id.
        field_id: String,
        /// The text, shown literally.
        text: String,
    },
    /// Source code, syntax-highlighted.
    Code {
        /// The scoped field's id.
        field_id: String,
        /// The highlighted lines.
        code: CodeView,
    },
    /// A unified diff; rows are fetched in windows with `diff_rows`.
    Diff {
        /// The scoped field's id.
        field_id: String,
        /// The diff's files, tree and handle.
        diff: DiffSummary,
    },
    /// A test suite with its requirements and run results.
    TestSuite {
        /// The scoped field's id.
        field_id: String,
        /// The tests, requirements and outcomes.
        suite: TestSuiteView,
    },
    /// Markdown, as blocks the UI renders as text (never HTML).
    Markdown {
        /// The scoped field's id.
        field_id: String,
        /// The document's blocks.
        blocks: Vec<Block>,
    },
    /// A chat transcript as turns.
    Chat {
        /// The scoped field's id.
        field_id: String,
        /// The turns.
        chat: ChatView,
    },
    /// A clause-numbered document, redlined against `against` when given.
    LegalRedline {
        /// The scoped field's id.
        field_id: String,
        /// The clauses, their redline and the defined terms.
        doc: LegalDocView,
    },
    /// A decoded scan; frames are rendered on demand with `scan_frame`.
    Scan {
        /// The scoped field's id.
        field_id: String,
        /// Key for `scan_frame` and `scan_pixel`, one per opened item and field.
        handle: String,
        /// Size, windows, spacing and other facts of the scan.
        info: ScanInfo,
    },
    /// A series of slices in stacks; stack `k`'s slices are the frames of
    /// handle `{handle}#{k}` (rendered with `scan_frame`, decoded on demand).
    /// Regions record series-wide slice indices (`first` + frame).
    Series {
        /// The scoped field's id.
        field_id: String,
        /// Prefix of the slice handles (`{handle}#{k}`).
        handle: String,
        /// The stacks, their labels and warnings.
        series: SeriesView,
    },
    /// An attachment (e.g. an archive) shown by name and size only.
    Attachment {
        /// The scoped field's id.
        field_id: String,
        /// The attachment's file name.
        filename: String,
        /// MIME type of the attachment.
        media_type: String,
        /// Size in bytes.
        #[ts(type = "number")]
        size: u64,
    },
    /// The field could not be shown; the rest of the item still is.
    Error {
        /// The scoped field's id.
        field_id: String,
        /// Why the field could not be shown.
        message: String,
    },
}

/// A parsed diff; rows are fetched in windows with `diff_rows`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DiffSummary {
    /// Key for `diff_rows`, one per opened item and field.
    pub handle: String,
    /// The files in diff order, as the file list shows them.
    pub files: Vec<FileSummary>,
    /// The files as a directory tree with their viewed marks.
    pub tree: FileTree,
    /// The layout the diff opens in: the reviewer's own preference
    /// (settings). A rubric's `diff_mode` is only a suggestion the viewer
    /// mentions: side by side on a narrow screen must not override someone
    /// who reads diffs unified. The reviewer switches it per diff in the
    /// viewer, or for every diff in settings.
    pub default_mode: DiffMode,
}

/// Where the item screen puts each field: Rust decides, the UI lays it out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ItemLayout {
    /// The canvas: what is being graded (diffs, redlines, scans, the answers
    /// a pairwise question compares), first and given the width, in item
    /// order. Each entry is one field id, or two compared side by side.
    pub canvas: Vec<Vec<String>>,
    /// The rest (task, reference, tests, test runs, conversation): context
    /// panels under the canvas that the reviewer may collapse.
    pub context: Vec<String>,
}

/// Viewers that show the thing being graded.
fn is_canvas_viewer(v: ViewerKind) -> bool {
    matches!(
        v,
        ViewerKind::Diff | ViewerKind::LegalRedline | ViewerKind::Scan
    )
}

/// The item screen's layout for `item` under `rubric`: diff, redline and
/// scan fields and the two sides of each pairwise question make the canvas
/// (a pair side by side); everything else is context. An item with nothing
/// to put on the canvas shows all its fields there, none collapsed away.
pub fn item_layout(rubric: &assay_rubric::Rubric, item: &ScopedItem) -> ItemLayout {
    let present = |id: &str| item.fields.iter().any(|f| f.id == id);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for q in &rubric.questions {
        if let assay_rubric::QuestionKind::Pairwise { a, b, .. } = &q.kind {
            let taken = |id: &str| pairs.iter().any(|(x, y)| x == id || y == id);
            if a != b && present(a) && present(b) && !taken(a) && !taken(b) {
                pairs.push((a.clone(), b.clone()));
            }
        }
    }
    let mut layout = ItemLayout::default();
    for f in &item.fields {
        if let Some((a, b)) = pairs.iter().find(|(a, b)| *a == f.id || *b == f.id) {
            // The pair goes where the first of its fields is, once.
            if !layout.canvas.iter().any(|s| s.contains(a)) {
                layout.canvas.push(vec![a.clone(), b.clone()]);
            }
        } else if is_canvas_viewer(f.viewer) {
            layout.canvas.push(vec![f.id.clone()]);
        } else {
            layout.context.push(f.id.clone());
        }
    }
    if layout.canvas.is_empty() {
        layout.canvas = layout.context.drain(..).map(|id| vec![id]).collect();
    }
    layout
}

/// Which rows of one file of a diff to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DiffRowsRequest {
    /// The diff's handle (from `DiffSummary::handle`).
    pub handle: String,
    /// Index of the file in the diff.
    pub file_index: u32,
    /// Unified or split layout.
    pub mode: DiffMode,
    /// Index of the first row wanted.
    pub start: u32,
    /// Rows wanted (at most 2,000 are sent per call).
    pub count: u32,
    /// Gap ids the reviewer expanded.
    #[serde(default)]
    pub expanded: Vec<u32>,
}

/// Rows of one file of a diff, starting at `start`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DiffRowWindow {
    /// Index of the file in the diff.
    pub file_index: u32,
    /// Index of `rows[0]` in the file's rows.
    pub start: u32,
    /// Rows the file has in this mode with these gaps expanded.
    pub total: u32,
    /// The rows of this window (fewer near the end).
    pub rows: Vec<DiffRow>,
}

/// Largest window of rows one call returns.
const MAX_ROWS_PER_CALL: u32 = 2_000;

/// One rendered scan frame (after windowing) as a PNG data URL.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ScanFrame {
    /// The frame (or series slice) rendered.
    pub frame: u32,
    /// Width of the image, in pixels.
    pub width: u32,
    /// Height of the image, in pixels.
    pub height: u32,
    /// The rendered frame: `data:image/png;base64,...`.
    pub data_url: String,
}

/// A pixel's value in modality units (e.g. HU) at a position.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PixelValue {
    /// Column, in pixels from the left.
    pub x: u32,
    /// Row, in pixels from the top.
    pub y: u32,
    /// The frame (or series slice).
    pub frame: u32,
    /// The value in modality units (e.g. Hounsfield units for CT).
    pub value: f64,
    /// The unit, when the scan names one (e.g. `HU`).
    pub unit: Option<String>,
}

/// Cache of parsed diffs, decoded scans and opened series by handle (most
/// recent last), and of decoded series slices under a byte budget.
pub struct ViewCache {
    diffs: Mutex<VecDeque<(String, Arc<DiffRows>)>>,
    scans: Mutex<VecDeque<(String, Arc<Scan>)>>,
    /// Most bytes of samples [`ViewCache::scans`] keeps.
    scan_budget: usize,
    /// Most bytes (estimated) [`ViewCache::diffs`] keeps.
    diff_budget: usize,
    series: Mutex<VecDeque<(String, Arc<Series>)>>,
    /// Decoded slices by (series handle, stack, slice).
    slices: SliceCache<(String, usize, u32)>,
}

impl Default for ViewCache {
    fn default() -> Self {
        Self::with_budgets(DEFAULT_SLICE_CACHE_BYTES, DEFAULT_SCAN_CACHE_BYTES)
    }
}

fn put<T>(slots: &Mutex<VecDeque<(String, Arc<T>)>>, handle: String, value: Arc<T>) {
    let mut d = slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    d.retain(|(h, _)| h != &handle);
    d.push_back((handle, value));
    while d.len() > CACHE_SLOTS {
        d.pop_front();
    }
}

fn get<T>(slots: &Mutex<VecDeque<(String, Arc<T>)>>, handle: &str) -> Option<Arc<T>> {
    let d = slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    d.iter().find(|(h, _)| h == handle).map(|(_, r)| r.clone())
}

/// Keeps `value` under `handle` as [`put`] does, then drops the oldest
/// entries while all together hold more than `budget` bytes (by `bytes`),
/// never the one just put nor any that `keep` names.
fn put_within<T>(
    slots: &Mutex<VecDeque<(String, Arc<T>)>>,
    handle: String,
    value: Arc<T>,
    budget: usize,
    bytes: impl Fn(&T) -> usize,
    keep: impl Fn(&str) -> bool,
) {
    put(slots, handle, value);
    let mut d = slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut total: usize = d.iter().map(|(_, v)| bytes(v)).sum();
    // Oldest first; the newest (at the back) is never dropped.
    let mut i = 0;
    while total > budget && i + 1 < d.len() {
        if d.get(i).is_some_and(|(h, _)| keep(h)) {
            i += 1;
        } else if let Some((_, old)) = d.remove(i) {
            total = total.saturating_sub(bytes(&old));
        }
    }
}

impl ViewCache {
    /// A cache whose decoded series slices stay under `bytes`.
    pub fn with_slice_budget(bytes: usize) -> Self {
        Self::with_budgets(bytes, DEFAULT_SCAN_CACHE_BYTES)
    }

    /// A cache whose decoded series slices stay under `slice_bytes` and
    /// whose decoded single scans stay under `scan_bytes` (the newest
    /// scan is kept whatever its size).
    pub fn with_budgets(slice_bytes: usize, scan_bytes: usize) -> Self {
        Self {
            scan_budget: scan_bytes,
            diff_budget: DEFAULT_DIFF_CACHE_BYTES,
            diffs: Mutex::default(),
            scans: Mutex::default(),
            series: Mutex::default(),
            slices: SliceCache::new(slice_bytes),
        }
    }

    /// A scan by handle: a decoded single scan, or one slice of a series
    /// stack (`{series}#{stack}`), decoded now unless cached.
    fn scan_at(&self, handle: &str, frame: u32) -> AppResult<(Arc<Scan>, u32)> {
        if let Some(scan) = get(&self.scans, handle) {
            return Ok((scan, frame));
        }
        let gone = || AppError::not_found("This scan is no longer loaded; reopen the item.");
        let (base, stack) = handle.rsplit_once('#').ok_or_else(gone)?;
        let stack: usize = stack.parse().map_err(|_| gone())?;
        let series = get(&self.series, base).ok_or_else(gone)?;
        let key = (base.to_string(), stack, frame);
        let scan = self
            .slices
            .get_or_decode(&key, || series.decode_slice(stack, frame))?;
        Ok((scan, 0))
    }

    /// Opens a series (see [`open_series_field`]) under `handle`; its
    /// stacks are then shown through handles `{handle}#{k}`.
    pub fn open_series(
        &self,
        handle: &str,
        list: &[assay_protocol::AttachmentRef],
        blobs: &BlobReader,
    ) -> Result<SeriesView, String> {
        let series = open_series_field(list, blobs)?;
        let view = series.view().clone();
        // Slices of a previous opening of this handle are stale.
        self.slices.retain(|(h, _, _)| h != handle);
        put(&self.series, handle.to_string(), Arc::new(series));
        Ok(view)
    }

    /// What the decoded-slice cache holds (for the memory benchmark).
    pub fn slice_cache_stats(&self) -> CacheStats {
        self.slices.stats()
    }

    /// Decoded pixels of a slice or frame (tests compare them with
    /// reference decodes).
    pub fn scan_samples(&self, handle: &str, frame: u32) -> AppResult<Vec<f32>> {
        let (scan, f) = self.scan_at(handle, frame)?;
        Ok(scan.samples(f)?)
    }

    /// Renders one frame of a cached scan with a window (level/width).
    pub fn scan_frame(&self, handle: &str, frame: u32, window: Window) -> AppResult<ScanFrame> {
        let (scan, f) = self.scan_at(handle, frame)?;
        let png = render_frame_png(&scan, f, window)?;
        Ok(ScanFrame {
            frame,
            width: scan.info.width,
            height: scan.info.height,
            data_url: format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            ),
        })
    }

    /// The value of pixel (`x`, `y`) of `frame` of a cached scan; outside the image is an error.
    pub fn scan_pixel(&self, handle: &str, frame: u32, x: u32, y: u32) -> AppResult<PixelValue> {
        let (scan, f) = self.scan_at(handle, frame)?;
        Ok(PixelValue {
            x,
            y,
            frame,
            value: pixel_value(&scan, f, x, y)?,
            unit: scan.info.units.clone(),
        })
    }

    /// Keeps a decoded scan under `handle`, within the scan budget.
    fn put_scan(&self, handle: String, scan: Scan) {
        put_within(
            &self.scans,
            handle,
            Arc::new(scan),
            self.scan_budget,
            Scan::heap_bytes,
            |_| false,
        );
    }

    /// Keeps the rows of a diff of the item whose handles start with
    /// `item` (`{item}/{field}`), within the diffs' budget. The item's other
    /// diffs stay whatever they hold: an item with several large diffs shows
    /// them all.
    fn put_diff(&self, item: &str, handle: String, rows: Arc<DiffRows>) {
        put_within(
            &self.diffs,
            handle,
            rows,
            self.diff_budget,
            DiffRows::heap_bytes,
            |h| {
                h.strip_prefix(item)
                    .is_some_and(|field| field.starts_with('/'))
            },
        );
    }

    /// A cached diff by handle (`{assignment}/{field}`).
    pub fn diff(&self, handle: &str) -> Option<Arc<DiffRows>> {
        get(&self.diffs, handle)
    }

    /// A window of rows of a cached diff.
    pub fn diff_rows(&self, req: &DiffRowsRequest) -> AppResult<DiffRowWindow> {
        let rows = self.diff(&req.handle).ok_or_else(|| {
            AppError::not_found("This diff is no longer loaded; reopen the item.")
        })?;
        let file = req.file_index as usize;
        if file >= rows.file_count() {
            return Err(AppError::not_found(format!(
                "file {} of a diff with {} files",
                req.file_index,
                rows.file_count()
            )));
        }
        let total = rows.row_count(file, req.mode, &req.expanded);
        let count = req.count.min(MAX_ROWS_PER_CALL);
        let out = rows.rows_for(file, req.start, count, req.mode, &req.expanded)?;
        Ok(DiffRowWindow {
            file_index: req.file_index,
            start: req.start,
            total,
            rows: out,
        })
    }
}

fn text_of<'a>(item: &'a ScopedItem, id: &str) -> Option<&'a str> {
    item.fields
        .iter()
        .find(|f| f.id == id)
        .and_then(|f| match &f.value {
            FieldValue::Text(t) => Some(t.as_str()),
            _ => None,
        })
}

fn value_text(value: &FieldValue) -> Option<String> {
    match value {
        FieldValue::Text(t) => Some(t.clone()),
        FieldValue::Json(v) => Some(serde_json::to_string_pretty(v).unwrap_or_default()),
        FieldValue::Attachment(_) | FieldValue::Attachments(_) => None,
    }
}

/// Opens the attachments of a series field: reads each file's header (and
/// lists archives within [`ArchiveLimits`]), keeping a reader for the slices
/// shown later.
pub fn open_series_field(
    list: &[assay_protocol::AttachmentRef],
    blobs: &BlobReader,
) -> Result<Series, String> {
    let files: Vec<SeriesFile> = list
        .iter()
        .map(|a| SeriesFile {
            name: a.filename.clone(),
            media_type: a.media_type.clone(),
        })
        .collect();
    let refs = list.to_vec();
    let blobs = blobs.clone();
    let read: ReadFile = Arc::new(move |i| match refs.get(i) {
        Some(a) => blobs(a),
        None => Err(format!("no attachment {}", i + 1)),
    });
    open_series(&files, read, ArchiveLimits::default()).map_err(|e| e.to_string())
}

/// The diff a field of viewer kind `diff` shows: a unified diff, or the
/// field compared against its `against` field.
pub fn field_diff(item: &ScopedItem, f: &ScopedField) -> Result<MultiFileDiff, String> {
    let text = value_text(&f.value).unwrap_or_default();
    Ok(match f.against.as_deref().and_then(|a| text_of(item, a)) {
        // A new version compared against another visible field.
        Some(old) => {
            let path = f.language.clone().unwrap_or_else(|| f.id.clone());
            MultiFileDiff {
                files: vec![assay_render::diff::diff_files(&path, old, &path, &text)],
            }
        }
        None => parse_unified_diff(&text).map_err(|e| e.to_string())?,
    })
}

/// The diffs of every diff field of an item, by field id (fields whose diff
/// does not parse are left out).
pub fn item_diffs(item: &ScopedItem) -> Vec<(String, MultiFileDiff)> {
    item.fields
        .iter()
        .filter(|f| f.viewer == ViewerKind::Diff)
        .filter_map(|f| field_diff(item, f).ok().map(|d| (f.id.clone(), d)))
        .collect()
}

/// Reads an attachment's verified bytes (kept by an opened series, which
/// reads its slices when they are shown).
pub type BlobReader =
    Arc<dyn Fn(&assay_protocol::AttachmentRef) -> Result<Vec<u8>, String> + Send + Sync>;

/// Builds the views of every field of a scoped item.
pub fn build_views(
    cache: &ViewCache,
    handle_prefix: &str,
    item: &ScopedItem,
    default_mode: DiffMode,
    blobs: &BlobReader,
) -> Vec<FieldView> {
    item.fields
        .iter()
        .map(|f| {
            build_view(cache, handle_prefix, item, f, default_mode, blobs).unwrap_or_else(
                |message| FieldView::Error {
                    field_id: f.id.clone(),
                    message,
                },
            )
        })
        .collect()
}

fn build_view(
    cache: &ViewCache,
    handle_prefix: &str,
    item: &ScopedItem,
    f: &ScopedField,
    default_mode: DiffMode,
    blobs: &BlobReader,
) -> Result<FieldView, String> {
    let field_id = f.id.clone();
    if let (FieldValue::Attachments(list), ViewerKind::Scan) = (&f.value, f.viewer) {
        let handle = format!("{handle_prefix}/{}", f.id);
        let view = cache.open_series(&handle, list, blobs)?;
        return Ok(FieldView::Series {
            field_id,
            handle,
            series: view,
        });
    }
    if let FieldValue::Attachments(list) = &f.value {
        return Err(format!(
            "{} attachments cannot be shown by the {} viewer",
            list.len(),
            f.viewer.as_str()
        ));
    }
    if let FieldValue::Attachment(a) = &f.value {
        if f.viewer != ViewerKind::Scan {
            return Ok(FieldView::Attachment {
                field_id,
                filename: a.filename.clone(),
                media_type: a.media_type.clone(),
                size: a.size,
            });
        }
    }
    match f.viewer {
        ViewerKind::Text => Ok(FieldView::Text {
            field_id,
            text: value_text(&f.value).unwrap_or_default(),
        }),
        ViewerKind::Code => {
            let text = value_text(&f.value).unwrap_or_default();
            Ok(FieldView::Code {
                field_id,
                code: highlight_code(&text, f.language.as_deref()),
            })
        }
        ViewerKind::Diff => {
            let diff = field_diff(item, f)?;
            let handle = format!("{handle_prefix}/{}", f.id);
            // Opened again with the same diff: keep its rows and whatever is
            // highlighted already.
            let rows = match cache.diff(&handle) {
                Some(rows) if rows.is_for(&diff, f.language.as_deref()) => rows,
                _ => Arc::new(DiffRows::with_language(diff, f.language.as_deref())),
            };
            let files = rows.summaries();
            let tree = file_tree(rows.diff(), &[]);
            cache.put_diff(handle_prefix, handle.clone(), rows);
            Ok(FieldView::Diff {
                field_id,
                diff: DiffSummary {
                    handle,
                    files,
                    tree,
                    // The reviewer's preference, never the rubric's suggestion.
                    default_mode,
                },
            })
        }
        ViewerKind::TestSuite => {
            let text = value_text(&f.value).unwrap_or_default();
            let junit = f.results.as_deref().and_then(|r| text_of(item, r));
            Ok(FieldView::TestSuite {
                field_id,
                suite: test_suite_view(&text, f.language.as_deref(), None, junit),
            })
        }
        ViewerKind::Markdown => Ok(FieldView::Markdown {
            field_id,
            blocks: markdown_view(&value_text(&f.value).unwrap_or_default()),
        }),
        ViewerKind::Chat => {
            let value = match &f.value {
                FieldValue::Json(v) => v.clone(),
                FieldValue::Text(t) => serde_json::from_str(t)
                    .map_err(|e| format!("chat transcript is not JSON: {e}"))?,
                FieldValue::Attachment(_) | FieldValue::Attachments(_) => {
                    return Err("a chat transcript cannot be an attachment".into())
                }
            };
            Ok(FieldView::Chat {
                field_id,
                chat: chat_view_value(&value).map_err(|e| e.to_string())?,
            })
        }
        ViewerKind::LegalRedline => {
            let text = value_text(&f.value).unwrap_or_default();
            let prior = f.against.as_deref().and_then(|a| text_of(item, a));
            Ok(FieldView::LegalRedline {
                field_id,
                doc: legal_view(&text, prior),
            })
        }
        ViewerKind::Scan => {
            let a = match &f.value {
                FieldValue::Attachment(a) => a,
                // A connector that did not download the file says why in its
                // place (a Label Studio image on another server, too large…).
                FieldValue::Text(why) if !why.trim().is_empty() => return Err(why.clone()),
                _ => return Err("a scan must be an attachment (DICOM, PNG or JPEG)".into()),
            };
            let bytes = blobs(a)?;
            let handle = format!("{handle_prefix}/{}", f.id);
            // A zip archive of DICOM files is a series.
            if assay_render::archive::is_zip(&bytes) || a.media_type == "application/zip" {
                drop(bytes);
                let series = cache.open_series(&handle, std::slice::from_ref(a), blobs)?;
                return Ok(FieldView::Series {
                    field_id,
                    handle,
                    series,
                });
            }
            let scan = decode_scan(&bytes, &a.media_type).map_err(|e| e.to_string())?;
            let info = scan.info.clone();
            cache.put_scan(handle.clone(), scan);
            Ok(FieldView::Scan {
                field_id,
                handle,
                info,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_rubric::Rubric;

    /// A decoded `side`×`side` 8-bit grey PNG.
    fn grey_scan(side: u32) -> Scan {
        let mut png_bytes = Vec::new();
        let mut enc = png::Encoder::new(&mut png_bytes, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(&vec![128u8; (side * side) as usize])
            .expect("png data");
        w.finish().expect("png end");
        decode_scan(&png_bytes, "image/png").expect("decoded")
    }

    #[test]
    fn decoded_scans_are_kept_within_their_byte_budget_newest_first() {
        let one = grey_scan(64).heap_bytes();
        // Room for two such scans, not three.
        let cache = ViewCache::with_budgets(DEFAULT_SLICE_CACHE_BYTES, one * 2 + one / 2);
        for h in ["a", "b", "c"] {
            cache.put_scan(h.into(), grey_scan(64));
        }
        assert!(get(&cache.scans, "a").is_none(), "the oldest goes");
        assert!(get(&cache.scans, "b").is_some());
        assert!(get(&cache.scans, "c").is_some());
        // A scan larger than the whole budget is still kept (it is open),
        // alone.
        let big = grey_scan(256);
        assert!(big.heap_bytes() > one * 3);
        cache.put_scan("d".into(), big);
        assert!(get(&cache.scans, "d").is_some());
        assert!(get(&cache.scans, "c").is_none() && get(&cache.scans, "b").is_none());
        // The default budget holds many small scans (the count limit rules).
        let roomy = ViewCache::default();
        for k in 0..20 {
            roomy.put_scan(format!("s{k}"), grey_scan(16));
        }
        assert_eq!(roomy.scans.lock().unwrap().len(), CACHE_SLOTS);
    }

    /// Rows of a one-file diff adding `lines` lines.
    fn added_lines(lines: usize) -> Arc<DiffRows> {
        let body: String = (0..lines).map(|i| format!("+let x{i} = {i};\n")).collect();
        let text = format!("--- a/f.rs\n+++ b/f.rs\n@@ -0,0 +1,{lines} @@\n{body}");
        Arc::new(DiffRows::new(parse_unified_diff(&text).expect("diff")))
    }

    #[test]
    fn diffs_are_kept_within_their_byte_budget_newest_first() {
        let one = added_lines(200).heap_bytes();
        // Room for four such diffs, not five.
        let cache = ViewCache {
            diff_budget: one * 4 + one / 2,
            ..ViewCache::default()
        };
        let put = |cache: &ViewCache, item: &str, rows| {
            cache.put_diff(item, format!("{item}/patch"), rows);
        };
        let kept = |cache: &ViewCache, item: &str| cache.diff(&format!("{item}/patch")).is_some();
        for item in ["a", "b", "c"] {
            put(&cache, item, added_lines(200));
        }
        // Highlighting counts: with every row of "c" highlighted the three
        // hold more than four unhighlighted ones, so the next diff put makes
        // the oldest go.
        let c = cache.diff("c/patch").expect("c");
        c.highlight_all();
        assert!(c.heap_bytes() > one * 2, "{} > 2 × {one}", c.heap_bytes());
        assert!(kept(&cache, "a"), "nothing goes until a diff is put");
        put(&cache, "d", added_lines(200));
        assert!(!kept(&cache, "a"), "the oldest goes");
        for item in ["b", "c", "d"] {
            assert!(kept(&cache, item), "{item} stays");
        }
        // A diff larger than the whole budget is still kept (it is open), alone.
        let big = added_lines(2_000);
        assert!(big.heap_bytes() > cache.diff_budget);
        put(&cache, "e", big);
        assert!(kept(&cache, "e"));
        assert_eq!(cache.diffs.lock().unwrap().len(), 1);
        // Two large diffs of one item both stay: the item shows them both.
        cache.put_diff("f", "f/answer_a".into(), added_lines(2_000));
        cache.put_diff("f", "f/answer_b".into(), added_lines(2_000));
        assert!(cache.diff("f/answer_a").is_some() && cache.diff("f/answer_b").is_some());
        assert!(!kept(&cache, "e"), "another item's diff makes room");
        // The default budget holds many small diffs (the count limit rules).
        let roomy = ViewCache::default();
        for k in 0..20 {
            put(&roomy, &format!("i{k}"), added_lines(20));
        }
        assert_eq!(roomy.diffs.lock().unwrap().len(), CACHE_SLOTS);
    }

    fn rubric(fields: serde_json::Value, questions: serde_json::Value) -> Rubric {
        serde_json::from_value(serde_json::json!({
            "id": "r", "version": 1, "title": "R", "guidelines": "",
            "fields": fields, "questions": questions,
        }))
        .expect("test rubric")
    }

    fn scoped(r: &Rubric, values: &[(&str, &str)]) -> ScopedItem {
        ScopedItem {
            item_id: "i".into(),
            opportunity_id: "o".into(),
            title: "T".into(),
            rubric_id: r.id.clone(),
            rubric_version: r.version,
            fields: r
                .fields
                .iter()
                .filter_map(|f| {
                    let v = values.iter().find(|(id, _)| *id == f.id)?.1;
                    Some(ScopedField {
                        id: f.id.clone(),
                        label: f.label.clone(),
                        viewer: f.viewer,
                        against: f.against.clone(),
                        language: f.language.clone(),
                        diff_mode: f.diff_mode,
                        results: f.results.clone(),
                        help: None,
                        value: FieldValue::Text(v.into()),
                    })
                })
                .collect(),
            missing_fields: Vec::new(),
        }
    }

    const PATCH: &str = "--- a/f.py\n+++ b/f.py\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n";

    #[test]
    fn the_graded_field_is_the_canvas_and_the_rest_is_context() {
        let r = rubric(
            serde_json::json!([
                {"id": "task", "label": "Task", "viewer": "markdown"},
                {"id": "reference", "label": "Reference", "viewer": "code"},
                {"id": "tests", "label": "Tests", "viewer": "test_suite", "results": "run"},
                {"id": "run", "label": "Run", "viewer": "text"},
                {"id": "patch", "label": "Patch", "viewer": "diff", "diff_mode": "split"}
            ]),
            serde_json::json!([{"id": "ok", "prompt": "OK?", "type": "single_choice",
                "options": [{"id": "y", "label": "Yes"}, {"id": "n", "label": "No"}]}]),
        );
        let item = scoped(
            &r,
            &[
                ("task", "t"),
                ("reference", "x"),
                ("tests", "y"),
                ("run", "z"),
                ("patch", PATCH),
            ],
        );
        let layout = item_layout(&r, &item);
        assert_eq!(layout.canvas, vec![vec!["patch".to_string()]]);
        assert_eq!(layout.context, ["task", "reference", "tests", "run"]);
    }

    #[test]
    fn pairwise_answers_sit_side_by_side_on_the_canvas() {
        let r = rubric(
            serde_json::json!([
                {"id": "conversation", "label": "Conversation", "viewer": "text"},
                {"id": "answer_a", "label": "Answer A", "viewer": "markdown"},
                {"id": "answer_b", "label": "Answer B", "viewer": "markdown"}
            ]),
            serde_json::json!([{"id": "pref", "prompt": "Better?", "type": "pairwise",
                "a": "answer_a", "b": "answer_b"}]),
        );
        let item = scoped(
            &r,
            &[("conversation", "hi"), ("answer_a", "A"), ("answer_b", "B")],
        );
        let layout = item_layout(&r, &item);
        assert_eq!(
            layout.canvas,
            vec![vec!["answer_a".to_string(), "answer_b".to_string()]]
        );
        assert_eq!(layout.context, ["conversation"]);
        // One side missing from the item: no pair, and nothing to grade on a
        // canvas, so every field is shown there.
        let item = scoped(&r, &[("conversation", "hi"), ("answer_a", "A")]);
        let layout = item_layout(&r, &item);
        assert_eq!(
            layout.canvas,
            vec![
                vec!["conversation".to_string()],
                vec!["answer_a".to_string()]
            ]
        );
        assert!(layout.context.is_empty());
    }

    #[test]
    fn the_reviewers_diff_mode_wins_over_the_rubrics() {
        let r = rubric(
            serde_json::json!([{"id": "patch", "label": "Patch", "viewer": "diff", "diff_mode": "split"}]),
            serde_json::json!([{"id": "ok", "prompt": "OK?", "type": "single_choice",
                "options": [{"id": "y", "label": "Yes"}]}]),
        );
        let item = scoped(&r, &[("patch", PATCH)]);
        let no_blobs: BlobReader =
            Arc::new(|_: &assay_protocol::AttachmentRef| Err::<Vec<u8>, String>("none".into()));
        for preference in [DiffMode::Unified, DiffMode::Split] {
            let cache = ViewCache::default();
            let views = build_views(&cache, "a", &item, preference, &no_blobs);
            let [FieldView::Diff { diff, .. }] = views.as_slice() else {
                panic!("{views:?}")
            };
            assert_eq!(diff.default_mode, preference);
        }
    }
}
