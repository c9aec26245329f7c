//! Builds the view of each scoped field with `assay-render`, and keeps the
//! heavy ones (diff row models, decoded scans) in a small cache the UI pages
//! through by handle, so a 10,000-line diff never crosses IPC at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use assay_protocol::FieldValue;
use assay_render::diff::{
    file_tree, parse_unified_diff, DiffRow, DiffRows, FileTree, MultiFileDiff,
};
use assay_render::highlight::{highlight_code, CodeView};
use assay_render::markdown::{chat_view_value, markdown_view, Block, ChatView};
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

/// The view of one scoped field, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum FieldView {
    Text {
        field_id: String,
        text: String,
    },
    Code {
        field_id: String,
        code: CodeView,
    },
    Diff {
        field_id: String,
        diff: DiffSummary,
    },
    TestSuite {
        field_id: String,
        suite: TestSuiteView,
    },
    Markdown {
        field_id: String,
        blocks: Vec<Block>,
    },
    Chat {
        field_id: String,
        chat: ChatView,
    },
    /// A clause-numbered document, redlined against `against` when given.
    LegalRedline {
        field_id: String,
        doc: LegalDocView,
    },
    /// A decoded scan; frames are rendered on demand with `scan_frame`.
    Scan {
        field_id: String,
        handle: String,
        info: ScanInfo,
    },
    /// An attachment (e.g. an archive) shown by name and size only.
    Attachment {
        field_id: String,
        filename: String,
        media_type: String,
        #[ts(type = "number")]
        size: u64,
    },
    /// The field could not be shown; the rest of the item still is.
    Error {
        field_id: String,
        message: String,
    },
}

/// One file of a diff, as the file list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DiffFileSummary {
    pub path: String,
    pub old_path: Option<String>,
    pub status: assay_render::diff::FileStatus,
    pub language: Option<String>,
    pub additions: u32,
    pub deletions: u32,
    pub binary: bool,
    /// Key of the file's "viewed" mark (changes when the file's diff changes).
    pub viewed_key: String,
    /// Rows with every gap collapsed.
    pub unified_rows: u32,
    pub split_rows: u32,
}

/// A parsed diff; rows are fetched in windows with `diff_rows`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DiffSummary {
    pub handle: String,
    pub files: Vec<DiffFileSummary>,
    pub tree: FileTree,
    pub default_mode: DiffMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DiffRowsRequest {
    pub handle: String,
    pub file_index: u32,
    pub mode: DiffMode,
    pub start: u32,
    pub count: u32,
    /// Gap ids the reviewer expanded.
    #[serde(default)]
    pub expanded: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DiffRowWindow {
    pub file_index: u32,
    pub start: u32,
    pub total: u32,
    pub rows: Vec<DiffRow>,
}

/// Largest window of rows one call returns.
const MAX_ROWS_PER_CALL: u32 = 2_000;

/// One rendered scan frame (after windowing) as a PNG data URL.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ScanFrame {
    pub frame: u32,
    pub width: u32,
    pub height: u32,
    pub data_url: String,
}

/// A pixel's value in modality units (e.g. HU) at a position.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PixelValue {
    pub x: u32,
    pub y: u32,
    pub frame: u32,
    pub value: f64,
    pub unit: Option<String>,
}

/// Cache of parsed diffs and decoded scans by handle (most recent last).
#[derive(Default)]
pub struct ViewCache {
    diffs: Mutex<VecDeque<(String, Arc<DiffRows>)>>,
    scans: Mutex<VecDeque<(String, Arc<Scan>)>>,
}

fn put<T>(slots: &Mutex<VecDeque<(String, Arc<T>)>>, handle: String, value: Arc<T>) {
    let mut d = slots.lock().unwrap_or_else(|p| p.into_inner());
    d.retain(|(h, _)| h != &handle);
    d.push_back((handle, value));
    while d.len() > CACHE_SLOTS {
        d.pop_front();
    }
}

fn get<T>(slots: &Mutex<VecDeque<(String, Arc<T>)>>, handle: &str) -> Option<Arc<T>> {
    let d = slots.lock().unwrap_or_else(|p| p.into_inner());
    d.iter().find(|(h, _)| h == handle).map(|(_, r)| r.clone())
}

impl ViewCache {
    fn scan(&self, handle: &str) -> AppResult<Arc<Scan>> {
        get(&self.scans, handle)
            .ok_or_else(|| AppError::not_found("This scan is no longer loaded; reopen the item."))
    }

    /// Renders one frame of a cached scan with a window (level/width).
    pub fn scan_frame(&self, handle: &str, frame: u32, window: Window) -> AppResult<ScanFrame> {
        let scan = self.scan(handle)?;
        let png = render_frame_png(&scan, frame, window)?;
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

    pub fn scan_pixel(&self, handle: &str, frame: u32, x: u32, y: u32) -> AppResult<PixelValue> {
        let scan = self.scan(handle)?;
        Ok(PixelValue {
            x,
            y,
            frame,
            value: pixel_value(&scan, frame, x, y)?,
            unit: scan.info.units.clone(),
        })
    }

    fn put_diff(&self, handle: String, rows: Arc<DiffRows>) {
        put(&self.diffs, handle, rows)
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
        FieldValue::Attachment(_) => None,
    }
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

/// Reads an attachment's verified bytes.
pub type BlobReader<'a> = &'a dyn Fn(&assay_protocol::AttachmentRef) -> Result<Vec<u8>, String>;

/// Builds the views of every field of a scoped item.
pub fn build_views(
    cache: &ViewCache,
    handle_prefix: &str,
    item: &ScopedItem,
    default_mode: DiffMode,
    blobs: BlobReader<'_>,
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
    blobs: BlobReader<'_>,
) -> Result<FieldView, String> {
    let field_id = f.id.clone();
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
            let files = rows
                .diff()
                .files
                .iter()
                .enumerate()
                .map(|(i, fd)| DiffFileSummary {
                    path: fd.path.clone(),
                    old_path: fd.old_path.clone(),
                    status: fd.status,
                    language: fd.language.clone(),
                    additions: fd.stats.added,
                    deletions: fd.stats.removed,
                    binary: fd.binary,
                    viewed_key: fd.viewed_key(),
                    unified_rows: rows.row_count(i, DiffMode::Unified, &[]),
                    split_rows: rows.row_count(i, DiffMode::Split, &[]),
                })
                .collect();
            let tree = file_tree(rows.diff(), &[]);
            cache.put_diff(handle.clone(), rows);
            Ok(FieldView::Diff {
                field_id,
                diff: DiffSummary {
                    handle,
                    files,
                    tree,
                    default_mode: f.diff_mode.unwrap_or(default_mode),
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
                FieldValue::Attachment(_) => {
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
            let FieldValue::Attachment(a) = &f.value else {
                return Err("a scan must be an attachment (DICOM, PNG or JPEG)".into());
            };
            let bytes = blobs(a)?;
            let scan = decode_scan(&bytes, &a.media_type).map_err(|e| e.to_string())?;
            let handle = format!("{handle_prefix}/{}", f.id);
            let info = scan.info.clone();
            put(&cache.scans, handle.clone(), Arc::new(scan));
            Ok(FieldView::Scan {
                field_id,
                handle,
                info,
            })
        }
    }
}
