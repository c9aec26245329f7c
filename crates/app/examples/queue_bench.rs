//! `queue_page` with 10,000 synced items, before and after the queue index
//! (store migration 9) and the title index (store migration 5), paired and
//! repeated:
//!
//! `cargo run --release -p assay-app --example queue_bench -- [--items N] [--runs R]`
//!
//! The store is filled by the real sync engine from a seeded reference
//! platform (demo items plus N copies). "Before" is the previous `queue_page`
//! (every call rebuilds the whole queue: `assay_app::queue::uncached_page`)
//! on a copy of the same database whose title index does not
//! cover the title (the previous query plan: key index, then the item row);
//! "after" is `assay_app::queue::page`, which reads the window from the
//! store's queue index: the first call on a store just opened ("cold", as at
//! the app's start), the calls that scroll through the rest of it, the call
//! after a draft's first save (one row derived again), and deriving every
//! row again (after a pull that wrote them all). Each run measures both
//! databases in alternating order.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: a panic aborts the measurement

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use assay_app::queue;
use assay_app::types::{QueueFilter, QueuePage};
use assay_store::Store;
use common::{arg, cores, load, print_arms, thread_cpu_ns, Arm};

/// The previous `queue::page` (every call rebuilds the whole queue), as the
/// unit tests also use it: [`queue::uncached_page`].
fn legacy_page(store: &Store, filter: &QueueFilter, offset: u32, limit: u32) -> QueuePage {
    queue::uncached_page(store, filter, offset, limit, chrono::Utc::now()).expect("queue")
}

/// Mean (wall ms, cpu ms) per call of `f` over `calls` calls.
fn per_call(calls: u32, mut f: impl FnMut(u32)) -> (f64, f64) {
    let c0 = thread_cpu_ns();
    let t = Instant::now();
    for i in 0..calls {
        f(i);
    }
    let n = f64::from(calls.max(1));
    (
        t.elapsed().as_secs_f64() * 1e3 / n,
        thread_cpu_ns().saturating_sub(c0) as f64 / 1e6 / n,
    )
}

fn main() -> anyhow::Result<()> {
    let n = arg("--items", 10_000)?;
    let runs = arg("--runs", 9)?;
    let root = tempfile::tempdir()?;
    let after_dir = root.path().join("after");
    let before_dir = root.path().join("before");
    let t = Instant::now();
    let items = {
        let store = Arc::new(Store::open(&after_dir)?);
        tokio::runtime::Runtime::new()?.block_on(common::sync_seeded(store.clone(), n))?
    };
    eprintln!("synced {items} items in {:.1} s", t.elapsed().as_secs_f64());
    {
        let c = rusqlite::Connection::open(after_dir.join(assay_store::DB_FILE))?;
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        let bytes: i64 = c.query_row(
            "SELECT SUM(length(scoped_json)) FROM items_scoped",
            [],
            |r| r.get(0),
        )?;
        eprintln!("stored item content: {:.1} MB", bytes as f64 / 1e6);
    }
    std::fs::create_dir_all(&before_dir)?;
    std::fs::copy(
        after_dir.join(assay_store::DB_FILE),
        before_dir.join(assay_store::DB_FILE),
    )?;
    {
        let c = rusqlite::Connection::open(before_dir.join(assay_store::DB_FILE))?;
        // The previous plan: the item rows' key index, title read from the row.
        c.execute_batch(
            "DROP INDEX items_scoped_title; \
             CREATE INDEX items_scoped_title ON items_scoped(assignment_id); \
             PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
    }
    let before = Store::open(&before_dir)?;
    let filter = QueueFilter::default();
    let total = legacy_page(&before, &filter, 0, 100).total;
    let fresh: Vec<String> = {
        let after = Store::open(&after_dir)?;
        // Same answer from both (the unit tests check this window by window).
        anyhow::ensure!(
            queue::page(&after, &filter, 0, 100)? == legacy_page(&after, &filter, 0, 100),
            "indexed and legacy pages differ"
        );
        // Assignments without a draft: each run saves a first draft of one.
        after
            .queue(chrono::Utc::now())?
            .into_iter()
            .filter(|r| r.status == assay_store::QueueStatus::New)
            .map(|r| r.assignment_id)
            .collect()
    };
    let pages = total.div_ceil(100);
    println!(
        "queue_bench: {total} queue rows ({items} items synced), {runs} paired runs, {} cores, load before {}",
        cores(),
        load()
    );
    let (mut old, mut cold, mut scroll, mut old_idx, mut written, mut full) = (
        Arm::default(),
        Arm::default(),
        Arm::default(),
        Arm::default(),
        Arm::default(),
        Arm::default(),
    );
    for run in 0..runs {
        let after_first = run % 2 == 1;
        for arm in 0..2 {
            if (arm == 0) == after_first {
                let after = Store::open(&after_dir)?;
                let (w, c) = per_call(1, |_| {
                    std::hint::black_box(queue::page(&after, &filter, 0, 100).ok());
                });
                cold.push(w, c);
                let (w, c) = per_call(pages.saturating_sub(1), |i| {
                    std::hint::black_box(queue::page(&after, &filter, (i + 1) * 100, 100).ok());
                });
                scroll.push(w, c);
                let id = fresh
                    .get(run)
                    .ok_or_else(|| anyhow::anyhow!("not enough new assignments"))?;
                after.save_draft(id, &assay_rubric::Answers::default())?;
                let (w, c) = per_call(1, |_| {
                    std::hint::black_box(queue::page(&after, &filter, 0, 100).ok());
                });
                written.push(w, c);
                rusqlite::Connection::open(after_dir.join(assay_store::DB_FILE))?
                    .execute("INSERT INTO queue_dirty SELECT id FROM assignments", [])?;
                let (w, c) = per_call(1, |_| {
                    std::hint::black_box(after.refresh_queue_index().ok());
                });
                full.push(w, c);
            } else {
                // before: every call rebuilds (5 calls while scrolling)
                let (w, c) = per_call(5, |i| {
                    std::hint::black_box(legacy_page(&before, &filter, i * 100, 100));
                });
                old.push(w, c);
                // the previous algorithm on the indexed database (what the
                // index alone buys)
                let after = Store::open(&after_dir)?;
                let (w, c) = per_call(5, |i| {
                    std::hint::black_box(legacy_page(&after, &filter, i * 100, 100));
                });
                old_idx.push(w, c);
            }
        }
    }
    let scrolling = format!(
        "after:  scrolling calls ({} pages)",
        pages.saturating_sub(1)
    );
    print_arms(
        "ms",
        &[
            (&old, "before: queue_page (rebuild, no title index)"),
            (&old_idx, "        same with the title index only"),
            (&cold, "after:  first call, store just opened"),
            (&scroll, &scrolling),
            (&written, "after:  first call after a draft's first save"),
            (&full, "after:  every row derived again (after a full pull)"),
        ],
    );
    println!("load after {}", load());
    Ok(())
}
