//! Opening an item: [`Workbench::open_item`] and its named steps.

use std::collections::HashMap;
use std::sync::Arc;

use assay_protocol::AssignmentKind;
use assay_render::diff::{DiffRows, MultiFileDiff};
use assay_rubric::{validate, Answers, Rubric, ScopedItem, ValidationReport};
use assay_store::{Draft, ItemDetail, QueueStatus, SubmittedWork};
use chrono::Utc;

use crate::anchors::{self, CommentPlacement};
use crate::submission::{self, AnswerSummary, SubmissionView};
use crate::views::{self, FieldView};
use crate::{queue, AppError, AppResult, OpenedItem, Workbench};

/// Why the item's content is not on this machine, when it is not.
#[derive(Default)]
struct Missing {
    /// Shown on the item (what was tried and why it failed).
    notice: Option<String>,
    /// The sync quarantined the content: the reason, in the queue's words.
    held: Option<String>,
}

impl Workbench {
    /// Everything the item screen needs: scoped fields with their views,
    /// rubric, draft, validation, time log. Tells the sync engine the
    /// reviewer works on it (so its lease is renewed).
    ///
    /// Work sent back for revision opens with a draft pre-filled from the
    /// reviewer's previous submission. Finished work (in the outbox,
    /// submitted, decided) opens read-only with the submitted answers, the
    /// outcome, the feedback and the pay. An item this machine never
    /// downloaded is fetched now when the platform is reachable; when the
    /// platform no longer serves it, what the store kept is shown with a
    /// notice saying so.
    pub async fn open_item(&self, assignment_id: &str) -> AppResult<OpenedItem> {
        // What the previous item's views freed (a highlighted diff's rows,
        // a decoded scan) and what opening this one frees go back to the OS
        // once the reviewer's calls pause, off this call's path.
        self.store.release_when_idle();
        let (mut detail, missing) = self.detail_with_content(assignment_id).await?;
        let status = detail.status;
        let editable = status.editable();
        let finished = status.finished();
        let scoped = scoped_or_kept(&detail, editable, &missing)?;
        let rubric = self.item_rubric(assignment_id, &detail)?;
        let submitted = self.submitted_work(assignment_id, &detail).await?;
        let revision = status == QueueStatus::NeedsRevision;
        if revision && detail.draft.is_none() && submitted.is_some() {
            detail.draft = self.store.reopen_draft_from_submission(assignment_id)?;
            tracing::info!(
                assignment = assignment_id,
                "revision draft pre-filled from the previous submission"
            );
        }
        let mut draft = detail.draft.clone();
        let mut answers = shown_answers(draft.as_ref(), submitted.as_ref(), finished);
        let views = self.item_views(assignment_id, &scoped)?;
        let cached = self.cached_diffs(assignment_id, &scoped);
        let diffs: HashMap<String, &MultiFileDiff> = cached
            .iter()
            .map(|(id, rows)| (id.clone(), rows.diff()))
            .collect();
        // Diff comments follow their lines when the item's diff changed on
        // re-sync; the moved positions are saved durably right away.
        let (comments, relocated) = anchors::relocate(&mut answers, &diffs);
        let validation = validate(&answers, &rubric);
        if relocated && editable && !finished {
            if let Some(d) = draft.as_mut() {
                self.save_relocated(assignment_id, &answers, &validation, d)?;
            }
        }
        let mut notice = missing.notice;
        let (reviewed_answers, reviewed_comments) =
            reviewed_summary(&detail, &rubric, &scoped, &diffs, &mut notice);
        let submission = self.submission_view(
            assignment_id,
            &detail,
            submitted.as_ref(),
            &rubric,
            &scoped,
            finished,
            &mut notice,
        )?;
        if editable {
            self.mark_working_on(assignment_id).await;
        }
        let a = &detail.assignment;
        let latest = detail.latest_submission.as_ref();
        Ok(OpenedItem {
            assignment_id: assignment_id.to_string(),
            kind: a.kind,
            status,
            feedback: latest.and_then(|s| s.feedback.clone()),
            issue: detail.issue.clone(),
            opportunity: queue::opportunity_ref(&self.store, &a.opportunity_id)?,
            guidelines: assay_render::markdown::markdown_view(&rubric.guidelines),
            layout: views::item_layout(&rubric, &scoped),
            item: scoped,
            rubric,
            views,
            draft: answers,
            draft_revision: draft.as_ref().map_or(0, |d| d.revision),
            saved_at: draft.as_ref().map(|d| d.updated_at),
            validation,
            reviewed: detail.reviewed_submission.clone(),
            time: self.time_log(assignment_id)?,
            preview: false,
            due_at: editable.then_some(a.due_at),
            lease_expires_at: editable.then_some(a.lease_expires_at),
            comments,
            editable,
            revision: revision && editable,
            submission,
            pending: if editable {
                draft.map(|d| d.pending).unwrap_or_default()
            } else {
                Vec::new()
            },
            reviewed_answers,
            reviewed_comments,
            notice,
        })
    }

    /// The stored item; content this machine never downloaded is fetched
    /// now when possible, and otherwise [`Missing`] says why it is not here.
    async fn detail_with_content(&self, assignment_id: &str) -> AppResult<(ItemDetail, Missing)> {
        let mut detail = self.store.item_detail(assignment_id, Utc::now())?;
        let mut missing = Missing::default();
        if detail.scoped.is_some() {
            return Ok((detail, missing));
        }
        match self.engine().await {
            Ok(engine) => match engine.fetch_item(&detail.assignment).await {
                Ok(()) => detail = self.store.item_detail(assignment_id, Utc::now())?,
                Err(e) => {
                    tracing::info!(assignment = assignment_id, error = %e, "item not fetched on open");
                    missing.notice = Some(if e.is_retryable() {
                        format!(
                            "This item's content is not on this machine and the platform can't be reached now ({e}). Shown is what this machine kept."
                        )
                    } else {
                        let why = AppError::from(e).message;
                        format!(
                            "The platform no longer serves this item's content ({why}). Shown is what this machine kept."
                        )
                    });
                }
            },
            Err(_) => {
                missing.notice = Some(
                    "This item's content is not on this machine and you are signed out. Shown is what this machine kept."
                        .to_string(),
                );
            }
        }
        // The sync quarantined its content (or its rubric): that is why it
        // is not here, whatever this attempt ran into.
        if detail.scoped.is_none() {
            missing.held = self
                .store
                .held_back(assignment_id)?
                .map(|h| queue::held_back_text(&h));
            if let Some(h) = &missing.held {
                missing.notice = Some(format!("{h} Shown is what this machine kept."));
            }
        }
        Ok((detail, missing))
    }

    /// The item's rubric; a rubric not downloaded says why.
    fn item_rubric(&self, assignment_id: &str, detail: &ItemDetail) -> AppResult<Rubric> {
        let a = &detail.assignment;
        if let Some(r) = self.store.rubric(&a.rubric_id, a.rubric_version)? {
            return Ok(r);
        }
        // Quarantined by the sync: say why.
        Err(match self.store.held_back(assignment_id)? {
            Some(h) => AppError::not_found(queue::held_back_text(&h)),
            None => AppError::not_found(format!(
                "Rubric {} v{} is not downloaded yet; sync when online.",
                a.rubric_id, a.rubric_version
            )),
        })
    }

    /// What this machine keeps of the reviewer's submission. Submitted from
    /// another device: the platform serves its copy with the item (fetched
    /// once, then kept).
    async fn submitted_work(
        &self,
        assignment_id: &str,
        detail: &ItemDetail,
    ) -> AppResult<Option<SubmittedWork>> {
        let submitted = self.store.submitted_work(assignment_id)?;
        let a = &detail.assignment;
        if submitted.is_some()
            || detail.latest_submission.is_none()
            || detail.scoped.is_none()
            || a.kind == AssignmentKind::SeniorReview
        {
            return Ok(submitted);
        }
        let Ok(engine) = self.engine().await else {
            return Ok(submitted);
        };
        match engine.fetch_item(a).await {
            Ok(()) => Ok(self.store.submitted_work(assignment_id)?),
            Err(e) => {
                tracing::info!(
                    assignment = assignment_id,
                    error = %e,
                    "the platform's copy of the submission was not fetched"
                );
                Ok(submitted)
            }
        }
    }

    /// The views of the item's fields, diffs in the reviewer's diff mode.
    fn item_views(&self, assignment_id: &str, scoped: &ScopedItem) -> AppResult<Vec<FieldView>> {
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
        Ok(views::build_views(
            &self.views,
            assignment_id,
            scoped,
            settings.ui.diff_mode,
            &(Arc::new(read) as views::BlobReader),
        ))
    }

    /// The diffs [`Self::item_views`] built, by field id.
    fn cached_diffs(
        &self,
        assignment_id: &str,
        scoped: &ScopedItem,
    ) -> Vec<(String, Arc<DiffRows>)> {
        scoped
            .fields
            .iter()
            .filter_map(|f| {
                self.views
                    .diff(&format!("{assignment_id}/{}", f.id))
                    .map(|rows| (f.id.clone(), rows))
            })
            .collect()
    }

    /// Saves a draft whose comments moved with the diff, and updates
    /// `draft` to the saved revision.
    fn save_relocated(
        &self,
        assignment_id: &str,
        answers: &Answers,
        validation: &ValidationReport,
        draft: &mut Draft,
    ) -> AppResult<()> {
        let (saved, _) = self.store.save_editable_draft(
            assignment_id,
            answers,
            validation.ok,
            None,
            Utc::now(),
        )?;
        tracing::info!(
            assignment = assignment_id,
            revision = saved.revision,
            "draft comments relocated to the item's current diff"
        );
        draft.revision = saved.revision;
        draft.updated_at = saved.saved_at;
        Ok(())
    }

    /// The latest submission with what this machine kept of it and its pay;
    /// `None` when nothing was submitted.
    #[allow(clippy::too_many_arguments)]
    fn submission_view(
        &self,
        assignment_id: &str,
        detail: &ItemDetail,
        kept: Option<&SubmittedWork>,
        rubric: &Rubric,
        scoped: &ScopedItem,
        finished: bool,
        notice: &mut Option<String>,
    ) -> AppResult<Option<SubmissionView>> {
        let latest = detail.latest_submission.as_ref();
        if latest.is_none() && kept.is_none() {
            return Ok(None);
        }
        let view = SubmissionView {
            submission_id: latest.map(|s| s.submission_id.clone()),
            submitted_at: kept
                .map(|w| w.submitted_at)
                .or(latest.map(|s| s.received_at)),
            outcome: latest.map(|s| s.status),
            feedback: latest.and_then(|s| s.feedback.clone()),
            decided_at: latest.and_then(|s| s.decided_at),
            answers: kept.map(|w| w.answers.clone()),
            summary: kept
                .map(|w| submission::summarize(rubric, &w.answers, scoped))
                .unwrap_or_default(),
            active_seconds: kept.map(|w| w.active_seconds),
            pay: submission::PayLine::from_entries(self.store.ledger_of(assignment_id)?),
        };
        if view.answers.is_none() && finished {
            notice.get_or_insert_with(|| {
                "This work was submitted from another device; this machine has no copy of its answers."
                    .to_string()
            });
        }
        Ok(Some(view))
    }

    /// Tells the sync engine the reviewer works on this item (its lease is renewed).
    async fn mark_working_on(&self, assignment_id: &str) {
        if let Ok(engine) = self.engine().await {
            engine.set_working_on([assignment_id.to_string()]);
        }
    }
}

/// The item's content; work that is no longer editable opens without it
/// (a title and no fields), while open work needs it and says why it is not here.
fn scoped_or_kept(detail: &ItemDetail, editable: bool, missing: &Missing) -> AppResult<ScopedItem> {
    if let Some(s) = &detail.scoped {
        return Ok(s.clone());
    }
    if editable {
        let why = missing.held.clone().or_else(|| missing.notice.clone());
        return Err(AppError::not_found(why.unwrap_or_else(|| {
            "This item has not been downloaded yet.".to_string()
        })));
    }
    let a = &detail.assignment;
    Ok(ScopedItem {
        item_id: a.item_id.clone(),
        opportunity_id: a.opportunity_id.clone(),
        title: crate::item_name(&a.item_title, &a.item_id),
        rubric_id: a.rubric_id.clone(),
        rubric_version: a.rubric_version,
        fields: Vec::new(),
        missing_fields: Vec::new(),
    })
}

/// Finished work shows what was submitted; otherwise the draft (or nothing yet).
fn shown_answers(
    draft: Option<&Draft>,
    submitted: Option<&SubmittedWork>,
    finished: bool,
) -> Answers {
    match (draft, submitted) {
        (_, Some(work)) if finished => work.answers.clone(),
        (Some(d), _) => d.answers.clone(),
        (None, _) => Answers::default(),
    }
}

/// Senior review: the expert's answers in the rubric's words, their diff
/// comments placed where they were made. An unreadable submission leaves a notice.
fn reviewed_summary(
    detail: &ItemDetail,
    rubric: &Rubric,
    scoped: &ScopedItem,
    diffs: &HashMap<String, &MultiFileDiff>,
    notice: &mut Option<String>,
) -> (Vec<AnswerSummary>, Vec<CommentPlacement>) {
    let Some(r) = &detail.reviewed_submission else {
        return (Vec::new(), Vec::new());
    };
    match serde_json::from_value::<Answers>(r.answers.clone()) {
        Ok(mut theirs) => {
            let (placed, _) = anchors::relocate(&mut theirs, diffs);
            (submission::summarize(rubric, &theirs, scoped), placed)
        }
        Err(e) => {
            notice.get_or_insert_with(|| {
                format!("The submission under review could not be read: {e}")
            });
            (Vec::new(), Vec::new())
        }
    }
}
