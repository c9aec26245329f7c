//! SQLite backend of [`Storage`]: WAL journal, numbered migrations
//! (`migrations/sqlite/NNNN_*.sql`, embedded at build time) applied in one
//! transaction and tracked with `PRAGMA user_version`.
//!
//! Rows become values the one way of [`super::rows`]: this module
//! implements [`Columns`] for SQLite rows, and [`all`] / [`one`] run a query
//! into [`FromRow`] types. Business rules live in [`crate::rules`]; this
//! module only stores.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, ExpertProfile, FieldValue, Item, LedgerEntry,
    LedgerStatus, Opportunity, OutcomeStatus, Payout, Rate, RateCard, ReviewOutcome,
    ReviewedSubmission,
};
use chrono::{DateTime, Utc};
use rusqlite::types::FromSql;
use rusqlite::{params, Connection, Params, Row, Transaction, TransactionBehavior};

use super::rows::{
    changed, count, enum_str, fetch_page, from_json, no_active_token, no_expert, parse_ts,
    rubric_published, sql_i64, to_json, ts, AccessRow, Columns, ExpertChanges, ExpertRow, FromRow,
    IdempotencyRow, ImportedRow, OpportunityRow, OutcomeRow, PayoutRow, PendingRow,
    ASSIGNMENT_CHANGES, ASSIGNMENT_SELECT, IDEMPOTENCY_SELECT, LEDGER_CHANGES, LEDGER_SELECT,
    OPPORTUNITY_SELECT, OUTCOME_CHANGES, OUTCOME_SELECT, RATE_SELECT, SUBMISSION_VIEW,
};
use super::{
    AssignmentRecord, BlobMeta, ExpertCredentials, ExportRecord, ImportKey, ImportedItem,
    ItemAccess, ItemContent, ItemGrading, NewAssignment, NewExpert, NewLedgerEntry, NewReview,
    NewSubmission, Page, Storage, TokenRecord, Tx,
};
use crate::auth::Role;
use crate::error::{Error, PlatformError, PlatformResult};
use crate::new_id;

/// The schema, one numbered file per step; never edit a published one.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_initial.sql"),
    include_str!("../../migrations/sqlite/0002_item_revision.sql"),
    include_str!("../../migrations/sqlite/0003_publishing.sql"),
    include_str!("../../migrations/sqlite/0004_access_indexes.sql"),
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

// ------------------------------------------------------------------ row mapping

impl Columns for Row<'_> {
    fn text(&self, name: &str) -> PlatformResult<String> {
        Ok(self.get(name)?)
    }

    fn opt_text(&self, name: &str) -> PlatformResult<Option<String>> {
        Ok(self.get(name)?)
    }

    fn int(&self, name: &str) -> PlatformResult<i64> {
        Ok(self.get(name)?)
    }

    fn flag(&self, name: &str) -> PlatformResult<bool> {
        Ok(self.get(name)?)
    }

    fn time(&self, name: &str) -> PlatformResult<DateTime<Utc>> {
        parse_ts(&self.text(name)?)
    }

    fn opt_time(&self, name: &str) -> PlatformResult<Option<DateTime<Utc>>> {
        self.opt_text(name)?.as_deref().map(parse_ts).transpose()
    }
}

/// Every row of a query, each mapped by `map`.
fn each_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut map: impl FnMut(&Row<'_>) -> PlatformResult<T>,
) -> PlatformResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(map(r)?);
    }
    Ok(out)
}

/// The first row of a query, if any, mapped by `map`.
fn first_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl FnOnce(&Row<'_>) -> PlatformResult<T>,
) -> PlatformResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(map).transpose()
}

/// Every row of a query, mapped.
fn all<T: FromRow>(conn: &Connection, sql: &str, params: impl Params) -> PlatformResult<Vec<T>> {
    each_row(conn, sql, params, |r| T::from_row(r))
}

/// The first row of a query, mapped.
fn one<T: FromRow>(conn: &Connection, sql: &str, params: impl Params) -> PlatformResult<Option<T>> {
    first_row(conn, sql, params, |r| T::from_row(r))
}

/// The first column of every row.
fn scalars<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> PlatformResult<Vec<T>> {
    each_row(conn, sql, params, |r| Ok(r.get(0)?))
}

/// The first column of the first row, if any.
fn opt_scalar<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> PlatformResult<Option<T>> {
    first_row(conn, sql, params, |r| Ok(r.get(0)?))
}

/// A single value of a query that always returns one row (`COUNT`, `EXISTS`...).
fn scalar<T: FromSql>(conn: &Connection, sql: &str, params: impl Params) -> PlatformResult<T> {
    opt_scalar(conn, sql, params)?
        .ok_or_else(|| PlatformError::Corrupt(format!("no row from {sql}")))
}

// ------------------------------------------------------------------ transactions

/// The [`Tx`] of this backend: an immediate (write-locked) transaction.
struct SqliteTx<'c>(Transaction<'c>);

impl SqliteTx<'_> {
    fn next_seq(&self) -> PlatformResult<i64> {
        scalar(
            &self.0,
            "UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value",
            [],
        )
    }
}

impl Tx for SqliteTx<'_> {
    fn idempotency_record(
        &mut self,
        expert_id: &str,
        endpoint: &str,
        key: &str,
    ) -> PlatformResult<Option<(String, serde_json::Value)>> {
        Ok(one::<IdempotencyRow>(
            &self.0,
            &format!("{IDEMPOTENCY_SELECT} WHERE expert_id = ?1 AND endpoint = ?2 AND key = ?3"),
            params![expert_id, endpoint, key],
        )?
        .map(|IdempotencyRow(hash, response)| (hash, response)))
    }

    fn insert_idempotency_record(
        &mut self,
        expert_id: &str,
        endpoint: &str,
        key: &str,
        request_hash: &str,
        response: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> PlatformResult<()> {
        self.0.execute(
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

    fn expert_exists(&mut self, expert_id: &str) -> PlatformResult<bool> {
        scalar(
            &self.0,
            "SELECT EXISTS (SELECT 1 FROM experts WHERE id = ?1)",
            [expert_id],
        )
    }

    fn item_grading(&mut self, item_id: &str) -> PlatformResult<Option<ItemGrading>> {
        one(
            &self.0,
            "SELECT o.id AS opportunity_id, COALESCE(i.rubric_id, o.rubric_id) AS rubric_id, \
             COALESCE(i.rubric_version, o.rubric_version) AS rubric_version FROM items i \
             JOIN opportunities o ON o.id = i.opportunity_id WHERE i.id = ?1",
            [item_id],
        )
    }

    fn item_content(&mut self, item_id: &str) -> PlatformResult<Option<ItemContent>> {
        one(
            &self.0,
            "SELECT title, fields, revision FROM items WHERE id = ?1",
            [item_id],
        )
    }

    fn insert_item(&mut self, item: &Item, import: Option<&ImportKey<'_>>) -> PlatformResult<bool> {
        let n = self.0.execute(
            "INSERT INTO items (id, opportunity_id, title, fields, created_at, \
             external_id, rubric_id, rubric_version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            params![
                item.id,
                item.opportunity_id,
                item.title,
                to_json(&item.fields)?,
                ts(item.created_at),
                import.map(|k| k.external_id),
                import.map(|k| k.rubric_id),
                import.map(|k| k.rubric_version)
            ],
        )?;
        Ok(n == 1)
    }

    fn replace_item_content(
        &mut self,
        item_id: &str,
        expected_revision: u32,
        title: &str,
        fields: &BTreeMap<String, FieldValue>,
    ) -> PlatformResult<Option<u32>> {
        opt_scalar(
            &self.0,
            "UPDATE items SET title = ?1, fields = ?2, revision = revision + 1 \
             WHERE id = ?3 AND revision = ?4 RETURNING revision",
            params![title, to_json(fields)?, item_id, expected_revision],
        )
    }

    fn blob_exists(&mut self, sha256: &str) -> PlatformResult<bool> {
        scalar(
            &self.0,
            "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1)",
            [sha256],
        )
    }

    fn link_blob(&mut self, item_id: &str, sha256: &str) -> PlatformResult<()> {
        self.0.execute(
            "INSERT OR IGNORE INTO item_blobs (item_id, sha256) VALUES (?1, ?2)",
            params![item_id, sha256],
        )?;
        Ok(())
    }

    fn assignment(&mut self, id: &str) -> PlatformResult<Option<AssignmentRecord>> {
        one(&self.0, &format!("{ASSIGNMENT_SELECT} WHERE id = ?1"), [id])
    }

    fn insert_assignment(
        &mut self,
        n: &NewAssignment,
        grading: &ItemGrading,
    ) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.execute(
            "INSERT INTO assignments (id, expert_id, item_id, opportunity_id, rubric_id, \
             rubric_version, kind, state, assigned_at, lease_expires_at, due_at, \
             review_of_submission_id, seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9, ?10, ?11, ?12)",
            params![
                n.id,
                n.expert_id,
                n.item_id,
                grading.opportunity_id,
                grading.rubric_id,
                grading.rubric_version,
                enum_str(&n.kind)?,
                ts(n.assigned_at),
                ts(n.lease_expires_at),
                ts(n.due_at),
                n.review_of_submission_id,
                seq
            ],
        )?;
        Ok(())
    }

    fn update_assignment(
        &mut self,
        id: &str,
        state: AssignmentState,
        lease_expires_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.execute(
            "UPDATE assignments SET state = ?1, lease_expires_at = ?2, due_at = ?3, seq = ?4 \
             WHERE id = ?5",
            params![enum_str(&state)?, ts(lease_expires_at), ts(due_at), seq, id],
        )?;
        Ok(())
    }

    fn touch_assignment(&mut self, id: &str) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.execute(
            "UPDATE assignments SET seq = ?1 WHERE id = ?2",
            params![seq, id],
        )?;
        Ok(())
    }

    fn item_assignments(&mut self, item_id: &str) -> PlatformResult<Vec<AssignmentRecord>> {
        all(
            &self.0,
            &format!("{ASSIGNMENT_SELECT} WHERE item_id = ?1 ORDER BY seq"),
            [item_id],
        )
    }

    fn review_assignments(&mut self, submission_id: &str) -> PlatformResult<Vec<AssignmentRecord>> {
        all(
            &self.0,
            &format!("{ASSIGNMENT_SELECT} WHERE review_of_submission_id = ?1 ORDER BY seq"),
            [submission_id],
        )
    }

    fn assignments_leased_until(
        &mut self,
        expert_id: &str,
        state: AssignmentState,
        before: DateTime<Utc>,
        inclusive: bool,
    ) -> PlatformResult<Vec<AssignmentRecord>> {
        let op = if inclusive { "<=" } else { "<" };
        all(
            &self.0,
            &format!(
                "{ASSIGNMENT_SELECT} WHERE expert_id = ?1 AND state = ?2 \
                 AND lease_expires_at {op} ?3 ORDER BY seq"
            ),
            params![expert_id, enum_str(&state)?, ts(before)],
        )
    }

    fn insert_submission(&mut self, n: &NewSubmission<'_>) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        let a = n.assignment;
        self.0.execute(
            "INSERT INTO submissions (id, assignment_id, expert_id, item_id, opportunity_id, \
             rubric_id, rubric_version, answers, active_seconds, time_log, client_created_at, \
             received_at, status, outcome_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                n.id,
                a.id,
                n.expert_id,
                a.item_id,
                a.opportunity_id,
                a.rubric_id,
                a.rubric_version,
                to_json(&n.request.answers)?,
                sql_i64(n.request.active_seconds),
                to_json(&n.request.time_log)?,
                ts(n.request.client_created_at),
                ts(n.received_at),
                enum_str(&n.status)?,
                seq
            ],
        )?;
        Ok(())
    }

    fn insert_review(&mut self, n: &NewReview<'_>) -> PlatformResult<()> {
        self.0.execute(
            "INSERT INTO reviews (id, assignment_id, reviewer_id, submission_id, decision, \
             feedback, active_seconds, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                n.id,
                n.assignment_id,
                n.reviewer_id,
                n.request.submission_id,
                enum_str(&n.request.decision)?,
                n.request.feedback,
                sql_i64(n.request.active_seconds),
                ts(n.received_at)
            ],
        )?;
        Ok(())
    }

    fn outcome(&mut self, submission_id: &str) -> PlatformResult<Option<(String, ReviewOutcome)>> {
        Ok(one::<OutcomeRow>(
            &self.0,
            &format!("{OUTCOME_SELECT} WHERE id = ?1"),
            [submission_id],
        )?
        .map(|r| (r.author, r.outcome)))
    }

    fn set_outcome(
        &mut self,
        submission_id: &str,
        status: OutcomeStatus,
        feedback: Option<&str>,
        decided_at: DateTime<Utc>,
    ) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.execute(
            "UPDATE submissions SET status = ?1, feedback = ?2, decided_at = ?3, outcome_seq = ?4 \
             WHERE id = ?5",
            params![
                enum_str(&status)?,
                feedback,
                ts(decided_at),
                seq,
                submission_id
            ],
        )?;
        Ok(())
    }

    fn rate_at(&mut self, opportunity_id: &str, at: DateTime<Utc>) -> PlatformResult<Option<Rate>> {
        one(
            &self.0,
            &format!(
                "{RATE_SELECT} WHERE opportunity_id = ?1 AND effective_from <= ?2 \
                 ORDER BY effective_from DESC LIMIT 1"
            ),
            params![opportunity_id, ts(at)],
        )
    }

    fn insert_ledger_entry(&mut self, n: &NewLedgerEntry<'_>) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        let a = n.assignment;
        self.0.execute(
            "INSERT INTO ledger (id, expert_id, submission_id, assignment_id, item_id, \
             opportunity_id, amount_cents, currency, status, created_at, updated_at, seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
            params![
                new_id("led"),
                n.expert_id,
                n.submission_id,
                a.id,
                a.item_id,
                a.opportunity_id,
                n.amount_cents,
                n.currency,
                enum_str(&n.status)?,
                ts(n.now),
                seq
            ],
        )?;
        Ok(())
    }

    fn ledger_entries(
        &mut self,
        expert_id: &str,
        status: LedgerStatus,
        submission_id: Option<&str>,
        unpaid: bool,
    ) -> PlatformResult<Vec<LedgerEntry>> {
        all(
            &self.0,
            &format!(
                "{LEDGER_SELECT} WHERE expert_id = ?1 AND status = ?2 \
                 AND (?3 IS NULL OR submission_id = ?3) AND (NOT ?4 OR payout_id IS NULL) \
                 ORDER BY seq"
            ),
            params![expert_id, enum_str(&status)?, submission_id, unpaid],
        )
    }

    fn update_ledger_entry(
        &mut self,
        id: &str,
        status: LedgerStatus,
        payout_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.execute(
            "UPDATE ledger SET status = ?1, payout_id = COALESCE(?2, payout_id), \
             updated_at = ?3, seq = ?4 WHERE id = ?5",
            params![enum_str(&status)?, payout_id, ts(now), seq, id],
        )?;
        Ok(())
    }

    fn insert_payout(&mut self, expert_id: &str, p: &Payout) -> PlatformResult<()> {
        self.0.execute(
            "INSERT INTO payouts (id, expert_id, amount_cents, currency, paid_at, method) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                p.id,
                expert_id,
                p.amount_cents,
                p.currency,
                ts(p.paid_at),
                p.method
            ],
        )?;
        Ok(())
    }
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

    /// A page of the expert's `changes` after the cursor `after_seq`.
    fn expert_page<R: FromRow, T>(
        &self,
        changes: &ExpertChanges<R, T>,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<T>> {
        let sql = changes.sql('?');
        changes.page(limit, |n| {
            all(&self.lock(), &sql, params![expert_id, after_seq, n])
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half
        // applied (rusqlite rolls back on drop), so a poisoned lock is safe to reuse.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Storage for SqliteStorage {
    fn insert_expert(&self, e: &NewExpert, now: DateTime<Utc>) -> PlatformResult<()> {
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

    fn expert_credentials(&self, email: &str) -> PlatformResult<Option<ExpertCredentials>> {
        one(
            &self.lock(),
            "SELECT id, password_salt, password_hash FROM experts WHERE email = ?1",
            [email.to_lowercase()],
        )
    }

    fn expert_id_by_email(&self, email: &str) -> PlatformResult<Option<String>> {
        opt_scalar(
            &self.lock(),
            "SELECT id FROM experts WHERE email = ?1",
            [email.to_lowercase()],
        )
    }

    fn expert_profile(&self, expert_id: &str) -> PlatformResult<ExpertProfile> {
        one(
            &self.lock(),
            "SELECT * FROM experts WHERE id = ?1",
            [expert_id],
        )?
        .ok_or_else(|| no_expert(expert_id))
    }

    fn insert_token(
        &self,
        token_id: &str,
        expert_id: &str,
        token_hash: &str,
        label: Option<&str>,
        role: Role,
        now: DateTime<Utc>,
    ) -> PlatformResult<()> {
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

    fn token_by_hash(&self, token_hash: &str) -> PlatformResult<Option<TokenRecord>> {
        one(
            &self.lock(),
            "SELECT id, expert_id, revoked_at IS NOT NULL AS revoked, role FROM tokens \
             WHERE token_hash = ?1",
            [token_hash],
        )
    }

    fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> PlatformResult<()> {
        let n = self.lock().execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![ts(now), token_id],
        )?;
        changed(n > 0, || no_active_token(token_id))
    }

    fn insert_opportunity(
        &self,
        o: &Opportunity,
        rubric_document: &serde_json::Value,
        rates: &[Rate],
    ) -> PlatformResult<()> {
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
            insert_rate(&tx, &r.opportunity_id, r)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn list_opportunities(&self) -> PlatformResult<Vec<Opportunity>> {
        all(
            &self.lock(),
            &format!("{OPPORTUNITY_SELECT} ORDER BY id"),
            [],
        )
    }

    fn rubric_document(&self, id: &str, version: u32) -> PlatformResult<Option<serde_json::Value>> {
        opt_scalar::<String>(
            &self.lock(),
            "SELECT document FROM rubrics WHERE id = ?1 AND version = ?2",
            params![id, version],
        )?
        .as_deref()
        .map(from_json)
        .transpose()
    }

    fn rate_card(&self) -> PlatformResult<RateCard> {
        Ok(RateCard {
            rates: all(
                &self.lock(),
                &format!("{RATE_SELECT} ORDER BY opportunity_id, effective_from"),
                [],
            )?,
        })
    }

    fn insert_blob_meta(&self, meta: &BlobMeta) -> PlatformResult<()> {
        self.lock().execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, media_type) VALUES (?1, ?2, ?3)",
            params![meta.sha256, sql_i64(meta.size), meta.media_type],
        )?;
        Ok(())
    }

    fn blob_meta(&self, sha256: &str) -> PlatformResult<Option<BlobMeta>> {
        one(
            &self.lock(),
            "SELECT sha256, size, media_type FROM blobs WHERE sha256 = ?1",
            [sha256],
        )
    }

    fn expert_can_read_blob(&self, expert_id: &str, sha256: &str) -> PlatformResult<bool> {
        scalar(&self.lock(), BLOB_ACCESS_SQL, params![sha256, expert_id])
    }

    fn item(&self, item_id: &str) -> PlatformResult<Option<Item>> {
        one(
            &self.lock(),
            "SELECT id, opportunity_id, title, fields, created_at FROM items WHERE id = ?1",
            [item_id],
        )
    }

    fn live_assignment_of_item(
        &self,
        expert_id: &str,
        item_id: &str,
    ) -> PlatformResult<Option<ItemAccess>> {
        Ok(
            one::<AccessRow>(&self.lock(), ITEM_ACCESS_SQL, params![item_id, expert_id])?
                .map(AccessRow::into_access),
        )
    }

    fn submission_view(&self, submission_id: &str) -> PlatformResult<Option<ReviewedSubmission>> {
        one(
            &self.lock(),
            &format!("{SUBMISSION_VIEW} WHERE id = ?1"),
            [submission_id],
        )
    }

    fn latest_submission(
        &self,
        assignment_id: &str,
        expert_id: &str,
    ) -> PlatformResult<Option<ReviewedSubmission>> {
        one(
            &self.lock(),
            &format!(
                "{SUBMISSION_VIEW} WHERE assignment_id = ?1 AND expert_id = ?2 \
                 ORDER BY received_at DESC, outcome_seq DESC LIMIT 1"
            ),
            params![assignment_id, expert_id],
        )
    }

    fn assignment_record(&self, id: &str) -> PlatformResult<Option<AssignmentRecord>> {
        one(
            &self.lock(),
            &format!("{ASSIGNMENT_SELECT} WHERE id = ?1"),
            [id],
        )
    }

    fn list_assignments(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<Assignment>> {
        self.expert_page(&ASSIGNMENT_CHANGES, expert_id, after_seq, limit)
    }

    fn list_outcomes(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<ReviewOutcome>> {
        self.expert_page(&OUTCOME_CHANGES, expert_id, after_seq, limit)
    }

    fn pending_submissions_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> PlatformResult<Vec<(String, AssignmentKind)>> {
        let rows: Vec<PendingRow> = all(
            &self.lock(),
            "SELECT s.id AS id, (SELECT a.kind FROM assignments a WHERE a.id = s.assignment_id) \
             AS kind FROM submissions s WHERE s.status = 'pending' AND s.received_at <= ?1 \
             AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.review_of_submission_id = s.id \
                             AND a.state = 'active') \
             ORDER BY s.outcome_seq",
            [ts(cutoff)],
        )?;
        Ok(rows.into_iter().map(|PendingRow(id, k)| (id, k)).collect())
    }

    fn list_ledger(
        &self,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<LedgerEntry>> {
        self.expert_page(&LEDGER_CHANGES, expert_id, after_seq, limit)
    }

    fn list_payouts(&self, expert_id: &str) -> PlatformResult<Vec<Payout>> {
        let conn = self.lock();
        let rows: Vec<PayoutRow> = all(
            &conn,
            "SELECT id, amount_cents, currency, paid_at, method FROM payouts \
             WHERE expert_id = ?1 ORDER BY paid_at, id",
            [expert_id],
        )?;
        rows.into_iter()
            .map(|PayoutRow(mut p)| {
                p.entry_ids = scalars(
                    &conn,
                    "SELECT id FROM ledger WHERE payout_id = ?1 ORDER BY seq",
                    [&p.id],
                )?;
                Ok(p)
            })
            .collect()
    }

    fn experts_with_payable_entries(&self) -> PlatformResult<Vec<String>> {
        scalars(
            &self.lock(),
            "SELECT DISTINCT expert_id FROM ledger WHERE status = 'accepted' AND payout_id IS NULL \
             ORDER BY expert_id",
            [],
        )
    }

    fn list_experts(&self) -> PlatformResult<Vec<(ExpertProfile, Role)>> {
        let rows: Vec<ExpertRow> = all(&self.lock(), "SELECT * FROM experts ORDER BY id", [])?;
        Ok(rows.into_iter().map(|ExpertRow(p, r)| (p, r)).collect())
    }

    fn set_expert_role(&self, expert_id: &str, role: Role) -> PlatformResult<()> {
        let n = self.lock().execute(
            "UPDATE experts SET role = ?1 WHERE id = ?2",
            params![role.as_str(), expert_id],
        )?;
        changed(n > 0, || no_expert(expert_id))
    }

    fn experts_passed_screening(&self, opportunity_id: &str) -> PlatformResult<Vec<String>> {
        scalars(
            &self.lock(),
            "SELECT DISTINCT s.expert_id FROM submissions s \
             JOIN assignments a ON a.id = s.assignment_id \
             WHERE a.kind = 'screening' AND s.opportunity_id = ?1 AND s.status = 'accepted' \
             ORDER BY s.expert_id",
            [opportunity_id],
        )
    }

    fn screening_holders(&self, opportunity_id: &str) -> PlatformResult<Vec<String>> {
        scalars(
            &self.lock(),
            "SELECT DISTINCT expert_id FROM assignments WHERE opportunity_id = ?1 \
             AND kind = 'screening' AND state IN ('active', 'completed') ORDER BY expert_id",
            [opportunity_id],
        )
    }

    fn latest_rubric_version(&self, id: &str) -> PlatformResult<Option<u32>> {
        scalar(
            &self.lock(),
            "SELECT MAX(version) FROM rubrics WHERE id = ?1",
            [id],
        )
    }

    fn insert_rubric(
        &self,
        id: &str,
        version: u32,
        document: &serde_json::Value,
    ) -> PlatformResult<()> {
        let n = self.lock().execute(
            "INSERT OR IGNORE INTO rubrics (id, version, document) VALUES (?1, ?2, ?3)",
            params![id, version, to_json(document)?],
        )?;
        changed(n > 0, || rubric_published(id, version))
    }

    fn opportunity(
        &self,
        id: &str,
    ) -> PlatformResult<Option<(Opportunity, Option<serde_json::Value>)>> {
        Ok(one::<OpportunityRow>(
            &self.lock(),
            "SELECT * FROM opportunities WHERE id = ?1",
            [id],
        )?
        .map(|OpportunityRow(o, spec)| (o, spec)))
    }

    fn put_opportunity(
        &self,
        o: &Opportunity,
        spec: &serde_json::Value,
        new_rate: Option<&Rate>,
    ) -> PlatformResult<bool> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existed: bool = scalar(
            &tx,
            "SELECT EXISTS (SELECT 1 FROM opportunities WHERE id = ?1)",
            [&o.id],
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
            insert_rate(&tx, &o.id, r)?;
        }
        tx.commit()?;
        Ok(!existed)
    }

    fn imported_items(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> PlatformResult<BTreeMap<String, ImportedItem>> {
        let conn = self.lock();
        let mut out = BTreeMap::new();
        for ext in external_ids {
            let row: Option<ImportedRow> = one(
                &conn,
                "SELECT i.id AS id, i.title AS title, i.fields AS fields, \
                 i.revision AS revision, i.external_id AS external_id, \
                 COALESCE(i.rubric_id, o.rubric_id) AS rubric_id, \
                 COALESCE(i.rubric_version, o.rubric_version) AS rubric_version \
                 FROM items i JOIN opportunities o ON o.id = i.opportunity_id \
                 WHERE i.opportunity_id = ?1 AND i.external_id = ?2",
                params![opportunity_id, ext],
            )?;
            if let Some(ImportedRow(ext, item)) = row {
                out.insert(ext, item);
            }
        }
        Ok(out)
    }

    fn grader_coverage(&self, opportunity_id: &str) -> PlatformResult<Vec<(String, Vec<String>)>> {
        let conn = self.lock();
        let items: Vec<String> = scalars(
            &conn,
            "SELECT id FROM items WHERE opportunity_id = ?1 ORDER BY created_at, id",
            [opportunity_id],
        )?;
        items
            .into_iter()
            .map(|item| {
                let experts = scalars(
                    &conn,
                    "SELECT DISTINCT expert_id FROM assignments WHERE item_id = ?1 \
                     AND kind = 'grade' AND state IN ('active', 'completed') ORDER BY expert_id",
                    [&item],
                )?;
                Ok((item, experts))
            })
            .collect()
    }

    fn count_assignments(&self, opportunity_id: &str, kind: AssignmentKind) -> PlatformResult<u64> {
        let n: i64 = scalar(
            &self.lock(),
            "SELECT COUNT(*) FROM assignments WHERE opportunity_id = ?1 AND kind = ?2",
            params![opportunity_id, enum_str(&kind)?],
        )?;
        Ok(count(n))
    }

    fn count_grade_submissions(&self, opportunity_id: &str) -> PlatformResult<u64> {
        let n: i64 = scalar(
            &self.lock(),
            "SELECT COUNT(*) FROM submissions s JOIN assignments a ON a.id = s.assignment_id \
             WHERE s.opportunity_id = ?1 AND a.kind = 'grade'",
            [opportunity_id],
        )?;
        Ok(count(n))
    }

    fn export_submissions(&self, after_seq: i64, limit: u32) -> PlatformResult<Page<ExportRecord>> {
        let fetch = |n: i64| {
            all(
            &self.lock(),
            "SELECT s.outcome_seq AS outcome_seq, s.id AS id, s.assignment_id AS assignment_id, \
             s.item_id AS item_id, s.opportunity_id AS opportunity_id, s.rubric_id AS rubric_id, \
             s.expert_id AS expert_id, i.external_id AS external_id, i.revision AS revision, \
             s.rubric_version AS rubric_version, e.email AS email, s.answers AS answers, \
             s.active_seconds AS active_seconds, s.time_log AS time_log, \
             s.client_created_at AS client_created_at, s.received_at AS received_at, \
             s.status AS status, o.licence_category AS licence_category, o.buyer AS buyer \
             FROM submissions s JOIN assignments a ON a.id = s.assignment_id \
             JOIN items i ON i.id = s.item_id JOIN experts e ON e.id = s.expert_id \
             JOIN opportunities o ON o.id = s.opportunity_id \
             WHERE a.kind = 'grade' AND s.outcome_seq > ?1 ORDER BY s.outcome_seq LIMIT ?2",
            params![after_seq, n],
        )
        };
        fetch_page(limit, fetch, std::convert::identity)
    }

    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> PlatformResult<()>,
    ) -> PlatformResult<()> {
        let mut conn = self.lock();
        let mut tx = SqliteTx(conn.transaction_with_behavior(TransactionBehavior::Immediate)?);
        // An error drops `tx`, which rolls everything back.
        f(&mut tx)?;
        tx.0.commit()?;
        Ok(())
    }
}

fn insert_rate(tx: &Transaction<'_>, opportunity_id: &str, r: &Rate) -> PlatformResult<()> {
    tx.execute(
        "INSERT INTO rates (opportunity_id, basis, amount_cents, currency, effective_from) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            opportunity_id,
            enum_str(&r.basis)?,
            r.amount_cents,
            r.currency,
            ts(r.effective_from)
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by the build before publishing (migrations 1-2)
    /// at `path`, holding one expert: `e1`, `a@b.c`.
    fn version_2_database(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        for m in &MIGRATIONS[..2] {
            conn.execute_batch(m).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO experts (id, email, display_name, password_salt, password_hash, \
             expertise, attestations, senior_reviewer, timezone, created_at) \
             VALUES ('e1', 'a@b.c', 'A', 's', 'h', '[]', '[]', 0, 'UTC', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
        conn
    }

    #[test]
    fn publishing_migration_upgrades_a_version_2_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = version_2_database(&path);
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
        let s = SqliteStorage::open_in_memory().unwrap();
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
        drop(version_2_database(&path));
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
        assert!(s.expert_id_by_email("a@b.c").unwrap().is_some());
    }
}
