//! The app's use cases against a real reference platform on loopback, with
//! the token in a real Secret Service (CI runs tests inside `dbus-run-session`
//! with an unlocked gnome-keyring; see `cargo xtask test`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::sync::{Arc, Mutex};

use assay_app::views::FieldView;
use assay_app::{
    AppError, AppEvent, EarningsQuery, ErrorCode, QueueFilter, ReviewInput, ScriptedDialogs,
    Workbench,
};
use assay_protocol::{AssignmentKind, FieldValue, ReviewDecision};
use assay_rubric::Answers;
use assay_store::QueueStatus;

#[path = "support/queue.rs"]
mod queue_rows;
use queue_rows::is_new_grade;

#[path = "support/expert_api.rs"]
mod expert_api;
use expert_api::expert_json;
use reqwest::Method;

mod app {
    mod save_path;
    mod security;
    mod stuck_pull;
}

/// Signs `wb` in to the platform as its demo reviewer, syncs, and returns
/// the first queue page.
async fn sign_in_and_sync(
    wb: &Workbench,
    platform: &assay_platform::testing::TestPlatform,
) -> assay_app::types::QueuePage {
    wb.sign_in(&platform.base_url(), &platform.expert_token)
        .await
        .unwrap();
    wb.sync_now(|_| {}).await.unwrap();
    wb.queue_page(&QueueFilter::default(), 0, 500).unwrap()
}

/// A demo code review, downloaded and not yet started.
fn is_new_code_review(r: &assay_app::types::QueueEntry) -> bool {
    r.item_id.starts_with("itm-review") && is_new_grade(r)
}

/// The first new code review in `wb`'s queue (see [`is_new_code_review`]).
fn new_code_review(wb: &Workbench) -> assay_app::types::QueueEntry {
    wb.queue_page(&QueueFilter::default(), 0, 500)
        .unwrap()
        .rows
        .into_iter()
        .find(is_new_code_review)
        .expect("a new code review")
}

fn profile() -> String {
    format!("dev.assay.desktop.test-app-{}", std::process::id())
}

/// The first sync-bar state told from event `from` on that `want`s, within `secs`.
async fn told(
    events: &Mutex<Vec<AppEvent>>,
    from: usize,
    secs: u64,
    want: impl Fn(&assay_app::types::SyncState) -> bool,
) -> assay_app::types::SyncState {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let found = events.lock().unwrap()[from..].iter().find_map(|e| match e {
            AppEvent::Sync { state } if want(state) => Some(state.clone()),
            _ => None,
        });
        if let Some(state) = found {
            return state;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not told within {secs}s: {:?}",
            events.lock().unwrap()[from..]
                .iter()
                .filter(|e| matches!(e, AppEvent::Sync { .. }))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The app with dialogs answered as `dialogs` says (a person confirming a
/// sign-in to one URL, picking given files).
fn open_with(
    dir: &std::path::Path,
    dialogs: Arc<ScriptedDialogs>,
) -> (Workbench, Arc<Mutex<Vec<AppEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let wb = Workbench::open(
        &profile(),
        dir,
        Arc::new(move |e| sink.lock().unwrap().push(e)),
        dialogs,
    )
    .unwrap();
    (wb, events)
}

/// The app as a person would use it who confirms a sign-in to `confirm`.
fn open(dir: &std::path::Path, confirm: Option<String>) -> (Workbench, Arc<Mutex<Vec<AppEvent>>>) {
    open_with(
        dir,
        Arc::new(ScriptedDialogs {
            confirm_sign_in: confirm,
            ..Default::default()
        }),
    )
}

/// The app of a rubric author who picks `rubric` and the samples folder
/// `samples` in the dialogs.
fn open_author(
    dir: &std::path::Path,
    rubric: &std::path::Path,
    samples: &std::path::Path,
) -> (Workbench, Arc<Mutex<Vec<AppEvent>>>) {
    open_with(
        dir,
        Arc::new(ScriptedDialogs {
            rubric_file: Some(rubric.to_path_buf()),
            samples_folder: Some(samples.to_path_buf()),
            ..Default::default()
        }),
    )
}

/// A seeded reference platform and, in a fresh directory, the app of a
/// person who confirms a sign-in to it.
async fn seeded_app() -> (
    assay_platform::testing::TestPlatform,
    tempfile::TempDir,
    Workbench,
    Arc<Mutex<Vec<AppEvent>>>,
) {
    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (wb, events) = open(dir.path(), Some(platform.base_url()));
    (platform, dir, wb, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sync_grade_submit_restart() {
    let (platform, dir, wb, events) = seeded_app().await;
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
    // Every row is named, downloaded or not (the feed carries item titles).
    assert!(
        page.rows.iter().all(|r| !r.title.is_empty()),
        "untitled rows: {:?}",
        page.rows
            .iter()
            .filter(|r| r.title.is_empty())
            .map(|r| &r.item_id)
            .collect::<Vec<_>>()
    );
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
    let raw: assay_protocol::ItemEnvelope =
        expert_json(&platform, Method::GET, &format!("/items/{}", pair.item_id)).await;
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
    for prefix in [
        "itm-scan",
        "itm-series",
        "itm-legal",
        "itm-review",
        "itm-code",
    ] {
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
                FieldView::Series { handle, series, .. } => {
                    // The demo series: 40 slices synced as 40 attachments
                    // listed by file name, ordered by position, 2.5 mm apart.
                    assert_eq!(series.stacks.len(), 1, "{:?}", series.warnings);
                    let stack = &series.stacks[0];
                    assert_eq!(stack.slices, 40);
                    assert!(stack.warnings.is_empty(), "{:?}", stack.warnings);
                    assert_eq!(stack.spacing_mm, Some(2.5));
                    assert!(stack.positions_mm.windows(2).all(|w| w[1] - w[0] == 2.5));
                    let stack_handle = format!("{handle}#0");
                    for k in [0, 39, 20] {
                        let frame = wb
                            .scan_frame(&stack_handle, k, stack.info.default_window)
                            .unwrap();
                        assert_eq!(frame.frame, k);
                        assert!(frame.data_url.starts_with("data:image/png;base64,"));
                    }
                    let px = wb.scan_pixel(&stack_handle, 39, 0, 0).unwrap();
                    assert!(
                        (-1013.0..=-987.0).contains(&px.value),
                        "air in the corner, in HU: {}",
                        px.value
                    );
                    assert_eq!(px.unit.as_deref(), Some("HU"));
                    assert!(wb
                        .scan_frame(&stack_handle, 40, stack.info.default_window)
                        .is_err());
                    assert!(wb
                        .scan_frame(&format!("{handle}#1"), 0, stack.info.default_window)
                        .is_err());
                    kinds.insert("series");
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
        kinds.contains("scan")
            && kinds.contains("series")
            && kinds.contains("legal")
            && kinds.contains("diff"),
        "{kinds:?}"
    );

    // Grade a code item: an incomplete grade is kept as a draft but refused.
    let code = page
        .rows
        .iter()
        .find(|r| is_new_grade(r) && r.item_id.starts_with("itm-code"))
        .expect("a grade assignment");
    let opened = wb.open_item(&code.assignment_id).await.unwrap();
    assert!(!opened.views.is_empty());
    // The guidelines arrive rendered (markdown as a block tree), not as source.
    assert!(
        matches!(
            opened.guidelines.first(),
            Some(assay_render::markdown::Block::Heading { .. })
        ),
        "{:?}",
        opened.guidelines.first()
    );
    let partial = Answers::default();
    let saved = wb.save_draft(&code.assignment_id, &partial, None).unwrap();
    assert!(!saved.validation.ok);
    let err: AppError = wb.submit(&code.assignment_id, &partial).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid);

    // The platform's own demo grade for this opportunity (valid by its rubric).
    let answers: Answers = serde_json::from_value(assay_platform::demo::sample_answers(
        &code.opportunity_id,
        0,
    ))
    .unwrap();
    let saved = wb.save_draft(&code.assignment_id, &answers, None).unwrap();
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
        // The rule the UI shows (`RULES.review_feedback_min_chars`): short
        // feedback is refused by Rust too, and nothing is queued.
        let min = assay_app::rules::rules().review_feedback_min_chars as usize;
        let short = "x".repeat(min - 1);
        let err = wb
            .review_decision(
                &review.assignment_id,
                &ReviewInput {
                    decision: ReviewDecision::RequestRevision,
                    feedback: Some(format!("  {short}  ")),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
        assert!(err.message.contains(&format!("at least {min}")), "{err:?}");
        assert_eq!(wb.sync_state().await.unwrap().pending_uploads, 0);
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
    let a = overview.amounts;
    assert!(a.paid_cents + a.accepted_cents + a.pending_cents > 0);
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
    let (wb2, _) = open(dir.path(), Some(platform.base_url()));
    let session = wb2.resume().await.unwrap();
    assert!(session.signed_in);
    let after = wb2.queue_page(&QueueFilter::default(), 0, 500).unwrap();
    assert_eq!(after.total, page.total);
    let opened = wb2.open_item(&code.assignment_id).await.unwrap();
    assert_eq!(opened.draft, answers);

    // Sign-out removes the token from the keyring; the next start is signed out.
    wb2.sign_out().await.unwrap();
    drop(wb2);
    let (wb3, _) = open(dir.path(), Some(platform.base_url()));
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

    let (platform, dir, wb, _events) = seeded_app().await;
    let page = sign_in_and_sync(&wb, &platform).await;
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
        .find(|r| is_new_grade(r) && r.opportunity_id == screening.opportunity_id)
        .expect("a paid grade in the same opportunity")
        .clone();

    // Nothing recorded yet: no screening or waiting time. The seeded history
    // was graded "on another device": its time is what each submission
    // reported, as the platform's outcome feed says.
    let before = wb.earnings_overview(&EarningsQuery::default()).unwrap();
    assert_eq!(before.unpaid.screening_seconds, 0);
    assert_eq!(before.unpaid.waiting_seconds, 0);
    let outcomes: assay_protocol::OutcomePage =
        expert_json(&platform, Method::GET, "/outcomes?limit=500").await;
    assert!(!outcomes.has_more);
    let history: LedgerPage = expert_json(&platform, Method::GET, "/ledger?limit=500").await;
    let earning: std::collections::HashSet<&str> = history
        .entries
        .iter()
        .filter(|e| e.status != LedgerStatus::Reversed)
        .map(|e| e.assignment_id.as_str())
        .collect();
    let history_paid: u64 = outcomes
        .outcomes
        .iter()
        .filter(|o| earning.contains(o.assignment_id.as_str()))
        .map(|o| o.active_seconds)
        .sum();
    assert!(history_paid > 0);
    assert_eq!(before.paid_seconds, history_paid, "{before:?}");

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
    wb.save_draft(&screening.assignment_id, &answers, None)
        .unwrap();
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
    // The bound is one rule (`RULES.time_span_max_s`, the store's): a span
    // exactly that long is refused, recorded or waiting.
    let max = i64::from(assay_app::rules::rules().time_span_max_s);
    let exact = TimeSpan {
        started_at: now - Duration::seconds(max),
        ended_at: now,
        corrected: false,
    };
    let err = wb.record_waiting(&exact).unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    let err = wb.record_time(&grade.assignment_id, &exact).unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    // The editor is told the same words the store refuses with.
    assert_eq!(
        wb.check_time_log(&[exact.clone(), span(60, 50)]).problems,
        vec![Some(err.message.clone()), None]
    );
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
    let body =
        serde_json::json!({"submission_id": screening_sub.submission_id, "status": "accepted"});
    admin_post(&platform, "/admin/outcomes", body).await;
    wb.sync_now(|_| {}).await.unwrap();
    let opened = wb.open_item(&screening.assignment_id).await.unwrap();
    assert_eq!(opened.kind, AssignmentKind::Screening);
    assert_eq!(opened.status, QueueStatus::Accepted, "passed qualification");

    // The platform's ledger, read directly: the grade is paid, the screening is not.
    let ledger: LedgerPage = expert_json(&platform, Method::GET, "/ledger?limit=500").await;
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
    assert_eq!(o.paid_seconds, before.paid_seconds + 20 * 60);
    assert_eq!(
        (
            o.unpaid.rejected_seconds,
            o.unpaid.unsubmitted_seconds,
            o.unpaid.review_seconds
        ),
        (
            before.unpaid.rejected_seconds,
            before.unpaid.unsubmitted_seconds,
            before.unpaid.review_seconds
        )
    );
    let a = o.amounts;
    assert_eq!(a.pending_cents + a.accepted_cents + a.paid_cents, earned);
    let paid_time = i64::try_from(o.paid_seconds).unwrap();
    let all_time = paid_time
        + i64::try_from(
            before.unpaid.rejected_seconds
                + before.unpaid.unsubmitted_seconds
                + before.unpaid.review_seconds,
        )
        .unwrap()
        + 10 * 60
        + 15 * 60;
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
    let (wb2, _) = open(dir.path(), Some(platform.base_url()));
    let o2 = wb2.earnings_overview(&EarningsQuery::default()).unwrap();
    assert_eq!(o2.unpaid.waiting_seconds, 15 * 60);
    wb2.resume().await.unwrap();
    wb2.sign_out().await.unwrap();
    platform.shutdown().await.unwrap();
}

/// A grey 8-bit PNG whose pixel (x, y) is `x * 10 + y`.
fn grey_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let data: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x * 10 + y) as u8))
        .collect();
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&data).unwrap();
    w.finish().unwrap();
    out
}

#[test]
fn preview_shows_sample_attachments_from_the_samples_folder() {
    let dir = tempfile::tempdir().unwrap();
    let samples = tempfile::tempdir().unwrap();
    let rubric = serde_json::json!({
        "id": "scan-preview", "version": 1, "title": "Scan preview",
        "guidelines": "Look at the film.",
        "payout": {"basis": "per_item", "amount_cents": 100, "currency": "USD"},
        "fields": [
            {"id": "film", "label": "Film", "viewer": "scan"},
            {"id": "other", "label": "Other film", "viewer": "scan"},
            {"id": "wrong", "label": "Mislabelled film", "viewer": "scan"}
        ],
        "questions": [{"id": "q", "prompt": "Normal?", "type": "scale", "min": 1, "max": 5,
            "anchors": [{"value": 1, "label": "no"}, {"value": 5, "label": "yes"}]}]
    });
    let rubric_path = samples.path().join("rubric.json");
    std::fs::write(&rubric_path, serde_json::to_vec(&rubric).unwrap()).unwrap();
    let items = samples.path().join("items");
    std::fs::create_dir_all(items.join("films")).unwrap();
    let film = grey_png(8, 6);
    std::fs::write(items.join("films/chest.png"), &film).unwrap();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&film));
    let att = |name: &str, sha: &str| {
        serde_json::json!({"type": "attachment", "value": {
            "sha256": sha, "size": film.len(), "media_type": "image/png", "filename": name}})
    };
    let item = serde_json::json!({
        "id": "itm-film", "opportunity_id": "opp", "title": "Chest film",
        "created_at": "2026-11-24T00:00:00Z",
        "fields": {
            "film": att("films/chest.png", &sha),
            "other": att("../rubric.json", ""),
            "wrong": att("films/chest.png", &"0".repeat(64)),
        }
    });
    std::fs::write(items.join("film.json"), serde_json::to_vec(&item).unwrap()).unwrap();

    // The author picks the rubric and the samples folder in the dialogs.
    let (wb, _events) = open_author(dir.path(), &rubric_path, &items);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(wb.preview_choose_rubric()).unwrap();
    rt.block_on(wb.preview_choose_samples()).unwrap();
    let state = wb.preview_open().unwrap();
    // The path leaving the samples folder is a lint warning, not a read.
    let warn = state
        .findings
        .iter()
        .find(|f| f.code == "sample-attachment-unavailable")
        .expect("a warning for the attachment outside the folder");
    assert!(warn.message.contains("other"), "{}", warn.message);
    let opened = wb.preview_item("itm-film").unwrap();
    let mut seen = 0;
    for view in &opened.views {
        match view {
            FieldView::Scan {
                field_id,
                handle,
                info,
            } => {
                assert_eq!(field_id, "film");
                assert_eq!((info.width, info.height, info.frames), (8, 6, 1));
                let frame = wb.scan_frame(handle, 0, info.default_window).unwrap();
                assert!(frame.data_url.starts_with("data:image/png;base64,"));
                let px = wb.scan_pixel(handle, 0, 3, 2).unwrap();
                assert_eq!(px.value, 32.0);
                seen += 1;
            }
            FieldView::Error { field_id, message } if field_id == "other" => {
                assert!(message.contains("samples folder"), "{message}");
                seen += 1;
            }
            FieldView::Error { field_id, message } if field_id == "wrong" => {
                // The actual hash is given so the author can fix the sample.
                assert!(message.contains(&sha), "{message}");
                seen += 1;
            }
            other => panic!("unexpected view {other:?}"),
        }
    }
    assert_eq!(seen, 3);
}

fn comment_at(id: &str, side: assay_rubric::DiffSide, line: u32) -> assay_rubric::Annotation {
    assay_rubric::Annotation {
        comment: format!("comment {id}: keep this text"),
        ..assay_rubric::Annotation::on_diff_line(id, "diff", "svc.py", side, line, None)
    }
}

/// Posts `body` to the platform's admin API at `path`, which must accept it.
async fn admin_post(
    platform: &assay_platform::testing::TestPlatform,
    path: &str,
    body: serde_json::Value,
) {
    let res = reqwest::Client::new()
        .post(platform.api_url(path))
        .bearer_auth(&platform.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{:?}", res.text().await);
}

async fn republish_diff(platform: &assay_platform::testing::TestPlatform, item: &str, diff: &str) {
    let body = serde_json::json!({"fields": {"diff": {"type": "text", "value": diff}}});
    admin_post(platform, &format!("/admin/items/{item}/content"), body).await;
}

/// Diff comments survive the platform re-publishing the item with a changed
/// diff: comments move with their lines, a comment whose line is gone is
/// outdated with its text intact, and the moved positions are saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_comments_follow_their_lines_across_a_resync() {
    use assay_app::anchors::PlacementStatus;
    use assay_rubric::{AnnotationAnchor, Answer, DiffSide};

    const V1: &str = "diff --git a/svc.py b/svc.py\n--- a/svc.py\n+++ b/svc.py\n\
@@ -1,5 +1,5 @@\n import os\n-def load(path):\n+def load(path, mode=\"r\"):\n     data = open(path).read()\n\
-    return data\n+    return data.strip()\n # end\n";
    // Three lines inserted above; the commented `def load(path, mode="r"):`
    // is gone (changed again).
    const V2: &str = "diff --git a/svc.py b/svc.py\n--- a/svc.py\n+++ b/svc.py\n\
@@ -1,8 +1,8 @@\n # header 1\n # header 2\n # header 3\n import os\n-def load(path):\n\
+def load(path, mode=\"rb\"):\n     data = open(path).read()\n-    return data\n+    return data.strip()\n # end\n";

    let (platform, dir, wb, _events) = seeded_app().await;
    sign_in_and_sync(&wb, &platform).await;
    let row = new_code_review(&wb);

    // The platform re-publishes the item with our v1 diff; sync re-fetches it.
    republish_diff(&platform, &row.item_id, V1).await;
    wb.sync_now(|_| {}).await.unwrap();
    let opened = wb.open_item(&row.assignment_id).await.unwrap();
    let diff_text = opened
        .item
        .fields
        .iter()
        .find(|f| f.id == "diff")
        .map(|f| f.value.clone());
    assert_eq!(diff_text, Some(FieldValue::Text(V1.into())));

    // Comments on an old-side line, a new-side line, and a line that goes away.
    let mut answers = Answers::default();
    answers.answers.insert(
        "comments".into(),
        Answer::Annotations {
            items: vec![
                comment_at("old2", DiffSide::Old, 2),
                comment_at("new4", DiffSide::New, 4),
                comment_at("gone", DiffSide::New, 2),
            ],
        },
    );
    wb.save_draft(&row.assignment_id, &answers, None).unwrap();
    let opened = wb.open_item(&row.assignment_id).await.unwrap();
    assert!(
        opened
            .comments
            .iter()
            .all(|c| c.status == PlacementStatus::Exact),
        "{:?}",
        opened.comments
    );
    let Some(Answer::Annotations { items }) = opened.draft.answers.get("comments") else {
        panic!("{:?}", opened.draft)
    };
    assert!(
        items.iter().all(|a| matches!(
            &a.anchor,
            AnnotationAnchor::DiffLine { line_hash: Some(h), .. } if !h.is_empty()
        )),
        "the app fills line hashes on save: {items:?}"
    );
    let revision_before = opened.draft_revision;

    // The platform changes the diff; the next sync pulls the new version.
    republish_diff(&platform, &row.item_id, V2).await;
    wb.sync_now(|_| {}).await.unwrap();
    let opened = wb.open_item(&row.assignment_id).await.unwrap();
    let by_id = |id: &str| {
        opened
            .comments
            .iter()
            .find(|c| c.annotation_id == id)
            .unwrap_or_else(|| panic!("{id} missing: {:?}", opened.comments))
            .clone()
    };
    let old2 = by_id("old2");
    assert_eq!(
        (old2.status, old2.line, old2.previous_line),
        (PlacementStatus::Moved, Some(5), 2)
    );
    let new4 = by_id("new4");
    assert_eq!(
        (new4.status, new4.line, new4.previous_line),
        (PlacementStatus::Moved, Some(7), 4)
    );
    let gone = by_id("gone");
    assert_eq!((gone.status, gone.line), (PlacementStatus::Outdated, None));
    // The draft now names the new lines, and was saved durably.
    assert!(opened.draft_revision > revision_before);
    let Some(Answer::Annotations { items }) = opened.draft.answers.get("comments") else {
        panic!()
    };
    let line_of = |id: &str| match &items.iter().find(|a| a.id == id).unwrap().anchor {
        AnnotationAnchor::DiffLine { line, .. } => *line,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (line_of("old2"), line_of("new4"), line_of("gone")),
        (5, 7, 2)
    );
    assert_eq!(
        items.iter().find(|a| a.id == "gone").unwrap().comment,
        "comment gone: keep this text"
    );

    // After a restart the moved comments are exact; the outdated one stays.
    drop(wb);
    let (wb, _events) = open(dir.path(), Some(platform.base_url()));
    wb.resume().await.unwrap();
    let reopened = wb.open_item(&row.assignment_id).await.unwrap();
    let statuses: Vec<(String, PlacementStatus)> = reopened
        .comments
        .iter()
        .map(|c| (c.annotation_id.clone(), c.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("old2".into(), PlacementStatus::Exact),
            ("new4".into(), PlacementStatus::Exact),
            ("gone".into(), PlacementStatus::Outdated),
        ]
    );
    assert_eq!(reopened.draft_revision, opened.draft_revision);

    // The platform accepts a grade whose comments carry line hashes.
    let mut grade: Answers =
        serde_json::from_value(assay_platform::demo::sample_answers(&row.opportunity_id, 0))
            .unwrap();
    grade.answers.insert(
        "comments".into(),
        reopened.draft.answers["comments"].clone(),
    );
    wb.submit(&row.assignment_id, &grade).await.unwrap();
    let state = wb.sync_now(|_| {}).await.unwrap();
    assert_eq!(
        (state.pending_uploads, state.failed_uploads),
        (0, 0),
        "{state:?}"
    );
    assert_eq!(
        wb.item_status(&row.assignment_id).unwrap(),
        QueueStatus::Submitted
    );
    wb.sign_out().await.unwrap();
    platform.shutdown().await.unwrap();
}

/// A senior decides `submission_id` on the platform (`status`, with
/// `feedback`); `wb` syncs and opens assignment `id` again.
async fn decided(
    wb: &Workbench,
    platform: &assay_platform::testing::TestPlatform,
    submission_id: &str,
    status: &str,
    feedback: Option<&str>,
    id: &str,
) -> assay_app::OpenedItem {
    let body =
        serde_json::json!({"submission_id": submission_id, "status": status, "feedback": feedback});
    admin_post(platform, "/admin/outcomes", body).await;
    wb.sync_now(|_| {}).await.unwrap();
    wb.open_item(id).await.unwrap()
}

/// The whole life of a grade: a begun comment is kept with the draft and
/// blocks submitting; submitted work is read-only in Rust (typed error,
/// nothing written); a senior's "needs revision" re-opens it pre-filled from
/// the submission with the feedback; the resubmission uploads as a new
/// version and, accepted, shows its pay; a rejection shows its feedback and
/// the pay lost; finished work never downloaded opens (fetched on open, or
/// what the store has with an honest notice when the platform is gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_resubmission_outcomes_and_read_only_finished_work() {
    use assay_protocol::{LedgerStatus, OutcomeStatus};
    use assay_rubric::{AnnotationAnchor, Answer, DiffSide};
    use assay_store::PendingAnnotation;

    let (platform, dir, wb, _events) = seeded_app().await;
    let page = sign_in_and_sync(&wb, &platform).await;
    let new_reviews: Vec<_> = page
        .rows
        .iter()
        .filter(|r| is_new_code_review(r))
        .cloned()
        .collect();
    assert!(
        new_reviews.len() >= 2,
        "{} new code reviews",
        new_reviews.len()
    );
    let row = &new_reviews[0];
    let id = row.assignment_id.as_str();
    let answers: Answers =
        serde_json::from_value(assay_platform::demo::sample_answers(&row.opportunity_id, 1))
            .unwrap();

    // A comment typed but not added is part of the durable draft...
    let begun = PendingAnnotation {
        field: "diff".into(),
        anchor: AnnotationAnchor::DiffLine {
            file: "internal/fetch/client.go".into(),
            side: DiffSide::New,
            line: 50,
            line_hash: None,
        },
        severity: Some("minor".into()),
        comment: "half a thought".into(),
    };
    let saved = wb
        .save_draft(id, &answers, Some(std::slice::from_ref(&begun)))
        .unwrap();
    assert!(saved.validation.ok, "{:?}", saved.validation);
    assert_eq!(
        saved.status,
        QueueStatus::Ready,
        "the save returns the new state"
    );
    drop(wb);
    let (wb, _events) = open(dir.path(), Some(platform.base_url()));
    wb.resume().await.unwrap();
    let opened = wb.open_item(id).await.unwrap();
    assert_eq!(opened.pending, vec![begun.clone()], "kept across a restart");
    assert!(opened.editable && !opened.revision);
    // ...and submitting with it still open is refused, losing nothing.
    let err = wb.submit(id, &answers).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    assert!(err.message.contains("not added"), "{err:?}");
    wb.save_draft(id, &answers, Some(&[][..])).unwrap();
    let now = chrono::Utc::now();
    wb.record_time(
        id,
        &assay_protocol::TimeSpan {
            started_at: now - chrono::Duration::minutes(30),
            ended_at: now - chrono::Duration::minutes(10),
            corrected: false,
        },
    )
    .unwrap();
    wb.submit(id, &answers).await.unwrap();

    // Rust decides read-only: a late save is refused with a typed error and
    // nothing is written; a second submit likewise.
    let mut late = answers.clone();
    late.rationales.insert("summary".into(), "late edit".into());
    let err = wb.save_draft(id, &late, None).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotEditable, "{err:?}");
    assert!(wb.store().draft(id).unwrap().is_none(), "nothing written");
    let err = wb.submit(id, &late).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotEditable, "{err:?}");
    let state = wb.sync_now(|_| {}).await.unwrap();
    assert_eq!(state.pending_uploads, 0, "{state:?}");

    // Submitted work opens read-only with what was submitted.
    let opened = wb.open_item(id).await.unwrap();
    assert_eq!(opened.status, QueueStatus::Submitted);
    assert!(!opened.editable);
    assert_eq!(opened.draft, answers);
    let sub = opened.submission.clone().expect("the submission is shown");
    assert_eq!(sub.answers.as_ref(), Some(&answers));
    assert_eq!(sub.outcome, Some(OutcomeStatus::Pending));
    assert!(
        sub.summary
            .iter()
            .any(|s| s.question_id == "decision" && s.answer == "Request changes"),
        "labels, not ids: {:?}",
        sub.summary
    );
    assert!(
        sub.pay
            .iter()
            .any(|p| p.status == LedgerStatus::Pending && p.amount_cents > 0),
        "{:?}",
        sub.pay
    );
    let first_submission = sub.submission_id.clone().unwrap();

    // A senior sends it back: it reopens as a revision pre-filled from the
    // submission (answers, rationales, comments) with the feedback.
    let feedback = Some("Say why the retry loop is unsafe.");
    let opened = decided(
        &wb,
        &platform,
        &first_submission,
        "needs_revision",
        feedback,
        id,
    )
    .await;
    assert_eq!(opened.status, QueueStatus::NeedsRevision);
    assert!(opened.editable && opened.revision);
    assert_eq!(opened.draft, answers, "pre-filled from the submission");
    assert!(matches!(
        opened.draft.answers.get("comments"),
        Some(Answer::Annotations { items }) if !items.is_empty()
    ));
    assert_eq!(opened.feedback.as_deref(), feedback);
    let sub = opened.submission.clone().unwrap();
    assert_eq!(sub.outcome, Some(OutcomeStatus::NeedsRevision));
    assert!(sub.pay.iter().any(|p| p.status == LedgerStatus::Reversed));

    // The resubmission uploads as a new version and the platform takes it.
    let mut revised = opened.draft.clone();
    revised.rationales.insert(
        "decision".into(),
        "The retry loop ignores ctx cancellation: it can sleep the full backoff after the caller gave up."
            .into(),
    );
    let saved = wb.save_draft(id, &revised, None).unwrap();
    assert_eq!(
        saved.status,
        QueueStatus::NeedsRevision,
        "still the revision"
    );
    assert!(saved.validation.ok);
    wb.submit(id, &revised).await.unwrap();
    let state = wb.sync_now(|_| {}).await.unwrap();
    assert_eq!(state.pending_uploads, 0);
    assert_eq!(state.failed_uploads, 0, "{state:?}");
    let opened = wb.open_item(id).await.unwrap();
    assert_eq!(opened.status, QueueStatus::Submitted);
    let second = opened.submission.clone().unwrap();
    assert_ne!(
        second.submission_id.as_deref(),
        Some(first_submission.as_str())
    );
    assert_eq!(second.answers.as_ref(), Some(&revised));

    // Accepted: read-only, with the pay it earned.
    let accepted_before = wb
        .earnings_overview(&EarningsQuery::default())
        .unwrap()
        .amounts
        .accepted_cents;
    let second_submission = second.submission_id.as_deref().unwrap();
    let opened = decided(&wb, &platform, second_submission, "accepted", None, id).await;
    assert_eq!(opened.status, QueueStatus::Accepted);
    assert!(!opened.editable && !opened.revision);
    // Finished work has no deadlines to run out (no overdue / lease timers).
    assert_eq!((opened.due_at, opened.lease_expires_at), (None, None));
    let sub = opened.submission.unwrap();
    let earned = sub
        .pay
        .iter()
        .find(|p| p.status == LedgerStatus::Accepted)
        .expect("accepted pay");
    assert!(earned.amount_cents > 0);
    let accepted_after = wb
        .earnings_overview(&EarningsQuery::default())
        .unwrap()
        .amounts
        .accepted_cents;
    assert_eq!(accepted_after - accepted_before, earned.amount_cents);

    // Rejected: feedback and the pay lost are shown.
    let other = new_reviews[1].assignment_id.as_str();
    let answers: Answers = serde_json::from_value(assay_platform::demo::sample_answers(
        &new_reviews[1].opportunity_id,
        0,
    ))
    .unwrap();
    wb.submit(other, &answers).await.unwrap();
    wb.sync_now(|_| {}).await.unwrap();
    let sid = wb
        .open_item(other)
        .await
        .unwrap()
        .submission
        .unwrap()
        .submission_id
        .unwrap();
    let feedback = Some("The comment misreads the diff.");
    let opened = decided(&wb, &platform, &sid, "rejected", feedback, other).await;
    assert_eq!(opened.status, QueueStatus::Rejected);
    assert!(!opened.editable);
    assert_eq!(opened.draft, answers);
    let sub = opened.submission.unwrap();
    assert_eq!(sub.feedback.as_deref(), feedback);
    assert!(sub.pay.iter().all(|p| p.status == LedgerStatus::Reversed) && !sub.pay.is_empty());

    // Another device (a fresh data dir) shows the same finished work with
    // the submitted answers: the platform serves its copy with the item.
    let other_dir = tempfile::tempdir().unwrap();
    let (laptop, _) = open(other_dir.path(), Some(platform.base_url()));
    laptop
        .sign_in(&platform.base_url(), &platform.expert_token)
        .await
        .unwrap();
    laptop.sync_now(|_| {}).await.unwrap();
    let there = laptop.open_item(id).await.unwrap();
    assert_eq!(there.status, QueueStatus::Accepted);
    assert_eq!(there.draft, revised, "the platform's copy of the answers");
    assert_eq!(
        there.submission.as_ref().and_then(|s| s.answers.clone()),
        Some(revised.clone())
    );
    drop(laptop);

    // Finished work this machine never downloaded is fetched on open...
    let page = wb.queue_page(&QueueFilter::default(), 0, 500).unwrap();
    let undownloaded: Vec<_> = page
        .rows
        .iter()
        .filter(|r| {
            !r.downloaded
                && matches!(r.status, QueueStatus::Accepted | QueueStatus::Rejected)
                && r.kind == AssignmentKind::Grade
        })
        .cloned()
        .collect();
    assert!(undownloaded.len() >= 2, "{undownloaded:?}");
    let opened = wb.open_item(&undownloaded[0].assignment_id).await.unwrap();
    assert!(opened.notice.is_none(), "{:?}", opened.notice);
    assert!(!opened.views.is_empty());
    assert!(!opened.editable);
    assert!(opened.submission.is_some(), "its outcome is shown");
    // ...and with the platform gone, what the store has opens with an honest
    // notice (not an error, not "sync when online" as if nothing were known).
    platform.shutdown().await.unwrap();
    let opened = wb.open_item(&undownloaded[1].assignment_id).await.unwrap();
    let notice = opened.notice.clone().expect("a notice");
    assert!(notice.contains("can't be reached"), "{notice}");
    assert!(opened.views.is_empty());
    assert!(!opened.item.title.is_empty());
    assert!(opened.submission.is_some());
}

/// First sign-in: a refused token and an unreachable URL each say what is
/// wrong (no "sign in again", no "your work is kept": there is no work yet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sign_in_names_a_refused_token_and_an_unreachable_url() {
    let (platform, _dir, wb, _events) = seeded_app().await;
    wb.resume().await.unwrap();

    let err = wb
        .sign_in(&platform.base_url(), "wrong-token")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthenticated, "{err:?}");
    assert!(
        err.message.contains("refused this access token")
            && err.message.contains("wrong, expired or revoked"),
        "{err:?}"
    );

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    // The person confirms that address (each sign-in is confirmed per URL).
    let other = tempfile::tempdir().unwrap();
    let (wb2, _) = open(other.path(), Some(url.clone()));
    wb2.resume().await.unwrap();
    let err = wb2.sign_in(&url, "any-token").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Offline, "{err:?}");
    assert!(
        err.message.starts_with(&format!("Cannot reach {url}")),
        "{err:?}"
    );
    assert!(!err.message.contains("work is kept"), "{err:?}");
    assert!(!wb.session().await.unwrap().signed_in);
    assert!(!wb2.session().await.unwrap().signed_in);
    platform.shutdown().await.unwrap();
}

/// The background sync tells screens when it changed stored data: after the
/// first sync the data version has risen (the queue reloads and shows the
/// downloaded items), and a sync that brings nothing new leaves it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_that_change_data_raise_the_data_version() {
    let (platform, _dir, wb, events) = seeded_app().await;
    wb.resume().await.unwrap();
    wb.sign_in(&platform.base_url(), &platform.expert_token)
        .await
        .unwrap();
    let first = told(&events, 0, 60, |s| s.last_sync_at.is_some() && !s.syncing).await;
    assert!(first.data_version > 0, "{first:?}");
    let page = wb.queue_page(&QueueFilter::default(), 0, 500).unwrap();
    assert!(page.rows.iter().any(|r| r.downloaded));
    let again = wb.sync_now(|_| {}).await.unwrap();
    assert_eq!(
        again.data_version, first.data_version,
        "nothing new: {again:?}"
    );
    wb.sign_out().await.unwrap();
    platform.shutdown().await.unwrap();
}

/// The earnings CSV goes to the file the reviewer picked (the save dialog's
/// answer), whole or not at all, and says where it went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earnings_csv_is_written_to_the_picked_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (wb, _) = open(&data, None);
    let out = dir.path().join("exports").join("my earnings.csv");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, "old contents").unwrap();
    let done = wb
        .export_earnings_csv(&EarningsQuery::default(), &out)
        .unwrap();
    assert_eq!(done.path, out.display().to_string());
    assert_eq!(done.rows, 0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("entry_id,created_at,"), "{text}");
    assert_eq!(done.bytes, text.len() as u64);
    // Nothing else was left beside it (no temporary file).
    let names: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // A folder is not a file: refused, named, nothing written.
    let err = wb
        .export_earnings_csv(&EarningsQuery::default(), out.parent().unwrap())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    assert!(err.message.contains("is a folder"), "{err:?}");
    // A folder that does not exist: a clear storage error.
    let err = wb
        .export_earnings_csv(&EarningsQuery::default(), &dir.path().join("missing/x.csv"))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Storage, "{err:?}");
    assert!(err.message.contains("missing"), "{err:?}");
}

/// The rubric preview reloads once per save (editors write a file in several
/// steps), and a rubric that stops parsing keeps the last good render with
/// the error on top until it is fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_reloads_once_per_save_and_keeps_the_last_good_render() {
    let dir = tempfile::tempdir().unwrap();
    let samples = tempfile::tempdir().unwrap();
    let rubric_path = samples.path().join("rubric.toml");
    let items = samples.path().join("items");
    let (wb, events) = open_author(dir.path(), &rubric_path, &items);
    let rubric = |title: &str| {
        format!(
            "format = 1\nid = \"p\"\nversion = 1\ntitle = \"{title}\"\nguidelines = \"Read it.\"\n\
             [payout]\nbasis = \"per_item\"\namount_cents = 100\ncurrency = \"USD\"\n\
             [[fields]]\nid = \"answer\"\nlabel = \"Answer\"\nviewer = \"markdown\"\n\
             [[questions]]\nid = \"q\"\nprompt = \"Good?\"\ntype = \"scale\"\nmin = 1\nmax = 5\n"
        )
    };
    std::fs::write(&rubric_path, rubric("First")).unwrap();
    std::fs::create_dir_all(&items).unwrap();
    let item = serde_json::json!({
        "id": "itm-1", "opportunity_id": "opp", "title": "Sample",
        "created_at": "2026-11-24T00:00:00Z",
        "fields": {"answer": {"type": "text", "value": "Hello"}}
    });
    std::fs::write(items.join("one.json"), serde_json::to_vec(&item).unwrap()).unwrap();
    wb.preview_choose_rubric().await.unwrap();
    wb.preview_choose_samples().await.unwrap();
    let first = wb.preview_open().unwrap();
    assert_eq!(first.rubric_title.as_deref(), Some("First"), "{first:?}");
    assert_eq!(first.generation, 1);
    assert!(!first.showing_last_good);

    let reloads = || -> Vec<assay_app::preview::PreviewState> {
        events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                AppEvent::Preview { state } => Some(state.clone()),
                _ => None,
            })
            .collect()
    };
    let wait_for = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while reloads().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Anything more would arrive within the settle time.
        std::thread::sleep(std::time::Duration::from_millis(800));
        reloads()
    };

    // One save, written the way editors do: truncate, write in parts, touch.
    {
        use std::io::Write;
        let text = rubric("Second");
        let mut f = std::fs::File::create(&rubric_path).unwrap();
        f.write_all(&text.as_bytes()[..20]).unwrap();
        f.sync_all().unwrap();
        f.write_all(&text.as_bytes()[20..]).unwrap();
        f.sync_all().unwrap();
    }
    let seen = wait_for(1);
    assert_eq!(seen.len(), 1, "one save, one reload: {seen:?}");
    assert_eq!(seen[0].rubric_title.as_deref(), Some("Second"));
    assert_eq!(seen[0].generation, 2);

    // A TOML error: the last good render stays, the error is on top.
    std::fs::write(&rubric_path, "id = \"p\"\nversion = = 1\n").unwrap();
    let seen = wait_for(2);
    assert_eq!(seen.len(), 2, "{seen:?}");
    let broken = &seen[1];
    assert!(broken.showing_last_good, "{broken:?}");
    assert_eq!(broken.rubric_title.as_deref(), Some("Second"));
    assert_eq!(broken.items.len(), 1);
    assert!(
        broken.findings.iter().any(|f| f.code == "syntax"),
        "{:?}",
        broken.findings
    );
    // The kept sample still opens.
    let opened = wb.preview_item("itm-1").unwrap();
    assert_eq!(opened.rubric.title, "Second");

    // Fixed: the new render replaces it and the error goes away.
    std::fs::write(&rubric_path, rubric("Third")).unwrap();
    let seen = wait_for(3);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(!seen[2].showing_last_good);
    assert_eq!(seen[2].rubric_title.as_deref(), Some("Third"));
    assert!(seen[2].findings.iter().all(|f| f.code != "syntax"));
}

/// Content the sync quarantined says why on its queue row and when the
/// reviewer opens it; released, it no longer does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_back_work_says_why_on_its_row_and_when_opened() {
    use assay_protocol::Assignment;
    use assay_store::QuarantineKind;
    let dir = tempfile::tempdir().unwrap();
    let (wb, _events) = open(dir.path(), None);
    let now = chrono::Utc::now();
    let a = Assignment {
        item_id: "item-held".into(),
        item_title: "Held item".into(),
        rubric_id: "rub".into(),
        lease_expires_at: now + chrono::Duration::hours(2),
        due_at: now + chrono::Duration::hours(4),
        ..Assignment::example("as-held", 1, now)
    };
    let store = wb.store().clone();
    store.apply_assignment_page(&[a], "c1").unwrap();
    store
        .quarantine(
            QuarantineKind::Item,
            "as-held",
            "Held item",
            "the platform sent a malformed item (GET /items/{id})",
            now + chrono::Duration::minutes(5),
        )
        .unwrap();
    let row = |wb: &Workbench| {
        wb.queue_page(&QueueFilter::default(), 0, 10)
            .unwrap()
            .rows
            .into_iter()
            .find(|r| r.assignment_id == "as-held")
            .unwrap()
    };
    let text = row(&wb).held_back.expect("the row says why");
    assert!(
        text.starts_with("Held back: the platform sent a malformed item"),
        "{text}"
    );
    let err = wb.open_item("as-held").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound, "{err:?}");
    assert_eq!(err.message, text, "the item screen says the same");

    store
        .release_quarantine(QuarantineKind::Item, "as-held")
        .unwrap();
    assert_eq!(row(&wb).held_back, None);
    let err = wb.open_item("as-held").await.unwrap_err();
    assert!(!err.message.contains("Held back"), "{err:?}");
}
