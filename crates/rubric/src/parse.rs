//! Reading rubrics (TOML, JSON, YAML) and sample items from text and disk.

use std::fmt;
use std::path::{Path, PathBuf};

use assay_protocol::{Item, ItemEnvelope};

use crate::lint::{self, LintFinding};
use crate::model::Rubric;
use crate::source::SourceMap;

/// Largest rubric document accepted, in bytes. Real rubrics are a few KiB.
pub const MAX_RUBRIC_BYTES: usize = 4 * 1024 * 1024;
/// Largest sample item file accepted, in bytes.
pub const MAX_ITEM_BYTES: u64 = 64 * 1024 * 1024;

/// On-disk syntax of a rubric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Toml,
    Json,
    Yaml,
}

impl Format {
    /// Format from a file extension (`.toml`, `.json`, `.yaml`, `.yml`; any case).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A document that is not well-formed, or does not have the rubric's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub file: Option<String>,
    pub format: Format,
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
    pub path: PathBuf,
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
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: unknown rubric format (use a .toml, .json, .yaml or .yml file)", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("rubric is too large: {size} bytes (limit {limit})")]
    TooLarge { size: usize, limit: usize },
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// Well-formed but inconsistent (e.g. a scale with min >= max).
    #[error("invalid rubric: {}", summarize(findings))]
    Invalid { findings: Vec<LintFinding> },
    #[error("{0}")]
    Item(ItemFileError),
}

fn summarize(findings: &[LintFinding]) -> String {
    findings
        .iter()
        .map(|f| f.to_string())
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
            syntax(strip_position(&e.to_string()), line, col)
        }),
        Format::Yaml => serde_yaml::from_str(text).map_err(|e| {
            let loc = e.location();
            syntax(
                strip_position(&e.to_string()),
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
            )
        }),
        Format::Toml => toml::from_str(text).map_err(|e| {
            let loc = e.span().map(|span| {
                SourceMap::new(None, text, Format::Toml).location_of_offset(span.start)
            });
            syntax(
                e.message().trim().to_owned(),
                loc.as_ref().map(|l| l.line as usize),
                loc.as_ref().map(|l| l.column as usize),
            )
        }),
    }
}

/// serde_json / serde_yaml append "at line X column Y"; we report those separately.
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

/// Parse an item from JSON: a bare [`Item`] or an [`ItemEnvelope`].
pub fn parse_item(text: &str) -> Result<Item, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if value.get("item").is_some() && value.get("fields").is_none() {
        serde_json::from_value::<ItemEnvelope>(value)
            .map(|env| env.item)
            .map_err(|e| format!("not an item envelope: {e}"))
    } else {
        serde_json::from_value::<Item>(value).map_err(|e| format!("not an item: {e}"))
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
        assert!(e.to_string().contains("colour"), "{e}");
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
        let depth = 100_000;
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
