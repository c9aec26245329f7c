//! The published JSON Schema of the rubric format.

use crate::model::Rubric;

/// JSON Schema (draft-07, via schemars) of a rubric document. Committed as
/// `crates/rubric/rubric.schema.json`; a test fails when it drifts.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Rubric);
    // Serialising a schemars schema cannot fail: it is plain data with string keys.
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

/// The schema as pretty-printed JSON with a trailing newline (the committed file's form).
pub fn json_schema_string() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = include_str!("../rubric.schema.json");

    #[test]
    fn committed_schema_matches_the_model() {
        let current = json_schema_string();
        if std::env::var_os("ASSAY_UPDATE_SCHEMA").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rubric.schema.json");
            std::fs::write(path, &current).unwrap();
            return;
        }
        assert!(
            current == COMMITTED,
            "rubric.schema.json is out of date: run `ASSAY_UPDATE_SCHEMA=1 cargo test -p assay-rubric schema` \
             or `cargo run -p assay-rubric --bin assay -- rubric schema > crates/rubric/rubric.schema.json`"
        );
    }

    #[test]
    fn schema_describes_question_kinds() {
        let s = json_schema_string();
        for kind in ["scale", "pairwise", "annotations", "free_text"] {
            assert!(s.contains(kind), "{kind} missing");
        }
        assert_eq!(json_schema()["title"], "Rubric");
    }
}
