//! Cost of the platform's per-item access check (`GET /items/{id}` is
//! `Rules::item_for_expert`) for the newest and the oldest of 10,000
//! assignments, with and without the access index (migration 3), paired and
//! repeated:
//!
//! `cargo run --release -p assay-platform --example access_bench -- [--items N] [--runs R]`
//!
//! Both databases are the same seeded file (the demo seed plus N bulk
//! assignments, `seed_bulk`); "before" is a copy with migration 3's indexes
//! dropped, i.e. the query plans of the previous schema. Each run measures
//! both databases in alternating order; per-call wall and thread CPU time are
//! reported as median and min over the runs, with the machine's load.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use assay_platform::demo;
use assay_platform::rules::Rules;
use assay_platform::{BlobStore, SqliteStorage};
use chrono::Utc;

/// CPU time of the calling thread in ns (Linux schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn arg(name: &str, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).context("missing value")?.parse()?),
        None => Ok(default),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Mean (wall µs, cpu µs) per call over `calls` calls.
fn time_calls(s: &SqliteStorage, item: &str, calls: usize) -> anyhow::Result<(f64, f64)> {
    let c0 = thread_cpu_ns();
    let t = Instant::now();
    for _ in 0..calls {
        let env = s.item_for_expert(demo::DEMO_EXPERT_ID, item)?;
        anyhow::ensure!(env.item.id == item);
    }
    let wall = t.elapsed().as_secs_f64() * 1e6 / calls as f64;
    let cpu = (thread_cpu_ns().saturating_sub(c0)) as f64 / 1e3 / calls as f64;
    Ok((wall, cpu))
}

fn drop_access_indexes(path: &Path) -> anyhow::Result<()> {
    let c = rusqlite::Connection::open(path)?;
    c.execute_batch(
        "DROP INDEX assignments_item_expert_seq; DROP INDEX item_blobs_sha; \
         PRAGMA wal_checkpoint(TRUNCATE);",
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let n = arg("--items", 10_000)?;
    let runs = arg("--runs", 9)?;
    let dir = tempfile::tempdir()?;
    let after_path = dir.path().join("after.db");
    let before_path = dir.path().join("before.db");
    let t = Instant::now();
    let bulk = {
        let storage = SqliteStorage::open(&after_path)?;
        let blobs = BlobStore::new(dir.path().join("blobs"));
        let now = Utc::now();
        demo::seed_small_with_bulk(&storage, &blobs, n, now)?
    };
    {
        let c = rusqlite::Connection::open(&after_path)?;
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    }
    std::fs::copy(&after_path, &before_path)?;
    drop_access_indexes(&before_path)?;
    eprintln!(
        "seeded demo + {n} bulk assignments in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let before = SqliteStorage::open(&before_path)?;
    let after = SqliteStorage::open(&after_path)?;
    let oldest = bulk.items.first().context("no items")?.clone();
    let newest = bulk.items.last().context("no items")?.clone();
    println!(
        "access_bench: {n} assignments of one expert, {runs} paired runs, {} cores, load before {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        load()
    );
    // Warm both (page cache, statement cache).
    for s in [&before, &after] {
        time_calls(s, &newest, 5)?;
        time_calls(s, &oldest, 5)?;
    }
    let cases = [("newest", &newest, 200usize), ("oldest", &oldest, 40)];
    // [case][db] -> (walls, cpus)
    let mut results: Vec<[(Vec<f64>, Vec<f64>); 2]> =
        cases.iter().map(|_| Default::default()).collect();
    for run in 0..runs {
        let order: [usize; 2] = if run.is_multiple_of(2) {
            [0, 1]
        } else {
            [1, 0]
        };
        for db in order {
            let s = if db == 0 { &before } else { &after };
            for (c, (_, item, calls)) in cases.iter().enumerate() {
                let (w, cpu) = time_calls(s, item, *calls)?;
                results[c][db].0.push(w);
                results[c][db].1.push(cpu);
            }
        }
    }
    for (c, (name, _, calls)) in cases.iter().enumerate() {
        for (db, label) in [(0, "before (no access index)"), (1, "after (migration 3)")] {
            let (w, cpu) = &mut results[c][db];
            println!(
                "GET {name:6} item, {label:25}: wall median {:8.1} µs min {:8.1} µs | cpu median {:8.1} µs min {:8.1} µs ({calls} calls/run)",
                median(w),
                min(w),
                median(cpu),
                min(cpu)
            );
        }
    }
    // A full pull's server-side access cost: every item once.
    for (label, s) in [("before", &before), ("after", &after)] {
        let c0 = thread_cpu_ns();
        let t = Instant::now();
        for id in &bulk.items {
            s.item_for_expert(demo::DEMO_EXPERT_ID, id)?;
        }
        println!(
            "full pull of {n} items, {label}: wall {:.2} s, cpu {:.2} s (one run)",
            t.elapsed().as_secs_f64(),
            (thread_cpu_ns().saturating_sub(c0)) as f64 / 1e9
        );
    }
    println!("load after {}", load());
    Ok(())
}
