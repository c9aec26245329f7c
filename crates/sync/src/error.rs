//! Errors of the sync layer, shaped so the app can map them to UI states.

use std::time::Duration;

use assay_protocol::ApiError;
use chrono::{DateTime, Utc};

/// "; the platform asked to wait until …" for a `Retry-After`, or nothing.
#[allow(clippy::ref_option)] // thiserror hands format arguments over by reference
fn wait_note(asked_until: &Option<DateTime<Utc>>) -> String {
    match *asked_until {
        None => String::new(),
        Some(t) if t == DateTime::<Utc>::MAX_UTC => {
            "; the platform asked to wait indefinitely".to_string()
        }
        Some(t) => format!(
            "; the platform asked to wait until {}",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        ),
    }
}

/// 1536 -> "1.5 KiB".
#[allow(clippy::trivially_copy_pass_by_ref)] // thiserror hands format arguments over by reference
pub(crate) fn human_bytes(n: &u64) -> String {
    let n = *n;
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Everything that can go wrong talking to the platform or syncing.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Missing, wrong or revoked token: the reviewer must sign in again.
    #[error("not signed in or the platform rejected the token")]
    Unauthorized,
    /// The platform could not be reached or the connection broke (retryable).
    #[error("platform unreachable: {0}")]
    Offline(String),
    /// The platform answered 5xx, 408 or 429 (retryable, honouring `Retry-After`
    /// up to the backoff cap).
    #[error("platform error (HTTP {status}){}", wait_note(.asked_until))]
    Server {
        /// The HTTP status.
        status: u16,
        /// How long the platform's `Retry-After` asked to wait, if it sent one.
        retry_after: Option<Duration>,
        /// When the platform's `Retry-After` asked to be contacted again
        /// (`DateTime::MAX_UTC` when its value is beyond any representable time).
        asked_until: Option<DateTime<Utc>>,
    },
    /// The platform refused the request for good (4xx other than 401/408/429).
    #[error("platform refused the request (HTTP {status}): {error}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The platform's error body.
        error: ApiError,
    },
    /// A response did not match the protocol (bad JSON, truncated body).
    #[error("unexpected response from the platform: {0}")]
    Protocol(String),
    /// A response body exceeded the limit of its route (enforced while streaming).
    #[error("the platform's response to {route} exceeds the {} limit", human_bytes(.limit))]
    TooLarge {
        /// The route, e.g. `GET /items/{id}`.
        route: &'static str,
        /// The route's limit in bytes.
        limit: u64,
    },
    /// A request did not complete (headers and whole body) within its deadline.
    #[error("the platform did not finish answering {route} within {}s", .after.as_secs())]
    Timeout {
        /// The route, e.g. `GET /assignments`.
        route: &'static str,
        /// The deadline that passed.
        after: Duration,
    },
    /// The platform redirected a request Assay does not follow there (any
    /// redirect of an upload, a cross-origin redirect of a download).
    #[error("the platform redirected {route} (HTTP {status}); {why}")]
    Redirected {
        /// The route, e.g. `POST /submissions`.
        route: &'static str,
        /// The redirect's HTTP status.
        status: u16,
        /// Why the redirect is not followed.
        why: &'static str,
    },
    /// A paged feed handed back a cursor it had already sent in this pull.
    #[error("the {feed} feed repeats cursor {cursor:?}; stopped paging")]
    CursorCycle {
        /// The feed, e.g. `assignments`.
        feed: &'static str,
        /// The repeated cursor.
        cursor: String,
    },
    /// An upload's receipt does not belong to the upload (kept queued).
    #[error("the platform's receipt does not match the upload: {0}")]
    ReceiptMismatch(String),
    /// Not enough free disk space for a download.
    #[error("attachment {sha256} needs {} but only {} is free on disk", human_bytes(.needed), human_bytes(.available))]
    DiskFull {
        /// The attachment being downloaded.
        sha256: String,
        /// Bytes the download needs.
        needed: u64,
        /// Bytes free on the disk.
        available: u64,
    },
    /// Downloaded bytes do not match their sha256.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// The platform URL is not allowed (plain http to a non-loopback host, malformed).
    #[error("invalid platform URL: {0}")]
    InvalidUrl(String),
    /// A rubric from the platform could not be parsed.
    #[error("rubric {id} v{version} is invalid: {message}")]
    InvalidRubric {
        /// The rubric id.
        id: String,
        /// The rubric version.
        version: u32,
        /// What is wrong with it.
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
            Self::Offline(_)
                | Self::Server { .. }
                | Self::Protocol(_)
                | Self::Integrity(_)
                | Self::TooLarge { .. }
                | Self::Timeout { .. }
                | Self::Redirected { .. }
                | Self::CursorCycle { .. }
                | Self::ReceiptMismatch(_)
                | Self::DiskFull { .. }
        )
    }

    /// The error worded for the reviewer: what the sync strip shows after a
    /// background sync fails, and what the Sync button's error says (the app's
    /// `AppError` takes its message from here), so both read the same.
    pub fn for_reviewer(&self) -> String {
        match self {
            Self::Offline(m) => format!(
                "The platform can't be reached ({m}). Your work is kept and will upload when it's back."
            ),
            Self::Server { .. } => format!("The platform is having trouble ({self}); Assay will retry."),
            // The platform misbehaved (oversized, slow, redirected, cycling,
            // malformed, wrong receipt): retried with backoff; the message
            // names the route and the reason.
            Self::TooLarge { .. }
            | Self::Timeout { .. }
            | Self::Redirected { .. }
            | Self::CursorCycle { .. }
            | Self::ReceiptMismatch(_)
            | Self::Protocol(_)
            | Self::Integrity(_) => format!("{self}; Assay will retry."),
            _ => self.to_string(),
        }
    }

    /// `Retry-After` sent by the platform, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl SyncError {
    /// A JSON body that did not decode, described without quoting any of its
    /// content (serde's messages can echo values, e.g. of hidden fields).
    pub(crate) fn malformed(route: &'static str, e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Io => "unreadable",
            Category::Syntax => "not valid JSON",
            Category::Data => "JSON of the wrong shape",
            Category::Eof => "truncated JSON",
        };
        let depth = if e.to_string().contains("recursion limit") {
            " (nested too deeply)"
        } else {
            ""
        };
        // Decoding an already parsed document has no position to report.
        let at = if e.line() == 0 {
            String::new()
        } else {
            format!(" at line {} column {}", e.line(), e.column())
        };
        Self::Protocol(format!("the response to {route} is {what}{depth}{at}"))
    }

    /// Whether this error says something is wrong with one item's data on the
    /// platform (it is quarantined) rather than with the connection.
    pub fn is_poison(&self) -> bool {
        matches!(
            self,
            Self::Protocol(_)
                | Self::Integrity(_)
                | Self::TooLarge { .. }
                | Self::Redirected { .. }
                | Self::Rejected { .. }
                | Self::InvalidRubric { .. }
        )
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

/// A blocking task (a store write, a commit) that panicked or was cancelled.
impl From<tokio::task::JoinError> for SyncError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Result of a sync operation; the error is a [`SyncError`] unless stated.
pub type Result<T, E = SyncError> = std::result::Result<T, E>;
