//! Load benchmark of the platform on SQLite and on PostgreSQL: N simulated
//! reviewers (default 200) at once, each syncing its queue, renewing the
//! lease of each assignment, fetching the item and submitting (with an
//! idempotency key), then syncing again. Prints requests/s, p50/p99 latency
//! per route, and lost / duplicated submissions (must both be 0: every
//! acknowledged submission stored, none stored twice), per backend and run.
//!
//! `cargo run --release -p assay-platform --example load_bench -- \
//!     [--reviewers 200] [--per-reviewer 3] [--runs 3] [--items N] [--max-seconds 120] \
//!     [--backend both|sqlite|postgres]`
//!
//! Bounded: `--items` caps the assignments in total, `--max-seconds` each
//! run's load phase (work left over is reported, never silently dropped).
//! Loopback only: the server runs in this process on 127.0.0.1 (its own
//! runtime, the clients on another); PostgreSQL is a throw-away cluster
//! under target/ (assay-pgtest) unless `ASSAY_TEST_POSTGRES_URL` names one.
//! Each run seeds a fresh database: the demo seed, then one assignment per
//! (reviewer, slot), each on its own copy of a demo item.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use anyhow::{bail, Context};
use assay_platform::demo;
use assay_platform::rules::Rules;
use assay_platform::storage::{NewExpert, PostgresStorage, SqliteStorage, Storage};
use assay_platform::{spawn_with_storage, BlobStore, ServerConfig};
use assay_protocol::{Assignment, AssignmentPage, AssignmentState, IDEMPOTENCY_KEY_HEADER};
use chrono::{Duration, Utc};
use serde_json::json;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context("missing value")?
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}: {e}")),
        None => Ok(default),
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Latencies (ms) per route.
type Latencies = Arc<Mutex<BTreeMap<&'static str, Vec<f64>>>>;

struct RunResult {
    requests: usize,
    wall: f64,
    routes: BTreeMap<&'static str, Vec<f64>>,
    acknowledged: usize,
    lost: usize,
    duplicated: usize,
    unfinished: usize,
}

/// Seeds `storage`: the demo, `reviewers` experts with tokens, and
/// `per_reviewer` assignments each. Returns the tokens.
fn seed(
    storage: &dyn Storage,
    blobs: &BlobStore,
    reviewers: usize,
    per_reviewer: usize,
) -> anyhow::Result<Vec<String>> {
    let now = Utc::now();
    let total = reviewers * per_reviewer;
    demo::seed_small_with_bulk(storage, blobs, total, now)?;
    let mut tokens = Vec::with_capacity(reviewers);
    for r in 0..reviewers {
        let id = format!("exp-load-{r:04}");
        storage.insert_expert(&NewExpert::token_only(&id), now)?;
        tokens.push(assay_platform::issue_token_blocking(storage, &id, Some("load"), now)?.token);
    }
    for k in 0..total {
        let to = format!("exp-load-{:04}", k % reviewers);
        storage.reassign_assignment(&format!("asg-bulk-{k:06}"), &to, now, Duration::hours(4))?;
    }
    Ok(tokens)
}

/// Sends `req`, records its latency under `route` and returns the JSON
/// answer; an unsuccessful status is an error naming `step`.
async fn timed(
    lat: &Latencies,
    route: &'static str,
    step: &str,
    req: reqwest::RequestBuilder,
) -> anyhow::Result<serde_json::Value> {
    let t = Instant::now();
    let r = req.send().await?;
    let status = r.status();
    let body = r.json().await.unwrap_or(serde_json::Value::Null);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    lat.lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .entry(route)
        .or_default()
        .push(ms);
    if !status.is_success() {
        bail!("{step}: {status} {body}");
    }
    Ok(body)
}

/// One reviewer's session; returns (assignment, acknowledged submission) pairs.
async fn reviewer(
    http: reqwest::Client,
    base: String,
    token: String,
    lat: Latencies,
    deadline: Instant,
) -> anyhow::Result<(Vec<(String, String)>, usize)> {
    let get = |path: String| http.get(format!("{base}{path}")).bearer_auth(&token);
    let post = |path: String| http.post(format!("{base}{path}")).bearer_auth(&token);
    let page = timed(&lat, "GET /assignments", "sync", get("/assignments".into())).await?;
    let page: AssignmentPage = serde_json::from_value(page)?;
    let work: Vec<Assignment> = page
        .assignments
        .into_iter()
        .filter(|a| a.state == AssignmentState::Active)
        .collect();
    let mut acked = Vec::new();
    let mut unfinished = 0;
    for (i, a) in work.iter().enumerate() {
        if Instant::now() > deadline {
            unfinished = work.len() - i;
            break;
        }
        let lease = post(format!("/assignments/{}/lease", a.id));
        timed(&lat, "POST /assignments/{id}/lease", "lease", lease).await?;
        let item = get(format!("/items/{}", a.item_id));
        timed(&lat, "GET /items/{id}", "item", item).await?;
        let body = json!({
            "assignment_id": a.id,
            "rubric_id": a.rubric_id,
            "rubric_version": a.rubric_version,
            "answers": demo::sample_answers(&a.opportunity_id, 0),
            "active_seconds": 240,
            "time_log": [],
            "client_created_at": Utc::now(),
        });
        let submit = post("/submissions".into())
            .header(IDEMPOTENCY_KEY_HEADER, format!("load-{}", a.id))
            .json(&body);
        let v = timed(&lat, "POST /submissions", "submit", submit).await?;
        let id = v["submission_id"]
            .as_str()
            .context("receipt without submission_id")?;
        acked.push((a.id.clone(), id.to_owned()));
    }
    let last = get("/assignments".into());
    timed(&lat, "GET /assignments", "final sync", last).await?;
    Ok((acked, unfinished))
}

/// Every grade submission stored, by assignment.
fn stored(storage: &dyn Storage) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = storage.export_submissions(after, 500)?;
        for r in &page.rows {
            out.entry(r.assignment_id.clone())
                .or_default()
                .push(r.submission_id.clone());
            after = r.seq;
        }
        if !page.has_more {
            return Ok(out);
        }
    }
}

fn run_once(
    storage: Arc<dyn Storage>,
    reviewers: usize,
    per_reviewer: usize,
    max_seconds: u64,
) -> anyhow::Result<RunResult> {
    let dir = tempfile::tempdir()?;
    let blobs = BlobStore::new(dir.path().join("blobs"));
    let tokens = seed(storage.as_ref(), &blobs, reviewers, per_reviewer)?;
    // The server on a runtime of its own; the clients on this one.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut config = ServerConfig::new(
        dir.path().join("unused.db"),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    );
    config.blob_dir = Some(blobs.dir().to_path_buf());
    let server = server_rt.block_on(spawn_with_storage(config, storage.clone()))?;
    let base = format!("{}/api/v1", server.base_url());
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let lat: Latencies = Arc::default();
    let started = Instant::now();
    let deadline = started + StdDuration::from_secs(max_seconds);
    let results = client_rt.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(reviewers)
            .build()?;
        let tasks: Vec<_> = tokens
            .into_iter()
            .map(|t| {
                tokio::spawn(reviewer(
                    http.clone(),
                    base.clone(),
                    t,
                    lat.clone(),
                    deadline,
                ))
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await??);
        }
        anyhow::Ok(out)
    })?;
    let wall = started.elapsed().as_secs_f64();
    server_rt.block_on(server.shutdown())?;
    drop(server_rt);
    let stored = stored(storage.as_ref())?;
    let mut acknowledged = 0;
    let mut lost = 0;
    let mut unfinished = 0;
    let mut acked_ids = BTreeSet::new();
    for (acked, left) in results {
        unfinished += left;
        for (assignment, submission) in acked {
            acknowledged += 1;
            if !stored
                .get(&assignment)
                .is_some_and(|s| s.contains(&submission))
            {
                lost += 1;
            }
            acked_ids.insert(assignment);
        }
    }
    let duplicated = stored.values().filter(|s| s.len() > 1).count();
    let routes = std::mem::take(&mut *lat.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let requests = routes.values().map(Vec::len).sum();
    Ok(RunResult {
        requests,
        wall,
        routes,
        acknowledged,
        lost,
        duplicated,
        unfinished,
    })
}

fn report(backend: &str, runs: &mut [RunResult]) {
    let mut rps: Vec<f64> = runs.iter().map(|r| r.requests as f64 / r.wall).collect();
    rps.sort_by(f64::total_cmp);
    println!(
        "\n{backend}: requests/s median {:.0}, min {:.0} over {} runs",
        rps[rps.len() / 2],
        rps[0],
        runs.len()
    );
    let mut by_route: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in runs.iter_mut() {
        for (route, v) in &mut r.routes {
            v.sort_by(f64::total_cmp);
            let e = by_route.entry(route).or_default();
            e.0.push(percentile(v, 0.50));
            e.1.push(percentile(v, 0.99));
        }
    }
    println!(
        "  {:<30} {:>16} {:>16}   (ms: median over runs (min))",
        "route", "p50", "p99"
    );
    for (route, (mut p50, mut p99)) in by_route {
        p50.sort_by(f64::total_cmp);
        p99.sort_by(f64::total_cmp);
        println!(
            "  {route:<30} {:>7.1} ({:>6.1}) {:>7.1} ({:>6.1})",
            p50[p50.len() / 2],
            p50[0],
            p99[p99.len() / 2],
            p99[0]
        );
    }
    for (i, r) in runs.iter().enumerate() {
        println!(
            "  run {}: {} requests in {:.2}s; {} submissions acknowledged, lost {}, duplicated {}, unfinished {}",
            i + 1,
            r.requests,
            r.wall,
            r.acknowledged,
            r.lost,
            r.duplicated,
            r.unfinished
        );
    }
}

fn main() -> anyhow::Result<()> {
    let reviewers: usize = arg("--reviewers", 200)?;
    let mut per_reviewer: usize = arg("--per-reviewer", 3)?;
    let runs: usize = arg("--runs", 3)?;
    let max_seconds: u64 = arg("--max-seconds", 120)?;
    let items: usize = arg("--items", usize::MAX)?;
    let backend: String = arg("--backend", "both".to_owned())?;
    if reviewers == 0 || runs == 0 {
        bail!("--reviewers and --runs must be at least 1");
    }
    per_reviewer = per_reviewer.min(items / reviewers).max(1);
    println!(
        "load_bench: {reviewers} reviewers × {per_reviewer} assignments, {runs} runs; load {}, {} cores",
        load(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    let mut failed = false;
    if backend == "both" || backend == "sqlite" {
        let mut results = Vec::new();
        for _ in 0..runs {
            let dir = tempfile::tempdir()?;
            let storage: Arc<dyn Storage> =
                Arc::new(SqliteStorage::open(&dir.path().join("platform.db"))?);
            results.push(run_once(storage, reviewers, per_reviewer, max_seconds)?);
        }
        failed |= results.iter().any(|r| r.lost + r.duplicated > 0);
        report("SQLite (WAL, synchronous=NORMAL)", &mut results);
    }
    if backend == "both" || backend == "postgres" {
        let (cluster, server) = match std::env::var("ASSAY_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => (None, url),
            _ => {
                let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
                let c = assay_pgtest::Cluster::start(
                    &target.join(format!("pg-bench-{}", std::process::id())),
                )
                .context("starting a throw-away PostgreSQL cluster")?;
                let url = c.url();
                (Some(c), url)
            }
        };
        let mut results = Vec::new();
        for r in 0..runs {
            let name = format!("assay_load_{}_{r}", std::process::id());
            let url = PostgresStorage::create_database(&server, &name)?;
            let storage: Arc<dyn Storage> = Arc::new(PostgresStorage::connect(&url)?);
            results.push(run_once(storage, reviewers, per_reviewer, max_seconds)?);
        }
        failed |= results.iter().any(|r| r.lost + r.duplicated > 0);
        report(
            "PostgreSQL (throw-away cluster: fsync=off, synchronous_commit=off)",
            &mut results,
        );
        drop(cluster);
    }
    if failed {
        bail!("submissions were lost or duplicated");
    }
    Ok(())
}
