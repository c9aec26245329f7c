//! View models for item viewers; heavy work stays in Rust.
//!
//! Every type that crosses to the UI derives `serde::Serialize` and
//! `ts_rs::TS`. Content is always delivered as *text runs* tagged with a small
//! closed set of style classes (or structured blocks), never as HTML, so the
//! webview never parses item content and never needs `innerHTML`.
//!
//! Modules:
//! - [`diff`]: unified / split code diffs with syntax highlighting, word-level
//!   intra-line changes, collapsed context, virtualised row windows, a file
//!   tree with viewed marks and comment anchors that survive a re-sync.
//! - [`highlight`]: syntect highlighting reduced to [`TokenClass`] runs.
//! - [`testsuite`]: test lists with requirement ids and JUnit results.
//! - [`legal`]: clause-numbered legal drafts with a word-level redline and
//!   defined terms.
//! - [`scan`]: DICOM / PNG / JPEG decoding, windowing and measurements.
//! - [`series`]: series of DICOM slices (files or zip archives, see
//!   [`archive`]) as ordered stacks, decoded on demand under a byte budget.
//! - [`markdown`]: safe markdown blocks and chat transcripts.

pub mod archive;
pub mod diff;
pub mod error;
pub mod highlight;
pub mod legal;
pub mod markdown;
pub mod scan;
pub mod series;
pub mod testsuite;
#[cfg(test)]
mod xss;

/// Bytes a vector's buffer occupies on the heap: its capacity, not its
/// length, times the element's size (what the `heap_bytes` estimates that
/// the app's caches keep within their budgets add up).
pub(crate) fn vec_heap_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity().saturating_mul(size_of::<T>())
}

pub use diff::{
    anchor_for, diff_files, file_tree, line_hash, parse_unified_diff, relocate_anchor,
    AnchorResolution, DiffLine, DiffRow, DiffRows, DiffStats, FileDiff, FileStatus, FileSummary,
    FileTree, FileTreeNode, Hunk, LineAnchor, LineKind, MultiFileDiff, SplitCell,
};
pub use error::RenderError;
pub use highlight::{highlight_code, language_for_path, CodeLine, CodeView, StyledRun, TokenClass};
pub use legal::{
    legal_view, relocate_clause, Clause, ClauseChange, DefinedTerm, LegalDocView, LegalRun,
    LegalRunKind,
};
pub use markdown::{
    chat_view, chat_view_value, markdown_view, Block, ChatRole, ChatTurn, ChatView, Inline,
    ListItem,
};
pub use scan::{
    decode_scan, drag_window, measure, pixel_value, region_stats, render_frame, render_frame_png,
    Length, LengthUnit, RegionStats, RgbaImage, Scan, ScanFormat, ScanInfo, ScanWindow, Window,
    WindowPreset,
};
pub use testsuite::{
    test_suite_view, Requirement, RunSummary, TestCase, TestOutcome, TestStatus, TestSuiteView,
};
