//! Source text of a rubric file, used to put line numbers on lint findings.
//!
//! None of the three parsers gives spans for every value once the document is
//! deserialised, so locations are found by a best-effort search of the text
//! for the `key = value` / `key: value` / `"key": value` that defines an id.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// On-disk syntax of a rubric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
    /// YAML (`.yaml`, `.yml`).
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

    /// Human name of the format (`TOML`, `JSON`, `YAML`).
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

/// A position in a rubric file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SourceLocation {
    /// The file, when the rubric came from one.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// The text of a rubric file plus what is needed to locate things in it.
#[derive(Debug, Clone)]
pub struct SourceMap {
    file: Option<String>,
    text: String,
    format: Format,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
}

impl SourceMap {
    /// Index `text` (from `file`, if any) written in `format`.
    pub fn new(file: Option<String>, text: impl Into<String>, format: Format) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            file,
            text,
            format,
            line_starts,
        }
    }

    /// Build from a file path and its text; the format comes from the extension.
    pub fn from_path(path: &Path, text: impl Into<String>) -> Option<Self> {
        let format = Format::from_path(path)?;
        Some(Self::new(Some(path.display().to_string()), text, format))
    }

    /// The file name, if the text came from one.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The syntax the text is written in.
    pub fn format(&self) -> Format {
        self.format
    }

    fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    fn line(&self, idx: usize) -> &str {
        let start = self.line_starts[idx];
        let end = self
            .line_starts
            .get(idx + 1)
            .map_or(self.text.len(), |next| next.saturating_sub(1));
        let end = end.max(start);
        self.text.get(start..end).unwrap_or("")
    }

    /// Location (1-based) of a byte offset into the text.
    pub fn location_of_offset(&self, offset: usize) -> SourceLocation {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts[line_idx];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        self.at(line_idx + 1, col + 1)
    }

    /// A location with this map's file name.
    pub fn at(&self, line: usize, column: usize) -> SourceLocation {
        SourceLocation {
            file: self.file.clone(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// First line (0-based index) at or after `from` that starts the top-level
    /// section `name` (`[[name]]`, `name:`, `"name":`).
    fn section_start(&self, name: &str) -> Option<usize> {
        (0..self.line_count()).find(|&i| {
            let l = self.line(i).trim_start();
            match self.format {
                Format::Toml => {
                    l.starts_with(&format!("[[{name}]]"))
                        || l.starts_with(&format!("[{name}"))
                        || find_key_value(l, name, None).is_some()
                }
                Format::Yaml => l.starts_with(&format!("{name}:")),
                Format::Json => l.contains(&format!("\"{name}\"")),
            }
        })
    }

    /// Line index and column of `key <sep> value` at or after line `from`,
    /// before line `until`.
    fn find_kv(
        &self,
        key: &str,
        value: Option<&str>,
        from: usize,
        until: usize,
    ) -> Option<(usize, usize)> {
        (from..until.min(self.line_count()))
            .find_map(|i| find_key_value(self.line(i), key, value).map(|col| (i, col)))
    }

    /// Where the element of `section` (`fields` / `questions`) with this id is defined.
    pub fn locate_id(&self, section: &str, id: &str) -> Option<SourceLocation> {
        let from = self.section_start(section).unwrap_or(0);
        let (line, col) = self
            .find_kv("id", Some(id), from, usize::MAX)
            .or_else(|| self.find_kv("id", Some(id), 0, usize::MAX))?;
        Some(self.at(line + 1, col + 1))
    }

    /// Where `key` is set inside the element of `section` with this id; falls
    /// back to the element itself.
    pub fn locate_key_in(&self, section: &str, id: &str, key: &str) -> Option<SourceLocation> {
        let from = self.section_start(section).unwrap_or(0);
        let Some((start, _)) = self
            .find_kv("id", Some(id), from, usize::MAX)
            .or_else(|| self.find_kv("id", Some(id), 0, usize::MAX))
        else {
            return self.locate_key(key);
        };
        // The element ends where the next element of any kind starts; use the
        // next top-level-looking `id` line as a bound.
        let until = self.next_element_start(start + 1);
        // In TOML, keys of an element may appear before its `id` line; search
        // back to the element header.
        let back = if self.format == Format::Toml {
            self.prev_toml_header(start)
        } else {
            start
        };
        if let Some((line, col)) = self.find_kv(key, None, back, until) {
            return Some(self.at(line + 1, col + 1));
        }
        // TOML sub-table of the element, e.g. `[questions.show_if]`.
        if self.format == Format::Toml {
            let header = format!(".{key}]");
            if let Some(i) = (start..until.min(self.line_count())).find(|&i| {
                let l = self.line(i).trim();
                l.starts_with('[') && l.ends_with(&header)
            }) {
                return Some(self.at(i + 1, 1));
            }
        }
        Some(self.at(start + 1, 1))
    }

    /// Where a top-level key (e.g. `payout`, `guidelines`) is set.
    pub fn locate_key(&self, key: &str) -> Option<SourceLocation> {
        if self.format == Format::Toml {
            if let Some(i) = (0..self.line_count()).find(|&i| {
                let l = self.line(i).trim_start();
                l.starts_with(&format!("[{key}]")) || l.starts_with(&format!("[[{key}]]"))
            }) {
                return Some(self.at(i + 1, 1));
            }
        }
        let (line, col) = self.find_kv(key, None, 0, usize::MAX)?;
        Some(self.at(line + 1, col + 1))
    }

    fn prev_toml_header(&self, from: usize) -> usize {
        (0..=from)
            .rev()
            .find(|&i| self.line(i).trim_start().starts_with("[["))
            .unwrap_or(from)
    }

    fn next_element_start(&self, from: usize) -> usize {
        (from..self.line_count())
            .find(|&i| {
                let l = self.line(i).trim_start();
                match self.format {
                    Format::Toml => l.starts_with("[["),
                    Format::Yaml => {
                        // A list element at the indentation of a top-level list.
                        let indent = self.line(i).len() - l.len();
                        indent <= 2 && l.starts_with("- ")
                    }
                    Format::Json => {
                        find_key_value(l, "id", None).is_some() && {
                            // Elements of `options`/`criteria` also have ids;
                            // they are usually indented deeper than questions.
                            let indent = self.line(i).len() - l.len();
                            indent <= 6
                        }
                    }
                }
            })
            .unwrap_or(self.line_count())
    }
}

/// Column (0-based, in chars) where `key` is assigned in `line`, if it is and
/// (when given) the value is exactly `value`. Handles `key = "v"`, `key: v`,
/// `"key": "v"`, `- key: v` and inline tables `{ key = "v" }`.
fn find_key_value(line: &str, key: &str, value: Option<&str>) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let bytes = line.as_bytes();
    let mut search_from = 0;
    while let Some(rel) = line.get(search_from..)?.find(key) {
        let pos = search_from + rel;
        search_from = pos + key.len();
        // Key must start at a token boundary, optionally quoted.
        let before = line[..pos].chars().next_back();
        let quoted = matches!(before, Some('"' | '\''));
        let boundary_ok = match before {
            None => true,
            Some(_) if quoted => line[..pos - 1]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '-'),
            Some(c) => !c.is_alphanumeric() && c != '_' && c != '-' && c != '.',
        };
        if !boundary_ok {
            continue;
        }
        let mut i = pos + key.len();
        if quoted {
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                i += 1;
            } else {
                continue;
            }
        }
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() || !(bytes[i] == b'=' || bytes[i] == b':') {
            continue;
        }
        i += 1;
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        let col = line[..pos - usize::from(quoted)].chars().count();
        let Some(value) = value else {
            return Some(col);
        };
        let rest = &line[i..];
        let rest = rest
            .strip_prefix('"')
            .or_else(|| rest.strip_prefix('\''))
            .unwrap_or(rest);
        if let Some(after) = rest.strip_prefix(value) {
            let end_ok =
                after.is_empty() || after.starts_with(['"', '\'', ',', ' ', '}', '#', '\r', '\t']);
            if end_ok {
                return Some(col);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_values_in_all_formats() {
        assert_eq!(find_key_value("id = \"q1\"", "id", Some("q1")), Some(0));
        assert_eq!(find_key_value("  - id: q1", "id", Some("q1")), Some(4));
        assert_eq!(
            find_key_value("  \"id\": \"q1\",", "id", Some("q1")),
            Some(2)
        );
        assert_eq!(find_key_value("id = \"q10\"", "id", Some("q1")), None);
        assert_eq!(find_key_value("qid = \"q1\"", "id", Some("q1")), None);
        assert_eq!(
            find_key_value("{ id = \"a\", label = \"A\" }", "label", None),
            Some(12)
        );
        assert_eq!(find_key_value("valid: x", "id", None), None);
        assert_eq!(find_key_value("a = 1", "", None), None);
    }

    #[test]
    fn locates_ids_inside_their_section() {
        let text = "id = \"r\"\n[[fields]]\nid = \"diff\"\n[[questions]]\nid = \"diff\"\nmin = 1\n[[questions]]\nid = \"q2\"\n";
        let map = SourceMap::new(Some("r.toml".into()), text, Format::Toml);
        assert_eq!(map.locate_id("fields", "diff").map(|l| l.line), Some(3));
        assert_eq!(map.locate_id("questions", "diff").map(|l| l.line), Some(5));
        assert_eq!(
            map.locate_key_in("questions", "diff", "min")
                .map(|l| l.line),
            Some(6)
        );
        // `min` is not set on q2: falls back to q2's id line.
        assert_eq!(
            map.locate_key_in("questions", "q2", "min").map(|l| l.line),
            Some(8)
        );
    }

    #[test]
    fn toml_sub_tables_are_found() {
        let text = "[[questions]]\nid = \"q\"\ntype = \"free_text\"\n[questions.show_if]\nquestion = \"p\"\n[[questions]]\nid = \"p\"\n";
        let map = SourceMap::new(None, text, Format::Toml);
        assert_eq!(
            map.locate_key_in("questions", "q", "show_if")
                .map(|l| l.line),
            Some(4)
        );
    }

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let map = SourceMap::new(None, "ab\ncdé\nf", Format::Json);
        let l = map.location_of_offset(5);
        assert_eq!((l.line, l.column), (2, 3));
        let l = map.location_of_offset(999);
        assert_eq!(l.line, 3);
    }
}
