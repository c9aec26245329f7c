//! The rubric document model (on disk as TOML, JSON or YAML; JSON on the wire)
//! and the answer model a reviewer fills in.

use std::collections::BTreeMap;

use assay_protocol::{FieldValue, PayBasis};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Version of the rubric *format* (not of a particular rubric).
pub const RUBRIC_FORMAT_VERSION: u32 = 1;

fn default_true() -> bool {
    true
}
fn default_weight() -> f64 {
    1.0
}
fn default_format() -> u32 {
    RUBRIC_FORMAT_VERSION
}

/// JSON Schema of [`PayBasis`] (a protocol type without a schemars impl).
fn pay_basis_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    schemars::schema::SchemaObject {
        instance_type: Some(schemars::schema::InstanceType::String.into()),
        enum_values: Some(vec![
            "per_item".into(),
            "per_hour".into(),
            "per_submission".into(),
        ]),
        ..Default::default()
    }
    .into()
}

/// A rubric: what a reviewer sees and what they must answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    /// Rubric format version; currently 1.
    #[serde(default = "default_format")]
    pub format: u32,
    pub id: String,
    pub version: u32,
    pub title: String,
    /// Markdown guidelines, always one key away in the app.
    #[serde(default)]
    pub guidelines: String,
    #[serde(default)]
    pub audience: Option<String>,
    /// Task taxonomy path, e.g. ["coding", "validation", "python"].
    #[serde(default)]
    pub taxonomy: Vec<String>,
    #[serde(default)]
    pub deliverable: Option<String>,
    #[serde(default)]
    pub estimated_minutes: Option<u32>,
    /// Things reviewers must not do or items that must be excluded.
    #[serde(default)]
    pub exclusions: Vec<String>,
    #[serde(default)]
    pub payout: Option<PayoutSchedule>,
    /// Item fields a reviewer may see, in display order. Everything else is removed.
    #[serde(default)]
    pub fields: Vec<VisibleField>,
    #[serde(default)]
    pub questions: Vec<Question>,
    #[serde(default)]
    pub scoring: Option<Scoring>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct PayoutSchedule {
    #[ts(type = "\"per_item\" | \"per_hour\" | \"per_submission\"")]
    #[schemars(schema_with = "pay_basis_schema")]
    pub basis: PayBasis,
    #[ts(type = "number")]
    pub amount_cents: i64,
    pub currency: String,
}

/// How a visible field is displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ViewerKind {
    /// Unified-diff text, or a new version compared to `against`.
    Diff,
    /// Source code with highlighting (`language`).
    Code,
    /// A test suite (JSON manifest or source) with optional run results.
    TestSuite,
    /// Legal redline of this field against the field named in `against`.
    LegalRedline,
    /// DICOM / PNG / JPEG scan attachment.
    Scan,
    Markdown,
    /// Chat transcript (JSON list of {role, content}).
    Chat,
    Text,
}

impl ViewerKind {
    /// The name used in rubric files (`diff`, `legal_redline`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ViewerKind::Diff => "diff",
            ViewerKind::Code => "code",
            ViewerKind::TestSuite => "test_suite",
            ViewerKind::LegalRedline => "legal_redline",
            ViewerKind::Scan => "scan",
            ViewerKind::Markdown => "markdown",
            ViewerKind::Chat => "chat",
            ViewerKind::Text => "text",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum DiffMode {
    Unified,
    Split,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct VisibleField {
    /// Item field id.
    pub id: String,
    pub label: String,
    pub viewer: ViewerKind,
    /// For `diff` (old side) and `legal_redline` (prior version): another visible field.
    #[serde(default)]
    pub against: Option<String>,
    /// Syntax for `code` / `diff` when it cannot be inferred from file names.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub diff_mode: Option<DiffMode>,
    /// For `test_suite`: field holding a JUnit XML run result.
    #[serde(default)]
    pub results: Option<String>,
    #[serde(default)]
    pub help: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct ScaleAnchor {
    pub value: i32,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub id: String,
    pub label: String,
}

/// The kind of answer a question takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    Scale {
        min: i32,
        max: i32,
        #[serde(default)]
        anchors: Vec<ScaleAnchor>,
    },
    SingleChoice {
        options: Vec<ChoiceOption>,
    },
    MultiChoice {
        options: Vec<ChoiceOption>,
        #[serde(default)]
        min_selected: Option<u32>,
        #[serde(default)]
        max_selected: Option<u32>,
    },
    /// Pass/fail per criterion.
    PassFail {
        criteria: Vec<ChoiceOption>,
    },
    /// Rank the named fields best-first.
    Ranking {
        fields: Vec<String>,
    },
    /// Preference between field `a` and field `b`, optionally a tie, with a strength.
    Pairwise {
        a: String,
        b: String,
        #[serde(default = "default_true")]
        allow_tie: bool,
        /// Strength labels, weakest first, e.g. ["slightly", "clearly", "much"].
        #[serde(default)]
        strengths: Vec<String>,
    },
    FreeText {
        #[serde(default)]
        min_length: Option<u32>,
        #[serde(default)]
        max_length: Option<u32>,
        #[serde(default)]
        placeholder: Option<String>,
    },
    /// Comments anchored to diff lines, clauses, scan regions or text spans.
    Annotations {
        /// Fields that may be annotated.
        fields: Vec<String>,
        /// Allowed severities, e.g. ["nit", "minor", "major", "blocker"].
        #[serde(default)]
        severities: Vec<String>,
        #[serde(default)]
        min_count: Option<u32>,
    },
}

/// When a rationale must accompany an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(tag = "when", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum RationaleRule {
    Always {
        #[serde(default)]
        min_length: Option<u32>,
    },
    /// Required when a scale answer is strictly below `threshold`.
    Below {
        threshold: i32,
        #[serde(default)]
        min_length: Option<u32>,
    },
    /// Required when any of these choice ids is picked (or a pass/fail criterion fails: id "fail").
    Choice {
        choices: Vec<String>,
        #[serde(default)]
        min_length: Option<u32>,
    },
    Optional,
}

/// Show a question only when another question's answer matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub question: String,
    /// Answer tokens any of which shows the question: option ids (single/multi
    /// choice), "a"/"b"/"tie" (pairwise), "pass"/"fail" or a failed criterion id
    /// (pass/fail), the score as text (scale), the top-ranked field (ranking),
    /// a severity used (annotations). Empty with no min/max: "answered".
    #[serde(default)]
    pub any_of: Vec<String>,
    /// Scale bounds, inclusive.
    #[serde(default)]
    pub min: Option<i32>,
    #[serde(default)]
    pub max: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
// No deny_unknown_fields here: serde does not support it with `flatten`.
pub struct Question {
    pub id: String,
    pub prompt: String,
    #[serde(flatten)]
    pub kind: QuestionKind,
    #[serde(default = "default_true")]
    pub required: bool,
    #[serde(default = "default_weight")]
    pub weight: f64,
    #[serde(default)]
    pub help: Option<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub rationale: Option<RationaleRule>,
    #[serde(default)]
    pub show_if: Option<Condition>,
    /// Item fields this question is about (checked by lint).
    #[serde(default)]
    pub refers_to: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMethod {
    /// Weighted mean of scale answers normalised to 0..1 and pass/fail ratios.
    WeightedMean,
    /// The verdict question's answer alone.
    VerdictOnly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    pub method: ScoringMethod,
    /// Question whose answer is the overall verdict.
    #[serde(default)]
    pub verdict_question: Option<String>,
    /// Score (0..1) at or above which the item passes.
    #[serde(default)]
    pub pass_threshold: Option<f64>,
}

// ------------------------------------------------------------------ answers

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    A,
    B,
    Tie,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum DiffSide {
    Old,
    New,
}

/// Where an inline annotation points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum AnnotationAnchor {
    DiffLine {
        file: String,
        side: DiffSide,
        line: u32,
        /// Hash of the line's text when the comment was written (the app's
        /// `assay_render::diff::line_hash`). With it a comment follows its
        /// line when the item's diff changes on re-sync; drafts and
        /// submissions from before it existed have none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        line_hash: Option<String>,
    },
    Clause {
        number: String,
    },
    ScanRegion {
        frame: u32,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
    },
    TextSpan {
        start: u32,
        end: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    pub id: String,
    pub field: String,
    pub anchor: AnnotationAnchor,
    #[serde(default)]
    pub severity: Option<String>,
    pub comment: String,
}

/// One answer. The tag must match the question's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Answer {
    Scale {
        value: i32,
    },
    SingleChoice {
        choice: String,
    },
    MultiChoice {
        choices: Vec<String>,
    },
    PassFail {
        results: BTreeMap<String, bool>,
    },
    Ranking {
        order: Vec<String>,
    },
    Pairwise {
        preference: Preference,
        #[serde(default)]
        strength: Option<String>,
    },
    FreeText {
        text: String,
    },
    Annotations {
        items: Vec<Annotation>,
    },
}

/// A reviewer's (possibly partial) grade: answers and rationales by question id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    pub answers: BTreeMap<String, Answer>,
    #[serde(default)]
    pub rationales: BTreeMap<String, String>,
}

// ------------------------------------------------------------------ scoped item

/// One field an item shows under a rubric, with its display settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScopedField {
    pub id: String,
    pub label: String,
    pub viewer: ViewerKind,
    pub against: Option<String>,
    pub language: Option<String>,
    pub diff_mode: Option<DiffMode>,
    pub results: Option<String>,
    pub help: Option<String>,
    pub value: FieldValue,
}

/// An item reduced to what the rubric lets a reviewer see. Hidden fields are
/// gone from this value; nothing downstream can leak them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScopedItem {
    pub item_id: String,
    pub opportunity_id: String,
    pub title: String,
    pub rubric_id: String,
    pub rubric_version: u32,
    pub fields: Vec<ScopedField>,
    /// Visible fields the rubric declares but the item lacks.
    pub missing_fields: Vec<String>,
}
