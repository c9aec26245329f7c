//! A 10,000+ line diff is windowed, never materialised at once. Plain-text
//! files keep these debug-build tests fast; highlighting of a large diff is
//! measured by `benches/diff.rs`.

use assay_render::{diff_files, parse_unified_diff, DiffRow, DiffRows, LineKind, MultiFileDiff};
use assay_rubric::model::DiffMode;

fn source(n: usize, variant: usize) -> String {
    (0..n)
        .map(|i| {
            if variant == 1 && i % 50 == 7 {
                format!("    let value_{i} = compute({i}, \"changed\"); // edited\n")
            } else {
                format!("    let value_{i} = compute({i}, \"original\");\n")
            }
        })
        .collect()
}

#[test]
fn ten_thousand_line_file_pair_windows() {
    let old = source(12_000, 0);
    let new = source(12_000, 1);
    let file = diff_files("src/big.txt", &old, "src/big.txt", &new);
    assert_eq!(file.stats.added, 240);
    assert_eq!(file.stats.removed, 240);
    let rows = DiffRows::new(MultiFileDiff { files: vec![file] });
    let collapsed = rows.row_count(0, DiffMode::Unified, &[]);
    let all_gaps: Vec<u32> = (0..1000).collect();
    let expanded = rows.row_count(0, DiffMode::Unified, &all_gaps);
    // Every gap expanded shows every line (12,000 context/removed + 240 added) + header.
    assert_eq!(expanded, 12_000 + 240 + 1);
    assert!(collapsed < expanded / 5, "{collapsed} vs {expanded}");
    // A window in the middle is exactly `count` rows, each highlighted.
    let window = rows
        .rows_for(0, collapsed / 2, 60, DiffMode::Split, &[])
        .unwrap();
    assert_eq!(window.len(), 60);
    let changed = window.iter().any(|r| match r {
        DiffRow::Split { old: Some(o), .. } => {
            o.kind == LineKind::Removed && o.runs.iter().any(|r| r.changed)
        }
        _ => false,
    });
    assert!(changed, "word-level changes present in the window");
    // Windows tile the whole view without overlap.
    let mut total = 0;
    let mut start = 0;
    while start < collapsed {
        total += rows
            .rows_for(0, start, 500, DiffMode::Unified, &[])
            .unwrap()
            .len() as u32;
        start += 500;
    }
    assert_eq!(total, collapsed);
}

#[test]
fn unified_diff_text_of_many_files() {
    let mut text = String::new();
    for f in 0..40 {
        text.push_str(&format!("diff --git a/pkg/f{f}.txt b/pkg/f{f}.txt\n--- a/pkg/f{f}.txt\n+++ b/pkg/f{f}.txt\n@@ -1,300 +1,300 @@\n"));
        for i in 0..300 {
            if i % 10 == 0 {
                text.push_str(&format!("-x_{i} = {i}\n+x_{i} = {}\n", i + 1));
            } else {
                text.push_str(&format!(" y_{i} = '{i}'\n"));
            }
        }
    }
    assert!(text.lines().count() > 10_000);
    let diff = parse_unified_diff(&text).unwrap();
    assert_eq!(diff.files.len(), 40);
    let tree = assay_render::file_tree(&diff, &[]);
    assert_eq!(tree.roots.len(), 1);
    assert_eq!(tree.roots[0].children.len(), 40);
    let rows = DiffRows::new(diff);
    // Header + 60 changed lines; the 29 nine-line runs between changes keep
    // 3 + expander + 3; the trailing 9-line run keeps 3 + expander.
    let n = rows.row_count(39, DiffMode::Unified, &[]);
    assert_eq!(n, 1 + 60 + 29 * 7 + 4);
    let gaps: Vec<u32> = (0..30).collect();
    assert_eq!(rows.row_count(39, DiffMode::Unified, &gaps), 1 + 330);
}
