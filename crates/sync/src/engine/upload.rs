//! Uploads and leases: the outbox drained with idempotency keys (backoff on
//! transient failures, visible states on refusals), and the leases of work
//! in progress renewed.

use super::*;

impl SyncEngine {
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
}
