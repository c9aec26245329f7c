//! Assay reference platform: an axum server with SQLite storage, the admin
//! API used by tests and the demo, and realistic demo data.
//!
//! Embed it with [`spawn`] (see [`ServerConfig`]), or, in other crates' tests,
//! use `testing` (feature `test-support`) to get a seeded server on loopback in
//! one call.

pub mod admin;
pub mod api;
pub mod auth;
pub mod blobs;
pub mod cli;
pub mod demo;
pub mod error;
pub mod expert;
pub mod openapi;
pub mod publish;
pub mod rules;
pub mod server;
pub mod signin_codes;
pub mod signin_store;
pub mod storage;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod updates;
pub mod validate;

use assay_protocol::TokenResponse;
use chrono::{DateTime, Utc};

pub use api::AppState;
pub use blobs::BlobStore;
pub use error::{Error, PlatformError};
pub use server::{router, spawn, spawn_with_storage, RunningServer, ServerConfig};
pub use storage::{SqliteStorage, Storage};

/// A new record id: `prefix`, `_`, and a time-ordered UUID (v7) in hex.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Issue a bearer token for an expert (CLI, admin API, tests). Only the
/// token's hash is stored; the secret is returned once.
pub fn issue_token_blocking(
    storage: &dyn Storage,
    expert_id: &str,
    label: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TokenResponse, PlatformError> {
    issue_role_token_blocking(storage, expert_id, label, auth::Role::Expert, now)
}

/// [`issue_token_blocking`] for a token with `role`.
pub fn issue_role_token_blocking(
    storage: &dyn Storage,
    expert_id: &str,
    label: Option<&str>,
    role: auth::Role,
    now: DateTime<Utc>,
) -> Result<TokenResponse, PlatformError> {
    let token = auth::generate_token();
    let token_id = new_id("tok");
    storage.insert_token(
        &token_id,
        expert_id,
        &auth::token_hash(&token),
        label,
        role,
        now,
    )?;
    Ok(TokenResponse {
        token,
        token_id,
        expert_id: expert_id.to_owned(),
        created_at: now,
    })
}
