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
    /// The assignment, item, rubric or other resource does not exist (or is not visible to this token).
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
    /// The request body exceeds the platform's size limit ([`MAX_JSON_BODY_BYTES`] for JSON).
    PayloadTooLarge,
    /// Too many requests; retry later.
    RateLimited,
    /// An unexpected server-side failure; the request may be retried.
    Internal,
    /// The platform is temporarily unable to serve (maintenance, overload); retry later.
    Unavailable,
}

/// Body of every non-2xx response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS, thiserror::Error)]
#[ts(export)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// What went wrong, as a closed code the client can branch on.
    pub code: ApiErrorCode,
    /// Human-readable explanation, safe to show to the expert.
    pub message: String,
    /// Optional structured detail (e.g. per-question validation errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "unknown")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with `code` and `message` and no structured details.
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }
}

// ---------------------------------------------------------------- health & auth

/// `GET /api/v1/health`: liveness and protocol version; needs no token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Health {
    /// `"ok"` when the platform serves requests.
    pub status: String,
    /// The platform's [`PROTOCOL_VERSION`] (semantic version).
    pub protocol_version: String,
    /// Display name of the platform (e.g. "Assay reference platform").
    pub platform_name: String,
}

/// `POST /api/v1/auth/login`: exchange an expert's e-mail and password for a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LoginRequest {
    /// The expert's sign-in e-mail address.
    pub email: String,
    /// The expert's password, sent only over this request.
    pub password: String,
    /// Human label for the token (e.g. "Assay on laptop").
    #[serde(default)]
    pub label: Option<String>,
}

/// Answer to a successful sign-in: the bearer token and who it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct TokenResponse {
    /// Bearer token for the `Authorization` header; secret, stored in the OS keyring.
    pub token: String,
    /// Identifier of the token, so it can be listed or revoked without revealing it.
    pub token_id: String,
    /// Id of the expert the token signs in.
    pub expert_id: String,
    /// When the token was issued.
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ExpertProfile {
    /// Stable expert id.
    pub id: String,
    /// The expert's e-mail address.
    pub email: String,
    /// Name shown in the app.
    pub display_name: String,
    /// Domains of expertise, e.g. "rust", "contract-law", "radiology".
    pub expertise: Vec<String>,
    /// Verified credentials (licences, certificates) backing the expertise.
    pub attestations: Vec<Attestation>,
    /// Whether this expert may act as senior reviewer.
    pub senior_reviewer: bool,
    /// IANA time zone name (e.g. "Europe/Berlin") used for due dates and earnings days.
    pub timezone: String,
}

/// A credential the platform verified for an expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Attestation {
    /// What was attested (e.g. "bar-admission", "board-certification").
    pub kind: String,
    /// Who issued the credential.
    pub issuer: String,
    /// When the platform verified it.
    pub verified_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- opportunities

/// A body of paid work, described by a machine-readable rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Opportunity {
    /// Stable opportunity id.
    pub id: String,
    /// Short name shown in the queue.
    pub title: String,
    /// What the work is about and how it is judged (markdown).
    pub description: String,
    /// Id of the rubric that grades this work.
    pub rubric_id: String,
    /// Version of that rubric; items of this opportunity are graded against exactly this version.
    pub rubric_version: u32,
    /// Buyer / licence category the work may be used for (e.g. "commercial-training").
    pub licence_category: String,
    /// Who the work is for (the buying organisation's display name).
    pub buyer: String,
}

/// `GET /api/v1/opportunities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct OpportunityList {
    /// Every opportunity open to the signed-in expert.
    pub opportunities: Vec<Opportunity>,
}

// ---------------------------------------------------------------- assignments

/// What an assignment asks the expert to do.
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

/// Lifecycle state of an assignment; only `Active` assignments accept work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentState {
    /// Assigned to this expert and open for work until the lease expires.
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

/// A piece of work given to one expert: which item, against which rubric version, until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Assignment {
    /// Stable assignment id.
    pub id: String,
    /// Id of the item to grade or review.
    pub item_id: String,
    /// The item's title, so the queue can name work before the item itself
    /// is downloaded (or after the platform stops serving it). Empty from
    /// platforms that do not send it.
    #[serde(default)]
    pub item_title: String,
    /// Id of the opportunity the item belongs to.
    pub opportunity_id: String,
    /// Id of the rubric to answer.
    pub rubric_id: String,
    /// Rubric version the submission must name (else `RubricVersionMismatch`).
    pub rubric_version: u32,
    /// Grade, senior review or screening.
    pub kind: AssignmentKind,
    /// Current lifecycle state.
    pub state: AssignmentState,
    /// When the platform gave the work to this expert.
    pub assigned_at: DateTime<Utc>,
    /// When the lease runs out unless renewed (`POST /assignments/{id}/lease`).
    pub lease_expires_at: DateTime<Utc>,
    /// When the work is due (after the lease it may be reassigned).
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

impl Assignment {
    /// An active grading assignment of item `item-{id}` ("Item {id}",
    /// opportunity `opp`, rubric `r` version 1, item revision 1), assigned
    /// at `at` with an hour's lease and due a day later: the plain case that
    /// tests and benchmarks vary with `..Assignment::example(..)`. Test
    /// support: only with the `test-support` feature.
    #[cfg(feature = "test-support")]
    pub fn example(id: &str, seq: i64, at: DateTime<Utc>) -> Self {
        Self {
            id: id.into(),
            item_id: format!("item-{id}"),
            item_title: format!("Item {id}"),
            opportunity_id: "opp".into(),
            rubric_id: "r".into(),
            rubric_version: 1,
            kind: AssignmentKind::Grade,
            state: AssignmentState::Active,
            assigned_at: at,
            lease_expires_at: at + chrono::Duration::hours(1),
            due_at: at + chrono::Duration::days(1),
            review_of_submission_id: None,
            seq,
            item_revision: first_item_revision(),
        }
    }
}

/// `GET /api/v1/assignments?since=CURSOR&limit=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct AssignmentPage {
    /// Changed assignments after the `since` cursor, oldest change first.
    pub assignments: Vec<Assignment>,
    /// Pass as `since` to continue; stable across restarts.
    pub next_cursor: String,
    /// True when more changes follow; fetch again with `next_cursor`.
    pub has_more: bool,
}

/// `POST /api/v1/assignments/{id}/lease` (renew) response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Lease {
    /// The renewed assignment.
    pub assignment_id: String,
    /// The new expiry of the lease.
    pub lease_expires_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- items

/// Reference to a content-addressed attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct AttachmentRef {
    /// Lower-case hex sha256 of the bytes; also the download key.
    pub sha256: String,
    /// Size of the attachment in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// MIME type (e.g. `application/dicom`, `image/png`).
    pub media_type: String,
    /// Original file name, for display and downloads only (never a path).
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
    /// Stable item id.
    pub id: String,
    /// Id of the opportunity the item belongs to.
    pub opportunity_id: String,
    /// Short name shown in the queue and the item header.
    pub title: String,
    /// All fields, keyed by field id. The client removes what the rubric hides.
    pub fields: BTreeMap<String, FieldValue>,
    /// When the item was created on the platform.
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/items/{id}`; for senior review, also the reviewed submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ItemEnvelope {
    /// The item with all its fields (the client scopes them by the rubric).
    pub item: Item,
    /// For senior review: the submission being reviewed (author anonymised).
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
    /// Id of the reviewed submission (what a review decision names).
    pub submission_id: String,
    /// Answers keyed by question id, in the rubric's answer format.
    #[ts(type = "unknown")]
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// Active seconds the author reported.
    #[ts(type = "number")]
    pub active_seconds: u64,
    /// When the platform received the submission.
    pub submitted_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- rubrics

/// `GET /api/v1/rubrics/{id}/versions/{version}`: the rubric document as JSON.
/// The schema of `document` is owned by `assay-rubric`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RubricEnvelope {
    /// Rubric id.
    pub id: String,
    /// Rubric version (a rubric never changes under the same version).
    pub version: u32,
    /// The rubric document as JSON.
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
    /// Start of the span (inclusive).
    pub started_at: DateTime<Utc>,
    /// End of the span (exclusive; never before `started_at`).
    pub ended_at: DateTime<Utc>,
    /// Set when the reviewer edited this span by hand.
    #[serde(default)]
    pub corrected: bool,
}

/// `POST /api/v1/submissions` with an `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SubmissionRequest {
    /// The assignment the answers are for.
    pub assignment_id: String,
    /// Rubric id the answers follow; must be the assignment's.
    pub rubric_id: String,
    /// Rubric version the answers follow; must be the assignment's.
    pub rubric_version: u32,
    /// Answers keyed by question id, in the rubric's answer format.
    #[ts(type = "unknown")]
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// Active working time in seconds (what per-hour pay is based on).
    #[ts(type = "number")]
    pub active_seconds: u64,
    /// The spans `active_seconds` was computed from; may be empty.
    #[serde(default)]
    pub time_log: Vec<TimeSpan>,
    /// When the client created the submission (before any retries).
    pub client_created_at: DateTime<Utc>,
}

/// Review status of a submission (and of the ledger entry it earned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Received, not yet reviewed.
    Pending,
    /// Accepted by a senior reviewer; the earning becomes payable.
    Accepted,
    /// Rejected by a senior reviewer; the earning is reversed.
    Rejected,
    /// Sent back: the expert may revise and submit again.
    NeedsRevision,
}

/// Response to a submission (the same on an idempotent repeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SubmissionReceipt {
    /// Stable submission id assigned by the platform.
    pub submission_id: String,
    /// The assignment the submission was for.
    pub assignment_id: String,
    /// When the platform stored the submission.
    pub received_at: DateTime<Utc>,
    /// Review status at the time of the answer (`Pending` for a new submission).
    pub status: OutcomeStatus,
    /// True when this response replays an earlier request with the same key.
    #[serde(default)]
    pub replayed: bool,
}

/// Review outcome of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ReviewOutcome {
    /// The submission that was decided.
    pub submission_id: String,
    /// The assignment the submission was for.
    pub assignment_id: String,
    /// The item that was graded.
    pub item_id: String,
    /// The decision (or `Pending` while undecided).
    pub status: OutcomeStatus,
    /// The reviewer's feedback to the author, if any.
    #[serde(default)]
    pub feedback: Option<String>,
    /// When the decision was made; absent while pending.
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Active seconds the submission reported (what per-hour pay is based
    /// on), so a client that did not record the work still knows its time.
    #[serde(default)]
    #[ts(type = "number")]
    pub active_seconds: u64,
    /// Monotonic change sequence; the cursor of incremental sync.
    #[ts(type = "number")]
    pub seq: i64,
}

/// `GET /api/v1/outcomes?since=CURSOR`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct OutcomePage {
    /// Outcomes changed after the `since` cursor, oldest change first.
    pub outcomes: Vec<ReviewOutcome>,
    /// Pass as `since` to continue; stable across restarts.
    pub next_cursor: String,
    /// True when more changes follow; fetch again with `next_cursor`.
    pub has_more: bool,
}

/// A senior reviewer's verdict on another expert's submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// The submission is good: the author's earning is accepted.
    Accept,
    /// The submission is unusable: the author's earning is reversed.
    Reject,
    /// The author must revise and submit again.
    RequestRevision,
}

/// `POST /api/v1/reviews` (senior review), with an `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ReviewRequest {
    /// The senior-review assignment this decision completes.
    pub assignment_id: String,
    /// The submission being decided (the assignment's `review_of_submission_id`).
    pub submission_id: String,
    /// The verdict.
    pub decision: ReviewDecision,
    /// Feedback to the author; required by the app for reject and revision.
    #[serde(default)]
    pub feedback: Option<String>,
    /// Active seconds the reviewer spent on the review.
    #[ts(type = "number")]
    pub active_seconds: u64,
}

/// Response to a senior review (the same on an idempotent repeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct ReviewReceipt {
    /// Stable review id assigned by the platform.
    pub review_id: String,
    /// The senior-review assignment the review completed.
    pub assignment_id: String,
    /// The submission that was decided.
    pub submission_id: String,
    /// The verdict as recorded.
    pub decision: ReviewDecision,
    /// When the platform stored the review.
    pub received_at: DateTime<Utc>,
    /// True when this response replays an earlier request with the same key.
    #[serde(default)]
    pub replayed: bool,
}

// ---------------------------------------------------------------- money

/// What one unit of pay is earned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum PayBasis {
    /// A fixed `amount_cents` for each item graded.
    PerItem,
    /// An amount per hour of reported active time.
    PerHour,
    /// A fixed `amount_cents` for each submission.
    PerSubmission,
}

/// Pay for one opportunity from `effective_from` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Rate {
    /// The opportunity the rate applies to.
    pub opportunity_id: String,
    /// What the amount is paid per.
    pub basis: PayBasis,
    /// Minor units per item / hour / submission.
    #[ts(type = "number")]
    pub amount_cents: i64,
    /// ISO-4217 currency code of `amount_cents`.
    pub currency: String,
    /// When the rate starts to apply (later rates supersede it).
    pub effective_from: DateTime<Utc>,
}

/// `GET /api/v1/rate-card`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RateCard {
    /// Every rate that applies to the signed-in expert's opportunities.
    pub rates: Vec<Rate>,
}

/// Where an earning stands on its way to a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    /// Earned by a submission that is not yet reviewed.
    Pending,
    /// The submission was accepted; the amount is payable.
    Accepted,
    /// Included in a payout (`payout_id`).
    Paid,
    /// Cancelled: the submission was rejected or sent back.
    Reversed,
}

/// One earning of an expert: what was earned for which submission and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LedgerEntry {
    /// Stable ledger entry id.
    pub id: String,
    /// The submission that earned it.
    pub submission_id: String,
    /// The assignment the submission was for.
    pub assignment_id: String,
    /// The item that was graded.
    pub item_id: String,
    /// The opportunity whose rate set the amount.
    pub opportunity_id: String,
    /// Amount in minor units of `currency` (cents); never fractional.
    #[ts(type = "number")]
    pub amount_cents: i64,
    /// ISO-4217 currency code.
    pub currency: String,
    /// Where the earning stands.
    pub status: LedgerStatus,
    /// The payout that paid it, once `Paid`.
    #[serde(default)]
    pub payout_id: Option<String>,
    /// When the entry was created.
    pub created_at: DateTime<Utc>,
    /// When the entry last changed status.
    pub updated_at: DateTime<Utc>,
    /// Monotonic change sequence; the cursor of incremental sync.
    #[ts(type = "number")]
    pub seq: i64,
}

/// `GET /api/v1/ledger?since=CURSOR`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct LedgerPage {
    /// Ledger entries changed after the `since` cursor, oldest change first.
    pub entries: Vec<LedgerEntry>,
    /// Pass as `since` to continue; stable across restarts.
    pub next_cursor: String,
    /// True when more changes follow; fetch again with `next_cursor`.
    pub has_more: bool,
}

/// Money paid out to an expert, settling a set of accepted ledger entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Payout {
    /// Stable payout id.
    pub id: String,
    /// Total paid in minor units of `currency` (the sum of the entries' amounts).
    #[ts(type = "number")]
    pub amount_cents: i64,
    /// ISO-4217 currency code.
    pub currency: String,
    /// When the payout was made.
    pub paid_at: DateTime<Utc>,
    /// How it was paid (e.g. "bank-transfer").
    pub method: String,
    /// Ids of the ledger entries this payout settles.
    pub entry_ids: Vec<String>,
}

/// `GET /api/v1/payouts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct PayoutList {
    /// The signed-in expert's payouts.
    pub payouts: Vec<Payout>,
}

/// Query of the cursor-paged lists (`GET /api/v1/assignments`, `/outcomes`,
/// `/ledger`, `/admin/export`): an opaque cursor and a page size, both optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CursorQuery {
    /// Opaque cursor from a previous page's `next_cursor`; absent: from the start.
    #[serde(default)]
    pub since: Option<String>,
    /// Page size; the platform applies its default and caps it.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Assay's update manifest (the Tauri updater's format): what the platform
/// serves at `GET /api/v1/updates/manifest.json` and the app reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateManifest {
    /// The version offered (semver).
    pub version: String,
    /// Release notes shown to the person.
    #[serde(default)]
    pub notes: String,
    /// Release date as the manifest writes it (RFC 3339).
    #[serde(default)]
    pub pub_date: Option<String>,
    /// One build per target key (`{os}-{arch}-{deb|rpm}`).
    pub platforms: BTreeMap<String, UpdateBuild>,
}

/// One target's signed build in an [`UpdateManifest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateBuild {
    /// Where to download the artefact (https).
    pub url: String,
    /// Base64 of the minisign signature file (what `tauri signer sign` writes to `.sig`).
    pub signature: String,
    /// Lower-case hex SHA-256 of the artefact.
    pub sha256: String,
    /// Size of the artefact, in bytes.
    pub size: u64,
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
    /// The one-time code to put in the `assay://signin` link.
    pub code: String,
    /// When the code stops working if unused.
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/auth/signin-codes/exchange` (no token): the code for a new
/// expert token (`TokenResponse`). A used, expired or unknown code is a 401.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct SigninCodeExchange {
    /// The one-time code from the `assay://signin` link.
    pub code: String,
    /// Human label for the token (e.g. "Assay on laptop").
    #[serde(default)]
    pub label: Option<String>,
}

// ---- end issue 18 ----

// ---------------------------------------------------------------- publishing

/// What a token may do on the platform: `operator` may do everything,
/// `author` publishes rubrics, opportunities and items (and may do work),
/// `expert` only does work.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema, TS,
)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    /// Does work only.
    Expert,
    /// Publishes rubrics, opportunities and items; may also do work.
    Author,
    /// May do everything.
    Operator,
}

/// `GET /api/v1/auth/whoami`: who the bearer token signs in, and its role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct WhoAmI {
    /// Id of the expert the token signs in.
    pub expert_id: String,
    /// The token's role.
    pub role: TokenRole,
    /// Whether this token may publish rubrics, opportunities and items
    /// (`POST /author/*`), as the platform decides it.
    pub may_publish: bool,
}

/// A lint finding or syntax error of a rubric, as reported by the platform
/// (the same findings as `assay rubric lint`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RubricFinding {
    /// `error` or `warning`.
    pub severity: String,
    /// Stable code, e.g. `scale-range`, `unknown-key`, `syntax`.
    pub code: String,
    /// What is wrong, in words.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
}

/// Response of `POST /author/rubrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RubricPublished {
    /// The rubric's id.
    pub id: String,
    /// The version published.
    pub version: u32,
    /// False when this exact version was already published (idempotent repeat).
    pub created: bool,
    /// Lint warnings (errors refuse the rubric).
    pub warnings: Vec<RubricFinding>,
}

/// Response of `POST /author/rubrics/check`: what publishing this rubric
/// file would do, without publishing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct RubricCheck {
    /// The rubric's id (absent when the file does not parse).
    pub id: Option<String>,
    /// The version the rubric would be published as (the file's `version`).
    pub version: Option<u32>,
    /// The highest version of this rubric already published, if any.
    pub latest_published: Option<u32>,
    /// Every lint finding, errors first as the linter orders them.
    pub findings: Vec<RubricFinding>,
    /// True when publishing would create a new version now.
    pub publishable: bool,
    /// True when exactly this version with this content is already published.
    pub already_published: bool,
    /// Why it cannot be published, other than lint errors (e.g. the version
    /// is already published with other content).
    pub problem: Option<String>,
}
