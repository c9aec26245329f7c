//! Application services: the use cases the desktop shell exposes as commands.
//! Pure Rust, no Tauri: every command in `src-tauri` is a one-line adapter
//! into a method of [`Workbench`].
//!
//! Data flows one way: platform → sync → store → (scoped by rubric) → render
//! → UI; grades flow back UI → store (draft, outbox) → sync → platform.

pub mod anchors;
pub mod dialogs;
pub mod earnings;
pub mod error;
pub mod links;
pub mod menu;
pub mod notices;
mod open;
pub mod preview;
pub mod progress;
mod publish;
pub mod queue;
pub mod rules;
mod settings;
mod signin;
pub mod submission;
pub mod tray;
pub mod types;
pub mod update;
pub mod views;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use assay_protocol::{AssignmentKind, ReviewRequest, SubmissionRequest, TimeSpan};
use assay_rubric::{validate, Answers, ValidationReport};
use assay_store::{PendingAnnotation, QueueStatus, Store};
use assay_sync::{
    spawn_background, BackgroundSync, Connector, Credentials, LabelStudioAuth, LabelStudioClient,
    PlatformClient, PlatformKind, SyncConfig, SyncEngine, SyncEvent, Token,
};
use chrono::Utc;
use serde::Serialize;
use tokio::sync::{mpsc, Mutex};
use ts_rs::TS;

pub use dialogs::{sign_in_question, Dialogs, ScriptedDialogs, SignInWith};
pub use error::{AppError, AppResult, ErrorCode};
pub use types::*;

/// Facts about the running app shown in the UI's about box and used by tests.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AppInfo {
    /// The running version (the build's `ASSAY_BUILD_VERSION`, else the crate version).
    pub version: String,
    /// Identifier of the profile (separate for tests so they never touch real data).
    pub identifier: String,
    /// Folder holding the profile's database, settings and logs.
    pub data_dir: String,
}

impl AppInfo {
    /// The facts about the app running under `identifier` with its data in `data_dir`.
    pub fn new(identifier: &str, data_dir: &Path) -> Self {
        Self {
            version: update::running_version().to_string(),
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
    rubrics: RubricCache,
    preview: preview::PreviewSession,
    /// The rubric file and samples folder the author picked: the only paths
    /// the preview reads.
    grants: StdMutex<preview::Grants>,
    /// Native dialogs (file pickers, the sign-in confirmation).
    dialogs: Arc<dyn Dialogs>,
    events: EventSink,
    connected: Mutex<Option<Connected>>,
    live: Arc<StdMutex<LiveSync>>,
    demo: bool,
    /// True once [`Workbench::resume`] finished; `session` waits for it so the
    /// UI never shows sign-in while a saved session is being restored.
    resumed: tokio::sync::watch::Sender<bool>,
    /// issue 18: the update last offered (installed only on confirmation).
    offered_update: StdMutex<Option<update::Offered>>,
    /// issue 18: what the notification rules remember.
    notices: StdMutex<notices::NoticeState>,
    /// The clock earnings count local days by (the system's; a recording moves it).
    clock: StdMutex<earnings::Clock>,
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
            let cached = self
                .parsed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, r)) = cached.iter().find(|(text, _)| *text == json) {
                return Ok(r.clone());
            }
        }
        let rubric: assay_rubric::Rubric = serde_json::from_str(&json)
            .map_err(|e| AppError::internal(format!("stored rubric: {e}")))?;
        let rubric = Arc::new(rubric);
        let mut cached = self
            .parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    data_version: u64,
}

impl LiveSync {
    /// A sync finished (from the background loop or "sync now"): online, no
    /// error, and a new data version when it changed what screens show.
    fn synced(&mut self, report: &assay_sync::SyncReport) {
        self.syncing = false;
        self.online = true;
        self.last_error = None;
        if report_changed(report) {
            self.data_version = self.data_version.wrapping_add(1);
        }
    }

    /// What a sync event tells: a sync runs, ended or failed, an upload
    /// ended, leases were renewed.
    fn apply(&mut self, ev: &SyncEvent) {
        match ev {
            SyncEvent::Progress { .. } => self.syncing = true,
            SyncEvent::Synced { report } => self.synced(report),
            SyncEvent::Failed {
                message,
                unauthenticated,
                ..
            } => self.failed(
                false,
                if *unauthenticated {
                    AppError::unauthenticated()
                } else {
                    AppError::new(ErrorCode::Offline, message.clone())
                },
            ),
            SyncEvent::Uploaded { report } => self.uploaded(report),
            SyncEvent::Leases { report } => {
                if !report.expired.is_empty() {
                    self.data_version = self.data_version.wrapping_add(1);
                }
                self.expiring = report
                    .expiring_soon
                    .iter()
                    .map(|l| l.assignment_id.clone())
                    .collect();
            }
        }
    }

    /// An upload ended before any sync report (the upload lane's, or a
    /// sync's own ahead of its pull): what it sent or refused changes the
    /// statuses the queue and item screens show, so they reload now rather
    /// than when a pull behind it ends.
    fn uploaded(&mut self, push: &assay_sync::PushReport) {
        if push_changed(push) {
            self.data_version = self.data_version.wrapping_add(1);
        }
    }

    /// A sync failed with `error`; `online` says whether the platform answered.
    fn failed(&mut self, online: bool, error: AppError) {
        self.syncing = false;
        self.online = online;
        self.last_error = Some(error);
    }
}

/// Whether an upload changed a status the screens show (a grade sent, or
/// refused for good); one put off for a retry changes none.
fn push_changed(push: &assay_sync::PushReport) -> bool {
    push.sent > 0 || push.failed > 0
}

/// Whether a sync changed anything the queue, item or earnings screens show.
fn report_changed(r: &assay_sync::SyncReport) -> bool {
    let p = &r.pull;
    push_changed(&r.push)
        || p.assignments > 0
        || p.rubrics > 0
        || p.items > 0
        || p.attachments > 0
        || p.outcomes > 0
        || p.ledger_entries > 0
        || !p.orphaned_with_drafts.is_empty()
}

impl Workbench {
    /// Opens the store in `data_dir`; `identifier` names the keyring service.
    /// `dialogs` asks the person at the machine (file pickers, sign-in
    /// confirmation).
    pub fn open(
        identifier: &str,
        data_dir: &Path,
        events: EventSink,
        dialogs: Arc<dyn Dialogs>,
    ) -> AppResult<Self> {
        let store = Arc::new(Store::open(data_dir.join("store"))?);
        Ok(Self {
            identifier: identifier.to_string(),
            data_dir: data_dir.to_path_buf(),
            store,
            credentials: Credentials::new(identifier),
            settings: settings::SettingsFile::new(data_dir.join("settings.json")),
            views: views::ViewCache::default(),
            rubrics: RubricCache::default(),
            preview: preview::PreviewSession::default(),
            grants: StdMutex::new(preview::Grants::default()),
            dialogs,
            events,
            connected: Mutex::new(None),
            live: Arc::new(StdMutex::new(LiveSync::default())),
            demo: std::env::var_os("ASSAY_DEMO").is_some_and(|v| v == "1"),
            resumed: tokio::sync::watch::Sender::new(false),
            offered_update: StdMutex::new(None),
            notices: StdMutex::new(notices::NoticeState::default()),
            clock: StdMutex::new(earnings::Clock::System),
        })
    }

    /// Version, profile identifier and data folder of this app.
    pub fn info(&self) -> AppInfo {
        AppInfo::new(&self.identifier, &self.data_dir)
    }

    /// The local store (for the shell's background tasks and tests).
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
                // Whoever started the process chose this platform.
                self.sign_in_confirmed(&url, &token).await?;
                return Ok(());
            }
        }
        let saved = self.settings.load()?;
        if let Some(url) = saved.platform_url.as_deref() {
            if saved.expert.is_some() {
                if let Some(token) = self.credentials.get_token(url)? {
                    self.connect(url, token, saved.platform_kind).await?;
                } else {
                    tracing::info!("saved session has no token in the keyring");
                }
            }
        }
        Ok(())
    }

    /// Who is signed in where; waits (at most 20 s) until resuming the saved session at start-up has finished.
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
            platform_kind: Some(saved.platform_kind),
            platform_label: Some(saved.platform_kind.label().to_string()),
            pay_note: (!saved.platform_kind.reports_pay()).then(|| {
                format!(
                    "{} does not report pay: rates, earnings and payouts stay empty for its work.",
                    saved.platform_kind.label()
                )
            }),
        })
    }

    /// Signs in after the person at the machine confirmed, in a native
    /// dialog naming the address, that the token may go there: a script in
    /// the webview can call this but cannot answer the dialog. Errors name
    /// the problem in words and never repeat what a server replied.
    pub async fn sign_in(&self, platform_url: &str, token: &str) -> AppResult<SessionInfo> {
        let url = normalize_url(platform_url);
        if url.is_empty() || token.trim().is_empty() {
            return Err(AppError::invalid("Enter the platform URL and your token."));
        }
        // A malformed or plain-http address is refused before asking.
        self.confirm_platform(&url, SignInWith::Token).await?;
        self.sign_in_confirmed(&url, token).await
    }

    /// Refuses a malformed or plain-http address, then asks the reviewer to
    /// confirm signing in to `url` (a native dialog naming it, worded for
    /// where the secret comes from) before anything is sent there.
    async fn confirm_platform(&self, url: &str, with: SignInWith) -> AppResult<()> {
        PlatformClient::new(url).map_err(|e| match e {
            assay_sync::SyncError::InvalidUrl(_) => AppError::invalid(format!(
                "{url} is not an address Assay can sign in to: use https:// (plain http only to this computer)."
            )),
            other => AppError::from(other),
        })?;
        let dialogs = self.dialogs.clone();
        let asked = url.to_string();
        let confirmed = tokio::task::spawn_blocking(move || dialogs.confirm_sign_in(&asked, with))
            .await
            .map_err(|e| AppError::internal(format!("the confirmation dialog failed: {e}")))?;
        if !confirmed {
            tracing::info!(platform = %url, "sign-in not confirmed");
            return Err(AppError::invalid(format!(
                "Sign-in to {url} was cancelled: nothing was sent."
            )));
        }
        Ok(())
    }

    /// Checks the platform and the token, stores the token in the OS keyring
    /// (never on disk) and starts syncing.
    async fn sign_in_confirmed(&self, platform_url: &str, token: &str) -> AppResult<SessionInfo> {
        let url = normalize_url(platform_url);
        let token = token.trim();
        if url.is_empty() || token.is_empty() {
            return Err(AppError::invalid("Enter the platform URL and your token."));
        }
        let (me, kind) = signin::check_platform(&url, token).await?;
        self.disconnect().await;
        self.credentials.set_token(&url, token)?;
        self.settings.update(|s| {
            s.platform_url = Some(url.clone());
            s.platform_kind = kind;
            s.expert = Some(ExpertSummary {
                id: me.id.clone(),
                display_name: me.display_name.clone(),
                email: me.email.clone(),
                senior_reviewer: me.senior_reviewer,
            });
        })?;
        tracing::info!(platform = %url, kind = kind.label(), expert = %me.id, "signed in");
        self.connect(&url, Token::new(token), kind).await?;
        self.session_now().await
    }

    /// Revokes the token on the platform when reachable, removes it from the
    /// keyring and stops syncing. Local drafts and the outbox are kept.
    /// Returns the session as it is now (signed out).
    pub async fn sign_out(&self) -> AppResult<SessionInfo> {
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
        self.session_now().await
    }

    async fn connect(&self, url: &str, token: Token, kind: PlatformKind) -> AppResult<()> {
        let client: Connector = match kind {
            PlatformKind::Assay => PlatformClient::new(url)?.with_token(token).into(),
            PlatformKind::LabelStudio => LabelStudioClient::new(url)?
                .with_auth(LabelStudioAuth::from_token(token))
                .into(),
        };
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
            move |ev| match &ev {
                // Progress goes to the sync bar as it is; the state with it
                // is told when the sync ends.
                SyncEvent::Progress { progress } => {
                    live.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .apply(&ev);
                    events(AppEvent::Progress {
                        progress: progress.clone(),
                    });
                }
                _ => tell_sync(&store, &live, &events, |l| l.apply(&ev)),
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
        let mut l = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The data version only rises, so a screen never misses a change.
        *l = LiveSync {
            data_version: l.data_version,
            ..LiveSync::default()
        };
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

    /// Sync health for the status bar, read from the store and the running sync.
    pub async fn sync_state(&self) -> AppResult<SyncState> {
        let signed_in = self.connected.lock().await.is_some();
        sync_state(&self.store, &self.live, signed_in)
    }

    async fn emit_sync_state(&self) {
        if let Ok(state) = self.sync_state().await {
            (self.events)(AppEvent::Sync { state });
        }
    }

    /// Runs one full sync now (upload, then download), reporting progress;
    /// on the sync thread, where the background loop syncs.
    pub async fn sync_now(
        &self,
        progress: impl Fn(assay_sync::SyncProgress) + Send + Sync + 'static,
    ) -> AppResult<SyncState> {
        let (engine, sync_thread) = self
            .connected
            .lock()
            .await
            .as_ref()
            .map(|c| (c.engine.clone(), c.background.runtime().clone()))
            .ok_or_else(AppError::unauthenticated)?;
        self.set_syncing(true);
        self.emit_sync_state().await;
        let progress = progress::throttled(progress, progress::PROGRESS_INTERVAL);
        // What the upload sent shows (pending count, statuses) when the
        // upload ends, not after the pull behind it.
        let (store, live, events) = (self.store.clone(), self.live.clone(), self.events.clone());
        let pushed = move |push: &assay_sync::PushReport| {
            tell_sync(&store, &live, &events, |l| l.uploaded(push));
        };
        // Converted once: the status bar shows the same error the caller gets.
        let result = sync_thread
            .spawn(async move { engine.sync_once_reporting(progress, pushed).await })
            .await
            .map_err(|e| (true, AppError::internal(format!("the sync stopped: {e}"))))
            .and_then(|r| {
                r.map_err(|e| {
                    let online = !e.is_retryable();
                    (online, AppError::from(e))
                })
            });
        {
            let mut l = self
                .live
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match &result {
                Ok(report) => l.synced(report),
                Err((online, err)) => l.failed(*online, err.clone()),
            }
        }
        self.emit_sync_state().await;
        result.map_err(|(_, err)| err)?;
        self.sync_state().await
    }

    fn set_syncing(&self, on: bool) {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .syncing = on;
    }

    // ------------------------------------------------------------ queue

    /// A window of `limit` rows from `offset` of the queue filtered and sorted by `filter` (at most 500 rows).
    pub fn queue_page(
        &self,
        filter: &QueueFilter,
        offset: u32,
        limit: u32,
    ) -> AppResult<QueuePage> {
        self.store.release_when_idle();
        queue::page(&self.store, filter, offset, limit)
    }

    // ------------------------------------------------------------ item

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
    /// validates it. Drafts are kept whatever their validity. `pending`
    /// replaces the annotations begun but not added (kept when `None`).
    /// Work that is no longer editable (submitted, decided, taken away) is
    /// refused with [`ErrorCode::NotEditable`] and nothing changes; the
    /// result carries the assignment's new status.
    pub fn save_draft(
        &self,
        assignment_id: &str,
        answers: &Answers,
        pending: Option<&[PendingAnnotation]>,
    ) -> AppResult<SaveResult> {
        let (_, rubric) = self.rubric_for(assignment_id)?;
        let answers = self.with_line_hashes(assignment_id, answers)?;
        let answers = answers.as_ref();
        let validation = validate(answers, &rubric);
        let (saved, status) = self.store.save_editable_draft(
            assignment_id,
            answers,
            validation.ok,
            pending,
            Utc::now(),
        )?;
        Ok(SaveResult {
            revision: saved.revision,
            saved_at: saved.saved_at,
            validation,
            status,
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

    /// Rust's validation of `answers` against the rubric of the assignment's item; saves nothing.
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
        // The draft is kept even when the grade does not validate; work that
        // is no longer editable is refused before anything is written.
        self.store
            .save_editable_draft(assignment_id, answers, report.ok, None, Utc::now())?;
        let pending = self
            .store
            .draft(assignment_id)?
            .map(|d| d.pending)
            .unwrap_or_default();
        if let Some(p) = pending.first() {
            return Err(AppError::invalid(format!(
                "An annotation on {} was begun but not added: add it or cancel it before submitting.",
                p.field
            )));
        }
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
        if !detail.status.editable() {
            return Err(AppError::not_editable(detail.status));
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
        if let Some(problem) = rules::review_feedback_problem(input.decision, feedback.as_deref()) {
            return Err(AppError::invalid(problem));
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

    /// Active time recorded on the assignment: logged stretches, closed spans and their sum.
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
    /// The store refuses a span [`assay_store::time_span_problem`] finds wrong.
    pub fn record_time(&self, assignment_id: &str, span: &TimeSpan) -> AppResult<TimeLog> {
        self.store.add_time_span(assignment_id, span)?;
        self.time_log(assignment_id)
    }

    /// The reviewer replaces their time log with corrected stretches before
    /// submitting; what is submitted is this log.
    pub fn correct_time_log(&self, assignment_id: &str, spans: &[TimeSpan]) -> AppResult<TimeLog> {
        self.store.replace_time_log(assignment_id, spans)?;
        self.time_log(assignment_id)
    }

    /// What is wrong with each span, in order (`None`: it may be kept), by
    /// the rule the store applies to every span it writes, and the time on
    /// task the spans would give: asked by the time log editor while the
    /// reviewer types, so it shows Rust's words and Rust's total.
    pub fn check_time_log(&self, spans: &[TimeSpan]) -> TimeLogCheck {
        TimeLogCheck {
            problems: spans.iter().map(assay_store::time_span_problem).collect(),
            active_seconds: assay_store::covered_seconds(spans, None, None),
        }
    }

    /// Records one closed stretch of idle waiting the UI measured: the
    /// reviewer was signed in and present with nothing to work on. Counted
    /// as unpaid time in the all-time hourly rate.
    /// Spans the store refuses (`assay_store::time_span_problem`) are refused.
    pub fn record_waiting(&self, span: &TimeSpan) -> AppResult<WaitingTime> {
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

    /// Sets the clock earnings count local days by. The app keeps the
    /// system's; the recording of the UI's answers moves it to its fixed
    /// "now" (`crates/app/tests/recorded.rs`).
    pub fn set_clock(&self, clock: earnings::Clock) {
        *self
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = clock;
    }

    /// The reviewer's calendar: the app's clock in the system's time zone.
    fn calendar(&self) -> Box<dyn earnings::Calendar + Send + Sync> {
        self.clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .calendar()
    }

    /// The local days `period` covers today, as the earnings count them.
    pub fn earnings_period(&self, period: EarningsPeriod) -> EarningsRange {
        earnings::period(period, Utc::now(), self.calendar().as_ref())
    }

    /// Totals and hourly rates of the ledger entries matching `q` (local days).
    pub fn earnings_overview(&self, q: &EarningsQuery) -> AppResult<EarningsOverview> {
        earnings::overview(&self.store, q, self.calendar().as_ref())
    }

    /// The ledger entries matching `q` bucketed by `g` (local days and weeks) for the chart.
    pub fn earnings_series(
        &self,
        q: &EarningsQuery,
        g: EarningsGrouping,
    ) -> AppResult<EarningsSeries> {
        earnings::series(&self.store, q, g, self.calendar().as_ref())
    }

    /// The payouts the platform reported.
    pub fn payouts(&self) -> AppResult<Vec<PayoutView>> {
        earnings::payouts(&self.store)
    }

    /// Assignments whose ledger pay differs from what the rate card gives for accepted work.
    pub fn discrepancies(&self) -> AppResult<Vec<Discrepancy>> {
        earnings::discrepancies(&self.store)
    }

    /// The ledger entries matching `q` as CSV (local times), for `export_earnings_csv`.
    pub fn earnings_csv(&self, q: &EarningsQuery) -> AppResult<String> {
        earnings::csv(&self.store, q, self.calendar().as_ref())
    }

    /// The file name the save dialog suggests for an export today.
    pub fn earnings_csv_file_name(&self) -> String {
        let today = self.calendar().day(&Utc::now());
        format!("assay-earnings-{}.csv", today.format("%Y-%m-%d"))
    }

    /// Writes the earnings CSV (same filters as the screen) to `path`, the
    /// file the reviewer picked in the native save dialog. Written to a
    /// temporary file beside it and renamed, so a failure never leaves half a
    /// file where the reviewer expects the export.
    pub fn export_earnings_csv(&self, q: &EarningsQuery, path: &Path) -> AppResult<CsvExport> {
        let text = self.earnings_csv(q)?;
        let rows = text.lines().count().saturating_sub(1);
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => {
                return Err(AppError::invalid(format!(
                    "{} is not a file in a folder; pick where to save the CSV.",
                    path.display()
                )))
            }
        };
        if path.is_dir() {
            return Err(AppError::invalid(format!(
                "{} is a folder; pick a file name for the CSV.",
                path.display()
            )));
        }
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            tmp.write_all(text.as_bytes())?;
            tmp.as_file().sync_all()?;
            tmp.persist(path).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("Could not write {}: {e}", path.display()),
            )
        })?;
        tracing::info!(path = %path.display(), rows, "earnings exported");
        Ok(CsvExport {
            path: path.display().to_string(),
            rows: u32::try_from(rows).unwrap_or(u32::MAX),
            bytes: text.len() as u64,
        })
    }

    // ------------------------------------------------------------ viewers

    /// A window of rows of one file of an opened diff (`req.handle` comes from the item's `FieldView::Diff`).
    pub fn diff_rows(&self, req: &views::DiffRowsRequest) -> AppResult<views::DiffRowWindow> {
        self.store.release_when_idle();
        self.views.diff_rows(req)
    }

    /// One frame (or series slice) of an opened scan rendered with `window`, as a PNG data URL.
    pub fn scan_frame(
        &self,
        handle: &str,
        frame: u32,
        window: assay_render::Window,
    ) -> AppResult<views::ScanFrame> {
        self.store.release_when_idle();
        self.views.scan_frame(handle, frame, window)
    }

    /// The value of pixel (`x`, `y`) of a frame in modality units; out of range is an error.
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

    /// The UI settings as saved (defaults when none are).
    pub fn settings(&self) -> AppResult<Settings> {
        Ok(self.settings.load()?.ui)
    }

    /// Saves the UI settings; values outside `RULES` bounds are refused by name and nothing is saved.
    pub fn save_settings(&self, ui: Settings) -> AppResult<Settings> {
        if let Some(problem) = rules::settings_problem(&ui) {
            return Err(AppError::invalid(problem));
        }
        self.settings.update(|s| s.ui = ui.clone())?;
        Ok(ui)
    }

    // ------------------------------------------------------------ rubric preview

    /// The rubric file the author picks in a native file dialog (opened in
    /// the folder they used last). Only a picked file may be previewed.
    /// Cancelling keeps the current choice.
    pub async fn preview_choose_rubric(&self) -> AppResult<PreviewSelection> {
        let start = self.settings.load()?.preview_dir;
        self.preview_pick(start, PreviewPick::Rubric).await
    }

    /// The folder of sample items, picked like the rubric.
    pub async fn preview_choose_samples(&self) -> AppResult<PreviewSelection> {
        let start = {
            let grants = self
                .grants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            grants
                .rubric
                .as_ref()
                .and_then(|p| p.parent())
                .map(Path::to_path_buf)
        };
        let start = match start {
            Some(s) => Some(s),
            None => self.settings.load()?.preview_dir,
        };
        self.preview_pick(start, PreviewPick::Samples).await
    }

    /// Shows the native dialog that picks `what` (on a blocking thread,
    /// opened at `start`) and grants what the author picked; the folder it
    /// sits in is where the next dialog opens.
    async fn preview_pick(
        &self,
        start: Option<PathBuf>,
        what: PreviewPick,
    ) -> AppResult<PreviewSelection> {
        let dialogs = self.dialogs.clone();
        let picked = tokio::task::spawn_blocking(move || match what {
            PreviewPick::Rubric => dialogs.pick_rubric_file(start.as_deref()),
            PreviewPick::Samples => dialogs.pick_samples_folder(start.as_deref()),
        })
        .await
        .map_err(|e| {
            let dialog = match what {
                PreviewPick::Rubric => "file",
                PreviewPick::Samples => "folder",
            };
            AppError::internal(format!("the {dialog} dialog failed: {e}"))
        })?;
        if let Some(path) = picked {
            let granted = {
                let mut grants = self
                    .grants
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match what {
                    PreviewPick::Rubric => grants.grant_rubric(&path)?,
                    PreviewPick::Samples => grants.grant_samples(&path)?,
                }
            };
            let dir = granted.parent().map(Path::to_path_buf);
            self.settings.update(|s| s.preview_dir = dir)?;
        }
        Ok(self.preview_selection())
    }

    /// What the author has picked so far.
    pub fn preview_selection(&self) -> PreviewSelection {
        self.grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .selection()
    }

    /// Opens the preview of the picked rubric and samples folder (and
    /// watches exactly those for changes).
    pub fn preview_open(&self) -> AppResult<PreviewState> {
        let (rubric, samples) = {
            let g = self
                .grants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (g.rubric.clone(), g.samples.clone())
        };
        let (Some(rubric), Some(samples)) = (rubric, samples) else {
            return Err(AppError::invalid(
                "Choose a rubric file and a folder of sample items first.",
            ));
        };
        let events = self.events.clone();
        self.preview.open(
            &rubric,
            &samples,
            Arc::new(move |state| events(AppEvent::Preview { state })),
        )
    }

    /// The preview's sample item opened as the item screen would show it (nothing is saved).
    pub fn preview_item(&self, item_id: &str) -> AppResult<OpenedItem> {
        let diff_mode = self.settings.load()?.ui.diff_mode;
        self.preview.item(&self.views, item_id, diff_mode)
    }

    /// Rust's validation of `answers` against the previewed rubric for a sample item.
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
    let l = live
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
        quarantined: {
            let mut q = store.quarantine_entries()?;
            q.truncate(MAX_QUARANTINE_SHOWN);
            q
        },
        data_version: l.data_version,
    })
}

/// Applies `change` to what the app knows of the running sync, then tells
/// the UI the sync state that makes (a signed-in session's): how the
/// background loop's events and "Sync now"'s early upload report reach the
/// status bar.
fn tell_sync(
    store: &Store,
    live: &StdMutex<LiveSync>,
    events: &EventSink,
    change: impl FnOnce(&mut LiveSync),
) {
    change(
        &mut live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if let Ok(state) = sync_state(store, live, true) {
        events(AppEvent::Sync { state });
    }
}

/// Most quarantined entries the sync state carries to the status bar.
pub const MAX_QUARANTINE_SHOWN: usize = 20;

/// A platform URL as stored and compared: trimmed, without trailing slashes.
fn normalize_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// How an item is named to the reviewer: its title, else (untitled) its id.
fn item_name(title: &str, item_id: &str) -> String {
    if title.is_empty() { item_id } else { title }.to_string()
}

/// What a rubric-preview dialog picks.
#[derive(Debug, Clone, Copy)]
enum PreviewPick {
    /// The rubric file.
    Rubric,
    /// The folder of sample items.
    Samples,
}

#[cfg(test)]
mod tests {
    use assay_sync::PushReport;

    use super::LiveSync;

    /// An upload told before any sync report (the upload lane's, or a sync's
    /// own ahead of a slow pull) reloads the screens when it changed a
    /// status; one put off for a retry, or one that did nothing, does not.
    #[test]
    fn an_upload_told_before_its_sync_report_reloads_the_screens() {
        let mut live = LiveSync::default();
        live.uploaded(&PushReport {
            sent: 1,
            ..PushReport::default()
        });
        assert_eq!(live.data_version, 1);
        live.uploaded(&PushReport {
            failed: 1,
            ..PushReport::default()
        });
        assert_eq!(live.data_version, 2);
        live.uploaded(&PushReport {
            retry_scheduled: 1,
            ..PushReport::default()
        });
        live.uploaded(&PushReport::default());
        assert_eq!(live.data_version, 2);
    }
}
