//! XSS payloads for tests: every viewer must output them as plain text runs.
//! The end-to-end test places each payload in every field kind and checks
//! that nothing executes in the real webview. The same corpus is in
//! `crates/render/fixtures/xss.json` for non-Rust tests (kept identical by a
//! unit test).

/// A corpus of classic XSS vectors (script tags, event handlers, `javascript:`
/// URLs, SVG/MathML, CSS, template injection, encoded and split variants).
pub fn xss_corpus() -> &'static [&'static str] {
    &[
        "<script>window.__xss=1</script>",
        "<img src=x onerror=\"window.__xss=1\">",
        "<svg onload=window.__xss=1>",
        "<svg><script>window.__xss=1</script></svg>",
        "<iframe src=\"javascript:window.__xss=1\"></iframe>",
        "<a href=\"javascript:window.__xss=1\">click</a>",
        "<body onload=window.__xss=1>",
        "<details open ontoggle=window.__xss=1>",
        "<input autofocus onfocus=window.__xss=1>",
        "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
        "<object data=\"data:text/html,<script>window.__xss=1</script>\"></object>",
        "<embed src=\"javascript:window.__xss=1\">",
        "<link rel=stylesheet href=\"https://evil.example/x.css\">",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=1\">",
        "<style>@import 'https://evil.example/x.css';</style>",
        "<div style=\"background:url(javascript:window.__xss=1)\">",
        "\"><script>window.__xss=1</script>",
        "'><img src=x onerror=window.__xss=1>",
        "</textarea><script>window.__xss=1</script>",
        "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
        "&lt;script&gt;window.__xss=1&lt;/script&gt;",
        "&#60;img src=x onerror=window.__xss=1&#62;",
        "<img src=\"https://evil.example/track.png\">",
        "{{constructor.constructor('window.__xss=1')()}}",
        "${window.__xss=1}",
        "{@html '<img src=x onerror=window.__xss=1>'}",
        "[click](javascript:window.__xss=1)",
        "![x](https://evil.example/track.png)",
        "<ScRiPt>window.__xss=1</sCrIpT>",
        "<img src=x:x onerror=&#x77;indow.__xss=1>",
        "<svg><animate onbegin=window.__xss=1 attributeName=x dur=1s>",
        "<form action=\"javascript:window.__xss=1\"><button>go</button></form>",
        "javascript:window.__xss=1",
        "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
        "\u{202e}<script>window.__xss=1</script>",
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixture_file_matches_corpus() {
        let text = include_str!("../fixtures/xss.json");
        let fixture: Vec<String> = serde_json::from_str(text).unwrap();
        assert_eq!(fixture, super::xss_corpus());
    }

    #[test]
    fn corpus_is_nonempty_and_single_line() {
        let c = super::xss_corpus();
        assert!(c.len() >= 30);
        assert!(c.iter().all(|p| !p.contains('\n')));
    }
}
