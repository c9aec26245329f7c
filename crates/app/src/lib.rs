//! Application services: the use cases the desktop shell exposes as commands.
//! Pure Rust, no Tauri: every command in `src-tauri` is a one-line adapter
//! into a function here.

pub mod error;

pub use error::{AppError, ErrorCode};

use serde::Serialize;
use ts_rs::TS;

/// Facts about the running app shown in the UI's about box and used by tests.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AppInfo {
    pub version: String,
    /// Identifier of the profile (separate for tests so they never touch real data).
    pub identifier: String,
    pub data_dir: String,
}

impl AppInfo {
    pub fn new(identifier: &str, data_dir: &std::path::Path) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_string(),
            identifier: identifier.to_string(),
            data_dir: data_dir.display().to_string(),
        }
    }
}
