//! Errors of the offline store.

use std::path::PathBuf;

/// Everything that can go wrong in [`crate::Store`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, I/O error, corrupt file, constraint).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation on the data directory failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer version of Assay.
    #[error(
        "the database at {path} has schema version {found}, but this version of Assay \
         only understands up to {supported}; update Assay (your data was not modified)"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version stored in the file.
        found: i64,
        /// The newest schema version this build understands ([`crate::SCHEMA_VERSION`]).
        supported: i64,
    },
    /// Stored JSON could not be (de)serialised.
    #[error("stored data is not valid JSON for {what}: {source}")]
    Json {
        /// What was being (de)serialised, e.g. "draft answers".
        what: &'static str,
        /// The underlying serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A row the caller named does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A blob's bytes do not hash to its name: corrupted on disk or in transit.
    #[error("attachment {expected} is corrupt (its bytes hash to {actual})")]
    BlobCorrupt {
        /// The blob's name: the sha256 (hex) its bytes should have.
        expected: String,
        /// The sha256 (hex) the bytes actually have.
        actual: String,
    },
    /// A string that should be a lower-case hex sha256 is not.
    #[error("invalid sha256 {0:?}")]
    InvalidDigest(String),
    /// The operation is not allowed in the current state (e.g. submitting twice).
    #[error("{0}")]
    InvalidState(String),
    /// The assignment can no longer be edited (submitted, decided, taken
    /// away): its draft is not changed.
    #[error("this assignment is {status:?} and can no longer be edited")]
    NotEditable {
        /// The assignment's current queue status.
        status: crate::QueueStatus,
    },
    /// A previous panic poisoned the connection lock.
    #[error("the store lock was poisoned by an earlier panic")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn json(what: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Self::Json { what, source }
    }
}

/// Result of a store operation; the error is a [`StoreError`] unless stated.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
