//! Outbox of submissions and reviews, receipts and review outcomes.

use assay_protocol::{
    OutcomeStatus, ReviewOutcome, ReviewReceipt, ReviewRequest, SubmissionReceipt,
    SubmissionRequest,
};
use assay_rubric::Answers;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::types::*;
use crate::{enum_parse, enum_str, get_opt_ts, get_ts, json_col, ts, Store};

const OUTBOX_COLS: &str = "id, assignment_id, idempotency_key, request_json, attempts, \
     next_attempt_at, last_error, state, created_at";

/// Clears the assignment's local issue: the work it was about has gone
/// into the outbox (or come back as a receipt).
fn clear_local_issue(tx: &rusqlite::Transaction<'_>, assignment_id: &str) -> Result<()> {
    tx.execute(
        "UPDATE assignments SET local_issue = NULL, local_issue_message = NULL WHERE id = ?1",
        [assignment_id],
    )?;
    Ok(())
}

fn row_to_entry(r: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let state: String = r.get(7)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        assignment_id: r.get(1)?,
        idempotency_key: r.get(2)?,
        payload: json_col(&r.get::<_, String>(3)?)?,
        attempts: r.get(4)?,
        next_attempt_at: get_ts(r, 5)?,
        last_error: r.get(6)?,
        state: OutboxState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                7,
                rusqlite::types::Type::Text,
                format!("unknown outbox state {state:?}").into(),
            )
        })?,
        created_at: get_ts(r, 8)?,
    })
}

fn row_to_submission(r: &Row<'_>) -> rusqlite::Result<SubmissionRecord> {
    Ok(SubmissionRecord {
        submission_id: r.get(0)?,
        assignment_id: r.get(1)?,
        received_at: get_ts(r, 2)?,
        status: enum_parse(&r.get::<_, String>(3)?)?,
        feedback: r.get(4)?,
        decided_at: get_opt_ts(r, 5)?,
    })
}

impl Store {
    /// Move the draft of `assignment_id` into the outbox as `request`, atomically:
    /// after this returns, the submission is durable in the outbox with a fresh
    /// UUIDv7 idempotency key and the draft is gone; if anything fails, nothing
    /// changed. Validate the answers (`assay_rubric`) *before* calling this.
    pub fn submit(&self, assignment_id: &str, request: &SubmissionRequest) -> Result<OutboxEntry> {
        if request.assignment_id != assignment_id {
            return Err(StoreError::InvalidState(format!(
                "submission names assignment {} but was filed for {assignment_id}",
                request.assignment_id
            )));
        }
        self.enqueue(assignment_id, OutboxPayload::Submission(request.clone()))
    }

    /// Queue a senior review for upload (same guarantees as [`Store::submit`]).
    pub fn submit_review(
        &self,
        assignment_id: &str,
        request: &ReviewRequest,
    ) -> Result<OutboxEntry> {
        if request.assignment_id != assignment_id {
            return Err(StoreError::InvalidState(format!(
                "review names assignment {} but was filed for {assignment_id}",
                request.assignment_id
            )));
        }
        self.enqueue(assignment_id, OutboxPayload::Review(request.clone()))
    }

    fn enqueue(&self, assignment_id: &str, payload: OutboxPayload) -> Result<OutboxEntry> {
        let json = serde_json::to_string(&payload).map_err(StoreError::json("outbox request"))?;
        let key = uuid::Uuid::now_v7().to_string();
        let now = Utc::now();
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        crate::require_assignment(&tx, assignment_id)?;
        let pending: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM outbox WHERE assignment_id = ?1 \
               AND state IN ('queued', 'sending'))",
            [assignment_id],
            |r| r.get(0),
        )?;
        if pending {
            return Err(StoreError::InvalidState(format!(
                "assignment {assignment_id} already has a submission waiting for upload"
            )));
        }
        tx.execute(
            "INSERT INTO outbox (assignment_id, kind, idempotency_key, request_json, attempts, \
               next_attempt_at, state, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, 0, ?5, 'queued', ?5, ?5)",
            params![assignment_id, payload.kind_str(), key, json, ts(now)],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM drafts WHERE assignment_id = ?1",
            [assignment_id],
        )?;
        clear_local_issue(&tx, assignment_id)?;
        tx.commit()?;
        tracing::info!(
            assignment = assignment_id,
            outbox_id = id,
            "queued for upload"
        );
        Ok(OutboxEntry {
            id,
            assignment_id: assignment_id.to_string(),
            idempotency_key: key,
            payload,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            state: OutboxState::Queued,
            created_at: now,
        })
    }

    /// Entries to upload now: queued or interrupted (`sending`) and due, oldest first.
    pub fn due_outbox(&self, now: DateTime<Utc>) -> Result<Vec<OutboxEntry>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!(
            "SELECT {OUTBOX_COLS} FROM outbox WHERE state IN ('queued', 'sending') \
               AND next_attempt_at <= ?1 ORDER BY id"
        ))?;
        let rows = st.query_map([ts(now)], row_to_entry)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every outbox entry, oldest first (history and tests).
    pub fn outbox_entries(&self) -> Result<Vec<OutboxEntry>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!("SELECT {OUTBOX_COLS} FROM outbox ORDER BY id"))?;
        let rows = st.query_map([], row_to_entry)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Earliest time an unsent entry becomes due (to sleep until then).
    pub fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        let conn = self.conn()?;
        let s: Option<String> = conn.query_row(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('queued', 'sending')",
            [],
            |r| r.get(0),
        )?;
        Ok(s.map(|s| crate::parse_ts(&s)).transpose()?)
    }

    /// The newest outbox entry of an assignment.
    pub fn latest_outbox_entry(&self, assignment_id: &str) -> Result<Option<OutboxEntry>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {OUTBOX_COLS} FROM outbox WHERE assignment_id = ?1 \
                     ORDER BY id DESC LIMIT 1"
                ),
                [assignment_id],
                row_to_entry,
            )
            .optional()?)
    }

    /// Note that an upload attempt starts (state `sending`, attempts + 1).
    pub fn mark_outbox_sending(&self, outbox_id: i64) -> Result<u32> {
        let conn = self.conn()?;
        let attempts: Option<u32> = conn
            .query_row(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?2 \
                 WHERE id = ?1 AND state IN ('queued', 'sending') RETURNING attempts",
                params![outbox_id, ts(Utc::now())],
                |r| r.get(0),
            )
            .optional()?;
        attempts.ok_or_else(|| {
            StoreError::InvalidState(format!(
                "outbox entry {outbox_id} is not waiting for upload"
            ))
        })
    }

    /// A retryable failure: try again at `next_attempt_at`.
    pub fn outbox_retry_later(
        &self,
        outbox_id: i64,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        self.conn()?.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?2, last_error = ?3, \
               updated_at = ?4 WHERE id = ?1 AND state IN ('queued', 'sending')",
            params![outbox_id, ts(next_attempt_at), error, ts(Utc::now())],
        )?;
        Ok(())
    }

    /// The platform is reachable again after being offline: every waiting
    /// entry becomes due at `now` (their backoff was waiting for the network,
    /// not for the platform to recover). Returns how many were brought forward.
    pub fn outbox_due_now(&self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.conn()?.execute(
            "UPDATE outbox SET next_attempt_at = ?1, updated_at = ?1 \
             WHERE state IN ('queued', 'sending') AND next_attempt_at > ?1",
            params![ts(now)],
        )?)
    }

    /// The platform acknowledged a submission: mark sent and record the receipt, atomically.
    pub fn record_submission_receipt(
        &self,
        outbox_id: i64,
        receipt: &SubmissionReceipt,
    ) -> Result<()> {
        self.record_receipt(
            outbox_id,
            &receipt.submission_id,
            &receipt.assignment_id,
            "submission",
            receipt.received_at,
            receipt.status,
        )
    }

    /// The platform acknowledged a senior review.
    pub fn record_review_receipt(&self, outbox_id: i64, receipt: &ReviewReceipt) -> Result<()> {
        // A review has no review outcome of its own; it is recorded as pending.
        self.record_receipt(
            outbox_id,
            &receipt.review_id,
            &receipt.assignment_id,
            "review",
            receipt.received_at,
            OutcomeStatus::Pending,
        )
    }

    fn record_receipt(
        &self,
        outbox_id: i64,
        submission_id: &str,
        assignment_id: &str,
        kind: &str,
        received_at: DateTime<Utc>,
        status: OutcomeStatus,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE outbox SET state = 'sent', last_error = NULL, updated_at = ?2 WHERE id = ?1",
            params![outbox_id, ts(Utc::now())],
        )?;
        // Keep an outcome that already arrived (e.g. accepted) over the receipt's status.
        tx.execute(
            "INSERT INTO submissions (submission_id, assignment_id, outbox_id, kind, received_at, \
               status) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT(submission_id) DO UPDATE SET outbox_id = excluded.outbox_id",
            params![
                submission_id,
                assignment_id,
                outbox_id,
                kind,
                ts(received_at),
                enum_str(&status)
            ],
        )?;
        clear_local_issue(&tx, assignment_id)?;
        tx.commit()?;
        Ok(())
    }

    /// The platform refused an upload for good. The entry is kept as failed, the
    /// issue is shown on the item, and the answers go back into the draft (unless
    /// the reviewer already started a new one) so nothing typed is lost.
    pub fn outbox_failed(&self, outbox_id: i64, kind: IssueKind, message: &str) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let entry = tx
            .query_row(
                &format!("SELECT {OUTBOX_COLS} FROM outbox WHERE id = ?1"),
                [outbox_id],
                row_to_entry,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("outbox entry {outbox_id}")))?;
        let now = ts(Utc::now());
        tx.execute(
            "UPDATE outbox SET state = 'failed_permanent', last_error = ?2, updated_at = ?3 \
             WHERE id = ?1",
            params![outbox_id, message, now],
        )?;
        if let OutboxPayload::Submission(req) = &entry.payload {
            match serde_json::from_value::<Answers>(req.answers.clone()) {
                Ok(answers) => {
                    let json =
                        serde_json::to_string(&answers).map_err(StoreError::json("answers"))?;
                    tx.execute(
                        "INSERT INTO drafts (assignment_id, answers_json, revision, ready, updated_at) \
                         VALUES (?1, ?2, 1, 1, ?3) ON CONFLICT(assignment_id) DO NOTHING",
                        params![entry.assignment_id, json, now],
                    )?;
                }
                Err(e) => {
                    // The request is still stored in the outbox row; nothing is lost.
                    tracing::warn!(error = %e, outbox_id, "failed submission's answers not restorable as a draft");
                }
            }
        }
        tx.execute(
            "UPDATE assignments SET local_issue = ?2, local_issue_message = ?3 WHERE id = ?1",
            params![entry.assignment_id, kind.as_str(), message],
        )?;
        tx.commit()?;
        tracing::warn!(assignment = %entry.assignment_id, ?kind, "upload refused by the platform");
        Ok(())
    }

    /// Apply one page of `GET /outcomes` and advance the cursor, atomically.
    pub fn apply_outcome_page(&self, outcomes: &[ReviewOutcome], next_cursor: &str) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for o in outcomes {
            let received = o.decided_at.unwrap_or_else(Utc::now);
            tx.execute(
                "INSERT INTO submissions (submission_id, assignment_id, kind, received_at, status, \
                   feedback, decided_at, reported_seconds) \
                 VALUES (?1, ?2, 'submission', ?3, ?4, ?5, ?6, NULLIF(?7, 0)) \
                 ON CONFLICT(submission_id) DO UPDATE SET status = excluded.status, \
                   feedback = excluded.feedback, decided_at = excluded.decided_at, \
                   reported_seconds = COALESCE(excluded.reported_seconds, submissions.reported_seconds)",
                params![
                    o.submission_id,
                    o.assignment_id,
                    ts(received),
                    enum_str(&o.status),
                    o.feedback,
                    o.decided_at.map(ts),
                    i64::try_from(o.active_seconds).unwrap_or(i64::MAX),
                ],
            )?;
        }
        crate::sync_state::set_cursor_tx(&tx, crate::cursor::OUTCOMES, next_cursor)?;
        tx.commit()?;
        Ok(())
    }

    /// Active seconds the platform says each assignment's latest submission
    /// reported (and when it was received), for assignments that have such
    /// a figure.
    pub fn reported_seconds(
        &self,
    ) -> Result<std::collections::HashMap<String, (u64, DateTime<Utc>)>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT s.assignment_id, s.reported_seconds, s.received_at FROM submissions s \
             WHERE s.reported_seconds IS NOT NULL AND s.received_at = \
               (SELECT MAX(t.received_at) FROM submissions t \
                WHERE t.assignment_id = s.assignment_id AND t.reported_seconds IS NOT NULL)",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, get_ts(r, 2)?))
        })?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (id, secs, at) = row?;
            out.insert(id, (u64::try_from(secs).unwrap_or(0), at));
        }
        Ok(out)
    }

    /// The newest acknowledged submission of an assignment.
    pub fn latest_submission(&self, assignment_id: &str) -> Result<Option<SubmissionRecord>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT submission_id, assignment_id, received_at, status, feedback, decided_at \
                 FROM submissions WHERE assignment_id = ?1 ORDER BY received_at DESC LIMIT 1",
                [assignment_id],
                row_to_submission,
            )
            .optional()?)
    }

    /// Every acknowledged submission, newest first.
    pub fn submissions(&self) -> Result<Vec<SubmissionRecord>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT submission_id, assignment_id, received_at, status, feedback, decided_at \
             FROM submissions ORDER BY received_at DESC",
        )?;
        let rows = st.query_map([], row_to_submission)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
