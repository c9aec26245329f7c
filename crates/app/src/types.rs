//! Types the UI receives from the app's commands (exported to TypeScript).
//! Lower layers' types (store rows, rubric, render view models) are used as
//! they are; these are the compositions the screens need.

use std::collections::BTreeMap;

use assay_protocol::{AssignmentKind, PayBasis, ReviewDecision, ReviewedSubmission, TimeSpan};
use assay_rubric::{Answers, DiffMode, LintFinding, Rubric, ScopedItem, ValidationReport};
use assay_store::{ItemIssue, PendingAnnotation, QueueStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::AppError;
use crate::views::FieldView;

/// The store's order of rows in the queue's groups, which the UI's queue
/// filter picks (one type for both).
pub use assay_store::QueueSort;

/// Who is signed in where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SessionInfo {
    /// A token for the platform is in the keyring.
    pub signed_in: bool,
    /// Base URL of the platform signed in to (kept after sign-out, to prefill the form).
    pub platform_url: Option<String>,
    /// The signed-in expert; `None` when signed out or not yet fetched.
    pub expert: Option<ExpertSummary>,
    /// True when the app was started by `cargo xtask demo`.
    pub demo: bool,
    /// Which kind of platform the session talks to (shown in the status bar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub platform_kind: Option<assay_sync::PlatformKind>,
    /// The platform kind in words, for the status bar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub platform_label: Option<String>,
    /// Set when the platform reports no rates, earnings or payouts (Label
    /// Studio): the earnings screen shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub pay_note: Option<String>,
}

/// The signed-in expert as the platform describes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ExpertSummary {
    /// The platform's expert id.
    pub id: String,
    /// Name shown in the app.
    pub display_name: String,
    /// E-mail the expert signs in with.
    pub email: String,
    /// May make senior review decisions on other experts' submissions.
    pub senior_reviewer: bool,
}

/// Filter of `queue_page`. Empty `statuses` means all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueFilter {
    /// Case-insensitive text matched against title, item id, assignment id and opportunity title; empty matches all.
    #[serde(default)]
    pub search: String,
    /// Statuses to keep; empty keeps all.
    #[serde(default)]
    pub statuses: Vec<QueueStatus>,
    /// Keep only this opportunity's assignments.
    #[serde(default)]
    pub opportunity_id: Option<String>,
    /// Keep only this kind of assignment (grading, review, screening).
    #[serde(default)]
    pub kind: Option<AssignmentKind>,
    /// Order of rows within each opportunity group.
    #[serde(default)]
    pub sort: QueueSort,
}

/// One assignment in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueEntry {
    /// The platform's assignment id (what `open_item` takes).
    pub assignment_id: String,
    /// The item graded by this assignment.
    pub item_id: String,
    /// The item's title, as the platform gave it.
    pub title: String,
    /// The opportunity the assignment belongs to.
    pub opportunity_id: String,
    /// The opportunity's title (its id when the title is unknown).
    pub opportunity_title: String,
    /// Grading, senior review or screening.
    pub kind: AssignmentKind,
    /// Where the assignment stands locally (new, draft, submitted, ...).
    pub status: QueueStatus,
    /// When the work is due.
    pub due_at: DateTime<Utc>,
    /// When the lease on the assignment runs out and the platform may hand it to someone else.
    pub lease_expires_at: DateTime<Utc>,
    /// How the rate is counted (per item, hour or submission); `None` when the platform sent no rate.
    pub pay_basis: Option<PayBasis>,
    /// Minor units per item / hour / submission.
    #[ts(type = "number | null")]
    pub pay_cents: Option<i64>,
    /// ISO 4217 currency of `pay_cents`.
    pub currency: Option<String>,
    /// Whether the item is stored locally (workable offline).
    pub downloaded: bool,
    /// Why the sync holds this item back (quarantined, retried with backoff),
    /// in words for the row; None when nothing is held back.
    pub held_back: Option<String>,
}

/// A contiguous group of rows of one opportunity in the filtered order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueGroup {
    /// The opportunity the rows belong to.
    pub opportunity_id: String,
    /// The opportunity's title (its id when the title is unknown).
    pub opportunity_title: String,
    /// Who the work is done for.
    pub buyer: String,
    /// The licence category the submissions fall under.
    pub licence_category: String,
    /// Index in the filtered order of the group's first row.
    pub first_index: u32,
    /// Number of rows in the group.
    pub count: u32,
}

/// A window of the filtered queue, rows ordered by opportunity then `sort`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueuePage {
    /// Rows matching the filter (the whole filtered queue, not just this page).
    pub total: u32,
    /// Index in the filtered order of `rows[0]`.
    pub offset: u32,
    /// The rows of this window.
    pub rows: Vec<QueueEntry>,
    /// The opportunity groups that this window's rows belong to.
    pub groups: Vec<QueueGroup>,
    /// Counts per status over the whole (unfiltered) queue.
    pub status_counts: BTreeMap<QueueStatus, u32>,
}

/// Where a submission counts and what it may be used for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct OpportunityRef {
    /// The platform's opportunity id.
    pub id: String,
    /// The opportunity's title.
    pub title: String,
    /// Who the work is done for.
    pub buyer: String,
    /// The licence category the submissions fall under.
    pub licence_category: String,
}

/// Recorded active time on one assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimeLog {
    /// The assignment the time was spent on.
    pub assignment_id: String,
    /// Logged stretches with their ids (for corrections); open ones have no end.
    pub sessions: Vec<assay_store::TimeSession>,
    /// Closed stretches as they will be submitted.
    pub spans: Vec<TimeSpan>,
    /// Whole seconds the closed stretches cover (`assay_store::covered_seconds`:
    /// overlaps once, the total rounded down): what a submission reports.
    #[ts(type = "number")]
    pub active_seconds: u64,
}

/// Rust's reading of a time log while the reviewer corrects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimeLogCheck {
    /// What is wrong with each span, in order (`None`: it may be kept).
    pub problems: Vec<Option<String>>,
    /// Whole seconds the spans cover (`assay_store::covered_seconds`): the
    /// time on task saving this log would give the item.
    #[ts(type = "number")]
    pub active_seconds: u64,
}

/// Everything the item screen needs.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OpenedItem {
    /// The assignment opened (the key of every later call).
    pub assignment_id: String,
    /// Grading, senior review or screening.
    pub kind: AssignmentKind,
    /// Where the assignment stands locally.
    pub status: QueueStatus,
    /// Reviewer feedback on the latest submission (rejected / needs revision).
    pub feedback: Option<String>,
    /// Why the item needs attention (lease expired, rubric changed, refused).
    pub issue: Option<ItemIssue>,
    /// The opportunity the work counts for.
    pub opportunity: OpportunityRef,
    /// The item with only the fields the rubric lets this reviewer see.
    pub item: ScopedItem,
    /// The rubric version the item pins.
    pub rubric: Rubric,
    /// `rubric.guidelines` (markdown) as the safe block tree the UI renders
    /// as text: headings, lists, emphasis and code, never HTML.
    pub guidelines: Vec<assay_render::markdown::Block>,
    /// One view per `item.fields` entry, same order.
    pub views: Vec<FieldView>,
    /// Where each field goes: the thing being graded on the canvas, the
    /// rest as collapsible context.
    pub layout: crate::views::ItemLayout,
    /// The saved draft answers (empty for a fresh item).
    pub draft: Answers,
    /// Revision of the saved draft; pass it back when saving (0 before the first save).
    #[ts(type = "number")]
    pub draft_revision: i64,
    /// When the draft was last saved; `None` before the first save.
    pub saved_at: Option<DateTime<Utc>>,
    /// Rust's validation of the draft against the rubric (what still blocks submitting).
    pub validation: ValidationReport,
    /// Senior review: the submission under review; `None` otherwise.
    pub reviewed: Option<ReviewedSubmission>,
    /// Active time recorded on this assignment.
    pub time: TimeLog,
    /// Rubric preview (spec authors): nothing is saved or submitted.
    pub preview: bool,
    /// The deadlines, while they still matter: `None` once the work is no
    /// longer the reviewer's to change (submitted, decided, taken away), so
    /// finished work shows no overdue or lease timers.
    pub due_at: Option<DateTime<Utc>>,
    /// When the lease runs out; `None` once the work is no longer the reviewer's to change.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Every diff-line comment of `draft`, placed in the item's current
    /// diff: on its line, moved with its line (the draft already points at
    /// the new line), or outdated (the line is gone; the comment is kept).
    pub comments: Vec<crate::anchors::CommentPlacement>,
    /// Whether the reviewer may still change and submit this work (Rust
    /// decides; `save_draft` refuses otherwise).
    pub editable: bool,
    /// The draft is a revision: pre-filled from the reviewer's previous
    /// submission, which a senior sent back (see `submission.feedback`).
    pub revision: bool,
    /// The reviewer's own latest submission and what became of it (outcome,
    /// feedback, pay); `None` when nothing was submitted.
    pub submission: Option<crate::submission::SubmissionView>,
    /// Annotations begun but not added (restored into their viewers).
    pub pending: Vec<PendingAnnotation>,
    /// Senior review: the submission under review in the rubric's words.
    pub reviewed_answers: Vec<crate::submission::AnswerSummary>,
    /// Senior review: the reviewed submission's diff comments placed in the
    /// item's current diff.
    pub reviewed_comments: Vec<crate::anchors::CommentPlacement>,
    /// Something the reviewer must know about what is shown, e.g. that the
    /// platform no longer serves the item's content and only what this
    /// machine kept is shown.
    pub notice: Option<String>,
}

/// A draft is durable on disk when this is returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SaveResult {
    /// The draft's new revision (pass it to the next save).
    #[ts(type = "number")]
    pub revision: i64,
    /// When the draft reached disk.
    pub saved_at: DateTime<Utc>,
    /// Rust's validation of the saved draft against the rubric.
    pub validation: ValidationReport,
    /// The assignment's status after the save (the UI shows this, never a guess).
    pub status: QueueStatus,
}

/// The grade is durably in the outbox; the upload happens in sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SubmitResult {
    /// Id of the outbox entry that will upload the grade.
    pub outbox_id: String,
    /// The assignment's status after submitting.
    pub status: QueueStatus,
}

/// A senior reviewer's decision on a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReviewInput {
    /// Accept, reject or ask for a revision.
    pub decision: ReviewDecision,
    /// Feedback to the reviewer; rejecting or sending back needs at least `REVIEW_FEEDBACK_MIN_CHARS` characters (trimmed).
    pub feedback: Option<String>,
}

/// Sync health for the status bar.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SyncState {
    /// A token for the platform is in the keyring.
    pub signed_in: bool,
    /// The last sync attempt reached the platform.
    pub online: bool,
    /// A sync is running now.
    pub syncing: bool,
    /// Grades and reviews waiting to upload.
    pub pending_uploads: u32,
    /// Uploads the platform refused for good (see the items).
    pub failed_uploads: u32,
    /// Orphaned assignments (taken away by the platform) that still hold a draft.
    pub orphaned_drafts: u32,
    /// Attachments of stored items not downloaded yet.
    pub attachments_missing: u32,
    /// When the last sync attempt started.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a sync last finished without an error.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Why the last sync attempt failed; `None` after a success.
    pub last_error: Option<AppError>,
    /// Assignments whose lease runs out soon and was not renewed.
    pub expiring_leases: Vec<String>,
    /// Items, attachments and rubrics held back because the platform sent
    /// them in a form Assay refuses, with the reason (most recent first, at
    /// most [`crate::MAX_QUARANTINE_SHOWN`]); the rest of the sync goes on.
    pub quarantined: Vec<assay_store::QuarantineEntry>,
    /// Rises each time a sync changed what the store holds (assignments,
    /// items, outcomes, ledger, uploads): screens showing stored data reload
    /// when it changes. Not persisted; starts at 0 with the app.
    #[ts(type = "number")]
    pub data_version: u64,
}

/// UI settings (not secrets), persisted in the data dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Settings {
    /// Colour theme of the UI.
    pub theme: Theme,
    /// Action name → key chords, e.g. "Mod+Enter", "j", "?".
    pub keymap: BTreeMap<String, Vec<String>>,
    /// Seconds without input before the time tracker pauses.
    pub idle_timeout_s: u32,
    /// Seconds the window may be unfocused before the time tracker pauses.
    pub focus_grace_s: u32,
    /// How code diffs open: unified or side by side.
    pub diff_mode: DiffMode,
    /// Native notifications for new work and expiring leases (issue 18).
    #[serde(default = "default_true")]
    pub notifications: bool,
    /// Fewest seconds between two notifications of one kind; what arrives
    /// in between is counted into the next (bounds: `RULES`).
    #[serde(default = "default_notify_interval_s")]
    pub notify_interval_s: u32,
}

fn default_true() -> bool {
    true
}

fn default_notify_interval_s() -> u32 {
    600
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            keymap: BTreeMap::new(),
            idle_timeout_s: 120,
            focus_grace_s: 60,
            diff_mode: DiffMode::Unified,
            notifications: true,
            notify_interval_s: default_notify_interval_s(),
        }
    }
}

/// Colour theme of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Theme {
    /// Follow the operating system's light or dark setting.
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

// ------------------------------------------------------------------ earnings

/// How earnings are bucketed in the earnings chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum EarningsGrouping {
    /// One bucket per local day.
    Day,
    /// One bucket per ISO week (Monday first).
    Week,
    /// One bucket per opportunity.
    Opportunity,
}

/// A period the earnings screen offers. Rust resolves it to local days
/// (`earnings_period`), counted as the earnings are: in the reviewer's time
/// zone, on the app's clock. A custom range is two days the reviewer typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub enum EarningsPeriod {
    /// No bounds.
    #[serde(rename = "all")]
    All,
    /// Monday of this week to today.
    #[serde(rename = "this_week")]
    ThisWeek,
    /// The first of this month to today.
    #[serde(rename = "this_month")]
    ThisMonth,
    /// The 30 days ending today, both ends included.
    #[serde(rename = "last_30_days")]
    Last30Days,
}

/// The local days a period covers (answer of `earnings_period`), as the
/// earnings screen puts them in its date inputs and its [`EarningsQuery`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EarningsRange {
    /// First day (`YYYY-MM-DD`, local); `None` for no lower bound.
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, local); `None` for no upper bound.
    pub to: Option<String>,
}

/// Date bounds (inclusive, `YYYY-MM-DD`) and an optional opportunity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EarningsQuery {
    /// First day (`YYYY-MM-DD`, local) to include; `None` for no lower bound.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, local) to include; `None` for no upper bound.
    #[serde(default)]
    pub to: Option<String>,
    /// Keep only this opportunity's earnings.
    #[serde(default)]
    pub opportunity_id: Option<String>,
}

/// Idle waiting recorded so far (answer of `record_waiting`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WaitingTime {
    /// Idle waiting recorded so far, in seconds.
    #[ts(type = "number")]
    pub waiting_seconds: u64,
}

/// Where an earnings CSV went (answer of `export_earnings_csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CsvExport {
    /// The file the reviewer picked in the save dialog.
    pub path: String,
    /// Ledger rows written (without the header).
    pub rows: u32,
    /// Size of the file written, in bytes.
    #[ts(type = "number")]
    pub bytes: u64,
}

/// Unpaid time, which the "all time" hourly rate includes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UnpaidTime {
    /// Time on work that was rejected or reversed.
    #[ts(type = "number")]
    pub rejected_seconds: u64,
    /// Time on work never submitted (orphaned, expired, released, abandoned drafts).
    #[ts(type = "number")]
    pub unsubmitted_seconds: u64,
    /// Time on senior reviews, which the rate card does not pay.
    #[ts(type = "number")]
    pub review_seconds: u64,
    /// Time on unpaid screening / qualification tasks, whatever their outcome.
    #[ts(type = "number")]
    pub screening_seconds: u64,
    /// Idle waiting: signed in and present with nothing to work on.
    #[ts(type = "number")]
    pub waiting_seconds: u64,
}

impl UnpaidTime {
    /// All unpaid seconds.
    pub fn total_seconds(&self) -> u64 {
        self.rejected_seconds
            + self.unsubmitted_seconds
            + self.review_seconds
            + self.screening_seconds
            + self.waiting_seconds
    }
}

/// Ledger entries summed by their state, in minor units of one currency:
/// the totals of the overview and of each point of the series.
/// Flattened into both: the UI's types list these fields themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LedgerAmounts {
    /// Earned on submitted work not yet accepted.
    #[ts(type = "number")]
    pub pending_cents: i64,
    /// Accepted and not yet paid out.
    #[ts(type = "number")]
    pub accepted_cents: i64,
    /// Paid out.
    #[ts(type = "number")]
    pub paid_cents: i64,
    /// Taken back after acceptance or payment (a positive number).
    #[ts(type = "number")]
    pub reversed_cents: i64,
}

/// Totals and effective hourly rates in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EarningsOverview {
    /// ISO 4217 currency of every amount here.
    pub currency: String,
    /// The ledger's amounts by state (`pending_cents`, ... on the wire).
    #[serde(flatten)]
    pub amounts: LedgerAmounts,
    /// Active seconds on work that earned (pending, accepted or paid).
    #[ts(type = "number")]
    pub paid_seconds: u64,
    /// Time that earned nothing, by reason.
    pub unpaid: UnpaidTime,
    /// Earned (pending + accepted + paid) per hour of paid time.
    #[ts(type = "number | null")]
    pub hourly_paid_time_cents: Option<i64>,
    /// Earned per hour including unpaid time.
    #[ts(type = "number | null")]
    pub hourly_all_time_cents: Option<i64>,
}

/// One bucket of the earnings series (a day, a week or an opportunity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EarningsPoint {
    /// Stable key of the bucket: `YYYY-MM-DD`, `YYYY-Www` or the opportunity id.
    pub key: String,
    /// The bucket in words for the chart ("Dec 1", "Week 49 2026", the opportunity's title).
    pub label: String,
    /// First local day of the bucket (`YYYY-MM-DD`) when grouped by day or
    /// week, so a chart can place buckets on a continuous date axis; `None`
    /// when grouped by opportunity.
    pub start_day: Option<String>,
    /// The bucket's ledger amounts by state (`pending_cents`, ... on the wire).
    #[serde(flatten)]
    pub amounts: LedgerAmounts,
}

/// Earnings bucketed for the chart, in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EarningsSeries {
    /// How the points are bucketed.
    pub grouping: EarningsGrouping,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// Buckets in key order.
    pub points: Vec<EarningsPoint>,
}

/// A payout the platform made to the expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PayoutView {
    /// The platform's payout id.
    pub id: String,
    /// Amount paid, in minor units.
    #[ts(type = "number")]
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// When the payout was made.
    pub paid_at: DateTime<Utc>,
    /// The platform's method id (e.g. `bank_transfer`).
    pub method: String,
    /// The method in words, for people ("Bank transfer").
    pub method_label: String,
    /// Ledger entries the payout settled.
    pub entry_count: u32,
}

/// Expected pay (rate card × accepted work) differs from the platform's ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Discrepancy {
    /// The assignment whose pay differs.
    pub assignment_id: String,
    /// The item of that assignment.
    pub item_id: String,
    /// The item's title (its id when it has none).
    pub title: String,
    /// The opportunity whose rate card set the expected pay.
    pub opportunity_id: String,
    /// Pay the rate card gives for the accepted work, in minor units.
    #[ts(type = "number")]
    pub expected_cents: i64,
    /// None: missing from the ledger.
    #[ts(type = "number | null")]
    pub ledger_cents: Option<i64>,
    /// ISO 4217 currency of both amounts.
    pub currency: String,
    /// The difference in words, for the reviewer (e.g. what the rate card says and what the ledger holds).
    pub reason: String,
}

/// Events the app pushes to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum AppEvent {
    /// Sync health changed (`sync://state`).
    Sync {
        /// Sync health after the change.
        state: SyncState,
    },
    /// A sync made progress (`sync://progress`; throttled to 4 a second).
    Progress {
        /// Where the running sync is (phase and counts).
        progress: assay_sync::SyncProgress,
    },
    /// The previewed rubric or sample items changed on disk (`preview://changed`).
    Preview {
        /// The preview after a reload.
        state: PreviewState,
    },
}

// ------------------------------------------------------------ rubric preview

/// A sample item of a rubric preview.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PreviewItemRef {
    /// The item's id in its sample file.
    pub item_id: String,
    /// The item's title.
    pub title: String,
    /// Sample file the item comes from.
    pub file: String,
    /// Ids of fields the rubric hides from reviewers (never their values).
    pub hidden_fields: Vec<String>,
}

/// State of a preview session, pushed again after every reload.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PreviewState {
    /// The rubric file being previewed.
    pub rubric_path: String,
    /// The folder of sample items being previewed.
    pub items_dir: String,
    /// None when the rubric does not parse and never did (see `findings`).
    pub rubric_title: Option<String>,
    /// Findings of the files as they are now.
    pub findings: Vec<LintFinding>,
    /// The rubric as it is now does not parse: `rubric_title` and `items`
    /// are the last render that did, kept so the author keeps their place.
    pub showing_last_good: bool,
    /// The sample items, scoped as the rubric scopes them.
    pub items: Vec<PreviewItemRef>,
    /// Increments on every reload.
    pub generation: u32,
}

/// The rubric file and samples folder the author picked in the native
/// dialogs: the only paths the preview may read or watch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PreviewSelection {
    /// Rubric file picked; `None` until the author picks one.
    pub rubric_path: Option<String>,
    /// Folder of sample items picked; `None` until the author picks one.
    pub items_dir: Option<String>,
}

// ------------------------------------------------------------ publishing a previewed rubric

/// Whether the rubric preview offers "Publish": the platform decides from
/// the signed-in token's role (`GET /auth/whoami`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PublishAccess {
    /// Show the Publish button.
    pub can_publish: bool,
    /// The token's role as the platform reports it (absent when not asked).
    pub role: Option<assay_protocol::TokenRole>,
    /// Why there is no Publish button, in words (absent when there is one).
    pub reason: Option<String>,
}

/// What confirming "Publish" would do, as the platform checked it (the
/// confirm dialog shows this; nothing is published yet).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PublishPlan {
    /// The rubric file that would be sent.
    pub rubric_path: String,
    /// The rubric's id (absent when the file does not parse).
    pub rubric_id: Option<String>,
    /// The version number the rubric will get.
    pub version: Option<u32>,
    /// The highest version already published on the platform.
    pub latest_published: Option<u32>,
    /// Lint errors: any one blocks publishing.
    pub errors: Vec<assay_protocol::RubricFinding>,
    /// Lint warnings: listed, not blocking.
    pub warnings: Vec<assay_protocol::RubricFinding>,
    /// Whether the dialog's confirm button is enabled.
    pub can_confirm: bool,
    /// One sentence: what confirming will do, or why it cannot.
    pub summary: String,
}

/// The outcome of "Publish": the new version, or the platform's refusal
/// with its findings (line/column where known).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PublishOutcome {
    /// True when the platform now holds this version.
    pub published: bool,
    /// The rubric's id, when the file parsed far enough to name it.
    pub rubric_id: Option<String>,
    /// The version published (or refused).
    pub version: Option<u32>,
    /// False when exactly this version was already published.
    pub created: bool,
    /// One sentence for the author.
    pub summary: String,
    /// Errors the platform refused the rubric for.
    pub errors: Vec<assay_protocol::RubricFinding>,
    /// Warnings the platform reported.
    pub warnings: Vec<assay_protocol::RubricFinding>,
}
