//! Publishing API over real HTTP on loopback: roles, rubric versions,
//! opportunities, attachments, NDJSON import, assignment policy, export.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::path::PathBuf;

use assay_platform::testing::{start_empty, start_seeded, EmptyPlatform};
use assay_protocol::{ApiError, ApiErrorCode, Assignment, AssignmentPage, RateCard};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scan-triage")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(example(name)).unwrap()
}

fn err(v: &Value) -> ApiError {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not an ApiError ({e}): {v}"))
}

struct Http {
    http: reqwest::Client,
    base: String,
}

impl Http {
    fn new(p: &EmptyPlatform) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: p.api_url(""),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<reqwest::Body>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type);
        if let Some(b) = body {
            req = req.body(b);
        }
        let r = req.send().await.unwrap();
        let s = r.status();
        let text = r.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        self.call(
            method,
            path,
            token,
            Some(body.to_string().into()),
            "application/json",
        )
        .await
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.json(reqwest::Method::POST, path, token, body).await
    }

    async fn put(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.json(reqwest::Method::PUT, path, token, body).await
    }

    /// POSTs `body` as `content_type`.
    async fn post_body(
        &self,
        path: &str,
        token: &str,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        self.call(
            reqwest::Method::POST,
            path,
            token,
            Some(body.into()),
            content_type,
        )
        .await
    }

    /// Runs the assignment policy of the opportunity `OPP` now.
    async fn assign_pending(&self, token: &str) -> (StatusCode, Value) {
        let path = format!("/admin/opportunities/{OPP}/assign");
        self.post(&path, token, &json!({})).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, token, None, "application/json")
            .await
    }

    async fn rubric(&self, token: &str, text: &str, format: &str) -> (StatusCode, Value) {
        self.post_body(
            &format!("/author/rubrics?format={format}"),
            token,
            text.to_owned(),
            "text/plain",
        )
        .await
    }

    async fn attachment(&self, token: &str, sha: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("/attachments/{sha}"),
            token,
            Some(bytes.into()),
            "image/png",
        )
        .await
    }

    async fn put_opportunity(&self, token: &str, spec: &Value) -> (StatusCode, Value) {
        self.put(&format!("/author/opportunities/{OPP}"), token, spec)
            .await
    }

    async fn import(
        &self,
        token: &str,
        opp: &str,
        ndjson: &str,
        partial: bool,
    ) -> (StatusCode, Value) {
        self.post_body(
            &format!("/author/opportunities/{opp}/items?partial={partial}"),
            token,
            ndjson.to_owned(),
            "application/x-ndjson",
        )
        .await
    }

    /// Imports `ndjson` into `OPP` whole, which must succeed; the report.
    async fn import_ok(&self, token: &str, ndjson: &str) -> Value {
        let (s, v) = self.import(token, OPP, ndjson, false).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }
}

/// Submits `answers` to assignment `a` with `token` under the idempotency
/// `key`; the submission id.
async fn submit(
    h: &Http,
    token: &str,
    a: &Assignment,
    answers: &Value,
    active_seconds: u64,
    key: &str,
) -> String {
    let r = h
        .http
        .post(format!("{}/submissions", h.base))
        .bearer_auth(token)
        .header(assay_protocol::IDEMPOTENCY_KEY_HEADER, key)
        .json(&json!({
            "assignment_id": a.id, "rubric_id": a.rubric_id, "rubric_version": a.rubric_version,
            "answers": answers, "active_seconds": active_seconds,
            "client_created_at": "2026-12-01T10:00:00Z"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["submission_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An empty platform, a client of its API and its admin token.
async fn start() -> (EmptyPlatform, Http, String) {
    let p = start_empty().await.unwrap();
    let h = Http::new(&p);
    let admin = p.admin_token.clone();
    (p, h, admin)
}

/// `start`, with a radiology expert account for each of `emails` (their
/// tokens, in order).
async fn start_with_radiologists<const N: usize>(
    emails: [&str; N],
) -> (EmptyPlatform, Http, String, [String; N]) {
    let (p, h, admin) = start().await;
    let mut tokens = Vec::new();
    for email in emails {
        tokens.push(account(&h, &admin, email, "expert", &["radiology"]).await);
    }
    (p, h, admin, tokens.try_into().unwrap())
}

/// An account with `role` (and expertise), returning its token.
async fn account(h: &Http, admin: &str, email: &str, role: &str, expertise: &[&str]) -> String {
    let (s, v) = h
        .post("/admin/experts",
            admin,
            &json!({"email": email, "display_name": email, "role": role, "expertise": expertise, "password": "pw"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

const OPP: &str = "er-triage-2026-12";

fn opportunity_spec() -> Value {
    let mut v: Value = toml::from_str(&read("opportunity.toml")).unwrap();
    v.as_object_mut().unwrap().remove("id");
    v
}

async fn upload_examples(h: &Http, token: &str) {
    for f in ["head-ct-0142.dcm", "wrist-pa-0317.png", "chest-pa-0588.png"] {
        let bytes = std::fs::read(example(&format!("attachments/{f}"))).unwrap();
        let sha = hex::encode(Sha256::digest(&bytes));
        let (s, v) = h.attachment(token, &sha, bytes).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

/// Publishes the example rubric with `token`.
async fn publish_rubric(h: &Http, token: &str) {
    let (s, v) = h.rubric(token, &read("rubric.toml"), "toml").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Publishes the example rubric and the opportunity `spec` with `token`.
async fn publish_with(h: &Http, token: &str, spec: &Value) {
    publish_rubric(h, token).await;
    let (s, v) = h.put_opportunity(token, spec).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Publishes the example rubric and opportunity with `token`.
async fn publish_examples(h: &Http, token: &str) {
    publish_with(h, token, &opportunity_spec()).await;
}

/// Publishes the example rubric and the opportunity `spec`, uploads the
/// example attachments and imports the example items; the import's answer.
async fn publish_and_import(h: &Http, token: &str, spec: &Value) -> Value {
    publish_rubric(h, token).await;
    put_and_import(h, token, spec).await
}

/// [`publish_and_import`] with the rubric already published.
async fn put_and_import(h: &Http, token: &str, spec: &Value) -> Value {
    let (s, v) = h.put_opportunity(token, spec).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    upload_examples(h, token).await;
    let (s, v) = h.import(token, OPP, &read("items.ndjson"), false).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn roles_gate_every_publishing_and_admin_route() {
    let (p, h, admin, [expert]) = start_with_radiologists(["rad@example.org"]).await;
    let author = account(&h, &admin, "author@example.org", "author", &[]).await;
    let operator = account(&h, &admin, "ops@example.org", "operator", &[]).await;

    // Expert token: every author and admin route is 403 with an ApiError naming the roles.
    let author_routes: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::POST, "/author/rubrics?format=toml".into()),
        (reqwest::Method::PUT, format!("/author/opportunities/{OPP}")),
        (reqwest::Method::GET, format!("/author/opportunities/{OPP}")),
        (
            reqwest::Method::POST,
            format!("/author/opportunities/{OPP}/items"),
        ),
        (
            reqwest::Method::PUT,
            format!("/attachments/{}", "a".repeat(64)),
        ),
        (
            reqwest::Method::GET,
            format!("/author/attachments/{}", "a".repeat(64)),
        ),
    ];
    let admin_routes: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::POST, "/admin/experts".into()),
        (
            reqwest::Method::POST,
            format!("/admin/opportunities/{OPP}/assign"),
        ),
        (reqwest::Method::GET, "/admin/export".into()),
        (reqwest::Method::POST, "/admin/payouts".into()),
        (reqwest::Method::POST, "/admin/tokens".into()),
        (reqwest::Method::POST, "/admin/assignments".into()),
        (reqwest::Method::POST, "/admin/outcomes".into()),
    ];
    for (m, path) in author_routes.iter().chain(&admin_routes) {
        let (s, v) = h.json(m.clone(), path, &expert, &json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {path}: {v}");
        let e = err(&v);
        assert_eq!(e.code, ApiErrorCode::Forbidden);
        assert!(e.message.contains("expert role"), "{path}: {}", e.message);
    }
    // Author token: admin routes refused, author routes let through (to validation).
    for (m, path) in &admin_routes {
        let (s, v) = h.json(m.clone(), path, &author, &json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {path}: {v}");
        assert!(err(&v).message.contains("needs the operator role"), "{v}");
    }
    let (s, v) = h.rubric(&author, "id = ", "toml").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Operator tokens and the admin token pass both.
    for token in [&operator, &admin] {
        let (s, v) = h.get("/admin/export", token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = h.rubric(token, "id = ", "toml").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    // Unknown tokens are 401, not 403.
    let (s, v) = h.get("/admin/export", "asy_nope").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(err(&v).code, ApiErrorCode::Unauthorized);
    // Every role can still do expert work (its own profile).
    for token in [&expert, &author, &operator] {
        let (s, v) = h.get("/me", token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // A token issued by an operator carries the role asked for.
    let (s, v) = h
        .post(
            "/admin/tokens",
            &operator,
            &json!({"expert_email": "rad@example.org", "role": "author"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h.rubric(v["token"].as_str().unwrap(), "x", "toml").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn seeded_admin_token_still_runs_the_admin_api() {
    let p = start_seeded().await.unwrap();
    for (token, want) in [
        (&p.admin_token, StatusCode::OK),
        // The demo reviewer's own token is an expert token: 403 on the admin API.
        (&p.expert_token, StatusCode::FORBIDDEN),
    ] {
        let r = reqwest::Client::new()
            .post(p.api_url("/admin/tokens"))
            .bearer_auth(token)
            .json(&json!({"expert_email": "demo@assay.dev"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
    }
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn rubric_versions_are_linted_and_immutable() {
    let (p, h, admin) = start().await;
    let good = read("rubric.toml");

    // Lint errors: every finding, with line and column; nothing stored.
    let bad = good
        .replace("min = 1\nmax = 4", "min = 4\nmax = 1")
        .replace("id = \"finding\"", "id = \"quality\"");
    let (s, v) = h.rubric(&admin, &bad, "toml").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let e = err(&v);
    assert_eq!(e.code, ApiErrorCode::ValidationFailed);
    let findings = e.details.unwrap()["findings"].as_array().unwrap().clone();
    let codes: Vec<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"scale-range"), "{codes:?}");
    assert!(codes.contains(&"duplicate-question"), "{codes:?}");
    let scale = findings
        .iter()
        .find(|f| f["code"] == "scale-range")
        .unwrap();
    // Located at a question `quality` (the rubric now has two).
    let quality_lines: Vec<u64> = bad
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "id = \"quality\"")
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert!(
        quality_lines.contains(&scale["line"].as_u64().unwrap()),
        "{scale} {quality_lines:?}"
    );
    assert!(scale["column"].as_u64().is_some(), "{scale}");
    let (s, _) = h.get("/rubrics/er-imaging-triage/versions/1", &admin).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED); // the admin token is not an expert token
    let expert = account(&h, &admin, "rad@example.org", "expert", &["radiology"]).await;
    let (s, _) = h
        .get("/rubrics/er-imaging-triage/versions/1", &expert)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a refused rubric is not stored");

    // Syntax errors carry the parser's line and column.
    let (s, v) = h
        .rubric(&admin, "{\n  \"id\": \"x\",\n  oops\n}", "json")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let f = &err(&v).details.unwrap()["findings"][0];
    assert_eq!(f["code"], "syntax");
    assert_eq!(f["line"], 3, "{f}");

    // Unknown keys are lint errors too (as `assay rubric lint` reports them).
    let coloured = good.replace(
        "estimated_minutes = 8",
        "estimated_minutes = 8\ncolour = \"red\"",
    );
    let (s, v) = h.rubric(&admin, &coloured, "toml").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let colour_line = coloured
        .lines()
        .position(|l| l.starts_with("colour"))
        .unwrap() as u64
        + 1;
    let findings = err(&v).details.unwrap()["findings"].clone();
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["line"].as_u64() == Some(colour_line)),
        "a finding points at line {colour_line}: {findings}"
    );

    // Publish, then the same bytes again: idempotent.
    let (s, v) = h.rubric(&admin, &good, "toml").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], true);
    assert_eq!(v["version"], 1);
    let (s, v) = h.rubric(&admin, &good, "toml").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    let (_, stored) = h
        .get("/rubrics/er-imaging-triage/versions/1", &expert)
        .await;

    // Same version, other content: refused, stored version unchanged.
    let changed = good.replace("amount_cents = 1500", "amount_cents = 1700");
    let (s, v) = h.rubric(&admin, &changed, "toml").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(err(&v).message.contains("version = 2"), "{v}");
    let (_, after) = h
        .get("/rubrics/er-imaging-triage/versions/1", &expert)
        .await;
    assert_eq!(stored, after);
    assert_eq!(after["document"]["payout"]["amount_cents"], 1500);

    // The next version is accepted; an older number afterwards is not.
    let v2 = changed.replace("version = 1", "version = 2");
    let (s, v) = h.rubric(&admin, &v2, "toml").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = h
        .get("/rubrics/er-imaging-triage/versions/2", &expert)
        .await;
    assert_eq!(s, StatusCode::OK);
    let old = good.replace("title = \"Triage", "title = \"Old triage");
    let (s, _) = h.rubric(&admin, &old, "toml").await;
    assert_eq!(s, StatusCode::CONFLICT);

    // JSON and YAML read exactly like the CLI lint reads them.
    let json_rubric = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rubric/examples/legal_redline.json"),
    )
    .unwrap();
    let (s, v) = h.rubric(&admin, &json_rubric, "json").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let yaml_rubric = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rubric/examples/pairwise_chat.yaml"),
    )
    .unwrap();
    let (s, v) = h
        .post_body("/author/rubrics", &admin, yaml_rubric, "application/yaml")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // No format at all: a clear 400.
    let (s, v) = h
        .post_body("/author/rubrics", &admin, good, "text/plain")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(err(&v).message.contains("format"), "{v}");
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn opportunities_carry_the_whole_card() {
    let (p, h, admin, [expert]) = start_with_radiologists(["rad@example.org"]).await;

    // The rubric must be published first.
    let (s, v) = h.put_opportunity(&admin, &opportunity_spec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err(&v).message.contains("not published"), "{v}");
    publish_rubric(&h, &admin).await;

    // Unknown fields are refused by name.
    let mut spec = opportunity_spec();
    spec["colour"] = json!("red");
    let (s, v) = h.put_opportunity(&admin, &spec).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(err(&v).message.contains("colour"), "{v}");

    // Every card field; the ones left out come from the rubric.
    let mut spec = opportunity_spec();
    spec["qualification"]["screening_required"] = json!(false);
    spec["exclusions"] = json!(["Skip studies of minors"]);
    let (s, v) = h.put_opportunity(&admin, &spec).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], true);
    let (s, card) = h.get(&format!("/author/opportunities/{OPP}"), &admin).await;
    assert_eq!(s, StatusCode::OK);
    let c = &card["spec"];
    assert_eq!(
        c["audience"],
        "Board-certified radiologists or senior radiology residents"
    );
    assert_eq!(c["taxonomy"], json!(["medical", "radiology", "triage"]));
    assert!(c["deliverable"].as_str().unwrap().contains("urgency"));
    assert_eq!(c["estimated_minutes"], 8);
    assert_eq!(c["grading_criteria"].as_array().unwrap().len(), 4);
    assert_eq!(c["exclusions"], json!(["Skip studies of minors"]));
    assert_eq!(
        c["payout"],
        json!({"basis": "per_item", "amount_cents": 1500, "currency": "USD"})
    );
    assert_eq!(c["licence_category"], "commercial-training");
    assert_eq!(
        c["qualification"]["required_expertise"],
        json!(["radiology"])
    );
    assert_eq!(c["assignment"]["graders_per_item"], 1);
    assert_eq!(c["assignment"]["lease_minutes"], 240);

    // Experts see it in the catalogue, with its rate.
    let (_, list) = h.get("/opportunities", &expert).await;
    let o = list["opportunities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == OPP)
        .unwrap()
        .clone();
    assert_eq!(o["buyer"], "Northwind Health AI");
    assert_eq!(o["rubric_version"], 1);
    let (_, card_rates) = h.get("/rate-card", &expert).await;
    let rates: RateCard = serde_json::from_value(card_rates).unwrap();
    assert_eq!(
        rates
            .rates
            .iter()
            .filter(|r| r.opportunity_id == OPP)
            .count(),
        1
    );

    // Update: a new payout becomes a new rate; bad values are listed.
    spec["payout"] = json!({"basis": "per_item", "amount_cents": 2000, "currency": "USD"});
    spec["title"] = json!("Overnight ER imaging triage (updated)");
    let (s, v) = h.put_opportunity(&admin, &spec).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    let (_, card_rates) = h.get("/rate-card", &expert).await;
    let rates: RateCard = serde_json::from_value(card_rates).unwrap();
    let mine: Vec<_> = rates
        .rates
        .iter()
        .filter(|r| r.opportunity_id == OPP)
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine.last().unwrap().amount_cents, 2000);
    let mut broken = spec.clone();
    broken["payout"] = json!({"basis": "per_item", "amount_cents": -5, "currency": "dollars"});
    broken["assignment"]["graders_per_item"] = json!(0);
    let (s, v) = h.put_opportunity(&admin, &broken).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let problems = err(&v).details.unwrap()["problems"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(problems, 3, "{v}");
    let (_, card) = h.get(&format!("/author/opportunities/{OPP}"), &admin).await;
    assert_eq!(
        card["spec"]["title"], "Overnight ER imaging triage (updated)",
        "unchanged by the refused update"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn attachments_are_verified_and_idempotent() {
    let (p, h, admin) = start().await;
    let bytes = std::fs::read(example("attachments/wrist-pa-0317.png")).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));

    // Bytes that do not match the URL's hash: refused, nothing stored.
    let mut wrong = bytes.clone();
    wrong[100] ^= 1;
    let (s, v) = h.attachment(&admin, &sha, wrong).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err(&v).message.contains(&sha), "{v}");
    let blob = p.dir().join("blobs").join(&sha[..2]).join(&sha);
    assert!(!blob.exists());
    // Storage calls block: off the async threads (PostgreSQL refuses otherwise).
    let storage = p.server.storage();
    let sha2 = sha.clone();
    let meta = tokio::task::spawn_blocking(move || storage.blob_meta(&sha2))
        .await
        .unwrap()
        .unwrap();
    assert!(meta.is_none());
    let leftovers = std::fs::read_dir(p.dir().join("blobs").join(&sha[..2]))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0, "the partial upload is removed");

    // Not a sha256.
    let (s, _) = h
        .attachment(&admin, "../../etc/passwd", bytes.clone())
        .await;
    assert!(
        s == StatusCode::BAD_REQUEST || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (s, _) = h
        .attachment(&admin, &sha.to_uppercase(), bytes.clone())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The right bytes, twice.
    let (s, v) = h.attachment(&admin, &sha, bytes.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], true);
    assert_eq!(v["size"], bytes.len());
    assert_eq!(v["media_type"], "image/png");
    let (s, v) = h.attachment(&admin, &sha, bytes.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    assert_eq!(std::fs::read(&blob).unwrap(), bytes);
    // A repeat with other bytes is still refused and changes nothing.
    let (s, v) = h.attachment(&admin, &sha, b"other bytes".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(std::fs::read(&blob).unwrap(), bytes);
    // Authors can ask what is there (the CLI skips those uploads).
    let (s, v) = h.get(&format!("/author/attachments/{sha}"), &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["size"], bytes.len());
    let (s, v) = h
        .get(&format!("/author/attachments/{}", "d".repeat(64)), &admin)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    p.shutdown().await.unwrap();
}

/// Sends headers claiming a 2 GB body and no body; returns the status line and body.
async fn claim_huge_body(p: &EmptyPlatform, method: &str, path: &str, token: &str) -> String {
    let mut sock = tokio::net::TcpStream::connect(p.server.addr())
        .await
        .unwrap();
    let req = format!(
        "{method} {}{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 2147483648\r\n\r\n",
        assay_protocol::API_PREFIX
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), sock.read(&mut buf))
        .await
        .expect("the server answers without waiting for 2 GB")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn two_gigabyte_bodies_are_refused_up_front() {
    let (p, h, admin) = start().await;
    publish_examples(&h, &admin).await;
    for (method, path) in [
        ("PUT", format!("/attachments/{}", "b".repeat(64))),
        ("POST", format!("/author/opportunities/{OPP}/items")),
        ("POST", "/author/rubrics?format=toml".to_owned()),
    ] {
        let answer = claim_huge_body(&p, method, &path, &admin).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("payload_too_large"), "{path}: {answer}");
    }
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn imports_check_every_line_and_are_all_or_nothing() {
    let (p, h, admin, [expert]) = start_with_radiologists(["rad@example.org"]).await;
    publish_examples(&h, &admin).await;
    let good = read("items.ndjson");

    // Attachments not uploaded yet: every line says which one is missing.
    let (s, v) = h.import(&admin, OPP, &good, false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let bad = err(&v).details.unwrap()["bad_lines"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(bad.len(), 3, "{v}");
    assert!(
        bad[0]["reason"]
            .as_str()
            .unwrap()
            .contains("was not uploaded"),
        "{v}"
    );
    upload_examples(&h, &admin).await;

    // One bad line of each kind among good ones.
    let lines: Vec<&str> = good.lines().collect();
    let mut wrong_shape: Value = serde_json::from_str(lines[1]).unwrap();
    wrong_shape["external_id"] = json!("ER-X-shape");
    wrong_shape["fields"]["study"] = json!({"type": "text", "value": "not a scan"});
    let mut undeclared: Value = serde_json::from_str(lines[1]).unwrap();
    undeclared["external_id"] = json!("ER-X-undeclared");
    undeclared["fields"]["diagnosis"] = json!({"type": "text", "value": "fracture"});
    let mut missing_blob: Value = serde_json::from_str(lines[1]).unwrap();
    missing_blob["external_id"] = json!("ER-X-blob");
    missing_blob["fields"]["study"]["value"]["sha256"] = json!("c".repeat(64));
    let mut unknown_key: Value = serde_json::from_str(lines[2]).unwrap();
    unknown_key["external_id"] = json!("ER-X-key");
    unknown_key["priority"] = json!(1);
    let batch = [
        lines[0].to_owned(),
        "{\"external_id\": \"ER-X-malformed\", \"title\": ".to_owned(),
        wrong_shape.to_string(),
        String::new(),
        undeclared.to_string(),
        missing_blob.to_string(),
        unknown_key.to_string(),
        lines[0].to_owned(),
        lines[1].to_owned(),
    ]
    .join("\n");
    let (s, v) = h.import(&admin, OPP, &batch, false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let e = err(&v);
    assert!(e.message.contains("nothing was imported"), "{}", e.message);
    let bad = e.details.unwrap()["bad_lines"].as_array().unwrap().clone();
    let reasons: Vec<(u64, String)> = bad
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reasons.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 3, 5, 6, 7, 8],
        "{reasons:?}"
    );
    assert!(
        reasons[0].1.contains("not a valid import line"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].1.contains("viewer `scan` needs an attachment"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].1.contains("`diagnosis` is not declared"),
        "{reasons:?}"
    );
    assert!(reasons[3].1.contains("was not uploaded"), "{reasons:?}");
    assert!(reasons[4].1.contains("priority"), "{reasons:?}");
    assert!(
        reasons[5].1.contains("already appears on line 1"),
        "{reasons:?}"
    );
    // Nothing was stored: the expert has no work.
    let (_, page) = h.get("/assignments", &expert).await;
    assert_eq!(
        serde_json::from_value::<AssignmentPage>(page)
            .unwrap()
            .assignments
            .len(),
        0
    );

    // partial=true: the good lines go in, the bad ones are listed.
    let (s, v) = h.import(&admin, OPP, &batch, true).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], 2, "{v}");
    assert_eq!(v["rejected"].as_array().unwrap().len(), 6);
    assert_eq!(v["assigned"], 2, "the policy hands the new items out");

    // The full file: one more created, two unchanged.
    let v = h.import_ok(&admin, &good).await;
    assert_eq!(
        (v["created"].as_u64(), v["unchanged"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    let (_, page) = h.get("/assignments", &expert).await;
    let page: AssignmentPage = serde_json::from_value(page).unwrap();
    assert_eq!(page.assignments.len(), 3);
    let first = page
        .assignments
        .iter()
        .find(|a| a.item_title.starts_with("Head CT"))
        .unwrap()
        .clone();
    assert_eq!(first.item_revision, 1);
    assert_eq!(
        (first.rubric_id.as_str(), first.rubric_version),
        ("er-imaging-triage", 1)
    );
    let lease = first.lease_expires_at - first.assigned_at;
    assert_eq!(lease.num_minutes(), 240, "the policy's lease length");

    // Re-import with changed content: the revision rises and the feed re-publishes it.
    let changed = good.replacen("GCS 14", "GCS 13", 1);
    let v = h.import_ok(&admin, &changed).await;
    assert_eq!(
        (v["updated"].as_u64(), v["unchanged"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    let (_, page2) = h
        .get(&format!("/assignments?since={}", page.next_cursor), &expert)
        .await;
    let page2: AssignmentPage = serde_json::from_value(page2).unwrap();
    assert_eq!(
        page2.assignments.len(),
        1,
        "only the changed item comes again"
    );
    assert_eq!(page2.assignments[0].item_revision, 2);
    let (_, item) = h.get(&format!("/items/{}", first.item_id), &expert).await;
    assert!(item["item"]["fields"]["referral"]["value"]
        .as_str()
        .unwrap()
        .contains("GCS 13"));
    assert_eq!(
        item["item"]["fields"]["study"]["value"]["media_type"],
        "application/dicom"
    );
    // The attachment is readable by the assigned expert.
    let sha = item["item"]["fields"]["study"]["value"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = reqwest::Client::new()
        .get(p.api_url(&format!("/attachments/{sha}")))
        .bearer_auth(&expert)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(hex::encode(Sha256::digest(r.bytes().await.unwrap())), sha);

    // Unknown opportunity.
    let (s, _) = h.import(&admin, "nope", &good, false).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn items_keep_the_rubric_version_they_were_imported_with() {
    let (p, h, admin, [expert]) = start_with_radiologists(["rad@example.org"]).await;
    publish_examples(&h, &admin).await;
    upload_examples(&h, &admin).await;
    let text = read("items.ndjson");
    let lines: Vec<&str> = text.lines().collect();
    let (s, v) = h.import(&admin, OPP, lines[0], false).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // v2 of the rubric, and the opportunity moves to it.
    let v2 = read("rubric.toml")
        .replace("version = 1", "version = 2")
        .replace("amount_cents = 1500", "amount_cents = 1600");
    let (s, _) = h.rubric(&admin, &v2, "toml").await;
    assert_eq!(s, StatusCode::OK);
    let mut spec = opportunity_spec();
    spec["rubric_version"] = json!(2);
    let (s, v) = h.put_opportunity(&admin, &spec).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h.import(&admin, OPP, lines[1], false).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, page) = h.get("/assignments", &expert).await;
    let page: AssignmentPage = serde_json::from_value(page).unwrap();
    let mut pins: Vec<(String, u32)> = page
        .assignments
        .iter()
        .map(|a| (a.item_title.clone(), a.rubric_version))
        .collect();
    pins.sort();
    assert_eq!(
        pins,
        vec![
            (
                "Head CT, fall from standing, on anticoagulants".to_owned(),
                1
            ),
            ("Wrist PA, FOOSH injury".to_owned(), 2)
        ]
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn policy_gives_each_item_n_distinct_qualified_graders_round_robin() {
    let (p, h, admin) = start().await;
    let mut radiologists = Vec::new();
    for i in 0..3 {
        radiologists.push(
            account(
                &h,
                &admin,
                &format!("rad{i}@example.org"),
                "expert",
                &["radiology", "ct"],
            )
            .await,
        );
    }
    let lawyer = account(&h, &admin, "law@example.org", "expert", &["contract-law"]).await;
    let author = account(&h, &admin, "author@example.org", "author", &["radiology"]).await;
    let mut spec = opportunity_spec();
    spec["assignment"] = json!({"graders_per_item": 2, "lease_minutes": 30, "auto_assign": false});
    let v = publish_and_import(&h, &admin, &spec).await;
    assert_eq!(v["assigned"], 0, "auto_assign is off");

    let (s, v) = h.assign_pending(&admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["assignments"].as_array().unwrap().len(),
        6,
        "3 items x 2 graders"
    );
    // Running it again adds nothing: every item has its graders.
    let (_, again) = h.assign_pending(&admin).await;
    assert_eq!(again["assignments"].as_array().unwrap().len(), 0);

    let mut per_item: std::collections::BTreeMap<String, usize> = Default::default();
    let mut per_expert = Vec::new();
    for t in &radiologists {
        let (_, page) = h.get("/assignments", t).await;
        let page: AssignmentPage = serde_json::from_value(page).unwrap();
        per_expert.push(page.assignments.len());
        for a in &page.assignments {
            *per_item.entry(a.item_id.clone()).or_default() += 1;
            assert_eq!((a.lease_expires_at - a.assigned_at).num_minutes(), 30);
        }
        let distinct: std::collections::BTreeSet<_> =
            page.assignments.iter().map(|a| &a.item_id).collect();
        assert_eq!(
            distinct.len(),
            page.assignments.len(),
            "never the same item twice"
        );
    }
    assert_eq!(
        per_expert,
        vec![2, 2, 2],
        "round-robin spreads the work evenly"
    );
    assert!(per_item.values().all(|n| *n == 2), "{per_item:?}");
    for t in [&lawyer, &author] {
        let (_, page) = h.get("/assignments", t).await;
        assert_eq!(
            page["assignments"].as_array().unwrap().len(),
            0,
            "not qualified"
        );
    }

    // Screening required: nobody has passed it yet, so nobody new gets work.
    spec["qualification"]["screening_required"] = json!(true);
    spec["assignment"]["graders_per_item"] = json!(3);
    let (s, _) = h.put_opportunity(&admin, &spec).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = h.assign_pending(&admin).await;
    assert_eq!(v["assignments"].as_array().unwrap().len(), 0, "{v}");
    p.shutdown().await.unwrap();
}

async fn cli(p: &EmptyPlatform, words: &[&str]) -> Result<String, assay_platform::cli::CliError> {
    let mut args: Vec<String> = std::iter::once("assay-platform")
        .chain(words.iter().copied())
        .map(str::to_owned)
        .collect();
    args.extend([
        "--server".to_owned(),
        p.base_url(),
        "--token".to_owned(),
        p.admin_token.clone(),
    ]);
    let command = assay_platform::cli::RemoteCli::parse_command(&args).unwrap();
    let mut out = Vec::new();
    assay_platform::cli::run(command, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

/// `assay-platform import ITEMS --opportunity OPP [--attachments DIR]`
/// against `p`.
async fn import_cli(
    p: &EmptyPlatform,
    items: &std::path::Path,
    attachments: Option<&std::path::Path>,
) -> Result<String, assay_platform::cli::CliError> {
    let mut words = vec!["import", items.to_str().unwrap(), "--opportunity", OPP];
    if let Some(dir) = attachments {
        words.extend(["--attachments", dir.to_str().unwrap()]);
    }
    cli(p, &words).await
}

/// `assay-platform assign --item ITEM --expert EXPERT` against `p`.
async fn assign(
    p: &EmptyPlatform,
    item: &str,
    expert: &str,
) -> Result<String, assay_platform::cli::CliError> {
    cli(p, &["assign", "--item", item, "--expert", expert]).await
}

#[tokio::test]
async fn cli_reports_lint_errors_bad_attachments_and_runs_the_policy() {
    let p = start_empty().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).display().to_string();

    // A rubric with lint errors: every finding, with the file and line:column.
    let bad = read("rubric.toml").replace("min = 1\nmax = 4", "min = 4\nmax = 1");
    std::fs::write(path("bad.toml"), &bad).unwrap();
    let e = cli(&p, &["rubric", "publish", &path("bad.toml")])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("lint error"), "{e}");
    assert!(
        e.contains(&format!("{}:", path("bad.toml"))) && e.contains("error[scale-range]"),
        "{e}"
    );
    // `assay-platform KIND publish` of an example file.
    let publish = |kind: &'static str, file: &str| {
        let (p, path) = (&p, example(file));
        async move {
            cli(p, &[kind, "publish", path.to_str().unwrap()])
                .await
                .unwrap()
        }
    };
    let out = publish("rubric", "rubric.toml").await;
    assert_eq!(out.trim(), "published rubric er-imaging-triage version 1");
    let out = publish("opportunity", "opportunity.toml").await;
    assert!(
        out.starts_with("created opportunity er-triage-2026-12"),
        "{out}"
    );

    // An attachments folder whose file does not match the sha256 the items name.
    let atts = dir.path().join("atts");
    std::fs::create_dir(&atts).unwrap();
    for f in ["head-ct-0142.dcm", "wrist-pa-0317.png", "chest-pa-0588.png"] {
        std::fs::copy(example(&format!("attachments/{f}")), atts.join(f)).unwrap();
    }
    std::fs::write(atts.join("wrist-pa-0317.png"), b"not the radiograph").unwrap();
    let items = example("items.ndjson");
    let e = import_cli(&p, &items, Some(&atts))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("wrist-pa-0317.png") && e.contains("sha256"),
        "{e}"
    );
    // Without --attachments the command says what is missing.
    let e = import_cli(&p, &items, None).await.unwrap_err().to_string();
    assert!(e.contains("--attachments"), "{e}");

    // The real folder: imported, but nobody qualifies yet.
    let out = import_cli(&p, &items, Some(&example("attachments")))
        .await
        .unwrap();
    assert!(
        out.contains("3 created") && out.contains("0 assignment(s) made"),
        "{out}"
    );
    let token = cli(
        &p,
        &[
            "expert",
            "add",
            "--email",
            "rad@example.org",
            "--name",
            "Rad",
            "--expertise",
            "radiology,ct",
        ],
    )
    .await
    .unwrap();
    assert!(token.trim().starts_with("asy_"));
    let out = cli(&p, &["assign", "--opportunity", OPP]).await.unwrap();
    assert_eq!(out.trim(), format!("3 assignment(s) made in {OPP}"));
    // Adding the same e-mail twice is a clear conflict.
    let e = cli(
        &p,
        &[
            "expert",
            "add",
            "--email",
            "RAD@example.org",
            "--name",
            "Rad",
            "--role",
            "author",
        ],
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("already exists"), "{e}");
    // Nothing graded yet: an empty export.
    let out = cli(&p, &["export"]).await.unwrap();
    assert_eq!(out, "");
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_screening_item_gates_the_opportunity_for_new_experts() {
    let (p, h, admin, [passer, failer]) =
        start_with_radiologists(["pass@example.org", "fail@example.org"]).await;
    let mut spec = opportunity_spec();
    spec["qualification"]["screening_required"] = json!(true);
    spec["qualification"]["screening_external_id"] = json!("ER-SCREEN-1");
    publish_with(&h, &admin, &spec).await;
    upload_examples(&h, &admin).await;
    let items = read("items.ndjson");
    let first = items.lines().next().unwrap();
    let mut screening: Value = serde_json::from_str(first).unwrap();
    screening["external_id"] = json!("ER-SCREEN-1");
    screening["title"] = json!("Screening: head CT");
    let batch = format!("{items}{screening}\n");
    let v = h.import_ok(&admin, &batch).await;
    assert_eq!(
        v["assigned"], 2,
        "one screening task each, no graded work yet: {v}"
    );

    let answers = json!({"answers": {
        "finding": {"type": "single_choice", "choice": "absent"},
        "quality": {"type": "scale", "value": 4},
        "urgency": {"type": "single_choice", "choice": "routine"},
        "impression": {"type": "free_text", "text": "No acute intracranial abnormality."}
    }});
    let mut submissions = Vec::new();
    for (token, key) in [(&passer, "k-pass"), (&failer, "k-fail")] {
        let (_, page) = h.get("/assignments", token).await;
        let page: AssignmentPage = serde_json::from_value(page).unwrap();
        assert_eq!(page.assignments.len(), 1);
        let a = &page.assignments[0];
        assert_eq!(a.kind, assay_protocol::AssignmentKind::Screening);
        assert_eq!(a.item_title, "Screening: head CT");
        submissions.push(submit(&h, token, a, &answers, 300, key).await);
    }
    for (sub, status) in submissions.iter().zip(["accepted", "rejected"]) {
        let (s, v) = h
            .post(
                "/admin/outcomes",
                &admin,
                &json!({"submission_id": sub, "status": status}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, v) = h.assign_pending(&admin).await;
    assert_eq!(v["assignments"].as_array().unwrap().len(), 3, "{v}");
    let (_, page) = h.get("/assignments", &passer).await;
    let page: AssignmentPage = serde_json::from_value(page).unwrap();
    let grades: Vec<_> = page
        .assignments
        .iter()
        .filter(|a| a.kind == assay_protocol::AssignmentKind::Grade)
        .collect();
    assert_eq!(grades.len(), 3, "the expert who passed gets the work");
    assert!(grades
        .iter()
        .all(|a| !a.item_title.starts_with("Screening")));
    let (_, page) = h.get("/assignments", &failer).await;
    assert_eq!(
        page["assignments"].as_array().unwrap().len(),
        1,
        "failed: no work, no second screening"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn senior_review_sampling_follows_the_policy_rate() {
    let (p, h, admin, [grader]) = start_with_radiologists(["grader@example.org"]).await;
    let (s, v) = h
        .post("/admin/experts",
            &admin,
            &json!({"email": "senior@example.org", "display_name": "Senior", "expertise": ["radiology"], "senior_reviewer": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let senior = v["token"].as_str().unwrap().to_owned();
    publish_rubric(&h, &admin).await;
    let mut spec = opportunity_spec();
    spec["assignment"]["senior_review_rate"] = json!(1.5);
    let (s, v) = h.put_opportunity(&admin, &spec).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err(&v).message.contains("senior_review_rate"), "{v}");
    spec["assignment"]["senior_review_rate"] = json!(0.5);
    spec["assignment"]["graders_per_item"] = json!(1);
    let v = put_and_import(&h, &admin, &spec).await;
    assert_eq!(v["assigned"], 3, "{v}");

    let answers = json!({"answers": {
        "finding": {"type": "single_choice", "choice": "absent"},
        "quality": {"type": "scale", "value": 4},
        "urgency": {"type": "single_choice", "choice": "routine"},
        "impression": {"type": "free_text", "text": "No acute abnormality seen."}
    }});
    let (_, page) = h.get("/assignments", &grader).await;
    let mine: AssignmentPage = serde_json::from_value(page).unwrap();
    assert_eq!(
        mine.assignments.len(),
        2,
        "round-robin over both radiologists"
    );
    let (_, page) = h.get("/assignments", &senior).await;
    let theirs: AssignmentPage = serde_json::from_value(page).unwrap();
    assert_eq!(theirs.assignments.len(), 1);
    // Submissions 1..3 of the opportunity: only the 2nd is sampled (floor(n/2) steps at n=2).
    submit(&h, &grader, &mine.assignments[0], &answers, 200, "g1").await;
    submit(&h, &senior, &theirs.assignments[0], &answers, 200, "s1").await;
    let third = submit(&h, &grader, &mine.assignments[1], &answers, 200, "g2").await;
    // A replay samples nothing.
    let again = submit(&h, &grader, &mine.assignments[1], &answers, 200, "g2").await;
    assert_eq!(again, third);

    let reviews = |token: String| {
        let h = &h;
        async move {
            let (s, page) = h.get("/assignments", &token).await;
            assert_eq!(s, StatusCode::OK, "{page}");
            let page: AssignmentPage = serde_json::from_value(page).unwrap();
            page.assignments
                .into_iter()
                .filter(|a| a.kind == assay_protocol::AssignmentKind::SeniorReview)
                .map(|a| a.review_of_submission_id.unwrap())
                .collect::<Vec<_>>()
        }
    };
    // The 2nd submission is the senior's own: no one else is a senior reviewer, so none.
    assert_eq!(reviews(senior.clone()).await, Vec::<String>::new());
    assert_eq!(reviews(grader.clone()).await, Vec::<String>::new());
    // A 4th submission (n=4) is sampled and goes to the senior reviewer.
    let (s, v) = h
        .post("/admin/assignments", &admin,
              &json!({"item_id": mine.assignments[0].item_id, "expert_email": "grader@example.org", "kind": "grade"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let extra: Assignment = serde_json::from_value(v).unwrap();
    let fourth = submit(&h, &grader, &extra, &answers, 200, "g3").await;
    assert_eq!(reviews(senior.clone()).await, vec![fourth.clone()]);

    // The export: every grade submission once, with rubric version, grader,
    // time on task and licence; continuing from its cursor brings decisions.
    let (s, page) = h.get("/admin/export?limit=3", &admin).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["records"].as_array().unwrap().len(), 3);
    assert_eq!(page["has_more"], true);
    let (_, rest) = h
        .get(
            &format!(
                "/admin/export?since={}",
                page["next_cursor"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(rest["records"].as_array().unwrap().len(), 1);
    let last = &rest["records"][0];
    assert_eq!(last["submission_id"], fourth.as_str());
    assert_eq!(last["expert_email"], "grader@example.org");
    assert_eq!(
        (last["rubric_id"].as_str(), last["rubric_version"].as_u64()),
        (Some("er-imaging-triage"), Some(1))
    );
    assert_eq!(last["active_seconds"], 200);
    assert_eq!(last["licence_category"], "commercial-training");
    assert_eq!(last["status"], "pending");
    let cursor = rest["next_cursor"].as_str().unwrap().to_owned();
    let (s, v) = h
        .post(
            "/admin/outcomes",
            &admin,
            &json!({"submission_id": fourth, "status": "accepted"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, changed) = h
        .get(&format!("/admin/export?since={cursor}"), &admin)
        .await;
    assert_eq!(changed["records"].as_array().unwrap().len(), 1, "{changed}");
    assert_eq!(changed["records"][0]["status"], "accepted");
    p.shutdown().await.unwrap();
}

/// `import` of a large batch reports its progress phase by phase on its
/// progress stream (stderr in the binary): the lines checked every
/// [`assay_platform::cli::PROGRESS_EVERY_LINES`], each attachment with its
/// bytes and the running total, the batch sent and what the platform
/// checked. A second run sends no attachment bytes and says so.
#[tokio::test]
async fn cli_import_reports_progress_per_phase() {
    let (p, h, _) = start().await;
    publish_examples(&h, &p.admin_token).await;
    let dir = tempfile::tempdir().unwrap();
    // 2,500 items, each on one of the three example studies.
    let lines: Vec<Value> = read("items.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut batch = String::new();
    for i in 0..2_500 {
        let mut line = lines[i % 3].clone();
        line["external_id"] = json!(format!("BULK-{i:05}"));
        batch.push_str(&serde_json::to_string(&line).unwrap());
        batch.push('\n');
    }
    let items = dir.path().join("bulk.ndjson");
    std::fs::write(&items, &batch).unwrap();
    let sizes: Vec<u64> = ["chest-pa-0588.png", "head-ct-0142.dcm", "wrist-pa-0317.png"]
        .iter()
        .map(|f| {
            std::fs::metadata(example(&format!("attachments/{f}")))
                .unwrap()
                .len()
        })
        .collect();
    let total: u64 = sizes.iter().sum();

    let run = |args: Vec<String>| async move {
        let command = assay_platform::cli::RemoteCli::parse_command(&args).unwrap();
        let (mut out, mut progress) = (Vec::new(), Vec::new());
        assay_platform::cli::run_with_progress(command, &mut out, &mut progress)
            .await
            .unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(progress).unwrap(),
        )
    };
    let args: Vec<String> = [
        "assay-platform",
        "import",
        items.to_str().unwrap(),
        "--opportunity",
        OPP,
        "--attachments",
        example("attachments").to_str().unwrap(),
        "--server",
        &p.base_url(),
        "--token",
        &p.admin_token,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let (out, progress) = run(args.clone()).await;
    assert!(out.contains("2500 created"), "{out}");
    let steps: Vec<&str> = progress.lines().collect();
    // Phase 1: the lines read, every 1,000 and at the end.
    for (i, start) in [
        "[1/3 check] 1000 lines read, 3 attachment(s) named",
        "[1/3 check] 2000 lines read",
    ]
    .into_iter()
    .enumerate()
    {
        assert!(steps[i].starts_with(start), "{progress}");
    }
    assert!(
        steps[2].contains("2500 line(s) read (0 not readable here")
            && steps[2].contains("3 attachment(s) named"),
        "{progress}"
    );
    // Phase 2: each attachment (in sha256 order) with its bytes and the running total.
    let mut done = 0;
    for (k, step) in steps[3..6].iter().enumerate() {
        assert!(
            step.starts_with(&format!("[2/3 upload] {}/3 ", k + 1)),
            "{progress}"
        );
        assert!(step.contains(": uploaded ("), "{progress}");
        let bytes: u64 = step
            .split(": uploaded (")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(sizes.contains(&bytes), "{step}");
        done += bytes;
        assert!(
            step.contains(&format!("; {done}/{total} bytes")),
            "{progress}"
        );
    }
    assert!(
        steps[5].contains(&format!(
            "{total}/{total} bytes (100%) [{}]",
            "#".repeat(24)
        )),
        "{progress}"
    );
    // The bar grows with the bytes: the first of three files leaves it part empty.
    assert!(
        !steps[3].contains(&format!("[{}]", "#".repeat(24))),
        "{progress}"
    );
    assert!(
        steps[6].starts_with(&format!(
            "[2/3 upload] 3 attachment(s): 3 uploaded ({total} bytes), 0 already there"
        )),
        "{progress}"
    );
    // Phase 3: the batch sent, then what the platform checked.
    assert!(
        steps[7].starts_with(&format!(
            "[3/3 import] sending 2500 line(s) ({} bytes)",
            batch.len()
        )),
        "{progress}"
    );
    assert!(
        steps[8]
            .starts_with("[3/3 import] the platform checked 2500 line(s): 2500 stored, 0 rejected"),
        "{progress}"
    );
    assert_eq!(steps.len(), 9, "{progress}");

    // Again: nothing to upload, every item unchanged.
    let (out, progress) = run(args).await;
    assert!(
        out.contains("0 created, 0 updated, 2500 unchanged"),
        "{out}"
    );
    assert_eq!(
        progress.matches("already there, not sent").count(),
        3,
        "{progress}"
    );
    assert!(
        progress.contains("3 attachment(s): 0 uploaded (0 bytes), 3 already there"),
        "{progress}"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn cli_assigns_one_item_to_one_qualified_expert() {
    let (p, h, admin, [rad]) = start_with_radiologists(["rad@example.org"]).await;
    let _lawyer = account(&h, &admin, "law@example.org", "expert", &["contract-law"]).await;
    let mut spec = opportunity_spec();
    spec["assignment"] = json!({"graders_per_item": 1, "lease_minutes": 45, "auto_assign": false});
    publish_and_import(&h, &admin, &spec).await;

    // By external id and e-mail: one grade assignment with the opportunity's lease.
    let out = assign(&p, "ER-2026-0142", "rad@example.org").await.unwrap();
    assert!(
        out.starts_with("assigned item ER-2026-0142 (")
            && out.contains("to rad@example.org as grade work in er-triage-2026-12"),
        "{out}"
    );
    let (_, page) = h.get("/assignments", &rad).await;
    let page: AssignmentPage = serde_json::from_value(page).unwrap();
    assert_eq!(page.assignments.len(), 1, "exactly the one item");
    let a = &page.assignments[0];
    assert_eq!(a.kind, assay_protocol::AssignmentKind::Grade);
    assert!(a.item_title.starts_with("Head CT"), "{}", a.item_title);
    assert_eq!((a.lease_expires_at - a.assigned_at).num_minutes(), 45);

    // Refused, each naming why: the same item again; not qualified (no
    // radiology: the missing expertise is named); an unknown item or expert
    // (404 naming what was asked for).
    for (item, expert, want) in [
        (
            a.item_id.as_str(),
            "rad@example.org",
            &["(409)", "already holds assignment", a.id.as_str()][..],
        ),
        (
            "ER-2026-0317",
            "law@example.org",
            &["(409)", "not qualified", "radiology"],
        ),
        ("ER-NOPE", "rad@example.org", &["(404)", "ER-NOPE"]),
        (
            "ER-2026-0317",
            "nobody@example.org",
            &["(404)", "nobody@example.org"],
        ),
    ] {
        let e = assign(&p, item, expert).await.unwrap_err().to_string();
        assert!(want.iter().all(|w| e.contains(w)), "{item} {expert}: {e}");
    }
    for (token, body, want) in [
        // A wrong opportunity for the external id is a 404 too.
        (
            &admin,
            json!({"expert": "rad@example.org", "opportunity": "no-such-opp"}),
            StatusCode::NOT_FOUND,
        ),
        // An expert token may not assign.
        (
            &rad,
            json!({"expert": "rad@example.org"}),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (s, v) = h
            .post("/admin/items/ER-2026-0317/assign", token, &body)
            .await;
        assert_eq!(s, want, "{v}");
    }
    // None of the refusals assigned anything.
    let (_, page) = h.get("/assignments", &rad).await;
    assert_eq!(page["assignments"].as_array().unwrap().len(), 1);
    // By display name (unique) the next item goes through.
    let out = assign(&p, "ER-2026-0317", "RAD@example.org").await.unwrap();
    assert!(out.contains("as grade work"), "{out}");
    // The command needs --opportunity, or --item with --expert.
    assert!(assay_platform::cli::RemoteCli::parse_command([
        "assay-platform",
        "assign",
        "--item",
        "X",
        "--token",
        "t"
    ])
    .is_err());
    assert!(assay_platform::cli::RemoteCli::parse_command([
        "assay-platform",
        "assign",
        "--token",
        "t"
    ])
    .is_err());
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn screening_is_required_before_one_item_is_assigned() {
    let (p, h, admin, _) = start_with_radiologists(["new@example.org"]).await;
    let mut spec = opportunity_spec();
    spec["qualification"]["screening_required"] = json!(true);
    spec["assignment"] = json!({"auto_assign": false});
    publish_and_import(&h, &admin, &spec).await;
    let e = assign(&p, "ER-2026-0142", "new@example.org")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("screening is not passed"), "{e}");
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn whoami_tells_the_token_role_and_check_previews_a_publish() {
    let (p, h, admin) = start().await;
    let author = account(&h, &admin, "author@example.org", "author", &[]).await;
    let expert = account(&h, &admin, "expert@example.org", "expert", &[]).await;
    let (s, v) = h.get("/auth/whoami", &author).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["role"], "author");
    assert_eq!(v["may_publish"], true);
    let (s, v) = h.get("/auth/whoami", &expert).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["role"].as_str(), v["may_publish"].as_bool()),
        (Some("expert"), Some(false))
    );
    let (s, _) = h.get("/auth/whoami", "asy_wrong").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let check = |token: String, text: String| {
        let h = &h;
        async move {
            h.post_body(
                "/author/rubrics/check?format=toml",
                &token,
                text,
                "text/plain",
            )
            .await
        }
    };
    let rubric = read("rubric.toml");
    // Before publishing: version 1 would be created.
    let (s, v) = check(author.clone(), rubric.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["publishable"], true);
    assert_eq!(v["latest_published"], Value::Null);
    let (s, v) = h.rubric(&author, &rubric, "toml").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The same file again: already published, nothing to do.
    let (_, v) = check(author.clone(), rubric.clone()).await;
    assert_eq!(
        (v["publishable"].as_bool(), v["already_published"].as_bool()),
        (Some(false), Some(true))
    );
    // Changed content under the same version: the problem names the next version.
    let changed = rubric.replacen("title = ", "title = \"Changed \" # ", 1);
    let (_, v) = check(author.clone(), changed).await;
    assert_eq!(v["publishable"], false);
    assert_eq!(v["latest_published"], 1);
    assert!(
        v["problem"].as_str().unwrap().contains("version = 2"),
        "{v}"
    );
    // Lint errors are listed (with line:column), not refused; nothing is stored.
    let bad = rubric
        .replace("min = 1\nmax = 4", "min = 4\nmax = 1")
        .replace("version = 1", "version = 2");
    let (s, v) = check(author.clone(), bad).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["publishable"], false);
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "error");
    assert!(f["line"].as_u64().is_some(), "{v}");
    let id = read("rubric.toml")
        .lines()
        .find_map(|l| l.strip_prefix("id = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let (s, _) = h.get(&format!("/rubrics/{id}/versions/2"), &author).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the check stored nothing");
    // An expert token may not check or publish.
    let (s, v) = check(expert.clone(), rubric.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    p.shutdown().await.unwrap();
}
