//! Platform clients, sync engine and keyring credentials.
//!
//! - [`PlatformClient`]: typed HTTP client of the platform protocol (bearer
//!   token from the keyring; plain http only to loopback).
//! - [`Connector`]: the one client interface the engine talks to, an Assay
//!   platform or a Label Studio server ([`labelstudio`]).
//! - [`SyncEngine`]: pull by cursor (resumable), rubric scoping before storage,
//!   attachment downloads with bounded concurrency and `Range` resume, outbox
//!   drain with idempotency keys and backoff, lease renewal.
//! - [`spawn_background`]: the periodic loop the app runs, on a
//!   [`SyncThread`] of its own.
//! - [`Credentials`]: the token in the OS keyring, never on disk or in logs.

mod background;
mod client;
mod connector;
pub mod credentials;
mod engine;
mod error;
pub mod labelstudio;
mod runtime;
pub mod scope;
mod text;

pub use background::{spawn_background, BackgroundSync, SyncEvent};
pub use client::{Limits, PlatformClient};
pub use connector::{Connector, PlatformKind};
pub use credentials::{Credentials, CredentialsError, Token};
pub use engine::{
    backoff_delay, LeaseReport, PullReport, PushReport, SyncConfig, SyncEngine, SyncPhase,
    SyncProgress, SyncReport, LEASE_WARN_BEFORE,
};
pub use error::{Result, SyncError};
pub use labelstudio::{LabelStudioAuth, LabelStudioClient};
pub use runtime::SyncThread;

impl PlatformClient {
    /// A client authenticated with the token stored in the keyring for `account`;
    /// [`SyncError::Unauthorized`] if there is none.
    pub fn from_keyring(base_url: &str, credentials: &Credentials, account: &str) -> Result<Self> {
        let token = credentials
            .get_token(account)?
            .ok_or(SyncError::Unauthorized)?;
        Ok(Self::new(base_url)?.with_token(token))
    }
}
