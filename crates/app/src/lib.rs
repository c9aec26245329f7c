//! Application services: the use cases the desktop shell exposes as commands.
//! Pure Rust, no Tauri: every command in `src-tauri` is a one-line adapter
//! into a method of [`Workbench`].
//!
//! Data flows one way: platform → sync → store → (scoped by rubric) → render
//! → UI; grades flow back UI → store (draft, outbox) → sync → platform.

pub mod anchors;
pub mod earnings;
pub mod error;
pub mod preview;
pub mod progress;
pub mod queue;
mod settings;
pub mod types;
pub mod views;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use assay_protocol::{AssignmentKind, ReviewRequest, SubmissionRequest, TimeSpan};
use assay_rubric::{validate, Answers, ValidationReport};
use assay_store::{QueueStatus, Store};
use assay_sync::{
    spawn_background, BackgroundSync, Credentials, PlatformClient, SyncConfig, SyncEngine,
    SyncEvent, Token,
};
use chrono::Utc;
use serde::Serialize;
use tokio::sync::{mpsc, Mutex};
use ts_rs::TS;

pub use error::{AppError, AppResult, ErrorCode};
pub use types::*;

/// Facts about the running app shown in the UI's about box and used by tests.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AppInfo {
    pub version: String,
    /// Identifier of the profile (separate for tests so they never touch real data).
    pub identifier: String,
    pub data_dir: String,
}

impl AppInfo {
    pub fn new(identifier: &str, data_dir: &Path) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_string(),
            identifier: identifier.to_string(),
            data_dir: data_dir.display().to_string(),
        }
    }
}

/// Receives events for the UI (the shell forwards them as Tauri events).
pub type EventSink = Arc<dyn Fn(AppEvent) + Send + Sync>;

/// How often the background loop syncs when nothing triggers it.
const SYNC_INTERVAL: Duration = Duration::from_secs(30);

struct Connected {
    engine: Arc<SyncEngine>,
    background: BackgroundSync,
    forwarder: tokio::task::JoinHandle<()>,
}

/// The app's state and use cases.
pub struct Workbench {
    identifier: String,
    data_dir: PathBuf,
    store: Arc<Store>,
    credentials: Credentials,
    settings: settings::SettingsFile,
    views: views::ViewCache,
    queue: queue::QueueCache,
    rubrics: RubricCache,
    preview: preview::PreviewSession,
    events: EventSink,
    connected: Mutex<Option<Connected>>,
    live: Arc<StdMutex<LiveSync>>,
    demo: bool,
    /// True once [`Workbench::resume`] finished; `session` waits for it so the
    /// UI never shows sign-in while a saved session is being restored.
    resumed: tokio::sync::watch::Sender<bool>,
}

/// Rubrics parsed once per stored text: a draft save validates against the
/// rubric without re-parsing it (the text is compared, so a re-stored rubric
/// of the same version is parsed again).
#[derive(Default)]
struct RubricCache {
    parsed: StdMutex<VecDeque<(String, Arc<assay_rubric::Rubric>)>>,
}

impl RubricCache {
    /// Rubrics kept (the items open in a session share a few rubrics).
    const SLOTS: usize = 8;

    fn parsed(&self, json: String) -> AppResult<Arc<assay_rubric::Rubric>> {
        {
            let cached = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, r)) = cached.iter().find(|(text, _)| *text == json) {
                return Ok(r.clone());
            }
        }
        let rubric: assay_rubric::Rubric = serde_json::from_str(&json)
            .map_err(|e| AppError::internal(format!("stored rubric: {e}")))?;
        let rubric = Arc::new(rubric);
        let mut cached = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        cached.push_front((json, rubric.clone()));
        cached.truncate(Self::SLOTS);
        Ok(rubric)
    }
}

/// What the background loop last told us (not persisted).
#[derive(Default)]
struct LiveSync {
    syncing: bool,
    online: bool,
    last_error: Option<AppError>,
    expiring: Vec<String>,
}

impl Workbench {
    /// Opens the store in `data_dir`; `identifier` names the keyring service.
    pub fn open(identifier: &str, data_dir: &Path, events: EventSink) -> AppResult<Self> {
        let store = Arc::new(Store::open(data_dir.join("store"))?);
        Ok(Self {
            identifier: identifier.to_string(),
            data_dir: data_dir.to_path_buf(),
            store,
            credentials: Credentials::new(identifier),
            settings: settings::SettingsFile::new(data_dir.join("settings.json")),
            views: views::ViewCache::default(),
            queue: queue::QueueCache::default(),
            rubrics: RubricCache::default(),
            preview: preview::PreviewSession::default(),
            events,
            connected: Mutex::new(None),
            live: Arc::new(StdMutex::new(LiveSync::default())),
            demo: std::env::var_os("ASSAY_DEMO").is_some_and(|v| v == "1"),
            resumed: tokio::sync::watch::Sender::new(false),
        })
    }

    pub fn info(&self) -> AppInfo {
        AppInfo::new(&self.identifier, &self.data_dir)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    // ------------------------------------------------------------ session

    /// Resumes the saved session (token from the keyring) and starts syncing.
    /// Without a saved session this does nothing.
    pub async fn resume(&self) -> AppResult<SessionInfo> {
        let result = self.resume_inner().await;
        self.resumed.send_replace(true);
        result?;
        self.session_now().await
    }

    async fn resume_inner(&self) -> AppResult<()> {
        if self.demo {
            // `cargo xtask demo` hands over the local demo platform and a token
            // for it; the demo signs in by itself (the token goes to the keyring).
            if let (Ok(url), Ok(token)) = (
                std::env::var("ASSAY_DEMO_URL"),
                std::env::var("ASSAY_DEMO_TOKEN"),
            ) {
                self.sign_in(&url, &token).await?;
                return Ok(());
            }
        }
        let saved = self.settings.load()?;
        if let Some(url) = saved.platform_url.as_deref() {
            if saved.expert.is_some() {
                match self.credentials.get_token(url)? {
                    Some(token) => self.connect(url, token).await?,
                    None => tracing::info!("saved session has no token in the keyring"),
                }
            }
        }
        Ok(())
    }

    pub async fn session(&self) -> AppResult<SessionInfo> {
        let mut ready = self.resumed.subscribe();
        // Bounded: resume never talks to the network except the demo sign-in.
        let _ = tokio::time::timeout(Duration::from_secs(20), ready.wait_for(|r| *r)).await;
        self.session_now().await
    }

    async fn session_now(&self) -> AppResult<SessionInfo> {
        let saved = self.settings.load()?;
        let signed_in = self.connected.lock().await.is_some();
        Ok(SessionInfo {
            signed_in,
            platform_url: saved.platform_url,
            expert: saved.expert,
            demo: self.demo,
        })
    }

    /// Checks the token with the platform, stores it in the OS keyring (never
    /// on disk) and starts syncing.
    pub async fn sign_in(&self, platform_url: &str, token: &str) -> AppResult<SessionInfo> {
        let url = platform_url.trim().trim_end_matches('/').to_string();
        let token = token.trim();
        if url.is_empty() || token.is_empty() {
            return Err(AppError::invalid("Enter the platform URL and your token."));
        }
        let client = PlatformClient::new(&url)?.with_token(Token::new(token));
        let me = client.me().await?;
        self.disconnect().await;
        self.credentials.set_token(&url, token)?;
        self.settings.update(|s| {
            s.platform_url = Some(url.clone());
            s.expert = Some(ExpertSummary {
                id: me.id.clone(),
                display_name: me.display_name.clone(),
                email: me.email.clone(),
                senior_reviewer: me.senior_reviewer,
            });
        })?;
        tracing::info!(platform = %url, expert = %me.id, "signed in");
        self.connect(&url, Token::new(token)).await?;
        self.session_now().await
    }

    /// Revokes the token on the platform when reachable, removes it from the
    /// keyring and stops syncing. Local drafts and the outbox are kept.
    pub async fn sign_out(&self) -> AppResult<()> {
        let saved = self.settings.load()?;
        if let Some(conn) = self.connected.lock().await.as_ref() {
            if let Err(e) = conn.engine.client().logout().await {
                tracing::warn!(error = %e, "could not revoke the token on the platform");
            }
        }
        self.disconnect().await;
        if let Some(url) = saved.platform_url.as_deref() {
            self.credentials.delete_token(url)?;
        }
        self.settings.update(|s| {
            s.expert = None;
        })?;
        tracing::info!("signed out");
        self.emit_sync_state().await;
        Ok(())
    }

    async fn connect(&self, url: &str, token: Token) -> AppResult<()> {
        let client = PlatformClient::new(url)?.with_token(token);
        let engine = Arc::new(SyncEngine::new(
            client,
            self.store.clone(),
            SyncConfig::default(),
        ));
        let (tx, rx) = mpsc::unbounded_channel();
        let background = spawn_background(engine.clone(), SYNC_INTERVAL, tx);
        let events = self.events.clone();
        let store = self.store.clone();
        let live = self.live.clone();
        // Progress is coalesced (a few events a second, the newest always
        // delivered) so a 10,000-item pull does not repaint the UI per item.
        let forwarder = tokio::spawn(progress::coalesce(
            rx,
            progress::PROGRESS_INTERVAL,
            move |ev| {
                {
                    let mut l = live.lock().unwrap_or_else(|p| p.into_inner());
                    match &ev {
                        SyncEvent::Progress { .. } => l.syncing = true,
                        SyncEvent::Synced { .. } => {
                            l.syncing = false;
                            l.online = true;
                            l.last_error = None;
                        }
                        SyncEvent::Failed {
                            message,
                            unauthenticated,
                            ..
                        } => {
                            l.syncing = false;
                            l.online = false;
                            l.last_error = Some(if *unauthenticated {
                                AppError::unauthenticated()
                            } else {
                                AppError::new(ErrorCode::Offline, message.clone())
                            });
                        }
                        SyncEvent::Leases { report } => {
                            l.expiring = report
                                .expiring_soon
                                .iter()
                                .map(|l| l.assignment_id.clone())
                                .collect();
                        }
                    }
                }
                if let SyncEvent::Progress { progress } = &ev {
                    events(AppEvent::Progress {
                        progress: progress.clone(),
                    });
                }
                if !matches!(ev, SyncEvent::Progress { .. }) {
                    if let Ok(state) = sync_state(&store, &live, true) {
                        events(AppEvent::Sync { state });
                    }
                }
            },
        ));
        *self.connected.lock().await = Some(Connected {
            engine,
            background,
            forwarder,
        });
        Ok(())
    }

    async fn disconnect(&self) {
        if let Some(conn) = self.connected.lock().await.take() {
            conn.background.stop().await;
            conn.forwarder.abort();
        }
        let mut l = self.live.lock().unwrap_or_else(|p| p.into_inner());
        *l = LiveSync::default();
    }

    async fn engine(&self) -> AppResult<Arc<SyncEngine>> {
        self.connected
            .lock()
            .await
            .as_ref()
            .map(|c| c.engine.clone())
            .ok_or_else(AppError::unauthenticated)
    }

    async fn trigger_sync(&self) {
        if let Some(c) = self.connected.lock().await.as_ref() {
            c.background.trigger();
        }
    }

    // ------------------------------------------------------------ sync

    pub async fn sync_state(&self) -> AppResult<SyncState> {
        let signed_in = self.connected.lock().await.is_some();
        sync_state(&self.store, &self.live, signed_in)
    }

    async fn emit_sync_state(&self) {
        if let Ok(state) = self.sync_state().await {
            (self.events)(AppEvent::Sync { state });
        }
    }

    /// Runs one full sync now (upload, then download), reporting progress.
    pub async fn sync_now(
        &self,
        progress: impl Fn(assay_sync::SyncProgress) + Send + Sync,
    ) -> AppResult<SyncState> {
        let engine = self.engine().await?;
        self.set_syncing(true);
        self.emit_sync_state().await;
        // Converted once: the status bar shows the same error the caller gets.
        let progress = progress::throttled(progress, progress::PROGRESS_INTERVAL);
        let result = engine.sync_once(progress).await.map_err(|e| {
            let online = !e.is_retryable();
            (online, AppError::from(e))
        });
        {
            let mut l = self.live.lock().unwrap_or_else(|p| p.into_inner());
            l.syncing = false;
            match &result {
                Ok(_) => {
                    l.online = true;
                    l.last_error = None;
                }
                Err((online, err)) => {
                    l.online = *online;
                    l.last_error = Some(err.clone());
                }
            }
        }
        self.emit_sync_state().await;
        result.map_err(|(_, err)| err)?;
        self.sync_state().await
    }

    fn set_syncing(&self, on: bool) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).syncing = on;
    }

    // ------------------------------------------------------------ queue

    pub fn queue_page(
        &self,
        filter: &QueueFilter,
        offset: u32,
        limit: u32,
    ) -> AppResult<QueuePage> {
        queue::page(&self.store, &self.queue, filter, offset, limit)
    }

    // ------------------------------------------------------------ item

    /// Everything the item screen needs: scoped fields with their views,
    /// rubric, draft, validation, time log. Tells the sync engine the
    /// reviewer works on it (so its lease is renewed).
    pub async fn open_item(&self, assignment_id: &str) -> AppResult<OpenedItem> {
        let detail = self.store.item_detail(assignment_id, Utc::now())?;
        let scoped = detail.scoped.clone().ok_or_else(|| {
            AppError::new(
                ErrorCode::NotFound,
                "This item has not been downloaded yet; sync when online.",
            )
        })?;
        let a = &detail.assignment;
        let rubric = self
            .store
            .rubric(&a.rubric_id, a.rubric_version)?
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "Rubric {} v{} is not downloaded yet; sync when online.",
                    a.rubric_id, a.rubric_version
                ))
            })?;
        let opportunity = queue::opportunity_ref(&self.store, &a.opportunity_id)?;
        let mut draft = detail.draft.clone();
        let mut answers = draft
            .as_ref()
            .map(|d| d.answers.clone())
            .unwrap_or_default();
        let settings = self.settings.load()?;
        let store = self.store.clone();
        let read = move |att: &assay_protocol::AttachmentRef| -> Result<Vec<u8>, String> {
            store.read_attachment(&att.sha256).map_err(|e| match e {
                assay_store::StoreError::NotFound(_) => {
                    "this attachment is not downloaded yet; sync when online".to_string()
                }
                other => other.to_string(),
            })
        };
        let views = views::build_views(
            &self.views,
            assignment_id,
            &scoped,
            settings.ui.diff_mode,
            &read,
        );
        // Diff comments follow their lines when the item's diff changed on
        // re-sync; the moved positions are saved durably right away.
        let cached: Vec<(String, Arc<assay_render::diff::DiffRows>)> = scoped
            .fields
            .iter()
            .filter_map(|f| {
                self.views
                    .diff(&format!("{assignment_id}/{}", f.id))
                    .map(|rows| (f.id.clone(), rows))
            })
            .collect();
        let diffs: HashMap<String, &assay_render::diff::MultiFileDiff> = cached
            .iter()
            .map(|(id, rows)| (id.clone(), rows.diff()))
            .collect();
        let (comments, relocated) = anchors::relocate(&mut answers, &diffs);
        let validation = validate(&answers, &rubric);
        if relocated && draft.is_some() && is_open_status(detail.status) {
            let saved = self
                .store
                .save_draft_with(assignment_id, &answers, validation.ok)?;
            tracing::info!(
                assignment = assignment_id,
                revision = saved.revision,
                "draft comments relocated to the item's current diff"
            );
            if let Some(d) = draft.as_mut() {
                d.revision = saved.revision;
                d.updated_at = saved.saved_at;
            }
        }
        if let Ok(engine) = self.engine().await {
            engine.set_working_on([assignment_id.to_string()]);
        }
        Ok(OpenedItem {
            assignment_id: assignment_id.to_string(),
            kind: a.kind,
            status: detail.status,
            feedback: detail
                .latest_submission
                .as_ref()
                .and_then(|s| s.feedback.clone()),
            issue: detail.issue.clone(),
            opportunity,
            item: scoped,
            rubric,
            views,
            draft: answers,
            draft_revision: draft.as_ref().map(|d| d.revision).unwrap_or(0),
            saved_at: draft.as_ref().map(|d| d.updated_at),
            validation,
            reviewed: detail.reviewed_submission.clone(),
            time: self.time_log(assignment_id)?,
            preview: false,
            due_at: Some(a.due_at),
            lease_expires_at: Some(a.lease_expires_at),
            comments,
        })
    }

    /// The assignment's current status (sync may change it while it is open).
    pub fn item_status(&self, assignment_id: &str) -> AppResult<QueueStatus> {
        Ok(self.store.status_of(assignment_id, Utc::now())?)
    }

    fn rubric_for(
        &self,
        assignment_id: &str,
    ) -> AppResult<(assay_protocol::Assignment, Arc<assay_rubric::Rubric>)> {
        let a = self
            .store
            .assignment(assignment_id)?
            .ok_or_else(|| AppError::not_found(format!("assignment {assignment_id}")))?;
        let json = self
            .store
            .rubric_json(&a.rubric_id, a.rubric_version)?
            .ok_or_else(|| AppError::not_found("The rubric is not downloaded yet."))?;
        Ok((a, self.rubrics.parsed(json)?))
    }

    /// Saves a draft durably (fsync'd by SQLite before returning) and
    /// validates it. Drafts are kept whatever their validity.
    pub fn save_draft(&self, assignment_id: &str, answers: &Answers) -> AppResult<SaveResult> {
        let (_, rubric) = self.rubric_for(assignment_id)?;
        let answers = self.with_line_hashes(assignment_id, answers)?;
        let answers = answers.as_ref();
        let validation = validate(answers, &rubric);
        let saved = self
            .store
            .save_draft_with(assignment_id, answers, validation.ok)?;
        Ok(SaveResult {
            revision: saved.revision,
            saved_at: saved.saved_at,
            validation,
        })
    }

    /// The answers with the line hash of every new diff comment filled from
    /// the item's current diff (borrowed as they are when none is missing).
    fn with_line_hashes<'a>(
        &self,
        assignment_id: &str,
        answers: &'a Answers,
    ) -> AppResult<std::borrow::Cow<'a, Answers>> {
        if !anchors::needs_hashes(answers) {
            return Ok(std::borrow::Cow::Borrowed(answers));
        }
        // The diffs the reviewer sees, parsed when the item was opened: a
        // save does not re-read and re-parse the item's diff.
        let fields = anchors::fields_needing_hashes(answers);
        let shown: Vec<(String, Arc<assay_render::diff::DiffRows>)> = fields
            .iter()
            .filter_map(|f| {
                self.views
                    .diff(&format!("{assignment_id}/{f}"))
                    .map(|rows| (f.to_string(), rows))
            })
            .collect();
        if shown.len() == fields.len() {
            let diffs: HashMap<String, &assay_render::diff::MultiFileDiff> = shown
                .iter()
                .map(|(id, rows)| (id.clone(), rows.diff()))
                .collect();
            let mut filled = answers.clone();
            anchors::fill_hashes(&mut filled, &diffs);
            return Ok(std::borrow::Cow::Owned(filled));
        }
        let Some(scoped) = self.store.item_detail(assignment_id, Utc::now())?.scoped else {
            return Ok(std::borrow::Cow::Borrowed(answers));
        };
        let owned = views::item_diffs(&scoped);
        let diffs: HashMap<String, &assay_render::diff::MultiFileDiff> =
            owned.iter().map(|(id, d)| (id.clone(), d)).collect();
        let mut filled = answers.clone();
        anchors::fill_hashes(&mut filled, &diffs);
        Ok(std::borrow::Cow::Owned(filled))
    }

    pub fn validate(&self, assignment_id: &str, answers: &Answers) -> AppResult<ValidationReport> {
        let (_, rubric) = self.rubric_for(assignment_id)?;
        Ok(validate(answers, &rubric))
    }

    /// Validates, saves the draft, and moves it into the durable outbox in one
    /// transaction. The upload happens in the background sync.
    pub async fn submit(&self, assignment_id: &str, answers: &Answers) -> AppResult<SubmitResult> {
        let (a, rubric) = self.rubric_for(assignment_id)?;
        if a.kind == AssignmentKind::SeniorReview {
            return Err(AppError::invalid(
                "This is a senior review: accept, reject or request a revision.",
            ));
        }
        let answers = self.with_line_hashes(assignment_id, answers)?;
        let answers = answers.as_ref();
        let report = validate(answers, &rubric);
        // The draft is kept even when the grade does not validate.
        self.store
            .save_draft_with(assignment_id, answers, report.ok)?;
        if !report.ok {
            let reasons: Vec<String> = report.errors().map(|i| i.message.clone()).collect();
            return Err(AppError::invalid(format!(
                "The grade is not complete: {}",
                reasons.join("; ")
            )));
        }
        let (spans, active_seconds) = self.store.time_spans(assignment_id)?;
        let request = SubmissionRequest {
            assignment_id: assignment_id.to_string(),
            rubric_id: rubric.id.clone(),
            rubric_version: rubric.version,
            answers: serde_json::to_value(answers)
                .map_err(|e| AppError::internal(format!("answers: {e}")))?,
            active_seconds,
            time_log: spans,
            client_created_at: Utc::now(),
        };
        let entry = self.store.submit(assignment_id, &request)?;
        tracing::info!(
            assignment = assignment_id,
            outbox = entry.id,
            "grade queued for upload"
        );
        self.trigger_sync().await;
        self.emit_sync_state().await;
        Ok(SubmitResult {
            outbox_id: entry.id.to_string(),
            status: self.store.status_of(assignment_id, Utc::now())?,
        })
    }

    /// Senior review decision on another expert's submission (durable outbox).
    pub async fn review_decision(
        &self,
        assignment_id: &str,
        input: &ReviewInput,
    ) -> AppResult<SubmitResult> {
        let detail = self.store.item_detail(assignment_id, Utc::now())?;
        if detail.assignment.kind != AssignmentKind::SeniorReview {
            return Err(AppError::invalid("This assignment is not a senior review."));
        }
        let submission_id = detail
            .reviewed_submission
            .as_ref()
            .map(|s| s.submission_id.clone())
            .or_else(|| detail.assignment.review_of_submission_id.clone())
            .ok_or_else(|| {
                AppError::not_found("The submission under review is not downloaded yet.")
            })?;
        let feedback = input
            .feedback
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string);
        if input.decision != assay_protocol::ReviewDecision::Accept && feedback.is_none() {
            return Err(AppError::invalid(
                "Explain what must change: feedback is required to reject or request a revision.",
            ));
        }
        let (_, active_seconds) = self.store.time_spans(assignment_id)?;
        let request = ReviewRequest {
            assignment_id: assignment_id.to_string(),
            submission_id,
            decision: input.decision,
            feedback,
            active_seconds,
        };
        let entry = self.store.submit_review(assignment_id, &request)?;
        self.trigger_sync().await;
        self.emit_sync_state().await;
        Ok(SubmitResult {
            outbox_id: entry.id.to_string(),
            status: self.store.status_of(assignment_id, Utc::now())?,
        })
    }

    // ------------------------------------------------------------ time on task

    pub fn time_log(&self, assignment_id: &str) -> AppResult<TimeLog> {
        let (spans, active_seconds) = self.store.time_spans(assignment_id)?;
        Ok(TimeLog {
            assignment_id: assignment_id.to_string(),
            sessions: self.store.time_log(assignment_id)?,
            spans,
            active_seconds,
        })
    }

    /// Records one closed stretch of active time the UI measured.
    pub fn record_time(&self, assignment_id: &str, span: &TimeSpan) -> AppResult<TimeLog> {
        if (span.ended_at - span.started_at).num_hours() > 12 {
            return Err(AppError::invalid(
                "A time span longer than 12 hours is not plausible.",
            ));
        }
        self.store.add_time_span(assignment_id, span)?;
        self.time_log(assignment_id)
    }

    /// The reviewer replaces their time log with corrected stretches before
    /// submitting; what is submitted is this log.
    pub fn correct_time_log(&self, assignment_id: &str, spans: &[TimeSpan]) -> AppResult<TimeLog> {
        self.store.replace_time_log(assignment_id, spans)?;
        self.time_log(assignment_id)
    }

    /// Records one closed stretch of idle waiting the UI measured: the
    /// reviewer was signed in and present with nothing to work on. Counted
    /// as unpaid time in the all-time hourly rate.
    pub fn record_waiting(&self, span: &TimeSpan) -> AppResult<WaitingTime> {
        if (span.ended_at - span.started_at).num_hours() > 12 {
            return Err(AppError::invalid(
                "A waiting span longer than 12 hours is not plausible.",
            ));
        }
        if span.ended_at > Utc::now() + chrono::Duration::minutes(5) {
            return Err(AppError::invalid(
                "A waiting span cannot end in the future.",
            ));
        }
        self.store.add_waiting_span(span)?;
        Ok(WaitingTime {
            waiting_seconds: self.store.waiting_seconds()?,
        })
    }

    // ------------------------------------------------------------ earnings

    pub fn earnings_overview(&self, q: &EarningsQuery) -> AppResult<EarningsOverview> {
        earnings::overview(&self.store, q, &chrono::Local)
    }

    pub fn earnings_series(
        &self,
        q: &EarningsQuery,
        g: EarningsGrouping,
    ) -> AppResult<EarningsSeries> {
        earnings::series(&self.store, q, g, &chrono::Local)
    }

    pub fn payouts(&self) -> AppResult<Vec<PayoutView>> {
        earnings::payouts(&self.store)
    }

    pub fn discrepancies(&self) -> AppResult<Vec<Discrepancy>> {
        earnings::discrepancies(&self.store)
    }

    pub fn earnings_csv(&self, q: &EarningsQuery) -> AppResult<String> {
        earnings::csv(&self.store, q, &chrono::Local)
    }

    // ------------------------------------------------------------ viewers

    pub fn diff_rows(&self, req: &views::DiffRowsRequest) -> AppResult<views::DiffRowWindow> {
        self.views.diff_rows(req)
    }

    pub fn scan_frame(
        &self,
        handle: &str,
        frame: u32,
        window: assay_render::Window,
    ) -> AppResult<views::ScanFrame> {
        self.views.scan_frame(handle, frame, window)
    }

    pub fn scan_pixel(
        &self,
        handle: &str,
        frame: u32,
        x: u32,
        y: u32,
    ) -> AppResult<views::PixelValue> {
        self.views.scan_pixel(handle, frame, x, y)
    }

    // ------------------------------------------------------------ settings

    pub fn settings(&self) -> AppResult<Settings> {
        Ok(self.settings.load()?.ui)
    }

    pub fn save_settings(&self, ui: Settings) -> AppResult<Settings> {
        if ui.idle_timeout_s < 10 || ui.focus_grace_s > 3600 {
            return Err(AppError::invalid(
                "Idle timeout must be at least 10 s and focus grace at most an hour.",
            ));
        }
        self.settings.update(|s| s.ui = ui.clone())?;
        Ok(ui)
    }

    // ------------------------------------------------------------ rubric preview

    pub fn preview_open(
        &self,
        rubric_path: &Path,
        items_dir: &Path,
    ) -> AppResult<preview::PreviewState> {
        let events = self.events.clone();
        self.preview.open(
            rubric_path,
            items_dir,
            Arc::new(move |state| events(AppEvent::Preview { state })),
        )
    }

    pub fn preview_item(&self, item_id: &str) -> AppResult<OpenedItem> {
        let diff_mode = self.settings.load()?.ui.diff_mode;
        self.preview.item(&self.views, item_id, diff_mode)
    }

    pub fn preview_validate(
        &self,
        item_id: &str,
        answers: &Answers,
    ) -> AppResult<ValidationReport> {
        self.preview.validate(item_id, answers)
    }
}

fn sync_state(store: &Store, live: &StdMutex<LiveSync>, signed_in: bool) -> AppResult<SyncState> {
    let s = store.sync_status()?;
    let l = live.lock().unwrap_or_else(|p| p.into_inner());
    let online = signed_in
        && (l.online
            || (s.last_error.is_none() && s.last_success_at.is_some() && l.last_error.is_none()));
    Ok(SyncState {
        signed_in,
        online,
        syncing: l.syncing,
        pending_uploads: s.outbox_pending,
        failed_uploads: s.outbox_failed,
        orphaned_drafts: s.orphaned_drafts,
        attachments_missing: s.attachments_missing,
        last_attempt_at: s.last_attempt_at,
        last_sync_at: s.last_success_at,
        last_error: l
            .last_error
            .clone()
            .or_else(|| s.last_error.map(|m| AppError::new(ErrorCode::Offline, m))),
        expiring_leases: l.expiring.clone(),
    })
}

/// Statuses that count as work the reviewer still has to do.
pub fn is_open_status(s: QueueStatus) -> bool {
    matches!(
        s,
        QueueStatus::New | QueueStatus::Draft | QueueStatus::Ready | QueueStatus::NeedsRevision
    )
}
