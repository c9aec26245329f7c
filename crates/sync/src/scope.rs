//! Rubric scoping of items before they reach the store.
//!
//! Delegates to [`assay_rubric::scope`]: only fields the rubric declares
//! visible are kept; everything else is dropped here, before storage.

use assay_protocol::Item;
use assay_rubric::{Rubric, ScopedItem};

/// Reduce `item` to what `rubric` lets a reviewer see.
pub fn scope_item(item: &Item, rubric: &Rubric) -> ScopedItem {
    assay_rubric::scope(item, rubric)
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
