//! Lint for rubric authors: structural errors (which also make
//! [`crate::parse_rubric`] refuse a rubric) plus authoring checks, unknown
//! keys and checks against sample items.
//!
//! Here: the findings, the entry points and what the checks share; each kind
//! of check is a module of its own (`structural`, `authoring`, `unknown_keys`,
//! `sample_items`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use assay_protocol::{FieldValue, Item};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{
    Condition, Question, QuestionKind, RationaleRule, Rubric, ScaleAnchor, ScoringMethod,
    ViewerKind, RUBRIC_FORMAT_VERSION,
};
use crate::source::{Format, SourceLocation, SourceMap};
use crate::validate::{possible_tokens, question_index};

mod authoring;
mod sample_items;
mod structural;
mod unknown_keys;

use authoring::authoring;
use sample_items::items_check;
pub use sample_items::{value_kind, viewer_accepts};
use structural::structural;
use unknown_keys::unknown_keys;

/// How serious a lint finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LintSeverity {
    /// The rubric cannot be used until this is fixed.
    Error,
    /// Likely a mistake, but the rubric still works.
    Warning,
}

impl fmt::Display for LintSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LintSeverity::Error => "error",
            LintSeverity::Warning => "warning",
        })
    }
}

/// One lint result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LintFinding {
    /// Whether the finding blocks the rubric.
    pub severity: LintSeverity,
    /// Stable kebab-case code, e.g. `scale-range`, `unknown-key`.
    pub code: String,
    /// What is wrong, worded for the rubric author.
    pub message: String,
    /// Where in the rubric file, when the finding can be located.
    pub location: Option<SourceLocation>,
}

impl fmt::Display for LintFinding {
    /// `file:line:col: error[code]: message` (parts that are unknown are left out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            if let Some(file) = &loc.file {
                write!(f, "{file}:")?;
            }
            write!(f, "{}:{}: ", loc.line, loc.column)?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// What a finding is about, to locate it in the source.
#[derive(Clone, Copy)]
enum Target<'a> {
    Root(&'a str),
    Field(&'a str),
    FieldKey(&'a str, &'a str),
    Question(&'a str),
    QuestionKey(&'a str, &'a str),
    Nowhere,
}

struct Linter<'a> {
    src: Option<&'a SourceMap>,
    out: Vec<LintFinding>,
}

impl<'a> Linter<'a> {
    fn new(src: Option<&'a SourceMap>) -> Self {
        Self {
            src,
            out: Vec::new(),
        }
    }

    fn locate(&self, target: &Target<'_>) -> Option<SourceLocation> {
        let src = self.src?;
        match target {
            Target::Root(key) => src.locate_key(key),
            Target::Field(id) => src.locate_id("fields", id),
            Target::FieldKey(id, key) => src.locate_key_in("fields", id, key),
            Target::Question(id) => src.locate_id("questions", id),
            Target::QuestionKey(id, key) => src.locate_key_in("questions", id, key),
            Target::Nowhere => None,
        }
    }

    fn push(
        &mut self,
        severity: LintSeverity,
        code: &str,
        target: Target<'_>,
        message: impl Into<String>,
    ) {
        let location = self.locate(&target);
        self.out.push(LintFinding {
            severity,
            code: code.to_owned(),
            message: message.into(),
            location,
        });
    }

    fn error(&mut self, code: &str, target: Target<'_>, message: impl Into<String>) {
        self.push(LintSeverity::Error, code, target, message);
    }

    fn warning(&mut self, code: &str, target: Target<'_>, message: impl Into<String>) {
        self.push(LintSeverity::Warning, code, target, message);
    }
}

/// The values that occur more than once.
fn dups<T: Ord + Copy>(values: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    let mut seen = BTreeSet::new();
    values.into_iter().filter(|v| !seen.insert(*v)).collect()
}

/// Error `duplicate-{what}` on each id of `ids` (the rubric's `what`s:
/// `field`, `question`) that is declared more than once.
fn declared_once<'r>(
    what: &str,
    ids: impl IntoIterator<Item = &'r str>,
    target: fn(&'r str) -> Target<'r>,
    l: &mut Linter<'_>,
) {
    for d in dups(ids) {
        l.error(
            &format!("duplicate-{what}"),
            target(d),
            format!("{what} `{d}` is declared more than once"),
        );
    }
}

/// Errors that make a rubric unusable. [`crate::parse_rubric`] refuses a
/// rubric with any of these; `lint` reports them with the rest.
pub fn structural_findings(rubric: &Rubric, src: Option<&SourceMap>) -> Vec<LintFinding> {
    let mut l = Linter::new(src);
    structural(rubric, &mut l);
    l.out
}

/// Structural checks plus authoring checks, unknown keys (when `src` is
/// given) and checks against sample items. Sorted by position when located.
pub fn lint(rubric: &Rubric, src: Option<&SourceMap>, sample_items: &[Item]) -> Vec<LintFinding> {
    let mut l = Linter::new(src);
    structural(rubric, &mut l);
    authoring(rubric, &mut l);
    if let Some(src) = src {
        unknown_keys(src, &mut l);
    }
    if !sample_items.is_empty() {
        items_check(rubric, sample_items, &mut l);
    }
    let mut out = l.out;
    out.sort_by_key(|f| {
        f.location
            .as_ref()
            .map_or((u32::MAX, u32::MAX), |loc| (loc.line, loc.column))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::unknown_keys::edit_distance;
    use super::*;
    use crate::parse::{parse_rubric_unchecked, Format};

    fn lint_text(text: &str, format: Format) -> Vec<LintFinding> {
        let r = parse_rubric_unchecked(text, format, Some("r")).unwrap();
        let src = SourceMap::new(Some("r".into()), text, format);
        lint(&r, Some(&src), &[])
    }

    fn codes(f: &[LintFinding]) -> Vec<&str> {
        f.iter().map(|f| f.code.as_str()).collect()
    }

    const GOOD: &str = r#"
id = "good"
version = 1
title = "Good"
guidelines = "Do it well."

[payout]
basis = "per_item"
amount_cents = 500
currency = "USD"

[[fields]]
id = "answer"
label = "Answer"
viewer = "markdown"

[[questions]]
id = "quality"
prompt = "Quality?"
type = "scale"
min = 1
max = 5
refers_to = ["answer"]
anchors = [{ value = 1, label = "Bad" }, { value = 5, label = "Great" }]
"#;

    #[test]
    fn good_rubric_is_clean() {
        assert!(lint_text(GOOD, Format::Toml).is_empty());
    }

    #[test]
    fn findings_are_located_by_line() {
        let text = GOOD.replace("min = 1", "min = 9");
        let f = lint_text(&text, Format::Toml);
        let scale = f.iter().find(|f| f.code == "scale-range").unwrap();
        let loc = scale.location.as_ref().unwrap();
        assert_eq!(loc.file.as_deref(), Some("r"));
        assert_eq!(loc.line, 21, "{f:?}");
        assert_eq!(
            scale.to_string(),
            "r:21:1: error[scale-range]: question `quality`: scale min (9) must be less than max (5)"
        );
    }

    #[test]
    fn unknown_question_keys_are_warnings_with_hints() {
        let text = GOOD.replace("max = 5", "max = 5\nanchor = []\noptions = []");
        let f = lint_text(&text, Format::Toml);
        let msgs: Vec<_> = f
            .iter()
            .filter(|f| f.code == "unknown-key")
            .map(|f| (f.severity, f.message.clone()))
            .collect();
        assert_eq!(msgs.len(), 2, "{f:?}");
        assert!(msgs.iter().all(|(s, _)| *s == LintSeverity::Warning));
        assert!(msgs[0].1.contains("did you mean `anchors`"), "{msgs:?}");
        assert!(msgs[1].1.contains("does not apply to a scale"), "{msgs:?}");
    }

    #[test]
    fn missing_payout_and_empty_guidelines_are_errors() {
        let text = GOOD
            .replace("guidelines = \"Do it well.\"", "guidelines = \"  \"")
            .replace(
                "[payout]\nbasis = \"per_item\"\namount_cents = 500\ncurrency = \"USD\"\n",
                "",
            );
        let f = lint_text(&text, Format::Toml);
        assert_eq!(codes(&f), ["empty-guidelines", "missing-payout"], "{f:?}");
        assert!(f.iter().all(|f| f.severity == LintSeverity::Error));
    }

    fn base() -> Rubric {
        parse_rubric_unchecked(GOOD, Format::Toml, None).unwrap()
    }

    fn q(json: serde_json::Value) -> Question {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn duplicate_ids_and_missing_fields() {
        let mut r = base();
        r.fields.push(r.fields[0].clone());
        r.questions.push(r.questions[0].clone());
        r.questions.push(q(serde_json::json!({
            "id": "pair", "prompt": "p", "type": "pairwise", "a": "answer", "b": "ghost"
        })));
        let f = lint(&r, None, &[]);
        let c = codes(&f);
        assert!(c.contains(&"duplicate-field"), "{c:?}");
        assert!(c.contains(&"duplicate-question"), "{c:?}");
        assert!(c.contains(&"missing-field"), "{c:?}");
    }

    #[test]
    fn against_a_hidden_field_is_an_error() {
        let mut r = base();
        r.fields[0].viewer = ViewerKind::Diff;
        r.fields[0].against = Some("reference".into());
        let f = structural_findings(&r, None);
        assert_eq!(codes(&f), ["leaking-reference"]);
    }

    #[test]
    fn conditions_contradictory_cyclic_unreachable() {
        let mut r = base();
        r.questions.push(q(serde_json::json!({
            "id": "never", "prompt": "p", "type": "free_text",
            "show_if": {"question": "quality", "min": 6}
        })));
        r.questions.push(q(serde_json::json!({
            "id": "after_never", "prompt": "p", "type": "free_text",
            "show_if": {"question": "never"}
        })));
        r.questions.push(q(serde_json::json!({
            "id": "c1", "prompt": "p", "type": "free_text", "show_if": {"question": "c2"}
        })));
        r.questions.push(q(serde_json::json!({
            "id": "c2", "prompt": "p", "type": "free_text", "show_if": {"question": "c1"}
        })));
        r.questions.push(q(serde_json::json!({
            "id": "bad_choice", "prompt": "p", "type": "free_text",
            "show_if": {"question": "quality", "any_of": ["7"]}
        })));
        let f = lint(&r, None, &[]);
        let c = codes(&f);
        assert!(c.contains(&"contradictory-condition"), "{c:?}");
        assert!(c.contains(&"condition-cycle"), "{c:?}");
        assert!(c.contains(&"unknown-choice"), "{c:?}");
        assert!(c.contains(&"condition-order"), "{c:?}");
        let unreachable: Vec<_> = f
            .iter()
            .filter(|f| f.code == "unreachable-question")
            .map(|f| f.message.clone())
            .collect();
        assert_eq!(unreachable.len(), 1, "{unreachable:?}");
        assert!(unreachable[0].contains("after_never"));
    }

    #[test]
    fn scales_without_anchors_warn() {
        let mut r = base();
        if let QuestionKind::Scale { anchors, .. } = &mut r.questions[0].kind {
            anchors.clear();
        }
        let f = lint(&r, None, &[]);
        assert_eq!(codes(&f), ["scale-without-anchors"]);
        assert_eq!(f[0].severity, LintSeverity::Warning);
    }

    #[test]
    fn sample_items_reveal_undefined_and_unused_fields() {
        let item: Item = serde_json::from_value(serde_json::json!({
            "id": "i1", "opportunity_id": "o", "title": "t",
            "created_at": "2026-01-01T00:00:00Z",
            "fields": {"other": {"type": "text", "value": "x"}}
        }))
        .unwrap();
        let f = lint(&base(), None, &[item]);
        assert_eq!(codes(&f), ["undefined-field", "unused-item-field"]);
        assert_eq!(f[0].severity, LintSeverity::Error);
        assert_eq!(f[1].severity, LintSeverity::Warning);
    }

    #[test]
    fn edit_distance_works() {
        assert_eq!(edit_distance("anchors", "anchor"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
