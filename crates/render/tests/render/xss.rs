//! Every XSS payload, in every field kind, comes out as plain text: the
//! serialised view models contain the payload only as JSON string data, and
//! no view model has an HTML-bearing field.

use assay_render::{
    chat_view, diff_files, highlight_code, legal_view, markdown_view, test_suite_view, DiffRows,
    MultiFileDiff,
};
use assay_rubric::model::DiffMode;

/// The XSS corpus shared with the unit and end-to-end tests.
fn xss_corpus() -> Vec<String> {
    serde_json::from_str(include_str!("../../fixtures/xss.json")).unwrap()
}

/// Fields that carry item content.
const CONTENT_KEYS: &[&str] = &[
    "text",
    "url",
    "alt",
    "name",
    "message",
    "detail",
    "role_label",
    "term",
];

/// Concatenation, in document order, of every content string in a JSON tree.
fn strings(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                match x {
                    serde_json::Value::String(s) if CONTENT_KEYS.contains(&k.as_str()) => {
                        out.push_str(s);
                        out.push('\n');
                    }
                    _ => strings(x, out),
                }
            }
        }
        _ => {}
    }
}

fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                out.push(k.clone());
                keys(x, out);
            }
        }
        _ => {}
    }
}

fn check<T: serde::Serialize>(view: &T, payload: &str, kind: &str) {
    let json = serde_json::to_value(view).unwrap();
    let mut text = String::new();
    strings(&json, &mut text);
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    // The payload's characters survive as text (markdown may consume its own
    // syntax such as `[x](url)` into link fields, which are also text).
    let alnum = |s: &str| {
        squash(s)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let hay = alnum(&text);
    // Markdown decodes character references into literal text (`&lt;` shows
    // as `<`): that is still text, so accept the decoded form too.
    let decoded = payload
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#x77;", "w")
        .replace("&amp;", "&");
    assert!(
        hay.contains(&alnum(payload)) || hay.contains(&alnum(&decoded)),
        "{kind}: payload {payload:?} not kept as text"
    );
    let mut k = Vec::new();
    keys(&json, &mut k);
    for key in k {
        assert!(
            !matches!(
                key.as_str(),
                "html" | "inner_html" | "innerHTML" | "dangerous_html"
            ),
            "{kind}: view model has an HTML field `{key}`"
        );
    }
}

#[test]
fn payloads_in_every_field_kind_are_text() {
    for p in &xss_corpus() {
        let code = highlight_code(&format!("let s = \"{p}\";\n// {p}\n"), Some("x.js"));
        check(&code, p, "code");

        let file = diff_files("a.html", "<p>old</p>\n", "a.html", &format!("{p}\n"));
        let rows = DiffRows::new(MultiFileDiff { files: vec![file] });
        for mode in [DiffMode::Unified, DiffMode::Split] {
            let n = rows.row_count(0, mode, &[]);
            check(&rows.rows_for(0, 0, n, mode, &[]).unwrap(), p, "diff");
        }

        check(&markdown_view(p), p, "markdown");
        let chat =
            serde_json::json!([{ "role": "user", "content": p }, { "role": p, "content": "x" }]);
        check(&chat_view(&chat.to_string()).unwrap(), p, "chat");

        check(
            &legal_view(&format!("1. {p}\n"), Some("1. prior\n")),
            p,
            "legal",
        );

        let src = format!("def test_x():\n    # {p}\n    pass\n");
        let junit =
            format!(
            "<testsuite><testcase name=\"test_x\"><failure message=\"{}\"/></testcase></testsuite>",
            p.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
        );
        let suite = test_suite_view(&src, Some("python"), None, Some(&junit));
        assert!(
            suite.results_error.is_none(),
            "{p}: {:?}",
            suite.results_error
        );
        assert_eq!(
            suite.tests[0].outcome.as_ref().unwrap().message.as_deref(),
            Some(p.as_str())
        );
        check(&suite, p, "test suite");
    }
}
