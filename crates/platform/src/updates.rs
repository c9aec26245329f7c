//! issue 18: Assay's signed updates, served from a directory the operator
//! fills (`serve --updates-dir DIR`): `DIR/manifest.json` (written by
//! [`write_manifest`] or by hand in the Tauri updater's format) at
//! `GET /api/v1/updates/manifest.json`, and the artefacts it names at
//! `GET /api/v1/updates/files/{name}`. Public: the signature in the
//! manifest, checked by the app against its compiled-in key, is the trust;
//! the platform only serves bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assay_protocol::ApiErrorCode;
pub use assay_protocol::{UpdateBuild, UpdateManifest};
use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::api::{file_body, ApiFailure, AppState};

/// Largest manifest served (the app reads at most 64 KiB).
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// The update routes: `/updates/manifest.json` and the files it names.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/updates/manifest.json", get(manifest))
        .route("/updates/files/{name}", get(file))
}

fn not_published() -> ApiFailure {
    ApiFailure::new(
        ApiErrorCode::NotFound,
        "this platform publishes no Assay updates",
    )
}

/// A file name the updates directory may serve: letters, digits, `.`, `_`,
/// `-`, not starting with `.` (no paths, no hidden files).
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

async fn manifest(State(state): State<AppState>) -> Result<Response, ApiFailure> {
    let dir = state.updates_dir.as_ref().ok_or_else(not_published)?;
    let path = dir.join("manifest.json");
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|_| not_published())?;
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(ApiFailure::new(
            ApiErrorCode::Internal,
            "the update manifest is too large to serve",
        ));
    }
    let bytes = tokio::fs::read(&path).await.map_err(|_| not_published())?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn file(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiFailure> {
    let dir = state.updates_dir.as_ref().ok_or_else(not_published)?;
    if !safe_name(&name) || name == "manifest.json" {
        return Err(ApiFailure::new(
            ApiErrorCode::BadRequest,
            "not an update file name",
        ));
    }
    let file = tokio::fs::File::open(dir.join(&name))
        .await
        .map_err(|_| ApiFailure::new(ApiErrorCode::NotFound, format!("no update file {name}")))?;
    let len = file
        .metadata()
        .await
        .map_err(|_| ApiFailure::new(ApiErrorCode::Internal, "update file unreadable"))?
        .len();
    let body = file_body(file, len);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response())
}

/// Publishes `artefact` as version `version` for `target` into `dir`:
/// copies it, and writes `manifest.json` naming its URL below `base_url`,
/// size, SHA-256 and `signature` (base64 of the `.sig` file, as `tauri
/// signer sign` writes it). Other targets already in the manifest are kept
/// when the version is the same, dropped otherwise.
pub fn write_manifest(
    dir: &Path,
    base_url: &str,
    version: &str,
    notes: &str,
    target: &str,
    artefact: &Path,
    signature: &str,
) -> std::io::Result<UpdateManifest> {
    let name = artefact
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| safe_name(n))
        .ok_or_else(|| std::io::Error::other("the artefact's file name is not servable"))?
        .to_string();
    std::fs::create_dir_all(dir)?;
    let bytes = std::fs::read(artefact)?;
    let dest: PathBuf = dir.join(&name);
    if dest != artefact {
        std::fs::write(&dest, &bytes)?;
    }
    let manifest_path = dir.join("manifest.json");
    let mut manifest = std::fs::read(&manifest_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<UpdateManifest>(&b).ok())
        .filter(|m| m.version == version)
        .unwrap_or_else(|| UpdateManifest {
            version: version.to_string(),
            notes: String::new(),
            pub_date: Some(chrono::Utc::now().to_rfc3339()),
            platforms: BTreeMap::new(),
        });
    manifest.notes = notes.to_string();
    manifest.platforms.insert(
        target.to_string(),
        UpdateBuild {
            url: format!(
                "{}/api/v1/updates/files/{name}",
                base_url.trim_end_matches('/')
            ),
            signature: signature.trim().to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            size: bytes.len() as u64,
        },
    );
    let json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    let tmp = manifest_path.with_extension("json.tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, &manifest_path)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_are_served() {
        assert!(safe_name("Assay_0.2.0_amd64.deb"));
        for bad in ["", "../x", ".hidden", "a/b", "a%2fb", "x\0"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
    }
}
