//! Diff comments that survive a re-sync.
//!
//! A comment on a line of a diff is stored as
//! [`AnnotationAnchor::DiffLine`] with the hash of the line's text
//! ([`assay_render::diff::line_hash`]). The app fills the hash when a draft
//! is saved (from the item's current diff) and, when an item is opened,
//! relocates every such comment against the diff as it is now: a comment
//! whose line moved gets its new line number (and the draft is saved), one
//! whose line is gone is reported as outdated. A comment's text is never
//! dropped.

use std::collections::HashMap;

use assay_render::diff::{
    anchor_for, relocate_anchor, AnchorResolution, LineAnchor, MultiFileDiff,
};
use assay_rubric::{AnnotationAnchor, Answer, Answers, DiffSide};
use serde::Serialize;
use ts_rs::TS;

/// Where a diff-line comment of the draft sits in the item's current diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum PlacementStatus {
    /// On the line it was written on.
    Exact,
    /// The line's content moved (e.g. lines were inserted above it); the
    /// draft now points at the new line.
    Moved,
    /// The line is gone from the diff: shown as outdated, text kept.
    Outdated,
}

/// One diff-line comment of the draft, placed in the current diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CommentPlacement {
    /// The annotations question the comment belongs to.
    pub question_id: String,
    /// The annotation's id within the draft's answer.
    pub annotation_id: String,
    /// The diff field the comment is on.
    pub field_id: String,
    /// Path of the file in the diff the comment is on.
    pub file: String,
    /// Whether the line counts in the old or the new version of the file.
    #[ts(type = "\"old\" | \"new\"")]
    pub side: DiffSide,
    /// The line it is shown on now; `None` when outdated.
    pub line: Option<u32>,
    /// The line the draft named before this opening relocated it.
    pub previous_line: u32,
    /// Whether the comment sits on its line, moved with it, or is outdated.
    pub status: PlacementStatus,
}

/// One diff-line comment of the answers: its question id, the annotation's
/// id and field, and its anchor's parts (the line and hash mutable).
struct DiffLineRef<'a> {
    qid: &'a String,
    id: &'a String,
    field: &'a String,
    file: &'a String,
    side: DiffSide,
    line: &'a mut u32,
    line_hash: &'a mut Option<String>,
}

/// The diff-line comments of the answers.
fn diff_anchors(answers: &mut Answers) -> impl Iterator<Item = DiffLineRef<'_>> {
    answers
        .answers
        .iter_mut()
        .filter_map(|(qid, a)| match a {
            Answer::Annotations { items } => Some((qid, items)),
            _ => None,
        })
        .flat_map(|(qid, items)| {
            items.iter_mut().filter_map(move |a| match &mut a.anchor {
                AnnotationAnchor::DiffLine {
                    file,
                    side,
                    line,
                    line_hash,
                } => Some(DiffLineRef {
                    qid,
                    id: &a.id,
                    field: &a.field,
                    file,
                    side: *side,
                    line,
                    line_hash,
                }),
                _ => None,
            })
        })
}

/// Whether any diff-line comment has no line hash yet.
pub fn needs_hashes(answers: &Answers) -> bool {
    answers.answers.values().any(|a| match a {
        Answer::Annotations { items } => items.iter().any(|i| {
            matches!(
                i.anchor,
                AnnotationAnchor::DiffLine {
                    line_hash: None,
                    ..
                }
            )
        }),
        _ => false,
    })
}

/// The fields of the diff-line comments that have no line hash yet.
pub fn fields_needing_hashes(answers: &Answers) -> std::collections::BTreeSet<&str> {
    answers
        .answers
        .values()
        .filter_map(|a| match a {
            Answer::Annotations { items } => Some(items),
            _ => None,
        })
        .flatten()
        .filter(|i| {
            matches!(
                i.anchor,
                AnnotationAnchor::DiffLine {
                    line_hash: None,
                    ..
                }
            )
        })
        .map(|i| i.field.as_str())
        .collect()
}

/// Fills the line hash of every diff-line comment that has none, from the
/// diff of its field as it is now (`diffs` by field id). Comments on a line
/// the diff does not show keep no hash. Returns whether anything changed.
pub fn fill_hashes(answers: &mut Answers, diffs: &HashMap<String, &MultiFileDiff>) -> bool {
    let mut changed = false;
    for c in diff_anchors(answers) {
        if c.line_hash.is_some() {
            continue;
        }
        let Some(diff) = diffs.get(c.field.as_str()) else {
            continue;
        };
        if let Some(a) = anchor_for(diff, c.file, c.side, *c.line) {
            *c.line_hash = Some(a.line_hash);
            changed = true;
        }
    }
    changed
}

/// Relocates every diff-line comment against the current diffs (by field
/// id): moved comments get their new line, comments without a hash get one
/// (they are taken to be on the line they name), comments whose line is
/// gone are left as they are and reported outdated. Returns the placements
/// and whether the answers changed (the caller saves them).
pub fn relocate(
    answers: &mut Answers,
    diffs: &HashMap<String, &MultiFileDiff>,
) -> (Vec<CommentPlacement>, bool) {
    let mut changed = fill_hashes(answers, diffs);
    let mut out = Vec::new();
    for DiffLineRef {
        qid,
        id,
        field,
        file,
        side,
        line,
        line_hash,
    } in diff_anchors(answers)
    {
        let previous_line = *line;
        let resolution = match (diffs.get(field.as_str()), line_hash.as_ref()) {
            (Some(diff), Some(hash)) => relocate_anchor(
                &LineAnchor {
                    file: file.clone(),
                    side,
                    line: *line,
                    line_hash: hash.clone(),
                },
                diff,
            ),
            _ => AnchorResolution::Orphaned,
        };
        let (status, now) = match resolution {
            AnchorResolution::Exact { line, .. } => (PlacementStatus::Exact, Some(line)),
            AnchorResolution::Moved { line: to, .. } => {
                tracing::info!(annotation = %id, from = *line, to, "diff comment moved with its line");
                *line = to;
                changed = true;
                (PlacementStatus::Moved, Some(to))
            }
            AnchorResolution::Orphaned => (PlacementStatus::Outdated, None),
        };
        out.push(CommentPlacement {
            question_id: qid.clone(),
            annotation_id: id.clone(),
            field_id: field.clone(),
            file: file.clone(),
            side,
            line: now,
            previous_line,
            status,
        });
    }
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_render::diff::{diff_files, line_hash};
    use assay_rubric::Annotation;

    fn comment(id: &str, side: DiffSide, line: u32, hash: Option<String>) -> Annotation {
        Annotation::on_diff_line(id, "patch", "f.py", side, line, hash)
    }

    fn answers(items: Vec<Annotation>) -> Answers {
        let mut a = Answers::default();
        a.answers
            .insert("issues".into(), Answer::Annotations { items });
        a
    }

    #[test]
    fn hashes_fill_then_comments_follow_their_lines() {
        let old = "a\nb\nc\nd\n";
        let v1 = MultiFileDiff {
            files: vec![diff_files("f.py", old, "f.py", "a\nB\nc\nd\nnew tail\n")],
        };
        let mut draft = answers(vec![
            comment("n", DiffSide::New, 5, None),
            comment("o", DiffSide::Old, 2, None),
            comment("x", DiffSide::New, 99, None),
        ]);
        let diffs = HashMap::from([("patch".to_string(), &v1)]);
        assert!(needs_hashes(&draft));
        assert!(fill_hashes(&mut draft, &diffs));
        let Answer::Annotations { items } = &draft.answers["issues"] else {
            panic!()
        };
        assert!(
            matches!(&items[0].anchor, AnnotationAnchor::DiffLine { line_hash: Some(h), .. } if *h == line_hash("new tail"))
        );
        assert!(
            matches!(&items[1].anchor, AnnotationAnchor::DiffLine { line_hash: Some(h), .. } if *h == line_hash("b"))
        );
        // Not a line of the diff: no hash.
        assert!(matches!(
            &items[2].anchor,
            AnnotationAnchor::DiffLine {
                line_hash: None,
                ..
            }
        ));
        // Re-sync: two lines inserted at the top of both sides; `b` removed
        // on the old side stays, `new tail` moves.
        let v2 = MultiFileDiff {
            files: vec![diff_files(
                "f.py",
                "x\ny\na\nb\nc\nd\n",
                "f.py",
                "x\ny\na\nB\nc\nd\nnew tail\n",
            )],
        };
        let diffs = HashMap::from([("patch".to_string(), &v2)]);
        let (placed, changed) = relocate(&mut draft, &diffs);
        assert!(changed);
        assert_eq!(placed.len(), 3);
        assert_eq!(
            (placed[0].status, placed[0].line, placed[0].previous_line),
            (PlacementStatus::Moved, Some(7), 5)
        );
        assert_eq!(
            (placed[1].status, placed[1].line),
            (PlacementStatus::Moved, Some(4))
        );
        assert_eq!(
            (placed[2].status, placed[2].line),
            (PlacementStatus::Outdated, None)
        );
        // Relocating again is stable.
        let (again, changed) = relocate(&mut draft, &diffs);
        assert!(!changed);
        assert_eq!(again[0].status, PlacementStatus::Exact);
        // The line goes away: outdated, the text is kept.
        let v3 = MultiFileDiff {
            files: vec![diff_files("f.py", "a\nb\n", "f.py", "a\nb\n")],
        };
        let diffs = HashMap::from([("patch".to_string(), &v3)]);
        let (gone, _) = relocate(&mut draft, &diffs);
        assert!(gone.iter().all(|p| p.status == PlacementStatus::Outdated));
        let Answer::Annotations { items } = &draft.answers["issues"] else {
            panic!()
        };
        assert_eq!(items[0].comment, "comment n");
        assert!(matches!(
            &items[0].anchor,
            AnnotationAnchor::DiffLine { line: 7, .. }
        ));
    }
}
