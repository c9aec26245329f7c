//! Computing a grade's score per the rubric's `scoring` section.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{Answer, Answers, Question, QuestionKind, Rubric, ScoringMethod};
use crate::validate::{answer_tokens, effective_answers, question_index};

/// One question's contribution to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QuestionScore {
    /// Id of the question.
    pub question_id: String,
    /// Normalised 0..1.
    pub score: f64,
    /// The question's weight.
    pub weight: f64,
}

/// The score of a grade under the rubric's scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScoreSummary {
    /// The method that produced it.
    pub method: ScoringMethod,
    /// 0..1; `None` when nothing scorable is answered yet.
    pub score: Option<f64>,
    /// `score >= pass_threshold` when both exist; for a pass/fail verdict
    /// question, whether every criterion passed.
    pub passed: Option<bool>,
    /// The verdict question's answer: option id, scale value, `pass`/`fail`
    /// or `a`/`b`/`tie`.
    pub verdict: Option<String>,
    /// Human label of the verdict (option label, "4 of 1–5", ...).
    pub verdict_label: Option<String>,
    /// Contributions of the scored questions (weighted mean only).
    pub breakdown: Vec<QuestionScore>,
    /// Every shown, scorable question has a usable answer.
    pub complete: bool,
}

/// Normalised 0..1 score of one answer, when the question kind is scorable
/// (scale, pass/fail) and the answer is valid for it.
fn answer_score(q: &Question, answer: &Answer) -> Option<f64> {
    match (&q.kind, answer) {
        (QuestionKind::Scale { min, max, .. }, Answer::Scale { value }) => {
            if max <= min || value < min || value > max {
                return None;
            }
            let span = f64::from(*max) - f64::from(*min);
            Some((f64::from(*value) - f64::from(*min)) / span)
        }
        (QuestionKind::PassFail { criteria }, Answer::PassFail { results }) => {
            if criteria.is_empty() || criteria.iter().any(|c| !results.contains_key(&c.id)) {
                return None;
            }
            let passed = criteria
                .iter()
                .filter(|c| results.get(&c.id).copied().unwrap_or(false))
                .count();
            Some(passed as f64 / criteria.len() as f64)
        }
        _ => None,
    }
}

fn scorable(q: &Question) -> bool {
    matches!(
        q.kind,
        QuestionKind::Scale { .. } | QuestionKind::PassFail { .. }
    ) && q.weight.is_finite()
        && q.weight > 0.0
}

fn verdict_label(q: &Question, answer: &Answer) -> Option<String> {
    match (&q.kind, answer) {
        (QuestionKind::Scale { min, max, anchors }, Answer::Scale { value }) => {
            let anchor = anchors.iter().find(|a| a.value == *value);
            Some(match anchor {
                Some(a) => format!("{value} ({}) of {min}\u{2013}{max}", a.label),
                None => format!("{value} of {min}\u{2013}{max}"),
            })
        }
        (QuestionKind::SingleChoice { options }, Answer::SingleChoice { choice }) => options
            .iter()
            .find(|o| &o.id == choice)
            .map(|o| o.label.clone()),
        (QuestionKind::PassFail { .. }, Answer::PassFail { .. }) => {
            answer_score(q, answer).map(|s| if s >= 1.0 { "Pass" } else { "Fail" }.to_owned())
        }
        (
            QuestionKind::Pairwise { a, b, .. },
            Answer::Pairwise {
                preference,
                strength,
            },
        ) => Some(preference.in_words(a, b, strength.as_deref(), |f| format!("Prefer {f}"))),
        _ => None,
    }
}

/// Score a (possibly partial) grade. `None` when the rubric has no `scoring`.
/// Only answers to shown questions count (see [`crate::validate::effective_answers`]).
pub fn score(answers: &Answers, rubric: &Rubric) -> Option<ScoreSummary> {
    let scoring = rubric.scoring.as_ref()?;
    let answers = effective_answers(rubric, answers);
    let index = question_index(rubric);
    let visible: Vec<&Question> = {
        let vis = crate::validate::visibility(rubric, &answers);
        let mut seen = std::collections::BTreeSet::new();
        rubric
            .questions
            .iter()
            .filter(|q| vis.get(&q.id).copied().unwrap_or(false) && seen.insert(q.id.as_str()))
            .collect()
    };

    let verdict_q = scoring
        .verdict_question
        .as_deref()
        .and_then(|id| index.get(id).copied());
    let verdict_answer = verdict_q.and_then(|q| answers.answers.get(&q.id).map(|a| (q, a)));
    let verdict = verdict_answer.and_then(|(q, a)| {
        let tokens = answer_tokens(a);
        let ok = match (&q.kind, a) {
            (QuestionKind::SingleChoice { options }, Answer::SingleChoice { choice }) => {
                options.iter().any(|o| &o.id == choice)
            }
            (QuestionKind::Scale { .. } | QuestionKind::PassFail { .. }, _) => {
                answer_score(q, a).is_some()
            }
            (QuestionKind::Pairwise { .. }, Answer::Pairwise { .. }) => true,
            _ => false,
        };
        if ok {
            tokens.into_iter().next()
        } else {
            None
        }
    });
    let verdict_label = verdict_answer
        .filter(|_| verdict.is_some())
        .and_then(|(q, a)| verdict_label(q, a));

    let mut breakdown = Vec::new();
    let (value, complete) = match scoring.method {
        ScoringMethod::WeightedMean => {
            let mut complete = true;
            for q in visible.iter().filter(|q| scorable(q)) {
                match answers.answers.get(&q.id).and_then(|a| answer_score(q, a)) {
                    Some(s) => breakdown.push(QuestionScore {
                        question_id: q.id.clone(),
                        score: s,
                        weight: q.weight,
                    }),
                    None => complete = false,
                }
            }
            let total: f64 = breakdown.iter().map(|b| b.weight).sum();
            let value = (total > 0.0 && total.is_finite()).then(|| {
                let v = breakdown.iter().map(|b| b.score * b.weight).sum::<f64>() / total;
                v.clamp(0.0, 1.0)
            });
            (value, complete)
        }
        ScoringMethod::VerdictOnly => {
            let value = verdict_answer.and_then(|(q, a)| answer_score(q, a));
            (value, verdict.is_some())
        }
    };
    let passed = match (value, scoring.pass_threshold) {
        (Some(v), Some(t)) if t.is_finite() => Some(v >= t),
        _ => verdict_answer.and_then(|(q, a)| match q.kind {
            QuestionKind::PassFail { .. } => answer_score(q, a).map(|s| s >= 1.0),
            _ => None,
        }),
    };
    Some(ScoreSummary {
        method: scoring.method,
        score: value,
        passed,
        verdict,
        verdict_label,
        breakdown,
        complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Preference;
    use crate::parse::{parse_rubric, Format};

    #[test]
    fn a_pairwise_answer_reads_as_the_preferred_field_with_its_strength() {
        let prefer = |f: &str| format!("Prefer {f}");
        let words = |p: Preference, s| p.in_words("left", "right", s, prefer);
        assert_eq!(words(Preference::A, None), "Prefer left");
        assert_eq!(
            words(Preference::B, Some("clearly")),
            "Prefer right (clearly)"
        );
        // A tie has no side to be strong about.
        assert_eq!(words(Preference::Tie, Some("clearly")), "Tie");
        assert_eq!(words(Preference::Tie, None), "Tie");
    }

    fn rubric(method: &str) -> Rubric {
        parse_rubric(
            &format!(
                r"
id: r
version: 1
title: T
guidelines: g
fields:
  - {{id: a, label: A, viewer: text}}
questions:
  - id: correctness
    prompt: Correct?
    type: scale
    min: 1
    max: 5
    weight: 3
    anchors: [{{value: 1, label: Broken}}, {{value: 5, label: Perfect}}]
  - id: checks
    prompt: Checks
    type: pass_fail
    criteria: [{{id: t, label: Tests}}, {{id: d, label: Docs}}]
  - id: verdict
    prompt: Ship it?
    type: single_choice
    options: [{{id: yes, label: Ship}}, {{id: no, label: Do not ship}}]
  - id: extra
    prompt: Extra
    type: scale
    min: 0
    max: 10
    show_if: {{question: verdict, any_of: [no]}}
scoring:
  method: {method}
  verdict_question: verdict
  pass_threshold: 0.6
"
            ),
            Format::Yaml,
        )
        .unwrap()
    }

    fn answers(json: serde_json::Value) -> Answers {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn weighted_mean_normalises_and_weights() {
        let a = answers(serde_json::json!({"answers": {
            "correctness": {"type": "scale", "value": 4},
            "checks": {"type": "pass_fail", "results": {"t": true, "d": false}},
            "verdict": {"type": "single_choice", "choice": "yes"},
            "extra": {"type": "scale", "value": 0}
        }}));
        let s = score(&a, &rubric("weighted_mean")).unwrap();
        // (0.75 * 3 + 0.5 * 1) / 4 = 0.6875; `extra` is hidden and ignored.
        assert!((s.score.unwrap() - 0.6875).abs() < 1e-12, "{s:?}");
        assert_eq!(s.passed, Some(true));
        assert_eq!(s.verdict.as_deref(), Some("yes"));
        assert_eq!(s.verdict_label.as_deref(), Some("Ship"));
        assert!(s.complete);
        assert_eq!(s.breakdown.len(), 2);
    }

    #[test]
    fn partial_answers_are_incomplete() {
        let a = answers(serde_json::json!({"answers": {
            "correctness": {"type": "scale", "value": 1},
            "verdict": {"type": "single_choice", "choice": "no"}
        }}));
        let s = score(&a, &rubric("weighted_mean")).unwrap();
        assert_eq!(s.score, Some(0.0));
        assert_eq!(s.passed, Some(false));
        assert!(!s.complete, "checks and the now-shown extra are unanswered");
        let s = score(&Answers::default(), &rubric("weighted_mean")).unwrap();
        assert_eq!(s.score, None);
        assert_eq!(s.passed, None);
    }

    #[test]
    fn verdict_only_uses_the_verdict_question() {
        let mut r = rubric("verdict_only");
        let a = answers(serde_json::json!({"answers": {
            "verdict": {"type": "single_choice", "choice": "no"}
        }}));
        let s = score(&a, &r).unwrap();
        assert_eq!(s.verdict.as_deref(), Some("no"));
        assert_eq!(s.score, None);
        assert!(s.complete);
        r.scoring.as_mut().unwrap().verdict_question = Some("correctness".into());
        let a = answers(serde_json::json!({"answers": {
            "correctness": {"type": "scale", "value": 5}
        }}));
        let s = score(&a, &r).unwrap();
        assert_eq!(s.score, Some(1.0));
        assert_eq!(
            s.verdict_label.as_deref(),
            Some("5 (Perfect) of 1\u{2013}5")
        );
        // Out of range is not a verdict.
        let a = answers(serde_json::json!({"answers": {
            "correctness": {"type": "scale", "value": 50}
        }}));
        let s = score(&a, &r).unwrap();
        assert_eq!((s.score, s.verdict), (None, None));
    }

    #[test]
    fn no_scoring_section_means_no_score() {
        let mut r = rubric("weighted_mean");
        r.scoring = None;
        assert!(score(&Answers::default(), &r).is_none());
    }
}
