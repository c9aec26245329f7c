//! Assignments, items, rubrics, attachments and the queue.

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, AttachmentRef, Opportunity, OutcomeStatus,
    ReviewedSubmission,
};
use assay_rubric::{Rubric, ScopedItem};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::sync_state::set_cursor_tx;
use crate::types::*;
use crate::{enum_parse, enum_str, get_ts, ts, Store};

const ASSIGNMENT_COLS: &str = "a.id, a.item_id, a.opportunity_id, a.rubric_id, a.rubric_version, \
     a.kind, a.state, a.assigned_at, a.lease_expires_at, a.due_at, a.review_of_submission_id, a.seq, \
     a.item_title, a.item_revision";

fn row_to_assignment(r: &Row<'_>) -> rusqlite::Result<Assignment> {
    Ok(Assignment {
        id: r.get(0)?,
        item_id: r.get(1)?,
        opportunity_id: r.get(2)?,
        rubric_id: r.get(3)?,
        rubric_version: r.get(4)?,
        kind: enum_parse(&r.get::<_, String>(5)?)?,
        state: enum_parse(&r.get::<_, String>(6)?)?,
        assigned_at: get_ts(r, 7)?,
        lease_expires_at: get_ts(r, 8)?,
        due_at: get_ts(r, 9)?,
        review_of_submission_id: r.get(10)?,
        seq: r.get(11)?,
        item_title: r.get(12)?,
        item_revision: r.get(13)?,
    })
}

/// Inputs of the queue status, gathered by one query.
pub(crate) struct StatusInputs {
    pub orphaned: bool,
    pub state: AssignmentState,
    pub lease_expires_at: DateTime<Utc>,
    pub issue: Option<IssueKind>,
    pub draft_ready: Option<bool>,
    pub outbox_state: Option<OutboxState>,
    pub submission: Option<OutcomeStatus>,
}

impl StatusInputs {
    /// Whether the row has anything the reviewer wrote or submitted.
    fn has_work(&self) -> bool {
        self.draft_ready.is_some() || self.outbox_state.is_some() || self.submission.is_some()
    }

    /// Whether the lease has run out, whatever the platform said so far,
    /// given whether its end has passed.
    fn lease_lapsed(&self, lease_over: bool) -> bool {
        self.state == AssignmentState::Expired
            || (self.state == AssignmentState::Active && lease_over)
    }

    /// The status at `now`: a lease that ran out shows as expired even before
    /// the platform reports it (the draft is kept either way).
    pub(crate) fn status(&self, now: DateTime<Utc>) -> QueueStatus {
        self.status_when(self.lease_expires_at <= now)
    }

    /// The status before the lease's end (`lease_over` false) or from it on
    /// (true): time changes a status only there ([`Store::queue_window`]
    /// keeps both). A lapsed lease turns the statuses in
    /// [`QueueStatus::LAPSABLE`] into [`QueueStatus::LeaseExpired`].
    pub(crate) fn status_when(&self, lease_over: bool) -> QueueStatus {
        let live = self.status_live();
        if live.lapses() && self.lease_lapsed(lease_over) {
            QueueStatus::LeaseExpired
        } else {
            live
        }
    }

    /// The status whatever the lease says ([`Self::status_when`] applies its end).
    fn status_live(&self) -> QueueStatus {
        if matches!(
            self.outbox_state,
            Some(OutboxState::Queued | OutboxState::Sending)
        ) {
            return QueueStatus::InOutbox;
        }
        if self.orphaned {
            return QueueStatus::Orphaned;
        }
        match self.issue {
            Some(IssueKind::LeaseExpired) => return QueueStatus::LeaseExpired,
            Some(IssueKind::RubricChanged) => return QueueStatus::RubricChanged,
            Some(IssueKind::Rejected) => return QueueStatus::SubmitFailed,
            None => {}
        }
        if let Some(s) = self.submission {
            return match s {
                OutcomeStatus::Pending => QueueStatus::Submitted,
                OutcomeStatus::Accepted => QueueStatus::Accepted,
                OutcomeStatus::Rejected => QueueStatus::Rejected,
                // Sent back for revision (expired once its lease runs out).
                OutcomeStatus::NeedsRevision => QueueStatus::NeedsRevision,
            };
        }
        if self.state == AssignmentState::Completed {
            // The platform has a submission this client has not seen yet
            // (made elsewhere, or its outcome is still to be pulled): it is
            // not new work, whatever its (long lapsed) lease says.
            return QueueStatus::Submitted;
        }
        match self.draft_ready {
            Some(true) => QueueStatus::Ready,
            Some(false) => QueueStatus::Draft,
            None => QueueStatus::New,
        }
    }
}

const STATUS_SELECT: &str = "a.orphaned, a.state, a.lease_expires_at, a.local_issue, d.ready, \
     (SELECT ob.state FROM outbox ob WHERE ob.assignment_id = a.id ORDER BY ob.id DESC LIMIT 1), \
     (SELECT s.status FROM submissions s WHERE s.assignment_id = a.id \
        ORDER BY s.received_at DESC LIMIT 1)";

fn status_inputs(r: &Row<'_>, base: usize) -> rusqlite::Result<StatusInputs> {
    Ok(StatusInputs {
        orphaned: r.get::<_, i64>(base)? != 0,
        state: enum_parse(&r.get::<_, String>(base + 1)?)?,
        lease_expires_at: get_ts(r, base + 2)?,
        issue: r
            .get::<_, Option<String>>(base + 3)?
            .and_then(|s| IssueKind::parse(&s)),
        draft_ready: r.get::<_, Option<i64>>(base + 4)?.map(|v| v != 0),
        outbox_state: r
            .get::<_, Option<String>>(base + 5)?
            .and_then(|s| OutboxState::parse(&s)),
        submission: r
            .get::<_, Option<String>>(base + 6)?
            .map(|s| enum_parse(&s))
            .transpose()?,
    })
}

/// The quarantine reasons of an assignment `a`: its item's, its rubric's
/// (both by primary key).
const HELD_BACK_SELECT: &str =
    "(SELECT q.reason FROM quarantine q WHERE q.kind = 'item' AND q.key = a.id), \
     (SELECT q.reason FROM quarantine q WHERE q.kind = 'rubric' \
        AND q.key = a.rubric_id || '@' || a.rubric_version)";

fn held_back(r: &Row<'_>, base: usize) -> rusqlite::Result<Option<HeldBack>> {
    let item: Option<String> = r.get(base)?;
    let rubric: Option<String> = r.get(base + 1)?;
    Ok(match (item, rubric) {
        (Some(reason), _) => Some(HeldBack {
            kind: QuarantineKind::Item,
            reason,
        }),
        (None, Some(reason)) => Some(HeldBack {
            kind: QuarantineKind::Rubric,
            reason,
        }),
        (None, None) => None,
    })
}

/// The queue query over the assignments `only` picks (an SQL condition on
/// `a`, or `1` for all). Item titles come from the covering index
/// `items_scoped_title` (migrations 7 and 12), never from the item rows themselves.
/// Its rows are read by [`queue_row`].
pub(crate) fn queue_sql(only: &str) -> String {
    format!(
        "WITH latest_rate AS ( \
           SELECT opportunity_id, basis, amount_cents, currency, MAX(effective_from) \
           FROM rate_card GROUP BY opportunity_id) \
         SELECT a.id, a.item_id, COALESCE(NULLIF(i.title, ''), a.item_title), \
           a.opportunity_id, o.title, a.kind, \
           a.lease_expires_at, a.due_at, lr.basis, lr.amount_cents, lr.currency, \
           i.assignment_id IS NOT NULL, {STATUS_SELECT}, {HELD_BACK_SELECT} \
         FROM assignments a \
         LEFT JOIN items_scoped i INDEXED BY items_scoped_title ON i.assignment_id = a.id \
         LEFT JOIN opportunities o ON o.id = a.opportunity_id \
         LEFT JOIN drafts d ON d.assignment_id = a.id \
         LEFT JOIN latest_rate lr ON lr.opportunity_id = a.opportunity_id \
         WHERE {only} \
         ORDER BY a.due_at, a.id"
    )
}

/// The query of [`Store::assignments_missing_items`].
pub(crate) fn assignments_missing_items_sql() -> String {
    format!(
        "SELECT {ASSIGNMENT_COLS} FROM assignments a \
         LEFT JOIN items_scoped i INDEXED BY items_scoped_title ON i.assignment_id = a.id \
         WHERE (i.assignment_id IS NULL OR i.item_revision < a.item_revision) \
           AND a.orphaned = 0 AND a.state = 'active' \
         ORDER BY a.due_at, a.id"
    )
}

/// Whether work of this kind earns its opportunity's rate: screening
/// (qualification) work is unpaid whatever the rate card says.
pub(crate) fn earns_rate(kind: AssignmentKind) -> bool {
    kind != AssignmentKind::Screening
}

/// One row of [`queue_sql`] with its status at `now` and the inputs of
/// that status; `None` for orphaned work holding nothing the reviewer
/// wrote, which the queue does not show.
pub(crate) fn queue_row(
    r: &Row<'_>,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<(QueueRow, StatusInputs)>> {
    let inputs = status_inputs(r, 12)?;
    if inputs.orphaned && !inputs.has_work() {
        return Ok(None);
    }
    let kind: AssignmentKind = enum_parse(&r.get::<_, String>(5)?)?;
    let pay = match r.get::<_, Option<String>>(8)? {
        _ if !earns_rate(kind) => None,
        Some(basis) => Some(Pay {
            basis: enum_parse(&basis)?,
            amount_cents: r.get(9)?,
            currency: r.get(10)?,
        }),
        None => None,
    };
    let row = QueueRow {
        assignment_id: r.get(0)?,
        item_id: r.get(1)?,
        title: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        opportunity_id: r.get(3)?,
        opportunity_title: r.get(4)?,
        kind,
        lease_expires_at: get_ts(r, 6)?,
        due_at: get_ts(r, 7)?,
        pay,
        downloaded: r.get(11)?,
        status: inputs.status(now),
        held_back: held_back(r, 19)?,
    };
    Ok(Some((row, inputs)))
}

/// What [`Store::missing_attachments`] computes, as SQL (its definition,
/// and what a test compares it with).
#[cfg(test)]
pub(crate) const MISSING_ATTACHMENTS_SQL: &str =
    "SELECT json_extract(j.value, '$.sha256') AS sha, MAX(json_extract(j.value, '$.size')), \
       MIN(json_extract(j.value, '$.media_type')), MIN(json_extract(j.value, '$.filename')) \
     FROM item_attachment_lists l JOIN assignments a ON a.id = l.assignment_id \
     JOIN json_each(l.refs_json) j \
     LEFT JOIN blobs b ON b.sha256 = json_extract(j.value, '$.sha256') \
     WHERE b.sha256 IS NULL AND a.orphaned = 0 GROUP BY sha ORDER BY sha";

/// One stored attachment reference, read without copying its strings.
#[derive(serde::Deserialize)]
struct StoredRef<'a> {
    #[serde(borrow)]
    sha256: std::borrow::Cow<'a, str>,
    size: u64,
    #[serde(borrow)]
    media_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    filename: std::borrow::Cow<'a, str>,
}

impl StoredRef<'_> {
    /// The reference, its strings owned.
    fn into_owned(self) -> AttachmentRef {
        AttachmentRef {
            sha256: self.sha256.into_owned(),
            size: self.size,
            media_type: self.media_type.into_owned(),
            filename: self.filename.into_owned(),
        }
    }
}

/// An item's stored attachment list (`item_attachment_lists.refs_json`).
fn parse_refs(json: &str) -> Result<Vec<StoredRef<'_>>> {
    serde_json::from_str(json).map_err(StoreError::json("attachment list"))
}

/// Attachment references in a scoped item (only visible fields can have any).
fn attachments_of(item: &ScopedItem) -> Vec<&AttachmentRef> {
    item.fields
        .iter()
        .flat_map(|f| f.value.attachments())
        .collect()
}

/// [`Store::missing_attachments`] on a connection the caller holds.
pub(crate) fn missing_attachments_in(conn: &rusqlite::Connection) -> Result<Vec<AttachmentRef>> {
    use std::collections::{HashMap, HashSet};
    // The assignments not orphaned, read only once a row's digest is not
    // stored: a synced store's rows (52,600 for 10,000 items) all are.
    let mut live: Option<HashSet<String>> = None;
    let mut stored = conn.prepare_cached("SELECT sha256 FROM blobs")?;
    let stored: HashSet<String> = stored
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut missing: HashMap<String, AttachmentRef> = HashMap::new();
    let mut st =
        conn.prepare_cached("SELECT assignment_id, refs_json FROM item_attachment_lists")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> rusqlite::Result<&str> {
            r.get_ref(i)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        };
        let (id, refs) = (text(0)?, parse_refs(text(1)?)?);
        let mut is_live = None;
        for a in refs {
            if stored.contains(a.sha256.as_ref()) {
                continue;
            }
            let live = match &mut live {
                Some(live) => live,
                None => live.insert(
                    conn.prepare_cached("SELECT id FROM assignments WHERE orphaned = 0")?
                        .query_map([], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?,
                ),
            };
            if !*is_live.get_or_insert_with(|| live.contains(id)) {
                break;
            }
            if let Some(m) = missing.get_mut(a.sha256.as_ref()) {
                m.size = m.size.max(a.size);
                if *a.media_type < *m.media_type {
                    m.media_type = a.media_type.into_owned();
                }
                if *a.filename < *m.filename {
                    m.filename = a.filename.into_owned();
                }
            } else {
                let a = a.into_owned();
                missing.insert(a.sha256.clone(), a);
            }
        }
    }
    let mut missing: Vec<AttachmentRef> = missing.into_values().collect();
    missing.sort_unstable_by(|a, b| a.sha256.cmp(&b.sha256));
    Ok(missing)
}

/// One fetched item for [`Store::put_scoped_items`]: the scoped item of an
/// assignment, the reviewed submission and the reviewer's own latest
/// submission the platform served with it.
#[derive(Debug, Clone, Copy)]
pub struct ScopedItemWrite<'a> {
    /// The assignment the item belongs to (must be stored).
    pub assignment_id: &'a str,
    /// The item, already scoped by its rubric.
    pub item: &'a ScopedItem,
    /// The submission a senior review is about, if any.
    pub reviewed: Option<&'a ReviewedSubmission>,
    /// The reviewer's own latest submission as the platform has it (`None` clears it).
    pub own: Option<&'a ReviewedSubmission>,
}

/// Upsert one scoped item and its attachment rows inside `tx`.
fn write_scoped_item(
    tx: &rusqlite::Transaction<'_>,
    assignment_id: &str,
    item: &ScopedItem,
    reviewed: Option<&ReviewedSubmission>,
    own: OwnSubmissionWrite<'_>,
) -> Result<()> {
    let json = serde_json::to_vec(item).map_err(StoreError::json("scoped item"))?;
    let json = crate::packed::pack(&json);
    let reviewed_json = reviewed
        .map(serde_json::to_string)
        .transpose()
        .map_err(StoreError::json("reviewed submission"))?;
    crate::require_assignment(tx, assignment_id)?;
    // The own submission goes into the same statement (setting it with a
    // second one would write the whole row, the item's kilobytes of JSON, a
    // second time); `Keep` leaves a stored row's copy as it is.
    let (set_own, own) = match own {
        OwnSubmissionWrite::Keep => (false, None),
        OwnSubmissionWrite::Set(own) => (true, own),
    };
    let own_json = own
        .map(serde_json::to_string)
        .transpose()
        .map_err(StoreError::json("own submission"))?;
    tx.prepare_cached(
        "INSERT INTO items_scoped (assignment_id, item_id, title, scoped_json, \
           reviewed_submission_json, fetched_at, item_revision, own_submission_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
           (SELECT item_revision FROM assignments WHERE id = ?1), ?7) \
         ON CONFLICT(assignment_id) DO UPDATE SET item_id = excluded.item_id, \
           title = excluded.title, scoped_json = excluded.scoped_json, \
           reviewed_submission_json = excluded.reviewed_submission_json, \
           fetched_at = excluded.fetched_at, item_revision = excluded.item_revision, \
           own_submission_json = CASE WHEN ?8 THEN excluded.own_submission_json \
             ELSE items_scoped.own_submission_json END",
    )?
    .execute(params![
        assignment_id,
        item.item_id,
        item.title,
        json,
        reviewed_json,
        ts(Utc::now()),
        own_json,
        set_own
    ])?;
    let attachments = attachments_of(item);
    for a in &attachments {
        crate::blobs::validate_digest(&a.sha256)?;
    }
    // One reference per digest, the item's last one to it, in the order of
    // those last references.
    let mut last = std::collections::HashMap::with_capacity(attachments.len());
    for (i, a) in attachments.iter().enumerate() {
        last.insert(a.sha256.as_str(), i);
    }
    let refs: Vec<&AttachmentRef> = attachments
        .iter()
        .enumerate()
        .filter(|(i, a)| last.get(a.sha256.as_str()) == Some(i))
        .map(|(_, a)| *a)
        .collect();
    if refs.is_empty() {
        tx.prepare_cached("DELETE FROM item_attachment_lists WHERE assignment_id = ?1")?
            .execute([assignment_id])?;
    } else {
        let refs = serde_json::to_string(&refs).map_err(StoreError::json("attachment list"))?;
        tx.prepare_cached(
            "INSERT INTO item_attachment_lists (assignment_id, refs_json) VALUES (?1, ?2) \
             ON CONFLICT(assignment_id) DO UPDATE SET refs_json = excluded.refs_json",
        )?
        .execute(params![assignment_id, refs])?;
    }
    Ok(())
}

/// What storing an item does to the reviewer's own submission stored with it.
#[derive(Clone, Copy)]
enum OwnSubmissionWrite<'a> {
    /// Leave it as stored (nothing when the item is new).
    Keep,
    /// Set it (`None` clears it).
    Set(Option<&'a ReviewedSubmission>),
}

/// The transaction of [`Store::put_scoped_items`].
fn write_scoped_items(
    conn: &mut rusqlite::Connection,
    items: &[ScopedItemWrite<'_>],
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for w in items {
        write_scoped_item(
            &tx,
            w.assignment_id,
            w.item,
            w.reviewed,
            OwnSubmissionWrite::Set(w.own),
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl Store {
    // ------------------------------------------------------------ assignments

    /// Apply one page of `GET /assignments` and advance the cursor, atomically,
    /// so an interrupted pull resumes from the last applied page.
    ///
    /// Revoked or reassigned assignments are flagged orphaned; their drafts are
    /// kept. Returns the ids that became orphaned while holding a draft.
    pub fn apply_assignment_page(
        &self,
        assignments: &[Assignment],
        next_cursor: &str,
    ) -> Result<Vec<String>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = ts(Utc::now());
        let mut orphaned_with_draft = Vec::new();
        // Prepared once per page, not once per row: parsing this upsert
        // (its constraint checks and DO UPDATE list) cost more than running
        // it, 10,000 times in a bulk pull.
        let mut upsert = tx.prepare_cached(
            "INSERT INTO assignments (id, item_id, opportunity_id, rubric_id, rubric_version, \
               kind, state, assigned_at, lease_expires_at, due_at, review_of_submission_id, \
               seq, orphaned, updated_at, item_title, item_revision) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16) \
             ON CONFLICT(id) DO UPDATE SET item_id=excluded.item_id, \
               opportunity_id=excluded.opportunity_id, rubric_id=excluded.rubric_id, \
               rubric_version=excluded.rubric_version, kind=excluded.kind, \
               state=excluded.state, assigned_at=excluded.assigned_at, \
               lease_expires_at=excluded.lease_expires_at, due_at=excluded.due_at, \
               review_of_submission_id=excluded.review_of_submission_id, seq=excluded.seq, \
               orphaned=excluded.orphaned, updated_at=excluded.updated_at, \
               item_title=excluded.item_title, item_revision=excluded.item_revision \
             WHERE excluded.seq >= assignments.seq",
        )?;
        let mut has_draft =
            tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM drafts WHERE assignment_id = ?1)")?;
        for a in assignments {
            // Revoked, reassigned or released (anything but active, completed
            // or expired): the item leaves the queue; a draft is kept, orphaned.
            let orphaned = !matches!(
                a.state,
                AssignmentState::Active | AssignmentState::Completed | AssignmentState::Expired
            );
            upsert.execute(params![
                a.id,
                a.item_id,
                a.opportunity_id,
                a.rubric_id,
                a.rubric_version,
                enum_str(&a.kind),
                enum_str(&a.state),
                ts(a.assigned_at),
                ts(a.lease_expires_at),
                ts(a.due_at),
                a.review_of_submission_id,
                a.seq,
                i64::from(orphaned),
                now,
                a.item_title,
                a.item_revision,
            ])?;
            if orphaned {
                let drafted: bool = has_draft.query_row([&a.id], |r| r.get(0))?;
                if drafted {
                    tracing::info!(assignment = %a.id, state = ?a.state, "assignment orphaned; draft kept");
                    orphaned_with_draft.push(a.id.clone());
                }
            }
        }
        drop((upsert, has_draft));
        // The page's rows of the queue's index, derived in the same commit
        // (on the pull's writer, while the next page downloads) rather than
        // all at once by the queue's next window on the UI's path, or
        // after the pull.
        crate::queue_index::derive_marked(&tx)?;
        set_cursor_tx(&tx, crate::cursor::ASSIGNMENTS, next_cursor)?;
        tx.commit()?;
        Ok(orphaned_with_draft)
    }

    /// One assignment.
    pub fn assignment(&self, assignment_id: &str) -> Result<Option<Assignment>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                &format!("SELECT {ASSIGNMENT_COLS} FROM assignments a WHERE a.id = ?1"),
                [assignment_id],
                row_to_assignment,
            )
            .optional()?)
    }

    /// Active, non-orphaned assignments whose scoped item is not stored
    /// yet, or is stored at an older revision. Asked on every pull, so the
    /// stored revisions come from the covering index `items_scoped_title`
    /// (migration 12), never from the item rows.
    pub fn assignments_missing_items(&self) -> Result<Vec<Assignment>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&assignments_missing_items_sql())?;
        let rows = st.query_map([], row_to_assignment)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Rubric versions referenced by assignments but not stored.
    pub fn missing_rubrics(&self) -> Result<Vec<(String, u32)>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT DISTINCT a.rubric_id, a.rubric_version FROM assignments a \
             LEFT JOIN rubrics r ON r.id = a.rubric_id AND r.version = a.rubric_version \
             WHERE r.id IS NULL AND a.orphaned = 0 ORDER BY 1, 2",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replace the stored opportunities.
    pub fn put_opportunities(&self, opportunities: &[Opportunity]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        for o in opportunities {
            let json = serde_json::to_string(o).map_err(StoreError::json("opportunity"))?;
            tx.execute(
                "INSERT INTO opportunities (id, title, json) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(id) DO UPDATE SET title = excluded.title, json = excluded.json",
                params![o.id, o.title, json],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether an assignment (not orphaned) names an opportunity that is
    /// not stored.
    pub fn has_work_of_unknown_opportunities(&self) -> Result<bool> {
        Ok(self.conn()?.query_row(
            "SELECT EXISTS(SELECT 1 FROM assignments a WHERE a.orphaned = 0 \
               AND NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.id = a.opportunity_id))",
            [],
            |r| r.get(0),
        )?)
    }

    /// Stored opportunities.
    pub fn opportunities(&self) -> Result<Vec<Opportunity>> {
        self.json_rows("SELECT json FROM opportunities ORDER BY title, id")
    }

    // ------------------------------------------------------------ items, rubrics

    /// Store the rubric-scoped item of an assignment (never the raw item).
    pub fn put_scoped_item(
        &self,
        assignment_id: &str,
        item: &ScopedItem,
        reviewed: Option<&ReviewedSubmission>,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_scoped_item(&tx, assignment_id, item, reviewed, OwnSubmissionWrite::Keep)?;
        tx.commit()?;
        Ok(())
    }

    /// Store several fetched items in one transaction (one commit for all of
    /// them): for each, what [`Store::put_scoped_item`] and then
    /// [`Store::put_own_submission`] do. All or nothing: an unknown assignment
    /// or an invalid attachment digest stores none of them.
    ///
    /// The batch is committed with `synchronous=NORMAL` (no fsync of the WAL
    /// at its commit); every other write of the store stays `FULL`. Why this
    /// cannot lose what matters:
    /// - after a crash of the process alone (SIGKILL), a committed batch is in
    ///   the WAL the OS already holds: nothing is lost at all;
    /// - after a power loss or OS crash, SQLite recovers the WAL's longest
    ///   valid prefix of commits (its frame checksums are chained): the store
    ///   comes back as it was after some commit, whole batches and their
    ///   attachment rows or none of them, never a part of one;
    /// - every later `FULL` commit (a draft, the outbox, quarantine releases,
    ///   blob rows, cursors) fsyncs the WAL up to itself, so the batches
    ///   before it are durable with it: a batch that is lost was the last
    ///   thing written, after every acknowledged draft and outbox entry, and
    ///   nothing stored refers to its items;
    /// - what a lost batch held came from the platform and is fetched again:
    ///   the next pull downloads every active assignment without a stored
    ///   item ([`Store::assignments_missing_items`] reads the rows, no cursor
    ///   claims them).
    pub fn put_scoped_items(&self, items: &[ScopedItemWrite<'_>]) -> Result<()> {
        let mut conn = self.conn()?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let stored = write_scoped_items(&mut conn, items);
        // Back to FULL whatever happened: the next write may be a draft.
        let restored = conn.pragma_update(None, "synchronous", "FULL");
        stored?;
        restored?;
        Ok(())
    }

    /// The scoped item of an assignment.
    pub fn scoped_item(&self, assignment_id: &str) -> Result<Option<ScopedItem>> {
        let stored: Option<rusqlite::types::Value> = crate::opt_column(
            &*self.conn()?,
            "SELECT scoped_json FROM items_scoped WHERE assignment_id = ?1",
            [assignment_id],
        )?;
        stored
            .map(|v| {
                let json = crate::packed::unpack(v, assignment_id)?;
                serde_json::from_slice(&json).map_err(StoreError::json("scoped item"))
            })
            .transpose()
    }

    /// Every stored item's JSON as it was written, by assignment. In the
    /// database file an item's JSON is compressed, so a check that no hidden
    /// or refused value reached the disk must read these besides the file's
    /// bytes. Test support only (the `test-support` feature): no build of
    /// the app has it.
    #[cfg(feature = "test-support")]
    pub fn stored_item_json(&self) -> Result<Vec<(String, String)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT assignment_id, scoped_json FROM items_scoped ORDER BY assignment_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, rusqlite::types::Value>(1)?,
            ))
        })?;
        rows.map(|row| {
            let (id, stored) = row?;
            let json = crate::packed::unpack(stored, &id)?;
            Ok((id, String::from_utf8_lossy(&json).into_owned()))
        })
        .collect()
    }

    /// Store a rubric version.
    pub fn put_rubric(&self, rubric: &Rubric) -> Result<()> {
        let json = serde_json::to_string(rubric).map_err(StoreError::json("rubric"))?;
        self.conn()?.execute(
            "INSERT INTO rubrics (id, version, json) VALUES (?1, ?2, ?3) \
             ON CONFLICT(id, version) DO UPDATE SET json = excluded.json",
            params![rubric.id, rubric.version, json],
        )?;
        Ok(())
    }

    /// A stored rubric version.
    pub fn rubric(&self, id: &str, version: u32) -> Result<Option<Rubric>> {
        self.rubric_json(id, version)?
            .map(|s| serde_json::from_str(&s).map_err(StoreError::json("rubric")))
            .transpose()
    }

    /// A stored rubric version's JSON text, unparsed (callers that cache the
    /// parsed rubric compare texts).
    pub fn rubric_json(&self, id: &str, version: u32) -> Result<Option<String>> {
        let conn = self.conn()?;
        let json = conn
            .prepare_cached("SELECT json FROM rubrics WHERE id = ?1 AND version = ?2")?
            .query_row(params![id, version], |r| r.get(0))
            .optional()?;
        Ok(json)
    }

    // ------------------------------------------------------------ attachments

    /// Attachments referenced by stored items and not yet in the blob store.
    ///
    /// What the query `MISSING_ATTACHMENTS_SQL` (tests) selects (per digest referenced by a
    /// non-orphaned assignment's item and not in `blobs`: the largest size,
    /// the least media type and file name, ordered by digest), computed in
    /// one pass over the items' attachment lists instead: after a bulk pull
    /// they hold 52,600 references for 10,000 items to 315 digests, and
    /// SQLite's `GROUP BY` would sort them all in a temporary B-tree, with a
    /// table lookup of the assignment per reference. The assignments not
    /// orphaned are read only once a reference's digest is not stored.
    pub fn missing_attachments(&self) -> Result<Vec<AttachmentRef>> {
        missing_attachments_in(&*self.conn()?)
    }

    /// Verify the partial download of `sha256` and move it into the blob store.
    pub fn commit_attachment_part(&self, sha256: &str) -> Result<u64> {
        let size = self.blobs.commit_part(sha256)?;
        self.record_blob(sha256, size)?;
        Ok(size)
    }

    /// [`Store::commit_attachment_part`] for a part hashed as it was written
    /// (`digest`, see [`crate::PartDigest`]): verified against `sha256`
    /// without reading the part back. A part that does not verify is deleted
    /// and the error is [`StoreError::BlobCorrupt`], as there.
    pub fn commit_attachment_digest(&self, sha256: &str, digest: crate::PartDigest) -> Result<u64> {
        let size = self.blobs.commit_digested_part(sha256, digest)?;
        self.record_blob(sha256, size)?;
        Ok(size)
    }

    /// Store bytes as a blob; returns their sha256.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(bytes));
        let size = self.blobs.write_verified(&sha, bytes)?;
        self.record_blob(&sha, size)?;
        Ok(sha)
    }

    /// The row of a blob just moved into place.
    fn record_blob(&self, sha256: &str, size: u64) -> Result<()> {
        self.conn()?
            .prepare_cached(
                "INSERT OR REPLACE INTO blobs (sha256, size, stored_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![sha256, size as i64, ts(Utc::now())])?;
        Ok(())
    }

    /// Read an attachment, verifying its hash. A corrupt blob is removed so the
    /// next pull downloads it again, and the error says so.
    pub fn read_attachment(&self, sha256: &str) -> Result<Vec<u8>> {
        match self.blobs.read_verified(sha256) {
            Ok(b) => Ok(b),
            Err(e @ StoreError::BlobCorrupt { .. }) => {
                tracing::error!(
                    sha256,
                    "corrupt attachment removed; it will be downloaded again"
                );
                self.blobs.remove(sha256)?;
                self.conn()?
                    .execute("DELETE FROM blobs WHERE sha256 = ?1", [sha256])?;
                Err(e)
            }
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                self.conn()?
                    .execute("DELETE FROM blobs WHERE sha256 = ?1", [sha256])?;
                Err(StoreError::NotFound(format!("attachment {sha256}")))
            }
            Err(e) => Err(e),
        }
    }

    // ------------------------------------------------------------ queue and detail

    /// The work queue at `now`, ordered by due date: one query, indexed, fit
    /// for 10,000+ rows. Orphaned assignments appear only while they hold
    /// something the reviewer wrote. Leases that ran out before `now` show as
    /// [`QueueStatus::LeaseExpired`] (see [`Store::status_of`]).
    pub fn queue(&self, now: DateTime<Utc>) -> Result<Vec<QueueRow>> {
        let conn = self.conn()?;
        let mut st = conn.prepare_cached(&queue_sql("1"))?;
        let mut out = Vec::new();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            if let Some((row, _)) = queue_row(r, now)? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Status of one assignment at `now`, as the queue shows it. The lease is
    /// judged against `now` (passed in so callers and tests control the clock):
    /// an active assignment whose lease ran out shows as expired before the
    /// platform reports it; its draft is kept.
    pub fn status_of(&self, assignment_id: &str, now: DateTime<Utc>) -> Result<QueueStatus> {
        let conn = self.conn()?;
        status_in(&conn, assignment_id, now)
    }

    /// Why the sync holds `assignment_id`'s content back, if it does.
    pub fn held_back(&self, assignment_id: &str) -> Result<Option<HeldBack>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                &format!("SELECT {HELD_BACK_SELECT} FROM assignments a WHERE a.id = ?1"),
                [assignment_id],
                |r| held_back(r, 0),
            )
            .optional()?
            .flatten())
    }

    /// Everything the item view shows for one assignment, with its status at `now`.
    pub fn item_detail(&self, assignment_id: &str, now: DateTime<Utc>) -> Result<ItemDetail> {
        let assignment = self
            .assignment(assignment_id)?
            .ok_or_else(|| StoreError::NotFound(format!("assignment {assignment_id}")))?;
        let status = self.status_of(assignment_id, now)?;
        let scoped = self.scoped_item(assignment_id)?;
        let draft = self.draft(assignment_id)?;
        let outbox = self.latest_outbox_entry(assignment_id)?;
        let latest_submission = self.latest_submission(assignment_id)?;
        let conn = self.conn()?;
        let (orphaned, issue, issue_msg, reviewed): (
            bool,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = conn.query_row(
            "SELECT a.orphaned, a.local_issue, a.local_issue_message, i.reviewed_submission_json \
                 FROM assignments a LEFT JOIN items_scoped i ON i.assignment_id = a.id \
                 WHERE a.id = ?1",
            [assignment_id],
            |r| Ok((r.get::<_, i64>(0)? != 0, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let reviewed_submission = reviewed
            .map(|s| serde_json::from_str(&s).map_err(StoreError::json("reviewed submission")))
            .transpose()?;
        let issue = issue
            .and_then(|k| IssueKind::parse(&k))
            .map(|kind| ItemIssue {
                kind,
                message: issue_msg.unwrap_or_default(),
            });
        let refs: Option<String> = conn
            .prepare_cached("SELECT refs_json FROM item_attachment_lists WHERE assignment_id = ?1")?
            .query_row([assignment_id], |r| r.get(0))
            .optional()?;
        let mut attachments = Vec::new();
        let mut stored =
            conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM blobs WHERE sha256 = ?1)")?;
        for a in parse_refs(refs.as_deref().unwrap_or("[]"))? {
            attachments.push(AttachmentStatus {
                downloaded: stored.query_row([a.sha256.as_ref()], |r| r.get(0))?,
                attachment: a.into_owned(),
            });
        }
        attachments.sort_by(|a, b| a.attachment.filename.cmp(&b.attachment.filename));
        Ok(ItemDetail {
            assignment,
            status,
            orphaned,
            scoped,
            reviewed_submission,
            draft,
            latest_submission,
            outbox,
            issue,
            attachments,
        })
    }
}

/// The status of one assignment at `now`, read on `conn` (inside a
/// transaction when the caller holds one).
pub(crate) fn status_in(
    conn: &rusqlite::Connection,
    assignment_id: &str,
    now: DateTime<Utc>,
) -> Result<QueueStatus> {
    let inputs = conn
        .query_row(
            &format!(
                "SELECT {STATUS_SELECT} FROM assignments a \
                 LEFT JOIN drafts d ON d.assignment_id = a.id WHERE a.id = ?1"
            ),
            [assignment_id],
            |r| status_inputs(r, 0),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("assignment {assignment_id}")))?;
    Ok(inputs.status(now))
}
