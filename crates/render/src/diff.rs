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
use std::sync::OnceLock;
use std::time::Duration;

use assay_rubric::model::{DiffMode, DiffSide};
use serde::Serialize;
use similar::{Algorithm, ChangeTag, DiffTag, TextDiff};
use ts_rs::TS;

use crate::error::RenderError;
use crate::highlight::{resolve_language, to_runs, Language, LineHighlighter, Span, StyledRun};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DiffStats {
    pub added: u32,
    pub removed: u32,
}

/// One raw line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DiffLine {
    pub kind: LineKind,
    pub old_line: Option<u32>,
    pub new_line: Option<u32>,
    pub text: String,
    /// `\ No newline at end of file` followed this line.
    pub no_newline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Hunk {
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    /// Text after the second `@@` (often the enclosing function).
    pub section: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileDiff {
    /// New path (old path for deleted files).
    pub path: String,
    /// Old path when it differs (renames, copies).
    pub old_path: Option<String>,
    /// Stable language id (`rust`, `typescript`, ...).
    pub language: Option<String>,
    pub status: FileStatus,
    /// A binary file: no hunks are shown.
    pub binary: bool,
    pub hunks: Vec<Hunk>,
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MultiFileDiff {
    pub files: Vec<FileDiff>,
}

impl MultiFileDiff {
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

// ---------------------------------------------------------------- parsing

fn strip_prefix_path(p: &str, prefix: &str) -> String {
    p.strip_prefix(prefix).unwrap_or(p).to_string()
}

/// Path of a `---` / `+++` line: drop a tab-separated timestamp and quotes.
fn header_path(rest: &str) -> String {
    let p = rest.split('\t').next().unwrap_or(rest).trim_end();
    let p = p
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(p);
    p.to_string()
}

fn parse_range(s: &str) -> Option<(u32, u32)> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

/// `@@ -a,b +c,d @@ section`
fn parse_hunk_header(line: &str) -> Option<Hunk> {
    let rest = line.strip_prefix("@@ ")?;
    let (ranges, section) = rest.split_once(" @@")?;
    let mut parts = ranges.split_whitespace();
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let (old_start, old_len) = parse_range(old)?;
    let (new_start, new_len) = parse_range(new)?;
    Some(Hunk {
        old_start,
        old_len,
        new_start,
        new_len,
        section: section.trim().to_string(),
        lines: Vec::new(),
    })
}

fn empty_file(path: String) -> FileDiff {
    FileDiff {
        path,
        old_path: None,
        language: None,
        status: FileStatus::Modified,
        binary: false,
        hunks: Vec::new(),
        stats: DiffStats::default(),
        content_hash: String::new(),
    }
}

struct PendingFile {
    file: FileDiff,
    old: Option<String>,
    new: Option<String>,
    git: bool,
}

impl PendingFile {
    fn new(git: bool) -> Self {
        PendingFile {
            file: empty_file(String::new()),
            old: None,
            new: None,
            git,
        }
    }

    fn finish(mut self) -> FileDiff {
        let strip = self.git
            || (self.old.as_deref().is_some_and(|o| o.starts_with("a/"))
                && self.new.as_deref().is_some_and(|n| n.starts_with("b/")));
        let norm = |p: &Option<String>, prefix: &str| -> Option<String> {
            p.as_ref().filter(|p| p.as_str() != "/dev/null").map(|p| {
                if strip {
                    strip_prefix_path(p, prefix)
                } else {
                    p.clone()
                }
            })
        };
        let old = norm(&self.old, "a/");
        let new = norm(&self.new, "b/");
        if self.old.as_deref() == Some("/dev/null") {
            self.file.status = FileStatus::Added;
        } else if self.new.as_deref() == Some("/dev/null") {
            self.file.status = FileStatus::Deleted;
        }
        if self.file.path.is_empty() {
            self.file.path = new.clone().or_else(|| old.clone()).unwrap_or_default();
        }
        if self.file.old_path.is_none() {
            if let Some(old) = old {
                if old != self.file.path {
                    self.file.old_path = Some(old);
                    if self.file.status == FileStatus::Modified {
                        self.file.status = FileStatus::Renamed;
                    }
                }
            }
        }
        self.file.finish();
        self.file
    }
}

/// `diff --git a/x b/y` → (x, y) for unquoted, space-free-prefix paths.
fn git_header_paths(rest: &str) -> (Option<String>, Option<String>) {
    if let Some(idx) = rest.rfind(" b/") {
        let a = &rest[..idx];
        let b = &rest[idx + 1..];
        (Some(a.to_string()), Some(b.to_string()))
    } else {
        (None, None)
    }
}

/// Parse unified diff text (git or plain `diff -u`), possibly covering many
/// files, with optional preamble (commit message, `index` lines, ...).
pub fn parse_unified_diff(text: &str) -> Result<MultiFileDiff, RenderError> {
    if text.len() > MAX_DIFF_BYTES {
        return Err(RenderError::TooLarge {
            what: "diff",
            size: text.len(),
            limit: MAX_DIFF_BYTES,
        });
    }
    let mut files: Vec<FileDiff> = Vec::new();
    let mut cur: Option<PendingFile> = None;
    // Remaining (old, new) lines of the open hunk.
    let mut remaining: Option<(u32, u32)> = None;
    let mut saw_diff_syntax = false;

    let lines: Vec<&str> = text.split('\n').collect();
    let n_lines = if text.ends_with('\n') {
        lines.len() - 1
    } else {
        lines.len()
    };
    for (idx, raw) in lines.iter().take(n_lines).enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let lineno = idx + 1;

        if let Some((old_left, new_left)) = remaining {
            let file = match cur.as_mut() {
                Some(c) => &mut c.file,
                None => {
                    return Err(RenderError::MalformedDiff {
                        line: lineno,
                        reason: "hunk outside a file".into(),
                    })
                }
            };
            let Some(hunk) = file.hunks.last_mut() else {
                return Err(RenderError::MalformedDiff {
                    line: lineno,
                    reason: "hunk lines without a hunk header".into(),
                });
            };
            let (first, rest) = match line.chars().next() {
                Some(c) => (c, &line[c.len_utf8()..]),
                // Some tools strip the space of empty context lines.
                None => (' ', ""),
            };
            let old_no = hunk.old_start + (hunk.old_len - old_left);
            let new_no = hunk.new_start + (hunk.new_len - new_left);
            let (kind, old_left, new_left) = match first {
                ' ' if old_left > 0 && new_left > 0 => {
                    (LineKind::Context, old_left - 1, new_left - 1)
                }
                '-' if old_left > 0 => (LineKind::Removed, old_left - 1, new_left),
                '+' if new_left > 0 => (LineKind::Added, old_left, new_left - 1),
                '\\' => {
                    if let Some(last) = hunk.lines.last_mut() {
                        last.no_newline = true;
                    }
                    continue;
                }
                _ => {
                    return Err(RenderError::MalformedDiff {
                        line: lineno,
                        reason: format!(
                            "hunk ended early: expected {old_left} more old and {new_left} more new lines"
                        ),
                    })
                }
            };
            hunk.lines.push(DiffLine {
                kind,
                old_line: (kind != LineKind::Added).then_some(old_no),
                new_line: (kind != LineKind::Removed).then_some(new_no),
                text: rest.to_string(),
                no_newline: false,
            });
            remaining = if old_left == 0 && new_left == 0 {
                None
            } else {
                Some((old_left, new_left))
            };
            continue;
        }

        // A `\ No newline` right after a finished hunk.
        if line.starts_with("\\ ") {
            if let Some(last) = cur
                .as_mut()
                .and_then(|c| c.file.hunks.last_mut())
                .and_then(|h| h.lines.last_mut())
            {
                last.no_newline = true;
            }
            continue;
        }

        if let Some(rest) = line.strip_prefix("diff --git ") {
            saw_diff_syntax = true;
            if let Some(done) = cur.take() {
                files.push(done.finish());
            }
            let mut p = PendingFile::new(true);
            let (a, b) = git_header_paths(rest);
            p.old = a;
            p.new = b;
            cur = Some(p);
            continue;
        }
        if line.starts_with("@@ ") {
            saw_diff_syntax = true;
            let hunk = parse_hunk_header(line).ok_or_else(|| RenderError::MalformedDiff {
                line: lineno,
                reason: format!("bad hunk header `{}`", truncate(line, 80)),
            })?;
            let Some(c) = cur.as_mut() else {
                return Err(RenderError::MalformedDiff {
                    line: lineno,
                    reason: "hunk header before any file header".into(),
                });
            };
            if hunk.old_len > 0 || hunk.new_len > 0 {
                remaining = Some((hunk.old_len, hunk.new_len));
            }
            c.file.hunks.push(hunk);
            continue;
        }
        if let Some(rest) = line.strip_prefix("--- ") {
            // `---` starts a new file unless a `diff --git` header is waiting
            // for it.
            let waiting = cur
                .as_ref()
                .is_some_and(|c| c.git && c.file.hunks.is_empty() && !c.file.binary);
            if !waiting {
                if let Some(done) = cur.take() {
                    files.push(done.finish());
                }
                cur = Some(PendingFile::new(false));
            }
            saw_diff_syntax = true;
            if let Some(c) = cur.as_mut() {
                c.old = Some(header_path(rest));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("+++ ") {
            if let Some(c) = cur.as_mut() {
                c.new = Some(header_path(rest));
            }
            continue;
        }
        let Some(c) = cur.as_mut() else {
            continue; // preamble
        };
        if line.starts_with("new file mode") {
            c.file.status = FileStatus::Added;
        } else if line.starts_with("deleted file mode") {
            c.file.status = FileStatus::Deleted;
        } else if let Some(p) = line.strip_prefix("rename from ") {
            c.file.old_path = Some(p.to_string());
            c.file.status = FileStatus::Renamed;
        } else if let Some(p) = line.strip_prefix("rename to ") {
            c.file.path = p.to_string();
            c.file.status = FileStatus::Renamed;
        } else if let Some(p) = line.strip_prefix("copy from ") {
            c.file.old_path = Some(p.to_string());
            c.file.status = FileStatus::Copied;
        } else if let Some(p) = line.strip_prefix("copy to ") {
            c.file.path = p.to_string();
            c.file.status = FileStatus::Copied;
        } else if line.starts_with("Binary files ") || line.starts_with("GIT binary patch") {
            c.file.binary = true;
        }
    }
    if let Some((o, n)) = remaining {
        return Err(RenderError::MalformedDiff {
            line: n_lines,
            reason: format!("diff is truncated: last hunk misses {o} old and {n} new lines"),
        });
    }
    if let Some(done) = cur.take() {
        files.push(done.finish());
    }
    if !saw_diff_syntax && !text.trim().is_empty() {
        return Err(RenderError::MalformedDiff {
            line: 1,
            reason: "no file changes found (expected `diff --git`, `---`/`+++` or `@@` lines)"
                .into(),
        });
    }
    Ok(MultiFileDiff { files })
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn is_null_path(p: &str) -> bool {
    p.is_empty() || p == "/dev/null"
}

/// Diff an old/new file pair. An empty or `/dev/null` path marks an added
/// (old) or deleted (new) file. Files up to 50,000 lines become one
/// whole-file hunk (unchanged runs collapse in [`DiffRows`] and can be
/// expanded); larger ones get 3-line-context hunks.
pub fn diff_files(old_path: &str, old: &str, new_path: &str, new: &str) -> FileDiff {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(Duration::from_secs(2))
        .diff_lines(old, new);
    let total = diff.old_slices().len() + diff.new_slices().len();
    let groups: Vec<Vec<similar::DiffOp>> =
        if diff.ops().iter().all(|op| op.tag() == DiffTag::Equal) {
            Vec::new()
        } else if total <= FULL_CONTEXT_MAX_LINES {
            vec![diff.ops().to_vec()]
        } else {
            diff.grouped_ops(CONTEXT_KEEP)
        };
    let mut hunks = Vec::with_capacity(groups.len());
    for group in groups {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    ChangeTag::Equal => LineKind::Context,
                    ChangeTag::Delete => LineKind::Removed,
                    ChangeTag::Insert => LineKind::Added,
                };
                let value = change.value();
                let text = value
                    .strip_suffix('\n')
                    .map(|v| v.strip_suffix('\r').unwrap_or(v))
                    .unwrap_or(value);
                lines.push(DiffLine {
                    kind,
                    old_line: change.old_index().map(|i| i as u32 + 1),
                    new_line: change.new_index().map(|i| i as u32 + 1),
                    text: text.to_string(),
                    no_newline: change.missing_newline(),
                });
            }
        }
        let start = |r: &Range<usize>| {
            if r.is_empty() {
                r.start as u32
            } else {
                r.start as u32 + 1
            }
        };
        hunks.push(Hunk {
            old_start: start(&old_range),
            old_len: old_range.len() as u32,
            new_start: start(&new_range),
            new_len: new_range.len() as u32,
            section: String::new(),
            lines,
        });
    }
    let (path, old_path, status) = match (is_null_path(old_path), is_null_path(new_path)) {
        (true, false) => (new_path.to_string(), None, FileStatus::Added),
        (false, true) => (old_path.to_string(), None, FileStatus::Deleted),
        _ if old_path != new_path => (
            new_path.to_string(),
            Some(old_path.to_string()),
            FileStatus::Renamed,
        ),
        _ => (new_path.to_string(), None, FileStatus::Modified),
    };
    let mut file = FileDiff {
        path,
        old_path,
        language: None,
        status,
        binary: false,
        hunks,
        stats: DiffStats::default(),
        content_hash: String::new(),
    };
    file.finish();
    file
}

// ---------------------------------------------------------------- word diff

/// Changed byte ranges of a modified pair, or `None` when the lines are too
/// different (or too long) for word emphasis to help.
#[allow(clippy::type_complexity)]
fn word_changes(old: &str, new: &str) -> Option<(Vec<(u32, u32)>, Vec<(u32, u32)>)> {
    if old.len() > MAX_WORD_DIFF_LINE || new.len() > MAX_WORD_DIFF_LINE {
        return None;
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .diff_unicode_words(old, new);
    if diff.ratio() < MIN_WORD_DIFF_RATIO {
        return None;
    }
    let offsets = |slices: &[&str]| {
        let mut acc = Vec::with_capacity(slices.len() + 1);
        let mut sum = 0u32;
        acc.push(0);
        for s in slices {
            sum += s.len() as u32;
            acc.push(sum);
        }
        acc
    };
    let old_off = offsets(diff.old_slices());
    let new_off = offsets(diff.new_slices());
    let mut old_ch: Vec<(u32, u32)> = Vec::new();
    let mut new_ch: Vec<(u32, u32)> = Vec::new();
    let push = |v: &mut Vec<(u32, u32)>, r: (u32, u32)| {
        if r.0 >= r.1 {
            return;
        }
        match v.last_mut() {
            Some(last) if last.1 == r.0 => last.1 = r.1,
            _ => v.push(r),
        }
    };
    for op in diff.ops() {
        let (tag, o, n) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            continue;
        }
        push(&mut old_ch, (old_off[o.start], old_off[o.end]));
        push(&mut new_ch, (new_off[n.start], new_off[n.end]));
    }
    Some((old_ch, new_ch))
}

// ---------------------------------------------------------------- rows

/// A row of the virtualised diff view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiffRow {
    HunkHeader {
        hunk: u32,
        text: String,
    },
    /// Unified mode line.
    Line {
        kind: LineKind,
        old_line: Option<u32>,
        new_line: Option<u32>,
        runs: Vec<StyledRun>,
        no_newline: bool,
    },
    /// Split (side-by-side) mode row.
    Split {
        old: Option<SplitCell>,
        new: Option<SplitCell>,
    },
    /// "N unchanged lines" — expand by adding `gap` to the expanded set.
    Expander {
        gap: u32,
        hidden: u32,
        old_start: u32,
        new_start: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SplitCell {
    pub kind: LineKind,
    pub line: u32,
    pub runs: Vec<StyledRun>,
    pub no_newline: bool,
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Header(u32),
    Line(u32),
    Pair(Option<u32>, Option<u32>),
}

#[derive(Debug, Clone)]
struct Gap {
    /// Flat line range hidden when collapsed.
    lines: Range<u32>,
}

#[derive(Debug, Default)]
struct Layout {
    items: Vec<Item>,
    /// Item range per gap (same order and ids as `FileRows::gaps`).
    gap_items: Vec<Range<u32>>,
}

#[derive(Debug, Default)]
struct FileRows {
    /// (hunk, index in hunk) per flat line.
    refs: Vec<(u32, u32)>,
    changed: Vec<Vec<(u32, u32)>>,
    gaps: Vec<Gap>,
    unified: Layout,
    split: Layout,
}

enum Seg {
    Items(Range<u32>),
    Expander(u32),
}

/// What the UI needs to list a file of a diff without its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileSummary {
    pub index: u32,
    pub path: String,
    pub old_path: Option<String>,
    pub language: Option<String>,
    pub status: FileStatus,
    pub binary: bool,
    pub stats: DiffStats,
    pub viewed_key: String,
    /// Number of collapsible gaps (ids `0..gaps`).
    pub gaps: u32,
    /// Row counts with every gap collapsed.
    pub unified_rows: u32,
    pub split_rows: u32,
}

/// The highlighted, virtualisable view model of a [`MultiFileDiff`].
///
/// Layout and word-level changes are computed up front; syntax highlighting
/// of a file happens on its first [`DiffRows::rows_for`] (or for every file
/// at once with [`DiffRows::highlight_all`], e.g. on a background thread).
pub struct DiffRows {
    diff: MultiFileDiff,
    files: Vec<FileRows>,
    langs: Vec<Option<Language>>,
    spans: Vec<OnceLock<FileSpans>>,
}

impl DiffRows {
    /// Highlight and lay out `diff` (language from each file's path).
    pub fn new(diff: MultiFileDiff) -> Self {
        Self::with_language(diff, None)
    }

    /// Like [`DiffRows::new`] with a language that wins over file names
    /// (the rubric's `language` for the field).
    pub fn with_language(diff: MultiFileDiff, language: Option<&str>) -> Self {
        let files: Vec<FileRows> = diff.files.iter().map(layout_file).collect();
        let langs: Vec<Option<Language>> = diff
            .files
            .iter()
            .map(|f| resolve_language(Some(&f.path), language))
            .collect();
        let spans = diff.files.iter().map(|_| OnceLock::new()).collect();
        DiffRows {
            diff,
            files,
            langs,
            spans,
        }
    }

    /// Highlight every file not highlighted yet (files and hunks in parallel).
    pub fn highlight_all(&self) {
        let todo: Vec<usize> = (0..self.spans.len())
            .filter(|&i| self.spans[i].get().is_none())
            .collect();
        if todo.is_empty() {
            return;
        }
        for (fi, spans) in highlight_files(&self.diff, &self.langs, &todo) {
            // Another thread may have won the race; its result is identical.
            let _ = self.spans[fi].set(spans);
        }
    }

    fn file_spans(&self, file_index: usize) -> &FileSpans {
        self.spans[file_index].get_or_init(|| {
            highlight_files(&self.diff, &self.langs, &[file_index])
                .pop()
                .map(|(_, s)| s)
                .unwrap_or_default()
        })
    }

    pub fn diff(&self) -> &MultiFileDiff {
        &self.diff
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Per-file summaries (no lines): send these to the webview, then fetch
    /// rows window by window with [`DiffRows::rows_for`].
    pub fn summaries(&self) -> Vec<FileSummary> {
        self.diff
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| FileSummary {
                index: i as u32,
                path: f.path.clone(),
                old_path: f.old_path.clone(),
                language: f.language.clone(),
                status: f.status,
                binary: f.binary,
                stats: f.stats,
                viewed_key: f.viewed_key(),
                gaps: self.files[i].gaps.len() as u32,
                unified_rows: self.row_count(i, DiffMode::Unified, &[]),
                split_rows: self.row_count(i, DiffMode::Split, &[]),
            })
            .collect()
    }

    fn layout(&self, file_index: usize, mode: DiffMode) -> Option<(&FileRows, &Layout)> {
        let f = self.files.get(file_index)?;
        Some((
            f,
            match mode {
                DiffMode::Unified => &f.unified,
                DiffMode::Split => &f.split,
            },
        ))
    }

    fn segments(f: &FileRows, layout: &Layout, expanded: &HashSet<u32>) -> Vec<Seg> {
        let mut segs = Vec::with_capacity(layout.gap_items.len() * 2 + 1);
        let mut cursor = 0u32;
        for (id, r) in layout.gap_items.iter().enumerate() {
            let id = id as u32;
            if expanded.contains(&id) || r.is_empty() {
                continue;
            }
            if r.start > cursor {
                segs.push(Seg::Items(cursor..r.start));
            }
            segs.push(Seg::Expander(id));
            cursor = r.end;
        }
        let end = layout.items.len() as u32;
        if end > cursor {
            segs.push(Seg::Items(cursor..end));
        }
        debug_assert!(f.gaps.len() == layout.gap_items.len());
        segs
    }

    /// Number of rows of a file in a mode with the given gaps expanded.
    pub fn row_count(&self, file_index: usize, mode: DiffMode, expanded: &[u32]) -> u32 {
        let Some((f, layout)) = self.layout(file_index, mode) else {
            return 0;
        };
        let expanded: HashSet<u32> = expanded.iter().copied().collect();
        Self::segments(f, layout, &expanded)
            .iter()
            .map(|s| match s {
                Seg::Items(r) => r.len() as u32,
                Seg::Expander(_) => 1,
            })
            .sum()
    }

    /// Rows `start..start+count` of a file (fewer at the end).
    pub fn rows_for(
        &self,
        file_index: usize,
        start: u32,
        count: u32,
        mode: DiffMode,
        expanded: &[u32],
    ) -> Result<Vec<DiffRow>, RenderError> {
        let (f, layout) = self.layout(file_index, mode).ok_or_else(|| {
            RenderError::OutOfRange(format!(
                "file {file_index} of a diff with {} files",
                self.files.len()
            ))
        })?;
        let expanded: HashSet<u32> = expanded.iter().copied().collect();
        let hunks = &self.diff.files[file_index].hunks;
        let mut out = Vec::with_capacity(count.min(10_000) as usize);
        let mut pos = 0u32;
        let end = start.saturating_add(count);
        for seg in Self::segments(f, layout, &expanded) {
            if pos >= end {
                break;
            }
            match seg {
                Seg::Expander(id) => {
                    if pos >= start {
                        let gap = &f.gaps[id as usize];
                        let (h, i) = f.refs[gap.lines.start as usize];
                        let first = &hunks[h as usize].lines[i as usize];
                        out.push(DiffRow::Expander {
                            gap: id,
                            hidden: gap.lines.len() as u32,
                            old_start: first.old_line.unwrap_or(0),
                            new_start: first.new_line.unwrap_or(0),
                        });
                    }
                    pos += 1;
                }
                Seg::Items(r) => {
                    let len = r.len() as u32;
                    if pos + len <= start {
                        pos += len;
                        continue;
                    }
                    let skip = start.saturating_sub(pos);
                    let take = (end - pos).min(len) - skip;
                    for idx in (r.start + skip)..(r.start + skip + take) {
                        out.push(self.row(file_index, f, layout.items[idx as usize]));
                    }
                    pos += len;
                }
            }
        }
        Ok(out)
    }

    /// Runs of a flat line as shown on `side` (context lines may differ
    /// between the sides; unified mode shows them as on the new side).
    fn runs(
        &self,
        file_index: usize,
        f: &FileRows,
        flat: u32,
        side: DiffSide,
    ) -> (&DiffLine, Vec<StyledRun>) {
        let (h, i) = f.refs[flat as usize];
        let line = &self.diff.files[file_index].hunks[h as usize].lines[i as usize];
        let empty = Vec::new();
        let file_spans = self.file_spans(file_index);
        let old_context = match side {
            DiffSide::Old => file_spans.old_context.get(&flat),
            DiffSide::New => None,
        };
        let spans = old_context
            .or_else(|| file_spans.lines.get(flat as usize))
            .unwrap_or(&empty);
        let runs = to_runs(&line.text, spans, &f.changed[flat as usize]);
        (line, runs)
    }

    fn row(&self, file_index: usize, f: &FileRows, item: Item) -> DiffRow {
        match item {
            Item::Header(h) => DiffRow::HunkHeader {
                hunk: h,
                text: self.diff.files[file_index].hunks[h as usize].header(),
            },
            Item::Line(flat) => {
                let (line, runs) = self.runs(file_index, f, flat, DiffSide::New);
                DiffRow::Line {
                    kind: line.kind,
                    old_line: line.old_line,
                    new_line: line.new_line,
                    runs,
                    no_newline: line.no_newline,
                }
            }
            Item::Pair(old, new) => {
                let cell = |flat: Option<u32>, side: DiffSide| {
                    flat.map(|flat| {
                        let (line, runs) = self.runs(file_index, f, flat, side);
                        SplitCell {
                            kind: line.kind,
                            line: match side {
                                DiffSide::Old => line.old_line,
                                DiffSide::New => line.new_line,
                            }
                            .unwrap_or(0),
                            runs,
                            no_newline: line.no_newline,
                        }
                    })
                };
                DiffRow::Split {
                    old: cell(old, DiffSide::Old),
                    new: cell(new, DiffSide::New),
                }
            }
        }
    }
}

/// Flat line indices, gaps and the two layouts of one file (no highlighting).
fn layout_file(file: &FileDiff) -> FileRows {
    let mut f = FileRows::default();
    let mut hunk_first_flat = Vec::with_capacity(file.hunks.len());
    for (h, hunk) in file.hunks.iter().enumerate() {
        hunk_first_flat.push(f.refs.len() as u32);
        for i in 0..hunk.lines.len() {
            f.refs.push((h as u32, i as u32));
        }
    }
    f.changed = vec![Vec::new(); f.refs.len()];

    // Gaps and word-level changes, per hunk.
    for (h, hunk) in file.hunks.iter().enumerate() {
        let base = hunk_first_flat[h];
        let lines = &hunk.lines;
        let mut i = 0usize;
        while i < lines.len() {
            if lines[i].kind == LineKind::Context {
                let s = i;
                while i < lines.len() && lines[i].kind == LineKind::Context {
                    i += 1;
                }
                let len = i - s;
                if len > COLLAPSE_THRESHOLD {
                    let keep_before = if s > 0 { CONTEXT_KEEP } else { 0 };
                    let keep_after = if i < lines.len() { CONTEXT_KEEP } else { 0 };
                    let a = base + (s + keep_before) as u32;
                    let b = base + (i - keep_after) as u32;
                    if b > a {
                        f.gaps.push(Gap { lines: a..b });
                    }
                }
            } else {
                let s = i;
                while i < lines.len() && lines[i].kind != LineKind::Context {
                    i += 1;
                }
                let removed: Vec<usize> = (s..i)
                    .filter(|&k| lines[k].kind == LineKind::Removed)
                    .collect();
                let added: Vec<usize> = (s..i)
                    .filter(|&k| lines[k].kind == LineKind::Added)
                    .collect();
                for (&r, &a) in removed.iter().zip(added.iter()) {
                    if let Some((oc, nc)) = word_changes(&lines[r].text, &lines[a].text) {
                        f.changed[base as usize + r] = oc;
                        f.changed[base as usize + a] = nc;
                    }
                }
            }
        }
    }

    // Layouts: items plus the item range of each gap.
    let gap_of_start: BTreeMap<u32, usize> = f
        .gaps
        .iter()
        .enumerate()
        .map(|(id, g)| (g.lines.start, id))
        .collect();
    let mut unified = Layout {
        items: Vec::with_capacity(f.refs.len() + file.hunks.len()),
        gap_items: vec![0..0; f.gaps.len()],
    };
    let mut split = Layout {
        items: Vec::with_capacity(f.refs.len() + file.hunks.len()),
        gap_items: vec![0..0; f.gaps.len()],
    };
    for (h, hunk) in file.hunks.iter().enumerate() {
        let base = hunk_first_flat[h];
        unified.items.push(Item::Header(h as u32));
        split.items.push(Item::Header(h as u32));
        let lines = &hunk.lines;
        let mut i = 0usize;
        while i < lines.len() {
            let flat = base + i as u32;
            if let Some(&id) = gap_of_start.get(&flat) {
                let g = f.gaps[id].lines.clone();
                let us = unified.items.len() as u32;
                let ss = split.items.len() as u32;
                for fl in g.clone() {
                    unified.items.push(Item::Line(fl));
                    split.items.push(Item::Pair(Some(fl), Some(fl)));
                }
                unified.gap_items[id] = us..unified.items.len() as u32;
                split.gap_items[id] = ss..split.items.len() as u32;
                i += g.len();
                continue;
            }
            if lines[i].kind == LineKind::Context {
                unified.items.push(Item::Line(flat));
                split.items.push(Item::Pair(Some(flat), Some(flat)));
                i += 1;
                continue;
            }
            let s = i;
            while i < lines.len() && lines[i].kind != LineKind::Context {
                i += 1;
            }
            let mut removed = Vec::new();
            let mut added = Vec::new();
            for (k, line) in lines.iter().enumerate().take(i).skip(s) {
                let fl = base + k as u32;
                unified.items.push(Item::Line(fl));
                match line.kind {
                    LineKind::Removed => removed.push(fl),
                    _ => added.push(fl),
                }
            }
            for k in 0..removed.len().max(added.len()) {
                split
                    .items
                    .push(Item::Pair(removed.get(k).copied(), added.get(k).copied()));
            }
        }
    }
    f.unified = unified;
    f.split = split;
    f
}

/// One unit of highlighting work: one hunk, both sides in one pass.
struct Unit {
    file: usize,
    hunk: usize,
    cost: usize,
}

/// Highlighted spans of one file's flat lines.
#[derive(Debug, Default)]
struct FileSpans {
    /// Per flat line: the new side for context and added lines, the old side
    /// for removed lines.
    lines: Vec<Vec<Span>>,
    /// Old-side spans of context lines where the old side's parse state
    /// differs from the new side's (e.g. inside a string a removed line
    /// opened); split mode shows them in the old column.
    old_context: HashMap<u32, Vec<Span>>,
}

/// The two sides of a hunk are highlighted as two streams: the old side
/// (context + removed lines) and the new side (context + added lines), so
/// a multi-line string or comment opened or closed by a removed line carries
/// over the context lines that follow on the old side only. While both
/// streams are in the same state (the usual case) a context line is parsed
/// once; the old stream is forked at the first change and dropped as soon
/// as it converges with the new one again.
///
/// Highlights the files `which` (hunks spread over threads) and returns the
/// spans of every flat line of each.
fn highlight_files(
    diff: &MultiFileDiff,
    langs: &[Option<Language>],
    which: &[usize],
) -> Vec<(usize, FileSpans)> {
    let mut flat: Vec<(usize, FileSpans)> = Vec::with_capacity(which.len());
    let mut units = Vec::new();
    for &fi in which {
        let file = &diff.files[fi];
        let n: usize = file.hunks.iter().map(|h| h.lines.len()).sum();
        if langs[fi].is_none() {
            // Plain text: one span per line, no parsing.
            let spans = file
                .hunks
                .iter()
                .flat_map(|h| h.lines.iter())
                .map(|l| {
                    if l.text.is_empty() {
                        Vec::new()
                    } else {
                        vec![Span {
                            end: l.text.len() as u32,
                            class: crate::highlight::TokenClass::Plain,
                        }]
                    }
                })
                .collect();
            flat.push((
                fi,
                FileSpans {
                    lines: spans,
                    old_context: HashMap::new(),
                },
            ));
            continue;
        }
        flat.push((
            fi,
            FileSpans {
                lines: vec![Vec::new(); n],
                old_context: HashMap::new(),
            },
        ));
        for (hi, hunk) in file.hunks.iter().enumerate() {
            units.push(Unit {
                file: fi,
                hunk: hi,
                cost: hunk.lines.len(),
            });
        }
    }
    let total: usize = units.iter().map(|u| u.cost.max(1)).sum();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    // Results: (file, hunk, spans per line of the hunk, old-side spans of
    // context lines by index in the hunk).
    type Out = (usize, usize, Vec<Vec<Span>>, Vec<(usize, Vec<Span>)>);
    let run_units = |units: &[Unit]| -> Vec<Out> {
        let mut hl: Option<(usize, LineHighlighter)> = None;
        let mut out = Vec::with_capacity(units.len());
        for u in units {
            let hunk = &diff.files[u.file].hunks[u.hunk];
            let h = match &mut hl {
                Some((f, h)) if *f == u.file => {
                    h.reset();
                    h
                }
                _ => &mut hl.insert((u.file, LineHighlighter::new(langs[u.file]))).1,
            };
            // The old side's stream while it differs from the new side's.
            let mut old: Option<LineHighlighter> = None;
            let mut old_context = Vec::new();
            let mut spans = Vec::with_capacity(hunk.lines.len());
            for (i, l) in hunk.lines.iter().enumerate() {
                match l.kind {
                    LineKind::Context => {
                        if old.as_ref().is_some_and(|o| o.same_state(h)) {
                            old = None;
                        }
                        if let Some(o) = old.as_mut() {
                            old_context.push((i, o.line(&l.text)));
                        }
                        spans.push(h.line(&l.text));
                    }
                    LineKind::Removed => {
                        let o = old.get_or_insert_with(|| h.fork());
                        spans.push(o.line(&l.text));
                    }
                    LineKind::Added => {
                        // Fork before the new side moves on, so the old side
                        // starts from the shared context.
                        if old.is_none() {
                            old = Some(h.fork());
                        }
                        spans.push(h.line(&l.text));
                    }
                }
            }
            out.push((u.file, u.hunk, spans, old_context));
        }
        out
    };
    let results: Vec<Out> = if threads <= 1 || total < 2_000 {
        run_units(&units)
    } else {
        // Contiguous chunks of roughly equal cost.
        let target = total.div_ceil(threads);
        let mut chunks: Vec<&[Unit]> = Vec::new();
        let mut start = 0;
        let mut acc = 0;
        for (i, u) in units.iter().enumerate() {
            acc += u.cost.max(1);
            if acc >= target {
                chunks.push(&units[start..=i]);
                start = i + 1;
                acc = 0;
            }
        }
        if start < units.len() {
            chunks.push(&units[start..]);
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|c| s.spawn(move || run_units(c)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| match h.join() {
                    Ok(v) => v,
                    Err(_) => {
                        tracing::error!("highlighting thread panicked; lines stay plain");
                        Vec::new()
                    }
                })
                .collect()
        })
    };
    // Hunk -> first flat index, per file.
    let firsts = |fi: usize| -> Vec<usize> {
        let mut acc = 0;
        diff.files[fi]
            .hunks
            .iter()
            .map(|h| {
                let s = acc;
                acc += h.lines.len();
                s
            })
            .collect()
    };
    let slot: HashMap<usize, usize> = flat
        .iter()
        .enumerate()
        .map(|(k, (fi, _))| (*fi, k))
        .collect();
    let bases: HashMap<usize, Vec<usize>> = which.iter().map(|&fi| (fi, firsts(fi))).collect();
    for (fi, hi, spans, old_context) in results {
        let (Some(&k), Some(base)) = (slot.get(&fi), bases.get(&fi)) else {
            continue;
        };
        let base = base[hi];
        for (i, sp) in spans.into_iter().enumerate() {
            flat[k].1.lines[base + i] = sp;
        }
        for (i, sp) in old_context {
            flat[k].1.old_context.insert((base + i) as u32, sp);
        }
    }
    flat
}

// ---------------------------------------------------------------- file tree

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileTreeNode {
    /// Display name (collapsed directory chains read `a/b/c`).
    pub name: String,
    /// Full path of the file or directory.
    pub path: String,
    /// Index into `MultiFileDiff::files` for files; `None` for directories.
    pub file_index: Option<u32>,
    pub status: Option<FileStatus>,
    pub stats: DiffStats,
    /// For files: the key to store the viewed mark under.
    pub viewed_key: Option<String>,
    /// Files: marked viewed. Directories: every file below is viewed.
    pub viewed: bool,
    pub children: Vec<FileTreeNode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileTree {
    pub roots: Vec<FileTreeNode>,
    pub total_files: u32,
    pub viewed_files: u32,
}

/// Build the file tree of a diff. `viewed` holds the viewed keys the app
/// stored (see [`FileDiff::viewed_key`]); stale keys are ignored.
pub fn file_tree(diff: &MultiFileDiff, viewed: &[String]) -> FileTree {
    #[derive(Default)]
    struct Dir {
        dirs: BTreeMap<String, Dir>,
        files: Vec<usize>,
    }
    let viewed: HashSet<&str> = viewed.iter().map(String::as_str).collect();
    let mut root = Dir::default();
    for (i, f) in diff.files.iter().enumerate() {
        let parts: Vec<&str> = f.path.split('/').filter(|p| !p.is_empty()).collect();
        let mut d = &mut root;
        if parts.len() > 1 {
            for p in &parts[..parts.len() - 1] {
                d = d.dirs.entry((*p).to_string()).or_default();
            }
        }
        d.files.push(i);
    }
    fn build(
        d: Dir,
        prefix: &str,
        diff: &MultiFileDiff,
        viewed: &HashSet<&str>,
    ) -> Vec<FileTreeNode> {
        let mut out = Vec::new();
        for (name, sub) in d.dirs {
            let mut name = name;
            let mut sub = sub;
            // Collapse chains of single-child directories.
            while sub.files.is_empty() && sub.dirs.len() == 1 {
                let Some((child_name, child)) = std::mem::take(&mut sub.dirs).into_iter().next()
                else {
                    break;
                };
                name = format!("{name}/{child_name}");
                sub = child;
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let children = build(sub, &path, diff, viewed);
            let stats = children
                .iter()
                .fold(DiffStats::default(), |a, c| DiffStats {
                    added: a.added + c.stats.added,
                    removed: a.removed + c.stats.removed,
                });
            let all_viewed = !children.is_empty() && children.iter().all(|c| c.viewed);
            out.push(FileTreeNode {
                name,
                path,
                file_index: None,
                status: None,
                stats,
                viewed_key: None,
                viewed: all_viewed,
                children,
            });
        }
        let mut files: Vec<FileTreeNode> = d
            .files
            .into_iter()
            .map(|i| {
                let f = &diff.files[i];
                let key = f.viewed_key();
                FileTreeNode {
                    name: f.path.rsplit('/').next().unwrap_or(&f.path).to_string(),
                    path: f.path.clone(),
                    file_index: Some(i as u32),
                    status: Some(f.status),
                    stats: f.stats,
                    viewed: viewed.contains(key.as_str()),
                    viewed_key: Some(key),
                    children: Vec::new(),
                }
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(files);
        out
    }
    let roots = build(root, "", diff, &viewed);
    let viewed_files = diff
        .files
        .iter()
        .filter(|f| viewed.contains(f.viewed_key().as_str()))
        .count() as u32;
    FileTree {
        roots,
        total_files: diff.files.len() as u32,
        viewed_files,
    }
}

// ---------------------------------------------------------------- anchors

/// A comment anchored to one line of one side of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[ts(export)]
pub struct LineAnchor {
    pub file: String,
    #[ts(type = "\"old\" | \"new\"")]
    pub side: DiffSide,
    pub line: u32,
    /// [`line_hash`] of the line's text when the comment was written.
    pub line_hash: String,
}

/// Where an anchor lands in a (re-synced) diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AnchorResolution {
    /// Same line number, same content.
    Exact { file_index: u32, line: u32 },
    /// Same content found at another line (nearest one).
    Moved { file_index: u32, line: u32 },
    /// The line is gone; show the comment in an "outdated" list.
    Orphaned,
}

fn side_lines(file: &FileDiff, side: DiffSide) -> impl Iterator<Item = (u32, &str)> {
    file.hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .filter_map(move |l| {
            match side {
                DiffSide::Old => l.old_line,
                DiffSide::New => l.new_line,
            }
            .map(|n| (n, l.text.as_str()))
        })
}

fn find_file<'a>(diff: &'a MultiFileDiff, path: &str) -> Option<(usize, &'a FileDiff)> {
    diff.files
        .iter()
        .enumerate()
        .find(|(_, f)| f.path == path)
        .or_else(|| {
            diff.files
                .iter()
                .enumerate()
                .find(|(_, f)| f.old_path.as_deref() == Some(path))
        })
}

/// Anchor for a line shown in `diff`; `None` if the file or line isn't shown.
pub fn anchor_for(
    diff: &MultiFileDiff,
    file: &str,
    side: DiffSide,
    line: u32,
) -> Option<LineAnchor> {
    let (_, f) = find_file(diff, file)?;
    let (_, text) = side_lines(f, side).find(|(n, _)| *n == line)?;
    Some(LineAnchor {
        file: f.path.clone(),
        side,
        line,
        line_hash: line_hash(text),
    })
}

/// Find an anchor's line in a new version of the diff: the exact line first,
/// then the nearest line with the same content hash; orphaned if gone.
pub fn relocate_anchor(anchor: &LineAnchor, diff: &MultiFileDiff) -> AnchorResolution {
    let Some((fi, f)) = find_file(diff, &anchor.file) else {
        return AnchorResolution::Orphaned;
    };
    let mut best: Option<u32> = None;
    for (n, text) in side_lines(f, anchor.side) {
        if line_hash(text) != anchor.line_hash {
            continue;
        }
        if n == anchor.line {
            return AnchorResolution::Exact {
                file_index: fi as u32,
                line: n,
            };
        }
        if best.is_none_or(|b| n.abs_diff(anchor.line) < b.abs_diff(anchor.line)) {
            best = Some(n);
        }
    }
    match best {
        Some(line) => AnchorResolution::Moved {
            file_index: fi as u32,
            line,
        },
        None => AnchorResolution::Orphaned,
    }
}

#[cfg(test)]
mod tests;
