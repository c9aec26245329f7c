//! Error types: [`Error`] for server start-up and seeding, [`PlatformError`] for
//! everything a platform operation (a request, a business rule, a storage
//! backend) can run into; each variant maps to one [`ApiErrorCode`].

use assay_protocol::{ApiError, ApiErrorCode};

/// Failure of a platform operation: a business rule refusing it, or the
/// storage backend failing. Every variant maps to exactly one
/// machine-readable [`ApiErrorCode`] and HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The thing named does not exist (HTTP 404).
    #[error("{0} not found")]
    NotFound(String),
    /// The caller may not do this (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// No valid credentials (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// The request clashes with the stored state, e.g. a repeat with other content (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The assignment's lease ran out; the work is no longer the caller's (HTTP 409).
    #[error("{0}")]
    LeaseExpired(String),
    /// `expected` names the rubric the assignment is graded with.
    #[error("{message}")]
    RubricVersionMismatch {
        /// What is wrong, in words.
        message: String,
        /// The rubric the assignment is graded with.
        expected_id: String,
        /// The version of that rubric.
        expected_version: u32,
    },
    /// The request is malformed (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but its content breaks a rule (HTTP 422); `details` lists each problem.
    #[error("{message}")]
    ValidationFailed {
        /// What is wrong, in words.
        message: String,
        /// Machine-readable problems (e.g. lint findings, bad import lines).
        details: serde_json::Value,
    },
    /// Too many requests of a kind are outstanding; try again later (HTTP 429).
    #[error("{0}")]
    RateLimited(String),
    /// The storage backend failed (SQLite, PostgreSQL, a pool).
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value cannot be read back (e.g. an unknown enum value).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Reading or writing a file (blobs, updates) failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for PlatformError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(Box::new(e))
    }
}

impl PlatformError {
    /// A `NotFound` error naming `what`.
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
            Self::RateLimited(_) => ApiErrorCode::RateLimited,
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
    /// A platform operation failed.
    #[error(transparent)]
    Store(#[from] PlatformError),
    /// SQLite failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL failed (connecting, migrating); the driver's message.
    #[error("database error: {0}")]
    Postgres(String),
    /// Reading or writing a file failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A JSON document could not be read or written.
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    /// The database was written by a newer build; this one does not touch it.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The schema version the database has.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// Generating the demo data failed; why.
    #[error("demo data generation failed: {0}")]
    Demo(String),
}

/// What storage and platform operations return.
pub type PlatformResult<T> = Result<T, PlatformError>;
