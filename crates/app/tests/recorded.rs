//! The UI's mock backend replays what the real app answers: this test signs
//! the app in to the reference platform seeded with the demo data (the same
//! seed `cargo xtask demo` uses, with small scans), syncs, and records the
//! answers of the commands the UI's tests exercise, read-only and
//! state-changing, errors as `{code, message}`, into
//! `ui/src/lib/backend/fixtures/demo.json`.
//!
//! It fails while the committed recording differs from what the app answers
//! now (a rule or a view changed in Rust). `cargo xtask bindings` runs it
//! with `ASSAY_WRITE_FIXTURES=1`, which writes the recording instead.
//!
//! The recording is deterministic: timestamps are moved so the seed's "now"
//! is [`RECORDED_AT`] (times the app stamps while recording collapse onto
//! it), UUIDs are numbered in order of appearance, and the platform's
//! loopback address and the temporary data folder get fixed names.
//! Earnings are counted in local days: the app counts them on a clock moved
//! so that the seed's "now" reads [`RECORDED_AT`], in UTC
//! ([`assay_app::earnings::Clock::Moved`]), so its days, weeks and periods
//! ("this week", "this month") are the same whatever day of the week, and
//! in whatever time zone, the recording is made.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_app::earnings::Clock;
use assay_app::views::{DiffRowsRequest, FieldView};
use assay_app::{
    AppError, EarningsGrouping, EarningsPeriod, EarningsQuery, OpenedItem, QueueFilter,
    ReviewInput, ScriptedDialogs, Settings, Workbench,
};
use assay_protocol::{AssignmentKind, ReviewDecision};
use assay_protocol::{PayBasis, TimeSpan};
use assay_rubric::{Answers, DiffMode};
use assay_store::QueueStatus;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{json, Value};

#[path = "support/queue.rs"]
mod queue_rows;
use queue_rows::is_new_grade;

/// Where the recording's "now" is put: a Thursday noon (UTC), so "this week" holds days.
const RECORDED_AT: &str = "2026-06-18T12:00:00Z";
/// The platform's address in the recording.
const PLATFORM_URL: &str = "https://platform.demo.assay";
/// The app's data folder in the recording.
const DATA_DIR: &str = "/home/demo/.local/share/dev.assay.desktop";
/// The folder the reviewer saves the earnings CSV in, in the recording.
const DOCUMENTS: &str = "/home/demo/Documents";
/// Relative to `crates/app`.
const FIXTURE: &str = "../../ui/src/lib/backend/fixtures/demo.json";
/// Time the app may take to record: stamps this long after the seed's "now"
/// were made while recording and collapse onto [`RECORDED_AT`].
const RECORDING_WINDOW: i64 = 600;
/// Items whose diff rows are recorded (the recording stays a few MB).
const DIFF_ITEMS: usize = 3;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
}

/// One recorded call: the command (as the table names it), its arguments
/// (as the UI sends them), and Rust's answer or error.
#[derive(Serialize)]
struct Call {
    /// What the call shows, for tests that look a scenario up by name.
    label: String,
    command: &'static str,
    args: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    ok: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err: Option<Value>,
    /// Changes state: later reads replay what Rust answered after it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    changes: bool,
}

#[derive(Default)]
struct Recorder {
    calls: Vec<Call>,
}

/// The commands that change state; every other command only reads.
const CHANGING: &[&str] = &[
    "correct_time_log",
    "record_time",
    "record_waiting",
    "sign_in",
    "sync_now",
    "save_draft",
    "submit",
    "review_decision",
    "save_settings",
];

impl Recorder {
    /// Records a call's answer and passes it on.
    fn call<T: Serialize>(
        &mut self,
        label: &str,
        command: &'static str,
        args: Value,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        let (ok, err) = match &result {
            Ok(v) => (Some(serde_json::to_value(v).unwrap()), None),
            Err(e) => (None, Some(serde_json::to_value(e).unwrap())),
        };
        self.calls.push(Call {
            label: label.to_owned(),
            command,
            args,
            ok,
            err,
            changes: CHANGING.contains(&command),
        });
        result
    }
}

/// Makes the recording independent of when, where and with which random
/// ids it was made.
struct Normaliser {
    seed_now: DateTime<Utc>,
    at: DateTime<Utc>,
    replace: Vec<(String, &'static str)>,
    uuids: BTreeMap<String, String>,
}

impl Normaliser {
    fn string(&mut self, s: &str) -> String {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            let t = t.with_timezone(&Utc);
            let moved =
                if t > self.seed_now && t <= self.seed_now + Duration::seconds(RECORDING_WINDOW) {
                    self.at
                } else {
                    self.at + (t - self.seed_now)
                };
            return moved
                .round_subsecs(0)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        }
        if s.starts_with("data:") {
            return s.to_owned(); // images: nothing random, and base64 may look like ids
        }
        let mut out = s.to_owned();
        for (from, to) in &self.replace {
            out = out.replace(from.as_str(), to);
        }
        self.numbered(&out)
    }

    /// Random ids (anywhere in a string: a hyphenated UUID, or 32 hex
    /// digits as in the platform's `sub_…` ids) become `uuid-N` by first
    /// appearance; longer hex runs (content hashes) stay.
    fn numbered(&mut self, s: &str) -> String {
        let b = s.as_bytes();
        let hex = |i: usize| {
            b.get(i)
                .is_some_and(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        };
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        let mut i = 0;
        while i < b.len() {
            let starts = i == 0 || !hex(i - 1);
            let len = if !starts {
                0
            } else if i + 36 <= b.len() && is_uuid(&b[i..i + 36]) && !hex(i + 36) {
                36
            } else if (i..i + 32).all(hex) && !hex(i + 32) {
                32
            } else {
                0
            };
            if len == 0 {
                i += 1;
                continue;
            }
            let id = &s[i..i + len];
            let n = self.uuids.len() + 1;
            let name = self
                .uuids
                .entry(id.to_owned())
                .or_insert_with(|| format!("uuid-{n:04}"));
            out.push_str(&s[last..i]);
            out.push_str(name);
            i += len;
            last = i;
        }
        out.push_str(&s[last..]);
        out
    }

    fn value(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.string(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.value(x)),
            _ => {}
        }
    }
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => matches!(c, b'0'..=b'9' | b'a'..=b'f'),
        })
}

fn answers_of(opportunity_id: &str) -> Answers {
    serde_json::from_value(assay_platform::demo::sample_answers(opportunity_id, 0)).unwrap()
}

/// Waits until the background loop's first sync, started at sign-in, has
/// finished and been reported. "Sync now" then waits for nothing and its
/// answer does not depend on which of the two syncs ended first (otherwise
/// the loop's late report could leave `syncing` set, or the data version
/// not yet raised, in the recorded answer).
async fn settle_first_background_sync(wb: &Workbench) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let s = wb.sync_state().await.unwrap();
        if s.last_sync_at.is_some() && !s.syncing && s.data_version >= 1 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the background loop's first sync did not finish: {s:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Records every answer the UI's tests replay. `now` is the seed's "now";
/// the reviewer saves files in `documents`.
async fn record(
    wb: &Workbench,
    platform_url: &str,
    token: &str,
    now: DateTime<Utc>,
    documents: &Path,
) -> Recorder {
    let mut r = Recorder::default();
    let empty = Answers::default();

    r.call("about", "app_info", json!({}), Ok::<_, AppError>(wb.info()))
        .unwrap();
    // Sign-in: a refused token, then the demo reviewer's.
    let _ = r.call(
        "wrong token",
        "sign_in",
        json!({"platformUrl": PLATFORM_URL, "token": "wrong-token"}),
        wb.sign_in(platform_url, "wrong-token").await,
    );
    r.call(
        "signed in",
        "sign_in",
        json!({"platformUrl": PLATFORM_URL, "token": "demo-token"}),
        wb.sign_in(platform_url, token).await,
    )
    .unwrap();
    settle_first_background_sync(wb).await;
    r.call(
        "first sync",
        "sync_now",
        json!({}),
        wb.sync_now(|_| {}).await,
    )
    .unwrap();
    r.call("session", "session", json!({}), wb.session().await)
        .unwrap();
    // Later sync states race the background sync loop: only this one is kept.
    r.call("synced", "sync_state", json!({}), wb.sync_state().await)
        .unwrap();
    r.call("settings", "settings", json!({}), wb.settings())
        .unwrap();

    let filter = QueueFilter::default();
    let page = r
        .call(
            "the whole queue",
            "queue_page",
            json!({"filter": filter, "offset": 0, "limit": 500}),
            wb.queue_page(&filter, 0, 500),
        )
        .unwrap();
    for kind in [
        AssignmentKind::Grade,
        AssignmentKind::SeniorReview,
        AssignmentKind::Screening,
    ] {
        let f = QueueFilter {
            kind: Some(kind),
            ..Default::default()
        };
        let _ = r.call(
            "queue by kind",
            "queue_page",
            json!({"filter": f, "offset": 0, "limit": 500}),
            wb.queue_page(&f, 0, 500),
        );
    }

    // Every assignment as the item screen opens it, with what its viewers ask.
    let mut opened: Vec<(String, OpenedItem)> = Vec::new();
    for row in &page.rows {
        let id = row.assignment_id.clone();
        let args = json!({"assignmentId": id});
        let res = r.call("opened", "open_item", args.clone(), wb.open_item(&id).await);
        let _ = r.call("status", "item_status", args.clone(), wb.item_status(&id));
        let _ = r.call("time log", "time_log", args, wb.time_log(&id));
        if let Ok(item) = res {
            opened.push((id, item));
        }
    }
    // What the viewers ask: the scans' first frames, and the rows of a few
    // items' diffs (recorded whole, up to the app's 2,000 rows a call; the
    // replay pages windows out of them).
    let mut diffs = 0;
    for (_, item) in &opened {
        for view in &item.views {
            match view {
                FieldView::Diff { diff, .. } if diffs < DIFF_ITEMS => {
                    diffs += 1;
                    for (file_index, _) in diff.files.iter().enumerate() {
                        for mode in [DiffMode::Unified, DiffMode::Split] {
                            let req = DiffRowsRequest {
                                handle: diff.handle.clone(),
                                file_index: u32::try_from(file_index).unwrap(),
                                mode,
                                start: 0,
                                count: 2_000,
                                expanded: vec![],
                            };
                            let _ = r.call(
                                "diff rows",
                                "diff_rows",
                                json!({"request": req}),
                                wb.diff_rows(&req),
                            );
                        }
                    }
                }
                FieldView::Scan { handle, info, .. } => {
                    scan(&mut r, wb, handle, 0, info.default_window);
                    scan_px(&mut r, wb, handle, info.width / 2, info.height / 2);
                }
                FieldView::Series { handle, series, .. } => {
                    for (k, stack) in series.stacks.iter().enumerate() {
                        let h = format!("{handle}#{k}");
                        scan(&mut r, wb, &h, 0, stack.info.default_window);
                        scan_px(&mut r, wb, &h, 0, 0);
                    }
                }
                _ => {}
            }
        }
    }

    // The reviewer's log of accepted hourly work says an hour, more than
    // the platform paid for: a discrepancy the earnings screen flags.
    if let Some(row) = page
        .rows
        .iter()
        .find(|x| x.status == QueueStatus::Accepted && x.pay_basis == Some(PayBasis::PerHour))
    {
        let id = row.assignment_id.as_str();
        let start = (now - Duration::days(10)).round_subsecs(0);
        let spans = vec![TimeSpan {
            started_at: start,
            ended_at: start + Duration::hours(1),
            corrected: true,
        }];
        let _ = r.call(
            "an accepted hour logged longer than paid",
            "correct_time_log",
            json!({"assignmentId": id, "spans": spans}),
            wb.correct_time_log(id, &spans),
        );
    }

    // Earnings, as the earnings screen asks them: all time, by day, week and
    // opportunity; each opportunity; each period the screen offers, and
    // today (a custom range of one day, in local days).
    let all = EarningsQuery::default();
    overview(&mut r, wb, "earnings", &all);
    let by_opportunity = r.call(
        "earnings by opportunity",
        "earnings_series",
        json!({"query": all, "bucket": EarningsGrouping::Opportunity}),
        wb.earnings_series(&all, EarningsGrouping::Opportunity),
    );
    by_day(&mut r, wb, "earnings by day", &all);
    by(&mut r, wb, "earnings by week", &all, EarningsGrouping::Week);
    let _ = r.call("payouts", "payouts", json!({}), wb.payouts());
    let _ = r.call(
        "discrepancies",
        "discrepancies",
        json!({}),
        wb.discrepancies(),
    );
    for p in by_opportunity.map(|s| s.points).unwrap_or_default() {
        let q = EarningsQuery {
            opportunity_id: Some(p.key),
            ..Default::default()
        };
        overview(&mut r, wb, "earnings of one opportunity", &q);
        by_day(&mut r, wb, "earnings of one opportunity", &q);
    }
    // The screen's periods as Rust resolves them (on its clock, which reads
    // RECORDED_AT here), each with its totals and its chart by every bucket.
    let mut today = None;
    for (period, label) in [
        (EarningsPeriod::All, "all time"),
        (EarningsPeriod::ThisWeek, "this week"),
        (EarningsPeriod::ThisMonth, "this month"),
        (EarningsPeriod::Last30Days, "the last 30 days"),
    ] {
        let label = format!("earnings of {label}");
        let range = r
            .call(
                &label,
                "earnings_period",
                json!({ "period": period }),
                Ok::<_, AppError>(wb.earnings_period(period)),
            )
            .unwrap();
        if period == EarningsPeriod::All {
            assert_eq!((&range.from, &range.to), (&None, &None));
            continue; // all time: recorded above
        }
        today = today.or_else(|| range.to.clone());
        let q = EarningsQuery {
            from: range.from,
            to: range.to,
            opportunity_id: None,
        };
        overview(&mut r, wb, &label, &q);
        for bucket in [
            EarningsGrouping::Day,
            EarningsGrouping::Week,
            EarningsGrouping::Opportunity,
        ] {
            by(&mut r, wb, &label, &q, bucket);
        }
    }
    one_day(&mut r, wb, "earnings of today", today);
    // A custom range of one day with earnings on it, a reversal: the chart
    // draws a single bar (ui/tests/browser/run.mjs).
    let reversal_day = wb
        .earnings_series(&all, EarningsGrouping::Day)
        .unwrap()
        .points
        .into_iter()
        .find(|p| p.amounts.reversed_cents != 0)
        .and_then(|p| p.start_day);
    assert!(reversal_day.is_some(), "the demo ledger has a reversal");
    one_day(
        &mut r,
        wb,
        "earnings of a day with a reversal",
        reversal_day,
    );
    // The save dialog suggests the file name; the reviewer keeps it.
    let csv = documents.join(wb.earnings_csv_file_name());
    let _ = r.call(
        "earnings exported",
        "export_earnings_csv",
        json!({"query": all}),
        wb.export_earnings_csv(&all, &csv).map(Some),
    );
    // Half an hour of idle waiting this morning: unpaid time.
    let waited = TimeSpan {
        started_at: (now - Duration::hours(3)).round_subsecs(0),
        ended_at: (now - Duration::hours(3) + Duration::minutes(30)).round_subsecs(0),
        corrected: false,
    };
    let _ = r.call(
        "half an hour of idle waiting",
        "record_waiting",
        json!({"span": waited}),
        wb.record_waiting(&waited),
    );
    overview(&mut r, wb, "earnings after idle waiting", &all);

    // Spans Rust refuses, in its words: one that ends before it starts, and
    // one as long as the plausibility bound (RULES.time_span_max_s).
    let max = i64::from(assay_app::rules::rules().time_span_max_s);
    let inverted = TimeSpan {
        started_at: waited.ended_at,
        ended_at: waited.started_at,
        corrected: false,
    };
    let too_long = TimeSpan {
        started_at: waited.started_at - Duration::seconds(max),
        ended_at: waited.started_at,
        corrected: false,
    };
    for (label, span) in [
        ("a span that ends before it starts", &inverted),
        ("a span as long as the bound", &too_long),
    ] {
        let refused = r.call(
            &format!("waiting: {label}"),
            "record_waiting",
            json!({ "span": span }),
            wb.record_waiting(span),
        );
        assert!(refused.is_err(), "{label}: {refused:?}");
        if let Some(row) = page.rows.first() {
            let id = row.assignment_id.as_str();
            let refused = r.call(
                &format!("active time: {label}"),
                "record_time",
                json!({"assignmentId": id, "span": span}),
                wb.record_time(id, span),
            );
            assert!(refused.is_err(), "{label}: {refused:?}");
            let corrected = vec![TimeSpan {
                corrected: true,
                ..span.clone()
            }];
            let refused = r.call(
                &format!("corrected time: {label}"),
                "correct_time_log",
                json!({"assignmentId": id, "spans": corrected}),
                wb.correct_time_log(id, &corrected),
            );
            assert!(refused.is_err(), "{label}: {refused:?}");
        }
    }

    // What the time log editor is told about the spans its tests type
    // (ui/src/lib/components/TimeLogDialog.test.ts): kept ones, one that
    // ends before it starts, one as long as the bound and one a second
    // shorter, and an empty one; and the spans refused above, so the mock's
    // test can see the editor told the words of the refusals. The mock
    // answers each span from here.
    // Written as the recording shows them: the Normaliser moves times by
    // RECORDED_AT - now, so they are given here as now + (time - RECORDED_AT).
    let recorded_at = RECORDED_AT.parse::<DateTime<Utc>>().unwrap();
    let at = |s: &str| now + (s.parse::<DateTime<Utc>>().unwrap() - recorded_at);
    let edited: Vec<TimeSpan> = [
        ("2026-01-01T10:00:00Z", "2026-01-01T10:10:00Z"),
        ("2026-01-01T11:00:00Z", "2026-01-01T11:05:00Z"),
        ("2026-01-01T11:00:00Z", "2026-01-01T11:02:00Z"),
        ("2026-01-01T10:20:00Z", "2026-01-01T10:10:00Z"),
        ("2026-01-01T10:00:00Z", "2026-01-01T22:00:00Z"),
        ("2026-01-01T10:00:00Z", "2026-01-01T21:59:59Z"),
        ("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"),
    ]
    .into_iter()
    .map(|(a, b)| TimeSpan {
        started_at: at(a),
        ended_at: at(b),
        corrected: true,
    })
    .chain([inverted.clone(), too_long.clone()])
    .collect();
    let check = r.call(
        "the time log editor's spans",
        "check_time_log",
        json!({ "spans": edited }),
        Ok::<_, AppError>(wb.check_time_log(&edited)),
    );
    assert_eq!(
        check
            .unwrap()
            .problems
            .iter()
            .filter(|p| p.is_some())
            .count(),
        4,
        "the inverted spans and the ones as long as the bound"
    );

    // Grading a code item: incomplete, then the platform's valid demo grade.
    let new_code = |r: &QueueStatus, id: &str| *r == QueueStatus::New && id.starts_with("itm-code");
    if let Some(code) = page.rows.iter().find(|x| {
        x.kind == AssignmentKind::Grade && x.downloaded && new_code(&x.status, &x.item_id)
    }) {
        let id = code.assignment_id.as_str();
        let valid = answers_of(&code.opportunity_id);
        let mut one = Answers::default();
        if let Some((q, a)) = valid.answers.iter().next() {
            one.answers.insert(q.clone(), a.clone());
        }
        for (label, answers) in [("empty", &empty), ("one answer", &one)] {
            validate(&mut r, wb, label, id, answers);
            save_draft(&mut r, wb, label, id, answers);
            submit(&mut r, wb, label, id, answers).await;
        }
        save_draft(&mut r, wb, "valid", id, &valid);
        validate(&mut r, wb, "valid", id, &valid);
        open_item(&mut r, wb, "after a valid save", id).await;
        submit(&mut r, wb, "valid", id, &valid).await;
        uploaded(wb).await;
        item_status(&mut r, wb, "after the upload", id);
        // The ledger after the upload (what the earnings screen reloads).
        let all = EarningsQuery::default();
        overview(&mut r, wb, "earnings after the upload", &all);
        by_day(&mut r, wb, "earnings after the upload", &all);
        submit(&mut r, wb, "submitted twice", id, &valid).await;
        save_draft(&mut r, wb, "draft on submitted work", id, &valid);
        open_item(&mut r, wb, "after submit", id).await;
    }

    // Grading a pairwise item by keyboard, as the UI's tests type it: every
    // intermediate draft (each character of the rationale typed into its
    // box) validated and autosaved, then submitted once Rust finds it valid.
    if let Some(pair) = page
        .rows
        .iter()
        .filter(|x| is_new_grade(x) && x.opportunity_id == "opp-pairwise-preference")
        .nth(1)
    {
        let id = pair.assignment_id.as_str();
        for (label, answers) in keyboard_grade() {
            let _ = r.call(
                label,
                "validate",
                json!({"assignmentId": id, "answers": answers}),
                wb.validate(id, &answers),
            );
            let _ = r.call(
                label,
                "save_draft",
                json!({"assignmentId": id, "answers": answers, "pending": []}),
                wb.save_draft(id, &answers, Some(&[])),
            );
        }
        let (_, valid) = keyboard_grade().pop().unwrap();
        let _ = r.call(
            "keyboard: valid",
            "submit",
            json!({"assignmentId": id, "answers": valid}),
            wb.submit(id, &valid).await,
        );
        uploaded(wb).await;
        let _ = r.call(
            "keyboard: after the upload",
            "item_status",
            json!({"assignmentId": id}),
            wb.item_status(id),
        );
        let _ = r.call(
            "keyboard: after the upload",
            "open_item",
            json!({"assignmentId": id}),
            wb.open_item(id).await,
        );
    }

    // A senior review: feedback below the minimum is refused, accept needs none.
    if let Some(review) = page.rows.iter().find(|x| {
        x.kind == AssignmentKind::SeniorReview && x.downloaded && x.status == QueueStatus::New
    }) {
        let id = review.assignment_id.as_str();
        // Sent as a grade: refused (the mock refuses it in these words).
        submit(
            &mut r,
            wb,
            "a senior review submitted as a grade",
            id,
            &empty,
        )
        .await;
        let min = assay_app::rules::rules().review_feedback_min_chars as usize;
        for (label, decision, feedback) in [
            ("reject without feedback", ReviewDecision::Reject, None),
            (
                "revision with short feedback",
                ReviewDecision::RequestRevision,
                Some("x".repeat(min - 1)),
            ),
            (
                "reject with feedback",
                ReviewDecision::Reject,
                Some("The rationale ignores the failing test.".to_owned()),
            ),
        ] {
            let input = ReviewInput { decision, feedback };
            let _ = r.call(
                label,
                "review_decision",
                json!({"assignmentId": id, "input": input}),
                wb.review_decision(id, &input).await,
            );
        }
        uploaded(wb).await;
        // The status sync reports once the decision is uploaded (the UI asks
        // it again when sync overtook the command's answer).
        item_status(&mut r, wb, "after the decision", id);
        open_item(&mut r, wb, "after the decision", id).await;
    }

    // Settings: out of bounds is refused, within is saved.
    let settings = wb.settings().unwrap();
    let rules = assay_app::rules::rules();
    let below = Settings {
        idle_timeout_s: rules.idle_timeout_s.min.saturating_sub(1),
        ..settings.clone()
    };
    let _ = r.call(
        "idle timeout below the minimum",
        "save_settings",
        json!({"settings": below}),
        wb.save_settings(below.clone()),
    );
    let within = Settings {
        idle_timeout_s: rules.idle_timeout_s.min,
        ..settings
    };
    let _ = r.call(
        "idle timeout at the minimum",
        "save_settings",
        json!({"settings": within}),
        wb.save_settings(within.clone()),
    );

    r
}

/// The earnings screen's totals for `q`.
fn overview(r: &mut Recorder, wb: &Workbench, label: &str, q: &EarningsQuery) {
    let _ = r.call(
        label,
        "earnings_overview",
        json!({"query": q}),
        wb.earnings_overview(q),
    );
}

/// The earnings screen's totals and chart for a custom range of one `day`.
fn one_day(r: &mut Recorder, wb: &Workbench, label: &str, day: Option<String>) {
    let q = EarningsQuery {
        from: day.clone(),
        to: day,
        opportunity_id: None,
    };
    overview(r, wb, label, &q);
    by_day(r, wb, label, &q);
}

/// The earnings screen's chart for `q` (by day, as it opens).
fn by_day(r: &mut Recorder, wb: &Workbench, label: &str, q: &EarningsQuery) {
    by(r, wb, label, q, EarningsGrouping::Day);
}

/// The earnings screen's chart for `q` by `bucket`.
fn by(r: &mut Recorder, wb: &Workbench, label: &str, q: &EarningsQuery, bucket: EarningsGrouping) {
    let _ = r.call(
        label,
        "earnings_series",
        json!({"query": q, "bucket": bucket}),
        wb.earnings_series(q, bucket),
    );
}

fn validate(r: &mut Recorder, wb: &Workbench, label: &str, id: &str, answers: &Answers) {
    let _ = r.call(
        label,
        "validate",
        json!({"assignmentId": id, "answers": answers}),
        wb.validate(id, answers),
    );
}

fn save_draft(r: &mut Recorder, wb: &Workbench, label: &str, id: &str, answers: &Answers) {
    let _ = r.call(
        label,
        "save_draft",
        json!({"assignmentId": id, "answers": answers, "pending": null}),
        wb.save_draft(id, answers, None),
    );
}

async fn submit(r: &mut Recorder, wb: &Workbench, label: &str, id: &str, answers: &Answers) {
    let _ = r.call(
        label,
        "submit",
        json!({"assignmentId": id, "answers": answers}),
        wb.submit(id, answers).await,
    );
}

async fn open_item(r: &mut Recorder, wb: &Workbench, label: &str, id: &str) {
    let _ = r.call(
        label,
        "open_item",
        json!({"assignmentId": id}),
        wb.open_item(id).await,
    );
}

fn item_status(r: &mut Recorder, wb: &Workbench, label: &str, id: &str) {
    let _ = r.call(
        label,
        "item_status",
        json!({"assignmentId": id}),
        wb.item_status(id),
    );
}

/// The rationale the UI's keyboard tests type for the pairwise preference.
const KEYBOARD_RATIONALE: &str = "Both cite 2 sources; 1 2 3 4 typed here, no key picks.";

/// The drafts a reviewer passes through grading a pairwise item by keyboard
/// (ui/src/App.test.ts and the browser test "keyboard-only grading"):
/// prefer A (1), type the rationale one character at a time, change to a tie
/// (3), mark both answers correct (1, 2 on the next question), and no harm
/// (1 on the last). Labelled `keyboard: …`; the last one is complete.
fn keyboard_grade() -> Vec<(&'static str, Answers)> {
    let pref = |p: &str| json!({"type": "pairwise", "preference": p, "strength": null});
    let draft = |answers: Value, rationale: &str| -> Answers {
        let rationales = if rationale.is_empty() {
            json!({})
        } else {
            json!({"preference": rationale})
        };
        serde_json::from_value(json!({"answers": answers, "rationales": rationales})).unwrap()
    };
    let mut out = vec![(
        "keyboard: A preferred",
        draft(json!({"preference": pref("a")}), ""),
    )];
    let typed: Vec<char> = KEYBOARD_RATIONALE.chars().collect();
    for n in 1..=typed.len() {
        let prefix: String = typed[..n].iter().collect();
        out.push((
            "keyboard: rationale typed",
            draft(json!({"preference": pref("a")}), &prefix),
        ));
    }
    let tie = json!({"preference": pref("tie")});
    out.push(("keyboard: a tie", draft(tie.clone(), KEYBOARD_RATIONALE)));
    let mut answers = tie;
    for (label, question, answer) in [
        (
            "keyboard: A correct",
            "correctness",
            json!({"type": "pass_fail", "results": {"a_correct": true}}),
        ),
        (
            "keyboard: both correct",
            "correctness",
            json!({"type": "pass_fail", "results": {"a_correct": true, "b_correct": true}}),
        ),
        (
            "keyboard: no harm",
            "harm",
            json!({"type": "single_choice", "choice": "neither"}),
        ),
    ] {
        answers[question] = answer;
        out.push((label, draft(answers.clone(), KEYBOARD_RATIONALE)));
    }
    out
}

/// Waits until the background sync a submit triggers has uploaded it, then
/// syncs once more (the ledger follows the upload), so what is recorded
/// next does not depend on how fast the background loop was.
async fn uploaded(wb: &Workbench) {
    for _ in 0..200 {
        match wb.sync_state().await {
            Ok(s) if !s.syncing && s.pending_uploads == 0 => {
                wb.sync_now(|_| {}).await.unwrap();
                return;
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the background sync did not upload within 20 s");
}

fn scan(r: &mut Recorder, wb: &Workbench, handle: &str, frame: u32, w: assay_render::Window) {
    let _ = r.call(
        "scan frame",
        "scan_frame",
        json!({"handle": handle, "frame": frame, "window": w}),
        wb.scan_frame(handle, frame, w),
    );
}

fn scan_px(r: &mut Recorder, wb: &Workbench, handle: &str, x: u32, y: u32) {
    let _ = r.call(
        "scan pixel",
        "scan_pixel",
        json!({"handle": handle, "frame": 0, "x": x, "y": y}),
        wb.scan_pixel(handle, 0, x, y),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_are_fresh() {
    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let seed_now = platform.seeded_at;
    let documents = tempfile::tempdir().unwrap();
    let base_url = platform.base_url();
    let dir = tempfile::tempdir().unwrap();
    let wb = Workbench::open(
        &format!("dev.assay.desktop.test-recorded-{}", std::process::id()),
        dir.path(),
        Arc::new(|_| {}),
        Arc::new(ScriptedDialogs {
            confirm_sign_in: Some(platform.base_url()),
            ..Default::default()
        }),
    )
    .unwrap();
    // Earnings count local days on a clock that reads RECORDED_AT (in UTC)
    // at the seed's "now": whatever the day, the weekday and the zone.
    let at = DateTime::parse_from_rfc3339(RECORDED_AT)
        .unwrap()
        .with_timezone(&Utc);
    wb.set_clock(Clock::Moved(at - seed_now));
    let recorder = record(
        &wb,
        &platform.base_url(),
        &platform.expert_token,
        seed_now,
        documents.path(),
    )
    .await;
    let _ = wb.sign_out().await;
    platform.shutdown().await.unwrap();

    let mut n = Normaliser {
        seed_now,
        at,
        replace: vec![
            (documents.path().display().to_string(), DOCUMENTS),
            (dir.path().display().to_string(), DATA_DIR),
            (
                format!("dev.assay.desktop.test-recorded-{}", std::process::id()),
                "dev.assay.desktop",
            ),
        ],
        uuids: BTreeMap::new(),
    };
    n.replace.push((base_url, PLATFORM_URL));
    let mut calls = serde_json::to_value(&recorder.calls).unwrap();
    for call in calls.as_array_mut().unwrap() {
        n.value(call);
    }
    // One call a line: a re-recording's diff names the calls that changed.
    // What the app answers to a change of work in each status it may no
    // longer change (the mock's synthetic work reaches every one of them).
    let not_editable: BTreeMap<String, AppError> = QueueStatus::ALL
        .into_iter()
        .filter(|s| !s.editable())
        .map(|s| {
            let name = serde_json::to_value(s).unwrap();
            (name.as_str().unwrap().to_owned(), AppError::not_editable(s))
        })
        .collect();
    let head = json!({
        "about": "Answers of the real assay-app on the demo data, recorded by crates/app/tests/recorded.rs (`cargo xtask bindings`). Do not edit.",
        "recorded_at": RECORDED_AT,
        "rules": assay_app::rules::rules(),
        "not_editable": not_editable,
    });
    let mut text = serde_json::to_string(&head).unwrap();
    text.pop();
    text.push_str(",\"calls\":[\n");
    let lines: Vec<String> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
    text.push_str(&lines.join(",\n"));
    text.push_str("\n]}\n");
    let path = fixture_path();
    if std::env::var_os("ASSAY_WRITE_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        // Name the calls Rust now answers differently (line 1 is the header
        // with the rules; each later line is one call).
        let old: Vec<&str> = committed.lines().collect();
        let changed: Vec<String> = text
            .lines()
            .enumerate()
            .filter(|(i, l)| old.get(*i) != Some(l))
            .map(|(i, l)| {
                let v: Value = serde_json::from_str(l.trim_end_matches(',')).unwrap_or(Value::Null);
                match (v.get("command"), v.get("label")) {
                    (Some(c), Some(label)) => format!("line {}: {c} {label}", i + 1),
                    _ => format!("line {}", i + 1),
                }
            })
            .collect();
        panic!(
            "{} is stale: the real app answers {} line(s) differently ({}); run `cargo xtask bindings` and commit it",
            path.display(),
            changed.len(),
            changed.iter().take(8).cloned().collect::<Vec<_>>().join("; ")
        );
    }
}
