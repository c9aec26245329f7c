//! The error every command returns across IPC: `{code, message}` with a closed
//! set of codes the UI acts on.

use assay_protocol::ApiErrorCode;
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
    /// The work can no longer be changed (submitted, decided, taken away):
    /// show it read-only.
    NotEditable,
    /// Local storage failed (disk full, corrupt or newer database).
    Storage,
    /// OS keyring unavailable or refused.
    Keyring,
    /// A bug or an unexpected condition; logged with detail.
    Internal,
}

/// The error every command returns: a closed code the UI branches on and a message for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct AppError {
    /// What went wrong, as a closed set the UI can branch on.
    pub code: ErrorCode,
    /// What went wrong in words the person can act on (shown as is).
    pub message: String,
}

impl AppError {
    /// An error with `code` and a message for the person.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Bad input from the UI (`ErrorCode::Invalid`); the message names the problem.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// Something asked for does not exist (`ErrorCode::NotFound`); the message names it.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// A bug or an unexpected condition (`ErrorCode::Internal`); log the detail before, the message is shown.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    /// The work is in `status` and can no longer be changed.
    pub fn not_editable(status: assay_store::QueueStatus) -> Self {
        let name = serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        Self::new(
            ErrorCode::NotEditable,
            format!("This assignment is {name}; it can no longer be edited. Nothing was changed."),
        )
    }

    /// No platform token: the person must sign in (`ErrorCode::Unauthenticated`).
    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "Sign in to your platform to continue.",
        )
    }
}

/// What every use case returns.
pub type AppResult<T> = Result<T, AppError>;

impl From<assay_store::StoreError> for AppError {
    fn from(e: assay_store::StoreError) -> Self {
        use assay_store::StoreError as S;
        if let S::NotEditable { status } = &e {
            return Self::not_editable(*status);
        }
        let code = match &e {
            S::NotFound(_) => ErrorCode::NotFound,
            S::InvalidState(_) => ErrorCode::Invalid,
            _ => ErrorCode::Storage,
        };
        if code == ErrorCode::Storage {
            tracing::error!(error = %e, "storage error");
        }
        Self::new(code, e.to_string())
    }
}

impl From<assay_sync::SyncError> for AppError {
    fn from(e: assay_sync::SyncError) -> Self {
        use assay_sync::SyncError as S;
        match e {
            S::Unauthorized => Self::unauthenticated(),
            e @ S::Offline(_) => Self::new(ErrorCode::Offline, e.for_reviewer()),
            e @ (S::Server { .. }
            | S::TooLarge { .. }
            | S::Timeout { .. }
            | S::Redirected { .. }
            | S::CursorCycle { .. }
            | S::ReceiptMismatch(_)
            | S::Protocol(_)
            | S::Integrity(_)) => Self::new(ErrorCode::Offline, e.for_reviewer()),
            e @ S::DiskFull { .. } => Self::new(ErrorCode::Storage, e.to_string()),
            S::Rejected { error, .. } => {
                let code = match error.code {
                    ApiErrorCode::Unauthorized => ErrorCode::Unauthenticated,
                    ApiErrorCode::NotFound => ErrorCode::NotFound,
                    ApiErrorCode::BadRequest | ApiErrorCode::ValidationFailed => ErrorCode::Invalid,
                    _ => ErrorCode::Rejected,
                };
                Self::new(code, error.message)
            }
            S::InvalidUrl(m) => Self::invalid(format!("Invalid platform URL: {m}")),
            S::Storage(s) => s.into(),
            S::Credentials(c) => c.into(),
            other => {
                tracing::error!(error = %other, "sync error");
                Self::internal(other.to_string())
            }
        }
    }
}

impl From<assay_sync::CredentialsError> for AppError {
    fn from(e: assay_sync::CredentialsError) -> Self {
        tracing::error!(error = %e, "keyring error");
        Self::new(
            ErrorCode::Keyring,
            format!("The system keyring is unavailable: {e}"),
        )
    }
}

impl From<assay_render::error::RenderError> for AppError {
    fn from(e: assay_render::error::RenderError) -> Self {
        Self::invalid(e.to_string())
    }
}
