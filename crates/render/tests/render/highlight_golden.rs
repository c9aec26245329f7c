//! Highlighting of a diff against a golden record made with stock syntect
//! 5.3.0 (before `vendor/syntect`'s parser changes): every row of every file,
//! unified and split, as `class:bytes` runs (`*`: a word-level change).
//!
//! The fixture covers what the parser's shortcuts touch: grammars with
//! prototypes and includes (Rust, TypeScript, TSX, C++), embedded languages
//! (Markdown fences, HTML `<style>`/`<script>`), back-references (heredocs in
//! Bash and Ruby, C++ raw strings: uncached searches), and multi-line strings
//! and comments opened by removed lines (split mode's old side differs from
//! the new side on the context lines after them).

use assay_render::{parse_unified_diff, DiffRows};
use assay_rubric::model::DiffMode;
use serde_json::Value;

const DIFF: &str = include_str!("../fixtures/highlight/golden.diff");
const GOLDEN: &str = include_str!("../fixtures/highlight/golden.txt");

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn kind(v: &Value) -> &str {
    text(v, "kind").get(..1).unwrap_or_default()
}

fn runs(v: &Value) -> String {
    v["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}:{}{}",
                text(r, "class"),
                text(r, "text").len(),
                if r["changed"].as_bool() == Some(true) {
                    "*"
                } else {
                    ""
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn cell(v: &Value) -> String {
    if v.is_null() {
        "-".to_string()
    } else {
        format!("{} {}", kind(v), runs(v))
    }
}

fn record(rows: &DiffRows) -> String {
    let mut out = String::new();
    for f in 0..rows.file_count() {
        for (mode, name) in [(DiffMode::Unified, "unified"), (DiffMode::Split, "split")] {
            out.push_str(&format!("# file {f} {name}\n"));
            let count = rows.row_count(f, mode, &[]);
            for row in rows.rows_for(f, 0, count, mode, &[]).unwrap() {
                let v = serde_json::to_value(&row).unwrap();
                let line = match text(&v, "type") {
                    "hunk_header" => format!("@ {}", text(&v, "text")),
                    "expander" => format!("~ {} {}", v["gap"], v["hidden"]),
                    "line" => format!("{} {}", kind(&v), runs(&v)),
                    "split" => format!("{} | {}", cell(&v["old"]), cell(&v["new"])),
                    other => panic!("unexpected row type {other}"),
                };
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

fn assert_golden(got: &str) {
    for (i, (g, want)) in got.lines().zip(GOLDEN.lines()).enumerate() {
        assert_eq!(g, want, "golden line {}", i + 1);
    }
    assert_eq!(got.lines().count(), GOLDEN.lines().count());
}

#[test]
fn highlighting_matches_stock_syntect_golden_record() {
    // Rows as the viewer asks for them: hunks highlighted on demand.
    let rows = DiffRows::new(parse_unified_diff(DIFF).unwrap());
    assert_golden(&record(&rows));
}

#[test]
fn highlighting_all_at_once_matches_the_golden_record() {
    // Every file highlighted up front (threads, a memo per thread).
    let rows = DiffRows::new(parse_unified_diff(DIFF).unwrap());
    rows.highlight_all();
    assert_golden(&record(&rows));
}

#[test]
fn highlighting_on_many_short_lived_threads_matches_the_golden_record() {
    // Oniguruma keeps the capture pointers of a regex with many groups in an
    // area per thread, reset only as far as the last search wrote it, grown
    // for larger regexes and freed when the thread ends
    // (vendor/onig_sys/PATCHED.md). Threads at once and one round after
    // another (new threads, new areas) all give the record.
    for _round in 0..3 {
        std::thread::scope(|s| {
            let records: Vec<_> = (0..4)
                .map(|_| s.spawn(|| record(&DiffRows::new(parse_unified_diff(DIFF).unwrap()))))
                .collect();
            for r in records {
                assert_golden(&r.join().unwrap());
            }
        });
    }
}
