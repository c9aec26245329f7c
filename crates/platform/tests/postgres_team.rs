//! A team on PostgreSQL: two `assay-platform serve` processes share one
//! database; 60 reviewers (each a client) sync, renew leases and submit
//! through both at once, each submission sent three times concurrently
//! (twice with one idempotency key, once with another, as a retry and a
//! second device would). Leases stay exclusive under concurrent
//! reassignment through both servers, and every submission is stored
//! exactly once.
//!
//! The server comes from `ASSAY_TEST_POSTGRES_URL` (`cargo xtask test` sets
//! it); unset, the test starts a throw-away cluster of its own, and skips
//! only outside CI when PostgreSQL is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use assay_pgtest::process::KillOnDrop;
use assay_platform::demo;
use assay_platform::rules::Rules;
use assay_platform::storage::{NewExpert, PostgresStorage, Storage};
use assay_platform::testing::TEST_POSTGRES_ENV;
use assay_platform::BlobStore;
use assay_protocol::{Assignment, AssignmentPage, AssignmentState, IDEMPOTENCY_KEY_HEADER};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ADMIN: &str = "team-admin-token";
const REVIEWERS: usize = 60;

/// The PostgreSQL server to use, and the cluster to keep alive (if ours).
fn postgres_server(tmp: &Path) -> Option<(Option<assay_pgtest::Cluster>, String)> {
    if let Ok(url) = std::env::var(TEST_POSTGRES_ENV) {
        if !url.trim().is_empty() {
            return Some((None, url));
        }
    }
    match assay_pgtest::Cluster::start(&tmp.join(format!("pg-team-{}", std::process::id()))) {
        Ok(cluster) => {
            let url = cluster.url();
            Some((Some(cluster), url))
        }
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI runs this test on PostgreSQL, which could not be started: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED (not CI): no PostgreSQL for the team test: {e}");
            None
        }
    }
}

/// A `serve` process; killed when dropped.
struct Server {
    /// Held to be killed when this is dropped.
    _child: KillOnDrop,
    base: String,
}

fn serve(db: &str, blob_dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay-platform"))
        .args([
            "serve",
            "--db",
            db,
            "--bind",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
        ])
        .arg("--blob-dir")
        .arg(blob_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting assay-platform serve");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server exited before listening")
            .expect("reading the server's stderr");
        if let Some(url) = line.strip_prefix("assay-platform listening on ") {
            break format!("{}/api/v1", url.trim());
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        _child: KillOnDrop(child),
        base,
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    if let Some(k) = key {
        req = req.header(IDEMPOTENCY_KEY_HEADER, k);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let v = r.json().await.unwrap_or(Value::Null);
    (status, v)
}

fn submission(a: &Assignment) -> Value {
    json!({
        "assignment_id": a.id,
        "rubric_id": a.rubric_id,
        "rubric_version": a.rubric_version,
        "answers": demo::sample_answers(&a.opportunity_id, 0),
        "active_seconds": 300,
        "time_log": [],
        "client_created_at": Utc::now(),
    })
}

/// Seeds the demo, gives each of `REVIEWERS` new experts one assignment
/// (reassigned from the demo reviewer's bulk queue) and returns their
/// tokens and the demo reviewer's remaining active assignments.
fn seed(db: &str, blobs: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let storage = PostgresStorage::connect(db).expect("connecting");
    let now = Utc::now();
    let bulk = demo::seed_small_with_bulk(
        &storage,
        &BlobStore::new(blobs.to_path_buf()),
        REVIEWERS + 20,
        now,
    )
    .expect("seeding");
    let mut reviewers = Vec::new();
    for i in 0..REVIEWERS {
        let id = format!("exp-team-{i:03}");
        storage
            .insert_expert(&NewExpert::token_only(&id), now)
            .expect("expert");
        let asg = format!("asg-bulk-{i:06}");
        storage
            .reassign_assignment(&asg, &id, now, Duration::hours(4))
            .expect("reassign");
        let token = assay_platform::issue_token_blocking(&storage, &id, Some("team"), now)
            .expect("token")
            .token;
        reviewers.push((id, token));
    }
    let rest = (REVIEWERS..REVIEWERS + 20)
        .map(|k| format!("asg-bulk-{k:06}"))
        .collect();
    assert_eq!(bulk.items.len(), REVIEWERS + 20);
    (reviewers, rest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_one_postgres_keep_leases_exclusive_and_store_each_submission_once() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let Some((_cluster, server_url)) = postgres_server(&tmp) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = dir.path().join("blobs");
    let name = format!("assay_team_{}", uuid::Uuid::new_v4().simple());
    let db = tokio::task::spawn_blocking(move || {
        PostgresStorage::create_database(&server_url, &name).expect("creating the database")
    })
    .await
    .expect("join");
    let (reviewers, demo_rest) = {
        let (db, blobs) = (db.clone(), blobs.clone());
        tokio::task::spawn_blocking(move || seed(&db, &blobs))
            .await
            .expect("join")
    };
    let servers = [serve(&db, &blobs), serve(&db, &blobs)];
    let bases: Arc<[String; 2]> = Arc::new([servers[0].base.clone(), servers[1].base.clone()]);
    let http = reqwest::Client::new();

    // ≥50 concurrent clients: each reviewer syncs, renews and submits
    // through both servers at once.
    let mut tasks = Vec::new();
    for (i, (_, token)) in reviewers.iter().cloned().enumerate() {
        let (http, bases) = (http.clone(), bases.clone());
        tasks.push(tokio::spawn(async move {
            let (mine, other) = (&bases[i % 2], &bases[(i + 1) % 2]);
            let (status, page) = call(
                &http,
                reqwest::Method::GET,
                format!("{mine}/assignments"),
                &token,
                None,
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let page: AssignmentPage = serde_json::from_value(page).expect("page");
            let active: Vec<&Assignment> = page
                .assignments
                .iter()
                .filter(|a| a.state == AssignmentState::Active)
                .collect();
            assert_eq!(active.len(), 1, "one assignment each");
            let a = active[0].clone();
            let (status, lease) = call(
                &http,
                reqwest::Method::POST,
                format!("{other}/assignments/{}/lease", a.id),
                &token,
                Some(&json!({})),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{lease}");
            let body = submission(&a);
            let key = format!("k-{i}");
            let dup = format!("k-{i}-other-device");
            let (h, t, b) = (&http, &token, &body);
            let submit = |base: &str, key: &str| {
                let (url, key) = (format!("{base}/submissions"), key.to_owned());
                async move { call(h, reqwest::Method::POST, url, t, Some(b), Some(&key)).await }
            };
            let (r1, r2, r3) =
                tokio::join!(submit(mine, &key), submit(other, &key), submit(other, &dup));
            let mut ids = BTreeSet::new();
            for (status, v) in [&r1, &r2, &r3] {
                match *status {
                    StatusCode::OK => {
                        ids.insert(v["submission_id"].as_str().expect("id").to_owned());
                    }
                    StatusCode::CONFLICT => {}
                    other => panic!("unexpected {other}: {v}"),
                }
            }
            assert_eq!(
                ids.len(),
                1,
                "one submission per assignment: {r1:?} {r2:?} {r3:?}"
            );
            (a.id, ids.into_iter().next().expect("one id"))
        }));
    }
    let mut acknowledged = BTreeMap::new();
    for t in tasks {
        let (assignment, submission) = t.await.expect("client task");
        acknowledged.insert(assignment, submission);
    }
    assert_eq!(acknowledged.len(), REVIEWERS);

    // Leases stay exclusive: each of the demo reviewer's other assignments
    // is reassigned to two different experts through both servers at once;
    // exactly one wins.
    let mut races = Vec::new();
    for (k, asg) in demo_rest.iter().enumerate() {
        let (http, bases) = (http.clone(), bases.clone());
        let (to_a, to_b) = (
            format!("exp-team-{:03}@example.org", (2 * k) % REVIEWERS),
            format!("exp-team-{:03}@example.org", (2 * k + 1) % REVIEWERS),
        );
        let asg = asg.clone();
        races.push(tokio::spawn(async move {
            let h = &http;
            let reassign = |base: &str, to: String| {
                let url = format!("{base}/admin/assignments/{asg}/reassign");
                let body = json!({ "expert_email": to });
                async move { call(h, reqwest::Method::POST, url, ADMIN, Some(&body), None).await }
            };
            let (a, b) = tokio::join!(reassign(&bases[0], to_a), reassign(&bases[1], to_b));
            let wins = [&a, &b].iter().filter(|r| r.0 == StatusCode::OK).count();
            assert_eq!(wins, 1, "exactly one reassignment wins: {a:?} {b:?}");
            assert!([&a, &b]
                .iter()
                .all(|r| r.0 == StatusCode::OK || r.0 == StatusCode::CONFLICT));
            let winner = if a.0 == StatusCode::OK { a.1 } else { b.1 };
            winner["item_id"].as_str().expect("item").to_owned()
        }));
    }
    let mut raced_items = Vec::new();
    for r in races {
        raced_items.push(r.await.expect("race task"));
    }
    drop(servers);

    let checks = tokio::task::spawn_blocking(move || {
        let storage = PostgresStorage::connect(&db).expect("connecting");
        // Exactly once: every acknowledged submission is stored, once.
        let mut stored: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut after = 0;
        loop {
            let page = storage.export_submissions(after, 500).expect("export");
            for r in &page.rows {
                stored
                    .entry(r.assignment_id.clone())
                    .or_default()
                    .push(r.submission_id.clone());
                after = r.seq;
            }
            if !page.has_more {
                break;
            }
        }
        for (assignment, submission) in &acknowledged {
            assert_eq!(
                stored.get(assignment),
                Some(&vec![submission.clone()]),
                "assignment {assignment}: stored exactly once, the acknowledged one"
            );
        }
        // One live lease per raced item, across every expert.
        let mut holders: BTreeMap<String, usize> = BTreeMap::new();
        let mut experts = vec![demo::DEMO_EXPERT_ID.to_owned()];
        experts.extend((0..REVIEWERS).map(|i| format!("exp-team-{i:03}")));
        for e in experts {
            let page = storage.list_assignments(&e, 0, 500).expect("assignments");
            for a in page.rows {
                if a.state == AssignmentState::Active && raced_items.contains(&a.item_id) {
                    *holders.entry(a.item_id).or_default() += 1;
                }
            }
        }
        (raced_items.len(), holders)
    })
    .await
    .expect("join");
    let (raced, holders) = checks;
    assert_eq!(holders.len(), raced, "every raced item has a live lease");
    assert!(
        holders.values().all(|n| *n == 1),
        "one live lease per item: {holders:?}"
    );
}
