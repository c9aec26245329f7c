//! Submitted work as the reviewer (and a senior reviewer) sees it: the
//! answers in the rubric's own words, what became of a submission, and the
//! pay it earned or lost.

use assay_protocol::{LedgerEntry, LedgerStatus, OutcomeStatus};
use assay_rubric::{Annotation, Answer, Answers, QuestionKind, Rubric, ScopedItem};
use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;

/// One answered question of a submission, in the rubric's words: labels
/// instead of option ids, the rationale, and any inline comments (shown
/// where they were made).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AnswerSummary {
    /// The question's id in the rubric.
    pub question_id: String,
    /// The question's prompt.
    pub prompt: String,
    /// The answer as text, e.g. "4 / 5 — Good", "Compiles: pass, Tests: fail".
    /// Empty when the question was not answered.
    pub answer: String,
    /// The reviewer's rationale, when the question asks for one and they wrote it.
    pub rationale: Option<String>,
    /// Inline comments of an annotations answer (diff lines, clauses, scan regions).
    pub comments: Vec<Annotation>,
}

/// One ledger entry of an assignment: what a submission earned (pending,
/// accepted, paid) or lost (reversed).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PayLine {
    /// The submission the entry is for.
    pub submission_id: String,
    /// Amount in minor units (negative for a reversal).
    #[ts(type = "number")]
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// Pending, accepted, paid or reversed.
    pub status: LedgerStatus,
}

/// The reviewer's own latest submission of an assignment and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SubmissionView {
    /// The platform's id; `None` while it waits in the outbox.
    pub submission_id: Option<String>,
    /// When the reviewer submitted; `None` when this machine does not know.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The platform's decision; `None` until uploaded.
    pub outcome: Option<OutcomeStatus>,
    /// Feedback from the senior reviewer, if any.
    pub feedback: Option<String>,
    /// When the platform decided; `None` until it has.
    pub decided_at: Option<DateTime<Utc>>,
    /// The answers as submitted; `None` when this machine has no copy
    /// (submitted from another device).
    pub answers: Option<Answers>,
    /// The same answers in the rubric's words.
    pub summary: Vec<AnswerSummary>,
    /// Active seconds submitted with the work; `None` when unknown here.
    #[ts(type = "number | null")]
    pub active_seconds: Option<u64>,
    /// Ledger entries of the assignment, newest first.
    pub pay: Vec<PayLine>,
}

impl PayLine {
    /// The pay lines of ledger entries, in the entries' order.
    pub fn from_entries(entries: Vec<LedgerEntry>) -> Vec<Self> {
        entries
            .into_iter()
            .map(|e| Self {
                submission_id: e.submission_id,
                amount_cents: e.amount_cents,
                currency: e.currency,
                status: e.status,
            })
            .collect()
    }
}

fn field_label(item: &ScopedItem, id: &str) -> String {
    item.fields
        .iter()
        .find(|f| f.id == id)
        .map_or_else(|| id.to_string(), |f| f.label.clone())
}

fn option_label(options: &[assay_rubric::ChoiceOption], id: &str) -> String {
    options
        .iter()
        .find(|o| o.id == id)
        .map_or_else(|| id.to_string(), |o| o.label.clone())
}

/// An answer in the rubric's words (labels, not ids). An answer whose type
/// does not match its question (a rubric changed under it) is shown as
/// its raw value rather than dropped.
pub fn describe_answer(kind: &QuestionKind, answer: &Answer, item: &ScopedItem) -> String {
    match (kind, answer) {
        (QuestionKind::Scale { max, anchors, .. }, Answer::Scale { value }) => {
            match anchors.iter().find(|a| a.value == *value) {
                Some(a) => format!("{value} / {max} — {}", a.label),
                None => format!("{value} / {max}"),
            }
        }
        (QuestionKind::SingleChoice { options }, Answer::SingleChoice { choice }) => {
            option_label(options, choice)
        }
        (QuestionKind::MultiChoice { options, .. }, Answer::MultiChoice { choices }) => choices
            .iter()
            .map(|c| option_label(options, c))
            .collect::<Vec<_>>()
            .join(", "),
        (QuestionKind::PassFail { criteria }, Answer::PassFail { results }) => criteria
            .iter()
            .filter_map(|c| {
                results
                    .get(&c.id)
                    .map(|ok| format!("{}: {}", c.label, if *ok { "pass" } else { "fail" }))
            })
            .collect::<Vec<_>>()
            .join(", "),
        (QuestionKind::Ranking { .. }, Answer::Ranking { order }) => order
            .iter()
            .map(|f| field_label(item, f))
            .collect::<Vec<_>>()
            .join(" > "),
        (
            QuestionKind::Pairwise { a, b, .. },
            Answer::Pairwise {
                preference,
                strength,
            },
        ) => preference.in_words(a, b, strength.as_deref(), |f| {
            format!("{} is better", field_label(item, f))
        }),
        (QuestionKind::FreeText { .. }, Answer::FreeText { text }) => text.clone(),
        (QuestionKind::Annotations { .. }, Answer::Annotations { items }) => match items.len() {
            1 => "1 comment".to_string(),
            n => format!("{n} comments"),
        },
        (_, other) => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Every answered question (or one with a rationale) of `answers`, in the
/// rubric's order and words.
pub fn summarize(rubric: &Rubric, answers: &Answers, item: &ScopedItem) -> Vec<AnswerSummary> {
    rubric
        .questions
        .iter()
        .filter_map(|q| {
            let a = answers.answers.get(&q.id);
            let rationale = answers
                .rationales
                .get(&q.id)
                .filter(|r| !r.trim().is_empty())
                .cloned();
            if a.is_none() && rationale.is_none() {
                return None;
            }
            Some(AnswerSummary {
                question_id: q.id.clone(),
                prompt: q.prompt.clone(),
                answer: a
                    .map(|a| describe_answer(&q.kind, a, item))
                    .unwrap_or_default(),
                rationale,
                comments: match a {
                    Some(Answer::Annotations { items }) => items.clone(),
                    _ => Vec::new(),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_rubric::ChoiceOption;
    use std::collections::BTreeMap;

    fn item() -> ScopedItem {
        ScopedItem {
            item_id: "i".into(),
            opportunity_id: "o".into(),
            title: "t".into(),
            rubric_id: "r".into(),
            rubric_version: 1,
            fields: vec![],
            missing_fields: vec![],
        }
    }

    #[test]
    fn answers_read_in_the_rubrics_words_not_ids() {
        let criteria = QuestionKind::PassFail {
            criteria: vec![
                ChoiceOption {
                    id: "compiles".into(),
                    label: "Code compiles".into(),
                },
                ChoiceOption {
                    id: "edge_case".into(),
                    label: "Handles the edge case".into(),
                },
            ],
        };
        let results = BTreeMap::from([("compiles".into(), true), ("edge_case".into(), false)]);
        assert_eq!(
            describe_answer(&criteria, &Answer::PassFail { results }, &item()),
            "Code compiles: pass, Handles the edge case: fail"
        );
        let choice = QuestionKind::SingleChoice {
            options: vec![ChoiceOption {
                id: "request_changes".into(),
                label: "Request changes".into(),
            }],
        };
        assert_eq!(
            describe_answer(
                &choice,
                &Answer::SingleChoice {
                    choice: "request_changes".into()
                },
                &item()
            ),
            "Request changes"
        );
        // A mismatched answer is shown raw, never dropped.
        assert!(describe_answer(&choice, &Answer::Scale { value: 3 }, &item()).contains('3'));
    }
}
