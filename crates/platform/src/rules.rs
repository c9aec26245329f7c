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
    Assignment, AssignmentKind, AssignmentState, FieldValue, Item, ItemEnvelope, Lease,
    LedgerStatus, OutcomeStatus, PayBasis, Payout, Rate, ReviewDecision, ReviewOutcome,
    ReviewReceipt, ReviewRequest, SubmissionReceipt, SubmissionRequest,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{PlatformError, PlatformResult};
use crate::new_id;
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

/// The expert's assignment `id` when it can be answered now by the route
/// for its kind: `POST /reviews` answers senior reviews (`review`), `POST
/// /submissions` every other kind.
fn answerable(
    tx: &mut dyn Tx,
    expert_id: &str,
    id: &str,
    review: bool,
    now: DateTime<Utc>,
) -> PlatformResult<Assignment> {
    let a = owned(tx, expert_id, id)?;
    match (a.kind == AssignmentKind::SeniorReview, review) {
        (true, false) => {
            return Err(PlatformError::BadRequest(format!(
                "assignment {} is a senior review; answer it with POST /reviews",
                a.id
            )))
        }
        (false, true) => {
            return Err(PlatformError::BadRequest(format!(
                "assignment {} is not a senior review",
                a.id
            )))
        }
        _ => {}
    }
    require_workable(&a, now)?;
    Ok(a)
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

/// A receipt of an idempotent request, stored under its idempotency key.
trait Receipt: Serialize + DeserializeOwned {
    /// Marks a stored receipt as the answer to a repeated request.
    fn mark_replayed(&mut self);
}

impl Receipt for SubmissionReceipt {
    fn mark_replayed(&mut self) {
        self.replayed = true;
    }
}

impl Receipt for ReviewReceipt {
    fn mark_replayed(&mut self) {
        self.replayed = true;
    }
}

/// Runs `f` in one transaction with the idempotency record of `key`: a
/// repeated request answers the stored receipt, marked replayed (a different
/// body under the same key is a conflict); a new one runs `f` and stores its
/// receipt in the same transaction.
fn idempotent<S, R>(
    storage: &S,
    expert_id: &str,
    endpoint: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    mut f: impl FnMut(&mut dyn Tx) -> PlatformResult<R>,
) -> PlatformResult<R>
where
    S: Storage + ?Sized,
    R: Receipt,
{
    atomically(storage, |tx| {
        if let Some(mut receipt) = replay::<R>(tx, expert_id, endpoint, key, request_hash)? {
            receipt.mark_replayed();
            return Ok(receipt);
        }
        let receipt = f(tx)?;
        remember(tx, expert_id, endpoint, key, request_hash, &receipt, now)?;
        Ok(receipt)
    })
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
        for att in value.attachments() {
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

    /// An item as the expert may see it: only while one of their
    /// assignments of it is live (not revoked, reassigned or released; the
    /// most recent decides), with the submission a senior review is about
    /// and the expert's own latest submission on that assignment.
    fn item_for_expert(&self, expert_id: &str, item_id: &str) -> PlatformResult<ItemEnvelope> {
        let item = self
            .item(item_id)?
            .ok_or_else(|| PlatformError::not_found(format!("item {item_id}")))?;
        let Some(access) = self.live_assignment_of_item(expert_id, item_id)? else {
            return Err(PlatformError::Forbidden(format!(
                "item {item_id} is not assigned to you"
            )));
        };
        let reviewed_submission = match (access.kind, access.review_of) {
            (AssignmentKind::SeniorReview, Some(sub)) => Some(
                self.submission_view(&sub)?
                    .ok_or_else(|| PlatformError::not_found(format!("submission {sub}")))?,
            ),
            _ => None,
        };
        // For finished work and revisions on another device.
        let own_submission = self.latest_submission(&access.assignment_id, expert_id)?;
        Ok(ItemEnvelope {
            item,
            reviewed_submission,
            own_submission,
        })
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
        idempotent(self, expert_id, SUBMISSIONS, key, request_hash, now, |tx| {
            let a = answerable(tx, expert_id, &req.assignment_id, false, now)?;
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
            Ok(SubmissionReceipt {
                submission_id,
                assignment_id: a.id.clone(),
                received_at: now,
                status: OutcomeStatus::Pending,
                replayed: false,
            })
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
        idempotent(self, expert_id, REVIEWS, key, request_hash, now, |tx| {
            let a = answerable(tx, expert_id, &req.assignment_id, true, now)?;
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
            Ok(ReviewReceipt {
                review_id,
                assignment_id: a.id.clone(),
                submission_id: req.submission_id.clone(),
                decision: req.decision,
                received_at: now,
                replayed: false,
            })
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

#[cfg(test)]
mod tests {
    //! The rules on every backend: SQLite in memory, or a fresh PostgreSQL
    //! database when `ASSAY_TEST_POSTGRES_URL` names a server (as in
    //! `cargo xtask test`).

    use super::*;
    use crate::storage::{NewExpert, PostgresStorage, SqliteStorage};
    use assay_protocol::{AssignmentKind, Opportunity, TimeSpan};

    fn backend() -> Box<dyn Storage> {
        match std::env::var(crate::testing::TEST_POSTGRES_ENV) {
            Ok(server) if !server.trim().is_empty() => {
                let name = format!("assay_rules_{}", uuid::Uuid::new_v4().simple());
                let url = PostgresStorage::create_database(&server, &name).unwrap();
                Box::new(PostgresStorage::connect(&url).unwrap())
            }
            _ => Box::new(SqliteStorage::open_in_memory().unwrap()),
        }
    }

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::hours(h)
    }

    /// One expert, one opportunity (per-hour rate), three items, three assignments.
    fn fixture(basis: PayBasis) -> Box<dyn Storage> {
        let s = backend();
        for id in ["e1", "e2"] {
            let mut e = NewExpert::token_only(id);
            e.profile.senior_reviewer = true;
            s.insert_expert(&e, t(-100)).unwrap();
        }
        let opp = Opportunity {
            id: "o1".into(),
            title: "O".into(),
            description: "d".into(),
            rubric_id: "r".into(),
            rubric_version: 2,
            licence_category: "x".into(),
            buyer: "b".into(),
        };
        let rates = [
            Rate {
                opportunity_id: "o1".into(),
                basis,
                amount_cents: 1000,
                currency: "USD".into(),
                effective_from: t(-50),
            },
            Rate {
                opportunity_id: "o1".into(),
                basis,
                amount_cents: 6000,
                currency: "USD".into(),
                effective_from: t(-10),
            },
        ];
        s.insert_opportunity(&opp, &serde_json::json!({"id": "r"}), &rates)
            .unwrap();
        for i in 1..=3 {
            s.insert_item(&Item {
                id: format!("i{i}"),
                opportunity_id: "o1".into(),
                title: "item".into(),
                fields: BTreeMap::new(),
                created_at: t(-20),
            })
            .unwrap();
            s.create_assignment(&NewAssignment {
                id: format!("a{i}"),
                expert_id: "e1".into(),
                item_id: format!("i{i}"),
                kind: AssignmentKind::Grade,
                assigned_at: t(-5),
                lease_expires_at: t(2),
                due_at: t(24),
                review_of_submission_id: None,
            })
            .unwrap();
        }
        s
    }

    fn req(assignment: &str, version: u32, secs: u64) -> SubmissionRequest {
        SubmissionRequest {
            assignment_id: assignment.into(),
            rubric_id: "r".into(),
            rubric_version: version,
            answers: serde_json::json!({"answers": {}}),
            active_seconds: secs,
            time_log: vec![TimeSpan {
                started_at: t(0),
                ended_at: t(1),
                corrected: false,
            }],
            client_created_at: t(1),
        }
    }

    /// Submissions and ledger entries of both experts.
    fn counts(s: &dyn Storage) -> (usize, usize) {
        let (mut subs, mut ledger) = (0, 0);
        for e in ["e1", "e2"] {
            subs += s.list_outcomes(e, 0, 500).unwrap().rows.len();
            ledger += s.list_ledger(e, 0, 500).unwrap().rows.len();
        }
        (subs, ledger)
    }

    /// The per-item access rule, the same on every backend: only a live
    /// assignment opens an item; a senior review also brings the submission
    /// it reviews, a grader their own latest submission.
    #[test]
    fn item_access_follows_the_live_assignment() {
        let s = fixture(PayBasis::PerItem);
        let env = s.item_for_expert("e1", "i1").unwrap();
        assert_eq!(env.item.id, "i1");
        assert_eq!((env.reviewed_submission, env.own_submission), (None, None));
        assert!(matches!(
            s.item_for_expert("e2", "i1"),
            Err(PlatformError::Forbidden(_))
        ));
        assert!(matches!(
            s.item_for_expert("e1", "nope"),
            Err(PlatformError::NotFound(_))
        ));
        let r = s.submit("e1", "k", "h", &req("a1", 2, 60), t(1)).unwrap();
        let own = s
            .item_for_expert("e1", "i1")
            .unwrap()
            .own_submission
            .unwrap();
        assert_eq!(
            (own.submission_id.as_str(), own.active_seconds),
            (r.submission_id.as_str(), 60)
        );
        // e2 reviews it: the reviewed submission comes with the item, not as e2's own.
        s.create_assignment(&NewAssignment {
            id: "rv1".into(),
            expert_id: "e2".into(),
            item_id: "i1".into(),
            kind: AssignmentKind::SeniorReview,
            assigned_at: t(1),
            lease_expires_at: t(3),
            due_at: t(24),
            review_of_submission_id: Some(r.submission_id.clone()),
        })
        .unwrap();
        let env = s.item_for_expert("e2", "i1").unwrap();
        assert_eq!(
            env.reviewed_submission.unwrap().submission_id,
            r.submission_id
        );
        assert_eq!(env.own_submission, None);
        // A revoked assignment no longer opens its item.
        s.item_for_expert("e1", "i2").unwrap();
        s.revoke_assignment("a2", t(1)).unwrap();
        assert!(matches!(
            s.item_for_expert("e1", "i2"),
            Err(PlatformError::Forbidden(_))
        ));
    }

    #[test]
    fn failed_submissions_store_nothing() {
        let s = fixture(PayBasis::PerItem);
        let err = s
            .submit("e1", "k", "h", &req("a1", 1, 60), t(1))
            .unwrap_err();
        assert!(matches!(
            err,
            PlatformError::RubricVersionMismatch {
                expected_version: 2,
                ..
            }
        ));
        let err = s
            .submit("e2", "k", "h", &req("a1", 2, 60), t(1))
            .unwrap_err();
        assert!(matches!(err, PlatformError::Forbidden(_)));
        let err = s
            .submit("e1", "k", "h", &req("a1", 2, 60), t(3))
            .unwrap_err();
        assert!(matches!(err, PlatformError::LeaseExpired(_)));
        assert_eq!(counts(&*s), (0, 0));
        let a = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(a.state, AssignmentState::Active);
        // No idempotency record was kept either: the key is still fresh.
        let ok = s.submit("e1", "k", "h", &req("a1", 2, 60), t(1)).unwrap();
        assert!(!ok.replayed);
    }

    #[test]
    fn submission_ledger_and_state_commit_together_and_replay() {
        let s = fixture(PayBasis::PerItem);
        let before = s.assignment_for_expert("e1", "a1").unwrap();
        let r = s.submit("e1", "k", "h", &req("a1", 2, 60), t(1)).unwrap();
        assert_eq!(counts(&*s), (1, 1));
        let after = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(after.state, AssignmentState::Completed);
        assert!(after.seq > before.seq);
        // The rate in force at t(1) is the later one.
        let entries = s.list_ledger("e1", 0, 10).unwrap().rows;
        assert_eq!(entries[0].amount_cents, 6000);
        let again = s.submit("e1", "k", "h", &req("a1", 2, 60), t(2)).unwrap();
        assert!(again.replayed);
        assert_eq!(again.submission_id, r.submission_id);
        assert!(matches!(
            s.submit("e1", "k", "other", &req("a1", 2, 61), t(2)),
            Err(PlatformError::Conflict(_))
        ));
        // Keys are per expert.
        assert!(matches!(
            s.submit("e2", "k", "h", &req("a1", 2, 60), t(1)),
            Err(PlatformError::Forbidden(_))
        ));
        assert_eq!(counts(&*s), (1, 1));
    }

    #[test]
    fn per_hour_pay_is_rounded_to_the_cent() {
        let rate = Rate {
            opportunity_id: "o".into(),
            basis: PayBasis::PerHour,
            amount_cents: 9000,
            currency: "USD".into(),
            effective_from: t(0),
        };
        assert_eq!(amount_for(&rate, 3600), 9000);
        assert_eq!(amount_for(&rate, 754), 1885);
        assert_eq!(amount_for(&rate, 0), 0);
        assert!(
            amount_for(&rate, u64::MAX) > 0,
            "saturates instead of overflowing"
        );
        let s = fixture(PayBasis::PerHour);
        s.submit("e1", "k", "h", &req("a1", 2, 1800), t(1)).unwrap();
        assert_eq!(
            s.list_ledger("e1", 0, 10).unwrap().rows[0].amount_cents,
            3000
        );
    }

    #[test]
    fn outcomes_move_ledger_and_payouts_sum_accepted_entries() {
        let s = fixture(PayBasis::PerItem);
        let subs: Vec<String> = ["a1", "a2", "a3"]
            .iter()
            .enumerate()
            .map(|(i, a)| {
                s.submit("e1", &format!("k{i}"), "h", &req(a, 2, 60), t(1))
                    .unwrap()
                    .submission_id
            })
            .collect();
        s.decide_outcome(&subs[0], OutcomeStatus::Accepted, None, t(3))
            .unwrap();
        s.decide_outcome(&subs[1], OutcomeStatus::Rejected, Some("no"), t(3))
            .unwrap();
        s.decide_outcome(&subs[2], OutcomeStatus::NeedsRevision, Some("fix"), t(3))
            .unwrap();
        assert!(matches!(
            s.decide_outcome(&subs[0], OutcomeStatus::Rejected, None, t(4)),
            Err(PlatformError::Conflict(_))
        ));
        // Needs revision re-opens the assignment.
        let a3 = s.assignment_for_expert("e1", "a3").unwrap();
        assert_eq!(a3.state, AssignmentState::Active);
        assert!(a3.lease_expires_at > t(3));
        let payouts = s.create_payout("e1", "bank_transfer", t(5)).unwrap();
        assert_eq!(payouts.len(), 1);
        assert_eq!(payouts[0].amount_cents, 6000);
        assert_eq!(payouts[0].entry_ids.len(), 1);
        let statuses: Vec<LedgerStatus> = {
            let rows = s.list_ledger("e1", 0, 100).unwrap().rows;
            let mut by_sub = BTreeMap::new();
            for e in rows {
                by_sub.insert(e.submission_id.clone(), e.status);
            }
            subs.iter().map(|id| by_sub[id]).collect()
        };
        assert_eq!(
            statuses,
            vec![
                LedgerStatus::Paid,
                LedgerStatus::Reversed,
                LedgerStatus::Reversed
            ]
        );
        assert!(s
            .create_payout("e1", "bank_transfer", t(6))
            .unwrap()
            .is_empty());
        assert_eq!(s.list_payouts("e1").unwrap().len(), 1);
    }

    #[test]
    fn pages_are_ordered_and_report_more() {
        let s = fixture(PayBasis::PerItem);
        let p1 = s.list_assignments("e1", 0, 2).unwrap();
        assert_eq!(p1.rows.len(), 2);
        assert!(p1.has_more);
        let p2 = s.list_assignments("e1", p1.rows[1].seq, 2).unwrap();
        assert_eq!(p2.rows.len(), 1);
        assert!(!p2.has_more);
        assert!(p2.rows[0].seq > p1.rows[1].seq);
        assert!(s.list_assignments("e2", 0, 10).unwrap().rows.is_empty());
    }

    #[test]
    fn active_leases_can_be_extended() {
        let s = fixture(PayBasis::PerItem);
        let before = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(s.extend_active_leases("e1", t(48)).unwrap(), 3);
        let after = s.assignment_for_expert("e1", "a1").unwrap();
        assert_eq!(after.lease_expires_at, t(48));
        assert_eq!(after.due_at, t(48));
        assert!(after.seq > before.seq);
        assert_eq!(s.extend_active_leases("e1", t(10)).unwrap(), 0);
    }

    #[test]
    fn overdue_leases_expire_with_a_new_seq() {
        let s = fixture(PayBasis::PerItem);
        assert_eq!(s.expire_overdue_leases("e1", t(1)).unwrap(), 0);
        let renewed = s
            .renew_lease("e1", "a1", t(1), Duration::hours(100))
            .unwrap();
        assert_eq!(renewed.lease_expires_at, t(24), "capped at the due date");
        assert_eq!(s.expire_overdue_leases("e1", t(3)).unwrap(), 2);
        let a2 = s.assignment_for_expert("e1", "a2").unwrap();
        assert_eq!(a2.state, AssignmentState::Expired);
        assert!(matches!(
            s.renew_lease("e1", "a2", t(3), Duration::hours(1)),
            Err(PlatformError::LeaseExpired(_))
        ));
    }

    #[test]
    fn screening_submissions_get_an_outcome_but_no_pay() {
        let s = fixture(PayBasis::PerHour);
        s.insert_item(&Item {
            id: "q1".into(),
            opportunity_id: "o1".into(),
            title: "qualification".into(),
            fields: BTreeMap::new(),
            created_at: t(-20),
        })
        .unwrap();
        let screening = NewAssignment {
            id: "sq1".into(),
            expert_id: "e1".into(),
            item_id: "q1".into(),
            kind: AssignmentKind::Screening,
            assigned_at: t(-5),
            lease_expires_at: t(2),
            due_at: t(24),
            review_of_submission_id: None,
        };
        let bad = s.create_assignment(&NewAssignment {
            id: "sq0".into(),
            review_of_submission_id: Some("sub-x".into()),
            ..screening.clone()
        });
        assert!(matches!(bad, Err(PlatformError::BadRequest(_))));
        let a = s.create_assignment(&screening).unwrap();
        assert_eq!(a.kind, AssignmentKind::Screening);
        let before = counts(&*s);
        let receipt = s
            .submit("e1", "k-s", "h-s", &req("sq1", 2, 1800), t(1))
            .unwrap();
        let after = counts(&*s);
        assert_eq!(after.0, before.0 + 1, "the submission is stored");
        assert_eq!(after.1, before.1, "no ledger entry for screening");
        let done = s.assignment_for_expert("e1", "sq1").unwrap();
        assert_eq!(done.state, AssignmentState::Completed);
        // A qualification is passed or failed, never sent back for revision;
        // the auto-review sees it is a screening.
        let back = s.decide_outcome(
            &receipt.submission_id,
            OutcomeStatus::NeedsRevision,
            Some("again"),
            t(2),
        );
        assert!(
            matches!(back, Err(PlatformError::BadRequest(_))),
            "{back:?}"
        );
        assert!(s
            .pending_submissions_before(t(3))
            .unwrap()
            .contains(&(receipt.submission_id.clone(), AssignmentKind::Screening)));
        // Passed: the outcome arrives through the outcome feed; still no money.
        let o = s
            .decide_outcome(&receipt.submission_id, OutcomeStatus::Accepted, None, t(2))
            .unwrap();
        assert_eq!(o.status, OutcomeStatus::Accepted);
        let page = s.list_outcomes("e1", 0, 100).unwrap();
        assert!(page
            .rows
            .iter()
            .any(|r| r.submission_id == receipt.submission_id));
        assert!(s.list_ledger("e1", 0, 100).unwrap().rows.is_empty());
        assert_eq!(counts(&*s).1, before.1);
    }
}
