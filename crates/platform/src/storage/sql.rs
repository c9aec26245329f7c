//! The storage written once for both backends: every [`Storage`] method and
//! every [`Tx`] primitive is one query (or a few) over [`Db`], which each
//! backend implements for its connections and transactions. The SQL is
//! written once, with PostgreSQL's parameter marks (`$1`, `$2`, …; SQLite
//! reads them as `?1`, `?2`, …), and values are bound as [`Arg`]s, which
//! each backend stores its own way (SQLite keeps timestamps as RFC 3339
//! text, PostgreSQL as `timestamptz`). Where the two really differ, each
//! backend has its own: two queries whose plans differ
//! ([`Backend::BLOB_ACCESS_SQL`], [`Backend::PENDING_SQL`]) and a lookup of
//! many keys ([`Db::imported_rows`]: PostgreSQL binds an array).

use std::borrow::Cow;
use std::collections::BTreeMap;

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, ExpertProfile, FieldValue, Item, LedgerEntry,
    LedgerStatus, Opportunity, OutcomeStatus, Payout, Rate, RateCard, ReviewOutcome,
    ReviewedSubmission,
};
use chrono::{DateTime, Utc};

use super::rows::{
    changed, count, enum_str, fetch_page, from_json, no_active_token, no_expert, rubric_published,
    sql_i64, to_json, AccessRow, ExpertChanges, ExpertRow, FromRow, IdempotencyRow, ImportedRow,
    OpportunityRow, OutcomeRow, PayoutRow, PendingRow, Small, ASSIGNMENT_CHANGES,
    ASSIGNMENT_SELECT, IDEMPOTENCY_SELECT, LEDGER_CHANGES, LEDGER_SELECT, OPPORTUNITY_SELECT,
    OUTCOME_CHANGES, OUTCOME_SELECT, RATE_SELECT, SUBMISSION_VIEW,
};
use super::{
    AssignmentRecord, BlobMeta, ExpertCredentials, ExportRecord, ImportKey, ImportedItem,
    ItemAccess, ItemContent, ItemGrading, NewAssignment, NewExpert, NewLedgerEntry, NewReview,
    NewSubmission, Page, Storage, TokenRecord, Tx,
};
use crate::auth::Role;
use crate::error::{PlatformError, PlatformResult};
use crate::new_id;

/// The parameters of a query, each made an [`Arg`].
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$(Arg::from($arg)),*]
    };
}

/// A query parameter, typed as both backends store it.
#[derive(Debug, Clone)]
pub(super) enum Arg<'a> {
    /// Text (JSON is stored as text too).
    Text(Cow<'a, str>),
    /// Text or `NULL`.
    OptText(Option<&'a str>),
    /// A `bigint`.
    Int(i64),
    /// An `integer` (versions, revisions); PostgreSQL refuses one above
    /// `i32::MAX` as a bad request.
    Small(u32),
    /// An `integer` or `NULL`.
    OptSmall(Option<u32>),
    /// A boolean.
    Flag(bool),
    /// A point in time.
    Time(DateTime<Utc>),
}

/// `From` for each kind of value an [`Arg`] holds.
macro_rules! arg_from {
    ($($value:ty => |$v:ident| $arg:expr;)*) => {
        $(impl<'a> From<$value> for Arg<'a> {
            fn from($v: $value) -> Self {
                $arg
            }
        })*
    };
}

arg_from! {
    &'a str => |v| Arg::Text(Cow::Borrowed(v));
    &'a String => |v| Arg::Text(Cow::Borrowed(v));
    String => |v| Arg::Text(Cow::Owned(v));
    Option<&'a str> => |v| Arg::OptText(v);
    &'a Option<String> => |v| Arg::OptText(v.as_deref());
    i64 => |v| Arg::Int(v);
    u32 => |v| Arg::Small(v);
    Option<u32> => |v| Arg::OptSmall(v);
    bool => |v| Arg::Flag(v);
    DateTime<Utc> => |v| Arg::Time(v);
}

/// A value that both backends read from a column as it is (text, `bigint`, boolean).
pub(super) trait Scalar:
    rusqlite::types::FromSql + tokio_postgres::types::FromSqlOwned
{
}

impl<T: rusqlite::types::FromSql + tokio_postgres::types::FromSqlOwned> Scalar for T {}

/// Queries on one connection or transaction of a backend. `sql` is marked
/// `$1`, `$2`, … and `args` fill the marks in order.
pub(super) trait Db {
    /// Every row, mapped.
    fn all<T: FromRow>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Vec<T>>;
    /// The first row, if any, mapped.
    fn one<T: FromRow>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Option<T>>;
    /// The first column of every row.
    fn scalars<T: Scalar>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Vec<T>>;
    /// The first column of the first row, if any.
    fn opt_scalar<T: Scalar>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Option<T>>;
    /// The number of rows a change touched.
    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<u64>;
    /// The opportunity's imported items among `external_ids` (those there are).
    fn imported_rows(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> PlatformResult<Vec<ImportedRow>>;

    /// A change whose row count does not matter.
    fn change(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<()> {
        self.execute(sql, args).map(drop)
    }

    /// A single value of a query that always returns one row (`COUNT`, `EXISTS`...).
    fn scalar<T: Scalar>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<T> {
        self.opt_scalar(sql, args)?
            .ok_or_else(|| PlatformError::Corrupt(format!("no row from {sql}")))
    }
}

/// A database backend: hands out a connection for reads and a transaction
/// for writes. Every backend is a [`Storage`] through it.
pub(super) trait Backend: Send + Sync + 'static {
    /// `SELECT EXISTS (…)`: whether the expert `$2` holds a live
    /// assignment of an item that has the blob `$1`.
    const BLOB_ACCESS_SQL: &'static str;
    /// Pending submissions (`id`, and the `kind` of their assignment)
    /// received up to `$1` that no active senior review holds, in outcome
    /// order.
    const PENDING_SQL: &'static str;

    /// A connection, for reads and single writes.
    type Conn<'a>: Db
    where
        Self: 'a;
    /// A write transaction.
    type Tx<'a>: Db
    where
        Self: 'a;

    /// Run `f` on a connection (reads, and writes of one statement).
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Self::Conn<'_>) -> PlatformResult<T>,
    ) -> PlatformResult<T>;

    /// Run `f` in one transaction: committed when it returns `Ok`, rolled
    /// back when it returns an error. `serialised`: it runs while no other
    /// serialised transaction does, across processes (the write
    /// transactions of [`Storage::transaction`]).
    fn write<T>(
        &self,
        serialised: bool,
        f: impl FnOnce(&Self::Tx<'_>) -> PlatformResult<T>,
    ) -> PlatformResult<T>;
}

/// The expert's most recent live assignment of an item (access check).
pub(super) const ITEM_ACCESS_SQL: &str =
    "SELECT kind, review_of_submission_id, id FROM assignments \
     WHERE item_id = $1 AND expert_id = $2 AND state NOT IN ('revoked', 'reassigned', 'released') \
     ORDER BY seq DESC LIMIT 1";

/// Whether a row with the key `$1` exists, in `table` (keyed by `column`).
fn exists(db: &impl Db, table: &str, column: &str, key: &str) -> PlatformResult<bool> {
    db.scalar(
        &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = $1)"),
        args![key],
    )
}

/// Store a rate of an opportunity.
fn insert_rate(db: &impl Db, opportunity_id: &str, r: &Rate) -> PlatformResult<()> {
    db.change(
        "INSERT INTO rates (opportunity_id, basis, amount_cents, currency, effective_from) \
         VALUES ($1, $2, $3, $4, $5)",
        args![
            opportunity_id,
            enum_str(&r.basis)?,
            r.amount_cents,
            &r.currency,
            r.effective_from
        ],
    )
}

/// Store an opportunity. With its published `spec`, it replaces the
/// opportunity with its id, if there is one; without (seeding), it is new.
fn store_opportunity(
    db: &impl Db,
    o: &Opportunity,
    spec: Option<&serde_json::Value>,
) -> PlatformResult<()> {
    let replace = if spec.is_some() {
        " ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
         description = excluded.description, rubric_id = excluded.rubric_id, \
         rubric_version = excluded.rubric_version, \
         licence_category = excluded.licence_category, buyer = excluded.buyer, \
         spec = excluded.spec"
    } else {
        ""
    };
    let spec = spec.map(to_json).transpose()?;
    db.change(
        &format!(
            "INSERT INTO opportunities (id, title, description, rubric_id, rubric_version, \
             licence_category, buyer, spec) VALUES ($1, $2, $3, $4, $5, $6, $7, $8){replace}"
        ),
        args![
            &o.id,
            &o.title,
            &o.description,
            &o.rubric_id,
            o.rubric_version,
            &o.licence_category,
            &o.buyer,
            spec.as_deref()
        ],
    )
}

/// Store a rubric version unless it is there; whether it was stored.
fn insert_rubric_version(
    db: &impl Db,
    id: &str,
    version: u32,
    document: &serde_json::Value,
) -> PlatformResult<bool> {
    let n = db.execute(
        "INSERT INTO rubrics (id, version, document) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
        args![id, version, to_json(document)?],
    )?;
    Ok(n > 0)
}

/// The [`Tx`] of every backend: its write transaction.
pub(super) struct InTx<'a, D>(&'a D);

impl<D: Db> InTx<'_, D> {
    fn next_seq(&self) -> PlatformResult<i64> {
        self.0.scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value",
            &[],
        )
    }

    fn assignments_where(
        &self,
        condition: &str,
        args: &[Arg<'_>],
    ) -> PlatformResult<Vec<AssignmentRecord>> {
        self.0.all(
            &format!("{ASSIGNMENT_SELECT} WHERE {condition} ORDER BY seq"),
            args,
        )
    }
}

impl<D: Db> Tx for InTx<'_, D> {
    fn idempotency_record(
        &mut self,
        expert_id: &str,
        endpoint: &str,
        key: &str,
    ) -> PlatformResult<Option<(String, serde_json::Value)>> {
        Ok(self
            .0
            .one::<IdempotencyRow>(
                &format!(
                    "{IDEMPOTENCY_SELECT} WHERE expert_id = $1 AND endpoint = $2 AND key = $3"
                ),
                args![expert_id, endpoint, key],
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
        self.0.change(
            "INSERT INTO idempotency (expert_id, endpoint, key, request_hash, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![expert_id, endpoint, key, request_hash, to_json(response)?, now],
        )
    }

    fn expert_exists(&mut self, expert_id: &str) -> PlatformResult<bool> {
        exists(self.0, "experts", "id", expert_id)
    }

    fn item_grading(&mut self, item_id: &str) -> PlatformResult<Option<ItemGrading>> {
        self.0.one(
            "SELECT o.id AS opportunity_id, COALESCE(i.rubric_id, o.rubric_id) AS rubric_id, \
             COALESCE(i.rubric_version, o.rubric_version) AS rubric_version FROM items i \
             JOIN opportunities o ON o.id = i.opportunity_id WHERE i.id = $1",
            args![item_id],
        )
    }

    fn item_content(&mut self, item_id: &str) -> PlatformResult<Option<ItemContent>> {
        self.0.one(
            "SELECT title, fields, revision FROM items WHERE id = $1",
            args![item_id],
        )
    }

    fn insert_item(&mut self, item: &Item, import: Option<&ImportKey<'_>>) -> PlatformResult<bool> {
        let n = self.0.execute(
            "INSERT INTO items (id, opportunity_id, title, fields, created_at, \
             external_id, rubric_id, rubric_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            args![
                &item.id,
                &item.opportunity_id,
                &item.title,
                to_json(&item.fields)?,
                item.created_at,
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
        Ok(self
            .0
            .one::<Small>(
                "UPDATE items SET title = $1, fields = $2, revision = revision + 1 \
                 WHERE id = $3 AND revision = $4 RETURNING revision AS n",
                args![title, to_json(fields)?, item_id, expected_revision],
            )?
            .map(|Small(revision)| revision))
    }

    fn blob_exists(&mut self, sha256: &str) -> PlatformResult<bool> {
        exists(self.0, "blobs", "sha256", sha256)
    }

    fn link_blob(&mut self, item_id: &str, sha256: &str) -> PlatformResult<()> {
        self.0.change(
            "INSERT INTO item_blobs (item_id, sha256) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![item_id, sha256],
        )
    }

    fn assignment(&mut self, id: &str) -> PlatformResult<Option<AssignmentRecord>> {
        self.0
            .one(&format!("{ASSIGNMENT_SELECT} WHERE id = $1"), args![id])
    }

    fn insert_assignment(
        &mut self,
        n: &NewAssignment,
        grading: &ItemGrading,
    ) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.change(
            "INSERT INTO assignments (id, expert_id, item_id, opportunity_id, rubric_id, \
             rubric_version, kind, state, assigned_at, lease_expires_at, due_at, \
             review_of_submission_id, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11, $12)",
            args![
                &n.id,
                &n.expert_id,
                &n.item_id,
                &grading.opportunity_id,
                &grading.rubric_id,
                grading.rubric_version,
                enum_str(&n.kind)?,
                n.assigned_at,
                n.lease_expires_at,
                n.due_at,
                &n.review_of_submission_id,
                seq
            ],
        )
    }

    fn update_assignment(
        &mut self,
        id: &str,
        state: AssignmentState,
        lease_expires_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.change(
            "UPDATE assignments SET state = $1, lease_expires_at = $2, due_at = $3, seq = $4 \
             WHERE id = $5",
            args![enum_str(&state)?, lease_expires_at, due_at, seq, id],
        )
    }

    fn touch_assignment(&mut self, id: &str) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.0.change(
            "UPDATE assignments SET seq = $1 WHERE id = $2",
            args![seq, id],
        )
    }

    fn item_assignments(&mut self, item_id: &str) -> PlatformResult<Vec<AssignmentRecord>> {
        self.assignments_where("item_id = $1", args![item_id])
    }

    fn review_assignments(&mut self, submission_id: &str) -> PlatformResult<Vec<AssignmentRecord>> {
        self.assignments_where("review_of_submission_id = $1", args![submission_id])
    }

    fn assignments_leased_until(
        &mut self,
        expert_id: &str,
        state: AssignmentState,
        before: DateTime<Utc>,
        inclusive: bool,
    ) -> PlatformResult<Vec<AssignmentRecord>> {
        let op = if inclusive { "<=" } else { "<" };
        self.assignments_where(
            &format!("expert_id = $1 AND state = $2 AND lease_expires_at {op} $3"),
            args![expert_id, enum_str(&state)?, before],
        )
    }

    fn insert_submission(&mut self, n: &NewSubmission<'_>) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        let a = n.assignment;
        self.0.change(
            "INSERT INTO submissions (id, assignment_id, expert_id, item_id, opportunity_id, \
             rubric_id, rubric_version, answers, active_seconds, time_log, client_created_at, \
             received_at, status, outcome_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            args![
                n.id,
                &a.id,
                n.expert_id,
                &a.item_id,
                &a.opportunity_id,
                &a.rubric_id,
                a.rubric_version,
                to_json(&n.request.answers)?,
                sql_i64(n.request.active_seconds),
                to_json(&n.request.time_log)?,
                n.request.client_created_at,
                n.received_at,
                enum_str(&n.status)?,
                seq
            ],
        )
    }

    fn insert_review(&mut self, n: &NewReview<'_>) -> PlatformResult<()> {
        self.0.change(
            "INSERT INTO reviews (id, assignment_id, reviewer_id, submission_id, decision, \
             feedback, active_seconds, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                n.id,
                n.assignment_id,
                n.reviewer_id,
                &n.request.submission_id,
                enum_str(&n.request.decision)?,
                &n.request.feedback,
                sql_i64(n.request.active_seconds),
                n.received_at
            ],
        )
    }

    fn outcome(&mut self, submission_id: &str) -> PlatformResult<Option<(String, ReviewOutcome)>> {
        Ok(self
            .0
            .one::<OutcomeRow>(
                &format!("{OUTCOME_SELECT} WHERE id = $1"),
                args![submission_id],
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
        self.0.change(
            "UPDATE submissions SET status = $1, feedback = $2, decided_at = $3, \
             outcome_seq = $4 WHERE id = $5",
            args![enum_str(&status)?, feedback, decided_at, seq, submission_id],
        )
    }

    fn rate_at(&mut self, opportunity_id: &str, at: DateTime<Utc>) -> PlatformResult<Option<Rate>> {
        self.0.one(
            &format!(
                "{RATE_SELECT} WHERE opportunity_id = $1 AND effective_from <= $2 \
                 ORDER BY effective_from DESC LIMIT 1"
            ),
            args![opportunity_id, at],
        )
    }

    fn insert_ledger_entry(&mut self, n: &NewLedgerEntry<'_>) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        let a = n.assignment;
        self.0.change(
            "INSERT INTO ledger (id, expert_id, submission_id, assignment_id, item_id, \
             opportunity_id, amount_cents, currency, status, created_at, updated_at, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
            args![
                new_id("led"),
                n.expert_id,
                n.submission_id,
                &a.id,
                &a.item_id,
                &a.opportunity_id,
                n.amount_cents,
                n.currency,
                enum_str(&n.status)?,
                n.now,
                seq
            ],
        )
    }

    fn ledger_entries(
        &mut self,
        expert_id: &str,
        status: LedgerStatus,
        submission_id: Option<&str>,
        unpaid: bool,
    ) -> PlatformResult<Vec<LedgerEntry>> {
        self.0.all(
            &format!(
                "{LEDGER_SELECT} WHERE expert_id = $1 AND status = $2 \
                 AND (CAST($3 AS TEXT) IS NULL OR submission_id = $3) \
                 AND (NOT CAST($4 AS BOOLEAN) OR payout_id IS NULL) ORDER BY seq"
            ),
            args![expert_id, enum_str(&status)?, submission_id, unpaid],
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
        self.0.change(
            "UPDATE ledger SET status = $1, payout_id = COALESCE($2, payout_id), \
             updated_at = $3, seq = $4 WHERE id = $5",
            args![enum_str(&status)?, payout_id, now, seq, id],
        )
    }

    fn insert_payout(&mut self, expert_id: &str, p: &Payout) -> PlatformResult<()> {
        self.0.change(
            "INSERT INTO payouts (id, expert_id, amount_cents, currency, paid_at, method) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                &p.id,
                expert_id,
                p.amount_cents,
                &p.currency,
                p.paid_at,
                &p.method
            ],
        )
    }
}

/// A page of the expert's `changes` after the cursor `after_seq`.
fn expert_page<R: FromRow, T>(
    db: &impl Db,
    changes: &ExpertChanges<R, T>,
    expert_id: &str,
    after_seq: i64,
    limit: u32,
) -> PlatformResult<Page<T>> {
    changes.page(limit, |n| {
        db.all(&changes.sql(), args![expert_id, after_seq, n])
    })
}

/// The `list_*` methods of [`Storage`] that read a page of one of the
/// expert's [`ExpertChanges`]: `name: Value = CHANGES;` each.
macro_rules! expert_pages {
    ($($name:ident: $value:ty = $changes:expr;)*) => {
        $(fn $name(&self, expert_id: &str, after_seq: i64, limit: u32)
            -> PlatformResult<Page<$value>>
        {
            self.with_conn(|c| expert_page(c, &$changes, expert_id, after_seq, limit))
        })*
    };
}

impl<B: Backend> Storage for B {
    fn insert_expert(&self, new: &NewExpert, now: DateTime<Utc>) -> PlatformResult<()> {
        let e = &new.profile;
        self.with_conn(|c| {
            c.change(
                "INSERT INTO experts (id, email, display_name, password_salt, password_hash, \
                 expertise, attestations, senior_reviewer, timezone, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![
                    &e.id,
                    e.email.to_lowercase(),
                    &e.display_name,
                    &new.salt,
                    &new.password_hash,
                    to_json(&e.expertise)?,
                    to_json(&e.attestations)?,
                    e.senior_reviewer,
                    &e.timezone,
                    now
                ],
            )
        })
    }

    fn expert_credentials(&self, email: &str) -> PlatformResult<Option<ExpertCredentials>> {
        self.with_conn(|c| {
            c.one(
                "SELECT id, password_salt, password_hash FROM experts WHERE email = $1",
                args![email.to_lowercase()],
            )
        })
    }

    fn expert_id_by_email(&self, email: &str) -> PlatformResult<Option<String>> {
        self.with_conn(|c| {
            c.opt_scalar(
                "SELECT id FROM experts WHERE email = $1",
                args![email.to_lowercase()],
            )
        })
    }

    fn expert_profile(&self, expert_id: &str) -> PlatformResult<ExpertProfile> {
        self.with_conn(|c| c.one("SELECT * FROM experts WHERE id = $1", args![expert_id]))?
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
        self.with_conn(|c| {
            c.change(
                "INSERT INTO tokens (id, expert_id, token_hash, label, created_at, role) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![token_id, expert_id, token_hash, label, now, role.as_str()],
            )
        })
    }

    fn token_by_hash(&self, token_hash: &str) -> PlatformResult<Option<TokenRecord>> {
        self.with_conn(|c| {
            c.one(
                "SELECT id, expert_id, revoked_at IS NOT NULL AS revoked, role FROM tokens \
                 WHERE token_hash = $1",
                args![token_hash],
            )
        })
    }

    fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> PlatformResult<()> {
        let n = self.with_conn(|c| {
            c.execute(
                "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                args![now, token_id],
            )
        })?;
        changed(n > 0, || no_active_token(token_id))
    }

    fn insert_opportunity(
        &self,
        o: &Opportunity,
        rubric_document: &serde_json::Value,
        rates: &[Rate],
    ) -> PlatformResult<()> {
        self.write(false, |tx| {
            insert_rubric_version(tx, &o.rubric_id, o.rubric_version, rubric_document)?;
            store_opportunity(tx, o, None)?;
            for r in rates {
                insert_rate(tx, &r.opportunity_id, r)?;
            }
            Ok(())
        })
    }

    fn list_opportunities(&self) -> PlatformResult<Vec<Opportunity>> {
        self.with_conn(|c| c.all(&format!("{OPPORTUNITY_SELECT} ORDER BY id"), &[]))
    }

    fn rubric_document(&self, id: &str, version: u32) -> PlatformResult<Option<serde_json::Value>> {
        self.with_conn(|c| {
            c.opt_scalar::<String>(
                "SELECT document FROM rubrics WHERE id = $1 AND version = $2",
                args![id, version],
            )
        })?
        .as_deref()
        .map(from_json)
        .transpose()
    }

    fn rate_card(&self) -> PlatformResult<RateCard> {
        let rates = self.with_conn(|c| {
            c.all(
                &format!("{RATE_SELECT} ORDER BY opportunity_id, effective_from"),
                &[],
            )
        })?;
        Ok(RateCard { rates })
    }

    fn insert_blob_meta(&self, meta: &BlobMeta) -> PlatformResult<()> {
        self.with_conn(|c| {
            c.change(
                "INSERT INTO blobs (sha256, size, media_type) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                args![&meta.sha256, sql_i64(meta.size), &meta.media_type],
            )
        })
    }

    fn blob_meta(&self, sha256: &str) -> PlatformResult<Option<BlobMeta>> {
        self.with_conn(|c| {
            c.one(
                "SELECT sha256, size, media_type FROM blobs WHERE sha256 = $1",
                args![sha256],
            )
        })
    }

    fn expert_can_read_blob(&self, expert_id: &str, sha256: &str) -> PlatformResult<bool> {
        self.with_conn(|c| c.scalar(Self::BLOB_ACCESS_SQL, args![sha256, expert_id]))
    }

    fn item(&self, item_id: &str) -> PlatformResult<Option<Item>> {
        self.with_conn(|c| {
            c.one(
                "SELECT id, opportunity_id, title, fields, created_at FROM items WHERE id = $1",
                args![item_id],
            )
        })
    }

    fn live_assignment_of_item(
        &self,
        expert_id: &str,
        item_id: &str,
    ) -> PlatformResult<Option<ItemAccess>> {
        Ok(self
            .with_conn(|c| c.one::<AccessRow>(ITEM_ACCESS_SQL, args![item_id, expert_id]))?
            .map(AccessRow::into_access))
    }

    fn submission_view(&self, submission_id: &str) -> PlatformResult<Option<ReviewedSubmission>> {
        self.with_conn(|c| {
            c.one(
                &format!("{SUBMISSION_VIEW} WHERE id = $1"),
                args![submission_id],
            )
        })
    }

    fn latest_submission(
        &self,
        assignment_id: &str,
        expert_id: &str,
    ) -> PlatformResult<Option<ReviewedSubmission>> {
        self.with_conn(|c| {
            c.one(
                &format!(
                    "{SUBMISSION_VIEW} WHERE assignment_id = $1 AND expert_id = $2 \
                     ORDER BY received_at DESC, outcome_seq DESC LIMIT 1"
                ),
                args![assignment_id, expert_id],
            )
        })
    }

    fn assignment_record(&self, id: &str) -> PlatformResult<Option<AssignmentRecord>> {
        self.with_conn(|c| c.one(&format!("{ASSIGNMENT_SELECT} WHERE id = $1"), args![id]))
    }

    expert_pages! {
        list_assignments: Assignment = ASSIGNMENT_CHANGES;
        list_outcomes: ReviewOutcome = OUTCOME_CHANGES;
        list_ledger: LedgerEntry = LEDGER_CHANGES;
    }

    fn pending_submissions_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> PlatformResult<Vec<(String, AssignmentKind)>> {
        let rows: Vec<PendingRow> = self.with_conn(|c| c.all(Self::PENDING_SQL, args![cutoff]))?;
        Ok(rows.into_iter().map(|PendingRow(id, k)| (id, k)).collect())
    }

    fn list_payouts(&self, expert_id: &str) -> PlatformResult<Vec<Payout>> {
        self.with_conn(|c| {
            let rows: Vec<PayoutRow> = c.all(
                "SELECT id, amount_cents, currency, paid_at, method FROM payouts \
                 WHERE expert_id = $1 ORDER BY paid_at, id",
                args![expert_id],
            )?;
            rows.into_iter()
                .map(|PayoutRow(mut p)| {
                    p.entry_ids = c.scalars(
                        "SELECT id FROM ledger WHERE payout_id = $1 ORDER BY seq",
                        args![&p.id],
                    )?;
                    Ok(p)
                })
                .collect()
        })
    }

    fn experts_with_payable_entries(&self) -> PlatformResult<Vec<String>> {
        self.with_conn(|c| {
            c.scalars(
                "SELECT DISTINCT expert_id FROM ledger WHERE status = 'accepted' \
                 AND payout_id IS NULL ORDER BY expert_id",
                &[],
            )
        })
    }

    fn list_experts(&self) -> PlatformResult<Vec<(ExpertProfile, Role)>> {
        let rows: Vec<ExpertRow> =
            self.with_conn(|c| c.all("SELECT * FROM experts ORDER BY id", &[]))?;
        Ok(rows.into_iter().map(|ExpertRow(p, r)| (p, r)).collect())
    }

    fn set_expert_role(&self, expert_id: &str, role: Role) -> PlatformResult<()> {
        let n = self.with_conn(|c| {
            c.execute(
                "UPDATE experts SET role = $1 WHERE id = $2",
                args![role.as_str(), expert_id],
            )
        })?;
        changed(n > 0, || no_expert(expert_id))
    }

    fn experts_passed_screening(&self, opportunity_id: &str) -> PlatformResult<Vec<String>> {
        self.with_conn(|c| {
            c.scalars(
                "SELECT DISTINCT s.expert_id FROM submissions s \
                 JOIN assignments a ON a.id = s.assignment_id \
                 WHERE a.kind = 'screening' AND s.opportunity_id = $1 AND s.status = 'accepted' \
                 ORDER BY s.expert_id",
                args![opportunity_id],
            )
        })
    }

    fn screening_holders(&self, opportunity_id: &str) -> PlatformResult<Vec<String>> {
        self.with_conn(|c| {
            c.scalars(
                "SELECT DISTINCT expert_id FROM assignments WHERE opportunity_id = $1 \
                 AND kind = 'screening' AND state IN ('active', 'completed') ORDER BY expert_id",
                args![opportunity_id],
            )
        })
    }

    fn latest_rubric_version(&self, id: &str) -> PlatformResult<Option<u32>> {
        Ok(self
            .with_conn(|c| {
                c.one::<Small>(
                    "SELECT version AS n FROM rubrics WHERE id = $1 ORDER BY version DESC LIMIT 1",
                    args![id],
                )
            })?
            .map(|Small(version)| version))
    }

    fn insert_rubric(
        &self,
        id: &str,
        version: u32,
        document: &serde_json::Value,
    ) -> PlatformResult<()> {
        let stored = self.with_conn(|c| insert_rubric_version(c, id, version, document))?;
        changed(stored, || rubric_published(id, version))
    }

    fn opportunity(
        &self,
        id: &str,
    ) -> PlatformResult<Option<(Opportunity, Option<serde_json::Value>)>> {
        Ok(self
            .with_conn(|c| {
                c.one::<OpportunityRow>("SELECT * FROM opportunities WHERE id = $1", args![id])
            })?
            .map(|OpportunityRow(o, spec)| (o, spec)))
    }

    fn put_opportunity(
        &self,
        o: &Opportunity,
        spec: &serde_json::Value,
        new_rate: Option<&Rate>,
    ) -> PlatformResult<bool> {
        self.write(false, |tx| {
            let existed = exists(tx, "opportunities", "id", &o.id)?;
            store_opportunity(tx, o, Some(spec))?;
            if let Some(r) = new_rate {
                insert_rate(tx, &o.id, r)?;
            }
            Ok(!existed)
        })
    }

    fn imported_items(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> PlatformResult<BTreeMap<String, ImportedItem>> {
        let rows = self.with_conn(|c| c.imported_rows(opportunity_id, external_ids))?;
        Ok(rows
            .into_iter()
            .map(|ImportedRow(ext, item)| (ext, item))
            .collect())
    }

    fn grader_coverage(&self, opportunity_id: &str) -> PlatformResult<Vec<(String, Vec<String>)>> {
        self.with_conn(|c| {
            let items: Vec<String> = c.scalars(
                "SELECT id FROM items WHERE opportunity_id = $1 ORDER BY created_at, id",
                args![opportunity_id],
            )?;
            items
                .into_iter()
                .map(|item| {
                    let experts = c.scalars(
                        "SELECT DISTINCT expert_id FROM assignments WHERE item_id = $1 \
                         AND kind = 'grade' AND state IN ('active', 'completed') \
                         ORDER BY expert_id",
                        args![&item],
                    )?;
                    Ok((item, experts))
                })
                .collect()
        })
    }

    fn count_assignments(&self, opportunity_id: &str, kind: AssignmentKind) -> PlatformResult<u64> {
        let n: i64 = self.with_conn(|c| {
            c.scalar(
                "SELECT COUNT(*) FROM assignments WHERE opportunity_id = $1 AND kind = $2",
                args![opportunity_id, enum_str(&kind)?],
            )
        })?;
        Ok(count(n))
    }

    fn count_grade_submissions(&self, opportunity_id: &str) -> PlatformResult<u64> {
        let n: i64 = self.with_conn(|c| {
            c.scalar(
                "SELECT COUNT(*) FROM submissions s JOIN assignments a ON a.id = s.assignment_id \
                 WHERE s.opportunity_id = $1 AND a.kind = 'grade'",
                args![opportunity_id],
            )
        })?;
        Ok(count(n))
    }

    fn export_submissions(&self, after_seq: i64, limit: u32) -> PlatformResult<Page<ExportRecord>> {
        let fetch = |n: i64| {
            self.with_conn(|c| {
                c.all(
                    "SELECT s.outcome_seq AS outcome_seq, s.id AS id, \
                     s.assignment_id AS assignment_id, s.item_id AS item_id, \
                     s.opportunity_id AS opportunity_id, s.rubric_id AS rubric_id, \
                     s.expert_id AS expert_id, i.external_id AS external_id, \
                     i.revision AS revision, s.rubric_version AS rubric_version, e.email AS email, \
                     s.answers AS answers, s.active_seconds AS active_seconds, \
                     s.time_log AS time_log, s.client_created_at AS client_created_at, \
                     s.received_at AS received_at, s.status AS status, \
                     o.licence_category AS licence_category, o.buyer AS buyer \
                     FROM submissions s JOIN assignments a ON a.id = s.assignment_id \
                     JOIN items i ON i.id = s.item_id JOIN experts e ON e.id = s.expert_id \
                     JOIN opportunities o ON o.id = s.opportunity_id \
                     WHERE a.kind = 'grade' AND s.outcome_seq > $1 \
                     ORDER BY s.outcome_seq LIMIT $2",
                    args![after_seq, n],
                )
            })
        };
        fetch_page(limit, fetch, std::convert::identity)
    }

    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> PlatformResult<()>,
    ) -> PlatformResult<()> {
        // An error rolls the transaction back.
        self.write(true, |tx| f(&mut InTx(tx)))
    }
}
