//! Server-side check of submitted answers against the assignment's rubric.
//!
//! The platform never trusts the client, and it must agree with it exactly:
//! answers must parse as [`assay_rubric::Answers`] and pass
//! [`assay_rubric::validate()`], the same function the desktop app runs live.

use assay_rubric::{Answers, IssueSeverity, Rubric, ValidationIssue};

/// Validate raw answers (the `answers` of a submission) against a rubric.
/// On failure, the blocking issues (reported in `ApiError.details`).
pub fn validate_answers(
    rubric: &Rubric,
    raw: &serde_json::Value,
) -> Result<Answers, Vec<ValidationIssue>> {
    let answers: Answers = serde_json::from_value(raw.clone()).map_err(|e| {
        vec![ValidationIssue {
            question_id: String::new(),
            severity: IssueSeverity::Error,
            code: "malformed_answers".into(),
            message: format!("answers are malformed: {e}"),
        }]
    })?;
    let report = assay_rubric::validate(&answers, rubric);
    if report.ok {
        Ok(answers)
    } else {
        Err(report.errors().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    #[test]
    fn demo_rubrics_lint_clean() {
        for rubric in demo::demo_rubrics().unwrap() {
            let errors: Vec<_> = assay_rubric::lint(&rubric, None, &[])
                .into_iter()
                .filter(|f| f.severity == assay_rubric::LintSeverity::Error)
                .map(|f| f.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", rubric.id);
        }
    }

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
        let about = |q: &str| issues.iter().any(|i| i.question_id == q);
        assert!(about("nope"), "unknown question: {issues:?}");
        assert!(about("quality"), "type mismatch: {issues:?}");
        assert!(about("criteria"), "required question missing: {issues:?}");
        assert!(
            about("verdict"),
            "rationale required for reject: {issues:?}"
        );
        let malformed = validate_answers(rubric, &serde_json::json!([1, 2])).unwrap_err();
        assert_eq!(malformed[0].code, "malformed_answers");
    }
}
