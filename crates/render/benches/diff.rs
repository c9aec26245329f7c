//! Highlighted diff view model of a ≥10,000-line multi-file diff.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: a panic aborts the measurement
#![allow(missing_docs)] // criterion_group! defines a public fn without docs

use assay_render::diff::{parse_unified_diff, DiffRows};
use assay_rubric::model::DiffMode;
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/input.rs"]
mod bench_input;

fn build_all(text: &str) -> usize {
    let diff = parse_unified_diff(text).expect("generated diff parses");
    let rows = DiffRows::new(diff);
    rows.highlight_all();
    let mut n = 0;
    for f in 0..rows.file_count() {
        let count = rows.row_count(f, DiffMode::Unified, &[]);
        n += rows
            .rows_for(f, 0, count, DiffMode::Unified, &[])
            .expect("file exists")
            .len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let text = bench_input::generate_diff(24, 50);
    let lines = text.lines().count();
    assert!(lines >= 10_000, "bench diff has {lines} lines");
    // Load the syntax set outside the measurement.
    let _ = build_all("--- a/x.rs\n+++ b/x.rs\n@@ -1 +1 @@\n-a\n+b\n");
    let mut g = c.benchmark_group("diff");
    g.sample_size(10);
    g.bench_function(format!("highlighted_view_model_{lines}_lines"), |b| {
        b.iter(|| build_all(&text));
    });
    g.bench_function("parse_only", |b| b.iter(|| parse_unified_diff(&text)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
