//! Time on task (`time_sessions`) and idle waiting (`waiting_spans`).

use assay_protocol::TimeSpan;
use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::error::{Result, StoreError};
use crate::types::*;
use crate::{get_opt_ts, get_ts, ts, Store};

/// Whole seconds that `spans` cover inside `[from, to)` (an open end when
/// `None`): each span clipped to the window, time that two spans both cover
/// counted once, and only the total rounded down to whole seconds (a log of
/// many short spans loses under a second, not up to one a span). The one
/// rule for time on task, idle waiting and the earnings of a day range;
/// the UI shows what it gives.
pub fn covered_seconds(
    spans: &[TimeSpan],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> u64 {
    let mut clipped: Vec<(DateTime<Utc>, DateTime<Utc>)> = spans
        .iter()
        .filter_map(|s| {
            let start = from.map_or(s.started_at, |f| s.started_at.max(f));
            let end = to.map_or(s.ended_at, |t| s.ended_at.min(t));
            (end > start).then_some((start, end))
        })
        .collect();
    clipped.sort_unstable();
    let mut total = chrono::Duration::zero();
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (start, end) in clipped {
        current = match current {
            Some((a, b)) if start <= b => Some((a, b.max(end))),
            Some((a, b)) => {
                total += b - a;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((a, b)) = current {
        total += b - a;
    }
    u64::try_from(total.num_seconds()).unwrap_or(0)
}

impl Store {
    // ------------------------------------------------------------ time on task

    /// Start a time-on-task session; returns its id.
    pub fn start_session(&self, assignment_id: &str, at: DateTime<Utc>) -> Result<i64> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO time_sessions (assignment_id, started_at) VALUES (?1, ?2)",
            params![assignment_id, ts(at)],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// End a running session.
    pub fn end_session(&self, session_id: i64, at: DateTime<Utc>) -> Result<()> {
        let conn = self.conn()?;
        let started: Option<String> = crate::opt_column(
            &conn,
            "SELECT started_at FROM time_sessions WHERE id = ?1",
            [session_id],
        )?;
        let started =
            started.ok_or_else(|| StoreError::NotFound(format!("session {session_id}")))?;
        let started = crate::parse_ts(&started)?;
        let end = at.max(started);
        conn.execute(
            "UPDATE time_sessions SET ended_at = ?2 WHERE id = ?1",
            params![session_id, ts(end)],
        )?;
        Ok(())
    }

    /// Add a complete span (e.g. entered by hand); returns its id.
    pub fn add_time_span(&self, assignment_id: &str, span: &TimeSpan) -> Result<i64> {
        crate::corrections::check_time_span(span)?;
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO time_sessions (assignment_id, started_at, ended_at, corrected) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                assignment_id,
                ts(span.started_at),
                ts(span.ended_at),
                i64::from(span.corrected)
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Correct a session by hand (marked `corrected`).
    pub fn correct_session(
        &self,
        session_id: i64,
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    ) -> Result<()> {
        crate::corrections::check_time_span(&TimeSpan {
            started_at,
            ended_at,
            corrected: true,
        })?;
        let n = self.conn()?.execute(
            "UPDATE time_sessions SET started_at = ?2, ended_at = ?3, corrected = 1 WHERE id = ?1",
            params![session_id, ts(started_at), ts(ended_at)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("session {session_id}")));
        }
        Ok(())
    }

    /// Sessions of an assignment, oldest first.
    pub fn time_log(&self, assignment_id: &str) -> Result<Vec<TimeSession>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT id, started_at, ended_at, corrected FROM time_sessions \
             WHERE assignment_id = ?1 ORDER BY started_at, id",
        )?;
        let rows = st.query_map([assignment_id], |r| {
            Ok(TimeSession {
                id: r.get(0)?,
                assignment_id: assignment_id.to_string(),
                started_at: get_ts(r, 1)?,
                ended_at: get_opt_ts(r, 2)?,
                corrected: r.get::<_, i64>(3)? != 0,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Closed spans for a submission and their total in whole seconds.
    pub fn time_spans(&self, assignment_id: &str) -> Result<(Vec<TimeSpan>, u64)> {
        let spans: Vec<TimeSpan> = self
            .time_log(assignment_id)?
            .into_iter()
            .filter_map(|s| {
                s.ended_at.map(|end| TimeSpan {
                    started_at: s.started_at,
                    ended_at: end,
                    corrected: s.corrected,
                })
            })
            .collect();
        let secs = covered_seconds(&spans, None, None);
        Ok((spans, secs))
    }

    // ------------------------------------------------------------ idle waiting

    /// Record a stretch of idle waiting: the reviewer was signed in and
    /// present but had nothing to work on. Returns its id.
    pub fn add_waiting_span(&self, span: &TimeSpan) -> Result<i64> {
        crate::corrections::check_time_span(span)?;
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO waiting_spans (started_at, ended_at, recorded_at) VALUES (?1, ?2, ?3)",
            params![ts(span.started_at), ts(span.ended_at), ts(Utc::now())],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Idle-waiting spans, oldest first.
    pub fn waiting_spans(&self) -> Result<Vec<TimeSpan>> {
        let conn = self.conn()?;
        let mut st =
            conn.prepare("SELECT started_at, ended_at FROM waiting_spans ORDER BY started_at, id")?;
        let rows = st.query_map([], |r| {
            Ok(TimeSpan {
                started_at: get_ts(r, 0)?,
                ended_at: get_ts(r, 1)?,
                corrected: false,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whole seconds of idle waiting; overlapping spans count once.
    pub fn waiting_seconds(&self) -> Result<u64> {
        self.waiting_seconds_in(None, None)
    }

    /// Whole seconds of idle waiting inside `[from, to)` (open ends when
    /// `None`); spans are clipped to the window, overlaps count once.
    pub fn waiting_seconds_in(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<u64> {
        Ok(covered_seconds(&self.waiting_spans()?, from, to))
    }
}
