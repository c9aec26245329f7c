//! Publishing: rubric versions, opportunities, attachments, bulk item import,
//! assignment policies, experts and the buyer's export.
//!
//! The rules (immutability of rubric versions, what a valid import line is,
//! who gets which item) live here, above the [`Storage`] trait; backends only
//! store what these functions decide.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use assay_protocol::{
    ApiError, ApiErrorCode, Assignment, AssignmentKind, AttachmentRef, CursorQuery, ExpertProfile,
    FieldValue, Item, Opportunity, Rate,
};
use assay_rubric::{
    Format, LintFinding, LintSeverity, PayoutSchedule, Rubric, RubricError, SourceMap,
};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use crate::api::{
    blocking, blocking_json, cursor_page, AdminAuth, ApiFailure, ApiJson, ApiQuery, ApiResult,
    AppState, AuthorAuth,
};
use crate::auth::{self, Role};
use crate::error::{PlatformError, PlatformResult};
use crate::rules::Rules;
use crate::storage::{ExportRecord, ImportOp, ImportedItem, NewAssignment, NewExpert, Storage};

/// Largest rubric body accepted by `POST /author/rubrics`.
pub const MAX_RUBRIC_BODY_BYTES: usize = assay_rubric::parse::MAX_RUBRIC_BYTES;
/// Largest attachment accepted by `PUT /attachments/{sha256}`.
pub const MAX_ATTACHMENT_BYTES: u64 = 512 * 1024 * 1024;
/// Largest NDJSON import body.
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest single import line.
pub const MAX_IMPORT_LINE_BYTES: usize = 4 * 1024 * 1024;
/// Most lines (items) in one import.
pub const MAX_IMPORT_LINES: usize = 20_000;
/// Most graders per item an assignment policy may ask for.
pub const MAX_GRADERS_PER_ITEM: u32 = 20;
/// Longest lease a policy may set (one week).
pub const MAX_LEASE_MINUTES: u32 = 7 * 24 * 60;

fn invalid(message: impl Into<String>, details: serde_json::Value) -> ApiFailure {
    let body = ApiError {
        code: ApiErrorCode::ValidationFailed,
        message: message.into(),
        details: Some(details),
    };
    ApiFailure {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body,
    }
}

fn too_large(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(ApiErrorCode::PayloadTooLarge, message)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// A request body read chunk by chunk, refused as too large (with
/// `message`) as soon as it declares or delivers more than `max` bytes.
struct LimitedBody {
    stream: axum::body::BodyDataStream,
    /// Bytes delivered so far.
    read: u64,
    max: u64,
    message: String,
}

impl LimitedBody {
    /// Refuses a body whose `Content-Length` already exceeds `max`.
    fn new(headers: &HeaderMap, body: Body, max: u64, message: String) -> Result<Self, ApiFailure> {
        if content_length(headers).is_some_and(|n| n > max) {
            return Err(too_large(message));
        }
        Ok(Self {
            stream: body.into_data_stream(),
            read: 0,
            max,
            message,
        })
    }

    /// The next chunk, or `None` at the end of the body.
    async fn next_chunk(&mut self) -> Result<Option<axum::body::Bytes>, ApiFailure> {
        let Some(chunk) = self.stream.next().await else {
            return Ok(None);
        };
        let chunk = chunk.map_err(|e| {
            ApiFailure::new(ApiErrorCode::BadRequest, format!("reading the body: {e}"))
        })?;
        self.read = self.read.saturating_add(chunk.len() as u64);
        if self.read > self.max {
            return Err(too_large(self.message.clone()));
        }
        Ok(Some(chunk))
    }
}

/// Read a whole (small) body, refusing more than `max` bytes.
async fn read_limited(headers: &HeaderMap, body: Body, max: usize) -> Result<Vec<u8>, ApiFailure> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX);
    let mut body = LimitedBody::new(
        headers,
        body,
        limit,
        format!("request body exceeds {max} bytes"),
    )?;
    let mut out = Vec::new();
    while let Some(chunk) = body.next_chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Where the blob store keeps the bytes of `sha256`; a bad request when it
/// is not a lower-case hex SHA-256.
fn blob_path(state: &AppState, sha256: &str) -> Result<std::path::PathBuf, ApiFailure> {
    state.blobs.path_of(sha256).ok_or_else(|| {
        ApiFailure::new(
            ApiErrorCode::BadRequest,
            format!("{sha256:?} is not a lower-case hex sha256"),
        )
    })
}

// ------------------------------------------------------------------ rubrics

pub use assay_protocol::{RubricCheck, RubricFinding, RubricPublished};

/// A linter finding as the platform reports it.
pub fn finding_of(f: &LintFinding) -> RubricFinding {
    RubricFinding {
        severity: f.severity.to_string(),
        code: f.code.clone(),
        message: f.message.clone(),
        line: f.location.as_ref().map(|l| l.line),
        column: f.location.as_ref().map(|l| l.column),
    }
}

/// Query of `POST /author/rubrics`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PublishRubricQuery {
    /// `toml`, `json` or `yaml`; else taken from the Content-Type.
    #[serde(default)]
    pub format: Option<String>,
}

/// The rubric file of a check or publish request: its text (bounded, UTF-8)
/// and its format (from the query, else the Content-Type).
async fn read_rubric(
    q: &PublishRubricQuery,
    headers: &HeaderMap,
    body: Body,
) -> Result<(String, Format), ApiFailure> {
    let format = rubric_format(q.format.as_deref(), headers)?;
    let bytes = read_limited(headers, body, MAX_RUBRIC_BODY_BYTES).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ApiFailure::new(ApiErrorCode::BadRequest, "the rubric is not UTF-8 text"))?;
    Ok((text, format))
}

fn rubric_format(query: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiFailure> {
    let from_name = |s: &str| match s.trim().to_ascii_lowercase().as_str() {
        "toml" | "application/toml" => Some(Format::Toml),
        "json" | "application/json" => Some(Format::Json),
        "yaml" | "yml" | "application/yaml" | "application/x-yaml" | "text/yaml" => {
            Some(Format::Yaml)
        }
        _ => None,
    };
    if let Some(q) = query {
        return from_name(q).ok_or_else(|| {
            ApiFailure::new(
                ApiErrorCode::BadRequest,
                format!("unknown rubric format {q:?}: use toml, json or yaml"),
            )
        });
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| from_name(v.split(';').next().unwrap_or_default()))
        .ok_or_else(|| {
            ApiFailure::new(
                ApiErrorCode::BadRequest,
                "say the rubric's format: ?format=toml|json|yaml or a Content-Type of \
                 application/toml, application/json or application/yaml",
            )
        })
}

/// Parse and lint a rubric exactly as `assay rubric lint` does. `Err` carries
/// every finding (errors and warnings) when there is at least one error.
pub fn check_rubric(
    text: &str,
    format: Format,
) -> Result<(Rubric, Vec<RubricFinding>), Vec<RubricFinding>> {
    let rubric = match assay_rubric::parse_rubric_unchecked(text, format, None) {
        Ok(r) => r,
        Err(RubricError::Syntax(e)) => {
            return Err(vec![RubricFinding {
                severity: LintSeverity::Error.to_string(),
                code: "syntax".into(),
                message: format!("invalid {} rubric: {}", e.format, e.message),
                line: e.line,
                column: e.column,
            }])
        }
        Err(e) => {
            return Err(vec![RubricFinding {
                severity: LintSeverity::Error.to_string(),
                code: "unreadable".into(),
                message: e.to_string(),
                line: None,
                column: None,
            }])
        }
    };
    let src = SourceMap::new(None, text, format);
    let findings = assay_rubric::lint(&rubric, Some(&src), &[]);
    let all: Vec<RubricFinding> = findings.iter().map(finding_of).collect();
    if findings.iter().any(|f| f.severity == LintSeverity::Error) {
        Err(all)
    } else {
        Ok((rubric, all))
    }
}

/// What publishing a rubric version would do (the publishing rule for
/// rubric versions): a version, once published, never changes; a repeat of
/// the same content is accepted (idempotent, `Ok(false)`); new versions must
/// be higher than every published one. `Ok(true)`: it would be created.
pub fn rubric_publish_plan(s: &dyn Storage, rubric: &Rubric) -> PlatformResult<bool> {
    let document = rubric_document(rubric)?;
    let (id, version) = (rubric.id.as_str(), rubric.version);
    match s.rubric(id, version) {
        Ok(existing) if existing.document == document => return Ok(false),
        Ok(_) => {
            let next = s
                .latest_rubric_version(id)?
                .unwrap_or(version)
                .saturating_add(1);
            return Err(PlatformError::Conflict(format!(
                "rubric {id} version {version} is already published with different content; \
                 published versions are immutable: set `version = {next}` and publish again"
            )));
        }
        Err(PlatformError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    if let Some(latest) = s.latest_rubric_version(id)? {
        if version < latest {
            return Err(PlatformError::Conflict(format!(
                "rubric {id} is already at version {latest}; a new version must be higher \
                 (set `version = {}`)",
                latest.saturating_add(1)
            )));
        }
    }
    Ok(true)
}

fn rubric_document(rubric: &Rubric) -> PlatformResult<serde_json::Value> {
    serde_json::to_value(rubric)
        .map_err(|e| PlatformError::Corrupt(format!("serialise rubric: {e}")))
}

/// Publish a rubric version under [`rubric_publish_plan`]'s rule; `Ok(false)`
/// for an idempotent repeat.
pub fn publish_rubric_blocking(s: &dyn Storage, rubric: &Rubric) -> PlatformResult<bool> {
    if !rubric_publish_plan(s, rubric)? {
        return Ok(false);
    }
    s.insert_rubric(&rubric.id, rubric.version, &rubric_document(rubric)?)?;
    Ok(true)
}

/// What publishing `text` would do, without publishing: the lint findings,
/// the version it would get and whether the publishing rule allows it.
pub fn check_rubric_blocking(
    s: &dyn Storage,
    text: &str,
    format: Format,
) -> PlatformResult<RubricCheck> {
    let (rubric, findings) = match check_rubric(text, format) {
        Ok(ok) => ok,
        Err(findings) => {
            return Ok(RubricCheck {
                id: None,
                version: None,
                latest_published: None,
                findings,
                publishable: false,
                already_published: false,
                problem: None,
            })
        }
    };
    let latest_published = s.latest_rubric_version(&rubric.id)?;
    let (publishable, already_published, problem) = match rubric_publish_plan(s, &rubric) {
        Ok(true) => (true, false, None),
        Ok(false) => (false, true, None),
        Err(PlatformError::Conflict(why)) => (false, false, Some(why)),
        Err(e) => return Err(e),
    };
    Ok(RubricCheck {
        id: Some(rubric.id),
        version: Some(rubric.version),
        latest_published,
        findings,
        publishable,
        already_published,
        problem,
    })
}

/// Dry-runs a rubric publish: lint findings, the version it would get, and whether it may be published; stores nothing.
#[utoipa::path(post, path = "/api/v1/author/rubrics/check", tag = "publishing",
    security(("bearer" = []), ("admin" = [])),
    params(("format" = Option<String>, Query, description = "toml, json or yaml (else from Content-Type)")),
    request_body(content = String, description = "The rubric file, exactly as `assay rubric lint` reads it",
                 content_type = "application/toml"),
    responses((status = 200, description = "What publishing would do (lint errors are listed, not refused); nothing is stored",
               body = RubricCheck),
              (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, description = "Not an author or operator token", body = ApiError),
              (status = 413, body = ApiError)))]
pub async fn check_rubric_route(
    State(state): State<AppState>,
    _who: AuthorAuth,
    ApiQuery(q): ApiQuery<PublishRubricQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<RubricCheck> {
    let (text, format) = read_rubric(&q, &headers, body).await?;
    blocking_json(&state, move |s| check_rubric_blocking(s, &text, format)).await
}

/// Lints and publishes a rubric version; a version never changes once published.
#[utoipa::path(post, path = "/api/v1/author/rubrics", tag = "publishing",
    security(("bearer" = []), ("admin" = [])),
    params(("format" = Option<String>, Query, description = "toml, json or yaml (else from Content-Type)")),
    request_body(content = String, description = "The rubric file, exactly as `assay rubric lint` reads it",
                 content_type = "application/toml"),
    responses((status = 200, body = RubricPublished),
              (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, description = "Not an author or operator token", body = ApiError),
              (status = 409, description = "Version already published with other content", body = ApiError),
              (status = 413, body = ApiError),
              (status = 422, description = "Lint errors; `details.findings` lists every finding with line/column", body = ApiError)))]
pub async fn publish_rubric(
    State(state): State<AppState>,
    _who: AuthorAuth,
    ApiQuery(q): ApiQuery<PublishRubricQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<RubricPublished> {
    let (text, format) = read_rubric(&q, &headers, body).await?;
    let (rubric, findings) = check_rubric(&text, format).map_err(|findings| {
        let errors = findings.iter().filter(|f| f.severity == "error").count();
        invalid(
            format!("the rubric has {errors} lint error(s); nothing was published"),
            serde_json::json!({ "findings": findings }),
        )
    })?;
    let (id, version) = (rubric.id.clone(), rubric.version);
    let created = blocking(&state, move |s| publish_rubric_blocking(s, &rubric)).await?;
    tracing::info!(rubric = %id, version, created, "rubric published");
    Ok(axum::Json(RubricPublished {
        id,
        version,
        created,
        warnings: findings,
    }))
}

// ------------------------------------------------------------------ opportunities

/// Who may get work in an opportunity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationSpec {
    /// Human description of the requirement shown on the card.
    #[serde(default)]
    pub description: Option<String>,
    /// An expert qualifies only with every one of these expertise tags.
    #[serde(default)]
    pub required_expertise: Vec<String>,
    /// An expert qualifies only after passing (accepted) a screening task
    /// of this opportunity.
    #[serde(default)]
    pub screening_required: bool,
    /// External id of an imported item of this opportunity that is the
    /// screening task: the policy gives it (unpaid, kind `screening`) to each
    /// expert with the required expertise who has not taken it, and never
    /// gives it out as graded work.
    #[serde(default)]
    pub screening_external_id: Option<String>,
}

fn default_graders() -> u32 {
    1
}

fn default_true() -> bool {
    true
}

/// How items of an opportunity are handed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentPolicy {
    /// Independent graders per item (1..=20).
    #[serde(default = "default_graders")]
    pub graders_per_item: u32,
    /// Lease length; default: the server's lease.
    #[serde(default)]
    pub lease_minutes: Option<u32>,
    /// Run the policy after every import (else only on `POST .../assign`).
    #[serde(default = "default_true")]
    pub auto_assign: bool,
    /// Share of grade submissions (0..=1) that get a senior review: exactly
    /// `floor(n * rate)` of the first `n`, spread evenly.
    #[serde(default)]
    pub senior_review_rate: f64,
}

impl Default for AssignmentPolicy {
    fn default() -> Self {
        Self {
            graders_per_item: 1,
            lease_minutes: None,
            auto_assign: true,
            senior_review_rate: 0.0,
        }
    }
}

/// `PUT /author/opportunities/{id}`: every field of the opportunity's
/// machine-readable card plus its assignment policy. Card fields left out
/// are taken from the pinned rubric version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunitySpec {
    /// Title shown to experts.
    pub title: String,
    /// What the work is, in words.
    pub description: String,
    /// Who the work is done for.
    pub buyer: String,
    /// What the buyer may use the work for, e.g. "commercial-training".
    pub licence_category: String,
    /// The rubric the opportunity's items are graded with.
    pub rubric_id: String,
    /// A published version; new items pin it.
    pub rubric_version: u32,
    /// Who the rubric is written for (e.g. "senior Rust engineers"); default: the rubric's.
    #[serde(default)]
    pub audience: Option<String>,
    /// Task taxonomy path, e.g. `["coding", "validation", "python"]`; default: the rubric's.
    #[serde(default)]
    pub taxonomy: Vec<String>,
    /// What a finished grade delivers to the buyer, in words; default: the rubric's.
    #[serde(default)]
    pub deliverable: Option<String>,
    /// Expected time per item in minutes; default: the rubric's.
    #[serde(default)]
    pub estimated_minutes: Option<u32>,
    /// Default: the rubric's question prompts.
    #[serde(default)]
    pub grading_criteria: Vec<String>,
    /// Things reviewers must not do or items that must be excluded; default: the rubric's.
    #[serde(default)]
    pub exclusions: Vec<String>,
    /// Default: the rubric's payout.
    #[serde(default)]
    pub payout: Option<PayoutSchedule>,
    /// Who may get work (expertise, screening).
    #[serde(default)]
    pub qualification: QualificationSpec,
    /// How items are handed out (graders per item, lease, due date).
    #[serde(default)]
    pub assignment: AssignmentPolicy,
}

/// Response of `PUT`/`GET /author/opportunities/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishedOpportunity {
    /// The opportunity as experts see it.
    pub opportunity: Opportunity,
    /// The card as published, with defaults from the rubric filled in.
    pub spec: OpportunitySpec,
    /// Whether this request created the opportunity.
    pub created: bool,
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Check a spec and fill card fields from its rubric; every problem is listed.
pub fn complete_spec(
    spec: &OpportunitySpec,
    rubric: &Rubric,
) -> Result<OpportunitySpec, Vec<String>> {
    let mut problems = Vec::new();
    if spec.title.trim().is_empty() {
        problems.push("`title` is empty".to_owned());
    }
    if spec.buyer.trim().is_empty() {
        problems.push("`buyer` is empty".to_owned());
    }
    if spec.licence_category.trim().is_empty() {
        problems.push("`licence_category` is empty".to_owned());
    }
    let mut out = spec.clone();
    if out.audience.is_none() {
        out.audience = rubric.audience.clone();
    }
    if out.taxonomy.is_empty() {
        out.taxonomy = rubric.taxonomy.clone();
    }
    if out.deliverable.is_none() {
        out.deliverable = rubric.deliverable.clone();
    }
    if out.estimated_minutes.is_none() {
        out.estimated_minutes = rubric.estimated_minutes;
    }
    if out.grading_criteria.is_empty() {
        out.grading_criteria = rubric.questions.iter().map(|q| q.prompt.clone()).collect();
    }
    if out.exclusions.is_empty() {
        out.exclusions = rubric.exclusions.clone();
    }
    if out.payout.is_none() {
        out.payout = rubric.payout.clone();
    }
    match &out.payout {
        None => problems.push("no payout: give `payout` or publish a rubric with one".to_owned()),
        Some(p) => {
            if p.amount_cents < 0 {
                problems.push(format!(
                    "payout amount_cents is negative ({})",
                    p.amount_cents
                ));
            }
            if p.currency.len() != 3 || !p.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                problems.push(format!(
                    "payout currency {:?} is not an ISO 4217 code like \"USD\"",
                    p.currency
                ));
            }
        }
    }
    let g = out.assignment.graders_per_item;
    if g == 0 || g > MAX_GRADERS_PER_ITEM {
        problems.push(format!(
            "assignment.graders_per_item must be 1..={MAX_GRADERS_PER_ITEM}, not {g}"
        ));
    }
    let rate = out.assignment.senior_review_rate;
    if !(0.0..=1.0).contains(&rate) {
        problems.push(format!(
            "assignment.senior_review_rate must be between 0 and 1, not {rate}"
        ));
    }
    if let Some(m) = out.assignment.lease_minutes {
        if m == 0 || m > MAX_LEASE_MINUTES {
            problems.push(format!(
                "assignment.lease_minutes must be 1..={MAX_LEASE_MINUTES}, not {m}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn stored_rubric(s: &dyn Storage, id: &str, version: u32) -> PlatformResult<Rubric> {
    let env = s.rubric(id, version)?;
    serde_json::from_value(env.document)
        .map_err(|e| PlatformError::Corrupt(format!("stored rubric {id} v{version}: {e}")))
}

fn spec_of(stored: Option<serde_json::Value>) -> PlatformResult<Option<OpportunitySpec>> {
    stored
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| PlatformError::Corrupt(format!("stored opportunity spec: {e}")))
        })
        .transpose()
}

/// The published spec of an existing opportunity (`None` for a seeded one);
/// not found when there is no such opportunity.
fn spec_of_opportunity(
    s: &dyn Storage,
    opportunity_id: &str,
) -> PlatformResult<Option<OpportunitySpec>> {
    let (_, spec) = s
        .opportunity(opportunity_id)?
        .ok_or_else(|| PlatformError::not_found(format!("opportunity {opportunity_id}")))?;
    spec_of(spec)
}

/// Create or update an opportunity (rules: the rubric version must be
/// published; a changed payout becomes a new rate from `now`).
pub fn put_opportunity_blocking(
    s: &dyn Storage,
    id: &str,
    spec: &OpportunitySpec,
    now: DateTime<Utc>,
) -> PlatformResult<PublishedOpportunity> {
    if !is_id(id) {
        return Err(PlatformError::BadRequest(format!(
            "opportunity id {id:?} must be 1-100 characters of A-Z, a-z, 0-9, '-', '_' or '.'"
        )));
    }
    let rubric = match stored_rubric(s, &spec.rubric_id, spec.rubric_version) {
        Err(PlatformError::NotFound(_)) => {
            return Err(PlatformError::ValidationFailed {
                message: format!(
                    "rubric {} version {} is not published; publish it first",
                    spec.rubric_id, spec.rubric_version
                ),
                details: serde_json::json!({ "problems": [format!("unknown rubric {} v{}", spec.rubric_id, spec.rubric_version)] }),
            })
        }
        other => other?,
    };
    let full =
        complete_spec(spec, &rubric).map_err(|problems| PlatformError::ValidationFailed {
            message: format!(
                "the opportunity has {} problem(s): {}",
                problems.len(),
                problems.join("; ")
            ),
            details: serde_json::json!({ "problems": problems }),
        })?;
    let payout = full
        .payout
        .clone()
        .ok_or_else(|| PlatformError::Corrupt("completed spec has no payout".into()))?;
    let current = s
        .rate_card()?
        .rates
        .into_iter()
        .filter(|r| r.opportunity_id == id && r.effective_from <= now)
        .max_by_key(|r| r.effective_from);
    let unchanged = current.as_ref().is_some_and(|r| {
        r.basis == payout.basis
            && r.amount_cents == payout.amount_cents
            && r.currency == payout.currency
    });
    let new_rate = (!unchanged).then(|| Rate {
        opportunity_id: id.to_owned(),
        basis: payout.basis,
        amount_cents: payout.amount_cents,
        currency: payout.currency.clone(),
        effective_from: now,
    });
    let opportunity = Opportunity {
        id: id.to_owned(),
        title: full.title.clone(),
        description: full.description.clone(),
        rubric_id: full.rubric_id.clone(),
        rubric_version: full.rubric_version,
        licence_category: full.licence_category.clone(),
        buyer: full.buyer.clone(),
    };
    let spec_json = serde_json::to_value(&full)
        .map_err(|e| PlatformError::Corrupt(format!("serialise spec: {e}")))?;
    let created = s.put_opportunity(&opportunity, &spec_json, new_rate.as_ref())?;
    Ok(PublishedOpportunity {
        opportunity,
        spec: full,
        created,
    })
}

/// Creates or updates an opportunity from its card and policy.
#[utoipa::path(put, path = "/api/v1/author/opportunities/{id}", tag = "publishing",
    security(("bearer" = []), ("admin" = [])),
    params(("id" = String, Path, description = "Opportunity id")),
    request_body = OpportunitySpec,
    responses((status = 200, body = PublishedOpportunity), (status = 400, body = ApiError),
              (status = 403, body = ApiError),
              (status = 422, description = "Unknown rubric version or bad card fields", body = ApiError)))]
pub async fn put_opportunity(
    State(state): State<AppState>,
    _who: AuthorAuth,
    Path(id): Path<String>,
    ApiJson(spec): ApiJson<OpportunitySpec>,
) -> ApiResult<PublishedOpportunity> {
    let now = Utc::now();
    blocking_json(&state, move |s| {
        put_opportunity_blocking(s, &id, &spec, now)
    })
    .await
}

/// The opportunity with its card as published.
#[utoipa::path(get, path = "/api/v1/author/opportunities/{id}", tag = "publishing",
    security(("bearer" = []), ("admin" = [])),
    params(("id" = String, Path, description = "Opportunity id")),
    responses((status = 200, body = PublishedOpportunity), (status = 403, body = ApiError),
              (status = 404, body = ApiError)))]
pub async fn get_opportunity(
    State(state): State<AppState>,
    _who: AuthorAuth,
    Path(id): Path<String>,
) -> ApiResult<PublishedOpportunity> {
    blocking_json(&state, move |s| {
        let (opportunity, spec) = s
            .opportunity(&id)?
            .ok_or_else(|| PlatformError::not_found(format!("opportunity {id}")))?;
        let spec = spec_of(spec)?.ok_or_else(|| {
            PlatformError::not_found(format!(
                "published spec of opportunity {id} (it was seeded)"
            ))
        })?;
        Ok(PublishedOpportunity {
            opportunity,
            spec,
            created: false,
        })
    })
    .await
}

// ------------------------------------------------------------------ attachments

/// Response of `PUT /attachments/{sha256}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachmentStored {
    /// Lower-case hex SHA-256 of the bytes (the URL's).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type stored with the bytes.
    pub media_type: String,
    /// False when the platform already had these bytes (idempotent repeat).
    pub created: bool,
}

/// Uploads an attachment under its SHA-256; the bytes must hash to it, a repeat is a no-op.
#[utoipa::path(put, path = "/api/v1/attachments/{sha256}", tag = "publishing",
    security(("bearer" = []), ("admin" = [])),
    params(("sha256" = String, Path, description = "Lower-case hex sha256 of the body")),
    request_body(content = Vec<u8>, description = "The bytes; Content-Type is kept as the media type",
                 content_type = "application/octet-stream"),
    responses((status = 200, body = AttachmentStored), (status = 400, body = ApiError),
              (status = 403, body = ApiError), (status = 413, body = ApiError),
              (status = 422, description = "The bytes do not hash to the sha256 in the URL", body = ApiError)))]
pub async fn put_attachment(
    State(state): State<AppState>,
    _who: AuthorAuth,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<AttachmentStored> {
    let path = blob_path(&state, &sha256)?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let sha = sha256.clone();
    let known = blocking(&state, move |s| s.blob_meta(&sha)).await?;
    // Already stored: the body is still read (a client mid-upload must not
    // see the connection closed) and checked, but not written again. Clients
    // skip such uploads with `GET /author/attachments/{sha256}`.
    let existing = match known {
        Some(meta) if tokio::fs::try_exists(&path).await.unwrap_or(false) => Some(meta),
        _ => None,
    };
    let mut body = LimitedBody::new(
        &headers,
        body,
        MAX_ATTACHMENT_BYTES,
        format!("attachment exceeds {MAX_ATTACHMENT_BYTES} bytes"),
    )?;
    let parent = path
        .parent()
        .ok_or_else(|| ApiFailure::new(ApiErrorCode::Internal, "blob path has no parent"))?
        .to_owned();
    tokio::fs::create_dir_all(&parent)
        .await
        .map_err(PlatformError::from)?;
    let tmp = parent.join(format!(".{sha256}.{}.part", uuid::Uuid::now_v7().simple()));
    let write = existing.is_none();
    let result = async {
        let mut file = if write {
            Some(
                tokio::fs::File::create(&tmp)
                    .await
                    .map_err(PlatformError::from)?,
            )
        } else {
            None
        };
        let mut hasher = Sha256::new();
        while let Some(chunk) = body.next_chunk().await? {
            hasher.update(&chunk);
            if let Some(f) = file.as_mut() {
                f.write_all(&chunk).await.map_err(PlatformError::from)?;
            }
        }
        let size = body.read;
        let actual = hex::encode(hasher.finalize());
        if actual != sha256 {
            return Err(invalid(
                format!(
                    "the uploaded bytes hash to {actual}, not to the {sha256} named in the URL; \
                     nothing was stored"
                ),
                serde_json::json!({ "expected": sha256, "actual": actual, "size": size }),
            ));
        }
        if let Some(f) = file {
            f.sync_all().await.map_err(PlatformError::from)?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(PlatformError::from)?;
        }
        Ok(size)
    }
    .await;
    let size = match result {
        Ok(size) => size,
        Err(e) => {
            if write {
                let _ = tokio::fs::remove_file(&tmp).await;
            }
            return Err(e);
        }
    };
    if let Some(meta) = existing {
        return Ok(axum::Json(AttachmentStored {
            sha256: meta.sha256,
            size: meta.size,
            media_type: meta.media_type,
            created: false,
        }));
    }
    let meta = crate::storage::BlobMeta {
        sha256: sha256.clone(),
        size,
        media_type: media_type.clone(),
    };
    blocking(&state, move |s| s.insert_blob_meta(&meta)).await?;
    tracing::info!(%sha256, size, "attachment stored");
    Ok(axum::Json(AttachmentStored {
        sha256,
        size,
        media_type,
        created: true,
    }))
}

/// Whether an attachment was uploaded, with its size and type.
#[utoipa::path(get, path = "/api/v1/author/attachments/{sha256}", tag = "publishing",
    security(("bearer" = []), ("admin" = [])),
    params(("sha256" = String, Path, description = "Lower-case hex sha256")),
    responses((status = 200, description = "The platform has these bytes", body = AttachmentStored),
              (status = 403, body = ApiError),
              (status = 404, description = "Not uploaded yet", body = ApiError)))]
pub async fn attachment_status(
    State(state): State<AppState>,
    _who: AuthorAuth,
    Path(sha256): Path<String>,
) -> ApiResult<AttachmentStored> {
    let path = blob_path(&state, &sha256)?;
    let sha = sha256.clone();
    let meta = blocking(&state, move |s| s.blob_meta(&sha)).await?;
    match meta {
        Some(meta) if tokio::fs::try_exists(&path).await.unwrap_or(false) => {
            Ok(axum::Json(AttachmentStored {
                sha256: meta.sha256,
                size: meta.size,
                media_type: meta.media_type,
                created: false,
            }))
        }
        _ => Err(ApiFailure::new(
            ApiErrorCode::NotFound,
            format!("attachment {sha256} has not been uploaded"),
        )),
    }
}

// ------------------------------------------------------------------ import

/// An attachment named by an import line: uploaded first with
/// `PUT /attachments/{sha256}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportAttachment {
    /// Lower-case hex SHA-256 of the attachment, uploaded before the import.
    pub sha256: String,
    /// Name shown to reviewers (and used to pick a viewer).
    pub filename: String,
    /// Default: the media type the attachment was uploaded with.
    #[serde(default)]
    pub media_type: Option<String>,
}

/// A field value in an import line (as [`FieldValue`], attachments by sha256).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    tag = "type",
    content = "value",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum ImportValue {
    /// Plain text.
    Text(String),
    /// Structured JSON (e.g. a chat transcript, a test run).
    Json(serde_json::Value),
    /// One attachment.
    Attachment(ImportAttachment),
    /// A series: one attachment per slice (or zip archives of slices).
    Attachments(Vec<ImportAttachment>),
}

impl ImportValue {
    /// The attachments the value names.
    pub fn attachments(&self) -> &[ImportAttachment] {
        match self {
            ImportValue::Attachment(a) => std::slice::from_ref(a),
            ImportValue::Attachments(list) => list,
            ImportValue::Text(_) | ImportValue::Json(_) => &[],
        }
    }
}

/// One line of an NDJSON import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportLine {
    /// The item's id in the importer's system; re-importing it updates the item.
    pub external_id: String,
    /// Title shown to experts.
    pub title: String,
    /// Field values keyed by the field ids the pinned rubric declares.
    pub fields: BTreeMap<String, ImportValue>,
}

/// Query of the import route.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ImportQuery {
    /// Import the valid lines even when others are bad (default: all or nothing).
    #[serde(default)]
    pub partial: bool,
}

/// A refused line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BadLine {
    /// 1-based line number in the NDJSON body.
    pub line: u32,
    /// The line's external id, when it could be read.
    pub external_id: Option<String>,
    /// Every problem of the line, `; `-separated.
    pub reason: String,
}

/// What happened to an accepted line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// A new item.
    Created,
    /// Changed content: the item's revision went up; clients re-fetch it.
    Updated,
    /// Same content as stored: nothing changed.
    Unchanged,
}

/// An accepted line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportedLine {
    /// 1-based line number in the NDJSON body.
    pub line: u32,
    /// The item's id in the importer's system.
    pub external_id: String,
    /// The item's id on the platform.
    pub item_id: String,
    /// The item's revision after the import.
    pub revision: u32,
    /// Created, updated or unchanged.
    pub status: ImportStatus,
}

/// Response of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// The opportunity imported into.
    pub opportunity_id: String,
    /// Non-empty lines read.
    pub lines: u32,
    /// Lines that created an item.
    pub created: u32,
    /// Lines that changed an item.
    pub updated: u32,
    /// Lines that matched the stored item.
    pub unchanged: u32,
    /// Lines refused (only with `partial=true`; otherwise the import fails).
    pub rejected: Vec<BadLine>,
    /// Every accepted line.
    pub items: Vec<ImportedLine>,
    /// Assignments the opportunity's policy made after the import.
    pub assigned: u32,
    /// Why the policy could not run after the import (the items are stored;
    /// `POST /admin/opportunities/{id}/assign` runs it again).
    pub assignment_error: Option<String>,
}

/// Split a streamed body into numbered non-empty lines, within the limits.
async fn read_ndjson(headers: &HeaderMap, body: Body) -> Result<Vec<(u32, Vec<u8>)>, ApiFailure> {
    let mut body = LimitedBody::new(
        headers,
        body,
        MAX_IMPORT_BYTES,
        format!("the import body exceeds {MAX_IMPORT_BYTES} bytes; split it into several imports"),
    )?;
    let mut lines = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut number: u32 = 0;
    let push = |number: u32, line: &mut Vec<u8>, lines: &mut Vec<(u32, Vec<u8>)>| {
        let taken = std::mem::take(line);
        if !taken.iter().all(u8::is_ascii_whitespace) {
            if lines.len() >= MAX_IMPORT_LINES {
                return Err(too_large(format!(
                    "the import has more than {MAX_IMPORT_LINES} items; split it"
                )));
            }
            lines.push((number, taken));
        }
        Ok(())
    };
    while let Some(chunk) = body.next_chunk().await? {
        let mut rest: &[u8] = &chunk;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            current.extend_from_slice(&rest[..i]);
            number = number.saturating_add(1);
            if current.len() > MAX_IMPORT_LINE_BYTES {
                return Err(too_large(format!(
                    "line {number} is longer than {MAX_IMPORT_LINE_BYTES} bytes"
                )));
            }
            push(number, &mut current, &mut lines)?;
            rest = &rest[i + 1..];
        }
        current.extend_from_slice(rest);
        if current.len() > MAX_IMPORT_LINE_BYTES {
            return Err(too_large(format!(
                "line {} is longer than {MAX_IMPORT_LINE_BYTES} bytes",
                number.saturating_add(1)
            )));
        }
    }
    number = number.saturating_add(1);
    push(number, &mut current, &mut lines)?;
    Ok(lines)
}

/// Field ids a rubric declares: its visible fields plus the fields they
/// name as `against` or `results`.
fn declared_fields(rubric: &Rubric) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for f in &rubric.fields {
        out.insert(f.id.as_str());
        out.extend(f.against.as_deref());
        out.extend(f.results.as_deref());
    }
    out
}

/// Check one parsed line against its pinned rubric and the stored blobs;
/// on success, the item's fields as stored.
pub fn check_line(
    line: &ImportLine,
    rubric: &Rubric,
    blobs: &HashMap<String, Option<crate::storage::BlobMeta>>,
) -> Result<BTreeMap<String, FieldValue>, Vec<String>> {
    let mut problems = Vec::new();
    if line.external_id.trim().is_empty() || line.external_id.len() > 200 {
        problems.push("external_id must be 1-200 characters".to_owned());
    }
    if line.title.trim().is_empty() {
        problems.push("title is empty".to_owned());
    }
    let declared = declared_fields(rubric);
    let mut fields = BTreeMap::new();
    for (id, value) in &line.fields {
        if !declared.contains(id.as_str()) {
            problems.push(format!(
                "field `{id}` is not declared by rubric {} v{} (declared: {})",
                rubric.id,
                rubric.version,
                declared.iter().copied().collect::<Vec<_>>().join(", ")
            ));
            continue;
        }
        let value = match value {
            ImportValue::Text(t) => FieldValue::Text(t.clone()),
            ImportValue::Json(j) => FieldValue::Json(j.clone()),
            ImportValue::Attachment(_) | ImportValue::Attachments(_) => {
                let mut refs = Vec::new();
                let mut bad = false;
                for a in value.attachments() {
                    if !auth::is_sha256_hex(&a.sha256) {
                        problems.push(format!(
                            "field `{id}`: {:?} is not a lower-case hex sha256",
                            a.sha256
                        ));
                        bad = true;
                        continue;
                    }
                    match blobs.get(&a.sha256).and_then(Option::as_ref) {
                        None => {
                            problems.push(format!(
                                "field `{id}`: attachment {} ({}) was not uploaded; \
                                 PUT /attachments/{} first",
                                a.sha256, a.filename, a.sha256
                            ));
                            bad = true;
                        }
                        Some(meta) => refs.push(AttachmentRef {
                            sha256: a.sha256.clone(),
                            size: meta.size,
                            media_type: a
                                .media_type
                                .clone()
                                .unwrap_or_else(|| meta.media_type.clone()),
                            filename: a.filename.clone(),
                        }),
                    }
                }
                if bad {
                    continue;
                }
                match value {
                    ImportValue::Attachments(_) => FieldValue::Attachments(refs),
                    _ => match refs.pop() {
                        Some(r) => FieldValue::Attachment(r),
                        None => continue,
                    },
                }
            }
        };
        if let Some(f) = rubric.fields.iter().find(|f| &f.id == id) {
            if !assay_rubric::viewer_accepts(f.viewer, &value) {
                problems.push(format!(
                    "field `{id}` is {} but its viewer `{}` needs {}",
                    assay_rubric::value_kind(&value),
                    f.viewer.as_str(),
                    match f.viewer {
                        assay_rubric::ViewerKind::Scan =>
                            "an attachment or a non-empty list of them",
                        assay_rubric::ViewerKind::Chat | assay_rubric::ViewerKind::TestSuite =>
                            "text or JSON",
                        _ => "text",
                    }
                ));
                continue;
            }
        }
        fields.insert(id.clone(), value);
    }
    for f in &rubric.fields {
        if !line.fields.contains_key(&f.id) {
            problems.push(format!(
                "field `{}` ({}) is missing",
                f.id,
                f.viewer.as_str()
            ));
        }
    }
    if problems.is_empty() {
        Ok(fields)
    } else {
        Err(problems)
    }
}

/// Decide and apply an import: every line is checked; with bad lines and
/// without `partial` nothing is stored.
pub fn import_blocking(
    s: &dyn Storage,
    opportunity_id: &str,
    lines: Vec<(u32, Vec<u8>)>,
    partial: bool,
    now: DateTime<Utc>,
) -> PlatformResult<ImportReport> {
    let (opportunity, _) = s
        .opportunity(opportunity_id)?
        .ok_or_else(|| PlatformError::not_found(format!("opportunity {opportunity_id}")))?;
    let total = u32::try_from(lines.len()).unwrap_or(u32::MAX);
    let mut bad: Vec<BadLine> = Vec::new();
    let mut parsed: Vec<(u32, ImportLine)> = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for (number, bytes) in lines {
        match serde_json::from_slice::<ImportLine>(&bytes) {
            Err(e) => bad.push(BadLine {
                line: number,
                external_id: None,
                reason: format!("not a valid import line: {e}"),
            }),
            Ok(l) => {
                if let Some(first) = seen.insert(l.external_id.clone(), number) {
                    bad.push(BadLine {
                        line: number,
                        external_id: Some(l.external_id.clone()),
                        reason: format!(
                            "external_id {:?} already appears on line {first}",
                            l.external_id
                        ),
                    });
                } else {
                    parsed.push((number, l));
                }
            }
        }
    }
    let ids: Vec<String> = parsed.iter().map(|(_, l)| l.external_id.clone()).collect();
    let existing = s.imported_items(opportunity_id, &ids)?;
    let mut rubrics: HashMap<(String, u32), Rubric> = HashMap::new();
    let mut blobs: HashMap<String, Option<crate::storage::BlobMeta>> = HashMap::new();
    for (_, l) in &parsed {
        for v in l.fields.values() {
            for a in v.attachments() {
                if auth::is_sha256_hex(&a.sha256) && !blobs.contains_key(&a.sha256) {
                    blobs.insert(a.sha256.clone(), s.blob_meta(&a.sha256)?);
                }
            }
        }
    }
    let mut ops: Vec<ImportOp> = Vec::new();
    let mut accepted: Vec<(u32, String, ImportStatus)> = Vec::new();
    let mut unchanged: Vec<ImportedLine> = Vec::new();
    for (number, l) in parsed {
        let old: Option<&ImportedItem> = existing.get(&l.external_id);
        let pin = old.map_or(
            (opportunity.rubric_id.clone(), opportunity.rubric_version),
            |o| (o.rubric_id.clone(), o.rubric_version),
        );
        if !rubrics.contains_key(&pin) {
            let r = stored_rubric(s, &pin.0, pin.1)?;
            rubrics.insert(pin.clone(), r);
        }
        let rubric = rubrics
            .get(&pin)
            .ok_or_else(|| PlatformError::Corrupt("rubric cache".into()))?;
        let fields = match check_line(&l, rubric, &blobs) {
            Ok(f) => f,
            Err(problems) => {
                bad.push(BadLine {
                    line: number,
                    external_id: Some(l.external_id.clone()),
                    reason: problems.join("; "),
                });
                continue;
            }
        };
        match old {
            Some(o) if o.title == l.title && o.fields == fields => unchanged.push(ImportedLine {
                line: number,
                external_id: l.external_id,
                item_id: o.item_id.clone(),
                revision: o.revision,
                status: ImportStatus::Unchanged,
            }),
            Some(o) => {
                ops.push(ImportOp::Replace {
                    item_id: o.item_id.clone(),
                    expected_revision: o.revision,
                    title: l.title,
                    fields,
                });
                accepted.push((number, l.external_id, ImportStatus::Updated));
            }
            None => {
                ops.push(ImportOp::Insert {
                    item: Item {
                        id: crate::new_id("itm"),
                        opportunity_id: opportunity_id.to_owned(),
                        title: l.title,
                        fields,
                        created_at: now,
                    },
                    external_id: l.external_id.clone(),
                    rubric_id: pin.0,
                    rubric_version: pin.1,
                });
                accepted.push((number, l.external_id, ImportStatus::Created));
            }
        }
    }
    bad.sort_by_key(|b| b.line);
    if !bad.is_empty() && !partial {
        let message = format!(
            "{} of {total} line(s) are invalid; nothing was imported (fix them, or import \
             the valid lines with partial=true). First: line {}: {}",
            bad.len(),
            bad[0].line,
            bad[0].reason
        );
        return Err(PlatformError::ValidationFailed {
            message,
            details: serde_json::json!({ "bad_lines": bad }),
        });
    }
    let applied = s.apply_import(opportunity_id, &ops)?;
    let mut items: Vec<ImportedLine> = accepted
        .into_iter()
        .zip(applied)
        .map(
            |((line, external_id, status), (item_id, revision))| ImportedLine {
                line,
                external_id,
                item_id,
                revision,
                status,
            },
        )
        .collect();
    items.extend(unchanged);
    items.sort_by_key(|i| i.line);
    let count = |st: ImportStatus| {
        u32::try_from(items.iter().filter(|i| i.status == st).count()).unwrap_or(u32::MAX)
    };
    Ok(ImportReport {
        opportunity_id: opportunity_id.to_owned(),
        lines: total,
        created: count(ImportStatus::Created),
        updated: count(ImportStatus::Updated),
        unchanged: count(ImportStatus::Unchanged),
        rejected: bad,
        items,
        assigned: 0,
        assignment_error: None,
    })
}

/// Imports NDJSON items into an opportunity, checking each line against the rubric version it pins.
#[utoipa::path(post, path = "/api/v1/author/opportunities/{id}/items", tag = "publishing",
    security(("bearer" = []), ("admin" = [])),
    params(("id" = String, Path, description = "Opportunity id"),
           ("partial" = Option<bool>, Query, description = "Import valid lines even if others are bad")),
    request_body(content = ImportLine, description = "NDJSON: one ImportLine per line",
                 content_type = "application/x-ndjson"),
    responses((status = 200, body = ImportReport), (status = 403, body = ApiError),
              (status = 404, body = ApiError), (status = 413, body = ApiError),
              (status = 422, description = "Bad lines; `details.bad_lines` lists each with its number and reason", body = ApiError)))]
pub async fn import_items(
    State(state): State<AppState>,
    _who: AuthorAuth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<ImportReport> {
    let lines = read_ndjson(&headers, body).await?;
    let now = Utc::now();
    let ttl = state.lease_ttl;
    let report = blocking(&state, move |s| {
        let mut report = import_blocking(s, &id, lines, q.partial, now)?;
        let policy = s
            .opportunity(&id)?
            .map(|(_, spec)| spec_of(spec))
            .transpose()?
            .flatten()
            .map(|spec| spec.assignment)
            .unwrap_or_default();
        if policy.auto_assign {
            // The import is committed; a failing policy run must not make
            // it look refused. It is reported, and `.../assign` re-runs it.
            match assign_by_policy_blocking(s, &id, now, ttl) {
                Ok(made) => report.assigned = u32::try_from(made.len()).unwrap_or(u32::MAX),
                Err(e) => {
                    tracing::error!(error = %e, opportunity = %id, "assignment policy failed");
                    report.assignment_error = Some(e.to_api_error().message);
                }
            }
        }
        Ok(report)
    })
    .await?;
    tracing::info!(
        opportunity = %report.opportunity_id,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        rejected = report.rejected.len(),
        assigned = report.assigned,
        "items imported"
    );
    Ok(axum::Json(report))
}

// ------------------------------------------------------------------ assignment policy

/// Run the opportunity's assignment policy: every item gets up to
/// `graders_per_item` independent graders, chosen round-robin over the
/// qualified experts (role expert, required expertise, screening passed when
/// required), never the same expert twice for one item. With a screening
/// item, experts who have the expertise but not yet a screening assignment
/// get the screening item first.
pub fn assign_by_policy_blocking(
    s: &dyn Storage,
    opportunity_id: &str,
    now: DateTime<Utc>,
    default_lease: Duration,
) -> PlatformResult<Vec<Assignment>> {
    let spec = spec_of_opportunity(s, opportunity_id)?;
    let policy = spec
        .as_ref()
        .map(|s| s.assignment.clone())
        .unwrap_or_default();
    let qualification = spec.map(|s| s.qualification).unwrap_or_default();
    let passed: BTreeSet<String> = if qualification.screening_required {
        s.experts_passed_screening(opportunity_id)?
            .into_iter()
            .collect()
    } else {
        BTreeSet::new()
    };
    let candidates: Vec<String> = s
        .list_experts()?
        .into_iter()
        .filter(|(p, role)| {
            *role == Role::Expert
                && qualification
                    .required_expertise
                    .iter()
                    .all(|e| p.expertise.iter().any(|x| x.eq_ignore_ascii_case(e)))
        })
        .map(|(p, _)| p.id)
        .collect();
    let lease = policy
        .lease_minutes
        .map_or(default_lease, |m| Duration::minutes(i64::from(m)));
    let due = Duration::days(7).max(lease);
    let mut made = Vec::new();
    // The screening item: to every candidate who has not taken it yet.
    let screening_item = match &qualification.screening_external_id {
        Some(ext) => s
            .imported_items(opportunity_id, std::slice::from_ref(ext))?
            .remove(ext)
            .map(|i| i.item_id),
        None => None,
    };
    if let (true, Some(item_id)) = (qualification.screening_required, &screening_item) {
        let holders: BTreeSet<String> = s.screening_holders(opportunity_id)?.into_iter().collect();
        for expert in candidates
            .iter()
            .filter(|e| !passed.contains(*e) && !holders.contains(*e))
        {
            made.push(s.create_assignment(&NewAssignment {
                id: crate::new_id("asg"),
                expert_id: expert.clone(),
                item_id: item_id.clone(),
                kind: AssignmentKind::Screening,
                assigned_at: now,
                lease_expires_at: now + lease,
                due_at: now + due,
                review_of_submission_id: None,
            })?);
        }
    }
    let pool: Vec<String> = candidates
        .into_iter()
        .filter(|e| !qualification.screening_required || passed.contains(e))
        .collect();
    if pool.is_empty() {
        return Ok(made);
    }
    let n = pool.len();
    let start =
        usize::try_from(s.count_assignments(opportunity_id, AssignmentKind::Grade)? % n as u64)
            .unwrap_or(0);
    let mut cursor = start;
    for (item_id, holders) in s.grader_coverage(opportunity_id)? {
        if screening_item.as_ref() == Some(&item_id) {
            continue;
        }
        let wanted = usize::try_from(policy.graders_per_item).unwrap_or(1);
        let mut have: BTreeSet<String> = holders.into_iter().collect();
        let mut tried = 0;
        while have.len() < wanted && tried < n {
            let expert = &pool[cursor % n];
            cursor = cursor.wrapping_add(1);
            tried += 1;
            if have.contains(expert) {
                continue;
            }
            let a = s.create_assignment(&NewAssignment {
                id: crate::new_id("asg"),
                expert_id: expert.clone(),
                item_id: item_id.clone(),
                kind: AssignmentKind::Grade,
                assigned_at: now,
                lease_expires_at: now + lease,
                due_at: now + due,
                review_of_submission_id: None,
            })?;
            have.insert(expert.clone());
            made.push(a);
        }
    }
    Ok(made)
}

/// After a new grade submission: when the opportunity's sampling rate picks
/// it, assign a senior review to a senior reviewer (role expert, the
/// opportunity's expertise, not the grader), round-robin. Returns the review
/// assignment, if one was made.
pub fn sample_senior_review_blocking(
    s: &dyn Storage,
    grader_id: &str,
    assignment_id: &str,
    submission_id: &str,
    now: DateTime<Utc>,
    default_lease: Duration,
) -> PlatformResult<Option<Assignment>> {
    let a = s.assignment_for_expert(grader_id, assignment_id)?;
    if a.kind != AssignmentKind::Grade {
        return Ok(None);
    }
    let Some((_, spec)) = s.opportunity(&a.opportunity_id)? else {
        return Ok(None);
    };
    let Some(spec) = spec_of(spec)? else {
        return Ok(None);
    };
    // Per mille, integer arithmetic: the n-th submission is sampled when
    // floor(n * rate) steps up.
    let per_mille = (spec.assignment.senior_review_rate.clamp(0.0, 1.0) * 1000.0).round() as u64;
    let n = s.count_grade_submissions(&a.opportunity_id)?;
    let picked = per_mille > 0
        && n > 0
        && n.saturating_mul(per_mille) / 1000 > (n - 1).saturating_mul(per_mille) / 1000;
    if !picked {
        return Ok(None);
    }
    let reviewers: Vec<String> = s
        .list_experts()?
        .into_iter()
        .filter(|(p, role)| {
            *role == Role::Expert
                && p.senior_reviewer
                && p.id != grader_id
                && spec
                    .qualification
                    .required_expertise
                    .iter()
                    .all(|e| p.expertise.iter().any(|x| x.eq_ignore_ascii_case(e)))
        })
        .map(|(p, _)| p.id)
        .collect();
    if reviewers.is_empty() {
        tracing::warn!(opportunity = %a.opportunity_id, submission = %submission_id,
            "sampled for senior review but no senior reviewer qualifies");
        return Ok(None);
    }
    let k = s.count_assignments(&a.opportunity_id, AssignmentKind::SeniorReview)?;
    let idx = usize::try_from(k % reviewers.len() as u64).unwrap_or(0);
    let lease = spec
        .assignment
        .lease_minutes
        .map_or(default_lease, |m| Duration::minutes(i64::from(m)));
    let review = s.create_assignment(&NewAssignment {
        id: crate::new_id("asg"),
        expert_id: reviewers[idx].clone(),
        item_id: a.item_id.clone(),
        kind: AssignmentKind::SeniorReview,
        assigned_at: now,
        lease_expires_at: now + lease,
        due_at: now + Duration::days(7).max(lease),
        review_of_submission_id: Some(submission_id.to_owned()),
    })?;
    Ok(Some(review))
}

/// Response of `POST /admin/opportunities/{id}/assign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyAssigned {
    /// The opportunity whose policy ran.
    pub opportunity_id: String,
    /// The assignments made.
    pub assignments: Vec<Assignment>,
}

/// Runs an opportunity's assignment policy now and returns the assignments it made.
#[utoipa::path(post, path = "/api/v1/admin/opportunities/{id}/assign", tag = "admin",
    security(("bearer" = []), ("admin" = [])),
    params(("id" = String, Path, description = "Opportunity id")),
    responses((status = 200, body = PolicyAssigned), (status = 403, body = ApiError),
              (status = 404, body = ApiError)))]
pub async fn assign_by_policy(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<PolicyAssigned> {
    let (now, ttl) = (Utc::now(), state.lease_ttl);
    let assignments = {
        let id = id.clone();
        blocking(&state, move |s| assign_by_policy_blocking(s, &id, now, ttl)).await?
    };
    Ok(axum::Json(PolicyAssigned {
        opportunity_id: id,
        assignments,
    }))
}

/// `POST /admin/items/{id}/assign`: give one item to one expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignItemRequest {
    /// The expert: id, e-mail or display name (a name must be unique).
    pub expert: String,
    /// The opportunity the item was imported into; needed only when the
    /// item is named by an external id that several opportunities use.
    #[serde(default)]
    pub opportunity: Option<String>,
}

/// The item named by `item` (an item id, or an external id of an import),
/// as `(item id, opportunity id)`.
fn resolve_item(
    s: &dyn Storage,
    item: &str,
    opportunity: Option<&str>,
) -> PlatformResult<(String, String)> {
    if let Some(found) = s.item(item)? {
        if let Some(o) = opportunity {
            if found.opportunity_id != o {
                return Err(PlatformError::BadRequest(format!(
                    "item {item} belongs to opportunity {}, not {o}",
                    found.opportunity_id
                )));
            }
        }
        return Ok((found.id, found.opportunity_id));
    }
    let opportunities: Vec<String> = match opportunity {
        Some(o) => {
            s.opportunity(o)?
                .ok_or_else(|| PlatformError::not_found(format!("opportunity {o}")))?;
            vec![o.to_owned()]
        }
        None => s.list_opportunities()?.into_iter().map(|o| o.id).collect(),
    };
    let mut hits = Vec::new();
    for o in opportunities {
        if let Some(i) = s
            .imported_items(&o, std::slice::from_ref(&item.to_owned()))?
            .remove(item)
        {
            hits.push((i.item_id, o));
        }
    }
    match hits.len() {
        0 => Err(PlatformError::not_found(format!(
            "item {item} (neither an item id nor an imported external id{})",
            opportunity.map_or(String::new(), |o| format!(" of opportunity {o}"))
        ))),
        1 => Ok(hits.remove(0)),
        _ => Err(PlatformError::BadRequest(format!(
            "external id {item} is in several opportunities ({}); name the opportunity",
            hits.iter()
                .map(|(_, o)| o.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The expert named by `who`: an id, an e-mail address or a unique display
/// name (case-insensitive).
fn resolve_expert(s: &dyn Storage, who: &str) -> PlatformResult<(ExpertProfile, Role)> {
    let experts = s.list_experts()?;
    let exact = |f: &dyn Fn(&ExpertProfile) -> bool| experts.iter().find(|(p, _)| f(p)).cloned();
    if let Some(e) =
        exact(&|p| p.id == who).or_else(|| exact(&|p| p.email.eq_ignore_ascii_case(who)))
    {
        return Ok(e);
    }
    let named: Vec<_> = experts
        .iter()
        .filter(|(p, _)| p.display_name.eq_ignore_ascii_case(who))
        .collect();
    match named.as_slice() {
        [] => Err(PlatformError::not_found(format!(
            "expert {who} (no expert has this id, e-mail or name)"
        ))),
        [one] => Ok((*one).clone()),
        several => Err(PlatformError::BadRequest(format!(
            "{} experts are named {who}; use the e-mail or id ({})",
            several.len(),
            several
                .iter()
                .map(|(p, _)| p.email.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Give one item to one expert, under the opportunity's rules: the expert
/// must qualify (every required expertise tag; the screening passed when the
/// opportunity requires it, except for the screening item itself, which is
/// given as a screening task) and must not already hold a live assignment of
/// the item. The lease is the opportunity's.
pub fn assign_item_blocking(
    s: &dyn Storage,
    item: &str,
    req: &AssignItemRequest,
    now: DateTime<Utc>,
    default_lease: Duration,
) -> PlatformResult<Assignment> {
    let (item_id, opportunity_id) = resolve_item(s, item, req.opportunity.as_deref())?;
    let (expert, _role) = resolve_expert(s, &req.expert)?;
    let spec = spec_of_opportunity(s, &opportunity_id)?;
    let qualification = spec
        .as_ref()
        .map(|s| s.qualification.clone())
        .unwrap_or_default();
    let lease = spec
        .as_ref()
        .and_then(|s| s.assignment.lease_minutes)
        .map_or(default_lease, |m| Duration::minutes(i64::from(m)));
    let missing: Vec<&str> = qualification
        .required_expertise
        .iter()
        .filter(|e| !expert.expertise.iter().any(|x| x.eq_ignore_ascii_case(e)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(PlatformError::Conflict(format!(
            "{} ({}) is not qualified for opportunity {opportunity_id}: missing expertise {}",
            expert.display_name,
            expert.email,
            missing.join(", ")
        )));
    }
    let is_screening_item = match &qualification.screening_external_id {
        Some(ext) => s
            .imported_items(&opportunity_id, std::slice::from_ref(ext))?
            .get(ext)
            .is_some_and(|i| i.item_id == item_id),
        None => false,
    };
    if qualification.screening_required
        && !is_screening_item
        && !s
            .experts_passed_screening(&opportunity_id)?
            .contains(&expert.id)
    {
        return Err(PlatformError::Conflict(format!(
            "{} ({}) is not qualified for opportunity {opportunity_id}: the screening is not passed yet",
            expert.display_name, expert.email
        )));
    }
    if let Some(held) = s.live_assignment_of_item(&expert.id, &item_id)? {
        return Err(PlatformError::Conflict(format!(
            "{} ({}) already holds assignment {} of item {item_id}; nothing was assigned",
            expert.display_name, expert.email, held.assignment_id
        )));
    }
    s.create_assignment(&NewAssignment {
        id: crate::new_id("asg"),
        expert_id: expert.id,
        item_id,
        kind: if is_screening_item {
            AssignmentKind::Screening
        } else {
            AssignmentKind::Grade
        },
        assigned_at: now,
        lease_expires_at: now + lease,
        due_at: now + Duration::days(7).max(lease),
        review_of_submission_id: None,
    })
}

/// Assigns one item to one qualified expert (operator only); refuses duplicates and unqualified experts.
#[utoipa::path(post, path = "/api/v1/admin/items/{id}/assign", tag = "admin",
    security(("bearer" = []), ("admin" = [])),
    params(("id" = String, Path, description = "Item id, or the external id it was imported with")),
    request_body = AssignItemRequest,
    responses((status = 200, body = Assignment),
              (status = 400, description = "An external id or name that matches several", body = ApiError),
              (status = 403, body = ApiError),
              (status = 404, description = "No such item, opportunity or expert", body = ApiError),
              (status = 409, description = "The expert is not qualified, or already holds the item", body = ApiError)))]
pub async fn assign_item(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(item): Path<String>,
    ApiJson(req): ApiJson<AssignItemRequest>,
) -> ApiResult<Assignment> {
    let (now, ttl) = (Utc::now(), state.lease_ttl);
    let a = blocking(&state, move |s| {
        assign_item_blocking(s, &item, &req, now, ttl)
    })
    .await?;
    tracing::info!(assignment = %a.id, item = %a.item_id, "item assigned");
    Ok(axum::Json(a))
}

// ------------------------------------------------------------------ experts

/// `POST /admin/experts`: create an account and issue its first token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExpertRequest {
    /// Sign-in e-mail (unique).
    pub email: String,
    /// Name shown in the app.
    pub display_name: String,
    /// Sign-in password for the app; without one the account signs in with the token only.
    #[serde(default)]
    pub password: Option<String>,
    /// Expertise tags that assignment policies match against.
    #[serde(default)]
    pub expertise: Vec<String>,
    /// May make senior review decisions.
    #[serde(default)]
    pub senior_reviewer: bool,
    /// IANA time zone (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Role of the account and of the token issued (default expert).
    #[serde(default)]
    pub role: Option<Role>,
}

/// Response of `POST /admin/experts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExpertCreated {
    /// The new expert's id.
    pub expert_id: String,
    /// The sign-in e-mail as stored.
    pub email: String,
    /// Role of the account and the token.
    pub role: Role,
    /// Bearer token with `role`; shown once.
    pub token: String,
}

/// Create an expert (rules: e-mail shape, unique e-mail) and issue a token.
pub fn create_expert_blocking(
    s: &dyn Storage,
    req: &CreateExpertRequest,
    now: DateTime<Utc>,
) -> PlatformResult<ExpertCreated> {
    let email = req.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 || email.contains(char::is_whitespace) {
        return Err(PlatformError::BadRequest(format!(
            "{:?} is not an e-mail address",
            req.email
        )));
    }
    if req.display_name.trim().is_empty() {
        return Err(PlatformError::BadRequest("display_name is empty".into()));
    }
    if s.expert_id_by_email(&email)?.is_some() {
        return Err(PlatformError::Conflict(format!(
            "an expert with e-mail {email} already exists"
        )));
    }
    let role = req.role.unwrap_or(Role::Expert);
    let salt = auth::generate_salt();
    let password = req.password.clone().unwrap_or_else(auth::generate_token);
    let id = crate::new_id("exp");
    s.insert_expert(
        &NewExpert {
            profile: ExpertProfile {
                id: id.clone(),
                email: email.clone(),
                display_name: req.display_name.trim().to_owned(),
                expertise: req.expertise.clone(),
                attestations: Vec::new(),
                senior_reviewer: req.senior_reviewer,
                timezone: req.timezone.clone().unwrap_or_else(|| "UTC".to_owned()),
            },
            password_hash: auth::hash_password(&salt, &password),
            salt,
        },
        now,
    )?;
    s.set_expert_role(&id, role)?;
    let token = crate::issue_role_token_blocking(s, &id, Some("expert add"), role, now)?;
    Ok(ExpertCreated {
        expert_id: id,
        email,
        role,
        token: token.token,
    })
}

/// Creates an expert account and issues its first token (shown once).
#[utoipa::path(post, path = "/api/v1/admin/experts", tag = "admin",
    security(("bearer" = []), ("admin" = [])), request_body = CreateExpertRequest,
    responses((status = 200, body = ExpertCreated), (status = 400, body = ApiError),
              (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub async fn create_expert(
    State(state): State<AppState>,
    _who: AdminAuth,
    ApiJson(req): ApiJson<CreateExpertRequest>,
) -> ApiResult<ExpertCreated> {
    let now = Utc::now();
    blocking_json(&state, move |s| create_expert_blocking(s, &req, now)).await
}

// ------------------------------------------------------------------ export

/// `GET /admin/export`: graded submissions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportPage {
    /// Graded submissions, oldest change first.
    pub records: Vec<ExportRecord>,
    /// Pass as `since` to continue after this page.
    pub next_cursor: String,
    /// More records follow.
    pub has_more: bool,
}

/// Graded submissions with their outcome, a page at a time (outcome changes come again).
#[utoipa::path(get, path = "/api/v1/admin/export", tag = "admin",
    security(("bearer" = []), ("admin" = [])),
    params(("since" = Option<String>, Query, description = "Opaque cursor"),
           ("limit" = Option<u32>, Query, description = "Page size, 1..=500 (default 100)")),
    responses((status = 200, body = ExportPage), (status = 400, body = ApiError),
              (status = 403, body = ApiError)))]
pub async fn export(
    State(state): State<AppState>,
    _who: AdminAuth,
    ApiQuery(q): ApiQuery<CursorQuery>,
) -> ApiResult<ExportPage> {
    cursor_page(&state, &q, |s, after, limit| {
        s.export_submissions(after, limit)
    })
    .await
}

/// Routes under `/api/v1/author`.
pub fn author_router() -> axum::Router<AppState> {
    use axum::routing::{post, put};
    axum::Router::new()
        .route("/rubrics", post(publish_rubric))
        .route("/rubrics/check", post(check_rubric_route))
        .route(
            "/attachments/{sha256}",
            axum::routing::get(attachment_status),
        )
        .route(
            "/opportunities/{id}",
            put(put_opportunity).get(get_opportunity),
        )
        .route("/opportunities/{id}/items", post(import_items))
}
