//! PostgreSQL backend of [`Storage`](super::Storage), for a team: several
//! platform processes share one database. tokio-postgres connections in a
//! deadpool-postgres pool, driven by a small runtime of this backend's own
//! (the storage is blocking; handlers call it from `spawn_blocking`).
//! Numbered migrations (`migrations/postgres/NNNN_*.sql`, embedded at build
//! time) are applied under an advisory lock, so processes starting together
//! migrate once. The queries are [`super::sql`]'s, shared with SQLite; this
//! module implements [`Db`] for a pooled connection or transaction.
//!
//! Write transactions ([`Storage::transaction`](super::Storage::transaction))
//! take one advisory transaction lock first: they run one at a time across
//! all processes, as on SQLite, so the rules of [`crate::rules`] see a
//! stable database, leases stay exclusive and `seq` values commit in
//! increasing order (clients sync by "everything after the last `seq` I
//! saw").

use bytes::BytesMut;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{NoTls, Row};

use super::rows::{Columns, FromRow, ImportedRow};
use super::sql::{Arg, Backend, Db, Scalar};
use crate::error::{Error, PlatformError, PlatformResult};

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

/// How PostgreSQL keeps each parameter: versions as `integer`, timestamps
/// as `timestamptz` ([`PgConn`] refuses an `integer` that does not fit
/// before binding).
impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql_checked(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Arg::Text(v) => v.as_ref().to_sql_checked(ty, out),
            Arg::OptText(v) => v.to_sql_checked(ty, out),
            Arg::Int(v) => v.to_sql_checked(ty, out),
            Arg::Small(v) => i32::try_from(*v)?.to_sql_checked(ty, out),
            Arg::OptSmall(v) => v.map(i32::try_from).transpose()?.to_sql_checked(ty, out),
            Arg::Flag(v) => v.to_sql_checked(ty, out),
            Arg::Time(v) => v.to_sql_checked(ty, out),
        }
    }
}

/// `args` as parameters, once each `integer` is known to fit one.
fn params<'a>(args: &'a [Arg<'_>]) -> PlatformResult<Vec<&'a (dyn ToSql + Sync)>> {
    for arg in args {
        if let Arg::Small(v) | Arg::OptSmall(Some(v)) = arg {
            int4(*v)?;
        }
    }
    Ok(args.iter().map(|a| a as &(dyn ToSql + Sync)).collect())
}

fn first_column<T: Scalar>(r: &Row) -> PlatformResult<T> {
    Ok(r.try_get(0)?)
}

/// A pooled connection or a transaction, driven by the backend's runtime
/// (statements go through the connection's statement cache).
pub(super) struct PgConn<'a, C> {
    rt: &'a tokio::runtime::Runtime,
    client: &'a C,
}

impl<C: GenericClient> PgConn<'_, C> {
    fn rows(&self, sql: &str, params: Params<'_>) -> PlatformResult<Vec<Row>> {
        self.rt.block_on(async {
            let stmt = self.client.prepare_cached(sql).await?;
            Ok(self.client.query(&stmt, params).await?)
        })
    }

    /// The row of a query that returns at most one.
    fn opt_row(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Option<Row>> {
        let params = params(args)?;
        self.rt.block_on(async {
            let stmt = self.client.prepare_cached(sql).await?;
            Ok(self.client.query_opt(&stmt, &params).await?)
        })
    }
}

impl<C: GenericClient> Db for PgConn<'_, C> {
    fn all<T: FromRow>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Vec<T>> {
        self.rows(sql, &params(args)?)?
            .iter()
            .map(T::from_row)
            .collect()
    }

    fn one<T: FromRow>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Option<T>> {
        self.opt_row(sql, args)?
            .as_ref()
            .map(T::from_row)
            .transpose()
    }

    fn scalars<T: Scalar>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Vec<T>> {
        self.rows(sql, &params(args)?)?
            .iter()
            .map(first_column)
            .collect()
    }

    fn opt_scalar<T: Scalar>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Option<T>> {
        self.opt_row(sql, args)?
            .as_ref()
            .map(first_column)
            .transpose()
    }

    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<u64> {
        let params = params(args)?;
        self.rt.block_on(async {
            let stmt = self.client.prepare_cached(sql).await?;
            Ok(self.client.execute(&stmt, &params).await?)
        })
    }

    /// One query for all of them (`= ANY($2)`).
    fn imported_rows(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> PlatformResult<Vec<ImportedRow>> {
        self.rows(
            "SELECT i.id AS id, i.title AS title, i.fields AS fields, \
             i.revision AS revision, i.external_id AS external_id, \
             COALESCE(i.rubric_id, o.rubric_id) AS rubric_id, \
             COALESCE(i.rubric_version, o.rubric_version) AS rubric_version \
             FROM items i JOIN opportunities o ON o.id = i.opportunity_id \
             WHERE i.opportunity_id = $1 AND i.external_id = ANY($2)",
            &[&opportunity_id, &external_ids],
        )?
        .iter()
        .map(ImportedRow::from_row)
        .collect()
    }
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

impl Backend for PostgresStorage {
    const BLOB_ACCESS_SQL: &'static str =
        "SELECT EXISTS (SELECT 1 FROM item_blobs ib JOIN assignments a \
         ON a.item_id = ib.item_id AND a.expert_id = $2 \
         WHERE ib.sha256 = $1 AND a.state NOT IN ('revoked', 'reassigned', 'released'))";
    const PENDING_SQL: &'static str = "SELECT s.id AS id, a.kind AS kind FROM submissions s \
         JOIN assignments a ON a.id = s.assignment_id \
         WHERE s.status = 'pending' AND s.received_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM assignments r \
         WHERE r.review_of_submission_id = s.id AND r.state = 'active') \
         ORDER BY s.outcome_seq";

    type Conn<'a> = PgConn<'a, deadpool_postgres::Object>;
    type Tx<'a> = PgConn<'a, deadpool_postgres::Transaction<'a>>;

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Self::Conn<'_>) -> PlatformResult<T>,
    ) -> PlatformResult<T> {
        let rt = self.runtime()?;
        let client = rt.block_on(self.pool.get())?;
        f(&PgConn {
            rt,
            client: &client,
        })
    }

    /// A serialised transaction takes the advisory write lock first.
    fn write<T>(
        &self,
        serialised: bool,
        f: impl FnOnce(&Self::Tx<'_>) -> PlatformResult<T>,
    ) -> PlatformResult<T> {
        let rt = self.runtime()?;
        let mut client = rt.block_on(self.pool.get())?;
        let tx = rt.block_on(async {
            let tx = client.transaction().await?;
            if serialised {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
                    .await?;
            }
            Ok::<_, PlatformError>(tx)
        })?;
        // An error drops the transaction, which rolls it back.
        let out = f(&PgConn { rt, client: &tx })?;
        rt.block_on(tx.commit())?;
        Ok(out)
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

    /// The runtime driving the pool's connections.
    fn runtime(&self) -> PlatformResult<&tokio::runtime::Runtime> {
        self.runtime
            .as_ref()
            .ok_or_else(|| PlatformError::Corrupt("the storage is closed".into()))
    }

    fn migrate(&self) -> PlatformResult<()> {
        self.runtime()?.block_on(async {
            let mut client = self.pool.get().await?;
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
