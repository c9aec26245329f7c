//! Rubric preview for spec authors: a rubric file and a folder of sample
//! items, shown exactly as a reviewer would see them, with lint findings;
//! reloaded when either changes on disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use assay_rubric::{validate, Answers, DiffMode, LintFinding, Preview, ValidationReport};
use notify::{RecursiveMode, Watcher};

use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{OpenedItem, OpportunityRef, TimeLog};
pub use crate::types::{PreviewItemRef, PreviewSelection, PreviewState};
use crate::views::{build_views, ViewCache};

/// Paths granted by the author's picks in native dialogs (canonical).
#[derive(Debug, Clone, Default)]
pub(crate) struct Grants {
    pub rubric: Option<PathBuf>,
    pub samples: Option<PathBuf>,
}

impl Grants {
    pub fn selection(&self) -> PreviewSelection {
        PreviewSelection {
            rubric_path: self.rubric.as_ref().map(|p| p.display().to_string()),
            items_dir: self.samples.as_ref().map(|p| p.display().to_string()),
        }
    }

    /// Grants the rubric file picked in the dialog; returns its canonical path.
    pub fn grant_rubric(&mut self, picked: &Path) -> AppResult<PathBuf> {
        let path = canonical_kind(picked, Path::is_file, "a file; choose a rubric file")?;
        if assay_rubric::Format::from_path(&path).is_none() {
            return Err(AppError::invalid(format!(
                "{} is not a rubric: choose a .toml, .json, .yaml or .yml file.",
                path.display()
            )));
        }
        self.rubric = Some(path.clone());
        Ok(path)
    }

    /// Grants the samples folder picked in the dialog; returns its canonical path.
    pub fn grant_samples(&mut self, picked: &Path) -> AppResult<PathBuf> {
        let path = canonical_kind(
            picked,
            Path::is_dir,
            "a folder; choose the folder of sample items",
        )?;
        self.samples = Some(path.clone());
        Ok(path)
    }
}

/// The canonical path of what was picked, when it is `what` (`is` says).
fn canonical_kind(picked: &Path, is: fn(&Path) -> bool, what: &str) -> AppResult<PathBuf> {
    let path = picked
        .canonicalize()
        .map_err(|e| AppError::not_found(format!("cannot open {}: {e}", picked.display())))?;
    if !is(&path) {
        return Err(AppError::invalid(format!(
            "{} is not {what}.",
            path.display()
        )));
    }
    Ok(path)
}

type OnChange = Arc<dyn Fn(PreviewState) + Send + Sync>;

struct Active {
    rubric_path: PathBuf,
    items_dir: PathBuf,
    /// The last load whose rubric parsed (or the first load if none did).
    preview: Preview,
    /// Findings of the newest load.
    findings: Vec<LintFinding>,
    showing_last_good: bool,
    generation: u32,
    _watcher: Option<notify::RecommendedWatcher>,
}

/// A live rubric preview: the picked rubric and sample items, reloaded when either changes on disk.
#[derive(Default)]
pub struct PreviewSession {
    active: Arc<Mutex<Option<Active>>>,
}

fn state_of(a: &Active) -> PreviewState {
    PreviewState {
        rubric_path: a.rubric_path.display().to_string(),
        items_dir: a.items_dir.display().to_string(),
        rubric_title: a.preview.rubric.as_ref().map(|r| r.title.clone()),
        findings: a.findings.clone(),
        showing_last_good: a.showing_last_good,
        items: a
            .preview
            .items
            .iter()
            .map(|i| PreviewItemRef {
                item_id: i.scoped.item_id.clone(),
                title: i.scoped.title.clone(),
                file: i.path.clone(),
                hidden_fields: i.hidden_fields.clone(),
            })
            .collect(),
        generation: a.generation,
    }
}

/// Quiet time after a file event before reloading: one save (which editors
/// do as several writes, renames and metadata changes) is one reload.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(200);

impl Active {
    /// Takes a fresh load; false when nothing the author sees changed.
    fn apply(&mut self, fresh: Preview) -> bool {
        let (preview, showing_last_good) =
            if fresh.rubric.is_none() && self.preview.rubric.is_some() {
                // Keep the last good render; the error goes on top.
                (self.preview.clone(), true)
            } else {
                (fresh.clone(), false)
            };
        if preview == self.preview
            && fresh.findings == self.findings
            && showing_last_good == self.showing_last_good
        {
            return false;
        }
        self.preview = preview;
        self.findings = fresh.findings;
        self.showing_last_good = showing_last_good;
        self.generation = self.generation.saturating_add(1);
        true
    }

    /// The rubric of a preview that parses.
    fn rubric(&self) -> AppResult<&assay_rubric::Rubric> {
        self.preview
            .rubric
            .as_ref()
            .ok_or_else(|| AppError::invalid("The rubric does not parse; see the findings."))
    }
}

/// The open preview in `guard`, or the error that none is open.
fn open_preview(active: Option<&Active>) -> AppResult<&Active> {
    active.ok_or_else(|| AppError::not_found("No rubric preview is open."))
}

fn load(rubric_path: &Path, items_dir: &Path) -> AppResult<Preview> {
    assay_rubric::preview(rubric_path, Some(items_dir))
        .map_err(|e| AppError::new(ErrorCode::NotFound, format!("Cannot open the preview: {e}")))
}

impl PreviewSession {
    /// The lock on the open preview; a poisoned lock is still read (a
    /// preview is replaced whole, never left half-written).
    fn lock(&self) -> MutexGuard<'_, Option<Active>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts previewing `rubric_path` with the samples in `items_dir`, watching both; `on_change` gets each reloaded state.
    pub fn open(
        &self,
        rubric_path: &Path,
        items_dir: &Path,
        on_change: OnChange,
    ) -> AppResult<PreviewState> {
        let preview = load(rubric_path, items_dir)?;
        let active = self.active.clone();
        let (rp, id) = (rubric_path.to_path_buf(), items_dir.to_path_buf());
        // File events go to a thread that waits for them to settle, then
        // reloads once; it ends when the watcher (the sender) is dropped.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("preview-reload".into())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                while rx.recv().is_ok() {
                    loop {
                        match rx.recv_timeout(SETTLE) {
                            Ok(()) => {}
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    let fresh = match load(&rp, &id) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(error = %e, "preview reload failed");
                            continue;
                        }
                    };
                    let mut guard = active.lock().unwrap_or_else(PoisonError::into_inner);
                    let Some(a) = guard.as_mut() else { return };
                    if a.rubric_path != rp || a.items_dir != id {
                        return;
                    }
                    if a.apply(fresh) {
                        let state = state_of(a);
                        drop(guard);
                        on_change(state);
                    }
                }
            })
            .map_err(|e| AppError::internal(format!("cannot start the preview reloader: {e}")))?;
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            if matches!(ev.kind, notify::EventKind::Access(_)) {
                return;
            }
            let _ = tx.send(());
        })
        .map_err(|e| AppError::internal(format!("cannot watch files: {e}")))?;
        // Watch the rubric's folder (editors replace files by rename) and the items folder.
        let rubric_dir = rubric_path.parent().unwrap_or(Path::new("."));
        let mut watch = |p: &Path, mode| {
            watcher
                .watch(p, mode)
                .map_err(|e| AppError::internal(format!("cannot watch {}: {e}", p.display())))
        };
        watch(rubric_dir, RecursiveMode::NonRecursive)?;
        if items_dir != rubric_dir {
            watch(items_dir, RecursiveMode::NonRecursive)?;
        }
        let a = Active {
            rubric_path: rubric_path.to_path_buf(),
            items_dir: items_dir.to_path_buf(),
            findings: preview.findings.clone(),
            showing_last_good: false,
            preview,
            generation: 1,
            _watcher: Some(watcher),
        };
        let state = state_of(&a);
        *self.lock() = Some(a);
        Ok(state)
    }

    /// The preview as it is now; `None` when none is open.
    pub fn state(&self) -> Option<PreviewState> {
        self.lock().as_ref().map(state_of)
    }

    /// A sample item as a reviewer would see it.
    pub fn item(
        &self,
        cache: &ViewCache,
        item_id: &str,
        diff_mode: DiffMode,
    ) -> AppResult<OpenedItem> {
        let guard = self.lock();
        let a = open_preview(guard.as_ref())?;
        let rubric = a.rubric()?.clone();
        let item = a
            .preview
            .items
            .iter()
            .find(|i| i.scoped.item_id == item_id)
            .ok_or_else(|| AppError::not_found(format!("sample item {item_id}")))?;
        let scoped = item.scoped.clone();
        // Attachments are read from the samples folder by the file name the
        // sample gives, checked against the sha256 it declares.
        let items_dir = a.items_dir.clone();
        let sample_blobs = move |att: &assay_protocol::AttachmentRef| {
            assay_rubric::read_sample_attachment(&items_dir, att)
        };
        let views = build_views(
            cache,
            &format!("preview/{}", a.generation),
            &scoped,
            diff_mode,
            &(Arc::new(sample_blobs) as crate::views::BlobReader),
        );
        let answers = Answers::default();
        Ok(OpenedItem {
            assignment_id: format!("preview:{item_id}"),
            kind: assay_protocol::AssignmentKind::Grade,
            status: assay_store::QueueStatus::New,
            feedback: None,
            issue: None,
            opportunity: OpportunityRef {
                id: scoped.opportunity_id.clone(),
                title: rubric.title.clone(),
                buyer: "preview".into(),
                licence_category: "preview".into(),
            },
            validation: validate(&answers, &rubric),
            layout: crate::views::item_layout(&rubric, &scoped),
            item: scoped,
            guidelines: assay_render::markdown::markdown_view(&rubric.guidelines),
            rubric,
            views,
            draft: answers,
            draft_revision: 0,
            saved_at: None,
            reviewed: None,
            time: TimeLog {
                assignment_id: format!("preview:{item_id}"),
                sessions: vec![],
                spans: vec![],
                active_seconds: 0,
            },
            preview: true,
            due_at: None,
            lease_expires_at: None,
            comments: Vec::new(),
            editable: true,
            revision: false,
            submission: None,
            pending: Vec::new(),
            reviewed_answers: Vec::new(),
            reviewed_comments: Vec::new(),
            notice: None,
        })
    }

    /// Rust's validation of `answers` for the sample item `item_id` against the previewed rubric.
    pub fn validate(&self, item_id: &str, answers: &Answers) -> AppResult<ValidationReport> {
        let guard = self.lock();
        let a = open_preview(guard.as_ref())?;
        if !a.preview.items.iter().any(|i| i.scoped.item_id == item_id) {
            return Err(AppError::not_found(format!("sample item {item_id}")));
        }
        let rubric = a.rubric()?;
        Ok(validate(answers, rubric))
    }
}
