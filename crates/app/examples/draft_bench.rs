//! Draft save latency against a bare SQLite WAL upsert of the same size,
//! paired and repeated:
//!
//! `cargo run --release -p assay-app --example draft_bench -- [--saves N] [--runs R]`
//!
//! The app's store is filled by the real sync engine from a seeded reference
//! platform; the draft is on the code-review item with the largest diff,
//! with three diff-line comments as the UI sends them (no `line_hash`) and a
//! free-text answer that changes on every save (typing). Three arms, in
//! rotating order within each run, each saving N times:
//! - "bare": `INSERT .. ON CONFLICT DO UPDATE` of a row holding the same JSON
//!   into a WAL database, `synchronous=FULL` (the store's setting), one
//!   transaction per save;
//! - "before": the previous `Workbench::save_draft`, reproduced over public
//!   APIs: re-read and re-parse the rubric, re-read the item and re-parse its
//!   diff to fill the line hashes, validate, save;
//! - "after, no hash": `Workbench::save_draft` with comments as an old UI
//!   sent them (rubric parsed once per stored text, line hashes filled from
//!   the diff the item view already parsed);
//! - "after, UI hash": `Workbench::save_draft` with comments as the UI sends
//!   them now, `line_hash` taken from the rows Rust sent: the save path does
//!   not touch the diff at all.
//!
//! Per run: p50 and p99 of the N saves; printed: median and min over runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: a panic aborts the measurement

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use assay_app::{anchors, views, Workbench};
use assay_rubric::{validate, Annotation, AnnotationAnchor, Answer, Answers, DiffSide};
use assay_store::Store;
use chrono::Utc;
use common::{arg, cores, load, median, quantile, spread, thread_cpu_ns};

/// The previous `Workbench::save_draft`, step by step.
fn legacy_save(store: &Store, assignment_id: &str, answers: &Answers) -> anyhow::Result<()> {
    let a = store.assignment(assignment_id)?.expect("assignment");
    let rubric = store
        .rubric(&a.rubric_id, a.rubric_version)?
        .expect("rubric");
    let mut filled = answers.clone();
    if anchors::needs_hashes(answers) {
        if let Some(scoped) = store.item_detail(assignment_id, Utc::now())?.scoped {
            let owned = views::item_diffs(&scoped);
            let diffs: HashMap<String, &assay_render::diff::MultiFileDiff> =
                owned.iter().map(|(id, d)| (id.clone(), d)).collect();
            anchors::fill_hashes(&mut filled, &diffs);
        }
    }
    let report = validate(&filled, &rubric);
    store.save_draft_with(assignment_id, &filled, report.ok)?;
    Ok(())
}

struct Bare {
    conn: rusqlite::Connection,
}

impl Bare {
    fn open(path: &std::path::Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"));
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE drafts (assignment_id TEXT PRIMARY KEY, answers_json TEXT NOT NULL, \
             revision INTEGER NOT NULL, ready INTEGER NOT NULL, updated_at TEXT NOT NULL)",
        )?;
        Ok(Self { conn })
    }

    fn save(&mut self, json: &str) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO drafts (assignment_id, answers_json, revision, ready, updated_at) \
             VALUES ('a', ?1, 1, 0, ?2) ON CONFLICT(assignment_id) DO UPDATE SET \
             answers_json = excluded.answers_json, revision = drafts.revision + 1, \
             ready = excluded.ready, updated_at = excluded.updated_at",
        )?
        .execute(rusqlite::params![json, Utc::now().to_rfc3339()])?;
        tx.commit()?;
        Ok(())
    }
}

/// `comments`: (file, line, the line's hash when the UI sends it).
fn answers_for(comments: &[(String, u32, Option<String>)], typed: usize) -> Answers {
    let mut a = Answers::default();
    a.answers.insert(
        "comments".into(),
        Answer::Annotations {
            items: comments
                .iter()
                .enumerate()
                .map(|(i, (file, line, hash))| Annotation {
                    id: format!("c{i}"),
                    field: "diff".into(),
                    anchor: AnnotationAnchor::DiffLine {
                        file: file.clone(),
                        side: DiffSide::New,
                        line: *line,
                        line_hash: hash.clone(),
                    },
                    severity: Some("major".into()),
                    comment: "This unwrap turns a bad config file into a panic; return the error."
                        .into(),
                })
                .collect(),
        },
    );
    // A free-text answer being typed: one more character per save.
    let text: String = "The change is sound but the error paths need tests. "
        .chars()
        .cycle()
        .take(200 + typed % 400)
        .collect();
    a.answers
        .insert("summary".into(), Answer::FreeText { text });
    a
}

fn main() -> anyhow::Result<()> {
    let saves = arg("--saves", 200)?;
    let runs = arg("--runs", 9)?;
    let root = tempfile::tempdir_in(std::env::current_dir()?)?;
    let rt = tokio::runtime::Runtime::new()?;
    let wb = Workbench::open(
        "dev.assay.bench",
        root.path(),
        Arc::new(|_| {}),
        Arc::new(assay_app::ScriptedDialogs::default()),
    )?;
    let items = rt.block_on(common::sync_seeded(wb.store().clone(), 0))?;
    let store = wb.store().clone();
    // The code-review grade with the largest diff.
    let mut best: Option<(usize, String, assay_render::diff::MultiFileDiff)> = None;
    for row in store.queue(Utc::now())? {
        if !row.item_id.starts_with("itm-review") || !row.downloaded {
            continue;
        }
        let Some(scoped) = store.scoped_item(&row.assignment_id)? else {
            continue;
        };
        let size: usize = scoped
            .fields
            .iter()
            .map(|f| serde_json::to_string(&f.value).map_or(0, |s| s.len()))
            .sum();
        if let Some((_, d)) = views::item_diffs(&scoped)
            .into_iter()
            .find(|(id, _)| id == "diff")
        {
            if best.as_ref().is_none_or(|(s, _, _)| size > *s) {
                best = Some((size, row.assignment_id.clone(), d));
            }
        }
    }
    let (size, assignment_id, diff) = best.ok_or_else(|| anyhow::anyhow!("no review item"))?;
    // Three commented lines of the diff (new side), spread over its files.
    let mut comments = Vec::new();
    let mut hashed_comments = Vec::new();
    for f in &diff.files {
        for line in 1..400 {
            if let Some(a) = assay_render::diff::anchor_for(&diff, &f.path, DiffSide::New, line) {
                comments.push((f.path.clone(), line, None));
                hashed_comments.push((f.path.clone(), line, Some(a.line_hash)));
                break;
            }
        }
        if comments.len() == 3 {
            break;
        }
    }
    rt.block_on(wb.open_item(&assignment_id))?;
    let json_len = serde_json::to_string(&answers_for(&comments, 0))?.len();
    let mut bare = Bare::open(&root.path().join("bare.db"))?;
    println!(
        "draft_bench: {items} items synced; item {assignment_id} ({size} bytes of fields, {} diff files), \
         {} comments, answers JSON ~{json_len} bytes; {saves} saves x {runs} paired runs; \
         synchronous=FULL, journal_mode=WAL on all arms; {} cores, load before {}",
        diff.files.len(),
        comments.len(),
        cores(),
        load()
    );
    // [arm] -> per-run (p50, p99) in µs, cpu per save µs
    const ARMS: usize = 4;
    let names = [
        "bare WAL upsert",
        "before (re-parse per save)",
        "after, no hash (app fills it)",
        "after, UI hash (the UI's save)",
    ];
    let mut p50: [Vec<f64>; ARMS] = Default::default();
    let mut p99: [Vec<f64>; ARMS] = Default::default();
    let mut cpu: [Vec<f64>; ARMS] = Default::default();
    let mut ratio50: [Vec<f64>; ARMS] = Default::default();
    let mut ratio99: [Vec<f64>; ARMS] = Default::default();
    let mut typed = 0usize;
    for run in 0..runs {
        for k in 0..ARMS {
            let arm = (run + k) % ARMS;
            let mut lat = Vec::with_capacity(saves);
            let c0 = thread_cpu_ns();
            for _ in 0..saves {
                typed += 1;
                let answers = if arm == 3 {
                    answers_for(&hashed_comments, typed)
                } else {
                    answers_for(&comments, typed)
                };
                let t = Instant::now();
                match arm {
                    0 => bare.save(&serde_json::to_string(&answers)?)?,
                    1 => legacy_save(&store, &assignment_id, &answers)?,
                    _ => {
                        wb.save_draft(&assignment_id, &answers, None)?;
                    }
                }
                lat.push(t.elapsed().as_secs_f64() * 1e6);
            }
            cpu[arm].push(thread_cpu_ns().saturating_sub(c0) as f64 / 1e3 / saves as f64);
            p50[arm].push(quantile(&lat, 0.50));
            p99[arm].push(quantile(&lat, 0.99));
        }
        for arm in 1..ARMS {
            ratio50[arm].push(p50[arm][run] / p50[0][run]);
            ratio99[arm].push(p99[arm][run] / p99[0][run]);
        }
    }
    let us = |v: &[f64]| spread(v, |x| format!("{x:7.0} µs"));
    let times = |v: &[f64]| spread(v, |x| format!("{x:.2}x"));
    for arm in 0..ARMS {
        println!(
            "{:32} p50 {} | p99 {} | cpu/save median {:6.0} µs",
            names[arm],
            us(&p50[arm]),
            us(&p99[arm]),
            median(&cpu[arm]),
        );
    }
    for arm in 1..ARMS {
        println!(
            "{:32} / bare (per run, paired): p50 {} | p99 {}",
            names[arm],
            times(&ratio50[arm]),
            times(&ratio99[arm])
        );
    }
    // The saved draft carries the hashes the app filled.
    let saved = store.draft(&assignment_id)?.expect("draft");
    let hashed = match saved.answers.answers.get("comments") {
        Some(Answer::Annotations { items }) => items
            .iter()
            .filter(|a| {
                matches!(
                    &a.anchor,
                    AnnotationAnchor::DiffLine {
                        line_hash: Some(_),
                        ..
                    }
                )
            })
            .count(),
        _ => 0,
    };
    println!(
        "saved comments with a line hash: {hashed}/{}",
        comments.len()
    );
    println!("load after {}", load());
    Ok(())
}
