//! Preview for rubric authors: a rubric file plus a folder of sample items,
//! reduced to what reviewers would see, with lint findings. Used by the app's
//! preview mode and by `assay rubric preview` / `assay rubric lint`.

use std::fmt::Write as _;
use std::path::Path;

use assay_protocol::{FieldValue, Item};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::lint::{lint, LintFinding, LintSeverity};
use crate::model::{QuestionKind, Rubric, ScopedItem};
use crate::parse::{load_sample_items, parse_rubric_unchecked, read_rubric_source, RubricError};
use crate::scope::{hidden_fields, scope};
use crate::source::SourceLocation;

/// One sample item as the rubric shows it to a reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PreviewItem {
    /// Sample file the item came from.
    pub path: String,
    /// The item reduced to its visible fields.
    pub scoped: ScopedItem,
    /// Ids (never values) of the fields scoping removed.
    pub hidden_fields: Vec<String>,
}

/// What a rubric file and its sample items look like to a reviewer, for authors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Preview {
    /// `None` when the file does not parse (see `findings`).
    pub rubric: Option<Rubric>,
    /// Lint findings, including a `syntax` error and `sample-item-invalid`
    /// errors for unreadable sample files.
    pub findings: Vec<LintFinding>,
    /// The sample items, scoped by the rubric (empty when it does not parse).
    pub items: Vec<PreviewItem>,
}

impl Preview {
    /// Number of error findings.
    pub fn error_count(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == LintSeverity::Error)
            .count()
    }

    /// Number of warning findings.
    pub fn warning_count(&self) -> usize {
        self.findings.len() - self.error_count()
    }
}

/// Load, lint and scope. `Err` only when the rubric file or the items folder
/// cannot be read at all; everything wrong inside them is a finding.
pub fn preview(rubric_path: &Path, items_dir: Option<&Path>) -> Result<Preview, RubricError> {
    let src = read_rubric_source(rubric_path)?;
    let samples = match items_dir {
        Some(dir) => load_sample_items(dir)?,
        None => Default::default(),
    };
    let mut findings: Vec<LintFinding> = samples
        .errors
        .iter()
        .map(|e| LintFinding {
            severity: LintSeverity::Error,
            code: "sample-item-invalid".into(),
            message: e.message.clone(),
            location: Some(SourceLocation {
                file: Some(e.path.display().to_string()),
                line: 1,
                column: 1,
            }),
        })
        .collect();
    let rubric = match parse_rubric_unchecked(src.text(), src.format(), src.file()) {
        Ok(r) => r,
        Err(RubricError::Syntax(s)) => {
            findings.insert(
                0,
                LintFinding {
                    severity: LintSeverity::Error,
                    code: "syntax".into(),
                    message: format!("invalid {} rubric: {}", s.format, s.message),
                    location: s.line.map(|line| SourceLocation {
                        file: s.file.clone(),
                        line,
                        column: s.column.unwrap_or(1),
                    }),
                },
            );
            return Ok(Preview {
                rubric: None,
                findings,
                items: Vec::new(),
            });
        }
        Err(e) => return Err(e),
    };
    let items: Vec<Item> = samples.items.iter().map(|(_, i)| i.clone()).collect();
    let mut lint_findings = lint(&rubric, Some(&src), &items);
    lint_findings.append(&mut findings);
    let items: Vec<PreviewItem> = samples
        .items
        .iter()
        .map(|(path, item)| PreviewItem {
            path: path.display().to_string(),
            scoped: scope(item, &rubric),
            hidden_fields: hidden_fields(item, &rubric),
        })
        .collect();
    if let Some(dir) = items_dir {
        lint_findings.extend(attachment_findings(dir, &items));
    }
    Ok(Preview {
        rubric: Some(rubric),
        findings: lint_findings,
        items,
    })
}

/// A warning for every visible attachment a sample names but the samples
/// folder does not hold (the preview would show an error in its place).
fn attachment_findings(dir: &Path, items: &[PreviewItem]) -> Vec<LintFinding> {
    let mut out = Vec::new();
    for item in items {
        for field in &item.scoped.fields {
            for a in field.value.attachments() {
                if let Err(reason) = crate::samples::sample_attachment_path(dir, a) {
                    out.push(LintFinding {
                    severity: LintSeverity::Warning,
                    code: "sample-attachment-unavailable".into(),
                    message: format!(
                        "field \"{}\" of sample {}: {} (put the file next to the sample to preview it)",
                        field.id,
                        item.scoped.item_id,
                        printable(&reason)
                    ),
                    location: Some(SourceLocation {
                        file: Some(item.path.clone()),
                        line: 1,
                        column: 1,
                    }),
                });
                }
            }
        }
    }
    out
}

/// Replace control characters so item text cannot drive the terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('\u{2026}');
    }
    out
}

fn summarize_value(v: &FieldValue) -> String {
    match v {
        FieldValue::Text(t) => {
            let lines = t.lines().count();
            let first = t.lines().next().unwrap_or("");
            format!(
                "text, {lines} line{}: {}",
                if lines == 1 { "" } else { "s" },
                printable(&clip(first, 80))
            )
        }
        FieldValue::Json(j) => format!("JSON: {}", printable(&clip(&j.to_string(), 80))),
        FieldValue::Attachment(a) => format!(
            "attachment {} ({}, {} bytes)",
            printable(&a.filename),
            printable(&a.media_type),
            a.size
        ),
        FieldValue::Attachments(list) => format!(
            "{} attachments ({} bytes)",
            list.len(),
            list.iter().fold(0u64, |n, a| n.saturating_add(a.size))
        ),
    }
}

/// Labels as a question's summary lists them: `a | b | c`.
fn alternatives<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    labels.collect::<Vec<_>>().join(" | ")
}

fn describe_kind(kind: &QuestionKind) -> String {
    match kind {
        QuestionKind::Scale { min, max, anchors } => {
            let labels: Vec<String> = anchors
                .iter()
                .map(|a| format!("{}={}", a.value, a.label))
                .collect();
            if labels.is_empty() {
                format!("scale {min}..{max}")
            } else {
                format!("scale {min}..{max} ({})", labels.join(", "))
            }
        }
        QuestionKind::SingleChoice { options } => format!(
            "single choice: {}",
            alternatives(options.iter().map(|o| o.label.as_str()))
        ),
        QuestionKind::MultiChoice { options, .. } => format!(
            "multi choice: {}",
            alternatives(options.iter().map(|o| o.label.as_str()))
        ),
        QuestionKind::PassFail { criteria } => format!(
            "pass/fail: {}",
            alternatives(criteria.iter().map(|c| c.label.as_str()))
        ),
        QuestionKind::Ranking { fields } => format!("ranking of {}", fields.join(", ")),
        QuestionKind::Pairwise {
            a, b, allow_tie, ..
        } => {
            format!(
                "pairwise {a} vs {b}{}",
                if *allow_tie { " (tie allowed)" } else { "" }
            )
        }
        QuestionKind::FreeText { .. } => "free text".into(),
        QuestionKind::Annotations { fields, .. } => {
            format!("annotations on {}", fields.join(", "))
        }
    }
}

/// Plain-text rendering of a preview (what `assay rubric preview` prints).
pub fn preview_text(p: &Preview) -> String {
    let mut out = String::new();
    let Some(r) = &p.rubric else {
        out.push_str("rubric does not parse:\n");
        for f in &p.findings {
            let _ = writeln!(out, "  {f}");
        }
        return out;
    };
    // `write!` to a String cannot fail; results are ignored below.
    let _ = writeln!(
        out,
        "Rubric {} v{}: {}",
        r.id,
        r.version,
        printable(&r.title)
    );
    for item in &p.items {
        let s = &item.scoped;
        let _ = writeln!(
            out,
            "\n== {} \u{2014} {} ({})",
            s.item_id,
            printable(&s.title),
            item.path
        );
        for f in &s.fields {
            let _ = writeln!(
                out,
                "  [{}] {} ({}{}): {}",
                f.id,
                printable(&f.label),
                f.viewer.as_str(),
                f.against
                    .as_deref()
                    .map(|a| format!(" against {a}"))
                    .unwrap_or_default(),
                summarize_value(&f.value)
            );
        }
        if !s.missing_fields.is_empty() {
            let _ = writeln!(out, "  missing: {}", s.missing_fields.join(", "));
        }
        if !item.hidden_fields.is_empty() {
            let _ = writeln!(
                out,
                "  hidden from reviewers: {}",
                item.hidden_fields.join(", ")
            );
        }
    }
    let _ = writeln!(out, "\nQuestions (same for every item):");
    for (n, q) in r.questions.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {}{}: {} [{}]",
            n + 1,
            q.id,
            if q.required { "*" } else { "" },
            printable(&q.prompt),
            describe_kind(&q.kind)
        );
        if let Some(c) = &q.show_if {
            let _ = writeln!(out, "     shown if `{}` matches {:?}", c.question, c);
        }
    }
    if !p.findings.is_empty() {
        let _ = writeln!(
            out,
            "\n{} error(s), {} warning(s):",
            p.error_count(),
            p.warning_count()
        );
        for f in &p.findings {
            let _ = writeln!(out, "  {f}");
        }
    }
    out
}
