//! Syntax highlighting of both sides of every hunk, in parallel.

use super::*;

/// One unit of highlighting work: one hunk, both sides in one pass.
struct Unit {
    file: usize,
    hunk: usize,
    cost: usize,
}

/// Highlighted spans of one file's flat lines.
#[derive(Debug, Default)]
pub(super) struct FileSpans {
    /// Per flat line: the new side for context and added lines, the old side
    /// for removed lines.
    pub(super) lines: Vec<Vec<Span>>,
    /// Old-side spans of context lines where the old side's parse state
    /// differs from the new side's (e.g. inside a string a removed line
    /// opened); split mode shows them in the old column.
    pub(super) old_context: HashMap<u32, Vec<Span>>,
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
pub(super) fn highlight_files(
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
        .map_or(1, std::num::NonZero::get)
        .min(8);
    // Results: (file, hunk, spans per line of the hunk, old-side spans of
    // context lines by index in the hunk).
    type Out = (usize, usize, Vec<Vec<Span>>, Vec<(usize, Vec<Span>)>);
    let run_units = |units: &[Unit]| -> Vec<Out> {
        let mut hl: Option<(usize, LineHighlighter)> = None;
        // One memo for every file this thread highlights.
        let memo = SharedMemo::default();
        let mut out = Vec::with_capacity(units.len());
        for u in units {
            let hunk = &diff.files[u.file].hunks[u.hunk];
            let h = match &mut hl {
                Some((f, h)) if *f == u.file => {
                    h.reset();
                    h
                }
                _ => {
                    &mut hl
                        .insert((
                            u.file,
                            LineHighlighter::with_memo(langs[u.file], memo.clone()),
                        ))
                        .1
                }
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
