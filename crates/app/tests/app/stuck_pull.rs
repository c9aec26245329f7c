//! A slow platform never hides an upload: while the background pull is stuck
//! on a feed that does not answer, a grade the reviewer submits is uploaded
//! at once and the screens are told at once (the sync bar's pending count
//! falls, and the data version rises so the queue reloads and shows the
//! grade submitted), not when the stuck pull gives up.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use assay_app::types::QueueFilter;
use assay_app::AppEvent;
use assay_pgtest::relay::{forward, read_request};
use assay_rubric::Answers;
use assay_store::QueueStatus;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A relay in front of the platform at `upstream`; once `stuck` is set it
/// holds every `GET /api/v1/outcomes` open without an answer. Its base URL.
async fn relay(upstream: SocketAddr, stuck: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let stuck = stuck.clone();
            tokio::spawn(async move {
                let Some(req) = read_request(&mut conn).await else {
                    return;
                };
                if stuck.load(Ordering::SeqCst) && req.starts_with(b"GET /api/v1/outcomes") {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    return;
                }
                if let Some(resp) = forward(&req, upstream).await {
                    let _ = conn.write_all(&resp).await;
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grade_submitted_during_a_stuck_pull_shows_as_uploaded_at_once() {
    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let upstream: SocketAddr = platform
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let stuck = Arc::new(AtomicBool::new(false));
    let url = relay(upstream, stuck.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let (wb, events) = crate::open(dir.path(), Some(url.clone()));
    wb.resume().await.unwrap();
    wb.sign_in(&url, &platform.expert_token).await.unwrap();
    let first = crate::told(&events, 0, 60, |s| s.last_sync_at.is_some() && !s.syncing).await;
    let row = crate::new_code_review(&wb);

    // From now on every pull sticks on the outcomes feed (for two minutes,
    // past this test). Submitting wakes the loop: its upload and its pull.
    stuck.store(true, Ordering::SeqCst);
    let grade: Answers =
        serde_json::from_value(assay_platform::demo::sample_answers(&row.opportunity_id, 0))
            .unwrap();
    let from = events.lock().unwrap().len();
    wb.submit(&row.assignment_id, &grade).await.unwrap();
    let state = crate::told(&events, from, 10, |s| {
        s.pending_uploads == 0 && s.data_version > first.data_version
    })
    .await;
    assert_eq!(state.failed_uploads, 0, "{state:?}");
    let page = wb.queue_page(&QueueFilter::default(), 0, 500).unwrap();
    let now = page
        .rows
        .iter()
        .find(|r| r.assignment_id == row.assignment_id)
        .unwrap();
    assert_eq!(now.status, QueueStatus::Submitted, "{now:?}");
    // ... while the pull is still stuck: no sync has ended since.
    assert!(
        !events.lock().unwrap()[from..].iter().any(
            |e| matches!(e, AppEvent::Sync { state } if state.last_sync_at > first.last_sync_at)
        ),
        "a sync ended: the pull was not stuck"
    );
    drop(wb);
    platform.shutdown().await.unwrap();
}
