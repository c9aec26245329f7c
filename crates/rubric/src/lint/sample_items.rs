//! Sample items checked against the rubric: fields the rubric shows but an
//! item lacks, values of a kind the field's viewer cannot show, item fields
//! no rubric field shows.

use super::*;

/// Whether a field `value` has a shape the `viewer` can show (lint of sample
/// items and the platform's item import both use this rule).
pub fn viewer_accepts(viewer: ViewerKind, value: &FieldValue) -> bool {
    match (viewer, value) {
        (ViewerKind::Scan, FieldValue::Attachment(_)) => true,
        // A series: its slices (or archives of them).
        (ViewerKind::Scan, FieldValue::Attachments(list)) => !list.is_empty(),
        (ViewerKind::Scan, _) => false,
        (ViewerKind::Chat | ViewerKind::TestSuite, FieldValue::Json(_) | FieldValue::Text(_)) => {
            true
        }
        (_, FieldValue::Text(_)) => true,
        _ => false,
    }
}

/// "text", "JSON" or "an attachment", for messages.
pub fn value_kind(v: &FieldValue) -> &'static str {
    match v {
        FieldValue::Text(_) => "text",
        FieldValue::Json(_) => "JSON",
        FieldValue::Attachment(_) => "an attachment",
        FieldValue::Attachments(_) => "a list of attachments",
    }
}

fn list_some(ids: &[&str]) -> String {
    let shown: Vec<&str> = ids.iter().take(5).copied().collect();
    let more = ids.len().saturating_sub(shown.len());
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

pub(super) fn items_check(r: &Rubric, items: &[Item], l: &mut Linter<'_>) {
    let n = items.len();
    for f in &r.fields {
        let lacking: Vec<&str> = items
            .iter()
            .filter(|i| !i.fields.contains_key(&f.id))
            .map(|i| i.id.as_str())
            .collect();
        if lacking.len() == n {
            l.error(
                "undefined-field",
                Target::Field(&f.id),
                format!(
                    "field `{}` is declared visible but none of the {n} sample items has it",
                    f.id
                ),
            );
        } else if !lacking.is_empty() {
            l.warning(
                "undefined-field",
                Target::Field(&f.id),
                format!(
                    "field `{}` is missing from {} of {n} sample items ({})",
                    f.id,
                    lacking.len(),
                    list_some(&lacking)
                ),
            );
        }
        let wrong: Vec<(&str, &'static str)> = items
            .iter()
            .filter_map(|i| i.fields.get(&f.id).map(|v| (i.id.as_str(), v)))
            .filter(|(_, v)| !viewer_accepts(f.viewer, v))
            .map(|(id, v)| (id, value_kind(v)))
            .collect();
        if let Some((_, kind)) = wrong.first() {
            let ids: Vec<&str> = wrong.iter().map(|(id, _)| *id).collect();
            l.warning(
                "viewer-mismatch",
                Target::FieldKey(&f.id, "viewer"),
                format!(
                    "field `{}` uses the {} viewer but is {kind} in sample items {}",
                    f.id,
                    f.viewer.as_str(),
                    list_some(&ids)
                ),
            );
        }
    }
    let visible: BTreeSet<&str> = r.fields.iter().map(|f| f.id.as_str()).collect();
    let mut hidden: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for i in items {
        for k in i.fields.keys() {
            if !visible.contains(k.as_str()) {
                hidden.entry(k.as_str()).or_default().push(i.id.as_str());
            }
        }
    }
    for (field, ids) in hidden {
        l.warning(
            "unused-item-field",
            Target::Nowhere,
            format!(
                "sample items have field `{field}`, which the rubric does not show; reviewers will not see it ({})",
                list_some(&ids)
            ),
        );
    }
}
