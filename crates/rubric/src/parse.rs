//! Reading rubrics (TOML, JSON, YAML) and sample items from text and disk.

use std::fmt;
use std::path::{Path, PathBuf};

use assay_protocol::{Item, ItemEnvelope};

use crate::lint::{self, LintFinding};
use crate::model::Rubric;
pub use crate::source::Format;
use crate::source::SourceMap;

/// Largest rubric document accepted, in bytes. Real rubrics are a few KiB.
pub const MAX_RUBRIC_BYTES: usize = 4 * 1024 * 1024;
/// Largest sample item file accepted, in bytes.
pub const MAX_ITEM_BYTES: u64 = 64 * 1024 * 1024;

/// A document that is not well-formed, or does not have the rubric's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The file the document came from, if any.
    pub file: Option<String>,
    /// The syntax it was parsed as.
    pub format: Format,
    /// The parser's description of the problem.
    pub message: String,
    /// 1-based, when the parser reports it.
    pub line: Option<u32>,
    /// 1-based, when the parser reports it.
    pub column: Option<u32>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        if let Some(line) = self.line {
            write!(f, "{line}:")?;
            if let Some(col) = self.column {
                write!(f, "{col}:")?;
            }
        }
        if self.file.is_some() || self.line.is_some() {
            f.write_str(" ")?;
        }
        write!(f, "invalid {} rubric: {}", self.format, self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// A sample item file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFileError {
    /// The sample file.
    pub path: PathBuf,
    /// Why it could not be used.
    pub message: String,
}

impl fmt::Display for ItemFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Errors of the rubric engine.
#[derive(Debug, thiserror::Error)]
pub enum RubricError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file extension names no known format.
    #[error("{}: unknown rubric format (use a .toml, .json, .yaml or .yml file)", path.display())]
    UnknownFormat {
        /// The file whose extension is not known.
        path: PathBuf,
    },
    /// The document exceeds [`MAX_RUBRIC_BYTES`].
    #[error("rubric is too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// Size of the document in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The document is not well-formed or does not have the rubric's shape.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// Well-formed but inconsistent (e.g. a scale with min >= max).
    #[error("invalid rubric: {}", summarize(findings))]
    Invalid {
        /// The error findings of the lint (at least one).
        findings: Vec<LintFinding>,
    },
    /// A sample item file could not be used.
    #[error("{0}")]
    Item(ItemFileError),
}

fn summarize(findings: &[LintFinding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Parse a rubric and check it for errors that make it unusable (see
/// [`lint::structural_findings`]). Use [`parse_rubric_unchecked`] to get the
/// document even when it is inconsistent (lint does).
pub fn parse_rubric(text: &str, format: Format) -> Result<Rubric, RubricError> {
    let rubric = parse_rubric_unchecked(text, format, None)?;
    check(rubric)
}

fn check(rubric: Rubric) -> Result<Rubric, RubricError> {
    let findings = lint::structural_findings(&rubric, None);
    if findings.is_empty() {
        Ok(rubric)
    } else {
        Err(RubricError::Invalid { findings })
    }
}

/// Deserialise a rubric without the consistency check. `file` is only used
/// in error messages.
pub fn parse_rubric_unchecked(
    text: &str,
    format: Format,
    file: Option<&str>,
) -> Result<Rubric, RubricError> {
    if text.len() > MAX_RUBRIC_BYTES {
        return Err(RubricError::TooLarge {
            size: text.len(),
            limit: MAX_RUBRIC_BYTES,
        });
    }
    let syntax = |message: String, line: Option<usize>, column: Option<usize>| {
        RubricError::Syntax(SyntaxError {
            file: file.map(str::to_owned),
            format,
            message,
            line: line.map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
            column: column.map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
        })
    };
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| {
            let (line, col) = if e.line() > 0 {
                (Some(e.line()), Some(e.column()))
            } else {
                (None, None)
            };
            syntax(content_free(&strip_position(&e.to_string())), line, col)
        }),
        Format::Yaml => serde_yaml::from_str(text).map_err(|e| {
            let loc = e.location();
            syntax(
                content_free(&strip_position(&e.to_string())),
                loc.as_ref().map(serde_yaml::Location::line),
                loc.as_ref().map(serde_yaml::Location::column),
            )
        }),
        Format::Toml => toml::from_str(text).map_err(|e| {
            let loc = e.span().map(|span| {
                SourceMap::new(None, text, Format::Toml).location_of_offset(span.start)
            });
            syntax(
                content_free(e.message()),
                loc.as_ref().map(|l| l.line as usize),
                loc.as_ref().map(|l| l.column as usize),
            )
        }),
    }
}

/// What a parser said about a document, in words that cannot carry the
/// document's own text: serde's data errors are reworded (the kind of value
/// found and what the schema expected, never the value or an unknown key),
/// a parser's fixed wording is kept, and anything else becomes a generic
/// sentence. The position (reported separately) shows the author where.
/// Sample items hold fields reviewers must not see, and a preview's errors
/// are shown in the app, so nothing of a file may be echoed.
pub fn content_free(message: &str) -> String {
    let m = message.trim();
    let with = |what: &str, m: &str| match expected(m) {
        Some(tail) => format!("{what}, {tail}"),
        None => what.to_owned(),
    };
    if let Some(rest) = m.strip_prefix("missing field ") {
        if is_identifier_token(rest) {
            return m.to_owned();
        }
        return "a required field is missing".to_owned();
    }
    if let Some(rest) = m.strip_prefix("duplicate field ") {
        if is_identifier_token(rest) {
            return m.to_owned();
        }
        return "a field appears twice".to_owned();
    }
    if m.starts_with("unknown field ") {
        return with("unknown field", m);
    }
    if m.starts_with("unknown variant ") {
        return with("unknown value", m);
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        return with(&format!("wrong type (found {})", value_kind(rest)), m);
    }
    if let Some(rest) = m.strip_prefix("invalid value: ") {
        return with(
            &format!("value not allowed (found {})", value_kind(rest)),
            m,
        );
    }
    if m.starts_with("invalid length ") {
        return with("wrong number of entries", m);
    }
    if let Some(name) = m.strip_prefix("data did not match any variant of untagged enum ") {
        if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return m.to_owned();
        }
    }
    let flat = m.replace('\n', "; ");
    if flat.len() <= 300 && is_schema_words(&flat, false) {
        return flat;
    }
    "the document does not have the expected structure here".to_owned()
}

/// The schema's own words after the last ", expected " (a document's text
/// comes before it in serde's messages).
fn expected(m: &str) -> Option<&str> {
    m.rfind(", expected ")
        .map(|i| &m[i + 2..])
        .filter(|tail| is_schema_words(tail, true))
}

/// `` `name` `` where name is a plain identifier (a schema's field name).
fn is_identifier_token(s: &str) -> bool {
    s.strip_prefix('`')
        .and_then(|s| s.strip_suffix('`'))
        .is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// Words a schema or a parser writes by itself: no quoted strings, and
/// backticks only around a few punctuation characters (a token the parser
/// expected) or, in serde's list of expected names (`names`), identifiers.
fn is_schema_words(s: &str, names: bool) -> bool {
    if s.contains(['"', '\'']) {
        // serde_json/toml quote only the document's text this way (a quote
        // as a token is written `"`, handled below).
        let unquoted = s.replace("`\"`", "").replace("`'`", "");
        if unquoted.contains(['"', '\'']) {
            return false;
        }
    }
    let mut parts = s.split('`');
    // Even parts are outside backticks, odd parts inside.
    let _ = parts.next();
    let mut inside = true;
    for part in parts {
        if inside {
            let punct = part.len() <= 3 && part.chars().all(|c| c.is_ascii_punctuation());
            let ident = names
                && !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !(punct || ident) {
                return false;
            }
        }
        inside = !inside;
    }
    s.chars().all(|c| !c.is_control())
}

/// The kind of value serde found ("string", "integer", ...), never the value.
fn value_kind(unexpected: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "boolean",
        "integer",
        "floating point",
        "character",
        "string",
        "byte array",
        "unit value",
        "Option value",
        "newtype struct",
        "sequence",
        "map",
        "enum",
        "unit variant",
        "newtype variant",
        "tuple variant",
        "struct variant",
        "null",
    ];
    KINDS
        .iter()
        .find(|k| unexpected.starts_with(*k))
        .copied()
        .unwrap_or("a value")
}

/// `serde_json` / `serde_yaml` append "at line X column Y"; we report those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Read a rubric file's text, checking size. The format comes from the extension.
pub fn read_rubric_source(path: &Path) -> Result<SourceMap, RubricError> {
    let format = Format::from_path(path).ok_or_else(|| RubricError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let meta = std::fs::metadata(path).map_err(|source| RubricError::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.len() > MAX_RUBRIC_BYTES as u64 {
        return Err(RubricError::TooLarge {
            size: usize::try_from(meta.len()).unwrap_or(usize::MAX),
            limit: MAX_RUBRIC_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| RubricError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(SourceMap::new(
        Some(path.display().to_string()),
        text,
        format,
    ))
}

/// Load and check a rubric file (`.toml`, `.json`, `.yaml`, `.yml`).
pub fn load_rubric_file(path: impl AsRef<Path>) -> Result<Rubric, RubricError> {
    let source = read_rubric_source(path.as_ref())?;
    let rubric = parse_rubric_unchecked(source.text(), source.format(), source.file())?;
    let findings = lint::structural_findings(&rubric, Some(&source));
    if findings.is_empty() {
        Ok(rubric)
    } else {
        Err(RubricError::Invalid { findings })
    }
}

/// Sample items read from a folder: the good ones and, per bad file, why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleItems {
    /// Sorted by path.
    pub items: Vec<(PathBuf, Item)>,
    /// One entry per sample file that could not be read or parsed.
    pub errors: Vec<ItemFileError>,
}

/// Read every `*.json` file in `dir` (not recursive) as an [`Item`] (or an
/// [`ItemEnvelope`]). A bad file is reported in `errors` and does not stop
/// the others; only an unreadable folder is an `Err`.
pub fn load_sample_items(dir: impl AsRef<Path>) -> Result<SampleItems, RubricError> {
    let dir = dir.as_ref();
    let io = |source| RubricError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json && path.is_file() {
            paths.push(path);
        } else {
            tracing::debug!(path = %path.display(), "skipping non-JSON entry in sample folder");
        }
    }
    paths.sort();
    let mut out = SampleItems::default();
    for path in paths {
        match read_item(&path) {
            Ok(item) => out.items.push((path, item)),
            Err(message) => out.errors.push(ItemFileError { path, message }),
        }
    }
    Ok(out)
}

/// Parse one item file; the error is a human-readable message.
pub fn read_item(path: &Path) -> Result<Item, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if len > MAX_ITEM_BYTES {
        return Err(format!(
            "file is too large ({len} bytes, limit {MAX_ITEM_BYTES})"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    parse_item(&text)
}

/// Parse an item from JSON: a bare [`Item`] or an [`ItemEnvelope`]. The
/// error names the position and the problem, never the file's text (see
/// [`content_free`]: items hold fields reviewers must not see).
pub fn parse_item(text: &str) -> Result<Item, String> {
    let located = |what: &str, e: serde_json::Error| {
        let problem = content_free(&strip_position(&e.to_string()));
        if e.line() > 0 {
            format!(
                "{what} at line {}, column {}: {problem}",
                e.line(),
                e.column()
            )
        } else {
            format!("{what}: {problem}")
        }
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| located("invalid JSON", e))?;
    if value.get("item").is_some() && value.get("fields").is_none() {
        serde_json::from_str::<ItemEnvelope>(text)
            .map(|env| env.item)
            .map_err(|e| located("not an item envelope", e))
    } else {
        serde_json::from_str::<Item>(text).map_err(|e| located("not an item", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL_TOML: &str = r#"
id = "r"
version = 1
title = "T"
guidelines = "Read carefully."

[[fields]]
id = "answer"
label = "Answer"
viewer = "markdown"

[[questions]]
id = "q"
prompt = "Quality?"
type = "scale"
min = 1
max = 5
"#;

    #[test]
    fn formats_from_extensions() {
        assert_eq!(Format::from_path(Path::new("a/b.TOML")), Some(Format::Toml));
        assert_eq!(Format::from_path(Path::new("b.yml")), Some(Format::Yaml));
        assert_eq!(Format::from_path(Path::new("b.yaml")), Some(Format::Yaml));
        assert_eq!(Format::from_path(Path::new("b.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("b.txt")), None);
        assert_eq!(Format::from_path(Path::new("b")), None);
    }

    #[test]
    fn parses_minimal_toml() {
        let r = parse_rubric(MINIMAL_TOML, Format::Toml).unwrap();
        assert_eq!(r.id, "r");
        assert_eq!(r.questions.len(), 1);
        assert!(r.questions[0].required);
        assert_eq!(r.questions[0].weight, 1.0);
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let e = parse_rubric("id = \"r\"\nversion = \n", Format::Toml).unwrap_err();
        let RubricError::Syntax(s) = e else {
            panic!("expected syntax error, got {e:?}")
        };
        assert_eq!(s.line, Some(2));

        let e = parse_rubric("{\n  \"id\": \"r\",\n  \"version\": x\n}", Format::Json).unwrap_err();
        let RubricError::Syntax(s) = e else {
            panic!("expected syntax error")
        };
        assert_eq!(s.line, Some(3));
        assert!(!s.message.contains("at line"), "{}", s.message);

        let e = parse_rubric("id: r\nversion: [\n", Format::Yaml).unwrap_err();
        let RubricError::Syntax(s) = e else {
            panic!("expected syntax error")
        };
        assert!(s.line.is_some());
    }

    #[test]
    fn unknown_top_level_keys_are_rejected() {
        let text = format!("colour = \"red\"\n{MINIMAL_TOML}");
        let e = parse_rubric(&text, Format::Toml).unwrap_err();
        let RubricError::Syntax(s) = &e else {
            panic!("expected a syntax error, got {e:?}")
        };
        // Named by position and problem; the key itself is the file's text.
        assert_eq!(s.line, Some(1), "{e}");
        assert!(s.message.starts_with("unknown field, expected"), "{e}");
        assert!(s.message.contains("`guidelines`"), "{e}");
        assert!(!e.to_string().contains("colour"), "{e}");
    }

    /// Secrets planted in every spot a parser error could quote: values of
    /// the wrong type, unknown keys, unknown enum values, duplicate keys and
    /// broken syntax, in every format. No error may echo them, and each
    /// still names where and what.
    #[test]
    fn parse_errors_never_echo_the_document() {
        const S: &str = "s3cr3t-value";
        let cases: Vec<(Format, String)> = vec![
            (Format::Json, format!(r#"{{"id": "r", "version": "{S}"}}"#)),
            (Format::Json, format!(r#"{{"id": "r", "{S}": 1}}"#)),
            (
                Format::Json,
                format!(
                    r#"{{"id": "r", "version": 1, "title": "t", "guidelines": "g", "fields": [{{"id": "a", "label": "A", "viewer": "{S}"}}], "questions": []}}"#
                ),
            ),
            (Format::Json, format!(r#"{{"id": "r", "version": -{S}}}"#)),
            (Format::Toml, format!("id = \"r\"\nversion = \"{S}\"\n")),
            (Format::Toml, format!("id = \"r\"\n{S} = 1\n")),
            (Format::Toml, format!("id = \"r\"\nid = \"{S}\"\n")),
            (Format::Toml, format!("id = \"r\"\nversion = {S}\n")),
            (Format::Toml, format!("[{S}\n")),
            (Format::Yaml, format!("id: r\nversion: {S}\n")),
            (Format::Yaml, format!("id: r\n{S}: 1\n")),
            (Format::Yaml, format!("id: r\nversion: [\"{S}\"\n")),
        ];
        for (format, text) in cases {
            let e = parse_rubric_unchecked(&text, format, Some("r.x")).unwrap_err();
            let RubricError::Syntax(s) = &e else {
                panic!("{format} {text:?}: expected a syntax error, got {e:?}")
            };
            assert!(!e.to_string().contains("s3cr3t"), "{format} {text:?}: {e}");
            assert!(s.line.is_some(), "{format} {text:?}: no position in {e}");
            assert!(!s.message.is_empty());
        }
        // Sample items: a hidden field's value of the wrong shape.
        for text in [
            format!(
                r#"{{"id": "i", "opportunity_id": "o", "title": "t", "created_at": "2026-01-01T00:00:00Z", "fields": {{"model": {{"type": "text", "value": {{"{S}": 1}}}}}}}}"#
            ),
            format!(
                r#"{{"id": "i", "opportunity_id": "o", "title": "t", "created_at": "2026-01-01T00:00:00Z", "fields": {{"model": {{"type": "{S}", "value": 1}}}}}}"#
            ),
            format!(
                r#"{{"id": "i", "opportunity_id": "o", "title": "t", "created_at": "{S}", "fields": {{}}}}"#
            ),
            format!(r#"{{"item": {{"id": "i", "{S}": 1}}}}"#),
            format!(r#"{{"id": "i", "fields": {{"a": "{S}"#),
        ] {
            let e = parse_item(&text).unwrap_err();
            assert!(!e.contains("s3cr3t"), "{text}: {e}");
            assert!(e.contains("line 1, column"), "{text}: {e}");
        }
    }

    #[test]
    fn content_free_keeps_the_schema_words() {
        assert_eq!(
            content_free("invalid type: string \"abc\", expected u32"),
            "wrong type (found string), expected u32"
        );
        assert_eq!(content_free("missing field `id`"), "missing field `id`");
        assert_eq!(
            content_free("unknown variant `x`, expected one of `text`, `diff`"),
            "unknown value, expected one of `text`, `diff`"
        );
        // A key crafted to look like the expected list is not trusted.
        assert_eq!(
            content_free("unknown field `a`, expected `s3cr3t`, b`, expected one of `id`"),
            "unknown field, expected one of `id`"
        );
        assert_eq!(content_free("expected `,` or `}`"), "expected `,` or `}`");
        assert_eq!(
            content_free("EOF while parsing an object"),
            "EOF while parsing an object"
        );
        assert!(!content_free("duplicate key `s3cr3t`").contains("s3cr3t"));
        assert!(!content_free("custom \"s3cr3t\"").contains("s3cr3t"));
    }

    #[test]
    fn semantic_errors_are_errors_not_panics() {
        let text = MINIMAL_TOML.replace("min = 1", "min = 7");
        let e = parse_rubric(&text, Format::Toml).unwrap_err();
        let RubricError::Invalid { findings } = e else {
            panic!("expected invalid")
        };
        assert!(
            findings.iter().any(|f| f.code == "scale-range"),
            "{findings:?}"
        );
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = " ".repeat(MAX_RUBRIC_BYTES + 1);
        assert!(matches!(
            parse_rubric(&big, Format::Json),
            Err(RubricError::TooLarge { .. })
        ));
    }

    #[test]
    fn deeply_nested_input_is_an_error() {
        let depth = 20_000;
        let json = "[".repeat(depth);
        assert!(parse_rubric(&json, Format::Json).is_err());
        let yaml = "[".repeat(depth);
        assert!(parse_rubric(&yaml, Format::Yaml).is_err());
        let toml = format!("a = {}", "[".repeat(depth));
        assert!(parse_rubric(&toml, Format::Toml).is_err());
    }

    #[test]
    fn sample_items_bad_files_do_not_stop_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        let good = r#"{"id":"i1","opportunity_id":"o","title":"t","fields":{"a":{"type":"text","value":"x"}},"created_at":"2026-01-01T00:00:00Z"}"#;
        std::fs::write(dir.path().join("b_good.json"), good).unwrap();
        std::fs::write(
            dir.path().join("c_env.json"),
            format!("{{\"item\": {good}}}"),
        )
        .unwrap();
        std::fs::write(dir.path().join("a_bad.json"), "{ nope").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let s = load_sample_items(dir.path()).unwrap();
        assert_eq!(s.items.len(), 2);
        assert_eq!(s.errors.len(), 1);
        assert!(s.errors[0].path.ends_with("a_bad.json"));
        assert!(s.errors[0].message.contains("line 1"), "{}", s.errors[0]);
        assert!(load_sample_items(dir.path().join("missing")).is_err());
    }
}
