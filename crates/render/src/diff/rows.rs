//! The virtualised rows of a diff: layout, collapsed gaps and row windows.

use super::*;
use crate::vec_heap_bytes;

/// A row of the virtualised diff view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiffRow {
    /// A hunk's `@@ -a,b +c,d @@ section` header line.
    HunkHeader {
        /// Index of the hunk within its file.
        hunk: u32,
        /// The header as text (see `Hunk::header`).
        text: String,
    },
    /// Unified mode line.
    Line {
        /// Context, added or removed.
        kind: LineKind,
        /// 1-based line number in the old file; `None` for an added line.
        old_line: Option<u32>,
        /// 1-based line number in the new file; `None` for a removed line.
        new_line: Option<u32>,
        /// The line's text as highlighted runs (word-level changes marked).
        runs: Vec<StyledRun>,
        /// `\ No newline at end of file` followed this line.
        no_newline: bool,
        /// [`line_hash`] of the line: the UI puts it on a comment's anchor,
        /// so saving a draft never needs the diff.
        #[ts(optional)]
        #[serde(skip_serializing_if = "Option::is_none")]
        line_hash: Option<String>,
    },
    /// Split (side-by-side) mode row.
    Split {
        /// The old side (`None` where the row only has an added line).
        old: Option<SplitCell>,
        /// The new side (`None` where the row only has a removed line).
        new: Option<SplitCell>,
    },
    /// "N unchanged lines" — expand by adding `gap` to the expanded set.
    Expander {
        /// Gap id within the file (`0..FileSummary::gaps`).
        gap: u32,
        /// Number of unchanged lines the gap hides.
        hidden: u32,
        /// 1-based old-file line of the first hidden line.
        old_start: u32,
        /// 1-based new-file line of the first hidden line.
        new_start: u32,
    },
}

/// One side of a split (side-by-side) row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SplitCell {
    /// Context, added or removed.
    pub kind: LineKind,
    /// 1-based line number on this side.
    pub line: u32,
    /// The line's text as highlighted runs (word-level changes marked).
    pub runs: Vec<StyledRun>,
    /// `\ No newline at end of file` followed this line.
    pub no_newline: bool,
    /// [`line_hash`] of the line (see [`DiffRow::Line`]).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_hash: Option<String>,
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
    gaps: Vec<Gap>,
    unified: Layout,
    split: Layout,
}

impl Layout {
    fn heap_bytes(&self) -> usize {
        vec_heap_bytes(&self.items).saturating_add(vec_heap_bytes(&self.gap_items))
    }
}

impl FileRows {
    fn heap_bytes(&self) -> usize {
        vec_heap_bytes(&self.refs)
            .saturating_add(vec_heap_bytes(&self.gaps))
            .saturating_add(self.unified.heap_bytes())
            .saturating_add(self.split.heap_bytes())
    }
}

enum Seg {
    Items(Range<u32>),
    Expander(u32),
}

/// What the UI needs to list a file of a diff without its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileSummary {
    /// Index of the file in the diff (what `DiffRows::rows_for` takes).
    pub index: u32,
    /// New path (old path for deleted files).
    pub path: String,
    /// Old path when it differs (renames, copies).
    pub old_path: Option<String>,
    /// Stable language id (`rust`, `typescript`, ...) used for highlighting, if known.
    pub language: Option<String>,
    /// Whether the file was added, modified, deleted, renamed or copied.
    pub status: FileStatus,
    /// A binary file: it has no rows.
    pub binary: bool,
    /// Lines added and removed in the file.
    pub stats: DiffStats,
    /// Key under which the reviewer's "viewed" mark is stored (see `FileDiff::viewed_key`); changes when the file's content does.
    pub viewed_key: String,
    /// Number of collapsible gaps (ids `0..gaps`).
    pub gaps: u32,
    /// Row counts with every gap collapsed.
    pub unified_rows: u32,
    /// Split-mode row count with every gap collapsed.
    pub split_rows: u32,
}

/// The highlighted, virtualisable view model of a [`MultiFileDiff`].
///
/// The layout is computed up front. Syntax highlighting and word-level
/// changes happen per hunk for the rows [`DiffRows::rows_for`] returns,
/// visible first: a window highlights only its own hunks, up to its last
/// line and a screenful beyond (the rest of a hunk on a later window); or
/// for every file at once with [`DiffRows::highlight_all`] (e.g. on a
/// background thread).
pub struct DiffRows {
    diff: MultiFileDiff,
    /// The language given to [`DiffRows::with_language`].
    language: Option<String>,
    files: Vec<FileRows>,
    langs: Vec<Option<Language>>,
    /// Per file, per hunk: what is highlighted so far.
    hl: Vec<Mutex<Vec<HunkHl>>>,
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
        let hl = diff
            .files
            .iter()
            .map(|f| Mutex::new(f.hunks.iter().map(|_| HunkHl::default()).collect()))
            .collect();
        DiffRows {
            diff,
            language: language.map(str::to_string),
            files,
            langs,
            hl,
        }
    }

    /// Highlight every file not highlighted yet (files and hunks in parallel).
    pub fn highlight_all(&self) {
        let all: Vec<usize> = (0..self.files.len()).collect();
        highlight_files(&self.diff, &self.langs, &self.hl, &all);
    }

    /// Highlight every hunk of one file (hunks in parallel).
    pub fn highlight_file(&self, file_index: usize) {
        if file_index < self.files.len() {
            highlight_files(&self.diff, &self.langs, &self.hl, &[file_index]);
        }
    }

    /// Lines highlighted so far in each hunk of a file (tests, benchmarks).
    pub fn highlighted_lines(&self, file_index: usize) -> Vec<usize> {
        self.hl
            .get(file_index)
            .map(|m| lock(m).iter().map(|h| h.done).collect())
            .unwrap_or_default()
    }

    /// About how many bytes of heap these rows hold: the diff's lines (text
    /// and records), the row layouts and what is highlighted so far. An
    /// estimate from lengths and capacities, for the app's cache of open
    /// diffs to stay within a budget; it grows as more rows are highlighted.
    pub fn heap_bytes(&self) -> usize {
        let lines: usize = self
            .diff
            .files
            .iter()
            .flat_map(|f| &f.hunks)
            .flat_map(|h| &h.lines)
            .map(|l| l.text.capacity().saturating_add(size_of::<DiffLine>()))
            .sum();
        let layout: usize = self.files.iter().map(FileRows::heap_bytes).sum();
        let highlighted: usize = self
            .hl
            .iter()
            .map(|m| lock(m).iter().map(HunkHl::heap_bytes).sum::<usize>())
            .sum();
        lines.saturating_add(layout).saturating_add(highlighted)
    }

    /// Whether these rows were built from `diff` with `language`: an item
    /// opened again keeps its rows and the highlighting done so far.
    pub fn is_for(&self, diff: &MultiFileDiff, language: Option<&str>) -> bool {
        self.language.as_deref() == language && self.diff == *diff
    }

    /// The diff these rows were built from.
    pub fn diff(&self) -> &MultiFileDiff {
        &self.diff
    }

    /// Number of files in the diff.
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
        // The window's rows first (items not built yet), then the hunks
        // they show highlighted as far as they need, then the rows.
        let mut plan: Vec<Result<Item, DiffRow>> = Vec::with_capacity(count.min(10_000) as usize);
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
                        plan.push(Err(DiffRow::Expander {
                            gap: id,
                            hidden: gap.lines.len() as u32,
                            old_start: first.old_line.unwrap_or(0),
                            new_start: first.new_line.unwrap_or(0),
                        }));
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
                        plan.push(Ok(layout.items[idx as usize]));
                    }
                    pos += len;
                }
            }
        }
        // Last line needed per hunk.
        let mut need: BTreeMap<u32, u32> = BTreeMap::new();
        let mut note = |flat: Option<u32>| {
            if let Some(&(h, i)) = flat.and_then(|fl| f.refs.get(fl as usize)) {
                let e = need.entry(h).or_insert(i);
                *e = (*e).max(i);
            }
        };
        for p in &plan {
            match p {
                Ok(Item::Line(fl)) => note(Some(*fl)),
                Ok(Item::Pair(a, b)) => {
                    note(*a);
                    note(*b);
                }
                _ => {}
            }
        }
        let mut hl = lock(&self.hl[file_index]);
        // One memo for the hunks this call highlights: the same line in the
        // same state (a closing brace, an import, a blank line) is parsed once.
        let memo = SharedMemo::default();
        for (h, i) in need {
            if let (Some(done), Some(hunk)) = (hl.get_mut(h as usize), hunks.get(h as usize)) {
                done.ensure(hunk, self.langs[file_index], i as usize, &memo);
            }
        }
        crate::highlight::release_thread_caches();
        Ok(plan
            .into_iter()
            .map(|p| match p {
                Ok(item) => self.row(file_index, f, &hl, item),
                Err(row) => row,
            })
            .collect())
    }

    /// Runs of a flat line as shown on `side` (context lines may differ
    /// between the sides; unified mode shows them as on the new side).
    fn runs(
        &self,
        file_index: usize,
        f: &FileRows,
        hl: &[HunkHl],
        flat: u32,
        side: DiffSide,
    ) -> (&DiffLine, Vec<StyledRun>) {
        let (h, i) = f.refs[flat as usize];
        let line = &self.diff.files[file_index].hunks[h as usize].lines[i as usize];
        let (spans, changed) = hl.get(h as usize).map_or((None, None), |d| {
            let old_context = match side {
                DiffSide::Old => d.old_context.get(&i),
                DiffSide::New => None,
            };
            (
                old_context.or_else(|| d.spans.get(i as usize)),
                d.changed.get(i as usize),
            )
        });
        let runs = to_runs(
            &line.text,
            spans.map_or(&[][..], Vec::as_slice),
            changed.map_or(&[][..], Vec::as_slice),
        );
        (line, runs)
    }

    fn row(&self, file_index: usize, f: &FileRows, hl: &[HunkHl], item: Item) -> DiffRow {
        match item {
            Item::Header(h) => DiffRow::HunkHeader {
                hunk: h,
                text: self.diff.files[file_index].hunks[h as usize].header(),
            },
            Item::Line(flat) => {
                let (line, runs) = self.runs(file_index, f, hl, flat, DiffSide::New);
                DiffRow::Line {
                    kind: line.kind,
                    old_line: line.old_line,
                    new_line: line.new_line,
                    runs,
                    no_newline: line.no_newline,
                    line_hash: Some(line_hash(&line.text)),
                }
            }
            Item::Pair(old, new) => {
                let cell = |flat: Option<u32>, side: DiffSide| {
                    flat.map(|flat| {
                        let (line, runs) = self.runs(file_index, f, hl, flat, side);
                        SplitCell {
                            kind: line.kind,
                            line: match side {
                                DiffSide::Old => line.old_line,
                                DiffSide::New => line.new_line,
                            }
                            .unwrap_or(0),
                            runs,
                            no_newline: line.no_newline,
                            line_hash: Some(line_hash(&line.text)),
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

    // Gaps, per hunk (word-level changes come with highlighting).
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
                while i < lines.len() && lines[i].kind != LineKind::Context {
                    i += 1;
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
