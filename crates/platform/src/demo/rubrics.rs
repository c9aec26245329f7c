//! The five demo opportunities, their rubrics (as `assay_rubric::Rubric`)
//! and rate history.

use assay_protocol::{Opportunity, PayBasis, Rate};
use assay_rubric::Rubric;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{OPP_CODING, OPP_LEGAL, OPP_PAIRWISE, OPP_REVIEW, OPP_SCANS};
use crate::error::Error;

fn coding() -> serde_json::Value {
    json!({
        "id": "coding-task-validation", "version": 3,
        "title": "Validate a candidate patch against its task",
        "audience": "Software engineers with 3+ years in the item's language",
        "taxonomy": ["coding", "validation", "patch-review"],
        "deliverable": "A verdict on whether the candidate patch solves the task, with per-criterion results and line comments",
        "estimated_minutes": 25,
        "exclusions": [
            "Do not run the candidate code on your own machine outside the provided sandbox",
            "Skip items whose task statement is ambiguous: flag them with the verdict “Task is unclear”",
            "Do not use AI assistants to judge the patch"
        ],
        "payout": {"basis": "per_item", "amount_cents": 1800, "currency": "USD"},
        "guidelines": "## What you are judging\n\nEach item has a **task statement**, a **reference solution** written by the task author, a **test suite** and a **candidate patch** (a unified diff against the starting code). Decide whether the candidate patch would be accepted by a careful maintainer.\n\n## How to work\n\n1. Read the task statement twice. Note the edge cases it names.\n2. Read the test suite: do the tests cover those edge cases? A patch that passes weak tests can still be wrong.\n3. Read the candidate patch line by line. Compare behaviour (not style) with the reference solution.\n4. Fill in every criterion. A criterion that you cannot judge is a **fail** with a rationale.\n\n## Verdicts\n\n- **Accept**: correct, complete, idiomatic enough to merge.\n- **Needs work**: right idea, but a concrete defect must be fixed.\n- **Reject**: wrong approach, does not compile, or breaks existing behaviour.\n- **Task is unclear**: the statement itself is ambiguous.\n\nAnchor comments to diff lines. Use `blocker` only for defects that make the patch wrong.",
        "fields": [
            {"id": "task_statement", "label": "Task", "viewer": "markdown"},
            {"id": "reference_solution", "label": "Reference solution", "viewer": "code",
             "help": "Written by the task author; not necessarily the only correct approach."},
            {"id": "test_suite", "label": "Tests", "viewer": "test_suite", "results": "test_run"},
            {"id": "test_run", "label": "Test run (JUnit XML)", "viewer": "text"},
            {"id": "candidate_patch", "label": "Candidate patch", "viewer": "diff", "diff_mode": "unified"}
        ],
        "questions": [
            {"id": "criteria", "prompt": "Does the candidate patch meet each criterion?", "type": "pass_fail",
             "criteria": [
                {"id": "compiles", "label": "Compiles / parses without errors"},
                {"id": "passes_tests", "label": "Passes the provided tests"},
                {"id": "edge_cases", "label": "Handles the edge cases named in the task"},
                {"id": "no_regressions", "label": "Does not break existing behaviour"}
             ],
             "rationale": {"when": "choice", "choices": ["fail"], "min_length": 20},
             "refers_to": ["candidate_patch", "test_suite"]},
            {"id": "quality", "prompt": "Code quality of the patch", "type": "scale", "min": 1, "max": 5,
             "anchors": [
                {"value": 1, "label": "Unmaintainable"}, {"value": 3, "label": "Acceptable"},
                {"value": 5, "label": "Exemplary"}],
             "rationale": {"when": "below", "threshold": 3, "min_length": 20},
             "examples": ["2: correct but duplicates the parsing logic in three places"]},
            {"id": "verdict", "prompt": "Verdict", "type": "single_choice",
             "options": [
                {"id": "accept", "label": "Accept"}, {"id": "needs_work", "label": "Needs work"},
                {"id": "reject", "label": "Reject"}, {"id": "unclear_task", "label": "Task is unclear"}],
             "rationale": {"when": "choice", "choices": ["reject", "needs_work", "unclear_task"], "min_length": 30}},
            {"id": "failure_modes", "prompt": "What is wrong?", "type": "multi_choice",
             "options": [
                {"id": "logic", "label": "Logic error"}, {"id": "edge_case", "label": "Missed edge case"},
                {"id": "performance", "label": "Performance"}, {"id": "api", "label": "Breaks the API"},
                {"id": "tests", "label": "Tests weakened or deleted"}, {"id": "style", "label": "Style only"}],
             "min_selected": 1,
             "show_if": {"question": "verdict", "any_of": ["needs_work", "reject"]}},
            {"id": "line_comments", "prompt": "Comments on the patch", "type": "annotations",
             "fields": ["candidate_patch"], "severities": ["nit", "minor", "major", "blocker"], "required": false},
            {"id": "notes", "prompt": "Anything else the task author should know", "type": "free_text",
             "max_length": 2000, "required": false, "placeholder": "Optional"}
        ],
        "scoring": {"method": "verdict_only", "verdict_question": "verdict"}
    })
}

fn code_review() -> serde_json::Value {
    json!({
        "id": "code-review", "version": 2,
        "title": "Review a pull request",
        "audience": "Senior engineers; reviewers must know the language of the diff",
        "taxonomy": ["coding", "review", "pull-request"],
        "deliverable": "Line-anchored review comments and an approve / request-changes decision",
        "estimated_minutes": 40,
        "exclusions": ["Do not comment on formatting that a formatter would fix", "Do not review generated files (lockfiles, snapshots)"],
        "payout": {"basis": "per_hour", "amount_cents": 9000, "currency": "USD"},
        "guidelines": "## Reviewing\n\nReview the pull request as the owning team would. Anchor every comment to the line it is about, say **what** is wrong and **why**, and suggest a fix where you can.\n\n- `blocker`: must be fixed before merge (bugs, data loss, security).\n- `major`: should be fixed in this PR.\n- `minor` / `nit`: take it or leave it.\n\nLarge mechanical refactors: sample the mechanical part, but read every hunk that changes behaviour.",
        "fields": [
            {"id": "pr_description", "label": "Pull request", "viewer": "markdown"},
            {"id": "diff", "label": "Changes", "viewer": "diff", "diff_mode": "split"},
            {"id": "ci_log", "label": "CI output", "viewer": "text"}
        ],
        "questions": [
            {"id": "comments", "prompt": "Review comments", "type": "annotations", "fields": ["diff"],
             "severities": ["nit", "minor", "major", "blocker"], "min_count": 1},
            {"id": "correctness", "prompt": "How confident are you that the change is correct?", "type": "scale",
             "min": 1, "max": 5,
             "anchors": [{"value": 1, "label": "Certainly broken"}, {"value": 3, "label": "Unsure"}, {"value": 5, "label": "Certainly correct"}],
             "rationale": {"when": "below", "threshold": 4, "min_length": 20}},
            {"id": "risk", "prompt": "Deployment risk", "type": "single_choice",
             "options": [{"id": "low", "label": "Low"}, {"id": "medium", "label": "Medium"}, {"id": "high", "label": "High"}]},
            {"id": "decision", "prompt": "Decision", "type": "single_choice",
             "options": [{"id": "approve", "label": "Approve"}, {"id": "request_changes", "label": "Request changes"}, {"id": "comment", "label": "Comment only"}],
             "rationale": {"when": "choice", "choices": ["request_changes"], "min_length": 30}},
            {"id": "summary", "prompt": "Summary for the author", "type": "free_text", "min_length": 40, "max_length": 4000}
        ],
        "scoring": {"method": "weighted_mean", "pass_threshold": 0.6}
    })
}

fn legal() -> serde_json::Value {
    json!({
        "id": "legal-redline", "version": 1,
        "title": "Redline a revised services agreement",
        "audience": "Qualified commercial lawyers (any common-law jurisdiction)",
        "taxonomy": ["legal", "contracts", "redline-review"],
        "deliverable": "Clause-anchored comments on the counterparty's revision and a negotiation recommendation",
        "estimated_minutes": 60,
        "exclusions": ["This is not legal advice to any party", "Do not contact the parties named in the draft", "Skip the item if you have a conflict of interest with a named party"],
        "payout": {"basis": "per_hour", "amount_cents": 15000, "currency": "USD"},
        "guidelines": "## Task\n\nOur client is the **Customer**. The supplier's counsel has returned a revised draft (v2) of the agreement we sent (v1). Review every change.\n\n1. Anchor a comment to each changed clause that moves risk to our client. Use the clause number (e.g. `9.2`).\n2. Rate the overall risk of accepting v2 as drafted.\n3. Recommend how to proceed.\n\nCapped liability, indemnities, termination and data protection matter most.",
        "fields": [
            {"id": "instructions", "label": "Instructions from the client", "viewer": "markdown"},
            {"id": "agreement_v1", "label": "Our draft (v1)", "viewer": "text"},
            {"id": "agreement_v2", "label": "Counterparty revision (v2)", "viewer": "legal_redline", "against": "agreement_v1"}
        ],
        "questions": [
            {"id": "clause_comments", "prompt": "Comments on changed clauses", "type": "annotations",
             "fields": ["agreement_v2"], "severities": ["acceptable", "negotiate", "reject"], "min_count": 1},
            {"id": "risk", "prompt": "Risk to the client of signing v2 as drafted", "type": "scale", "min": 1, "max": 5,
             "anchors": [{"value": 1, "label": "Negligible"}, {"value": 3, "label": "Material"}, {"value": 5, "label": "Unacceptable"}],
             "rationale": {"when": "always", "min_length": 40}},
            {"id": "issues", "prompt": "Which areas does v2 change to the client's detriment?", "type": "multi_choice",
             "options": [
                {"id": "liability_cap", "label": "Liability cap"}, {"id": "indemnity", "label": "Indemnities"},
                {"id": "termination", "label": "Termination"}, {"id": "payment", "label": "Fees and payment"},
                {"id": "data_protection", "label": "Data protection"}, {"id": "ip", "label": "Intellectual property"},
                {"id": "governing_law", "label": "Governing law / disputes"}, {"id": "none", "label": "None"}],
             "min_selected": 1},
            {"id": "recommendation", "prompt": "Recommendation", "type": "single_choice",
             "options": [{"id": "sign", "label": "Sign v2"}, {"id": "negotiate", "label": "Negotiate the flagged clauses"}, {"id": "walk_away", "label": "Do not sign"}]}
        ]
    })
}

fn scans() -> serde_json::Value {
    json!({
        "id": "scan-triage", "version": 1,
        "title": "Triage a scan and mark findings",
        "audience": "Board-certified radiologists or senior radiology residents",
        "taxonomy": ["medical", "radiology", "triage"],
        "deliverable": "Finding present / absent, marked regions, image quality and urgency",
        "estimated_minutes": 12,
        "exclusions": ["Images are synthetic phantoms: never use them for clinical decisions", "Skip if the series does not load in full"],
        "payout": {"basis": "per_item", "amount_cents": 2500, "currency": "USD"},
        "guidelines": "## Triage\n\nScroll through **every frame**. Adjust window/level as needed (the DICOM header carries a default window).\n\n- Mark each finding with a region on the frame where it is most conspicuous.\n- Image quality: motion, noise, truncated field of view.\n- Urgency follows the department's triage table: `routine`, `soon` (within 24 h), `urgent` (within 1 h).\n\nCompare with the prior study when one is attached.",
        "fields": [
            {"id": "clinical_history", "label": "Clinical history", "viewer": "text"},
            {"id": "scan", "label": "Current study", "viewer": "scan"},
            {"id": "prior", "label": "Prior study", "viewer": "scan", "help": "Older study of the same patient, when available"}
        ],
        "questions": [
            {"id": "finding", "prompt": "Is there a focal finding?", "type": "single_choice",
             "options": [{"id": "present", "label": "Present"}, {"id": "absent", "label": "Absent"}, {"id": "indeterminate", "label": "Indeterminate"}]},
            {"id": "regions", "prompt": "Mark the finding(s)", "type": "annotations", "fields": ["scan"],
             "severities": ["incidental", "significant", "critical"], "min_count": 1,
             "show_if": {"question": "finding", "any_of": ["present", "indeterminate"]}},
            {"id": "quality", "prompt": "Image quality", "type": "scale", "min": 1, "max": 4,
             "anchors": [{"value": 1, "label": "Non-diagnostic"}, {"value": 4, "label": "Excellent"}],
             "rationale": {"when": "below", "threshold": 3}},
            {"id": "urgency", "prompt": "Urgency", "type": "single_choice",
             "options": [{"id": "routine", "label": "Routine"}, {"id": "soon", "label": "Within 24 h"}, {"id": "urgent", "label": "Within 1 h"}],
             "rationale": {"when": "choice", "choices": ["urgent"], "min_length": 15}},
            {"id": "impression", "prompt": "Impression", "type": "free_text", "min_length": 15, "max_length": 1500}
        ]
    })
}

fn pairwise() -> serde_json::Value {
    json!({
        "id": "pairwise-preference", "version": 2,
        "title": "Which answer is better?",
        "audience": "Fluent English readers with domain knowledge of the conversation's topic",
        "taxonomy": ["llm", "preference", "pairwise"],
        "deliverable": "A preference between two model answers with strength and rationale",
        "estimated_minutes": 6,
        "exclusions": ["Do not try to identify which model wrote an answer", "Skip conversations containing personal data and report them"],
        "payout": {"basis": "per_item", "amount_cents": 450, "currency": "USD"},
        "guidelines": "## Preference\n\nRead the conversation, then both answers in full. Prefer the answer that a careful expert would rather receive: **correct first**, then helpful, then clear. Length is not quality.\n\nA tie is allowed only when the answers are equally good *and* equally flawed.\n\nExplain your choice in a sentence or two that names a concrete difference.",
        "fields": [
            {"id": "conversation", "label": "Conversation", "viewer": "chat"},
            {"id": "answer_a", "label": "Answer A", "viewer": "markdown"},
            {"id": "answer_b", "label": "Answer B", "viewer": "markdown"}
        ],
        "questions": [
            {"id": "preference", "prompt": "Which answer is better?", "type": "pairwise", "a": "answer_a", "b": "answer_b",
             "allow_tie": true, "strengths": ["slightly", "clearly", "much"],
             "rationale": {"when": "always", "min_length": 30}},
            {"id": "correctness", "prompt": "Factual correctness", "type": "pass_fail",
             "criteria": [{"id": "a_correct", "label": "Answer A is factually correct"}, {"id": "b_correct", "label": "Answer B is factually correct"}]},
            {"id": "harm", "prompt": "Does either answer contain harmful or unsafe advice?", "type": "single_choice",
             "options": [{"id": "neither", "label": "Neither"}, {"id": "a", "label": "A"}, {"id": "b", "label": "B"}, {"id": "both", "label": "Both"}],
             "rationale": {"when": "choice", "choices": ["a", "b", "both"], "min_length": 20}}
        ]
    })
}

/// All demo rubrics.
pub fn all() -> Result<Vec<Rubric>, Error> {
    [coding(), code_review(), legal(), scans(), pairwise()]
        .into_iter()
        .map(|doc| serde_json::from_value::<Rubric>(doc).map_err(Error::from))
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
