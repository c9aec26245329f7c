//! Embedded migrations (numbered `.sql` files in `migrations/`), applied in one transaction and tracked in `PRAGMA user_version`.

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// Migrations in order; migration `i` brings the schema to version `i + 1`.
/// Each is a numbered file in `crates/store/migrations/`, embedded at build
/// time. A new migration is a new file with the next number, added here; a
/// released one is never edited (databases in the field already ran it).
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_item_title_revision.sql"),
    include_str!("../migrations/0003_waiting_spans.sql"),
    include_str!("../migrations/0004_reported_seconds.sql"),
    include_str!("../migrations/0005_quarantine.sql"),
    include_str!("../migrations/0006_pending_annotations.sql"),
    include_str!("../migrations/0007_items_scoped_title_index.sql"),
    include_str!("../migrations/0008_drop_item_attachments_sha.sql"),
    include_str!("../migrations/0009_queue_index.sql"),
    include_str!("../migrations/0010_item_marks_title_only.sql"),
    include_str!("../migrations/0011_items_scoped_packed.sql"),
    include_str!("../migrations/0012_items_scoped_revision_in_index.sql"),
    include_str!("../migrations/0013_item_attachment_lists.sql"),
    include_str!("../migrations/0014_item_attachment_lists_rowid.sql"),
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring `conn` to [`SCHEMA_VERSION`], or refuse a database from a newer build.
pub(crate) fn migrate(conn: &mut Connection, path: &std::path::Path) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // `found` is in 0..SCHEMA_VERSION here, so the slice is in bounds.
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(to_version = i + 1, "applying store migration");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
