//! Sync progress for the UI, coalesced: a pull of 10,000 items reports
//! progress per item, but the UI repaints its sync bar at most a few times a
//! second. The newest progress is always delivered (after at most one
//! interval), the end of a pull (`Done`) at once, and nothing is reordered
//! around the other sync events.

use std::time::Duration;

use assay_sync::{SyncEvent, SyncPhase, SyncProgress};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Least time between two progress events sent to the UI (≤ 4 per second).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Decides which progress reports go out now and which wait.
#[derive(Debug)]
pub struct ProgressThrottle {
    interval: Duration,
    last_sent: Option<Instant>,
    pending: Option<SyncProgress>,
}

impl ProgressThrottle {
    /// A throttle that lets at most one progress report out per `interval`, keeping the latest that waits.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_sent: None,
            pending: None,
        }
    }

    /// The progress to send now, if any; otherwise `p` waits (replacing any
    /// older waiting one) until [`ProgressThrottle::deadline`].
    pub fn offer(&mut self, p: SyncProgress, now: Instant) -> Option<SyncProgress> {
        let due = self
            .last_sent
            .is_none_or(|t| now.saturating_duration_since(t) >= self.interval);
        if due || p.phase == SyncPhase::Done {
            self.pending = None;
            self.last_sent = Some(now);
            Some(p)
        } else {
            self.pending = Some(p);
            None
        }
    }

    /// When the waiting progress is due, if one waits.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref()?;
        Some(
            self.last_sent
                .map_or_else(Instant::now, |t| t + self.interval),
        )
    }

    /// The waiting progress, to be sent now.
    pub fn flush(&mut self, now: Instant) -> Option<SyncProgress> {
        let p = self.pending.take()?;
        self.last_sent = Some(now);
        Some(p)
    }
}

/// `f`, called with at most one progress per `interval` (and always with
/// `Done`): for a caller's own progress callback (`sync_now`), where the end
/// of the pull is reported by `Done` and the call's return.
pub fn throttled(
    f: impl Fn(SyncProgress) + Send + Sync + 'static,
    interval: Duration,
) -> impl Fn(SyncProgress) + Send + Sync + 'static {
    let throttle = std::sync::Mutex::new(ProgressThrottle::new(interval));
    move |p| {
        let out = throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .offer(p, Instant::now());
        if let Some(p) = out {
            f(p);
        }
    }
}

/// Passes the background loop's events to `out` until the channel closes,
/// progress coalesced by a [`ProgressThrottle`] of `interval`.
pub async fn coalesce(
    mut rx: mpsc::UnboundedReceiver<SyncEvent>,
    interval: Duration,
    mut out: impl FnMut(SyncEvent),
) {
    let mut throttle = ProgressThrottle::new(interval);
    loop {
        let deadline = throttle.deadline();
        let wait = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                let now = Instant::now();
                match ev {
                    SyncEvent::Progress { progress } => {
                        if let Some(progress) = throttle.offer(progress, now) {
                            out(SyncEvent::Progress { progress });
                        }
                    }
                    other => {
                        // What waited is older than this event: it goes first.
                        if let Some(progress) = throttle.flush(now) {
                            out(SyncEvent::Progress { progress });
                        }
                        out(other);
                    }
                }
            }
            () = wait => {
                if let Some(progress) = throttle.flush(Instant::now()) {
                    out(SyncEvent::Progress { progress });
                }
            }
        }
    }
    if let Some(progress) = throttle.flush(Instant::now()) {
        out(SyncEvent::Progress { progress });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(done: u64) -> SyncProgress {
        SyncProgress {
            phase: SyncPhase::Items,
            items_done: done,
            items_total: 10_000,
            bytes_done: 0,
            bytes_total: 0,
        }
    }

    fn done() -> SyncProgress {
        SyncProgress {
            phase: SyncPhase::Done,
            items_done: 0,
            items_total: 0,
            bytes_done: 0,
            bytes_total: 0,
        }
    }

    #[test]
    fn ten_thousand_reports_in_two_seconds_become_a_few_per_second() {
        let mut t = ProgressThrottle::new(PROGRESS_INTERVAL);
        let start = Instant::now();
        let mut sent = Vec::new();
        for i in 1..=10_000u64 {
            // 10,000 reports spread over 2 s (one every 200 µs).
            let now = start + Duration::from_micros(200 * i);
            if let Some(d) = t.deadline() {
                if d <= now {
                    sent.extend(t.flush(d));
                }
            }
            sent.extend(t.offer(items(i), now));
        }
        // At most one per interval over 2 s (plus the first).
        assert!(sent.len() <= 9, "{} sent", sent.len());
        assert!(sent.len() >= 7, "{} sent", sent.len());
        assert!(sent.windows(2).all(|w| w[0].items_done < w[1].items_done));
        // The last report waits and is delivered at its deadline.
        let d = t.deadline().expect("the newest report waits");
        assert_eq!(t.flush(d), Some(items(10_000)));
        assert_eq!(t.deadline(), None);
    }

    #[test]
    fn the_first_report_and_done_go_out_at_once() {
        let mut t = ProgressThrottle::new(PROGRESS_INTERVAL);
        let now = Instant::now();
        assert_eq!(t.offer(items(1), now), Some(items(1)));
        assert_eq!(t.offer(items(2), now), None);
        assert_eq!(t.offer(done(), now), Some(done()));
        // Done supersedes what waited.
        assert_eq!(t.deadline(), None);
        assert_eq!(t.flush(now), None);
    }

    #[test]
    fn a_throttled_callback_sees_the_first_report_and_done() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let f = throttled(move |p| sink.lock().unwrap().push(p), PROGRESS_INTERVAL);
        for i in 1..=10_000u64 {
            f(items(i));
        }
        f(done());
        assert_eq!(*seen.lock().unwrap(), vec![items(1), done()]);
    }

    #[tokio::test]
    async fn coalesced_events_keep_their_order_and_end_with_the_newest_state() {
        let interval = Duration::from_millis(50);
        let started = Instant::now();
        let (tx, rx) = mpsc::unbounded_channel();
        let collected = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = collected.clone();
        let task = tokio::spawn(coalesce(rx, interval, move |ev| {
            sink.lock().unwrap().push(ev);
        }));
        for i in 1..=10_000u64 {
            tx.send(SyncEvent::Progress { progress: items(i) }).unwrap();
        }
        // With no further report, the newest one still arrives (its deadline).
        let newest = |evs: &Vec<SyncEvent>| {
            evs.iter().any(
                |e| matches!(e, SyncEvent::Progress { progress } if progress.items_done == 10_000),
            )
        };
        for _ in 0..1_000 {
            if newest(&collected.lock().unwrap()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            newest(&collected.lock().unwrap()),
            "the newest report was never delivered"
        );
        for i in 10_001..=10_005u64 {
            tx.send(SyncEvent::Progress { progress: items(i) }).unwrap();
        }
        tx.send(SyncEvent::Failed {
            message: "offline".into(),
            retryable: true,
            unauthenticated: false,
        })
        .unwrap();
        drop(tx);
        task.await.unwrap();
        let elapsed = started.elapsed();
        let got = collected.lock().unwrap().clone();
        let progress: Vec<u64> = got
            .iter()
            .filter_map(|e| match e {
                SyncEvent::Progress { progress } => Some(progress.items_done),
                _ => None,
            })
            .collect();
        // One per interval at most, plus the first and the one flushed
        // before the failure.
        let bound = 2 + (elapsed.as_millis() / interval.as_millis()) as usize;
        assert!(
            progress.len() <= bound,
            "{} > {bound}: {progress:?}",
            progress.len()
        );
        assert!(progress.len() < 100, "{progress:?}");
        assert_eq!(progress.first(), Some(&1));
        assert_eq!(progress.last(), Some(&10_005), "{progress:?}");
        assert!(progress.windows(2).all(|w| w[0] < w[1]));
        assert!(
            matches!(got.last(), Some(SyncEvent::Failed { .. })),
            "{got:?}"
        );
    }
}
