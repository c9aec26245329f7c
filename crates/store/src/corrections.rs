//! The reviewer's corrections of their time log before submitting.

use assay_protocol::TimeSpan;
use rusqlite::{params, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::ts;
use crate::Store;

/// Seconds from which a single time span (active or waiting) is refused as
/// implausible: a span must be shorter than 12 hours (anything longer is a
/// typo or a clock jump). Judged by [`time_span_problem`] only.
pub const MAX_TIME_SPAN_S: i64 = 12 * 3600;

/// What is wrong with a time span (active or waiting), in the words the
/// reviewer sees, or `None` when it may be kept. The one place the rule
/// lives: the store refuses every span it writes with it, and the UI's time
/// log editor asks it (`check_time_log`) as the reviewer types. A span
/// may be empty (it ends when it starts); it may not end before it starts
/// or last [`MAX_TIME_SPAN_S`] or longer.
pub fn time_span_problem(span: &TimeSpan) -> Option<String> {
    if span.ended_at < span.started_at {
        return Some("a time span cannot end before it starts".into());
    }
    if (span.ended_at - span.started_at).num_seconds() >= MAX_TIME_SPAN_S {
        return Some(format!(
            "a time span of {} hours or more is not plausible",
            MAX_TIME_SPAN_S / 3600
        ));
    }
    None
}

/// The store's refusal of a span [`time_span_problem`] finds wrong.
pub(crate) fn check_time_span(span: &TimeSpan) -> Result<()> {
    match time_span_problem(span) {
        Some(problem) => Err(StoreError::InvalidState(problem)),
        None => Ok(()),
    }
}

impl Store {
    /// Replaces an assignment's whole time log with the reviewer's corrected
    /// spans, atomically. Every span is marked `corrected`.
    pub fn replace_time_log(&self, assignment_id: &str, spans: &[TimeSpan]) -> Result<()> {
        for s in spans {
            check_time_span(s)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};

    fn span(seconds: i64) -> TimeSpan {
        let start: DateTime<Utc> = "2026-06-18T09:00:00Z".parse().unwrap();
        TimeSpan {
            started_at: start,
            ended_at: start + Duration::seconds(seconds),
            corrected: false,
        }
    }

    #[test]
    fn a_span_is_judged_at_its_boundaries() {
        // Empty: it ends when it starts, which is allowed.
        assert_eq!(time_span_problem(&span(0)), None);
        assert_eq!(time_span_problem(&span(1)), None);
        assert_eq!(
            time_span_problem(&span(-1)).as_deref(),
            Some("a time span cannot end before it starts")
        );
        // Just under the bound is kept; exactly 12 hours is not, nor longer.
        assert_eq!(time_span_problem(&span(MAX_TIME_SPAN_S - 1)), None);
        assert_eq!(MAX_TIME_SPAN_S, 12 * 3600);
        for s in [MAX_TIME_SPAN_S, MAX_TIME_SPAN_S + 1] {
            assert_eq!(
                time_span_problem(&span(s)).as_deref(),
                Some("a time span of 12 hours or more is not plausible")
            );
        }
    }
}
