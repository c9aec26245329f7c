use super::*;

const PY: &str = r#"
import pytest

# req: R1
def test_adds():
    assert add(1, 2) == 3

def test_negative():
    # requirement: R2, R3
    assert add(-1, -2) == -3

@pytest.mark.parametrize("x", [1, 2])
def test_param(x):  # req: R4
    assert x

def helper():
    pass
"#;

const JUNIT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5" failures="1" errors="0" skipped="1">
<testcase classname="tests.test_math" name="test_adds" time="0.001"/>
<testcase classname="tests.test_math" name="test_negative" time="0.002"><failure message="assert -4 == -3">def test_negative():
&gt;   assert add(-1, -2) == -3
E   assert -4 == -3</failure></testcase>
<testcase classname="tests.test_math" name="test_param[1]" time="0.001"/>
<testcase classname="tests.test_math" name="test_param[2]" time="0.001"><skipped message="flaky"/></testcase>
<testcase classname="tests.test_other" name="test_unknown" time="0.1"><error message="boom"><![CDATA[Traceback <here>]]></error></testcase>
</testsuite></testsuites>"#;

#[test]
fn python_tests_requirements_and_results() {
    let v = test_suite_view(
        PY,
        Some("python"),
        Some("R1: adds\nR2: negatives\n  more text\nR3 - overflow\nR4. params\nR5: untested"),
        Some(JUNIT),
    );
    assert_eq!(v.language.as_deref(), Some("python"));
    let names: Vec<&str> = v.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["test_adds", "test_negative", "test_param", "test_unknown"]
    );
    assert_eq!(v.tests[0].requirements, vec!["R1"]);
    assert_eq!(v.tests[0].line, Some(5));
    assert_eq!(v.tests[1].requirements, vec!["R2", "R3"]);
    assert_eq!(v.tests[2].requirements, vec!["R4"]);
    let o0 = v.tests[0].outcome.as_ref().unwrap();
    assert_eq!(o0.status, TestStatus::Passed);
    let o1 = v.tests[1].outcome.as_ref().unwrap();
    assert_eq!(o1.status, TestStatus::Failed);
    assert_eq!(o1.message.as_deref(), Some("assert -4 == -3"));
    assert!(o1.detail.as_deref().unwrap().contains(">   assert add"));
    let o2 = v.tests[2].outcome.as_ref().unwrap();
    assert_eq!((o2.status, o2.runs), (TestStatus::Skipped, 2));
    assert!(v.tests[3].from_results);
    let o3 = v.tests[3].outcome.as_ref().unwrap();
    assert_eq!(o3.status, TestStatus::Error);
    assert_eq!(o3.detail.as_deref(), Some("Traceback <here>"));
    let s = v.summary.unwrap();
    assert_eq!(
        (s.total, s.passed, s.failed, s.skipped, s.errors),
        (5, 2, 1, 1, 1)
    );
    assert_eq!(v.requirements[1].text, "negatives more text");
    assert_eq!(v.requirements[1].tests, vec!["test_negative"]);
    assert_eq!(v.uncovered_requirements, vec!["R5"]);
    assert!(v.source.is_some());
}

#[test]
fn go_rust_js_java_sources() {
    let go = "package x\n// req: G1\nfunc TestAdd(t *testing.T) {}\nfunc helper() {}\nfunc TestSub(t *testing.T) {}\n";
    let v = test_suite_view(go, None, None, None);
    assert_eq!(v.language.as_deref(), Some("go"));
    assert_eq!(
        v.tests.iter().map(|t| &t.name[..]).collect::<Vec<_>>(),
        ["TestAdd", "TestSub"]
    );
    assert_eq!(v.requirements[0].id, "G1");

    let rs = "#[cfg(test)]\nmod t {\n    // req: R-1\n    #[test]\n    fn adds() {}\n    fn helper() {}\n    #[tokio::test]\n    #[ignore]\n    async fn later() {}\n}\n";
    let v = test_suite_view(rs, Some("rust"), None, None);
    assert_eq!(
        v.tests.iter().map(|t| &t.name[..]).collect::<Vec<_>>(),
        ["adds", "later"]
    );
    assert_eq!(v.tests[0].requirements, vec!["R-1"]);

    let js = "describe('math', () => {\n  // req: J2\n  it('adds numbers', () => {});\n  test.skip(\"subtracts\", () => {});\n});\n";
    let v = test_suite_view(
        js,
        Some("ts"),
        None,
        Some("<testsuite><testcase name=\"math adds numbers\"/></testsuite>"),
    );
    assert_eq!(v.language.as_deref(), Some("typescript"));
    assert_eq!(
        v.tests.iter().map(|t| &t.name[..]).collect::<Vec<_>>(),
        ["adds numbers", "subtracts"]
    );
    assert_eq!(v.tests[0].requirements, vec!["J2"]);
    assert_eq!(
        v.tests[0].outcome.as_ref().unwrap().status,
        TestStatus::Passed
    );
    assert!(v.tests[1].outcome.is_none());

    let java = "class T {\n  @Test\n  void addsNumbers() {}\n  void helper() {}\n}\n";
    let v = test_suite_view(java, Some("java"), None, None);
    assert_eq!(
        v.tests.iter().map(|t| &t.name[..]).collect::<Vec<_>>(),
        ["addsNumbers"]
    );
}

#[test]
fn json_manifest() {
    let m = r#"[{"name":"test_a","requirement":"R1","source":"def test_a():\n    pass"},{"name":"test_b","requirements":["R2","R3"]}]"#;
    let v = test_suite_view(
        m,
        Some("python"),
        Some(r#"[{"id":"R1","text":"one"},{"id":"R2","text":"two"}]"#),
        None,
    );
    assert_eq!(v.tests.len(), 2);
    assert_eq!(v.tests[0].requirements, vec!["R1"]);
    assert!(v.tests[0].source.as_ref().unwrap().lines.len() == 2);
    assert_eq!(v.tests[1].requirements, vec!["R2", "R3"]);
    assert!(v.source.is_none());
    assert_eq!(v.requirements.len(), 2);
    assert!(v.uncovered_requirements.is_empty());
}

#[test]
fn malformed_junit_is_reported_not_fatal() {
    for bad in [
        "<testsuite><testcase name='a'></testsuite>",
        "not xml at all",
        "<html><body/></html>",
    ] {
        let v = test_suite_view(PY, Some("python"), None, Some(bad));
        assert_eq!(v.tests.len(), 3, "{bad}");
        assert!(v.results_error.is_some(), "{bad}");
        assert!(v.summary.is_none());
    }
}

#[test]
fn xss_in_test_names_stays_text() {
    for p in crate::xss::xss_corpus() {
        let js = format!("it({p:?}, () => {{}});\n");
        let v = test_suite_view(&js, Some("js"), None, None);
        let json = serde_json::to_string(&v).unwrap();
        assert!(!json.contains("\"html\""));
        let _ = v;
    }
    let xml = "<testsuite><testcase name=\"&lt;script&gt;x&lt;/script&gt;\"><failure message=\"&lt;img src=x onerror=y&gt;\"/></testcase></testsuite>";
    let v = test_suite_view("", None, None, Some(xml));
    assert_eq!(v.tests[0].name, "<script>x</script>");
    assert_eq!(
        v.tests[0].outcome.as_ref().unwrap().message.as_deref(),
        Some("<img src=x onerror=y>")
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn never_panics(src in "\\PC*", xml in "\\PC*", req in "\\PC*") {
            let _ = test_suite_view(&src, None, Some(&req), Some(&xml));
        }
        #[test]
        fn xmlish_never_panics(xml in "(<testsuite>|<testcase name='a'>|</testcase>|<failure>|</failure>|<skipped/>|<!\\[CDATA\\[|\\]\\]>|&amp;|&bogus;|x){0,30}") {
            let _ = test_suite_view("def test_a(): pass", Some("python"), None, Some(&xml));
        }
    }
}
