//! Errors of the render crate.

use thiserror::Error;

/// Why a view model could not be built. Every message is meant for a human.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RenderError {
    /// The unified diff text is not a diff we can read.
    #[error("malformed diff at line {line}: {reason}")]
    MalformedDiff {
        /// 1-based line of the diff text where reading failed.
        line: usize,
        /// What was wrong there.
        reason: String,
    },
    /// The input is larger than the viewer accepts.
    #[error("input too large: {what} ({size} > {limit})")]
    TooLarge {
        /// What was too large (e.g. "diff").
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The largest size accepted, in bytes.
        limit: usize,
    },
    /// The scan file cannot be decoded (malformed, truncated or unsupported).
    #[error("cannot display scan: {reason}")]
    UnsupportedScan {
        /// What could not be read, naming the file, transfer syntax or bound where known.
        reason: String,
    },
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
