use assay_rubric::{
    lint, load_rubric_file, load_sample_items, preview, read_rubric_source, scope, score, validate,
    Answers, LintSeverity, RubricError,
};

use crate::{example, fixture};

const SECRET: &str = "HIDDEN-REFERENCE";

#[test]
fn good_fixture_is_identical_in_all_three_formats_and_lints_clean() {
    let toml = load_rubric_file(fixture("good.toml")).unwrap();
    let json = load_rubric_file(fixture("good.json")).unwrap();
    let yaml = load_rubric_file(fixture("good.yaml")).unwrap();
    assert_eq!(toml, json);
    assert_eq!(toml, yaml);
    for name in ["good.toml", "good.json", "good.yaml"] {
        let src = read_rubric_source(&fixture(name)).unwrap();
        let findings = lint(&toml, Some(&src), &[]);
        assert!(findings.is_empty(), "{name}: {findings:?}");
    }
}

#[test]
fn examples_lint_clean() {
    let dir = example("");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let p = preview(&path, None).unwrap();
        assert!(
            p.findings.is_empty(),
            "{}: {:?}",
            path.display(),
            p.findings
        );
        assert!(load_rubric_file(&path).is_ok());
        n += 1;
    }
    assert!(n >= 3);
}

fn findings_of(name: &str) -> Vec<(LintSeverity, String, Option<u32>)> {
    let p = preview(&fixture(name), None).unwrap();
    p.findings
        .into_iter()
        .map(|f| (f.severity, f.code, f.location.map(|l| l.line)))
        .collect()
}

#[test]
fn bad_toml_findings_are_located() {
    let f = findings_of("bad.toml");
    use LintSeverity::*;
    for expected in [
        (Error, "empty-guidelines", Some(4)),
        (Error, "leaking-reference", Some(10)),
        (Error, "duplicate-question", Some(13)),
        (Error, "scale-range", Some(16)),
        (Warning, "unknown-key", Some(13)),
        (Error, "missing-payout", None),
    ] {
        let e = (expected.0, expected.1.to_string(), expected.2);
        assert!(f.contains(&e), "missing {e:?} in {f:?}");
    }
    // The same rubric cannot be loaded for grading.
    assert!(matches!(
        load_rubric_file(fixture("bad.toml")),
        Err(RubricError::Invalid { .. })
    ));
}

#[test]
fn bad_yaml_and_json_findings() {
    let y = findings_of("bad.yaml");
    let codes: Vec<&str> = y.iter().map(|f| f.1.as_str()).collect();
    assert!(codes.contains(&"missing-field"), "{y:?}");
    assert!(codes.contains(&"condition-cycle"), "{y:?}");
    assert!(codes.contains(&"unknown-choice"), "{y:?}");
    assert!(y.iter().all(|f| f.2.is_some()), "all located: {y:?}");

    let j = findings_of("bad.json");
    assert!(
        j.contains(&(LintSeverity::Warning, "unknown-key".into(), Some(11))),
        "{j:?}"
    );
    assert!(
        j.contains(&(
            LintSeverity::Error,
            "contradictory-condition".into(),
            Some(13)
        )),
        "{j:?}"
    );
}

#[test]
fn syntax_errors_report_lines_in_every_format() {
    for (name, line) in [
        ("syntax_error.json", 5),
        ("syntax_error.toml", 3),
        ("syntax_error.yaml", 3),
    ] {
        match load_rubric_file(fixture(name)) {
            Err(RubricError::Syntax(s)) => {
                assert_eq!(s.line, Some(line), "{name}: {s}");
                assert!(s.to_string().contains(name), "{s}");
            }
            other => panic!("{name}: expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn sample_items_load_with_per_file_errors() {
    let s = load_sample_items(fixture("items")).unwrap();
    let ids: Vec<&str> = s.items.iter().map(|(_, i)| i.id.as_str()).collect();
    assert_eq!(ids, ["item-001", "item-002"]);
    assert_eq!(s.errors.len(), 1);
    assert!(s.errors[0].path.ends_with("item-003-broken.json"));
}

#[test]
fn hidden_field_appears_nowhere_in_scoped_output_or_preview() {
    let rubric = load_rubric_file(fixture("good.toml")).unwrap();
    let samples = load_sample_items(fixture("items")).unwrap();
    let (_, item) = &samples.items[0];
    assert!(serde_json::to_string(item).unwrap().contains(SECRET));
    let scoped = scope(item, &rubric);
    let json = serde_json::to_string(&scoped).unwrap();
    assert!(!json.contains(SECRET), "{json}");
    assert!(!json.contains("reference_solution"), "{json}");
    let ids: Vec<&str> = scoped.fields.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["task", "patch", "tests", "test_results"]);

    let p = preview(&fixture("good.toml"), Some(&fixture("items"))).unwrap();
    let json = serde_json::to_string(&p.items).unwrap();
    assert!(!json.contains(SECRET));
    let text = assay_rubric::preview_text(&p);
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn a_full_grade_validates_and_scores() {
    let rubric = load_rubric_file(fixture("good.yaml")).unwrap();
    let answers: Answers = serde_json::from_value(serde_json::json!({
        "answers": {
            "correctness": {"type": "scale", "value": 2},
            "problems": {"type": "multi_choice", "choices": ["edge"]},
            "checks": {"type": "pass_fail", "results": {"builds": true, "tests_pass": false, "no_regressions": true}},
            "comments": {"type": "annotations", "items": [{
                "id": "c1", "field": "patch", "severity": "major", "comment": "Drops the last element",
                "anchor": {"kind": "diff_line", "file": "pager.py", "side": "new", "line": 2}
            }]},
            "verdict": {"type": "single_choice", "choice": "revise"}
        },
        "rationales": {
            "correctness": "Fails when the page is the last one: end is exclusive already.",
            "checks": "test_last_page fails on the sandbox run."
        }
    }))
    .unwrap();
    let report = validate(&answers, &rubric);
    assert!(report.ok, "{:?}", report.issues);
    let s = score(&answers, &rubric).unwrap();
    // correctness (2-1)/4 = 0.25 * 3, checks 2/3 * 2 => (0.75 + 1.3333) / 5
    let expected = (0.25 * 3.0 + 2.0 / 3.0 * 2.0) / 5.0;
    assert!((s.score.unwrap() - expected).abs() < 1e-9);
    assert_eq!(s.passed, Some(false));
    assert_eq!(s.verdict.as_deref(), Some("revise"));

    // Dropping the rationale makes it unsubmittable, with a clear message.
    let mut a = answers.clone();
    a.rationales
        .insert("correctness".into(), "too short".into());
    let report = validate(&a, &rubric);
    assert!(!report.ok);
    let msg = &report.for_question("correctness").next().unwrap().message;
    assert_eq!(
        msg,
        "Explain your score (required below 4): at least 40 characters (you have 9)."
    );
}
