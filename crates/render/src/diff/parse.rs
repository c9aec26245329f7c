//! Parsing unified diffs and diffing old/new file pairs into a [`MultiFileDiff`].

use super::*;

fn strip_prefix_path(p: &str, prefix: &str) -> String {
    p.strip_prefix(prefix).unwrap_or(p).to_string()
}

/// A `rename from|to <path>` or `copy from|to <path>` line: the status it
/// gives the file, whether it names the old path (`from`), and the path.
fn rename_or_copy(line: &str) -> Option<(FileStatus, bool, &str)> {
    let (status, rest) = match line.strip_prefix("rename ") {
        Some(rest) => (FileStatus::Renamed, rest),
        None => (FileStatus::Copied, line.strip_prefix("copy ")?),
    };
    match rest.strip_prefix("from ") {
        Some(p) => Some((status, true, p)),
        None => rest.strip_prefix("to ").map(|p| (status, false, p)),
    }
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
        } else if let Some((status, from, p)) = rename_or_copy(line) {
            if from {
                c.file.old_path = Some(p.to_string());
            } else {
                c.file.path = p.to_string();
            }
            c.file.status = status;
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
                    .map_or(value, |v| v.strip_suffix('\r').unwrap_or(v));
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
