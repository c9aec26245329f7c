//! Row types the store returns; the ones the UI shows are exported to TypeScript.

use assay_protocol::{
    AssignmentKind, AttachmentRef, OutcomeStatus, PayBasis, ReviewRequest, ReviewedSubmission,
    SubmissionRequest,
};
use assay_rubric::{Answers, ScopedItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the reviewer sees as an item's state in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum QueueStatus {
    /// Assigned, nothing written yet.
    New,
    /// A draft exists that is not (yet) complete.
    Draft,
    /// The draft is complete and can be submitted.
    Ready,
    /// Submitted locally, waiting in the outbox for upload.
    InOutbox,
    /// Uploaded; the platform has not decided yet.
    Submitted,
    Accepted,
    Rejected,
    NeedsRevision,
    /// Revoked or reassigned by the platform; the local draft is kept.
    Orphaned,
    /// The lease ran out; the draft is kept.
    LeaseExpired,
    /// The platform moved the assignment to another rubric version; the draft is kept.
    RubricChanged,
    /// The platform refused the upload for another reason (see the item's issue).
    SubmitFailed,
}

impl QueueStatus {
    /// Every status, in the order the queue lists them.
    pub const ALL: [QueueStatus; 12] = [
        Self::New,
        Self::Draft,
        Self::Ready,
        Self::InOutbox,
        Self::Submitted,
        Self::Accepted,
        Self::Rejected,
        Self::NeedsRevision,
        Self::Orphaned,
        Self::LeaseExpired,
        Self::RubricChanged,
        Self::SubmitFailed,
    ];

    /// Whether the reviewer may still change (and submit) the work: the one
    /// rule every layer asks, decided here.
    pub fn editable(self) -> bool {
        matches!(
            self,
            Self::New
                | Self::Draft
                | Self::Ready
                | Self::NeedsRevision
                | Self::RubricChanged
                | Self::SubmitFailed
        )
    }
}

/// Pay shown next to a queue row (latest rate of the opportunity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Pay {
    pub basis: PayBasis,
    #[ts(type = "number")]
    pub amount_cents: i64,
    pub currency: String,
}

/// One row of the work queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueRow {
    pub assignment_id: String,
    pub item_id: String,
    /// Item title; empty until the item has been downloaded.
    pub title: String,
    pub opportunity_id: String,
    pub opportunity_title: Option<String>,
    pub kind: AssignmentKind,
    pub status: QueueStatus,
    pub lease_expires_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub pay: Option<Pay>,
    /// Whether the scoped item is stored locally (workable offline).
    pub downloaded: bool,
    /// Why the sync holds this assignment's content back, when it does.
    pub held_back: Option<HeldBack>,
}

/// An assignment's content held back in quarantine: its item's own entry,
/// else its rubric's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HeldBack {
    /// [`QuarantineKind::Item`] or [`QuarantineKind::Rubric`].
    pub kind: QuarantineKind,
    /// The quarantine entry's reason, in words.
    pub reason: String,
}

/// Result of a durable draft save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DraftSaved {
    #[ts(type = "number")]
    pub revision: i64,
    pub saved_at: DateTime<Utc>,
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Draft {
    pub assignment_id: String,
    pub answers: Answers,
    #[ts(type = "number")]
    pub revision: i64,
    /// Set by the app when the answers validate against the rubric.
    pub ready: bool,
    pub updated_at: DateTime<Utc>,
    /// Annotations begun but not yet added (a typed diff comment, a drawn
    /// scan region): kept with the draft so switching items or restarting
    /// loses nothing.
    #[serde(default)]
    pub pending: Vec<PendingAnnotation>,
}

/// An annotation the reviewer started in a viewer but has not added to the
/// grade yet: where it points and what was typed so far (possibly nothing).
/// At most one per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PendingAnnotation {
    pub field: String,
    pub anchor: assay_rubric::AnnotationAnchor,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub comment: String,
}

/// What the reviewer submitted for an assignment: the request in the outbox
/// (sent or waiting), or the platform's copy served with the item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SubmittedWork {
    pub answers: Answers,
    #[ts(type = "number")]
    pub active_seconds: u64,
    /// When the reviewer submitted it (queued it for upload, or the
    /// platform received it).
    pub submitted_at: DateTime<Utc>,
    /// Its outbox entry; `None` when it comes from the platform (submitted
    /// from another device).
    pub outbox_state: Option<OutboxState>,
}

/// What an outbox entry uploads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(tag = "kind", content = "request", rename_all = "snake_case")]
pub enum OutboxPayload {
    Submission(SubmissionRequest),
    Review(ReviewRequest),
}

impl OutboxPayload {
    pub(crate) fn kind_str(&self) -> &'static str {
        match self {
            Self::Submission(_) => "submission",
            Self::Review(_) => "review",
        }
    }
    pub fn assignment_id(&self) -> &str {
        match self {
            Self::Submission(r) => &r.assignment_id,
            Self::Review(r) => &r.assignment_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Queued,
    /// An upload was started; after a crash it is retried with the same key.
    Sending,
    Sent,
    FailedPermanent,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::FailedPermanent => "failed_permanent",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "failed_permanent" => Self::FailedPermanent,
            _ => return None,
        })
    }
}

/// A submission or review waiting for (or done with) upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct OutboxEntry {
    #[ts(type = "number")]
    pub id: i64,
    pub assignment_id: String,
    /// UUIDv7 generated at enqueue; never changes, sent on every attempt.
    pub idempotency_key: String,
    pub payload: OutboxPayload,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub state: OutboxState,
    pub created_at: DateTime<Utc>,
}

/// Why the platform refused an upload for good; shown on the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    LeaseExpired,
    RubricChanged,
    Rejected,
}

impl IssueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LeaseExpired => "lease_expired",
            Self::RubricChanged => "rubric_changed",
            Self::Rejected => "rejected",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "lease_expired" => Self::LeaseExpired,
            "rubric_changed" => Self::RubricChanged,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
}

/// A problem recorded on an item by the sync engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ItemIssue {
    pub kind: IssueKind,
    pub message: String,
}

/// A submission (or review) the platform acknowledged, with its latest outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SubmissionRecord {
    pub submission_id: String,
    pub assignment_id: String,
    pub received_at: DateTime<Utc>,
    pub status: OutcomeStatus,
    pub feedback: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Local availability of one attachment of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AttachmentStatus {
    pub attachment: AttachmentRef,
    pub downloaded: bool,
}

/// Everything the item view needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ItemDetail {
    pub assignment: assay_protocol::Assignment,
    pub status: QueueStatus,
    pub orphaned: bool,
    /// The item as the rubric scopes it; `None` until downloaded.
    pub scoped: Option<ScopedItem>,
    pub reviewed_submission: Option<ReviewedSubmission>,
    pub draft: Option<Draft>,
    pub latest_submission: Option<SubmissionRecord>,
    pub outbox: Option<OutboxEntry>,
    pub issue: Option<ItemIssue>,
    pub attachments: Vec<AttachmentStatus>,
}

/// One stretch of time on task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimeSession {
    #[ts(type = "number")]
    pub id: i64,
    pub assignment_id: String,
    pub started_at: DateTime<Utc>,
    /// `None` while the session is running (or if the app crashed during it).
    pub ended_at: Option<DateTime<Utc>>,
    pub corrected: bool,
}

/// Sync health shown in the status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncStatus {
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Outbox entries not yet acknowledged by the platform.
    pub outbox_pending: u32,
    /// Outbox entries the platform refused for good (see the items).
    pub outbox_failed: u32,
    /// Orphaned assignments that still hold a draft.
    pub orphaned_drafts: u32,
    /// Attachments referenced by stored items but not downloaded yet.
    pub attachments_missing: u32,
    /// Items, attachments and rubrics held back because the platform sent
    /// them in a form the client refuses (see [`QuarantineEntry`]).
    pub quarantined: u32,
}

/// What kind of thing is quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineKind {
    /// Keyed by assignment id.
    Item,
    /// Keyed by sha256.
    Attachment,
    /// Keyed by `rubric_id@version`.
    Rubric,
}

impl QuarantineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Item => "item",
            Self::Attachment => "attachment",
            Self::Rubric => "rubric",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "item" => Self::Item,
            "attachment" => Self::Attachment,
            "rubric" => Self::Rubric,
            _ => return None,
        })
    }
}

/// One quarantined thing: never blocks the rest of a sync, retried with backoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QuarantineEntry {
    pub kind: QuarantineKind,
    pub key: String,
    /// What the reviewer recognises: the item's title, the file name.
    pub label: String,
    /// Why, in words (never content of the refused data).
    pub reason: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub first_failed_at: DateTime<Utc>,
}

/// Lease of an assignment the reviewer may work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LeaseInfo {
    pub assignment_id: String,
    pub lease_expires_at: DateTime<Utc>,
}
