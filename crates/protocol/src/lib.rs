//! Wire types shared by the Assay desktop client and the platform server.
//!
//! Every request and response body that crosses HTTP is defined here, once.
//! The protocol is versioned by URL prefix ([`API_PREFIX`]) and by
//! [`PROTOCOL_VERSION`], which the server reports in `GET /api/v1/health`.
//!
//! Money is always integer minor units (`amount_cents`) plus an ISO-4217
//! currency code; timestamps are RFC 3339 UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// Semantic version of the wire protocol.
pub const PROTOCOL_VERSION: &str = "1.0.0";
/// URL prefix of every endpoint.
pub const API_PREFIX: &str = "/api/v1";
/// Header carrying the idempotency key of a mutating request; a successful
/// answer echoes it (the client checks its receipt belongs to the upload).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Header carrying the sha256 (hex) of an attachment body.
pub const CONTENT_SHA256_HEADER: &str = "x-content-sha256";
/// Largest JSON body the platform accepts.
pub const MAX_JSON_BODY_BYTES: usize = 2 * 1024 * 1024;

/// RFC 3339 UTC timestamp (alias kept for readability in client code).
pub type Timestamp = DateTime<Utc>;

// ---------------------------------------------------------------- errors

/// Machine-readable error codes returned in [`ApiError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// Missing, wrong or revoked token.
    Unauthorized,
    /// The token is valid but the resource belongs to someone else.
    Forbidden,
    NotFound,
    /// Malformed JSON, missing fields, bad query parameters.
    BadRequest,
    /// Body parsed but failed validation (answers vs rubric, etc.).
    ValidationFailed,
    /// Same idempotency key with a different body, or a state conflict.
    Conflict,
    /// The assignment's lease has expired.
    LeaseExpired,
    /// The submission names a rubric version other than the assignment's.
    RubricVersionMismatch,
    PayloadTooLarge,
    RateLimited,
    Internal,
    Unavailable,
}

/// Body of every non-2xx response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS, thiserror::Error)]
#[ts(export)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ApiErrorCode,
    pub message: String,
    /// Optional structured detail (e.g. per-question validation errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "unknown")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }
}

// ---------------------------------------------------------------- health & auth

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Health {
    pub status: String,
    pub protocol_version: String,
    pub platform_name: String,
}

/// `POST /api/v1/auth/login`: exchange an expert's e-mail and password for a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Human label for the token (e.g. "Assay on laptop").
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct TokenResponse {
    pub token: String,
    pub token_id: String,
    pub expert_id: String,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ExpertProfile {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// Domains of expertise, e.g. "rust", "contract-law", "radiology".
    pub expertise: Vec<String>,
    pub attestations: Vec<Attestation>,
    /// Whether this expert may act as senior reviewer.
    pub senior_reviewer: bool,
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Attestation {
    pub kind: String,
    pub issuer: String,
    pub verified_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- opportunities

/// A body of paid work, described by a machine-readable rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Opportunity {
    pub id: String,
    pub title: String,
    pub description: String,
    pub rubric_id: String,
    pub rubric_version: u32,
    /// Buyer / licence category the work may be used for (e.g. "commercial-training").
    pub licence_category: String,
    pub buyer: String,
}

/// `GET /api/v1/opportunities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct OpportunityList {
    pub opportunities: Vec<Opportunity>,
}

// ---------------------------------------------------------------- assignments

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    /// Grade an item against the rubric.
    Grade,
    /// Senior review: accept/reject another expert's submission.
    SeniorReview,
    /// Unpaid qualification / screening task: answered against the rubric
    /// like a grade, but it earns nothing; its outcome says whether the
    /// expert passed (`accepted`) or failed (`rejected`) the qualification.
    Screening,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentState {
    Active,
    /// Taken away from this expert by the platform.
    Revoked,
    /// Given to another expert.
    Reassigned,
    /// A submission was received.
    Completed,
    /// Lease ran out without a submission.
    Expired,
    /// Handed back by the expert (`POST /assignments/{id}/release`).
    Released,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Assignment {
    pub id: String,
    pub item_id: String,
    /// The item's title, so the queue can name work before the item itself
    /// is downloaded (or after the platform stops serving it). Empty from
    /// platforms that do not send it.
    #[serde(default)]
    pub item_title: String,
    pub opportunity_id: String,
    pub rubric_id: String,
    pub rubric_version: u32,
    pub kind: AssignmentKind,
    pub state: AssignmentState,
    pub assigned_at: DateTime<Utc>,
    pub lease_expires_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// For senior review: the submission under review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_of_submission_id: Option<String>,
    /// Monotonic change sequence; the cursor of incremental sync.
    #[ts(type = "number")]
    pub seq: i64,
    /// Revision of the item's content. The platform bumps it (and the
    /// assignment's `seq`) when it re-publishes the item, so clients re-fetch
    /// it. Absent from older platforms: 1.
    #[serde(default = "first_item_revision")]
    pub item_revision: u32,
}

fn first_item_revision() -> u32 {
    1
}

/// `GET /api/v1/assignments?since=CURSOR&limit=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct AssignmentPage {
    pub assignments: Vec<Assignment>,
    /// Pass as `since` to continue; stable across restarts.
    pub next_cursor: String,
    pub has_more: bool,
}

/// Query of `GET /api/v1/assignments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssignmentQuery {
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `POST /api/v1/assignments/{id}/lease` (renew) response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Lease {
    pub assignment_id: String,
    pub lease_expires_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- items

/// Reference to a content-addressed attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct AttachmentRef {
    /// Lower-case hex sha256 of the bytes; also the download key.
    pub sha256: String,
    #[ts(type = "number")]
    pub size: u64,
    pub media_type: String,
    pub filename: String,
}

/// Value of one item field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    /// Plain text, markdown, code, a unified diff, a legal draft...
    Text(String),
    /// Structured data (chat transcript, test manifest, ...).
    Json(#[ts(type = "unknown")] serde_json::Value),
    /// Binary content downloaded separately (scan, image, archive).
    Attachment(AttachmentRef),
    /// Several attachments shown together: the slices of a scan series
    /// (single-frame DICOM files, or zip archives of them), in any order.
    Attachments(Vec<AttachmentRef>),
}

impl FieldValue {
    /// Every attachment the value references (none for text and JSON).
    pub fn attachments(&self) -> &[AttachmentRef] {
        match self {
            FieldValue::Attachment(a) => std::slice::from_ref(a),
            FieldValue::Attachments(list) => list,
            FieldValue::Text(_) | FieldValue::Json(_) => &[],
        }
    }
}

/// A unit of work as the platform stores it, before rubric scoping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Item {
    pub id: String,
    pub opportunity_id: String,
    pub title: String,
    /// All fields, keyed by field id. The client removes what the rubric hides.
    pub fields: BTreeMap<String, FieldValue>,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/items/{id}`; for senior review, also the reviewed submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ItemEnvelope {
    pub item: Item,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_submission: Option<ReviewedSubmission>,
    /// For a grade or screening: the expert's own latest submission on the
    /// assignment, so a client that did not keep it (another device, a
    /// reinstall) can show finished work and start a revision from it.
    /// Absent from older platforms and before anything was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_submission: Option<ReviewedSubmission>,
}

/// Another expert's submission shown to a senior reviewer (author anonymised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ReviewedSubmission {
    pub submission_id: String,
    /// Answers keyed by question id, in the rubric's answer format.
    #[ts(type = "unknown")]
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    #[ts(type = "number")]
    pub active_seconds: u64,
    pub submitted_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- rubrics

/// `GET /api/v1/rubrics/{id}/versions/{version}`: the rubric document as JSON.
/// The schema of `document` is owned by `assay-rubric`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RubricEnvelope {
    pub id: String,
    pub version: u32,
    #[ts(type = "unknown")]
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
}

// ---------------------------------------------------------------- submissions

/// One stretch of active time on an item, as logged (and possibly corrected)
/// by the reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct TimeSpan {
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// Set when the reviewer edited this span by hand.
    #[serde(default)]
    pub corrected: bool,
}

/// `POST /api/v1/submissions` with an `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SubmissionRequest {
    pub assignment_id: String,
    pub rubric_id: String,
    pub rubric_version: u32,
    /// Answers keyed by question id, in the rubric's answer format.
    #[ts(type = "unknown")]
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    #[ts(type = "number")]
    pub active_seconds: u64,
    #[serde(default)]
    pub time_log: Vec<TimeSpan>,
    pub client_created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Received, not yet reviewed.
    Pending,
    Accepted,
    Rejected,
    NeedsRevision,
}

/// Response to a submission (the same on an idempotent repeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SubmissionReceipt {
    pub submission_id: String,
    pub assignment_id: String,
    pub received_at: DateTime<Utc>,
    pub status: OutcomeStatus,
    /// True when this response replays an earlier request with the same key.
    #[serde(default)]
    pub replayed: bool,
}

/// Review outcome of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ReviewOutcome {
    pub submission_id: String,
    pub assignment_id: String,
    pub item_id: String,
    pub status: OutcomeStatus,
    #[serde(default)]
    pub feedback: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Active seconds the submission reported (what per-hour pay is based
    /// on), so a client that did not record the work still knows its time.
    #[serde(default)]
    #[ts(type = "number")]
    pub active_seconds: u64,
    #[ts(type = "number")]
    pub seq: i64,
}

/// `GET /api/v1/outcomes?since=CURSOR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct OutcomePage {
    pub outcomes: Vec<ReviewOutcome>,
    pub next_cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Accept,
    Reject,
    RequestRevision,
}

/// `POST /api/v1/reviews` (senior review), with an `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ReviewRequest {
    pub assignment_id: String,
    pub submission_id: String,
    pub decision: ReviewDecision,
    #[serde(default)]
    pub feedback: Option<String>,
    #[ts(type = "number")]
    pub active_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ReviewReceipt {
    pub review_id: String,
    pub assignment_id: String,
    pub submission_id: String,
    pub decision: ReviewDecision,
    pub received_at: DateTime<Utc>,
    #[serde(default)]
    pub replayed: bool,
}

// ---------------------------------------------------------------- money

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum PayBasis {
    PerItem,
    PerHour,
    PerSubmission,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Rate {
    pub opportunity_id: String,
    pub basis: PayBasis,
    /// Minor units per item / hour / submission.
    #[ts(type = "number")]
    pub amount_cents: i64,
    pub currency: String,
    pub effective_from: DateTime<Utc>,
}

/// `GET /api/v1/rate-card`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RateCard {
    pub rates: Vec<Rate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    Pending,
    Accepted,
    Paid,
    Reversed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LedgerEntry {
    pub id: String,
    pub submission_id: String,
    pub assignment_id: String,
    pub item_id: String,
    pub opportunity_id: String,
    #[ts(type = "number")]
    pub amount_cents: i64,
    pub currency: String,
    pub status: LedgerStatus,
    #[serde(default)]
    pub payout_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub seq: i64,
}

/// `GET /api/v1/ledger?since=CURSOR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Payout {
    pub id: String,
    #[ts(type = "number")]
    pub amount_cents: i64,
    pub currency: String,
    pub paid_at: DateTime<Utc>,
    pub method: String,
    pub entry_ids: Vec<String>,
}

/// `GET /api/v1/payouts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct PayoutList {
    pub payouts: Vec<Payout>,
}

/// Query carrying an opaque cursor and page size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CursorQuery {
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_value_is_tagged() {
        let v = FieldValue::Text("hi".into());
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json, serde_json::json!({"type": "text", "value": "hi"}));
        let back: FieldValue = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn error_codes_are_snake_case() {
        let e = ApiError::new(ApiErrorCode::RubricVersionMismatch, "x");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "rubric_version_mismatch");
        assert!(json.get("details").is_none());
    }
}

// ---- issue 18: one-time sign-in codes (`assay://signin?platform=…&code=…`) ----

/// `POST /api/v1/auth/signin-codes` (as a signed-in expert): a one-time code
/// that signs the app in through an `assay://signin` link. The link carries
/// the code, never a token; the code is single use and short-lived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SigninCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/auth/signin-codes/exchange` (no token): the code for a new
/// expert token (`TokenResponse`). A used, expired or unknown code is a 401.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SigninCodeExchange {
    pub code: String,
    /// Human label for the token (e.g. "Assay on laptop").
    #[serde(default)]
    pub label: Option<String>,
}

// ---- end issue 18 ----
