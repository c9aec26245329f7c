//! Code diffs: parsing, highlighting, word-level changes, virtualised rows,
//! file tree and comment anchors.
//!
//! Flow: [`parse_unified_diff`] (or [`diff_files`] for an old/new pair) gives
//! a [`MultiFileDiff`] of raw lines. [`DiffRows::new`] highlights it once
//! (files and hunks in parallel) and computes word-level changes; the UI then
//! asks for windows of rows with [`DiffRows::rows_for`], so a 10,000-line diff
//! is never serialised to the webview at once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::Mutex;
use std::time::Duration;

use assay_rubric::model::{DiffMode, DiffSide};
use serde::Serialize;
use similar::{Algorithm, ChangeTag, DiffTag, TextDiff};
use ts_rs::TS;

use crate::error::RenderError;
use crate::highlight::{
    resolve_language, to_runs, Language, LineHighlighter, SharedMemo, Span, StyledRun,
};

/// Largest unified diff / file pair accepted.
pub const MAX_DIFF_BYTES: usize = 64 * 1024 * 1024;
/// A run of more unchanged lines than this collapses into an expander row.
pub const COLLAPSE_THRESHOLD: usize = 8;
/// Unchanged lines kept visible next to a change when a run collapses.
pub const CONTEXT_KEEP: usize = 3;
/// Word-level diffs are skipped for lines longer than this (bytes).
const MAX_WORD_DIFF_LINE: usize = 2000;
/// Below this similarity a modified pair is shown as a whole-line change.
const MIN_WORD_DIFF_RATIO: f32 = 0.35;
/// Files with more lines than this get 3-line context hunks in [`diff_files`]
/// instead of a single whole-file hunk.
const FULL_CONTEXT_MAX_LINES: usize = 50_000;

/// What a line of a hunk is: unchanged, added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Unchanged line shown for context (on both sides).
    Context,
    /// Line only in the new file.
    Added,
    /// Line only in the old file.
    Removed,
}

/// What a diff did to a file, from the git header (`new file`, `deleted file`, `rename from`, `copy from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Created by the change (no old side).
    Added,
    /// Changed in place.
    Modified,
    /// Removed by the change (no new side).
    Deleted,
    /// Moved to another path (`old_path` holds the prior one); may also be edited.
    Renamed,
    /// Copied from `old_path`; may also be edited.
    Copied,
}

/// Counts of added and removed lines (context lines are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DiffStats {
    /// Lines added.
    pub added: u32,
    /// Lines removed.
    pub removed: u32,
}

/// One raw line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DiffLine {
    /// Whether the line is context, added or removed.
    pub kind: LineKind,
    /// 1-based line number in the old file; `None` for an added line.
    pub old_line: Option<u32>,
    /// 1-based line number in the new file; `None` for a removed line.
    pub new_line: Option<u32>,
    /// The line's text without its `+`/`-`/space marker and without the line ending.
    pub text: String,
    /// `\ No newline at end of file` followed this line.
    pub no_newline: bool,
}

/// One `@@` hunk of a file diff, with its raw lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Hunk {
    /// 1-based first line of the hunk in the old file (0 for an empty old side).
    pub old_start: u32,
    /// Number of old-file lines the hunk covers (context and removed).
    pub old_len: u32,
    /// 1-based first line of the hunk in the new file (0 for an empty new side).
    pub new_start: u32,
    /// Number of new-file lines the hunk covers (context and added).
    pub new_len: u32,
    /// Text after the second `@@` (often the enclosing function).
    pub section: String,
    /// The hunk's lines in diff order.
    pub lines: Vec<DiffLine>,
}

impl Hunk {
    /// `@@ -a,b +c,d @@ section`
    pub fn header(&self) -> String {
        let mut s = format!(
            "@@ -{},{} +{},{} @@",
            self.old_start, self.old_len, self.new_start, self.new_len
        );
        if !self.section.is_empty() {
            s.push(' ');
            s.push_str(&self.section);
        }
        s
    }
}

/// The diff of one file: its paths, status, hunks and line counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileDiff {
    /// New path (old path for deleted files).
    pub path: String,
    /// Old path when it differs (renames, copies).
    pub old_path: Option<String>,
    /// Stable language id (`rust`, `typescript`, ...).
    pub language: Option<String>,
    /// Whether the file was added, modified, deleted, renamed or copied.
    pub status: FileStatus,
    /// A binary file: no hunks are shown.
    pub binary: bool,
    /// The file's hunks in order (empty for binary files and pure renames).
    pub hunks: Vec<Hunk>,
    /// Lines added and removed over all hunks.
    pub stats: DiffStats,
    /// Short hash of the file's diff; a "viewed" mark is keyed by
    /// `path@content_hash` so it resets when the file changes on re-sync.
    pub content_hash: String,
}

impl FileDiff {
    /// Key under which the app stores this file's "viewed" mark.
    pub fn viewed_key(&self) -> String {
        format!("{}@{}", self.path, self.content_hash)
    }

    fn finish(&mut self) {
        let mut stats = DiffStats::default();
        let mut h = Fnv::new();
        for hunk in &self.hunks {
            for line in &hunk.lines {
                match line.kind {
                    LineKind::Added => stats.added += 1,
                    LineKind::Removed => stats.removed += 1,
                    LineKind::Context => {}
                }
                h.write(&[line.kind as u8]);
                h.write(line.text.as_bytes());
                h.write(b"\n");
            }
        }
        self.stats = stats;
        self.content_hash = h.hex12();
        self.language = resolve_language(Some(&self.path), None).map(|l| l.id.to_string());
    }
}

/// A parsed multi-file unified diff (`git diff` output), files in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MultiFileDiff {
    /// One entry per file of the diff, in the order the diff lists them.
    pub files: Vec<FileDiff>,
}

impl MultiFileDiff {
    /// Lines added and removed over every file.
    pub fn stats(&self) -> DiffStats {
        self.files
            .iter()
            .fold(DiffStats::default(), |acc, f| DiffStats {
                added: acc.added + f.stats.added,
                removed: acc.removed + f.stats.removed,
            })
    }
}

// ---------------------------------------------------------------- hashing

/// FNV-1a 64: tiny, deterministic, good enough for short content keys.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn hex12(&self) -> String {
        format!("{:012x}", self.0 >> 16)
    }
}

/// Hash of a line's content used by comment anchors (surrounding whitespace
/// ignored, so re-indentation keeps the anchor).
pub fn line_hash(text: &str) -> String {
    let mut h = Fnv::new();
    h.write(text.trim().as_bytes());
    h.hex12()
}

mod anchors;
mod highlight;
mod parse;
mod rows;
mod tree;
mod word;

pub use anchors::{anchor_for, relocate_anchor, AnchorResolution, LineAnchor};
pub use parse::{diff_files, parse_unified_diff};
pub use rows::{DiffRow, DiffRows, FileSummary, SplitCell};
pub use tree::{file_tree, FileTree, FileTreeNode};

use highlight::{highlight_files, lock, HunkHl};
use word::word_changes;

#[cfg(test)]
mod tests;
