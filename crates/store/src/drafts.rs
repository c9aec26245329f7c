//! Drafts (`drafts`): the reviewer's unsent answers, and the work they last submitted.

use assay_protocol::ReviewedSubmission;
use assay_rubric::Answers;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::types::*;
use crate::{get_ts, json_col, ts, Store};

impl Store {
    /// Save a draft; durable (fsynced WAL commit) when this returns.
    pub fn save_draft(&self, assignment_id: &str, answers: &Answers) -> Result<DraftSaved> {
        self.save_draft_with(assignment_id, answers, false)
    }

    /// Save a draft and whether it validates (`ready`), as the app computed it.
    pub fn save_draft_with(
        &self,
        assignment_id: &str,
        answers: &Answers,
        ready: bool,
    ) -> Result<DraftSaved> {
        let json = serde_json::to_string(answers).map_err(StoreError::json("answers"))?;
        let now = Utc::now();
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        crate::require_assignment(&tx, assignment_id)?;
        let revision: i64 = tx.query_row(
            "INSERT INTO drafts (assignment_id, answers_json, revision, ready, updated_at) \
             VALUES (?1, ?2, 1, ?3, ?4) \
             ON CONFLICT(assignment_id) DO UPDATE SET answers_json = excluded.answers_json, \
               revision = drafts.revision + 1, ready = excluded.ready, \
               updated_at = excluded.updated_at \
             RETURNING revision",
            params![assignment_id, json, i64::from(ready), ts(now)],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(DraftSaved {
            revision,
            saved_at: now,
        })
    }

    /// Save a draft only while the assignment is editable (see
    /// [`QueueStatus::editable`]), judged at `now` inside the write
    /// transaction so a sync landing meanwhile cannot slip past it. `pending`
    /// replaces the draft's begun-but-not-added annotations when given (kept
    /// when `None`). Returns the save and the assignment's new status.
    pub fn save_editable_draft(
        &self,
        assignment_id: &str,
        answers: &Answers,
        ready: bool,
        pending: Option<&[PendingAnnotation]>,
        now: DateTime<Utc>,
    ) -> Result<(DraftSaved, QueueStatus)> {
        let json = serde_json::to_string(answers).map_err(StoreError::json("answers"))?;
        let pending = pending.map(pending_json).transpose()?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = crate::items::status_in(&tx, assignment_id, now)?;
        if !status.editable() {
            return Err(StoreError::NotEditable { status });
        }
        let saved_at = Utc::now();
        let revision: i64 = tx.query_row(
            "INSERT INTO drafts (assignment_id, answers_json, revision, ready, updated_at, \
               pending_json) VALUES (?1, ?2, 1, ?3, ?4, ?5) \
             ON CONFLICT(assignment_id) DO UPDATE SET answers_json = excluded.answers_json, \
               revision = drafts.revision + 1, ready = excluded.ready, \
               updated_at = excluded.updated_at, \
               pending_json = CASE WHEN ?6 THEN excluded.pending_json ELSE drafts.pending_json END \
             RETURNING revision",
            params![
                assignment_id,
                json,
                i64::from(ready),
                ts(saved_at),
                pending.clone().flatten(),
                pending.is_some()
            ],
            |r| r.get(0),
        )?;
        let status = crate::items::status_in(&tx, assignment_id, now)?;
        tx.commit()?;
        Ok((DraftSaved { revision, saved_at }, status))
    }

    /// The current draft of an assignment.
    pub fn draft(&self, assignment_id: &str) -> Result<Option<Draft>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT answers_json, revision, ready, updated_at, pending_json FROM drafts \
                 WHERE assignment_id = ?1",
                [assignment_id],
                |r| {
                    Ok(Draft {
                        assignment_id: assignment_id.to_string(),
                        answers: json_col(&r.get::<_, String>(0)?)?,
                        revision: r.get(1)?,
                        ready: r.get::<_, i64>(2)? != 0,
                        updated_at: get_ts(r, 3)?,
                        pending: r
                            .get::<_, Option<String>>(4)?
                            .map(|s| json_col(&s))
                            .transpose()?
                            .unwrap_or_default(),
                    })
                },
            )
            .optional()?)
    }

    /// What the reviewer last submitted for an assignment, as this machine
    /// kept it: the newest submission in the outbox that was not refused
    /// for good (waiting or sent). `None` when it was submitted elsewhere.
    pub fn submitted_work(&self, assignment_id: &str) -> Result<Option<SubmittedWork>> {
        let row: Option<(String, String, String)> = self
            .conn()?
            .query_row(
                "SELECT request_json, state, created_at FROM outbox \
                 WHERE assignment_id = ?1 AND kind = 'submission' \
                   AND state <> 'failed_permanent' ORDER BY id DESC LIMIT 1",
                [assignment_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((json, state, created_at)) = row else {
            return self.own_submission(assignment_id);
        };
        let OutboxPayload::Submission(req) =
            serde_json::from_str(&json).map_err(StoreError::json("outbox request"))?
        else {
            return Ok(None);
        };
        let answers: Answers =
            serde_json::from_value(req.answers).map_err(StoreError::json("answers"))?;
        Ok(Some(SubmittedWork {
            answers,
            active_seconds: req.active_seconds,
            submitted_at: crate::parse_ts(&created_at)?,
            outbox_state: Some(OutboxState::parse(&state).ok_or_else(|| {
                StoreError::InvalidState(format!("unknown outbox state {state:?}"))
            })?),
        }))
    }

    /// Keep the reviewer's own latest submission as the platform served it
    /// with the item (`None` clears it). The item must be stored.
    pub fn put_own_submission(
        &self,
        assignment_id: &str,
        submission: Option<&ReviewedSubmission>,
    ) -> Result<()> {
        let json = submission
            .map(serde_json::to_string)
            .transpose()
            .map_err(StoreError::json("own submission"))?;
        let n = self.conn()?.execute(
            "UPDATE items_scoped SET own_submission_json = ?2 WHERE assignment_id = ?1",
            params![assignment_id, json],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "item of assignment {assignment_id}"
            )));
        }
        Ok(())
    }

    /// The platform's copy of the reviewer's latest submission, if it served one.
    fn own_submission(&self, assignment_id: &str) -> Result<Option<SubmittedWork>> {
        let json: Option<Option<String>> = crate::opt_column(
            &*self.conn()?,
            "SELECT own_submission_json FROM items_scoped WHERE assignment_id = ?1",
            [assignment_id],
        )?;
        let Some(json) = json.flatten() else {
            return Ok(None);
        };
        let sub: ReviewedSubmission =
            serde_json::from_str(&json).map_err(StoreError::json("own submission"))?;
        let answers: Answers =
            serde_json::from_value(sub.answers).map_err(StoreError::json("answers"))?;
        Ok(Some(SubmittedWork {
            answers,
            active_seconds: sub.active_seconds,
            submitted_at: sub.submitted_at,
            outbox_state: None,
        }))
    }

    /// Start a revision: if the assignment has no draft, create one from the
    /// answers of its newest uploaded submission (e.g. after `needs_revision`).
    /// Returns the draft (existing or new); `None` if there is nothing to start from.
    pub fn reopen_draft_from_submission(&self, assignment_id: &str) -> Result<Option<Draft>> {
        if let Some(d) = self.draft(assignment_id)? {
            return Ok(Some(d));
        }
        let Some(work) = self.submitted_work(assignment_id)? else {
            return Ok(None);
        };
        self.save_draft(assignment_id, &work.answers)?;
        self.draft(assignment_id)
    }

    /// Delete a draft explicitly (the reviewer discards it). Never called by sync.
    pub fn discard_draft(&self, assignment_id: &str) -> Result<bool> {
        let n = self.conn()?.execute(
            "DELETE FROM drafts WHERE assignment_id = ?1",
            [assignment_id],
        )?;
        Ok(n > 0)
    }
}

fn pending_json(pending: &[PendingAnnotation]) -> Result<Option<String>> {
    if pending.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(pending)
        .map(Some)
        .map_err(StoreError::json("pending annotations"))
}
