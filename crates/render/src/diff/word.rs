//! Word-level changes inside a modified line pair.

use super::*;

/// Changed byte ranges of a modified pair, or `None` when the lines are too
/// different (or too long) for word emphasis to help.
#[allow(clippy::type_complexity)]
pub(super) fn word_changes(old: &str, new: &str) -> Option<(Vec<(u32, u32)>, Vec<(u32, u32)>)> {
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
