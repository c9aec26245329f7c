//! PostgreSQL backend of [`Storage`], for a team: several platform
//! processes share one database. tokio-postgres connections in a
//! deadpool-postgres pool, driven by a small runtime of this backend's own
//! (the [`Storage`] trait is blocking; handlers call it from
//! `spawn_blocking`). Numbered migrations (`migrations/postgres/NNNN_*.sql`,
//! embedded at build time) are applied under an advisory lock, so processes
//! starting together migrate once.
//!
//! Write transactions ([`Storage::transaction`]) take one advisory
//! transaction lock first: they run one at a time across all processes, as
//! on SQLite, so the rules of [`crate::rules`] see a stable database, leases
//! stay exclusive and `seq` values commit in increasing order (clients sync
//! by "everything after the last `seq` I saw").

use std::collections::BTreeMap;
use std::future::Future;

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, ExpertProfile, FieldValue, Item, LedgerEntry,
    LedgerStatus, Opportunity, OutcomeStatus, Payout, Rate, RateCard, ReviewOutcome,
    ReviewedSubmission,
};
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::{FromSqlOwned, ToSql};
use tokio_postgres::{NoTls, Row};

use super::rows::{
    changed, count, enum_str, fetch_page, from_json, no_active_token, no_expert, rubric_published,
    sql_i64, to_json, AccessRow, Columns, ExpertChanges, ExpertRow, FromRow, IdempotencyRow,
    ImportedRow, OpportunityRow, OutcomeRow, PayoutRow, PendingRow, ASSIGNMENT_CHANGES,
    ASSIGNMENT_SELECT, IDEMPOTENCY_SELECT, LEDGER_CHANGES, LEDGER_SELECT, OPPORTUNITY_SELECT,
    OUTCOME_CHANGES, OUTCOME_SELECT, RATE_SELECT, SUBMISSION_VIEW,
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
pub(super) const MIGRATIONS: &[&str] =
    &[include_str!("../../migrations/postgres/0001_initial.sql")];

/// Advisory lock key of migrations.
const MIGRATION_LOCK: i64 = 0x6173_7361_795f_6d67;
/// Advisory lock key of write transactions.
const WRITE_LOCK: i64 = 0x6173_7361_795f_7778;

/// Connections per process.
const POOL_SIZE: usize = 16;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl From<tokio_postgres::Error> for PlatformError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Database(Box::new(e))
    }
}

impl From<deadpool_postgres::PoolError> for PlatformError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Database(Box::new(e))
    }
}

/// An `integer` column value.
fn int4(v: u32) -> PlatformResult<i32> {
    i32::try_from(v).map_err(|_| PlatformError::BadRequest(format!("{v} is too large")))
}

impl Columns for Row {
    fn text(&self, name: &str) -> PlatformResult<String> {
        Ok(self.try_get(name)?)
    }

    fn opt_text(&self, name: &str) -> PlatformResult<Option<String>> {
        Ok(self.try_get(name)?)
    }

    fn int(&self, name: &str) -> PlatformResult<i64> {
        match self.try_get::<_, i64>(name) {
            Ok(v) => Ok(v),
            Err(_) => Ok(i64::from(self.try_get::<_, i32>(name)?)),
        }
    }

    fn flag(&self, name: &str) -> PlatformResult<bool> {
        Ok(self.try_get(name)?)
    }

    fn time(&self, name: &str) -> PlatformResult<DateTime<Utc>> {
        Ok(self.try_get(name)?)
    }

    fn opt_time(&self, name: &str) -> PlatformResult<Option<DateTime<Utc>>> {
        Ok(self.try_get(name)?)
    }
}

/// Every row of a query (prepared through the connection's statement
/// cache), each mapped by `map`.
async fn each_row<T, C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
    mut map: impl FnMut(&Row) -> PlatformResult<T>,
) -> PlatformResult<Vec<T>> {
    let stmt = c.prepare_cached(sql).await?;
    c.query(&stmt, params).await?.iter().map(&mut map).collect()
}

/// The row of a query that returns at most one, mapped by `map`.
async fn first_row<T, C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
    map: impl FnOnce(&Row) -> PlatformResult<T>,
) -> PlatformResult<Option<T>> {
    let stmt = c.prepare_cached(sql).await?;
    c.query_opt(&stmt, params)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

fn first_column<T: FromSqlOwned>(r: &Row) -> PlatformResult<T> {
    Ok(r.try_get(0)?)
}

/// Typed queries on a pooled connection or a transaction: rows become
/// [`FromRow`] records, or the value of their first column.
trait Query: GenericClient + Sized {
    /// Every row of a query, mapped.
    async fn all<T: FromRow>(&self, sql: &str, params: Params<'_>) -> PlatformResult<Vec<T>> {
        each_row(self, sql, params, T::from_row).await
    }

    /// The row of a query, if any, mapped.
    async fn one<T: FromRow>(&self, sql: &str, params: Params<'_>) -> PlatformResult<Option<T>> {
        first_row(self, sql, params, T::from_row).await
    }

    /// The first column of every row.
    async fn scalars<T: FromSqlOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> PlatformResult<Vec<T>> {
        each_row(self, sql, params, first_column).await
    }

    /// The first column of the row, if any.
    async fn opt_scalar<T: FromSqlOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> PlatformResult<Option<T>> {
        first_row(self, sql, params, first_column).await
    }

    /// A single value of a query that always returns one row (`COUNT`, `EXISTS`...).
    async fn scalar<T: FromSqlOwned>(&self, sql: &str, params: Params<'_>) -> PlatformResult<T> {
        self.opt_scalar(sql, params)
            .await?
            .ok_or_else(|| PlatformError::Corrupt(format!("no row from {sql}")))
    }
}

impl<C: GenericClient> Query for C {}

async fn execute<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> PlatformResult<u64> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, params).await?)
}

/// PostgreSQL-backed storage.
pub struct PostgresStorage {
    pool: Pool,
    /// Drives the pool's connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside async code;
        // shutting it down in the background is allowed anywhere.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl PostgresStorage {
    /// Connect to the database at `url` (`postgres://user@host:port/db`,
    /// or with `?host=/socket/dir`) and migrate it. Blocking.
    pub fn connect(url: &str) -> Result<Self, Error> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::Postgres(format!("bad PostgreSQL URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("assay-postgres")
            .enable_all()
            .build()?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Postgres(format!("connection pool: {e}")))?;
        let storage = Self {
            pool,
            runtime: Some(runtime),
        };
        storage.migrate().map_err(|e| match e {
            PlatformError::Database(e) => Error::Postgres(e.to_string()),
            other => Error::Store(other),
        })?;
        Ok(storage)
    }

    /// Create the database `name` (letters, digits, `_`) on the server
    /// `server_url` names; returns the URL of the new database. Blocking.
    /// Tests use it for a fresh database each.
    pub fn create_database(server_url: &str, name: &str) -> Result<String, Error> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::Postgres(format!("bad database name {name:?}")));
        }
        let config: tokio_postgres::Config = server_url
            .parse()
            .map_err(|e| Error::Postgres(format!("bad PostgreSQL URL: {e}")))?;
        let mut url = url::Url::parse(server_url)
            .map_err(|e| Error::Postgres(format!("bad PostgreSQL URL: {e}")))?;
        url.set_path(&format!("/{name}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let (client, connection) = config.connect(NoTls).await?;
            let driver = tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await?;
            drop(client);
            let _ = driver.await;
            Ok::<_, tokio_postgres::Error>(())
        })
        .map_err(|e| Error::Postgres(format!("creating database {name}: {e}")))?;
        Ok(url.to_string())
    }

    fn block_on<F: Future>(&self, f: F) -> PlatformResult<F::Output> {
        match &self.runtime {
            Some(rt) => Ok(rt.block_on(f)),
            None => Err(PlatformError::Corrupt("the storage is closed".into())),
        }
    }

    /// Run `f` with a pooled connection.
    fn with_client<T, F>(&self, f: impl FnOnce(deadpool_postgres::Object) -> F) -> PlatformResult<T>
    where
        F: Future<Output = PlatformResult<T>>,
    {
        self.block_on(async {
            let client = self.pool.get().await?;
            f(client).await
        })?
    }

    /// [`all`] on a pooled connection.
    fn all<T: FromRow>(&self, sql: &str, params: Params<'_>) -> PlatformResult<Vec<T>> {
        self.with_client(|c| async move { c.all(sql, params).await })
    }

    /// [`one`] on a pooled connection.
    fn one<T: FromRow>(&self, sql: &str, params: Params<'_>) -> PlatformResult<Option<T>> {
        self.with_client(|c| async move { c.one(sql, params).await })
    }

    /// [`scalars`] on a pooled connection.
    fn scalars<T: FromSqlOwned>(&self, sql: &str, params: Params<'_>) -> PlatformResult<Vec<T>> {
        self.with_client(|c| async move { c.scalars(sql, params).await })
    }

    /// [`opt_scalar`] on a pooled connection.
    fn opt_scalar<T: FromSqlOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> PlatformResult<Option<T>> {
        self.with_client(|c| async move { c.opt_scalar(sql, params).await })
    }

    /// [`scalar`] on a pooled connection.
    fn scalar<T: FromSqlOwned>(&self, sql: &str, params: Params<'_>) -> PlatformResult<T> {
        self.with_client(|c| async move { c.scalar(sql, params).await })
    }

    /// [`execute`] on a pooled connection: the number of rows changed.
    fn execute(&self, sql: &str, params: Params<'_>) -> PlatformResult<u64> {
        self.with_client(|c| async move { execute(&c, sql, params).await })
    }

    /// A page of the expert's `changes` after the cursor `after_seq`.
    fn expert_page<R: FromRow, T>(
        &self,
        changes: &ExpertChanges<R, T>,
        expert_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> PlatformResult<Page<T>> {
        let sql = changes.sql('$');
        changes.page(limit, |n| self.all(&sql, &[&expert_id, &after_seq, &n]))
    }

    fn migrate(&self) -> PlatformResult<()> {
        self.with_client(|mut client| async move {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS assay_schema (version INTEGER NOT NULL); \
                 INSERT INTO assay_schema (version) SELECT 0 \
                 WHERE NOT EXISTS (SELECT 1 FROM assay_schema)",
            )
            .await?;
            let version: i32 = tx
                .query_one("SELECT version FROM assay_schema", &[])
                .await?
                .try_get(0)?;
            let supported = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
            if version > supported {
                return Err(PlatformError::Conflict(format!(
                    "database schema version {version} is newer than this build supports ({supported})"
                )));
            }
            for (i, sql) in MIGRATIONS
                .iter()
                .enumerate()
                .skip(usize::try_from(version).unwrap_or(0))
            {
                tx.batch_execute(sql).await?;
                tracing::info!(migration = i + 1, "applied database migration");
            }
            tx.execute("UPDATE assay_schema SET version = $1", &[&supported])
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

/// The [`Tx`] of this backend: a transaction holding the write lock.
struct PgTx<'a> {
    rt: &'a tokio::runtime::Runtime,
    tx: deadpool_postgres::Transaction<'a>,
}

impl PgTx<'_> {
    fn run<T>(&self, f: impl Future<Output = PlatformResult<T>>) -> PlatformResult<T> {
        self.rt.block_on(f)
    }

    /// [`execute`] in the transaction: the number of rows changed.
    fn execute(&self, sql: &str, params: Params<'_>) -> PlatformResult<u64> {
        self.run(execute(&self.tx, sql, params))
    }

    fn next_seq(&self) -> PlatformResult<i64> {
        self.run(self.tx.scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value",
            &[],
        ))
    }
}

impl Tx for PgTx<'_> {
    fn idempotency_record(
        &mut self,
        expert_id: &str,
        endpoint: &str,
        key: &str,
    ) -> PlatformResult<Option<(String, serde_json::Value)>> {
        Ok(self
            .run(self.tx.one::<IdempotencyRow>(
                &format!(
                    "{IDEMPOTENCY_SELECT} WHERE expert_id = $1 AND endpoint = $2 AND key = $3"
                ),
                &[&expert_id, &endpoint, &key],
            ))?
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
        let response = to_json(response)?;
        self.execute(
            "INSERT INTO idempotency (expert_id, endpoint, key, request_hash, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&expert_id, &endpoint, &key, &request_hash, &response, &now],
        )?;
        Ok(())
    }

    fn expert_exists(&mut self, expert_id: &str) -> PlatformResult<bool> {
        self.run(self.tx.scalar(
            "SELECT EXISTS (SELECT 1 FROM experts WHERE id = $1)",
            &[&expert_id],
        ))
    }

    fn item_grading(&mut self, item_id: &str) -> PlatformResult<Option<ItemGrading>> {
        self.run(self.tx.one(
            "SELECT o.id AS opportunity_id, COALESCE(i.rubric_id, o.rubric_id) AS rubric_id, \
             COALESCE(i.rubric_version, o.rubric_version) AS rubric_version FROM items i \
             JOIN opportunities o ON o.id = i.opportunity_id WHERE i.id = $1",
            &[&item_id],
        ))
    }

    fn item_content(&mut self, item_id: &str) -> PlatformResult<Option<ItemContent>> {
        self.run(self.tx.one(
            "SELECT title, fields, revision FROM items WHERE id = $1",
            &[&item_id],
        ))
    }

    fn insert_item(&mut self, item: &Item, import: Option<&ImportKey<'_>>) -> PlatformResult<bool> {
        let fields = to_json(&item.fields)?;
        let external_id = import.map(|k| k.external_id);
        let rubric_id = import.map(|k| k.rubric_id);
        let rubric_version = import.map(|k| int4(k.rubric_version)).transpose()?;
        let n = self.execute(
            "INSERT INTO items (id, opportunity_id, title, fields, created_at, \
             external_id, rubric_id, rubric_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &item.id,
                &item.opportunity_id,
                &item.title,
                &fields,
                &item.created_at,
                &external_id,
                &rubric_id,
                &rubric_version,
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
        let fields = to_json(fields)?;
        let expected = int4(expected_revision)?;
        let revision: Option<i32> = self.run(self.tx.opt_scalar(
            "UPDATE items SET title = $1, fields = $2, revision = revision + 1 \
             WHERE id = $3 AND revision = $4 RETURNING revision",
            &[&title, &fields, &item_id, &expected],
        ))?;
        revision
            .map(|r| {
                u32::try_from(r).map_err(|_| PlatformError::Corrupt("negative revision".into()))
            })
            .transpose()
    }

    fn blob_exists(&mut self, sha256: &str) -> PlatformResult<bool> {
        self.run(self.tx.scalar(
            "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)",
            &[&sha256],
        ))
    }

    fn link_blob(&mut self, item_id: &str, sha256: &str) -> PlatformResult<()> {
        self.execute(
            "INSERT INTO item_blobs (item_id, sha256) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&item_id, &sha256],
        )?;
        Ok(())
    }

    fn assignment(&mut self, id: &str) -> PlatformResult<Option<AssignmentRecord>> {
        self.run(
            self.tx
                .one(&format!("{ASSIGNMENT_SELECT} WHERE id = $1"), &[&id]),
        )
    }

    fn insert_assignment(
        &mut self,
        n: &NewAssignment,
        grading: &ItemGrading,
    ) -> PlatformResult<()> {
        let kind = enum_str(&n.kind)?;
        let version = int4(grading.rubric_version)?;
        let seq = self.next_seq()?;
        self.execute(
            "INSERT INTO assignments (id, expert_id, item_id, opportunity_id, rubric_id, \
             rubric_version, kind, state, assigned_at, lease_expires_at, due_at, \
             review_of_submission_id, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11, $12)",
            &[
                &n.id,
                &n.expert_id,
                &n.item_id,
                &grading.opportunity_id,
                &grading.rubric_id,
                &version,
                &kind,
                &n.assigned_at,
                &n.lease_expires_at,
                &n.due_at,
                &n.review_of_submission_id,
                &seq,
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
        let state = enum_str(&state)?;
        let seq = self.next_seq()?;
        self.execute(
            "UPDATE assignments SET state = $1, lease_expires_at = $2, due_at = $3, seq = $4 \
             WHERE id = $5",
            &[&state, &lease_expires_at, &due_at, &seq, &id],
        )?;
        Ok(())
    }

    fn touch_assignment(&mut self, id: &str) -> PlatformResult<()> {
        let seq = self.next_seq()?;
        self.execute(
            "UPDATE assignments SET seq = $1 WHERE id = $2",
            &[&seq, &id],
        )?;
        Ok(())
    }

    fn item_assignments(&mut self, item_id: &str) -> PlatformResult<Vec<AssignmentRecord>> {
        self.run(self.tx.all(
            &format!("{ASSIGNMENT_SELECT} WHERE item_id = $1 ORDER BY seq"),
            &[&item_id],
        ))
    }

    fn review_assignments(&mut self, submission_id: &str) -> PlatformResult<Vec<AssignmentRecord>> {
        self.run(self.tx.all(
            &format!("{ASSIGNMENT_SELECT} WHERE review_of_submission_id = $1 ORDER BY seq"),
            &[&submission_id],
        ))
    }

    fn assignments_leased_until(
        &mut self,
        expert_id: &str,
        state: AssignmentState,
        before: DateTime<Utc>,
        inclusive: bool,
    ) -> PlatformResult<Vec<AssignmentRecord>> {
        let op = if inclusive { "<=" } else { "<" };
        let state = enum_str(&state)?;
        self.run(self.tx.all(
            &format!(
                "{ASSIGNMENT_SELECT} WHERE expert_id = $1 AND state = $2 \
                 AND lease_expires_at {op} $3 ORDER BY seq"
            ),
            &[&expert_id, &state, &before],
        ))
    }

    fn insert_submission(&mut self, n: &NewSubmission<'_>) -> PlatformResult<()> {
        let a = n.assignment;
        let version = int4(a.rubric_version)?;
        let answers = to_json(&n.request.answers)?;
        let secs = sql_i64(n.request.active_seconds);
        let log = to_json(&n.request.time_log)?;
        let status = enum_str(&n.status)?;
        let seq = self.next_seq()?;
        self.execute(
            "INSERT INTO submissions (id, assignment_id, expert_id, item_id, opportunity_id, \
             rubric_id, rubric_version, answers, active_seconds, time_log, client_created_at, \
             received_at, status, outcome_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &n.id,
                &a.id,
                &n.expert_id,
                &a.item_id,
                &a.opportunity_id,
                &a.rubric_id,
                &version,
                &answers,
                &secs,
                &log,
                &n.request.client_created_at,
                &n.received_at,
                &status,
                &seq,
            ],
        )?;
        Ok(())
    }

    fn insert_review(&mut self, n: &NewReview<'_>) -> PlatformResult<()> {
        let decision = enum_str(&n.request.decision)?;
        let secs = sql_i64(n.request.active_seconds);
        self.execute(
            "INSERT INTO reviews (id, assignment_id, reviewer_id, submission_id, decision, \
             feedback, active_seconds, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &n.id,
                &n.assignment_id,
                &n.reviewer_id,
                &n.request.submission_id,
                &decision,
                &n.request.feedback,
                &secs,
                &n.received_at,
            ],
        )?;
        Ok(())
    }

    fn outcome(&mut self, submission_id: &str) -> PlatformResult<Option<(String, ReviewOutcome)>> {
        Ok(self
            .run(self.tx.one::<OutcomeRow>(
                &format!("{OUTCOME_SELECT} WHERE id = $1"),
                &[&submission_id],
            ))?
            .map(|r| (r.author, r.outcome)))
    }

    fn set_outcome(
        &mut self,
        submission_id: &str,
        status: OutcomeStatus,
        feedback: Option<&str>,
        decided_at: DateTime<Utc>,
    ) -> PlatformResult<()> {
        let status = enum_str(&status)?;
        let seq = self.next_seq()?;
        self.execute(
            "UPDATE submissions SET status = $1, feedback = $2, decided_at = $3, \
             outcome_seq = $4 WHERE id = $5",
            &[&status, &feedback, &decided_at, &seq, &submission_id],
        )?;
        Ok(())
    }

    fn rate_at(&mut self, opportunity_id: &str, at: DateTime<Utc>) -> PlatformResult<Option<Rate>> {
        self.run(self.tx.one(
            &format!(
                "{RATE_SELECT} WHERE opportunity_id = $1 AND effective_from <= $2 \
                 ORDER BY effective_from DESC LIMIT 1"
            ),
            &[&opportunity_id, &at],
        ))
    }

    fn insert_ledger_entry(&mut self, n: &NewLedgerEntry<'_>) -> PlatformResult<()> {
        let a = n.assignment;
        let id = new_id("led");
        let status = enum_str(&n.status)?;
        let seq = self.next_seq()?;
        self.execute(
            "INSERT INTO ledger (id, expert_id, submission_id, assignment_id, item_id, \
             opportunity_id, amount_cents, currency, status, created_at, updated_at, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
            &[
                &id,
                &n.expert_id,
                &n.submission_id,
                &a.id,
                &a.item_id,
                &a.opportunity_id,
                &n.amount_cents,
                &n.currency,
                &status,
                &n.now,
                &seq,
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
        let status = enum_str(&status)?;
        self.run(self.tx.all(
            &format!(
                "{LEDGER_SELECT} WHERE expert_id = $1 AND status = $2 \
                 AND ($3::text IS NULL OR submission_id = $3) \
                 AND (NOT $4::boolean OR payout_id IS NULL) ORDER BY seq"
            ),
            &[&expert_id, &status, &submission_id, &unpaid],
        ))
    }

    fn update_ledger_entry(
        &mut self,
        id: &str,
        status: LedgerStatus,
        payout_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> PlatformResult<()> {
        let status = enum_str(&status)?;
        let seq = self.next_seq()?;
        self.execute(
            "UPDATE ledger SET status = $1, payout_id = COALESCE($2, payout_id), \
             updated_at = $3, seq = $4 WHERE id = $5",
            &[&status, &payout_id, &now, &seq, &id],
        )?;
        Ok(())
    }

    fn insert_payout(&mut self, expert_id: &str, p: &Payout) -> PlatformResult<()> {
        self.execute(
            "INSERT INTO payouts (id, expert_id, amount_cents, currency, paid_at, method) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &p.id,
                &expert_id,
                &p.amount_cents,
                &p.currency,
                &p.paid_at,
                &p.method,
            ],
        )?;
        Ok(())
    }
}

async fn insert_rate<C: GenericClient>(
    c: &C,
    opportunity_id: &str,
    r: &Rate,
) -> PlatformResult<()> {
    let basis = enum_str(&r.basis)?;
    execute(
        c,
        "INSERT INTO rates (opportunity_id, basis, amount_cents, currency, effective_from) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &opportunity_id,
            &basis,
            &r.amount_cents,
            &r.currency,
            &r.effective_from,
        ],
    )
    .await?;
    Ok(())
}

impl Storage for PostgresStorage {
    fn insert_expert(&self, e: &NewExpert, now: DateTime<Utc>) -> PlatformResult<()> {
        let email = e.email.to_lowercase();
        let expertise = to_json(&e.expertise)?;
        let attestations = to_json(&e.attestations)?;
        self.execute(
            "INSERT INTO experts (id, email, display_name, password_salt, password_hash, \
             expertise, attestations, senior_reviewer, timezone, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &e.id,
                &email,
                &e.display_name,
                &e.salt,
                &e.password_hash,
                &expertise,
                &attestations,
                &e.senior_reviewer,
                &e.timezone,
                &now,
            ],
        )?;
        Ok(())
    }

    fn expert_credentials(&self, email: &str) -> PlatformResult<Option<ExpertCredentials>> {
        let email = email.to_lowercase();
        self.one(
            "SELECT id, password_salt, password_hash FROM experts WHERE email = $1",
            &[&email],
        )
    }

    fn expert_id_by_email(&self, email: &str) -> PlatformResult<Option<String>> {
        let email = email.to_lowercase();
        self.opt_scalar("SELECT id FROM experts WHERE email = $1", &[&email])
    }

    fn expert_profile(&self, expert_id: &str) -> PlatformResult<ExpertProfile> {
        self.one("SELECT * FROM experts WHERE id = $1", &[&expert_id])?
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
        self.execute(
            "INSERT INTO tokens (id, expert_id, token_hash, label, created_at, role) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &token_id,
                &expert_id,
                &token_hash,
                &label,
                &now,
                &role.as_str(),
            ],
        )?;
        Ok(())
    }

    fn token_by_hash(&self, token_hash: &str) -> PlatformResult<Option<TokenRecord>> {
        self.one(
            "SELECT id, expert_id, revoked_at IS NOT NULL AS revoked, role FROM tokens \
             WHERE token_hash = $1",
            &[&token_hash],
        )
    }

    fn revoke_token(&self, token_id: &str, now: DateTime<Utc>) -> PlatformResult<()> {
        let n = self.execute(
            "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&now, &token_id],
        )?;
        changed(n > 0, || no_active_token(token_id))
    }

    fn insert_opportunity(
        &self,
        o: &Opportunity,
        rubric_document: &serde_json::Value,
        rates: &[Rate],
    ) -> PlatformResult<()> {
        let doc = to_json(rubric_document)?;
        let version = int4(o.rubric_version)?;
        self.with_client(|mut c| async move {
            let tx = c.transaction().await?;
            execute(
                &tx,
                "INSERT INTO rubrics (id, version, document) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&o.rubric_id, &version, &doc],
            )
            .await?;
            execute(
                &tx,
                "INSERT INTO opportunities (id, title, description, rubric_id, rubric_version, \
                 licence_category, buyer) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &o.id,
                    &o.title,
                    &o.description,
                    &o.rubric_id,
                    &version,
                    &o.licence_category,
                    &o.buyer,
                ],
            )
            .await?;
            for r in rates {
                insert_rate(&tx, &r.opportunity_id, r).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn list_opportunities(&self) -> PlatformResult<Vec<Opportunity>> {
        self.all(&format!("{OPPORTUNITY_SELECT} ORDER BY id"), &[])
    }

    fn rubric_document(&self, id: &str, version: u32) -> PlatformResult<Option<serde_json::Value>> {
        let v = int4(version)?;
        self.opt_scalar::<String>(
            "SELECT document FROM rubrics WHERE id = $1 AND version = $2",
            &[&id, &v],
        )?
        .as_deref()
        .map(from_json)
        .transpose()
    }

    fn rate_card(&self) -> PlatformResult<RateCard> {
        let rates = self.all(
            &format!("{RATE_SELECT} ORDER BY opportunity_id, effective_from"),
            &[],
        )?;
        Ok(RateCard { rates })
    }

    fn insert_blob_meta(&self, meta: &BlobMeta) -> PlatformResult<()> {
        let size = sql_i64(meta.size);
        self.execute(
            "INSERT INTO blobs (sha256, size, media_type) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[&meta.sha256, &size, &meta.media_type],
        )?;
        Ok(())
    }

    fn blob_meta(&self, sha256: &str) -> PlatformResult<Option<BlobMeta>> {
        self.one(
            "SELECT sha256, size, media_type FROM blobs WHERE sha256 = $1",
            &[&sha256],
        )
    }

    fn expert_can_read_blob(&self, expert_id: &str, sha256: &str) -> PlatformResult<bool> {
        self.scalar(
            "SELECT EXISTS (SELECT 1 FROM item_blobs ib JOIN assignments a \
             ON a.item_id = ib.item_id AND a.expert_id = $2 \
             WHERE ib.sha256 = $1 AND a.state NOT IN ('revoked', 'reassigned', 'released'))",
            &[&sha256, &expert_id],
        )
    }

    fn item(&self, item_id: &str) -> PlatformResult<Option<Item>> {
        self.one(
            "SELECT id, opportunity_id, title, fields, created_at FROM items WHERE id = $1",
            &[&item_id],
        )
    }

    fn live_assignment_of_item(
        &self,
        expert_id: &str,
        item_id: &str,
    ) -> PlatformResult<Option<ItemAccess>> {
        Ok(self
            .one::<AccessRow>(
                "SELECT kind, review_of_submission_id, id FROM assignments \
                 WHERE item_id = $1 AND expert_id = $2 \
                 AND state NOT IN ('revoked', 'reassigned', 'released') \
                 ORDER BY seq DESC LIMIT 1",
                &[&item_id, &expert_id],
            )?
            .map(AccessRow::into_access))
    }

    fn submission_view(&self, submission_id: &str) -> PlatformResult<Option<ReviewedSubmission>> {
        self.one(
            &format!("{SUBMISSION_VIEW} WHERE id = $1"),
            &[&submission_id],
        )
    }

    fn latest_submission(
        &self,
        assignment_id: &str,
        expert_id: &str,
    ) -> PlatformResult<Option<ReviewedSubmission>> {
        self.one(
            &format!(
                "{SUBMISSION_VIEW} WHERE assignment_id = $1 AND expert_id = $2 \
                 ORDER BY received_at DESC, outcome_seq DESC LIMIT 1"
            ),
            &[&assignment_id, &expert_id],
        )
    }

    fn assignment_record(&self, id: &str) -> PlatformResult<Option<AssignmentRecord>> {
        self.one(&format!("{ASSIGNMENT_SELECT} WHERE id = $1"), &[&id])
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
        let rows: Vec<PendingRow> = self.all(
            "SELECT s.id AS id, a.kind AS kind FROM submissions s \
             JOIN assignments a ON a.id = s.assignment_id \
             WHERE s.status = 'pending' AND s.received_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM assignments r \
             WHERE r.review_of_submission_id = s.id AND r.state = 'active') \
             ORDER BY s.outcome_seq",
            &[&cutoff],
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
        self.with_client(|c| async move {
            let rows: Vec<PayoutRow> = c
                .all(
                    "SELECT id, amount_cents, currency, paid_at, method FROM payouts \
                 WHERE expert_id = $1 ORDER BY paid_at, id",
                    &[&expert_id],
                )
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for PayoutRow(mut p) in rows {
                p.entry_ids = c
                    .scalars(
                        "SELECT id FROM ledger WHERE payout_id = $1 ORDER BY seq",
                        &[&p.id],
                    )
                    .await?;
                out.push(p);
            }
            Ok(out)
        })
    }

    fn experts_with_payable_entries(&self) -> PlatformResult<Vec<String>> {
        self.scalars(
            "SELECT DISTINCT expert_id FROM ledger WHERE status = 'accepted' \
             AND payout_id IS NULL ORDER BY expert_id",
            &[],
        )
    }

    fn list_experts(&self) -> PlatformResult<Vec<(ExpertProfile, Role)>> {
        let rows: Vec<ExpertRow> = self.all("SELECT * FROM experts ORDER BY id", &[])?;
        Ok(rows.into_iter().map(|ExpertRow(p, r)| (p, r)).collect())
    }

    fn set_expert_role(&self, expert_id: &str, role: Role) -> PlatformResult<()> {
        let n = self.execute(
            "UPDATE experts SET role = $1 WHERE id = $2",
            &[&role.as_str(), &expert_id],
        )?;
        changed(n > 0, || no_expert(expert_id))
    }

    fn experts_passed_screening(&self, opportunity_id: &str) -> PlatformResult<Vec<String>> {
        self.scalars(
            "SELECT DISTINCT s.expert_id FROM submissions s \
             JOIN assignments a ON a.id = s.assignment_id \
             WHERE a.kind = 'screening' AND s.opportunity_id = $1 AND s.status = 'accepted' \
             ORDER BY s.expert_id",
            &[&opportunity_id],
        )
    }

    fn screening_holders(&self, opportunity_id: &str) -> PlatformResult<Vec<String>> {
        self.scalars(
            "SELECT DISTINCT expert_id FROM assignments WHERE opportunity_id = $1 \
             AND kind = 'screening' AND state IN ('active', 'completed') ORDER BY expert_id",
            &[&opportunity_id],
        )
    }

    fn latest_rubric_version(&self, id: &str) -> PlatformResult<Option<u32>> {
        let v: Option<i32> =
            self.scalar("SELECT MAX(version) FROM rubrics WHERE id = $1", &[&id])?;
        v.map(|v| u32::try_from(v).map_err(|_| PlatformError::Corrupt("negative version".into())))
            .transpose()
    }

    fn insert_rubric(
        &self,
        id: &str,
        version: u32,
        document: &serde_json::Value,
    ) -> PlatformResult<()> {
        let v = int4(version)?;
        let doc = to_json(document)?;
        let n = self.execute(
            "INSERT INTO rubrics (id, version, document) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[&id, &v, &doc],
        )?;
        changed(n > 0, || rubric_published(id, version))
    }

    fn opportunity(
        &self,
        id: &str,
    ) -> PlatformResult<Option<(Opportunity, Option<serde_json::Value>)>> {
        Ok(self
            .one::<OpportunityRow>("SELECT * FROM opportunities WHERE id = $1", &[&id])?
            .map(|OpportunityRow(o, spec)| (o, spec)))
    }

    fn put_opportunity(
        &self,
        o: &Opportunity,
        spec: &serde_json::Value,
        new_rate: Option<&Rate>,
    ) -> PlatformResult<bool> {
        let spec = to_json(spec)?;
        let version = int4(o.rubric_version)?;
        self.with_client(|mut c| async move {
            let tx = c.transaction().await?;
            let existed: bool = tx
                .scalar(
                    "SELECT EXISTS (SELECT 1 FROM opportunities WHERE id = $1)",
                    &[&o.id],
                )
                .await?;
            execute(
                &tx,
                "INSERT INTO opportunities (id, title, description, rubric_id, rubric_version, \
                 licence_category, buyer, spec) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
                 description = excluded.description, rubric_id = excluded.rubric_id, \
                 rubric_version = excluded.rubric_version, \
                 licence_category = excluded.licence_category, buyer = excluded.buyer, \
                 spec = excluded.spec",
                &[
                    &o.id,
                    &o.title,
                    &o.description,
                    &o.rubric_id,
                    &version,
                    &o.licence_category,
                    &o.buyer,
                    &spec,
                ],
            )
            .await?;
            if let Some(r) = new_rate {
                insert_rate(&tx, &o.id, r).await?;
            }
            tx.commit().await?;
            Ok(!existed)
        })
    }

    fn imported_items(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> PlatformResult<BTreeMap<String, ImportedItem>> {
        let rows: Vec<ImportedRow> = self.all(
            "SELECT i.id AS id, i.title AS title, i.fields AS fields, \
             i.revision AS revision, i.external_id AS external_id, \
             COALESCE(i.rubric_id, o.rubric_id) AS rubric_id, \
             COALESCE(i.rubric_version, o.rubric_version) AS rubric_version \
             FROM items i JOIN opportunities o ON o.id = i.opportunity_id \
             WHERE i.opportunity_id = $1 AND i.external_id = ANY($2)",
            &[&opportunity_id, &external_ids],
        )?;
        Ok(rows
            .into_iter()
            .map(|ImportedRow(ext, item)| (ext, item))
            .collect())
    }

    fn grader_coverage(&self, opportunity_id: &str) -> PlatformResult<Vec<(String, Vec<String>)>> {
        self.with_client(|c| async move {
            let items: Vec<String> = c
                .scalars(
                    "SELECT id FROM items WHERE opportunity_id = $1 ORDER BY created_at, id",
                    &[&opportunity_id],
                )
                .await?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let experts = c
                    .scalars(
                        "SELECT DISTINCT expert_id FROM assignments WHERE item_id = $1 \
                     AND kind = 'grade' AND state IN ('active', 'completed') ORDER BY expert_id",
                        &[&item],
                    )
                    .await?;
                out.push((item, experts));
            }
            Ok(out)
        })
    }

    fn count_assignments(&self, opportunity_id: &str, kind: AssignmentKind) -> PlatformResult<u64> {
        let kind = enum_str(&kind)?;
        let n: i64 = self.scalar(
            "SELECT COUNT(*) FROM assignments WHERE opportunity_id = $1 AND kind = $2",
            &[&opportunity_id, &kind],
        )?;
        Ok(count(n))
    }

    fn count_grade_submissions(&self, opportunity_id: &str) -> PlatformResult<u64> {
        let n: i64 = self.scalar(
            "SELECT COUNT(*) FROM submissions s JOIN assignments a ON a.id = s.assignment_id \
             WHERE s.opportunity_id = $1 AND a.kind = 'grade'",
            &[&opportunity_id],
        )?;
        Ok(count(n))
    }

    fn export_submissions(&self, after_seq: i64, limit: u32) -> PlatformResult<Page<ExportRecord>> {
        let fetch = |n: i64| {
            self.all(
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
                &[&after_seq, &n],
            )
        };
        fetch_page(limit, fetch, std::convert::identity)
    }

    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> PlatformResult<()>,
    ) -> PlatformResult<()> {
        let Some(rt) = &self.runtime else {
            return Err(PlatformError::Corrupt("the storage is closed".into()));
        };
        let mut client = rt.block_on(self.pool.get())?;
        let tx = rt.block_on(async {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
                .await?;
            Ok::<_, PlatformError>(tx)
        })?;
        let mut ptx = PgTx { rt, tx };
        // An error drops the transaction, which rolls it back.
        f(&mut ptx)?;
        rt.block_on(ptx.tx.commit())?;
        Ok(())
    }
}
