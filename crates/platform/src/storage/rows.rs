//! Row mapping shared by the backends: each stored record implements
//! [`FromRow`] once, reading its columns by name through [`Columns`], which
//! each backend implements for its row type (SQLite keeps timestamps as
//! RFC 3339 text, PostgreSQL as `timestamptz`; both keep JSON as text and
//! enums by their wire names). The `SELECT` lists here are valid in both.

use assay_protocol::{
    Assignment, AssignmentKind, ExpertProfile, Item, LedgerEntry, Opportunity, Payout, Rate,
    ReviewOutcome, ReviewedSubmission,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{de::DeserializeOwned, Serialize};

use super::{
    AssignmentRecord, BlobMeta, ExpertCredentials, ExportRecord, ImportedItem, ItemContent,
    ItemGrading, Page, TokenRecord,
};
use crate::auth::Role;
use crate::error::{PlatformError, PlatformResult};

/// Columns of an [`AssignmentRecord`] (with the item's revision and title).
pub(super) const ASSIGNMENT_SELECT: &str =
    "SELECT id, expert_id, item_id, opportunity_id, rubric_id, \
     rubric_version, kind, state, assigned_at, lease_expires_at, due_at, \
     review_of_submission_id, seq, \
     (SELECT i.revision FROM items i WHERE i.id = assignments.item_id) AS item_revision, \
     COALESCE((SELECT i.title FROM items i WHERE i.id = assignments.item_id), '') AS item_title \
     FROM assignments";

pub(super) const LEDGER_SELECT: &str =
    "SELECT id, submission_id, assignment_id, item_id, opportunity_id, \
     amount_cents, currency, status, payout_id, created_at, updated_at, seq FROM ledger";

pub(super) const OUTCOME_SELECT: &str =
    "SELECT id, expert_id, assignment_id, item_id, status, feedback, \
     decided_at, outcome_seq, active_seconds FROM submissions";

pub(super) const OPPORTUNITY_SELECT: &str =
    "SELECT id, title, description, rubric_id, rubric_version, \
     licence_category, buyer FROM opportunities";

pub(super) const RATE_SELECT: &str =
    "SELECT opportunity_id, basis, amount_cents, currency, effective_from FROM rates";

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_ts(s: &str) -> PlatformResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| PlatformError::Corrupt(format!("bad timestamp {s:?}: {e}")))
}

/// Wire name of a unit enum (`"active"`, `"senior_review"`...).
pub(super) fn enum_str<T: Serialize>(v: &T) -> PlatformResult<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(PlatformError::Corrupt(
            "enum did not serialise to a string".into(),
        )),
    }
}

pub(super) fn parse_enum<T: DeserializeOwned>(s: &str) -> PlatformResult<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| PlatformError::Corrupt(format!("bad enum value {s:?}: {e}")))
}

pub(super) fn to_json<T: Serialize>(v: &T) -> PlatformResult<String> {
    serde_json::to_string(v).map_err(|e| PlatformError::Corrupt(format!("serialise: {e}")))
}

pub(super) fn from_json<T: DeserializeOwned>(s: &str) -> PlatformResult<T> {
    serde_json::from_str(s).map_err(|e| PlatformError::Corrupt(format!("stored json: {e}")))
}

pub(super) fn sql_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A `COUNT(*)` as a number of rows.
pub(super) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `Ok` when a write changed a row, else the error `otherwise` makes (the
/// row it had to change is not there, or was there already).
pub(super) fn changed(
    changed: bool,
    otherwise: impl FnOnce() -> PlatformError,
) -> PlatformResult<()> {
    if changed {
        Ok(())
    } else {
        Err(otherwise())
    }
}

/// No expert has the id.
pub(super) fn no_expert(expert_id: &str) -> PlatformError {
    PlatformError::not_found(format!("expert {expert_id}"))
}

/// No token with the id is active (unknown, or revoked already).
pub(super) fn no_active_token(token_id: &str) -> PlatformError {
    PlatformError::not_found(format!("active token {token_id}"))
}

/// The rubric version exists (published versions never change).
pub(super) fn rubric_published(id: &str, version: u32) -> PlatformError {
    PlatformError::Conflict(format!(
        "rubric {id} version {version} is already published"
    ))
}

/// Typed access to a row's columns by name.
pub(super) trait Columns {
    fn text(&self, name: &str) -> PlatformResult<String>;
    fn opt_text(&self, name: &str) -> PlatformResult<Option<String>>;
    /// Any integer column, widened.
    fn int(&self, name: &str) -> PlatformResult<i64>;
    fn flag(&self, name: &str) -> PlatformResult<bool>;
    fn time(&self, name: &str) -> PlatformResult<DateTime<Utc>>;
    fn opt_time(&self, name: &str) -> PlatformResult<Option<DateTime<Utc>>>;

    fn small(&self, name: &str) -> PlatformResult<u32> {
        let v = self.int(name)?;
        u32::try_from(v).map_err(|_| PlatformError::Corrupt(format!("{name} out of range: {v}")))
    }

    fn unsigned(&self, name: &str) -> PlatformResult<u64> {
        let v = self.int(name)?;
        u64::try_from(v).map_err(|_| PlatformError::Corrupt(format!("negative {name}: {v}")))
    }

    fn wire_enum<T: DeserializeOwned>(&self, name: &str) -> PlatformResult<T> {
        parse_enum(&self.text(name)?)
    }

    fn json<T: DeserializeOwned>(&self, name: &str) -> PlatformResult<T> {
        from_json(&self.text(name)?)
    }
}

/// A value built from one result row.
pub(super) trait FromRow: Sized {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self>;
}

impl FromRow for AssignmentRecord {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            expert_id: r.text("expert_id")?,
            assignment: Assignment {
                id: r.text("id")?,
                item_id: r.text("item_id")?,
                item_title: r.text("item_title")?,
                opportunity_id: r.text("opportunity_id")?,
                rubric_id: r.text("rubric_id")?,
                rubric_version: r.small("rubric_version")?,
                kind: r.wire_enum("kind")?,
                state: r.wire_enum("state")?,
                assigned_at: r.time("assigned_at")?,
                lease_expires_at: r.time("lease_expires_at")?,
                due_at: r.time("due_at")?,
                review_of_submission_id: r.opt_text("review_of_submission_id")?,
                seq: r.int("seq")?,
                item_revision: r.small("item_revision")?,
            },
        })
    }
}

impl FromRow for LedgerEntry {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            id: r.text("id")?,
            submission_id: r.text("submission_id")?,
            assignment_id: r.text("assignment_id")?,
            item_id: r.text("item_id")?,
            opportunity_id: r.text("opportunity_id")?,
            amount_cents: r.int("amount_cents")?,
            currency: r.text("currency")?,
            status: r.wire_enum("status")?,
            payout_id: r.opt_text("payout_id")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
            seq: r.int("seq")?,
        })
    }
}

/// A submission's outcome and its author.
pub(super) struct OutcomeRow {
    pub(super) author: String,
    pub(super) outcome: ReviewOutcome,
}

impl FromRow for OutcomeRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            author: r.text("expert_id")?,
            outcome: ReviewOutcome {
                submission_id: r.text("id")?,
                assignment_id: r.text("assignment_id")?,
                item_id: r.text("item_id")?,
                status: r.wire_enum("status")?,
                feedback: r.opt_text("feedback")?,
                decided_at: r.opt_time("decided_at")?,
                active_seconds: r.unsigned("active_seconds")?,
                seq: r.int("outcome_seq")?,
            },
        })
    }
}

impl FromRow for Opportunity {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            id: r.text("id")?,
            title: r.text("title")?,
            description: r.text("description")?,
            rubric_id: r.text("rubric_id")?,
            rubric_version: r.small("rubric_version")?,
            licence_category: r.text("licence_category")?,
            buyer: r.text("buyer")?,
        })
    }
}

/// An opportunity with its published spec.
pub(super) struct OpportunityRow(pub(super) Opportunity, pub(super) Option<serde_json::Value>);

impl FromRow for OpportunityRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        let spec = r.opt_text("spec")?;
        Ok(Self(
            Opportunity::from_row(r)?,
            spec.as_deref().map(from_json).transpose()?,
        ))
    }
}

impl FromRow for Rate {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            opportunity_id: r.text("opportunity_id")?,
            basis: r.wire_enum("basis")?,
            amount_cents: r.int("amount_cents")?,
            currency: r.text("currency")?,
            effective_from: r.time("effective_from")?,
        })
    }
}

impl FromRow for ExpertProfile {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            id: r.text("id")?,
            email: r.text("email")?,
            display_name: r.text("display_name")?,
            expertise: r.json("expertise")?,
            attestations: r.json("attestations")?,
            senior_reviewer: r.flag("senior_reviewer")?,
            timezone: r.text("timezone")?,
        })
    }
}

fn role_of<R: Columns + ?Sized>(r: &R) -> PlatformResult<Role> {
    let role = r.text("role")?;
    Role::parse(&role).ok_or_else(|| PlatformError::Corrupt(format!("unknown role {role:?}")))
}

/// An expert with the role of their account.
pub(super) struct ExpertRow(pub(super) ExpertProfile, pub(super) Role);

impl FromRow for ExpertRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self(ExpertProfile::from_row(r)?, role_of(r)?))
    }
}

impl FromRow for ExpertCredentials {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            expert_id: r.text("id")?,
            salt: r.text("password_salt")?,
            password_hash: r.text("password_hash")?,
        })
    }
}

impl FromRow for TokenRecord {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            token_id: r.text("id")?,
            expert_id: r.text("expert_id")?,
            revoked: r.flag("revoked")?,
            role: role_of(r)?,
        })
    }
}

impl FromRow for BlobMeta {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            sha256: r.text("sha256")?,
            size: r.unsigned("size")?,
            media_type: r.text("media_type")?,
        })
    }
}

impl FromRow for ReviewedSubmission {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            submission_id: r.text("id")?,
            answers: r.json("answers")?,
            active_seconds: r.unsigned("active_seconds")?,
            submitted_at: r.time("received_at")?,
        })
    }
}

impl FromRow for Item {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            id: r.text("id")?,
            opportunity_id: r.text("opportunity_id")?,
            title: r.text("title")?,
            fields: r.json("fields")?,
            created_at: r.time("created_at")?,
        })
    }
}

impl FromRow for ItemContent {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            title: r.text("title")?,
            fields: r.json("fields")?,
            revision: r.small("revision")?,
        })
    }
}

impl FromRow for ItemGrading {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            opportunity_id: r.text("opportunity_id")?,
            rubric_id: r.text("rubric_id")?,
            rubric_version: r.small("rubric_version")?,
        })
    }
}

/// An imported item with its external id.
pub(super) struct ImportedRow(pub(super) String, pub(super) ImportedItem);

impl FromRow for ImportedRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self(
            r.text("external_id")?,
            ImportedItem {
                item_id: r.text("id")?,
                title: r.text("title")?,
                fields: r.json("fields")?,
                revision: r.small("revision")?,
                rubric_id: r.text("rubric_id")?,
                rubric_version: r.small("rubric_version")?,
            },
        ))
    }
}

/// A row's one `integer` column, named `n` (a version, a revision).
pub(super) struct Small(pub(super) u32);

impl FromRow for Small {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self(r.small("n")?))
    }
}

/// A payout without its entries.
pub(super) struct PayoutRow(pub(super) Payout);

impl FromRow for PayoutRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self(Payout {
            id: r.text("id")?,
            amount_cents: r.int("amount_cents")?,
            currency: r.text("currency")?,
            paid_at: r.time("paid_at")?,
            method: r.text("method")?,
            entry_ids: Vec::new(),
        }))
    }
}

/// An idempotency key's record: the hash of the request and the response it got.
pub(super) const IDEMPOTENCY_SELECT: &str = "SELECT request_hash, response FROM idempotency";

/// An idempotency record (see [`IDEMPOTENCY_SELECT`]).
pub(super) struct IdempotencyRow(pub(super) String, pub(super) serde_json::Value);

impl FromRow for IdempotencyRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self(r.text("request_hash")?, r.json("response")?))
    }
}

/// A submission due for auto-review, with its assignment's kind.
pub(super) struct PendingRow(pub(super) String, pub(super) AssignmentKind);

impl FromRow for PendingRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self(r.text("id")?, r.wire_enum("kind")?))
    }
}

/// A submission as a reviewer (or its author) sees it.
pub(super) const SUBMISSION_VIEW: &str =
    "SELECT id, answers, active_seconds, received_at FROM submissions";

/// The assignment deciding an expert's access to an item.
pub(super) struct AccessRow {
    pub(super) id: String,
    pub(super) kind: AssignmentKind,
    pub(super) review_of: Option<String>,
}

impl AccessRow {
    pub(super) fn into_access(self) -> super::ItemAccess {
        super::ItemAccess {
            assignment_id: self.id,
            kind: self.kind,
            review_of: self.review_of,
        }
    }
}

impl FromRow for AccessRow {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            id: r.text("id")?,
            kind: r.wire_enum("kind")?,
            review_of: r.opt_text("review_of_submission_id")?,
        })
    }
}

impl FromRow for ExportRecord {
    fn from_row<R: Columns + ?Sized>(r: &R) -> PlatformResult<Self> {
        Ok(Self {
            submission_id: r.text("id")?,
            assignment_id: r.text("assignment_id")?,
            item_id: r.text("item_id")?,
            external_id: r.opt_text("external_id")?,
            item_revision: r.small("revision")?,
            opportunity_id: r.text("opportunity_id")?,
            rubric_id: r.text("rubric_id")?,
            rubric_version: r.small("rubric_version")?,
            expert_id: r.text("expert_id")?,
            expert_email: r.text("email")?,
            answers: r.json("answers")?,
            active_seconds: r.unsigned("active_seconds")?,
            time_log: r.json("time_log")?,
            client_created_at: r.time("client_created_at")?,
            received_at: r.time("received_at")?,
            status: r.wire_enum("status")?,
            licence_category: r.text("licence_category")?,
            buyer: r.text("buyer")?,
            seq: r.int("outcome_seq")?,
        })
    }
}

/// A page of at most `limit` values after a cursor: `fetch(n)` reads up to
/// `n` rows (one more than `limit`, to learn whether more follow) and `map`
/// makes each row a value.
pub(super) fn fetch_page<R, T>(
    limit: u32,
    fetch: impl FnOnce(i64) -> PlatformResult<Vec<R>>,
    map: impl FnMut(R) -> T,
) -> PlatformResult<Page<T>> {
    let mut rows: Vec<T> = fetch(i64::from(limit) + 1)?.into_iter().map(map).collect();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Ok(Page { rows, has_more })
}

/// An expert's rows that change with a sequence number, read a page at a
/// time after a cursor (the `list_*` methods of [`Storage`](super::Storage)):
/// the query and what a row becomes are the same in every backend.
pub(super) struct ExpertChanges<R, T> {
    /// The `SELECT … FROM` of the rows.
    select: &'static str,
    /// The sequence column that orders them (the cursor is a value of it).
    seq: &'static str,
    /// Makes a row the value a page holds.
    into: fn(R) -> T,
}

impl<R, T> ExpertChanges<R, T> {
    /// The query, its parameters `$1` (the expert), `$2` (the cursor) and
    /// `$3` (how many rows).
    pub(super) fn sql(&self) -> String {
        let (select, seq) = (self.select, self.seq);
        format!("{select} WHERE expert_id = $1 AND {seq} > $2 ORDER BY {seq} LIMIT $3")
    }

    /// A page of at most `limit` values: `fetch(n)` runs [`Self::sql`] for
    /// `n` rows.
    pub(super) fn page(
        &self,
        limit: u32,
        fetch: impl FnOnce(i64) -> PlatformResult<Vec<R>>,
    ) -> PlatformResult<Page<T>> {
        fetch_page(limit, fetch, self.into)
    }
}

/// The expert's assignments (`list_assignments`).
pub(super) const ASSIGNMENT_CHANGES: ExpertChanges<AssignmentRecord, Assignment> = ExpertChanges {
    select: ASSIGNMENT_SELECT,
    seq: "seq",
    into: |r| r.assignment,
};

/// The outcomes of the expert's submissions (`list_outcomes`).
pub(super) const OUTCOME_CHANGES: ExpertChanges<OutcomeRow, ReviewOutcome> = ExpertChanges {
    select: OUTCOME_SELECT,
    seq: "outcome_seq",
    into: |r| r.outcome,
};

/// The expert's ledger entries (`list_ledger`).
pub(super) const LEDGER_CHANGES: ExpertChanges<LedgerEntry, LedgerEntry> = ExpertChanges {
    select: LEDGER_SELECT,
    seq: "seq",
    into: std::convert::identity,
};
