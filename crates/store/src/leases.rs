//! Assignment leases and the local issues that hold work back (`assignments`).

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::error::{Result, StoreError};
use crate::types::*;
use crate::{get_ts, ts, Store};

impl Store {
    /// Record a renewed lease.
    pub fn set_lease(&self, assignment_id: &str, expires_at: DateTime<Utc>) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE assignments SET lease_expires_at = ?2, \
               local_issue = CASE WHEN local_issue = 'lease_expired' THEN NULL ELSE local_issue END, \
               local_issue_message = CASE WHEN local_issue = 'lease_expired' THEN NULL \
                 ELSE local_issue_message END \
             WHERE id = ?1",
            params![assignment_id, ts(expires_at)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("assignment {assignment_id}")));
        }
        Ok(())
    }

    /// Leases of assignments still workable: active, not orphaned, nothing
    /// waiting for upload, and either never submitted or sent back for revision.
    pub fn active_leases(&self) -> Result<Vec<LeaseInfo>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT a.id, a.lease_expires_at FROM assignments a \
             WHERE a.state = 'active' AND a.orphaned = 0 AND a.local_issue IS NULL \
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.assignment_id = a.id \
                               AND o.state IN ('queued', 'sending')) \
               AND COALESCE((SELECT s.status FROM submissions s WHERE s.assignment_id = a.id \
                             ORDER BY s.received_at DESC LIMIT 1), 'needs_revision') \
                   = 'needs_revision' \
             ORDER BY a.lease_expires_at",
        )?;
        let rows = st.query_map([], |r| {
            Ok(LeaseInfo {
                assignment_id: r.get(0)?,
                lease_expires_at: get_ts(r, 1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Mark an assignment's lease as expired (draft kept).
    pub fn mark_lease_expired(&self, assignment_id: &str, message: &str) -> Result<()> {
        self.set_issue(assignment_id, IssueKind::LeaseExpired, message)
    }

    pub(crate) fn set_issue(
        &self,
        assignment_id: &str,
        kind: IssueKind,
        message: &str,
    ) -> Result<()> {
        self.conn()?.execute(
            "UPDATE assignments SET local_issue = ?2, local_issue_message = ?3 WHERE id = ?1",
            params![assignment_id, kind.as_str(), message],
        )?;
        Ok(())
    }
}
