//! Sync bookkeeping: cursors (`cursors`) and sync health (`sync_status`).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use crate::error::Result;
use crate::types::*;
use crate::{get_opt_ts, ts, Store};

impl Store {
    /// A sync cursor (see [`crate::cursor`]).
    pub fn cursor(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row("SELECT value FROM cursors WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Set a sync cursor.
    pub fn set_cursor(&self, name: &str, value: &str) -> Result<()> {
        let conn = self.conn()?;
        set_cursor_tx(&conn, name, value)
    }

    /// Record the start of a sync attempt.
    pub fn record_sync_attempt(&self, at: DateTime<Utc>) -> Result<()> {
        self.conn()?.execute(
            "UPDATE sync_status SET last_attempt_at = ?1 WHERE id = 1",
            [ts(at)],
        )?;
        Ok(())
    }

    /// Record a successful sync (clears the last error).
    pub fn record_sync_success(&self, at: DateTime<Utc>) -> Result<()> {
        self.conn()?.execute(
            "UPDATE sync_status SET last_success_at = ?1, last_error = NULL WHERE id = 1",
            [ts(at)],
        )?;
        Ok(())
    }

    /// Record a failed sync.
    pub fn record_sync_error(&self, at: DateTime<Utc>, message: &str) -> Result<()> {
        self.conn()?.execute(
            "UPDATE sync_status SET last_attempt_at = ?1, last_error = ?2 WHERE id = 1",
            params![ts(at), message],
        )?;
        Ok(())
    }

    /// Sync health for the status bar.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let conn = self.conn()?;
        // Counted from the list of missing attachments, not by SQL's
        // `COUNT(DISTINCT)` over every item's attachment (a temporary B-tree
        // and two lookups per row: 21 ms for 10,000 items, against 9.5, on
        // the path of every sync state the status bar is told).
        let attachments_missing =
            u32::try_from(crate::items::missing_attachments_in(&conn)?.len()).unwrap_or(u32::MAX);
        Ok(conn.query_row(
            "SELECT last_attempt_at, last_success_at, last_error, \
               (SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'sending')), \
               (SELECT COUNT(*) FROM outbox WHERE state = 'failed_permanent'), \
               (SELECT COUNT(*) FROM assignments a JOIN drafts d ON d.assignment_id = a.id \
                  WHERE a.orphaned = 1), \
               (SELECT COUNT(*) FROM quarantine) \
             FROM sync_status WHERE id = 1",
            [],
            |r| {
                Ok(SyncStatus {
                    last_attempt_at: get_opt_ts(r, 0)?,
                    last_success_at: get_opt_ts(r, 1)?,
                    last_error: r.get(2)?,
                    outbox_pending: r.get(3)?,
                    outbox_failed: r.get(4)?,
                    orphaned_drafts: r.get(5)?,
                    attachments_missing,
                    quarantined: r.get(6)?,
                })
            },
        )?)
    }
}

pub(crate) fn set_cursor_tx(conn: &rusqlite::Connection, name: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO cursors (name, value) VALUES (?1, ?2) \
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![name, value])?;
    Ok(())
}
