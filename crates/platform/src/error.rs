//! Error types: [`Error`] for server start-up and seeding, [`PlatformError`] for
//! everything a platform operation (a request, a business rule, a storage
//! backend) can run into; each variant maps to one [`ApiErrorCode`].

use assay_protocol::{ApiError, ApiErrorCode};

/// Failure of a platform operation: a business rule refusing it, or the
/// storage backend failing. Every variant maps to exactly one
/// machine-readable [`ApiErrorCode`] and HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    LeaseExpired(String),
    /// `expected` names the rubric the assignment is graded with.
    #[error("{message}")]
    RubricVersionMismatch {
        message: String,
        expected_id: String,
        expected_version: u32,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    ValidationFailed {
        message: String,
        details: serde_json::Value,
    },
    /// The storage backend failed (SQLite, PostgreSQL, a pool).
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for PlatformError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(Box::new(e))
    }
}

impl PlatformError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    /// The machine-readable code of this error.
    pub fn code(&self) -> ApiErrorCode {
        match self {
            Self::NotFound(_) => ApiErrorCode::NotFound,
            Self::Forbidden(_) => ApiErrorCode::Forbidden,
            Self::Unauthorized(_) => ApiErrorCode::Unauthorized,
            Self::Conflict(_) => ApiErrorCode::Conflict,
            Self::LeaseExpired(_) => ApiErrorCode::LeaseExpired,
            Self::RubricVersionMismatch { .. } => ApiErrorCode::RubricVersionMismatch,
            Self::BadRequest(_) => ApiErrorCode::BadRequest,
            Self::ValidationFailed { .. } => ApiErrorCode::ValidationFailed,
            Self::Database(_) | Self::Corrupt(_) | Self::Io(_) => ApiErrorCode::Internal,
        }
    }

    /// The wire body of this error. Internal details are not leaked to clients.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Self::Database(_) | Self::Corrupt(_) | Self::Io(_) => {
                ApiError::new(ApiErrorCode::Internal, "internal server error")
            }
            Self::RubricVersionMismatch {
                message,
                expected_id,
                expected_version,
            } => ApiError {
                code: ApiErrorCode::RubricVersionMismatch,
                message: message.clone(),
                details: Some(serde_json::json!({
                    "rubric_id": expected_id,
                    "rubric_version": expected_version,
                })),
            },
            Self::ValidationFailed { message, details } => ApiError {
                code: ApiErrorCode::ValidationFailed,
                message: message.clone(),
                details: Some(details.clone()),
            },
            other => ApiError::new(other.code(), other.to_string()),
        }
    }
}

/// Failure to start the server, open the database or seed it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] PlatformError),
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("demo data generation failed: {0}")]
    Demo(String),
}

pub type PlatformResult<T> = Result<T, PlatformError>;
