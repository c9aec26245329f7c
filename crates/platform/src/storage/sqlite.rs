//! SQLite backend of [`Storage`](super::Storage): WAL journal, numbered
//! migrations (`migrations/sqlite/NNNN_*.sql`, embedded at build time)
//! applied in one transaction and tracked with `PRAGMA user_version`.
//!
//! The queries are [`super::sql`]'s, shared with PostgreSQL; this module
//! implements [`Db`] for a SQLite connection (its parameter marks, how it
//! keeps each [`Arg`]) and [`Columns`] for its rows. Business rules live in
//! [`crate::rules`]; this module only stores.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{params_from_iter, Connection, Row, ToSql, TransactionBehavior};

use super::rows::{parse_ts, ts, Columns, FromRow, ImportedRow};
use super::sql::{Arg, Backend, Db, Scalar};
use crate::error::{Error, PlatformResult};

/// The schema, one numbered file per step; never edit a published one.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_initial.sql"),
    include_str!("../../migrations/sqlite/0002_item_revision.sql"),
    include_str!("../../migrations/sqlite/0003_publishing.sql"),
    include_str!("../../migrations/sqlite/0004_access_indexes.sql"),
];

/// Whether the expert holds a live assignment of an item that has the blob:
/// from the blob's items (by digest) to the expert's assignment of each, in
/// that order (`CROSS JOIN` fixes it; the other order walks all of the
/// expert's assignments).
const BLOB_ACCESS_SQL: &str =
    "SELECT EXISTS (SELECT 1 FROM item_blobs ib INDEXED BY item_blobs_sha \
     CROSS JOIN assignments a INDEXED BY assignments_item_expert_seq \
     ON a.item_id = ib.item_id AND a.expert_id = $2 \
     WHERE ib.sha256 = $1 AND a.state NOT IN ('revoked', 'reassigned', 'released'))";

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

/// How SQLite keeps each parameter: timestamps as RFC 3339 text.
impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Text(v) => v.as_ref().to_sql(),
            Arg::OptText(v) => v.to_sql(),
            Arg::Int(v) => v.to_sql(),
            Arg::Small(v) => v.to_sql(),
            Arg::OptSmall(v) => v.to_sql(),
            Arg::Flag(v) => v.to_sql(),
            Arg::Time(t) => Ok(ToSqlOutput::Owned(Value::Text(ts(*t)))),
        }
    }
}

/// `sql` with SQLite's parameter marks: `?1` for `$1`.
fn marks(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

/// Every row of a query, each mapped by `map`.
fn each_row<T>(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    mut map: impl FnMut(&Row<'_>) -> PlatformResult<T>,
) -> PlatformResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(&marks(sql))?;
    let mut rows = stmt.query(params_from_iter(args))?;
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
    args: &[Arg<'_>],
    map: impl FnOnce(&Row<'_>) -> PlatformResult<T>,
) -> PlatformResult<Option<T>> {
    let mut stmt = conn.prepare_cached(&marks(sql))?;
    let mut rows = stmt.query(params_from_iter(args))?;
    rows.next()?.map(map).transpose()
}

/// A connection, or a transaction through it.
impl Db for Connection {
    fn all<T: FromRow>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Vec<T>> {
        each_row(self, sql, args, |r| T::from_row(r))
    }

    fn one<T: FromRow>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Option<T>> {
        first_row(self, sql, args, |r| T::from_row(r))
    }

    fn scalars<T: Scalar>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Vec<T>> {
        each_row(self, sql, args, |r| Ok(r.get(0)?))
    }

    fn opt_scalar<T: Scalar>(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<Option<T>> {
        first_row(self, sql, args, |r| Ok(r.get(0)?))
    }

    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> PlatformResult<u64> {
        let n = Connection::execute(self, &marks(sql), params_from_iter(args))?;
        Ok(n as u64)
    }

    /// One lookup per external id.
    fn imported_rows(
        &self,
        opportunity_id: &str,
        external_ids: &[String],
    ) -> PlatformResult<Vec<ImportedRow>> {
        let mut out = Vec::new();
        for ext in external_ids {
            out.extend(self.one(
                "SELECT i.id AS id, i.title AS title, i.fields AS fields, \
                 i.revision AS revision, i.external_id AS external_id, \
                 COALESCE(i.rubric_id, o.rubric_id) AS rubric_id, \
                 COALESCE(i.rubric_version, o.rubric_version) AS rubric_version \
                 FROM items i JOIN opportunities o ON o.id = i.opportunity_id \
                 WHERE i.opportunity_id = $1 AND i.external_id = $2",
                &[Arg::from(opportunity_id), Arg::from(ext)],
            )?);
        }
        Ok(out)
    }
}

impl Backend for SqliteStorage {
    const BLOB_ACCESS_SQL: &'static str = BLOB_ACCESS_SQL;
    const PENDING_SQL: &'static str =
        "SELECT s.id AS id, (SELECT a.kind FROM assignments a WHERE a.id = s.assignment_id) \
         AS kind FROM submissions s WHERE s.status = 'pending' AND s.received_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.review_of_submission_id = s.id \
                         AND a.state = 'active') \
         ORDER BY s.outcome_seq";

    type Conn<'a> = Connection;
    type Tx<'a> = Connection;

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> PlatformResult<T>) -> PlatformResult<T> {
        f(&self.lock())
    }

    /// Every transaction is immediate (write-locked): SQLite serialises
    /// them all.
    fn write<T>(
        &self,
        _serialised: bool,
        f: impl FnOnce(&Connection) -> PlatformResult<T>,
    ) -> PlatformResult<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // An error drops `tx`, which rolls everything back.
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
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

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half
        // applied (rusqlite rolls back on drop), so a poisoned lock is safe to reuse.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::super::sql::ITEM_ACCESS_SQL;
    use super::super::Storage;
    use super::*;
    use crate::auth::Role;

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
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", marks(sql)))
            .unwrap();
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
