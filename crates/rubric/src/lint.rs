//! Lint for rubric authors: structural errors (which also make
//! [`crate::parse_rubric`] refuse a rubric) plus authoring checks, unknown
//! keys and checks against sample items.

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

fn structural(r: &Rubric, l: &mut Linter<'_>) {
    if r.format != RUBRIC_FORMAT_VERSION {
        l.error(
            "unsupported-format",
            Target::Root("format"),
            format!(
                "rubric format {} is not supported (this tool reads format {RUBRIC_FORMAT_VERSION})",
                r.format
            ),
        );
    }
    if r.id.trim().is_empty() {
        l.error("empty-id", Target::Root("id"), "the rubric id is empty");
    }
    if let Some(p) = &r.payout {
        if p.amount_cents < 0 {
            l.error(
                "payout-amount",
                Target::Root("payout"),
                format!("payout amount_cents is negative ({})", p.amount_cents),
            );
        }
        let c = p.currency.as_bytes();
        if c.len() != 3 || !c.iter().all(u8::is_ascii_uppercase) {
            l.error(
                "payout-currency",
                Target::Root("payout"),
                format!(
                    "payout currency {:?} is not an ISO 4217 code like \"USD\"",
                    p.currency
                ),
            );
        }
    }

    // ---- fields
    let visible: BTreeSet<&str> = r.fields.iter().map(|f| f.id.as_str()).collect();
    declared_once(
        "field",
        r.fields.iter().map(|f| f.id.as_str()),
        Target::Field,
        l,
    );
    for f in &r.fields {
        if f.id.trim().is_empty() {
            l.error(
                "empty-id",
                Target::Root("fields"),
                "a visible field has an empty id",
            );
        }
        for (key, reference) in [("against", &f.against), ("results", &f.results)] {
            let Some(name) = reference else { continue };
            if name == &f.id {
                l.error(
                    "self-reference",
                    Target::FieldKey(&f.id, key),
                    format!("field `{}` sets `{key}` to itself", f.id),
                );
            } else if !visible.contains(name.as_str()) {
                l.error(
                    "leaking-reference",
                    Target::FieldKey(&f.id, key),
                    format!(
                        "field `{}` sets `{key}` to `{name}`, which is not a visible field: \
                         the viewer would need a hidden field (declare `{name}` in `fields`)",
                        f.id
                    ),
                );
            }
        }
    }

    // ---- questions
    let index = question_index(r);
    declared_once(
        "question",
        r.questions.iter().map(|q| q.id.as_str()),
        Target::Question,
        l,
    );
    for q in &r.questions {
        structural_question(q, &visible, &index, l);
    }
    for cycle in condition_cycles(r) {
        let first = cycle.first().map_or("", String::as_str);
        l.error(
            "condition-cycle",
            Target::QuestionKey(first, "show_if"),
            format!(
                "questions show each other in a cycle ({} -> {first}); none of them can ever be shown",
                cycle.join(" -> ")
            ),
        );
    }

    // ---- scoring
    if let Some(s) = &r.scoring {
        match &s.verdict_question {
            Some(v) if !index.contains_key(v.as_str()) => l.error(
                "unknown-verdict-question",
                Target::Root("verdict_question"),
                format!("scoring.verdict_question `{v}` is not a question of this rubric"),
            ),
            None if s.method == ScoringMethod::VerdictOnly => l.error(
                "verdict-missing",
                Target::Root("scoring"),
                "scoring method `verdict_only` needs a `verdict_question`",
            ),
            _ => {}
        }
        if let Some(t) = s.pass_threshold {
            if !t.is_finite() || !(0.0..=1.0).contains(&t) {
                l.error(
                    "pass-threshold",
                    Target::Root("pass_threshold"),
                    format!("scoring.pass_threshold must be between 0 and 1 (is {t})"),
                );
            }
        }
    }
}

/// The structural checks of one question, in the order they report.
fn structural_question(
    q: &Question,
    visible: &BTreeSet<&str>,
    index: &HashMap<&str, &Question>,
    l: &mut Linter<'_>,
) {
    let id = q.id.as_str();
    question_id_and_weight(q, l);
    needs_fields(visible, id, "refers_to", &q.refers_to, l);
    match &q.kind {
        QuestionKind::Scale { min, max, anchors } => scale_range(id, *min, *max, anchors, l),
        QuestionKind::SingleChoice { options } => {
            options_check(id, "options", options, l);
        }
        QuestionKind::MultiChoice {
            options,
            min_selected,
            max_selected,
        } => selection_bounds(id, options, *min_selected, *max_selected, l),
        QuestionKind::PassFail { criteria } => {
            options_check(id, "criteria", criteria, l);
        }
        QuestionKind::Ranking { fields } => ranking_fields(id, fields, visible, l),
        QuestionKind::Pairwise { a, b, .. } => pairwise_fields(id, a, b, visible, l),
        QuestionKind::FreeText {
            min_length,
            max_length,
            ..
        } => ordered_bounds(
            id,
            "length-bounds",
            ("min_length", *min_length),
            ("max_length", *max_length),
            l,
        ),
        QuestionKind::Annotations { fields, .. } => annotation_fields(id, fields, visible, l),
    }
    rationale_rule(q, l);
    show_if_target(q, index, l);
}

/// A question has an id and a weight of at least 0.
fn question_id_and_weight(q: &Question, l: &mut Linter<'_>) {
    let id = q.id.as_str();
    if id.trim().is_empty() {
        l.error(
            "empty-id",
            Target::Root("questions"),
            "a question has an empty id",
        );
    }
    if !q.weight.is_finite() || q.weight < 0.0 {
        l.error(
            "bad-weight",
            Target::QuestionKey(id, "weight"),
            format!(
                "question `{id}`: weight must be a number >= 0 (is {})",
                q.weight
            ),
        );
    }
}

/// A field a question names (under `key`) must be a visible field.
fn needs_field(visible: &BTreeSet<&str>, id: &str, key: &str, field: &str, l: &mut Linter<'_>) {
    if !visible.contains(field) {
        l.error(
            "missing-field",
            Target::QuestionKey(id, key),
            format!(
                "question `{id}` refers to field `{field}` in `{key}`, which is not a visible field"
            ),
        );
    }
}

/// [`needs_field`] for each field of the list under `key`.
fn needs_fields(
    visible: &BTreeSet<&str>,
    id: &str,
    key: &str,
    fields: &[String],
    l: &mut Linter<'_>,
) {
    for f in fields {
        needs_field(visible, id, key, f, l);
    }
}

/// A scale runs from a smaller to a larger value; its anchors lie on it.
fn scale_range(id: &str, min: i32, max: i32, anchors: &[ScaleAnchor], l: &mut Linter<'_>) {
    if min >= max {
        l.error(
            "scale-range",
            Target::QuestionKey(id, "min"),
            format!("question `{id}`: scale min ({min}) must be less than max ({max})"),
        );
    }
    for a in anchors {
        if a.value < min || a.value > max {
            l.error(
                "anchor-out-of-range",
                Target::QuestionKey(id, "anchors"),
                format!(
                    "question `{id}`: anchor {} ({:?}) is outside the scale {min}..{max}",
                    a.value, a.label
                ),
            );
        }
    }
}

/// A multiple choice's selection bounds can be met.
fn selection_bounds(
    id: &str,
    options: &[crate::model::ChoiceOption],
    min_selected: Option<u32>,
    max_selected: Option<u32>,
    l: &mut Linter<'_>,
) {
    options_check(id, "options", options, l);
    let n = options.len();
    ordered_bounds(
        id,
        "selection-bounds",
        ("min_selected", min_selected),
        ("max_selected", max_selected),
        l,
    );
    if let Some(lo) = min_selected {
        if lo as usize > n {
            l.error(
                "selection-bounds",
                Target::QuestionKey(id, "min_selected"),
                format!("question `{id}`: min_selected ({lo}) is more than the {n} options"),
            );
        }
    }
    if max_selected == Some(0) {
        l.error(
            "selection-bounds",
            Target::QuestionKey(id, "max_selected"),
            format!("question `{id}`: max_selected is 0, nothing could be picked"),
        );
    }
}

/// A ranking orders at least two distinct visible fields.
fn ranking_fields(id: &str, fields: &[String], visible: &BTreeSet<&str>, l: &mut Linter<'_>) {
    if fields.len() < 2 {
        l.error(
            "ranking-fields",
            Target::QuestionKey(id, "fields"),
            format!("question `{id}`: a ranking needs at least two fields"),
        );
    }
    for d in dups(fields.iter().map(String::as_str)) {
        l.error(
            "ranking-fields",
            Target::QuestionKey(id, "fields"),
            format!("question `{id}`: field `{d}` is listed twice in the ranking"),
        );
    }
    needs_fields(visible, id, "fields", fields, l);
}

/// A pairwise question compares two different visible fields.
fn pairwise_fields(id: &str, a: &str, b: &str, visible: &BTreeSet<&str>, l: &mut Linter<'_>) {
    if a == b {
        l.error(
            "pairwise-same-field",
            Target::QuestionKey(id, "b"),
            format!("question `{id}`: compares field `{a}` with itself"),
        );
    }
    needs_field(visible, id, "a", a, l);
    needs_field(visible, id, "b", b, l);
}

/// A question's lower bound (`min_selected`, `min_length`) is not above its
/// upper one: else error `code` on the lower bound's key.
fn ordered_bounds(
    id: &str,
    code: &str,
    (lo_key, lo): (&str, Option<u32>),
    (hi_key, hi): (&str, Option<u32>),
    l: &mut Linter<'_>,
) {
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if lo > hi {
            l.error(
                code,
                Target::QuestionKey(id, lo_key),
                format!("question `{id}`: {lo_key} ({lo}) is more than {hi_key} ({hi})"),
            );
        }
    }
}

/// Annotations name at least one visible field to annotate.
fn annotation_fields(id: &str, fields: &[String], visible: &BTreeSet<&str>, l: &mut Linter<'_>) {
    if fields.is_empty() {
        l.error(
            "annotation-fields",
            Target::QuestionKey(id, "fields"),
            format!("question `{id}`: annotations need at least one field to annotate"),
        );
    }
    needs_fields(visible, id, "fields", fields, l);
}

/// A rationale rule fits its question: `below` on a scale, `choice` with
/// choices the question can have.
fn rationale_rule(q: &Question, l: &mut Linter<'_>) {
    let id = q.id.as_str();
    match &q.rationale {
        Some(RationaleRule::Below { .. }) if !matches!(q.kind, QuestionKind::Scale { .. }) => {
            l.error(
                "rationale-kind",
                Target::QuestionKey(id, "rationale"),
                format!("question `{id}`: a `below` rationale rule needs a scale question"),
            );
        }
        Some(RationaleRule::Choice { choices, .. }) => {
            if choices.is_empty() {
                l.error(
                    "unknown-choice",
                    Target::QuestionKey(id, "rationale"),
                    format!("question `{id}`: a `choice` rationale rule lists no choices"),
                );
            }
            if let Some(possible) = possible_tokens(&q.kind) {
                for c in choices.iter().filter(|c| !possible.contains(*c)) {
                    l.error(
                        "unknown-choice",
                        Target::QuestionKey(id, "rationale"),
                        format!(
                            "question `{id}`: rationale choice `{c}` is not a possible answer{}",
                            expected(&possible)
                        ),
                    );
                }
            }
        }
        _ => {}
    }
}

/// `show_if` names a known question and values it can have.
fn show_if_target(q: &Question, index: &HashMap<&str, &Question>, l: &mut Linter<'_>) {
    let id = q.id.as_str();
    if let Some(cond) = &q.show_if {
        let target = cond.question.as_str();
        match index.get(target) {
            None => l.error(
                "unknown-condition-target",
                Target::QuestionKey(id, "show_if"),
                format!("question `{id}`: show_if refers to unknown question `{target}`"),
            ),
            Some(t) => {
                if let Some(possible) = possible_tokens(&t.kind) {
                    for c in cond.any_of.iter().filter(|c| !possible.contains(*c)) {
                        l.error(
                            "unknown-choice",
                            Target::QuestionKey(id, "show_if"),
                            format!(
                                "question `{id}`: show_if value `{c}` can never be an answer to `{target}`{}",
                                expected(&possible)
                            ),
                        );
                    }
                }
                if (cond.min.is_some() || cond.max.is_some())
                    && !matches!(t.kind, QuestionKind::Scale { .. })
                {
                    l.error(
                        "condition-kind",
                        Target::QuestionKey(id, "show_if"),
                        format!(
                            "question `{id}`: show_if uses min/max but `{target}` is not a scale question"
                        ),
                    );
                }
            }
        }
    }
}

fn expected(possible: &BTreeSet<String>) -> String {
    if possible.is_empty() {
        " (that question has no choices)".to_owned()
    } else if possible.len() <= 12 {
        format!(
            " (expected one of: {})",
            possible.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    } else {
        String::new()
    }
}

fn options_check(id: &str, key: &str, options: &[crate::model::ChoiceOption], l: &mut Linter<'_>) {
    if options.is_empty() {
        l.error(
            "empty-options",
            Target::QuestionKey(id, key),
            format!("question `{id}`: `{key}` is empty"),
        );
    }
    for d in dups(options.iter().map(|o| o.id.as_str())) {
        l.error(
            "duplicate-option",
            Target::QuestionKey(id, key),
            format!("question `{id}`: `{d}` appears more than once in `{key}`"),
        );
    }
    for o in options {
        if o.id.trim().is_empty() {
            l.error(
                "empty-id",
                Target::QuestionKey(id, key),
                format!("question `{id}`: an entry of `{key}` has an empty id"),
            );
        }
    }
}

/// Each `show_if` cycle once, as the list of question ids on it.
fn condition_cycles(r: &Rubric) -> Vec<Vec<String>> {
    let index = question_index(r);
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on stack / visiting, 2 = done
    let mut cycles = Vec::new();
    for q in &r.questions {
        if state.contains_key(q.id.as_str()) {
            continue;
        }
        let mut path: Vec<&str> = Vec::new();
        let mut cur = Some(q.id.as_str());
        while let Some(id) = cur {
            match state.get(id) {
                Some(1) => {
                    if let Some(pos) = path.iter().position(|p| *p == id) {
                        cycles.push(path[pos..].iter().map(|s| (*s).to_owned()).collect());
                    }
                    break;
                }
                Some(_) => break,
                None => {}
            }
            state.insert(id, 1);
            path.push(id);
            cur = index
                .get(id)
                .and_then(|q| q.show_if.as_ref())
                .map(|c| c.question.as_str())
                .filter(|t| index.contains_key(t));
        }
        for p in path {
            state.insert(p, 2);
        }
    }
    cycles
}

/// Whether a condition can ever hold for some answer to its target.
fn condition_satisfiable(cond: &Condition, target: &Question) -> Result<(), String> {
    if let (Some(lo), Some(hi)) = (cond.min, cond.max) {
        if lo > hi {
            return Err(format!("show_if min ({lo}) is greater than max ({hi})"));
        }
    }
    match &target.kind {
        QuestionKind::Scale { min, max, .. } => {
            let lo = cond.min.map_or(*min, |m| m.max(*min));
            let hi = cond.max.map_or(*max, |m| m.min(*max));
            if lo > hi {
                return Err(format!(
                    "no score of `{}` ({min}..{max}) lies in the show_if range",
                    target.id
                ));
            }
            if !cond.any_of.is_empty()
                && !cond
                    .any_of
                    .iter()
                    .filter_map(|v| v.parse::<i32>().ok())
                    .any(|v| v >= lo && v <= hi)
            {
                return Err(format!(
                    "none of the show_if values of `{}` lies in its range {lo}..{hi}",
                    target.id
                ));
            }
        }
        QuestionKind::FreeText { .. } if !cond.any_of.is_empty() => {
            return Err(format!(
                "`{}` is free text; show_if any_of can never match it (leave any_of empty to mean \"answered\")",
                target.id
            ));
        }
        QuestionKind::Annotations { severities, .. }
            if !cond.any_of.is_empty() && severities.is_empty() =>
        {
            return Err(format!(
                "`{}` has no severities; show_if any_of can never match it",
                target.id
            ));
        }
        _ => {}
    }
    Ok(())
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

/// Authoring checks: what makes a rubric hard to use, in the order they report.
fn authoring(r: &Rubric, l: &mut Linter<'_>) {
    rubric_basics(r, l);
    for f in &r.fields {
        field_settings(f, l);
    }
    unused_fields(r, l);
    let index = question_index(r);
    let order: HashMap<&str, usize> = r
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.as_str(), i))
        .rev()
        .collect();
    let mut bad_condition: BTreeSet<&str> = BTreeSet::new();
    for (pos, q) in r.questions.iter().enumerate() {
        question_authoring(q, l);
        if condition_authoring(q, pos, &index, &order, l) {
            bad_condition.insert(q.id.as_str());
        }
    }
    unreachable_questions(r, &index, &bad_condition, l);
    scoring_authoring(r, &index, l);
}

/// A rubric has a title, guidelines, a payout, fields and questions.
fn rubric_basics(r: &Rubric, l: &mut Linter<'_>) {
    if r.title.trim().is_empty() {
        l.warning(
            "empty-title",
            Target::Root("title"),
            "the rubric title is empty",
        );
    }
    if r.guidelines.trim().is_empty() {
        l.error(
            "empty-guidelines",
            Target::Root("guidelines"),
            "guidelines are empty: reviewers need instructions",
        );
    }
    if r.payout.is_none() {
        l.error(
            "missing-payout",
            Target::Nowhere,
            "no payout schedule: add [payout] with basis, amount_cents and currency",
        );
    }
    if r.fields.is_empty() {
        l.error(
            "no-fields",
            Target::Nowhere,
            "no visible fields: reviewers would see nothing of the item",
        );
    }
    if r.questions.is_empty() {
        l.error(
            "no-questions",
            Target::Nowhere,
            "the rubric has no questions",
        );
    }
}

/// A field has a label, the `against` its viewer needs, and no setting its
/// viewer ignores.
fn field_settings(f: &crate::model::VisibleField, l: &mut Linter<'_>) {
    if f.label.trim().is_empty() {
        l.warning(
            "empty-label",
            Target::Field(&f.id),
            format!("field `{}` has no label", f.id),
        );
    }
    if f.viewer == ViewerKind::LegalRedline && f.against.is_none() {
        l.error(
            "missing-against",
            Target::Field(&f.id),
            format!(
                "field `{}` uses the legal_redline viewer but names no `against` field",
                f.id
            ),
        );
    }
    let settings: [(&str, bool, bool); 4] = [
        (
            "against",
            f.against.is_some(),
            matches!(f.viewer, ViewerKind::Diff | ViewerKind::LegalRedline),
        ),
        (
            "results",
            f.results.is_some(),
            f.viewer == ViewerKind::TestSuite,
        ),
        (
            "diff_mode",
            f.diff_mode.is_some(),
            f.viewer == ViewerKind::Diff,
        ),
        (
            "language",
            f.language.is_some(),
            matches!(
                f.viewer,
                ViewerKind::Code | ViewerKind::Diff | ViewerKind::TestSuite
            ),
        ),
    ];
    for (key, set, applies) in settings {
        if set && !applies {
            l.warning(
                "unused-setting",
                Target::FieldKey(&f.id, key),
                format!(
                    "field `{}`: `{key}` has no effect with the {} viewer",
                    f.id,
                    f.viewer.as_str()
                ),
            );
        }
    }
}

/// Every visible field is referred to by a question or another field.
fn unused_fields(r: &Rubric, l: &mut Linter<'_>) {
    let mut used: BTreeSet<&str> = BTreeSet::new();
    for f in &r.fields {
        used.extend(f.against.as_deref());
        used.extend(f.results.as_deref());
    }
    for q in &r.questions {
        used.extend(q.refers_to.iter().map(String::as_str));
        match &q.kind {
            QuestionKind::Ranking { fields } | QuestionKind::Annotations { fields, .. } => {
                used.extend(fields.iter().map(String::as_str));
            }
            QuestionKind::Pairwise { a, b, .. } => {
                used.insert(a);
                used.insert(b);
            }
            _ => {}
        }
    }
    for f in &r.fields {
        if !used.contains(f.id.as_str()) {
            l.warning(
                "unused-field",
                Target::Field(&f.id),
                format!(
                    "field `{}` is shown but no question refers to it (add it to a question's `refers_to`)",
                    f.id
                ),
            );
        }
    }
}

/// A question has a prompt; its anchors, options and rationale threshold make sense.
fn question_authoring(q: &Question, l: &mut Linter<'_>) {
    let id = q.id.as_str();
    if q.prompt.trim().is_empty() {
        l.error(
            "empty-prompt",
            Target::Question(id),
            format!("question `{id}` has an empty prompt"),
        );
    }
    match &q.kind {
        QuestionKind::Scale { min, max, anchors } => {
            if anchors.is_empty() {
                l.warning(
                    "scale-without-anchors",
                    Target::Question(id),
                    format!(
                        "question `{id}`: scale {min}..{max} has no anchors; label at least its ends"
                    ),
                );
            } else {
                let has = |v: i32| anchors.iter().any(|a| a.value == v);
                if !has(*min) || !has(*max) {
                    l.warning(
                        "scale-anchors-incomplete",
                        Target::QuestionKey(id, "anchors"),
                        format!("question `{id}`: label both ends of the scale ({min} and {max})"),
                    );
                }
                for d in dups(anchors.iter().map(|a| a.value)) {
                    l.warning(
                        "duplicate-anchor",
                        Target::QuestionKey(id, "anchors"),
                        format!("question `{id}`: value {d} has more than one anchor"),
                    );
                }
            }
            if let Some(RationaleRule::Below { threshold, .. }) = &q.rationale {
                if threshold <= min {
                    l.warning(
                        "rationale-never",
                        Target::QuestionKey(id, "rationale"),
                        format!(
                            "question `{id}`: no score is below {threshold}, so a rationale is never required"
                        ),
                    );
                } else if *threshold > *max {
                    l.warning(
                        "rationale-always",
                        Target::QuestionKey(id, "rationale"),
                        format!(
                            "question `{id}`: every score is below {threshold}; use `when = \"always\"`"
                        ),
                    );
                }
            }
        }
        QuestionKind::SingleChoice { options } if options.len() == 1 => {
            l.warning(
                "single-option",
                Target::QuestionKey(id, "options"),
                format!("question `{id}` offers only one option"),
            );
        }
        QuestionKind::Pairwise { strengths, .. } => {
            listed_twice(id, "strengths", "strength", strengths, l);
        }
        QuestionKind::Annotations { severities, .. } => {
            listed_twice(id, "severities", "severity", severities, l);
        }
        _ => {}
    }
}

/// A warning for each entry of the question's list `key` (whose entries
/// are each a `noun`) that is listed more than once.
fn listed_twice(id: &str, key: &str, noun: &str, entries: &[String], l: &mut Linter<'_>) {
    for d in dups(entries.iter().map(String::as_str)) {
        l.warning(
            "duplicate-option",
            Target::QuestionKey(id, key),
            format!("question `{id}`: {noun} `{d}` is listed twice"),
        );
    }
}

/// A question's `show_if` can be met and follows the question it depends on.
/// Returns whether the condition can never be met.
fn condition_authoring(
    q: &Question,
    pos: usize,
    index: &HashMap<&str, &Question>,
    order: &HashMap<&str, usize>,
    l: &mut Linter<'_>,
) -> bool {
    let id = q.id.as_str();
    let mut bad = false;
    if let Some(cond) = &q.show_if {
        if let Some(t) = index.get(cond.question.as_str()) {
            if let Err(why) = condition_satisfiable(cond, t) {
                bad = true;
                l.error(
                    "contradictory-condition",
                    Target::QuestionKey(id, "show_if"),
                    format!("question `{id}` can never be shown: {why}"),
                );
            }
            if order
                .get(cond.question.as_str())
                .is_some_and(|&tp| tp > pos)
            {
                l.warning(
                    "condition-order",
                    Target::QuestionKey(id, "show_if"),
                    format!(
                        "question `{id}` depends on `{}`, which comes after it; put `{}` first",
                        cond.question, cond.question
                    ),
                );
            }
            // A question that shows itself is reported as a cycle.
        }
    }
    bad
}

/// No question depends (transitively) on a question that can never be shown.
fn unreachable_questions<'r>(
    r: &'r Rubric,
    index: &HashMap<&str, &Question>,
    bad_condition: &BTreeSet<&'r str>,
    l: &mut Linter<'_>,
) {
    let cyclic: BTreeSet<String> = condition_cycles(r).into_iter().flatten().collect();
    let mut never: BTreeSet<&str> = bad_condition.clone();
    never.extend(cyclic.iter().map(String::as_str));
    for q in &r.questions {
        if let Some(c) = &q.show_if {
            if !index.contains_key(c.question.as_str()) {
                never.insert(q.id.as_str());
            }
        }
    }
    loop {
        let before = never.len();
        for q in &r.questions {
            if let Some(c) = &q.show_if {
                if never.contains(c.question.as_str()) {
                    never.insert(q.id.as_str());
                }
            }
        }
        if never.len() == before {
            break;
        }
    }
    for q in &r.questions {
        let direct = bad_condition.contains(q.id.as_str())
            || cyclic.contains(&q.id)
            || q.show_if
                .as_ref()
                .is_some_and(|c| !index.contains_key(c.question.as_str()));
        if never.contains(q.id.as_str()) && !direct {
            let target = q.show_if.as_ref().map_or("", |c| c.question.as_str());
            l.error(
                "unreachable-question",
                Target::QuestionKey(&q.id, "show_if"),
                format!(
                    "question `{}` can never be shown: it depends on `{target}`, which is never shown",
                    q.id
                ),
            );
        }
    }
}

/// The verdict question is required, unconditional and of a kind with a
/// verdict; weighted scoring has something to weigh.
fn scoring_authoring(r: &Rubric, index: &HashMap<&str, &Question>, l: &mut Linter<'_>) {
    if let Some(s) = &r.scoring {
        if let Some(v) = s.verdict_question.as_deref().and_then(|v| index.get(v)) {
            if !v.required {
                l.warning(
                    "verdict-not-required",
                    Target::Question(&v.id),
                    format!("verdict question `{}` is optional; make it required", v.id),
                );
            }
            if v.show_if.is_some() {
                l.warning(
                    "verdict-conditional",
                    Target::Question(&v.id),
                    format!(
                        "verdict question `{}` is conditional; a grade may have no verdict",
                        v.id
                    ),
                );
            }
            if matches!(
                v.kind,
                QuestionKind::FreeText { .. }
                    | QuestionKind::Annotations { .. }
                    | QuestionKind::MultiChoice { .. }
                    | QuestionKind::Ranking { .. }
            ) {
                l.error(
                    "verdict-kind",
                    Target::Question(&v.id),
                    format!(
                        "verdict question `{}` must be a scale, single choice, pass/fail or pairwise question",
                        v.id
                    ),
                );
            }
        }
        if s.method == ScoringMethod::WeightedMean
            && !r.questions.iter().any(|q| {
                matches!(
                    q.kind,
                    QuestionKind::Scale { .. } | QuestionKind::PassFail { .. }
                ) && q.weight > 0.0
            })
        {
            l.warning(
                "nothing-to-score",
                Target::Root("scoring"),
                "weighted_mean scoring but no scale or pass/fail question has a weight above 0",
            );
        }
    }
}

// ------------------------------------------------------------------ unknown keys

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
fn unknown_keys(src: &SourceMap, l: &mut Linter<'_>) {
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
fn edit_distance(a: &str, b: &str) -> usize {
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

// ------------------------------------------------------------------ sample items

/// Whether a field `value` has a shape the `viewer` can show (lint of sample
/// items and the platform's item import both use this rule).
pub fn viewer_accepts(viewer: ViewerKind, value: &FieldValue) -> bool {
    match (viewer, value) {
        (ViewerKind::Scan, FieldValue::Attachment(_)) => true,
        // A series: its slices (or archives of them).
        (ViewerKind::Scan, FieldValue::Attachments(list)) => !list.is_empty(),
        (ViewerKind::Scan, _) => false,
        (ViewerKind::Chat | ViewerKind::TestSuite, FieldValue::Json(_) | FieldValue::Text(_)) => {
            true
        }
        (_, FieldValue::Text(_)) => true,
        _ => false,
    }
}

/// "text", "JSON" or "an attachment", for messages.
pub fn value_kind(v: &FieldValue) -> &'static str {
    match v {
        FieldValue::Text(_) => "text",
        FieldValue::Json(_) => "JSON",
        FieldValue::Attachment(_) => "an attachment",
        FieldValue::Attachments(_) => "a list of attachments",
    }
}

fn list_some(ids: &[&str]) -> String {
    let shown: Vec<&str> = ids.iter().take(5).copied().collect();
    let more = ids.len().saturating_sub(shown.len());
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

fn items_check(r: &Rubric, items: &[Item], l: &mut Linter<'_>) {
    let n = items.len();
    for f in &r.fields {
        let lacking: Vec<&str> = items
            .iter()
            .filter(|i| !i.fields.contains_key(&f.id))
            .map(|i| i.id.as_str())
            .collect();
        if lacking.len() == n {
            l.error(
                "undefined-field",
                Target::Field(&f.id),
                format!(
                    "field `{}` is declared visible but none of the {n} sample items has it",
                    f.id
                ),
            );
        } else if !lacking.is_empty() {
            l.warning(
                "undefined-field",
                Target::Field(&f.id),
                format!(
                    "field `{}` is missing from {} of {n} sample items ({})",
                    f.id,
                    lacking.len(),
                    list_some(&lacking)
                ),
            );
        }
        let wrong: Vec<(&str, &'static str)> = items
            .iter()
            .filter_map(|i| i.fields.get(&f.id).map(|v| (i.id.as_str(), v)))
            .filter(|(_, v)| !viewer_accepts(f.viewer, v))
            .map(|(id, v)| (id, value_kind(v)))
            .collect();
        if let Some((_, kind)) = wrong.first() {
            let ids: Vec<&str> = wrong.iter().map(|(id, _)| *id).collect();
            l.warning(
                "viewer-mismatch",
                Target::FieldKey(&f.id, "viewer"),
                format!(
                    "field `{}` uses the {} viewer but is {kind} in sample items {}",
                    f.id,
                    f.viewer.as_str(),
                    list_some(&ids)
                ),
            );
        }
    }
    let visible: BTreeSet<&str> = r.fields.iter().map(|f| f.id.as_str()).collect();
    let mut hidden: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for i in items {
        for k in i.fields.keys() {
            if !visible.contains(k.as_str()) {
                hidden.entry(k.as_str()).or_default().push(i.id.as_str());
            }
        }
    }
    for (field, ids) in hidden {
        l.warning(
            "unused-item-field",
            Target::Nowhere,
            format!(
                "sample items have field `{field}`, which the rubric does not show; reviewers will not see it ({})",
                list_some(&ids)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
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
