//! The app's use cases against a real reference platform on loopback, with
//! the token in a real Secret Service (CI runs tests inside `dbus-run-session`
//! with an unlocked gnome-keyring; see `cargo xtask test`).

use std::sync::{Arc, Mutex};

use assay_app::views::FieldView;
use assay_app::{
    AppError, AppEvent, EarningsQuery, ErrorCode, QueueFilter, ReviewInput, Workbench,
};
use assay_protocol::{AssignmentKind, FieldValue, ReviewDecision};
use assay_rubric::Answers;
use assay_store::QueueStatus;

fn profile() -> String {
    format!("dev.assay.desktop.test-app-{}", std::process::id())
}

fn open(dir: &std::path::Path) -> (Workbench, Arc<Mutex<Vec<AppEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let wb = Workbench::open(
        &profile(),
        dir,
        Arc::new(move |e| sink.lock().unwrap().push(e)),
    )
    .unwrap();
    (wb, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sync_grade_submit_restart() {
    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (wb, events) = open(dir.path());
    wb.resume().await.unwrap();
    assert!(!wb.session().await.unwrap().signed_in);

    // A wrong token is refused and nothing is stored.
    let err = wb
        .sign_in(&platform.base_url(), "wrong-token")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthenticated, "{err:?}");
    assert!(!wb.session().await.unwrap().signed_in);

    let session = wb
        .sign_in(&platform.base_url(), &platform.expert_token)
        .await
        .unwrap();
    assert!(session.signed_in);
    assert_eq!(session.expert.as_ref().unwrap().email, "demo@assay.dev");
    // The token is in the keyring, never in the settings file.
    let settings = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(!settings.contains(&platform.expert_token));

    let progress = Arc::new(Mutex::new(0usize));
    let p = progress.clone();
    let state = wb.sync_now(move |_| *p.lock().unwrap() += 1).await.unwrap();
    assert!(state.online && state.pending_uploads == 0, "{state:?}");
    assert!(*progress.lock().unwrap() > 0);

    let page = wb.queue_page(&QueueFilter::default(), 0, 500).unwrap();
    assert!(page.total >= 8, "queue has {} rows", page.total);
    assert!(!page.groups.is_empty());
    // Windows and filters.
    let first = wb.queue_page(&QueueFilter::default(), 0, 2).unwrap();
    assert_eq!(first.rows.len(), 2);
    assert_eq!(first.total, page.total);
    let reviews = wb
        .queue_page(
            &QueueFilter {
                kind: Some(AssignmentKind::SeniorReview),
                ..Default::default()
            },
            0,
            500,
        )
        .unwrap();
    assert!(reviews
        .rows
        .iter()
        .all(|r| r.kind == AssignmentKind::SeniorReview));

    // Blind review: the pairwise item's model identity never reaches the UI.
    let pair = page
        .rows
        .iter()
        .find(|r| r.item_id.starts_with("itm-pair") && r.downloaded && r.status == QueueStatus::New)
        .expect("a pairwise item");
    let raw = reqwest::Client::new()
        .get(platform.api_url(&format!("/items/{}", pair.item_id)))
        .bearer_auth(&platform.expert_token)
        .send()
        .await
        .unwrap()
        .json::<assay_protocol::ItemEnvelope>()
        .await
        .unwrap();
    let hidden = match raw.item.fields.get("model_identity") {
        Some(FieldValue::Json(v)) => v.clone(),
        other => panic!("demo item lacks model_identity: {other:?}"),
    };
    let opened = wb.open_item(&pair.assignment_id).await.unwrap();
    let payload = serde_json::to_string(&opened).unwrap();
    assert!(!payload.contains("model_identity"));
    for model in hidden.as_object().unwrap().values() {
        let name = model.as_str().unwrap();
        assert!(!payload.contains(name), "hidden model name {name} leaked");
    }

    // Every viewer kind of the demo data builds in the app: scans decode from
    // verified blobs and render frames; legal drafts redline; big diffs page.
    let mut kinds = std::collections::BTreeSet::new();
    for prefix in ["itm-scan", "itm-legal", "itm-review", "itm-code"] {
        let Some(row) = page.rows.iter().find(|r| {
            r.item_id.starts_with(prefix) && r.downloaded && r.kind == AssignmentKind::Grade
        }) else {
            continue;
        };
        let opened = wb.open_item(&row.assignment_id).await.unwrap();
        for view in &opened.views {
            match view {
                FieldView::Error { field_id, message } => {
                    panic!("{} field {field_id}: {message}", row.item_id)
                }
                FieldView::Scan { handle, info, .. } => {
                    let frame = wb
                        .scan_frame(handle, info.frames - 1, info.default_window)
                        .unwrap();
                    assert!(frame.data_url.starts_with("data:image/png;base64,"));
                    let px = wb
                        .scan_pixel(handle, 0, info.width / 2, info.height / 2)
                        .unwrap();
                    assert!(px.value.is_finite());
                    kinds.insert("scan");
                }
                FieldView::LegalRedline { doc, .. } => {
                    assert!(!doc.clauses.is_empty());
                    kinds.insert("legal");
                }
                FieldView::Diff { diff, .. } => {
                    let w = wb
                        .diff_rows(&assay_app::views::DiffRowsRequest {
                            handle: diff.handle.clone(),
                            file_index: 0,
                            mode: assay_rubric::DiffMode::Split,
                            start: 0,
                            count: 50,
                            expanded: vec![],
                        })
                        .unwrap();
                    assert!(!w.rows.is_empty() && w.total >= w.rows.len() as u32);
                    kinds.insert("diff");
                }
                _ => {}
            }
        }
    }
    assert!(
        kinds.contains("scan") && kinds.contains("legal") && kinds.contains("diff"),
        "{kinds:?}"
    );

    // Grade a code item: an incomplete grade is kept as a draft but refused.
    let code = page
        .rows
        .iter()
        .find(|r| {
            r.kind == AssignmentKind::Grade
                && r.item_id.starts_with("itm-code")
                && r.downloaded
                && r.status == QueueStatus::New
        })
        .expect("a grade assignment");
    let opened = wb.open_item(&code.assignment_id).await.unwrap();
    assert!(!opened.views.is_empty());
    let partial = Answers::default();
    let saved = wb.save_draft(&code.assignment_id, &partial).unwrap();
    assert!(!saved.validation.ok);
    let err: AppError = wb.submit(&code.assignment_id, &partial).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid);

    // The platform's own demo grade for this opportunity (valid by its rubric).
    let answers: Answers = serde_json::from_value(assay_platform::demo::sample_answers(
        &code.opportunity_id,
        0,
    ))
    .unwrap();
    let saved = wb.save_draft(&code.assignment_id, &answers).unwrap();
    assert!(saved.validation.ok, "{:?}", saved.validation);
    let now = chrono::Utc::now();
    wb.record_time(
        &code.assignment_id,
        &assay_protocol::TimeSpan {
            started_at: now - chrono::Duration::minutes(25),
            ended_at: now - chrono::Duration::minutes(5),
            corrected: false,
        },
    )
    .unwrap();
    let log = wb.time_log(&code.assignment_id).unwrap();
    assert_eq!(log.active_seconds, 20 * 60);
    let submitted = wb.submit(&code.assignment_id, &answers).await.unwrap();
    assert_eq!(submitted.status, QueueStatus::InOutbox);
    // Submitting twice does not queue twice.
    assert!(wb.submit(&code.assignment_id, &answers).await.is_err());
    let state = wb.sync_now(|_| {}).await.unwrap();
    assert_eq!(state.pending_uploads, 0, "{state:?}");
    let opened = wb.open_item(&code.assignment_id).await.unwrap();
    assert_eq!(opened.status, QueueStatus::Submitted);

    // A senior review needs feedback to reject.
    if let Some(review) = reviews
        .rows
        .iter()
        .find(|r| r.downloaded && r.status == QueueStatus::New)
    {
        let opened = wb.open_item(&review.assignment_id).await.unwrap();
        assert_eq!(opened.kind, AssignmentKind::SeniorReview);
        assert!(
            opened.reviewed.is_some(),
            "the submission under review is shown"
        );
        let err = wb
            .review_decision(
                &review.assignment_id,
                &ReviewInput {
                    decision: ReviewDecision::Reject,
                    feedback: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Invalid);
        wb.review_decision(
            &review.assignment_id,
            &ReviewInput {
                decision: ReviewDecision::Accept,
                feedback: Some("Careful, well-argued grade.".into()),
            },
        )
        .await
        .unwrap();
        let state = wb.sync_now(|_| {}).await.unwrap();
        assert_eq!(state.pending_uploads, 0);
    }

    // Earnings come from the ledger the platform seeded.
    let overview = wb.earnings_overview(&EarningsQuery::default()).unwrap();
    assert!(overview.paid_cents + overview.accepted_cents + overview.pending_cents > 0);
    let csv = wb.earnings_csv(&EarningsQuery::default()).unwrap();
    assert!(csv.lines().count() > 1);
    assert!(events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, AppEvent::Sync { .. })));

    // Restart: a new workbench on the same data resumes the session from the
    // keyring and still has everything.
    drop(wb);
    let (wb2, _) = open(dir.path());
    let session = wb2.resume().await.unwrap();
    assert!(session.signed_in);
    let after = wb2.queue_page(&QueueFilter::default(), 0, 500).unwrap();
    assert_eq!(after.total, page.total);
    let opened = wb2.open_item(&code.assignment_id).await.unwrap();
    assert_eq!(opened.draft, answers);

    // Sign-out removes the token from the keyring; the next start is signed out.
    wb2.sign_out().await.unwrap();
    drop(wb2);
    let (wb3, _) = open(dir.path());
    assert!(!wb3.resume().await.unwrap().signed_in);
    platform.shutdown().await.unwrap();
}

/// Unpaid time: a screening task earns nothing and its time counts as
/// screening; idle waiting is recorded durably; the all-time hourly rate is
/// paid / (paid + unpaid time), checked against the platform's own ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screening_and_idle_waiting_are_unpaid_time() {
    use assay_protocol::{LedgerPage, LedgerStatus, TimeSpan};
    use chrono::{Duration, Utc};

    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (wb, _) = open(dir.path());
    wb.sign_in(&platform.base_url(), &platform.expert_token)
        .await
        .unwrap();
    wb.sync_now(|_| {}).await.unwrap();
    let page = wb.queue_page(&QueueFilter::default(), 0, 500).unwrap();
    let screening = page
        .rows
        .iter()
        .find(|r| r.kind == AssignmentKind::Screening && r.downloaded)
        .expect("a screening task in the demo queue")
        .clone();
    assert_eq!(screening.status, QueueStatus::New);
    assert_eq!(screening.pay_cents, None, "screening shows no pay");
    let grade = page
        .rows
        .iter()
        .find(|r| {
            r.kind == AssignmentKind::Grade
                && r.downloaded
                && r.status == QueueStatus::New
                && r.opportunity_id == screening.opportunity_id
        })
        .expect("a paid grade in the same opportunity")
        .clone();

    // Nothing recorded yet: no unpaid time of any kind.
    let before = wb.earnings_overview(&EarningsQuery::default()).unwrap();
    assert_eq!(before.unpaid.screening_seconds, 0);
    assert_eq!(before.unpaid.waiting_seconds, 0);

    let now = Utc::now();
    let span = |from_min: i64, to_min: i64| TimeSpan {
        started_at: now - Duration::minutes(from_min),
        ended_at: now - Duration::minutes(to_min),
        corrected: false,
    };
    let answers: Answers = serde_json::from_value(assay_platform::demo::sample_answers(
        &screening.opportunity_id,
        0,
    ))
    .unwrap();
    // 10 minutes on the screening task, 20 on the paid grade.
    wb.open_item(&screening.assignment_id).await.unwrap();
    wb.record_time(&screening.assignment_id, &span(60, 50))
        .unwrap();
    wb.save_draft(&screening.assignment_id, &answers).unwrap();
    wb.submit(&screening.assignment_id, &answers).await.unwrap();
    wb.open_item(&grade.assignment_id).await.unwrap();
    wb.record_time(&grade.assignment_id, &span(45, 25)).unwrap();
    wb.submit(&grade.assignment_id, &answers).await.unwrap();
    // Idle waiting: 15 minutes in two spans that overlap by 5 (counted once).
    wb.record_waiting(&span(120, 110)).unwrap();
    let w = wb.record_waiting(&span(115, 105)).unwrap();
    assert_eq!(w.waiting_seconds, 15 * 60);
    let err = wb.record_waiting(&span(24 * 60, 0)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid);
    let state = wb.sync_now(|_| {}).await.unwrap();
    assert_eq!(
        (state.pending_uploads, state.failed_uploads),
        (0, 0),
        "{state:?}"
    );

    // The platform decides the qualification (passed); it pays nothing.
    let screening_sub = wb
        .store()
        .latest_submission(&screening.assignment_id)
        .unwrap()
        .expect("screening submission acknowledged");
    let resp = reqwest::Client::new()
        .post(platform.api_url("/admin/outcomes"))
        .bearer_auth(&platform.admin_token)
        .json(&serde_json::json!({"submission_id": screening_sub.submission_id, "status": "accepted"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    wb.sync_now(|_| {}).await.unwrap();
    let opened = wb.open_item(&screening.assignment_id).await.unwrap();
    assert_eq!(opened.kind, AssignmentKind::Screening);
    assert_eq!(opened.status, QueueStatus::Accepted, "passed qualification");

    // The platform's ledger, read directly: the grade is paid, the screening is not.
    let ledger: LedgerPage = reqwest::Client::new()
        .get(platform.api_url("/ledger?limit=500"))
        .bearer_auth(&platform.expert_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ledger
        .entries
        .iter()
        .all(|e| e.assignment_id != screening.assignment_id));
    assert!(ledger
        .entries
        .iter()
        .any(|e| e.assignment_id == grade.assignment_id));
    let currency = "USD";
    assert!(ledger.entries.iter().all(|e| e.currency == currency));
    let earned: i64 = ledger
        .entries
        .iter()
        .filter(|e| e.status != LedgerStatus::Reversed)
        .map(|e| e.amount_cents)
        .sum();

    let o = wb.earnings_overview(&EarningsQuery::default()).unwrap();
    assert_eq!(o.currency, currency);
    assert_eq!(o.unpaid.screening_seconds, 10 * 60);
    assert_eq!(o.unpaid.waiting_seconds, 15 * 60);
    assert_eq!(o.paid_seconds, 20 * 60);
    assert_eq!(
        (
            o.unpaid.rejected_seconds,
            o.unpaid.unsubmitted_seconds,
            o.unpaid.review_seconds
        ),
        (0, 0, 0)
    );
    assert_eq!(o.pending_cents + o.accepted_cents + o.paid_cents, earned);
    let paid_time = 20 * 60;
    let all_time = paid_time + 10 * 60 + 15 * 60;
    assert_eq!(
        o.hourly_paid_time_cents,
        Some(earned * 3600 / paid_time),
        "{o:?}"
    );
    assert_eq!(
        o.hourly_all_time_cents,
        Some(earned * 3600 / all_time),
        "{o:?}"
    );
    // Filtered to one opportunity, waiting (which has none) is left out.
    let by_opp = wb
        .earnings_overview(&EarningsQuery {
            opportunity_id: Some(screening.opportunity_id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_opp.unpaid.screening_seconds, 10 * 60);
    assert_eq!(by_opp.unpaid.waiting_seconds, 0);
    // A passed qualification is not a pay discrepancy.
    assert!(wb
        .discrepancies()
        .unwrap()
        .iter()
        .all(|d| d.assignment_id != screening.assignment_id));

    // Waiting spans survive a restart.
    drop(wb);
    let (wb2, _) = open(dir.path());
    let o2 = wb2.earnings_overview(&EarningsQuery::default()).unwrap();
    assert_eq!(o2.unpaid.waiting_seconds, 15 * 60);
    wb2.resume().await.unwrap();
    wb2.sign_out().await.unwrap();
    platform.shutdown().await.unwrap();
}
