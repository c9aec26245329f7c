//! Errors of the render crate.

use thiserror::Error;

/// Why a view model could not be built. Every message is meant for a human.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RenderError {
    /// The unified diff text is not a diff we can read.
    #[error("malformed diff at line {line}: {reason}")]
    MalformedDiff { line: usize, reason: String },
    /// The input is larger than the viewer accepts.
    #[error("input too large: {what} ({size} > {limit})")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    /// The scan file cannot be decoded (malformed, truncated or unsupported).
    #[error("cannot display scan: {reason}")]
    UnsupportedScan { reason: String },
    /// A frame / pixel / window request is outside the scan.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// A chat transcript is not a JSON list of `{role, content}`.
    #[error("malformed chat transcript: {0}")]
    MalformedChat(String),
    /// Image encoding failed.
    #[error("image encoding failed: {0}")]
    Encode(String),
}
