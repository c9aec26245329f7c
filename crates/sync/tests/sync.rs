//! Integration tests of assay-sync: keyring, and the sync engine against the
//! reference platform over real HTTP on loopback (directly and through a
//! fault-injecting proxy).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

mod keyring {
    use assay_sync::Credentials;

    /// Round-trips a token through the real Secret Service. CI runs the suite
    /// inside `dbus-run-session` with an unlocked gnome-keyring; without a
    /// session bus this test fails loudly instead of passing vacuously.
    #[test]
    fn keyring_set_get_delete_round_trip() {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "no D-Bus session bus: run under `dbus-run-session -- sh -c 'echo -n pw | \
             gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p assay-sync keyring'`"
        );
        let creds = Credentials::new(&format!("dev.assay.test.{}", std::process::id()));
        let account = "reviewer@example.test";
        let _ = creds.delete_token(account);
        assert_eq!(creds.get_token(account).unwrap(), None);
        creds.set_token(account, "tok-first").unwrap();
        assert_eq!(
            creds.get_token(account).unwrap().unwrap().expose(),
            "tok-first"
        );
        creds.set_token(account, "tok-second").unwrap();
        assert_eq!(
            creds.get_token(account).unwrap().unwrap().expose(),
            "tok-second"
        );
        assert!(creds.delete_token(account).unwrap());
        assert_eq!(creds.get_token(account).unwrap(), None);
        assert!(!creds.delete_token(account).unwrap());
        // Another service name never sees this one's entries.
        let other = Credentials::new("dev.assay.test.other");
        assert_eq!(other.get_token(account).unwrap(), None);
    }
}

mod support;

mod sync {
    mod examples;
}

/// Held by tests whose timing matters (the SIGKILL harness kills its child
/// after a few milliseconds) and by the CPU-heavy hostile tests, so that they
/// never run at the same time on a small machine.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

mod common {
    use std::sync::Arc;
    use std::time::Duration;

    use assay_platform::testing::{start_seeded, TestPlatform};
    use assay_protocol::{AssignmentKind, SubmissionRequest};
    use assay_rubric::Answers;
    use assay_store::{QueueStatus, Store};
    use assay_sync::{PlatformClient, SyncConfig, SyncEngine, Token};

    pub struct Env {
        pub platform: TestPlatform,
        pub store: Arc<Store>,
        pub engine: SyncEngine,
        pub _dir: tempfile::TempDir,
    }

    pub fn fast_config() -> SyncConfig {
        SyncConfig {
            // Small pages exercise cursor paging on the small seed.
            page_size: 3,
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(200),
            ..SyncConfig::default()
        }
    }

    pub fn engine(
        base_url: &str,
        token: &str,
        store: Arc<Store>,
        config: SyncConfig,
    ) -> SyncEngine {
        let client = PlatformClient::new(base_url)
            .unwrap()
            .with_token(Token::new(token));
        SyncEngine::new(client, store, config)
    }

    pub async fn start() -> Env {
        let platform = start_seeded().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let engine = engine(
            &platform.base_url(),
            &platform.expert_token,
            Arc::clone(&store),
            fast_config(),
        );
        Env {
            platform,
            store,
            engine,
            _dir: dir,
        }
    }

    /// `POST /api/v1/admin{path}` with the admin token.
    pub async fn admin(p: &TestPlatform, path: &str, body: serde_json::Value) -> serde_json::Value {
        let resp = reqwest::Client::new()
            .post(p.api_url(&format!("/admin{path}")))
            .bearer_auth(&p.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        super::support::success_json(resp, &format!("admin {path}")).await
    }

    /// Moves the platform's lease of `assignment_id` to end at `at`.
    pub async fn set_lease(
        p: &TestPlatform,
        assignment_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let path = format!("/assignments/{assignment_id}/lease");
        admin(p, &path, serde_json::json!({ "lease_expires_at": at })).await;
    }

    /// `start`, then a first pull.
    pub async fn start_pulled() -> Env {
        let env = start().await;
        env.engine.pull(|_| {}).await.unwrap();
        env
    }

    /// Every fault in `faults` was injected at least once.
    pub fn assert_injected(stats: &std::collections::BTreeMap<&'static str, u32>, faults: &[&str]) {
        for fault in faults {
            assert!(
                stats.get(fault).copied().unwrap_or(0) > 0,
                "{fault} never injected: {stats:?}"
            );
        }
    }

    pub use super::support::valid_answers;

    pub fn request(store: &Store, assignment_id: &str, answers: &Answers) -> SubmissionRequest {
        let a = store.assignment(assignment_id).unwrap().unwrap();
        SubmissionRequest {
            assignment_id: a.id.clone(),
            rubric_id: a.rubric_id.clone(),
            rubric_version: a.rubric_version,
            answers: serde_json::to_value(answers).unwrap(),
            active_seconds: 90,
            time_log: vec![],
            client_created_at: chrono::Utc::now(),
        }
    }

    /// Grade assignments that are workable now (new, item downloaded), due-date order.
    pub fn workable(store: &Store) -> Vec<String> {
        store
            .queue(chrono::Utc::now())
            .unwrap()
            .into_iter()
            .filter(|r| {
                r.kind == AssignmentKind::Grade && r.status == QueueStatus::New && r.downloaded
            })
            .map(|r| r.assignment_id)
            .collect()
    }

    /// Save a valid draft and move it to the outbox, like the app does.
    pub fn grade_and_submit(store: &Store, assignment_id: &str) -> String {
        let a = store.assignment(assignment_id).unwrap().unwrap();
        let rubric = store
            .rubric(&a.rubric_id, a.rubric_version)
            .unwrap()
            .unwrap();
        let answers = valid_answers(&rubric);
        store
            .save_draft_with(assignment_id, &answers, true)
            .unwrap();
        store
            .submit(assignment_id, &request(store, assignment_id, &answers))
            .unwrap()
            .idempotency_key
    }

    /// How many submissions the platform holds for an assignment (read from its database).
    pub fn platform_submissions(p: &TestPlatform, assignment_id: &str) -> i64 {
        let c = rusqlite::Connection::open(p.dir().join("platform.db")).unwrap();
        c.query_row(
            "SELECT COUNT(*) FROM submissions WHERE assignment_id = ?1",
            [assignment_id],
            |r| r.get(0),
        )
        .unwrap()
    }
}

mod pull {
    use std::sync::Mutex;

    use assay_protocol::FieldValue;
    use assay_store::{QueueStatus, StoreError};
    use assay_sync::{SyncError, SyncPhase, SyncProgress};

    use super::common::*;

    #[tokio::test]
    async fn pull_scopes_items_downloads_attachments_and_is_incremental() {
        let env = start().await;
        let events = Mutex::new(Vec::<SyncProgress>::new());
        let report = env
            .engine
            .pull(|p| events.lock().unwrap().push(p))
            .await
            .unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(report.assignments > 3, "paged with page size 3: {report:?}");
        assert!(report.items > 0 && report.rubrics > 0, "{report:?}");
        assert!(report.attachments > 0 && report.bytes > 0, "{report:?}");
        assert!(report.ledger_entries > 0, "seeded history: {report:?}");
        let queue = env.store.queue(chrono::Utc::now()).unwrap();
        assert!(!queue.is_empty());
        assert!(queue
            .iter()
            .any(|r| r.pay.is_some() && r.opportunity_title.is_some()));
        // Every stored item holds only the fields its rubric shows.
        let mut attachments = 0;
        for row in queue.iter().filter(|r| r.downloaded) {
            let d = env
                .store
                .item_detail(&row.assignment_id, chrono::Utc::now())
                .unwrap();
            let scoped = d.scoped.unwrap();
            let rubric = env
                .store
                .rubric(&scoped.rubric_id, scoped.rubric_version)
                .unwrap()
                .unwrap();
            for f in &scoped.fields {
                assert!(
                    rubric.fields.iter().any(|v| v.id == f.id),
                    "hidden field {} stored",
                    f.id
                );
                if let FieldValue::Attachment(a) = &f.value {
                    let bytes = env.store.read_attachment(&a.sha256).unwrap();
                    assert_eq!(bytes.len() as u64, a.size);
                    attachments += 1;
                }
            }
        }
        assert!(attachments > 0);
        let status = env.store.sync_status().unwrap();
        assert_eq!(status.attachments_missing, 0);
        // Progress: attachments phase reported bytes up to the total.
        let events = events.into_inner().unwrap();
        let last_att = events
            .iter()
            .rev()
            .find(|p| p.phase == SyncPhase::Attachments)
            .unwrap();
        assert!(last_att.bytes_total > 0);
        assert_eq!(last_att.bytes_done, last_att.bytes_total);
        assert_eq!(events.last().unwrap().phase, SyncPhase::Done);
        // Incremental: nothing new the second time.
        let again = env.engine.pull(|_| {}).await.unwrap();
        assert_eq!(
            (
                again.assignments,
                again.items,
                again.attachments,
                again.outcomes,
                again.ledger_entries
            ),
            (0, 0, 0, 0, 0),
            "{again:?}"
        );
        assert!(matches!(
            env.store.read_attachment(&"0".repeat(64)),
            Err(StoreError::NotFound(_))
        ));
        assert!(queue.iter().all(|r| r.status != QueueStatus::Orphaned));
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn attachment_download_resumes_from_partial_file() {
        let env = start_pulled().await;
        // Find an attachment, forget it locally, and leave the first half as a partial download.
        let att = env
            .store
            .queue(chrono::Utc::now())
            .unwrap()
            .iter()
            .filter(|r| r.downloaded)
            .flat_map(|r| {
                env.store
                    .item_detail(&r.assignment_id, chrono::Utc::now())
                    .unwrap()
                    .attachments
            })
            .map(|s| s.attachment)
            .max_by_key(|a| a.size)
            .unwrap();
        let bytes = env.store.read_attachment(&att.sha256).unwrap();
        std::fs::write(env.store.blobs().path(&att.sha256).unwrap(), b"corrupted").unwrap();
        assert!(env.store.read_attachment(&att.sha256).is_err());
        let half = bytes.len() / 2;
        std::fs::write(
            env.store.blobs().part_path(&att.sha256).unwrap(),
            &bytes[..half],
        )
        .unwrap();
        let report = env.engine.pull(|_| {}).await.unwrap();
        assert_eq!(report.attachments, 1);
        assert_eq!(
            report.bytes,
            (bytes.len() - half) as u64,
            "only the rest was fetched"
        );
        assert_eq!(env.store.read_attachment(&att.sha256).unwrap(), bytes);
        // A corrupt partial file is detected by the hash and downloaded again.
        std::fs::remove_file(env.store.blobs().path(&att.sha256).unwrap()).unwrap();
        assert!(env.store.read_attachment(&att.sha256).is_err());
        let mut bad = bytes.clone();
        bad[0] ^= 0xff;
        std::fs::write(env.store.blobs().part_path(&att.sha256).unwrap(), &bad).unwrap();
        let first = env.engine.pull(|_| {}).await.unwrap();
        assert_eq!(first.attachments, 1, "{first:?}");
        assert_eq!(env.store.read_attachment(&att.sha256).unwrap(), bytes);
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn revoked_assignment_leaves_queue_but_keeps_its_draft() {
        let env = start_pulled().await;
        let work = workable(&env.store);
        assert!(work.len() >= 3, "{work:?}");
        let (with_draft, without) = (&work[0], &work[1]);
        let mut answers = assay_rubric::Answers::default();
        answers
            .rationales
            .insert("note".into(), "half-way through".into());
        env.store.save_draft(with_draft, &answers).unwrap();
        admin(
            &env.platform,
            &format!("/assignments/{with_draft}/revoke"),
            serde_json::json!({}),
        )
        .await;
        admin(
            &env.platform,
            &format!("/assignments/{without}/revoke"),
            serde_json::json!({}),
        )
        .await;
        // The reviewer hands a third one back: also leaves the queue, draft kept.
        let released = &work[2];
        env.store.save_draft(released, &answers).unwrap();
        env.engine.client().release(released).await.unwrap();
        let report = env.engine.pull(|_| {}).await.unwrap();
        let mut orphans = report.orphaned_with_drafts.clone();
        orphans.sort();
        let mut expected = vec![with_draft.clone(), released.clone()];
        expected.sort();
        assert_eq!(orphans, expected);
        assert_eq!(
            env.store.status_of(released, chrono::Utc::now()).unwrap(),
            QueueStatus::Orphaned
        );
        assert_eq!(env.store.draft(released).unwrap().unwrap().answers, answers);
        let queue = env.store.queue(chrono::Utc::now()).unwrap();
        let row = queue
            .iter()
            .find(|r| &r.assignment_id == with_draft)
            .unwrap();
        assert_eq!(row.status, QueueStatus::Orphaned);
        assert!(queue.iter().all(|r| &r.assignment_id != without));
        assert_eq!(
            env.store.draft(with_draft).unwrap().unwrap().answers,
            answers
        );
        assert_eq!(env.store.sync_status().unwrap().orphaned_drafts, 2);
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_sync_leaves_the_queue_index_current() {
        let env = start().await;
        env.engine.sync_once(|_| {}).await.unwrap();
        // Everything the pull wrote is in the queue's index already: the
        // queue's next window has nothing to derive.
        assert_eq!(env.store.refresh_queue_index().unwrap(), 0);
        let now = chrono::Utc::now();
        let all = assay_store::QueueQuery {
            statuses: &[],
            opportunity_id: None,
            kind: None,
            search: "",
            order: assay_store::QueueSort::Due,
        };
        let window = env.store.queue_window(&all, 0, 500, now).unwrap();
        assert!(window.total > 0);
        assert_eq!(window.total as usize, env.store.queue(now).unwrap().len());
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn bad_token_is_unauthorized() {
        let env = start().await;
        let engine = engine(
            &env.platform.base_url(),
            "not-a-token",
            env.store.clone(),
            fast_config(),
        );
        assert!(matches!(
            engine.pull(|_| {}).await,
            Err(SyncError::Unauthorized)
        ));
        let r = engine.sync_once(|_| {}).await;
        assert!(matches!(r, Err(SyncError::Unauthorized)));
        assert!(env.store.sync_status().unwrap().last_error.is_some());
        env.platform.shutdown().await.unwrap();
    }
}

mod push {
    use assay_protocol::OutcomeStatus;
    use assay_store::{IssueKind, OutboxPayload, QueueStatus};

    use super::common::*;

    /// A sync hands its upload's report over only when the upload did
    /// anything: the callers (the background loop, "Sync now") tell the
    /// status bar whatever they are handed, so an empty outbox tells nothing.
    #[tokio::test]
    async fn a_syncs_upload_is_handed_over_only_when_it_did_anything() {
        let env = start_pulled().await;
        type Handed = std::sync::Arc<std::sync::Mutex<Vec<assay_sync::PushReport>>>;
        async fn sync(engine: &assay_sync::SyncEngine, handed: &Handed) -> assay_sync::SyncReport {
            let handed = handed.clone();
            engine
                .sync_once_reporting(
                    |_| {},
                    move |push| handed.lock().unwrap().push(push.clone()),
                )
                .await
                .unwrap()
        }
        let handed = Handed::default();
        let report = sync(&env.engine, &handed).await;
        assert!(!report.push.did_anything(), "{report:?}");
        assert!(handed.lock().unwrap().is_empty(), "{:?}", handed.lock());
        let id = workable(&env.store).remove(0);
        grade_and_submit(&env.store, &id);
        let report = sync(&env.engine, &handed).await;
        assert_eq!(report.push.sent, 1, "{report:?}");
        let handed = handed.lock().unwrap().clone();
        assert_eq!(handed, [report.push], "handed once, the sync's own report");
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn submission_uploads_once_and_outcome_flows_back() {
        let env = start_pulled().await;
        let id = workable(&env.store).remove(0);
        let key = grade_and_submit(&env.store, &id);
        assert_eq!(
            env.store.status_of(&id, chrono::Utc::now()).unwrap(),
            QueueStatus::InOutbox
        );
        let report = env.engine.push().await.unwrap();
        assert_eq!(
            (report.sent, report.failed, report.replayed),
            (1, 0, 0),
            "{report:?}"
        );
        assert_eq!(
            env.store.status_of(&id, chrono::Utc::now()).unwrap(),
            QueueStatus::Submitted
        );
        assert_eq!(platform_submissions(&env.platform, &id), 1);
        // The same key again (a retry after a lost response) replays the receipt.
        let entry = env.store.latest_outbox_entry(&id).unwrap().unwrap();
        let OutboxPayload::Submission(req) = &entry.payload else {
            panic!()
        };
        let replay = env.engine.client().submit(req, &key).await.unwrap();
        assert!(replay.replayed);
        assert_eq!(
            replay.submission_id,
            env.store
                .latest_submission(&id)
                .unwrap()
                .unwrap()
                .submission_id
        );
        assert_eq!(platform_submissions(&env.platform, &id), 1);
        // Nothing left to push.
        assert_eq!(env.engine.push().await.unwrap().sent, 0);
        // The platform rejects it with feedback: visible on the item after a pull.
        admin(
            &env.platform,
            "/outcomes",
            serde_json::json!({"submission_id": replay.submission_id, "status": "rejected",
                               "feedback": "missed the off-by-one"}),
        )
        .await;
        let pulled = env.engine.pull(|_| {}).await.unwrap();
        assert!(pulled.outcomes >= 1);
        let d = env.store.item_detail(&id, chrono::Utc::now()).unwrap();
        assert_eq!(d.status, QueueStatus::Rejected);
        let sub = d.latest_submission.unwrap();
        assert_eq!(sub.status, OutcomeStatus::Rejected);
        assert_eq!(sub.feedback.as_deref(), Some("missed the off-by-one"));
        let status = env.store.sync_status().unwrap();
        assert_eq!((status.outbox_pending, status.outbox_failed), (0, 0));
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn lease_expiry_and_rubric_change_become_item_states_and_keep_drafts() {
        let env = start_pulled().await;
        let work = workable(&env.store);
        let (expired, changed) = (&work[0], &work[1]);
        set_lease(
            &env.platform,
            expired,
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await;
        grade_and_submit(&env.store, expired);
        // A submission against another rubric version than the assignment's.
        let a = env.store.assignment(changed).unwrap().unwrap();
        let rubric = env
            .store
            .rubric(&a.rubric_id, a.rubric_version)
            .unwrap()
            .unwrap();
        let answers = valid_answers(&rubric);
        let mut req = request(&env.store, changed, &answers);
        req.rubric_version += 1;
        env.store.submit(changed, &req).unwrap();
        let report = env.engine.push().await.unwrap();
        assert_eq!((report.sent, report.failed), (0, 2), "{report:?}");
        let d = env.store.item_detail(expired, chrono::Utc::now()).unwrap();
        assert_eq!(d.status, QueueStatus::LeaseExpired);
        assert_eq!(d.issue.unwrap().kind, IssueKind::LeaseExpired);
        assert!(d.draft.is_some(), "answers returned to the draft");
        let d = env.store.item_detail(changed, chrono::Utc::now()).unwrap();
        assert_eq!(d.status, QueueStatus::RubricChanged);
        assert_eq!(d.draft.unwrap().answers, answers);
        assert_eq!(platform_submissions(&env.platform, expired), 0);
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn lapsed_lease_shows_expired_before_and_after_the_platform_reports_it() {
        let env = start().await;
        // Mid-pull (assignments in, outcomes not yet), the queue never shows
        // the seeded history (completed long ago, leases long lapsed) as new.
        let store = env.store.clone();
        let bad = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bad.clone();
        env.engine
            .pull(move |p| {
                if p.phase != assay_sync::SyncPhase::Outcomes {
                    return;
                }
                let now = chrono::Utc::now();
                for r in store.queue(now).unwrap() {
                    if r.status == QueueStatus::New && r.lease_expires_at <= now {
                        seen.lock().unwrap().push(r.assignment_id);
                    }
                }
            })
            .await
            .unwrap();
        assert!(bad.lock().unwrap().is_empty(), "{:?}", bad.lock().unwrap());
        // Screening tasks arrive with their kind and no pay.
        let queue = env.store.queue(chrono::Utc::now()).unwrap();
        let screening: Vec<_> = queue
            .iter()
            .filter(|r| r.kind == assay_protocol::AssignmentKind::Screening)
            .collect();
        assert!(!screening.is_empty(), "the demo seed has screening tasks");
        assert!(screening.iter().all(|r| r.pay.is_none() && r.downloaded));
        assert!(
            queue
                .iter()
                .filter(|r| r.status == QueueStatus::New)
                .all(|r| r.lease_expires_at > chrono::Utc::now()),
            "the demo seed gives live leases to work meant to be done"
        );
        let id = workable(&env.store)[0].clone();
        env.store
            .save_draft(&id, &assay_rubric::Answers::default())
            .unwrap();
        // The lease is about to run out on the platform; the client learns it.
        let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
        set_lease(&env.platform, &id, soon).await;
        env.engine.pull(|_| {}).await.unwrap();
        let now = chrono::Utc::now();
        assert_eq!(env.store.status_of(&id, now).unwrap(), QueueStatus::Draft);
        // Past the lease, the client shows it expired before any sync.
        let later = soon + chrono::Duration::seconds(1);
        assert_eq!(
            env.store.status_of(&id, later).unwrap(),
            QueueStatus::LeaseExpired
        );
        let row = env
            .store
            .queue(later)
            .unwrap()
            .into_iter()
            .find(|r| r.assignment_id == id)
            .unwrap();
        assert_eq!(row.status, QueueStatus::LeaseExpired);
        // Once it lapsed, the platform's feed reports it expired; the draft stays.
        while chrono::Utc::now() <= soon {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        env.engine.pull(|_| {}).await.unwrap();
        let a = env.store.assignment(&id).unwrap().unwrap();
        assert_eq!(a.state, assay_protocol::AssignmentState::Expired);
        let d = env.store.item_detail(&id, chrono::Utc::now()).unwrap();
        assert_eq!(d.status, QueueStatus::LeaseExpired);
        assert!(d.draft.is_some(), "the draft is kept");
        assert!(!workable(&env.store).contains(&id));
        env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn leases_are_renewed_while_working_and_expiry_keeps_the_draft() {
        let env = start().await;
        let mut config = fast_config();
        config.lease_renew_before = std::time::Duration::from_secs(365 * 86_400);
        let engine = engine(
            &env.platform.base_url(),
            &env.platform.expert_token,
            env.store.clone(),
            config,
        );
        engine.pull(|_| {}).await.unwrap();
        let work = workable(&env.store);
        let (a, b) = (work[0].clone(), work[1].clone());
        engine.set_working_on([a.clone(), b.clone()]);
        // a's lease is about to run out; renewing extends it.
        let soon = chrono::Utc::now() + chrono::Duration::minutes(2);
        set_lease(&env.platform, &a, soon).await;
        engine.pull(|_| {}).await.unwrap();
        let before = env.store.assignment(&a).unwrap().unwrap().lease_expires_at;
        assert!(
            (before - soon).num_seconds().abs() < 1,
            "pulled the short lease"
        );
        let report = engine.renew_leases().await.unwrap();
        assert_eq!(report.renewed.len(), 2, "{report:?}");
        let after = env.store.assignment(&a).unwrap().unwrap().lease_expires_at;
        let renewed = report
            .renewed
            .iter()
            .find(|l| l.assignment_id == a)
            .unwrap();
        assert!(
            (after - renewed.lease_expires_at)
                .num_microseconds()
                .unwrap()
                .abs()
                < 1000
        );
        assert!(
            after > before + chrono::Duration::minutes(1),
            "{before} -> {after}"
        );
        // The platform expires b's lease: renewal is refused, the draft stays.
        env.store
            .save_draft(&b, &assay_rubric::Answers::default())
            .unwrap();
        set_lease(
            &env.platform,
            &b,
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await;
        let report = engine.renew_leases().await.unwrap();
        assert_eq!(report.expired, vec![b.clone()], "{report:?}");
        assert_eq!(
            env.store.status_of(&b, chrono::Utc::now()).unwrap(),
            QueueStatus::LeaseExpired
        );
        assert!(env.store.draft(&b).unwrap().is_some());
        env.platform.shutdown().await.unwrap();
    }
}

/// A TCP proxy between the client and the platform that, while `faults` is on,
/// drops connections (before and after the platform handled the request),
/// delays, answers 500/503 (with `Retry-After`) and truncates response bodies,
/// chosen by a seeded RNG.
mod proxy {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use assay_pgtest::relay::{find, forward, read_request};

    pub struct FaultProxy {
        pub addr: SocketAddr,
        pub faults: Arc<AtomicBool>,
        pub stats: Arc<Mutex<BTreeMap<&'static str, u32>>>,
        /// [in flight, most ever in flight] of attachment downloads.
        pub attachments: Arc<[AtomicUsize; 2]>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for FaultProxy {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    pub async fn start(upstream: SocketAddr, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(AtomicBool::new(true));
        let stats = Arc::new(Mutex::new(BTreeMap::new()));
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        let attachments = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let (f, s, at) = (faults.clone(), stats.clone(), attachments.clone());
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (f, s, rng, at) = (f.clone(), s.clone(), rng.clone(), at.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(20),
                        handle(conn, upstream, f, s, rng, at),
                    )
                    .await;
                });
            }
        });
        FaultProxy {
            addr,
            faults,
            stats,
            attachments,
            task,
        }
    }

    async fn handle(
        mut conn: TcpStream,
        upstream: SocketAddr,
        faults: Arc<AtomicBool>,
        stats: Arc<Mutex<BTreeMap<&'static str, u32>>>,
        rng: Arc<Mutex<StdRng>>,
        attachments: Arc<[AtomicUsize; 2]>,
    ) {
        let Some(req) = read_request(&mut conn).await else {
            return;
        };
        // Attachment downloads are held open a little so overlap is observable.
        let is_attachment = req.starts_with(b"GET /api/v1/attachments/");
        if is_attachment {
            let now = attachments[0].fetch_add(1, Ordering::SeqCst) + 1;
            attachments[1].fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        handle_request(conn, req, upstream, faults, stats, rng).await;
        if is_attachment {
            attachments[0].fetch_sub(1, Ordering::SeqCst);
        }
    }

    async fn handle_request(
        mut conn: TcpStream,
        req: Vec<u8>,
        upstream: SocketAddr,
        faults: Arc<AtomicBool>,
        stats: Arc<Mutex<BTreeMap<&'static str, u32>>>,
        rng: Arc<Mutex<StdRng>>,
    ) {
        let (roll, delay_ms) = {
            let mut r = rng.lock().unwrap();
            (r.gen_range(0..100u32), r.gen_range(20..200u64))
        };
        let fault = if faults.load(Ordering::SeqCst) {
            match roll {
                0..=11 => "drop_before",
                12..=21 => "drop_after",
                22..=27 => "503_retry_after",
                28..=33 => "500",
                34..=45 => "truncate",
                46..=55 => "delay",
                _ => "pass",
            }
        } else {
            "clean"
        };
        *stats.lock().unwrap().entry(fault).or_default() += 1;
        match fault {
            "drop_before" => {}
            "503_retry_after" => {
                let _ = conn
                    .write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
                          Content-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            }
            "500" => {
                let body = br#"{"code":"internal","message":"injected"}"#;
                let head = format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body).await;
            }
            _ => {
                if fault == "delay" {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                }
                let Some(resp) = forward(&req, upstream).await else {
                    return;
                };
                match fault {
                    // The platform handled the request; the client never hears back.
                    "drop_after" => {}
                    "truncate" => {
                        let body_start = find(&resp, b"\r\n\r\n").map_or(resp.len(), |i| i + 4);
                        let keep = body_start + (resp.len() - body_start) / 2;
                        let _ = conn.write_all(&resp[..keep]).await;
                    }
                    _ => {
                        let _ = conn.write_all(&resp).await;
                    }
                }
            }
        }
        let _ = conn.shutdown().await;
    }
}

mod faults {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use assay_store::QueueStatus;

    use super::common::*;

    fn engine_for_control(
        env: &Env,
        store: std::sync::Arc<assay_store::Store>,
    ) -> assay_sync::SyncEngine {
        engine(
            &env.platform.base_url(),
            &env.platform.expert_token,
            store,
            fast_config(),
        )
    }

    async fn settle_pause(store: &assay_store::Store) {
        let wait = store
            .next_outbox_due()
            .unwrap()
            .and_then(|t| (t - chrono::Utc::now()).to_std().ok())
            .unwrap_or(Duration::from_millis(5))
            .clamp(Duration::from_millis(5), Duration::from_millis(300));
        tokio::time::sleep(wait).await;
    }

    /// Attachments download in parallel, never more than the configured bound.
    #[tokio::test]
    async fn attachment_downloads_are_parallel_and_bounded() {
        let env = start().await;
        let proxy = super::proxy::start(env.platform.server.addr(), 1).await;
        proxy.faults.store(false, Ordering::SeqCst);
        let mut config = fast_config();
        config.attachment_concurrency = 2;
        let engine = engine(
            &format!("http://{}", proxy.addr),
            &env.platform.expert_token,
            env.store.clone(),
            config,
        );
        let report = engine.pull(|_| {}).await.unwrap();
        assert!(report.attachments >= 3, "{report:?}");
        let max = proxy.attachments[1].load(Ordering::SeqCst);
        assert_eq!(max, 2, "at most 2 downloads at once, and they overlapped");
        drop(proxy);
        env.platform.shutdown().await.unwrap();
    }

    /// Through a proxy that drops, delays, fails and truncates at random, the
    /// client keeps syncing; once the network settles the platform holds exactly
    /// one copy of every submission and the client shows everything synced.
    #[tokio::test]
    async fn flaky_network_converges_to_exactly_once() {
        let _alone = super::HEAVY.lock().await;
        let env = start().await;
        let proxy = super::proxy::start(env.platform.server.addr(), 0xA55A7).await;
        let url = format!("http://{}", proxy.addr);
        let engine = engine(
            &url,
            &env.platform.expert_token,
            env.store.clone(),
            fast_config(),
        );
        // Pull through the faults: every attempt keeps what it got (cursors,
        // partial attachments), so the pulls make progress despite failures.
        let mut failures = 0;
        for _ in 0..40 {
            if engine.pull(|_| {}).await.is_err() {
                failures += 1;
            }
        }
        assert!(failures > 0, "the proxy injected no pull failures");
        proxy.faults.store(false, Ordering::SeqCst);
        engine.pull(|_| {}).await.unwrap();
        // The result equals a clean pull into another store.
        let control_dir = tempfile::tempdir().unwrap();
        let control = std::sync::Arc::new(assay_store::Store::open(control_dir.path()).unwrap());
        let direct = engine_for_control(&env, control.clone());
        direct.pull(|_| {}).await.unwrap();
        assert_eq!(
            env.store.queue(chrono::Utc::now()).unwrap(),
            control.queue(chrono::Utc::now()).unwrap()
        );
        assert_eq!(env.store.ledger().unwrap(), control.ledger().unwrap());
        assert_eq!(env.store.sync_status().unwrap().attachments_missing, 0);
        proxy.faults.store(true, Ordering::SeqCst);
        let work = workable(&env.store);
        assert!(work.len() >= 3, "{work:?}");
        for id in &work {
            grade_and_submit(&env.store, id);
        }
        // Keep syncing while the network misbehaves.
        for _ in 0..25 {
            let _ = engine.sync_once(|_| {}).await;
            settle_pause(&env.store).await;
        }
        // The network settles.
        proxy.faults.store(false, Ordering::SeqCst);
        let mut clean = false;
        for _ in 0..40 {
            let ok = engine.sync_once(|_| {}).await.is_ok();
            if ok && env.store.sync_status().unwrap().outbox_pending == 0 {
                clean = true;
                break;
            }
            settle_pause(&env.store).await;
        }
        let stats = proxy.stats.lock().unwrap().clone();
        assert!(
            clean,
            "did not converge; {stats:?}; {:?}",
            env.store.sync_status().unwrap()
        );
        assert_injected(
            &stats,
            &[
                "drop_before",
                "drop_after",
                "500",
                "503_retry_after",
                "truncate",
                "delay",
            ],
        );
        for id in &work {
            assert_eq!(platform_submissions(&env.platform, id), 1, "{id}");
            assert_eq!(
                env.store.status_of(id, chrono::Utc::now()).unwrap(),
                QueueStatus::Submitted,
                "{id}"
            );
        }
        let status = env.store.sync_status().unwrap();
        assert_eq!(
            (
                status.outbox_pending,
                status.outbox_failed,
                status.attachments_missing
            ),
            (0, 0, 0)
        );
        assert_eq!(status.last_error, None);
        assert!(env
            .store
            .queue(chrono::Utc::now())
            .unwrap()
            .iter()
            .all(|r| r.status != QueueStatus::InOutbox));
        drop(proxy);
        env.platform.shutdown().await.unwrap();
    }
}

mod background {
    use std::sync::Arc;
    use std::time::Duration;

    use assay_store::QueueStatus;
    use assay_sync::{spawn_background, SyncEvent};

    use super::common::*;

    /// The next sync report, its progress events and what the upload lane
    /// sent meanwhile.
    async fn next_synced(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<SyncEvent>,
    ) -> (assay_sync::SyncReport, u32, u32) {
        let mut progress = 0;
        let mut uploaded = 0;
        loop {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(SyncEvent::Synced { report })) => return (report, progress, uploaded),
                Ok(Some(SyncEvent::Uploaded { report })) => uploaded += report.sent,
                Ok(Some(SyncEvent::Progress { .. })) => progress += 1,
                Ok(Some(SyncEvent::Failed { message, .. })) => panic!("sync failed: {message}"),
                Ok(Some(_)) => {}
                other => panic!("no sync event: {other:?}"),
            }
        }
    }

    /// The loop syncs on start, uploads on trigger, reports progress and stops cleanly.
    #[tokio::test]
    async fn background_loop_syncs_uploads_on_trigger_and_stops() {
        let env = start().await;
        let engine = Arc::new(engine(
            &env.platform.base_url(),
            &env.platform.expert_token,
            env.store.clone(),
            fast_config(),
        ));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let bg = spawn_background(engine, Duration::from_secs(3600), tx);
        let (first, progress, _) = next_synced(&mut rx).await;
        assert!(first.pull.assignments > 0 && progress > 0);
        let id = workable(&env.store).remove(0);
        grade_and_submit(&env.store, &id);
        bg.trigger();
        let (second, _, told) = next_synced(&mut rx).await;
        // Sent once, by the upload lane or the sync's own upload, whichever
        // came first; either tells it as `Uploaded` when its upload ends.
        assert_eq!(told, 1, "{second:?}");
        assert!(second.push.sent <= 1, "{second:?}");
        assert_eq!(platform_submissions(&env.platform, &id), 1);
        assert_eq!(
            env.store.status_of(&id, chrono::Utc::now()).unwrap(),
            QueueStatus::Submitted
        );
        tokio::time::timeout(Duration::from_secs(10), bg.stop())
            .await
            .unwrap();
        env.platform.shutdown().await.unwrap();
    }
}

/// A TCP gate in front of the platform: while `down`, connections are
/// refused (accepted and dropped at once), like a platform that went away.
mod gate {
    use std::net::SocketAddr;

    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;

    pub struct Gate {
        pub addr: SocketAddr,
        down: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Gate {
        /// Down: open connections are cut and new ones dropped at once.
        pub fn set_down(&self, down: bool) {
            self.down.send_replace(down);
        }
    }

    impl Drop for Gate {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    pub async fn start(upstream: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (down, watching) = watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                if *watching.borrow() {
                    drop(conn);
                    continue;
                }
                let mut cut = watching.clone();
                tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut conn, &mut up) => {}
                            _ = cut.wait_for(|d| *d) => {}
                        }
                    }
                });
            }
        });
        Gate { addr, down, task }
    }
}

mod reachability {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use assay_store::QueueStatus;
    use assay_sync::{spawn_background, SyncConfig, SyncEvent};
    use tokio::sync::mpsc::UnboundedReceiver;

    use super::common::*;

    /// The next event other than progress and lease reports.
    async fn next(rx: &mut UnboundedReceiver<SyncEvent>) -> SyncEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(SyncEvent::Progress { .. } | SyncEvent::Leases { .. })) => {}
                Ok(Some(ev)) => return ev,
                other => panic!("no sync event: {other:?}"),
            }
        }
    }

    /// The platform goes away while the reviewer submits: the upload waits in
    /// the outbox with a long backoff and the poll interval is an hour, yet
    /// the moment the platform is reachable again the loop notices (fast
    /// probe) and uploads, within a couple of seconds.
    #[tokio::test]
    async fn outbox_drains_as_soon_as_the_platform_is_back() {
        let env = start().await;
        let upstream: std::net::SocketAddr = env
            .platform
            .base_url()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let gate = super::gate::start(upstream).await;
        let config = SyncConfig {
            // Without the probe the upload would wait 15–30 s and the loop 30 s.
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(60),
            ..SyncConfig::default()
        };
        let engine = Arc::new(engine(
            &format!("http://{}", gate.addr),
            &env.platform.expert_token,
            env.store.clone(),
            config,
        ));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let bg = spawn_background(engine, Duration::from_secs(3600), tx);
        assert!(matches!(next(&mut rx).await, SyncEvent::Synced { .. }));

        gate.set_down(true);
        let id = workable(&env.store).remove(0);
        grade_and_submit(&env.store, &id);
        bg.trigger();
        // The upload that could not reach the platform is told as put off,
        // then the sync's failure.
        loop {
            match next(&mut rx).await {
                SyncEvent::Uploaded { report } => {
                    assert_eq!((report.sent, report.retry_scheduled), (0, 1), "{report:?}");
                }
                SyncEvent::Failed { retryable, .. } => break assert!(retryable),
                other => panic!("expected a failure, got {other:?}"),
            }
        }
        let entry = env.store.latest_outbox_entry(&id).unwrap().unwrap();
        assert!(
            entry.next_attempt_at > chrono::Utc::now() + chrono::Duration::seconds(10),
            "the failed upload backs off: {entry:?}"
        );
        // Down for a while: the probes fail quietly (no sync, no event).
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(rx.try_recv().is_err(), "no sync while unreachable");

        gate.set_down(false);
        let back = Instant::now();
        // The sync's upload is told when it ends, then the whole sync.
        match next(&mut rx).await {
            SyncEvent::Uploaded { report } => assert_eq!(report.sent, 1, "{report:?}"),
            other => panic!("expected an upload, got {other:?}"),
        }
        let took = back.elapsed();
        match next(&mut rx).await {
            SyncEvent::Synced { report } => assert_eq!(report.push.sent, 1, "{report:?}"),
            other => panic!("expected a sync, got {other:?}"),
        }
        eprintln!("uploaded {took:?} after the platform came back");
        assert!(
            took < Duration::from_secs(2),
            "took {took:?} after the platform came back"
        );
        assert_eq!(
            env.store.status_of(&id, chrono::Utc::now()).unwrap(),
            QueueStatus::Submitted
        );
        assert_eq!(platform_submissions(&env.platform, &id), 1);
        tokio::time::timeout(Duration::from_secs(10), bg.stop())
            .await
            .unwrap();
        env.platform.shutdown().await.unwrap();
    }
}

mod crash {
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::time::Duration;

    use assay_store::{OutboxState, Store};
    use rand::{Rng, SeedableRng};

    use super::common::*;

    /// A child process that pulls, grades, submits and uploads is `SIGKILLed` at
    /// random points (including mid-upload); after every restart each
    /// acknowledged submission is still in the outbox, and once everything is
    /// uploaded the platform holds exactly one submission per assignment.
    #[tokio::test]
    async fn sigkilled_uploads_reach_the_platform_exactly_once() {
        let _alone = super::HEAVY.lock().await;
        let platform = assay_platform::testing::start_seeded().await.unwrap();
        // More work than the seed assigns, so kills land while there is work.
        let http = reqwest::Client::new();
        let mut assigned = 0;
        for item in platform.summary.items_by_opportunity.values().flatten() {
            let resp = http
                .post(platform.api_url("/admin/assignments"))
                .bearer_auth(&platform.admin_token)
                .json(
                    &serde_json::json!({"item_id": item, "expert_email": "demo@assay.dev",
                                          "kind": "grade"}),
                )
                .send()
                .await
                .unwrap();
            assigned += u32::from(resp.status().is_success());
        }
        assert!(assigned > 0, "admin assign failed for every item");
        let dir = tempfile::tempdir().unwrap();
        // Download everything first so the kills land in grading and uploading.
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            let engine = engine(
                &platform.base_url(),
                &platform.expert_token,
                store,
                fast_config(),
            );
            engine.pull(|_| {}).await.unwrap();
        }
        // The child grades with answers made here (the test support stays
        // out of the binary): valid answers for every rubric it will meet.
        let answers_dir = tempfile::tempdir().unwrap();
        let answers_file = answers_dir.path().join("answers.json");
        {
            let store = Store::open(dir.path()).unwrap();
            let mut answers = BTreeMap::new();
            for row in store.queue(chrono::Utc::now()).unwrap() {
                let a = store.assignment(&row.assignment_id).unwrap().unwrap();
                if let Some(rubric) = store.rubric(&a.rubric_id, a.rubric_version).unwrap() {
                    answers.insert(
                        format!("{}@{}", a.rubric_id, a.rubric_version),
                        valid_answers(&rubric),
                    );
                }
            }
            assert!(!answers.is_empty(), "no rubric was downloaded");
            std::fs::write(&answers_file, serde_json::to_vec(&answers).unwrap()).unwrap();
        }
        let child = env!("CARGO_BIN_EXE_sync-crash-child");
        let mut rng = rand::rngs::StdRng::seed_from_u64(0xC4A5);
        let mut acked: BTreeMap<String, String> = BTreeMap::new();
        for round in 0..15 {
            let mut proc = Command::new(child)
                .arg(dir.path())
                .arg(platform.base_url())
                .arg(&answers_file)
                .env("ASSAY_SYNC_TOKEN", &platform.expert_token)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = proc.stdout.take().unwrap();
            let reader = std::thread::spawn(move || {
                BufReader::new(stdout)
                    .split(b'\n')
                    .map_while(Result::ok)
                    .filter_map(|l| String::from_utf8(l).ok())
                    .collect::<Vec<_>>()
            });
            let delay = rng.gen_range(5..120u64);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            proc.kill().unwrap(); // SIGKILL
            proc.wait().unwrap();
            for line in reader.join().unwrap() {
                let mut parts = line.split(' ');
                if let (Some("S"), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next())
                {
                    assert!(
                        acked.insert(id.to_string(), key.to_string()).is_none(),
                        "{id} submitted twice"
                    );
                }
            }
            let store = Store::open(dir.path()).unwrap();
            let entries = store.outbox_entries().unwrap();
            for (id, key) in &acked {
                assert!(
                    entries
                        .iter()
                        .any(|e| &e.assignment_id == id && &e.idempotency_key == key),
                    "round {round}: acknowledged submission of {id} lost"
                );
            }
        }
        assert!(!acked.is_empty(), "the child never got to submit");
        // Restart once more, in process, and drain the outbox over a clean network.
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let engine = engine(
            &platform.base_url(),
            &platform.expert_token,
            store.clone(),
            fast_config(),
        );
        for _ in 0..50 {
            engine.push().await.unwrap();
            if store.sync_status().unwrap().outbox_pending == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        let entries = store.outbox_entries().unwrap();
        assert!(
            entries.iter().all(|e| e.state == OutboxState::Sent),
            "{entries:?}"
        );
        let mut seen = std::collections::BTreeSet::new();
        for e in &entries {
            assert!(
                seen.insert(e.assignment_id.clone()),
                "{} queued twice",
                e.assignment_id
            );
            assert_eq!(
                platform_submissions(&platform, &e.assignment_id),
                1,
                "{}",
                e.assignment_id
            );
        }
        eprintln!(
            "crash: {} submissions acknowledged, {} uploaded exactly once",
            acked.len(),
            entries.len()
        );
        platform.shutdown().await.unwrap();
    }
}

/// A hostile platform: a raw HTTP/1.1 server in front of the reference
/// platform that, per rule, answers a route itself (oversized, endless
/// chunked, slow-drip, redirecting, cycling, malformed, lying) or rewrites the
/// platform's answer; everything else is forwarded untouched.
mod hostile_server {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use assay_pgtest::relay::{find, forward, read_request};

    type RawFn = dyn Fn(&str) -> Vec<u8> + Send + Sync;
    type RewriteFn = dyn Fn(&str, &[u8]) -> Vec<u8> + Send + Sync;

    #[derive(Clone)]
    pub enum Act {
        /// The whole raw response, from the request line.
        Raw(Arc<RawFn>),
        /// The platform's response with its body replaced (request line, body).
        Rewrite(Arc<RewriteFn>),
        /// 200, chunked, never ends (stops after 256 MiB or when the client goes).
        EndlessChunked,
        /// 200 with a large Content-Length, one byte per interval.
        Drip(Duration),
        /// A randomly misbehaving platform (see [`Chaos`]).
        Chaos(Arc<Chaos>),
    }

    /// Misbehaviour chosen per request by a seeded RNG while `on`: status
    /// codes, `Retry-After` (up to absurd), truncation, delays, duplicate and
    /// reordered pages (replays of earlier answers of the same route), bad
    /// attachment bytes, endless bodies, slow drips, dropped connections.
    pub struct Chaos {
        pub on: std::sync::atomic::AtomicBool,
        rng: Mutex<rand::rngs::StdRng>,
        /// Earlier answers per route (path without query).
        cache: Mutex<std::collections::HashMap<String, Vec<Vec<u8>>>>,
        pub stats: Mutex<std::collections::BTreeMap<&'static str, u32>>,
    }

    impl Chaos {
        pub fn new(seed: u64) -> Arc<Self> {
            use rand::SeedableRng;
            Arc::new(Self {
                on: std::sync::atomic::AtomicBool::new(true),
                rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
                cache: Mutex::default(),
                stats: Mutex::default(),
            })
        }
    }

    #[derive(Clone)]
    pub struct Rule {
        pub method: &'static str,
        /// Prefix of the request target (path and query); a trailing `$`
        /// asks for the exact target.
        pub target: String,
        pub act: Act,
    }

    impl Rule {
        fn matches(&self, method: &str, target: &str) -> bool {
            self.method == method
                && match self.target.strip_suffix('$') {
                    Some(exact) => target == exact,
                    None => target.starts_with(&self.target),
                }
        }
    }

    pub fn rule(method: &'static str, target: &str, act: Act) -> Rule {
        Rule {
            method,
            target: target.to_string(),
            act,
        }
    }

    pub fn raw(f: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Act {
        Act::Raw(Arc::new(f))
    }

    pub fn rewrite(f: impl Fn(&str, &[u8]) -> Vec<u8> + Send + Sync + 'static) -> Act {
        Act::Rewrite(Arc::new(f))
    }

    /// A complete response.
    pub fn http(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\n");
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut out = out.into_bytes();
        out.extend_from_slice(body);
        out
    }

    pub fn json(value: &serde_json::Value) -> Vec<u8> {
        http(
            "200 OK",
            &[("Content-Type", "application/json")],
            value.to_string().as_bytes(),
        )
    }

    pub struct Hostile {
        pub addr: SocketAddr,
        rules: Arc<Mutex<Vec<Rule>>>,
        /// Request lines seen, in order.
        pub seen: Arc<Mutex<Vec<String>>>,
        /// Bytes written by endless and dripping answers.
        pub sent: Arc<AtomicU64>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Hostile {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Hostile {
        pub fn url(&self) -> String {
            format!("http://{}", self.addr)
        }

        pub fn set(&self, rules: Vec<Rule>) {
            *self.rules.lock().unwrap() = rules;
        }

        /// Requests whose line contains `needle`.
        pub fn hits(&self, needle: &str) -> usize {
            self.seen
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .count()
        }
    }

    pub async fn start(upstream: SocketAddr) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let sent = Arc::new(AtomicU64::new(0));
        let (r, s, b) = (rules.clone(), seen.clone(), sent.clone());
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (r, s, b) = (r.clone(), s.clone(), b.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(120),
                        handle(conn, upstream, r, s, b),
                    )
                    .await;
                });
            }
        });
        Hostile {
            addr,
            rules,
            seen,
            sent,
            task,
        }
    }

    /// Split a raw response into head (without the blank line) and body.
    pub fn split(resp: &[u8]) -> (String, Vec<u8>) {
        let i = find(resp, b"\r\n\r\n").unwrap_or(resp.len());
        let head = String::from_utf8_lossy(&resp[..i]).to_string();
        let body = resp.get(i + 4..).unwrap_or_default().to_vec();
        (head, body)
    }

    fn with_body(head: &str, body: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for line in head.split("\r\n") {
            if !line.to_ascii_lowercase().starts_with("content-length:") {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut out = out.into_bytes();
        out.extend_from_slice(body);
        out
    }

    async fn endless(conn: &mut TcpStream, sent: &AtomicU64) {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        if conn.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; 64 * 1024];
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        let mut total = 0u64;
        while total < 256 << 20 {
            if conn.write_all(&frame).await.is_err() {
                break;
            }
            total += frame.len() as u64;
            sent.fetch_add(frame.len() as u64, Ordering::SeqCst);
        }
    }

    async fn chaos_answer(
        conn: &mut TcpStream,
        req: &[u8],
        route: &str,
        upstream: SocketAddr,
        chaos: &Chaos,
        sent: &AtomicU64,
    ) {
        use rand::Rng;
        let (roll, n, ms) = {
            let mut r = chaos.rng.lock().unwrap();
            (
                r.gen_range(0..100u32),
                r.gen_range(0..4usize),
                r.gen_range(10..300u64),
            )
        };
        let attachment = route.contains("/attachments/");
        let fault = if chaos.on.load(Ordering::SeqCst) {
            match roll {
                0..=5 => "status",
                6..=10 => "retry_after",
                11..=17 => "truncate",
                18..=24 => "delay",
                25..=31 if !attachment => "duplicate",
                32..=37 if !attachment => "reorder",
                25..=43 if attachment => "bad_hash",
                44..=45 => "endless",
                46 => "drip",
                47..=50 => "drop",
                _ => "pass",
            }
        } else {
            "clean"
        };
        *chaos.stats.lock().unwrap().entry(fault).or_default() += 1;
        let cached = |last: bool| {
            let cache = chaos.cache.lock().unwrap();
            let v = cache.get(route)?;
            if last {
                v.last().cloned()
            } else {
                v.get(n % v.len()).cloned()
            }
        };
        let out = match fault {
            "status" => {
                let status = [
                    "500 Internal Server Error",
                    "502 Bad Gateway",
                    "404 Not Found",
                    "409 Conflict",
                ][n];
                http(status, &[], b"<html>not json</html>")
            }
            "retry_after" => {
                let ra = ["1", "0", "1000000000", "99999999999999"][n];
                http("503 Service Unavailable", &[("Retry-After", ra)], b"")
            }
            "endless" => return endless(conn, sent).await,
            "drip" => {
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
                let _ = conn.write_all(head.as_bytes()).await;
                for _ in 0..100 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if conn.write_all(b" ").await.is_err() {
                        return;
                    }
                }
                return;
            }
            "drop" => return,
            "duplicate" | "reorder" => match cached(fault == "duplicate") {
                Some(resp) => resp,
                None => return,
            },
            _ => {
                if fault == "delay" {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                let Some(resp) = forward(req, upstream).await else {
                    return;
                };
                if resp.starts_with(b"HTTP/1.1 200") && !attachment {
                    let mut cache = chaos.cache.lock().unwrap();
                    let v = cache.entry(route.to_string()).or_default();
                    v.push(resp.clone());
                    if v.len() > 8 {
                        v.remove(0);
                    }
                }
                match fault {
                    "truncate" => {
                        let body_start = find(&resp, b"\r\n\r\n").map_or(resp.len(), |i| i + 4);
                        let keep = body_start + (resp.len() - body_start) / 2;
                        resp[..keep].to_vec()
                    }
                    "bad_hash" => {
                        let (head, mut body) = split(&resp);
                        if let Some(b) = body.first_mut() {
                            *b ^= 0xff;
                        }
                        with_body(&head, &body)
                    }
                    _ => resp,
                }
            }
        };
        let _ = conn.write_all(&out).await;
    }

    async fn handle(
        mut conn: TcpStream,
        upstream: SocketAddr,
        rules: Arc<Mutex<Vec<Rule>>>,
        seen: Arc<Mutex<Vec<String>>>,
        sent: Arc<AtomicU64>,
    ) {
        let Some(req) = read_request(&mut conn).await else {
            return;
        };
        let line = String::from_utf8_lossy(&req[..find(&req, b"\r\n").unwrap_or(0)]).to_string();
        seen.lock().unwrap().push(line.clone());
        let mut parts = line.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let act = rules
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.matches(method, target))
            .map(|r| r.act.clone());
        match act {
            None => {
                if let Some(resp) = forward(&req, upstream).await {
                    let _ = conn.write_all(&resp).await;
                }
            }
            Some(Act::Raw(f)) => {
                let _ = conn.write_all(&f(&line)).await;
            }
            Some(Act::Rewrite(f)) => {
                if let Some(resp) = forward(&req, upstream).await {
                    let (head, body) = split(&resp);
                    let _ = conn.write_all(&with_body(&head, &f(&line, &body))).await;
                }
            }
            Some(Act::EndlessChunked) => endless(&mut conn, &sent).await,
            Some(Act::Chaos(chaos)) => {
                let route = target.split('?').next().unwrap_or("").to_string();
                chaos_answer(&mut conn, &req, &route, upstream, &chaos, &sent).await;
            }
            Some(Act::Drip(every)) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                            Content-Length: 100000\r\nConnection: close\r\n\r\n";
                if conn.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..100_000 {
                    tokio::time::sleep(every).await;
                    if conn.write_all(b" ").await.is_err() {
                        break;
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        let _ = conn.shutdown().await;
    }
}

/// One test per finding of the hostile-platform review (issue #12), each
/// driven by [`hostile_server`]; every one fails on the client before the fix
/// (hangs past its deadline, panics, or accepts what it must refuse).
mod hostile {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use assay_store::{OutboxState, QuarantineKind, QueueStatus, Store};
    use assay_sync::{
        spawn_background, Limits, SyncConfig, SyncEngine, SyncError, SyncEvent, SyncPhase,
    };

    use super::common::*;
    use super::hostile_server::{self as hs, http, json, raw, rewrite, rule, Act, Hostile};

    fn limits() -> Limits {
        Limits {
            json_max_bytes: 1 << 20,
            item_max_bytes: 4 << 20,
            request_deadline: Duration::from_secs(3),
            attachment_deadline: Duration::from_secs(10),
            ..Limits::default()
        }
    }

    fn config() -> SyncConfig {
        SyncConfig {
            limits: limits(),
            ..fast_config()
        }
    }

    struct H {
        env: Env,
        hostile: Hostile,
        engine: SyncEngine,
    }

    async fn start_hostile(config: SyncConfig) -> H {
        let env = start().await;
        let hostile = hs::start(env.platform.server.addr()).await;
        let engine = engine(
            &hostile.url(),
            &env.platform.expert_token,
            env.store.clone(),
            config,
        );
        H {
            env,
            hostile,
            engine,
        }
    }

    /// Pulls, which must fail within 30 s with an error that matches
    /// `pattern` (the error borrowed); that error.
    macro_rules! pull_fails {
        ($h:expr, $pattern:pat $(if $guard:expr)?) => {{
            let err = within(30, $h.engine.pull(|_| {})).await.unwrap_err();
            assert!(matches!(&err, $pattern $(if $guard)?), "{err:?}");
            err
        }};
    }

    /// `start_hostile` with the hostile tests' config, the proxy answering
    /// `GET target` with `act` (and passing every other request through).
    async fn start_hostile_on_get(target: &str, act: Act) -> H {
        let h = start_hostile(config()).await;
        h.hostile.set(vec![rule("GET", target, act)]);
        h
    }

    /// `start_hostile` with the hostile tests' config, then a first pull
    /// (nothing hostile yet); the engine's store.
    async fn start_hostile_pulled() -> (H, Arc<Store>) {
        let h = start_hostile(config()).await;
        h.engine.pull(|_| {}).await.unwrap();
        let store = h.env.store.clone();
        (h, store)
    }

    /// `start_hostile_pulled`, with the first workable assignment graded
    /// and in the outbox; its id.
    async fn start_hostile_with_a_grade() -> (H, Arc<Store>, String) {
        let (h, store) = start_hostile_pulled().await;
        let id = workable(&store).remove(0);
        grade_and_submit(&store, &id);
        (h, store, id)
    }

    /// An engine whose pulls stay stuck for a minute on a dripping outcomes
    /// feed (the request deadline is a minute; the feed sends a byte per
    /// half second).
    fn stuck_on_outcomes(h: &H, store: &Arc<Store>) -> Arc<SyncEngine> {
        let mut slow = config();
        slow.limits.request_deadline = Duration::from_secs(60);
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/outcomes",
            Act::Drip(Duration::from_millis(500)),
        )]);
        Arc::new(engine(
            &h.hostile.url(),
            &h.env.platform.expert_token,
            store.clone(),
            slow,
        ))
    }

    /// Ends a test whose `sync` waits on the dripping feed of
    /// [`stuck_on_outcomes`]: `id` was sent exactly once while that sync is
    /// still stuck.
    async fn sent_once_while_stuck<T>(h: H, id: &str, sync: tokio::task::JoinHandle<T>) {
        assert_eq!(platform_submissions(&h.env.platform, id), 1);
        assert!(!sync.is_finished(), "the pull it waits for is still stuck");
        sync.abort();
        h.env.platform.shutdown().await.unwrap();
    }

    /// `fut` must finish within `secs`: a stalled client fails the test.
    async fn within<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(secs), fut)
            .await
            .unwrap_or_else(|_| panic!("still running after {secs}s: the client is stalled"))
    }

    #[tokio::test]
    async fn endless_and_oversized_bodies_are_refused_while_streaming() {
        let _alone = super::HEAVY.lock().await;
        let h = start_hostile_on_get("/api/v1/ledger", Act::EndlessChunked).await;
        let err = pull_fails!(h, SyncError::TooLarge { route: "GET /ledger", limit } if *limit == 1 << 20);
        assert_eq!(
            err.to_string(),
            "the platform's response to GET /ledger exceeds the 1.0 MiB limit"
        );
        let sent = h.hostile.sent.load(Ordering::SeqCst);
        assert!(sent < 32 << 20, "kept reading past the limit: {sent} bytes");
        // A body whose declared length is over the limit is refused unread.
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/outcomes",
            raw(|_| {
                b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n[[[["
                    .to_vec()
            }),
        )]);
        pull_fails!(
            h,
            SyncError::TooLarge {
                route: "GET /outcomes",
                ..
            }
        );
        // Items have their own, larger limit: an item of 2 MiB is fine, one
        // of 5 MiB is quarantined and the pull goes on.
        h.hostile.set(vec![]);
        let ids: Vec<_> = {
            let (_control, store) = control_pull(&h).await;
            workable(&store)
                .into_iter()
                .map(|a| store.assignment(&a).unwrap().unwrap())
                .collect()
        };
        let (big, huge) = (ids[0].clone(), ids[1].clone());
        assert_ne!(big.item_id, huge.item_id);
        // Forget the items so they are fetched again.
        let fresh = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(fresh.path()).unwrap());
        let e = engine(
            &h.hostile.url(),
            &h.env.platform.expert_token,
            store.clone(),
            config(),
        );
        let (bi, hi) = (big.item_id.clone(), huge.item_id.clone());
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/items/",
            rewrite(move |line, body| {
                let pad = if line.contains(&format!("/items/{bi} ")) {
                    2 << 20
                } else if line.contains(&format!("/items/{hi} ")) {
                    5 << 20
                } else {
                    0
                };
                [body.to_vec(), vec![b' '; pad]].concat()
            }),
        )]);
        let report = within(60, e.pull(|_| {})).await.unwrap();
        assert!(store.scoped_item(&big.id).unwrap().is_some(), "{report:?}");
        assert!(store.scoped_item(&huge.id).unwrap().is_none());
        let q = store.quarantine_entries().unwrap();
        assert!(
            q.iter().any(|q| q.kind == QuarantineKind::Item
                && q.key == huge.id
                && q.reason.contains("GET /items/{id}")
                && q.reason.contains("4.0 MiB")),
            "{q:?}"
        );
        assert!(
            report.ledger_entries > 0,
            "the ledger still came: {report:?}"
        );
        h.env.platform.shutdown().await.unwrap();
    }

    /// New work in an opportunity the list did not name yet (created after
    /// the list was read, which a pull now reads before the assignments):
    /// the pull reads the list again, so the work is grouped under its
    /// opportunity's title. A pull without new work reads it once.
    #[tokio::test]
    async fn new_work_in_an_opportunity_the_list_lacked_reads_the_list_again() {
        let h = start_hostile(config()).await;
        let reads = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = reads.clone();
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/opportunities",
            rewrite(move |_, body| {
                // The first answer lacks the first opportunity.
                if counted.fetch_add(1, Ordering::SeqCst) > 0 {
                    return body.to_vec();
                }
                let mut list: serde_json::Value = serde_json::from_slice(body).unwrap();
                list["opportunities"].as_array_mut().unwrap().remove(0);
                serde_json::to_vec(&list).unwrap()
            }),
        )]);
        let report = within(60, h.engine.pull(|_| {})).await.unwrap();
        assert!(report.errors.is_empty(), "{report:?}");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        let store = &h.env.store;
        let known: Vec<String> = store
            .opportunities()
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        let queue = store.queue(chrono::Utc::now()).unwrap();
        assert!(!queue.is_empty());
        for row in &queue {
            assert!(known.contains(&row.opportunity_id), "{row:?}");
            assert!(row.opportunity_title.is_some(), "{row:?}");
        }
        assert!(!store.has_work_of_unknown_opportunities().unwrap());
        // Nothing new: one read.
        within(60, h.engine.pull(|_| {})).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 3);
        h.env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_slow_drip_hits_the_total_deadline() {
        let h =
            start_hostile_on_get("/api/v1/outcomes", Act::Drip(Duration::from_millis(200))).await;
        let t = Instant::now();
        let err = pull_fails!(
            h,
            SyncError::Timeout {
                route: "GET /outcomes",
                ..
            }
        );
        assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
        assert!(err.to_string().contains("within 3s"), "{err}");
        h.env.platform.shutdown().await.unwrap();
    }

    /// A sync's own upload is told as soon as it ends, while the pull
    /// behind it is still stuck on a dripping feed; before, it was told only
    /// with the whole sync, so the pending count stayed up meanwhile.
    #[tokio::test]
    async fn a_syncs_upload_is_told_before_its_stuck_pull_ends() {
        let (h, store, id) = start_hostile_with_a_grade().await;
        let slow = stuck_on_outcomes(&h, &store);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sync = tokio::spawn({
            let slow = slow.clone();
            async move {
                slow.sync_once_reporting(
                    |_| {},
                    move |push| {
                        let _ = tx.send(push.clone());
                    },
                )
                .await
            }
        });
        let pushed = within(10, rx).await.unwrap();
        assert_eq!(pushed.sent, 1, "{pushed:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        sent_once_while_stuck(h, &id, sync).await;
    }

    /// A pull waiting on a feed's first page names that feed's phase, not
    /// the phase before it (the sync bar said "Downloading attachments…"
    /// while the outcomes feed did not answer).
    #[tokio::test]
    async fn a_stuck_feed_shows_as_its_own_phase() {
        let (h, store) = start_hostile_pulled().await;
        let slow = stuck_on_outcomes(&h, &store);
        let phases = Arc::new(std::sync::Mutex::new(Vec::new()));
        let pull = tokio::spawn({
            let (slow, phases) = (slow.clone(), phases.clone());
            async move {
                slow.pull(move |p| phases.lock().unwrap().push(p.phase))
                    .await
            }
        });
        within(10, async {
            while phases.lock().unwrap().last() != Some(&SyncPhase::Outcomes) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            !pull.is_finished(),
            "the outcomes feed should still be stuck"
        );
        pull.abort();
        h.env.platform.shutdown().await.unwrap();
    }

    /// The background loop tells an upload while its pull is stuck, whichever
    /// lane sends it: here the grade waits before the loop starts, so its
    /// first sync's own upload may be the one that sends it.
    #[tokio::test]
    async fn a_grade_waiting_when_the_loop_starts_is_told_while_the_pull_sticks() {
        let (h, store, id) = start_hostile_with_a_grade().await;
        let slow = stuck_on_outcomes(&h, &store);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let bg = spawn_background(slow, Duration::from_secs(3600), tx);
        let uploaded = within(10, async {
            loop {
                match rx.recv().await {
                    Some(SyncEvent::Uploaded { report }) => break report,
                    Some(SyncEvent::Synced { report }) => {
                        panic!("the sync ended before its upload was told: {report:?}")
                    }
                    Some(_) => {}
                    None => panic!("background loop ended"),
                }
            }
        })
        .await;
        assert_eq!(uploaded.sent, 1, "{uploaded:?}");
        assert_eq!(platform_submissions(&h.env.platform, &id), 1);
        assert_eq!(
            store.status_of(&id, chrono::Utc::now()).unwrap(),
            QueueStatus::Submitted
        );
        drop(bg);
        h.env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_queued_grade_uploads_while_a_pull_is_stuck() {
        let (h, store) = start_hostile_pulled().await;
        let slow = stuck_on_outcomes(&h, &store);
        // The setup's own pull asked for outcomes already: the background
        // pull is stuck only once it asked too, so the grade below is queued
        // after the loop's first upload and the upload lane sends it.
        let asked = h.hostile.hits("GET /api/v1/outcomes");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let bg = spawn_background(slow.clone(), Duration::from_secs(3600), tx);
        within(30, async {
            while h.hostile.hits("GET /api/v1/outcomes") == asked {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        // Submit + trigger (what the app does): the upload lane sends it now.
        let work = workable(&store);
        let first = work[0].clone();
        grade_and_submit(&store, &first);
        bg.trigger();
        let uploaded = within(10, async {
            loop {
                match rx.recv().await {
                    Some(SyncEvent::Uploaded { report }) => break report,
                    Some(_) => {}
                    None => panic!("background loop ended"),
                }
            }
        })
        .await;
        assert_eq!(uploaded.sent, 1, "{uploaded:?}");
        assert_eq!(
            store.status_of(&first, chrono::Utc::now()).unwrap(),
            QueueStatus::Submitted
        );
        assert_eq!(platform_submissions(&h.env.platform, &first), 1);
        // "Sync now" while the pull is still stuck: the grade uploads at once
        // (its own pull then waits for the stuck one, within its deadlines).
        let second = work[1].clone();
        grade_and_submit(&store, &second);
        let now = {
            let slow = slow.clone();
            tokio::spawn(async move { slow.sync_once(|_| {}).await })
        };
        within(10, async {
            while store.status_of(&second, chrono::Utc::now()).unwrap() != QueueStatus::Submitted {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        sent_once_while_stuck(h, &second, now).await;
    }

    #[tokio::test]
    async fn a_huge_retry_after_is_clamped_and_shown() {
        let (h, store, id) = start_hostile_with_a_grade().await;
        for (ra, words) in [
            ("99999999999999", "asked to wait indefinitely"),
            ("1000000000", "asked to wait until 20"),
        ] {
            h.hostile.set(vec![rule(
                "POST",
                "/api/v1/submissions",
                raw(move |_| http("503 Service Unavailable", &[("Retry-After", ra)], b"")),
            )]);
            // Make the entry due now.
            while store.next_outbox_due().unwrap().unwrap() > chrono::Utc::now() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let report = h.engine.push().await.unwrap();
            assert_eq!(report.retry_scheduled, 1, "{report:?}");
            let e = store.latest_outbox_entry(&id).unwrap().unwrap();
            assert_eq!(e.state, OutboxState::Queued);
            let cap = chrono::Duration::from_std(fast_config().backoff_max).unwrap();
            assert!(
                e.next_attempt_at <= chrono::Utc::now() + cap,
                "parked until {}",
                e.next_attempt_at
            );
            let msg = e.last_error.unwrap();
            assert!(msg.contains(words), "{msg}");
            assert!(msg.contains("Assay retries at"), "{msg}");
        }
        // On a feed: the sync fails, says so in the status, and the
        // background loop keeps running and recovers when the platform does.
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/assignments",
            raw(|_| {
                http(
                    "503 Service Unavailable",
                    &[("Retry-After", "99999999999999")],
                    b"",
                )
            }),
        )]);
        let engine = Arc::new(engine(
            &h.hostile.url(),
            &h.env.platform.expert_token,
            store.clone(),
            config(),
        ));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let bg = spawn_background(engine, Duration::from_secs(3600), tx);
        let failed = within(30, async {
            loop {
                match rx.recv().await {
                    Some(SyncEvent::Failed { message, .. }) => break message,
                    Some(_) => {}
                    None => panic!("the background loop died"),
                }
            }
        })
        .await;
        assert!(failed.contains("asked to wait"), "{failed}");
        // Worded for the reviewer, as the Sync button's error is (not the raw
        // `platform error (HTTP …)`).
        assert!(
            failed.starts_with("The platform is having trouble (")
                && failed.ends_with("Assay will retry."),
            "{failed}"
        );
        assert!(store
            .sync_status()
            .unwrap()
            .last_error
            .unwrap()
            .contains("asked to wait"));
        h.hostile.set(vec![]);
        within(30, async {
            loop {
                bg.trigger();
                if let Some(SyncEvent::Synced { .. }) = rx.recv().await {
                    break;
                }
            }
        })
        .await;
        within(30, async {
            while store.sync_status().unwrap().outbox_pending > 0 {
                bg.trigger();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        assert_eq!(platform_submissions(&h.env.platform, &id), 1);
        within(30, bg.stop()).await;
        h.env.platform.shutdown().await.unwrap();
    }

    /// Every assignment of a clean pull, with its item and attachments.
    struct Seen {
        assignment: String,
        item: String,
        attachments: Vec<String>,
        visible_field: String,
        /// `rubric_id@version`, the rubric's quarantine key.
        rubric: String,
    }

    /// A fresh store (kept in the folder returned with it) filled by a clean
    /// pull straight from the real platform.
    async fn control_pull(h: &H) -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        engine(
            &h.env.platform.base_url(),
            &h.env.platform.expert_token,
            store.clone(),
            fast_config(),
        )
        .pull(|_| {})
        .await
        .unwrap();
        (dir, store)
    }

    async fn clean_pull(h: &H) -> Vec<Seen> {
        let (_control, store) = control_pull(h).await;
        store
            .queue(chrono::Utc::now())
            .unwrap()
            .into_iter()
            .filter(|r| r.downloaded)
            .map(|r| {
                let d = store
                    .item_detail(&r.assignment_id, chrono::Utc::now())
                    .unwrap();
                Seen {
                    assignment: r.assignment_id.clone(),
                    item: r.item_id.clone(),
                    attachments: d
                        .attachments
                        .iter()
                        .map(|a| a.attachment.sha256.clone())
                        .collect(),
                    visible_field: d.scoped.unwrap().fields[0].id.clone(),
                    rubric: format!("{}@{}", d.assignment.rubric_id, d.assignment.rubric_version),
                }
            })
            .collect()
    }

    /// A hostile platform whose quarantine backoff outlasts the test (60 s,
    /// at most 600 s; `tune` changes the rest), and what a clean pull of the
    /// same data stores.
    async fn start_quarantining(tune: impl FnOnce(&mut SyncConfig)) -> (H, Vec<Seen>) {
        let mut c = config();
        c.backoff_base = Duration::from_secs(60);
        c.backoff_max = Duration::from_secs(600);
        tune(&mut c);
        let h = start_hostile(c).await;
        let seen = clean_pull(&h).await;
        (h, seen)
    }

    /// The item of each of `seen`'s assignments is stored.
    fn assert_stored<'a>(store: &Store, seen: impl IntoIterator<Item = &'a Seen>) {
        for s in seen {
            assert!(
                store.scoped_item(&s.assignment).unwrap().is_some(),
                "{} missing",
                s.assignment
            );
        }
    }

    /// The database's bytes on disk, and every stored item's JSON unpacked
    /// (compressed in the file, where a value would not show as it is).
    fn db_bytes(store: &Store) -> Vec<u8> {
        let mut all = Vec::new();
        for f in ["assay.db", "assay.db-wal"] {
            all.extend(std::fs::read(store.dir().join(f)).unwrap_or_default());
        }
        let items = store.stored_item_json().unwrap();
        assert!(!items.is_empty(), "no item was stored");
        for (_, json) in items {
            all.extend(json.into_bytes());
        }
        all
    }

    fn contains(h: &[u8], needle: &str) -> bool {
        h.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    /// Poison pills (a bad attachment hash, absurd nesting, malformed hidden
    /// and visible fields, a declared size beyond the limit) are quarantined
    /// one by one: everything else, outcomes, ledger and uploads go on; no
    /// hidden value reaches the database or a message; a quarantined
    /// attachment is not downloaded again on the next sync.
    #[tokio::test]
    async fn poison_pills_are_quarantined_one_by_one() {
        let (h, seen) = start_quarantining(|_| {}).await;
        // Items of exactly one assignment: some with an attachment no other
        // item has, and others.
        let single = |s: &&Seen| seen.iter().filter(|o| o.item == s.item).count() == 1;
        let with_att: Vec<&Seen> = seen
            .iter()
            .filter(single)
            .filter(|s| {
                s.attachments.len() == 1
                    && seen
                        .iter()
                        .filter(|o| o.attachments.contains(&s.attachments[0]))
                        .count()
                        == 1
            })
            .collect();
        let items: Vec<&Seen> = seen
            .iter()
            .filter(single)
            .filter(|s| !with_att.iter().take(2).any(|o| o.item == s.item))
            .collect();
        assert!(
            with_att.len() >= 2 && items.len() >= 3,
            "seed too small: {} / {}",
            with_att.len(),
            items.len()
        );
        let (bad_hash, lying) = (with_att[0], with_att[1]);
        let (deep, hidden, visible) = (items[0], items[1], items[2]);
        let bad_sha = bad_hash.attachments[0].clone();
        let lying_sha = lying.attachments[0].clone();
        let (deep_i, hidden_i, visible_i, lying_i) = (
            deep.item.clone(),
            hidden.item.clone(),
            visible.item.clone(),
            lying.item.clone(),
        );
        let visible_field = visible.visible_field.clone();
        let deep_field = deep.visible_field.clone();
        let bad_sha2 = bad_sha.clone();
        h.hostile.set(vec![
            rule(
                "GET",
                "/api/v1/items/",
                rewrite(move |line, body| {
                    let is = |id: &str| line.contains(&format!("/items/{id} "));
                    let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
                    if is(&deep_i) {
                        // Absurd nesting where the decoder must descend (a
                        // visible JSON value): refused, not a stack overflow.
                        v["item"]["fields"][&deep_field] =
                            serde_json::json!({"type": "json", "value": "DEEP"});
                        let deep = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
                        return String::from_utf8(deep)
                            .map(|d| v.to_string().replace("\"DEEP\"", &d))
                            .unwrap()
                            .into_bytes();
                    }
                    let bad = serde_json::json!({"type": "attachment", "value": {
                        "sha256": "SECRET-VALUE-123", "size": "SECRET-VALUE-123",
                        "media_type": "x", "filename": "x"}});
                    if is(&hidden_i) {
                        v["item"]["fields"]["gold_label"] = bad;
                    } else if is(&visible_i) {
                        v["item"]["fields"][&visible_field] = bad;
                    } else if is(&lying_i) {
                        for f in v["item"]["fields"].as_object_mut().unwrap().values_mut() {
                            if f["type"] == "attachment" {
                                f["value"]["size"] = serde_json::json!(1u64 << 40);
                            }
                        }
                    }
                    v.to_string().into_bytes()
                }),
            ),
            rule(
                "GET",
                &format!("/api/v1/attachments/{bad_sha2}"),
                rewrite(|_, body| {
                    let mut b = body.to_vec();
                    b[0] ^= 0xff;
                    b
                }),
            ),
        ]);
        let report = within(60, h.engine.pull(|_| {})).await.unwrap();
        assert!(
            report.outcomes > 0 && report.ledger_entries > 0,
            "{report:?}"
        );
        let store = &h.env.store;
        let q = store.quarantine_entries().unwrap();
        let find = |kind, key: &str| {
            q.iter()
                .find(|e| e.kind == kind && e.key == key)
                .unwrap_or_else(|| panic!("{kind:?} {key} not quarantined: {q:?}"))
        };
        assert!(find(QuarantineKind::Item, &deep.assignment)
            .reason
            .contains("nested too deeply"));
        assert!(find(QuarantineKind::Item, &visible.assignment)
            .reason
            .contains("GET /items/{id}"));
        assert!(find(QuarantineKind::Attachment, &bad_sha)
            .reason
            .contains("integrity"));
        assert!(find(QuarantineKind::Attachment, &lying_sha)
            .reason
            .contains("exceeds"));
        assert_eq!(q.len(), 4, "{q:?}");
        assert_eq!(store.sync_status().unwrap().quarantined, 4);
        // The item with a malformed hidden field is stored, without it.
        assert!(store.scoped_item(&hidden.assignment).unwrap().is_some());
        // Good items are all there.
        assert_stored(
            store,
            seen.iter()
                .filter(|s| s.item != deep.item && s.item != visible.item),
        );
        // Nothing was requested of the lying attachment; the bad one once.
        assert_eq!(h.hostile.hits(&lying_sha), 0);
        assert_eq!(h.hostile.hits(&bad_sha), 1);
        // Uploads go on; the next sync does not fetch the quarantined again.
        let id = workable(store)
            .into_iter()
            .find(|a| a != &bad_hash.assignment && a != &lying.assignment)
            .unwrap();
        grade_and_submit(store, &id);
        let r = within(60, h.engine.sync_once(|_| {})).await.unwrap();
        assert_eq!(r.push.sent, 1, "{r:?}");
        assert_eq!(
            h.hostile.hits(&bad_sha),
            1,
            "re-downloaded a quarantined attachment"
        );
        assert_eq!(h.hostile.hits(&format!("/items/{} ", deep.item)), 1);
        // No hidden or refused value reached the database or a message.
        assert!(!contains(&db_bytes(store), "SECRET-VALUE-123"));
        for e in &q {
            assert!(!e.reason.contains("SECRET"), "{e:?}");
        }
        assert!(!format!("{report:?}").contains("SECRET"));
        h.env.platform.shutdown().await.unwrap();
    }

    /// Items are stored in batches (one transaction for all that arrived
    /// together): an item whose attachment reference is not a digest fails
    /// alone, quarantined with the reason, and every other item of its batch
    /// is stored.
    #[tokio::test]
    async fn an_invalid_attachment_digest_fails_only_its_own_item() {
        // All items at once, so the bad one shares a batch with good ones.
        let (h, seen) = start_quarantining(|c| c.item_concurrency = 64).await;
        let bad = seen
            .iter()
            .find(|s| {
                !s.attachments.is_empty() && seen.iter().filter(|o| o.item == s.item).count() == 1
            })
            .expect("an item with an attachment");
        let bad_item = bad.item.clone();
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/items/",
            rewrite(move |line, body| {
                let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
                if line.contains(&format!("/items/{bad_item} ")) {
                    for f in v["item"]["fields"].as_object_mut().unwrap().values_mut() {
                        if f["type"] == "attachment" {
                            f["value"]["sha256"] = serde_json::json!("../not-a-digest");
                        }
                    }
                }
                v.to_string().into_bytes()
            }),
        )]);
        let report = within(60, h.engine.pull(|_| {})).await.unwrap();
        let store = &h.env.store;
        let q = store.quarantine_entries().unwrap();
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].kind, QuarantineKind::Item);
        assert_eq!(q[0].key, bad.assignment);
        assert!(
            q[0].reason.contains("attachment reference is invalid"),
            "{q:?}"
        );
        assert!(store.scoped_item(&bad.assignment).unwrap().is_none());
        assert_stored(store, seen.iter().filter(|s| s.item != bad.item));
        assert_eq!(report.items as usize, seen.len() - 1, "{report:?}");
        h.env.platform.shutdown().await.unwrap();
    }

    /// A rubric document nested 100,000 levels deep is refused without
    /// overflowing the stack: that rubric is quarantined with the reason, its
    /// assignments' rows say why they are held back, and every other rubric,
    /// item, the outcomes and the ledger still come; the next sync does not
    /// ask for it again before its backoff.
    #[tokio::test]
    async fn a_deeply_nested_rubric_is_quarantined_alone() {
        let (h, seen) = start_quarantining(|_| {}).await;
        let deep = seen[0].rubric.clone();
        let (deep_id, deep_version) = deep.split_once('@').unwrap();
        let path = format!("/api/v1/rubrics/{deep_id}/versions/{deep_version}");
        assert!(
            seen.iter().any(|s| s.rubric != deep),
            "seed has one rubric only"
        );
        h.hostile.set(vec![rule(
            "GET",
            &format!("{path}$"),
            rewrite(|_, body| {
                let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
                v["document"] = serde_json::json!("DEEP");
                let deep = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
                String::from_utf8(deep)
                    .map(|d| v.to_string().replace("\"DEEP\"", &d))
                    .unwrap()
                    .into_bytes()
            }),
        )]);
        let report = within(60, h.engine.pull(|_| {})).await.unwrap();
        assert!(
            report.outcomes > 0 && report.ledger_entries > 0,
            "{report:?}"
        );
        let hit = format!("{path} ");
        assert_eq!(h.hostile.hits(&hit), 1);
        let store = &h.env.store;
        let q = store.quarantine_entries().unwrap();
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(
            (q[0].kind, q[0].key.as_str()),
            (QuarantineKind::Rubric, deep.as_str())
        );
        assert!(q[0].reason.contains("nested too deeply"), "{q:?}");
        assert!(store
            .rubric(deep_id, deep_version.parse().unwrap())
            .unwrap()
            .is_none());
        // Items of every other rubric are stored; those of the refused one
        // are not, and their rows say why.
        let rows = store.queue(chrono::Utc::now()).unwrap();
        for s in &seen {
            let stored = store.scoped_item(&s.assignment).unwrap().is_some();
            let row = rows
                .iter()
                .find(|r| r.assignment_id == s.assignment)
                .unwrap();
            if s.rubric == deep {
                assert!(!stored, "{} stored without its rubric", s.assignment);
                let held = row.held_back.as_ref().expect("row says it is held back");
                assert_eq!(held.kind, QuarantineKind::Rubric);
                assert!(held.reason.contains("nested too deeply"), "{held:?}");
            } else {
                assert!(stored, "{} missing", s.assignment);
                assert_eq!(row.held_back, None);
            }
        }
        // Uploads go on; the next sync leaves the refused rubric alone.
        let id = workable(store)
            .into_iter()
            .find(|a| seen.iter().any(|s| &s.assignment == a && s.rubric != deep))
            .unwrap();
        grade_and_submit(store, &id);
        let r = within(60, h.engine.sync_once(|_| {})).await.unwrap();
        assert_eq!(r.push.sent, 1, "{r:?}");
        assert_eq!(h.hostile.hits(&hit), 1, "asked again before its backoff");
        h.env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn attachment_size_is_capped_by_the_limit_and_free_disk() {
        let mut c = config();
        c.limits.keep_free_bytes = u64::MAX / 2;
        let h = start_hostile(c).await;
        let err = within(60, h.engine.pull(|_| {})).await.unwrap_err();
        assert!(matches!(err, SyncError::DiskFull { .. }), "{err:?}");
        assert!(err.to_string().contains("free on disk"), "{err}");
        assert_eq!(h.hostile.hits("/api/v1/attachments/"), 0);
        // Not bad data: nothing quarantined, and the ledger still came.
        assert_eq!(h.env.store.sync_status().unwrap().quarantined, 0);
        assert!(!h.env.store.ledger().unwrap().is_empty());
        // A limit below the attachments' size: each is quarantined unrequested.
        let mut c = config();
        c.limits.attachment_max_bytes = 10;
        let e = engine(
            &h.hostile.url(),
            &h.env.platform.expert_token,
            h.env.store.clone(),
            c,
        );
        within(60, e.pull(|_| {})).await.unwrap();
        let q = h.env.store.quarantine_entries().unwrap();
        assert!(!q.is_empty());
        assert!(q
            .iter()
            .all(|e| e.kind == QuarantineKind::Attachment && e.reason.contains("10 bytes")));
        assert_eq!(h.hostile.hits("/api/v1/attachments/"), 0);
        h.env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_cycling_cursor_stops_the_pull_with_an_error() {
        let h = start_hostile_on_get(
            "/api/v1/ledger",
            raw(|line| {
                let next = if line.contains("since=A") { "B" } else { "A" };
                json(&serde_json::json!({"entries": [], "next_cursor": next, "has_more": true}))
            }),
        )
        .await;
        pull_fails!(h, SyncError::CursorCycle { feed: "ledger", cursor } if cursor == "A");
        assert!(h.hostile.hits("GET /api/v1/ledger") <= 3);
        h.env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn redirects_never_on_uploads_same_origin_only_on_reads() {
        let (h, store) = start_hostile_pulled().await;
        // Another host that would happily take the grade and answer a receipt.
        let thief = hs::start(h.env.platform.server.addr()).await;
        let id = workable(&store).remove(0);
        let receipt = serde_json::json!({"submission_id": "stolen", "assignment_id": id,
            "received_at": chrono::Utc::now(), "status": "pending"});
        thief.set(vec![
            rule("POST", "/api/v1/submissions", raw(move |_| json(&receipt))),
            rule(
                "GET",
                "/api/v1/payouts",
                raw(|_| json(&serde_json::json!({"payouts": []}))),
            ),
        ]);
        let elsewhere = format!("http://localhost:{}", thief.addr.port());
        let loc = format!("{elsewhere}/api/v1/submissions");
        grade_and_submit(&store, &id);
        h.hostile.set(vec![rule(
            "POST",
            "/api/v1/submissions",
            raw(move |_| http("307 Temporary Redirect", &[("Location", &loc)], b"")),
        )]);
        let report = h.engine.push().await.unwrap();
        assert_eq!((report.sent, report.retry_scheduled), (0, 1), "{report:?}");
        let e = store.latest_outbox_entry(&id).unwrap().unwrap();
        assert_eq!(e.state, OutboxState::Queued);
        let msg = e.last_error.unwrap();
        assert!(
            msg.contains("redirected POST /submissions (HTTP 307)"),
            "{msg}"
        );
        assert_eq!(thief.hits("/api/v1/submissions"), 0);
        assert_eq!(platform_submissions(&h.env.platform, &id), 0);
        // A read redirected to another origin is refused.
        let loc = format!("{elsewhere}/api/v1/payouts");
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/payouts",
            raw(move |_| http("302 Found", &[("Location", &loc)], b"")),
        )]);
        pull_fails!(
            h,
            SyncError::Redirected {
                route: "GET /payouts",
                status: 302,
                ..
            }
        );
        assert_eq!(thief.hits("/api/v1/payouts"), 0);
        // Within the platform's origin, a read follows the redirect.
        h.hostile.set(vec![rule(
            "GET",
            "/api/v1/payouts$",
            raw(|_| http("302 Found", &[("Location", "/api/v1/payouts?moved=1")], b"")),
        )]);
        within(30, h.engine.pull(|_| {})).await.unwrap();
        assert_eq!(h.hostile.hits("/api/v1/payouts?moved=1"), 1);
        // The upload goes to the platform once it stops redirecting.
        h.hostile.set(vec![]);
        tokio::time::sleep(fast_config().backoff_max).await;
        assert_eq!(h.engine.push().await.unwrap().sent, 1);
        assert_eq!(platform_submissions(&h.env.platform, &id), 1);
        h.env.platform.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_receipt_for_another_assignment_keeps_the_entry_queued() {
        let (h, store, id) = start_hostile_with_a_grade().await;
        h.hostile.set(vec![rule(
            "POST",
            "/api/v1/submissions",
            rewrite(|_, body| {
                let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
                v["assignment_id"] = "someone-else".into();
                v.to_string().into_bytes()
            }),
        )]);
        let report = h.engine.push().await.unwrap();
        assert_eq!((report.sent, report.retry_scheduled), (0, 1), "{report:?}");
        let e = store.latest_outbox_entry(&id).unwrap().unwrap();
        assert_eq!(e.state, OutboxState::Queued);
        assert!(e.last_error.unwrap().contains("receipt does not match"));
        assert_eq!(
            store.status_of(&id, chrono::Utc::now()).unwrap(),
            QueueStatus::InOutbox
        );
        // The platform did store it; the retry with the same key replays the
        // true receipt, and there is still one submission.
        h.hostile.set(vec![]);
        tokio::time::sleep(fast_config().backoff_max).await;
        let report = h.engine.push().await.unwrap();
        assert_eq!((report.sent, report.replayed), (1, 1), "{report:?}");
        assert_eq!(platform_submissions(&h.env.platform, &id), 1);
        h.env.platform.shutdown().await.unwrap();
    }

    /// Peak resident memory of this test process (Linux), in bytes.
    fn peak_rss() -> Option<u64> {
        Some(assay_pgtest::process::peak_rss_kib()? * 1024)
    }

    /// Bounded fuzzing of the engine against a randomly misbehaving platform
    /// (status codes, absurd Retry-After, truncation, delays, drops, duplicate
    /// and reordered pages, bad hashes, endless and dripping bodies): no
    /// panic, no stall, bounded memory; once the platform behaves, every
    /// queued grade is on it exactly once, nothing stays quarantined and the
    /// store equals a clean pull.
    #[tokio::test]
    async fn fuzz_engine_against_a_misbehaving_platform() {
        let _alone = super::HEAVY.lock().await;
        const ROUNDS: usize = 60;
        const MEMORY_CAP: u64 = 1 << 30;
        let mut c = config();
        c.limits.request_deadline = Duration::from_secs(1);
        c.limits.attachment_deadline = Duration::from_secs(3);
        let h = start_hostile(c).await;
        let seed = std::env::var("ASSAY_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5EED_0FA5);
        let chaos = hs::Chaos::new(seed);
        let all = |m| rule(m, "/", Act::Chaos(chaos.clone()));
        h.hostile.set(vec![all("GET"), all("POST")]);
        let store = h.env.store.clone();
        // Assignment -> submissions the platform held before it was graded here
        // (work sent back for revision already has one).
        let mut graded = std::collections::BTreeMap::new();
        let started = Instant::now();
        for round in 0..ROUNDS {
            let _ = within(120, h.engine.sync_once(|_| {})).await;
            // Grade whatever is workable now (between faulty syncs).
            if round % 3 == 1 {
                for id in workable(&store).into_iter().take(3) {
                    let before = platform_submissions(&h.env.platform, &id);
                    grade_and_submit(&store, &id);
                    graded.insert(id, before);
                }
            }
        }
        let stats = chaos.stats.lock().unwrap().clone();
        chaos.on.store(false, Ordering::SeqCst);
        let mut clean = false;
        for _ in 0..60 {
            let ok = within(120, h.engine.sync_once(|_| {})).await.is_ok();
            let s = store.sync_status().unwrap();
            if ok && s.outbox_pending == 0 && s.quarantined == 0 && s.attachments_missing == 0 {
                clean = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let status = store.sync_status().unwrap();
        assert!(clean, "did not converge: {status:?}; {stats:?}");
        eprintln!(
            "fuzz seed {seed:#x}: {ROUNDS} rounds in {:?}, faults {stats:?}, {} graded, peak RSS {:?} MiB",
            started.elapsed(),
            graded.len(),
            peak_rss().map(|b| b >> 20)
        );
        assert_injected(
            &stats,
            &[
                "status",
                "retry_after",
                "truncate",
                "delay",
                "duplicate",
                "reorder",
                "bad_hash",
                "drop",
            ],
        );
        assert!(!graded.is_empty(), "nothing was ever workable");
        for (id, before) in &graded {
            assert_eq!(
                platform_submissions(&h.env.platform, id),
                before + 1,
                "{id}"
            );
            assert_eq!(
                store.status_of(id, chrono::Utc::now()).unwrap(),
                QueueStatus::Submitted,
                "{id}"
            );
        }
        // Good items were never lost to bad ones: equal to a clean pull.
        let (_control_dir, control) = control_pull(&h).await;
        let queue = |s: &Store| s.queue(chrono::Utc::now()).unwrap();
        let ids = |q: &[assay_store::QueueRow]| {
            q.iter()
                .map(|r| r.assignment_id.clone())
                .collect::<Vec<_>>()
        };
        let (mine, clean_q) = (queue(&store), queue(&control));
        assert_eq!(ids(&mine), ids(&clean_q));
        // Every item a clean pull has is here too (graded ones were fetched
        // while still active, which a pull after completion does not do).
        for c in clean_q.iter().filter(|r| r.downloaded) {
            assert!(
                mine.iter()
                    .any(|r| r.assignment_id == c.assignment_id && r.downloaded),
                "{} missing",
                c.assignment_id
            );
        }
        assert_eq!(store.ledger().unwrap(), control.ledger().unwrap());
        if let Some(peak) = peak_rss() {
            assert!(peak < MEMORY_CAP, "peak RSS {peak} bytes");
        }
        h.env.platform.shutdown().await.unwrap();
    }

    /// issue 14: the rubric publishing routes are bounded like every other:
    /// an endless or dripping answer fails within the limits, a file over the
    /// parser's limit is never sent, and an expert token's 403 comes back as
    /// the platform's refusal.
    #[tokio::test]
    async fn rubric_publishing_calls_are_bounded_and_refusals_kept() {
        let _alone = super::HEAVY.lock().await;
        let h = start_hostile(config()).await;
        let client = assay_sync::PlatformClient::new(&h.hostile.url())
            .unwrap()
            .with_limits(limits())
            .with_token(assay_sync::Token::new(h.env.platform.expert_token.clone()));
        let who = within(30, client.whoami()).await.unwrap();
        assert_eq!(who.role, assay_protocol::TokenRole::Expert);
        assert!(!who.may_publish);
        let rubric = "format = 1\nid = \"r\"\nversion = 1\n";
        let err = within(30, client.check_rubric(rubric, assay_rubric::Format::Toml))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SyncError::Rejected { status: 403, error } if error.code == assay_protocol::ApiErrorCode::Forbidden),
            "{err:?}"
        );
        h.hostile.set(vec![rule(
            "POST",
            "/api/v1/author/rubrics/check",
            Act::EndlessChunked,
        )]);
        let err = within(30, client.check_rubric(rubric, assay_rubric::Format::Toml))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SyncError::TooLarge {
                    route: "POST /author/rubrics/check",
                    ..
                }
            ),
            "{err:?}"
        );
        h.hostile.set(vec![rule(
            "POST",
            "/api/v1/author/rubrics",
            Act::Drip(Duration::from_millis(500)),
        )]);
        let started = Instant::now();
        let err = within(
            30,
            client.publish_rubric(rubric, assay_rubric::Format::Toml),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                SyncError::Timeout {
                    route: "POST /author/rubrics",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let huge = "#".repeat(assay_rubric::parse::MAX_RUBRIC_BYTES + 1);
        let before = h.hostile.sent.load(Ordering::SeqCst);
        let err = client
            .publish_rubric(&huge, assay_rubric::Format::Toml)
            .await
            .unwrap_err();
        assert!(matches!(err, SyncError::TooLarge { .. }), "{err:?}");
        assert_eq!(
            h.hostile.sent.load(Ordering::SeqCst),
            before,
            "nothing sent"
        );
    }
}
