//! SQLite backend of [`Storage`]: WAL journal, migrations applied in one
//! transaction and tracked with `PRAGMA user_version`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, Attestation, ExpertProfile, FieldValue, Item,
    ItemEnvelope, Lease, LedgerEntry, LedgerStatus, Opportunity, OutcomeStatus, PayBasis, Payout,
    Rate, RateCard, ReviewDecision, ReviewOutcome, ReviewReceipt, ReviewRequest,
    ReviewedSubmission, RubricEnvelope, SubmissionReceipt, SubmissionRequest,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::{de::DeserializeOwned, Serialize};

use super::{
    BlobMeta, ExpertCredentials, ExportRecord, ImportOp, ImportedItem, NewAssignment, NewExpert,
    Page, Storage, TokenRecord,
};
use crate::auth::Role;
use crate::error::{Error, StoreError, StoreResult};

/// Lease granted when a "needs revision" outcome re-opens an assignment.
const REVISION_LEASE_HOURS: i64 = 48;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('seq', 0);
CREATE TABLE experts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_salt TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    expertise TEXT NOT NULL,
    attestations TEXT NOT NULL,
    senior_reviewer INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE rubrics (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE opportunities (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    licence_category TEXT NOT NULL,
    buyer TEXT NOT NULL,
    FOREIGN KEY (rubric_id, rubric_version) REFERENCES rubrics(id, version)
);
CREATE TABLE rates (
    opportunity_id TEXT NOT NULL REFERENCES opportunities(id),
    basis TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    effective_from TEXT NOT NULL
);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL
);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    opportunity_id TEXT NOT NULL REFERENCES opportunities(id),
    title TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE item_blobs (
    item_id TEXT NOT NULL REFERENCES items(id),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    PRIMARY KEY (item_id, sha256)
);
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    item_id TEXT NOT NULL REFERENCES items(id),
    opportunity_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    lease_expires_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    review_of_submission_id TEXT,
    seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX assignments_expert_seq ON assignments (expert_id, seq);
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    expert_id TEXT NOT NULL REFERENCES experts(id),
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version INTEGER NOT NULL,
    answers TEXT NOT NULL,
    active_seconds INTEGER NOT NULL,
    time_log TEXT NOT NULL,
    client_created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL,
    feedback TEXT,
    decided_at TEXT,
    outcome_seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX submissions_expert_seq ON submissions (expert_id, outcome_seq);
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    reviewer_id TEXT NOT NULL REFERENCES experts(id),
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    decision TEXT NOT NULL,
    feedback TEXT,
    active_seconds INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    paid_at TEXT NOT NULL,
    method TEXT NOT NULL
);
CREATE TABLE ledger (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    submission_id TEXT NOT NULL REFERENCES submissions(id),
    assignment_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    payout_id TEXT REFERENCES payouts(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX ledger_expert_seq ON ledger (expert_id, seq);
CREATE TABLE idempotency (
    expert_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (expert_id, endpoint, key)
);
"#,
    r#"
-- Items can be re-published with new content (admin `items/{id}/content`).
ALTER TABLE items ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
"#,
    r#"
-- Publishing: tokens carry a role; opportunities keep their published spec
-- (card + assignment policy); imported items have an external id and pin
-- the rubric version they were checked against.
ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'expert';
ALTER TABLE experts ADD COLUMN role TEXT NOT NULL DEFAULT 'expert';
ALTER TABLE opportunities ADD COLUMN spec TEXT;
ALTER TABLE items ADD COLUMN external_id TEXT;
ALTER TABLE items ADD COLUMN rubric_id TEXT;
ALTER TABLE items ADD COLUMN rubric_version INTEGER;
CREATE UNIQUE INDEX items_external_id ON items (opportunity_id, external_id)
    WHERE external_id IS NOT NULL;
"#,
    r#"
-- An expert's access to an item (GET /items/{id}) and to its blobs is decided
-- by their newest live assignment of that item: one index seek per request,
-- not a walk through all of the expert's assignments (quadratic over a pull).
CREATE INDEX assignments_item_expert_seq ON assignments (item_id, expert_id, seq);
CREATE INDEX item_blobs_sha ON item_blobs (sha256);
"#,
];

/// The expert's most recent live assignment of an item (access check).
const ITEM_ACCESS_SQL: &str = "SELECT kind, review_of_submission_id, id FROM assignments \
     WHERE item_id = ?1 AND expert_id = ?2 AND state NOT IN ('revoked', 'reassigned', 'released') \
     ORDER BY seq DESC LIMIT 1";

/// Whether the expert holds a live assignment of an item that has the blob:
/// from the blob's items (by digest) to the expert's assignment of each, in
/// that order (`CROSS JOIN` fixes it; the other order walks all of the
/// expert's assignments).
const BLOB_ACCESS_SQL: &str =
    "SELECT EXISTS (SELECT 1 FROM item_blobs ib INDEXED BY item_blobs_sha \
     CROSS JOIN assignments a INDEXED BY assignments_item_expert_seq \
     ON a.item_id = ib.item_id AND a.expert_id = ?2 \
     WHERE ib.sha256 = ?1 AND a.state NOT IN ('revoked', 'reassigned', 'released'))";

/// SQLite-backed storage. One connection behind a mutex: the reference
/// platform favours simplicity; every operation is short.
pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp {s:?}: {e}")))
}

fn parse_opt_ts(s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

/// Wire name of a unit enum (`"active"`, `"senior_review"`...).
fn enum_str<T: Serialize>(v: &T) -> StoreResult<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StoreError::Corrupt(
            "enum did not serialise to a string".into(),
        )),
    }
}

fn parse_enum<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| StoreError::Corrupt(format!("bad enum value {s:?}: {e}")))
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("serialise: {e}")))
}

fn from_json<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored json: {e}")))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

fn next_seq(tx: &Transaction<'_>) -> StoreResult<i64> {
    Ok(tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value",
        [],
        |r| r.get(0),
    )?)
}

/// Adds a ledger entry for work on assignment `a`.
#[allow(clippy::too_many_arguments)]
fn insert_ledger_entry(
    tx: &Transaction<'_>,
    expert_id: &str,
    submission_id: &str,
    a: &Assignment,
    amount_cents: i64,
    currency: &str,
    status: LedgerStatus,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let seq = next_seq(tx)?;
    tx.execute(
        "INSERT INTO ledger (id, expert_id, submission_id, assignment_id, item_id, \
         opportunity_id, amount_cents, currency, status, created_at, updated_at, seq) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
        params![
            new_id("led"),
            expert_id,
            submission_id,
            a.id,
            a.item_id,
            a.opportunity_id,
            amount_cents,
            currency,
            enum_str(&status)?,
            ts(now),
            seq
        ],
    )?;
    Ok(())
}

/// Links an attachment to an item, refusing a blob that was never uploaded.
fn link_blob(tx: &Transaction<'_>, item_id: &str, sha256: &str) -> StoreResult<()> {
    let known: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1)",
        [sha256],
        |r| r.get(0),
    )?;
    if !known {
        return Err(StoreError::BadRequest(format!(
            "item {item_id} references unknown blob {sha256}"
        )));
    }
    tx.execute(
        "INSERT OR IGNORE INTO item_blobs (item_id, sha256) VALUES (?1, ?2)",
        params![item_id, sha256],
    )?;
    Ok(())
}

/// Give every assignment of the item a new `seq`, so experts' next
/// incremental sync sees the item's new revision. Returns how many.
fn republish_assignments(tx: &Transaction<'_>, item_id: &str) -> StoreResult<u32> {
    let ids: Vec<String> = {
        let mut stmt = tx.prepare("SELECT id FROM assignments WHERE item_id = ?1 ORDER BY seq")?;
        let ids = stmt
            .query_map([item_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids
    };
    for id in &ids {
        let seq = next_seq(tx)?;
        tx.execute(
            "UPDATE assignments SET seq = ?1 WHERE id = ?2",
            params![seq, id],
        )?;
    }
    Ok(u32::try_from(ids.len()).unwrap_or(u32::MAX))
}

const ASSIGNMENT_COLS: &str = "id, expert_id, item_id, opportunity_id, rubric_id, rubric_version, \
     kind, state, assigned_at, lease_expires_at, due_at, review_of_submission_id, seq";
/// [`ASSIGNMENT_COLS`] plus the item's content revision and title (selects only).
const ASSIGNMENT_SELECT: &str =
    "id, expert_id, item_id, opportunity_id, rubric_id, rubric_version, \
     kind, state, assigned_at, lease_expires_at, due_at, review_of_submission_id, seq, \
     (SELECT i.revision FROM items i WHERE i.id = assignments.item_id), \
     COALESCE((SELECT i.title FROM items i WHERE i.id = assignments.item_id), '')";

/// An assignment row plus its owner.
struct AssignmentRow {
    expert_id: String,
    a: Assignment,
}

type RawAssignment = (
    String,
    String,
    String,
    String,
    String,
    u32,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    u32,
    String,
);

fn raw_assignment(r: &Row<'_>) -> rusqlite::Result<RawAssignment> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
    ))
}

fn cook_assignment(raw: RawAssignment) -> StoreResult<AssignmentRow> {
    let (
        id,
        expert_id,
        item_id,
        opp,
        rid,
        rver,
        kind,
        state,
        at,
        lease,
        due,
        review_of,
        seq,
        rev,
        title,
    ) = raw;
    Ok(AssignmentRow {
        expert_id,
        a: Assignment {
            id,
            item_id,
            item_title: title,
            opportunity_id: opp,
            rubric_id: rid,
            rubric_version: rver,
            kind: parse_enum(&kind)?,
            state: parse_enum(&state)?,
            assigned_at: parse_ts(&at)?,
            lease_expires_at: parse_ts(&lease)?,
            due_at: parse_ts(&due)?,
            review_of_submission_id: review_of,
            seq,
            item_revision: rev,
        },
    })
}

fn load_assignment(conn: &Connection, id: &str) -> StoreResult<AssignmentRow> {
    let raw = conn
        .query_row(
            &format!("SELECT {ASSIGNMENT_SELECT} FROM assignments WHERE id = ?1"),
            [id],
            raw_assignment,
        )
        .optional()?
        .ok_or_else(|| StoreError::not_found(format!("assignment {id}")))?;
    cook_assignment(raw)
}

fn owned_assignment(conn: &Connection, expert_id: &str, id: &str) -> StoreResult<Assignment> {
    let row = load_assignment(conn, id)?;
    if row.expert_id != expert_id {
        return Err(StoreError::Forbidden(format!(
            "assignment {id} belongs to another expert"
        )));
    }
    Ok(row.a)
}

fn set_assignment_state(
    tx: &Transaction<'_>,
    id: &str,
    state: AssignmentState,
) -> StoreResult<Assignment> {
    let seq = next_seq(tx)?;
    tx.execute(
        "UPDATE assignments SET state = ?1, seq = ?2 WHERE id = ?3",
        params![enum_str(&state)?, seq, id],
    )?;
    Ok(load_assignment(tx, id)?.a)
}

/// Refuse work on an assignment that is not active or whose lease ran out.
fn require_workable(a: &Assignment, now: DateTime<Utc>) -> StoreResult<()> {
    match a.state {
        AssignmentState::Active => {}
        AssignmentState::Expired => {
            return Err(StoreError::LeaseExpired(format!(
                "the lease of assignment {} has expired",
                a.id
            )))
        }
        AssignmentState::Completed => {
            return Err(StoreError::Conflict(format!(
                "assignment {} already has a submission",
                a.id
            )))
        }
        other => {
            return Err(StoreError::Conflict(format!(
                "assignment {} is no longer yours ({})",
                a.id,
                enum_str(&other).unwrap_or_default()
            )))
        }
    }
    if a.lease_expires_at <= now {
        return Err(StoreError::LeaseExpired(format!(
            "the lease of assignment {} expired at {}",
            a.id,
            ts(a.lease_expires_at)
        )));
    }
    Ok(())
}

/// Replay or refuse a request whose idempotency key was seen before.
fn check_idempotency<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    expert_id: &str,
    endpoint: &str,
    key: &str,
    request_hash: &str,
) -> StoreResult<Option<T>> {
    let found: Option<(String, String)> = tx
        .query_row(
            "SELECT request_hash, response FROM idempotency \
             WHERE expert_id = ?1 AND endpoint = ?2 AND key = ?3",
            params![expert_id, endpoint, key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match found {
        None => Ok(None),
        Some((hash, _)) if hash != request_hash => Err(StoreError::Conflict(format!(
            "idempotency key {key:?} was already used with a different request body"
        ))),
        Some((_, response)) => Ok(Some(from_json(&response)?)),
    }
}

fn record_idempotency<T: Serialize>(
    tx: &Transaction<'_>,
    expert_id: &str,
    endpoint: &str,
    key: &str,
    request_hash: &str,
    response: &T,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO idempotency (expert_id, endpoint, key, request_hash, response, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            expert_id,
            endpoint,
            key,
            request_hash,
            to_json(response)?,
            ts(now)
        ],
    )?;
    Ok(())
}

/// The rate in force for an opportunity at `now`.
fn current_rate(
    tx: &Transaction<'_>,
    opportunity_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Rate> {
    let raw: Option<(String, i64, String, String)> = tx
        .query_row(
            "SELECT basis, amount_cents, currency, effective_from FROM rates \
             WHERE opportunity_id = ?1 AND effective_from <= ?2 \
             ORDER BY effective_from DESC LIMIT 1",
            params![opportunity_id, ts(now)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let (basis, amount_cents, currency, from) = raw.ok_or_else(|| {
        StoreError::Conflict(format!("opportunity {opportunity_id} has no rate in force"))
    })?;
    Ok(Rate {
        opportunity_id: opportunity_id.to_owned(),
        basis: parse_enum(&basis)?,
        amount_cents,
        currency,
        effective_from: parse_ts(&from)?,
    })
}

/// Earnings for one senior review: the hourly rate for active time, or half
/// the per-item / per-submission rate.
pub(crate) fn review_amount(rate: &Rate, active_seconds: u64) -> i64 {
    match rate.basis {
        PayBasis::PerHour => amount_for(rate, active_seconds),
        PayBasis::PerItem | PayBasis::PerSubmission => rate.amount_cents / 2,
    }
}

/// Earnings for one submission under a rate.
pub(crate) fn amount_for(rate: &Rate, active_seconds: u64) -> i64 {
    match rate.basis {
        PayBasis::PerItem | PayBasis::PerSubmission => rate.amount_cents,
        PayBasis::PerHour => {
            let secs = i64::try_from(active_seconds).unwrap_or(i64::MAX);
            // Rounded to the nearest cent; saturating so absurd input cannot overflow.
            rate.amount_cents.saturating_mul(secs).saturating_add(1800) / 3600
        }
    }
}

const LEDGER_COLS: &str = "id, submission_id, assignment_id, item_id, opportunity_id, \
     amount_cents, currency, status, payout_id, created_at, updated_at, seq";

fn ledger_row(r: &Row<'_>) -> rusqlite::Result<[rusqlite::types::Value; 12]> {
    Ok([
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ])
}

fn text(v: &rusqlite::types::Value) -> StoreResult<String> {
    match v {
        rusqlite::types::Value::Text(s) => Ok(s.clone()),
        other => Err(StoreError::Corrupt(format!("expected text, got {other:?}"))),
    }
}

fn int(v: &rusqlite::types::Value) -> StoreResult<i64> {
    match v {
        rusqlite::types::Value::Integer(i) => Ok(*i),
        other => Err(StoreError::Corrupt(format!(
            "expected integer, got {other:?}"
        ))),
    }
}

fn cook_ledger(v: [rusqlite::types::Value; 12]) -> StoreResult<LedgerEntry> {
    Ok(LedgerEntry {
        id: text(&v[0])?,
        submission_id: text(&v[1])?,
        assignment_id: text(&v[2])?,
        item_id: text(&v[3])?,
        opportunity_id: text(&v[4])?,
        amount_cents: int(&v[5])?,
        currency: text(&v[6])?,
        status: parse_enum(&text(&v[7])?)?,
        payout_id: match &v[8] {
            rusqlite::types::Value::Null => None,
            other => Some(text(other)?),
        },
        created_at: parse_ts(&text(&v[9])?)?,
        updated_at: parse_ts(&text(&v[10])?)?,
        seq: int(&v[11])?,
    })
}

fn outcome_of(conn: &Connection, submission_id: &str) -> StoreResult<(String, ReviewOutcome)> {
    type Raw = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        i64,
    );
    let raw: Option<Raw> = conn
        .query_row(
            "SELECT expert_id, assignment_id, item_id, status, feedback, decided_at, outcome_seq, \
               active_seconds \
             FROM submissions WHERE id = ?1",
            [submission_id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()?;
    let (expert, assignment_id, item_id, status, feedback, decided_at, seq, secs) =
        raw.ok_or_else(|| StoreError::not_found(format!("submission {submission_id}")))?;
    Ok((
        expert,
        ReviewOutcome {
            submission_id: submission_id.to_owned(),
            assignment_id,
            item_id,
            status: parse_enum(&status)?,
            feedback,
            decided_at: parse_opt_ts(decided_at)?,
            active_seconds: u64::try_from(secs).unwrap_or(0),
            seq,
        },
    ))
}

/// Record the outcome of a pending submission and move its ledger entry.
fn apply_outcome(
    tx: &Transaction<'_>,
    submission_id: &str,
    status: OutcomeStatus,
    feedback: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<ReviewOutcome> {
    let (author, current) = outcome_of(tx, submission_id)?;
    if status == OutcomeStatus::Pending {
        return Err(StoreError::BadRequest(
            "an outcome must be accepted, rejected or needs_revision".into(),
        ));
    }
    if status == OutcomeStatus::NeedsRevision {
        let kind: String = tx.query_row(
            "SELECT kind FROM assignments WHERE id = ?1",
            [&current.assignment_id],
            |r| r.get(0),
        )?;
        if parse_enum::<AssignmentKind>(&kind)? == AssignmentKind::Screening {
            return Err(StoreError::BadRequest(
                "a screening is passed or failed: accept or reject it".into(),
            ));
        }
    }
    if current.status != OutcomeStatus::Pending {
        return Err(StoreError::Conflict(format!(
            "submission {submission_id} was already decided ({})",
            enum_str(&current.status)?
        )));
    }
    let seq = next_seq(tx)?;
    tx.execute(
        "UPDATE submissions SET status = ?1, feedback = ?2, decided_at = ?3, outcome_seq = ?4 \
         WHERE id = ?5",
        params![enum_str(&status)?, feedback, ts(now), seq, submission_id],
    )?;
    let ledger_status = match status {
        OutcomeStatus::Accepted => LedgerStatus::Accepted,
        _ => LedgerStatus::Reversed,
    };
    let entry_ids: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id FROM ledger WHERE submission_id = ?1 AND expert_id = ?2 \
             AND status = 'pending' ORDER BY seq",
        )?;
        let ids = stmt
            .query_map([submission_id, author.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids
    };
    for id in entry_ids {
        let seq = next_seq(tx)?;
        tx.execute(
            "UPDATE ledger SET status = ?1, updated_at = ?2, seq = ?3 WHERE id = ?4",
            params![enum_str(&ledger_status)?, ts(now), seq, id],
        )?;
    }
    if status == OutcomeStatus::NeedsRevision {
        // The expert gets the item back to revise it, with time to do so.
        let lease = now + Duration::hours(REVISION_LEASE_HOURS);
        let seq = next_seq(tx)?;
        tx.execute(
            "UPDATE assignments SET state = 'active', lease_expires_at = ?1, \
             due_at = MAX(due_at, ?1), seq = ?2 WHERE id = ?3",
            params![ts(lease), seq, current.assignment_id],
        )?;
    }
    // Senior reviews still open on this submission are moot now.
    let open_reviews: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id FROM assignments WHERE review_of_submission_id = ?1 AND state = 'active'",
        )?;
        let ids = stmt
            .query_map([submission_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids
    };
    for id in open_reviews {
        set_assignment_state(tx, &id, AssignmentState::Revoked)?;
    }
    Ok(outcome_of(tx, submission_id)?.1)
}

impl SqliteStorage {
    /// Open (creating if needed) the database at `path` and migrate it.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A private in-memory database (unit tests).
    pub fn open_in_memory() -> Result<Self, Error> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, Error> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL lets readers (e.g. a second CLI process) run beside the server.
        // In-memory databases report "memory"; that is fine.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > supported {
            return Err(Error::SchemaTooNew {
                found: version,
                supported,
            });
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.execute_batch(sql)?;
            tracing::info!(migration = i + 1, "applied database migration");
        }
        tx.pragma_update(None, "user_version", supported)?;
        tx.commit()?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half
        // applied (rusqlite rolls back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Storage for SqliteStorage {
    fn insert_expert(&self, e: &NewExpert, now: DateTime<Utc>) -> StoreResult<()> {
        self.lock().execute(
            "INSERT INTO experts (id, email, display_name, password_salt, password_hash, \
             expertise, attestations, senior_reviewer, timezone, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                e.id,
                e.email.to_lowercase(),
                e.display_name,
                e.salt,
                e.password_hash,
                to_json(&e.expertise)?,
                to_json(&e.attestations)?,
                e.senior_reviewer,
                e.timezone,
                ts(now)
            ],
        )?;
        Ok(())
    }

    fn expert_credentials(&self, email: &str) -> StoreResult<Option<ExpertCredentials>> {
        Ok(self
            .lock()
            .query_row(
                "SELECT id, password_salt, password_hash FROM experts WHERE email = ?1",
                [email.to_lowercase()],
                |r| {
                    Ok(ExpertCredentials {
                        expert_id: r.get(0)?,
                        salt: r.get(1)?,
                        password_hash: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn expert_id_by_email(&self, email: &str) -> StoreResult<Option<String>> {
        Ok(self
            .lock()
            .query_row(
                "SELECT id FROM experts WHERE email = ?1",
                [email.to_lowercase()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn expert_profile(&self, expert_id: &str) -> StoreResult<ExpertProfile> {
        type Raw = (String, String, String, String, bool, String);
        let raw: Option<Raw> = self
            .lock()
            .query_row(
                "SELECT email, display_name, expertise, attestations, senior_reviewer, timezone \
                 FROM experts WHERE id = ?1",
                [expert_id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let (email, display_name, expertise, attestations, senior_reviewer, timezone) =
            raw.ok_or_else(|| StoreError::not_found(format!("expert {expert_id}")))?;
        Ok(ExpertProfile {
            id: expert_id.to_owned(),
            email,
            display_name,
            expertise: from_json(&expertise)?,
            attestations: from_json::<Vec<Attestation>>(&attestations)?,
            senior_reviewer,
            timezone,
        })
    }

    fn insert_token(
        &self,
        token_id: &str,
        expert_id: &str,
        token_hash: &str,
        label: Option<&str>,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.lock().execute(
            "INSERT INTO tokens (id, expert_id, token_hash, label, created_at, role) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                token_id,
                expert_id,
                token_hash,
                label,
                ts(now),
                role.as_str()
            ],
        )?;
        Ok(())
    }

    fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        let raw: Option<(String, String, bool, String)> = self
            .lock()
            .query_row(
                "SELECT id, expert_id, revoked_at IS NOT NULL, role FROM tokens WHERE token_hash = ?1",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        raw.map(|(token_id, expert_id, revoked, role)| {
            Ok(TokenRecord {
                token_id,
                expert_id,
                revoked,
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown token role {role:?}")))?,
            })
        })
        .transpose()
    }

    fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let n = self.lock().execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![ts(now), token_id],
        )?;
        if n == 0 {
            return Err(StoreError::not_found(format!("active token {token_id}")));
        }
        Ok(())
    }

    fn insert_opportunity(
        &self,
        o: &Opportunity,
        rubric_document: &serde_json::Value,
        rates: &[Rate],
    ) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO rubrics (id, version, document) VALUES (?1, ?2, ?3)",
            params![o.rubric_id, o.rubric_version, to_json(rubric_document)?],
        )?;
        tx.execute(
            "INSERT INTO opportunities (id, title, description, rubric_id, rubric_version, \
             licence_category, buyer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                o.id,
                o.title,
                o.description,
                o.rubric_id,
                o.rubric_version,
                o.licence_category,
                o.buyer
            ],
        )?;
        for r in rates {
            tx.execute(
                "INSERT INTO rates (opportunity_id, basis, amount_cents, currency, effective_from) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    r.opportunity_id,
                    enum_str(&r.basis)?,
                    r.amount_cents,
                    r.currency,
                    ts(r.effective_from)
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn list_opportunities(&self) -> StoreResult<Vec<Opportunity>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT id, title, description, rubric_id, rubric_version, licence_category, buyer \
             FROM opportunities ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Opportunity {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    description: r.get(2)?,
                    rubric_id: r.get(3)?,
                    rubric_version: r.get(4)?,
                    licence_category: r.get(5)?,
                    buyer: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn rubric(&self, id: &str, version: u32) -> StoreResult<RubricEnvelope> {
        let doc: Option<String> = self
            .lock()
            .query_row(
                "SELECT document FROM rubrics WHERE id = ?1 AND version = ?2",
                params![id, version],
                |r| r.get(0),
            )
            .optional()?;
        let doc = doc.ok_or_else(|| StoreError::not_found(format!("rubric {id} v{version}")))?;
        Ok(RubricEnvelope {
            id: id.to_owned(),
            version,
            document: from_json(&doc)?,
        })
    }

    fn rate_card(&self) -> StoreResult<RateCard> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT opportunity_id, basis, amount_cents, currency, effective_from FROM rates \
             ORDER BY opportunity_id, effective_from",
        )?;
        let raw: Vec<(String, String, i64, String, String)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let rates = raw
            .into_iter()
            .map(|(opportunity_id, basis, amount_cents, currency, from)| {
                Ok(Rate {
                    opportunity_id,
                    basis: parse_enum(&basis)?,
                    amount_cents,
                    currency,
                    effective_from: parse_ts(&from)?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(RateCard { rates })
    }

    fn insert_item(&self, item: &Item) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO items (id, opportunity_id, title, fields, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                item.id,
                item.opportunity_id,
                item.title,
                to_json(&item.fields)?,
                ts(item.created_at)
            ],
        )?;
        for value in item.fields.values() {
            for att in value.attachments() {
                link_blob(&tx, &item.id, &att.sha256)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn update_item_fields(
        &self,
        item_id: &str,
        fields: &BTreeMap<String, FieldValue>,
    ) -> StoreResult<(u32, u32)> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: String = tx
            .query_row("SELECT fields FROM items WHERE id = ?1", [item_id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::not_found(format!("item {item_id}")))?;
        let mut merged: BTreeMap<String, FieldValue> = from_json(&current)?;
        for (id, value) in fields {
            for att in value.attachments() {
                link_blob(&tx, item_id, &att.sha256)?;
            }
            merged.insert(id.clone(), value.clone());
        }
        let revision: u32 = tx.query_row(
            "UPDATE items SET fields = ?1, revision = revision + 1 WHERE id = ?2 RETURNING revision",
            params![to_json(&merged)?, item_id],
            |r| r.get(0),
        )?;
        let assignments = republish_assignments(&tx, item_id)?;
        tx.commit()?;
        Ok((revision, assignments))
    }

    fn insert_blob_meta(&self, meta: &BlobMeta) -> StoreResult<()> {
        self.lock().execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, media_type) VALUES (?1, ?2, ?3)",
            params![
                meta.sha256,
                i64::try_from(meta.size).unwrap_or(i64::MAX),
                meta.media_type
            ],
        )?;
        Ok(())
    }

    fn blob_meta(&self, sha256: &str) -> StoreResult<Option<BlobMeta>> {
        Ok(self
            .lock()
            .query_row(
                "SELECT sha256, size, media_type FROM blobs WHERE sha256 = ?1",
                [sha256],
                |r| {
                    Ok(BlobMeta {
                        sha256: r.get(0)?,
                        size: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
                        media_type: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn expert_can_read_blob(&self, expert_id: &str, sha256: &str) -> StoreResult<bool> {
        Ok(self
            .lock()
            .prepare_cached(BLOB_ACCESS_SQL)?
            .query_row(params![sha256, expert_id], |r| r.get(0))?)
    }

    fn item_for_expert(&self, expert_id: &str, item_id: &str) -> StoreResult<ItemEnvelope> {
        let conn = self.lock();
        let raw: Option<(String, String, String, String)> = conn
            .query_row(
                "SELECT opportunity_id, title, fields, created_at FROM items WHERE id = ?1",
                [item_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (opportunity_id, title, fields, created_at) =
            raw.ok_or_else(|| StoreError::not_found(format!("item {item_id}")))?;
        // The expert's most recent live assignment of the item decides access.
        let access: Option<(String, Option<String>, String)> = conn
            .prepare_cached(ITEM_ACCESS_SQL)?
            .query_row(params![item_id, expert_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((kind, review_of, assignment_id)) = access else {
            return Err(StoreError::Forbidden(format!(
                "item {item_id} is not assigned to you"
            )));
        };
        let reviewed_submission = match (parse_enum::<AssignmentKind>(&kind)?, review_of) {
            (AssignmentKind::SeniorReview, Some(sub)) => {
                let (answers, secs, at): (String, i64, String) = conn.query_row(
                    "SELECT answers, active_seconds, received_at FROM submissions WHERE id = ?1",
                    [&sub],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                Some(ReviewedSubmission {
                    submission_id: sub,
                    answers: from_json(&answers)?,
                    active_seconds: u64::try_from(secs).unwrap_or(0),
                    submitted_at: parse_ts(&at)?,
                })
            }
            _ => None,
        };
        // The expert's own latest submission on this assignment (a grade or
        // screening), for finished work and revisions on another device.
        let own_submission = conn
            .query_row(
                "SELECT id, answers, active_seconds, received_at FROM submissions \
                 WHERE assignment_id = ?1 AND expert_id = ?2 \
                 ORDER BY received_at DESC, outcome_seq DESC LIMIT 1",
                params![assignment_id, expert_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?
            .map(
                |(id, answers, secs, at)| -> StoreResult<ReviewedSubmission> {
                    Ok(ReviewedSubmission {
                        submission_id: id,
                        answers: from_json(&answers)?,
                        active_seconds: u64::try_from(secs).unwrap_or(0),
                        submitted_at: parse_ts(&at)?,
                    })
                },
            )
            .transpose()?;
        Ok(ItemEnvelope {
            item: Item {
                id: item_id.to_owned(),
                opportunity_id,
                title,
                fields: from_json::<BTreeMap<String, FieldValue>>(&fields)?,
                created_at: parse_ts(&created_at)?,
            },
            reviewed_submission,
            own_submission,
        })
    }

    fn create_assignment(&self, n: &NewAssignment) -> StoreResult<Assignment> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let opp: Option<(String, String, u32)> = tx
            .query_row(
                "SELECT o.id, COALESCE(i.rubric_id, o.rubric_id), \
                 COALESCE(i.rubric_version, o.rubric_version) FROM items i \
                 JOIN opportunities o ON o.id = i.opportunity_id WHERE i.id = ?1",
                [&n.item_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (opp_id, rubric_id, rubric_version) =
            opp.ok_or_else(|| StoreError::not_found(format!("item {}", n.item_id)))?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM experts WHERE id = ?1)",
            [&n.expert_id],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StoreError::not_found(format!("expert {}", n.expert_id)));
        }
        match (n.kind, &n.review_of_submission_id) {
            (AssignmentKind::SeniorReview, Some(sub)) => {
                let (_, outcome) = outcome_of(&tx, sub)?;
                if outcome.item_id != n.item_id {
                    return Err(StoreError::BadRequest(format!(
                        "submission {sub} is not about item {}",
                        n.item_id
                    )));
                }
            }
            (AssignmentKind::SeniorReview, None) => {
                return Err(StoreError::BadRequest(
                    "a senior review assignment needs review_of_submission_id".into(),
                ))
            }
            (AssignmentKind::Grade | AssignmentKind::Screening, Some(_)) => {
                return Err(StoreError::BadRequest(
                    "review_of_submission_id is only for senior review".into(),
                ))
            }
            (AssignmentKind::Grade | AssignmentKind::Screening, None) => {}
        }
        let seq = next_seq(&tx)?;
        tx.execute(
            &format!("INSERT INTO assignments ({ASSIGNMENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9, ?10, ?11, ?12)"),
            params![
                n.id,
                n.expert_id,
                n.item_id,
                opp_id,
                rubric_id,
                rubric_version,
                enum_str(&n.kind)?,
                ts(n.assigned_at),
                ts(n.lease_expires_at),
                ts(n.due_at),
                n.review_of_submission_id,
                seq
            ],
        )?;
        let a = load_assignment(&tx, &n.id)?.a;
        tx.commit()?;
        Ok(a)
    }

    fn assignment_for_expert(&self, expert_id: &str, id: &str) -> StoreResult<Assignment> {
        owned_assignment(&self.lock(), expert_id, id)
    }

    fn list_assignments(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Page<Assignment>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ASSIGNMENT_SELECT} FROM assignments WHERE expert_id = ?1 AND seq > ?2 \
             ORDER BY seq LIMIT ?3"
        ))?;
        let raw: Vec<RawAssignment> = stmt
            .query_map(
                params![expert_id, after_seq, i64::from(limit) + 1],
                raw_assignment,
            )?
            .collect::<Result<_, _>>()?;
        let mut rows = raw
            .into_iter()
            .map(|r| cook_assignment(r).map(|row| row.a))
            .collect::<StoreResult<Vec<_>>>()?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok(Page { rows, has_more })
    }

    fn renew_lease(
        &self,
        expert_id: &str,
        id: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Lease> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let a = owned_assignment(&tx, expert_id, id)?;
        require_workable(&a, now)?;
        // A lease never runs past the assignment's due date, and renewing
        // never shortens it.
        let expires = std::cmp::min(now + ttl, a.due_at).max(a.lease_expires_at);
        let seq = next_seq(&tx)?;
        tx.execute(
            "UPDATE assignments SET lease_expires_at = ?1, seq = ?2 WHERE id = ?3",
            params![ts(expires), seq, id],
        )?;
        tx.commit()?;
        Ok(Lease {
            assignment_id: id.to_owned(),
            lease_expires_at: expires,
        })
    }

    fn release_assignment(
        &self,
        expert_id: &str,
        id: &str,
        _now: DateTime<Utc>,
    ) -> StoreResult<Assignment> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let a = owned_assignment(&tx, expert_id, id)?;
        if a.state != AssignmentState::Active {
            return Err(StoreError::Conflict(format!(
                "assignment {id} is not active ({})",
                enum_str(&a.state)?
            )));
        }
        let a = set_assignment_state(&tx, id, AssignmentState::Released)?;
        tx.commit()?;
        Ok(a)
    }

    fn revoke_assignment(&self, id: &str, _now: DateTime<Utc>) -> StoreResult<Assignment> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let a = load_assignment(&tx, id)?.a;
        if a.state != AssignmentState::Active {
            return Err(StoreError::Conflict(format!(
                "assignment {id} is not active"
            )));
        }
        let a = set_assignment_state(&tx, id, AssignmentState::Revoked)?;
        tx.commit()?;
        Ok(a)
    }

    fn reassign_assignment(
        &self,
        id: &str,
        to_expert: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Assignment> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = load_assignment(&tx, id)?;
        if row.a.state != AssignmentState::Active {
            return Err(StoreError::Conflict(format!(
                "assignment {id} is not active"
            )));
        }
        if row.expert_id == to_expert {
            return Err(StoreError::BadRequest(
                "cannot reassign an assignment to its current expert".into(),
            ));
        }
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM experts WHERE id = ?1)",
            [to_expert],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StoreError::not_found(format!("expert {to_expert}")));
        }
        set_assignment_state(&tx, id, AssignmentState::Reassigned)?;
        let new_id = new_id("asg");
        let seq = next_seq(&tx)?;
        let a = row.a;
        tx.execute(
            &format!("INSERT INTO assignments ({ASSIGNMENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9, ?10, ?11, ?12)"),
            params![
                new_id,
                to_expert,
                a.item_id,
                a.opportunity_id,
                a.rubric_id,
                a.rubric_version,
                enum_str(&a.kind)?,
                ts(now),
                ts(now + ttl),
                ts(a.due_at.max(now + ttl)),
                a.review_of_submission_id,
                seq
            ],
        )?;
        let created = load_assignment(&tx, &new_id)?.a;
        tx.commit()?;
        Ok(created)
    }

    fn set_lease(&self, id: &str, lease_expires_at: DateTime<Utc>) -> StoreResult<Lease> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        load_assignment(&tx, id)?;
        let seq = next_seq(&tx)?;
        tx.execute(
            "UPDATE assignments SET lease_expires_at = ?1, seq = ?2 WHERE id = ?3",
            params![ts(lease_expires_at), seq, id],
        )?;
        tx.commit()?;
        Ok(Lease {
            assignment_id: id.to_owned(),
            lease_expires_at,
        })
    }

    fn expire_overdue_leases(&self, expert_id: &str, now: DateTime<Utc>) -> StoreResult<usize> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT id FROM assignments WHERE expert_id = ?1 AND state = 'active' \
                 AND lease_expires_at <= ?2 ORDER BY seq",
            )?;
            let ids = stmt
                .query_map(params![expert_id, ts(now)], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids
        };
        for id in &ids {
            set_assignment_state(&tx, id, AssignmentState::Expired)?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    fn extend_active_leases(&self, expert_id: &str, until: DateTime<Utc>) -> StoreResult<usize> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT id FROM assignments WHERE expert_id = ?1 AND state = 'active' \
                 AND lease_expires_at < ?2 ORDER BY seq",
            )?;
            let ids = stmt
                .query_map(params![expert_id, ts(until)], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids
        };
        for id in &ids {
            let seq = next_seq(&tx)?;
            tx.execute(
                "UPDATE assignments SET lease_expires_at = ?1, due_at = MAX(due_at, ?1), seq = ?2 \
                 WHERE id = ?3",
                params![ts(until), seq, id],
            )?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    fn submit(
        &self,
        expert_id: &str,
        key: &str,
        request_hash: &str,
        req: &SubmissionRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<SubmissionReceipt> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(mut receipt) = check_idempotency::<SubmissionReceipt>(
            &tx,
            expert_id,
            "submissions",
            key,
            request_hash,
        )? {
            receipt.replayed = true;
            return Ok(receipt);
        }
        let a = owned_assignment(&tx, expert_id, &req.assignment_id)?;
        if a.kind == AssignmentKind::SeniorReview {
            return Err(StoreError::BadRequest(format!(
                "assignment {} is a senior review; answer it with POST /reviews",
                a.id
            )));
        }
        require_workable(&a, now)?;
        if req.rubric_id != a.rubric_id || req.rubric_version != a.rubric_version {
            return Err(StoreError::RubricVersionMismatch {
                message: format!(
                    "assignment {} is graded with rubric {} v{}, not {} v{}",
                    a.id, a.rubric_id, a.rubric_version, req.rubric_id, req.rubric_version
                ),
                expected_id: a.rubric_id.clone(),
                expected_version: a.rubric_version,
            });
        }
        let submission_id = new_id("sub");
        let outcome_seq = next_seq(&tx)?;
        tx.execute(
            "INSERT INTO submissions (id, assignment_id, expert_id, item_id, opportunity_id, \
             rubric_id, rubric_version, answers, active_seconds, time_log, client_created_at, \
             received_at, status, outcome_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', ?13)",
            params![
                submission_id,
                a.id,
                expert_id,
                a.item_id,
                a.opportunity_id,
                a.rubric_id,
                a.rubric_version,
                to_json(&req.answers)?,
                i64::try_from(req.active_seconds).unwrap_or(i64::MAX),
                to_json(&req.time_log)?,
                ts(req.client_created_at),
                ts(now),
                outcome_seq
            ],
        )?;
        // Screening (qualification) work is unpaid: it gets an outcome
        // (passed = accepted, failed = rejected) but no ledger entry.
        if a.kind == AssignmentKind::Grade {
            let rate = current_rate(&tx, &a.opportunity_id, now)?;
            let amount = amount_for(&rate, req.active_seconds);
            insert_ledger_entry(
                &tx,
                expert_id,
                &submission_id,
                &a,
                amount,
                &rate.currency,
                LedgerStatus::Pending,
                now,
            )?;
        }
        set_assignment_state(&tx, &a.id, AssignmentState::Completed)?;
        let receipt = SubmissionReceipt {
            submission_id,
            assignment_id: a.id,
            received_at: now,
            status: OutcomeStatus::Pending,
            replayed: false,
        };
        record_idempotency(
            &tx,
            expert_id,
            "submissions",
            key,
            request_hash,
            &receipt,
            now,
        )?;
        tx.commit()?;
        Ok(receipt)
    }

    fn list_outcomes(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Page<ReviewOutcome>> {
        let conn = self.lock();
        let ids: Vec<String> = {
            let mut stmt = conn.prepare(
                "SELECT id FROM submissions WHERE expert_id = ?1 AND outcome_seq > ?2 \
                 ORDER BY outcome_seq LIMIT ?3",
            )?;
            let ids = stmt
                .query_map(params![expert_id, after_seq, i64::from(limit) + 1], |r| {
                    r.get(0)
                })?
                .collect::<Result<_, _>>()?;
            ids
        };
        let has_more = ids.len() > limit as usize;
        let rows = ids
            .iter()
            .take(limit as usize)
            .map(|id| outcome_of(&conn, id).map(|(_, o)| o))
            .collect::<StoreResult<_>>()?;
        Ok(Page { rows, has_more })
    }

    fn review(
        &self,
        expert_id: &str,
        key: &str,
        request_hash: &str,
        req: &ReviewRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewReceipt> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(mut receipt) =
            check_idempotency::<ReviewReceipt>(&tx, expert_id, "reviews", key, request_hash)?
        {
            receipt.replayed = true;
            return Ok(receipt);
        }
        let a = owned_assignment(&tx, expert_id, &req.assignment_id)?;
        if a.kind != AssignmentKind::SeniorReview {
            return Err(StoreError::BadRequest(format!(
                "assignment {} is not a senior review",
                a.id
            )));
        }
        require_workable(&a, now)?;
        if a.review_of_submission_id.as_deref() != Some(req.submission_id.as_str()) {
            return Err(StoreError::BadRequest(format!(
                "assignment {} reviews a different submission than {}",
                a.id, req.submission_id
            )));
        }
        if matches!(
            req.decision,
            ReviewDecision::Reject | ReviewDecision::RequestRevision
        ) && req.feedback.as_deref().is_none_or(|f| f.trim().is_empty())
        {
            return Err(StoreError::ValidationFailed {
                message: "rejecting or requesting a revision needs feedback for the expert".into(),
                details: serde_json::json!({"field": "feedback"}),
            });
        }
        let review_id = new_id("rev");
        tx.execute(
            "INSERT INTO reviews (id, assignment_id, reviewer_id, submission_id, decision, \
             feedback, active_seconds, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                review_id,
                a.id,
                expert_id,
                req.submission_id,
                enum_str(&req.decision)?,
                req.feedback,
                i64::try_from(req.active_seconds).unwrap_or(i64::MAX),
                ts(now)
            ],
        )?;
        set_assignment_state(&tx, &a.id, AssignmentState::Completed)?;
        let status = match req.decision {
            ReviewDecision::Accept => OutcomeStatus::Accepted,
            ReviewDecision::Reject => OutcomeStatus::Rejected,
            ReviewDecision::RequestRevision => OutcomeStatus::NeedsRevision,
        };
        apply_outcome(
            &tx,
            &req.submission_id,
            status,
            req.feedback.as_deref(),
            now,
        )?;
        // The senior reviewer is paid too: review work is not itself reviewed,
        // so the entry is accepted at once.
        let rate = current_rate(&tx, &a.opportunity_id, now)?;
        let amount = review_amount(&rate, req.active_seconds);
        insert_ledger_entry(
            &tx,
            expert_id,
            &req.submission_id,
            &a,
            amount,
            &rate.currency,
            LedgerStatus::Accepted,
            now,
        )?;
        let receipt = ReviewReceipt {
            review_id,
            assignment_id: a.id,
            submission_id: req.submission_id.clone(),
            decision: req.decision,
            received_at: now,
            replayed: false,
        };
        record_idempotency(&tx, expert_id, "reviews", key, request_hash, &receipt, now)?;
        tx.commit()?;
        Ok(receipt)
    }

    fn decide_outcome(
        &self,
        submission_id: &str,
        status: OutcomeStatus,
        feedback: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewOutcome> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = apply_outcome(&tx, submission_id, status, feedback, now)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn pending_submissions_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, AssignmentKind)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT s.id, (SELECT a.kind FROM assignments a WHERE a.id = s.assignment_id) \
             FROM submissions s WHERE s.status = 'pending' AND s.received_at <= ?1 \
             AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.review_of_submission_id = s.id \
                             AND a.state = 'active') \
             ORDER BY s.outcome_seq",
        )?;
        let raw: Vec<(String, String)> = stmt
            .query_map([ts(cutoff)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        raw.into_iter()
            .map(|(id, kind)| Ok((id, parse_enum(&kind)?)))
            .collect()
    }

    fn list_ledger(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Page<LedgerEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {LEDGER_COLS} FROM ledger WHERE expert_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        ))?;
        let raw: Vec<_> = stmt
            .query_map(
                params![expert_id, after_seq, i64::from(limit) + 1],
                ledger_row,
            )?
            .collect::<Result<_, _>>()?;
        let has_more = raw.len() > limit as usize;
        let rows = raw
            .into_iter()
            .take(limit as usize)
            .map(cook_ledger)
            .collect::<StoreResult<_>>()?;
        Ok(Page { rows, has_more })
    }

    fn list_payouts(&self, expert_id: &str) -> StoreResult<Vec<Payout>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT id, amount_cents, currency, paid_at, method FROM payouts \
             WHERE expert_id = ?1 ORDER BY paid_at, id",
        )?;
        let raw: Vec<(String, i64, String, String, String)> = stmt
            .query_map([expert_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut entries =
            conn.prepare("SELECT id FROM ledger WHERE payout_id = ?1 ORDER BY seq")?;
        raw.into_iter()
            .map(|(id, amount_cents, currency, paid_at, method)| {
                let entry_ids = entries
                    .query_map([&id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(Payout {
                    id,
                    amount_cents,
                    currency,
                    paid_at: parse_ts(&paid_at)?,
                    method,
                    entry_ids,
                })
            })
            .collect()
    }

    fn create_payout(
        &self,
        expert_id: &str,
        method: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Payout>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let entries: Vec<(String, i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, amount_cents, currency FROM ledger \
                 WHERE expert_id = ?1 AND status = 'accepted' AND payout_id IS NULL ORDER BY seq",
            )?;
            let rows = stmt
                .query_map([expert_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            rows
        };
        let mut by_currency: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for (id, amount, currency) in entries {
            by_currency.entry(currency).or_default().push((id, amount));
        }
        let mut payouts = Vec::new();
        for (currency, entries) in by_currency {
            let payout_id = new_id("pay");
            let total: i64 = entries.iter().map(|(_, a)| *a).sum();
            tx.execute(
                "INSERT INTO payouts (id, expert_id, amount_cents, currency, paid_at, method) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![payout_id, expert_id, total, currency, ts(now), method],
            )?;
            for (id, _) in &entries {
                let seq = next_seq(&tx)?;
                tx.execute(
                    "UPDATE ledger SET status = 'paid', payout_id = ?1, updated_at = ?2, seq = ?3 \
                     WHERE id = ?4",
                    params![payout_id, ts(now), seq, id],
                )?;
            }
            payouts.push(Payout {
                id: payout_id,
                amount_cents: total,
                currency,
                paid_at: now,
                method: method.to_owned(),
                entry_ids: entries.into_iter().map(|(id, _)| id).collect(),
            });
        }
        tx.commit()?;
        Ok(payouts)
    }

    fn experts_with_payable_entries(&self) -> StoreResult<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT DISTINCT expert_id FROM ledger WHERE status = 'accepted' AND payout_id IS NULL \
             ORDER BY expert_id",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }
    fn list_experts(&self) -> StoreResult<Vec<(ExpertProfile, Role)>> {
        let ids: Vec<(String, String)> = {
            let conn = self.lock();
            let mut stmt = conn.prepare("SELECT id, role FROM experts ORDER BY id")?;
            let ids = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            ids
        };
        ids.iter()
            .map(|(id, role)| {
                let role = Role::parse(role)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown expert role {role:?}")))?;
                Ok((self.expert_profile(id)?, role))
            })
            .collect()
    }

    fn set_expert_role(&self, expert_id: &str, role: Role) -> StoreResult<()> {
        let n = self.lock().execute(
            "UPDATE experts SET role = ?1 WHERE id = ?2",
            params![role.as_str(), expert_id],
        )?;
        if n == 0 {
            return Err(StoreError::not_found(format!("expert {expert_id}")));
        }
        Ok(())
    }

    fn experts_passed_screening(&self, opportunity_id: &str) -> StoreResult<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT DISTINCT s.expert_id FROM submissions s \
             JOIN assignments a ON a.id = s.assignment_id \
             WHERE a.kind = 'screening' AND s.opportunity_id = ?1 AND s.status = 'accepted' \
             ORDER BY s.expert_id",
        )?;
        let ids = stmt
            .query_map([opportunity_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    fn screening_holders(&self, opportunity_id: &str) -> StoreResult<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT DISTINCT expert_id FROM assignments WHERE opportunity_id = ?1 \
             AND kind = 'screening' AND state IN ('active', 'completed') ORDER BY expert_id",
        )?;
        let ids = stmt
            .query_map([opportunity_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    fn latest_rubric_version(&self, id: &str) -> StoreResult<Option<u32>> {
        Ok(self.lock().query_row(
            "SELECT MAX(version) FROM rubrics WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?)
    }

    fn insert_rubric(
        &self,
        id: &str,
        version: u32,
        document: &serde_json::Value,
    ) -> StoreResult<()> {
        let n = self.lock().execute(
            "INSERT OR IGNORE INTO rubrics (id, version, document) VALUES (?1, ?2, ?3)",
            params![id, version, to_json(document)?],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "rubric {id} version {version} is already published"
            )));
        }
        Ok(())
    }

    fn opportunity(
        &self,
        id: &str,
    ) -> StoreResult<Option<(Opportunity, Option<serde_json::Value>)>> {
        let raw: Option<(Opportunity, Option<String>)> = self
            .lock()
            .query_row(
                "SELECT id, title, description, rubric_id, rubric_version, licence_category, \
                 buyer, spec FROM opportunities WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        Opportunity {
                            id: r.get(0)?,
                            title: r.get(1)?,
                            description: r.get(2)?,
                            rubric_id: r.get(3)?,
                            rubric_version: r.get(4)?,
                            licence_category: r.get(5)?,
                            buyer: r.get(6)?,
                        },
                        r.get(7)?,
                    ))
                },
            )
            .optional()?;
        raw.map(|(o, spec)| Ok((o, spec.as_deref().map(from_json).transpose()?)))
            .transpose()
    }

    fn put_opportunity(
        &self,
        o: &Opportunity,
        spec: &serde_json::Value,
        new_rate: Option<&Rate>,
    ) -> StoreResult<bool> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existed: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM opportunities WHERE id = ?1)",
            [&o.id],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO opportunities (id, title, description, rubric_id, rubric_version, \
             licence_category, buyer, spec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
             description = excluded.description, rubric_id = excluded.rubric_id, \
             rubric_version = excluded.rubric_version, \
             licence_category = excluded.licence_category, buyer = excluded.buyer, \
             spec = excluded.spec",
            params![
                o.id,
                o.title,
                o.description,
                o.rubric_id,
                o.rubric_version,
                o.licence_category,
                o.buyer,
                to_json(spec)?
            ],
        )?;
        if let Some(r) = new_rate {
            tx.execute(
                "INSERT INTO rates (opportunity_id, basis, amount_cents, currency, effective_from) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    o.id,
                    enum_str(&r.basis)?,
                    r.amount_cents,
                    r.currency,
                    ts(r.effective_from)
                ],
            )?;
        }
        tx.commit()?;
        Ok(!existed)
    }

    fn imported_items(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> StoreResult<BTreeMap<String, ImportedItem>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT i.id, i.title, i.fields, i.revision, \
             COALESCE(i.rubric_id, o.rubric_id), COALESCE(i.rubric_version, o.rubric_version) \
             FROM items i JOIN opportunities o ON o.id = i.opportunity_id \
             WHERE i.opportunity_id = ?1 AND i.external_id = ?2",
        )?;
        let mut out = BTreeMap::new();
        for ext in external_ids {
            let raw: Option<(String, String, String, u32, String, u32)> = stmt
                .query_row(params![opportunity_id, ext], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .optional()?;
            if let Some((item_id, title, fields, revision, rubric_id, rubric_version)) = raw {
                out.insert(
                    ext.clone(),
                    ImportedItem {
                        item_id,
                        title,
                        fields: from_json(&fields)?,
                        revision,
                        rubric_id,
                        rubric_version,
                    },
                );
            }
        }
        Ok(out)
    }

    fn apply_import(
        &self,
        opportunity_id: &str,
        ops: &[ImportOp],
    ) -> StoreResult<Vec<(String, u32)>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                ImportOp::Insert {
                    item,
                    external_id,
                    rubric_id,
                    rubric_version,
                } => {
                    if item.opportunity_id != opportunity_id {
                        return Err(StoreError::BadRequest(format!(
                            "item {} is not in opportunity {opportunity_id}",
                            item.id
                        )));
                    }
                    tx.execute(
                        "INSERT INTO items (id, opportunity_id, title, fields, created_at, \
                         external_id, rubric_id, rubric_version) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            item.id,
                            item.opportunity_id,
                            item.title,
                            to_json(&item.fields)?,
                            ts(item.created_at),
                            external_id,
                            rubric_id,
                            rubric_version
                        ],
                    )
                    .map_err(|e| match e.sqlite_error_code() {
                        Some(rusqlite::ErrorCode::ConstraintViolation) => {
                            StoreError::Conflict(format!(
                                "external id {external_id} was imported concurrently; import again"
                            ))
                        }
                        _ => StoreError::from(e),
                    })?;
                    for value in item.fields.values() {
                        for att in value.attachments() {
                            link_blob(&tx, &item.id, &att.sha256)?;
                        }
                    }
                    out.push((item.id.clone(), 1));
                }
                ImportOp::Replace {
                    item_id,
                    expected_revision,
                    title,
                    fields,
                } => {
                    let revision: Option<u32> = tx
                        .query_row(
                            "UPDATE items SET title = ?1, fields = ?2, revision = revision + 1 \
                             WHERE id = ?3 AND opportunity_id = ?4 AND revision = ?5 \
                             RETURNING revision",
                            params![
                                title,
                                to_json(fields)?,
                                item_id,
                                opportunity_id,
                                expected_revision
                            ],
                            |r| r.get(0),
                        )
                        .optional()?;
                    let revision = revision.ok_or_else(|| {
                        StoreError::Conflict(format!(
                            "item {item_id} changed while it was being imported; import again"
                        ))
                    })?;
                    for value in fields.values() {
                        for att in value.attachments() {
                            link_blob(&tx, item_id, &att.sha256)?;
                        }
                    }
                    republish_assignments(&tx, item_id)?;
                    out.push((item_id.clone(), revision));
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn grader_coverage(&self, opportunity_id: &str) -> StoreResult<Vec<(String, Vec<String>)>> {
        let conn = self.lock();
        let items: Vec<String> = {
            let mut stmt = conn.prepare(
                "SELECT id FROM items WHERE opportunity_id = ?1 ORDER BY created_at, id",
            )?;
            let ids = stmt
                .query_map([opportunity_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids
        };
        let mut stmt = conn.prepare(
            "SELECT DISTINCT expert_id FROM assignments WHERE item_id = ?1 \
             AND kind = 'grade' AND state IN ('active', 'completed') ORDER BY expert_id",
        )?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let experts = stmt
                .query_map([&item], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            out.push((item, experts));
        }
        Ok(out)
    }

    fn count_assignments(&self, opportunity_id: &str, kind: AssignmentKind) -> StoreResult<u64> {
        let n: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM assignments WHERE opportunity_id = ?1 AND kind = ?2",
            params![opportunity_id, enum_str(&kind)?],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn count_grade_submissions(&self, opportunity_id: &str) -> StoreResult<u64> {
        let n: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM submissions s JOIN assignments a ON a.id = s.assignment_id \
             WHERE s.opportunity_id = ?1 AND a.kind = 'grade'",
            [opportunity_id],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn export_submissions(&self, after_seq: i64, limit: u32) -> StoreResult<Page<ExportRecord>> {
        type Raw = (
            i64,
            [String; 6],
            Option<String>,
            u32,
            u32,
            String,
            String,
            i64,
            String,
            [String; 3],
            String,
            String,
        );
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT s.outcome_seq, s.id, s.assignment_id, s.item_id, s.opportunity_id, s.rubric_id, \
             s.expert_id, i.external_id, i.revision, s.rubric_version, e.email, s.answers, \
             s.active_seconds, s.time_log, s.client_created_at, s.received_at, s.status, \
             o.licence_category, o.buyer \
             FROM submissions s JOIN assignments a ON a.id = s.assignment_id \
             JOIN items i ON i.id = s.item_id JOIN experts e ON e.id = s.expert_id \
             JOIN opportunities o ON o.id = s.opportunity_id \
             WHERE a.kind = 'grade' AND s.outcome_seq > ?1 ORDER BY s.outcome_seq LIMIT ?2",
        )?;
        let rows: Vec<Raw> = stmt
            .query_map(params![after_seq, i64::from(limit) + 1], |r| {
                Ok((
                    r.get(0)?,
                    [
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ],
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                    [r.get(14)?, r.get(15)?, r.get(16)?],
                    r.get(17)?,
                    r.get(18)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let has_more = rows.len() > limit as usize;
        let rows = rows
            .into_iter()
            .take(limit as usize)
            .map(
                |(
                    seq,
                    [sid, aid, iid, oid, rid, eid],
                    ext,
                    rev,
                    rver,
                    email,
                    answers,
                    secs,
                    log,
                    [cc, rc, st],
                    lic,
                    buyer,
                )| {
                    Ok(ExportRecord {
                        submission_id: sid,
                        assignment_id: aid,
                        item_id: iid,
                        external_id: ext,
                        item_revision: rev,
                        opportunity_id: oid,
                        rubric_id: rid,
                        rubric_version: rver,
                        expert_id: eid,
                        expert_email: email,
                        answers: from_json(&answers)?,
                        active_seconds: u64::try_from(secs).unwrap_or(0),
                        time_log: from_json(&log)?,
                        client_created_at: parse_ts(&cc)?,
                        received_at: parse_ts(&rc)?,
                        status: parse_enum(&st)?,
                        licence_category: lic,
                        buyer,
                        seq,
                    })
                },
            )
            .collect::<StoreResult<_>>()?;
        Ok(Page { rows, has_more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_protocol::TimeSpan;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::hours(h)
    }

    /// One expert, one opportunity (per-hour rate), three items, three assignments.
    fn fixture(basis: PayBasis) -> SqliteStorage {
        let s = SqliteStorage::open_in_memory().unwrap();
        for id in ["e1", "e2"] {
            s.insert_expert(
                &NewExpert {
                    id: id.into(),
                    email: format!("{id}@example.org"),
                    display_name: id.into(),
                    salt: "s".into(),
                    password_hash: "!".into(),
                    expertise: vec![],
                    attestations: vec![],
                    senior_reviewer: true,
                    timezone: "UTC".into(),
                },
                t(-100),
            )
            .unwrap();
        }
        let opp = Opportunity {
            id: "o1".into(),
            title: "O".into(),
            description: "d".into(),
            rubric_id: "r".into(),
            rubric_version: 2,
            licence_category: "x".into(),
            buyer: "b".into(),
        };
        let rates = [
            Rate {
                opportunity_id: "o1".into(),
                basis,
                amount_cents: 1000,
                currency: "USD".into(),
                effective_from: t(-50),
            },
            Rate {
                opportunity_id: "o1".into(),
                basis,
                amount_cents: 6000,
                currency: "USD".into(),
                effective_from: t(-10),
            },
        ];
        s.insert_opportunity(&opp, &serde_json::json!({"id": "r"}), &rates)
            .unwrap();
        for i in 1..=3 {
            s.insert_item(&Item {
                id: format!("i{i}"),
                opportunity_id: "o1".into(),
                title: "item".into(),
                fields: BTreeMap::new(),
                created_at: t(-20),
            })
            .unwrap();
            s.create_assignment(&NewAssignment {
                id: format!("a{i}"),
                expert_id: "e1".into(),
                item_id: format!("i{i}"),
                kind: AssignmentKind::Grade,
                assigned_at: t(-5),
                lease_expires_at: t(2),
                due_at: t(24),
                review_of_submission_id: None,
            })
            .unwrap();
        }
        s
    }

    fn req(assignment: &str, version: u32, secs: u64) -> SubmissionRequest {
        SubmissionRequest {
            assignment_id: assignment.into(),
            rubric_id: "r".into(),
            rubric_version: version,
            answers: serde_json::json!({"answers": {}}),
            active_seconds: secs,
            time_log: vec![TimeSpan {
                started_at: t(0),
                ended_at: t(1),
                corrected: false,
            }],
            client_created_at: t(1),
        }
    }

    fn counts(s: &SqliteStorage) -> (i64, i64, i64) {
        let c = s.lock();
        let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        (
            n("SELECT COUNT(*) FROM submissions"),
            n("SELECT COUNT(*) FROM ledger"),
            n("SELECT COUNT(*) FROM idempotency"),
        )
    }

    #[test]
    fn publishing_migration_upgrades_a_version_2_database() {
        // A database written by the build before publishing (migrations 1-2).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(MIGRATIONS[1]).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute(
                "INSERT INTO experts (id, email, display_name, password_salt, password_hash, \
                 expertise, attestations, senior_reviewer, timezone, created_at) \
                 VALUES ('e1', 'a@b.c', 'A', 's', 'h', '[]', '[]', 0, 'UTC', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO tokens (id, expert_id, token_hash, created_at) \
                 VALUES ('t1', 'e1', 'hash1', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let s = SqliteStorage::open(&path).unwrap();
        // Existing tokens and accounts become expert ones, nothing is lost.
        let t = s.token_by_hash("hash1").unwrap().unwrap();
        assert_eq!((t.expert_id.as_str(), t.role), ("e1", Role::Expert));
        let experts = s.list_experts().unwrap();
        assert_eq!(experts.len(), 1);
        assert_eq!(experts[0].1, Role::Expert);
        s.set_expert_role("e1", Role::Author).unwrap();
        assert_eq!(s.list_experts().unwrap()[0].1, Role::Author);
        assert!(s.imported_items("o", &["x".into()]).unwrap().is_empty());
    }

    #[test]
    fn migrations_are_idempotent_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        drop(SqliteStorage::open(&path).unwrap());
        let s = SqliteStorage::open(&path).unwrap();
        let v: i64 = s
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        let mode: String = s
            .lock()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        s.lock().pragma_update(None, "user_version", 99).unwrap();
        drop(s);
        assert!(matches!(
            SqliteStorage::open(&path),
            Err(Error::SchemaTooNew { found: 99, .. })
        ));
    }

    fn plan(s: &SqliteStorage, sql: &str) -> Vec<String> {
        let conn = s.lock();
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        st.query_map(params!["x", "y"], |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn access_checks_seek_the_item_index_instead_of_walking_the_experts_assignments() {
        let s = fixture(PayBasis::PerItem);
        let item = plan(&s, ITEM_ACCESS_SQL);
        assert!(
            item.iter().any(
                |p| p.contains("INDEX assignments_item_expert_seq (item_id=? AND expert_id=?)")
            ),
            "{item:?}"
        );
        assert!(!item.iter().any(|p| p.contains("TEMP B-TREE")), "{item:?}");
        let blob = plan(&s, BLOB_ACCESS_SQL);
        assert!(
            blob.iter()
                .any(|p| p.contains("INDEX item_blobs_sha (sha256=?)")),
            "{blob:?}"
        );
        assert!(
            blob.iter().any(
                |p| p.contains("INDEX assignments_item_expert_seq (item_id=? AND expert_id=?)")
            ),
            "{blob:?}"
        );
        assert!(
            !blob.iter().any(|p| p.contains("assignments_expert_seq")),
            "{blob:?}"
        );
        assert!(
            !blob
                .iter()
                .any(|p| p.starts_with("SCAN") && p != "SCAN CONSTANT ROW"),
            "{blob:?}"
        );
    }

    #[test]
    fn version_2_database_gains_the_access_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        {
            let c = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[..2] {
                c.execute_batch(m).unwrap();
            }
            c.pragma_update(None, "user_version", 2).unwrap();
            c.execute(
                "INSERT INTO experts (id, email, display_name, password_salt, password_hash, \
                   expertise, attestations, senior_reviewer, timezone, created_at) \
                 VALUES ('e', 'e@x', 'E', 's', 'h', '[]', '[]', 0, 'UTC', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let s = SqliteStorage::open(&path).unwrap();
        let names: Vec<String> = {
            let conn = s.lock();
            let mut st = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        assert!(
            names.iter().any(|n| n == "assignments_item_expert_seq"),
            "{names:?}"
        );
        assert!(names.iter().any(|n| n == "item_blobs_sha"), "{names:?}");
        assert!(s.expert_id_by_email("e@x").unwrap().is_some());
    }

    #[test]
    fn failed_submissions_store_nothing() {
        let s = fixture(PayBasis::PerItem);
        let err = s
            .submit("e1", "k", "h", &req("a1", 1, 60), t(1))
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::RubricVersionMismatch {
                expected_version: 2,
                ..
            }
        ));
        let err = s
            .submit("e2", "k", "h", &req("a1", 2, 60), t(1))
            .unwrap_err();
        assert!(matches!(err, StoreError::Forbidden(_)));
        let err = s
            .submit("e1", "k", "h", &req("a1", 2, 60), t(3))
            .unwrap_err();
        assert!(matches!(err, StoreError::LeaseExpired(_)));
        assert_eq!(counts(&s), (0, 0, 0));
        let a = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(a.state, AssignmentState::Active);
    }

    #[test]
    fn submission_ledger_and_state_commit_together_and_replay() {
        let s = fixture(PayBasis::PerItem);
        let before = s.assignment_for_expert("e1", "a1").unwrap();
        let r = s.submit("e1", "k", "h", &req("a1", 2, 60), t(1)).unwrap();
        assert_eq!(counts(&s), (1, 1, 1));
        let after = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(after.state, AssignmentState::Completed);
        assert!(after.seq > before.seq);
        // The rate in force at t(1) is the later one.
        let entries = s.list_ledger("e1", 0, 10).unwrap().rows;
        assert_eq!(entries[0].amount_cents, 6000);
        let again = s.submit("e1", "k", "h", &req("a1", 2, 60), t(2)).unwrap();
        assert!(again.replayed);
        assert_eq!(again.submission_id, r.submission_id);
        assert!(matches!(
            s.submit("e1", "k", "other", &req("a1", 2, 61), t(2)),
            Err(StoreError::Conflict(_))
        ));
        // Keys are per expert.
        assert!(matches!(
            s.submit("e2", "k", "h", &req("a1", 2, 60), t(1)),
            Err(StoreError::Forbidden(_))
        ));
        assert_eq!(counts(&s), (1, 1, 1));
    }

    #[test]
    fn per_hour_pay_is_rounded_to_the_cent() {
        let rate = Rate {
            opportunity_id: "o".into(),
            basis: PayBasis::PerHour,
            amount_cents: 9000,
            currency: "USD".into(),
            effective_from: t(0),
        };
        assert_eq!(amount_for(&rate, 3600), 9000);
        assert_eq!(amount_for(&rate, 754), 1885);
        assert_eq!(amount_for(&rate, 0), 0);
        assert!(
            amount_for(&rate, u64::MAX) > 0,
            "saturates instead of overflowing"
        );
        let s = fixture(PayBasis::PerHour);
        s.submit("e1", "k", "h", &req("a1", 2, 1800), t(1)).unwrap();
        assert_eq!(
            s.list_ledger("e1", 0, 10).unwrap().rows[0].amount_cents,
            3000
        );
    }

    #[test]
    fn outcomes_move_ledger_and_payouts_sum_accepted_entries() {
        let s = fixture(PayBasis::PerItem);
        let subs: Vec<String> = ["a1", "a2", "a3"]
            .iter()
            .enumerate()
            .map(|(i, a)| {
                s.submit("e1", &format!("k{i}"), "h", &req(a, 2, 60), t(1))
                    .unwrap()
                    .submission_id
            })
            .collect();
        s.decide_outcome(&subs[0], OutcomeStatus::Accepted, None, t(3))
            .unwrap();
        s.decide_outcome(&subs[1], OutcomeStatus::Rejected, Some("no"), t(3))
            .unwrap();
        s.decide_outcome(&subs[2], OutcomeStatus::NeedsRevision, Some("fix"), t(3))
            .unwrap();
        assert!(matches!(
            s.decide_outcome(&subs[0], OutcomeStatus::Rejected, None, t(4)),
            Err(StoreError::Conflict(_))
        ));
        // Needs revision re-opens the assignment.
        let a3 = s.assignment_for_expert("e1", "a3").unwrap();
        assert_eq!(a3.state, AssignmentState::Active);
        assert!(a3.lease_expires_at > t(3));
        let payouts = s.create_payout("e1", "bank_transfer", t(5)).unwrap();
        assert_eq!(payouts.len(), 1);
        assert_eq!(payouts[0].amount_cents, 6000);
        assert_eq!(payouts[0].entry_ids.len(), 1);
        let statuses: Vec<LedgerStatus> = {
            let rows = s.list_ledger("e1", 0, 100).unwrap().rows;
            let mut by_sub = BTreeMap::new();
            for e in rows {
                by_sub.insert(e.submission_id.clone(), e.status);
            }
            subs.iter().map(|id| by_sub[id]).collect()
        };
        assert_eq!(
            statuses,
            vec![
                LedgerStatus::Paid,
                LedgerStatus::Reversed,
                LedgerStatus::Reversed
            ]
        );
        assert!(s
            .create_payout("e1", "bank_transfer", t(6))
            .unwrap()
            .is_empty());
        assert_eq!(s.list_payouts("e1").unwrap().len(), 1);
    }

    #[test]
    fn pages_are_ordered_and_report_more() {
        let s = fixture(PayBasis::PerItem);
        let p1 = s.list_assignments("e1", 0, 2).unwrap();
        assert_eq!(p1.rows.len(), 2);
        assert!(p1.has_more);
        let p2 = s.list_assignments("e1", p1.rows[1].seq, 2).unwrap();
        assert_eq!(p2.rows.len(), 1);
        assert!(!p2.has_more);
        assert!(p2.rows[0].seq > p1.rows[1].seq);
        assert!(s.list_assignments("e2", 0, 10).unwrap().rows.is_empty());
    }

    #[test]
    fn active_leases_can_be_extended() {
        let s = fixture(PayBasis::PerItem);
        let before = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(s.extend_active_leases("e1", t(48)).unwrap(), 3);
        let after = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(after.lease_expires_at, t(48));
        assert_eq!(after.due_at, t(48));
        assert!(after.seq > before.seq);
        assert_eq!(s.extend_active_leases("e1", t(10)).unwrap(), 0);
    }

    #[test]
    fn overdue_leases_expire_with_a_new_seq() {
        let s = fixture(PayBasis::PerItem);
        assert_eq!(s.expire_overdue_leases("e1", t(1)).unwrap(), 0);
        let renewed = s
            .renew_lease("e1", "a1", t(1), Duration::hours(100))
            .unwrap();
        assert_eq!(renewed.lease_expires_at, t(24), "capped at the due date");
        assert_eq!(s.expire_overdue_leases("e1", t(3)).unwrap(), 2);
        let a2 = s.assignment_for_expert("e1", "a2").unwrap();
        assert_eq!(a2.state, AssignmentState::Expired);
        assert!(matches!(
            s.renew_lease("e1", "a2", t(3), Duration::hours(1)),
            Err(StoreError::LeaseExpired(_))
        ));
    }

    #[test]
    fn screening_submissions_get_an_outcome_but_no_pay() {
        let s = fixture(PayBasis::PerHour);
        s.insert_item(&Item {
            id: "q1".into(),
            opportunity_id: "o1".into(),
            title: "qualification".into(),
            fields: BTreeMap::new(),
            created_at: t(-20),
        })
        .unwrap();
        let bad = s.create_assignment(&NewAssignment {
            id: "sq0".into(),
            expert_id: "e1".into(),
            item_id: "q1".into(),
            kind: AssignmentKind::Screening,
            assigned_at: t(-5),
            lease_expires_at: t(2),
            due_at: t(24),
            review_of_submission_id: Some("sub-x".into()),
        });
        assert!(matches!(bad, Err(StoreError::BadRequest(_))));
        let a = s
            .create_assignment(&NewAssignment {
                id: "sq1".into(),
                expert_id: "e1".into(),
                item_id: "q1".into(),
                kind: AssignmentKind::Screening,
                assigned_at: t(-5),
                lease_expires_at: t(2),
                due_at: t(24),
                review_of_submission_id: None,
            })
            .unwrap();
        assert_eq!(a.kind, AssignmentKind::Screening);
        let before = counts(&s);
        let receipt = s
            .submit("e1", "k-s", "h-s", &req("sq1", 2, 1800), t(1))
            .unwrap();
        let after = counts(&s);
        assert_eq!(after.0, before.0 + 1, "the submission is stored");
        assert_eq!(after.1, before.1, "no ledger entry for screening");
        let done = s.assignment_for_expert("e1", "sq1").unwrap();
        assert_eq!(done.state, AssignmentState::Completed);
        // A qualification is passed or failed, never sent back for revision;
        // the auto-review sees it is a screening.
        let back = s.decide_outcome(
            &receipt.submission_id,
            OutcomeStatus::NeedsRevision,
            Some("again"),
            t(2),
        );
        assert!(matches!(back, Err(StoreError::BadRequest(_))), "{back:?}");
        assert!(s
            .pending_submissions_before(t(3))
            .unwrap()
            .contains(&(receipt.submission_id.clone(), AssignmentKind::Screening)));
        // Passed: the outcome arrives through the outcome feed; still no money.
        let o = s
            .decide_outcome(&receipt.submission_id, OutcomeStatus::Accepted, None, t(2))
            .unwrap();
        assert_eq!(o.status, OutcomeStatus::Accepted);
        let page = s.list_outcomes("e1", 0, 100).unwrap();
        assert!(page
            .rows
            .iter()
            .any(|r| r.submission_id == receipt.submission_id));
        assert!(s.list_ledger("e1", 0, 100).unwrap().rows.is_empty());
        assert_eq!(counts(&s).1, before.1);
    }
}
