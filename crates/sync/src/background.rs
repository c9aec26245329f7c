//! Background sync loop: periodic sync and lease renewal, backoff with jitter
//! on failure, a fast reachability probe while offline (sync the moment the
//! platform answers again), immediate run on demand, clean shutdown.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch, Notify};
use ts_rs::TS;

use crate::engine::{backoff_delay, LeaseReport, PushReport, SyncEngine, SyncProgress, SyncReport};
use crate::error::SyncError;
use crate::runtime::SyncThread;

/// Events for the UI, sent by the background loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SyncEvent {
    /// A pull is under way; how far it got.
    Progress {
        /// Phase and counts so far.
        progress: SyncProgress,
    },
    /// A sync (upload, then pull) finished.
    Synced {
        /// What it uploaded and downloaded.
        report: SyncReport,
    },
    /// A lease pass finished.
    Leases {
        /// Leases renewed, expired and expiring soon.
        report: LeaseReport,
    },
    /// An upload sent, refused or put off grades: the upload lane's (which
    /// runs even while a pull is stuck), or a sync's own, told as soon as
    /// that upload ends, before the sync's pull (whose [`SyncEvent::Synced`]
    /// report counts it again).
    Uploaded {
        /// What the upload did.
        report: PushReport,
    },
    /// A sync failed; `retryable` failures are retried with backoff, others
    /// (e.g. `unauthenticated`) wait for [`BackgroundSync::trigger`].
    Failed {
        /// The error, worded for the reviewer.
        message: String,
        /// Whether the loop retries it by itself.
        retryable: bool,
        /// Whether the platform refused the token (sign in again).
        unauthenticated: bool,
    },
}

/// Handle of a running background loop.
#[derive(Debug)]
pub struct BackgroundSync {
    trigger: Arc<Notify>,
    upload_trigger: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    uploads: tokio::task::JoinHandle<()>,
    /// Where the loop runs: the sync thread's runtime, or the runtime that
    /// spawned the loop when no thread could be started.
    runtime: tokio::runtime::Handle,
    /// Stops the sync thread when the loop is dropped or stopped.
    _thread: Option<SyncThread>,
}

impl BackgroundSync {
    /// Run a sync now (e.g. right after a submit or sign-in); queued uploads
    /// go at once, even while a pull is in progress.
    pub fn trigger(&self) {
        self.trigger.notify_one();
        self.upload_trigger.notify_one();
    }

    /// The runtime the loop runs on (the sync thread's), for a sync the
    /// reviewer asks for; what is spawned on it can be awaited from any runtime.
    #[must_use]
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// Stop the loop and wait for the current step to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let _ = self.uploads.await;
    }
}

/// The upload lane: drains the outbox on trigger and when an entry falls
/// due, independently of the sync loop (whose pull may be slow).
fn spawn_uploads(
    engine: Arc<SyncEngine>,
    interval: Duration,
    events: mpsc::UnboundedSender<SyncEvent>,
    trigger: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
    runtime: &tokio::runtime::Handle,
) -> tokio::task::JoinHandle<()> {
    runtime.spawn(async move {
        loop {
            let until_due = engine
                .store()
                .next_outbox_due()
                .ok()
                .flatten()
                .map(|t| (t - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO));
            let wait = until_due.map_or(interval, |d| d.min(interval));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = trigger.notified() => {}
                _ = stopped.changed() => {}
            }
            if *stopped.borrow() {
                break;
            }
            if until_due.is_none() && engine.store().next_outbox_due().ok().flatten().is_none() {
                continue;
            }
            match engine.push().await {
                Ok(report) => {
                    if report.did_anything() {
                        let _ = events.send(SyncEvent::Uploaded { report });
                    }
                }
                Err(e) => {
                    tracing::info!(error = %e, "upload lane: push failed");
                    // Do not spin: the next due time or trigger wakes us.
                    tokio::select! {
                        () = tokio::time::sleep(engine.config().backoff_base) => {}
                        _ = stopped.changed() => {}
                    }
                }
            }
        }
    })
}

/// What the loop waits for before the next sync.
enum Wait {
    For(Duration),
    /// The platform refused the token: only a trigger (sign-in) helps.
    UntilTriggered,
    /// The platform could not be reached: probe it until it answers.
    UntilReachable {
        backoff: Duration,
    },
}

/// Probes the platform (`probe_base`, doubling to `probe_max`) until it
/// answers. When a probe failed first (a real outage) this returns the moment
/// the platform is back; when the very first probe succeeds the platform was
/// reachable all along (the sync broke mid-transfer), so the usual `backoff`
/// applies and a flaky platform is not hammered.
async fn until_reachable(engine: &SyncEngine, backoff: Duration) {
    let config = engine.config();
    let started = tokio::time::Instant::now();
    let mut delay = config.probe_base;
    let mut was_down = false;
    loop {
        tokio::time::sleep(delay).await;
        if engine.probe().await {
            break;
        }
        was_down = true;
        delay = delay.saturating_mul(2).min(config.probe_max);
    }
    if !was_down {
        tokio::time::sleep_until(started + backoff).await;
    }
}

/// Whether a lease check is worth an event: something was renewed, expired
/// or is expiring soon, or the last event warned of expiring leases and none
/// is left (submitted, renewed, taken away), so the warning is withdrawn.
fn worth_reporting(report: &LeaseReport, warned: bool) -> bool {
    !report.renewed.is_empty()
        || !report.expired.is_empty()
        || !report.expiring_soon.is_empty()
        || warned
}

/// Spawn the loop on a sync thread of its own ([`SyncThread`]; on the
/// current tokio runtime if none can be started): every `interval` it renews
/// leases and runs [`SyncEngine::sync_once`], sending [`SyncEvent`]s.
pub fn spawn_background(
    engine: Arc<SyncEngine>,
    interval: Duration,
    events: mpsc::UnboundedSender<SyncEvent>,
) -> BackgroundSync {
    let thread = SyncThread::start()
        .inspect_err(|e| {
            tracing::warn!(error = %e, "no sync thread; syncing on the app's runtime");
        })
        .ok();
    let runtime = thread
        .as_ref()
        .map_or_else(tokio::runtime::Handle::current, |t| t.handle().clone());
    let trigger = Arc::new(Notify::new());
    let upload_trigger = Arc::new(Notify::new());
    let (stop, mut stopped) = watch::channel(false);
    let uploads = spawn_uploads(
        Arc::clone(&engine),
        interval,
        events.clone(),
        Arc::clone(&upload_trigger),
        stop.subscribe(),
        &runtime,
    );
    let t = Arc::clone(&trigger);
    let task = runtime.spawn(async move {
        let mut failures: u32 = 0;
        let mut warned = false;
        loop {
            if *stopped.borrow() {
                break;
            }
            let ev = events.clone();
            let up = events.clone();
            let leases = engine.renew_leases().await;
            if let Ok(report) = leases {
                if worth_reporting(&report, warned) {
                    warned = !report.expiring_soon.is_empty();
                    let _ = events.send(SyncEvent::Leases { report });
                }
            }
            // What this sync's own upload sent is told when the upload ends,
            // as the upload lane's is, not only with the pull after it.
            let result = engine
                .sync_once_reporting(
                    move |progress| {
                        let _ = ev.send(SyncEvent::Progress { progress });
                    },
                    move |push| {
                        let _ = up.send(SyncEvent::Uploaded {
                            report: push.clone(),
                        });
                    },
                )
                .await;
            let wait = match result {
                Ok(report) => {
                    failures = 0;
                    let _ = events.send(SyncEvent::Synced { report });
                    // Wake early when an upload retry is due.
                    let until_due = engine
                        .store()
                        .next_outbox_due()
                        .ok()
                        .flatten()
                        .and_then(|t| (t - chrono::Utc::now()).to_std().ok());
                    Wait::For(until_due.map_or(interval, |d| d.min(interval)))
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let unauthenticated = matches!(e, SyncError::Unauthorized);
                    let retryable = e.is_retryable();
                    let _ = events.send(SyncEvent::Failed {
                        message: e.for_reviewer(),
                        retryable,
                        unauthenticated,
                    });
                    let backoff = backoff_delay(engine.config(), failures, e.retry_after())
                        .min(interval.max(engine.config().backoff_base));
                    if unauthenticated {
                        Wait::UntilTriggered
                    } else if matches!(e, SyncError::Offline(_)) {
                        Wait::UntilReachable { backoff }
                    } else {
                        Wait::For(backoff)
                    }
                }
            };
            let sleep = async {
                match wait {
                    Wait::For(d) => tokio::time::sleep(d).await,
                    Wait::UntilTriggered => std::future::pending::<()>().await,
                    Wait::UntilReachable { backoff } => {
                        until_reachable(&engine, backoff).await;
                    }
                }
            };
            tokio::select! {
                () = sleep => {}
                () = t.notified() => {}
                _ = stopped.changed() => {}
            }
        }
    });
    BackgroundSync {
        trigger,
        upload_trigger,
        stop,
        task,
        uploads,
        runtime,
        _thread: thread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_store::LeaseInfo;

    #[test]
    fn an_empty_lease_check_is_reported_once_after_a_warning() {
        let quiet = LeaseReport::default();
        let warning = LeaseReport {
            expiring_soon: vec![LeaseInfo {
                assignment_id: "asg-1".into(),
                lease_expires_at: chrono::Utc::now(),
            }],
            ..LeaseReport::default()
        };
        // Nothing to say, nothing said before: no event.
        assert!(!worth_reporting(&quiet, false));
        // A lease ending: reported (and the loop remembers it warned).
        assert!(worth_reporting(&warning, false));
        // The lease was submitted: the empty check withdraws the warning...
        assert!(worth_reporting(&quiet, true));
        // ...once; after that, quiet again.
        assert!(!worth_reporting(&quiet, false));
    }
}
