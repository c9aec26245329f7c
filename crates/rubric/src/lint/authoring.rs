//! Authoring checks: what makes a rubric hard to use (its basics, field
//! settings, unused fields, each question, conditions, unreachable questions,
//! the verdict and scoring); mostly warnings, some errors.

use super::structural::{condition_cycles, condition_satisfiable};
use super::*;

/// Authoring checks: what makes a rubric hard to use, in the order they report.
pub(super) fn authoring(r: &Rubric, l: &mut Linter<'_>) {
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
