//! Rubric scoping of items before they reach the store.
//!
//! Delegates to [`assay_rubric::scope`]: only fields the rubric declares
//! visible are kept; everything else is dropped here, before storage.

use std::collections::{BTreeMap, HashSet};

use assay_protocol::{FieldValue, Item, ItemEnvelope, ReviewedSubmission};
use assay_rubric::{scope_owned, Rubric, ScopedItem};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// Reduce `item` to what `rubric` lets a reviewer see (its visible values
/// are moved, not copied).
pub fn scope_item(item: Item, rubric: &Rubric) -> ScopedItem {
    scope_owned(item, rubric)
}

/// An item envelope decoded straight from the platform's bytes into its
/// scoped form, in one pass: every field of `item.fields` that `rubric` does
/// not declare is skipped unparsed (only its JSON syntax is checked, as any
/// JSON parser must to find where it ends; it is never decoded, kept or
/// quoted), the declared ones are decoded and moved into the scoped item.
/// No intermediate `serde_json::Value` of the item is built.
pub(crate) fn decode_scoped(bytes: &[u8], rubric: &Rubric) -> serde_json::Result<ScopedEnvelope> {
    let visible: HashSet<&str> = rubric.fields.iter().map(|f| f.id.as_str()).collect();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let env = EnvelopeSeed(&visible).deserialize(&mut de)?;
    de.end()?;
    Ok(ScopedEnvelope {
        scoped: scope_owned(env.item, rubric),
        reviewed: env.reviewed_submission,
        own: env.own_submission,
    })
}

/// What [`decode_scoped`] gives: the scoped item and the submissions served with it.
pub(crate) struct ScopedEnvelope {
    /// The item as the rubric lets the reviewer see it.
    pub scoped: ScopedItem,
    /// For senior review: the reviewed submission.
    pub reviewed: Option<ReviewedSubmission>,
    /// The reviewer's own latest submission.
    pub own: Option<ReviewedSubmission>,
}

/// Keys of an item envelope (others are skipped, as the derived decoder does).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum EnvelopeKey {
    Item,
    ReviewedSubmission,
    OwnSubmission,
    #[serde(other)]
    Other,
}

/// Keys of an item (others are skipped, as the derived decoder does).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ItemKey {
    Id,
    OpportunityId,
    Title,
    Fields,
    CreatedAt,
    #[serde(other)]
    Other,
}

/// Makes `$seed` (a tuple struct holding the set of visible fields) a
/// [`DeserializeSeed`] of `$value` that decodes a map through the seed's own
/// `visit` (the [`Visitor`] around it, expecting `$expecting`).
macro_rules! map_seed {
    ($seed:ident, $value:ty, $expecting:literal) => {
        impl<'de> DeserializeSeed<'de> for $seed<'_> {
            type Value = $value;

            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$value, D::Error> {
                d.deserialize_map(self)
            }
        }

        impl<'de> Visitor<'de> for $seed<'_> {
            type Value = $value;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($expecting)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$value, A::Error> {
                self.visit(map)
            }
        }
    };
}

/// Decodes an [`ItemEnvelope`] whose item keeps only the fields in the set.
struct EnvelopeSeed<'a>(&'a HashSet<&'a str>);

map_seed!(EnvelopeSeed, ItemEnvelope, "an item envelope");

impl EnvelopeSeed<'_> {
    fn visit<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<ItemEnvelope, A::Error> {
        let (mut item, mut reviewed_submission, mut own_submission) = (None, None, None);
        // A repeated key: the last one counts (as when decoding via a JSON value).
        while let Some(key) = map.next_key()? {
            match key {
                EnvelopeKey::Item => item = Some(map.next_value_seed(ItemSeed(self.0))?),
                EnvelopeKey::ReviewedSubmission => reviewed_submission = map.next_value()?,
                EnvelopeKey::OwnSubmission => own_submission = map.next_value()?,
                EnvelopeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ItemEnvelope {
            item: item.ok_or_else(|| de::Error::missing_field("item"))?,
            reviewed_submission,
            own_submission,
        })
    }
}

/// Decodes an [`Item`] keeping only the fields in the set.
struct ItemSeed<'a>(&'a HashSet<&'a str>);

map_seed!(ItemSeed, Item, "an item");

impl ItemSeed<'_> {
    fn visit<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let (mut id, mut opportunity_id, mut title, mut fields, mut created_at) =
            (None, None, None, None, None);
        while let Some(key) = map.next_key()? {
            match key {
                ItemKey::Id => id = Some(map.next_value()?),
                ItemKey::OpportunityId => opportunity_id = Some(map.next_value()?),
                ItemKey::Title => title = Some(map.next_value()?),
                ItemKey::Fields => fields = Some(map.next_value_seed(FieldsSeed(self.0))?),
                ItemKey::CreatedAt => created_at = Some(map.next_value()?),
                ItemKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Item {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            opportunity_id: opportunity_id
                .ok_or_else(|| de::Error::missing_field("opportunity_id"))?,
            title: title.ok_or_else(|| de::Error::missing_field("title"))?,
            fields: fields.ok_or_else(|| de::Error::missing_field("fields"))?,
            created_at: created_at.ok_or_else(|| de::Error::missing_field("created_at"))?,
        })
    }
}

/// Decodes an item's fields, skipping (unparsed) every one not in the set.
struct FieldsSeed<'a>(&'a HashSet<&'a str>);

map_seed!(FieldsSeed, BTreeMap<String, FieldValue>, "a map of item fields");

impl FieldsSeed<'_> {
    fn visit<'de, A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<BTreeMap<String, FieldValue>, A::Error> {
        let mut fields = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.0.contains(key.as_str()) {
                let value: FieldValue = map.next_value()?;
                fields.insert(key, value);
            } else {
                // Hidden: skipped without decoding.
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(fields)
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
        let s = scope_item(item, &rubric);
        assert_eq!(s.fields.len(), 1);
        assert_eq!(s.fields[0].id, "answer");
        assert_eq!(s.missing_fields, vec!["absent".to_string()]);
        assert!(!serde_json::to_string(&s).unwrap().contains("SECRET"));
    }

    fn rubric() -> Rubric {
        serde_json::from_value(serde_json::json!({
            "id": "r", "version": 2, "title": "R",
            "fields": [
                {"id": "answer", "label": "Answer", "viewer": "markdown"},
                {"id": "scan", "label": "Scan", "viewer": "scan"},
                {"id": "absent", "label": "Absent", "viewer": "text"}
            ]
        }))
        .unwrap()
    }

    fn envelope() -> serde_json::Value {
        serde_json::json!({
            "item": {
                "id": "i", "opportunity_id": "o", "title": "T",
                "created_at": "2026-01-01T00:00:00Z",
                "extra": {"ignored": [1, 2]},
                "fields": {
                    "gold": {"type": "bogus", "value": {"SECRET": [1]}},
                    "answer": {"value": "shown", "type": "text"},
                    "scan": {"type": "attachment", "value": {
                        "sha256": "ab".repeat(32), "size": 3,
                        "media_type": "image/png", "filename": "a.png"}},
                    "notes": "SECRET not even a field value"
                }
            },
            "own_submission": null,
            "reviewed_submission": {
                "submission_id": "s", "answers": {"q": 1}, "active_seconds": 5,
                "submitted_at": "2026-01-02T00:00:00Z"
            },
            "something_new": true
        })
    }

    #[test]
    fn decoding_once_gives_what_strip_decode_and_scope_give() {
        let raw = envelope();
        let bytes = serde_json::to_vec(&raw).unwrap();
        let got = decode_scoped(&bytes, &rubric()).unwrap();
        // The other way: strip hidden fields from a JSON value, decode, scope.
        let mut v = raw;
        v["item"]["fields"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "answer" || k == "scan");
        let env: ItemEnvelope = serde_json::from_value(v).unwrap();
        assert_eq!(got.scoped, scope_item(env.item, &rubric()));
        assert_eq!(got.reviewed, env.reviewed_submission);
        assert_eq!(got.own, None);
        assert_eq!(got.scoped.fields.len(), 2);
        assert_eq!(got.scoped.missing_fields, ["absent"]);
        let stored = serde_json::to_string(&got.scoped).unwrap();
        assert!(
            !stored.contains("SECRET") && !stored.contains("gold"),
            "{stored}"
        );
    }

    #[test]
    fn a_malformed_envelope_is_refused_without_quoting_hidden_fields() {
        let bad = |v: serde_json::Value| {
            let e = decode_scoped(&serde_json::to_vec(&v).unwrap(), &rubric())
                .err()
                .unwrap_or_else(|| panic!("accepted {v}"));
            assert!(!e.to_string().contains("SECRET"), "{e}");
        };
        let mut v = envelope();
        v["item"]["fields"]["answer"] = serde_json::json!({"type": "bogus", "value": 1});
        bad(v);
        let mut v = envelope();
        v["item"].as_object_mut().unwrap().remove("created_at");
        bad(v);
        let mut v = envelope();
        v.as_object_mut().unwrap().remove("item");
        bad(v);
        bad(serde_json::json!([1, 2]));
        // Trailing bytes after the envelope.
        let mut bytes = serde_json::to_vec(&envelope()).unwrap();
        bytes.extend_from_slice(b" {}");
        assert!(decode_scoped(&bytes, &rubric()).is_err());
        // Broken JSON inside a hidden field is still broken JSON.
        let text = serde_json::to_string(&envelope()).unwrap().replace(
            r#""notes":"SECRET not even a field value""#,
            r#""notes":{"SECRET":"#,
        );
        assert!(decode_scoped(text.as_bytes(), &rubric()).is_err());
    }
}
