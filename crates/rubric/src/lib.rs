//! Rubric engine: schema, field scoping, answer validation and lint.
//!
//! - [`parse_rubric`] / [`load_rubric_file`]: read a rubric (TOML, JSON, YAML).
//! - [`scope`]: reduce an item to the fields a rubric shows.
//! - [`validate`] / [`score`]: check and score a reviewer's answers.
//! - [`lint`]: findings for rubric authors (also the `assay rubric lint` CLI).
//! - [`json_schema`]: the published JSON Schema of the format.

pub mod lint;
pub mod model;
pub mod parse;
pub mod preview;
pub mod samples;
pub mod schema;
pub mod scope;
pub mod score;
pub mod source;
pub mod validate;

pub use lint::{lint, structural_findings, value_kind, viewer_accepts, LintFinding, LintSeverity};
pub use model::*;
pub use parse::{
    load_rubric_file, load_sample_items, parse_item, parse_rubric, parse_rubric_unchecked,
    read_rubric_source, Format, ItemFileError, RubricError, SampleItems, SyntaxError,
};
pub use preview::{preview, preview_text, Preview, PreviewItem};
pub use samples::{read_sample_attachment, sample_attachment_path};
pub use schema::json_schema;
pub use scope::{hidden_fields, scope, scope_owned};
pub use score::{score, QuestionScore, ScoreSummary};
pub use source::{SourceLocation, SourceMap};
pub use validate::{
    effective_answers, rationale_min_chars, validate, visible_questions, IssueSeverity,
    ValidationIssue, ValidationReport,
};
