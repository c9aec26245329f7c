use super::*;
use crate::highlight::TokenClass;

const GIT_DIFF: &str = "\
commit abc
Author: someone

diff --git a/src/lib.rs b/src/lib.rs
index 111..222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,4 +1,5 @@ mod top
 fn a() {}
-fn b() { let x = 1; }
+fn b() { let x = 2; }
+fn c() {}
 fn d() {}
 fn e() {}
diff --git a/old.py b/new.py
similarity index 90%
rename from old.py
rename to new.py
diff --git a/web/app.ts b/web/app.ts
new file mode 100644
--- /dev/null
+++ b/web/app.ts
@@ -0,0 +1,2 @@
+const x: number = 1;
+export {}
\\ No newline at end of file
diff --git a/gone.go b/gone.go
deleted file mode 100644
--- a/gone.go
+++ /dev/null
@@ -1 +0,0 @@
-package main
diff --git a/img.png b/img.png
Binary files a/img.png and b/img.png differ
";

#[test]
fn parses_git_multi_file_diff() {
    let d = parse_unified_diff(GIT_DIFF).unwrap();
    assert_eq!(d.files.len(), 5);
    let f = &d.files[0];
    assert_eq!(f.path, "src/lib.rs");
    assert_eq!(f.status, FileStatus::Modified);
    assert_eq!(f.language.as_deref(), Some("rust"));
    assert_eq!(
        f.stats,
        DiffStats {
            added: 2,
            removed: 1
        }
    );
    let h = &f.hunks[0];
    assert_eq!(h.section, "mod top");
    assert_eq!(h.lines.len(), 6);
    assert_eq!(h.lines[1].kind, LineKind::Removed);
    assert_eq!(h.lines[1].old_line, Some(2));
    assert_eq!(h.lines[2].new_line, Some(2));
    assert_eq!(h.lines[5].old_line, Some(4));
    assert_eq!(h.lines[5].new_line, Some(5));

    assert_eq!(d.files[1].status, FileStatus::Renamed);
    assert_eq!(d.files[1].path, "new.py");
    assert_eq!(d.files[1].old_path.as_deref(), Some("old.py"));

    let ts = &d.files[2];
    assert_eq!(ts.status, FileStatus::Added);
    assert_eq!(ts.path, "web/app.ts");
    assert_eq!(ts.language.as_deref(), Some("typescript"));
    assert!(ts.hunks[0].lines[1].no_newline);

    assert_eq!(d.files[3].status, FileStatus::Deleted);
    assert_eq!(d.files[3].path, "gone.go");
    assert!(d.files[4].binary);
    assert_eq!(
        d.stats(),
        DiffStats {
            added: 4,
            removed: 2
        }
    );
}

#[test]
fn parses_plain_diff_u_with_timestamps() {
    let text =
        "--- a.txt\t2020-01-01 00:00:00\n+++ b.txt\t2020-01-02 00:00:00\n@@ -1 +1 @@\n-x\n+y\n";
    let d = parse_unified_diff(text).unwrap();
    assert_eq!(d.files.len(), 1);
    assert_eq!(d.files[0].path, "b.txt");
    assert_eq!(d.files[0].old_path.as_deref(), Some("a.txt"));
}

#[test]
fn malformed_diffs_give_clear_errors() {
    let truncated = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n";
    let err = parse_unified_diff(truncated).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let bad_header = "--- a/x\n+++ b/x\n@@ -x +1 @@\n";
    assert!(matches!(
        parse_unified_diff(bad_header),
        Err(RenderError::MalformedDiff { line: 3, .. })
    ));
    assert!(parse_unified_diff("just some prose\n").is_err());
    assert_eq!(parse_unified_diff("").unwrap().files.len(), 0);
    let early = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\nzzz\n";
    assert!(parse_unified_diff(early).is_err());
}

#[test]
fn diff_files_statuses_and_numbers() {
    let f = diff_files("a.py", "x = 1\ny = 2\n", "a.py", "x = 1\ny = 3\n");
    assert_eq!(f.status, FileStatus::Modified);
    assert_eq!(
        f.stats,
        DiffStats {
            added: 1,
            removed: 1
        }
    );
    let lines = &f.hunks[0].lines;
    assert_eq!(lines[0].kind, LineKind::Context);
    assert_eq!((lines[1].old_line, lines[2].new_line), (Some(2), Some(2)));
    assert_eq!(
        diff_files("", "", "n.rs", "fn a(){}\n").status,
        FileStatus::Added
    );
    assert_eq!(
        diff_files("o.rs", "x\n", "/dev/null", "").status,
        FileStatus::Deleted
    );
    assert_eq!(
        diff_files("o.rs", "x\n", "n.rs", "x\n").status,
        FileStatus::Renamed
    );
    assert!(diff_files("o.rs", "x\n", "o.rs", "x\n").hunks.is_empty());
}

#[test]
fn word_level_changes_marked() {
    let d = parse_unified_diff(GIT_DIFF).unwrap();
    let rows = DiffRows::new(d);
    let r = rows.rows_for(0, 0, 100, DiffMode::Unified, &[]).unwrap();
    let removed = r
        .iter()
        .find_map(|row| match row {
            DiffRow::Line {
                kind: LineKind::Removed,
                runs,
                ..
            } => Some(runs.clone()),
            _ => None,
        })
        .unwrap();
    let changed: Vec<&str> = removed
        .iter()
        .filter(|r| r.changed)
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!(changed, vec!["1"]);
    // Highlighting survives: `fn` is a keyword on both sides.
    assert!(removed
        .iter()
        .any(|r| r.text == "fn" && r.class == TokenClass::Keyword));
}

fn big_pair(n: usize) -> (String, String) {
    let old: String = (0..n).map(|i| format!("let v{i} = {i};\n")).collect();
    let new: String = (0..n)
        .map(|i| {
            if i == 20 || i == 500 {
                format!("let v{i} = {} ;\n", i * 2)
            } else {
                format!("let v{i} = {i};\n")
            }
        })
        .collect();
    (old, new)
}

#[test]
fn context_collapses_and_expands() {
    let (old, new) = big_pair(1000);
    let f = diff_files("x.rs", &old, "x.rs", &new);
    assert_eq!(f.hunks.len(), 1);
    let rows = DiffRows::new(MultiFileDiff { files: vec![f] });
    let collapsed = rows.row_count(0, DiffMode::Unified, &[]);
    let all = rows
        .rows_for(0, 0, collapsed, DiffMode::Unified, &[])
        .unwrap();
    assert_eq!(all.len() as u32, collapsed);
    let gaps: Vec<(u32, u32)> = all
        .iter()
        .filter_map(|r| match r {
            DiffRow::Expander { gap, hidden, .. } => Some((*gap, *hidden)),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, vec![(0, 17), (1, 473), (2, 496)]);
    let summary = &rows.summaries()[0];
    assert_eq!((summary.gaps, summary.unified_rows), (3, collapsed));
    assert_eq!(
        summary.stats,
        DiffStats {
            added: 2,
            removed: 2
        }
    );
    // header, gap, 3, -+, 3, gap, 3, -+, 3, gap
    assert_eq!(collapsed, 1 + 1 + 3 + 2 + 3 + 1 + 3 + 2 + 3 + 1);
    // Expanding a gap adds its hidden lines minus the expander row.
    let expanded = rows.row_count(0, DiffMode::Unified, &[1]);
    assert_eq!(expanded, collapsed + 473 - 1);
    let full = rows.row_count(0, DiffMode::Unified, &[0, 1, 2]);
    assert_eq!(full, 1 + 1002);
    // Split mode pairs the modified lines.
    assert_eq!(rows.row_count(0, DiffMode::Split, &[0, 1, 2]), 1 + 1000);
    // Windows line up with the full list.
    let window = rows.rows_for(0, 5, 4, DiffMode::Unified, &[]).unwrap();
    assert_eq!(window, all[5..9].to_vec());
    let past_end = rows
        .rows_for(0, collapsed + 10, 5, DiffMode::Unified, &[])
        .unwrap();
    assert!(past_end.is_empty());
    assert!(rows.rows_for(3, 0, 5, DiffMode::Unified, &[]).is_err());
}

#[test]
fn lazy_and_eager_highlighting_agree() {
    let lazy = DiffRows::new(parse_unified_diff(GIT_DIFF).unwrap());
    let eager = DiffRows::new(parse_unified_diff(GIT_DIFF).unwrap());
    eager.highlight_all();
    for f in 0..lazy.file_count() {
        for mode in [DiffMode::Unified, DiffMode::Split] {
            assert_eq!(
                lazy.rows_for(f, 0, 100, mode, &[]).unwrap(),
                eager.rows_for(f, 0, 100, mode, &[]).unwrap()
            );
        }
    }
    // Highlighting again is a no-op.
    eager.highlight_all();
}

#[test]
fn split_rows_pair_removed_and_added() {
    let d = parse_unified_diff(GIT_DIFF).unwrap();
    let rows = DiffRows::new(d);
    let r = rows.rows_for(0, 0, 100, DiffMode::Split, &[]).unwrap();
    // header, a, (b-,b+), (None,c), d, e
    assert_eq!(r.len(), 6);
    match &r[2] {
        DiffRow::Split {
            old: Some(o),
            new: Some(n),
        } => {
            assert_eq!((o.line, n.line), (2, 2));
            assert_eq!(o.kind, LineKind::Removed);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&r[3], DiffRow::Split { old: None, new: Some(n) } if n.line == 3));
}

#[test]
fn file_tree_and_viewed_marks() {
    let d = parse_unified_diff(GIT_DIFF).unwrap();
    let key = d.files[2].viewed_key();
    let t = file_tree(&d, &[key, "stale@000".into()]);
    assert_eq!(t.total_files, 5);
    assert_eq!(t.viewed_files, 1);
    let names: Vec<&str> = t.roots.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, vec!["src", "web", "gone.go", "img.png", "new.py"]);
    let web = &t.roots[1];
    assert!(web.viewed);
    assert_eq!(web.children[0].file_index, Some(2));
    assert!(!t.roots[0].viewed);
    // Chains of single-child directories collapse.
    let deep = MultiFileDiff {
        files: vec![diff_files("a/b/c/x.rs", "", "a/b/c/x.rs", "fn x(){}\n")],
    };
    let t = file_tree(&deep, &[]);
    assert_eq!(t.roots[0].name, "a/b/c");
    assert_eq!(t.roots[0].stats.added, 1);
}

#[test]
fn anchors_survive_resync() {
    let old_src: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    let v1 = "line 1\nline 2\nCHANGED\n".to_string() + &old_src[21..];
    let d1 = MultiFileDiff {
        files: vec![diff_files("f.txt", &old_src, "f.txt", &v1)],
    };
    let a = anchor_for(&d1, "f.txt", DiffSide::New, 3).unwrap();
    assert_eq!(a.line_hash, line_hash("CHANGED"));
    assert_eq!(
        relocate_anchor(&a, &d1),
        AnchorResolution::Exact {
            file_index: 0,
            line: 3
        }
    );
    // Re-sync: two lines inserted above; the anchor moves down.
    let v2 = "new a\nnew b\n".to_string() + &v1;
    let d2 = MultiFileDiff {
        files: vec![diff_files("f.txt", &old_src, "f.txt", &v2)],
    };
    assert_eq!(
        relocate_anchor(&a, &d2),
        AnchorResolution::Moved {
            file_index: 0,
            line: 5
        }
    );
    // Re-sync: the line is gone.
    let d3 = MultiFileDiff {
        files: vec![diff_files("f.txt", &old_src, "f.txt", "line 1\n")],
    };
    assert_eq!(relocate_anchor(&a, &d3), AnchorResolution::Orphaned);
    assert!(anchor_for(&d1, "nope.txt", DiffSide::New, 1).is_none());
}

#[test]
fn multiline_string_state_within_hunk() {
    let text =
        "--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n s = \"\"\"\n-old text\n+new text\n \"\"\"\n";
    let rows = DiffRows::new(parse_unified_diff(text).unwrap());
    let r = rows.rows_for(0, 0, 10, DiffMode::Unified, &[]).unwrap();
    for row in &r[2..4] {
        let DiffRow::Line { runs, .. } = row else {
            panic!("{row:?}")
        };
        assert!(
            runs.iter().all(|r| r.class == TokenClass::String),
            "{runs:?}"
        );
    }
}

fn line_runs(row: &DiffRow) -> &[StyledRun] {
    match row {
        DiffRow::Line { runs, .. } => runs,
        other => panic!("{other:?}"),
    }
}

fn has_class(runs: &[StyledRun], text: &str, class: TokenClass) -> bool {
    runs.iter()
        .any(|r| r.text.trim() == text && r.class == class)
}

/// The old side's state must carry across context lines: a removed line that
/// opens a multi-line string keeps the old side inside the string until a
/// later removed line closes it, and code after that is code again.
#[test]
fn removed_multiline_python_string_keeps_old_side_state() {
    let text = "--- a/x.py\n+++ b/x.py\n@@ -1,6 +1,4 @@\n x = 0\n-s = \"\"\"\n+s = 1\n body text\n-\"\"\"\n-y = 42\n z = 7\n";
    let (rows, unified) = unified_rows(text);
    // header, x, -s, +s, body, -""", -y, z
    assert_eq!(unified.len(), 8);
    // New side: `body text` is code (no string open on the new side).
    assert!(
        !line_runs(&unified[4])
            .iter()
            .any(|r| r.class == TokenClass::String),
        "{:?}",
        unified[4]
    );
    // Old side: `"""` closes the string, so `y = 42` is code with a number.
    let y = line_runs(&unified[6]);
    assert!(has_class(y, "42", TokenClass::Number), "{y:?}");
    // `z = 7` after the change block is code on both sides.
    assert!(has_class(line_runs(&unified[7]), "7", TokenClass::Number));
    // Split mode: the old cell of the context line sits inside the string.
    assert_string_only_on_old_side(&rows, |line| line == 3);
}

/// The first 20 unified rows of the one file in `text`, and the rows.
fn unified_rows(text: &str) -> (DiffRows, Vec<DiffRow>) {
    let rows = DiffRows::new(parse_unified_diff(text).unwrap());
    let unified = rows.rows_for(0, 0, 20, DiffMode::Unified, &[]).unwrap();
    (rows, unified)
}

/// In split mode, the first context row whose old line number passes `line`
/// is all string on the old side and holds no string on the new side.
fn assert_string_only_on_old_side(rows: &DiffRows, line: impl Fn(u32) -> bool) {
    let split = rows.rows_for(0, 0, 20, DiffMode::Split, &[]).unwrap();
    let (o, n) = split
        .iter()
        .find_map(|r| match r {
            DiffRow::Split {
                old: Some(o),
                new: Some(n),
            } if o.kind == LineKind::Context && line(o.line) => Some((o, n)),
            _ => None,
        })
        .expect("context row");
    assert!(
        o.runs.iter().all(|r| r.class == TokenClass::String),
        "{o:?}"
    );
    assert!(
        !n.runs.iter().any(|r| r.class == TokenClass::String),
        "{n:?}"
    );
}

#[test]
fn removed_js_template_literal_keeps_old_side_state() {
    let text = "--- a/x.js\n+++ b/x.js\n@@ -1,4 +1,2 @@\n-const t = `a\n+const t = 1;\n middle\n-`;\n-let m = 9;\n";
    let (rows, r) = unified_rows(text);
    // header, -t, +t, middle, -`;, -m
    assert_eq!(r.len(), 6);
    assert!(line_runs(&r[1])
        .iter()
        .any(|r| r.class == TokenClass::String));
    assert!(
        has_class(line_runs(&r[2]), "1", TokenClass::Number),
        "{:?}",
        r[2]
    );
    assert!(
        has_class(line_runs(&r[5]), "9", TokenClass::Number),
        "{:?}",
        r[5]
    );
    assert_string_only_on_old_side(&rows, |_| true);
}

#[test]
fn xss_payloads_are_plain_text_runs() {
    for payload in crate::xss::xss_corpus() {
        let text = format!("--- a/x.html\n+++ b/x.html\n@@ -1 +1 @@\n-a\n+{payload}\n");
        let rows = DiffRows::new(parse_unified_diff(&text).unwrap());
        let r = rows.rows_for(0, 0, 10, DiffMode::Unified, &[]).unwrap();
        let DiffRow::Line { runs, .. } = &r[2] else {
            panic!()
        };
        let joined: String = runs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(joined, payload.replace('\n', ""));
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn parser_never_panics(s in "\\PC*") {
            let _ = parse_unified_diff(&s);
        }

        #[test]
        fn parser_never_panics_on_diffish(lines in proptest::collection::vec(
            prop_oneof![
                Just("diff --git a/x b/x".to_string()),
                Just("--- a/x".to_string()),
                Just("+++ b/x".to_string()),
                "@@ -[0-9],[0-9] \\+[0-9],[0-9] @@".prop_map(|s| s),
                "[ +\\-\\\\][a-zé]{0,5}".prop_map(|s| s),
            ], 0..30)) {
            let text = lines.join("\n");
            if let Ok(d) = parse_unified_diff(&text) {
                let rows = DiffRows::new(d);
                for f in 0..rows.file_count() {
                    for mode in [DiffMode::Unified, DiffMode::Split] {
                        let n = rows.row_count(f, mode, &[]);
                        let r = rows.rows_for(f, 0, n, mode, &[]).unwrap();
                        prop_assert_eq!(r.len() as u32, n);
                    }
                }
            }
        }

        #[test]
        fn any_window_is_a_slice_of_the_full_view(
            n in 0usize..300, start in 0u32..400, count in 0u32..400,
            expanded in proptest::collection::vec(0u32..6, 0..4),
        ) {
            let (old, new) = big_pair(n.max(1));
            let rows = DiffRows::new(MultiFileDiff { files: vec![diff_files("x.txt", &old, "x.txt", &new)] });
            for mode in [DiffMode::Unified, DiffMode::Split] {
                let total = rows.row_count(0, mode, &expanded);
                let all = rows.rows_for(0, 0, total, mode, &expanded).unwrap();
                let w = rows.rows_for(0, start, count, mode, &expanded).unwrap();
                let s = (start as usize).min(all.len());
                let e = (start as usize + count as usize).min(all.len());
                prop_assert_eq!(&w[..], &all[s..e]);
            }
        }

        #[test]
        fn diff_files_roundtrip_line_counts(a in "[abc\n]{0,60}", b in "[abc\n]{0,60}") {
            let f = diff_files("x.txt", &a, "x.txt", &b);
            let new_lines = f.hunks.iter().flat_map(|h| &h.lines).filter(|l| l.kind != LineKind::Removed).count();
            if !f.hunks.is_empty() {
                prop_assert_eq!(new_lines, b.lines().count());
            }
            let rows = DiffRows::new(MultiFileDiff { files: vec![f] });
            let n = rows.row_count(0, DiffMode::Split, &[0, 1, 2, 3]);
            prop_assert_eq!(rows.rows_for(0, 0, n, DiffMode::Split, &[0, 1, 2, 3]).unwrap().len() as u32, n);
        }
    }
}

#[test]
fn rows_carry_the_anchor_hash_of_each_line() {
    let d = parse_unified_diff(GIT_DIFF).unwrap();
    let rows = DiffRows::new(d.clone());
    let path = d.files[0].path.clone();
    let mut checked = 0;
    for mode in [DiffMode::Unified, DiffMode::Split] {
        let count = rows.row_count(0, mode, &[]);
        for row in rows.rows_for(0, 0, count, mode, &[]).unwrap() {
            let mut cells: Vec<(DiffSide, u32, Option<String>)> = Vec::new();
            match row {
                DiffRow::Line {
                    old_line,
                    new_line,
                    line_hash,
                    ..
                } => {
                    if let Some(n) = new_line {
                        cells.push((DiffSide::New, n, line_hash.clone()));
                    }
                    if let Some(n) = old_line {
                        cells.push((DiffSide::Old, n, line_hash));
                    }
                }
                DiffRow::Split { old, new } => {
                    for (side, c) in [(DiffSide::Old, old), (DiffSide::New, new)] {
                        if let Some(c) = c {
                            cells.push((side, c.line, c.line_hash));
                        }
                    }
                }
                _ => {}
            }
            for (side, line, hash) in cells {
                let anchor = anchor_for(&d, &path, side, line).unwrap();
                assert_eq!(hash.as_deref(), Some(anchor.line_hash.as_str()));
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "{checked}");
}

#[test]
fn rows_know_the_diff_and_language_they_were_built_for() {
    let d = parse_unified_diff(GIT_DIFF).unwrap();
    let rows = DiffRows::with_language(d.clone(), Some("rust"));
    assert!(rows.is_for(&d, Some("rust")));
    assert!(!rows.is_for(&d, None));
    let mut changed = d.clone();
    changed.files[0].hunks[0].lines[0].text.push('x');
    assert!(!rows.is_for(&changed, Some("rust")));
}

/// A large Rust file rewritten in places: block comments and raw strings
/// that span many lines (the parser's state must carry across them), word
/// changes in modified pairs, and a whole-file hunk.
fn big_rust_pair(n: usize) -> (String, String) {
    let mut old = String::new();
    let mut new = String::new();
    for i in 0..n {
        let line = match i % 50 {
            0 => "/* a block comment".to_string(),
            1..=6 => format!("   still comment {i}"),
            7 => "*/".to_string(),
            20 => "const S: &str = r#\"raw".to_string(),
            21..=24 => format!("raw {i} fn not_code() {{}}"),
            25 => "\"#;".to_string(),
            _ => format!("fn f{i}(x: u32) -> u32 {{ x + {i} }}"),
        };
        old.push_str(&line);
        old.push('\n');
        if i % 37 == 0 {
            new.push_str(&format!(
                "fn f{i}(x: u64) -> u64 {{ x * {i} }} // changed\n"
            ));
        } else if i % 113 == 0 {
            new.push_str("/* opened by the new side\n");
            new.push_str(&line);
            new.push('\n');
            new.push_str("*/\n");
        } else {
            new.push_str(&line);
            new.push('\n');
        }
    }
    (old, new)
}

#[test]
fn visible_first_highlights_only_what_a_window_needs_and_matches_eager() {
    let (old, new) = big_rust_pair(3_000);
    let diff = MultiFileDiff {
        files: vec![diff_files("big.rs", &old, "big.rs", &new)],
    };
    // Unchanged runs longer than the threshold collapse; expand every gap so
    // one window walks the whole file in order.
    let lazy = DiffRows::new(diff.clone());
    let eager = DiffRows::new(diff.clone());
    eager.highlight_all();
    let gaps: Vec<u32> = (0..lazy.summaries()[0].gaps).collect();
    let hunk_lens: Vec<usize> = diff.files[0].hunks.iter().map(|h| h.lines.len()).collect();
    assert!(hunk_lens.iter().any(|&n| n > 1_000), "{hunk_lens:?}");
    assert_eq!(
        eager.highlighted_lines(0),
        hunk_lens,
        "highlight_all highlights everything"
    );

    // The first window of 100 rows highlights only the start of the file.
    let first = lazy.rows_for(0, 0, 100, DiffMode::Unified, &gaps).unwrap();
    assert_eq!(
        first,
        eager.rows_for(0, 0, 100, DiffMode::Unified, &gaps).unwrap()
    );
    let done: usize = lazy.highlighted_lines(0).iter().sum();
    assert!(done > 0 && done <= 100 + 401, "highlighted {done} lines");

    // Windows asked out of order (end first, then the middle), in both
    // modes, give exactly what the eager rows give.
    for mode in [DiffMode::Unified, DiffMode::Split] {
        let total = lazy.row_count(0, mode, &gaps);
        for start in [total - 50, total / 2, 250, 0] {
            assert_eq!(
                lazy.rows_for(0, start, 100, mode, &gaps).unwrap(),
                eager.rows_for(0, start, 100, mode, &gaps).unwrap(),
                "{mode:?} rows {start}.."
            );
        }
        // Collapsed gaps too.
        let total = lazy.row_count(0, mode, &[]);
        assert_eq!(
            lazy.rows_for(0, 0, total, mode, &[]).unwrap(),
            eager.rows_for(0, 0, total, mode, &[]).unwrap()
        );
    }
    assert_eq!(lazy.highlighted_lines(0), hunk_lens);
    // Word-level changes came with the lazy path too.
    let all = lazy
        .rows_for(
            0,
            0,
            lazy.row_count(0, DiffMode::Unified, &gaps),
            DiffMode::Unified,
            &gaps,
        )
        .unwrap();
    assert!(all
        .iter()
        .any(|r| matches!(r, DiffRow::Line { runs, .. } if runs.iter().any(|x| x.changed))));
}
