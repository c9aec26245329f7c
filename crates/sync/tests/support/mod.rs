//! Test support shared by the sync integration tests (`mod support;` in each
//! test crate; not part of the library or its binaries).

use assay_rubric::{
    Annotation, AnnotationAnchor, Answer, Answers, Preference, QuestionKind, Rubric,
};

/// The body of `resp` as JSON (null when it is not JSON), once the request
/// succeeded; `what` names the request when it did not.
pub async fn success_json(resp: reqwest::Response, what: &str) -> serde_json::Value {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// Answers that satisfy every question and rationale rule of `rubric`.
pub fn valid_answers(rubric: &Rubric) -> Answers {
    let mut a = Answers::default();
    for q in &rubric.questions {
        let answer = match &q.kind {
            QuestionKind::Scale { max, .. } => Answer::Scale { value: *max },
            QuestionKind::SingleChoice { options } => Answer::SingleChoice {
                choice: options[0].id.clone(),
            },
            QuestionKind::MultiChoice {
                options,
                min_selected,
                ..
            } => Answer::MultiChoice {
                choices: options
                    .iter()
                    .take(min_selected.unwrap_or(1).max(1) as usize)
                    .map(|o| o.id.clone())
                    .collect(),
            },
            QuestionKind::PassFail { criteria } => Answer::PassFail {
                results: criteria.iter().map(|c| (c.id.clone(), true)).collect(),
            },
            QuestionKind::Ranking { fields } => Answer::Ranking {
                order: fields.clone(),
            },
            QuestionKind::Pairwise { strengths, .. } => Answer::Pairwise {
                preference: Preference::A,
                strength: strengths.first().cloned(),
            },
            QuestionKind::FreeText {
                min_length,
                max_length,
                ..
            } => {
                let n = min_length
                    .unwrap_or(20)
                    .max(20)
                    .min(max_length.unwrap_or(u32::MAX));
                Answer::FreeText {
                    text: "y".repeat(n as usize),
                }
            }
            QuestionKind::Annotations {
                fields,
                severities,
                min_count,
            } => Answer::Annotations {
                items: (0..min_count.unwrap_or(0))
                    .map(|i| Annotation {
                        id: format!("n{i}"),
                        field: fields[0].clone(),
                        anchor: AnnotationAnchor::TextSpan { start: 0, end: 1 },
                        severity: severities.first().cloned(),
                        comment: "needs a closer look".into(),
                    })
                    .collect(),
            },
        };
        a.answers.insert(q.id.clone(), answer);
        a.rationales.insert(q.id.clone(), "because ".repeat(60));
    }
    a
}
