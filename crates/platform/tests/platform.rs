//! End-to-end tests of the platform over real HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use assay_platform::testing::{start_seeded, start_seeded_with, TestOptions, TestPlatform};
use assay_protocol::{
    ApiError, ApiErrorCode, Assignment, AssignmentKind, AssignmentPage, AssignmentState,
    ItemEnvelope, Lease, LedgerPage, LedgerStatus, OutcomePage, OutcomeStatus, PayoutList,
    ReviewReceipt, SubmissionReceipt, TokenResponse, CONTENT_SHA256_HEADER, IDEMPOTENCY_KEY_HEADER,
    MAX_JSON_BODY_BYTES,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(p: &TestPlatform, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: p.api_url(""),
            token: token.to_owned(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body);
        if let Some(k) = key {
            req = req.header(IDEMPOTENCY_KEY_HEADER, k);
        }
        let r = req.send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// `post` without an idempotency key.
    async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post(path, body, None).await
    }

    /// Signs in with the credentials in `body` (`POST /auth/login`).
    async fn login(&self, body: &Value) -> (StatusCode, Value) {
        self.post_json("/auth/login", body).await
    }

    /// `get`, the answer read as a `T` (whatever the status).
    async fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let (_, v) = self.get(path).await;
        from(v)
    }
}

/// The seeded platform, an API client with the demo reviewer's token and
/// one with the admin token.
async fn seeded() -> (TestPlatform, Api, Api) {
    let p = start_seeded().await.unwrap();
    let api = Api::new(&p, &p.expert_token);
    let admin = Api::new(&p, &p.admin_token);
    (p, api, admin)
}

fn err(v: &Value) -> ApiError {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not an ApiError ({e}): {v}"))
}

/// The answer `(s, v)` is the error `status` with the code `code`.
fn assert_error(s: StatusCode, v: &Value, status: StatusCode, code: ApiErrorCode) {
    assert_eq!(s, status);
    assert_eq!(err(v).code, code);
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("unexpected body ({e}): {v}"))
}

async fn all_assignments(api: &Api) -> Vec<Assignment> {
    let (s, v) = api.get("/assignments?limit=500").await;
    assert_eq!(s, StatusCode::OK);
    from::<AssignmentPage>(v).assignments
}

/// An active grade assignment of the demo reviewer in `opportunity`.
async fn active_in(api: &Api, opportunity: &str) -> Assignment {
    all_assignments(api)
        .await
        .into_iter()
        .find(|a| {
            a.opportunity_id == opportunity
                && a.kind == AssignmentKind::Grade
                && a.state == AssignmentState::Active
        })
        .expect("an active assignment")
}

/// Sets the lease of `a` to end at `until` with the admin API.
async fn set_lease(admin: &Api, a: &Assignment, until: Value) {
    let (s, v) = admin
        .post_json(
            &format!("/admin/assignments/{}/lease", a.id),
            &json!({ "lease_expires_at": until }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Assignment `id` as the page of changes after `cursor` has it (if it
/// does), and that page's next cursor.
async fn changed_since(api: &Api, cursor: &str, id: &str) -> (Option<Assignment>, String) {
    let (s, v) = api.get(&format!("/assignments?since={cursor}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let page: AssignmentPage = from(v);
    let found = page.assignments.into_iter().find(|x| x.id == id);
    (found, page.next_cursor)
}

fn submission(a: &Assignment, answers: Value) -> Value {
    json!({
        "assignment_id": a.id,
        "rubric_id": a.rubric_id,
        "rubric_version": a.rubric_version,
        "answers": answers,
        "active_seconds": 754,
        "time_log": [{"started_at": "2026-11-20T10:00:00Z", "ended_at": "2026-11-20T10:12:34Z"}],
        "client_created_at": "2026-11-20T10:12:35Z"
    })
}

const CODING: &str = assay_platform::demo::OPP_CODING;

#[tokio::test]
async fn auth_tokens_and_401s() {
    let p = start_seeded().await.unwrap();
    let anon = Api::new(&p, "");
    let http = reqwest::Client::new();

    let (s, health) = anon.get("/health").await;
    assert_eq!(s, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["protocol_version"], assay_protocol::PROTOCOL_VERSION);

    // Wrong password.
    let (s, v) = anon
        .login(&json!({"email": "demo@assay.dev", "password": "nope"}))
        .await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, ApiErrorCode::Unauthorized);
    // Unknown e-mail gives the same answer.
    let (s, _) = anon
        .login(&json!({"email": "nobody@x.y", "password": "demo"}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, v) = anon
        .login(&json!({"email": "Demo@Assay.dev", "password": "demo", "label": "laptop"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let login: TokenResponse = from(v);
    let api = Api::new(&p, &login.token);
    let (s, me) = api.get("/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["email"], "demo@assay.dev");
    assert!(me["attestations"].as_array().unwrap().len() >= 2);

    // No token, wrong token, malformed header.
    let r = http.get(p.api_url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        err(&r.json().await.unwrap()).code,
        ApiErrorCode::Unauthorized
    );
    let (s, v) = Api::new(&p, "asy_not-a-real-token").get("/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(err(&v).message, "unknown token");
    let r = http
        .get(p.api_url("/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Issue a second token, revoke the first.
    let (s, v) = api
        .post_json("/auth/tokens", &json!({"label": "second"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let second: TokenResponse = from(v);
    assert_ne!(second.token, login.token);
    let r = http
        .delete(p.api_url("/auth/tokens/current"))
        .bearer_auth(&login.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, v) = api.get("/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(err(&v).message.contains("revoked"), "{v}");
    let (s, _) = Api::new(&p, &second.token).get("/me").await;
    assert_eq!(s, StatusCode::OK);

    // Admin API: wrong token refused, expert token refused.
    let (s, v) = api
        .post_json("/admin/payouts", &json!({"expert_email": "demo@assay.dev"}))
        .await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, ApiErrorCode::Unauthorized);

    // Unknown route: ApiError, not plain text.
    let (s, v) = api.get("/no-such-thing").await;
    assert_error(s, &v, StatusCode::NOT_FOUND, ApiErrorCode::NotFound);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn catalogue_rate_card_history_and_rubrics() {
    let (p, api, _) = seeded().await;

    let (s, v) = api.get("/opportunities").await;
    assert_eq!(s, StatusCode::OK);
    let opps = v["opportunities"].as_array().unwrap();
    assert_eq!(opps.len(), 5);
    for o in opps {
        let path = format!(
            "/rubrics/{}/versions/{}",
            o["rubric_id"].as_str().unwrap(),
            o["rubric_version"]
        );
        let (s, env) = api.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        let rubric: assay_rubric::Rubric = from(env["document"].clone());
        assert_eq!(rubric.id, o["rubric_id"].as_str().unwrap());
        assert!(!rubric.questions.is_empty());
    }
    let (s, v) = api.get("/rubrics/coding-task-validation/versions/99").await;
    assert_error(s, &v, StatusCode::NOT_FOUND, ApiErrorCode::NotFound);
    let (s, _) = api
        .get("/rubrics/coding-task-validation/versions/three")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, v) = api.get("/rate-card").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["rates"].as_array().unwrap().len() >= 5);

    // Seeded history: every ledger state and a couple of payouts.
    let ledger: LedgerPage = api.get_as("/ledger").await;
    for status in [
        LedgerStatus::Pending,
        LedgerStatus::Accepted,
        LedgerStatus::Paid,
        LedgerStatus::Reversed,
    ] {
        assert!(
            ledger.entries.iter().any(|e| e.status == status),
            "no {status:?} entry"
        );
    }
    let payouts: PayoutList = api.get_as("/payouts").await;
    assert!(payouts.payouts.len() >= 2);
    for pay in &payouts.payouts {
        let sum: i64 = ledger
            .entries
            .iter()
            .filter(|e| pay.entry_ids.contains(&e.id))
            .map(|e| e.amount_cents)
            .sum();
        assert_eq!(sum, pay.amount_cents);
    }
    let outcomes: OutcomePage = api.get_as("/outcomes").await;
    for st in [
        OutcomeStatus::Pending,
        OutcomeStatus::Accepted,
        OutcomeStatus::Rejected,
        OutcomeStatus::NeedsRevision,
    ] {
        assert!(
            outcomes.outcomes.iter().any(|o| o.status == st),
            "no {st:?} outcome"
        );
    }
    // Each outcome tells the time its submission reported (the seed's history
    // reports whole minutes), so other devices can compute hourly rates.
    assert!(outcomes
        .outcomes
        .iter()
        .all(|o| o.active_seconds > 0 && o.active_seconds % 60 == 0));
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn assignments_paginate_and_changes_reappear() {
    let (p, api, _) = seeded().await;

    let mut cursor = String::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (s, v) = api
            .get(&format!("/assignments?limit=7&since={cursor}"))
            .await;
        assert_eq!(s, StatusCode::OK);
        let page: AssignmentPage = from(v);
        pages += 1;
        assert!(page.assignments.len() <= 7);
        // The feed names each item so clients can list work before fetching it.
        assert!(
            page.assignments.iter().all(|a| !a.item_title.is_empty()),
            "every assignment carries its item's title"
        );
        seen.extend(page.assignments);
        cursor = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    assert!(pages >= 6);
    let active_grades = seen
        .iter()
        .filter(|a| a.kind == AssignmentKind::Grade && a.state == AssignmentState::Active)
        .count();
    assert!(
        active_grades >= 40,
        "{active_grades} active grade assignments"
    );
    assert!(seen.iter().any(|a| a.kind == AssignmentKind::SeniorReview));
    let mut seqs: Vec<i64> = seen.iter().map(|a| a.seq).collect();
    let sorted = {
        let mut s = seqs.clone();
        s.sort_unstable();
        s.dedup();
        s
    };
    assert_eq!(seqs, sorted, "pages must be ordered and disjoint");
    seqs.clear();

    // Caught up: an empty page with the same cursor.
    let page: AssignmentPage = api.get_as(&format!("/assignments?since={cursor}")).await;
    assert!(page.assignments.is_empty());
    assert!(!page.has_more);
    assert_eq!(page.next_cursor, cursor);

    // A revoked and a reassigned assignment re-appear with their new state.
    let admin = Api::new(&p, &p.admin_token);
    let targets: Vec<&Assignment> = seen
        .iter()
        .filter(|a| a.state == AssignmentState::Active && a.kind == AssignmentKind::Grade)
        .take(2)
        .collect();
    let (s, v) = admin
        .post_json(
            &format!("/admin/assignments/{}/revoke", targets[0].id),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = admin
        .post_json(
            &format!("/admin/assignments/{}/reassign", targets[1].id),
            &json!({"expert_email": "marco.bellini@example.org"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let moved: Assignment = from(v);
    assert_eq!(moved.item_id, targets[1].item_id);
    let page: AssignmentPage = api.get_as(&format!("/assignments?since={cursor}")).await;
    let states: Vec<(String, AssignmentState)> = page
        .assignments
        .iter()
        .map(|a| (a.id.clone(), a.state))
        .collect();
    assert_eq!(
        states,
        vec![
            (targets[0].id.clone(), AssignmentState::Revoked),
            (targets[1].id.clone(), AssignmentState::Reassigned)
        ]
    );
    // The reassigned item is no longer readable by the demo reviewer.
    let (s, _) = api.get(&format!("/items/{}", targets[1].item_id)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Bad cursors and limits.
    for q in [
        "since=garbage",
        "since=c1.-1",
        "limit=0",
        "limit=100000",
        "limit=abc",
    ] {
        let (s, v) = api.get(&format!("/assignments?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(err(&v).code, ApiErrorCode::BadRequest);
    }
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn items_attachments_and_scoping() {
    let (p, api, _) = seeded().await;
    let assignments = all_assignments(&api).await;

    // Every assigned item is readable; collect attachments.
    let mut attachments = Vec::new();
    let mut exclusive = Vec::new();
    let mut hidden_seen = false;
    for a in &assignments {
        let (s, v) = api.get(&format!("/items/{}", a.item_id)).await;
        assert_eq!(s, StatusCode::OK, "{}", a.item_id);
        let env: ItemEnvelope = from(v.clone());
        assert_eq!(env.item.opportunity_id, a.opportunity_id);
        assert_eq!(
            env.reviewed_submission.is_some(),
            a.kind == AssignmentKind::SeniorReview
        );
        for f in env.item.fields.values() {
            if let assay_protocol::FieldValue::Attachment(r) = f {
                attachments.push(r.clone());
                if a.kind == AssignmentKind::Grade && a.state == AssignmentState::Active {
                    // Items of active grade assignments belong to nobody else.
                    exclusive.push(r.clone());
                }
            }
        }
        // Scope the item with the client's own function: every visible field
        // is present (scans may lack a prior) and hidden fields are gone.
        let (_, r) = api
            .get(&format!(
                "/rubrics/{}/versions/{}",
                a.rubric_id, a.rubric_version
            ))
            .await;
        let rubric: assay_rubric::Rubric = from(r["document"].clone());
        let scoped = assay_rubric::scope(&env.item, &rubric);
        assert!(
            scoped.missing_fields.iter().all(|f| f == "prior"),
            "{}: missing {:?}",
            a.item_id,
            scoped.missing_fields
        );
        if env.item.fields.contains_key("model_identity") {
            hidden_seen = true;
            assert!(assay_rubric::hidden_fields(&env.item, &rubric)
                .contains(&"model_identity".to_string()));
            assert!(scoped.fields.iter().all(|f| f.id != "model_identity"));
            let json = serde_json::to_string(&scoped).unwrap();
            assert!(
                !json.contains("orion-70b")
                    && !json.contains("atlas-7b")
                    && !json.contains("nova-mini")
            );
        }
    }
    assert!(
        hidden_seen,
        "the demo must carry an item with a hidden field"
    );
    assert!(attachments
        .iter()
        .any(|a| a.media_type == "application/dicom"));
    assert!(attachments.iter().any(|a| a.media_type == "image/png"));

    let http = reqwest::Client::new();
    for att in attachments.iter().take(4) {
        let r = http
            .get(p.api_url(&format!("/attachments/{}", att.sha256)))
            .bearer_auth(&p.expert_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_SHA256_HEADER], att.sha256.as_str());
        assert_eq!(r.headers()["content-length"], att.size.to_string().as_str());
        let body = r.bytes().await.unwrap();
        assert_eq!(body.len() as u64, att.size);
        assert_eq!(hex::encode(Sha256::digest(&body)), att.sha256);

        // Resume from the middle.
        let mid = att.size / 2;
        let r = http
            .get(p.api_url(&format!("/attachments/{}", att.sha256)))
            .bearer_auth(&p.expert_token)
            .header("range", format!("bytes={mid}-"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {mid}-{}/{}", att.size - 1, att.size).as_str()
        );
        let tail = r.bytes().await.unwrap();
        assert_eq!(&tail[..], &body[mid as usize..]);

        let r = http
            .get(p.api_url(&format!("/attachments/{}", att.sha256)))
            .bearer_auth(&p.expert_token)
            .header("range", format!("bytes={}-", att.size + 5))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    }
    let (s, v) = api.get(&format!("/attachments/{}", "0".repeat(64))).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, ApiErrorCode::NotFound);
    let (s, _) = api.get("/attachments/..%2F..%2Fetc%2Fpasswd").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Another expert cannot read the demo reviewer's items or attachments.
    let admin = Api::new(&p, &p.admin_token);
    let (_, v) = admin
        .post_json(
            "/admin/tokens",
            &json!({"expert_email": "exp-nobody@example.org"}),
        )
        .await;
    assert_eq!(err(&v).code, ApiErrorCode::NotFound);
    let (_, v) = admin
        .post_json(
            "/admin/tokens",
            &json!({"expert_email": "lena.hoffmann@example.org"}),
        )
        .await;
    let lena = Api::new(&p, &from::<TokenResponse>(v).token);
    let grade = assignments
        .iter()
        .find(|a| a.kind == AssignmentKind::Grade)
        .unwrap();
    let (s, v) = lena.get(&format!("/items/{}", grade.item_id)).await;
    assert_error(s, &v, StatusCode::FORBIDDEN, ApiErrorCode::Forbidden);
    let dicom = exclusive
        .iter()
        .find(|a| a.media_type == "application/dicom")
        .unwrap();
    let (s, _) = lena.get(&format!("/attachments/{}", dicom.sha256)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api.get("/items/itm-does-not-exist").await;
    assert_error(s, &v, StatusCode::NOT_FOUND, ApiErrorCode::NotFound);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn submissions_are_idempotent_and_bad_input_is_refused() {
    let (p, api, admin) = seeded().await;
    let a = active_in(&api, CODING).await;
    let answers = assay_platform::demo::sample_answers(CODING, 0);
    let body = submission(&a, answers.clone());
    let ledger_before = api
        .get_as::<LedgerPage>("/ledger?limit=500")
        .await
        .entries
        .len();

    // Missing idempotency key.
    let (s, v) = api.post_json("/submissions", &body).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, ApiErrorCode::BadRequest);

    // Wrong rubric version: 409, nothing stored.
    let mut wrong = body.clone();
    wrong["rubric_version"] = json!(a.rubric_version + 1);
    let (s, v) = api
        .post("/submissions", &wrong, Some("k-wrong-version"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let e = err(&v);
    assert_eq!(e.code, ApiErrorCode::RubricVersionMismatch);
    let d = e.details.unwrap();
    assert_eq!(d["rubric_id"], a.rubric_id.as_str());
    assert_eq!(d["rubric_version"], a.rubric_version);

    // Answers that do not satisfy the rubric: 422 with details.
    let bad_answers = json!({"answers": {"verdict": {"type": "single_choice", "choice": "maybe"},
                                          "quality": {"type": "scale", "value": 9}}});
    let (s, v) = api
        .post("/submissions", &submission(&a, bad_answers), Some("k-bad"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let e = err(&v);
    assert_eq!(e.code, ApiErrorCode::ValidationFailed);
    assert!(e.details.unwrap().as_array().unwrap().len() >= 3);

    // Malformed JSON and missing fields: ApiError 400, not axum's text.
    let http = reqwest::Client::new();
    for raw in ["{not json", "{\"assignment_id\": 5}", "[]"] {
        let r = http
            .post(p.api_url("/submissions"))
            .bearer_auth(&p.expert_token)
            .header(IDEMPOTENCY_KEY_HEADER, "k-malformed")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{raw}");
        assert_eq!(err(&r.json().await.unwrap()).code, ApiErrorCode::BadRequest);
    }
    // Oversized body: 413.
    let r = http
        .post(p.api_url("/submissions"))
        .bearer_auth(&p.expert_token)
        .header(IDEMPOTENCY_KEY_HEADER, "k-huge")
        .header("content-type", "application/json")
        .body(format!(
            "{{\"pad\": \"{}\"}}",
            "x".repeat(MAX_JSON_BODY_BYTES + 10)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        err(&r.json().await.unwrap()).code,
        ApiErrorCode::PayloadTooLarge
    );
    // Unknown assignment.
    let mut unknown = body.clone();
    unknown["assignment_id"] = json!("asg-nope");
    let (s, v) = api.post("/submissions", &unknown, Some("k-unknown")).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, ApiErrorCode::NotFound);

    // Nothing of the above was stored.
    let (_, v) = api.get("/ledger?limit=500").await;
    assert_eq!(from::<LedgerPage>(v).entries.len(), ledger_before);

    // The real thing, then an identical repeat, then a conflicting one.
    let (s, v) = api.post("/submissions", &body, Some("k-1")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first: SubmissionReceipt = from(v);
    assert!(!first.replayed);
    assert_eq!(first.status, OutcomeStatus::Pending);
    let (s, v) = api.post("/submissions", &body, Some("k-1")).await;
    assert_eq!(s, StatusCode::OK);
    let again: SubmissionReceipt = from(v);
    assert!(again.replayed);
    assert_eq!(again.submission_id, first.submission_id);
    assert_eq!(again.received_at, first.received_at);
    let mut changed = body.clone();
    changed["active_seconds"] = json!(999);
    let (s, v) = api.post("/submissions", &changed, Some("k-1")).await;
    assert_error(s, &v, StatusCode::CONFLICT, ApiErrorCode::Conflict);
    // A second submission for the same assignment under a new key.
    let (s, v) = api.post("/submissions", &body, Some("k-2")).await;
    assert_error(s, &v, StatusCode::CONFLICT, ApiErrorCode::Conflict);

    // Exactly one ledger entry was written, pending, at the coding rate.
    let entries = api.get_as::<LedgerPage>("/ledger?limit=500").await.entries;
    assert_eq!(entries.len(), ledger_before + 1);
    let mine: Vec<_> = entries
        .iter()
        .filter(|e| e.submission_id == first.submission_id)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, LedgerStatus::Pending);
    assert_eq!(mine[0].amount_cents, 1800);

    // Expired lease: submit and renew both answer lease_expired.
    let b = all_assignments(&api)
        .await
        .into_iter()
        .find(|x| {
            x.state == AssignmentState::Active
                && x.kind == AssignmentKind::Grade
                && x.opportunity_id == CODING
        })
        .unwrap();
    set_lease(&admin, &b, json!("2020-01-01T00:00:00Z")).await;
    let (s, v) = api
        .post("/submissions", &submission(&b, answers), Some("k-expired"))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, ApiErrorCode::LeaseExpired);
    let (s, v) = api
        .post_json(&format!("/assignments/{}/lease", b.id), &json!({}))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, ApiErrorCode::LeaseExpired);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn leases_renew_and_release() {
    let (p, api, _) = seeded().await;
    let a = active_in(&api, assay_platform::demo::OPP_PAIRWISE).await;
    let (s, v) = api
        .post_json(&format!("/assignments/{}/lease", a.id), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let lease: Lease = from(v);
    assert!(lease.lease_expires_at > chrono::Utc::now());
    assert!(lease.lease_expires_at <= a.due_at);
    let (s, v) = api
        .post_json(&format!("/assignments/{}/release", a.id), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let released: Assignment = from(v);
    assert_eq!(released.state, AssignmentState::Released);
    assert!(released.seq > a.seq);
    // A released item is no longer readable.
    let (s, _) = api.get(&format!("/items/{}", a.item_id)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api
        .post_json(&format!("/assignments/{}/lease", a.id), &json!({}))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, ApiErrorCode::Conflict);
    let (s, _) = api
        .post_json("/assignments/asg-nope/release", &json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn outcomes_flow_into_ledger_and_payouts() {
    let (p, api, admin) = seeded().await;
    let outcome_cursor = api
        .get_as::<OutcomePage>("/outcomes?limit=500")
        .await
        .next_cursor;
    let ledger_cursor = api
        .get_as::<LedgerPage>("/ledger?limit=500")
        .await
        .next_cursor;

    let mut receipts = Vec::new();
    for (i, opp) in [CODING, assay_platform::demo::OPP_PAIRWISE]
        .iter()
        .enumerate()
    {
        let a = active_in(&api, opp).await;
        let (s, v) = api
            .post(
                "/submissions",
                &submission(&a, assay_platform::demo::sample_answers(opp, 0)),
                Some(&format!("flow-{i}")),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        receipts.push(from::<SubmissionReceipt>(v));
    }
    let (s, v) = admin
        .post_json(
            "/admin/outcomes",
            &json!({"submission_id": receipts[0].submission_id, "status": "accepted"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = admin
        .post_json("/admin/outcomes", &json!({"submission_id": receipts[1].submission_id, "status": "rejected", "feedback": "Wrong preference: B cites the right API."}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // Deciding twice is a conflict.
    let (s, v) = admin
        .post_json(
            "/admin/outcomes",
            &json!({"submission_id": receipts[0].submission_id, "status": "rejected"}),
        )
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, ApiErrorCode::Conflict);

    let page: OutcomePage = api
        .get_as(&format!("/outcomes?since={outcome_cursor}"))
        .await;
    let status_of = |id: &str| {
        page.outcomes
            .iter()
            .rev()
            .find(|o| o.submission_id == id)
            .map(|o| o.status)
    };
    assert_eq!(
        status_of(&receipts[0].submission_id),
        Some(OutcomeStatus::Accepted)
    );
    assert_eq!(
        status_of(&receipts[1].submission_id),
        Some(OutcomeStatus::Rejected)
    );
    let rejected = page
        .outcomes
        .iter()
        .find(|o| o.submission_id == receipts[1].submission_id)
        .unwrap();
    assert!(rejected.feedback.as_deref().unwrap().contains("preference"));

    let changes: LedgerPage = api.get_as(&format!("/ledger?since={ledger_cursor}")).await;
    let last = |id: &str| {
        changes
            .entries
            .iter()
            .rev()
            .find(|e| e.submission_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        last(&receipts[0].submission_id).status,
        LedgerStatus::Accepted
    );
    assert_eq!(
        last(&receipts[1].submission_id).status,
        LedgerStatus::Reversed
    );

    let (s, v) = admin
        .post_json("/admin/payouts", &json!({"expert_email": "demo@assay.dev"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let created: PayoutList = from(v);
    assert_eq!(created.payouts.len(), 1);
    let accepted_entry = last(&receipts[0].submission_id);
    assert!(created.payouts[0].entry_ids.contains(&accepted_entry.id));
    let paid: LedgerPage = api
        .get_as(&format!("/ledger?since={}", changes.next_cursor))
        .await;
    let e = paid
        .entries
        .iter()
        .find(|e| e.id == accepted_entry.id)
        .unwrap();
    assert_eq!(e.status, LedgerStatus::Paid);
    assert_eq!(e.payout_id.as_deref(), Some(created.payouts[0].id.as_str()));
    let (_, v) = api.get("/payouts").await;
    assert!(from::<PayoutList>(v)
        .payouts
        .iter()
        .any(|x| x.id == created.payouts[0].id));
    // Nothing left to pay.
    let (_, v) = admin
        .post_json("/admin/payouts", &json!({"expert_email": "demo@assay.dev"}))
        .await;
    assert!(from::<PayoutList>(v).payouts.is_empty());
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn senior_review_decides_the_other_experts_outcome() {
    let (p, api, admin) = seeded().await;
    let reviews: Vec<Assignment> = all_assignments(&api)
        .await
        .into_iter()
        .filter(|a| a.kind == AssignmentKind::SeniorReview && a.state == AssignmentState::Active)
        .collect();
    assert!(reviews.len() >= 3);
    let r = &reviews[0];
    let env: ItemEnvelope = api.get_as(&format!("/items/{}", r.item_id)).await;
    let reviewed = env.reviewed_submission.unwrap();
    assert_eq!(
        Some(&reviewed.submission_id),
        r.review_of_submission_id.as_ref()
    );
    assert!(reviewed.answers["answers"].is_object());

    // Grade endpoint refuses a senior review assignment.
    let (s, _) = api
        .post(
            "/submissions",
            &submission(r, json!({"answers": {}})),
            Some("sr-wrong-endpoint"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Reject without feedback is refused.
    let body = json!({"assignment_id": r.id, "submission_id": reviewed.submission_id, "decision": "reject", "active_seconds": 120});
    let (s, v) = api.post("/reviews", &body, Some("sr-1")).await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        ApiErrorCode::ValidationFailed,
    );

    let body = json!({"assignment_id": r.id, "submission_id": reviewed.submission_id, "decision": "accept",
                      "feedback": "Thorough; the edge-case comment is spot on.", "active_seconds": 240});
    let (s, v) = api.post("/reviews", &body, Some("sr-2")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let receipt: ReviewReceipt = from(v);
    // The senior reviewer is paid for the review (accepted at once).
    let (_, v) = api.get("/ledger?limit=500").await;
    let mine: Vec<_> = from::<LedgerPage>(v)
        .entries
        .into_iter()
        .filter(|e| e.assignment_id == r.id)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, LedgerStatus::Accepted);
    assert!(mine[0].amount_cents > 0);
    let (_, v) = api.post("/reviews", &body, Some("sr-2")).await;
    let replay: ReviewReceipt = from(v);
    assert!(replay.replayed);
    assert_eq!(replay.review_id, receipt.review_id);
    let mut other = body.clone();
    other["decision"] = json!("request_revision");
    let (s, _) = api.post("/reviews", &other, Some("sr-2")).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The author sees the outcome; their ledger entry is accepted.
    let author_assignment = {
        // Find the author via the admin API: issue tokens for the other experts.
        let mut found = None;
        for email in [
            "marco.bellini@example.org",
            "lena.hoffmann@example.org",
            "sam.achebe@example.org",
        ] {
            let (_, v) = admin
                .post_json("/admin/tokens", &json!({"expert_email": email}))
                .await;
            let t: TokenResponse = from(v);
            let them = Api::new(&p, &t.token);
            let page: OutcomePage = them.get_as("/outcomes").await;
            if let Some(o) = page
                .outcomes
                .iter()
                .find(|o| o.submission_id == reviewed.submission_id)
            {
                assert_eq!(o.status, OutcomeStatus::Accepted);
                let l: LedgerPage = them.get_as("/ledger").await;
                let e = l
                    .entries
                    .iter()
                    .find(|e| e.submission_id == reviewed.submission_id)
                    .unwrap();
                assert_eq!(e.status, LedgerStatus::Accepted);
                found = Some(o.assignment_id.clone());
            }
        }
        found
    };
    assert!(
        author_assignment.is_some(),
        "the author must see the outcome"
    );

    // A second senior review with request_revision re-opens the author's assignment.
    let r2 = &reviews[1];
    let sub2 = r2.review_of_submission_id.clone().unwrap();
    let (s, v) = api
        .post("/reviews", &json!({"assignment_id": r2.id, "submission_id": sub2, "decision": "request_revision",
                                   "feedback": "Please mark the region on the frame where it is most conspicuous.", "active_seconds": 90}), Some("sr-3"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Reviewing the wrong submission is refused.
    let r3 = &reviews[2];
    let (s, _) = api
        .post("/reviews", &json!({"assignment_id": r3.id, "submission_id": sub2, "decision": "accept", "active_seconds": 5}), Some("sr-4"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn demo_auto_review_moves_earnings() {
    let p = start_seeded_with(TestOptions {
        auto_review: Some(std::time::Duration::from_millis(300)),
        full_seed: false,
    })
    .await
    .unwrap();
    let api = Api::new(&p, &p.expert_token);
    let a = active_in(&api, CODING).await;
    let (s, v) = api
        .post(
            "/submissions",
            &submission(&a, assay_platform::demo::sample_answers(CODING, 0)),
            Some("auto-1"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let receipt: SubmissionReceipt = from(v);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page: OutcomePage = api.get_as("/outcomes?limit=500").await;
        let status = page
            .outcomes
            .iter()
            .find(|o| o.submission_id == receipt.submission_id)
            .map(|o| o.status);
        if status.is_some_and(|s| s != OutcomeStatus::Pending) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "auto-review never decided"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    p.shutdown().await.unwrap();
}

#[test]
fn openapi_document_is_up_to_date() {
    let generated = assay_platform::openapi::openapi_json().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/platform/openapi.json is out of date; regenerate it with\n  \
         cargo run -p assay-platform -- openapi > crates/platform/openapi.json"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    for path in [
        "/api/v1/submissions",
        "/api/v1/assignments",
        "/api/v1/attachments/{sha256}",
        "/api/v1/reviews",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the document"
        );
    }
}

#[tokio::test]
async fn admin_assigns_and_expired_leases_resurface() {
    let (p, api, admin) = seeded().await;
    let cursor = api
        .get_as::<AssignmentPage>("/assignments?limit=500")
        .await
        .next_cursor;

    // The admin API assigns an item to another expert.
    let item = p.summary.items_by_opportunity[assay_platform::demo::OPP_LEGAL][0].clone();
    let (s, v) = admin
        .post_json("/admin/assignments", &json!({"item_id": item, "expert_email": "marco.bellini@example.org", "kind": "grade", "lease_seconds": 600}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let marco: Assignment = from(v);
    assert_eq!(marco.state, AssignmentState::Active);
    assert_eq!(marco.rubric_id, "legal-redline");
    for (body, code) in [
        (
            json!({"item_id": "itm-nope", "expert_email": "demo@assay.dev", "kind": "grade"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"item_id": item, "expert_email": "nobody@example.org", "kind": "grade"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"item_id": item, "expert_email": "demo@assay.dev", "kind": "senior_review"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"item_id": item, "kind": "grade"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, v) = admin.post_json("/admin/assignments", &body).await;
        assert_eq!(s, code, "{body} -> {v}");
        let _ = err(&v);
    }

    // An overdue lease shows up as expired in the next incremental sync.
    let a = active_in(&api, assay_platform::demo::OPP_SCANS).await;
    set_lease(&admin, &a, json!("2021-05-05T00:00:00Z")).await;
    let (changed, _) = changed_since(&api, &cursor, &a.id).await;
    let changed = changed.expect("expired assignment re-appears");
    assert_eq!(changed.state, AssignmentState::Expired);
    p.shutdown().await.unwrap();
}

#[test]
fn cli_seeds_issues_tokens_and_serves() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let exe = env!("CARGO_BIN_EXE_assay-platform");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let out = Command::new(exe)
        .args(["seed", "--demo", "--small", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("60 items"));
    // Seeding twice is refused, not duplicated.
    let again = Command::new(exe)
        .args(["seed", "--demo", "--small", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!again.status.success());

    let out = Command::new(exe)
        .args(["token", "issue", "--email", "demo@assay.dev", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("asy_"));

    let mut child = Command::new(exe)
        .args(["serve", "--bind", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut url = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = Some(rest.trim().to_owned());
            break;
        }
    }
    let url = url.expect("server printed its address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
    });
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn spawn_demo_seeds_once_and_serves_the_demo_login() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.sqlite");
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    for round in 0..2 {
        let server = assay_platform::demo::spawn_demo_with(
            db.clone(),
            bind,
            std::time::Duration::from_secs(30),
            assay_platform::demo::SeedOptions::small(),
        )
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{}/api/v1/auth/login", server.base_url()))
            .json(&json!({"email": "demo@assay.dev", "password": "demo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "round {round}");
        let token: TokenResponse = r.json().await.unwrap();
        let api = Api {
            http,
            base: format!("{}/api/v1", server.base_url()),
            token: token.token,
        };
        let (_, v) = api.get("/opportunities").await;
        assert_eq!(
            v["opportunities"].as_array().unwrap().len(),
            5,
            "seeded exactly once"
        );
        server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn demo_seed_gives_live_leases_and_unpaid_screening() {
    let (p, api, admin) = seeded().await;
    let now = chrono::Utc::now();
    let mine = all_assignments(&api).await;
    // Every assignment the demo reviewer is meant to work on has a live lease
    // (the history item sent back for revision included).
    let active: Vec<_> = mine
        .iter()
        .filter(|a| a.state == AssignmentState::Active)
        .collect();
    assert!(!active.is_empty());
    for a in &active {
        assert!(a.lease_expires_at > now, "{} lease lapsed: {a:?}", a.id);
        assert!(a.due_at >= a.lease_expires_at, "{a:?}");
    }
    assert!(
        mine.iter().all(|a| a.state != AssignmentState::Expired),
        "nothing starts out expired"
    );

    // One screening task per screening opportunity.
    let screening: Vec<_> = mine
        .iter()
        .filter(|a| a.kind == AssignmentKind::Screening)
        .collect();
    assert_eq!(
        screening.len(),
        assay_platform::demo::SCREENING_OPPORTUNITIES.len()
    );
    assert_eq!(p.summary.screening_assignments, screening.len());
    let s = screening
        .iter()
        .find(|a| a.opportunity_id == CODING)
        .expect("a coding screening task");
    // Its item can be fetched like any other.
    let (st, _) = api.get(&format!("/items/{}", s.item_id)).await;
    assert_eq!(st, StatusCode::OK);

    let ledger_before = api
        .get_as::<LedgerPage>("/ledger?limit=500")
        .await
        .entries
        .len();
    let outcome_cursor = api
        .get_as::<OutcomePage>("/outcomes?limit=500")
        .await
        .next_cursor;
    // Answers are validated like a grade.
    let (st, v) = api
        .post("/submissions", &submission(s, json!({})), Some("scr-bad"))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = api
        .post(
            "/submissions",
            &submission(s, assay_platform::demo::sample_answers(CODING, 0)),
            Some("scr-1"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let receipt: SubmissionReceipt = from(v);
    let entries = api.get_as::<LedgerPage>("/ledger?limit=500").await.entries;
    assert_eq!(entries.len(), ledger_before, "screening is unpaid");
    assert!(entries.iter().all(|e| e.assignment_id != s.id));

    // The qualification outcome (failed) reaches the expert through the feed.
    let (st, v) = admin
        .post_json("/admin/outcomes", &json!({"submission_id": receipt.submission_id, "status": "rejected", "feedback": "Did not pass: the verdict ignores a failing test."}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let outcomes = api
        .get_as::<OutcomePage>(&format!("/outcomes?since={outcome_cursor}"))
        .await
        .outcomes;
    let o = outcomes
        .iter()
        .find(|o| o.submission_id == receipt.submission_id)
        .expect("screening outcome in the feed");
    assert_eq!(o.status, OutcomeStatus::Rejected);
    let (_, v) = api.get("/ledger?limit=500").await;
    assert_eq!(from::<LedgerPage>(v).entries.len(), ledger_before);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn lapsed_lease_is_reported_expired_and_work_refused() {
    let (p, api, admin) = seeded().await;
    let cursor = api
        .get_as::<AssignmentPage>("/assignments?limit=500")
        .await
        .next_cursor;
    let a = active_in(&api, assay_platform::demo::OPP_LEGAL).await;
    // The lease lapses (as if the platform had been idle): nobody expired it yet.
    set_lease(
        &admin,
        &a,
        json!(chrono::Utc::now() - chrono::Duration::seconds(5)),
    )
    .await;
    // The next feed page reports it expired, with a newer seq than before.
    let (seen, next) = changed_since(&api, &cursor, &a.id).await;
    let seen = seen.expect("lapsed assignment re-appears in the feed");
    assert_eq!(seen.state, AssignmentState::Expired);
    assert!(seen.seq > a.seq);
    // And only once: a further page from the new cursor does not repeat it.
    assert!(changed_since(&api, &next, &a.id).await.0.is_none());
    // Work on it is refused as lease_expired.
    let (st, v) = api
        .post(
            "/submissions",
            &submission(
                &a,
                assay_platform::demo::sample_answers(assay_platform::demo::OPP_LEGAL, 0),
            ),
            Some("lapsed"),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(err(&v).code, ApiErrorCode::LeaseExpired);
    p.shutdown().await.unwrap();
}

/// GET `url` without a token (update routes are public).
async fn get_public(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

#[tokio::test]
async fn updates_serves_the_manifest_and_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("src.deb");
    std::fs::write(&art, b"debian package bytes").unwrap();
    let updates = dir.path().join("updates");
    let db = dir.path().join("p.sqlite");
    let mut config = assay_platform::ServerConfig::new(&db, "127.0.0.1:0".parse().unwrap());
    config.updates_dir = Some(updates.clone());
    let server = assay_platform::spawn(config).await.unwrap();
    let base = server.base_url();
    let manifest = format!("{base}/api/v1/updates/manifest.json");
    // Nothing published yet.
    assert_eq!(get_public(&manifest).await.status(), 404);
    let m = assay_platform::updates::write_manifest(
        &updates,
        &base,
        "0.2.0",
        "notes",
        "linux-x86_64-deb",
        &art,
        "c2ln",
    )
    .unwrap();
    let got: assay_platform::updates::UpdateManifest =
        get_public(&manifest).await.json().await.unwrap();
    assert_eq!(got, m);
    let b = &got.platforms["linux-x86_64-deb"];
    assert_eq!(b.size, 20);
    let bytes = get_public(&b.url).await.bytes().await.unwrap();
    assert_eq!(&bytes[..], b"debian package bytes");
    for bad in ["..%2Fp.sqlite", ".hidden", "manifest.json"] {
        let r = get_public(&format!("{base}/api/v1/updates/files/{bad}")).await;
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
    }
    server.shutdown().await.unwrap();
}
