//! The sync engine: pull by cursor, download attachments, drain the outbox,
//! renew leases, and a background loop with backoff.
//!
//! Here: the engine's settings and reports, a pull's phases in order and one
//! full sync. The phases' own work is in `feeds` (cursor feeds), `items`,
//! `attachments` and `upload` (the outbox and leases).

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

mod attachments;
mod feeds;
mod items;
mod upload;

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

/// Adds `n` to one of a pull report's counts, saturating: what a platform
/// sends is bounded by its pages and the engine's limits, but a count of it
/// is never left to overflow.
fn add_count(count: &mut u32, n: usize) {
    *count = count.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
}

/// Where a pull reports its progress (see [`SyncProgress`]).
trait Progress: Fn(SyncProgress) + Send + Sync {}

impl<F: Fn(SyncProgress) + Send + Sync> Progress for F {}

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

#[cfg(test)]
mod tests {
    use super::feeds::CursorGuard;
    use super::items::strip_hidden_fields;
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
