//! Coding-task validation items in Python, TypeScript, Go and Rust: a task
//! statement, the author's reference solution, a test suite, a JUnit run of
//! the candidate and the candidate patch as a unified diff against the
//! starting code. Each task has a correct candidate and a subtly wrong one.

use serde::Deserialize;
use similar::TextDiff;

use super::DemoItem;

/// The tasks, one `[[task]]` each.
const TASKS: &str = include_str!("assets/coding_tasks.toml");

#[derive(Deserialize)]
struct Tasks {
    task: Vec<Task>,
}

#[derive(Deserialize)]
struct Task {
    slug: String,
    language: String,
    path: String,
    test_path: String,
    title: String,
    statement: String,
    original: String,
    reference: String,
    tests: String,
    test_names: Vec<String>,
    /// (label, text replacements applied to the reference, failing tests)
    candidates: Vec<Candidate>,
}

#[derive(Deserialize)]
struct Candidate {
    label: String,
    edits: Vec<(String, String)>,
    failing: Vec<String>,
}

/// The tasks of [`TASKS`].
fn tasks() -> Result<Vec<Task>, String> {
    toml::from_str::<Tasks>(TASKS)
        .map(|t| t.task)
        .map_err(|e| format!("demo coding tasks: {e}"))
}

/// A unified diff of one file, `git diff` style.
pub(crate) fn unified(path: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(old, new);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    format!("diff --git a/{path} b/{path}\n{body}")
}

/// `text` with each `(from, to)` of `edits` made once, in order, and the
/// `from`s that were not in the text by then (none, in a well-made item).
pub(crate) fn apply_edits<'e, F: AsRef<str>, T: AsRef<str>>(
    text: &str,
    edits: &'e [(F, T)],
) -> (String, Vec<&'e F>) {
    let mut out = text.to_owned();
    let mut missed = Vec::new();
    for (from, to) in edits {
        let (from_text, to) = (from.as_ref(), to.as_ref());
        if out.contains(from_text) {
            out = out.replacen(from_text, to, 1);
        } else {
            missed.push(from);
        }
    }
    (out, missed)
}

fn junit(suite: &str, names: &[String], failing: &[String]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\">\n",
        names.len(),
        failing.len(),
        0.041 * names.len() as f64
    );
    for (i, n) in names.iter().enumerate() {
        let t = 0.004 + 0.013 * i as f64;
        if failing.contains(n) {
            xml.push_str(&format!(
                "    <testcase classname=\"{suite}\" name=\"{n}\" time=\"{t:.3}\">\n      <failure message=\"assertion failed\" type=\"AssertionError\">expected value did not match; see {n}</failure>\n    </testcase>\n"
            ));
        } else {
            xml.push_str(&format!(
                "    <testcase classname=\"{suite}\" name=\"{n}\" time=\"{t:.3}\"/>\n"
            ));
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

pub(crate) fn items() -> Result<Vec<DemoItem>, String> {
    let mut out = Vec::new();
    for task in tasks()? {
        for (ci, c) in task.candidates.iter().enumerate() {
            let (candidate, _) = apply_edits(&task.reference, &c.edits);
            let patch = unified(&task.path, &task.original, &candidate);
            let statement = format!(
                "{}\n**Language:** {}  \n**File:** `{}`  \n**Tests:** `{}`\n",
                task.statement, task.language, task.path, task.test_path
            );
            out.push(
                DemoItem::new(
                    format!("itm-code-{}-{}", task.slug, ci + 1),
                    format!("{} ({})", task.title, c.label),
                )
                .text("task_statement", statement)
                .text("reference_solution", task.reference.as_str())
                .text("test_suite", task.tests.as_str())
                .text(
                    "test_run",
                    junit(&task.test_path, &task.test_names, &c.failing),
                )
                .text("candidate_patch", patch)
                .text("language", task.language.as_str()),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buggy_candidate_differs_from_the_reference() {
        for t in tasks().unwrap() {
            for c in &t.candidates {
                let (s, missed) = apply_edits(&t.reference, &c.edits);
                assert!(missed.is_empty(), "{}: {missed:?} not found", t.slug);
                assert_eq!(c.edits.is_empty(), s == t.reference, "{}", t.slug);
                assert_eq!(c.edits.is_empty(), c.failing.is_empty(), "{}", t.slug);
            }
        }
        let items = items().unwrap();
        assert_eq!(items.len(), 16);
    }

    #[test]
    fn patches_are_unified_diffs() {
        let d = unified("a.txt", "one\ntwo\n", "one\nthree\n");
        assert!(d.starts_with("diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@"));
        assert!(d.contains("-two\n+three\n"));
    }
}
