//! Unit tests of the store.

use std::collections::BTreeMap;

use assay_protocol::*;
use assay_rubric::{Answer, Answers, ScopedField, ScopedItem, ViewerKind};
use chrono::{Duration, TimeZone, Utc};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
        .single()
        .unwrap()
}

/// The queue status of assignment `id` at `t0`.
fn status_at_t0(store: &Store, id: &str) -> QueueStatus {
    store.status_of(id, t0()).unwrap()
}

pub(crate) fn assignment(id: &str, seq: i64, state: AssignmentState) -> Assignment {
    Assignment {
        item_title: format!("Title of {id}"),
        opportunity_id: "opp-1".into(),
        rubric_id: "rub".into(),
        state,
        lease_expires_at: t0() + Duration::hours(2),
        due_at: t0() + Duration::days(1) + Duration::seconds(seq),
        ..Assignment::example(id, seq, t0())
    }
}

fn answers(text: &str) -> Answers {
    let mut a = Answers::default();
    a.answers
        .insert("q1".into(), Answer::FreeText { text: text.into() });
    a.answers.insert("q2".into(), Answer::Scale { value: 3 });
    a
}

fn request(id: &str, a: &Answers) -> SubmissionRequest {
    SubmissionRequest {
        assignment_id: id.into(),
        rubric_id: "rub".into(),
        rubric_version: 1,
        answers: serde_json::to_value(a).unwrap(),
        active_seconds: 60,
        time_log: vec![],
        client_created_at: t0(),
    }
}

/// Decision `seq` of the platform on submission s1 of assignment a1.
fn decision_on_s1(
    status: OutcomeStatus,
    feedback: &str,
    decided_at: DateTime<Utc>,
    seq: i64,
) -> ReviewOutcome {
    ReviewOutcome {
        submission_id: "s1".into(),
        assignment_id: "a1".into(),
        item_id: "item-a1".into(),
        status,
        feedback: Some(feedback.into()),
        decided_at: Some(decided_at),
        active_seconds: 0,
        seq,
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// A fresh store holding `count` active assignments: `a1` (seq 1), `a2`
/// (seq 2), ...
fn open_with_active(count: i64) -> (tempfile::TempDir, Store) {
    let (dir, store) = open();
    let page: Vec<Assignment> = (1..=count)
        .map(|i| assignment(&format!("a{i}"), i, AssignmentState::Active))
        .collect();
    store.apply_assignment_page(&page, "c").unwrap();
    (dir, store)
}

/// A store with one active assignment `a1` holding a draft of `text`.
fn open_with_draft(text: &str) -> (tempfile::TempDir, Store, Answers) {
    let (dir, store) = open_with_active(1);
    let a = answers(text);
    store.save_draft("a1", &a).unwrap();
    (dir, store, a)
}

#[test]
fn migrations_apply_once_with_wal() {
    let (dir, store) = open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mode: String = store
        .conn()
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = store
        .conn()
        .unwrap()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    store
        .apply_assignment_page(&[assignment("a1", 1, AssignmentState::Active)], "c1")
        .unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(store.assignment("a1").unwrap().is_some());
    assert_eq!(
        store.cursor(cursor::ASSIGNMENTS).unwrap().as_deref(),
        Some("c1")
    );
}

#[test]
fn every_numbered_migration_file_is_embedded_in_order() {
    // The numbers must be 1, 2, 3, ... and each file listed in `MIGRATIONS`.
    assay_pgtest::migrations::assert_embedded_in_order(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
        schema::MIGRATIONS,
    );
}

#[test]
fn newer_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 7)
            .unwrap();
        c.execute_batch("CREATE TABLE future (x)").unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    match &err {
        StoreError::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!(*found, SCHEMA_VERSION + 7);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("update Assay"));
    let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION + 7);
    let n: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'assignments'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0, "no migration ran on the newer database");
}

#[test]
fn failed_migration_leaves_nothing_behind() {
    // A database at version 0 with a conflicting table: the migration fails and
    // rolls back entirely (user_version stays 0, no partial tables).
    let dir = tempfile::tempdir().unwrap();
    {
        let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
        c.execute_batch("CREATE TABLE payouts (x)").unwrap();
    }
    assert!(Store::open(dir.path()).is_err());
    let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 0);
    assert!(!has_table(&c, "assignments"));
}

#[test]
fn drafts_survive_reopen_with_revisions() {
    let (dir, store) = open_with_active(1);
    assert!(matches!(
        store.save_draft("nope", &answers("x")),
        Err(StoreError::NotFound(_))
    ));
    let s1 = store.save_draft("a1", &answers("first")).unwrap();
    let s2 = store
        .save_draft_with("a1", &answers("second"), true)
        .unwrap();
    assert_eq!((s1.revision, s2.revision), (1, 2));
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let d = store.draft("a1").unwrap().unwrap();
    assert_eq!(d.revision, 2);
    assert!(d.ready);
    assert_eq!(d.answers, answers("second"));
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::Ready);
}

#[test]
fn submit_moves_draft_to_outbox_atomically_once() {
    let (_dir, store, a) = open_with_draft("final");
    // Mismatched assignment id: refused, nothing changes.
    assert!(store.submit("a1", &request("other", &a)).is_err());
    assert!(store.draft("a1").unwrap().is_some());
    let e = store.submit("a1", &request("a1", &a)).unwrap();
    assert_eq!(e.state, OutboxState::Queued);
    assert_eq!(
        uuid::Uuid::parse_str(&e.idempotency_key)
            .unwrap()
            .get_version_num(),
        7
    );
    assert!(store.draft("a1").unwrap().is_none());
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::InOutbox);
    // A second submit while the first waits is refused.
    store.save_draft("a1", &a).unwrap();
    assert!(matches!(
        store.submit("a1", &request("a1", &a)),
        Err(StoreError::InvalidState(_))
    ));
    assert!(
        store.draft("a1").unwrap().is_some(),
        "draft untouched by refused submit"
    );
    let entries = store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].idempotency_key, e.idempotency_key);
    match &entries[0].payload {
        OutboxPayload::Submission(r) => assert_eq!(r.answers, serde_json::to_value(&a).unwrap()),
        other @ OutboxPayload::Review(_) => panic!("{other:?}"),
    }
    // Upload lifecycle.
    let due = store.due_outbox(Utc::now()).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(store.mark_outbox_sending(e.id).unwrap(), 1);
    store
        .outbox_retry_later(e.id, Utc::now() + Duration::hours(1), "503")
        .unwrap();
    assert!(store.due_outbox(Utc::now()).unwrap().is_empty());
    assert!(store.next_outbox_due().unwrap().is_some());
    // Back online: the waiting entry is due at once, nothing else changes.
    let now = Utc::now();
    assert_eq!(store.outbox_due_now(now).unwrap(), 1);
    let due = store.due_outbox(now).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].idempotency_key, e.idempotency_key);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(store.outbox_due_now(now).unwrap(), 0, "already due");
    store
        .record_submission_receipt(
            e.id,
            &SubmissionReceipt {
                submission_id: "s1".into(),
                assignment_id: "a1".into(),
                received_at: Utc::now(),
                status: OutcomeStatus::Pending,
                replayed: false,
            },
        )
        .unwrap();
    assert!(
        store.mark_outbox_sending(e.id).is_err(),
        "sent entries are not resent"
    );
    assert!(
        store.active_leases().unwrap().is_empty(),
        "submitted: no lease renewal"
    );
    store.discard_draft("a1").unwrap();
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::Submitted);
    store
        .apply_outcome_page(
            &[decision_on_s1(
                OutcomeStatus::Rejected,
                "missed the bug",
                Utc::now(),
                1,
            )],
            "o1",
        )
        .unwrap();
    let d = store.item_detail("a1", t0()).unwrap();
    assert_eq!(d.status, QueueStatus::Rejected);
    assert_eq!(
        d.latest_submission.unwrap().feedback.as_deref(),
        Some("missed the bug")
    );
    assert_eq!(
        store.cursor(cursor::OUTCOMES).unwrap().as_deref(),
        Some("o1")
    );
    // Sent back for revision: the lease is renewed again and the last answers
    // become the starting draft.
    store
        .apply_outcome_page(
            &[decision_on_s1(
                OutcomeStatus::NeedsRevision,
                "add a rationale",
                Utc::now(),
                2,
            )],
            "o2",
        )
        .unwrap();
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::NeedsRevision);
    assert_eq!(store.active_leases().unwrap().len(), 1);
    let d = store.reopen_draft_from_submission("a1").unwrap().unwrap();
    assert_eq!(d.answers, a);
}

#[test]
fn released_assignments_are_orphaned_too() {
    let (_dir, store, _) = open_with_draft("mine");
    let o = store
        .apply_assignment_page(&[assignment("a1", 2, AssignmentState::Released)], "c2")
        .unwrap();
    assert_eq!(o, vec!["a1".to_string()]);
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::Orphaned);
    // Completed and expired are not orphans.
    store
        .apply_assignment_page(&[assignment("a2", 3, AssignmentState::Expired)], "c3")
        .unwrap();
    store.save_draft("a2", &answers("late")).unwrap();
    assert_eq!(status_at_t0(&store, "a2"), QueueStatus::LeaseExpired);
}

#[test]
fn permanent_failure_restores_the_draft_and_shows_the_issue() {
    let (_dir, store, a) = open_with_draft("typed for an hour");
    let e = store.submit("a1", &request("a1", &a)).unwrap();
    store.mark_outbox_sending(e.id).unwrap();
    store
        .outbox_failed(e.id, IssueKind::LeaseExpired, "lease expired at 10:00")
        .unwrap();
    let d = store.item_detail("a1", t0()).unwrap();
    assert_eq!(d.status, QueueStatus::LeaseExpired);
    assert_eq!(d.draft.unwrap().answers, a);
    assert_eq!(d.issue.unwrap().kind, IssueKind::LeaseExpired);
    assert_eq!(store.sync_status().unwrap().outbox_failed, 1);
    // Renewing the lease clears the issue; a new submit gets a new key.
    store
        .set_lease("a1", Utc::now() + Duration::hours(1))
        .unwrap();
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::Ready);
    let e2 = store.submit("a1", &request("a1", &a)).unwrap();
    assert_ne!(e2.idempotency_key, e.idempotency_key);
    store
        .outbox_failed(e2.id, IssueKind::RubricChanged, "rubric is now v2")
        .unwrap();
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::RubricChanged);
}

#[test]
fn revoked_assignments_keep_drafts_as_orphans() {
    let (_dir, store) = open_with_active(2);
    store.save_draft("a1", &answers("keep me")).unwrap();
    let orphaned = store
        .apply_assignment_page(
            &[
                assignment("a1", 3, AssignmentState::Revoked),
                assignment("a2", 4, AssignmentState::Reassigned),
            ],
            "c2",
        )
        .unwrap();
    assert_eq!(orphaned, vec!["a1".to_string()]);
    let q = store.queue(t0()).unwrap();
    assert_eq!(q.len(), 1, "a2 had nothing written and leaves the queue");
    assert_eq!(q[0].assignment_id, "a1");
    assert_eq!(q[0].status, QueueStatus::Orphaned);
    assert_eq!(
        store.draft("a1").unwrap().unwrap().answers,
        answers("keep me")
    );
    assert_eq!(store.sync_status().unwrap().orphaned_drafts, 1);
    // A stale page (lower seq) does not resurrect the assignment.
    store
        .apply_assignment_page(&[assignment("a1", 2, AssignmentState::Active)], "c3")
        .unwrap();
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::Orphaned);
    assert!(store.active_leases().unwrap().is_empty());
}

fn scoped(id: &str, attachment: Option<AttachmentRef>) -> ScopedItem {
    let mut fields = vec![ScopedField {
        id: "diff".into(),
        label: "Diff".into(),
        viewer: ViewerKind::Diff,
        against: None,
        language: None,
        diff_mode: None,
        results: None,
        help: None,
        value: FieldValue::Text("--- a\n+++ b\n".into()),
    }];
    if let Some(a) = attachment {
        fields.push(ScopedField {
            id: "scan".into(),
            label: "Scan".into(),
            viewer: ViewerKind::Scan,
            against: None,
            language: None,
            diff_mode: None,
            results: None,
            help: None,
            value: FieldValue::Attachment(a),
        });
    }
    ScopedItem {
        item_id: format!("item-{id}"),
        opportunity_id: "opp-1".into(),
        title: format!("Item {id}"),
        rubric_id: "rub".into(),
        rubric_version: 1,
        fields,
        missing_fields: vec![],
    }
}

#[test]
fn attachments_are_tracked_verified_and_redownloaded_when_corrupt() {
    let (_dir, store) = open_with_active(1);
    let bytes = b"DICM fake scan bytes".to_vec();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let att = AttachmentRef {
        sha256: sha.clone(),
        size: bytes.len() as u64,
        media_type: "application/dicom".into(),
        filename: "scan.dcm".into(),
    };
    assert_eq!(store.assignments_missing_items().unwrap().len(), 1);
    store
        .put_scoped_item("a1", &scoped("a1", Some(att.clone())), None)
        .unwrap();
    assert!(store.assignments_missing_items().unwrap().is_empty());
    assert_eq!(store.missing_attachments().unwrap(), vec![att.clone()]);
    // Download into the part file, commit.
    {
        use std::io::Write;
        let mut f = store.blobs().open_part_append(&sha).unwrap();
        f.write_all(&bytes[..5]).unwrap();
        assert_eq!(store.blobs().part_len(&sha).unwrap(), 5);
        f.write_all(&bytes[5..]).unwrap();
    }
    assert_eq!(
        store.commit_attachment_part(&sha).unwrap(),
        bytes.len() as u64
    );
    assert!(store.missing_attachments().unwrap().is_empty());
    assert_eq!(store.read_attachment(&sha).unwrap(), bytes);
    assert!(store.item_detail("a1", t0()).unwrap().attachments[0].downloaded);
    // Corrupt on disk: detected, removed, and wanted again.
    std::fs::write(store.blobs().path(&sha).unwrap(), b"tampered").unwrap();
    assert!(matches!(
        store.read_attachment(&sha),
        Err(StoreError::BlobCorrupt { .. })
    ));
    assert_eq!(store.missing_attachments().unwrap(), vec![att]);
    // Malformed digests in items are refused (never become paths).
    let bad = AttachmentRef {
        sha256: "../../../etc/passwd".into(),
        size: 1,
        media_type: "x".into(),
        filename: "x".into(),
    };
    assert!(matches!(
        store.put_scoped_item("a1", &scoped("a1", Some(bad)), None),
        Err(StoreError::InvalidDigest(_))
    ));
    assert_eq!(store.scoped_item("a1").unwrap().unwrap().fields.len(), 2);
}

#[test]
fn queue_of_ten_thousand_rows_in_one_query() {
    let (_dir, store) = open();
    let page: Vec<Assignment> = (0..10_000)
        .map(|i| assignment(&format!("a{i:05}"), i, AssignmentState::Active))
        .collect();
    store.apply_assignment_page(&page, "c").unwrap();
    store
        .put_opportunities(&[Opportunity {
            id: "opp-1".into(),
            title: "Rust diffs".into(),
            description: String::new(),
            rubric_id: "rub".into(),
            rubric_version: 1,
            licence_category: "commercial-training".into(),
            buyer: "b".into(),
        }])
        .unwrap();
    store
        .set_rate_card(&RateCard {
            rates: vec![
                Rate {
                    opportunity_id: "opp-1".into(),
                    basis: PayBasis::PerItem,
                    amount_cents: 500,
                    currency: "USD".into(),
                    effective_from: t0() - Duration::days(30),
                },
                Rate {
                    opportunity_id: "opp-1".into(),
                    basis: PayBasis::PerItem,
                    amount_cents: 700,
                    currency: "USD".into(),
                    effective_from: t0() - Duration::days(1),
                },
            ],
        })
        .unwrap();
    store
        .put_scoped_item("a00003", &scoped("a00003", None), None)
        .unwrap();
    store.save_draft("a00001", &answers("x")).unwrap();
    store
        .save_draft_with("a00002", &answers("y"), true)
        .unwrap();
    let q = store.queue(t0()).unwrap();
    assert_eq!(q.len(), 10_000);
    assert!(q.windows(2).all(|w| w[0].due_at <= w[1].due_at));
    assert_eq!(q[0].status, QueueStatus::New);
    assert_eq!(q[1].status, QueueStatus::Draft);
    assert_eq!(q[2].status, QueueStatus::Ready);
    assert_eq!(q[3].title, "Item a00003");
    assert!(q[3].downloaded && !q[4].downloaded);
    assert_eq!(q[9_999].opportunity_title.as_deref(), Some("Rust diffs"));
    assert_eq!(q[0].pay.as_ref().map(|p| p.amount_cents), Some(700));
    // The plan uses the indexes (no temp b-tree for the order, no full scans of drafts).
    let plan = query_plan(
        &store.conn().unwrap(),
        "SELECT ob.state FROM outbox ob WHERE ob.assignment_id = 'x' ORDER BY ob.id DESC LIMIT 1",
    );
    assert!(
        plan.iter().any(|p| p.contains("outbox_assignment")),
        "{plan:?}"
    );
}

#[test]
fn time_log_and_corrections() {
    let (_dir, store) = open();
    let s = store.start_session("a1", t0()).unwrap();
    store.end_session(s, t0() + Duration::minutes(10)).unwrap();
    let s2 = store
        .add_time_span(
            "a1",
            &TimeSpan {
                started_at: t0() + Duration::hours(1),
                ended_at: t0() + Duration::hours(1) + Duration::minutes(5),
                corrected: false,
            },
        )
        .unwrap();
    let open_id = store
        .start_session("a1", t0() + Duration::hours(2))
        .unwrap();
    assert!(store
        .correct_session(s2, t0() + Duration::hours(1), t0())
        .is_err());
    store
        .correct_session(
            s2,
            t0() + Duration::hours(1),
            t0() + Duration::hours(1) + Duration::minutes(2),
        )
        .unwrap();
    let log = store.time_log("a1").unwrap();
    assert_eq!(log.len(), 3);
    assert!(log[1].corrected);
    assert_eq!(log[2].id, open_id);
    assert!(log[2].ended_at.is_none());
    let (spans, secs) = store.time_spans("a1").unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(secs, 12 * 60);
}

#[test]
fn time_on_task_counts_short_spans_in_full_and_overlaps_once() {
    let (_dir, store) = open();
    let at = |ms: i64| t0() + Duration::milliseconds(ms);
    let add = |from: i64, to: i64| {
        let span = TimeSpan {
            started_at: at(from),
            ended_at: at(to),
            corrected: false,
        };
        store.add_time_span("a1", &span).unwrap();
    };
    // Ten spans of 1.5 s each (the log closes one at every pause and each
    // time the reviewer opens it): 15 s of work, not ten times one second.
    for i in 0..10 {
        add(i * 10_000, i * 10_000 + 1_500);
    }
    assert_eq!(store.time_spans("a1").unwrap().1, 15);
    // A span corrected over time already logged counts that time once.
    add(0, 5_000);
    assert_eq!(store.time_spans("a1").unwrap().1, 15 + 3);
}

#[test]
fn covered_seconds_clips_to_the_window_and_rounds_only_the_total() {
    let span = |from_ms: i64, to_ms: i64| TimeSpan {
        started_at: t0() + Duration::milliseconds(from_ms),
        ended_at: t0() + Duration::milliseconds(to_ms),
        corrected: true,
    };
    // Out of order, overlapping, one inside another, one empty, one reversed.
    let spans = [
        span(10_000, 12_400),
        span(0, 2_600),
        span(1_000, 2_000),
        span(11_000, 13_000),
        span(20_000, 20_000),
        span(30_000, 29_000),
    ];
    assert_eq!(covered_seconds(&spans, None, None), 5); // 2.6 + 3.0
    let (from, to) = (
        Some(t0() + Duration::milliseconds(2_000)),
        Some(t0() + Duration::milliseconds(11_500)),
    );
    assert_eq!(covered_seconds(&spans, from, None), 3); // 0.6 + 3.0
    assert_eq!(covered_seconds(&spans, from, to), 2); // 0.6 + 1.5
    assert_eq!(covered_seconds(&[], None, None), 0);
}

#[test]
fn ledger_mirror_keeps_the_newest_version_of_each_entry() {
    let (_dir, store) = open();
    let entry =
        |id: &str, opp: &str, cents: i64, status: LedgerStatus, days: i64, seq: i64| LedgerEntry {
            id: id.into(),
            submission_id: format!("s-{id}"),
            assignment_id: format!("a-{id}"),
            item_id: format!("i-{id}"),
            opportunity_id: opp.into(),
            amount_cents: cents,
            currency: "USD".into(),
            status,
            payout_id: None,
            created_at: t0() + Duration::days(days),
            updated_at: t0() + Duration::days(days),
            seq,
        };
    store
        .apply_ledger_page(
            &[
                entry("l1", "opp-1", 500, LedgerStatus::Pending, 0, 1),
                entry("l2", "opp-1", 700, LedgerStatus::Accepted, 0, 2),
                entry("l3", "opp-2", 1000, LedgerStatus::Paid, 4, 3),
                entry("l4", "opp-2", 300, LedgerStatus::Reversed, 4, 4),
            ],
            "L1",
        )
        .unwrap();
    // A later page updates l1 to accepted; a stale one does not revert it.
    store
        .apply_ledger_page(
            &[entry("l1", "opp-1", 500, LedgerStatus::Accepted, 0, 5)],
            "L2",
        )
        .unwrap();
    store
        .apply_ledger_page(
            &[entry("l1", "opp-1", 500, LedgerStatus::Pending, 0, 1)],
            "L3",
        )
        .unwrap();
    let ledger: BTreeMap<String, (LedgerStatus, i64)> = store
        .ledger()
        .unwrap()
        .into_iter()
        .map(|e| (e.id, (e.status, e.amount_cents)))
        .collect();
    assert_eq!(ledger.len(), 4);
    assert_eq!(ledger["l1"], (LedgerStatus::Accepted, 500));
    assert_eq!(ledger["l2"], (LedgerStatus::Accepted, 700));
    assert_eq!(ledger["l3"], (LedgerStatus::Paid, 1000));
    assert_eq!(ledger["l4"], (LedgerStatus::Reversed, 300));
    assert_eq!(store.cursor(cursor::LEDGER).unwrap().as_deref(), Some("L3"));
    store
        .set_payouts(&[Payout {
            id: "p1".into(),
            amount_cents: 1000,
            currency: "USD".into(),
            paid_at: t0(),
            method: "bank".into(),
            entry_ids: vec!["l3".into()],
        }])
        .unwrap();
    assert_eq!(store.payouts().unwrap().len(), 1);
}

#[test]
fn sync_status_round_trip() {
    let (_dir, store) = open();
    store.record_sync_attempt(t0()).unwrap();
    store.record_sync_error(t0(), "offline").unwrap();
    let s = store.sync_status().unwrap();
    assert_eq!(s.last_error.as_deref(), Some("offline"));
    assert_eq!(s.last_attempt_at, Some(t0()));
    store
        .record_sync_success(t0() + Duration::seconds(5))
        .unwrap();
    let s = store.sync_status().unwrap();
    assert_eq!(s.last_error, None);
    assert_eq!(s.last_success_at, Some(t0() + Duration::seconds(5)));
}

#[test]
fn garbage_database_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), vec![0x42u8; 8192]).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err:?}");
    assert!(err.to_string().contains("database"), "{err}");
}

#[test]
fn lapsed_lease_shows_expired_at_now_and_keeps_the_draft() {
    // Leases end at t0 + 2h (see `assignment`).
    let (_dir, store) = open_with_active(3);
    let before = t0() + Duration::hours(1);
    let after = t0() + Duration::hours(2) + Duration::seconds(1);
    assert_eq!(store.status_of("a1", before).unwrap(), QueueStatus::New);
    assert_eq!(
        store.status_of("a1", after).unwrap(),
        QueueStatus::LeaseExpired,
        "derived from lease_expires_at before the platform reports it"
    );
    // A draft is kept and shows again if the lease is renewed.
    store.save_draft("a2", &answers("half")).unwrap();
    assert_eq!(store.status_of("a2", before).unwrap(), QueueStatus::Draft);
    assert_eq!(
        store.status_of("a2", after).unwrap(),
        QueueStatus::LeaseExpired
    );
    assert_eq!(store.draft("a2").unwrap().unwrap().answers, answers("half"));
    store.set_lease("a2", t0() + Duration::hours(5)).unwrap();
    assert_eq!(store.status_of("a2", after).unwrap(), QueueStatus::Draft);
    // Submitted work keeps its status after the lease runs out.
    let a = answers("done");
    store.save_draft_with("a3", &a, true).unwrap();
    store.submit("a3", &request("a3", &a)).unwrap();
    assert_eq!(store.status_of("a3", after).unwrap(), QueueStatus::InOutbox);
    // The queue and the item detail agree with status_of.
    let q = store.queue(after).unwrap();
    let by_id: BTreeMap<_, _> = q
        .iter()
        .map(|r| (r.assignment_id.as_str(), r.status))
        .collect();
    assert_eq!(by_id["a1"], QueueStatus::LeaseExpired);
    assert_eq!(by_id["a2"], QueueStatus::Draft);
    assert_eq!(by_id["a3"], QueueStatus::InOutbox);
    assert_eq!(
        store.item_detail("a1", after).unwrap().status,
        QueueStatus::LeaseExpired
    );
    assert_eq!(
        store.item_detail("a1", before).unwrap().status,
        QueueStatus::New
    );
    // Completed on the platform before this client saw the submission (the
    // outcome arrives later in the same sync): submitted, never "new".
    let mut done = assignment("a4", 5, AssignmentState::Completed);
    done.lease_expires_at = t0() - Duration::days(20);
    store.apply_assignment_page(&[done], "c1b").unwrap();
    assert_eq!(
        store.status_of("a4", after).unwrap(),
        QueueStatus::Submitted
    );
    assert_eq!(
        store.status_of("a4", before).unwrap(),
        QueueStatus::Submitted
    );
    // Once the platform reports the expiry, it shows at any time.
    let mut expired = assignment("a1", 4, AssignmentState::Expired);
    expired.lease_expires_at = t0() + Duration::hours(2);
    store.apply_assignment_page(&[expired], "c2").unwrap();
    assert_eq!(
        store.status_of("a1", before).unwrap(),
        QueueStatus::LeaseExpired
    );
}

#[test]
fn a_lease_end_expires_exactly_the_lapsable_statuses() {
    use crate::items::StatusInputs;
    // Every combination of what the status is made of, on an active
    // assignment: the lease's end changes a status only from one in
    // `QueueStatus::LAPSABLE` to `LeaseExpired`, and each of them does.
    let mut lapsed = std::collections::BTreeSet::new();
    for orphaned in [false, true] {
        for issue in [
            None,
            Some(IssueKind::LeaseExpired),
            Some(IssueKind::RubricChanged),
            Some(IssueKind::Rejected),
        ] {
            for draft_ready in [None, Some(false), Some(true)] {
                for outbox_state in std::iter::once(None).chain(
                    [
                        OutboxState::Queued,
                        OutboxState::Sending,
                        OutboxState::Sent,
                        OutboxState::FailedPermanent,
                    ]
                    .map(Some),
                ) {
                    for submission in std::iter::once(None).chain(
                        [
                            OutcomeStatus::Pending,
                            OutcomeStatus::Accepted,
                            OutcomeStatus::Rejected,
                            OutcomeStatus::NeedsRevision,
                        ]
                        .map(Some),
                    ) {
                        let inputs = StatusInputs {
                            orphaned,
                            state: AssignmentState::Active,
                            lease_expires_at: t0(),
                            issue,
                            draft_ready,
                            outbox_state,
                            submission,
                        };
                        let live = inputs.status_when(false);
                        let over = inputs.status_when(true);
                        if live.lapses() {
                            assert_eq!(over, QueueStatus::LeaseExpired, "{live:?}");
                            lapsed.insert(live);
                        } else {
                            assert_eq!(over, live);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        lapsed.into_iter().collect::<Vec<_>>(),
        QueueStatus::LAPSABLE.to_vec()
    );
}

/// The status of completed work with a ready draft and nothing else in the
/// way: what its upload (`outbox_state`) and the platform's outcome make it.
fn completed_work_status(
    outbox_state: Option<OutboxState>,
    submission: Option<OutcomeStatus>,
) -> QueueStatus {
    items::StatusInputs {
        orphaned: false,
        state: AssignmentState::Completed,
        lease_expires_at: t0(),
        issue: None,
        draft_ready: Some(true),
        outbox_state,
        submission,
    }
    .status_when(false)
}

/// Submitted and sent work, once with each outcome the platform can give.
fn sent_with_each_outcome() -> Vec<(OutcomeStatus, QueueStatus)> {
    [
        OutcomeStatus::Pending,
        OutcomeStatus::Accepted,
        OutcomeStatus::Rejected,
        OutcomeStatus::NeedsRevision,
    ]
    .into_iter()
    .map(|o| (o, completed_work_status(Some(OutboxState::Sent), Some(o))))
    .collect()
}

/// `holds` is `expected` for each case, and the statuses it holds for are
/// exactly `listed` (a `QueueStatus` list the UI is handed).
fn assert_exactly_listed(
    cases: Vec<(QueueStatus, bool)>,
    holds: fn(QueueStatus) -> bool,
    listed: &[QueueStatus],
) {
    let mut found = std::collections::BTreeSet::new();
    for (status, expected) in cases {
        assert_eq!(holds(status), expected, "{status:?}");
        if holds(status) {
            found.insert(status);
        }
    }
    let mut listed = listed.to_vec();
    listed.sort();
    assert_eq!(found.into_iter().collect::<Vec<_>>(), listed);
}

#[test]
fn a_decided_outcome_shows_as_exactly_the_decided_statuses() {
    // Submitted work with nothing else in the way: the platform's decision
    // is what moves it into one of `QueueStatus::DECIDED`; an undecided
    // (pending) outcome stays out of it.
    let cases = sent_with_each_outcome()
        .into_iter()
        .map(|(outcome, status)| (status, outcome != OutcomeStatus::Pending))
        .collect();
    assert_exactly_listed(cases, QueueStatus::decided, &QueueStatus::DECIDED);
}

#[test]
fn work_that_left_the_reviewers_hands_is_exactly_the_finished_statuses() {
    // Queued for upload, or sent with any outcome: finished unless the
    // platform sent it back for revision (the reviewer's again).
    let mut cases = vec![(completed_work_status(Some(OutboxState::Queued), None), true)];
    cases.extend(
        sent_with_each_outcome()
            .into_iter()
            .map(|(outcome, status)| (status, outcome != OutcomeStatus::NeedsRevision)),
    );
    assert_exactly_listed(cases, QueueStatus::finished, &QueueStatus::FINISHED);
    // Finished work is never editable.
    for s in QueueStatus::ALL {
        assert!(!(s.finished() && s.editable()), "{s:?}");
    }
}

#[test]
fn needs_revision_with_a_lapsed_lease_is_expired() {
    let (_dir, store) = open_with_active(1);
    let a = answers("v1");
    store.save_draft_with("a1", &a, true).unwrap();
    let entry = store.submit("a1", &request("a1", &a)).unwrap();
    store.mark_outbox_sending(entry.id).unwrap();
    store
        .record_submission_receipt(
            entry.id,
            &SubmissionReceipt {
                submission_id: "s1".into(),
                assignment_id: "a1".into(),
                received_at: t0(),
                status: OutcomeStatus::Pending,
                replayed: false,
            },
        )
        .unwrap();
    store
        .apply_outcome_page(
            &[decision_on_s1(
                OutcomeStatus::NeedsRevision,
                "more",
                t0(),
                2,
            )],
            "o1",
        )
        .unwrap();
    assert_eq!(status_at_t0(&store, "a1"), QueueStatus::NeedsRevision);
    assert_eq!(
        store.status_of("a1", t0() + Duration::hours(3)).unwrap(),
        QueueStatus::LeaseExpired
    );
}

#[test]
fn screening_rows_carry_no_pay() {
    let (_dir, store) = open();
    let mut s = assignment("s1", 1, AssignmentState::Active);
    s.kind = AssignmentKind::Screening;
    store
        .apply_assignment_page(&[s, assignment("a1", 2, AssignmentState::Active)], "c")
        .unwrap();
    store
        .set_rate_card(&RateCard {
            rates: vec![Rate {
                opportunity_id: "opp-1".into(),
                basis: PayBasis::PerItem,
                amount_cents: 500,
                currency: "USD".into(),
                effective_from: t0() - Duration::days(1),
            }],
        })
        .unwrap();
    let q = store.queue(t0()).unwrap();
    let s1 = q.iter().find(|r| r.assignment_id == "s1").unwrap();
    assert_eq!(s1.kind, AssignmentKind::Screening, "kind persisted");
    assert!(s1.pay.is_none());
    let a1 = q.iter().find(|r| r.assignment_id == "a1").unwrap();
    assert_eq!(a1.pay.as_ref().map(|p| p.amount_cents), Some(500));
    assert_eq!(
        store.assignment("s1").unwrap().unwrap().kind,
        AssignmentKind::Screening
    );
}

#[test]
fn waiting_spans_are_durable_and_overlaps_count_once() {
    let (dir, store) = open();
    let span = |from_min: i64, to_min: i64| TimeSpan {
        started_at: t0() + Duration::minutes(from_min),
        ended_at: t0() + Duration::minutes(to_min),
        corrected: false,
    };
    assert_eq!(store.waiting_seconds().unwrap(), 0);
    store.add_waiting_span(&span(0, 10)).unwrap();
    store.add_waiting_span(&span(5, 12)).unwrap();
    store.add_waiting_span(&span(30, 31)).unwrap();
    assert!(store.add_waiting_span(&span(5, 4)).is_err());
    assert_eq!(store.waiting_seconds().unwrap(), (12 + 1) * 60);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.waiting_spans().unwrap().len(), 3);
    assert_eq!(store.waiting_seconds().unwrap(), 13 * 60);
}

#[test]
fn version_one_database_upgrades_and_keeps_its_data() {
    let (_dir, store) = upgraded_from(1, |c| {
        insert_old_assignment(c);
        c.execute(
            "INSERT INTO time_sessions (assignment_id, started_at, ended_at) VALUES ('old', ?1, ?2)",
            [ts(t0()), ts(t0() + Duration::minutes(3))],
        )
        .unwrap();
    });
    assert_eq!(
        store.assignment("old").unwrap().unwrap().kind,
        AssignmentKind::Grade
    );
    assert_eq!(store.time_spans("old").unwrap().1, 180);
    assert_eq!(store.waiting_seconds().unwrap(), 0);
    store
        .add_waiting_span(&TimeSpan {
            started_at: t0(),
            ended_at: t0() + Duration::minutes(1),
            corrected: false,
        })
        .unwrap();
    assert_eq!(store.waiting_seconds().unwrap(), 60);
}

#[test]
fn version_1_database_upgrades_and_queue_names_undownloaded_items() {
    // A database written by a build that knew only the first migration.
    let (_dir, store) = upgraded_from(1, |c| {
        c.execute(
            "INSERT INTO assignments (id, item_id, opportunity_id, rubric_id, rubric_version, \
               kind, state, assigned_at, lease_expires_at, due_at, seq, updated_at) \
             VALUES ('old', 'item-old', 'opp-1', 'rub', 1, 'grade', 'active', \
               '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', 1, \
               '2026-11-01T00:00:00Z')",
            [],
        )
        .unwrap();
    });
    let old = store.queue(t0()).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(
        old[0].title, "",
        "rows from before the upgrade have no feed title"
    );

    // The feed's title names an item that is not downloaded yet.
    store
        .apply_assignment_page(&[assignment("a1", 2, AssignmentState::Active)], "c2")
        .unwrap();
    let row = |id: &str| {
        store
            .queue(t0())
            .unwrap()
            .into_iter()
            .find(|r| r.assignment_id == id)
            .unwrap()
    };
    let r = row("a1");
    assert!(!r.downloaded);
    assert_eq!(r.title, "Title of a1");
}

#[test]
fn a_newer_item_revision_is_fetched_again_and_keeps_the_old_item_until_then() {
    let (_d, store) = open_with_active(1);
    store
        .put_scoped_item("a1", &scoped("a1", None), None)
        .unwrap();
    assert!(store.assignments_missing_items().unwrap().is_empty());
    // A lease change (new seq, same revision) does not re-fetch the item.
    store
        .apply_assignment_page(&[assignment("a1", 2, AssignmentState::Active)], "c2")
        .unwrap();
    assert!(store.assignments_missing_items().unwrap().is_empty());
    // The platform re-published the item.
    let mut republished = assignment("a1", 3, AssignmentState::Active);
    republished.item_revision = 2;
    store.apply_assignment_page(&[republished], "c3").unwrap();
    let todo = store.assignments_missing_items().unwrap();
    assert_eq!(todo.len(), 1);
    assert_eq!(todo[0].item_revision, 2);
    // The old content stays readable until the new one arrives.
    assert!(store.item_detail("a1", t0()).unwrap().scoped.is_some());
    store
        .put_scoped_item("a1", &scoped("a1", None), None)
        .unwrap();
    assert!(store.assignments_missing_items().unwrap().is_empty());
    assert_eq!(store.assignment("a1").unwrap().unwrap().item_revision, 2);
}

/// A database in `dir` as a build that knew the first `version` migrations
/// left it.
fn database_at_version(dir: &Path, version: usize) -> Connection {
    let c = Connection::open(dir.join(DB_FILE)).unwrap();
    for m in &schema::MIGRATIONS[..version] {
        c.execute_batch(m).unwrap();
    }
    c.pragma_update(None, "user_version", version).unwrap();
    c
}

/// A store opened over a database that a build knowing the first `version`
/// migrations left, after `fill` wrote its rows there; the store has
/// upgraded it to the current schema.
fn upgraded_from(version: usize, fill: impl FnOnce(&Connection)) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    fill(&database_at_version(dir.path(), version));
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    (dir, store)
}

/// Writes an active grade assignment `old` (leased from `t0` for two hours)
/// as the first schema versions stored it.
fn insert_old_assignment(c: &Connection) {
    c.execute(
        "INSERT INTO assignments (id, item_id, opportunity_id, rubric_id, rubric_version, \
           kind, state, assigned_at, lease_expires_at, due_at, seq, updated_at) \
         VALUES ('old', 'i', 'o', 'r', 1, 'grade', 'active', ?1, ?2, ?2, 1, ?1)",
        [ts(t0()), ts(t0() + Duration::hours(2))],
    )
    .unwrap();
}

/// Writes the scoped item of `old` (see [`insert_old_assignment`]) as JSON
/// text, as builds before the packed items (version 11) stored it.
fn insert_old_item(c: &Connection) {
    let json = serde_json::to_string(&scoped("old", None)).unwrap();
    c.execute(
        "INSERT INTO items_scoped (assignment_id, item_id, title, scoped_json, fetched_at) \
         VALUES ('old', 'i', 'Old item', ?1, ?2)",
        [json, ts(t0())],
    )
    .unwrap();
}

/// SQLite's plan for `sql`, one detail line a step.
fn query_plan(conn: &Connection, sql: &str) -> Vec<String> {
    conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Whether the database has an index of this name.
fn has_index(conn: &Connection, name: &str) -> bool {
    has_schema_object(conn, "index", name)
}

/// Whether the database has a table of this name.
fn has_table(conn: &Connection, name: &str) -> bool {
    has_schema_object(conn, "table", name)
}

fn has_schema_object(conn: &Connection, kind: &str, name: &str) -> bool {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = ?1 AND name = ?2)",
        [kind, name],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn version_4_database_upgrades_to_quarantine_and_keeps_its_data() {
    // A database written by the build before quarantine (schema 4).
    let (_dir, store) = upgraded_from(4, |c| {
        c.execute(
            "INSERT INTO cursors (name, value) VALUES ('ledger', 'c-old')",
            [],
        )
        .unwrap();
    });
    assert_eq!(store.cursor("ledger").unwrap().as_deref(), Some("c-old"));
    assert_eq!(store.sync_status().unwrap().quarantined, 0);
    assert!(store.quarantine_entries().unwrap().is_empty());
}

#[test]
fn quarantine_counts_attempts_waits_and_releases() {
    let (_d, store) = open();
    let k = QuarantineKind::Attachment;
    let later = t0() + Duration::minutes(5);
    assert_eq!(store.quarantine_attempts(k, "s1").unwrap(), 0);
    assert_eq!(
        store
            .quarantine(k, "s1", "scan.dcm", "hash mismatch", later)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .quarantine(k, "s1", "scan.dcm", "hash mismatch again", later)
            .unwrap(),
        2
    );
    store
        .quarantine(QuarantineKind::Item, "a1", "Item one", "too deep", t0())
        .unwrap();
    // Not due before `later`; due at it. Kinds are separate.
    assert!(store
        .quarantined_until_later(k, t0())
        .unwrap()
        .contains("s1"));
    assert!(store.quarantined_until_later(k, later).unwrap().is_empty());
    assert!(store
        .quarantined_until_later(QuarantineKind::Item, t0() - Duration::seconds(1))
        .unwrap()
        .contains("a1"));
    let entries = store.quarantine_entries().unwrap();
    assert_eq!(entries.len(), 2);
    let s1 = entries.iter().find(|e| e.key == "s1").unwrap();
    assert_eq!(
        (s1.attempts, s1.reason.as_str(), s1.label.as_str()),
        (2, "hash mismatch again", "scan.dcm")
    );
    assert_eq!(store.sync_status().unwrap().quarantined, 2);
    assert!(store.release_quarantine(k, "s1").unwrap());
    assert!(!store.release_quarantine(k, "s1").unwrap());
    assert_eq!(store.sync_status().unwrap().quarantined, 1);
}

fn pending_comment(text: &str) -> PendingAnnotation {
    PendingAnnotation {
        field: "diff".into(),
        anchor: assay_rubric::AnnotationAnchor::DiffLine {
            file: "src/lib.rs".into(),
            side: assay_rubric::DiffSide::New,
            line: 7,
            line_hash: None,
        },
        severity: Some("minor".into()),
        comment: text.into(),
    }
}

#[test]
fn editable_drafts_keep_pending_annotations_and_submitted_work_is_read_only() {
    let (dir, store) = open_with_active(1);
    let a = answers("v1");
    // A typed-but-not-added comment is part of the draft, durably.
    let pending = [pending_comment("off by one?")];
    let (saved, status) = store
        .save_editable_draft("a1", &a, false, Some(&pending[..]), t0())
        .unwrap();
    assert_eq!(saved.revision, 1);
    assert_eq!(status, QueueStatus::Draft, "the new state is returned");
    // Saving answers alone (`None`) keeps what was begun.
    let (_, status) = store
        .save_editable_draft("a1", &a, true, None, t0())
        .unwrap();
    assert_eq!(status, QueueStatus::Ready);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let d = store.draft("a1").unwrap().unwrap();
    assert_eq!(d.pending, pending.to_vec(), "pending survives a restart");
    assert_eq!(d.revision, 2);
    // Added (or cancelled): an empty list clears it.
    store
        .save_editable_draft("a1", &a, true, Some(&[][..]), t0())
        .unwrap();
    assert!(store.draft("a1").unwrap().unwrap().pending.is_empty());

    // Submitted: the store refuses to change the draft, with a typed error,
    // and what was submitted stays readable.
    store.submit("a1", &request("a1", &a)).unwrap();
    let err = store
        .save_editable_draft("a1", &answers("late edit"), true, None, t0())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotEditable {
                status: QueueStatus::InOutbox
            }
        ),
        "{err:?}"
    );
    assert!(store.draft("a1").unwrap().is_none(), "nothing was written");
    let work = store.submitted_work("a1").unwrap().unwrap();
    assert_eq!(work.answers, a);
    assert_eq!(work.active_seconds, 60);
    assert_eq!(work.outbox_state, Some(OutboxState::Queued));
    assert!(store.submitted_work("nope").unwrap().is_none());
    for s in [
        QueueStatus::InOutbox,
        QueueStatus::Submitted,
        QueueStatus::Accepted,
        QueueStatus::Rejected,
        QueueStatus::Orphaned,
        QueueStatus::LeaseExpired,
    ] {
        assert!(!s.editable(), "{s:?}");
    }
}

#[test]
fn version_4_database_upgrades_and_its_drafts_have_no_pending_annotations() {
    let (_dir, store) = upgraded_from(4, |c| {
        insert_old_assignment(c);
        c.execute(
            "INSERT INTO drafts (assignment_id, answers_json, revision, ready, updated_at) \
             VALUES ('old', ?1, 3, 0, ?2)",
            [serde_json::to_string(&answers("kept")).unwrap(), ts(t0())],
        )
        .unwrap();
    });
    let d = store.draft("old").unwrap().unwrap();
    assert_eq!(d.answers, answers("kept"));
    assert_eq!(d.revision, 3);
    assert!(d.pending.is_empty());
    let pending = [pending_comment("")];
    store
        .save_editable_draft("old", &d.answers, false, Some(&pending[..]), t0())
        .unwrap();
    assert_eq!(
        store.draft("old").unwrap().unwrap().pending,
        pending.to_vec()
    );
}

#[test]
fn work_submitted_elsewhere_comes_from_the_platforms_copy() {
    let (_dir, store) = open();
    store
        .apply_assignment_page(&[assignment("a1", 1, AssignmentState::Completed)], "c")
        .unwrap();
    assert!(store.put_own_submission("a1", None).is_err(), "no item yet");
    store
        .put_scoped_item("a1", &scoped("a1", None), None)
        .unwrap();
    assert!(store.submitted_work("a1").unwrap().is_none());
    let theirs = answers("from the laptop");
    store
        .put_own_submission(
            "a1",
            Some(&ReviewedSubmission {
                submission_id: "s9".into(),
                answers: serde_json::to_value(&theirs).unwrap(),
                active_seconds: 600,
                submitted_at: t0(),
            }),
        )
        .unwrap();
    let work = store.submitted_work("a1").unwrap().unwrap();
    assert_eq!(work.answers, theirs);
    assert_eq!(work.outbox_state, None);
    assert_eq!(work.active_seconds, 600);
    // Storing the item again on its own keeps the platform's copy.
    store
        .put_scoped_item("a1", &scoped("a1", None), None)
        .unwrap();
    assert_eq!(store.submitted_work("a1").unwrap().unwrap().answers, theirs);
}

/// A batch of fetched items is stored in one transaction, each with its
/// attachments and the platform's copy of the reviewer's own submission,
/// and all or nothing: a bad digest or an unknown assignment stores none.
#[test]
fn a_batch_of_items_is_stored_whole_or_not_at_all() {
    let (_dir, store) = open();
    let rows: Vec<Assignment> = (1..=3)
        .map(|i| assignment(&format!("a{i}"), i, AssignmentState::Completed))
        .collect();
    store.apply_assignment_page(&rows, "c").unwrap();
    let sha = "ab".repeat(32);
    let att = AttachmentRef {
        sha256: sha.clone(),
        size: 9,
        media_type: "application/dicom".into(),
        filename: "scan.dcm".into(),
    };
    let items: Vec<ScopedItem> = (1..=3)
        .map(|i| scoped(&format!("a{i}"), (i == 2).then(|| att.clone())))
        .collect();
    let theirs = answers("from the laptop");
    let own = ReviewedSubmission {
        submission_id: "s9".into(),
        answers: serde_json::to_value(&theirs).unwrap(),
        active_seconds: 600,
        submitted_at: t0(),
    };
    let write = |i: usize, id: &'static str| ScopedItemWrite {
        assignment_id: id,
        item: &items[i],
        reviewed: None,
        own: (i == 0).then_some(&own),
    };
    // An unknown assignment or a bad digest: nothing of the batch is stored.
    let bad_item = scoped(
        "a3",
        Some(AttachmentRef {
            sha256: "../x".into(),
            ..att.clone()
        }),
    );
    let bad = ScopedItemWrite {
        assignment_id: "a3",
        item: &bad_item,
        reviewed: None,
        own: None,
    };
    assert!(matches!(
        store.put_scoped_items(&[write(0, "a1"), bad]),
        Err(StoreError::InvalidDigest(_))
    ));
    assert!(matches!(
        store.put_scoped_items(&[write(0, "a1"), write(1, "nope")]),
        Err(StoreError::NotFound(_))
    ));
    for id in ["a1", "a2", "a3"] {
        assert!(store.scoped_item(id).unwrap().is_none());
    }
    // The whole batch.
    store
        .put_scoped_items(&[write(0, "a1"), write(1, "a2"), write(2, "a3")])
        .unwrap();
    // The page cache handed back after the pull loses nothing stored.
    store.release_memory().unwrap();
    for (i, id) in ["a1", "a2", "a3"].into_iter().enumerate() {
        assert_eq!(store.scoped_item(id).unwrap().unwrap(), items[i]);
    }
    assert_eq!(store.missing_attachments().unwrap(), vec![att]);
    let work = store.submitted_work("a1").unwrap().unwrap();
    assert_eq!(work.answers, theirs);
    assert!(store.submitted_work("a2").unwrap().is_none());
    // Stored again without it, the platform's copy is cleared.
    store.put_scoped_items(&[write(1, "a1")]).unwrap();
    assert!(store.submitted_work("a1").unwrap().is_none());
}

#[test]
fn item_batches_leave_every_other_write_fully_synced() {
    let (_dir, store) = open();
    let synchronous = || -> i64 {
        store
            .conn()
            .unwrap()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    };
    store
        .apply_assignment_page(&[assignment("a1", 1, AssignmentState::Active)], "c")
        .unwrap();
    let item = scoped("a1", None);
    let write = |id: &'static str| ScopedItemWrite {
        assignment_id: id,
        item: &item,
        reviewed: None,
        own: None,
    };
    // A batch that commits and one that is refused: FULL (2) again after both.
    store.put_scoped_items(&[write("a1")]).unwrap();
    assert_eq!(synchronous(), 2);
    assert!(store.put_scoped_items(&[write("nope")]).is_err());
    assert_eq!(synchronous(), 2);
    // The connection is not left inside a transaction either.
    assert!(store.conn().unwrap().is_autocommit());
    assert_eq!(store.scoped_item("a1").unwrap(), Some(item.clone()));
}

/// Asserts that `sql` reads `items_scoped` (as `i`) only through the
/// covering index `items_scoped_title`: never the item rows, whose pages
/// hold each item's scoped content.
fn assert_items_read_from_covering_index(sql: &str) {
    let (_dir, store) = open();
    let plan = query_plan(&store.conn().unwrap(), sql);
    assert!(
        plan.iter()
            .any(|p| p.contains("COVERING INDEX items_scoped_title")),
        "{plan:?}"
    );
    assert!(
        !plan
            .iter()
            .any(|p| p.contains("sqlite_autoindex_items_scoped")
                || p.contains("SCAN i ")
                || p.ends_with("SCAN i")),
        "{plan:?}"
    );
}

#[test]
fn queue_reads_titles_from_the_covering_index_not_the_item_rows() {
    assert_items_read_from_covering_index(&items::queue_sql("1"));
}

#[test]
fn version_4_database_gains_the_queue_title_index_and_keeps_its_items() {
    // A database written by a build that knew the first four migrations.
    let (_dir, store) = upgraded_from(4, |c| {
        c.execute(
            "INSERT INTO assignments (id, item_id, opportunity_id, rubric_id, rubric_version, \
               kind, state, assigned_at, lease_expires_at, due_at, seq, updated_at, item_title) \
             VALUES ('old', 'item-old', 'opp-1', 'rub', 1, 'grade', 'active', \
               '2026-11-01T00:00:00.000000Z', '2026-11-22T00:00:00.000000Z', \
               '2026-11-23T00:00:00.000000Z', 1, '2026-11-01T00:00:00.000000Z', 'Feed title')",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO items_scoped (assignment_id, item_id, title, scoped_json, fetched_at) \
             VALUES ('old', 'item-old', 'Stored title', '{}', '2026-11-01T00:00:00.000000Z')",
            [],
        )
        .unwrap();
    });
    assert!(has_index(&store.conn().unwrap(), "items_scoped_title"));
    let q = store.queue(t0()).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].title, "Stored title");
    assert!(q[0].downloaded);
}

#[test]
fn queue_index_takes_in_every_write_and_only_writes() {
    let (dir, store) = open();
    let all = whole_queue(QueueSort::Due);
    let window = |now| store.queue_window(&all, 0, 100, now).unwrap();
    assert_eq!(window(t0()).total, 0);
    store
        .apply_assignment_page(&[assignment("a1", 1, AssignmentState::Active)], "c1")
        .unwrap();
    // A page of assignments derives its rows in its own commit.
    assert_eq!(store.refresh_queue_index().unwrap(), 0);
    assert_eq!(window(t0()).total, 1);
    store.queue(t0()).unwrap();
    store.item_detail("a1", t0()).unwrap();
    assert_eq!(
        store.refresh_queue_index().unwrap(),
        0,
        "reading marks nothing"
    );
    assert_eq!(window(t0()).rows[0].status, QueueStatus::New);
    store.save_draft("a1", &answers("x")).unwrap();
    assert_eq!(window(t0()).rows, store.queue(t0()).unwrap());
    assert_eq!(window(t0()).rows[0].status, QueueStatus::Draft);
    // A write by another connection (another process) is taken in too.
    let other = Connection::open(dir.path().join(DB_FILE)).unwrap();
    other
        .execute("UPDATE assignments SET orphaned = 1 WHERE id = 'a1'", [])
        .unwrap();
    assert_eq!(window(t0()).rows[0].status, QueueStatus::Orphaned);
    other
        .execute("DELETE FROM drafts WHERE assignment_id = 'a1'", [])
        .unwrap();
    // Orphaned with nothing written: the queue no longer shows it.
    assert_eq!(window(t0()).total, 0);
    assert_eq!(store.queue(t0()).unwrap(), vec![]);
}

#[test]
fn version_7_database_drops_the_unused_attachment_sha_index() {
    // A database written by a build that knew the first seven migrations.
    let (_dir, store) = upgraded_from(7, |_| {});
    let conn = store.conn().unwrap();
    assert!(!has_index(&conn, "item_attachments_sha"));
    // An item's attachment list is read by the item's key, and whether each
    // digest is stored by the blobs' own key, never by a scan.
    let plan = |sql: &str| query_plan(&conn, sql);
    let p = plan("SELECT refs_json FROM item_attachment_lists WHERE assignment_id = 'x'");
    assert!(
        p.iter().any(|l| l.contains("(assignment_id=?)")) && !p.iter().any(|l| l.contains("SCAN")),
        "{p:?}"
    );
    let p = plan("SELECT EXISTS(SELECT 1 FROM blobs WHERE sha256 = 'x')");
    assert!(
        p.iter()
            .any(|l| l.contains("INDEX sqlite_autoindex_blobs_1")),
        "{p:?}"
    );
}

#[test]
fn version_12_attachment_rows_become_each_items_list() {
    let (x, y) = ("a".repeat(64), "b".repeat(64));
    const ROW: &str = "INSERT INTO item_attachments \
        (assignment_id, sha256, size, media_type, filename) \
        VALUES ('old', ?1, ?2, 'image/png', ?3)";
    let quoted = "b \"quoted\" \u{e9}.png";
    let (_dir, store) = upgraded_from(12, |c| {
        insert_old_assignment(c);
        insert_old_item(c);
        for (sha, size, name) in [(&x, 7i64, quoted), (&y, -1, "a.dcm")] {
            c.execute(ROW, rusqlite::params![sha, size, name]).unwrap();
        }
    });
    assert!(!has_table(&store.conn().unwrap(), "item_attachments"));
    let att = |sha: &str, size: u64, filename: &str| AttachmentRef {
        sha256: sha.into(),
        size,
        media_type: "image/png".into(),
        filename: filename.into(),
    };
    // Both references survive, ordered by file name; a size the old rows
    // held as negative reads as 0 instead of failing the list.
    assert_eq!(
        attachments_in_view(&store, "old"),
        vec![att(&y, 0, "a.dcm"), att(&x, 7, quoted)]
    );
    assert_eq!(
        store.missing_attachments().unwrap(),
        vec![att(&x, 7, quoted), att(&y, 0, "a.dcm")]
    );
}

#[test]
fn version_13_attachment_lists_move_to_a_rowid_table_unchanged() {
    // A list longer than an index b-tree cell keeps on its page (about 1 KB).
    let long: Vec<AttachmentRef> = (0..40)
        .map(|i| AttachmentRef {
            sha256: format!("{i:064x}"),
            size: i,
            media_type: "application/dicom".into(),
            filename: format!("slice {i} \"\u{e9}\".dcm"),
        })
        .collect();
    let long_json = serde_json::to_string(&long).unwrap();
    assert!(long_json.len() > 4096, "{}", long_json.len());
    const LIST: &str = "INSERT INTO item_attachment_lists (assignment_id, refs_json) \
        VALUES ('old', ?1)";
    let (_dir, store) = upgraded_from(13, |c| {
        insert_old_assignment(c);
        insert_old_item(c);
        c.execute(LIST, [&long_json]).unwrap();
    });
    let conn = store.conn().unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'item_attachment_lists'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!sql.to_uppercase().contains("WITHOUT ROWID"), "{sql}");
    assert!(!has_table(&conn, "item_attachment_lists_rowid"));
    // The key still refers to an assignment, and is still unique.
    assert!(sql.contains("REFERENCES assignments(id)"), "{sql}");
    let dup = conn.execute(
        "INSERT INTO item_attachment_lists (assignment_id, refs_json) VALUES ('old', '[]')",
        [],
    );
    assert!(dup.is_err());
    drop(conn);
    let mut by_name = long.clone();
    by_name.sort_by(|a, b| a.filename.cmp(&b.filename));
    assert_eq!(attachments_in_view(&store, "old"), by_name);
    assert_eq!(store.missing_attachments().unwrap().len(), long.len());
}

#[test]
fn the_page_cache_is_large_only_while_a_pull_writes() {
    let (_dir, store) = open();
    let size = |s: &Store| -> i64 {
        s.conn()
            .unwrap()
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(size(&store), -IDLE_CACHE_KIB);
    store.bulk_cache().unwrap();
    assert_eq!(size(&store), -BULK_CACHE_KIB);
    store.release_memory().unwrap();
    assert_eq!(size(&store), -IDLE_CACHE_KIB);
}

#[test]
fn missing_attachments_is_what_its_query_selects() {
    let (_dir, store) = open_with_active(5);
    let stored = store.put_blob(b"already here").unwrap();
    let att = |sha: &str, size: u64, media_type: &str, filename: &str| AttachmentRef {
        sha256: sha.into(),
        size,
        media_type: media_type.into(),
        filename: filename.into(),
    };
    let (x, y, z) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
    let refs: [(&str, Vec<AttachmentRef>); 5] = [
        (
            "a1",
            vec![att(&x, 10, "image/png", "x.png"), att(&y, 5, "b/b", "y2")],
        ),
        (
            "a2",
            vec![
                att(&x, 12, "image/jpeg", "a.png"),
                att(&stored, 12, "t", "s"),
            ],
        ),
        ("a3", vec![att(&y, 3, "a/a", "y1")]),
        // Only orphaned assignments refer to z, and a4's larger x does not count.
        ("a4", vec![att(&z, 1, "z", "z"), att(&x, 99, "0", "0")]),
        ("a5", vec![]),
    ];
    for (id, list) in &refs {
        let mut item = scoped(id, None);
        if !list.is_empty() {
            item.fields.push(ScopedField {
                value: FieldValue::Attachments(list.clone()),
                ..item.fields[0].clone()
            });
        }
        store.put_scoped_item(id, &item, None).unwrap();
    }
    store
        .apply_assignment_page(&[assignment("a4", 10, AssignmentState::Revoked)], "d")
        .unwrap();
    let by_sql: Vec<AttachmentRef> = {
        let conn = store.conn().unwrap();
        let mut st = conn.prepare(items::MISSING_ATTACHMENTS_SQL).unwrap();
        let rows = st
            .query_map([], |r| {
                Ok(AttachmentRef {
                    sha256: r.get(0)?,
                    size: r.get::<_, i64>(1)?.max(0) as u64,
                    media_type: r.get(2)?,
                    filename: r.get(3)?,
                })
            })
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    let got = store.missing_attachments().unwrap();
    assert_eq!(got, by_sql);
    assert_eq!(
        got,
        vec![att(&x, 12, "image/jpeg", "a.png"), att(&y, 5, "a/a", "y1")]
    );
    // The status bar counts the same digests.
    assert_eq!(store.sync_status().unwrap().attachments_missing, 2);
}

#[test]
fn a_part_hashed_as_written_is_verified_without_reading_it_back() {
    use std::io::Write;
    let (_dir, store) = open();
    let bytes = b"0123456789 scan bytes".to_vec();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let append = |b: &[u8], digest: &mut PartDigest| {
        let mut f = store.blobs().open_part_append(&sha).unwrap();
        f.write_all(b).unwrap();
        digest.update(b);
    };
    // Corrupt bytes arrive: refused, the part is thrown away, nothing is stored.
    let mut d = PartDigest::new();
    let mut bad = bytes.clone();
    bad[3] ^= 1;
    append(&bad, &mut d);
    assert!(matches!(
        store.commit_attachment_digest(&sha, d),
        Err(StoreError::BlobCorrupt { .. })
    ));
    assert_eq!(store.blobs().part_len(&sha).unwrap(), 0);
    assert!(!store.blobs().exists(&sha).unwrap());
    assert_eq!(store.missing_attachments().unwrap(), vec![]);
    // A resumed part: its first bytes are hashed from disk, the rest as written.
    let mut first = PartDigest::new();
    append(&bytes[..7], &mut first);
    let mut d = store.blobs().part_digest(&sha).unwrap();
    assert_eq!(d.len(), 7);
    append(&bytes[7..], &mut d);
    assert_eq!(
        store.commit_attachment_digest(&sha, d).unwrap(),
        bytes.len() as u64
    );
    assert_eq!(store.read_attachment(&sha).unwrap(), bytes);
    // A resumed part whose first bytes on disk are wrong is refused too.
    let mut d = PartDigest::new();
    append(&bad[..7], &mut d);
    let mut d = store.blobs().part_digest(&sha).unwrap();
    append(&bytes[7..], &mut d);
    assert!(matches!(
        store.commit_attachment_digest(&sha, d),
        Err(StoreError::BlobCorrupt { .. })
    ));
    assert_eq!(store.blobs().part_len(&sha).unwrap(), 0);
    // A part something else appended to (its length is not the digest's) is
    // hashed from disk: right bytes commit, and a digest of them alone does
    // not vouch for bytes it never saw.
    let mut d = PartDigest::new();
    append(&bytes[..7], &mut d);
    store
        .blobs()
        .open_part_append(&sha)
        .unwrap()
        .write_all(&bytes[7..])
        .unwrap();
    assert_eq!(
        store.commit_attachment_digest(&sha, d).unwrap(),
        bytes.len() as u64
    );
    let mut d = PartDigest::new();
    append(&bytes, &mut d);
    store
        .blobs()
        .open_part_append(&sha)
        .unwrap()
        .write_all(b"junk")
        .unwrap();
    assert!(matches!(
        store.commit_attachment_digest(&sha, d),
        Err(StoreError::BlobCorrupt { .. })
    ));
    assert_eq!(store.blobs().part_len(&sha).unwrap(), 0);
    // Nothing to resume: an empty digest.
    assert!(store.blobs().part_digest(&sha).unwrap().is_empty());
}

/// The attachments the item view lists for `assignment_id`, in its order.
fn attachments_in_view(store: &Store, assignment_id: &str) -> Vec<AttachmentRef> {
    store
        .item_detail(assignment_id, t0())
        .unwrap()
        .attachments
        .into_iter()
        .map(|s| s.attachment)
        .collect()
}

#[test]
fn an_item_referring_to_an_attachment_twice_keeps_its_last_reference() {
    let (_dir, store) = open_with_active(1);
    let att = |size: u64, filename: &str| AttachmentRef {
        sha256: "d".repeat(64),
        size,
        media_type: "image/png".into(),
        filename: filename.into(),
    };
    let other = AttachmentRef {
        sha256: "e".repeat(64),
        ..att(1, "other.png")
    };
    let mut item = scoped("a1", Some(att(3, "first.png")));
    item.fields.push(ScopedField {
        value: FieldValue::Attachments(vec![other.clone(), att(4, "last.png")]),
        ..item.fields[0].clone()
    });
    // Twice: the second write replaces the first's list.
    for _ in 0..2 {
        store.put_scoped_item("a1", &item, None).unwrap();
        let mut rows = attachments_in_view(&store, "a1");
        rows.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        assert_eq!(rows, vec![att(4, "last.png"), other.clone()]);
    }
}

/// The whole queue, in `order`.
fn whole_queue(order: QueueSort) -> QueueQuery<'static> {
    QueueQuery {
        statuses: &[],
        opportunity_id: None,
        kind: None,
        search: "",
        order,
    }
}

#[test]
fn queue_windows_read_the_queue_index_in_order() {
    let (_dir, store) = open();
    for order in [QueueSort::Due, QueueSort::Lease, QueueSort::Title] {
        let q = whole_queue(order);
        let conn = store.conn().unwrap();
        let mut st = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                queue_index::window_sql(&q)
            ))
            .unwrap();
        let plan: Vec<String> = st
            .query_map(&[(":limit", &100u32), (":offset", &0u32)], |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(
            !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "{order:?}: {plan:?}"
        );
    }
}

#[test]
fn version_8_database_gains_a_queue_index_of_its_assignments() {
    // A database written by a build that knew the first eight migrations.
    let (_dir, store) = upgraded_from(8, insert_old_assignment);
    let all = whole_queue(QueueSort::Due);
    // Its rows are derived on first use, with both statuses of its lease.
    for now in [t0(), t0() + Duration::hours(2)] {
        let w = store.queue_window(&all, 0, 10, now).unwrap();
        assert_eq!(w.rows, store.queue(now).unwrap());
        assert_eq!(w.total, 1);
    }
    assert_eq!(
        store
            .queue_window(&all, 0, 10, t0() + Duration::hours(2))
            .unwrap()
            .rows[0]
            .status,
        QueueStatus::LeaseExpired
    );
    assert_eq!(store.refresh_queue_index().unwrap(), 0);
}

#[test]
fn items_are_stored_compressed_and_read_back_as_written_beside_text_rows_of_version_10() {
    // A store that a version-10 build left: its item's JSON as text.
    let old = scoped("old", None);
    let old_json = serde_json::to_string(&old).unwrap();
    let (_dir, store) = upgraded_from(10, |c| {
        insert_old_assignment(c);
        c.execute(
            "INSERT INTO items_scoped (assignment_id, item_id, title, scoped_json, fetched_at) \
             VALUES ('old', ?1, ?2, ?3, ?4)",
            rusqlite::params![old.item_id, old.title, old_json.clone(), ts(t0())],
        )
        .unwrap();
    });
    assert_eq!(store.scoped_item("old").unwrap(), Some(old));
    store
        .apply_assignment_page(&[assignment("a1", 1, AssignmentState::Active)], "c1")
        .unwrap();
    let mut item = scoped("a1", None);
    // A diff as long as real ones, which compresses as real ones do.
    item.fields[0].value = FieldValue::Text(
        (0..400)
            .map(|i| format!("-    let total_{i} = items.iter().map(|x| x.cost).sum::<u64>();\n+    let total_{i}: u64 = items.iter().map(|x| x.cost).sum();\n"))
            .collect(),
    );
    store.put_scoped_item("a1", &item, None).unwrap();
    assert_eq!(store.scoped_item("a1").unwrap(), Some(item.clone()));
    let (kind, stored): (String, i64) = store
        .conn()
        .unwrap()
        .query_row(
            "SELECT typeof(scoped_json), length(scoped_json) FROM items_scoped WHERE assignment_id = 'a1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let json = serde_json::to_vec(&item).unwrap().len();
    assert_eq!(kind, "blob");
    assert!(
        usize::try_from(stored).unwrap() * 3 < json,
        "{stored} bytes stored for {json} of JSON"
    );
    // What leak checks read besides the file: each item's JSON as written.
    assert_eq!(
        store.stored_item_json().unwrap(),
        vec![
            ("a1".to_string(), serde_json::to_string(&item).unwrap()),
            ("old".to_string(), old_json),
        ]
    );
    // A damaged row is an error that names it; the others still read.
    store
        .conn()
        .unwrap()
        .execute(
            "UPDATE items_scoped SET scoped_json = substr(scoped_json, 1, 40) WHERE assignment_id = 'a1'",
            [],
        )
        .unwrap();
    let e = store.scoped_item("a1").unwrap_err();
    assert!(e.to_string().contains("the item of a1 is damaged"), "{e}");
    assert!(store.scoped_item("old").unwrap().is_some());
}

#[test]
fn missing_items_reads_revisions_from_the_covering_index_not_the_item_rows() {
    assert_items_read_from_covering_index(&items::assignments_missing_items_sql());
}

#[test]
fn version_11_database_finds_missing_and_outdated_items_from_the_index() {
    // A store a version-11 build left: one item stored at the revision its
    // assignment asks for, one at an older revision, one assignment
    // without its item.
    let (_dir, store) = upgraded_from(11, |c| {
        for (id, revision) in [("current", 2), ("outdated", 3), ("missing", 1)] {
            c.execute(
                "INSERT INTO assignments (id, item_id, opportunity_id, rubric_id, rubric_version, \
                   kind, state, assigned_at, lease_expires_at, due_at, seq, updated_at, \
                   item_revision) \
                 VALUES (?1, ?1, 'o', 'r', 1, 'grade', 'active', ?2, ?3, ?3, 1, ?2, ?4)",
                rusqlite::params![id, ts(t0()), ts(t0() + Duration::hours(2)), revision],
            )
            .unwrap();
        }
        for (id, revision) in [("current", 2), ("outdated", 2)] {
            c.execute(
                "INSERT INTO items_scoped (assignment_id, item_id, title, scoped_json, \
                   fetched_at, item_revision) VALUES (?1, ?1, 'T', '{}', ?2, ?3)",
                rusqlite::params![id, ts(t0()), revision],
            )
            .unwrap();
        }
    });
    let conn = store.conn().unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_info('items_scoped_title') ORDER BY seqno")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(columns, ["assignment_id", "title", "item_revision"]);
    drop(conn);
    let missing = store.assignments_missing_items().unwrap();
    let ids: Vec<&str> = missing.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["missing", "outdated"]);
    // The queue still reads its titles from the same index.
    assert_eq!(store.queue(t0()).unwrap().len(), 3);
}

/// Bytes of page cache the store's connection holds
/// (`SQLITE_DBSTATUS_CACHE_USED`; rusqlite has no call for it).
#[allow(unsafe_code)]
fn cache_used(store: &Store) -> i32 {
    let conn = store.conn().unwrap();
    let (mut cur, mut high) = (0, 0);
    // SAFETY: the handle is the live connection's, held under its lock for
    // the call; the two out-pointers are to locals; SQLite only reads its
    // own counters.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_USED,
            &raw mut cur,
            &raw mut high,
            0,
        )
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
    cur
}

#[test]
fn an_idle_store_gives_its_page_cache_back_but_not_while_a_pull_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fill = || {
        let conn = store.conn().unwrap();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS scratch (k INTEGER PRIMARY KEY, v TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO scratch (v) SELECT printf('%.500c', 'x') FROM n;
             SELECT count(*), sum(length(v)) FROM scratch;",
        )
        .unwrap();
    };
    fill();
    let full = cache_used(&store);
    assert!(full > 500_000, "the reads filled {full} bytes of cache");
    // Idle: the pages not in use go back; the data is all still there.
    assert!(store.shrink_idle_cache());
    let after = cache_used(&store);
    assert!(after < full / 4, "{after} of {full} bytes kept");
    let n: i64 = store
        .conn()
        .unwrap()
        .query_row("SELECT count(*) FROM scratch", [], |r| r.get(0))
        .unwrap();
    assert!(n >= 2000, "{n} rows");
    // A pull writing keeps its cache until it releases it itself.
    store.bulk_cache().unwrap();
    fill();
    let bulk = cache_used(&store);
    assert!(!store.shrink_idle_cache());
    assert_eq!(cache_used(&store), bulk);
    store.release_memory().unwrap();
    fill();
    // A connection in use is not idle: left alone, without waiting.
    let held = store.conn().unwrap();
    assert!(!store.shrink_idle_cache());
    drop(held);
    assert!(store.shrink_idle_cache());
}
