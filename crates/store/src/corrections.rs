//! The reviewer's corrections of their time log before submitting.

use assay_protocol::TimeSpan;
use rusqlite::{params, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::ts;
use crate::Store;

/// Longest single span a reviewer may log (anything longer is a typo).
const MAX_SPAN_HOURS: i64 = 12;

impl Store {
    /// Replaces an assignment's whole time log with the reviewer's corrected
    /// spans, atomically. Every span is marked `corrected`.
    pub fn replace_time_log(&self, assignment_id: &str, spans: &[TimeSpan]) -> Result<()> {
        for s in spans {
            if s.ended_at < s.started_at {
                return Err(StoreError::InvalidState(
                    "a time span cannot end before it starts".into(),
                ));
            }
            if (s.ended_at - s.started_at).num_hours() >= MAX_SPAN_HOURS {
                return Err(StoreError::InvalidState(format!(
                    "a time span of {MAX_SPAN_HOURS} hours or more is not plausible"
                )));
            }
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        crate::require_assignment(&tx, assignment_id)?;
        tx.execute(
            "DELETE FROM time_sessions WHERE assignment_id = ?1",
            [assignment_id],
        )?;
        for s in spans {
            tx.execute(
                "INSERT INTO time_sessions (assignment_id, started_at, ended_at, corrected) \
                 VALUES (?1, ?2, ?3, 1)",
                params![assignment_id, ts(s.started_at), ts(s.ended_at)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
