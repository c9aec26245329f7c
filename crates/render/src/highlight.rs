//! Syntax highlighting with `syntect`, reduced to a small closed set of token
//! classes that the UI themes with CSS (light and dark). No colours are
//! shipped from Rust.
//!
//! Languages: bat's syntax set (through `two-face`: the grammars of syntect's
//! default set plus TypeScript, TSX, TOML, Dockerfile, ...), the same
//! grammars `delta` and `bat` highlight with.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::OnceLock;

use serde::Serialize;
use syntect::parsing::{
    BasicScopeStackOp, ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet,
};
use ts_rs::TS;

/// Lines longer than this are not highlighted (regex engines get slow on
/// minified megabyte lines); they come out as plain text.
pub const MAX_HIGHLIGHT_LINE_BYTES: usize = 4096;

/// Closed set of token classes. The UI maps each to a CSS class `tok-<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum TokenClass {
    /// Text with no syntax role (and everything in unknown languages).
    Plain,
    /// Language keyword (`fn`, `if`, `return`).
    Keyword,
    /// String literal.
    String,
    /// Escape sequence inside a string (`\n`).
    Escape,
    /// Comment, including doc comments.
    Comment,
    /// Numeric literal.
    Number,
    /// Built-in constant (`true`, `None`, `null`).
    Constant,
    /// Function or method name.
    Function,
    /// Type, class or trait name.
    Type,
    /// Variable, parameter or field name.
    Variable,
    /// Operator (`+`, `=`, `&&`).
    Operator,
    /// Punctuation (brackets, commas, semicolons).
    Punctuation,
    /// Markup tag name (HTML, XML).
    Tag,
    /// Markup attribute name.
    Attribute,
    /// Markup heading (Markdown `#`).
    Heading,
    /// Markup emphasis (Markdown `*text*`).
    Emphasis,
    /// Link or URL in markup.
    Link,
    /// Text the grammar marks as illegal.
    Invalid,
}

/// A run of text with one style. `changed` marks word-level intra-line changes
/// (diffs) so the UI can emphasise them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct StyledRun {
    /// The run's text (never HTML: the UI inserts it as text).
    pub text: String,
    /// Token class; the UI styles it as `tok-<class>`.
    pub class: TokenClass,
    /// Part of a word-level change inside a changed line (diffs only).
    pub changed: bool,
}

/// One line of a highlighted code view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CodeLine {
    /// 1-based line number.
    pub number: u32,
    /// The line's text as styled runs, in order.
    pub runs: Vec<StyledRun>,
}

/// A whole source file, highlighted (viewer kind `code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CodeView {
    /// Stable language id (`rust`, `typescript`, ...) or `None` for plain text.
    pub language: Option<String>,
    /// Highlighted lines in source order.
    pub lines: Vec<CodeLine>,
}

/// A highlighted byte span of a line: it covers bytes up to `end` (exclusive)
/// from the end of the previous span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub end: u32,
    pub class: TokenClass,
}

pub(crate) fn syntax_set() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(two_face::syntax::extra_newlines)
}

/// A resolved language: the syntect grammar and our stable id for it.
#[derive(Clone, Copy)]
pub(crate) struct Language {
    pub syntax: &'static SyntaxReference,
    pub id: &'static str,
}

fn stable_id(syntax_name: &str) -> &'static str {
    match syntax_name {
        "Rust" => "rust",
        "Python" => "python",
        "JavaScript" | "JavaScript (Babel)" => "javascript",
        "TypeScript" | "TypeScriptReact" => "typescript",
        "Go" => "go",
        "Java" => "java",
        "C" => "c",
        "C++" => "cpp",
        "SQL" => "sql",
        "JSON" => "json",
        "YAML" => "yaml",
        "Markdown" => "markdown",
        "Bourne Again Shell (bash)" => "shell",
        "HTML" => "html",
        "CSS" => "css",
        "Ruby" => "ruby",
        "PHP" => "php",
        "C#" => "csharp",
        "XML" => "xml",
        "Makefile" => "makefile",
        "Diff" => "diff",
        "TOML" => "toml",
        _ => "other",
    }
}

fn lookup_token(token: &str) -> Option<Language> {
    let ss = syntax_set();
    let lower = token.to_ascii_lowercase();
    let (key, id_override): (&str, Option<&'static str>) = match lower.as_str() {
        "ts" | "mts" | "cts" | "typescript" => ("ts", None),
        "jsx" | "mjs" | "cjs" | "javascript" => ("js", None),
        "c++" | "cpp" | "cxx" | "cc" | "hpp" | "hh" | "hxx" => ("cpp", None),
        "golang" => ("go", None),
        "py" | "python3" | "pyi" => ("py", None),
        "yml" => ("yaml", None),
        "shell" | "bash" | "zsh" => ("sh", None),
        other => (other, None),
    };
    let syntax = ss
        .find_syntax_by_extension(key)
        .or_else(|| ss.find_syntax_by_token(key))?;
    if syntax.name == "Plain Text" {
        return None;
    }
    let id = id_override.unwrap_or_else(|| stable_id(&syntax.name));
    Some(Language { syntax, id })
}

/// Resolve a language from an explicit language name (wins) or a file path.
pub(crate) fn resolve_language(path: Option<&str>, language: Option<&str>) -> Option<Language> {
    if let Some(lang) = language.map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(found) = lookup_token(lang) {
            return Some(found);
        }
    }
    let path = path?;
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if let Some((_, ext)) = file_name.rsplit_once('.') {
        if let Some(found) = lookup_token(ext) {
            return Some(found);
        }
    }
    // Names such as `Makefile`.
    let ss = syntax_set();
    let syntax = ss.find_syntax_by_extension(file_name)?;
    (syntax.name != "Plain Text").then(|| Language {
        syntax,
        id: stable_id(&syntax.name),
    })
}

/// Stable language id for a file path (`"rust"`, `"typescript"`, ...), or
/// `None` when the file is not source code we highlight.
pub fn language_for_path(path: &str) -> Option<String> {
    resolve_language(Some(path), None).map(|l| l.id.to_string())
}

/// Ordered most specific first; the first prefix that matches a scope wins.
const SCOPE_CLASSES: &[(&str, TokenClass)] = &[
    ("punctuation.definition.comment", TokenClass::Comment),
    ("punctuation.definition.string", TokenClass::String),
    ("comment", TokenClass::Comment),
    ("constant.character.escape", TokenClass::Escape),
    ("string", TokenClass::String),
    ("constant.numeric", TokenClass::Number),
    ("constant", TokenClass::Constant),
    ("keyword.operator", TokenClass::Operator),
    ("keyword", TokenClass::Keyword),
    ("storage.type.primitive", TokenClass::Type),
    ("storage", TokenClass::Keyword),
    ("entity.name.function", TokenClass::Function),
    ("support.function", TokenClass::Function),
    ("variable.function", TokenClass::Function),
    ("entity.name.tag", TokenClass::Tag),
    ("entity.other.attribute-name", TokenClass::Attribute),
    ("entity.name", TokenClass::Type),
    ("entity.other.inherited-class", TokenClass::Type),
    ("support.type", TokenClass::Type),
    ("support.class", TokenClass::Type),
    ("support.constant", TokenClass::Constant),
    ("variable.language", TokenClass::Constant),
    ("variable.parameter", TokenClass::Variable),
    ("variable", TokenClass::Variable),
    ("markup.heading", TokenClass::Heading),
    ("markup.bold", TokenClass::Emphasis),
    ("markup.italic", TokenClass::Emphasis),
    ("markup.underline.link", TokenClass::Link),
    ("markup.raw", TokenClass::String),
    ("invalid", TokenClass::Invalid),
    ("punctuation", TokenClass::Punctuation),
];

fn scope_table() -> &'static [(Scope, TokenClass)] {
    static TABLE: OnceLock<Vec<(Scope, TokenClass)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SCOPE_CLASSES
            .iter()
            .filter_map(|(name, class)| Scope::new(name).ok().map(|s| (s, *class)))
            .collect()
    })
}

/// FxHash-style hasher for [`Scope`] keys (two `u64`s): the scope cache is
/// looked up on every scope push.
#[derive(Default)]
struct ScopeHasher(u64);

impl std::hash::Hasher for ScopeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(word));
        }
        for b in chunks.remainder() {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type ScopeCache = HashMap<Scope, Option<TokenClass>, BuildHasherDefault<ScopeHasher>>;

/// Lines longer than this are not remembered by [`Memo`].
const MEMO_MAX_LINE: usize = 256;
/// Most line texts a [`Memo`] holds, and parse states per text.
const MEMO_MAX_LINES: usize = 32_768;
/// (16: a closing brace or blank line recurs at many nesting depths; more
/// states per text gained under 1% more hits on the benchmark's inputs.)
const MEMO_MAX_STATES: usize = 16;

/// A line parsed from one state: what it gave and the state after it.
struct Parsed {
    state: ParseState,
    stack: ScopeStack,
    spans: Vec<Span>,
    state_after: ParseState,
    stack_after: ScopeStack,
    classes_after: Vec<Option<TokenClass>>,
}

/// Parsing is a function of (parser state, line text): the same line in the
/// same state gives the same scopes and leaves the same state. Code repeats
/// lines a lot (blank lines, closing braces, table rows, the same line on
/// both sides of a diff), so each stream remembers recent results and
/// replays them instead of running the grammar's regexes again.
#[derive(Default)]
pub(crate) struct Memo {
    lines: HashMap<Box<str>, Vec<Parsed>, BuildHasherDefault<ScopeHasher>>,
}

/// A [`Memo`] shared by the streams of one thread.
pub(crate) type SharedMemo = Rc<RefCell<Memo>>;

/// Frees what the parser keeps per thread between lines (its search cache:
/// a slot per pattern met and the match regions it holds). Called where a
/// highlighting job ends, so that a long-lived thread (a command handler
/// that highlighted the rows on screen) does not hold it until it exits.
pub(crate) fn release_thread_caches() {
    syntect::parsing::release_thread_search_cache();
}

/// The class a scope maps to on its own (`None`: look further down the stack).
fn scope_class(cache: &mut ScopeCache, scope: Scope) -> Option<TokenClass> {
    *cache.entry(scope).or_insert_with(|| {
        scope_table()
            .iter()
            .find(|(prefix, _)| prefix.is_prefix_of(scope))
            .map(|(_, c)| *c)
    })
}

/// Streams lines of one side of a file through syntect, keeping parse state so
/// multi-line strings and comments stay correct.
///
/// Next to syntect's scope stack it keeps the class of every stack level (the
/// innermost scope with a class wins), so each push or pop costs O(1) instead
/// of a walk down the stack after every operation.
pub(crate) struct LineHighlighter {
    state: Option<ParseState>,
    syntax: Option<&'static SyntaxReference>,
    stack: ScopeStack,
    /// Class of each level of `stack` (`None`: no scope up to it has one).
    classes: Vec<Option<TokenClass>>,
    cache: ScopeCache,
    memo: SharedMemo,
    buf: String,
}

impl LineHighlighter {
    pub fn new(language: Option<Language>) -> Self {
        Self::with_memo(language, SharedMemo::default())
    }

    /// A stream that shares `memo` with others of the same thread.
    pub fn with_memo(language: Option<Language>, memo: SharedMemo) -> Self {
        let syntax = language.map(|l| l.syntax);
        Self {
            state: syntax.map(ParseState::new),
            syntax,
            stack: ScopeStack::new(),
            classes: Vec::new(),
            cache: ScopeCache::default(),
            memo,
            buf: String::new(),
        }
    }

    /// A second stream that continues from this one's current state (the
    /// other side of a diff, from the shared context before a change).
    pub fn fork(&self) -> Self {
        Self {
            state: self.state.clone(),
            syntax: self.syntax,
            stack: self.stack.clone(),
            classes: self.classes.clone(),
            cache: ScopeCache::default(),
            memo: self.memo.clone(),
            buf: String::new(),
        }
    }

    /// Both streams would highlight the next line identically.
    pub fn same_state(&self, other: &Self) -> bool {
        self.state == other.state && self.stack == other.stack
    }

    /// Forget the parse state (start of a new hunk: the gap is unknown).
    pub fn reset(&mut self) {
        self.state = self.syntax.map(ParseState::new);
        self.stack = ScopeStack::new();
        self.classes.clear();
    }

    fn class(&self) -> TokenClass {
        self.classes
            .last()
            .copied()
            .flatten()
            .unwrap_or(TokenClass::Plain)
    }

    /// Highlight one line (without its newline).
    pub fn line(&mut self, line: &str) -> Vec<Span> {
        let len = line.len();
        let plain = || {
            if len == 0 {
                Vec::new()
            } else {
                vec![Span {
                    end: len as u32,
                    class: TokenClass::Plain,
                }]
            }
        };
        if len > MAX_HIGHLIGHT_LINE_BYTES {
            // Keep the parser's state as it was; the line shows plain.
            return plain();
        }
        let Some(state) = self.state.as_mut() else {
            return plain();
        };
        let memoize = len <= MEMO_MAX_LINE;
        if memoize {
            let memo = self.memo.borrow();
            if let Some(hit) = memo.lines.get(line).and_then(|v| {
                v.iter()
                    .find(|p| p.state == *state && p.stack == self.stack)
            }) {
                state.clone_from(&hit.state_after);
                self.stack.clone_from(&hit.stack_after);
                self.classes.clone_from(&hit.classes_after);
                return hit.spans.clone();
            }
        }
        let before = memoize.then(|| (state.clone(), self.stack.clone()));
        self.buf.clear();
        self.buf.push_str(line);
        self.buf.push('\n');
        let ops = match state.parse_line(&self.buf, syntax_set()) {
            Ok(ops) => ops,
            Err(err) => {
                tracing::debug!(%err, "syntax highlighting failed; showing plain text");
                self.state = None;
                return plain();
            }
        };
        let mut spans: Vec<Span> = Vec::with_capacity(ops.len() / 2 + 1);
        let mut pos = 0usize;
        let mut class = self.class();
        let (classes, cache) = (&mut self.classes, &mut self.cache);
        for (offset, op) in ops {
            let offset = offset.min(len);
            if offset > pos {
                push_span(&mut spans, offset, class);
                pos = offset;
            }
            let applied = self.stack.apply_with_hook(&op, |basic, now| match basic {
                BasicScopeStackOp::Push(scope) => {
                    classes.truncate(now.len().saturating_sub(1));
                    let below = classes.last().copied().flatten();
                    classes.push(scope_class(cache, scope).or(below));
                }
                BasicScopeStackOp::Pop => classes.truncate(now.len()),
            });
            if applied.is_err() {
                self.stack = ScopeStack::new();
                classes.clear();
            }
            class = classes
                .last()
                .copied()
                .flatten()
                .unwrap_or(TokenClass::Plain);
        }
        if pos < len {
            push_span(&mut spans, len, class);
        }
        if let (Some((state, stack)), Some(state_after)) = (before, self.state.as_ref()) {
            let mut memo = self.memo.borrow_mut();
            if memo.lines.len() >= MEMO_MAX_LINES {
                memo.lines.clear();
            }
            let parsed = Parsed {
                state,
                stack,
                spans: spans.clone(),
                state_after: state_after.clone(),
                stack_after: self.stack.clone(),
                classes_after: self.classes.clone(),
            };
            match memo.lines.get_mut(line) {
                Some(v) => {
                    if v.len() >= MEMO_MAX_STATES {
                        v.remove(0);
                    }
                    v.push(parsed);
                }
                None => {
                    memo.lines.insert(line.into(), vec![parsed]);
                }
            }
        }
        spans
    }
}

fn push_span(spans: &mut Vec<Span>, end: usize, class: TokenClass) {
    if let Some(last) = spans.last_mut() {
        if last.class == class {
            last.end = end as u32;
            return;
        }
    }
    spans.push(Span {
        end: end as u32,
        class,
    });
}

/// Turn spans plus sorted, non-overlapping changed byte ranges into runs.
pub(crate) fn to_runs(text: &str, spans: &[Span], changed: &[(u32, u32)]) -> Vec<StyledRun> {
    let mut cuts: Vec<(usize, TokenClass, bool)> = Vec::new();
    let len = text.len();
    let mut span_i = 0usize;
    let mut ch_i = 0usize;
    let mut pos = 0usize;
    while pos < len {
        while span_i < spans.len() && (spans[span_i].end as usize) <= pos {
            span_i += 1;
        }
        while ch_i < changed.len() && (changed[ch_i].1 as usize) <= pos {
            ch_i += 1;
        }
        let (class, span_end) = spans
            .get(span_i)
            .map_or((TokenClass::Plain, len), |s| (s.class, s.end as usize));
        let (in_change, change_edge) = match changed.get(ch_i) {
            Some(&(s, e)) if (s as usize) <= pos => (true, e as usize),
            Some(&(s, _)) => (false, s as usize),
            None => (false, len),
        };
        let mut end = span_end.min(change_edge).min(len);
        if end <= pos {
            end = len;
        }
        // Never cut inside a UTF-8 character.
        while end < len && !text.is_char_boundary(end) {
            end += 1;
        }
        cuts.push((end, class, in_change));
        pos = end;
    }
    let mut runs: Vec<StyledRun> = Vec::with_capacity(cuts.len());
    let mut start = 0usize;
    for (end, class, changed) in cuts {
        let piece = text.get(start..end).unwrap_or_default();
        start = end;
        if piece.is_empty() {
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.class == class && last.changed == changed => {
                last.text.push_str(piece);
            }
            _ => runs.push(StyledRun {
                text: piece.to_string(),
                class,
                changed,
            }),
        }
    }
    runs
}

/// Highlight a whole source text (viewer kind `code`). `path_or_language` is a
/// file name (`src/main.rs`) or a language name (`python`).
pub fn highlight_code(text: &str, path_or_language: Option<&str>) -> CodeView {
    let language = path_or_language
        .and_then(|p| resolve_language(None, Some(p)).or_else(|| resolve_language(Some(p), None)));
    let mut hl = LineHighlighter::new(language);
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let spans = hl.line(line);
            CodeLine {
                number: i as u32 + 1,
                runs: to_runs(line, &spans, &[]),
            }
        })
        .collect();
    release_thread_caches();
    CodeView {
        language: language.map(|l| l.id.to_string()),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(view: &CodeView, line: usize) -> Vec<(String, TokenClass)> {
        view.lines[line]
            .runs
            .iter()
            .map(|r| (r.text.clone(), r.class))
            .collect()
    }

    #[test]
    fn languages_from_paths() {
        for (path, id) in [
            ("a.py", "python"),
            ("web/app.js", "javascript"),
            ("web/app.ts", "typescript"),
            ("web/App.tsx", "typescript"),
            ("main.go", "go"),
            ("src/lib.rs", "rust"),
            ("Main.java", "java"),
            ("x.c", "c"),
            ("x.cpp", "cpp"),
            ("q.sql", "sql"),
            ("d.json", "json"),
            ("c.yaml", "yaml"),
            ("c.yml", "yaml"),
            ("Cargo.toml", "toml"),
            ("web/app.mts", "typescript"),
            ("README.md", "markdown"),
        ] {
            assert_eq!(language_for_path(path).as_deref(), Some(id), "{path}");
        }
        assert_eq!(language_for_path("notes.unknownext"), None);
    }

    #[test]
    fn every_required_language_highlights() {
        let samples = [
            (
                "a.py",
                "def f(x):\n    return \"s\"  # c\n",
                TokenClass::Keyword,
            ),
            ("a.js", "const x = 'a'; // c\n", TokenClass::String),
            (
                "a.ts",
                "export function f(): number { return 1; }\n",
                TokenClass::Number,
            ),
            (
                "a.go",
                "package main\nfunc main() { x := \"s\" }\n",
                TokenClass::Keyword,
            ),
            ("a.rs", "fn main() { let x = 1; }\n", TokenClass::Keyword),
            (
                "A.java",
                "public class A { int x = 1; }\n",
                TokenClass::Keyword,
            ),
            ("a.c", "int main(void) { return 0; }\n", TokenClass::Keyword),
            (
                "a.cpp",
                "#include <vector>\nint main() { return 0; }\n",
                TokenClass::Keyword,
            ),
            (
                "a.sql",
                "SELECT name FROM users WHERE id = 1;\n",
                TokenClass::Keyword,
            ),
            ("a.json", "{\"k\": [1, true, \"v\"]}\n", TokenClass::String),
            (
                "a.yaml",
                "key: value # c\nlist:\n  - 1\n",
                TokenClass::Comment,
            ),
            ("a.md", "# Title\n\nSome *text*\n", TokenClass::Heading),
        ];
        for (path, src, expect) in samples {
            let v = highlight_code(src, Some(path));
            assert!(v.language.is_some(), "{path}");
            let classes: Vec<TokenClass> = v
                .lines
                .iter()
                .flat_map(|l| l.runs.iter().map(|r| r.class))
                .collect();
            assert!(classes.contains(&expect), "{path}: {classes:?}");
        }
    }

    #[test]
    fn rust_keywords_strings_comments() {
        let v = highlight_code(
            "fn main() {\n    let s = \"hi\"; // note\n}\n",
            Some("x.rs"),
        );
        assert_eq!(v.language.as_deref(), Some("rust"));
        let l1 = classes(&v, 1);
        assert!(l1.contains(&("let".into(), TokenClass::Keyword)), "{l1:?}");
        assert!(
            l1.contains(&("\"hi\"".into(), TokenClass::String)),
            "{l1:?}"
        );
        assert!(
            l1.contains(&("// note".into(), TokenClass::Comment)),
            "{l1:?}"
        );
        let text: String = v.lines[1].runs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(text, "    let s = \"hi\"; // note");
    }

    #[test]
    fn multiline_comment_state_carries_over() {
        let v = highlight_code("/* start\nstill comment\n*/ int x = 1;\n", Some("c"));
        assert_eq!(
            classes(&v, 1),
            vec![("still comment".into(), TokenClass::Comment)]
        );
    }

    #[test]
    fn python_numbers_and_strings() {
        let v = highlight_code("x = 42\ny = '''doc\nmore'''\n", Some("python"));
        assert!(classes(&v, 0).contains(&("42".into(), TokenClass::Number)));
        assert_eq!(classes(&v, 2)[0].1, TokenClass::String);
    }

    #[test]
    fn runs_split_on_changes_and_utf8() {
        let spans = [Span {
            end: 7,
            class: TokenClass::String,
        }];
        let runs = to_runs("héllo!", &spans, &[(1, 2)]);
        let joined: String = runs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(joined, "héllo!");
        assert!(runs.iter().any(|r| r.changed && r.text == "é"));
    }

    #[test]
    fn typescript_has_its_own_grammar_and_toml_highlights() {
        let v = highlight_code("let x: number = f<string>(1);\n", Some("a.ts"));
        assert_eq!(v.language.as_deref(), Some("typescript"));
        let l0 = classes(&v, 0);
        // The JavaScript grammar has no type annotations; TypeScript's does.
        assert!(l0.contains(&("number".into(), TokenClass::Type)), "{l0:?}");
        let v = highlight_code("[package]\nname = \"x\" # c\n", Some("Cargo.toml"));
        assert_eq!(v.language.as_deref(), Some("toml"));
        let l1 = classes(&v, 1);
        assert!(l1.iter().any(|(_, c)| *c == TokenClass::String), "{l1:?}");
        assert!(l1.iter().any(|(_, c)| *c == TokenClass::Comment), "{l1:?}");
    }

    #[test]
    fn overlong_lines_are_plain() {
        let long = "x".repeat(MAX_HIGHLIGHT_LINE_BYTES + 1);
        let v = highlight_code(&long, Some("rs"));
        assert_eq!(v.lines[0].runs.len(), 1);
        assert_eq!(v.lines[0].runs[0].class, TokenClass::Plain);
    }
}
