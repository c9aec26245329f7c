//! The platform's business rules, written once over the [`Storage`] trait so
//! that every backend (SQLite, PostgreSQL) behaves the same: who may work on
//! an assignment and until when, which state follows which, what work pays,
//! idempotent replays, item revisions and imports. Backends only store; each
//! operation here runs in one [`Storage::transaction`].
//!
//! The operations are methods of [`Rules`], which every [`Storage`] has
//! (`use crate::rules::Rules` and call `storage.submit(...)`).

use std::collections::BTreeMap;

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, FieldValue, Item, Lease, LedgerStatus,
    OutcomeStatus, PayBasis, Payout, Rate, ReviewDecision, ReviewOutcome, ReviewReceipt,
    ReviewRequest, SubmissionReceipt, SubmissionRequest,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{PlatformError, PlatformResult};
use crate::storage::{
    AssignmentRecord, ImportKey, ImportOp, NewAssignment, NewLedgerEntry, NewReview, NewSubmission,
    Storage, Tx,
};

/// Lease granted when a "needs revision" outcome re-opens an assignment.
pub const REVISION_LEASE: Duration = Duration::hours(48);

/// Idempotency scope of `POST /submissions`.
const SUBMISSIONS: &str = "submissions";
/// Idempotency scope of `POST /reviews`.
const REVIEWS: &str = "reviews";

/// Earnings for one submission under a rate.
pub fn amount_for(rate: &Rate, active_seconds: u64) -> i64 {
    match rate.basis {
        PayBasis::PerItem | PayBasis::PerSubmission => rate.amount_cents,
        PayBasis::PerHour => {
            let secs = i64::try_from(active_seconds).unwrap_or(i64::MAX);
            // Rounded to the nearest cent; saturating so absurd input cannot overflow.
            rate.amount_cents.saturating_mul(secs).saturating_add(1800) / 3600
        }
    }
}

/// Earnings for one senior review: the hourly rate for active time, or half
/// the per-item / per-submission rate.
pub fn review_amount(rate: &Rate, active_seconds: u64) -> i64 {
    match rate.basis {
        PayBasis::PerHour => amount_for(rate, active_seconds),
        PayBasis::PerItem | PayBasis::PerSubmission => rate.amount_cents / 2,
    }
}

/// Wire name of a unit enum (`"active"`, `"senior_review"`...), for messages.
fn wire_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Run `f` in one transaction of `storage` and return what it returned.
fn atomically<S, T>(
    storage: &S,
    mut f: impl FnMut(&mut dyn Tx) -> PlatformResult<T>,
) -> PlatformResult<T>
where
    S: Storage + ?Sized,
{
    let mut out = None;
    storage.transaction(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| PlatformError::Corrupt("a transaction returned no result".into()))
}

fn load(tx: &mut dyn Tx, id: &str) -> PlatformResult<AssignmentRecord> {
    tx.assignment(id)?
        .ok_or_else(|| PlatformError::not_found(format!("assignment {id}")))
}

/// The assignment, if it is the expert's.
fn owned(tx: &mut dyn Tx, expert_id: &str, id: &str) -> PlatformResult<Assignment> {
    owned_by(load(tx, id)?, expert_id)
}

/// Only the expert holding an assignment may see or work on it.
fn owned_by(row: AssignmentRecord, expert_id: &str) -> PlatformResult<Assignment> {
    let id = &row.assignment.id;
    if row.expert_id != expert_id {
        return Err(PlatformError::Forbidden(format!(
            "assignment {id} belongs to another expert"
        )));
    }
    Ok(row.assignment)
}

/// Whether work on an assignment is still allowed: it must be active and
/// its lease must not have run out.
pub fn require_workable(a: &Assignment, now: DateTime<Utc>) -> PlatformResult<()> {
    match a.state {
        AssignmentState::Active => {}
        AssignmentState::Expired => {
            return Err(PlatformError::LeaseExpired(format!(
                "the lease of assignment {} has expired",
                a.id
            )))
        }
        AssignmentState::Completed => {
            return Err(PlatformError::Conflict(format!(
                "assignment {} already has a submission",
                a.id
            )))
        }
        other => {
            return Err(PlatformError::Conflict(format!(
                "assignment {} is no longer yours ({})",
                a.id,
                wire_name(&other)
            )))
        }
    }
    if a.lease_expires_at <= now {
        return Err(PlatformError::LeaseExpired(format!(
            "the lease of assignment {} expired at {}",
            a.id,
            rfc3339(a.lease_expires_at)
        )));
    }
    Ok(())
}

/// The lease a renewal grants: `ttl` from now, never past the due date, and
/// never shorter than the lease already held.
pub fn renewed_lease(a: &Assignment, now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    std::cmp::min(now + ttl, a.due_at).max(a.lease_expires_at)
}

/// Replay (`Some`) or refuse a request whose idempotency key was seen before.
fn replay<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    expert_id: &str,
    endpoint: &str,
    key: &str,
    request_hash: &str,
) -> PlatformResult<Option<T>> {
    match tx.idempotency_record(expert_id, endpoint, key)? {
        None => Ok(None),
        Some((hash, _)) if hash != request_hash => Err(PlatformError::Conflict(format!(
            "idempotency key {key:?} was already used with a different request body"
        ))),
        Some((_, response)) => serde_json::from_value(response)
            .map(Some)
            .map_err(|e| PlatformError::Corrupt(format!("stored response: {e}"))),
    }
}

fn remember<T: Serialize>(
    tx: &mut dyn Tx,
    expert_id: &str,
    endpoint: &str,
    key: &str,
    request_hash: &str,
    response: &T,
    now: DateTime<Utc>,
) -> PlatformResult<()> {
    let response = serde_json::to_value(response)
        .map_err(|e| PlatformError::Corrupt(format!("serialise a response: {e}")))?;
    tx.insert_idempotency_record(expert_id, endpoint, key, request_hash, &response, now)
}

fn rate_in_force(
    tx: &mut dyn Tx,
    opportunity_id: &str,
    now: DateTime<Utc>,
) -> PlatformResult<Rate> {
    tx.rate_at(opportunity_id, now)?.ok_or_else(|| {
        PlatformError::Conflict(format!("opportunity {opportunity_id} has no rate in force"))
    })
}

fn set_state(tx: &mut dyn Tx, a: &Assignment, state: AssignmentState) -> PlatformResult<()> {
    tx.update_assignment(&a.id, state, a.lease_expires_at, a.due_at)
}

/// Link the attachments of `fields` to the item, refusing blobs never uploaded.
fn link_attachments(
    tx: &mut dyn Tx,
    item_id: &str,
    fields: &BTreeMap<String, FieldValue>,
) -> PlatformResult<()> {
    for value in fields.values() {
        if let FieldValue::Attachment(att) = value {
            if !tx.blob_exists(&att.sha256)? {
                return Err(PlatformError::BadRequest(format!(
                    "item {item_id} references unknown blob {}",
                    att.sha256
                )));
            }
            tx.link_blob(item_id, &att.sha256)?;
        }
    }
    Ok(())
}

/// Give every assignment of the item a new `seq`, so experts' next
/// incremental sync sees its new revision. Returns how many.
fn republish(tx: &mut dyn Tx, item_id: &str) -> PlatformResult<u32> {
    let rows = tx.item_assignments(item_id)?;
    for r in &rows {
        tx.touch_assignment(&r.assignment.id)?;
    }
    Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
}

/// Record the outcome of a pending submission and move its ledger entries.
fn apply_outcome(
    tx: &mut dyn Tx,
    submission_id: &str,
    status: OutcomeStatus,
    feedback: Option<&str>,
    now: DateTime<Utc>,
) -> PlatformResult<ReviewOutcome> {
    let (author, current) = tx
        .outcome(submission_id)?
        .ok_or_else(|| PlatformError::not_found(format!("submission {submission_id}")))?;
    if status == OutcomeStatus::Pending {
        return Err(PlatformError::BadRequest(
            "an outcome must be accepted, rejected or needs_revision".into(),
        ));
    }
    let graded = load(tx, &current.assignment_id)?.assignment;
    if status == OutcomeStatus::NeedsRevision && graded.kind == AssignmentKind::Screening {
        return Err(PlatformError::BadRequest(
            "a screening is passed or failed: accept or reject it".into(),
        ));
    }
    if current.status != OutcomeStatus::Pending {
        return Err(PlatformError::Conflict(format!(
            "submission {submission_id} was already decided ({})",
            wire_name(&current.status)
        )));
    }
    tx.set_outcome(submission_id, status, feedback, now)?;
    let ledger_status = match status {
        OutcomeStatus::Accepted => LedgerStatus::Accepted,
        _ => LedgerStatus::Reversed,
    };
    for entry in tx.ledger_entries(&author, LedgerStatus::Pending, Some(submission_id), false)? {
        tx.update_ledger_entry(&entry.id, ledger_status, None, now)?;
    }
    if status == OutcomeStatus::NeedsRevision {
        // The expert gets the item back to revise it, with time to do so.
        let lease = now + REVISION_LEASE;
        tx.update_assignment(
            &graded.id,
            AssignmentState::Active,
            lease,
            graded.due_at.max(lease),
        )?;
    }
    // Senior reviews still open on this submission are moot now.
    for review in tx.review_assignments(submission_id)? {
        if review.assignment.state == AssignmentState::Active {
            set_state(tx, &review.assignment, AssignmentState::Revoked)?;
        }
    }
    tx.outcome(submission_id)?
        .map(|(_, o)| o)
        .ok_or_else(|| PlatformError::not_found(format!("submission {submission_id}")))
}

/// Check a new assignment against its item and store it.
fn create_assignment_in(tx: &mut dyn Tx, n: &NewAssignment) -> PlatformResult<Assignment> {
    let grading = tx
        .item_grading(&n.item_id)?
        .ok_or_else(|| PlatformError::not_found(format!("item {}", n.item_id)))?;
    if !tx.expert_exists(&n.expert_id)? {
        return Err(PlatformError::not_found(format!("expert {}", n.expert_id)));
    }
    match (n.kind, &n.review_of_submission_id) {
        (AssignmentKind::SeniorReview, Some(sub)) => {
            let (_, outcome) = tx
                .outcome(sub)?
                .ok_or_else(|| PlatformError::not_found(format!("submission {sub}")))?;
            if outcome.item_id != n.item_id {
                return Err(PlatformError::BadRequest(format!(
                    "submission {sub} is not about item {}",
                    n.item_id
                )));
            }
        }
        (AssignmentKind::SeniorReview, None) => {
            return Err(PlatformError::BadRequest(
                "a senior review assignment needs review_of_submission_id".into(),
            ))
        }
        (AssignmentKind::Grade | AssignmentKind::Screening, Some(_)) => {
            return Err(PlatformError::BadRequest(
                "review_of_submission_id is only for senior review".into(),
            ))
        }
        (AssignmentKind::Grade | AssignmentKind::Screening, None) => {}
    }
    tx.insert_assignment(n, &grading)?;
    Ok(load(tx, &n.id)?.assignment)
}

/// The business operations of the platform, available on every [`Storage`].
pub trait Rules: Storage {
    /// Store an item; attachment fields must name blobs already stored.
    fn insert_item(&self, item: &Item) -> PlatformResult<()> {
        atomically(self, |tx| {
            if !tx.insert_item(item, None)? {
                return Err(PlatformError::Conflict(format!(
                    "item {} already exists",
                    item.id
                )));
            }
            link_attachments(tx, &item.id, &item.fields)
        })
    }

    /// Re-publish an item with changed content: `fields` replace the fields
    /// of the same id (others are kept), the item's revision goes up by one
    /// and every assignment of the item gets a new `seq`, so experts' next
    /// incremental sync sees the new revision and re-fetches the item.
    /// Returns the new revision and the number of assignments re-published.
    fn update_item_fields(
        &self,
        item_id: &str,
        fields: &BTreeMap<String, FieldValue>,
    ) -> PlatformResult<(u32, u32)> {
        atomically(self, |tx| {
            let current = tx
                .item_content(item_id)?
                .ok_or_else(|| PlatformError::not_found(format!("item {item_id}")))?;
            link_attachments(tx, item_id, fields)?;
            let mut merged = current.fields;
            merged.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            let revision = tx
                .replace_item_content(item_id, current.revision, &current.title, &merged)?
                .ok_or_else(|| {
                    PlatformError::Conflict(format!("item {item_id} changed meanwhile"))
                })?;
            Ok((revision, republish(tx, item_id)?))
        })
    }

    /// Apply a batch of import changes atomically (all or nothing). Returns
    /// each op's item id and revision, in order. Re-importing changed
    /// content raises the item's revision and re-publishes its assignments.
    fn apply_import(
        &self,
        opportunity_id: &str,
        ops: &[ImportOp],
    ) -> PlatformResult<Vec<(String, u32)>> {
        atomically(self, |tx| {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                match op {
                    ImportOp::Insert {
                        item,
                        external_id,
                        rubric_id,
                        rubric_version,
                    } => {
                        if item.opportunity_id != opportunity_id {
                            return Err(PlatformError::BadRequest(format!(
                                "item {} is not in opportunity {opportunity_id}",
                                item.id
                            )));
                        }
                        let key = ImportKey {
                            external_id,
                            rubric_id,
                            rubric_version: *rubric_version,
                        };
                        if !tx.insert_item(item, Some(&key))? {
                            return Err(PlatformError::Conflict(format!(
                                "external id {external_id} was imported concurrently; import again"
                            )));
                        }
                        link_attachments(tx, &item.id, &item.fields)?;
                        out.push((item.id.clone(), 1));
                    }
                    ImportOp::Replace {
                        item_id,
                        expected_revision,
                        title,
                        fields,
                    } => {
                        let in_opportunity = tx
                            .item_grading(item_id)?
                            .is_some_and(|g| g.opportunity_id == opportunity_id);
                        let revision = if in_opportunity {
                            tx.replace_item_content(item_id, *expected_revision, title, fields)?
                        } else {
                            None
                        };
                        let revision = revision.ok_or_else(|| {
                            PlatformError::Conflict(format!(
                                "item {item_id} changed while it was being imported; import again"
                            ))
                        })?;
                        link_attachments(tx, item_id, fields)?;
                        republish(tx, item_id)?;
                        out.push((item_id.clone(), revision));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Create an assignment of an item (graded with the rubric version the
    /// item pins); a senior review names the submission it reviews.
    fn create_assignment(&self, new: &NewAssignment) -> PlatformResult<Assignment> {
        atomically(self, |tx| create_assignment_in(tx, new))
    }

    /// The assignment, if it is the expert's (else forbidden).
    fn assignment_for_expert(&self, expert_id: &str, id: &str) -> PlatformResult<Assignment> {
        let row = self
            .assignment_record(id)?
            .ok_or_else(|| PlatformError::not_found(format!("assignment {id}")))?;
        owned_by(row, expert_id)
    }

    /// Extend the lease of workable work (see [`renewed_lease`]).
    fn renew_lease(
        &self,
        expert_id: &str,
        id: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> PlatformResult<Lease> {
        atomically(self, |tx| {
            let a = owned(tx, expert_id, id)?;
            require_workable(&a, now)?;
            let expires = renewed_lease(&a, now, ttl);
            tx.update_assignment(id, a.state, expires, a.due_at)?;
            Ok(Lease {
                assignment_id: id.to_owned(),
                lease_expires_at: expires,
            })
        })
    }

    /// The expert gives active work back.
    fn release_assignment(
        &self,
        expert_id: &str,
        id: &str,
        _now: DateTime<Utc>,
    ) -> PlatformResult<Assignment> {
        atomically(self, |tx| {
            let a = owned(tx, expert_id, id)?;
            if a.state != AssignmentState::Active {
                return Err(PlatformError::Conflict(format!(
                    "assignment {id} is not active ({})",
                    wire_name(&a.state)
                )));
            }
            set_state(tx, &a, AssignmentState::Released)?;
            Ok(load(tx, id)?.assignment)
        })
    }

    /// The platform takes active work away.
    fn revoke_assignment(&self, id: &str, _now: DateTime<Utc>) -> PlatformResult<Assignment> {
        atomically(self, |tx| {
            let a = load(tx, id)?.assignment;
            if a.state != AssignmentState::Active {
                return Err(PlatformError::Conflict(format!(
                    "assignment {id} is not active"
                )));
            }
            set_state(tx, &a, AssignmentState::Revoked)?;
            Ok(load(tx, id)?.assignment)
        })
    }

    /// Mark `id` reassigned and create a fresh assignment of the item for `to_expert`.
    fn reassign_assignment(
        &self,
        id: &str,
        to_expert: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> PlatformResult<Assignment> {
        atomically(self, |tx| {
            let row = load(tx, id)?;
            let a = row.assignment;
            if a.state != AssignmentState::Active {
                return Err(PlatformError::Conflict(format!(
                    "assignment {id} is not active"
                )));
            }
            if row.expert_id == to_expert {
                return Err(PlatformError::BadRequest(
                    "cannot reassign an assignment to its current expert".into(),
                ));
            }
            if !tx.expert_exists(to_expert)? {
                return Err(PlatformError::not_found(format!("expert {to_expert}")));
            }
            set_state(tx, &a, AssignmentState::Reassigned)?;
            let new = NewAssignment {
                id: new_id("asg"),
                expert_id: to_expert.to_owned(),
                item_id: a.item_id.clone(),
                kind: a.kind,
                assigned_at: now,
                lease_expires_at: now + ttl,
                due_at: a.due_at.max(now + ttl),
                review_of_submission_id: a.review_of_submission_id.clone(),
            };
            let grading = crate::storage::ItemGrading {
                opportunity_id: a.opportunity_id.clone(),
                rubric_id: a.rubric_id.clone(),
                rubric_version: a.rubric_version,
            };
            tx.insert_assignment(&new, &grading)?;
            Ok(load(tx, &new.id)?.assignment)
        })
    }

    /// Set a lease as is (admin, tests).
    fn set_lease(&self, id: &str, lease_expires_at: DateTime<Utc>) -> PlatformResult<Lease> {
        atomically(self, |tx| {
            let a = load(tx, id)?.assignment;
            tx.update_assignment(id, a.state, lease_expires_at, a.due_at)?;
            Ok(Lease {
                assignment_id: id.to_owned(),
                lease_expires_at,
            })
        })
    }

    /// Mark the expert's active assignments whose lease ran out as expired
    /// (each gets a new `seq`, so clients learn about it). Returns how many.
    fn expire_overdue_leases(&self, expert_id: &str, now: DateTime<Utc>) -> PlatformResult<usize> {
        atomically(self, |tx| {
            let due = tx.assignments_leased_until(expert_id, AssignmentState::Active, now, true)?;
            for r in &due {
                set_state(tx, &r.assignment, AssignmentState::Expired)?;
            }
            Ok(due.len())
        })
    }

    /// Extend every active lease of the expert that ends before `until` to
    /// `until` (moving due dates along); the demo uses it on restart.
    fn extend_active_leases(&self, expert_id: &str, until: DateTime<Utc>) -> PlatformResult<usize> {
        atomically(self, |tx| {
            let rows =
                tx.assignments_leased_until(expert_id, AssignmentState::Active, until, false)?;
            for r in &rows {
                let a = &r.assignment;
                tx.update_assignment(&a.id, a.state, until, a.due_at.max(until))?;
            }
            Ok(rows.len())
        })
    }

    /// Idempotent submission: the submission, its (pending) ledger entry,
    /// the assignment's completion and the idempotency record commit
    /// together. `request_hash` is the hash of the canonical request body;
    /// `key` the client's idempotency key (per expert).
    fn submit(
        &self,
        expert_id: &str,
        key: &str,
        request_hash: &str,
        req: &SubmissionRequest,
        now: DateTime<Utc>,
    ) -> PlatformResult<SubmissionReceipt> {
        atomically(self, |tx| {
            if let Some(mut receipt) =
                replay::<SubmissionReceipt>(tx, expert_id, SUBMISSIONS, key, request_hash)?
            {
                receipt.replayed = true;
                return Ok(receipt);
            }
            let a = owned(tx, expert_id, &req.assignment_id)?;
            if a.kind == AssignmentKind::SeniorReview {
                return Err(PlatformError::BadRequest(format!(
                    "assignment {} is a senior review; answer it with POST /reviews",
                    a.id
                )));
            }
            require_workable(&a, now)?;
            if req.rubric_id != a.rubric_id || req.rubric_version != a.rubric_version {
                return Err(PlatformError::RubricVersionMismatch {
                    message: format!(
                        "assignment {} is graded with rubric {} v{}, not {} v{}",
                        a.id, a.rubric_id, a.rubric_version, req.rubric_id, req.rubric_version
                    ),
                    expected_id: a.rubric_id.clone(),
                    expected_version: a.rubric_version,
                });
            }
            let submission_id = new_id("sub");
            tx.insert_submission(&NewSubmission {
                id: &submission_id,
                expert_id,
                assignment: &a,
                request: req,
                status: OutcomeStatus::Pending,
                received_at: now,
            })?;
            // Screening (qualification) work is unpaid: it gets an outcome
            // (passed = accepted, failed = rejected) but no ledger entry.
            if a.kind == AssignmentKind::Grade {
                let rate = rate_in_force(tx, &a.opportunity_id, now)?;
                tx.insert_ledger_entry(&NewLedgerEntry {
                    expert_id,
                    submission_id: &submission_id,
                    assignment: &a,
                    amount_cents: amount_for(&rate, req.active_seconds),
                    currency: &rate.currency,
                    status: LedgerStatus::Pending,
                    now,
                })?;
            }
            set_state(tx, &a, AssignmentState::Completed)?;
            let receipt = SubmissionReceipt {
                submission_id,
                assignment_id: a.id.clone(),
                received_at: now,
                status: OutcomeStatus::Pending,
                replayed: false,
            };
            remember(tx, expert_id, SUBMISSIONS, key, request_hash, &receipt, now)?;
            Ok(receipt)
        })
    }

    /// Idempotent senior review; the decision becomes the reviewed
    /// submission's outcome and the reviewer is paid (accepted at once:
    /// review work is not itself reviewed).
    fn review(
        &self,
        expert_id: &str,
        key: &str,
        request_hash: &str,
        req: &ReviewRequest,
        now: DateTime<Utc>,
    ) -> PlatformResult<ReviewReceipt> {
        atomically(self, |tx| {
            if let Some(mut receipt) =
                replay::<ReviewReceipt>(tx, expert_id, REVIEWS, key, request_hash)?
            {
                receipt.replayed = true;
                return Ok(receipt);
            }
            let a = owned(tx, expert_id, &req.assignment_id)?;
            if a.kind != AssignmentKind::SeniorReview {
                return Err(PlatformError::BadRequest(format!(
                    "assignment {} is not a senior review",
                    a.id
                )));
            }
            require_workable(&a, now)?;
            if a.review_of_submission_id.as_deref() != Some(req.submission_id.as_str()) {
                return Err(PlatformError::BadRequest(format!(
                    "assignment {} reviews a different submission than {}",
                    a.id, req.submission_id
                )));
            }
            if matches!(
                req.decision,
                ReviewDecision::Reject | ReviewDecision::RequestRevision
            ) && req.feedback.as_deref().is_none_or(|f| f.trim().is_empty())
            {
                return Err(PlatformError::ValidationFailed {
                    message: "rejecting or requesting a revision needs feedback for the expert"
                        .into(),
                    details: serde_json::json!({"field": "feedback"}),
                });
            }
            let review_id = new_id("rev");
            tx.insert_review(&NewReview {
                id: &review_id,
                assignment_id: &a.id,
                reviewer_id: expert_id,
                request: req,
                received_at: now,
            })?;
            set_state(tx, &a, AssignmentState::Completed)?;
            let status = match req.decision {
                ReviewDecision::Accept => OutcomeStatus::Accepted,
                ReviewDecision::Reject => OutcomeStatus::Rejected,
                ReviewDecision::RequestRevision => OutcomeStatus::NeedsRevision,
            };
            apply_outcome(tx, &req.submission_id, status, req.feedback.as_deref(), now)?;
            let rate = rate_in_force(tx, &a.opportunity_id, now)?;
            tx.insert_ledger_entry(&NewLedgerEntry {
                expert_id,
                submission_id: &req.submission_id,
                assignment: &a,
                amount_cents: review_amount(&rate, req.active_seconds),
                currency: &rate.currency,
                status: LedgerStatus::Accepted,
                now,
            })?;
            let receipt = ReviewReceipt {
                review_id,
                assignment_id: a.id.clone(),
                submission_id: req.submission_id.clone(),
                decision: req.decision,
                received_at: now,
                replayed: false,
            };
            remember(tx, expert_id, REVIEWS, key, request_hash, &receipt, now)?;
            Ok(receipt)
        })
    }

    /// Platform decision on a submission (admin, auto-review).
    fn decide_outcome(
        &self,
        submission_id: &str,
        status: OutcomeStatus,
        feedback: Option<&str>,
        now: DateTime<Utc>,
    ) -> PlatformResult<ReviewOutcome> {
        atomically(self, |tx| {
            apply_outcome(tx, submission_id, status, feedback, now)
        })
    }

    /// Pay out all accepted, unpaid entries of the expert: one payout per
    /// currency; empty when nothing is payable.
    fn create_payout(
        &self,
        expert_id: &str,
        method: &str,
        now: DateTime<Utc>,
    ) -> PlatformResult<Vec<Payout>> {
        atomically(self, |tx| {
            let entries = tx.ledger_entries(expert_id, LedgerStatus::Accepted, None, true)?;
            let mut by_currency: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
            for e in entries {
                by_currency
                    .entry(e.currency)
                    .or_default()
                    .push((e.id, e.amount_cents));
            }
            let mut payouts = Vec::new();
            for (currency, entries) in by_currency {
                let total = entries
                    .iter()
                    .try_fold(0i64, |sum, (_, a)| sum.checked_add(*a))
                    .ok_or_else(|| {
                        PlatformError::Conflict(format!(
                            "the payable entries of {expert_id} in {currency} overflow a payout"
                        ))
                    })?;
                let payout = Payout {
                    id: new_id("pay"),
                    amount_cents: total,
                    currency,
                    paid_at: now,
                    method: method.to_owned(),
                    entry_ids: entries.into_iter().map(|(id, _)| id).collect(),
                };
                tx.insert_payout(expert_id, &payout)?;
                for id in &payout.entry_ids {
                    tx.update_ledger_entry(id, LedgerStatus::Paid, Some(&payout.id), now)?;
                }
                payouts.push(payout);
            }
            Ok(payouts)
        })
    }
}

impl<S: Storage + ?Sized> Rules for S {}
