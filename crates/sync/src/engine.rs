//! The sync engine: pull by cursor, download attachments, drain the outbox,
//! renew leases, and a background loop with backoff.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assay_protocol::{
    ApiErrorCode, Assignment, AssignmentPage, AttachmentRef, LedgerPage, OutcomePage,
    CONTENT_SHA256_HEADER,
};
use assay_rubric::Rubric;
use assay_store::{
    cursor, IssueKind, LeaseInfo, OutboxPayload, PartDigest, QuarantineKind, ScopedItemWrite,
    Store, StoreError,
};
use chrono::Utc;
use futures_util::{stream, StreamExt};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use ts_rs::TS;

use crate::client::{checked_later, Limits, PlatformClient};
use crate::connector::Connector;
use crate::error::{Result, SyncError};
use crate::scope::{decode_scoped, scope_item};

/// How long before its end a lease (not being worked on) is reported as
/// about to expire ([`SyncConfig::lease_warn_before`] by default; the UI
/// names the window from the same value).
pub const LEASE_WARN_BEFORE: Duration = Duration::from_secs(15 * 60);

/// Tuning of the engine; `Default` is what the app uses.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Page size of cursor requests.
    pub page_size: u32,
    /// Parallel attachment downloads.
    pub attachment_concurrency: usize,
    /// Parallel item downloads.
    pub item_concurrency: usize,
    /// First retry delay of a failed upload; doubles per attempt.
    pub backoff_base: Duration,
    /// Largest retry delay.
    pub backoff_max: Duration,
    /// Renew a worked-on lease when it has less than this left.
    pub lease_renew_before: Duration,
    /// Warn about leases (not being worked on) with less than this left.
    pub lease_warn_before: Duration,
    /// Size and time bounds of every request.
    pub limits: Limits,
    /// Most pages of one feed in one pull (a feed that never ends is an error).
    pub max_pages: u32,
    /// While the platform is unreachable the background loop probes it
    /// (`GET /health`) after this delay, doubling up to `probe_max`, and syncs
    /// the moment it answers (so the outbox drains without waiting for a poll).
    pub probe_base: Duration,
    /// Longest delay between probes while offline.
    pub probe_max: Duration,
    /// Longest one probe may take (a dropped network must not stall it).
    pub probe_timeout: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            page_size: 200,
            attachment_concurrency: 4,
            item_concurrency: 4,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(15 * 60),
            lease_renew_before: Duration::from_secs(10 * 60),
            lease_warn_before: LEASE_WARN_BEFORE,
            limits: Limits::default(),
            max_pages: 10_000,
            probe_base: Duration::from_millis(250),
            probe_max: Duration::from_secs(1),
            probe_timeout: Duration::from_secs(3),
        }
    }
}

/// Which part of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Uploading the outbox.
    Upload,
    /// Paging assignment changes.
    Assignments,
    /// Fetching rubric versions.
    Rubrics,
    /// Fetching and scoping items.
    Items,
    /// Downloading attachments.
    Attachments,
    /// Paging review outcomes.
    Outcomes,
    /// Paging the ledger.
    Ledger,
    /// The pull finished.
    Done,
}

/// Progress of a pull, for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncProgress {
    /// The running phase.
    pub phase: SyncPhase,
    /// Things finished in this phase (items, attachments, pages).
    #[ts(type = "number")]
    pub items_done: u64,
    /// Things to do in this phase, when known (else 0).
    #[ts(type = "number")]
    pub items_total: u64,
    /// Bytes downloaded in this phase.
    #[ts(type = "number")]
    pub bytes_done: u64,
    /// Bytes to download in this phase, when known (else 0).
    #[ts(type = "number")]
    pub bytes_total: u64,
}

impl SyncProgress {
    fn new(phase: SyncPhase) -> Self {
        Self {
            phase,
            items_done: 0,
            items_total: 0,
            bytes_done: 0,
            bytes_total: 0,
        }
    }

    /// Counts `n` more things finished (saturating, as [`add_count`]: the
    /// counts come from what a platform sent).
    fn count(&mut self, n: usize) {
        self.items_done = self
            .items_done
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
}

/// What a pull did. Per-item refusals (e.g. an item the platform no longer
/// serves) are listed in `errors` and do not stop the pull.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PullReport {
    /// Assignment changes stored.
    pub assignments: u32,
    /// Assignments revoked/reassigned while holding a draft (kept, shown orphaned).
    pub orphaned_with_drafts: Vec<String>,
    /// Rubric versions fetched.
    pub rubrics: u32,
    /// Items fetched and stored (scoped).
    pub items: u32,
    /// Attachments downloaded.
    pub attachments: u32,
    /// Attachment bytes downloaded.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Review outcomes stored.
    pub outcomes: u32,
    /// Ledger entries stored.
    pub ledger_entries: u32,
    /// Per-item failures, in words; they did not stop the pull.
    pub errors: Vec<String>,
}

/// What an outbox drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PushReport {
    /// Acknowledged by the platform (including replays).
    pub sent: u32,
    /// Of `sent`: the platform had already received this key (a retried upload).
    pub replayed: u32,
    /// Failed for now; retried later with backoff.
    pub retry_scheduled: u32,
    /// Refused for good; the item shows why and the draft is kept.
    pub failed: u32,
}

impl PushReport {
    /// Whether the upload sent, refused or put off anything (a drain of an
    /// empty outbox did nothing worth telling).
    #[must_use]
    pub fn did_anything(&self) -> bool {
        self.sent > 0 || self.failed > 0 || self.retry_scheduled > 0
    }
}

/// What a lease pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LeaseReport {
    /// Leases renewed, with their new expiry.
    pub renewed: Vec<LeaseInfo>,
    /// Leases the platform says are gone (draft kept, item shows lease expired).
    pub expired: Vec<String>,
    /// Leases close to expiry that were not renewed (warn the reviewer).
    pub expiring_soon: Vec<LeaseInfo>,
}

/// Result of [`SyncEngine::sync_once`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncReport {
    /// What the outbox drain did.
    pub push: PushReport,
    /// What the pull did.
    pub pull: PullReport,
}

/// Retry delay for `attempt` (1-based): exponential with jitter in
/// `[d/2, d]`, capped, and never shorter than the platform's `Retry-After`.
pub fn backoff_delay(config: &SyncConfig, attempt: u32, retry_after: Option<Duration>) -> Duration {
    use rand::Rng;
    let exp = attempt.saturating_sub(1).min(30);
    let d = config
        .backoff_base
        .saturating_mul(1u32 << exp)
        .min(config.backoff_max);
    let half = d / 2;
    let jitter = if half.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_nanos(rand::thread_rng().gen_range(0..=half.as_nanos() as u64))
    };
    let d = half + jitter;
    match retry_after {
        // The platform's wish counts up to the cap, never beyond it.
        Some(ra) => d.max(ra.min(config.backoff_max)),
        None => d,
    }
}

/// Errors of one item, rubric or attachment that stop the pull at once:
/// the rest would fail the same way (signed out, local storage broken).
fn stops_pull(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::Unauthorized
            | SyncError::Storage(_)
            | SyncError::Credentials(_)
            | SyncError::Internal(_)
            | SyncError::InvalidUrl(_)
    )
}

/// Shorten a value from the platform for a message.
fn clip(s: &str) -> String {
    crate::text::clip(s, 64)
}

/// Pages of one cursor feed within one pull: a repeated cursor or more than
/// `max_pages` pages stops the feed with an error.
struct CursorGuard {
    feed: &'static str,
    seen: HashSet<String>,
    pages: u32,
    max_pages: u32,
}

impl CursorGuard {
    fn new(feed: &'static str, start: Option<&str>, max_pages: u32) -> Self {
        Self {
            feed,
            seen: start.map(ToString::to_string).into_iter().collect(),
            pages: 0,
            max_pages,
        }
    }

    /// Check the next cursor of a page that says `has_more`.
    fn next(&mut self, cursor: &str) -> Result<()> {
        self.pages = self.pages.saturating_add(1);
        if !self.seen.insert(cursor.to_string()) {
            return Err(SyncError::CursorCycle {
                feed: self.feed,
                cursor: clip(cursor),
            });
        }
        if self.pages >= self.max_pages {
            return Err(SyncError::Protocol(format!(
                "the {} feed did not end after {} pages",
                self.feed, self.max_pages
            )));
        }
        Ok(())
    }
}

/// A page of a cursor feed (assignments, outcomes, ledger).
trait FeedPage {
    /// Pass as `since` to continue.
    fn next_cursor(&self) -> &str;
    /// Whether another page follows.
    fn has_more(&self) -> bool;
    /// How many entries the page holds.
    fn len(&self) -> usize;
}

macro_rules! feed_page {
    ($page:ty, $entries:ident) => {
        impl FeedPage for $page {
            fn next_cursor(&self) -> &str {
                &self.next_cursor
            }
            fn has_more(&self) -> bool {
                self.has_more
            }
            fn len(&self) -> usize {
                self.$entries.len()
            }
        }
    };
}
feed_page!(AssignmentPage, assignments);
feed_page!(OutcomePage, outcomes);
feed_page!(LedgerPage, entries);

/// Where a pull reports its progress (see [`SyncProgress`]).
trait Progress: Fn(SyncProgress) + Send + Sync {}

impl<F: Fn(SyncProgress) + Send + Sync> Progress for F {}

/// A cursor feed the pull pages through (assignments, outcomes, ledger): the
/// store applies each page whole with its cursor, and the page adds to the
/// report.
trait CountedFeed: FeedPage + Sized + Send + 'static {
    /// The feed's stored cursor.
    const CURSOR: &'static str;
    /// The phase progress reports while the feed is paged.
    const PHASE: SyncPhase;
    /// The page after `since`, of at most `limit` entries.
    fn fetch<'a>(
        client: &'a Connector,
        since: Option<&'a str>,
        limit: u32,
    ) -> impl std::future::Future<Output = Result<Self>> + Send + 'a;
    /// Store the page together with its next cursor (on a blocking thread).
    fn store(self, store: &Store) -> Result<StoredPage>;
    /// The report's count of this feed's entries.
    fn count(report: &mut PullReport) -> &mut u32;
}

/// What storing one feed page hands back to the pull's report.
struct StoredPage {
    /// Entries the page held.
    entries: usize,
    /// Assignments that became orphaned holding a draft (assignment pages).
    orphaned_with_drafts: Vec<String>,
}

macro_rules! counted_feed {
    ($page:ty, $cursor:expr, $phase:expr, $fetch:ident, $apply:ident($entries:ident), $count:ident) => {
        impl CountedFeed for $page {
            const CURSOR: &'static str = $cursor;
            const PHASE: SyncPhase = $phase;
            fn fetch<'a>(
                client: &'a Connector,
                since: Option<&'a str>,
                limit: u32,
            ) -> impl std::future::Future<Output = Result<Self>> + Send + 'a {
                client.$fetch(since, Some(limit))
            }
            fn store(self, store: &Store) -> Result<StoredPage> {
                store.$apply(&self.$entries, &self.next_cursor)?;
                Ok(StoredPage {
                    entries: self.len(),
                    orphaned_with_drafts: Vec::new(),
                })
            }
            fn count(report: &mut PullReport) -> &mut u32 {
                &mut report.$count
            }
        }
    };
}

/// Adds `n` to one of a pull report's counts, saturating: what a platform
/// sends is bounded by its pages and the engine's limits, but a count of it
/// is never left to overflow.
fn add_count(count: &mut u32, n: usize) {
    *count = count.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
}

impl CountedFeed for AssignmentPage {
    const CURSOR: &'static str = cursor::ASSIGNMENTS;
    const PHASE: SyncPhase = SyncPhase::Assignments;
    fn fetch<'a>(
        client: &'a Connector,
        since: Option<&'a str>,
        limit: u32,
    ) -> impl std::future::Future<Output = Result<Self>> + Send + 'a {
        client.assignments(since, Some(limit))
    }
    /// Also lists the assignments that became orphaned holding a draft.
    fn store(self, store: &Store) -> Result<StoredPage> {
        let orphaned = store.apply_assignment_page(&self.assignments, &self.next_cursor)?;
        Ok(StoredPage {
            entries: self.assignments.len(),
            orphaned_with_drafts: orphaned,
        })
    }
    fn count(report: &mut PullReport) -> &mut u32 {
        &mut report.assignments
    }
}
counted_feed!(
    OutcomePage,
    cursor::OUTCOMES,
    SyncPhase::Outcomes,
    outcomes,
    apply_outcome_page(outcomes),
    outcomes
);
counted_feed!(
    LedgerPage,
    cursor::LEDGER,
    SyncPhase::Ledger,
    ledger,
    apply_ledger_page(entries),
    ledger_entries
);

/// What a pull fetches one at a time and quarantine can hold back: a
/// rubric version (id, version), an assignment's item, an attachment.
trait Quarantinable {
    /// The quarantine it is held in.
    const KIND: QuarantineKind;
    /// Its key there.
    fn quarantine_key(&self) -> Cow<'_, str>;
}

impl Quarantinable for (String, u32) {
    const KIND: QuarantineKind = QuarantineKind::Rubric;
    fn quarantine_key(&self) -> Cow<'_, str> {
        rubric_key(&self.0, self.1).into()
    }
}

impl Quarantinable for Assignment {
    const KIND: QuarantineKind = QuarantineKind::Item;
    fn quarantine_key(&self) -> Cow<'_, str> {
        self.id.as_str().into()
    }
}

impl Quarantinable for AttachmentRef {
    const KIND: QuarantineKind = QuarantineKind::Attachment;
    fn quarantine_key(&self) -> Cow<'_, str> {
        self.sha256.as_str().into()
    }
}

/// The quarantine key of a rubric version.
fn rubric_key(id: &str, version: u32) -> String {
    format!("{id}@{version}")
}

/// Remove every field of a raw item envelope that `visible` does not name,
/// before anything decodes it: a hidden field is never parsed, stored or quoted.
fn strip_hidden_fields(envelope: &mut serde_json::Value, visible: &HashSet<&str>) {
    if let Some(fields) = envelope
        .get_mut("item")
        .and_then(|i| i.get_mut("fields"))
        .and_then(|f| f.as_object_mut())
    {
        fields.retain(|k, _| visible.contains(k.as_str()));
    }
}

/// Attachment bytes are written to their part file in pieces of up to this
/// many. Below the app's fixed 256 KiB mmap threshold
/// (`assay_store::heap::tune_allocator`): at 1 MiB this buffer, and the copy
/// `tokio::fs::File` keeps of each write, were mapped afresh for every
/// attachment and page-faulted in again (315 times in a 10k pull); at 128 KiB
/// they come from the heap and are reused. 56 MB are still a few hundred
/// hand-offs to the blocking pool.
const ATTACHMENT_WRITE_BUFFER: usize = 128 << 10;

/// Fetched items are stored this many (or all that are left) at a time.
const ITEM_WRITE_BATCH: usize = 128;

/// A batch of fetched items handed to the blocking writer, and how it went.
type ItemBatch = (
    Vec<(Assignment, FetchedItem)>,
    std::result::Result<(), StoreError>,
);

/// The running batch write's outcome (never ready when none runs).
async fn join_writer(
    writing: &mut Option<tokio::task::JoinHandle<ItemBatch>>,
) -> std::result::Result<ItemBatch, tokio::task::JoinError> {
    match writing {
        Some(w) => w.await,
        None => std::future::pending().await,
    }
}

/// Store a batch of fetched items in one transaction, media first (an item
/// never points at bytes that are not stored; `pull_items` has already
/// stored and dropped the media of items it batches). Blocking.
fn store_item_batch(
    store: &Store,
    batch: &[(Assignment, FetchedItem)],
) -> std::result::Result<(), StoreError> {
    for (_, f) in batch {
        for bytes in &f.media {
            store.put_blob(bytes)?;
        }
    }
    let writes: Vec<ScopedItemWrite<'_>> = batch
        .iter()
        .map(|(a, f)| ScopedItemWrite {
            assignment_id: &a.id,
            item: &f.scoped,
            reviewed: f.reviewed.as_ref(),
            own: f.own.as_ref(),
        })
        .collect();
    store.put_scoped_items(&writes)
}

/// How an item is named in messages: its title, else its id.
fn item_label(a: &Assignment) -> String {
    if a.item_title.is_empty() {
        a.item_id.clone()
    } else {
        a.item_title.clone()
    }
}

/// A pull under way: what it did so far, and the first transient failure
/// of one item, rubric or attachment, returned at its end.
#[derive(Default)]
struct PullState {
    report: PullReport,
    deferred: Option<SyncError>,
}

/// Connects the platform client and the store.
#[derive(Debug)]
pub struct SyncEngine {
    client: Connector,
    store: Arc<Store>,
    config: SyncConfig,
    working_on: Mutex<BTreeSet<String>>,
    /// Two lanes: one pull at a time (two pulls must not download the same
    /// attachment at once) and one upload drain at a time. An upload never
    /// waits for a pull: a sync that finds a pull running skips its own.
    pulling: tokio::sync::Mutex<()>,
    pushing: tokio::sync::Mutex<()>,
}

impl SyncEngine {
    /// An engine over `client`: an Assay [`PlatformClient`], a Label Studio
    /// client, or a [`Connector`] of either.
    pub fn new(client: impl Into<Connector>, store: Arc<Store>, config: SyncConfig) -> Self {
        Self {
            client: client.into().with_limits(config.limits.clone()),
            store,
            config,
            working_on: Mutex::new(BTreeSet::new()),
            pulling: tokio::sync::Mutex::new(()),
            pushing: tokio::sync::Mutex::new(()),
        }
    }

    /// Quarantine `key` after a failure that says its data is bad; next try after backoff.
    fn quarantine(
        &self,
        kind: QuarantineKind,
        key: &str,
        label: &str,
        e: &SyncError,
    ) -> Result<()> {
        let attempt = self.store.quarantine_attempts(kind, key)?.saturating_add(1);
        let delay = backoff_delay(&self.config, attempt, None);
        let reason = e.to_string();
        self.store
            .quarantine(kind, key, label, &reason, checked_later(Utc::now(), delay))?;
        tracing::warn!(kind = kind.as_str(), key, attempt, ?delay, error = %reason, "quarantined");
        Ok(())
    }

    /// Record a failure of one item, rubric or attachment: bad data is
    /// quarantined, a transient failure is remembered for the end of the
    /// pull, and only errors that doom the whole pull are returned.
    fn item_failed(
        &self,
        kind: QuarantineKind,
        key: &str,
        label: &str,
        e: SyncError,
        pull: &mut PullState,
    ) -> Result<()> {
        pull.report
            .errors
            .push(format!("{} {label}: {e}", kind.as_str()));
        if stops_pull(&e) {
            return Err(e);
        }
        if e.is_poison() {
            self.quarantine(kind, key, label, &e)?;
        } else {
            pull.deferred.get_or_insert(e);
        }
        Ok(())
    }

    /// The platform connector.
    pub fn client(&self) -> &Connector {
        &self.client
    }

    /// The offline store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The engine's settings.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// Tell the engine which assignments the reviewer has open (their leases are renewed).
    pub fn set_working_on(&self, assignment_ids: impl IntoIterator<Item = String>) {
        let mut w = self
            .working_on
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *w = assignment_ids.into_iter().collect();
    }

    fn working_on(&self) -> BTreeSet<String> {
        self.working_on
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    // ------------------------------------------------------------ pull

    /// Pull everything new: assignments (by cursor), opportunities and rates,
    /// rubrics, scoped items, attachments, outcomes and ledger (by cursor).
    /// Each page is applied atomically with its cursor, so an interrupted pull
    /// resumes where it stopped; partial attachment downloads resume by `Range`.
    ///
    /// One bad item, rubric or attachment never stops the rest: bad data is
    /// quarantined (with the reason, retried with backoff); a transient failure
    /// of one of them lets the pull go on and is returned at its end.
    pub async fn pull(&self, progress: impl Fn(SyncProgress) + Send + Sync) -> Result<PullReport> {
        let _lane = self.pulling.lock().await;
        self.pull_locked(&progress).await
    }

    async fn pull_locked(&self, progress: &impl Progress) -> Result<PullReport> {
        let mut pull = PullState::default();
        // Opportunities before assignments: each page of assignments has
        // its rows of the queue's index derived as it is stored, under its
        // opportunity's title. Stored after them, the opportunities marked
        // every row of theirs to be derived again (10,000 in a first pull).
        self.pull_reference_data().await?;
        self.pull_counted::<AssignmentPage>(&mut pull.report, progress)
            .await?;
        // New work in an opportunity created after the list was read: read
        // it again, so the work's group has its title and rate.
        if pull.report.assignments > 0 && self.store.has_work_of_unknown_opportunities()? {
            self.pull_reference_data().await?;
        }
        self.pull_rubrics(&mut pull, progress).await?;
        self.pull_items(&mut pull, progress).await?;
        self.pull_attachments(&mut pull, progress).await?;
        self.pull_counted::<OutcomePage>(&mut pull.report, progress)
            .await?;
        self.pull_counted::<LedgerPage>(&mut pull.report, progress)
            .await?;
        progress(SyncProgress::new(SyncPhase::Done));
        match pull.deferred {
            Some(e) => Err(e),
            None => Ok(pull.report),
        }
    }

    /// Pull one cursor feed page by page until it says there is no more,
    /// reporting `p` when it starts and with the count after each page.
    /// The feed's stored cursor (named `feed`) is where it starts; `write`
    /// stores a page together with its next cursor, on a blocking thread
    /// while the next page downloads, and `stored` takes in what it gave.
    /// A repeated cursor or an endless feed stops with an error (see
    /// [`CursorGuard`]).
    async fn pull_feed<P, R, Fut>(
        &self,
        feed: &'static str,
        mut p: SyncProgress,
        progress: &impl Progress,
        fetch: impl Fn(Option<String>, u32) -> Fut,
        write: fn(P, &Store) -> Result<R>,
        mut stored: impl FnMut(R),
    ) -> Result<()>
    where
        P: FeedPage + Send + 'static,
        R: Send + 'static,
        Fut: std::future::Future<Output = Result<P>>,
    {
        // Named when it starts, not after its first page: a feed that is
        // slow to answer shows as itself, not as the phase before it.
        progress(p.clone());
        let cur = self.store.cursor(feed)?;
        let mut guard = CursorGuard::new(feed, cur.as_deref(), self.config.max_pages);
        let page_done = |p: &mut SyncProgress, len: usize| {
            p.count(len);
            p.items_total = p.items_done;
            progress(p.clone());
        };
        // Each request's future is boxed: held across the store's write
        // below, it would otherwise enlarge every future awaiting a pull.
        let mut page = Box::pin(fetch(cur, self.config.page_size)).await?;
        loop {
            let next = if page.has_more() {
                guard.next(page.next_cursor())?;
                Some(page.next_cursor().to_string())
            } else {
                None
            };
            let len = page.len();
            // The page is stored (a commit, with its fsync) while the next
            // one downloads, instead of the two taking turns. Each page
            // still commits with its own cursor, in order: a pull stopped
            // between them resumes after the last page stored, and a page
            // that fails to store stops the feed before the next one is.
            let store = Arc::clone(&self.store);
            let mut writing = tokio::task::spawn_blocking(move || write(page, &store));
            let Some(cursor) = next else {
                stored(writing.await??);
                page_done(&mut p, len);
                break;
            };
            let mut fetching = Box::pin(fetch(Some(cursor), self.config.page_size));
            let mut fetched = None;
            let written = loop {
                tokio::select! {
                    w = &mut writing => break w,
                    f = &mut fetching, if fetched.is_none() => fetched = Some(f),
                }
            };
            stored(written??);
            page_done(&mut p, len);
            page = match fetched {
                Some(f) => f?,
                None => fetching.await?,
            };
        }
        Ok(())
    }

    async fn pull_reference_data(&self) -> Result<()> {
        let opps = self.client.opportunities().await?;
        self.store.put_opportunities(&opps.opportunities)?;
        let card = self.client.rate_card().await?;
        self.store.set_rate_card(&card)?;
        let payouts = self.client.payouts().await?;
        self.store.set_payouts(&payouts.payouts)?;
        Ok(())
    }

    async fn fetch_rubric(&self, id: &str, version: u32) -> Result<Rubric> {
        let env = self.client.rubric(id, version).await?;
        let invalid = |message: String| SyncError::InvalidRubric {
            id: id.to_string(),
            version,
            message,
        };
        let rubric: Rubric =
            serde_json::from_value(env.document).map_err(|e| invalid(e.to_string()))?;
        if rubric.id != id || rubric.version != version {
            return Err(invalid(format!(
                "the platform sent {} v{}",
                rubric.id, rubric.version
            )));
        }
        Ok(rubric)
    }

    /// What `missing` lists, less the entries quarantine holds back until a
    /// later attempt.
    fn not_held_back<T: Quarantinable>(
        &self,
        missing: impl FnOnce(&Store) -> assay_store::Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        let held = self.store.quarantined_until_later(T::KIND, Utc::now())?;
        Ok(missing(&self.store)?
            .into_iter()
            .filter(|t| !held.contains(t.quarantine_key().as_ref()))
            .collect())
    }

    /// The entries of `phase` still to fetch (what `missing` lists that
    /// quarantine does not hold back), and its progress, reported once.
    fn phase_todo<T: Quarantinable>(
        &self,
        phase: SyncPhase,
        missing: impl FnOnce(&Store) -> assay_store::Result<Vec<T>>,
        progress: &impl Progress,
    ) -> Result<(Vec<T>, SyncProgress)> {
        let todo = self.not_held_back(missing)?;
        let mut p = SyncProgress::new(phase);
        p.items_total = todo.len() as u64;
        progress(p.clone());
        Ok((todo, p))
    }

    async fn pull_rubrics(&self, pull: &mut PullState, progress: &impl Progress) -> Result<()> {
        let (missing, mut p) =
            self.phase_todo(SyncPhase::Rubrics, Store::missing_rubrics, progress)?;
        for (id, version) in missing {
            let key = rubric_key(&id, version);
            match self.fetch_rubric(&id, version).await {
                Ok(r) => {
                    self.store.put_rubric(&r)?;
                    self.store
                        .release_quarantine(QuarantineKind::Rubric, &key)?;
                    add_count(&mut pull.report.rubrics, 1);
                }
                Err(e) => {
                    let label = format!("{id} v{version}");
                    self.item_failed(QuarantineKind::Rubric, &key, &label, e, pull)?;
                }
            }
            p.count(1);
            progress(p.clone());
        }
        Ok(())
    }

    /// Fetch an item, drop the fields `rubric` hides before decoding, decode
    /// and scope it.
    async fn fetch_scoped_item(&self, a: &Assignment, rubric: &Rubric) -> Result<FetchedItem> {
        const ROUTE: &str = "GET /items/{id}";
        let fetched = match &self.client {
            // The protocol's envelope as sent: decoded once, straight into
            // the scoped item; hidden fields are skipped unparsed.
            Connector::Assay(c) => {
                let bytes = c.item_bytes(&a.item_id).await?;
                let env =
                    decode_scoped(&bytes, rubric).map_err(|e| SyncError::malformed(ROUTE, &e))?;
                FetchedItem {
                    scoped: env.scoped,
                    reviewed: env.reviewed,
                    own: env.own,
                    media: Vec::new(),
                }
            }
            // A mapped envelope whose media the connector rewrites in place.
            Connector::LabelStudio(_) => {
                let mut raw = self.client.item_raw(&a.item_id).await?;
                let visible: HashSet<&str> = rubric.fields.iter().map(|f| f.id.as_str()).collect();
                strip_hidden_fields(&mut raw, &visible);
                // Only now, with hidden fields gone: nothing hidden is ever fetched.
                let media = self.client.resolve_media(&mut raw).await?;
                let env: assay_protocol::ItemEnvelope =
                    serde_json::from_value(raw).map_err(|e| SyncError::malformed(ROUTE, &e))?;
                // Scope BEFORE storing: hidden fields never reach the disk.
                FetchedItem {
                    scoped: scope_item(env.item, rubric),
                    reviewed: env.reviewed_submission,
                    own: env.own_submission,
                    media,
                }
            }
        };
        if fetched.scoped.item_id != a.item_id {
            return Err(SyncError::Protocol(format!(
                "asked for item {}, the platform sent another one",
                a.item_id
            )));
        }
        Ok(fetched)
    }

    /// Store a fetched item with the submissions that came with it.
    fn put_fetched_item(
        &self,
        a: &Assignment,
        f: &FetchedItem,
    ) -> std::result::Result<(), StoreError> {
        // Media first: the item never points at bytes that are not stored.
        for bytes in &f.media {
            self.store.put_blob(bytes)?;
        }
        self.store
            .put_scoped_item(&a.id, &f.scoped, f.reviewed.as_ref())?;
        self.store.put_own_submission(&a.id, f.own.as_ref())
    }

    async fn pull_items(&self, pull: &mut PullState, progress: &impl Progress) -> Result<()> {
        let (todo, mut p) =
            self.phase_todo(SyncPhase::Items, Store::assignments_missing_items, progress)?;
        // Each rubric version is read and parsed once, not once per item.
        let mut rubrics: HashMap<(String, u32), Option<Rubric>> = HashMap::new();
        for a in &todo {
            if let std::collections::hash_map::Entry::Vacant(e) =
                rubrics.entry((a.rubric_id.clone(), a.rubric_version))
            {
                e.insert(self.store.rubric(&a.rubric_id, a.rubric_version)?);
            }
        }
        let rubrics = &rubrics;
        let results = stream::iter(todo)
            .map(|a| async move {
                let fetched = match rubrics.get(&(a.rubric_id.clone(), a.rubric_version)) {
                    Some(Some(rubric)) => self.fetch_scoped_item(&a, rubric).await.map(Some),
                    _ => Ok(None),
                };
                (a, fetched)
            })
            .buffer_unordered(self.config.item_concurrency.max(1));
        let mut fatal = None;
        // Fetched items are stored in batches of at least ITEM_WRITE_BATCH
        // (one transaction each) on a blocking thread, while the next ones
        // download: a commit per item would rewrite the same index pages
        // thousands of times and stall the downloads while it writes.
        let mut chunks = results.ready_chunks(ITEM_WRITE_BATCH);
        let mut pending: Vec<(Assignment, FetchedItem)> = Vec::new();
        let mut writing: Option<tokio::task::JoinHandle<ItemBatch>> = None;
        let mut fetching = true;
        while fetching || writing.is_some() || !pending.is_empty() {
            if writing.is_none()
                && (pending.len() >= ITEM_WRITE_BATCH || (!fetching && !pending.is_empty()))
            {
                let batch = std::mem::take(&mut pending);
                let store = Arc::clone(&self.store);
                writing = Some(tokio::task::spawn_blocking(move || {
                    let stored = store_item_batch(&store, &batch);
                    (batch, stored)
                }));
            }
            let mut written = None;
            tokio::select! {
                chunk = chunks.next(), if fetching => match chunk {
                    Some(chunk) => {
                        for (a, fetched) in chunk {
                            p.count(1);
                            match fetched {
                                Ok(Some(mut x)) => {
                                    // Media (Label Studio images, up to the
                                    // attachment limit each) is stored as it
                                    // arrives, so a batch waiting to be
                                    // written holds only the items' JSON.
                                    for bytes in std::mem::take(&mut x.media) {
                                        self.store.put_blob(&bytes)?;
                                    }
                                    pending.push((a, x));
                                }
                                Ok(None) => pull.report.errors.push(format!(
                                    "item {}: rubric {} v{} unavailable; not stored",
                                    a.item_id, a.rubric_id, a.rubric_version
                                )),
                                Err(e) => {
                                    let label = item_label(&a);
                                    if let Err(e) = self.item_failed(
                                        QuarantineKind::Item, &a.id, &label, e, pull,
                                    ) {
                                        fatal.get_or_insert(e);
                                    }
                                }
                            }
                        }
                        progress(p.clone());
                    }
                    None => fetching = false,
                },
                done = join_writer(&mut writing), if writing.is_some() => written = Some(done),
            }
            if let Some(done) = written {
                writing = None;
                let (batch, stored) = done?;
                self.finish_item_batch(&batch, stored, pull)?;
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// After a batch was written: release its items from quarantine and
    /// count them. When the batch was refused for an invalid attachment
    /// reference, each item is stored alone so only the bad ones fail.
    fn finish_item_batch(
        &self,
        batch: &[(Assignment, FetchedItem)],
        stored: std::result::Result<(), StoreError>,
        pull: &mut PullState,
    ) -> Result<()> {
        match stored {
            Ok(()) => {
                let ids: Vec<&str> = batch.iter().map(|(a, _)| a.id.as_str()).collect();
                self.store.release_quarantines(QuarantineKind::Item, &ids)?;
                add_count(&mut pull.report.items, batch.len());
                Ok(())
            }
            Err(StoreError::InvalidDigest(_)) => {
                for (a, f) in batch {
                    match self.put_fetched_item(a, f) {
                        Ok(()) => {
                            self.store.release_quarantine(QuarantineKind::Item, &a.id)?;
                            add_count(&mut pull.report.items, 1);
                        }
                        Err(e @ StoreError::InvalidDigest(_)) => {
                            let e = SyncError::Protocol(format!(
                                "an attachment reference is invalid: {e}"
                            ));
                            let label = item_label(a);
                            self.item_failed(QuarantineKind::Item, &a.id, &label, e, pull)?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Downloads one assignment's item now (the reviewer opened work this
    /// machine never downloaded, e.g. finished work from before it synced),
    /// scoped by its rubric before it is stored; the rubric is fetched first
    /// when missing. Attachments follow with the next sync.
    pub async fn fetch_item(&self, a: &Assignment) -> Result<()> {
        let rubric = if let Some(r) = self.store.rubric(&a.rubric_id, a.rubric_version)? {
            r
        } else {
            let r = self.fetch_rubric(&a.rubric_id, a.rubric_version).await?;
            self.store.put_rubric(&r)?;
            let key = rubric_key(&a.rubric_id, a.rubric_version);
            self.store
                .release_quarantine(QuarantineKind::Rubric, &key)?;
            r
        };
        let fetched = self.fetch_scoped_item(a, &rubric).await?;
        self.put_fetched_item(a, &fetched)?;
        self.store.release_quarantine(QuarantineKind::Item, &a.id)?;
        Ok(())
    }

    async fn pull_attachments(&self, pull: &mut PullState, progress: &impl Progress) -> Result<()> {
        let todo = self.not_held_back(Store::missing_attachments)?;
        let blobs = self.store.blobs();
        let mut already = 0u64;
        for a in &todo {
            already = already.saturating_add(blobs.part_len(&a.sha256)?.min(a.size));
        }
        let total: u64 = todo.iter().fold(0u64, |t, a| t.saturating_add(a.size));
        let bytes_done = AtomicU64::new(already);
        let base = SyncProgress {
            phase: SyncPhase::Attachments,
            items_done: 0,
            items_total: todo.len() as u64,
            bytes_done: already,
            bytes_total: total,
        };
        progress(base.clone());
        let items_done = AtomicU64::new(0);
        let report_progress = |bytes: u64| {
            let b = bytes_done
                .fetch_add(bytes, Ordering::Relaxed)
                .saturating_add(bytes);
            progress(SyncProgress {
                bytes_done: b,
                items_done: items_done.load(Ordering::Relaxed),
                ..base.clone()
            });
        };
        let deadline = self.config.limits.attachment_deadline;
        let results: Vec<(AttachmentRef, Result<u64>)> = stream::iter(todo)
            .map(|a| {
                let report_progress = &report_progress;
                async move {
                    let r = tokio::time::timeout(
                        deadline,
                        self.download_attachment(&a, report_progress),
                    )
                    .await
                    .unwrap_or(Err(SyncError::Timeout {
                        route: PlatformClient::ATTACHMENT_ROUTE,
                        after: deadline,
                    }));
                    (a, r)
                }
            })
            .buffer_unordered(self.config.attachment_concurrency.max(1))
            // Each complete part is committed (fsynced, moved into place, its
            // directory fsynced, recorded) while the next downloads run:
            // `attachment_concurrency` requests stay in flight, as before,
            // and the disk's latency no longer holds a download slot.
            .map(|(a, r)| async move {
                let r = match r {
                    Ok(Downloaded::Committed) => Ok(0),
                    Ok(Downloaded::Part { written, digest }) => {
                        self.commit(&a.sha256, Some(digest)).await.map(|_| written)
                    }
                    Err(e) => Err(e),
                };
                (a, r)
            })
            .buffer_unordered(
                self.config
                    .attachment_concurrency
                    .max(1)
                    .saturating_mul(COMMITS_PER_DOWNLOAD),
            )
            .collect()
            .await;
        let mut fatal = None;
        for (a, r) in results {
            items_done.fetch_add(1, Ordering::Relaxed);
            match r {
                Ok(n) => {
                    self.store
                        .release_quarantine(QuarantineKind::Attachment, &a.sha256)?;
                    add_count(&mut pull.report.attachments, 1);
                    pull.report.bytes = pull.report.bytes.saturating_add(n);
                }
                Err(e) => {
                    tracing::warn!(sha256 = %a.sha256, error = %e, "attachment not downloaded");
                    if let Err(e) = self.item_failed(
                        QuarantineKind::Attachment,
                        &a.sha256,
                        &a.filename,
                        e,
                        pull,
                    ) {
                        fatal.get_or_insert(e);
                    }
                }
            }
        }
        progress(SyncProgress {
            bytes_done: bytes_done.load(Ordering::Relaxed),
            items_done: items_done.load(Ordering::Relaxed),
            ..base
        });
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Download one attachment into its `.part` file (resuming with `Range`),
    /// hashing it as it is written; [`Self::commit`] verifies and moves it
    /// into the blob store. A part complete before an interruption is
    /// committed here.
    async fn download_attachment(
        &self,
        att: &AttachmentRef,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded> {
        let sha = att.sha256.as_str();
        let limits = &self.config.limits;
        if att.size > limits.attachment_max_bytes {
            return Err(SyncError::TooLarge {
                route: PlatformClient::ATTACHMENT_ROUTE,
                limit: limits.attachment_max_bytes,
            });
        }
        let blobs = self.store.blobs();
        let mut offset = blobs.part_len(sha)?;
        if offset > att.size {
            blobs.discard_part(sha)?;
            offset = 0;
        }
        if offset == att.size && offset > 0 {
            // Fully downloaded before an interruption: just verify and commit.
            match self.commit(sha, None).await {
                Ok(_) => return Ok(Downloaded::Committed),
                Err(SyncError::Integrity(_)) => offset = 0, // bad part was discarded
                Err(e) => return Err(e),
            }
        }
        // Never start what the disk cannot hold (keeping a reserve free).
        let needed = att
            .size
            .saturating_sub(offset)
            .saturating_add(limits.keep_free_bytes);
        let dir = blobs.part_path(sha)?;
        let dir = dir.parent().unwrap_or(self.store.dir());
        let available = fs4::available_space(dir).map_err(|e| {
            SyncError::Storage(StoreError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        })?;
        if available < needed {
            return Err(SyncError::DiskFull {
                sha256: sha.to_string(),
                needed,
                available,
            });
        }
        let resp = self.client.attachment(sha, offset).await?;
        match resp.status() {
            StatusCode::PARTIAL_CONTENT => {
                let start = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(offset) {
                    blobs.discard_part(sha)?;
                    return Err(SyncError::Protocol(format!(
                        "attachment {sha}: asked for bytes from {offset}, got range {start:?}"
                    )));
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                blobs.discard_part(sha)?;
                return Err(SyncError::Protocol(format!(
                    "attachment {sha}: range not satisfiable; restarting"
                )));
            }
            _ => {
                if offset > 0 {
                    // The server ignored Range: start over.
                    blobs.discard_part(sha)?;
                    offset = 0;
                }
            }
        }
        if let Some(h) = resp.headers().get(CONTENT_SHA256_HEADER) {
            if h.to_str().ok() != Some(sha) {
                return Err(SyncError::Integrity(format!(
                    "attachment {sha}: the platform announced another digest"
                )));
            }
        }
        let path = blobs.part_path(sha)?;
        let io = |e: std::io::Error| {
            SyncError::Storage(StoreError::Io {
                path: path.clone(),
                source: e,
            })
        };
        // The bytes are hashed as they are written, so the commit need not
        // read the part back; a resumed part's bytes so far are read once.
        let mut digest = if offset == 0 {
            PartDigest::new()
        } else {
            let store = Arc::clone(&self.store);
            let sha = sha.to_string();
            tokio::task::spawn_blocking(move || store.blobs().part_digest(&sha)).await??
        };
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(io)?;
        // The body arrives in chunks as the socket delivers them, and each
        // write of a `tokio::fs::File` is a hand-off to a blocking thread and
        // back: the chunks are gathered into writes of up to 128 KiB.
        let mut file = tokio::io::BufWriter::with_capacity(ATTACHMENT_WRITE_BUFFER, file);
        let mut body = resp.bytes_stream();
        let mut written = 0u64;
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    failure = Some(SyncError::from(e));
                    break;
                }
            };
            let end = offset
                .checked_add(written)
                .and_then(|n| n.checked_add(chunk.len() as u64));
            if end.is_none_or(|end| end > att.size) {
                drop(file);
                blobs.discard_part(sha)?;
                return Err(SyncError::Integrity(format!(
                    "attachment {sha}: more bytes than the declared {}",
                    att.size
                )));
            }
            digest.update(&chunk);
            file.write_all(&chunk).await.map_err(io)?;
            written = written.saturating_add(chunk.len() as u64);
            on_bytes(chunk.len() as u64);
        }
        // Keep what arrived so the next attempt resumes from here. Not
        // fsynced here: a complete part is fsynced by the commit below before
        // it is moved into place and recorded, and a part cut short by a
        // power loss is only ever resumed into a file whose hash the commit
        // checks (a torn part is discarded there and fetched again).
        file.flush().await.map_err(io)?;
        drop(file);
        if let Some(e) = failure {
            return Err(e);
        }
        if offset.checked_add(written) != Some(att.size) {
            return Err(SyncError::Offline(format!(
                "attachment {sha}: body ended after {} of {} bytes",
                offset.saturating_add(written),
                att.size
            )));
        }
        Ok(Downloaded::Part { written, digest })
    }

    /// Verify the part of `sha` (by `digest` when its bytes were hashed as
    /// they were written, else read back) and move it into the blob store.
    async fn commit(&self, sha: &str, digest: Option<PartDigest>) -> Result<u64> {
        let store = Arc::clone(&self.store);
        let sha = sha.to_string();
        tokio::task::spawn_blocking(move || match digest {
            Some(d) => store.commit_attachment_digest(&sha, d),
            None => store.commit_attachment_part(&sha),
        })
        .await?
        .map_err(|e| match e {
            e @ StoreError::BlobCorrupt { .. } => SyncError::Integrity(e.to_string()),
            e => SyncError::Storage(e),
        })
    }

    /// Pull a [`CountedFeed`] to its end, counting its entries into the report.
    async fn pull_counted<P: CountedFeed>(
        &self,
        report: &mut PullReport,
        progress: &impl Progress,
    ) -> Result<()> {
        self.pull_feed(
            P::CURSOR,
            SyncProgress::new(P::PHASE),
            progress,
            |cur, limit| async move { P::fetch(&self.client, cur.as_deref(), limit).await },
            P::store,
            |page| {
                add_count(P::count(report), page.entries);
                report
                    .orphaned_with_drafts
                    .extend(page.orphaned_with_drafts);
            },
        )
        .await
    }

    // ------------------------------------------------------------ push

    /// Upload every due outbox entry with its idempotency key. Transient
    /// failures are rescheduled with exponential backoff and jitter (at least
    /// `Retry-After`); permanent refusals become visible states on the item and
    /// the answers return to the draft. Safe to call after a crash: entries
    /// left `sending` are retried with the same key.
    pub async fn push(&self) -> Result<PushReport> {
        let _lane = self.pushing.lock().await;
        self.push_locked().await
    }

    async fn push_locked(&self) -> Result<PushReport> {
        let mut report = PushReport::default();
        for entry in self.store.due_outbox(Utc::now())? {
            let attempt = self.store.mark_outbox_sending(entry.id)?;
            let key = entry.idempotency_key.as_str();
            let result = match &entry.payload {
                OutboxPayload::Submission(req) => {
                    self.client.submit(req, key).await.and_then(|r| {
                        self.store.record_submission_receipt(entry.id, &r)?;
                        Ok(r.replayed)
                    })
                }
                OutboxPayload::Review(req) => self.client.review(req, key).await.and_then(|r| {
                    self.store.record_review_receipt(entry.id, &r)?;
                    Ok(r.replayed)
                }),
            };
            match result {
                Ok(replayed) => {
                    report.sent += 1;
                    report.replayed += u32::from(replayed);
                    tracing::info!(assignment = %entry.assignment_id, replayed, "uploaded");
                }
                Err(SyncError::Rejected { error, status }) => {
                    let kind = match error.code {
                        ApiErrorCode::LeaseExpired => IssueKind::LeaseExpired,
                        ApiErrorCode::RubricVersionMismatch => IssueKind::RubricChanged,
                        _ => IssueKind::Rejected,
                    };
                    tracing::warn!(assignment = %entry.assignment_id, status, code = ?error.code, "upload refused");
                    self.store.outbox_failed(entry.id, kind, &error.message)?;
                    report.failed += 1;
                }
                Err(e) => {
                    let delay = backoff_delay(&self.config, attempt, e.retry_after());
                    let next = checked_later(Utc::now(), delay);
                    let mut message = e.to_string();
                    if e.retry_after().is_some_and(|ra| ra > delay) {
                        message.push_str(&format!(
                            "; Assay retries at {} (its longest wait)",
                            next.format("%Y-%m-%d %H:%M:%S UTC")
                        ));
                    }
                    self.store.outbox_retry_later(entry.id, next, &message)?;
                    report.retry_scheduled += 1;
                    tracing::info!(assignment = %entry.assignment_id, attempt, ?delay, error = %message, "upload will be retried");
                    if !matches!(
                        e,
                        SyncError::Server { .. }
                            | SyncError::Protocol(_)
                            | SyncError::ReceiptMismatch(_)
                            | SyncError::TooLarge { .. }
                    ) {
                        // Offline, unauthorized, storage: the rest would fail the same way.
                        return if e.is_retryable() { Ok(report) } else { Err(e) };
                    }
                }
            }
        }
        Ok(report)
    }

    // ------------------------------------------------------------ leases

    /// Renew the leases of assignments being worked on when they are within
    /// `lease_renew_before` of expiry; report leases the platform says are gone
    /// (drafts kept) and others about to expire.
    pub async fn renew_leases(&self) -> Result<LeaseReport> {
        let working = self.working_on();
        let now = Utc::now();
        let renew_before = chrono::Duration::from_std(self.config.lease_renew_before)
            .unwrap_or(chrono::Duration::MAX);
        let warn_before = chrono::Duration::from_std(self.config.lease_warn_before)
            .unwrap_or(chrono::Duration::MAX);
        let mut report = LeaseReport::default();
        for lease in self.store.active_leases()? {
            let left = lease.lease_expires_at - now;
            if working.contains(&lease.assignment_id) && left <= renew_before {
                match self.client.renew_lease(&lease.assignment_id).await {
                    Ok(l) => {
                        self.store.set_lease(&l.assignment_id, l.lease_expires_at)?;
                        report.renewed.push(LeaseInfo {
                            assignment_id: l.assignment_id,
                            lease_expires_at: l.lease_expires_at,
                        });
                    }
                    Err(SyncError::Rejected { error, .. })
                        if error.code == ApiErrorCode::LeaseExpired =>
                    {
                        self.store
                            .mark_lease_expired(&lease.assignment_id, &error.message)?;
                        report.expired.push(lease.assignment_id);
                    }
                    Err(SyncError::Rejected { error, .. }) => {
                        // E.g. completed or revoked meanwhile: the next pull shows it.
                        tracing::info!(assignment = %lease.assignment_id, code = ?error.code, "lease not renewed");
                    }
                    Err(e) => return Err(e),
                }
            } else if left <= warn_before {
                report.expiring_soon.push(lease);
            }
        }
        Ok(report)
    }

    // ------------------------------------------------------------ reachability

    /// Whether the platform answers at all (a cheap `GET /health`, bounded by
    /// `probe_timeout`). When it does after an outage, every waiting upload is
    /// made due now so the next sync sends it.
    pub async fn probe(&self) -> bool {
        let up = matches!(
            tokio::time::timeout(self.config.probe_timeout, self.client.health()).await,
            Ok(Ok(_))
        );
        if up {
            match self.store.outbox_due_now(Utc::now()) {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, "platform reachable again: uploading now"),
                Err(e) => tracing::warn!(error = %e, "could not bring the outbox forward"),
            }
        }
        up
    }

    // ------------------------------------------------------------ one full sync

    /// Push, then pull; records the attempt and its outcome in the store's sync status.
    ///
    /// Uploads never wait behind a pull: the upload goes first, on its own
    /// lane; only then does this sync wait for a pull already running (e.g. a
    /// slow one of the background loop, bounded by the request deadlines) and
    /// pull what is new.
    pub async fn sync_once(
        &self,
        progress: impl Fn(SyncProgress) + Send + Sync,
    ) -> Result<SyncReport> {
        self.sync_once_reporting(progress, |_| {}).await
    }

    /// [`SyncEngine::sync_once`], handing the upload's report to `pushed` as
    /// soon as the upload ends: before the pull, which may take long (or
    /// wait on a slow platform until its deadlines), so that what was just
    /// uploaded shows at once rather than when the whole sync ends. Only an
    /// upload that did anything ([`PushReport::did_anything`]) is handed
    /// over; with nothing to upload `pushed` is not called.
    pub async fn sync_once_reporting(
        &self,
        progress: impl Fn(SyncProgress) + Send + Sync,
        pushed: impl FnOnce(&PushReport) + Send,
    ) -> Result<SyncReport> {
        self.store.record_sync_attempt(Utc::now())?;
        // The pull writes with a larger page cache, handed back below; a
        // pull without it is slower, not wrong.
        if let Err(e) = self.store.bulk_cache() {
            tracing::debug!(error = %e, "could not raise the store's page cache");
        }
        let result = async {
            progress(SyncProgress::new(SyncPhase::Upload));
            let push = self.push().await?;
            if push.did_anything() {
                pushed(&push);
            }
            let pull = self.pull(&progress).await?;
            Ok::<_, SyncError>(SyncReport { push, pull })
        }
        .await;
        match &result {
            Ok(_) => self.store.record_sync_success(Utc::now())?,
            Err(e) => self.store.record_sync_error(Utc::now(), &e.to_string())?,
        }
        // The queue's index takes in what this sync wrote now, off the
        // queue's next call (which would do it otherwise, on the UI's path),
        // whether "sync now" or the background loop ran it.
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.refresh_queue_index()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not refresh the queue's index"),
            Err(e) => tracing::warn!(error = %e, "could not refresh the queue's index"),
        }
        // A bulk pull fills the store's page cache; the rest of the session
        // reads a few pages at a time, so it goes back to its small size.
        if let Err(e) = self.store.release_memory() {
            tracing::debug!(error = %e, "could not release the store's page cache");
        }
        result
    }
}

/// What downloading an attachment leaves to do.
enum Downloaded {
    /// Nothing: a part complete before an interruption was committed.
    Committed,
    /// Commit the complete part: `written` bytes came now, hashed as written.
    Part { written: u64, digest: PartDigest },
}

/// Commits of downloaded attachments that may run per download in flight.
const COMMITS_PER_DOWNLOAD: usize = 2;

/// An item as fetched and scoped, with the submissions the platform sent with it.
struct FetchedItem {
    scoped: assay_rubric::ScopedItem,
    reviewed: Option<assay_protocol::ReviewedSubmission>,
    own: Option<assay_protocol::ReviewedSubmission>,
    /// Bytes of media the connector downloaded with the item (Label Studio
    /// images), stored as blobs before it.
    media: Vec<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retries after 2 s, doubling up to 60 s.
    fn backoff_2s_to_60s() -> SyncConfig {
        SyncConfig {
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            ..SyncConfig::default()
        }
    }

    #[test]
    fn a_pull_reports_counts_saturate_instead_of_overflowing() {
        let mut n = u32::MAX - 1;
        add_count(&mut n, 1);
        assert_eq!(n, u32::MAX);
        add_count(&mut n, 1);
        assert_eq!(n, u32::MAX, "saturates");
        let mut m = 5;
        add_count(&mut m, usize::MAX);
        assert_eq!(m, u32::MAX, "a length beyond u32 counts as the most");
        let mut k = 0;
        add_count(&mut k, 128);
        assert_eq!(k, 128);
    }

    #[test]
    fn progress_counts_saturate_too() {
        let mut p = SyncProgress::new(SyncPhase::Items);
        p.count(3);
        assert_eq!(p.items_done, 3);
        p.count(usize::MAX);
        assert_eq!(p.items_done, u64::MAX, "saturates");
        p.count(1);
        assert_eq!(p.items_done, u64::MAX);
    }

    #[test]
    fn retry_after_counts_only_up_to_the_cap() {
        let c = backoff_2s_to_60s();
        for ra in [61, 1_000_000_000, 99_999_999_999_999, u64::MAX] {
            let d = backoff_delay(&c, 1, Some(Duration::from_secs(ra)));
            assert_eq!(d, Duration::from_secs(60), "Retry-After {ra}");
            // The retry time never overflows.
            assert!(checked_later(Utc::now(), Duration::from_secs(ra)) > Utc::now());
        }
    }

    /// Set once the test feed below was asked for its second page.
    static SECOND_PAGE_ASKED: std::sync::atomic::AtomicBool =
        std::sync::atomic::AtomicBool::new(false);

    /// Stores a test page: the first only once the second was asked for
    /// (so a feed that fetched and stored in turns fails here), in at most
    /// 10 s.
    fn store_test_page(page: AssignmentPage, _: &Store) -> Result<String> {
        if page.next_cursor == "c1" {
            let until = std::time::Instant::now() + Duration::from_secs(10);
            while !SECOND_PAGE_ASKED.load(Ordering::SeqCst) {
                if std::time::Instant::now() > until {
                    return Err(SyncError::Internal(
                        "the next page was not asked for while this one was stored".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(page.next_cursor)
    }

    /// A feed's next page downloads while the page before it is stored, and
    /// the pages are still stored (and reported) in order.
    #[tokio::test(flavor = "current_thread")]
    async fn a_feed_stores_a_page_while_the_next_one_downloads() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let client = PlatformClient::new("http://127.0.0.1:9").unwrap();
        let engine = SyncEngine::new(client, store, SyncConfig::default());
        let page = |next: &str, more: bool| AssignmentPage {
            assignments: Vec::new(),
            next_cursor: next.to_string(),
            has_more: more,
        };
        let mut stored = Vec::new();
        let reported = Mutex::new(Vec::new());
        engine
            .pull_feed(
                "test-feed",
                SyncProgress::new(SyncPhase::Assignments),
                &|p: SyncProgress| reported.lock().unwrap().push(p.items_done),
                |cur: Option<String>, _| {
                    let second = cur.as_deref() == Some("c1");
                    let next = match cur.as_deref() {
                        None => page("c1", true),
                        Some("c1") => page("c2", true),
                        _ => page("c3", false),
                    };
                    // Asked for when the request runs (its future is
                    // polled), not when it is made.
                    async move {
                        if second {
                            SECOND_PAGE_ASKED.store(true, Ordering::SeqCst);
                        }
                        Ok(next)
                    }
                },
                store_test_page,
                |cursor| stored.push(cursor),
            )
            .await
            .unwrap();
        assert_eq!(stored, ["c1", "c2", "c3"]);
        assert_eq!(
            reported.into_inner().unwrap().len(),
            4,
            "the start and each page"
        );
    }

    #[test]
    fn cursor_guard_stops_a_repeated_cursor_and_an_endless_feed() {
        let mut g = CursorGuard::new("ledger", Some("A"), 100);
        g.next("B").unwrap();
        assert!(matches!(
            g.next("A"),
            Err(SyncError::CursorCycle { feed: "ledger", .. })
        ));
        let mut g = CursorGuard::new("ledger", None, 3);
        g.next("1").unwrap();
        g.next("2").unwrap();
        assert!(matches!(g.next("3"), Err(SyncError::Protocol(_))));
    }

    #[test]
    fn hidden_fields_are_dropped_before_decoding() {
        let mut v = serde_json::json!({"item": {"fields": {
            "shown": {"type": "text", "value": "ok"},
            "gold": {"type": "bogus", "value": {"SECRET": [1]}}
        }}});
        strip_hidden_fields(&mut v, &["shown"].into_iter().collect());
        assert_eq!(v["item"]["fields"].as_object().unwrap().len(), 1);
        assert!(!v.to_string().contains("SECRET"));
    }

    #[test]
    fn backoff_grows_with_jitter_caps_and_honours_retry_after() {
        let c = backoff_2s_to_60s();
        for _ in 0..50 {
            let d1 = backoff_delay(&c, 1, None);
            assert!(
                d1 >= Duration::from_secs(1) && d1 <= Duration::from_secs(2),
                "{d1:?}"
            );
            let d4 = backoff_delay(&c, 4, None);
            assert!(
                d4 >= Duration::from_secs(8) && d4 <= Duration::from_secs(16),
                "{d4:?}"
            );
            let big = backoff_delay(&c, 40, None);
            assert!(
                big >= Duration::from_secs(30) && big <= Duration::from_secs(60),
                "{big:?}"
            );
            let ra = backoff_delay(&c, 1, Some(Duration::from_secs(30)));
            assert!(ra >= Duration::from_secs(30));
            let capped = backoff_delay(&c, 1, Some(Duration::from_secs(3600)));
            assert_eq!(capped, Duration::from_secs(60));
        }
        // Jitter: not every delay is the same.
        let set: BTreeSet<_> = (0..20).map(|_| backoff_delay(&c, 3, None)).collect();
        assert!(set.len() > 1);
    }
}
