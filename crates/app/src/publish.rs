//! issue 14: publishing the previewed rubric to the signed-in platform.
//! The platform decides who may publish (the token's role, `GET
//! /auth/whoami`), lints the file and names the version it will get (`POST
//! /author/rubrics/check`), then publishes it (`POST /author/rubrics`, the
//! route `assay-platform rubric publish FILE` uses). The app only reads the
//! rubric file the author picked in the native dialog.

use assay_protocol::{ApiErrorCode, RubricFinding};
use assay_rubric::Format;
use assay_sync::{Connector, PlatformClient, SyncError};

use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{PublishAccess, PublishOutcome, PublishPlan};
use crate::Workbench;

fn is_error(f: &RubricFinding) -> bool {
    f.severity == "error"
}

fn split(findings: Vec<RubricFinding>) -> (Vec<RubricFinding>, Vec<RubricFinding>) {
    findings.into_iter().partition(is_error)
}

/// A refusal in words; a 403 says plainly that this token may not publish.
fn refusal(e: SyncError) -> AppError {
    match e {
        SyncError::Rejected { status: 403, error } => AppError::new(
            ErrorCode::Rejected,
            format!(
                "The platform refused to publish (403 forbidden): {} Sign in with an author or operator token to publish rubrics.",
                error.message.trim_end_matches('.').to_owned() + "."
            ),
        ),
        other => other.into(),
    }
}

impl Workbench {
    /// The Assay platform the app is signed in to, if any.
    async fn assay_client(&self) -> AppResult<Option<PlatformClient>> {
        let conn = self.connected.lock().await;
        let Some(c) = conn.as_ref() else {
            return Err(AppError::unauthenticated());
        };
        Ok(match c.engine.client() {
            Connector::Assay(client) => Some(client.clone()),
            Connector::LabelStudio(_) => None,
        })
    }

    /// The picked rubric file's text and format (read within the parser's
    /// limit).
    fn picked_rubric(&self) -> AppResult<(std::path::PathBuf, String, Format)> {
        let path = self
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .rubric
            .clone()
            .ok_or_else(|| AppError::invalid("Choose a rubric file first."))?;
        let format = Format::from_path(&path).ok_or_else(|| {
            AppError::invalid(format!("{} is not a rubric file.", path.display()))
        })?;
        let size = std::fs::metadata(&path)
            .map_err(|e| AppError::not_found(format!("cannot read {}: {e}", path.display())))?
            .len();
        if size > assay_rubric::parse::MAX_RUBRIC_BYTES as u64 {
            return Err(AppError::invalid(format!(
                "{} is {size} bytes; a rubric may be at most {} bytes.",
                path.display(),
                assay_rubric::parse::MAX_RUBRIC_BYTES
            )));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| AppError::invalid(format!("cannot read {}: {e}", path.display())))?;
        Ok((path, text, format))
    }

    /// The picked rubric (as [`Self::picked_rubric`]) and the Assay platform
    /// to publish it to: Label Studio does not publish Assay rubrics.
    async fn publish_target(
        &self,
    ) -> AppResult<(std::path::PathBuf, String, Format, PlatformClient)> {
        let (path, text, format) = self.picked_rubric()?;
        let client = self
            .assay_client()
            .await?
            .ok_or_else(|| AppError::invalid("Label Studio does not publish Assay rubrics."))?;
        Ok((path, text, format, client))
    }

    /// Whether the preview offers "Publish": only when signed in to an Assay
    /// platform whose answer says this token may publish.
    pub async fn publish_access(&self) -> AppResult<PublishAccess> {
        let no = |reason: &str| PublishAccess {
            can_publish: false,
            role: None,
            reason: Some(reason.to_owned()),
        };
        let client = match self.assay_client().await {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(no("Label Studio does not publish Assay rubrics.")),
            Err(e) if e.code == ErrorCode::Unauthenticated => {
                return Ok(no("Sign in with an author token to publish this rubric."))
            }
            Err(e) => return Err(e),
        };
        let who = client.whoami().await?;
        Ok(PublishAccess {
            can_publish: who.may_publish,
            role: Some(who.role),
            reason: (!who.may_publish).then(|| {
                "This token may not publish rubrics: sign in with an author token.".to_owned()
            }),
        })
    }

    /// What publishing the previewed rubric would do, as the platform checks
    /// it: lint errors (blocking), warnings, the version it will get.
    pub async fn publish_check(&self) -> AppResult<PublishPlan> {
        let (path, text, format, client) = self.publish_target().await?;
        let check = client.check_rubric(&text, format).await.map_err(refusal)?;
        let (errors, warnings) = split(check.findings);
        let id = check.id.clone().unwrap_or_default();
        let summary = match (&check.version, errors.len()) {
            (_, n) if n > 0 => {
                format!("{n} lint error(s) must be fixed before this rubric can be published.")
            }
            (Some(v), _) if check.publishable => format!("Publishes {id} as version {v}."),
            (Some(v), _) if check.already_published => {
                format!("{id} version {v} is already published with exactly this content.")
            }
            _ => check
                .problem
                .clone()
                .unwrap_or_else(|| "The platform cannot publish this rubric.".to_owned()),
        };
        Ok(PublishPlan {
            rubric_path: path.display().to_string(),
            rubric_id: check.id,
            version: check.version,
            latest_published: check.latest_published,
            can_confirm: check.publishable && errors.is_empty(),
            errors,
            warnings,
            summary,
        })
    }

    /// Publishes the previewed rubric. A refusal with findings (lint
    /// errors) or a version conflict is an outcome the dialog shows; a 403
    /// is an error saying this token may not publish.
    pub async fn publish_rubric(&self) -> AppResult<PublishOutcome> {
        let (path, text, format, client) = self.publish_target().await?;
        match client.publish_rubric(&text, format).await {
            Ok(p) => {
                tracing::info!(rubric = %p.id, version = p.version, created = p.created, "rubric published");
                Ok(PublishOutcome {
                    published: true,
                    summary: if p.created {
                        format!("Published {} version {}.", p.id, p.version)
                    } else {
                        format!(
                            "{} version {} was already published with this content; nothing changed.",
                            p.id, p.version
                        )
                    },
                    rubric_id: Some(p.id),
                    version: Some(p.version),
                    created: p.created,
                    errors: Vec::new(),
                    warnings: p.warnings,
                })
            }
            Err(SyncError::Rejected { status, error })
                if matches!(
                    error.code,
                    ApiErrorCode::ValidationFailed | ApiErrorCode::Conflict
                ) && status != 403 =>
            {
                let findings: Vec<RubricFinding> = error
                    .details
                    .as_ref()
                    .and_then(|d| d.get("findings"))
                    .and_then(|f| serde_json::from_value(f.clone()).ok())
                    .unwrap_or_default();
                let (errors, warnings) = split(findings);
                tracing::info!(file = %path.display(), status, "the platform refused the rubric");
                Ok(PublishOutcome {
                    published: false,
                    rubric_id: None,
                    version: None,
                    created: false,
                    summary: format!("The platform refused the rubric: {}", error.message),
                    errors,
                    warnings,
                })
            }
            Err(e) => Err(refusal(e)),
        }
    }
}
