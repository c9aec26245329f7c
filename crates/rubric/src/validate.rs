//! Checking a reviewer's answers against a rubric.
//!
//! Validation never fails: it returns a report the UI shows live. A grade whose
//! report is not `ok` cannot be submitted; its draft is kept regardless (that is
//! the store's job: nothing here mutates or drops answers).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{
    Annotation, AnnotationAnchor, Answer, Answers, ChoiceOption, Condition, Preference, Question,
    QuestionKind, RationaleRule, Rubric,
};

/// Whether a validation issue blocks submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum IssueSeverity {
    /// Blocks submission.
    Error,
    /// Shown, does not block submission.
    Warning,
}

/// One problem with one answer, worded for the reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ValidationIssue {
    /// The question the issue is about.
    pub question_id: String,
    /// Whether it blocks submission.
    pub severity: IssueSeverity,
    /// Stable machine code, e.g. `required`, `out_of_range`, `rationale_too_short`.
    pub code: String,
    /// What is wrong, worded for the reviewer.
    pub message: String,
}

/// The result of checking a grade's answers against the rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ValidationReport {
    /// True when there is no error: the grade may be submitted.
    pub ok: bool,
    /// Every issue found, in rubric order.
    pub issues: Vec<ValidationIssue>,
    /// Questions shown under the current answers (`show_if`), in rubric order.
    pub visible_questions: Vec<String>,
    /// Shown questions whose rationale is mandatory under the current
    /// answers, with the fewest characters it needs (after trimming, in
    /// Unicode scalar values). A question whose rule is `always` is listed
    /// before it is answered; `below` and `choice` once its answer triggers
    /// them. The UI marks these rationale boxes "required" from this map.
    #[serde(default)]
    pub rationale_required: BTreeMap<String, u32>,
}

impl ValidationReport {
    /// The issues that block submission.
    pub fn errors(&self) -> impl Iterator<Item = &ValidationIssue> {
        self.issues
            .iter()
            .filter(|i| i.severity == IssueSeverity::Error)
    }

    /// Issues about one question.
    pub fn for_question<'a>(
        &'a self,
        question_id: &'a str,
    ) -> impl Iterator<Item = &'a ValidationIssue> + 'a {
        self.issues
            .iter()
            .filter(move |i| i.question_id == question_id)
    }
}

// ------------------------------------------------------------------ shared logic

/// Questions by id; the first wins when ids repeat (lint reports duplicates).
pub(crate) fn question_index(rubric: &Rubric) -> HashMap<&str, &Question> {
    let mut map = HashMap::with_capacity(rubric.questions.len());
    for q in &rubric.questions {
        map.entry(q.id.as_str()).or_insert(q);
    }
    map
}

/// The choice-like tokens an answer stands for, as used by `show_if.any_of`
/// and `rationale = { when = "choice" }`:
/// scale: the value (`"3"`); single/multi choice: the option ids;
/// pass/fail: `"pass"` when every criterion passed, else `"fail"` plus the ids
/// of failed criteria; ranking: the top-ranked field; pairwise: `"a"`, `"b"`
/// or `"tie"`; annotations: the severities used; free text: none.
pub(crate) fn answer_tokens(answer: &Answer) -> Vec<String> {
    match answer {
        Answer::Scale { value } => vec![value.to_string()],
        Answer::SingleChoice { choice } => vec![choice.clone()],
        Answer::MultiChoice { choices } => choices.clone(),
        Answer::PassFail { results } => {
            let failed: Vec<String> = results
                .iter()
                .filter(|(_, pass)| !**pass)
                .map(|(id, _)| id.clone())
                .collect();
            if failed.is_empty() {
                vec!["pass".to_owned()]
            } else {
                let mut v = vec!["fail".to_owned()];
                v.extend(failed);
                v
            }
        }
        Answer::Ranking { order } => order.first().cloned().into_iter().collect(),
        Answer::Pairwise { preference, .. } => vec![preference_token(*preference).to_owned()],
        Answer::FreeText { .. } => Vec::new(),
        Answer::Annotations { items } => items
            .iter()
            .filter_map(|a| a.severity.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

pub(crate) fn preference_token(p: Preference) -> &'static str {
    match p {
        Preference::A => "a",
        Preference::B => "b",
        Preference::Tie => "tie",
    }
}

/// Tokens a question's answers can produce (for lint); `None` when open-ended
/// (scale values are listed as numbers).
pub(crate) fn possible_tokens(kind: &QuestionKind) -> Option<BTreeSet<String>> {
    let ids = |opts: &[ChoiceOption]| opts.iter().map(|o| o.id.clone()).collect();
    match kind {
        QuestionKind::Scale { min, max, .. } => {
            if max.saturating_sub(*min) > 1000 {
                None
            } else {
                Some((*min..=*max).map(|v| v.to_string()).collect())
            }
        }
        QuestionKind::SingleChoice { options } | QuestionKind::MultiChoice { options, .. } => {
            Some(ids(options))
        }
        QuestionKind::PassFail { criteria } => {
            let mut s: BTreeSet<String> = ids(criteria);
            s.insert("pass".into());
            s.insert("fail".into());
            Some(s)
        }
        QuestionKind::Ranking { fields } => Some(fields.iter().cloned().collect()),
        QuestionKind::Pairwise { allow_tie, .. } => {
            let mut s: BTreeSet<String> = ["a", "b"].iter().map(ToString::to_string).collect();
            if *allow_tie {
                s.insert("tie".into());
            }
            Some(s)
        }
        QuestionKind::FreeText { .. } => Some(BTreeSet::new()),
        QuestionKind::Annotations { severities, .. } => {
            if severities.is_empty() {
                Some(BTreeSet::new())
            } else {
                Some(severities.iter().cloned().collect())
            }
        }
    }
}

/// Whether `answer` to the condition's target question satisfies it. An
/// unanswered (or blank) target never does. All given constraints must hold:
/// `any_of` (tokens, see [`answer_tokens`]) and `min`/`max` (scale only).
pub(crate) fn condition_matches(cond: &Condition, answer: Option<&Answer>) -> bool {
    let Some(answer) = answer else {
        return false;
    };
    if is_blank(answer) {
        return false;
    }
    if !cond.any_of.is_empty() {
        let tokens = answer_tokens(answer);
        if !tokens.iter().any(|t| cond.any_of.contains(t)) {
            return false;
        }
    }
    if cond.min.is_some() || cond.max.is_some() {
        let Answer::Scale { value } = answer else {
            return false;
        };
        if cond.min.is_some_and(|m| *value < m) || cond.max.is_some_and(|m| *value > m) {
            return false;
        }
    }
    true
}

/// An answer that carries nothing (empty free text / empty selection).
fn is_blank(answer: &Answer) -> bool {
    match answer {
        Answer::FreeText { text } => text.trim().is_empty(),
        Answer::MultiChoice { choices } => choices.is_empty(),
        Answer::SingleChoice { choice } => choice.trim().is_empty(),
        Answer::PassFail { results } => results.is_empty(),
        Answer::Ranking { order } => order.is_empty(),
        // An empty annotation list is a deliberate "nothing to flag".
        Answer::Annotations { .. } | Answer::Scale { .. } | Answer::Pairwise { .. } => false,
    }
}

/// Which questions are shown under these answers, by id. A question is shown
/// when it has no `show_if`, or its condition's target question is itself
/// shown and its answer matches. Conditions on unknown questions, on
/// themselves or in a cycle are never met (lint reports them).
pub fn visibility(rubric: &Rubric, answers: &Answers) -> HashMap<String, bool> {
    let index = question_index(rubric);
    let mut done: HashMap<&str, bool> = HashMap::with_capacity(index.len());
    for q in &rubric.questions {
        if done.contains_key(q.id.as_str()) {
            continue;
        }
        // Follow the chain of conditions iteratively (chains may be long).
        let mut chain: Vec<&Question> = vec![q];
        let mut on_chain: BTreeSet<&str> = BTreeSet::new();
        on_chain.insert(q.id.as_str());
        let mut base: Option<bool> = None;
        while let Some(last) = chain.last() {
            let Some(cond) = &last.show_if else {
                base = Some(true);
                break;
            };
            let target = cond.question.as_str();
            if let Some(v) = done.get(target) {
                base = Some(*v);
                break;
            }
            match index.get(target) {
                Some(t) if !on_chain.contains(target) => {
                    on_chain.insert(target);
                    chain.push(t);
                }
                // Unknown target or cycle: every question on the chain from
                // here up is hidden.
                _ => {
                    for c in &chain {
                        done.insert(c.id.as_str(), false);
                    }
                    chain.clear();
                    break;
                }
            }
        }
        // Resolve from the innermost question outwards.
        let mut target_visible = base.unwrap_or(false);
        while let Some(c) = chain.pop() {
            let v = match &c.show_if {
                None => true,
                Some(cond) => {
                    target_visible && condition_matches(cond, answers.answers.get(&cond.question))
                }
            };
            done.insert(c.id.as_str(), v);
            target_visible = v;
        }
    }
    done.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Ids of the questions shown under these answers, in rubric order.
pub fn visible_questions(rubric: &Rubric, answers: &Answers) -> Vec<String> {
    shown_in_order(rubric, &visibility(rubric, answers))
}

/// Ids of the questions `vis` shows, in rubric order, each once.
fn shown_in_order(rubric: &Rubric, vis: &HashMap<String, bool>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    rubric
        .questions
        .iter()
        .filter(|q| vis.get(&q.id).copied().unwrap_or(false) && seen.insert(q.id.as_str()))
        .map(|q| q.id.clone())
        .collect()
}

/// The answers that count: only those to shown questions (answers to
/// questions hidden by `show_if`, and their rationales, are dropped).
pub fn effective_answers(rubric: &Rubric, answers: &Answers) -> Answers {
    let vis = visibility(rubric, answers);
    fn shown<V: Clone>(
        vis: &HashMap<String, bool>,
        by_id: &BTreeMap<String, V>,
    ) -> BTreeMap<String, V> {
        by_id
            .iter()
            .filter(|(id, _)| vis.get(*id).copied().unwrap_or(false))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    Answers {
        answers: shown(&vis, &answers.answers),
        rationales: shown(&vis, &answers.rationales),
    }
}

/// Characters of a text after trimming surrounding whitespace.
pub(crate) fn trimmed_len(s: &str) -> usize {
    s.trim().chars().count()
}

/// What an answer of each type is, in words, for a value of `$enum`:
/// [`QuestionKind`] and [`Answer`] have the same variants (an answer's tag
/// must match its question's), so one table serves both.
macro_rules! type_noun {
    ($enum:ident, $value:expr) => {
        match $value {
            $enum::Scale { .. } => "a score",
            $enum::SingleChoice { .. } => "one choice",
            $enum::MultiChoice { .. } => "a set of choices",
            $enum::PassFail { .. } => "pass/fail marks",
            $enum::Ranking { .. } => "a ranking",
            $enum::Pairwise { .. } => "a preference",
            $enum::FreeText { .. } => "a written answer",
            $enum::Annotations { .. } => "annotations",
        }
    };
}

pub(crate) fn kind_noun(kind: &QuestionKind) -> &'static str {
    type_noun!(QuestionKind, kind)
}

fn answer_noun(answer: &Answer) -> &'static str {
    type_noun!(Answer, answer)
}

fn label_of<'a>(options: &'a [ChoiceOption], id: &'a str) -> &'a str {
    options
        .iter()
        .find(|o| o.id == id)
        .map_or(id, |o| o.label.as_str())
}

fn quoted_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items
        .into_iter()
        .map(|s| format!("\u{201c}{}\u{201d}", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ids among `ids` outside the set `inside` describes, in their order.
fn ids_outside<'a>(
    ids: impl IntoIterator<Item = &'a String>,
    inside: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    ids.into_iter()
        .map(String::as_str)
        .filter(|id| !inside(id))
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

// ------------------------------------------------------------------ validate

struct Issues {
    list: Vec<ValidationIssue>,
}

impl Issues {
    fn error(&mut self, q: &str, code: &str, message: impl Into<String>) {
        self.push(q, IssueSeverity::Error, code, message);
    }
    fn warning(&mut self, q: &str, code: &str, message: impl Into<String>) {
        self.push(q, IssueSeverity::Warning, code, message);
    }
    /// An error naming `listed` (quoted, in words by `message`), unless
    /// there is nothing listed.
    fn error_naming<S: AsRef<str>>(
        &mut self,
        q: &str,
        code: &str,
        listed: impl IntoIterator<Item = S>,
        message: impl FnOnce(String) -> String,
    ) {
        let mut listed = listed.into_iter().peekable();
        if listed.peek().is_some() {
            self.error(q, code, message(quoted_list(listed)));
        }
    }
    fn push(&mut self, q: &str, severity: IssueSeverity, code: &str, message: impl Into<String>) {
        self.list.push(ValidationIssue {
            question_id: q.to_owned(),
            severity,
            code: code.to_owned(),
            message: message.into(),
        });
    }
}

/// Check answers against the rubric. Never panics, whatever the inputs
/// (including an inconsistent rubric that skipped [`crate::parse_rubric`]'s checks).
pub fn validate(answers: &Answers, rubric: &Rubric) -> ValidationReport {
    let index = question_index(rubric);
    let vis = visibility(rubric, answers);
    let mut issues = Issues { list: Vec::new() };

    for id in answers.answers.keys() {
        if !index.contains_key(id.as_str()) {
            issues.error(
                id,
                "unknown_question",
                format!(
                    "There is no question \u{201c}{id}\u{201d} in this rubric; remove this answer."
                ),
            );
        }
    }
    for id in answers.rationales.keys() {
        if !index.contains_key(id.as_str()) {
            issues.error(
                id,
                "unknown_question",
                format!("There is no question \u{201c}{id}\u{201d} in this rubric; remove this explanation."),
            );
        }
    }

    let mut checked = BTreeSet::new();
    let mut rationale_required = BTreeMap::new();
    for q in &rubric.questions {
        if !checked.insert(q.id.as_str()) {
            continue; // duplicate id: validated once
        }
        let shown = vis.get(&q.id).copied().unwrap_or(false);
        let answer = answers.answers.get(&q.id);
        if shown {
            if let Some(min) = rationale_min_chars(q, answer) {
                rationale_required.insert(q.id.clone(), min);
            }
        }
        if !shown {
            if answer.is_some() {
                issues.warning(
                    &q.id,
                    "ignored_hidden",
                    "This question no longer applies; your answer to it will not be submitted.",
                );
            }
            continue;
        }
        let rationale = answers.rationales.get(&q.id).map(String::as_str);
        check_question(q, answer, rationale, &mut issues);
    }

    let visible_questions = shown_in_order(rubric, &vis);
    let ok = !issues
        .list
        .iter()
        .any(|i| i.severity == IssueSeverity::Error);
    ValidationReport {
        ok,
        issues: issues.list,
        visible_questions,
        rationale_required,
    }
}

fn required_message(kind: &QuestionKind) -> String {
    match kind {
        QuestionKind::Scale { min, max, .. } => format!("Pick a score from {min} to {max}."),
        QuestionKind::SingleChoice { .. } => "Pick one option.".into(),
        QuestionKind::MultiChoice { .. } => "Pick at least one option.".into(),
        QuestionKind::PassFail { .. } => "Mark every criterion as pass or fail.".into(),
        QuestionKind::Ranking { .. } => "Rank the responses from best to worst.".into(),
        QuestionKind::Pairwise { .. } => "Say which response you prefer.".into(),
        QuestionKind::FreeText { .. } => "Write an answer to this question.".into(),
        // With a minimum there is nothing to confirm: only annotations answer it.
        QuestionKind::Annotations {
            min_count: Some(n), ..
        } if *n > 0 => {
            if *n == 1 {
                "Add at least one annotation from the viewer.".into()
            } else {
                format!("Add at least {n} annotations from the viewer.")
            }
        }
        QuestionKind::Annotations { .. } => {
            "Add your annotations, or confirm there are none (\"Nothing to flag\").".into()
        }
    }
}

fn check_question(
    q: &Question,
    answer: Option<&Answer>,
    rationale: Option<&str>,
    out: &mut Issues,
) {
    let id = q.id.as_str();
    let answer = match answer {
        Some(a) if !is_blank(a) => a,
        _ => {
            if q.required {
                out.error(id, "required", required_message(&q.kind));
            }
            return;
        }
    };
    let before = out.list.len();
    match (&q.kind, answer) {
        (QuestionKind::Scale { min, max, .. }, Answer::Scale { value }) => {
            if value < min || value > max {
                out.error(
                    id,
                    "out_of_range",
                    format!("Pick a score from {min} to {max} (you entered {value})."),
                );
            }
        }
        (QuestionKind::SingleChoice { options }, Answer::SingleChoice { choice }) => {
            if !options.iter().any(|o| &o.id == choice) {
                out.error(
                    id,
                    "unknown_choice",
                    format!(
                        "Pick one of: {}.",
                        quoted_list(options.iter().map(|o| o.label.as_str()))
                    ),
                );
            }
        }
        (
            QuestionKind::MultiChoice {
                options,
                min_selected,
                max_selected,
            },
            Answer::MultiChoice { choices },
        ) => check_multi(id, options, *min_selected, *max_selected, choices, out),
        (QuestionKind::PassFail { criteria }, Answer::PassFail { results }) => {
            let missing = criteria
                .iter()
                .filter(|c| !results.contains_key(&c.id))
                .map(|c| c.label.as_str());
            out.error_naming(id, "criteria_missing", missing, |l| {
                format!("Mark every criterion as pass or fail; still open: {l}.")
            });
            let unknown = ids_outside(results.keys(), |k| criteria.iter().any(|c| c.id == k));
            out.error_naming(id, "unknown_criterion", unknown, |l| {
                format!("These criteria are not part of this question: {l}.")
            });
        }
        (QuestionKind::Ranking { fields }, Answer::Ranking { order }) => {
            check_ranking(id, fields, order, out);
        }
        (
            QuestionKind::Pairwise {
                allow_tie,
                strengths,
                ..
            },
            Answer::Pairwise {
                preference,
                strength,
            },
        ) => check_pairwise(
            id,
            *allow_tie,
            strengths,
            *preference,
            strength.as_deref(),
            out,
        ),
        (
            QuestionKind::FreeText {
                min_length,
                max_length,
                ..
            },
            Answer::FreeText { text },
        ) => {
            let n = trimmed_len(text);
            if let Some(min) = min_length {
                if n < *min as usize {
                    out.error(
                        id,
                        "too_short",
                        format!(
                            "Write at least {} (you have {n}).",
                            plural(*min as usize, "character", "characters")
                        ),
                    );
                }
            }
            if let Some(max) = max_length {
                if n > *max as usize {
                    out.error(
                        id,
                        "too_long",
                        format!(
                            "Keep it to at most {} (you have {n}).",
                            plural(*max as usize, "character", "characters")
                        ),
                    );
                }
            }
        }
        (
            QuestionKind::Annotations {
                fields,
                severities,
                min_count,
            },
            Answer::Annotations { items },
        ) => check_annotations(id, fields, severities, *min_count, items, out),
        (kind, answer) => {
            out.error(
                id,
                "wrong_type",
                format!(
                    "This question needs {}, but the saved answer is {}; answer it again.",
                    kind_noun(kind),
                    answer_noun(answer)
                ),
            );
        }
    }
    let answer_ok = out.list.len() == before;
    if answer_ok {
        check_rationale(q, answer, rationale, out);
    }
}

fn check_multi(
    id: &str,
    options: &[ChoiceOption],
    min_selected: Option<u32>,
    max_selected: Option<u32>,
    choices: &[String],
    out: &mut Issues,
) {
    if choices.iter().any(|c| !options.iter().any(|o| &o.id == c)) {
        out.error(
            id,
            "unknown_choice",
            format!(
                "Only these options can be picked: {}.",
                quoted_list(options.iter().map(|o| o.label.as_str()))
            ),
        );
    }
    let distinct: BTreeSet<&str> = choices.iter().map(String::as_str).collect();
    if distinct.len() != choices.len() {
        out.error(
            id,
            "duplicate_choice",
            "Each option can be picked only once.",
        );
    }
    let n = distinct.len();
    let min = min_selected.unwrap_or(1) as usize;
    if n < min {
        out.error(
            id,
            "too_few_choices",
            format!(
                "Pick at least {} (you picked {n}).",
                plural(min, "option", "options")
            ),
        );
    }
    if let Some(max) = max_selected {
        if n > max as usize {
            out.error(
                id,
                "too_many_choices",
                format!(
                    "Pick at most {} (you picked {n}).",
                    plural(max as usize, "option", "options")
                ),
            );
        }
    }
}

fn check_ranking(id: &str, fields: &[String], order: &[String], out: &mut Issues) {
    let mut seen = BTreeSet::new();
    let dups: BTreeSet<&str> = order
        .iter()
        .filter(|f| !seen.insert(f.as_str()))
        .map(String::as_str)
        .collect();
    let missing = ids_outside(fields, |f| order.iter().any(|o| o == f));
    let unknown = ids_outside(order, |o| fields.iter().any(|f| f == o));
    out.error_naming(id, "ranking_duplicate", dups, |l| {
        format!("Rank each response once; repeated: {l}.")
    });
    out.error_naming(id, "ranking_incomplete", missing, |l| {
        format!("Rank every response; not ranked yet: {l}.")
    });
    out.error_naming(id, "ranking_unknown", unknown, |l| {
        format!("These are not responses to rank here: {l}.")
    });
}

fn check_pairwise(
    id: &str,
    allow_tie: bool,
    strengths: &[String],
    preference: Preference,
    strength: Option<&str>,
    out: &mut Issues,
) {
    if preference == Preference::Tie {
        if !allow_tie {
            out.error(
                id,
                "tie_not_allowed",
                "A tie is not allowed here: pick A or B.",
            );
        }
        if strength.is_some() {
            out.warning(
                id,
                "strength_ignored",
                "A tie has no strength; it will be ignored.",
            );
        }
        return;
    }
    match strength {
        None if !strengths.is_empty() => out.error(
            id,
            "strength_missing",
            format!(
                "Say how strongly you prefer it: {}.",
                quoted_list(strengths)
            ),
        ),
        Some(s) if !strengths.iter().any(|x| x == s) => {
            if strengths.is_empty() {
                out.error(
                    id,
                    "strength_unknown",
                    "This question does not take a strength; clear it.",
                );
            } else {
                out.error(
                    id,
                    "strength_unknown",
                    format!("Pick a strength from: {}.", quoted_list(strengths)),
                );
            }
        }
        _ => {}
    }
}

fn check_annotations(
    id: &str,
    fields: &[String],
    severities: &[String],
    min_count: Option<u32>,
    items: &[Annotation],
    out: &mut Issues,
) {
    if let Some(min) = min_count {
        if items.len() < min as usize {
            out.error(
                id,
                "too_few_annotations",
                format!(
                    "Add at least {} (you have {}).",
                    plural(min as usize, "annotation", "annotations"),
                    items.len()
                ),
            );
        }
    }
    let mut ids = BTreeSet::new();
    for (n, a) in items.iter().enumerate() {
        let which = format!("Annotation {}", n + 1);
        if !ids.insert(a.id.as_str()) {
            out.error(
                id,
                "annotation_duplicate",
                format!("{which} repeats the id of an earlier annotation."),
            );
        }
        if !fields.iter().any(|f| f == &a.field) {
            out.error(
                id,
                "annotation_field",
                format!(
                    "{which} is on \u{201c}{}\u{201d}; annotations can only be placed on {}.",
                    a.field,
                    quoted_list(fields)
                ),
            );
        }
        match &a.severity {
            None if !severities.is_empty() => out.error(
                id,
                "annotation_severity_missing",
                format!("{which} needs a severity: {}.", quoted_list(severities)),
            ),
            Some(s) if !severities.is_empty() && !severities.contains(s) => out.error(
                id,
                "annotation_severity_unknown",
                format!(
                    "{which} has severity \u{201c}{s}\u{201d}; use one of {}.",
                    quoted_list(severities)
                ),
            ),
            _ => {}
        }
        if a.comment.trim().is_empty() {
            out.error(
                id,
                "annotation_empty",
                format!("{which} has no comment; write what is wrong."),
            );
        }
        if let Some(problem) = anchor_problem(&a.anchor) {
            out.error(id, "annotation_anchor", format!("{which} {problem}."));
        }
    }
}

fn anchor_problem(anchor: &AnnotationAnchor) -> Option<&'static str> {
    match anchor {
        AnnotationAnchor::DiffLine {
            line,
            file,
            line_hash,
            ..
        } => {
            if *line == 0 {
                Some("points at line 0; lines start at 1")
            } else if file.trim().is_empty() {
                Some("does not say which file it is on")
            } else if line_hash
                .as_deref()
                .is_some_and(|h| h.is_empty() || h.len() > 64 || !h.is_ascii())
            {
                Some("has an invalid line hash")
            } else {
                None
            }
        }
        AnnotationAnchor::Clause { number } => {
            number.trim().is_empty().then_some("does not name a clause")
        }
        AnnotationAnchor::ScanRegion {
            x,
            y,
            width,
            height,
            ..
        } => {
            let finite = [x, y, width, height].iter().all(|v| v.is_finite());
            if !finite || *width <= 0.0 || *height <= 0.0 || *x < 0.0 || *y < 0.0 {
                Some("marks an empty or invalid region of the scan")
            } else {
                None
            }
        }
        AnnotationAnchor::TextSpan { start, end } => {
            (start >= end).then_some("marks an empty span of text")
        }
    }
}

/// Whether `answer` to `q` makes a rationale mandatory: the fewest characters
/// it needs, or `None`. A question whose rule is `always` needs one whatever
/// the answer (even before it is answered); `below` and `choice` only when
/// the answer given triggers them.
pub fn rationale_min_chars(q: &Question, answer: Option<&Answer>) -> Option<u32> {
    let answer = answer.filter(|a| !is_blank(a));
    rationale_need(q, answer).map(|(min, _)| min)
}

/// The rationale `q` needs under `answer`: its minimum length (at least 1)
/// and what the reviewer is asked to explain.
fn rationale_need(q: &Question, answer: Option<&Answer>) -> Option<(u32, String)> {
    let (needed, min_length, what) = match (&q.rationale, answer) {
        (None | Some(RationaleRule::Optional), _) => return None,
        (Some(RationaleRule::Always { min_length }), _) => {
            (true, *min_length, "Explain your answer".to_owned())
        }
        (_, None) => return None,
        (
            Some(RationaleRule::Below {
                threshold,
                min_length,
            }),
            Some(answer),
        ) => match answer {
            Answer::Scale { value } => (
                value < threshold,
                *min_length,
                format!("Explain your score (required below {threshold})"),
            ),
            _ => return None,
        },
        (
            Some(RationaleRule::Choice {
                choices,
                min_length,
            }),
            Some(answer),
        ) => {
            let tokens = answer_tokens(answer);
            let hit = tokens.iter().find(|t| choices.contains(t))?;
            let label = match &q.kind {
                QuestionKind::SingleChoice { options }
                | QuestionKind::MultiChoice { options, .. } => label_of(options, hit).to_owned(),
                QuestionKind::PassFail { criteria } => label_of(criteria, hit).to_owned(),
                _ => hit.clone(),
            };
            (
                true,
                *min_length,
                format!("Explain why you chose \u{201c}{label}\u{201d}"),
            )
        }
    };
    needed.then(|| (min_length.unwrap_or(1).max(1), what))
}

fn check_rationale(q: &Question, answer: &Answer, rationale: Option<&str>, out: &mut Issues) {
    let Some((min, what)) = rationale_need(q, Some(answer)) else {
        return;
    };
    let have = rationale.map_or(0, trimmed_len);
    let min = min as usize;
    if have < min {
        let message = if min == 1 {
            format!("{what}: an explanation is required.")
        } else {
            format!(
                "{what}: at least {} (you have {have}).",
                plural(min, "character", "characters")
            )
        };
        out.error(&q.id, "rationale_required", message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_rubric, Format};

    fn rubric() -> Rubric {
        parse_rubric(
            r#"{
              "id": "r", "version": 2, "title": "T", "guidelines": "g",
              "fields": [
                {"id": "a", "label": "A", "viewer": "markdown"},
                {"id": "b", "label": "B", "viewer": "markdown"}
              ],
              "questions": [
                {"id": "quality", "prompt": "Quality", "type": "scale", "min": 1, "max": 5,
                 "rationale": {"when": "below", "threshold": 3, "min_length": 40}},
                {"id": "why_bad", "prompt": "What is wrong?", "type": "multi_choice",
                 "options": [{"id": "bug", "label": "Bug"}, {"id": "style", "label": "Style"}, {"id": "perf", "label": "Performance"}],
                 "max_selected": 2, "show_if": {"question": "quality", "max": 2}},
                {"id": "lang", "prompt": "Language", "type": "single_choice", "required": false,
                 "options": [{"id": "py", "label": "Python"}, {"id": "rs", "label": "Rust"}],
                 "rationale": {"when": "choice", "choices": ["rs"], "min_length": 5}},
                {"id": "checks", "prompt": "Checks", "type": "pass_fail",
                 "criteria": [{"id": "tests", "label": "Tests pass"}, {"id": "docs", "label": "Docs"}],
                 "rationale": {"when": "choice", "choices": ["fail"]}},
                {"id": "rank", "prompt": "Rank", "type": "ranking", "fields": ["a", "b"], "required": false},
                {"id": "pref", "prompt": "Prefer", "type": "pairwise", "a": "a", "b": "b",
                 "allow_tie": false, "strengths": ["slightly", "much"], "required": false},
                {"id": "notes", "prompt": "Notes", "type": "free_text", "min_length": 10, "max_length": 20, "required": false},
                {"id": "marks", "prompt": "Marks", "type": "annotations", "fields": ["a"],
                 "severities": ["minor", "major"], "min_count": 1, "required": false,
                 "rationale": {"when": "always", "min_length": 3}}
              ]
            }"#,
            Format::Json,
        )
        .unwrap()
    }

    fn answers(json: serde_json::Value) -> Answers {
        serde_json::from_value(json).unwrap()
    }

    fn codes(r: &ValidationReport, q: &str) -> Vec<String> {
        r.for_question(q).map(|i| i.code.clone()).collect()
    }

    /// A multi-choice answer picking `ids`.
    fn choices(ids: &[&str]) -> Answer {
        Answer::MultiChoice {
            choices: ids.iter().map(|&id| id.to_owned()).collect(),
        }
    }

    /// Give question `q` the answer `answer` in `a` and validate `a`.
    fn with_answer(a: &mut Answers, q: &str, answer: Answer) -> ValidationReport {
        a.answers.insert(q.into(), answer);
        validate(a, &rubric())
    }

    fn good() -> serde_json::Value {
        serde_json::json!({
            "answers": {
                "quality": {"type": "scale", "value": 4},
                "checks": {"type": "pass_fail", "results": {"tests": true, "docs": true}}
            }
        })
    }

    #[test]
    fn complete_answers_pass() {
        let r = validate(&answers(good()), &rubric());
        assert!(r.ok, "{:?}", r.issues);
        assert!(r.issues.is_empty());
        assert_eq!(
            r.visible_questions,
            ["quality", "lang", "checks", "rank", "pref", "notes", "marks"]
        );
    }

    #[test]
    fn empty_answers_report_required_questions_only() {
        let r = validate(&Answers::default(), &rubric());
        assert!(!r.ok);
        assert_eq!(codes(&r, "quality"), ["required"]);
        assert_eq!(codes(&r, "checks"), ["required"]);
        assert_eq!(r.issues.len(), 2, "{:?}", r.issues);
        assert_eq!(
            r.for_question("quality").next().unwrap().message,
            "Pick a score from 1 to 5."
        );
    }

    #[test]
    fn scale_out_of_range() {
        let mut a = answers(good());
        let r = with_answer(&mut a, "quality", Answer::Scale { value: 9 });
        assert_eq!(codes(&r, "quality"), ["out_of_range"]);
        assert!(!r.ok);
    }

    #[test]
    fn rationale_below_threshold_counts_trimmed_chars() {
        let mut a = answers(good());
        a.answers.insert("why_bad".into(), choices(&["bug"]));
        a.rationales
            .insert("quality".into(), format!("   {}   ", "x".repeat(12)));
        let r = with_answer(&mut a, "quality", Answer::Scale { value: 2 });
        let msgs: Vec<_> = r
            .for_question("quality")
            .map(|i| i.message.as_str())
            .collect();
        assert_eq!(
            msgs,
            ["Explain your score (required below 3): at least 40 characters (you have 12)."]
        );
        a.rationales.insert("quality".into(), "y".repeat(40));
        assert!(validate(&a, &rubric()).ok);
        // At the threshold no rationale is needed.
        a.rationales.clear();
        let r = with_answer(&mut a, "quality", Answer::Scale { value: 3 });
        assert!(r.ok, "{:?}", r.issues);
    }

    #[test]
    fn show_if_controls_requirement_and_hidden_answers_are_ignored() {
        let mut a = answers(good());
        a.rationales.insert("quality".into(), "z".repeat(50));
        let r = with_answer(&mut a, "quality", Answer::Scale { value: 1 });
        assert_eq!(codes(&r, "why_bad"), ["required"]);
        assert_eq!(
            r.for_question("why_bad").next().unwrap().message,
            "Pick at least one option."
        );
        assert!(r.visible_questions.contains(&"why_bad".to_string()));

        // Now hidden: an answer to it is ignored, not an error.
        a.answers
            .insert("quality".into(), Answer::Scale { value: 5 });
        let r = with_answer(&mut a, "why_bad", choices(&["nope"]));
        assert!(r.ok, "{:?}", r.issues);
        assert_eq!(codes(&r, "why_bad"), ["ignored_hidden"]);
        assert!(!effective_answers(&rubric(), &a)
            .answers
            .contains_key("why_bad"));
    }

    #[test]
    fn multi_choice_bounds_and_unknown_ids() {
        let mut a = answers(good());
        a.answers
            .insert("quality".into(), Answer::Scale { value: 2 });
        a.rationales.insert("quality".into(), "z".repeat(50));
        let r = with_answer(&mut a, "why_bad", choices(&["bug", "style", "perf", "x"]));
        assert_eq!(codes(&r, "why_bad"), ["unknown_choice", "too_many_choices"]);
        assert!(r
            .for_question("why_bad")
            .any(|i| i.message == "Pick at most 2 options (you picked 4)."));
    }

    #[test]
    fn type_mismatch_and_unknown_questions() {
        let mut a = answers(good());
        a.answers.insert(
            "quality".into(),
            Answer::FreeText {
                text: "great".into(),
            },
        );
        a.answers.insert("ghost".into(), Answer::Scale { value: 1 });
        a.rationales.insert("phantom".into(), "x".into());
        let r = validate(&a, &rubric());
        assert_eq!(codes(&r, "quality"), ["wrong_type"]);
        assert_eq!(codes(&r, "ghost"), ["unknown_question"]);
        assert_eq!(codes(&r, "phantom"), ["unknown_question"]);
    }

    #[test]
    fn single_choice_and_choice_rationale() {
        let mut a = answers(good());
        let choice = |id: &str| Answer::SingleChoice { choice: id.into() };
        let r = with_answer(&mut a, "lang", choice("go"));
        assert_eq!(codes(&r, "lang"), ["unknown_choice"]);
        let r = with_answer(&mut a, "lang", choice("rs"));
        assert_eq!(codes(&r, "lang"), ["rationale_required"]);
        assert!(r
            .for_question("lang")
            .next()
            .unwrap()
            .message
            .contains("Rust"));
        a.rationales.insert("lang".into(), "fast enough".into());
        assert!(validate(&a, &rubric()).ok);
    }

    /// The report says which rationales are mandatory, with their minimum,
    /// so the UI marks the boxes "required" without knowing the rules.
    #[test]
    fn report_lists_required_rationales_with_their_minimum() {
        let req = |a: &Answers| validate(a, &rubric()).rationale_required;
        // Nothing answered: only the `always` rule applies, before an answer.
        let none = req(&Answers::default());
        assert_eq!(none, BTreeMap::from([("marks".to_owned(), 3)]));

        // `below`: a score under the threshold needs 40 characters; at it, none.
        let mut a = answers(good());
        a.answers
            .insert("quality".into(), Answer::Scale { value: 2 });
        assert_eq!(req(&a).get("quality"), Some(&40));
        a.answers
            .insert("quality".into(), Answer::Scale { value: 3 });
        assert_eq!(req(&a).get("quality"), None);

        // `choice`: the triggering option only; no `min_length` means 1.
        for (choice, need) in [("rs", Some(&5)), ("py", None)] {
            a.answers.insert(
                "lang".into(),
                Answer::SingleChoice {
                    choice: choice.into(),
                },
            );
            assert_eq!(req(&a).get("lang"), need, "{choice}");
        }
        let fail = BTreeMap::from([("tests".to_owned(), false), ("docs".to_owned(), true)]);
        a.answers
            .insert("checks".into(), Answer::PassFail { results: fail });
        assert_eq!(
            req(&a).get("checks"),
            Some(&1),
            "a failed criterion is \"fail\""
        );
        let pass = BTreeMap::from([("tests".to_owned(), true), ("docs".to_owned(), true)]);
        a.answers
            .insert("checks".into(), Answer::PassFail { results: pass });
        assert_eq!(req(&a).get("checks"), None);

        // Listed whether or not the rationale is written: it says what is
        // needed, the issues say what is missing.
        a.answers.insert(
            "lang".into(),
            Answer::SingleChoice {
                choice: "rs".into(),
            },
        );
        a.rationales.insert("lang".into(), "fast enough".into());
        let r = validate(&a, &rubric());
        assert!(r.ok, "{:?}", r.issues);
        assert_eq!(r.rationale_required.get("lang"), Some(&5));
    }

    #[test]
    fn hidden_questions_need_no_rationale() {
        let r = parse_rubric(
            r#"{"id": "h", "version": 1, "title": "T", "guidelines": "g",
              "fields": [{"id": "a", "label": "A", "viewer": "markdown"}],
              "questions": [
                {"id": "gate", "prompt": "Gate", "type": "single_choice",
                 "options": [{"id": "open", "label": "Open"}, {"id": "shut", "label": "Shut"}]},
                {"id": "why", "prompt": "Why", "type": "scale", "min": 1, "max": 5,
                 "show_if": {"question": "gate", "any_of": ["open"]},
                 "rationale": {"when": "always", "min_length": 7}}
              ]}"#,
            Format::Json,
        )
        .unwrap();
        let shut = answers(
            serde_json::json!({"answers": {"gate": {"type": "single_choice", "choice": "shut"}}}),
        );
        let v = validate(&shut, &r);
        assert_eq!(v.visible_questions, ["gate"]);
        assert!(v.rationale_required.is_empty());
        let open = answers(
            serde_json::json!({"answers": {"gate": {"type": "single_choice", "choice": "open"}}}),
        );
        let v = validate(&open, &r);
        assert_eq!(v.visible_questions, ["gate", "why"]);
        assert_eq!(
            v.rationale_required,
            BTreeMap::from([("why".to_owned(), 7)])
        );
    }

    #[test]
    fn rationale_min_chars_matches_the_rule_per_answer() {
        let rubric = rubric();
        let q = |id: &str| rubric.questions.iter().find(|q| q.id == id).unwrap();
        assert_eq!(rationale_min_chars(q("quality"), None), None);
        assert_eq!(
            rationale_min_chars(q("quality"), Some(&Answer::Scale { value: 1 })),
            Some(40)
        );
        // A blank answer counts as none.
        assert_eq!(
            rationale_min_chars(q("marks"), Some(&Answer::Annotations { items: vec![] })),
            Some(3)
        );
        assert_eq!(rationale_min_chars(q("rank"), None), None);
    }

    #[test]
    fn pass_fail_must_cover_every_criterion() {
        let mut a = answers(good());
        let results = |pairs: &[(&str, bool)]| Answer::PassFail {
            results: pairs
                .iter()
                .map(|&(id, pass)| (id.to_owned(), pass))
                .collect(),
        };
        let r = with_answer(
            &mut a,
            "checks",
            results(&[("tests", false), ("bogus", true)]),
        );
        assert_eq!(
            codes(&r, "checks"),
            ["criteria_missing", "unknown_criterion"]
        );
        assert!(r
            .for_question("checks")
            .next()
            .unwrap()
            .message
            .contains("Docs"));

        // Complete, one failure: rationale is required ("fail").
        let r = with_answer(
            &mut a,
            "checks",
            results(&[("tests", false), ("docs", true)]),
        );
        assert_eq!(codes(&r, "checks"), ["rationale_required"]);
    }

    #[test]
    fn ranking_must_be_a_permutation() {
        let mut a = answers(good());
        let order = |ids: &[&str]| Answer::Ranking {
            order: ids.iter().map(|&id| id.to_owned()).collect(),
        };
        let r = with_answer(&mut a, "rank", order(&["a", "a", "c"]));
        assert_eq!(
            codes(&r, "rank"),
            ["ranking_duplicate", "ranking_incomplete", "ranking_unknown"]
        );
        assert!(with_answer(&mut a, "rank", order(&["b", "a"])).ok);
    }

    #[test]
    fn pairwise_tie_and_strength() {
        let mut a = answers(good());
        for (preference, strength, want) in [
            (Preference::Tie, None, &["tie_not_allowed"][..]),
            (Preference::A, None, &["strength_missing"]),
            (Preference::B, Some("hugely"), &["strength_unknown"]),
            (Preference::B, Some("much"), &[]),
        ] {
            let answer = Answer::Pairwise {
                preference,
                strength: strength.map(str::to_owned),
            };
            let r = with_answer(&mut a, "pref", answer);
            assert_eq!(codes(&r, "pref"), want, "{preference:?} {strength:?}");
        }
        assert!(validate(&a, &rubric()).ok);
    }

    #[test]
    fn free_text_bounds_use_trimmed_length() {
        let mut a = answers(good());
        let text = |text: String| Answer::FreeText { text };
        let r = with_answer(&mut a, "notes", text("   short    ".into()));
        assert_eq!(
            r.for_question("notes").next().unwrap().message,
            "Write at least 10 characters (you have 5)."
        );
        let r = with_answer(&mut a, "notes", text("é".repeat(21)));
        assert_eq!(codes(&r, "notes"), ["too_long"]);
        // Whitespace-only text of an optional question is no answer at all.
        assert!(with_answer(&mut a, "notes", text("  ".into())).ok);
    }

    /// "Nothing to flag" (an empty list) answers a required annotations
    /// question; leaving it unanswered does not (the UI's confirm control
    /// sends the empty list).
    #[test]
    fn an_empty_annotation_list_answers_a_required_question() {
        let r = parse_rubric(
            r#"{"id": "n", "version": 1, "title": "T", "guidelines": "g",
              "fields": [{"id": "a", "label": "A", "viewer": "markdown"}],
              "questions": [{"id": "marks", "prompt": "Marks", "type": "annotations", "fields": ["a"]}]}"#,
            Format::Json,
        )
        .unwrap();
        let none = validate(&Answers::default(), &r);
        assert_eq!(codes(&none, "marks"), ["required"]);
        let mut a = Answers::default();
        a.answers
            .insert("marks".into(), Answer::Annotations { items: vec![] });
        let confirmed = validate(&a, &r);
        assert!(confirmed.ok, "{:?}", confirmed.issues);
    }

    /// A required annotations question with a minimum offers no "Nothing to
    /// flag" control, so its message must not ask to confirm there are none.
    #[test]
    fn a_required_minimum_asks_for_annotations_not_a_confirmation() {
        let rubric_with = |min: &str| {
            parse_rubric(
                &format!(
                    r#"{{"id": "n", "version": 1, "title": "T", "guidelines": "g",
                      "fields": [{{"id": "a", "label": "A", "viewer": "markdown"}}],
                      "questions": [{{"id": "marks", "prompt": "Marks", "type": "annotations",
                                     "fields": ["a"]{min}}}]}}"#
                ),
                Format::Json,
            )
            .unwrap()
        };
        let message = |r: &Rubric| {
            validate(&Answers::default(), r)
                .issues
                .iter()
                .find(|i| i.question_id == "marks")
                .map(|i| i.message.clone())
                .unwrap()
        };
        assert!(message(&rubric_with("")).contains("Nothing to flag"));
        assert!(message(&rubric_with(r#", "min_count": 0"#)).contains("Nothing to flag"));
        let one = message(&rubric_with(r#", "min_count": 1"#));
        assert_eq!(one, "Add at least one annotation from the viewer.");
        let three = message(&rubric_with(r#", "min_count": 3"#));
        assert_eq!(three, "Add at least 3 annotations from the viewer.");
    }

    #[test]
    fn annotations_fields_severities_and_count() {
        let mut a = answers(good());
        a.answers
            .insert("marks".into(), Answer::Annotations { items: vec![] });
        assert_eq!(
            codes(&validate(&a, &rubric()), "marks"),
            ["too_few_annotations"]
        );
        let ann = |field: &str, severity: Option<&str>, comment: &str| Annotation {
            id: format!("{field}-{comment}"),
            field: field.into(),
            anchor: AnnotationAnchor::TextSpan { start: 1, end: 4 },
            severity: severity.map(str::to_owned),
            comment: comment.into(),
        };
        a.answers.insert(
            "marks".into(),
            Answer::Annotations {
                items: vec![
                    ann("b", Some("major"), "x"),
                    ann("a", None, "y"),
                    ann("a", Some("fatal"), "z"),
                    ann("a", Some("minor"), " "),
                ],
            },
        );
        assert_eq!(
            codes(&validate(&a, &rubric()), "marks"),
            [
                "annotation_field",
                "annotation_severity_missing",
                "annotation_severity_unknown",
                "annotation_empty"
            ]
        );
        a.answers.insert(
            "marks".into(),
            Answer::Annotations {
                items: vec![ann("a", Some("minor"), "off by one")],
            },
        );
        // rationale "always" applies once answered.
        assert_eq!(
            codes(&validate(&a, &rubric()), "marks"),
            ["rationale_required"]
        );
        a.rationales.insert("marks".into(), "see notes".into());
        assert!(validate(&a, &rubric()).ok);
    }

    #[test]
    fn cyclic_and_dangling_conditions_hide_questions() {
        let mut r = rubric();
        r.questions[1].show_if = Some(Condition {
            question: "lang".into(),
            any_of: vec![],
            min: None,
            max: None,
        });
        r.questions[2].show_if = Some(Condition {
            question: "why_bad".into(),
            any_of: vec![],
            min: None,
            max: None,
        });
        r.questions[3].show_if = Some(Condition {
            question: "nowhere".into(),
            any_of: vec![],
            min: None,
            max: None,
        });
        let v = visible_questions(&r, &answers(good()));
        assert_eq!(v, ["quality", "rank", "pref", "notes", "marks"]);
    }

    #[test]
    fn long_condition_chains_do_not_overflow_the_stack() {
        let mut r = rubric();
        let base = r.questions[0].clone();
        r.questions.clear();
        for i in 0..50_000 {
            let mut q = base.clone();
            q.id = format!("q{i}");
            q.rationale = None;
            if i > 0 {
                q.show_if = Some(Condition {
                    question: format!("q{}", i - 1),
                    any_of: vec![],
                    min: Some(1),
                    max: None,
                });
            }
            r.questions.push(q);
        }
        let mut a = Answers::default();
        for i in 0..50_000 {
            a.answers
                .insert(format!("q{i}"), Answer::Scale { value: 3 });
        }
        let rep = validate(&a, &r);
        assert!(rep.ok);
        assert_eq!(rep.visible_questions.len(), 50_000);
    }

    #[test]
    fn diff_line_anchors_with_and_without_a_line_hash() {
        // Drafts and submissions from before line hashes still parse.
        let old: AnnotationAnchor =
            serde_json::from_str(r#"{"kind":"diff_line","file":"a.rs","side":"new","line":3}"#)
                .unwrap();
        assert!(matches!(
            old,
            AnnotationAnchor::DiffLine {
                line_hash: None,
                ..
            }
        ));
        assert_eq!(anchor_problem(&old), None);
        assert!(!serde_json::to_string(&old).unwrap().contains("line_hash"));
        let new: AnnotationAnchor = serde_json::from_str(
            r#"{"kind":"diff_line","file":"a.rs","side":"old","line":3,"line_hash":"00ab12cd34ef"}"#,
        )
        .unwrap();
        assert_eq!(anchor_problem(&new), None);
        let back: AnnotationAnchor =
            serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(back, new);
        let bad = AnnotationAnchor::DiffLine {
            file: "a.rs".into(),
            side: crate::model::DiffSide::New,
            line: 3,
            line_hash: Some(String::new()),
        };
        assert!(anchor_problem(&bad).is_some());
        // Unknown keys are still refused.
        assert!(serde_json::from_str::<AnnotationAnchor>(
            r#"{"kind":"diff_line","file":"a.rs","side":"new","line":3,"hash":"x"}"#
        )
        .is_err());
    }
}
