//! XSS payloads for the unit tests: every viewer must output them as plain
//! text runs. The list is `crates/render/fixtures/xss.json`, which the
//! integration tests and the end-to-end test (every payload in every field
//! kind of the real webview) read too.

use std::sync::LazyLock;

static CORPUS: LazyLock<Vec<String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../fixtures/xss.json"))
        .expect("fixtures/xss.json is a JSON list of strings")
});

static PAYLOADS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| CORPUS.iter().map(String::as_str).collect());

/// A corpus of classic XSS vectors (script tags, event handlers, `javascript:`
/// URLs, SVG/MathML, CSS, template injection, encoded and split variants).
pub fn xss_corpus() -> &'static [&'static str] {
    &PAYLOADS
}

#[test]
fn corpus_is_nonempty_and_single_line() {
    let c = xss_corpus();
    assert!(c.len() >= 30);
    assert!(c.iter().all(|p| !p.contains('\n')));
    assert!(c.contains(&"<script>window.__xss=1</script>"));
}
