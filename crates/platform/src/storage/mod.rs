//! Persistence. Handlers talk only to the [`Storage`] trait (and to the
//! rules of [`crate::rules`] over it); no SQL lives outside the storage
//! modules. [`SqliteStorage`] is the default backend (one laptop, the demo);
//! [`PostgresStorage`] serves a team from several platform processes. Both
//! run the same queries (`sql`, written once); each backend only connects,
//! migrates and binds values its own way.
//!
//! Backends only store. Every change with a business rule in it (submitting,
//! reviewing, deciding an outcome, leases, payouts, imports) is written in
//! [`crate::rules`] over the [`Tx`] primitives and runs in one
//! [`Storage::transaction`]: it commits completely (e.g. the submission, its
//! ledger entry, the assignment's state change and the idempotency record)
//! or leaves nothing behind.

mod postgres;
mod rows;
mod sql;
mod sqlite;

use std::collections::BTreeMap;

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, ExpertProfile, FieldValue, Item, LedgerEntry,
    LedgerStatus, Opportunity, OutcomeStatus, Payout, Rate, RateCard, ReviewOutcome, ReviewRequest,
    ReviewedSubmission, RubricEnvelope, SubmissionRequest,
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
    /// The expert the e-mail belongs to.
    pub expert_id: String,
    /// Hex salt of the password verifier.
    pub salt: String,
    /// Verifier from `auth::hash_password(salt, password)` (`"!"` for token-only experts: matches no password).
    pub password_hash: String,
}

/// A token as stored: only the sha256 of the secret is kept.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// The token's id (what `revoke_token` takes).
    pub token_id: String,
    /// The expert the token acts for.
    pub expert_id: String,
    /// Revoked tokens authenticate nobody.
    pub revoked: bool,
    /// What the token may do (expert, author, operator).
    pub role: Role,
}

/// An expert to create (seeding, admin).
#[derive(Debug, Clone)]
pub struct NewExpert {
    /// The expert as the app shows them (id and e-mail unique; the e-mail
    /// is stored lower-case).
    pub profile: ExpertProfile,
    /// Hex salt of the password verifier (`auth::generate_salt`).
    pub salt: String,
    /// Verifier from `auth::hash_password(salt, password)`.
    pub password_hash: String,
}

impl NewExpert {
    /// An expert who signs in only with tokens issued for them (`"!"` never
    /// equals a password digest): e-mail `{id}@example.org`, named by the
    /// id, no expertise or attestations, not a senior reviewer, UTC.
    pub fn token_only(id: &str) -> NewExpert {
        NewExpert {
            profile: ExpertProfile {
                id: id.to_owned(),
                email: format!("{id}@example.org"),
                display_name: id.to_owned(),
                expertise: Vec::new(),
                attestations: Vec::new(),
                senior_reviewer: false,
                timezone: "UTC".to_owned(),
            },
            salt: "s".to_owned(),
            password_hash: "!".to_owned(),
        }
    }
}

/// An assignment to create.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    /// The assignment's id (unique).
    pub id: String,
    /// The expert who is to do the work.
    pub expert_id: String,
    /// The item to grade.
    pub item_id: String,
    /// Grading, senior review or screening.
    pub kind: AssignmentKind,
    /// When it was handed out.
    pub assigned_at: DateTime<Utc>,
    /// When the lease runs out unless renewed.
    pub lease_expires_at: DateTime<Utc>,
    /// When the work is due.
    pub due_at: DateTime<Utc>,
    /// For a senior review: the submission it reviews.
    pub review_of_submission_id: Option<String>,
}

/// Metadata of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// Lower-case hex SHA-256 of the content (the blob's key).
    pub sha256: String,
    /// Content length in bytes.
    pub size: u64,
    /// MIME type given when it was uploaded.
    pub media_type: String,
}

/// An imported item as stored, looked up by its external id.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedItem {
    /// The item's id on this platform.
    pub item_id: String,
    /// The item's title.
    pub title: String,
    /// The item's fields by id.
    pub fields: BTreeMap<String, FieldValue>,
    /// The item's revision after the import (1 for a new item).
    pub revision: u32,
    /// The rubric the item pins.
    pub rubric_id: String,
    /// The version of that rubric.
    pub rubric_version: u32,
}

/// One change of a bulk import; [`Rules::apply_import`](crate::rules::Rules::apply_import) applies a batch
/// of them in one transaction.
#[derive(Debug, Clone)]
pub enum ImportOp {
    /// A new item with its external id, pinned to a rubric version.
    Insert {
        /// The item to store (at revision 1).
        item: Item,
        /// The item's id in the importer's system (unique per opportunity).
        external_id: String,
        /// The rubric the item pins.
        rubric_id: String,
        /// The version of that rubric.
        rubric_version: u32,
    },
    /// Replace an item's title and fields; its revision goes up by one and
    /// its assignments are re-published (as with an admin re-publish).
    /// Refused with a conflict when the item is no longer at `expected_revision`.
    Replace {
        /// The item to change.
        item_id: String,
        /// The revision the import read; another is a conflict.
        expected_revision: u32,
        /// The new title.
        title: String,
        /// The new fields by id (replacing all of them).
        fields: BTreeMap<String, FieldValue>,
    },
}

/// The assignment that decides an expert's access to an item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAccess {
    /// The assignment's id.
    pub assignment_id: String,
    /// Grading, senior review or screening.
    pub kind: AssignmentKind,
    /// For a senior review: the submission it reviews.
    pub review_of: Option<String>,
}

/// One graded submission as exported to a buyer (a line of the export NDJSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportRecord {
    /// The platform's submission id.
    pub submission_id: String,
    /// The assignment the submission answers.
    pub assignment_id: String,
    /// The graded item.
    pub item_id: String,
    /// The item's id in the importer's system, when it was imported.
    pub external_id: Option<String>,
    /// The item's revision the grader saw.
    pub item_revision: u32,
    /// The opportunity the work was done for.
    pub opportunity_id: String,
    /// The rubric the answers follow.
    pub rubric_id: String,
    /// The version of that rubric.
    pub rubric_version: u32,
    /// The grader.
    pub expert_id: String,
    /// The grader's e-mail.
    pub expert_email: String,
    /// The answers as submitted (JSON keyed by question id).
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// Time on task (active seconds the client logged).
    pub active_seconds: u64,
    /// The stretches of active time as submitted (JSON).
    #[schema(value_type = Object)]
    pub time_log: serde_json::Value,
    /// When the grader's app created the submission (the client's clock).
    pub client_created_at: DateTime<Utc>,
    /// When the platform received it.
    pub received_at: DateTime<Utc>,
    /// Pending, accepted, rejected or sent back for revision.
    pub status: OutcomeStatus,
    /// The licence category the buyer may use the work under.
    pub licence_category: String,
    /// Who the work is done for.
    pub buyer: String,
    /// Change sequence of this record: it moves when the outcome is decided,
    /// so an export continued from a cursor also brings status changes.
    pub seq: i64,
}

/// A page of rows after a sequence number, plus whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Rows after the cursor, in `seq` order (at most the limit asked for).
    pub rows: Vec<T>,
    /// More rows follow the last one.
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
    /// Creates an expert (e-mail stored lower-case); an id or e-mail already taken is an error.
    fn insert_expert(&self, expert: &NewExpert, now: DateTime<Utc>) -> PlatformResult<()>;
    /// The password verifier of the expert with this e-mail (any case), if any.
    fn expert_credentials(&self, email: &str) -> PlatformResult<Option<ExpertCredentials>>;
    /// The id of the expert with this e-mail (any case), if any.
    fn expert_id_by_email(&self, email: &str) -> PlatformResult<Option<String>>;
    /// The expert's profile; not found when there is none.
    fn expert_profile(&self, expert_id: &str) -> PlatformResult<ExpertProfile>;
    /// Stores a token by its SHA-256 (`auth::token_hash`); the token itself is never stored.
    fn insert_token(
        &self,
        token_id: &str,
        expert_id: &str,
        token_hash: &str,
        label: Option<&str>,
        role: Role,
        now: DateTime<Utc>,
    ) -> PlatformResult<()>;
    /// The token with this hash (`auth::token_hash`), revoked or not.
    fn token_by_hash(&self, token_hash: &str) -> PlatformResult<Option<TokenRecord>>;
    /// Revokes a token at `now`; not found when there is no active token with that id.
    fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> PlatformResult<()>;

    // ---- catalogue
    /// Store an opportunity with its rubric document (JSON) and rates.
    fn insert_opportunity(
        &self,
        opportunity: &Opportunity,
        rubric_document: &serde_json::Value,
        rates: &[Rate],
    ) -> PlatformResult<()>;
    /// Every opportunity, by id.
    fn list_opportunities(&self) -> PlatformResult<Vec<Opportunity>>;
    /// A published rubric version with its document; not found when there is none.
    fn rubric(&self, id: &str, version: u32) -> PlatformResult<RubricEnvelope> {
        let document = self.rubric_document(id, version)?.ok_or_else(|| {
            crate::error::PlatformError::not_found(format!("rubric {id} v{version}"))
        })?;
        Ok(RubricEnvelope {
            id: id.to_owned(),
            version,
            document,
        })
    }
    /// The document of a published rubric version, if there is one.
    fn rubric_document(&self, id: &str, version: u32) -> PlatformResult<Option<serde_json::Value>>;
    /// Every rate of every opportunity, by opportunity and `effective_from`.
    fn rate_card(&self) -> PlatformResult<RateCard>;

    // ---- items and blobs
    /// Records an uploaded blob (no-op when already recorded).
    fn insert_blob_meta(&self, meta: &BlobMeta) -> PlatformResult<()>;
    /// What is recorded about the blob, if it was uploaded.
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
    /// The expert's assignments changed after `after_seq`, oldest first, at most `limit`.
    fn list_assignments(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<Assignment>>;

    // ---- submissions, reviews, outcomes
    /// Outcomes of the expert's submissions changed after `after_seq`, oldest first, at most `limit`.
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
    /// The expert's ledger entries changed after `after_seq`, oldest first, at most `limit`.
    fn list_ledger(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<LedgerEntry>>;
    /// The expert's payouts.
    fn list_payouts(&self, expert_id: &str) -> PlatformResult<Vec<Payout>>;
    /// Experts with at least one accepted, unpaid ledger entry.
    fn experts_with_payable_entries(&self) -> PlatformResult<Vec<String>>;

    // ---- publishing (rules live in `crate::publish`; these only store)
    /// Every expert with the role of their account (authors and operators
    /// are never given work by assignment policies).
    fn list_experts(&self) -> PlatformResult<Vec<(ExpertProfile, Role)>>;
    /// Sets the role of an expert's account; not found when there is no such expert.
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
    /// The opportunity the item belongs to.
    pub opportunity_id: String,
    /// The rubric the item pins.
    pub rubric_id: String,
    /// The version of that rubric.
    pub rubric_version: u32,
}

/// An assignment as stored, with the expert who holds it.
#[derive(Debug, Clone)]
pub struct AssignmentRecord {
    /// The expert holding the assignment.
    pub expert_id: String,
    /// The assignment as clients see it.
    pub assignment: Assignment,
}

/// An item's content as stored.
#[derive(Debug, Clone)]
pub struct ItemContent {
    /// The item's title.
    pub title: String,
    /// The item's fields by id.
    pub fields: BTreeMap<String, FieldValue>,
    /// The item's current revision.
    pub revision: u32,
}

/// A ledger entry to add; the backend gives it an id and the next `seq`.
#[derive(Debug, Clone)]
pub struct NewLedgerEntry<'a> {
    /// The expert the entry pays.
    pub expert_id: &'a str,
    /// The submission the entry is for.
    pub submission_id: &'a str,
    /// The assignment the submission answers.
    pub assignment: &'a Assignment,
    /// Amount in minor units (negative for a reversal).
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: &'a str,
    /// Pending, accepted, paid or reversed.
    pub status: LedgerStatus,
    /// When the entry is made.
    pub now: DateTime<Utc>,
}

/// A submission to store (its outcome starts as `status`).
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    /// The platform's submission id.
    pub id: &'a str,
    /// The expert who submitted.
    pub expert_id: &'a str,
    /// The assignment the submission answers.
    pub assignment: &'a Assignment,
    /// The request as the client sent it.
    pub request: &'a SubmissionRequest,
    /// The outcome it starts with (usually pending).
    pub status: OutcomeStatus,
    /// When the platform received it.
    pub received_at: DateTime<Utc>,
}

/// A senior review to store.
#[derive(Debug, Clone)]
pub struct NewReview<'a> {
    /// The review's id.
    pub id: &'a str,
    /// The senior review assignment it completes.
    pub assignment_id: &'a str,
    /// The senior reviewer.
    pub reviewer_id: &'a str,
    /// The decision and feedback as the client sent them.
    pub request: &'a ReviewRequest,
    /// When the platform received it.
    pub received_at: DateTime<Utc>,
}

/// The extra keys of an imported item.
#[derive(Debug, Clone)]
pub struct ImportKey<'a> {
    /// The item's id in the importer's system (unique per opportunity).
    pub external_id: &'a str,
    /// The rubric the item pins.
    pub rubric_id: &'a str,
    /// The version of that rubric.
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
    /// Stores the request hash and the response of an idempotency key, so a repeat gets the same answer.
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
    /// Whether an expert with this id exists.
    fn expert_exists(&mut self, expert_id: &str) -> PlatformResult<bool>;
    /// The item's opportunity and rubric version, if the item exists.
    fn item_grading(&mut self, item_id: &str) -> PlatformResult<Option<ItemGrading>>;
    /// The item's title, fields and revision, if the item exists.
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
    /// Whether a blob with this hash was uploaded.
    fn blob_exists(&mut self, sha256: &str) -> PlatformResult<bool>;
    /// Record that an item references a blob (no-op when already recorded).
    fn link_blob(&mut self, item_id: &str, sha256: &str) -> PlatformResult<()>;

    // ---- assignments
    /// The assignment with its holder, read inside the transaction.
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
    /// Stores a submission and its initial outcome (next outcome `seq`).
    fn insert_submission(&mut self, new: &NewSubmission<'_>) -> PlatformResult<()>;
    /// Stores a senior review.
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
    /// Adds a ledger entry (next ledger `seq`).
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use assay_pgtest::migrations::assert_embedded_in_order;

    #[test]
    fn every_numbered_migration_file_is_embedded_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        assert_embedded_in_order(&dir.join("sqlite"), super::sqlite::MIGRATIONS);
        assert_embedded_in_order(&dir.join("postgres"), super::postgres::MIGRATIONS);
    }
}
