//! Rubric scoping of items before they reach the store.
//!
//! `assay_rubric::scope` is being written in the rubric crate; until it lands,
//! this local fallback does the one thing scoping must guarantee: only fields
//! the rubric declares visible are copied, in the rubric's order; everything
//! else is dropped here, before storage.

use assay_protocol::Item;
use assay_rubric::{Rubric, ScopedField, ScopedItem};

/// Reduce `item` to what `rubric` lets a reviewer see.
pub fn scope_item(item: &Item, rubric: &Rubric) -> ScopedItem {
    let mut fields = Vec::with_capacity(rubric.fields.len());
    let mut missing_fields = Vec::new();
    for vf in &rubric.fields {
        match item.fields.get(&vf.id) {
            Some(value) => fields.push(ScopedField {
                id: vf.id.clone(),
                label: vf.label.clone(),
                viewer: vf.viewer,
                against: vf.against.clone(),
                language: vf.language.clone(),
                diff_mode: vf.diff_mode,
                results: vf.results.clone(),
                help: vf.help.clone(),
                value: value.clone(),
            }),
            None => missing_fields.push(vf.id.clone()),
        }
    }
    ScopedItem {
        item_id: item.id.clone(),
        opportunity_id: item.opportunity_id.clone(),
        title: item.title.clone(),
        rubric_id: rubric.id.clone(),
        rubric_version: rubric.version,
        fields,
        missing_fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_protocol::FieldValue;

    #[test]
    fn hidden_fields_never_survive() {
        let rubric: Rubric = serde_json::from_value(serde_json::json!({
            "id": "r", "version": 2, "title": "R",
            "fields": [
                {"id": "answer", "label": "Answer", "viewer": "markdown"},
                {"id": "absent", "label": "Absent", "viewer": "text"}
            ]
        }))
        .unwrap();
        let item = Item {
            id: "i".into(),
            opportunity_id: "o".into(),
            title: "T".into(),
            fields: [
                ("answer".to_string(), FieldValue::Text("shown".into())),
                ("gold_label".to_string(), FieldValue::Text("SECRET".into())),
            ]
            .into_iter()
            .collect(),
            created_at: chrono::Utc::now(),
        };
        let s = scope_item(&item, &rubric);
        assert_eq!(s.fields.len(), 1);
        assert_eq!(s.fields[0].id, "answer");
        assert_eq!(s.missing_fields, vec!["absent".to_string()]);
        assert!(!serde_json::to_string(&s).unwrap().contains("SECRET"));
    }
}
