//! Syntax highlighting and word-level changes of both sides of every hunk,
//! hunk by hunk: on demand for the rows asked for (visible first), or for
//! every hunk at once in parallel.

use super::*;
use crate::highlight::release_thread_caches;
use crate::vec_heap_bytes;

/// Highlighting and word-level changes of one hunk, done on first use.
///
/// Every hunk is highlighted from a fresh parser state (the lines between
/// hunks are unknown), so hunks are independent: the rows a window needs
/// only need their own hunks, and only up to the last line shown.
#[derive(Debug, Default)]
pub(super) struct HunkHl {
    /// Lines highlighted from the hunk's start (`spans` holds this many).
    pub(super) done: usize,
    /// Per line: the new side for context and added lines, the old side for
    /// removed lines.
    pub(super) spans: Vec<Vec<Span>>,
    /// Old-side spans of context lines (by index in the hunk) where the old
    /// side's parse state differs from the new side's (e.g. inside a string
    /// a removed line opened); split mode shows them in the old column.
    pub(super) old_context: HashMap<u32, Vec<Span>>,
    /// Changed byte ranges per line (word-level), valid below `words_done`.
    pub(super) changed: Vec<Vec<(u32, u32)>>,
    /// Lines whose change blocks have their word-level changes.
    words_done: usize,
}

impl HunkHl {
    /// Bytes its spans and changed ranges occupy on the heap (capacities).
    pub(super) fn heap_bytes(&self) -> usize {
        let spans = |v: &Vec<Span>| vec_heap_bytes(v).saturating_add(size_of::<Vec<Span>>());
        let lines: usize = self.spans.iter().map(spans).sum();
        let old: usize = self
            .old_context
            .values()
            .map(|v| spans(v).saturating_add(size_of::<u32>()))
            .sum();
        let changed: usize = self
            .changed
            .iter()
            .map(|v| vec_heap_bytes(v).saturating_add(size_of::<Vec<(u32, u32)>>()))
            .sum();
        lines.saturating_add(old).saturating_add(changed)
    }
}

/// The first time a hunk is needed only this many lines past the last one
/// asked for are highlighted (a screenful and the next); the next time the
/// rest of the hunk.
const LOOKAHEAD_LINES: usize = 400;

impl HunkHl {
    /// Highlights (and diffs word by word) at least the lines `..=need` of
    /// `hunk`: the first time up to [`LOOKAHEAD_LINES`] further, after
    /// that the whole hunk. The parser state is not kept between calls, so
    /// a later call parses the hunk again from its start; that happens once.
    pub(super) fn ensure(
        &mut self,
        hunk: &Hunk,
        lang: Option<Language>,
        need: usize,
        memo: &SharedMemo,
    ) {
        let len = hunk.lines.len();
        if need < self.done || self.done >= len {
            return;
        }
        let upto = if self.done == 0 {
            need.saturating_add(1 + LOOKAHEAD_LINES).min(len)
        } else {
            len
        };
        let mut h = LineHighlighter::with_memo(lang, memo.clone());
        let (spans, old_context) = highlight_hunk(hunk, &mut h, upto);
        self.set_spans(spans, old_context);
        self.words_upto(hunk, upto);
    }

    fn set_spans(&mut self, spans: Vec<Vec<Span>>, old_context: Vec<(usize, Vec<Span>)>) {
        self.done = spans.len();
        self.spans = spans;
        self.old_context = old_context
            .into_iter()
            .map(|(i, s)| (i as u32, s))
            .collect();
    }

    /// Word-level changes of every change block that starts before `upto`.
    fn words_upto(&mut self, hunk: &Hunk, upto: usize) {
        let lines = &hunk.lines;
        if self.changed.len() != lines.len() {
            self.changed = vec![Vec::new(); lines.len()];
        }
        let mut i = self.words_done;
        while i < lines.len() && i < upto {
            if lines[i].kind == LineKind::Context {
                i += 1;
                continue;
            }
            let s = i;
            while i < lines.len() && lines[i].kind != LineKind::Context {
                i += 1;
            }
            let removed = (s..i).filter(|&k| lines[k].kind == LineKind::Removed);
            let added = (s..i).filter(|&k| lines[k].kind == LineKind::Added);
            for (r, a) in removed.zip(added) {
                if let Some((oc, nc)) = word_changes(&lines[r].text, &lines[a].text) {
                    self.changed[r] = oc;
                    self.changed[a] = nc;
                }
            }
        }
        self.words_done = self.words_done.max(i);
    }
}

/// The two sides of a hunk are highlighted as two streams: the old side
/// (context + removed lines) and the new side (context + added lines), so
/// a multi-line string or comment opened or closed by a removed line carries
/// over the context lines that follow on the old side only. While both
/// streams are in the same state (the usual case) a context line is parsed
/// once; the old stream is forked at the first change and dropped as soon
/// as it converges with the new one again.
///
/// Highlights lines `..upto` of `hunk` with `h` (fresh or reset); returns
/// the spans per line and the old side's spans of context lines where they
/// differ.
#[allow(clippy::type_complexity)]
fn highlight_hunk(
    hunk: &Hunk,
    h: &mut LineHighlighter,
    upto: usize,
) -> (Vec<Vec<Span>>, Vec<(usize, Vec<Span>)>) {
    // The old side's stream while it differs from the new side's.
    let mut old: Option<LineHighlighter> = None;
    let mut old_context = Vec::new();
    let mut spans = Vec::with_capacity(upto.min(hunk.lines.len()));
    for (i, l) in hunk.lines.iter().enumerate().take(upto) {
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
    (spans, old_context)
}

/// One unit of highlighting work: one hunk, both sides in one pass.
struct Unit {
    file: usize,
    hunk: usize,
    cost: usize,
}

/// Highlights every line of every hunk of the files `which` not done yet
/// (hunks spread over threads) and stores the results in `hl`.
pub(super) fn highlight_files(
    diff: &MultiFileDiff,
    langs: &[Option<Language>],
    hl: &[Mutex<Vec<HunkHl>>],
    which: &[usize],
) {
    let mut units = Vec::new();
    for &fi in which {
        let done = lock(&hl[fi]);
        for (hi, hunk) in diff.files[fi].hunks.iter().enumerate() {
            let finished = done
                .get(hi)
                .is_some_and(|d| d.done >= hunk.lines.len() && d.words_done >= hunk.lines.len());
            if !finished {
                units.push(Unit {
                    file: fi,
                    hunk: hi,
                    cost: hunk.lines.len(),
                });
            }
        }
    }
    let total: usize = units.iter().map(|u| u.cost.max(1)).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    let run_units = |units: &[Unit]| -> Vec<(usize, usize, HunkHl)> {
        let mut cur: Option<(usize, LineHighlighter)> = None;
        // One memo for every file this thread highlights.
        let memo = SharedMemo::default();
        let mut out = Vec::with_capacity(units.len());
        for u in units {
            let hunk = &diff.files[u.file].hunks[u.hunk];
            let h = match &mut cur {
                Some((f, h)) if *f == u.file => {
                    h.reset();
                    h
                }
                _ => {
                    &mut cur
                        .insert((
                            u.file,
                            LineHighlighter::with_memo(langs[u.file], memo.clone()),
                        ))
                        .1
                }
            };
            let (spans, old_context) = highlight_hunk(hunk, h, hunk.lines.len());
            let mut done = HunkHl::default();
            done.set_spans(spans, old_context);
            done.words_upto(hunk, hunk.lines.len());
            out.push((u.file, u.hunk, done));
        }
        release_thread_caches();
        out
    };
    let results = if threads <= 1 || total < 2_000 {
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
                .flat_map(|h| {
                    if let Ok(v) = h.join() {
                        v
                    } else {
                        tracing::error!("highlighting thread panicked; lines stay plain");
                        Vec::new()
                    }
                })
                .collect()
        })
    };
    for (fi, hi, done) in results {
        if let Some(slot) = lock(&hl[fi]).get_mut(hi) {
            *slot = done;
        }
    }
}

/// A lock whose data stays usable when another thread panicked holding it
/// (a hunk's results are only replaced whole).
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
