//! The five demo opportunities, their rubrics (as `assay_rubric::Rubric`)
//! and rate history.

use assay_protocol::{Opportunity, PayBasis, Rate};
use assay_rubric::Rubric;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{OPP_CODING, OPP_LEGAL, OPP_PAIRWISE, OPP_REVIEW, OPP_SCANS};
use crate::error::Error;

/// The rubric documents, one JSON file each, in the order of the
/// opportunities.
const DOCUMENTS: [&str; 5] = [
    include_str!("assets/rubrics/coding-task-validation.json"),
    include_str!("assets/rubrics/code-review.json"),
    include_str!("assets/rubrics/legal-redline.json"),
    include_str!("assets/rubrics/scan-triage.json"),
    include_str!("assets/rubrics/pairwise-preference.json"),
];

/// All demo rubrics.
pub fn all() -> Result<Vec<Rubric>, Error> {
    DOCUMENTS
        .into_iter()
        .map(|doc| serde_json::from_str::<Rubric>(doc).map_err(Error::from))
        .collect()
}

fn rate(opp: &str, basis: PayBasis, cents: i64, from: DateTime<Utc>) -> Rate {
    Rate {
        opportunity_id: opp.to_owned(),
        basis,
        amount_cents: cents,
        currency: "USD".into(),
        effective_from: from,
    }
}

/// Opportunities with their rubric and rate history.
pub fn opportunities(now: DateTime<Utc>) -> Result<Vec<(Opportunity, Rubric, Vec<Rate>)>, Error> {
    let rubrics = all()?;
    let long_ago = now - Duration::days(180);
    let recently = now - Duration::days(40);
    let meta = [
        (OPP_CODING, "Coding task validation", "Judge whether candidate patches in Python, TypeScript, Go and Rust actually solve their tasks.", "commercial-training", "Northwind AI",
         vec![rate(OPP_CODING, PayBasis::PerItem, 1500, long_ago), rate(OPP_CODING, PayBasis::PerItem, 1800, recently)]),
        (OPP_REVIEW, "Pull request review", "Review real-world-style pull requests, from one-line fixes to large refactors.", "commercial-training", "Northwind AI",
         vec![rate(OPP_REVIEW, PayBasis::PerHour, 9000, long_ago)]),
        (OPP_LEGAL, "Services agreement redlines", "Review a counterparty's revision of a master services agreement on behalf of the customer.", "research-only", "Lexicon Research Ltd",
         vec![rate(OPP_LEGAL, PayBasis::PerHour, 14000, long_ago), rate(OPP_LEGAL, PayBasis::PerHour, 15000, recently)]),
        (OPP_SCANS, "Synthetic scan triage", "Triage synthetic CT/MR phantoms and radiographs; mark findings and urgency.", "evaluation-only", "Meridian Health Labs",
         vec![rate(OPP_SCANS, PayBasis::PerItem, 2500, long_ago)]),
        (OPP_PAIRWISE, "Assistant answer preference", "Compare two assistant answers to the same conversation.", "commercial-training", "Northwind AI",
         vec![rate(OPP_PAIRWISE, PayBasis::PerItem, 450, long_ago)]),
    ];
    meta.into_iter()
        .zip(rubrics)
        .map(
            |((id, title, description, licence, buyer, rates), rubric)| {
                Ok((
                    Opportunity {
                        id: id.into(),
                        title: title.into(),
                        description: description.into(),
                        rubric_id: rubric.id.clone(),
                        rubric_version: rubric.version,
                        licence_category: licence.into(),
                        buyer: buyer.into(),
                    },
                    rubric,
                    rates,
                ))
            },
        )
        .collect()
}

/// Plausible, rubric-valid answers for an opportunity; `variant` varies them.
pub fn sample_answers(opportunity_id: &str, variant: usize) -> serde_json::Value {
    let v = variant % 3;
    match opportunity_id {
        OPP_CODING => {
            let (verdict, ok) = [("accept", true), ("needs_work", false), ("reject", false)][v];
            let mut answers = json!({
                "criteria": {"type": "pass_fail", "results": {"compiles": true, "passes_tests": true, "edge_cases": ok, "no_regressions": true}},
                "quality": {"type": "scale", "value": if ok { 4 } else { 3 }},
                "verdict": {"type": "single_choice", "choice": verdict},
                "line_comments": {"type": "annotations", "items": [
                    {"id": "c1", "field": "candidate_patch", "anchor": {"kind": "diff_line", "file": "src/solution", "side": "new", "line": 12},
                     "severity": if ok { "nit" } else { "major" }, "comment": "The empty-input case falls through to the loop; return early instead."}]}
            });
            let mut rationales = json!({});
            if !ok {
                answers["failure_modes"] =
                    json!({"type": "multi_choice", "choices": ["edge_case"]});
                rationales["criteria"] =
                    json!("Empty input is not handled: the task names it explicitly.");
                rationales["verdict"] = json!("Correct on the happy path, but the empty-input edge case from the statement fails.");
            }
            json!({"answers": answers, "rationales": rationales})
        }
        OPP_REVIEW => {
            let decision = ["approve", "request_changes", "comment"][v];
            let mut rationales = json!({});
            if decision == "request_changes" {
                rationales["decision"] =
                    json!("The retry loop can spin forever when the context is cancelled.");
            }
            rationales["correctness"] =
                json!("Behavioural change in the retry path is not covered by tests.");
            json!({"answers": {
                "comments": {"type": "annotations", "items": [
                    {"id": "r1", "field": "diff", "anchor": {"kind": "diff_line", "file": "internal/fetch/client.go", "side": "new", "line": 48},
                     "severity": "major", "comment": "Check ctx.Err() before sleeping; otherwise cancellation waits for the full backoff."}]},
                "correctness": {"type": "scale", "value": 3},
                "risk": {"type": "single_choice", "choice": "medium"},
                "decision": {"type": "single_choice", "choice": decision},
                "summary": {"type": "free_text", "text": "Solid direction. The backoff needs to respect cancellation and the new config flag needs a default in the sample config."}
            }, "rationales": rationales})
        }
        OPP_LEGAL => json!({"answers": {
            "clause_comments": {"type": "annotations", "items": [
                {"id": "l1", "field": "agreement_v2", "anchor": {"kind": "clause", "number": "9.2"}, "severity": "reject",
                 "comment": "The cap drops from 12 months' fees to 3 months'; propose restoring 12 months and carving out data breaches."}]},
            "risk": {"type": "scale", "value": 4 - v as i64},
            "issues": {"type": "multi_choice", "choices": ["liability_cap", "termination"]},
            "recommendation": {"type": "single_choice", "choice": "negotiate"}
        }, "rationales": {"risk": "The reduced liability cap combined with the supplier's new termination for convenience right leaves the customer exposed."}}),
        OPP_SCANS => {
            let present = v != 1;
            let mut answers = json!({
                "finding": {"type": "single_choice", "choice": if present { "present" } else { "absent" }},
                "quality": {"type": "scale", "value": 3 + (v as i64 % 2)},
                "urgency": {"type": "single_choice", "choice": if present { "soon" } else { "routine" }},
                "impression": {"type": "free_text", "text": if present { "Well-circumscribed hyperdense focus, right parietal, about 9 mm. Recommend follow-up." } else { "No focal abnormality. Normal study for a phantom." }}
            });
            if present {
                answers["regions"] = json!({"type": "annotations", "items": [
                    {"id": "s1", "field": "scan", "anchor": {"kind": "scan_region", "frame": 0, "x": 0.58, "y": 0.36, "width": 0.08, "height": 0.08},
                     "severity": "significant", "comment": "Focal hyperdensity"}]});
            }
            json!({"answers": answers, "rationales": {}})
        }
        OPP_PAIRWISE => {
            let pref = ["a", "b", "a"][v];
            let strength = ["clearly", "slightly", "much"][v];
            json!({"answers": {
                "preference": {"type": "pairwise", "preference": pref, "strength": strength},
                "correctness": {"type": "pass_fail", "results": {"a_correct": true, "b_correct": v == 1}},
                "harm": {"type": "single_choice", "choice": "neither"}
            }, "rationales": {"preference": "The preferred answer is correct and shows the edge case; the other one gets the complexity wrong."}})
        }
        _ => json!({"answers": {}, "rationales": {}}),
    }
}
