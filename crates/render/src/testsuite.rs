//! Test-suite viewer: the tests of a suite (from source or a JSON manifest),
//! the requirement each checks, and pass/fail/skip/error from a JUnit XML run.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::highlight::{highlight_code, CodeView};

/// Largest JUnit XML accepted.
pub const MAX_JUNIT_BYTES: usize = 32 * 1024 * 1024;

/// Result of a test, ordered from best to worst (`Ord` picks the worst over runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// The test ran and passed.
    Passed,
    /// The report marks the test skipped.
    Skipped,
    /// An assertion failed.
    Failed,
    /// The test could not run to an assertion (setup error, crash).
    Error,
}

/// The result of one test from a JUnit run, over all its runs.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct TestOutcome {
    /// Worst status over all runs of the test (parametrised tests run often).
    pub status: TestStatus,
    /// Short failure or skip message (the report's `message` attribute).
    pub message: Option<String>,
    /// Failure body (stack trace, assertion diff), plain text.
    pub detail: Option<String>,
    /// Total time over all runs, in seconds, when the report gives it.
    pub time_s: Option<f64>,
    /// How many times the report lists the test.
    pub runs: u32,
}

/// One test of a suite: its source location, the requirements it covers and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct TestCase {
    /// Test name as the framework reports it (e.g. `test_login_rejects_empty`).
    pub name: String,
    /// 1-based line in the test source, when parsed from source.
    pub line: Option<u32>,
    /// Ids of the requirements this test declares it checks.
    pub requirements: Vec<String>,
    /// Manifest entries may carry their own source.
    pub source: Option<CodeView>,
    /// The outcome from a run report; `None` when no run was attached.
    pub outcome: Option<TestOutcome>,
    /// Known only from the run result (not found in the source/manifest).
    pub from_results: bool,
}

/// A requirement the suite is meant to check (from the item's manifest).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Requirement {
    /// Requirement id as tests refer to it (e.g. `REQ-3`).
    pub id: String,
    /// What the requirement asks for.
    pub text: String,
    /// Names of the tests that check it.
    pub tests: Vec<String>,
}

/// Test counts of a run report; each test counted once, by its worst status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RunSummary {
    /// Tests in the report.
    pub total: u32,
    /// Tests that passed.
    pub passed: u32,
    /// Tests with a failed assertion.
    pub failed: u32,
    /// Tests skipped.
    pub skipped: u32,
    /// Tests that could not run (errors).
    pub errors: u32,
}

/// A test suite with its requirements and, when a run report came with it, each test's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct TestSuiteView {
    /// Language of the test source, for highlighting.
    pub language: Option<String>,
    /// The tests in source (or report) order.
    pub tests: Vec<TestCase>,
    /// The requirements the item lists.
    pub requirements: Vec<Requirement>,
    /// Requirement ids no test checks.
    pub uncovered_requirements: Vec<String>,
    /// Counts from the run report; `None` when no report was attached.
    pub summary: Option<RunSummary>,
    /// Why the run result could not be read (the tests are still listed).
    pub results_error: Option<String>,
    /// Highlighted test source (absent for JSON manifests).
    pub source: Option<CodeView>,
}

// ---------------------------------------------------------------- ids

fn is_req_id(s: &str) -> bool {
    let s = s.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ',' | '.' | ':'));
    let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
    let rest = &s[letters..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    (1..=6).contains(&letters)
        && !rest.is_empty()
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn clean_id(s: &str) -> String {
    s.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ',' | '.' | ':'))
        .to_string()
}

/// `req: R1, R2` / `requirement: R3` / `requirements: R1 R2` in a comment.
fn reqs_in_comment(line: &str) -> Vec<String> {
    let lower = line.to_ascii_lowercase();
    let Some(pos) = ["requirements:", "requirement:", "reqs:", "req:"]
        .iter()
        .find_map(|k| lower.find(k).map(|p| p + k.len()))
    else {
        return Vec::new();
    };
    line[pos..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| is_req_id(t))
        .map(clean_id)
        .collect()
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') && !t.starts_with("#[")
        || t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with('*')
        || t.starts_with("--")
}

// ---------------------------------------------------------------- source

fn ident_after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(prefix)?;
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

fn js_test_name(t: &str) -> Option<String> {
    for head in ["test", "it"] {
        let Some(rest) = t.strip_prefix(head) else {
            continue;
        };
        let rest = rest
            .strip_prefix(".only")
            .or_else(|| rest.strip_prefix(".skip"))
            .or_else(|| rest.strip_prefix(".todo"))
            .unwrap_or(rest);
        let Some(rest) = rest.strip_prefix('(') else {
            continue;
        };
        let rest = rest.trim_start();
        let quote = rest.chars().next()?;
        if !matches!(quote, '\'' | '"' | '`') {
            continue;
        }
        let body = &rest[1..];
        let end = body.find(quote)?;
        return Some(body[..end].to_string());
    }
    None
}

fn guess_language(src: &str) -> Option<&'static str> {
    if src.contains("#[test]") || src.contains("::test]") {
        Some("rust")
    } else if src.contains("func Test") {
        Some("go")
    } else if src.contains("def test") {
        Some("python")
    } else if src.contains("@Test") {
        Some("java")
    } else if src.contains("test(") || src.contains("it(") {
        Some("javascript")
    } else {
        None
    }
}

fn normalise_language(lang: &str) -> &'static str {
    match lang.to_ascii_lowercase().as_str() {
        "py" | "python" | "python3" => "python",
        "go" | "golang" => "go",
        "rs" | "rust" => "rust",
        "java" | "kotlin" => "java",
        "js" | "javascript" | "jsx" | "mjs" => "javascript",
        "ts" | "typescript" | "tsx" => "typescript",
        _ => "other",
    }
}

fn tests_from_source(src: &str, lang: &str) -> Vec<TestCase> {
    let mut tests: Vec<TestCase> = Vec::new();
    let mut pending_reqs: Vec<String> = Vec::new();
    let mut attr_test = false;
    // Requirement comments in the first lines of a test's body count too.
    let mut body_window = 0u32;
    for (i, line) in src.lines().enumerate() {
        let t = line.trim_start();
        if is_comment(t) {
            let reqs = reqs_in_comment(t);
            if body_window > 0 {
                if let Some(last) = tests.last_mut() {
                    if last.requirements.is_empty() && !reqs.is_empty() {
                        last.requirements = reqs;
                        body_window = 0;
                        continue;
                    }
                }
            }
            pending_reqs.extend(reqs);
            continue;
        }
        body_window = body_window.saturating_sub(1);
        let name: Option<String> = match lang {
            "python" => {
                let t = t.strip_prefix("async ").unwrap_or(t);
                ident_after(t, "def ")
                    .filter(|n| n.starts_with("test"))
                    .map(str::to_string)
            }
            "go" => ident_after(t, "func ")
                .filter(|n| n.starts_with("Test") || n.starts_with("Benchmark"))
                .map(str::to_string),
            "rust" => {
                if t.starts_with("#[") && (t.contains("test]") || t.contains("test(")) {
                    attr_test = true;
                    None
                } else if t.starts_with("#[") {
                    None
                } else {
                    let f = t
                        .trim_start_matches("pub ")
                        .trim_start_matches("async ")
                        .trim_start_matches("unsafe ");
                    let n = ident_after(f, "fn ").map(str::to_string);
                    if n.is_some() && attr_test {
                        attr_test = false;
                        n
                    } else {
                        if !t.is_empty() {
                            attr_test = false;
                        }
                        None
                    }
                }
            }
            "java" => {
                if t.starts_with("@Test") || t.starts_with("@ParameterizedTest") {
                    attr_test = true;
                    None
                } else if t.starts_with('@') || t.is_empty() {
                    None
                } else if attr_test {
                    attr_test = false;
                    t.find('(')
                        .and_then(|p| t[..p].split_whitespace().last().map(str::to_string))
                } else {
                    None
                }
            }
            _ => js_test_name(t),
        };
        // `req:` may also trail the test line itself.
        let inline_reqs = if let Some(pos) = t.find("//").or_else(|| t.find(" #")) {
            reqs_in_comment(&t[pos..])
        } else {
            Vec::new()
        };
        match name {
            Some(name) => {
                let mut requirements = std::mem::take(&mut pending_reqs);
                requirements.extend(inline_reqs);
                tests.push(TestCase {
                    name,
                    line: Some(i as u32 + 1),
                    requirements,
                    source: None,
                    outcome: None,
                    from_results: false,
                });
                body_window = 3;
            }
            None => {
                if !t.is_empty() && !t.starts_with("#[") && !t.starts_with('@') {
                    pending_reqs.clear();
                }
            }
        }
    }
    tests
}

fn tests_from_manifest(list: &[Value], lang: Option<&str>) -> Vec<TestCase> {
    list.iter()
        .filter_map(|v| {
            let o = v.as_object()?;
            let name = o.get("name")?.as_str()?.to_string();
            let mut requirements = Vec::new();
            for key in ["requirement", "requirements", "req"] {
                match o.get(key) {
                    Some(Value::String(s)) => requirements.extend(
                        s.split([',', ' '])
                            .filter(|x| !x.is_empty())
                            .map(str::to_string),
                    ),
                    Some(Value::Array(a)) => {
                        requirements
                            .extend(a.iter().filter_map(|x| x.as_str()).map(str::to_string));
                    }
                    _ => {}
                }
            }
            let source = o
                .get("source")
                .and_then(Value::as_str)
                .map(|s| highlight_code(s, lang));
            Some(TestCase {
                name,
                line: o.get("line").and_then(Value::as_u64).map(|l| l as u32),
                requirements,
                source,
                outcome: None,
                from_results: false,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- requirements

fn parse_requirements(text: &str) -> Vec<Requirement> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let mut out = Vec::new();
        match v {
            Value::Array(a) => {
                for e in a {
                    if let Some(o) = e.as_object() {
                        if let Some(id) = o.get("id").and_then(Value::as_str) {
                            let text = o
                                .get("text")
                                .or_else(|| o.get("description"))
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            out.push(req(id, text));
                        }
                    }
                }
            }
            Value::Object(o) => {
                for (id, t) in o {
                    out.push(req(&id, t.as_str().unwrap_or_default()));
                }
            }
            _ => {}
        }
        return out;
    }
    let mut out: Vec<Requirement> = Vec::new();
    for line in text.lines() {
        let t = line
            .trim()
            .trim_start_matches(['-', '*', '#', ' '])
            .trim_start();
        let first = t.split_whitespace().next().unwrap_or_default();
        if is_req_id(first) {
            let rest = t[first.len()..]
                .trim_start()
                .trim_start_matches([':', '-', '.', ')'])
                .trim();
            out.push(req(&clean_id(first), rest));
        } else if let Some(last) = out.last_mut() {
            if !t.is_empty() {
                last.text.push(' ');
                last.text.push_str(t);
            }
        }
    }
    out
}

fn req(id: &str, text: &str) -> Requirement {
    Requirement {
        id: id.to_string(),
        text: text.to_string(),
        tests: Vec::new(),
    }
}

// ---------------------------------------------------------------- junit

#[derive(Debug)]
struct JunitCase {
    name: String,
    classname: String,
    status: TestStatus,
    message: Option<String>,
    detail: Option<String>,
    time: Option<f64>,
}

fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(std::borrow::Cow::into_owned))
}

fn parse_junit(xml: &str) -> Result<Vec<JunitCase>, String> {
    if xml.len() > MAX_JUNIT_BYTES {
        return Err(format!(
            "run result too large ({} bytes, limit {MAX_JUNIT_BYTES})",
            xml.len()
        ));
    }
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut cur: Option<JunitCase> = None;
    // Inside <failure>/<error>/<skipped>: collect its text as detail.
    let mut in_detail = false;
    let mut saw_root = false;
    loop {
        let ev = reader.read_event().map_err(|e| {
            format!(
                "malformed JUnit XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        let is_empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                match name.as_ref() {
                    b"testsuites" | b"testsuite" => saw_root = true,
                    b"testcase" => {
                        saw_root = true;
                        if let Some(done) = cur.take() {
                            cases.push(done);
                        }
                        let case = JunitCase {
                            name: attr(&e, b"name").unwrap_or_default(),
                            classname: attr(&e, b"classname").unwrap_or_default(),
                            status: TestStatus::Passed,
                            message: None,
                            detail: None,
                            time: attr(&e, b"time").and_then(|t| t.trim().parse().ok()),
                        };
                        if is_empty {
                            cases.push(case);
                        } else {
                            cur = Some(case);
                        }
                    }
                    tag @ (b"failure" | b"error" | b"skipped") => {
                        if let Some(c) = cur.as_mut() {
                            let status = match tag {
                                b"failure" => TestStatus::Failed,
                                b"error" => TestStatus::Error,
                                _ => TestStatus::Skipped,
                            };
                            if status > c.status {
                                c.status = status;
                            }
                            c.message = attr(&e, b"message").or(c.message.take());
                            in_detail = !is_empty;
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"testcase" => {
                    if let Some(done) = cur.take() {
                        cases.push(done);
                    }
                }
                b"failure" | b"error" | b"skipped" => in_detail = false,
                _ => {}
            },
            Event::Text(t) if in_detail => {
                if let (Some(c), Ok(text)) = (cur.as_mut(), t.unescape()) {
                    let text = text.trim();
                    if !text.is_empty() {
                        c.detail.get_or_insert_with(String::new).push_str(text);
                    }
                }
            }
            Event::CData(t) if in_detail => {
                if let Some(c) = cur.as_mut() {
                    let text = String::from_utf8_lossy(&t.into_inner()).trim().to_string();
                    if !text.is_empty() {
                        c.detail.get_or_insert_with(String::new).push_str(&text);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(done) = cur.take() {
        cases.push(done);
    }
    if !saw_root {
        return Err("not a JUnit XML report (no <testsuite> or <testcase>)".into());
    }
    Ok(cases)
}

/// Does a JUnit case belong to a test called `name`?
fn matches_case(name: &str, c: &JunitCase) -> bool {
    let base = c.name.split(['[', '(']).next().unwrap_or(&c.name).trim();
    // Go subtests: TestX/sub.
    let go_base = base.split('/').next().unwrap_or(base);
    base == name
        || go_base == name
        || c.name == name
        || format!("{}.{}", c.classname, c.name) == name
        || (base.ends_with(name) && base[..base.len() - name.len()].ends_with([' ', '.', ':', '>']))
}

/// Build the test-suite view. `source` is test source code or a JSON manifest
/// `[{"name","requirement","source"}]`; `language` names the source language
/// (guessed when absent); `requirements` lists requirement ids (`R1: text`
/// lines or JSON); `junit_xml` is a run result.
pub fn test_suite_view(
    source: &str,
    language: Option<&str>,
    requirements: Option<&str>,
    junit_xml: Option<&str>,
) -> TestSuiteView {
    let manifest = serde_json::from_str::<Value>(source.trim())
        .ok()
        .and_then(|v| match v {
            Value::Array(a) => Some(a),
            Value::Object(mut o) => match o.remove("tests") {
                Some(Value::Array(a)) => Some(a),
                _ => None,
            },
            _ => None,
        });
    let (mut tests, lang_id, source_view) = if let Some(list) = &manifest {
        (
            tests_from_manifest(list, language),
            language.map(str::to_string),
            None,
        )
    } else {
        let lang = language
            .map(normalise_language)
            .filter(|l| *l != "other")
            .or_else(|| guess_language(source))
            .unwrap_or("other");
        let view = highlight_code(source, Some(lang).filter(|l| *l != "other"));
        (
            tests_from_source(source, lang),
            (lang != "other").then(|| lang.to_string()),
            Some(view),
        )
    };

    let mut summary = None;
    let mut results_error = None;
    if let Some(xml) = junit_xml.filter(|x| !x.trim().is_empty()) {
        match parse_junit(xml) {
            Ok(cases) => {
                let mut s = RunSummary::default();
                let mut used = vec![false; cases.len()];
                for t in &mut tests {
                    for (i, c) in cases.iter().enumerate() {
                        if matches_case(&t.name, c) {
                            used[i] = true;
                            merge(&mut t.outcome, c);
                        }
                    }
                }
                for (i, c) in cases.iter().enumerate() {
                    if !used[i] {
                        let mut outcome = None;
                        merge(&mut outcome, c);
                        tests.push(TestCase {
                            name: c.name.clone(),
                            line: None,
                            requirements: Vec::new(),
                            source: None,
                            outcome,
                            from_results: true,
                        });
                    }
                }
                for c in &cases {
                    s.total += 1;
                    match c.status {
                        TestStatus::Passed => s.passed += 1,
                        TestStatus::Failed => s.failed += 1,
                        TestStatus::Skipped => s.skipped += 1,
                        TestStatus::Error => s.errors += 1,
                    }
                }
                summary = Some(s);
            }
            Err(e) => results_error = Some(e),
        }
    }

    let mut reqs = requirements.map(parse_requirements).unwrap_or_default();
    for t in &tests {
        for id in &t.requirements {
            match reqs.iter_mut().find(|r| &r.id == id) {
                Some(r) => r.tests.push(t.name.clone()),
                None if requirements.is_none() => {
                    let mut r = req(id, "");
                    r.tests.push(t.name.clone());
                    reqs.push(r);
                }
                None => {}
            }
        }
    }
    let uncovered_requirements = reqs
        .iter()
        .filter(|r| r.tests.is_empty())
        .map(|r| r.id.clone())
        .collect();
    TestSuiteView {
        language: lang_id,
        tests,
        requirements: reqs,
        uncovered_requirements,
        summary,
        results_error,
        source: source_view,
    }
}

fn merge(outcome: &mut Option<TestOutcome>, c: &JunitCase) {
    match outcome {
        None => {
            *outcome = Some(TestOutcome {
                status: c.status,
                message: c.message.clone(),
                detail: c.detail.clone(),
                time_s: c.time,
                runs: 1,
            });
        }
        Some(o) => {
            o.runs += 1;
            o.time_s = match (o.time_s, c.time) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            if c.status > o.status {
                o.status = c.status;
                o.message = c.message.clone();
                o.detail = c.detail.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests;
