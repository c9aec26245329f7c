//! Persistence. Handlers talk only to the [`Storage`] trait; no SQL lives
//! outside the backend modules, so a PostgreSQL backend can implement the same
//! trait for a multi-user deployment. [`SqliteStorage`] is the default backend.
//!
//! Every mutating operation is atomic: it either commits completely (e.g. the
//! submission, its ledger entry, the assignment's state change and the
//! idempotency record) or leaves nothing behind.

mod sqlite;

use std::collections::BTreeMap;

use assay_protocol::{
    Assignment, AssignmentKind, Attestation, ExpertProfile, FieldValue, Item, ItemEnvelope, Lease,
    LedgerEntry, Opportunity, OutcomeStatus, Payout, Rate, RateCard, ReviewOutcome, ReviewReceipt,
    ReviewRequest, RubricEnvelope, SubmissionReceipt, SubmissionRequest,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use sqlite::SqliteStorage;

use crate::auth::Role;
use crate::error::StoreResult;

/// Stored password verifier of an expert.
#[derive(Debug, Clone)]
pub struct ExpertCredentials {
    pub expert_id: String,
    pub salt: String,
    pub password_hash: String,
}

/// A token as stored: only the sha256 of the secret is kept.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub token_id: String,
    pub expert_id: String,
    pub revoked: bool,
    pub role: Role,
}

/// An expert to create (seeding, admin).
#[derive(Debug, Clone)]
pub struct NewExpert {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub salt: String,
    pub password_hash: String,
    pub expertise: Vec<String>,
    pub attestations: Vec<Attestation>,
    pub senior_reviewer: bool,
    pub timezone: String,
}

/// An assignment to create.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub id: String,
    pub expert_id: String,
    pub item_id: String,
    pub kind: AssignmentKind,
    pub assigned_at: DateTime<Utc>,
    pub lease_expires_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub review_of_submission_id: Option<String>,
}

/// Metadata of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
}

/// An imported item as stored, looked up by its external id.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedItem {
    pub item_id: String,
    pub title: String,
    pub fields: BTreeMap<String, FieldValue>,
    pub revision: u32,
    pub rubric_id: String,
    pub rubric_version: u32,
}

/// One change of a bulk import; [`Storage::apply_import`] applies a batch
/// of them in one transaction.
#[derive(Debug, Clone)]
pub enum ImportOp {
    /// A new item with its external id, pinned to a rubric version.
    Insert {
        item: Item,
        external_id: String,
        rubric_id: String,
        rubric_version: u32,
    },
    /// Replace an item's title and fields; its revision goes up by one and
    /// its assignments are re-published (as with an admin re-publish).
    /// Refused with a conflict when the item is no longer at `expected_revision`.
    Replace {
        item_id: String,
        expected_revision: u32,
        title: String,
        fields: BTreeMap<String, FieldValue>,
    },
}

/// One graded submission as exported to a buyer (a line of the export NDJSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportRecord {
    pub submission_id: String,
    pub assignment_id: String,
    pub item_id: String,
    /// The item's id in the importer's system, when it was imported.
    pub external_id: Option<String>,
    pub item_revision: u32,
    pub opportunity_id: String,
    pub rubric_id: String,
    pub rubric_version: u32,
    /// The grader.
    pub expert_id: String,
    pub expert_email: String,
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// Time on task (active seconds the client logged).
    pub active_seconds: u64,
    #[schema(value_type = Object)]
    pub time_log: serde_json::Value,
    pub client_created_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub status: OutcomeStatus,
    pub licence_category: String,
    pub buyer: String,
    /// Change sequence of this record: it moves when the outcome is decided,
    /// so an export continued from a cursor also brings status changes.
    pub seq: i64,
}

/// A page of rows after a sequence number, plus whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_more: bool,
}

/// The persistence interface of the platform.
///
/// `now` is passed in (rather than read inside) so that seeding can write a
/// realistic history and tests can reason about time.
pub trait Storage: Send + Sync + 'static {
    // ---- experts and tokens
    fn insert_expert(&self, expert: &NewExpert, now: DateTime<Utc>) -> StoreResult<()>;
    fn expert_credentials(&self, email: &str) -> StoreResult<Option<ExpertCredentials>>;
    fn expert_id_by_email(&self, email: &str) -> StoreResult<Option<String>>;
    fn expert_profile(&self, expert_id: &str) -> StoreResult<ExpertProfile>;
    fn insert_token(
        &self,
        token_id: &str,
        expert_id: &str,
        token_hash: &str,
        label: Option<&str>,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> StoreResult<()>;

    // ---- catalogue
    /// Store an opportunity with its rubric document (JSON) and rates.
    fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        rubric_document: &serde_json::Value,
        rates: &[Rate],
    ) -> StoreResult<()>;
    fn list_opportunities(&self) -> StoreResult<Vec<Opportunity>>;
    fn rubric(&self, id: &str, version: u32) -> StoreResult<RubricEnvelope>;
    fn rate_card(&self) -> StoreResult<RateCard>;

    // ---- items and blobs
    /// Store an item; attachment fields must name blobs already stored.
    fn insert_item(&self, item: &Item) -> StoreResult<()>;
    /// Re-publish an item with changed content: `fields` replace the fields
    /// of the same id (others are kept), the item's revision goes up by one
    /// and every assignment of the item gets a new `seq`, so experts' next
    /// incremental sync sees the new revision and re-fetches the item.
    /// Returns the new revision and the number of assignments re-published.
    fn update_item_fields(
        &self,
        item_id: &str,
        fields: &BTreeMap<String, FieldValue>,
    ) -> StoreResult<(u32, u32)>;
    fn insert_blob_meta(&self, meta: &BlobMeta) -> StoreResult<()>;
    fn blob_meta(&self, sha256: &str) -> StoreResult<Option<BlobMeta>>;
    /// Whether one of the expert's assignments (any state) is on an item that references the blob.
    fn expert_can_read_blob(&self, expert_id: &str, sha256: &str) -> StoreResult<bool>;
    fn item_for_expert(&self, expert_id: &str, item_id: &str) -> StoreResult<ItemEnvelope>;

    // ---- assignments
    fn create_assignment(&self, new: &NewAssignment) -> StoreResult<Assignment>;
    fn assignment_for_expert(&self, expert_id: &str, id: &str) -> StoreResult<Assignment>;
    fn list_assignments(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Page<Assignment>>;
    fn renew_lease(
        &self,
        expert_id: &str,
        id: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Lease>;
    fn release_assignment(
        &self,
        expert_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Assignment>;
    fn revoke_assignment(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Assignment>;
    /// Mark `id` reassigned and create a fresh assignment of the item for `to_expert`.
    fn reassign_assignment(
        &self,
        id: &str,
        to_expert: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Assignment>;
    fn set_lease(&self, id: &str, lease_expires_at: DateTime<Utc>) -> StoreResult<Lease>;
    /// Mark the expert's active assignments whose lease ran out as expired
    /// (each gets a new `seq`, so clients learn about it). Returns how many.
    fn expire_overdue_leases(&self, expert_id: &str, now: DateTime<Utc>) -> StoreResult<usize>;
    /// Extend every active lease of the expert that ends before `until` to
    /// `until` (moving due dates along); the demo uses it on restart.
    fn extend_active_leases(&self, expert_id: &str, until: DateTime<Utc>) -> StoreResult<usize>;

    // ---- submissions, reviews, outcomes
    /// Idempotent submission (see module docs). `request_hash` is the hash of
    /// the canonical request body; `key` the client's idempotency key.
    fn submit(
        &self,
        expert_id: &str,
        key: &str,
        request_hash: &str,
        request: &SubmissionRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<SubmissionReceipt>;
    fn list_outcomes(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Page<ReviewOutcome>>;
    /// Idempotent senior review; the decision becomes the reviewed submission's outcome.
    fn review(
        &self,
        expert_id: &str,
        key: &str,
        request_hash: &str,
        request: &ReviewRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewReceipt>;
    /// Platform decision on a submission (admin, auto-review).
    fn decide_outcome(
        &self,
        submission_id: &str,
        status: OutcomeStatus,
        feedback: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewOutcome>;
    /// Pending submissions received at or before `cutoff` that no active
    /// senior review is looking at.
    /// Pending submissions received before `cutoff` (and not under senior
    /// review), with the kind of their assignment.
    fn pending_submissions_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, AssignmentKind)>>;

    // ---- money
    fn list_ledger(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Page<LedgerEntry>>;
    fn list_payouts(&self, expert_id: &str) -> StoreResult<Vec<Payout>>;
    /// Pay out all accepted, unpaid entries of the expert: one payout per
    /// currency; empty when nothing is payable.
    fn create_payout(
        &self,
        expert_id: &str,
        method: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Payout>>;
    /// Experts with at least one accepted, unpaid ledger entry.
    fn experts_with_payable_entries(&self) -> StoreResult<Vec<String>>;

    // ---- publishing (rules live in `crate::publish`; these only store)
    /// Every expert with the role of their account (authors and operators
    /// are never given work by assignment policies).
    fn list_experts(&self) -> StoreResult<Vec<(ExpertProfile, Role)>>;
    fn set_expert_role(&self, expert_id: &str, role: Role) -> StoreResult<()>;
    /// Experts with an accepted screening submission in the opportunity.
    fn experts_passed_screening(&self, opportunity_id: &str) -> StoreResult<Vec<String>>;
    /// Experts holding a screening assignment in the opportunity that is
    /// active or completed (taken, or answered and possibly decided).
    fn screening_holders(&self, opportunity_id: &str) -> StoreResult<Vec<String>>;
    /// Highest published version of a rubric.
    fn latest_rubric_version(&self, id: &str) -> StoreResult<Option<u32>>;
    /// Store a new rubric version; a conflict if `(id, version)` exists.
    fn insert_rubric(
        &self,
        id: &str,
        version: u32,
        document: &serde_json::Value,
    ) -> StoreResult<()>;
    /// An opportunity and its published spec (absent for seeded ones).
    fn opportunity(
        &self,
        id: &str,
    ) -> StoreResult<Option<(Opportunity, Option<serde_json::Value>)>>;
    /// Create or update an opportunity with its spec; `new_rate` (if any)
    /// becomes its rate from its `effective_from`. Returns whether it was created.
    fn put_opportunity(
        &self,
        opportunity: &Opportunity,
        spec: &serde_json::Value,
        new_rate: Option<&Rate>,
    ) -> StoreResult<bool>;
    /// The opportunity's imported items among `external_ids`, by external id.
    fn imported_items(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> StoreResult<BTreeMap<String, ImportedItem>>;
    /// Apply a batch of import changes atomically (all or nothing). Returns
    /// each op's item id and revision, in order.
    fn apply_import(
        &self,
        opportunity_id: &str,
        ops: &[ImportOp],
    ) -> StoreResult<Vec<(String, u32)>>;
    /// Every item of the opportunity (oldest first) with the experts that
    /// hold an active or completed grade assignment of it.
    fn grader_coverage(&self, opportunity_id: &str) -> StoreResult<Vec<(String, Vec<String>)>>;
    /// Number of assignments of `kind` ever made in the opportunity.
    fn count_assignments(&self, opportunity_id: &str, kind: AssignmentKind) -> StoreResult<u64>;
    /// Number of submissions on grade assignments in the opportunity.
    fn count_grade_submissions(&self, opportunity_id: &str) -> StoreResult<u64>;
    /// Grade submissions whose outcome sequence is after `after_seq`, in
    /// that order (new submissions and decided outcomes).
    fn export_submissions(&self, after_seq: i64, limit: u32) -> StoreResult<Page<ExportRecord>>;
}
