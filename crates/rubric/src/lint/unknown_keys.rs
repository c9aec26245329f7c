//! Unknown keys: a key the rubric's format does not define, with a known key
//! a typo away suggested.

use super::*;

const QUESTION_COMMON_KEYS: &[&str] = &[
    "id",
    "prompt",
    "type",
    "required",
    "weight",
    "help",
    "examples",
    "rationale",
    "show_if",
    "refers_to",
];

fn kind_keys(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "scale" => &["min", "max", "anchors"],
        "single_choice" => &["options"],
        "multi_choice" => &["options", "min_selected", "max_selected"],
        "pass_fail" => &["criteria"],
        "ranking" => &["fields"],
        "pairwise" => &["a", "b", "allow_tie", "strengths"],
        "free_text" => &["min_length", "max_length", "placeholder"],
        "annotations" => &["fields", "severities", "min_count"],
        _ => return None,
    })
}

/// Parse the source as a generic value (any format).
fn raw_value(src: &SourceMap) -> Option<serde_json::Value> {
    match src.format() {
        Format::Json => serde_json::from_str(src.text()).ok(),
        Format::Yaml => serde_yaml::from_str(src.text()).ok(),
        Format::Toml => toml::from_str::<toml::Table>(src.text())
            .ok()
            .and_then(|t| serde_json::to_value(t).ok()),
    }
}

/// Question keys the model ignores (flattened question kinds cannot reject
/// them at parse time): warnings, with a suggestion when one is close.
pub(super) fn unknown_keys(src: &SourceMap, l: &mut Linter<'_>) {
    let Some(value) = raw_value(src) else { return };
    let Some(questions) = value.get("questions").and_then(|q| q.as_array()) else {
        return;
    };
    for q in questions {
        let Some(obj) = q.as_object() else { continue };
        let id = obj.get("id").and_then(|v| v.as_str()).unwrap_or("");
        let kind = obj.get("type").and_then(|v| v.as_str()).unwrap_or("");
        let Some(specific) = kind_keys(kind) else {
            continue;
        };
        for key in obj.keys() {
            let known =
                QUESTION_COMMON_KEYS.contains(&key.as_str()) || specific.contains(&key.as_str());
            if known {
                continue;
            }
            let hint = QUESTION_COMMON_KEYS
                .iter()
                .chain(specific.iter())
                .find(|k| edit_distance(k, key) <= 2)
                .map_or_else(
                    || {
                        if kind_keys_any(key) {
                            format!("; `{key}` does not apply to a {kind} question")
                        } else if let Some(k) = ALL_KINDS
                            .iter()
                            .filter_map(|k| kind_keys(k))
                            .flatten()
                            .find(|k| edit_distance(k, key) <= 2)
                        {
                            format!("; `{k}` would not apply to a {kind} question either")
                        } else {
                            String::new()
                        }
                    },
                    |k| format!("; did you mean `{k}`?"),
                );
            l.warning(
                "unknown-key",
                Target::QuestionKey(id, key),
                format!("question `{id}`: unknown key `{key}` is ignored{hint}"),
            );
        }
    }
}

const ALL_KINDS: &[&str] = &[
    "scale",
    "single_choice",
    "multi_choice",
    "pass_fail",
    "ranking",
    "pairwise",
    "free_text",
    "annotations",
];

fn kind_keys_any(key: &str) -> bool {
    ALL_KINDS
        .iter()
        .filter_map(|k| kind_keys(k))
        .any(|keys| keys.contains(&key))
}

/// Levenshtein distance on chars (keys are short).
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
