//! Comment anchors on one side of a file that survive a re-sync.

use super::*;

/// A comment anchored to one line of one side of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[ts(export)]
pub struct LineAnchor {
    /// Path of the file the comment is on (the file's new path).
    pub file: String,
    /// Whether `line` counts in the old or the new version of the file.
    #[ts(type = "\"old\" | \"new\"")]
    pub side: DiffSide,
    /// 1-based line number on that side.
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
    Exact {
        /// Index of the file in `MultiFileDiff::files`.
        file_index: u32,
        /// 1-based line on the anchor's side.
        line: u32,
    },
    /// Same content found at another line (nearest one).
    Moved {
        /// Index of the file in `MultiFileDiff::files`.
        file_index: u32,
        /// 1-based line where the same content now is.
        line: u32,
    },
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
