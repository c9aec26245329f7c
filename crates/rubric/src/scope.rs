//! Field scoping: reduce an item to the fields its rubric declares visible.
//!
//! This is the only way item content reaches storage-for-display or the
//! webview. Values are copied only for declared fields; everything else in the
//! item (reference answers, grader notes, metadata) is dropped here.

use std::collections::BTreeSet;

use assay_protocol::Item;

use crate::model::{Rubric, ScopedField, ScopedItem};

/// The item as a reviewer may see it under `rubric`: declared fields only, in
/// declared order (a field declared twice appears once). `against` / `results`
/// references survive only when they name another visible field, so no viewer
/// can be pointed at a hidden one. Declared fields the item lacks are listed in
/// `missing_fields`.
pub fn scope(item: &Item, rubric: &Rubric) -> ScopedItem {
    scope_with(&item.id, &item.opportunity_id, &item.title, rubric, |id| {
        item.fields.get(id).cloned()
    })
}

/// [`scope`] taking the item by value: the visible values are moved into the
/// scoped item, not copied (the sync engine scopes every fetched item; a
/// copy of each item's content would be work thrown away at once). The same
/// fields, in the same order, as [`scope`] gives.
pub fn scope_owned(mut item: Item, rubric: &Rubric) -> ScopedItem {
    let fields = &mut item.fields;
    scope_with(&item.id, &item.opportunity_id, &item.title, rubric, |id| {
        fields.remove(id)
    })
}

/// The scoping of [`scope`] and [`scope_owned`]; `take` yields the item's
/// value of a declared field (asked once per declared field id).
fn scope_with(
    item_id: &str,
    opportunity_id: &str,
    title: &str,
    rubric: &Rubric,
    mut take: impl FnMut(&str) -> Option<assay_protocol::FieldValue>,
) -> ScopedItem {
    let visible: BTreeSet<&str> = rubric.fields.iter().map(|f| f.id.as_str()).collect();
    let visible_ref = |r: &Option<String>, own: &str| {
        r.as_ref()
            .filter(|name| name.as_str() != own && visible.contains(name.as_str()))
            .cloned()
    };
    let mut seen = BTreeSet::new();
    let mut fields = Vec::with_capacity(rubric.fields.len());
    let mut missing_fields = Vec::new();
    for f in &rubric.fields {
        if !seen.insert(f.id.as_str()) {
            continue;
        }
        match take(&f.id) {
            Some(value) => fields.push(ScopedField {
                id: f.id.clone(),
                label: f.label.clone(),
                viewer: f.viewer,
                against: visible_ref(&f.against, &f.id),
                language: f.language.clone(),
                diff_mode: f.diff_mode,
                results: visible_ref(&f.results, &f.id),
                help: f.help.clone(),
                value,
            }),
            None => missing_fields.push(f.id.clone()),
        }
    }
    ScopedItem {
        item_id: item_id.to_string(),
        opportunity_id: opportunity_id.to_string(),
        title: title.to_string(),
        rubric_id: rubric.id.clone(),
        rubric_version: rubric.version,
        fields,
        missing_fields,
    }
}

/// Ids of the item's fields that `scope` removes (for spec-author previews;
/// never send these to a reviewer's view).
pub fn hidden_fields(item: &Item, rubric: &Rubric) -> Vec<String> {
    let visible: BTreeSet<&str> = rubric.fields.iter().map(|f| f.id.as_str()).collect();
    item.fields
        .keys()
        .filter(|k| !visible.contains(k.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_rubric, Format};

    const SECRET: &str = "SECRET-reference-answer-7f3a";

    fn item() -> Item {
        serde_json::from_value(serde_json::json!({
            "id": "item-1", "opportunity_id": "opp", "title": "Fix bug",
            "created_at": "2026-01-01T00:00:00Z",
            "fields": {
                "patch": {"type": "text", "value": "+fixed"},
                "reference": {"type": "text", "value": SECRET},
                "notes": {"type": "json", "value": {"hint": SECRET}},
                "prompt": {"type": "text", "value": "Fix it"}
            }
        }))
        .unwrap()
    }

    fn rubric() -> Rubric {
        let mut r = parse_rubric(
            r#"
id = "r"
version = 3
title = "T"
[[fields]]
id = "prompt"
label = "Prompt"
viewer = "markdown"
[[fields]]
id = "patch"
label = "Patch"
viewer = "diff"
[[fields]]
id = "tests"
label = "Tests"
viewer = "test_suite"
"#,
            Format::Toml,
        )
        .unwrap();
        // Point at a hidden field behind the parser's back (as a buggy or
        // hostile rubric from elsewhere might): it must still not leak.
        r.fields[1].against = Some("reference".into());
        r.fields[2].results = Some("notes".into());
        r
    }

    #[test]
    fn hidden_fields_appear_nowhere_in_scoped_output() {
        let s = scope(&item(), &rubric());
        let ids: Vec<_> = s.fields.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["prompt", "patch"]);
        assert_eq!(s.missing_fields, ["tests"]);
        assert_eq!(s.rubric_id, "r");
        assert_eq!(s.rubric_version, 3);
        assert_eq!(s.fields[1].against, None);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains(SECRET), "{json}");
        assert!(!json.contains("reference"), "{json}");
        assert!(!json.contains("notes"), "{json}");
        let debug = format!("{s:?}");
        assert!(!debug.contains(SECRET));
        assert_eq!(hidden_fields(&item(), &rubric()), ["notes", "reference"]);
    }

    #[test]
    fn visible_references_are_kept_and_order_follows_rubric() {
        let mut r = rubric();
        r.fields[1].against = Some("prompt".into());
        r.fields.push(r.fields[0].clone()); // duplicate declaration
        let s = scope(&item(), &r);
        assert_eq!(s.fields[1].against.as_deref(), Some("prompt"));
        assert_eq!(s.fields.len(), 2);
    }

    #[test]
    fn scoping_by_value_gives_what_scoping_by_reference_gives() {
        let mut r = rubric();
        r.fields[1].against = Some("prompt".into());
        r.fields.push(r.fields[0].clone()); // duplicate declaration
        for r in [rubric(), r] {
            assert_eq!(scope_owned(item(), &r), scope(&item(), &r));
        }
    }
}
