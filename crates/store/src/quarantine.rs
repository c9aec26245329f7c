//! Quarantine of items, attachments and rubrics the platform sent in a form
//! the client refuses: kept one by one with the reason, retried with backoff.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use crate::error::Result;
use crate::types::{QuarantineEntry, QuarantineKind};
use crate::{get_ts, ts, Store};

impl Store {
    /// Put `key` in quarantine (or keep it there) with `reason`, next tried at
    /// `next_attempt_at`. Returns the number of failed attempts so far.
    pub fn quarantine(
        &self,
        kind: QuarantineKind,
        key: &str,
        label: &str,
        reason: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<u32> {
        let now = ts(Utc::now());
        let attempts: u32 = self.conn()?.query_row(
            "INSERT INTO quarantine (kind, key, label, reason, attempts, next_attempt_at, \
               first_failed_at, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6) \
             ON CONFLICT(kind, key) DO UPDATE SET label = excluded.label, \
               reason = excluded.reason, attempts = quarantine.attempts + 1, \
               next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at \
             RETURNING attempts",
            params![kind.as_str(), key, label, reason, ts(next_attempt_at), now],
            |r| r.get(0),
        )?;
        Ok(attempts)
    }

    /// Failed attempts recorded for `key` (0 when not quarantined).
    pub fn quarantine_attempts(&self, kind: QuarantineKind, key: &str) -> Result<u32> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT attempts FROM quarantine WHERE kind = ?1 AND key = ?2",
                params![kind.as_str(), key],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// `key` arrived in good shape: release it from quarantine.
    pub fn release_quarantine(&self, kind: QuarantineKind, key: &str) -> Result<bool> {
        let n = self.conn()?.execute(
            "DELETE FROM quarantine WHERE kind = ?1 AND key = ?2",
            params![kind.as_str(), key],
        )?;
        Ok(n > 0)
    }

    /// Release several keys of `kind` from quarantine in one transaction;
    /// returns how many were held.
    pub fn release_quarantines(&self, kind: QuarantineKind, keys: &[&str]) -> Result<usize> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut n = 0;
        {
            let mut st =
                tx.prepare_cached("DELETE FROM quarantine WHERE kind = ?1 AND key = ?2")?;
            for key in keys {
                n += st.execute(params![kind.as_str(), key])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Keys of `kind` in quarantine that are not due for another try at `now`.
    pub fn quarantined_until_later(
        &self,
        kind: QuarantineKind,
        now: DateTime<Utc>,
    ) -> Result<HashSet<String>> {
        let conn = self.conn()?;
        let mut st =
            conn.prepare("SELECT key FROM quarantine WHERE kind = ?1 AND next_attempt_at > ?2")?;
        let rows = st.query_map(params![kind.as_str(), ts(now)], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Everything in quarantine, most recently failed first.
    pub fn quarantine_entries(&self) -> Result<Vec<QuarantineEntry>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT kind, key, label, reason, attempts, next_attempt_at, first_failed_at \
             FROM quarantine ORDER BY updated_at DESC, kind, key",
        )?;
        let rows = st.query_map([], |r| {
            let kind: String = r.get(0)?;
            Ok(QuarantineEntry {
                kind: QuarantineKind::parse(&kind).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        format!("unknown quarantine kind {kind:?}").into(),
                    )
                })?,
                key: r.get(1)?,
                label: r.get(2)?,
                reason: r.get(3)?,
                attempts: r.get(4)?,
                next_attempt_at: get_ts(r, 5)?,
                first_failed_at: get_ts(r, 6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
