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
    /// The platform accepted the submission.
    Accepted,
    /// The platform rejected the submission.
    Rejected,
    /// Sent back for revision: editable again.
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

    /// Statuses that turn into [`QueueStatus::LeaseExpired`] once the
    /// assignment's lease has run out (the draft is kept): work not yet sent
    /// or decided. The store's status follows this list
    /// ([`lapses`](Self::lapses)); the UI gets it as data (`RULES`).
    pub const LAPSABLE: [QueueStatus; 4] =
        [Self::New, Self::Draft, Self::Ready, Self::NeedsRevision];

    /// Whether this status turns into [`QueueStatus::LeaseExpired`] when the
    /// lease runs out ([`QueueStatus::LAPSABLE`]).
    pub fn lapses(self) -> bool {
        Self::LAPSABLE.contains(&self)
    }

    /// Statuses a platform decision moves submitted work into: sent back for
    /// revision, accepted or rejected. The store's status follows this list
    /// (a decided outcome shows as one of them); the UI gets it as data
    /// (`RULES`) to open work again when a decision arrives.
    pub const DECIDED: [QueueStatus; 3] = [Self::NeedsRevision, Self::Accepted, Self::Rejected];

    /// Whether a platform decision put the work in this status
    /// ([`QueueStatus::DECIDED`]).
    pub fn decided(self) -> bool {
        Self::DECIDED.contains(&self)
    }

    /// Work that left the reviewer's hands: waiting to upload, submitted, or
    /// accepted or rejected by the platform. Such work opens read-only, as
    /// submitted; the UI gets the list as data (`RULES`).
    pub const FINISHED: [QueueStatus; 4] = [
        Self::InOutbox,
        Self::Submitted,
        Self::Accepted,
        Self::Rejected,
    ];

    /// Whether the work left the reviewer's hands ([`QueueStatus::FINISHED`]).
    pub fn finished(self) -> bool {
        Self::FINISHED.contains(&self)
    }

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
    /// What the amount is paid per.
    pub basis: PayBasis,
    /// Amount in minor units of `currency` (cents).
    #[ts(type = "number")]
    pub amount_cents: i64,
    /// ISO-4217 currency code.
    pub currency: String,
}

/// One row of the work queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueRow {
    /// The assignment this row is.
    pub assignment_id: String,
    /// The item the assignment is about.
    pub item_id: String,
    /// Item title; empty until the item has been downloaded.
    pub title: String,
    /// The opportunity the item belongs to.
    pub opportunity_id: String,
    /// The opportunity's title, once synced.
    pub opportunity_title: Option<String>,
    /// Grade, senior review or screening.
    pub kind: AssignmentKind,
    /// Where the work stands for the reviewer.
    pub status: QueueStatus,
    /// When the lease runs out unless renewed.
    pub lease_expires_at: DateTime<Utc>,
    /// When the work is due.
    pub due_at: DateTime<Utc>,
    /// What the work pays, when a rate is known.
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
    /// Revision number of the saved draft; grows by one per save.
    #[ts(type = "number")]
    pub revision: i64,
    /// When the save became durable.
    pub saved_at: DateTime<Utc>,
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Draft {
    /// The assignment the draft is for.
    pub assignment_id: String,
    /// The answers and rationales so far (possibly incomplete).
    pub answers: Answers,
    /// Revision number; grows by one per save.
    #[ts(type = "number")]
    pub revision: i64,
    /// Set by the app when the answers validate against the rubric.
    pub ready: bool,
    /// When the draft was last saved.
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
    /// Id of the field the annotation is in.
    pub field: String,
    /// Where in the field it points.
    pub anchor: assay_rubric::AnnotationAnchor,
    /// Severity picked so far, if any.
    #[serde(default)]
    pub severity: Option<String>,
    /// Comment text typed so far (possibly empty).
    #[serde(default)]
    pub comment: String,
}

/// What the reviewer submitted for an assignment: the request in the outbox
/// (sent or waiting), or the platform's copy served with the item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SubmittedWork {
    /// The submitted answers and rationales.
    pub answers: Answers,
    /// Active seconds reported with the work.
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
    /// A grade (or screening) for the platform's submissions endpoint.
    Submission(SubmissionRequest),
    /// A senior review decision for the platform's reviews endpoint.
    Review(ReviewRequest),
}

impl OutboxPayload {
    pub(crate) fn kind_str(&self) -> &'static str {
        match self {
            Self::Submission(_) => "submission",
            Self::Review(_) => "review",
        }
    }
    /// The assignment the upload is for.
    pub fn assignment_id(&self) -> &str {
        match self {
            Self::Submission(r) => &r.assignment_id,
            Self::Review(r) => &r.assignment_id,
        }
    }
}

/// Where an outbox entry stands in its upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for (the next attempt at) upload.
    Queued,
    /// An upload was started; after a crash it is retried with the same key.
    Sending,
    /// The platform acknowledged it.
    Sent,
    /// The platform refused it for good; the reason is on the item's issue.
    FailedPermanent,
}

impl OutboxState {
    /// The name stored in the database (`queued`, `sending`, `sent`, `failed_permanent`).
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
    /// Row id; increases in enqueue order.
    #[ts(type = "number")]
    pub id: i64,
    /// The assignment the upload is for.
    pub assignment_id: String,
    /// UUIDv7 generated at enqueue; never changes, sent on every attempt.
    pub idempotency_key: String,
    /// What is uploaded.
    pub payload: OutboxPayload,
    /// Upload attempts made so far.
    pub attempts: u32,
    /// Earliest time of the next attempt (backoff).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// Where the upload stands.
    pub state: OutboxState,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// Why the platform refused an upload for good; shown on the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The lease ran out before the upload.
    LeaseExpired,
    /// The assignment now names another rubric version.
    RubricChanged,
    /// The platform refused the content (e.g. failed validation).
    Rejected,
}

impl IssueKind {
    /// The name stored in the database (`lease_expired`, `rubric_changed`, `rejected`).
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
    /// What kind of problem.
    pub kind: IssueKind,
    /// The platform's explanation, shown to the reviewer.
    pub message: String,
}

/// A submission (or review) the platform acknowledged, with its latest outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SubmissionRecord {
    /// The platform's id of the submission (or review).
    pub submission_id: String,
    /// The assignment it was for.
    pub assignment_id: String,
    /// When the platform received it.
    pub received_at: DateTime<Utc>,
    /// The latest review outcome.
    pub status: OutcomeStatus,
    /// The senior reviewer's feedback, if any.
    pub feedback: Option<String>,
    /// When the outcome was decided; `None` while pending.
    pub decided_at: Option<DateTime<Utc>>,
}

/// Local availability of one attachment of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AttachmentStatus {
    /// The attachment.
    pub attachment: AttachmentRef,
    /// Whether its bytes are in the blob store.
    pub downloaded: bool,
}

/// Everything the item view needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ItemDetail {
    /// The assignment as last synced.
    pub assignment: assay_protocol::Assignment,
    /// Where the work stands for the reviewer.
    pub status: QueueStatus,
    /// Whether the platform revoked or reassigned the assignment.
    pub orphaned: bool,
    /// The item as the rubric scopes it; `None` until downloaded.
    pub scoped: Option<ScopedItem>,
    /// For senior review: the submission being reviewed.
    pub reviewed_submission: Option<ReviewedSubmission>,
    /// The reviewer's draft, if one was saved.
    pub draft: Option<Draft>,
    /// The latest acknowledged submission, if any.
    pub latest_submission: Option<SubmissionRecord>,
    /// The latest outbox entry for the assignment, if any.
    pub outbox: Option<OutboxEntry>,
    /// A problem the sync recorded on the item, if any.
    pub issue: Option<ItemIssue>,
    /// Every attachment of the scoped item and whether it is downloaded.
    pub attachments: Vec<AttachmentStatus>,
}

/// One stretch of time on task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimeSession {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// The assignment the time was spent on.
    pub assignment_id: String,
    /// When the stretch started.
    pub started_at: DateTime<Utc>,
    /// `None` while the session is running (or if the app crashed during it).
    pub ended_at: Option<DateTime<Utc>>,
    /// Whether the reviewer edited the session by hand.
    pub corrected: bool,
}

/// Sync health shown in the status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncStatus {
    /// When the last sync started; `None` before the first.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a sync last finished without error.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last sync failed, if it did.
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
    /// The name stored in the database (`item`, `attachment`, `rubric`).
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
    /// What kind of thing is held back.
    pub kind: QuarantineKind,
    /// Its key (see [`QuarantineKind`]).
    pub key: String,
    /// What the reviewer recognises: the item's title, the file name.
    pub label: String,
    /// Why, in words (never content of the refused data).
    pub reason: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Earliest time of the next retry (backoff).
    pub next_attempt_at: DateTime<Utc>,
    /// When it first failed.
    pub first_failed_at: DateTime<Utc>,
}

/// Lease of an assignment the reviewer may work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LeaseInfo {
    /// The assignment.
    pub assignment_id: String,
    /// When its lease runs out unless renewed.
    pub lease_expires_at: DateTime<Utc>,
}
