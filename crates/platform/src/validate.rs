//! Server-side check of submitted answers against the assignment's rubric.
//!
//! The platform never trusts the client: answers must parse as
//! [`assay_rubric::Answers`], name only questions of the rubric, match each
//! question's kind and bounds, cover every visible required question and carry
//! the rationales the rubric demands.

use std::collections::BTreeSet;

use assay_rubric::{
    Answer, Answers, Condition, Preference, Question, QuestionKind, RationaleRule, Rubric,
};
use serde::Serialize;

/// One problem with a submission, reported in `ApiError.details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub question: String,
    pub message: String,
}

fn issue(q: &str, message: impl Into<String>) -> Issue {
    Issue {
        question: q.to_owned(),
        message: message.into(),
    }
}

fn pref_id(p: Preference) -> &'static str {
    match p {
        Preference::A => "a",
        Preference::B => "b",
        Preference::Tie => "tie",
    }
}

/// Whether a question is shown given the other answers.
fn visible(q: &Question, answers: &Answers) -> bool {
    let Some(Condition {
        question,
        any_of,
        min,
        max,
    }) = &q.show_if
    else {
        return true;
    };
    match answers.answers.get(question) {
        None => false,
        Some(Answer::Scale { value }) => {
            min.is_none_or(|m| *value >= m) && max.is_none_or(|m| *value <= m)
        }
        Some(Answer::SingleChoice { choice }) => any_of.contains(choice),
        Some(Answer::MultiChoice { choices }) => choices.iter().any(|c| any_of.contains(c)),
        Some(Answer::Pairwise { preference, .. }) => {
            any_of.iter().any(|c| c == pref_id(*preference))
        }
        Some(Answer::PassFail { results }) => {
            let failed = results.values().any(|ok| !ok);
            any_of
                .iter()
                .any(|c| (c == "fail" && failed) || (c == "pass" && !failed))
        }
        Some(_) => true,
    }
}

fn check_answer(q: &Question, answer: &Answer, out: &mut Vec<Issue>) {
    let id = q.id.as_str();
    match (&q.kind, answer) {
        (QuestionKind::Scale { min, max, .. }, Answer::Scale { value }) => {
            if value < min || value > max {
                out.push(issue(id, format!("{value} is outside {min}..={max}")));
            }
        }
        (QuestionKind::SingleChoice { options }, Answer::SingleChoice { choice }) => {
            if !options.iter().any(|o| &o.id == choice) {
                out.push(issue(id, format!("unknown choice {choice:?}")));
            }
        }
        (
            QuestionKind::MultiChoice {
                options,
                min_selected,
                max_selected,
            },
            Answer::MultiChoice { choices },
        ) => {
            let unique: BTreeSet<&String> = choices.iter().collect();
            if unique.len() != choices.len() {
                out.push(issue(id, "a choice is selected twice"));
            }
            for c in choices {
                if !options.iter().any(|o| &o.id == c) {
                    out.push(issue(id, format!("unknown choice {c:?}")));
                }
            }
            let n = choices.len() as u64;
            if min_selected.is_some_and(|m| n < u64::from(m)) {
                out.push(issue(id, "too few choices selected"));
            }
            if max_selected.is_some_and(|m| n > u64::from(m)) {
                out.push(issue(id, "too many choices selected"));
            }
        }
        (QuestionKind::PassFail { criteria }, Answer::PassFail { results }) => {
            for c in criteria {
                if !results.contains_key(&c.id) {
                    out.push(issue(id, format!("criterion {:?} has no result", c.id)));
                }
            }
            for k in results.keys() {
                if !criteria.iter().any(|c| &c.id == k) {
                    out.push(issue(id, format!("unknown criterion {k:?}")));
                }
            }
        }
        (QuestionKind::Ranking { fields }, Answer::Ranking { order }) => {
            let want: BTreeSet<&String> = fields.iter().collect();
            let got: BTreeSet<&String> = order.iter().collect();
            if want != got || order.len() != fields.len() {
                out.push(issue(
                    id,
                    "the ranking must order every listed field exactly once",
                ));
            }
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
        ) => {
            if *preference == Preference::Tie && !allow_tie {
                out.push(issue(id, "a tie is not allowed"));
            }
            if let Some(s) = strength {
                if !strengths.is_empty() && !strengths.contains(s) {
                    out.push(issue(id, format!("unknown strength {s:?}")));
                }
            }
        }
        (
            QuestionKind::FreeText {
                min_length,
                max_length,
                ..
            },
            Answer::FreeText { text },
        ) => {
            let n = text.trim().chars().count() as u64;
            if min_length.is_some_and(|m| n < u64::from(m)) {
                out.push(issue(
                    id,
                    format!("at least {} characters", min_length.unwrap_or(0)),
                ));
            }
            if max_length.is_some_and(|m| n > u64::from(m)) {
                out.push(issue(
                    id,
                    format!("at most {} characters", max_length.unwrap_or(0)),
                ));
            }
        }
        (
            QuestionKind::Annotations {
                fields,
                severities,
                min_count,
            },
            Answer::Annotations { items },
        ) => {
            if min_count.is_some_and(|m| (items.len() as u64) < u64::from(m)) {
                out.push(issue(id, "too few annotations"));
            }
            for a in items {
                if !fields.contains(&a.field) {
                    out.push(issue(
                        id,
                        format!("field {:?} cannot be annotated", a.field),
                    ));
                }
                if let Some(s) = &a.severity {
                    if !severities.is_empty() && !severities.contains(s) {
                        out.push(issue(id, format!("unknown severity {s:?}")));
                    }
                }
                if a.comment.trim().is_empty() {
                    out.push(issue(id, format!("annotation {} has no comment", a.id)));
                }
            }
        }
        _ => out.push(issue(id, "the answer's type does not match the question")),
    }
}

fn rationale_required(q: &Question, answer: &Answer) -> Option<u32> {
    match q.rationale.as_ref()? {
        RationaleRule::Always { min_length } => Some(min_length.unwrap_or(1)),
        RationaleRule::Below {
            threshold,
            min_length,
        } => match answer {
            Answer::Scale { value } if value < threshold => Some(min_length.unwrap_or(1)),
            _ => None,
        },
        RationaleRule::Choice {
            choices,
            min_length,
        } => {
            let hit = match answer {
                Answer::SingleChoice { choice } => choices.contains(choice),
                Answer::MultiChoice { choices: picked } => {
                    picked.iter().any(|c| choices.contains(c))
                }
                Answer::PassFail { results } => {
                    results.values().any(|ok| !ok) && choices.iter().any(|c| c == "fail")
                }
                Answer::Pairwise { preference, .. } => {
                    choices.iter().any(|c| c == pref_id(*preference))
                }
                _ => false,
            };
            hit.then(|| min_length.unwrap_or(1))
        }
        RationaleRule::Optional => None,
    }
}

/// Validate raw answers (the `answers` of a submission) against a rubric.
pub fn validate_answers(rubric: &Rubric, raw: &serde_json::Value) -> Result<Answers, Vec<Issue>> {
    let answers: Answers = serde_json::from_value(raw.clone())
        .map_err(|e| vec![issue("", format!("answers are malformed: {e}"))])?;
    let mut out = Vec::new();
    for key in answers.answers.keys().chain(answers.rationales.keys()) {
        if !rubric.questions.iter().any(|q| &q.id == key) {
            out.push(issue(key, "no such question in this rubric"));
        }
    }
    for q in &rubric.questions {
        let shown = visible(q, &answers);
        match answers.answers.get(&q.id) {
            Some(a) => {
                check_answer(q, a, &mut out);
                if let Some(min) = rationale_required(q, a) {
                    let n = answers
                        .rationales
                        .get(&q.id)
                        .map_or(0, |r| r.trim().chars().count());
                    if (n as u64) < u64::from(min.max(1)) {
                        out.push(issue(
                            &q.id,
                            format!(
                                "a rationale of at least {} characters is required",
                                min.max(1)
                            ),
                        ));
                    }
                }
            }
            None if q.required && shown => out.push(issue(&q.id, "an answer is required")),
            None => {}
        }
    }
    if out.is_empty() {
        Ok(answers)
    } else {
        Err(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    #[test]
    fn demo_sample_answers_satisfy_their_rubrics() {
        let rubrics = demo::demo_rubrics().unwrap();
        let opps = [
            demo::OPP_CODING,
            demo::OPP_REVIEW,
            demo::OPP_LEGAL,
            demo::OPP_SCANS,
            demo::OPP_PAIRWISE,
        ];
        for (opp, rubric) in opps.iter().zip(&rubrics) {
            for v in 0..3 {
                let answers = demo::sample_answers(opp, v);
                if let Err(issues) = validate_answers(rubric, &answers) {
                    panic!("{opp} variant {v}: {issues:?}");
                }
            }
        }
    }

    #[test]
    fn problems_are_reported_per_question() {
        let rubric = &demo::demo_rubrics().unwrap()[0];
        let raw = serde_json::json!({"answers": {
            "verdict": {"type": "single_choice", "choice": "reject"},
            "quality": {"type": "free_text", "text": "x"},
            "nope": {"type": "scale", "value": 1}
        }});
        let issues = validate_answers(rubric, &raw).unwrap_err();
        let about = |q: &str| issues.iter().any(|i| i.question == q);
        assert!(about("nope"), "unknown question");
        assert!(about("quality"), "type mismatch");
        assert!(about("criteria"), "required question missing");
        assert!(about("verdict"), "rationale required for reject");
        assert!(about("failure_modes"), "shown by show_if and required");
        assert!(validate_answers(rubric, &serde_json::json!([1, 2])).is_err());
    }
}
