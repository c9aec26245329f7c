//! The rubric document model (on disk as TOML, JSON or YAML; JSON on the wire)
//! and the answer model a reviewer fills in.

#![allow(unused_qualifications)] // schemars' derive turns `schema_with` into a path rustc calls over-qualified

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
    /// Stable rubric id (what opportunities and assignments name).
    pub id: String,
    /// Version of this rubric; a changed rubric gets a new version.
    pub version: u32,
    /// Name shown to reviewers.
    pub title: String,
    /// Markdown guidelines, always one key away in the app.
    #[serde(default)]
    pub guidelines: String,
    /// Who the rubric is written for (e.g. "senior Rust engineers").
    #[serde(default)]
    pub audience: Option<String>,
    /// Task taxonomy path, e.g. `["coding", "validation", "python"]`.
    #[serde(default)]
    pub taxonomy: Vec<String>,
    /// What a finished grade delivers to the buyer, in words.
    #[serde(default)]
    pub deliverable: Option<String>,
    /// Expected time per item in minutes, shown before work starts.
    #[serde(default)]
    pub estimated_minutes: Option<u32>,
    /// Things reviewers must not do or items that must be excluded.
    #[serde(default)]
    pub exclusions: Vec<String>,
    /// What the work pays, if the rubric states it.
    #[serde(default)]
    pub payout: Option<PayoutSchedule>,
    /// Item fields a reviewer may see, in display order. Everything else is removed.
    #[serde(default)]
    pub fields: Vec<VisibleField>,
    /// Questions the reviewer answers, in display order.
    #[serde(default)]
    pub questions: Vec<Question>,
    /// How answers combine into a score; `None`: no score.
    #[serde(default)]
    pub scoring: Option<Scoring>,
}

/// What one unit of work pays, as stated by the rubric.
// The platform's opportunity spec takes the same type for its own payout
// (the rubric's is its default); in its OpenAPI document the schema keeps the
// name and description it had there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
#[schema(as = PayoutSpec, description = "Pay for one unit of work.")]
pub struct PayoutSchedule {
    /// What the amount is paid per.
    #[ts(type = "\"per_item\" | \"per_hour\" | \"per_submission\"")]
    #[schemars(schema_with = "pay_basis_schema")]
    pub basis: PayBasis,
    /// Amount in minor units of `currency` (cents).
    #[ts(type = "number")]
    pub amount_cents: i64,
    /// ISO-4217 currency code.
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
    /// Markdown, rendered with raw HTML removed.
    Markdown,
    /// Chat transcript (JSON list of {role, content}).
    Chat,
    /// Plain text.
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

/// How a diff is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum DiffMode {
    /// Old and new lines interleaved in one column.
    Unified,
    /// Old and new side by side.
    Split,
}

/// An item field the rubric lets a reviewer see, and how it is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct VisibleField {
    /// Item field id.
    pub id: String,
    /// Heading shown above the field.
    pub label: String,
    /// Which viewer displays it.
    pub viewer: ViewerKind,
    /// For `diff` (old side) and `legal_redline` (prior version): another visible field.
    #[serde(default)]
    pub against: Option<String>,
    /// Syntax for `code` / `diff` when it cannot be inferred from file names.
    #[serde(default)]
    pub language: Option<String>,
    /// Initial diff layout for `diff` fields; the reviewer can switch.
    #[serde(default)]
    pub diff_mode: Option<DiffMode>,
    /// For `test_suite`: field holding a `JUnit` XML run result.
    #[serde(default)]
    pub results: Option<String>,
    /// Hint shown next to the field.
    #[serde(default)]
    pub help: Option<String>,
}

/// A label for one point of a scale (e.g. 1 = "unusable").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct ScaleAnchor {
    /// The scale value the label names; within the scale's min..=max.
    pub value: i32,
    /// Text shown for that value.
    pub label: String,
}

/// One option of a choice question, or one criterion of a pass/fail question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// Stable id stored in answers.
    pub id: String,
    /// Text shown to the reviewer.
    pub label: String,
}

/// The kind of answer a question takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// An integer score from `min` to `max` inclusive.
    Scale {
        /// Lowest allowed value.
        min: i32,
        /// Highest allowed value; must exceed `min`.
        max: i32,
        /// Labels for some of the values.
        #[serde(default)]
        anchors: Vec<ScaleAnchor>,
    },
    /// Exactly one of the options.
    SingleChoice {
        /// The options, in display order.
        options: Vec<ChoiceOption>,
    },
    /// Any number of the options, within the optional bounds.
    MultiChoice {
        /// The options, in display order.
        options: Vec<ChoiceOption>,
        /// Fewest options that must be picked, if bounded.
        #[serde(default)]
        min_selected: Option<u32>,
        /// Most options that may be picked, if bounded.
        #[serde(default)]
        max_selected: Option<u32>,
    },
    /// Pass/fail per criterion.
    PassFail {
        /// The criteria, each answered pass or fail.
        criteria: Vec<ChoiceOption>,
    },
    /// Rank the named fields best-first.
    Ranking {
        /// Ids of the visible fields to rank.
        fields: Vec<String>,
    },
    /// Preference between field `a` and field `b`, optionally a tie, with a strength.
    Pairwise {
        /// Id of the field shown as answer A.
        a: String,
        /// Id of the field shown as answer B.
        b: String,
        /// Whether "tie" is an allowed answer (default true).
        #[serde(default = "default_true")]
        allow_tie: bool,
        /// Strength labels, weakest first, e.g. `["slightly", "clearly", "much"]`.
        #[serde(default)]
        strengths: Vec<String>,
    },
    /// Free-form text, within the optional length bounds (characters).
    FreeText {
        /// Fewest characters required, if bounded.
        #[serde(default)]
        min_length: Option<u32>,
        /// Most characters allowed, if bounded.
        #[serde(default)]
        max_length: Option<u32>,
        /// Hint shown in the empty text box.
        #[serde(default)]
        placeholder: Option<String>,
    },
    /// Comments anchored to diff lines, clauses, scan regions or text spans.
    Annotations {
        /// Fields that may be annotated.
        fields: Vec<String>,
        /// Allowed severities, e.g. `["nit", "minor", "major", "blocker"]`.
        #[serde(default)]
        severities: Vec<String>,
        /// Fewest annotations required, if bounded.
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
    /// Required for every answer.
    Always {
        /// Fewest characters of rationale, if bounded.
        #[serde(default)]
        min_length: Option<u32>,
    },
    /// Required when a scale answer is strictly below `threshold`.
    Below {
        /// Scale values below this require a rationale.
        threshold: i32,
        /// Fewest characters of rationale, if bounded.
        #[serde(default)]
        min_length: Option<u32>,
    },
    /// Required when any of these choice ids is picked (or a pass/fail criterion fails: id "fail").
    Choice {
        /// Choice ids (or "fail") that require a rationale.
        choices: Vec<String>,
        /// Fewest characters of rationale, if bounded.
        #[serde(default)]
        min_length: Option<u32>,
    },
    /// Never required; the reviewer may add one.
    Optional,
}

/// Show a question only when another question's answer matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Id of the question whose answer is tested.
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
    /// Upper scale bound, inclusive.
    #[serde(default)]
    pub max: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
// No deny_unknown_fields here: serde does not support it with `flatten`.
/// One question of a rubric.
pub struct Question {
    /// Stable question id, the key of its answer.
    pub id: String,
    /// The question as shown to the reviewer.
    pub prompt: String,
    /// The kind of answer it takes, with its settings.
    #[serde(flatten)]
    pub kind: QuestionKind,
    /// Whether an answer is needed to submit (default true).
    #[serde(default = "default_true")]
    pub required: bool,
    /// Weight in the weighted-mean score (default 1.0).
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Guidance shown next to the question.
    #[serde(default)]
    pub help: Option<String>,
    /// Example answers or reasoning shown on request.
    #[serde(default)]
    pub examples: Vec<String>,
    /// When a rationale must accompany the answer; `None`: optional.
    #[serde(default)]
    pub rationale: Option<RationaleRule>,
    /// Show the question only when this condition holds; `None`: always shown.
    #[serde(default)]
    pub show_if: Option<Condition>,
    /// Item fields this question is about (checked by lint).
    #[serde(default)]
    pub refers_to: Vec<String>,
}

/// How a grade's answers combine into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMethod {
    /// Weighted mean of scale answers normalised to 0..1 and pass/fail ratios.
    WeightedMean,
    /// The verdict question's answer alone.
    VerdictOnly,
}

/// How a rubric scores a grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// The scoring method.
    pub method: ScoringMethod,
    /// Question whose answer is the overall verdict.
    #[serde(default)]
    pub verdict_question: Option<String>,
    /// Score (0..1) at or above which the item passes.
    #[serde(default)]
    pub pass_threshold: Option<f64>,
}

// ------------------------------------------------------------------ answers

/// Which answer of a pairwise question is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    /// The field named `a` is better.
    A,
    /// The field named `b` is better.
    B,
    /// Neither is better.
    Tie,
}

impl Preference {
    /// A pairwise answer in words: `better` of the preferred field's id (`a`
    /// or `b`), followed by the strength label in brackets when there is
    /// one; a tie is "Tie", whatever the strength.
    pub fn in_words(
        self,
        a: &str,
        b: &str,
        strength: Option<&str>,
        better: impl Fn(&str) -> String,
    ) -> String {
        let field = match self {
            Self::A => a,
            Self::B => b,
            Self::Tie => return "Tie".to_owned(),
        };
        match strength {
            Some(s) => format!("{} ({s})", better(field)),
            None => better(field),
        }
    }
}

/// Which side of a diff a line is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum DiffSide {
    /// The old (removed or context) side.
    Old,
    /// The new (added or context) side.
    New,
}

/// Where an inline annotation points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum AnnotationAnchor {
    /// A line of a diff field.
    DiffLine {
        /// Path of the file within the diff.
        file: String,
        /// Old or new side.
        side: DiffSide,
        /// 1-based line number on that side.
        line: u32,
        /// Hash of the line's text when the comment was written (the app's
        /// `assay_render::diff::line_hash`). With it a comment follows its
        /// line when the item's diff changes on re-sync; drafts and
        /// submissions from before it existed have none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        line_hash: Option<String>,
    },
    /// A numbered clause of a legal document.
    Clause {
        /// The clause number as written (e.g. "4.2(b)").
        number: String,
    },
    /// A rectangle on one frame of a scan, in image pixels (a region whose
    /// every value is at most 1 is read as fractions of the image).
    ScanRegion {
        /// 0-based frame (slice) index; series-wide for a series.
        frame: u32,
        /// Left edge, from the image's left; not negative.
        x: f64,
        /// Top edge, from the image's top; not negative.
        y: f64,
        /// Width; positive.
        width: f64,
        /// Height; positive.
        height: f64,
    },
    /// A range of a text field.
    TextSpan {
        /// Start offset in the field's text (inclusive).
        start: u32,
        /// End offset in the field's text (exclusive; after `start`).
        end: u32,
    },
}

/// A reviewer's comment anchored to a place in a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    /// Id unique within the answer, so a comment can be edited or removed.
    pub id: String,
    /// Id of the annotated field.
    pub field: String,
    /// Where in the field the comment points.
    pub anchor: AnnotationAnchor,
    /// One of the question's severities, if it defines any.
    #[serde(default)]
    pub severity: Option<String>,
    /// The comment text.
    pub comment: String,
}

impl Annotation {
    /// A major comment "comment {id}" on `line` of `side` of `file` in the
    /// diff field `field`, anchored by `line_hash` when given: the plain case
    /// tests vary. Test support: only with the `test-support` feature.
    #[cfg(feature = "test-support")]
    pub fn on_diff_line(
        id: &str,
        field: &str,
        file: &str,
        side: DiffSide,
        line: u32,
        line_hash: Option<String>,
    ) -> Self {
        Self {
            id: id.into(),
            field: field.into(),
            anchor: AnnotationAnchor::DiffLine {
                file: file.into(),
                side,
                line,
                line_hash,
            },
            severity: Some("major".into()),
            comment: format!("comment {id}"),
        }
    }
}

/// One answer. The tag must match the question's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Answer {
    /// Answer to a scale question.
    Scale {
        /// The chosen value, within the question's min..=max.
        value: i32,
    },
    /// Answer to a single-choice question.
    SingleChoice {
        /// Id of the chosen option.
        choice: String,
    },
    /// Answer to a multi-choice question.
    MultiChoice {
        /// Ids of the chosen options.
        choices: Vec<String>,
    },
    /// Answer to a pass/fail question.
    PassFail {
        /// Pass (true) or fail (false) per criterion id.
        results: BTreeMap<String, bool>,
    },
    /// Answer to a ranking question.
    Ranking {
        /// Field ids, best first.
        order: Vec<String>,
    },
    /// Answer to a pairwise question.
    Pairwise {
        /// Which answer is preferred.
        preference: Preference,
        /// One of the question's strength labels, if it defines any.
        #[serde(default)]
        strength: Option<String>,
    },
    /// Answer to a free-text question.
    FreeText {
        /// The text.
        text: String,
    },
    /// Answer to an annotations question.
    Annotations {
        /// The annotations, in the order they were made.
        items: Vec<Annotation>,
    },
}

/// A reviewer's (possibly partial) grade: answers and rationales by question id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct Answers {
    /// Answers by question id.
    pub answers: BTreeMap<String, Answer>,
    /// Rationales by question id.
    pub rationales: BTreeMap<String, String>,
}

// ------------------------------------------------------------------ scoped item

/// One field an item shows under a rubric, with its display settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScopedField {
    /// Item field id.
    pub id: String,
    /// Heading shown above the field.
    pub label: String,
    /// Which viewer displays it.
    pub viewer: ViewerKind,
    /// For `diff` and `legal_redline`: the field holding the old version.
    pub against: Option<String>,
    /// Syntax for `code` / `diff` when it cannot be inferred.
    pub language: Option<String>,
    /// Initial diff layout.
    pub diff_mode: Option<DiffMode>,
    /// For `test_suite`: the field holding a `JUnit` XML run result.
    pub results: Option<String>,
    /// Hint shown next to the field.
    pub help: Option<String>,
    /// The field's value from the item.
    pub value: FieldValue,
}

/// An item reduced to what the rubric lets a reviewer see. Hidden fields are
/// gone from this value; nothing downstream can leak them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScopedItem {
    /// Id of the item.
    pub item_id: String,
    /// Id of the opportunity the item belongs to.
    pub opportunity_id: String,
    /// The item's title.
    pub title: String,
    /// Id of the rubric that scoped it.
    pub rubric_id: String,
    /// Version of that rubric.
    pub rubric_version: u32,
    /// The visible fields the item has, in the rubric's display order.
    pub fields: Vec<ScopedField>,
    /// Visible fields the rubric declares but the item lacks.
    pub missing_fields: Vec<String>,
}
