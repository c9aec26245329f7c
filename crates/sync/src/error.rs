//! Errors of the sync layer, shaped so the app can map them to UI states.

use std::time::Duration;

use assay_protocol::ApiError;

/// Everything that can go wrong talking to the platform or syncing.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Missing, wrong or revoked token: the reviewer must sign in again.
    #[error("not signed in or the platform rejected the token")]
    Unauthorized,
    /// The platform could not be reached or the connection broke (retryable).
    #[error("platform unreachable: {0}")]
    Offline(String),
    /// The platform answered 5xx, 408 or 429 (retryable, honouring `Retry-After`).
    #[error("platform error (HTTP {status})")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The platform refused the request for good (4xx other than 401/408/429).
    #[error("platform refused the request (HTTP {status}): {error}")]
    Rejected { status: u16, error: ApiError },
    /// A response did not match the protocol (bad JSON, truncated body).
    #[error("unexpected response from the platform: {0}")]
    Protocol(String),
    /// Downloaded bytes do not match their sha256.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// The platform URL is not allowed (plain http to a non-loopback host, malformed).
    #[error("invalid platform URL: {0}")]
    InvalidUrl(String),
    /// A rubric from the platform could not be parsed.
    #[error("rubric {id} v{version} is invalid: {message}")]
    InvalidRubric {
        id: String,
        version: u32,
        message: String,
    },
    /// Local storage failed.
    #[error(transparent)]
    Storage(#[from] assay_store::StoreError),
    /// The OS keyring failed.
    #[error(transparent)]
    Credentials(#[from] crate::credentials::CredentialsError),
    /// A background task failed unexpectedly.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SyncError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Offline(_) | Self::Server { .. } | Self::Protocol(_) | Self::Integrity(_)
        )
    }

    /// `Retry-After` sent by the platform, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<reqwest::Error> for SyncError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            Self::Protocol(e.to_string())
        } else {
            // Connect, timeout, reset, truncated body: all transport failures.
            Self::Offline(e.to_string())
        }
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;
