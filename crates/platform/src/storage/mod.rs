//! Persistence. Handlers talk only to the [`Storage`] trait (and to the
//! rules of [`crate::rules`] over it); no SQL lives outside the backend
//! modules. [`SqliteStorage`] is the default backend (one laptop, the demo);
//! [`PostgresStorage`] serves a team from several platform processes.
//!
//! Backends only store. Every change with a business rule in it (submitting,
//! reviewing, deciding an outcome, leases, payouts, imports) is written in
//! [`crate::rules`] over the [`Tx`] primitives and runs in one
//! [`Storage::transaction`]: it commits completely (e.g. the submission, its
//! ledger entry, the assignment's state change and the idempotency record)
//! or leaves nothing behind.

mod postgres;
mod rows;
mod sqlite;

use std::collections::BTreeMap;

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, Attestation, ExpertProfile, FieldValue, Item,
    LedgerEntry, LedgerStatus, Opportunity, OutcomeStatus, Payout, Rate, RateCard, ReviewOutcome,
    ReviewRequest, ReviewedSubmission, RubricEnvelope, SubmissionRequest,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

/// Whether `db` names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`) rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Open (creating and migrating as needed) the database `db` names: a
/// PostgreSQL URL, or else the path of a SQLite file. Blocking.
pub fn open(db: &std::path::Path) -> Result<std::sync::Arc<dyn Storage>, crate::error::Error> {
    match db.to_str() {
        Some(url) if is_postgres_url(url) => {
            Ok(std::sync::Arc::new(PostgresStorage::connect(url)?))
        }
        _ => Ok(std::sync::Arc::new(SqliteStorage::open(db)?)),
    }
}

use crate::auth::Role;
use crate::error::PlatformResult;

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

impl NewExpert {
    /// An expert who signs in only with tokens issued for them (`"!"` never
    /// equals a password digest): e-mail `{id}@example.org`, named by the
    /// id, no expertise or attestations, not a senior reviewer, UTC.
    pub fn token_only(id: &str) -> NewExpert {
        NewExpert {
            id: id.to_owned(),
            email: format!("{id}@example.org"),
            display_name: id.to_owned(),
            salt: "s".to_owned(),
            password_hash: "!".to_owned(),
            expertise: Vec::new(),
            attestations: Vec::new(),
            senior_reviewer: false,
            timezone: "UTC".to_owned(),
        }
    }
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

/// The assignment that decides an expert's access to an item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAccess {
    pub assignment_id: String,
    pub kind: AssignmentKind,
    /// For a senior review: the submission it reviews.
    pub review_of: Option<String>,
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
///
/// Every method blocks: call it from a thread that is not driving async
/// tasks (`tokio::task::spawn_blocking`, as the handlers do, or plain
/// threads). [`PostgresStorage`] runs its connections on a runtime of its
/// own and panics if called on an async worker thread.
pub trait Storage: Send + Sync + 'static {
    // ---- experts and tokens
    fn insert_expert(&self, expert: &NewExpert, now: DateTime<Utc>) -> PlatformResult<()>;
    fn expert_credentials(&self, email: &str) -> PlatformResult<Option<ExpertCredentials>>;
    fn expert_id_by_email(&self, email: &str) -> PlatformResult<Option<String>>;
    fn expert_profile(&self, expert_id: &str) -> PlatformResult<ExpertProfile>;
    fn insert_token(
        &self,
        token_id: &str,
        expert_id: &str,
        token_hash: &str,
        label: Option<&str>,
        role: Role,
        now: DateTime<Utc>,
    ) -> PlatformResult<()>;
    fn token_by_hash(&self, token_hash: &str) -> PlatformResult<Option<TokenRecord>>;
    fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> PlatformResult<()>;

    // ---- catalogue
    /// Store an opportunity with its rubric document (JSON) and rates.
    fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        rubric_document: &serde_json::Value,
        rates: &[Rate],
    ) -> PlatformResult<()>;
    fn list_opportunities(&self) -> PlatformResult<Vec<Opportunity>>;
    fn rubric(&self, id: &str, version: u32) -> PlatformResult<RubricEnvelope>;
    fn rate_card(&self) -> PlatformResult<RateCard>;

    // ---- items and blobs
    fn insert_blob_meta(&self, meta: &BlobMeta) -> PlatformResult<()>;
    fn blob_meta(&self, sha256: &str) -> PlatformResult<Option<BlobMeta>>;
    /// Whether one of the expert's assignments (any state) is on an item that references the blob.
    fn expert_can_read_blob(&self, expert_id: &str, sha256: &str) -> PlatformResult<bool>;
    /// An item as stored (plain read; who may see it is
    /// [`crate::rules::Rules::item_for_expert`]'s rule).
    fn item(&self, item_id: &str) -> PlatformResult<Option<Item>>;
    /// The expert's most recent assignment of an item that is not revoked,
    /// reassigned or released (the one that decides access).
    fn live_assignment_of_item(
        &self,
        expert_id: &str,
        item_id: &str,
    ) -> PlatformResult<Option<ItemAccess>>;
    /// A submission as shown to a reviewer (or its author).
    fn submission_view(&self, submission_id: &str) -> PlatformResult<Option<ReviewedSubmission>>;
    /// The expert's latest submission on an assignment.
    fn latest_submission(
        &self,
        assignment_id: &str,
        expert_id: &str,
    ) -> PlatformResult<Option<ReviewedSubmission>>;

    // ---- assignments (changes go through [`Storage::transaction`])
    /// An assignment with its holder (a plain read, outside any transaction).
    fn assignment_record(&self, id: &str) -> PlatformResult<Option<AssignmentRecord>>;
    fn list_assignments(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<Assignment>>;

    // ---- submissions, reviews, outcomes
    fn list_outcomes(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<ReviewOutcome>>;
    /// Pending submissions received before `cutoff` (and not under senior
    /// review), with the kind of their assignment.
    fn pending_submissions_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> PlatformResult<Vec<(String, AssignmentKind)>>;

    // ---- money
    fn list_ledger(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<LedgerEntry>>;
    fn list_payouts(&self, expert_id: &str) -> PlatformResult<Vec<Payout>>;
    /// Experts with at least one accepted, unpaid ledger entry.
    fn experts_with_payable_entries(&self) -> PlatformResult<Vec<String>>;

    // ---- publishing (rules live in `crate::publish`; these only store)
    /// Every expert with the role of their account (authors and operators
    /// are never given work by assignment policies).
    fn list_experts(&self) -> PlatformResult<Vec<(ExpertProfile, Role)>>;
    fn set_expert_role(&self, expert_id: &str, role: Role) -> PlatformResult<()>;
    /// Experts with an accepted screening submission in the opportunity.
    fn experts_passed_screening(&self, opportunity_id: &str) -> PlatformResult<Vec<String>>;
    /// Experts holding a screening assignment in the opportunity that is
    /// active or completed (taken, or answered and possibly decided).
    fn screening_holders(&self, opportunity_id: &str) -> PlatformResult<Vec<String>>;
    /// Highest published version of a rubric.
    fn latest_rubric_version(&self, id: &str) -> PlatformResult<Option<u32>>;
    /// Store a new rubric version; a conflict if `(id, version)` exists.
    fn insert_rubric(
        &self,
        id: &str,
        version: u32,
        document: &serde_json::Value,
    ) -> PlatformResult<()>;
    /// An opportunity and its published spec (absent for seeded ones).
    fn opportunity(
        &self,
        id: &str,
    ) -> PlatformResult<Option<(Opportunity, Option<serde_json::Value>)>>;
    /// Create or update an opportunity with its spec; `new_rate` (if any)
    /// becomes its rate from its `effective_from`. Returns whether it was created.
    fn put_opportunity(
        &self,
        opportunity: &Opportunity,
        spec: &serde_json::Value,
        new_rate: Option<&Rate>,
    ) -> PlatformResult<bool>;
    /// The opportunity's imported items among `external_ids`, by external id.
    fn imported_items(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> PlatformResult<BTreeMap<String, ImportedItem>>;
    /// Every item of the opportunity (oldest first) with the experts that
    /// hold an active or completed grade assignment of it.
    fn grader_coverage(&self, opportunity_id: &str) -> PlatformResult<Vec<(String, Vec<String>)>>;
    /// Number of assignments of `kind` ever made in the opportunity.
    fn count_assignments(&self, opportunity_id: &str, kind: AssignmentKind) -> PlatformResult<u64>;
    /// Number of submissions on grade assignments in the opportunity.
    fn count_grade_submissions(&self, opportunity_id: &str) -> PlatformResult<u64>;
    /// Grade submissions whose outcome sequence is after `after_seq`, in
    /// that order (new submissions and decided outcomes).
    fn export_submissions(&self, after_seq: i64, limit: u32) -> PlatformResult<Page<ExportRecord>>;

    // ---- changes
    /// Run `f` in one write transaction: commit when it returns `Ok`, roll
    /// everything back when it returns an error. Write transactions are
    /// serialised (no two run at once, across processes sharing the
    /// database), so what `f` reads stays true until it commits. The rules
    /// of [`crate::rules`] run inside it.
    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> PlatformResult<()>,
    ) -> PlatformResult<()>;
}

/// Where an item is graded: its opportunity and the rubric version it pins
/// (the opportunity's for seeded items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemGrading {
    pub opportunity_id: String,
    pub rubric_id: String,
    pub rubric_version: u32,
}

/// An assignment as stored, with the expert who holds it.
#[derive(Debug, Clone)]
pub struct AssignmentRecord {
    pub expert_id: String,
    pub assignment: Assignment,
}

/// An item's content as stored.
#[derive(Debug, Clone)]
pub struct ItemContent {
    pub title: String,
    pub fields: BTreeMap<String, FieldValue>,
    pub revision: u32,
}

/// A ledger entry to add; the backend gives it an id and the next `seq`.
#[derive(Debug, Clone)]
pub struct NewLedgerEntry<'a> {
    pub expert_id: &'a str,
    pub submission_id: &'a str,
    pub assignment: &'a Assignment,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub status: LedgerStatus,
    pub now: DateTime<Utc>,
}

/// A submission to store (its outcome starts as `status`).
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    pub id: &'a str,
    pub expert_id: &'a str,
    pub assignment: &'a Assignment,
    pub request: &'a SubmissionRequest,
    pub status: OutcomeStatus,
    pub received_at: DateTime<Utc>,
}

/// A senior review to store.
#[derive(Debug, Clone)]
pub struct NewReview<'a> {
    pub id: &'a str,
    pub assignment_id: &'a str,
    pub reviewer_id: &'a str,
    pub request: &'a ReviewRequest,
    pub received_at: DateTime<Utc>,
}

/// The extra keys of an imported item.
#[derive(Debug, Clone)]
pub struct ImportKey<'a> {
    pub external_id: &'a str,
    pub rubric_id: &'a str,
    pub rubric_version: u32,
}

/// Storage operations inside one transaction ([`Storage::transaction`]).
/// They only read and write rows; every decision (who may do what, what it
/// pays, which state follows) is taken by [`crate::rules`]. Every change
/// that clients sync by sequence number gives the row the next `seq`.
pub trait Tx {
    // ---- idempotency
    /// The request hash and stored response of an idempotency key.
    fn idempotency_record(
        &mut self,
        expert_id: &str,
        endpoint: &str,
        key: &str,
    ) -> PlatformResult<Option<(String, serde_json::Value)>>;
    fn insert_idempotency_record(
        &mut self,
        expert_id: &str,
        endpoint: &str,
        key: &str,
        request_hash: &str,
        response: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> PlatformResult<()>;

    // ---- experts, items, blobs
    fn expert_exists(&mut self, expert_id: &str) -> PlatformResult<bool>;
    fn item_grading(&mut self, item_id: &str) -> PlatformResult<Option<ItemGrading>>;
    fn item_content(&mut self, item_id: &str) -> PlatformResult<Option<ItemContent>>;
    /// Store a new item at revision 1. Returns `false` (storing nothing)
    /// when its id, or its external id in the opportunity, already exists.
    fn insert_item(&mut self, item: &Item, import: Option<&ImportKey<'_>>) -> PlatformResult<bool>;
    /// Replace title and fields of an item that is at `expected_revision`;
    /// returns the new revision (one up), or `None` when the item is not at
    /// that revision (or does not exist).
    fn replace_item_content(
        &mut self,
        item_id: &str,
        expected_revision: u32,
        title: &str,
        fields: &BTreeMap<String, FieldValue>,
    ) -> PlatformResult<Option<u32>>;
    fn blob_exists(&mut self, sha256: &str) -> PlatformResult<bool>;
    /// Record that an item references a blob (no-op when already recorded).
    fn link_blob(&mut self, item_id: &str, sha256: &str) -> PlatformResult<()>;

    // ---- assignments
    fn assignment(&mut self, id: &str) -> PlatformResult<Option<AssignmentRecord>>;
    /// Store a new, active assignment graded as `grading` says.
    fn insert_assignment(
        &mut self,
        new: &NewAssignment,
        grading: &ItemGrading,
    ) -> PlatformResult<()>;
    /// Set state, lease and due date of an assignment (next `seq`).
    fn update_assignment(
        &mut self,
        id: &str,
        state: AssignmentState,
        lease_expires_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> PlatformResult<()>;
    /// Give an assignment the next `seq` without changing it (its item changed).
    fn touch_assignment(&mut self, id: &str) -> PlatformResult<()>;
    /// Every assignment of an item, oldest `seq` first.
    fn item_assignments(&mut self, item_id: &str) -> PlatformResult<Vec<AssignmentRecord>>;
    /// Senior review assignments of a submission, oldest `seq` first.
    fn review_assignments(&mut self, submission_id: &str) -> PlatformResult<Vec<AssignmentRecord>>;
    /// The expert's assignments in `state` whose lease ends before `before`
    /// (or at it, when `inclusive`), oldest `seq` first.
    fn assignments_leased_until(
        &mut self,
        expert_id: &str,
        state: AssignmentState,
        before: DateTime<Utc>,
        inclusive: bool,
    ) -> PlatformResult<Vec<AssignmentRecord>>;

    // ---- submissions, reviews, outcomes
    fn insert_submission(&mut self, new: &NewSubmission<'_>) -> PlatformResult<()>;
    fn insert_review(&mut self, new: &NewReview<'_>) -> PlatformResult<()>;
    /// A submission's outcome and its author.
    fn outcome(&mut self, submission_id: &str) -> PlatformResult<Option<(String, ReviewOutcome)>>;
    /// Record a decision on a submission (next outcome `seq`).
    fn set_outcome(
        &mut self,
        submission_id: &str,
        status: OutcomeStatus,
        feedback: Option<&str>,
        decided_at: DateTime<Utc>,
    ) -> PlatformResult<()>;

    // ---- money
    /// The rate of an opportunity in force at `at` (latest `effective_from` not after it).
    fn rate_at(&mut self, opportunity_id: &str, at: DateTime<Utc>) -> PlatformResult<Option<Rate>>;
    fn insert_ledger_entry(&mut self, new: &NewLedgerEntry<'_>) -> PlatformResult<()>;
    /// Ledger entries of the expert in `status`, oldest `seq` first; with
    /// `submission_id`, only that submission's; with `unpaid`, only those
    /// without a payout.
    fn ledger_entries(
        &mut self,
        expert_id: &str,
        status: LedgerStatus,
        submission_id: Option<&str>,
        unpaid: bool,
    ) -> PlatformResult<Vec<LedgerEntry>>;
    /// Set a ledger entry's status (and payout), at `now` (next `seq`).
    fn update_ledger_entry(
        &mut self,
        id: &str,
        status: LedgerStatus,
        payout_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> PlatformResult<()>;
    /// Store a payout (its entries are linked by [`Tx::update_ledger_entry`]).
    fn insert_payout(&mut self, expert_id: &str, payout: &Payout) -> PlatformResult<()>;
}
