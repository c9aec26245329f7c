//! The reviewer's corrections of their time log before submitting.

use assay_protocol::TimeSpan;
use rusqlite::{params, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::ts;
use crate::Store;

/// Seconds from which a single time span (active or waiting) is refused as
/// implausible: a span must be shorter than 12 hours (anything longer is a
/// typo or a clock jump). The app checks the spans it records against the
/// same bound, and the UI's time log editor gets it as data (`RULES`).
pub const MAX_TIME_SPAN_S: i64 = 12 * 3600;

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
            if (s.ended_at - s.started_at).num_seconds() >= MAX_TIME_SPAN_S {
                return Err(StoreError::InvalidState(format!(
                    "a time span of {} hours or more is not plausible",
                    MAX_TIME_SPAN_S / 3600
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
