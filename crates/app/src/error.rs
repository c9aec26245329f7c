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

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "Sign in to your platform to continue.",
        )
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<assay_store::StoreError> for AppError {
    fn from(e: assay_store::StoreError) -> Self {
        use assay_store::StoreError as S;
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
            S::Offline(m) => Self::new(
                ErrorCode::Offline,
                format!("The platform can't be reached ({m}). Your work is kept and will upload when it's back."),
            ),
            S::Server { status, .. } => Self::new(
                ErrorCode::Offline,
                format!("The platform is having trouble (HTTP {status}); Assay will retry."),
            ),
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

/// What went wrong checking a token at sign-in, said for someone who has no
/// work in Assay yet: a refused token and an unreachable URL need different
/// fixes, and "your work is kept" would mean nothing.
pub fn first_sign_in(url: &str, e: assay_sync::SyncError) -> AppError {
    use assay_sync::SyncError as S;
    match e {
        S::Unauthorized => AppError::new(
            ErrorCode::Unauthenticated,
            format!(
                "The platform at {url} did not accept this token: it is wrong, expired or was \
                 revoked. Copy a current token from your platform account."
            ),
        ),
        S::Offline(detail) => AppError::new(
            ErrorCode::Offline,
            format!(
                "Could not reach {url} ({detail}). Check the address and your connection; \
                 nothing was saved."
            ),
        ),
        S::Server { status, .. } => AppError::new(
            ErrorCode::Offline,
            format!(
                "The platform at {url} is having trouble (HTTP {status}). Try again in a moment."
            ),
        ),
        S::Protocol(_) | S::Rejected { status: 404, .. } => AppError::invalid(format!(
            "{url} answered, but not as an Assay platform. Check the address."
        )),
        other => other.into(),
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
