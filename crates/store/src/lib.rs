//! Offline store (rusqlite): migrations, items, drafts, outbox, ledger, blobs.
//!
//! One SQLite database (`assay.db`, WAL, `synchronous=FULL`) plus a
//! content-addressed blob directory under the data directory. Every write that
//! matters to the reviewer (draft save, submit, outbox transitions) is one
//! transaction that is durable when the call returns.
//!
//! The store only ever holds *scoped* items: the sync engine removes fields the
//! rubric hides before calling [`Store::put_scoped_item`].

mod blobs;
mod corrections;
mod drafts;
mod error;
pub mod heap;
mod items;
mod leases;
mod money;
mod outbox;
mod packed;
mod quarantine;
pub(crate) mod queue_index;
mod schema;
mod sync_state;
mod time;
mod types;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;

pub use blobs::{validate_digest, BlobStore, PartDigest};
pub use corrections::{time_span_problem, MAX_TIME_SPAN_S};
pub use error::{Result, StoreError};
pub use items::ScopedItemWrite;
pub use queue_index::{QueueGroupCount, QueueQuery, QueueSort, QueueWindow};
pub use schema::SCHEMA_VERSION;
pub use time::covered_seconds;
pub use types::*;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "assay.db";

/// Page cache of a session's reads (KiB; SQLite's default).
const IDLE_CACHE_KIB: i64 = 2_000;
/// Page cache while a pull writes (KiB).
const BULK_CACHE_KIB: i64 = 16_384;

/// Names of the sync cursors kept by the store.
pub mod cursor {
    /// Cursor of `GET /assignments`.
    pub const ASSIGNMENTS: &str = "assignments";
    /// Cursor of `GET /outcomes`.
    pub const OUTCOMES: &str = "outcomes";
    /// Cursor of `GET /ledger`.
    pub const LEDGER: &str = "ledger";
}

/// The offline store. Cheap to share behind an `Arc`; calls are short and
/// serialised on one connection.
pub struct Store {
    conn: Mutex<Connection>,
    /// Between [`Store::bulk_cache`] and [`Store::release_memory`]: a pull
    /// is writing, and its page cache is not given back while idle.
    bulk: AtomicBool,
    blobs: BlobStore,
    dir: PathBuf,
    queue_counts: queue_index::CountsCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Open (creating if needed) the store in `dir`, applying migrations.
    ///
    /// Fails with [`StoreError::NewerSchema`] for a database written by a newer
    /// Assay, without modifying it.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let path = dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Check the version before anything writes to the file.
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Statement journals (each statement of a multi-statement transaction
        // keeps the pages it changes, to undo just that statement) in memory,
        // not in a temporary file: storing 10,000 synced items wrote 356,000
        // times to that file, more than to the database and its WAL together.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // SQLite's default 2 MiB page cache for a session's reads; a pull
        // raises it while it writes ([`Store::bulk_cache`]).
        conn.pragma_update(None, "cache_size", -IDLE_CACHE_KIB)?;
        schema::migrate(&mut conn, &path)?;
        let blobs = BlobStore::open(dir.join("blobs"))?;
        tracing::debug!(dir = %dir.display(), "store opened");
        Ok(Store {
            conn: Mutex::new(conn),
            bulk: AtomicBool::new(false),
            blobs,
            dir,
            queue_counts: queue_index::CountsCache::default(),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The blob directory (paths for partial downloads, verified reads).
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Current `PRAGMA user_version` of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()?
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Raises the page cache to 16 MiB for a pull: a bulk pull inserts
    /// into indexes all over the file, and with SQLite's default 2 MiB the
    /// same index pages were read back from the OS again and again. Until
    /// [`Store::release_memory`].
    pub fn bulk_cache(&self) -> Result<()> {
        self.bulk.store(true, Ordering::Relaxed);
        self.conn()?
            .pragma_update(None, "cache_size", -BULK_CACHE_KIB)?;
        Ok(())
    }

    /// Back to the session's 2 MiB page cache, and frees what the cache
    /// holds beyond the pages in use (`PRAGMA shrink_memory`): after a bulk
    /// pull filled it, the app need not keep it for the rest of the session.
    ///
    /// Then what the process's heap holds free goes back to the OS
    /// ([`heap::release_freed_heap`]).
    pub fn release_memory(&self) -> Result<()> {
        {
            let conn = self.conn()?;
            conn.pragma_update(None, "cache_size", -IDLE_CACHE_KIB)?;
            conn.execute_batch("PRAGMA shrink_memory")?;
        }
        self.bulk.store(false, Ordering::Relaxed);
        heap::release_freed_heap();
        Ok(())
    }

    /// Marks a burst of the reviewer's reads (a page of the queue, an item
    /// opened, a window of a diff's rows, a scan's frame). Once the calls
    /// pause for [`heap::IDLE`], a thread of its own gives back what SQLite's
    /// page cache holds beyond the pages in use (refilled by the next reads,
    /// from the OS's file cache) and the heap's free pages
    /// ([`heap::release_when_idle`]). Measured in the start-up bench's
    /// reading: the cache held 2.1 of SQLite's 2.3 MB there.
    pub fn release_when_idle(self: &Arc<Self>) {
        heap::release_when_idle_shrinking(self);
    }

    /// Gives back the page cache's pages not in use, unless a pull is
    /// writing ([`Store::bulk_cache`]: its cache is worth keeping) or the
    /// connection is busy (then the store is not idle). Returns whether it
    /// did.
    pub(crate) fn shrink_idle_cache(&self) -> bool {
        if self.bulk.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(conn) = self.conn.try_lock() else {
            return false;
        };
        match conn.release_memory() {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "page cache not shrunk");
                false
            }
        }
    }

    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The rows of `sql` (a query without parameters whose one column is
    /// JSON), each decoded as a `T`.
    pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([], |r| json_col::<T>(&r.get::<_, String>(0)?))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

// ------------------------------------------------------------ value helpers

/// Timestamps are stored as fixed-width RFC 3339 UTC so text order is time order.
/// Fails with `NotFound` unless the assignment exists (inside a write transaction).
pub(crate) fn require_assignment(conn: &Connection, assignment_id: &str) -> Result<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM assignments WHERE id = ?1)")?
        .query_row([assignment_id], |r| r.get(0))?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("assignment {assignment_id}")))
    }
}

/// The first column of the row `sql` selects, if it selects one.
pub(crate) fn opt_column<T: rusqlite::types::FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>> {
    use rusqlite::OptionalExtension;
    Ok(conn.query_row(sql, params, |r| r.get(0)).optional()?)
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

pub(crate) fn get_ts(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    parse_ts(&row.get::<_, String>(idx)?)
}

pub(crate) fn get_opt_ts(
    row: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get::<_, Option<String>>(idx)?
        .map(|s| parse_ts(&s))
        .transpose()
}

/// `snake_case` wire name of a serde unit enum (e.g. `AssignmentState::Revoked` → "revoked").
pub(crate) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        // Only called with unit enums, which always serialise to strings.
        other => format!("{other:?}"),
    }
}

pub(crate) fn enum_parse<T: serde::de::DeserializeOwned>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn json_col<T: serde::de::DeserializeOwned>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests;
