//! The sync engine: pull by cursor, download attachments, drain the outbox,
//! renew leases, and a background loop with backoff.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assay_protocol::{ApiErrorCode, AttachmentRef, CONTENT_SHA256_HEADER};
use assay_rubric::Rubric;
use assay_store::{cursor, IssueKind, LeaseInfo, OutboxPayload, Store, StoreError};
use chrono::Utc;
use futures_util::{stream, StreamExt};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use ts_rs::TS;

use crate::client::PlatformClient;
use crate::error::{Result, SyncError};
use crate::scope::scope_item;

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
    /// While the platform is unreachable the background loop probes it
    /// (`GET /health`) after this delay, doubling up to `probe_max`, and syncs
    /// the moment it answers (so the outbox drains without waiting for a poll).
    pub probe_base: Duration,
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
            lease_warn_before: Duration::from_secs(15 * 60),
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
    Upload,
    Assignments,
    Rubrics,
    Items,
    Attachments,
    Outcomes,
    Ledger,
    Done,
}

/// Progress of a pull, for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    #[ts(type = "number")]
    pub items_done: u64,
    #[ts(type = "number")]
    pub items_total: u64,
    #[ts(type = "number")]
    pub bytes_done: u64,
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
}

/// What a pull did. Per-item refusals (e.g. an item the platform no longer
/// serves) are listed in `errors` and do not stop the pull.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PullReport {
    pub assignments: u32,
    /// Assignments revoked/reassigned while holding a draft (kept, shown orphaned).
    pub orphaned_with_drafts: Vec<String>,
    pub rubrics: u32,
    pub items: u32,
    pub attachments: u32,
    #[ts(type = "number")]
    pub bytes: u64,
    pub outcomes: u32,
    pub ledger_entries: u32,
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

/// What a lease pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LeaseReport {
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
    pub push: PushReport,
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
        Some(ra) => d.max(ra),
        None => d,
    }
}

fn is_fatal(e: &SyncError) -> bool {
    // Errors that stop a pull (everything else is recorded per item).
    !matches!(
        e,
        SyncError::Rejected { .. } | SyncError::InvalidRubric { .. }
    )
}

/// Connects the platform client and the store.
#[derive(Debug)]
pub struct SyncEngine {
    client: PlatformClient,
    store: Arc<Store>,
    config: SyncConfig,
    working_on: Mutex<BTreeSet<String>>,
    /// One sync at a time: the background loop and "sync now" share the
    /// engine, and two pulls must not download the same attachment at once.
    running: tokio::sync::Mutex<()>,
}

impl SyncEngine {
    pub fn new(client: PlatformClient, store: Arc<Store>, config: SyncConfig) -> Self {
        Self {
            client,
            store,
            config,
            working_on: Mutex::new(BTreeSet::new()),
            running: tokio::sync::Mutex::new(()),
        }
    }

    pub fn client(&self) -> &PlatformClient {
        &self.client
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// Tell the engine which assignments the reviewer has open (their leases are renewed).
    pub fn set_working_on(&self, assignment_ids: impl IntoIterator<Item = String>) {
        let mut w = self.working_on.lock().unwrap_or_else(|p| p.into_inner());
        *w = assignment_ids.into_iter().collect();
    }

    fn working_on(&self) -> BTreeSet<String> {
        self.working_on
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    // ------------------------------------------------------------ pull

    /// Pull everything new: assignments (by cursor), opportunities and rates,
    /// rubrics, scoped items, attachments, outcomes and ledger (by cursor).
    /// Each page is applied atomically with its cursor, so an interrupted pull
    /// resumes where it stopped; partial attachment downloads resume by `Range`.
    pub async fn pull(&self, progress: impl Fn(SyncProgress) + Send + Sync) -> Result<PullReport> {
        let mut report = PullReport::default();
        self.pull_assignments(&mut report, &progress).await?;
        self.pull_reference_data().await?;
        self.pull_rubrics(&mut report, &progress).await?;
        self.pull_items(&mut report, &progress).await?;
        self.pull_attachments(&mut report, &progress).await?;
        self.pull_outcomes(&mut report, &progress).await?;
        self.pull_ledger(&mut report, &progress).await?;
        progress(SyncProgress::new(SyncPhase::Done));
        Ok(report)
    }

    async fn pull_assignments(
        &self,
        report: &mut PullReport,
        progress: &(impl Fn(SyncProgress) + Send + Sync),
    ) -> Result<()> {
        let mut cur = self.store.cursor(cursor::ASSIGNMENTS)?;
        let mut p = SyncProgress::new(SyncPhase::Assignments);
        progress(p.clone());
        loop {
            let page = self
                .client
                .assignments(cur.as_deref(), Some(self.config.page_size))
                .await?;
            let orphaned = self
                .store
                .apply_assignment_page(&page.assignments, &page.next_cursor)?;
            report.assignments += page.assignments.len() as u32;
            report.orphaned_with_drafts.extend(orphaned);
            p.items_done += page.assignments.len() as u64;
            p.items_total = p.items_done;
            progress(p.clone());
            let stuck = cur.as_deref() == Some(page.next_cursor.as_str());
            cur = Some(page.next_cursor);
            if !page.has_more || stuck {
                break;
            }
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

    async fn pull_rubrics(
        &self,
        report: &mut PullReport,
        progress: &(impl Fn(SyncProgress) + Send + Sync),
    ) -> Result<()> {
        let missing = self.store.missing_rubrics()?;
        let mut p = SyncProgress::new(SyncPhase::Rubrics);
        p.items_total = missing.len() as u64;
        progress(p.clone());
        for (id, version) in missing {
            match self.fetch_rubric(&id, version).await {
                Ok(r) => {
                    self.store.put_rubric(&r)?;
                    report.rubrics += 1;
                }
                Err(e) if !is_fatal(&e) => {
                    tracing::warn!(rubric = %id, version, error = %e, "rubric not stored");
                    report.errors.push(e.to_string());
                }
                Err(e) => return Err(e),
            }
            p.items_done += 1;
            progress(p.clone());
        }
        Ok(())
    }

    async fn pull_items(
        &self,
        report: &mut PullReport,
        progress: &(impl Fn(SyncProgress) + Send + Sync),
    ) -> Result<()> {
        let todo = self.store.assignments_missing_items()?;
        let mut p = SyncProgress::new(SyncPhase::Items);
        p.items_total = todo.len() as u64;
        progress(p.clone());
        let mut results = stream::iter(todo)
            .map(|a| async move {
                let env = self.client.item(&a.item_id).await;
                (a, env)
            })
            .buffer_unordered(self.config.item_concurrency.max(1));
        let mut fatal = None;
        while let Some((a, env)) = results.next().await {
            p.items_done += 1;
            progress(p.clone());
            let env = match env {
                Ok(env) => env,
                Err(e) if !is_fatal(&e) => {
                    report.errors.push(format!("item {}: {e}", a.item_id));
                    continue;
                }
                Err(e) => {
                    fatal.get_or_insert(e);
                    continue;
                }
            };
            if env.item.id != a.item_id {
                report.errors.push(format!(
                    "item {}: the platform sent item {}",
                    a.item_id, env.item.id
                ));
                continue;
            }
            let Some(rubric) = self.store.rubric(&a.rubric_id, a.rubric_version)? else {
                report.errors.push(format!(
                    "item {}: rubric {} v{} unavailable; not stored",
                    a.item_id, a.rubric_id, a.rubric_version
                ));
                continue;
            };
            // Scope BEFORE storing: hidden fields never reach the disk.
            let scoped = scope_item(&env.item, &rubric);
            match self
                .store
                .put_scoped_item(&a.id, &scoped, env.reviewed_submission.as_ref())
            {
                Ok(()) => report.items += 1,
                Err(e @ StoreError::InvalidDigest(_)) => {
                    report.errors.push(format!("item {}: {e}", a.item_id));
                }
                Err(e) => return Err(e.into()),
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn pull_attachments(
        &self,
        report: &mut PullReport,
        progress: &(impl Fn(SyncProgress) + Send + Sync),
    ) -> Result<()> {
        let todo = self.store.missing_attachments()?;
        let blobs = self.store.blobs();
        let mut already = 0;
        for a in &todo {
            already += blobs.part_len(&a.sha256)?.min(a.size);
        }
        let total: u64 = todo.iter().map(|a| a.size).sum();
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
            let b = bytes_done.fetch_add(bytes, Ordering::Relaxed) + bytes;
            progress(SyncProgress {
                bytes_done: b,
                items_done: items_done.load(Ordering::Relaxed),
                ..base.clone()
            });
        };
        let results: Vec<(AttachmentRef, Result<u64>)> = stream::iter(todo)
            .map(|a| {
                let report_progress = &report_progress;
                async move {
                    let r = self.download_attachment(&a, report_progress).await;
                    (a, r)
                }
            })
            .buffer_unordered(self.config.attachment_concurrency.max(1))
            .collect()
            .await;
        let mut fatal = None;
        for (a, r) in results {
            items_done.fetch_add(1, Ordering::Relaxed);
            match r {
                Ok(n) => {
                    report.attachments += 1;
                    report.bytes += n;
                }
                Err(e) if !is_fatal(&e) => {
                    report
                        .errors
                        .push(format!("attachment {}: {e}", a.filename));
                }
                Err(e) => {
                    tracing::warn!(sha256 = %a.sha256, error = %e, "attachment download interrupted");
                    fatal.get_or_insert(e);
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
    /// verify its sha256 and move it into the blob store. Returns bytes fetched.
    pub async fn download_attachment(
        &self,
        att: &AttachmentRef,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<u64> {
        let sha = att.sha256.as_str();
        let blobs = self.store.blobs();
        let mut offset = blobs.part_len(sha)?;
        if offset > att.size {
            blobs.discard_part(sha)?;
            offset = 0;
        }
        if offset == att.size && offset > 0 {
            // Fully downloaded before an interruption: just verify and commit.
            match self.commit(sha).await {
                Ok(_) => return Ok(0),
                Err(SyncError::Integrity(_)) => offset = 0, // bad part was discarded
                Err(e) => return Err(e),
            }
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
                    "attachment {sha}: server announced digest {h:?}"
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
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(io)?;
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
            if offset + written + chunk.len() as u64 > att.size {
                drop(file);
                blobs.discard_part(sha)?;
                return Err(SyncError::Integrity(format!(
                    "attachment {sha}: more bytes than the declared {}",
                    att.size
                )));
            }
            file.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
            on_bytes(chunk.len() as u64);
        }
        // Keep what arrived so the next attempt resumes from here.
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        if let Some(e) = failure {
            return Err(e);
        }
        if offset + written != att.size {
            return Err(SyncError::Offline(format!(
                "attachment {sha}: body ended after {} of {} bytes",
                offset + written,
                att.size
            )));
        }
        self.commit(sha).await?;
        Ok(written)
    }

    async fn commit(&self, sha: &str) -> Result<u64> {
        let store = Arc::clone(&self.store);
        let sha = sha.to_string();
        tokio::task::spawn_blocking(move || store.commit_attachment_part(&sha))
            .await
            .map_err(|e| SyncError::Internal(e.to_string()))?
            .map_err(|e| match e {
                e @ StoreError::BlobCorrupt { .. } => SyncError::Integrity(e.to_string()),
                e => SyncError::Storage(e),
            })
    }

    async fn pull_outcomes(
        &self,
        report: &mut PullReport,
        progress: &(impl Fn(SyncProgress) + Send + Sync),
    ) -> Result<()> {
        let mut cur = self.store.cursor(cursor::OUTCOMES)?;
        let mut p = SyncProgress::new(SyncPhase::Outcomes);
        loop {
            let page = self
                .client
                .outcomes(cur.as_deref(), Some(self.config.page_size))
                .await?;
            self.store
                .apply_outcome_page(&page.outcomes, &page.next_cursor)?;
            report.outcomes += page.outcomes.len() as u32;
            p.items_done += page.outcomes.len() as u64;
            p.items_total = p.items_done;
            progress(p.clone());
            let stuck = cur.as_deref() == Some(page.next_cursor.as_str());
            cur = Some(page.next_cursor);
            if !page.has_more || stuck {
                break;
            }
        }
        Ok(())
    }

    async fn pull_ledger(
        &self,
        report: &mut PullReport,
        progress: &(impl Fn(SyncProgress) + Send + Sync),
    ) -> Result<()> {
        let mut cur = self.store.cursor(cursor::LEDGER)?;
        let mut p = SyncProgress::new(SyncPhase::Ledger);
        loop {
            let page = self
                .client
                .ledger(cur.as_deref(), Some(self.config.page_size))
                .await?;
            self.store
                .apply_ledger_page(&page.entries, &page.next_cursor)?;
            report.ledger_entries += page.entries.len() as u32;
            p.items_done += page.entries.len() as u64;
            p.items_total = p.items_done;
            progress(p.clone());
            let stuck = cur.as_deref() == Some(page.next_cursor.as_str());
            cur = Some(page.next_cursor);
            if !page.has_more || stuck {
                break;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ push

    /// Upload every due outbox entry with its idempotency key. Transient
    /// failures are rescheduled with exponential backoff and jitter (at least
    /// `Retry-After`); permanent refusals become visible states on the item and
    /// the answers return to the draft. Safe to call after a crash: entries
    /// left `sending` are retried with the same key.
    pub async fn push(&self) -> Result<PushReport> {
        let mut report = PushReport::default();
        for entry in self.store.due_outbox(Utc::now())? {
            let attempt = self.store.mark_outbox_sending(entry.id)?;
            let key = entry.idempotency_key.as_str();
            let result = match &entry.payload {
                OutboxPayload::Submission(req) => match self.client.submit(req, key).await {
                    Ok(r) => self
                        .store
                        .record_submission_receipt(entry.id, &r)
                        .map(|()| r.replayed)
                        .map_err(SyncError::from),
                    Err(e) => Err(e),
                },
                OutboxPayload::Review(req) => match self.client.review(req, key).await {
                    Ok(r) => self
                        .store
                        .record_review_receipt(entry.id, &r)
                        .map(|()| r.replayed)
                        .map_err(SyncError::from),
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(replayed) => {
                    report.sent += 1;
                    report.replayed += replayed as u32;
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
                    let next = Utc::now()
                        + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    self.store
                        .outbox_retry_later(entry.id, next, &e.to_string())?;
                    report.retry_scheduled += 1;
                    tracing::info!(assignment = %entry.assignment_id, attempt, ?delay, error = %e, "upload will be retried");
                    if !matches!(e, SyncError::Server { .. } | SyncError::Protocol(_)) {
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
    pub async fn sync_once(
        &self,
        progress: impl Fn(SyncProgress) + Send + Sync,
    ) -> Result<SyncReport> {
        let _one_at_a_time = self.running.lock().await;
        self.store.record_sync_attempt(Utc::now())?;
        let result = async {
            progress(SyncProgress::new(SyncPhase::Upload));
            let push = self.push().await?;
            let pull = self.pull(&progress).await?;
            Ok::<_, SyncError>(SyncReport { push, pull })
        }
        .await;
        match &result {
            Ok(_) => self.store.record_sync_success(Utc::now())?,
            Err(e) => self.store.record_sync_error(Utc::now(), &e.to_string())?,
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_caps_and_honours_retry_after() {
        let c = SyncConfig {
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            ..SyncConfig::default()
        };
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
        }
        // Jitter: not every delay is the same.
        let set: std::collections::BTreeSet<_> =
            (0..20).map(|_| backoff_delay(&c, 3, None)).collect();
        assert!(set.len() > 1);
    }
}
