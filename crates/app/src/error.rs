//! The error every command returns across IPC: `{code, message}` with a closed
//! set of codes the UI acts on.

use serde::Serialize;
use ts_rs::TS;

/// Closed set of error codes. The UI switches on these; add a variant only
/// together with the UI's handling of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// Not signed in, or the platform rejected the token: show sign-in.
    Unauthenticated,
    /// The platform could not be reached: show offline state, keep working.
    Offline,
    /// The thing asked for does not exist (item, rubric, file).
    NotFound,
    /// Input failed validation (answers, rubric, URL): show the message inline.
    Invalid,
    /// The platform refused the request (lease expired, rubric changed, conflict).
    Rejected,
    /// Local storage failed (disk full, corrupt or newer database).
    Storage,
    /// OS keyring unavailable or refused.
    Keyring,
    /// A bug or an unexpected condition; logged with detail.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
