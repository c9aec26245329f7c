use std::process::{Command, Output};

use crate::fixture;

fn assay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .output()
        .expect("run assay")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

#[test]
fn lint_good_rubrics_exits_zero() {
    for name in ["good.toml", "good.json", "good.yaml"] {
        let o = assay(&["rubric", "lint", &path(name)]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stdout(&o));
        assert_eq!(stdout(&o), "");
    }
}

#[test]
fn lint_bad_rubric_prints_located_errors_and_exits_one() {
    let o = assay(&["rubric", "lint", &path("bad.toml")]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let expected = format!(
        "{}:16:1: error[scale-range]: question `score`: scale min (5) must be less than max (1)",
        path("bad.toml")
    );
    assert!(out.lines().any(|l| l == expected), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("5 error(s)"));
}

#[test]
fn lint_warnings_only_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("good.toml"))
        .unwrap()
        .replace(
            "id = \"correctness\"",
            "id = \"correctness\"\ncolour = \"red\"",
        );
    let file = dir.path().join("warn.toml");
    std::fs::write(&file, text).unwrap();
    let o = assay(&["rubric", "lint", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("warning[unknown-key]"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn lint_json_output_is_machine_readable() {
    let o = assay(&["rubric", "lint", &path("bad.json"), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 1);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings[0]["code"], "unknown-key");
    assert_eq!(findings[0]["location"]["line"], 11);
}

#[test]
fn lint_with_items_reports_bad_item_files() {
    let o = assay(&[
        "rubric",
        "lint",
        &path("good.toml"),
        "--items",
        &path("items"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("item-003-broken.json:1:1: error[sample-item-invalid]"),
        "{out}"
    );
    assert!(out.contains("warning[unused-item-field]"), "{out}");
}

#[test]
fn syntax_errors_exit_one_and_unreadable_input_exits_two() {
    let o = assay(&["rubric", "lint", &path("syntax_error.toml")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("syntax_error.toml:3:"),
        "{}",
        stdout(&o)
    );

    let o = assay(&["rubric", "lint", &path("does-not-exist.toml")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));

    let o = assay(&["rubric", "lint", &path("items/item-001.txt")]);
    assert_eq!(o.status.code(), Some(2));

    let o = assay(&[
        "rubric",
        "lint",
        &path("good.toml"),
        "--items",
        &path("nope"),
    ]);
    assert_eq!(o.status.code(), Some(2));

    let o = assay(&["rubric", "frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let o = assay(&["rubric", "schema"]);
    assert_eq!(o.status.code(), Some(0));
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rubric.schema.json"),
    )
    .unwrap();
    assert_eq!(stdout(&o), committed);
}

#[test]
fn preview_shows_scoped_fields_and_questions_but_no_hidden_values() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["item-001.json", "item-002.json"] {
        std::fs::copy(fixture(&format!("items/{name}")), dir.path().join(name)).unwrap();
    }
    let o = assay(&[
        "rubric",
        "preview",
        &path("good.toml"),
        "--items",
        dir.path().to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("== item-001"), "{out}");
    assert!(out.contains("[patch] Patch (Diff)"), "{out}");
    assert!(
        out.contains("hidden from reviewers: reference_solution"),
        "{out}"
    );
    assert!(
        out.contains("correctness*: How correct is the patch?"),
        "{out}"
    );
    assert!(!out.contains("HIDDEN-REFERENCE"), "{out}");
}
